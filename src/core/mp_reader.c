/*
 * mp_reader.c - the bounded msgpack cursor (see mp_reader.h).
 *
 * DESIGN
 * Every read starts by classifying the lead byte, then asks need() for
 * the bytes the value occupies before touching them; need() compares
 * with what remains, never forms a pointer past the end, and sets the
 * sticky error.  Announced counts are checked twice: against the
 * caller's maximum, and against the remaining bytes (every value is at
 * least one byte), so a lying count fails at once instead of after a
 * long loop.  Multi-byte numbers are big-endian on the wire and are
 * assembled byte by byte, so alignment and host byte order never matter.
 * Skipping recurses once per container level, up to the caller's depth
 * limit, so the stack is bounded too.
 */
#include <string.h>

#include "mp_reader.h"
#include "scorekeeper/common.h"

void sk_mp_reader_init(sk_mp_reader_t *r, const void *buf, size_t len)
{
    r->p = buf;
    r->end = r->p + len;
    r->err = SK_MP_E_NONE;
}

static int fail(sk_mp_reader_t *r, sk_mp_error_t err)
{
    if (r->err == SK_MP_E_NONE)
        r->err = err;
    return SK_ERR;
}

static bool need(sk_mp_reader_t *r, uint64_t n)
{
    if (n > sk_mp_remaining(r)) {
        fail(r, SK_MP_E_TRUNCATED);
        return false;
    }
    return true;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

const char *sk_mp_error_name(sk_mp_error_t err)
{
    switch (err) {
    case SK_MP_E_NONE:
        return "no error";
    case SK_MP_E_TRUNCATED:
        return "truncated or lying length";
    case SK_MP_E_INVALID:
        return "invalid byte 0xc1";
    case SK_MP_E_TYPE:
        return "unexpected type";
    case SK_MP_E_RANGE:
        return "integer out of range";
    case SK_MP_E_LIMIT:
        return "too many entries";
    case SK_MP_E_DEPTH:
        return "nested too deep";
    }
    return "?";
}

/* The type of the next value, failing the reader at the end or on 0xc1. */
static sk_mp_type_t next_type(sk_mp_reader_t *r)
{
    if (r->err != SK_MP_E_NONE)
        return SK_MP_END;
    sk_mp_type_t t = sk_mp_peek(r);
    if (t == SK_MP_END)
        fail(r, SK_MP_E_TRUNCATED);
    else if (t == SK_MP_INVALID)
        fail(r, SK_MP_E_INVALID);
    return t;
}

/* Read a length field of @p width bytes after the lead byte. */
static bool read_len(sk_mp_reader_t *r, int width, uint64_t *n)
{
    if (!need(r, 1 + (uint64_t)width))
        return false;
    *n = be(r->p + 1, width);
    r->p += 1 + width;
    return true;
}

static int read_container(sk_mp_reader_t *r, sk_mp_type_t want, uint32_t max,
                          uint32_t *n)
{
    sk_mp_type_t t = next_type(r);
    if (t == SK_MP_END || t == SK_MP_INVALID)
        return SK_ERR;
    if (t != want)
        return fail(r, SK_MP_E_TYPE);
    uint8_t b = *r->p;
    uint64_t count;
    if (b == 0xdc || b == 0xde) {
        if (!read_len(r, 2, &count))
            return SK_ERR;
    } else if (b == 0xdd || b == 0xdf) {
        if (!read_len(r, 4, &count))
            return SK_ERR;
    } else {
        count = b & 0x0f;
        r->p++;
    }
    if (count > max)
        return fail(r, SK_MP_E_LIMIT);
    if (!need(r, want == SK_MP_MAP ? 2 * count : count))
        return SK_ERR;
    *n = (uint32_t)count;
    return SK_OK;
}

int sk_mp_read_map(sk_mp_reader_t *r, uint32_t max, uint32_t *n)
{
    return read_container(r, SK_MP_MAP, max, n);
}

int sk_mp_read_array(sk_mp_reader_t *r, uint32_t max, uint32_t *n)
{
    return read_container(r, SK_MP_ARRAY, max, n);
}

/* Consume the header of a str, bin or ext value and its payload. */
static int read_blob(sk_mp_reader_t *r, const uint8_t **data, uint64_t *len)
{
    uint8_t b = *r->p;
    uint64_t n;
    int ext = 0;
    if (b >= 0xa0 && b <= 0xbf) {
        n = b & 0x1f;
        r->p++;
    } else if (b >= 0xd4 && b <= 0xd8) {
        n = (uint64_t)1 << (b - 0xd4);
        ext = 1;
        r->p++;
    } else {
        int width;
        switch (b) {
        case 0xd9:
        case 0xc4:
            width = 1;
            break;
        case 0xda:
        case 0xc5:
            width = 2;
            break;
        case 0xdb:
        case 0xc6:
            width = 4;
            break;
        case 0xc7:
            width = 1;
            ext = 1;
            break;
        case 0xc8:
            width = 2;
            ext = 1;
            break;
        default:
            width = 4;
            ext = 1;
            break; /* 0xc9 */
        }
        if (!read_len(r, width, &n))
            return SK_ERR;
    }
    /* an ext value carries a type byte before its payload */
    if (!need(r, n + (uint64_t)ext))
        return SK_ERR;
    r->p += ext;
    *data = r->p;
    *len = n;
    r->p += n;
    return SK_OK;
}

int sk_mp_read_str(sk_mp_reader_t *r, const char **s, uint32_t *len)
{
    /* short strings (keys, names, most values) take the quick way */
    if (r->err == SK_MP_E_NONE && r->p < r->end && (*r->p & 0xe0) == 0xa0) {
        uint32_t n = *r->p & 0x1f;
        if (n >= sk_mp_remaining(r))
            return fail(r, SK_MP_E_TRUNCATED);
        *s = (const char *)r->p + 1;
        *len = n;
        r->p += 1 + n;
        return SK_OK;
    }
    sk_mp_type_t t = next_type(r);
    if (t == SK_MP_END || t == SK_MP_INVALID)
        return SK_ERR;
    if (t != SK_MP_STR)
        return fail(r, SK_MP_E_TYPE);
    const uint8_t *data;
    uint64_t n;
    if (read_blob(r, &data, &n) != SK_OK)
        return SK_ERR;
    *s = (const char *)data;
    *len = (uint32_t)n;
    return SK_OK;
}

/*
 * Read an integer as a sign and a magnitude: @p neg set means the value
 * is -(mag), mag <= 2^63.
 */
static int read_integer(sk_mp_reader_t *r, bool *neg, uint64_t *mag)
{
    sk_mp_type_t t = next_type(r);
    if (t == SK_MP_END || t == SK_MP_INVALID)
        return SK_ERR;
    if (t != SK_MP_INT)
        return fail(r, SK_MP_E_TYPE);
    uint8_t b = *r->p;
    if (b <= 0x7f) {
        *neg = false;
        *mag = b;
        r->p++;
        return SK_OK;
    }
    if (b >= 0xe0) {
        *neg = true;
        *mag = (uint64_t)(0x100 - b);
        r->p++;
        return SK_OK;
    }
    int width = 1 << ((b - 0xcc) & 3); /* cc..cf and d0..d3: 1,2,4,8 */
    if (!need(r, 1 + (uint64_t)width))
        return SK_ERR;
    uint64_t raw = be(r->p + 1, width);
    r->p += 1 + width;
    if (b <= 0xcf) {
        *neg = false;
        *mag = raw;
        return SK_OK;
    }
    int bits = width * 8;
    uint64_t sign = (uint64_t)1 << (bits - 1);
    if (raw & sign) {
        /* two's complement of a width-byte number: magnitude = 2^bits - raw */
        uint64_t full = bits == 64 ? 0 : ((uint64_t)1 << bits);
        *neg = true;
        *mag = full - raw;
    } else {
        *neg = false;
        *mag = raw;
    }
    return SK_OK;
}

int sk_mp_read_int_sat(sk_mp_reader_t *r, int64_t *v, bool *big)
{
    bool neg;
    uint64_t mag;
    if (read_integer(r, &neg, &mag) != SK_OK)
        return SK_ERR;
    *big = false;
    if (neg)
        *v = mag == ((uint64_t)1 << 63) ? INT64_MIN : -(int64_t)mag;
    else if (mag > (uint64_t)INT64_MAX) {
        *v = INT64_MAX;
        *big = true;
    } else
        *v = (int64_t)mag;
    return SK_OK;
}

int sk_mp_read_int(sk_mp_reader_t *r, int64_t *v)
{
    bool big;
    if (sk_mp_read_int_sat(r, v, &big) != SK_OK)
        return SK_ERR;
    return big ? fail(r, SK_MP_E_RANGE) : SK_OK;
}

int sk_mp_read_uint(sk_mp_reader_t *r, uint64_t *v)
{
    bool neg;
    uint64_t mag;
    if (read_integer(r, &neg, &mag) != SK_OK)
        return SK_ERR;
    if (neg && mag != 0)
        return fail(r, SK_MP_E_RANGE);
    *v = mag;
    return SK_OK;
}

int sk_mp_read_float(sk_mp_reader_t *r, double *v)
{
    sk_mp_type_t t = next_type(r);
    if (t == SK_MP_END || t == SK_MP_INVALID)
        return SK_ERR;
    if (t != SK_MP_FLOAT)
        return fail(r, SK_MP_E_TYPE);
    if (*r->p == 0xca) {
        if (!need(r, 5))
            return SK_ERR;
        uint32_t bits = (uint32_t)be(r->p + 1, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        *v = f;
        r->p += 5;
    } else {
        if (!need(r, 9))
            return SK_ERR;
        uint64_t bits = be(r->p + 1, 8);
        memcpy(v, &bits, sizeof *v);
        r->p += 9;
    }
    return SK_OK;
}

int sk_mp_read_number(sk_mp_reader_t *r, double *v)
{
    if (sk_mp_peek(r) == SK_MP_INT) {
        bool neg;
        uint64_t mag;
        if (read_integer(r, &neg, &mag) != SK_OK)
            return SK_ERR;
        *v = neg ? -(double)mag : (double)mag;
        return SK_OK;
    }
    return sk_mp_read_float(r, v);
}

int sk_mp_read_bool(sk_mp_reader_t *r, bool *v)
{
    sk_mp_type_t t = next_type(r);
    if (t == SK_MP_END || t == SK_MP_INVALID)
        return SK_ERR;
    if (t != SK_MP_BOOL)
        return fail(r, SK_MP_E_TYPE);
    *v = *r->p == 0xc3;
    r->p++;
    return SK_OK;
}

int sk_mp_read_nil(sk_mp_reader_t *r)
{
    sk_mp_type_t t = next_type(r);
    if (t == SK_MP_END || t == SK_MP_INVALID)
        return SK_ERR;
    if (t != SK_MP_NIL)
        return fail(r, SK_MP_E_TYPE);
    r->p++;
    return SK_OK;
}

int sk_mp_skip(sk_mp_reader_t *r, int max_depth)
{
    sk_mp_type_t t = next_type(r);
    uint32_t n;
    switch (t) {
    case SK_MP_END:
    case SK_MP_INVALID:
        return SK_ERR;
    case SK_MP_NIL:
    case SK_MP_BOOL:
        r->p++;
        return SK_OK;
    case SK_MP_INT: {
        bool neg;
        uint64_t mag;
        return read_integer(r, &neg, &mag);
    }
    case SK_MP_FLOAT: {
        double d;
        return sk_mp_read_float(r, &d);
    }
    case SK_MP_STR:
    case SK_MP_BIN:
    case SK_MP_EXT: {
        const uint8_t *data;
        uint64_t len;
        return read_blob(r, &data, &len);
    }
    case SK_MP_ARRAY:
    case SK_MP_MAP:
        if (max_depth < 1)
            return fail(r, SK_MP_E_DEPTH);
        if (read_container(r, t, UINT32_MAX, &n) != SK_OK)
            return SK_ERR;
        for (uint64_t i = 0; i < (t == SK_MP_MAP ? 2 * (uint64_t)n : n); i++)
            if (sk_mp_skip(r, max_depth - 1) != SK_OK)
                return SK_ERR;
        return SK_OK;
    }
    return fail(r, SK_MP_E_INVALID);
}
