/*
 * state_codec.c - an account's whole state as the versioned msgpack blob
 * kept in Redis (see state_codec.h).
 *
 * DESIGN
 * The blob is [format_version, {fields}].  Keys are short, and a field
 * that holds its empty-account value is left out, so a quiet account
 * costs a few dozen bytes.  Fixed-shape records (features, people,
 * samples, ids, positions) are flattened into one array with a stride,
 * and a day bucket is [day, mask, values...] where bit i of the mask says
 * that bucket field i is non-zero and its value follows, in field order.
 * Whole doubles are written as integers (shorter); readers take either.
 *
 * The keys of format 2 (this table is their reference; the frozen blobs
 * tests/fixtures/state-v1.bin and state-v2.bin prove both formats stay
 * readable):
 *   id  account id (required)     c/u  clock_ms / updated_ms
 *   p   points                    n    events_applied
 *   pt  [type, points]* of points_by_type, non-zero entries
 *   d   day buckets               lm   login_months
 *   ll  last_login_day            api  api_call_seen (true)
 *   ad  first_api_call_day        pe   [hash, last_day, kind]*
 *   f   [hash, last_day, first_day]*  (format 1: [hash, last_day]*)
 *   oc  open_cancels              or   outreach
 *   lr  last_response_ms          rs   [day, hours]*
 *   ln  last_nps_ms               nv   last_nps
 *   hs  high_since_ms             s    [hash, ts]*, oldest first
 *   sn  (ignored: early writers kept the ring's rotation here)
 *   po  [topic, partition, offset]*
 *   r   reported: {st, et, sg, h, fl, fs: [flag, since]*}
 *
 * Decoding reads with the bounded cursor of mp_reader.c (never
 * msgpack-c's unpacker, which trusts length prefixes): every count is
 * checked against the field's capacity and the remaining bytes before
 * anything is stored, every integer against its field's range, every
 * enum against its names, and the invariants other code relies on (day
 * buckets strictly ascending, known person kinds) are checked too, so a
 * corrupted key yields an error message, never a crash or a huge
 * allocation.  Unknown keys are skipped, so a blob from a newer writer
 * that only adds keys still reads.  A new layout gets a new format
 * version and its own decode function; old ones are kept.
 *
 * The decoded account is allocated the way the engine allocates one
 * (the struct, the day buckets read, each set and list just big enough
 * for the entries read, a topic string per position, an id ring just big
 * enough for the ids read, at most rules->dedup_max_ids), so
 * sk_account_destroy() frees it and the engine grows what needs to grow.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_reader.h"
#include "mp_writer.h"
#include "scorekeeper/state_codec.h"

/* Deepest value skipped under an unknown key. */
#define SKIP_DEPTH 16
/* Most keys accepted in the state map (known ones and room to grow). */
#define MAX_KEYS 64
/* Most values in one day bucket record. */
#define MAX_BUCKET_VALUES 64

/* ---- the day bucket fields, in mask-bit order ---------------------------- */

typedef enum bucket_kind { B_U8, B_U16, B_U32, B_DOUBLE } bucket_kind_t;

typedef struct bucket_field {
    size_t offset;
    bucket_kind_t kind;
} bucket_field_t;

#define BF(name, kind)                                                         \
    {                                                                          \
        offsetof(sk_day_bucket_t, name), kind                                  \
    }
static const bucket_field_t bucket_fields[] = {
    BF(logins, B_U16),
    BF(usage_events, B_U16),
    BF(usage_minutes, B_DOUBLE),
    BF(meetings, B_U16),
    BF(strategic_meetings, B_U16),
    BF(meeting_quality, B_U32),
    BF(missed, B_U16),
    BF(emails, B_U16),
    BF(tickets, B_U16),
    BF(trainings, B_U16),
    BF(outreach, B_U16),
    BF(responses, B_U16),
    BF(qbr_declined, B_U16),
    BF(payment_failed, B_U16),
    BF(cancellation_views, B_U16),
    BF(executive_events, B_U16),
    BF(customer_points, B_DOUBLE),
    BF(upsell, B_U8),
};
#undef BF
#define N_BUCKET_FIELDS ((int)(sizeof bucket_fields / sizeof bucket_fields[0]))

/* ---- encoding ----------------------------------------------------------- */

static void pack_key(sk_mp_writer_t *w, const char *key)
{
    sk_mp_str(w, key, strlen(key));
}

/* A double as an integer when that is exact and shorter. */
static void pack_number(sk_mp_writer_t *w, double v)
{
    if (isfinite(v) && floor(v) == v && fabs(v) < 9007199254740992.0 &&
        !(v == 0 && signbit(v))) {
        sk_mp_int(w, (int64_t)v);
        return;
    }
    sk_mp_double(w, v);
}

static uint32_t bucket_mask(const sk_day_bucket_t *b)
{
    uint32_t mask = 0;
    const char *base = (const char *)b;
    for (int i = 0; i < N_BUCKET_FIELDS; i++) {
        const char *p = base + bucket_fields[i].offset;
        bool set;
        switch (bucket_fields[i].kind) {
        case B_U8:
            set = *(const uint8_t *)p != 0;
            break;
        case B_U16:
            set = *(const uint16_t *)p != 0;
            break;
        case B_U32:
            set = *(const uint32_t *)p != 0;
            break;
        default: {
            double d = *(const double *)p;
            set = d != 0 || signbit(d);
            break;
        }
        }
        if (set)
            mask |= 1u << i;
    }
    return mask;
}

static void pack_bucket(sk_mp_writer_t *w, const sk_day_bucket_t *b)
{
    uint32_t mask = bucket_mask(b);
    int n = 0;
    const char *base = (const char *)b;
    for (int i = 0; i < N_BUCKET_FIELDS; i++)
        n += (mask >> i) & 1;
    sk_mp_array(w, (size_t)n + 2);
    sk_mp_int(w, b->day);
    sk_mp_uint(w, mask);
    for (int i = 0; i < N_BUCKET_FIELDS; i++) {
        if (!((mask >> i) & 1))
            continue;
        const char *p = base + bucket_fields[i].offset;
        switch (bucket_fields[i].kind) {
        case B_U8:
            sk_mp_uint(w, *(const uint8_t *)p);
            break;
        case B_U16:
            sk_mp_uint(w, *(const uint16_t *)p);
            break;
        case B_U32:
            sk_mp_uint(w, *(const uint32_t *)p);
            break;
        default:
            pack_number(w, *(const double *)p);
            break;
        }
    }
}

static int flag_since_count(const sk_reported_t *r)
{
    int n = 0;
    for (int i = 0; i < SK_FLAG__COUNT; i++)
        n += r->flag_since[i] != 0;
    return n;
}

static void pack_reported(sk_mp_writer_t *w, const sk_reported_t *r)
{
    int nfs = flag_since_count(r);
    size_t n = (r->stage != 0) + (r->eng_tier != 0) + (r->segment != 0) +
               (r->health != 0) + (r->flags != 0) + (nfs != 0);
    sk_mp_map(w, n);
    if (r->stage) {
        pack_key(w, "st");
        sk_mp_int(w, r->stage);
    }
    if (r->eng_tier) {
        pack_key(w, "et");
        sk_mp_uint(w, r->eng_tier);
    }
    if (r->segment) {
        pack_key(w, "sg");
        sk_mp_uint(w, r->segment);
    }
    if (r->health) {
        pack_key(w, "h");
        sk_mp_uint(w, r->health);
    }
    if (r->flags) {
        pack_key(w, "fl");
        sk_mp_uint(w, r->flags);
    }
    if (nfs) {
        pack_key(w, "fs");
        sk_mp_array(w, 2 * (size_t)nfs);
        for (int i = 0; i < SK_FLAG__COUNT; i++) {
            if (r->flag_since[i] == 0)
                continue;
            sk_mp_int(w, i);
            sk_mp_int(w, r->flag_since[i]);
        }
    }
}

static int points_by_type_count(const sk_account_t *a)
{
    int n = 0;
    for (int i = 0; i < SK_EV__COUNT; i++)
        n += a->points_by_type[i] != 0;
    return n;
}

static bool reported_empty(const sk_reported_t *r)
{
    return !r->stage && !r->eng_tier && !r->segment && !r->health &&
           !r->flags && flag_since_count(r) == 0;
}

/* Index of the oldest remembered id in the ring. */
static int seen_oldest(const sk_account_t *a)
{
    return a->n_seen == a->cap_seen && a->cap_seen > 0 ? a->seen_next : 0;
}

int sk_state_encode(const sk_account_t *a, msgpack_sbuffer *out)
{
    sk_mp_writer_t w = {.out = out, .oom = false};
    int npt = points_by_type_count(a);
    size_t n =
        1 + (a->clock_ms != 0) + (a->updated_ms != 0) + (a->points != 0) +
        (a->events_applied != 0) + (npt != 0) + (a->n_days > 0) +
        (a->n_login_months > 0) + (a->last_login_day != SK_ACCOUNT_NO_DAY) +
        a->api_call_seen + (a->first_api_call_day != SK_ACCOUNT_NO_DAY) +
        (a->n_features > 0) + (a->n_people > 0) +
        (a->n_open_cancels > 0) + (a->n_outreach > 0) +
        (a->last_response_ms != INT64_MIN) + (a->n_responses > 0) +
        (a->last_nps_ms != INT64_MIN) + (a->last_nps != -1) +
        (a->high_since_ms != INT64_MIN) + (a->n_seen > 0) +
        (a->n_positions > 0) + !reported_empty(&a->reported);

    sk_mp_array(&w, 2);
    sk_mp_int(&w, SK_STATE_FORMAT_VERSION);
    sk_mp_map(&w, n);

    pack_key(&w, "id");
    pack_key(&w, a->id);
    if (a->clock_ms) {
        pack_key(&w, "c");
        sk_mp_int(&w, a->clock_ms);
    }
    if (a->updated_ms) {
        pack_key(&w, "u");
        sk_mp_int(&w, a->updated_ms);
    }
    if (a->points) {
        pack_key(&w, "p");
        sk_mp_int(&w, a->points);
    }
    if (a->events_applied) {
        pack_key(&w, "n");
        sk_mp_uint(&w, a->events_applied);
    }
    if (npt) {
        pack_key(&w, "pt");
        sk_mp_array(&w, 2 * (size_t)npt);
        for (int i = 0; i < SK_EV__COUNT; i++) {
            if (a->points_by_type[i] == 0)
                continue;
            sk_mp_int(&w, i);
            sk_mp_int(&w, a->points_by_type[i]);
        }
    }
    if (a->n_days > 0) {
        pack_key(&w, "d");
        sk_mp_array(&w, (size_t)a->n_days);
        for (int i = 0; i < a->n_days; i++)
            pack_bucket(&w, &a->days[i]);
    }
    if (a->n_login_months > 0) {
        pack_key(&w, "lm");
        sk_mp_array(&w, (size_t)a->n_login_months);
        for (int i = 0; i < a->n_login_months; i++)
            sk_mp_int(&w, a->login_months[i]);
    }
    if (a->last_login_day != SK_ACCOUNT_NO_DAY) {
        pack_key(&w, "ll");
        sk_mp_int(&w, a->last_login_day);
    }
    if (a->api_call_seen) {
        pack_key(&w, "api");
        sk_mp_true(&w);
    }
    if (a->first_api_call_day != SK_ACCOUNT_NO_DAY) {
        pack_key(&w, "ad");
        sk_mp_int(&w, a->first_api_call_day);
    }
    if (a->n_features > 0) {
        pack_key(&w, "f");
        sk_mp_array(&w, 3 * (size_t)a->n_features);
        for (int i = 0; i < a->n_features; i++) {
            sk_mp_uint(&w, a->features[i].hash);
            sk_mp_int(&w, a->features[i].last_day);
            sk_mp_int(&w, a->features[i].first_day);
        }
    }
    if (a->n_people > 0) {
        pack_key(&w, "pe");
        sk_mp_array(&w, 3 * (size_t)a->n_people);
        for (int i = 0; i < a->n_people; i++) {
            sk_mp_uint(&w, a->people[i].hash);
            sk_mp_int(&w, a->people[i].last_day);
            sk_mp_uint(&w, a->people[i].kind);
        }
    }
    if (a->n_open_cancels > 0) {
        pack_key(&w, "oc");
        sk_mp_array(&w, (size_t)a->n_open_cancels);
        for (int i = 0; i < a->n_open_cancels; i++)
            sk_mp_int(&w, a->open_cancels[i]);
    }
    if (a->n_outreach > 0) {
        pack_key(&w, "or");
        sk_mp_array(&w, (size_t)a->n_outreach);
        for (int i = 0; i < a->n_outreach; i++)
            sk_mp_int(&w, a->outreach[i]);
    }
    if (a->last_response_ms != INT64_MIN) {
        pack_key(&w, "lr");
        sk_mp_int(&w, a->last_response_ms);
    }
    if (a->n_responses > 0) {
        pack_key(&w, "rs");
        sk_mp_array(&w, 2 * (size_t)a->n_responses);
        for (int i = 0; i < a->n_responses; i++) {
            sk_mp_int(&w, a->responses[i].day);
            sk_mp_float(&w, a->responses[i].hours);
        }
    }
    if (a->last_nps_ms != INT64_MIN) {
        pack_key(&w, "ln");
        sk_mp_int(&w, a->last_nps_ms);
    }
    if (a->last_nps != -1) {
        pack_key(&w, "nv");
        sk_mp_int(&w, a->last_nps);
    }
    if (a->high_since_ms != INT64_MIN) {
        pack_key(&w, "hs");
        sk_mp_int(&w, a->high_since_ms);
    }
    if (a->n_seen > 0) {
        int oldest = seen_oldest(a);
        pack_key(&w, "s");
        sk_mp_array(&w, 2 * (size_t)a->n_seen);
        for (int i = 0; i < a->n_seen; i++) {
            const sk_seen_id_t *s = &a->seen[(oldest + i) % a->cap_seen];
            sk_mp_uint(&w, s->hash);
            sk_mp_int(&w, s->ts_ms);
        }
    }
    if (a->n_positions > 0) {
        pack_key(&w, "po");
        sk_mp_array(&w, 3 * (size_t)a->n_positions);
        for (int i = 0; i < a->n_positions; i++) {
            const sk_position_t *p = &a->positions[i];
            pack_key(&w, p->topic);
            sk_mp_int(&w, p->partition);
            sk_mp_int(&w, p->offset);
        }
    }
    if (!reported_empty(&a->reported)) {
        pack_key(&w, "r");
        pack_reported(&w, &a->reported);
    }
    return w.oom ? SK_ERR : SK_OK;
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct dec {
    sk_mp_reader_t r;
    const uint8_t *start;
    const char *key; /* the field being read, for messages */
    int max_seen;    /* rules->dedup_max_ids */
    int version;     /* format version of the blob */
    char *errstr;
    size_t errlen;
} dec_t;

static int dec_fail(dec_t *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int dec_fail(dec_t *d, const char *fmt, ...)
{
    char what[160];
    size_t at = (size_t)(d->r.p - d->start);
    va_list ap;
    if (!d->errstr || d->errlen == 0)
        return SK_ERR;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (d->key)
        snprintf(d->errstr, d->errlen, "state blob: \"%s\": %s (byte %zu)",
                 d->key, what, at);
    else
        snprintf(d->errstr, d->errlen, "state blob: %s (byte %zu)", what, at);
    return SK_ERR;
}

/* A failure of the reader, with its reason. */
static int dec_reader_fail(dec_t *d)
{
    return dec_fail(d, "%s", sk_mp_error_name(d->r.err));
}

static int read_i64(dec_t *d, int64_t min, int64_t max, int64_t *v)
{
    if (sk_mp_read_int(&d->r, v) != SK_OK)
        return dec_reader_fail(d);
    if (*v < min || *v > max)
        return dec_fail(d, "%lld is out of range", (long long)*v);
    return SK_OK;
}

static int read_u64(dec_t *d, uint64_t max, uint64_t *v)
{
    if (sk_mp_read_uint(&d->r, v) != SK_OK)
        return dec_reader_fail(d);
    if (*v > max)
        return dec_fail(d, "%llu is out of range", (unsigned long long)*v);
    return SK_OK;
}

static int read_i32(dec_t *d, int32_t *v)
{
    int64_t x;
    if (read_i64(d, INT32_MIN, INT32_MAX, &x) != SK_OK)
        return SK_ERR;
    *v = (int32_t)x;
    return SK_OK;
}

static int read_finite(dec_t *d, double *v)
{
    if (sk_mp_read_number(&d->r, v) != SK_OK)
        return dec_reader_fail(d);
    if (!isfinite(*v))
        return dec_fail(d, "not a finite number");
    return SK_OK;
}

/*
 * An array of @p stride-value records, at most @p max records: sets *n
 * to the record count.
 */
static int read_records(dec_t *d, int stride, int max, int *n)
{
    uint32_t len;
    *n = 0;
    if (sk_mp_read_array(&d->r, (uint32_t)(stride * max), &len) != SK_OK) {
        if (d->r.err == SK_MP_E_LIMIT)
            return dec_fail(d, "more than %d entries", max);
        return dec_reader_fail(d);
    }
    if (len % (uint32_t)stride != 0)
        return dec_fail(d, "%u values is not a multiple of %d", len, stride);
    *n = (int)(len / (uint32_t)stride);
    return SK_OK;
}

/*
 * Room for the @p n records of a set about to be read: an array of @p n
 * entries of @p size bytes, zeroed, or NULL when @p n is 0.  Sets *@p ok
 * to false (with the message) if out of memory.
 */
static void *alloc_records(dec_t *d, int n, size_t size, bool *ok)
{
    void *v;
    *ok = true;
    if (n == 0)
        return NULL;
    if (!(v = calloc((size_t)n, size))) {
        *ok = false;
        dec_fail(d, "out of memory");
    }
    return v;
}

static int read_bucket(dec_t *d, sk_day_bucket_t *b)
{
    uint32_t len;
    uint64_t mask;
    char *base = (char *)b;
    if (sk_mp_read_array(&d->r, MAX_BUCKET_VALUES, &len) != SK_OK)
        return dec_reader_fail(d);
    if (len < 2)
        return dec_fail(d, "a day bucket has %u values, at least 2 needed",
                        len);
    if (read_i32(d, &b->day) != SK_OK || read_u64(d, UINT32_MAX, &mask))
        return SK_ERR;
    uint32_t used = 2;
    for (int i = 0; i < N_BUCKET_FIELDS; i++) {
        if (!((mask >> i) & 1))
            continue;
        if (used++ >= len)
            return dec_fail(d, "a day bucket is shorter than its mask says");
        char *p = base + bucket_fields[i].offset;
        uint64_t u;
        switch (bucket_fields[i].kind) {
        case B_U8:
            if (read_u64(d, UINT8_MAX, &u) != SK_OK)
                return SK_ERR;
            *(uint8_t *)p = (uint8_t)u;
            break;
        case B_U16:
            if (read_u64(d, UINT16_MAX, &u) != SK_OK)
                return SK_ERR;
            *(uint16_t *)p = (uint16_t)u;
            break;
        case B_U32:
            if (read_u64(d, UINT32_MAX, &u) != SK_OK)
                return SK_ERR;
            *(uint32_t *)p = (uint32_t)u;
            break;
        default:
            if (read_finite(d, (double *)p) != SK_OK)
                return SK_ERR;
            break;
        }
    }
    /* values of fields a newer writer added */
    for (; used < len; used++)
        if (sk_mp_skip(&d->r, SKIP_DEPTH) != SK_OK)
            return dec_reader_fail(d);
    return SK_OK;
}

static int read_days(dec_t *d, sk_account_t *a)
{
    uint32_t n;
    const uint32_t max = 2 * SK_RULES_MAX_WINDOW_DAYS;
    if (sk_mp_read_array(&d->r, max, &n) != SK_OK) {
        if (d->r.err == SK_MP_E_LIMIT)
            return dec_fail(d, "more than %u day buckets", max);
        return dec_reader_fail(d);
    }
    if (n == 0)
        return SK_OK;
    a->days = calloc(n, sizeof *a->days);
    if (!a->days)
        return dec_fail(d, "out of memory");
    a->cap_days = (int)n;
    for (uint32_t i = 0; i < n; i++) {
        if (read_bucket(d, &a->days[i]) != SK_OK)
            return SK_ERR;
        if (i > 0 && a->days[i].day <= a->days[i - 1].day)
            return dec_fail(d, "day buckets are not in ascending order");
        a->n_days = (int)i + 1;
    }
    return SK_OK;
}

static int read_ts_list(dec_t *d, int64_t **v, int *n, int *cap, int max)
{
    int count;
    bool ok;
    if (read_records(d, 1, max, &count) != SK_OK)
        return SK_ERR;
    *v = alloc_records(d, count, sizeof **v, &ok);
    if (!ok)
        return SK_ERR;
    *cap = count;
    for (int i = 0; i < count; i++) {
        if (read_i64(d, INT64_MIN, INT64_MAX, &(*v)[i]) != SK_OK)
            return SK_ERR;
        *n = i + 1;
    }
    return SK_OK;
}

/*
 * The id ring, oldest first in the blob, decoded into an array just big
 * enough (the engine grows it on demand up to rules->dedup_max_ids), the
 * newest ids kept if the blob holds more, laid out as if remembered one
 * by one, so encoding it again gives the same bytes.
 */
static int read_seen(dec_t *d, sk_account_t *a)
{
    int n = 0;
    if (read_records(d, 2, INT32_MAX / 2, &n) != SK_OK)
        return SK_ERR;
    int cap = n < 8 ? 8 : n;
    if (cap > d->max_seen)
        cap = d->max_seen;
    int skip = n > cap ? n - cap : 0;
    if (cap > 0) {
        free(a->seen);
        a->seen = calloc((size_t)cap, sizeof *a->seen);
        if (!a->seen)
            return dec_fail(d, "out of memory");
        a->cap_seen = cap;
    }
    for (int i = 0; i < n; i++) {
        uint64_t h;
        int64_t ts;
        if (read_u64(d, UINT64_MAX, &h) != SK_OK ||
            read_i64(d, INT64_MIN, INT64_MAX, &ts) != SK_OK)
            return SK_ERR;
        if (i < skip)
            continue;
        a->seen[i - skip].hash = h;
        a->seen[i - skip].ts_ms = ts;
    }
    a->n_seen = n - skip;
    a->seen_next = a->cap_seen ? a->n_seen % a->cap_seen : 0;
    return SK_OK;
}

static int read_positions(dec_t *d, sk_account_t *a)
{
    int n = 0;
    bool ok;
    if (read_records(d, 3, SK_ACCOUNT_MAX_POSITIONS, &n) != SK_OK)
        return SK_ERR;
    a->positions = alloc_records(d, n, sizeof *a->positions, &ok);
    if (!ok)
        return SK_ERR;
    a->cap_positions = n;
    for (int i = 0; i < n; i++) {
        sk_position_t *p = &a->positions[i];
        const char *s;
        uint32_t len;
        if (sk_mp_read_str(&d->r, &s, &len) != SK_OK)
            return dec_reader_fail(d);
        if (len == 0 || len > SK_TOPIC_MAX || memchr(s, '\0', len))
            return dec_fail(d, "a topic name is empty, too long or has NUL");
        if (!(p->topic = malloc(len + 1)))
            return dec_fail(d, "out of memory");
        memcpy(p->topic, s, len);
        p->topic[len] = '\0';
        /* counted now, so that sk_account_destroy() frees the topic */
        a->n_positions = i + 1;
        if (read_i32(d, &p->partition) != SK_OK ||
            read_i64(d, INT64_MIN, INT64_MAX, &p->offset) != SK_OK)
            return SK_ERR;
    }
    return SK_OK;
}

static int read_reported(dec_t *d, sk_reported_t *rep)
{
    uint32_t n;
    if (sk_mp_read_map(&d->r, MAX_KEYS, &n) != SK_OK)
        return dec_reader_fail(d);
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        uint32_t klen;
        int64_t v;
        if (sk_mp_read_str(&d->r, &k, &klen) != SK_OK)
            return dec_reader_fail(d);
        if (klen == 2 && memcmp(k, "st", 2) == 0) {
            if (read_i64(d, INT64_MIN, INT64_MAX, &rep->stage) != SK_OK)
                return SK_ERR;
        } else if (klen == 2 && memcmp(k, "et", 2) == 0) {
            if (read_i64(d, 0, SK_TIER__COUNT - 1, &v) != SK_OK)
                return SK_ERR;
            rep->eng_tier = (uint8_t)v;
        } else if (klen == 2 && memcmp(k, "sg", 2) == 0) {
            if (read_i64(d, 0, SK_SEGMENT__COUNT - 1, &v) != SK_OK)
                return SK_ERR;
            rep->segment = (uint8_t)v;
        } else if (klen == 1 && k[0] == 'h') {
            if (read_i64(d, 0, SK_HEALTH__COUNT - 1, &v) != SK_OK)
                return SK_ERR;
            rep->health = (uint8_t)v;
        } else if (klen == 2 && memcmp(k, "fl", 2) == 0) {
            if (read_i64(d, 0, (INT64_C(1) << SK_FLAG__COUNT) - 1, &v) != SK_OK)
                return SK_ERR;
            rep->flags = (uint32_t)v;
        } else if (klen == 2 && memcmp(k, "fs", 2) == 0) {
            int nfs;
            if (read_records(d, 2, SK_FLAG__COUNT, &nfs) != SK_OK)
                return SK_ERR;
            for (int j = 0; j < nfs; j++) {
                int64_t flag;
                if (read_i64(d, 0, SK_FLAG__COUNT - 1, &flag) != SK_OK ||
                    read_i64(d, INT64_MIN, INT64_MAX, &rep->flag_since[flag]) !=
                        SK_OK)
                    return SK_ERR;
            }
        } else if (sk_mp_skip(&d->r, SKIP_DEPTH) != SK_OK) {
            return dec_reader_fail(d);
        }
    }
    return SK_OK;
}

/* Every key of format 1, with a bit each to refuse a repeated key. */
enum key {
    KEY_ID,
    KEY_C,
    KEY_U,
    KEY_P,
    KEY_N,
    KEY_PT,
    KEY_D,
    KEY_LM,
    KEY_LL,
    KEY_API,
    KEY_AD,
    KEY_F,
    KEY_PE,
    KEY_OC,
    KEY_OR,
    KEY_LR,
    KEY_RS,
    KEY_LN,
    KEY_NV,
    KEY_HS,
    KEY_S,
    KEY_SN,
    KEY_PO,
    KEY_R,
    KEY__COUNT
};
static const char *const key_names[KEY__COUNT] = {
    "id", "c",  "u",  "p",  "n",  "pt", "d",  "lm", "ll", "api", "ad", "f", "pe",
    "oc", "or", "lr", "rs", "ln", "nv", "hs", "s",  "sn", "po",  "r",
};

static int key_index(const char *s, uint32_t len)
{
    for (int i = 0; i < KEY__COUNT; i++)
        if (strlen(key_names[i]) == len && memcmp(key_names[i], s, len) == 0)
            return i;
    return -1;
}

/* Read the value of key @p k into @p a. */
static int read_field(dec_t *d, sk_account_t *a, int k, int64_t *seen_next)
{
    int64_t v;
    int n = 0;
    bool b, ok;
    switch (k) {
    case KEY_ID: {
        const char *s;
        uint32_t len;
        if (sk_mp_read_str(&d->r, &s, &len) != SK_OK)
            return dec_reader_fail(d);
        if (!sk_account_id_valid(s, len))
            return dec_fail(d, "not a valid account id");
        memcpy(a->id, s, len);
        a->id[len] = '\0';
        return SK_OK;
    }
    case KEY_C:
        return read_i64(d, INT64_MIN, INT64_MAX, &a->clock_ms);
    case KEY_U:
        return read_i64(d, INT64_MIN, INT64_MAX, &a->updated_ms);
    case KEY_P:
        return read_i64(d, INT64_MIN, INT64_MAX, &a->points);
    case KEY_N:
        return read_u64(d, UINT64_MAX, &a->events_applied);
    case KEY_PT:
        if (read_records(d, 2, SK_EV__COUNT, &n) != SK_OK)
            return SK_ERR;
        for (int i = 0; i < n; i++) {
            int64_t t;
            if (read_i64(d, 0, SK_EV__COUNT - 1, &t) != SK_OK ||
                read_i64(d, INT64_MIN, INT64_MAX, &a->points_by_type[t]) !=
                    SK_OK)
                return SK_ERR;
        }
        return SK_OK;
    case KEY_D:
        return read_days(d, a);
    case KEY_LM:
        if (read_records(d, 1, SK_ACCOUNT_MAX_MONTHS, &n) != SK_OK)
            return SK_ERR;
        a->login_months = alloc_records(d, n, sizeof *a->login_months, &ok);
        if (!ok)
            return SK_ERR;
        a->cap_login_months = n;
        for (int i = 0; i < n; i++) {
            if (read_i32(d, &a->login_months[i]) != SK_OK)
                return SK_ERR;
            if (i > 0 && a->login_months[i] <= a->login_months[i - 1])
                return dec_fail(d, "months are not in ascending order");
            a->n_login_months = i + 1;
        }
        return SK_OK;
    case KEY_LL:
        return read_i32(d, &a->last_login_day);
    case KEY_API:
        if (sk_mp_read_bool(&d->r, &b) != SK_OK)
            return dec_reader_fail(d);
        a->api_call_seen = b;
        return SK_OK;
    case KEY_AD:
        return read_i32(d, &a->first_api_call_day);
    case KEY_F: {
        /* Format 1 knew no first day: the last one is the best known. */
        int stride = d->version >= 2 ? 3 : 2;
        if (read_records(d, stride, SK_ACCOUNT_MAX_FEATURES, &n) != SK_OK)
            return SK_ERR;
        a->features = alloc_records(d, n, sizeof *a->features, &ok);
        if (!ok)
            return SK_ERR;
        a->cap_features = n;
        for (int i = 0; i < n; i++) {
            sk_feature_use_t *f = &a->features[i];
            if (read_u64(d, UINT64_MAX, &f->hash) != SK_OK ||
                read_i32(d, &f->last_day) != SK_OK)
                return SK_ERR;
            f->first_day = f->last_day;
            if (stride == 3 && read_i32(d, &f->first_day) != SK_OK)
                return SK_ERR;
            a->n_features = i + 1;
        }
        return SK_OK;
    }
    case KEY_PE:
        if (read_records(d, 3, SK_ACCOUNT_MAX_PEOPLE, &n) != SK_OK)
            return SK_ERR;
        a->people = alloc_records(d, n, sizeof *a->people, &ok);
        if (!ok)
            return SK_ERR;
        a->cap_people = n;
        for (int i = 0; i < n; i++) {
            sk_person_t *p = &a->people[i];
            if (read_u64(d, UINT64_MAX, &p->hash) != SK_OK ||
                read_i32(d, &p->last_day) != SK_OK ||
                read_i64(d, 0, SK_PERSON__COUNT - 1, &v) != SK_OK)
                return SK_ERR;
            p->kind = (uint8_t)v;
            a->n_people = i + 1;
        }
        return SK_OK;
    case KEY_OC:
        return read_ts_list(d, &a->open_cancels, &a->n_open_cancels,
                            &a->cap_open_cancels, SK_ACCOUNT_MAX_CANCELS);
    case KEY_OR:
        return read_ts_list(d, &a->outreach, &a->n_outreach, &a->cap_outreach,
                            SK_ACCOUNT_MAX_OUTREACH);
    case KEY_LR:
        return read_i64(d, INT64_MIN, INT64_MAX, &a->last_response_ms);
    case KEY_RS:
        if (read_records(d, 2, SK_ACCOUNT_MAX_RESPONSES, &n) != SK_OK)
            return SK_ERR;
        a->responses = alloc_records(d, n, sizeof *a->responses, &ok);
        if (!ok)
            return SK_ERR;
        a->cap_responses = n;
        for (int i = 0; i < n; i++) {
            double h;
            if (read_i32(d, &a->responses[i].day) != SK_OK ||
                read_finite(d, &h) != SK_OK)
                return SK_ERR;
            if (fabs(h) > 3.0e38)
                return dec_fail(d, "%g hours is out of range", h);
            a->responses[i].hours = (float)h;
            a->n_responses = i + 1;
        }
        return SK_OK;
    case KEY_LN:
        return read_i64(d, INT64_MIN, INT64_MAX, &a->last_nps_ms);
    case KEY_NV:
        if (read_i64(d, -1, 10, &v) != SK_OK)
            return SK_ERR;
        a->last_nps = (int)v;
        return SK_OK;
    case KEY_HS:
        return read_i64(d, INT64_MIN, INT64_MAX, &a->high_since_ms);
    case KEY_S:
        return read_seen(d, a);
    case KEY_SN:
        return read_i64(d, 0, INT32_MAX, seen_next);
    case KEY_PO:
        return read_positions(d, a);
    case KEY_R:
        return read_reported(d, &a->reported);
    default:
        if (sk_mp_skip(&d->r, SKIP_DEPTH) != SK_OK)
            return dec_reader_fail(d);
        return SK_OK;
    }
}

/* Formats 1 and 2 share their keys; read_field() minds the difference. */
static int decode_fields(dec_t *d, sk_account_t *a)
{
    uint32_t n;
    uint32_t seen_keys = 0;
    int64_t seen_next = -1;
    if (sk_mp_read_map(&d->r, MAX_KEYS, &n) != SK_OK)
        return dec_reader_fail(d);
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        uint32_t len;
        d->key = NULL;
        if (sk_mp_read_str(&d->r, &s, &len) != SK_OK)
            return dec_reader_fail(d);
        int k = key_index(s, len);
        if (k >= 0) {
            d->key = key_names[k];
            if (seen_keys & (1u << k))
                return dec_fail(d, "the key appears twice");
            seen_keys |= 1u << k;
        }
        if (read_field(d, a, k, &seen_next) != SK_OK)
            return SK_ERR;
    }
    d->key = NULL;
    if (!(seen_keys & (1u << KEY_ID)))
        return dec_fail(d, "no account id");
    return SK_OK;
}

sk_account_t *sk_state_decode(const void *buf, size_t len,
                              const sk_rules_t *rules, char *errstr,
                              size_t errlen)
{
    dec_t d;
    uint32_t n;
    int64_t version;
    sk_account_t *a = NULL;

    memset(&d, 0, sizeof d);
    d.errstr = errstr;
    d.errlen = errlen;
    d.start = buf;
    sk_mp_reader_init(&d.r, buf, len);
    if (len > SK_STATE_MAX_BYTES) {
        dec_fail(&d, "%zu bytes, at most %d accepted", len, SK_STATE_MAX_BYTES);
        goto fail;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        dec_fail(&d, "out of memory");
        goto fail;
    }
    a->last_login_day = SK_ACCOUNT_NO_DAY;
    a->first_api_call_day = SK_ACCOUNT_NO_DAY;
    a->last_response_ms = INT64_MIN;
    a->last_nps_ms = INT64_MIN;
    a->last_nps = -1;
    a->high_since_ms = INT64_MIN;
    d.max_seen = rules->dedup_max_ids;

    if (sk_mp_read_array(&d.r, 64, &n) != SK_OK) {
        dec_reader_fail(&d);
        goto fail;
    }
    if (n < 2) {
        dec_fail(&d, "not a [version, fields] array");
        goto fail;
    }
    if (read_i64(&d, INT64_MIN, INT64_MAX, &version) != SK_OK)
        goto fail;
    switch (version) {
    case 1:
    case 2:
        d.version = (int)version;
        if (decode_fields(&d, a) != SK_OK)
            goto fail;
        break;
    default:
        dec_fail(&d,
                 "format version %lld is not supported (this build "
                 "reads 1 to %d)",
                 (long long)version, SK_STATE_FORMAT_VERSION);
        goto fail;
    }
    for (uint32_t i = 2; i < n; i++) {
        if (sk_mp_skip(&d.r, SKIP_DEPTH) != SK_OK) {
            dec_reader_fail(&d);
            goto fail;
        }
    }
    if (sk_mp_remaining(&d.r) > 0) {
        dec_fail(&d, "%zu trailing bytes", sk_mp_remaining(&d.r));
        goto fail;
    }
    return a;

fail:
    sk_account_destroy(a);
    return NULL;
}
