/*
 * inflight.c - flushed batches whose alerts are still on their way, and
 * the in-order commit of their offsets.
 *
 * A batch's state and outboxes are in Redis once it is flushed, so its
 * alerts can be delivered while the next batch is processed: the batch
 * waits here, oldest first.  When every alert of the oldest batch has a
 * successful report, its outboxes are cleared in Redis (only where the
 * account's gen is still the one they were written at: a later write
 * carries them on, and its own batch clears them) and its offsets are
 * committed.  Offsets are therefore committed only after every alert of
 * every batch up to them is delivered, as before, but the wait overlaps
 * the next batches.  Too much in flight (MAX_BATCHES batches, or
 * MAX_ALERTS alerts) stops the intake until it drains, which bounds
 * memory while the alerts topic is unreachable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "signals.h"

#define MAX_BATCHES 16
#define MAX_ALERTS 100000
#define STOP_GRACE_MS 5000
#define WAIT_MS 10

static sk_inflight_t *find(sk_daemon_t *d, uint64_t seq)
{
    for (size_t i = 0; i < d->n_inflight; i++)
        if (d->inflight[i].seq == seq)
            return &d->inflight[i];
    return NULL;
}

int sk_inflight_begin(sk_daemon_t *d, uint64_t *seq)
{
    sk_inflight_t *b;

    if (d->n_inflight == d->cap_inflight) {
        size_t cap = d->cap_inflight ? d->cap_inflight * 2 : 8;
        sk_inflight_t *grown = realloc(d->inflight, cap * sizeof *grown);
        if (!grown)
            return SK_ERR;
        d->inflight = grown;
        d->cap_inflight = cap;
    }
    b = &d->inflight[d->n_inflight++];
    memset(b, 0, sizeof *b);
    b->seq = *seq = d->next_seq++;
    return SK_OK;
}

void sk_inflight_produced(sk_daemon_t *d, uint64_t seq)
{
    sk_inflight_t *b = find(d, seq);

    if (b)
        b->outstanding++;
}

void sk_inflight_delivered(sk_daemon_t *d, uint64_t seq)
{
    sk_inflight_t *b = find(d, seq);

    if (b && b->outstanding > 0)
        b->outstanding--;
}

void sk_inflight_attach(sk_daemon_t *d, uint64_t seq,
                        rd_kafka_topic_partition_list_t *offsets,
                        sk_redis_confirm_t *confirms, size_t n_confirms)
{
    sk_inflight_t *b = find(d, seq);

    if (!b) {
        if (offsets)
            rd_kafka_topic_partition_list_destroy(offsets);
        free(confirms);
        return;
    }
    b->offsets = offsets;
    b->confirms = confirms;
    b->n_confirms = n_confirms;
}

static void drop_head(sk_daemon_t *d)
{
    sk_inflight_t *b = &d->inflight[0];

    if (b->offsets)
        rd_kafka_topic_partition_list_destroy(b->offsets);
    free(b->confirms);
    d->n_inflight--;
    memmove(d->inflight, d->inflight + 1, d->n_inflight * sizeof *d->inflight);
}

/* Clear the delivered outboxes of batch @p b in Redis and in the cache.
 * @returns SK_OK or SK_ERR (Redis: the batch stays, tried again later). */
static int confirm(sk_daemon_t *d, sk_inflight_t *b, char *errstr,
                   size_t errlen)
{
    sk_redis_confirm_t *items = b->confirms;

    if (b->n_confirms == 0)
        return SK_OK;
    if (SK_REDIS_TIMED(d, sk_redis_confirm_outboxes(d->redis, items,
                                                    b->n_confirms, errstr,
                                                    errlen)) != SK_OK)
        return SK_ERR;
    for (size_t i = 0; i < b->n_confirms; i++) {
        sk_cache_entry_t *e = sk_cache_get(d->cache, items[i].id);
        /* An entry written again since carries the outbox on; its own
         * batch clears it. */
        if (!e || e->gen != items[i].gen || e->pinned)
            continue;
        if (items[i].cleared) {
            sk_outbox_clear(&e->outbox);
            e->outbox_sent = 0;
            e->indexed_due = items[i].due_ms;
        } else {
            /* Another writer changed it: what we hold is stale. */
            sk_cache_remove(d->cache, e);
        }
    }
    return SK_OK;
}

/* Complete the oldest batches whose alerts are all delivered. */
static int complete(sk_daemon_t *d)
{
    char errstr[SK_ERRSTR_LEN];

    while (d->n_inflight > 0 && d->inflight[0].outstanding == 0) {
        sk_inflight_t *b = &d->inflight[0];
        if (confirm(d, b, errstr, sizeof errstr) != SK_OK) {
            static sk_log_limit_t lines;
            uint64_t held;
            if (sk_log_limit_pass(&lines, 3, 60000, &held))
                sk_log(SK_LOG_WARN, "pipeline",
                       "cannot clear delivered outboxes; the batch stays "
                       "uncommitted and is tried again",
                       "error=%s failures_not_logged=%" PRIu64,
                       SK_LOG_Q(errstr), held);
            return SK_ERR;
        }
        if (b->offsets)
            sk_consumer_commit(d, b->offsets, false);
        drop_head(d);
    }
    return SK_OK;
}

int sk_inflight_settle(sk_daemon_t *d, bool drain)
{
    int64_t stop_deadline = 0;

    for (;;) {
        bool busy;
        int wait = 0;

        if (sk_producer_serve(d, 0) == SK_FATAL)
            return SK_FATAL;
        if (complete(d) != SK_OK) {
            int64_t retry = sk_redis_retry_in_ms(d->redis);
            wait = retry > 100 ? 100 : retry < WAIT_MS ? WAIT_MS : (int)retry;
        }
        busy = drain ? d->n_inflight > 0
                     : d->n_inflight >= MAX_BATCHES ||
                           d->outstanding + d->alerts_failed_open >= MAX_ALERTS;
        if (!busy)
            return SK_OK;
        if (sk_signals_stop_requested()) {
            int64_t now = sk_clock_mono_ms();
            if (!stop_deadline)
                stop_deadline = now + STOP_GRACE_MS;
            else if (now > stop_deadline)
                return SK_STOPPED;
        }
        if (wait)
            sk_clock_sleep_ms(wait);
        else if (sk_producer_serve(d, WAIT_MS) == SK_FATAL)
            return SK_FATAL;
    }
}

void sk_inflight_free(sk_daemon_t *d)
{
    while (d->n_inflight > 0)
        drop_head(d);
    free(d->inflight);
    d->inflight = NULL;
    d->cap_inflight = 0;
}
