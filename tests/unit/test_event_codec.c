/*
 * test_event_codec.c - the event decoders refuse what they must, with the
 * right reason, accept every vocabulary type, agree with each other, and
 * round-trip; plus the bounded msgpack reader underneath them.
 *
 * The shared corpus tests/fixtures/events/ is read here: every line of
 * valid.jsonl must decode, every line of invalid.jsonl must be refused
 * with the reason on the same line of invalid.reasons, and each JSON line
 * is also converted to msgpack so both wire forms are held to the same
 * answer.  With SK_WRITE_FIXTURES=1 the test also writes the msgpack
 * seed corpus of the fuzzer (tests/fuzz/corpus/fuzz_event_msgpack/).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <msgpack.h>

#include "mp_reader.h"
#include "scorekeeper/event.h"
#include "support.h"

#define TS_OK INT64_C(1772442000000) /* 2026-03-02T09:00:00Z */

/* ---- helpers ------------------------------------------------------------ */

typedef struct buf {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} buf_t;

static void buf_init(buf_t *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void buf_free(buf_t *b)
{
    msgpack_sbuffer_destroy(&b->sb);
}

static void pstr(buf_t *b, const char *s)
{
    msgpack_pack_str_with_body(&b->pk, s, strlen(s));
}

/* The five required fields of a valid login; the map holds 5 + extra. */
static void pack_base(buf_t *b, size_t extra)
{
    msgpack_pack_map(&b->pk, 5 + extra);
    pstr(b, "v");
    msgpack_pack_int(&b->pk, 1);
    pstr(b, "id");
    pstr(b, "e-1");
    pstr(b, "account");
    pstr(b, "acme");
    pstr(b, "type");
    pstr(b, "login");
    pstr(b, "ts");
    msgpack_pack_int64(&b->pk, TS_OK);
}

static void pack_json(msgpack_packer *pk, json_t *j)
{
    const char *key;
    json_t *val;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        msgpack_pack_map(pk, json_object_size(j));
        json_object_foreach(j, key, val)
        {
            msgpack_pack_str_with_body(pk, key, strlen(key));
            pack_json(pk, val);
        }
        break;
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(j));
        json_array_foreach(j, i, val) pack_json(pk, val);
        break;
    case JSON_STRING:
        msgpack_pack_str_with_body(pk, json_string_value(j),
                                   json_string_length(j));
        break;
    case JSON_INTEGER:
        msgpack_pack_int64(pk, json_integer_value(j));
        break;
    case JSON_REAL:
        msgpack_pack_double(pk, json_real_value(j));
        break;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        msgpack_pack_nil(pk);
        break;
    }
}

/*
 * The msgpack form of a JSON text, key order kept; false if the text is
 * not JSON (the msgpack form then does not exist).
 */
static bool json_to_msgpack(const char *text, buf_t *out)
{
    json_error_t jerr;
    json_t *j =
        json_loadb(text, strlen(text), JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j)
        return false;
    pack_json(&out->pk, j);
    json_decref(j);
    return true;
}

static sk_reject_t decode_mp(const void *p, size_t len, sk_event_t *ev)
{
    sk_decode_error_t err;
    memset(&err, 0, sizeof err);
    if (sk_event_decode_msgpack(p, len, ev, &err) == SK_OK)
        return SK_REJECT_NONE;
    cr_assert_neq(err.code, SK_REJECT_NONE, "an error without a code");
    cr_assert_gt(strlen(err.message), 0, "an error without a message");
    return err.code;
}

static sk_reject_t decode_js(const char *text, sk_event_t *ev)
{
    sk_decode_error_t err;
    memset(&err, 0, sizeof err);
    if (sk_event_decode_json(text, strlen(text), ev, &err) == SK_OK)
        return SK_REJECT_NONE;
    cr_assert_neq(err.code, SK_REJECT_NONE, "an error without a code");
    cr_assert_gt(strlen(err.message), 0, "an error without a message");
    return err.code;
}

static sk_reject_t decode_buf(buf_t *b)
{
    sk_event_t ev;
    return decode_mp(b->sb.data, b->sb.size, &ev);
}

static void expect_same_event(const sk_event_t *a, const sk_event_t *b,
                              const char *what)
{
    cr_expect_eq(a->ts_ms, b->ts_ms, "%s: ts", what);
    cr_expect_eq(a->type, b->type, "%s: type", what);
    cr_expect_eq(a->role, b->role, "%s: role", what);
    cr_expect_eq(a->has_value, b->has_value, "%s: has_value", what);
    if (a->has_value)
        cr_expect(a->value == b->value, "%s: value %g != %g", what, a->value,
                  b->value);
    cr_expect_eq(a->attrs, b->attrs, "%s: attrs", what);
    cr_expect_str_eq(a->id, b->id, "%s: id", what);
    cr_expect_str_eq(a->account, b->account, "%s: account", what);
    cr_expect_str_eq(a->user, b->user, "%s: user", what);
    cr_expect_str_eq(a->dept, b->dept, "%s: dept", what);
    cr_expect_str_eq(a->label, b->label, "%s: label", what);
}

/* Both encoders, then both decoders, give back @p ev. */
static void expect_round_trip(const sk_event_t *ev, const char *what)
{
    buf_t b;
    sk_event_t back;
    buf_init(&b);
    cr_assert_eq(sk_event_encode_msgpack(ev, &b.sb), SK_OK);
    cr_assert_eq(decode_mp(b.sb.data, b.sb.size, &back), SK_REJECT_NONE,
                 "%s: its msgpack form is refused", what);
    expect_same_event(ev, &back, what);
    buf_free(&b);

    char *json = sk_event_to_json(ev);
    cr_assert_not_null(json);
    cr_assert_eq(decode_js(json, &back), SK_REJECT_NONE,
                 "%s: its JSON form %s is refused", what, json);
    expect_same_event(ev, &back, what);
    char *again = sk_event_to_json(&back);
    cr_expect_str_eq(json, again, "%s: JSON not stable", what);
    free(again);
    free(json);
}

/* @p json gets @p want as JSON, and the same as msgpack when it is JSON. */
static void expect_both(const char *json, sk_reject_t want)
{
    sk_event_t ev;
    buf_t b;
    sk_reject_t got = decode_js(json, &ev);
    cr_expect_eq(got, want, "JSON %s: got %s, want %s", json,
                 sk_reject_name(got), sk_reject_name(want));
    /* a JSON syntax fault (a repeated key included) has no msgpack form */
    if (want == SK_REJECT_BAD_JSON)
        return;
    buf_init(&b);
    cr_assert(json_to_msgpack(json, &b), "%s is not JSON", json);
    got = decode_buf(&b);
    cr_expect_eq(got, want, "msgpack of %s: got %s, want %s", json,
                 sk_reject_name(got), sk_reject_name(want));
    buf_free(&b);
}

/* A JSON event made of the valid base and @p extra (",\"k\":v" or ""). */
static void expect_base_plus(const char *extra, const char *type,
                             sk_reject_t want)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"v\":1,\"id\":\"e-1\",\"account\":\"acme\",\"type\":\"%s\","
             "\"ts\":%lld%s}",
             type, (long long)TS_OK, extra);
    expect_both(json, want);
}

static char *read_line(FILE *f, char **line, size_t *cap)
{
    ssize_t n = getline(line, cap, f);
    if (n < 0)
        return NULL;
    if (n > 0 && (*line)[n - 1] == '\n')
        (*line)[n - 1] = '\0';
    return *line;
}

/* ---- vocabulary and corpus ----------------------------------------------- */

Test(event_codec, every_type_in_both_forms)
{
    for (int t = 0; t < SK_EV__COUNT; t++) {
        const char *name = sk_event_type_name((sk_event_type_t)t);
        char extra[128] = "";
        if (t == SK_EV_USAGE || t == SK_EV_PLAN_USAGE)
            snprintf(extra, sizeof extra, ",\"value\":42.5");
        else if (t == SK_EV_NPS)
            snprintf(extra, sizeof extra, ",\"value\":9");
        else if (t == SK_EV_FEEDBACK)
            snprintf(extra, sizeof extra, ",\"label\":\"happy\"");
        else if (t == SK_EV_FEATURE_USED || t == SK_EV_PAGE_VIEW)
            snprintf(extra, sizeof extra, ",\"label\":\"reports\"");
        expect_base_plus(extra, name, SK_REJECT_NONE);

        char json[512];
        sk_event_t ev;
        snprintf(json, sizeof json,
                 "{\"v\":1,\"id\":\"e-1\",\"account\":\"acme\",\"type\":"
                 "\"%s\",\"ts\":%lld%s}",
                 name, (long long)TS_OK, extra);
        cr_assert_eq(decode_js(json, &ev), SK_REJECT_NONE, "%s", json);
        cr_expect_eq(ev.type, (sk_event_type_t)t);
        expect_round_trip(&ev, name);
    }
}

/* Every line of @p rel decodes in both forms; returns the types seen. */
static unsigned check_valid_file(const char *rel, int *lines)
{
    FILE *f = fopen(sk_test_path(rel), "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned types = 0;
    cr_assert_not_null(f, "cannot open %s", rel);
    *lines = 0;
    while (read_line(f, &line, &cap)) {
        sk_event_t ev, ev_mp;
        buf_t b;
        ++*lines;
        cr_assert_eq(decode_js(line, &ev), SK_REJECT_NONE, "%s:%d refused", rel,
                     *lines);
        types |= 1u << ev.type;
        buf_init(&b);
        cr_assert(json_to_msgpack(line, &b));
        cr_assert_eq(decode_mp(b.sb.data, b.sb.size, &ev_mp), SK_REJECT_NONE,
                     "%s:%d refused as msgpack", rel, *lines);
        expect_same_event(&ev, &ev_mp, line);
        expect_round_trip(&ev, line);
        buf_free(&b);
    }
    free(line);
    fclose(f);
    return types;
}

Test(event_codec, valid_corpus)
{
    int n;
    unsigned types = check_valid_file("tests/fixtures/events/valid.jsonl", &n);
    cr_expect_gt(n, 25);
    cr_expect_eq(types, (1u << SK_EV__COUNT) - 1, "valid.jsonl misses a type");
    check_valid_file("schemas/examples/events.jsonl", &n);
    cr_expect_gt(n, 5);
}

Test(event_codec, invalid_corpus)
{
    FILE *f = fopen(sk_test_path("tests/fixtures/events/invalid.jsonl"), "r");
    FILE *r = fopen(sk_test_path("tests/fixtures/events/invalid.reasons"), "r");
    char *line = NULL, *reason = NULL;
    size_t cap = 0, rcap = 0;
    int n = 0;
    unsigned codes = 0;
    cr_assert_not_null(f);
    cr_assert_not_null(r);
    while (read_line(f, &line, &cap)) {
        n++;
        cr_assert_not_null(read_line(r, &reason, &rcap),
                           "invalid.reasons is shorter than invalid.jsonl");
        int want = -1;
        for (int c = 0; c < SK_REJECT__COUNT; c++)
            if (strcmp(reason, sk_reject_name((sk_reject_t)c)) == 0)
                want = c;
        cr_assert_geq(want, 1, "invalid.reasons:%d: unknown code %s", n,
                      reason);
        codes |= 1u << want;
        expect_both(line, (sk_reject_t)want);
    }
    cr_expect_null(read_line(r, &reason, &rcap),
                   "invalid.reasons is longer than invalid.jsonl");
    free(line);
    free(reason);
    fclose(f);
    fclose(r);
    /* every code that JSON can produce has an example */
    for (int c = 1; c < SK_REJECT__COUNT; c++)
        if (c != SK_REJECT_BAD_MSGPACK)
            cr_expect(codes & (1u << c), "no example of %s",
                      sk_reject_name((sk_reject_t)c));
}

/* ---- required fields, types, strings ------------------------------------- */

Test(event_codec, missing_each_required_field)
{
    const char *fields[] = {"v", "id", "account", "type", "ts"};
    const char *vals[] = {"1", "\"e-1\"", "\"acme\"", "\"login\"",
                          "1772442000000"};
    for (int skip = 0; skip < 5; skip++) {
        char json[512] = "{";
        for (int i = 0; i < 5; i++) {
            if (i == skip)
                continue;
            if (strlen(json) > 1)
                strcat(json, ",");
            snprintf(json + strlen(json), sizeof json - strlen(json),
                     "\"%s\":%s", fields[i], vals[i]);
        }
        strcat(json, "}");
        expect_both(json, SK_REJECT_MISSING_FIELD);
    }
    expect_base_plus("", "usage", SK_REJECT_MISSING_FIELD);
    expect_base_plus("", "plan_usage", SK_REJECT_MISSING_FIELD);
    expect_base_plus("", "nps", SK_REJECT_MISSING_FIELD);
    expect_base_plus("", "feature_used", SK_REJECT_MISSING_FIELD);
    expect_base_plus("", "page_view", SK_REJECT_MISSING_FIELD);
    expect_base_plus("", "feedback", SK_REJECT_MISSING_FIELD);
    /* optional by type */
    expect_base_plus("", "customer_response", SK_REJECT_NONE);
    expect_base_plus("", "support_resolved", SK_REJECT_NONE);
}

Test(event_codec, wrong_types)
{
    expect_both("[]", SK_REJECT_BAD_TYPE);
    expect_both("42", SK_REJECT_BAD_TYPE);
    expect_both("null", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"value\":\"30\"", "usage", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"value\":true", "usage", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"value\":null", "usage", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"user\":[]", "login", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"role\":1", "login", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"dept\":false", "login", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"label\":{}", "page_view", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"attrs\":true", "meeting_attended", SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"attrs\":{\"on_time\":\"true\"}", "meeting_attended",
                     SK_REJECT_BAD_TYPE);
    expect_base_plus(",\"attrs\":{\"active\":null}", "meeting_attended",
                     SK_REJECT_BAD_TYPE);
    expect_both("{\"v\":\"1\",\"id\":\"e\",\"account\":\"a\",\"type\":"
                "\"login\",\"ts\":1772442000000}",
                SK_REJECT_BAD_TYPE);
    expect_both("{\"v\":1,\"id\":\"e\",\"account\":\"a\",\"type\":"
                "\"login\",\"ts\":1772442000000.0}",
                SK_REJECT_BAD_TYPE);
    /* unknown keys and unknown attrs are ignored, whatever their type */
    expect_base_plus(",\"future\":[1,{\"a\":null}]", "login", SK_REJECT_NONE);
    expect_base_plus(",\"attrs\":{\"mood\":\"calm\",\"on_time\":false}",
                     "meeting_attended", SK_REJECT_NONE);
}

Test(event_codec, version)
{
    expect_both("{\"v\":2,\"id\":\"e\",\"account\":\"a\",\"type\":"
                "\"login\",\"ts\":1772442000000}",
                SK_REJECT_BAD_VERSION);
    expect_both("{\"v\":-1,\"id\":\"e\",\"account\":\"a\",\"type\":"
                "\"login\",\"ts\":1772442000000}",
                SK_REJECT_BAD_VERSION);
    /* the version is judged before anything else of the content */
    expect_both("{\"v\":2}", SK_REJECT_BAD_VERSION);
}

Test(event_codec, account_ids)
{
    cr_expect(sk_account_id_valid("acme", 4));
    cr_expect(sk_account_id_valid("A.b_c:d@e-9", 11));
    char long_id[SK_ACCOUNT_MAX + 2];
    memset(long_id, 'a', sizeof long_id);
    cr_expect(sk_account_id_valid(long_id, SK_ACCOUNT_MAX));
    cr_expect_not(sk_account_id_valid(long_id, SK_ACCOUNT_MAX + 1));
    cr_expect_not(sk_account_id_valid("", 0));
    cr_expect_not(sk_account_id_valid(NULL, 0));
    const char *bad[] = {"{acme}", "ac}me",    "a{",       "ac me",
                         "acme\t", "ac\x01me", "ac\x7fme", "acmé",
                         "a/b",    "a\"b",     "a*b",      "a#b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_not(sk_account_id_valid(bad[i], strlen(bad[i])), "%s",
                      bad[i]);
    cr_expect_not(sk_account_id_valid("ab\0c", 4));

    /* the same refusals through the decoders */
    char json[512];
    const char *bad_json[] = {"{acme}",      "acme}", "ac me",
                              "ac\\u0001me", "",      "ac\\u0000me"};
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"v\":1,\"id\":\"e\",\"account\":\"%s\",\"type\":"
                 "\"login\",\"ts\":1772442000000}",
                 bad_json[i]);
        expect_both(json, SK_REJECT_BAD_ACCOUNT);
    }
    memset(long_id, 'a', SK_ACCOUNT_MAX + 1);
    long_id[SK_ACCOUNT_MAX + 1] = '\0';
    snprintf(json, sizeof json,
             "{\"v\":1,\"id\":\"e\",\"account\":\"%s\",\"type\":\"login\","
             "\"ts\":1772442000000}",
             long_id);
    expect_both(json, SK_REJECT_BAD_ACCOUNT);
    long_id[SK_ACCOUNT_MAX] = '\0';
    snprintf(json, sizeof json,
             "{\"v\":1,\"id\":\"e\",\"account\":\"%s\",\"type\":\"login\","
             "\"ts\":1772442000000}",
             long_id);
    expect_both(json, SK_REJECT_NONE);
}

Test(event_codec, string_limits)
{
    char extra[512], s[200];
    memset(s, 'x', sizeof s);

    snprintf(extra, sizeof extra, ",\"label\":\"%.*s\"", SK_LABEL_MAX, s);
    expect_base_plus(extra, "page_view", SK_REJECT_NONE);
    snprintf(extra, sizeof extra, ",\"label\":\"%.*s\"", SK_LABEL_MAX + 1, s);
    expect_base_plus(extra, "page_view", SK_REJECT_BAD_STRING);
    snprintf(extra, sizeof extra, ",\"user\":\"%.*s\"", SK_USER_MAX, s);
    expect_base_plus(extra, "login", SK_REJECT_NONE);
    snprintf(extra, sizeof extra, ",\"user\":\"%.*s\"", SK_USER_MAX + 1, s);
    expect_base_plus(extra, "login", SK_REJECT_BAD_STRING);
    snprintf(extra, sizeof extra, ",\"dept\":\"%.*s\"", SK_DEPT_MAX + 1, s);
    expect_base_plus(extra, "login", SK_REJECT_BAD_STRING);

    char json[512];
    snprintf(json, sizeof json,
             "{\"v\":1,\"id\":\"%.*s\",\"account\":\"a\",\"type\":\"login\","
             "\"ts\":1772442000000}",
             SK_ID_MAX, s);
    expect_both(json, SK_REJECT_NONE);
    snprintf(json, sizeof json,
             "{\"v\":1,\"id\":\"%.*s\",\"account\":\"a\",\"type\":\"login\","
             "\"ts\":1772442000000}",
             SK_ID_MAX + 1, s);
    expect_both(json, SK_REJECT_BAD_STRING);
    expect_both("{\"v\":1,\"id\":\"\",\"account\":\"a\",\"type\":\"login\","
                "\"ts\":1772442000000}",
                SK_REJECT_BAD_STRING);

    /* control bytes, escaped in JSON, raw in msgpack */
    const char *ctl[] = {"\\u0000", "\\u0001", "\\t",
                         "\\n",     "\\u001f", "\\u007f"};
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        snprintf(extra, sizeof extra, ",\"user\":\"ana%s\"", ctl[i]);
        expect_base_plus(extra, "login", SK_REJECT_BAD_STRING);
    }
    /* multi-byte text is fine */
    expect_base_plus(",\"user\":\"Zoë \\u00e9 \\ud83d\\ude00\"", "login",
                     SK_REJECT_NONE);
}

Test(event_codec, invalid_utf8)
{
    const char *bad[] = {
        "\xff",
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xc3",             /* cut short */
        "\xe2\x82",         /* cut short */
        "a\x80z",           /* stray continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_t b;
        buf_init(&b);
        pack_base(&b, 1);
        pstr(&b, "user");
        pstr(&b, bad[i]);
        cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_STRING, "case %zu", i);
        buf_free(&b);

        char json[256];
        sk_event_t ev;
        snprintf(json, sizeof json,
                 "{\"v\":1,\"id\":\"e\",\"account\":\"a\",\"type\":"
                 "\"login\",\"ts\":1772442000000,\"user\":\"%s\"}",
                 bad[i]);
        cr_expect_eq(decode_js(json, &ev), SK_REJECT_BAD_STRING, "case %zu", i);
    }
    buf_t b;
    buf_init(&b);
    pack_base(&b, 1);
    pstr(&b, "user");
    pstr(&b, "\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9");
    cr_expect_eq(decode_buf(&b), SK_REJECT_NONE);
    buf_free(&b);
}

/* ---- types, times and values --------------------------------------------- */

Test(event_codec, unknown_type)
{
    expect_base_plus("", "logout", SK_REJECT_UNKNOWN_TYPE);
    expect_base_plus("", "LOGIN", SK_REJECT_UNKNOWN_TYPE);
    expect_base_plus("", "login ", SK_REJECT_UNKNOWN_TYPE);
    expect_base_plus("", "", SK_REJECT_UNKNOWN_TYPE);
    expect_base_plus("", "log\\u0000in", SK_REJECT_UNKNOWN_TYPE);
}

Test(event_codec, time_range)
{
    char json[256];
    const struct {
        long long ts;
        sk_reject_t want;
    } cases[] = {
        {946684800000LL, SK_REJECT_NONE}, /* 2000-01-01 */
        {946684799999LL, SK_REJECT_TS_OUT_OF_RANGE},
        {4102444799999LL, SK_REJECT_NONE},
        {4102444800000LL, SK_REJECT_TS_OUT_OF_RANGE}, /* 2100-01-01 */
        {0, SK_REJECT_TS_OUT_OF_RANGE},
        {-1772442000000LL, SK_REJECT_TS_OUT_OF_RANGE},
        {1772442000LL, SK_REJECT_TS_OUT_OF_RANGE}, /* seconds, not ms */
        {INT64_MAX, SK_REJECT_TS_OUT_OF_RANGE},
        {INT64_MIN, SK_REJECT_TS_OUT_OF_RANGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"v\":1,\"id\":\"e\",\"account\":\"a\",\"type\":"
                 "\"login\",\"ts\":%lld}",
                 cases[i].ts);
        expect_both(json, cases[i].want);
    }
    /* a uint64 beyond the int64 range is out of range, not malformed */
    buf_t b;
    buf_init(&b);
    msgpack_pack_map(&b.pk, 5);
    pstr(&b, "v");
    msgpack_pack_int(&b.pk, 1);
    pstr(&b, "id");
    pstr(&b, "e");
    pstr(&b, "account");
    pstr(&b, "a");
    pstr(&b, "type");
    pstr(&b, "login");
    pstr(&b, "ts");
    msgpack_pack_uint64(&b.pk, UINT64_MAX);
    cr_expect_eq(decode_buf(&b), SK_REJECT_TS_OUT_OF_RANGE);
    buf_free(&b);
}

Test(event_codec, values)
{
    expect_base_plus(",\"value\":0", "usage", SK_REJECT_NONE);
    expect_base_plus(",\"value\":-0.001", "usage", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"value\":150.5", "plan_usage", SK_REJECT_NONE);
    expect_base_plus(",\"value\":-1", "plan_usage", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"value\":1000000000", "usage", SK_REJECT_NONE);
    expect_base_plus(",\"value\":1000000001", "usage", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"value\":-1e9", "login", SK_REJECT_NONE);
    expect_base_plus(",\"value\":1e300", "login", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"value\":3.5", "customer_response", SK_REJECT_NONE);
    expect_base_plus(",\"value\":-3.5", "customer_response",
                     SK_REJECT_BAD_VALUE);
    for (int v = -2; v <= 12; v++) {
        char extra[64];
        snprintf(extra, sizeof extra, ",\"value\":%d", v);
        expect_base_plus(extra, "nps",
                         v >= 0 && v <= 10 ? SK_REJECT_NONE
                                           : SK_REJECT_BAD_VALUE);
    }
    expect_base_plus(",\"value\":9.0", "nps", SK_REJECT_NONE);
    expect_base_plus(",\"value\":9.5", "nps", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"value\":10.000001", "nps", SK_REJECT_BAD_VALUE);

    const char *labels[] = {"very_happy", "happy", "neutral", "not_happy"};
    for (int i = 0; i < 4; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ",\"label\":\"%s\"", labels[i]);
        expect_base_plus(extra, "feedback", SK_REJECT_NONE);
    }
    expect_base_plus(",\"label\":\"Happy\"", "feedback", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"label\":\"sad\"", "feedback", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"label\":\"\"", "feedback", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"label\":\"\"", "page_view", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"label\":\"anything\"", "support_resolved",
                     SK_REJECT_NONE);

    const char *roles[] = {"executive", "champion", "power_user", "end_user"};
    for (int i = 0; i < 4; i++) {
        char extra[64];
        sk_event_t ev;
        char json[256];
        snprintf(extra, sizeof extra, ",\"role\":\"%s\"", roles[i]);
        expect_base_plus(extra, "login", SK_REJECT_NONE);
        snprintf(json, sizeof json,
                 "{\"v\":1,\"id\":\"e\",\"account\":\"a\",\"type\":"
                 "\"login\",\"ts\":1772442000000%s}",
                 extra);
        cr_assert_eq(decode_js(json, &ev), SK_REJECT_NONE);
        cr_expect_eq(ev.role, (sk_role_t)(SK_ROLE_EXECUTIVE + i));
    }
    expect_base_plus(",\"role\":\"\"", "login", SK_REJECT_BAD_VALUE);
    expect_base_plus(",\"role\":\"admin\"", "login", SK_REJECT_BAD_VALUE);
}

Test(event_codec, non_finite_values_in_msgpack)
{
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        buf_t b;
        buf_init(&b);
        pack_base(&b, 1);
        pstr(&b, "value");
        msgpack_pack_double(&b.pk, bad[i]);
        cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_VALUE, "double %d", i);
        buf_free(&b);

        buf_init(&b);
        pack_base(&b, 1);
        pstr(&b, "value");
        msgpack_pack_float(&b.pk, (float)bad[i]);
        cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_VALUE, "float %d", i);
        buf_free(&b);
    }
    /* float32 9.0 is an integral NPS */
    buf_t b;
    sk_event_t ev;
    buf_init(&b);
    msgpack_pack_map(&b.pk, 6);
    pstr(&b, "v");
    msgpack_pack_int(&b.pk, 1);
    pstr(&b, "id");
    pstr(&b, "e");
    pstr(&b, "account");
    pstr(&b, "a");
    pstr(&b, "type");
    pstr(&b, "nps");
    pstr(&b, "ts");
    msgpack_pack_int64(&b.pk, TS_OK);
    pstr(&b, "value");
    msgpack_pack_float(&b.pk, 9.0f);
    cr_assert_eq(decode_mp(b.sb.data, b.sb.size, &ev), SK_REJECT_NONE);
    cr_expect(ev.value == 9.0);
    buf_free(&b);
}

/* ---- malformed and oversized input --------------------------------------- */

Test(event_codec, truncated_msgpack)
{
    sk_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SK_EV_MEETING_ATTENDED;
    ev.ts_ms = TS_OK;
    strcpy(ev.id, "evt-1");
    strcpy(ev.account, "acme");
    strcpy(ev.user, "ana");
    ev.role = SK_ROLE_CHAMPION;
    ev.attrs = SK_ATTR_ON_TIME | SK_ATTR_STRATEGIC;
    ev.has_value = true;
    ev.value = 1.25;
    buf_t b;
    buf_init(&b);
    cr_assert_eq(sk_event_encode_msgpack(&ev, &b.sb), SK_OK);
    for (size_t n = 0; n < b.sb.size; n++) {
        sk_event_t out;
        cr_expect_eq(decode_mp(b.sb.data, n, &out), SK_REJECT_BAD_MSGPACK,
                     "prefix of %zu bytes", n);
    }
    /* and trailing bytes */
    msgpack_pack_nil(&b.pk);
    cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_MSGPACK);
    buf_free(&b);
}

Test(event_codec, lying_lengths)
{
    sk_event_t ev;
    const unsigned char array32[] = {0xdd, 0xff, 0x00, 0x00, 0x00};
    const unsigned char map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    const unsigned char str32[] = {0x81, 0xa2, 'i',  'd',  0xdb,
                                   0xff, 0xff, 0xff, 0xff, 'x'};
    const unsigned char bin32[] = {0x81, 0xa1, 'x',  0xc6,
                                   0x7f, 0xff, 0xff, 0xff};
    const unsigned char ext32[] = {0x81, 0xa1, 'x',  0xc9, 0x7f,
                                   0xff, 0xff, 0xff, 0x01};
    const unsigned char fixstr[] = {0x81, 0xa5, 'v'};
    const unsigned char invalid[] = {0x81, 0xa1, 'v', 0xc1};
    cr_expect_eq(decode_mp(array32, sizeof array32, &ev),
                 SK_REJECT_BAD_MSGPACK);
    cr_expect_eq(decode_mp(str32, sizeof str32, &ev), SK_REJECT_BAD_MSGPACK);
    cr_expect_eq(decode_mp(bin32, sizeof bin32, &ev), SK_REJECT_BAD_MSGPACK);
    cr_expect_eq(decode_mp(ext32, sizeof ext32, &ev), SK_REJECT_BAD_MSGPACK);
    cr_expect_eq(decode_mp(fixstr, sizeof fixstr, &ev), SK_REJECT_BAD_MSGPACK);
    cr_expect_eq(decode_mp(invalid, sizeof invalid, &ev),
                 SK_REJECT_BAD_MSGPACK);
    /* a map announcing more entries than the limit is too large */
    cr_expect_eq(decode_mp(map32, sizeof map32, &ev), SK_REJECT_TOO_LARGE);
}

Test(event_codec, map_with_100000_entries)
{
    /* announced, with only a few entries behind it */
    const unsigned char map[] = {0xdf, 0x00, 0x01, 0x86, 0xa0, 0xa1, 'v', 0x01};
    sk_event_t ev;
    cr_expect_eq(decode_mp(map, sizeof map, &ev), SK_REJECT_TOO_LARGE);

    /* really there: too large by size before anything else */
    buf_t b;
    buf_init(&b);
    msgpack_pack_map(&b.pk, 100000);
    for (int i = 0; i < 100000; i++) {
        msgpack_pack_int(&b.pk, i);
        msgpack_pack_nil(&b.pk);
    }
    cr_expect_eq(decode_buf(&b), SK_REJECT_TOO_LARGE);
    buf_free(&b);

    /* 65 real entries, small */
    buf_init(&b);
    pack_base(&b, 60);
    for (int i = 0; i < 60; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        pstr(&b, k);
        msgpack_pack_nil(&b.pk);
    }
    cr_expect_eq(decode_buf(&b), SK_REJECT_TOO_LARGE);
    buf_free(&b);

    /* JSON: 100000 entries cannot fit, 65 small ones are counted */
    expect_base_plus(",\"a\":0,\"b\":0,\"c\":0", "login", SK_REJECT_NONE);
    char json[4096];
    snprintf(json, sizeof json,
             "{\"v\":1,\"id\":\"e\",\"account\":\"a\",\"type\":\"login\","
             "\"ts\":1772442000000");
    for (int i = 0; i < 60; i++)
        snprintf(json + strlen(json), sizeof json - strlen(json), ",\"k%d\":0",
                 i);
    strcat(json, "}");
    expect_both(json, SK_REJECT_TOO_LARGE);
    /* attrs are limited to 16 entries */
    char extra[1024] = ",\"attrs\":{";
    for (int i = 0; i < 17; i++)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                 "%s\"x%d\":true", i ? "," : "", i);
    strcat(extra, "}");
    expect_base_plus(extra, "meeting_attended", SK_REJECT_TOO_LARGE);
}

Test(event_codec, nesting_depth_1000)
{
    /* msgpack: 1000 nested arrays at the top level, and under a key */
    unsigned char deep[1100];
    sk_event_t ev;
    memset(deep, 0x91, 1000);
    deep[1000] = 0xc0;
    cr_expect_eq(decode_mp(deep, 1001, &ev), SK_REJECT_TOO_LARGE);
    deep[0] = 0x81;
    deep[1] = 0xa1;
    deep[2] = 'x';
    cr_expect_eq(decode_mp(deep, 1001, &ev), SK_REJECT_TOO_LARGE);
    /* nested maps as keys */
    memset(deep, 0x81, 1000);
    cr_expect_eq(decode_mp(deep, 1001, &ev), SK_REJECT_TOO_LARGE);

    /* JSON, the same */
    char json[2200];
    memset(json, '[', 1000);
    memset(json + 1000, ']', 1000);
    json[2000] = '\0';
    expect_both(json, SK_REJECT_TOO_LARGE);
    char extra[2100] = ",\"x\":";
    size_t at = strlen(extra);
    memset(extra + at, '[', 1000);
    memset(extra + at + 1000, ']', 1000);
    extra[at + 2000] = '\0';
    expect_base_plus(extra, "login", SK_REJECT_TOO_LARGE);

    /* exactly at the limit is fine: the map is level 1 */
    expect_base_plus(",\"x\":[[[[[[[1]]]]]]]", "login", SK_REJECT_NONE);
    expect_base_plus(",\"x\":[[[[[[[[1]]]]]]]]", "login", SK_REJECT_TOO_LARGE);
    /* brackets inside strings do not count */
    expect_base_plus(",\"x\":\"[[[[[[[[[[[[\\\"[[[[\"", "login",
                     SK_REJECT_NONE);
}

Test(event_codec, oversized_input)
{
    size_t n = SK_EVENT_MAX_BYTES + 1;
    char *big = malloc(n + 1);
    cr_assert_not_null(big);
    /* a valid event padded with spaces is still too large */
    memset(big, ' ', n);
    big[n] = '\0';
    memcpy(big, "{\"v\":1}", 7);
    sk_event_t ev;
    sk_decode_error_t err;
    cr_expect_eq(sk_event_decode_json(big, n, &ev, &err), SK_ERR);
    cr_expect_eq(err.code, SK_REJECT_TOO_LARGE);
    cr_expect_eq(sk_event_decode_msgpack(big, n, &ev, &err), SK_ERR);
    cr_expect_eq(err.code, SK_REJECT_TOO_LARGE);
    free(big);
}

Test(event_codec, msgpack_specific_structure)
{
    buf_t b;
    /* a key that is not a string */
    buf_init(&b);
    pack_base(&b, 1);
    msgpack_pack_int(&b.pk, 7);
    msgpack_pack_nil(&b.pk);
    cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_TYPE);
    buf_free(&b);
    /* ... but well-formedness is judged first */
    buf_init(&b);
    pack_base(&b, 2);
    msgpack_pack_int(&b.pk, 7);
    msgpack_pack_nil(&b.pk);
    pstr(&b, "x");
    cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_MSGPACK);
    buf_free(&b);
    /* a repeated key */
    buf_init(&b);
    pack_base(&b, 1);
    pstr(&b, "ts");
    msgpack_pack_int64(&b.pk, TS_OK);
    cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_MSGPACK);
    buf_free(&b);
    buf_init(&b);
    pack_base(&b, 2);
    pstr(&b, "extra");
    msgpack_pack_nil(&b.pk);
    pstr(&b, "extra");
    msgpack_pack_nil(&b.pk);
    cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_MSGPACK);
    buf_free(&b);
    /* bin where a string belongs */
    buf_init(&b);
    pack_base(&b, 1);
    pstr(&b, "user");
    msgpack_pack_bin_with_body(&b.pk, "ana", 3);
    cr_expect_eq(decode_buf(&b), SK_REJECT_BAD_TYPE);
    buf_free(&b);
    /* integers of every width are integers */
    buf_init(&b);
    msgpack_pack_map(&b.pk, 5);
    pstr(&b, "v");
    msgpack_pack_uint64(&b.pk, 1);
    pstr(&b, "id");
    pstr(&b, "e");
    pstr(&b, "account");
    pstr(&b, "a");
    pstr(&b, "type");
    pstr(&b, "login");
    pstr(&b, "ts");
    msgpack_pack_uint64(&b.pk, (uint64_t)TS_OK);
    cr_expect_eq(decode_buf(&b), SK_REJECT_NONE);
    buf_free(&b);
    const unsigned char v_int16[] = {
        0x85, 0xa1, 'v',  0xd1, 0x00, 0x01, 0xa2, 'i',  'd',  0xa1, 'e',
        0xa7, 'a',  'c',  'c',  'o',  'u',  'n',  't',  0xa1, 'a',  0xa4,
        't',  'y',  'p',  'e',  0xa5, 'l',  'o',  'g',  'i',  'n',  0xa2,
        't',  's',  0xd3, 0x00, 0x00, 0x01, 0x9c, 0xad, 0xc6, 0x9a, 0x80};
    sk_event_t ev;
    cr_expect_eq(decode_mp(v_int16, sizeof v_int16, &ev), SK_REJECT_NONE);
    cr_expect_eq(ev.ts_ms, TS_OK);
}

/* ---- encoding ------------------------------------------------------------ */

Test(event_codec, json_form_and_key_order)
{
    sk_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SK_EV_MEETING_ATTENDED;
    ev.ts_ms = TS_OK;
    strcpy(ev.id, "m-1");
    strcpy(ev.account, "acme");
    strcpy(ev.user, "sam");
    strcpy(ev.dept, "ops");
    strcpy(ev.label, "kickoff");
    ev.role = SK_ROLE_EXECUTIVE;
    ev.has_value = true;
    ev.value = 45;
    ev.attrs = SK_ATTR_ACTIVE | SK_ATTR_FOLLOW_THROUGH;
    char *json = sk_event_to_json(&ev);
    cr_assert_not_null(json);
    cr_expect_str_eq(json,
                     "{\"v\":1,\"id\":\"m-1\",\"account\":\"acme\",\"type\":"
                     "\"meeting_attended\",\"ts\":1772442000000,\"value\":45,"
                     "\"user\":\"sam\",\"role\":\"executive\",\"dept\":"
                     "\"ops\",\"label\":\"kickoff\",\"attrs\":{\"active\":"
                     "true,\"follow_through\":true}}");
    free(json);

    ev.value = 12.5;
    ev.attrs = 0;
    ev.role = SK_ROLE_NONE;
    ev.user[0] = ev.dept[0] = ev.label[0] = '\0';
    json = sk_event_to_json(&ev);
    cr_expect_str_eq(json,
                     "{\"v\":1,\"id\":\"m-1\",\"account\":\"acme\",\"type\":"
                     "\"meeting_attended\",\"ts\":1772442000000,\"value\":"
                     "12.5}");
    free(json);
    ev.has_value = false;
    json = sk_event_to_json(&ev);
    cr_expect_str_eq(json,
                     "{\"v\":1,\"id\":\"m-1\",\"account\":\"acme\",\"type\":"
                     "\"meeting_attended\",\"ts\":1772442000000}");
    free(json);
}

Test(event_codec, round_trips)
{
    sk_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SK_EV_CUSTOMER_RESPONSE;
    ev.ts_ms = SK_TS_MIN;
    strcpy(ev.id, "r");
    strcpy(ev.account, "a");
    ev.has_value = true;
    const double values[] = {0, 0.1, 1.0 / 3, 72, 1e9, 123456.789e-3, 4.9e-324};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        ev.value = values[i];
        expect_round_trip(&ev, "customer_response");
    }
    ev.type = SK_EV_MEETING_ATTENDED;
    ev.has_value = false;
    ev.ts_ms = SK_TS_MAX - 1;
    for (unsigned attrs = 0; attrs < 32; attrs++) {
        ev.attrs = attrs;
        expect_round_trip(&ev, "attrs");
    }
    memset(ev.id, 'i', SK_ID_MAX);
    memset(ev.account, 'a', SK_ACCOUNT_MAX);
    memset(ev.user, 'u', SK_USER_MAX);
    memset(ev.dept, 'd', SK_DEPT_MAX);
    strcpy(ev.label, "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93");
    ev.role = SK_ROLE_END_USER;
    expect_round_trip(&ev, "longest strings");
}

Test(event_codec, reject_names)
{
    for (int i = 0; i < SK_REJECT__COUNT; i++) {
        const char *name = sk_reject_name((sk_reject_t)i);
        cr_expect_str_neq(name, "?");
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(name, sk_reject_name((sk_reject_t)j));
    }
    cr_expect_str_eq(sk_reject_name(SK_REJECT_TS_OUT_OF_RANGE),
                     "ts_out_of_range");
    cr_expect_str_eq(sk_reject_name(SK_REJECT__COUNT), "?");
}

Test(event_codec, error_names_the_field)
{
    sk_event_t ev;
    sk_decode_error_t err;
    const char *json = "{\"v\":1,\"id\":\"e\",\"account\":\"a\",\"type\":"
                       "\"login\",\"ts\":1772442000000,\"dept\":7}";
    cr_assert_eq(sk_event_decode_json(json, strlen(json), &ev, &err), SK_ERR);
    cr_expect_eq(err.code, SK_REJECT_BAD_TYPE);
    cr_expect_not_null(strstr(err.message, "dept"), "%s", err.message);
    /* a NULL err is allowed */
    cr_expect_eq(sk_event_decode_json(json, strlen(json), &ev, NULL), SK_ERR);
    cr_expect_eq(sk_event_decode_msgpack("\xc1", 1, &ev, NULL), SK_ERR);
}

/* ---- the reader itself --------------------------------------------------- */

Test(mp_reader, integers_of_every_width)
{
    const int64_t values[] = {0,         1,         127,       128,      255,
                              256,       65535,     65536,     -1,       -32,
                              -33,       -128,      -129,      -32768,   -32769,
                              INT32_MIN, INT32_MAX, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        buf_t b;
        sk_mp_reader_t r;
        int64_t v;
        buf_init(&b);
        msgpack_pack_int64(&b.pk, values[i]);
        sk_mp_reader_init(&r, b.sb.data, b.sb.size);
        cr_expect_eq(sk_mp_peek(&r), SK_MP_INT);
        cr_expect_eq(sk_mp_read_int(&r, &v), SK_OK);
        cr_expect_eq(v, values[i]);
        cr_expect_eq(sk_mp_remaining(&r), 0);
        buf_free(&b);
    }
    /* every encoding, also the non-shortest ones */
    const unsigned char wide[] = {
        0xcc, 0x05, 0xcd, 0x00, 0x05, 0xce, 0,    0,    0,    5,
        0xcf, 0,    0,    0,    0,    0,    0,    0,    5,    0xd0,
        0xfb, 0xd1, 0xff, 0xfb, 0xd2, 0xff, 0xff, 0xff, 0xfb, 0xd3,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb};
    sk_mp_reader_t r;
    int64_t v;
    sk_mp_reader_init(&r, wide, sizeof wide);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(sk_mp_read_int(&r, &v), SK_OK);
        cr_expect_eq(v, 5);
    }
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(sk_mp_read_int(&r, &v), SK_OK);
        cr_expect_eq(v, -5);
    }
    cr_expect_eq(sk_mp_remaining(&r), 0);
    /* range */
    const unsigned char umax[] = {0xcf, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff};
    uint64_t u;
    sk_mp_reader_init(&r, umax, sizeof umax);
    cr_expect_eq(sk_mp_read_int(&r, &v), SK_ERR);
    cr_expect_eq(r.err, SK_MP_E_RANGE);
    sk_mp_reader_init(&r, umax, sizeof umax);
    cr_expect_eq(sk_mp_read_uint(&r, &u), SK_OK);
    cr_expect_eq(u, UINT64_MAX);
    const unsigned char neg[] = {0xff};
    sk_mp_reader_init(&r, neg, 1);
    cr_expect_eq(sk_mp_read_uint(&r, &u), SK_ERR);
    cr_expect_eq(r.err, SK_MP_E_RANGE);
}

Test(mp_reader, strings_floats_and_sticky_errors)
{
    buf_t b;
    sk_mp_reader_t r;
    const char *s;
    uint32_t len;
    double d;
    bool flag;
    buf_init(&b);
    char text[70000];
    memset(text, 'q', sizeof text);
    msgpack_pack_str_with_body(&b.pk, text, 31);
    msgpack_pack_str_with_body(&b.pk, text, 255);
    msgpack_pack_str_with_body(&b.pk, text, 65535);
    msgpack_pack_str_with_body(&b.pk, text, sizeof text);
    msgpack_pack_float(&b.pk, 0.5f);
    msgpack_pack_double(&b.pk, -2.25);
    msgpack_pack_true(&b.pk);
    msgpack_pack_nil(&b.pk);
    msgpack_pack_int(&b.pk, 3);
    sk_mp_reader_init(&r, b.sb.data, b.sb.size);
    const uint32_t lens[] = {31, 255, 65535, sizeof text};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(sk_mp_read_str(&r, &s, &len), SK_OK);
        cr_expect_eq(len, lens[i]);
        cr_expect_eq(s[0], 'q');
    }
    cr_expect_eq(sk_mp_read_float(&r, &d), SK_OK);
    cr_expect(d == 0.5);
    cr_expect_eq(sk_mp_read_number(&r, &d), SK_OK);
    cr_expect(d == -2.25);
    cr_expect_eq(sk_mp_read_bool(&r, &flag), SK_OK);
    cr_expect(flag);
    cr_expect_eq(sk_mp_read_nil(&r), SK_OK);
    /* an integer is a number, not a float */
    cr_expect_eq(sk_mp_read_float(&r, &d), SK_ERR);
    cr_expect_eq(r.err, SK_MP_E_TYPE);
    /* sticky: nothing reads after a failure */
    cr_expect_eq(sk_mp_read_number(&r, &d), SK_ERR);
    cr_expect_eq(sk_mp_peek(&r), SK_MP_END);
    buf_free(&b);
}

Test(mp_reader, containers_limits_and_skip)
{
    sk_mp_reader_t r;
    uint32_t n;
    const unsigned char arr[] = {0x93, 0x01, 0x02, 0x03};
    sk_mp_reader_init(&r, arr, sizeof arr);
    cr_expect_eq(sk_mp_read_array(&r, 2, &n), SK_ERR);
    cr_expect_eq(r.err, SK_MP_E_LIMIT);
    sk_mp_reader_init(&r, arr, sizeof arr);
    cr_expect_eq(sk_mp_read_array(&r, 3, &n), SK_OK);
    cr_expect_eq(n, 3);
    /* an announced count that the bytes cannot hold */
    const unsigned char lie[] = {0xdc, 0x00, 0x04, 0x01, 0x02, 0x03};
    sk_mp_reader_init(&r, lie, sizeof lie);
    cr_expect_eq(sk_mp_read_array(&r, 100, &n), SK_ERR);
    cr_expect_eq(r.err, SK_MP_E_TRUNCATED);
    const unsigned char map[] = {0x82, 0x01, 0x02, 0x03};
    sk_mp_reader_init(&r, map, sizeof map);
    cr_expect_eq(sk_mp_read_map(&r, 100, &n), SK_ERR);
    cr_expect_eq(r.err, SK_MP_E_TRUNCATED);

    /* skip: depth is counted per container level */
    const unsigned char nested[] = {0x91, 0x91, 0x81, 0xa1, 'k', 0x91, 0xc0};
    sk_mp_reader_init(&r, nested, sizeof nested);
    cr_expect_eq(sk_mp_skip(&r, 3), SK_ERR);
    cr_expect_eq(r.err, SK_MP_E_DEPTH);
    sk_mp_reader_init(&r, nested, sizeof nested);
    cr_expect_eq(sk_mp_skip(&r, 4), SK_OK);
    cr_expect_eq(sk_mp_remaining(&r), 0);
    /* skip of every scalar kind, ext and bin included */
    const unsigned char kinds[] = {0xc0, 0xc2, 0xc4, 0x01, 0xaa, 0xd4, 0x01,
                                   0x02, 0xc7, 0x02, 0x05, 0x00, 0x00, 0xca,
                                   0,    0,    0,    0,    0xa0};
    sk_mp_reader_init(&r, kinds, sizeof kinds);
    for (int i = 0; i < 7; i++)
        cr_expect_eq(sk_mp_skip(&r, 0), SK_OK, "value %d", i);
    cr_expect_eq(sk_mp_remaining(&r), 0);
    cr_expect_eq(sk_mp_skip(&r, 0), SK_ERR);
    cr_expect_eq(r.err, SK_MP_E_TRUNCATED);
}

/* ---- the fuzzer's msgpack seeds ------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

Test(event_codec, write_fuzz_seeds)
{
    const char *want = getenv("SK_WRITE_FIXTURES");
    if (!want || strcmp(want, "1") != 0)
        return;
    const char *lists[] = {"tests/fixtures/events/valid.jsonl",
                           "tests/fixtures/events/invalid.jsonl"};
    const char *prefix[] = {"valid", "invalid"};
    for (int l = 0; l < 2; l++) {
        FILE *f = fopen(sk_test_path(lists[l]), "r");
        char *line = NULL;
        size_t cap = 0;
        int n = 0;
        cr_assert_not_null(f);
        while (read_line(f, &line, &cap)) {
            buf_t b;
            char rel[128];
            n++;
            /* a handful: every sixth line */
            if (n % 6 != 1)
                continue;
            buf_init(&b);
            if (json_to_msgpack(line, &b)) {
                snprintf(rel, sizeof rel,
                         "tests/fuzz/corpus/fuzz_event_msgpack/%s-%02d.mp",
                         prefix[l], n);
                write_file(sk_test_path(rel), b.sb.data, b.sb.size);
            }
            buf_free(&b);
        }
        free(line);
        fclose(f);
    }
    /* hostile shapes the corpus lines cannot express */
    const unsigned char lying[] = {0xdd, 0xff, 0x00, 0x00, 0x00};
    write_file(sk_test_path("tests/fuzz/corpus/fuzz_event_msgpack/lying.mp"),
               lying, sizeof lying);
    unsigned char deep[40];
    memset(deep, 0x91, sizeof deep);
    deep[sizeof deep - 1] = 0xc0;
    write_file(sk_test_path("tests/fuzz/corpus/fuzz_event_msgpack/deep.mp"),
               deep, sizeof deep);
    buf_t b;
    buf_init(&b);
    pack_base(&b, 2);
    pstr(&b, "value");
    msgpack_pack_float(&b.pk, NAN);
    msgpack_pack_int(&b.pk, 7);
    msgpack_pack_bin_with_body(&b.pk, "\xff", 1);
    write_file(sk_test_path("tests/fuzz/corpus/fuzz_event_msgpack/odd.mp"),
               b.sb.data, b.sb.size);
    buf_free(&b);
}
