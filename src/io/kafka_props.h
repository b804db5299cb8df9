/*
 * kafka_props.h - librdkafka properties passed straight through, as kcat
 * does with -X: no code per setting, so SASL, SSL and tuning need none.
 *
 * A property list is built from the config file (kafka.* keys), the
 * environment and -X flags, then applied in order to a fresh
 * rd_kafka_conf_t.  Properties the delivery guarantees rest on are set by
 * the caller after the passthrough and cannot be overridden; properties
 * that load code or run commands are refused.
 */
#ifndef SK_KAFKA_PROPS_H
#define SK_KAFKA_PROPS_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

typedef struct sk_kafka_props {
    char **keys;   /**< owned */
    char **values; /**< owned */
    size_t n, cap;
} sk_kafka_props_t;

/** Set (or replace) @p key.  @returns SK_OK or SK_ERR (refused, with why). */
int sk_kafka_props_set(sk_kafka_props_t *props, const char *key,
                       const char *value, char *errstr, size_t errlen);

/**
 * @brief Parse "key=value" (a -X argument) and set it.
 * @remark Refuses a secret (sk_kafka_prop_is_secret()): see there.
 */
int sk_kafka_props_parse(sk_kafka_props_t *props, const char *kv, char *errstr,
                         size_t errlen);

/** @returns the value of @p key, or NULL. */
const char *sk_kafka_props_get(const sk_kafka_props_t *props, const char *key);

/** Free what @p props owns; it is empty afterwards. */
void sk_kafka_props_free(sk_kafka_props_t *props);

/**
 * @brief A new rd_kafka_conf_t with "bootstrap.servers" = @p brokers and
 *        then every property of @p props applied in order.
 * @returns the conf (the caller owns it: rd_kafka_new() takes it, or
 *          rd_kafka_conf_destroy()), or NULL with @p errstr naming the
 *          property librdkafka refused.
 */
rd_kafka_conf_t *sk_kafka_conf_build(const char *brokers,
                                     const sk_kafka_props_t *props,
                                     char *errstr, size_t errlen);

/**
 * @brief Whether @p key names a secret (a password, a private key, an
 *        OAuth client secret).  Such a value is never logged or printed,
 *        and sk_kafka_props_parse() refuses it: a command line is visible
 *        to every user of the machine, so secrets come from a config file
 *        or the environment.
 */
bool sk_kafka_prop_is_secret(const char *key);

/**
 * @brief A warning for a property that weakens security (certificate
 *        checks turned off), or NULL.  The caller logs it.
 */
const char *sk_kafka_prop_warning(const char *key, const char *value);

/**
 * @brief sk_kafka_conf_build(), then the properties of @p fixed on top.
 * @param fixed properties a program's guarantees rest on (acks=all, ...).
 *        A passthrough property of @p props that names one of them with
 *        a different value is refused, so a typo in a config file can
 *        never weaken a guarantee silently.
 */
rd_kafka_conf_t *sk_kafka_conf_build_fixed(const char *brokers,
                                           const sk_kafka_props_t *props,
                                           const sk_kafka_props_t *fixed,
                                           char *errstr, size_t errlen);

#endif
