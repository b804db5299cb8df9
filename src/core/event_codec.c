/*
 * event_codec.c - the two wire forms of an event (msgpack from Kafka,
 * JSON from files and tools): decoding untrusted bytes, and encoding.
 *
 * DESIGN
 * Decoding runs in two steps.  A walker per wire form checks the bytes
 * are well formed and within the size, depth and count limits, and
 * records what it found under each known key as a raw value (kind,
 * number, or a pointer to string bytes that stay in the input or the
 * parsed JSON tree).  Then one validator, shared by both forms, turns
 * the raw values into an sk_event_t, checking the fields in a fixed
 * order.  So the same content gives the same reason code whichever form
 * it came in and whatever order its keys were in, and the rules of the
 * schema are written once.
 *
 * The msgpack walker reads with the bounded cursor of mp_reader.c, never
 * msgpack-c's unpacker (which trusts length prefixes), and allocates
 * nothing: it is on the per-event hot path.  The JSON walker uses
 * jansson, after a size check and a scan of the bracket depth, so the
 * parser never sees a document deeper than the schema allows.
 *
 * Order of judgement: structure first (too_large, bad_msgpack/bad_json;
 * a msgpack map key that is not a string is bad_type, reported only
 * once the whole input is known to be well formed), then v, then the
 * presence of the required fields, then the type of every field, then
 * the account, the strings, the event type, the time, and last the
 * values that depend on the event type.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "mp_reader.h"
#include "scorekeeper/event.h"

/* Most entries accepted in attrs (the five known keys and room to grow). */
#define MAX_ATTRS 16

enum field {
    F_V,
    F_ID,
    F_ACCOUNT,
    F_TYPE,
    F_TS,
    F_VALUE,
    F_USER,
    F_ROLE,
    F_DEPT,
    F_LABEL,
    F_ATTRS,
    F__COUNT
};

/* Wire names, in the order the encoders write them. */
static const char *const field_names[F__COUNT] = {
    "v",    "id",   "account", "type",  "ts",    "value",
    "user", "role", "dept",    "label", "attrs",
};

enum attr {
    A_ON_TIME,
    A_ACTIVE,
    A_EXECUTIVE,
    A_FOLLOW_THROUGH,
    A_STRATEGIC,
    A__COUNT
};

static const char *const attr_names[A__COUNT] = {
    "on_time", "active", "executive", "follow_through", "strategic",
};
static const unsigned attr_bits[A__COUNT] = {
    SK_ATTR_ON_TIME,        SK_ATTR_ACTIVE,    SK_ATTR_EXECUTIVE,
    SK_ATTR_FOLLOW_THROUGH, SK_ATTR_STRATEGIC,
};

static const char *const feedback_labels[] = {
    "very_happy",
    "happy",
    "neutral",
    "not_happy",
};

static const char *const reject_names[SK_REJECT__COUNT] = {
    "none",          "bad_msgpack",  "bad_json",    "too_large",
    "missing_field", "bad_type",     "bad_version", "bad_account",
    "bad_string",    "unknown_type", "bad_value",   "ts_out_of_range",
};

/* What a walker found under one key. */
typedef enum raw_kind {
    K_ABSENT,
    K_NIL,
    K_BOOL,
    K_INT,
    K_FLOAT,
    K_STR,
    K_MAP,
    K_OTHER /* array, binary, extension */
} raw_kind_t;

typedef struct raw_value {
    raw_kind_t kind;
    bool b;        /* K_BOOL */
    int64_t i;     /* K_INT, saturated to the int64 range */
    double d;      /* K_INT and K_FLOAT */
    const char *s; /* K_STR: bytes, not NUL-terminated */
    size_t len;    /* K_STR */
} raw_value_t;

typedef struct raw_event {
    raw_value_t f[F__COUNT];
    raw_value_t attr[A__COUNT];
    bool bad_key; /* a msgpack map key that is not a string */
} raw_event_t;

const char *sk_reject_name(sk_reject_t code)
{
    return (int)code >= 0 && code < SK_REJECT__COUNT ? reject_names[code] : "?";
}

static int reject(sk_decode_error_t *err, sk_reject_t code, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));

static int reject(sk_decode_error_t *err, sk_reject_t code, const char *fmt,
                  ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return SK_ERR;
}

/*
 * How much of @p s to quote in a message: at most 40 bytes, cut before a
 * UTF-8 continuation byte so the message stays valid text.
 */
static int quoted_len(const char *s, size_t len)
{
    if (len <= 40)
        return (int)len;
    size_t n = 40;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return (int)n;
}

static bool name_is(const char *name, const char *s, size_t len)
{
    return strlen(name) == len && memcmp(name, s, len) == 0;
}

static int field_index(const char *s, size_t len)
{
    switch (len) {
    case 1:
        return s[0] == 'v' ? F_V : -1;
    case 2:
        if (s[0] == 'i' && s[1] == 'd')
            return F_ID;
        return s[0] == 't' && s[1] == 's' ? F_TS : -1;
    case 4:
        if (memcmp(s, "type", 4) == 0)
            return F_TYPE;
        if (memcmp(s, "user", 4) == 0)
            return F_USER;
        if (memcmp(s, "role", 4) == 0)
            return F_ROLE;
        return memcmp(s, "dept", 4) == 0 ? F_DEPT : -1;
    case 5:
        if (memcmp(s, "value", 5) == 0)
            return F_VALUE;
        if (memcmp(s, "label", 5) == 0)
            return F_LABEL;
        return memcmp(s, "attrs", 5) == 0 ? F_ATTRS : -1;
    case 7:
        return memcmp(s, "account", 7) == 0 ? F_ACCOUNT : -1;
    default:
        return -1;
    }
}

/*
 * sk_event_type_parse() with a first-byte filter: on the hot path, and
 * most of the 25 names differ in their first byte.
 */
static int type_index(const char *s, size_t len)
{
    if (len == 0)
        return -1;
    for (int i = 0; i < SK_EV__COUNT; i++) {
        const char *name = sk_event_type_name((sk_event_type_t)i);
        if (name[0] == s[0] && name_is(name, s, len))
            return i;
    }
    return -1;
}

static int attr_index(const char *s, size_t len)
{
    for (int i = 0; i < A__COUNT; i++)
        if (name_is(attr_names[i], s, len))
            return i;
    return -1;
}

/* ---- shared checks ------------------------------------------------------ */

static bool account_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
           c == '@' || c == '-';
}

bool sk_account_id_valid(const char *id, size_t len)
{
    if (!id || len == 0 || len > SK_ACCOUNT_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!account_byte_ok((unsigned char)id[i]))
            return false;
    return true;
}

/*
 * Valid UTF-8 (shortest form, no surrogates, at most U+10FFFF) with no
 * control byte (below 0x20, or 0x7f).  Sets *why on failure.
 */
static bool text_ok(const char *text, size_t len, const char **why)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                *why = "a control character";
                return false;
            }
            i++;
            continue;
        }
        int extra;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1f;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0f;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            *why = "invalid UTF-8";
            return false;
        }
        if (len - i <= (size_t)extra) {
            *why = "invalid UTF-8";
            return false;
        }
        for (int k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                *why = "invalid UTF-8";
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            *why = "invalid UTF-8";
            return false;
        }
        i += 1 + (size_t)extra;
    }
    return true;
}

static const char *kind_wanted(int f)
{
    switch (f) {
    case F_V:
    case F_TS:
        return "an integer";
    case F_VALUE:
        return "a number";
    case F_ATTRS:
        return "a map";
    default:
        return "a string";
    }
}

static bool kind_fits(int f, raw_kind_t k)
{
    switch (f) {
    case F_V:
    case F_TS:
        return k == K_INT;
    case F_VALUE:
        return k == K_INT || k == K_FLOAT;
    case F_ATTRS:
        return k == K_MAP;
    default:
        return k == K_STR;
    }
}

/* Copy a checked string field into its NUL-terminated buffer. */
static void copy_str(char *dst, const raw_value_t *v)
{
    memcpy(dst, v->s, v->len);
    dst[v->len] = '\0';
}

static int check_string(const raw_value_t *v, int f, size_t min, size_t max,
                        sk_decode_error_t *err)
{
    const char *why;
    if (v->len < min)
        return reject(err, SK_REJECT_BAD_STRING, "\"%s\" is empty",
                      field_names[f]);
    if (v->len > max)
        return reject(err, SK_REJECT_BAD_STRING,
                      "\"%s\" is %zu bytes, at most %zu allowed",
                      field_names[f], v->len, max);
    if (!text_ok(v->s, v->len, &why))
        return reject(err, SK_REJECT_BAD_STRING, "\"%s\" contains %s",
                      field_names[f], why);
    return SK_OK;
}

static bool value_required(sk_event_type_t t)
{
    return t == SK_EV_USAGE || t == SK_EV_PLAN_USAGE || t == SK_EV_NPS;
}

static bool label_required(sk_event_type_t t)
{
    return t == SK_EV_FEATURE_USED || t == SK_EV_PAGE_VIEW ||
           t == SK_EV_FEEDBACK;
}

/*
 * The value and label rules that depend on the event type.
 * @p has_label: a label was given, perhaps empty.
 */
static int check_by_type(const sk_event_t *ev, bool has_label,
                         sk_decode_error_t *err)
{
    const char *tname = sk_event_type_name(ev->type);
    if (value_required(ev->type) && !ev->has_value)
        return reject(err, SK_REJECT_MISSING_FIELD,
                      "\"value\" is required for %s", tname);
    if (label_required(ev->type) && !has_label)
        return reject(err, SK_REJECT_MISSING_FIELD,
                      "\"label\" is required for %s", tname);
    if (label_required(ev->type) && ev->label[0] == '\0')
        return reject(err, SK_REJECT_BAD_VALUE,
                      "\"label\" of %s must not be empty", tname);
    switch (ev->type) {
    case SK_EV_USAGE:
    case SK_EV_PLAN_USAGE:
    case SK_EV_CUSTOMER_RESPONSE:
        if (ev->has_value && ev->value < 0)
            return reject(err, SK_REJECT_BAD_VALUE,
                          "\"value\" of %s must not be negative (%g)", tname,
                          ev->value);
        break;
    case SK_EV_NPS:
        if (ev->value < 0 || ev->value > 10 || floor(ev->value) != ev->value)
            return reject(err, SK_REJECT_BAD_VALUE,
                          "\"value\" of nps must be an integer 0..10 (%g)",
                          ev->value);
        break;
    case SK_EV_FEEDBACK: {
        size_t n = sizeof feedback_labels / sizeof feedback_labels[0];
        for (size_t i = 0; i < n; i++)
            if (strcmp(ev->label, feedback_labels[i]) == 0)
                return SK_OK;
        return reject(err, SK_REJECT_BAD_VALUE,
                      "\"label\" of feedback must be very_happy, happy, "
                      "neutral or not_happy");
    }
    default:
        break;
    }
    return SK_OK;
}

/*
 * The one place that judges an event's content: from what a walker
 * found to a checked sk_event_t, in a fixed order.
 */
static int validate(const raw_event_t *raw, sk_event_t *ev,
                    sk_decode_error_t *err)
{
    const raw_value_t *f = raw->f;
    static const int required[] = {F_ID, F_ACCOUNT, F_TYPE, F_TS};

    if (raw->bad_key)
        return reject(err, SK_REJECT_BAD_TYPE, "a map key is not a string");

    if (f[F_V].kind == K_ABSENT)
        return reject(err, SK_REJECT_MISSING_FIELD,
                      "missing required field \"v\"");
    if (f[F_V].kind != K_INT)
        return reject(err, SK_REJECT_BAD_TYPE, "\"v\" must be an integer");
    if (f[F_V].i != 1)
        return reject(err, SK_REJECT_BAD_VERSION,
                      "schema version %lld is not supported (expected 1)",
                      (long long)f[F_V].i);

    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (f[required[i]].kind == K_ABSENT)
            return reject(err, SK_REJECT_MISSING_FIELD,
                          "missing required field \"%s\"",
                          field_names[required[i]]);

    for (int i = 0; i < F__COUNT; i++)
        if (f[i].kind != K_ABSENT && !kind_fits(i, f[i].kind))
            return reject(err, SK_REJECT_BAD_TYPE, "\"%s\" must be %s",
                          field_names[i], kind_wanted(i));
    for (int i = 0; i < A__COUNT; i++)
        if (raw->attr[i].kind != K_ABSENT && raw->attr[i].kind != K_BOOL)
            return reject(err, SK_REJECT_BAD_TYPE,
                          "\"attrs.%s\" must be a boolean", attr_names[i]);

    if (!sk_account_id_valid(f[F_ACCOUNT].s, f[F_ACCOUNT].len))
        return reject(err, SK_REJECT_BAD_ACCOUNT,
                      "\"account\" must be 1..%d bytes of "
                      "[A-Za-z0-9._:@-] (got %zu bytes)",
                      SK_ACCOUNT_MAX, f[F_ACCOUNT].len);
    copy_str(ev->account, &f[F_ACCOUNT]);

    if (check_string(&f[F_ID], F_ID, 1, SK_ID_MAX, err) != SK_OK)
        return SK_ERR;
    copy_str(ev->id, &f[F_ID]);
    ev->user[0] = ev->dept[0] = ev->label[0] = '\0';
    if (f[F_USER].kind == K_STR) {
        if (check_string(&f[F_USER], F_USER, 0, SK_USER_MAX, err) != SK_OK)
            return SK_ERR;
        copy_str(ev->user, &f[F_USER]);
    }
    if (f[F_DEPT].kind == K_STR) {
        if (check_string(&f[F_DEPT], F_DEPT, 0, SK_DEPT_MAX, err) != SK_OK)
            return SK_ERR;
        copy_str(ev->dept, &f[F_DEPT]);
    }
    if (f[F_LABEL].kind == K_STR) {
        if (check_string(&f[F_LABEL], F_LABEL, 0, SK_LABEL_MAX, err) != SK_OK)
            return SK_ERR;
        copy_str(ev->label, &f[F_LABEL]);
    }

    int type = type_index(f[F_TYPE].s, f[F_TYPE].len);
    if (type < 0) {
        int shown = quoted_len(f[F_TYPE].s, f[F_TYPE].len);
        const char *why;
        if (!text_ok(f[F_TYPE].s, f[F_TYPE].len, &why))
            return reject(err, SK_REJECT_UNKNOWN_TYPE,
                          "\"type\" is not in the vocabulary");
        return reject(err, SK_REJECT_UNKNOWN_TYPE,
                      "\"type\" \"%.*s\" is not in the vocabulary", shown,
                      f[F_TYPE].s);
    }
    ev->type = (sk_event_type_t)type;

    if (f[F_TS].i < SK_TS_MIN || f[F_TS].i >= SK_TS_MAX)
        return reject(err, SK_REJECT_TS_OUT_OF_RANGE,
                      "\"ts\" %lld is outside 2000-01-01..2100-01-01 "
                      "(milliseconds since the epoch)",
                      (long long)f[F_TS].i);
    ev->ts_ms = f[F_TS].i;

    ev->has_value = f[F_VALUE].kind != K_ABSENT;
    ev->value = ev->has_value ? f[F_VALUE].d : 0;
    if (ev->has_value &&
        (!isfinite(ev->value) || fabs(ev->value) > SK_EVENT_MAX_VALUE))
        return reject(err, SK_REJECT_BAD_VALUE,
                      "\"value\" must be a finite number of magnitude at "
                      "most %g",
                      SK_EVENT_MAX_VALUE);

    ev->role = SK_ROLE_NONE;
    if (f[F_ROLE].kind == K_STR) {
        int role = sk_role_parse(f[F_ROLE].s, f[F_ROLE].len);
        if (role <= SK_ROLE_NONE)
            return reject(err, SK_REJECT_BAD_VALUE,
                          "\"role\" must be executive, champion, "
                          "power_user or end_user");
        ev->role = (sk_role_t)role;
    }

    ev->attrs = 0;
    for (int i = 0; i < A__COUNT; i++)
        if (raw->attr[i].kind == K_BOOL && raw->attr[i].b)
            ev->attrs |= attr_bits[i];

    return check_by_type(ev, f[F_LABEL].kind == K_STR, err);
}

/* ---- msgpack ------------------------------------------------------------ */

/* Remembers the keys of one map, to refuse a repeated key. */
typedef struct key_set {
    unsigned known; /* bit per known key index */
    int n;
    struct {
        const char *s;
        uint32_t len;
    } other[SK_EVENT_MAX_FIELDS];
} key_set_t;

static bool key_repeated(key_set_t *ks, int index, const char *s, uint32_t len)
{
    if (index >= 0) {
        if (ks->known & (1u << index))
            return true;
        ks->known |= 1u << index;
        return false;
    }
    for (int i = 0; i < ks->n; i++)
        if (ks->other[i].len == len && memcmp(ks->other[i].s, s, len) == 0)
            return true;
    /* a map has at most SK_EVENT_MAX_FIELDS keys, so this never overflows */
    ks->other[ks->n].s = s;
    ks->other[ks->n].len = len;
    ks->n++;
    return false;
}

/* Turn a reader failure into a reason. */
static int mp_reject(const sk_mp_reader_t *r, sk_decode_error_t *err,
                     const uint8_t *start)
{
    size_t at = (size_t)(r->p - start);
    switch (r->err) {
    case SK_MP_E_LIMIT:
        return reject(err, SK_REJECT_TOO_LARGE,
                      "a map has more than %d entries (%d for attrs)",
                      SK_EVENT_MAX_FIELDS, MAX_ATTRS);
    case SK_MP_E_DEPTH:
        return reject(err, SK_REJECT_TOO_LARGE, "nested deeper than %d levels",
                      SK_EVENT_MAX_DEPTH);
    default:
        return reject(err, SK_REJECT_BAD_MSGPACK,
                      "malformed msgpack at "
                      "byte %zu: %s",
                      at, sk_mp_error_name(r->err));
    }
}

/* Record the value under a known key; containers are skipped. */
static int read_raw(sk_mp_reader_t *r, raw_value_t *v, int depth_left)
{
    uint32_t len;
    switch (sk_mp_peek(r)) {
    case SK_MP_NIL:
        v->kind = K_NIL;
        return sk_mp_read_nil(r);
    case SK_MP_BOOL:
        v->kind = K_BOOL;
        return sk_mp_read_bool(r, &v->b);
    case SK_MP_INT: {
        bool big;
        v->kind = K_INT;
        if (sk_mp_read_int_sat(r, &v->i, &big) != SK_OK)
            return SK_ERR;
        v->d = (double)v->i;
        return SK_OK;
    }
    case SK_MP_FLOAT:
        v->kind = K_FLOAT;
        return sk_mp_read_float(r, &v->d);
    case SK_MP_STR:
        v->kind = K_STR;
        if (sk_mp_read_str(r, &v->s, &len) != SK_OK)
            return SK_ERR;
        v->len = len;
        return SK_OK;
    case SK_MP_MAP:
        v->kind = K_MAP;
        return sk_mp_skip(r, depth_left);
    default:
        v->kind = K_OTHER;
        return sk_mp_skip(r, depth_left);
    }
}

static int walk_attrs_msgpack(sk_mp_reader_t *r, raw_event_t *raw)
{
    uint32_t n;
    key_set_t keys;
    keys.known = 0;
    keys.n = 0;
    if (sk_mp_read_map(r, MAX_ATTRS, &n) != SK_OK)
        return SK_ERR;
    raw->f[F_ATTRS].kind = K_MAP;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        uint32_t klen;
        if (sk_mp_peek(r) != SK_MP_STR) {
            raw->bad_key = true;
            if (sk_mp_skip(r, SK_EVENT_MAX_DEPTH - 2) != SK_OK)
                return SK_ERR;
            if (sk_mp_skip(r, SK_EVENT_MAX_DEPTH - 2) != SK_OK)
                return SK_ERR;
            continue;
        }
        if (sk_mp_read_str(r, &k, &klen) != SK_OK)
            return SK_ERR;
        int a = attr_index(k, klen);
        if (key_repeated(&keys, a, k, klen))
            return SK_ERR;
        if (a < 0) {
            if (sk_mp_skip(r, SK_EVENT_MAX_DEPTH - 2) != SK_OK)
                return SK_ERR;
        } else if (read_raw(r, &raw->attr[a], SK_EVENT_MAX_DEPTH - 2) != SK_OK)
            return SK_ERR;
    }
    return SK_OK;
}

static int walk_msgpack(const uint8_t *buf, size_t len, raw_event_t *raw,
                        sk_decode_error_t *err)
{
    sk_mp_reader_t r;
    uint32_t n;
    key_set_t keys;

    if (len > SK_EVENT_MAX_BYTES)
        return reject(err, SK_REJECT_TOO_LARGE,
                      "message is %zu bytes, at most %d accepted", len,
                      SK_EVENT_MAX_BYTES);
    if (len == 0)
        return reject(err, SK_REJECT_BAD_MSGPACK, "empty message");
    sk_mp_reader_init(&r, buf, len);

    if (sk_mp_peek(&r) != SK_MP_MAP) {
        /* judge well-formedness before the type of the top level */
        if (sk_mp_skip(&r, SK_EVENT_MAX_DEPTH) != SK_OK)
            return mp_reject(&r, err, buf);
        if (sk_mp_remaining(&r) > 0)
            return reject(err, SK_REJECT_BAD_MSGPACK,
                          "%zu trailing bytes after the value",
                          sk_mp_remaining(&r));
        return reject(err, SK_REJECT_BAD_TYPE, "the event must be a map");
    }
    if (sk_mp_read_map(&r, SK_EVENT_MAX_FIELDS, &n) != SK_OK)
        return mp_reject(&r, err, buf);

    keys.known = 0;
    keys.n = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        uint32_t klen;
        if (sk_mp_peek(&r) != SK_MP_STR) {
            raw->bad_key = true;
            if (sk_mp_skip(&r, SK_EVENT_MAX_DEPTH - 1) != SK_OK ||
                sk_mp_skip(&r, SK_EVENT_MAX_DEPTH - 1) != SK_OK)
                return mp_reject(&r, err, buf);
            continue;
        }
        if (sk_mp_read_str(&r, &k, &klen) != SK_OK)
            return mp_reject(&r, err, buf);
        int f = field_index(k, klen);
        if (key_repeated(&keys, f, k, klen)) {
            const char *why;
            if (!text_ok(k, klen, &why))
                return reject(err, SK_REJECT_BAD_MSGPACK,
                              "a key appears twice");
            return reject(err, SK_REJECT_BAD_MSGPACK,
                          "key \"%.*s\" appears twice", quoted_len(k, klen), k);
        }
        int rc;
        if (f < 0)
            rc = sk_mp_skip(&r, SK_EVENT_MAX_DEPTH - 1);
        else if (f == F_ATTRS && sk_mp_peek(&r) == SK_MP_MAP)
            rc = walk_attrs_msgpack(&r, raw);
        else
            rc = read_raw(&r, &raw->f[f], SK_EVENT_MAX_DEPTH - 1);
        if (rc != SK_OK) {
            if (r.err == SK_MP_E_NONE) /* a repeated attrs key */
                return reject(err, SK_REJECT_BAD_MSGPACK,
                              "a key appears twice in \"attrs\"");
            return mp_reject(&r, err, buf);
        }
    }
    if (sk_mp_remaining(&r) > 0)
        return reject(err, SK_REJECT_BAD_MSGPACK,
                      "%zu trailing bytes after the event map",
                      sk_mp_remaining(&r));
    return SK_OK;
}

int sk_event_decode_msgpack(const void *buf, size_t len, sk_event_t *ev,
                            sk_decode_error_t *err)
{
    raw_event_t raw;
    memset(&raw, 0, sizeof raw);
    if (walk_msgpack(buf, len, &raw, err) != SK_OK)
        return SK_ERR;
    return validate(&raw, ev, err);
}

/* ---- JSON --------------------------------------------------------------- */

/*
 * The deepest bracket nesting of @p s, counting only brackets outside
 * strings; stops early once past the limit.  Malformed text may give a
 * meaningless number; the parser rejects it next anyway.
 */
static int json_depth(const char *s, size_t len)
{
    int depth = 0, deepest = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > SK_EVENT_MAX_DEPTH)
                    break;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return deepest;
}

static void json_raw(json_t *j, raw_value_t *v)
{
    switch (json_typeof(j)) {
    case JSON_NULL:
        v->kind = K_NIL;
        break;
    case JSON_TRUE:
        v->kind = K_BOOL;
        v->b = true;
        break;
    case JSON_FALSE:
        v->kind = K_BOOL;
        v->b = false;
        break;
    case JSON_INTEGER:
        v->kind = K_INT;
        v->i = json_integer_value(j);
        v->d = (double)v->i;
        break;
    case JSON_REAL:
        v->kind = K_FLOAT;
        v->d = json_real_value(j);
        break;
    case JSON_STRING:
        v->kind = K_STR;
        v->s = json_string_value(j);
        v->len = json_string_length(j);
        break;
    case JSON_OBJECT:
        v->kind = K_MAP;
        break;
    default:
        v->kind = K_OTHER;
        break;
    }
}

static int walk_json(json_t *root, raw_event_t *raw, sk_decode_error_t *err)
{
    const char *key;
    json_t *val;

    if (!json_is_object(root))
        return reject(err, SK_REJECT_BAD_TYPE,
                      "the event must be a JSON object");
    if (json_object_size(root) > SK_EVENT_MAX_FIELDS)
        return reject(err, SK_REJECT_TOO_LARGE,
                      "a map has more than %d entries (%d for attrs)",
                      SK_EVENT_MAX_FIELDS, MAX_ATTRS);
    json_object_foreach(root, key, val)
    {
        int f = field_index(key, strlen(key));
        if (f < 0)
            continue;
        json_raw(val, &raw->f[f]);
        if (f == F_ATTRS && json_is_object(val)) {
            const char *akey;
            json_t *aval;
            if (json_object_size(val) > MAX_ATTRS)
                return reject(err, SK_REJECT_TOO_LARGE,
                              "a map has more than %d entries (%d for "
                              "attrs)",
                              SK_EVENT_MAX_FIELDS, MAX_ATTRS);
            json_object_foreach(val, akey, aval)
            {
                int a = attr_index(akey, strlen(akey));
                if (a >= 0)
                    json_raw(aval, &raw->attr[a]);
            }
        }
    }
    return SK_OK;
}

int sk_event_decode_json(const char *buf, size_t len, sk_event_t *ev,
                         sk_decode_error_t *err)
{
    raw_event_t raw;
    json_error_t jerr;
    json_t *root = NULL;
    int rc = SK_ERR;

    if (len > SK_EVENT_MAX_BYTES)
        return reject(err, SK_REJECT_TOO_LARGE,
                      "message is %zu bytes, at most %d accepted", len,
                      SK_EVENT_MAX_BYTES);
    if (json_depth(buf, len) > SK_EVENT_MAX_DEPTH)
        return reject(err, SK_REJECT_TOO_LARGE, "nested deeper than %d levels",
                      SK_EVENT_MAX_DEPTH);
    root = json_loadb(buf, len,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL,
                      &jerr);
    if (!root) {
        /* bad UTF-8 is the same fault as in a msgpack string */
        sk_reject_t code = json_error_code(&jerr) == json_error_invalid_utf8
                               ? SK_REJECT_BAD_STRING
                               : SK_REJECT_BAD_JSON;
        return reject(err, code, "invalid JSON at byte %d: %s", jerr.position,
                      jerr.text);
    }
    memset(&raw, 0, sizeof raw);
    if (walk_json(root, &raw, err) != SK_OK)
        goto cleanup;
    rc = validate(&raw, ev, err);
cleanup:
    json_decref(root);
    return rc;
}

/* ---- encoding ----------------------------------------------------------- */

/* Whole values travel as integers: shorter, and what producers write. */
static bool value_is_whole(double v)
{
    return isfinite(v) && floor(v) == v && fabs(v) <= SK_EVENT_MAX_VALUE;
}

static int pack_str(msgpack_packer *pk, const char *s)
{
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

int sk_event_encode_msgpack(const sk_event_t *ev, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    int rc = 0;
    size_t n = 5;
    n += ev->has_value;
    n += ev->user[0] != '\0';
    n += ev->role != SK_ROLE_NONE;
    n += ev->dept[0] != '\0';
    n += ev->label[0] != '\0';
    n += ev->attrs != 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    rc |= msgpack_pack_map(&pk, n);
    rc |= pack_str(&pk, "v");
    rc |= msgpack_pack_int(&pk, 1);
    rc |= pack_str(&pk, "id");
    rc |= pack_str(&pk, ev->id);
    rc |= pack_str(&pk, "account");
    rc |= pack_str(&pk, ev->account);
    rc |= pack_str(&pk, "type");
    rc |= pack_str(&pk, sk_event_type_name(ev->type));
    rc |= pack_str(&pk, "ts");
    rc |= msgpack_pack_int64(&pk, ev->ts_ms);
    if (ev->has_value) {
        rc |= pack_str(&pk, "value");
        if (value_is_whole(ev->value))
            rc |= msgpack_pack_int64(&pk, (int64_t)ev->value);
        else
            rc |= msgpack_pack_double(&pk, ev->value);
    }
    if (ev->user[0]) {
        rc |= pack_str(&pk, "user");
        rc |= pack_str(&pk, ev->user);
    }
    if (ev->role != SK_ROLE_NONE) {
        rc |= pack_str(&pk, "role");
        rc |= pack_str(&pk, sk_role_name(ev->role));
    }
    if (ev->dept[0]) {
        rc |= pack_str(&pk, "dept");
        rc |= pack_str(&pk, ev->dept);
    }
    if (ev->label[0]) {
        rc |= pack_str(&pk, "label");
        rc |= pack_str(&pk, ev->label);
    }
    if (ev->attrs) {
        size_t na = 0;
        for (int i = 0; i < A__COUNT; i++)
            na += (ev->attrs & attr_bits[i]) != 0;
        rc |= pack_str(&pk, "attrs");
        rc |= msgpack_pack_map(&pk, na);
        for (int i = 0; i < A__COUNT; i++) {
            if (ev->attrs & attr_bits[i]) {
                rc |= pack_str(&pk, attr_names[i]);
                rc |= msgpack_pack_true(&pk);
            }
        }
    }
    return rc == 0 ? SK_OK : SK_ERR;
}

/* json_object_set_new() that remembers a failure (NULL value included). */
static void set_new(json_t *obj, const char *key, json_t *val, int *rc)
{
    if (json_object_set_new(obj, key, val) != 0)
        *rc = SK_ERR;
}

char *sk_event_to_json(const sk_event_t *ev)
{
    json_t *obj = json_object();
    char *text = NULL;
    int rc = SK_OK;

    if (!obj)
        return NULL;
    set_new(obj, "v", json_integer(1), &rc);
    set_new(obj, "id", json_string(ev->id), &rc);
    set_new(obj, "account", json_string(ev->account), &rc);
    set_new(obj, "type", json_string(sk_event_type_name(ev->type)), &rc);
    set_new(obj, "ts", json_integer(ev->ts_ms), &rc);
    if (ev->has_value)
        set_new(obj, "value",
                value_is_whole(ev->value) ? json_integer((json_int_t)ev->value)
                                          : json_real(ev->value),
                &rc);
    if (ev->user[0])
        set_new(obj, "user", json_string(ev->user), &rc);
    if (ev->role != SK_ROLE_NONE)
        set_new(obj, "role", json_string(sk_role_name(ev->role)), &rc);
    if (ev->dept[0])
        set_new(obj, "dept", json_string(ev->dept), &rc);
    if (ev->label[0])
        set_new(obj, "label", json_string(ev->label), &rc);
    if (ev->attrs) {
        json_t *attrs = json_object();
        for (int i = 0; attrs && i < A__COUNT; i++)
            if (ev->attrs & attr_bits[i])
                set_new(attrs, attr_names[i], json_true(), &rc);
        set_new(obj, "attrs", attrs, &rc);
    }
    if (rc == SK_OK)
        text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}
