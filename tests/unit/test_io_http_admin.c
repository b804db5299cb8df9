/*
 * test_io_http_admin.c - the HTTP admin server and the log limiter,
 * without a daemon: listen addresses, the answers to each path and
 * method over a real loopback socket, and how floods are held back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "http_admin.h"
#include "log.h"
#include "scorekeeper/common.h"

Test(http_admin, parses_listen_addresses)
{
    struct sockaddr_storage a;
    socklen_t len;
    char err[SK_ERRSTR_LEN];

    cr_assert_eq(
        sk_http_admin_parse_listen("127.0.0.1:9187", &a, &len, err, sizeof err),
        SK_OK);
    cr_assert_eq(a.ss_family, AF_INET);
    cr_assert_eq(ntohs(((struct sockaddr_in *)&a)->sin_port), 9187);
    cr_assert_eq(sk_http_admin_parse_listen(":80", &a, &len, err, sizeof err),
                 SK_OK);
    cr_assert_eq(((struct sockaddr_in *)&a)->sin_addr.s_addr, htonl(0));
    cr_assert_eq(
        sk_http_admin_parse_listen("[::1]:9187", &a, &len, err, sizeof err),
        SK_OK);
    cr_assert_eq(a.ss_family, AF_INET6);
    cr_assert_eq(
        sk_http_admin_parse_listen("127.0.0.1:0", &a, &len, err, sizeof err),
        SK_OK);
    cr_assert_eq(sk_http_admin_parse_listen("9187", &a, &len, err, sizeof err),
                 SK_ERR);
    cr_assert_eq(sk_http_admin_parse_listen("127.0.0.1:70000", &a, &len, err,
                                            sizeof err),
                 SK_ERR);
    cr_assert_eq(
        sk_http_admin_parse_listen("127.0.0.1:", &a, &len, err, sizeof err),
        SK_ERR);
    cr_assert_eq(
        sk_http_admin_parse_listen("256.1.1.1:80", &a, &len, err, sizeof err),
        SK_ERR);
    cr_assert(strlen(err) > 0);
}

static int ready_flag;

static int ready(void *opaque, char *why, size_t whylen)
{
    (void)opaque;
    if (ready_flag)
        return SK_OK;
    snprintf(why, whylen, "redis unreachable: test");
    return SK_ERR;
}

static char *metrics(void *opaque, size_t *len)
{
    const char *text = opaque;
    char *copy = strdup(text);
    *len = copy ? strlen(copy) : 0;
    return copy;
}

/* One HTTP/1.0 exchange; the whole answer in @p out. */
static void request(int port, const char *req, char *out, size_t outlen)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t o = 0;
    ssize_t n;

    cr_assert(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while (o < outlen - 1 && (n = read(fd, out + o, outlen - 1 - o)) > 0)
        o += (size_t)n;
    out[o] = '\0';
    close(fd);
}

Test(http_admin, answers_each_path)
{
    static char text[] = "# HELP x y\n# TYPE x gauge\nx 1\n";
    sk_http_admin_handlers_t h = {ready, metrics, text};
    char err[SK_ERRSTR_LEN], out[4096];
    sk_http_admin_t *a =
        sk_http_admin_start("127.0.0.1:0", &h, err, sizeof err);
    int port;

    cr_assert_not_null(a, "%s", err);
    port = sk_http_admin_port(a);
    cr_assert(port > 0);

    request(port, "GET /healthz HTTP/1.0\r\n\r\n", out, sizeof out);
    cr_assert(strstr(out, " 200 ") && strstr(out, "\r\n\r\nok\n"), "%s", out);

    ready_flag = 0;
    request(port, "GET /readyz HTTP/1.0\r\n\r\n", out, sizeof out);
    cr_assert(strstr(out, " 503 "), "%s", out);
    cr_assert(strstr(out, "not ready: redis unreachable: test"), "%s", out);
    ready_flag = 1;
    request(port, "GET /readyz HTTP/1.0\r\n\r\n", out, sizeof out);
    cr_assert(strstr(out, " 200 ") && strstr(out, "ready\n"), "%s", out);

    request(port, "GET /metrics HTTP/1.0\r\n\r\n", out, sizeof out);
    cr_assert(strstr(out, " 200 "), "%s", out);
    cr_assert(strstr(out, "text/plain; version=0.0.4"), "%s", out);
    cr_assert(strstr(out, "\r\n\r\n# HELP x y\n"), "%s", out);

    request(port, "GET /other HTTP/1.0\r\n\r\n", out, sizeof out);
    cr_assert(strstr(out, " 404 "), "%s", out);
    request(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", out,
            sizeof out);
    cr_assert(strstr(out, " 405 ") && strstr(out, "Allow: GET, HEAD"), "%s",
              out);
    request(port, "HEAD /healthz HTTP/1.0\r\n\r\n", out, sizeof out);
    cr_assert(strstr(out, " 200 ") && !strstr(out, "\r\n\r\nok"), "%s", out);

    sk_http_admin_stop(a);
    sk_http_admin_stop(NULL);
}

Test(http_admin, refuses_a_port_in_use)
{
    sk_http_admin_handlers_t h = {ready, metrics, (char[]){"x 1\n"}};
    char err[SK_ERRSTR_LEN], listen[64];
    sk_http_admin_t *a =
        sk_http_admin_start("127.0.0.1:0", &h, err, sizeof err);
    sk_http_admin_t *b;

    cr_assert_not_null(a, "%s", err);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", sk_http_admin_port(a));
    b = sk_http_admin_start(listen, &h, err, sizeof err);
    cr_assert_null(b);
    cr_assert(strstr(err, "cannot listen"), "%s", err);
    sk_http_admin_stop(a);
}

Test(log_limit, holds_back_a_flood_and_reports_it)
{
    sk_log_limit_t l = {0};
    uint64_t held;
    int passed = 0;

    for (int i = 0; i < 100; i++)
        passed += sk_log_limit_pass(&l, 3, 60000, &held);
    cr_assert_eq(passed, 3);
    cr_assert_eq(l.held, 97);
    /* A new window: the next line passes and carries the count. */
    l.window_start_ms -= 60000;
    cr_assert_eq(sk_log_limit_pass(&l, 3, 60000, &held), 1);
    cr_assert_eq(held, 97);
    cr_assert_eq(sk_log_limit_pass(&l, 3, 60000, &held), 1);
    cr_assert_eq(held, 0);
}
