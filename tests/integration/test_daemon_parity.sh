# test_daemon_parity.sh - scorekeeperd and the offline scorer agree.
#
# The demo scenario (eight accounts, 60 days) goes through the daemon;
# the events are on the topics before the daemon starts, so it sees each
# partition's whole history before its end (the scheduler only evaluates
# caught-up partitions).  With the clock at the latest event time and no
# backfill horizon, every
# account stored in Redis must score exactly as `scorekeeper score --now
# T` computes from the same file, and the alerts topic must hold exactly
# the alert ids `scorekeeper score --alerts` prints.  Half the events go
# to each input topic with the same key partitioning, so both inputs and
# several partitions are exercised.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

sk_require jq redis-server redis-cli
T=$(sk_tmpdir)
sk_start_redis
sk_start_mock

"$SK" sample --now 2026-11-05T10:00:00Z --seed 7 >"$T/events.jsonl" ||
    sk_fail "scorekeeper sample failed"
NOW=$(sk_iso "$(sk_latest_ts "$T/events.jsonl")")
sk_clock_set "$NOW"
sk_offline_scores "$T/events.jsonl" "$NOW" "$T/offline.jsonl"
"$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW" --alerts "$T/events.jsonl" |
    jq -r .id | sort -u >"$T/offline-ids" || sk_fail "offline alerts failed"
[ -s "$T/offline-ids" ] || sk_fail "the offline scorer raised no alert"

# An account's events all go to one topic, so their order is kept: the
# billing-only stories go to billing, the rest to telemetry.
jq -c 'select(.account == "dunmore")' "$T/events.jsonl" >"$T/billing.jsonl"
jq -c 'select(.account != "dunmore")' "$T/events.jsonl" >"$T/telemetry.jsonl"

"$SK" produce --brokers "$SK_BROKERS" --topic telemetry "$T/telemetry.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce to telemetry failed"
"$SK" produce --brokers "$SK_BROKERS" --topic billing "$T/billing.jsonl" \
    2>>"$T/produce.log" || sk_fail "produce to billing failed"
sk_daemon_start daemon --backfill-horizon off

sk_wait_parity "$T/offline.jsonl" "$NOW" 120
sk_wait_alert_ids "$T/offline-ids" 60

# The readable fields agree with the state they were computed from.
for acct in $(jq -r .account "$T/offline.jsonl"); do
    want=$(jq -r "select(.account == \"$acct\") | .health.tier" "$T/offline.jsonl")
    got=$(sk_field health "$acct")
    sk_assert_eq "$want" "$got" "stored health of $acct"
    sk_assert_eq 0 "$(sk_field outbox "$acct")" \
        "outbox of $acct after confirmation"
done
sk_assert_eq "$(jq -s length "$T/offline.jsonl")" "$(sk_redis_cli ZCARD sk:idx:score)" \
    "accounts in the score index"

sk_daemon_stop
events=$(wc -l <"$T/events.jsonl")
sk_assert_eq "$events" "$(sk_daemon_figure consumed)" "events consumed"
sk_assert_eq 0 "$(sk_daemon_figure dead_lettered)" "events dead-lettered"
sk_figures "events=$events accounts=$(jq -s length "$T/offline.jsonl")" \
    "alerts=$(wc -l <"$T/offline-ids")"
sk_pass "daemon scores and alert ids equal the offline scorer's"
