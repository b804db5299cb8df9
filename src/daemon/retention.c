/*
 * retention.c - erasing accounts silent for longer than
 * retention.silent_ttl (see retention.h for the rule).
 *
 * The erasure reuses sk_redis_forget_keys(), the code behind `scorekeeper
 * forget`: the same keys, touched by name, never a scan.  Deleting the
 * hash resets its write generation, so another writer holding the account
 * sees a conflict rather than writing it back.  An account with alerts
 * still waiting in its outbox is left for the next tick: those alerts go
 * out first.
 */
#include <inttypes.h>
#include <stdio.h>

#include "daemon.h"
#include "log.h"
#include "retention.h"

static bool has_events(const sk_account_t *a)
{
    return a->events_applied > 0;
}

int64_t sk_retention_due_ms(const sk_daemon_t *d, const sk_account_t *a)
{
    int64_t due = sk_account_next_due_ms(a, &d->rules);
    int64_t ttl = d->cfg->silent_ttl_ms, expiry;

    if (ttl < 0 || !has_events(a) || a->updated_ms > INT64_MAX - ttl - 1)
        return due;
    expiry = a->updated_ms + ttl + 1;
    return expiry < due ? expiry : due;
}

bool sk_retention_expired(const sk_daemon_t *d, const sk_account_t *a,
                          int64_t now_ms)
{
    int64_t ttl = d->cfg->silent_ttl_ms;

    return ttl >= 0 && has_events(a) && now_ms - a->updated_ms > ttl;
}

int sk_retention_erase(sk_daemon_t *d, sk_cache_entry_t *e, char *errstr,
                       size_t errlen)
{
    sk_redis_key_state_t keys[SK_REDIS_ACCOUNT_KEYS];
    char last[40];
    int removed = 0;

    if (sk_redis_forget_keys(d->redis, e->id, true, keys, errstr, errlen) !=
        SK_OK)
        return SK_ERR;
    for (size_t i = 0; i < SK_REDIS_ACCOUNT_KEYS; i++)
        removed += keys[i].present;
    sk_format_time(e->acct->updated_ms, last, sizeof last);
    sk_log(SK_LOG_INFO, "retention",
           "account erased: no event for longer than retention.silent_ttl",
           "account=%s last_event=%s silent_days=%" PRId64 " ttl_days=%" PRId64
           " keys=%d",
           SK_LOG_Q(e->id), last, (d->now_ms - e->acct->updated_ms) / SK_DAY_MS,
           d->cfg->silent_ttl_ms / SK_DAY_MS, removed);
    d->stats.expired++;
    sk_cache_remove(d->cache, e);
    return SK_OK;
}

int sk_retention_renew(sk_daemon_t *d, sk_cache_entry_t *e,
                       const sk_event_t *ev)
{
    int64_t ttl = d->cfg->silent_ttl_ms;
    sk_account_t *fresh, *old = e->acct;
    char last[40], now[40];

    if (ttl < 0 || !has_events(old) || ev->ts_ms - old->updated_ms <= ttl)
        return SK_OK;
    fresh = sk_account_new(e->id, &d->rules);
    if (!fresh)
        return SK_ERR;
    if (sk_account_copy_positions(fresh, old) != SK_OK) {
        sk_account_destroy(fresh);
        return SK_ERR;
    }
    sk_format_time(old->updated_ms, last, sizeof last);
    sk_format_time(ev->ts_ms, now, sizeof now);
    sk_log(SK_LOG_INFO, "retention",
           "account started afresh: its previous event is older than "
           "retention.silent_ttl",
           "account=%s previous_event=%s event=%s event_id=%s", SK_LOG_Q(e->id),
           last, now, SK_LOG_Q(ev->id));
    sk_account_destroy(old);
    e->acct = fresh;
    e->state_dirty = true;
    d->stats.renewed++;
    return SK_OK;
}
