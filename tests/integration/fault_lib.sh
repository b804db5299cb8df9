# fault_lib.sh - what the fault tests (test_fault_*.sh) share, on top of
# lib.sh and daemon_lib.sh: a generated stream of events with its single
# offline pass, a mock cluster that takes fault commands, a producer that
# streams in the background, and the one verdict every fault test ends
# with.
#
# Usage, after lib.sh and daemon_lib.sh:
#
#     sk_fault_mock --brokers 3          # SK_BROKERS, SK_MOCK_CTL
#     sk_fault_events 20000 1000 7       # $FT_DIR/events.jsonl, its offline pass
#     sk_fault_stream "$FT_DIR/events.jsonl" 40 0.5   # background producer
#     sk_daemon_start one --backfill-horizon off
#     sk_mock_ctl "broker-down 1"        # returns once the fault is in place
#     ...
#     sk_fault_verify                    # wait, compare
#     sk_daemon_stop
#     sk_fault_report                    # the figures line
#
# The verdict compares the FINAL state with the offline single pass over
# the same events (`scorekeeper score --now T`, `score --alerts`):
#  - per account, events_applied in Redis against the account's events:
#    fewer is a loss, more a double count;
#  - per account, `scorekeeper show --json --now T` against the offline
#    line (every score, tier and flag);
#  - the SET of alert ids on the alerts topic against the offline ids:
#    one missing is a lost alert, one extra an invented one.  Repeats of
#    an id are allowed (at-least-once with stable ids);
#  - per account, the derived data: the score index holds the account at
#    its customer score, the index of its health tier holds it.
# and sk_fault_report prints `figures: <test> events_in=... applied=...
# duplicates_skipped=... dead_lettered=... alerts=... lost=0
# double_counted=0 ...`.  Any loss or double count fails the test.
#
# DESIGN: the mock cluster keeps about 5 MiB (and a bounded number of
# message sets) per partition and then drops the oldest, which a test
# would read as a loss: the topics here have enough partitions for the
# streams they carry (12 input, 8 alerts, 4 dead-letter; a test sets
# FT_TOPICS before sourcing this file for others).  Redis keys are read
# with the daemon's default prefix, sk.

FT_TOPICS=${FT_TOPICS:-telemetry:12,billing:12,alerts:8,scorekeeper.dlq:4}
FT_EVENTS_PY=$SK_SOURCE_DIR/tests/integration/fault_events.py
FT_DIR=$(sk_tmpdir)
FT_CTL_COUNT=0
export SCOREKEEPER_FUTURE_SKEW=3650d

# sk_fault_mock [SK-MOCKCLUSTER OPTIONS...] - a mock cluster with the
# fault topics and a control FIFO.  Sets SK_MOCK_CTL and SK_MOCK_OUT.
sk_fault_mock()
{
    SK_MOCK_CTL=$FT_DIR/control.fifo
    rm -f "$SK_MOCK_CTL"
    mkfifo "$SK_MOCK_CTL" || sk_fail "mkfifo failed"
    sk_start_mock --topics "$FT_TOPICS" --control "$SK_MOCK_CTL" "$@"
    SK_MOCK_OUT=$(grep -lx "bootstrap=$SK_BROKERS" "$FT_DIR"/mock.?????? 2>/dev/null | head -1)
    [ -n "$SK_MOCK_OUT" ] || sk_fail "cannot find the mock cluster's output"
    FT_CTL_COUNT=0
    export SK_MOCK_CTL SK_MOCK_OUT
}

# sk_mock_ctl COMMAND... - send one control command to the mock cluster
# and wait for its answer; fail unless it is "ok".
sk_mock_ctl()
{
    local cmd="$*" line
    FT_CTL_COUNT=$((FT_CTL_COUNT + 1))
    timeout 10 bash -c 'printf "%s\n" "$1" >"$2"' _ "$cmd" "$SK_MOCK_CTL" ||
        sk_fail "cannot send '$cmd' to the mock cluster"
    sk_wait_for "grep -q '^control $FT_CTL_COUNT ' '$SK_MOCK_OUT'" 30 ||
        sk_fail "the mock cluster never answered '$cmd'"
    line=$(grep -m1 "^control $FT_CTL_COUNT " "$SK_MOCK_OUT")
    case $line in
    "control $FT_CTL_COUNT ok "*) sk_log "mock: $cmd" ;;
    *) sk_fail "mock control: $line" ;;
    esac
}

# sk_fault_events COUNT ACCOUNTS SEED [DAYS] - generate $FT_DIR/events.jsonl
# (see fault_events.py) and its single offline pass (sk_fault_expect).
sk_fault_events()
{
    python3 "$FT_EVENTS_PY" "$1" "$2" "$3" 2026-11-05T10:00:00Z "${4:-20}" \
        >"$FT_DIR/events.jsonl" || sk_fail "cannot generate the events"
    sk_fault_expect "$FT_DIR/events.jsonl"
}

# sk_fault_expect FILE... - the single offline pass over every event the
# test will produce (FILEs in order, each in time order per account):
# offline.jsonl (scores at NOW), offline-ids (sorted alert ids),
# expected.counts ("account count" lines, by account).  Sets NOW (the
# latest event time), FT_EVENTS_IN, and the clock at the earliest event:
# until every event is in, no account is evaluated past an event still
# to come (see sk_wait_applied in daemon_lib.sh).
sk_fault_expect()
{
    local all=$FT_DIR/expected.jsonl
    cat "$@" >"$all"
    NOW=$(sk_iso "$(sk_latest_ts "$all")")
    sk_clock_set "$(sk_iso "$(sk_earliest_ts "$all")")"
    sk_offline_scores "$all" "$NOW" "$FT_DIR/offline.jsonl"
    "$SK" score --rules "$SK_DAEMON_RULES" --now "$NOW" --alerts "$all" |
        jq -r .id | sort -u >"$FT_DIR/offline-ids" ||
        sk_fail "offline alerts failed"
    jq -r .account "$all" | sort | uniq -c | awk '{print $2, $1}' >"$FT_DIR/expected.counts"
    FT_EVENTS_IN=$(wc -l <"$all")
    export NOW FT_EVENTS_IN
    sk_log "$FT_EVENTS_IN events over $(wc -l <"$FT_DIR/expected.counts") accounts up to $NOW," \
        "$(wc -l <"$FT_DIR/offline-ids") alerts offline"
}

# sk_fault_stream FILE CHUNKS PAUSE [TOPIC] - produce FILE in CHUNKS
# pieces in the background, PAUSE seconds apart; each piece's name is
# appended to $FT_DIR/produced once delivered.  Sets FT_PRODUCER (pid).
# With FT_GATED=1, piece N waits until sk_fault_gate has said N or more,
# so a test can keep events in flight across phases of any length.
sk_fault_stream()
{
    local file=$1 chunks=$2 pause=$3 topic=${4:-telemetry} dir
    dir=$(sk_tmpdir "chunks-$RANDOM")
    split -n "l/$chunks" -d -a 4 "$file" "$dir/chunk."
    [ -f "$FT_DIR/gate" ] || echo 0 >"$FT_DIR/gate"
    (
        i=0
        for f in "$dir"/chunk.*; do
            i=$((i + 1))
            while [ "${FT_GATED:-0}" = 1 ] && [ "$(cat "$FT_DIR/gate")" -lt "$i" ]; do
                sleep 0.1
            done
            "$SK" produce --brokers "$SK_BROKERS" --topic "$topic" "$f" \
                2>>"$FT_DIR/produce.log" || exit 1
            echo "$f" >>"$FT_DIR/produced"
            sleep "$pause"
        done
    ) &
    FT_PRODUCER=$!
    sk_track_pid "$FT_PRODUCER"
}

# sk_fault_gate [+]N - let a gated producer go up to piece N (or N more).
sk_fault_gate()
{
    local n=$1 at
    at=$(cat "$FT_DIR/gate" 2>/dev/null || echo 0)
    case $n in +*) n=$((at + ${n#+})) ;; esac
    echo "$n" >"$FT_DIR/gate.tmp" && mv "$FT_DIR/gate.tmp" "$FT_DIR/gate"
}

# sk_fault_produced - how many chunks were delivered so far.
sk_fault_produced()
{
    [ -f "$FT_DIR/produced" ] && wc -l <"$FT_DIR/produced" || echo 0
}

# sk_fault_counts OUT - "account events_applied" for every expected
# account, from Redis in one pipelined round trip (0 when absent).
sk_fault_counts()
{
    paste -d' ' <(cut -d' ' -f1 "$FT_DIR/expected.counts") \
        <(cut -d' ' -f1 "$FT_DIR/expected.counts" | xargs "$SK_BIN/scorekeeper" show \
            --redis "127.0.0.1:$SK_REDIS_PORT" --field events_applied 2>/dev/null |
            sed 's/^$/0/') >"$1"
}

# sk_fault_applied - the sum of events_applied over the expected accounts.
sk_fault_applied()
{
    sk_fault_counts "$FT_DIR/applied.counts"
    awk '{s += $2} END {print s + 0}' "$FT_DIR/applied.counts"
}

# sk_fault_wait_applied [TIMEOUT] - wait until the stored counts add up to
# the events in (or more: the verdict tells a double count from a loss).
sk_fault_wait_applied()
{
    sk_wait_for "[ \$(sk_fault_applied) -ge $FT_EVENTS_IN ]" "${1:-180}" ||
        sk_log "only $(sk_fault_applied) of $FT_EVENTS_IN events applied in time"
}

# sk_fault_losses - set FT_LOST and FT_DOUBLE from the stored counts.
sk_fault_losses()
{
    sk_fault_counts "$FT_DIR/applied.counts"
    read -r FT_LOST FT_DOUBLE FT_APPLIED < <(join "$FT_DIR/expected.counts" \
        "$FT_DIR/applied.counts" | awk '
        { d = $3 - $2; if (d < 0) lost -= d; else dbl += d; s += $3 }
        END { print lost + 0, dbl + 0, s + 0 }')
}

# sk_fault_scores OUT - `scorekeeper show --json --now $NOW` of every
# expected account, in account order (two at a time).
sk_fault_scores()
{
    cut -d' ' -f1 "$FT_DIR/expected.counts" |
        xargs -P 2 -n 50 sh -c 'for a; do
            "$0" show "$a" --redis "$SK_REDIS_ADDR" --rules "$SK_DAEMON_RULES" \
                --now "$NOW" --json 2>/dev/null ||
                echo "{\"account\":\"$a\",\"missing\":true}"
        done' "$SK" | jq -S -c . | sort >"$1"
}

# sk_fault_alert_diff - FT_ALERTS (distinct ids on the topic), FT_ALERTS_LOST
# (offline ids missing there) and FT_ALERTS_EXTRA (ids offline never made).
sk_fault_alert_diff()
{
    sk_alert_ids "$FT_DIR/topic-ids"
    FT_ALERTS=$(wc -l <"$FT_DIR/topic-ids")
    FT_ALERTS_LOST=$(comm -23 "$FT_DIR/offline-ids" "$FT_DIR/topic-ids" | wc -l)
    FT_ALERTS_EXTRA=$(comm -13 "$FT_DIR/offline-ids" "$FT_DIR/topic-ids" | wc -l)
}

# sk_fault_verify [EXTRA FIGURES...] - the verdict (see the top of this
# file).  Waits for every event to be applied and every alert to arrive,
# moves the clock to NOW, then compares; fails (with the figures line)
# on any loss, double count, score difference, alert difference or
# index out of step.  Passing, it keeps the figures for sk_fault_report.
sk_fault_verify()
{
    local deadline
    export SK_DAEMON_RULES
    sk_fault_wait_applied 180
    sk_clock_set "$NOW"
    sk_jq_sort_offline
    # The scheduler may still be producing time-driven alerts for NOW:
    # compare until equal or the deadline.
    deadline=$((SECONDS + 90))
    while :; do
        sk_fault_losses
        sk_fault_scores "$FT_DIR/stored.jsonl"
        sk_fault_alert_diff
        sk_fault_index_check
        if [ "$FT_LOST" = 0 ] && [ "$FT_DOUBLE" = 0 ] && [ "$FT_INDEX_BAD" = 0 ] &&
            [ "$FT_ALERTS_LOST" = 0 ] && [ "$FT_ALERTS_EXTRA" = 0 ] &&
            cmp -s "$FT_DIR/offline.sorted" "$FT_DIR/stored.jsonl"; then
            break
        fi
        [ "$FT_DOUBLE" = 0 ] || break # a double count never heals
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 1
    done
    FT_FIGURES="alerts=$FT_ALERTS lost=$FT_LOST double_counted=$FT_DOUBLE"
    FT_FIGURES+=" alerts_lost=$FT_ALERTS_LOST alerts_extra=$FT_ALERTS_EXTRA"
    FT_FIGURES+=" index_mismatch=$FT_INDEX_BAD${*:+ $*}"
    if [ "$FT_DOUBLE" != 0 ] || [ "$FT_LOST" != 0 ] || [ "$FT_INDEX_BAD" != 0 ] ||
        [ "$FT_ALERTS_LOST" != 0 ] || [ "$FT_ALERTS_EXTRA" != 0 ]; then
        sk_fault_report
    fi
    [ "$FT_DOUBLE" = 0 ] || sk_fail "$FT_DOUBLE events were counted twice"
    [ "$FT_LOST" = 0 ] || sk_fail "$FT_LOST events were lost"
    if ! cmp -s "$FT_DIR/offline.sorted" "$FT_DIR/stored.jsonl"; then
        diff "$FT_DIR/offline.sorted" "$FT_DIR/stored.jsonl" | head -20 >&2
        sk_fail "scores in Redis differ from the single pass at $NOW"
    fi
    if [ "$FT_ALERTS_LOST" != 0 ] || [ "$FT_ALERTS_EXTRA" != 0 ]; then
        comm -3 "$FT_DIR/offline-ids" "$FT_DIR/topic-ids" | head -10 >&2
        sk_fail "alerts: $FT_ALERTS_LOST lost, $FT_ALERTS_EXTRA not made by the single pass"
    fi
    [ "$FT_INDEX_BAD" = 0 ] ||
        sk_fail "$FT_INDEX_BAD accounts missing from their indexes or at a stale score"
}

# sk_fault_report [EXTRA FIGURES...] - the figures line of the test,
# once its daemons are stopped: what sk_fault_verify measured, with the
# duplicates skipped (summed over the exit lines of every daemon of the
# test: one killed with SIGKILL prints none) and the dead letters (the
# distinct source messages on the dead-letter topic).
sk_fault_report()
{
    local dl
    "$SK" dlq --brokers "$SK_BROKERS" --from-beginning --idle-exit 2 --json \
        >"$FT_DIR/dlq-all.jsonl" 2>>"$FT_DIR/dlq.log" || sk_fail "scorekeeper dlq failed"
    dl=$(jq -r '"\(.source_topic)/\(.source_partition)/\(.source_offset)"' \
        "$FT_DIR/dlq-all.jsonl" | sort -u | wc -l)
    sk_figures "events_in=$FT_EVENTS_IN applied=$FT_APPLIED" \
        "duplicates_skipped=${FT_DUPLICATES:-$(sk_fault_log_sum duplicates)}" \
        "dead_lettered=$dl $FT_FIGURES${*:+ $*}"
}

# sk_jq_sort_offline - the offline lines in the form sk_fault_scores
# prints (keys sorted, one line each, lines sorted).
sk_jq_sort_offline()
{
    jq -S -c . "$FT_DIR/offline.jsonl" | sort >"$FT_DIR/offline.sorted"
}

# sk_fault_log_sum FIGURE - FIGURE summed over the exit lines of every
# daemon log of the test (a daemon killed with SIGKILL prints none).
sk_fault_log_sum()
{
    cat "$FT_DIR"/*.log 2>/dev/null | grep 'msg="stopped"' |
        grep -o " $1=[0-9]*" | cut -d= -f2 | awk '{s += $1} END {print s + 0}'
}

# sk_fault_lag OUT - `scorekeeper lag --json` of the daemons' group into
# OUT; prints the total lag.
sk_fault_lag()
{
    "$SK" lag --brokers "$SK_BROKERS" --group "${SK_DAEMON_GROUP:-scorekeeper}" \
        --json >"$1" 2>>"$FT_DIR/lag.log" || return 1
    jq .total_lag "$1"
}

# sk_fault_committed - "topic/partition offset" of every input partition
# the group has committed, sorted ("-" for none).
sk_fault_committed()
{
    local f=$FT_DIR/lag.json
    sk_fault_lag "$f" >/dev/null || return 1
    jq -r '.partitions[] | "\(.topic)/\(.partition) \(.current_offset // "-")"' "$f" | sort
}

# sk_fault_rss PID - resident set size of PID in KiB.
sk_fault_rss()
{
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# sk_fault_use_redis NAME - make the redis-server saved as NAME (see
# sk_fault_save_redis) the one SK_REDIS_* and sk_redis_cli point at.
sk_fault_use_redis()
{
    eval "SK_REDIS_PORT=\$FT_REDIS_${1}_PORT SK_REDIS_PID=\$FT_REDIS_${1}_PID"
    eval "SK_REDIS_DIR=\$FT_REDIS_${1}_DIR"
    SK_REDIS_ADDR=127.0.0.1:$SK_REDIS_PORT
    export SK_REDIS_PORT SK_REDIS_PID SK_REDIS_ADDR SK_REDIS_DIR
}

# sk_fault_save_redis NAME OPTIONS... - remember the current redis-server
# as NAME, with the options it was started with (for restarts).
sk_fault_save_redis()
{
    local name=$1
    shift
    eval "FT_REDIS_${name}_PORT=\$SK_REDIS_PORT FT_REDIS_${name}_PID=\$SK_REDIS_PID"
    eval "FT_REDIS_${name}_DIR=\$SK_REDIS_DIR"
    eval "FT_REDIS_${name}_OPTS=(\"\$@\")"
}

# sk_fault_redis_kill NAME - SIGKILL the redis-server saved as NAME.
sk_fault_redis_kill()
{
    local pid
    eval "pid=\$FT_REDIS_${1}_PID"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# sk_fault_redis_restart NAME - start the redis-server saved as NAME
# again, on its port, in its folder (so it reloads its append-only file),
# with its options; returns once it answers PING (not LOADING).
sk_fault_redis_restart()
{
    local name=$1 port dir pid opts
    eval "port=\$FT_REDIS_${name}_PORT dir=\$FT_REDIS_${name}_DIR"
    eval "opts=(\"\${FT_REDIS_${name}_OPTS[@]}\")"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
        --save "" --appendonly no --daemonize no \
        --logfile "$dir/redis.log" "${opts[@]}" >/dev/null 2>&1 &
    pid=$!
    sk_track_pid "$pid"
    eval "FT_REDIS_${name}_PID=$pid"
    sk_wait_for "kill -0 $pid && [ \"\$(redis-cli -h 127.0.0.1 -p $port ping)\" = PONG ]" 60 ||
        sk_fail "redis-server $name did not come back on port $port"
    sk_log "redis-server $name back: pid $pid on port $port"
}

# sk_fault_index_check - FT_INDEX_BAD: accounts whose derived data
# disagree with their hash: not in PREFIX:idx:score at their customer
# score, or not in the index of their health tier.
sk_fault_index_check()
{
    cut -d' ' -f1 "$FT_DIR/expected.counts" >"$FT_DIR/index.accts"
    # account, customer (record), score (index), health (record)
    paste -d' ' "$FT_DIR/index.accts" \
        <(xargs "$SK_BIN/scorekeeper" show --redis "127.0.0.1:$SK_REDIS_PORT" \
            --field customer <"$FT_DIR/index.accts" 2>/dev/null | sed 's/^$/-/') \
        <(awk '{ printf "ZSCORE sk:idx:score %s\n", $1 }' "$FT_DIR/index.accts" |
            sk_redis_cli 2>/dev/null | sed 's/^$/-/') \
        <(xargs "$SK_BIN/scorekeeper" show --redis "127.0.0.1:$SK_REDIS_PORT" \
            --field health <"$FT_DIR/index.accts" 2>/dev/null | sed 's/^$/-/') \
        >"$FT_DIR/index.check"
    awk '{ printf "ZSCORE sk:idx:health:%s %s\n", $4, $1 }' "$FT_DIR/index.check" |
        sk_redis_cli 2>/dev/null | sed 's/^$/-/' >"$FT_DIR/index.health"
    FT_INDEX_BAD=$(paste -d' ' "$FT_DIR/index.check" "$FT_DIR/index.health" | awk '
        $2 == "-" || $3 == "-" || $5 == "-" { bad++; next }
        { d = $2 - $3; if (d < 0) d = -d; if (d > 1e-6) bad++ }
        END { print bad + 0 }')
}

# sk_fault_verify_no_double [EXTRA FIGURES...] - the weaker verdict for a
# store that may lose acknowledged writes (Redis with appendfsync
# everysec): once the producer is done and the group has committed the
# end of every partition, no event may be counted twice.  Losses are
# counted and printed, not failed on.
sk_fault_verify_no_double()
{
    sk_wait_for "[ \"\$(sk_fault_lag '$FT_DIR/lag-nd.json')\" = 0 ]" 180 ||
        sk_fail "the group never caught up (lag $(sk_fault_lag "$FT_DIR/lag-nd.json"))"
    sk_fault_losses
    sk_fault_alert_diff
    FT_FIGURES="alerts=$FT_ALERTS lost=$FT_LOST double_counted=$FT_DOUBLE"
    FT_FIGURES+=" alerts_lost=$FT_ALERTS_LOST alerts_extra=$FT_ALERTS_EXTRA${*:+ $*}"
    [ "$FT_DOUBLE" = 0 ] || { sk_fault_report; sk_fail "$FT_DOUBLE events were counted twice"; }
}
