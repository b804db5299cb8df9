# test_mockcluster.sh - sk-mockcluster: brokers and topics as asked, the
# bootstrap address on stdout and in --bootstrap-file, a clean stop on
# SIGTERM, usage errors refused.
. "$(dirname "$0")/lib.sh"

sk_require kcat
MOCK=$SK_BIN/sk-mockcluster
T=$(sk_tmpdir)

sk_start_mock --brokers 3 --topics "in:4,out:1,a.b_c-d:2" --bootstrap-file "$T/bootstrap"
sk_wait_for "[ -s '$T/bootstrap' ]" 10 || sk_fail "no --bootstrap-file"
sk_assert_eq "$SK_BROKERS" "$(cat "$T/bootstrap")" "bootstrap file and stdout agree"
sk_assert_eq 3 "$(tr ',' '\n' <<<"$SK_BROKERS" | grep -c '^127\.0\.0\.1:[0-9][0-9]*$')" \
    "three loopback brokers"

kcat -L -b "$SK_BROKERS" >"$T/metadata" || sk_fail "kcat -L failed"
sk_assert_contains "$(cat "$T/metadata")" " 3 brokers:" "broker count"
for want in 'topic "in" with 4 partitions' 'topic "out" with 1 partitions' \
    'topic "a.b_c-d" with 2 partitions'; do
    sk_assert_contains "$(cat "$T/metadata")" "$want" "topic"
done

# it carries messages
printf 'one\ntwo\n' | kcat -P -b "$SK_BROKERS" -t out || sk_fail "kcat -P failed"
sk_assert_eq "one
two" "$(kcat -C -b "$SK_BROKERS" -t out -c 2 -e -q)" "messages back"

sk_stop "$SK_MOCK_PID" 30
sk_assert_eq 0 $? "exit status on SIGTERM"
[ -e "$T/bootstrap" ] && sk_fail "the bootstrap file outlived the cluster"

# the default topics
sk_start_mock
kcat -L -b "$SK_BROKERS" >"$T/metadata2" || sk_fail "kcat -L failed"
for want in 'topic "telemetry" with 6 partitions' 'topic "billing" with 6 partitions' \
    'topic "alerts" with 1 partitions' 'topic "scorekeeper.dlq" with 1 partitions'; do
    sk_assert_contains "$(cat "$T/metadata2")" "$want" "default topic"
done

# the control channel: one answer line per command, in order
mkfifo "$T/ctl" || sk_fail "mkfifo failed"
sk_start_mock --brokers 3 --topics "in:2" --control "$T/ctl"
out=$(grep -lx "bootstrap=$SK_BROKERS" "$T"/mock.?????? | head -1)
printf '%s\n' "broker-down 2" "broker-up 2" "request-errors Produce 3 NOT_LEADER_FOR_PARTITION" \
    "coordinator group g 3" "leader in 1 3" "rtt 1 5" "clear-errors Produce" \
    "broker-down 4" "request-errors Nope 1 X" "bogus" >"$T/ctl"
sk_wait_for "grep -q '^control 10 ' '$out'" 30 || sk_fail "the control commands were not all answered"
sk_assert_eq "control 1 ok broker-down 2
control 2 ok broker-up 2
control 3 ok request-errors Produce 3 NOT_LEADER_FOR_PARTITION
control 4 ok coordinator group g 3
control 5 ok leader in 1 3
control 6 ok rtt 1 5
control 7 ok clear-errors Produce" "$(grep '^control' "$out" | head -7)" "control answers"
sk_assert_contains "$(grep '^control 8 ' "$out")" "error broker-down 4: broker must be 1..3" "bad broker"
sk_assert_contains "$(grep '^control 9 ' "$out")" "error request-errors Nope" "bad API"
sk_assert_contains "$(grep '^control 10 ' "$out")" "error bogus: unknown command" "unknown command"
kcat -L -b "$SK_BROKERS" -t in >"$T/metadata3" || sk_fail "kcat -L after the commands failed"
sk_assert_contains "$(cat "$T/metadata3")" "partition 1, leader 3" "leader moved"

# usage errors
for args in "--brokers 0" "--brokers 17" "--topics a:0" "--topics a:x" \
    "--topics bad/name:1" "--topics ," "--nope" "extra"; do
    # shellcheck disable=SC2086
    "$MOCK" $args >/dev/null 2>&1
    sk_assert_eq 2 $? "sk-mockcluster $args"
done
sk_assert_contains "$("$MOCK" --help)" "usage: sk-mockcluster" "--help"

sk_pass
