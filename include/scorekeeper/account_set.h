/*
 * account_set.h - many accounts keyed by id, for whoever scores a stream
 * of interleaved events in memory: the offline scorer, `explain`, tests.
 *
 * The set routes each event to its account (created on first sight) and
 * can evaluate every account at one moment, in account-id order, so the
 * output of a run never depends on hash order.
 */
#ifndef SCOREKEEPER_ACCOUNT_SET_H
#define SCOREKEEPER_ACCOUNT_SET_H

#include <stddef.h>

#include "account.h"
#include "alert.h"
#include "event.h"
#include "rules.h"

typedef struct sk_account_set sk_account_set_t;

/** @returns an empty set (free with sk_account_set_destroy()), or NULL. */
sk_account_set_t *sk_account_set_new(void);

/** Free the set and every account in it.  NULL is a no-op. */
void sk_account_set_destroy(sk_account_set_t *set);

/** @returns the account @p id, or NULL.  The set keeps ownership. */
sk_account_t *sk_account_set_get(const sk_account_set_t *set, const char *id);

/**
 * @brief The account @p id, created with sk_account_new() if absent.
 * @returns the account (owned by the set), or NULL (out of memory or an
 *          invalid id).
 */
sk_account_t *sk_account_set_upsert(sk_account_set_t *set, const char *id,
                                    const sk_rules_t *rules);

/**
 * @brief Apply @p ev to its account (sk_account_apply()).
 * @returns SK_APPLIED, SK_DUPLICATE or SK_ERR.
 */
int sk_account_set_apply(sk_account_set_t *set, const sk_rules_t *rules,
                         const sk_event_t *ev, sk_alerts_t *out);

/** @returns how many accounts the set holds. */
size_t sk_account_set_count(const sk_account_set_t *set);

/**
 * @brief The accounts sorted by id.
 * @returns a malloc'd array of @p *n borrowed pointers (free the array,
 *          not the accounts), or NULL when empty or out of memory.
 */
sk_account_t **sk_account_set_sorted(const sk_account_set_t *set, size_t *n);

/**
 * @brief sk_account_evaluate() every account at @p now_ms, in id order,
 *        appending the alerts.  @returns SK_OK or SK_ERR.
 */
int sk_account_set_evaluate(sk_account_set_t *set, const sk_rules_t *rules,
                            int64_t now_ms, sk_alerts_t *out);

#endif
