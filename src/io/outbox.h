/*
 * outbox.h - the alerts of one account that are written to Redis but not
 * yet confirmed by Kafka.
 *
 * Stored in the account hash's `outbox` field as a sequence of msgpack
 * bin values, one per alert, each holding the exact bytes produced to the
 * alerts topic (JSON or msgpack, as configured when it was written).
 * Re-producing an outbox after a crash therefore sends the same bytes
 * with the same alert ids.
 */
#ifndef SK_OUTBOX_H
#define SK_OUTBOX_H

#include <stddef.h>

typedef struct sk_outbox {
    char *buf;       /**< the stored form; owned */
    size_t len, cap; /**< bytes used, allocated */
    int n;           /**< alerts held */
} sk_outbox_t;

/** Append one alert payload.  @returns SK_OK or SK_ERR (out of memory). */
int sk_outbox_append(sk_outbox_t *o, const void *payload, size_t len);

/**
 * @brief Replace the contents with stored bytes, after checking them.
 * @returns SK_OK, or SK_ERR when they are not a sequence of bin values
 *          (or out of memory); @p o is then empty.
 */
int sk_outbox_set(sk_outbox_t *o, const void *stored, size_t len);

/**
 * @brief Iterate: the payload at *@p pos, advancing *@p pos.
 * @returns 1 with @p payload/@p plen set, 0 at the end, -1 if malformed.
 */
int sk_outbox_next(const sk_outbox_t *o, size_t *pos, const char **payload,
                   size_t *plen);

/** Empty @p o, keeping its memory. */
void sk_outbox_clear(sk_outbox_t *o);

/** Free what @p o owns. */
void sk_outbox_free(sk_outbox_t *o);

#endif
