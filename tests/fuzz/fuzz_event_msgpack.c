/*
 * fuzz_event_msgpack.c - libFuzzer target for sk_event_decode_msgpack(),
 * the decoder of every Kafka message: any bytes must be decoded or
 * refused with a reason, within bounded time and memory, and anything
 * accepted must survive both encoders (see event_check.h).
 * Seeds: tests/fuzz/corpus/fuzz_event_msgpack/; run with tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>

#include "event_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_event_t ev;
    sk_decode_error_t err;
    if (sk_event_decode_msgpack(data, size, &ev, &err) != SK_OK)
        check_refusal(&err);
    else
        check_round_trips(&ev);
    return 0;
}
