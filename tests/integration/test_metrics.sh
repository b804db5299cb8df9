# test_metrics.sh - /metrics, /healthz and /readyz tell the truth.
#
# A known set goes through the daemon: the demo scenario (N good events,
# on both input topics) and D bad messages of two reject reasons.  The
# figures scraped from /metrics must agree with what was produced:
# consumed per topic = the messages sent to it, dead letters per reason =
# the bad ones sent, alerts per kind = what `scorekeeper score --alerts`
# computes from the same file (no backfill horizon, the clock at the
# latest event, as in test_daemon_parity.sh), late events per topic = the
# events older than the late grace, committed offsets = the partitions'
# lengths, and the consumer lag reaches 0.  The text must be valid
# Prometheus exposition (promtool check metrics).  /readyz is 200 while
# the daemon runs and 503 while Redis is frozen (SIGSTOP), and 200 again
# after; /healthz stays 200 throughout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq curl python3 redis-server redis-cli
T=$(sk_tmpdir)
sk_start_redis
sk_start_mock

"$SK" sample --now 2026-11-05T10:00:00Z --seed 7 >"$T/events.jsonl" ||
    sk_fail "scorekeeper sample failed"
NOW=$(sk_iso "$(sk_latest_ts "$T/events.jsonl")")
NOW_MS=$(sk_latest_ts "$T/events.jsonl")
sk_clock_set "$NOW"
jq -c 'select(.account == "dunmore")' "$T/events.jsonl" >"$T/billing.jsonl"
jq -c 'select(.account != "dunmore")' "$T/events.jsonl" >"$T/telemetry.jsonl"
N_TEL=$(wc -l <"$T/telemetry.jsonl")
N_BILL=$(wc -l <"$T/billing.jsonl")
[ "$N_BILL" -gt 0 ] && [ "$N_TEL" -gt 0 ] || sk_fail "the scenario lacks one topic"

# Bad messages: 3 that are not msgpack, 2 of an unknown event type.
python3 - "$NOW_MS" >"$T/bad.hex" <<'EOF' || sk_fail "cannot build the bad messages"
import sys
now = int(sys.argv[1])
def s(x):
    b = x.encode()
    return bytes([0xa0 | len(b)]) + b
def ev(i):
    body = [("v", b"\x01"), ("id", s("bad-%d" % i)), ("account", s("metrics-bad")),
            ("type", s("teleport")), ("ts", b"\xd3" + (now - 1000).to_bytes(8, "big"))]
    return bytes([0x80 | len(body)]) + b"".join(s(k) + v for k, v in body)
for i in range(3):
    print(b"not msgpack at all".hex())
for i in range(2):
    print(ev(i).hex())
EOF
D=$(wc -l <"$T/bad.hex")

# What the offline scorer says: alerts by kind, late events per topic.
"$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW" --alerts "$T/events.jsonl" \
    >"$T/offline-alerts.jsonl" || sk_fail "offline alerts failed"
[ -s "$T/offline-alerts.jsonl" ] || sk_fail "the offline scorer raised no alert"
LATE_BEFORE=$((NOW_MS - 7 * 86400000))
late_of() { jq -s "map(select(.ts < $LATE_BEFORE)) | length" "$1"; }

"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/telemetry.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce to telemetry failed"
"$SK" produce --brokers "$SK_BROKERS" --topic billing "$T/billing.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce to billing failed"
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry --hex --key metrics-bad \
    "$T/bad.hex" 2>>"$T/produce.log" || sk_fail "produce of the bad messages failed"

MPORT=$(sk_free_port) || sk_fail "no free port"
URL=http://127.0.0.1:$MPORT
sk_daemon_start daemon --backfill-horizon off --metrics-listen "127.0.0.1:$MPORT" \
    -X statistics.interval.ms=200

# http_code PATH [CURL ARGS...] - the status of a request.
http_code() { curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "${@:2}" "$URL$1"; }
scrape() { curl -fsS --max-time 10 "$URL/metrics" >"$T/metrics.txt"; }
# mval SERIES - the value of one series, exactly as written.
mval() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"; }
# msum NAME - the sum over every series of NAME.
msum() { awk -v n="$1" 'index($1, n "{") == 1 || $1 == n { s += $2 } END { printf "%d\n", s }' "$T/metrics.txt"; }

sk_assert_eq 200 "$(http_code /healthz)" "/healthz while running"
sk_assert_eq "ok" "$(cat "$T/body")" "/healthz body"

# During the run: well-formed, and counting.
scrape || sk_fail "first scrape failed"
cp "$T/metrics.txt" "$T/metrics-early.txt"
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$T/metrics.txt" >"$T/promtool.log" 2>&1 ||
        { cat "$T/promtool.log" >&2; sk_fail "promtool rejects /metrics"; }
fi
for m in scorekeeper_events_consumed_total scorekeeper_events_applied_total \
    scorekeeper_events_duplicate_total scorekeeper_events_dead_lettered_total \
    scorekeeper_events_late_total scorekeeper_alerts_produced_total \
    scorekeeper_alerts_produce_failed_total scorekeeper_batch_duration_seconds \
    scorekeeper_redis_roundtrip_seconds scorekeeper_consumer_lag \
    scorekeeper_consumer_lag_age_seconds scorekeeper_committed_offset \
    scorekeeper_rebalances_total scorekeeper_accounts_tracked \
    scorekeeper_rules_info scorekeeper_rules_reloads_total scorekeeper_ready; do
    grep -q "^# HELP $m " "$T/metrics.txt" || sk_fail "no HELP line for $m"
    grep -q "^# TYPE $m " "$T/metrics.txt" || sk_fail "no TYPE line for $m"
done

# After the run: every message counted, and the breakdowns agree.
sk_wait_for "scrape && [ \$(msum scorekeeper_events_consumed_total) -eq $((N_TEL + N_BILL + D)) ] && [ \$(msum scorekeeper_alerts_produced_total) -eq $(wc -l <"$T/offline-alerts.jsonl") ]" 120 ||
    sk_fail "consumed $(msum scorekeeper_events_consumed_total) of $((N_TEL + N_BILL + D)), alerts $(msum scorekeeper_alerts_produced_total)"
sk_assert_eq "$((N_TEL + D))" "$(mval 'scorekeeper_events_consumed_total{topic="telemetry"}')" "consumed from telemetry"
sk_assert_eq "$N_BILL" "$(mval 'scorekeeper_events_consumed_total{topic="billing"}')" "consumed from billing"
sk_assert_eq 3 "$(mval 'scorekeeper_events_dead_lettered_total{reason="bad_msgpack"}')" "dead letters bad_msgpack"
sk_assert_eq 2 "$(mval 'scorekeeper_events_dead_lettered_total{reason="unknown_type"}')" "dead letters unknown_type"
sk_assert_eq "$D" "$(msum scorekeeper_events_dead_lettered_total)" "dead letters in all"
jq -r .kind "$T/offline-alerts.jsonl" | sort | uniq -c >"$T/kinds"
[ -s "$T/kinds" ] || sk_fail "no alert kinds"
while read -r count kind; do
    sk_assert_eq "$count" "$(mval "scorekeeper_alerts_produced_total{kind=\"$kind\"}")" "alerts of kind $kind"
done <"$T/kinds"
sk_assert_eq 0 "$(mval scorekeeper_alerts_produce_failed_total)" "failed alert deliveries"
sk_assert_eq "$(sk_applied "$T/events.jsonl")" "$(mval scorekeeper_events_applied_total)" \
    "applied = the sum of events_applied in Redis"
sk_assert_eq "$N_TEL" "$(($(mval scorekeeper_events_applied_total) + $(mval scorekeeper_events_duplicate_total) - N_BILL))" \
    "applied + duplicates = good events"
sk_assert_eq "$(late_of "$T/telemetry.jsonl")" "$(mval 'scorekeeper_events_late_total{topic="telemetry"}')" "late telemetry events"
sk_assert_eq "$(late_of "$T/billing.jsonl")" "$(mval 'scorekeeper_events_late_total{topic="billing"}')" "late billing events"
accounts=$(jq -r .account "$T/events.jsonl" | sort -u | wc -l)
sk_assert_eq "$accounts" "$(mval scorekeeper_accounts_tracked)" "accounts tracked (ZCARD)"

# Offsets: committed = each partition's length; lag 0 on all 12.
sk_wait_for "scrape && [ \$(msum scorekeeper_committed_offset) -eq $((N_TEL + N_BILL + D)) ] && [ \$(grep -c '^scorekeeper_consumer_lag{' '$T/metrics.txt') -eq 12 ] && [ \$(msum scorekeeper_consumer_lag) -eq 0 ]" 60 ||
    sk_fail "lag never reached 0 on 12 partitions: $(grep '^scorekeeper_consumer_lag{\|^scorekeeper_committed' "$T/metrics.txt" | tr '\n' ' ')"
sk_assert_eq "$((N_TEL + D))" "$(awk '$1 ~ /^scorekeeper_committed_offset\{topic="telemetry"/ { s += $2 } END { print s + 0 }' "$T/metrics.txt")" \
    "committed offsets of telemetry"
age=$(awk '$1 ~ /^scorekeeper_consumer_lag_age_seconds\{/ { print $2; exit }' "$T/metrics.txt")
[ -n "$age" ] || sk_fail "no lag age"

# Histograms: +Inf bucket = count, buckets never decrease, some batches.
for h in scorekeeper_batch_duration_seconds scorekeeper_redis_roundtrip_seconds; do
    count=$(mval "${h}_count")
    [ "${count:-0}" -gt 0 ] || sk_fail "$h counted nothing"
    sk_assert_eq "$count" "$(mval "${h}_bucket{le=\"+Inf\"}")" "$h +Inf bucket"
    awk -v h="${h}_bucket" 'index($1, h) == 1 { if ($2 < prev) bad = 1; prev = $2 } END { exit bad }' \
        "$T/metrics.txt" || sk_fail "$h buckets decrease"
done

# Counters never go backwards between the two scrapes.
while read -r series value; do
    case $series in \#*|*_age_seconds*|*consumer_lag*|*_ready*|*accounts_*) continue ;; esac
    now=$(mval "$series")
    [ -n "$now" ] || continue
    awk -v a="$value" -v b="$now" 'BEGIN { exit !(b + 0 >= a + 0) }' ||
        sk_fail "$series went from $value to $now"
done <"$T/metrics-early.txt"

# Rules: the version the daemon checked, and a reload by SIGHUP.
version=$("$SKD" --check-config --rules "$SK_DAEMON_RULES" --allow-root 2>/dev/null |
    sed -n 's/^# rules: .*, version \(.*\): ok$/\1/p')
[ -n "$version" ] || sk_fail "no rules version from --check-config"
sk_assert_eq 1 "$(mval "scorekeeper_rules_info{version=\"$version\"}")" "rules_info"
sk_assert_eq 0 "$(mval scorekeeper_rules_reloads_total)" "reloads before SIGHUP"
kill -HUP "$SK_DAEMON_PID"
sk_wait_for "scrape && [ \"\$(mval scorekeeper_rules_reloads_total)\" = 1 ]" 30 ||
    sk_fail "SIGHUP did not count a reload"

# Readiness: 200 now; 503 saying why while Redis is frozen; 200 again.
sk_assert_eq 200 "$(http_code /readyz)" "/readyz while running"
sk_assert_eq 1 "$(mval scorekeeper_ready)" "scorekeeper_ready while running"
kill -STOP "$SK_REDIS_PID"
code=$(http_code /readyz)
body=$(cat "$T/body")
sk_assert_eq 200 "$(http_code /healthz)" "/healthz while Redis is frozen"
scrape || { kill -CONT "$SK_REDIS_PID"; sk_fail "no /metrics while Redis is frozen"; }
ready=$(mval scorekeeper_ready)
kill -CONT "$SK_REDIS_PID"
sk_assert_eq 503 "$code" "/readyz while Redis is frozen"
sk_assert_contains "$body" "redis" "/readyz body while Redis is frozen"
sk_assert_eq 0 "$ready" "scorekeeper_ready while Redis is frozen"
sk_wait_for "[ \$(http_code /readyz) = 200 ]" 30 || sk_fail "/readyz not 200 after Redis came back"

# Only GET and HEAD, only the three paths.
sk_assert_eq 404 "$(http_code /nothing)" "unknown path"
sk_assert_eq 405 "$(http_code /metrics -X POST -d x=1)" "POST"
sk_assert_eq 200 "$(http_code /healthz -I)" "HEAD /healthz"

sk_daemon_stop
sk_assert_eq "$((N_TEL + N_BILL + D))" "$(sk_daemon_figure consumed)" "consumed figure at exit"
sk_figures "events=$((N_TEL + N_BILL)) bad=$D alerts=$(wc -l <"$T/offline-alerts.jsonl")" \
    "batches=$(mval scorekeeper_batch_duration_seconds_count)" \
    "redis_calls=$(mval scorekeeper_redis_roundtrip_seconds_count)"
sk_pass "/metrics agrees with what was produced; /readyz follows Redis"
