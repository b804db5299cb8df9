# test_replay.sh - `scorekeeper replay` rebuilds state into a fresh prefix.
#
# The demo scenario goes through scorekeeperd under the production prefix
# (sk) and its alerts are published.  Then:
#   - replay --from-beginning into a new prefix exits 0 with a summary,
#     and every account there scores exactly as under sk (`scorekeeper
#     show --now`), with the same events applied; nothing new appears on
#     the alerts or dead-letter topics, and sk is untouched;
#   - a second replay into a prefix that holds accounts (the new one, or
#     sk) is refused;
#   - replay --from-offset K consumes exactly the messages at or after K
#     of each partition (counted with kcat);
#   - replay --from-timestamp fails clearly against the mock cluster,
#     which cannot look up offsets by time, and writes nothing;
#   - usage errors: no prefix, two start positions.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq kcat redis-server redis-cli
T=$(sk_tmpdir)
sk_start_redis
sk_start_mock

"$SK" sample --now 2026-11-05T10:00:00Z --seed 11 >"$T/events.jsonl" ||
    sk_fail "scorekeeper sample failed"
NOW=$(sk_iso "$(sk_latest_ts "$T/events.jsonl")")
sk_clock_set "$NOW"
sk_offline_scores "$T/events.jsonl" "$NOW" "$T/offline.jsonl"
jq -c 'select(.account == "dunmore")' "$T/events.jsonl" >"$T/billing.jsonl"
jq -c 'select(.account != "dunmore")' "$T/events.jsonl" >"$T/telemetry.jsonl"
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/telemetry.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce to telemetry failed"
"$SK" produce --brokers "$SK_BROKERS" --topic billing "$T/billing.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce to billing failed"
echo 6e6f | "$SK" produce --brokers "$SK_BROKERS" --topic telemetry --hex \
    --key replay-bad 2>>"$T/produce.log" || sk_fail "produce of a bad message failed"
TOTAL=$(($(wc -l <"$T/events.jsonl") + 1))

sk_daemon_start production --backfill-horizon off
sk_wait_parity "$T/offline.jsonl" "$NOW" 120
sk_daemon_stop
count_topic() { kcat -C -b "$SK_BROKERS" -t "$1" -e -q -f 'x\n' 2>/dev/null | wc -l; }
alerts_before=$(count_topic alerts)
dlq_before=$(count_topic scorekeeper.dlq)
[ "$alerts_before" -gt 0 ] || sk_fail "the production run published no alert"
sk_assert_eq 1 "$dlq_before" "dead letters of the production run"
sk_redis_cli --scan --pattern 'sk:*' | sort >"$T/sk-keys.before"
# shellcheck disable=SC2046 # one word per account id
sk_field gen $(jq -r .account "$T/offline.jsonl") >"$T/sk-gens.before"

KAFKA=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 -X fetch.wait.max.ms=10)
replay() { "$SK" replay --brokers "$SK_BROKERS" --redis "$SK_REDIS_ADDR" \
    --rules "$SK_DAEMON_RULES" --allow-root "${KAFKA[@]}" "$@"; }

# --- from the beginning, into a fresh prefix -------------------------------
status=0
replay --prefix rebuilt --from-beginning >"$T/replay.out" 2>"$T/replay.log" || status=$?
sk_assert_eq 0 "$status" "replay --from-beginning exit status"
sk_assert_contains "$(cat "$T/replay.out")" "caught up" "replay summary"
sk_assert_contains "$(cat "$T/replay.out")" "consumed $TOTAL," "replay summary: consumed"
sk_assert_contains "$(cat "$T/replay.out")" "dead letters 1 (not published)" "replay summary: dead letters"
sk_assert_contains "$(cat "$T/replay.out")" "telemetry/0: from the beginning to offset" "replay summary: partitions"

for a in $(jq -r .account "$T/offline.jsonl"); do
    for p in sk rebuilt; do
        "$SK" show "$a" --redis "$SK_REDIS_ADDR" --prefix "$p" --rules "$SK_DAEMON_RULES" \
            --now "$NOW" --json >"$T/show-$p.json" || sk_fail "show $a under $p failed"
    done
    cmp -s <(jq -S . "$T/show-sk.json") <(jq -S . "$T/show-rebuilt.json") || {
        diff <(jq -S . "$T/show-sk.json") <(jq -S . "$T/show-rebuilt.json") | head -20 >&2
        sk_fail "account $a under the rebuilt prefix differs from production"
    }
    for f in events_applied points; do
        sk_assert_eq "$(sk_field $f "$a")" \
            "$(sk_field $f "$a" --prefix rebuilt)" "$f of $a"
    done
done
sk_assert_eq "$(sk_redis_cli ZCARD sk:idx:score)" "$(sk_redis_cli ZCARD rebuilt:idx:score)" \
    "accounts in the score index"
sk_assert_eq "$alerts_before" "$(count_topic alerts)" "alerts published by the replay"
sk_assert_eq "$dlq_before" "$(count_topic scorekeeper.dlq)" "dead letters published by the replay"
sk_redis_cli --scan --pattern 'sk:*' | sort >"$T/sk-keys.after"
cmp -s "$T/sk-keys.before" "$T/sk-keys.after" || sk_fail "the replay changed keys under sk"
# shellcheck disable=SC2046 # one word per account id
sk_field gen $(jq -r .account "$T/offline.jsonl") >"$T/sk-gens.after"
cmp -s "$T/sk-gens.before" "$T/sk-gens.after" || sk_fail "the replay wrote accounts under sk"

# --- refused: a prefix that holds accounts ---------------------------------
for p in rebuilt sk; do
    status=0
    replay --prefix "$p" --from-beginning >/dev/null 2>"$T/refused.log" || status=$?
    sk_assert_eq 1 "$status" "replay into $p (not empty)"
    sk_assert_contains "$(cat "$T/refused.log")" "already holds accounts" "refusal message for $p"
done

# --- from an offset ---------------------------------------------------------
K=20
want=0
for topic in telemetry billing; do
    for p in 0 1 2 3 4 5; do
        n=$(kcat -C -b "$SK_BROKERS" -t "$topic" -p "$p" -o "$K" -e -q -f '%o\n' 2>/dev/null | wc -l)
        want=$((want + n))
    done
done
[ "$want" -gt 0 ] && [ "$want" -lt "$TOTAL" ] || sk_fail "offset $K selects $want of $TOTAL messages"
status=0
replay --prefix partial --from-offset "$K" >"$T/partial.out" 2>"$T/partial.log" || status=$?
sk_assert_eq 0 "$status" "replay --from-offset exit status"
sk_assert_contains "$(cat "$T/partial.out")" "consumed $want," "messages consumed from offset $K"
grep -q "from offset $K to" "$T/partial.out" || sk_fail "no partition started at offset $K"

# --- from a time: the mock cannot answer ---------------------------------------
status=0
replay --prefix bytime --from-timestamp 2026-10-01T00:00:00Z >"$T/bytime.out" \
    2>"$T/bytime.log" || status=$?
sk_assert_eq 2 "$status" "replay --from-timestamp against the mock"
grep -q 'cannot look up offsets by time' "$T/bytime.log" ||
    { tail -5 "$T/bytime.log" >&2; sk_fail "no clear message for offsets by time"; }
sk_assert_eq 0 "$(sk_redis_cli ZCARD bytime:idx:score)" "accounts written by the failed replay"

# --- usage ----------------------------------------------------------------------
status=0
replay --from-beginning >/dev/null 2>&1 || status=$?
sk_assert_eq 2 "$status" "replay without --prefix"
status=0
replay --prefix x --from-beginning --from-offset 3 >/dev/null 2>&1 || status=$?
sk_assert_eq 2 "$status" "replay with two start positions"

sk_figures "messages=$TOTAL from_offset_$K=$want accounts=$(sk_redis_cli ZCARD rebuilt:idx:score)"
sk_pass "replay rebuilt production state in a fresh prefix, and published nothing"
