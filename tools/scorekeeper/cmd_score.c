/*
 * cmd_score.c - the offline commands: `scorekeeper score` and
 * `scorekeeper explain`.
 *
 * Both read JSON-lines events in file order (accounts interleaved, time
 * order not required), apply them through the same core the daemon uses,
 * evaluate every account at --now (default: the latest event time), and
 * print.  An invalid line is reported with its line number and reason and
 * skipped; the rest is processed and the exit status is 3.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scorekeeper/account_set.h"
#include "scorekeeper/scores.h"

typedef struct score_opts {
    const char *rules_path;
    const char *input; /* path, or NULL / "-" for stdin */
    const char *account; /* explain: the account */
    bool has_now;
    int64_t now_ms;
    bool alerts;
} score_opts_t;

typedef struct run {
    sk_rules_t rules;
    sk_account_set_t *set;
    sk_alerts_t alerts;
    int64_t latest_ms;     /* latest event time applied */
    unsigned long invalid; /* lines rejected */
    unsigned long later;   /* events after --now, ignored */
} run_t;

static void print_alerts(run_t *run)
{
    for (size_t i = 0; i < run->alerts.n; i++) {
        char *json = sk_alert_to_json(&run->alerts.v[i]);
        if (json) {
            puts(json);
            free(json);
        }
    }
    sk_alerts_clear(&run->alerts);
}

/* Read and apply every event.  @returns SK_OK, or SK_ERR on I/O or
 * out-of-memory errors (invalid lines are counted, not errors). */
static int read_events(run_t *run, const score_opts_t *o)
{
    FILE *in = stdin;
    const char *name = "-";
    if (o->input && strcmp(o->input, "-") != 0) {
        name = o->input;
        if (!(in = fopen(o->input, "r"))) {
            fprintf(stderr, "scorekeeper: cannot open %s: %m\n", o->input);
            return SK_ERR;
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    int rc = SK_OK;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        sk_event_t ev;
        sk_decode_error_t err;
        if (sk_event_decode_json(line, (size_t)len, &ev, &err) != SK_OK) {
            fprintf(stderr, "%s:%lu: %s: %s\n", name, lineno,
                    sk_reject_name(err.code), err.message);
            run->invalid++;
            continue;
        }
        if (o->account && strcmp(ev.account, o->account) != 0)
            continue;
        if (o->has_now && ev.ts_ms > o->now_ms) {
            run->later++;
            continue;
        }
        if (sk_account_set_apply(run->set, &run->rules, &ev, &run->alerts) ==
            SK_ERR) {
            fprintf(stderr, "%s:%lu: out of memory\n", name, lineno);
            rc = SK_ERR;
            break;
        }
        if (ev.ts_ms > run->latest_ms)
            run->latest_ms = ev.ts_ms;
        if (o->alerts)
            print_alerts(run);
        else
            sk_alerts_clear(&run->alerts);
    }
    if (rc == SK_OK && ferror(in)) {
        fprintf(stderr, "scorekeeper: reading %s: %m\n", name);
        rc = SK_ERR;
    }
    free(line);
    if (in != stdin)
        fclose(in);
    return rc;
}

static void score_usage(FILE *out, bool explain)
{
    if (explain)
        fprintf(out,
                "usage: scorekeeper explain --account ID [--rules FILE] "
                "[--now ISO8601] [FILE.jsonl | -]\n\n"
                "Shows how each score of one account was made: each component "
                "with its\ncount, points, cap and share of the total.\n");
    else
        fprintf(out,
                "usage: scorekeeper score [--rules FILE] [--now ISO8601] "
                "[--alerts] [FILE.jsonl | -]\n\n"
                "Reads JSON-lines events and prints one JSON object per "
                "account, sorted by\naccount id, evaluated at --now (default: "
                "the latest event time).\n");
    fprintf(out,
            "\nOptions:\n"
            "  --rules FILE     rules file (default $SCOREKEEPER_RULES or "
            "deploy/rules.yaml)\n"
            "  --now ISO8601    evaluate at this time; later events are "
            "ignored\n");
    if (explain)
        fprintf(out, "  --account ID     the account to explain (required)\n");
    else
        fprintf(out, "  --alerts         print every alert, in the order they "
                     "happen, instead\n");
    fprintf(out, "  --help           this text\n\n"
                 "Exit status: 0 ok, 1 error, 2 usage, 3 some lines were "
                 "invalid.\n");
}

static int parse_opts(int argc, char **argv, bool explain, score_opts_t *o)
{
    static const struct option longopts[] = {
        {"rules", required_argument, NULL, 'r'},
        {"now", required_argument, NULL, 'n'},
        {"alerts", no_argument, NULL, 'a'},
        {"account", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rules = NULL;
    int c;
    memset(o, 0, sizeof *o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rules = optarg;
            break;
        case 'n':
            if (sk_parse_time(optarg, &o->now_ms) != SK_OK) {
                fprintf(stderr, "scorekeeper: --now: not an ISO 8601 time: "
                                "'%s'\n", optarg);
                return SK_EXIT_USAGE;
            }
            o->has_now = true;
            break;
        case 'a':
            if (explain)
                goto bad;
            o->alerts = true;
            break;
        case 'c':
            if (!explain)
                goto bad;
            o->account = optarg;
            break;
        case 'h':
            score_usage(stdout, explain);
            return -1;
        default:
            goto bad;
        }
    }
    if (explain && !o->account) {
        fprintf(stderr, "scorekeeper explain: --account is required\n");
        goto bad;
    }
    if (optind < argc - 1) {
        fprintf(stderr, "scorekeeper: one input file at most\n");
        goto bad;
    }
    o->input = optind < argc ? argv[optind] : NULL;
    o->rules_path = sk_cli_rules_path(rules);
    return SK_EXIT_OK;
bad:
    score_usage(stderr, explain);
    return SK_EXIT_USAGE;
}

/* Load the rules and apply the input: the part both commands share. */
static int run_input(run_t *run, const score_opts_t *o)
{
    char err[SK_ERRSTR_LEN];
    memset(run, 0, sizeof *run);
    if (sk_rules_load(o->rules_path, &run->rules, err, sizeof err) != SK_OK) {
        fprintf(stderr, "scorekeeper: %s\n", err);
        return SK_ERR;
    }
    if (!(run->set = sk_account_set_new()))
        return SK_ERR;
    if (read_events(run, o) != SK_OK)
        return SK_ERR;
    if (run->later)
        fprintf(stderr, "scorekeeper: %lu events after --now ignored\n",
                run->later);
    int64_t now = o->has_now ? o->now_ms : run->latest_ms;
    if (sk_account_set_evaluate(run->set, &run->rules, now, &run->alerts) !=
        SK_OK)
        return SK_ERR;
    return SK_OK;
}

static int finish(run_t *run, int status)
{
    sk_account_set_destroy(run->set);
    sk_alerts_free(&run->alerts);
    if (status == SK_EXIT_OK && run->invalid) {
        fprintf(stderr, "scorekeeper: %lu invalid lines skipped\n",
                run->invalid);
        status = SK_EXIT_INVALID_INPUT;
    }
    return status;
}

int sk_cmd_score(int argc, char **argv)
{
    score_opts_t o;
    int rc = parse_opts(argc, argv, false, &o);
    if (rc != SK_EXIT_OK)
        return rc < 0 ? SK_EXIT_OK : rc;
    run_t run;
    if (run_input(&run, &o) != SK_OK)
        return finish(&run, SK_EXIT_ERROR);
    if (o.alerts) {
        print_alerts(&run);
        return finish(&run, SK_EXIT_OK);
    }
    size_t n;
    sk_account_t **accounts = sk_account_set_sorted(run.set, &n);
    for (size_t i = 0; i < n; i++) {
        char *json = sk_scores_to_json(accounts[i], &run.rules);
        if (!json) {
            free(accounts);
            return finish(&run, SK_EXIT_ERROR);
        }
        puts(json);
        free(json);
    }
    free(accounts);
    return finish(&run, SK_EXIT_OK);
}

int sk_cmd_explain(int argc, char **argv)
{
    score_opts_t o;
    int rc = parse_opts(argc, argv, true, &o);
    if (rc != SK_EXIT_OK)
        return rc < 0 ? SK_EXIT_OK : rc;
    run_t run;
    if (run_input(&run, &o) != SK_OK)
        return finish(&run, SK_EXIT_ERROR);
    sk_account_t *acct = sk_account_set_get(run.set, o.account);
    if (!acct) {
        fprintf(stderr, "scorekeeper explain: no events for account '%s'\n",
                o.account);
        return finish(&run, SK_EXIT_ERROR);
    }
    char *text = sk_scores_explain(acct, &run.rules);
    if (!text)
        return finish(&run, SK_EXIT_ERROR);
    fputs(text, stdout);
    free(text);
    return finish(&run, SK_EXIT_OK);
}
