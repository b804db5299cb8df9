/*
 * mockcluster.c - sk-mockcluster: librdkafka's built-in mock Kafka cluster
 * as a standalone program, for the demo and the integration tests.
 *
 * A mock cluster lives inside an rd_kafka_t handle; this program makes a
 * handle that never connects anywhere, hangs the cluster on it, creates
 * the topics scorekeeper uses, prints the bootstrap address as its first
 * line of output and then sleeps until SIGTERM or SIGINT.  The mock picks
 * free loopback ports itself, so tests can run side by side.  The
 * signal handler only clears a run flag; the main loop notices within a
 * fraction of a second and tears the cluster down in order.
 *
 * Faults can only be injected by the process that owns the cluster, so
 * --control FILE (a FIFO, made with mkfifo) takes commands, one a line:
 * brokers down and up, request errors, the group coordinator, partition
 * leaders, broker latency.  Each command is answered on stdout with one
 * line, "control N ok CMD" or "control N error CMD: WHY" (N counts the
 * commands from 1), so a test knows when its fault is in place.  The
 * FIFO is opened read-write, so writers coming and going never make it
 * reach end-of-file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define DEFAULT_TOPICS "telemetry:6,billing:6,alerts:1,scorekeeper.dlq:1"
#define MAX_BROKERS 16
#define MAX_PARTITIONS 1000
#define MAX_TOPIC_NAME 249
#define MAX_TOPICS 64

static volatile sig_atomic_t running = 1;

static void on_signal(int sig)
{
    (void)sig;
    running = 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sk-mockcluster [--brokers N] [--topics LIST] "
            "[--bootstrap-file FILE]\n\n"
            "Run librdkafka's mock Kafka cluster on free 127.0.0.1 ports "
            "until SIGTERM or\nSIGINT.  The first line on stdout is "
            "`bootstrap=HOST:PORT[,HOST:PORT...]`.\n\n"
            "Options:\n"
            "  --brokers N            number of brokers, 1..%d (default 1)\n"
            "  --topics LIST          topics to create, NAME:PARTITIONS "
            "comma list\n"
            "                         (default %s)\n"
            "  --bootstrap-file FILE  also write the bootstrap address to "
            "FILE\n"
            "  --control FILE         read fault commands, one a line, from "
            "FILE (a FIFO);\n"
            "                         each is answered on stdout with "
            "\"control N ok|error ...\"\n"
            "  --help                 this text\n\n"
            "Control commands (brokers are numbered from 1):\n"
            "  broker-down ID | broker-up ID     a broker stops/starts "
            "answering\n"
            "  request-errors API COUNT ERROR    the next COUNT API requests "
            "fail with ERROR\n"
            "                                    (e.g. Produce 5 "
            "NOT_LEADER_FOR_PARTITION)\n"
            "  clear-errors API                  drop the errors still "
            "queued for API\n"
            "  coordinator group|transaction KEY ID   move a coordinator to "
            "broker ID\n"
            "  leader TOPIC PARTITION ID         move a partition's leader\n"
            "  rtt ID MS                         delay a broker's answers\n",
            MAX_BROKERS, DEFAULT_TOPICS);
}

static int parse_int(const char *text, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int topic_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > MAX_TOPIC_NAME)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/** One topic to create. */
typedef struct topic_spec {
    char name[MAX_TOPIC_NAME + 1]; /**< topic name */
    int partitions;                /**< partition count */
} topic_spec_t;

/*
 * Parse "name:partitions,..." (":partitions" may be left out: 1) into
 * @p specs, at most @p max of them.  @returns the count, or -1 with the
 * problem printed.
 */
static int parse_topics(const char *list, topic_spec_t *specs, int max)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        size_t name_len = colon ? (size_t)(colon - p) : len;
        int partitions = 1;
        if (colon) {
            char num[16];
            size_t nlen = len - name_len - 1;
            if (nlen == 0 || nlen >= sizeof num) {
                fprintf(stderr,
                        "sk-mockcluster: --topics: '%.*s': "
                        "partitions must be 1..%d\n",
                        (int)len, p, MAX_PARTITIONS);
                return -1;
            }
            memcpy(num, colon + 1, nlen);
            num[nlen] = '\0';
            if (parse_int(num, 1, MAX_PARTITIONS, &partitions) != 0) {
                fprintf(stderr,
                        "sk-mockcluster: --topics: '%.*s': "
                        "partitions must be 1..%d\n",
                        (int)len, p, MAX_PARTITIONS);
                return -1;
            }
        }
        if (!topic_name_valid(p, name_len)) {
            fprintf(stderr,
                    "sk-mockcluster: --topics: '%.*s' is not a topic "
                    "name ([A-Za-z0-9._-], 1..%d bytes)\n",
                    (int)name_len, p, MAX_TOPIC_NAME);
            return -1;
        }
        if (n == max) {
            fprintf(stderr, "sk-mockcluster: --topics: at most %d topics\n",
                    max);
            return -1;
        }
        memcpy(specs[n].name, p, name_len);
        specs[n].name[name_len] = '\0';
        specs[n].partitions = partitions;
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (n == 0) {
        fprintf(stderr, "sk-mockcluster: --topics: no topic given\n");
        return -1;
    }
    return n;
}

/* Create the topics.  @returns 0 or -1 (reported). */
static int create_topics(rd_kafka_mock_cluster_t *mc, const topic_spec_t *specs,
                         int n, int replicas)
{
    for (int i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
            mc, specs[i].name, specs[i].partitions, replicas);
        if (err) {
            fprintf(stderr, "sk-mockcluster: creating topic %s: %s\n",
                    specs[i].name, rd_kafka_err2str(err));
            return -1;
        }
        fprintf(stderr, "sk-mockcluster: topic %s, %d partition%s\n",
                specs[i].name, specs[i].partitions,
                specs[i].partitions == 1 ? "" : "s");
    }
    return 0;
}

/* ---- the control channel ------------------------------------------- */

/* Kafka protocol API keys by name, for request-errors. */
static const struct api_key {
    const char *name;
    int16_t key;
} api_keys[] = {
    {"Produce", 0},           {"Fetch", 1},
    {"ListOffsets", 2},       {"Metadata", 3},
    {"OffsetCommit", 8},      {"OffsetFetch", 9},
    {"FindCoordinator", 10},  {"JoinGroup", 11},
    {"Heartbeat", 12},        {"LeaveGroup", 13},
    {"SyncGroup", 14},        {"DescribeGroups", 15},
    {"ListGroups", 16},       {"ApiVersions", 18},
    {"InitProducerId", 22},   {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},  {"EndTxn", 26},
    {"TxnOffsetCommit", 28},  {"OffsetDelete", 47},
};

/** The command channel: a FIFO read without blocking, line by line. */
typedef struct control {
    int fd;              /**< open FIFO, -1 without --control */
    char buf[1024];      /**< bytes of a line not yet complete */
    size_t len;          /**< their count */
    bool overlong;       /**< the current line did not fit: skip it */
    unsigned long count; /**< commands answered */
} control_t;

static int parse_api(const char *text, int16_t *key)
{
    int n;
    for (size_t i = 0; i < sizeof api_keys / sizeof *api_keys; i++) {
        if (strcasecmp(text, api_keys[i].name) == 0) {
            *key = api_keys[i].key;
            return 0;
        }
    }
    if (parse_int(text, 0, 1000, &n) != 0)
        return -1;
    *key = (int16_t)n;
    return 0;
}

/* An error code by librdkafka's name (NOT_LEADER_FOR_PARTITION, with or
 * without the RD_KAFKA_RESP_ERR_ prefix) or by number. */
static int parse_error(const char *text, rd_kafka_resp_err_t *err)
{
    const struct rd_kafka_err_desc *descs;
    size_t cnt;
    int n;

    if (strncmp(text, "RD_KAFKA_RESP_ERR_", 18) == 0)
        text += 18;
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (descs[i].name && strcasecmp(descs[i].name, text) == 0) {
            *err = descs[i].code;
            return 0;
        }
    }
    if (parse_int(text, -200, 1000, &n) != 0)
        return -1;
    *err = (rd_kafka_resp_err_t)n;
    return 0;
}

/* Carry out one command line.  @returns 0, or -1 with @p why. */
static int run_command(rd_kafka_mock_cluster_t *mc, int brokers, char *line,
                       char *why, size_t whylen)
{
    char *argv[6], *save = NULL;
    int argc = 0, broker = 0, n = 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    int16_t api;

    for (char *tok = strtok_r(line, " \t\r", &save); tok && argc < 6;
         tok = strtok_r(NULL, " \t\r", &save))
        argv[argc++] = tok;
    if (argc == 0) {
        snprintf(why, whylen, "empty command");
        return -1;
    }
#define NEED(k)                                                                \
    do {                                                                       \
        if (argc != (k)) {                                                     \
            snprintf(why, whylen, "%s takes %d argument%s", argv[0], (k)-1,    \
                     (k) == 2 ? "" : "s");                                     \
            return -1;                                                         \
        }                                                                      \
    } while (0)
#define BROKER(text)                                                           \
    do {                                                                       \
        if (parse_int((text), 1, brokers, &broker) != 0) {                     \
            snprintf(why, whylen, "broker must be 1..%d", brokers);            \
            return -1;                                                         \
        }                                                                      \
    } while (0)
    if (strcmp(argv[0], "broker-down") == 0 ||
        strcmp(argv[0], "broker-up") == 0) {
        NEED(2);
        BROKER(argv[1]);
        err = argv[0][7] == 'd' ? rd_kafka_mock_broker_set_down(mc, broker)
                                : rd_kafka_mock_broker_set_up(mc, broker);
    } else if (strcmp(argv[0], "request-errors") == 0) {
        rd_kafka_resp_err_t code, *codes;
        NEED(4);
        if (parse_api(argv[1], &api) != 0 ||
            parse_int(argv[2], 1, 100000, &n) != 0 ||
            parse_error(argv[3], &code) != 0) {
            snprintf(why, whylen,
                     "request-errors API COUNT ERROR: an API name or key, "
                     "1..100000, an error name or code");
            return -1;
        }
        codes = malloc((size_t)n * sizeof *codes);
        if (!codes) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        for (int i = 0; i < n; i++)
            codes[i] = code;
        rd_kafka_mock_push_request_errors_array(mc, api, (size_t)n, codes);
        free(codes);
    } else if (strcmp(argv[0], "clear-errors") == 0) {
        NEED(2);
        if (parse_api(argv[1], &api) != 0) {
            snprintf(why, whylen, "unknown API %s", argv[1]);
            return -1;
        }
        rd_kafka_mock_clear_request_errors(mc, api);
    } else if (strcmp(argv[0], "coordinator") == 0) {
        NEED(4);
        if (strcmp(argv[1], "group") != 0 &&
            strcmp(argv[1], "transaction") != 0) {
            snprintf(why, whylen, "coordinator type is group or transaction");
            return -1;
        }
        BROKER(argv[3]);
        err = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], broker);
    } else if (strcmp(argv[0], "leader") == 0) {
        NEED(4);
        if (parse_int(argv[2], 0, MAX_PARTITIONS - 1, &n) != 0) {
            snprintf(why, whylen, "partition must be 0..%d",
                     MAX_PARTITIONS - 1);
            return -1;
        }
        BROKER(argv[3]);
        err = rd_kafka_mock_partition_set_leader(mc, argv[1], n, broker);
    } else if (strcmp(argv[0], "rtt") == 0) {
        NEED(3);
        BROKER(argv[1]);
        if (parse_int(argv[2], 0, 600000, &n) != 0) {
            snprintf(why, whylen, "rtt is 0..600000 ms");
            return -1;
        }
        err = rd_kafka_mock_broker_set_rtt(mc, broker, n);
    } else {
        snprintf(why, whylen, "unknown command (see --help)");
        return -1;
    }
#undef BROKER
#undef NEED
    if (err) {
        snprintf(why, whylen, "%s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

static void answer(control_t *c, rd_kafka_mock_cluster_t *mc, int brokers,
                   const char *line)
{
    char copy[sizeof c->buf], why[256];

    snprintf(copy, sizeof copy, "%s", line);
    c->count++;
    if (run_command(mc, brokers, copy, why, sizeof why) == 0) {
        printf("control %lu ok %s\n", c->count, line);
        fprintf(stderr, "sk-mockcluster: control: %s\n", line);
    } else {
        printf("control %lu error %s: %s\n", c->count, line, why);
        fprintf(stderr, "sk-mockcluster: control: %s: %s\n", line, why);
    }
    fflush(stdout);
}

/* Read what the FIFO holds and answer every complete line. */
static void control_read(control_t *c, rd_kafka_mock_cluster_t *mc,
                         int brokers)
{
    char chunk[512];
    ssize_t got;

    while ((got = read(c->fd, chunk, sizeof chunk)) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            char ch = chunk[i];
            if (ch == '\n') {
                c->buf[c->len] = '\0';
                if (c->overlong)
                    answer(c, mc, brokers, "(line too long)");
                else if (c->len > 0)
                    answer(c, mc, brokers, c->buf);
                c->len = 0;
                c->overlong = false;
            } else if (c->len + 1 < sizeof c->buf) {
                c->buf[c->len++] = ch;
            } else {
                c->overlong = true;
            }
        }
    }
}

/* Write "@p bootstrap\n" to @p path through a temporary file and a
 * rename, so a reader polling for the file never sees half of it. */
static int write_bootstrap_file(const char *path, const char *bootstrap)
{
    int status = -1;
    size_t len = strlen(path) + 8;
    char *tmp = malloc(len);
    FILE *f = NULL;
    if (!tmp)
        goto cleanup;
    snprintf(tmp, len, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        goto cleanup;
    if (fprintf(f, "%s\n", bootstrap) < 0)
        goto cleanup;
    if (fclose(f) != 0) {
        f = NULL;
        goto cleanup;
    }
    f = NULL;
    if (rename(tmp, path) != 0)
        goto cleanup;
    status = 0;
cleanup:
    if (status != 0)
        fprintf(stderr, "sk-mockcluster: cannot write %s: %s\n", path,
                strerror(errno));
    if (f)
        fclose(f);
    if (tmp && status != 0)
        remove(tmp);
    free(tmp);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topics", required_argument, NULL, 't'},
        {"bootstrap-file", required_argument, NULL, 'f'},
        {"control", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int brokers = 1;
    const char *topics = DEFAULT_TOPICS;
    const char *bootstrap_file = NULL;
    const char *control_path = NULL;
    control_t control = {.fd = -1};
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (parse_int(optarg, 1, MAX_BROKERS, &brokers) != 0) {
                fprintf(stderr, "sk-mockcluster: --brokers must be 1..%d\n",
                        MAX_BROKERS);
                return 2;
            }
            break;
        case 't':
            topics = optarg;
            break;
        case 'f':
            bootstrap_file = optarg;
            break;
        case 'c':
            control_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sk-mockcluster: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return 2;
    }
    static topic_spec_t specs[MAX_TOPICS];
    int n_topics = parse_topics(topics, specs, MAX_TOPICS);
    if (n_topics < 0)
        return 2;

    int status = 1;
    char errstr[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only carries the cluster: it must not look for brokers
     * of its own, and its logs are about the mock itself. */
    if (rd_kafka_conf_set(conf, "client.id", "sk-mockcluster", errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
        fprintf(stderr, "sk-mockcluster: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto cleanup;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "sk-mockcluster: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto cleanup;
    }
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "sk-mockcluster: cannot create the mock cluster\n");
        goto cleanup;
    }
    if (create_topics(mc, specs, n_topics, brokers < 3 ? brokers : 3) != 0)
        goto cleanup;

    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (bootstrap_file && write_bootstrap_file(bootstrap_file, bootstrap) != 0)
        goto cleanup;
    /* Read-write: the FIFO then always has a writer (us), so it never
     * reads as end-of-file between two tests' commands. */
    if (control_path) {
        control.fd = open(control_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (control.fd < 0) {
            fprintf(stderr, "sk-mockcluster: --control %s: %s\n",
                    control_path, strerror(errno));
            goto cleanup;
        }
    }
    printf("bootstrap=%s\n", bootstrap);
    fflush(stdout);
    fprintf(stderr, "sk-mockcluster: %d broker%s at %s; SIGTERM stops it\n",
            brokers, brokers == 1 ? "" : "s", bootstrap);

    while (running) {
        if (control.fd >= 0) {
            struct pollfd pfd = {.fd = control.fd, .events = POLLIN};
            if (poll(&pfd, 1, 100) > 0)
                control_read(&control, mc, brokers);
        } else {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "sk-mockcluster: stopping\n");
    status = 0;
cleanup:
    if (control.fd >= 0)
        close(control.fd);
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    if (bootstrap_file && status == 0)
        remove(bootstrap_file);
    return status;
}
