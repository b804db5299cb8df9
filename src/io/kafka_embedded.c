/*
 * kafka_embedded.c - the in-process mock Kafka cluster.
 *
 * rd_kafka_mock_cluster_new() needs a client handle to live on; a
 * dedicated producer handle that is never used for producing keeps the
 * cluster independent of the daemon's own clients, which connect to it
 * over loopback TCP like they would to a real cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka_embedded.h"
#include "kafka_log.h"
#include "scorekeeper/common.h"

struct sk_kafka_embedded {
    rd_kafka_t *rk;                   /**< the handle the cluster lives on */
    rd_kafka_mock_cluster_t *cluster; /**< the cluster */
};

sk_kafka_embedded_t *sk_kafka_embedded_new(int brokers, char *errstr,
                                           size_t errlen)
{
    sk_kafka_embedded_t *e = calloc(1, sizeof *e);
    rd_kafka_conf_t *conf = NULL;
    char why[256];

    if (!e) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    conf = rd_kafka_conf_new();
    sk_kafka_log_to_logfmt(conf);
    if (rd_kafka_conf_set(conf, "client.id", "scorekeeperd-embedded", why,
                          sizeof why) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errlen, "embedded kafka: %s", why);
        goto fail;
    }
    e->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!e->rk) {
        snprintf(errstr, errlen, "embedded kafka: %s", why);
        goto fail;
    }
    conf = NULL; /* owned by the handle now */
    e->cluster = rd_kafka_mock_cluster_new(e->rk, brokers > 0 ? brokers : 1);
    if (!e->cluster) {
        snprintf(errstr, errlen,
                 "embedded kafka: cannot start the mock "
                 "cluster");
        goto fail;
    }
    return e;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    sk_kafka_embedded_destroy(e);
    return NULL;
}

int sk_kafka_embedded_create_topic(sk_kafka_embedded_t *e, const char *topic,
                                   int partitions, char *errstr, size_t errlen)
{
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(e->cluster, topic, partitions, 1);

    if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(errstr, errlen, "embedded kafka: create topic %s: %s", topic,
                 rd_kafka_err2str(err));
        return SK_ERR;
    }
    return SK_OK;
}

const char *sk_kafka_embedded_bootstraps(const sk_kafka_embedded_t *e)
{
    return rd_kafka_mock_cluster_bootstraps(e->cluster);
}

void sk_kafka_embedded_destroy(sk_kafka_embedded_t *e)
{
    if (!e)
        return;
    if (e->cluster)
        rd_kafka_mock_cluster_destroy(e->cluster);
    if (e->rk)
        rd_kafka_destroy(e->rk);
    free(e);
}
