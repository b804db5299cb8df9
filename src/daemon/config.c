/*
 * config.c - scorekeeperd's settings from defaults, a YAML file, the
 * environment and flags.
 *
 * One table describes every setting: its path in the file ("redis.port"),
 * its type, its environment variable and where it lives in sk_config_t.
 * The file reader, the environment reader, the flag setter and the
 * --check-config printer all walk that table, so a setting cannot exist
 * in one layer and be forgotten in another.  The file is read with
 * libyaml's document API, which keeps each node's line for messages.
 * Unknown keys are errors (a typo must not silently keep a default).
 * The `kafka:` map is not in the table: it is handed to librdkafka key by
 * key (see kafka_props.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "http_admin.h"
#include "log.h"

extern char **environ;

typedef enum setting_type {
    T_STR,    /* a string */
    T_TOPIC,  /* a Kafka topic name */
    T_TOPICS, /* a list of topic names */
    T_ADDR,   /* host:port, sets redis.host and redis.port */
    T_INT,    /* an integer within min..max */
    T_BOOL,   /* true/false */
    T_MS,     /* a duration, stored as int64 ms */
    T_MS_OFF, /* a duration or "off" (-1) */
    T_MS_INT, /* a duration, stored as int ms */
    T_FORMAT, /* json | msgpack */
    T_LEVEL,  /* debug | info | warn | error */
} setting_type_t;

typedef struct setting {
    const char *path; /* key path in the file */
    setting_type_t type;
    const char *env; /* environment variable, or NULL */
    size_t offset;   /* in sk_config_t */
    size_t size;     /* of a string field */
    long min, max;   /* T_INT bounds; duration bounds in ms */
    bool secret;     /* never printed */
} setting_t;

#define F(field) offsetof(sk_config_t, field), sizeof(((sk_config_t *)0)->field)
#define D(field) offsetof(sk_config_t, field), 0

static const setting_t settings[] = {
    {"brokers", T_STR, "SCOREKEEPER_BROKERS", F(brokers), 0, 0, false},
    {"group.id", T_STR, "SCOREKEEPER_GROUP", F(group_id), 1, 0, false},
    {"group.instance_id", T_STR, "SCOREKEEPER_GROUP_INSTANCE_ID",
     F(group_instance_id), 0, 0, false},
    {"topics.input", T_TOPICS, "SCOREKEEPER_INPUT_TOPICS", D(inputs), 0, 0,
     false},
    {"topics.alerts", T_TOPIC, "SCOREKEEPER_ALERTS_TOPIC", F(alerts_topic), 0,
     0, false},
    {"topics.dlq", T_TOPIC, "SCOREKEEPER_DLQ_TOPIC", F(dlq_topic), 0, 0, false},
    {"redis.address", T_ADDR, "SCOREKEEPER_REDIS", D(redis), 0, 0, false},
    {"redis.host", T_STR, "SCOREKEEPER_REDIS_HOST", F(redis.host), 1, 0, false},
    {"redis.port", T_INT, "SCOREKEEPER_REDIS_PORT", D(redis.port), 1, 65535,
     false},
    {"redis.db", T_INT, "SCOREKEEPER_REDIS_DB", D(redis.db), 0, 65535, false},
    {"redis.username", T_STR, "SCOREKEEPER_REDIS_USERNAME", F(redis.user), 0, 0,
     false},
    {"redis.password", T_STR, "SCOREKEEPER_REDIS_PASSWORD", F(redis.password),
     0, 0, true},
    {"redis.password_file", T_STR, "SCOREKEEPER_REDIS_PASSWORD_FILE",
     F(redis_password_file), 0, 0, false},
    {"redis.timeout", T_MS_INT, "SCOREKEEPER_REDIS_TIMEOUT",
     D(redis.timeout_ms), 10, 600000, false},
    {"redis.prefix", T_STR, "SCOREKEEPER_REDIS_PREFIX", F(redis.prefix), 1, 0,
     false},
    {"redis.allow_eviction", T_BOOL, "SCOREKEEPER_REDIS_ALLOW_EVICTION",
     D(redis_allow_eviction), 0, 0, false},
    {"rules", T_STR, "SCOREKEEPER_RULES", F(rules_path), 1, 0, false},
    {"time.backfill_horizon", T_MS_OFF, "SCOREKEEPER_BACKFILL_HORIZON",
     D(backfill_horizon_ms), 0, 0, false},
    {"time.late_grace", T_MS, "SCOREKEEPER_LATE_GRACE", D(late_grace_ms), 0, 0,
     false},
    {"time.future_skew", T_MS, "SCOREKEEPER_FUTURE_SKEW", D(future_skew_ms), 0,
     0, false},
    {"alerts.format", T_FORMAT, "SCOREKEEPER_ALERTS_FORMAT", D(alerts_format),
     0, 0, false},
    {"batch.size", T_INT, "SCOREKEEPER_BATCH_SIZE", D(batch_size), 1, 100000,
     false},
    {"batch.wait", T_MS, "SCOREKEEPER_BATCH_WAIT", D(batch_wait_ms), 0, 60000,
     false},
    {"cache.accounts", T_INT, "SCOREKEEPER_CACHE_ACCOUNTS", D(cache_accounts),
     16, 100000000, false},
    {"scheduler.interval", T_MS, "SCOREKEEPER_SCHEDULER_INTERVAL", D(tick_ms),
     50, 3600000, false},
    {"scheduler.limit", T_INT, "SCOREKEEPER_SCHEDULER_LIMIT", D(due_limit), 1,
     100000, false},
    {"embedded.partitions", T_INT, "SCOREKEEPER_EMBEDDED_PARTITIONS",
     D(embedded_partitions), 1, 256, false},
    {"log.level", T_LEVEL, "SCOREKEEPER_LOG_LEVEL", D(log_level), 0, 0, false},
    {"log.dlq_lines_per_second", T_INT, "SCOREKEEPER_LOG_DLQ_LINES_PER_SECOND",
     D(log_dlq_per_second), 0, 100000, false},
    {"metrics.listen", T_STR, "SCOREKEEPER_METRICS_LISTEN", F(metrics_listen),
     1, 0, false},
    {"retention.silent_ttl", T_MS_OFF, "SCOREKEEPER_RETENTION_SILENT_TTL",
     D(silent_ttl_ms), 0, 0, false},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

/* Variables read elsewhere, so not "unknown". */
static const char *const other_env[] = {
    "SCOREKEEPER_CONFIG",
    "SCOREKEEPER_CLOCK_FILE",
    NULL,
};

static const char kafka_env_prefix[] = "SCOREKEEPER_KAFKA_";

void sk_config_defaults(sk_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->brokers, sizeof cfg->brokers, "embedded");
    snprintf(cfg->group_id, sizeof cfg->group_id, "scorekeeper");
    snprintf(cfg->inputs[0], sizeof cfg->inputs[0], "telemetry");
    snprintf(cfg->inputs[1], sizeof cfg->inputs[1], "billing");
    cfg->n_inputs = 2;
    snprintf(cfg->alerts_topic, sizeof cfg->alerts_topic, "alerts");
    snprintf(cfg->dlq_topic, sizeof cfg->dlq_topic, "scorekeeper.dlq");
    sk_redis_opts_default(&cfg->redis);
    snprintf(cfg->rules_path, sizeof cfg->rules_path, "%s",
             SK_CONFIG_RULES_INSTALLED);
    cfg->backfill_horizon_ms = SK_DAY_MS;
    cfg->late_grace_ms = 7 * SK_DAY_MS;
    cfg->future_skew_ms = 5 * 60 * 1000;
    cfg->alerts_format = SK_ALERTS_JSON;
    cfg->batch_size = 10000;
    cfg->batch_wait_ms = 100;
    cfg->cache_accounts = 50000;
    cfg->tick_ms = 1000;
    cfg->due_limit = 64;
    cfg->embedded_partitions = 6;
    cfg->log_level = SK_LOG_INFO;
    cfg->log_dlq_per_second = 10;
    snprintf(cfg->metrics_listen, sizeof cfg->metrics_listen, "127.0.0.1:9187");
    cfg->silent_ttl_ms = -1;
}

void sk_config_free(sk_config_t *cfg)
{
    if (!cfg)
        return;
    sk_kafka_props_free(&cfg->kafka);
    memset(cfg->redis.password, 0, sizeof cfg->redis.password);
}

bool sk_config_embedded(const sk_config_t *cfg)
{
    return cfg->brokers[0] == '\0' || strcmp(cfg->brokers, "embedded") == 0;
}

static const setting_t *find_setting(const char *path)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].path, path) == 0)
            return &settings[i];
    return NULL;
}

static bool topic_valid(const char *t, size_t len)
{
    if (len == 0 || len > SK_TOPIC_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '.' && t[i] != '_' &&
            t[i] != '-')
            return false;
    return true;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on") || !strcmp(v, "1"))
        *out = true;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") ||
             !strcasecmp(v, "off") || !strcmp(v, "0"))
        *out = false;
    else
        return SK_ERR;
    return SK_OK;
}

static int parse_ms(const char *v, int64_t *ms)
{
    if (strcmp(v, "0") == 0) {
        *ms = 0;
        return SK_OK;
    }
    return sk_parse_duration(v, ms);
}

static int set_topics(sk_config_t *cfg, const char *v, char *why, size_t whylen)
{
    char list[SK_CONFIG_MAX_INPUTS][SK_TOPIC_MAX + 1];
    int n = 0;
    const char *p = v;

    while (*p) {
        const char *end = strchr(p, ',');
        size_t len;
        while (*p == ' ')
            p++;
        len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (!topic_valid(p, len)) {
            snprintf(why, whylen, "not a topic name (1..%d of [A-Za-z0-9._-])",
                     SK_TOPIC_MAX);
            return SK_ERR;
        }
        if (n == SK_CONFIG_MAX_INPUTS) {
            snprintf(why, whylen, "at most %d input topics",
                     SK_CONFIG_MAX_INPUTS);
            return SK_ERR;
        }
        memcpy(list[n], p, len);
        list[n][len] = '\0';
        for (int i = 0; i < n; i++) {
            if (strcmp(list[i], list[n]) == 0) {
                if (snprintf(why, whylen, "topic %s listed twice",
                             list[n]) >= (int)whylen)
                    why[whylen - 1] = '\0';
                return SK_ERR;
            }
        }
        n++;
        if (!end)
            break;
        p = end + 1;
    }
    if (n == 0) {
        snprintf(why, whylen, "at least one input topic is needed");
        return SK_ERR;
    }
    memcpy(cfg->inputs, list, sizeof list);
    cfg->n_inputs = n;
    return SK_OK;
}

/* Apply @p v to setting @p s; on error @p why says what is wrong. */
static int apply(sk_config_t *cfg, const setting_t *s, const char *v, char *why,
                 size_t whylen)
{
    char *field = (char *)cfg + s->offset;
    int64_t ms;
    long n;
    char *end;
    bool b;

    switch (s->type) {
    case T_STR:
        if (strlen(v) >= s->size) {
            snprintf(why, whylen, "too long (at most %zu bytes)", s->size - 1);
            return SK_ERR;
        }
        if (s->min > 0 && !*v) {
            snprintf(why, whylen, "must not be empty");
            return SK_ERR;
        }
        memcpy(field, v, strlen(v) + 1);
        return SK_OK;
    case T_TOPIC:
        if (!topic_valid(v, strlen(v))) {
            snprintf(why, whylen, "not a topic name (1..%d of [A-Za-z0-9._-])",
                     SK_TOPIC_MAX);
            return SK_ERR;
        }
        memcpy(field, v, strlen(v) + 1);
        return SK_OK;
    case T_TOPICS:
        return set_topics(cfg, v, why, whylen);
    case T_ADDR:
        if (sk_redis_opts_parse_addr(&cfg->redis, v) != SK_OK) {
            snprintf(why, whylen, "expected HOST:PORT");
            return SK_ERR;
        }
        return SK_OK;
    case T_INT:
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < s->min || n > s->max) {
            snprintf(why, whylen, "must be an integer %ld..%ld", s->min,
                     s->max);
            return SK_ERR;
        }
        *(int *)(void *)field = (int)n;
        return SK_OK;
    case T_BOOL:
        if (parse_bool(v, &b) != SK_OK) {
            snprintf(why, whylen, "must be true or false");
            return SK_ERR;
        }
        *(bool *)(void *)field = b;
        return SK_OK;
    case T_MS_OFF:
        if (strcmp(v, "off") == 0) {
            *(int64_t *)(void *)field = -1;
            return SK_OK;
        }
        /* fall through */
    case T_MS:
    case T_MS_INT:
        if (parse_ms(v, &ms) != SK_OK || ms < 0) {
            snprintf(why, whylen,
                     "must be a duration such as 500ms, 90s, 5m, "
                     "12h or 7d%s",
                     s->type == T_MS_OFF ? ", or off" : "");
            return SK_ERR;
        }
        if ((s->min || s->max) && (ms < s->min || ms > s->max)) {
            snprintf(why, whylen, "must be between %ld ms and %ld ms", s->min,
                     s->max);
            return SK_ERR;
        }
        if (s->type == T_MS_INT)
            *(int *)(void *)field = (int)ms;
        else
            *(int64_t *)(void *)field = ms;
        return SK_OK;
    case T_FORMAT:
        if (strcmp(v, "json") == 0)
            cfg->alerts_format = SK_ALERTS_JSON;
        else if (strcmp(v, "msgpack") == 0)
            cfg->alerts_format = SK_ALERTS_MSGPACK;
        else {
            snprintf(why, whylen, "must be json or msgpack");
            return SK_ERR;
        }
        return SK_OK;
    case T_LEVEL:
        n = sk_log_level_parse(v);
        if (n < 0) {
            snprintf(why, whylen, "must be debug, info, warn or error");
            return SK_ERR;
        }
        cfg->log_level = (int)n;
        return SK_OK;
    }
    return SK_ERR;
}

static int set_setting(sk_config_t *cfg, const setting_t *s, const char *v,
                       sk_config_origin_t layer, const char *origin,
                       char *errstr, size_t errlen)
{
    char why[200];
    size_t idx = (size_t)(s - settings);

    if (apply(cfg, s, v, why, sizeof why) != SK_OK) {
        snprintf(errstr, errlen, "%s: %s: %s", origin, s->path, why);
        return SK_ERR;
    }
    cfg->origin[idx] = (unsigned char)layer;
    /* A password and a password file replace each other, so the later
     * layer wins whichever form it uses. */
    if (strcmp(s->path, "redis.password") == 0)
        cfg->redis_password_file[0] = '\0';
    else if (strcmp(s->path, "redis.password_file") == 0 && *v)
        cfg->redis.password[0] = '\0';
    if (s->type == T_ADDR) {
        cfg->origin[find_setting("redis.host") - settings] =
            (unsigned char)layer;
        cfg->origin[find_setting("redis.port") - settings] =
            (unsigned char)layer;
    }
    return SK_OK;
}

int sk_config_set(sk_config_t *cfg, const char *key, const char *value,
                  sk_config_origin_t layer, const char *origin, char *errstr,
                  size_t errlen)
{
    const setting_t *s = find_setting(key);

    if (!s) {
        snprintf(errstr, errlen, "%s: unknown setting %s", origin, key);
        return SK_ERR;
    }
    return set_setting(cfg, s, value, layer, origin, errstr, errlen);
}

/* ---- the YAML file --------------------------------------------------- */

typedef struct file_ctx {
    sk_config_t *cfg;
    yaml_document_t *doc;
    const char *path;
    char *errstr;
    size_t errlen;
} file_ctx_t;

static unsigned long line_of(const yaml_node_t *node)
{
    return (unsigned long)node->start_mark.line + 1;
}

static const char *scalar(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

/* A sequence of scalars as one comma-separated string. */
static int join_sequence(file_ctx_t *fx, yaml_node_t *seq, char *out,
                         size_t len)
{
    size_t o = 0;

    out[0] = '\0';
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(fx->doc, *it);
        int n;
        if (!item || item->type != YAML_SCALAR_NODE) {
            snprintf(fx->errstr, fx->errlen, "%s:%lu: expected a topic name",
                     fx->path, item ? line_of(item) : line_of(seq));
            return SK_ERR;
        }
        n = snprintf(out + o, len - o, "%s%s", o ? "," : "", scalar(item));
        if (n < 0 || (size_t)n >= len - o) {
            snprintf(fx->errstr, fx->errlen, "%s:%lu: list too long", fx->path,
                     line_of(item));
            return SK_ERR;
        }
        o += (size_t)n;
    }
    return SK_OK;
}

static int load_kafka_map(file_ctx_t *fx, yaml_node_t *map)
{
    char why[SK_ERRSTR_LEN];

    if (map->type == YAML_SCALAR_NODE && scalar(map)[0] == '\0')
        return SK_OK; /* "kafka:" with nothing after it */
    if (map->type != YAML_MAPPING_NODE) {
        snprintf(fx->errstr, fx->errlen,
                 "%s:%lu: kafka: expected a map of librdkafka properties",
                 fx->path, line_of(map));
        return SK_ERR;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(fx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(fx->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE ||
            v->type != YAML_SCALAR_NODE) {
            snprintf(fx->errstr, fx->errlen,
                     "%s:%lu: kafka: each entry is property: value", fx->path,
                     k ? line_of(k) : line_of(map));
            return SK_ERR;
        }
        if (sk_kafka_props_set(&fx->cfg->kafka, scalar(k), scalar(v), why,
                               sizeof why) != SK_OK) {
            snprintf(fx->errstr, fx->errlen, "%s:%lu: %s", fx->path, line_of(k),
                     why);
            return SK_ERR;
        }
    }
    return SK_OK;
}

static int load_map(file_ctx_t *fx, yaml_node_t *map, const char *prefix)
{
    char path[128], origin[SK_CONFIG_PATH_MAX + 32];
    char joined[SK_CONFIG_MAX_INPUTS * (SK_TOPIC_MAX + 2)];

    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(fx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(fx->doc, p->value);
        const setting_t *s;
        const char *value;

        if (!k || !v || k->type != YAML_SCALAR_NODE) {
            snprintf(fx->errstr, fx->errlen, "%s:%lu: expected a key", fx->path,
                     k ? line_of(k) : line_of(map));
            return SK_ERR;
        }
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "",
                 scalar(k));
        if (strcmp(path, "kafka") == 0) {
            if (load_kafka_map(fx, v) != SK_OK)
                return SK_ERR;
            continue;
        }
        s = find_setting(path);
        if (!s && v->type == YAML_MAPPING_NODE && !*prefix) {
            if (load_map(fx, v, path) != SK_OK)
                return SK_ERR;
            continue;
        }
        if (!s) {
            snprintf(fx->errstr, fx->errlen, "%s:%lu: unknown setting %s",
                     fx->path, line_of(k), path);
            return SK_ERR;
        }
        if (v->type == YAML_SEQUENCE_NODE && s->type == T_TOPICS) {
            if (join_sequence(fx, v, joined, sizeof joined) != SK_OK)
                return SK_ERR;
            value = joined;
        } else if (v->type == YAML_SCALAR_NODE) {
            value = scalar(v);
        } else {
            snprintf(fx->errstr, fx->errlen, "%s:%lu: %s: expected a value",
                     fx->path, line_of(v), path);
            return SK_ERR;
        }
        snprintf(origin, sizeof origin, "%s:%lu", fx->path, line_of(v));
        if (set_setting(fx->cfg, s, value, SK_ORIGIN_FILE, origin, fx->errstr,
                        fx->errlen) != SK_OK)
            return SK_ERR;
    }
    return SK_OK;
}

int sk_config_load_file(sk_config_t *cfg, const char *path, char *errstr,
                        size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    file_ctx_t fx = {cfg, &doc, path, errstr, errlen};
    FILE *f = fopen(path, "rb");
    int rc = SK_ERR;

    if (!f) {
        snprintf(errstr, errlen, "%s: %s", path, strerror(errno));
        return SK_ERR;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        snprintf(errstr, errlen, "%s: out of memory", path);
        return SK_ERR;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(errstr, errlen, "%s:%lu: %s", path,
                 (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "not valid YAML");
        yaml_parser_delete(&parser);
        fclose(f);
        return SK_ERR;
    }
    root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = SK_OK; /* an empty file: every default stays */
    } else if (root->type != YAML_MAPPING_NODE) {
        snprintf(errstr, errlen, "%s:%lu: expected a map of settings", path,
                 line_of(root));
    } else {
        rc = load_map(&fx, root, "");
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

/* ---- the environment ---------------------------------------------------- */

static bool known_env(const char *name, size_t len)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].env && strlen(settings[i].env) == len &&
            strncmp(settings[i].env, name, len) == 0)
            return true;
    for (int i = 0; other_env[i]; i++)
        if (strlen(other_env[i]) == len &&
            strncmp(other_env[i], name, len) == 0)
            return true;
    return false;
}

int sk_config_apply_env(sk_config_t *cfg, char *errstr, size_t errlen)
{
    char why[SK_ERRSTR_LEN];

    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *v = settings[i].env ? getenv(settings[i].env) : NULL;
        if (!v)
            continue;
        if (set_setting(cfg, &settings[i], v, SK_ORIGIN_ENV, settings[i].env,
                        errstr, errlen) != SK_OK)
            return SK_ERR;
    }
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        char prop[256];
        size_t plen = sizeof kafka_env_prefix - 1, n;

        if (!eq || strncmp(*e, "SCOREKEEPER_", 12) != 0)
            continue;
        if (strncmp(*e, kafka_env_prefix, plen) != 0) {
            if (!known_env(*e, (size_t)(eq - *e)))
                sk_log(SK_LOG_WARN, "config",
                       "unknown SCOREKEEPER_ environment variable ignored",
                       "name=%.*s", (int)(eq - *e), *e);
            continue;
        }
        n = (size_t)(eq - *e) - plen;
        if (n == 0 || n >= sizeof prop) {
            snprintf(errstr, errlen, "%.*s: not a kafka property name",
                     (int)(eq - *e), *e);
            return SK_ERR;
        }
        for (size_t j = 0; j < n; j++) {
            char c = (*e)[plen + j];
            prop[j] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
        prop[n] = '\0';
        if (sk_kafka_props_set(&cfg->kafka, prop, eq + 1, why, sizeof why) !=
            SK_OK) {
            snprintf(errstr, errlen, "%.*s: %s", (int)(eq - *e), *e, why);
            return SK_ERR;
        }
    }
    return SK_OK;
}

/* ---- finishing and printing -------------------------------------------- */

static int read_password_file(sk_config_t *cfg, char *errstr, size_t errlen)
{
    FILE *f = fopen(cfg->redis_password_file, "r");
    char buf[sizeof cfg->redis.password + 2];
    size_t n;

    if (!f) {
        snprintf(errstr, errlen, "redis.password_file %s: %s",
                 cfg->redis_password_file, strerror(errno));
        return SK_ERR;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (strlen(buf) >= sizeof cfg->redis.password) {
        memset(buf, 0, sizeof buf);
        snprintf(errstr, errlen, "redis.password_file %s: password too long",
                 cfg->redis_password_file);
        return SK_ERR;
    }
    memcpy(cfg->redis.password, buf, strlen(buf) + 1);
    memset(buf, 0, sizeof buf);
    return SK_OK;
}

int sk_config_finish(sk_config_t *cfg, char *errstr, size_t errlen)
{
    size_t rules_idx = (size_t)(find_setting("rules") - settings);

    if (cfg->redis_password_file[0] &&
        read_password_file(cfg, errstr, errlen) != SK_OK)
        return SK_ERR;
    for (int i = 0; i < cfg->n_inputs; i++) {
        if (strcmp(cfg->inputs[i], cfg->alerts_topic) == 0 ||
            strcmp(cfg->inputs[i], cfg->dlq_topic) == 0) {
            snprintf(errstr, errlen,
                     "topics: %s is both an input and an output topic",
                     cfg->inputs[i]);
            return SK_ERR;
        }
    }
    if (strcmp(cfg->alerts_topic, cfg->dlq_topic) == 0) {
        snprintf(errstr, errlen, "topics: alerts and dlq must differ");
        return SK_ERR;
    }
    if (strcmp(cfg->metrics_listen, SK_HTTP_ADMIN_OFF) != 0) {
        struct sockaddr_storage addr;
        socklen_t alen;
        char why[SK_ERRSTR_LEN];
        if (sk_http_admin_parse_listen(cfg->metrics_listen, &addr, &alen, why,
                                       sizeof why) != SK_OK) {
            snprintf(errstr, errlen, "metrics.listen: %s", why);
            return SK_ERR;
        }
    }
    if (cfg->origin[rules_idx] == SK_ORIGIN_DEFAULT &&
        access(SK_CONFIG_RULES_INSTALLED, R_OK) != 0)
        snprintf(cfg->rules_path, sizeof cfg->rules_path, "%s",
                 SK_CONFIG_RULES_DEV);
    return SK_OK;
}

static const char *origin_name(unsigned char o)
{
    switch (o) {
    case SK_ORIGIN_FILE:
        return "config file";
    case SK_ORIGIN_ENV:
        return "environment";
    case SK_ORIGIN_FLAG:
        return "command line";
    default:
        return "default";
    }
}

static void print_ms(FILE *out, int64_t ms)
{
    if (ms < 0)
        fputs("off", out);
    else if (ms % SK_DAY_MS == 0 && ms)
        fprintf(out, "%" PRId64 "d", ms / SK_DAY_MS);
    else if (ms % 3600000 == 0 && ms)
        fprintf(out, "%" PRId64 "h", ms / 3600000);
    else if (ms % 60000 == 0 && ms)
        fprintf(out, "%" PRId64 "m", ms / 60000);
    else if (ms % 1000 == 0 && ms)
        fprintf(out, "%" PRId64 "s", ms / 1000);
    else
        fprintf(out, "%" PRId64 "ms", ms);
}

static void print_value(const sk_config_t *cfg, const setting_t *s, FILE *out)
{
    const char *field = (const char *)cfg + s->offset;

    switch (s->type) {
    case T_STR:
    case T_TOPIC:
        if (s->secret)
            fputs(*field ? "\"***\"" : "\"\"", out);
        else
            fprintf(out, "\"%s\"", field);
        break;
    case T_TOPICS:
        fputc('[', out);
        for (int i = 0; i < cfg->n_inputs; i++)
            fprintf(out, "%s%s", i ? ", " : "", cfg->inputs[i]);
        fputc(']', out);
        break;
    case T_ADDR:
        fprintf(out, "\"%s:%d\"", cfg->redis.host, cfg->redis.port);
        break;
    case T_INT:
        fprintf(out, "%d", *(const int *)(const void *)field);
        break;
    case T_BOOL:
        fputs(*(const bool *)(const void *)field ? "true" : "false", out);
        break;
    case T_MS:
    case T_MS_OFF:
        print_ms(out, *(const int64_t *)(const void *)field);
        break;
    case T_MS_INT:
        print_ms(out, *(const int *)(const void *)field);
        break;
    case T_FORMAT:
        fputs(cfg->alerts_format == SK_ALERTS_MSGPACK ? "msgpack" : "json",
              out);
        break;
    case T_LEVEL:
        fputs(sk_log_level_name((sk_log_level_t)cfg->log_level), out);
        break;
    }
}

void sk_config_print(const sk_config_t *cfg, FILE *out)
{
    char section[32] = "";

    fputs("# effective scorekeeperd configuration (secrets masked)\n", out);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        const char *dot = strchr(s->path, '.');
        const char *name = s->path;

        if (s->type == T_ADDR)
            continue; /* shown as redis.host and redis.port */
        if (dot) {
            size_t len = (size_t)(dot - s->path);
            if (strlen(section) != len || strncmp(section, s->path, len)) {
                snprintf(section, sizeof section, "%.*s", (int)len, s->path);
                fprintf(out, "%s:\n", section);
            }
            name = dot + 1;
            fputs("  ", out);
        } else {
            section[0] = '\0';
        }
        fprintf(out, "%s: ", name);
        print_value(cfg, s, out);
        fprintf(out, "  # %s%s%s\n", origin_name(cfg->origin[i]),
                s->env ? ", env " : "", s->env ? s->env : "");
    }
    if (sk_config_embedded(cfg))
        fputs("# brokers: the embedded mock cluster (development only)\n", out);
    fputs("kafka:", out);
    if (cfg->kafka.n == 0)
        fputs(" {}", out);
    fputc('\n', out);
    for (size_t i = 0; i < cfg->kafka.n; i++)
        fprintf(out, "  %s: \"%s\"\n", cfg->kafka.keys[i],
                sk_kafka_prop_is_secret(cfg->kafka.keys[i])
                    ? "***"
                    : cfg->kafka.values[i]);
}
