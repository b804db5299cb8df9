# test_fault_redis_stall.sh - Redis stops answering, then refuses part of
# a flush; the daemon rides both out by itself.
#
#  1. redis-server is stopped (SIGSTOP) for 30 s while events arrive.
#     The daemon's call times out, it retries the batch with capped
#     exponential backoff (never more than 5 s between tries), stops
#     consuming (its memory stays bounded), says it is not ready
#     (/readyz) and commits nothing while Redis is away (the group's
#     committed offsets do not move); after SIGCONT it resumes on its
#     own and is ready again.
#  2. Redis refuses the index and schedule commands (an ACL change on
#     the daemon's user) while the first events of 100 new accounts
#     arrive: their hashes are written, the index/due round after them
#     fails, and the batch is retried until the commands are allowed
#     again.  The retry finds the events already applied (stored
#     positions) and must still write what the failed round did not:
#     these accounts get no later event, so nothing else would ever put
#     them in the indexes or on the schedule.  (A crash of the daemon or
#     of Redis between the two rounds of a flush leaves the same state.)
# The final state, indexes and alert ids equal the single pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

sk_require jq python3 redis-server redis-cli split timeout curl
STALL=30
sk_start_redis
sk_fault_mock
python3 "$FT_EVENTS_PY" 30000 1000 303 2026-11-05T10:00:00Z 20 >"$FT_DIR/events.jsonl" &&
    python3 "$FT_EVENTS_PY" 200 100 304 2026-11-05T10:00:00Z 1 new >"$FT_DIR/new.jsonl" ||
    sk_fail "cannot generate the events"
sk_fault_expect "$FT_DIR/events.jsonl" "$FT_DIR/new.jsonl"
DARGS=(--backfill-horizon off -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
FT_GATED=1 sk_fault_stream "$FT_DIR/events.jsonl" 30 0.2
HTTP=127.0.0.1:$(sk_free_port) || sk_fail "no free port"
sk_daemon_start daemon "${DARGS[@]}" --metrics-listen "$HTTP"
ready() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$HTTP/readyz"; }
sk_wait_for "[ \$(ready) = 200 ]" 30 || sk_fail "never ready: /readyz says $(ready)"

# 1. SIGSTOP for 30 s in the middle of the stream.
sk_fault_gate 10
sk_wait_for "[ \$(sk_fault_produced) -ge 6 ] && [ \$(sk_fault_applied) -gt 0 ]" 60 ||
    sk_fail "no progress before the stall"
rss_before=$(sk_fault_rss "$SK_DAEMON_PID")
kill -STOP "$SK_REDIS_PID"
sk_log "redis-server stopped after $(sk_fault_produced) pieces"
sk_fault_gate 20 # ten more pieces arrive during the stall
sk_wait_for "grep -q 'batch failed; retrying' '$SK_DAEMON_LOG'" 30 ||
    { kill -CONT "$SK_REDIS_PID"; sk_fail "the stall went unnoticed"; }
committed_at_start=$(sk_fault_committed) || { kill -CONT "$SK_REDIS_PID"; sk_fail "lag failed"; }
stalled_ready=$(ready)
[ "$stalled_ready" = 200 ] && { kill -CONT "$SK_REDIS_PID"; sk_fail "ready while Redis is stopped"; }
sleep "$STALL"
committed_at_end=$(sk_fault_committed) || { kill -CONT "$SK_REDIS_PID"; sk_fail "lag failed"; }
rss_during=$(sk_fault_rss "$SK_DAEMON_PID")
kill -CONT "$SK_REDIS_PID"
sk_log "redis-server continued; RSS ${rss_before} KiB before, ${rss_during} KiB at the end of the stall"
[ "$committed_at_start" = "$committed_at_end" ] || {
    diff <(echo "$committed_at_start") <(echo "$committed_at_end") >&2
    sk_fail "offsets were committed while Redis was stopped"
}
kill -0 "$SK_DAEMON_PID" || sk_fail "scorekeeperd died during the stall"
# Backoff: doubling, capped at 5 s.
waits=$(grep 'batch failed; retrying' "$SK_DAEMON_LOG" | grep -o 'retry_in_ms=[0-9]*' | cut -d= -f2)
tries=$(echo "$waits" | wc -l)
max_wait=$(echo "$waits" | sort -n | tail -1)
[ "$tries" -ge 3 ] || sk_fail "only $tries retries in a ${STALL}s stall"
[ "$tries" -le 30 ] || sk_fail "$tries retries in a ${STALL}s stall: no backoff"
[ "$max_wait" -le 5000 ] || sk_fail "a retry waited $max_wait ms (cap 5000)"
[ "$max_wait" -ge 2000 ] || sk_fail "the backoff never grew (largest wait $max_wait ms)"
# Memory: what the consumer had prefetched, nothing that grows with the
# outage (64 MiB leaves room for librdkafka's queues).
[ $((rss_during - rss_before)) -le 65536 ] ||
    sk_fail "RSS grew by $((rss_during - rss_before)) KiB during the stall"
sk_wait_for "grep -q 'writing again after an outage' '$SK_DAEMON_LOG'" 60 ||
    sk_fail "no recovery after SIGCONT"
sk_wait_for "[ \$(ready) = 200 ]" 30 || sk_fail "not ready after the stall: /readyz says $(ready)"

# 2. The index and schedule commands are refused while new accounts
#    arrive.
sk_fault_gate 25
sk_wait_for "[ \$(sk_fault_produced) -ge 25 ]" 60 || sk_fail "the stream stalled"
sk_redis_cli ACL SETUSER default -zadd -zrem >/dev/null || sk_fail "ACL SETUSER failed"
failed=$(grep -c 'batch failed; retrying' "$SK_DAEMON_LOG")
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$FT_DIR/new.jsonl" \
    2>>"$FT_DIR/produce.log" || sk_fail "producing the new accounts failed"
sk_wait_for "[ \$(grep -c 'batch failed; retrying' '$SK_DAEMON_LOG') -gt $failed ]" 60 ||
    { sk_redis_cli ACL SETUSER default +zadd +zrem >/dev/null; sk_fail "the refused commands went unnoticed"; }
sk_fault_index_check
partial=$FT_INDEX_BAD
sk_redis_cli ACL SETUSER default +zadd +zrem >/dev/null || sk_fail "ACL SETUSER failed"
sk_log "indexes refused: $partial accounts written without their indexes"
[ "$partial" -gt 0 ] || sk_fail "no account was written without its indexes"

sk_fault_gate 30
wait "$FT_PRODUCER" || sk_fail "the producer failed"
sk_fault_verify
sk_daemon_stop
sk_fault_report "stall_s=$STALL retries=$tries max_retry_ms=$max_wait" \
    "rss_growth_kib=$((rss_during - rss_before)) readyz_stalled=$stalled_ready" \
    "written_without_index=$partial"
sk_pass "a 30 s Redis stall and a half-refused flush leave the single-pass result"
