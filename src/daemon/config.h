/*
 * config.h - scorekeeperd's settings: built-in defaults, then one YAML
 * file, then the environment, then command-line flags, each layer
 * overriding the one before.  deploy/scorekeeperd.yaml documents every
 * setting with its default.
 */
#ifndef SK_DAEMON_CONFIG_H
#define SK_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kafka_props.h"
#include "redis_store.h"
#include "scorekeeper/common.h"

#define SK_CONFIG_MAX_INPUTS 8 /**< input topics, at most */
#define SK_CONFIG_PATH_MAX 1024

/** The install path of the rules file, tried before deploy/rules.yaml. */
#define SK_CONFIG_RULES_INSTALLED "/etc/scorekeeper/rules.yaml"
/** The rules file of a source checkout, relative to the working directory. */
#define SK_CONFIG_RULES_DEV "deploy/rules.yaml"

typedef enum sk_alerts_format {
    SK_ALERTS_JSON,    /**< sk_alert_to_json() */
    SK_ALERTS_MSGPACK, /**< sk_alert_encode_msgpack() */
} sk_alerts_format_t;

/** Where a setting's value came from (for --check-config). */
typedef enum sk_config_origin {
    SK_ORIGIN_DEFAULT,
    SK_ORIGIN_FILE,
    SK_ORIGIN_ENV,
    SK_ORIGIN_FLAG,
} sk_config_origin_t;

typedef struct sk_config {
    char brokers[1024]; /**< bootstrap servers; "" or "embedded": mock */
    char group_id[256]; /**< consumer group */
    char group_instance_id[256]; /**< static membership id, "" for none */
    char inputs[SK_CONFIG_MAX_INPUTS][SK_TOPIC_MAX + 1]; /**< input topics */
    int n_inputs;
    char alerts_topic[SK_TOPIC_MAX + 1]; /**< where alerts go */
    char dlq_topic[SK_TOPIC_MAX + 1];    /**< where bad input goes */
    sk_redis_opts_t redis;               /**< address, auth, timeout, prefix */
    char redis_password_file[SK_CONFIG_PATH_MAX]; /**< read at finish */
    bool redis_allow_eviction; /**< run on a server that may evict keys */
    char rules_path[SK_CONFIG_PATH_MAX]; /**< the rules file */
    int64_t backfill_horizon_ms;      /**< older alerts not published; -1 off */
    int64_t late_grace_ms;            /**< older events counted as late */
    int64_t future_skew_ms;           /**< newer events dead-lettered */
    sk_alerts_format_t alerts_format; /**< wire form of alerts */
    int batch_size;                   /**< messages per batch, at most */
    int64_t batch_wait_ms;            /**< longest time spent filling a batch */
    int cache_accounts;               /**< accounts kept in memory */
    int64_t tick_ms;                  /**< scheduler period */
    int due_limit;                    /**< due accounts taken per tick */
    int embedded_partitions;  /**< partitions of the embedded input topics */
    int log_level;            /**< sk_log_level_t */
    int log_dlq_per_second;   /**< dead-letter log lines per second */
    char metrics_listen[128]; /**< HOST:PORT of /metrics, or "off" */
    int64_t silent_ttl_ms;    /**< erase accounts silent this long; -1 off */
    sk_kafka_props_t kafka;   /**< librdkafka passthrough, in order */
    unsigned char origin[32]; /**< sk_config_origin_t per setting */
} sk_config_t;

/** Fill @p cfg with the built-in defaults. */
void sk_config_defaults(sk_config_t *cfg);

/** Free what @p cfg owns (the Kafka properties) and wipe its secrets. */
void sk_config_free(sk_config_t *cfg);

/**
 * @brief Apply a YAML config file.
 * @returns SK_OK or SK_ERR with "path:line: what is wrong".
 */
int sk_config_load_file(sk_config_t *cfg, const char *path, char *errstr,
                        size_t errlen);

/**
 * @brief Apply the SCOREKEEPER_* environment variables (the list is in
 *        deploy/scorekeeperd.yaml), including SCOREKEEPER_KAFKA_<NAME>
 *        for librdkafka property <name> (lower case, "_" for ".").
 */
int sk_config_apply_env(sk_config_t *cfg, char *errstr, size_t errlen);

/**
 * @brief Set one setting by its file path ("redis.port") from a flag.
 * @param origin names the source in messages ("--redis").
 */
int sk_config_set(sk_config_t *cfg, const char *key, const char *value,
                  sk_config_origin_t layer, const char *origin, char *errstr,
                  size_t errlen);

/**
 * @brief Read the password file, check what spans several settings.
 * @returns SK_OK or SK_ERR with errstr.
 */
int sk_config_finish(sk_config_t *cfg, char *errstr, size_t errlen);

/** @returns whether the embedded mock cluster is to be used. */
bool sk_config_embedded(const sk_config_t *cfg);

/** Print the effective configuration as YAML, secrets masked. */
void sk_config_print(const sk_config_t *cfg, FILE *out);

#endif
