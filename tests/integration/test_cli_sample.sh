# test_cli_sample.sh - `scorekeeper sample`: deterministic, valid, in time
# order, unique ids, and each account's story ends where it says it does
# when scored offline (`scorekeeper score --now`), for several seeds.
. "$(dirname "$0")/lib.sh"

sk_require jq
SK=$SK_BIN/scorekeeper
RULES=$SK_SOURCE_DIR/deploy/rules.yaml
NOW=2026-11-05T10:00:00Z
T=$(sk_tmpdir)

"$SK" sample --now "$NOW" >"$T/a.jsonl" || sk_fail "sample failed"
"$SK" sample --now "$NOW" >"$T/b.jsonl" || sk_fail "sample failed"
cmp -s "$T/a.jsonl" "$T/b.jsonl" || sk_fail "same --now and seed, different output"
"$SK" sample --now "$NOW" --seed 7 >"$T/c.jsonl" || sk_fail "sample --seed 7 failed"
cmp -s "$T/a.jsonl" "$T/c.jsonl" && sk_fail "--seed changed nothing"

lines=$(wc -l <"$T/a.jsonl")
[ "$lines" -ge 300 ] || sk_fail "only $lines events"
sk_assert_eq "$lines" "$(jq -r .id "$T/a.jsonl" | sort -u | wc -l)" "unique ids"
sk_assert_eq "bluebird cobalt dunmore evergreen fjord granite harbor northwind" \
    "$(jq -r .account "$T/a.jsonl" | sort -u | tr '\n' ' ' | sed 's/ $//')" "accounts"

# time order, and every event inside the 60 days before now's date
now_ms=$(($(date -u -d "$NOW" +%s) * 1000))
day_ms=86400000
today=$((now_ms / day_ms * day_ms))
jq -r .ts "$T/a.jsonl" >"$T/ts"
sort -n -c "$T/ts" || sk_fail "events are not in time order"
first=$(head -n1 "$T/ts")
last=$(tail -n1 "$T/ts")
[ "$last" -lt "$today" ] || sk_fail "an event on or after now's date ($last)"
[ "$first" -ge $((today - 60 * day_ms)) ] || sk_fail "an event before the 60 days ($first)"

# billing events exist for the demo's routing
grep -q '"type":"payment_failed"' "$T/a.jsonl" || sk_fail "no payment_failed"
grep -q '"type":"renewal"' "$T/a.jsonl" || sk_fail "no renewal"

check_stories()
{
    local file=$1 out=$2
    "$SK" score --rules "$RULES" --now "$NOW" "$file" >"$out" ||
        sk_fail "score rejected the sample (status $?)"
    flags() { jq -r --arg a "$1" 'select(.account == $a) | [.flags[].id] | join(",")' "$out"; }
    field() { jq -r --arg a "$1" "select(.account == \$a) | $2" "$out"; }

    sk_assert_contains "$(flags bluebird)" no_login_30d "bluebird goes silent"
    sk_assert_contains "$(flags bluebird)" usage_drop "bluebird's usage drops"
    sk_assert_eq missed_meetings "$(flags cobalt)" "cobalt misses meetings"
    sk_assert_eq payment_failures "$(flags dunmore)" "dunmore's payments fail"
    sk_assert_eq "" "$(flags evergreen)" "evergreen recovered"
    sk_assert_eq "" "$(flags fjord)" "fjord has no flag"
    sk_assert_eq upsell_candidate "$(field fjord .customer.segment)" "fjord's segment"
    sk_assert_eq growth "$(field fjord .health.tier)" "fjord's health"
    sk_assert_contains "$(flags granite)" detractor "granite is a detractor"
    sk_assert_contains "$(flags granite)" unanswered_outreach "granite ignores outreach"
    sk_assert_eq single_threaded "$(flags harbor)" "harbor is single-threaded"
    sk_assert_eq "" "$(flags northwind)" "northwind has no flag"
    [ "$(field northwind .stage)" -ge 2000 ] || sk_fail "northwind below stage 2000"
    [ "$(field bluebird .customer.score | cut -d. -f1)" -lt 50 ] ||
        sk_fail "bluebird's customer score is not below 50"
}
check_stories "$T/a.jsonl" "$T/a.scores"
check_stories "$T/c.jsonl" "$T/c.scores"
"$SK" sample --now 2026-03-01T23:59:59Z --seed 12345 >"$T/d.jsonl" || sk_fail "sample failed"
NOW=2026-03-01T23:59:59Z check_stories "$T/d.jsonl" "$T/d.scores"

# the alerts tell the stories too: northwind climbs, evergreen clears
"$SK" score --rules "$RULES" --now "$NOW" --alerts "$T/a.jsonl" >"$T/a.alerts" ||
    sk_fail "score --alerts failed"
stages=$(jq -r 'select(.account == "northwind" and .kind == "stage_crossed") | .to' "$T/a.alerts" | tr '\n' ' ')
sk_assert_eq "100 500 1000 2000 " "$stages" "northwind's stage alerts"
for f in detractor unanswered_outreach; do
    kinds=$(jq -r --arg f $f 'select(.account == "evergreen" and .flag == $f) | .kind' "$T/a.alerts" | tr '\n' ' ')
    sk_assert_eq "flag_raised flag_cleared " "$kinds" "evergreen's $f"
done

# usage errors
"$SK" sample --now yesterday >/dev/null 2>&1
sk_assert_eq 2 $? "bad --now"
"$SK" sample --seed -3 >/dev/null 2>&1
sk_assert_eq 2 $? "negative seed"
sk_assert_contains "$("$SK" sample --help)" "usage: scorekeeper sample" "--help"

sk_figures "events=$lines"
sk_pass
