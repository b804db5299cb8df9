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

/** What a delivery record is about. */
typedef enum sk_delivery_kind {
    SK_DELIVERY_FREE,  /**< unused, on the free list */
    SK_DELIVERY_NONE,  /**< abandoned: freed when its report comes */
    SK_DELIVERY_ALERT, /**< an alert of an in-flight batch */
    SK_DELIVERY_DLQ,   /**< a dead-lettered message of this batch */
} sk_delivery_kind_t;

/** One message handed to the producer, until its successful report.  The
 *  report's opaque is the record's index + 1, so records stay put in one
 *  growable array and are reused through a free list. */
typedef struct sk_delivery {
    sk_delivery_kind_t kind;
    uint64_t seq;   /**< ALERT: the in-flight batch it belongs to */
    char *payload;  /**< ALERT: a copy, to produce it again; owned */
    size_t len;     /**< ALERT: its length */
    char key[SK_ACCOUNT_MAX + 1]; /**< ALERT: the account */
    size_t msg;              /**< DLQ: index in the batch */
    char reason[32];         /**< DLQ: reject reason name */
    char error[192];         /**< DLQ: reject message */
    bool pending;            /**< produced, report not yet received */
    rd_kafka_resp_err_t err; /**< the report's error */
    size_t next_free;        /**< FREE: index + 1 of the next, 0 at end */
} sk_delivery_t;

/**
 * A flushed batch (or scheduler tick) whose alerts are still on their
 * way.  Its offsets are committed, in batch order, once every alert is
 * delivered, after its outboxes are cleared (inflight.c).
 */
typedef struct sk_inflight {
    uint64_t seq;       /**< increasing */
    rd_kafka_topic_partition_list_t *offsets; /**< to commit; may be NULL */
    size_t outstanding; /**< its alerts without a successful report */
    sk_redis_confirm_t *confirms; /**< outboxes to clear; owned */
    size_t n_confirms;
} sk_inflight_t;

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
    sk_cache_entry_t **write_entries;   /**< the entry of each write */
    size_t cap_scratch;                 /**< capacity of the scratch arrays */
    sk_delivery_t *deliveries;          /**< delivery records (producer.c) */
    size_t n_deliveries, cap_deliveries; /**< records in use or freed, room */
    size_t free_delivery;   /**< index + 1 of the first free record, 0 */
    size_t outstanding;     /**< records produced without a report */
    size_t dlq_open;        /**< dead letters not yet delivered */
    size_t alerts_failed_open; /**< alert records whose report failed */
    int64_t alerts_retry_at;   /**< monotonic ms to produce those again */
    int64_t alerts_backoff_ms; /**< the wait after the next failure */
    sk_inflight_t *inflight; /**< flushed batches not yet committed, oldest
                                  first (inflight.c) */
    size_t n_inflight, cap_inflight;
    uint64_t next_seq;       /**< seq of the next in-flight batch */
    bool due_more; /**< the last scheduler tick left accounts due */
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
/** The offsets after the batch's messages, per partition; NULL if the
 *  batch is empty (or out of memory). */
rd_kafka_topic_partition_list_t *sk_consumer_batch_offsets(sk_daemon_t *d);
/** Store @p offsets (NULL: none) and commit what is stored (sync or
 *  async). */
void sk_consumer_commit(sk_daemon_t *d,
                        const rd_kafka_topic_partition_list_t *offsets,
                        bool sync);
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
/** Produce the alerts of @p e's outbox not produced yet, as part of
 *  in-flight batch @p seq. */
int sk_producer_outbox(sk_daemon_t *d, sk_cache_entry_t *e, uint64_t seq);
/**
 * @brief Wait until every dead letter of the batch is delivered,
 *        producing failed ones again (with backoff).
 * @returns SK_OK, SK_FATAL or SK_STOPPED.
 */
int sk_producer_wait_dead_letters(sk_daemon_t *d);
/** Serve delivery reports (waiting up to @p timeout_ms for one), and
 *  produce again the alerts whose delivery failed, once their backoff is
 *  over.  @returns SK_OK or SK_FATAL. */
int sk_producer_serve(sk_daemon_t *d, int timeout_ms);
/** The batch is over: dead-letter records still open are abandoned. */
void sk_producer_reset(sk_daemon_t *d);
/** Free every record (at exit). */
void sk_producer_free_records(sk_daemon_t *d);

/* inflight.c */
/** Start in-flight batch *@p seq (empty).  @returns SK_OK or SK_ERR. */
int sk_inflight_begin(sk_daemon_t *d, uint64_t *seq);
/** One more alert of batch @p seq handed to the producer. */
void sk_inflight_produced(sk_daemon_t *d, uint64_t seq);
/** A successful report for an alert of batch @p seq. */
void sk_inflight_delivered(sk_daemon_t *d, uint64_t seq);
/** The batch was written: commit @p offsets (taken; NULL for none) and
 *  clear the outboxes @p confirms (taken) once its alerts are delivered. */
void sk_inflight_attach(sk_daemon_t *d, uint64_t seq,
                        rd_kafka_topic_partition_list_t *offsets,
                        sk_redis_confirm_t *confirms, size_t n_confirms);
/**
 * @brief Complete what can be: serve reports, clear delivered outboxes,
 *        commit offsets in batch order.  With @p drain, wait until
 *        nothing is in flight (a rebalance, a stop); otherwise wait only
 *        while too much is in flight to take another batch.
 * @returns SK_OK, SK_FATAL, or SK_STOPPED (a stop outlasted the grace).
 */
int sk_inflight_settle(sk_daemon_t *d, bool drain);
/** Free every in-flight batch (at exit). */
void sk_inflight_free(sk_daemon_t *d);

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
/**
 * @brief Flush the dirty accounts: write them, produce their new alerts
 *        and hand the batch to inflight.c, which commits @p offsets
 *        (taken on success; NULL for none, as for the scheduler) once
 *        the alerts are delivered.
 */
int sk_pipeline_flush(sk_daemon_t *d,
                      rd_kafka_topic_partition_list_t **offsets,
                      char *errstr, size_t errlen);
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
