/*
 * redis_store.h - accounts in Redis: the state blob, the readable scores,
 * the indexes by score, tier and flag, and the due-time schedule.
 *
 * Layout (schemas/redis.md), with PREFIX defaulting to "sk" and NN the
 * account's bucket, 00..63 (sk_redis_bucket()):
 *   PREFIX:{NN}:state         hash: account id -> state blob
 *   PREFIX:{NN}:gen           hash: account id -> write generation
 *   PREFIX:{NN}:scores        hash: account id -> readable scores (JSON)
 *   PREFIX:{NN}:outbox        hash: account id -> alerts not yet confirmed
 *   PREFIX:idx:score          zset: every account by customer score
 *   PREFIX:idx:health:TIER    zset: accounts of health tier TIER (score 0)
 *   PREFIX:idx:flag:FLAG      zset: accounts with FLAG raised (score 0)
 *   PREFIX:due                zset: account by next due time (ms)
 * The {NN} hash tag keeps a bucket's hashes in one Redis Cluster slot, so
 * the scripts that write them touch one slot.  Every call is bounded by
 * the connection's timeout; after any error the connection is dropped
 * and the next call reconnects.
 */
#ifndef SK_REDIS_STORE_H
#define SK_REDIS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scorekeeper/account.h"
#include "scorekeeper/rules.h"
#include "scorekeeper/scores.h"

typedef struct sk_redis_opts {
    char host[256];     /**< "127.0.0.1" */
    int port;           /**< 6379 */
    int db;             /**< SELECT db, 0 */
    char user[128];     /**< ACL user, "" for none */
    char password[256]; /**< "" for none */
    int timeout_ms;     /**< connect and command timeout, 2000 */
    char prefix[64];    /**< key prefix, "sk" */
} sk_redis_opts_t;

typedef struct sk_redis sk_redis_t;

/** Buckets the accounts are spread over (part of the layout). */
#define SK_REDIS_BUCKETS 64

/** @returns the bucket of account @p id: sk_hash_id(id) % 64. */
int sk_redis_bucket(const char *id);

/** "PREFIX:{NN}", the start of the names of @p id's bucket hashes. */
void sk_redis_bucket_prefix(const sk_redis_t *r, const char *id, char *buf,
                            size_t len);

/** Fill @p opts with the defaults above. */
void sk_redis_opts_default(sk_redis_opts_t *opts);

/** Parse "HOST:PORT" into @p opts.  @returns SK_OK or SK_ERR. */
int sk_redis_opts_parse_addr(sk_redis_opts_t *opts, const char *addr);

/**
 * @brief Connect (AUTH and SELECT as configured).
 * @returns a store the caller frees with sk_redis_close(), or NULL with
 *          @p errstr saying why.
 */
sk_redis_t *sk_redis_connect(const sk_redis_opts_t *opts, char *errstr,
                             size_t errlen);

/** Close and free @p r.  NULL is a no-op. */
void sk_redis_close(sk_redis_t *r);

/**
 * @brief Load one account's state.
 * @param acct receives the account (caller frees with
 *             sk_account_destroy()), or NULL when it is not stored.
 * @returns SK_OK, or SK_ERR (Redis error, or a blob that does not decode)
 *          with @p errstr.
 */
int sk_redis_load_account(sk_redis_t *r, const char *id,
                          const sk_rules_t *rules, sk_account_t **acct,
                          char *errstr, size_t errlen);

/** One row of sk_redis_top(). */
typedef struct sk_redis_ranked {
    char account[SK_ACCOUNT_MAX + 1];
    double score; /**< customer score */
} sk_redis_ranked_t;

/**
 * @brief Accounts by customer score, highest first: the score index, or
 *        its intersection with a tier and/or flag set (ZINTER).
 * @param health a health tier name, or NULL
 * @param flag   a flag name, or NULL (both NULL: every account)
 * @param rows   receives a malloc'd array the caller frees; *n its length
 */
int sk_redis_top(sk_redis_t *r, const char *health, const char *flag,
                 size_t limit, sk_redis_ranked_t **rows, size_t *n,
                 char *errstr, size_t errlen);


/* ------------------------------------------------------------------ *
 * What scorekeeperd adds: generations, outboxes, pipelined writes.
 *
 * Every account has a `gen`, a count of its writes.  A writer remembers
 * the gen it loaded and writes through a server-side script that stores
 * the account only if gen is unchanged (compare-and-set), then bumps it:
 * a second daemon that still believes it owns the account (a zombie
 * after a rebalance) can never overwrite newer state; it sees a conflict,
 * reloads and re-applies.  One script call covers many accounts of one
 * bucket and touches only that bucket's keys (one Cluster slot).
 * ------------------------------------------------------------------ */

/**
 * @brief Refuse servers that may evict keys: checks CONFIG GET
 *        maxmemory-policy now and after every reconnect, and fails (the
 *        call, then every reconnect) unless it is "noeviction".
 * @returns SK_OK, or SK_ERR with @p errstr (evicting policy, or CONFIG
 *          refused by the server).
 */
int sk_redis_require_noeviction(sk_redis_t *r, char *errstr, size_t errlen);

/** CONFIG GET @p name into @p value.  @returns SK_OK or SK_ERR. */
int sk_redis_config_get(sk_redis_t *r, const char *name, char *value,
                        size_t vlen, char *errstr, size_t errlen);

/** @returns whether a connection is open right now. */
bool sk_redis_connected(const sk_redis_t *r);

/**
 * @brief Milliseconds until the next reconnect attempt is allowed (capped
 *        exponential backoff after failures), 0 when a call may try now.
 */
int64_t sk_redis_retry_in_ms(const sk_redis_t *r);

/** @returns how many times a connection was established. */
uint64_t sk_redis_connect_count(const sk_redis_t *r);

/** One account as stored, with what a writer needs to write it back. */
typedef struct sk_redis_stored {
    char id[SK_ACCOUNT_MAX + 1]; /**< in: the account id */
    sk_account_t *acct; /**< out: the state (caller frees), NULL if absent */
    uint64_t gen;       /**< out: its generation, 0 when absent */
    char *outbox;      /**< out: malloc'd outbox bytes (caller frees) or NULL */
    size_t outbox_len; /**< out: their length */
    int status;        /**< out: SK_OK, or SK_ERR: the state does not decode */
    char error[160];   /**< out: why, when status is SK_ERR */
} sk_redis_stored_t;

/**
 * @brief Load several accounts in one pipelined round trip.
 * @returns SK_OK (each item says whether it decoded), or SK_ERR on a Redis
 *          error; then no item owns anything.
 */
int sk_redis_load_many(sk_redis_t *r, const sk_rules_t *rules,
                       sk_redis_stored_t *items, size_t n, char *errstr,
                       size_t errlen);

/** One account to write. */
typedef struct sk_redis_write {
    const sk_account_t *acct;  /**< the state to store */
    const sk_scores_t *scores; /**< its scores at its clock */
    uint64_t gen;              /**< generation it was loaded at (0: new) */
    const void *outbox;        /**< alerts not yet confirmed, or NULL */
    size_t outbox_len;         /**< their length, 0 for none */
    int64_t due_ms;            /**< next evaluation, INT64_MAX for none */
    int prev_health;           /**< health tier indexed before, -1 unknown,
                                    SK_HEALTH__COUNT in none */
    uint32_t prev_flags;       /**< flags indexed before (prev_health >= 0) */
    double prev_customer;      /**< score indexed before, NAN unknown */
    int64_t prev_due;          /**< due score before, -1 unknown, INT64_MAX
                                    absent */
    int64_t new_due;           /**< out: the due score written */
    bool written;              /**< out: false on a conflict */
} sk_redis_write_t;

/**
 * @brief Write accounts: per bucket one compare-and-set script that
 *        stores, for each account whose gen is unchanged, its state,
 *        readable scores and outbox at once and bumps its gen; then, for
 *        the ones written, the indexes and the due schedule (score 0
 *        while the outbox is not empty, so an outbox left by a crash is
 *        found by the scheduler), one ZADD and one ZREM per sorted set.
 *        Both rounds are pipelined.
 * @returns SK_OK (see each item's `written`), or SK_ERR on a Redis error;
 *          some items may then have been written: reload before retrying.
 * @remark The index round is sent but not waited for: call
 *         sk_redis_settle() to learn how it went (any other call settles
 *         it first, too).
 */
int sk_redis_write_accounts(sk_redis_t *r, const sk_rules_t *rules,
                            sk_redis_write_t *items, size_t n, char *errstr,
                            size_t errlen);

/**
 * @brief Wait for the index updates sk_redis_write_accounts() sent.
 * @returns SK_OK, or SK_ERR with @p errstr (the connection is dropped).
 */
int sk_redis_settle(sk_redis_t *r, char *errstr, size_t errlen);

/** One outbox whose alerts are confirmed delivered. */
typedef struct sk_redis_confirm {
    char id[SK_ACCOUNT_MAX + 1]; /**< the account */
    uint64_t gen;   /**< generation the outbox was written at */
    int64_t due_ms; /**< the account's next evaluation, INT64_MAX none */
    bool cleared;   /**< out: false when the account changed since */
} sk_redis_confirm_t;

/**
 * @brief Delete confirmed outboxes (only where gen is unchanged; one
 *        script per bucket) and put those accounts back on their real due
 *        time (one ZADD).  Pipelined.
 */
int sk_redis_confirm_outboxes(sk_redis_t *r, sk_redis_confirm_t *items,
                              size_t n, char *errstr, size_t errlen);

/**
 * @brief Accounts due at or before @p now_ms, earliest first:
 *        ZRANGEBYSCORE PREFIX:due -inf now LIMIT offset limit.
 * @param ids receives up to @p limit ids; @p n their count.
 */
int sk_redis_due(sk_redis_t *r, int64_t now_ms, size_t offset, size_t limit,
                 char (*ids)[SK_ACCOUNT_MAX + 1], size_t *n, char *errstr,
                 size_t errlen);

/** Most fields sk_redis_get_fields() reads per account. */
#define SK_REDIS_MAX_FIELDS 32

/**
 * @brief Readable fields of several accounts in one round trip (their
 *        records, gens and outbox sizes, pipelined), for tools.
 * @param ids    @p n account ids.
 * @param fields @p nf field names, at most SK_REDIS_MAX_FIELDS: those of
 *               the scores record (points, stage, customer, health, flags
 *               as a comma list, ...), `gen`, and `outbox` (its size in
 *               bytes, 0 for none).
 * @param values receives a malloc'd array of n * nf strings, row-major
 *               (values[i * nf + f]): each malloc'd, or NULL where the
 *               field or the account is absent.  The caller frees each
 *               string and the array; on error *values is NULL.
 * @returns SK_OK or SK_ERR with @p errstr.
 */
int sk_redis_get_fields(sk_redis_t *r, const char *const *ids, size_t n,
                        const char *const *fields, size_t nf, char ***values,
                        char *errstr, size_t errlen);

/* ------------------------------------------------------------------ *
 * Erasing one account, for `scorekeeper forget`.
 * ------------------------------------------------------------------ */

/** Keys that can hold an account: the four hashes of its bucket, the
 *  score index, one index per health tier, one per flag, and the due
 *  schedule. */
#define SK_REDIS_ACCOUNT_KEYS (6 + SK_HEALTH__COUNT + SK_FLAG__COUNT)

/** One key of sk_redis_forget_keys(). */
typedef struct sk_redis_key_state {
    char key[64 + SK_ACCOUNT_MAX + 32]; /**< the key's name */
    bool is_hash; /**< a bucket hash (else a sorted set it is in) */
    const char *role; /**< what the key holds of the account, for people */
    bool present; /**< it held the account (removed, with erase) */
} sk_redis_key_state_t;

/**
 * @brief Which keys hold account @p id, and with @p erase, remove it from
 *        all of them: HDEL from its bucket's hashes, its `gen` first (so
 *        a daemon holding it in memory sees a conflict), ZREM from every
 *        index and the due schedule.  Only the known keys are touched,
 *        never a scan of the keyspace; one pipelined round trip.
 * @param keys receives SK_REDIS_ACCOUNT_KEYS entries, in the order above:
 *             each key and whether the account was there (HEXISTS/ZSCORE,
 *             or what HDEL/ZREM removed).
 * @returns SK_OK, or SK_ERR with @p errstr (invalid id, Redis error: some
 *          keys may then be erased; running it again finishes the job).
 */
int sk_redis_forget_keys(sk_redis_t *r, const char *id, bool erase,
                         sk_redis_key_state_t *keys, char *errstr,
                         size_t errlen);

#endif
