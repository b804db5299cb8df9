/*
 * account_set.c - accounts keyed by id in an open-addressing hash table
 * (linear probing, grown at 70 % load), see account_set.h.
 */
#include <stdlib.h>
#include <string.h>

#include "scorekeeper/account_set.h"

typedef struct slot {
    uint64_t hash;      /* of the account id, checked before the id */
    sk_account_t *acct; /* NULL or an owned account */
} slot_t;

struct sk_account_set {
    slot_t *slots; /* open addressing, linear probing */
    size_t cap;    /* a power of two */
    size_t n;
};

sk_account_set_t *sk_account_set_new(void)
{
    sk_account_set_t *set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    set->cap = 64;
    set->slots = calloc(set->cap, sizeof *set->slots);
    if (!set->slots) {
        free(set);
        return NULL;
    }
    return set;
}

void sk_account_set_destroy(sk_account_set_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->cap; i++)
        sk_account_destroy(set->slots[i].acct);
    free(set->slots);
    free(set);
}

static size_t slot_of(const sk_account_set_t *set, uint64_t h, const char *id)
{
    size_t mask = set->cap - 1;
    size_t i = (size_t)h & mask;
    while (set->slots[i].acct &&
           (set->slots[i].hash != h || strcmp(set->slots[i].acct->id, id) != 0))
        i = (i + 1) & mask;
    return i;
}

sk_account_t *sk_account_set_get(const sk_account_set_t *set, const char *id)
{
    return set->slots[slot_of(set, sk_hash_id(id), id)].acct;
}

static int grow(sk_account_set_t *set)
{
    sk_account_set_t bigger = {.cap = set->cap * 2};
    bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
    if (!bigger.slots)
        return SK_ERR;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i].acct)
            bigger.slots[slot_of(&bigger, set->slots[i].hash,
                                 set->slots[i].acct->id)] = set->slots[i];
    free(set->slots);
    set->slots = bigger.slots;
    set->cap = bigger.cap;
    return SK_OK;
}

sk_account_t *sk_account_set_upsert(sk_account_set_t *set, const char *id,
                                    const sk_rules_t *rules)
{
    uint64_t h = sk_hash_id(id);
    size_t i = slot_of(set, h, id);
    if (set->slots[i].acct)
        return set->slots[i].acct;
    if ((set->n + 1) * 10 > set->cap * 7) {
        if (grow(set) != SK_OK)
            return NULL;
        i = slot_of(set, h, id);
    }
    sk_account_t *acct = sk_account_new(id, rules);
    if (!acct)
        return NULL;
    set->slots[i].hash = h;
    set->slots[i].acct = acct;
    set->n++;
    return acct;
}

int sk_account_set_apply(sk_account_set_t *set, const sk_rules_t *rules,
                         const sk_event_t *ev, sk_alerts_t *out)
{
    sk_account_t *acct = sk_account_set_upsert(set, ev->account, rules);
    if (!acct)
        return SK_ERR;
    return sk_account_apply(acct, rules, ev, out);
}

size_t sk_account_set_count(const sk_account_set_t *set)
{
    return set->n;
}

static int by_id(const void *a, const void *b)
{
    const sk_account_t *x = *(sk_account_t *const *)a;
    const sk_account_t *y = *(sk_account_t *const *)b;
    return strcmp(x->id, y->id);
}

sk_account_t **sk_account_set_sorted(const sk_account_set_t *set, size_t *n)
{
    *n = 0;
    if (set->n == 0)
        return NULL;
    sk_account_t **v = malloc(set->n * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i].acct)
            v[(*n)++] = set->slots[i].acct;
    qsort(v, *n, sizeof *v, by_id);
    return v;
}

int sk_account_set_evaluate(sk_account_set_t *set, const sk_rules_t *rules,
                            int64_t now_ms, sk_alerts_t *out)
{
    size_t n;
    sk_account_t **v = sk_account_set_sorted(set, &n);
    if (!v && set->n)
        return SK_ERR;
    int rc = SK_OK;
    for (size_t i = 0; i < n && rc == SK_OK; i++)
        rc = sk_account_evaluate(v[i], rules, now_ms, out);
    free(v);
    return rc;
}
