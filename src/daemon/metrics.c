/*
 * metrics.c - the daemon's figures, published for the HTTP threads, and
 * their Prometheus rendering.
 *
 * DESIGN
 *  - Counting costs the hot path nothing it did not pay already: the
 *    pipeline increments plain integers in d->stats (one array index more
 *    for the breakdowns) on the main thread.  Nothing there is shared.
 *  - Publication copies those integers, the two histograms and the
 *    partition table into `pub` under a mutex, after batches and ticks,
 *    at most every 100 ms (sk_metrics_publish).  A scrape copies `pub`
 *    out under the same mutex and renders outside it, so neither side
 *    holds the lock for longer than a memcpy.
 *  - What must stay true while the main thread is stuck (in a Redis
 *    retry, a long batch) is computed by the HTTP thread itself: whether
 *    partitions are held and the daemon is not stopping (atomics the main
 *    thread sets), whether Redis answers (a probe of its own, which also
 *    counts the accounts), and the age of the lag figures.
 *  - Fixed histogram buckets, in seconds: batches from 1 ms to 30 s,
 *    Redis calls from 100 us to 2.5 s.
 *  - scorekeeper_accounts_tracked is ZCARD of the score index at scrape
 *    time: every account stored under the prefix, the same figure on
 *    every instance (aggregate it with max, not sum).
 *    scorekeeper_accounts_cached is this instance's cache.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <msgpack.h>
#include <pthread.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "redis_probe.h"

#define PUBLISH_EVERY_NS 100000000LL
#define PROBE_TIMEOUT_MS 2000
#define MAX_BUCKETS 16

static const double batch_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const double redis_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                      0.25,   0.5,     1,      2.5};
#define N_BATCH_BOUNDS (sizeof batch_bounds / sizeof batch_bounds[0])
#define N_REDIS_BOUNDS (sizeof redis_bounds / sizeof redis_bounds[0])

typedef struct hist {
    uint64_t counts[MAX_BUCKETS + 1]; /**< per bucket, the last is +Inf */
    uint64_t count;                   /**< observations */
    double sum;                       /**< their sum, seconds */
} hist_t;

typedef struct part_figs {
    char topic[SK_TOPIC_MAX + 1];
    int32_t partition;
    int64_t lag;       /**< messages behind, -1 unknown */
    int64_t lag_at_ms; /**< monotonic ms it was measured, 0 never */
    int64_t committed; /**< last committed offset, -1 none */
} part_figs_t;

typedef struct figures {
    sk_stats_t stats; /**< the daemon's totals */
    hist_t batch;     /**< batch durations */
    hist_t redis;     /**< Redis call durations */
    char rules_version[64];
    uint64_t reloads, reload_failures;
    uint64_t cached;    /**< accounts in this daemon's cache */
    part_figs_t *parts; /**< assigned input partitions; owned */
    size_t n_parts, cap_parts;
} figures_t;

struct sk_metrics {
    const sk_config_t *cfg; /**< borrowed */

    /* main thread only */
    figures_t live;             /**< stats is copied in at publication */
    int64_t redis_t0;           /**< start of the Redis call being timed */
    int64_t last_publish_ns;    /**< when pub was last written */
    uint64_t synced_rebalances; /**< assignment the table was built for */
    size_t synced_parts;

    /* shared */
    pthread_mutex_t lock;    /**< guards pub */
    figures_t pub;           /**< what scrapes see */
    atomic_int assigned;     /**< partitions held */
    atomic_bool stopping;    /**< shutting down */
    sk_redis_probe_t *probe; /**< HTTP threads' Redis connection */
};

int64_t sk_metrics_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

sk_metrics_t *sk_metrics_new(const sk_config_t *cfg)
{
    sk_metrics_t *m = calloc(1, sizeof *m);

    if (!m)
        return NULL;
    m->cfg = cfg;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    m->probe = sk_redis_probe_new(&cfg->redis, PROBE_TIMEOUT_MS);
    if (!m->probe) {
        pthread_mutex_destroy(&m->lock);
        free(m);
        return NULL;
    }
    atomic_init(&m->assigned, 0);
    atomic_init(&m->stopping, false);
    return m;
}

void sk_metrics_destroy(sk_metrics_t *m)
{
    if (!m)
        return;
    sk_redis_probe_destroy(m->probe);
    pthread_mutex_destroy(&m->lock);
    free(m->live.parts);
    free(m->pub.parts);
    free(m);
}

/* ---- main thread: observations ------------------------------------------ */

static void observe(hist_t *h, const double *bounds, size_t nb, double v)
{
    size_t i = 0;

    while (i < nb && v > bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void sk_metrics_observe_batch(sk_metrics_t *m, int64_t ns)
{
    if (m)
        observe(&m->live.batch, batch_bounds, N_BATCH_BOUNDS, (double)ns / 1e9);
}

void sk_metrics_redis_begin(sk_metrics_t *m)
{
    if (m)
        m->redis_t0 = sk_metrics_clock_ns();
}

int sk_metrics_redis_end(sk_metrics_t *m, int rc)
{
    if (m && m->redis_t0) {
        observe(&m->live.redis, redis_bounds, N_REDIS_BOUNDS,
                (double)(sk_metrics_clock_ns() - m->redis_t0) / 1e9);
        m->redis_t0 = 0;
    }
    return rc;
}

void sk_metrics_rules(sk_metrics_t *m, const char *version, bool reloaded,
                      bool failed)
{
    if (!m)
        return;
    sk_copy_str(m->live.rules_version, sizeof m->live.rules_version, version);
    if (reloaded)
        m->live.reloads++;
    if (failed)
        m->live.reload_failures++;
}

void sk_metrics_stopping(sk_metrics_t *m)
{
    if (m)
        atomic_store(&m->stopping, true);
}

/* ---- main thread: counting helpers ---------------------------------------- */

int sk_daemon_input_index(const sk_daemon_t *d, const char *topic)
{
    for (int i = 0; i < d->cfg->n_inputs; i++)
        if (strcmp(d->cfg->inputs[i], topic) == 0)
            return i;
    return -1;
}

void sk_daemon_count_consumed(sk_daemon_t *d, const sk_partition_t *p,
                              const char *topic)
{
    int i = p ? p->input : sk_daemon_input_index(d, topic);

    if (i >= 0 && i < SK_CONFIG_MAX_INPUTS)
        d->stats.consumed_by_input[i]++;
}

void sk_daemon_count_late(sk_daemon_t *d, const char *topic)
{
    int i = sk_daemon_input_index(d, topic);

    d->bstats.late++;
    if (i >= 0)
        d->bstats.late_by_input[i]++;
}

void sk_daemon_count_dead_letter(sk_daemon_t *d, const char *reason)
{
    for (int r = 0; r < SK_REJECT__COUNT; r++) {
        if (strcmp(sk_reject_name((sk_reject_t)r), reason) == 0) {
            d->stats.dead_lettered_by_reason[r]++;
            return;
        }
    }
    d->stats.dead_lettered_by_reason[SK_REJECT_NONE]++;
}

static int kind_index(const char *name, size_t len)
{
    for (int k = 0; k < SK_ALERT__COUNT; k++) {
        const char *n = sk_alert_kind_name((sk_alert_kind_t)k);
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return k;
    }
    return SK_ALERT__COUNT;
}

/* The alert's kind from its wire form; SK_ALERT__COUNT when unreadable. */
static int alert_kind(const void *payload, size_t len, sk_alerts_format_t fmt)
{
    int k = SK_ALERT__COUNT;

    if (!payload || len == 0)
        return k;
    if (fmt == SK_ALERTS_JSON) {
        /* Our own alerts (sk_alert_write_json): "kind" is the second
         * member, a plain name; no need to parse the whole object. */
        static const char tag[] = "\"kind\":\"";
        const size_t taglen = sizeof tag - 1;
        const char *p = payload;
        for (size_t i = 0; i + taglen <= len && i < 96; i++) {
            if (memcmp(p + i, tag, taglen) != 0)
                continue;
            const char *name = p + i + taglen;
            const char *end = memchr(name, '"', len - i - taglen);
            if (end)
                k = kind_index(name, (size_t)(end - name));
            break;
        }
    } else {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, payload, len, NULL) ==
                MSGPACK_UNPACK_SUCCESS &&
            u.data.type == MSGPACK_OBJECT_MAP) {
            const msgpack_object_map *map = &u.data.via.map;
            for (uint32_t i = 0; i < map->size; i++) {
                const msgpack_object *key = &map->ptr[i].key;
                const msgpack_object *val = &map->ptr[i].val;
                if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 4 &&
                    memcmp(key->via.str.ptr, "kind", 4) == 0 &&
                    val->type == MSGPACK_OBJECT_STR) {
                    k = kind_index(val->via.str.ptr, val->via.str.size);
                    break;
                }
            }
        }
        msgpack_unpacked_destroy(&u);
    }
    return k;
}

void sk_daemon_count_delivery(sk_daemon_t *d, const rd_kafka_message_t *m,
                              bool is_alert)
{
    if (!is_alert)
        return;
    if (m->err) {
        d->stats.alerts_failed++;
        return;
    }
    d->stats.alerts_by_kind[alert_kind(m->payload, m->len,
                                       d->cfg->alerts_format)]++;
}

/* ---- main thread: the partition table ------------------------------------ */

static part_figs_t *find_part(figures_t *f, const char *topic,
                              int32_t partition)
{
    for (size_t i = 0; i < f->n_parts; i++)
        if (f->parts[i].partition == partition &&
            strcmp(f->parts[i].topic, topic) == 0)
            return &f->parts[i];
    return NULL;
}

/* Rebuild the table from the assignment, keeping what is known of the
 * partitions still held.  @returns SK_OK or SK_ERR (OOM: table kept). */
static int sync_parts(sk_metrics_t *m, const sk_daemon_t *d)
{
    part_figs_t *np;
    size_t n = 0;

    if (m->synced_rebalances == d->stats.rebalances &&
        m->synced_parts == d->n_parts)
        return SK_OK;
    np = d->n_parts ? calloc(d->n_parts, sizeof *np) : NULL;
    if (d->n_parts && !np)
        return SK_ERR;
    for (size_t i = 0; i < d->n_parts; i++) {
        const sk_partition_t *p = &d->parts[i];
        const part_figs_t *old;
        if (!sk_daemon_is_input(d, p->topic))
            continue;
        old = find_part(&m->live, p->topic, p->partition);
        if (old) {
            np[n] = *old;
        } else {
            sk_copy_str(np[n].topic, sizeof np[n].topic, p->topic);
            np[n].partition = p->partition;
            np[n].lag = -1;
            np[n].committed = -1;
        }
        n++;
    }
    free(m->live.parts);
    m->live.parts = np;
    m->live.n_parts = m->live.cap_parts = n;
    m->synced_rebalances = d->stats.rebalances;
    m->synced_parts = d->n_parts;
    return SK_OK;
}

static int64_t json_int(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

int sk_metrics_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    sk_daemon_t *d = opaque;
    sk_metrics_t *m = d->metrics;
    json_t *root, *topics;
    const char *tname;
    json_t *tobj;
    int64_t now = sk_clock_mono_ms();

    (void)rk;
    if (!m || sync_parts(m, d) != SK_OK)
        return 0;
    root = json_loadb(json, len, 0, NULL);
    topics = root ? json_object_get(root, "topics") : NULL;
    json_object_foreach(topics, tname, tobj)
    {
        const char *pname;
        json_t *pobj;
        json_t *parts = json_object_get(tobj, "partitions");
        if (!sk_daemon_is_input(d, tname))
            continue;
        json_object_foreach(parts, pname, pobj)
        {
            int64_t id = json_int(pobj, "partition"), lag, end, pos;
            const sk_partition_t *p;
            part_figs_t *f;
            if (id < 0 || id > INT32_MAX)
                continue;
            p = sk_consumer_partition(d, tname, (int32_t)id);
            f = find_part(&m->live, tname, (int32_t)id);
            if (!p || !f)
                continue;
            lag = json_int(pobj, "consumer_lag");
            if (lag < 0 && p->eof) {
                lag = 0; /* nothing committed yet, but at the end */
            } else if (lag < 0) {
                end = json_int(pobj, "ls_offset");
                if (end < 0)
                    end = json_int(pobj, "hi_offset");
                pos = json_int(pobj, "app_offset");
                lag = end >= 0 && pos >= 0 ? (end > pos ? end - pos : 0) : -1;
            }
            if (lag >= 0) {
                f->lag = lag;
                f->lag_at_ms = now;
            }
        }
    }
    json_decref(root);
    return 0; /* librdkafka frees json */
}

void sk_metrics_committed(void *daemon, rd_kafka_resp_err_t err,
                          const rd_kafka_topic_partition_list_t *offsets)
{
    sk_daemon_t *d = daemon;
    sk_metrics_t *m = d ? d->metrics : NULL;

    if (err || !m || !offsets || sync_parts(m, d) != SK_OK)
        return;
    for (int i = 0; i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
        part_figs_t *f;
        if (tp->err || tp->offset < 0)
            continue;
        f = find_part(&m->live, tp->topic, tp->partition);
        if (f)
            f->committed = tp->offset;
    }
}

/* ---- publication ----------------------------------------------------------- */

/* Copy @p src into @p dst, reusing dst's partition array.
 * @returns SK_OK or SK_ERR (OOM: dst's partitions are left as they were). */
static int copy_figures(figures_t *dst, const figures_t *src)
{
    part_figs_t *parts = dst->parts;
    size_t cap = dst->cap_parts;

    if (src->n_parts > cap) {
        part_figs_t *np = realloc(parts, src->n_parts * sizeof *np);
        if (!np)
            return SK_ERR;
        parts = np;
        cap = src->n_parts;
    }
    *dst = *src;
    dst->parts = parts;
    dst->cap_parts = cap;
    if (src->n_parts)
        memcpy(parts, src->parts, src->n_parts * sizeof *parts);
    return SK_OK;
}

void sk_metrics_publish(sk_daemon_t *d, bool force)
{
    sk_metrics_t *m = d->metrics;
    int64_t now;

    if (!m)
        return;
    atomic_store(&m->assigned, (int)d->n_parts);
    now = sk_metrics_clock_ns();
    if (!force && now - m->last_publish_ns < PUBLISH_EVERY_NS)
        return;
    m->last_publish_ns = now;
    sync_parts(m, d);
    m->live.stats = d->stats;
    m->live.cached = d->cache ? (uint64_t)sk_cache_count(d->cache) : 0;
    pthread_mutex_lock(&m->lock);
    copy_figures(&m->pub, &m->live);
    pthread_mutex_unlock(&m->lock);
}

/* ---- HTTP threads ------------------------------------------------------------ */

int sk_metrics_ready(void *opaque, char *why, size_t whylen)
{
    sk_metrics_t *m = opaque;
    int64_t accounts;
    char err[SK_ERRSTR_LEN];

    if (atomic_load(&m->stopping)) {
        snprintf(why, whylen, "stopping");
        return SK_ERR;
    }
    /* Redis first: while it is down the daemon waits for it before it
     * even joins the group, and that is the reason worth reporting. */
    if (sk_redis_probe_check(m->probe, &accounts, err, sizeof err) != SK_OK) {
        snprintf(why, whylen, "redis unreachable: %s", err);
        return SK_ERR;
    }
    if (atomic_load(&m->assigned) == 0) {
        snprintf(why, whylen,
                 "no Kafka partitions assigned (joining the consumer group, "
                 "brokers unreachable, or more instances than partitions)");
        return SK_ERR;
    }
    return SK_OK;
}

typedef struct out {
    char *buf;
    size_t len, cap;
    bool oom;
} out_t;

__attribute__((format(printf, 2, 3))) static void put(out_t *o, const char *fmt,
                                                      ...)
{
    va_list ap;
    int n;

    if (o->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        {
            size_t cap = (o->cap + (size_t)n + 1) * 2;
            char *nb = realloc(o->buf, cap);
            if (!nb) {
                o->oom = true;
                return;
            }
            o->buf = nb;
            o->cap = cap;
        }
    }
}

static void head(out_t *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped. */
static const char *label(char *buf, size_t len, const char *s)
{
    size_t o = 0;

    for (; *s && o + 3 < len; s++) {
        if (*s == '\\' || *s == '"') {
            buf[o++] = '\\';
            buf[o++] = *s;
        } else if (*s == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else {
            buf[o++] = *s;
        }
    }
    buf[o] = '\0';
    return buf;
}

static void counter(out_t *o, const char *name, const char *help, uint64_t v)
{
    head(o, name, "counter", help);
    put(o, "%s %" PRIu64 "\n", name, v);
}

static void gauge(out_t *o, const char *name, const char *help, int64_t v)
{
    head(o, name, "gauge", help);
    put(o, "%s %" PRId64 "\n", name, v);
}

static void histogram(out_t *o, const char *name, const char *help,
                      const hist_t *h, const double *bounds, size_t nb)
{
    uint64_t cum = 0;

    head(o, name, "histogram", help);
    for (size_t i = 0; i < nb; i++) {
        cum += h->counts[i];
        put(o, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, bounds[i], cum);
    }
    put(o, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
    put(o, "%s_sum %.9g\n", name, h->sum);
    put(o, "%s_count %" PRIu64 "\n", name, h->count);
}

static void render_events(out_t *o, const sk_config_t *cfg, const figures_t *f)
{
    const sk_stats_t *s = &f->stats;

    head(o, "scorekeeper_events_consumed_total", "counter",
         "Messages polled from each input topic.");
    for (int i = 0; i < cfg->n_inputs; i++)
        put(o, "scorekeeper_events_consumed_total{topic=\"%s\"} %" PRIu64 "\n",
            cfg->inputs[i], s->consumed_by_input[i]);
    counter(o, "scorekeeper_events_applied_total",
            "Events that changed an account.", s->applied);
    counter(o, "scorekeeper_events_duplicate_total",
            "Events ignored because their id was seen before.", s->duplicates);
    counter(o, "scorekeeper_events_replayed_total",
            "Messages skipped because the account had applied their offset "
            "already (a replay after a restart or rebalance).",
            s->replayed);
    head(o, "scorekeeper_events_dead_lettered_total", "counter",
         "Messages sent to the dead-letter topic, by reject reason.");
    for (int r = 1; r < SK_REJECT__COUNT; r++)
        put(o,
            "scorekeeper_events_dead_lettered_total{reason=\"%s\"} %" PRIu64
            "\n",
            sk_reject_name((sk_reject_t)r), s->dead_lettered_by_reason[r]);
    if (s->dead_lettered_by_reason[SK_REJECT_NONE])
        put(o,
            "scorekeeper_events_dead_lettered_total{reason=\"other\"} %" PRIu64
            "\n",
            s->dead_lettered_by_reason[SK_REJECT_NONE]);
    head(o, "scorekeeper_events_late_total", "counter",
         "Applied events older than time.late_grace, by input topic.");
    for (int i = 0; i < cfg->n_inputs; i++)
        put(o, "scorekeeper_events_late_total{topic=\"%s\"} %" PRIu64 "\n",
            cfg->inputs[i], s->late_by_input[i]);
}

static void render_alerts(out_t *o, const figures_t *f)
{
    const sk_stats_t *s = &f->stats;

    head(o, "scorekeeper_alerts_produced_total", "counter",
         "Alerts confirmed delivered to the alerts topic, by kind.");
    for (int k = 0; k < SK_ALERT__COUNT; k++)
        put(o, "scorekeeper_alerts_produced_total{kind=\"%s\"} %" PRIu64 "\n",
            sk_alert_kind_name((sk_alert_kind_t)k), s->alerts_by_kind[k]);
    if (s->alerts_by_kind[SK_ALERT__COUNT])
        put(o,
            "scorekeeper_alerts_produced_total{kind=\"unknown\"} %" PRIu64 "\n",
            s->alerts_by_kind[SK_ALERT__COUNT]);
    counter(o, "scorekeeper_alerts_produce_failed_total",
            "Alert deliveries that failed (each is produced again until it "
            "succeeds).",
            s->alerts_failed);
    counter(o, "scorekeeper_alerts_suppressed_total",
            "Alerts not published: older than time.backfill_horizon, or "
            "publishing turned off (replay).",
            s->suppressed);
}

static void render_kafka(out_t *o, const figures_t *f, int64_t now_ms)
{
    char t[2 * SK_TOPIC_MAX + 2];

    head(o, "scorekeeper_consumer_lag", "gauge",
         "Messages behind the end of each assigned input partition "
         "(librdkafka statistics: end offset minus committed offset).");
    for (size_t i = 0; i < f->n_parts; i++)
        if (f->parts[i].lag >= 0)
            put(o,
                "scorekeeper_consumer_lag{topic=\"%s\",partition=\"%" PRId32
                "\"} %" PRId64 "\n",
                label(t, sizeof t, f->parts[i].topic), f->parts[i].partition,
                f->parts[i].lag);
    head(o, "scorekeeper_consumer_lag_age_seconds", "gauge",
         "Seconds since scorekeeper_consumer_lag was last measured.");
    for (size_t i = 0; i < f->n_parts; i++)
        if (f->parts[i].lag_at_ms > 0)
            put(o,
                "scorekeeper_consumer_lag_age_seconds{topic=\"%s\","
                "partition=\"%" PRId32 "\"} %.3f\n",
                label(t, sizeof t, f->parts[i].topic), f->parts[i].partition,
                (double)(now_ms - f->parts[i].lag_at_ms) / 1000.0);
    head(o, "scorekeeper_committed_offset", "gauge",
         "Last offset committed for each assigned input partition (the "
         "next message to read).");
    for (size_t i = 0; i < f->n_parts; i++)
        if (f->parts[i].committed >= 0)
            put(o,
                "scorekeeper_committed_offset{topic=\"%s\",partition=\"%" PRId32
                "\"} %" PRId64 "\n",
                label(t, sizeof t, f->parts[i].topic), f->parts[i].partition,
                f->parts[i].committed);
    gauge(o, "scorekeeper_assigned_partitions",
          "Input partitions assigned to this instance.", (int64_t)f->n_parts);
    counter(o, "scorekeeper_rebalances_total",
            "Partition assignments received from the consumer group.",
            f->stats.rebalances);
}

char *sk_metrics_render(void *opaque, size_t *len)
{
    sk_metrics_t *m = opaque;
    figures_t f = {0};
    out_t o = {0};
    int64_t accounts = -1;
    char err[SK_ERRSTR_LEN], v[160];
    bool ready;

    pthread_mutex_lock(&m->lock);
    if (copy_figures(&f, &m->pub) != SK_OK) {
        pthread_mutex_unlock(&m->lock);
        return NULL;
    }
    pthread_mutex_unlock(&m->lock);
    o.cap = 16384;
    o.buf = malloc(o.cap);
    if (!o.buf) {
        free(f.parts);
        return NULL;
    }
    if (sk_redis_probe_check(m->probe, &accounts, err, sizeof err) != SK_OK)
        accounts = -1;
    ready = !atomic_load(&m->stopping) && atomic_load(&m->assigned) > 0 &&
            accounts >= 0;

    head(&o, "scorekeeper_build_info", "gauge",
         "The running version of scorekeeperd.");
    put(&o, "scorekeeper_build_info{version=\"%s\"} 1\n", SK_VERSION);
    gauge(&o, "scorekeeper_ready",
          "1 when /readyz answers 200: partitions assigned and Redis "
          "reachable.",
          ready ? 1 : 0);
    render_events(&o, m->cfg, &f);
    render_alerts(&o, &f);
    histogram(&o, "scorekeeper_batch_duration_seconds",
              "Time to process, write and commit one batch, retries "
              "included.",
              &f.batch, batch_bounds, N_BATCH_BOUNDS);
    histogram(&o, "scorekeeper_redis_roundtrip_seconds",
              "Time of each pipelined Redis call (load, write, confirm, due "
              "read).",
              &f.redis, redis_bounds, N_REDIS_BOUNDS);
    render_kafka(&o, &f, sk_clock_mono_ms());
    if (accounts >= 0)
        gauge(&o, "scorekeeper_accounts_tracked",
              "Accounts stored under the key prefix (ZCARD of the score "
              "index, read at scrape time; the same on every instance).",
              accounts);
    gauge(&o, "scorekeeper_accounts_cached",
          "Accounts held in this instance's memory cache.", (int64_t)f.cached);
    counter(&o, "scorekeeper_accounts_expired_total",
            "Accounts erased after retention.silent_ttl without events.",
            f.stats.expired);
    counter(&o, "scorekeeper_accounts_renewed_total",
            "Accounts started afresh by an event arriving after more than "
            "retention.silent_ttl of silence.",
            f.stats.renewed);
    counter(&o, "scorekeeper_scheduler_evaluated_total",
            "Accounts evaluated by the scheduler (silent customers).",
            f.stats.evaluated);
    counter(&o, "scorekeeper_write_conflicts_total",
            "Compare-and-set conflicts with another writer.",
            f.stats.conflicts);
    counter(&o, "scorekeeper_batch_retries_total",
            "Batches retried after an error (Redis or Kafka outage).",
            f.stats.retries);
    head(&o, "scorekeeper_rules_info", "gauge",
         "The version of the rules in use.");
    put(&o, "scorekeeper_rules_info{version=\"%s\"} 1\n",
        label(v, sizeof v, f.rules_version));
    counter(&o, "scorekeeper_rules_reloads_total", "Rules reloaded by SIGHUP.",
            f.reloads);
    counter(&o, "scorekeeper_rules_reload_failures_total",
            "Rules reloads refused (the file did not load; the rules in use "
            "stayed).",
            f.reload_failures);
    free(f.parts);
    if (o.oom) {
        free(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}
