/*
 * workload.c - the benchmark's event generator (see workload.h).
 *
 * A 64-bit LCG drives every choice, so a seed reproduces the stream
 * exactly.  Account ranks follow a Zipf-Mandelbrot law with exponent 1,
 * P(rank r) ~ 1 / (r + SKEW_OFFSET): the busiest accounts see dozens of
 * times the events of the median one, as in a real customer base, while
 * no single account (whose events all land on one partition) outgrows
 * what the mock cluster keeps per partition.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "workload.h"

#define SKEW_OFFSET 100.0

static uint64_t next_u64(sk_workload_t *w)
{
    w->state = w->state * UINT64_C(6364136223846793005) +
               UINT64_C(1442695040888963407);
    uint64_t x = w->state;
    x ^= x >> 29;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    return x ^ (x >> 32);
}

static double uniform(sk_workload_t *w)
{
    return (double)(next_u64(w) >> 11) / 9007199254740992.0;
}

void sk_workload_init(sk_workload_t *w, uint64_t events, uint64_t accounts,
                      uint64_t seed, int64_t end_ms)
{
    memset(w, 0, sizeof *w);
    w->state = seed * 2 + 1;
    w->accounts = accounts ? accounts : 1;
    w->events = events;
    w->span_ms = 60 * SK_DAY_MS;
    w->start_ms = end_ms - w->span_ms;
    w->log_k = log(1 + (double)w->accounts / SKEW_OFFSET);
}

/* The mix, in parts per thousand. */
static const struct mix {
    sk_event_type_t type;
    int permille;
} mix[] = {
    {SK_EV_LOGIN, 330},          {SK_EV_USAGE, 300},
    {SK_EV_FEATURE_USED, 80},    {SK_EV_PAGE_VIEW, 50},
    {SK_EV_EMAIL_EXCHANGE, 50},  {SK_EV_MEETING_ATTENDED, 30},
    {SK_EV_SUPPORT_TICKET, 25},  {SK_EV_CSM_OUTREACH, 20},
    {SK_EV_CUSTOMER_RESPONSE, 15}, {SK_EV_PAYMENT_SUCCEEDED, 15},
    {SK_EV_API_CALL, 10},        {SK_EV_PLAN_USAGE, 10},
    {SK_EV_SUPPORT_RESOLVED, 10}, {SK_EV_NPS, 8},
    {SK_EV_TRAINING, 7},         {SK_EV_PAYMENT_FAILED, 5},
    {SK_EV_MEETING_MISSED, 5},   {SK_EV_MEETING_CANCELED, 4},
    {SK_EV_MEETING_RESCHEDULED, 3}, {SK_EV_FEEDBACK, 4},
    {SK_EV_SEAT_REQUEST, 2},     {SK_EV_USER_CREATED, 3},
    {SK_EV_QBR_DECLINED, 1},     {SK_EV_REFERRAL, 1},
    {SK_EV_RENEWAL, 2},          {SK_EV_CUSTOMER_RESPONSE, 2},
};

static sk_event_type_t pick_type(sk_workload_t *w)
{
    int total = 0;
    for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++)
        total += mix[i].permille;
    int r = (int)(next_u64(w) % (uint64_t)total);
    for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++) {
        if (r < mix[i].permille)
            return mix[i].type;
        r -= mix[i].permille;
    }
    return SK_EV_LOGIN;
}

static const char *const features[] = {
    "dashboards", "reports", "integrations", "alerts", "api",
    "automation", "sso", "export", "comments", "mobile_app",
};
static const char *const pages[] = {
    "home", "pricing", "advanced_feature", "enterprise_feature", "docs",
    "cancellation",
};
static const char *const feedback[] = {"very_happy", "happy", "neutral",
                                       "not_happy"};
static const char *const depts[] = {"sales", "ops", "finance", "it", "hr"};

static void fill_event(sk_workload_t *w, sk_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    /* Inverse of the law's distribution function. */
    uint64_t rank =
        (uint64_t)(SKEW_OFFSET * (exp(uniform(w) * w->log_k) - 1));
    if (rank >= w->accounts)
        rank = w->accounts - 1;
    snprintf(ev->account, sizeof ev->account, "acct-%06llu",
             (unsigned long long)rank);
    snprintf(ev->id, sizeof ev->id, "ev-%llu", (unsigned long long)w->next);
    ev->ts_ms = w->start_ms +
                (int64_t)((double)w->next / (double)w->events * w->span_ms);
    ev->type = pick_type(w);
    uint64_t r = next_u64(w);
    snprintf(ev->user, sizeof ev->user, "user-%llu",
             (unsigned long long)(r % 6));
    ev->role = (sk_role_t)(1 + (r >> 8) % 4);
    snprintf(ev->dept, sizeof ev->dept, "%s", depts[(r >> 12) % 5]);
    switch (ev->type) {
    case SK_EV_USAGE:
        ev->has_value = true;
        ev->value = (double)((r >> 16) % 150);
        break;
    case SK_EV_PLAN_USAGE:
        ev->has_value = true;
        ev->value = (double)((r >> 16) % 100);
        break;
    case SK_EV_NPS:
        ev->has_value = true;
        ev->value = (double)((r >> 16) % 11);
        break;
    case SK_EV_CUSTOMER_RESPONSE:
        ev->has_value = true;
        ev->value = (double)((r >> 16) % 96);
        break;
    case SK_EV_FEATURE_USED:
        snprintf(ev->label, sizeof ev->label, "%s", features[(r >> 16) % 10]);
        break;
    case SK_EV_PAGE_VIEW:
        snprintf(ev->label, sizeof ev->label, "%s", pages[(r >> 16) % 6]);
        break;
    case SK_EV_FEEDBACK:
        snprintf(ev->label, sizeof ev->label, "%s", feedback[(r >> 16) % 4]);
        break;
    case SK_EV_SUPPORT_RESOLVED:
        snprintf(ev->label, sizeof ev->label, "%s",
                 (r >> 16) % 4 ? "satisfied" : "unsatisfied");
        break;
    case SK_EV_MEETING_ATTENDED:
        ev->attrs = (unsigned)((r >> 16) & 0x1f);
        break;
    default:
        break;
    }
}

static bool is_billing(sk_event_type_t t)
{
    return t == SK_EV_PAYMENT_SUCCEEDED || t == SK_EV_PAYMENT_FAILED ||
           t == SK_EV_RENEWAL;
}

bool sk_workload_next(sk_workload_t *w, sk_workload_msg_t *msg,
                      msgpack_sbuffer *out)
{
    if (w->next >= w->events)
        return false;
    msgpack_sbuffer_clear(out);
    fill_event(w, &msg->ev);
    msg->billing = is_billing(msg->ev.type);
    msg->bad = next_u64(w) % 1000 == 0;
    sk_event_encode_msgpack(&msg->ev, out);
    if (msg->bad) {
        /* Alternate the kinds of damage: truncation, a lying length
         * prefix, and a valid map with an unknown type. */
        switch (w->next % 3) {
        case 0:
            out->size /= 2;
            break;
        case 1:
            msgpack_sbuffer_clear(out);
            msgpack_sbuffer_write(out, "\xdd\xff\x00\x00\x00", 5);
            break;
        default:
            snprintf(msg->ev.id, sizeof msg->ev.id, "bad-%llu",
                     (unsigned long long)w->next);
            msgpack_sbuffer_clear(out);
            msgpack_sbuffer_write(out, "\x81\xa4" "type" "\xa5" "bogus", 12);
            break;
        }
    }
    w->next++;
    return true;
}
