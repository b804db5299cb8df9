/*
 * cmd_produce.c - `scorekeeper produce`: JSON-lines events onto a Kafka
 * topic, in the wire form the daemon reads.
 *
 * Each line is decoded and checked by the core (sk_event_decode_json),
 * encoded as msgpack (sk_event_encode_msgpack) and produced keyed by its
 * account, so all of an account's events land on one partition in order.
 * The producer is idempotent (no duplicates or reordering on retries)
 * and uses the murmur2_random partitioner, so keys land on the same
 * partitions as with the Java client.  An invalid line is reported with
 * its line number and skipped; the run ends only when every message is
 * delivered or has failed.
 *
 * --raw and --hex send each line's bytes unchecked (as-is, or decoded
 * from hex): they exist to put garbage, JSON or hostile msgpack on a
 * topic, to test the dead-letter path.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <msgpack.h>

#include "cli.h"
#include "cli_kafka.h"
#include "kafka_props.h"
#include "scorekeeper/event.h"
#include "signals.h"

#define PROGRESS_EVERY 100000
#define MAX_INVALID_SHOWN 100
#define MAX_DR_ERRORS_SHOWN 10

/** What a line of input is. */
typedef enum input_mode {
    MODE_EVENTS, /**< a JSON event, checked and sent as msgpack */
    MODE_RAW,    /**< bytes sent as they are */
    MODE_HEX     /**< hex digits of the bytes to send */
} input_mode_t;

/** Delivery counts, updated by the delivery report callback. */
typedef struct delivery {
    uint64_t delivered; /**< acknowledged by the cluster */
    uint64_t failed;    /**< failed for good */
} delivery_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg,
                        void *opaque)
{
    (void)rk;
    delivery_t *d = opaque;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        d->delivered++;
        return;
    }
    if (d->failed++ < MAX_DR_ERRORS_SHOWN)
        fprintf(stderr, "scorekeeper produce: delivery failed: %s\n",
                rd_kafka_err2str(msg->err));
}

static void produce_usage(FILE *out)
{
    fprintf(out,
            "usage: scorekeeper produce --brokers LIST --topic TOPIC "
            "[OPTIONS] [FILE.jsonl | -]\n\n"
            "Send JSON-lines events (one event a line, schema v1) to a "
            "Kafka topic as\nmsgpack, keyed by account.  Reads standard "
            "input without FILE or with -.\nInvalid lines are reported "
            "with their line number and skipped.\n\n"
            "Options:\n"
            "  --brokers LIST        bootstrap servers, host:port[,...] "
            "(default\n"
            "                        $SCOREKEEPER_BROKERS)\n"
            "  --topic TOPIC         the topic (telemetry, billing, ...)\n"
            "  -X, --property K=V    any librdkafka property (repeatable); "
            "secrets only\n"
            "                        through --kafka-config\n"
            "  --kafka-config FILE   librdkafka properties, key=value a "
            "line\n"
            "  --raw                 send each line's bytes unchecked "
            "(dead-letter tests)\n"
            "  --hex                 send each line's hex-decoded bytes "
            "unchecked\n"
            "  --key KEY             message key for --raw and --hex "
            "(default: none)\n"
            "  --help                this text\n\n"
            "Fixed: enable.idempotence=true, acks=all, "
            "partitioner=murmur2_random.\n"
            "Default: message.timeout.ms=60000 (-X changes it).  "
            "SCOREKEEPER_KAFKA_<NAME>\nenvironment variables set "
            "properties too, as for scorekeeperd.\n"
            "Exit status: 0 all delivered; 1 a delivery failed or an "
            "error; 2 usage;\n3 all valid lines delivered but some lines "
            "were invalid.\n");
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode the hex digits of @p line (spaces allowed between bytes) into
 * @p line itself.  @returns the byte count, or -1 with @p why set. */
static long hex_decode(char *line, size_t len, const char **why)
{
    size_t out = 0;
    for (size_t i = 0; i < len;) {
        if (line[i] == ' ' || line[i] == '\t') {
            i++;
            continue;
        }
        if (i + 1 >= len) {
            *why = "odd number of hex digits";
            return -1;
        }
        int hi = hex_digit((unsigned char)line[i]);
        int lo = hex_digit((unsigned char)line[i + 1]);
        if (hi < 0 || lo < 0) {
            *why = "not a hex digit";
            return -1;
        }
        line[out++] = (char)(hi << 4 | lo);
        i += 2;
    }
    return (long)out;
}

/* Produce one message, waiting for room in the queue when it is full.
 * @returns SK_OK or SK_ERR (reported). */
static int send_one(rd_kafka_t *rk, const char *topic, const void *key,
                    size_t keylen, const void *value, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_poll(rk, 0);
            return SK_OK;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "scorekeeper produce: cannot produce to %s: %s\n",
                    topic, rd_kafka_err2str(err));
            return SK_ERR;
        }
        rd_kafka_poll(rk, 100);
    }
}

int sk_cmd_produce(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_KAFKA_LONG_OPTIONS,
        {"topic", required_argument, NULL, 't'},
        {"raw", no_argument, NULL, 'r'},
        {"hex", no_argument, NULL, 'x'},
        {"key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *topic = NULL, *key = NULL;
    input_mode_t mode = MODE_EVENTS;
    sk_cli_kafka_t ka = {0};
    sk_kafka_props_t fixed = {0};
    char errstr[SK_ERRSTR_LEN];
    int status = SK_EXIT_USAGE;
    FILE *in = NULL;
    rd_kafka_t *rk = NULL;
    char *line = NULL;
    size_t cap = 0;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    delivery_t dr = {0};

    if (sk_kafka_props_set(&ka.props, "message.timeout.ms", "60000", errstr,
                           sizeof errstr) != SK_OK)
        goto cleanup;
    if (sk_cli_kafka_env(&ka, "produce") != SK_OK)
        goto cleanup;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
        case 'X':
        case 'F':
            if (sk_cli_kafka_option(&ka, "produce", c, optarg) != SK_OK)
                goto cleanup;
            break;
        case 't':
            topic = optarg;
            break;
        case 'r':
            mode = MODE_RAW;
            break;
        case 'x':
            mode = MODE_HEX;
            break;
        case 'k':
            key = optarg;
            break;
        case 'h':
            produce_usage(stdout);
            status = SK_EXIT_OK;
            goto cleanup;
        default:
            produce_usage(stderr);
            goto cleanup;
        }
    }
    ka.brokers = sk_cli_kafka_brokers(ka.brokers);
    if (!ka.brokers || !topic) {
        fprintf(stderr, "scorekeeper produce: --brokers and --topic are "
                        "required (see --help)\n");
        goto cleanup;
    }
    if (key && mode == MODE_EVENTS) {
        fprintf(stderr, "scorekeeper produce: --key goes with --raw or --hex "
                        "(events are keyed by account)\n");
        goto cleanup;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "scorekeeper produce: one input file at most\n");
        goto cleanup;
    }
    const char *path = optind < argc ? argv[optind] : "-";
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;

    status = SK_EXIT_ERROR;
    in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "scorekeeper produce: %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    if (sk_cli_kafka_fixed_idempotent(&fixed, errstr, sizeof errstr) != SK_OK)
        goto cleanup;
    sk_cli_kafka_warn(&ka.props, "produce");
    rk = sk_cli_kafka_client(RD_KAFKA_PRODUCER, &ka, "produce", &fixed,
                             on_delivery, &dr);
    if (!rk)
        goto cleanup;
    sk_signals_install();

    uint64_t lineno = 0, sent = 0, invalid = 0;
    int produce_error = 0;
    ssize_t n;
    while (!sk_signals_stop_requested() &&
           (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *why = NULL;
        const char *reason = NULL;
        const void *value = line;
        const char *msg_key = key;
        size_t value_len = len;
        sk_event_t ev;
        sk_decode_error_t derr;

        if (mode == MODE_EVENTS) {
            if (len == 0)
                continue;
            if (sk_event_decode_json(line, len, &ev, &derr) != SK_OK) {
                reason = sk_reject_name(derr.code);
                why = derr.message;
            } else {
                msgpack_sbuffer_clear(&sbuf);
                if (sk_event_encode_msgpack(&ev, &sbuf) != SK_OK) {
                    fprintf(stderr, "scorekeeper produce: out of memory\n");
                    produce_error = 1;
                    break;
                }
                value = sbuf.data;
                value_len = sbuf.size;
                msg_key = ev.account;
            }
        } else if (mode == MODE_HEX) {
            long decoded = hex_decode(line, len, &why);
            if (decoded < 0)
                reason = "bad_hex";
            else
                value_len = (size_t)decoded;
        }
        if (reason) {
            if (invalid++ < MAX_INVALID_SHOWN)
                fprintf(stderr,
                        "scorekeeper produce: %s:%" PRIu64
                        ": %s: %s (line skipped)\n",
                        name, lineno, reason, why);
            else if (invalid == MAX_INVALID_SHOWN + 1)
                fprintf(stderr, "scorekeeper produce: further invalid lines "
                                "are counted, not shown\n");
            continue;
        }
        if (send_one(rk, topic, msg_key, msg_key ? strlen(msg_key) : 0, value,
                     value_len) != SK_OK) {
            produce_error = 1;
            break;
        }
        sent++;
        if (lineno % PROGRESS_EVERY == 0)
            fprintf(stderr,
                    "scorekeeper produce: %" PRIu64 " lines read, %" PRIu64
                    " sent, %" PRIu64 " delivered, %" PRIu64 " invalid\n",
                    lineno, sent, dr.delivered, invalid);
    }
    if (ferror(in)) {
        fprintf(stderr, "scorekeeper produce: %s: read error\n", name);
        produce_error = 1;
    }
    int interrupted = sk_signals_stop_requested();
    if (interrupted)
        fprintf(stderr,
                "scorekeeper produce: interrupted after line %" PRIu64
                "; delivering what was sent\n",
                lineno);
    while (rd_kafka_outq_len(rk) > 0) {
        rd_kafka_flush(rk, 1000);
        char fatal[256];
        rd_kafka_resp_err_t ferr =
            rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        if (ferr) {
            fprintf(stderr, "scorekeeper produce: fatal: %s\n", fatal);
            produce_error = 1;
            break;
        }
    }
    fprintf(stderr,
            "scorekeeper produce: %" PRIu64 " message%s delivered to %s"
            ", %" PRIu64 " failed, %" PRIu64 " invalid line%s skipped\n",
            dr.delivered, dr.delivered == 1 ? "" : "s", topic, dr.failed,
            invalid, invalid == 1 ? "" : "s");
    if (produce_error || interrupted || dr.failed > 0 || dr.delivered != sent)
        status = SK_EXIT_ERROR;
    else if (invalid > 0)
        status = SK_EXIT_INVALID_INPUT;
    else
        status = SK_EXIT_OK;
cleanup:
    if (rk)
        rd_kafka_destroy(rk);
    if (in && in != stdin)
        fclose(in);
    free(line);
    msgpack_sbuffer_destroy(&sbuf);
    sk_cli_kafka_free(&ka);
    sk_kafka_props_free(&fixed);
    return status;
}
