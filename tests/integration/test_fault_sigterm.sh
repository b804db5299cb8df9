# test_fault_sigterm.sh - SIGTERM under load, ten times: each time the
# daemon finishes its batch, commits every offset it stored, leaves the
# group and exits 0 within 10 s; the next start replays nothing (its
# `replayed` figure is 0: no message it reads was applied before).  At
# the end the group's committed offsets are at the end of every
# partition, and the final state and alert ids equal the single pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

sk_require jq python3 redis-server redis-cli split timeout
STOPS=10
sk_start_redis
sk_fault_mock
sk_fault_events 30000 1000 606

DARGS=(--backfill-horizon off -X session.timeout.ms=3000 -X heartbeat.interval.ms=300)
# Each life lets six more pieces of the stream go, so every SIGTERM
# lands while events arrive.
FT_GATED=1 sk_fault_stream "$FT_DIR/events.jsonl" 66 0.3
slowest=0
for ((k = 1; k <= STOPS; k++)); do
    sk_daemon_start "life$k" "${DARGS[@]}"
    sk_fault_gate $((6 * k))
    at=$(sk_fault_applied)
    sk_wait_for "[ \$(sk_fault_applied) -gt $at ] || [ \$(sk_fault_applied) -ge $FT_EVENTS_IN ]" 60 ||
        sk_fail "no progress after start $k"
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    t0=$(date +%s%N)
    kill -TERM "$SK_DAEMON_PID"
    for ((i = 0; i < 300; i++)); do
        kill -0 "$SK_DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$ms" -gt "$slowest" ] && slowest=$ms
    status=0
    wait "$SK_DAEMON_PID" || status=$?
    sk_log "SIGTERM $k: exit $status after $ms ms, $(sk_fault_applied) applied"
    sk_assert_eq 0 "$status" "exit status after SIGTERM $k"
    [ "$ms" -le 10000 ] || sk_fail "SIGTERM $k: still running after 10 s ($ms ms)"
    grep -q 'msg="stopped"' "$SK_DAEMON_LOG" || sk_fail "no figures after SIGTERM $k"
    # Every life after the first started where a clean stop left off.
    sk_assert_eq 0 "$(sk_daemon_figure replayed)" "messages replayed by life $k"
done
sk_daemon_start final "${DARGS[@]}"
sk_fault_gate 66
wait "$FT_PRODUCER" || sk_fail "the producer failed"
sk_fault_verify
sk_daemon_stop
sk_assert_eq 0 "$(sk_daemon_figure replayed)" "messages replayed by the last life"
lag=$(sk_fault_lag "$FT_DIR/lag-final.json") || sk_fail "scorekeeper lag failed"
sk_assert_eq 0 "$lag" "lag after the last stop (every offset committed)"
sk_assert_eq 0 "$(jq '[.partitions[] | select(.current_offset == null and .log_end_offset > 0)] | length' \
    "$FT_DIR/lag-final.json")" "partitions with messages and no committed offset"
sk_fault_report "stops=$STOPS slowest_exit_ms=$slowest final_lag=$lag"
sk_pass "$STOPS SIGTERMs under load: clean exits, nothing replayed, single-pass result"
