# test_demo.sh - tools/demo.sh, the README's first command, with the
# programs already built: it must show alerts and the accounts table with
# the sample's stories, and leave nothing running or on disk.
. "$(dirname "$0")/lib.sh"

[ -x "$SK_BIN/scorekeeperd" ] || sk_fail "$SK_BIN/scorekeeperd is not built"
T=$(sk_tmpdir)
mkdir -p "$T/tmp"

TMPDIR=$T/tmp SK_BIN=$SK_BIN bash "$SK_SOURCE_DIR/tools/demo.sh" --no-install --no-build \
    >"$T/demo.log" 2>&1
status=$?
out=$(sed 's/\x1b\[[0-9;]*m//g' "$T/demo.log")
[ "$status" = 0 ] || sk_fail "demo.sh exited with $status"

sk_assert_contains "$out" "==> Alerts, as scorekeeperd publishes them" "alerts step"
sk_assert_contains "$out" "==> Accounts, by customer score" "accounts step"
grep -q 'stage_crossed  *northwind  *1000 → 2000' <<<"$out" ||
    sk_fail "no readable stage alert for northwind"
grep -q 'flag_raised  *dunmore .*payment_failures raised' <<<"$out" ||
    sk_fail "no payment_failures alert for dunmore"
grep -q '^bluebird .* at_risk .*no_login_30d' <<<"$out" ||
    sk_fail "bluebird is not listed at risk with no_login_30d"
grep -q '^fjord .* growth .*upsell_candidate' <<<"$out" ||
    sk_fail "fjord is not listed as an upsell candidate in growth"
rows=$(sed -n '/==> Accounts/,/^$/p' <<<"$out" | grep -cE '^(northwind|bluebird|cobalt|dunmore|evergreen|fjord|granite|harbor) ')
sk_assert_eq 8 "$rows" "rows of the accounts table"

# nothing left behind: the temporary folder is gone and the ports closed
leftover=$(find "$T/tmp" -mindepth 1 -maxdepth 1 | wc -l)
sk_assert_eq 0 "$leftover" "files left by the demo"
redis_addr=$(grep -m1 -o 'redis-server on 127.0.0.1:[0-9]*' <<<"$out" | cut -d: -f2)
kafka_addr=$(grep -m1 -o 'Kafka bootstrap 127.0.0.1:[0-9]*' <<<"$out" | cut -d: -f2)
if [ -z "$redis_addr" ] || [ -z "$kafka_addr" ]; then
    sk_fail "the demo did not print its addresses"
fi
for port in "$redis_addr" "$kafka_addr"; do
    sk_wait_for "! (exec 3<>/dev/tcp/127.0.0.1/$port)" 10 ||
        sk_fail "something still listens on port $port after the demo"
done

sk_figures "alerts=$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5}  ' <<<"$out")"
sk_pass
