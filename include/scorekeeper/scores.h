/*
 * scores.h - what an account's state means at a moment: points and
 * stage, engagement and its four dimensions, the customer score and its
 * segment, the health tier with its play, and the raised flags with the
 * evidence behind each.  Computing scores reads the state and never
 * changes it; the JSON form is the contract of `scorekeeper score`.
 */
#ifndef SCOREKEEPER_SCORES_H
#define SCOREKEEPER_SCORES_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "rules.h"

struct sk_account;

/** Sums over one window of day buckets. */
typedef struct sk_window_sums {
    uint32_t logins, usage_events, meetings, strategic_meetings, missed;
    uint32_t emails, tickets, trainings, outreach, responses;
    uint32_t qbr_declined, payment_failed, cancellation_views;
    uint32_t executive_events;
    uint64_t meeting_quality;
    double usage_minutes;
    double customer_points;
    unsigned upsell; /**< SK_UPSELL_* seen in the window */
    int active_weeks; /**< ISO weeks with a login or usage */
} sk_window_sums_t;

/** Everything the model computes for an account at one moment. */
typedef struct sk_scores {
    int64_t now_ms;  /**< the moment */
    int64_t points;  /**< lifetime points */
    int64_t stage;   /**< highest stage reached, 0 below the first */

    double engagement; /**< 0..100, unrounded */
    double frequency, quality, breadth, product; /**< dimensions, 0..100 */
    bool quality_neutral;  /**< quality had no data and took the default */
    bool has_velocity;     /**< false when the previous window had none */
    double velocity;       /**< (current - previous) / previous */
    sk_eng_tier_t eng_tier;

    double customer;   /**< 0..100, unrounded */
    double upsell;     /**< upsell sub-score */
    sk_segment_t segment;

    sk_health_t health;
    uint32_t flags; /**< bit (1 << sk_flag_t) per raised flag */

    sk_window_sums_t cur;  /**< the 30-day window */
    sk_window_sums_t prev; /**< the 30 days before it */
    /* Evidence for the explanation and for flag reasons. */
    int missed_count;        /**< missed + cancels not rescheduled */
    int unanswered_count;    /**< outreach since the last response */
    int distinct_users;      /**< in the window (up to capacity) */
    int champions, power_users, departments; /**< in the window */
    bool executive_sponsor;  /**< an executive user in the window */
    int features_used;       /**< catalogue features used in the window */
    double median_response_cur, median_response_prev; /**< hours; <0 none */
    int latest_nps;          /**< -1 if none in the window */
    int32_t last_login_day;  /**< SK_ACCOUNT_NO_DAY if never */
} sk_scores_t;

/**
 * @brief Compute every score of @p acct at its own clock.
 * @remark Pure: reads @p acct only.  For another moment, evaluate a copy
 *         (sk_account_clone() + sk_account_evaluate()) first.
 */
void sk_scores_compute(const struct sk_account *acct, const sk_rules_t *rules,
                       sk_scores_t *out);

/**
 * @brief The one-line human reason for @p flag given @p s, with the
 *        evidence ("usage 120 min in the last 30 days, 400 min the 30
 *        before: -70%").  Writes at most @p len bytes, NUL included.
 */
void sk_scores_flag_reason(const sk_scores_t *s, const sk_rules_t *rules,
                           sk_flag_t flag, char *buf, size_t len);

/**
 * @brief The JSON object `scorekeeper score` prints for @p acct, at its
 *        clock, as one line.
 * @returns a string the caller frees with free(), or NULL.
 */
char *sk_scores_to_json(const struct sk_account *acct,
                        const sk_rules_t *rules);

/**
 * @brief The human explanation of every score of @p acct: each component
 *        with its count, points, cap and share of the total.
 * @returns a multi-line string the caller frees with free(), or NULL.
 */
char *sk_scores_explain(const struct sk_account *acct,
                        const sk_rules_t *rules);

#endif
