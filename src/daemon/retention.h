/*
 * retention.h - data hygiene: accounts silent for longer than
 * retention.silent_ttl are erased from Redis.
 *
 * The write path schedules the erasure: an account's due time (the
 * PREFIX:due sorted set the scheduler reads) is the earlier of its next
 * scoring moment and its last event time plus the TTL.  At that moment
 * the scheduler, instead of evaluating the account, erases it exactly as
 * `scorekeeper forget` does and logs a line.  An event that arrives more
 * than the TTL after the account's previous event (the daemon was down
 * when the erasure was due, or history is being replayed) starts the
 * account afresh, as if it had been erased in time.
 */
#ifndef SK_DAEMON_RETENTION_H
#define SK_DAEMON_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scorekeeper/account.h"
#include "scorekeeper/event.h"

struct sk_daemon;
struct sk_cache_entry;

/**
 * @brief The due time to store for @p a: sk_account_next_due_ms(), or the
 *        moment its silence exceeds the TTL if that is earlier.
 */
int64_t sk_retention_due_ms(const struct sk_daemon *d, const sk_account_t *a);

/** @returns whether @p a's last event is more than the TTL before
 *  @p now_ms (always false with the TTL off). */
bool sk_retention_expired(const struct sk_daemon *d, const sk_account_t *a,
                          int64_t now_ms);

/**
 * @brief Erase expired account @p e from Redis (sk_redis_forget_keys) and
 *        from the cache, and log it.  @p e is freed on success.
 * @returns SK_OK, or SK_ERR with @p errstr (Redis error: nothing to undo,
 *          the next tick tries again).
 */
int sk_retention_erase(struct sk_daemon *d, struct sk_cache_entry *e,
                       char *errstr, size_t errlen);

/**
 * @brief Before applying @p ev to @p e: if ev comes more than the TTL
 *        after the account's previous event, replace the state with a new
 *        account (keeping only the Kafka positions, which guard against
 *        replays) and log it.
 * @returns SK_OK, or SK_ERR (out of memory; nothing changed).
 */
int sk_retention_renew(struct sk_daemon *d, struct sk_cache_entry *e,
                       const sk_event_t *ev);

#endif
