/*
 * rules.c - load and check a rules file (YAML) into an sk_rules_t.
 *
 * Every number of the scoring model comes from this file, so the loader
 * is the one place that decides whether a tuned file is acceptable.  It
 * is strict on purpose: a typo must stop a reload, never quietly score
 * customers with a default the core does not have.
 *
 * DESIGN
 * The bytes go through libyaml's event API into a small tree of our own
 * rather than through yaml_parser_load(): the document loader bounds
 * neither depth nor node count, and its aliases would let a tiny file
 * make a walk exponential.  The tree builder refuses aliases and explicit
 * tags, stops past MAX_DEPTH levels and MAX_NODES nodes, and keeps the
 * line of every node, so a hostile file costs at most its size (itself
 * bounded by SK_RULES_MAX_BYTES) and every complaint can say where.
 *
 * The checker walks that tree section by section.  Each map is opened
 * against the list of keys it must hold: unknown, duplicate and missing
 * keys are refused before any value is read, so a misspelt key is
 * reported as the typo it is, not as the missing key it hides.  Errors
 * are sticky: the first one is kept ("file:line: path: what is wrong"),
 * later reads return harmless zeros, and the caller's struct is written
 * only when the whole file passed.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "scorekeeper/rules.h"

#define MAX_DEPTH 16       /* nesting levels; the schema needs 5 */
#define MAX_NODES 20000    /* scalars, maps and lists in one file */
#define MAX_MAP_PAIRS 64   /* entries in any one map of the file */
#define MAX_SCHEMA_KEYS 24 /* keys a map of the schema may declare */
#define MAX_POINTS 1e6     /* magnitude bound of any points value */
#define MAX_STAGE 1e15     /* highest stage threshold */
#define MAX_SLA_HOURS 100000
#define MAX_COUNT 1000   /* highest count threshold of a flag */
#define SUM_EPSILON 1e-6 /* tolerance of the sums that must be exact */
#define SHOWN_TEXT 40    /* bytes of a bad value quoted in a message */
#define PATH_LEN 160     /* a dotted path in messages, at most */

enum { N_SCALAR, N_MAP, N_SEQ };

/* One node of the parsed file.  Children form a singly linked list; a
 * map's children alternate key, value. */
typedef struct tnode {
    int kind;   /* N_SCALAR, N_MAP or N_SEQ */
    int line;   /* 1-based line where the node starts */
    int at;     /* line of the key it is the value of, else its own */
    bool plain; /* scalar written without quotes or block style */
    char *text; /* scalar bytes, NUL-terminated; NULL otherwise */
    size_t len; /* scalar length in bytes */
    int first;  /* first child, -1 when none */
    int last;   /* last child, -1 when none */
    int next;   /* next sibling, -1 when none */
    int count;  /* number of children */
} tnode_t;

typedef struct ctx {
    const char *name; /* the file, as messages name it */
    tnode_t *nodes;   /* the tree, root first */
    int n_nodes;      /* nodes in use */
    int cap_nodes;    /* nodes allocated */
    char *errstr;     /* caller's message buffer, may be NULL */
    size_t errlen;    /* its size */
    bool failed;      /* an error was recorded; the rest is skipped */
} ctx_t;

/* An opened map of the schema: the value node of each declared key. */
typedef struct map {
    ctx_t *c;                 /* owning context */
    int node;                 /* the map node, -1 after an error */
    char path[PATH_LEN];      /* dotted path, "" for the root */
    const char *const *keys;  /* declared keys; "?key" is optional */
    int val[MAX_SCHEMA_KEYS]; /* value node by key index, -1 absent */
} map_t;

static const char *const feature_classes[SK_FEATURE__COUNT] = {
    [SK_FEATURE_BASIC] = "basic",
    [SK_FEATURE_ADVANCED] = "advanced",
    [SK_FEATURE_CORE] = "core",
};

/* ------------------------------------------------------------------ */
/* errors                                                              */

__attribute__((format(printf, 3, 4))) static void fail(ctx_t *c, int line,
                                                       const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    if (c->errstr == NULL || c->errlen == 0)
        return;
    int n = line > 0 ? snprintf(c->errstr, c->errlen, "%s:%d: ", c->name, line)
                     : snprintf(c->errstr, c->errlen, "%s: ", c->name);
    if (n < 0 || (size_t)n >= c->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errstr + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Copy at most SHOWN_TEXT bytes of @p s for a message, control bytes
 * replaced, cut on a UTF-8 character boundary. */
static void shown(const char *s, size_t len, char *out, size_t outlen)
{
    size_t n = len;
    bool cut = false;
    if (n > SHOWN_TEXT) {
        n = SHOWN_TEXT;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        cut = true;
    }
    if (n + 4 > outlen)
        n = outlen > 4 ? outlen - 4 : 0;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[j++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (cut && j + 3 < outlen) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

static bool is_null(const tnode_t *n)
{
    if (n->kind != N_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->text, "~") == 0 ||
           strcmp(n->text, "null") == 0 || strcmp(n->text, "Null") == 0 ||
           strcmp(n->text, "NULL") == 0;
}

/* What a node is, for "expected X, got Y". */
static void describe(const tnode_t *n, char *out, size_t outlen)
{
    if (n->kind == N_MAP) {
        snprintf(out, outlen, "a map");
    } else if (n->kind == N_SEQ) {
        snprintf(out, outlen, "a list");
    } else if (is_null(n)) {
        snprintf(out, outlen, "nothing (null)");
    } else {
        char text[SHOWN_TEXT + 8];
        shown(n->text, n->len, text, sizeof text);
        snprintf(out, outlen, "\"%s\"", text);
    }
}

/* ------------------------------------------------------------------ */
/* the tree                                                            */

static int tree_add(ctx_t *c, int kind, int line, int parent)
{
    if (c->n_nodes >= MAX_NODES) {
        fail(c, line, "more than %d YAML nodes: not a rules file", MAX_NODES);
        return -1;
    }
    if (c->n_nodes == c->cap_nodes) {
        int cap = c->cap_nodes ? c->cap_nodes * 2 : 256;
        tnode_t *grown = realloc(c->nodes, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            fail(c, line, "out of memory");
            return -1;
        }
        c->nodes = grown;
        c->cap_nodes = cap;
    }
    int id = c->n_nodes++;
    tnode_t *n = &c->nodes[id];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = n->at = line;
    n->first = n->last = n->next = -1;
    if (parent >= 0) {
        tnode_t *p = &c->nodes[parent];
        if (p->last >= 0)
            c->nodes[p->last].next = id;
        else
            p->first = id;
        p->last = id;
        p->count++;
    }
    return id;
}

static void tree_free(ctx_t *c)
{
    for (int i = 0; i < c->n_nodes; i++)
        free(c->nodes[i].text);
    free(c->nodes);
    c->nodes = NULL;
    c->n_nodes = c->cap_nodes = 0;
}

static int line_of_offset(const char *buf, size_t len, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset && i < len; i++)
        if (buf[i] == '\n')
            line++;
    return line;
}

static void syntax_error(ctx_t *c, const yaml_parser_t *p, const char *buf,
                         size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) {
        fail(c, 0, "out of memory");
        return;
    }
    int line = p->error == YAML_READER_ERROR
                   ? line_of_offset(buf, len, p->problem_offset)
                   : (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->context)
        fail(c, line, "YAML syntax error: %s %s", problem, p->context);
    else
        fail(c, line, "YAML syntax error: %s", problem);
}

/* Parse @p buf into the tree; returns the root node or -1. */
static int tree_build(ctx_t *c, const char *buf, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int stack[MAX_DEPTH];
    int depth = 0, root = -1, docs = 0;
    bool done = false;

    if (!yaml_parser_initialize(&parser)) {
        fail(c, 0, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    while (!done && !c->failed) {
        if (!yaml_parser_parse(&parser, &ev)) {
            syntax_error(c, &parser, buf, len);
            break;
        }
        int line = (int)ev.start_mark.line + 1;
        int parent = depth > 0 ? stack[depth - 1] : -1;
        const yaml_char_t *tag = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                fail(c, line, "more than one YAML document");
            break;
        case YAML_ALIAS_EVENT:
            fail(c, line, "aliases (*name) are not supported in rules");
            break;
        case YAML_SCALAR_EVENT: {
            tag = ev.data.scalar.tag;
            if (tag != NULL)
                break;
            int id = tree_add(c, N_SCALAR, line, parent);
            if (id < 0)
                break;
            tnode_t *n = &c->nodes[id];
            n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            n->len = ev.data.scalar.length;
            n->text = malloc(n->len + 1);
            if (n->text == NULL) {
                fail(c, line, "out of memory");
                break;
            }
            memcpy(n->text, ev.data.scalar.value, n->len);
            n->text[n->len] = '\0';
            if (root < 0)
                root = id;
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
            tag = seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag;
            if (tag != NULL)
                break;
            if (depth == MAX_DEPTH) {
                fail(c, line, "nested deeper than %d levels", MAX_DEPTH);
                break;
            }
            int id = tree_add(c, seq ? N_SEQ : N_MAP, line, parent);
            if (id < 0)
                break;
            if (root < 0)
                root = id;
            stack[depth++] = id;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0)
                depth--;
            break;
        default:
            break;
        }
        if (tag != NULL) {
            char text[SHOWN_TEXT + 8];
            shown((const char *)tag, strlen((const char *)tag), text,
                  sizeof text);
            fail(c, line, "YAML tags (%s) are not supported in rules", text);
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (!c->failed && root < 0)
        fail(c, 1, "empty rules file: no YAML document");
    return c->failed ? -1 : root;
}

/* ------------------------------------------------------------------ */
/* maps of the schema                                                  */

/* "path.key" (or "key" at the root), cut to fit @p outlen. */
static void join(char *out, size_t outlen, const char *path, const char *key)
{
    size_t n = 0;
    for (const char *s = path; *s && n + 1 < outlen; s++)
        out[n++] = *s;
    if (path[0] && n + 1 < outlen)
        out[n++] = '.';
    for (const char *s = key; *s && n + 1 < outlen; s++)
        out[n++] = *s;
    out[n] = '\0';
}

static const char *key_name(const char *declared)
{
    return declared[0] == '?' ? declared + 1 : declared;
}

static const char *path_or_root(const char *path)
{
    return path[0] ? path : "root";
}

/* Edit distance, for "did you mean"; keys longer than 64 get none. */
static size_t distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b), row[66];
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void unknown_key(map_t *m, const tnode_t *k)
{
    char text[SHOWN_TEXT + 8], hint[96] = "";
    size_t best = 3;
    shown(k->text, k->len, text, sizeof text);
    for (int i = 0; m->keys[i] != NULL; i++) {
        const char *name = key_name(m->keys[i]);
        size_t d = distance(k->text, k->len, name);
        if (d < best && d < k->len) {
            best = d;
            snprintf(hint, sizeof hint, " (did you mean '%s'?)", name);
        }
    }
    fail(m->c, k->line, "unknown key '%s' in '%s'%s", text,
         path_or_root(m->path), hint);
}

/*
 * Open @p node as a map holding exactly the keys of @p keys (NULL
 * terminated; a leading '?' marks an optional key).  Any error leaves
 * every value absent.
 */
static void map_open(ctx_t *c, int node, const char *path,
                     const char *const *keys, map_t *m)
{
    m->c = c;
    m->node = -1;
    m->keys = keys;
    join(m->path, sizeof m->path, "", path);
    for (int i = 0; i < MAX_SCHEMA_KEYS; i++)
        m->val[i] = -1;
    if (c->failed || node < 0)
        return;
    int declared = 0;
    while (keys[declared] != NULL)
        declared++;
    if (declared > MAX_SCHEMA_KEYS) {
        fail(c, 0, "%s: the schema declares too many keys", path_or_root(path));
        return;
    }
    const tnode_t *n = &c->nodes[node];
    if (n->kind != N_MAP) {
        char got[SHOWN_TEXT + 16];
        describe(n, got, sizeof got);
        fail(c, n->at, "%s: expected a map, got %s", path_or_root(path), got);
        return;
    }
    if (n->count / 2 > MAX_MAP_PAIRS) {
        fail(c, n->at, "%s: too many keys (%d)", path_or_root(path),
             n->count / 2);
        return;
    }
    for (int k = n->first; k >= 0 && c->nodes[k].next >= 0;
         k = c->nodes[c->nodes[k].next].next) {
        const tnode_t *kn = &c->nodes[k];
        if (kn->kind != N_SCALAR) {
            fail(c, kn->line, "%s: a key must be a word, got %s",
                 path_or_root(path), kn->kind == N_MAP ? "a map" : "a list");
            return;
        }
        int idx = -1;
        for (int i = 0; keys[i] != NULL; i++) {
            const char *name = key_name(keys[i]);
            if (strlen(name) == kn->len &&
                memcmp(name, kn->text, kn->len) == 0) {
                idx = i;
                break;
            }
        }
        if (idx < 0) {
            unknown_key(m, kn);
            return;
        }
        if (m->val[idx] >= 0) {
            fail(c, kn->line, "duplicate key '%s' in '%s' (first on line %d)",
                 key_name(keys[idx]), path_or_root(path),
                 c->nodes[m->val[idx] - 1].line);
            return;
        }
        /* a map's children alternate key, value: the value follows */
        m->val[idx] = kn->next;
        c->nodes[kn->next].at = kn->line;
    }
    for (int i = 0; keys[i] != NULL; i++) {
        if (keys[i][0] != '?' && m->val[i] < 0) {
            fail(c, n->at, "missing key '%s' in '%s'", keys[i],
                 path_or_root(path));
            return;
        }
    }
    m->node = node;
}

/* The value node of @p key, or -1 when absent or after an error. */
static int map_get(const map_t *m, const char *key)
{
    if (m->c->failed || m->node < 0)
        return -1;
    for (int i = 0; m->keys[i] != NULL; i++)
        if (strcmp(key_name(m->keys[i]), key) == 0)
            return m->val[i];
    fail(m->c, m->c->nodes[m->node].at, "%s: key '%s' is not declared",
         path_or_root(m->path), key);
    return -1;
}

/* Open the map under @p key of @p parent. */
static void map_sub(map_t *parent, const char *key, const char *const *keys,
                    map_t *m)
{
    char path[PATH_LEN];
    join(path, sizeof path, parent->path, key);
    map_open(parent->c, map_get(parent, key), path, keys, m);
}

/* ------------------------------------------------------------------ */
/* scalars                                                             */

static void type_error(ctx_t *c, const tnode_t *n, const char *path,
                       const char *expected)
{
    char got[SHOWN_TEXT + 16];
    describe(n, got, sizeof got);
    fail(c, n->at, "%s: expected %s, got %s", path, expected, got);
}

static void range_error(ctx_t *c, const tnode_t *n, const char *path, double lo,
                        double hi, double v)
{
    if (isinf(hi))
        fail(c, n->at, "%s: must be at least %.10g, got %.10g", path, lo, v);
    else if (isinf(lo))
        fail(c, n->at, "%s: must be at most %.10g, got %.10g", path, hi, v);
    else
        fail(c, n->at, "%s: must be between %.10g and %.10g, got %.10g", path,
             lo, hi, v);
}

/* A YAML 1.2 core-schema decimal: [-+]?(.d+|d+(.d*)?)([eE][-+]?d+)? */
static bool looks_decimal(const char *s, bool *integral)
{
    const char *p = s;
    bool digits = false;
    *integral = true;
    if (*p == '-' || *p == '+')
        p++;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits = true;
    }
    if (*p == '.') {
        *integral = false;
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        *integral = false;
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* A number in [lo, hi] at @p node; 0 after an error. */
static double node_num(ctx_t *c, int node, const char *path, double lo,
                       double hi)
{
    if (c->failed || node < 0)
        return 0;
    const tnode_t *n = &c->nodes[node];
    bool integral;
    if (n->kind != N_SCALAR || !n->plain ||
        !looks_decimal(n->text, &integral)) {
        type_error(c, n, path, "a number");
        return 0;
    }
    double v = strtod(n->text, NULL);
    if (!isfinite(v)) {
        type_error(c, n, path, "a finite number");
        return 0;
    }
    if (v < lo || v > hi) {
        range_error(c, n, path, lo, hi, v);
        return 0;
    }
    return v;
}

/* A whole number in [lo, hi] at @p node; 0 after an error. */
static long long node_int(ctx_t *c, int node, const char *path, long long lo,
                          long long hi)
{
    if (c->failed || node < 0)
        return 0;
    const tnode_t *n = &c->nodes[node];
    bool integral;
    if (n->kind != N_SCALAR || !n->plain ||
        !looks_decimal(n->text, &integral) || !integral) {
        type_error(c, n, path, "a whole number");
        return 0;
    }
    errno = 0;
    long long v = strtoll(n->text, NULL, 10);
    if (errno != 0 || v < lo || v > hi) {
        if (errno != 0) {
            char text[SHOWN_TEXT + 8];
            shown(n->text, n->len, text, sizeof text);
            fail(c, n->at, "%s: must be between %lld and %lld, got %s", path,
                 lo, hi, text);
        } else {
            fail(c, n->at, "%s: must be between %lld and %lld, got %lld", path,
                 lo, hi, v);
        }
        return 0;
    }
    return v;
}

/* Text of 1..outlen-1 bytes without control bytes, copied to @p out. */
static void node_str(ctx_t *c, int node, const char *path, char *out,
                     size_t outlen)
{
    if (c->failed || node < 0)
        return;
    const tnode_t *n = &c->nodes[node];
    if (n->kind != N_SCALAR || is_null(n)) {
        type_error(c, n, path, "a text");
        return;
    }
    if (n->len == 0 || n->len >= outlen) {
        fail(c, n->at, "%s: must be 1 to %zu bytes long, got %zu", path,
             outlen - 1, n->len);
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char)n->text[i];
        if (ch < 0x20 || ch == 0x7f) {
            fail(c, n->at, "%s: control characters are not allowed", path);
            return;
        }
    }
    memcpy(out, n->text, n->len + 1);
}

static double get_num(map_t *m, const char *key, double lo, double hi)
{
    char path[PATH_LEN];
    join(path, sizeof path, m->path, key);
    return node_num(m->c, map_get(m, key), path, lo, hi);
}

static double get_points(map_t *m, const char *key)
{
    return get_num(m, key, -MAX_POINTS, MAX_POINTS);
}

static double get_nonneg(map_t *m, const char *key)
{
    return get_num(m, key, 0, MAX_POINTS);
}

static int get_int(map_t *m, const char *key, int lo, int hi)
{
    char path[PATH_LEN];
    join(path, sizeof path, m->path, key);
    return (int)node_int(m->c, map_get(m, key), path, lo, hi);
}

static void get_str(map_t *m, const char *key, char *out, size_t outlen)
{
    char path[PATH_LEN];
    join(path, sizeof path, m->path, key);
    node_str(m->c, map_get(m, key), path, out, outlen);
}

/* An optional boolean; @p dflt when the key is absent. */
static bool get_bool(map_t *m, const char *key, bool dflt)
{
    int node = map_get(m, key);
    if (m->c->failed || node < 0)
        return dflt;
    const tnode_t *n = &m->c->nodes[node];
    if (n->kind == N_SCALAR && n->plain) {
        if (!strcmp(n->text, "true") || !strcmp(n->text, "True") ||
            !strcmp(n->text, "TRUE"))
            return true;
        if (!strcmp(n->text, "false") || !strcmp(n->text, "False") ||
            !strcmp(n->text, "FALSE"))
            return false;
    }
    char path[PATH_LEN];
    join(path, sizeof path, m->path, key);
    type_error(m->c, n, path, "true or false");
    return dflt;
}

/* An error at the value of @p key (for checks across several keys). */
__attribute__((format(printf, 3, 4))) static void
fail_at(map_t *m, const char *key, const char *fmt, ...)
{
    ctx_t *c = m->c;
    if (c->failed)
        return;
    int node = key ? map_get(m, key) : m->node;
    int line = node >= 0 ? c->nodes[node].at : 0;
    char msg[192], path[PATH_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key)
        join(path, sizeof path, m->path, key);
    else
        snprintf(path, sizeof path, "%s", path_or_root(m->path));
    fail(c, line, "%s: %s", path, msg);
}

/* ------------------------------------------------------------------ */
/* lists                                                               */

/* Check that @p key holds a list of @p lo..@p hi items; its node or -1. */
static int get_list(map_t *m, const char *key, int lo, int hi)
{
    int node = map_get(m, key);
    if (m->c->failed || node < 0)
        return -1;
    const tnode_t *n = &m->c->nodes[node];
    char path[PATH_LEN];
    join(path, sizeof path, m->path, key);
    if (n->kind != N_SEQ) {
        type_error(m->c, n, path, "a list");
        return -1;
    }
    if (n->count < lo || n->count > hi) {
        fail(m->c, n->at, "%s: must have %d to %d entries, got %d", path, lo,
             hi, n->count);
        return -1;
    }
    return node;
}

/*
 * A list of bands {min_key: number >= 0, pts_key: number}, in strictly
 * ascending order of min; returns the count.
 */
static int get_bands(map_t *m, const char *key, const char *min_key,
                     double min_hi, const char *pts_key, double pts_lo,
                     double pts_hi, sk_band_t *out)
{
    const char *const keys[] = {min_key, pts_key, NULL};
    ctx_t *c = m->c;
    int list = get_list(m, key, 1, SK_RULES_MAX_BANDS);
    if (list < 0)
        return 0;
    int i = 0;
    for (int it = c->nodes[list].first; it >= 0 && !c->failed;
         it = c->nodes[it].next, i++) {
        char path[PATH_LEN];
        map_t b;
        join(path, sizeof path, m->path, key);
        size_t used = strlen(path);
        snprintf(path + used, sizeof path - used, "[%d]", i);
        map_open(c, it, path, keys, &b);
        out[i].min = get_num(&b, min_key, 0, min_hi);
        out[i].points = get_num(&b, pts_key, pts_lo, pts_hi);
        if (i > 0 && out[i].min <= out[i - 1].min)
            fail_at(&b, min_key,
                    "bands must be listed in ascending order of %s "
                    "(%.10g after %.10g)",
                    min_key, out[i].min, out[i - 1].min);
    }
    return c->failed ? 0 : i;
}

/* {per, points, max}: floor(count / per) * points, at most max. */
static sk_count_rule_t get_count_rule(map_t *parent, const char *key)
{
    static const char *const keys[] = {"per", "points", "max", NULL};
    map_t m;
    sk_count_rule_t r;
    map_sub(parent, key, keys, &m);
    r.per = get_int(&m, "per", 1, MAX_COUNT);
    r.each = get_nonneg(&m, "points");
    r.max = get_nonneg(&m, "max");
    return r;
}

/* {points, max}: per distinct person, at most max. */
static sk_count_rule_t get_each_rule(map_t *parent, const char *key)
{
    static const char *const keys[] = {"points", "max", NULL};
    map_t m;
    sk_count_rule_t r;
    map_sub(parent, key, keys, &m);
    r.per = 1;
    r.each = get_nonneg(&m, "points");
    r.max = get_nonneg(&m, "max");
    return r;
}

/* ------------------------------------------------------------------ */
/* sections                                                            */

static void check_points(map_t *root, sk_rules_t *r)
{
    static const char *const keys[] = {
        "user_created",      "login_monthly",  "usage_bands",
        "meeting_attended",  "meeting_missed", "feedback",
        "payment_succeeded", "payment_failed", NULL};
    static const char *const fb_keys[] = {"very_happy", "happy", "neutral",
                                          "not_happy", NULL};
    map_t m, fb;
    map_sub(root, "points", keys, &m);
    r->points.user_created = get_points(&m, "user_created");
    r->points.login_monthly = get_points(&m, "login_monthly");
    r->points.n_usage =
        get_bands(&m, "usage_bands", "min_minutes", MAX_POINTS, "points",
                  -MAX_POINTS, MAX_POINTS, r->points.usage);
    r->points.meeting_attended = get_points(&m, "meeting_attended");
    r->points.meeting_missed = get_points(&m, "meeting_missed");
    map_sub(&m, "feedback", fb_keys, &fb);
    r->points.feedback_very_happy = get_points(&fb, "very_happy");
    r->points.feedback_happy = get_points(&fb, "happy");
    r->points.feedback_neutral = get_points(&fb, "neutral");
    r->points.feedback_not_happy = get_points(&fb, "not_happy");
    r->points.payment_succeeded = get_points(&m, "payment_succeeded");
    r->points.payment_failed = get_points(&m, "payment_failed");
}

static void check_stages(map_t *root, sk_rules_t *r)
{
    ctx_t *c = root->c;
    int list = get_list(root, "stages", 1, SK_RULES_MAX_STAGES);
    if (list < 0)
        return;
    int i = 0;
    for (int it = c->nodes[list].first; it >= 0 && !c->failed;
         it = c->nodes[it].next, i++) {
        char path[32];
        snprintf(path, sizeof path, "stages[%d]", i);
        r->stages[i] = node_int(c, it, path, 1, (long long)MAX_STAGE);
        if (!c->failed && i > 0 && r->stages[i] <= r->stages[i - 1])
            fail(c, c->nodes[it].at,
                 "%s: stages must be strictly ascending (%lld after %lld)",
                 path, (long long)r->stages[i], (long long)r->stages[i - 1]);
    }
    r->n_stages = i;
}

static void check_frequency(map_t *eng, sk_rules_t *r)
{
    static const char *const keys[] = {
        "meeting_attended", "email_exchange", "login", "support_ticket",
        "training",         "max_points",     NULL};
    map_t m;
    map_sub(eng, "frequency", keys, &m);
    r->engagement.meeting = get_count_rule(&m, "meeting_attended");
    r->engagement.email = get_count_rule(&m, "email_exchange");
    r->engagement.login = get_count_rule(&m, "login");
    r->engagement.ticket = get_count_rule(&m, "support_ticket");
    r->engagement.training = get_count_rule(&m, "training");
    r->engagement.frequency_max = get_num(&m, "max_points", 1, MAX_POINTS);
}

static void check_quality(map_t *eng, sk_rules_t *r)
{
    static const char *const keys[] = {"neutral", "response_rate_bands",
                                       "meeting", NULL};
    static const char *const mq_keys[] = {
        "on_time", "active", "executive", "follow_through", "strategic", NULL};
    map_t m, mq;
    map_sub(eng, "quality", keys, &m);
    r->engagement.quality_neutral = get_num(&m, "neutral", 0, 100);
    r->engagement.n_response =
        get_bands(&m, "response_rate_bands", "min_percent", 100, "score", 0,
                  100, r->engagement.response);
    if (!m.c->failed && r->engagement.response[0].min != 0)
        fail_at(&m, "response_rate_bands",
                "the first band must start at min_percent 0 so that every "
                "response rate has a score");
    map_sub(&m, "meeting", mq_keys, &mq);
    r->engagement.mq_on_time = get_num(&mq, "on_time", 0, 100);
    r->engagement.mq_active = get_num(&mq, "active", 0, 100);
    r->engagement.mq_executive = get_num(&mq, "executive", 0, 100);
    r->engagement.mq_follow_through = get_num(&mq, "follow_through", 0, 100);
    r->engagement.mq_strategic = get_num(&mq, "strategic", 0, 100);
    double sum = r->engagement.mq_on_time + r->engagement.mq_active +
                 r->engagement.mq_executive + r->engagement.mq_follow_through +
                 r->engagement.mq_strategic;
    if (fabs(sum - 100) > SUM_EPSILON)
        fail_at(&mq, NULL,
                "the five attributes must sum to 100 (a perfect meeting), "
                "they sum to %.10g",
                sum);
}

static void check_breadth(map_t *eng, sk_rules_t *r)
{
    static const char *const keys[] = {"executive_sponsor", "champion",
                                       "power_user",        "departments",
                                       "max_points",        NULL};
    static const char *const dep_keys[] = {"min", "points", NULL};
    map_t m, dep;
    map_sub(eng, "breadth", keys, &m);
    r->engagement.br_executive = get_nonneg(&m, "executive_sponsor");
    r->engagement.br_champion = get_each_rule(&m, "champion");
    r->engagement.br_power_user = get_each_rule(&m, "power_user");
    map_sub(&m, "departments", dep_keys, &dep);
    r->engagement.br_departments_min = get_int(&dep, "min", 1, MAX_COUNT);
    r->engagement.br_departments = get_nonneg(&dep, "points");
    r->engagement.breadth_max = get_num(&m, "max_points", 1, MAX_POINTS);
}

static void check_product(map_t *eng, sk_rules_t *r)
{
    static const char *const keys[] = {"weights", "catalogue", NULL};
    static const char *const w_keys[] = {"core", "advanced", "basic", NULL};
    static const char *const f_keys[] = {"key", "class", NULL};
    ctx_t *c = eng->c;
    map_t m, w;
    map_sub(eng, "product", keys, &m);
    map_sub(&m, "weights", w_keys, &w);
    for (int cls = 0; cls < SK_FEATURE__COUNT; cls++)
        r->engagement.feature_weight[cls] =
            get_nonneg(&w, feature_classes[cls]);

    int list = get_list(&m, "catalogue", 1, SK_RULES_MAX_FEATURES);
    if (list < 0)
        return;
    int i = 0;
    double total = 0;
    for (int it = c->nodes[list].first; it >= 0 && !c->failed;
         it = c->nodes[it].next, i++) {
        char path[PATH_LEN];
        map_t f;
        sk_feature_t *feat = &r->engagement.features[i];
        snprintf(path, sizeof path, "engagement.product.catalogue[%d]", i);
        map_open(c, it, path, f_keys, &f);
        get_str(&f, "key", feat->key, sizeof feat->key);
        int cls_node = map_get(&f, "class");
        if (c->failed)
            break;
        const tnode_t *cn = &c->nodes[cls_node];
        int cls = -1;
        for (int k = 0; k < SK_FEATURE__COUNT && cn->kind == N_SCALAR; k++)
            if (strlen(feature_classes[k]) == cn->len &&
                memcmp(cn->text, feature_classes[k], cn->len) == 0)
                cls = k;
        if (cls < 0) {
            char where[PATH_LEN];
            join(where, sizeof where, path, "class");
            type_error(c, cn, where, "core, advanced or basic");
            break;
        }
        feat->cls = (sk_feature_class_t)cls;
        feat->key_hash = sk_hash64(feat->key, strlen(feat->key), SK_HASH_SEED);
        total += r->engagement.feature_weight[cls];
        for (int j = 0; j < i; j++)
            if (strcmp(r->engagement.features[j].key, feat->key) == 0)
                fail_at(&f, "key", "feature '%s' is already in the catalogue",
                        feat->key);
    }
    r->engagement.n_features = i;
    if (!c->failed && total <= 0)
        fail_at(&m, "catalogue",
                "the catalogue weighs 0 with these weights: the product "
                "dimension would have nothing to measure");
}

static void check_engagement(map_t *root, sk_rules_t *r)
{
    static const char *const keys[] = {
        "weights", "frequency", "quality", "breadth", "product", "tiers", NULL};
    static const char *const w_keys[] = {"frequency", "quality", "breadth",
                                         "product", NULL};
    static const char *const t_keys[] = {"green", "yellow", "orange", NULL};
    map_t m, w, t;
    map_sub(root, "engagement", keys, &m);

    map_sub(&m, "weights", w_keys, &w);
    r->engagement.w_frequency = get_num(&w, "frequency", 0, 1);
    r->engagement.w_quality = get_num(&w, "quality", 0, 1);
    r->engagement.w_breadth = get_num(&w, "breadth", 0, 1);
    r->engagement.w_product = get_num(&w, "product", 0, 1);
    double sum = r->engagement.w_frequency + r->engagement.w_quality +
                 r->engagement.w_breadth + r->engagement.w_product;
    if (fabs(sum - 1) > SUM_EPSILON)
        fail_at(&w, NULL, "the four weights must sum to 1, they sum to %.10g",
                sum);

    check_frequency(&m, r);
    check_quality(&m, r);
    check_breadth(&m, r);
    check_product(&m, r);

    map_sub(&m, "tiers", t_keys, &t);
    double *tier = r->engagement.tier_min;
    tier[SK_TIER_GREEN] = get_num(&t, "green", 0, 100);
    tier[SK_TIER_YELLOW] = get_num(&t, "yellow", 0, 100);
    tier[SK_TIER_ORANGE] = get_num(&t, "orange", 0, 100);
    tier[SK_TIER_RED] = 0;
    if (tier[SK_TIER_YELLOW] >= tier[SK_TIER_GREEN])
        fail_at(&t, "yellow", "must be below green (%.10g)",
                tier[SK_TIER_GREEN]);
    else if (tier[SK_TIER_ORANGE] >= tier[SK_TIER_YELLOW])
        fail_at(&t, "orange", "must be below yellow (%.10g)",
                tier[SK_TIER_YELLOW]);
}

static void check_customer(map_t *root, sk_rules_t *r)
{
    static const char *const keys[] = {"base",
                                       "min",
                                       "max",
                                       "active_week",
                                       "first_feature",
                                       "support_resolved",
                                       "page_view",
                                       "nps",
                                       "referral",
                                       "renewal",
                                       "payment_failures",
                                       "no_login_30d",
                                       "upsell",
                                       "segments",
                                       NULL};
    static const char *const sr_keys[] = {"satisfied", "unsatisfied", NULL};
    static const char *const pv_keys[] = {"advanced_feature", "cancellation",
                                          NULL};
    static const char *const nps_keys[] = {"promoter_min", "promoter",
                                           "detractor_max", "detractor", NULL};
    static const char *const pf_keys[] = {"min", "points", NULL};
    static const char *const up_keys[] = {
        "plan_usage_min_percent", "plan_usage",     "enterprise_feature_view",
        "seat_request",           "first_api_call", NULL};
    static const char *const seg_keys[] = {"upsell_candidate", "loyal", "risk",
                                           "at_risk", NULL};
    static const char *const uc_keys[] = {"min_score", "min_upsell", NULL};
    static const char *const loyal_keys[] = {"min_score", "months", NULL};
    static const char *const below_keys[] = {"below", NULL};
    map_t m, sub;
    map_sub(root, "customer", keys, &m);

    r->customer.base = get_points(&m, "base");
    r->customer.min = get_points(&m, "min");
    r->customer.max = get_points(&m, "max");
    if (r->customer.min >= r->customer.max)
        fail_at(&m, "max", "must be above min (%.10g)", r->customer.min);
    else if (r->customer.base < r->customer.min ||
             r->customer.base > r->customer.max)
        fail_at(&m, "base", "must lie between min and max");
    r->customer.active_week = get_points(&m, "active_week");
    r->customer.first_feature = get_points(&m, "first_feature");

    map_sub(&m, "support_resolved", sr_keys, &sub);
    r->customer.support_satisfied = get_points(&sub, "satisfied");
    r->customer.support_unsatisfied = get_points(&sub, "unsatisfied");

    map_sub(&m, "page_view", pv_keys, &sub);
    r->customer.advanced_feature_view = get_points(&sub, "advanced_feature");
    r->customer.cancellation_view = get_points(&sub, "cancellation");

    map_sub(&m, "nps", nps_keys, &sub);
    r->customer.nps_promoter_min = get_int(&sub, "promoter_min", 0, 10);
    r->customer.nps_promoter = get_points(&sub, "promoter");
    r->customer.nps_detractor_max = get_int(&sub, "detractor_max", 0, 10);
    r->customer.nps_detractor = get_points(&sub, "detractor");
    if (r->customer.nps_detractor_max >= r->customer.nps_promoter_min)
        fail_at(&sub, "detractor_max", "must be below promoter_min (%d)",
                r->customer.nps_promoter_min);

    r->customer.referral = get_points(&m, "referral");
    r->customer.renewal = get_points(&m, "renewal");

    map_sub(&m, "payment_failures", pf_keys, &sub);
    r->customer.payment_failures_min = get_int(&sub, "min", 1, MAX_COUNT);
    r->customer.payment_failures = get_points(&sub, "points");

    r->customer.no_login = get_points(&m, "no_login_30d");

    map_sub(&m, "upsell", up_keys, &sub);
    r->customer.upsell_plan_usage_min =
        get_num(&sub, "plan_usage_min_percent", 0, 1000);
    r->customer.upsell_plan_usage = get_points(&sub, "plan_usage");
    r->customer.upsell_enterprise_view =
        get_points(&sub, "enterprise_feature_view");
    r->customer.upsell_seat_request = get_points(&sub, "seat_request");
    r->customer.upsell_first_api_call = get_points(&sub, "first_api_call");

    map_t seg, s;
    map_sub(&m, "segments", seg_keys, &seg);
    map_sub(&seg, "upsell_candidate", uc_keys, &s);
    r->customer.upsell_candidate_min_score = get_points(&s, "min_score");
    r->customer.upsell_candidate_min_upsell = get_points(&s, "min_upsell");
    map_sub(&seg, "loyal", loyal_keys, &s);
    r->customer.loyal_min_score = get_points(&s, "min_score");
    r->customer.loyal_months = get_int(&s, "months", 1, 120);
    map_sub(&seg, "risk", below_keys, &s);
    r->customer.risk_below = get_points(&s, "below");
    map_sub(&seg, "at_risk", below_keys, &s);
    r->customer.at_risk_below = get_points(&s, "below");
    if (r->customer.at_risk_below < r->customer.risk_below)
        fail_at(&s, "below", "must not be below risk.below (%.10g)",
                r->customer.risk_below);
}

static void check_health(map_t *root, sk_rules_t *r)
{
    static const char *const play_keys[] = {"play", "sla_hours", NULL};
    const char *keys[SK_HEALTH__COUNT + 1];
    ctx_t *c = root->c;
    map_t m;
    for (int h = 0; h < SK_HEALTH__COUNT; h++)
        keys[h] = sk_health_name((sk_health_t)h);
    keys[SK_HEALTH__COUNT] = NULL;
    map_sub(root, "health", keys, &m);
    for (int h = 0; h < SK_HEALTH__COUNT; h++) {
        map_t p;
        sk_play_t *play = &r->plays[h];
        map_sub(&m, keys[h], play_keys, &p);
        get_str(&p, "play", play->name, sizeof play->name);
        int node = map_get(&p, "sla_hours");
        if (c->failed)
            return;
        const tnode_t *n = &c->nodes[node];
        if (is_null(n) || (n->kind == N_SCALAR && n->len == 4 &&
                           memcmp(n->text, "none", 4) == 0)) {
            play->sla_hours = -1;
        } else {
            char path[PATH_LEN];
            join(path, sizeof path, p.path, "sla_hours");
            bool integral;
            if (n->kind != N_SCALAR || !n->plain ||
                !looks_decimal(n->text, &integral) || !integral)
                type_error(c, n, path, "a whole number of hours or none");
            else
                play->sla_hours =
                    (int)node_int(c, node, path, 0, MAX_SLA_HOURS);
        }
    }
}

static void check_flags(map_t *root, sk_rules_t *r)
{
    static const char *const count_keys[] = {"severity", "?enabled",
                                             "min_count", NULL};
    static const char *const drop_keys[] = {
        "severity", "?enabled", "below_ratio", "min_previous_minutes", NULL};
    static const char *const detractor_keys[] = {"severity", "?enabled",
                                                 "max_nps", NULL};
    static const char *const single_keys[] = {"severity", "?enabled", "users",
                                              NULL};
    static const char *const slow_keys[] = {
        "severity", "?enabled", "above_hours", "before_at_most_hours", NULL};
    static const char *const plain_keys[] = {"severity", "?enabled", NULL};
    const char *keys[SK_FLAG__COUNT + 1];
    ctx_t *c = root->c;
    map_t m;
    for (int f = 0; f < SK_FLAG__COUNT; f++)
        keys[f] = sk_flag_name((sk_flag_t)f);
    keys[SK_FLAG__COUNT] = NULL;
    map_sub(root, "flags", keys, &m);

    for (int f = 0; f < SK_FLAG__COUNT && !c->failed; f++) {
        sk_flag_rule_t *fr = &r->flags[f];
        const char *const *fkeys = plain_keys;
        switch ((sk_flag_t)f) {
        case SK_FLAG_MISSED_MEETINGS:
        case SK_FLAG_UNANSWERED_OUTREACH:
        case SK_FLAG_QBR_DECLINED:
        case SK_FLAG_PAYMENT_FAILURES:
        case SK_FLAG_CANCELLATION_INTENT:
            fkeys = count_keys;
            break;
        case SK_FLAG_USAGE_DROP:
            fkeys = drop_keys;
            break;
        case SK_FLAG_DETRACTOR:
            fkeys = detractor_keys;
            break;
        case SK_FLAG_SINGLE_THREADED:
            fkeys = single_keys;
            break;
        case SK_FLAG_SLOW_RESPONSE:
            fkeys = slow_keys;
            break;
        default:
            break;
        }
        map_t fm;
        map_sub(&m, keys[f], fkeys, &fm);
        int sev = map_get(&fm, "severity");
        if (c->failed)
            return;
        const tnode_t *sn = &c->nodes[sev];
        int parsed =
            sn->kind == N_SCALAR ? sk_severity_parse(sn->text, sn->len) : -1;
        if (parsed < 0) {
            char path[PATH_LEN];
            join(path, sizeof path, fm.path, "severity");
            type_error(c, sn, path, "red or yellow");
            return;
        }
        fr->severity = (sk_severity_t)parsed;
        fr->enabled = get_bool(&fm, "enabled", true);
        fr->threshold = fr->threshold2 = 0;
        if (fkeys == count_keys) {
            fr->threshold = get_int(&fm, "min_count", 1, MAX_COUNT);
        } else if (fkeys == drop_keys) {
            fr->threshold = get_num(&fm, "below_ratio", 0, 1);
            if (!c->failed && fr->threshold <= 0)
                fail_at(&fm, "below_ratio", "must be above 0");
            fr->threshold2 = get_nonneg(&fm, "min_previous_minutes");
        } else if (fkeys == detractor_keys) {
            fr->threshold = get_int(&fm, "max_nps", 0, 10);
        } else if (fkeys == single_keys) {
            fr->threshold = get_int(&fm, "users", 1, MAX_COUNT);
        } else if (fkeys == slow_keys) {
            fr->threshold = get_nonneg(&fm, "above_hours");
            fr->threshold2 = get_nonneg(&fm, "before_at_most_hours");
            if (fr->threshold2 > fr->threshold)
                fail_at(&fm, "before_at_most_hours",
                        "must not be above above_hours (%.10g)", fr->threshold);
        }
    }
}

static void check_rules(ctx_t *c, int root, sk_rules_t *r)
{
    static const char *const keys[] = {
        "version",    "window_days", "dedup",  "points", "stages",
        "engagement", "customer",    "health", "flags",  NULL};
    static const char *const dedup_keys[] = {"horizon_days", "max_ids", NULL};
    map_t m, d;
    map_open(c, root, "", keys, &m);
    get_str(&m, "version", r->version, sizeof r->version);
    r->window_days = get_int(&m, "window_days", 1, SK_RULES_MAX_WINDOW_DAYS);
    map_sub(&m, "dedup", dedup_keys, &d);
    r->dedup_horizon_days =
        get_int(&d, "horizon_days", 0, SK_RULES_MAX_WINDOW_DAYS);
    r->dedup_max_ids = get_int(&d, "max_ids", 1, 65536);
    check_points(&m, r);
    check_stages(&m, r);
    check_engagement(&m, r);
    check_customer(&m, r);
    check_health(&m, r);
    check_flags(&m, r);
}

/* ------------------------------------------------------------------ */
/* public                                                              */

int sk_rules_load_buffer(const char *name, const char *yaml, size_t len,
                         sk_rules_t *rules, char *errstr, size_t errlen)
{
    ctx_t c = {
        .name = name ? name : "<rules>", .errstr = errstr, .errlen = errlen};
    sk_rules_t tmp;
    memset(&tmp, 0, sizeof tmp);
    if (errstr && errlen)
        errstr[0] = '\0';
    if (yaml == NULL && len > 0)
        fail(&c, 0, "no rules text");
    else if (len > SK_RULES_MAX_BYTES)
        fail(&c, 0, "larger than the %d-byte limit of a rules file",
             SK_RULES_MAX_BYTES);
    if (!c.failed) {
        int root = tree_build(&c, yaml ? yaml : "", len);
        if (!c.failed)
            check_rules(&c, root, &tmp);
    }
    tree_free(&c);
    if (c.failed)
        return SK_ERR;
    if (rules)
        *rules = tmp;
    return SK_OK;
}

int sk_rules_load(const char *path, sk_rules_t *rules, char *errstr,
                  size_t errlen)
{
    ctx_t c = {
        .name = path ? path : "<rules>", .errstr = errstr, .errlen = errlen};
    char *buf = NULL;
    size_t len = 0;
    int rc = SK_ERR;
    FILE *fp = path ? fopen(path, "rb") : NULL;
    if (fp == NULL) {
        fail(&c, 0, "cannot open: %s", path ? strerror(errno) : "no path");
        goto cleanup;
    }
    buf = malloc((size_t)SK_RULES_MAX_BYTES + 1);
    if (buf == NULL) {
        fail(&c, 0, "out of memory");
        goto cleanup;
    }
    len = fread(buf, 1, (size_t)SK_RULES_MAX_BYTES + 1, fp);
    if (ferror(fp)) {
        fail(&c, 0, "cannot read: %s", strerror(errno));
        goto cleanup;
    }
    if (len > SK_RULES_MAX_BYTES) {
        fail(&c, 0, "larger than the %d-byte limit of a rules file",
             SK_RULES_MAX_BYTES);
        goto cleanup;
    }
    rc = sk_rules_load_buffer(path, buf, len, rules, errstr, errlen);
cleanup:
    if (fp)
        fclose(fp);
    free(buf);
    return rc;
}

int sk_rules_feature_index(const sk_rules_t *rules, const char *key)
{
    if (rules == NULL || key == NULL)
        return -1;
    int n = rules->engagement.n_features;
    for (int i = 0; i < n && i < SK_RULES_MAX_FEATURES; i++)
        if (strcmp(rules->engagement.features[i].key, key) == 0)
            return i;
    return -1;
}
