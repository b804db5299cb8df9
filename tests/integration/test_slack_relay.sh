#!/usr/bin/env bash
# test_slack_relay.sh - scorekeeper-slack-relay against a mock Kafka
# cluster and a local webhook stand-in (http_sink.py).
#
# Checks: every alert is posted exactly once although the webhook fails
# the first attempts and the topic holds a repeat; kind and severity
# filters; redaction of personal fields and of their values in the text;
# offsets are committed only after a 2xx (a restarted relay posts again
# exactly the alerts that were never accepted); --max-attempts gives up
# with status 1; the webhook's secret path never reaches the log.
. "$(dirname "$0")/lib.sh"

sk_require kcat python3
RELAY=$SK_BIN/scorekeeper-slack-relay
[ -x "$RELAY" ] || sk_fail "$RELAY is not built (it needs libcurl)"
SINK_PY=$SK_SOURCE_DIR/tests/integration/http_sink.py
T=$(sk_tmpdir)
SECRET=T0TEST/B0TEST/s3cr3tPathToken

sk_start_mock --topics alerts_retry:1,alerts_filter:1,alerts_commit:1

# start_sink NAME [http_sink options] - sets SINK_URL and SINK_OUT.
start_sink()
{
    local name=$1
    shift
    SINK_OUT=$T/$name.jsonl
    : >"$SINK_OUT"
    python3 "$SINK_PY" --port-file "$T/$name.port" --out "$SINK_OUT" "$@" \
        >"$T/$name.log" 2>&1 &
    sk_track_pid $!
    sk_wait_for "[ -s '$T/$name.port' ]" 30 || sk_fail "$name did not start"
    SINK_URL=http://127.0.0.1:$(cat "$T/$name.port")/services/$SECRET
}

# start_relay NAME TOPIC GROUP [relay options] - sets RELAY_PID.  A short
# session timeout: the mock cluster holds a rejoin of the group until the
# previous member's session has expired.
start_relay()
{
    local name=$1 topic=$2 group=$3
    shift 3
    SLACK_WEBHOOK_URL=$SINK_URL "$RELAY" --brokers "$SK_BROKERS" \
        --topic "$topic" --group "$group" --backoff-min 20 \
        --backoff-max 200 --timeout 5000 -v "$@" \
        -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
        >"$T/$name.out" 2>"$T/$name.log" &
    RELAY_PID=$!
    sk_track_pid "$RELAY_PID"
}

# alert ID KIND SEVERITY ACCOUNT [EXTRA JSON MEMBERS] - one alert line.
alert()
{
    local extra=${5:+,$5}
    printf '{"id":"%s","kind":"%s","account":"%s","from":"watch",' \
        "$1" "$2" "$4"
    printf '"to":"at_risk","severity":"%s","ts":"2026-11-05T00:00:00Z",' "$3"
    printf '"ts_ms":1793836800000,"event_id":"ev-%s",' "$1"
    printf '"rules_version":"test-1","reason":"reason of %s",' "$1"
    printf '"points":120,"stage":100,"engagement":55.5,"eng_tier":"orange",'
    printf '"customer":48.0,"segment":"at_risk","health":"at_risk",'
    printf '"play":"rescue plan","sla_hours":24%s}\n' "$extra"
}

produce()
{
    kcat -P -b "$SK_BROKERS" -t "$1" -l "$2" 2>>"$T/kcat.log" ||
        sk_fail "kcat could not produce to $1"
}

# posted FILE [STATUS] - the alert ids of the requests in FILE, in order,
# with HTTP status STATUS (any when empty), one a line.
posted()
{
    python3 - "$1" "${2:-}" <<'EOF'
import json, re, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if sys.argv[2] and str(r["status"]) != sys.argv[2]:
        continue
    msg = json.loads(r["body"])
    ctx = msg["blocks"][-1]["elements"][0]["text"]
    print(re.search(r"alert `([^`]+)`", ctx).group(1))
EOF
}

count_posted()
{
    posted "$@" | wc -l
}

# --- 1. retries, then exactly once; a repeat is dropped ---------------
start_sink sink1 --fail-first 3
{
    alert r1 flag_raised red acme
    alert r2 health_changed red acme
    alert r3 flag_raised yellow acme '"user":"carol.lee","dept":"Ops"'
    alert r2 health_changed red acme
    alert r4 segment_changed yellow globex
    alert r5 stage_crossed yellow globex
} >"$T/retry.jsonl"
produce alerts_retry "$T/retry.jsonl"
start_relay relay1 alerts_retry g-retry
sk_wait_for "[ \$(posted '$SINK_OUT' 200 | grep -cx r5) -ge 1 ]" 120 ||
    sk_fail "alert r5 was never posted"
sk_stop "$RELAY_PID" || sk_fail "relay 1 exited with status $?"

sk_assert_eq "r1 r2 r3 r4 r5" "$(posted "$SINK_OUT" 200 | xargs)" \
    "alerts accepted by the webhook, in order"
sk_assert_eq 8 "$(count_posted "$SINK_OUT")" \
    "requests (5 alerts + 3 refused attempts)"
sk_assert_eq "r1 r1 r1" "$(posted "$SINK_OUT" 500 | xargs)" \
    "refused attempts (all of the first alert)"
body3=$(grep -F 'r3`' "$SINK_OUT" | head -1)
sk_assert_contains "$body3" carol.lee "unredacted user of r3"
sk_assert_contains "$body3" "application/json" "content type"
sk_assert_contains "$body3" "\"path\": \"/services/$SECRET\"" "webhook path"
log1=$(cat "$T/relay1.log")
sk_assert_contains "$log1" "posted (attempt 4)" "relay log of the retries"
sk_assert_contains "$log1" "1 duplicates" "relay counters"
sk_assert_not_contains "$log1" s3cr3tPathToken "relay log"

# --- 2. filters and redaction ------------------------------------------
start_sink sink2
{
    alert f1 flag_raised red acme \
        '"user":"alice.smith","dept":"Finance","email":"alice@example.com","flag":"single_threaded","reason":"only alice.smith (alice@example.com) in 30 days"'
    alert f2 flag_raised yellow acme
    alert f3 stage_crossed red acme
    alert f4 health_changed red globex \
        '"evidence":{"user":"bob.jones","minutes_now":10,"minutes_before":400}'
    alert f5 segment_changed yellow globex
    echo 'this line is not JSON'
    alert f7 health_changed red initech
} >"$T/filter.jsonl"
produce alerts_filter "$T/filter.jsonl"
start_relay relay2 alerts_filter g-filter --kinds flag_raised,health_changed \
    --min-severity red --redact-personal --redact email
sk_wait_for "[ \$(posted '$SINK_OUT' 200 | grep -cx f7) -ge 1 ]" 120 ||
    sk_fail "alert f7 was never posted"
sk_stop "$RELAY_PID" || sk_fail "relay 2 exited with status $?"

sk_assert_eq "f1 f4 f7" "$(posted "$SINK_OUT" 200 | xargs)" \
    "alerts passing --kinds and --min-severity"
posts2=$(cat "$SINK_OUT")
for secret in alice.smith Finance alice@example.com bob.jones; do
    sk_assert_not_contains "$posts2" "$secret" "redacted posts"
done
sk_assert_contains "$posts2" "only [redacted] ([redacted]) in 30 days" \
    "reason with the redacted values scrubbed"
sk_assert_contains "$posts2" "minutes_before" "evidence kept"
sk_assert_contains "$posts2" "single_threaded raised" "what changed"
log2=$(cat "$T/relay2.log")
sk_assert_contains "$log2" "1 invalid" "the line that is not JSON"
sk_assert_contains "$log2" "3 filtered" "relay counters"

# --- 3. offsets are committed only after a 2xx --------------------------
start_sink sink3 --fail-match blocked-account
{
    alert c1 flag_raised red acme
    alert c2 flag_raised red blocked-account
    alert c3 flag_raised red acme
} >"$T/commit.jsonl"
produce alerts_commit "$T/commit.jsonl"
start_relay relay3 alerts_commit g-commit
sk_wait_for "[ \$(posted '$SINK_OUT' 500 | grep -cx c2) -ge 3 ]" 120 ||
    sk_fail "alert c2 was not retried"
sk_stop "$RELAY_PID" || sk_fail "relay 3 exited with status $?"
sk_assert_eq "c1" "$(posted "$SINK_OUT" 200 | xargs)" \
    "accepted before the stop (c3 waits behind c2)"

# Giving up after --max-attempts: status 1, nothing committed.
: >"$SINK_OUT"
start_relay relay4 alerts_commit g-commit --max-attempts 2
sk_wait_for "! kill -0 $RELAY_PID" 120 ||
    sk_fail "the relay did not give up after --max-attempts 2"
status=0
wait "$RELAY_PID" || status=$?
sk_assert_eq 1 "$status" "exit status after --max-attempts"
sk_assert_eq "c2 c2" "$(posted "$SINK_OUT" | xargs)" \
    "attempts of the restarted relay (c1 was committed)"
sk_assert_contains "$(cat "$T/relay4.log")" "giving up after 2 attempts" \
    "relay log"

start_sink sink5
alert c4 flag_raised red acme >"$T/commit2.jsonl"
produce alerts_commit "$T/commit2.jsonl"
start_relay relay5 alerts_commit g-commit
sk_wait_for "[ \$(posted '$SINK_OUT' 200 | grep -cx c4) -ge 1 ]" 120 ||
    sk_fail "alert c4 was never posted"
sk_stop "$RELAY_PID" || sk_fail "relay 5 exited with status $?"
sk_assert_eq "c2 c3 c4" "$(posted "$SINK_OUT" | xargs)" \
    "posts after the webhook recovered (exactly the uncommitted ones)"

for f in "$T"/relay*.log; do
    sk_assert_not_contains "$(cat "$f")" s3cr3tPathToken "$(basename "$f")"
done
sk_pass "retries, dedupe, filters, redaction, commit after 2xx"
