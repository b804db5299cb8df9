/*
 * model.c - the wire names of the model's enums, and back.
 *
 * One table per enum, indexed by the enum, so a name and its value can
 * never drift apart; parsing is a linear scan of at most 25 names.
 */
#include <string.h>

#include "scorekeeper/model.h"

static const char *const event_types[SK_EV__COUNT] = {
    "user_created",     "login",          "usage",
    "feature_used",     "page_view",      "api_call",
    "plan_usage",       "seat_request",   "meeting_attended",
    "meeting_missed",   "meeting_canceled", "meeting_rescheduled",
    "qbr_declined",     "csm_outreach",   "customer_response",
    "email_exchange",   "support_ticket", "support_resolved",
    "training",         "feedback",       "nps",
    "referral",         "payment_succeeded", "payment_failed",
    "renewal",
};
static const char *const roles[SK_ROLE__COUNT] = {
    "", "executive", "champion", "power_user", "end_user",
};
static const char *const flags[SK_FLAG__COUNT] = {
    "missed_meetings", "unanswered_outreach", "qbr_declined",
    "usage_drop",      "exec_silent",         "no_login_30d",
    "payment_failures", "cancellation_intent", "detractor",
    "single_threaded", "slow_response",       "tactical_only",
};
static const char *const severities[] = {"red", "yellow", "info"};
static const char *const eng_tiers[SK_TIER__COUNT] = {
    "green", "yellow", "orange", "red",
};
static const char *const segments[SK_SEGMENT__COUNT] = {
    "upsell_candidate", "loyal", "risk", "at_risk", "steady",
};
static const char *const healths[SK_HEALTH__COUNT] = {
    "at_risk", "watch", "growth", "healthy",
};

static int lookup(const char *const *names, int n, const char *name,
                  size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return i;
    return -1;
}

#define NAME_FUNCS(fn, type, table, count)                                 \
    const char *sk_##fn##_name(type v)                                     \
    {                                                                      \
        return (int)v >= 0 && (int)v < (count) ? table[v] : "?";           \
    }                                                                      \
    int sk_##fn##_parse(const char *name, size_t len)                      \
    {                                                                      \
        return lookup(table, (count), name, len);                          \
    }

NAME_FUNCS(event_type, sk_event_type_t, event_types, SK_EV__COUNT)
NAME_FUNCS(role, sk_role_t, roles, SK_ROLE__COUNT)
NAME_FUNCS(flag, sk_flag_t, flags, SK_FLAG__COUNT)
NAME_FUNCS(severity, sk_severity_t, severities, 3)
NAME_FUNCS(eng_tier, sk_eng_tier_t, eng_tiers, SK_TIER__COUNT)
NAME_FUNCS(segment, sk_segment_t, segments, SK_SEGMENT__COUNT)
NAME_FUNCS(health, sk_health_t, healths, SK_HEALTH__COUNT)
