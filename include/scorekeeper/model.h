/*
 * model.h - the vocabulary of the scoring model: event types, roles,
 * flags, tiers, segments and health tiers, and their names.
 *
 * The names are the ones that appear on the wire (events, alerts, JSON
 * output, Redis fields, the rules file); the enums are what the core
 * computes with.  Each *_name() returns a static string; each *_parse()
 * returns the enum value or -1 for an unknown name.
 */
#ifndef SCOREKEEPER_MODEL_H
#define SCOREKEEPER_MODEL_H

#include <stddef.h>

typedef enum sk_event_type {
    SK_EV_USER_CREATED,
    SK_EV_LOGIN,
    SK_EV_USAGE,
    SK_EV_FEATURE_USED,
    SK_EV_PAGE_VIEW,
    SK_EV_API_CALL,
    SK_EV_PLAN_USAGE,
    SK_EV_SEAT_REQUEST,
    SK_EV_MEETING_ATTENDED,
    SK_EV_MEETING_MISSED,
    SK_EV_MEETING_CANCELED,
    SK_EV_MEETING_RESCHEDULED,
    SK_EV_QBR_DECLINED,
    SK_EV_CSM_OUTREACH,
    SK_EV_CUSTOMER_RESPONSE,
    SK_EV_EMAIL_EXCHANGE,
    SK_EV_SUPPORT_TICKET,
    SK_EV_SUPPORT_RESOLVED,
    SK_EV_TRAINING,
    SK_EV_FEEDBACK,
    SK_EV_NPS,
    SK_EV_REFERRAL,
    SK_EV_PAYMENT_SUCCEEDED,
    SK_EV_PAYMENT_FAILED,
    SK_EV_RENEWAL,
    SK_EV__COUNT
} sk_event_type_t;

typedef enum sk_role {
    SK_ROLE_NONE,
    SK_ROLE_EXECUTIVE,
    SK_ROLE_CHAMPION,
    SK_ROLE_POWER_USER,
    SK_ROLE_END_USER,
    SK_ROLE__COUNT
} sk_role_t;

/* Meeting quality attributes (event "attrs"), as bits of sk_event_t.attrs. */
#define SK_ATTR_ON_TIME 0x01u
#define SK_ATTR_ACTIVE 0x02u
#define SK_ATTR_EXECUTIVE 0x04u
#define SK_ATTR_FOLLOW_THROUGH 0x08u
#define SK_ATTR_STRATEGIC 0x10u

typedef enum sk_flag {
    SK_FLAG_MISSED_MEETINGS,
    SK_FLAG_UNANSWERED_OUTREACH,
    SK_FLAG_QBR_DECLINED,
    SK_FLAG_USAGE_DROP,
    SK_FLAG_EXEC_SILENT,
    SK_FLAG_NO_LOGIN_30D,
    SK_FLAG_PAYMENT_FAILURES,
    SK_FLAG_CANCELLATION_INTENT,
    SK_FLAG_DETRACTOR,
    SK_FLAG_SINGLE_THREADED,
    SK_FLAG_SLOW_RESPONSE,
    SK_FLAG_TACTICAL_ONLY,
    SK_FLAG__COUNT
} sk_flag_t;

/** Severity of a flag (red or yellow) or of an alert (also info). */
typedef enum sk_severity {
    SK_SEVERITY_RED,
    SK_SEVERITY_YELLOW,
    SK_SEVERITY_INFO
} sk_severity_t;

/** Engagement tiers, best first. */
typedef enum sk_eng_tier {
    SK_TIER_GREEN,
    SK_TIER_YELLOW,
    SK_TIER_ORANGE,
    SK_TIER_RED,
    SK_TIER__COUNT
} sk_eng_tier_t;

/** Customer-score segments, in the order they are matched. */
typedef enum sk_segment {
    SK_SEGMENT_UPSELL_CANDIDATE,
    SK_SEGMENT_LOYAL,
    SK_SEGMENT_RISK,
    SK_SEGMENT_AT_RISK,
    SK_SEGMENT_STEADY,
    SK_SEGMENT__COUNT
} sk_segment_t;

/** Health tiers, in the order they are matched. */
typedef enum sk_health {
    SK_HEALTH_AT_RISK,
    SK_HEALTH_WATCH,
    SK_HEALTH_GROWTH,
    SK_HEALTH_HEALTHY,
    SK_HEALTH__COUNT
} sk_health_t;

const char *sk_event_type_name(sk_event_type_t type);
int sk_event_type_parse(const char *name, size_t len);
const char *sk_role_name(sk_role_t role);
int sk_role_parse(const char *name, size_t len);
const char *sk_flag_name(sk_flag_t flag);
int sk_flag_parse(const char *name, size_t len);
const char *sk_severity_name(sk_severity_t severity);
int sk_severity_parse(const char *name, size_t len);
const char *sk_eng_tier_name(sk_eng_tier_t tier);
int sk_eng_tier_parse(const char *name, size_t len);
const char *sk_segment_name(sk_segment_t segment);
int sk_segment_parse(const char *name, size_t len);
const char *sk_health_name(sk_health_t health);
int sk_health_parse(const char *name, size_t len);

#endif
