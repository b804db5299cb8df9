# test_daemon_config.sh - scorekeeperd's configuration, through
# --check-config: flags over the environment over the file over the
# defaults; errors name file:line; secrets are masked and refused on the
# command line; properties that run code or weaken a guarantee are
# refused.  Needs no server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

T=$(sk_tmpdir)
R=$SK_SOURCE_DIR/deploy/rules.yaml
check() { "$SKD" --rules "$R" --check-config "$@"; }

# The documented file is valid and changes nothing.
check --config "$SK_SOURCE_DIR/deploy/scorekeeperd.yaml" >"$T/documented.out" 2>"$T/documented.err" ||
    sk_fail "deploy/scorekeeperd.yaml does not load: $(cat "$T/documented.err")"
check >"$T/defaults.out" 2>&1 || sk_fail "the defaults do not load"
diff <(sed 's/  #.*//' "$T/defaults.out") <(sed 's/  #.*//' "$T/documented.out") >&2 ||
    sk_fail "deploy/scorekeeperd.yaml differs from the built-in defaults"

# Precedence: flag > environment > file > default.
cat >"$T/c.yaml" <<'EOF'
group:
  id: from-file
redis:
  host: file.example
  port: 7000
  password: file-secret
batch:
  size: 50
kafka:
  socket.timeout.ms: "20000"
  sasl.password: kafka-file-secret
EOF
out=$(SCOREKEEPER_GROUP=from-env SCOREKEEPER_REDIS_PORT=7001 \
    check --config "$T/c.yaml" --group from-flag 2>&1) || sk_fail "valid config refused: $out"
sk_assert_contains "$out" 'id: "from-flag"  # command line' "flag over env"
sk_assert_contains "$out" 'port: 7001  # environment' "env over file"
sk_assert_contains "$out" 'host: "file.example"  # config file' "file over default"
sk_assert_contains "$out" 'size: 50  # config file' "file value"
sk_assert_contains "$out" 'socket.timeout.ms: "20000"' "kafka passthrough"
sk_assert_not_contains "$out" "file-secret" "a secret printed"
sk_assert_contains "$out" 'password: "***"' "masked redis password"
sk_assert_contains "$out" 'sasl.password: "***"' "masked kafka secret"

# The password file replaces the password, and is read.
printf 'pw-from-file\n' >"$T/pw"
out=$(SCOREKEEPER_REDIS_PASSWORD_FILE=$T/pw check --config "$T/c.yaml" 2>&1) ||
    sk_fail "password file refused: $out"
sk_assert_contains "$out" "password_file: \"$T/pw\"" "password file shown"
sk_assert_not_contains "$out" "pw-from-file" "a password from a file printed"
status=0
out=$(SCOREKEEPER_REDIS_PASSWORD_FILE=$T/nope check 2>&1) || status=$?
sk_assert_eq 1 "$status" "status with a missing password file"
sk_assert_contains "$out" "$T/nope" "missing password file named"

# Errors name file:line.
expect_error()
{
    local what=$1 needle=$2 status=0 out
    shift 2
    out=$("$@" 2>&1) || status=$?
    sk_assert_eq 1 "$status" "status for $what"
    sk_assert_contains "$out" "$needle" "message for $what"
}
printf 'redis:\n  port: 7000\n  porrt: 1\n' >"$T/typo.yaml"
expect_error "an unknown key" "typo.yaml:3: unknown setting redis.porrt" check --config "$T/typo.yaml"
printf 'batch:\n  size: lots\n' >"$T/bad.yaml"
expect_error "a bad value" "bad.yaml:2: batch.size" check --config "$T/bad.yaml"
printf 'time:\n  late_grace: 45d\n' >"$T/grace.yaml"
expect_error "late grace over the window" "late_grace" check --config "$T/grace.yaml"
printf 'kafka:\n  plugin.library.paths: /tmp/x.so\n' >"$T/plugin.yaml"
expect_error "a code-loading property" "plugin.library.paths is refused" check --config "$T/plugin.yaml"
expect_error "a secret on the command line" "sasl.password holds a secret" check -X sasl.password=x
expect_error "a weakened guarantee" "acks is fixed to all" check -X acks=1
expect_error "a weakened guarantee" "enable.auto.commit is fixed" check -X enable.auto.commit=true
# Every way in for code-running properties, every fixed property.
expect_error "a code-loading property on the command line" "plugin.library.paths is refused" \
    check -X plugin.library.paths=/tmp/x.so
expect_error "a code-loading property from the environment" "plugin.library.paths is refused" \
    env SCOREKEEPER_KAFKA_PLUGIN_LIBRARY_PATHS=/tmp/x.so "$SKD" --rules "$R" --check-config
printf 'kafka:\n  sasl.kerberos.kinit.cmd: "touch %s/pwned"\n' "$T" >"$T/kinit.yaml"
expect_error "a command-running property" "sasl.kerberos.kinit.cmd is refused" check --config "$T/kinit.yaml"
expect_error "a command-running property on the command line" "sasl.kerberos.kinit.cmd is refused" \
    check -X "sasl.kerberos.kinit.cmd=touch $T/pwned"
expect_error "an OpenSSL engine" "ssl.engine.location is refused" check -X ssl.engine.location=/tmp/e.so
[ -e "$T/pwned" ] && sk_fail "a refused command ran"
expect_error "a key password on the command line" "ssl.key.password holds a secret" check -X ssl.key.password=x
expect_error "a client secret on the command line" "sasl.oauthbearer.client.secret holds a secret" \
    check -X sasl.oauthbearer.client.secret=x
for fixed in enable.idempotence=false enable.auto.offset.store=true isolation.level=read_uncommitted \
    enable.partition.eof=false group.id=other; do
    expect_error "a weakened guarantee" "${fixed%%=*} is fixed" check -X "$fixed"
done
expect_error "cooperative rebalancing" "cooperative-sticky is not supported" \
    check -X partition.assignment.strategy=cooperative-sticky
expect_error "an unknown property" "foo.bar" check -X foo.bar=1
expect_error "a bad rules file" "rules" "$SKD" --rules "$T/missing-rules.yaml" --check-config
expect_error "a bad duration" "time.backfill_horizon" check --backfill-horizon soon

# Secrets from the environment are accepted; weakened checks are warned.
out=$(SCOREKEEPER_KAFKA_SASL_PASSWORD=env-secret check \
    -X security.protocol=sasl_ssl -X enable.ssl.certificate.verification=false 2>&1) ||
    sk_fail "kafka secret from the environment refused: $out"
sk_assert_contains "$out" 'sasl.password: "***"' "kafka secret from env"
sk_assert_not_contains "$out" "env-secret" "a secret from env printed"
sk_assert_contains "$out" "not verified" "warning on disabled certificate checks"

# Root is refused without --allow-root (only checkable as root).
if [ "$(id -u)" = 0 ]; then
    status=0
    out=$("$SKD" --rules "$R" --redis 127.0.0.1:1 2>&1) || status=$?
    sk_assert_eq 1 "$status" "status as root"
    sk_assert_contains "$out" "refusing to run as root" "root refusal"
fi
sk_pass "configuration layers, errors and secrets behave"
