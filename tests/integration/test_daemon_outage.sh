# test_daemon_outage.sh - what goes wrong around the daemon does not
# change its results:
#  - another writer changes an account behind its back (its generation
#    moves): the compare-and-set write fails, the daemon reloads and
#    applies its events again;
#  - Redis stops answering (SIGSTOP) while events arrive: the batch is
#    retried with backoff until Redis is back, nothing is lost or doubled;
#  - a Redis that may evict keys is refused at start, unless
#    redis.allow_eviction says otherwise.
# The final scores and alert ids equal the offline single pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq redis-server redis-cli
T=$(sk_tmpdir)
sk_start_redis
sk_start_mock

"$SK" sample --now 2026-11-05T10:00:00Z --seed 13 >"$T/events.jsonl" ||
    sk_fail "scorekeeper sample failed"
third=$(($(wc -l <"$T/events.jsonl") / 3))
head -n "$third" "$T/events.jsonl" >"$T/a.jsonl"
sed -n "$((third + 1)),$((2 * third))p" "$T/events.jsonl" >"$T/b.jsonl"
tail -n +"$((2 * third + 1))" "$T/events.jsonl" >"$T/c.jsonl"
cat "$T/a.jsonl" "$T/b.jsonl" >"$T/ab.jsonl"
NOW=$(sk_iso "$(sk_latest_ts "$T/events.jsonl")")
sk_clock_set "$(sk_iso "$(sk_earliest_ts "$T/events.jsonl")")"
export SCOREKEEPER_FUTURE_SKEW=3650d
sk_offline_scores "$T/events.jsonl" "$NOW" "$T/offline.jsonl"
"$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW" --alerts "$T/events.jsonl" |
    jq -r .id | sort -u >"$T/offline-ids" || sk_fail "offline alerts failed"

sk_daemon_start daemon --backfill-horizon off
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/a.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce a failed"
sk_wait_applied "$T/a.jsonl"
# ...and confirmed: no account has alerts waiting, the daemon is idle.
outboxes()
{
    # shellcheck disable=SC2046 # one word per account id
    sk_field outbox $(jq -r .account "$T/a.jsonl" | sort -u) |
        awk '$1 > 0 { n++ } END { print n + 0 }'
}
sk_wait_for "[ \$(outboxes) -eq 0 ]" 30 || sk_fail "outboxes were never cleared"

# Another writer: every account's generation moves while the daemon holds
# the accounts in memory.  Its next write of each must conflict.
for acct in $(jq -r .account "$T/a.jsonl" | sort -u); do
    sk_redis_cli HINCRBY "$(sk_field bucket "$acct"):gen" "$acct" 1000 >/dev/null
done
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/b.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce b failed"
sk_wait_applied "$T/ab.jsonl"
grep -q 'write conflict: reloading and applying again' "$SK_DAEMON_LOG" ||
    sk_fail "no write conflict was noticed"

# Redis stops answering while events arrive.
kill -STOP "$SK_REDIS_PID"
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/c.jsonl" \
    2>>"$T/produce.log" || { kill -CONT "$SK_REDIS_PID"; sk_fail "produce c failed"; }
sk_wait_for "grep -q 'batch failed; retrying' '$SK_DAEMON_LOG'" 60 ||
    { kill -CONT "$SK_REDIS_PID"; sk_fail "the outage went unnoticed"; }
kill -CONT "$SK_REDIS_PID"
sk_wait_applied "$T/events.jsonl" 120
# The state lands in Redis just before the batch is committed and the
# recovery logged: wait for the line rather than race it.
sk_wait_for "grep -q 'writing again after an outage' '$SK_DAEMON_LOG'" 30 ||
    sk_fail "no recovery line in the log"
sk_clock_set "$NOW"
sk_wait_parity "$T/offline.jsonl" "$NOW" 60
sk_wait_alert_ids "$T/offline-ids" 60
sk_daemon_stop
conflicts=$(sk_daemon_figure conflicts)
retries=$(sk_daemon_figure retries)
[ "$conflicts" -ge 1 ] || sk_fail "conflicts figure is $conflicts"
[ "$retries" -ge 1 ] || sk_fail "retries figure is $retries"

# A server that may evict account state is refused...
sk_redis_cli CONFIG SET maxmemory-policy allkeys-lru >/dev/null
status=0
"$SKD" --allow-root --rules "$SK_DAEMON_RULES" --redis "$SK_REDIS_ADDR" \
    --brokers "$SK_BROKERS" 2>"$T/evict.log" || status=$?
sk_assert_eq 1 "$status" "exit status on an evicting Redis"
sk_assert_contains "$(cat "$T/evict.log")" "maxmemory-policy is allkeys-lru" \
    "reason for refusing the server"
# ...unless the operator says so.
SCOREKEEPER_REDIS_ALLOW_EVICTION=true sk_daemon_start allowed
grep -q 'maxmemory-policy may evict' "$SK_DAEMON_LOG" ||
    sk_fail "no warning about the evicting server"
sk_daemon_stop
sk_figures "events=$(wc -l <"$T/events.jsonl") conflicts=$conflicts retries=$retries"
sk_pass "conflicts, a Redis outage and restarts leave the single-pass result"
