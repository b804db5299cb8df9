/*
 * cmd_top.c - `scorekeeper top`: accounts by customer score, optionally
 * only one health tier or one flag, from the indexes scorekeeperd keeps
 * in Redis.
 *
 * The ranking comes from the sorted-set indexes (sk_redis_top) and the
 * columns from the readable scores record of each account, fetched in one
 * pipelined round trip (sk_redis_get_fields): no state blob is decoded,
 * so listing is cheap whatever the accounts hold.  The values are the
 * ones the daemon last wrote; `scorekeeper show` evaluates one account
 * at now.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_redis.h"
#include "redis_store.h"
#include "scorekeeper/model.h"

#define DEFAULT_LIMIT 20

/* The hash fields shown, in this order. */
enum {
    F_CUSTOMER,
    F_ENGAGEMENT,
    F_ENG_TIER,
    F_HEALTH,
    F_STAGE,
    F_POINTS,
    F_SEGMENT,
    F_FLAGS,
    F_UPDATED_AT,
    F__COUNT
};
static const char *const field_names[F__COUNT] = {
    "customer", "engagement", "eng_tier", "health",    "stage",
    "points",   "segment",    "flags",    "updated_at"};

static void top_usage(FILE *out)
{
    fprintf(out,
            "usage: scorekeeper top [OPTIONS]\n\n"
            "List accounts by customer score, highest first, from the "
            "indexes scorekeeperd\nkeeps in Redis: customer score, "
            "engagement and its tier, health tier, points\nstage, segment "
            "and raised flags.\n\n"
            "Options:\n" SK_CLI_REDIS_HELP
            "  --tier TIER           only this health tier (at_risk, watch, "
            "growth, healthy)\n"
            "  --flag FLAG           only accounts with FLAG raised "
            "(no_login_30d, ...)\n"
            "  --limit N             at most N accounts (default %d, 0: "
            "all)\n"
            "  --json                one JSON object a line instead of a "
            "table\n"
            "  --help                this text\n\n"
            "Exit status: 0 ok (also when no account matches), 1 error, 2 "
            "usage.\n",
            DEFAULT_LIMIT);
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* A stored number rounded to one decimal as JSON, or null. */
static json_t *json_number(const char *s, int integer)
{
    if (!s || !*s)
        return json_null();
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return json_null();
    if (integer)
        return json_integer((json_int_t)v);
    return json_real(round(v * 10) / 10);
}

static json_t *json_str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *json_flags(const char *s)
{
    json_t *a = json_array();
    if (!a || !s)
        return a;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0)
            json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

static int print_json(const sk_redis_ranked_t *row, char *const *v)
{
    json_t *o = json_object();
    if (!o)
        return SK_ERR;
    json_object_set_new(o, "account", json_string(row->account));
    json_object_set_new(o, "customer", json_number(v[F_CUSTOMER], 0));
    json_object_set_new(o, "engagement", json_number(v[F_ENGAGEMENT], 0));
    json_object_set_new(o, "eng_tier", json_str_or_null(v[F_ENG_TIER]));
    json_object_set_new(o, "health", json_str_or_null(v[F_HEALTH]));
    json_object_set_new(o, "stage", json_number(v[F_STAGE], 1));
    json_object_set_new(o, "points", json_number(v[F_POINTS], 1));
    json_object_set_new(o, "segment", json_str_or_null(v[F_SEGMENT]));
    json_object_set_new(o, "flags", json_flags(v[F_FLAGS]));
    json_object_set_new(o, "updated_at", json_str_or_null(v[F_UPDATED_AT]));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (!text)
        return SK_ERR;
    printf("%s\n", text);
    free(text);
    return SK_OK;
}

/* A stored score for the table: one decimal, or "-". */
static void fmt_score(char *buf, size_t len, const char *s)
{
    char *end;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f", v);
}

static void print_table(const sk_redis_ranked_t *rows, size_t n,
                        char *const *values)
{
    int w = 7;
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(rows[i].account);
        if (len > w)
            w = len > 40 ? 40 : len;
    }
    printf("%-*s  %8s  %-17s  %-8s  %6s  %7s  %-16s  %s\n", w, "ACCOUNT",
           "CUSTOMER", "ENGAGEMENT", "HEALTH", "STAGE", "POINTS", "SEGMENT",
           "FLAGS");
    for (size_t i = 0; i < n; i++) {
        char *const *v = &values[i * F__COUNT];
        char customer[32], engagement[32], eng[40];
        fmt_score(customer, sizeof customer, v[F_CUSTOMER]);
        fmt_score(engagement, sizeof engagement, v[F_ENGAGEMENT]);
        snprintf(eng, sizeof eng, "%s %s", engagement, or_dash(v[F_ENG_TIER]));
        printf("%-*s  %8s  %-17s  %-8s  %6s  %7s  %-16s  %s\n", w,
               rows[i].account, customer, eng, or_dash(v[F_HEALTH]),
               or_dash(v[F_STAGE]), or_dash(v[F_POINTS]), or_dash(v[F_SEGMENT]),
               or_dash(v[F_FLAGS]));
    }
}

int sk_cmd_top(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_REDIS_LONG_OPTIONS,
        {"tier", required_argument, NULL, 't'},
        {"flag", required_argument, NULL, 'f'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sk_cli_redis_t ra = {0};
    const char *tier = NULL, *flag = NULL;
    long limit = DEFAULT_LIMIT;
    int json = 0;
    int status = SK_EXIT_USAGE;
    char errstr[SK_ERRSTR_LEN];
    sk_redis_t *redis = NULL;
    sk_redis_ranked_t *rows = NULL;
    size_t n = 0;
    const char **ids = NULL;
    char **values = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'r':
        case 'p':
        case 'd':
        case 'u':
        case 'P':
            sk_cli_redis_option(&ra, c, optarg);
            break;
        case 't':
            if (sk_health_parse(optarg, strlen(optarg)) < 0) {
                fprintf(stderr,
                        "scorekeeper top: --tier: '%s' is not a "
                        "health tier (at_risk, watch, growth, "
                        "healthy)\n",
                        optarg);
                goto cleanup;
            }
            tier = optarg;
            break;
        case 'f':
            if (sk_flag_parse(optarg, strlen(optarg)) < 0) {
                fprintf(stderr,
                        "scorekeeper top: --flag: '%s' is not a "
                        "flag; the flags are:",
                        optarg);
                for (int f = 0; f < SK_FLAG__COUNT; f++)
                    fprintf(stderr, " %s", sk_flag_name((sk_flag_t)f));
                fprintf(stderr, "\n");
                goto cleanup;
            }
            flag = optarg;
            break;
        case 'l': {
            char *end;
            errno = 0;
            limit = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || limit < 0 ||
                limit > 1000000) {
                fprintf(stderr,
                        "scorekeeper top: --limit: '%s' is not a "
                        "count (0 for all)\n",
                        optarg);
                goto cleanup;
            }
            break;
        }
        case 'j':
            json = 1;
            break;
        case 'h':
            top_usage(stdout);
            status = SK_EXIT_OK;
            goto cleanup;
        default:
            top_usage(stderr);
            goto cleanup;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "scorekeeper top: unexpected argument '%s'\n",
                argv[optind]);
        goto cleanup;
    }

    status = SK_EXIT_ERROR;
    int usage_error;
    redis = sk_cli_redis_open(&ra, "top", &usage_error);
    if (!redis) {
        if (usage_error)
            status = SK_EXIT_USAGE;
        goto cleanup;
    }
    if (sk_redis_top(redis, tier, flag, (size_t)limit, &rows, &n, errstr,
                     sizeof errstr) != SK_OK) {
        fprintf(stderr, "scorekeeper top: %s\n", errstr);
        goto cleanup;
    }
    if (n > 0) {
        ids = malloc(n * sizeof *ids);
        if (!ids) {
            fprintf(stderr, "scorekeeper top: out of memory\n");
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++)
            ids[i] = rows[i].account;
        if (sk_redis_get_fields(redis, ids, n, field_names, F__COUNT, &values,
                                errstr, sizeof errstr) != SK_OK) {
            fprintf(stderr, "scorekeeper top: %s\n", errstr);
            goto cleanup;
        }
    }
    if (json) {
        for (size_t i = 0; i < n; i++) {
            if (print_json(&rows[i], &values[i * F__COUNT]) != SK_OK) {
                fprintf(stderr, "scorekeeper top: out of memory\n");
                goto cleanup;
            }
        }
    } else if (n > 0) {
        print_table(rows, n, values);
    } else {
        fprintf(stderr, "scorekeeper top: no account%s%s%s%s\n",
                tier ? " in tier " : "", tier ? tier : "",
                flag ? " with flag " : "", flag ? flag : "");
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scorekeeper top: cannot write the output\n");
        goto cleanup;
    }
    status = SK_EXIT_OK;
cleanup:
    if (values) {
        for (size_t i = 0; i < n * F__COUNT; i++)
            free(values[i]);
        free(values);
    }
    free(ids);
    free(rows);
    sk_redis_close(redis);
    return status;
}
