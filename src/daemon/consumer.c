/*
 * consumer.c - the input side: the consumer group, batches, offsets.
 *
 * DESIGN
 *  - Offsets are stored by hand (enable.auto.offset.store=false) after a
 *    batch is in Redis and its alerts are confirmed, and committed right
 *    then (enable.auto.commit=false): asynchronously after each batch,
 *    synchronously on revoke and shutdown.  The commit is an optimisation
 *    of restart time, not what exactly-once rests on: every account keeps
 *    the last offset applied per partition, so a replay is skipped.
 *  - Eager rebalancing only (range or roundrobin): a revoke takes every
 *    partition, so the revoke handler finishes the in-flight batch,
 *    commits, and empties the whole cache; nothing computed under the
 *    old assignment survives it.  A lost assignment is dropped without a
 *    commit (storing offsets for partitions we no longer own fails).
 *  - enable.partition.eof marks each partition "caught up" when it
 *    reaches its end; a message clears it.  The scheduler only evaluates
 *    accounts of caught-up partitions, so replaying history never turns
 *    old events into time-driven alerts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "kafka_log.h"
#include "log.h"

bool sk_daemon_is_input(const sk_daemon_t *d, const char *topic)
{
    for (int i = 0; i < d->cfg->n_inputs; i++)
        if (strcmp(d->cfg->inputs[i], topic) == 0)
            return true;
    return false;
}

sk_partition_t *sk_consumer_partition(sk_daemon_t *d, const char *topic,
                                      int32_t partition)
{
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].partition == partition &&
            strcmp(d->parts[i].topic, topic) == 0)
            return &d->parts[i];
    return NULL;
}

bool sk_consumer_caught_up(sk_daemon_t *d, const sk_partition_t *p)
{
    int64_t lo, hi;

    if (p->eof)
        return true;
    if (p->next_offset < 0)
        return false;
    if (rd_kafka_get_watermark_offsets(d->consumer, p->topic, p->partition, &lo,
                                       &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    return hi >= 0 && p->next_offset >= hi;
}

static void set_assignment(sk_daemon_t *d,
                           const rd_kafka_topic_partition_list_t *parts)
{
    d->n_parts = 0;
    if ((size_t)parts->cnt > d->cap_parts) {
        sk_partition_t *np = realloc(d->parts, (size_t)parts->cnt * sizeof *np);
        if (!np) {
            sk_log_msg(SK_LOG_ERROR, "consumer",
                       "out of memory recording the assignment");
            return;
        }
        d->parts = np;
        d->cap_parts = (size_t)parts->cnt;
    }
    for (int i = 0; i < parts->cnt; i++) {
        sk_partition_t *p = &d->parts[d->n_parts];
        if (strlen(parts->elems[i].topic) > SK_TOPIC_MAX)
            continue;
        snprintf(p->topic, sizeof p->topic, "%s", parts->elems[i].topic);
        p->partition = parts->elems[i].partition;
        p->eof = false;
        p->next_offset = -1;
        p->input = sk_daemon_input_index(d, p->topic);
        d->n_parts++;
    }
}

static void log_assignment(const char *what,
                           const rd_kafka_topic_partition_list_t *parts)
{
    char list[1024];
    size_t o = 0;

    list[0] = '\0';
    for (int i = 0; i < parts->cnt && o < sizeof list - 80; i++) {
        int n = snprintf(list + o, sizeof list - o, "%s%s/%d", o ? "," : "",
                         parts->elems[i].topic, parts->elems[i].partition);
        if (n > 0)
            o += (size_t)n;
    }
    sk_log(SK_LOG_INFO, "consumer", what, "count=%d partitions=%s", parts->cnt,
           SK_LOG_Q(list));
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    sk_daemon_t *d = opaque;

    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        log_assignment("partitions assigned", parts);
        set_assignment(d, parts);
        d->assigned_once = true;
        d->stats.rebalances++;
        sk_replay_assign(d, parts);
        rd_kafka_assign(rk, parts);
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        if (rd_kafka_assignment_lost(rk)) {
            sk_log(SK_LOG_WARN, "consumer",
                   "assignment lost: dropping the in-flight batch "
                   "uncommitted",
                   "messages=%zu", d->n_batch);
            sk_pipeline_abort(d);
            sk_pipeline_release(d);
        } else {
            log_assignment("partitions revoked", parts);
            if (d->n_batch > 0)
                sk_pipeline_run_batch(d, true);
            /* Everything consumed so far, delivered and committed before
             * another member takes the partitions. */
            sk_inflight_settle(d, true);
            sk_consumer_commit(d, NULL, true);
        }
        sk_cache_clear(d->cache);
        d->n_parts = 0;
        rd_kafka_assign(rk, NULL);
        break;
    default:
        sk_log(SK_LOG_ERROR, "consumer", "rebalance failed", "error=%s",
               SK_LOG_Q(rd_kafka_err2str(err)));
        sk_pipeline_abort(d);
        sk_pipeline_release(d);
        sk_cache_clear(d->cache);
        d->n_parts = 0;
        rd_kafka_assign(rk, NULL);
        break;
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    sk_daemon_t *d = opaque;

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_fatal_error(rk, why, sizeof why);
        d->fatal = true;
        snprintf(d->fatal_reason, sizeof d->fatal_reason, "%.64s: %.180s",
                 rd_kafka_name(rk), why);
        sk_log(SK_LOG_ERROR, "kafka", "fatal error", "client=%s error=%s",
               SK_LOG_Q(rd_kafka_name(rk)), SK_LOG_Q(why));
        return;
    }
    sk_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? SK_LOG_ERROR
                                                      : SK_LOG_WARN,
           "kafka", reason, "client=%s error=%s", SK_LOG_Q(rd_kafka_name(rk)),
           rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    sk_metrics_committed(opaque, err, offsets);
    if (err) {
        sk_log(SK_LOG_WARN, "consumer",
               "offset commit failed (the next commit or a replay covers it)",
               "error=%s", SK_LOG_Q(rd_kafka_err2str(err)));
        return;
    }
    for (int i = 0; offsets && i < offsets->cnt; i++)
        if (offsets->elems[i].err)
            sk_log(SK_LOG_WARN, "consumer", "offset commit failed",
                   "topic=%s partition=%d error=%s", offsets->elems[i].topic,
                   offsets->elems[i].partition,
                   SK_LOG_Q(rd_kafka_err2str(offsets->elems[i].err)));
}

/* The only strategies that rebalance eagerly. */
static int check_strategy(const sk_kafka_props_t *props, char *errstr,
                          size_t errlen)
{
    const char *v = sk_kafka_props_get(props, "partition.assignment.strategy");
    char buf[256];

    if (!v)
        return SK_OK;
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        if (strcmp(tok, "range") != 0 && strcmp(tok, "roundrobin") != 0) {
            snprintf(errstr, errlen,
                     "kafka property partition.assignment.strategy: %s is "
                     "not supported; use range (the default) or roundrobin "
                     "(scorekeeperd relies on eager rebalancing)",
                     tok);
            return SK_ERR;
        }
    }
    return SK_OK;
}

rd_kafka_conf_t *sk_consumer_conf(const sk_daemon_t *d, char *errstr,
                                  size_t errlen)
{
    sk_kafka_props_t props = {0}, fixed = {0};
    rd_kafka_conf_t *conf = NULL;
    const sk_config_t *cfg = d->cfg;

    /* Defaults a user may override, then the user's properties. */
    if (sk_kafka_props_set(&props, "client.id", "scorekeeperd", errstr,
                           errlen) ||
        sk_kafka_props_set(&props, "auto.offset.reset", "earliest", errstr,
                           errlen) ||
        sk_kafka_props_set(&props, "statistics.interval.ms", "5000", errstr,
                           errlen) ||
        sk_kafka_props_set(&props, "partition.assignment.strategy", "range",
                           errstr, errlen) ||
        /* librdkafka pauses fetching while its local queue holds
         * queued.min.messages or queued.max.messages.kbytes: sized for
         * several seconds of the daemon's consumption (tens of thousands
         * of events a second), so catching up after an outage never waits
         * on an idle fetcher, within 64 MiB of memory. */
        sk_kafka_props_set(&props, "queued.min.messages", "200000", errstr,
                           errlen) ||
        sk_kafka_props_set(&props, "queued.max.messages.kbytes", "65536",
                           errstr, errlen))
        goto done;
    if (sk_config_embedded(cfg) &&
        sk_kafka_props_set(&props, "fetch.wait.max.ms", "10", errstr, errlen))
        goto done;
    for (size_t i = 0; i < cfg->kafka.n; i++)
        if (sk_kafka_props_set(&props, cfg->kafka.keys[i], cfg->kafka.values[i],
                               errstr, errlen))
            goto done;
    if (check_strategy(&props, errstr, errlen) != SK_OK)
        goto done;
    /* What exactly-once rests on: set last, never overridden. */
    if (sk_kafka_props_set(&fixed, "group.id", cfg->group_id, errstr, errlen) ||
        sk_kafka_props_set(&fixed, "enable.auto.commit", "false", errstr,
                           errlen) ||
        sk_kafka_props_set(&fixed, "enable.auto.offset.store", "false", errstr,
                           errlen) ||
        sk_kafka_props_set(&fixed, "enable.partition.eof", "true", errstr,
                           errlen) ||
        sk_kafka_props_set(&fixed, "isolation.level", "read_committed", errstr,
                           errlen))
        goto done;
    if (cfg->group_instance_id[0] &&
        sk_kafka_props_set(&fixed, "group.instance.id", cfg->group_instance_id,
                           errstr, errlen))
        goto done;
    conf =
        sk_kafka_conf_build_fixed(d->brokers, &props, &fixed, errstr, errlen);
done:
    sk_kafka_props_free(&props);
    sk_kafka_props_free(&fixed);
    return conf;
}

int sk_consumer_start(sk_daemon_t *d, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = sk_consumer_conf(d, errstr, errlen);
    rd_kafka_topic_partition_list_t *topics = NULL;
    rd_kafka_resp_err_t err;
    int rc = SK_ERR;

    if (!conf)
        return SK_ERR;
    sk_kafka_log_to_logfmt(conf);
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
    rd_kafka_conf_set_stats_cb(conf, sk_metrics_stats_cb);
    d->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!d->consumer)
        goto done;
    conf = NULL; /* owned by the handle */
    rd_kafka_poll_set_consumer(d->consumer);
    topics = rd_kafka_topic_partition_list_new(d->cfg->n_inputs);
    for (int i = 0; i < d->cfg->n_inputs; i++)
        rd_kafka_topic_partition_list_add(topics, d->cfg->inputs[i],
                                          RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(d->consumer, topics);
    if (err) {
        snprintf(errstr, errlen, "subscribe: %s", rd_kafka_err2str(err));
        goto done;
    }
    rc = SK_OK;
done:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (topics)
        rd_kafka_topic_partition_list_destroy(topics);
    return rc;
}

/* Whether some assigned input partition has messages beyond what was
 * polled (as far as the last fetch told). */
static bool behind(sk_daemon_t *d)
{
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].input >= 0 && !sk_consumer_caught_up(d, &d->parts[i]))
            return true;
    return false;
}

size_t sk_consumer_collect(sk_daemon_t *d, int first_timeout_ms)
{
    int64_t deadline = sk_clock_mono_ms() + d->cfg->batch_wait_ms;
    int timeout = first_timeout_ms;

    /* d->batch holds batch.size messages (allocated at start). */
    while (d->n_batch < d->cap_batch && !d->fatal) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(d->consumer, timeout);
        sk_partition_t *p;

        if (!m && timeout == 0 && d->n_batch > 0 && behind(d)) {
            /* Under backlog the fetcher refills the queue within a
             * millisecond: wait that long rather than end the batch, so
             * batches stay large while catching up.  Caught up, the
             * batch ends at once: the alert follows the event. */
            m = rd_kafka_consumer_poll(d->consumer, 1);
        }
        if (!m)
            break; /* nothing more right now: process what we have */
        timeout = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            p = m->rkt ? sk_consumer_partition(d, rd_kafka_topic_name(m->rkt),
                                               m->partition)
                       : NULL;
            if (p) {
                p->eof = true;
                p->next_offset = m->offset;
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            sk_log(SK_LOG_WARN, "consumer", rd_kafka_message_errstr(m),
                   "error=%s topic=%s partition=%" PRId32,
                   rd_kafka_err2name(m->err),
                   m->rkt ? SK_LOG_Q(rd_kafka_topic_name(m->rkt)) : "-",
                   m->partition);
            rd_kafka_message_destroy(m);
            continue;
        }
        p = sk_consumer_partition(d, rd_kafka_topic_name(m->rkt), m->partition);
        if (p) {
            p->eof = false;
            p->next_offset = m->offset + 1;
        }
        memset(&d->batch[d->n_batch], 0, sizeof d->batch[d->n_batch]);
        d->batch[d->n_batch].msg = m;
        d->n_batch++;
        d->stats.consumed++;
        sk_daemon_count_consumed(d, p, rd_kafka_topic_name(m->rkt));
        if (sk_clock_mono_ms() >= deadline)
            break;
    }
    return d->n_batch;
}

rd_kafka_topic_partition_list_t *sk_consumer_batch_offsets(sk_daemon_t *d)
{
    rd_kafka_topic_partition_list_t *l;

    if (d->n_batch == 0)
        return NULL;
    l = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < d->n_batch; i++) {
        const rd_kafka_message_t *m = d->batch[i].msg;
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, topic, m->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(l, topic, m->partition);
        if (m->offset + 1 > tp->offset)
            tp->offset = m->offset + 1;
    }
    return l;
}

void sk_consumer_commit(sk_daemon_t *d,
                        const rd_kafka_topic_partition_list_t *offsets,
                        bool sync)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;

    if (!d->consumer)
        return;
    if (offsets && offsets->cnt > 0) {
        l = rd_kafka_topic_partition_list_copy(offsets);
        rd_kafka_offsets_store(d->consumer, l);
        for (int i = 0; i < l->cnt; i++) {
            if (l->elems[i].err == RD_KAFKA_RESP_ERR__STATE)
                sk_log(SK_LOG_DEBUG, "consumer",
                       "partition no longer assigned: offset not stored",
                       "topic=%s partition=%d", l->elems[i].topic,
                       l->elems[i].partition);
            else if (l->elems[i].err)
                sk_log(SK_LOG_WARN, "consumer", "offset not stored",
                       "topic=%s partition=%d error=%s", l->elems[i].topic,
                       l->elems[i].partition,
                       SK_LOG_Q(rd_kafka_err2str(l->elems[i].err)));
        }
        rd_kafka_topic_partition_list_destroy(l);
    }
    err = rd_kafka_commit(d->consumer, NULL, sync ? 0 : 1);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        sk_log(SK_LOG_WARN, "consumer", "offset commit failed", "error=%s",
               SK_LOG_Q(rd_kafka_err2str(err)));
}

void sk_consumer_close(sk_daemon_t *d)
{
    rd_kafka_resp_err_t err;

    if (!d->consumer)
        return;
    err = rd_kafka_consumer_close(d->consumer);
    if (err)
        sk_log(SK_LOG_WARN, "consumer", "close failed", "error=%s",
               SK_LOG_Q(rd_kafka_err2str(err)));
    rd_kafka_destroy(d->consumer);
    d->consumer = NULL;
}
