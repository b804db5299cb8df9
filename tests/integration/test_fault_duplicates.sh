# test_fault_duplicates.sh - the same events produced twice: the second
# copy has new offsets, so the stored positions do not recognise it;
# the event ids do.  Every event of the second copy must be skipped as a
# duplicate (each arrives after its original, within the rules' horizon
# and id memory), with a clean restart (SIGTERM) in the middle.  The
# final state and alert ids equal the single pass over one copy, and
# the daemons' figures count exactly one duplicate per event.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

sk_require jq python3 redis-server redis-cli split timeout
sk_start_redis
sk_fault_mock
sk_fault_events 20000 1000 707
# Both copies in one stream, the second trailing the first by a piece:
# 1, 2, 1', 3, 2', 4, 3', ... so a repeat always comes after its
# original (the first copy of an id is the one that counts).
split -n l/20 -d -a 2 "$FT_DIR/events.jsonl" "$FT_DIR/piece."
pieces=("$FT_DIR"/piece.*)
for ((k = 0; k < ${#pieces[@]}; k++)); do
    cat "${pieces[$k]}"
    [ "$k" -gt 0 ] && cat "${pieces[$((k - 1))]}"
done >"$FT_DIR/twice.jsonl"
cat "${pieces[-1]}" >>"$FT_DIR/twice.jsonl"
sk_assert_eq $((2 * FT_EVENTS_IN)) "$(wc -l <"$FT_DIR/twice.jsonl")" "events in the doubled stream"

DARGS=(--backfill-horizon off -X session.timeout.ms=3000 -X heartbeat.interval.ms=300)
FT_GATED=1 sk_fault_stream "$FT_DIR/twice.jsonl" 40 0.2
sk_daemon_start first "${DARGS[@]}"
sk_fault_gate 20
sk_wait_for "[ \$(sk_fault_produced) -ge 16 ]" 120 || sk_fail "the stream stalled"
sk_daemon_stop
first_dups=$(sk_daemon_figure duplicates)
first_applied=$(sk_daemon_figure applied)
sk_daemon_start second "${DARGS[@]}"
sk_fault_gate 40
wait "$FT_PRODUCER" || sk_fail "the producer failed"
sk_fault_verify
sk_daemon_stop
dups=$((first_dups + $(sk_daemon_figure duplicates)))
applied=$((first_applied + $(sk_daemon_figure applied)))
sk_assert_eq "$FT_EVENTS_IN" "$applied" "events applied (daemon figures)"
sk_assert_eq "$FT_EVENTS_IN" "$dups" "duplicates skipped (daemon figures)"
FT_DUPLICATES=$dups sk_fault_report "messages_in=$((2 * FT_EVENTS_IN))"
sk_pass "every event produced twice was applied once and skipped once"
