# lib.sh - what every integration test sources: a temporary folder, free
# loopback ports, a redis-server and a mock Kafka cluster of its own, a
# polling helper, and one cleanup that kills by PID everything the test
# started.
#
# Usage, at the top of tests/integration/test_<name>.sh:
#
#     . "$(dirname "$0")/lib.sh"
#     sk_start_redis                  # SK_REDIS_PORT, SK_REDIS_PID, SK_REDIS_ADDR
#     sk_start_mock                   # SK_BROKERS, SK_MOCK_PID
#     sk_wait_for "grep -q ready $(sk_tmpdir)/log" 30 || sk_fail "never ready"
#
# Environment: SK_BIN (the build folder holding the programs; ctest sets
# it, default SK_SOURCE_DIR/build) and SK_SOURCE_DIR (the source tree;
# default the folder two levels above this file).  SK_KEEP_TMP=1 keeps
# the temporary folder after the test, for reading the logs.
#
# DESIGN: nothing here sleeps for a fixed time to let something happen;
# every wait polls for the condition it needs, with a timeout generous
# enough for a loaded two-core machine, so tests are never timed.  Every
# process is started in the background of this shell and remembered by
# PID; the EXIT trap stops those and only those.

set -u
set -o pipefail

SK_SOURCE_DIR=${SK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SK_BIN=${SK_BIN:-$SK_SOURCE_DIR/build}
SK_TEST_NAME=${SK_TEST_NAME:-$(basename "$0" .sh)}
export SK_SOURCE_DIR SK_BIN SK_TEST_NAME
# Daemons started by tests serve no HTTP unless the test asks for it
# (--metrics-listen 127.0.0.1:PORT), so tests running side by side never
# compete for the default port 9187.
export SCOREKEEPER_METRICS_LISTEN=${SCOREKEEPER_METRICS_LISTEN:-off}

SK_PIDS=()

# The temporary folder exists from the moment the library is sourced, so
# `$(sk_tmpdir)` works in a subshell too.
SK_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/sk-${SK_TEST_NAME}.XXXXXX") || {
    echo "FAIL: cannot create a temporary folder" >&2
    exit 1
}
export SK_TMPDIR

# sk_log MSG... - a progress line on stderr, prefixed with the test name.
sk_log()
{
    echo "[$SK_TEST_NAME] $*" >&2
}

# sk_tmpdir [NAME] - print the test's temporary folder, or a subfolder
# NAME of it (created).
sk_tmpdir()
{
    if [ $# -gt 0 ]; then
        mkdir -p "$SK_TMPDIR/$1" && echo "$SK_TMPDIR/$1"
    else
        echo "$SK_TMPDIR"
    fi
}

# sk_track_pid PID - have sk_cleanup stop PID at exit.
sk_track_pid()
{
    SK_PIDS+=("$1")
}

# sk_stop PID [TIMEOUT] - send SIGTERM, wait up to TIMEOUT seconds
# (default 20) for PID to exit, then SIGKILL.  Returns the process's exit
# status when it is a child of this shell, 0 otherwise.
sk_stop()
{
    local pid=$1 timeout=${2:-20} i status=0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        sk_log "pid $pid ignored SIGTERM for ${timeout}s: killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null || status=$?
    return $status
}

# sk_cleanup - stop every tracked process (newest first) and remove the
# temporary folder (kept with SK_KEEP_TMP=1).  Runs on EXIT.
sk_cleanup()
{
    local status=$? i
    trap - EXIT
    for ((i = ${#SK_PIDS[@]} - 1; i >= 0; i--)); do
        sk_stop "${SK_PIDS[$i]}" 10 || true
    done
    SK_PIDS=()
    if [ "${SK_KEEP_TMP:-0}" = 1 ]; then
        sk_log "kept $SK_TMPDIR"
    else
        rm -rf "$SK_TMPDIR"
    fi
    exit "$status"
}
trap sk_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# sk_fail MSG... - report a failure, show the tail of every log in the
# temporary folder, and exit 1.
sk_fail()
{
    local f
    echo "FAIL: [$SK_TEST_NAME] $*" >&2
    for f in "$SK_TMPDIR"/*.log "$SK_TMPDIR"/*/*.log; do
        [ -f "$f" ] || continue
        echo "---- last lines of ${f#"$SK_TMPDIR"/}" >&2
        tail -n 20 "$f" >&2
    done
    exit 1
}

# sk_pass [MSG] - the closing line of a passing test.
sk_pass()
{
    echo "PASS: [$SK_TEST_NAME] ${*:-ok}"
}

# sk_require PROGRAM... - fail unless every PROGRAM is on PATH or in SK_BIN.
sk_require()
{
    local p
    for p in "$@"; do
        [ -x "$SK_BIN/$p" ] || command -v "$p" >/dev/null 2>&1 ||
            sk_fail "needs '$p' (not in PATH nor in $SK_BIN)"
    done
}

# sk_assert_eq EXPECTED ACTUAL WHAT - fail when they differ.
sk_assert_eq()
{
    [ "$1" = "$2" ] || sk_fail "$3: expected '$1', got '$2'"
}

# sk_assert_contains HAYSTACK NEEDLE WHAT - fail unless NEEDLE is in it.
sk_assert_contains()
{
    case $1 in
    *"$2"*) ;;
    *) sk_fail "$3: '$2' not found in: $1" ;;
    esac
}

# sk_assert_not_contains HAYSTACK NEEDLE WHAT
sk_assert_not_contains()
{
    case $1 in
    *"$2"*) sk_fail "$3: '$2' unexpectedly found in: $1" ;;
    *) ;;
    esac
}

# sk_figures KEY=VALUE... - one line of measured figures on stdout, for
# whoever reads the test log: "figures: <test> key=value ...".
sk_figures()
{
    echo "figures: $SK_TEST_NAME $*"
}

# sk_free_port - print a TCP port that nothing listens on at 127.0.0.1.
# Another process may take it before it is used; the starters retry.
sk_free_port()
{
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' && return 0
    fi
    local port i
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# sk_wait_for CMD [TIMEOUT] - evaluate CMD (a string, quiet) every 0.1 s
# until it succeeds; returns 1 after TIMEOUT seconds (default 30).
sk_wait_for()
{
    local cmd=$1 timeout=${2:-30} deadline
    deadline=$((SECONDS + timeout))
    while :; do
        if eval "$cmd" >/dev/null 2>&1; then
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# sk_redis_cli ARGS... - redis-cli against the test's redis-server.
sk_redis_cli()
{
    redis-cli -h 127.0.0.1 -p "$SK_REDIS_PORT" "$@"
}

# sk_field FIELD ACCOUNT... [--prefix P] - a stored field of each account,
# a line each (empty when absent), as `scorekeeper show --field` reads it
# from the redis-server of sk_start_redis.
sk_field()
{
    local field=$1
    shift
    "$SK_BIN/scorekeeper" show --redis "127.0.0.1:$SK_REDIS_PORT" \
        --field "$field" "$@"
}

# sk_start_redis [REDIS-SERVER OPTIONS...] - a redis-server on a free
# 127.0.0.1 port, without persistence (options given here come after the
# defaults, so they win), its files and log in the temporary folder.
# Exports SK_REDIS_PORT, SK_REDIS_PID, SK_REDIS_ADDR (127.0.0.1:PORT) and
# SK_REDIS_DIR; returns once it answers PING.
sk_start_redis()
{
    sk_require redis-server redis-cli
    local try port dir pid
    for try in 1 2 3; do
        port=$(sk_free_port) || sk_fail "no free port"
        dir=$(sk_tmpdir "redis-$port")
        redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
            --save "" --appendonly no --daemonize no \
            --logfile "$dir/redis.log" "$@" >/dev/null 2>&1 &
        pid=$!
        sk_track_pid "$pid"
        if sk_wait_for "kill -0 $pid && [ \"\$(redis-cli -h 127.0.0.1 -p $port ping)\" = PONG ]" 30; then
            export SK_REDIS_PORT=$port SK_REDIS_PID=$pid
            export SK_REDIS_ADDR=127.0.0.1:$port SK_REDIS_DIR=$dir
            sk_log "redis-server pid $pid on $SK_REDIS_ADDR"
            return 0
        fi
        sk_stop "$pid" 5 || true
        sk_log "redis-server did not start on port $port (try $try)"
    done
    sk_fail "could not start redis-server"
}

# sk_start_mock [SK-MOCKCLUSTER OPTIONS...] - sk-mockcluster in the
# background (its log in the temporary folder).  Exports SK_BROKERS (the
# bootstrap address) and SK_MOCK_PID; returns once the address is known.
sk_start_mock()
{
    local bin=$SK_BIN/sk-mockcluster out pid line
    [ -x "$bin" ] || sk_fail "$bin is not built"
    out=$(mktemp "$SK_TMPDIR/mock.XXXXXX")
    "$bin" "$@" >"$out" 2>"$out.log" &
    pid=$!
    sk_track_pid "$pid"
    sk_wait_for "! kill -0 $pid || grep -q '^bootstrap=' '$out'" 60 ||
        sk_fail "sk-mockcluster printed no bootstrap address"
    line=$(grep -m1 '^bootstrap=' "$out") ||
        sk_fail "sk-mockcluster exited before it was ready"
    export SK_BROKERS=${line#bootstrap=} SK_MOCK_PID=$pid
    sk_log "sk-mockcluster pid $pid on $SK_BROKERS"
}
