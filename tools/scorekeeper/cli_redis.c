/*
 * cli_redis.c - opening the Redis store for `scorekeeper show` and `top`.
 *
 * The tools read what scorekeeperd wrote, so they take the same address,
 * prefix, database and credentials.  A password is never a flag (every
 * user can read a command line): it comes from a file or from the
 * environment.  Errors are printed here, in the commands' format, so
 * each command only decides its exit status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_redis.h"
#include "scorekeeper/common.h"

/* @p flag, else the environment variable @p env when set, else NULL. */
static const char *flag_or_env(const char *flag, const char *env)
{
    if (flag)
        return flag;
    const char *v = getenv(env);
    return v && *v ? v : NULL;
}

const char *sk_cli_redis_addr(const sk_cli_redis_t *args)
{
    const char *addr = flag_or_env(args->addr, "SCOREKEEPER_REDIS");
    return addr ? addr : "127.0.0.1:6379";
}

const char *sk_cli_redis_prefix(const sk_cli_redis_t *args)
{
    const char *prefix = flag_or_env(args->prefix, "SCOREKEEPER_REDIS_PREFIX");
    return prefix ? prefix : "sk";
}

int sk_cli_redis_option(sk_cli_redis_t *args, int opt, const char *arg)
{
    switch (opt) {
    case 'r':
        args->addr = arg;
        return SK_OK;
    case 'p':
        args->prefix = arg;
        return SK_OK;
    case 'd':
        args->db = arg;
        return SK_OK;
    case 'u':
        args->user = arg;
        return SK_OK;
    case 'P':
        args->password_file = arg;
        return SK_OK;
    default:
        return SK_ERR;
    }
}

/* The first line of @p path into @p buf.  @returns SK_OK or SK_ERR. */
static int read_password(const char *path, char *buf, size_t len,
                         const char *cmd)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "scorekeeper %s: --redis-password-file %s: %s\n", cmd,
                path, strerror(errno));
        return SK_ERR;
    }
    int status = SK_OK;
    if (!fgets(buf, (int)len, f)) {
        fprintf(stderr, "scorekeeper %s: --redis-password-file %s is empty\n",
                cmd, path);
        status = SK_ERR;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return status;
}

sk_redis_t *sk_cli_redis_open(const sk_cli_redis_t *args, const char *cmd,
                              int *usage_error)
{
    sk_redis_opts_t opts;
    char errstr[SK_ERRSTR_LEN];
    sk_redis_t *r = NULL;
    const char *prefix = sk_cli_redis_prefix(args);
    const char *db_text = flag_or_env(args->db, "SCOREKEEPER_REDIS_DB");
    const char *user = flag_or_env(args->user, "SCOREKEEPER_REDIS_USERNAME");
    const char *password_file =
        flag_or_env(args->password_file, "SCOREKEEPER_REDIS_PASSWORD_FILE");

    *usage_error = 0;
    sk_redis_opts_default(&opts);
    if (sk_redis_opts_parse_addr(&opts, sk_cli_redis_addr(args)) != SK_OK) {
        fprintf(stderr, "scorekeeper %s: --redis: '%s' is not HOST:PORT\n", cmd,
                sk_cli_redis_addr(args));
        *usage_error = 1;
        goto cleanup;
    }
    if (prefix) {
        size_t n = strlen(prefix);
        if (n == 0 || n >= sizeof opts.prefix || strpbrk(prefix, "{} \t\r\n")) {
            fprintf(stderr,
                    "scorekeeper %s: --prefix: '%s' must be 1..%zu bytes "
                    "without braces or spaces\n",
                    cmd, prefix, sizeof opts.prefix - 1);
            *usage_error = 1;
            goto cleanup;
        }
        memcpy(opts.prefix, prefix, n + 1);
    }
    if (db_text) {
        char *end;
        errno = 0;
        long db = strtol(db_text, &end, 10);
        if (errno || end == db_text || *end || db < 0 || db > 1000000) {
            fprintf(stderr,
                    "scorekeeper %s: --db: '%s' is not a database "
                    "number\n",
                    cmd, db_text);
            *usage_error = 1;
            goto cleanup;
        }
        opts.db = (int)db;
    }
    if (user)
        snprintf(opts.user, sizeof opts.user, "%s", user);
    if (password_file) {
        if (read_password(password_file, opts.password, sizeof opts.password,
                          cmd) != SK_OK)
            goto cleanup;
    } else {
        const char *env = getenv(SK_CLI_REDIS_PASSWORD_ENV);
        if (env)
            snprintf(opts.password, sizeof opts.password, "%s", env);
    }
    r = sk_redis_connect(&opts, errstr, sizeof errstr);
    if (!r)
        fprintf(stderr, "scorekeeper %s: %s\n", cmd, errstr);
cleanup:
    memset(opts.password, 0, sizeof opts.password);
    return r;
}
