/*
 * cmd_forget.c - `scorekeeper forget`: erase one account from Redis, and
 * say plainly what that does not erase.
 *
 * An account lives in the four hashes of its bucket (state, gen, scores,
 * outbox) and in the sorted sets that index it (by score, health tier
 * and flag) and schedule it (due).  Their names are known, so forget
 * touches exactly those fields and members (sk_redis_forget_keys): no
 * KEYS or SCAN over a keyspace that may hold millions of accounts.
 * Deleting its gen first means a daemon that holds the account in memory
 * sees a conflict on its next write and starts from what Redis holds:
 * nothing.
 *
 * Erasure is irreversible, so without --yes forget shows what it found
 * and asks for the account id on a terminal, and refuses when there is
 * no terminal to ask.  What lives outside Redis (the events in Kafka, the
 * alerts already published and relayed) is listed after every run, so a
 * data-deletion request is not closed on a false belief.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_kafka.h"
#include "cli_redis.h"
#include "redis_store.h"
#include "scorekeeper/event.h"

#define DEFAULT_TOPICS "telemetry,billing"
#define DEFAULT_ALERTS_TOPIC "alerts"
#define DEFAULT_DLQ_TOPIC "scorekeeper.dlq"

static void forget_usage(FILE *out)
{
    fprintf(
        out,
        "usage: scorekeeper forget ACCOUNT [OPTIONS]\n\n"
        "Erase one account from Redis: its state, gen, scores and "
        "pending alerts, and\nits entries in the score, health-tier and "
        "flag indexes and in the due schedule.\nOnly those entries are "
        "touched.  Prints what was removed, then what forget cannot\n"
        "erase: the account's events in the Kafka topics until their "
        "retention expires,\nits dead letters, the alerts already "
        "published and whatever received them\n(Slack), and copies in "
        "Redis snapshots and backups.  scorekeeperd starts the\naccount "
        "afresh if a new event for it arrives.\n\n"
        "Without --yes, shows what it found and asks for the account id "
        "on a terminal;\nwithout a terminal it refuses.\n\n"
        "Options:\n" SK_CLI_REDIS_HELP
        "  --yes                 erase without asking\n"
        "  --json                print the result as one JSON object\n"
        "  --topics LIST         the event topics named in the report "
        "(default\n"
        "                        $SCOREKEEPER_INPUT_TOPICS or " DEFAULT_TOPICS
        ")\n"
        "  --alerts-topic TOPIC  the alerts topic named (default\n"
        "                        $SCOREKEEPER_ALERTS_TOPIC "
        "or " DEFAULT_ALERTS_TOPIC ")\n"
        "  --dlq-topic TOPIC     the dead-letter topic named (default\n"
        "                        $SCOREKEEPER_DLQ_TOPIC or " DEFAULT_DLQ_TOPIC
        ")\n"
        "  --help                this text\n\n"
        "Exit status: 0 erased (or nothing was stored), 1 error or not "
        "confirmed,\n2 usage (also: no --yes and no terminal).\n");
}

/* Show what is stored and ask for the account id on the terminal.
 * @returns 1 confirmed, 0 not. */
static int confirm(sk_redis_t *redis, const char *id,
                   const sk_redis_key_state_t *keys, size_t n)
{
    static const char *const fields[] = {"updated_at", "events_applied",
                                         "health"};
    char **v = NULL;
    char errstr[SK_ERRSTR_LEN];
    const char *ids[1] = {id};

    fprintf(stderr, "account %s:\n", id);
    if (sk_redis_get_fields(redis, ids, 1, fields, 3, &v, errstr,
                            sizeof errstr) == SK_OK &&
        v[0]) {
        fprintf(stderr, "  last event %s, %s events applied, health %s\n", v[0],
                v[1] ? v[1] : "?", v[2] ? v[2] : "?");
    }
    if (v) {
        for (size_t i = 0; i < 3; i++)
            free(v[i]);
        free(v);
    }
    for (size_t i = 0; i < n; i++)
        if (keys[i].present)
            fprintf(stderr, "  %-40s %s\n", keys[i].key,
                    keys[i].role);
    fprintf(stderr, "Erase it?  This cannot be undone.  Type the account id "
                    "to confirm: ");
    fflush(stderr);
    char line[SK_ACCOUNT_MAX + 4];
    if (!fgets(line, sizeof line, stdin))
        return 0;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, id) == 0;
}

/* The next name of the comma-separated list at *@p p: its start, and
 * its length in *@p len; NULL at the end. */
static const char *next_topic(const char **p, size_t *len)
{
    *p += strspn(*p, ", ");
    if (!**p)
        return NULL;
    const char *name = *p;
    *len = strcspn(name, ", ");
    *p += *len;
    return name;
}

/* The lines on what forget cannot erase. */
static void print_not_erased(const char *id, const char *topics,
                             const char *alerts, const char *dlq)
{
    const char *p = topics, *name;
    size_t len;
    int first = 1;
    printf("\nNot erased (outside Redis):\n"
           "  - events of %s in the Kafka topics ",
           id);
    while ((name = next_topic(&p, &len))) {
        printf("%s%.*s", first ? "" : ", ", (int)len, name);
        first = 0;
    }
    printf(", until their retention expires\n"
           "  - its dead letters in %s, until their retention expires\n"
           "  - alerts about it already published to %s, and every copy "
           "downstream\n"
           "    (Slack messages, other subscribers): delete those where "
           "they are\n"
           "  - copies in Redis snapshots (RDB/AOF), replicas not yet in "
           "sync, backups\n"
           "scorekeeperd starts %s afresh if a new event for it arrives.\n",
           dlq, alerts, id);
}

/* @returns SK_OK or SK_ERR (out of memory). */
static int print_json(const char *id, const sk_cli_redis_t *ra,
                      const sk_redis_key_state_t *keys, size_t n,
                      const char *topics, const char *alerts, const char *dlq)
{
    int status = SK_ERR;
    char *text = NULL;
    json_t *erased = json_array();
    json_t *list = json_array();
    json_t *o = NULL;
    if (!erased || !list)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        if (keys[i].present &&
            json_array_append_new(erased, json_string(keys[i].key)) != 0)
            goto cleanup;
    const char *p = topics, *name;
    size_t len;
    while ((name = next_topic(&p, &len)))
        if (json_array_append_new(list, json_stringn(name, len)) != 0)
            goto cleanup;
    o = json_pack("{s:s, s:s, s:s, s:O, s:{s:O, s:s, s:s}}", "account", id,
                  "redis", sk_cli_redis_addr(ra), "prefix",
                  sk_cli_redis_prefix(ra), "erased", erased, "not_erased",
                  "event_topics", list, "dlq_topic", dlq, "alerts_topic",
                  alerts);
    if (!o || !(text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        goto cleanup;
    printf("%s\n", text);
    status = SK_OK;
cleanup:
    free(text);
    json_decref(o);
    json_decref(list);
    json_decref(erased);
    return status;
}

int sk_cmd_forget(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_REDIS_LONG_OPTIONS,
        {"yes", no_argument, NULL, 'y'},
        {"json", no_argument, NULL, 'j'},
        {"topics", required_argument, NULL, 't'},
        {"alerts-topic", required_argument, NULL, 'a'},
        {"dlq-topic", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sk_cli_redis_t ra = {0};
    const char *topics = NULL, *alerts = NULL, *dlq = NULL;
    int yes = 0, json = 0;
    int status = SK_EXIT_USAGE;
    char errstr[SK_ERRSTR_LEN];
    sk_redis_t *redis = NULL;
    sk_redis_key_state_t keys[SK_REDIS_ACCOUNT_KEYS];
    const size_t n = SK_REDIS_ACCOUNT_KEYS;
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
        case 'y':
            yes = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 't':
            topics = optarg;
            break;
        case 'a':
            alerts = optarg;
            break;
        case 'D':
            dlq = optarg;
            break;
        case 'h':
            forget_usage(stdout);
            status = SK_EXIT_OK;
            goto cleanup;
        default:
            forget_usage(stderr);
            goto cleanup;
        }
    }
    topics = sk_cli_kafka_setting(topics, "SCOREKEEPER_INPUT_TOPICS",
                                  DEFAULT_TOPICS);
    alerts = sk_cli_kafka_setting(alerts, "SCOREKEEPER_ALERTS_TOPIC",
                                  DEFAULT_ALERTS_TOPIC);
    dlq = sk_cli_kafka_setting(dlq, "SCOREKEEPER_DLQ_TOPIC", DEFAULT_DLQ_TOPIC);
    if (argc - optind != 1) {
        fprintf(stderr, "scorekeeper forget: give one ACCOUNT (see "
                        "--help)\n");
        goto cleanup;
    }
    const char *id = argv[optind];
    if (!sk_account_id_valid(id, strlen(id))) {
        fprintf(stderr,
                "scorekeeper forget: '%s' is not an account id "
                "(1..%d bytes of A-Z a-z 0-9 . _ : @ -)\n",
                id, SK_ACCOUNT_MAX);
        goto cleanup;
    }
    if (!yes && !isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "scorekeeper forget: refusing to erase %s without "
                "--yes (no terminal to confirm on)\n",
                id);
        goto cleanup;
    }

    status = SK_EXIT_ERROR;
    int usage_error;
    redis = sk_cli_redis_open(&ra, "forget", &usage_error);
    if (!redis) {
        if (usage_error)
            status = SK_EXIT_USAGE;
        goto cleanup;
    }
    if (!yes) {
        if (sk_redis_forget_keys(redis, id, false, keys, errstr,
                                 sizeof errstr) != SK_OK) {
            fprintf(stderr, "scorekeeper forget: %s\n", errstr);
            goto cleanup;
        }
        size_t found = 0;
        for (size_t i = 0; i < n; i++)
            found += keys[i].present;
        if (found > 0 && !confirm(redis, id, keys, n)) {
            fprintf(stderr, "scorekeeper forget: not confirmed; nothing "
                            "erased\n");
            goto cleanup;
        }
    }
    if (sk_redis_forget_keys(redis, id, true, keys, errstr, sizeof errstr) !=
        SK_OK) {
        fprintf(stderr, "scorekeeper forget: %s (run it again to finish)\n",
                errstr);
        goto cleanup;
    }
    size_t removed = 0;
    for (size_t i = 0; i < n; i++)
        removed += keys[i].present;
    if (json) {
        if (print_json(id, &ra, keys, n, topics, alerts, dlq) != SK_OK) {
            fprintf(stderr, "scorekeeper forget: out of memory\n");
            goto cleanup;
        }
    } else {
        if (removed == 0)
            printf("Nothing stored for account %s in Redis at %s (prefix "
                   "%s).\n",
                   id, sk_cli_redis_addr(&ra), sk_cli_redis_prefix(&ra));
        else
            printf("Erased account %s from Redis at %s (prefix %s):\n", id,
                   sk_cli_redis_addr(&ra), sk_cli_redis_prefix(&ra));
        for (size_t i = 0; i < n; i++)
            if (keys[i].present)
                printf("  removed from %-28s %s\n", keys[i].key,
                       keys[i].role);
        print_not_erased(id, topics, alerts, dlq);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scorekeeper forget: cannot write the output\n");
        goto cleanup;
    }
    status = SK_EXIT_OK;
cleanup:
    sk_redis_close(redis);
    return status;
}
