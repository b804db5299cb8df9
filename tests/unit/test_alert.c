/*
 * test_alert.c - alert lists, ids, and the JSON and msgpack forms.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "scorekeeper/alert.h"
#include "support.h"

static sk_alert_t sample(void)
{
    sk_alert_t a;
    memset(&a, 0, sizeof a);
    a.kind = SK_ALERT_STAGE_CROSSED;
    a.flag = -1;
    snprintf(a.account, sizeof a.account, "northwind");
    snprintf(a.from, sizeof a.from, "100");
    snprintf(a.to, sizeof a.to, "500");
    a.ts_ms = 1762000000000;
    snprintf(a.event_id, sizeof a.event_id, "e-1");
    snprintf(a.rules_version, sizeof a.rules_version, "v1");
    snprintf(a.reason, sizeof a.reason, "points 510 reached stage 500");
    snprintf(a.play, sizeof a.play, "rescue plan");
    a.sla_hours = 24;
    a.points = 510;
    a.stage = 500;
    a.engagement = 52.34;
    sk_alert_make_id(&a);
    return a;
}

Test(alert, id_depends_on_cause_only)
{
    sk_alert_t a = sample(), b = sample();
    cr_assert_str_eq(a.id, b.id);
    cr_assert_eq(strlen(a.id), 16);
    b.points = 999; /* scores are not part of the id */
    sk_alert_make_id(&b);
    cr_assert_str_eq(a.id, b.id);
    b.ts_ms++;
    sk_alert_make_id(&b);
    cr_assert_str_neq(a.id, b.id);
    b = sample();
    snprintf(b.rules_version, sizeof b.rules_version, "v2");
    sk_alert_make_id(&b);
    cr_assert_str_neq(a.id, b.id);
    b = sample();
    snprintf(b.event_id, sizeof b.event_id, "e-2");
    sk_alert_make_id(&b);
    cr_assert_str_neq(a.id, b.id);
}

Test(alert, json_form)
{
    sk_alert_t a = sample();
    char *text = sk_alert_to_json(&a);
    cr_assert_not_null(text);
    json_error_t err;
    json_t *o = json_loads(text, 0, &err);
    cr_assert_not_null(o, "%s", err.text);
    cr_assert_str_eq(json_string_value(json_object_get(o, "id")), a.id);
    cr_assert_str_eq(json_string_value(json_object_get(o, "kind")),
                     "stage_crossed");
    cr_assert_eq(json_integer_value(json_object_get(o, "from")), 100);
    cr_assert_eq(json_integer_value(json_object_get(o, "to")), 500);
    cr_assert_str_eq(json_string_value(json_object_get(o, "ts")),
                     "2025-11-01T12:26:40Z");
    cr_assert_float_eq(json_real_value(json_object_get(o, "engagement")), 52.3,
                       1e-9);
    cr_assert_eq(json_integer_value(json_object_get(o, "sla_hours")), 24);
    cr_assert_null(json_object_get(o, "flag"));
    json_decref(o);
    free(text);

    a.kind = SK_ALERT_FLAG_RAISED;
    a.flag = SK_FLAG_USAGE_DROP;
    a.sla_hours = -1;
    a.event_id[0] = '\0';
    text = sk_alert_to_json(&a);
    o = json_loads(text, 0, &err);
    cr_assert_str_eq(json_string_value(json_object_get(o, "flag")),
                     "usage_drop");
    cr_assert(json_is_null(json_object_get(o, "sla_hours")));
    cr_assert(json_is_null(json_object_get(o, "event_id")));
    json_decref(o);
    free(text);
}

Test(alert, msgpack_form_is_a_map)
{
    sk_alert_t a = sample();
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    cr_assert_eq(sk_alert_encode_msgpack(&a, &buf), SK_OK);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    cr_assert_eq(msgpack_unpack_next(&u, buf.data, buf.size, &off),
                 MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq(u.data.type, MSGPACK_OBJECT_MAP);
    cr_assert_eq(u.data.via.map.size, 20);
    cr_assert_eq(off, buf.size, "the map header counts every pair");
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}

Test(alert, list_grows_and_clears)
{
    sk_alerts_t list = {0};
    for (int i = 0; i < 100; i++)
        cr_assert_not_null(sk_alerts_push(&list));
    cr_assert_eq(list.n, 100);
    size_t cap = list.cap;
    sk_alerts_clear(&list);
    cr_assert_eq(list.n, 0);
    cr_assert_eq(list.cap, cap, "memory kept for reuse");
    sk_alerts_free(&list);
    cr_assert_null(list.v);
}
