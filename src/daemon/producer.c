/*
 * producer.c - the output side: alerts and dead letters.
 *
 * DESIGN
 *  - One idempotent producer (enable.idempotence=true, acks=all, fixed):
 *    librdkafka's own retries can neither reorder nor duplicate within a
 *    session.
 *  - Every message produced has a delivery record until its successful
 *    report; the report's opaque is the record's index + 1, so records
 *    live in one growable array, reused through a free list.  A message
 *    that fails (timeout, broker down) is produced again, with backoff,
 *    for as long as it takes: nothing is dropped.
 *  - Dead letters exist only in the batch's messages, so a batch waits
 *    for its dead letters before it is handed on.  Alerts are already
 *    safe in the Redis outboxes when they are produced: their records
 *    hold a copy of the payload and count toward their in-flight batch
 *    (inflight.c), which commits once all are delivered.
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

static void free_record(sk_daemon_t *d, size_t idx)
{
    sk_delivery_t *rec = &d->deliveries[idx];

    free(rec->payload);
    rec->payload = NULL;
    rec->kind = SK_DELIVERY_FREE;
    rec->next_free = d->free_delivery;
    d->free_delivery = idx + 1;
}

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
    if (rec->kind != SK_DELIVERY_NONE)
        sk_daemon_count_delivery(d, m, rec->kind == SK_DELIVERY_ALERT);
    if (m->err && rec->kind != SK_DELIVERY_NONE) {
        /* kept, to be produced again (counted in alerts_failed above) */
        if (rec->kind == SK_DELIVERY_ALERT)
            d->alerts_failed_open++;
        return;
    }
    if (rec->kind == SK_DELIVERY_ALERT) {
        d->stats.alerts++;
        sk_inflight_delivered(d, rec->seq);
    } else if (rec->kind == SK_DELIVERY_DLQ) {
        d->dlq_open--;
    }
    free_record(d, idx - 1);
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
    if (d->free_delivery) {
        *idx = d->free_delivery - 1;
        d->free_delivery = d->deliveries[*idx].next_free;
    } else {
        if (d->n_deliveries == d->cap_deliveries) {
            size_t cap = d->cap_deliveries ? d->cap_deliveries * 2 : 256;
            sk_delivery_t *nr = realloc(d->deliveries, cap * sizeof *nr);
            if (!nr)
                return NULL;
            d->deliveries = nr;
            d->cap_deliveries = cap;
        }
        *idx = d->n_deliveries++;
    }
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
            err = rd_kafka_producev(
                d->producer, RD_KAFKA_V_TOPIC(d->cfg->alerts_topic),
                RD_KAFKA_V_KEY(rec->key, strlen(rec->key)),
                RD_KAFKA_V_VALUE(rec->payload, rec->len),
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
        /* refused locally: retried like a failed report */
        rec->pending = false;
        rec->err = err;
        if (rec->kind == SK_DELIVERY_ALERT) {
            d->stats.alerts_failed++;
            d->alerts_failed_open++;
        }
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
    d->dlq_open++;
    snprintf(rec->reason, sizeof rec->reason, "%s", reason);
    snprintf(rec->error, sizeof rec->error, "%s", error);
    d->batch[i].dlq_sent = true;
    d->stats.dead_lettered++;
    sk_daemon_count_dead_letter(d, reason);
    produce(d, idx);
}

int sk_producer_outbox(sk_daemon_t *d, sk_cache_entry_t *e, uint64_t seq)
{
    size_t pos = e->outbox_sent, plen, idx;
    const char *payload;
    int rc;

    while ((rc = sk_outbox_next(&e->outbox, &pos, &payload, &plen)) == 1) {
        sk_delivery_t *rec = new_record(d, &idx);
        if (!rec)
            return SK_ERR;
        rec->kind = SK_DELIVERY_ALERT;
        rec->seq = seq;
        sk_copy_str(rec->key, sizeof rec->key, e->id);
        if (!(rec->payload = malloc(plen))) {
            free_record(d, idx);
            return SK_ERR;
        }
        memcpy(rec->payload, payload, plen);
        rec->len = plen;
        sk_inflight_produced(d, seq);
        produce(d, idx);
        e->outbox_sent = pos;
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

/* Produce again every record of @p kind whose report failed. */
static void produce_failed(sk_daemon_t *d, sk_delivery_kind_t kind)
{
    for (size_t i = 0; i < d->n_deliveries; i++) {
        sk_delivery_t *rec = &d->deliveries[i];
        if (rec->kind != kind || rec->pending || !rec->err)
            continue;
        if (kind == SK_DELIVERY_ALERT)
            d->alerts_failed_open--;
        produce(d, i);
    }
}

int sk_producer_wait_dead_letters(sk_daemon_t *d)
{
    int64_t backoff = RETRY_FIRST_MS, stop_deadline = 0;

    while (d->dlq_open > 0) {
        size_t failed = 0;
        rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;

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
        for (size_t i = 0; i < d->n_deliveries; i++) {
            const sk_delivery_t *rec = &d->deliveries[i];
            if (rec->kind == SK_DELIVERY_DLQ && !rec->pending && rec->err) {
                if (!failed)
                    first = rec->err;
                failed++;
            }
        }
        if (!failed)
            continue;
        sk_log(SK_LOG_WARN, "producer",
               "dead-letter delivery failed; producing again (the batch is "
               "not committed until every dead letter is delivered)",
               "messages=%zu error=%s retry_in_ms=%" PRId64, failed,
               SK_LOG_Q(rd_kafka_err2str(first)), backoff);
        sk_clock_sleep_ms(backoff);
        backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
        produce_failed(d, SK_DELIVERY_DLQ);
    }
    return SK_OK;
}

int sk_producer_serve(sk_daemon_t *d, int timeout_ms)
{
    int64_t now;

    rd_kafka_poll(d->producer, timeout_ms);
    if (fatal_now(d))
        return SK_FATAL;
    if (d->alerts_failed_open == 0) {
        d->alerts_backoff_ms = 0;
        return SK_OK;
    }
    now = sk_clock_mono_ms();
    if (d->alerts_retry_at == 0) {
        /* first failure seen: wait before producing again */
        d->alerts_backoff_ms = d->alerts_backoff_ms
                                   ? d->alerts_backoff_ms * 2
                                   : RETRY_FIRST_MS;
        if (d->alerts_backoff_ms > RETRY_MAX_MS)
            d->alerts_backoff_ms = RETRY_MAX_MS;
        d->alerts_retry_at = now + d->alerts_backoff_ms;
        sk_log(SK_LOG_WARN, "producer",
               "alert delivery failed; producing again (the batch is not "
               "committed until every alert is delivered)",
               "messages=%zu retry_in_ms=%" PRId64, d->alerts_failed_open,
               d->alerts_backoff_ms);
        return SK_OK;
    }
    if (now < d->alerts_retry_at)
        return SK_OK;
    d->alerts_retry_at = 0;
    produce_failed(d, SK_DELIVERY_ALERT);
    return SK_OK;
}

void sk_producer_reset(sk_daemon_t *d)
{
    /* Dead letters refer to the batch's messages, which go now.  Each
     * delivered one was freed by its report: only open ones are left. */
    if (d->dlq_open == 0)
        return;
    for (size_t i = 0; i < d->n_deliveries; i++) {
        sk_delivery_t *rec = &d->deliveries[i];
        if (rec->kind != SK_DELIVERY_DLQ)
            continue;
        if (rec->pending)
            rec->kind = SK_DELIVERY_NONE; /* freed by its report */
        else
            free_record(d, i);
    }
    d->dlq_open = 0;
}

void sk_producer_free_records(sk_daemon_t *d)
{
    for (size_t i = 0; i < d->n_deliveries; i++)
        free(d->deliveries[i].payload);
    free(d->deliveries);
    d->deliveries = NULL;
    d->n_deliveries = d->cap_deliveries = 0;
    d->free_delivery = 0;
}
