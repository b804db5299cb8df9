/*
 * cmd_alerts.c - `scorekeeper alerts`: tail the alerts topic, one JSON
 * object a line on stdout.
 *
 * Alerts travel as JSON by default and as msgpack when the daemon is set
 * up so; either way this prints the JSON form, so a pipeline reading the
 * output never needs to know.  A msgpack alert is converted field by
 * field with the same number formatting as sk_alert_to_json(), which
 * gives the same line.
 *
 * Without --group it reads every partition by assignment: nothing is
 * committed and no consumer group appears on the cluster, which is what
 * a person watching alerts wants.  With --group it joins that group and
 * commits, for a consumer that must resume where it stopped.
 *
 * DESIGN: the topic's bytes are untrusted.  Before msgpack-c sees a
 * message (its unpacker allocates whatever a length prefix announces), a
 * bounded walk checks that every announced length and count fits in the
 * bytes that remain, and that nesting stays shallow.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <msgpack.h>

#include "cli.h"
#include "cli_kafka.h"
#include "clock.h"
#include "kafka_props.h"
#include "scorekeeper/common.h"
#include "signals.h"

#define MAX_MSGPACK_DEPTH 16
#define POLL_MS 200
/** The number format of sk_alert_to_json(). */
#define ALERT_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

/* Bytes @p n at @p pos..: whether they are there. */
static int have(size_t len, size_t pos, uint64_t n)
{
    return pos <= len && n <= len - pos;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The size of the length field of msgpack type byte @p t (str, bin,
 * ext, array, map with an explicit length), or 0. */
static int length_width(uint8_t t)
{
    switch (t) {
    case 0xc4: case 0xc7: case 0xd9:
        return 1;
    case 0xc5: case 0xc8: case 0xda: case 0xdc: case 0xde:
        return 2;
    case 0xc6: case 0xc9: case 0xdb: case 0xdd: case 0xdf:
        return 4;
    default:
        return 0;
    }
}

/* Bytes that follow msgpack type byte @p t of fixed size (numbers and
 * fixext), or -1 when @p t is not one of those. */
static int fixed_size(uint8_t t)
{
    switch (t) {
    case 0xcc: case 0xd0: return 1;
    case 0xcd: case 0xd1: case 0xd4: return 2;
    case 0xd5: return 3;
    case 0xca: case 0xce: case 0xd2: return 4;
    case 0xd6: return 5;
    case 0xcb: case 0xcf: case 0xd3: return 8;
    case 0xd7: return 9;
    case 0xd8: return 17;
    default: return -1;
    }
}

/*
 * Skip one msgpack value at *pos, checking every length and count
 * against what remains (a container of n entries needs at least n bytes
 * more).  @returns 0, or -1 for truncated, oversized or too deep input.
 */
static int mp_check(const uint8_t *b, size_t len, size_t *pos, int depth)
{
    if (depth > MAX_MSGPACK_DEPTH || !have(len, *pos, 1))
        return -1;
    uint8_t t = b[(*pos)++];
    uint64_t skip = 0, items = 0;
    int width = length_width(t);
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
        return 0;
    } else if ((t & 0xe0) == 0xa0) {
        skip = t & 0x1fu;
    } else if ((t & 0xf0) == 0x90) {
        items = t & 0x0fu;
    } else if ((t & 0xf0) == 0x80) {
        items = (t & 0x0fu) * 2;
    } else if (fixed_size(t) >= 0) {
        skip = (uint64_t)fixed_size(t);
    } else if (width > 0) {
        if (!have(len, *pos, (uint64_t)width))
            return -1;
        uint64_t count = be(b + *pos, width);
        *pos += (size_t)width;
        if (t == 0xdc || t == 0xdd)
            items = count;
        else if (t == 0xde || t == 0xdf)
            items = count * 2;
        else
            skip = count + (t >= 0xc7 && t <= 0xc9); /* ext: type byte */
    } else {
        return -1; /* 0xc1 is never used */
    }
    if (!have(len, *pos, skip) || !have(len, *pos, items))
        return -1;
    *pos += (size_t)skip;
    for (uint64_t i = 0; i < items; i++)
        if (mp_check(b, len, pos, depth + 1) != 0)
            return -1;
    return 0;
}

static json_t *hex_string(const char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(n * 2 + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[(unsigned char)p[i] >> 4];
        s[2 * i + 1] = digits[(unsigned char)p[i] & 15];
    }
    json_t *j = json_stringn(s, n * 2);
    free(s);
    return j;
}

/* The JSON value of a msgpack object; NULL when out of memory. */
static json_t *to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return json_real((double)o->via.u64);
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
    case MSGPACK_OBJECT_STR: {
        json_t *s = json_stringn(o->via.str.ptr, o->via.str.size);
        /* not UTF-8: keep the bytes visible rather than drop the field */
        return s ? s : hex_string(o->via.str.ptr, o->via.str.size);
    }
    case MSGPACK_OBJECT_BIN:
        return hex_string(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return hex_string(o->via.ext.ptr, o->via.ext.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            if (json_array_append_new(a, to_json(&o->via.array.ptr[i]))) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            char key[64];
            if (kv->key.type == MSGPACK_OBJECT_STR)
                snprintf(key, sizeof key, "%.*s",
                         (int)(kv->key.via.str.size < 63
                                   ? kv->key.via.str.size
                                   : 63),
                         kv->key.via.str.ptr);
            else if (kv->key.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                snprintf(key, sizeof key, "%" PRIu64, kv->key.via.u64);
            else if (kv->key.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                snprintf(key, sizeof key, "%" PRId64, kv->key.via.i64);
            else
                continue;
            /* a key that is not UTF-8 is left out */
            json_object_set_new(m, key, to_json(&kv->val));
        }
        return m;
    }
    }
    return json_null();
}

/* The JSON line of a msgpack alert; NULL (with @p why) when it is not
 * well-formed msgpack. */
static char *msgpack_line(const void *buf, size_t len, const char **why)
{
    size_t pos = 0;
    char *text = NULL;
    if (mp_check(buf, len, &pos, 0) != 0 || pos != len) {
        *why = "not well-formed msgpack";
        return NULL;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, buf, len, &off) == MSGPACK_UNPACK_SUCCESS) {
        json_t *j = to_json(&u.data);
        if (j)
            text = json_dumps(j, ALERT_JSON_FLAGS);
        json_decref(j);
        if (!text)
            *why = "out of memory";
    } else {
        *why = "not well-formed msgpack";
    }
    msgpack_unpacked_destroy(&u);
    return text;
}

/* Print one message as a JSON line.  @returns 1 printed, 0 skipped. */
static int print_alert(const rd_kafka_message_t *m)
{
    const unsigned char *p = m->payload;
    size_t len = m->len;
    const char *why = "neither a JSON object nor a msgpack map";
    char *text = NULL;

    if (len > 0 && ((p[0] & 0xf0) == 0x80 || p[0] == 0xde || p[0] == 0xdf)) {
        text = msgpack_line(p, len, &why);
    } else if (len > 0) {
        json_error_t jerr;
        json_t *j = json_loadb((const char *)p, len, 0, &jerr);
        if (j && json_is_object(j)) {
            /* print the producer's own bytes when they already are one
             * line, so nothing about them changes on the way */
            if (!memchr(p, '\n', len) && !memchr(p, '\r', len)) {
                fwrite(p, 1, len, stdout);
                fputc('\n', stdout);
                fflush(stdout);
                json_decref(j);
                return 1;
            }
            text = json_dumps(j, ALERT_JSON_FLAGS);
            if (!text)
                why = "out of memory";
        }
        json_decref(j);
    }
    if (!text) {
        fprintf(stderr,
                "scorekeeper alerts: skipped the message at %s [%" PRId32
                "] offset %" PRId64 ": %s\n",
                rd_kafka_topic_name(m->rkt), m->partition, m->offset, why);
        return 0;
    }
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    return 1;
}

static void alerts_usage(FILE *out)
{
    fprintf(out,
            "usage: scorekeeper alerts --brokers LIST [OPTIONS]\n\n"
            "Print the alerts of the alerts topic as they arrive, one JSON "
            "object a line\n(msgpack alerts are converted to the same "
            "JSON).\n\n"
            "Options:\n"
            "  --brokers LIST        bootstrap servers, host:port[,...]\n"
            "  --topic TOPIC         the alerts topic (default alerts)\n"
            "  --from-beginning      start at the oldest alert kept, not at "
            "the newest\n"
            "  --idle-exit SECONDS   exit after SECONDS without a message (0, "
            "the default:\n"
            "                        never)\n"
            "  --group GROUP         consume as a member of GROUP and commit "
            "(default: read\n"
            "                        every partition, commit nothing)\n"
            "  -X, --property K=V    any librdkafka property (repeatable)\n"
            "  --kafka-config FILE   librdkafka properties, key=value a line "
            "(secrets)\n"
            "  --help                this text\n\n"
            "Stops on SIGINT or SIGTERM.  Exit status: 0 ok, 1 error, 2 "
            "usage.\n");
}

/* Assign every partition of @p topic, waiting until the cluster knows
 * the topic (or @p deadline_ms on the monotonic clock, 0: none).
 * @returns SK_OK or SK_ERR (reported). */
static int assign_all(rd_kafka_t *rk, const char *topic, int64_t offset,
                      int64_t deadline_ms)
{
    int status = SK_ERR;
    int warned = 0;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (!rkt) {
        fprintf(stderr, "scorekeeper alerts: topic %s: %s\n", topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        return SK_ERR;
    }
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (!err && md->topic_cnt == 1 && !md->topics[0].err &&
            md->topics[0].partition_cnt > 0) {
            const struct rd_kafka_metadata_topic *t = &md->topics[0];
            parts = rd_kafka_topic_partition_list_new(t->partition_cnt);
            for (int i = 0; i < t->partition_cnt; i++)
                rd_kafka_topic_partition_list_add(parts, topic,
                                                  t->partitions[i].id)
                    ->offset = offset;
            rd_kafka_metadata_destroy(md);
            break;
        }
        if (!err && md->topic_cnt == 1)
            err = md->topics[0].err;
        if (md)
            rd_kafka_metadata_destroy(md);
        if (!warned++)
            fprintf(stderr, "scorekeeper alerts: waiting for topic %s: %s\n",
                    topic, rd_kafka_err2str(err));
        if (sk_signals_stop_requested())
            goto cleanup;
        if (deadline_ms && sk_clock_mono_ms() >= deadline_ms) {
            fprintf(stderr, "scorekeeper alerts: topic %s not found\n",
                    topic);
            goto cleanup;
        }
        sk_clock_sleep_ms(500);
    }
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    if (aerr) {
        fprintf(stderr, "scorekeeper alerts: assigning %s: %s\n", topic,
                rd_kafka_err2str(aerr));
        goto cleanup;
    }
    status = SK_OK;
cleanup:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_topic_destroy(rkt);
    return status;
}

int sk_cmd_alerts(int argc, char **argv)
{
    static const struct option options[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"from-beginning", no_argument, NULL, 'B'},
        {"idle-exit", required_argument, NULL, 'i'},
        {"group", required_argument, NULL, 'g'},
        {"property", required_argument, NULL, 'X'},
        {"kafka-config", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *brokers = NULL, *topic = "alerts", *group = NULL;
    int from_beginning = 0;
    long idle_exit = 0;
    sk_kafka_props_t props = {0}, fixed = {0};
    char errstr[SK_ERRSTR_LEN];
    int status = SK_EXIT_USAGE;
    rd_kafka_t *rk = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'B':
            from_beginning = 1;
            break;
        case 'i': {
            char *end;
            errno = 0;
            idle_exit = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || idle_exit < 0 ||
                idle_exit > 86400 * 365) {
                fprintf(stderr, "scorekeeper alerts: --idle-exit: '%s' is "
                                "not a number of seconds\n",
                        optarg);
                goto cleanup;
            }
            break;
        }
        case 'g':
            group = optarg;
            break;
        case 'X':
            if (sk_cli_kafka_props_arg(&props, "alerts", optarg) != SK_OK)
                goto cleanup;
            break;
        case 'F':
            if (sk_cli_kafka_props_file(&props, optarg, errstr,
                                        sizeof errstr) != SK_OK) {
                fprintf(stderr, "scorekeeper alerts: %s\n", errstr);
                goto cleanup;
            }
            break;
        case 'h':
            alerts_usage(stdout);
            status = SK_EXIT_OK;
            goto cleanup;
        default:
            alerts_usage(stderr);
            goto cleanup;
        }
    }
    if (!brokers) {
        fprintf(stderr, "scorekeeper alerts: --brokers is required (see "
                        "--help)\n");
        goto cleanup;
    }
    if (optind < argc) {
        fprintf(stderr, "scorekeeper alerts: unexpected argument '%s'\n",
                argv[optind]);
        goto cleanup;
    }

    status = SK_EXIT_ERROR;
    int ok = sk_kafka_props_set(&fixed, "enable.partition.eof", "false",
                                errstr, sizeof errstr) == SK_OK;
    if (group) {
        ok = ok &&
             sk_kafka_props_set(&fixed, "group.id", group, errstr,
                                sizeof errstr) == SK_OK &&
             sk_kafka_props_set(&fixed, "auto.offset.reset",
                                from_beginning ? "earliest" : "latest",
                                errstr, sizeof errstr) == SK_OK;
    } else {
        /* librdkafka wants a group.id even for assign(); this one is
         * never joined and nothing is committed under it */
        char anon[64];
        snprintf(anon, sizeof anon, "scorekeeper-alerts-%ld",
                 (long)getpid());
        ok = ok &&
             sk_kafka_props_set(&fixed, "group.id", anon, errstr,
                                sizeof errstr) == SK_OK &&
             sk_kafka_props_set(&fixed, "enable.auto.commit", "false",
                                errstr, sizeof errstr) == SK_OK &&
             sk_kafka_props_set(&fixed, "enable.auto.offset.store", "false",
                                errstr, sizeof errstr) == SK_OK;
    }
    if (!ok) {
        fprintf(stderr, "scorekeeper alerts: %s\n", errstr);
        goto cleanup;
    }
    sk_cli_kafka_warn(&props, "alerts");
    rd_kafka_conf_t *conf = sk_kafka_conf_build_fixed(brokers, &props, &fixed,
                                                      errstr, sizeof errstr);
    if (!conf) {
        fprintf(stderr, "scorekeeper alerts: %s\n", errstr);
        goto cleanup;
    }
    rd_kafka_conf_set_error_cb(conf, sk_cli_kafka_error_cb);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "scorekeeper alerts: %s\n", errstr);
        goto cleanup;
    }
    rd_kafka_poll_set_consumer(rk);
    sk_signals_install();

    int64_t last = sk_clock_mono_ms();
    int64_t idle_ms = (int64_t)idle_exit * 1000;
    if (group) {
        rd_kafka_topic_partition_list_t *sub =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
            fprintf(stderr, "scorekeeper alerts: subscribing to %s: %s\n",
                    topic, rd_kafka_err2str(err));
            goto cleanup;
        }
    } else if (assign_all(rk, topic,
                          from_beginning ? RD_KAFKA_OFFSET_BEGINNING
                                         : RD_KAFKA_OFFSET_END,
                          idle_ms ? last + idle_ms : 0) != SK_OK) {
        goto cleanup;
    }

    uint64_t printed = 0, skipped = 0;
    while (!sk_signals_stop_requested()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, POLL_MS);
        if (!m) {
            if (idle_ms && sk_clock_mono_ms() - last >= idle_ms)
                break;
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "scorekeeper alerts: %s\n",
                        rd_kafka_message_errstr(m));
        } else {
            last = sk_clock_mono_ms();
            if (print_alert(m))
                printed++;
            else
                skipped++;
        }
        rd_kafka_message_destroy(m);
    }
    if (ferror(stdout)) {
        fprintf(stderr, "scorekeeper alerts: cannot write the output\n");
        goto cleanup;
    }
    fprintf(stderr, "scorekeeper alerts: %" PRIu64 " alert%s printed, %" PRIu64
                    " message%s skipped\n",
            printed, printed == 1 ? "" : "s", skipped,
            skipped == 1 ? "" : "s");
    status = SK_EXIT_OK;
cleanup:
    if (rk) {
        if (group)
            rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    sk_kafka_props_free(&props);
    sk_kafka_props_free(&fixed);
    return status;
}
