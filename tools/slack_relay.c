/*
 * slack_relay.c - scorekeeper-slack-relay: reads the alerts topic and
 * posts one Slack Block Kit message per alert to an incoming webhook.
 *
 * DESIGN
 * The relay is an ordinary subscriber of the alert JSON documented in
 * schemas/alert.schema.json; it does not link the scoring core, so it
 * keeps working across core changes that leave the wire format alone.
 *
 * Delivery is at least once, then deduplicated.  Offsets are stored by
 * hand (enable.auto.offset.store=false) and only once a message is done
 * with: posted with a 2xx answer, or deliberately skipped (filtered out,
 * already posted, not an alert).  librdkafka's auto-commit then commits
 * the stored offsets in the background and on close, so a crash or a
 * restart resumes at the first alert Slack has not accepted.  A failed
 * post is retried with capped exponential backoff (Slack's Retry-After
 * wins when it is longer) and blocks the partition meanwhile: the alerts
 * stay in order and the consumer lag shows the outage.  Alert ids are a
 * hash of what caused the alert, so the ids of recent posts are kept in a
 * bounded LRU set and a repeat (a producer retry, a redelivery after a
 * rebalance) is dropped.
 *
 * Personal data can be left out: --redact-personal removes the user and
 * dept fields, --redact removes any other named fields, and the values of
 * removed fields are also scrubbed from the remaining text (the reason
 * line quotes its evidence).  The webhook URL's path is the secret and is
 * never logged.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#define PROG "scorekeeper-slack-relay"

#ifndef SK_VERSION
#define SK_VERSION "0"
#endif

/* Slack's limits on Block Kit text objects. */
#define HEADER_MAX 150
#define SECTION_MAX 3000
#define FIELD_MAX 2000
#define FALLBACK_MAX 4000

#define MAX_REDACT 32
#define ID_MAX 64

static volatile sig_atomic_t running = 1;
static int verbose;

static void on_signal(int sig)
{
    (void)sig;
    running = 0;
}

static void logmsg(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logmsg(const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: ", PROG, level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

typedef struct relay_opts {
    const char *brokers; /**< bootstrap servers */
    const char *topic;   /**< alerts topic */
    const char *group;   /**< consumer group id */
    const char *webhook; /**< the webhook URL (secret) */
    char **props;        /**< -X key=value, borrowed from argv */
    int nprops;
    unsigned kinds;           /**< bit per known kind; 0 = all */
    int min_severity;         /**< 0 = any, 1 = yellow and up, 2 = red */
    bool redact_personal;     /**< drop user and dept */
    char *redact[MAX_REDACT]; /**< further fields to drop, owned */
    int nredact;
    long timeout_ms;     /**< one HTTP request */
    long backoff_min_ms; /**< first retry delay */
    long backoff_max_ms; /**< cap of the retry delay */
    long max_attempts;   /**< per alert; 0 = until it succeeds */
    long dedupe_size;    /**< ids remembered */
    bool dry_run;        /**< print the messages, post nothing */
} relay_opts_t;

static const char *const kind_names[] = {
    "stage_crossed",   "health_changed", "engagement_tier_changed",
    "segment_changed", "flag_raised",    "flag_cleared",
};
#define NKINDS (int)(sizeof kind_names / sizeof kind_names[0])

static int kind_index(const char *name)
{
    for (int i = 0; i < NKINDS; i++)
        if (strcmp(kind_names[i], name) == 0)
            return i;
    return -1;
}

/* 2 red, 1 yellow, 0 anything else (or none). */
static int severity_rank(const char *name)
{
    if (!name)
        return 0;
    if (strcmp(name, "red") == 0)
        return 2;
    if (strcmp(name, "yellow") == 0)
        return 1;
    return 0;
}

static int parse_kinds(const char *list, unsigned *kinds)
{
    char *copy = strdup(list);
    int status = -1;
    if (!copy)
        goto cleanup;
    *kinds = 0;
    char *save = NULL;
    for (char *k = strtok_r(copy, ",", &save); k;
         k = strtok_r(NULL, ",", &save)) {
        int i = kind_index(k);
        if (i < 0) {
            logmsg("error", "--kinds: unknown alert kind '%s'", k);
            goto cleanup;
        }
        *kinds |= 1u << i;
    }
    status = *kinds ? 0 : -1;
cleanup:
    free(copy);
    return status;
}

static int parse_redact(const char *list, relay_opts_t *o)
{
    char *copy = strdup(list);
    int status = -1;
    if (!copy)
        goto cleanup;
    char *save = NULL;
    for (char *f = strtok_r(copy, ",", &save); f;
         f = strtok_r(NULL, ",", &save)) {
        if (o->nredact == MAX_REDACT) {
            logmsg("error", "--redact: at most %d fields", MAX_REDACT);
            goto cleanup;
        }
        if (!(o->redact[o->nredact] = strdup(f)))
            goto cleanup;
        o->nredact++;
    }
    status = 0;
cleanup:
    free(copy);
    return status;
}

static int parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* A bounded LRU set of alert ids                                      */

typedef struct id_entry {
    char id[ID_MAX + 1];
    uint32_t prev, next; /**< LRU list, most recent first */
    uint32_t chain;      /**< next entry in the same hash bucket */
} id_entry_t;

#define NIL UINT32_MAX

typedef struct idset {
    id_entry_t *e;    /**< owned, cap entries */
    uint32_t *bucket; /**< owned, nbuckets heads */
    uint32_t cap, n, nbuckets;
    uint32_t head, tail;
} idset_t;

static uint32_t id_hash(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return (uint32_t)(h ^ (h >> 32));
}

static void idset_destroy(idset_t *s)
{
    if (!s)
        return;
    free(s->e);
    free(s->bucket);
    free(s);
}

static idset_t *idset_new(uint32_t cap)
{
    idset_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cap = cap;
    s->nbuckets = 1;
    while (s->nbuckets < cap * 2)
        s->nbuckets <<= 1;
    s->e = calloc(cap, sizeof *s->e);
    s->bucket = malloc(s->nbuckets * sizeof *s->bucket);
    if (!s->e || !s->bucket) {
        idset_destroy(s);
        return NULL;
    }
    for (uint32_t i = 0; i < s->nbuckets; i++)
        s->bucket[i] = NIL;
    s->head = s->tail = NIL;
    return s;
}

static void lru_unlink(idset_t *s, uint32_t i)
{
    if (s->e[i].prev != NIL)
        s->e[s->e[i].prev].next = s->e[i].next;
    else
        s->head = s->e[i].next;
    if (s->e[i].next != NIL)
        s->e[s->e[i].next].prev = s->e[i].prev;
    else
        s->tail = s->e[i].prev;
}

static void lru_push_front(idset_t *s, uint32_t i)
{
    s->e[i].prev = NIL;
    s->e[i].next = s->head;
    if (s->head != NIL)
        s->e[s->head].prev = i;
    s->head = i;
    if (s->tail == NIL)
        s->tail = i;
}

/** @returns true when @p id is in the set, and marks it recently used. */
static bool idset_contains(idset_t *s, const char *id)
{
    for (uint32_t i = s->bucket[id_hash(id) & (s->nbuckets - 1)]; i != NIL;
         i = s->e[i].chain) {
        if (strcmp(s->e[i].id, id) == 0) {
            lru_unlink(s, i);
            lru_push_front(s, i);
            return true;
        }
    }
    return false;
}

/** Add @p id (at most ID_MAX bytes), evicting the least recently used. */
static void idset_add(idset_t *s, const char *id)
{
    if (idset_contains(s, id))
        return;
    uint32_t i;
    if (s->n < s->cap) {
        i = s->n++;
    } else {
        i = s->tail;
        lru_unlink(s, i);
        uint32_t *p = &s->bucket[id_hash(s->e[i].id) & (s->nbuckets - 1)];
        while (*p != i)
            p = &s->e[*p].chain;
        *p = s->e[i].chain;
    }
    snprintf(s->e[i].id, sizeof s->e[i].id, "%s", id);
    uint32_t *b = &s->bucket[id_hash(id) & (s->nbuckets - 1)];
    s->e[i].chain = *b;
    *b = i;
    lru_push_front(s, i);
}

/* ------------------------------------------------------------------ */
/* Text for Slack                                                      */

typedef struct strbuf {
    char *s; /**< owned, NUL-terminated */
    size_t len, cap;
    bool oom;
} strbuf_t;

static void sb_add(strbuf_t *b, const char *text, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(strbuf_t *b, const char *text)
{
    sb_add(b, text, strlen(text));
}

static void sb_printf(strbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(strbuf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Slack mrkdwn wants &, < and > escaped; nothing else is special. */
static void sb_mrkdwn(strbuf_t *b, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&':
            sb_puts(b, "&amp;");
            break;
        case '<':
            sb_puts(b, "&lt;");
            break;
        case '>':
            sb_puts(b, "&gt;");
            break;
        default:
            sb_add(b, p, 1);
        }
    }
}

/* Cut @p s to at most @p max bytes on a UTF-8 character boundary. */
static void utf8_truncate(char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return;
    size_t cut = max >= 3 ? max - 3 : 0;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(s + cut, cut + 3 < len ? "..." : "", 4);
}

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool jnum(const json_t *obj, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

/* The field as text: a string as is, a number or boolean printed. */
static bool jtext(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
    else
        return false;
    return true;
}

/* Fields of the alert schema; any other scalar is evidence. */
static bool is_schema_field(const char *key)
{
    static const char *const known[] = {
        "v",          "id",        "kind",          "account", "from",
        "to",         "flag",      "severity",      "ts",      "ts_ms",
        "event_id",   "reason",    "rules_version", "points",  "stage",
        "engagement", "eng_tier",  "customer",      "segment", "health",
        "play",       "sla_hours", "evidence",
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i], key) == 0)
            return true;
    return false;
}

/* "health watch → at_risk", "usage_drop raised", ... */
static void describe_change(const json_t *a, strbuf_t *b)
{
    const char *kind = jstr(a, "kind");
    char from[64] = "?", to[64] = "?", flag[64] = "flag";
    /* Stages are numbers; tiers and segments are names. */
    jtext(json_object_get(a, "from"), from, sizeof from);
    jtext(json_object_get(a, "to"), to, sizeof to);
    json_t *f = json_object_get(a, "flag");
    if (json_is_string(f))
        snprintf(flag, sizeof flag, "%s", json_string_value(f));
    else if (json_is_integer(f) && json_integer_value(f) >= 0)
        snprintf(flag, sizeof flag, "flag %" JSON_INTEGER_FORMAT,
                 json_integer_value(f));

    if (kind && strcmp(kind, "flag_raised") == 0) {
        sb_printf(b, "%s raised", flag);
        return;
    }
    if (kind && strcmp(kind, "flag_cleared") == 0) {
        sb_printf(b, "%s cleared", flag);
        return;
    }
    const char *what = kind ? kind : "alert";
    if (kind && strcmp(kind, "stage_crossed") == 0)
        what = "points stage";
    else if (kind && strcmp(kind, "health_changed") == 0)
        what = "health";
    else if (kind && strcmp(kind, "engagement_tier_changed") == 0)
        what = "engagement tier";
    else if (kind && strcmp(kind, "segment_changed") == 0)
        what = "segment";
    sb_printf(b, "%s %s \xe2\x86\x92 %s", what, from, to);
}

static json_t *text_obj(const char *type, const char *text)
{
    return json_pack("{s:s, s:s}", "type", type, "text", text);
}

static json_t *mrkdwn_field(const char *title, const char *value)
{
    strbuf_t b = {0};
    sb_printf(&b, "*%s*\n", title);
    sb_mrkdwn(&b, value);
    json_t *o = NULL;
    if (!b.oom && b.s) {
        utf8_truncate(b.s, FIELD_MAX);
        o = text_obj("mrkdwn", b.s);
    }
    free(b.s);
    return o;
}

static void add_evidence_line(strbuf_t *b, const char *key, const json_t *v)
{
    char text[512];
    if (!jtext(v, text, sizeof text))
        return;
    sb_puts(b, "\n*");
    sb_mrkdwn(b, key);
    sb_puts(b, ":* ");
    sb_mrkdwn(b, text);
}

/**
 * @brief The Slack message for @p a.
 * @returns a new JSON object the caller releases with json_decref(), or
 *          NULL when out of memory.
 */
static json_t *render_alert(const json_t *a)
{
    strbuf_t change = {0}, head = {0}, reason = {0}, fallback = {0}, ctx = {0};
    json_t *msg = NULL, *blocks = NULL, *fields = NULL;
    const char *account = jstr(a, "account");
    const char *kind = jstr(a, "kind");
    const char *sev = jstr(a, "severity");
    char buf[128];
    double x, y;

    if (!account)
        account = "(account withheld)";
    describe_change(a, &change);

    const char *icon = severity_rank(sev) == 2   ? ":red_circle:"
                       : severity_rank(sev) == 1 ? ":large_yellow_circle:"
                                                 : ":white_circle:";
    if (kind && strcmp(kind, "flag_cleared") == 0)
        icon = ":white_check_mark:";
    sb_printf(&head, "%s %s: %s", icon, account, change.s ? change.s : "");

    sb_puts(&reason, "*Reason:* ");
    sb_mrkdwn(&reason, jstr(a, "reason") ? jstr(a, "reason") : "(none)");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v)
    {
        if (!is_schema_field(key))
            add_evidence_line(&reason, key, v);
    }
    json_t *ev = json_object_get(a, "evidence");
    if (json_is_object(ev)) {
        json_object_foreach(ev, key, v)
        {
            add_evidence_line(&reason, key, v);
        }
    }

    sb_mrkdwn(&fallback, account);
    sb_puts(&fallback, ": ");
    sb_mrkdwn(&fallback, change.s ? change.s : "");
    if (jstr(a, "reason")) {
        sb_puts(&fallback, " \xe2\x80\x94 ");
        sb_mrkdwn(&fallback, jstr(a, "reason"));
    }

    sb_puts(&ctx, "alert `");
    sb_mrkdwn(&ctx, jstr(a, "id") ? jstr(a, "id") : "?");
    sb_puts(&ctx, "`");
    if (jstr(a, "ts")) {
        sb_puts(&ctx, " \xc2\xb7 ");
        sb_mrkdwn(&ctx, jstr(a, "ts"));
    }
    if (jstr(a, "event_id") && *jstr(a, "event_id")) {
        sb_puts(&ctx, " \xc2\xb7 event `");
        sb_mrkdwn(&ctx, jstr(a, "event_id"));
        sb_puts(&ctx, "`");
    } else {
        sb_puts(&ctx, " \xc2\xb7 at midnight");
    }
    if (jstr(a, "rules_version")) {
        sb_puts(&ctx, " \xc2\xb7 rules ");
        sb_mrkdwn(&ctx, jstr(a, "rules_version"));
    }
    if (head.oom || reason.oom || fallback.oom || ctx.oom || change.oom ||
        !head.s || !reason.s || !fallback.s || !ctx.s)
        goto cleanup;
    utf8_truncate(head.s, HEADER_MAX);
    utf8_truncate(reason.s, SECTION_MAX);
    utf8_truncate(fallback.s, FALLBACK_MAX);
    utf8_truncate(ctx.s, SECTION_MAX);

    if (!(fields = json_array()))
        goto cleanup;
    json_array_append_new(
        fields,
        mrkdwn_field("Play", jstr(a, "play") ? jstr(a, "play") : "(none)"));
    if (jnum(a, "sla_hours", &x) && x >= 0)
        snprintf(buf, sizeof buf, "%.0f h", x);
    else
        snprintf(buf, sizeof buf, "none");
    json_array_append_new(fields, mrkdwn_field("SLA", buf));
    json_array_append_new(
        fields,
        mrkdwn_field("Health", jstr(a, "health") ? jstr(a, "health") : "?"));
    if (jnum(a, "points", &x) && jnum(a, "stage", &y))
        snprintf(buf, sizeof buf, "%.0f (stage %.0f)", x, y);
    else
        snprintf(buf, sizeof buf, "?");
    json_array_append_new(fields, mrkdwn_field("Points", buf));
    if (jnum(a, "engagement", &x))
        snprintf(buf, sizeof buf, "%.1f (%s)", x,
                 jstr(a, "eng_tier") ? jstr(a, "eng_tier") : "?");
    else
        snprintf(buf, sizeof buf, "?");
    json_array_append_new(fields, mrkdwn_field("Engagement", buf));
    if (jnum(a, "customer", &x))
        snprintf(buf, sizeof buf, "%.1f (%s)", x,
                 jstr(a, "segment") ? jstr(a, "segment") : "?");
    else
        snprintf(buf, sizeof buf, "?");
    json_array_append_new(fields, mrkdwn_field("Customer score", buf));

    blocks = json_pack("[{s:s, s:o}, {s:s, s:o}, {s:s, s:O}, {s:s, s:[o]}]",
                       "type", "header", "text",
                       json_pack("{s:s, s:s, s:b}", "type", "plain_text",
                                 "text", head.s, "emoji", 1),
                       "type", "section", "text", text_obj("mrkdwn", reason.s),
                       "type", "section", "fields", fields, "type", "context",
                       "elements", text_obj("mrkdwn", ctx.s));
    if (!blocks || json_array_size(fields) != 6)
        goto cleanup;
    msg = json_pack("{s:s, s:O}", "text", fallback.s, "blocks", blocks);
cleanup:
    json_decref(fields);
    json_decref(blocks);
    free(change.s);
    free(head.s);
    free(reason.s);
    free(fallback.s);
    free(ctx.s);
    return msg;
}

/* ------------------------------------------------------------------ */
/* Redaction                                                           */

static bool is_redacted(const relay_opts_t *o, const char *key)
{
    if (o->redact_personal &&
        (strcmp(key, "user") == 0 || strcmp(key, "dept") == 0))
        return true;
    for (int i = 0; i < o->nredact; i++)
        if (strcmp(o->redact[i], key) == 0)
            return true;
    return false;
}

/* Replace every occurrence of @p needle in the string @p v. */
static void scrub_string(json_t *v, const char *needle)
{
    const char *s = json_string_value(v);
    size_t nlen = strlen(needle);
    if (!s || nlen < 2 || !strstr(s, needle))
        return;
    strbuf_t b = {0};
    const char *p = s, *hit;
    while ((hit = strstr(p, needle))) {
        sb_add(&b, p, (size_t)(hit - p));
        sb_puts(&b, "[redacted]");
        p = hit + nlen;
    }
    sb_puts(&b, p);
    if (!b.oom && b.s)
        json_string_set(v, b.s);
    free(b.s);
}

static void scrub_object(json_t *obj, const char *needle)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (json_is_string(v))
            scrub_string(v, needle);
        else if (json_is_object(v))
            scrub_object(v, needle);
    }
}

/*
 * Remove the redacted fields from @p obj and from its "evidence" object,
 * and scrub their string values from all remaining text.
 */
static void redact_alert(const relay_opts_t *o, json_t *alert)
{
    if (!o->redact_personal && o->nredact == 0)
        return;
    json_t *removed = json_array();
    json_t *targets[2] = {alert, json_object_get(alert, "evidence")};
    for (int t = 0; t < 2; t++) {
        if (!json_is_object(targets[t]))
            continue;
        const char *key;
        json_t *v, *tmp;
        json_object_foreach_safe(targets[t], tmp, key, v)
        {
            if (!is_redacted(o, key))
                continue;
            if (json_is_string(v))
                json_array_append(removed, v);
            json_object_del(targets[t], key);
        }
    }
    size_t i;
    json_t *v;
    json_array_foreach(removed, i, v)
    {
        scrub_object(alert, json_string_value(v));
    }
    json_decref(removed);
}

/* ------------------------------------------------------------------ */
/* Posting                                                             */

typedef struct poster {
    CURL *curl;
    struct curl_slist *headers;
    const char *url;
    char shown_url[256]; /**< the URL without its secret path */
    char reply[512];     /**< start of the last response body */
    size_t reply_len;
} poster_t;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    poster_t *p = arg;
    size_t len = size * n;
    size_t room = sizeof p->reply - 1 - p->reply_len;
    size_t take = len < room ? len : room;
    memcpy(p->reply + p->reply_len, data, take);
    p->reply_len += take;
    p->reply[p->reply_len] = '\0';
    return len;
}

/* "https://hooks.slack.com/services/T0/B0/xyz" -> "https://hooks.slack.com/..." */
static void hide_url_secret(const char *url, char *out, size_t len)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t keep = (size_t)(host - url) + strcspn(host, "/?#");
    if (keep >= len)
        keep = len - 1;
    snprintf(out, len, "%.*s%s", (int)keep, url, url[keep] ? "/..." : "");
}

static int poster_init(poster_t *p, const relay_opts_t *o)
{
    memset(p, 0, sizeof *p);
    p->url = o->webhook;
    hide_url_secret(o->webhook, p->shown_url, sizeof p->shown_url);
    p->curl = curl_easy_init();
    p->headers = curl_slist_append(
        NULL, "Content-Type: application/json; charset=utf-8");
    if (!p->curl || !p->headers)
        return -1;
    curl_easy_setopt(p->curl, CURLOPT_URL, o->webhook);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(p->curl, CURLOPT_USERAGENT, PROG "/" SK_VERSION);
    curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, p);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    return 0;
}

static void poster_free(poster_t *p)
{
    curl_slist_free_all(p->headers);
    if (p->curl)
        curl_easy_cleanup(p->curl);
}

/**
 * @brief POST @p body once.
 * @returns the HTTP status, or 0 when there was no answer (the reason in
 *          @p why); @p retry_after_s receives Slack's Retry-After, or 0.
 */
static long post_once(poster_t *p, const char *body, char *why, size_t len,
                      long *retry_after_s)
{
    long status = 0;
    p->reply_len = 0;
    p->reply[0] = '\0';
    *retry_after_s = 0;
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    CURLcode rc = curl_easy_perform(p->curl);
    if (rc != CURLE_OK) {
        snprintf(why, len, "%s", curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
#if LIBCURL_VERSION_NUM >= 0x074200
    curl_off_t ra = 0;
    if (curl_easy_getinfo(p->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
        ra > 0)
        *retry_after_s = ra > 3600 ? 3600 : (long)ra;
#endif
    /* Slack explains a refusal in a short plain-text body. */
    snprintf(why, len, "HTTP %ld %.*s", status, 120, p->reply);
    for (char *c = why; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return status;
}

/* Sleep @p ms in short steps, returning early when asked to stop. */
static void sleep_ms(long ms)
{
    while (ms > 0 && running) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* ------------------------------------------------------------------ */
/* The relay                                                           */

typedef enum outcome {
    DONE,    /**< posted or deliberately skipped: store the offset */
    STOPPED, /**< shutting down before it was posted */
    FAILED   /**< gave up after --max-attempts */
} outcome_t;

typedef struct relay {
    relay_opts_t *o;
    idset_t *seen;
    poster_t poster;
    /* counters, reported at exit */
    unsigned long posted, duplicates, filtered, invalid, failures;
} relay_t;

static outcome_t deliver(relay_t *r, const char *id, const char *body)
{
    long delay = r->o->backoff_min_ms;
    for (long attempt = 1;; attempt++) {
        char why[256];
        long retry_after_s;
        long status =
            post_once(&r->poster, body, why, sizeof why, &retry_after_s);
        if (status >= 200 && status < 300) {
            if (verbose || attempt > 1)
                logmsg("info", "alert %s posted (attempt %ld)", id, attempt);
            return DONE;
        }
        r->failures++;
        if (r->o->max_attempts && attempt >= r->o->max_attempts) {
            logmsg("error",
                   "alert %s: giving up after %ld attempts (%s); its offset "
                   "is not committed",
                   id, attempt, why);
            return FAILED;
        }
        long wait = delay;
        if (retry_after_s * 1000 > wait)
            wait = retry_after_s * 1000;
        logmsg("warning",
               "alert %s: post to %s failed (%s); retry %ld in %ld ms", id,
               r->poster.shown_url, why, attempt + 1, wait);
        sleep_ms(wait);
        if (!running)
            return STOPPED;
        delay =
            delay > r->o->backoff_max_ms / 2 ? r->o->backoff_max_ms : delay * 2;
    }
}

static outcome_t handle_message(relay_t *r, const rd_kafka_message_t *m)
{
    json_error_t jerr;
    json_t *alert = NULL, *msg = NULL;
    char *body = NULL;
    outcome_t out = DONE;

    alert = json_loadb(m->payload, m->len, 0, &jerr);
    const char *id = json_is_object(alert) ? jstr(alert, "id") : NULL;
    if (!id || !*id || strlen(id) > ID_MAX) {
        r->invalid++;
        logmsg("warning",
               "%s [%d] offset %" PRId64 ": not an alert (%s); "
               "skipped",
               rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset,
               !alert ? jerr.text : "no usable \"id\"");
        goto cleanup;
    }
    if (idset_contains(r->seen, id)) {
        r->duplicates++;
        if (verbose)
            logmsg("info", "alert %s already posted; skipped", id);
        goto cleanup;
    }
    const char *kind = jstr(alert, "kind");
    int k = kind ? kind_index(kind) : -1;
    if ((r->o->kinds && (k < 0 || !(r->o->kinds & (1u << k)))) ||
        severity_rank(jstr(alert, "severity")) < r->o->min_severity) {
        r->filtered++;
        goto cleanup;
    }

    char idcopy[ID_MAX + 1];
    snprintf(idcopy, sizeof idcopy, "%s", id);
    redact_alert(r->o, alert);
    msg = render_alert(alert);
    body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    if (!body) {
        logmsg("error", "alert %s: out of memory", idcopy);
        out = FAILED;
        goto cleanup;
    }
    if (r->o->dry_run) {
        printf("%s\n", body);
        fflush(stdout);
        r->posted++;
        goto cleanup;
    }
    out = deliver(r, idcopy, body);
    if (out == DONE) {
        r->posted++;
        idset_add(r->seen, idcopy);
    }
cleanup:
    free(body);
    json_decref(msg);
    json_decref(alert);
    return out;
}

static void store_offset(rd_kafka_t *rk, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt),
                                      m->partition)
        ->offset = m->offset + 1;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk, l);
    if (!err)
        err = l->elems[0].err;
    if (err)
        logmsg("warning", "%s [%d]: cannot store offset %" PRId64 ": %s",
               rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset + 1,
               rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Properties that load code or run commands are not accepted from -X. */
static bool prop_refused(const char *key)
{
    return strcmp(key, "plugin.library.paths") == 0 ||
           strcmp(key, "sasl.kerberos.kinit.cmd") == 0 ||
           strcmp(key, "ssl.engine.location") == 0;
}

static rd_kafka_t *make_consumer(const relay_opts_t *o)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *base[][2] = {
        {"bootstrap.servers", o->brokers},
        {"group.id", o->group},
        {"client.id", PROG},
        {"auto.offset.reset", "earliest"},
        {"enable.auto.commit", "true"},
        {"enable.partition.eof", "false"},
    };
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        if (rd_kafka_conf_set(conf, base[i][0], base[i][1], errstr,
                              sizeof errstr) != RD_KAFKA_CONF_OK)
            goto fail;
    for (int i = 0; i < o->nprops; i++) {
        char *kv = o->props[i];
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            snprintf(errstr, sizeof errstr, "-X %s: expected key=value", kv);
            goto fail;
        }
        *eq = '\0';
        bool refused = prop_refused(kv);
        rd_kafka_conf_res_t res =
            refused
                ? RD_KAFKA_CONF_INVALID
                : rd_kafka_conf_set(conf, kv, eq + 1, errstr, sizeof errstr);
        if (refused)
            snprintf(errstr, sizeof errstr,
                     "-X %s: property refused (it loads code or runs "
                     "commands)",
                     kv);
        *eq = '=';
        if (res != RD_KAFKA_CONF_OK)
            goto fail;
    }
    /* The delivery guarantee rests on these: not overridable. */
    if (rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK ||
        (o->dry_run &&
         rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                           sizeof errstr) != RD_KAFKA_CONF_OK))
        goto fail;

    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk)
        goto fail;
    rd_kafka_poll_set_consumer(rk);
    return rk;
fail:
    logmsg("error", "%s", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: " PROG " [options]\n\n"
        "Post each alert of the scorekeeper alerts topic to a Slack incoming\n"
        "webhook as one Block Kit message.  An alert's offset is committed "
        "only\nafter Slack answered 2xx; failed posts are retried with "
        "capped\nexponential backoff; an alert id already posted is "
        "skipped.\n\n"
        "Options:\n"
        "  -b, --brokers LIST        bootstrap servers (default "
        "$SCOREKEEPER_BROKERS,\n"
        "                            else localhost:9092)\n"
        "  -t, --topic NAME          alerts topic (default alerts)\n"
        "  -g, --group ID            consumer group (default " PROG ")\n"
        "  -X KEY=VALUE              librdkafka property (repeatable)\n"
        "  -w, --webhook-url URL     Slack webhook (default "
        "$SLACK_WEBHOOK_URL)\n"
        "      --kinds LIST          only these kinds, comma list of "
        "stage_crossed,\n"
        "                            health_changed, engagement_tier_changed,\n"
        "                            segment_changed, flag_raised, "
        "flag_cleared\n"
        "      --min-severity SEV    only alerts of severity SEV or worse: "
        "red|yellow\n"
        "      --redact-personal     leave out the user and dept fields\n"
        "      --redact LIST         leave out these fields too (comma "
        "list)\n"
        "      --timeout MS          per request (default 10000)\n"
        "      --backoff-min MS      first retry delay (default 1000)\n"
        "      --backoff-max MS      longest retry delay (default 60000)\n"
        "      --max-attempts N      give up on an alert after N attempts "
        "and exit 1,\n"
        "                            its offset uncommitted (default 0: "
        "retry forever)\n"
        "      --dedupe-size N       alert ids remembered (default 10000)\n"
        "      --dry-run             print the Slack messages on stdout; "
        "post and\n"
        "                            commit nothing\n"
        "  -v, --verbose             log every alert\n"
        "  -h, --help                this text\n"
        "\n"
        "Environment: SCOREKEEPER_BROKERS (--brokers), SLACK_WEBHOOK_URL\n"
        "(--webhook-url; prefer the variable: a command line is visible to\n"
        "every user, and the URL is a secret).  SIGTERM or SIGINT stops the\n"
        "relay; the offsets of the alerts posted so far are committed.\n"
        "\n"
        "Exit status: 0 stopped by a signal; 1 an alert was given up\n"
        "(--max-attempts), a fatal Kafka error, or a start-up failure; 2 "
        "usage\n"
        "(bad option, no webhook).\n");
}

int main(int argc, char **argv)
{
    enum {
        OPT_KINDS = 256,
        OPT_MIN_SEV,
        OPT_REDACT_PERSONAL,
        OPT_REDACT,
        OPT_TIMEOUT,
        OPT_BACKOFF_MIN,
        OPT_BACKOFF_MAX,
        OPT_MAX_ATTEMPTS,
        OPT_DEDUPE,
        OPT_DRY_RUN,
    };
    static const struct option options[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"group", required_argument, NULL, 'g'},
        {"webhook-url", required_argument, NULL, 'w'},
        {"kinds", required_argument, NULL, OPT_KINDS},
        {"min-severity", required_argument, NULL, OPT_MIN_SEV},
        {"redact-personal", no_argument, NULL, OPT_REDACT_PERSONAL},
        {"redact", required_argument, NULL, OPT_REDACT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"backoff-min", required_argument, NULL, OPT_BACKOFF_MIN},
        {"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
        {"max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS},
        {"dedupe-size", required_argument, NULL, OPT_DEDUPE},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    relay_opts_t o = {
        .brokers = getenv("SCOREKEEPER_BROKERS"),
        .topic = "alerts",
        .group = PROG,
        .webhook = getenv("SLACK_WEBHOOK_URL"),
        .timeout_ms = 10000,
        .backoff_min_ms = 1000,
        .backoff_max_ms = 60000,
        .dedupe_size = 10000,
    };
    relay_t r = {.o = &o};
    rd_kafka_t *rk = NULL;
    int status = 2;
    bool curl_ready = false;
    int c;

    if (!o.brokers || !*o.brokers)
        o.brokers = "localhost:9092";
    o.props = calloc((size_t)argc, sizeof *o.props);
    if (!o.props)
        goto cleanup;
    while ((c = getopt_long(argc, argv, "b:t:g:w:X:vh", options, NULL)) != -1) {
        switch (c) {
        case 'b':
            o.brokers = optarg;
            break;
        case 't':
            o.topic = optarg;
            break;
        case 'g':
            o.group = optarg;
            break;
        case 'w':
            o.webhook = optarg;
            break;
        case 'X':
            o.props[o.nprops++] = optarg;
            break;
        case OPT_KINDS:
            if (parse_kinds(optarg, &o.kinds) != 0)
                goto cleanup;
            break;
        case OPT_MIN_SEV:
            o.min_severity = severity_rank(optarg);
            if (!o.min_severity) {
                logmsg("error", "--min-severity: red or yellow, not '%s'",
                       optarg);
                goto cleanup;
            }
            break;
        case OPT_REDACT_PERSONAL:
            o.redact_personal = true;
            break;
        case OPT_REDACT:
            if (parse_redact(optarg, &o) != 0)
                goto cleanup;
            break;
        case OPT_TIMEOUT:
        case OPT_BACKOFF_MIN:
        case OPT_BACKOFF_MAX:
        case OPT_MAX_ATTEMPTS:
        case OPT_DEDUPE: {
            long *dst = c == OPT_TIMEOUT        ? &o.timeout_ms
                        : c == OPT_BACKOFF_MIN  ? &o.backoff_min_ms
                        : c == OPT_BACKOFF_MAX  ? &o.backoff_max_ms
                        : c == OPT_MAX_ATTEMPTS ? &o.max_attempts
                                                : &o.dedupe_size;
            long min = c == OPT_MAX_ATTEMPTS ? 0 : 1;
            if (parse_long(optarg, min, 100000000L, dst) != 0) {
                logmsg("error", "bad number '%s' (at least %ld)", optarg, min);
                goto cleanup;
            }
            break;
        }
        case OPT_DRY_RUN:
            o.dry_run = true;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage(stdout);
            status = 0;
            goto cleanup;
        default:
            usage(stderr);
            goto cleanup;
        }
    }
    if (optind < argc) {
        logmsg("error", "unexpected argument '%s'", argv[optind]);
        goto cleanup;
    }
    if (!o.dry_run && (!o.webhook || !*o.webhook)) {
        logmsg("error", "no webhook: give --webhook-url or set "
                        "SLACK_WEBHOOK_URL");
        goto cleanup;
    }
    if (o.backoff_max_ms < o.backoff_min_ms)
        o.backoff_max_ms = o.backoff_min_ms;

    status = 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        logmsg("error", "cannot initialise libcurl");
        goto cleanup;
    }
    curl_ready = true;
    if (!(r.seen = idset_new((uint32_t)o.dedupe_size)) ||
        (!o.dry_run && poster_init(&r.poster, &o) != 0)) {
        logmsg("error", "out of memory");
        goto cleanup;
    }
    if (!(rk = make_consumer(&o)))
        goto cleanup;
    rd_kafka_topic_partition_list_t *topics =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, o.topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        logmsg("error", "cannot subscribe to %s: %s", o.topic,
               rd_kafka_err2str(err));
        goto cleanup;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    logmsg("info", "relaying %s (group %s, brokers %s) to %s", o.topic, o.group,
           o.brokers, o.dry_run ? "stdout (dry run)" : r.poster.shown_url);
    status = 0;
    while (running) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err) {
            logmsg("warning", "consumer: %s", rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                status = 1;
                running = 0;
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        outcome_t out = handle_message(&r, m);
        if (out == DONE && !o.dry_run)
            store_offset(rk, m);
        if (out == FAILED) {
            status = 1;
            running = 0;
        }
        rd_kafka_message_destroy(m);
    }
    logmsg("info",
           "stopping: %lu posted, %lu duplicates, %lu filtered, %lu "
           "invalid, %lu failed attempts",
           r.posted, r.duplicates, r.filtered, r.invalid, r.failures);
cleanup:
    if (rk) {
        /* Commits the offsets stored so far. */
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    poster_free(&r.poster);
    idset_destroy(r.seen);
    if (curl_ready)
        curl_global_cleanup();
    for (int i = 0; i < o.nredact; i++)
        free(o.redact[i]);
    free(o.props);
    return status;
}
