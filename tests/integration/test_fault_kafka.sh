# test_fault_kafka.sh - Kafka misbehaves while events arrive, on a mock
# cluster of three brokers driven through sk-mockcluster --control:
#  A. broker 2 (leader of half the input partitions) goes down for a
#     while, then comes back;
#  B. requests fail: Produce and Fetch with NOT_LEADER_FOR_PARTITION,
#     OffsetCommit with COORDINATOR_NOT_AVAILABLE, Heartbeat with
#     NOT_COORDINATOR;
#  C. the group coordinator moves from broker 1 to broker 2 and back;
#  D. broker 3, leader of the alerts and dead-letter topics, goes down
#     while events and malformed messages arrive: every delivery fails
#     (message.timeout.ms is short) and is produced again; the batch is
#     written to Redis with its alerts in the account outboxes, and its
#     offsets are NOT committed until the alerts and dead letters are
#     delivered: the group's committed offsets stand still for as long
#     as broker 3 is down.
# The final state and alert ids equal the single pass, and every
# malformed message is on the dead-letter topic.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

sk_require jq python3 redis-server redis-cli split timeout
sk_start_redis
sk_fault_mock --brokers 3
sk_fault_events 24000 1000 404
# Input partitions on brokers 1 and 2, alerts and dead letters on 3,
# the group's coordinator on 1.
for t in telemetry billing; do
    for ((p = 0; p < 12; p++)); do sk_mock_ctl "leader $t $p $((1 + p % 2))"; done
done
for ((p = 0; p < 8; p++)); do sk_mock_ctl "leader alerts $p 3"; done
for ((p = 0; p < 4; p++)); do sk_mock_ctl "leader scorekeeper.dlq $p 3"; done
sk_mock_ctl "coordinator group scorekeeper 1"

DARGS=(--backfill-horizon off -X session.timeout.ms=6000 -X heartbeat.interval.ms=500
    -X message.timeout.ms=4000)
FT_GATED=1 sk_fault_stream "$FT_DIR/events.jsonl" 48 0.2
sk_daemon_start daemon "${DARGS[@]}"
sk_fault_gate 6
sk_wait_for "[ \$(sk_fault_produced) -ge 6 ] && [ \$(sk_fault_applied) -gt 0 ]" 60 ||
    sk_fail "no progress at the start"

# A. a broker down and up
sk_mock_ctl "broker-down 2"
sk_fault_gate 14
sleep 8
sk_mock_ctl "broker-up 2"
sk_wait_for "[ \$(sk_fault_produced) -ge 14 ]" 120 || sk_fail "the stream stalled after broker 2 came back"

# B. request errors
sk_mock_ctl "request-errors Produce 20 NOT_LEADER_FOR_PARTITION"
sk_mock_ctl "request-errors Fetch 20 NOT_LEADER_FOR_PARTITION"
sk_mock_ctl "request-errors OffsetCommit 5 COORDINATOR_NOT_AVAILABLE"
sk_mock_ctl "request-errors Heartbeat 3 NOT_COORDINATOR"
sk_fault_gate 22
sk_wait_for "[ \$(sk_fault_produced) -ge 22 ]" 120 || sk_fail "the stream stalled with request errors"

# C. the coordinator moves, and back
sk_mock_ctl "coordinator group scorekeeper 2"
sk_fault_gate 26
sk_wait_for "[ \$(sk_fault_produced) -ge 26 ]" 120 || sk_fail "the stream stalled after a coordinator move"
sk_mock_ctl "coordinator group scorekeeper 1"
sk_fault_gate 30
sk_wait_for "[ \$(sk_fault_produced) -ge 30 ] && [ \$(sk_fault_lag '$FT_DIR/lag-c.json') = 0 ]" 120 ||
    sk_fail "the group did not catch up after the coordinator moves"

# D. alerts, then dead letters, cannot be delivered
outboxes()
{
    cut -d' ' -f1 "$FT_DIR/expected.counts" |
        xargs "$SK_BIN/scorekeeper" show --redis "127.0.0.1:$SK_REDIS_PORT" \
            --field outbox 2>/dev/null | awk '$1 > 0 { s++ } END { print s + 0 }'
}
# blocked WHAT - broker 3 is down and the daemon is waiting for WHAT:
# check that the committed offsets stand still while it retries.
blocked()
{
    local failed before after
    failed=$(grep -c 'delivery failed; producing again' "$SK_DAEMON_LOG")
    sk_wait_for "[ \$(grep -c 'delivery failed; producing again' '$SK_DAEMON_LOG') -gt $failed ]" 60 ||
        sk_fail "$1: deliveries to a down broker never failed"
    before=$(sk_fault_committed) || sk_fail "lag failed"
    PENDING=$(outboxes)
    sleep 6
    after=$(sk_fault_committed) || sk_fail "lag failed"
    LAG_DOWN=$(jq .total_lag "$FT_DIR/lag.json")
    RETRIES=$(($(grep -c 'delivery failed; producing again' "$SK_DAEMON_LOG") - failed))
    sk_log "$1: $PENDING outboxes pending, lag $LAG_DOWN, $RETRIES delivery retries"
    [ "$before" = "$after" ] || {
        diff <(echo "$before") <(echo "$after") >&2
        sk_fail "$1: offsets were committed while it could not be delivered"
    }
    [ "$LAG_DOWN" -gt 0 ] || sk_fail "$1: nothing was uncommitted while broker 3 was down"
    [ "$RETRIES" -ge 1 ] || sk_fail "$1: failed deliveries were not produced again"
}
sk_mock_ctl "broker-down 3"
sk_fault_gate 34
blocked alerts
alert_pending=$PENDING alert_retries=$RETRIES
[ "$alert_pending" -gt 0 ] || sk_fail "no alert was waiting in an outbox while broker 3 was down"
sk_mock_ctl "broker-up 3"
sk_wait_for "[ \$(sk_fault_produced) -ge 34 ] && [ \$(sk_fault_lag '$FT_DIR/lag-d.json') = 0 ]" 120 ||
    sk_fail "the group did not catch up after broker 3 came back"
sk_log "caught up after broker 3 came back"

POISON=50
for ((i = 0; i < POISON; i++)); do echo "c1$(printf '%02x' "$i")ff"; done >"$FT_DIR/poison.hex"
sk_mock_ctl "broker-down 3"
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry --hex --key poison \
    "$FT_DIR/poison.hex" 2>>"$FT_DIR/produce.log" || sk_fail "producing the poison failed"
blocked "dead letters"
dlq_retries=$RETRIES
sk_mock_ctl "broker-up 3"
sk_wait_for "[ \$(sk_fault_lag '$FT_DIR/lag-d.json') = 0 ]" 120 ||
    sk_fail "the group did not catch up after broker 3 came back again"

sk_fault_gate 48
wait "$FT_PRODUCER" || sk_fail "the producer failed"
sk_fault_verify
"$SK" dlq --brokers "$SK_BROKERS" --from-beginning --idle-exit 3 --json \
    >"$FT_DIR/dlq.jsonl" 2>>"$FT_DIR/dlq.log" || sk_fail "scorekeeper dlq failed"
dl=$(jq -r '"\(.source_partition)/\(.source_offset)"' "$FT_DIR/dlq.jsonl" | sort -u | wc -l)
sk_assert_eq "$POISON" "$dl" "malformed messages on the dead-letter topic"
sk_daemon_stop
kill -0 "$SK_MOCK_PID" || sk_fail "the mock cluster died"
sk_fault_report "outboxes_while_down=$alert_pending alert_retries=$alert_retries" \
    "dlq_retries=$dlq_retries"
sk_pass "broker outages, request errors and coordinator moves leave the single-pass result"
