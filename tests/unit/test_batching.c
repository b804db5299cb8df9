/*
 * test_batching.c - results do not depend on how events are batched, how
 * accounts interleave, when accounts are evaluated between events, or
 * whether the state went through its stored form on the way.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "scorekeeper/account_set.h"
#include "scorekeeper/scores.h"
#include "scorekeeper/state_codec.h"
#include "support.h"

#define N_ACCOUNTS 12
#define N_EVENTS 6000

static sk_event_t events[N_EVENTS];

/* A deterministic stream in time order over 120 days, every type. */
static void make_stream(void)
{
    uint64_t x = 42;
    int64_t start;
    sk_parse_time("2026-01-01T00:00:00Z", &start);
    for (int i = 0; i < N_EVENTS; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t r = (uint32_t)(x >> 33);
        sk_event_t *e = &events[i];
        memset(e, 0, sizeof *e);
        snprintf(e->account, sizeof e->account, "acct%02u", r % N_ACCOUNTS);
        snprintf(e->id, sizeof e->id, "ev%d", i);
        /* Some accounts go quiet for weeks so time-driven flags fire. */
        e->ts_ms = start + (int64_t)i * (120 * SK_DAY_MS / N_EVENTS);
        e->type = (sk_event_type_t)((r >> 8) % SK_EV__COUNT);
        if ((r % N_ACCOUNTS) < 3 && (i / 1000) % 2 == 1)
            e->type = SK_EV_EMAIL_EXCHANGE;
        e->has_value = true;
        e->value = (double)((r >> 12) % 150);
        if (e->type == SK_EV_NPS)
            e->value = (double)((r >> 12) % 11);
        static const char *labels[] = {"dashboards", "cancellation",
                                       "enterprise_feature", "happy",
                                       "satisfied", "reports"};
        snprintf(e->label, sizeof e->label, "%s", labels[(r >> 16) % 6]);
        if (e->type == SK_EV_FEEDBACK)
            snprintf(e->label, sizeof e->label, "%s",
                     (r >> 16) % 2 ? "happy" : "not_happy");
        e->role = (sk_role_t)((r >> 20) % SK_ROLE__COUNT);
        snprintf(e->user, sizeof e->user, "u%u", (r >> 22) % 4);
        snprintf(e->dept, sizeof e->dept, "d%u", (r >> 24) % 4);
        e->attrs = (r >> 26) & 0x1f;
        /* A retried producer: the same event twice. */
        if (i % 97 == 1)
            *e = events[i - 1];
    }
}

typedef struct result {
    char *json[N_ACCOUNTS];
    char ids[N_ACCOUNTS][512][17];
    int n_ids[N_ACCOUNTS];
} result_t;

static int account_index(const char *id)
{
    return atoi(id + 4);
}

static void collect(result_t *res, sk_alerts_t *alerts)
{
    for (size_t i = 0; i < alerts->n; i++) {
        int a = account_index(alerts->v[i].account);
        cr_assert_lt(res->n_ids[a], 512);
        memcpy(res->ids[a][res->n_ids[a]++], alerts->v[i].id, 17);
    }
    sk_alerts_clear(alerts);
}

static void finish(result_t *res, sk_account_set_t *set, int64_t now,
                   sk_alerts_t *alerts)
{
    const sk_rules_t *r = sk_test_rules();
    cr_assert_eq(sk_account_set_evaluate(set, r, now, alerts), SK_OK);
    collect(res, alerts);
    for (int a = 0; a < N_ACCOUNTS; a++) {
        char id[16];
        snprintf(id, sizeof id, "acct%02d", a);
        sk_account_t *acct = sk_account_set_get(set, id);
        cr_assert_not_null(acct);
        res->json[a] = sk_scores_to_json(acct, r);
    }
    sk_account_set_destroy(set);
    sk_alerts_free(alerts);
}

static int64_t end_time(void)
{
    return events[N_EVENTS - 1].ts_ms + 45 * SK_DAY_MS;
}

/* The reference: one pass in stream order. */
static void single_pass(result_t *res)
{
    const sk_rules_t *r = sk_test_rules();
    sk_account_set_t *set = sk_account_set_new();
    sk_alerts_t alerts = {0};
    memset(res, 0, sizeof *res);
    for (int i = 0; i < N_EVENTS; i++) {
        cr_assert_neq(sk_account_set_apply(set, r, &events[i], &alerts), SK_ERR);
        collect(res, &alerts);
    }
    finish(res, set, end_time(), &alerts);
}

static void assert_same(const result_t *a, const result_t *b)
{
    for (int i = 0; i < N_ACCOUNTS; i++) {
        cr_assert_str_eq(a->json[i], b->json[i]);
        cr_assert_eq(a->n_ids[i], b->n_ids[i], "account %d: %d vs %d alerts", i,
                     a->n_ids[i], b->n_ids[i]);
        for (int k = 0; k < a->n_ids[i]; k++)
            cr_assert_str_eq(a->ids[i][k], b->ids[i][k]);
    }
}

static void free_result(result_t *res)
{
    for (int i = 0; i < N_ACCOUNTS; i++)
        free(res->json[i]);
}

static result_t reference, other;

static void setup(void)
{
    make_stream();
    single_pass(&reference);
    memset(&other, 0, sizeof other);
}

static void teardown(void)
{
    free_result(&reference);
    free_result(&other);
}

TestSuite(batching, .init = setup, .fini = teardown);

Test(batching, reference_is_not_trivial)
{
    int total = 0;
    for (int i = 0; i < N_ACCOUNTS; i++)
        total += reference.n_ids[i];
    cr_assert_gt(total, 100, "the stream should cause many alerts (%d)", total);
}

Test(batching, accounts_one_after_another)
{
    const sk_rules_t *r = sk_test_rules();
    sk_account_set_t *set = sk_account_set_new();
    sk_alerts_t alerts = {0};
    for (int a = N_ACCOUNTS - 1; a >= 0; a--) {
        char id[16];
        snprintf(id, sizeof id, "acct%02d", a);
        for (int i = 0; i < N_EVENTS; i++) {
            if (strcmp(events[i].account, id) != 0)
                continue;
            sk_account_set_apply(set, r, &events[i], &alerts);
            collect(&other, &alerts);
        }
    }
    finish(&other, set, end_time(), &alerts);
    assert_same(&reference, &other);
}

Test(batching, evaluated_between_batches)
{
    /* As the daemon does: after every batch, advance every account to
     * the latest event time seen. */
    const sk_rules_t *r = sk_test_rules();
    sk_account_set_t *set = sk_account_set_new();
    sk_alerts_t alerts = {0};
    for (int i = 0; i < N_EVENTS; i++) {
        sk_account_set_apply(set, r, &events[i], &alerts);
        if (i % 37 == 0)
            sk_account_set_evaluate(set, r, events[i].ts_ms, &alerts);
        collect(&other, &alerts);
    }
    finish(&other, set, end_time(), &alerts);
    assert_same(&reference, &other);
}

Test(batching, through_the_stored_form)
{
    /* Every 500 events, every account is encoded, freed and decoded. */
    const sk_rules_t *r = sk_test_rules();
    sk_account_set_t *set = sk_account_set_new();
    sk_alerts_t alerts = {0};
    for (int i = 0; i < N_EVENTS; i++) {
        sk_account_set_apply(set, r, &events[i], &alerts);
        collect(&other, &alerts);
        if (i % 500 != 499)
            continue;
        size_t n;
        sk_account_t **accts = sk_account_set_sorted(set, &n);
        sk_account_set_t *fresh = sk_account_set_new();
        for (size_t k = 0; k < n; k++) {
            msgpack_sbuffer buf;
            msgpack_sbuffer_init(&buf);
            cr_assert_eq(sk_state_encode(accts[k], &buf), SK_OK);
            char err[SK_ERRSTR_LEN];
            sk_account_t *copy =
                sk_state_decode(buf.data, buf.size, r, err, sizeof err);
            cr_assert_not_null(copy, "decode: %s", err);
            sk_account_t *slot = sk_account_set_upsert(fresh, copy->id, r);
            /* Replace the fresh account's contents with the decoded one. */
            free(slot->days);
            free(slot->seen);
            *slot = *copy;
            free(copy);
            msgpack_sbuffer_destroy(&buf);
        }
        free(accts);
        sk_account_set_destroy(set);
        set = fresh;
    }
    finish(&other, set, end_time(), &alerts);
    assert_same(&reference, &other);
}

Test(batching, encode_decode_is_exact)
{
    const sk_rules_t *r = sk_test_rules();
    sk_account_set_t *set = sk_account_set_new();
    sk_alerts_t alerts = {0};
    for (int i = 0; i < N_EVENTS; i++)
        sk_account_set_apply(set, r, &events[i], &alerts);
    size_t n;
    sk_account_t **accts = sk_account_set_sorted(set, &n);
    for (size_t k = 0; k < n; k++) {
        msgpack_sbuffer a, b;
        msgpack_sbuffer_init(&a);
        msgpack_sbuffer_init(&b);
        sk_state_encode(accts[k], &a);
        char err[SK_ERRSTR_LEN];
        sk_account_t *copy = sk_state_decode(a.data, a.size, r, err, sizeof err);
        cr_assert_not_null(copy, "%s", err);
        sk_state_encode(copy, &b);
        cr_assert_eq(a.size, b.size);
        cr_assert_eq(memcmp(a.data, b.data, a.size), 0);
        cr_assert_eq(memcmp(copy->points_by_type, accts[k]->points_by_type,
                            sizeof copy->points_by_type),
                     0, "lifetime points by type survive");
        char *j1 = sk_scores_to_json(accts[k], r), *j2 = sk_scores_to_json(copy, r);
        cr_assert_str_eq(j1, j2);
        free(j1);
        free(j2);
        sk_account_destroy(copy);
        msgpack_sbuffer_destroy(&a);
        msgpack_sbuffer_destroy(&b);
    }
    free(accts);
    sk_account_set_destroy(set);
    sk_alerts_free(&alerts);
}
