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
 *  - Accounts live in SK_REDIS_BUCKETS buckets of four hashes each
 *    (state, gen, scores, outbox), so a flush costs a few commands per
 *    bucket, not per account: one script per bucket reads every gen of
 *    the bucket's accounts with one HMGET, compares, and stores the
 *    accounts that match with one HSET per hash.  Index and schedule
 *    updates are grouped per sorted set (one ZADD and one ZREM each).
 *    Everything is pipelined (redisAppendCommandArgv, then one
 *    redisGetReply per command): one round trip per phase of a flush.
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
#include <jansson.h>
#include <msgpack.h>

#include "redis_store.h"
#include "scorekeeper/json_writer.h"
#include "scorekeeper/model.h"
#include "scorekeeper/state_codec.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define KEY_MAX (64 + SK_ACCOUNT_MAX + 32)
/* Accounts per script call, and members per ZADD/ZREM: keeps every
 * call well inside Lua's unpack() limit and Redis' argument buffers. */
#define CHUNK 1000
#define NUMBUF 48

/* Load accounts of one bucket atomically (a writer between separate
 * reads could pair one gen with another write's state).
 * KEYS: state, gen, outbox hashes; ARGV: account ids.
 * Returns {states, gens, outboxes}, each in ARGV order (false: absent). */
static const char load_script[] =
    "return {redis.call('HMGET', KEYS[1], unpack(ARGV)),\n"
    "        redis.call('HMGET', KEYS[2], unpack(ARGV)),\n"
    "        redis.call('HMGET', KEYS[3], unpack(ARGV))}\n";

/* Store the accounts of one bucket whose gen is what their writer
 * loaded, and bump it: compare-and-set, many accounts per call.
 * KEYS: state, gen, scores, outbox hashes.
 * ARGV: 5 per account: id, expected gen, state, scores, outbox ('' for
 * none: the field is deleted).
 * Returns one integer per account, 1 written, 0 conflict. */
static const char write_script[] =
    "local n = #ARGV / 5\n"
    "local ids = {}\n"
    "for i = 1, n do ids[i] = ARGV[i * 5 - 4] end\n"
    "local gens = redis.call('HMGET', KEYS[2], unpack(ids))\n"
    "local st, gn, sc, ob, del, done = {}, {}, {}, {}, {}, {}\n"
    "for i = 1, n do\n"
    "  local a = i * 5 - 4\n"
    "  if (gens[i] or '0') == ARGV[a + 1] then\n"
    "    local id = ARGV[a]\n"
    "    done[i] = 1\n"
    "    st[#st + 1] = id; st[#st + 1] = ARGV[a + 2]\n"
    "    gn[#gn + 1] = id; gn[#gn + 1] = tostring(tonumber(ARGV[a + 1]) + 1)\n"
    "    sc[#sc + 1] = id; sc[#sc + 1] = ARGV[a + 3]\n"
    "    if ARGV[a + 4] ~= '' then\n"
    "      ob[#ob + 1] = id; ob[#ob + 1] = ARGV[a + 4]\n"
    "    else\n"
    "      del[#del + 1] = id\n"
    "    end\n"
    "  else\n"
    "    done[i] = 0\n"
    "  end\n"
    "end\n"
    "if #st > 0 then\n"
    "  redis.call('HSET', KEYS[1], unpack(st))\n"
    "  redis.call('HSET', KEYS[2], unpack(gn))\n"
    "  redis.call('HSET', KEYS[3], unpack(sc))\n"
    "end\n"
    "if #ob > 0 then redis.call('HSET', KEYS[4], unpack(ob)) end\n"
    "if #del > 0 then redis.call('HDEL', KEYS[4], unpack(del)) end\n"
    "return done\n";

/* Delete the outboxes of one bucket whose gen is still the one they were
 * written at.  KEYS: gen, outbox hashes; ARGV: 2 per account: id, gen.
 * Returns one integer per account, 1 cleared, 0 changed since. */
static const char confirm_script[] =
    "local n = #ARGV / 2\n"
    "local ids = {}\n"
    "for i = 1, n do ids[i] = ARGV[i * 2 - 1] end\n"
    "local gens = redis.call('HMGET', KEYS[1], unpack(ids))\n"
    "local del, done = {}, {}\n"
    "for i = 1, n do\n"
    "  if (gens[i] or '0') == ARGV[i * 2] then\n"
    "    done[i] = 1; del[#del + 1] = ids[i]\n"
    "  else\n"
    "    done[i] = 0\n"
    "  end\n"
    "end\n"
    "if #del > 0 then redis.call('HDEL', KEYS[2], unpack(del)) end\n"
    "return done\n";

enum { SCRIPT_LOAD, SCRIPT_WRITE, SCRIPT_CONFIRM, SCRIPT__COUNT };

static const char *const scripts[SCRIPT__COUNT] = {load_script, write_script,
                                                   confirm_script};

/* Updates of one sorted set, gathered over a flush and sent as one ZADD
 * and one ZREM (in chunks of CHUNK members). */
typedef struct zgroup {
    char key[KEY_MAX];
    const char **add_member; /* members to add or move */
    char (*add_score)[32];   /* their scores, as text */
    size_t n_add, cap_add;
    const char **rem_member; /* members to remove */
    size_t n_rem, cap_rem;
} zgroup_t;

/* The sorted sets a write touches: score, health tiers, flags, due. */
#define ZG_SCORE 0
#define ZG_HEALTH 1
#define ZG_FLAG (ZG_HEALTH + SK_HEALTH__COUNT)
#define ZG_DUE (ZG_FLAG + SK_FLAG__COUNT)
#define ZG__COUNT (ZG_DUE + 1)

struct sk_redis {
    sk_redis_opts_t opts; /**< how to connect */
    redisContext *ctx;    /**< open connection, NULL while disconnected */
    int backoff_ms;       /**< wait before the attempt after the next */
    int64_t next_try_ms;  /**< monotonic time of the next attempt */
    bool need_noeviction; /**< check maxmemory-policy on every connect */
    bool scripts_loaded;  /**< SCRIPT LOAD done on this connection */
    size_t owed;          /**< replies to commands sent without waiting */
    char sha[SCRIPT__COUNT][41]; /**< sha1 of each script */
    uint64_t connects;    /**< successful connections */
    char last_error[SK_ERRSTR_LEN]; /**< why the last call failed */
    msgpack_sbuffer blob; /**< scratch: the encoded states of a flush */
    sk_json_writer_t text; /**< scratch: records and gens of a flush, each
                                ended by a NUL */
    const char **argv;    /**< scratch: arguments of one command */
    size_t *lens;
    size_t cap_args;
    size_t *order;        /**< scratch: item indexes grouped by bucket */
    size_t cap_order;
    zgroup_t zg[ZG__COUNT]; /**< index updates of the current flush */
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
    r->owed = 0;
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

static int drain(sk_redis_t *r, size_t n, char *errstr, size_t errlen,
                 const char *what);

/* Read the replies owed by sk_redis_write_accounts' index updates. */
static int settle(sk_redis_t *r, char *errstr, size_t errlen)
{
    size_t owed = r->owed;

    r->owed = 0;
    return owed ? drain(r, owed, errstr, errlen, "index update") : SK_OK;
}

static int ensure(sk_redis_t *r, char *errstr, size_t errlen)
{
    int64_t now;

    if (r->ctx)
        return settle(r, errstr, errlen);
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
    sk_json_free(&r->text);
    free(r->argv);
    free(r->lens);
    free(r->order);
    for (int g = 0; g < ZG__COUNT; g++) {
        free(r->zg[g].add_member);
        free(r->zg[g].add_score);
        free(r->zg[g].rem_member);
    }
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
    for (int i = 0; i < SCRIPT__COUNT; i++) {
        argv[2] = scripts[i];
        if (!(rep = cmd(r, errstr, errlen, 3, argv, NULL)))
            return SK_ERR;
        if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
            freeReplyObject(rep);
            return fail(r, errstr, errlen, "SCRIPT LOAD: unexpected reply");
        }
        memcpy(r->sha[i], rep->str, 41);
        freeReplyObject(rep);
    }
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

int sk_redis_bucket(const char *id)
{
    return (int)(sk_hash_id(id) % SK_REDIS_BUCKETS);
}

/* PREFIX:{NN}:WHAT, one of the hashes of bucket @p b. */
static void key_bucket(const sk_redis_t *r, int b, const char *what,
                       char *buf)
{
    if (snprintf(buf, KEY_MAX, "%s:{%02d}:%s", r->opts.prefix, b, what) >=
        KEY_MAX)
        buf[KEY_MAX - 1] = '\0';
}

void sk_redis_bucket_prefix(const sk_redis_t *r, const char *id, char *buf,
                            size_t len)
{
    snprintf(buf, len, "%s:{%02d}", r->opts.prefix, sk_redis_bucket(id));
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

/* ---- scratch ---------------------------------------------------------------- */

/* Room for @p n arguments of one command. */
static int reserve_args(sk_redis_t *r, size_t n)
{
    size_t cap = r->cap_args ? r->cap_args : 64;
    const char **argv;
    size_t *lens;

    if (n <= r->cap_args)
        return SK_OK;
    while (cap < n)
        cap *= 2;
    if (!(argv = realloc(r->argv, cap * sizeof *argv)))
        return SK_ERR;
    r->argv = argv;
    if (!(lens = realloc(r->lens, cap * sizeof *lens)))
        return SK_ERR;
    r->lens = lens;
    r->cap_args = cap;
    return SK_OK;
}

/* Append the decimal @p v and a NUL to the text arena; @returns where it
 * starts. */
static size_t text_number(sk_redis_t *r, uint64_t v)
{
    size_t at = r->text.len;
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRIu64, v);

    sk_json_raw(&r->text, buf, (size_t)n + 1);
    return at;
}

/* Fill r->order with 0..n-1 grouped by the bucket of id_of(items, i);
 * bucket b's items are r->order[start[b]] .. r->order[start[b + 1] - 1],
 * in their original order. */
typedef const char *(*id_of_fn)(const void *items, size_t i);

static int group_by_bucket(sk_redis_t *r, const void *items, size_t n,
                           id_of_fn id_of, size_t start[SK_REDIS_BUCKETS + 1])
{
    size_t fill[SK_REDIS_BUCKETS];

    if (n > r->cap_order) {
        size_t *o = realloc(r->order, n * sizeof *o);
        if (!o)
            return SK_ERR;
        r->order = o;
        r->cap_order = n;
    }
    memset(start, 0, (SK_REDIS_BUCKETS + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++)
        start[sk_redis_bucket(id_of(items, i)) + 1]++;
    for (int b = 0; b < SK_REDIS_BUCKETS; b++)
        start[b + 1] += start[b];
    memcpy(fill, start, sizeof fill);
    for (size_t i = 0; i < n; i++)
        r->order[fill[sk_redis_bucket(id_of(items, i))]++] = i;
    return SK_OK;
}

/* ---- sorted-set updates, grouped ------------------------------------------- */

static void zg_reset(sk_redis_t *r)
{
    for (int g = 0; g < ZG__COUNT; g++) {
        zgroup_t *z = &r->zg[g];
        z->n_add = z->n_rem = 0;
        if (g == ZG_SCORE)
            key_score(r, z->key);
        else if (g < ZG_FLAG)
            key_health(r, g - ZG_HEALTH, z->key);
        else if (g < ZG_DUE)
            key_flag(r, g - ZG_FLAG, z->key);
        else
            key_due(r, z->key);
    }
}

/* Add or move @p member (which must outlive the flush) in group @p g. */
static int zg_add(sk_redis_t *r, int g, const char *member, const char *score)
{
    zgroup_t *z = &r->zg[g];

    if (z->n_add == z->cap_add) {
        size_t cap = z->cap_add ? z->cap_add * 2 : 256;
        const char **m = realloc(z->add_member, cap * sizeof *m);
        if (!m)
            return SK_ERR;
        z->add_member = m;
        char(*sc)[32] = realloc(z->add_score, cap * sizeof *sc);
        if (!sc)
            return SK_ERR;
        z->add_score = sc;
        z->cap_add = cap;
    }
    z->add_member[z->n_add] = member;
    sk_copy_str(z->add_score[z->n_add], sizeof z->add_score[0], score);
    z->n_add++;
    return SK_OK;
}

static int zg_rem(sk_redis_t *r, int g, const char *member)
{
    zgroup_t *z = &r->zg[g];

    if (z->n_rem == z->cap_rem) {
        size_t cap = z->cap_rem ? z->cap_rem * 2 : 256;
        const char **m = realloc(z->rem_member, cap * sizeof *m);
        if (!m)
            return SK_ERR;
        z->rem_member = m;
        z->cap_rem = cap;
    }
    z->rem_member[z->n_rem++] = member;
    return SK_OK;
}

/* Queue one ZADD and one ZREM per group that has any (in chunks). */
static int zg_send(sk_redis_t *r, size_t *queued, char *errstr, size_t errlen)
{
    if (reserve_args(r, 2 + 2 * CHUNK) != SK_OK)
        return fail(r, errstr, errlen, "out of memory");
    for (int g = 0; g < ZG__COUNT; g++) {
        zgroup_t *z = &r->zg[g];
        for (size_t i = 0; i < z->n_add; i += CHUNK) {
            size_t end = i + CHUNK < z->n_add ? i + CHUNK : z->n_add, argc = 0;
            r->argv[argc++] = "ZADD";
            r->argv[argc++] = z->key;
            for (size_t j = i; j < end; j++) {
                r->argv[argc++] = z->add_score[j];
                r->argv[argc++] = z->add_member[j];
            }
            if (append(r, errstr, errlen, (int)argc, r->argv, NULL) != SK_OK)
                return SK_ERR;
            (*queued)++;
        }
        for (size_t i = 0; i < z->n_rem; i += CHUNK) {
            size_t end = i + CHUNK < z->n_rem ? i + CHUNK : z->n_rem, argc = 0;
            r->argv[argc++] = "ZREM";
            r->argv[argc++] = z->key;
            for (size_t j = i; j < end; j++)
                r->argv[argc++] = z->rem_member[j];
            if (append(r, errstr, errlen, (int)argc, r->argv, NULL) != SK_OK)
                return SK_ERR;
            (*queued)++;
        }
    }
    return SK_OK;
}

int sk_redis_settle(sk_redis_t *r, char *errstr, size_t errlen)
{
    if (!r->ctx) {
        if (r->owed == 0)
            return SK_OK;
        snprintf(errstr, errlen, "%s", r->last_error);
        return SK_ERR;
    }
    return settle(r, errstr, errlen);
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

/* Fill @p it from its state, gen and outbox values. */
static int fill_stored(sk_redis_stored_t *it, const redisReply *state,
                       const redisReply *gen, const redisReply *outbox,
                       const sk_rules_t *rules)
{
    it->status = SK_OK;
    it->error[0] = '\0';
    it->gen = parse_gen(gen);
    if (outbox->type == REDIS_REPLY_STRING && outbox->len > 0) {
        it->outbox = malloc(outbox->len);
        if (!it->outbox)
            return SK_ERR;
        memcpy(it->outbox, outbox->str, outbox->len);
        it->outbox_len = outbox->len;
    }
    if (state->type != REDIS_REPLY_STRING) {
        /* No state: a new account.  The gen is kept (a deleted account
         * has none, so it reads 0) and the first write compares it. */
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

static const char *stored_id(const void *items, size_t i)
{
    return ((const sk_redis_stored_t *)items)[i].id;
}

/* Read the reply to one load script for items order[from..to). */
static int read_load_reply(sk_redis_t *r, const sk_rules_t *rules,
                           sk_redis_stored_t *items, size_t from, size_t to,
                           char *errstr, size_t errlen)
{
    redisReply *rep = get_reply(r, errstr, errlen, "EVALSHA load");
    size_t n = to - from;
    int rc = SK_OK;

    if (!rep)
        return SK_ERR;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        freeReplyObject(rep);
        return fail(r, errstr, errlen, "EVALSHA load: unexpected reply");
    }
    for (size_t k = 0; k < 3; k++)
        if (rep->element[k]->type != REDIS_REPLY_ARRAY ||
            rep->element[k]->elements != n) {
            freeReplyObject(rep);
            return fail(r, errstr, errlen, "EVALSHA load: unexpected reply");
        }
    for (size_t j = 0; j < n && rc == SK_OK; j++)
        rc = fill_stored(&items[r->order[from + j]],
                         rep->element[0]->element[j],
                         rep->element[1]->element[j],
                         rep->element[2]->element[j], rules);
    freeReplyObject(rep);
    if (rc != SK_OK)
        snprintf(errstr, errlen, "out of memory");
    return rc;
}

int sk_redis_load_many(sk_redis_t *r, const sk_rules_t *rules,
                       sk_redis_stored_t *items, size_t n, char *errstr,
                       size_t errlen)
{
    char keys[3][KEY_MAX];
    size_t start[SK_REDIS_BUCKETS + 1], queued = 0, i;

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
    if (ensure_scripts(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    if (group_by_bucket(r, items, n, stored_id, start) != SK_OK ||
        reserve_args(r, 6 + CHUNK) != SK_OK) {
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    for (int b = 0; b < SK_REDIS_BUCKETS; b++) {
        key_bucket(r, b, "state", keys[0]);
        key_bucket(r, b, "gen", keys[1]);
        key_bucket(r, b, "outbox", keys[2]);
        for (size_t c = start[b]; c < start[b + 1]; c += CHUNK) {
            size_t end = c + CHUNK < start[b + 1] ? c + CHUNK : start[b + 1];
            size_t argc = 0;
            r->argv[argc++] = "EVALSHA";
            r->argv[argc++] = r->sha[SCRIPT_LOAD];
            r->argv[argc++] = "3";
            for (int k = 0; k < 3; k++)
                r->argv[argc++] = keys[k];
            for (size_t j = c; j < end; j++)
                r->argv[argc++] = items[r->order[j]].id;
            if (append(r, errstr, errlen, (int)argc, r->argv, NULL) != SK_OK)
                return SK_ERR;
            queued++;
        }
    }
    /* Replies come in the order the scripts were queued. */
    for (int b = 0; b < SK_REDIS_BUCKETS; b++)
        for (size_t c = start[b]; c < start[b + 1]; c += CHUNK) {
            size_t end = c + CHUNK < start[b + 1] ? c + CHUNK : start[b + 1];
            queued--;
            if (read_load_reply(r, rules, items, c, end, errstr, errlen) !=
                SK_OK)
                goto fail;
        }
    return SK_OK;
fail:
    if (queued && r->ctx)
        drop(r); /* replies still in flight would answer the next call */
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

/* Where one account's arguments are in the scratch arenas. */
typedef struct write_args {
    size_t state_at, state_len; /* in r->blob */
    size_t record_at, record_len, gen_at; /* in r->text */
} write_args_t;

/* The readable record of one account (schemas/redis.md), as JSON in the
 * text arena, followed by a NUL. */
static void append_record(sk_redis_t *r, const sk_rules_t *rules,
                          const sk_account_t *a, const sk_scores_t *s,
                          write_args_t *wa)
{
    sk_json_writer_t *w = &r->text;
    const sk_play_t *play = &rules->plays[s->health];
    char updated[40], as_of[40];

    sk_format_time(a->updated_ms, updated, sizeof updated);
    sk_format_time(a->clock_ms, as_of, sizeof as_of);
    wa->record_at = w->len;
    sk_json_open(w);
    sk_json_key(w, "points");
    sk_json_int(w, s->points);
    sk_json_key(w, "stage");
    sk_json_int(w, s->stage);
    sk_json_key(w, "engagement");
    sk_json_real(w, s->engagement);
    sk_json_key(w, "eng_tier");
    sk_json_string(w, sk_eng_tier_name(s->eng_tier));
    sk_json_key(w, "customer");
    sk_json_real(w, s->customer);
    sk_json_key(w, "upsell");
    sk_json_real(w, s->upsell);
    sk_json_key(w, "segment");
    sk_json_string(w, sk_segment_name(s->segment));
    sk_json_key(w, "health");
    sk_json_string(w, sk_health_name(s->health));
    sk_json_key(w, "play");
    sk_json_string(w, play->name);
    sk_json_key(w, "sla_hours");
    sk_json_int(w, play->sla_hours);
    sk_json_key(w, "flags");
    sk_json_raw(w, "[", 1);
    for (int f = 0, first = 1; f < SK_FLAG__COUNT; f++) {
        if (!(s->flags & (1u << f)))
            continue;
        if (!first)
            sk_json_raw(w, ",", 1);
        sk_json_string(w, sk_flag_name((sk_flag_t)f));
        first = 0;
    }
    sk_json_raw(w, "]", 1);
    sk_json_key(w, "updated_at");
    sk_json_string(w, updated);
    sk_json_key(w, "as_of");
    sk_json_string(w, as_of);
    sk_json_key(w, "events_applied");
    sk_json_int(w, (int64_t)a->events_applied);
    sk_json_key(w, "rules_version");
    sk_json_string(w, rules->version);
    sk_json_close(w);
    wa->record_len = w->len - wa->record_at;
    sk_json_raw(w, "", 1);
}

/* Gather the index and due updates of a written account. */
static int gather_indexes(sk_redis_t *r, sk_redis_write_t *w)
{
    const sk_scores_t *s = w->scores;
    const char *id = w->acct->id;
    char score[NUMBUF];
    bool known = w->prev_health >= 0;
    /* What is already indexed is not written again: most events change
     * neither the customer score nor the tier nor the flags. */
    bool moved = !known || w->prev_customer != s->customer; /* NAN: moved */
    int64_t due = w->outbox_len ? 0 : w->due_ms;

    snprintf(score, sizeof score, "%.17g", s->customer);
    if (moved && zg_add(r, ZG_SCORE, id, score) != SK_OK)
        return SK_ERR;
    /* Tier and flag sets say who is in them (score 0): a new customer
     * score moves the account in the score index only. */
    for (int t = 0; t < SK_HEALTH__COUNT; t++) {
        if (t == (int)s->health) {
            if ((!known || t != w->prev_health) &&
                zg_add(r, ZG_HEALTH + t, id, "0") != SK_OK)
                return SK_ERR;
        } else if ((!known || t == w->prev_health) &&
                   zg_rem(r, ZG_HEALTH + t, id) != SK_OK) {
            return SK_ERR;
        }
    }
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        uint32_t bit = 1u << f;
        if (s->flags & bit) {
            if ((!known || !(w->prev_flags & bit)) &&
                zg_add(r, ZG_FLAG + f, id, "0") != SK_OK)
                return SK_ERR;
        } else if ((!known || (w->prev_flags & bit)) &&
                   zg_rem(r, ZG_FLAG + f, id) != SK_OK) {
            return SK_ERR;
        }
    }
    w->new_due = due;
    if (due == w->prev_due)
        return SK_OK;
    if (due == INT64_MAX)
        return zg_rem(r, ZG_DUE, id);
    snprintf(score, sizeof score, "%" PRId64, due);
    return zg_add(r, ZG_DUE, id, score);
}

/* Write what is queued on the connection, without reading replies. */
static int send_queued(sk_redis_t *r, char *errstr, size_t errlen,
                       const char *what)
{
    for (int sent = 0; !sent;)
        if (redisBufferWrite(r->ctx, &sent) != REDIS_OK)
            return fail(r, errstr, errlen, "%s: %s", what, io_error(r->ctx));
    return SK_OK;
}

static const char *write_id(const void *items, size_t i)
{
    return ((const sk_redis_write_t *)items)[i].acct->id;
}

/* Encode the state, record and gen of items r->order[from..to) into the
 * arenas (emptied first: the previous chunk is already queued). */
static int encode_writes(sk_redis_t *r, const sk_rules_t *rules,
                         const sk_redis_write_t *items, size_t from,
                         size_t to, write_args_t *wa, char *errstr,
                         size_t errlen)
{
    msgpack_sbuffer_clear(&r->blob);
    sk_json_reset(&r->text);
    for (size_t j = from; j < to; j++) {
        size_t i = r->order[j];
        wa[i].state_at = r->blob.size;
        if (sk_state_encode(items[i].acct, &r->blob) != SK_OK)
            return fail(r, errstr, errlen, "account %s: cannot encode state",
                        items[i].acct->id);
        wa[i].state_len = r->blob.size - wa[i].state_at;
        wa[i].gen_at = text_number(r, items[i].gen);
        append_record(r, rules, items[i].acct, items[i].scores, &wa[i]);
    }
    if (r->text.oom) {
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    return SK_OK;
}

int sk_redis_write_accounts(sk_redis_t *r, const sk_rules_t *rules,
                            sk_redis_write_t *items, size_t n, char *errstr,
                            size_t errlen)
{
    char keys[4][KEY_MAX];
    size_t start[SK_REDIS_BUCKETS + 1], queued = 0;
    write_args_t *wa;
    int rc = SK_ERR;

    for (size_t i = 0; i < n; i++)
        items[i].written = false;
    if (n == 0)
        return SK_OK;
    if (ensure_scripts(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    if (!(wa = malloc(n * sizeof *wa)) ||
        group_by_bucket(r, items, n, write_id, start) != SK_OK ||
        reserve_args(r, 7 + 5 * CHUNK) != SK_OK) {
        free(wa);
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    for (int b = 0; b < SK_REDIS_BUCKETS; b++) {
        key_bucket(r, b, "state", keys[0]);
        key_bucket(r, b, "gen", keys[1]);
        key_bucket(r, b, "scores", keys[2]);
        key_bucket(r, b, "outbox", keys[3]);
        for (size_t c = start[b]; c < start[b + 1]; c += CHUNK) {
            size_t end = c + CHUNK < start[b + 1] ? c + CHUNK : start[b + 1];
            size_t argc = 0;
            if (encode_writes(r, rules, items, c, end, wa, errstr, errlen) !=
                SK_OK)
                goto done;
#define ARG(p, l) (r->argv[argc] = (p), r->lens[argc] = (l), argc++)
            ARG("EVALSHA", 7);
            ARG(r->sha[SCRIPT_WRITE], 40);
            ARG("4", 1);
            for (int k = 0; k < 4; k++)
                ARG(keys[k], strlen(keys[k]));
            for (size_t j = c; j < end; j++) {
                const sk_redis_write_t *w = &items[r->order[j]];
                const write_args_t *a = &wa[r->order[j]];
                ARG(w->acct->id, strlen(w->acct->id));
                ARG(r->text.data + a->gen_at, strlen(r->text.data + a->gen_at));
                ARG(r->blob.data + a->state_at, a->state_len);
                ARG(r->text.data + a->record_at, a->record_len);
                ARG((const char *)w->outbox, w->outbox_len);
            }
#undef ARG
            if (append(r, errstr, errlen, (int)argc, r->argv, r->lens) !=
                SK_OK)
                goto done;
            queued++;
            /* Redis runs this bucket's script while the next is encoded. */
            if (send_queued(r, errstr, errlen, "EVALSHA write") != SK_OK)
                goto done;
        }
    }
    for (int b = 0; b < SK_REDIS_BUCKETS; b++)
        for (size_t c = start[b]; c < start[b + 1]; c += CHUNK) {
            size_t end = c + CHUNK < start[b + 1] ? c + CHUNK : start[b + 1];
            redisReply *rep = get_reply(r, errstr, errlen, "EVALSHA write");
            if (!rep)
                goto done;
            queued--;
            if (rep->type != REDIS_REPLY_ARRAY ||
                rep->elements != end - c) {
                freeReplyObject(rep);
                fail(r, errstr, errlen, "EVALSHA write: unexpected reply");
                goto done;
            }
            for (size_t j = c; j < end; j++) {
                const redisReply *e = rep->element[j - c];
                items[r->order[j]].written =
                    e->type == REDIS_REPLY_INTEGER && e->integer == 1;
            }
            freeReplyObject(rep);
        }

    zg_reset(r);
    for (size_t i = 0; i < n; i++)
        if (items[i].written && gather_indexes(r, &items[i]) != SK_OK) {
            snprintf(errstr, errlen, "out of memory");
            goto done;
        }
    if (zg_send(r, &queued, errstr, errlen) != SK_OK)
        goto done;
    /* Sent now, read by sk_redis_settle(): Redis updates the indexes
     * while the caller produces the alerts. */
    if (send_queued(r, errstr, errlen, "index update") != SK_OK)
        goto done;
    r->owed = queued;
    queued = 0;
    rc = SK_OK;
done:
    if (rc != SK_OK && queued && r->ctx)
        drop(r); /* replies still in flight would answer the next call */
    free(wa);
    return rc;
}

static const char *confirm_id(const void *items, size_t i)
{
    return ((const sk_redis_confirm_t *)items)[i].id;
}

int sk_redis_confirm_outboxes(sk_redis_t *r, sk_redis_confirm_t *items,
                              size_t n, char *errstr, size_t errlen)
{
    char keys[2][KEY_MAX], score[NUMBUF];
    size_t start[SK_REDIS_BUCKETS + 1], queued = 0, *gen_at;
    int rc = SK_ERR;

    for (size_t i = 0; i < n; i++)
        items[i].cleared = false;
    if (n == 0)
        return SK_OK;
    if (ensure_scripts(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    if (!(gen_at = malloc(n * sizeof *gen_at)) ||
        group_by_bucket(r, items, n, confirm_id, start) != SK_OK ||
        reserve_args(r, 5 + 2 * CHUNK) != SK_OK) {
        free(gen_at);
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    sk_json_reset(&r->text);
    for (size_t i = 0; i < n; i++)
        gen_at[i] = text_number(r, items[i].gen);
    if (r->text.oom) {
        snprintf(errstr, errlen, "out of memory");
        goto done;
    }
    for (int b = 0; b < SK_REDIS_BUCKETS; b++) {
        key_bucket(r, b, "gen", keys[0]);
        key_bucket(r, b, "outbox", keys[1]);
        for (size_t c = start[b]; c < start[b + 1]; c += CHUNK) {
            size_t end = c + CHUNK < start[b + 1] ? c + CHUNK : start[b + 1];
            size_t argc = 0;
            r->argv[argc++] = "EVALSHA";
            r->argv[argc++] = r->sha[SCRIPT_CONFIRM];
            r->argv[argc++] = "2";
            r->argv[argc++] = keys[0];
            r->argv[argc++] = keys[1];
            for (size_t j = c; j < end; j++) {
                r->argv[argc++] = items[r->order[j]].id;
                r->argv[argc++] = r->text.data + gen_at[r->order[j]];
            }
            if (append(r, errstr, errlen, (int)argc, r->argv, NULL) != SK_OK)
                goto done;
            queued++;
        }
    }
    for (int b = 0; b < SK_REDIS_BUCKETS; b++)
        for (size_t c = start[b]; c < start[b + 1]; c += CHUNK) {
            size_t end = c + CHUNK < start[b + 1] ? c + CHUNK : start[b + 1];
            redisReply *rep = get_reply(r, errstr, errlen, "EVALSHA confirm");
            if (!rep)
                goto done;
            queued--;
            if (rep->type != REDIS_REPLY_ARRAY || rep->elements != end - c) {
                freeReplyObject(rep);
                fail(r, errstr, errlen, "EVALSHA confirm: unexpected reply");
                goto done;
            }
            for (size_t j = c; j < end; j++) {
                const redisReply *e = rep->element[j - c];
                items[r->order[j]].cleared =
                    e->type == REDIS_REPLY_INTEGER && e->integer == 1;
            }
            freeReplyObject(rep);
        }

    /* Back from 0 to the real due time. */
    zg_reset(r);
    for (size_t i = 0; i < n; i++) {
        int z;
        if (!items[i].cleared)
            continue;
        if (items[i].due_ms == INT64_MAX) {
            z = zg_rem(r, ZG_DUE, items[i].id);
        } else {
            snprintf(score, sizeof score, "%" PRId64, items[i].due_ms);
            z = zg_add(r, ZG_DUE, items[i].id, score);
        }
        if (z != SK_OK) {
            snprintf(errstr, errlen, "out of memory");
            goto done;
        }
    }
    if (zg_send(r, &queued, errstr, errlen) != SK_OK)
        goto done;
    rc = drain(r, queued, errstr, errlen, "due update");
    queued = 0;
done:
    if (rc != SK_OK && queued && r->ctx)
        drop(r);
    free(gen_at);
    return rc;
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
/* Rows from a reply of member, score pairs; @p reverse reads it from
 * the end; at most @p limit rows (0: all). */
static int ranked_rows(sk_redis_t *r, redisReply *rep, bool reverse,
                       size_t limit, sk_redis_ranked_t **rows, size_t *n,
                       char *errstr, size_t errlen, const char *what)
{
    sk_redis_ranked_t *out = NULL;
    size_t pairs, cnt = 0;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2) {
        freeReplyObject(rep);
        return fail(r, errstr, errlen, "%s: unexpected reply", what);
    }
    pairs = rep->elements / 2;
    if (limit == 0 || limit > pairs)
        limit = pairs;
    if (limit && !(out = calloc(limit, sizeof *out))) {
        freeReplyObject(rep);
        snprintf(errstr, errlen, "out of memory");
        return SK_ERR;
    }
    for (size_t k = 0; k < pairs && cnt < limit; k++) {
        size_t i = 2 * (reverse ? pairs - 1 - k : k);
        const redisReply *m = rep->element[i], *sc = rep->element[i + 1];
        if (m->type != REDIS_REPLY_STRING || m->len > SK_ACCOUNT_MAX ||
            sc->type != REDIS_REPLY_STRING)
            continue;
        memcpy(out[cnt].account, m->str, m->len);
        out[cnt].account[m->len] = '\0';
        out[cnt].score = strtod(sc->str, NULL);
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
    char score[KEY_MAX], hkey[KEY_MAX], fkey[KEY_MAX], stop[24];
    int h = -1, f = -1;
    redisReply *rep;

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
    key_score(r, score);
    if (h < 0 && f < 0) {
        const char *argv[5] = {"ZREVRANGE", score, "0", stop, "WITHSCORES"};
        snprintf(stop, sizeof stop, "%lld",
                 limit ? (long long)limit - 1 : -1LL);
        if (!(rep = cmd(r, errstr, errlen, 5, argv, NULL)))
            return SK_ERR;
        return ranked_rows(r, rep, false, limit, rows, n, errstr, errlen,
                           "ZREVRANGE");
    }
    /* The tier and flag sets hold membership; the score index the order:
     * ZINTER with weight 0 on the filters keeps the customer score. */
    {
        const char *argv[12] = {"ZINTER", "2", score};
        int argc = 3;
        if (h >= 0) {
            key_health(r, h, hkey);
            argv[argc++] = hkey;
        }
        if (f >= 0) {
            key_flag(r, f, fkey);
            argv[argc++] = fkey;
        }
        if (h >= 0 && f >= 0)
            argv[1] = "3";
        argv[argc++] = "WEIGHTS";
        argv[argc++] = "1";
        for (int k = 0; k < (h >= 0) + (f >= 0); k++)
            argv[argc++] = "0";
        argv[argc++] = "WITHSCORES";
        if (!(rep = cmd(r, errstr, errlen, argc, argv, NULL)))
            return SK_ERR;
        return ranked_rows(r, rep, true, limit, rows, n, errstr, errlen,
                           "ZINTER");
    }
}

/* ---- readable fields, for tools -------------------------------------------- */

/* One value of the record @p rec as text: numbers as printed, strings as
 * they are, a list of strings comma-separated.  NULL when absent. */
static char *record_value(const json_t *rec, const char *field)
{
    const json_t *v = json_object_get(rec, field);
    char buf[NUMBUF];

    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        return strdup(buf);
    }
    if (json_is_array(v)) {
        size_t len = 1, i;
        const json_t *e;
        char *out;
        json_array_foreach(v, i, e)
            len += strlen(json_string_value(e) ? json_string_value(e) : "") + 1;
        if (!(out = malloc(len)))
            return NULL;
        out[0] = '\0';
        json_array_foreach(v, i, e) {
            if (i)
                strcat(out, ",");
            strcat(out, json_string_value(e) ? json_string_value(e) : "");
        }
        return out;
    }
    return NULL;
}

int sk_redis_get_fields(sk_redis_t *r, const char *const *ids, size_t n,
                        const char *const *fields, size_t nf, char ***values,
                        char *errstr, size_t errlen)
{
    char key[KEY_MAX];
    const char *argv[3];
    char **out = NULL;
    size_t i, f, read = 0, per_id = 3;

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
    /* Per account: its record, its gen, the size of its outbox. */
    for (i = 0; i < n; i++) {
        int b = sk_redis_bucket(ids[i]);
        argv[0] = "HGET";
        argv[1] = key;
        argv[2] = ids[i];
        key_bucket(r, b, "scores", key);
        if (append(r, errstr, errlen, 3, argv, NULL) != SK_OK)
            goto fail;
        key_bucket(r, b, "gen", key);
        if (append(r, errstr, errlen, 3, argv, NULL) != SK_OK)
            goto fail;
        argv[0] = "HSTRLEN";
        key_bucket(r, b, "outbox", key);
        if (append(r, errstr, errlen, 3, argv, NULL) != SK_OK)
            goto fail;
    }
    for (; read < n * per_id; read++) {
        redisReply *rep = get_reply(r, errstr, errlen, "HGET");
        char **row = &out[(read / per_id) * nf];
        json_t *rec = NULL;
        if (!rep)
            goto fail;
        if (read % per_id == 0 && rep->type == REDIS_REPLY_STRING)
            rec = json_loadb(rep->str, rep->len, 0, NULL);
        for (f = 0; f < nf; f++) {
            char buf[NUMBUF];
            const char *want = fields[f];
            if (read % per_id == 0 && rec) {
                row[f] = record_value(rec, want);
            } else if (read % per_id == 1 && strcmp(want, "gen") == 0 &&
                       rep->type == REDIS_REPLY_STRING) {
                row[f] = strdup(rep->str);
            } else if (read % per_id == 2 && strcmp(want, "outbox") == 0 &&
                       rep->type == REDIS_REPLY_INTEGER) {
                snprintf(buf, sizeof buf, "%lld", rep->integer);
                row[f] = strdup(buf);
            }
        }
        json_decref(rec);
        freeReplyObject(rep);
    }
    *values = out;
    return SK_OK;
fail:
    /* replies still in flight would answer the next command: drop them */
    if (read < n * per_id && r->ctx)
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
    static const char *const hashes[4][2] = {
        /* gen first: once it is gone, a writer holding the account in
         * memory sees a conflict instead of writing it back */
        {"gen", "write generation"},
        {"state", "state"},
        {"scores", "readable scores"},
        {"outbox", "alerts not yet confirmed"}};
    const char *argv[3];
    size_t n = 0, read = 0;
    int b;

    if (!sk_account_id_valid(id, strlen(id))) {
        snprintf(errstr, errlen, "not a valid account id");
        return SK_ERR;
    }
    b = sk_redis_bucket(id);
    memset(keys, 0, SK_REDIS_ACCOUNT_KEYS * sizeof *keys);
    for (int h = 0; h < 4; h++) {
        key_bucket(r, b, hashes[h][0], keys[n].key);
        keys[n].is_hash = true;
        keys[n++].role = hashes[h][1];
    }
    key_score(r, keys[n].key);
    keys[n++].role = "entry in the score index";
    for (int t = 0; t < SK_HEALTH__COUNT; t++) {
        key_health(r, t, keys[n].key);
        keys[n++].role = "entry in the index of its health tier";
    }
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        key_flag(r, f, keys[n].key);
        keys[n++].role = "entry in the index of a raised flag";
    }
    key_due(r, keys[n].key);
    keys[n++].role = "entry in the due schedule";

    if (ensure(r, errstr, errlen) != SK_OK)
        return SK_ERR;
    for (size_t i = 0; i < n; i++) {
        argv[0] = keys[i].is_hash ? (erase ? "HDEL" : "HEXISTS")
                                  : (erase ? "ZREM" : "ZSCORE");
        argv[1] = keys[i].key;
        argv[2] = id;
        if (append(r, errstr, errlen, 3, argv, NULL) != SK_OK)
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
