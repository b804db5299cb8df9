/*
 * event.h - one customer event (schema v1) and its two wire forms.
 *
 * An event arrives as a msgpack map (Kafka) or a JSON object (files,
 * tools).  Both decoders are strict and treat their input as hostile:
 * they bound every size, depth and count before looking at a value, never
 * allocate per field (the event holds fixed-size buffers), and report a
 * rejection as a reason code plus a message a producer can act on.  The
 * reason code names are stable: they travel in dead-letter headers and
 * metric labels.  The schema is in schemas/event.schema.json.
 */
#ifndef SCOREKEEPER_EVENT_H
#define SCOREKEEPER_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common.h"
#include "model.h"

/** Largest encoded event accepted, in bytes, on either wire form. */
#define SK_EVENT_MAX_BYTES 16384
/** Deepest nesting accepted (the event map is depth 1, attrs depth 2). */
#define SK_EVENT_MAX_DEPTH 8
/** Most entries accepted in the event map and in attrs. */
#define SK_EVENT_MAX_FIELDS 64
/** Largest magnitude accepted for `value`. */
#define SK_EVENT_MAX_VALUE 1e9

typedef struct sk_event {
    int64_t ts_ms;        /**< event time, ms since the epoch, UTC */
    sk_event_type_t type; /**< vocabulary entry */
    sk_role_t role;       /**< SK_ROLE_NONE when absent */
    bool has_value;       /**< whether `value` was given */
    double value;         /**< minutes, percent, NPS or hours by type */
    unsigned attrs;       /**< SK_ATTR_* bits that were true */
    char id[SK_ID_MAX + 1];           /**< producer-unique id */
    char account[SK_ACCOUNT_MAX + 1]; /**< customer company */
    char user[SK_USER_MAX + 1];       /**< "" when absent */
    char dept[SK_DEPT_MAX + 1];       /**< "" when absent */
    char label[SK_LABEL_MAX + 1];     /**< "" when absent */
} sk_event_t;

/** Why an event was rejected.  Names: sk_reject_name(). */
typedef enum sk_reject {
    SK_REJECT_NONE,          /**< "none": accepted */
    SK_REJECT_BAD_MSGPACK,   /**< "bad_msgpack": not well-formed msgpack */
    SK_REJECT_BAD_JSON,      /**< "bad_json": not a well-formed JSON object */
    SK_REJECT_TOO_LARGE,     /**< "too_large": size, depth or count limit */
    SK_REJECT_MISSING_FIELD, /**< "missing_field": required field absent */
    SK_REJECT_BAD_TYPE,      /**< "bad_type": field of the wrong type */
    SK_REJECT_BAD_VERSION,   /**< "bad_version": `v` is not 1 */
    SK_REJECT_BAD_ACCOUNT,   /**< "bad_account": empty, long, bad bytes */
    SK_REJECT_BAD_STRING,    /**< "bad_string": bad UTF-8, control bytes, length */
    SK_REJECT_UNKNOWN_TYPE,  /**< "unknown_type": not in the vocabulary */
    SK_REJECT_BAD_VALUE,     /**< "bad_value": value/label/role invalid for the type, NaN, inf */
    SK_REJECT_TS_OUT_OF_RANGE, /**< "ts_out_of_range": outside 2000..2100, or too far in the future */
    SK_REJECT__COUNT
} sk_reject_t;

/** What a decoder says about input it refused. */
typedef struct sk_decode_error {
    sk_reject_t code;  /**< reason code */
    char message[192]; /**< human message naming the field */
} sk_decode_error_t;

/** @returns the stable snake_case name of @p code. */
const char *sk_reject_name(sk_reject_t code);

/**
 * @brief Decode one msgpack event.
 * @param buf,len the untrusted bytes (a whole Kafka message value).
 * @param ev      receives the event; its contents are unspecified on error.
 * @param err     receives the reason on error; may be NULL.
 * @returns SK_OK, or SK_ERR with @p err filled.
 * @remark Allocates nothing; @p buf is not kept.
 */
int sk_event_decode_msgpack(const void *buf, size_t len, sk_event_t *ev,
                            sk_decode_error_t *err);

/**
 * @brief Decode one JSON event (one line of a JSON-lines file, without
 *        the newline).  Same rules and reason codes as the msgpack form.
 */
int sk_event_decode_json(const char *buf, size_t len, sk_event_t *ev,
                         sk_decode_error_t *err);

/**
 * @brief Append the msgpack form of @p ev to @p out.
 * @returns SK_OK or SK_ERR (out of memory).
 */
int sk_event_encode_msgpack(const sk_event_t *ev, msgpack_sbuffer *out);

/**
 * @brief The JSON form of @p ev, one line, no newline.
 * @returns a string the caller frees with free(), or NULL (out of memory).
 */
char *sk_event_to_json(const sk_event_t *ev);

/**
 * @brief Check an account id: 1..128 bytes of [A-Za-z0-9._:@-].
 * @remark Used for events and for every account id a tool is given, so a
 *         Redis key or hash tag can never be broken by one.
 */
bool sk_account_id_valid(const char *id, size_t len);

#endif
