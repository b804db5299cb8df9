/*
 * cli.h - the subcommands of the `scorekeeper` tool.
 *
 * Each command is a function taking the arguments after its name
 * (argv[0] is the command name) and returning the process exit status:
 * 0 success, 1 error, 2 usage error, 3 some input was invalid.
 */
#ifndef SK_CLI_H
#define SK_CLI_H

#define SK_EXIT_OK 0
#define SK_EXIT_ERROR 1
#define SK_EXIT_USAGE 2
#define SK_EXIT_INVALID_INPUT 3

int sk_cmd_score(int argc, char **argv);
int sk_cmd_explain(int argc, char **argv);
int sk_cmd_produce(int argc, char **argv);
int sk_cmd_alerts(int argc, char **argv);
int sk_cmd_show(int argc, char **argv);
int sk_cmd_top(int argc, char **argv);
int sk_cmd_sample(int argc, char **argv);
int sk_cmd_lag(int argc, char **argv);
int sk_cmd_dlq(int argc, char **argv);
int sk_cmd_forget(int argc, char **argv);
int sk_cmd_replay(int argc, char **argv);

/**
 * @brief The rules file to use: @p flag if given, else $SCOREKEEPER_RULES,
 *        else deploy/rules.yaml.
 */
const char *sk_cli_rules_path(const char *flag);

#endif
