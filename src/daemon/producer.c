/*
 * producer.c - the output side: alerts and dead letters.
 *
 * DESIGN
 *  - One idempotent producer (enable.idempotence=true, acks=all, fixed):
 *    librdkafka's own retries can neither reorder nor duplicate within a
 *    session.
 *  - Every message produced for a batch has a delivery record; the
 *    report's opaque is the record's index + 1, so records can live in
 *    one growable array.  A batch is committed only when every record
 *    has a successful report: a message that fails (timeout, broker
 *    down) is produced again, with backoff, for as long as it takes.
 *    Nothing is dropped; a stop request ends the wait and the batch is
 *    left uncommitted (its alerts stay in the Redis outboxes).
 *  - A fatal error (the idempotent producer lost its guarantees) stops
 *    the daemon with a non-zero exit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "kafka_log.h"
#include "log.h"
#include "signals.h"

#define STOP_GRACE_MS 5000
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sk_daemon_t *d = opaque;
    size_t idx = (size_t)(uintptr_t)m->_private;
    sk_delivery_t *rec;

    (void)rk;
    if (idx == 0 || idx > d->n_deliveries)
        return;
    rec = &d->deliveries[idx - 1];
    if (!rec->pending)
        return;
    rec->pending = false;
    rec->err = m->err;
    d->outstanding--;
    if (!m->err && rec->kind == SK_DELIVERY_ALERT)
        d->stats.alerts++;
    sk_daemon_count_delivery(d, m, rec->kind == SK_DELIVERY_ALERT);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    sk_daemon_t *d = opaque;

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_fatal_error(rk, why, sizeof why);
        d->fatal = true;
        snprintf(d->fatal_reason, sizeof d->fatal_reason, "producer: %.200s",
                 why);
        sk_log(SK_LOG_ERROR, "producer", "fatal error", "error=%s",
               SK_LOG_Q(why));
        return;
    }
    sk_log(SK_LOG_WARN, "producer", reason, "error=%s",
           rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

rd_kafka_conf_t *sk_producer_conf(const sk_daemon_t *d, char *errstr,
                                  size_t errlen)
{
    sk_kafka_props_t props = {0}, fixed = {0};
    rd_kafka_conf_t *conf = NULL;

    /* A batch waits for its alerts' delivery before it commits: no
     * linger sends them at once instead of after librdkafka's 5 ms (the
     * alerts of a flush are produced together and batch anyway). */
    if (sk_kafka_props_set(&props, "client.id", "scorekeeperd", errstr,
                           errlen) ||
        sk_kafka_props_set(&props, "linger.ms", "0", errstr, errlen))
        goto done;
    for (size_t i = 0; i < d->cfg->kafka.n; i++)
        if (sk_kafka_props_set(&props, d->cfg->kafka.keys[i],
                               d->cfg->kafka.values[i], errstr, errlen))
            goto done;
    if (sk_kafka_props_set(&fixed, "enable.idempotence", "true", errstr,
                           errlen) ||
        sk_kafka_props_set(&fixed, "acks", "all", errstr, errlen))
        goto done;
    conf =
        sk_kafka_conf_build_fixed(d->brokers, &props, &fixed, errstr, errlen);
done:
    sk_kafka_props_free(&props);
    sk_kafka_props_free(&fixed);
    return conf;
}

int sk_producer_start(sk_daemon_t *d, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = sk_producer_conf(d, errstr, errlen);

    if (!conf)
        return SK_ERR;
    sk_kafka_log_to_logfmt(conf);
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    d->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!d->producer) {
        rd_kafka_conf_destroy(conf);
        return SK_ERR;
    }
    return SK_OK;
}

static sk_delivery_t *new_record(sk_daemon_t *d, size_t *idx)
{
    if (d->n_deliveries == d->cap_deliveries) {
        size_t cap = d->cap_deliveries ? d->cap_deliveries * 2 : 256;
        sk_delivery_t *nr = realloc(d->deliveries, cap * sizeof *nr);
        if (!nr)
            return NULL;
        d->deliveries = nr;
        d->cap_deliveries = cap;
    }
    *idx = d->n_deliveries++;
    memset(&d->deliveries[*idx], 0, sizeof d->deliveries[*idx]);
    return &d->deliveries[*idx];
}

/* Hand record @p idx to librdkafka (again).  A local refusal is recorded
 * as a failed report, so the wait loop retries it like a remote one. */
static void produce(sk_daemon_t *d, size_t idx)
{
    sk_delivery_t *rec = &d->deliveries[idx];
    rd_kafka_resp_err_t err;
    void *opaque = (void *)(uintptr_t)(idx + 1);

    for (;;) {
        if (rec->kind == SK_DELIVERY_ALERT) {
            const sk_cache_entry_t *e = rec->entry;
            err = rd_kafka_producev(
                d->producer, RD_KAFKA_V_TOPIC(d->cfg->alerts_topic),
                RD_KAFKA_V_KEY(e->id, strlen(e->id)),
                RD_KAFKA_V_VALUE(e->outbox.buf + rec->off, rec->len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        } else {
            const rd_kafka_message_t *m = d->batch[rec->msg].msg;
            char part[16], off[24];
            snprintf(part, sizeof part, "%" PRId32, m->partition);
            snprintf(off, sizeof off, "%" PRId64, m->offset);
            err = rd_kafka_producev(
                d->producer, RD_KAFKA_V_TOPIC(d->cfg->dlq_topic),
                RD_KAFKA_V_KEY(m->key, m->key_len),
                RD_KAFKA_V_VALUE(m->payload, m->len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADER("reason", rec->reason, -1),
                RD_KAFKA_V_HEADER("error", rec->error, -1),
                RD_KAFKA_V_HEADER("source.topic", rd_kafka_topic_name(m->rkt),
                                  -1),
                RD_KAFKA_V_HEADER("source.partition", part, -1),
                RD_KAFKA_V_HEADER("source.offset", off, -1),
                RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(d->producer, 100);
    }
    if (err) {
        rec->pending = false;
        rec->err = err;
        if (rec->kind == SK_DELIVERY_ALERT)
            d->stats.alerts_failed++;
        return;
    }
    rec->pending = true;
    rec->err = RD_KAFKA_RESP_ERR_NO_ERROR;
    d->outstanding++;
}

void sk_producer_dead_letter(sk_daemon_t *d, size_t i, const char *reason,
                             const char *error)
{
    size_t idx;
    sk_delivery_t *rec;

    if (d->batch[i].dlq_sent)
        return;
    if (d->no_publish) {
        /* a replay: counted and logged, never produced */
        d->batch[i].dlq_sent = true;
        d->stats.dead_lettered++;
        sk_daemon_count_dead_letter(d, reason);
        return;
    }
    rec = new_record(d, &idx);
    if (!rec) {
        /* cannot track it: leave it for the retry of the batch */
        sk_log_msg(SK_LOG_ERROR, "producer", "out of memory");
        return;
    }
    rec->kind = SK_DELIVERY_DLQ;
    rec->msg = i;
    snprintf(rec->reason, sizeof rec->reason, "%s", reason);
    snprintf(rec->error, sizeof rec->error, "%s", error);
    d->batch[i].dlq_sent = true;
    d->stats.dead_lettered++;
    sk_daemon_count_dead_letter(d, reason);
    produce(d, idx);
}

int sk_producer_outbox(sk_daemon_t *d, sk_cache_entry_t *e)
{
    size_t pos = 0, plen, idx;
    const char *payload;
    int rc;

    while ((rc = sk_outbox_next(&e->outbox, &pos, &payload, &plen)) == 1) {
        sk_delivery_t *rec = new_record(d, &idx);
        if (!rec)
            return SK_ERR;
        rec->kind = SK_DELIVERY_ALERT;
        rec->entry = e;
        rec->off = (size_t)(payload - e->outbox.buf);
        rec->len = plen;
        produce(d, idx);
    }
    return rc < 0 ? SK_ERR : SK_OK;
}

static bool fatal_now(sk_daemon_t *d)
{
    char why[256];

    if (d->fatal)
        return true;
    if (rd_kafka_fatal_error(d->producer, why, sizeof why)) {
        d->fatal = true;
        snprintf(d->fatal_reason, sizeof d->fatal_reason, "producer: %.200s",
                 why);
        return true;
    }
    return false;
}

int sk_producer_wait(sk_daemon_t *d)
{
    int64_t backoff = RETRY_FIRST_MS, stop_deadline = 0;

    for (;;) {
        size_t failed = 0;
        rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;

        while (d->outstanding > 0) {
            rd_kafka_poll(d->producer, 50);
            if (fatal_now(d))
                return SK_FATAL;
            if (sk_signals_stop_requested()) {
                int64_t now = sk_clock_mono_ms();
                if (!stop_deadline)
                    stop_deadline = now + STOP_GRACE_MS;
                else if (now > stop_deadline)
                    return SK_STOPPED;
            }
        }
        for (size_t i = 0; i < d->n_deliveries; i++) {
            const sk_delivery_t *rec = &d->deliveries[i];
            if (rec->kind != SK_DELIVERY_NONE && !rec->pending && rec->err) {
                if (!failed)
                    first = rec->err;
                failed++;
            }
        }
        if (!failed)
            return SK_OK;
        if (fatal_now(d))
            return SK_FATAL;
        sk_log(SK_LOG_WARN, "producer",
               "delivery failed; producing again (the batch is not "
               "committed until every message is delivered)",
               "messages=%zu error=%s retry_in_ms=%" PRId64, failed,
               SK_LOG_Q(rd_kafka_err2str(first)), backoff);
        if (sk_signals_stop_requested())
            return SK_STOPPED;
        sk_clock_sleep_ms(backoff);
        backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
        if (sk_signals_stop_requested())
            return SK_STOPPED;
        for (size_t i = 0; i < d->n_deliveries; i++) {
            sk_delivery_t *rec = &d->deliveries[i];
            if (rec->kind != SK_DELIVERY_NONE && !rec->pending && rec->err)
                produce(d, i);
        }
    }
}

void sk_producer_abandon_alerts(sk_daemon_t *d)
{
    for (size_t i = 0; i < d->n_deliveries; i++) {
        if (d->deliveries[i].kind == SK_DELIVERY_ALERT) {
            d->deliveries[i].kind = SK_DELIVERY_NONE;
            d->deliveries[i].entry = NULL;
        }
    }
}

void sk_producer_reset(sk_daemon_t *d)
{
    if (d->outstanding == 0) {
        d->n_deliveries = 0;
        return;
    }
    /* Reports still due refer to these records by index: keep them, but
     * let nothing act on them. */
    for (size_t i = 0; i < d->n_deliveries; i++) {
        d->deliveries[i].kind = SK_DELIVERY_NONE;
        d->deliveries[i].entry = NULL;
    }
}
