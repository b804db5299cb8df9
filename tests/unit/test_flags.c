/*
 * test_flags.c - every flag of MODEL.md raised and cleared, by events and
 * by the passing of time alone, with the alert each change produces.
 */
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
    acct = sk_account_new("globex", &rules);
    cr_assert_not_null(acct);
    memset(&alerts, 0, sizeof alerts);
}

static void teardown(void)
{
    sk_account_destroy(acct);
    sk_alerts_free(&alerts);
}

TestSuite(flags, .init = setup, .fini = teardown);

static sk_event_t ev(sk_event_type_t type, const char *iso)
{
    return sk_test_event("globex", type, iso);
}

static void apply(sk_event_t e)
{
    cr_assert_eq(sk_account_apply(acct, &rules, &e, &alerts), SK_APPLIED);
}

static sk_event_t valued(sk_event_type_t type, const char *iso, double v)
{
    sk_event_t e = ev(type, iso);
    e.value = v;
    e.has_value = true;
    return e;
}

static sk_event_t labelled(sk_event_type_t type, const char *iso,
                           const char *label)
{
    sk_event_t e = ev(type, iso);
    snprintf(e.label, sizeof e.label, "%s", label);
    return e;
}

static void at(const char *iso)
{
    int64_t t;
    cr_assert_eq(sk_parse_time(iso, &t), SK_OK);
    cr_assert_eq(sk_account_evaluate(acct, &rules, t, &alerts), SK_OK);
}

static bool raised(sk_flag_t f)
{
    sk_scores_t s;
    sk_scores_compute(acct, &rules, &s);
    return s.flags & (1u << f);
}

/* The last alert about @p f, checked to be of @p kind at @p iso. */
static const sk_alert_t *expect_alert(sk_flag_t f, sk_alert_kind_t kind,
                                      const char *iso)
{
    const sk_alert_t *found = NULL;
    for (size_t i = 0; i < alerts.n; i++)
        if (alerts.v[i].flag == (int)f)
            found = &alerts.v[i];
    cr_assert_not_null(found, "no alert for %s", sk_flag_name(f));
    cr_assert_eq(found->kind, kind, "%s: %s", sk_flag_name(f),
                 sk_alert_kind_name(found->kind));
    int64_t t;
    sk_parse_time(iso, &t);
    char got[40];
    sk_format_time(found->ts_ms, got, sizeof got);
    cr_assert_eq(found->ts_ms, t, "%s at %s, expected %s", sk_flag_name(f),
                 got, iso);
    return found;
}

Test(flags, missed_meetings_by_events_and_time)
{
    apply(ev(SK_EV_MEETING_MISSED, "2026-03-01T10:00:00Z"));
    cr_assert_not(raised(SK_FLAG_MISSED_MEETINGS));
    apply(ev(SK_EV_MEETING_CANCELED, "2026-03-05T10:00:00Z"));
    cr_assert(raised(SK_FLAG_MISSED_MEETINGS), "a cancel not rescheduled counts");
    const sk_alert_t *a = expect_alert(SK_FLAG_MISSED_MEETINGS,
                                       SK_ALERT_FLAG_RAISED,
                                       "2026-03-05T10:00:00Z");
    cr_assert_eq(a->severity, SK_SEVERITY_RED);
    cr_assert_str_neq(a->event_id, "");
    apply(ev(SK_EV_MEETING_RESCHEDULED, "2026-03-06T10:00:00Z"));
    cr_assert_not(raised(SK_FLAG_MISSED_MEETINGS), "rescheduled: settled");
    expect_alert(SK_FLAG_MISSED_MEETINGS, SK_ALERT_FLAG_CLEARED,
                 "2026-03-06T10:00:00Z");
    apply(ev(SK_EV_MEETING_MISSED, "2026-03-10T10:00:00Z"));
    cr_assert(raised(SK_FLAG_MISSED_MEETINGS));
    /* The 03-01 miss leaves the window at 03-31 00:00. */
    at("2026-04-02T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_MISSED_MEETINGS));
    const sk_alert_t *c = expect_alert(SK_FLAG_MISSED_MEETINGS,
                                       SK_ALERT_FLAG_CLEARED,
                                       "2026-03-31T00:00:00Z");
    cr_assert_str_eq(c->event_id, "", "time-driven alerts name no event");
}

Test(flags, reschedule_settles_oldest_open_cancel)
{
    apply(ev(SK_EV_MEETING_CANCELED, "2026-03-01T10:00:00Z"));
    apply(ev(SK_EV_MEETING_CANCELED, "2026-03-02T10:00:00Z"));
    apply(ev(SK_EV_MEETING_CANCELED, "2026-03-03T10:00:00Z"));
    apply(ev(SK_EV_MEETING_RESCHEDULED, "2026-03-04T10:00:00Z"));
    cr_assert(raised(SK_FLAG_MISSED_MEETINGS), "two cancels still open");
    /* 03-01 was settled: 03-02 leaving the window clears the flag. */
    at("2026-04-01T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_MISSED_MEETINGS));
    expect_alert(SK_FLAG_MISSED_MEETINGS, SK_ALERT_FLAG_CLEARED,
                 "2026-04-01T00:00:00Z");
}

Test(flags, unanswered_outreach)
{
    apply(ev(SK_EV_CSM_OUTREACH, "2026-03-01T10:00:00Z"));
    apply(ev(SK_EV_CSM_OUTREACH, "2026-03-02T10:00:00Z"));
    cr_assert_not(raised(SK_FLAG_UNANSWERED_OUTREACH));
    apply(ev(SK_EV_CSM_OUTREACH, "2026-03-03T10:00:00Z"));
    cr_assert(raised(SK_FLAG_UNANSWERED_OUTREACH));
    apply(ev(SK_EV_CUSTOMER_RESPONSE, "2026-03-04T10:00:00Z"));
    cr_assert_not(raised(SK_FLAG_UNANSWERED_OUTREACH), "answered");
    expect_alert(SK_FLAG_UNANSWERED_OUTREACH, SK_ALERT_FLAG_CLEARED,
                 "2026-03-04T10:00:00Z");
    apply(ev(SK_EV_CSM_OUTREACH, "2026-03-05T10:00:00Z"));
    apply(ev(SK_EV_CSM_OUTREACH, "2026-03-06T10:00:00Z"));
    apply(ev(SK_EV_CSM_OUTREACH, "2026-03-07T10:00:00Z"));
    cr_assert(raised(SK_FLAG_UNANSWERED_OUTREACH));
    at("2026-04-04T00:00:00Z"); /* 03-05 leaves on 04-04 */
    cr_assert_not(raised(SK_FLAG_UNANSWERED_OUTREACH));
    expect_alert(SK_FLAG_UNANSWERED_OUTREACH, SK_ALERT_FLAG_CLEARED,
                 "2026-04-04T00:00:00Z");
}

Test(flags, qbr_declined)
{
    apply(ev(SK_EV_QBR_DECLINED, "2026-03-01T10:00:00Z"));
    cr_assert(raised(SK_FLAG_QBR_DECLINED));
    at("2026-03-30T23:00:00Z");
    cr_assert(raised(SK_FLAG_QBR_DECLINED));
    at("2026-03-31T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_QBR_DECLINED));
}

Test(flags, usage_drop_by_time_then_cleared_by_usage)
{
    apply(valued(SK_EV_USAGE, "2026-03-01T10:00:00Z", 400));
    apply(valued(SK_EV_USAGE, "2026-03-20T10:00:00Z", 120));
    cr_assert_not(raised(SK_FLAG_USAGE_DROP));
    /* On 03-31 the 400 min move to the previous window: 120 < 200. */
    at("2026-04-05T00:00:00Z");
    cr_assert(raised(SK_FLAG_USAGE_DROP));
    const sk_alert_t *a = expect_alert(SK_FLAG_USAGE_DROP, SK_ALERT_FLAG_RAISED,
                                       "2026-03-31T00:00:00Z");
    cr_assert(strstr(a->reason, "usage 120 min in the last 30 days, 400 min "
                                "the 30 before: -70%"),
              "reason: %s", a->reason);
    apply(valued(SK_EV_USAGE, "2026-04-06T10:00:00Z", 90));
    cr_assert_not(raised(SK_FLAG_USAGE_DROP), "210 >= 50%% of 400");
    expect_alert(SK_FLAG_USAGE_DROP, SK_ALERT_FLAG_CLEARED,
                 "2026-04-06T10:00:00Z");
}

Test(flags, usage_drop_needs_a_real_previous_period)
{
    apply(valued(SK_EV_USAGE, "2026-03-01T10:00:00Z", 59));
    at("2026-04-05T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_USAGE_DROP), "previous period under 60 min");
}

Test(flags, exec_silent)
{
    sk_event_t e = ev(SK_EV_MEETING_ATTENDED, "2026-03-01T10:00:00Z");
    e.role = SK_ROLE_EXECUTIVE;
    snprintf(e.user, sizeof e.user, "ceo");
    apply(e);
    cr_assert_not(raised(SK_FLAG_EXEC_SILENT));
    at("2026-03-31T00:00:00Z");
    cr_assert(raised(SK_FLAG_EXEC_SILENT));
    expect_alert(SK_FLAG_EXEC_SILENT, SK_ALERT_FLAG_RAISED,
                 "2026-03-31T00:00:00Z");
    e = ev(SK_EV_EMAIL_EXCHANGE, "2026-04-02T10:00:00Z");
    e.role = SK_ROLE_EXECUTIVE;
    apply(e);
    cr_assert_not(raised(SK_FLAG_EXEC_SILENT));
}

Test(flags, no_login_30d_fires_at_the_midnight)
{
    apply(ev(SK_EV_LOGIN, "2026-03-01T10:00:00Z"));
    at("2026-03-30T23:59:59Z");
    cr_assert_not(raised(SK_FLAG_NO_LOGIN_30D));
    at("2026-04-10T12:00:00Z");
    cr_assert(raised(SK_FLAG_NO_LOGIN_30D));
    const sk_alert_t *a = expect_alert(SK_FLAG_NO_LOGIN_30D,
                                       SK_ALERT_FLAG_RAISED,
                                       "2026-03-31T00:00:00Z");
    cr_assert_float_eq(a->customer, 40, 1e-9, "customer -10 while raised");
    apply(ev(SK_EV_LOGIN, "2026-04-11T10:00:00Z"));
    cr_assert_not(raised(SK_FLAG_NO_LOGIN_30D));
    expect_alert(SK_FLAG_NO_LOGIN_30D, SK_ALERT_FLAG_CLEARED,
                 "2026-04-11T10:00:00Z");
}

Test(flags, no_login_needs_a_login_before)
{
    apply(ev(SK_EV_EMAIL_EXCHANGE, "2026-03-01T10:00:00Z"));
    at("2026-06-01T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_NO_LOGIN_30D));
}

Test(flags, payment_failures)
{
    apply(ev(SK_EV_PAYMENT_FAILED, "2026-03-01T10:00:00Z"));
    cr_assert_not(raised(SK_FLAG_PAYMENT_FAILURES));
    apply(ev(SK_EV_PAYMENT_FAILED, "2026-03-20T10:00:00Z"));
    cr_assert(raised(SK_FLAG_PAYMENT_FAILURES));
    sk_scores_t s;
    sk_scores_compute(acct, &rules, &s);
    cr_assert_float_eq(s.customer, 40, 1e-9);
    cr_assert_eq(s.health, SK_HEALTH_AT_RISK);
    at("2026-03-31T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_PAYMENT_FAILURES));
    expect_alert(SK_FLAG_PAYMENT_FAILURES, SK_ALERT_FLAG_CLEARED,
                 "2026-03-31T00:00:00Z");
}

Test(flags, cancellation_intent)
{
    apply(labelled(SK_EV_PAGE_VIEW, "2026-03-01T10:00:00Z", "pricing"));
    cr_assert_not(raised(SK_FLAG_CANCELLATION_INTENT));
    apply(labelled(SK_EV_PAGE_VIEW, "2026-03-02T10:00:00Z", "cancellation"));
    cr_assert(raised(SK_FLAG_CANCELLATION_INTENT));
    at("2026-04-01T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_CANCELLATION_INTENT));
}

Test(flags, detractor_latest_nps)
{
    apply(valued(SK_EV_NPS, "2026-03-01T10:00:00Z", 6));
    cr_assert(raised(SK_FLAG_DETRACTOR));
    cr_assert_eq(expect_alert(SK_FLAG_DETRACTOR, SK_ALERT_FLAG_RAISED,
                              "2026-03-01T10:00:00Z")
                     ->severity,
                 SK_SEVERITY_YELLOW);
    apply(valued(SK_EV_NPS, "2026-03-02T10:00:00Z", 7));
    cr_assert_not(raised(SK_FLAG_DETRACTOR), "the latest NPS is 7");
    /* A late detractor answer older than the latest changes nothing. */
    apply(valued(SK_EV_NPS, "2026-03-01T12:00:00Z", 0));
    cr_assert_not(raised(SK_FLAG_DETRACTOR));
    apply(valued(SK_EV_NPS, "2026-03-05T10:00:00Z", 3));
    cr_assert(raised(SK_FLAG_DETRACTOR));
    at("2026-04-04T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_DETRACTOR), "left the window");
}

Test(flags, single_threaded)
{
    sk_event_t e = ev(SK_EV_LOGIN, "2026-03-01T10:00:00Z");
    snprintf(e.user, sizeof e.user, "ann");
    apply(e);
    cr_assert(raised(SK_FLAG_SINGLE_THREADED));
    e = ev(SK_EV_LOGIN, "2026-03-02T10:00:00Z");
    snprintf(e.user, sizeof e.user, "bob");
    apply(e);
    cr_assert_not(raised(SK_FLAG_SINGLE_THREADED));
    /* ann's last event leaves the window first: bob alone remains. */
    at("2026-03-31T00:00:00Z");
    cr_assert(raised(SK_FLAG_SINGLE_THREADED));
    at("2026-04-01T00:00:00Z");
    cr_assert_not(raised(SK_FLAG_SINGLE_THREADED), "nobody at all");
}

Test(flags, slow_response)
{
    apply(valued(SK_EV_CUSTOMER_RESPONSE, "2026-03-01T10:00:00Z", 10));
    apply(valued(SK_EV_CUSTOMER_RESPONSE, "2026-03-02T10:00:00Z", 20));
    at("2026-03-31T00:00:00Z");
    apply(valued(SK_EV_CUSTOMER_RESPONSE, "2026-04-01T10:00:00Z", 80));
    cr_assert(raised(SK_FLAG_SLOW_RESPONSE), "median 80 h, up from 15 h");
    apply(valued(SK_EV_CUSTOMER_RESPONSE, "2026-04-02T10:00:00Z", 60));
    cr_assert_not(raised(SK_FLAG_SLOW_RESPONSE), "median 70 h");
}

Test(flags, slow_response_not_when_it_was_slow_before)
{
    apply(valued(SK_EV_CUSTOMER_RESPONSE, "2026-03-01T10:00:00Z", 30));
    at("2026-03-31T00:00:00Z");
    apply(valued(SK_EV_CUSTOMER_RESPONSE, "2026-04-01T10:00:00Z", 80));
    cr_assert_not(raised(SK_FLAG_SLOW_RESPONSE), "was 30 h, above 24 h");
}

Test(flags, tactical_only)
{
    apply(ev(SK_EV_MEETING_ATTENDED, "2026-03-01T10:00:00Z"));
    cr_assert(raised(SK_FLAG_TACTICAL_ONLY));
    sk_event_t e = ev(SK_EV_MEETING_ATTENDED, "2026-03-02T10:00:00Z");
    e.attrs = SK_ATTR_STRATEGIC;
    apply(e);
    cr_assert_not(raised(SK_FLAG_TACTICAL_ONLY));
}

Test(flags, disabled_flag_never_raised)
{
    rules.flags[SK_FLAG_QBR_DECLINED].enabled = false;
    apply(ev(SK_EV_QBR_DECLINED, "2026-03-01T10:00:00Z"));
    cr_assert_not(raised(SK_FLAG_QBR_DECLINED));
}

Test(flags, health_watch_on_yellow_flag)
{
    /* A detractor with otherwise steady customer: watch. */
    apply(valued(SK_EV_NPS, "2026-03-01T10:00:00Z", 5));
    sk_scores_t s;
    sk_scores_compute(acct, &rules, &s);
    cr_assert_eq(s.health, SK_HEALTH_WATCH);
    cr_assert_eq(acct->reported.health, SK_HEALTH_WATCH);
}

Test(flags, alert_ids_are_deterministic)
{
    sk_account_t *twin = sk_account_new("globex", &rules);
    sk_alerts_t twin_alerts = {0};
    const char *times[] = {"2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z",
                           "2026-03-03T10:00:00Z"};
    for (int i = 0; i < 3; i++) {
        sk_event_t e = ev(SK_EV_PAYMENT_FAILED, times[i]);
        apply(e);
        sk_account_apply(twin, &rules, &e, &twin_alerts);
    }
    at("2026-05-01T00:00:00Z");
    int64_t t;
    sk_parse_time("2026-05-01T00:00:00Z", &t);
    sk_account_evaluate(twin, &rules, t, &twin_alerts);
    cr_assert_gt(alerts.n, 2);
    cr_assert_eq(alerts.n, twin_alerts.n);
    for (size_t i = 0; i < alerts.n; i++)
        cr_assert_str_eq(alerts.v[i].id, twin_alerts.v[i].id);
    for (size_t i = 1; i < alerts.n; i++)
        cr_assert_str_neq(alerts.v[i].id, alerts.v[i - 1].id);
    sk_account_destroy(twin);
    sk_alerts_free(&twin_alerts);
}
