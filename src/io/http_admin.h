/*
 * http_admin.h - the daemon's small HTTP server for operators and
 * orchestrators: GET /healthz, /readyz and /metrics, nothing else.
 *
 * The server knows no figures and no readiness rule: the daemon hands it
 * two callbacks.  They run on the server's threads, never on the thread
 * that calls sk_http_admin_start(), so they must only read what is safe
 * to read from another thread (see metrics.h).
 */
#ifndef SK_HTTP_ADMIN_H
#define SK_HTTP_ADMIN_H

#include <stddef.h>

#include <sys/socket.h>

/** The value of metrics.listen that turns the server off. */
#define SK_HTTP_ADMIN_OFF "off"

typedef struct sk_http_admin sk_http_admin_t;

typedef struct sk_http_admin_handlers {
    /**
     * @brief Whether the process can do its work now (GET /readyz).
     * @returns SK_OK when ready; SK_ERR when not, with @p why saying what
     *          is missing (sent in the 503 body).
     * @remark Runs on a server thread; may block up to a few seconds.
     */
    int (*ready)(void *opaque, char *why, size_t whylen);
    /**
     * @brief The body of GET /metrics (Prometheus text format 0.0.4).
     * @returns malloc'd text the server frees, its length in @p len; or
     *          NULL (the server answers 500).
     * @remark Runs on a server thread.
     */
    char *(*metrics)(void *opaque, size_t *len);
    void *opaque; /**< passed to both */
} sk_http_admin_handlers_t;

/**
 * @brief Parse a listen address: "HOST:PORT", "[IPV6]:PORT" or ":PORT"
 *        (every IPv4 interface).  HOST is a numeric address or a name
 *        resolved once, now; PORT may be 0 (any free port).
 * @returns SK_OK with @p addr and @p len filled, or SK_ERR with @p errstr.
 */
int sk_http_admin_parse_listen(const char *listen,
                               struct sockaddr_storage *addr, socklen_t *len,
                               char *errstr, size_t errlen);

/**
 * @brief Listen on @p listen and serve until sk_http_admin_stop().
 *
 * One thread per connection, at most 8 connections (each closed after
 * 10 s), so a probe that blocks on a slow dependency never holds up
 * /healthz.  Only GET and HEAD are served (405 otherwise); paths other
 * than the three give 404.  The server's threads block every signal.
 *
 * @param h copied; its opaque must outlive the server.
 * @returns the server (stop it with sk_http_admin_stop()), or NULL with
 *          @p errstr (bad address, port in use).
 */
sk_http_admin_t *sk_http_admin_start(const char *listen,
                                     const sk_http_admin_handlers_t *h,
                                     char *errstr, size_t errlen);

/** @returns the port actually bound (useful with port 0), or -1. */
int sk_http_admin_port(const sk_http_admin_t *a);

/**
 * @brief Stop serving: waits for the requests in progress, closes the
 *        socket, frees @p a.  NULL is a no-op.
 */
void sk_http_admin_stop(sk_http_admin_t *a);

#endif
