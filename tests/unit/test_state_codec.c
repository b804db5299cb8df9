/*
 * test_state_codec.c - an account survives the trip through its Redis
 * blob exactly, a corrupt blob is refused with a message (never a crash
 * or a huge allocation), and a blob written by an earlier version is
 * still read: tests/fixtures/state-v1.bin is a frozen format-1 blob of
 * v1_account() below, state-v2.bin a frozen format-2 blob of
 * v2_account().
 *
 * A fixture is written once, by the version that introduced it, and
 * never again: a new layout is a new format version with its own
 * fixture.  SK_WRITE_FIXTURES=1 ./test_state_codec writes the fixture
 * of the current version (only when introducing it) and the state
 * fuzzer's seed corpus.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <msgpack.h>

#include "scorekeeper/state_codec.h"
#include "support.h"

#define FIXTURE_V1 "tests/fixtures/state-v1.bin"
#define FIXTURE_V2 "tests/fixtures/state-v2.bin"
#define SEEN_CAP 8

static sk_rules_t rules_with_ids(int ids)
{
    sk_rules_t r;
    memset(&r, 0, sizeof r);
    r.window_days = 30;
    r.dedup_horizon_days = 7;
    r.dedup_max_ids = ids;
    return r;
}

/* An account as sk_account_new() leaves it, allocated the same way. */
static sk_account_t *empty_account(const char *id, int cap_seen)
{
    sk_account_t *a = calloc(1, sizeof *a);
    cr_assert_not_null(a);
    snprintf(a->id, sizeof a->id, "%s", id);
    a->last_login_day = SK_ACCOUNT_NO_DAY;
    a->first_api_call_day = SK_ACCOUNT_NO_DAY;
    a->last_response_ms = INT64_MIN;
    a->last_nps_ms = INT64_MIN;
    a->last_nps = -1;
    a->high_since_ms = INT64_MIN;
    if (cap_seen > 0) {
        a->seen = calloc((size_t)cap_seen, sizeof *a->seen);
        cr_assert_not_null(a->seen);
        a->cap_seen = cap_seen;
    }
    return a;
}

/* A zeroed array of @p n entries of @p size bytes for one of the heap
 * sets of an account. */
static void *entries(int n, size_t size)
{
    void *v = calloc((size_t)n, size);
    cr_assert_not_null(v);
    return v;
}

static char *topic_of(const char *name)
{
    char *t = strdup(name);
    cr_assert_not_null(t);
    return t;
}

/*
 * Every field of the state holding a value other than its empty one.
 * FROZEN: tests/fixtures/state-v1.bin is this account; change it only
 * together with a new format version.
 */
static sk_account_t *v1_account(void)
{
    sk_account_t *a = empty_account("acme-corp:eu@prod_1", SEEN_CAP);
    a->clock_ms = INT64_C(1772496000000);   /* 2026-03-03T00:00:00Z */
    a->updated_ms = INT64_C(1772445600000); /* 2026-03-02T10:00:00Z */
    a->points = -1234567890123;
    a->events_applied = UINT64_C(18446744073709551000);
    for (int t = 0; t < SK_EV__COUNT; t++)
        a->points_by_type[t] = t % 3 == 0 ? 0 : (t - 12) * 30;

    a->n_days = 3;
    a->cap_days = 4;
    a->days = calloc((size_t)a->cap_days, sizeof *a->days);
    cr_assert_not_null(a->days);
    sk_day_bucket_t *d = &a->days[0];
    d->day = 20513; /* every field set, largest values */
    d->logins = 65535;
    d->usage_events = 1;
    d->usage_minutes = 12345.678;
    d->meetings = 2;
    d->strategic_meetings = 3;
    d->meeting_quality = 4294967295u;
    d->missed = 4;
    d->emails = 5;
    d->tickets = 6;
    d->trainings = 7;
    d->outreach = 8;
    d->responses = 9;
    d->qbr_declined = 10;
    d->payment_failed = 11;
    d->cancellation_views = 12;
    d->executive_events = 13;
    d->customer_points = -37.5;
    d->upsell = 0x0f;
    a->days[1].day = 20514; /* sparse */
    a->days[1].usage_minutes = 90;
    a->days[1].customer_points = -0.0;
    a->days[2].day = 20540; /* empty but present */

    a->n_login_months = a->cap_login_months = 3;
    a->login_months = entries(3, sizeof *a->login_months);
    a->login_months[0] = 2026 * 12 + 0;
    a->login_months[1] = 2026 * 12 + 1;
    a->login_months[2] = 2026 * 12 + 2;
    a->last_login_day = 20514;
    a->api_call_seen = true;

    a->n_features = a->cap_features = 2;
    a->features = entries(2, sizeof *a->features);
    a->features[0].hash = UINT64_C(0xfedcba9876543210);
    a->features[0].last_day = 20513;
    a->features[1].hash = 1;
    a->features[1].last_day = -5;

    a->n_people = a->cap_people = SK_PERSON__COUNT;
    a->people = entries(SK_PERSON__COUNT, sizeof *a->people);
    for (int i = 0; i < SK_PERSON__COUNT; i++) {
        a->people[i].hash = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(i + 1);
        a->people[i].last_day = 20500 + i;
        a->people[i].kind = (uint8_t)i;
    }

    a->n_open_cancels = a->cap_open_cancels = 2;
    a->open_cancels = entries(2, sizeof *a->open_cancels);
    a->open_cancels[0] = INT64_C(1772100000000);
    a->open_cancels[1] = INT64_C(1772200000000);
    a->n_outreach = a->cap_outreach = 1;
    a->outreach = entries(1, sizeof *a->outreach);
    a->outreach[0] = INT64_C(1772300000000);
    a->last_response_ms = INT64_C(1772000000000);
    a->n_responses = a->cap_responses = 2;
    a->responses = entries(2, sizeof *a->responses);
    a->responses[0].day = 20480;
    a->responses[0].hours = 0.1f;
    a->responses[1].day = 20490;
    a->responses[1].hours = 96.0f;
    a->last_nps_ms = INT64_C(1771000000000);
    a->last_nps = 0;
    a->high_since_ms = INT64_C(1760000000000);

    /* a full ring that has wrapped: the oldest id is in slot 3 */
    for (int i = 0; i < SEEN_CAP; i++) {
        a->seen[i].hash = UINT64_C(0x1000) + (uint64_t)i;
        a->seen[i].ts_ms = INT64_C(1772400000000) + i;
    }
    a->n_seen = SEEN_CAP;
    a->seen_next = 3;

    char longest[SK_TOPIC_MAX + 1];
    memset(longest, 't', SK_TOPIC_MAX);
    longest[SK_TOPIC_MAX] = '\0';
    a->n_positions = a->cap_positions = 2;
    a->positions = entries(2, sizeof *a->positions);
    a->positions[0].topic = topic_of("telemetry");
    a->positions[0].partition = 0;
    a->positions[0].offset = INT64_C(9000000000);
    a->positions[1].topic = topic_of(longest);
    a->positions[1].partition = 2147483647;
    a->positions[1].offset = -1;

    a->reported.stage = 1000;
    a->reported.eng_tier = SK_TIER_RED;
    a->reported.segment = SK_SEGMENT_STEADY;
    a->reported.health = SK_HEALTH_HEALTHY;
    a->reported.flags = (1u << SK_FLAG_USAGE_DROP) | (1u << SK_FLAG_DETRACTOR);
    a->reported.flag_since[SK_FLAG_USAGE_DROP] = INT64_C(1772409600000);
    a->reported.flag_since[SK_FLAG_DETRACTOR] = INT64_C(1772409600001);
    return a;
}

static void encode(const sk_account_t *a, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    cr_assert_eq(sk_state_encode(a, sb), SK_OK);
}

static sk_account_t *decode(const void *p, size_t len, int ids)
{
    sk_rules_t r = rules_with_ids(ids);
    char err[SK_ERRSTR_LEN] = "";
    sk_account_t *a = sk_state_decode(p, len, &r, err, sizeof err);
    cr_assert_not_null(a, "decode: %s", err);
    return a;
}

/* The id at age @p i (0 = oldest) of the ring. */
static const sk_seen_id_t *seen_at(const sk_account_t *a, int i)
{
    int oldest = a->n_seen == a->cap_seen ? a->seen_next : 0;
    return &a->seen[(oldest + i) % a->cap_seen];
}

/* Clear what is not state: capacities, pointers (whose entries are
 * compared one by one), the bytes after the id. */
static void normalize(sk_account_t *u)
{
    u->days = NULL;
    u->seen = NULL;
    u->login_months = NULL;
    u->features = NULL;
    u->people = NULL;
    u->open_cancels = NULL;
    u->outreach = NULL;
    u->responses = NULL;
    u->positions = NULL;
    u->cap_days = u->cap_seen = u->seen_next = 0;
    u->cap_login_months = u->cap_features = u->cap_people = 0;
    u->cap_open_cancels = u->cap_outreach = u->cap_responses = 0;
    u->cap_positions = 0;
    size_t len = strlen(u->id);
    memset(u->id + len, 0, sizeof u->id - len);
}

/*
 * Every field equal.  Capacities are allocation details and not part of
 * the state.  With @p bytewise (accounts built from zeroed memory, as
 * the engine and the decoder both do) the rest is also compared byte for
 * byte, so a field added to sk_account_t later and forgotten by the
 * codec fails here.
 */
static void expect_same_account(const sk_account_t *x, const sk_account_t *y,
                                bool bytewise)
{
    cr_expect_str_eq(x->id, y->id);
    cr_expect_eq(x->clock_ms, y->clock_ms);
    cr_expect_eq(x->updated_ms, y->updated_ms);
    cr_expect_eq(x->points, y->points);
    cr_expect_eq(x->events_applied, y->events_applied);
    for (int t = 0; t < SK_EV__COUNT; t++)
        cr_expect_eq(x->points_by_type[t], y->points_by_type[t], "type %d", t);
    cr_assert_eq(x->n_days, y->n_days);
    for (int i = 0; i < x->n_days; i++) {
        const sk_day_bucket_t *p = &x->days[i], *q = &y->days[i];
        cr_expect_eq(p->day, q->day);
        cr_expect_eq(p->logins, q->logins);
        cr_expect_eq(p->usage_events, q->usage_events);
        cr_expect(p->usage_minutes == q->usage_minutes);
        cr_expect_eq(signbit(p->customer_points), signbit(q->customer_points));
        cr_expect(p->customer_points == q->customer_points);
        cr_expect_eq(p->meetings, q->meetings);
        cr_expect_eq(p->strategic_meetings, q->strategic_meetings);
        cr_expect_eq(p->meeting_quality, q->meeting_quality);
        cr_expect_eq(p->missed, q->missed);
        cr_expect_eq(p->emails, q->emails);
        cr_expect_eq(p->tickets, q->tickets);
        cr_expect_eq(p->trainings, q->trainings);
        cr_expect_eq(p->outreach, q->outreach);
        cr_expect_eq(p->responses, q->responses);
        cr_expect_eq(p->qbr_declined, q->qbr_declined);
        cr_expect_eq(p->payment_failed, q->payment_failed);
        cr_expect_eq(p->cancellation_views, q->cancellation_views);
        cr_expect_eq(p->executive_events, q->executive_events);
        cr_expect_eq(p->upsell, q->upsell);
        if (bytewise)
            cr_expect_eq(memcmp(p, q, sizeof *p), 0, "day bucket %d", i);
    }
    cr_expect_eq(x->n_login_months, y->n_login_months);
    for (int i = 0; i < x->n_login_months && i < y->n_login_months; i++)
        cr_expect_eq(x->login_months[i], y->login_months[i], "month %d", i);
    cr_expect_eq(x->last_login_day, y->last_login_day);
    cr_expect_eq(x->api_call_seen, y->api_call_seen);
    cr_expect_eq(x->n_features, y->n_features);
    for (int i = 0; i < x->n_features && i < y->n_features; i++) {
        cr_expect_eq(x->features[i].hash, y->features[i].hash);
        cr_expect_eq(x->features[i].last_day, y->features[i].last_day);
        cr_expect_eq(x->features[i].first_day, y->features[i].first_day);
    }
    cr_expect_eq(x->first_api_call_day, y->first_api_call_day);
    cr_expect_eq(x->n_people, y->n_people);
    for (int i = 0; i < x->n_people && i < y->n_people; i++) {
        cr_expect_eq(x->people[i].hash, y->people[i].hash);
        cr_expect_eq(x->people[i].last_day, y->people[i].last_day);
        cr_expect_eq(x->people[i].kind, y->people[i].kind);
    }
    cr_expect_eq(x->n_open_cancels, y->n_open_cancels);
    for (int i = 0; i < x->n_open_cancels && i < y->n_open_cancels; i++)
        cr_expect_eq(x->open_cancels[i], y->open_cancels[i]);
    cr_expect_eq(x->n_outreach, y->n_outreach);
    for (int i = 0; i < x->n_outreach && i < y->n_outreach; i++)
        cr_expect_eq(x->outreach[i], y->outreach[i]);
    cr_expect_eq(x->last_response_ms, y->last_response_ms);
    cr_expect_eq(x->n_responses, y->n_responses);
    for (int i = 0; i < x->n_responses && i < y->n_responses; i++) {
        cr_expect_eq(x->responses[i].day, y->responses[i].day);
        cr_expect(x->responses[i].hours == y->responses[i].hours);
    }
    cr_expect_eq(x->last_nps_ms, y->last_nps_ms);
    cr_expect_eq(x->last_nps, y->last_nps);
    cr_expect_eq(x->high_since_ms, y->high_since_ms);
    cr_assert_eq(x->n_seen, y->n_seen);
    for (int i = 0; i < x->n_seen; i++) {
        cr_expect_eq(seen_at(x, i)->hash, seen_at(y, i)->hash);
        cr_expect_eq(seen_at(x, i)->ts_ms, seen_at(y, i)->ts_ms);
    }
    cr_expect_eq(x->n_positions, y->n_positions);
    for (int i = 0; i < x->n_positions && i < y->n_positions; i++) {
        cr_expect_str_eq(x->positions[i].topic, y->positions[i].topic);
        cr_expect_eq(x->positions[i].partition, y->positions[i].partition);
        cr_expect_eq(x->positions[i].offset, y->positions[i].offset);
    }
    cr_expect_eq(x->reported.stage, y->reported.stage);
    cr_expect_eq(x->reported.eng_tier, y->reported.eng_tier);
    cr_expect_eq(x->reported.segment, y->reported.segment);
    cr_expect_eq(x->reported.health, y->reported.health);
    cr_expect_eq(x->reported.flags, y->reported.flags);
    for (int f = 0; f < SK_FLAG__COUNT; f++)
        cr_expect_eq(x->reported.flag_since[f], y->reported.flag_since[f]);

    /* The ring's rotation and spare room are not state: a decoded ring
     * is unrolled, oldest first, with room for what it holds, as is
     * each decoded set. */
    cr_expect_leq(y->n_seen, y->cap_seen);
    cr_expect_leq(y->n_login_months, y->cap_login_months);
    cr_expect_leq(y->n_features, y->cap_features);
    cr_expect_leq(y->n_people, y->cap_people);
    cr_expect_leq(y->n_open_cancels, y->cap_open_cancels);
    cr_expect_leq(y->n_outreach, y->cap_outreach);
    cr_expect_leq(y->n_responses, y->cap_responses);
    cr_expect_leq(y->n_positions, y->cap_positions);
    if (!bytewise)
        return;
    sk_account_t u, v;
    memcpy(&u, x, sizeof u);
    memcpy(&v, y, sizeof v);
    normalize(&u);
    normalize(&v);
    cr_expect_eq(memcmp(&u, &v, sizeof u), 0,
                 "the accounts differ in a field not compared above");
}

static void expect_same_bytes(const msgpack_sbuffer *a,
                              const msgpack_sbuffer *b)
{
    cr_assert_eq(a->size, b->size, "%zu bytes, then %zu", a->size, b->size);
    cr_expect_eq(memcmp(a->data, b->data, a->size), 0, "bytes differ");
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    unsigned char *data = malloc(SK_STATE_MAX_BYTES);
    cr_assert_not_null(data);
    *len = fread(data, 1, SK_STATE_MAX_BYTES, f);
    fclose(f);
    return data;
}

static void write_file(const char *rel, const void *data, size_t len)
{
    FILE *f = fopen(sk_test_path(rel), "wb");
    cr_assert_not_null(f, "cannot write %s", rel);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Decoding must fail, with a message containing @p needle. */
static void expect_refused(const msgpack_sbuffer *sb, const char *needle)
{
    sk_rules_t r = rules_with_ids(SEEN_CAP);
    char err[SK_ERRSTR_LEN] = "";
    sk_account_t *a = sk_state_decode(sb->data, sb->size, &r, err, sizeof err);
    cr_expect_null(a, "a corrupt blob was accepted (%s)", needle);
    sk_account_destroy(a);
    cr_expect_not_null(strstr(err, needle), "message \"%s\" lacks \"%s\"", err,
                       needle);
}

/* ---- round trips --------------------------------------------------------- */

Test(state_codec, populated_round_trip)
{
    sk_account_t *a = v1_account();
    msgpack_sbuffer one, two;
    encode(a, &one);
    sk_account_t *b = decode(one.data, one.size, SEEN_CAP);
    expect_same_account(a, b, true);
    encode(b, &two);
    expect_same_bytes(&one, &two);
    msgpack_sbuffer_destroy(&one);
    msgpack_sbuffer_destroy(&two);
    sk_account_destroy(a);
    sk_account_destroy(b);
}

Test(state_codec, empty_account_is_small)
{
    sk_account_t *a = empty_account("acme", SEEN_CAP);
    msgpack_sbuffer one, two;
    encode(a, &one);
    /* [1, {"id": "acme"}] */
    const unsigned char want[] = {0x92, SK_STATE_FORMAT_VERSION, 0x81, 0xa2, 'i', 'd',
                                  0xa4, 'a',  'c',  'm',  'e'};
    cr_assert_eq(one.size, sizeof want);
    cr_expect_eq(memcmp(one.data, want, sizeof want), 0);
    sk_account_t *b = decode(one.data, one.size, SEEN_CAP);
    expect_same_account(a, b, true);
    cr_expect_eq(b->cap_seen, 0, "no ids: no ring until one is remembered");
    cr_expect_null(b->seen);
    cr_expect_eq(b->n_days, 0);
    encode(b, &two);
    expect_same_bytes(&one, &two);
    msgpack_sbuffer_destroy(&one);
    msgpack_sbuffer_destroy(&two);
    sk_account_destroy(a);
    sk_account_destroy(b);
}

Test(state_codec, round_trip_with_the_real_engine)
{
    const sk_rules_t *rules = sk_test_rules();
    sk_account_t *a = sk_account_new("acme", rules);
    sk_alerts_t alerts = {0};
    cr_assert_not_null(a);
    const sk_event_type_t types[] = {SK_EV_LOGIN,
                                     SK_EV_USAGE,
                                     SK_EV_MEETING_ATTENDED,
                                     SK_EV_NPS,
                                     SK_EV_FEATURE_USED,
                                     SK_EV_CSM_OUTREACH,
                                     SK_EV_CUSTOMER_RESPONSE};
    for (int i = 0; i < 40; i++) {
        char iso[32];
        snprintf(iso, sizeof iso, "2026-03-%02dT10:00:00Z", 1 + i % 28);
        sk_event_t ev = sk_test_event("acme", types[i % 7], iso);
        ev.has_value = true;
        ev.value = i % 7 == 3 ? 8 : 30 + i;
        snprintf(ev.user, sizeof ev.user, "user-%d", i % 4);
        snprintf(ev.label, sizeof ev.label, "feature-%d", i % 5);
        ev.role = (sk_role_t)(i % SK_ROLE__COUNT);
        ev.attrs = (unsigned)i & 0x1f;
        cr_assert_neq(sk_account_apply(a, rules, &ev, &alerts), SK_ERR);
    }
    /* the engine filled the parts that matter */
    cr_assert_gt(a->n_days, 0);
    cr_assert_gt(a->n_seen, 0);
    cr_assert_gt(a->n_people, 0);
    cr_assert_gt(a->events_applied, 0);
    msgpack_sbuffer one, two;
    encode(a, &one);
    sk_account_t *b = decode(one.data, one.size, rules->dedup_max_ids);
    expect_same_account(a, b, true);
    encode(b, &two);
    expect_same_bytes(&one, &two);
    msgpack_sbuffer_destroy(&one);
    msgpack_sbuffer_destroy(&two);
    sk_alerts_free(&alerts);
    sk_account_destroy(a);
    sk_account_destroy(b);
}

Test(state_codec, id_ring_follows_the_rules)
{
    sk_account_t *a = v1_account();
    msgpack_sbuffer sb;
    encode(a, &sb);

    /* fewer ids allowed now: the newest are kept, still in order */
    sk_account_t *small = decode(sb.data, sb.size, 3);
    cr_assert_eq(small->cap_seen, 3);
    cr_assert_eq(small->n_seen, 3);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(seen_at(small, i)->hash,
                     seen_at(a, SEEN_CAP - 3 + i)->hash);
    /* more allowed: all kept, oldest first, room to grow */
    sk_account_t *big = decode(sb.data, sb.size, 20);
    cr_assert_geq(big->cap_seen, SEEN_CAP, "room for what it holds");
    cr_assert_leq(big->cap_seen, 20);
    cr_assert_eq(big->n_seen, SEEN_CAP);
    cr_expect_eq(big->seen_next, SEEN_CAP % big->cap_seen);
    for (int i = 0; i < SEEN_CAP; i++)
        cr_expect_eq(seen_at(big, i)->ts_ms, seen_at(a, i)->ts_ms);
    /* none allowed */
    sk_account_t *none = decode(sb.data, sb.size, 0);
    cr_expect_eq(none->n_seen, 0);
    cr_expect_eq(none->cap_seen, 0);
    /* either way, the same ids are written back */
    msgpack_sbuffer again;
    encode(big, &again);
    sk_account_t *back = decode(again.data, again.size, SEEN_CAP);
    cr_assert_eq(back->n_seen, SEEN_CAP);
    for (int i = 0; i < SEEN_CAP; i++)
        cr_expect_eq(seen_at(back, i)->hash, seen_at(a, i)->hash);
    sk_account_destroy(back);

    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&again);
    sk_account_destroy(a);
    sk_account_destroy(small);
    sk_account_destroy(big);
    sk_account_destroy(none);
}

/* ---- the stored blob of format 1 ----------------------------------------- */

/*
 * Format 2 added the first-use days of features and of api calls.
 * FROZEN with tests/fixtures/state-v2.bin.
 */
static sk_account_t *v2_account(void)
{
    sk_account_t *a = v1_account();
    a->features[0].first_day = 20400;
    a->features[1].first_day = -9;
    a->first_api_call_day = 20399;
    return a;
}

Test(state_codec, fixture_v1_is_still_read)
{
    size_t len;
    unsigned char *blob = read_file(sk_test_path(FIXTURE_V1), &len);
    cr_assert_gt(len, 0);
    cr_expect_eq(blob[1], 1, "the fixture is not format 1");
    sk_account_t *got = decode(blob, len, SEEN_CAP);
    sk_account_t *want = v1_account();
    /* Format 1 knew no first-use days: the last use is the best known,
     * and the first api call's day is unknown. */
    for (int i = 0; i < want->n_features; i++)
        want->features[i].first_day = want->features[i].last_day;
    want->first_api_call_day = SK_ACCOUNT_NO_DAY;
    expect_same_account(want, got, true);
    /* a few values spelled out, in case v1_account() is ever edited */
    cr_expect_str_eq(got->id, "acme-corp:eu@prod_1");
    cr_expect_eq(got->points, -1234567890123);
    cr_expect_eq(got->n_days, 3);
    cr_expect_eq(got->days[0].meeting_quality, 4294967295u);
    cr_expect(got->days[0].usage_minutes == 12345.678);
    cr_expect_eq(got->days[2].day, 20540);
    cr_expect_eq(got->people[SK_PERSON_DEPARTMENT].kind, SK_PERSON_DEPARTMENT);
    cr_expect_eq(got->n_seen, 8);
    cr_expect_eq(seen_at(got, 0)->hash, 0x1003);
    cr_expect_eq(got->positions[1].partition, 2147483647);
    cr_expect_eq(got->reported.flag_since[SK_FLAG_DETRACTOR],
                 INT64_C(1772409600001));
    cr_expect_eq(got->features[0].first_day, 20513);
    sk_account_destroy(want);
    sk_account_destroy(got);
    free(blob);
}

Test(state_codec, fixture_v2_is_still_read)
{
    const char *write = getenv("SK_WRITE_FIXTURES");
    if (write && strcmp(write, "1") == 0 && SK_STATE_FORMAT_VERSION == 2) {
        sk_account_t *a = v2_account();
        msgpack_sbuffer sb;
        encode(a, &sb);
        write_file(FIXTURE_V2, sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
        sk_account_destroy(a);
    }
    size_t len;
    unsigned char *blob = read_file(sk_test_path(FIXTURE_V2), &len);
    cr_assert_gt(len, 0);
    cr_expect_eq(blob[1], 2, "the fixture is not format 2");
    sk_account_t *got = decode(blob, len, SEEN_CAP);
    sk_account_t *want = v2_account();
    expect_same_account(want, got, true);
    cr_expect_eq(got->features[0].first_day, 20400);
    cr_expect_eq(got->features[1].first_day, -9);
    cr_expect_eq(got->first_api_call_day, 20399);
    sk_account_destroy(want);
    sk_account_destroy(got);
    free(blob);
}

Test(state_codec, write_fuzz_seeds)
{
    const char *write = getenv("SK_WRITE_FIXTURES");
    if (!write || strcmp(write, "1") != 0)
        return;
    sk_account_t *a = v1_account();
    msgpack_sbuffer sb;
    encode(a, &sb);
    write_file("tests/fuzz/corpus/fuzz_state/populated.bin", sb.data, sb.size);
    write_file("tests/fuzz/corpus/fuzz_state/truncated.bin", sb.data,
               sb.size / 2);
    msgpack_sbuffer_destroy(&sb);
    sk_account_destroy(a);
    a = empty_account("a", 0);
    encode(a, &sb);
    write_file("tests/fuzz/corpus/fuzz_state/empty.bin", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    sk_account_destroy(a);
}

/* ---- corrupt blobs ------------------------------------------------------- */

typedef struct blob {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} blob_t;

/* [1, {"id": "acme", <extra entries follow>}] */
static void blob_start(blob_t *b, int version, size_t extra)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
    msgpack_pack_array(&b->pk, 2);
    msgpack_pack_int(&b->pk, version);
    msgpack_pack_map(&b->pk, 1 + extra);
    msgpack_pack_str_with_body(&b->pk, "id", 2);
    msgpack_pack_str_with_body(&b->pk, "acme", 4);
}

static void key(blob_t *b, const char *k)
{
    msgpack_pack_str_with_body(&b->pk, k, strlen(k));
}

/* A key holding an array of @p n small integers. */
static void int_array(blob_t *b, const char *k, size_t n, int64_t v)
{
    key(b, k);
    msgpack_pack_array(&b->pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_int64(&b->pk, v);
}

Test(state_codec, truncated_blobs)
{
    sk_account_t *a = v1_account();
    msgpack_sbuffer sb;
    sk_rules_t r = rules_with_ids(SEEN_CAP);
    encode(a, &sb);
    for (size_t n = 0; n < sb.size; n++) {
        char err[SK_ERRSTR_LEN] = "";
        sk_account_t *b = sk_state_decode(sb.data, n, &r, err, sizeof err);
        cr_expect_null(b, "a %zu-byte prefix was accepted", n);
        cr_expect_gt(strlen(err), 0);
        sk_account_destroy(b);
    }
    msgpack_sbuffer_destroy(&sb);
    sk_account_destroy(a);
}

Test(state_codec, wrong_version_and_shape)
{
    blob_t b;
    blob_start(&b, 3, 0);
    expect_refused(&b.sb, "format version 3");
    msgpack_sbuffer_destroy(&b.sb);
    blob_start(&b, 0, 0);
    expect_refused(&b.sb, "format version 0");
    msgpack_sbuffer_destroy(&b.sb);

    const unsigned char not_array[] = {0x81, 0xa2, 'i', 'd', 0xa1, 'a'};
    msgpack_sbuffer sb = {sizeof not_array, (char *)not_array, 0};
    expect_refused(&sb, "unexpected type");
    const unsigned char short_array[] = {0x91, 0x01};
    sb = (msgpack_sbuffer){sizeof short_array, (char *)short_array, 0};
    expect_refused(&sb, "[version, fields]");
    const unsigned char lying[] = {0xdd, 0xff, 0x00, 0x00, 0x00};
    sb = (msgpack_sbuffer){sizeof lying, (char *)lying, 0};
    expect_refused(&sb, "state blob");
    const unsigned char no_id[] = {0x92, 0x01, 0x80};
    sb = (msgpack_sbuffer){sizeof no_id, (char *)no_id, 0};
    expect_refused(&sb, "no account id");

    blob_start(&b, 1, 0);
    msgpack_pack_nil(&b.pk);
    expect_refused(&b.sb, "trailing");
    msgpack_sbuffer_destroy(&b.sb);

    /* bigger than the limit, before anything is read */
    char *huge = calloc(1, SK_STATE_MAX_BYTES + 1);
    sb = (msgpack_sbuffer){SK_STATE_MAX_BYTES + 1, huge, 0};
    expect_refused(&sb, "at most");
    free(huge);
}

Test(state_codec, counts_over_capacity)
{
    blob_t b;
    const struct {
        const char *key;
        size_t n;
        int64_t v;
    } cases[] = {
        {"lm", SK_ACCOUNT_MAX_MONTHS + 1, 1},
        {"f", 2 * (SK_ACCOUNT_MAX_FEATURES + 1), 1},
        {"pe", 3 * (SK_ACCOUNT_MAX_PEOPLE + 1), 1},
        {"oc", SK_ACCOUNT_MAX_CANCELS + 1, 1},
        {"or", SK_ACCOUNT_MAX_OUTREACH + 1, 1},
        {"rs", 2 * (SK_ACCOUNT_MAX_RESPONSES + 1), 1},
        {"po", 3 * (SK_ACCOUNT_MAX_POSITIONS + 1), 1},
        {"pt", 2 * (SK_EV__COUNT + 1), 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        blob_start(&b, 1, 1);
        int_array(&b, cases[i].key, cases[i].n, cases[i].v);
        expect_refused(&b.sb, "more than");
        msgpack_sbuffer_destroy(&b.sb);
    }
    /* day buckets: at most two of the longest windows */
    blob_start(&b, 1, 1);
    key(&b, "d");
    msgpack_pack_array(&b.pk, 2 * SK_RULES_MAX_WINDOW_DAYS + 1);
    for (int i = 0; i < 2 * SK_RULES_MAX_WINDOW_DAYS + 1; i++) {
        msgpack_pack_array(&b.pk, 2);
        msgpack_pack_int(&b.pk, i);
        msgpack_pack_int(&b.pk, 0);
    }
    expect_refused(&b.sb, "more than 180 day buckets");
    msgpack_sbuffer_destroy(&b.sb);
    /* a count that the bytes cannot hold is refused before allocation */
    blob_start(&b, 1, 1);
    key(&b, "d");
    msgpack_sbuffer_write(&b.sb, "\xdd\x00\x00\x00\x64", 5);
    expect_refused(&b.sb, "truncated");
    msgpack_sbuffer_destroy(&b.sb);
    blob_start(&b, 1, 1);
    key(&b, "s");
    msgpack_sbuffer_write(&b.sb, "\xdd\x7f\xff\xff\xfe", 5);
    expect_refused(&b.sb, "truncated");
    msgpack_sbuffer_destroy(&b.sb);
    /* records must be whole */
    blob_start(&b, 1, 1);
    int_array(&b, "f", 3, 1);
    expect_refused(&b.sb, "multiple of 2");
    msgpack_sbuffer_destroy(&b.sb);
}

Test(state_codec, values_out_of_range)
{
    blob_t b;
    /* a person of an unknown kind */
    blob_start(&b, 1, 1);
    key(&b, "pe");
    msgpack_pack_array(&b.pk, 3);
    msgpack_pack_uint64(&b.pk, 1);
    msgpack_pack_int(&b.pk, 1);
    msgpack_pack_int(&b.pk, SK_PERSON__COUNT);
    expect_refused(&b.sb, "out of range");
    msgpack_sbuffer_destroy(&b.sb);
    /* a health tier, engagement tier, segment or flag that does not exist */
    const char *rkeys[] = {"h", "et", "sg", "fl"};
    const int64_t rvals[] = {SK_HEALTH__COUNT, SK_TIER__COUNT,
                             SK_SEGMENT__COUNT, INT64_C(1) << SK_FLAG__COUNT};
    for (int i = 0; i < 4; i++) {
        blob_start(&b, 1, 1);
        key(&b, "r");
        msgpack_pack_map(&b.pk, 1);
        key(&b, rkeys[i]);
        msgpack_pack_int64(&b.pk, rvals[i]);
        expect_refused(&b.sb, "out of range");
        msgpack_sbuffer_destroy(&b.sb);
    }
    blob_start(&b, 1, 1);
    key(&b, "r");
    msgpack_pack_map(&b.pk, 1);
    key(&b, "fs");
    msgpack_pack_array(&b.pk, 2);
    msgpack_pack_int(&b.pk, SK_FLAG__COUNT);
    msgpack_pack_int(&b.pk, 1);
    expect_refused(&b.sb, "out of range");
    msgpack_sbuffer_destroy(&b.sb);
    /* a counter past its type */
    blob_start(&b, 1, 1);
    key(&b, "d");
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_array(&b.pk, 3);
    msgpack_pack_int(&b.pk, 20000);
    msgpack_pack_int(&b.pk, 1); /* logins */
    msgpack_pack_int(&b.pk, 65536);
    expect_refused(&b.sb, "65536 is out of range");
    msgpack_sbuffer_destroy(&b.sb);
    /* a mask promising more values than there are */
    blob_start(&b, 1, 1);
    key(&b, "d");
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_array(&b.pk, 3);
    msgpack_pack_int(&b.pk, 20000);
    msgpack_pack_int(&b.pk, 3);
    msgpack_pack_int(&b.pk, 1);
    expect_refused(&b.sb, "shorter than its mask");
    msgpack_sbuffer_destroy(&b.sb);
    /* NaN minutes */
    blob_start(&b, 1, 1);
    key(&b, "d");
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_array(&b.pk, 3);
    msgpack_pack_int(&b.pk, 20000);
    msgpack_pack_int(&b.pk, 4); /* usage_minutes */
    msgpack_pack_double(&b.pk, NAN);
    expect_refused(&b.sb, "finite");
    msgpack_sbuffer_destroy(&b.sb);
    /* days out of order */
    blob_start(&b, 1, 1);
    key(&b, "d");
    msgpack_pack_array(&b.pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_array(&b.pk, 2);
        msgpack_pack_int(&b.pk, 20000);
        msgpack_pack_int(&b.pk, 0);
    }
    expect_refused(&b.sb, "ascending");
    msgpack_sbuffer_destroy(&b.sb);
    /* a day beyond int32 */
    blob_start(&b, 1, 1);
    key(&b, "ll");
    msgpack_pack_int64(&b.pk, INT64_C(1) << 40);
    expect_refused(&b.sb, "out of range");
    msgpack_sbuffer_destroy(&b.sb);
    /* an NPS that cannot be */
    blob_start(&b, 1, 1);
    key(&b, "nv");
    msgpack_pack_int(&b.pk, 11);
    expect_refused(&b.sb, "out of range");
    msgpack_sbuffer_destroy(&b.sb);
    /* a topic too long */
    blob_start(&b, 1, 1);
    key(&b, "po");
    msgpack_pack_array(&b.pk, 3);
    char topic[SK_TOPIC_MAX + 1];
    memset(topic, 't', sizeof topic);
    msgpack_pack_str_with_body(&b.pk, topic, sizeof topic);
    msgpack_pack_int(&b.pk, 0);
    msgpack_pack_int(&b.pk, 0);
    expect_refused(&b.sb, "topic");
    msgpack_sbuffer_destroy(&b.sb);
    /* a bad account id */
    const unsigned char bad_id[] = {0x92, 0x01, 0x81, 0xa2, 'i',
                                    'd',  0xa3, 'a',  ' ',  'b'};
    msgpack_sbuffer sb = {sizeof bad_id, (char *)bad_id, 0};
    expect_refused(&sb, "account id");
    /* wrong types */
    blob_start(&b, 1, 1);
    key(&b, "c");
    key(&b, "yesterday");
    expect_refused(&b.sb, "unexpected type");
    msgpack_sbuffer_destroy(&b.sb);
    /* a key twice */
    blob_start(&b, 1, 2);
    int_array(&b, "oc", 1, 5);
    int_array(&b, "oc", 1, 5);
    expect_refused(&b.sb, "twice");
    msgpack_sbuffer_destroy(&b.sb);
}

Test(state_codec, unknown_keys_are_skipped)
{
    blob_t b;
    blob_start(&b, 1, 3);
    key(&b, "zz");
    msgpack_pack_map(&b.pk, 1);
    key(&b, "nested");
    msgpack_pack_array(&b.pk, 2);
    msgpack_pack_nil(&b.pk);
    msgpack_pack_bin_with_body(&b.pk, "xy", 2);
    key(&b, "p");
    msgpack_pack_int(&b.pk, 77);
    /* a bucket with a value of a field a newer writer added */
    key(&b, "d");
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_array(&b.pk, 4);
    msgpack_pack_int(&b.pk, 20000);
    msgpack_pack_uint32(&b.pk, 1u | (1u << 30));
    msgpack_pack_int(&b.pk, 2);
    msgpack_pack_str_with_body(&b.pk, "new", 3);
    sk_account_t *a = decode(b.sb.data, b.sb.size, SEEN_CAP);
    cr_expect_eq(a->points, 77);
    cr_expect_eq(a->n_days, 1);
    cr_expect_eq(a->days[0].logins, 2);
    sk_account_destroy(a);
    msgpack_sbuffer_destroy(&b.sb);

    /* too deep is refused even under an unknown key */
    blob_start(&b, 1, 1);
    key(&b, "zz");
    for (int i = 0; i < 100; i++)
        msgpack_pack_array(&b.pk, 1);
    msgpack_pack_nil(&b.pk);
    expect_refused(&b.sb, "nested too deep");
    msgpack_sbuffer_destroy(&b.sb);
}

Test(state_codec, every_flipped_byte_is_safe)
{
    /* not a proof, but cheap: every single-bit change of the populated
     * blob either decodes to an account that encodes again, or fails */
    sk_account_t *a = v1_account();
    msgpack_sbuffer sb;
    sk_rules_t r = rules_with_ids(SEEN_CAP);
    encode(a, &sb);
    unsigned char *copy = malloc(sb.size);
    cr_assert_not_null(copy);
    for (size_t i = 0; i < sb.size; i++) {
        for (int bit = 0; bit < 8; bit++) {
            char err[SK_ERRSTR_LEN];
            memcpy(copy, sb.data, sb.size);
            copy[i] ^= (unsigned char)(1u << bit);
            sk_account_t *b =
                sk_state_decode(copy, sb.size, &r, err, sizeof err);
            if (b) {
                msgpack_sbuffer again;
                encode(b, &again);
                msgpack_sbuffer_destroy(&again);
            }
            sk_account_destroy(b);
        }
    }
    free(copy);
    msgpack_sbuffer_destroy(&sb);
    sk_account_destroy(a);
}
