/*
 * kafka_props.c - librdkafka properties passed through by name, kcat style.
 *
 * scorekeeper has no code per Kafka setting: whatever librdkafka accepts
 * (SASL, SSL, timeouts, tuning) is given as key=value in the config file,
 * the environment or -X, kept here in order, and applied to a fresh
 * rd_kafka_conf_t.  Three rules sit on top of the passthrough:
 *  - properties that make librdkafka load code or run a command
 *    (plugins, OpenSSL engines and providers, the kinit command) are
 *    refused, so a config file cannot be turned into code execution;
 *  - secrets are refused on the command line (sk_kafka_props_parse) and
 *    never echoed in an error message;
 *  - a program's fixed properties (sk_kafka_conf_build_fixed) are applied
 *    last, and a passthrough that tries to change one is refused.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kafka_props.h"
#include "scorekeeper/common.h"

/* Properties that load shared objects or run commands. */
static const char *const refused[] = {
    "plugin.library.paths",    /* dlopen()s interceptor plugins */
    "sasl.kerberos.kinit.cmd", /* a shell command run periodically */
    "ssl.engine.location",     /* an OpenSSL engine: a shared object */
    "ssl.providers",           /* OpenSSL 3 providers: shared objects */
    NULL,
};

/* Secrets that do not say so in their name. */
static const char *const secret_names[] = {
    "ssl.key.pem",             /* a private key */
    "sasl.oauthbearer.config", /* may carry a client secret */
    NULL,
};

bool sk_kafka_prop_is_secret(const char *key)
{
    if (strstr(key, "password") || strstr(key, "secret"))
        return true;
    for (int i = 0; secret_names[i]; i++)
        if (strcmp(key, secret_names[i]) == 0)
            return true;
    return false;
}

const char *sk_kafka_prop_warning(const char *key, const char *value)
{
    if (strcmp(key, "enable.ssl.certificate.verification") == 0 &&
        (strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0))
        return "broker certificates are not verified "
               "(enable.ssl.certificate.verification=false): anyone on the "
               "path can impersonate the cluster";
    if (strcmp(key, "ssl.endpoint.identification.algorithm") == 0 &&
        strcasecmp(value, "none") == 0)
        return "broker host names are not checked against their "
               "certificates (ssl.endpoint.identification.algorithm=none)";
    if (strcmp(key, "security.protocol") == 0 &&
        strcasecmp(value, "sasl_plaintext") == 0)
        return "SASL credentials travel unencrypted "
               "(security.protocol=sasl_plaintext)";
    return NULL;
}

static bool key_valid(const char *key)
{
    if (!*key || strlen(key) > 255)
        return false;
    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return false;
    return true;
}

int sk_kafka_props_set(sk_kafka_props_t *props, const char *key,
                       const char *value, char *errstr, size_t errlen)
{
    char *k = NULL, *v = NULL;

    if (!key || !value || !key_valid(key)) {
        snprintf(errstr, errlen, "kafka property \"%s\": not a property name",
                 key ? key : "");
        return SK_ERR;
    }
    for (int i = 0; refused[i]; i++) {
        if (strcmp(key, refused[i]) == 0) {
            snprintf(errstr, errlen,
                     "kafka property %s is refused: it makes librdkafka "
                     "load code or run a command",
                     key);
            return SK_ERR;
        }
    }
    for (size_t i = 0; i < props->n; i++) {
        if (strcmp(props->keys[i], key) == 0) {
            v = strdup(value);
            if (!v)
                goto oom;
            free(props->values[i]);
            props->values[i] = v;
            return SK_OK;
        }
    }
    if (props->n == props->cap) {
        size_t cap = props->cap ? props->cap * 2 : 16;
        char **nk = realloc(props->keys, cap * sizeof *nk);
        if (!nk)
            goto oom;
        props->keys = nk;
        char **nv = realloc(props->values, cap * sizeof *nv);
        if (!nv)
            goto oom;
        props->values = nv;
        props->cap = cap;
    }
    k = strdup(key);
    v = strdup(value);
    if (!k || !v)
        goto oom;
    props->keys[props->n] = k;
    props->values[props->n] = v;
    props->n++;
    return SK_OK;
oom:
    free(k);
    free(v);
    snprintf(errstr, errlen, "out of memory");
    return SK_ERR;
}

int sk_kafka_props_parse(sk_kafka_props_t *props, const char *kv, char *errstr,
                         size_t errlen)
{
    char key[256];
    const char *eq = strchr(kv, '=');
    size_t klen;

    if (!eq || eq == kv) {
        snprintf(errstr, errlen, "expected property=value, got \"%.64s\"", kv);
        return SK_ERR;
    }
    klen = (size_t)(eq - kv);
    if (klen >= sizeof key) {
        snprintf(errstr, errlen, "property name too long");
        return SK_ERR;
    }
    memcpy(key, kv, klen);
    key[klen] = '\0';
    if (sk_kafka_prop_is_secret(key)) {
        snprintf(errstr, errlen,
                 "kafka property %s holds a secret and is refused on the "
                 "command line (visible to every user in the process list); "
                 "set it in the config file's kafka: map or the environment",
                 key);
        return SK_ERR;
    }
    return sk_kafka_props_set(props, key, eq + 1, errstr, errlen);
}

const char *sk_kafka_props_get(const sk_kafka_props_t *props, const char *key)
{
    for (size_t i = 0; i < props->n; i++)
        if (strcmp(props->keys[i], key) == 0)
            return props->values[i];
    return NULL;
}

void sk_kafka_props_free(sk_kafka_props_t *props)
{
    if (!props)
        return;
    for (size_t i = 0; i < props->n; i++) {
        free(props->keys[i]);
        free(props->values[i]);
    }
    free(props->keys);
    free(props->values);
    props->keys = props->values = NULL;
    props->n = props->cap = 0;
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                    char *errstr, size_t errlen)
{
    char why[256];

    if (rd_kafka_conf_set(conf, key, value, why, sizeof why) ==
        RD_KAFKA_CONF_OK)
        return SK_OK;
    /* librdkafka's message may quote the value: only name the key. */
    if (sk_kafka_prop_is_secret(key))
        snprintf(errstr, errlen, "kafka property %s: refused by librdkafka",
                 key);
    else
        snprintf(errstr, errlen, "kafka property %s: %s", key, why);
    return SK_ERR;
}

rd_kafka_conf_t *sk_kafka_conf_build(const char *brokers,
                                     const sk_kafka_props_t *props,
                                     char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (!conf) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    if (brokers && *brokers &&
        conf_set(conf, "bootstrap.servers", brokers, errstr, errlen) != SK_OK)
        goto fail;
    for (size_t i = 0; props && i < props->n; i++)
        if (conf_set(conf, props->keys[i], props->values[i], errstr, errlen) !=
            SK_OK)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* The canonical form of a value, so "-1" and "all", "TRUE" and "true"
 * compare equal. */
static void canon(const char *key, const char *value, char *out, size_t len)
{
    size_t i;

    for (i = 0; value[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)value[i]);
    out[i] = '\0';
    if ((strcmp(key, "acks") == 0 ||
         strcmp(key, "request.required.acks") == 0) &&
        strcmp(out, "-1") == 0)
        snprintf(out, len, "all");
    else if (strcmp(out, "1") == 0 && strcmp(key, "acks") != 0 &&
             strcmp(key, "request.required.acks") != 0)
        snprintf(out, len, "true");
    else if (strcmp(out, "0") == 0)
        snprintf(out, len, "false");
}

/* Aliases librdkafka accepts for a fixed property. */
static const char *alias_of(const char *key)
{
    if (strcmp(key, "request.required.acks") == 0)
        return "acks";
    if (strcmp(key, "acks") == 0)
        return "request.required.acks";
    return NULL;
}

rd_kafka_conf_t *sk_kafka_conf_build_fixed(const char *brokers,
                                           const sk_kafka_props_t *props,
                                           const sk_kafka_props_t *fixed,
                                           char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf;

    for (size_t f = 0; fixed && f < fixed->n; f++) {
        const char *key = fixed->keys[f];
        const char *alias = alias_of(key);
        const char *given = props ? sk_kafka_props_get(props, key) : NULL;
        char a[128], b[128];

        if (!given && alias && props)
            given = sk_kafka_props_get(props, alias);
        if (!given)
            continue;
        canon(key, given, a, sizeof a);
        canon(key, fixed->values[f], b, sizeof b);
        if (strcmp(a, b) != 0) {
            snprintf(errstr, errlen,
                     "kafka property %s is fixed to %s by this program (its "
                     "delivery guarantees rest on it) and cannot be changed",
                     key,
                     sk_kafka_prop_is_secret(key) ? "***" : fixed->values[f]);
            return NULL;
        }
    }
    conf = sk_kafka_conf_build(brokers, props, errstr, errlen);
    if (!conf)
        return NULL;
    for (size_t f = 0; fixed && f < fixed->n; f++) {
        if (conf_set(conf, fixed->keys[f], fixed->values[f], errstr, errlen) !=
            SK_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}
