/*
 * bench.c - sk-bench: scorekeeperd beside the limits of the machine, in
 * one run.
 *
 * It starts its own mock Kafka cluster (in this process) and redis-server
 * (a child), produces the reference workload (workload.h), and measures:
 *   raw_consume_eps  a plain librdkafka consumer reading the same topics
 *                    and doing nothing, at its best settings: the ceiling;
 *   e2e_eps          scorekeeperd from an empty group and an empty Redis
 *                    until every offset is committed (so every event is
 *                    applied and every alert delivered: the daemon
 *                    commits only after both);
 *   redis_cmds_per_event, redis_bytes_per_account  from INFO;
 *   p50/p99/max alert latency at a steady half of e2e_eps, from the
 *                    produce call of the triggering event to the alert's
 *                    arrival on the alerts topic;
 *   rss_mb           the daemon's peak resident memory.
 * It prints a table, then one line for scripts:
 *   bench: events=N accounts=K raw_consume_eps=... e2e_eps=... ...
 *
 * DESIGN
 * The mock cluster keeps only about 5 MiB per partition and silently
 * drops older data, so the input topics get enough partitions to hold the
 * whole workload, and the low watermarks are checked: a run that lost
 * data fails instead of printing flattering numbers.  Both consumers
 * pay a group join; throughput is therefore timed from the first message
 * (raw) and from the first commit (daemon), not from process start.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "kafka_embedded.h"
#include "workload.h"

#define TELEMETRY "telemetry"
#define BILLING "billing"
/* The latency phase's live traffic: its own topic, few partitions, so
 * its small batches do not pile up behind the backlog's (the mock
 * cluster finds a fetch offset by walking a partition's batches). */
#define LIVE "telemetry.live"
#define LIVE_PARTITIONS 2
#define ALERTS "alerts"
#define DLQ "scorekeeper.dlq"

typedef struct bench_opts {
    uint64_t events, accounts, seed;
    int partitions;          /* of the telemetry topic */
    int latency_seconds;     /* length of the steady-rate phase */
    double latency_rate;     /* its events/s; 0: half of e2e_eps */
    const char *daemon;      /* scorekeeperd binary */
    const char *rules;       /* rules file */
    const char *redis_server; /* redis-server binary */
} bench_opts_t;

static const char *tmpdir;
static pid_t children[2]; /* redis-server and scorekeeperd, stopped at exit */

static void stop(pid_t pid);

static void stop_children(void)
{
    for (int i = 0; i < 2; i++)
        stop(children[i]);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sk-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("no free port: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

/* Start @p argv with stdout and stderr to @p log.  @returns the pid. */
static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static void stop(pid_t pid)
{
    if (pid <= 0 || waitpid(pid, NULL, WNOHANG) == pid)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* --- Redis ------------------------------------------------------------ */

static redisContext *redis_connect(int port)
{
    for (int i = 0; i < 100; i++) {
        struct timeval tv = {1, 0};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            if (r && r->type == REDIS_REPLY_STATUS) {
                freeReplyObject(r);
                return c;
            }
            if (r)
                freeReplyObject(r);
        }
        if (c)
            redisFree(c);
        sleep_ms(100);
    }
    die("redis-server on port %d does not answer", port);
    return NULL;
}

/* A number from INFO: the value after "@p key:" in section @p section. */
static double redis_info(redisContext *c, const char *section,
                         const char *key)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    if (!r || r->type != REDIS_REPLY_STRING)
        die("INFO %s failed", section);
    double v = 0;
    char needle[128];
    snprintf(needle, sizeof needle, "\n%s:", key);
    const char *p = strstr(r->str, needle);
    if (p)
        v = strtod(p + strlen(needle), NULL);
    freeReplyObject(r);
    return v;
}

/* Sum of calls over every command but the bench's own. */
static double redis_total_calls(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO commandstats");
    if (!r || r->type != REDIS_REPLY_STRING)
        die("INFO commandstats failed");
    double total = 0;
    for (const char *p = r->str; (p = strstr(p, "cmdstat_")); p++) {
        const char *calls = strstr(p, "calls=");
        const char *eol = strchr(p, '\n');
        if (!calls || (eol && calls > eol))
            continue;
        if (strncmp(p, "cmdstat_info:", 13) == 0 ||
            strncmp(p, "cmdstat_config|resetstat:", 25) == 0 ||
            strncmp(p, "cmdstat_config:", 15) == 0 ||
            strncmp(p, "cmdstat_ping:", 13) == 0)
            continue;
        total += strtod(calls + 6, NULL);
    }
    freeReplyObject(r);
    return total;
}

/* Print the commands Redis spent most time on, from INFO commandstats:
 * where the catch-up's Redis time went. */
static void redis_top_commands(redisContext *c, FILE *out)
{
    struct row {
        char name[48];
        double calls, usec;
    } rows[64];
    int n = 0;
    redisReply *r = redisCommand(c, "INFO commandstats");
    if (!r || r->type != REDIS_REPLY_STRING) {
        if (r)
            freeReplyObject(r);
        return;
    }
    for (const char *p = r->str; n < 64 && (p = strstr(p, "cmdstat_")); p++) {
        const char *colon = strchr(p, ':');
        const char *calls = strstr(p, "calls="), *usec = strstr(p, ",usec=");
        if (!colon || !calls || !usec)
            continue;
        snprintf(rows[n].name, sizeof rows[n].name, "%.*s",
                 (int)(colon - p - 8), p + 8);
        rows[n].calls = strtod(calls + 6, NULL);
        rows[n].usec = strtod(usec + 6, NULL);
        n++;
    }
    freeReplyObject(r);
    for (int i = 0; i < n; i++) /* a few rows: selection sort */
        for (int j = i + 1; j < n; j++)
            if (rows[j].usec > rows[i].usec) {
                struct row t = rows[i];
                rows[i] = rows[j];
                rows[j] = t;
            }
    fprintf(out, "\n%-22s %12s %12s %10s\n", "Redis command", "calls",
            "total ms", "us/call");
    for (int i = 0; i < n && i < 8; i++)
        fprintf(out, "%-22s %12.0f %12.1f %10.2f\n", rows[i].name,
                rows[i].calls, rows[i].usec / 1000,
                rows[i].calls > 0 ? rows[i].usec / rows[i].calls : 0);
}

static long long redis_int(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

/* --- Kafka ------------------------------------------------------------ */

static rd_kafka_t *kafka_client(rd_kafka_type_t type, const char *brokers,
                                const char *const *props)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err,
                          sizeof err) != RD_KAFKA_CONF_OK)
        die("%s", err);
    for (int i = 0; props && props[i]; i += 2)
        if (rd_kafka_conf_set(conf, props[i], props[i + 1], err, sizeof err) !=
            RD_KAFKA_CONF_OK)
            die("%s=%s: %s", props[i], props[i + 1], err);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk)
        die("rd_kafka_new: %s", err);
    return rk;
}

static uint64_t produced_ok, produced_failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        produced_failed++;
    else
        produced_ok++;
}

static rd_kafka_t *make_producer(const char *brokers, const char *linger)
{
    const char *props[] = {"linger.ms", linger, "batch.num.messages", "10000",
                           "queue.buffering.max.messages", "1000000",
                           "queue.buffering.max.kbytes", "1048576",
                           "partitioner", "murmur2_random", NULL};
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err);
    for (int i = 0; props[i]; i += 2)
        rd_kafka_conf_set(conf, props[i], props[i + 1], err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        die("producer: %s", err);
    return rk;
}

static void produce(rd_kafka_t *rk, const char *topic, const char *key,
                    const void *val, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)val, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            die("produce: %s", rd_kafka_err2str(e));
        rd_kafka_poll(rk, 10);
    }
}

/* Sum of high watermarks of @p topic; dies if any low watermark moved. */
static int64_t topic_end(rd_kafka_t *rk, const char *topic, int partitions)
{
    int64_t total = 0;
    for (int p = 0; p < partitions; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
        if (e)
            die("watermarks of %s [%d]: %s", topic, p, rd_kafka_err2str(e));
        if (lo != 0)
            die("the mock cluster dropped data of %s [%d] (low watermark %lld):"
                " use more partitions (--partitions)",
                topic, p, (long long)lo);
        total += hi;
    }
    return total;
}

/* --- phases ----------------------------------------------------------- */

typedef struct counts {
    uint64_t telemetry, billing, bad;
} counts_t;

static counts_t produce_workload(const char *brokers, const bench_opts_t *o,
                                 int64_t end_ms)
{
    rd_kafka_t *rk = make_producer(brokers, "20");
    sk_workload_t w;
    sk_workload_msg_t msg;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    counts_t c = {0};
    sk_workload_init(&w, o->events, o->accounts, o->seed, end_ms);
    double t0 = mono_s();
    while (sk_workload_next(&w, &msg, &buf)) {
        produce(rk, msg.billing ? BILLING : TELEMETRY, msg.ev.account,
                buf.data, buf.size);
        if (msg.billing)
            c.billing++;
        else
            c.telemetry++;
        c.bad += msg.bad;
        rd_kafka_poll(rk, 0);
        if (w.next % 500000 == 0)
            fprintf(stderr, "  produced %llu of %llu\n",
                    (unsigned long long)w.next, (unsigned long long)o->events);
    }
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_poll(rk, 100);
    msgpack_sbuffer_destroy(&buf);
    if (produced_failed)
        die("%llu messages not delivered", (unsigned long long)produced_failed);
    fprintf(stderr, "  produced %llu events in %.1f s\n",
            (unsigned long long)o->events, mono_s() - t0);
    rd_kafka_destroy(rk);
    return c;
}

/* A plain consumer at its best settings: batch consume, big queues. */
static double raw_consume(const char *brokers, uint64_t total)
{
    const char *props[] = {"group.id", "sk-bench-raw",
                           "auto.offset.reset", "earliest",
                           "enable.auto.commit", "false",
                           "queued.min.messages", "2000000",
                           "queued.max.messages.kbytes", "524288",
                           "fetch.wait.max.ms", "10", NULL};
    rd_kafka_t *rk = kafka_client(RD_KAFKA_CONSUMER, brokers, props);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(t, TELEMETRY, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(t, BILLING, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *msgs[10000];
    uint64_t got = 0;
    double first = 0, deadline = mono_s() + 120;
    while (got < total && mono_s() < deadline) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 500, msgs, 10000);
        for (ssize_t i = 0; i < n; i++) {
            if (!msgs[i]->err) {
                if (!got)
                    first = mono_s();
                got++;
            }
            rd_kafka_message_destroy(msgs[i]);
        }
    }
    double elapsed = mono_s() - first;
    rd_kafka_queue_destroy(q);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (got < total)
        die("raw consumer read %llu of %llu messages",
            (unsigned long long)got, (unsigned long long)total);
    return (double)(got - 1) / elapsed;
}

/* Committed offsets of the daemon's group over both input topics. */
static int64_t committed(rd_kafka_t *rk, int partitions, int billing_parts)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(partitions + billing_parts);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, TELEMETRY, p);
    for (int p = 0; p < billing_parts; p++)
        rd_kafka_topic_partition_list_add(l, BILLING, p);
    int64_t sum = 0;
    if (rd_kafka_committed(rk, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].offset > 0)
                sum += l->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return sum;
}

static double peak_rss_mb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return kb / 1024;
}

/* --- the latency phase ------------------------------------------------ */

typedef struct latency_run {
    const char *brokers;
    double rate;        /* events per second */
    int seconds;
    uint64_t accounts;
    double *sent;       /* mono_s() of each produce call, by index */
    uint64_t n;         /* events produced */
    volatile int done;
} latency_run_t;

static void *latency_producer(void *arg)
{
    latency_run_t *run = arg;
    /* librdkafka's default linger, as a live producer would run. */
    rd_kafka_t *rk = make_producer(run->brokers, "5");
    /* Connected, with the topic's leaders known, before the clock starts:
     * the phase measures the daemon, not a producer's first metadata. */
    {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, LIVE, NULL);
        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    sk_workload_t w;
    sk_workload_msg_t msg;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    uint64_t total = (uint64_t)(run->rate * run->seconds);
    /* Event times at the wall clock, so no event is late. */
    sk_workload_init(&w, total, run->accounts, 7, wall_ms());
    w.start_ms = wall_ms() - 1000;
    w.span_ms = 1000;
    double t0 = mono_s();
    bool more = true;
    while (more && run->n < total) {
        double due = (mono_s() - t0) * run->rate;
        while (run->n < total && run->n < (uint64_t)due) {
            if (!(more = sk_workload_next(&w, &msg, &buf)))
                break;
            if (msg.bad)
                continue; /* the latency of dead letters is not measured */
            snprintf(msg.ev.id, sizeof msg.ev.id, "lat-%llu",
                     (unsigned long long)run->n);
            msg.ev.ts_ms = wall_ms();
            msgpack_sbuffer_clear(&buf);
            sk_event_encode_msgpack(&msg.ev, &buf);
            run->sent[run->n] = mono_s();
            produce(rk, LIVE, msg.ev.account, buf.data, buf.size);
            run->n++;
        }
        rd_kafka_poll(rk, 0);
        sleep_ms(1);
    }
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_poll(rk, 50);
    msgpack_sbuffer_destroy(&buf);
    rd_kafka_destroy(rk);
    run->done = 1;
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The n of an alert caused by event "lat-n", UINT64_MAX for any other.
 * A scan, not a JSON parse: the reader must not slow the machine it
 * measures (the daemon writes "event_id":"..." as one member). */
static uint64_t alert_latency_index(const void *payload, size_t len)
{
    static const char tag[] = "\"event_id\":\"lat-";
    const size_t taglen = sizeof tag - 1;
    const char *p = payload;

    for (size_t i = 0; i + taglen < len; i++) {
        if (p[i] != '"' || memcmp(p + i, tag, taglen) != 0)
            continue;
        uint64_t n = 0;
        size_t j = i + taglen;
        if (j >= len || p[j] < '0' || p[j] > '9')
            return UINT64_MAX;
        for (; j < len && p[j] >= '0' && p[j] <= '9'; j++)
            n = n * 10 + (uint64_t)(p[j] - '0');
        return n;
    }
    return UINT64_MAX;
}

typedef struct latency {
    double p50, p99, max;
    size_t samples;
} latency_t;

static latency_t measure_latency(const char *brokers, double rate,
                                 int seconds, uint64_t accounts)
{
    latency_t out = {0};
    uint64_t total = (uint64_t)(rate * seconds) + 1;
    latency_run_t run = {.brokers = brokers, .rate = rate, .seconds = seconds,
                         .accounts = accounts};
    run.sent = calloc(total, sizeof *run.sent);
    double *lat = calloc(total, sizeof *lat);
    unsigned char *seen = calloc(total, 1);
    if (!run.sent || !lat || !seen)
        die("out of memory");

    /* Read the alerts topic from its end, by assignment (no group). */
    const char *props[] = {"group.id", "sk-bench-alerts",
                           "enable.auto.commit", "false",
                           "fetch.wait.max.ms", "5", NULL};
    rd_kafka_t *rk = kafka_client(RD_KAFKA_CONSUMER, brokers, props);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, ALERTS, 0)->offset =
        RD_KAFKA_OFFSET_END;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    sleep_ms(500);

    pthread_t thread;
    pthread_create(&thread, NULL, latency_producer, &run);
    /* Ends 3 s after the last alert of a timed event once the producer
     * is done: time-driven alerts (a backlog of silent accounts) may go
     * on for long after, and are not what is measured. */
    double last_sample = 0;
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        double now = mono_s();
        if (run.done && last_sample == 0)
            last_sample = now;
        if (run.done && now - last_sample > 3) {
            if (m)
                rd_kafka_message_destroy(m);
            break;
        }
        if (!m)
            continue;
        if (!m->err) {
            uint64_t i = alert_latency_index(m->payload, m->len);
            if (i < total && !seen[i] && run.sent[i] > 0) {
                seen[i] = 1;
                lat[out.samples++] = (now - run.sent[i]) * 1000;
                last_sample = now;
            }
        }
        rd_kafka_message_destroy(m);
    }
    pthread_join(thread, NULL);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (out.samples) {
        qsort(lat, out.samples, sizeof *lat, cmp_double);
        out.p50 = lat[out.samples / 2];
        out.p99 = lat[(size_t)((double)(out.samples - 1) * 0.99)];
        out.max = lat[out.samples - 1];
    }
    free(run.sent);
    free(lat);
    free(seen);
    return out;
}

/* --- main ------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sk-bench [--events N] [--accounts K] [--seed S]\n"
            "                [--partitions P] [--latency-seconds S] "
            "[--latency-rate EPS]\n"
            "                [--daemon PATH] [--rules FILE] "
            "[--redis-server PATH]\n\n"
            "Runs scorekeeperd against its own mock Kafka cluster and "
            "redis-server and\nprints throughput, Redis cost, alert latency "
            "and memory beside a plain\nconsumer's ceiling.  Defaults: N = "
            "2000000, K = 100000, S = 1, P = 128,\nlatency phase 10 s at half "
            "the catch-up rate, daemon ./scorekeeperd beside\nthis "
            "program.\n");
}

static void parse(int argc, char **argv, bench_opts_t *o)
{
    static const struct option longopts[] = {
        {"events", required_argument, NULL, 'n'},
        {"accounts", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"partitions", required_argument, NULL, 'p'},
        {"latency-seconds", required_argument, NULL, 'l'},
        {"latency-rate", required_argument, NULL, 'L'},
        {"daemon", required_argument, NULL, 'd'},
        {"rules", required_argument, NULL, 'r'},
        {"redis-server", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': o->events = strtoull(optarg, NULL, 10); break;
        case 'k': o->accounts = strtoull(optarg, NULL, 10); break;
        case 's': o->seed = strtoull(optarg, NULL, 10); break;
        case 'p': o->partitions = atoi(optarg); break;
        case 'l': o->latency_seconds = atoi(optarg); break;
        case 'L': o->latency_rate = atof(optarg); break;
        case 'd': o->daemon = optarg; break;
        case 'r': o->rules = optarg; break;
        case 'R': o->redis_server = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (!o->events || !o->accounts || o->partitions < 1 ||
        o->latency_seconds < 1 || o->latency_rate < 0) {
        usage(stderr);
        exit(2);
    }
}

static char *sibling(const char *argv0, const char *name)
{
    static char buf[4096];
    const char *slash = strrchr(argv0, '/');
    if (!slash)
        return (char *)name;
    snprintf(buf, sizeof buf, "%.*s/%s", (int)(slash - argv0), argv0, name);
    return buf;
}

int main(int argc, char **argv)
{
    bench_opts_t o = {.events = 2000000, .accounts = 100000, .seed = 1,
                      .partitions = 128, .latency_seconds = 10,
                      .rules = "deploy/rules.yaml",
                      .redis_server = "redis-server"};
    parse(argc, argv, &o);
    if (!o.daemon)
        o.daemon = strdup(sibling(argv[0], "scorekeeperd"));
    signal(SIGPIPE, SIG_IGN);

    char tmpl[] = "/tmp/sk-bench.XXXXXX";
    if (!(tmpdir = mkdtemp(tmpl)))
        die("mkdtemp: %s", strerror(errno));

    /* Kafka: the mock cluster, with room for the whole workload. */
    char err[512];
    int billing_parts = o.partitions / 8 > 0 ? o.partitions / 8 : 1;
    sk_kafka_embedded_t *mock = sk_kafka_embedded_new(1, err, sizeof err);
    if (!mock ||
        sk_kafka_embedded_create_topic(mock, TELEMETRY, o.partitions, err,
                                       sizeof err) ||
        sk_kafka_embedded_create_topic(mock, BILLING, billing_parts, err,
                                       sizeof err) ||
        sk_kafka_embedded_create_topic(mock, LIVE, LIVE_PARTITIONS, err,
                                       sizeof err) ||
        sk_kafka_embedded_create_topic(mock, ALERTS, 1, err, sizeof err) ||
        sk_kafka_embedded_create_topic(mock, DLQ, 1, err, sizeof err))
        die("mock cluster: %s", err);
    const char *brokers = sk_kafka_embedded_bootstraps(mock);

    /* Redis. */
    int port = free_port();
    char port_s[16], rlog[512];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(rlog, sizeof rlog, "%s/redis.log", tmpdir);
    char *rargv[] = {(char *)o.redis_server, "--port", port_s, "--bind",
                     "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", (char *)tmpdir, NULL};
    atexit(stop_children);
    pid_t redis_pid = children[0] = spawn(rargv, rlog);
    redisContext *rc = redis_connect(port);

    fprintf(stderr, "sk-bench: %llu events over %llu accounts, seed %llu, "
                    "mock cluster %s, redis port %d\n",
            (unsigned long long)o.events, (unsigned long long)o.accounts,
            (unsigned long long)o.seed, brokers, port);

    counts_t c = produce_workload(brokers, &o, wall_ms());
    rd_kafka_t *admin = kafka_client(RD_KAFKA_CONSUMER, brokers,
                                     (const char *const[]){"group.id",
                                                           "scorekeeper-bench",
                                                           NULL});
    int64_t total = topic_end(admin, TELEMETRY, o.partitions) +
                    topic_end(admin, BILLING, billing_parts);
    if ((uint64_t)total != o.events)
        die("topics hold %lld messages, %llu produced", (long long)total,
            (unsigned long long)o.events);

    fprintf(stderr, "sk-bench: raw consumer...\n");
    double raw_eps = raw_consume(brokers, (uint64_t)total);

    /* The daemon, from an empty group and an empty Redis. */
    double mem_before = redis_info(rc, "memory", "used_memory");
    redisReply *r = redisCommand(rc, "CONFIG RESETSTAT");
    if (r)
        freeReplyObject(r);
    char redis_addr[64], dlog[512];
    snprintf(redis_addr, sizeof redis_addr, "127.0.0.1:%d", port);
    snprintf(dlog, sizeof dlog, "%s/scorekeeperd.log", tmpdir);
    char *dargv[] = {(char *)o.daemon, "--brokers", (char *)brokers,
                     "--redis", redis_addr, "--group", "scorekeeper-bench",
                     "--rules", (char *)o.rules, "--backfill-horizon", "off",
                     "--allow-root", "-X", "fetch.wait.max.ms=5", NULL};
    /* Its /metrics on a free port, so runs side by side never collide. */
    char metrics[64];
    snprintf(metrics, sizeof metrics, "127.0.0.1:%d", free_port());
    setenv("SCOREKEEPER_METRICS_LISTEN", metrics, 1);
    setenv("SCOREKEEPER_INPUT_TOPICS", TELEMETRY "," BILLING "," LIVE, 1);
    fprintf(stderr, "sk-bench: scorekeeperd catch-up (log %s)...\n", dlog);
    pid_t daemon_pid = children[1] = spawn(dargv, dlog);
    double start = 0, end = 0;
    int64_t at_start = 0, done = 0;
    double deadline = mono_s() + 1800;
    while (done < total) {
        if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid)
            die("scorekeeperd exited; see %s", dlog);
        if (mono_s() > deadline)
            die("catch-up did not finish in 30 minutes; see %s", dlog);
        done = committed(admin, o.partitions, billing_parts);
        if (done > 0 && start == 0) {
            start = mono_s();
            at_start = done;
        }
        sleep_ms(20);
    }
    end = mono_s();
    double e2e_eps = end > start ? (double)(done - at_start) / (end - start)
                                 : 0;
    double calls = redis_total_calls(rc);
    redis_top_commands(rc, stdout);
    double mem_after = redis_info(rc, "memory", "used_memory");
    long long stored = redis_int(rc, "ZCARD sk:idx:score");

    double lrate = o.latency_rate > 0 ? o.latency_rate : e2e_eps / 2;
    fprintf(stderr, "sk-bench: alert latency at %.0f events/s for %d s...\n",
            lrate, o.latency_seconds);
    latency_t lat = measure_latency(brokers, lrate, o.latency_seconds,
                                    o.accounts);
    double rss = peak_rss_mb(daemon_pid);

    stop(daemon_pid);
    rd_kafka_destroy(admin);
    redisFree(rc);
    stop(redis_pid);
    children[0] = children[1] = 0;
    sk_kafka_embedded_destroy(mock);
    unlink(dlog);
    unlink(rlog);
    rmdir(tmpdir);

    double ratio = raw_eps > 0 ? e2e_eps / raw_eps : 0;
    double cmds = calls / (double)total;
    double per_account = (mem_after - mem_before) / (double)o.accounts;
    printf("\n%-34s %14s\n", "measure", "value");
    printf("%-34s %14llu\n", "events (telemetry + billing)",
           (unsigned long long)total);
    printf("%-34s %14llu\n", "  of which malformed (dead letters)",
           (unsigned long long)c.bad);
    printf("%-34s %14llu\n", "accounts (stored)", (unsigned long long)stored);
    printf("%-34s %14.0f\n", "raw consumer, events/s", raw_eps);
    printf("%-34s %14.0f\n", "scorekeeperd catch-up, events/s", e2e_eps);
    printf("%-34s %14.2f\n", "  ratio to raw", ratio);
    printf("%-34s %14.3f\n", "Redis commands per event", cmds);
    printf("%-34s %14.0f\n", "Redis bytes per account", per_account);
    printf("%-34s %14.0f\n", "alert latency phase, events/s", lrate);
    printf("%-34s %14zu\n", "alert latency samples", lat.samples);
    printf("%-34s %14.1f\n", "alert latency p50, ms", lat.p50);
    printf("%-34s %14.1f\n", "alert latency p99, ms", lat.p99);
    printf("%-34s %14.1f\n", "alert latency max, ms", lat.max);
    printf("%-34s %14.0f\n", "daemon peak RSS, MB", rss);
    printf("\nbench: events=%lld accounts=%llu raw_consume_eps=%.0f "
           "e2e_eps=%.0f e2e_vs_raw=%.2f redis_cmds_per_event=%.3f "
           "p99_alert_ms=%.1f rss_mb=%.0f redis_bytes_per_account=%.0f\n",
           (long long)total, (unsigned long long)o.accounts, raw_eps, e2e_eps,
           ratio, cmds, lat.p99, rss, per_account);
    return 0;
}
