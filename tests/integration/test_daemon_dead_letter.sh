# test_daemon_dead_letter.sh - bad input goes to the dead-letter topic,
# one message per bad message, with its reason, the original key and
# bytes, and where it came from; the daemon keeps running and applies
# the good events around it.  Runs on the daemon's embedded cluster.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq kcat python3 redis-server redis-cli
T=$(sk_tmpdir)
sk_start_redis
NOW=2026-11-05T10:00:00Z
NOW_MS=$(($(date -u -d "$NOW" +%s) * 1000))
sk_clock_set "$NOW"

# One line per bad message: reason, key, hex bytes.  A tiny msgpack
# writer makes the events, so each one breaks exactly one rule.
python3 - "$NOW_MS" >"$T/bad.tsv" <<'EOF' || sk_fail "cannot build the bad messages"
import struct, sys

now = int(sys.argv[1])

def enc(o):
    if o is True: return b"\xc3"
    if isinstance(o, int):
        if 0 <= o < 128: return bytes([o])
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, float): return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, (str, bytes)):
        b = o.encode() if isinstance(o, str) else o
        if len(b) < 32: return bytes([0xa0 | len(b)]) + b
        if len(b) < 256: return b"\xd9" + bytes([len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(o, dict):
        return bytes([0x80 | len(o)]) + b"".join(enc(k) + enc(v) for k, v in o.items())
    raise TypeError(o)

def ev(**kw):
    e = {"v": 1, "id": "bad-%d" % len(kw), "account": "dlq-co", "type": "login",
         "ts": now - 3600000}
    e.update(kw)
    return {k: v for k, v in e.items() if v is not None}

cases = [
    ("bad_msgpack", "dlq-co", b"not msgpack at all"),
    ("too_large", "dlq-co", enc(ev(id="big", user="u" * 20000))),
    ("missing_field", "dlq-co", enc(ev(id="nots", ts=None))),
    ("bad_type", "dlq-co", enc(ev(id="strts", ts="yesterday"))),
    ("bad_version", "dlq-co", enc(ev(id="v2", v=2))),
    ("bad_account", "someone-else", enc(ev(id="wrongkey"))),
    ("bad_string", "dlq-co", enc(ev(id="utf8", user=b"\xff\xfe bad"))),
    ("unknown_type", "dlq-co", enc(ev(id="tele", type="teleport"))),
    ("bad_value", "dlq-co", enc(ev(id="nps11", type="nps", value=11))),
    ("ts_out_of_range", "dlq-co", enc(ev(id="future", ts=now + 3600000))),
]
for reason, key, data in cases:
    print("%s\t%s\t%s" % (reason, key, data.hex()))
EOF

good='{"v":1,"id":"good-1","account":"dlq-co","type":"login","ts":'$((NOW_MS - 7200000))'}'
good2='{"v":1,"id":"good-2","account":"dlq-co","type":"login","ts":'$((NOW_MS - 60000))'}'

SCOREKEEPER_LOG_DLQ_LINES_PER_SECOND=3 sk_daemon_start daemon
echo "$good" >"$T/good1.jsonl"
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/good1.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce good-1 failed"
while IFS=$'\t' read -r reason key hex; do
    echo "$hex" | "$SK" produce --brokers "$SK_BROKERS" --topic telemetry \
        --hex --key "$key" 2>>"$T/produce.log" ||
        sk_fail "produce of the $reason message failed"
done <"$T/bad.tsv"
echo "$good2" >"$T/good2.jsonl"
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/good2.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce good-2 failed"

expected=$(wc -l <"$T/bad.tsv")
dlq()
{
    kcat -C -b "$SK_BROKERS" -t scorekeeper.dlq -e -q -f '%k\t%S\t%h\n' 2>/dev/null
}
sk_wait_for "[ \$(dlq | wc -l) -ge $expected ]" 60 ||
    sk_fail "expected $expected dead letters, got $(dlq | wc -l)"
dlq >"$T/dlq.tsv"
sk_assert_eq "$expected" "$(wc -l <"$T/dlq.tsv")" "dead letters"

while IFS=$'\t' read -r reason key hex; do
    line=$(grep -F "reason=$reason," "$T/dlq.tsv") ||
        sk_fail "no dead letter with reason=$reason"
    sk_assert_eq 1 "$(printf '%s\n' "$line" | wc -l)" "dead letters for $reason"
    sk_assert_eq "$key" "$(printf '%s' "$line" | cut -f1)" "key of the $reason dead letter"
    sk_assert_eq "$((${#hex} / 2))" "$(printf '%s' "$line" | cut -f2)" \
        "size of the $reason dead letter (original bytes)"
    for h in error= source.topic=telemetry source.partition= source.offset=; do
        sk_assert_contains "$line" "$h" "headers of the $reason dead letter"
    done
done <"$T/bad.tsv"

# The original bytes, exactly (the one dead letter whose bytes are text).
payload=$(kcat -C -b "$SK_BROKERS" -t scorekeeper.dlq -e -q -f '%h\t%s\n' 2>/dev/null |
    grep -a '^reason=bad_msgpack,' | cut -f2)
sk_assert_eq "not msgpack at all" "$payload" "payload of the bad_msgpack dead letter"

# Still running, and the good events on both sides were applied.
kill -0 "$SK_DAEMON_PID" 2>/dev/null || sk_fail "scorekeeperd died on bad input"
sk_wait_for "[ \"\$(sk_field events_applied dlq-co)\" = 2 ]" 30 ||
    sk_fail "the good events were not both applied: events_applied=$(sk_field events_applied dlq-co)"

# A flood of bad messages is rate-limited in the log: a few lines per
# second, then one summary line with the count of those not logged.
summaries=$(grep -c 'more messages dead-lettered than logged' "$SK_DAEMON_LOG")
for i in $(seq 40); do echo 6e6f; done | "$SK" produce --brokers "$SK_BROKERS" \
    --topic telemetry --hex --key dlq-co 2>>"$T/produce.log" ||
    sk_fail "produce of the flood failed"
sk_wait_for "[ \$(grep -c 'more messages dead-lettered than logged' '$SK_DAEMON_LOG') -gt $summaries ]" 30 ||
    sk_fail "no rate-limit summary in the log after the flood"

sk_daemon_stop
total=$((expected + 40))
sk_assert_eq "$total" "$(sk_daemon_figure dead_lettered)" "dead-lettered figure"
sk_assert_eq 2 "$(sk_daemon_figure applied)" "applied figure"
logged=$(grep -c 'msg="message dead-lettered"' "$SK_DAEMON_LOG")
held=$(grep -o 'not_logged=[0-9]*' "$SK_DAEMON_LOG" | cut -d= -f2 | awk '{s += $1} END {print s + 0}')
[ "$logged" -lt "$total" ] || sk_fail "all $logged dead letters were logged: no rate limit"
sk_assert_eq "$total" "$((logged + held))" "dead letters logged plus those counted in summaries"
sk_figures "reasons=$expected logged=$logged"
sk_pass "one dead letter per bad message, with its reason; the daemon kept going"
