/*
 * account.h - one customer account's state, and the two ways it moves:
 * applying an event, and evaluating it at a later time with no event.
 *
 * The state is everything the model needs to score the account at any
 * later moment: the lifetime points, daily buckets for the last two
 * windows (the 30-day window and the one before it), and the sequence
 * state behind the flags.  Its size is bounded whatever the input: the
 * day buckets span at most 2 * window_days days, every set and list has a
 * fixed capacity (see the SK_ACCOUNT_* limits and the notes on each),
 * and the duplicate-id memory is capped by the rules.
 *
 * Ownership: an sk_account_t owns every array it points to (day buckets,
 * the bounded sets and lists, the id ring, the positions) and the topic
 * string of each position.  The arrays start empty (NULL, capacity 0)
 * and grow on demand up to their capacity, so a quiet account costs
 * little more than the struct; sk_account_destroy() frees them all, and
 * code outside account.c and state_codec.c only reads them.
 *
 * Time moves forward one UTC midnight at a time: before an event is
 * applied, the account is evaluated at every midnight since its clock,
 * so alerts caused by time alone carry the midnight that caused them, and
 * the same events always give the same alerts, however they were batched.
 */
#ifndef SCOREKEEPER_ACCOUNT_H
#define SCOREKEEPER_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "common.h"
#include "event.h"
#include "model.h"
#include "rules.h"

/* Capacities of the bounded sets.  Each keeps the most recent entries; a
 * threshold-based rule stays exact while its threshold is below the
 * capacity (for example: "2+ distinct users" needs the 2 most recent).
 * They are hard maxima: the heap arrays holding the sets grow on demand
 * and never beyond them. */
#define SK_ACCOUNT_MAX_MONTHS 24     /**< months with a login */
#define SK_ACCOUNT_MAX_FEATURES 64   /**< features ever used */
#define SK_ACCOUNT_MAX_PEOPLE 48     /**< users, role holders, departments */
#define SK_ACCOUNT_MAX_CANCELS 16    /**< open meeting cancels */
#define SK_ACCOUNT_MAX_OUTREACH 16   /**< outreach since the last response */
#define SK_ACCOUNT_MAX_RESPONSES 32  /**< response-time samples */
#define SK_ACCOUNT_MAX_POSITIONS 8   /**< (topic, partition) offsets */
#define SK_ACCOUNT_NO_DAY INT32_MIN  /**< "never" for day fields */

/** Counters of one UTC day.  Counters saturate rather than wrap. */
typedef struct sk_day_bucket {
    int32_t day;                  /**< UTC day number */
    uint16_t logins;              /**< login events */
    uint16_t usage_events;        /**< usage events (any minutes) */
    double usage_minutes;         /**< sum of usage values */
    uint16_t meetings;            /**< meeting_attended */
    uint16_t strategic_meetings;  /**< attended with attrs.strategic */
    uint32_t meeting_quality;     /**< sum of per-meeting quality */
    uint16_t missed;              /**< meeting_missed */
    uint16_t emails;              /**< email_exchange */
    uint16_t tickets;             /**< support_ticket */
    uint16_t trainings;           /**< training */
    uint16_t outreach;            /**< csm_outreach */
    uint16_t responses;           /**< customer_response */
    uint16_t qbr_declined;        /**< qbr_declined */
    uint16_t payment_failed;      /**< payment_failed */
    uint16_t cancellation_views;  /**< page_view cancellation */
    uint16_t executive_events;    /**< events with role executive */
    double customer_points;       /**< per-event customer points */
    uint8_t upsell;               /**< SK_UPSELL_* patterns seen */
} sk_day_bucket_t;

/* Upsell patterns, as bits of sk_day_bucket_t.upsell. */
#define SK_UPSELL_PLAN_USAGE 0x01u
#define SK_UPSELL_ENTERPRISE_VIEW 0x02u
#define SK_UPSELL_SEAT_REQUEST 0x04u
#define SK_UPSELL_FIRST_API_CALL 0x08u

/** Kinds of entry in the people set. */
typedef enum sk_person_kind {
    SK_PERSON_USER,       /**< a distinct `user` */
    SK_PERSON_EXECUTIVE,  /**< a user seen with role executive */
    SK_PERSON_CHAMPION,   /**< ... champion */
    SK_PERSON_POWER_USER, /**< ... power_user */
    SK_PERSON_DEPARTMENT, /**< a distinct `dept` */
    SK_PERSON__COUNT
} sk_person_kind_t;

typedef struct sk_person {
    uint64_t hash;    /**< sk_hash64 of the user or department name */
    int32_t last_day; /**< latest day seen */
    uint8_t kind;     /**< sk_person_kind_t */
} sk_person_t;

typedef struct sk_feature_use {
    uint64_t hash;     /**< sk_hash64 of the feature key */
    int32_t last_day;  /**< latest day used */
    int32_t first_day; /**< earliest day used: its bucket holds the
                            first-use points */
} sk_feature_use_t;

typedef struct sk_response_sample {
    int32_t day;  /**< day of the customer_response */
    float hours;  /**< hours to respond */
} sk_response_sample_t;

typedef struct sk_seen_id {
    uint64_t hash; /**< sk_hash64 of the event id */
    int64_t ts_ms; /**< its event time */
} sk_seen_id_t;

/** Last Kafka offset applied to this account for one partition. */
typedef struct sk_position {
    char *topic;       /**< topic name, at most SK_TOPIC_MAX bytes; owned */
    int32_t partition; /**< partition number */
    int64_t offset;    /**< offset of the last message applied */
} sk_position_t;

/** What was last reported (alerted) for the account. */
typedef struct sk_reported {
    int64_t stage;        /**< points stage, 0 below the first */
    uint8_t eng_tier;     /**< sk_eng_tier_t */
    uint8_t segment;      /**< sk_segment_t */
    uint8_t health;       /**< sk_health_t */
    uint32_t flags;       /**< bit (1 << sk_flag_t) per raised flag */
    int64_t flag_since[SK_FLAG__COUNT]; /**< raise time of each raised flag */
} sk_reported_t;

typedef struct sk_account {
    char id[SK_ACCOUNT_MAX + 1]; /**< the account id */
    int64_t clock_ms;   /**< the account's time: latest event or evaluation */
    int64_t updated_ms; /**< event time of the latest event applied */
    int64_t points;     /**< lifetime points, may be negative */
    uint64_t events_applied; /**< lifetime count of applied events */
    /** lifetime points by event type, for the explanation */
    int64_t points_by_type[SK_EV__COUNT];

    sk_day_bucket_t *days; /**< ascending by day; owned */
    int n_days, cap_days;

    int32_t *login_months; /**< months with a login, ascending, newest
                                kept, at most SK_ACCOUNT_MAX_MONTHS; owned */
    int n_login_months, cap_login_months;
    int32_t last_login_day; /**< SK_ACCOUNT_NO_DAY if never */
    bool api_call_seen;     /**< an api_call ever */
    int32_t first_api_call_day; /**< day of the earliest api_call, whose
                                     bucket holds the upsell pattern;
                                     SK_ACCOUNT_NO_DAY if unknown */

    sk_feature_use_t *features; /**< features ever used, at most
                                     SK_ACCOUNT_MAX_FEATURES; owned */
    int n_features, cap_features;
    sk_person_t *people; /**< people seen, at most SK_ACCOUNT_MAX_PEOPLE;
                              owned */
    int n_people, cap_people;

    int64_t *open_cancels; /**< ts of open cancels, oldest first, at most
                                SK_ACCOUNT_MAX_CANCELS; owned */
    int n_open_cancels, cap_open_cancels;
    int64_t *outreach; /**< ts of outreach since the last response, oldest
                            first, at most SK_ACCOUNT_MAX_OUTREACH; owned */
    int n_outreach, cap_outreach;
    int64_t last_response_ms; /**< INT64_MIN if never */
    sk_response_sample_t *responses; /**< oldest first, at most
                                          SK_ACCOUNT_MAX_RESPONSES; owned */
    int n_responses, cap_responses;
    int64_t last_nps_ms; /**< INT64_MIN if never */
    int last_nps;        /**< its score */

    int64_t high_since_ms; /**< customer score >= loyal_min_score since; INT64_MIN if not */

    sk_seen_id_t *seen; /**< ring of recent event ids, grown on demand up
                             to rules->dedup_max_ids; owned */
    int n_seen, cap_seen, seen_next;

    sk_position_t *positions; /**< oldest first, at most
                                   SK_ACCOUNT_MAX_POSITIONS; owned */
    int n_positions, cap_positions;

    sk_reported_t reported; /**< last reported values */
} sk_account_t;

/** Result of applying one event. */
typedef enum sk_apply_result {
    SK_APPLIED,        /**< the event changed the state */
    SK_DUPLICATE,      /**< its id was seen within the horizon: ignored */
} sk_apply_result_t;

/**
 * @brief A new, empty account, already holding the values an empty
 *        account scores (so its first event alerts only on real change).
 * @returns the account, which the caller frees with sk_account_destroy(),
 *          or NULL if out of memory or @p id is not a valid account id.
 */
sk_account_t *sk_account_new(const char *id, const sk_rules_t *rules);

/** Free @p acct and what it owns.  NULL is a no-op. */
void sk_account_destroy(sk_account_t *acct);

/** @brief A deep copy of @p acct, or NULL (out of memory). */
sk_account_t *sk_account_clone(const sk_account_t *acct);

/**
 * @brief Apply one event: advance to every midnight before it, then count
 *        it, then evaluate and report what changed.
 * @param out receives the alerts, in the order they happened (appended).
 * @returns SK_APPLIED, SK_DUPLICATE, or SK_ERR (out of memory; the state
 *          is then unchanged).
 * @remark @p ev->account must equal @p acct->id; the caller routes events.
 */
int sk_account_apply(sk_account_t *acct, const sk_rules_t *rules,
                     const sk_event_t *ev, sk_alerts_t *out);

/**
 * @brief Move the account's clock to @p now_ms, evaluating it at every
 *        midnight on the way, and append the alerts that time caused.
 *        A @p now_ms before the account's clock does nothing.
 * @returns SK_OK or SK_ERR (out of memory).
 */
int sk_account_evaluate(sk_account_t *acct, const sk_rules_t *rules,
                        int64_t now_ms, sk_alerts_t *out);

/**
 * @brief The next moment at which time alone can change this account's
 *        results (a midnight), or INT64_MAX if nothing is pending.
 * @remark The daemon schedules sk_account_evaluate() at this time.
 */
int64_t sk_account_next_due_ms(const sk_account_t *acct,
                               const sk_rules_t *rules);

/**
 * @brief The offset last applied for (@p topic, @p partition), or -1.
 */
int64_t sk_account_position(const sk_account_t *acct, const char *topic,
                            int32_t partition);

/**
 * @brief Record that the message at @p offset of (@p topic, @p partition)
 *        has been applied.  Keeps the newest SK_ACCOUNT_MAX_POSITIONS.
 * @param topic at most SK_TOPIC_MAX bytes (longer names are cut there).
 * @returns SK_OK, or SK_ERR (out of memory; the positions are then
 *          unchanged).
 */
int sk_account_set_position(sk_account_t *acct, const char *topic,
                            int32_t partition, int64_t offset);

/**
 * @brief Replace the positions of @p dst with a copy of those of @p src.
 * @returns SK_OK, or SK_ERR (out of memory; @p dst is then unchanged).
 */
int sk_account_copy_positions(sk_account_t *dst, const sk_account_t *src);

#endif
