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

/* Create every topic of "name:partitions,..."; @returns 0 or -1. */
static int create_topics(rd_kafka_mock_cluster_t *mc, const char *list,
                         int replicas)
{
    int status = -1;
    char *copy = strdup(list);
    if (!copy) {
        fprintf(stderr, "sk-mockcluster: out of memory\n");
        return -1;
    }
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(item, ':');
        int partitions = 1;
        if (colon) {
            *colon = '\0';
            if (parse_int(colon + 1, 1, MAX_PARTITIONS, &partitions) != 0) {
                fprintf(stderr,
                        "sk-mockcluster: --topics: '%s': partitions must be "
                        "1..%d\n",
                        colon + 1, MAX_PARTITIONS);
                goto cleanup;
            }
        }
        if (!topic_name_valid(item, strlen(item))) {
            fprintf(stderr,
                    "sk-mockcluster: --topics: '%s' is not a topic name "
                    "([A-Za-z0-9._-], 1..%d bytes)\n",
                    item, MAX_TOPIC_NAME);
            goto cleanup;
        }
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(mc, item, partitions, replicas);
        if (err) {
            fprintf(stderr, "sk-mockcluster: creating topic %s: %s\n", item,
                    rd_kafka_err2str(err));
            goto cleanup;
        }
        fprintf(stderr, "sk-mockcluster: topic %s, %d partition%s\n", item,
                partitions, partitions == 1 ? "" : "s");
    }
    status = 0;
cleanup:
    free(copy);
    return status;
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
    if (create_topics(mc, topics, brokers < 3 ? brokers : 3) != 0)
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
