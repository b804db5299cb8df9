/*
 * cache.c - chained hash table plus an intrusive LRU list.
 *
 * Entries are allocated one by one (an account's state is allocated by
 * the core anyway) and linked twice: into a bucket chain by id hash and
 * into the LRU list.  The table doubles when it holds more entries than
 * buckets, so lookups stay O(1) even while a big batch pushes the cache
 * over its capacity; trimming happens between batches.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

struct sk_cache {
    sk_cache_entry_t **buckets;    /**< chains */
    size_t n_buckets;              /**< a power of two */
    size_t count;                  /**< entries */
    size_t capacity;               /**< unpinned entries kept by trim */
    sk_cache_entry_t *head, *tail; /**< LRU: head most recent */
};

static uint64_t hash_id(const char *id)
{
    return sk_hash64(id, strlen(id), SK_HASH_SEED);
}

sk_cache_t *sk_cache_new(size_t capacity)
{
    sk_cache_t *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->n_buckets = 1024;
    c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->capacity = capacity;
    return c;
}

static void free_entry(sk_cache_entry_t *e)
{
    sk_account_destroy(e->acct);
    sk_outbox_free(&e->outbox);
    free(e);
}

void sk_cache_clear(sk_cache_t *c)
{
    sk_cache_entry_t *e = c->head, *next;

    for (; e; e = next) {
        next = e->next;
        free_entry(e);
    }
    memset(c->buckets, 0, c->n_buckets * sizeof *c->buckets);
    c->head = c->tail = NULL;
    c->count = 0;
}

void sk_cache_destroy(sk_cache_t *c)
{
    if (!c)
        return;
    sk_cache_clear(c);
    free(c->buckets);
    free(c);
}

static void lru_unlink(sk_cache_t *c, sk_cache_entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(sk_cache_t *c, sk_cache_entry_t *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

sk_cache_entry_t *sk_cache_get(sk_cache_t *c, const char *id)
{
    uint64_t h = hash_id(id);
    sk_cache_entry_t *e = c->buckets[h & (c->n_buckets - 1)];

    for (; e; e = e->hnext) {
        if (e->hash == h && strcmp(e->id, id) == 0) {
            if (c->head != e) {
                lru_unlink(c, e);
                lru_push_front(c, e);
            }
            return e;
        }
    }
    return NULL;
}

static void grow(sk_cache_t *c)
{
    size_t n = c->n_buckets * 2;
    sk_cache_entry_t **b = calloc(n, sizeof *b);

    if (!b)
        return; /* longer chains, still correct */
    for (sk_cache_entry_t *e = c->head; e; e = e->next) {
        size_t i = e->hash & (n - 1);
        e->hnext = b[i];
        b[i] = e;
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

sk_cache_entry_t *sk_cache_add(sk_cache_t *c, const char *id)
{
    sk_cache_entry_t *e;
    size_t i;

    if (strlen(id) > SK_ACCOUNT_MAX)
        return NULL;
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->id, id, strlen(id) + 1);
    e->hash = hash_id(id);
    e->indexed_health = -1;
    e->indexed_customer = NAN;
    e->indexed_due = -1;
    if (c->count >= c->n_buckets)
        grow(c);
    i = e->hash & (c->n_buckets - 1);
    e->hnext = c->buckets[i];
    c->buckets[i] = e;
    lru_push_front(c, e);
    c->count++;
    return e;
}

void sk_cache_remove(sk_cache_t *c, sk_cache_entry_t *e)
{
    sk_cache_entry_t **pp = &c->buckets[e->hash & (c->n_buckets - 1)];

    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(c, e);
    c->count--;
    free_entry(e);
}

void sk_cache_trim(sk_cache_t *c)
{
    sk_cache_entry_t *e = c->tail, *prev;

    for (; e && c->count > c->capacity; e = prev) {
        prev = e->prev;
        if (!e->pinned && e->outbox.n == 0)
            sk_cache_remove(c, e);
    }
}

size_t sk_cache_count(const sk_cache_t *c)
{
    return c->count;
}
