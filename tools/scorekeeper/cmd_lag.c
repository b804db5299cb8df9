/*
 * cmd_lag.c - `scorekeeper lag`: how far a consumer group (scorekeeperd's,
 * by default) is behind on its topics, partition by partition, as
 * `kafka-consumer-groups --describe` shows it.
 *
 * The partitions come from the cluster's metadata, the group's committed
 * offsets from rd_kafka_committed() on a consumer handle that carries
 * the group's id but never subscribes: it asks the group coordinator and
 * never joins, so the running daemons see no rebalance.  Auto-commit is
 * off and nothing is ever assigned, so the handle cannot move the
 * group's offsets either.  The log-end offsets are the high watermarks
 * (rd_kafka_query_watermark_offsets).
 *
 * Lag is what the group still has to read: from its committed offset, or
 * from the oldest message kept when it has none (scorekeeperd starts
 * there: auto.offset.reset=earliest) or when retention already deleted
 * messages past its offset.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "cli_kafka.h"
#include "kafka_props.h"
#include "scorekeeper/common.h"

#define DEFAULT_GROUP "scorekeeper"
#define DEFAULT_TOPICS "telemetry,billing"
/** How long each request to the cluster may take. */
#define REQUEST_TIMEOUT_MS 10000

/** One partition of the report. */
typedef struct lag_row {
    const char *topic; /**< in the partition list */
    int topic_index;   /**< position in --topics, for the order */
    int32_t partition; /**< partition id */
    int64_t committed; /**< the group's offset, -1 for none */
    int64_t low, high; /**< oldest offset kept, log-end offset */
    int64_t lag;       /**< messages left to read */
    const char *error; /**< why the row has no numbers, or NULL */
} lag_row_t;

static void lag_usage(FILE *out)
{
    fputs(
        "usage: scorekeeper lag --brokers LIST [OPTIONS]\n"
        "\n"
        "Print how far a consumer group is behind, one line a partition "
        "(TOPIC\n"
        "PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG), then the total.  "
        "CURRENT-OFFSET\n"
        "is the group's committed offset, \"-\" when it has none; LAG counts "
        "the\n"
        "messages still to read, from the committed offset or, without one, "
        "from the\n"
        "oldest message kept.  The group is only asked, never joined: its "
        "consumers\n"
        "are not disturbed and no offset moves.\n"
        "\n"
        "Options:\n"
        "  --brokers LIST        bootstrap servers, host:port[,...] (default\n"
        "                        $SCOREKEEPER_BROKERS)\n"
        "  --group GROUP         the consumer group (default "
        "$SCOREKEEPER_GROUP or\n"
        "                        scorekeeper)\n"
        "  --topics LIST         comma-separated topics (default\n"
        "                        $SCOREKEEPER_INPUT_TOPICS or "
        "telemetry,billing)\n"
        "  --json                one JSON object: the rows and the total\n"
        "  -X, --property K=V    any librdkafka property (repeatable)\n"
        "  --kafka-config FILE   librdkafka properties, key=value a line "
        "(secrets)\n"
        "  --help                this text\n"
        "\n"
        "SCOREKEEPER_KAFKA_<NAME> environment variables set librdkafka "
        "properties\n"
        "too, as for scorekeeperd.  Exit status: 0 ok, 1 error (cluster "
        "unreachable,\n"
        "a topic not found: the other topics are still printed), 2 usage.\n",
        out);
}

static int row_order(const void *a, const void *b)
{
    const lag_row_t *x = a, *y = b;
    if (x->topic_index != y->topic_index)
        return x->topic_index < y->topic_index ? -1 : 1;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* Split "a,b,c" into @p names (pointers into @p list, which is cut).
 * @returns the count (empty names are ignored), or -1 for more than
 * @p max. */
static int split_topics(char *list, char **names, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ", ", &save); t;
         t = strtok_r(NULL, ", ", &save)) {
        if (n == max)
            return -1;
        names[n++] = t;
    }
    return n;
}

static void print_table(const lag_row_t *rows, size_t n, int64_t total)
{
    int tw = (int)strlen("TOPIC");
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(rows[i].topic) > tw)
            tw = (int)strlen(rows[i].topic);
    printf("%-*s  %9s  %14s  %14s  %10s\n", tw, "TOPIC", "PARTITION",
           "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG");
    for (size_t i = 0; i < n; i++) {
        const lag_row_t *r = &rows[i];
        char cur[24];
        if (r->error) {
            printf("%-*s  %9" PRId32 "  %14s  %14s  %10s  (%s)\n", tw, r->topic,
                   r->partition, "?", "?", "?", r->error);
            continue;
        }
        if (r->committed >= 0)
            snprintf(cur, sizeof cur, "%" PRId64, r->committed);
        else
            snprintf(cur, sizeof cur, "-");
        printf("%-*s  %9" PRId32 "  %14s  %14" PRId64 "  %10" PRId64 "\n", tw,
               r->topic, r->partition, cur, r->high, r->lag);
    }
    printf("%-*s  %9s  %14s  %14s  %10" PRId64 "\n", tw, "TOTAL", "", "", "",
           total);
}

/* @returns SK_OK or SK_ERR (out of memory). */
static int print_json(const char *group, const lag_row_t *rows, size_t n,
                      int64_t total)
{
    int status = SK_ERR;
    char *text = NULL;
    json_t *o = json_object();
    json_t *a = json_array();
    if (!o || !a)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        const lag_row_t *r = &rows[i];
        json_t *row = json_pack("{s:s, s:i}", "topic", r->topic, "partition",
                                (int)r->partition);
        if (!row || json_array_append_new(a, row) != 0)
            goto cleanup;
        if (r->error) {
            json_object_set_new(row, "error", json_string(r->error));
            continue;
        }
        json_object_set_new(row, "current_offset",
                            r->committed >= 0 ? json_integer(r->committed)
                                              : json_null());
        json_object_set_new(row, "log_start_offset", json_integer(r->low));
        json_object_set_new(row, "log_end_offset", json_integer(r->high));
        json_object_set_new(row, "lag", json_integer(r->lag));
    }
    json_object_set_new(o, "group", json_string(group));
    json_object_set(o, "partitions", a);
    json_object_set_new(o, "total_lag", json_integer(total));
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        goto cleanup;
    printf("%s\n", text);
    status = SK_OK;
cleanup:
    free(text);
    json_decref(a);
    json_decref(o);
    return status;
}

int sk_cmd_lag(int argc, char **argv)
{
    static const struct option options[] = {
        SK_CLI_KAFKA_LONG_OPTIONS,
        {"group", required_argument, NULL, 'g'},
        {"topics", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *group = NULL, *topics_arg = NULL;
    int json = 0;
    sk_cli_kafka_t ka = {0};
    sk_kafka_props_t fixed = {0};
    char errstr[SK_ERRSTR_LEN];
    int status = SK_EXIT_USAGE;
    char *topic_list = NULL;
    char *topics[64];
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    lag_row_t *rows = NULL;
    if (sk_cli_kafka_env(&ka, "lag") != SK_OK)
        goto cleanup;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
        case 'X':
        case 'F':
            if (sk_cli_kafka_option(&ka, "lag", c, optarg) != SK_OK)
                goto cleanup;
            break;
        case 'g':
            group = optarg;
            break;
        case 't':
            topics_arg = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            lag_usage(stdout);
            status = SK_EXIT_OK;
            goto cleanup;
        default:
            lag_usage(stderr);
            goto cleanup;
        }
    }
    group = sk_cli_kafka_setting(group, "SCOREKEEPER_GROUP", DEFAULT_GROUP);
    topics_arg = sk_cli_kafka_setting(topics_arg, "SCOREKEEPER_INPUT_TOPICS",
                                      DEFAULT_TOPICS);
    if (sk_cli_kafka_require_brokers(&ka, "lag") != SK_OK)
        goto cleanup;
    if (optind < argc) {
        fprintf(stderr, "scorekeeper lag: unexpected argument '%s'\n",
                argv[optind]);
        goto cleanup;
    }
    if (!*group) {
        fprintf(stderr, "scorekeeper lag: --group is empty\n");
        goto cleanup;
    }
    topic_list = strdup(topics_arg);
    if (!topic_list) {
        fprintf(stderr, "scorekeeper lag: out of memory\n");
        status = SK_EXIT_ERROR;
        goto cleanup;
    }
    int n_topics = split_topics(topic_list, topics,
                                (int)(sizeof topics / sizeof topics[0]));
    if (n_topics <= 0) {
        fprintf(stderr,
                "scorekeeper lag: --topics: '%s' is not a list of "
                "1..%zu topics\n",
                topics_arg, sizeof topics / sizeof topics[0]);
        goto cleanup;
    }

    status = SK_EXIT_ERROR;
    /* the group's id, to read its offsets; nothing may commit under it */
    if (sk_cli_kafka_fixed_no_commit(&fixed, "lag", group, errstr,
                                     sizeof errstr) != SK_OK) {
        fprintf(stderr, "scorekeeper lag: %s\n", errstr);
        goto cleanup;
    }
    sk_cli_kafka_warn(&ka.props, "lag");
    rk = sk_cli_kafka_client(RD_KAFKA_CONSUMER, &ka, "lag", &fixed, NULL, NULL);
    if (!rk)
        goto cleanup;

    int failed = 0;
    parts = rd_kafka_topic_partition_list_new(32);
    for (int t = 0; t < n_topics; t++) {
        if (sk_cli_kafka_partitions(rk, topics[t], REQUEST_TIMEOUT_MS, parts,
                                    NULL, errstr, sizeof errstr) != SK_OK) {
            fprintf(stderr, "scorekeeper lag: %s\n", errstr);
            failed = 1;
        }
    }
    if (parts->cnt == 0)
        goto cleanup;
    rd_kafka_resp_err_t err = rd_kafka_committed(rk, parts, REQUEST_TIMEOUT_MS);
    if (err) {
        fprintf(stderr, "scorekeeper lag: offsets of group %s: %s\n", group,
                rd_kafka_err2str(err));
        goto cleanup;
    }
    rows = calloc((size_t)parts->cnt, sizeof *rows);
    if (!rows) {
        fprintf(stderr, "scorekeeper lag: out of memory\n");
        goto cleanup;
    }
    size_t n = 0;
    int64_t total = 0;
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        lag_row_t *r = &rows[n++];
        r->topic = p->topic;
        r->partition = p->partition;
        for (int t = 0; t < n_topics; t++)
            if (strcmp(topics[t], p->topic) == 0)
                r->topic_index = t;
        r->committed = p->offset >= 0 ? p->offset : -1;
        if (p->err) {
            r->error = rd_kafka_err2str(p->err);
        } else if ((err = rd_kafka_query_watermark_offsets(
                        rk, p->topic, p->partition, &r->low, &r->high,
                        REQUEST_TIMEOUT_MS)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            r->error = rd_kafka_err2str(err);
        }
        if (r->error) {
            fprintf(stderr, "scorekeeper lag: %s [%" PRId32 "]: %s\n", r->topic,
                    r->partition, r->error);
            failed = 1;
            continue;
        }
        int64_t from = r->committed > r->low ? r->committed : r->low;
        r->lag = r->high > from ? r->high - from : 0;
        total += r->lag;
    }
    qsort(rows, n, sizeof *rows, row_order);
    if (json) {
        if (print_json(group, rows, n, total) != SK_OK) {
            fprintf(stderr, "scorekeeper lag: out of memory\n");
            goto cleanup;
        }
    } else {
        print_table(rows, n, total);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scorekeeper lag: cannot write the output\n");
        goto cleanup;
    }
    status = failed ? SK_EXIT_ERROR : SK_EXIT_OK;
cleanup:
    free(rows);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk) /* it never joined: there is nothing to leave or commit */
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    free(topic_list);
    sk_cli_kafka_free(&ka);
    sk_kafka_props_free(&fixed);
    return status;
}
