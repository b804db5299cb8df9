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
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
            "  --help                 this text\n",
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int brokers = 1;
    const char *topics = DEFAULT_TOPICS;
    const char *bootstrap_file = NULL;
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
    printf("bootstrap=%s\n", bootstrap);
    fflush(stdout);
    fprintf(stderr, "sk-mockcluster: %d broker%s at %s; SIGTERM stops it\n",
            brokers, brokers == 1 ? "" : "s", bootstrap);

    while (running) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "sk-mockcluster: stopping\n");
    status = 0;
cleanup:
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    if (bootstrap_file && status == 0)
        remove(bootstrap_file);
    return status;
}
