/*
 * test_mp_writer.c - the state codec's msgpack writer writes exactly the
 * bytes msgpack-c's packer writes, on every boundary of every form.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <msgpack.h>

#include "mp_writer.h"

static const int64_t signed_values[] = {
    0, 1, 31, 32, 127, 128, 255, 256, 32767, 32768, 65535, 65536,
    2147483647LL, 2147483648LL, 4294967295LL, 4294967296LL, INT64_MAX,
    -1, -31, -32, -33, -127, -128, -129, -255, -256, -32767, -32768, -32769,
    -65536, -2147483647LL, INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN,
};

static const uint64_t unsigned_values[] = {
    0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
    (uint64_t)UINT32_MAX + 1, UINT64_MAX,
};

static const size_t lengths[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535,
                                 65536};

/* What the writer and the packer (given the same calls) produced. */
typedef struct pair {
    msgpack_sbuffer ours, theirs;
    sk_mp_writer_t w;
    msgpack_packer pk;
} pair_t;

static void pair_init(pair_t *p)
{
    msgpack_sbuffer_init(&p->ours);
    msgpack_sbuffer_init(&p->theirs);
    p->w.out = &p->ours;
    p->w.oom = false;
    msgpack_packer_init(&p->pk, &p->theirs, msgpack_sbuffer_write);
}

static void pair_check(pair_t *p, const char *what)
{
    cr_assert_not(p->w.oom, "%s: out of memory", what);
    cr_assert_eq(p->ours.size, p->theirs.size, "%s: %zu bytes, not %zu", what,
                 p->ours.size, p->theirs.size);
    cr_assert_eq(memcmp(p->ours.data, p->theirs.data, p->ours.size), 0,
                 "%s: different bytes", what);
    msgpack_sbuffer_destroy(&p->ours);
    msgpack_sbuffer_destroy(&p->theirs);
}

Test(mp_writer, signed_integers)
{
    for (size_t i = 0; i < sizeof signed_values / sizeof *signed_values; i++) {
        pair_t p;
        pair_init(&p);
        sk_mp_int(&p.w, signed_values[i]);
        msgpack_pack_int64(&p.pk, signed_values[i]);
        pair_check(&p, "int64");
        if (signed_values[i] >= INT32_MIN && signed_values[i] <= INT32_MAX) {
            pair_init(&p);
            sk_mp_int(&p.w, signed_values[i]);
            msgpack_pack_int32(&p.pk, (int32_t)signed_values[i]);
            pair_check(&p, "int32");
        }
    }
}

Test(mp_writer, unsigned_integers)
{
    for (size_t i = 0; i < sizeof unsigned_values / sizeof *unsigned_values;
         i++) {
        pair_t p;
        pair_init(&p);
        sk_mp_uint(&p.w, unsigned_values[i]);
        msgpack_pack_uint64(&p.pk, unsigned_values[i]);
        pair_check(&p, "uint64");
        if (unsigned_values[i] <= UINT32_MAX) {
            pair_init(&p);
            sk_mp_uint(&p.w, unsigned_values[i]);
            msgpack_pack_uint32(&p.pk, (uint32_t)unsigned_values[i]);
            pair_check(&p, "uint32");
        }
    }
}

Test(mp_writer, reals_and_true)
{
    const double doubles[] = {0.0, -0.0, 1.5, -2.25, 1e300, NAN, INFINITY};
    pair_t p;

    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++) {
        pair_init(&p);
        sk_mp_double(&p.w, doubles[i]);
        msgpack_pack_double(&p.pk, doubles[i]);
        pair_check(&p, "double");
        pair_init(&p);
        sk_mp_float(&p.w, (float)doubles[i]);
        msgpack_pack_float(&p.pk, (float)doubles[i]);
        pair_check(&p, "float");
    }
    pair_init(&p);
    sk_mp_true(&p.w);
    msgpack_pack_true(&p.pk);
    pair_check(&p, "true");
}

Test(mp_writer, containers_and_strings)
{
    static char text[65536];

    memset(text, 'x', sizeof text);
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
        pair_t p;
        pair_init(&p);
        sk_mp_array(&p.w, lengths[i]);
        msgpack_pack_array(&p.pk, lengths[i]);
        pair_check(&p, "array");
        pair_init(&p);
        sk_mp_map(&p.w, lengths[i]);
        msgpack_pack_map(&p.pk, lengths[i]);
        pair_check(&p, "map");
        pair_init(&p);
        sk_mp_str(&p.w, text, lengths[i]);
        msgpack_pack_str_with_body(&p.pk, text, lengths[i]);
        pair_check(&p, "str");
    }
}
