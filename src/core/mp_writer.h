/*
 * mp_writer.h - a msgpack writer that appends straight to a
 * msgpack_sbuffer, for the state codec's hot path.
 *
 * msgpack-c's packer reaches its buffer through a callback per value, a
 * few bytes at a time; encoding an account's state spends most of its
 * time there.  These inline functions check the room once per value and
 * store the bytes directly.  The encodings are msgpack-c's, byte for byte
 * (the smallest integer form, str8 for strings of 32 to 255 bytes,
 * float64 for doubles), so blobs do not change (tests/unit/test_mp_writer
 * compares the two on every boundary).
 *
 * Allocation failure is sticky: check sk_mp_writer_t.oom once at the end.
 */
#ifndef SK_MP_WRITER_H
#define SK_MP_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

typedef struct sk_mp_writer {
    msgpack_sbuffer *out; /**< appended to; its data is realloc'd */
    bool oom;             /**< an allocation failed */
} sk_mp_writer_t;

/** Room for @p n more bytes in w->out; false (and oom) when there is none. */
static inline bool sk_mp_room(sk_mp_writer_t *w, size_t n)
{
    msgpack_sbuffer *b = w->out;
    size_t cap;
    char *grown;

    if (b->size + n <= b->alloc)
        return true;
    if (w->oom)
        return false;
    cap = b->alloc ? b->alloc : 1024;
    while (cap < b->size + n)
        cap *= 2;
    if (!(grown = realloc(b->data, cap))) {
        w->oom = true;
        return false;
    }
    b->data = grown;
    b->alloc = cap;
    return true;
}

/* Big-endian stores after a type byte. */
static inline void sk_mp_put8(sk_mp_writer_t *w, uint8_t tag, uint8_t v)
{
    unsigned char *p = (unsigned char *)w->out->data + w->out->size;
    p[0] = tag;
    p[1] = v;
    w->out->size += 2;
}

static inline void sk_mp_put16(sk_mp_writer_t *w, uint8_t tag, uint16_t v)
{
    unsigned char *p = (unsigned char *)w->out->data + w->out->size;
    p[0] = tag;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)v;
    w->out->size += 3;
}

static inline void sk_mp_put32(sk_mp_writer_t *w, uint8_t tag, uint32_t v)
{
    unsigned char *p = (unsigned char *)w->out->data + w->out->size;
    p[0] = tag;
    for (int i = 0; i < 4; i++)
        p[1 + i] = (unsigned char)(v >> (24 - 8 * i));
    w->out->size += 5;
}

static inline void sk_mp_put64(sk_mp_writer_t *w, uint8_t tag, uint64_t v)
{
    unsigned char *p = (unsigned char *)w->out->data + w->out->size;
    p[0] = tag;
    for (int i = 0; i < 8; i++)
        p[1 + i] = (unsigned char)(v >> (56 - 8 * i));
    w->out->size += 9;
}

static inline void sk_mp_byte(sk_mp_writer_t *w, uint8_t v)
{
    w->out->data[w->out->size++] = (char)v;
}

/** An unsigned integer in its smallest form. */
static inline void sk_mp_uint(sk_mp_writer_t *w, uint64_t v)
{
    if (!sk_mp_room(w, 9))
        return;
    if (v < 128)
        sk_mp_byte(w, (uint8_t)v);
    else if (v < 256)
        sk_mp_put8(w, 0xcc, (uint8_t)v);
    else if (v < 65536)
        sk_mp_put16(w, 0xcd, (uint16_t)v);
    else if (v <= UINT32_MAX)
        sk_mp_put32(w, 0xce, (uint32_t)v);
    else
        sk_mp_put64(w, 0xcf, v);
}

/** A signed integer in its smallest form (non-negative ones as unsigned). */
static inline void sk_mp_int(sk_mp_writer_t *w, int64_t v)
{
    if (v >= 0) {
        sk_mp_uint(w, (uint64_t)v);
        return;
    }
    if (!sk_mp_room(w, 9))
        return;
    if (v >= -32)
        sk_mp_byte(w, (uint8_t)(int8_t)v);
    else if (v >= INT8_MIN)
        sk_mp_put8(w, 0xd0, (uint8_t)(int8_t)v);
    else if (v >= INT16_MIN)
        sk_mp_put16(w, 0xd1, (uint16_t)(int16_t)v);
    else if (v >= INT32_MIN)
        sk_mp_put32(w, 0xd2, (uint32_t)(int32_t)v);
    else
        sk_mp_put64(w, 0xd3, (uint64_t)v);
}

static inline void sk_mp_double(sk_mp_writer_t *w, double v)
{
    uint64_t bits;

    if (!sk_mp_room(w, 9))
        return;
    memcpy(&bits, &v, sizeof bits);
    sk_mp_put64(w, 0xcb, bits);
}

static inline void sk_mp_float(sk_mp_writer_t *w, float v)
{
    uint32_t bits;

    if (!sk_mp_room(w, 5))
        return;
    memcpy(&bits, &v, sizeof bits);
    sk_mp_put32(w, 0xca, bits);
}

static inline void sk_mp_true(sk_mp_writer_t *w)
{
    if (sk_mp_room(w, 1))
        sk_mp_byte(w, 0xc3);
}

/* Header of a container or string: fix form below @p fixmax. */
static inline void sk_mp_header(sk_mp_writer_t *w, size_t n, uint8_t fix,
                                size_t fixmax, uint8_t t8, uint8_t t16,
                                uint8_t t32)
{
    if (!sk_mp_room(w, 5))
        return;
    if (n < fixmax)
        sk_mp_byte(w, (uint8_t)(fix | n));
    else if (t8 && n < 256)
        sk_mp_put8(w, t8, (uint8_t)n);
    else if (n < 65536)
        sk_mp_put16(w, t16, (uint16_t)n);
    else
        sk_mp_put32(w, t32, (uint32_t)n);
}

static inline void sk_mp_array(sk_mp_writer_t *w, size_t n)
{
    sk_mp_header(w, n, 0x90, 16, 0, 0xdc, 0xdd);
}

static inline void sk_mp_map(sk_mp_writer_t *w, size_t n)
{
    sk_mp_header(w, n, 0x80, 16, 0, 0xde, 0xdf);
}

/** A string of @p len bytes. */
static inline void sk_mp_str(sk_mp_writer_t *w, const char *s, size_t len)
{
    sk_mp_header(w, len, 0xa0, 32, 0xd9, 0xda, 0xdb);
    if (!sk_mp_room(w, len))
        return;
    memcpy(w->out->data + w->out->size, s, len);
    w->out->size += len;
}

#endif
