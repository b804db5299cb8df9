/*
 * cli_kafka.c - Kafka options shared by `scorekeeper produce` and
 * `scorekeeper alerts`.
 *
 * Both commands hand any librdkafka property through, as kcat does: -X
 * on the command line, or a properties file (--kafka-config) for what
 * must not appear in the process list (SASL passwords, private keys).
 * The rules on which properties are refused live in src/io/kafka_props.c;
 * this file only reads the file and reports problems the way the other
 * commands do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_kafka.h"
#include "scorekeeper/common.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
                     s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int sk_cli_kafka_props_file(sk_kafka_props_t *props, const char *path,
                            char *errstr, size_t errlen)
{
    int status = SK_ERR;
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errlen, "%s: cannot open: %s", path,
                 strerror(errno));
        return SK_ERR;
    }
    while (getline(&line, &cap, f) >= 0) {
        char why[SK_ERRSTR_LEN];
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(errstr, errlen, "%s:%u: expected key=value", path,
                     lineno);
            goto cleanup;
        }
        *eq = '\0';
        if (sk_kafka_props_set(props, trim(s), trim(eq + 1), why,
                               sizeof why) != SK_OK) {
            snprintf(errstr, errlen, "%s:%u: %s", path, lineno, why);
            goto cleanup;
        }
    }
    if (ferror(f)) {
        snprintf(errstr, errlen, "%s: read error", path);
        goto cleanup;
    }
    status = SK_OK;
cleanup:
    free(line);
    fclose(f);
    return status;
}

int sk_cli_kafka_props_arg(sk_kafka_props_t *props, const char *cmd,
                           const char *kv)
{
    char why[SK_ERRSTR_LEN];
    if (sk_kafka_props_parse(props, kv, why, sizeof why) == SK_OK)
        return SK_OK;
    fprintf(stderr, "scorekeeper %s: -X: %s\n", cmd, why);
    return SK_ERR;
}

void sk_cli_kafka_warn(const sk_kafka_props_t *props, const char *cmd)
{
    for (size_t i = 0; i < props->n; i++) {
        const char *w = sk_kafka_prop_warning(props->keys[i],
                                              props->values[i]);
        if (w)
            fprintf(stderr, "scorekeeper %s: warning: %s\n", cmd, w);
    }
}

void sk_cli_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
                           void *opaque)
{
    (void)rk;
    (void)opaque;
    fprintf(stderr, "scorekeeper: kafka: %s: %s\n",
            rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}
