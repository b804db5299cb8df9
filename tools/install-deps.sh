#!/usr/bin/env bash
# install-deps.sh - install the Debian packages scorekeeper builds, tests
# and validates its deployment files with.
#
# Quick and quiet when everything is there: one dpkg-query, no apt.  When
# something is missing it runs `apt-get update` once and installs only the
# missing packages, without recommends, through sudo when not root.
# Packages marked optional are skipped with a warning when the release has
# no such package (the steps needing them then skip themselves); a missing
# required package is an error.
#
# Usage: tools/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is
set -euo pipefail

required=(
    build-essential cmake pkg-config
    librdkafka-dev libmsgpack-dev libhiredis-dev libyaml-dev libjansson-dev
    libmicrohttpd-dev libcurl4-openssl-dev libcriterion-dev
    redis-server kcat python3 python3-yaml jq
)
# clang + its runtime libraries build the libFuzzer targets; promtool comes
# with the prometheus package; systemd-analyze with systemd.
optional=(
    clang libclang-rt-14-dev clang-format prometheus systemd
)

check_only=0
case "${1:-}" in
--check) check_only=1 ;;
"") ;;
-h | --help)
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
    exit 0
    ;;
*)
    echo "install-deps: unknown option: $1" >&2
    exit 2
    ;;
esac

# Prints those of the named packages that are not installed.
missing_of() {
    local have
    have=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
        awk '/ ok installed$/ { sub(/:.*/, "", $1); print $1 }' || true)
    local pkg
    for pkg in "$@"; do
        grep -qxF -- "$pkg" <<<"$have" || printf '%s\n' "$pkg"
    done
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: not a Debian system; install the equivalents of:" >&2
    echo "  ${required[*]} ${optional[*]}" >&2
    exit "$check_only"
fi

mapfile -t miss_req < <(missing_of "${required[@]}")
mapfile -t miss_opt < <(missing_of "${optional[@]}")
if ((${#miss_req[@]} + ${#miss_opt[@]} == 0)); then
    exit 0
fi

if ((check_only)); then
    echo "install-deps: missing: ${miss_req[*]} ${miss_opt[*]}"
    exit 1
fi

sudo=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps: not root and no sudo; as root run:" >&2
        echo "  apt-get install -y --no-install-recommends" \
            "${miss_req[*]} ${miss_opt[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${miss_req[*]} ${miss_opt[*]}"
"${sudo[@]}" apt-get update -q

# An optional package this release does not have is left out.
install=("${miss_req[@]}")
for pkg in "${miss_opt[@]}"; do
    if apt-cache show "$pkg" >/dev/null 2>&1; then
        install+=("$pkg")
    else
        echo "install-deps: warning: no package $pkg here; skipping it" >&2
    fi
done
((${#install[@]})) || exit 0

"${sudo[@]}" apt-get install -y -q --no-install-recommends "${install[@]}"

mapfile -t still < <(missing_of "${miss_req[@]}")
if ((${#still[@]})); then
    echo "install-deps: still missing: ${still[*]}" >&2
    exit 1
fi
