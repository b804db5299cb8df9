/*
 * outbox.c - a sequence of msgpack bin values, appended and walked
 * without a msgpack library call or an allocation per alert.
 *
 * Only the bin 8/16/32 headers are read or written; anything else in a
 * stored outbox means the field was not written by scorekeeperd and is
 * refused as a whole rather than half-produced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "scorekeeper/common.h"

static int reserve(sk_outbox_t *o, size_t more)
{
    size_t cap;
    char *nb;

    if (o->len + more <= o->cap)
        return SK_OK;
    cap = o->cap ? o->cap : 256;
    while (cap < o->len + more)
        cap *= 2;
    nb = realloc(o->buf, cap);
    if (!nb)
        return SK_ERR;
    o->buf = nb;
    o->cap = cap;
    return SK_OK;
}

int sk_outbox_append(sk_outbox_t *o, const void *payload, size_t len)
{
    unsigned char h[5];
    size_t hl;

    if (len > UINT32_MAX)
        return SK_ERR;
    if (len <= 0xff) {
        h[0] = 0xc4;
        h[1] = (unsigned char)len;
        hl = 2;
    } else if (len <= 0xffff) {
        h[0] = 0xc5;
        h[1] = (unsigned char)(len >> 8);
        h[2] = (unsigned char)len;
        hl = 3;
    } else {
        h[0] = 0xc6;
        h[1] = (unsigned char)(len >> 24);
        h[2] = (unsigned char)(len >> 16);
        h[3] = (unsigned char)(len >> 8);
        h[4] = (unsigned char)len;
        hl = 5;
    }
    if (reserve(o, hl + len) != SK_OK)
        return SK_ERR;
    memcpy(o->buf + o->len, h, hl);
    memcpy(o->buf + o->len + hl, payload, len);
    o->len += hl + len;
    o->n++;
    return SK_OK;
}

static int next_in(const char *buf, size_t len, size_t *pos,
                   const char **payload, size_t *plen)
{
    const unsigned char *p = (const unsigned char *)buf + *pos;
    size_t left = len - *pos, hl, n;

    if (*pos >= len)
        return 0;
    switch (p[0]) {
    case 0xc4:
        hl = 2;
        if (left < hl)
            return -1;
        n = p[1];
        break;
    case 0xc5:
        hl = 3;
        if (left < hl)
            return -1;
        n = (size_t)p[1] << 8 | p[2];
        break;
    case 0xc6:
        hl = 5;
        if (left < hl)
            return -1;
        n = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
        break;
    default:
        return -1;
    }
    if (left - hl < n)
        return -1;
    *payload = buf + *pos + hl;
    *plen = n;
    *pos += hl + n;
    return 1;
}

int sk_outbox_next(const sk_outbox_t *o, size_t *pos, const char **payload,
                   size_t *plen)
{
    return next_in(o->buf, o->len, pos, payload, plen);
}

int sk_outbox_set(sk_outbox_t *o, const void *stored, size_t len)
{
    size_t pos = 0, plen;
    const char *payload;
    int n = 0, rc;

    sk_outbox_clear(o);
    while ((rc = next_in(stored, len, &pos, &payload, &plen)) == 1)
        n++;
    if (rc < 0 || reserve(o, len) != SK_OK)
        return SK_ERR;
    if (len)
        memcpy(o->buf, stored, len);
    o->len = len;
    o->n = n;
    return SK_OK;
}

void sk_outbox_clear(sk_outbox_t *o)
{
    o->len = 0;
    o->n = 0;
}

void sk_outbox_free(sk_outbox_t *o)
{
    free(o->buf);
    o->buf = NULL;
    o->len = o->cap = 0;
    o->n = 0;
}
