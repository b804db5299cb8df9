/*
 * kafka_embedded.h - librdkafka's mock cluster, started inside the
 * process so that scorekeeperd runs with no Kafka at all (demos, tests,
 * a laptop).
 *
 * The mock keeps about 5 MiB per partition, has no SASL or SSL, ignores
 * static membership, and answers an empty fetch only after
 * fetch.wait.max.ms: it is for development, never for production.
 */
#ifndef SK_KAFKA_EMBEDDED_H
#define SK_KAFKA_EMBEDDED_H

#include <stddef.h>

typedef struct sk_kafka_embedded sk_kafka_embedded_t;

/**
 * @brief Start a mock cluster of @p brokers brokers on loopback ports.
 * @returns the cluster (free with sk_kafka_embedded_destroy()), or NULL
 *          with @p errstr.
 */
sk_kafka_embedded_t *sk_kafka_embedded_new(int brokers, char *errstr,
                                           size_t errlen);

/** Create @p topic with @p partitions partitions (replication 1). */
int sk_kafka_embedded_create_topic(sk_kafka_embedded_t *e, const char *topic,
                                   int partitions, char *errstr, size_t errlen);

/** @returns the bootstrap servers ("127.0.0.1:PORT,..."); owned by @p e. */
const char *sk_kafka_embedded_bootstraps(const sk_kafka_embedded_t *e);

/** Stop the cluster.  NULL is a no-op.  Destroy clients connected to it first. */
void sk_kafka_embedded_destroy(sk_kafka_embedded_t *e);

#endif
