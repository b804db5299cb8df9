/*
 * http_admin.c - GET /healthz, /readyz and /metrics over libmicrohttpd.
 *
 * DESIGN
 *  - libmicrohttpd's own listening thread and one thread per connection
 *    (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION):
 *    the readiness callback may wait on Redis for its timeout, and a
 *    liveness probe arriving meanwhile must still get its "ok" at once.
 *    Connections are bounded (8, closed after 10 s idle), so a scraper
 *    gone wrong cannot make the daemon spawn threads without end.
 *  - /healthz only says the process answers: it touches nothing else,
 *    so an orchestrator never restarts the daemon for a dependency's
 *    outage (that is what /readyz reports).
 *  - Signals are blocked while the server starts its threads, which
 *    inherit that mask: SIGTERM and SIGHUP always reach the main thread,
 *    whose sleeps they are meant to interrupt.
 *  - Only GET and HEAD; anything with a request body is refused before
 *    the body is read.
 */
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <pthread.h>

#include <microhttpd.h>

#include "http_admin.h"
#include "log.h"
#include "scorekeeper/common.h"

#define MAX_CONNECTIONS 8
#define CONNECTION_TIMEOUT_S 10
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"

struct sk_http_admin {
    struct MHD_Daemon *mhd;     /**< the server */
    sk_http_admin_handlers_t h; /**< what answers */
    int port;                   /**< bound port */
    pthread_mutex_t log_lock;   /**< guards log_limit */
    sk_log_limit_t log_limit;   /**< server errors: a few lines a minute */
};

int sk_http_admin_parse_listen(const char *listen,
                               struct sockaddr_storage *addr, socklen_t *len,
                               char *errstr, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen, ':'), *h = host;
    size_t hlen;
    char *end;
    long port;
    struct addrinfo hints, *res = NULL;
    int rc;

    if (!colon) {
        snprintf(errstr, errlen,
                 "%s: expected HOST:PORT, [IPV6]:PORT, :PORT or off", listen);
        return SK_ERR;
    }
    hlen = (size_t)(colon - listen);
    if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
        listen++;
        hlen -= 2;
    }
    if (hlen >= sizeof host) {
        snprintf(errstr, errlen, "listen address: host too long");
        return SK_ERR;
    }
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 0 || port > 65535) {
        snprintf(errstr, errlen, "%s: the port must be 0..65535", colon + 1);
        return SK_ERR;
    }
    if (!*host)
        h = "0.0.0.0";
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(h, colon + 1, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(errstr, errlen, "listen address %s: %s", h,
                 rc ? gai_strerror(rc) : "no address");
        if (res)
            freeaddrinfo(res);
        return SK_ERR;
    }
    if (res->ai_addrlen > sizeof *addr ||
        (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
        freeaddrinfo(res);
        snprintf(errstr, errlen, "listen address %s: not IPv4 or IPv6", h);
        return SK_ERR;
    }
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return SK_OK;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned int status,
                                 const char *type, char *body, size_t len,
                                 enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    enum MHD_Result ret;

    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_static(struct MHD_Connection *c,
                                   unsigned int status, const char *body)
{
    return send_text(c, status, TEXT_TYPE, (char *)(uintptr_t)body,
                     strlen(body), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    sk_http_admin_t *a = cls;

    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_static(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                           "only GET and HEAD\n");
    if (strcmp(url, "/healthz") == 0)
        return send_static(c, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        char why[SK_ERRSTR_LEN], body[SK_ERRSTR_LEN + 32];
        int n;
        why[0] = '\0';
        if (a->h.ready && a->h.ready(a->h.opaque, why, sizeof why) == SK_OK)
            return send_static(c, MHD_HTTP_OK, "ready\n");
        n = snprintf(body, sizeof body, "not ready: %s\n",
                     why[0] ? why : "unknown");
        if (n < 0 || (size_t)n >= sizeof body)
            n = (int)sizeof body - 1;
        return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT_TYPE, body,
                         (size_t)n, MHD_RESPMEM_MUST_COPY);
    }
    if (strcmp(url, "/metrics") == 0) {
        size_t len = 0;
        char *text = a->h.metrics ? a->h.metrics(a->h.opaque, &len) : NULL;
        if (!text)
            return send_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "metrics unavailable\n");
        return send_text(c, MHD_HTTP_OK, METRICS_TYPE, text, len,
                         MHD_RESPMEM_MUST_FREE);
    }
    return send_static(c, MHD_HTTP_NOT_FOUND,
                       "not found (try /healthz, /readyz, /metrics)\n");
}

/* libmicrohttpd's errors (a client that went away, a bad request) come
 * from any connection thread, as fast as clients can cause them. */
__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    sk_http_admin_t *a = cls;
    char line[512];
    size_t n;
    uint64_t held;
    int pass;

    pthread_mutex_lock(&a->log_lock);
    pass = sk_log_limit_pass(&a->log_limit, 10, 60000, &held);
    pthread_mutex_unlock(&a->log_lock);
    if (!pass)
        return;
    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    sk_log(SK_LOG_WARN, "http", "http server", "error=%s not_logged=%" PRIu64,
           SK_LOG_Q(line), held);
}

sk_http_admin_t *sk_http_admin_start(const char *listen,
                                     const sk_http_admin_handlers_t *h,
                                     char *errstr, size_t errlen)
{
    struct sockaddr_storage addr;
    socklen_t alen;
    sk_http_admin_t *a;
    sigset_t all, old;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    uint16_t port;

    if (sk_http_admin_parse_listen(listen, &addr, &alen, errstr, errlen) !=
        SK_OK)
        return NULL;
    a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    a->h = *h;
    if (pthread_mutex_init(&a->log_lock, NULL) != 0) {
        snprintf(errstr, errlen, "cannot create a mutex");
        free(a);
        return NULL;
    }
    if (addr.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
        port = ntohs(((struct sockaddr_in6 *)(void *)&addr)->sin6_port);
    } else {
        port = ntohs(((struct sockaddr_in *)(void *)&addr)->sin_port);
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* The logger first: options before it would log through MHD's own. */
    a->mhd = MHD_start_daemon(
        flags, port, NULL, NULL, answer, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
        MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!a->mhd) {
        snprintf(errstr, errlen,
                 "cannot listen on %s (address in use, or not an address "
                 "of this host)",
                 listen);
        pthread_mutex_destroy(&a->log_lock);
        free(a);
        return NULL;
    }
    info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
    a->port = info ? (int)info->port : (int)port;
    return a;
}

int sk_http_admin_port(const sk_http_admin_t *a)
{
    return a ? a->port : -1;
}

void sk_http_admin_stop(sk_http_admin_t *a)
{
    if (!a)
        return;
    MHD_stop_daemon(a->mhd);
    pthread_mutex_destroy(&a->log_lock);
    free(a);
}
