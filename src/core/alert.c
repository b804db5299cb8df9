/*
 * alert.c - alert lists, deterministic alert ids, and the two wire forms
 * of an alert (JSON for Slack bots and `kcat | jq`, msgpack on request).
 *
 * The id hashes exactly the fields that say what happened and why
 * (account, kind, flag, from, to, time, causing event, rules version) and
 * none that describe the account's scores, so a replay of the same input
 * under the same rules always repeats the same id.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorekeeper/alert.h"

static const char *const kind_names[SK_ALERT__COUNT] = {
    "stage_crossed", "health_changed", "engagement_tier_changed",
    "segment_changed", "flag_raised", "flag_cleared",
};

const char *sk_alert_kind_name(sk_alert_kind_t kind)
{
    return (int)kind >= 0 && kind < SK_ALERT__COUNT ? kind_names[kind] : "?";
}

void sk_alerts_clear(sk_alerts_t *list)
{
    list->n = 0;
}

void sk_alerts_free(sk_alerts_t *list)
{
    free(list->v);
    list->v = NULL;
    list->n = list->cap = 0;
}

sk_alert_t *sk_alerts_push(sk_alerts_t *list)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        sk_alert_t *grown = realloc(list->v, cap * sizeof *grown);
        if (!grown)
            return NULL;
        list->v = grown;
        list->cap = cap;
    }
    sk_alert_t *a = &list->v[list->n++];
    memset(a, 0, sizeof *a);
    return a;
}

static uint64_t hash_field(uint64_t h, const char *s)
{
    /* The separator keeps ("ab","c") and ("a","bc") apart. */
    h = sk_hash64(s, strlen(s) + 1, h);
    return h;
}

void sk_alert_make_id(sk_alert_t *a)
{
    unsigned char ts[8];
    uint64_t h = SK_HASH_SEED;
    h = hash_field(h, a->account);
    h = hash_field(h, sk_alert_kind_name(a->kind));
    h = hash_field(h, a->flag >= 0 ? sk_flag_name((sk_flag_t)a->flag) : "");
    h = hash_field(h, a->from);
    h = hash_field(h, a->to);
    for (int i = 0; i < 8; i++) /* little-endian, whatever the host */
        ts[i] = (unsigned char)((uint64_t)a->ts_ms >> (8 * i));
    h = sk_hash64(ts, sizeof ts, h);
    h = hash_field(h, a->event_id);
    h = hash_field(h, a->rules_version);
    snprintf(a->id, sizeof a->id, "%016llx", (unsigned long long)h);
}

static bool numeric_from_to(const sk_alert_t *a)
{
    return a->kind == SK_ALERT_STAGE_CROSSED;
}

static void from_to_json(const sk_alert_t *a, const char *v,
                         sk_json_writer_t *w)
{
    if (numeric_from_to(a))
        sk_json_int(w, strtoll(v, NULL, 10));
    else
        sk_json_string(w, v);
}

void sk_alert_write_json(const sk_alert_t *a, sk_json_writer_t *w)
{
    char ts[40];

    sk_format_time(a->ts_ms, ts, sizeof ts);
    sk_json_open(w);
    sk_json_key(w, "id");
    sk_json_string(w, a->id);
    sk_json_key(w, "kind");
    sk_json_string(w, sk_alert_kind_name(a->kind));
    sk_json_key(w, "account");
    sk_json_string(w, a->account);
    if (a->flag >= 0) {
        sk_json_key(w, "flag");
        sk_json_string(w, sk_flag_name((sk_flag_t)a->flag));
    }
    sk_json_key(w, "from");
    from_to_json(a, a->from, w);
    sk_json_key(w, "to");
    from_to_json(a, a->to, w);
    sk_json_key(w, "severity");
    sk_json_string(w, sk_severity_name(a->severity));
    sk_json_key(w, "ts");
    sk_json_string(w, ts);
    sk_json_key(w, "ts_ms");
    sk_json_int(w, a->ts_ms);
    sk_json_key(w, "event_id");
    if (a->event_id[0])
        sk_json_string(w, a->event_id);
    else
        sk_json_null(w);
    sk_json_key(w, "reason");
    sk_json_string(w, a->reason);
    sk_json_key(w, "points");
    sk_json_int(w, a->points);
    sk_json_key(w, "stage");
    sk_json_int(w, a->stage);
    sk_json_key(w, "engagement");
    sk_json_real(w, round(a->engagement * 10) / 10);
    sk_json_key(w, "eng_tier");
    sk_json_string(w, sk_eng_tier_name(a->eng_tier));
    sk_json_key(w, "customer");
    sk_json_real(w, round(a->customer * 10) / 10);
    sk_json_key(w, "segment");
    sk_json_string(w, sk_segment_name(a->segment));
    sk_json_key(w, "health");
    sk_json_string(w, sk_health_name(a->health));
    sk_json_key(w, "play");
    sk_json_string(w, a->play);
    sk_json_key(w, "sla_hours");
    if (a->sla_hours >= 0)
        sk_json_int(w, a->sla_hours);
    else
        sk_json_null(w);
    sk_json_key(w, "rules_version");
    sk_json_string(w, a->rules_version);
    sk_json_close(w);
}

char *sk_alert_to_json(const sk_alert_t *a)
{
    sk_json_writer_t w = {0};

    sk_alert_write_json(a, &w);
    if (w.oom) {
        sk_json_free(&w);
        return NULL;
    }
    return w.data;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_key(msgpack_packer *pk, const char *k)
{
    pack_str(pk, k);
}

int sk_alert_encode_msgpack(const sk_alert_t *a, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    char ts[40];
    sk_format_time(a->ts_ms, ts, sizeof ts);
    size_t before = out->size;
    int fields = 20 + (a->flag >= 0);
    msgpack_pack_map(&pk, (size_t)fields);
    pack_key(&pk, "id");
    pack_str(&pk, a->id);
    pack_key(&pk, "kind");
    pack_str(&pk, sk_alert_kind_name(a->kind));
    pack_key(&pk, "account");
    pack_str(&pk, a->account);
    if (a->flag >= 0) {
        pack_key(&pk, "flag");
        pack_str(&pk, sk_flag_name((sk_flag_t)a->flag));
    }
    pack_key(&pk, "from");
    if (numeric_from_to(a))
        msgpack_pack_int64(&pk, strtoll(a->from, NULL, 10));
    else
        pack_str(&pk, a->from);
    pack_key(&pk, "to");
    if (numeric_from_to(a))
        msgpack_pack_int64(&pk, strtoll(a->to, NULL, 10));
    else
        pack_str(&pk, a->to);
    pack_key(&pk, "severity");
    pack_str(&pk, sk_severity_name(a->severity));
    pack_key(&pk, "ts");
    pack_str(&pk, ts);
    pack_key(&pk, "ts_ms");
    msgpack_pack_int64(&pk, a->ts_ms);
    pack_key(&pk, "event_id");
    if (a->event_id[0])
        pack_str(&pk, a->event_id);
    else
        msgpack_pack_nil(&pk);
    pack_key(&pk, "reason");
    pack_str(&pk, a->reason);
    pack_key(&pk, "points");
    msgpack_pack_int64(&pk, a->points);
    pack_key(&pk, "stage");
    msgpack_pack_int64(&pk, a->stage);
    pack_key(&pk, "engagement");
    msgpack_pack_double(&pk, round(a->engagement * 10) / 10);
    pack_key(&pk, "eng_tier");
    pack_str(&pk, sk_eng_tier_name(a->eng_tier));
    pack_key(&pk, "customer");
    msgpack_pack_double(&pk, round(a->customer * 10) / 10);
    pack_key(&pk, "segment");
    pack_str(&pk, sk_segment_name(a->segment));
    pack_key(&pk, "health");
    pack_str(&pk, sk_health_name(a->health));
    pack_key(&pk, "play");
    pack_str(&pk, a->play);
    pack_key(&pk, "sla_hours");
    if (a->sla_hours >= 0)
        msgpack_pack_int(&pk, a->sla_hours);
    else
        msgpack_pack_nil(&pk);
    pack_key(&pk, "rules_version");
    pack_str(&pk, a->rules_version);
    /* msgpack_sbuffer_write reports allocation failure by returning -1;
     * the packer swallows it, so check that the buffer grew. */
    return out->size > before ? SK_OK : SK_ERR;
}
