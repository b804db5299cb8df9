/*
 * alert.h - what scorekeeper tells its subscribers: one alert per change
 * of stage, engagement tier, segment or health tier, and per flag raised
 * or cleared.
 *
 * An alert's id is a hash of what caused it (account, kind, flag, from,
 * to, time, causing event, rules version), so the same input always gives
 * the same id and a subscriber can drop a repeat.  The JSON form is
 * documented in schemas/alert.schema.json.
 */
#ifndef SCOREKEEPER_ALERT_H
#define SCOREKEEPER_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common.h"
#include "json_writer.h"
#include "model.h"

typedef enum sk_alert_kind {
    SK_ALERT_STAGE_CROSSED,
    SK_ALERT_HEALTH_CHANGED,
    SK_ALERT_ENGAGEMENT_TIER_CHANGED,
    SK_ALERT_SEGMENT_CHANGED,
    SK_ALERT_FLAG_RAISED,
    SK_ALERT_FLAG_CLEARED,
    SK_ALERT__COUNT
} sk_alert_kind_t;

typedef struct sk_alert {
    char id[17];            /**< 16 hex digits */
    sk_alert_kind_t kind;
    char account[SK_ACCOUNT_MAX + 1];
    char from[32], to[32];  /**< stage numbers, tier/segment names,
                                 or "clear"/"raised" for flags */
    int flag;               /**< sk_flag_t for flag alerts, else -1 */
    sk_severity_t severity; /**< of the flag; of the health tier otherwise */
    int64_t ts_ms;          /**< the event time or the midnight */
    char event_id[SK_ID_MAX + 1]; /**< causing event, "" for a midnight */
    char rules_version[64];
    char reason[256];       /**< one line, with the evidence */
    /* The account's scores at that moment. */
    int64_t points, stage;
    double engagement, customer;
    sk_eng_tier_t eng_tier;
    sk_segment_t segment;
    sk_health_t health;
    char play[64];          /**< the health tier's play */
    int sla_hours;          /**< -1 for none */
} sk_alert_t;

/** A growable list of alerts, reused across events to avoid allocation. */
typedef struct sk_alerts {
    sk_alert_t *v; /**< owned */
    size_t n, cap;
} sk_alerts_t;

/** @returns the wire name of @p kind ("stage_crossed", ...). */
const char *sk_alert_kind_name(sk_alert_kind_t kind);

/** Set @p list empty without freeing its memory. */
void sk_alerts_clear(sk_alerts_t *list);

/** Free what @p list owns and set it empty. */
void sk_alerts_free(sk_alerts_t *list);

/**
 * @brief Append a slot to @p list.
 * @returns the new zeroed slot, or NULL (out of memory).
 */
sk_alert_t *sk_alerts_push(sk_alerts_t *list);

/** Fill @p alert->id from the alert's other fields. */
void sk_alert_make_id(sk_alert_t *alert);

/**
 * @brief The JSON form of @p alert, one line, no newline.
 * @returns a string the caller frees with free(), or NULL.
 */
char *sk_alert_to_json(const sk_alert_t *alert);

/** Append the JSON form of @p alert to @p w (see sk_alert_to_json). */
void sk_alert_write_json(const sk_alert_t *alert, sk_json_writer_t *w);

/** @brief Append the msgpack form of @p alert to @p out. */
int sk_alert_encode_msgpack(const sk_alert_t *alert, msgpack_sbuffer *out);

#endif
