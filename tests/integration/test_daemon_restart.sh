# test_daemon_restart.sh - stopping and crashing mid-stream changes
# nothing: events keep arriving while the daemon is stopped with SIGTERM
# (it must finish its batch, commit and exit 0), restarted, killed with
# SIGKILL (no chance to commit), and restarted again.  The final scores
# must equal the offline single pass, and the alerts topic must hold
# exactly the offline alert ids (a crash may repeat an alert, never lose
# or invent one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq redis-server redis-cli split
T=$(sk_tmpdir)
sk_start_redis
sk_start_mock

"$SK" sample --now 2026-11-05T10:00:00Z --seed 11 >"$T/events.jsonl" ||
    sk_fail "scorekeeper sample failed"
NOW=$(sk_iso "$(sk_latest_ts "$T/events.jsonl")")
# Until every event is in, the clock stays at the first event: no account
# is evaluated past an event still to come (see sk_wait_applied).
sk_clock_set "$(sk_iso "$(sk_earliest_ts "$T/events.jsonl")")"
export SCOREKEEPER_FUTURE_SKEW=3650d
sk_offline_scores "$T/events.jsonl" "$NOW" "$T/offline.jsonl"
"$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW" --alerts "$T/events.jsonl" |
    jq -r .id | sort -u >"$T/offline-ids" || sk_fail "offline alerts failed"

# The events arrive in 20 chunks from a producer that runs through all
# the restarts below; it produces chunk N only once the gate file says N
# or more, so each phase below has events in flight.
split -n l/20 -d "$T/events.jsonl" "$T/chunk."
echo 0 >"$T/gate"
(
    i=0
    for f in "$T"/chunk.*; do
        i=$((i + 1))
        while [ "$(cat "$T/gate")" -lt "$i" ]; do sleep 0.1; done
        "$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$f" \
            2>>"$T/produce.log" || exit 1
        echo "$f" >>"$T/produced"
        sleep 0.2
    done
) &
PRODUCER=$!
sk_track_pid "$PRODUCER"
produced() { [ -f "$T/produced" ] && wc -l <"$T/produced" || echo 0; }
applied() { sk_applied "$T/events.jsonl"; }

export SCOREKEEPER_BATCH_SIZE=20

# 1. SIGTERM while events flow: finish the batch, commit, exit 0.
sk_daemon_start first --backfill-horizon off
echo 8 >"$T/gate"
sk_wait_for "[ \$(produced) -ge 3 ] && [ \$(applied) -gt 0 ]" 60 ||
    sk_fail "no progress before the first stop"
sk_log "SIGTERM after $(produced) chunks, $(applied) events applied"
sk_daemon_stop

# 2. SIGKILL in the middle of a batch: writes to Redis are paused, so the
#    daemon is stuck in a flush with consumed, uncommitted messages.
sk_daemon_start second --backfill-horizon off
echo 12 >"$T/gate"
at=$(applied)
sk_wait_for "[ \$(produced) -ge 10 ] && [ \$(applied) -gt $at ]" 90 ||
    sk_fail "no progress after the first restart"
sk_redis_cli CLIENT PAUSE 20000 WRITE >/dev/null
echo 16 >"$T/gate" # events that can only be written after the pause
sk_wait_for "grep -q 'batch failed; retrying' '$SK_DAEMON_LOG'" 30 ||
    sk_fail "the daemon never got stuck in a flush"
sk_log "SIGKILL in a flush after $(produced) chunks, $(applied) events applied"
kill -KILL "$SK_DAEMON_PID"
wait "$SK_DAEMON_PID" 2>/dev/null
sk_redis_cli CLIENT UNPAUSE >/dev/null

# 3. Restart and let everything arrive.
sk_daemon_start third --backfill-horizon off
echo 20 >"$T/gate"
wait "$PRODUCER" || sk_fail "the producer failed"
sk_wait_applied "$T/events.jsonl" 180
sk_clock_set "$NOW"
sk_wait_parity "$T/offline.jsonl" "$NOW" 180
sk_wait_alert_ids "$T/offline-ids" 60
sk_assert_eq "$(wc -l <"$T/events.jsonl")" "$(applied)" \
    "events applied in Redis (each exactly once)"
sk_daemon_stop
sk_figures "events=$(wc -l <"$T/events.jsonl") alerts=$(wc -l <"$T/offline-ids")" \
    "replayed_after_crash=$(sk_daemon_figure replayed)"
sk_pass "SIGTERM, SIGKILL and restarts give the single-pass result"
