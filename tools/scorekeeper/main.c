/*
 * main.c - the `scorekeeper` command-line tool: dispatch to subcommands.
 *
 * One table lists every command with a one-line summary, so `scorekeeper
 * --help` and the dispatch can never disagree.  Each command lives in its
 * own cmd_*.c file and parses its own flags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"score", sk_cmd_score, "score a JSON-lines file of events offline"},
    {"explain", sk_cmd_explain, "show how each score of one account was made"},
    {"produce", sk_cmd_produce, "send JSON-lines events to a Kafka topic"},
    {"sample", sk_cmd_sample, "print a demo scenario of events (JSON lines)"},
    {"alerts", sk_cmd_alerts, "print alerts as they are published"},
    {"show", sk_cmd_show, "one account's scores from Redis, at now"},
    {"top", sk_cmd_top, "accounts by score, tier or flag, from Redis"},
    {"lag", sk_cmd_lag, "how far a consumer group is behind, per partition"},
    {"dlq", sk_cmd_dlq, "inspect dead letters, or re-drive them to their topic"},
    {"forget", sk_cmd_forget, "erase one account from Redis"},
    {"replay", sk_cmd_replay, "replay the topics into a fresh key prefix"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: scorekeeper COMMAND [OPTIONS]\n\n"
                 "Real-time customer-health scoring: tools.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(
        out,
        "\nRun `scorekeeper COMMAND --help` for a command's options.\n\n"
        "The commands find Kafka and Redis as scorekeeperd does, from "
        "the same\nenvironment when their flags are not given: "
        "SCOREKEEPER_BROKERS,\nSCOREKEEPER_REDIS, SCOREKEEPER_REDIS_PREFIX, "
        "SCOREKEEPER_REDIS_DB,\nSCOREKEEPER_REDIS_PASSWORD or "
        "SCOREKEEPER_REDIS_PASSWORD_FILE (never a flag),\n"
        "SCOREKEEPER_RULES, SCOREKEEPER_KAFKA_<NAME> (librdkafka "
        "properties).\n\n"
        "Exit status: 0 success, 1 error, 2 usage, 3 some input was "
        "invalid.\n");
}

const char *sk_cli_rules_path(const char *flag)
{
    if (flag)
        return flag;
    const char *env = getenv("SCOREKEEPER_RULES");
    return env && *env ? env : "deploy/rules.yaml";
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SK_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("scorekeeper %s\n", SK_VERSION);
        return SK_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "scorekeeper: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return SK_EXIT_USAGE;
}
