/*
 * fuzz_state.c - libFuzzer target for sk_state_decode(), the reader of
 * account blobs from Redis: any bytes must be decoded or refused with a
 * message, without a crash, a leak or an allocation larger than the
 * blob calls for; an accepted blob must encode to bytes that decode to
 * an account encoding to the very same bytes (a fixed point).
 * Seeds: tests/fuzz/corpus/fuzz_state/; run with tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scorekeeper/state_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_rules_t rules;
    char err[SK_ERRSTR_LEN] = "";
    msgpack_sbuffer one, two;
    sk_account_t *b = NULL;

    memset(&rules, 0, sizeof rules);
    rules.window_days = 30;
    rules.dedup_horizon_days = 7;
    rules.dedup_max_ids = 16;
    sk_account_t *a = sk_state_decode(data, size, &rules, err, sizeof err);
    if (!a) {
        if (err[0] == '\0')
            abort();
        return 0;
    }
    msgpack_sbuffer_init(&one);
    msgpack_sbuffer_init(&two);
    if (sk_state_encode(a, &one) != SK_OK)
        abort();
    b = sk_state_decode(one.data, one.size, &rules, err, sizeof err);
    if (!b || sk_state_encode(b, &two) != SK_OK)
        abort();
    if (one.size != two.size || memcmp(one.data, two.data, one.size) != 0)
        abort();
    msgpack_sbuffer_destroy(&one);
    msgpack_sbuffer_destroy(&two);
    sk_account_destroy(a);
    sk_account_destroy(b);
    return 0;
}
