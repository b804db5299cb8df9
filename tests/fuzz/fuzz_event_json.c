/*
 * fuzz_event_json.c - libFuzzer target for sk_event_decode_json(), the
 * decoder of JSON-lines input to the tools: any bytes must be decoded or
 * refused with a reason, and anything accepted must survive both
 * encoders (see event_check.h).  run.sh adds every line of
 * the .jsonl files in tests/fixtures/events/ to the seeds.
 */
#include <stddef.h>
#include <stdint.h>

#include "event_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_event_t ev;
    sk_decode_error_t err;
    if (sk_event_decode_json((const char *)data, size, &ev, &err) != SK_OK)
        check_refusal(&err);
    else
        check_round_trips(&ev);
    return 0;
}
