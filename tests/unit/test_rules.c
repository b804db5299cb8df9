/*
 * test_rules.c - the rules loader and the default rules file.
 *
 * The first tests pin every number of deploy/rules.yaml to MODEL.md, so a
 * slip in the file fails here before it scores a customer.  The rest
 * break the default file (or write a small one) in one place and check
 * that the loader names the right line and says what is wrong, and that
 * the caller's rules are left untouched.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "scorekeeper/rules.h"
#include "support.h"

#define NAME "rules.yaml"

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "cannot open %s", path);
    char *buf = malloc(SK_RULES_MAX_BYTES + 1);
    cr_assert_not_null(buf);
    size_t n = fread(buf, 1, SK_RULES_MAX_BYTES, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static char *default_text(void)
{
    return slurp(sk_test_path("deploy/rules.yaml"));
}

/* The default text with the first @p from replaced by @p to. */
static char *mutate(const char *from, const char *to)
{
    char *text = default_text();
    char *at = strstr(text, from);
    cr_assert_not_null(at, "'%s' is not in deploy/rules.yaml", from);
    size_t head = (size_t)(at - text), fl = strlen(from), tl = strlen(to);
    size_t total = strlen(text) - fl + tl;
    char *out = malloc(total + 1);
    cr_assert_not_null(out);
    memcpy(out, text, head);
    memcpy(out + head, to, tl);
    strcpy(out + head + tl, at + fl);
    free(text);
    return out;
}

/* 1-based line of the first @p needle in @p text. */
static int line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    cr_assert_not_null(at, "'%s' not found", needle);
    int line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

/* Load @p text, expect failure with exactly "rules.yaml:LINE: MESSAGE"
 * (no line part when @p line is 0), and an untouched output. */
static void expect_error_len(const char *text, size_t len, int line,
                             const char *message)
{
    sk_rules_t rules, before;
    char err[SK_ERRSTR_LEN], want[SK_ERRSTR_LEN];
    memset(&rules, 0xA5, sizeof rules);
    memcpy(&before, &rules, sizeof rules);
    int rc = sk_rules_load_buffer(NAME, text, len, &rules, err, sizeof err);
    cr_assert_eq(rc, SK_ERR, "loaded, expected: %s", message);
    if (line > 0)
        snprintf(want, sizeof want, "%s:%d: %s", NAME, line, message);
    else
        snprintf(want, sizeof want, "%s: %s", NAME, message);
    cr_assert_str_eq(err, want);
    cr_assert(memcmp(&rules, &before, sizeof rules) == 0,
              "output changed on error");
}

static void expect_error(const char *text, int line, const char *message)
{
    expect_error_len(text, strlen(text), line, message);
}

/* Replace @p from by @p to in the default file; expect @p message on the
 * line where @p at_text lands in the changed file. */
static void expect_mutation_error(const char *from, const char *to,
                                  const char *at_text, const char *message)
{
    char *text = mutate(from, to);
    expect_error(text, line_of(text, at_text), message);
    free(text);
}

static sk_rules_t load_text(const char *text)
{
    sk_rules_t rules;
    char err[SK_ERRSTR_LEN];
    int rc =
        sk_rules_load_buffer(NAME, text, strlen(text), &rules, err, sizeof err);
    cr_assert_eq(rc, SK_OK, "%s", err);
    return rules;
}

static sk_rules_t load_mutation(const char *from, const char *to)
{
    char *text = mutate(from, to);
    sk_rules_t rules = load_text(text);
    free(text);
    return rules;
}

#define EQ(got, want)                                                          \
    cr_assert(fabs((double)(got) - (double)(want)) < 1e-9,                     \
              "%s is %g, MODEL.md says %g", #got, (double)(got),               \
              (double)(want))

/* ---------------------------------------------------------------- */
/* the default file is MODEL.md                                      */

static sk_rules_t load_default(void)
{
    sk_rules_t rules;
    char err[SK_ERRSTR_LEN];
    cr_assert_eq(sk_rules_load(sk_test_path("deploy/rules.yaml"), &rules, err,
                               sizeof err),
                 SK_OK, "%s", err);
    return rules;
}

Test(rules_default, general)
{
    sk_rules_t r = load_default();
    cr_assert_str_eq(r.version, "default-2026.11");
    EQ(r.window_days, 30);
    EQ(r.dedup_horizon_days, 7);
    EQ(r.dedup_max_ids, 256);
}

Test(rules_default, points_pipeline)
{
    sk_rules_t r = load_default();
    EQ(r.points.user_created, 30);
    EQ(r.points.login_monthly, 30);
    EQ(r.points.meeting_attended, 30);
    EQ(r.points.meeting_missed, -30);
    EQ(r.points.payment_succeeded, 50);
    EQ(r.points.payment_failed, -50);
    EQ(r.points.feedback_very_happy, 50);
    EQ(r.points.feedback_happy, 25);
    EQ(r.points.feedback_neutral, -25);
    EQ(r.points.feedback_not_happy, -50);
    const double usage[][2] = {{30, 30}, {60, 60}, {120, 120}};
    cr_assert_eq(r.points.n_usage, 3);
    for (int i = 0; i < 3; i++) {
        EQ(r.points.usage[i].min, usage[i][0]);
        EQ(r.points.usage[i].points, usage[i][1]);
    }
    const int64_t stages[] = {100, 500, 1000, 2000, 5000, 10000};
    cr_assert_eq(r.n_stages, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(r.stages[i], stages[i], "stage %d", i);
}

Test(rules_default, engagement_weights_frequency)
{
    sk_rules_t r = load_default();
    EQ(r.engagement.w_frequency, 0.30);
    EQ(r.engagement.w_quality, 0.35);
    EQ(r.engagement.w_breadth, 0.20);
    EQ(r.engagement.w_product, 0.15);
    const struct {
        const sk_count_rule_t *rule;
        double per, each, max;
    } freq[] = {
        {&r.engagement.meeting, 1, 5, 40},   {&r.engagement.email, 1, 2, 20},
        {&r.engagement.login, 5, 1, 20},     {&r.engagement.ticket, 1, 3, 15},
        {&r.engagement.training, 1, 10, 20},
    };
    for (size_t i = 0; i < sizeof freq / sizeof freq[0]; i++) {
        EQ(freq[i].rule->per, freq[i].per);
        EQ(freq[i].rule->each, freq[i].each);
        EQ(freq[i].rule->max, freq[i].max);
    }
    EQ(r.engagement.frequency_max, 115);
}

Test(rules_default, engagement_quality_breadth)
{
    sk_rules_t r = load_default();
    EQ(r.engagement.quality_neutral, 50);
    const double resp[][2] = {
        {0, 20}, {25, 40}, {50, 60}, {75, 80}, {100, 100}};
    cr_assert_eq(r.engagement.n_response, 5);
    for (int i = 0; i < 5; i++) {
        EQ(r.engagement.response[i].min, resp[i][0]);
        EQ(r.engagement.response[i].points, resp[i][1]);
    }
    EQ(r.engagement.mq_on_time, 20);
    EQ(r.engagement.mq_active, 20);
    EQ(r.engagement.mq_executive, 25);
    EQ(r.engagement.mq_follow_through, 25);
    EQ(r.engagement.mq_strategic, 10);

    EQ(r.engagement.br_executive, 30);
    EQ(r.engagement.br_champion.per, 1);
    EQ(r.engagement.br_champion.each, 15);
    EQ(r.engagement.br_champion.max, 45);
    EQ(r.engagement.br_power_user.per, 1);
    EQ(r.engagement.br_power_user.each, 5);
    EQ(r.engagement.br_power_user.max, 25);
    EQ(r.engagement.br_departments_min, 3);
    EQ(r.engagement.br_departments, 20);
    EQ(r.engagement.breadth_max, 120);
}

Test(rules_default, engagement_product_tiers)
{
    sk_rules_t r = load_default();
    EQ(r.engagement.feature_weight[SK_FEATURE_CORE], 2);
    EQ(r.engagement.feature_weight[SK_FEATURE_ADVANCED], 1.5);
    EQ(r.engagement.feature_weight[SK_FEATURE_BASIC], 1);
    const struct {
        const char *key;
        sk_feature_class_t cls;
    } cat[] = {
        {"dashboards", SK_FEATURE_CORE},   {"reports", SK_FEATURE_CORE},
        {"integrations", SK_FEATURE_CORE}, {"alerts", SK_FEATURE_ADVANCED},
        {"api", SK_FEATURE_ADVANCED},      {"automation", SK_FEATURE_ADVANCED},
        {"sso", SK_FEATURE_ADVANCED},      {"export", SK_FEATURE_BASIC},
        {"comments", SK_FEATURE_BASIC},    {"mobile_app", SK_FEATURE_BASIC},
    };
    int n = (int)(sizeof cat / sizeof cat[0]);
    cr_assert_eq(r.engagement.n_features, n);
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(r.engagement.features[i].key, cat[i].key);
        cr_assert_eq(r.engagement.features[i].cls, cat[i].cls, "%s",
                     cat[i].key);
    }
    EQ(r.engagement.tier_min[SK_TIER_GREEN], 80);
    EQ(r.engagement.tier_min[SK_TIER_YELLOW], 60);
    EQ(r.engagement.tier_min[SK_TIER_ORANGE], 40);
    EQ(r.engagement.tier_min[SK_TIER_RED], 0);
}

Test(rules_default, customer)
{
    sk_rules_t r = load_default();
    EQ(r.customer.base, 50);
    EQ(r.customer.min, 0);
    EQ(r.customer.max, 100);
    EQ(r.customer.active_week, 5);
    EQ(r.customer.first_feature, 10);
    EQ(r.customer.support_satisfied, 5);
    EQ(r.customer.support_unsatisfied, -5);
    EQ(r.customer.advanced_feature_view, 8);
    EQ(r.customer.cancellation_view, -20);
    EQ(r.customer.nps_promoter_min, 9);
    EQ(r.customer.nps_promoter, 15);
    EQ(r.customer.nps_detractor_max, 6);
    EQ(r.customer.nps_detractor, -15);
    EQ(r.customer.referral, 20);
    EQ(r.customer.renewal, 20);
    EQ(r.customer.payment_failures_min, 2);
    EQ(r.customer.payment_failures, -10);
    EQ(r.customer.no_login, -10);
    EQ(r.customer.upsell_plan_usage_min, 80);
    EQ(r.customer.upsell_plan_usage, 15);
    EQ(r.customer.upsell_enterprise_view, 10);
    EQ(r.customer.upsell_seat_request, 12);
    EQ(r.customer.upsell_first_api_call, 8);
    EQ(r.customer.upsell_candidate_min_score, 80);
    EQ(r.customer.upsell_candidate_min_upsell, 20);
    EQ(r.customer.loyal_min_score, 70);
    EQ(r.customer.loyal_months, 6);
    EQ(r.customer.risk_below, 30);
    EQ(r.customer.at_risk_below, 50);
}

Test(rules_default, health_plays)
{
    sk_rules_t r = load_default();
    cr_assert_str_eq(r.plays[SK_HEALTH_AT_RISK].name, "rescue plan");
    EQ(r.plays[SK_HEALTH_AT_RISK].sla_hours, 24);
    cr_assert_str_eq(r.plays[SK_HEALTH_WATCH].name, "adoption sprint");
    EQ(r.plays[SK_HEALTH_WATCH].sla_hours, 72);
    cr_assert_str_eq(r.plays[SK_HEALTH_HEALTHY].name, "tech-touch enablement");
    EQ(r.plays[SK_HEALTH_HEALTHY].sla_hours, -1);
    cr_assert_str_eq(r.plays[SK_HEALTH_GROWTH].name, "expansion discovery");
    EQ(r.plays[SK_HEALTH_GROWTH].sla_hours, 168);
}

Test(rules_default, flags)
{
    sk_rules_t r = load_default();
    const struct {
        sk_flag_t flag;
        sk_severity_t sev;
        double t1, t2;
    } want[SK_FLAG__COUNT] = {
        {SK_FLAG_MISSED_MEETINGS, SK_SEVERITY_RED, 2, 0},
        {SK_FLAG_UNANSWERED_OUTREACH, SK_SEVERITY_RED, 3, 0},
        {SK_FLAG_QBR_DECLINED, SK_SEVERITY_RED, 1, 0},
        {SK_FLAG_USAGE_DROP, SK_SEVERITY_RED, 0.5, 60},
        {SK_FLAG_EXEC_SILENT, SK_SEVERITY_RED, 0, 0},
        {SK_FLAG_NO_LOGIN_30D, SK_SEVERITY_RED, 0, 0},
        {SK_FLAG_PAYMENT_FAILURES, SK_SEVERITY_RED, 2, 0},
        {SK_FLAG_CANCELLATION_INTENT, SK_SEVERITY_RED, 1, 0},
        {SK_FLAG_DETRACTOR, SK_SEVERITY_YELLOW, 6, 0},
        {SK_FLAG_SINGLE_THREADED, SK_SEVERITY_YELLOW, 1, 0},
        {SK_FLAG_SLOW_RESPONSE, SK_SEVERITY_YELLOW, 72, 24},
        {SK_FLAG_TACTICAL_ONLY, SK_SEVERITY_YELLOW, 0, 0},
    };
    for (int i = 0; i < SK_FLAG__COUNT; i++) {
        const sk_flag_rule_t *f = &r.flags[want[i].flag];
        cr_assert(f->enabled, "%s disabled", sk_flag_name(want[i].flag));
        cr_assert_eq(f->severity, want[i].sev, "%s",
                     sk_flag_name(want[i].flag));
        EQ(f->threshold, want[i].t1);
        EQ(f->threshold2, want[i].t2);
    }
}

Test(rules_default, test_support_loads_the_same)
{
    sk_rules_t r = load_default();
    cr_assert(memcmp(&r, sk_test_rules(), sizeof r) == 0);
}

/* ---------------------------------------------------------------- */
/* buffers, names, files                                             */

Test(rules_load, buffer_equals_file)
{
    sk_rules_t from_file = load_default(), from_buf;
    char *text = default_text();
    char err[SK_ERRSTR_LEN];
    cr_assert_eq(sk_rules_load_buffer("x", text, strlen(text), &from_buf, err,
                                      sizeof err),
                 SK_OK, "%s", err);
    cr_assert(memcmp(&from_file, &from_buf, sizeof from_buf) == 0);
    free(text);
}

Test(rules_load, missing_file)
{
    sk_rules_t r;
    char err[SK_ERRSTR_LEN], want[SK_ERRSTR_LEN];
    const char *path = sk_test_path("deploy/no-such-rules.yaml");
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
             path);
    cr_assert_eq(sk_rules_load(path, &r, err, sizeof err), SK_ERR);
    cr_assert_str_eq(err, want);
}

Test(rules_load, default_name_and_null_errstr)
{
    sk_rules_t r;
    char err[SK_ERRSTR_LEN];
    cr_assert_eq(sk_rules_load_buffer(NULL, "[]", 2, &r, err, sizeof err),
                 SK_ERR);
    cr_assert_str_eq(err, "<rules>:1: root: expected a map, got a list");
    cr_assert_eq(sk_rules_load_buffer(NULL, "[]", 2, &r, NULL, 0), SK_ERR);
    /* a tiny buffer gets a cut, terminated message */
    char tiny[8];
    cr_assert_eq(sk_rules_load_buffer(NAME, "[]", 2, &r, tiny, sizeof tiny),
                 SK_ERR);
    cr_assert_eq(strlen(tiny), sizeof tiny - 1);
}

Test(rules_load, huge_file_refused)
{
    size_t len = (size_t)SK_RULES_MAX_BYTES + 1;
    char *big = malloc(len);
    cr_assert_not_null(big);
    memset(big, '#', len);
    expect_error_len(big, len, 0,
                     "larger than the 1048576-byte limit of a rules file");

    /* the same through a file */
    const char *tmpdir = getenv("TMPDIR");
    char path[128];
    snprintf(path, sizeof path, "%s/sk-rules-XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, big, len), (ssize_t)len);
    close(fd);
    sk_rules_t r;
    char err[SK_ERRSTR_LEN], want[SK_ERRSTR_LEN];
    snprintf(want, sizeof want,
             "%s: larger than the 1048576-byte limit of a rules file", path);
    cr_assert_eq(sk_rules_load(path, &r, err, sizeof err), SK_ERR);
    cr_assert_str_eq(err, want);
    unlink(path);
    free(big);
}

Test(rules_load, too_many_nodes)
{
    /* well under the size limit, but far more nodes than a rules file */
    size_t cap = 100000;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    size_t n = (size_t)snprintf(text, cap, "stages: [");
    for (int i = 0; i < 30000; i++)
        n += (size_t)snprintf(text + n, cap - n, "1,");
    snprintf(text + n, cap - n, "1]\n");
    expect_error(text, 1, "more than 20000 YAML nodes: not a rules file");
    free(text);
}

/* ---------------------------------------------------------------- */
/* YAML-level errors                                                  */

Test(rules_yaml, empty_file)
{
    expect_error("", 1, "empty rules file: no YAML document");
    expect_error("# nothing but a comment\n\n", 1,
                 "empty rules file: no YAML document");
}

Test(rules_yaml, root_not_a_map)
{
    expect_error("- 1\n- 2\n", 1, "root: expected a map, got a list");
    expect_error("\n\njust words\n", 3,
                 "root: expected a map, got \"just words\"");
    expect_error("--- ~\n", 1, "root: expected a map, got nothing (null)");
}

Test(rules_yaml, syntax_error)
{
    expect_error("version: x\n  bad: indentation: here\n", 2,
                 "YAML syntax error: mapping values are not allowed in "
                 "this context");
}

Test(rules_yaml, too_deep)
{
    char text[256];
    /* 16 levels of nesting are accepted by the reader (the schema then
     * refuses the key), 17 are not */
    snprintf(text, sizeof text, "x: %s1%s\n", "[[[[[[[[[[[[[[[",
             "]]]]]]]]]]]]]]]");
    expect_error(text, 1, "unknown key 'x' in 'root'");
    snprintf(text, sizeof text, "x: %s1%s\n", "[[[[[[[[[[[[[[[[",
             "]]]]]]]]]]]]]]]]");
    expect_error(text, 1, "nested deeper than 16 levels");
    /* a deep document must not exhaust the stack or the heap */
    size_t len = 500000;
    char *deep = malloc(len + 1);
    cr_assert_not_null(deep);
    memset(deep, '[', len);
    deep[len] = '\0';
    expect_error(deep, 1, "nested deeper than 16 levels");
    free(deep);
}

Test(rules_yaml, aliases_tags_documents)
{
    expect_mutation_error("window_days: 30", "window_days: *w", "window_days",
                          "aliases (*name) are not supported in rules");
    expect_mutation_error("window_days: 30", "window_days: !!int 30",
                          "window_days",
                          "YAML tags (tag:yaml.org,2002:int) are not "
                          "supported in rules");
    char *text = default_text();
    size_t len = strlen(text);
    char *two = malloc(len + 32);
    cr_assert_not_null(two);
    snprintf(two, len + 32, "%s---\nx: 1\n", text);
    expect_error(two, line_of(two, "---\nx: 1"), "more than one YAML document");
    free(two);
    free(text);
}

/* ---------------------------------------------------------------- */
/* schema errors                                                      */

Test(rules_schema, unknown_key)
{
    expect_mutation_error("window_days:", "windw_days:", "windw_days",
                          "unknown key 'windw_days' in 'root' (did you "
                          "mean 'window_days'?)");
    expect_mutation_error("detractor: {severity: yellow, max_nps: 6}",
                          "detractor: {severity: yellow, max_nsp: 6}",
                          "max_nsp",
                          "unknown key 'max_nsp' in 'flags.detractor' "
                          "(did you mean 'max_nps'?)");
    expect_mutation_error("version:", "colour: blue\nversion:", "colour",
                          "unknown key 'colour' in 'root'");
}

Test(rules_schema, missing_key)
{
    /* a missing key is reported at the start of the map that lacks it */
    char *text = mutate("stages: [100", "# stages: [100");
    expect_error(text, line_of(text, "version:"),
                 "missing key 'stages' in 'root'");
    free(text);
    text = mutate("  renewal: 20\n", "");
    expect_error(text, line_of(text, "customer:\n"),
                 "missing key 'renewal' in 'customer'");
    free(text);
    expect_mutation_error("{severity: red, min_count: 3}", "{severity: red}",
                          "unanswered_outreach:",
                          "missing key 'min_count' in "
                          "'flags.unanswered_outreach'");
}

Test(rules_schema, duplicate_key)
{
    char *text = mutate("window_days: 30", "window_days: 30\nwindow_days: 31");
    char want[128];
    snprintf(want, sizeof want,
             "duplicate key 'window_days' in 'root' (first on line %d)",
             line_of(text, "window_days: 30"));
    expect_error(text, line_of(text, "window_days: 31"), want);
    free(text);
}

Test(rules_schema, wrong_types)
{
    expect_mutation_error("quality: 0.35", "quality: high", "quality: high",
                          "engagement.weights.quality: expected a number, "
                          "got \"high\"");
    expect_mutation_error("window_days: 30", "window_days: \"30\"",
                          "window_days",
                          "window_days: expected a whole number, got "
                          "\"30\"");
    expect_mutation_error("window_days: 30", "window_days: 30.5", "window_days",
                          "window_days: expected a whole number, got "
                          "\"30.5\"");
    expect_mutation_error("window_days: 30", "window_days: [30]", "window_days",
                          "window_days: expected a whole number, got a list");
    expect_mutation_error("dedup:\n  horizon_days: 7\n  max_ids: 256",
                          "dedup: 7", "dedup",
                          "dedup: expected a map, got \"7\"");
    expect_mutation_error("referral: 20", "referral: .inf", "referral",
                          "customer.referral: expected a number, got "
                          "\".inf\"");
    expect_mutation_error("referral: 20", "referral: 0x14", "referral",
                          "customer.referral: expected a number, got "
                          "\"0x14\"");
    expect_mutation_error("version: \"default-2026.11\"", "version: ~",
                          "version: ~",
                          "version: expected a text, got nothing (null)");
}

Test(rules_schema, ranges)
{
    expect_mutation_error("window_days: 30", "window_days: 91", "window_days",
                          "window_days: must be between 1 and 90, got 91");
    expect_mutation_error("window_days: 30", "window_days: 0", "window_days",
                          "window_days: must be between 1 and 90, got 0");
    expect_mutation_error("max_ids: 256", "max_ids: 65537", "max_ids: 6",
                          "dedup.max_ids: must be between 1 and 65536, got "
                          "65537");
    expect_mutation_error("horizon_days: 7", "horizon_days: -1",
                          "horizon_days: -",
                          "dedup.horizon_days: must be between 0 and 90, "
                          "got -1");
    expect_mutation_error("champion: {points: 15", "champion: {points: -15",
                          "champion:",
                          "engagement.breadth.champion.points: must be "
                          "between 0 and 1000000, got -15");
    expect_mutation_error("login: {per: 5", "login: {per: 0", "login: {per",
                          "engagement.frequency.login.per: must be between "
                          "1 and 1000, got 0");
    expect_mutation_error("user_created: 30", "user_created: 1e7",
                          "user_created",
                          "points.user_created: must be between -1000000 "
                          "and 1000000, got 10000000");
    expect_mutation_error("window_days: 30",
                          "window_days: 99999999999999999999999999999",
                          "window_days",
                          "window_days: must be between 1 and 90, got "
                          "99999999999999999999999999999");
    expect_mutation_error("referral: 20", "referral: 1e999", "referral",
                          "customer.referral: expected a finite number, got "
                          "\"1e999\"");
    expect_mutation_error("promoter_min: 9", "promoter_min: 11", "promoter_min",
                          "customer.nps.promoter_min: must be between 0 and "
                          "10, got 11");
}

Test(rules_schema, weights_must_sum_to_one)
{
    expect_mutation_error("quality: 0.35", "quality: 0.36",
                          "weights:\n    frequency",
                          "engagement.weights: the four weights must sum "
                          "to 1, they sum to 1.01");
    /* within 1e-6 is accepted */
    sk_rules_t r = load_mutation("quality: 0.35", "quality: 0.3500000001");
    EQ(r.engagement.w_quality, 0.3500000001);
    expect_mutation_error("on_time: 20", "on_time: 30", "meeting:\n",
                          "engagement.quality.meeting: the five attributes "
                          "must sum to 100 (a perfect meeting), they sum to "
                          "110");
}

Test(rules_schema, orders)
{
    expect_mutation_error("stages: [100, 500", "stages: [500, 100", "stages:",
                          "stages[1]: stages must be strictly ascending "
                          "(100 after 500)");
    expect_mutation_error("stages: [100, 500", "stages: [100, 100", "stages:",
                          "stages[1]: stages must be strictly ascending "
                          "(100 after 100)");
    expect_mutation_error("stages: [100", "stages: [0", "stages:",
                          "stages[0]: must be between 1 and "
                          "1000000000000000, got 0");
    expect_mutation_error("{min_minutes: 60, points: 60}",
                          "{min_minutes: 20, points: 60}", "min_minutes: 20",
                          "points.usage_bands[1].min_minutes: bands must be "
                          "listed in ascending order of min_minutes (20 "
                          "after 30)");
    expect_mutation_error("{min_percent: 0, score: 20}",
                          "{min_percent: 10, score: 20}",
                          "response_rate_bands:\n",
                          "engagement.quality.response_rate_bands: the first "
                          "band must start at min_percent 0 so that every "
                          "response rate has a score");
    expect_mutation_error("yellow: 60", "yellow: 85", "yellow: 85",
                          "engagement.tiers.yellow: must be below green (80)");
    expect_mutation_error("orange: 40", "orange: 60", "orange: 60",
                          "engagement.tiers.orange: must be below yellow "
                          "(60)");
    expect_mutation_error("detractor_max: 6", "detractor_max: 9",
                          "detractor_max",
                          "customer.nps.detractor_max: must be below "
                          "promoter_min (9)");
    expect_mutation_error("at_risk: {below: 50}", "at_risk: {below: 20}",
                          "at_risk: {below",
                          "customer.segments.at_risk.below: must not be "
                          "below risk.below (30)");
}

Test(rules_schema, list_sizes)
{
    expect_mutation_error(
        "stages: [100, 500, 1000, 2000, 5000, 10000]", "stages: []",
        "stages:", "stages: must have 1 to 16 entries, got 0");
    expect_mutation_error(
        "stages: [100, 500, 1000, 2000, 5000, 10000]",
        "stages: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, "
        "13, 14, 15, 16, 17]",
        "stages:", "stages: must have 1 to 16 entries, got 17");
    /* 65 features */
    char list[4096] = "catalogue:\n";
    for (int i = 0; i < 65; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "      - {key: f%d, class: core}\n",
                 i);
    }
    char *text = mutate("catalogue:\n", list);
    expect_error(text, line_of(text, "catalogue:\n      - {key: f0,"),
                 "engagement.product.catalogue: must have 1 to 64 "
                 "entries, got 75");
    free(text);
}

Test(rules_schema, severities_and_flags)
{
    expect_mutation_error("detractor: {severity: yellow",
                          "detractor: {severity: orange", "severity: orange",
                          "flags.detractor.severity: expected red or yellow, "
                          "got \"orange\"");
    expect_mutation_error("tactical_only: {severity: yellow}",
                          "tactical_only: {severity: yellow, enabled: maybe}",
                          "enabled: maybe",
                          "flags.tactical_only.enabled: expected true or "
                          "false, got \"maybe\"");
    expect_mutation_error("below_ratio: 0.5", "below_ratio: 0",
                          "below_ratio: 0,",
                          "flags.usage_drop.below_ratio: must be above 0");
    expect_mutation_error("before_at_most_hours: 24",
                          "before_at_most_hours: 96",
                          "before_at_most_hours: 96",
                          "flags.slow_response.before_at_most_hours: must "
                          "not be above above_hours (72)");

    /* enabled is optional (default true) and can turn a flag off */
    sk_rules_t r =
        load_mutation("tactical_only: {severity: yellow}",
                      "tactical_only: {severity: yellow, enabled: false}");
    cr_assert(!r.flags[SK_FLAG_TACTICAL_ONLY].enabled);
    cr_assert(r.flags[SK_FLAG_DETRACTOR].enabled);
    r = load_mutation("detractor: {severity: yellow",
                      "detractor: {enabled: true, severity: red");
    cr_assert(r.flags[SK_FLAG_DETRACTOR].enabled);
    cr_assert_eq(r.flags[SK_FLAG_DETRACTOR].severity, SK_SEVERITY_RED);
}

Test(rules_schema, sla_hours)
{
    sk_rules_t r = load_mutation("sla_hours: 72", "sla_hours: null");
    cr_assert_eq(r.plays[SK_HEALTH_WATCH].sla_hours, -1);
    r = load_mutation("sla_hours: none", "sla_hours: \"none\"");
    cr_assert_eq(r.plays[SK_HEALTH_HEALTHY].sla_hours, -1);
    r = load_mutation("sla_hours: none", "sla_hours: 0");
    cr_assert_eq(r.plays[SK_HEALTH_HEALTHY].sla_hours, 0);
    expect_mutation_error("sla_hours: 72", "sla_hours: 7.5", "sla_hours: 7.5",
                          "health.watch.sla_hours: expected a whole number "
                          "of hours or none, got \"7.5\"");
    expect_mutation_error("sla_hours: 72", "sla_hours: -1", "sla_hours: -1",
                          "health.watch.sla_hours: must be between 0 and "
                          "100000, got -1");
    expect_mutation_error("sla_hours: 72", "sla_hours: never",
                          "sla_hours: never",
                          "health.watch.sla_hours: expected a whole number "
                          "of hours or none, got \"never\"");
}

Test(rules_schema, strings)
{
    char long_version[128];
    memset(long_version, 'v', 64);
    snprintf(long_version + 64, sizeof long_version - 64, "\"");
    char repl[160];
    snprintf(repl, sizeof repl, "version: \"%s", long_version);
    expect_mutation_error("version: \"default-2026.11\"", repl, "version: \"",
                          "version: must be 1 to 63 bytes long, got 64");
    expect_mutation_error("version: \"default-2026.11\"", "version: \"\"",
                          "version: \"",
                          "version: must be 1 to 63 bytes long, got 0");
    expect_mutation_error("version: \"default-2026.11\"", "version: \"a\\tb\"",
                          "version: \"",
                          "version: control characters are not allowed");
    /* 63 bytes is fine, and an unquoted word is a text too */
    memset(long_version, 'v', 63);
    long_version[63] = '\0';
    snprintf(repl, sizeof repl, "version: %s", long_version);
    sk_rules_t r = load_mutation("version: \"default-2026.11\"", repl);
    cr_assert_str_eq(r.version, long_version);
    r = load_mutation("version: \"default-2026.11\"", "version: 2026.12");
    cr_assert_str_eq(r.version, "2026.12");
}

Test(rules_schema, catalogue)
{
    expect_mutation_error("{key: sso,", "{key: api,",
                          "{key: api, class: advanced}\n      - {key: export",
                          "engagement.product.catalogue[6].key: feature "
                          "'api' is already in the catalogue");
    expect_mutation_error("{key: export, class: basic}",
                          "{key: export, class: basik}", "class: basik",
                          "engagement.product.catalogue[7].class: expected "
                          "core, advanced or basic, got \"basik\"");
    char key[80], repl[128];
    memset(key, 'k', 65);
    key[65] = '\0';
    snprintf(repl, sizeof repl, "{key: %s,", key);
    expect_mutation_error("{key: sso,", repl, "kkkk",
                          "engagement.product.catalogue[6].key: must be 1 to "
                          "64 bytes long, got 65");
    key[64] = '\0';
    snprintf(repl, sizeof repl, "{key: %s,", key);
    sk_rules_t r = load_mutation("{key: sso,", repl);
    cr_assert_eq(sk_rules_feature_index(&r, key), 6);
    expect_mutation_error("weights: {core: 2, advanced: 1.5, basic: 1}",
                          "weights: {core: 0, advanced: 0, basic: 0}",
                          "catalogue:\n",
                          "engagement.product.catalogue: the catalogue "
                          "weighs 0 with these weights: the product "
                          "dimension would have nothing to measure");
}

/* ---------------------------------------------------------------- */
/* sk_rules_feature_index                                             */

Test(rules_features, index)
{
    const sk_rules_t *r = sk_test_rules();
    for (int i = 0; i < r->engagement.n_features; i++)
        cr_assert_eq(sk_rules_feature_index(r, r->engagement.features[i].key),
                     i);
    cr_assert_eq(sk_rules_feature_index(r, "dashboards"), 0);
    cr_assert_eq(sk_rules_feature_index(r, "mobile_app"), 9);
    cr_assert_eq(sk_rules_feature_index(r, "Dashboards"), -1);
    cr_assert_eq(sk_rules_feature_index(r, "dash"), -1);
    cr_assert_eq(sk_rules_feature_index(r, ""), -1);
    cr_assert_eq(sk_rules_feature_index(r, NULL), -1);
    cr_assert_eq(sk_rules_feature_index(NULL, "dashboards"), -1);
}
