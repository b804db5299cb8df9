/*
 * log.c - logfmt writer.
 *
 * A line is formatted into a stack buffer and written with one fputs()
 * on an unbuffered stderr, so lines from librdkafka's threads (which log
 * through the same function) never interleave mid-line.  Timestamps are
 * wall-clock UTC with milliseconds: they say when the line was written,
 * which is not the event time the daemon may be told to use in tests.
 * Floods are the callers' to bound, with a limiter per call site
 * (sk_log_limit_pass): the first lines of a burst are written, the rest
 * counted and reported with the next line written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "scorekeeper/common.h"

static volatile int min_level = SK_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sk_log_set_level(sk_log_level_t level)
{
    min_level = (int)level;
}

int sk_log_enabled(sk_log_level_t level)
{
    return (int)level >= min_level;
}

int sk_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "warning") == 0)
        return SK_LOG_WARN;
    return -1;
}

const char *sk_log_level_name(sk_log_level_t level)
{
    return level_names[(int)level & 3];
}

static int is_plain(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
            return 0;
    }
    return 1;
}

const char *sk_log_quote(char *buf, size_t len, const char *s)
{
    size_t o = 0;

    if (len == 0)
        return buf;
    if (!s)
        s = "";
    if (is_plain(s)) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    /* Room for the closing quote and NUL is kept at every step. */
    if (len < 3) {
        buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (; *s && o + 6 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static void write_line(sk_log_level_t level, const char *component,
                       const char *msg, const char *fmt, va_list ap)
{
    char line[2048];
    char ts[40];
    char qmsg[768];
    struct timespec now;
    size_t o;
    int n;

    clock_gettime(CLOCK_REALTIME, &now);
    sk_format_time((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, ts,
                   sizeof ts);
    sk_log_quote(qmsg, sizeof qmsg, msg);
    /* msg is always quoted so that a reader can grep msg=" reliably */
    if (qmsg[0] != '"')
        n = snprintf(line, sizeof line,
                     "ts=%s level=%s component=%s msg=\"%s\"", ts,
                     sk_log_level_name(level), component, qmsg);
    else
        n = snprintf(line, sizeof line, "ts=%s level=%s component=%s msg=%s",
                     ts, sk_log_level_name(level), component, qmsg);
    o = n < 0 ? 0 : (size_t)n;
    if (o >= sizeof line - 2)
        o = sizeof line - 2;
    if (fmt && *fmt) {
        char fields[1536];
        n = vsnprintf(fields, sizeof fields, fmt, ap);
        if (n > 0 && o < sizeof line - 3) {
            n = snprintf(line + o, sizeof line - 1 - o, " %s", fields);
            if (n > 0)
                o += (size_t)n;
            if (o >= sizeof line - 1)
                o = sizeof line - 2;
        }
    }
    line[o++] = '\n';
    line[o] = '\0';
    fputs(line, stderr);
}

void sk_log(sk_log_level_t level, const char *component, const char *msg,
            const char *fmt, ...)
{
    va_list ap;

    if ((int)level < min_level)
        return;
    va_start(ap, fmt);
    write_line(level, component, msg, fmt, ap);
    va_end(ap);
}

int sk_log_limit_pass(sk_log_limit_t *l, int per_window, int64_t window_ms,
                      uint64_t *held)
{
    struct timespec now;
    int64_t ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    *held = 0;
    if (l->window_start_ms == 0 || ms - l->window_start_ms >= window_ms) {
        l->window_start_ms = ms;
        l->lines = 0;
    }
    if (l->lines >= per_window) {
        l->held++;
        return 0;
    }
    l->lines++;
    *held = l->held;
    l->held = 0;
    return 1;
}

void sk_log_msg(sk_log_level_t level, const char *component, const char *msg)
{
    sk_log(level, component, msg, "%s", "");
}
