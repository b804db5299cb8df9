# test_cli_ops.sh - the operations commands against the mock cluster and
# a redis-server: `scorekeeper lag` reports the offsets a group committed,
# `scorekeeper dlq` shows dead letters with their headers, `dlq redrive`
# puts their exact bytes and key back on their source partition and
# commits only what it delivered, and `scorekeeper forget` erases an
# account from its hash and every index without touching the others.
. "$(dirname "$0")/lib.sh"

sk_require jq kcat redis-cli
SK=$SK_BIN/scorekeeper
T=$(sk_tmpdir)
sk_start_mock
sk_start_redis
B=$SK_BROKERS

# ---- lag --------------------------------------------------------------------

# round 1: p+1 messages on each partition p of telemetry
for p in 0 1 2 3 4 5; do
    for ((i = 0; i <= p; i++)); do echo "k$p-$i:round1"; done |
        kcat -P -b "$B" -t telemetry -p "$p" -K: || sk_fail "kcat produce"
done
# group g1 reads all of it and commits on exit
kcat -C -b "$B" -G lag-g1 -X auto.offset.reset=earliest -X session.timeout.ms=6000 \
    -e -q -f '%p\n' telemetry >"$T/g1.txt" 2>"$T/kcat-g1.log" ||
    sk_fail "kcat -G consume"
sk_assert_eq 21 "$(wc -l <"$T/g1.txt")" "messages group lag-g1 consumed"
# round 2: 2 more on partition 1, 3 more on partition 4
for i in 1 2; do echo "k1-x$i:round2"; done | kcat -P -b "$B" -t telemetry -p 1 -K:
for i in 1 2 3; do echo "k4-x$i:round2"; done | kcat -P -b "$B" -t telemetry -p 4 -K:

"$SK" lag --brokers "$B" --group lag-g1 --topics telemetry >"$T/lag.txt" 2>"$T/lag.log"
sk_assert_eq 0 $? "lag status"
# lag_row PARTITION [FILE]: current, log end and lag of telemetry [PARTITION]
lag_row()
{
    awk -v p="$1" '$1 == "telemetry" && $2 == p { print $3, $4, $5 }' "${2:-$T/lag.txt}"
}
sk_assert_eq "1 1 0" "$(lag_row 0)" "partition 0: current, log end, lag"
sk_assert_eq "2 4 2" "$(lag_row 1)" "partition 1: current, log end, lag"
sk_assert_eq "5 8 3" "$(lag_row 4)" "partition 4: current, log end, lag"
sk_assert_eq "6 6 0" "$(lag_row 5)" "partition 5: current, log end, lag"
sk_assert_eq "TOTAL 5" "$(awk '$1 == "TOTAL" { print $1, $NF }' "$T/lag.txt")" "total line"
head -1 "$T/lag.txt" | grep -q 'TOPIC *PARTITION *CURRENT-OFFSET *LOG-END-OFFSET *LAG' ||
    sk_fail "lag header: $(head -1 "$T/lag.txt")"

"$SK" lag --brokers "$B" --group lag-g1 --topics telemetry --json >"$T/lag.json" ||
    sk_fail "lag --json failed"
sk_assert_eq 5 "$(jq '.total_lag' "$T/lag.json")" "JSON total"
sk_assert_eq 6 "$(jq '.partitions | length' "$T/lag.json")" "JSON rows"
sk_assert_eq '2 4 2' "$(jq -r '.partitions[] | select(.partition == 1) |
    "\(.current_offset) \(.log_end_offset) \(.lag)"' "$T/lag.json")" "JSON row of partition 1"
sk_assert_eq 5 "$(jq '[.partitions[].lag] | add' "$T/lag.json")" "JSON rows add up to the total"

# a group that never committed: "-", and lag from the low watermark
"$SK" lag --brokers "$B" --group never-ran >"$T/lag0.txt" || sk_fail "lag of an unknown group"
sk_assert_eq "- 4 4" "$(lag_row 1 "$T/lag0.txt")" "no committed offset"
grep -q '^billing ' "$T/lag0.txt" || sk_fail "default topics include billing"
sk_assert_eq 26 "$(awk '$1 == "TOTAL" { print $NF }' "$T/lag0.txt")" "total without offsets"
# asking changed nothing: lag-g1 still has the same offsets
"$SK" lag --brokers "$B" --group lag-g1 --topics telemetry --json |
    cmp -s - "$T/lag.json" || sk_fail "a second lag run saw different offsets"

"$SK" lag >/dev/null 2>&1
sk_assert_eq 2 $? "lag without --brokers"
"$SK" lag --brokers "$B" extra >/dev/null 2>&1
sk_assert_eq 2 $? "lag with an extra argument"
"$SK" lag --help | grep -q "usage: scorekeeper lag" || sk_fail "lag --help"

# ---- dlq: inspect -------------------------------------------------------------

printf '{"broken' >"$T/v1.bin"
printf '\203\241a\001\377\000\n' >"$T/v2.bin" # msgpack-ish bytes with NUL and newline
printf 'no source' >"$T/v3.bin"
kcat -P -b "$B" -t scorekeeper.dlq -k acme -H reason=bad_json \
    -H 'error=unexpected end of "input"' -H source.topic=telemetry \
    -H source.partition=2 -H source.offset=7 "$T/v1.bin" || sk_fail "dead letter 1"
kcat -P -b "$B" -t scorekeeper.dlq -k globex -H reason=bad_msgpack -H error=truncated \
    -H source.topic=billing -H source.partition=4 -H source.offset=11 "$T/v2.bin" ||
    sk_fail "dead letter 2"
kcat -P -b "$B" -t scorekeeper.dlq -H reason=bad_json "$T/v3.bin" || sk_fail "dead letter 3"

"$SK" dlq --brokers "$B" --from-beginning --idle-exit 3 --json >"$T/dlq.jsonl" 2>"$T/dlq.log"
sk_assert_eq 0 $? "dlq status"
sk_assert_eq 3 "$(wc -l <"$T/dlq.jsonl")" "dead letters printed"
sk_assert_eq 'bad_json|unexpected end of "input"|telemetry|2|7|acme|{"broken' \
    "$(jq -r 'select(.offset == 0) | [.reason, .error, .source_topic, .source_partition,
        .source_offset, .key, .value] | join("|")' "$T/dlq.jsonl")" "dead letter 1 fields"
sk_assert_eq "$(od -An -v -tx1 "$T/v2.bin" | tr -d ' \n')" \
    "$(jq -r 'select(.offset == 1) | .value_hex' "$T/dlq.jsonl")" "binary value as hex"
sk_assert_eq null "$(jq -c 'select(.offset == 1) | .value' "$T/dlq.jsonl")" "no text value for bytes"
sk_assert_eq 'null null' "$(jq -r 'select(.offset == 2) | "\(.source_topic) \(.key)"' "$T/dlq.jsonl")" \
    "absent headers and key"

"$SK" dlq --brokers "$B" --from-beginning --idle-exit 3 --reason bad_msgpack \
    >"$T/dlq.txt" 2>"$T/dlq-text.log" || sk_fail "dlq --reason failed"
sk_assert_eq 1 "$(wc -l <"$T/dlq.txt")" "one dead letter of reason bad_msgpack"
line=$(cat "$T/dlq.txt")
sk_assert_contains "$line" 'reason="bad_msgpack"' "text reason"
sk_assert_contains "$line" 'source=billing[4]@11' "text source"
sk_assert_contains "$line" "value=hex:$(od -An -v -tx1 "$T/v2.bin" | tr -d ' \n')" "text value"
sk_assert_contains "$(cat "$T/dlq-text.log")" "2 of other reasons left out" "filter summary"

# ---- dlq redrive --------------------------------------------------------------

end_of()
{
    kcat -Q -b "$B" -t "$1:$2:-1" 2>/dev/null | awk '{ print $NF }'
}
tel2_before=$(end_of telemetry 2)
bil4_before=$(end_of billing 4)
[ -n "$tel2_before" ] && [ -n "$bil4_before" ] || sk_fail "kcat -Q gave no end offsets"

"$SK" dlq redrive --brokers "$B" >"$T/redrive.txt" 2>"$T/redrive.log"
sk_assert_eq 3 $? "redrive status with a dead letter without a source"
sk_assert_contains "$(cat "$T/redrive.txt")" "2 dead letters re-driven, 1 skipped" "redrive summary"
sk_assert_contains "$(cat "$T/redrive.log")" "@2: no source.topic header" "skip reported"
sk_assert_eq $((tel2_before + 1)) "$(end_of telemetry 2)" "one message back on telemetry [2]"
sk_assert_eq $((bil4_before + 1)) "$(end_of billing 4)" "one message back on billing [4]"
kcat -C -b "$B" -t telemetry -p 2 -o -1 -e -q -f '%s' >"$T/back1.bin"
cmp -s "$T/v1.bin" "$T/back1.bin" || sk_fail "telemetry [2] got other bytes"
kcat -C -b "$B" -t billing -p 4 -o -1 -e -q -f '%s' >"$T/back2.bin"
cmp -s "$T/v2.bin" "$T/back2.bin" || sk_fail "billing [4] got other bytes: $(od -An -tx1 "$T/back2.bin")"
sk_assert_eq "globex redriven.from=scorekeeper.dlq/0/1" \
    "$(kcat -C -b "$B" -t billing -p 4 -o -1 -e -q -f '%k %h')" "key and header"

# the group's offsets were committed: a second run re-drives nothing
"$SK" dlq redrive --brokers "$B" --json >"$T/redrive2.json" 2>/dev/null
sk_assert_eq 0 $? "second redrive status"
sk_assert_eq 0 "$(jq .redriven "$T/redrive2.json")" "nothing re-driven twice"
sk_assert_eq $((tel2_before + 1)) "$(end_of telemetry 2)" "telemetry [2] unchanged"
sk_assert_eq "3 0" "$("$SK" lag --brokers "$B" --group scorekeeper-redrive --topics scorekeeper.dlq --json |
    jq -r '"\(.partitions[0].current_offset) \(.total_lag)"')" "redrive group committed past every dead letter"

# --reason: a group of its own, the other reasons passed over
kcat -P -b "$B" -t scorekeeper.dlq -k initech -H reason=late -H source.topic=telemetry \
    -H source.partition=0 -H source.offset=1 "$T/v3.bin" || sk_fail "dead letter 4"
tel0_before=$(end_of telemetry 0)
"$SK" dlq redrive --brokers "$B" --reason late --json >"$T/late.json" 2>/dev/null
sk_assert_eq 0 $? "redrive --reason status"
sk_assert_eq "1 3 scorekeeper-redrive.late" \
    "$(jq -r '"\(.redriven) \(.skipped_other_reason) \(.group)"' "$T/late.json")" "--reason counts"
sk_assert_eq $((tel0_before + 1)) "$(end_of telemetry 0)" "late dead letter back on telemetry [0]"

# --to: another topic, partitioned by key
alerts_before=$(kcat -C -b "$B" -t alerts -o beginning -e -q -f 'x\n' | wc -l)
"$SK" dlq redrive --brokers "$B" --group to-alerts --reason bad_msgpack --to alerts \
    >"$T/to.txt" 2>/dev/null
sk_assert_eq 0 $? "redrive --to status"
kcat -C -b "$B" -t alerts -o -1 -e -q -f '%s' >"$T/back-to.bin"
cmp -s "$T/v2.bin" "$T/back-to.bin" || sk_fail "--to topic got other bytes"
sk_assert_eq $((alerts_before + 1)) "$(kcat -C -b "$B" -t alerts -o beginning -e -q -f 'x\n' | wc -l)" \
    "one message on the --to topic"

"$SK" dlq redrive --brokers "$B" --to scorekeeper.dlq >/dev/null 2>&1
sk_assert_eq 2 $? "redrive into the dead-letter topic"
"$SK" dlq redrive --brokers "$B" --idle-exit soon >/dev/null 2>&1
sk_assert_eq 2 $? "bad --idle-exit"
"$SK" dlq --brokers "$B" redrive >/dev/null 2>&1
sk_assert_eq 2 $? "subcommand after the options"
"$SK" dlq --help | grep -q "usage: scorekeeper dlq" || sk_fail "dlq --help"
"$SK" dlq redrive --help | grep -q "usage: scorekeeper dlq redrive" || sk_fail "dlq redrive --help"

# ---- forget -------------------------------------------------------------------

flags="missed_meetings unanswered_outreach qbr_declined usage_drop exec_silent
no_login_30d payment_failures cancellation_intent detractor single_threaded
slow_response tactical_only"
tiers="at_risk watch growth healthy"
# acme is in every index (as stale entries after a crash could leave it),
# other in some of them; both are in every hash of their bucket
bucket() { sk_field bucket "$2" --prefix "$1"; }
store()
{
    local prefix=$1 id=$2 k b
    b=$(bucket "$prefix" "$id")
    sk_redis_cli HSET "$b:state" "$id" blob >/dev/null
    sk_redis_cli HSET "$b:gen" "$id" 7 >/dev/null
    sk_redis_cli HSET "$b:outbox" "$id" pending >/dev/null
    sk_redis_cli HSET "$b:scores" "$id" \
        '{"health":"watch","updated_at":"2026-11-05T10:00:00Z","events_applied":42}' >/dev/null
    sk_redis_cli ZADD "$prefix:idx:score" 55 "$id" >/dev/null
    sk_redis_cli ZADD "$prefix:due" 1000 "$id" >/dev/null
    for k in $tiers; do sk_redis_cli ZADD "$prefix:idx:health:$k" 55 "$id" >/dev/null; done
    for k in $flags; do sk_redis_cli ZADD "$prefix:idx:flag:$k" 55 "$id" >/dev/null; done
}
store sk acme
store sk other
store t1 acme
sk_redis_cli CONFIG RESETSTAT >/dev/null
ACME=$(bucket sk acme)
stored() { sk_redis_cli HEXISTS "$1:state" "$2"; }

"$SK" forget acme --redis "$SK_REDIS_ADDR" </dev/null >/dev/null 2>"$T/forget-refused.log"
sk_assert_eq 2 $? "forget without --yes and without a terminal"
sk_assert_contains "$(cat "$T/forget-refused.log")" "without --yes" "refusal says why"
sk_assert_eq 1 "$(stored "$ACME" acme)" "nothing erased when refused"

if command -v script >/dev/null 2>&1; then
    echo not-acme | script -qec "'$SK' forget acme --redis $SK_REDIS_ADDR" /dev/null \
        >"$T/forget-tty.txt" 2>&1
    sk_assert_eq 1 $? "forget with a wrong confirmation"
    sk_assert_contains "$(cat "$T/forget-tty.txt")" "sk:idx:flag:tactical_only" "confirmation lists the keys"
    sk_assert_contains "$(cat "$T/forget-tty.txt")" "42 events applied, health watch" "confirmation shows the account"
    sk_assert_eq 1 "$(stored "$ACME" acme)" "nothing erased when not confirmed"
fi

"$SK" forget acme --redis "$SK_REDIS_ADDR" --yes >"$T/forget.txt" 2>"$T/forget.log"
sk_assert_eq 0 $? "forget status"
out=$(cat "$T/forget.txt")
sk_assert_contains "$out" "removed from $ACME:state" "state reported"
sk_assert_contains "$out" "removed from $ACME:outbox" "outbox reported"
sk_assert_contains "$out" "removed from sk:idx:flag:no_login_30d" "flag index reported"
sk_assert_contains "$out" "removed from sk:due" "due schedule reported"
sk_assert_contains "$out" "Kafka topics telemetry, billing" "event topics named"
sk_assert_contains "$out" "published to alerts" "alerts topic named"
for h in state gen scores outbox; do
    sk_assert_eq 0 "$(sk_redis_cli HEXISTS "$ACME:$h" acme)" "acme erased from $h"
done
for key in sk:idx:score sk:due $(for k in $tiers; do echo "sk:idx:health:$k"; done) \
    $(for k in $flags; do echo "sk:idx:flag:$k"; done); do
    sk_assert_eq "" "$(sk_redis_cli ZSCORE "$key" acme)" "acme left in $key"
    [ -n "$(sk_redis_cli ZSCORE "$key" other)" ] || sk_fail "other lost from $key"
done
sk_assert_eq 1 "$(stored "$(bucket sk other)" other)" "other's state kept"
sk_assert_eq 1 "$(stored "$(bucket t1 acme)" acme)" "another prefix untouched"
sk_assert_eq 0 "$(sk_redis_cli INFO commandstats | grep -c -E '^cmdstat_(keys|scan):')" \
    "no KEYS or SCAN"

"$SK" forget acme --redis "$SK_REDIS_ADDR" --prefix t1 --yes --json >"$T/forget.json" 2>/dev/null
sk_assert_eq 0 $? "forget --prefix --json status"
sk_assert_eq "$((4 + 2 + 4 + 12))" "$(jq '.erased | length' "$T/forget.json")" "every key of t1 erased"
sk_assert_eq 0 "$(stored "$(bucket t1 acme)" acme)" "t1 state erased"

"$SK" forget acme --redis "$SK_REDIS_ADDR" --yes >"$T/again.txt" 2>/dev/null
sk_assert_eq 0 $? "forget of an absent account"
sk_assert_contains "$(cat "$T/again.txt")" "Nothing stored for account acme" "absent account"
"$SK" forget 'no spaces' --redis "$SK_REDIS_ADDR" --yes >/dev/null 2>&1
sk_assert_eq 2 $? "invalid account id"
"$SK" forget --help | grep -q "usage: scorekeeper forget" || sk_fail "forget --help"

sk_pass
