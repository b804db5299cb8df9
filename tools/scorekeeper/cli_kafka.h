/*
 * cli_kafka.h - the Kafka options the `scorekeeper` commands share:
 * -X property=value passthrough, a properties file for secrets, and the
 * logging of librdkafka's errors.
 */
#ifndef SK_CLI_KAFKA_H
#define SK_CLI_KAFKA_H

#include <stddef.h>

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

#endif
