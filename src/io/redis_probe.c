/*
 * redis_probe.c - ZCARD over a connection of its own, for /readyz and
 * /metrics.
 *
 * Kept apart from redis_store.c on purpose: that store is the main
 * thread's and has no lock; this one is shared by the HTTP threads and
 * serialises them with a mutex.  The question is O(1) on the server, so
 * a scrape never costs Redis more than a PING would.  Every call is
 * bounded by the timeout (connect and socket read/write), so a stopped
 * Redis makes a probe slow by at most that, never stuck.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <pthread.h>

#include "redis_probe.h"

struct sk_redis_probe {
    pthread_mutex_t lock; /**< one call at a time */
    sk_redis_opts_t opts; /**< where and how (owns a password copy) */
    int timeout_ms;       /**< bound of every step */
    redisContext *ctx;    /**< open connection or NULL */
    char key[96];         /**< PREFIX:idx:score */
};

sk_redis_probe_t *sk_redis_probe_new(const sk_redis_opts_t *opts,
                                     int timeout_ms)
{
    sk_redis_probe_t *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->opts = *opts;
    p->timeout_ms =
        timeout_ms < opts->timeout_ms ? timeout_ms : opts->timeout_ms;
    if (p->timeout_ms < 10)
        p->timeout_ms = 10;
    snprintf(p->key, sizeof p->key, "%s:idx:score", opts->prefix);
    return p;
}

static void drop(sk_redis_probe_t *p)
{
    if (p->ctx) {
        redisFree(p->ctx);
        p->ctx = NULL;
    }
}

void sk_redis_probe_destroy(sk_redis_probe_t *p)
{
    if (!p)
        return;
    drop(p);
    pthread_mutex_destroy(&p->lock);
    memset(p->opts.password, 0, sizeof p->opts.password);
    free(p);
}

static const char *io_error(const redisContext *c)
{
    if (!c || !c->errstr[0])
        return "I/O error";
    if (c->err == REDIS_ERR_IO &&
        (strcmp(c->errstr, strerror(EAGAIN)) == 0 ||
         strcmp(c->errstr, strerror(EWOULDBLOCK)) == 0))
        return "timed out";
    if (c->err == REDIS_ERR_EOF)
        return "connection closed by the server";
    return c->errstr;
}

/* One command; the reply (caller frees), or NULL with @p errstr saying
 * "WHAT: why".  The command's arguments never appear in the message. */
static redisReply *call(sk_redis_probe_t *p, const char *what, int argc,
                        const char **argv, char *errstr, size_t errlen)
{
    redisReply *rep = redisCommandArgv(p->ctx, argc, argv, NULL);

    if (!rep) {
        snprintf(errstr, errlen, "redis %s: %s", what, io_error(p->ctx));
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errlen, "redis %s: %.160s", what,
                 rep->str ? rep->str : "error");
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static int open_conn(sk_redis_probe_t *p, char *errstr, size_t errlen)
{
    struct timeval tv;
    redisReply *rep;

    tv.tv_sec = p->timeout_ms / 1000;
    tv.tv_usec = (p->timeout_ms % 1000) * 1000;
    p->ctx = redisConnectWithTimeout(p->opts.host, p->opts.port, tv);
    if (!p->ctx) {
        snprintf(errstr, errlen, "redis connect: out of memory");
        return SK_ERR;
    }
    if (p->ctx->err) {
        snprintf(errstr, errlen, "redis %s:%d: %s", p->opts.host, p->opts.port,
                 io_error(p->ctx));
        return SK_ERR;
    }
    if (redisSetTimeout(p->ctx, tv) != REDIS_OK) {
        snprintf(errstr, errlen, "redis: cannot set the socket timeout");
        return SK_ERR;
    }
    if (p->opts.password[0]) {
        const char *argv[3] = {"AUTH", p->opts.user, p->opts.password};
        if (p->opts.user[0])
            rep = call(p, "AUTH", 3, argv, errstr, errlen);
        else {
            argv[1] = p->opts.password;
            rep = call(p, "AUTH", 2, argv, errstr, errlen);
        }
        if (!rep)
            return SK_ERR;
        freeReplyObject(rep);
    }
    if (p->opts.db != 0) {
        char db[16];
        const char *argv[2] = {"SELECT", db};
        snprintf(db, sizeof db, "%d", p->opts.db);
        if (!(rep = call(p, "SELECT", 2, argv, errstr, errlen)))
            return SK_ERR;
        freeReplyObject(rep);
    }
    return SK_OK;
}

int sk_redis_probe_check(sk_redis_probe_t *p, int64_t *accounts, char *errstr,
                         size_t errlen)
{
    const char *argv[2] = {"ZCARD", p->key};
    redisReply *rep = NULL;
    int rc = SK_ERR;

    pthread_mutex_lock(&p->lock);
    if (!p->ctx && open_conn(p, errstr, errlen) != SK_OK)
        goto done;
    rep = call(p, "ZCARD", 2, argv, errstr, errlen);
    if (!rep)
        goto done;
    if (rep->type != REDIS_REPLY_INTEGER) {
        snprintf(errstr, errlen, "redis ZCARD: unexpected reply");
        goto done;
    }
    *accounts = rep->integer;
    rc = SK_OK;
done:
    if (rep)
        freeReplyObject(rep);
    if (rc != SK_OK)
        drop(p);
    pthread_mutex_unlock(&p->lock);
    return rc;
}
