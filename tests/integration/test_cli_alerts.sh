# test_cli_alerts.sh - `scorekeeper alerts` against the mock cluster:
# JSON alerts print as they are, msgpack alerts as the same JSON, garbage
# and hostile msgpack are skipped; without --from-beginning only new
# alerts print; --group resumes where the last run stopped.
. "$(dirname "$0")/lib.sh"

sk_require jq
SK=$SK_BIN/scorekeeper
T=$(sk_tmpdir)
sk_start_mock

alert1='{"id":"0123456789abcdef","kind":"flag_raised","account":"acme","flag":"no_login_30d","from":"clear","to":"raised","engagement":62.3}'
alert2='{"id":"fedcba9876543210","kind":"stage_crossed","account":"acme","from":100,"to":500}'
# {"id":"x","engagement":62.3,"arr":[null,true]} as msgpack
mp_alert='83a26964a178aa656e676167656d656e74cb404f266666666666a361727292c0c3'

printf '%s\n%s\n' "$alert1" "$alert2" |
    "$SK" produce --brokers "$SK_BROKERS" --topic alerts --raw 2>/dev/null ||
    sk_fail "could not produce JSON alerts"
# then: garbage, a msgpack alert, an array announcing 2^32 entries, a map
# whose value is missing, a reserved byte
printf '%s\n' 6e6f7420616e20616c657274 "$mp_alert" dfffffffff 81a16b 81a16bc1 |
    "$SK" produce --brokers "$SK_BROKERS" --topic alerts --hex 2>/dev/null ||
    sk_fail "could not produce binary alerts"

"$SK" alerts --brokers "$SK_BROKERS" --from-beginning --idle-exit 3 \
    >"$T/all.jsonl" 2>"$T/all.err"
sk_assert_eq 0 $? "alerts status"
sk_assert_eq "$alert1
$alert2
{\"id\":\"x\",\"engagement\":62.3,\"arr\":[null,true]}" "$(cat "$T/all.jsonl")" "printed alerts"
err=$(cat "$T/all.err")
sk_assert_contains "$err" "offset 2: neither a JSON object nor a msgpack map" "garbage skipped"
sk_assert_contains "$err" "offset 4: not well-formed msgpack" "huge map skipped"
sk_assert_contains "$err" "offset 5: not well-formed msgpack" "truncated map skipped"
sk_assert_contains "$err" "offset 6: not well-formed msgpack" "reserved byte skipped"
sk_assert_contains "$err" "3 alerts printed, 4 messages skipped" "summary"

# tail: start at the end; a marker sent until it shows up proves the
# consumer is reading, and nothing older than it is printed
"$SK" alerts --brokers "$SK_BROKERS" --idle-exit 60 >"$T/tail.jsonl" 2>"$T/tail.log" &
tail_pid=$!
sk_track_pid $tail_pid
send_marker()
{
    echo '{"id":"marker","kind":"flag_cleared","account":"acme"}' |
        "$SK" produce --brokers "$SK_BROKERS" --topic alerts --raw 2>/dev/null
    grep -q '"marker"' "$T/tail.jsonl"
}
sk_wait_for send_marker 60 || sk_fail "the tailing consumer never printed the marker"
echo "$alert2" | "$SK" produce --brokers "$SK_BROKERS" --topic alerts --raw 2>/dev/null ||
    sk_fail "could not produce"
sk_wait_for "grep -q fedcba9876543210 '$T/tail.jsonl'" 30 || sk_fail "new alert not printed"
sk_stop $tail_pid
sk_assert_eq 0 $? "status after SIGTERM"
grep -q 0123456789abcdef "$T/tail.jsonl" && sk_fail "an old alert was printed without --from-beginning"
jq -c . "$T/tail.jsonl" >/dev/null || sk_fail "tail output is not JSON lines"

# --group: the second run of the same group starts where the first ended.
# The mock cluster holds a group's rebalance for the members' timeouts
# even after they leave, so keep those short.
short_group=(-X session.timeout.ms=6000 -X max.poll.interval.ms=6000)
before=$(kcat -C -b "$SK_BROKERS" -t alerts -e -q -f 'x\n' | wc -l)
"$SK" alerts --brokers "$SK_BROKERS" --group g1 --from-beginning --idle-exit 8 "${short_group[@]}" \
    >"$T/g1.jsonl" 2>/dev/null || sk_fail "group run 1 failed"
[ "$(wc -l <"$T/g1.jsonl")" -ge 4 ] || sk_fail "group run 1 printed $(wc -l <"$T/g1.jsonl") alerts"
echo '{"id":"after","kind":"flag_raised","account":"acme"}' |
    "$SK" produce --brokers "$SK_BROKERS" --topic alerts --raw 2>/dev/null
"$SK" alerts --brokers "$SK_BROKERS" --group g1 --from-beginning --idle-exit 8 "${short_group[@]}" \
    >"$T/g2.jsonl" 2>/dev/null || sk_fail "group run 2 failed"
sk_assert_eq '{"id":"after","kind":"flag_raised","account":"acme"}' "$(cat "$T/g2.jsonl")" \
    "group run 2 printed only the new alert"

# --format text: one readable line an alert
"$SK" alerts --brokers "$SK_BROKERS" --from-beginning --idle-exit 3 --format text \
    >"$T/text.txt" 2>/dev/null || sk_fail "alerts --format text failed"
grep -q '^-  *stage_crossed  *acme  *100 → 500' "$T/text.txt" ||
    sk_fail "no readable stage_crossed line in: $(cat "$T/text.txt")"
grep -q '{' "$T/text.txt" && sk_fail "JSON in the text output"

# usage errors
"$SK" alerts --brokers "$SK_BROKERS" --format yaml >/dev/null 2>&1
sk_assert_eq 2 $? "bad --format"
"$SK" alerts >/dev/null 2>&1
sk_assert_eq 2 $? "missing --brokers"
"$SK" alerts --brokers "$SK_BROKERS" --idle-exit soon >/dev/null 2>&1
sk_assert_eq 2 $? "bad --idle-exit"
sk_assert_contains "$("$SK" alerts --help)" "usage: scorekeeper alerts" "--help"

sk_figures "messages=$before"
sk_pass
