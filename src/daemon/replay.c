/*
 * replay.c - the start position (--start-offset, --start-time) and the
 * exit rule (--exit-when-caught-up) of scorekeeperd.
 *
 * DESIGN
 *  - The position is applied in the rebalance callback, to the list of
 *    partitions about to be assigned: that is the one moment librdkafka
 *    lets a consumer group member choose where each partition starts
 *    without racing its own fetcher.  Only partitions this process has
 *    never been assigned are moved; a partition that comes back after a
 *    rebalance resumes from its committed offset, as usual.
 *  - An offset is clamped to the partition's watermarks (a number past
 *    the end would otherwise hit auto.offset.reset and start from the
 *    beginning: the opposite of what was asked).
 *  - Offsets by time come from the brokers (ListOffsets).  A broker that
 *    does not implement it may answer "no such message" (-1) for every
 *    partition, which is also the right answer for a time after the last
 *    message.  The two are told apart by asking for time 0 as well: a
 *    non-empty partition always has a message at or after 0.  A broker
 *    that cannot answer stops the daemon with a fatal error naming the
 *    problem, rather than replaying from an arbitrary place.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "replay.h"

#define LOOKUP_TIMEOUT_MS 10000

int sk_replay_parse_offset(sk_replay_t *r, const char *arg, char *errstr,
                           size_t errlen)
{
    char *end;
    long long v;

    if (strcmp(arg, "earliest") == 0 || strcmp(arg, "beginning") == 0) {
        r->mode = SK_START_EARLIEST;
        return SK_OK;
    }
    if (strcmp(arg, "latest") == 0 || strcmp(arg, "end") == 0) {
        r->mode = SK_START_LATEST;
        return SK_OK;
    }
    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < 0) {
        snprintf(errstr, errlen,
                 "--start-offset: expected earliest, latest or an offset >= "
                 "0, not %.64s",
                 arg);
        return SK_ERR;
    }
    r->mode = SK_START_OFFSET;
    r->value = v;
    return SK_OK;
}

int sk_replay_parse_time(sk_replay_t *r, const char *arg, char *errstr,
                         size_t errlen)
{
    int64_t ms;

    if (sk_parse_time(arg, &ms) != SK_OK) {
        snprintf(errstr, errlen,
                 "--start-time: expected an ISO-8601 UTC time such as "
                 "2026-11-05T10:00:00Z, not %.64s",
                 arg);
        return SK_ERR;
    }
    r->mode = SK_START_TIME;
    r->value = ms;
    return SK_OK;
}

void sk_replay_free(sk_replay_t *r)
{
    free(r->parts);
    r->parts = NULL;
    r->n_parts = r->cap_parts = 0;
}

static sk_replay_part_t *find(sk_replay_t *r, const char *topic,
                              int32_t partition)
{
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].partition == partition &&
            strcmp(r->parts[i].topic, topic) == 0)
            return &r->parts[i];
    return NULL;
}

static sk_replay_part_t *add(sk_replay_t *r, const char *topic,
                             int32_t partition)
{
    sk_replay_part_t *p;

    if (r->n_parts == r->cap_parts) {
        size_t cap = r->cap_parts ? r->cap_parts * 2 : 16;
        sk_replay_part_t *np = realloc(r->parts, cap * sizeof *np);
        if (!np)
            return NULL;
        r->parts = np;
        r->cap_parts = cap;
    }
    p = &r->parts[r->n_parts++];
    sk_copy_str(p->topic, sizeof p->topic, topic);
    p->partition = partition;
    p->start = RD_KAFKA_OFFSET_STORED;
    p->end = -1;
    return p;
}

static void fatal(sk_daemon_t *d, const char *why)
{
    d->fatal = true;
    sk_copy_str(d->fatal_reason, sizeof d->fatal_reason, why);
    sk_log(SK_LOG_ERROR, "consumer", "cannot apply the start position",
           "error=%s", SK_LOG_Q(why));
}

/* Clamp the offset of every element to its partition's watermarks. */
static int start_at_offset(sk_daemon_t *d,
                           rd_kafka_topic_partition_list_t *fresh)
{
    char why[256];

    for (int i = 0; i < fresh->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &fresh->elems[i];
        int64_t lo, hi, want = d->replay.value;
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            d->consumer, tp->topic, tp->partition, &lo, &hi, LOOKUP_TIMEOUT_MS);
        if (err) {
            snprintf(why, sizeof why,
                     "cannot read the offsets of %.64s/%" PRId32 ": %.100s",
                     tp->topic, tp->partition, rd_kafka_err2str(err));
            fatal(d, why);
            return SK_ERR;
        }
        tp->offset = want < lo ? lo : want > hi ? hi : want;
        if (tp->offset != want)
            sk_log(SK_LOG_WARN, "consumer",
                   "start offset outside the partition; clamped",
                   "topic=%s partition=%" PRId32 " asked=%" PRId64
                   " low=%" PRId64 " high=%" PRId64 " offset=%" PRId64,
                   tp->topic, tp->partition, want, lo, hi, tp->offset);
    }
    return SK_OK;
}

static int lookup_times(sk_daemon_t *d, rd_kafka_topic_partition_list_t *l,
                        int64_t ts, char *why, size_t whylen)
{
    rd_kafka_resp_err_t err;

    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = ts;
    err = rd_kafka_offsets_for_times(d->consumer, l, LOOKUP_TIMEOUT_MS);
    if (!err)
        for (int i = 0; i < l->cnt && !err; i++)
            err = l->elems[i].err;
    if (err) {
        snprintf(why, whylen,
                 "the brokers did not answer the offset-by-time lookup "
                 "(%.100s); start from an offset instead",
                 rd_kafka_err2str(err));
        return SK_ERR;
    }
    return SK_OK;
}

/* Offsets at or after the start time; a time after the last message
 * starts at the end. */
static int start_at_time(sk_daemon_t *d, rd_kafka_topic_partition_list_t *fresh)
{
    rd_kafka_topic_partition_list_t *zero = NULL;
    char why[256];
    int rc = SK_ERR;

    if (lookup_times(d, fresh, d->replay.value, why, sizeof why) != SK_OK)
        goto done;
    zero = rd_kafka_topic_partition_list_copy(fresh);
    if (lookup_times(d, zero, 0, why, sizeof why) != SK_OK)
        goto done;
    for (int i = 0; i < fresh->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &fresh->elems[i];
        int64_t lo, hi;
        rd_kafka_resp_err_t err;
        if (tp->offset >= 0)
            continue;
        err = rd_kafka_query_watermark_offsets(
            d->consumer, tp->topic, tp->partition, &lo, &hi, LOOKUP_TIMEOUT_MS);
        if (err) {
            snprintf(why, sizeof why,
                     "cannot read the offsets of %.64s/%" PRId32 ": %.100s",
                     tp->topic, tp->partition, rd_kafka_err2str(err));
            goto done;
        }
        if (hi > lo && zero->elems[i].offset < 0) {
            if (snprintf(why, sizeof why,
                         "the brokers cannot look up offsets by time: "
                         "%.64s/%" PRId32 " holds offsets %" PRId64 "..%" PRId64
                         " but none at or after 1970 was found "
                         "(no ListOffsets by timestamp, or messages without "
                         "timestamps); start from an offset instead",
                         tp->topic, tp->partition, lo,
                         hi - 1) >= (int)sizeof why)
                why[sizeof why - 1] = '\0';
            goto done;
        }
        tp->offset = hi; /* nothing at or after the time: only what comes */
    }
    rc = SK_OK;
done:
    if (zero)
        rd_kafka_topic_partition_list_destroy(zero);
    if (rc != SK_OK)
        fatal(d, why);
    return rc;
}

void sk_replay_assign(sk_daemon_t *d, rd_kafka_topic_partition_list_t *parts)
{
    sk_replay_t *r = &d->replay;
    rd_kafka_topic_partition_list_t *fresh;
    int rc = SK_OK;

    fresh = rd_kafka_topic_partition_list_new(parts->cnt > 0 ? parts->cnt : 1);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (strlen(tp->topic) > SK_TOPIC_MAX ||
            !sk_daemon_is_input(d, tp->topic) ||
            find(r, tp->topic, tp->partition))
            continue;
        if (!add(r, tp->topic, tp->partition)) {
            sk_log_msg(SK_LOG_ERROR, "consumer", "out of memory");
            continue;
        }
        rd_kafka_topic_partition_list_add(fresh, tp->topic, tp->partition);
    }
    if (fresh->cnt == 0 || r->mode == SK_START_COMMITTED)
        goto done;
    switch (r->mode) {
    case SK_START_EARLIEST:
    case SK_START_LATEST:
        for (int i = 0; i < fresh->cnt; i++)
            fresh->elems[i].offset = r->mode == SK_START_EARLIEST
                                         ? RD_KAFKA_OFFSET_BEGINNING
                                         : RD_KAFKA_OFFSET_END;
        break;
    case SK_START_OFFSET:
        rc = start_at_offset(d, fresh);
        break;
    default:
        rc = start_at_time(d, fresh);
        break;
    }
    for (int i = 0; i < fresh->cnt; i++) {
        const rd_kafka_topic_partition_t *f = &fresh->elems[i];
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(parts, f->topic, f->partition);
        sk_replay_part_t *rp = find(r, f->topic, f->partition);
        /* After a failure nothing is read: the daemon is stopping. */
        int64_t off = rc == SK_OK ? f->offset : RD_KAFKA_OFFSET_END;
        if (tp)
            tp->offset = off;
        if (rp)
            rp->start = off;
        if (rc == SK_OK)
            sk_log(SK_LOG_INFO, "consumer", "start position applied",
                   "topic=%s partition=%" PRId32 " offset=%s%" PRId64, f->topic,
                   f->partition,
                   off == RD_KAFKA_OFFSET_BEGINNING ? "earliest:"
                   : off == RD_KAFKA_OFFSET_END     ? "latest:"
                                                    : "",
                   off);
    }
done:
    rd_kafka_topic_partition_list_destroy(fresh);
}

bool sk_replay_caught_up(sk_daemon_t *d)
{
    sk_replay_t *r = &d->replay;

    if (!r->exit_when_caught_up || !d->assigned_once || d->n_parts == 0 ||
        d->n_batch > 0 || d->fatal)
        return false;
    for (size_t i = 0; i < d->n_parts; i++)
        if (sk_daemon_is_input(d, d->parts[i].topic) &&
            !sk_consumer_caught_up(d, &d->parts[i]))
            return false;
    for (size_t i = 0; i < d->n_parts; i++) {
        const sk_partition_t *p = &d->parts[i];
        sk_replay_part_t *rp = find(r, p->topic, p->partition);
        if (!rp && sk_daemon_is_input(d, p->topic))
            rp = add(r, p->topic, p->partition);
        if (rp)
            rp->end = p->next_offset;
    }
    return true;
}

static void print_offset(FILE *out, int64_t off)
{
    if (off == RD_KAFKA_OFFSET_BEGINNING)
        fputs("the beginning", out);
    else if (off == RD_KAFKA_OFFSET_END)
        fputs("the end", out);
    else if (off < 0)
        fputs("the committed offset", out);
    else
        fprintf(out, "offset %" PRId64, off);
}

void sk_replay_summary(const sk_daemon_t *d, FILE *out)
{
    const sk_stats_t *s = &d->stats;
    const sk_replay_t *r = &d->replay;
    int64_t ms = r->started_ms ? sk_clock_mono_ms() - r->started_ms : 0;

    fprintf(out,
            "caught up in %.1f s: prefix %s, group %s\n"
            "  consumed %" PRIu64 ", applied %" PRIu64 ", duplicates %" PRIu64
            ", already applied %" PRIu64 ", late %" PRIu64 "\n"
            "  dead letters %" PRIu64 "%s, alerts %s %" PRIu64
            ", accounts evaluated by time %" PRIu64 "\n",
            (double)ms / 1000.0, d->cfg->redis.prefix, d->cfg->group_id,
            s->consumed, s->applied, s->duplicates, s->replayed, s->late,
            s->dead_lettered, d->no_publish ? " (not published)" : "",
            d->no_publish ? "not published" : "published",
            d->no_publish ? s->suppressed : s->alerts, s->evaluated);
    for (size_t i = 0; i < r->n_parts; i++) {
        fprintf(out, "  %s/%" PRId32 ": from ", r->parts[i].topic,
                r->parts[i].partition);
        print_offset(out, r->parts[i].start);
        if (r->parts[i].end >= 0)
            fprintf(out, " to offset %" PRId64 "\n", r->parts[i].end);
        else
            fputs(" (not caught up here)\n", out);
    }
}
