/*
 * redis_store.c - accounts in Redis, over hiredis 0.14's blocking API.
 *
 * The layout is documented in redis_store.h and schemas/redis.md; the
 * key names are built here and nowhere else.
 *
 * DESIGN
 *  - One blocking connection with SO_RCVTIMEO/SO_SNDTIMEO set to the
 *    configured timeout (redisSetTimeout), so no call waits longer than
 *    that per read or write.
 *  - After any error (I/O, timeout, an error reply) the context is freed
 *    and the store is "disconnected".  The next call reconnects: at once
 *    after the first failure, then no sooner than a backoff that doubles
 *    from 100 ms up to 5 s.  A call made during the backoff fails fast
 *    with the last error, so the daemon's loop decides how to wait.
 *  - Writes are pipelined (redisAppendCommandArgv, then one
 *    redisGetReply per command), one round trip per phase of a flush.
 *  - An account hash is written by one script (EVALSHA) that compares
 *    `gen` with what the writer loaded and only then HSETs every field:
 *    state, readable scores and outbox change together or not at all.
 *  - Nothing here logs: errors go back to the caller in errstr, and never
 *    contain the password.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "redis_store.h"
#include "scorekeeper/model.h"
#include "scorekeeper/state_codec.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define KEY_MAX (64 + SK_ACCOUNT_MAX + 32)

/* Store the hash only if gen is what the writer loaded.
 * KEYS[1] account hash; ARGV[1] expected gen; ARGV[2] new gen;
 * ARGV[3] "1" when the fields include an outbox, "0" to delete it;
 * ARGV[4..] field, value pairs. */
static const char write_script[] =
    "local g = redis.call('HGET', KEYS[1], 'gen') or '0'\n"
    "if g ~= ARGV[1] then return 0 end\n"
    "if ARGV[3] == '0' then redis.call('HDEL', KEYS[1], 'outbox') end\n"
    "redis.call('HSET', KEYS[1], 'gen', ARGV[2], unpack(ARGV, 4))\n"
    "return 1\n";

/* Delete the outbox only if gen is still the one it was written at.
 * KEYS[1] account hash; ARGV[1] gen. */
static const char confirm_script[] =
    "local g = redis.call('HGET', KEYS[1], 'gen') or '0'\n"
    "if g ~= ARGV[1] then return 0 end\n"
    "redis.call('HDEL', KEYS[1], 'outbox')\n"
    "return 1\n";

struct sk_redis {
    sk_redis_opts_t opts; /**< how to connect */
    redisContext *ctx;    /**< open connection, NULL while disconnected */
    int backoff_ms;       /**< wait before the attempt after the next */
    int64_t next_try_ms;  /**< monotonic time of the next attempt */
    bool need_noeviction; /**< check maxmemory-policy on every connect */
    bool scripts_loaded;  /**< SCRIPT LOAD done on this connection */
    char write_sha[41];   /**< sha1 of write_script */
    char confirm_sha[41]; /**< sha1 of confirm_script */
    uint64_t connects;    /**< successful connections */
    char last_error[SK_ERRSTR_LEN]; /**< why the last call failed */
    msgpack_sbuffer blob;           /**< scratch for encoding state */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sk_redis_opts_default(sk_redis_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    snprintf(opts->host, sizeof opts->host, "127.0.0.1");
    opts->port = 6379;
    opts->db = 0;
    opts->timeout_ms = 2000;
    snprintf(opts->prefix, sizeof opts->prefix, "sk");
}

int sk_redis_opts_parse_addr(sk_redis_opts_t *opts, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    char *end;
    long port;
    size_t hlen;

    if (!colon || colon == addr)
        return SK_ERR;
    hlen = (size_t)(colon - addr);
    /* [::1]:6379 */
    if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') {
        addr++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof opts->host)
        return SK_ERR;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
        return SK_ERR;
    memcpy(opts->host, addr, hlen);
    opts->host[hlen] = '\0';
    opts->port = (int)port;
    return SK_OK;
}

/* ---- connection management ------------------------------------------ */

static void drop(sk_redis_t *r)
{
    int64_t now = mono_ms();

    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    r->scripts_loaded = false;
    r->next_try_ms = now + r->backoff_ms;
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (r->backoff_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MAX_MS;
}

/* Record an error, drop the connection, copy the message out. */
static int fail(sk_redis_t *r, char *errstr, size_t errlen, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static int fail(sk_redis_t *r, char *errstr, size_t errlen, const char *fmt,
                ...)
{
    va_list ap;
    char msg[SK_ERRSTR_LEN];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->last_error, sizeof r->last_error, "redis %.64s:%d: %.180s",
             r->opts.host, r->opts.port, msg);
    if (errstr && errlen)
        snprintf(errstr, errlen, "%s", r->last_error);
    drop(r);
    return SK_ERR;
}

/* What went wrong on @p c's socket, in words an operator reads: a
 * timeout shows up as EAGAIN from the socket timeout. */
static const char *io_error(const redisContext *c)
{
    if (!c || !c->errstr[0])
        return "I/O error";
    if (c->err == REDIS_ERR_IO &&
        (strcmp(c->errstr, strerror(EAGAIN)) == 0 ||
         strcmp(c->errstr, strerror(EWOULDBLOCK)) == 0))
        return "timed out";
    if (c->err == REDIS_ERR_EOF)
        return "connection closed by the server";
    return c->errstr;
}

/* One command on @p c, before it is the store's connection.  *@p
 * replied says whether the server answered (with an error). */
static redisReply *setup_cmd(redisContext *c, char *why, size_t whylen,
                             int argc, const char **argv, bool *replied)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);

    *replied = false;
    if (!rep) {
        sk_copy_str(why, whylen, io_error(c));
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        *replied = true;
        sk_copy_str(why, whylen, rep->str ? rep->str : "error");
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static int check_policy(redisContext *c, char *why, size_t whylen)
{
    const char *argv[] = {"CONFIG", "GET", "maxmemory-policy"};
    char err[200];
    bool replied;
    redisReply *rep = setup_cmd(c, err, sizeof err, 3, argv, &replied);
    int rc = SK_ERR;

    if (!rep && !replied) {
        snprintf(why, whylen, "CONFIG GET maxmemory-policy: %s", err);
        return SK_ERR;
    }
    if (!rep) {
        if (snprintf(why, whylen,
                     "cannot read maxmemory-policy (CONFIG GET: %s); make "
                     "sure the server uses noeviction and set "
                     "redis.allow_eviction: true",
                     err) >= (int)whylen)
            why[whylen - 1] = '\0'; /* cut, and said as much as fits */
        return SK_ERR;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[1]->type != REDIS_REPLY_STRING) {
        snprintf(why, whylen, "unexpected reply to CONFIG GET");
        goto done;
    }
    if (strcmp(rep->element[1]->str, "noeviction") != 0) {
        snprintf(why, whylen,
                 "maxmemory-policy is %s: Redis may evict account state; "
                 "set maxmemory-policy noeviction (or redis.allow_eviction: "
                 "true to run anyway)",
                 rep->element[1]->str);
        goto done;
    }
    rc = SK_OK;
done:
    freeReplyObject(rep);
    return rc;
}

static int do_connect(sk_redis_t *r, char *errstr, size_t errlen)
{
    struct timeval tv;
    redisContext *c;
    redisReply *rep;
    char why[SK_ERRSTR_LEN];

    tv.tv_sec = r->opts.timeout_ms / 1000;
    tv.tv_usec = (r->opts.timeout_ms % 1000) * 1000;
    c = redisConnectWithTimeout(r->opts.host, r->opts.port, tv);
    if (!c)
        return fail(r, errstr, errlen, "connect: out of memory");
    if (c->err) {
        snprintf(why, sizeof why, "connect: %s", io_error(c));
        goto fail;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(why, sizeof why, "cannot set the socket timeout");
        goto fail;
    }
    if (r->opts.password[0]) {
        const char *argv[3] = {"AUTH", r->opts.user, r->opts.password};
        char err[200];
        bool replied;
        if (r->opts.user[0])
            rep = setup_cmd(c, err, sizeof err, 3, argv, &replied);
        else {
            argv[1] = r->opts.password;
            rep = setup_cmd(c, err, sizeof err, 2, argv, &replied);
        }
        if (!rep) {
            snprintf(why, sizeof why, "AUTH%s%.64s failed: %.120s",
                     r->opts.user[0] ? " as " : "", r->opts.user, err);
            goto fail;
        }
        freeReplyObject(rep);
    }
    if (r->opts.db != 0) {
        char db[16], err[200];
        const char *argv[2] = {"SELECT", db};
        bool replied;
        snprintf(db, sizeof db, "%d", r->opts.db);
        rep = setup_cmd(c, err, sizeof err, 2, argv, &replied);
        if (!rep) {
            snprintf(why, sizeof why, "SELECT %d: %s", r->opts.db, err);
            goto fail;
        }
        freeReplyObject(rep);
    }
    if (r->need_noeviction && check_policy(c, why, sizeof why) != SK_OK)
        goto fail;
    r->ctx = c;
    r->backoff_ms = 0;
    r->scripts_loaded = false;
    r->connects++;
    return SK_OK;
fail:
    redisFree(c);
    return fail(r, errstr, errlen, "%s", why);
}

static int ensure(sk_redis_t *r, char *errstr, size_t errlen)
{
    int64_t now;

    if (r->ctx)
        return SK_OK;
    now = mono_ms();
    if (now < r->next_try_ms) {
        snprintf(errstr, errlen, "%s (next attempt in %" PRId64 " ms)",
                 r->last_error[0] ? r->last_error : "redis: disconnected",
                 r->next_try_ms - now);
        return SK_ERR;
    }
    return do_connect(r, errstr, errlen);
}

sk_redis_t *sk_redis_connect(const sk_redis_opts_t *opts, char *errstr,
                             size_t errlen)
{
    sk_redis_t *r = calloc(1, sizeof *r);

    if (!r) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    r->opts = *opts;
    if (r->opts.timeout_ms <= 0)
        r->opts.timeout_ms = 2000;
    msgpack_sbuffer_init(&r->blob);
    if (do_connect(r, errstr, errlen) != SK_OK) {
        sk_redis_close(r);
        return NULL;
    }
    return r;
}

void sk_redis_close(sk_redis_t *r)
{
    if (!r)
        return;
    if (r->ctx)
        redisFree(r->ctx);
    msgpack_sbuffer_destroy(&r->blob);
    /* the options hold the password */
    memset(&r->opts, 0, sizeof r->opts);
    free(r);
}

bool sk_redis_connected(const sk_redis_t *r)
{
    return r && r->ctx != NULL;
}

int64_t sk_redis_retry_in_ms(const sk_redis_t *r)
{
    int64_t now;

    if (!r || r->ctx)
        return 0;
    now = mono_ms();
    return r->next_try_ms > now ? r->next_try_ms - now : 0;
}

uint64_t sk_redis_connect_count(const sk_redis_t *r)
{
    return r ? r->connects : 0;
}

/* ---- commands ----------------------------------------------------------- */

/* One command; NULL (and a dropped connection) on any error. */
static redisReply *cmd(sk_redis_t *r, char *errstr, size_t errlen, int argc,
                       const char **argv, const size_t *lens)
{
    redisReply *rep;

    if (ensure(r, errstr, errlen) != SK_OK)
        return NULL;
    rep = redisCommandArgv(r->ctx, argc, argv, lens);
    if (!rep) {
        fail(r, errstr, errlen, "%s: %s", argv[0], io_error(r->ctx));
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        fail(r, errstr, errlen, "%s: %s", argv[0], rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static int append(sk_redis_t *r, char *errstr, size_t errlen, int argc,
                  const char **argv, const size_t *lens)
{
    if (redisAppendCommandArgv(r->ctx, argc, argv, lens) != REDIS_OK)
        return fail(r, errstr, errlen, "%s: cannot queue the command", argv[0]);
    return SK_OK;
}

/* Read one pipelined reply; NULL (connection dropped) on any error. */
static redisReply *get_reply(sk_redis_t *r, char *errstr, size_t errlen,
                             const char *what)
{
    void *v = NULL;
    redisReply *rep;

    if (redisGetReply(r->ctx, &v) != REDIS_OK || !v) {
        fail(r, errstr, errlen, "%s: %s", what, io_error(r->ctx));
        return NULL;
    }
    rep = v;
    if (rep->type == REDIS_REPLY_ERROR) {
        fail(r, errstr, errlen, "%s: %s", what, rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

/* Read and discard @p n replies. */
static int drain(sk_redis_t *r, size_t n, char *errstr, size_t errlen,
                 const char *what)
{
    for (size_t i = 0; i < n; i++) {
        redisReply *rep = get_reply(r, errstr, errlen, what);
        if (!rep)
            return SK_ERR;
        freeReplyObject(rep);
    }
    return SK_OK;
}

static int ensure_scripts(sk_redis_t *r, char *errstr, size_t errlen)
{
    const char *argv[3] = {"SCRIPT", "LOAD", NULL};
    redisReply *rep;

    if (ensure(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    if (r->scripts_loaded)
        return SK_OK;
    argv[2] = write_script;
    if (!(rep = cmd(r, errstr, errlen, 3, argv, NULL)))
        return SK_ERR;
    if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
        freeReplyObject(rep);
        return fail(r, errstr, errlen, "SCRIPT LOAD: unexpected reply");
    }
    memcpy(r->write_sha, rep->str, 41);
    freeReplyObject(rep);
    argv[2] = confirm_script;
    if (!(rep = cmd(r, errstr, errlen, 3, argv, NULL)))
        return SK_ERR;
    if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
        freeReplyObject(rep);
        return fail(r, errstr, errlen, "SCRIPT LOAD: unexpected reply");
    }
    memcpy(r->confirm_sha, rep->str, 41);
    freeReplyObject(rep);
    r->scripts_loaded = true;
    return SK_OK;
}

int sk_redis_require_noeviction(sk_redis_t *r, char *errstr, size_t errlen)
{
    char why[SK_ERRSTR_LEN];

    r->need_noeviction = true;
    if (ensure(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    if (check_policy(r->ctx, why, sizeof why) != SK_OK)
        return fail(r, errstr, errlen, "%s", why);
    return SK_OK;
}

int sk_redis_config_get(sk_redis_t *r, const char *name, char *value,
                        size_t vlen, char *errstr, size_t errlen)
{
    const char *argv[3] = {"CONFIG", "GET", name};
    redisReply *rep = cmd(r, errstr, errlen, 3, argv, NULL);
    int rc = SK_ERR;

    if (!rep)
        return SK_ERR;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(value, vlen, "%s", rep->element[1]->str);
        rc = SK_OK;
    } else {
        snprintf(errstr, errlen, "CONFIG GET %s: no such setting", name);
    }
    freeReplyObject(rep);
    return rc;
}

/* ---- keys ----------------------------------------------------------------- */

static void key_acct(const sk_redis_t *r, const char *id, char *buf)
{
    /* A valid id and prefix always fit; the check only tells the
     * compiler so. */
    if (snprintf(buf, KEY_MAX, "%s:acct:{%s}", r->opts.prefix, id) >= KEY_MAX)
        buf[KEY_MAX - 1] = '\0';
}

static void key_score(const sk_redis_t *r, char *buf)
{
    snprintf(buf, KEY_MAX, "%s:idx:score", r->opts.prefix);
}

static void key_health(const sk_redis_t *r, int tier, char *buf)
{
    snprintf(buf, KEY_MAX, "%s:idx:health:%s", r->opts.prefix,
             sk_health_name((sk_health_t)tier));
}

static void key_flag(const sk_redis_t *r, int flag, char *buf)
{
    snprintf(buf, KEY_MAX, "%s:idx:flag:%s", r->opts.prefix,
             sk_flag_name((sk_flag_t)flag));
}

static void key_due(const sk_redis_t *r, char *buf)
{
    snprintf(buf, KEY_MAX, "%s:due", r->opts.prefix);
}

/* ---- loading ------------------------------------------------------------- */

static uint64_t parse_gen(const redisReply *rep)
{
    char buf[24];
    size_t n;

    if (!rep || rep->type != REDIS_REPLY_STRING || rep->len == 0 ||
        rep->len >= sizeof buf)
        return 0;
    n = rep->len;
    memcpy(buf, rep->str, n);
    buf[n] = '\0';
    return strtoull(buf, NULL, 10);
}

static void stored_reset(sk_redis_stored_t *it)
{
    sk_account_destroy(it->acct);
    free(it->outbox);
    it->acct = NULL;
    it->outbox = NULL;
    it->outbox_len = 0;
    it->gen = 0;
}

/* Fill @p it from the reply to HMGET key state gen outbox. */
static int fill_stored(sk_redis_stored_t *it, const redisReply *rep,
                       const sk_rules_t *rules)
{
    const redisReply *state, *gen, *outbox;

    it->status = SK_OK;
    it->error[0] = '\0';
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
        return SK_ERR;
    state = rep->element[0];
    gen = rep->element[1];
    outbox = rep->element[2];
    it->gen = parse_gen(gen);
    if (outbox->type == REDIS_REPLY_STRING && outbox->len > 0) {
        it->outbox = malloc(outbox->len);
        if (!it->outbox)
            return SK_ERR;
        memcpy(it->outbox, outbox->str, outbox->len);
        it->outbox_len = outbox->len;
    }
    if (state->type != REDIS_REPLY_STRING) {
        /* No state: a new account, whatever else the hash holds.  The
         * gen is kept so that the first write still compares. */
        return SK_OK;
    }
    it->acct = sk_state_decode(state->str, state->len, rules, it->error,
                               sizeof it->error);
    if (!it->acct) {
        it->status = SK_ERR;
        if (!it->error[0])
            snprintf(it->error, sizeof it->error, "state does not decode");
    } else if (strcmp(it->acct->id, it->id) != 0) {
        snprintf(it->error, sizeof it->error,
                 "stored state belongs to account \"%.64s\"", it->acct->id);
        sk_account_destroy(it->acct);
        it->acct = NULL;
        it->status = SK_ERR;
    }
    return SK_OK;
}

int sk_redis_load_many(sk_redis_t *r, const sk_rules_t *rules,
                       sk_redis_stored_t *items, size_t n, char *errstr,
                       size_t errlen)
{
    char key[KEY_MAX];
    const char *argv[5] = {"HMGET", key, "state", "gen", "outbox"};
    size_t i;

    for (i = 0; i < n; i++) {
        items[i].acct = NULL;
        items[i].outbox = NULL;
        items[i].outbox_len = 0;
        items[i].gen = 0;
        items[i].status = SK_OK;
        items[i].error[0] = '\0';
    }
    if (n == 0)
        return SK_OK;
    if (ensure(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    for (i = 0; i < n; i++) {
        key_acct(r, items[i].id, key);
        if (append(r, errstr, errlen, 5, argv, NULL) != SK_OK)
            return SK_ERR;
    }
    for (i = 0; i < n; i++) {
        redisReply *rep = get_reply(r, errstr, errlen, "HMGET");
        if (!rep)
            goto fail;
        if (fill_stored(&items[i], rep, rules) != SK_OK) {
            freeReplyObject(rep);
            stored_reset(&items[i]);
            fail(r, errstr, errlen, "HMGET: unexpected reply");
            goto fail;
        }
        freeReplyObject(rep);
    }
    return SK_OK;
fail:
    for (size_t j = 0; j < n; j++)
        stored_reset(&items[j]);
    return SK_ERR;
}

int sk_redis_load_account(sk_redis_t *r, const char *id,
                          const sk_rules_t *rules, sk_account_t **acct,
                          char *errstr, size_t errlen)
{
    sk_redis_stored_t it;

    *acct = NULL;
    if (!sk_account_id_valid(id, strlen(id))) {
        snprintf(errstr, errlen, "not a valid account id");
        return SK_ERR;
    }
    memset(&it, 0, sizeof it);
    snprintf(it.id, sizeof it.id, "%s", id);
    if (sk_redis_load_many(r, rules, &it, 1, errstr, errlen) != SK_OK)
        return SK_ERR;
    free(it.outbox);
    if (it.status != SK_OK) {
        snprintf(errstr, errlen, "account %s: %s", id, it.error);
        return SK_ERR;
    }
    *acct = it.acct;
    return SK_OK;
}

/* ---- writing --------------------------------------------------------------- */

/* Fields of the hash after gen: name, value. */
#define WRITE_FIELDS 17
#define NUMBUF 48

static void fmt_double(char *buf, double v)
{
    /* %.15g keeps every digit the score has without float noise */
    snprintf(buf, NUMBUF, "%.15g", v);
}

static size_t flags_list(uint32_t flags, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        if (!(flags & (1u << f)))
            continue;
        int n = snprintf(buf + o, len - o, "%s%s", o ? "," : "",
                         sk_flag_name((sk_flag_t)f));
        if (n < 0 || (size_t)n >= len - o)
            break;
        o += (size_t)n;
    }
    return o;
}

static int append_write(sk_redis_t *r, const sk_rules_t *rules,
                        const sk_redis_write_t *w, char *errstr, size_t errlen)
{
    const sk_account_t *a = w->acct;
    const sk_scores_t *s = w->scores;
    char key[KEY_MAX], expected[24], newgen[24];
    char num[8][NUMBUF], updated[40], as_of[40], flags[512];
    const char *argv[7 + 2 * WRITE_FIELDS];
    size_t lens[7 + 2 * WRITE_FIELDS];
    int argc = 0, health = (int)s->health;

    msgpack_sbuffer_clear(&r->blob);
    if (sk_state_encode(a, &r->blob) != SK_OK)
        return fail(r, errstr, errlen, "account %s: cannot encode state",
                    a->id);
    key_acct(r, a->id, key);
    snprintf(expected, sizeof expected, "%" PRIu64, w->gen);
    snprintf(newgen, sizeof newgen, "%" PRIu64, w->gen + 1);
    snprintf(num[0], NUMBUF, "%" PRId64, s->points);
    snprintf(num[1], NUMBUF, "%" PRId64, s->stage);
    fmt_double(num[2], s->engagement);
    fmt_double(num[3], s->customer);
    fmt_double(num[4], s->upsell);
    snprintf(num[5], NUMBUF, "%d", rules->plays[health].sla_hours);
    snprintf(num[6], NUMBUF, "%" PRIu64, a->events_applied);
    sk_format_time(a->updated_ms, updated, sizeof updated);
    sk_format_time(a->clock_ms, as_of, sizeof as_of);
    flags_list(s->flags, flags, sizeof flags);

#define ARG(p, l) (argv[argc] = (p), lens[argc] = (l), argc++)
#define ARGS(p) ARG((p), strlen(p))
    ARGS("EVALSHA");
    ARGS(r->write_sha);
    ARGS("1");
    ARGS(key);
    ARGS(expected);
    ARGS(newgen);
    ARGS(w->outbox_len ? "1" : "0");
    ARGS("state");
    ARG(r->blob.data, r->blob.size);
    ARGS("points");
    ARGS(num[0]);
    ARGS("stage");
    ARGS(num[1]);
    ARGS("engagement");
    ARGS(num[2]);
    ARGS("eng_tier");
    ARGS(sk_eng_tier_name(s->eng_tier));
    ARGS("customer");
    ARGS(num[3]);
    ARGS("upsell");
    ARGS(num[4]);
    ARGS("segment");
    ARGS(sk_segment_name(s->segment));
    ARGS("health");
    ARGS(sk_health_name(s->health));
    ARGS("play");
    ARGS(rules->plays[health].name);
    ARGS("sla_hours");
    ARGS(num[5]);
    ARGS("flags");
    ARGS(flags);
    ARGS("updated_at");
    ARGS(updated);
    ARGS("as_of");
    ARGS(as_of);
    ARGS("events_applied");
    ARGS(num[6]);
    ARGS("rules_version");
    ARGS(rules->version);
    if (w->outbox_len) {
        ARGS("outbox");
        ARG((const char *)w->outbox, w->outbox_len);
    }
#undef ARGS
#undef ARG
    return append(r, errstr, errlen, argc, argv, lens);
}

/* Queue the index and due updates of a written account; counts them. */
static int append_indexes(sk_redis_t *r, sk_redis_write_t *w,
                          size_t *queued, char *errstr, size_t errlen)
{
    const sk_scores_t *s = w->scores;
    const char *id = w->acct->id;
    char key[KEY_MAX], score[NUMBUF];
    const char *zadd[4] = {"ZADD", key, score, id};
    const char *zrem[3] = {"ZREM", key, id};
    bool known = w->prev_health >= 0;
    /* What is already indexed is not written again: most events change
     * neither the customer score nor the tier nor the flags. */
    bool moved = !known || w->prev_customer != s->customer; /* NAN: moved */
    int64_t due = w->outbox_len ? 0 : w->due_ms;

    snprintf(score, sizeof score, "%.17g", s->customer);
    key_score(r, key);
    if (moved) {
        if (append(r, errstr, errlen, 4, zadd, NULL) != SK_OK)
            return SK_ERR;
        (*queued)++;
    }
    for (int t = 0; t < SK_HEALTH__COUNT; t++) {
        key_health(r, t, key);
        if (t == (int)s->health) {
            if (!moved && t == w->prev_health)
                continue;
            if (append(r, errstr, errlen, 4, zadd, NULL) != SK_OK)
                return SK_ERR;
        } else if (!known || t == w->prev_health) {
            if (append(r, errstr, errlen, 3, zrem, NULL) != SK_OK)
                return SK_ERR;
        } else {
            continue;
        }
        (*queued)++;
    }
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        uint32_t bit = 1u << f;
        key_flag(r, f, key);
        if (s->flags & bit) {
            if (!moved && (w->prev_flags & bit))
                continue;
            if (append(r, errstr, errlen, 4, zadd, NULL) != SK_OK)
                return SK_ERR;
        } else if (!known || (w->prev_flags & bit)) {
            if (append(r, errstr, errlen, 3, zrem, NULL) != SK_OK)
                return SK_ERR;
        } else {
            continue;
        }
        (*queued)++;
    }
    key_due(r, key);
    w->new_due = due;
    if (due == w->prev_due)
        return SK_OK;
    if (due == INT64_MAX) {
        if (append(r, errstr, errlen, 3, zrem, NULL) != SK_OK)
            return SK_ERR;
    } else {
        snprintf(score, sizeof score, "%" PRId64, due);
        if (append(r, errstr, errlen, 4, zadd, NULL) != SK_OK)
            return SK_ERR;
    }
    (*queued)++;
    return SK_OK;
}

int sk_redis_write_accounts(sk_redis_t *r, const sk_rules_t *rules,
                            sk_redis_write_t *items, size_t n, char *errstr,
                            size_t errlen)
{
    size_t i, queued = 0;

    for (i = 0; i < n; i++)
        items[i].written = false;
    if (n == 0)
        return SK_OK;
    if (ensure_scripts(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    for (i = 0; i < n; i++)
        if (append_write(r, rules, &items[i], errstr, errlen) != SK_OK)
            return SK_ERR;
    for (i = 0; i < n; i++) {
        redisReply *rep = get_reply(r, errstr, errlen, "EVALSHA write");
        if (!rep)
            return SK_ERR;
        items[i].written =
            rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
        freeReplyObject(rep);
    }
    for (i = 0; i < n; i++)
        if (items[i].written &&
            append_indexes(r, &items[i], &queued, errstr, errlen) != SK_OK)
            return SK_ERR;
    return drain(r, queued, errstr, errlen, "index update");
}

int sk_redis_confirm_outboxes(sk_redis_t *r, sk_redis_confirm_t *items,
                              size_t n, char *errstr, size_t errlen)
{
    char key[KEY_MAX], gen[24], score[NUMBUF];
    size_t i, queued = 0;

    for (i = 0; i < n; i++)
        items[i].cleared = false;
    if (n == 0)
        return SK_OK;
    if (ensure_scripts(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    for (i = 0; i < n; i++) {
        const char *argv[5] = {"EVALSHA", r->confirm_sha, "1", key, gen};
        key_acct(r, items[i].id, key);
        snprintf(gen, sizeof gen, "%" PRIu64, items[i].gen);
        if (append(r, errstr, errlen, 5, argv, NULL) != SK_OK)
            return SK_ERR;
    }
    for (i = 0; i < n; i++) {
        redisReply *rep = get_reply(r, errstr, errlen, "EVALSHA confirm");
        if (!rep)
            return SK_ERR;
        items[i].cleared =
            rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
        freeReplyObject(rep);
    }
    key_due(r, key);
    for (i = 0; i < n; i++) {
        const char *zadd[4] = {"ZADD", key, score, items[i].id};
        const char *zrem[3] = {"ZREM", key, items[i].id};
        int rc;
        if (!items[i].cleared)
            continue;
        if (items[i].due_ms == INT64_MAX) {
            rc = append(r, errstr, errlen, 3, zrem, NULL);
        } else {
            snprintf(score, sizeof score, "%" PRId64, items[i].due_ms);
            rc = append(r, errstr, errlen, 4, zadd, NULL);
        }
        if (rc != SK_OK)
            return SK_ERR;
        queued++;
    }
    return drain(r, queued, errstr, errlen, "due update");
}

/* ---- reading indexes ---------------------------------------------------- */

int sk_redis_due(sk_redis_t *r, int64_t now_ms, size_t offset, size_t limit,
                 char (*ids)[SK_ACCOUNT_MAX + 1], size_t *n, char *errstr,
                 size_t errlen)
{
    char key[KEY_MAX], max[24], off[24], lim[24];
    const char *argv[7] = {"ZRANGEBYSCORE", key, "-inf", max,
                           "LIMIT",         off, lim};
    redisReply *rep;

    *n = 0;
    if (limit == 0)
        return SK_OK;
    key_due(r, key);
    snprintf(max, sizeof max, "%" PRId64, now_ms);
    snprintf(off, sizeof off, "%zu", offset);
    snprintf(lim, sizeof lim, "%zu", limit);
    if (!(rep = cmd(r, errstr, errlen, 7, argv, NULL)))
        return SK_ERR;
    if (rep->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return fail(r, errstr, errlen, "ZRANGEBYSCORE: unexpected reply");
    }
    for (size_t i = 0; i < rep->elements && *n < limit; i++) {
        const redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING || e->len > SK_ACCOUNT_MAX ||
            !sk_account_id_valid(e->str, e->len))
            continue;
        memcpy(ids[*n], e->str, e->len);
        ids[*n][e->len] = '\0';
        (*n)++;
    }
    freeReplyObject(rep);
    return SK_OK;
}

/* ZREVRANGE key 0 -1|limit-1 WITHSCORES into a new array of rows. */
static int zrev(sk_redis_t *r, const char *key, size_t limit,
                sk_redis_ranked_t **rows, size_t *n, char *errstr,
                size_t errlen)
{
    char stop[24];
    const char *argv[5] = {"ZREVRANGE", key, "0", stop, "WITHSCORES"};
    redisReply *rep;
    sk_redis_ranked_t *out = NULL;
    size_t cnt = 0;

    *rows = NULL;
    *n = 0;
    if (limit == 0)
        snprintf(stop, sizeof stop, "-1");
    else
        snprintf(stop, sizeof stop, "%zu", limit - 1);
    if (!(rep = cmd(r, errstr, errlen, 5, argv, NULL)))
        return SK_ERR;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2) {
        freeReplyObject(rep);
        return fail(r, errstr, errlen, "ZREVRANGE: unexpected reply");
    }
    if (rep->elements) {
        out = calloc(rep->elements / 2, sizeof *out);
        if (!out) {
            freeReplyObject(rep);
            snprintf(errstr, errlen, "out of memory");
            return SK_ERR;
        }
    }
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const redisReply *m = rep->element[i], *s = rep->element[i + 1];
        if (m->type != REDIS_REPLY_STRING || m->len > SK_ACCOUNT_MAX ||
            s->type != REDIS_REPLY_STRING)
            continue;
        memcpy(out[cnt].account, m->str, m->len);
        out[cnt].account[m->len] = '\0';
        out[cnt].score = strtod(s->str, NULL);
        cnt++;
    }
    freeReplyObject(rep);
    *rows = out;
    *n = cnt;
    return SK_OK;
}

int sk_redis_top(sk_redis_t *r, const char *health, const char *flag,
                 size_t limit, sk_redis_ranked_t **rows, size_t *n,
                 char *errstr, size_t errlen)
{
    char key[KEY_MAX], hkey[KEY_MAX];
    int h = -1, f = -1;
    size_t i, kept = 0;
    sk_redis_ranked_t *all;

    *rows = NULL;
    *n = 0;
    if (health && (h = sk_health_parse(health, strlen(health))) < 0) {
        snprintf(errstr, errlen, "unknown health tier \"%s\"", health);
        return SK_ERR;
    }
    if (flag && (f = sk_flag_parse(flag, strlen(flag))) < 0) {
        snprintf(errstr, errlen, "unknown flag \"%s\"", flag);
        return SK_ERR;
    }
    if (f >= 0)
        key_flag(r, f, key);
    else if (h >= 0)
        key_health(r, h, key);
    else
        key_score(r, key);
    if (f < 0 || h < 0)
        return zrev(r, key, limit, rows, n, errstr, errlen);

    /* Both: walk the flag index, keep members also in the tier index. */
    if (zrev(r, key, 0, &all, n, errstr, errlen) != SK_OK)
        return SK_ERR;
    key_health(r, h, hkey);
    for (i = 0; i < *n; i++) {
        const char *argv[3] = {"ZSCORE", hkey, all[i].account};
        if (append(r, errstr, errlen, 3, argv, NULL) != SK_OK)
            goto fail;
    }
    for (i = 0; i < *n; i++) {
        redisReply *rep = get_reply(r, errstr, errlen, "ZSCORE");
        if (!rep)
            goto fail;
        if (rep->type == REDIS_REPLY_STRING && (limit == 0 || kept < limit))
            all[kept++] = all[i];
        freeReplyObject(rep);
    }
    *rows = all;
    *n = kept;
    return SK_OK;
fail:
    free(all);
    *n = 0;
    return SK_ERR;
}

int sk_redis_forget(sk_redis_t *r, const char *id, char *errstr, size_t errlen)
{
    char key[KEY_MAX];
    const char *del[2] = {"DEL", key};
    const char *zrem[3] = {"ZREM", key, id};
    size_t queued = 0;

    if (!sk_account_id_valid(id, strlen(id))) {
        snprintf(errstr, errlen, "not a valid account id");
        return SK_ERR;
    }
    if (ensure(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    key_acct(r, id, key);
    if (append(r, errstr, errlen, 2, del, NULL) != SK_OK)
        return SK_ERR;
    queued++;
    key_score(r, key);
    if (append(r, errstr, errlen, 3, zrem, NULL) != SK_OK)
        return SK_ERR;
    queued++;
    for (int t = 0; t < SK_HEALTH__COUNT; t++) {
        key_health(r, t, key);
        if (append(r, errstr, errlen, 3, zrem, NULL) != SK_OK)
            return SK_ERR;
        queued++;
    }
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        key_flag(r, f, key);
        if (append(r, errstr, errlen, 3, zrem, NULL) != SK_OK)
            return SK_ERR;
        queued++;
    }
    key_due(r, key);
    if (append(r, errstr, errlen, 3, zrem, NULL) != SK_OK)
        return SK_ERR;
    queued++;
    return drain(r, queued, errstr, errlen, "forget");
}

/* ---- readable fields, for tools -------------------------------------------- */

int sk_redis_get_fields(sk_redis_t *r, const char *const *ids, size_t n,
                        const char *const *fields, size_t nf, char ***values,
                        char *errstr, size_t errlen)
{
    char key[KEY_MAX];
    const char *argv[2 + SK_REDIS_MAX_FIELDS];
    char **out = NULL;
    size_t i, f, read = 0;

    *values = NULL;
    if (nf == 0 || nf > SK_REDIS_MAX_FIELDS) {
        snprintf(errstr, errlen, "between 1 and %d fields",
                 SK_REDIS_MAX_FIELDS);
        return SK_ERR;
    }
    for (i = 0; i < n; i++) {
        if (!sk_account_id_valid(ids[i], strlen(ids[i]))) {
            snprintf(errstr, errlen, "not a valid account id");
            return SK_ERR;
        }
    }
    if (n == 0)
        return SK_OK;
    if (n > SIZE_MAX / nf / sizeof *out ||
        !(out = calloc(n * nf, sizeof *out))) {
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    if (ensure(r, errstr, errlen) != SK_OK)
        goto fail;
    argv[0] = "HMGET";
    argv[1] = key;
    for (f = 0; f < nf; f++)
        argv[2 + f] = fields[f];
    for (i = 0; i < n; i++) {
        key_acct(r, ids[i], key);
        if (append(r, errstr, errlen, (int)(2 + nf), argv, NULL) != SK_OK)
            goto fail;
    }
    for (; read < n; read++) {
        redisReply *rep = get_reply(r, errstr, errlen, "HMGET");
        if (!rep)
            goto fail;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != nf) {
            freeReplyObject(rep);
            fail(r, errstr, errlen, "HMGET: unexpected reply");
            goto fail;
        }
        for (f = 0; f < nf; f++) {
            const redisReply *e = rep->element[f];
            char **slot = &out[read * nf + f];
            if (e->type != REDIS_REPLY_STRING)
                continue;
            if (!(*slot = malloc(e->len + 1))) {
                freeReplyObject(rep);
                snprintf(errstr, errlen, "out of memory");
                read++;
                goto fail;
            }
            memcpy(*slot, e->str, e->len);
            (*slot)[e->len] = '\0';
        }
        freeReplyObject(rep);
    }
    *values = out;
    return SK_OK;
fail:
    /* replies still in flight would answer the next command: drop them */
    if (read < n && r->ctx)
        drop(r);
    for (i = 0; i < n * nf; i++)
        free(out[i]);
    free(out);
    return SK_ERR;
}

/* ---- erasing one account --------------------------------------------------- */

_Static_assert(sizeof((sk_redis_key_state_t *)0)->key == KEY_MAX,
               "sk_redis_key_state_t holds any key");

int sk_redis_forget_keys(sk_redis_t *r, const char *id, bool erase,
                         sk_redis_key_state_t *keys, char *errstr,
                         size_t errlen)
{
    const char *argv[3];
    size_t n = 0, read = 0;

    if (!sk_account_id_valid(id, strlen(id))) {
        snprintf(errstr, errlen, "not a valid account id");
        return SK_ERR;
    }
    memset(keys, 0, SK_REDIS_ACCOUNT_KEYS * sizeof *keys);
    key_acct(r, id, keys[n].key);
    keys[n++].is_hash = true;
    key_score(r, keys[n++].key);
    for (int t = 0; t < SK_HEALTH__COUNT; t++)
        key_health(r, t, keys[n++].key);
    for (int f = 0; f < SK_FLAG__COUNT; f++)
        key_flag(r, f, keys[n++].key);
    key_due(r, keys[n++].key);

    if (ensure(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    for (size_t i = 0; i < n; i++) {
        argv[0] = keys[i].is_hash ? (erase ? "DEL" : "EXISTS")
                                  : (erase ? "ZREM" : "ZSCORE");
        argv[1] = keys[i].key;
        argv[2] = id;
        if (append(r, errstr, errlen, keys[i].is_hash ? 2 : 3, argv, NULL) !=
            SK_OK)
            return SK_ERR;
    }
    for (; read < n; read++) {
        redisReply *rep =
            get_reply(r, errstr, errlen, erase ? "forget" : "look up");
        if (!rep)
            return SK_ERR; /* the connection is dropped with the rest */
        keys[read].present = rep->type == REDIS_REPLY_INTEGER
                                 ? rep->integer > 0
                                 : rep->type == REDIS_REPLY_STRING;
        freeReplyObject(rep);
    }
    return SK_OK;
}
