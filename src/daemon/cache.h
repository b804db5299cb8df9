/*
 * cache.h - the accounts scorekeeperd holds in memory between batches.
 *
 * A hash table by account id with an LRU list.  An entry is the account's
 * state as last written to Redis plus what the current batch did to it;
 * entries the current batch touched are pinned (never evicted) until the
 * batch is written and committed.  After a failed write or a rebalance
 * the daemon drops entries, so the next use reloads them from Redis.
 */
#ifndef SK_DAEMON_CACHE_H
#define SK_DAEMON_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox.h"
#include "scorekeeper/account.h"

typedef struct sk_cache_entry {
    char id[SK_ACCOUNT_MAX + 1]; /**< the account id */
    sk_account_t *acct;          /**< owned; NULL while being loaded */
    uint64_t gen; /**< Redis generation this state was loaded/written at */
    sk_outbox_t outbox; /**< alerts written or to write, not yet confirmed */
    size_t outbox_sent; /**< bytes of outbox already handed to the producer */
    bool state_dirty;   /**< changed since written */
    bool pinned;        /**< in the current batch's dirty list */
    int64_t applied_mono_ms; /**< monotonic ms of its last event here, 0 */
    int indexed_health; /**< health tier in the indexes, -1 unknown,
                             SK_HEALTH__COUNT in none */
    uint32_t indexed_flags;  /**< flags in the indexes */
    double indexed_customer; /**< score in the indexes, NAN unknown */
    int64_t indexed_due;     /**< score in the due set, -1 unknown,
                                  INT64_MAX absent */
    uint64_t hash;                      /**< of id */
    struct sk_cache_entry *hnext;       /**< hash chain */
    struct sk_cache_entry *prev, *next; /**< LRU list, most recent first */
} sk_cache_entry_t;

typedef struct sk_cache sk_cache_t;

/** A cache that keeps up to @p capacity unpinned accounts.  NULL: OOM. */
sk_cache_t *sk_cache_new(size_t capacity);

/** Free the cache and every entry.  NULL is a no-op. */
void sk_cache_destroy(sk_cache_t *c);

/** @returns the entry of @p id (now most recently used), or NULL. */
sk_cache_entry_t *sk_cache_get(sk_cache_t *c, const char *id);

/**
 * @brief Add an entry for @p id, with no account yet.
 * @returns the entry (owned by the cache), or NULL (out of memory).
 * @remark The caller checked that @p id is not cached.
 */
sk_cache_entry_t *sk_cache_add(sk_cache_t *c, const char *id);

/** Remove and free @p e. */
void sk_cache_remove(sk_cache_t *c, sk_cache_entry_t *e);

/** Remove every entry. */
void sk_cache_clear(sk_cache_t *c);

/** Evict least recently used unpinned entries beyond the capacity. */
void sk_cache_trim(sk_cache_t *c);

/** @returns the number of entries. */
size_t sk_cache_count(const sk_cache_t *c);

#endif
