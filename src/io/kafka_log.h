/*
 * kafka_log.h - librdkafka's own log lines, as logfmt lines of log.h.
 */
#ifndef SK_KAFKA_LOG_H
#define SK_KAFKA_LOG_H

#include <librdkafka/rdkafka.h>

/**
 * @brief Route the logs of handles made from @p conf to sk_log(), with
 *        component=kafka and the handle's name (client.id#type-N).
 */
void sk_kafka_log_to_logfmt(rd_kafka_conf_t *conf);

#endif
