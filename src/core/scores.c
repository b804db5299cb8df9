/*
 * scores.c - from an account's state to its scores, flags and tiers at
 * the account's clock; and their two readable forms, the JSON object of
 * `scorekeeper score` and the explanation of `scorekeeper explain`.
 *
 * DESIGN
 * One pass over the day buckets sums the current window and the one
 * before it (sk_window_sums_t); every score and flag is then a few
 * arithmetic steps on those sums and on the bounded sets of the state.
 * Nothing is cached between evaluations, so a change of rules applies
 * from the next evaluation and a computation can never go stale.
 * Scores stay unrounded; only the text forms round, for display.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "scorekeeper/account.h"
#include "scorekeeper/scores.h"

static double count_points(const sk_count_rule_t *rule, uint32_t count)
{
    double units = rule->per > 0 ? floor(count / rule->per) : 0;
    double pts = units * rule->each;
    return pts > rule->max ? rule->max : pts;
}

static void add_bucket(sk_window_sums_t *w, const sk_day_bucket_t *b)
{
    w->logins += b->logins;
    w->usage_events += b->usage_events;
    w->usage_minutes += b->usage_minutes;
    w->meetings += b->meetings;
    w->strategic_meetings += b->strategic_meetings;
    w->meeting_quality += b->meeting_quality;
    w->missed += b->missed;
    w->emails += b->emails;
    w->tickets += b->tickets;
    w->trainings += b->trainings;
    w->outreach += b->outreach;
    w->responses += b->responses;
    w->qbr_declined += b->qbr_declined;
    w->payment_failed += b->payment_failed;
    w->cancellation_views += b->cancellation_views;
    w->executive_events += b->executive_events;
    w->customer_points += b->customer_points;
    w->upsell |= b->upsell;
}

static uint32_t frequency_events(const sk_window_sums_t *w)
{
    return w->meetings + w->emails + w->logins + w->tickets + w->trainings;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median of the response samples whose day is in [from, to], or -1. */
static double median_hours(const sk_account_t *a, int32_t from, int32_t to)
{
    float v[SK_ACCOUNT_MAX_RESPONSES];
    int n = 0;
    for (int i = 0; i < a->n_responses; i++)
        if (a->responses[i].day >= from && a->responses[i].day <= to)
            v[n++] = a->responses[i].hours;
    if (n == 0)
        return -1;
    qsort(v, (size_t)n, sizeof v[0], cmp_float);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int people_in_window(const sk_account_t *a, sk_person_kind_t kind,
                            int32_t from)
{
    int n = 0;
    for (int i = 0; i < a->n_people; i++)
        if (a->people[i].kind == kind && a->people[i].last_day >= from)
            n++;
    return n;
}

static double response_band(const sk_rules_t *r, double rate)
{
    double best_min = -1, score = 0;
    for (int i = 0; i < r->engagement.n_response; i++) {
        const sk_band_t *b = &r->engagement.response[i];
        if (rate >= b->min && b->min > best_min) {
            best_min = b->min;
            score = b->points;
        }
    }
    return score;
}

static double upsell_score(const sk_rules_t *r, unsigned mask)
{
    double u = 0;
    if (mask & SK_UPSELL_PLAN_USAGE)
        u += r->customer.upsell_plan_usage;
    if (mask & SK_UPSELL_ENTERPRISE_VIEW)
        u += r->customer.upsell_enterprise_view;
    if (mask & SK_UPSELL_SEAT_REQUEST)
        u += r->customer.upsell_seat_request;
    if (mask & SK_UPSELL_FIRST_API_CALL)
        u += r->customer.upsell_first_api_call;
    return u;
}

static int64_t stage_of(const sk_rules_t *r, int64_t points)
{
    int64_t stage = 0;
    for (int i = 0; i < r->n_stages; i++)
        if (points >= r->stages[i])
            stage = r->stages[i];
    return stage;
}

/* Whether the flag's condition holds; the caller checks `enabled`. */
static bool flag_holds(const sk_scores_t *s, const sk_rules_t *r,
                       const sk_account_t *a, sk_flag_t f, int32_t win)
{
    const sk_flag_rule_t *fr = &r->flags[f];
    switch (f) {
    case SK_FLAG_MISSED_MEETINGS:
        return s->missed_count >= fr->threshold;
    case SK_FLAG_UNANSWERED_OUTREACH:
        return s->unanswered_count >= fr->threshold;
    case SK_FLAG_QBR_DECLINED:
        return s->cur.qbr_declined >= fr->threshold;
    case SK_FLAG_USAGE_DROP:
        return s->prev.usage_minutes >= fr->threshold2 &&
               s->cur.usage_minutes < fr->threshold * s->prev.usage_minutes;
    case SK_FLAG_EXEC_SILENT:
        return s->prev.executive_events > 0 && s->cur.executive_events == 0;
    case SK_FLAG_NO_LOGIN_30D:
        return a->last_login_day != SK_ACCOUNT_NO_DAY &&
               a->last_login_day < win;
    case SK_FLAG_PAYMENT_FAILURES:
        return s->cur.payment_failed >= fr->threshold;
    case SK_FLAG_CANCELLATION_INTENT:
        return s->cur.cancellation_views >= fr->threshold;
    case SK_FLAG_DETRACTOR:
        return s->latest_nps >= 0 && s->latest_nps <= fr->threshold;
    case SK_FLAG_SINGLE_THREADED:
        return s->distinct_users == (int)fr->threshold;
    case SK_FLAG_SLOW_RESPONSE:
        return s->median_response_cur > fr->threshold &&
               s->median_response_prev >= 0 &&
               s->median_response_prev <= fr->threshold2;
    case SK_FLAG_TACTICAL_ONLY:
        return s->cur.meetings > 0 && s->cur.strategic_meetings == 0;
    default:
        return false;
    }
}

void sk_scores_compute(const sk_account_t *a, const sk_rules_t *r,
                       sk_scores_t *s)
{
    memset(s, 0, sizeof *s);
    const int32_t today = sk_day_of(a->clock_ms);
    const int32_t win = today - r->window_days + 1;
    const int32_t prev_start = win - r->window_days;
    s->now_ms = a->clock_ms;

    /* Window sums, and ISO weeks with a login or usage. */
    int32_t last_week = INT32_MIN;
    for (int i = 0; i < a->n_days; i++) {
        const sk_day_bucket_t *b = &a->days[i];
        if (b->day > today)
            continue;
        if (b->day >= win) {
            add_bucket(&s->cur, b);
            int32_t week = sk_iso_week_of(b->day);
            if ((b->logins || b->usage_events) && week != last_week) {
                s->cur.active_weeks++;
                last_week = week;
            }
        } else if (b->day >= prev_start) {
            add_bucket(&s->prev, b);
        }
    }

    /* Points pipeline. */
    s->points = a->points;
    s->stage = stage_of(r, a->points);

    /* Engagement: frequency. */
    const sk_engagement_rules_t *E = &r->engagement;
    double freq_pts = count_points(&E->meeting, s->cur.meetings) +
                      count_points(&E->email, s->cur.emails) +
                      count_points(&E->login, s->cur.logins) +
                      count_points(&E->ticket, s->cur.tickets) +
                      count_points(&E->training, s->cur.trainings);
    s->frequency = E->frequency_max > 0 ? freq_pts / E->frequency_max * 100 : 0;
    if (s->frequency > 100)
        s->frequency = 100;

    /* Quality: the mean of what the window has data for. */
    double q_sum = 0;
    int q_n = 0;
    if (s->cur.outreach > 0) {
        q_sum += response_band(r, 100.0 * s->cur.responses / s->cur.outreach);
        q_n++;
    }
    if (s->cur.meetings > 0) {
        q_sum += (double)s->cur.meeting_quality / s->cur.meetings;
        q_n++;
    }
    s->quality_neutral = q_n == 0;
    s->quality = q_n ? q_sum / q_n : E->quality_neutral;

    /* Breadth. */
    s->executive_sponsor =
        people_in_window(a, SK_PERSON_EXECUTIVE, win) > 0 ||
        s->cur.executive_events > 0;
    s->champions = people_in_window(a, SK_PERSON_CHAMPION, win);
    s->power_users = people_in_window(a, SK_PERSON_POWER_USER, win);
    s->departments = people_in_window(a, SK_PERSON_DEPARTMENT, win);
    s->distinct_users = people_in_window(a, SK_PERSON_USER, win);
    double br_pts = (s->executive_sponsor ? E->br_executive : 0) +
                    count_points(&E->br_champion, (uint32_t)s->champions) +
                    count_points(&E->br_power_user, (uint32_t)s->power_users) +
                    (s->departments >= E->br_departments_min ? E->br_departments
                                                             : 0);
    s->breadth = E->breadth_max > 0 ? br_pts / E->breadth_max * 100 : 0;
    if (s->breadth > 100)
        s->breadth = 100;

    /* Product: weighted share of the catalogue used in the window. */
    double used = 0, total = 0;
    for (int f = 0; f < E->n_features; f++) {
        double w = E->feature_weight[E->features[f].cls];
        total += w;
        uint64_t h = E->features[f].key_hash;
        for (int i = 0; i < a->n_features; i++) {
            if (a->features[i].hash == h && a->features[i].last_day >= win) {
                used += w;
                s->features_used++;
                break;
            }
        }
    }
    s->product = total > 0 ? used / total * 100 : 0;

    s->engagement = E->w_frequency * s->frequency + E->w_quality * s->quality +
                    E->w_breadth * s->breadth + E->w_product * s->product;
    s->eng_tier = s->engagement >= E->tier_min[SK_TIER_GREEN]    ? SK_TIER_GREEN
                  : s->engagement >= E->tier_min[SK_TIER_YELLOW] ? SK_TIER_YELLOW
                  : s->engagement >= E->tier_min[SK_TIER_ORANGE] ? SK_TIER_ORANGE
                                                                 : SK_TIER_RED;
    uint32_t cur_f = frequency_events(&s->cur), prev_f = frequency_events(&s->prev);
    s->has_velocity = prev_f > 0;
    s->velocity = prev_f ? ((double)cur_f - prev_f) / prev_f : 0;

    /* Evidence the flags need. */
    s->missed_count = (int)s->cur.missed;
    for (int i = 0; i < a->n_open_cancels; i++)
        if (sk_day_of(a->open_cancels[i]) >= win &&
            sk_day_of(a->open_cancels[i]) <= today)
            s->missed_count++;
    for (int i = 0; i < a->n_outreach; i++)
        if (sk_day_of(a->outreach[i]) >= win &&
            sk_day_of(a->outreach[i]) <= today)
            s->unanswered_count++;
    s->median_response_cur = median_hours(a, win, today);
    s->median_response_prev = median_hours(a, prev_start, win - 1);
    s->latest_nps = a->last_nps_ms != INT64_MIN &&
                            sk_day_of(a->last_nps_ms) >= win
                        ? a->last_nps
                        : -1;
    s->last_login_day = a->last_login_day;

    for (int f = 0; f < SK_FLAG__COUNT; f++)
        if (r->flags[f].enabled && flag_holds(s, r, a, (sk_flag_t)f, win))
            s->flags |= 1u << f;

    /* Customer score. */
    const sk_customer_rules_t *C = &r->customer;
    double c = C->base + s->cur.customer_points +
               s->cur.active_weeks * C->active_week;
    if ((int)s->cur.payment_failed >= C->payment_failures_min)
        c += C->payment_failures;
    if (s->flags & (1u << SK_FLAG_NO_LOGIN_30D))
        c += C->no_login;
    s->customer = c < C->min ? C->min : c > C->max ? C->max : c;
    s->upsell = upsell_score(r, s->cur.upsell);

    bool loyal = s->customer >= C->loyal_min_score &&
                 a->high_since_ms != INT64_MIN &&
                 today >= sk_add_months(sk_day_of(a->high_since_ms),
                                        C->loyal_months);
    if (s->customer >= C->upsell_candidate_min_score &&
        s->upsell >= C->upsell_candidate_min_upsell)
        s->segment = SK_SEGMENT_UPSELL_CANDIDATE;
    else if (loyal)
        s->segment = SK_SEGMENT_LOYAL;
    else if (s->customer < C->risk_below)
        s->segment = SK_SEGMENT_RISK;
    else if (s->customer < C->at_risk_below)
        s->segment = SK_SEGMENT_AT_RISK;
    else
        s->segment = SK_SEGMENT_STEADY;

    /* Health tier, first match wins. */
    bool red = false, yellow = false;
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        if (!(s->flags & (1u << f)))
            continue;
        if (r->flags[f].severity == SK_SEVERITY_RED)
            red = true;
        else
            yellow = true;
    }
    if (red || s->segment == SK_SEGMENT_RISK)
        s->health = SK_HEALTH_AT_RISK;
    else if (yellow || s->eng_tier == SK_TIER_RED ||
             s->segment == SK_SEGMENT_AT_RISK)
        s->health = SK_HEALTH_WATCH;
    else if ((s->segment == SK_SEGMENT_UPSELL_CANDIDATE ||
              s->segment == SK_SEGMENT_LOYAL) &&
             (s->eng_tier == SK_TIER_GREEN || s->eng_tier == SK_TIER_YELLOW))
        s->health = SK_HEALTH_GROWTH;
    else
        s->health = SK_HEALTH_HEALTHY;
}

static double pct_change(double now, double before)
{
    return before > 0 ? (now - before) / before * 100 : 0;
}

void sk_scores_flag_reason(const sk_scores_t *s, const sk_rules_t *r,
                           sk_flag_t flag, char *buf, size_t len)
{
    const int w = r->window_days;
    const sk_flag_rule_t *fr = &r->flags[flag];
    char day[32];
    switch (flag) {
    case SK_FLAG_MISSED_MEETINGS:
        snprintf(buf, len,
                 "%d meetings missed or canceled without reschedule in the "
                 "last %d days (%u missed), threshold %.0f",
                 s->missed_count, w, s->cur.missed, fr->threshold);
        break;
    case SK_FLAG_UNANSWERED_OUTREACH:
        snprintf(buf, len,
                 "%d outreach in the last %d days since the last customer "
                 "response, threshold %.0f",
                 s->unanswered_count, w, fr->threshold);
        break;
    case SK_FLAG_QBR_DECLINED:
        snprintf(buf, len, "%u QBR declined in the last %d days",
                 s->cur.qbr_declined, w);
        break;
    case SK_FLAG_USAGE_DROP:
        if (s->prev.usage_minutes < fr->threshold2) {
            snprintf(buf, len,
                     "usage %.0f min in the last %d days, %.0f min the %d "
                     "before (a drop is measured from %.0f min)",
                     s->cur.usage_minutes, w, s->prev.usage_minutes, w,
                     fr->threshold2);
            break;
        }
        snprintf(buf, len,
                 "usage %.0f min in the last %d days, %.0f min the %d before: "
                 "%+.0f%%",
                 s->cur.usage_minutes, w, s->prev.usage_minutes, w,
                 pct_change(s->cur.usage_minutes, s->prev.usage_minutes));
        break;
    case SK_FLAG_EXEC_SILENT:
        snprintf(buf, len,
                 "%u executive events in the last %d days, %u the %d before",
                 s->cur.executive_events, w, s->prev.executive_events, w);
        break;
    case SK_FLAG_NO_LOGIN_30D:
        if (s->last_login_day == SK_ACCOUNT_NO_DAY) {
            snprintf(buf, len, "no login ever");
        } else {
            sk_format_time(sk_midnight_ms(s->last_login_day), day, sizeof day);
            day[10] = '\0';
            snprintf(buf, len, "last login on %s, %d days ago", day,
                     sk_day_of(s->now_ms) - s->last_login_day);
        }
        break;
    case SK_FLAG_PAYMENT_FAILURES:
        snprintf(buf, len, "%u failed payments in the last %d days",
                 s->cur.payment_failed, w);
        break;
    case SK_FLAG_CANCELLATION_INTENT:
        snprintf(buf, len, "%u cancellation page views in the last %d days",
                 s->cur.cancellation_views, w);
        break;
    case SK_FLAG_DETRACTOR:
        if (s->latest_nps >= 0)
            snprintf(buf, len, "latest NPS in the last %d days is %d", w,
                     s->latest_nps);
        else
            snprintf(buf, len, "no NPS in the last %d days", w);
        break;
    case SK_FLAG_SINGLE_THREADED:
        snprintf(buf, len, "%d distinct users in the last %d days",
                 s->distinct_users, w);
        break;
    case SK_FLAG_SLOW_RESPONSE:
        if (s->median_response_cur >= 0 && s->median_response_prev >= 0)
            snprintf(buf, len,
                     "median response %.1f h in the last %d days, %.1f h the "
                     "%d before",
                     s->median_response_cur, w, s->median_response_prev, w);
        else
            snprintf(buf, len, "median response %.1f h in the last %d days",
                     s->median_response_cur < 0 ? 0 : s->median_response_cur,
                     w);
        break;
    case SK_FLAG_TACTICAL_ONLY:
        snprintf(buf, len,
                 "%u meetings in the last %d days, %u strategic",
                 s->cur.meetings, w, s->cur.strategic_meetings);
        break;
    default:
        snprintf(buf, len, "?");
        break;
    }
}

/* --- JSON ----------------------------------------------------------- */

static double round_to(double v, double unit)
{
    return round(v / unit) * unit;
}

static json_t *time_json(int64_t ts)
{
    char buf[40];
    sk_format_time(ts, buf, sizeof buf);
    return json_string(buf);
}

char *sk_scores_to_json(const sk_account_t *a, const sk_rules_t *r)
{
    sk_scores_t s;
    sk_scores_compute(a, r, &s);
    json_t *root = json_object();
    json_t *eng = json_object(), *cust = json_object(), *health = json_object();
    json_t *flags = json_array();
    if (!root || !eng || !cust || !health || !flags)
        goto fail;

    json_object_set_new(root, "account", json_string(a->id));
    json_object_set_new(root, "points", json_integer(s.points));
    json_object_set_new(root, "stage", json_integer(s.stage));

    json_object_set_new(eng, "score", json_real(round_to(s.engagement, 0.1)));
    json_object_set_new(eng, "tier", json_string(sk_eng_tier_name(s.eng_tier)));
    json_object_set_new(eng, "frequency", json_real(round_to(s.frequency, 0.1)));
    json_object_set_new(eng, "quality", json_real(round_to(s.quality, 0.1)));
    json_object_set_new(eng, "breadth", json_real(round_to(s.breadth, 0.1)));
    json_object_set_new(eng, "product", json_real(round_to(s.product, 0.1)));
    json_object_set_new(eng, "velocity",
                        s.has_velocity ? json_real(round_to(s.velocity, 0.01))
                                       : json_null());
    json_object_set_new(root, "engagement", eng);
    eng = NULL;

    json_object_set_new(cust, "score", json_real(round_to(s.customer, 0.1)));
    json_object_set_new(cust, "upsell", json_integer((json_int_t)llround(s.upsell)));
    json_object_set_new(cust, "segment", json_string(sk_segment_name(s.segment)));
    json_object_set_new(root, "customer", cust);
    cust = NULL;

    const sk_play_t *play = &r->plays[s.health];
    json_object_set_new(health, "tier", json_string(sk_health_name(s.health)));
    json_object_set_new(health, "play", json_string(play->name));
    json_object_set_new(health, "sla_hours", play->sla_hours >= 0
                                                 ? json_integer(play->sla_hours)
                                                 : json_null());
    json_object_set_new(root, "health", health);
    health = NULL;

    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        if (!(s.flags & (1u << f)))
            continue;
        char reason[256];
        sk_scores_flag_reason(&s, r, (sk_flag_t)f, reason, sizeof reason);
        json_t *o = json_object();
        if (!o)
            goto fail;
        json_object_set_new(o, "id", json_string(sk_flag_name((sk_flag_t)f)));
        json_object_set_new(o, "severity",
                            json_string(sk_severity_name(r->flags[f].severity)));
        int64_t since = (a->reported.flags & (1u << f))
                            ? a->reported.flag_since[f]
                            : a->clock_ms;
        json_object_set_new(o, "since", time_json(since));
        json_object_set_new(o, "reason", json_string(reason));
        json_array_append_new(flags, o);
    }
    json_object_set_new(root, "flags", flags);
    flags = NULL;

    char *text = json_dumps(root, JSON_REAL_PRECISION(12));
    json_decref(root);
    return text;
fail:
    json_decref(root);
    json_decref(eng);
    json_decref(cust);
    json_decref(health);
    json_decref(flags);
    return NULL;
}

/* --- explanation ---------------------------------------------------- */

typedef struct text {
    char *buf;
    size_t len, cap;
    bool failed;
} text_t;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(text_t *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

static double share(double part, double total)
{
    return total != 0 ? part / total * 100 : 0;
}

static void explain_count(text_t *t, const char *name,
                          const sk_count_rule_t *rule, uint32_t count,
                          double total)
{
    double pts = count_points(rule, count);
    if (rule->per > 1)
        put(t, "    %-20s count %4u  points %5.1f (%.0f per %.0f)  cap %5.1f  "
               "share %3.0f%%\n",
            name, count, pts, rule->each, rule->per, rule->max,
            share(pts, total));
    else
        put(t, "    %-20s count %4u  points %5.1f (%.0f each)  cap %5.1f  "
               "share %3.0f%%\n",
            name, count, pts, rule->each, rule->max, share(pts, total));
}

char *sk_scores_explain(const sk_account_t *a, const sk_rules_t *r)
{
    sk_scores_t s;
    sk_scores_compute(a, r, &s);
    text_t t = {0};
    char now[40];
    sk_format_time(a->clock_ms, now, sizeof now);
    const sk_engagement_rules_t *E = &r->engagement;
    const sk_customer_rules_t *C = &r->customer;
    const int w = r->window_days;

    put(&t, "account %s at %s (rules %s)\n\n", a->id, now, r->version);

    /* Points. */
    put(&t, "points %lld, stage %lld", (long long)s.points, (long long)s.stage);
    for (int i = 0; i < r->n_stages; i++) {
        if (r->stages[i] > s.points) {
            put(&t, " (next stage %lld in %lld points)",
                (long long)r->stages[i], (long long)(r->stages[i] - s.points));
            break;
        }
    }
    put(&t, "\n  lifetime points by event type:\n");
    for (int e = 0; e < SK_EV__COUNT; e++)
        if (a->points_by_type[e])
            put(&t, "    %-20s points %+6lld  share %3.0f%%\n",
                sk_event_type_name((sk_event_type_t)e),
                (long long)a->points_by_type[e],
                share((double)a->points_by_type[e], (double)s.points));

    /* Engagement. */
    put(&t,
        "\nengagement %.1f (%s) = %.2f x frequency %.1f + %.2f x quality %.1f "
        "+ %.2f x breadth %.1f + %.2f x product %.1f\n",
        s.engagement, sk_eng_tier_name(s.eng_tier), E->w_frequency,
        s.frequency, E->w_quality, s.quality, E->w_breadth, s.breadth,
        E->w_product, s.product);
    double freq_pts = s.frequency * E->frequency_max / 100;
    put(&t, "  frequency %.1f = %.1f of %.0f capped points, last %d days\n",
        s.frequency, freq_pts, E->frequency_max, w);
    explain_count(&t, "meeting_attended", &E->meeting, s.cur.meetings, freq_pts);
    explain_count(&t, "email_exchange", &E->email, s.cur.emails, freq_pts);
    explain_count(&t, "login", &E->login, s.cur.logins, freq_pts);
    explain_count(&t, "support_ticket", &E->ticket, s.cur.tickets, freq_pts);
    explain_count(&t, "training", &E->training, s.cur.trainings, freq_pts);
    if (s.quality_neutral) {
        put(&t, "  quality %.1f: no outreach and no meetings in the last %d "
                "days, neutral default\n",
            s.quality, w);
    } else {
        put(&t, "  quality %.1f = mean of:\n", s.quality);
        if (s.cur.outreach)
            put(&t, "    response rate band %.0f (%u responses to %u "
                    "outreach: %.0f%%)\n",
                response_band(r, 100.0 * s.cur.responses / s.cur.outreach),
                s.cur.responses, s.cur.outreach,
                100.0 * s.cur.responses / s.cur.outreach);
        if (s.cur.meetings)
            put(&t, "    meeting quality %.1f (average of %u meetings)\n",
                (double)s.cur.meeting_quality / s.cur.meetings, s.cur.meetings);
    }
    double br_pts = s.breadth * E->breadth_max / 100;
    put(&t, "  breadth %.1f = %.1f of %.0f points\n", s.breadth, br_pts,
        E->breadth_max);
    double exec_pts = s.executive_sponsor ? E->br_executive : 0;
    put(&t, "    %-20s count %4d  points %5.1f  cap %5.1f  share %3.0f%%\n",
        "executive sponsor", s.executive_sponsor, exec_pts, E->br_executive,
        share(exec_pts, br_pts));
    explain_count(&t, "champions", &E->br_champion, (uint32_t)s.champions,
                  br_pts);
    explain_count(&t, "power users", &E->br_power_user, (uint32_t)s.power_users,
                  br_pts);
    double dept_pts =
        s.departments >= E->br_departments_min ? E->br_departments : 0;
    put(&t, "    %-20s count %4d  points %5.1f (at %d+)  share %3.0f%%\n",
        "departments", s.departments, dept_pts, E->br_departments_min,
        share(dept_pts, br_pts));
    put(&t, "  product %.1f = weighted share of %d catalogue features, %d "
            "used in the last %d days\n",
        s.product, E->n_features, s.features_used, w);
    if (s.has_velocity)
        put(&t, "  velocity %+.2f (%u frequency events in the last %d days, "
                "%u the %d before)\n",
            s.velocity, frequency_events(&s.cur), w, frequency_events(&s.prev),
            w);
    else
        put(&t, "  velocity none (no frequency events in the %d days before "
                "the window)\n",
            w);

    /* Customer. */
    double weeks = s.cur.active_weeks * C->active_week;
    double pay = (int)s.cur.payment_failed >= C->payment_failures_min
                     ? C->payment_failures
                     : 0;
    double nologin =
        (s.flags & (1u << SK_FLAG_NO_LOGIN_30D)) ? C->no_login : 0;
    double raw = C->base + s.cur.customer_points + weeks + pay + nologin;
    put(&t, "\ncustomer %.1f (segment %s), clamped to %.0f..%.0f from %.1f:\n",
        s.customer, sk_segment_name(s.segment), C->min, C->max, raw);
    put(&t, "    %-20s points %+6.1f  share %3.0f%%\n", "base", C->base,
        share(C->base, raw));
    put(&t, "    %-20s points %+6.1f  share %3.0f%%  (%d weeks x %.0f)\n",
        "active weeks", weeks, share(weeks, raw), s.cur.active_weeks,
        C->active_week);
    put(&t, "    %-20s points %+6.1f  share %3.0f%%\n", "event points",
        s.cur.customer_points, share(s.cur.customer_points, raw));
    put(&t, "    %-20s points %+6.1f  share %3.0f%%  (%u in the window)\n",
        "payment failures", pay, share(pay, raw), s.cur.payment_failed);
    put(&t, "    %-20s points %+6.1f  share %3.0f%%\n", "no login 30 days",
        nologin, share(nologin, raw));
    put(&t, "  upsell %.0f (not added to the customer score)\n", s.upsell);

    /* Health and flags. */
    const sk_play_t *play = &r->plays[s.health];
    put(&t, "\nhealth %s: play %s", sk_health_name(s.health), play->name);
    if (play->sla_hours >= 0)
        put(&t, ", SLA %d h\n", play->sla_hours);
    else
        put(&t, ", no SLA\n");
    int raised = 0;
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        if (!(s.flags & (1u << f)))
            continue;
        char reason[256];
        sk_scores_flag_reason(&s, r, (sk_flag_t)f, reason, sizeof reason);
        put(&t, "  flag %-20s %-6s %s\n", sk_flag_name((sk_flag_t)f),
            sk_severity_name(r->flags[f].severity), reason);
        raised++;
    }
    if (!raised)
        put(&t, "  no flags raised\n");

    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
