/*
 * event_check.h - what the event fuzzers assert about any input the
 * decoders accept: both encoders give bytes the decoders accept again,
 * as the very same event, so the two wire forms can never disagree on
 * an event that one of them let through.  A refusal must carry a reason
 * code and a message.  Any broken promise aborts, which libFuzzer
 * reports as a crash with the input that caused it.
 */
#ifndef SK_FUZZ_EVENT_CHECK_H
#define SK_FUZZ_EVENT_CHECK_H

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "scorekeeper/event.h"

static void check_same_event(const sk_event_t *a, const sk_event_t *b)
{
    if (a->ts_ms != b->ts_ms || a->type != b->type || a->role != b->role ||
        a->has_value != b->has_value || a->attrs != b->attrs ||
        (a->has_value && a->value != b->value) || strcmp(a->id, b->id) != 0 ||
        strcmp(a->account, b->account) != 0 || strcmp(a->user, b->user) != 0 ||
        strcmp(a->dept, b->dept) != 0 || strcmp(a->label, b->label) != 0)
        abort();
}

static void check_refusal(const sk_decode_error_t *err)
{
    if (err->code <= SK_REJECT_NONE || err->code >= SK_REJECT__COUNT ||
        err->message[0] == '\0' || strlen(err->message) >= sizeof err->message)
        abort();
}

static void check_round_trips(const sk_event_t *ev)
{
    sk_event_t back;
    sk_decode_error_t err;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    if (sk_event_encode_msgpack(ev, &sb) != SK_OK ||
        sk_event_decode_msgpack(sb.data, sb.size, &back, &err) != SK_OK)
        abort();
    check_same_event(ev, &back);
    msgpack_sbuffer_destroy(&sb);

    char *json = sk_event_to_json(ev);
    if (!json || sk_event_decode_json(json, strlen(json), &back, &err) != SK_OK)
        abort();
    check_same_event(ev, &back);
    free(json);
}

#endif
