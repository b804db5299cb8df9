#!/usr/bin/env bash
# validate-deploy.sh - check the deployment files in deploy/ as far as this
# machine allows, without Docker, a cluster or network.
#
#   every YAML and JSON file parses; docker-compose.yml has its services
#   and their settings; the Kubernetes manifests have kind, apiVersion and
#   metadata, the Deployment its probes, resources and security context;
#   the kustomization, compose and Dockerfile name files that exist; the
#   Grafana dashboard is well formed; every scorekeeper_* metric used by
#   the alert rules and the dashboard is one the daemon documents
#   (systemd-analyze verify and security on the units, with ExecStart
#   pointed at /bin/true when the binary is not installed)
#   promtool check rules/config, promtool test rules, and every dashboard
#   query parsed by promtool
#   scorekeeperd --check-config on deploy/scorekeeperd.yaml when built
#
# A check whose tool is missing is reported as skipped, not passed.
#
# Usage: tools/validate-deploy.sh [--deploy-dir DIR]
# Environment: SK_BIN, a build folder holding scorekeeperd (optional).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deploy=$root/deploy
while [ $# -gt 0 ]; do
    case $1 in
    --deploy-dir)
        deploy=$(cd "$2" && pwd) || exit 2
        shift 2
        ;;
    -h | --help)
        awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
        exit 0
        ;;
    *)
        echo "validate-deploy: unknown argument: $1" >&2
        exit 2
        ;;
    esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sk-validate-deploy.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

failed=0
skipped=0
passed=0
ok() { echo "validate-deploy: ok:   $*"; passed=$((passed + 1)); }
skip() { echo "validate-deploy: skip: $*"; skipped=$((skipped + 1)); }
fail() { echo "validate-deploy: FAIL: $*"; failed=$((failed + 1)); }

# run WHAT COMMAND... - run a check, show its output only when it fails.
run() {
    local what=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        ok "$what"
    else
        fail "$what"
        sed 's/^/    /' "$tmp/out"
        return 1
    fi
}

# verify_quiet COMMAND... - fail when COMMAND fails or prints anything.
verify_quiet() {
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    [ -z "$out" ] || echo "$out"
    [ "$rc" -eq 0 ] && [ -z "$out" ]
}

# --- structure: YAML, JSON, compose, Kubernetes, references ---------------
python=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then
        python=$p
        break
    fi
done

cat >"$tmp/structure.py" <<'PYEOF'
import glob, json, os, re, sys
import yaml

deploy, dash_exprs_out = sys.argv[1], sys.argv[2]
errors = []
def err(path, msg):
    errors.append("%s: %s" % (os.path.relpath(path, os.path.dirname(deploy)), msg))

def load_yaml_docs(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]
    except (yaml.YAMLError, OSError) as e:
        err(path, "does not parse: %s" % str(e).replace("\n", " "))
        return None

files = sorted(glob.glob(os.path.join(deploy, "**", "*.y*ml"), recursive=True))
docs = {p: load_yaml_docs(p) for p in files if p.endswith((".yml", ".yaml"))}
json_files = sorted(glob.glob(os.path.join(deploy, "**", "*.json"), recursive=True))
for p in json_files:
    try:
        with open(p, encoding="utf-8") as f:
            json.load(f)
    except (ValueError, OSError) as e:
        err(p, "is not JSON: %s" % e)

def need(cond, path, msg):
    if not cond:
        err(path, msg)
    return cond

# docker-compose.yml
compose_path = os.path.join(deploy, "docker-compose.yml")
compose = (docs.get(compose_path) or [None])[0]
if need(isinstance(compose, dict) and isinstance(compose.get("services"), dict),
        compose_path, "no services"):
    svcs = compose["services"]
    for name in ("kafka", "kafka-init", "redis", "scorekeeperd",
                 "slack-relay", "prometheus"):
        need(name in svcs, compose_path, "service %s is missing" % name)
    def env_of(svc):
        env = svcs.get(svc, {}).get("environment", {})
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
        return env
    kafka_env = env_of("kafka")
    need("broker" in str(kafka_env.get("KAFKA_PROCESS_ROLES", "")) and
         "controller" in str(kafka_env.get("KAFKA_PROCESS_ROLES", "")),
         compose_path, "kafka is not a combined KRaft broker/controller")
    need(str(svcs.get("kafka", {}).get("image", "")).startswith("apache/kafka"),
         compose_path, "kafka does not use the apache/kafka image")
    init_cmd = json.dumps(svcs.get("kafka-init", {}).get("command", ""))
    for topic in ("telemetry:6", "billing:6", "alerts:1", "scorekeeper.dlq:1"):
        need(topic in init_cmd, compose_path, "kafka-init does not create %s" % topic)
    redis_cmd = " ".join(str(x) for x in svcs.get("redis", {}).get("command", []))
    need(re.search(r"--appendonly\s+yes", redis_cmd), compose_path,
         "redis runs without --appendonly yes")
    need(re.search(r"--maxmemory-policy\s+noeviction", redis_cmd), compose_path,
         "redis runs without --maxmemory-policy noeviction")
    for var in ("SCOREKEEPER_BROKERS", "SCOREKEEPER_REDIS"):
        need(var in env_of("scorekeeperd"), compose_path,
             "scorekeeperd has no %s" % var)
    need("SLACK_WEBHOOK_URL" in env_of("slack-relay"), compose_path,
         "slack-relay has no SLACK_WEBHOOK_URL")
    for name, svc in svcs.items():
        for vol in svc.get("volumes", []) or []:
            src = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if src.startswith("."):
                need(os.path.exists(os.path.join(deploy, src)), compose_path,
                     "%s mounts %s, which does not exist" % (name, src))
        build = svc.get("build")
        if isinstance(build, dict):
            ctx = os.path.join(deploy, build.get("context", "."))
            need(os.path.isfile(os.path.join(ctx, build.get("dockerfile", "Dockerfile"))),
                 compose_path, "%s builds from a missing Dockerfile" % name)

# prometheus.yml scrapes scorekeeperd:9187
prom_path = os.path.join(deploy, "prometheus", "prometheus.yml")
prom = (docs.get(prom_path) or [None])[0]
if need(isinstance(prom, dict), prom_path, "missing or empty"):
    targets = json.dumps(prom.get("scrape_configs", []))
    need("scorekeeperd:9187" in targets, prom_path, "does not scrape scorekeeperd:9187")

# Kubernetes manifests
k8s = {}
for p in sorted(glob.glob(os.path.join(deploy, "k8s", "*.y*ml"))):
    for d in docs.get(p) or []:
        ok = need(isinstance(d, dict), p, "a document is not a mapping")
        if not ok:
            continue
        for key in ("apiVersion", "kind", "metadata"):
            need(key in d, p, "a document has no %s" % key)
        need(isinstance(d.get("metadata"), dict) and d["metadata"].get("name"),
             p, "a %s has no metadata.name" % d.get("kind"))
        k8s.setdefault(d.get("kind"), []).append((p, d))
for kind in ("Deployment", "Service", "PodDisruptionBudget", "Namespace"):
    need(kind in k8s, os.path.join(deploy, "k8s"), "no %s manifest" % kind)
for p, d in k8s.get("Deployment", []):
    if d["metadata"]["name"] != "scorekeeperd":
        continue
    spec = d.get("spec", {}).get("template", {}).get("spec", {})
    psc = spec.get("securityContext", {})
    need(psc.get("runAsNonRoot") is True, p, "pod securityContext lacks runAsNonRoot: true")
    c = (spec.get("containers") or [{}])[0]
    csc = c.get("securityContext", {})
    need(csc.get("readOnlyRootFilesystem") is True, p, "container lacks readOnlyRootFilesystem: true")
    need(csc.get("allowPrivilegeEscalation") is False, p, "container allows privilege escalation")
    ports = {pt.get("name"): pt.get("containerPort") for pt in c.get("ports", [])}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        hg = c.get(probe, {}).get("httpGet", {})
        port = hg.get("port")
        port = ports.get(port, port)
        need(hg.get("path") == path and port == 9187, p,
             "%s is not GET %s on 9187" % (probe, path))
    res = c.get("resources", {})
    need(res.get("requests") and res.get("limits"), p, "container has no resource requests and limits")
    env = {e.get("name"): e for e in c.get("env", [])}
    need(env.get("SCOREKEEPER_REDIS_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef"),
         p, "the Redis password does not come from a Secret")
    vols = json.dumps(spec.get("volumes", []))
    need("scorekeeper-config" in vols, p, "the config ConfigMap is not mounted")

# kustomization: resources and generated files exist
kust_path = os.path.join(deploy, "kustomization.yaml")
kust = (docs.get(kust_path) or [None])[0]
if need(isinstance(kust, dict), kust_path, "missing or empty"):
    for r in kust.get("resources", []):
        need(os.path.exists(os.path.join(deploy, r)), kust_path, "resource %s does not exist" % r)
    gens = kust.get("configMapGenerator", [])
    names = [g.get("name") for g in gens]
    need("scorekeeper-config" in names, kust_path, "no scorekeeper-config ConfigMap")
    for g in gens:
        for f in g.get("files", []):
            f = f.split("=", 1)[-1]
            need(os.path.isfile(os.path.join(deploy, f)), kust_path, "file %s does not exist" % f)
    gen_files = json.dumps(gens)
    for f in ("scorekeeperd.yaml", "rules.yaml"):
        need(f in gen_files, kust_path, "the ConfigMap lacks %s" % f)

# Dockerfile: stages, user, health check, entrypoint, COPY sources
df_path = os.path.join(deploy, "Dockerfile")
try:
    df = open(df_path, encoding="utf-8").read()
except OSError:
    df = ""
    err(df_path, "missing")
if df:
    lines = re.sub(r"\\\n", " ", df).splitlines()
    froms = [l for l in lines if l.upper().startswith("FROM ")]
    need(len(froms) >= 2 and all("debian:bookworm" in l for l in froms), df_path,
         "not a multi-stage build on debian:bookworm")
    users = [l.split()[1] for l in lines if l.upper().startswith("USER ")]
    need(users and users[-1].split(":")[0] not in ("root", "0"), df_path,
         "the runtime stage does not switch to a non-root user")
    need(any(l.upper().startswith("HEALTHCHECK ") and "/healthz" in l and "9187" in l
             for l in lines), df_path, "no HEALTHCHECK on :9187/healthz")
    need(any(l.upper().startswith("ENTRYPOINT ") and "scorekeeperd" in l for l in lines),
         df_path, "the entrypoint is not scorekeeperd")
    src_root = os.path.dirname(deploy)
    for l in lines:
        parts = l.split()
        if parts and parts[0].upper() == "COPY" and not any(
                x.startswith("--from") for x in parts):
            for src in parts[1:-1]:
                if not src.startswith("--"):
                    need(os.path.exists(os.path.join(src_root, src)), df_path,
                         "COPY of %s, which does not exist" % src)

# Grafana dashboard
dash_path = os.path.join(deploy, "grafana", "scorekeeper-dashboard.json")
exprs = []
try:
    dash = json.load(open(dash_path, encoding="utf-8"))
except (OSError, ValueError):
    dash = None
    err(dash_path, "missing or not JSON")
if dash is not None:
    need(dash.get("title") and dash.get("uid"), dash_path, "no title or uid")
    panels = dash.get("panels", [])
    ids = [pn.get("id") for pn in panels]
    need(panels and len(set(ids)) == len(ids), dash_path, "no panels, or repeated panel ids")
    for pn in panels:
        tg = pn.get("targets", [])
        need(tg and all(t.get("expr") for t in tg), dash_path,
             "panel %r has no queries" % pn.get("title"))
        exprs += [t["expr"] for t in tg if t.get("expr")]
    want = ["scorekeeper_events_consumed_total", "scorekeeper_events_applied_total",
            "scorekeeper_events_dead_lettered_total", "scorekeeper_alerts_produced_total",
            "scorekeeper_consumer_lag", "scorekeeper_batch_duration_seconds_bucket",
            "scorekeeper_redis_roundtrip_seconds_bucket", "scorekeeper_accounts_tracked"]
    for m in want:
        need(any(m in e for e in exprs), dash_path, "no panel shows %s" % m)

# Every metric used must be one the daemon documents.
known = {
    "scorekeeper_events_consumed_total", "scorekeeper_events_applied_total",
    "scorekeeper_events_duplicate_total", "scorekeeper_events_dead_lettered_total",
    "scorekeeper_events_late_total", "scorekeeper_alerts_produced_total",
    "scorekeeper_alerts_produce_failed_total",
    "scorekeeper_batch_duration_seconds", "scorekeeper_redis_roundtrip_seconds",
    "scorekeeper_consumer_lag", "scorekeeper_rebalances_total",
    "scorekeeper_accounts_tracked", "scorekeeper_rules_info",
    "scorekeeper_rules_reloads_total", "scorekeeper_ready",
    "scorekeeper_build_info", "scorekeeper_events_replayed_total",
    "scorekeeper_alerts_suppressed_total", "scorekeeper_consumer_lag_age_seconds",
    "scorekeeper_committed_offset", "scorekeeper_assigned_partitions",
    "scorekeeper_accounts_cached", "scorekeeper_accounts_expired_total",
    "scorekeeper_accounts_renewed_total", "scorekeeper_scheduler_evaluated_total",
    "scorekeeper_write_conflicts_total", "scorekeeper_batch_retries_total",
    "scorekeeper_rules_reload_failures_total",
}
used = set()
alerts_path = os.path.join(deploy, "prometheus", "alerts.yml")
alerts = (docs.get(alerts_path) or [None])[0] or {}
rule_exprs = [r.get("expr", "") for g in alerts.get("groups", []) for r in g.get("rules", [])]
for e in exprs + rule_exprs:
    used.update(re.findall(r"\bscorekeeper_[a-z0-9_]+", e))
for m in sorted(used):
    base = re.sub(r"_(bucket|sum|count)$", "", m)
    need(m in known or base in known, dash_path if m in " ".join(exprs) else alerts_path,
         "uses %s, which is not a scorekeeperd metric" % m)

# The dashboard's queries, with Grafana's variables filled in, as a rule
# file for promtool to parse.
with open(dash_exprs_out, "w", encoding="utf-8") as f:
    rules = [{"record": "dashboard:query_%d" % i,
              "expr": e.replace("$__rate_interval", "5m").replace("$__range", "1h")
                       .replace("$instance", ".*")} for i, e in enumerate(exprs)]
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)

for e in errors:
    print(e)
print("%d YAML files, %d JSON files, %d Kubernetes objects, %d dashboard queries" %
      (len(docs), len(json_files), sum(len(v) for v in k8s.values()), len(exprs)))
sys.exit(1 if errors else 0)
PYEOF

if [ -n "$python" ]; then
    run "YAML/JSON parse; compose, Kubernetes, kustomize, Dockerfile, dashboard structure" \
        "$python" "$tmp/structure.py" "$deploy" "$tmp/dashboard-rules.yml" &&
        sed 's/^/    /' "$tmp/out"
elif command -v ruby >/dev/null 2>&1; then
    run "YAML parse (ruby; no structure checks without python3-yaml)" \
        ruby -ryaml -e 'ARGV.each { |f| YAML.load_stream(File.read(f)) }' \
        $(find "$deploy" -name '*.yml' -o -name '*.yaml')
else
    skip "YAML and structure checks (no python3 with PyYAML, no ruby)"
fi

# --- systemd units ---------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
    for unit in "$deploy"/systemd/*.service; do
        [ -f "$unit" ] || continue
        name=$(basename "$unit")
        bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit" | head -1)
        note=
        copy=$tmp/units/$name
        mkdir -p "$tmp/units"
        if [ -x "$bin" ]; then
            cp "$unit" "$copy"
        else
            # verify insists on an existing ExecStart binary.
            sed -E 's#^ExecStart=[^ ]+#ExecStart=/bin/true#' "$unit" >"$copy"
            note=" (ExecStart $bin not installed: checked with /bin/true)"
        fi
        # verify only warns (exit 0) about keys it ignores: any output
        # is a failure.
        run "systemd-analyze verify $name$note" \
            verify_quiet systemd-analyze verify --man=no "$copy"
        if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
            # Exposure is in tenths here: 20 is "2.0 OK" in its report.
            run "systemd-analyze security $name (exposure at most 2.0)" \
                systemd-analyze security --offline=yes --threshold=20 "$copy"
        fi
    done
else
    skip "systemd units (no systemd-analyze)"
fi

# --- Prometheus ------------------------------------------------------------
if command -v promtool >/dev/null 2>&1; then
    run "promtool check rules prometheus/alerts.yml" \
        promtool check rules "$deploy/prometheus/alerts.yml"
    run "promtool check config prometheus/prometheus.yml" \
        promtool check config "$deploy/prometheus/prometheus.yml"
    if [ -f "$deploy/prometheus/alerts_test.yml" ]; then
        run "promtool test rules prometheus/alerts_test.yml" \
            promtool test rules "$deploy/prometheus/alerts_test.yml"
    fi
    if [ -s "$tmp/dashboard-rules.yml" ]; then
        run "promtool parses every Grafana dashboard query" \
            promtool check rules "$tmp/dashboard-rules.yml"
    fi
else
    skip "Prometheus rules and config (no promtool)"
fi

# --- the daemon's own view of its config file --------------------------------
daemon=${SK_BIN:-$root/build}/scorekeeperd
if [ -x "$daemon" ] && [ -f "$deploy/scorekeeperd.yaml" ]; then
    # Settings from this environment must not leak into the check.
    run "scorekeeperd --check-config deploy/scorekeeperd.yaml" \
        env $(env | sed -n 's/^\(SCOREKEEPER_[A-Z0-9_]*\)=.*/-u \1/p') \
        "$daemon" --check-config --config "$deploy/scorekeeperd.yaml" \
        --rules "$deploy/rules.yaml"
else
    skip "scorekeeperd --check-config (scorekeeperd not built in ${SK_BIN:-$root/build})"
fi

echo "validate-deploy: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
