# test_cli_produce.sh - `scorekeeper produce` against the mock cluster:
# every valid event arrives once, as msgpack that decodes back to the
# same event, keyed by account on the partition the Java client would
# pick; invalid lines are reported by number and skipped (status 3);
# --raw and --hex send bytes unchanged; a delivery failure is status 1.
. "$(dirname "$0")/lib.sh"

sk_require jq kcat python3
SK=$SK_BIN/scorekeeper
T=$(sk_tmpdir)
sk_start_mock

"$SK" sample --now 2026-11-05T10:00:00Z --seed 3 >"$T/sample.jsonl" || sk_fail "sample failed"
total=$(wc -l <"$T/sample.jsonl")

# two invalid lines among the valid ones (lines 3 and 6), a blank line
{
    sed -n 1,2p "$T/sample.jsonl"
    echo 'this is not json'
    sed -n 3,4p "$T/sample.jsonl"
    echo '{"v":1,"id":"x1","account":"bad account!","type":"login","ts":1793000000000}'
    echo
    sed -n '5,$p' "$T/sample.jsonl"
} >"$T/input.jsonl"

"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/input.jsonl" 2>"$T/produce.err"
sk_assert_eq 3 $? "status with invalid lines"
err=$(cat "$T/produce.err")
sk_assert_contains "$err" "input.jsonl:3: bad_json" "line 3 reported"
sk_assert_contains "$err" "input.jsonl:6: bad_account" "line 6 reported"
sk_assert_contains "$err" "$total messages delivered" "delivery summary"

# every event once, keyed by its account
kcat -C -b "$SK_BROKERS" -t telemetry -e -q -f '%k %p\n' >"$T/keys" ||
    sk_fail "kcat could not read telemetry"
sk_assert_eq "$total" "$(wc -l <"$T/keys")" "messages on telemetry"
jq -r .account "$T/sample.jsonl" | sort | uniq -c >"$T/want.counts"
cut -d' ' -f1 "$T/keys" | sort | uniq -c >"$T/got.counts"
diff "$T/want.counts" "$T/got.counts" >&2 || sk_fail "messages per key differ from events per account"

# each key on the partition of the Java client's murmur2 partitioner
sort -u "$T/keys" >"$T/key.partitions"
python3 - "$T/key.partitions" 6 <<'EOF' || sk_fail "a key is not on its murmur2 partition"
import sys

def murmur2(data):
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = data[4 * n4:]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h

partitions = int(sys.argv[2])
seen = {}
for line in open(sys.argv[1]):
    key, part = line.split()
    want = (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
    if key in seen:
        print("key %s on two partitions" % key, file=sys.stderr)
        sys.exit(1)
    seen[key] = part
    if int(part) != want:
        print("key %s on partition %s, murmur2 says %d" % (key, part, want),
              file=sys.stderr)
        sys.exit(1)
EOF

# the values are msgpack events that decode back to the same events: the
# alerts command reads any topic and turns msgpack maps into JSON
"$SK" alerts --brokers "$SK_BROKERS" --topic telemetry --from-beginning \
    --idle-exit 3 >"$T/decoded.jsonl" 2>"$T/alerts.err" || sk_fail "alerts failed"
jq -cS . "$T/sample.jsonl" | sort >"$T/want.sorted"
jq -cS . "$T/decoded.jsonl" | sort >"$T/got.sorted"
diff "$T/want.sorted" "$T/got.sorted" >&2 || sk_fail "decoded events differ from the input"

# --raw and --hex: bytes as they are, with the --key given
printf 'not an event\n{"v":1}\n' |
    "$SK" produce --brokers "$SK_BROKERS" --topic scorekeeper.dlq --raw --key k1 2>/dev/null ||
    sk_fail "--raw failed"
printf 'dd ff ff ff ff\nc1\n' |
    "$SK" produce --brokers "$SK_BROKERS" --topic scorekeeper.dlq --hex 2>/dev/null ||
    sk_fail "--hex failed"
printf 'abc\n' | "$SK" produce --brokers "$SK_BROKERS" --topic scorekeeper.dlq --hex 2>"$T/hex.err"
sk_assert_eq 3 $? "bad hex line"
sk_assert_contains "$(cat "$T/hex.err")" "<stdin>:1: bad_hex" "bad hex reported"
got=$(kcat -C -b "$SK_BROKERS" -t scorekeeper.dlq -e -q -f '%k|%s\n')
sk_assert_eq 'k1|not an event
k1|{"v":1}' "$(echo "$got" | sed -n 1,2p)" "raw messages"
sk_assert_eq "ddffffffff c1" \
    "$(kcat -C -b "$SK_BROKERS" -t scorekeeper.dlq -o 2 -c 2 -e -q -f '%s\n' | od -An -tx1 | tr -d ' \n' | sed 's/0a/ /; s/0a$//')" \
    "hex messages"

# a cluster that is not there: every message fails, status 1
dead=$(sk_free_port)
head -n 5 "$T/sample.jsonl" |
    "$SK" produce --brokers "127.0.0.1:$dead" --topic telemetry \
        -X message.timeout.ms=1500 >/dev/null 2>"$T/dead.err"
sk_assert_eq 1 $? "status when nothing is delivered"
sk_assert_contains "$(cat "$T/dead.err")" "5 failed" "failures counted"

# usage errors and refused properties
"$SK" produce --brokers "$SK_BROKERS" </dev/null >/dev/null 2>&1
sk_assert_eq 2 $? "missing --topic"
"$SK" produce --brokers "$SK_BROKERS" --topic t -X sasl.password=hunter2 </dev/null 2>"$T/secret.err"
sk_assert_eq 2 $? "secret on the command line"
sk_assert_not_contains "$(cat "$T/secret.err")" hunter2 "secret echoed"
"$SK" produce --brokers "$SK_BROKERS" --topic t -X enable.idempotence=false </dev/null >/dev/null 2>&1
sk_assert_eq 1 $? "idempotence cannot be turned off"
"$SK" produce --brokers "$SK_BROKERS" --topic t --key k </dev/null >/dev/null 2>&1
sk_assert_eq 2 $? "--key without --raw"
"$SK" produce --brokers "$SK_BROKERS" --topic t "$T/missing.jsonl" >/dev/null 2>&1
sk_assert_eq 1 $? "missing input file"

# secrets go through --kafka-config
printf '# comment\nclient.id = sk-test\n\nsasl.password=hunter2\n' >"$T/kafka.properties"
head -n 3 "$T/sample.jsonl" |
    "$SK" produce --brokers "$SK_BROKERS" --topic telemetry --kafka-config "$T/kafka.properties" 2>/dev/null
sk_assert_eq 0 $? "--kafka-config with a secret"
printf 'no equals sign\n' >"$T/bad.properties"
"$SK" produce --brokers "$SK_BROKERS" --topic t --kafka-config "$T/bad.properties" </dev/null 2>"$T/badprops.err"
sk_assert_eq 2 $? "bad --kafka-config"
sk_assert_contains "$(cat "$T/badprops.err")" "bad.properties:1:" "bad line named"

# the daemon's environment variables work for the tools too
head -n 2 "$T/sample.jsonl" |
    SCOREKEEPER_BROKERS=$SK_BROKERS "$SK" produce --topic telemetry 2>/dev/null
sk_assert_eq 0 $? "brokers from SCOREKEEPER_BROKERS"
SCOREKEEPER_BROKERS=embedded "$SK" produce --topic telemetry </dev/null >/dev/null 2>&1
sk_assert_eq 2 $? "SCOREKEEPER_BROKERS=embedded names no cluster the tools can use"
SCOREKEEPER_KAFKA_NO_SUCH_PROPERTY=1 "$SK" produce --brokers "$SK_BROKERS" --topic telemetry \
    </dev/null 2>"$T/env.err"
sk_assert_eq 1 $? "SCOREKEEPER_KAFKA_* reaches librdkafka"
sk_assert_contains "$(cat "$T/env.err")" "no.such.property" "property named"

sk_figures "events=$total"
sk_pass
