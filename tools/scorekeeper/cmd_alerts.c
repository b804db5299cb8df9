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
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <msgpack.h>

#include "cli.h"
#include "cli_bytes.h"
#include "cli_kafka.h"
#include "clock.h"
#include "kafka_props.h"
#include "scorekeeper/common.h"
#include "signals.h"

#define MAX_MSGPACK_DEPTH 16
#define POLL_MS 200
/** How much longer --idle-exit waits for a group to assign partitions. */
#define JOIN_WAIT_MS 60000
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
    case 0xc4:
    case 0xc7:
    case 0xd9:
        return 1;
    case 0xc5:
    case 0xc8:
    case 0xda:
    case 0xdc:
    case 0xde:
        return 2;
    case 0xc6:
    case 0xc9:
    case 0xdb:
    case 0xdd:
    case 0xdf:
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
    case 0xcc:
    case 0xd0:
        return 1;
    case 0xcd:
    case 0xd1:
    case 0xd4:
        return 2;
    case 0xd5:
        return 3;
    case 0xca:
    case 0xce:
    case 0xd2:
        return 4;
    case 0xd6:
        return 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
        return 8;
    case 0xd7:
        return 9;
    case 0xd8:
        return 17;
    default:
        return -1;
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
        return s ? s : sk_cli_bytes_hex(o->via.str.ptr, o->via.str.size);
    }
    case MSGPACK_OBJECT_BIN:
        return sk_cli_bytes_hex(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return sk_cli_bytes_hex(o->via.ext.ptr, o->via.ext.size);
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
                         (int)(kv->key.via.str.size < 63 ? kv->key.via.str.size
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

/* The JSON value of a msgpack alert; NULL (with @p why) when it is not
 * well-formed msgpack. */
static json_t *msgpack_value(const void *buf, size_t len, const char **why)
{
    size_t pos = 0;
    json_t *j = NULL;
    if (mp_check(buf, len, &pos, 0) != 0 || pos != len) {
        *why = "not well-formed msgpack";
        return NULL;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, buf, len, &off) == MSGPACK_UNPACK_SUCCESS) {
        j = to_json(&u.data);
        if (!j)
            *why = "out of memory";
    } else {
        *why = "not well-formed msgpack";
    }
    msgpack_unpacked_destroy(&u);
    return j;
}

/* A field of an alert as text: strings as they are, numbers in decimal,
 * "-" when absent. */
static const char *field_text(const json_t *alert, const char *key, char *buf,
                              size_t len)
{
    const json_t *v = json_object_get(alert, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        snprintf(buf, len, "%g", json_real_value(v));
        return buf;
    }
    return "-";
}

/* One alert for a person: time, kind, account, from -> to, reason. */
static void print_text(const json_t *alert)
{
    char from[32], to[32], ts[32];
    const char *t = field_text(alert, "ts", ts, sizeof ts);
    /* "2026-10-27T00:00:00Z" -> "2026-10-27 00:00" */
    if (strlen(t) >= 16 && t[10] == 'T') {
        snprintf(ts, sizeof ts, "%.10s %.5s", t, t + 11);
        t = ts;
    }
    char arrow[80];
    snprintf(arrow, sizeof arrow, "%s \u2192 %s",
             field_text(alert, "from", from, sizeof from),
             field_text(alert, "to", to, sizeof to));
    char kind[32], account[32], reason[32];
    printf("%-16s  %-23s  %-12s  %-21s  %s\n", t,
           field_text(alert, "kind", kind, sizeof kind),
           field_text(alert, "account", account, sizeof account), arrow,
           field_text(alert, "reason", reason, sizeof reason));
}

/* Print one message as a JSON line (or @p text: a readable line).
 * @returns 1 printed, 0 skipped. */
static int print_alert(const rd_kafka_message_t *m, int text)
{
    const unsigned char *p = m->payload;
    size_t len = m->len;
    const char *why = "neither a JSON object nor a msgpack map";
    json_t *j = NULL;
    int from_json = 0;

    if (len > 0 && ((p[0] & 0xf0) == 0x80 || p[0] == 0xde || p[0] == 0xdf)) {
        j = msgpack_value(p, len, &why);
    } else if (len > 0) {
        json_error_t jerr;
        j = json_loadb((const char *)p, len, 0, &jerr);
        if (j && !json_is_object(j)) {
            json_decref(j);
            j = NULL;
        }
        from_json = 1;
    }
    if (!j) {
        fprintf(stderr,
                "scorekeeper alerts: skipped the message at %s [%" PRId32
                "] offset %" PRId64 ": %s\n",
                rd_kafka_topic_name(m->rkt), m->partition, m->offset, why);
        return 0;
    }
    if (text) {
        print_text(j);
    } else if (from_json && !memchr(p, '\n', len) && !memchr(p, '\r', len)) {
        /* the producer's own bytes are already one line: print them, so
         * nothing about them changes on the way */
        fwrite(p, 1, len, stdout);
        fputc('\n', stdout);
    } else {
        char *line = json_dumps(j, ALERT_JSON_FLAGS);
        if (!line) {
            json_decref(j);
            fprintf(stderr, "scorekeeper alerts: out of memory\n");
            return 0;
        }
        printf("%s\n", line);
        free(line);
    }
    fflush(stdout);
    json_decref(j);
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
            "  --brokers LIST        bootstrap servers, host:port[,...] "
            "(default\n"
            "                        $SCOREKEEPER_BROKERS)\n"
            "  --topic TOPIC         the alerts topic (default "
            "$SCOREKEEPER_ALERTS_TOPIC or\n"
            "                        alerts)\n"
            "  --from-beginning      start at the oldest alert kept, not at "
            "the newest\n"
            "  --idle-exit SECONDS   exit after SECONDS without a message (0, "
            "the default:\n"
            "                        never); with --group, counted from the "
            "assignment\n"
            "  --group GROUP         consume as a member of GROUP and commit "
            "(default: read\n"
            "                        every partition, commit nothing)\n"
            "  --format json|text    JSON lines (default), or one readable "
            "line an alert:\n"
            "                        time, kind, account, from \u2192 to, "
            "reason\n"
            "  -X, --property K=V    any librdkafka property (repeatable)\n"
            "  --kafka-config FILE   librdkafka properties, key=value a line "
            "(secrets)\n"
            "  --help                this text\n\n"
            "SCOREKEEPER_KAFKA_<NAME> environment variables set librdkafka "
            "properties too,\nas for scorekeeperd.  Stops on SIGINT or "
            "SIGTERM.  Exit status: 0 ok, 1 error,\n2 usage.\n");
}

int sk_cmd_alerts(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_KAFKA_LONG_OPTIONS,
        SK_CLI_KAFKA_TAIL_LONG_OPTIONS,
        {"group", required_argument, NULL, 'g'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *group = NULL;
    int text = 0;
    sk_cli_kafka_t ka = {0};
    sk_cli_kafka_tail_t tail = {0};
    sk_kafka_props_t fixed = {0};
    char errstr[SK_ERRSTR_LEN];
    int status = SK_EXIT_USAGE;
    rd_kafka_t *rk = NULL;
    if (sk_cli_kafka_env(&ka, "alerts") != SK_OK)
        goto cleanup;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
        case 'X':
        case 'F':
            if (sk_cli_kafka_option(&ka, "alerts", c, optarg) != SK_OK)
                goto cleanup;
            break;
        case 't':
        case 'B':
        case 'i':
            if (sk_cli_kafka_tail_option(&tail, "alerts", c, optarg) != SK_OK)
                goto cleanup;
            break;
        case 'g':
            group = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                fprintf(stderr,
                        "scorekeeper alerts: --format: json or "
                        "text, not '%s'\n",
                        optarg);
                goto cleanup;
            }
            text = strcmp(optarg, "text") == 0;
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
    const char *topic =
        sk_cli_kafka_setting(tail.topic, "SCOREKEEPER_ALERTS_TOPIC", "alerts");
    if (sk_cli_kafka_require_brokers(&ka, "alerts") != SK_OK)
        goto cleanup;
    if (optind < argc) {
        fprintf(stderr, "scorekeeper alerts: unexpected argument '%s'\n",
                argv[optind]);
        goto cleanup;
    }

    status = SK_EXIT_ERROR;
    int ok = sk_kafka_props_set(&fixed, "enable.partition.eof", "false", errstr,
                                sizeof errstr) == SK_OK;
    if (group) {
        ok = ok &&
             sk_kafka_props_set(&fixed, "group.id", group, errstr,
                                sizeof errstr) == SK_OK &&
             sk_kafka_props_set(&fixed, "auto.offset.reset",
                                tail.from_beginning ? "earliest" : "latest",
                                errstr, sizeof errstr) == SK_OK;
    } else {
        /* a group id of its own, never joined: nothing is committed */
        ok = ok && sk_cli_kafka_fixed_no_commit(&fixed, "alerts", NULL, errstr,
                                                sizeof errstr) == SK_OK;
    }
    if (!ok) {
        fprintf(stderr, "scorekeeper alerts: %s\n", errstr);
        goto cleanup;
    }
    sk_cli_kafka_warn(&ka.props, "alerts");
    rk = sk_cli_kafka_client(RD_KAFKA_CONSUMER, &ka, "alerts", &fixed, NULL,
                             NULL);
    if (!rk)
        goto cleanup;
    rd_kafka_poll_set_consumer(rk);
    sk_signals_install();

    int64_t last = sk_clock_mono_ms();
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
    } else if (sk_cli_kafka_tail_assign(rk, "alerts", &tail, topic, last) !=
               SK_OK) {
        goto cleanup;
    }

    uint64_t printed = 0, skipped = 0;
    /* A group member is idle only once it has partitions: joining can
     * take a while when earlier members of the group have not left. */
    int assigned = !group;
    while (!sk_signals_stop_requested()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, POLL_MS);
        if (!assigned) {
            rd_kafka_topic_partition_list_t *a = NULL;
            if (rd_kafka_assignment(rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                a->cnt > 0) {
                assigned = 1;
                last = sk_clock_mono_ms();
            }
            if (a)
                rd_kafka_topic_partition_list_destroy(a);
        }
        if (!m) {
            int64_t waited = sk_clock_mono_ms() - last;
            if (tail.idle_ms &&
                (assigned ? waited >= tail.idle_ms
                          : waited >= tail.idle_ms + JOIN_WAIT_MS)) {
                if (!assigned)
                    fprintf(stderr,
                            "scorekeeper alerts: group %s assigned "
                            "no partition of %s\n",
                            group, topic);
                break;
            }
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "scorekeeper alerts: %s\n",
                        rd_kafka_message_errstr(m));
        } else {
            last = sk_clock_mono_ms();
            if (print_alert(m, text))
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
    fprintf(stderr,
            "scorekeeper alerts: %" PRIu64 " alert%s printed, %" PRIu64
            " message%s skipped\n",
            printed, printed == 1 ? "" : "s", skipped, skipped == 1 ? "" : "s");
    status = SK_EXIT_OK;
cleanup:
    if (rk) {
        if (group)
            rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    sk_cli_kafka_free(&ka);
    sk_kafka_props_free(&fixed);
    return status;
}
