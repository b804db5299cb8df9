/*
 * cli_kafka.h - the Kafka options the `scorekeeper` commands share:
 * -X property=value passthrough, a properties file for secrets, and the
 * logging of librdkafka's errors.
 */
#ifndef SK_CLI_KAFKA_H
#define SK_CLI_KAFKA_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "kafka_props.h"

/**
 * The Kafka options of a command line: --brokers, -X and --kafka-config
 * (getopt values 'b', 'X' and 'F'), on top of the environment's
 * SCOREKEEPER_KAFKA_<NAME> properties.  Zero it, fill it with
 * sk_cli_kafka_env() and sk_cli_kafka_option(), free it with
 * sk_cli_kafka_free().
 */
typedef struct sk_cli_kafka {
    const char *brokers;    /**< --brokers; NULL: $SCOREKEEPER_BROKERS */
    sk_kafka_props_t props; /**< passthrough properties (owned) */
} sk_cli_kafka_t;

/** The struct option entries of --brokers, --property and --kafka-config. */
/* clang-format off */
#define SK_CLI_KAFKA_LONG_OPTIONS \
    {"brokers", required_argument, NULL, 'b'}, \
    {"property", required_argument, NULL, 'X'}, \
    {"kafka-config", required_argument, NULL, 'F'}
/* clang-format on */

/**
 * @brief Add the environment's properties to @p ka (sk_cli_kafka_props_env),
 *        printing the error as "scorekeeper CMD: problem".
 * @returns SK_OK or SK_ERR.
 */
int sk_cli_kafka_env(sk_cli_kafka_t *ka, const char *cmd);

/**
 * @brief Take one of the options of SK_CLI_KAFKA_LONG_OPTIONS: @p opt is
 *        getopt's value ('b', 'X' or 'F'), @p arg its argument.  A bad
 *        one is printed as "scorekeeper CMD: problem".
 * @returns SK_OK, or SK_ERR (a refused property, an unreadable file, or
 *          @p opt not one of them).
 */
int sk_cli_kafka_option(sk_cli_kafka_t *ka, const char *cmd, int opt,
                        const char *arg);

/**
 * @brief Settle the brokers once the options are read (sk_cli_kafka_brokers)
 *        and print "scorekeeper CMD: --brokers is required (see --help)"
 *        when there are none.
 * @returns SK_OK or SK_ERR.
 */
int sk_cli_kafka_require_brokers(sk_cli_kafka_t *ka, const char *cmd);

/** @brief Free the properties of @p ka; NULL is a no-op. */
void sk_cli_kafka_free(sk_cli_kafka_t *ka);

/**
 * The options of a command that prints a topic as it grows (alerts, dlq):
 * --topic, --from-beginning and --idle-exit (getopt values 't', 'B' and
 * 'i').  Zero it, fill it with sk_cli_kafka_tail_option().
 */
typedef struct sk_cli_kafka_tail {
    const char *topic;  /**< --topic, NULL: the command's default */
    int from_beginning; /**< --from-beginning: start at the oldest message */
    int64_t idle_ms;    /**< --idle-exit in ms, 0: never */
} sk_cli_kafka_tail_t;

/** The struct option entries of --topic, --from-beginning, --idle-exit. */
/* clang-format off */
#define SK_CLI_KAFKA_TAIL_LONG_OPTIONS \
    {"topic", required_argument, NULL, 't'}, \
    {"from-beginning", no_argument, NULL, 'B'}, \
    {"idle-exit", required_argument, NULL, 'i'}
/* clang-format on */

/**
 * @brief Take one of the options of SK_CLI_KAFKA_TAIL_LONG_OPTIONS.
 *        --idle-exit takes 0 .. a year of seconds; anything else is
 *        printed as "scorekeeper CMD: --idle-exit: 'TEXT' is not a number
 *        of seconds".
 * @returns SK_OK, or SK_ERR (a bad --idle-exit, or @p opt not one of them).
 */
int sk_cli_kafka_tail_option(sk_cli_kafka_tail_t *tail, const char *cmd,
                             int opt, const char *arg);

/**
 * @brief Assign every partition of @p topic to the consumer @p rk at the
 *        oldest message (--from-beginning) or at the end, waiting for the
 *        topic at most as long as --idle-exit allows from @p start_ms on
 *        the monotonic clock (sk_cli_kafka_assign_all()).
 * @returns SK_OK, or SK_ERR (printed).
 */
int sk_cli_kafka_tail_assign(rd_kafka_t *rk, const char *cmd,
                             const sk_cli_kafka_tail_t *tail, const char *topic,
                             int64_t start_ms);

/**
 * @brief Add to @p fixed the properties of a consumer that reads without
 *        ever committing: group.id, enable.auto.commit=false and
 *        enable.auto.offset.store=false, in that order.
 * @param group the group whose id the consumer carries, or NULL for an
 *        id of its own, "scorekeeper-CMD-PID", which is never joined
 *        (librdkafka wants a group.id even for assign()).
 * @returns SK_OK, or SK_ERR with @p errstr.
 */
int sk_cli_kafka_fixed_no_commit(sk_kafka_props_t *fixed, const char *cmd,
                                 const char *group, char *errstr,
                                 size_t errlen);

/**
 * @brief Add to @p fixed the properties of a producer that neither loses,
 *        duplicates nor reorders on retries and partitions keys as the
 *        Java client does: enable.idempotence=true, acks=all,
 *        partitioner=murmur2_random, in that order.
 * @returns SK_OK, or SK_ERR with @p errstr.
 */
int sk_cli_kafka_fixed_idempotent(sk_kafka_props_t *fixed, char *errstr,
                                  size_t errlen);

/** A delivery report callback (rd_kafka_conf_set_dr_msg_cb()). */
typedef void sk_cli_kafka_delivery_cb_t(rd_kafka_t *rk,
                                        const rd_kafka_message_t *m,
                                        void *opaque);

/**
 * @brief A client of @p type for the brokers and properties of @p ka,
 *        with @p fixed on top (sk_kafka_conf_build_fixed()) and errors
 *        logged by sk_cli_kafka_error_cb().  A producer reports deliveries
 *        to @p on_delivery (NULL: none) with @p opaque.  Failures are
 *        printed as "scorekeeper CMD: problem".
 * @remark Call sk_cli_kafka_warn() first: this does not.
 * @returns the handle (free with rd_kafka_destroy()), or NULL.
 */
rd_kafka_t *sk_cli_kafka_client(rd_kafka_type_t type, const sk_cli_kafka_t *ka,
                                const char *cmd, const sk_kafka_props_t *fixed,
                                sk_cli_kafka_delivery_cb_t *on_delivery,
                                void *opaque);

/**
 * @brief Add the properties of a kcat-style file to @p props: one
 *        "key=value" a line, blank lines and lines starting with '#'
 *        ignored.  Secrets (sasl.password, ...) belong here rather than
 *        on the command line, where every user can read them.
 * @returns SK_OK, or SK_ERR with "path:line: problem" in @p errstr.
 */
int sk_cli_kafka_props_file(sk_kafka_props_t *props, const char *path,
                            char *errstr, size_t errlen);

/**
 * @brief Add the librdkafka properties of the environment, named as for
 *        scorekeeperd: SCOREKEEPER_KAFKA_<NAME> sets property <name>
 *        (lower case, "_" for "."), e.g. SCOREKEEPER_KAFKA_SASL_PASSWORD.
 *        Call it before applying -X, so a flag wins.
 * @returns SK_OK, or SK_ERR with the variable named in @p errstr.
 */
int sk_cli_kafka_props_env(sk_kafka_props_t *props, char *errstr,
                           size_t errlen);

/**
 * @brief The bootstrap servers: @p flag, else $SCOREKEEPER_BROKERS unless
 *        it says "embedded" (the daemon's own cluster, which only the
 *        daemon's log names), else NULL.
 */
const char *sk_cli_kafka_brokers(const char *flag);

/**
 * @brief Parse one -X argument into @p props, printing the error as
 *        "scorekeeper CMD: -X: problem" on stderr.
 * @returns SK_OK or SK_ERR.
 */
int sk_cli_kafka_props_arg(sk_kafka_props_t *props, const char *cmd,
                           const char *kv);

/**
 * @brief Print on stderr the warnings for properties that weaken
 *        security (sk_kafka_prop_warning()).
 */
void sk_cli_kafka_warn(const sk_kafka_props_t *props, const char *cmd);

/**
 * @brief An error callback for rd_kafka_conf_set_error_cb() that prints
 *        "scorekeeper: kafka: <error>" on stderr; the conf's opaque is
 *        not used.
 */
void sk_cli_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
                           void *opaque);

/**
 * @brief Append every partition of @p topic, as the cluster's metadata
 *        lists them, to @p parts (offsets left unset).
 * @param kerr if not NULL, receives the Kafka error:
 *        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART when the cluster does
 *        not know the topic, another code when it did not answer.
 * @returns SK_OK, or SK_ERR with @p errstr (no answer within
 *          @p timeout_ms, or the cluster does not know the topic).
 */
int sk_cli_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                            rd_kafka_topic_partition_list_t *parts,
                            rd_kafka_resp_err_t *kerr, char *errstr,
                            size_t errlen);

/**
 * @brief Assign every partition of @p topic to the consumer @p rk, each
 *        starting at @p offset (RD_KAFKA_OFFSET_BEGINNING, _END or
 *        _STORED), once the cluster knows the topic: until then it waits,
 *        printing one notice, until @p deadline_ms on the monotonic clock
 *        (0: none) or a stop is requested (sk_signals).
 * @returns SK_OK, or SK_ERR (printed as "scorekeeper CMD: problem").
 */
int sk_cli_kafka_assign_all(rd_kafka_t *rk, const char *cmd, const char *topic,
                            int64_t offset, int64_t deadline_ms);

/**
 * @brief A setting the tools share with scorekeeperd: @p flag if given,
 *        else the daemon's environment variable @p env (SCOREKEEPER_GROUP,
 *        SCOREKEEPER_INPUT_TOPICS, SCOREKEEPER_DLQ_TOPIC,
 *        SCOREKEEPER_ALERTS_TOPIC) when set, else @p dflt.
 */
const char *sk_cli_kafka_setting(const char *flag, const char *env,
                                 const char *dflt);

#endif
