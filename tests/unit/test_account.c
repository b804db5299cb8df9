/*
 * test_account.c - the scoring model rule by rule: points and stages,
 * engagement dimensions and caps, customer score and segments, health
 * tiers, duplicates, late events and the calendar.
 */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "scorekeeper/account.h"
#include "scorekeeper/scores.h"
#include "support.h"

static sk_rules_t rules;
static sk_account_t *acct;
static sk_alerts_t alerts;

static void setup(void)
{
    rules = *sk_test_rules();
    acct = sk_account_new("acme", &rules);
    cr_assert_not_null(acct);
    memset(&alerts, 0, sizeof alerts);
}

static void teardown(void)
{
    sk_account_destroy(acct);
    sk_alerts_free(&alerts);
}

TestSuite(account, .init = setup, .fini = teardown);

static sk_event_t ev(sk_event_type_t type, const char *iso)
{
    return sk_test_event("acme", type, iso);
}

static void apply(sk_event_t e)
{
    cr_assert_eq(sk_account_apply(acct, &rules, &e, &alerts), SK_APPLIED,
                 "event %s not applied", e.id);
}

static void apply_n(sk_event_type_t type, const char *iso, int n)
{
    for (int i = 0; i < n; i++)
        apply(ev(type, iso));
}

static void at(const char *iso)
{
    int64_t t;
    cr_assert_eq(sk_parse_time(iso, &t), SK_OK);
    cr_assert_eq(sk_account_evaluate(acct, &rules, t, &alerts), SK_OK);
}

static sk_scores_t scores(void)
{
    sk_scores_t s;
    sk_scores_compute(acct, &rules, &s);
    return s;
}

static const sk_alert_t *find(sk_alert_kind_t kind, int flag)
{
    for (size_t i = 0; i < alerts.n; i++)
        if (alerts.v[i].kind == kind && alerts.v[i].flag == flag)
            return &alerts.v[i];
    return NULL;
}

/* --- points pipeline ------------------------------------------------ */

Test(account, points_of_each_vocabulary_entry)
{
    struct {
        sk_event_type_t type;
        const char *label;
        double value;
        int64_t points;
    } cases[] = {
        {SK_EV_USER_CREATED, "", 0, 30},
        {SK_EV_MEETING_ATTENDED, "", 0, 30},
        {SK_EV_MEETING_MISSED, "", 0, -30},
        {SK_EV_FEEDBACK, "very_happy", 0, 50},
        {SK_EV_FEEDBACK, "happy", 0, 25},
        {SK_EV_FEEDBACK, "neutral", 0, -25},
        {SK_EV_FEEDBACK, "not_happy", 0, -50},
        {SK_EV_USAGE, "", 29, 0},
        {SK_EV_USAGE, "", 30, 30},
        {SK_EV_USAGE, "", 59.9, 30},
        {SK_EV_USAGE, "", 60, 60},
        {SK_EV_USAGE, "", 119, 60},
        {SK_EV_USAGE, "", 120, 120},
        {SK_EV_USAGE, "", 600, 120},
        {SK_EV_PAYMENT_SUCCEEDED, "", 0, 50},
        {SK_EV_PAYMENT_FAILED, "", 0, -50},
        {SK_EV_EMAIL_EXCHANGE, "", 0, 0},
        {SK_EV_NPS, "", 10, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sk_account_t *a = sk_account_new("p", &rules);
        sk_event_t e = sk_test_event("p", cases[i].type, "2026-05-01T10:00:00Z");
        snprintf(e.label, sizeof e.label, "%s", cases[i].label);
        e.value = cases[i].value;
        e.has_value = true;
        cr_assert_eq(sk_account_apply(a, &rules, &e, &alerts), SK_APPLIED);
        cr_expect_eq(a->points, cases[i].points, "%s %s %g: %lld points",
                     sk_event_type_name(cases[i].type), cases[i].label,
                     cases[i].value, (long long)a->points);
        sk_account_destroy(a);
    }
}

Test(account, login_points_once_per_calendar_month)
{
    apply(ev(SK_EV_LOGIN, "2026-05-01T00:00:00Z"));
    apply(ev(SK_EV_LOGIN, "2026-05-31T23:59:59Z"));
    cr_assert_eq(acct->points, 30);
    apply(ev(SK_EV_LOGIN, "2026-06-01T00:00:00Z"));
    cr_assert_eq(acct->points, 60, "a login in a new month earns again");
    /* A late login in a month already credited earns nothing; one in a
     * month never seen earns. */
    apply(ev(SK_EV_LOGIN, "2026-05-15T00:00:00Z"));
    cr_assert_eq(acct->points, 60);
    apply(ev(SK_EV_LOGIN, "2026-04-15T00:00:00Z"));
    cr_assert_eq(acct->points, 90);
}

Test(account, stage_boundaries_and_crossings_both_ways)
{
    /* 99 vs 100 with a rule that makes user_created worth 99. */
    rules.points.user_created = 99;
    apply(ev(SK_EV_USER_CREATED, "2026-05-01T00:00:00Z"));
    cr_assert_eq(scores().stage, 0);
    cr_assert_null(find(SK_ALERT_STAGE_CROSSED, -1));
    rules.points.user_created = 1;
    apply(ev(SK_EV_USER_CREATED, "2026-05-01T00:00:01Z"));
    cr_assert_eq(acct->points, 100);
    const sk_alert_t *up = find(SK_ALERT_STAGE_CROSSED, -1);
    cr_assert_not_null(up);
    cr_assert_str_eq(up->from, "0");
    cr_assert_str_eq(up->to, "100");
    sk_alerts_clear(&alerts);

    apply(ev(SK_EV_PAYMENT_FAILED, "2026-05-02T00:00:00Z"));
    const sk_alert_t *down = find(SK_ALERT_STAGE_CROSSED, -1);
    cr_assert_not_null(down, "falling below a stage is an alert too");
    cr_assert_str_eq(down->from, "100");
    cr_assert_str_eq(down->to, "0");
}

Test(account, stage_is_highest_threshold_reached)
{
    rules.points.user_created = 10000;
    apply(ev(SK_EV_USER_CREATED, "2026-05-01T00:00:00Z"));
    cr_assert_eq(scores().stage, 10000);
    rules.points.payment_failed = -5001;
    apply(ev(SK_EV_PAYMENT_FAILED, "2026-05-01T00:00:01Z"));
    cr_assert_eq(scores().stage, 2000);
}

/* --- engagement ----------------------------------------------------- */

Test(account, frequency_caps)
{
    apply_n(SK_EV_MEETING_ATTENDED, "2026-05-02T10:00:00Z", 9); /* 45 -> 40 */
    apply_n(SK_EV_EMAIL_EXCHANGE, "2026-05-02T10:00:00Z", 11);  /* 22 -> 20 */
    apply_n(SK_EV_LOGIN, "2026-05-02T10:00:00Z", 104);          /* 20 */
    apply_n(SK_EV_SUPPORT_TICKET, "2026-05-02T10:00:00Z", 6);   /* 18 -> 15 */
    apply_n(SK_EV_TRAINING, "2026-05-02T10:00:00Z", 3);         /* 30 -> 20 */
    sk_scores_t s = scores();
    cr_assert_float_eq(s.frequency, 100.0, 1e-9);
    cr_assert_eq(s.cur.logins, 104);
}

Test(account, frequency_counts_each_activity)
{
    apply_n(SK_EV_LOGIN, "2026-05-02T10:00:00Z", 9); /* floor(9/5) = 1 */
    cr_assert_float_eq(scores().frequency, 1.0 / 115 * 100, 1e-9);
    apply(ev(SK_EV_LOGIN, "2026-05-02T11:00:00Z")); /* 10 -> 2 */
    apply(ev(SK_EV_MEETING_ATTENDED, "2026-05-02T11:00:00Z")); /* 5 */
    apply(ev(SK_EV_EMAIL_EXCHANGE, "2026-05-02T11:00:00Z"));   /* 2 */
    apply(ev(SK_EV_SUPPORT_TICKET, "2026-05-02T11:00:00Z"));   /* 3 */
    apply(ev(SK_EV_TRAINING, "2026-05-02T11:00:00Z"));         /* 10 */
    cr_assert_float_eq(scores().frequency, 22.0 / 115 * 100, 1e-9);
}

Test(account, quality_neutral_without_data)
{
    apply(ev(SK_EV_LOGIN, "2026-05-02T10:00:00Z"));
    sk_scores_t s = scores();
    cr_assert(s.quality_neutral);
    cr_assert_float_eq(s.quality, 50.0, 1e-9);
    cr_assert_float_eq(s.engagement, 0.35 * 50, 1e-9);
}

Test(account, quality_response_rate_bands)
{
    struct {
        int outreach, responses;
        double band;
    } cases[] = {{4, 4, 100}, {4, 3, 80}, {4, 2, 60}, {4, 1, 40},
                 {5, 1, 20},  {4, 0, 20}, {1, 2, 100}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sk_account_t *a = sk_account_new("q", &rules);
        for (int k = 0; k < cases[i].outreach; k++) {
            sk_event_t e = sk_test_event("q", SK_EV_CSM_OUTREACH,
                                         "2026-05-02T10:00:00Z");
            sk_account_apply(a, &rules, &e, &alerts);
        }
        for (int k = 0; k < cases[i].responses; k++) {
            sk_event_t e = sk_test_event("q", SK_EV_CUSTOMER_RESPONSE,
                                         "2026-05-02T11:00:00Z");
            sk_account_apply(a, &rules, &e, &alerts);
        }
        sk_scores_t s;
        sk_scores_compute(a, &rules, &s);
        cr_expect_float_eq(s.quality, cases[i].band, 1e-9,
                           "%d responses to %d outreach: %g", cases[i].responses,
                           cases[i].outreach, s.quality);
        sk_account_destroy(a);
    }
}

Test(account, quality_meeting_attributes_and_mean)
{
    sk_event_t m = ev(SK_EV_MEETING_ATTENDED, "2026-05-02T10:00:00Z");
    m.attrs = SK_ATTR_ON_TIME | SK_ATTR_ACTIVE | SK_ATTR_EXECUTIVE |
              SK_ATTR_FOLLOW_THROUGH | SK_ATTR_STRATEGIC;
    apply(m);
    cr_assert_float_eq(scores().quality, 100, 1e-9);
    m = ev(SK_EV_MEETING_ATTENDED, "2026-05-02T11:00:00Z");
    m.attrs = SK_ATTR_EXECUTIVE; /* 25 */
    apply(m);
    cr_assert_float_eq(scores().quality, 62.5, 1e-9);
    /* With outreach answered 1 of 2 (band 60): mean of 60 and 62.5. */
    apply(ev(SK_EV_CSM_OUTREACH, "2026-05-02T12:00:00Z"));
    apply(ev(SK_EV_CSM_OUTREACH, "2026-05-02T12:00:00Z"));
    apply(ev(SK_EV_CUSTOMER_RESPONSE, "2026-05-02T13:00:00Z"));
    cr_assert_float_eq(scores().quality, (60 + 62.5) / 2, 1e-9);
}

static sk_event_t person(const char *user, sk_role_t role, const char *dept,
                         const char *iso)
{
    sk_event_t e = ev(SK_EV_LOGIN, iso);
    snprintf(e.user, sizeof e.user, "%s", user);
    e.role = role;
    snprintf(e.dept, sizeof e.dept, "%s", dept);
    return e;
}

Test(account, breadth_roles_caps_and_departments)
{
    const char *t = "2026-05-02T10:00:00Z";
    apply(person("exec", SK_ROLE_EXECUTIVE, "board", t));
    cr_assert_float_eq(scores().breadth, 30.0 / 120 * 100, 1e-9);
    for (int i = 0; i < 4; i++) { /* 4 champions, capped at 45 */
        char name[16];
        snprintf(name, sizeof name, "champ%d", i);
        apply(person(name, SK_ROLE_CHAMPION, "board", t));
    }
    cr_assert_float_eq(scores().breadth, 75.0 / 120 * 100, 1e-9);
    for (int i = 0; i < 6; i++) { /* 6 power users, capped at 25 */
        char name[16];
        snprintf(name, sizeof name, "power%d", i);
        apply(person(name, SK_ROLE_POWER_USER, i < 2 ? "ops" : "board", t));
    }
    sk_scores_t s = scores();
    cr_assert_eq(s.departments, 2);
    cr_assert_float_eq(s.breadth, 100.0 / 120 * 100, 1e-9);
    apply(person("eve", SK_ROLE_END_USER, "sales", t));
    s = scores();
    cr_assert_eq(s.departments, 3);
    cr_assert_float_eq(s.breadth, 100.0, 1e-9);
    cr_assert_eq(s.champions, 4);
    cr_assert_eq(s.power_users, 6);
}

Test(account, repeated_user_counts_once)
{
    const char *t = "2026-05-02T10:00:00Z";
    apply(person("ann", SK_ROLE_CHAMPION, "", t));
    apply(person("ann", SK_ROLE_CHAMPION, "", t));
    cr_assert_eq(scores().champions, 1);
    cr_assert_eq(scores().distinct_users, 1);
}

Test(account, product_weighted_share_of_catalogue)
{
    cr_assert_gt(rules.engagement.n_features, 1);
    double total = 0, want = 0;
    for (int f = 0; f < rules.engagement.n_features; f++)
        total += rules.engagement.feature_weight[rules.engagement.features[f].cls];
    const sk_feature_t *first = &rules.engagement.features[0];
    sk_event_t e = ev(SK_EV_FEATURE_USED, "2026-05-02T10:00:00Z");
    snprintf(e.label, sizeof e.label, "%s", first->key);
    apply(e);
    want = rules.engagement.feature_weight[first->cls] / total * 100;
    cr_assert_float_eq(scores().product, want, 1e-9);
    /* A feature outside the catalogue changes nothing in product. */
    e = ev(SK_EV_FEATURE_USED, "2026-05-02T10:00:00Z");
    snprintf(e.label, sizeof e.label, "not-in-catalogue");
    apply(e);
    cr_assert_float_eq(scores().product, want, 1e-9);
    /* Thirty days later the use has left the window. */
    at("2026-06-01T00:00:00Z");
    cr_assert_float_eq(scores().product, 0, 1e-9);
}

Test(account, engagement_tier_boundaries)
{
    /* An account with only a login scores 0.35 * 50 = 17.5 exactly. */
    apply(ev(SK_EV_LOGIN, "2026-05-02T10:00:00Z"));
    rules.engagement.tier_min[SK_TIER_ORANGE] = 17.5;
    cr_assert_eq(scores().eng_tier, SK_TIER_ORANGE, "17.5 >= 17.5");
    rules.engagement.tier_min[SK_TIER_ORANGE] = 17.5000001;
    cr_assert_eq(scores().eng_tier, SK_TIER_RED, "17.5 < 17.5000001");
    rules.engagement.tier_min[SK_TIER_YELLOW] = 17.5;
    cr_assert_eq(scores().eng_tier, SK_TIER_YELLOW);
    rules.engagement.tier_min[SK_TIER_GREEN] = 17.5;
    cr_assert_eq(scores().eng_tier, SK_TIER_GREEN);
}

Test(account, engagement_tier_80_vs_79_99)
{
    /* quality 100 (perfect meeting) with weight 0.8 makes 80 exactly. */
    rules.engagement.w_frequency = 0;
    rules.engagement.w_breadth = 0;
    rules.engagement.w_quality = 0.8;
    rules.engagement.w_product = 0.2;
    sk_event_t m = ev(SK_EV_MEETING_ATTENDED, "2026-05-02T10:00:00Z");
    m.attrs = SK_ATTR_ON_TIME | SK_ATTR_ACTIVE | SK_ATTR_EXECUTIVE |
              SK_ATTR_FOLLOW_THROUGH | SK_ATTR_STRATEGIC;
    apply(m);
    cr_assert_float_eq(scores().engagement, 80.0, 1e-9);
    cr_assert_eq(scores().eng_tier, SK_TIER_GREEN);
    rules.engagement.w_quality = 0.7999;
    cr_assert_float_eq(scores().engagement, 79.99, 1e-9);
    cr_assert_eq(scores().eng_tier, SK_TIER_YELLOW);
}

Test(account, velocity)
{
    apply_n(SK_EV_EMAIL_EXCHANGE, "2026-04-10T10:00:00Z", 12);
    cr_assert_not(scores().has_velocity);
    apply_n(SK_EV_EMAIL_EXCHANGE, "2026-05-15T10:00:00Z", 8);
    sk_scores_t s = scores();
    cr_assert(s.has_velocity);
    cr_assert_float_eq(s.velocity, (8.0 - 12) / 12, 1e-9);
}

/* --- customer score ------------------------------------------------- */

Test(account, customer_points_of_vocabulary)
{
    struct {
        sk_event_type_t type;
        const char *label;
        double value;
        double points;
    } cases[] = {
        {SK_EV_FEATURE_USED, "dashboards", 0, 10},
        {SK_EV_SUPPORT_RESOLVED, "satisfied", 0, 5},
        {SK_EV_SUPPORT_RESOLVED, "unsatisfied", 0, -5},
        {SK_EV_PAGE_VIEW, "advanced_feature", 0, 8},
        {SK_EV_PAGE_VIEW, "cancellation", 0, -20},
        {SK_EV_PAGE_VIEW, "enterprise_feature", 0, 0},
        {SK_EV_NPS, "", 9, 15},
        {SK_EV_NPS, "", 10, 15},
        {SK_EV_NPS, "", 8, 0},
        {SK_EV_NPS, "", 7, 0},
        {SK_EV_NPS, "", 6, -15},
        {SK_EV_NPS, "", 0, -15},
        {SK_EV_REFERRAL, "", 0, 20},
        {SK_EV_RENEWAL, "", 0, 20},
        {SK_EV_PAYMENT_FAILED, "", 0, 0},
        {SK_EV_SEAT_REQUEST, "", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sk_account_t *a = sk_account_new("c", &rules);
        sk_event_t e = sk_test_event("c", cases[i].type, "2026-05-01T10:00:00Z");
        snprintf(e.label, sizeof e.label, "%s", cases[i].label);
        e.value = cases[i].value;
        e.has_value = true;
        sk_account_apply(a, &rules, &e, &alerts);
        sk_scores_t s;
        sk_scores_compute(a, &rules, &s);
        cr_expect_float_eq(s.customer, 50 + cases[i].points, 1e-9,
                           "%s %s %g: %g", sk_event_type_name(cases[i].type),
                           cases[i].label, cases[i].value, s.customer);
        sk_account_destroy(a);
    }
}

Test(account, first_feature_use_ever_only)
{
    sk_event_t e = ev(SK_EV_FEATURE_USED, "2026-05-01T10:00:00Z");
    snprintf(e.label, sizeof e.label, "reports");
    apply(e);
    e = ev(SK_EV_FEATURE_USED, "2026-05-03T10:00:00Z");
    snprintf(e.label, sizeof e.label, "reports");
    apply(e);
    cr_assert_float_eq(scores().customer, 60, 1e-9);
    /* Even after the first use left the window, a later use is no first. */
    e = ev(SK_EV_FEATURE_USED, "2026-08-01T10:00:00Z");
    snprintf(e.label, sizeof e.label, "reports");
    apply(e);
    cr_assert_float_eq(scores().customer, 50, 1e-9);
}

Test(account, active_weeks_iso)
{
    /* 2026-05-04 is a Monday: Sun 05-03 and Mon 05-04 are two ISO weeks;
     * Mon 05-04 and Sun 05-10 are one. */
    apply(ev(SK_EV_LOGIN, "2026-05-03T10:00:00Z"));
    apply(ev(SK_EV_LOGIN, "2026-05-04T10:00:00Z"));
    sk_event_t u = ev(SK_EV_USAGE, "2026-05-10T10:00:00Z");
    u.value = 5;
    u.has_value = true;
    apply(u);
    sk_scores_t s = scores();
    cr_assert_eq(s.cur.active_weeks, 2);
    cr_assert_float_eq(s.customer, 60, 1e-9);
}

Test(account, customer_clamped)
{
    for (int i = 0; i < 4; i++)
        apply(ev(SK_EV_REFERRAL, "2026-05-01T10:00:00Z"));
    cr_assert_float_eq(scores().customer, 100, 1e-9);
    for (int i = 0; i < 10; i++) {
        sk_event_t e = ev(SK_EV_PAGE_VIEW, "2026-05-01T11:00:00Z");
        snprintf(e.label, sizeof e.label, "cancellation");
        apply(e);
    }
    cr_assert_float_eq(scores().customer, 0, 1e-9);
}

Test(account, upsell_patterns_once_per_window)
{
    sk_event_t p = ev(SK_EV_PLAN_USAGE, "2026-05-01T10:00:00Z");
    p.value = 79.9;
    p.has_value = true;
    apply(p);
    cr_assert_float_eq(scores().upsell, 0, 1e-9);
    p = ev(SK_EV_PLAN_USAGE, "2026-05-01T10:00:00Z");
    p.value = 80;
    p.has_value = true;
    apply(p);
    apply(ev(SK_EV_SEAT_REQUEST, "2026-05-01T10:00:00Z"));
    apply(ev(SK_EV_SEAT_REQUEST, "2026-05-02T10:00:00Z"));
    sk_event_t v = ev(SK_EV_PAGE_VIEW, "2026-05-01T10:00:00Z");
    snprintf(v.label, sizeof v.label, "enterprise_feature");
    apply(v);
    apply(ev(SK_EV_API_CALL, "2026-05-01T10:00:00Z"));
    apply(ev(SK_EV_API_CALL, "2026-05-02T10:00:00Z"));
    cr_assert_float_eq(scores().upsell, 15 + 12 + 10 + 8, 1e-9);
    /* The first api_call ever leaves the window and never comes back. */
    at("2026-06-15T00:00:00Z");
    apply(ev(SK_EV_API_CALL, "2026-06-15T10:00:00Z"));
    cr_assert_float_eq(scores().upsell, 0, 1e-9);
}

Test(account, segments)
{
    /* risk below 30, at_risk 30..<50, steady otherwise */
    for (int i = 0; i < 1; i++) {
        sk_event_t e = ev(SK_EV_PAGE_VIEW, "2026-05-01T10:00:00Z");
        snprintf(e.label, sizeof e.label, "cancellation");
        apply(e);
    }
    cr_assert_eq(scores().segment, SK_SEGMENT_AT_RISK); /* 30 */
    sk_event_t e = ev(SK_EV_SUPPORT_RESOLVED, "2026-05-01T10:00:00Z");
    snprintf(e.label, sizeof e.label, "unsatisfied");
    apply(e);
    cr_assert_eq(scores().segment, SK_SEGMENT_RISK); /* 25 */
    cr_assert_eq(scores().health, SK_HEALTH_AT_RISK);
}

Test(account, upsell_candidate_and_growth)
{
    /* 80+ with upsell 20+: referral x2 (+40) -> 90; seat + api = 20. */
    apply(ev(SK_EV_REFERRAL, "2026-05-01T10:00:00Z"));
    apply(ev(SK_EV_REFERRAL, "2026-05-01T10:00:00Z"));
    apply(ev(SK_EV_SEAT_REQUEST, "2026-05-01T10:00:00Z"));
    cr_assert_neq(scores().segment, SK_SEGMENT_UPSELL_CANDIDATE);
    apply(ev(SK_EV_API_CALL, "2026-05-01T10:00:00Z"));
    sk_scores_t s = scores();
    cr_assert_eq(s.segment, SK_SEGMENT_UPSELL_CANDIDATE);
    /* Engagement is red (no activity), so the tier is watch, not growth. */
    cr_assert_eq(s.health, SK_HEALTH_WATCH);
    rules.engagement.tier_min[SK_TIER_YELLOW] = 10;
    cr_assert_eq(scores().health, SK_HEALTH_GROWTH);
}

Test(account, loyal_after_six_months_at_70_plus)
{
    /* Referrals every few weeks keep the score at 70+. */
    apply(ev(SK_EV_REFERRAL, "2026-01-10T10:00:00Z"));
    apply(ev(SK_EV_REFERRAL, "2026-01-10T10:00:01Z")); /* 90 */
    char iso[40];
    for (int m = 1; m <= 7; m++) {
        for (int d = 1; d <= 22 && !(m == 7 && d > 1); d += 21) {
            snprintf(iso, sizeof iso, "2026-%02d-%02dT10:00:00Z", m, d);
            apply(ev(SK_EV_REFERRAL, iso));
        }
    }
    at("2026-07-09T00:00:00Z");
    cr_assert_neq(scores().segment, SK_SEGMENT_LOYAL, "6 months not yet");
    at("2026-07-10T00:00:00Z");
    cr_assert_eq(scores().segment, SK_SEGMENT_LOYAL);
    cr_assert_not_null(find(SK_ALERT_SEGMENT_CHANGED, -1));
}

Test(account, loyal_timer_restarts_after_a_break)
{
    apply(ev(SK_EV_REFERRAL, "2026-01-10T10:00:00Z")); /* 70 */
    int64_t first = acct->high_since_ms;
    cr_assert_neq(first, INT64_MIN);
    at("2026-02-09T00:00:00Z"); /* left the window: 50 */
    cr_assert_eq(acct->high_since_ms, INT64_MIN);
    apply(ev(SK_EV_REFERRAL, "2026-02-10T10:00:00Z"));
    cr_assert_gt(acct->high_since_ms, first);
}

/* --- duplicates, late events, time ---------------------------------- */

Test(account, duplicate_ids_ignored_within_horizon)
{
    sk_event_t e = ev(SK_EV_PAYMENT_SUCCEEDED, "2026-05-01T10:00:00Z");
    apply(e);
    cr_assert_eq(sk_account_apply(acct, &rules, &e, &alerts), SK_DUPLICATE);
    cr_assert_eq(acct->points, 50);
    /* The same id 8 days later is outside the 7-day horizon. */
    e.ts_ms += 8 * SK_DAY_MS;
    cr_assert_eq(sk_account_apply(acct, &rules, &e, &alerts), SK_APPLIED);
    cr_assert_eq(acct->points, 100);
}

Test(account, late_event_lands_in_its_own_day)
{
    apply(ev(SK_EV_LOGIN, "2026-05-20T10:00:00Z"));
    sk_event_t u = ev(SK_EV_USAGE, "2026-05-01T10:00:00Z");
    u.value = 45;
    u.has_value = true;
    apply(u);
    int64_t clock;
    sk_parse_time("2026-05-20T10:00:00Z", &clock);
    cr_assert_eq(acct->clock_ms, clock, "a late event does not move the clock");
    cr_assert_float_eq(scores().cur.usage_minutes, 45, 1e-9);
    /* It leaves the window 30 days after its own day, not the clock's. */
    at("2026-05-31T00:00:00Z");
    cr_assert_float_eq(scores().cur.usage_minutes, 0, 1e-9);
    cr_assert_float_eq(scores().prev.usage_minutes, 45, 1e-9);
}

Test(account, event_older_than_window_counts_lifetime_only)
{
    apply(ev(SK_EV_LOGIN, "2026-05-20T10:00:00Z"));
    apply(ev(SK_EV_MEETING_ATTENDED, "2026-03-01T10:00:00Z"));
    cr_assert_eq(acct->points, 60);
    cr_assert_eq(scores().cur.meetings, 0);
    cr_assert_eq(scores().prev.meetings, 0);
}

Test(account, thirty_day_boundary)
{
    apply(ev(SK_EV_EMAIL_EXCHANGE, "2026-05-01T23:59:59Z"));
    at("2026-05-30T23:59:59Z"); /* 05-01 is the 30th date ending 05-30 */
    cr_assert_eq(scores().cur.emails, 1);
    at("2026-05-31T00:00:00Z");
    cr_assert_eq(scores().cur.emails, 0);
    cr_assert_eq(scores().prev.emails, 1);
}

Test(account, evaluation_never_goes_back)
{
    apply(ev(SK_EV_LOGIN, "2026-05-20T10:00:00Z"));
    int64_t clock = acct->clock_ms;
    at("2026-05-01T00:00:00Z");
    cr_assert_eq(acct->clock_ms, clock);
}

Test(account, next_due_is_when_something_leaves_a_window)
{
    apply(ev(SK_EV_EMAIL_EXCHANGE, "2026-05-01T10:00:00Z"));
    int64_t due = sk_account_next_due_ms(acct, &rules);
    int64_t want;
    sk_parse_time("2026-05-31T00:00:00Z", &want);
    cr_assert_eq(due, want);
    at("2026-05-31T00:00:00Z");
    sk_parse_time("2026-06-30T00:00:00Z", &want);
    cr_assert_eq(sk_account_next_due_ms(acct, &rules), want);
    at("2026-06-30T00:00:00Z");
    cr_assert_eq(sk_account_next_due_ms(acct, &rules), INT64_MAX);
}

Test(account, positions)
{
    cr_assert_eq(sk_account_position(acct, "telemetry", 3), -1);
    cr_assert_eq(sk_account_set_position(acct, "telemetry", 3, 41), SK_OK);
    cr_assert_eq(sk_account_set_position(acct, "billing", 3, 7), SK_OK);
    cr_assert_eq(sk_account_set_position(acct, "telemetry", 3, 42), SK_OK);
    cr_assert_eq(sk_account_position(acct, "telemetry", 3), 42);
    cr_assert_eq(sk_account_position(acct, "billing", 3), 7);
    cr_assert_eq(acct->n_positions, 2);
}

Test(account, positions_keep_the_newest)
{
    for (int p = 0; p < SK_ACCOUNT_MAX_POSITIONS + 2; p++)
        cr_assert_eq(sk_account_set_position(acct, "telemetry", p, 100 + p),
                     SK_OK);
    cr_assert_eq(acct->n_positions, SK_ACCOUNT_MAX_POSITIONS);
    cr_assert_leq(acct->cap_positions, SK_ACCOUNT_MAX_POSITIONS);
    cr_assert_eq(sk_account_position(acct, "telemetry", 0), -1);
    cr_assert_eq(sk_account_position(acct, "telemetry", 1), -1);
    for (int p = 2; p < SK_ACCOUNT_MAX_POSITIONS + 2; p++) {
        cr_assert_eq(sk_account_position(acct, "telemetry", p), 100 + p);
        cr_assert_eq(acct->positions[p - 2].partition, p, "oldest first");
    }
}

Test(account, a_long_topic_is_cut)
{
    char topic[SK_TOPIC_MAX + 11];
    memset(topic, 'x', sizeof topic - 1);
    topic[sizeof topic - 1] = '\0';
    cr_assert_eq(sk_account_set_position(acct, topic, 0, 5), SK_OK);
    cr_assert_eq(strlen(acct->positions[0].topic), SK_TOPIC_MAX);
    topic[SK_TOPIC_MAX] = '\0';
    cr_assert_eq(sk_account_position(acct, topic, 0), 5);
}

Test(account, copy_positions_is_deep)
{
    sk_account_t *other = sk_account_new("other", &rules);
    cr_assert_not_null(other);
    cr_assert_eq(sk_account_set_position(acct, "telemetry", 1, 10), SK_OK);
    cr_assert_eq(sk_account_set_position(acct, "billing", 2, 20), SK_OK);
    cr_assert_eq(sk_account_set_position(other, "old", 9, 90), SK_OK);
    cr_assert_eq(sk_account_copy_positions(other, acct), SK_OK);
    cr_assert_eq(other->n_positions, 2);
    cr_assert_eq(sk_account_position(other, "old", 9), -1);
    cr_assert_eq(sk_account_position(other, "telemetry", 1), 10);
    cr_assert_eq(sk_account_position(other, "billing", 2), 20);
    cr_assert_neq(other->positions[0].topic, acct->positions[0].topic);
    cr_assert_eq(sk_account_set_position(other, "telemetry", 1, 11), SK_OK);
    cr_assert_eq(sk_account_position(acct, "telemetry", 1), 10);

    sk_account_t *none = sk_account_new("none", &rules);
    cr_assert_not_null(none);
    cr_assert_eq(sk_account_copy_positions(other, none), SK_OK);
    cr_assert_eq(other->n_positions, 0);
    cr_assert_null(other->positions);
    sk_account_destroy(none);
    sk_account_destroy(other);
}

Test(account, clone_is_deep_and_equal)
{
    apply(ev(SK_EV_LOGIN, "2026-05-20T10:00:00Z"));
    sk_account_t *c = sk_account_clone(acct);
    cr_assert_not_null(c);
    cr_assert_neq(c->days, acct->days);
    cr_assert_eq(c->n_days, acct->n_days);
    sk_event_t e = sk_test_event("acme", SK_EV_LOGIN, "2026-06-20T10:00:00Z");
    sk_account_apply(c, &rules, &e, &alerts);
    cr_assert_eq(acct->points, 30, "the original is untouched");
    cr_assert_eq(c->points, 60);
    sk_account_destroy(c);
}

Test(account, clone_copies_every_set)
{
    sk_event_t e =
        person("ana", SK_ROLE_CHAMPION, "ops", "2026-05-20T10:00:00Z");
    e.type = SK_EV_FEATURE_USED;
    snprintf(e.label, sizeof e.label, "reports");
    apply(e);
    apply(ev(SK_EV_LOGIN, "2026-05-20T11:00:00Z"));
    apply(ev(SK_EV_MEETING_CANCELED, "2026-05-20T12:00:00Z"));
    apply(ev(SK_EV_CSM_OUTREACH, "2026-05-20T13:00:00Z"));
    sk_event_t r = ev(SK_EV_CUSTOMER_RESPONSE, "2026-05-20T14:00:00Z");
    r.has_value = true;
    r.value = 4;
    apply(r);
    apply(ev(SK_EV_CSM_OUTREACH, "2026-05-20T15:00:00Z"));
    cr_assert_eq(sk_account_set_position(acct, "telemetry", 0, 1), SK_OK);
    sk_account_t *c = sk_account_clone(acct);
    cr_assert_not_null(c);
#define SAME_SET(name)                                                         \
    do {                                                                       \
        cr_assert_gt(acct->n_##name, 0, #name);                                \
        cr_assert_eq(c->n_##name, acct->n_##name, #name);                      \
        cr_assert_neq(c->name, acct->name, #name);                             \
        cr_assert_eq(memcmp(c->name, acct->name,                               \
                            (size_t)c->n_##name * sizeof *c->name),            \
                     0, #name);                                                \
    } while (0)
    SAME_SET(login_months);
    SAME_SET(features);
    SAME_SET(people);
    SAME_SET(open_cancels);
    SAME_SET(outreach);
    SAME_SET(responses);
#undef SAME_SET
    cr_assert_eq(c->n_positions, 1);
    cr_assert_str_eq(c->positions[0].topic, "telemetry");
    cr_assert_neq(c->positions[0].topic, acct->positions[0].topic);
    sk_account_destroy(c);
}

Test(account, sets_grow_up_to_their_capacity)
{
    /* more users, features and months than each set holds */
    for (int i = 0; i < 3 * SK_ACCOUNT_MAX_FEATURES; i++) {
        char iso[32], name[16];
        snprintf(iso, sizeof iso, "20%02d-%02d-01T10:00:00Z", 20 + i / 12,
                 1 + i % 12);
        snprintf(name, sizeof name, "user%d", i);
        sk_event_t e = person(name, SK_ROLE_POWER_USER, name, iso);
        e.type = SK_EV_FEATURE_USED;
        snprintf(e.label, sizeof e.label, "feature-%d", i);
        apply(e);
        apply(ev(SK_EV_LOGIN, iso));
        cr_assert_leq(acct->n_people, acct->cap_people);
        cr_assert_leq(acct->cap_people, SK_ACCOUNT_MAX_PEOPLE);
        cr_assert_leq(acct->n_features, acct->cap_features);
        cr_assert_leq(acct->cap_features, SK_ACCOUNT_MAX_FEATURES);
        cr_assert_leq(acct->n_login_months, acct->cap_login_months);
        cr_assert_leq(acct->cap_login_months, SK_ACCOUNT_MAX_MONTHS);
    }
    cr_assert_eq(acct->n_features, SK_ACCOUNT_MAX_FEATURES);
    cr_assert_eq(acct->n_login_months, SK_ACCOUNT_MAX_MONTHS);
    cr_assert_eq(acct->n_people,
                 3 * (SK_ACCOUNT_MAX_PEOPLE / SK_PERSON__COUNT));
}

Test(account, invalid_id_refused)
{
    cr_assert_null(sk_account_new("a{b}", &rules));
    cr_assert_null(sk_account_new("", &rules));
}

Test(account, a_crowd_of_users_keeps_the_champions)
{
    apply(person("c1", SK_ROLE_CHAMPION, "", "2026-05-01T10:00:00Z"));
    apply(person("c2", SK_ROLE_CHAMPION, "", "2026-05-01T10:00:00Z"));
    apply(person("c3", SK_ROLE_CHAMPION, "", "2026-05-01T10:00:00Z"));
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof name, "user%d", i);
        apply(person(name, SK_ROLE_END_USER, "", "2026-05-10T10:00:00Z"));
    }
    sk_scores_t s = scores();
    cr_assert_eq(s.champions, 3);
    cr_assert_geq(s.distinct_users, 2);
    cr_assert_not(s.flags & (1u << SK_FLAG_SINGLE_THREADED));
}

Test(account, first_use_ever_goes_by_event_time)
{
    sk_event_t late = ev(SK_EV_FEATURE_USED, "2026-03-10T10:00:00Z");
    snprintf(late.label, sizeof late.label, "reports");
    apply(late);
    cr_assert_float_eq(scores().customer, 60, 1e-9);
    sk_event_t early = ev(SK_EV_FEATURE_USED, "2026-02-01T10:00:00Z");
    snprintf(early.label, sizeof early.label, "reports");
    apply(early);
    /* The Feb 1 use is the first ever: its +10 is in Feb 1's bucket,
     * which is not in the window ending Mar 10 (Feb 9 to Mar 10). */
    cr_assert_float_eq(scores().customer, 50, 1e-9);

    apply(ev(SK_EV_API_CALL, "2026-03-10T11:00:00Z"));
    cr_assert_float_eq(scores().upsell, 8, 1e-9);
    apply(ev(SK_EV_API_CALL, "2026-02-08T11:00:00Z"));
    cr_assert_float_eq(scores().upsell, 0, 1e-9);
    int64_t feb9;
    sk_parse_time("2026-02-08", &feb9);
    cr_assert_eq(acct->first_api_call_day, sk_day_of(feb9));
}
