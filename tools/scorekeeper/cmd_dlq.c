/*
 * cmd_dlq.c - `scorekeeper dlq`: read the dead-letter topic, and
 * `scorekeeper dlq redrive`: send dead letters back where they came from
 * once whatever rejected them is fixed.
 *
 * scorekeeperd dead-letters a message with its original key and bytes
 * and five headers: reason (a reject code such as bad_json), error (the
 * decoder's message), source.topic, source.partition and source.offset.
 * Everything on the topic is untrusted: a header may be missing or hold
 * any bytes, so each field is printed as JSON-escaped text when it is
 * printable UTF-8 and as hex otherwise, and nothing is ever produced to
 * a topic whose name is not a valid one.
 *
 * DESIGN (redrive): the dead-letter topic is read as consumer group
 * GROUP by assignment (no rebalance to wait for), resuming at the group's
 * committed offsets.  Each dead letter is produced to its source topic
 * and partition (so an account's events stay on the partition the
 * daemon reads them from) by an idempotent producer with acks=all; the
 * group's offsets are committed only after every message produced so far
 * is delivered.  A crash or a failed delivery therefore re-drives at
 * most one batch again on the next run, never loses one: at-least-once,
 * and scorekeeperd's duplicate check by event id makes a repeat harmless.
 * Dead letters of other reasons (--reason) are passed over and committed
 * too, which is why each reason has its own default group.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "cli_bytes.h"
#include "cli_kafka.h"
#include "clock.h"
#include "kafka_props.h"
#include "scorekeeper/common.h"
#include "signals.h"

#define DEFAULT_DLQ_TOPIC "scorekeeper.dlq"
#define DEFAULT_REDRIVE_GROUP "scorekeeper-redrive"
#define POLL_MS 200
/** Most messages produced before a redrive waits for them and commits. */
#define REDRIVE_BATCH 500
/** How long redrive waits for the dead-letter topic to exist. */
#define TOPIC_WAIT_MS 15000
/** Most skipped dead letters reported one by one. */
#define MAX_SKIPS_SHOWN 20
/** The longest topic name Kafka accepts. */
#define TOPIC_NAME_MAX 249

/** A header or key or value: bytes borrowed from a message. */
typedef struct field {
    const char *p; /**< NULL when absent */
    size_t n;      /**< length */
} field_t;

/** What a dead letter says about itself, borrowed from its message. */
typedef struct dead_letter {
    field_t reason;           /**< reject code */
    field_t error;            /**< the decoder's message */
    field_t source_topic;     /**< where it was consumed */
    int64_t source_partition; /**< -1 when absent or not a number */
    int64_t source_offset;    /**< -1 when absent or not a number */
} dead_letter_t;

static field_t header(rd_kafka_headers_t *hdrs, const char *name)
{
    field_t f = {NULL, 0};
    const void *v = NULL;
    size_t n = 0;
    if (hdrs && rd_kafka_header_get_last(hdrs, name, &v, &n) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
        f.p = v ? v : "";
        f.n = v ? n : 0;
    }
    return f;
}

/* A header holding a decimal number >= 0, or -1. */
static int64_t header_number(rd_kafka_headers_t *hdrs, const char *name)
{
    field_t f = header(hdrs, name);
    int64_t v = 0;
    if (!f.p || f.n == 0 || f.n > 18)
        return -1;
    for (size_t i = 0; i < f.n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9')
            return -1;
        v = v * 10 + (f.p[i] - '0');
    }
    return v;
}

static void dead_letter_read(const rd_kafka_message_t *m, dead_letter_t *d)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        hdrs = NULL;
    d->reason = header(hdrs, "reason");
    d->error = header(hdrs, "error");
    d->source_topic = header(hdrs, "source.topic");
    d->source_partition = header_number(hdrs, "source.partition");
    d->source_offset = header_number(hdrs, "source.offset");
}

static bool field_is(field_t f, const char *s)
{
    return f.p && f.n == strlen(s) && memcmp(f.p, s, f.n) == 0;
}

/* Copy a valid topic name ([A-Za-z0-9._-], 1..249 bytes) into @p buf of
 * TOPIC_NAME_MAX + 1 bytes.  @returns whether it is one. */
static bool topic_name(field_t f, char *buf)
{
    if (!f.p || f.n == 0 || f.n > TOPIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < f.n; i++) {
        char c = f.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    memcpy(buf, f.p, f.n);
    buf[f.n] = '\0';
    return true;
}

/* Set @p name (text) or @p name_hex (bytes) in @p o; null when absent.
 * @returns SK_OK or SK_ERR (out of memory). */
static int set_bytes(json_t *o, const char *name, field_t f)
{
    char key[64];
    bool text;
    if (!f.p)
        return json_object_set_new(o, name, json_null()) ? SK_ERR : SK_OK;
    json_t *v = sk_cli_bytes_json(f.p, f.n, &text);
    if (!v)
        return SK_ERR;
    snprintf(key, sizeof key, "%s%s", name, text ? "" : "_hex");
    return json_object_set_new(o, key, v) ? SK_ERR : SK_OK;
}

/* Print " name=VALUE": "-" when absent, a JSON string for text,
 * hex:DIGITS for bytes.  @returns SK_OK or SK_ERR (out of memory). */
static int print_field(const char *name, field_t f)
{
    bool text;
    if (!f.p) {
        printf(" %s=-", name);
        return SK_OK;
    }
    json_t *v = sk_cli_bytes_json(f.p, f.n, &text);
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!s)
        return SK_ERR;
    if (text)
        printf(" %s=%s", name, s);
    else /* the hex digits without the quotes */
        printf(" %s=hex:%.*s", name, (int)(strlen(s) - 2), s + 1);
    free(s);
    return SK_OK;
}

static field_t key_of(const rd_kafka_message_t *m)
{
    field_t f = {m->key, m->key_len};
    return f;
}

static field_t value_of(const rd_kafka_message_t *m)
{
    field_t f = {m->payload ? m->payload : "", m->len};
    if (!m->payload && m->len == 0)
        f.p = NULL; /* a tombstone has no value at all */
    return f;
}

/* One dead letter on stdout.  @returns SK_OK or SK_ERR (out of memory). */
static int print_dead_letter(const rd_kafka_message_t *m,
                             const dead_letter_t *d, int json)
{
    char ts[32] = "-";
    rd_kafka_timestamp_type_t tstype;
    int64_t ts_ms = rd_kafka_message_timestamp(m, &tstype);
    if (ts_ms >= 0)
        sk_format_time(ts_ms, ts, sizeof ts);

    if (!json) {
        char topic[TOPIC_NAME_MAX + 1];
        printf("%s [%" PRId32 "] @%" PRId64 " %s", rd_kafka_topic_name(m->rkt),
               m->partition, m->offset, ts);
        if (print_field("reason", d->reason) != SK_OK)
            return SK_ERR;
        if (topic_name(d->source_topic, topic))
            printf(" source=%s", topic);
        else if (print_field("source", d->source_topic) != SK_OK)
            return SK_ERR;
        if (d->source_partition >= 0)
            printf("[%" PRId64 "]", d->source_partition);
        if (d->source_offset >= 0)
            printf("@%" PRId64, d->source_offset);
        if (print_field("key", key_of(m)) != SK_OK ||
            print_field("error", d->error) != SK_OK ||
            print_field("value", value_of(m)) != SK_OK)
            return SK_ERR;
        printf("\n");
        return SK_OK;
    }
    int status = SK_ERR;
    char *line = NULL;
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "partition", json_integer(m->partition)) ||
        json_object_set_new(o, "offset", json_integer(m->offset)) ||
        json_object_set_new(o, "ts",
                            ts_ms >= 0 ? json_string(ts) : json_null()) ||
        set_bytes(o, "reason", d->reason) != SK_OK ||
        set_bytes(o, "error", d->error) != SK_OK ||
        set_bytes(o, "source_topic", d->source_topic) != SK_OK ||
        json_object_set_new(o, "source_partition",
                            d->source_partition >= 0
                                ? json_integer(d->source_partition)
                                : json_null()) ||
        json_object_set_new(o, "source_offset",
                            d->source_offset >= 0
                                ? json_integer(d->source_offset)
                                : json_null()) ||
        set_bytes(o, "key", key_of(m)) != SK_OK ||
        set_bytes(o, "value", value_of(m)) != SK_OK)
        goto cleanup;
    line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!line)
        goto cleanup;
    printf("%s\n", line);
    status = SK_OK;
cleanup:
    free(line);
    json_decref(o);
    return status;
}

/* ---- inspect ------------------------------------------------------------ */

static void inspect_usage(FILE *out)
{
    fputs(
        "usage: scorekeeper dlq --brokers LIST [OPTIONS]\n"
        "       scorekeeper dlq redrive --brokers LIST [OPTIONS]\n"
        "\n"
        "Print the dead letters scorekeeperd wrote, one a line: partition and "
        "offset\n"
        "on the dead-letter topic, time, reason, source "
        "topic[partition]@offset, key,\n"
        "error and the original value.  Texts are JSON-escaped strings when "
        "they are\n"
        "printable UTF-8, hex:DIGITS otherwise, - when absent.  Nothing is "
        "committed.\n"
        "`scorekeeper dlq redrive --help` tells how to send them back.\n"
        "\n"
        "Options:\n"
        "  --brokers LIST        bootstrap servers, host:port[,...] (default\n"
        "                        $SCOREKEEPER_BROKERS)\n"
        "  --topic TOPIC         the dead-letter topic (default "
        "$SCOREKEEPER_DLQ_TOPIC\n"
        "                        or scorekeeper.dlq)\n"
        "  --from-beginning      start at the oldest dead letter kept, not at "
        "the newest\n"
        "  --idle-exit SECONDS   exit after SECONDS without a message (0, the "
        "default:\n"
        "                        never)\n"
        "  --reason CODE         only dead letters of this reason (bad_json, "
        "...)\n"
        "  --json                one JSON object a line: partition, offset, "
        "ts, reason,\n"
        "                        error, source_topic, source_partition, "
        "source_offset,\n"
        "                        key, value (FIELD_hex instead of FIELD for "
        "bytes)\n"
        "  -X, --property K=V    any librdkafka property (repeatable)\n"
        "  --kafka-config FILE   librdkafka properties, key=value a line "
        "(secrets)\n"
        "  --help                this text\n"
        "\n"
        "SCOREKEEPER_KAFKA_<NAME> environment variables set librdkafka "
        "properties\n"
        "too, as for scorekeeperd.  Stops on SIGINT or SIGTERM.  Exit status: "
        "0 ok,\n"
        "1 error, 2 usage.\n",
        out);
}

static int inspect(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_KAFKA_LONG_OPTIONS,
        SK_CLI_KAFKA_TAIL_LONG_OPTIONS,
        {"reason", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *reason = NULL;
    int json = 0;
    sk_cli_kafka_t ka = {0};
    sk_cli_kafka_tail_t tail = {0};
    sk_kafka_props_t fixed = {0};
    char errstr[SK_ERRSTR_LEN];
    int status = SK_EXIT_USAGE;
    rd_kafka_t *rk = NULL;
    if (sk_cli_kafka_env(&ka, "dlq") != SK_OK)
        goto cleanup;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
        case 'X':
        case 'F':
            if (sk_cli_kafka_option(&ka, "dlq", c, optarg) != SK_OK)
                goto cleanup;
            break;
        case 't':
        case 'B':
        case 'i':
            if (sk_cli_kafka_tail_option(&tail, "dlq", c, optarg) != SK_OK)
                goto cleanup;
            break;
        case 'r':
            reason = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            inspect_usage(stdout);
            status = SK_EXIT_OK;
            goto cleanup;
        default:
            inspect_usage(stderr);
            goto cleanup;
        }
    }
    const char *topic = sk_cli_kafka_setting(
        tail.topic, "SCOREKEEPER_DLQ_TOPIC", DEFAULT_DLQ_TOPIC);
    if (sk_cli_kafka_require_brokers(&ka, "dlq") != SK_OK)
        goto cleanup;
    if (optind < argc) {
        fprintf(stderr, "scorekeeper dlq: unexpected argument '%s'%s\n",
                argv[optind],
                strcmp(argv[optind], "redrive") == 0
                    ? " (write `scorekeeper dlq redrive OPTIONS`)"
                    : "");
        goto cleanup;
    }

    status = SK_EXIT_ERROR;
    /* a group id of its own, never joined: nothing is committed */
    if (sk_cli_kafka_fixed_no_commit(&fixed, "dlq", NULL, errstr,
                                     sizeof errstr) != SK_OK ||
        sk_kafka_props_set(&fixed, "enable.partition.eof", "false", errstr,
                           sizeof errstr) != SK_OK) {
        fprintf(stderr, "scorekeeper dlq: %s\n", errstr);
        goto cleanup;
    }
    sk_cli_kafka_warn(&ka.props, "dlq");
    rk = sk_cli_kafka_client(RD_KAFKA_CONSUMER, &ka, "dlq", &fixed, NULL, NULL);
    if (!rk)
        goto cleanup;
    rd_kafka_poll_set_consumer(rk);
    sk_signals_install();

    int64_t last = sk_clock_mono_ms();
    if (sk_cli_kafka_tail_assign(rk, "dlq", &tail, topic, last) != SK_OK)
        goto cleanup;

    uint64_t printed = 0, filtered = 0;
    while (!sk_signals_stop_requested()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, POLL_MS);
        if (!m) {
            if (tail.idle_ms && sk_clock_mono_ms() - last >= tail.idle_ms)
                break;
            continue;
        }
        if (m->err) {
            fprintf(stderr, "scorekeeper dlq: %s\n",
                    rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        last = sk_clock_mono_ms();
        dead_letter_t d;
        dead_letter_read(m, &d);
        if (reason && !field_is(d.reason, reason)) {
            filtered++;
        } else if (print_dead_letter(m, &d, json) != SK_OK) {
            rd_kafka_message_destroy(m);
            fprintf(stderr, "scorekeeper dlq: out of memory\n");
            goto cleanup;
        } else {
            printed++;
            fflush(stdout);
        }
        rd_kafka_message_destroy(m);
    }
    if (ferror(stdout)) {
        fprintf(stderr, "scorekeeper dlq: cannot write the output\n");
        goto cleanup;
    }
    fprintf(stderr, "scorekeeper dlq: %" PRIu64 " dead letter%s printed",
            printed, printed == 1 ? "" : "s");
    if (reason)
        fprintf(stderr, ", %" PRIu64 " of other reasons left out", filtered);
    fprintf(stderr, "\n");
    status = SK_EXIT_OK;
cleanup:
    if (rk)
        rd_kafka_destroy(rk);
    sk_cli_kafka_free(&ka);
    sk_kafka_props_free(&fixed);
    return status;
}

/* ---- redrive ------------------------------------------------------------ */

/** Where a partition of the dead-letter topic stands. */
typedef struct dlq_part {
    int32_t id;   /**< partition id */
    int64_t next; /**< offset after the last one handled, -1 none */
    bool dirty;   /**< handled since the last commit */
    bool at_end;  /**< partition EOF came after its last message */
} dlq_part_t;

/** How many partitions a source topic has, looked up once. */
typedef struct topic_size {
    char name[TOPIC_NAME_MAX + 1]; /**< the topic */
    int partitions;                /**< 0: the cluster does not know it */
} topic_size_t;

/** A redrive in progress. */
typedef struct redrive {
    rd_kafka_t *consumer;  /**< reads the dead-letter topic */
    rd_kafka_t *producer;  /**< writes to the source topics */
    const char *dlq_topic; /**< --topic */
    const char *group;     /**< the committing group */
    dlq_part_t *parts;     /**< the assignment */
    int n_parts;           /**< its length */
    topic_size_t *sizes;   /**< source topics seen so far */
    size_t n_sizes;        /**< their count */
    uint64_t produced;     /**< handed to the producer */
    uint64_t delivered;    /**< acknowledged (delivery reports) */
    uint64_t failed;       /**< failed for good (delivery reports) */
    uint64_t committed;    /**< dead letters whose offsets are committed */
    uint64_t handled;      /**< dead letters handled (any outcome) */
    uint64_t other_reason; /**< passed over: --reason differs */
    uint64_t unroutable;   /**< skipped: no valid source topic/partition */
} redrive_t;

static void on_redrive_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                                void *opaque)
{
    (void)rk;
    redrive_t *rd = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd->delivered++;
        return;
    }
    if (rd->failed++ < MAX_SKIPS_SHOWN)
        fprintf(stderr,
                "scorekeeper dlq redrive: delivery to %s [%" PRId32
                "] failed: %s\n",
                rd_kafka_topic_name(m->rkt), m->partition,
                rd_kafka_err2str(m->err));
}

static dlq_part_t *find_part(redrive_t *rd, int32_t id)
{
    for (int i = 0; i < rd->n_parts; i++)
        if (rd->parts[i].id == id)
            return &rd->parts[i];
    return NULL;
}

/* The partition count of @p topic into *@p count (0: no such topic),
 * asked through the consumer, which never creates a topic by asking.
 * @returns SK_OK, or SK_ERR (reported) when the cluster did not answer. */
static int source_partitions(redrive_t *rd, const char *topic, int *count)
{
    char errstr[SK_ERRSTR_LEN];
    rd_kafka_resp_err_t kerr;
    for (size_t i = 0; i < rd->n_sizes; i++) {
        if (strcmp(rd->sizes[i].name, topic) == 0) {
            *count = rd->sizes[i].partitions;
            return SK_OK;
        }
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(8);
    int rc = sk_cli_kafka_partitions(rd->consumer, topic, 10000, parts, &kerr,
                                     errstr, sizeof errstr);
    *count = parts->cnt;
    rd_kafka_topic_partition_list_destroy(parts);
    if (rc != SK_OK && kerr != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        fprintf(stderr, "scorekeeper dlq redrive: %s\n", errstr);
        return SK_ERR;
    }
    topic_size_t *grown =
        realloc(rd->sizes, (rd->n_sizes + 1) * sizeof *rd->sizes);
    if (!grown) {
        fprintf(stderr, "scorekeeper dlq redrive: out of memory\n");
        return SK_ERR;
    }
    rd->sizes = grown;
    snprintf(grown[rd->n_sizes].name, sizeof grown->name, "%s", topic);
    grown[rd->n_sizes++].partitions = *count;
    return SK_OK;
}

/* Wait until everything produced is delivered, then commit the offsets
 * of every dead letter handled.  @returns SK_OK, or SK_ERR (reported):
 * a delivery failed (nothing is committed) or the commit did. */
static int settle(redrive_t *rd)
{
    while (rd_kafka_outq_len(rd->producer) > 0) {
        rd_kafka_flush(rd->producer, 1000);
        char fatal[256];
        if (rd_kafka_fatal_error(rd->producer, fatal, sizeof fatal)) {
            fprintf(stderr, "scorekeeper dlq redrive: fatal: %s\n", fatal);
            return SK_ERR;
        }
    }
    if (rd->failed > 0 || rd->delivered != rd->produced) {
        fprintf(stderr,
                "scorekeeper dlq redrive: not committing: %" PRIu64
                " of %" PRIu64 " messages were not delivered; the "
                "next run re-drives them\n",
                rd->produced - rd->delivered, rd->produced);
        return SK_ERR;
    }
    rd_kafka_topic_partition_list_t *offsets =
        rd_kafka_topic_partition_list_new(rd->n_parts);
    for (int i = 0; i < rd->n_parts; i++)
        if (rd->parts[i].dirty)
            rd_kafka_topic_partition_list_add(offsets, rd->dlq_topic,
                                              rd->parts[i].id)
                ->offset = rd->parts[i].next;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (offsets->cnt > 0)
        err = rd_kafka_commit(rd->consumer, offsets, 0 /* synchronous */);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (err) {
        fprintf(stderr,
                "scorekeeper dlq redrive: committing the offsets of "
                "group %s: %s; the next run re-drives this batch\n",
                rd->group, rd_kafka_err2str(err));
        return SK_ERR;
    }
    for (int i = 0; i < rd->n_parts; i++)
        rd->parts[i].dirty = false;
    rd->committed = rd->handled;
    return SK_OK;
}

/* Re-drive one dead letter (or pass over it).  @returns SK_OK or SK_ERR
 * (reported: the producer refused it). */
static int redrive_one(redrive_t *rd, const rd_kafka_message_t *m,
                       const char *reason, const char *to)
{
    dead_letter_t d;
    char topic[TOPIC_NAME_MAX + 1];
    const char *skip = NULL;
    int32_t partition = RD_KAFKA_PARTITION_UA;

    dead_letter_read(m, &d);
    if (reason && !field_is(d.reason, reason)) {
        rd->other_reason++;
        return SK_OK;
    }
    if (to) {
        snprintf(topic, sizeof topic, "%s", to);
    } else if (!topic_name(d.source_topic, topic)) {
        skip = d.source_topic.p ? "source.topic is not a topic name"
                                : "no source.topic header";
    } else if (d.source_partition < 0 || d.source_partition > INT32_MAX) {
        skip = "no source.partition header";
    } else {
        /* back to the partition it was read from: the daemon that reads
         * the account's other events reads this one too */
        partition = (int32_t)d.source_partition;
    }
    if (!skip && strcmp(topic, rd->dlq_topic) == 0)
        skip = "its source is the dead-letter topic itself";
    if (!skip && partition != RD_KAFKA_PARTITION_UA) {
        int count;
        if (source_partitions(rd, topic, &count) != SK_OK)
            return SK_ERR;
        if (count == 0)
            skip = "its source topic does not exist";
        else if (partition >= count)
            skip = "its source partition does not exist";
    }
    if (skip) {
        if (rd->unroutable++ < MAX_SKIPS_SHOWN)
            fprintf(stderr,
                    "scorekeeper dlq redrive: skipped %s [%" PRId32
                    "] @%" PRId64 ": %s (--to TOPIC sends it elsewhere)\n",
                    rd->dlq_topic, m->partition, m->offset, skip);
        return SK_OK;
    }
    char from[TOPIC_NAME_MAX + 48];
    snprintf(from, sizeof from, "%s/%" PRId32 "/%" PRId64, rd->dlq_topic,
             m->partition, m->offset);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rd->producer, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE(m->payload, m->len),
            RD_KAFKA_V_HEADER("redriven.from", from, -1), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr,
                    "scorekeeper dlq redrive: cannot produce to %s "
                    "[%" PRId32 "]: %s\n",
                    topic, partition, rd_kafka_err2str(err));
            return SK_ERR;
        }
        rd_kafka_poll(rd->producer, 100);
    }
    rd->produced++;
    rd_kafka_poll(rd->producer, 0);
    return SK_OK;
}

static void redrive_usage(FILE *out)
{
    fputs(
        "usage: scorekeeper dlq redrive --brokers LIST [OPTIONS]\n"
        "\n"
        "Send dead letters back to where scorekeeperd read them, once the "
        "cause is\n"
        "fixed (the producer, or the rules now accept them): each one's "
        "original key\n"
        "and bytes go to its source.topic and source.partition (or to --to "
        "TOPIC,\n"
        "partitioned by key), with a header "
        "redriven.from=DLQ-TOPIC/PARTITION/OFFSET.\n"
        "The dead-letter topic is read as consumer group GROUP from where it "
        "last\n"
        "stopped, and the group's offsets are committed only after delivery:\n"
        "at-least-once (scorekeeperd drops repeated event ids).  Stops at the "
        "end of\n"
        "the topic and prints how many dead letters were re-driven and "
        "skipped.\n"
        "\n"
        "Options:\n"
        "  --brokers LIST        bootstrap servers, host:port[,...] (default\n"
        "                        $SCOREKEEPER_BROKERS)\n"
        "  --topic TOPIC         the dead-letter topic (default "
        "$SCOREKEEPER_DLQ_TOPIC\n"
        "                        or scorekeeper.dlq)\n"
        "  --reason CODE         only dead letters of this reason; the others "
        "are\n"
        "                        passed over (and committed for GROUP)\n"
        "  --to TOPIC            produce to TOPIC instead of each source "
        "topic\n"
        "  --group GROUP         the group that remembers the position "
        "(default\n"
        "                        scorekeeper-redrive; with --reason,\n"
        "                        scorekeeper-redrive.CODE)\n"
        "  --idle-exit SECONDS   at the end, wait for new dead letters until "
        "SECONDS\n"
        "                        pass without one (default 0: stop at the "
        "end)\n"
        "  --json                print the counts as one JSON object\n"
        "  -X, --property K=V    any librdkafka property, for both clients\n"
        "                        (repeatable)\n"
        "  --kafka-config FILE   librdkafka properties, key=value a line "
        "(secrets)\n"
        "  --help                this text\n"
        "\n"
        "SCOREKEEPER_KAFKA_<NAME> environment variables set librdkafka "
        "properties\n"
        "too, as for scorekeeperd.  Fixed: enable.idempotence=true, acks=all,\n"
        "partitioner=murmur2_random.\n"
        "Exit status: 0 ok; 1 error (a delivery or the commit failed: the next "
        "run\n"
        "re-drives the uncommitted ones); 2 usage; 3 some dead letters have no "
        "valid\n"
        "source topic or partition (skipped and committed; use --to).\n",
        out);
}

static int redrive(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_KAFKA_LONG_OPTIONS,
        {"topic", required_argument, NULL, 't'},
        {"reason", required_argument, NULL, 'r'},
        {"to", required_argument, NULL, 'T'},
        {"group", required_argument, NULL, 'g'},
        {"idle-exit", required_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *reason = NULL, *to = NULL, *group = NULL;
    char group_buf[256];
    int json = 0;
    sk_cli_kafka_t ka = {0};
    /* --topic and --idle-exit; no --from-beginning: the group's offsets
     * say where to start */
    sk_cli_kafka_tail_t tail = {0};
    sk_kafka_props_t cfixed = {0}, pfixed = {0};
    char errstr[SK_ERRSTR_LEN];
    int status = SK_EXIT_USAGE;
    redrive_t rd = {0};
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (sk_cli_kafka_env(&ka, "dlq redrive") != SK_OK)
        goto cleanup;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
        case 'X':
        case 'F':
            if (sk_cli_kafka_option(&ka, "dlq redrive", c, optarg) != SK_OK)
                goto cleanup;
            break;
        case 't':
        case 'i':
            if (sk_cli_kafka_tail_option(&tail, "dlq redrive", c, optarg) !=
                SK_OK)
                goto cleanup;
            break;
        case 'r':
            reason = optarg;
            break;
        case 'T':
            to = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            redrive_usage(stdout);
            status = SK_EXIT_OK;
            goto cleanup;
        default:
            redrive_usage(stderr);
            goto cleanup;
        }
    }
    rd.dlq_topic = sk_cli_kafka_setting(tail.topic, "SCOREKEEPER_DLQ_TOPIC",
                                        DEFAULT_DLQ_TOPIC);
    if (sk_cli_kafka_require_brokers(&ka, "dlq redrive") != SK_OK)
        goto cleanup;
    if (optind < argc) {
        fprintf(stderr, "scorekeeper dlq redrive: unexpected argument '%s'\n",
                argv[optind]);
        goto cleanup;
    }
    char to_check[TOPIC_NAME_MAX + 1];
    if (to && !topic_name((field_t){to, strlen(to)}, to_check)) {
        fprintf(stderr,
                "scorekeeper dlq redrive: --to: '%s' is not a topic "
                "name ([A-Za-z0-9._-], 1..%d bytes)\n",
                to, TOPIC_NAME_MAX);
        goto cleanup;
    }
    if (to && strcmp(to, rd.dlq_topic) == 0) {
        fprintf(stderr, "scorekeeper dlq redrive: --to is the dead-letter "
                        "topic itself\n");
        goto cleanup;
    }
    if (reason && !*reason) {
        fprintf(stderr, "scorekeeper dlq redrive: --reason is empty\n");
        goto cleanup;
    }
    if (group && !*group) {
        fprintf(stderr, "scorekeeper dlq redrive: --group is empty\n");
        goto cleanup;
    }
    if (!group) {
        /* one position per reason: re-driving one reason must not pass
         * over the dead letters of the others for good */
        int len = snprintf(group_buf, sizeof group_buf, "%s%s%s",
                           DEFAULT_REDRIVE_GROUP, reason ? "." : "",
                           reason ? reason : "");
        if (len < 0 || (size_t)len >= sizeof group_buf) {
            fprintf(stderr, "scorekeeper dlq redrive: --reason is too long "
                            "for a group name; give --group\n");
            goto cleanup;
        }
        group = group_buf;
    }
    rd.group = group;

    status = SK_EXIT_ERROR;
    int ok =
        sk_kafka_props_set(&cfixed, "group.id", group, errstr, sizeof errstr) ==
            SK_OK &&
        sk_kafka_props_set(&cfixed, "auto.offset.reset", "earliest", errstr,
                           sizeof errstr) == SK_OK &&
        sk_kafka_props_set(&cfixed, "enable.auto.commit", "false", errstr,
                           sizeof errstr) == SK_OK &&
        sk_kafka_props_set(&cfixed, "enable.auto.offset.store", "false", errstr,
                           sizeof errstr) == SK_OK &&
        sk_kafka_props_set(&cfixed, "enable.partition.eof", "true", errstr,
                           sizeof errstr) == SK_OK &&
        sk_cli_kafka_fixed_idempotent(&pfixed, errstr, sizeof errstr) == SK_OK;
    if (!ok) {
        fprintf(stderr, "scorekeeper dlq redrive: %s\n", errstr);
        goto cleanup;
    }
    sk_cli_kafka_warn(&ka.props, "dlq redrive");
    rd.consumer = sk_cli_kafka_client(RD_KAFKA_CONSUMER, &ka, "dlq redrive",
                                      &cfixed, NULL, NULL);
    if (!rd.consumer)
        goto cleanup;
    rd_kafka_poll_set_consumer(rd.consumer);
    rd.producer = sk_cli_kafka_client(RD_KAFKA_PRODUCER, &ka, "dlq redrive",
                                      &pfixed, on_redrive_delivery, &rd);
    if (!rd.producer)
        goto cleanup;
    sk_signals_install();

    if (sk_cli_kafka_assign_all(rd.consumer, "dlq redrive", rd.dlq_topic,
                                RD_KAFKA_OFFSET_STORED,
                                sk_clock_mono_ms() + TOPIC_WAIT_MS) != SK_OK)
        goto cleanup;
    if (rd_kafka_assignment(rd.consumer, &assigned) ||
        !(rd.parts = calloc((size_t)assigned->cnt + 1, sizeof *rd.parts))) {
        fprintf(stderr, "scorekeeper dlq redrive: out of memory\n");
        goto cleanup;
    }
    rd.n_parts = assigned->cnt;
    for (int i = 0; i < rd.n_parts; i++) {
        rd.parts[i].id = assigned->elems[i].partition;
        rd.parts[i].next = -1;
    }

    int64_t last = sk_clock_mono_ms();
    uint64_t batch = 0;
    int failed = 0;
    while (!sk_signals_stop_requested()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rd.consumer, POLL_MS);
        if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            dlq_part_t *p = find_part(&rd, m->partition);
            if (p)
                p->at_end = true;
            rd_kafka_message_destroy(m);
            m = NULL;
        } else if (m && m->err) {
            fprintf(stderr, "scorekeeper dlq redrive: %s\n",
                    rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!m) {
            if (batch > 0) {
                if (settle(&rd) != SK_OK) {
                    failed = 1;
                    break;
                }
                batch = 0;
            }
            bool all_at_end = true;
            for (int i = 0; i < rd.n_parts; i++)
                all_at_end = all_at_end && rd.parts[i].at_end;
            if (all_at_end && sk_clock_mono_ms() - last >= tail.idle_ms)
                break;
            continue;
        }
        last = sk_clock_mono_ms();
        dlq_part_t *p = find_part(&rd, m->partition);
        int rc = redrive_one(&rd, m, reason, to);
        if (p) {
            p->at_end = false;
            p->next = m->offset + 1;
            p->dirty = true;
        }
        rd_kafka_message_destroy(m);
        if (rc != SK_OK) {
            failed = 1;
            break;
        }
        rd.handled++;
        if (++batch >= REDRIVE_BATCH) {
            if (settle(&rd) != SK_OK) {
                failed = 1;
                break;
            }
            batch = 0;
        }
    }
    int interrupted = sk_signals_stop_requested();
    if (!failed && batch > 0 && settle(&rd) != SK_OK)
        failed = 1;
    if (interrupted)
        fprintf(stderr, "scorekeeper dlq redrive: interrupted; what was "
                        "delivered is committed\n");

    uint64_t redriven = rd.delivered;
    if (json) {
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:s}", "redriven", (json_int_t)redriven,
            "skipped_other_reason", (json_int_t)rd.other_reason,
            "skipped_invalid_source", (json_int_t)rd.unroutable, "committed",
            (json_int_t)rd.committed, "failed", (json_int_t)rd.failed, "group",
            group);
        char *line =
            o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!line) {
            fprintf(stderr, "scorekeeper dlq redrive: out of memory\n");
            failed = 1;
        } else {
            printf("%s\n", line);
            free(line);
        }
    } else {
        printf("%" PRIu64 " dead letter%s re-driven%s%s, %" PRIu64
               " skipped (%" PRIu64 " of other reasons, %" PRIu64
               " with no valid source); %" PRIu64 " committed for group %s\n",
               redriven, redriven == 1 ? "" : "s", to ? " to " : "",
               to ? to : "", rd.other_reason + rd.unroutable, rd.other_reason,
               rd.unroutable, rd.committed, group);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scorekeeper dlq redrive: cannot write the output\n");
        failed = 1;
    }
    if (failed || interrupted)
        status = SK_EXIT_ERROR;
    else if (rd.unroutable > 0)
        status = SK_EXIT_INVALID_INPUT;
    else
        status = SK_EXIT_OK;
cleanup:
    if (assigned)
        rd_kafka_topic_partition_list_destroy(assigned);
    if (rd.consumer) {
        rd_kafka_consumer_close(rd.consumer);
        rd_kafka_destroy(rd.consumer);
    }
    if (rd.producer) {
        /* after a failure, whatever is still queued is not committed:
         * the next run sends it again, so do not wait for it */
        rd_kafka_purge(rd.producer, RD_KAFKA_PURGE_F_QUEUE);
        rd_kafka_destroy(rd.producer);
    }
    free(rd.parts);
    free(rd.sizes);
    sk_cli_kafka_free(&ka);
    sk_kafka_props_free(&cfixed);
    sk_kafka_props_free(&pfixed);
    return status;
}

int sk_cmd_dlq(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "redrive") == 0)
        return redrive(argc - 1, argv + 1);
    return inspect(argc, argv);
}
