/*
 * metrics.h - scorekeeperd's figures for /metrics and its readiness for
 * /readyz.
 *
 * Two sides, two threads:
 *  - the main thread counts, without locks, in d->stats (sk_stats_t:
 *    totals and the breakdowns by topic, reason and kind) and in the
 *    histograms and partition table kept here; after a batch or a tick
 *    it calls sk_metrics_publish(), which copies all of it under a mutex
 *    (at most ten times a second);
 *  - the HTTP threads read only that published copy, plus two atomics
 *    (partitions held, stopping) and their own Redis probe.
 * So a scrape shows the figures as of the last batch: during a Redis
 * outage the main thread waits inside the batch and the figures stand
 * still, while scorekeeper_ready and the lag's age keep moving.
 *
 * Consumer lag comes from librdkafka's statistics (statistics.interval.ms,
 * 5000 by default, a `kafka:` property like any other; 0 turns lag off):
 * consumer_lag of each assigned input partition (its end offset minus the
 * committed offset).  A partition with nothing committed yet counts as 0
 * once the consumer has reached its end.
 */
#ifndef SK_DAEMON_METRICS_H
#define SK_DAEMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

struct sk_daemon;
struct sk_partition;

typedef struct sk_metrics sk_metrics_t;

/**
 * @brief The figures of a daemon configured by @p cfg (borrowed: it must
 *        outlive the metrics), with a Redis probe for readiness.
 * @returns the metrics (free with sk_metrics_destroy()), or NULL (OOM).
 */
sk_metrics_t *sk_metrics_new(const sk_config_t *cfg);

/** Free @p m.  Stop the HTTP server first.  NULL is a no-op. */
void sk_metrics_destroy(sk_metrics_t *m);

/* ---- main thread ------------------------------------------------------- */

/** A monotonic clock in nanoseconds, for the histograms. */
int64_t sk_metrics_clock_ns(void);

/** Count one batch that took @p ns (processing, writes, retries). */
void sk_metrics_observe_batch(sk_metrics_t *m, int64_t ns);

/** Start timing a Redis call (see SK_REDIS_TIMED). */
void sk_metrics_redis_begin(sk_metrics_t *m);

/** Count the Redis call started by sk_metrics_redis_begin().
 *  @returns @p rc unchanged. */
int sk_metrics_redis_end(sk_metrics_t *m, int rc);

/**
 * Evaluate the Redis call @p call (an int-returning expression) and count
 * its duration in scorekeeper_redis_roundtrip_seconds; yields its value.
 * The comma operator orders the clock read before the call.
 */
#define SK_REDIS_TIMED(d, call)                                                \
    (sk_metrics_redis_begin((d)->metrics),                                     \
     sk_metrics_redis_end((d)->metrics, (call)))

/** The rules now in use; @p reloaded counts a reload, @p failed a reload
 *  that was refused. */
void sk_metrics_rules(sk_metrics_t *m, const char *version, bool reloaded,
                      bool failed);

/** librdkafka's statistics callback; the conf's opaque is the daemon. */
int sk_metrics_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque);

/** Record the offsets of a commit (from the commit callback; @p daemon is
 *  the conf's opaque); nothing when @p err says it failed. */
void sk_metrics_committed(void *daemon, rd_kafka_resp_err_t err,
                          const rd_kafka_topic_partition_list_t *offsets);

/**
 * @brief Make the current figures visible to /metrics.
 * @param force publish even if the last publication is less than 100 ms
 *        old.
 */
void sk_metrics_publish(struct sk_daemon *d, bool force);

/** From now on /readyz says the daemon is stopping. */
void sk_metrics_stopping(sk_metrics_t *m);

/* ---- counting helpers for the pipeline (main thread) -------------------- */

/** @returns the index of @p topic in cfg->inputs, or -1. */
int sk_daemon_input_index(const struct sk_daemon *d, const char *topic);

/** Count one polled message of @p topic (@p p its partition, or NULL). */
void sk_daemon_count_consumed(struct sk_daemon *d, const struct sk_partition *p,
                              const char *topic);

/** Count one late event of @p topic in the current batch. */
void sk_daemon_count_late(struct sk_daemon *d, const char *topic);

/** Count one dead letter with reject reason @p reason (a name). */
void sk_daemon_count_dead_letter(struct sk_daemon *d, const char *reason);

/**
 * @brief Count a delivery report: an alert confirmed, by kind (read from
 *        the payload), or an alert that failed.  Other kinds are ignored.
 * @param is_alert whether the report is for an alert.
 */
void sk_daemon_count_delivery(struct sk_daemon *d, const rd_kafka_message_t *m,
                              bool is_alert);

/* ---- HTTP threads --------------------------------------------------------- */

/**
 * @brief /readyz: ready while partitions are assigned, the daemon is not
 *        stopping and Redis answers the probe.
 * @param opaque the sk_metrics_t.
 */
int sk_metrics_ready(void *opaque, char *why, size_t whylen);

/**
 * @brief /metrics: the published figures in the Prometheus text format
 *        0.0.4, with HELP and TYPE lines.
 * @param opaque the sk_metrics_t.
 * @returns malloc'd text (the caller frees), or NULL (OOM).
 */
char *sk_metrics_render(void *opaque, size_t *len);

#endif
