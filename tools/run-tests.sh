#!/usr/bin/env bash
# run-tests.sh - the project's test command: every check, in one go.
#
#   1. deps     tools/install-deps.sh (quick when everything is installed)
#   2. build    build-asan/: Debug, AddressSanitizer + UBSan, -Werror
#   3. tests    ctest: unit (Criterion) and integration (real redis-server,
#               mock Kafka), with leak detection; a sanitizer report
#               fails the test
#   4. release  build-release/: the default optimised build (what users
#               and deploy/Dockerfile build), -Werror: the optimiser finds
#               warnings a Debug build does not
#   5. deploy   tools/validate-deploy.sh on deploy/
#   6. fuzz     tests/fuzz/run.sh: each libFuzzer target for a while
#               (needs clang; SK_SKIP_FUZZ=1 or --no-fuzz leaves it out)
#
# Usage: tools/run-tests.sh [--quick] [--no-fuzz]
#   --quick     unit tests only: no integration tests, release build,
#               deploy or fuzz
#   --no-fuzz   everything but the fuzz step
# Environment: SK_JOBS (parallel jobs, default 2), SK_FUZZ_SECONDS (per
# fuzz target, default 30), SK_SKIP_FUZZ=1, SK_SKIP_DEPS=1 (do not look
# for missing packages).
#
# Exits non-zero when any step fails; the last line is a summary.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-asan
jobs=${SK_JOBS:-2}
quick=0
fuzz=1

while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --no-fuzz) fuzz=0 ;;
    -h | --help)
        awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
        exit 0
        ;;
    *)
        echo "run-tests: unknown option: $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
[ -z "${SK_SKIP_FUZZ:-}" ] || fuzz=0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

summary=()
failed=0
started=$SECONDS

# step NAME COMMAND... - run one step, note how it went and how long.
step() {
    local name=$1 t0=$SECONDS rc=0
    shift
    echo
    echo "==== run-tests: $name"
    "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        summary+=("$name ok ($((SECONDS - t0))s)")
    else
        summary+=("$name FAILED")
        failed=1
        echo "==== run-tests: $name FAILED (status $rc)" >&2
    fi
    return "$rc"
}

skip() {
    summary+=("$1 skipped ($2)")
    echo
    echo "==== run-tests: $1 skipped: $2"
}

finish() {
    local verdict=PASS line
    [ "$failed" -eq 0 ] || verdict=FAIL
    line=$(printf '%s, ' "${summary[@]}")
    echo
    echo "run-tests: $verdict: ${line%, }; $((SECONDS - started))s in all"
    exit "$failed"
}

if [ -n "${SK_SKIP_DEPS:-}" ]; then
    skip deps "SK_SKIP_DEPS is set"
else
    step deps "$root/tools/install-deps.sh" || finish
fi

configure_and_build() {
    cmake -S "$root" -B "$build" -DSK_SANITIZE=ON \
        -DCMAKE_BUILD_TYPE=Debug &&
        cmake --build "$build" -j"$jobs"
}
built=0
step build configure_and_build && built=1

if [ "$built" -eq 1 ]; then
    labels=()
    [ "$quick" -eq 0 ] || labels=(-L unit)
    step tests ctest --test-dir "$build" -j"$jobs" --output-on-failure \
        "${labels[@]}"
else
    skip tests "the build failed"
fi

if [ "$quick" -eq 1 ]; then
    skip release "--quick"
    skip deploy "--quick"
    skip fuzz "--quick"
    finish
fi

release_build() {
    cmake -S "$root" -B "$root/build-release" -DSK_WERROR=ON &&
        cmake --build "$root/build-release" -j"$jobs"
}
step release release_build

step deploy env SK_BIN="$build" "$root/tools/validate-deploy.sh"

if [ "$fuzz" -eq 0 ]; then
    skip fuzz "--no-fuzz or SK_SKIP_FUZZ"
elif ! command -v clang >/dev/null 2>&1; then
    skip fuzz "no clang"
elif [ ! -f "$root/tests/fuzz/run.sh" ]; then
    skip fuzz "no tests/fuzz/run.sh"
else
    step fuzz bash "$root/tests/fuzz/run.sh" "$root/build-fuzz" \
        "${SK_FUZZ_SECONDS:-30}"
fi
finish
