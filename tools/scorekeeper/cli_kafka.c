/*
 * cli_kafka.c - Kafka options and topic lookups shared by the
 * `scorekeeper` commands that talk to Kafka (produce, alerts, lag, dlq).
 *
 * They all hand any librdkafka property through, as kcat does: -X
 * on the command line, or a properties file (--kafka-config) for what
 * must not appear in the process list (SASL passwords, private keys).
 * The rules on which properties are refused live in src/io/kafka_props.c;
 * this file only reads the file and reports problems the way the other
 * commands do.  The topic helpers read partitions from the cluster's
 * metadata, so a command never needs to be told how many there are.
 *
 * The option parsing and the client set-up live here too, so that every
 * command spells --brokers, -X and --kafka-config the same, refuses the
 * same things with the same words, and pins the properties its
 * guarantees rest on (no commits, an idempotent producer) the same way.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_kafka.h"
#include "clock.h"
#include "scorekeeper/common.h"
#include "signals.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                     s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int sk_cli_kafka_props_file(sk_kafka_props_t *props, const char *path,
                            char *errstr, size_t errlen)
{
    int status = SK_ERR;
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errlen, "%s: cannot open: %s", path, strerror(errno));
        return SK_ERR;
    }
    while (getline(&line, &cap, f) >= 0) {
        char why[SK_ERRSTR_LEN];
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(errstr, errlen, "%s:%u: expected key=value", path, lineno);
            goto cleanup;
        }
        *eq = '\0';
        if (sk_kafka_props_set(props, trim(s), trim(eq + 1), why, sizeof why) !=
            SK_OK) {
            snprintf(errstr, errlen, "%s:%u: %s", path, lineno, why);
            goto cleanup;
        }
    }
    if (ferror(f)) {
        snprintf(errstr, errlen, "%s: read error", path);
        goto cleanup;
    }
    status = SK_OK;
cleanup:
    free(line);
    fclose(f);
    return status;
}

extern char **environ;

int sk_cli_kafka_props_env(sk_kafka_props_t *props, char *errstr, size_t errlen)
{
    static const char prefix[] = "SCOREKEEPER_KAFKA_";
    const size_t plen = sizeof prefix - 1;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || strncmp(*e, prefix, plen) != 0)
            continue;
        char key[256], why[SK_ERRSTR_LEN];
        size_t n = (size_t)(eq - *e) - plen;
        if (n == 0 || n >= sizeof key) {
            snprintf(errstr, errlen, "%.*s: not a kafka property name",
                     (int)(eq - *e), *e);
            return SK_ERR;
        }
        for (size_t i = 0; i < n; i++) {
            char c = (*e)[plen + i];
            key[i] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
        key[n] = '\0';
        if (sk_kafka_props_set(props, key, eq + 1, why, sizeof why) != SK_OK) {
            snprintf(errstr, errlen, "%.*s: %s", (int)(eq - *e), *e, why);
            return SK_ERR;
        }
    }
    return SK_OK;
}

const char *sk_cli_kafka_brokers(const char *flag)
{
    if (flag)
        return flag;
    const char *env = getenv("SCOREKEEPER_BROKERS");
    if (!env || !*env || strcmp(env, "embedded") == 0)
        return NULL;
    return env;
}

int sk_cli_kafka_props_arg(sk_kafka_props_t *props, const char *cmd,
                           const char *kv)
{
    char why[SK_ERRSTR_LEN], key[256];
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : 0;
    if (klen > 0 && klen < sizeof key) {
        memcpy(key, kv, klen);
        key[klen] = '\0';
        if (sk_kafka_prop_is_secret(key)) {
            fprintf(stderr,
                    "scorekeeper %s: -X: kafka property %s holds a secret "
                    "and is refused on the command line (every user can "
                    "read it there); use --kafka-config FILE or "
                    "SCOREKEEPER_KAFKA_<NAME>\n",
                    cmd, key);
            return SK_ERR;
        }
    }
    if (sk_kafka_props_parse(props, kv, why, sizeof why) == SK_OK)
        return SK_OK;
    fprintf(stderr, "scorekeeper %s: -X: %s\n", cmd, why);
    return SK_ERR;
}

void sk_cli_kafka_warn(const sk_kafka_props_t *props, const char *cmd)
{
    for (size_t i = 0; i < props->n; i++) {
        const char *w = sk_kafka_prop_warning(props->keys[i], props->values[i]);
        if (w)
            fprintf(stderr, "scorekeeper %s: warning: %s\n", cmd, w);
    }
}

void sk_cli_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
                           void *opaque)
{
    (void)rk;
    (void)opaque;
    fprintf(stderr, "scorekeeper: kafka: %s: %s\n",
            rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

int sk_cli_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                            rd_kafka_topic_partition_list_t *parts,
                            rd_kafka_resp_err_t *kerr, char *errstr,
                            size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t unused;
    if (!kerr)
        kerr = &unused;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt) {
        *kerr = rd_kafka_last_error();
        snprintf(errstr, errlen, "topic %s: %s", topic,
                 rd_kafka_err2str(*kerr));
        return SK_ERR;
    }
    int status = SK_ERR;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (!err && md->topic_cnt != 1)
        err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    if (!err)
        err = md->topics[0].err;
    if (!err && md->topics[0].partition_cnt == 0)
        err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    *kerr = err;
    if (err) {
        snprintf(errstr, errlen, "topic %s: %s", topic, rd_kafka_err2str(err));
        goto cleanup;
    }
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic,
                                          md->topics[0].partitions[i].id);
    status = SK_OK;
cleanup:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return status;
}

int sk_cli_kafka_assign_all(rd_kafka_t *rk, const char *cmd, const char *topic,
                            int64_t offset, int64_t deadline_ms)
{
    char errstr[SK_ERRSTR_LEN];
    int status = SK_ERR;
    int warned = 0;
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(8);

    /* a topic made by the first producer (or a cluster still starting)
     * appears a moment later: wait for it rather than fail */
    while (sk_cli_kafka_partitions(rk, topic, 5000, parts, NULL, errstr,
                                   sizeof errstr) != SK_OK) {
        if (!warned++)
            fprintf(stderr, "scorekeeper %s: waiting for %s\n", cmd, errstr);
        if (sk_signals_stop_requested())
            goto cleanup;
        if (deadline_ms && sk_clock_mono_ms() >= deadline_ms) {
            fprintf(stderr, "scorekeeper %s: topic %s not found\n", cmd, topic);
            goto cleanup;
        }
        sk_clock_sleep_ms(500);
    }
    for (int i = 0; i < parts->cnt; i++)
        parts->elems[i].offset = offset;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
    if (err) {
        fprintf(stderr, "scorekeeper %s: assigning %s: %s\n", cmd, topic,
                rd_kafka_err2str(err));
        goto cleanup;
    }
    status = SK_OK;
cleanup:
    rd_kafka_topic_partition_list_destroy(parts);
    return status;
}

const char *sk_cli_kafka_setting(const char *flag, const char *env,
                                 const char *dflt)
{
    if (flag)
        return flag;
    const char *v = getenv(env);
    return v && *v ? v : dflt;
}

int sk_cli_kafka_env(sk_cli_kafka_t *ka, const char *cmd)
{
    char errstr[SK_ERRSTR_LEN];
    if (sk_cli_kafka_props_env(&ka->props, errstr, sizeof errstr) == SK_OK)
        return SK_OK;
    fprintf(stderr, "scorekeeper %s: %s\n", cmd, errstr);
    return SK_ERR;
}

int sk_cli_kafka_option(sk_cli_kafka_t *ka, const char *cmd, int opt,
                        const char *arg)
{
    char errstr[SK_ERRSTR_LEN];
    switch (opt) {
    case 'b':
        ka->brokers = arg;
        return SK_OK;
    case 'X':
        return sk_cli_kafka_props_arg(&ka->props, cmd, arg);
    case 'F':
        if (sk_cli_kafka_props_file(&ka->props, arg, errstr, sizeof errstr) ==
            SK_OK)
            return SK_OK;
        fprintf(stderr, "scorekeeper %s: %s\n", cmd, errstr);
        return SK_ERR;
    default:
        return SK_ERR;
    }
}

int sk_cli_kafka_require_brokers(sk_cli_kafka_t *ka, const char *cmd)
{
    ka->brokers = sk_cli_kafka_brokers(ka->brokers);
    if (ka->brokers)
        return SK_OK;
    fprintf(stderr, "scorekeeper %s: --brokers is required (see --help)\n",
            cmd);
    return SK_ERR;
}

void sk_cli_kafka_free(sk_cli_kafka_t *ka)
{
    if (ka)
        sk_kafka_props_free(&ka->props);
}

int sk_cli_kafka_tail_option(sk_cli_kafka_tail_t *tail, const char *cmd,
                             int opt, const char *arg)
{
    char *end;
    long seconds;
    switch (opt) {
    case 't':
        tail->topic = arg;
        return SK_OK;
    case 'B':
        tail->from_beginning = 1;
        return SK_OK;
    case 'i':
        errno = 0;
        seconds = strtol(arg, &end, 10);
        if (errno || end == arg || *end || seconds < 0 ||
            seconds > 86400L * 365) {
            fprintf(stderr,
                    "scorekeeper %s: --idle-exit: '%s' is not a number "
                    "of seconds\n",
                    cmd, arg);
            return SK_ERR;
        }
        tail->idle_ms = (int64_t)seconds * 1000;
        return SK_OK;
    default:
        return SK_ERR;
    }
}

int sk_cli_kafka_tail_assign(rd_kafka_t *rk, const char *cmd,
                             const sk_cli_kafka_tail_t *tail, const char *topic,
                             int64_t start_ms)
{
    return sk_cli_kafka_assign_all(
        rk, cmd, topic,
        tail->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END,
        tail->idle_ms ? start_ms + tail->idle_ms : 0);
}

int sk_cli_kafka_fixed_no_commit(sk_kafka_props_t *fixed, const char *cmd,
                                 const char *group, char *errstr, size_t errlen)
{
    char anon[64];
    if (!group) {
        snprintf(anon, sizeof anon, "scorekeeper-%s-%ld", cmd, (long)getpid());
        group = anon;
    }
    if (sk_kafka_props_set(fixed, "group.id", group, errstr, errlen) != SK_OK ||
        sk_kafka_props_set(fixed, "enable.auto.commit", "false", errstr,
                           errlen) != SK_OK ||
        sk_kafka_props_set(fixed, "enable.auto.offset.store", "false", errstr,
                           errlen) != SK_OK)
        return SK_ERR;
    return SK_OK;
}

int sk_cli_kafka_fixed_idempotent(sk_kafka_props_t *fixed, char *errstr,
                                  size_t errlen)
{
    if (sk_kafka_props_set(fixed, "enable.idempotence", "true", errstr,
                           errlen) != SK_OK ||
        sk_kafka_props_set(fixed, "acks", "all", errstr, errlen) != SK_OK ||
        sk_kafka_props_set(fixed, "partitioner", "murmur2_random", errstr,
                           errlen) != SK_OK)
        return SK_ERR;
    return SK_OK;
}

rd_kafka_t *sk_cli_kafka_client(rd_kafka_type_t type, const sk_cli_kafka_t *ka,
                                const char *cmd, const sk_kafka_props_t *fixed,
                                sk_cli_kafka_delivery_cb_t *on_delivery,
                                void *opaque)
{
    char errstr[SK_ERRSTR_LEN];
    rd_kafka_conf_t *conf = sk_kafka_conf_build_fixed(
        ka->brokers, &ka->props, fixed, errstr, sizeof errstr);
    if (!conf) {
        fprintf(stderr, "scorekeeper %s: %s\n", cmd, errstr);
        return NULL;
    }
    rd_kafka_conf_set_error_cb(conf, sk_cli_kafka_error_cb);
    if (on_delivery) {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, opaque);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "scorekeeper %s: %s\n", cmd, errstr);
    }
    return rk;
}
