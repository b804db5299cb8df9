/*
 * clock.c - wall, monotonic and test-controlled time.
 *
 * The file-backed clock exists so integration tests can exercise the
 * time-driven path (a customer silent for 31 days) without waiting.  It
 * is read on every call rather than watched: calls are rare (once per
 * batch and once per scheduler tick) and a read of a tiny file is cheap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "scorekeeper/common.h"

static int64_t last_good = INT64_MIN;
static int warned;

int64_t sk_clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sk_clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sk_clock_sleep_ms(int64_t ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

int sk_clock_is_fake(void)
{
    const char *path = getenv(SK_CLOCK_FILE_ENV);
    return path && *path;
}

static int read_clock_file(const char *path, int64_t *ts)
{
    char buf[128];
    size_t n;
    FILE *f = fopen(path, "r");

    if (!f)
        return SK_ERR;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
                     buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    return sk_parse_time(buf, ts);
}

int64_t sk_clock_now_ms(void)
{
    const char *path = getenv(SK_CLOCK_FILE_ENV);
    int64_t ts;

    if (!path || !*path)
        return sk_clock_wall_ms();
    if (read_clock_file(path, &ts) == SK_OK) {
        last_good = ts;
        warned = 0;
        return ts;
    }
    if (!warned) {
        warned = 1;
        sk_log(SK_LOG_WARN, "clock",
               "clock file unreadable or not an ISO-8601 time; keeping the "
               "last good time",
               "file=%s", SK_LOG_Q(path));
    }
    if (last_good == INT64_MIN)
        last_good = sk_clock_wall_ms();
    return last_good;
}
