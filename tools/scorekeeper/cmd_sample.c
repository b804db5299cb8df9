/*
 * cmd_sample.c - `scorekeeper sample`: a demo scenario as JSON-lines
 * events, the input of the demo and of the end-to-end tests.
 *
 * Eight named accounts, each with a story that exercises one part of the
 * model (MODEL.md) over the 60 days ending at --now: one that climbs the
 * points stages, one that goes silent (no_login_30d, usage_drop), one that
 * misses meetings, one whose payments fail, one that raises flags and
 * recovers, an upsell candidate, a detractor ignoring outreach, and a
 * single-threaded one.  Every event falls on a day strictly before
 * now's date, so the stories read the same whatever time of day it is.
 *
 * DESIGN: a story says what happens on which day ("days ago"); the seed
 * only moves events within their day and varies minutes a little, never
 * whether a threshold is crossed, so a test can assert on the outcome for
 * any seed.  Events are built as sk_event_t and printed by the core's
 * sk_event_to_json(), so the output is exactly what the decoders accept.
 * The same seed and now give the same bytes; ids are
 * "<account>-s<seed>-<n>".
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "scorekeeper/common.h"
#include "scorekeeper/event.h"
#include "scorekeeper/model.h"

#define SAMPLE_DAYS 60
#define HOUR_MS INT64_C(3600000)

/** A person on the customer's side. */
typedef struct person {
    const char *user; /**< the event's `user` */
    sk_role_t role;   /**< the event's `role` */
    const char *dept; /**< the event's `dept` */
} person_t;

typedef struct sample_event {
    sk_event_t ev; /**< the event */
    size_t seq;    /**< creation order, to keep sorting stable */
} sample_event_t;

/** The scenario being built. */
typedef struct sample {
    sample_event_t *v; /**< owned */
    size_t n, cap;
    uint64_t rng;        /**< splitmix64 state */
    uint64_t seed;       /**< as given, part of every id */
    int32_t today;       /**< UTC day of now */
    unsigned next_id;    /**< per-account id counter */
    const char *account; /**< the story being written */
    int oom;             /**< an allocation failed */
} sample_t;

static uint64_t rnd64(sample_t *s)
{
    uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/** @returns a number in 0..n-1. */
static int rnd(sample_t *s, int n)
{
    return (int)(rnd64(s) % (uint64_t)n);
}

static void begin_story(sample_t *s, const char *account)
{
    s->account = account;
    s->next_id = 0;
}

/*
 * Add an event of the current story @p days_ago days before today, in
 * working hours from @p hour, by @p who (NULL: no user).  @returns the
 * event, to add a value, label or attributes, or NULL when out of memory
 * (then s->oom is set and later calls do nothing).
 */
static sk_event_t *add(sample_t *s, sk_event_type_t type, int days_ago,
                       int hour, const person_t *who)
{
    if (s->oom)
        return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 512;
        sample_event_t *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = 1;
            return NULL;
        }
        s->v = v;
        s->cap = cap;
    }
    sample_event_t *se = &s->v[s->n];
    memset(se, 0, sizeof *se);
    se->seq = s->n++;
    sk_event_t *ev = &se->ev;
    ev->type = type;
    ev->ts_ms = sk_midnight_ms(s->today - days_ago) + hour * HOUR_MS +
                (int64_t)rnd(s, 3600) * 1000;
    snprintf(ev->id, sizeof ev->id, "%s-s%" PRIu64 "-%u", s->account, s->seed,
             ++s->next_id);
    snprintf(ev->account, sizeof ev->account, "%s", s->account);
    if (who) {
        snprintf(ev->user, sizeof ev->user, "%s", who->user);
        snprintf(ev->dept, sizeof ev->dept, "%s", who->dept);
        ev->role = who->role;
    }
    return ev;
}

static void set_value(sk_event_t *ev, double value)
{
    if (ev) {
        ev->has_value = true;
        ev->value = value;
    }
}

static void set_label(sk_event_t *ev, const char *label)
{
    if (ev)
        snprintf(ev->label, sizeof ev->label, "%s", label);
}

static void set_attrs(sk_event_t *ev, unsigned attrs)
{
    if (ev)
        ev->attrs = attrs;
}

static void usage_event(sample_t *s, int days_ago, const person_t *who,
                        int minutes)
{
    set_value(add(s, SK_EV_USAGE, days_ago, 10 + rnd(s, 6), who), minutes);
}

static void feature(sample_t *s, int days_ago, const person_t *who,
                    const char *key)
{
    set_label(add(s, SK_EV_FEATURE_USED, days_ago, 11 + rnd(s, 5), who), key);
}

static void meeting(sample_t *s, int days_ago, const person_t *who,
                    unsigned attrs)
{
    set_attrs(add(s, SK_EV_MEETING_ATTENDED, days_ago, 14, who), attrs);
}

#define GOOD_MEETING                                                           \
    (SK_ATTR_ON_TIME | SK_ATTR_ACTIVE | SK_ATTR_EXECUTIVE |                    \
     SK_ATTR_FOLLOW_THROUGH | SK_ATTR_STRATEGIC)

/* Climbs the points stages: more users, longer sessions, payments and
 * meetings as the weeks go by (stages 100, 500, 1000 and 2000). */
static void story_rising(sample_t *s)
{
    static const person_t p[] = {
        {"ana@northwind.example", SK_ROLE_EXECUTIVE, "leadership"},
        {"ben@northwind.example", SK_ROLE_CHAMPION, "operations"},
        {"cy@northwind.example", SK_ROLE_POWER_USER, "engineering"},
        {"dee@northwind.example", SK_ROLE_END_USER, "sales"},
    };
    static const char *features[] = {"dashboards", "reports", "integrations",
                                     "api", "automation"};
    begin_story(s, "northwind");
    for (int i = 0; i < 4; i++)
        add(s, SK_EV_USER_CREATED, 58, 7, &p[i]);
    for (int d = 57; d >= 1; d -= 3)
        add(s, SK_EV_LOGIN, d, 8, &p[(d / 3) % 4]);
    for (int d = 55; d >= 40; d -= 3)
        usage_event(s, d, &p[1], 35 + rnd(s, 20));
    for (int d = 39; d >= 25; d -= 3)
        usage_event(s, d, &p[2], 70 + rnd(s, 40));
    for (int d = 24; d >= 1; d -= 2)
        usage_event(s, d, &p[2 + d % 2], 125 + rnd(s, 60));
    for (int i = 0; i < 5; i++)
        feature(s, 30 - 5 * i, &p[1 + i % 3], features[i]);
    for (int d = 45; d >= 5; d -= 10)
        meeting(s, d, &p[d % 2], GOOD_MEETING);
    for (int d = 26; d >= 2; d -= 8)
        add(s, SK_EV_EMAIL_EXCHANGE, d, 16, &p[1]);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 50, 2, NULL);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 20, 2, NULL);
    set_label(add(s, SK_EV_FEEDBACK, 10, 15, &p[0]), "happy");
    add(s, SK_EV_TRAINING, 12, 15, &p[3]);
}

/* Goes silent: active for three weeks, then nothing for 38 days
 * (no_login_30d, usage_drop). */
static void story_silent(sample_t *s)
{
    static const person_t p[] = {
        {"eve@bluebird.example", SK_ROLE_CHAMPION, "operations"},
        {"finn@bluebird.example", SK_ROLE_END_USER, "finance"},
    };
    begin_story(s, "bluebird");
    add(s, SK_EV_USER_CREATED, 59, 7, &p[0]);
    add(s, SK_EV_USER_CREATED, 59, 7, &p[1]);
    for (int d = 59; d >= 38; d -= 2) {
        add(s, SK_EV_LOGIN, d, 8, &p[d % 2]);
        usage_event(s, d, &p[d % 2], 40 + rnd(s, 30));
    }
    feature(s, 50, &p[0], "dashboards");
    feature(s, 44, &p[1], "export");
    add(s, SK_EV_PAYMENT_SUCCEEDED, 45, 2, NULL);
}

/* Misses meetings: one missed and one canceled without a reschedule in
 * the window (missed_meetings); an earlier cancel was rescheduled. */
static void story_missed_meetings(sample_t *s)
{
    static const person_t p[] = {
        {"gus@cobalt.example", SK_ROLE_EXECUTIVE, "leadership"},
        {"hana@cobalt.example", SK_ROLE_CHAMPION, "it"},
        {"ivo@cobalt.example", SK_ROLE_POWER_USER, "it"},
    };
    begin_story(s, "cobalt");
    add(s, SK_EV_USER_CREATED, 59, 7, &p[1]);
    add(s, SK_EV_USER_CREATED, 59, 7, &p[2]);
    for (int d = 58; d >= 1; d -= 3) {
        add(s, SK_EV_LOGIN, d, 8, &p[1 + d % 2]);
        usage_event(s, d, &p[1 + d % 2], 60 + rnd(s, 30));
    }
    for (int d = 50; d >= 1; d -= 13)
        add(s, SK_EV_LOGIN, d, 9, &p[0]);
    feature(s, 40, &p[2], "reports");
    meeting(s, 50, &p[0], GOOD_MEETING);
    add(s, SK_EV_MEETING_CANCELED, 28, 13, &p[1]);
    add(s, SK_EV_MEETING_RESCHEDULED, 27, 13, &p[1]);
    meeting(s, 25, &p[1], SK_ATTR_ON_TIME | SK_ATTR_STRATEGIC);
    add(s, SK_EV_MEETING_MISSED, 14, 14, &p[1]);
    add(s, SK_EV_MEETING_CANCELED, 7, 13, &p[1]);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 40, 2, NULL);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 10, 2, NULL);
}

/* Payments fail twice within the window (payment_failures, customer -10). */
static void story_payment_failures(sample_t *s)
{
    static const person_t p[] = {
        {"jo@dunmore.example", SK_ROLE_CHAMPION, "finance"},
        {"kai@dunmore.example", SK_ROLE_END_USER, "operations"},
    };
    begin_story(s, "dunmore");
    add(s, SK_EV_USER_CREATED, 59, 7, &p[0]);
    for (int d = 58; d >= 1; d -= 4) {
        add(s, SK_EV_LOGIN, d, 8, &p[(d / 4) % 2]);
        usage_event(s, d, &p[(d / 4) % 2], 45 + rnd(s, 30));
    }
    feature(s, 30, &p[1], "export");
    add(s, SK_EV_PAYMENT_SUCCEEDED, 55, 2, NULL);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 25, 2, NULL);
    add(s, SK_EV_PAYMENT_FAILED, 9, 2, NULL);
    add(s, SK_EV_SUPPORT_TICKET, 8, 10, &p[0]);
    add(s, SK_EV_PAYMENT_FAILED, 3, 2, NULL);
}

/* Raises flags and recovers: a low NPS (detractor) and outreach left
 * unanswered (unanswered_outreach), then a response and a high NPS clear
 * both. */
static void story_recovers(sample_t *s)
{
    static const person_t p[] = {
        {"lena@evergreen.example", SK_ROLE_EXECUTIVE, "leadership"},
        {"max@evergreen.example", SK_ROLE_CHAMPION, "marketing"},
        {"noor@evergreen.example", SK_ROLE_POWER_USER, "marketing"},
    };
    begin_story(s, "evergreen");
    add(s, SK_EV_USER_CREATED, 59, 7, &p[1]);
    add(s, SK_EV_USER_CREATED, 59, 7, &p[2]);
    for (int d = 58; d >= 1; d -= 2) {
        add(s, SK_EV_LOGIN, d, 8, &p[1 + d % 2]);
        usage_event(s, d, &p[1 + d % 2], 50 + rnd(s, 40));
    }
    for (int d = 45; d >= 1; d -= 12)
        add(s, SK_EV_LOGIN, d, 9, &p[0]);
    feature(s, 35, &p[2], "dashboards");
    feature(s, 20, &p[2], "comments");
    set_value(add(s, SK_EV_NPS, 24, 12, &p[1]), 5);
    add(s, SK_EV_CSM_OUTREACH, 22, 10, NULL);
    add(s, SK_EV_CSM_OUTREACH, 19, 10, NULL);
    add(s, SK_EV_CSM_OUTREACH, 16, 10, NULL);
    set_value(add(s, SK_EV_CUSTOMER_RESPONSE, 12, 15, &p[1]), 30);
    meeting(s, 11, &p[0], GOOD_MEETING);
    set_value(add(s, SK_EV_NPS, 6, 12, &p[1]), 9);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 50, 2, NULL);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 20, 2, NULL);
}

/* An upsell candidate: near its plan limit, looking at enterprise
 * features, asking for seats, on the API, happy, active every week, and
 * engaged across the company (customer 80+, upsell 20+, growth). */
static void story_upsell(sample_t *s)
{
    static const person_t p[] = {
        {"olga@fjord.example", SK_ROLE_EXECUTIVE, "leadership"},
        {"pia@fjord.example", SK_ROLE_CHAMPION, "product"},
        {"quinn@fjord.example", SK_ROLE_CHAMPION, "engineering"},
        {"rui@fjord.example", SK_ROLE_CHAMPION, "data"},
        {"sol@fjord.example", SK_ROLE_POWER_USER, "engineering"},
        {"tom@fjord.example", SK_ROLE_POWER_USER, "data"},
        {"uma@fjord.example", SK_ROLE_POWER_USER, "product"},
        {"vic@fjord.example", SK_ROLE_POWER_USER, "engineering"},
        {"wes@fjord.example", SK_ROLE_POWER_USER, "data"},
    };
    static const char *features[] = {
        "dashboards", "reports", "integrations", "alerts",   "api",
        "automation", "sso",     "export",       "comments", "mobile_app"};
    const int np = (int)(sizeof p / sizeof p[0]);
    begin_story(s, "fjord");
    for (int i = 0; i < np; i++)
        add(s, SK_EV_USER_CREATED, 59, 7, &p[i]);
    for (int d = 59; d >= 1; d--) {
        int logins = d < 30 ? 4 : 1;
        for (int i = 0; i < logins; i++)
            add(s, SK_EV_LOGIN, d, 8 + i, &p[(d + i) % np]);
        usage_event(s, d, &p[(d + 1) % np], 60 + rnd(s, 90));
    }
    for (int i = 0; i < 10; i++)
        feature(s, 28 - 2 * i, &p[4 + i % 5], features[i]);
    for (int d = 28; d >= 2; d -= 3)
        add(s, SK_EV_EMAIL_EXCHANGE, d, 16, &p[1 + d % 3]);
    for (int d = 27; d >= 6; d -= 3)
        meeting(s, d, &p[d % 4], GOOD_MEETING);
    for (int d = 26; d >= 6; d -= 5) {
        add(s, SK_EV_CSM_OUTREACH, d, 9, NULL);
        set_value(add(s, SK_EV_CUSTOMER_RESPONSE, d, 11, &p[1]), 2 + rnd(s, 6));
    }
    for (int d = 25; d >= 5; d -= 5)
        add(s, SK_EV_SUPPORT_TICKET, d, 13, &p[4 + d % 5]);
    add(s, SK_EV_TRAINING, 21, 15, &p[5]);
    add(s, SK_EV_TRAINING, 14, 15, &p[6]);
    add(s, SK_EV_API_CALL, 7, 12, &p[4]);
    set_label(add(s, SK_EV_PAGE_VIEW, 6, 12, &p[0]), "enterprise_feature");
    set_value(add(s, SK_EV_PLAN_USAGE, 5, 3, NULL), 85);
    add(s, SK_EV_SEAT_REQUEST, 4, 12, &p[1]);
    set_value(add(s, SK_EV_NPS, 8, 12, &p[0]), 10);
    set_label(add(s, SK_EV_FEEDBACK, 9, 15, &p[2]), "very_happy");
    add(s, SK_EV_REFERRAL, 12, 15, &p[0]);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 45, 2, NULL);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 15, 2, NULL);
    add(s, SK_EV_RENEWAL, 15, 3, NULL);
}

/* A detractor who stopped answering: a low NPS, unhappy feedback and an
 * unsatisfied ticket, then four outreaches without a response
 * (detractor, unanswered_outreach). */
static void story_detractor(sample_t *s)
{
    static const person_t p[] = {
        {"xena@granite.example", SK_ROLE_CHAMPION, "operations"},
        {"yuri@granite.example", SK_ROLE_END_USER, "operations"},
    };
    begin_story(s, "granite");
    add(s, SK_EV_USER_CREATED, 59, 7, &p[0]);
    add(s, SK_EV_USER_CREATED, 59, 7, &p[1]);
    for (int d = 58; d >= 1; d -= 3) {
        add(s, SK_EV_LOGIN, d, 8, &p[d % 2]);
        usage_event(s, d, &p[d % 2], 35 + rnd(s, 30));
    }
    feature(s, 40, &p[0], "reports");
    add(s, SK_EV_CSM_OUTREACH, 27, 10, NULL);
    set_value(add(s, SK_EV_CUSTOMER_RESPONSE, 25, 15, &p[0]), 10);
    add(s, SK_EV_SUPPORT_TICKET, 15, 11, &p[1]);
    set_label(add(s, SK_EV_SUPPORT_RESOLVED, 13, 16, &p[1]), "unsatisfied");
    set_value(add(s, SK_EV_NPS, 10, 12, &p[0]), 3);
    set_label(add(s, SK_EV_FEEDBACK, 9, 12, &p[0]), "not_happy");
    for (int d = 12; d >= 2; d -= 3)
        add(s, SK_EV_CSM_OUTREACH, d, 10, NULL);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 42, 2, NULL);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 12, 2, NULL);
}

/* Single-threaded: a second user left five weeks ago, and one person
 * carries the account since (single_threaded). */
static void story_single_threaded(sample_t *s)
{
    static const person_t p[] = {
        {"zoe@harbor.example", SK_ROLE_POWER_USER, "operations"},
        {"al@harbor.example", SK_ROLE_END_USER, "finance"},
    };
    begin_story(s, "harbor");
    add(s, SK_EV_USER_CREATED, 59, 7, &p[0]);
    add(s, SK_EV_USER_CREATED, 59, 7, &p[1]);
    for (int d = 58; d >= 36; d -= 4)
        add(s, SK_EV_LOGIN, d, 9, &p[1]);
    for (int d = 58; d >= 1; d -= 2) {
        add(s, SK_EV_LOGIN, d, 8, &p[0]);
        usage_event(s, d, &p[0], 40 + rnd(s, 40));
    }
    feature(s, 20, &p[0], "dashboards");
    feature(s, 10, &p[0], "export");
    add(s, SK_EV_PAYMENT_SUCCEEDED, 48, 2, NULL);
    add(s, SK_EV_PAYMENT_SUCCEEDED, 18, 2, NULL);
}

static int64_t wall_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int compare_events(const void *a, const void *b)
{
    const sample_event_t *x = a, *y = b;
    if (x->ev.ts_ms != y->ev.ts_ms)
        return x->ev.ts_ms < y->ev.ts_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void sample_usage(FILE *out)
{
    fprintf(out,
            "usage: scorekeeper sample [--now ISO8601] [--seed N]\n\n"
            "Print a demo scenario: JSON-lines events of eight accounts over "
            "the 60 days\nending at --now, in time order.  The stories:\n"
            "  northwind  climbs the points stages (100, 500, 1000, 2000)\n"
            "  bluebird   goes silent (no_login_30d, usage_drop)\n"
            "  cobalt     misses meetings (missed_meetings)\n"
            "  dunmore    payments fail (payment_failures)\n"
            "  evergreen  raises detractor and unanswered_outreach, then "
            "clears both\n"
            "  fjord      an upsell candidate (segment upsell_candidate, "
            "health growth)\n"
            "  granite    a detractor ignoring outreach (detractor, "
            "unanswered_outreach)\n"
            "  harbor     single-threaded (single_threaded)\n\n"
            "Options:\n"
            "  --now ISO8601  end of the scenario (default: now); events "
            "fall on the days\n"
            "                 before its date\n"
            "  --seed N       varies times and minutes, never the stories' "
            "outcome (default 1)\n"
            "  --help         this text\n\n"
            "The same --now and --seed always print the same events; ids "
            "are\n\"<account>-s<seed>-<n>\".\n");
}

int sk_cmd_sample(int argc, char **argv)
{
    static const struct option options[] = {
        {"now", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int64_t now_ms = -1;
    uint64_t seed = 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (sk_parse_time(optarg, &now_ms) != SK_OK) {
                fprintf(stderr,
                        "scorekeeper sample: --now: '%s' is not an ISO 8601 "
                        "UTC time\n",
                        optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 's': {
            char *end;
            if (optarg[0] == '-' || optarg[0] == '\0') {
                end = optarg;
            } else {
                seed = strtoull(optarg, &end, 10);
            }
            if (*end || end == optarg) {
                fprintf(stderr,
                        "scorekeeper sample: --seed: '%s' is not a "
                        "non-negative integer\n",
                        optarg);
                return SK_EXIT_USAGE;
            }
            break;
        }
        case 'h':
            sample_usage(stdout);
            return SK_EXIT_OK;
        default:
            sample_usage(stderr);
            return SK_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "scorekeeper sample: unexpected argument '%s'\n",
                argv[optind]);
        return SK_EXIT_USAGE;
    }
    if (now_ms < 0)
        now_ms = wall_clock_ms();
    if (now_ms - SAMPLE_DAYS * SK_DAY_MS < SK_TS_MIN || now_ms > SK_TS_MAX) {
        fprintf(stderr,
                "scorekeeper sample: --now must leave the scenario within "
                "2000..2100\n");
        return SK_EXIT_USAGE;
    }

    int status = SK_EXIT_ERROR;
    sample_t s = {.seed = seed, .today = sk_day_of(now_ms)};
    s.rng = seed ^ (uint64_t)s.today * UINT64_C(0x2545f4914f6cdd1d);
    story_rising(&s);
    story_silent(&s);
    story_missed_meetings(&s);
    story_payment_failures(&s);
    story_recovers(&s);
    story_upsell(&s);
    story_detractor(&s);
    story_single_threaded(&s);
    if (s.oom) {
        fprintf(stderr, "scorekeeper sample: out of memory\n");
        goto cleanup;
    }
    qsort(s.v, s.n, sizeof s.v[0], compare_events);
    for (size_t i = 0; i < s.n; i++) {
        char *line = sk_event_to_json(&s.v[i].ev);
        if (!line) {
            fprintf(stderr, "scorekeeper sample: out of memory\n");
            goto cleanup;
        }
        int rc = printf("%s\n", line);
        free(line);
        if (rc < 0)
            break;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "scorekeeper sample: cannot write the output\n");
        goto cleanup;
    }
    status = SK_EXIT_OK;
cleanup:
    free(s.v);
    return status;
}
