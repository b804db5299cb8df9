#!/usr/bin/env bash
# demo.sh - scorekeeper end to end in one command, on a Debian machine:
#
#     tools/demo.sh
#
# It installs the build dependencies that are missing (apt-get, as root or
# through sudo), builds the programs (CMake, Release, into build/), starts
# a private redis-server and scorekeeperd with its embedded Kafka cluster,
# sends a 60-day scenario of eight customer accounts through Kafka, prints
# the alerts as scorekeeperd publishes them and then the accounts with
# their scores, tiers and flags, and stops everything it started.
#
# Options:
#   --no-install   do not check or install packages
#   --no-build     use the programs already built (in $SK_BIN, default build/)
#   --keep         leave redis-server and scorekeeperd running until Ctrl-C,
#                  to try the other commands
#   --help         this text
#
# Nothing is written outside build/ and one temporary folder, which is
# removed at the end; the servers listen on free 127.0.0.1 ports only.

set -euo pipefail

PACKAGES=(build-essential cmake pkg-config librdkafka-dev libmsgpack-dev
    libhiredis-dev libyaml-dev libjansson-dev libmicrohttpd-dev
    libcurl4-openssl-dev libcriterion-dev redis-server)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${SK_BIN:-$ROOT/build}
IDLE_SECONDS=${SK_DEMO_IDLE:-8}
install=1 build=1 keep=0

for arg in "$@"; do
    case $arg in
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    -h | --help)
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "demo.sh: unknown option '$arg' (see --help)" >&2
        exit 2
        ;;
    esac
done

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() {
    echo "demo.sh: $*" >&2
    exit 1
}

# ---- cleanup: stop what we started, by PID ------------------------------
PIDS=()
TMP=
cleanup()
{
    local status=$? pid i
    trap - EXIT INT TERM
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$TMP" ]; then
        if [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then
            for f in "$TMP"/*.log; do
                [ -s "$f" ] || continue
                echo "---- last lines of $(basename "$f")" >&2
                tail -n 15 "$f" >&2
            done
        fi
        rm -rf "$TMP"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS CMD... - run CMD every 0.2 s until it succeeds.
wait_for()
{
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# ---- 1. packages ------------------------------------------------------------
if [ "$install" = 1 ]; then
    if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
        missing=()
        for p in "${PACKAGES[@]}"; do
            status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
            [ "$status" = installed ] || missing+=("$p")
        done
        if [ ${#missing[@]} -gt 0 ]; then
            step "Installing ${missing[*]}"
            if [ "$(id -u)" = 0 ]; then
                SUDO=()
            elif command -v sudo >/dev/null; then
                SUDO=(sudo)
            else
                die "missing packages and neither root nor sudo: run as root
    apt-get install ${missing[*]}"
            fi
            "${SUDO[@]}" apt-get update -q
            "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -q --no-install-recommends "${missing[@]}"
        fi
    else
        echo "demo.sh: not a Debian system; make sure these (or their" \
            "equivalents) are installed: ${PACKAGES[*]}" >&2
    fi
fi
command -v redis-server >/dev/null || die "redis-server is not installed"

# ---- 2. build ---------------------------------------------------------------
if [ "$build" = 1 ]; then
    step "Building scorekeeper (Release) in ${BUILD_DIR#"$ROOT"/}"
    # warnings are errors for development, not for a first run elsewhere
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSK_WERROR=OFF >/dev/null
    cmake --build "$BUILD_DIR" --target scorekeeper scorekeeperd \
        -j "$(nproc 2>/dev/null || echo 2)"
fi
SK=$BUILD_DIR/scorekeeper
SKD=$BUILD_DIR/scorekeeperd
if [ ! -x "$SK" ] || [ ! -x "$SKD" ]; then
    die "$SK and $SKD are not built"
fi
RULES=$ROOT/deploy/rules.yaml

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scorekeeper-demo.XXXXXX")

# ---- 3. redis-server ----------------------------------------------------------
# a port nothing listens on; redis-server refusing it means try another
free_port()
{
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}
redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }
redis_up()
{
    kill -0 "$1" 2>/dev/null || return 2
    if command -v redis-cli >/dev/null; then
        redis_ping "$2"
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null
    fi
}
REDIS_PORT=
for _ in 1 2 3; do
    port=$(free_port) || die "no free port"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$TMP" --save "" \
        --appendonly no --daemonize no --logfile "$TMP/redis.log" >/dev/null 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if wait_for 20 redis_up "$pid" "$port"; then
        REDIS_PORT=$port
        break
    fi
done
[ -n "$REDIS_PORT" ] || die "redis-server did not start"
REDIS=127.0.0.1:$REDIS_PORT
step "redis-server on $REDIS (no persistence, removed at the end)"

# ---- 4. scorekeeperd with its embedded Kafka cluster ---------------------------
step "scorekeeperd with an embedded Kafka cluster"
(cd "$ROOT" && exec "$SKD" --brokers embedded --backfill-horizon off \
    --allow-root --redis "$REDIS" --rules "$RULES" --group scorekeeper-demo) \
    >"$TMP/scorekeeperd.out" 2>"$TMP/scorekeeperd.log" &
DAEMON=$!
PIDS+=("$DAEMON")
bootstrap_logged() { grep -q 'bootstrap=' "$TMP/scorekeeperd.log"; }
wait_for 60 bootstrap_logged || die "scorekeeperd logged no bootstrap address"
BROKERS=$(grep -m1 -o 'bootstrap=[^ ]*' "$TMP/scorekeeperd.log" | cut -d= -f2)
consuming() { grep -q 'partitions assigned' "$TMP/scorekeeperd.log"; }
wait_for 60 consuming || echo "demo.sh: scorekeeperd has not logged its partitions yet; going on" >&2
kill -0 "$DAEMON" 2>/dev/null || die "scorekeeperd exited"
echo "Kafka bootstrap $BROKERS; log $TMP/scorekeeperd.log"

# ---- 5. the scenario ---------------------------------------------------------------
"$SK" sample >"$TMP/sample.jsonl"
billing='"type":"(payment_[a-z]+|renewal)"'
grep -E "$billing" "$TMP/sample.jsonl" >"$TMP/billing.jsonl" || true
grep -vE "$billing" "$TMP/sample.jsonl" >"$TMP/telemetry.jsonl" || true
step "Sending $(wc -l <"$TMP/sample.jsonl") events of 8 accounts over the last 60 days" \
    "($(wc -l <"$TMP/telemetry.jsonl") to telemetry, $(wc -l <"$TMP/billing.jsonl") to billing)"
cat <<'EOF'
  northwind  climbs the points stages       bluebird  goes silent
  cobalt     misses meetings                dunmore   payments fail
  evergreen  raises flags, then recovers    fjord     an upsell candidate
  granite    a detractor ignoring outreach  harbor    single-threaded
EOF

step "Alerts, as scorekeeperd publishes them"
printf '%-16s  %-23s  %-12s  %-21s  %s\n' TIME KIND ACCOUNT "FROM → TO" REASON
"$SK" alerts --brokers "$BROKERS" --from-beginning --idle-exit "$IDLE_SECONDS" \
    --format text 2>"$TMP/alerts.log" &
ALERTS=$!
PIDS+=("$ALERTS")
"$SK" produce --brokers "$BROKERS" --topic telemetry "$TMP/telemetry.jsonl" 2>"$TMP/produce.log" ||
    die "sending to telemetry failed"
"$SK" produce --brokers "$BROKERS" --topic billing "$TMP/billing.jsonl" 2>>"$TMP/produce.log" ||
    die "sending to billing failed"
wait "$ALERTS" || die "reading the alerts failed"

step "Accounts, by customer score"
"$SK" top --redis "$REDIS" --limit 0

if [ "$keep" = 0 ]; then
    echo
    echo "Done; everything the demo started is stopped.  Run it with --keep to"
    echo "look around (scorekeeper show, top, alerts) before it stops."
else
    cat <<EOF
Still running (Ctrl-C stops everything):
  Kafka bootstrap  $BROKERS
  Redis            $REDIS
  scorekeeperd     pid $DAEMON, log $TMP/scorekeeperd.log
Try, in another terminal, in $ROOT:
  ${SK#"$ROOT"/} show bluebird --redis $REDIS
  ${SK#"$ROOT"/} top --redis $REDIS --flag no_login_30d
  ${SK#"$ROOT"/} alerts --brokers $BROKERS --from-beginning --format text
EOF
    while kill -0 "$DAEMON" 2>/dev/null; do sleep 1; done
    die "scorekeeperd stopped"
fi
