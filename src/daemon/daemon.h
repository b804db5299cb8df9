/*
 * daemon.h - scorekeeperd's moving parts and how they fit.
 *
 * One thread does everything, in this order, per batch:
 *
 *   consumer.c   poll up to batch.size messages (fewer when the poll comes
 *                back empty, so an idle stream is handled at once);
 *   pipeline.c   decode them, dead-letter the bad ones, load the accounts
 *                they name (pipelined), apply each event unless the
 *                account's stored position shows it was applied before;
 *                then flush: one compare-and-set write per changed
 *                account (state, scores, outbox of new alerts), the
 *                alerts produced and confirmed, the outboxes cleared;
 *   consumer.c   store and commit the offsets.
 *
 * scheduler.c evaluates silent accounts at wall-clock time between
 * batches, and flushes them the same way.  Everything that can fail
 * before the commit leaves Redis and Kafka in a state a restart repairs:
 * positions make replays idempotent, outboxes make alerts at-least-once
 * with stable ids.
 */
#ifndef SK_DAEMON_H
#define SK_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <msgpack.h>

#include "cache.h"
#include "config.h"
#include "kafka_embedded.h"
#include "metrics.h"
#include "redis_store.h"
#include "replay.h"
#include "retention.h"
#include "scorekeeper/account.h"
#include "scorekeeper/alert.h"
#include "scorekeeper/event.h"
#include "scorekeeper/rules.h"
#include "scorekeeper/scores.h"

/** Results of a pipeline step, beyond SK_OK and SK_ERR (retry later). */
#define SK_CONFLICT 1 /**< another writer changed an account: reload now */
#define SK_FATAL 2    /**< the producer cannot continue: stop */
#define SK_STOPPED 3  /**< a stop was asked while waiting: give up */

/** Counters printed at exit. */
typedef struct sk_stats {
    uint64_t consumed;      /**< messages polled from the input topics */
    uint64_t applied;       /**< events that changed an account */
    uint64_t duplicates;    /**< events whose id was seen (SK_DUPLICATE) */
    uint64_t replayed;      /**< messages at or below the stored position */
    uint64_t dead_lettered; /**< messages sent to the dead-letter topic */
    uint64_t late;          /**< applied events older than late_grace */
    uint64_t alerts;        /**< alerts confirmed on the alerts topic */
    uint64_t suppressed;    /**< alerts older than the backfill horizon */
    uint64_t evaluated;     /**< accounts evaluated by the scheduler */
    uint64_t conflicts;     /**< compare-and-set conflicts */
    uint64_t retries;       /**< batches retried after an error */
    /* Breakdowns for /metrics (metrics.h). */
    uint64_t consumed_by_input[SK_CONFIG_MAX_INPUTS];   /**< by cfg->inputs */
    uint64_t late_by_input[SK_CONFIG_MAX_INPUTS];       /**< by cfg->inputs */
    uint64_t dead_lettered_by_reason[SK_REJECT__COUNT]; /**< by sk_reject_t */
    uint64_t alerts_by_kind[SK_ALERT__COUNT + 1];       /**< last: unreadable */
    uint64_t alerts_failed; /**< alert deliveries that failed */
    uint64_t rebalances;    /**< assignments received */
    uint64_t expired;       /**< accounts erased by retention.silent_ttl */
    uint64_t renewed;       /**< accounts restarted after that silence */
} sk_stats_t;

/** One message of the batch being processed. */
typedef struct sk_batch_msg {
    rd_kafka_message_t *msg; /**< owned until the batch is done */
    sk_event_t ev;           /**< decoded event, when ok */
    bool ok;                 /**< decoded and checked */
    bool dlq_sent;           /**< produced to the dead-letter topic */
} sk_batch_msg_t;

/** What a pending delivery report is about. */
typedef enum sk_delivery_kind {
    SK_DELIVERY_NONE,  /**< abandoned (its account was dropped) */
    SK_DELIVERY_ALERT, /**< an outbox payload */
    SK_DELIVERY_DLQ,   /**< a dead-lettered message */
} sk_delivery_kind_t;

typedef struct sk_delivery {
    sk_delivery_kind_t kind;
    sk_cache_entry_t *entry; /**< ALERT: the account (pinned) */
    size_t off, len;         /**< ALERT: payload within entry->outbox.buf */
    size_t msg;              /**< DLQ: index in the batch */
    char reason[32];         /**< DLQ: reject reason name */
    char error[192];         /**< DLQ: reject message */
    bool pending;            /**< produced, report not yet received */
    rd_kafka_resp_err_t err; /**< the report's error */
} sk_delivery_t;

/** An assigned input partition. */
typedef struct sk_partition {
    char topic[SK_TOPIC_MAX + 1];
    int32_t partition;
    bool eof;            /**< reached the end since its last message */
    int64_t next_offset; /**< offset after the last message polled, -1 */
    int input;           /**< index of topic in cfg->inputs, -1 */
} sk_partition_t;

typedef struct sk_daemon {
    sk_config_t *cfg;              /**< effective configuration (borrowed) */
    sk_rules_t rules;              /**< current rules */
    char brokers[1024];            /**< bootstrap servers actually used */
    sk_kafka_embedded_t *embedded; /**< the mock cluster, or NULL */
    rd_kafka_t *consumer;          /**< input */
    rd_kafka_t *producer;          /**< alerts and dead letters (idempotent) */
    sk_redis_t *redis;             /**< the store */
    sk_cache_t *cache;             /**< accounts in memory */

    sk_batch_msg_t *batch; /**< messages of the current batch */
    size_t n_batch, cap_batch;
    sk_cache_entry_t **dirty; /**< entries this batch touched (pinned) */
    size_t n_dirty, cap_dirty;
    sk_redis_stored_t *loads;           /**< scratch for pipelined loads */
    sk_cache_entry_t **load_entries;    /**< the entries being loaded */
    sk_redis_write_t *writes;           /**< scratch for a flush */
    sk_scores_t *scores;                /**< scratch for a flush */
    sk_redis_confirm_t *confirms;       /**< scratch for a flush */
    sk_cache_entry_t **confirm_entries; /**< entries of confirms */
    size_t cap_scratch;                 /**< capacity of the scratch arrays */
    sk_delivery_t *deliveries;          /**< reports awaited by this batch */
    size_t n_deliveries, cap_deliveries, outstanding;
    sk_alerts_t alerts;  /**< scratch for sk_account_apply() */
    msgpack_sbuffer enc; /**< scratch for msgpack alerts */
    sk_json_writer_t json; /**< scratch for JSON alerts */

    sk_partition_t *parts; /**< current assignment */
    size_t n_parts, cap_parts;
    bool assigned_once; /**< an assignment happened */

    int64_t now_ms;    /**< "now" of the current batch or tick */
    sk_stats_t stats;  /**< totals */
    sk_stats_t bstats; /**< the current batch, added on commit */
    bool fatal;        /**< the producer hit a fatal error */
    char fatal_reason[256];
    int64_t dlq_log_second; /**< rate limit of dead-letter log lines */
    int dlq_log_lines;
    uint64_t dlq_log_dropped;
    int64_t redis_down_since; /**< monotonic ms, 0 while Redis works */
    sk_metrics_t *metrics;    /**< figures for /metrics; NULL allowed */
    sk_replay_t replay;       /**< start position and exit rule */
    bool no_publish;          /**< produce neither alerts nor dead letters */
} sk_daemon_t;

/* consumer.c */
/**
 * @brief The consumer's configuration: overridable defaults, then the
 *        `kafka:` passthrough, then the fixed properties.
 * @returns a conf the caller owns, or NULL with @p errstr.
 */
rd_kafka_conf_t *sk_consumer_conf(const sk_daemon_t *d, char *errstr,
                                  size_t errlen);
/** Create the consumer and subscribe to the input topics. */
int sk_consumer_start(sk_daemon_t *d, char *errstr, size_t errlen);
/** Poll one batch into d->batch.  @returns the number of messages. */
size_t sk_consumer_collect(sk_daemon_t *d, int first_timeout_ms);
/** Store the batch's offsets and commit (sync or async). */
void sk_consumer_commit(sk_daemon_t *d, bool sync);
/** @returns the assigned partition, or NULL. */
sk_partition_t *sk_consumer_partition(sk_daemon_t *d, const char *topic,
                                      int32_t partition);
/** @returns whether an assigned partition has nothing left to consume. */
bool sk_consumer_caught_up(sk_daemon_t *d, const sk_partition_t *p);
/** Leave the group cleanly (commits through the revoke callback). */
void sk_consumer_close(sk_daemon_t *d);
/** @returns whether @p topic is an input topic. */
bool sk_daemon_is_input(const sk_daemon_t *d, const char *topic);

/* producer.c */
/** The producer's configuration, built like sk_consumer_conf(). */
rd_kafka_conf_t *sk_producer_conf(const sk_daemon_t *d, char *errstr,
                                  size_t errlen);
/** Create the idempotent producer. */
int sk_producer_start(sk_daemon_t *d, char *errstr, size_t errlen);
/** Produce one dead letter for batch message @p i (once). */
void sk_producer_dead_letter(sk_daemon_t *d, size_t i, const char *reason,
                             const char *error);
/** Produce every payload of @p e's outbox. */
int sk_producer_outbox(sk_daemon_t *d, sk_cache_entry_t *e);
/**
 * @brief Wait for every pending delivery report, producing failed ones
 *        again (with backoff) until all succeed.
 * @returns SK_OK, SK_FATAL or SK_STOPPED.
 */
int sk_producer_wait(sk_daemon_t *d);
/** Forget alert deliveries of dropped entries. */
void sk_producer_abandon_alerts(sk_daemon_t *d);
/** Drop every delivery record (the batch is over). */
void sk_producer_reset(sk_daemon_t *d);

/* pipeline.c */
/**
 * @brief Process, flush and commit the current batch, retrying after
 *        errors until it succeeds or a stop is asked.
 * @param once  a single attempt (from the rebalance callback).
 * @returns SK_OK, SK_ERR (batch dropped, not committed) or SK_FATAL.
 */
int sk_pipeline_run_batch(sk_daemon_t *d, bool once);
/** Destroy the batch's messages and delivery records; empty the batch. */
void sk_pipeline_release(sk_daemon_t *d);
/**
 * @brief Log the count of dead-letter lines the rate limit held back, if
 *        any, once their second is over (or now, with @p force).
 */
void sk_pipeline_dlq_log_summary(sk_daemon_t *d, bool force);
/** Unpin the dirty entries after a successful flush; count the batch. */
void sk_pipeline_finish(sk_daemon_t *d);
/** Flush the dirty accounts (no offsets).  Used by the scheduler. */
int sk_pipeline_flush(sk_daemon_t *d, char *errstr, size_t errlen);
/** Drop the dirty entries from the cache: they are ahead of Redis. */
void sk_pipeline_abort(sk_daemon_t *d);
/** Mark @p e dirty and pin it.  @returns SK_OK or SK_ERR (OOM). */
int sk_pipeline_touch(sk_daemon_t *d, sk_cache_entry_t *e);
/** Turn d->alerts into outbox payloads of @p e (or count them suppressed). */
int sk_pipeline_take_alerts(sk_daemon_t *d, sk_cache_entry_t *e);
/**
 * @brief Load accounts not yet cached into new cache entries.
 * @param entries entries already added with acct == NULL; on return each
 *        holds its account (new or stored) and stored outbox.
 * @returns SK_OK or SK_ERR (the entries are removed again).
 */
int sk_pipeline_load(sk_daemon_t *d, sk_cache_entry_t **entries, size_t n,
                     char *errstr, size_t errlen);
/** Grow the per-flush scratch arrays to @p n.  @returns SK_OK or SK_ERR. */
int sk_pipeline_reserve(sk_daemon_t *d, size_t n);

/* scheduler.c */
/** Evaluate the due accounts this daemon owns. */
int sk_scheduler_tick(sk_daemon_t *d);

#endif
