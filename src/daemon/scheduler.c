/*
 * scheduler.c - time-driven evaluation of accounts that send no events.
 *
 * A customer who goes silent sends nothing, so nothing in the event path
 * would ever notice.  Every account written to Redis is also put in the
 * PREFIX:due sorted set, scored by the next moment time alone can change
 * its results (sk_account_next_due_ms, a UTC midnight; 0 while it has an
 * unconfirmed outbox).  Each tick reads the accounts due by now, earliest
 * first, a page at a time (never a scan of all accounts), and evaluates
 * those this daemon owns:
 *  - the account's primary input partition (the first of its stored
 *    positions, by topic name then number) must be assigned here, so with
 *    several daemons exactly one evaluates it;
 *  - each of its input partitions assigned here must be caught up (at
 *    its end), so a daemon replaying a backlog never evaluates an account
 *    to "now" before applying the history still waiting for it.  With
 *    range assignment and input topics of equal partition counts (the
 *    recommended setup) all of an account's partitions are assigned to
 *    the same daemon, so this covers every event still to come;
 *  - it has had no event here for QUIET_MS: an account still receiving
 *    events moves forward with them, and history produced while the
 *    daemon runs (a demo, a producer catching up) is never overtaken by
 *    the wall clock between two of its events.  Silent accounts, the
 *    ones this is for, have been quiet for days.
 * Evaluated accounts are flushed exactly like the event path's.  An
 * account silent for longer than retention.silent_ttl is erased instead
 * (retention.h): the write path made it due at that moment.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"

#define MAX_PAGES 4
#define QUIET_MS 5000 /* no event for this long before time moves it */

/* Whether this daemon owns @p acct for time-driven evaluation now: its
 * primary partition (the first input (topic, partition) of its stored
 * positions, by name then number) is assigned here, and every input
 * partition of it that is assigned here is caught up. */
static bool owned(sk_daemon_t *d, const sk_account_t *acct)
{
    const sk_position_t *primary = NULL;

    for (int i = 0; i < acct->n_positions; i++) {
        const sk_position_t *pos = &acct->positions[i];
        const sk_partition_t *p;
        int c;
        if (!sk_daemon_is_input(d, pos->topic))
            continue;
        c = primary ? strcmp(pos->topic, primary->topic) : -1;
        if (c < 0 || (c == 0 && pos->partition < primary->partition))
            primary = pos;
        p = sk_consumer_partition(d, pos->topic, pos->partition);
        if (p && !sk_consumer_caught_up(d, p))
            return false;
    }
    return primary &&
           sk_consumer_partition(d, primary->topic, primary->partition);
}

static int evaluate(sk_daemon_t *d, sk_cache_entry_t *e)
{
    sk_alerts_clear(&d->alerts);
    if (sk_account_evaluate(e->acct, &d->rules, d->now_ms, &d->alerts) != SK_OK)
        return SK_ERR;
    d->bstats.evaluated++;
    if (d->alerts.n > 0)
        sk_log(SK_LOG_DEBUG, "scheduler", "time-driven alerts",
               "account=%s alerts=%zu", e->id, d->alerts.n);
    if (sk_pipeline_take_alerts(d, e) != SK_OK)
        return SK_ERR;
    /* Written even when nothing changed: its due time moves on. */
    e->state_dirty = true;
    return sk_pipeline_touch(d, e);
}

static bool loaded_now(const sk_daemon_t *d, const sk_cache_entry_t *e,
                       size_t n_new)
{
    for (size_t j = 0; j < n_new; j++)
        if (d->load_entries[j] == e)
            return true;
    return false;
}

/* One page of due ids: load what is not cached, evaluate what we own.
 * @returns SK_OK or SK_ERR. */
static int page(sk_daemon_t *d, char (*ids)[SK_ACCOUNT_MAX + 1], size_t n,
                size_t *skipped, char *errstr, size_t errlen)
{
    size_t n_new = 0;

    if (sk_pipeline_reserve(d, n) != SK_OK) {
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        sk_cache_entry_t *e = sk_cache_get(d->cache, ids[i]);
        if (e)
            continue;
        e = sk_cache_add(d->cache, ids[i]);
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
    for (size_t i = 0; i < n; i++) {
        sk_cache_entry_t *e = sk_cache_get(d->cache, ids[i]);
        if (!e || !e->acct)
            continue;
        if (!owned(d, e->acct) ||
            (e->applied_mono_ms &&
             sk_clock_mono_ms() - e->applied_mono_ms < QUIET_MS) ||
            (e->outbox.n > 0 && e->outbox_sent == e->outbox.len)) {
            (*skipped)++;
            /* Another daemon's, not caught up or not quiet yet, or due
             * (at 0) only for alerts already on their way, which its
             * in-flight batch confirms: keep nothing we loaded only to
             * look at it. */
            if (!e->pinned && loaded_now(d, e, n_new))
                sk_cache_remove(d->cache, e);
            continue;
        }
        /* Past retention.silent_ttl: erased, not evaluated (alerts left
         * in an outbox go out first, on this tick's write). */
        if (!e->pinned && e->outbox.n == 0 &&
            sk_retention_expired(d, e->acct, d->now_ms)) {
            if (sk_retention_erase(d, e, errstr, errlen) != SK_OK)
                return SK_ERR;
            continue;
        }
        if (evaluate(d, e) != SK_OK) {
            snprintf(errstr, errlen, "out of memory");
            return SK_ERR;
        }
    }
    return SK_OK;
}

int sk_scheduler_tick(sk_daemon_t *d)
{
    char ids[256][SK_ACCOUNT_MAX + 1];
    char errstr[SK_ERRSTR_LEN];
    size_t limit = (size_t)d->cfg->due_limit, offset = 0, skipped = 0;
    size_t per_page = limit < 256 ? limit : 256, taken = 0;
    bool full = false;
    bool any_caught_up = false;
    int rc;

    for (size_t i = 0; i < d->n_parts; i++)
        if (sk_daemon_is_input(d, d->parts[i].topic) &&
            sk_consumer_caught_up(d, &d->parts[i]))
            any_caught_up = true;
    if (!any_caught_up)
        return SK_OK;
    d->now_ms = sk_clock_now_ms();
    for (int pg = 0; pg < MAX_PAGES && taken < limit; pg++) {
        size_t n = 0,
               want = limit - taken < per_page ? limit - taken : per_page;
        if (SK_REDIS_TIMED(d, sk_redis_due(d->redis, d->now_ms, offset, want,
                                           ids, &n, errstr, sizeof errstr)) !=
            SK_OK)
            goto fail;
        if (page(d, ids, n, &skipped, errstr, sizeof errstr) != SK_OK)
            goto fail;
        taken += n;
        /* Evaluated accounts leave the due range once written; skipped
         * ones stay, so the next page starts after them. */
        offset = skipped;
        full = n == want;
        if (n < want)
            break;
        if (d->n_dirty > 0)
            break; /* write what we have before reading further */
    }
    d->due_more = false;
    if (d->n_dirty == 0)
        return SK_OK;
    /* More may be due: the loop comes back between batches. */
    d->due_more = full;
    rc = sk_pipeline_flush(d, NULL, errstr, sizeof errstr);
    if (rc == SK_OK) {
        sk_log(SK_LOG_DEBUG, "scheduler", "evaluated due accounts",
               "accounts=%zu", d->n_dirty);
        sk_pipeline_finish(d);
        return SK_OK;
    }
    if (rc == SK_FATAL) {
        sk_pipeline_abort(d);
        return SK_FATAL;
    }
fail:
    sk_pipeline_abort(d);
    {
        /* A tick fails every interval while Redis is down: a few lines a
         * minute say so. */
        static sk_log_limit_t fail_lines;
        uint64_t held;
        if (sk_log_limit_pass(&fail_lines, 3, 60000, &held))
            sk_log(SK_LOG_WARN, "scheduler",
                   "tick failed; the due accounts stay due and are tried "
                   "again",
                   "error=%s failures_not_logged=%" PRIu64, SK_LOG_Q(errstr),
                   held);
    }
    return SK_ERR;
}
