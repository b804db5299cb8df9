/*
 * replay.h - where scorekeeperd starts reading, and when it stops: what
 * `scorekeeper replay` runs the daemon with.
 *
 * Normally the consumer starts at its group's committed offsets (the
 * earliest offset for a partition the group never committed).  With
 * --start-offset or --start-time, every input partition this process is
 * assigned for the first time starts at that position instead; later
 * assignments of the same partition use the committed offsets again.
 * With --exit-when-caught-up the daemon stops once every assigned input
 * partition has reached its end, evaluates the due accounts to now, and
 * prints a summary.
 */
#ifndef SK_DAEMON_REPLAY_H
#define SK_DAEMON_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "scorekeeper/common.h"

struct sk_daemon;

typedef enum sk_start_mode {
    SK_START_COMMITTED, /**< the group's committed offsets (normal) */
    SK_START_EARLIEST,  /**< each partition's first offset */
    SK_START_LATEST,    /**< each partition's end: only new messages */
    SK_START_OFFSET,    /**< one offset for every partition */
    SK_START_TIME,      /**< the first offset at or after a time */
} sk_start_mode_t;

/** One partition started at a chosen position, for the summary. */
typedef struct sk_replay_part {
    char topic[SK_TOPIC_MAX + 1];
    int32_t partition;
    int64_t start; /**< offset started at, or a RD_KAFKA_OFFSET_* value */
    int64_t end;   /**< offset reached when caught up, -1 before */
} sk_replay_part_t;

typedef struct sk_replay {
    sk_start_mode_t mode;     /**< where to start */
    int64_t value;            /**< OFFSET: the offset; TIME: ms since epoch */
    bool exit_when_caught_up; /**< stop at the end of every partition */
    sk_replay_part_t *parts;  /**< partitions started here; owned */
    size_t n_parts, cap_parts;
    int64_t started_ms; /**< monotonic time the main loop started */
} sk_replay_t;

/**
 * @brief Parse --start-offset: "earliest", "latest" or an offset >= 0.
 * @returns SK_OK or SK_ERR with @p errstr.
 */
int sk_replay_parse_offset(sk_replay_t *r, const char *arg, char *errstr,
                           size_t errlen);

/**
 * @brief Parse --start-time: an ISO-8601 UTC time.
 * @returns SK_OK or SK_ERR with @p errstr.
 */
int sk_replay_parse_time(sk_replay_t *r, const char *arg, char *errstr,
                         size_t errlen);

/**
 * @brief Set the start position of the partitions of @p parts seen for
 *        the first time (called by the rebalance callback before it
 *        assigns them).  For a time, the brokers are asked for offsets by
 *        timestamp; when they cannot answer, the daemon stops with a
 *        fatal error that says so.
 */
void sk_replay_assign(struct sk_daemon *d,
                      rd_kafka_topic_partition_list_t *parts);

/**
 * @brief Whether the daemon should stop now: --exit-when-caught-up, an
 *        assignment, every assigned input partition at its end, and no
 *        batch in flight.  Records each partition's end for the summary.
 */
bool sk_replay_caught_up(struct sk_daemon *d);

/** Print the summary of a run that caught up on @p out. */
void sk_replay_summary(const struct sk_daemon *d, FILE *out);

/** Free what @p r owns. */
void sk_replay_free(sk_replay_t *r);

#endif
