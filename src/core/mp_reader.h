/*
 * mp_reader.h - a bounded, allocation-free msgpack reader over a buffer.
 *
 * msgpack-c's unpacker trusts length prefixes: five bytes announcing a
 * huge array make it try to allocate for every announced element.  The
 * decoders of untrusted bytes (events from Kafka, account state from
 * Redis) read with this cursor instead.  It never allocates, never reads
 * past the end of its buffer, and checks every announced length and
 * count against the bytes that remain before using it; a container read
 * also states the largest count the caller accepts.  Strings are
 * returned as a pointer into the buffer, not copied.
 *
 * Errors are sticky: after the first failure every read fails, and
 * sk_mp_reader_t.err says why, so a decoder can read a run of fields and
 * check once.
 */
#ifndef SK_MP_READER_H
#define SK_MP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What the next value is. */
typedef enum sk_mp_type {
    SK_MP_NIL,
    SK_MP_BOOL,
    SK_MP_INT,   /**< any msgpack integer, signed or not */
    SK_MP_FLOAT, /**< float 32 or float 64 */
    SK_MP_STR,
    SK_MP_BIN,
    SK_MP_ARRAY,
    SK_MP_MAP,
    SK_MP_EXT,
    SK_MP_INVALID, /**< the never-used byte 0xc1 */
    SK_MP_END      /**< no bytes left */
} sk_mp_type_t;

/** Why a read failed. */
typedef enum sk_mp_error {
    SK_MP_E_NONE,
    SK_MP_E_TRUNCATED, /**< a value or announced length runs past the end */
    SK_MP_E_INVALID,   /**< the byte 0xc1 */
    SK_MP_E_TYPE,      /**< the value is not of the type asked for */
    SK_MP_E_RANGE,     /**< an integer that does not fit the type asked for */
    SK_MP_E_LIMIT,     /**< a container holds more than the caller accepts */
    SK_MP_E_DEPTH      /**< nesting deeper than the caller accepts */
} sk_mp_error_t;

typedef struct sk_mp_reader {
    const uint8_t *p;   /**< next byte */
    const uint8_t *end; /**< one past the last byte */
    sk_mp_error_t err;  /**< first failure, SK_MP_E_NONE if none */
} sk_mp_reader_t;

/** Start reading @p len bytes at @p buf (which must outlive the reader). */
void sk_mp_reader_init(sk_mp_reader_t *r, const void *buf, size_t len);

/** @returns the number of bytes not yet read. */
static inline size_t sk_mp_remaining(const sk_mp_reader_t *r)
{
    return (size_t)(r->end - r->p);
}

/**
 * @returns the type of the next value, without consuming it; SK_MP_END
 *          at the end or after a failure.  Inline: it is on the hot path.
 */
static inline sk_mp_type_t sk_mp_peek(const sk_mp_reader_t *r)
{
    if (r->err != SK_MP_E_NONE || r->p >= r->end)
        return SK_MP_END;
    uint8_t b = *r->p;
    if (b <= 0x7f || b >= 0xe0)
        return SK_MP_INT;
    if (b <= 0x8f)
        return SK_MP_MAP;
    if (b <= 0x9f)
        return SK_MP_ARRAY;
    if (b <= 0xbf)
        return SK_MP_STR;
    switch (b) {
    case 0xc0:
        return SK_MP_NIL;
    case 0xc1:
        return SK_MP_INVALID;
    case 0xc2:
    case 0xc3:
        return SK_MP_BOOL;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        return SK_MP_BIN;
    case 0xca:
    case 0xcb:
        return SK_MP_FLOAT;
    case 0xd9:
    case 0xda:
    case 0xdb:
        return SK_MP_STR;
    case 0xdc:
    case 0xdd:
        return SK_MP_ARRAY;
    case 0xde:
    case 0xdf:
        return SK_MP_MAP;
    default:
        /* c7..c9 and d4..d8 are ext; cc..d3 are integers */
        return (b >= 0xcc && b <= 0xd3) ? SK_MP_INT : SK_MP_EXT;
    }
}

/** @returns the stable name of @p err, for messages. */
const char *sk_mp_error_name(sk_mp_error_t err);

/**
 * @brief Read a map header.
 * @param max  the most entries the caller accepts (SK_MP_E_LIMIT above).
 * @param n    receives the entry count; 2 * n values follow.
 * @returns SK_OK or SK_ERR.
 * @remark A count that cannot fit in the remaining bytes (each value is
 *         at least one byte) is SK_MP_E_TRUNCATED.
 */
int sk_mp_read_map(sk_mp_reader_t *r, uint32_t max, uint32_t *n);

/** @brief Read an array header; as sk_mp_read_map() with n values. */
int sk_mp_read_array(sk_mp_reader_t *r, uint32_t max, uint32_t *n);

/**
 * @brief Read a string without copying it.
 * @param s    receives a pointer into the buffer (not NUL-terminated).
 * @param len  receives its length in bytes.
 */
int sk_mp_read_str(sk_mp_reader_t *r, const char **s, uint32_t *len);

/** @brief Read any integer that fits an int64 (else SK_MP_E_RANGE). */
int sk_mp_read_int(sk_mp_reader_t *r, int64_t *v);

/** @brief Read any non-negative integer (else SK_MP_E_RANGE). */
int sk_mp_read_uint(sk_mp_reader_t *r, uint64_t *v);

/**
 * @brief Read any integer; one above INT64_MAX is reported as INT64_MAX
 *        with @p big set, so a caller can call it "out of range" itself.
 */
int sk_mp_read_int_sat(sk_mp_reader_t *r, int64_t *v, bool *big);

/** @brief Read a float 32 or float 64 (integers are SK_MP_E_TYPE). */
int sk_mp_read_float(sk_mp_reader_t *r, double *v);

/** @brief Read an integer or a float as a double. */
int sk_mp_read_number(sk_mp_reader_t *r, double *v);

/** @brief Read a boolean. */
int sk_mp_read_bool(sk_mp_reader_t *r, bool *v);

/** @brief Read a nil. */
int sk_mp_read_nil(sk_mp_reader_t *r);

/**
 * @brief Skip one value of any type.
 * @param max_depth  how many container levels the value may have: 0
 *                   accepts scalars only, 1 a container of scalars, and
 *                   so on (SK_MP_E_DEPTH above).
 */
int sk_mp_skip(sk_mp_reader_t *r, int max_depth);

#endif
