#!/usr/bin/env bash
# run.sh - build every libFuzzer target (tests/fuzz/fuzz_*.c) with clang
# and run each for a while on a copy of its seed corpus; fail on any
# crash, leak, timeout or out-of-memory.
#
# usage: tests/fuzz/run.sh [BUILD_DIR] [SECONDS]
#   BUILD_DIR  where to configure and build (default: build-fuzz)
#   SECONDS    how long each target runs (default: 30)
#
# Seeds come from tests/fuzz/corpus/<target>/; the JSON event target also
# gets every line of tests/fixtures/events/*.jsonl as one input each.
# The seeds in the source tree are never written to: libFuzzer adds what
# it finds to the copy.  The input behind a failure is kept in
# BUILD_DIR/fuzz-artifacts/ and its path is printed.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build-fuzz}
seconds=${2:-30}
case $seconds in
'' | *[!0-9]*)
    echo "run.sh: SECONDS must be a whole number, got '$seconds'" >&2
    exit 2
    ;;
esac

targets=()
for f in "$src"/tests/fuzz/fuzz_*.c; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .c)
    targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "run.sh: no fuzz targets in $src/tests/fuzz" >&2
    exit 2
fi

cmake -S "$src" -B "$build" -DSK_FUZZ=ON -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

failed=()
for t in "${targets[@]}"; do
    corpus="$work/$t"
    mkdir -p "$corpus"
    if [ -d "$src/tests/fuzz/corpus/$t" ]; then
        cp -R "$src/tests/fuzz/corpus/$t/." "$corpus/"
    fi
    if [ "$t" = fuzz_event_json ]; then
        for list in "$src"/tests/fixtures/events/*.jsonl; do
            [ -e "$list" ] || continue
            split -l 1 -a 3 "$list" "$corpus/$(basename "$list" .jsonl)-"
        done
    fi
    log="$work/$t.log"
    echo "== $t: ${seconds}s on $(find "$corpus" -type f | wc -l) seeds"
    if "$build/$t" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t-" "$corpus" >"$log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
    else
        echo "!! $t failed; the last lines of its log:"
        tail -n 40 "$log"
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]} (inputs in $artifacts)" >&2
    exit 1
fi
echo "fuzzing passed: ${targets[*]}"
