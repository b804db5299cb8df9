# test_retention.sh - retention.silent_ttl erases accounts that went
# silent, and only those.
#
# Three accounts get one login each at T0.  With the TTL at 400 days:
#   - once their history has left the scoring windows (T0 + 70 days), the
#     only thing still scheduled for an account is its erasure: its due
#     time is its last event + 400 days;
#   - live-co gets a second event at T0 + 390 days;
#   - the daemon is stopped, the clock moved to T0 + 402 days, and an
#     event for back-co is sent; on restart back-co is started afresh by
#     that event (its previous one is 402 days old), old-co is erased by
#     the scheduler (hash, indexes, schedule) with a log line, and live-co
#     (silent 12 days) is kept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq redis-server redis-cli
T=$(sk_tmpdir)
sk_start_redis
sk_start_mock

DAY=86400000
T0=2026-01-01T12:00:00Z
T0_MS=$(($(date -u -d "$T0" +%s) * 1000))
TTL_DAYS=400
at() { sk_iso $((T0_MS + $1 * DAY)); }
login() { # ACCOUNT ID TS_MS
    echo "{\"v\":1,\"id\":\"$2\",\"account\":\"$1\",\"type\":\"login\",\"ts\":$3,\"user\":\"u@$1.example\"}"
}
send() { "$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$1" 2>>"$T/produce.log" ||
    sk_fail "produce $1 failed"; }
hget() { sk_field "$2" "$1"; }
stored() { sk_redis_cli HEXISTS "$(sk_field bucket "$1"):state" "$1"; }
export SCOREKEEPER_RETENTION_SILENT_TTL=${TTL_DAYS}d

sk_clock_set "$T0"
FIRST=$((T0_MS - 3600000))
for a in old-co back-co live-co; do login "$a" "$a-1" "$FIRST"; done >"$T/first.jsonl"
send "$T/first.jsonl"
sk_daemon_start daemon1 --backfill-horizon off
sk_wait_applied "$T/first.jsonl" 60

# After the windows, the erasure is what is scheduled.
sk_clock_set "$(at 70)"
EXPIRY=$((FIRST + TTL_DAYS * DAY + 1))
for a in old-co back-co live-co; do
    sk_wait_for "[ \"\$(sk_redis_cli ZSCORE sk:due $a)\" = $EXPIRY ]" 90 ||
        sk_fail "$a is due at $(sk_redis_cli ZSCORE sk:due $a), not at its last event + ${TTL_DAYS}d ($EXPIRY)"
done
sk_assert_eq 1 "$(stored old-co)" "old-co kept before its TTL"

# live-co speaks again at day 390.
sk_clock_set "$(at 390)"
login live-co live-co-2 $((T0_MS + 390 * DAY - 3600000)) >"$T/live.jsonl"
send "$T/live.jsonl"
sk_wait_for "[ \"\$(hget live-co events_applied)\" = 2 ]" 60 ||
    sk_fail "live-co's second event was not applied"
sk_daemon_stop

# Day 402, the daemon was down: back-co speaks, old-co stays silent.
sk_clock_set "$(at 402)"
login back-co back-co-2 $((T0_MS + 402 * DAY - 3600000)) >"$T/back.jsonl"
send "$T/back.jsonl"
sk_daemon_start daemon2 --backfill-horizon off

sk_wait_for "[ \$(stored old-co) = 0 ]" 90 ||
    sk_fail "old-co was not erased after ${TTL_DAYS} silent days"
sk_assert_eq "" "$(sk_redis_cli ZSCORE sk:idx:score old-co)" "old-co in the score index"
sk_assert_eq "" "$(sk_redis_cli ZSCORE sk:due old-co)" "old-co in the due schedule"
for key in $(sk_redis_cli --scan --pattern 'sk:idx:*'); do
    sk_assert_eq "" "$(sk_redis_cli ZSCORE "$key" old-co)" "old-co in $key"
done
grep 'msg="account erased' "$SK_DAEMON_LOG" | grep -q 'account=old-co' ||
    sk_fail "no log line for the erasure of old-co"
status=0
"$SK" show old-co --redis "$SK_REDIS_ADDR" --rules "$SK_DAEMON_RULES" >/dev/null 2>&1 || status=$?
[ "$status" -ne 0 ] || sk_fail "scorekeeper show still finds old-co"

sk_wait_for "[ \"\$(hget back-co events_applied)\" = 1 ]" 60 ||
    sk_fail "back-co was not started afresh: events_applied=$(hget back-co events_applied)"
grep 'started afresh' "$SK_DAEMON_LOG" | grep -q 'account=back-co' ||
    sk_fail "no log line for back-co started afresh"
"$SK" score --rules "$SK_DAEMON_RULES" --now "$(at 402)" "$T/back.jsonl" >"$T/back-offline.jsonl" ||
    sk_fail "offline score of back-co failed"
sk_assert_eq "$(jq -r .points "$T/back-offline.jsonl")" "$(hget back-co points)" \
    "back-co's points: those of its one new event"

sk_assert_eq 2 "$(hget live-co events_applied)" "live-co kept (silent 12 days)"
[ -n "$(sk_redis_cli ZSCORE sk:idx:score live-co)" ] || sk_fail "live-co left the score index"
grep 'msg="account erased' "$SK_DAEMON_LOG" | grep -q 'account=live-co' &&
    sk_fail "live-co was erased"

sk_daemon_stop
sk_assert_eq 0 "$(grep -c 'account=live-co' <(grep 'retention' "$SK_TMPDIR"/daemon*.log))" \
    "retention lines about live-co"
sk_figures "ttl_days=$TTL_DAYS erased=old-co renewed=back-co kept=live-co"
sk_pass "accounts silent past retention.silent_ttl are erased; others kept"
