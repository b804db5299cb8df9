/*
 * main.c - scorekeeperd: command line, start-up, the main loop, shutdown.
 *
 * Start-up order matters: configuration and rules are checked before
 * anything connects (--check-config stops there); Redis is required
 * before Kafka, because consuming without a store would only fill the
 * retry loop.  The loop alternates batches and scheduler ticks; signals
 * are looked at between them.  Shutdown closes the consumer (its revoke
 * callback commits), flushes the producer and prints the figures.
 *
 * The HTTP server (/healthz, /readyz, /metrics) starts right after the
 * configuration is checked, before Redis and Kafka are reached, so an
 * orchestrator sees a live process that is not yet ready while it waits
 * for them.  The figures are published after every batch and tick.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "http_admin.h"
#include "kafka_embedded.h"
#include "log.h"
#include "signals.h"

#define STATS_EVERY_MS 60000
/* Poll the input at most this long while batches wait for deliveries. */
#define WAIT_IN_FLIGHT_MS 5

static void usage(FILE *out)
{
    fputs(
        "usage: scorekeeperd [OPTIONS]\n"
        "\n"
        "Consumes customer events from Kafka, keeps each account's state and\n"
        "scores in Redis, and publishes alerts.  Logs are logfmt lines on\n"
        "stderr; GET /healthz, /readyz and /metrics are served on\n"
        "metrics.listen (default 127.0.0.1:9187).\n"
        "\n"
        "Settings (each also a config key and an environment variable):\n"
        "  --config FILE            YAML config (default: $SCOREKEEPER_CONFIG, "
        "else none)\n"
        "  --rules FILE             rules file (rules)\n"
        "  --brokers LIST|embedded  Kafka bootstrap servers (brokers)\n"
        "  --redis HOST:PORT        Redis address (redis.host, redis.port)\n"
        "  --prefix PREFIX          Redis key prefix (redis.prefix, default "
        "sk)\n"
        "  --group ID               consumer group (group.id)\n"
        "  --backfill-horizon DUR|off  alerts older than this are not "
        "published\n"
        "                           (time.backfill_horizon, default 1d)\n"
        "  --metrics-listen HOST:PORT|off  the HTTP server "
        "(metrics.listen)\n"
        "  --log-level LEVEL        debug, info, warn or error (log.level)\n"
        "  -X property=value        librdkafka property (no secrets here; "
        "they go in\n"
        "                           the config file or "
        "SCOREKEEPER_KAFKA_<NAME>)\n"
        "\n"
        "Where to start and when to stop (what `scorekeeper replay` uses):\n"
        "  --start-offset earliest|latest|N\n"
        "                           input partitions this process is assigned "
        "for the\n"
        "                           first time start there instead of at the "
        "group's\n"
        "                           committed offsets (N is clamped to each\n"
        "                           partition's range)\n"
        "  --start-time ISO8601     ... at the first message at or after that "
        "time\n"
        "                           (brokers must support offsets by time)\n"
        "  --exit-when-caught-up    stop once every assigned input partition "
        "is at\n"
        "                           its end, after evaluating due accounts; "
        "print a\n"
        "                           summary on stdout\n"
        "  --no-publish             produce nothing: alerts are counted as "
        "suppressed,\n"
        "                           bad messages are counted and logged, not\n"
        "                           dead-lettered\n"
        "\n"
        "Other:\n"
        "  --check-config           print the effective config (secrets "
        "masked), check\n"
        "                           the rules and Kafka properties, exit 0 or "
        "1\n"
        "  --allow-root             run even as root\n"
        "  --help, --version\n"
        "\n"
        "Flags override the environment (SCOREKEEPER_*), which overrides the\n"
        "config file, which overrides the defaults; deploy/scorekeeperd.yaml\n"
        "documents every setting, including retention.silent_ttl.\n"
        "\n"
        "Signals: SIGTERM/SIGINT stop cleanly (the batch in flight is "
        "finished and\n"
        "committed); SIGHUP reloads the rules file.\n"
        "\n"
        "Exit status: 0 stopped by a signal or caught up; 1 configuration or "
        "start-up\n"
        "error; 2 fatal error while running (Kafka producer fenced, start "
        "position\n"
        "impossible).\n",
        out);
}

typedef struct flag_map {
    const char *flag;
    const char *setting;
} flag_map_t;

static const flag_map_t flag_settings[] = {
    {"--rules", "rules"},
    {"--brokers", "brokers"},
    {"--redis", "redis.address"},
    {"--group", "group.id"},
    {"--backfill-horizon", "time.backfill_horizon"},
    {"--log-level", "log.level"},
    {"--prefix", "redis.prefix"},
    {"--metrics-listen", "metrics.listen"},
};

typedef struct options {
    const char *config;
    const char *start_offset; /**< --start-offset */
    const char *start_time;   /**< --start-time */
    bool check_config;
    bool allow_root;
    bool exit_when_caught_up;
    bool no_publish;
} options_t;

/* Flags are applied after the file and the environment, so they are
 * parsed in two passes: first --config and the switches, then the rest. */
static int parse_args(int argc, char **argv, sk_config_t *cfg, bool apply,
                      options_t *opt, char *errstr, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value = NULL;
        char name[64];
        const char *eq = strchr(a, '=');
        size_t n;

        if (strcmp(a, "--check-config") == 0) {
            opt->check_config = true;
            continue;
        }
        if (strcmp(a, "--allow-root") == 0) {
            opt->allow_root = true;
            continue;
        }
        if (strcmp(a, "--exit-when-caught-up") == 0) {
            opt->exit_when_caught_up = true;
            continue;
        }
        if (strcmp(a, "--no-publish") == 0) {
            opt->no_publish = true;
            continue;
        }
        if (strncmp(a, "-X", 2) == 0) {
            value = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value) {
                snprintf(errstr, errlen, "-X needs property=value");
                return SK_ERR;
            }
            if (apply && sk_kafka_props_parse(&cfg->kafka, value, errstr,
                                              errlen) != SK_OK)
                return SK_ERR;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(errstr, errlen, "unexpected argument %s (see --help)", a);
            return SK_ERR;
        }
        n = eq ? (size_t)(eq - a) : strlen(a);
        if (n >= sizeof name) {
            snprintf(errstr, errlen, "unknown option %.40s", a);
            return SK_ERR;
        }
        memcpy(name, a, n);
        name[n] = '\0';
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        if (!value) {
            snprintf(errstr, errlen, "%s needs a value", name);
            return SK_ERR;
        }
        if (strcmp(name, "--config") == 0) {
            opt->config = value;
            continue;
        }
        if (strcmp(name, "--start-offset") == 0) {
            opt->start_offset = value;
            continue;
        }
        if (strcmp(name, "--start-time") == 0) {
            opt->start_time = value;
            continue;
        }
        {
            const flag_map_t *f = NULL;
            for (size_t k = 0; k < sizeof flag_settings / sizeof *flag_settings;
                 k++)
                if (strcmp(flag_settings[k].flag, name) == 0)
                    f = &flag_settings[k];
            if (!f) {
                snprintf(errstr, errlen, "unknown option %s (see --help)",
                         name);
                return SK_ERR;
            }
            if (apply && sk_config_set(cfg, f->setting, value, SK_ORIGIN_FLAG,
                                       name, errstr, errlen) != SK_OK)
                return SK_ERR;
        }
    }
    return SK_OK;
}

static int check_times(const sk_config_t *cfg, const sk_rules_t *rules,
                       char *errstr, size_t errlen)
{
    int64_t window = (int64_t)rules->window_days * SK_DAY_MS;

    if (cfg->late_grace_ms > window) {
        snprintf(errstr, errlen,
                 "time.late_grace (%" PRId64 " h) is longer than the rules' "
                 "window (%d days)",
                 cfg->late_grace_ms / 3600000, rules->window_days);
        return SK_ERR;
    }
    /* Erasing an account inside its scoring window would change scores
     * the model still computes from it. */
    if (cfg->silent_ttl_ms >= 0 && cfg->silent_ttl_ms < 2 * window) {
        snprintf(errstr, errlen,
                 "retention.silent_ttl (%" PRId64 " days) is shorter than "
                 "twice the rules' window (%d days): accounts would be "
                 "erased while their history still counts",
                 cfg->silent_ttl_ms / SK_DAY_MS, rules->window_days);
        return SK_ERR;
    }
    return SK_OK;
}

static int check_kafka(sk_daemon_t *d, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = sk_consumer_conf(d, errstr, errlen);

    if (!conf)
        return SK_ERR;
    rd_kafka_conf_destroy(conf);
    conf = sk_producer_conf(d, errstr, errlen);
    if (!conf)
        return SK_ERR;
    rd_kafka_conf_destroy(conf);
    for (size_t i = 0; i < d->cfg->kafka.n; i++) {
        const char *w = sk_kafka_prop_warning(d->cfg->kafka.keys[i],
                                              d->cfg->kafka.values[i]);
        if (w)
            sk_log(SK_LOG_WARN, "config", w, "property=%s",
                   d->cfg->kafka.keys[i]);
    }
    return SK_OK;
}

static void reload_rules(sk_daemon_t *d)
{
    sk_rules_t fresh;
    char errstr[SK_ERRSTR_LEN];

    if (sk_rules_load(d->cfg->rules_path, &fresh, errstr, sizeof errstr) !=
            SK_OK ||
        check_times(d->cfg, &fresh, errstr, sizeof errstr) != SK_OK) {
        sk_log(SK_LOG_ERROR, "rules",
               "rules reload failed; keeping the current rules",
               "version=%s error=%s", SK_LOG_Q(d->rules.version),
               SK_LOG_Q(errstr));
        sk_metrics_rules(d->metrics, d->rules.version, false, true);
        return;
    }
    d->rules = fresh;
    sk_metrics_rules(d->metrics, d->rules.version, true, false);
    /* Cached accounts are all written (this runs between batches); the
     * next use reloads them, sized by the new rules. */
    sk_cache_clear(d->cache);
    sk_log(SK_LOG_INFO, "rules", "rules reloaded", "file=%s version=%s",
           SK_LOG_Q(d->cfg->rules_path), SK_LOG_Q(d->rules.version));
}

static void log_stats(const sk_daemon_t *d, const char *msg)
{
    const sk_stats_t *s = &d->stats;

    sk_log(SK_LOG_INFO, "daemon", msg,
           "consumed=%" PRIu64 " applied=%" PRIu64 " duplicates=%" PRIu64
           " replayed=%" PRIu64 " dead_lettered=%" PRIu64 " late=%" PRIu64
           " alerts_produced=%" PRIu64 " alerts_suppressed=%" PRIu64
           " evaluated=%" PRIu64 " conflicts=%" PRIu64 " retries=%" PRIu64,
           s->consumed, s->applied, s->duplicates, s->replayed,
           s->dead_lettered, s->late, s->alerts, s->suppressed, s->evaluated,
           s->conflicts, s->retries);
}

static int start_embedded(sk_daemon_t *d, char *errstr, size_t errlen)
{
    const sk_config_t *cfg = d->cfg;

    d->embedded = sk_kafka_embedded_new(1, errstr, errlen);
    if (!d->embedded)
        return SK_ERR;
    for (int i = 0; i < cfg->n_inputs; i++)
        if (sk_kafka_embedded_create_topic(d->embedded, cfg->inputs[i],
                                           cfg->embedded_partitions, errstr,
                                           errlen) != SK_OK)
            return SK_ERR;
    if (sk_kafka_embedded_create_topic(d->embedded, cfg->alerts_topic,
                                       cfg->embedded_partitions, errstr,
                                       errlen) != SK_OK ||
        sk_kafka_embedded_create_topic(d->embedded, cfg->dlq_topic, 1, errstr,
                                       errlen) != SK_OK)
        return SK_ERR;
    snprintf(d->brokers, sizeof d->brokers, "%s",
             sk_kafka_embedded_bootstraps(d->embedded));
    sk_log(SK_LOG_INFO, "daemon",
           "embedded kafka cluster started (development only: no "
           "persistence, no security)",
           "bootstrap=%s partitions=%d", d->brokers, cfg->embedded_partitions);
    return SK_OK;
}

/* Connect to Redis, waiting (with backoff) while it is unreachable. */
static int connect_redis(sk_daemon_t *d, char *errstr, size_t errlen)
{
    const sk_config_t *cfg = d->cfg;
    int64_t backoff = 100;
    char policy[64];

    for (;;) {
        d->redis = sk_redis_connect(&cfg->redis, errstr, errlen);
        if (d->redis)
            break;
        if (sk_signals_stop_requested())
            return SK_ERR;
        sk_log(SK_LOG_WARN, "redis", "not ready: redis unreachable; retrying",
               "error=%s retry_in_ms=%" PRId64, SK_LOG_Q(errstr), backoff);
        sk_clock_sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    if (!cfg->redis_allow_eviction)
        return sk_redis_require_noeviction(d->redis, errstr, errlen);
    if (sk_redis_config_get(d->redis, "maxmemory-policy", policy, sizeof policy,
                            errstr, errlen) == SK_OK &&
        strcmp(policy, "noeviction") != 0)
        sk_log(SK_LOG_WARN, "redis",
               "maxmemory-policy may evict account state "
               "(redis.allow_eviction is true)",
               "policy=%s", policy);
    return SK_OK;
}

/* Evaluate every due account to now, tick after tick, while ticks find
 * some (before exiting caught up: the state is then as a running daemon
 * would leave it). */
static void drain_due(sk_daemon_t *d)
{
    for (int i = 0; i < 10000 && !sk_signals_stop_requested() && !d->fatal;
         i++) {
        uint64_t before = d->stats.evaluated + d->stats.expired;
        if (sk_scheduler_tick(d) != SK_OK ||
            d->stats.evaluated + d->stats.expired == before)
            break;
    }
}

/* @returns true when the run ended because it caught up. */
static bool run(sk_daemon_t *d)
{
    int64_t next_tick = sk_clock_mono_ms() + d->cfg->tick_ms;
    int64_t next_stats = sk_clock_mono_ms() + STATS_EVERY_MS;

    while (!sk_signals_stop_requested() && !d->fatal) {
        int64_t now = sk_clock_mono_ms();
        int timeout = (int)(next_tick - now);

        if (sk_signals_take_reload())
            reload_rules(d);
        if (timeout > 100)
            timeout = 100;
        if (timeout < 0)
            timeout = 0;
        /* Commit what is delivered; wait here only while too much is in
         * flight to take another batch. */
        if (sk_inflight_settle(d, false) == SK_FATAL)
            break;
        if (d->n_inflight > 0 && timeout > WAIT_IN_FLIGHT_MS)
            timeout = WAIT_IN_FLIGHT_MS;
        if (d->due_more)
            timeout = 0; /* due accounts are waiting: only take what is
                            there */
        if (sk_consumer_collect(d, timeout) > 0) {
            int64_t t0 = sk_metrics_clock_ns();
            int rc = sk_pipeline_run_batch(d, false);
            sk_metrics_observe_batch(d->metrics, sk_metrics_clock_ns() - t0);
            if (rc == SK_FATAL)
                break;
        }
        now = sk_clock_mono_ms();
        if (now >= next_tick || d->due_more) {
            /* A backlog of due accounts (after an outage, at midnight)
             * goes a slice per pass, between batches of events. */
            if (sk_scheduler_tick(d) == SK_FATAL)
                break;
            sk_pipeline_dlq_log_summary(d, false);
            next_tick = sk_clock_mono_ms() + d->cfg->tick_ms;
        }
        if (now >= next_stats) {
            log_stats(d, "figures so far");
            next_stats = now + STATS_EVERY_MS;
        }
        sk_metrics_publish(d, false);
        if (sk_replay_caught_up(d)) {
            sk_log_msg(SK_LOG_INFO, "daemon",
                       "caught up: every input partition is at its end");
            drain_due(d);
            sk_metrics_publish(d, true);
            return !d->fatal;
        }
    }
    sk_metrics_publish(d, true);
    return false;
}

static void shutdown_daemon(sk_daemon_t *d)
{
    if (d->consumer) {
        sk_log_msg(SK_LOG_INFO, "daemon", "stopping: leaving the group");
        sk_consumer_close(d);
    }
    if (d->producer) {
        rd_kafka_resp_err_t err = rd_kafka_flush(d->producer, 5000);
        if (err)
            sk_log(SK_LOG_WARN, "producer",
                   "messages still queued at exit (their batches were not "
                   "committed)",
                   "queued=%d", rd_kafka_outq_len(d->producer));
        rd_kafka_destroy(d->producer);
        d->producer = NULL;
    }
    sk_pipeline_release(d);
    sk_pipeline_dlq_log_summary(d, true);
    sk_kafka_embedded_destroy(d->embedded);
    d->embedded = NULL;
    sk_redis_close(d->redis);
    d->redis = NULL;
    sk_cache_destroy(d->cache);
    d->cache = NULL;
    free(d->batch);
    free(d->dirty);
    free(d->loads);
    free(d->load_entries);
    free(d->writes);
    free(d->scores);
    free(d->write_entries);
    sk_inflight_free(d);
    sk_producer_free_records(d);
    free(d->parts);
    sk_alerts_free(&d->alerts);
    msgpack_sbuffer_destroy(&d->enc);
    sk_json_free(&d->json);
}

int main(int argc, char **argv)
{
    static sk_config_t cfg;
    static sk_daemon_t d;
    options_t opt = {0};
    char errstr[SK_ERRSTR_LEN];
    const char *config_path;
    sk_http_admin_t *http = NULL;
    bool caught_up = false;
    int status = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("scorekeeperd %s\n", SK_VERSION);
            return 0;
        }
    }
    sk_config_defaults(&cfg);
    if (parse_args(argc, argv, &cfg, false, &opt, errstr, sizeof errstr) !=
        SK_OK)
        goto config_error;
    config_path = opt.config ? opt.config : getenv("SCOREKEEPER_CONFIG");
    if (config_path && *config_path &&
        sk_config_load_file(&cfg, config_path, errstr, sizeof errstr) != SK_OK)
        goto config_error;
    if (sk_config_apply_env(&cfg, errstr, sizeof errstr) != SK_OK ||
        parse_args(argc, argv, &cfg, true, &opt, errstr, sizeof errstr) !=
            SK_OK ||
        sk_config_finish(&cfg, errstr, sizeof errstr) != SK_OK)
        goto config_error;
    sk_log_set_level((sk_log_level_t)cfg.log_level);
    if (opt.start_offset && opt.start_time) {
        snprintf(errstr, sizeof errstr,
                 "give --start-offset or --start-time, not both");
        goto config_error;
    }
    if ((opt.start_offset &&
         sk_replay_parse_offset(&d.replay, opt.start_offset, errstr,
                                sizeof errstr) != SK_OK) ||
        (opt.start_time &&
         sk_replay_parse_time(&d.replay, opt.start_time, errstr,
                              sizeof errstr) != SK_OK))
        goto config_error;
    d.replay.exit_when_caught_up = opt.exit_when_caught_up;
    d.no_publish = opt.no_publish;

    d.cfg = &cfg;
    if (!sk_config_embedded(&cfg))
        snprintf(d.brokers, sizeof d.brokers, "%s", cfg.brokers);
    if (sk_rules_load(cfg.rules_path, &d.rules, errstr, sizeof errstr) !=
            SK_OK ||
        check_times(&cfg, &d.rules, errstr, sizeof errstr) != SK_OK ||
        check_kafka(&d, errstr, sizeof errstr) != SK_OK)
        goto config_error;

    if (opt.check_config) {
        sk_config_print(&cfg, stdout);
        printf("# rules: %s, version %s: ok\n", cfg.rules_path,
               d.rules.version);
        status = 0;
        goto out;
    }
    if (geteuid() == 0 && !opt.allow_root) {
        sk_log_msg(SK_LOG_ERROR, "daemon",
                   "refusing to run as root (use a service account, or "
                   "--allow-root)");
        goto out;
    }
    if (sk_signals_install() != 0) {
        sk_log_msg(SK_LOG_ERROR, "daemon", "cannot install signal handlers");
        goto out;
    }
    sk_log(SK_LOG_INFO, "daemon", "starting",
           "version=%s rules=%s rules_version=%s group=%s clock=%s", SK_VERSION,
           SK_LOG_Q(cfg.rules_path), SK_LOG_Q(d.rules.version),
           SK_LOG_Q(cfg.group_id), sk_clock_is_fake() ? "file" : "wall");

    d.cache = sk_cache_new((size_t)cfg.cache_accounts);
    d.batch = calloc((size_t)cfg.batch_size, sizeof *d.batch);
    msgpack_sbuffer_init(&d.enc);
    if (!d.cache || !d.batch || sk_pipeline_reserve(&d, 256) != SK_OK) {
        sk_log_msg(SK_LOG_ERROR, "daemon", "out of memory");
        goto stop;
    }
    d.cap_batch = (size_t)cfg.batch_size;
    d.metrics = sk_metrics_new(&cfg);
    if (!d.metrics) {
        sk_log_msg(SK_LOG_ERROR, "daemon", "out of memory");
        goto stop;
    }
    sk_metrics_rules(d.metrics, d.rules.version, false, false);
    sk_metrics_publish(&d, true);
    if (strcmp(cfg.metrics_listen, SK_HTTP_ADMIN_OFF) != 0) {
        sk_http_admin_handlers_t h = {sk_metrics_ready, sk_metrics_render,
                                      d.metrics};
        http =
            sk_http_admin_start(cfg.metrics_listen, &h, errstr, sizeof errstr);
        if (!http)
            goto start_error;
        sk_log(SK_LOG_INFO, "http", "serving /healthz, /readyz and /metrics",
               "listen=%s port=%d", SK_LOG_Q(cfg.metrics_listen),
               sk_http_admin_port(http));
    }
    if (d.no_publish)
        sk_log_msg(SK_LOG_INFO, "daemon",
                   "publishing nothing: no alerts, no dead letters "
                   "(--no-publish)");
    if (sk_config_embedded(&cfg) &&
        start_embedded(&d, errstr, sizeof errstr) != SK_OK)
        goto start_error;
    if (connect_redis(&d, errstr, sizeof errstr) != SK_OK)
        goto start_error;
    sk_log(SK_LOG_INFO, "redis", "connected", "address=%s:%d db=%d prefix=%s",
           cfg.redis.host, cfg.redis.port, cfg.redis.db,
           SK_LOG_Q(cfg.redis.prefix));
    if (sk_producer_start(&d, errstr, sizeof errstr) != SK_OK ||
        sk_consumer_start(&d, errstr, sizeof errstr) != SK_OK)
        goto start_error;
    sk_log(SK_LOG_INFO, "daemon", "ready: consuming",
           "brokers=%s inputs=%d alerts=%s dlq=%s", SK_LOG_Q(d.brokers),
           cfg.n_inputs, cfg.alerts_topic, cfg.dlq_topic);

    d.replay.started_ms = sk_clock_mono_ms();
    caught_up = run(&d);
    status = d.fatal ? 2 : 0;
    if (d.fatal)
        sk_log(SK_LOG_ERROR, "daemon", "stopping after a fatal error",
               "error=%s", SK_LOG_Q(d.fatal_reason));
    goto stop;

start_error:
    if (!sk_signals_stop_requested())
        sk_log(SK_LOG_ERROR, "daemon", "cannot start", "error=%s",
               SK_LOG_Q(errstr));
    status = sk_signals_stop_requested() ? 0 : 1;
stop:
    sk_metrics_stopping(d.metrics);
    shutdown_daemon(&d);
    log_stats(&d, "stopped");
    if (caught_up)
        sk_replay_summary(&d, stdout);
    sk_http_admin_stop(http);
    sk_metrics_destroy(d.metrics);
    d.metrics = NULL;
    sk_replay_free(&d.replay);
    goto out;

config_error:
    fprintf(stderr, "scorekeeperd: %s\n", errstr);
    status = 1;
out:
    sk_config_free(&cfg);
    return status;
}
