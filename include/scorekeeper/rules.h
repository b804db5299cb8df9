/*
 * rules.h - every number of the scoring model, loaded from a YAML file.
 *
 * The core holds no weight, cap or threshold of its own: they all come
 * from a rules file (deploy/rules.yaml implements MODEL.md; its reference
 * is schemas/rules.md).  Loading is strict: every key is required, unknown
 * keys are refused, and a bad file is rejected with "file:line: what is
 * wrong", so a typo never silently changes how customers are scored.
 * A loaded sk_rules_t is a plain value: copy it, compare it, swap it.
 */
#ifndef SCOREKEEPER_RULES_H
#define SCOREKEEPER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "model.h"

#define SK_RULES_MAX_STAGES 16
#define SK_RULES_MAX_BANDS 8
#define SK_RULES_MAX_FEATURES 64
#define SK_RULES_MAX_WINDOW_DAYS 90
#define SK_RULES_MAX_BYTES (1 << 20) /**< largest rules file accepted */

/** A band: a measure at or above `min` earns `points`. */
typedef struct sk_band {
    double min;    /**< lower bound, inclusive */
    double points; /**< what the band is worth */
} sk_band_t;

/** A counted activity: floor(count / per) * each, at most max. */
typedef struct sk_count_rule {
    double per;  /**< events per unit (1 for "each") */
    double each; /**< points per unit */
    double max;  /**< cap */
} sk_count_rule_t;

typedef enum sk_feature_class {
    SK_FEATURE_BASIC,
    SK_FEATURE_ADVANCED,
    SK_FEATURE_CORE,
    SK_FEATURE__COUNT
} sk_feature_class_t;

/** One entry of the product's feature catalogue. */
typedef struct sk_feature {
    char key[SK_LABEL_MAX + 1]; /**< the `label` of feature_used events */
    sk_feature_class_t cls;     /**< weight class */
    uint64_t key_hash;          /**< sk_hash64 of key, set by the loader */
} sk_feature_t;

/**
 * A flag's settings.  `threshold` and `threshold2` mean, per flag:
 *  missed_meetings, unanswered_outreach, qbr_declined, payment_failures,
 *  cancellation_intent: threshold = minimum count in the window;
 *  usage_drop: threshold = ratio (0.5), threshold2 = minimum minutes in
 *  the previous window (60); detractor: threshold = highest NPS that
 *  counts (6); single_threaded: threshold = distinct users (1);
 *  slow_response: threshold = median hours now above (72), threshold2 =
 *  median hours before at most (24); exec_silent, no_login_30d,
 *  tactical_only: unused.
 */
typedef struct sk_flag_rule {
    bool enabled;           /**< a disabled flag is never raised */
    sk_severity_t severity; /**< red or yellow */
    double threshold;
    double threshold2;
} sk_flag_rule_t;

/** A health tier's response. */
typedef struct sk_play {
    char name[64]; /**< e.g. "rescue plan" */
    int sla_hours; /**< response SLA, -1 for none */
} sk_play_t;

/** Engagement (seed 003): dimensions, weights, tiers. */
typedef struct sk_engagement_rules {
    double w_frequency, w_quality, w_breadth, w_product; /**< weights */

    sk_count_rule_t meeting, email, login, ticket, training;
    double frequency_max; /**< capped points that make 100 (115) */

    double quality_neutral; /**< quality with no data in the window */
    /** response rate in percent; highest `min` reached wins */
    sk_band_t response[SK_RULES_MAX_BANDS];
    int n_response;
    double mq_on_time, mq_active, mq_executive, mq_follow_through,
        mq_strategic; /**< meeting quality per attribute */

    double br_executive;           /**< an executive sponsor */
    sk_count_rule_t br_champion;   /**< per distinct champion */
    sk_count_rule_t br_power_user; /**< per distinct power user */
    int br_departments_min;        /**< departments for the bonus */
    double br_departments;         /**< the bonus */
    double breadth_max;            /**< points that make 100 (120) */

    double feature_weight[SK_FEATURE__COUNT]; /**< by class */
    sk_feature_t features[SK_RULES_MAX_FEATURES];
    int n_features;

    double tier_min[SK_TIER__COUNT]; /**< green, yellow, orange; red 0 */
} sk_engagement_rules_t;

/** Customer score (seed 004): points, upsell, segments. */
typedef struct sk_customer_rules {
    double base, min, max; /**< 50, clamped to 0..100 */
    double active_week;    /**< per ISO week with login or usage */
    double first_feature;  /**< first use of a feature ever */
    double support_satisfied, support_unsatisfied;
    double advanced_feature_view; /**< page_view advanced_feature */
    double cancellation_view;     /**< page_view cancellation */
    int nps_promoter_min;         /**< 9 */
    double nps_promoter;          /**< +15 */
    int nps_detractor_max;        /**< 6 */
    double nps_detractor;         /**< -15 */
    double referral, renewal;
    int payment_failures_min; /**< failed payments in the window (2) */
    double payment_failures;  /**< -10 */
    double no_login;          /**< while no_login_30d is raised */

    double upsell_plan_usage_min; /**< percent of plan (80) */
    double upsell_plan_usage;     /**< +15 */
    double upsell_enterprise_view;
    double upsell_seat_request;
    double upsell_first_api_call;

    double upsell_candidate_min_score;  /**< 80 */
    double upsell_candidate_min_upsell; /**< 20 */
    double loyal_min_score;             /**< 70 */
    int loyal_months;                   /**< 6 */
    double risk_below;                  /**< 30 */
    double at_risk_below;               /**< 50 */
} sk_customer_rules_t;

typedef struct sk_rules {
    char version[64];       /**< carried by every alert */
    int window_days;        /**< rolling window, days (30) */
    int dedup_horizon_days; /**< duplicate event ids ignored within (7) */
    int dedup_max_ids;      /**< ids remembered per account, at most */

    struct {
        double user_created;
        double login_monthly; /**< first login of each calendar month */
        double meeting_attended;
        double meeting_missed;
        double payment_succeeded;
        double payment_failed;
        double feedback_very_happy;
        double feedback_happy;
        double feedback_neutral;
        double feedback_not_happy;
        sk_band_t usage[SK_RULES_MAX_BANDS]; /**< minutes; highest reached */
        int n_usage;
    } points;

    int64_t stages[SK_RULES_MAX_STAGES]; /**< ascending thresholds */
    int n_stages;

    sk_engagement_rules_t engagement;

    sk_customer_rules_t customer;

    sk_play_t plays[SK_HEALTH__COUNT]; /**< by health tier */
    sk_flag_rule_t flags[SK_FLAG__COUNT];
} sk_rules_t;

/**
 * @brief Load and check a rules file.
 * @param path   the YAML file.
 * @param rules  receives the rules; unchanged on error.
 * @param errstr receives "path:line: message" on error.
 * @returns SK_OK or SK_ERR.
 */
int sk_rules_load(const char *path, sk_rules_t *rules, char *errstr,
                  size_t errlen);

/**
 * @brief Same as sk_rules_load() from bytes in memory; @p name stands for
 *        the file in messages.
 */
int sk_rules_load_buffer(const char *name, const char *yaml, size_t len,
                         sk_rules_t *rules, char *errstr, size_t errlen);

/** @returns the index of @p key in the feature catalogue, or -1. */
int sk_rules_feature_index(const sk_rules_t *rules, const char *key);

#endif
