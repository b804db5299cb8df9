/*
 * cmd_show.c - `scorekeeper show`: one account as scorekeeperd stored it,
 * scored at a moment.
 *
 * The stored state is what the daemon last wrote; time may have passed
 * since (a silent customer raises no_login_30d at a midnight with no
 * event).  So show loads the state, evaluates a copy at now (the wall
 * clock, the daemon's SCOREKEEPER_CLOCK_FILE when set, or --now) the way
 * the daemon would, discards the alerts that produces, and prints the
 * scores.  The JSON form is the object `scorekeeper score --now` prints
 * for the same events, so the offline scorer and the live system can be
 * compared line by line.  Nothing is written back.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_redis.h"
#include "clock.h"
#include "redis_store.h"
#include "scorekeeper/account.h"
#include "scorekeeper/alert.h"
#include "scorekeeper/rules.h"
#include "scorekeeper/scores.h"

static void show_usage(FILE *out)
{
    fprintf(out,
            "usage: scorekeeper show ACCOUNT [OPTIONS]\n"
            "       scorekeeper show --field NAME ACCOUNT... [OPTIONS]\n\n"
            "Print one account's scores from the state scorekeeperd keeps "
            "in Redis,\nevaluated at now: points and stage, engagement, "
            "customer score, health tier\nwith its play, and the raised "
            "flags with their evidence, then how each score\nwas made.\n\n"
            "Options:\n" SK_CLI_REDIS_HELP
            "  --rules FILE          rules file (default $SCOREKEEPER_RULES "
            "or\n"
            "                        deploy/rules.yaml)\n"
            "  --now ISO8601         evaluate at this time (default: now)\n"
            "  --json                print the JSON object `scorekeeper score "
            "--now` prints\n"
            "  --field NAME          print one field as stored, not "
            "evaluated (empty when\n"
            "                        absent): a field of the scores record "
            "(points, stage,\n"
            "                        engagement, eng_tier, customer, upsell, "
            "segment,\n"
            "                        health, play, sla_hours, flags, "
            "updated_at, as_of,\n"
            "                        events_applied, rules_version), gen, "
            "outbox (its size\n"
            "                        in bytes), or bucket (PREFIX:{NN} of its "
            "hashes)\n"
            "  --help                this text\n\n"
            "Exit status: 0 ok, 1 error or account not stored, 2 usage.\n");
}

static void print_readable(const sk_account_t *acct, const sk_rules_t *rules,
                           const sk_scores_t *s)
{
    char now[32], updated[32], since[32], reason[512];
    sk_format_time(s->now_ms, now, sizeof now);
    sk_format_time(acct->updated_ms, updated, sizeof updated);
    const sk_play_t *play = &rules->plays[s->health];

    printf("account     %s\n", acct->id);
    printf("as of       %s (last event %s, %" PRIu64 " events)\n", now, updated,
           acct->events_applied);
    printf("points      %" PRId64 ", stage %" PRId64 "\n", s->points, s->stage);
    printf("engagement  %.1f %s (frequency %.1f, quality %.1f%s, breadth "
           "%.1f, product %.1f)\n",
           s->engagement, sk_eng_tier_name(s->eng_tier), s->frequency,
           s->quality, s->quality_neutral ? " neutral" : "", s->breadth,
           s->product);
    if (s->has_velocity)
        printf("velocity    %+.0f%%\n", s->velocity * 100);
    printf("customer    %.1f %s (upsell %.0f)\n", s->customer,
           sk_segment_name(s->segment), s->upsell);
    if (play->sla_hours >= 0)
        printf("health      %s: %s, respond within %d h\n",
               sk_health_name(s->health), play->name, play->sla_hours);
    else
        printf("health      %s: %s\n", sk_health_name(s->health), play->name);
    int any = 0;
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        if (!(s->flags & (1u << f)))
            continue;
        sk_scores_flag_reason(s, rules, (sk_flag_t)f, reason, sizeof reason);
        sk_format_time(acct->reported.flag_since[f], since, sizeof since);
        printf("%-12s%s %s since %s: %s\n", any ? "" : "flags",
               sk_severity_name(rules->flags[f].severity),
               sk_flag_name((sk_flag_t)f), since, reason);
        any = 1;
    }
    if (!any)
        printf("flags       none\n");
}

/* `show --field NAME ID...`: one stored value per account, a line each,
 * for scripts (one pipelined round trip for all of them). */
static int show_field(const sk_cli_redis_t *ra, char *const *ids, size_t n,
                      const char *field)
{
    char errstr[SK_ERRSTR_LEN], bucket[96];
    const char *fields[1] = {field};
    char **v = NULL;
    int usage_error, status = SK_EXIT_ERROR;
    sk_redis_t *redis = sk_cli_redis_open(ra, "show", &usage_error);

    if (!redis)
        return usage_error ? SK_EXIT_USAGE : SK_EXIT_ERROR;
    if (strcmp(field, "bucket") == 0) {
        for (size_t i = 0; i < n; i++) {
            sk_redis_bucket_prefix(redis, ids[i], bucket, sizeof bucket);
            printf("%s\n", bucket);
        }
        status = SK_EXIT_OK;
    } else if (sk_redis_get_fields(redis, (const char *const *)ids, n, fields,
                                   1, &v, errstr, sizeof errstr) != SK_OK) {
        fprintf(stderr, "scorekeeper show: %s\n", errstr);
    } else {
        for (size_t i = 0; i < n; i++) {
            printf("%s\n", v[i] ? v[i] : "");
            free(v[i]);
        }
        free(v);
        status = SK_EXIT_OK;
    }
    if (status == SK_EXIT_OK && fflush(stdout) != 0) {
        fprintf(stderr, "scorekeeper show: cannot write the output\n");
        status = SK_EXIT_ERROR;
    }
    sk_redis_close(redis);
    return status;
}

int sk_cmd_show(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_REDIS_LONG_OPTIONS,
        {"rules", required_argument, NULL, 'R'},
        {"now", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"field", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sk_cli_redis_t ra = {0};
    const char *rules_flag = NULL, *field = NULL;
    int json = 0, have_now = 0;
    int64_t now_ms = 0;
    int status = SK_EXIT_USAGE;
    char errstr[SK_ERRSTR_LEN];
    sk_rules_t *rules = NULL;
    sk_redis_t *redis = NULL;
    sk_account_t *stored = NULL, *copy = NULL;
    sk_alerts_t discarded = {0};
    char *text = NULL;
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
        case 'R':
            rules_flag = optarg;
            break;
        case 'n':
            if (sk_parse_time(optarg, &now_ms) != SK_OK) {
                fprintf(stderr,
                        "scorekeeper show: --now: '%s' is not an "
                        "ISO 8601 UTC time\n",
                        optarg);
                goto cleanup;
            }
            have_now = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'f':
            field = optarg;
            break;
        case 'h':
            show_usage(stdout);
            status = SK_EXIT_OK;
            goto cleanup;
        default:
            show_usage(stderr);
            goto cleanup;
        }
    }
    if (argc - optind != 1 && !(field && argc > optind)) {
        fprintf(stderr, "scorekeeper show: give one ACCOUNT (see --help)\n");
        goto cleanup;
    }
    for (int i = optind; i < argc; i++)
        if (!sk_account_id_valid(argv[i], strlen(argv[i]))) {
            fprintf(stderr,
                    "scorekeeper show: '%s' is not an account id "
                    "(1..%d bytes of A-Z a-z 0-9 . _ : @ -)\n",
                    argv[i], SK_ACCOUNT_MAX);
            goto cleanup;
        }
    const char *id = argv[optind];

    if (field)
        return show_field(&ra, argv + optind, (size_t)(argc - optind), field);

    status = SK_EXIT_ERROR;
    const char *rules_path = sk_cli_rules_path(rules_flag);
    rules = malloc(sizeof *rules);
    if (!rules) {
        fprintf(stderr, "scorekeeper show: out of memory\n");
        goto cleanup;
    }
    if (sk_rules_load(rules_path, rules, errstr, sizeof errstr) != SK_OK) {
        fprintf(stderr, "scorekeeper show: %s\n", errstr);
        goto cleanup;
    }
    int usage_error;
    redis = sk_cli_redis_open(&ra, "show", &usage_error);
    if (!redis) {
        if (usage_error)
            status = SK_EXIT_USAGE;
        goto cleanup;
    }
    if (sk_redis_load_account(redis, id, rules, &stored, errstr,
                              sizeof errstr) != SK_OK) {
        fprintf(stderr, "scorekeeper show: %s\n", errstr);
        goto cleanup;
    }
    if (!stored) {
        fprintf(stderr,
                "scorekeeper show: account %s is not stored in "
                "Redis at %s (prefix %s)\n",
                id, sk_cli_redis_addr(&ra), sk_cli_redis_prefix(&ra));
        goto cleanup;
    }
    if (!have_now)
        now_ms = sk_clock_now_ms();
    copy = sk_account_clone(stored);
    if (!copy ||
        sk_account_evaluate(copy, rules, now_ms, &discarded) != SK_OK) {
        fprintf(stderr, "scorekeeper show: out of memory\n");
        goto cleanup;
    }
    if (copy->clock_ms > now_ms) {
        char clock[32];
        sk_format_time(copy->clock_ms, clock, sizeof clock);
        fprintf(stderr,
                "scorekeeper show: the stored state is newer than "
                "--now; showing it at its own time, %s\n",
                clock);
    }
    if (json) {
        text = sk_scores_to_json(copy, rules);
        if (!text) {
            fprintf(stderr, "scorekeeper show: out of memory\n");
            goto cleanup;
        }
        printf("%s\n", text);
    } else {
        sk_scores_t s;
        sk_scores_compute(copy, rules, &s);
        print_readable(copy, rules, &s);
        text = sk_scores_explain(copy, rules);
        if (!text) {
            fprintf(stderr, "scorekeeper show: out of memory\n");
            goto cleanup;
        }
        printf("\n%s", text);
        if (text[0] && text[strlen(text) - 1] != '\n')
            printf("\n");
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scorekeeper show: cannot write the output\n");
        goto cleanup;
    }
    status = SK_EXIT_OK;
cleanup:
    free(text);
    sk_alerts_free(&discarded);
    sk_account_destroy(copy);
    sk_account_destroy(stored);
    sk_redis_close(redis);
    free(rules);
    return status;
}
