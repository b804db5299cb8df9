/*
 * json_writer.c - JSON text written straight into a growing buffer (see
 * json_writer.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorekeeper/json_writer.h"

/* Room for @p more bytes and the terminating NUL. */
static bool reserve(sk_json_writer_t *w, size_t more)
{
    size_t cap;
    char *grown;

    if (w->oom)
        return false;
    if (w->len + more + 1 <= w->cap)
        return true;
    cap = w->cap ? w->cap : 256;
    while (cap < w->len + more + 1)
        cap *= 2;
    if (!(grown = realloc(w->data, cap))) {
        w->oom = true;
        return false;
    }
    w->data = grown;
    w->cap = cap;
    return true;
}

void sk_json_reset(sk_json_writer_t *w)
{
    w->len = 0;
    w->oom = false;
    if (w->data)
        w->data[0] = '\0';
}

void sk_json_free(sk_json_writer_t *w)
{
    free(w->data);
    w->data = NULL;
    w->len = w->cap = 0;
    w->oom = false;
}

void sk_json_raw(sk_json_writer_t *w, const char *s, size_t len)
{
    if (!reserve(w, len))
        return;
    memcpy(w->data + w->len, s, len);
    w->len += len;
    w->data[w->len] = '\0';
}

static void put(sk_json_writer_t *w, char c)
{
    sk_json_raw(w, &c, 1);
}

void sk_json_open(sk_json_writer_t *w)
{
    put(w, '{');
}

void sk_json_close(sk_json_writer_t *w)
{
    put(w, '}');
}

void sk_json_key(sk_json_writer_t *w, const char *key)
{
    if (w->len > 0 && w->data[w->len - 1] != '{')
        put(w, ',');
    sk_json_string(w, key);
    put(w, ':');
}

/* Length of the valid UTF-8 sequence at @p s (0: invalid). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void sk_json_string(sk_json_writer_t *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    put(w, '"');
    while (*p) {
        const unsigned char *run = p;
        /* plain ASCII goes in one copy */
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            sk_json_raw(w, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        if (*p >= 0x80) {
            size_t n = utf8_len(p);
            if (n) {
                sk_json_raw(w, (const char *)p, n);
                p += n;
            } else {
                sk_json_raw(w, "\\ufffd", 6);
                p++;
            }
            continue;
        }
        switch (*p) {
        case '"': sk_json_raw(w, "\\\"", 2); break;
        case '\\': sk_json_raw(w, "\\\\", 2); break;
        case '\b': sk_json_raw(w, "\\b", 2); break;
        case '\f': sk_json_raw(w, "\\f", 2); break;
        case '\n': sk_json_raw(w, "\\n", 2); break;
        case '\r': sk_json_raw(w, "\\r", 2); break;
        case '\t': sk_json_raw(w, "\\t", 2); break;
        default: {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            sk_json_raw(w, esc, 6);
        }
        }
        p++;
    }
    put(w, '"');
}

void sk_json_int(sk_json_writer_t *w, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    sk_json_raw(w, buf, (size_t)n);
}

void sk_json_real(sk_json_writer_t *w, double v)
{
    char buf[40];
    int n;

    if (!isfinite(v))
        v = 0;
    n = snprintf(buf, sizeof buf, "%.12g", v);
    if (!strpbrk(buf, ".eE")) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    sk_json_raw(w, buf, (size_t)n);
}

void sk_json_null(sk_json_writer_t *w)
{
    sk_json_raw(w, "null", 4);
}
