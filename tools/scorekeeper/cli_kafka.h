/*
 * cli_kafka.h - the Kafka options the `scorekeeper` commands share:
 * -X property=value passthrough, a properties file for secrets, and the
 * logging of librdkafka's errors.
 */
#ifndef SK_CLI_KAFKA_H
#define SK_CLI_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "kafka_props.h"

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
