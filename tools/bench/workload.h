/*
 * workload.h - the reference workload of the benchmark: a reproducible
 * stream of MODEL.md events over K accounts with a Zipf-like skew.
 *
 * Mostly logins and usage, then product, meeting, outreach, billing and
 * survey events, spread over 60 days of event time ending at a given
 * moment, in time order, and 0.1 % malformed messages that the daemon
 * must dead-letter.  The same seed always gives the same stream.
 */
#ifndef SK_BENCH_WORKLOAD_H
#define SK_BENCH_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "scorekeeper/event.h"

typedef struct sk_workload {
    uint64_t state;    /**< PRNG state */
    uint64_t accounts; /**< K */
    uint64_t events;   /**< N */
    uint64_t next;     /**< index of the next event */
    int64_t start_ms;  /**< event time of the first event */
    int64_t span_ms;   /**< event time covered by N events */
    double log_k;      /**< log(1 + K / offset), for the skew */
} sk_workload_t;

/** One generated message: a valid event, or bytes that are not one. */
typedef struct sk_workload_msg {
    bool bad;          /**< a malformed message */
    sk_event_t ev;     /**< the event (its account also when bad) */
    bool billing;      /**< belongs on the billing topic */
} sk_workload_msg_t;

/** Start a workload of @p events over @p accounts ending at @p end_ms. */
void sk_workload_init(sk_workload_t *w, uint64_t events, uint64_t accounts,
                      uint64_t seed, int64_t end_ms);

/**
 * @brief The next message, its msgpack bytes appended to @p out (cleared
 *        first).  @returns false when all N were generated.
 */
bool sk_workload_next(sk_workload_t *w, sk_workload_msg_t *msg,
                      msgpack_sbuffer *out);

#endif
