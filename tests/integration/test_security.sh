# test_security.sh - scorekeeperd and the CLI against a Redis that
# requires an ACL user and password, with the least the daemon needs:
#   user scorekeeper on >PASSWORD ~sk:* resetchannels -@all +@read
#        +@write +@scripting +@connection +config|get
# (an ACL file; the default user is off).  The daemon logs in from a password file,
# applies events and publishes alerts as without AUTH; `scorekeeper
# show` reads with --redis-user and --redis-password-file.  A wrong
# password is refused with the user named and the password never
# printed, in the log or in --check-config.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq redis-server redis-cli
T=$(sk_tmpdir)
PW=s3cret-$RANDOM$RANDOM
printf '%s\n' "$PW" >"$T/redis.pw"
printf 'wrong-%s\n' "$RANDOM" >"$T/wrong.pw"
acl() # DEFAULT-USER-RULES - the ACL file
{
    printf 'user default %s\n' "$1"
    printf 'user scorekeeper on >%s ~sk:* resetchannels -@all +@read +@write' "$PW"
    printf ' +@scripting +@connection +config|get\n'
}
# started with the default user on (the harness pings), then turned off
acl "on nopass ~* &* +@all" >"$T/users.acl"
sk_start_redis --aclfile "$T/users.acl"
acl off >"$T/users.acl"
sk_redis_cli ACL LOAD >/dev/null || sk_fail "ACL LOAD failed"
sk_assert_contains "$(sk_redis_cli ping 2>&1)" "NOAUTH" "the default user is off"
sk_start_mock

"$SK" sample --now 2026-11-05T10:00:00Z --seed 21 >"$T/events.jsonl" || sk_fail "sample failed"
NOW=$(sk_iso "$(sk_latest_ts "$T/events.jsonl")")
sk_clock_set "$(sk_iso "$(sk_earliest_ts "$T/events.jsonl")")"
export SCOREKEEPER_FUTURE_SKEW=3650d
sk_offline_scores "$T/events.jsonl" "$NOW" "$T/offline.jsonl"
"$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW" --alerts "$T/events.jsonl" |
    jq -r .id | sort -u >"$T/offline-ids" || sk_fail "offline alerts failed"

# The password is never shown.
out=$(SCOREKEEPER_REDIS_USERNAME=scorekeeper SCOREKEEPER_REDIS_PASSWORD_FILE=$T/redis.pw \
    "$SKD" --rules "$SK_DAEMON_RULES" --redis "$SK_REDIS_ADDR" --check-config 2>&1) ||
    sk_fail "--check-config failed: $out"
sk_assert_contains "$out" 'username: "scorekeeper"' "user shown"
sk_assert_not_contains "$out" "$PW" "the password in --check-config"

# A wrong password: refused, retried, named, never printed.
SCOREKEEPER_REDIS_USERNAME=scorekeeper SCOREKEEPER_REDIS_PASSWORD_FILE=$T/wrong.pw \
    "$SKD" --allow-root --rules "$SK_DAEMON_RULES" --redis "$SK_REDIS_ADDR" \
    --brokers "$SK_BROKERS" 2>"$T/wrong.log" &
wrong=$!
sk_track_pid "$wrong"
sk_wait_for "grep -q 'AUTH as scorekeeper failed' '$T/wrong.log'" 30 ||
    sk_fail "a wrong password was not reported: $(tail -3 "$T/wrong.log")"
sk_stop "$wrong" 10 || true
sk_assert_not_contains "$(cat "$T/wrong.log")" "$(cat "$T/wrong.pw")" "the wrong password in the log"
grep -q 'ready: consuming' "$T/wrong.log" && sk_fail "consumed without a usable Redis"

# The right one: the daemon works as usual, with only the ACL above.
export SCOREKEEPER_REDIS_USERNAME=scorekeeper SCOREKEEPER_REDIS_PASSWORD_FILE=$T/redis.pw
sk_daemon_start daemon --backfill-horizon off
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/events.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce failed"
sk_redis_cli() { redis-cli -h 127.0.0.1 -p "$SK_REDIS_PORT" --user scorekeeper --pass "$PW" \
    --no-auth-warning "$@"; }
sk_wait_applied "$T/events.jsonl"
sk_clock_set "$NOW"
# sk_wait_parity reads with `scorekeeper show`, which takes the same
# user and password file from the environment.
sk_wait_parity "$T/offline.jsonl" "$NOW" 60
sk_wait_alert_ids "$T/offline-ids" 60
out=$(env -u SCOREKEEPER_REDIS_USERNAME -u SCOREKEEPER_REDIS_PASSWORD_FILE "$SK" show northwind \
    --redis "$SK_REDIS_ADDR" --rules "$SK_DAEMON_RULES" --now "$NOW" --json \
    --redis-user scorekeeper --redis-password-file "$T/redis.pw" 2>&1) ||
    sk_fail "show with --redis-user failed: $out"
sk_assert_eq "$(grep '"northwind"' "$T/offline.jsonl" | jq -S -c .)" "$(echo "$out" | jq -S -c .)" \
    "northwind through --redis-user"
status=0
out=$(env -u SCOREKEEPER_REDIS_USERNAME -u SCOREKEEPER_REDIS_PASSWORD_FILE "$SK" show northwind \
    --redis "$SK_REDIS_ADDR" --rules "$SK_DAEMON_RULES" 2>&1) || status=$?
sk_assert_eq 1 "$status" "show without credentials"
sk_daemon_stop
sk_assert_not_contains "$(cat "$SK_DAEMON_LOG")" "$PW" "the password in the daemon's log"
sk_figures "events=$(wc -l <"$T/events.jsonl") alerts=$(wc -l <"$T/offline-ids") acl_user=scorekeeper"
sk_pass "ACL user and password: least privilege works, secrets stay secret"
