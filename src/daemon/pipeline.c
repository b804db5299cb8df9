/*
 * pipeline.c - one batch from messages to committed offsets.
 *
 * DESIGN
 *  Process (repeatable: a retry starts here again):
 *   - decode each message once; anything wrong (undecodable, invalid,
 *     oversize, a key that is not the event's account, a time too far in
 *     the future) is produced to the dead-letter topic with the original
 *     bytes, key and the reason in headers, and never stops the batch;
 *   - load the accounts the batch names that are not cached, in one
 *     pipelined round trip; an account loaded with an outbox has alerts
 *     from a run that crashed before confirming them: they are produced
 *     first, before anything new;
 *   - apply each event unless its offset is at or below the account's
 *     stored position for that partition (applied before a crash).
 *  Flush:
 *   - one compare-and-set write per changed account (one script per
 *     bucket of accounts): the state, the readable scores, the positions
 *     (inside the state) and the outbox of new alerts together; then the
 *     indexes and due times, which Redis updates while
 *   - the new alerts are produced; the dead letters are waited for;
 *   - the batch goes to inflight.c, which clears its outboxes and commits
 *     its offsets once its alerts are delivered, in batch order.
 *  Any failure drops the batch's entries from the cache (their memory is
 *  ahead of Redis) and the batch is processed again from Redis' state:
 *  positions make that idempotent.  A conflict (another writer changed an
 *  account) is retried at once; other errors with capped backoff.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "signals.h"

#define MAX_CONFLICT_RETRIES 5
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000

/* ---- scratch space --------------------------------------------------- */

#define GROW(ptr, n)                                                           \
    do {                                                                       \
        void *np_ = realloc((ptr), (n) * sizeof *(ptr));                       \
        if (!np_)                                                              \
            return SK_ERR;                                                     \
        (ptr) = np_;                                                           \
    } while (0)

int sk_pipeline_reserve(sk_daemon_t *d, size_t n)
{
    size_t cap;

    if (n <= d->cap_scratch)
        return SK_OK;
    cap = d->cap_scratch ? d->cap_scratch : 64;
    while (cap < n)
        cap *= 2;
    GROW(d->loads, cap);
    GROW(d->load_entries, cap);
    GROW(d->writes, cap);
    GROW(d->scores, cap);
    GROW(d->write_entries, cap);
    d->cap_scratch = cap;
    return SK_OK;
}

int sk_pipeline_touch(sk_daemon_t *d, sk_cache_entry_t *e)
{
    if (e->pinned)
        return SK_OK;
    if (d->n_dirty == d->cap_dirty) {
        size_t cap = d->cap_dirty ? d->cap_dirty * 2 : 256;
        sk_cache_entry_t **nd = realloc(d->dirty, cap * sizeof *nd);
        if (!nd)
            return SK_ERR;
        d->dirty = nd;
        d->cap_dirty = cap;
    }
    d->dirty[d->n_dirty++] = e;
    e->pinned = true;
    return SK_OK;
}

/* ---- alerts -------------------------------------------------------------- */

int sk_pipeline_take_alerts(sk_daemon_t *d, sk_cache_entry_t *e)
{
    int64_t horizon = d->cfg->backfill_horizon_ms;
    int rc = SK_OK;

    for (size_t i = 0; i < d->alerts.n && rc == SK_OK; i++) {
        const sk_alert_t *a = &d->alerts.v[i];
        if (d->no_publish || (horizon >= 0 && a->ts_ms < d->now_ms - horizon)) {
            d->bstats.suppressed++;
            continue;
        }
        if (d->cfg->alerts_format == SK_ALERTS_MSGPACK) {
            msgpack_sbuffer_clear(&d->enc);
            rc = sk_alert_encode_msgpack(a, &d->enc);
            if (rc == SK_OK)
                rc = sk_outbox_append(&e->outbox, d->enc.data, d->enc.size);
        } else {
            sk_json_reset(&d->json);
            sk_alert_write_json(a, &d->json);
            rc = d->json.oom ? SK_ERR
                             : sk_outbox_append(&e->outbox, d->json.data,
                                                d->json.len);
        }
    }
    sk_alerts_clear(&d->alerts);
    return rc;
}

/* ---- dead letters ---------------------------------------------------------- */

void sk_pipeline_dlq_log_summary(sk_daemon_t *d, bool force)
{
    int64_t second = sk_clock_mono_ms() / 1000;

    if (second == d->dlq_log_second && !force)
        return;
    if (d->dlq_log_dropped)
        sk_log(SK_LOG_WARN, "consumer",
               "more messages dead-lettered than logged (rate limit)",
               "not_logged=%" PRIu64, d->dlq_log_dropped);
    d->dlq_log_second = second;
    d->dlq_log_lines = 0;
    d->dlq_log_dropped = 0;
}

static void dead_letter(sk_daemon_t *d, size_t i, sk_reject_t code,
                        const char *error)
{
    const rd_kafka_message_t *m = d->batch[i].msg;
    char key[SK_ACCOUNT_MAX + 1];
    size_t klen = m->key_len < SK_ACCOUNT_MAX ? m->key_len : SK_ACCOUNT_MAX;

    sk_producer_dead_letter(d, i, sk_reject_name(code), error);
    sk_pipeline_dlq_log_summary(d, false);
    if (d->dlq_log_lines >= d->cfg->log_dlq_per_second) {
        d->dlq_log_dropped++;
        return;
    }
    d->dlq_log_lines++;
    if (m->key)
        memcpy(key, m->key, klen);
    else
        klen = 0;
    key[klen] = '\0';
    sk_log(SK_LOG_WARN, "consumer", "message dead-lettered",
           "reason=%s error=%s topic=%s partition=%" PRId32 " offset=%" PRId64
           " key=%s",
           sk_reject_name(code), SK_LOG_Q(error),
           SK_LOG_Q(rd_kafka_topic_name(m->rkt)), m->partition, m->offset,
           SK_LOG_Q(key));
}

/* Decode and check message @p i; dead-letter it when it is not usable. */
static void check_message(sk_daemon_t *d, size_t i)
{
    sk_batch_msg_t *b = &d->batch[i];
    const rd_kafka_message_t *m = b->msg;
    sk_decode_error_t err;
    char msg[256];
    size_t alen;

    if (m->len > SK_EVENT_MAX_BYTES) {
        snprintf(msg, sizeof msg, "message of %zu bytes exceeds %d bytes",
                 m->len, SK_EVENT_MAX_BYTES);
        dead_letter(d, i, SK_REJECT_TOO_LARGE, msg);
        return;
    }
    memset(&err, 0, sizeof err);
    if (sk_event_decode_msgpack(m->payload, m->len, &b->ev, &err) != SK_OK) {
        dead_letter(d, i, err.code,
                    err.message[0] ? err.message : "event does not decode");
        return;
    }
    alen = strlen(b->ev.account);
    if (!m->key || m->key_len != alen || memcmp(m->key, b->ev.account, alen)) {
        snprintf(msg, sizeof msg,
                 "the message key is not the event's account \"%s\" (events "
                 "are keyed by account)",
                 b->ev.account);
        dead_letter(d, i, SK_REJECT_BAD_ACCOUNT, msg);
        return;
    }
    if (b->ev.ts_ms > d->now_ms + d->cfg->future_skew_ms) {
        char ts[40], now[40];
        sk_format_time(b->ev.ts_ms, ts, sizeof ts);
        sk_format_time(d->now_ms, now, sizeof now);
        snprintf(msg, sizeof msg,
                 "ts %s is more than %" PRId64 " s ahead of now (%s)", ts,
                 d->cfg->future_skew_ms / 1000, now);
        dead_letter(d, i, SK_REJECT_TS_OUT_OF_RANGE, msg);
        return;
    }
    b->ok = true;
}

/* ---- loading ------------------------------------------------------------------ */

int sk_pipeline_load(sk_daemon_t *d, sk_cache_entry_t **entries, size_t n,
                     char *errstr, size_t errlen)
{
    size_t i;

    if (n == 0)
        return SK_OK;
    if (sk_pipeline_reserve(d, n) != SK_OK) {
        snprintf(errstr, errlen, "out of memory");
        goto fail;
    }
    for (i = 0; i < n; i++)
        memcpy(d->loads[i].id, entries[i]->id, sizeof d->loads[i].id);
    if (SK_REDIS_TIMED(d, sk_redis_load_many(d->redis, &d->rules, d->loads, n,
                                             errstr, errlen)) != SK_OK)
        goto fail;
    for (i = 0; i < n; i++) {
        sk_redis_stored_t *it = &d->loads[i];
        sk_cache_entry_t *e = entries[i];

        if (it->status != SK_OK) {
            snprintf(errstr, errlen,
                     "account %s: the stored state cannot be read (%s); "
                     "it was written by another version or damaged: restore "
                     "it or remove it with scorekeeper forget",
                     it->id, it->error);
            goto fail_loaded;
        }
        e->gen = it->gen;
        if (!it->acct) {
            /* Never stored: in no index yet, nothing to remove. */
            e->indexed_health = SK_HEALTH__COUNT;
            e->indexed_flags = 0;
            e->indexed_due = INT64_MAX;
        }
        e->acct = it->acct ? it->acct : sk_account_new(e->id, &d->rules);
        it->acct = NULL;
        if (!e->acct) {
            snprintf(errstr, errlen, "out of memory");
            goto fail_loaded;
        }
        if (it->outbox) {
            if (sk_outbox_set(&e->outbox, it->outbox, it->outbox_len) != SK_OK)
                sk_log(SK_LOG_ERROR, "redis",
                       "outbox field is not a list of alerts; ignored",
                       "account=%s", e->id);
            else
                sk_log(SK_LOG_INFO, "redis",
                       "alerts left unconfirmed by an earlier run: producing "
                       "them again",
                       "account=%s alerts=%d", e->id, e->outbox.n);
            free(it->outbox);
            it->outbox = NULL;
        }
    }
    return SK_OK;
fail_loaded:
    for (size_t j = 0; j < n; j++) {
        sk_account_destroy(d->loads[j].acct);
        free(d->loads[j].outbox);
        d->loads[j].acct = NULL;
        d->loads[j].outbox = NULL;
    }
fail:
    for (i = 0; i < n; i++)
        if (!entries[i]->pinned)
            sk_cache_remove(d->cache, entries[i]);
    return SK_ERR;
}

/* ---- process ------------------------------------------------------------------ */

static int process(sk_daemon_t *d, char *errstr, size_t errlen)
{
    size_t n_new = 0;

    d->now_ms = sk_clock_now_ms();
    for (size_t i = 0; i < d->n_batch; i++)
        if (!d->batch[i].ok && !d->batch[i].dlq_sent)
            check_message(d, i);

    if (sk_pipeline_reserve(d, d->n_batch) != SK_OK) {
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    for (size_t i = 0; i < d->n_batch; i++) {
        sk_cache_entry_t *e;
        if (!d->batch[i].ok || sk_cache_get(d->cache, d->batch[i].ev.account))
            continue;
        e = sk_cache_add(d->cache, d->batch[i].ev.account);
        if (!e) {
            snprintf(errstr, errlen, "out of memory");
            for (size_t j = 0; j < n_new; j++)
                sk_cache_remove(d->cache, d->load_entries[j]);
            return SK_ERR;
        }
        d->load_entries[n_new++] = e;
    }
    if (sk_pipeline_load(d, d->load_entries, n_new, errstr, errlen) != SK_OK)
        return SK_ERR;
    for (size_t j = 0; j < n_new; j++)
        if (d->load_entries[j]->outbox.n > 0 &&
            sk_pipeline_touch(d, d->load_entries[j]) != SK_OK)
            goto oom;

    for (size_t i = 0; i < d->n_batch; i++) {
        const sk_batch_msg_t *b = &d->batch[i];
        const rd_kafka_message_t *m = b->msg;
        const char *topic = rd_kafka_topic_name(m->rkt);
        sk_cache_entry_t *e;
        int rc;

        if (!b->ok)
            continue;
        e = sk_cache_get(d->cache, b->ev.account);
        if (!e || !e->acct) {
            snprintf(errstr, errlen, "account %s vanished from the cache",
                     b->ev.account);
            return SK_ERR;
        }
        if (m->offset <= sk_account_position(e->acct, topic, m->partition)) {
            /* Applied before a crash or a failed flush: the hash holds
             * it, but the index and due round after the hash may not
             * have run.  Write the account again (the same state) so
             * its indexes and due time are there: nothing else would
             * put a silent account back on the schedule. */
            d->bstats.replayed++;
            e->state_dirty = true;
            if (sk_pipeline_touch(d, e) != SK_OK)
                goto oom;
            continue;
        }
        if (sk_retention_renew(d, e, &b->ev) != SK_OK)
            goto oom;
        sk_alerts_clear(&d->alerts);
        rc = sk_account_apply(e->acct, &d->rules, &b->ev, &d->alerts);
        if (rc == SK_ERR)
            goto oom;
        if (rc == SK_DUPLICATE) {
            d->bstats.duplicates++;
        } else {
            d->bstats.applied++;
            if (b->ev.ts_ms < d->now_ms - d->cfg->late_grace_ms)
                sk_daemon_count_late(d, topic);
        }
        if (sk_account_set_position(e->acct, topic, m->partition, m->offset) !=
            SK_OK)
            goto oom;
        e->state_dirty = true;
        e->applied_mono_ms = sk_clock_mono_ms();
        if (sk_pipeline_touch(d, e) != SK_OK ||
            sk_pipeline_take_alerts(d, e) != SK_OK)
            goto oom;
    }
    return SK_OK;
oom:
    snprintf(errstr, errlen, "out of memory");
    return SK_ERR;
}

/* ---- flush ------------------------------------------------------------------------ */

int sk_pipeline_flush(sk_daemon_t *d,
                      rd_kafka_topic_partition_list_t **offsets,
                      char *errstr, size_t errlen)
{
    size_t nw = 0, nc = 0;
    bool conflict = false;
    sk_redis_confirm_t *confirms = NULL;
    uint64_t seq;
    int rc;

    if (sk_pipeline_reserve(d, d->n_dirty) != SK_OK) {
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    for (size_t i = 0; i < d->n_dirty; i++) {
        sk_cache_entry_t *e = d->dirty[i];
        sk_redis_write_t *w = &d->writes[nw];
        if (!e->state_dirty)
            continue;
        sk_scores_compute(e->acct, &d->rules, &d->scores[nw]);
        w->acct = e->acct;
        w->scores = &d->scores[nw];
        w->gen = e->gen;
        w->outbox = e->outbox.n ? e->outbox.buf : NULL;
        w->outbox_len = e->outbox.n ? e->outbox.len : 0;
        w->due_ms = sk_retention_due_ms(d, e->acct);
        w->prev_health = e->indexed_health;
        w->prev_flags = e->indexed_flags;
        w->prev_customer = e->indexed_customer;
        w->prev_due = e->indexed_due;
        d->write_entries[nw] = e;
        nw++;
    }
    if (SK_REDIS_TIMED(d,
                       sk_redis_write_accounts(d->redis, &d->rules, d->writes,
                                               nw, errstr, errlen)) != SK_OK)
        return SK_ERR;
    for (size_t i = 0; i < nw; i++) {
        sk_cache_entry_t *e = d->write_entries[i];
        if (!d->writes[i].written) {
            d->stats.conflicts++;
            if (!conflict)
                snprintf(errstr, errlen,
                         "account %s was changed by another writer since it "
                         "was loaded",
                         e->id);
            conflict = true;
            continue;
        }
        e->gen++;
        e->state_dirty = false;
        e->indexed_health = (int)d->scores[i].health;
        e->indexed_flags = d->scores[i].flags;
        e->indexed_customer = d->scores[i].customer;
        e->indexed_due = d->writes[i].new_due;
    }
    if (conflict)
        return SK_CONFLICT;

    /* Written: hand the new alerts to the producer, as an in-flight
     * batch that commits once they are delivered (inflight.c). */
    for (size_t i = 0; i < d->n_dirty; i++)
        nc += d->dirty[i]->outbox.n > 0;
    if (sk_inflight_begin(d, &seq) != SK_OK ||
        (nc && !(confirms = malloc(nc * sizeof *confirms)))) {
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    nc = 0;
    for (size_t i = 0; i < d->n_dirty; i++) {
        sk_cache_entry_t *e = d->dirty[i];
        if (e->outbox.n == 0)
            continue;
        if (sk_producer_outbox(d, e, seq) != SK_OK) {
            snprintf(errstr, errlen, "account %s: cannot produce its outbox",
                     e->id);
            sk_inflight_attach(d, seq, NULL, confirms, nc);
            return SK_ERR;
        }
        sk_copy_str(confirms[nc].id, sizeof confirms[nc].id, e->id);
        confirms[nc].gen = e->gen;
        confirms[nc].due_ms = sk_retention_due_ms(d, e->acct);
        nc++;
    }
    /* The index round ran in Redis while the alerts were handed over. */
    rc = SK_REDIS_TIMED(d, sk_redis_settle(d->redis, errstr, errlen));
    if (rc == SK_OK) {
        rc = sk_producer_wait_dead_letters(d);
        if (rc != SK_OK)
            snprintf(errstr, errlen, "%s",
                     rc == SK_FATAL ? d->fatal_reason
                                    : "stopped while waiting for deliveries");
    }
    /* The alerts are out either way: their outboxes are cleared once
     * delivered.  The offsets only if the whole flush went through. */
    sk_inflight_attach(d, seq, rc == SK_OK && offsets ? *offsets : NULL,
                       confirms, nc);
    if (rc == SK_OK && offsets)
        *offsets = NULL;
    return rc;
}

void sk_pipeline_finish(sk_daemon_t *d)
{
    sk_stats_t *t = &d->stats, *b = &d->bstats;

    for (size_t i = 0; i < d->n_dirty; i++)
        d->dirty[i]->pinned = false;
    d->n_dirty = 0;
    t->applied += b->applied;
    t->duplicates += b->duplicates;
    t->replayed += b->replayed;
    t->late += b->late;
    for (int k = 0; k < SK_CONFIG_MAX_INPUTS; k++)
        t->late_by_input[k] += b->late_by_input[k];
    t->suppressed += b->suppressed;
    t->evaluated += b->evaluated;
    memset(b, 0, sizeof *b);
    sk_cache_trim(d->cache);
}

void sk_pipeline_abort(sk_daemon_t *d)
{
    for (size_t i = 0; i < d->n_dirty; i++)
        sk_cache_remove(d->cache, d->dirty[i]);
    d->n_dirty = 0;
    memset(&d->bstats, 0, sizeof d->bstats);
}

void sk_pipeline_release(sk_daemon_t *d)
{
    for (size_t i = 0; i < d->n_batch; i++)
        rd_kafka_message_destroy(d->batch[i].msg);
    d->n_batch = 0;
    sk_producer_reset(d);
}

/* ---- the batch ------------------------------------------------------------------ */

static void note_recovery(sk_daemon_t *d)
{
    if (d->redis_down_since) {
        sk_log(SK_LOG_INFO, "pipeline", "writing again after an outage",
               "outage_ms=%" PRId64, sk_clock_mono_ms() - d->redis_down_since);
        d->redis_down_since = 0;
    }
}

int sk_pipeline_run_batch(sk_daemon_t *d, bool once)
{
    char errstr[SK_ERRSTR_LEN];
    int64_t backoff = RETRY_FIRST_MS;
    int conflicts = 0;

    for (;;) {
        int rc;

        errstr[0] = '\0';
        rc = process(d, errstr, sizeof errstr);
        if (rc == SK_OK) {
            rd_kafka_topic_partition_list_t *offsets =
                sk_consumer_batch_offsets(d);
            rc = sk_pipeline_flush(d, &offsets, errstr, sizeof errstr);
            if (offsets)
                rd_kafka_topic_partition_list_destroy(offsets);
        }
        if (rc == SK_OK) {
            sk_pipeline_finish(d);
            sk_pipeline_release(d);
            note_recovery(d);
            return SK_OK;
        }
        sk_pipeline_abort(d);
        if (rc == SK_FATAL || rc == SK_STOPPED) {
            sk_log(SK_LOG_WARN, "pipeline",
                   "batch left uncommitted; it will be consumed again",
                   "messages=%zu reason=%s", d->n_batch, SK_LOG_Q(errstr));
            sk_pipeline_release(d);
            return rc == SK_FATAL ? SK_FATAL : SK_ERR;
        }
        if (rc == SK_CONFLICT && ++conflicts <= MAX_CONFLICT_RETRIES) {
            sk_log(SK_LOG_INFO, "pipeline",
                   "write conflict: reloading and applying again", "error=%s",
                   SK_LOG_Q(errstr));
            continue;
        }
        d->stats.retries++;
        if (!d->redis_down_since)
            d->redis_down_since = sk_clock_mono_ms();
        if (once || sk_signals_stop_requested()) {
            sk_log(SK_LOG_WARN, "pipeline",
                   "batch failed and left uncommitted; it will be consumed "
                   "again",
                   "messages=%zu error=%s", d->n_batch, SK_LOG_Q(errstr));
            sk_pipeline_release(d);
            return SK_ERR;
        }
        {
            int64_t wait = sk_redis_retry_in_ms(d->redis);
            if (wait < backoff)
                wait = backoff;
            sk_log(SK_LOG_WARN, "pipeline", "batch failed; retrying",
                   "messages=%zu error=%s retry_in_ms=%" PRId64, d->n_batch,
                   SK_LOG_Q(errstr), wait);
            sk_clock_sleep_ms(wait);
        }
        backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
    }
}
