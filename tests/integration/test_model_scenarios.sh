#!/usr/bin/env bash
# test_model_scenarios.sh - acceptance scenarios of the scoring model: what
# a user who reads MODEL.md (and the choices in schemas/model.md) expects
# `scorekeeper score` to print.  The scenarios live in
# tests/fixtures/scenarios/ (NAME.jsonl, the events; NAME.expect, the
# expectations, worked out by hand from the model); model_check.py runs
# them and checks every alert against schemas/alert.schema.json.  This
# script adds what needs several inputs or runs: invalid lines, stdin,
# interleaved against separated accounts, shuffled against time order,
# the default --now, and explain.  No servers; python3 for JSON.
#
# Ends with "N passed, M failed" and exits non-zero on any failure.
. "$(dirname "$0")/lib.sh"

sk_require python3
SK=$SK_BIN/scorekeeper
[ -x "$SK" ] || sk_fail "$SK is not built"
RULES=$SK_SOURCE_DIR/deploy/rules.yaml
SCEN=$SK_SOURCE_DIR/tests/fixtures/scenarios
CHECK=$SK_SOURCE_DIR/tests/integration/model_check.py
T=$(sk_tmpdir)
passed=0
failed=0

# ok WHAT / bad WHAT EXPECTED GOT - count one check
ok() { passed=$((passed + 1)); }
bad()
{
    failed=$((failed + 1))
    printf 'FAIL %s\n     expected: %s\n     got:      %s\n' "$1" "$2" "$3"
}
# check_eq WHAT EXPECTED GOT
check_eq()
{
    if [ "$2" = "$3" ]; then ok; else bad "$1" "$2" "$3"; fi
}

# --- 1. the scenarios -----------------------------------------------------
names=()
for f in "$SCEN"/*.expect; do
    names+=("$(basename "$f" .expect)")
done
[ ${#names[@]} -ge 10 ] || sk_fail "only ${#names[@]} scenarios in $SCEN"
python3 "$CHECK" "$SK" "$RULES" "$SCEN" "${names[@]}" >"$T/check.out" 2>&1
cat "$T/check.out"
counts=$(grep '^COUNTS ' "$T/check.out" | tail -n1)
[ -n "$counts" ] || sk_fail "model_check.py did not finish"
read -r _ p f s <<<"$counts"
passed=$((passed + p))
failed=$((failed + f))
skipped=$s

# --- 2. invalid lines: reported with their line numbers, the rest is
# processed, exit status 3 ------------------------------------------------
{
    echo '{"v":1,"id":"i-1","account":"inv-a","type":"payment_succeeded","ts":1772445600000}'
    echo '{"v":1,"id":"i-2","account":"inv-a","type":"payment_succeeded",'
    echo '{"v":2,"id":"i-3","account":"inv-a","type":"payment_succeeded","ts":1772445600000}'
    echo '{"v":1,"id":"i-4","account":"inv-b","type":"logout","ts":1772445600000}'
    echo '{"v":1,"id":"i-5","account":"inv-b","type":"usage","ts":1772445600000}'
    echo '{"v":1,"id":"i-6","account":"inv b","type":"login","ts":1772445600000}'
    echo '{"v":1,"id":"i-7","account":"inv-b","type":"payment_succeeded","ts":1772449200000}'
} >"$T/invalid.jsonl"
rc=0
"$SK" score --rules "$RULES" "$T/invalid.jsonl" >"$T/invalid.out" 2>"$T/invalid.err" || rc=$?
check_eq "invalid lines: exit status" 3 "$rc"
for n in 2 3 4 5 6; do
    if grep -Eq "(^|[^0-9])$n([^0-9]|$)" "$T/invalid.err"; then ok; else
        bad "invalid lines: stderr names line $n" "line $n" "$(cat "$T/invalid.err")"
    fi
done
for n in 1 7; do
    if grep -Eq "line $n([^0-9]|$)" "$T/invalid.err"; then
        bad "invalid lines: valid line $n is not reported" "nothing about line $n" "$(cat "$T/invalid.err")"
    else ok; fi
done
for reason in bad_json bad_version unknown_type missing_field bad_account; do
    if grep -q "$reason" "$T/invalid.err"; then ok; else
        bad "invalid lines: stderr gives the reason $reason" "$reason" "$(cat "$T/invalid.err")"
    fi
done
got=$(python3 -c 'import json,sys
print(" ".join("%s=%s" % (o["account"], o["points"]) for o in map(json.loads, sys.stdin)))' <"$T/invalid.out")
check_eq "invalid lines: the valid ones are scored" "inv-a=50 inv-b=50" "$got"
rc=0
"$SK" score --rules "$RULES" --alerts "$T/invalid.jsonl" >/dev/null 2>&1 || rc=$?
check_eq "invalid lines with --alerts: exit status" 3 "$rc"
rc=0
"$SK" score --rules "$RULES" "$SCEN/points.jsonl" >/dev/null 2>&1 || rc=$?
check_eq "a clean file: exit status" 0 "$rc"

# --- 3. stdin ('-') reads like a file -----------------------------------
NOW=2026-05-15T00:00:00Z
"$SK" score --rules "$RULES" --now "$NOW" "$SCEN/flags.jsonl" >"$T/file.out" 2>"$T/file.err"
"$SK" score --rules "$RULES" --now "$NOW" - <"$SCEN/flags.jsonl" >"$T/stdin.out" 2>"$T/stdin.err"
if cmp -s "$T/file.out" "$T/stdin.out"; then ok; else
    bad "stdin '-' gives what the file gives" "$(head -c 300 "$T/file.out")" "$(head -c 300 "$T/stdin.out")"
fi

# --- 4. interleaved accounts give what separated ones give ---------------
# The same events, once grouped by account (each account's own order
# kept), once interleaved round-robin: the same scores, and per account
# the same alerts in the same order with the same ids.
cat > "$T/regroup.py" <<'EOF'
import json, sys
mode, src = sys.argv[1], sys.argv[2]
lines = [l for l in open(src) if l.strip()]
by = {}
for l in lines:
    by.setdefault(json.loads(l)["account"], []).append(l)
if mode == "grouped":
    out = [l for a in sorted(by, reverse=True) for l in by[a]]
else:
    queues = [list(v) for v in by.values()]
    out = []
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
sys.stdout.write("".join(out))
EOF
cat > "$T/per_account.py" <<'EOF'
import json, sys
by = {}
for l in open(sys.argv[1]):
    if l.strip():
        a = json.loads(l)
        by.setdefault(a["account"], []).append(l.strip())
for k in sorted(by):
    print(k, len(by[k]), "|".join(by[k]))
EOF
for scen in flags segments alerts; do
    python3 "$T/regroup.py" grouped "$SCEN/$scen.jsonl" >"$T/$scen.grouped.jsonl"
    python3 "$T/regroup.py" interleaved "$SCEN/$scen.jsonl" >"$T/$scen.inter.jsonl"
    for form in grouped inter; do
        "$SK" score --rules "$RULES" --now "$NOW" "$T/$scen.$form.jsonl" >"$T/$scen.$form.out" 2>"$T/err"
        "$SK" score --rules "$RULES" --now "$NOW" --alerts "$T/$scen.$form.jsonl" >"$T/$scen.$form.al" 2>"$T/err"
        python3 "$T/per_account.py" "$T/$scen.$form.al" >"$T/$scen.$form.alpa"
    done
    if cmp -s "$T/$scen.grouped.out" "$T/$scen.inter.out"; then ok; else
        bad "$scen: interleaved accounts score like grouped ones" "$(diff "$T/$scen.grouped.out" "$T/$scen.inter.out" | head -n 4)" "(diff above)"
    fi
    if cmp -s "$T/$scen.grouped.alpa" "$T/$scen.inter.alpa"; then ok; else
        bad "$scen: interleaved accounts alert like grouped ones" "identical per-account alerts" "$(diff "$T/$scen.grouped.alpa" "$T/$scen.inter.alpa" | head -c 600)"
    fi
done

# --- 5. events out of time order ----------------------------------------
# The same events reversed: MODEL.md's scores depend on the window at
# --now, not on arrival order, so points, stage, engagement, customer
# score, upsell and the set of raised flags are the same ("first use
# ever" goes by event time, see late_first).
cat > "$T/scores_only.py" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["account"] in sys.argv[2:]:
        continue
    print(o["account"], o["points"], o["stage"], json.dumps(o["engagement"], sort_keys=True),
          o["customer"]["score"], o["customer"]["upsell"], sorted(f["id"] for f in o["flags"]))
EOF
for scen in points frequency engagement customer tiers; do
    tac "$SCEN/$scen.jsonl" >"$T/$scen.rev.jsonl"
    "$SK" score --rules "$RULES" --now 2026-03-31T23:00:00Z "$SCEN/$scen.jsonl" >"$T/$scen.fwd.out" 2>"$T/err"
    "$SK" score --rules "$RULES" --now 2026-03-31T23:00:00Z "$T/$scen.rev.jsonl" >"$T/$scen.rev.out" 2>"$T/err"
    python3 "$T/scores_only.py" "$T/$scen.fwd.out" >"$T/$scen.fwd.s"
    python3 "$T/scores_only.py" "$T/$scen.rev.out" >"$T/$scen.rev.s"
    if cmp -s "$T/$scen.fwd.s" "$T/$scen.rev.s"; then ok; else
        bad "$scen: events in reverse order score like in time order" "identical" "$(diff "$T/$scen.fwd.s" "$T/$scen.rev.s" | head -c 800)"
    fi
done

# --- 6. the default --now is the latest event time -----------------------
latest=$(python3 -c 'import json,sys,datetime
t = max(json.loads(l)["ts"] for l in open(sys.argv[1]) if l.strip())
print(datetime.datetime.fromtimestamp(t // 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$SCEN/flags.jsonl")
"$SK" score --rules "$RULES" "$SCEN/flags.jsonl" >"$T/default.out" 2>"$T/err"
"$SK" score --rules "$RULES" --now "$latest" "$SCEN/flags.jsonl" >"$T/latest.out" 2>"$T/err"
if cmp -s "$T/default.out" "$T/latest.out"; then ok; else
    bad "no --now: evaluated at the latest event time ($latest)" "$(head -c 300 "$T/latest.out")" "$(head -c 300 "$T/default.out")"
fi

# --- 7. explain says quality took the neutral default --------------------
out=$("$SK" explain --rules "$RULES" --account q-neutral --now 2026-03-31T23:00:00Z "$SCEN/engagement.jsonl" 2>&1)
case $out in
*neutral*) ok ;;
*) bad "explain: quality without outreach or meetings says it is neutral" "a line with 'neutral'" "$out" ;;
esac
case $out in
*q-neutral*) ok ;;
*) bad "explain: names the account" "q-neutral" "$out" ;;
esac

if [ "$skipped" -gt 0 ]; then
    echo "($skipped checks skipped as known:, see above)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
