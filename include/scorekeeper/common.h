/*
 * common.h - status codes, limits and UTC calendar arithmetic shared by
 * every part of scorekeeper.
 *
 * Time in scorekeeper is always an int64 count of milliseconds since the
 * Unix epoch, UTC.  The scoring model works in whole UTC days, so most
 * code converts a timestamp to a day number (days since 1970-01-01) once
 * and compares days.  Nothing here reads a clock: callers pass time in.
 */
#ifndef SCOREKEEPER_COMMON_H
#define SCOREKEEPER_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** Status returned by every function that can fail. */
#define SK_OK 0
#define SK_ERR (-1)

/** Size of the caller-provided buffer that receives an error message. */
#define SK_ERRSTR_LEN 256

#define SK_DAY_MS INT64_C(86400000)

/* Field limits of the event schema (schemas/event.schema.json). */
#define SK_ID_MAX 64       /**< event id, bytes */
#define SK_ACCOUNT_MAX 128 /**< account id, bytes */
#define SK_USER_MAX 128    /**< user, bytes */
#define SK_DEPT_MAX 64     /**< department, bytes */
#define SK_LABEL_MAX 64    /**< label, bytes */
#define SK_TOPIC_MAX 64    /**< Kafka topic name kept in account state */

/** Earliest and latest event time accepted (2000-01-01, 2100-01-01). */
#define SK_TS_MIN INT64_C(946684800000)
#define SK_TS_MAX INT64_C(4102444800000)

/** @returns the UTC day number (days since 1970-01-01) of @p ts_ms. */
static inline int32_t sk_day_of(int64_t ts_ms)
{
    int64_t d = ts_ms / SK_DAY_MS;
    if (ts_ms % SK_DAY_MS < 0)
        d--;
    return (int32_t)d;
}

/** @returns the timestamp of 00:00 UTC of @p day. */
static inline int64_t sk_midnight_ms(int32_t day)
{
    return (int64_t)day * SK_DAY_MS;
}

/**
 * @brief Key of the ISO week (Monday to Sunday, UTC) holding @p day.
 * @remark Two days share a key exactly when they share an ISO week.
 *         1970-01-01 was a Thursday, hence the shift by 3.
 */
static inline int32_t sk_iso_week_of(int32_t day)
{
    int32_t d = day + 3;
    return d >= 0 ? d / 7 : -((-d + 6) / 7);
}

/** @returns the calendar month of @p day as year * 12 + (month - 1). */
int32_t sk_month_of(int32_t day);

/**
 * @brief The day @p months calendar months after @p day, clamped to the
 *        last day of the target month (Jan 31 + 1 month = Feb 28/29).
 */
int32_t sk_add_months(int32_t day, int months);

/**
 * @brief Format @p ts_ms as ISO 8601 UTC ("2026-11-05T00:00:00Z"; with
 *        ".123" milliseconds when they are not zero).
 * @param buf receives the text; 32 bytes are always enough.
 */
void sk_format_time(int64_t ts_ms, char *buf, size_t len);

/**
 * @brief Parse ISO 8601 UTC time: "2026-11-05", "2026-11-05T10:00:00Z",
 *        "2026-11-05T10:00:00.250Z" or with a "+hh:mm" offset.
 * @returns SK_OK and sets @p ts_ms, or SK_ERR for anything else.
 */
int sk_parse_time(const char *text, int64_t *ts_ms);

/**
 * @brief Parse a duration: a number followed by ms, s, m, h or d
 *        ("7d", "90s"). @returns SK_OK or SK_ERR.
 */
int sk_parse_duration(const char *text, int64_t *ms);

/**
 * @brief Copy the string @p src into @p dst of @p size bytes, cutting it
 *        if it does not fit; @p dst is always terminated.
 */
static inline void sk_copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/** 64-bit FNV-1a of @p len bytes, continuing from @p seed. */
uint64_t sk_hash64(const void *data, size_t len, uint64_t seed);

/** The seed to start sk_hash64() chains with. */
#define SK_HASH_SEED UINT64_C(0xcbf29ce484222325)

/**
 * @brief A hash of the id string @p id for tables and buckets: FNV-1a,
 *        then mixed (h ^= h >> 33; h *= 0xff51afd7ed558ccd; h ^= h >> 33),
 *        because FNV's low bits are weak for short, similar ids.  Stable:
 *        the Redis layout's buckets are defined by it.
 */
uint64_t sk_hash_id(const char *id);

#endif
