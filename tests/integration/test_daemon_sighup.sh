# test_daemon_sighup.sh - SIGHUP reloads the rules file.  A broken file
# is refused with a log line naming file:line, the daemon keeps running
# on the old rules (the scores equal the offline scorer's with the old
# file); a good file is taken, and accounts written afterwards carry its
# version.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq redis-server redis-cli
T=$(sk_tmpdir)
sk_start_redis

cp "$SK_SOURCE_DIR/deploy/rules.yaml" "$T/rules-good.yaml"
cp "$T/rules-good.yaml" "$T/rules.yaml"
SK_DAEMON_RULES=$T/rules.yaml

"$SK" sample --now 2026-11-05T10:00:00Z --seed 5 >"$T/events.jsonl" ||
    sk_fail "scorekeeper sample failed"
half=$(($(wc -l <"$T/events.jsonl") / 2))
head -n "$half" "$T/events.jsonl" >"$T/part1.jsonl"
tail -n +"$((half + 1))" "$T/events.jsonl" >"$T/part2.jsonl"
NOW=$(sk_iso "$(sk_latest_ts "$T/events.jsonl")")
NOW1=$(sk_iso "$(sk_latest_ts "$T/part1.jsonl")")
# Until every event is in, the clock stays at the latest event applied so
# far: no account is evaluated past an event still to come.
sk_clock_set "$NOW1"
export SCOREKEEPER_FUTURE_SKEW=3650d

sk_daemon_start daemon --backfill-horizon off
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/part1.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce part 1 failed"
sk_wait_applied "$T/part1.jsonl"
sk_offline_scores "$T/part1.jsonl" "$NOW1" "$T/offline1.jsonl" "$T/rules-good.yaml"
sk_wait_parity "$T/offline1.jsonl" "$NOW1" 60 "$T/rules-good.yaml"

# A broken file: a weight that is not a number.
sed 's/^window_days: 30$/window_days: thirty/' "$T/rules-good.yaml" >"$T/rules.yaml"
cmp -s "$T/rules.yaml" "$T/rules-good.yaml" && sk_fail "the rules file was not broken"
bad_line=$(grep -n '^window_days: thirty$' "$T/rules.yaml" | cut -d: -f1)
kill -HUP "$SK_DAEMON_PID"
sk_wait_for "grep -q 'rules reload failed' '$SK_DAEMON_LOG'" 30 ||
    sk_fail "no log line about the refused rules"
line=$(grep 'rules reload failed' "$SK_DAEMON_LOG")
sk_assert_contains "$line" "keeping the current rules" "reload failure line"
sk_assert_contains "$line" "rules.yaml:$bad_line" "file:line in the reload failure"
kill -0 "$SK_DAEMON_PID" 2>/dev/null || sk_fail "scorekeeperd died on a bad rules file"

# The old rules stay in force for what comes next.
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/part2.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce part 2 failed"
sk_wait_applied "$T/events.jsonl"
sk_clock_set "$NOW"
sk_offline_scores "$T/events.jsonl" "$NOW" "$T/offline.jsonl" "$T/rules-good.yaml"
sk_wait_parity "$T/offline.jsonl" "$NOW" 60 "$T/rules-good.yaml"
"$SK" score --rules "$T/rules-good.yaml" --now "$NOW" --alerts "$T/events.jsonl" |
    jq -r .id | sort -u >"$T/offline-ids"
sk_wait_alert_ids "$T/offline-ids" 60
old_version=$(sk_field rules_version northwind)
sk_assert_eq "default-2026.11" "$old_version" "rules version after the refused reload"

# A good file with a new version is taken on the next SIGHUP.
sed 's/^version: .*/version: "reloaded-1"/' "$T/rules-good.yaml" >"$T/rules.yaml"
kill -HUP "$SK_DAEMON_PID"
sk_wait_for "grep -q 'msg=\"rules reloaded\".*version=reloaded-1' '$SK_DAEMON_LOG'" 30 ||
    sk_fail "the good rules file was not reloaded"
last=$(sk_latest_ts "$T/events.jsonl")
echo '{"v":1,"id":"after-reload","account":"northwind","type":"login","ts":'"$last"'}' \
    >"$T/part3.jsonl"
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/part3.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce part 3 failed"
sk_wait_for "[ \"\$(sk_field rules_version northwind)\" = reloaded-1 ]" 30 ||
    sk_fail "an account written after the reload does not carry the new version"
sk_daemon_stop
sk_pass "a broken rules file is refused with file:line, a good one is taken"
