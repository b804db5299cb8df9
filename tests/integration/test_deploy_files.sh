#!/usr/bin/env bash
# test_deploy_files.sh - tools/validate-deploy.sh passes on deploy/, and
# fails, naming the problem, on copies of deploy/ broken on purpose.
. "$(dirname "$0")/lib.sh"

validate=$SK_SOURCE_DIR/tools/validate-deploy.sh
T=$(sk_tmpdir)

out=$(bash "$validate" 2>&1) || {
    echo "$out" >&2
    sk_fail "validate-deploy.sh fails on deploy/"
}
echo "$out"
sk_assert_contains "$out" "0 failed" "validate-deploy summary"

# broken NAME SED-SCRIPT FILE EXPECTED - break FILE in a fresh
# copy of deploy/ and expect a failure whose report contains EXPECTED.
broken()
{
    local name=$1 script=$2 file=$3 expected=$4 dir
    dir=$T/$name/deploy
    mkdir -p "$T/$name"
    cp -r "$SK_SOURCE_DIR/deploy" "$dir"
    # What the Dockerfile copies, so that only the planted fault fails.
    for f in CMakeLists.txt include src tools schemas; do
        ln -s "$SK_SOURCE_DIR/$f" "$T/$name/$f"
    done
    sed -i -e "$script" "$dir/$file"
    if out=$(bash "$validate" --deploy-dir "$dir" 2>&1); then
        echo "$out" >&2
        sk_fail "$name: validate-deploy.sh passed a broken $file"
    fi
    sk_assert_contains "$out" "$expected" "$name: report"
}

broken yaml '$a\  - [unclosed' k8s/pdb.yaml "k8s/pdb.yaml: does not parse"
broken probe 's#path: /readyz#path: /ready#' k8s/deployment.yaml \
    "readinessProbe is not GET /readyz on 9187"
broken metric 's/scorekeeper_ready == 0/scorekeeper_redy == 0/' \
    prometheus/alerts.yml "uses scorekeeper_redy"
broken aof 's/noeviction/allkeys-lru/' docker-compose.yml \
    "redis runs without --maxmemory-policy noeviction"
broken json 's/"panels": \[/"panels": [,/' grafana/scorekeeper-dashboard.json \
    "is not JSON"
if command -v promtool >/dev/null 2>&1; then
    broken promql 's/> 1000/> > 1000/' prometheus/alerts.yml \
        "FAIL: promtool check rules"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
    broken unit 's/^Restart=on-failure/Restart=sometimes/' \
        systemd/scorekeeperd.service "FAIL: systemd-analyze verify"
fi
sk_pass "deploy/ validates; broken copies are caught"
