# test_daemon_silent.sh - a customer who goes silent is flagged by time
# alone: after its events are applied, the clock file moves 31 days on,
# no event arrives, and the scheduler raises no_login_30d (and whatever
# else time changes) with the same alert ids as the offline scorer at
# that time.  Then, with the default backfill horizon, old history is
# applied to Redis but its alerts are not published.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq redis-server redis-cli
T=$(sk_tmpdir)
sk_start_redis
sk_start_mock

# Two weeks of a healthy account: logins, usage, a meeting.
start=$(($(date -u -d 2026-09-01T09:00:00Z +%s) * 1000))
hour=3600000
day=$((24 * hour))
{
    echo '{"v":1,"id":"q-0","account":"quiet-co","type":"user_created","ts":'$start',"user":"kim@quiet.example","role":"champion"}'
    for i in $(seq 1 14); do
        ts=$((start + i * day))
        echo '{"v":1,"id":"q-l'$i'","account":"quiet-co","type":"login","ts":'$ts',"user":"kim@quiet.example"}'
        echo '{"v":1,"id":"q-u'$i'","account":"quiet-co","type":"usage","ts":'$((ts + hour))',"value":45,"user":"kim@quiet.example"}'
    done
} >"$T/events.jsonl"
last=$(sk_latest_ts "$T/events.jsonl")
NOW0=$(sk_iso "$last")
NOW1=$(sk_iso $((last + 31 * day + 2 * hour)))
# The clock waits at the first event until all are applied (see
# sk_wait_applied), then stands at the last one.
sk_clock_set "$(sk_iso "$start")"
export SCOREKEEPER_FUTURE_SKEW=3650d

sk_daemon_start daemon --backfill-horizon off
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/events.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce failed"
n=$(wc -l <"$T/events.jsonl")
sk_wait_applied "$T/events.jsonl" 60
sk_clock_set "$NOW0"

# Before time moves: active, not flagged.
flags=$(sk_field flags quiet-co)
sk_assert_not_contains "$flags" no_login_30d "flags before the silence"
sk_assert_eq "" "$(sk_redis_cli ZSCORE sk:idx:flag:no_login_30d quiet-co)" \
    "no_login_30d index before the silence"
sk_offline_scores "$T/events.jsonl" "$NOW0" "$T/offline0.jsonl"
sk_wait_parity "$T/offline0.jsonl" "$NOW0" 30
"$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW0" --alerts "$T/events.jsonl" |
    jq -r .id | sort -u >"$T/ids0"
sk_wait_alert_ids "$T/ids0" 30

# 31 days of silence, in one step of the clock file.
sk_clock_set "$NOW1"
sk_wait_for "[ -n \"\$(sk_redis_cli ZSCORE sk:idx:flag:no_login_30d quiet-co)\" ]" 60 ||
    sk_fail "no_login_30d was not raised by the scheduler"
sk_assert_contains "$(sk_field flags quiet-co)" no_login_30d \
    "flags after the silence"
"$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW1" --alerts "$T/events.jsonl" \
    >"$T/offline1-alerts.jsonl" || sk_fail "offline alerts failed"
jq -r .id "$T/offline1-alerts.jsonl" | sort -u >"$T/ids1"
[ -n "$(jq -c 'select(.kind == "flag_raised" and .flag == "no_login_30d")' \
    "$T/offline1-alerts.jsonl")" ] || sk_fail "the offline scorer raised no no_login_30d"
sk_wait_alert_ids "$T/ids1" 60
cause=$(jq -r 'select(.kind == "flag_raised" and .flag == "no_login_30d") | .event_id // ""' \
    "$T/alerts.jsonl")
sk_assert_eq "" "$cause" "causing event of the time-driven no_login_30d alert"
sk_offline_scores "$T/events.jsonl" "$NOW1" "$T/offline1.jsonl"
sk_wait_parity "$T/offline1.jsonl" "$NOW1" 30
sk_daemon_stop
sk_assert_eq "$n" "$(sk_daemon_figure consumed)" "events consumed (none during the silence)"
[ "$(sk_daemon_figure evaluated)" -ge 1 ] || sk_fail "the scheduler evaluated nothing"

# Backfill: history older than the horizon updates Redis but publishes
# only the alerts of the last day before now; the rest are counted.
sed 's/quiet-co/old-co/g; s/"q-/"o-/g' "$T/events.jsonl" >"$T/old.jsonl"
"$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW1" --alerts "$T/old.jsonl" \
    >"$T/old-alerts.jsonl" || sk_fail "offline alerts of the old history failed"
now1_ms=$(($(date -u -d "$NOW1" +%s) * 1000))
all=$(wc -l <"$T/old-alerts.jsonl")
recent=$(jq -s "map(select(.ts_ms >= $now1_ms - $day)) | length" "$T/old-alerts.jsonl")
# On the topic before the daemon starts: it sees the whole history before
# the partition's end, as a daemon catching up on a backlog does.
"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/old.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce of old history failed"
sk_daemon_start daemon2 --backfill-horizon 1d
sk_wait_for "[ \"\$(sk_field events_applied old-co)\" = $n ]" 60 ||
    sk_fail "old history was not applied"
sk_wait_for "[ \"\$(sk_field as_of old-co)\" = $NOW1 ]" 60 ||
    sk_fail "old-co was not evaluated up to now"
sk_daemon_stop
sk_assert_eq "$((all - recent))" "$(sk_daemon_figure alerts_suppressed)" \
    "alerts suppressed by the backfill horizon"
sk_assert_eq "$recent" "$(sk_daemon_figure alerts_produced)" \
    "alerts published from old history (only the last day's)"
sk_figures "events=$n alerts=$(wc -l <"$T/ids1") backfill_alerts=$all suppressed=$((all - recent))"
sk_pass "a silent account is flagged by time alone, as the offline scorer says"
