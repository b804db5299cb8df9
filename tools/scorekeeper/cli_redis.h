/*
 * cli_redis.h - the Redis options the `scorekeeper` commands share
 * (show, top): where the store is and how to log in.
 */
#ifndef SK_CLI_REDIS_H
#define SK_CLI_REDIS_H

#include <getopt.h>

#include "redis_store.h"

/** Environment variable holding the Redis password (never a flag). */
#define SK_CLI_REDIS_PASSWORD_ENV "SCOREKEEPER_REDIS_PASSWORD"

/**
 * The Redis options of a command line, as given.  An option left NULL
 * takes the daemon's environment variable (SCOREKEEPER_REDIS,
 * SCOREKEEPER_REDIS_PREFIX, SCOREKEEPER_REDIS_DB,
 * SCOREKEEPER_REDIS_USERNAME, SCOREKEEPER_REDIS_PASSWORD_FILE) when it
 * is set, so the tools find the store the daemon uses.
 */
typedef struct sk_cli_redis {
    const char *addr;          /**< --redis HOST:PORT, NULL: 127.0.0.1:6379 */
    const char *prefix;        /**< --prefix, NULL: "sk" */
    const char *db;            /**< --db N, NULL: 0 */
    const char *user;          /**< --redis-user, NULL: none */
    const char *password_file; /**< --redis-password-file, NULL: none */
} sk_cli_redis_t;

/** The struct option entries of these options, with getopt values 'r'
 *  (--redis), 'p' (--prefix), 'd' (--db), 'u' (--redis-user) and 'P'
 *  (--redis-password-file), for sk_cli_redis_option(). */
/* clang-format off */
#define SK_CLI_REDIS_LONG_OPTIONS \
    {"redis", required_argument, NULL, 'r'}, \
    {"prefix", required_argument, NULL, 'p'}, \
    {"db", required_argument, NULL, 'd'}, \
    {"redis-user", required_argument, NULL, 'u'}, \
    {"redis-password-file", required_argument, NULL, 'P'}
/* clang-format on */

/**
 * @brief Record one of the options of SK_CLI_REDIS_LONG_OPTIONS in
 *        @p args: @p opt is getopt's value, @p arg its argument (checked
 *        later, by sk_cli_redis_open()).
 * @returns SK_OK, or SK_ERR when @p opt is not one of them.
 */
int sk_cli_redis_option(sk_cli_redis_t *args, int opt, const char *arg);

/** The lines of --help that describe these options. */
#define SK_CLI_REDIS_HELP                                                      \
    "  --redis HOST:PORT     the Redis server (default $SCOREKEEPER_REDIS "    \
    "or\n"                                                                     \
    "                        127.0.0.1:6379)\n"                                \
    "  --prefix PREFIX       key prefix (default sk)\n"                        \
    "  --db N                database number (default 0)\n"                    \
    "  --redis-user USER     ACL user\n"                                       \
    "  --redis-password-file FILE\n"                                           \
    "                        the password, first line of FILE (or set\n"       \
    "                        " SK_CLI_REDIS_PASSWORD_ENV ")\n"

/**
 * @brief Connect as @p args says, printing "scorekeeper CMD: problem" on
 *        stderr when that fails.
 * @param usage_error set to 1 when the options themselves are wrong.
 * @returns the store (free with sk_redis_close()), or NULL.
 */
sk_redis_t *sk_cli_redis_open(const sk_cli_redis_t *args, const char *cmd,
                              int *usage_error);

/** @returns "HOST:PORT" of @p args for messages. */
const char *sk_cli_redis_addr(const sk_cli_redis_t *args);

/** @returns the key prefix @p args select, for messages. */
const char *sk_cli_redis_prefix(const sk_cli_redis_t *args);

#endif
