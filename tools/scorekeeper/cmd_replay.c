/*
 * cmd_replay.c - `scorekeeper replay`: rebuild account state from the
 * input topics into a fresh Redis key prefix.
 *
 * The replay is scorekeeperd itself, not a second implementation: this
 * command checks its arguments, makes sure the target prefix is empty
 * (so production state, under another prefix, is never touched and a
 * half-finished earlier replay is never mixed in), then replaces itself
 * with `scorekeeperd` (found beside this program, else on PATH) started
 * with a start position, a consumer group of its own, the new prefix,
 * --exit-when-caught-up, --no-publish (no alert and no dead letter is
 * produced twice) and the HTTP server off.  The daemon prints the
 * summary and its exit status is the command's.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_kafka.h"
#include "cli_redis.h"
#include "redis_store.h"
#include "scorekeeper/common.h"

#define MAX_ARGS 64

static void replay_usage(FILE *out)
{
    fputs(
        "usage: scorekeeper replay --prefix NEWPREFIX (--from-beginning | "
        "--from-offset N |\n"
        "                          --from-timestamp ISO8601) [OPTIONS]\n\n"
        "Re-consume the input topics from a position into a fresh Redis key "
        "prefix, with\n"
        "the daemon's own pipeline, until every partition is caught up; then "
        "print a\n"
        "summary and exit.  Production state (another prefix) and the alerts "
        "and\n"
        "dead-letter topics are not touched: nothing is published.  Use it to "
        "rebuild\n"
        "state after a loss, to check a rules change against history, or to "
        "compare.\n\n"
        "Start (one is required; it applies to every input partition):\n"
        "  --from-beginning      the first offset still in each partition\n"
        "  --from-offset N       offset N of every partition (clamped to "
        "what each\n"
        "                        partition holds)\n"
        "  --from-timestamp ISO8601\n"
        "                        the first message at or after that time "
        "(the brokers\n"
        "                        must answer offsets-by-time lookups; the "
        "replay stops\n"
        "                        with an error if they cannot)\n\n"
        "Where:\n"
        "  --prefix NEWPREFIX    the key prefix to fill (required); it must "
        "hold no\n"
        "                        account yet (see --force)\n"
        "  --brokers LIST        Kafka bootstrap servers (default "
        "$SCOREKEEPER_BROKERS,\n"
        "                        or the config file's)\n"
        "  --redis HOST:PORT     the Redis server (default $SCOREKEEPER_REDIS "
        "or\n"
        "                        127.0.0.1:6379)\n"
        "  --db N                database number (default 0)\n"
        "  --redis-user USER     ACL user\n"
        "  --redis-password-file FILE\n"
        "                        the password, first line of FILE (or set\n"
        "                        " SK_CLI_REDIS_PASSWORD_ENV ")\n"
        "  --group NEWGROUP      consumer group of the replay (default\n"
        "                        scorekeeper-replay-NEWPREFIX); never the "
        "production\n"
        "                        group, whose offsets it would move\n"
        "  --config FILE         scorekeeperd's config file (topics, Kafka "
        "security,\n"
        "                        time settings); flags here override it\n"
        "  --rules FILE          the rules to score with (default: the "
        "config's)\n"
        "  -X property=value     librdkafka property, as for scorekeeperd\n\n"
        "Other:\n"
        "  --force               fill NEWPREFIX even if it holds accounts "
        "(they are\n"
        "                        updated in place: events they applied "
        "already are\n"
        "                        skipped)\n"
        "  --daemon PATH         the scorekeeperd to run (default: beside "
        "this program,\n"
        "                        else on PATH)\n"
        "  --log-level LEVEL     the daemon's log level (default info)\n"
        "  --allow-root          passed to scorekeeperd\n"
        "  --help                this text\n\n"
        "To make NEWPREFIX production, restart scorekeeperd with "
        "redis.prefix set to it\n"
        "and its usual group: events the replay applied already are "
        "skipped (each\n"
        "account stores its positions), later ones are applied and "
        "alerted.  Lifetime\n"
        "points older than the topics' retention cannot be replayed: keep "
        "Redis backups.\n\n"
        "Exit status: 0 caught up; 1 error (prefix not empty, Redis "
        "unreachable, daemon\n"
        "failed to start); 2 usage, or the daemon stopped on a fatal error "
        "(start\n"
        "position impossible).\n",
        out);
}

/* The scorekeeperd beside this program, else the bare name for PATH. */
static const char *find_daemon(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    char *slash;

    if (n > 0) {
        buf[n] = '\0';
        slash = strrchr(buf, '/');
        if (slash && (size_t)(slash - buf) + sizeof "/scorekeeperd" <= len) {
            strcpy(slash, "/scorekeeperd");
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "scorekeeperd";
}

/* Whether @p prefix holds accounts: SK_OK (no), SK_ERR (yes, or unknown:
 * the message is printed). */
static int check_empty(const sk_cli_redis_t *ra, bool force)
{
    sk_redis_ranked_t *rows = NULL;
    size_t n = 0;
    char errstr[SK_ERRSTR_LEN];
    int usage_error = 0, rc = SK_ERR;
    sk_redis_t *r = sk_cli_redis_open(ra, "replay", &usage_error);

    if (!r)
        return SK_ERR;
    if (sk_redis_top(r, NULL, NULL, 1, &rows, &n, errstr, sizeof errstr) !=
        SK_OK) {
        fprintf(stderr, "scorekeeper replay: %s\n", errstr);
        goto done;
    }
    if (n > 0 && !force) {
        fprintf(stderr,
                "scorekeeper replay: prefix %s already holds accounts (%s, "
                "...): a replay fills an empty prefix; choose another one, "
                "or --force\n",
                sk_cli_redis_prefix(ra), rows[0].account);
        goto done;
    }
    rc = SK_OK;
done:
    free(rows);
    sk_redis_close(r);
    return rc;
}

typedef struct args {
    const char *argv[MAX_ARGS];
    int n;
    bool full;
} args_t;

static void add(args_t *a, const char *s)
{
    if (a->n < MAX_ARGS - 1)
        a->argv[a->n++] = s;
    else
        a->full = true;
}

static void add2(args_t *a, const char *flag, const char *value)
{
    add(a, flag);
    add(a, value);
}

int sk_cmd_replay(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_REDIS_LONG_OPTIONS,
        {"from-beginning", no_argument, NULL, 'b'},
        {"from-offset", required_argument, NULL, 'o'},
        {"from-timestamp", required_argument, NULL, 't'},
        {"brokers", required_argument, NULL, 'B'},
        {"group", required_argument, NULL, 'g'},
        {"config", required_argument, NULL, 'c'},
        {"rules", required_argument, NULL, 'R'},
        {"property", required_argument, NULL, 'X'},
        {"force", no_argument, NULL, 'f'},
        {"daemon", required_argument, NULL, 'D'},
        {"log-level", required_argument, NULL, 'L'},
        {"allow-root", no_argument, NULL, 'A'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sk_cli_redis_t ra = {0};
    const char *from_offset = NULL, *from_time = NULL, *brokers = NULL;
    const char *group = NULL, *config = NULL, *rules = NULL, *daemon = NULL;
    const char *log_level = NULL, *props[16];
    char group_buf[128], self[PATH_MAX], *end;
    bool from_beginning = false, force = false, allow_root = false;
    int n_props = 0, n_from, c;
    int64_t ms;
    args_t a = {0};

    optind = 1;
    while ((c = getopt_long(argc, argv, "hX:", options, NULL)) != -1) {
        if (sk_cli_redis_option(&ra, c, optarg) == SK_OK)
            continue;
        switch (c) {
        case 'b':
            from_beginning = true;
            break;
        case 'o':
            from_offset = optarg;
            break;
        case 't':
            from_time = optarg;
            break;
        case 'B':
            brokers = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'R':
            rules = optarg;
            break;
        case 'X':
            if (n_props == (int)(sizeof props / sizeof props[0])) {
                fprintf(stderr, "scorekeeper replay: too many -X\n");
                return SK_EXIT_USAGE;
            }
            props[n_props++] = optarg;
            break;
        case 'f':
            force = true;
            break;
        case 'D':
            daemon = optarg;
            break;
        case 'L':
            log_level = optarg;
            break;
        case 'A':
            allow_root = true;
            break;
        case 'h':
            replay_usage(stdout);
            return SK_EXIT_OK;
        default:
            replay_usage(stderr);
            return SK_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "scorekeeper replay: unexpected argument %s\n",
                argv[optind]);
        return SK_EXIT_USAGE;
    }
    n_from = from_beginning + (from_offset != NULL) + (from_time != NULL);
    if (n_from != 1) {
        fprintf(stderr,
                "scorekeeper replay: give one of --from-beginning, "
                "--from-offset N, --from-timestamp ISO8601 (see --help)\n");
        return SK_EXIT_USAGE;
    }
    if (!ra.prefix) {
        fprintf(stderr, "scorekeeper replay: --prefix NEWPREFIX is required: "
                        "the replay writes there, never to the production "
                        "prefix\n");
        return SK_EXIT_USAGE;
    }
    if (from_offset) {
        errno = 0;
        long long v = strtoll(from_offset, &end, 10);
        if (errno || end == from_offset || *end || v < 0) {
            fprintf(stderr,
                    "scorekeeper replay: --from-offset: '%s' is not an "
                    "offset >= 0\n",
                    from_offset);
            return SK_EXIT_USAGE;
        }
    }
    if (from_time && sk_parse_time(from_time, &ms) != SK_OK) {
        fprintf(stderr,
                "scorekeeper replay: --from-timestamp: '%s' is not an "
                "ISO-8601 UTC time (2026-11-05T10:00:00Z)\n",
                from_time);
        return SK_EXIT_USAGE;
    }
    if (!group) {
        snprintf(group_buf, sizeof group_buf, "scorekeeper-replay-%s",
                 ra.prefix);
        group = group_buf;
    }
    brokers = sk_cli_kafka_brokers(brokers);
    if (!brokers && !config) {
        fprintf(stderr, "scorekeeper replay: --brokers is required (or "
                        "$SCOREKEEPER_BROKERS, or --config)\n");
        return SK_EXIT_USAGE;
    }
    if (check_empty(&ra, force) != SK_OK)
        return SK_EXIT_ERROR;

    /* The daemon reads these settings from its environment. */
    if ((ra.db && setenv("SCOREKEEPER_REDIS_DB", ra.db, 1)) ||
        (ra.user && setenv("SCOREKEEPER_REDIS_USERNAME", ra.user, 1)) ||
        (ra.password_file &&
         setenv("SCOREKEEPER_REDIS_PASSWORD_FILE", ra.password_file, 1))) {
        fprintf(stderr, "scorekeeper replay: %s\n", strerror(errno));
        return SK_EXIT_ERROR;
    }
    daemon = daemon ? daemon : find_daemon(self, sizeof self);
    add(&a, daemon);
    if (config)
        add2(&a, "--config", config);
    if (rules)
        add2(&a, "--rules", rules);
    if (brokers)
        add2(&a, "--brokers", brokers);
    if (ra.addr)
        add2(&a, "--redis", ra.addr);
    add2(&a, "--prefix", ra.prefix);
    add2(&a, "--group", group);
    if (from_beginning)
        add2(&a, "--start-offset", "earliest");
    else if (from_offset)
        add2(&a, "--start-offset", from_offset);
    else
        add2(&a, "--start-time", from_time);
    add(&a, "--exit-when-caught-up");
    add(&a, "--no-publish");
    add2(&a, "--metrics-listen", "off");
    if (log_level)
        add2(&a, "--log-level", log_level);
    if (allow_root)
        add(&a, "--allow-root");
    for (int i = 0; i < n_props; i++)
        add2(&a, "-X", props[i]);
    if (a.full) {
        fprintf(stderr, "scorekeeper replay: too many arguments\n");
        return SK_EXIT_USAGE;
    }
    a.argv[a.n] = NULL;
    fprintf(stderr,
            "scorekeeper replay: into prefix %s with group %s, from %s%s; "
            "running %s\n",
            ra.prefix, group,
            from_beginning ? "the beginning"
            : from_offset  ? "offset "
                           : "",
            from_beginning ? ""
            : from_offset  ? from_offset
                           : from_time,
            daemon);
    fflush(NULL);
    if (strchr(daemon, '/'))
        execv(daemon, (char *const *)a.argv);
    else
        execvp(daemon, (char *const *)a.argv);
    fprintf(stderr, "scorekeeper replay: cannot run %s: %s\n", daemon,
            strerror(errno));
    return SK_EXIT_ERROR;
}
