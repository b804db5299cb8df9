# test_fault_rebalance.sh - members join and leave a group of daemons on
# a 6-partition topic while events arrive, and one comes back as a
# zombie.
#
#  1. A starts; B joins; C joins (three members, two partitions each);
#  2. A leaves (SIGTERM) and comes back as A2; B dies (SIGKILL) and the
#     group waits out its session, then splits B's partitions (a
#     rebalance empties every member's cache of accounts);
#  3. the zombie: Redis is paused, more events arrive, C polls them and
#     sends the read that loads their accounts; C is stopped (SIGSTOP)
#     right there, the pause ends (the answer waits in C's socket), and
#     C stays stopped past its session and max.poll.interval.ms: the
#     group gives its partitions to A2, which applies those events and
#     writes the accounts.  Then C gets SIGCONT and carries on with the
#     state it read before A2's writes: its write of every one of those
#     accounts is stale, and the compare-and-set on `gen` must refuse
#     each (C sees a conflict, reloads, finds the events applied by
#     their stored positions and skips them); C must then notice that it
#     lost its partitions and rejoin.  C runs with a long Redis timeout
#     (so the stop does not turn into a timeout) and no scheduler ticks
#     (so the read it is stopped on is the load); it leaves afterwards
#     and C2 takes its place.
# The final state and alert ids equal the single pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
FT_TOPICS=telemetry:6,billing:6,alerts:8,scorekeeper.dlq:4
. "$(dirname "$0")/fault_lib.sh"

sk_require jq python3 redis-server redis-cli split timeout
sk_start_redis
sk_fault_mock
sk_fault_events 30000 1000 505
DARGS=(--backfill-horizon off -X session.timeout.ms=3000 -X heartbeat.interval.ms=300
    -X max.poll.interval.ms=6000)
FT_GATED=1 sk_fault_stream "$FT_DIR/events.jsonl" 60 0.2

start() # NAME [ENV=VALUE...] - start a member; PID_<NAME>, LOG_<NAME>
{
    local name=$1 kv
    shift
    for kv in "$@"; do export "${kv?}"; done
    sk_daemon_start "$name" "${DARGS[@]}"
    for kv in "$@"; do unset "${kv%%=*}"; done
    eval "PID_$name=$SK_DAEMON_PID LOG_$name=$SK_DAEMON_LOG"
}
progress() # PIECES - let the stream go up to PIECES and wait for it
{
    local at
    at=$(sk_fault_applied)
    sk_fault_gate "$1"
    sk_wait_for "[ \$(sk_fault_produced) -ge $1 ] && [ \$(sk_fault_applied) -gt $at ]" 120 ||
        sk_fail "the stream stalled before piece $1"
}
assigned() # NAME - how many assignments NAME's log shows
{
    local log
    eval "log=\$LOG_$1"
    grep -c 'partitions assigned' "$log"
}

# 1. three members join one by one
start A
progress 8
start B
progress 16
start C SCOREKEEPER_REDIS_TIMEOUT=60s SCOREKEEPER_SCHEDULER_INTERVAL=1h
progress 24

# 2. one leaves cleanly and comes back; one dies
SK_DAEMON_PID=$PID_A SK_DAEMON_LOG=$LOG_A sk_daemon_stop
progress 28
start A2
progress 34
a2_assigned=$(assigned A2) c_assigned=$(assigned C)
kill -KILL "$PID_B"
wait "$PID_B" 2>/dev/null
# the group notices once B's session is over, and splits B's partitions
sk_wait_for "[ \$(assigned A2) -gt $a2_assigned ] && [ \$(assigned C) -gt $c_assigned ]" 60 ||
    sk_fail "B's partitions were never given to A2 and C"
sk_wait_for "[ \$(sk_fault_lag '$FT_DIR/lag-b.json') = 0 ]" 60 ||
    sk_fail "A2 and C did not catch up after B died"
grep -E 'partitions (assigned|revoked)' "$LOG_C" | tail -1 | grep -q 'assigned" count=6' ||
    sk_fail "C does not hold its partitions before the zombie step"

# 3. the zombie
c_assigned=$(assigned C)
c_conflicts=$(grep -c 'write conflict' "$LOG_C")
sk_redis_cli CLIENT PAUSE 20000 ALL >/dev/null
sk_fault_gate 44
sk_wait_for "[ \$(sk_fault_produced) -ge 36 ]" 60 ||
    { sk_redis_cli CLIENT UNPAUSE >/dev/null; sk_fail "the stream stalled before the zombie"; }
sleep 2 # C polls them and blocks on the load
kill -STOP "$PID_C"
sk_redis_cli CLIENT UNPAUSE >/dev/null
sk_log "C stopped waiting on Redis"
# the group moves on without C: A2 is given every partition, and applies
# what C held
a2_assigned=$(assigned A2)
sk_wait_for "[ \$(assigned A2) -gt $a2_assigned ] && grep 'partitions assigned' '$LOG_A2' | tail -1 | grep -q 'count=12'" 60 ||
    { kill -CONT "$PID_C"; sk_fail "C's partitions never went to A2"; }
sk_wait_for "[ \$(sk_fault_produced) -ge 44 ] && [ \$(sk_fault_lag '$FT_DIR/lag-z.json') = 0 ]" 120 ||
    { kill -CONT "$PID_C"; sk_fail "A2 did not catch up while C was stopped"; }
kill -CONT "$PID_C"
sk_log "C continued"
sk_wait_for "[ \$(assigned C) -gt $c_assigned ]" 60 || sk_fail "C never rejoined the group"
grep -Eq 'assignment lost|MAX_POLL_EXCEEDED|Unknown member' "$LOG_C" ||
    sk_fail "C never noticed that it had lost its partitions"
zombie_conflicts=$(($(grep -c 'write conflict' "$LOG_C") - c_conflicts))
[ "$zombie_conflicts" -ge 1 ] || sk_fail "C's stale writes were not refused as conflicts"
SK_DAEMON_PID=$PID_C SK_DAEMON_LOG=$LOG_C sk_daemon_stop
zombie_replayed=$(SK_DAEMON_LOG=$LOG_C sk_daemon_figure replayed)
start C2
progress 60
wait "$FT_PRODUCER" || sk_fail "the producer failed"

sk_fault_verify
for m in A2 C2; do
    eval "SK_DAEMON_PID=\$PID_$m SK_DAEMON_LOG=\$LOG_$m"
    sk_daemon_stop
done
sk_fault_report "members=5" \
    "assignments=$(cat "$LOG_A" "$LOG_B" "$LOG_C" "$LOG_A2" "$LOG_C2" | grep -c 'partitions assigned')" \
    "conflicts=$(sk_fault_log_sum conflicts) zombie_conflicts=$zombie_conflicts" \
    "zombie_replayed=$zombie_replayed"
sk_pass "joins, leaves, a death and a zombie leave the single-pass result"
