# test_fault_kill.sh - SIGKILL at random moments changes nothing.
#
# 100,000 events over 1000 accounts stream in while scorekeeperd is
# killed with SIGKILL twelve times (no chance to flush, commit or leave
# the group) and restarted after each.  Kills land wherever the daemon
# happens to be: polling, applying, writing to Redis, waiting for alert
# deliveries, clearing outboxes, or still replaying after the previous
# kill.  For part of the run the brokers answer slowly, which widens the
# window between the Redis write and the alert confirmation (the outbox
# path).  The final state and the set of alert ids must equal the single
# offline pass: nothing lost, nothing counted twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

sk_require jq python3 redis-server redis-cli split timeout
KILLS=12
sk_start_redis
sk_fault_mock
sk_fault_events 100000 1000 101

# a short session: the mock keeps a killed member that long
DARGS=(--backfill-horizon off -X session.timeout.ms=3000 -X heartbeat.interval.ms=300)
# Each life lets eight more pieces of the stream go, so every kill lands
# while events arrive, however long the restarts take.
FT_GATED=1 sk_fault_stream "$FT_DIR/events.jsonl" 100 0.3
for ((k = 1; k <= KILLS; k++)); do
    [ $((k % 4)) = 2 ] && sk_mock_ctl "rtt 1 150"
    sk_daemon_start "life$k" "${DARGS[@]}"
    sk_fault_gate $((8 * k))
    at=$(sk_fault_applied)
    sk_wait_for "[ \$(sk_fault_applied) -gt $at ] || [ \$(sk_fault_applied) -ge $FT_EVENTS_IN ]" 60 ||
        sk_fail "no progress after start $k"
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    sk_log "SIGKILL $k: $(sk_fault_produced) chunks produced, $(sk_fault_applied) applied"
    kill -KILL "$SK_DAEMON_PID"
    wait "$SK_DAEMON_PID" 2>/dev/null
    [ $((k % 4)) = 2 ] && sk_mock_ctl "rtt 1 0"
done
sk_daemon_start final "${DARGS[@]}"
sk_fault_gate 100
wait "$FT_PRODUCER" || sk_fail "the producer failed"
replays=$(cat "$FT_DIR"/life*.log "$FT_DIR"/final.log |
    grep -c 'alerts left unconfirmed by an earlier run')
sk_fault_verify
sk_daemon_stop
sk_fault_report "kills=$KILLS outboxes_replayed=$replays"
sk_pass "$KILLS SIGKILLs during 100,000 events give the single-pass result"
