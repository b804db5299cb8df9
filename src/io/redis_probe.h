/*
 * redis_probe.h - a second, tiny Redis connection for health checks.
 *
 * The daemon's own connection belongs to its main thread, which may be
 * busy or waiting out a retry when an orchestrator asks whether Redis is
 * reachable.  The probe has a connection of its own, used by the HTTP
 * threads one call at a time (it locks), and asks one cheap question:
 * ZCARD of the score index, whose answer proves Redis answers and says
 * how many accounts the store holds.
 */
#ifndef SK_REDIS_PROBE_H
#define SK_REDIS_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "redis_store.h"

typedef struct sk_redis_probe sk_redis_probe_t;

/**
 * @brief A probe for the store @p opts describes (copied, password
 *        included; wiped by sk_redis_probe_destroy()).  Connects lazily.
 * @param timeout_ms bound of each connect and call (at most
 *        @p opts->timeout_ms is used when that is smaller).
 * @returns the probe, or NULL (out of memory).
 */
sk_redis_probe_t *sk_redis_probe_new(const sk_redis_opts_t *opts,
                                     int timeout_ms);

/** Close and free @p p.  NULL is a no-op. */
void sk_redis_probe_destroy(sk_redis_probe_t *p);

/**
 * @brief Connect if needed (AUTH, SELECT) and read ZCARD PREFIX:idx:score.
 * @param accounts receives the count on success.
 * @returns SK_OK, or SK_ERR with @p errstr (the connection is dropped and
 *          made again by the next call).  Never logs, never puts the
 *          password in @p errstr.  Thread-safe.
 */
int sk_redis_probe_check(sk_redis_probe_t *p, int64_t *accounts, char *errstr,
                         size_t errlen);

#endif
