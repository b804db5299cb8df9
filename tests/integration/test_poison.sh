# test_poison.sh - hostile input does not hurt the daemon: 10,000
# malformed messages interleaved with good events, ten rounds of them:
# truncated events, lying length prefixes (dd ff 00 00 00), arrays
# nested 1000 deep, invalid UTF-8, NaN and infinities, hostile account
# ids ({ }, spaces, control bytes, overlong, empty), keys that are not
# the event's account, oversize messages, too many keys, unknown types
# and versions, missing fields.  The daemon must not crash, its memory
# must stay flat (RSS after the last round within 16 MiB of the RSS
# after the first), every malformed message must be on the dead-letter
# topic exactly once with its reason (counted by reason header), and
# every good event must be applied: the final state and alert ids equal
# the single pass over the good events.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

sk_require jq python3 redis-server redis-cli split timeout
ROUNDS=10
sk_start_redis
sk_fault_mock
sk_fault_events 5000 200 808 10

# One file of hex messages per round, and the expected count per reason.
python3 - "$FT_DIR" "$ROUNDS" <<'PYEOF' || sk_fail "cannot build the malformed messages"
import math, struct, sys
out, rounds = sys.argv[1], int(sys.argv[2])
NOW = 1793872800000  # 2026-11-05T10:00:00Z

def enc(o):
    if o is None: return b"\xc0"
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
        n = len(o)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
        return head + b"".join(enc(k) + enc(v) for k, v in o.items())
    raise TypeError(o)

def ev(key, i, **kw):
    e = {"v": 1, "id": "bad-%d" % i, "account": key, "type": "usage",
         "ts": NOW - 86400000 - i, "value": 10, "user": "u@x.example"}
    e.update(kw)
    return {k: v for k, v in e.items() if v is not None}

# (reason, share of a round of 1000, maker(key, i) -> bytes)
kinds = [
    ("bad_msgpack", 150, lambda k, i: enc(ev(k, i))[: 1 + i % 40]),
    ("bad_msgpack", 100, lambda k, i: b"\xdd\xff\x00\x00\x00"),
    ("too_large", 50, lambda k, i: b"\x91" * 1000 + b"\xc0"),
    ("bad_string", 100, lambda k, i: enc(ev(k, i, user=b"\xff\xfe\xc0\xaf"))),
    ("bad_value", 100, lambda k, i: enc(ev(k, i, value=float("nan")))),
    ("bad_value", 50, lambda k, i: enc(ev(k, i, value=float("inf") * (1 if i % 2 else -1)))),
    ("bad_account", 40, lambda k, i: enc(ev(k, i, account="{acme}"))),
    ("bad_account", 40, lambda k, i: enc(ev(k, i, account="acme corp"))),
    ("bad_account", 40, lambda k, i: enc(ev(k, i, account="ac\x01me\x7f"))),
    ("bad_account", 40, lambda k, i: enc(ev(k, i, account="a" * 200))),
    ("bad_account", 40, lambda k, i: enc(ev(k, i, account=""))),
    ("bad_account", 50, lambda k, i: enc(ev("someone-else", i))),
    ("too_large", 10, lambda k, i: enc(ev(k, i, label="x" * 17000))),
    ("too_large", 40, lambda k, i: enc(dict(ev(k, i), **{"k%02d" % j: 1 for j in range(65)}))),
    ("unknown_type", 50, lambda k, i: enc(ev(k, i, type="teleport"))),
    ("bad_version", 50, lambda k, i: enc(ev(k, i, v=2))),
    ("missing_field", 50, lambda k, i: enc(ev(k, i, ts=None))),
]
assert sum(n for _, n, _ in kinds) == 1000
counts = {}
i = 0
for r in range(rounds):
    key = "poison-%d" % r
    with open("%s/poison.%02d.hex" % (out, r), "w") as f:
        for n in range(1000):
            # spread the kinds through the round
            slot = (n * 7919) % 1000
            for reason, share, make in kinds:
                if slot < share:
                    break
                slot -= share
            f.write(make(key, i).hex() + "\n")
            counts[reason] = counts.get(reason, 0) + 1
            i += 1
with open("%s/poison.expected" % out, "w") as f:
    for reason in sorted(counts):
        f.write("%s %d\n" % (reason, counts[reason]))
PYEOF
BAD=$((ROUNDS * 1000))
split -n "l/$ROUNDS" -d -a 2 "$FT_DIR/events.jsonl" "$FT_DIR/good."

# Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
# default), which RSS would show as growth: keep it small here.
if ldd "$SKD" 2>/dev/null | grep -q libasan; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1:thread_local_quarantine_size_kb=64
fi
sk_daemon_start daemon --backfill-horizon off
rss=()
r=0
for good in "$FT_DIR"/good.*; do
    "$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$good" \
        2>>"$FT_DIR/produce.log" || sk_fail "producing good events failed"
    "$SK" produce --brokers "$SK_BROKERS" --topic telemetry --hex --key "poison-$r" \
        "$FT_DIR/poison.$(printf %02d "$r").hex" 2>>"$FT_DIR/produce.log" ||
        sk_fail "producing round $r of malformed messages failed"
    r=$((r + 1))
    # wait for the round to be handled, then measure
    sk_wait_for "[ \$(sk_fault_applied) -ge $(cat "$FT_DIR"/good.* | head -n $((r * FT_EVENTS_IN / ROUNDS)) | wc -l) ] && [ \$(sk_fault_lag '$FT_DIR/lag-p.json') = 0 ]" 120 ||
        sk_fail "round $r was not handled"
    kill -0 "$SK_DAEMON_PID" 2>/dev/null || sk_fail "scorekeeperd died in round $r"
    rss+=("$(sk_fault_rss "$SK_DAEMON_PID")")
done
sk_log "RSS by round (KiB): ${rss[*]}"
growth=$((rss[ROUNDS - 1] - rss[0]))
[ "$growth" -le 16384 ] || sk_fail "RSS grew by $growth KiB over $((ROUNDS - 1)) rounds of malformed messages"

sk_fault_verify
"$SK" dlq --brokers "$SK_BROKERS" --from-beginning --idle-exit 3 --json \
    >"$FT_DIR/dlq.jsonl" 2>>"$FT_DIR/dlq.log" || sk_fail "scorekeeper dlq failed"
jq -r .reason "$FT_DIR/dlq.jsonl" | sort | uniq -c | awk '{print $2, $1}' >"$FT_DIR/dlq.counts"
diff "$FT_DIR/poison.expected" "$FT_DIR/dlq.counts" >&2 ||
    sk_fail "dead letters by reason differ from what was sent"
sk_assert_eq "$BAD" "$(jq -r '"\(.source_partition)/\(.source_offset)"' "$FT_DIR/dlq.jsonl" | sort -u | wc -l)" \
    "distinct malformed messages dead-lettered"
sk_assert_eq "$BAD" "$(wc -l <"$FT_DIR/dlq.jsonl")" "dead letters (each exactly once)"
sk_daemon_stop
sk_assert_eq "$BAD" "$(sk_daemon_figure dead_lettered)" "dead_lettered figure"
sk_assert_eq "$FT_EVENTS_IN" "$(sk_daemon_figure applied)" "applied figure"
sk_fault_report "malformed=$BAD reasons=$(wc -l <"$FT_DIR/poison.expected")" \
    "rss_first_kib=${rss[0]} rss_last_kib=${rss[ROUNDS - 1]} rss_growth_kib=$growth"
sk_pass "10,000 malformed messages dead-lettered with their reasons; memory flat; good events applied"
