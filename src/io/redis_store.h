/*
 * redis_store.h - accounts in Redis: the state blob, the readable fields,
 * the indexes by score, tier and flag, and the due-time schedule.
 *
 * Layout (schemas/redis.md), with PREFIX defaulting to "sk":
 *   PREFIX:acct:{ID}          hash: state (blob), points, stage,
 *                             engagement, eng_tier, customer, upsell,
 *                             segment, health, play, sla_hours, flags
 *                             (comma list), updated_at (ISO), rules_version,
 *                             outbox (alerts not yet confirmed)
 *   PREFIX:idx:score          zset: every account by customer score
 *   PREFIX:idx:health:TIER    zset: accounts of health tier TIER by score
 *   PREFIX:idx:flag:FLAG      zset: accounts with FLAG raised, by score
 *   PREFIX:due                zset: account by next due time (ms)
 * The {ID} hash tag keeps an account's keys in one Redis Cluster slot.
 * Every call is bounded by the connection's timeout; after any error the
 * connection is dropped and the next call reconnects.
 */
#ifndef SK_REDIS_STORE_H
#define SK_REDIS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "scorekeeper/account.h"
#include "scorekeeper/rules.h"

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
 * @brief Accounts from an index, highest score first.
 * @param health a health tier name, or NULL
 * @param flag   a flag name, or NULL (both NULL: every account)
 * @param rows   receives a malloc'd array the caller frees; *n its length
 */
int sk_redis_top(sk_redis_t *r, const char *health, const char *flag,
                 size_t limit, sk_redis_ranked_t **rows, size_t *n,
                 char *errstr, size_t errlen);

/**
 * @brief Erase every key and index entry of account @p id.
 * @returns SK_OK (also when nothing was stored) or SK_ERR.
 */
int sk_redis_forget(sk_redis_t *r, const char *id, char *errstr,
                    size_t errlen);

#endif
