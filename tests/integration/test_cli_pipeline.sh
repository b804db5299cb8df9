# test_cli_pipeline.sh - the tools around a running scorekeeperd:
# sample -> produce -> scorekeeperd -> Redis -> show / top, and the alerts
# topic -> alerts.  The daemon's results must equal the offline scorer's
# for the same events and the same moment (MODEL.md: "the daemon and the
# offline scorer produce the same alerts with the same ids"), and the
# stories of the sample must be visible through show and top.
#
# Time is a file (SCOREKEEPER_CLOCK_FILE) read by the daemon and by show,
# so the test can move a month forward without waiting.
. "$(dirname "$0")/lib.sh"

sk_require jq redis-server redis-cli
SK=$SK_BIN/scorekeeper
RULES=$SK_SOURCE_DIR/deploy/rules.yaml
T=$(sk_tmpdir)
[ -x "$SK_BIN/scorekeeperd" ] || sk_fail "$SK_BIN/scorekeeperd is not built"

NOW=2026-11-05T10:00:00Z
echo "$NOW" >"$T/clock"
export SCOREKEEPER_CLOCK_FILE=$T/clock
sk_start_redis

"$SK_BIN/scorekeeperd" --brokers embedded --backfill-horizon off --allow-root \
    --redis "$SK_REDIS_ADDR" --rules "$RULES" --group sk-test \
    >"$T/daemon.out" 2>"$T/daemon.log" &
daemon=$!
sk_track_pid $daemon
sk_wait_for "! kill -0 $daemon || grep -q 'bootstrap=' '$T/daemon.log'" 60 ||
    sk_fail "scorekeeperd logged no bootstrap address"
kill -0 $daemon 2>/dev/null || sk_fail "scorekeeperd exited"
BROKERS=$(grep -m1 -o 'bootstrap=[^ ]*' "$T/daemon.log" | cut -d= -f2)
sk_log "scorekeeperd pid $daemon, embedded cluster at $BROKERS"

# one topic keeps every account's events in order, so the daemon sees
# exactly what the offline scorer sees
"$SK" sample --now "$NOW" --seed 5 >"$T/sample.jsonl" || sk_fail "sample failed"
"$SK" produce --brokers "$BROKERS" --topic telemetry "$T/sample.jsonl" 2>"$T/produce.log" ||
    sk_fail "produce failed"

"$SK" score --rules "$RULES" --now "$NOW" "$T/sample.jsonl" >"$T/expected.jsonl" ||
    sk_fail "offline score failed"
"$SK" score --rules "$RULES" --now "$NOW" --alerts "$T/sample.jsonl" >"$T/expected.alerts" ||
    sk_fail "offline score --alerts failed"
accounts=$(jq -r .account "$T/expected.jsonl")
sk_assert_eq 8 "$(echo "$accounts" | wc -l)" "accounts scored offline"

# show --json is the object score --now prints: poll until the daemon has
# applied everything, then every account must match exactly
all_match()
{
    local a
    for a in $accounts; do
        "$SK" show "$a" --redis "$SK_REDIS_ADDR" --rules "$RULES" --json \
            >"$T/show.$a" 2>/dev/null || return 1
        [ "$(cat "$T/show.$a")" = "$(grep -F "\"account\": \"$a\"" "$T/expected.jsonl")" ] || return 1
    done
}
if ! sk_wait_for all_match 120; then
    for a in $accounts; do
        diff <(grep -F "\"account\": \"$a\"" "$T/expected.jsonl") "$T/show.$a" >&2
    done
    sk_fail "show --json differs from score --now"
fi

# the alerts published are the offline scorer's, with the same ids
expected_alerts=$(wc -l <"$T/expected.alerts")
published()
{
    "$SK" alerts --brokers "$BROKERS" --from-beginning --idle-exit 3 \
        >"$T/alerts.jsonl" 2>"$T/alerts.err" &&
        [ "$(wc -l <"$T/alerts.jsonl")" -ge "$expected_alerts" ]
}
sk_wait_for published 120 ||
    sk_fail "$(wc -l <"$T/alerts.jsonl") alerts published, $expected_alerts expected"
jq -r .id "$T/expected.alerts" | sort >"$T/expected.ids"
jq -r .id "$T/alerts.jsonl" | sort >"$T/published.ids"
diff "$T/expected.ids" "$T/published.ids" >&2 || sk_fail "published alert ids differ from the offline ones"
[ -n "$(jq -r 'select(.account == "bluebird" and .kind == "flag_raised" and .flag == "no_login_30d") | .id' \
    "$T/alerts.jsonl")" ] || sk_fail "no no_login_30d alert for bluebird"

# top: order, tiers and flags
"$SK" top --redis "$SK_REDIS_ADDR" --json --limit 0 >"$T/top.jsonl" || sk_fail "top failed"
sk_assert_eq 8 "$(wc -l <"$T/top.jsonl")" "top rows"
jq -r .customer "$T/top.jsonl" | sort -g -r -c || sk_fail "top is not ordered by customer score"
top_flag() { "$SK" top --redis "$SK_REDIS_ADDR" --json --flag "$1" | jq -r .account | tr '\n' ' '; }
sk_assert_eq "dunmore " "$(top_flag payment_failures)" "top --flag payment_failures"
sk_assert_eq "bluebird " "$(top_flag no_login_30d)" "top --flag no_login_30d"
sk_assert_eq "cobalt " "$(top_flag missed_meetings)" "top --flag missed_meetings"
sk_assert_eq "fjord " "$("$SK" top --redis "$SK_REDIS_ADDR" --json --tier growth | jq -r .account | tr '\n' ' ')" \
    "top --tier growth"
# --tier and --flag filter the ranking by customer score: the same rows,
# in the same order, as the full ranking filtered here.
for tier in at_risk watch growth healthy; do
    sk_assert_eq "$(jq -r "select(.health == \"$tier\") | .account" "$T/top.jsonl" | tr '\n' ' ')" \
        "$("$SK" top --redis "$SK_REDIS_ADDR" --json --limit 0 --tier "$tier" | jq -r .account | tr '\n' ' ')" \
        "top --tier $tier, in score order"
done
sk_assert_eq "$(jq -r 'select(.health == "at_risk" and (.flags | index("no_login_30d"))) | .account' "$T/top.jsonl" | tr '\n' ' ')" \
    "$("$SK" top --redis "$SK_REDIS_ADDR" --json --limit 0 --tier at_risk --flag no_login_30d | jq -r .account | tr '\n' ' ')" \
    "top --tier at_risk --flag no_login_30d"
sk_assert_eq 3 "$(SCOREKEEPER_REDIS=$SK_REDIS_ADDR "$SK" top --limit 3 | tail -n +2 | wc -l)" \
    "top --limit 3, the address from SCOREKEEPER_REDIS"
table=$("$SK" top --redis "$SK_REDIS_ADDR" --tier at_risk)
sk_assert_contains "$table" "ACCOUNT" "table header"
sk_assert_contains "$table" "usage_drop,no_login_30d" "bluebird's flags in the table"
sk_assert_not_contains "$table" "fjord" "fjord is not at risk"

# the readable view of show
view=$("$SK" show bluebird --redis "$SK_REDIS_ADDR" --rules "$RULES") || sk_fail "show failed"
sk_assert_contains "$view" "no_login_30d since" "show names the flag"
sk_assert_contains "$view" "rescue plan" "show names the play"
sk_assert_contains "$view" "engagement 17.5 (red)" "show explains"

# a month later with no events: show evaluates at the clock's new time
# at once, whatever the daemon has done yet
echo 2026-12-10T10:00:00Z >"$T/clock"
flags=$("$SK" show harbor --redis "$SK_REDIS_ADDR" --rules "$RULES" --json | jq -r '[.flags[].id] | join(",")')
sk_assert_contains "$flags" no_login_30d "harbor silent for a month (show)"
sk_assert_eq "$("$SK" show harbor --redis "$SK_REDIS_ADDR" --rules "$RULES" --json --now 2026-12-10T10:00:00Z)" \
    "$("$SK" score --rules "$RULES" --now 2026-12-10T10:00:00Z "$T/sample.jsonl" | grep -F '"account": "harbor"')" \
    "show --now equals score --now a month later"
# ... and the daemon catches up by itself
sk_wait_for "[ \"\$(\"$SK\" top --redis $SK_REDIS_ADDR --flag no_login_30d --limit 0 --json | wc -l)\" = 8 ]" 120 ||
    sk_fail "the daemon did not raise no_login_30d on every account a month later"

# errors
"$SK" show nobody --redis "$SK_REDIS_ADDR" --rules "$RULES" 2>"$T/show.err"
sk_assert_eq 1 $? "show of an unknown account"
sk_assert_contains "$(cat "$T/show.err")" "not stored" "unknown account message"
"$SK" top --redis "$SK_REDIS_ADDR" --flag nope >/dev/null 2>&1
sk_assert_eq 2 $? "top --flag nope"
"$SK" top --redis "127.0.0.1:$(sk_free_port)" >/dev/null 2>&1
sk_assert_eq 1 $? "top without a server"

sk_stop $daemon 60
sk_assert_eq 0 $? "scorekeeperd exit status on SIGTERM"
sk_figures "events=$(wc -l <"$T/sample.jsonl") alerts=$expected_alerts"
sk_pass
