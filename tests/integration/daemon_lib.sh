# daemon_lib.sh - what the scorekeeperd integration tests share, on top of
# lib.sh: starting the daemon with short Kafka timeouts and a clock file,
# and comparing what it stored in Redis with the offline scorer.
#
# Usage, after lib.sh:
#
#     . "$(dirname "$0")/daemon_lib.sh"
#     sk_start_redis; sk_start_mock
#     sk_clock_set 2026-11-05T10:00:00Z
#     sk_daemon_start daemon1             # log in $SK_TMPDIR/daemon1.log
#     ...
#     sk_daemon_stop                      # SIGTERM, expects status 0
#
# Variables: SK_DAEMON_RULES (default deploy/rules.yaml), SK_BROKERS
# (default: the daemon's embedded cluster), SK_DAEMON_GROUP.

SKD=$SK_BIN/scorekeeperd
SK=$SK_BIN/scorekeeper
SK_DAEMON_RULES=${SK_DAEMON_RULES:-$SK_SOURCE_DIR/deploy/rules.yaml}
SK_CLOCK=$SK_TMPDIR/clock
export SCOREKEEPER_CLOCK_FILE=$SK_CLOCK

# sk_clock_set ISO8601 - what the daemon takes for "now" from here on.
sk_clock_set()
{
    echo "$1" >"$SK_CLOCK.tmp" && mv "$SK_CLOCK.tmp" "$SK_CLOCK"
}

# sk_iso MS - ISO-8601 UTC of a millisecond timestamp.
sk_iso()
{
    date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%SZ
}

# sk_latest_ts FILE - the latest "ts" of a JSON-lines file (ms).
sk_latest_ts()
{
    jq -s 'map(.ts) | max' "$1"
}

# sk_earliest_ts FILE - the earliest "ts" of a JSON-lines file (ms).
sk_earliest_ts()
{
    jq -s 'map(.ts) | min' "$1"
}

# sk_applied FILE - the sum of events_applied in Redis over the accounts
# of the JSON-lines FILE.
sk_applied()
{
    # shellcheck disable=SC2046 # one word per account id
    sk_field events_applied $(jq -r .account "$1" | sort -u) |
        awk '{ s += $1 } END { print s + 0 }'
}

# sk_wait_applied FILE [TIMEOUT] - wait until every event of FILE (all
# distinct) is applied.  Tests that stream history keep the clock at or
# before the next event to arrive (with a large future skew), and move it
# to the end only after this: otherwise the scheduler may evaluate an
# account past events still in flight, which then count as late.
sk_wait_applied()
{
    local want
    want=$(wc -l <"$1")
    sk_wait_for "[ \$(sk_applied '$1') -eq $want ]" "${2:-120}" ||
        sk_fail "only $(sk_applied "$1") of the $want events of $1 were applied"
}

# sk_daemon_start NAME [ARGS...] - start scorekeeperd (stderr in
# $SK_TMPDIR/NAME.log), wait until it has its partitions.  Sets
# SK_DAEMON_PID and SK_DAEMON_LOG; with no SK_BROKERS, the embedded
# cluster is used and SK_BROKERS is set to its address.
sk_daemon_start()
{
    local name=$1
    shift
    SK_DAEMON_LOG=$SK_TMPDIR/$name.log
    "$SKD" --allow-root --rules "$SK_DAEMON_RULES" --redis "$SK_REDIS_ADDR" \
        --brokers "${SK_BROKERS:-embedded}" \
        --group "${SK_DAEMON_GROUP:-scorekeeper}" \
        -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
        -X fetch.wait.max.ms=10 "$@" 2>"$SK_DAEMON_LOG" &
    SK_DAEMON_PID=$!
    sk_track_pid "$SK_DAEMON_PID"
    sk_wait_for "grep -q 'partitions assigned' '$SK_DAEMON_LOG' || ! kill -0 $SK_DAEMON_PID" 90
    kill -0 "$SK_DAEMON_PID" 2>/dev/null || sk_fail "scorekeeperd exited at start"
    grep -q 'partitions assigned' "$SK_DAEMON_LOG" ||
        sk_fail "scorekeeperd got no partitions"
    if [ -z "${SK_BROKERS:-}" ]; then
        SK_BROKERS=$(grep -m1 -o 'bootstrap=[^ ]*' "$SK_DAEMON_LOG" | cut -d= -f2)
        [ -n "$SK_BROKERS" ] || sk_fail "no embedded bootstrap address logged"
        SK_EMBEDDED=1
    fi
    export SK_BROKERS SK_DAEMON_PID SK_DAEMON_LOG
    sk_log "scorekeeperd pid $SK_DAEMON_PID ($name) on $SK_BROKERS"
}

# sk_daemon_stop - SIGTERM the daemon; fail unless it exits with 0 and
# prints its figures.
sk_daemon_stop()
{
    local status=0
    sk_stop "$SK_DAEMON_PID" 30 || status=$?
    sk_assert_eq 0 "$status" "scorekeeperd exit status after SIGTERM"
    grep -q 'msg="stopped"' "$SK_DAEMON_LOG" ||
        sk_fail "scorekeeperd printed no figures on exit"
    if [ "${SK_EMBEDDED:-0}" = 1 ]; then
        unset SK_BROKERS
        SK_EMBEDDED=0
    fi
}

# sk_daemon_figure NAME - a figure from the daemon's exit line.
sk_daemon_figure()
{
    grep 'msg="stopped"' "$SK_DAEMON_LOG" | tail -1 |
        grep -o " $1=[0-9]*" | cut -d= -f2
}

# sk_offline_scores EVENTS NOW OUT [RULES] - the offline scorer's lines.
sk_offline_scores()
{
    "$SK" score --rules "${4:-$SK_DAEMON_RULES}" --now "$2" "$1" >"$3" ||
        sk_fail "scorekeeper score failed on $1"
}

# sk_stored_scores OFFLINE NOW OUT [RULES] - `scorekeeper show --json`
# for every account of OFFLINE (the offline lines), evaluated at NOW.
sk_stored_scores()
{
    local acct
    : >"$3"
    for acct in $(jq -r .account "$1"); do
        "$SK" show "$acct" --redis "$SK_REDIS_ADDR" --rules "${4:-$SK_DAEMON_RULES}" \
            --now "$2" --json >>"$3" 2>/dev/null || echo "{\"account\":\"$acct\",\"missing\":true}" >>"$3"
    done
}

# sk_wait_parity OFFLINE NOW [TIMEOUT] [RULES] - wait until every account
# stored in Redis scores as OFFLINE says; fail with the difference if it
# never does.
sk_wait_parity()
{
    local offline=$1 now=$2 timeout=${3:-120} rules=${4:-$SK_DAEMON_RULES}
    local got=$SK_TMPDIR/stored.jsonl deadline=$((SECONDS + timeout))
    while :; do
        sk_stored_scores "$offline" "$now" "$got" "$rules"
        if cmp -s <(jq -S -c . "$offline") <(jq -S -c . "$got"); then
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || break
        kill -0 "$SK_DAEMON_PID" 2>/dev/null || break
        sleep 0.5
    done
    diff <(jq -S . "$offline") <(jq -S . "$got") | head -40 >&2
    sk_fail "scores in Redis differ from the offline scorer at $now"
}

# sk_alert_ids OUT - the ids of every alert on the alerts topic, sorted.
sk_alert_ids()
{
    "$SK" alerts --brokers "$SK_BROKERS" --from-beginning --idle-exit 2 \
        >"$SK_TMPDIR/alerts.jsonl" 2>>"$SK_TMPDIR/alerts.log" ||
        sk_fail "scorekeeper alerts failed"
    jq -r .id "$SK_TMPDIR/alerts.jsonl" | sort -u >"$1"
}

# sk_wait_alert_ids WANT [TIMEOUT] - wait until the alerts topic holds
# exactly the ids in WANT (a sorted file); fail with the difference.
sk_wait_alert_ids()
{
    local want=$1 timeout=${2:-60} got=$SK_TMPDIR/alert-ids.got
    local deadline=$((SECONDS + timeout))
    while :; do
        sk_alert_ids "$got"
        cmp -s "$want" "$got" && return 0
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.5
    done
    diff "$want" "$got" | head -20 >&2
    sk_fail "alert ids on the topic differ from the offline scorer"
}
