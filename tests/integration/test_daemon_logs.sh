# test_daemon_logs.sh - the daemon's logs: logfmt lines with level,
# component and context; never a secret; floods held back.
#
# Redis requires a password.  The daemon runs at debug level with the
# password from the environment, then from a file, then with a wrong one;
# it consumes good and bad events and answers /readyz and /metrics.  The
# password must appear in no log line, no HTTP answer, no --check-config
# output and no CLI error.  Every daemon line must be `ts=... level=...
# component=... msg="..."`, and the lines about a message must say where
# it came from (topic, partition, offset).  With Redis gone and the
# scheduler ticking every 50 ms, its failure is logged a few times, not
# twenty times a second.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require curl python3 redis-server redis-cli
T=$(sk_tmpdir)
PW="pw-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
sk_start_redis
# Set after the start: lib.sh's readiness check pings without a password.
sk_redis_cli CONFIG SET requirepass "$PW" >/dev/null || sk_fail "cannot set requirepass"
sk_redis_cli() { redis-cli -h 127.0.0.1 -p "$SK_REDIS_PORT" --no-auth-warning -a "$PW" "$@"; }
sk_start_mock

NOW=2026-11-05T10:00:00Z
NOW_MS=$(($(date -u -d "$NOW" +%s) * 1000))
sk_clock_set "$NOW"
for i in 1 2 3; do
    echo "{\"v\":1,\"id\":\"log-$i\",\"account\":\"log-co\",\"type\":\"login\",\"ts\":$((NOW_MS - i * 60000)),\"user\":\"u$i@log.example\"}"
done >"$T/events.jsonl"
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/events.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce failed"
echo 6e6f | "$SK" produce --brokers "$SK_BROKERS" --topic telemetry --hex \
    --key log-co 2>>"$T/produce.log" || sk_fail "produce of a bad message failed"

# --- the password from the environment, debug level ------------------------
MPORT=$(sk_free_port) || sk_fail "no free port"
export SCOREKEEPER_REDIS_PASSWORD=$PW
sk_daemon_start env-password --log-level debug --metrics-listen "127.0.0.1:$MPORT"
sk_wait_applied "$T/events.jsonl" 60
# The bad message follows the good ones: wait for its line too.
sk_wait_for "grep -q 'msg=\"message dead-lettered\"' '$T/env-password.log'" 30 ||
    sk_fail "the bad message was never dead-lettered"
sk_wait_for "curl -fsS --max-time 10 http://127.0.0.1:$MPORT/readyz" 30 ||
    sk_fail "/readyz never 200 with an authenticated Redis"
curl -sS --max-time 10 "http://127.0.0.1:$MPORT/readyz" >"$T/readyz.out" 2>&1
curl -sS --max-time 10 "http://127.0.0.1:$MPORT/metrics" >"$T/metrics.out" 2>&1
"$SKD" --check-config --rules "$SK_DAEMON_RULES" >"$T/check-config.out" 2>&1 ||
    sk_fail "--check-config failed"
grep -q 'password: "\*\*\*"' "$T/check-config.out" || sk_fail "--check-config does not mask the password"
sk_daemon_stop
unset SCOREKEEPER_REDIS_PASSWORD

# --- from a file -----------------------------------------------------------------
echo "$PW" >"$T/redis-password"
SCOREKEEPER_REDIS_PASSWORD_FILE=$T/redis-password sk_daemon_start file-password
sk_daemon_stop

# --- a wrong password: retried, said, never shown -----------------------------
SCOREKEEPER_REDIS_PASSWORD=not-the-right-one "$SKD" --allow-root --rules "$SK_DAEMON_RULES" \
    --redis "$SK_REDIS_ADDR" --brokers "$SK_BROKERS" 2>"$T/wrong-password.log" &
pid=$!
sk_track_pid "$pid"
sk_wait_for "grep -q 'redis unreachable' '$T/wrong-password.log'" 30 ||
    sk_fail "no line about the refused password"
grep -q 'AUTH' "$T/wrong-password.log" || sk_fail "the line does not say AUTH failed"
status=0
sk_stop "$pid" 30 || status=$?
sk_assert_eq 0 "$status" "exit status when stopped while waiting for Redis"
SCOREKEEPER_REDIS_PASSWORD=not-the-right-one "$SK" show log-co --redis "$SK_REDIS_ADDR" \
    --rules "$SK_DAEMON_RULES" >"$T/cli.out" 2>&1 && sk_fail "show worked with a wrong password"

# --- no secret anywhere -------------------------------------------------------------
for f in "$T"/*.log "$T"/*.out; do
    if grep -qF "$PW" "$f"; then
        grep -nF "$PW" "$f" | head -3 >&2
        sk_fail "the Redis password appears in $(basename "$f")"
    fi
    if grep -qF "not-the-right-one" "$f"; then
        sk_fail "the wrong password appears in $(basename "$f")"
    fi
done

# --- the shape of every line, and the context of message lines ----------------------
for f in "$T"/env-password.log "$T"/file-password.log "$T"/wrong-password.log; do
    bad=$(grep -Ev '^ts=[0-9T:.Z-]+ level=(debug|info|warn|error) component=[a-z_]+ msg="' "$f" | head -3)
    [ -z "$bad" ] || sk_fail "not a logfmt line in $(basename "$f"): $bad"
done
grep -q 'level=debug' "$T/env-password.log" || sk_fail "no debug line at --log-level debug"
line=$(grep 'msg="message dead-lettered"' "$T/env-password.log" | head -1)
for k in reason= topic=telemetry partition= offset= key=log-co; do
    sk_assert_contains "$line" "$k" "context of the dead-letter line"
done
sk_assert_contains "$(grep 'msg="partitions assigned"' "$T/env-password.log")" \
    "partitions=" "context of the assignment line"

# --- a flood: Redis gone, the scheduler failing every 50 ms -----------------------
SCOREKEEPER_REDIS_PASSWORD=$PW SCOREKEEPER_SCHEDULER_INTERVAL=50ms \
    sk_daemon_start flood
sk_stop "$SK_REDIS_PID" 10 || true
sk_wait_for "[ \$(grep -c 'tick failed' '$SK_DAEMON_LOG') -ge 3 ]" 60 ||
    sk_fail "the failing ticks were not logged"
# 20 failures a second for 3 s; at most 3 lines a minute may say so.
if sk_wait_for "[ \$(grep -c 'tick failed' '$SK_DAEMON_LOG') -gt 3 ]" 3; then
    sk_fail "failing ticks flood the log: $(grep -c 'tick failed' "$SK_DAEMON_LOG") lines"
fi
sk_daemon_stop
sk_figures "lines=$(cat "$T"/*.log | wc -l) tick_failure_lines=$(grep -c 'tick failed' "$SK_DAEMON_LOG")"
sk_pass "logfmt lines with context, no secret in any output, floods held back"
