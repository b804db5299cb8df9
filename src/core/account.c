/*
 * account.c - one account's state: counting events into it, moving it
 * through time, and reporting what changed as alerts.
 *
 * DESIGN
 * Events are counted into daily buckets (ascending by day, at most two
 * windows of them) and into a few bounded sets and lists; scores are
 * never stored, only recomputed from those (scores.c), so an account can
 * be evaluated at any later moment and the rules can change between two
 * evaluations.
 *
 * Time only moves forward.  An account's clock is the latest event time
 * or evaluation it has seen.  Before an event from a later day is
 * counted, the account is evaluated at each midnight on the way at which
 * something can change (sk_account_next_due_ms() finds them: a bucket,
 * login or sample leaving a window, the loyalty timer running out).  Days
 * at which nothing can change are skipped, which gives the same alerts as
 * visiting every midnight, at the cost of the days that matter only.
 *
 * After every event and every such midnight the scores are compared with
 * what was last reported, and each difference becomes one alert with a
 * deterministic id.  A late event (from a day before the clock) lands in
 * its own day and the account is re-evaluated at its clock.
 *
 * Memory: the account owns its day buckets, id ring, bounded sets and
 * lists, and positions (each with its topic string), all on the heap and
 * grown on demand, never past their SK_ACCOUNT_* capacity.  Before an
 * event is counted, reserve_event() makes room for every entry it can
 * add, so counting itself never allocates and an out-of-memory error
 * leaves the sets as they were.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorekeeper/account.h"
#include "scorekeeper/scores.h"

/* --- small helpers -------------------------------------------------- */

static void inc16(uint16_t *counter)
{
    if (*counter < UINT16_MAX)
        (*counter)++;
}

static int32_t clock_day(const sk_account_t *a)
{
    return sk_day_of(a->clock_ms);
}

/* First day of the current window and of the span the buckets keep. */
static int32_t window_start(const sk_account_t *a, const sk_rules_t *r)
{
    return clock_day(a) - r->window_days + 1;
}

static int32_t kept_start(const sk_account_t *a, const sk_rules_t *r)
{
    return clock_day(a) - 2 * r->window_days + 1;
}

/* --- heap arrays ---------------------------------------------------- */

/* First capacity of a bounded set's array; it doubles from there. */
#define SET_FIRST_CAP 2

/* The capacity a set's array of @p cap entries, @p n of them used, must
 * grow to so that @p more entries fit, never beyond @p max; 0 if they
 * already fit. */
static int set_grow_cap(int n, int cap, int more, int max)
{
    int need = n + more < max ? n + more : max;
    if (need <= cap)
        return 0;
    int grown = cap > 0 ? cap : SET_FIRST_CAP;
    while (grown < need)
        grown *= 2;
    return grown < max ? grown : max;
}

/* A copy of the @p n entries of @p size bytes at @p src, or NULL when @p n
 * is 0 or out of memory. */
static void *dup_entries(const void *src, int n, size_t size)
{
    if (n <= 0)
        return NULL;
    void *copy = malloc((size_t)n * size);
    if (copy)
        memcpy(copy, src, (size_t)n * size);
    return copy;
}

/* Grow the timestamp list *@p list (capacity *@p cap, @p n used) for one
 * more entry, within @p max.  @returns SK_OK or SK_ERR (out of memory;
 * the list is then unchanged). */
static int reserve_ts(int64_t **list, int n, int *cap, int max)
{
    int grown = set_grow_cap(n, *cap, 1, max);
    if (grown == 0)
        return SK_OK;
    int64_t *v = realloc(*list, (size_t)grown * sizeof *v);
    if (!v)
        return SK_ERR;
    *list = v;
    *cap = grown;
    return SK_OK;
}

/* --- day buckets ---------------------------------------------------- */

/* The bucket of @p day, created in order if absent; NULL if out of memory. */
static sk_day_bucket_t *bucket_for(sk_account_t *a, int32_t day)
{
    int i = a->n_days;
    while (i > 0 && a->days[i - 1].day > day)
        i--;
    if (i > 0 && a->days[i - 1].day == day)
        return &a->days[i - 1];
    if (a->n_days == a->cap_days) {
        int cap = a->cap_days ? a->cap_days * 2 : 8;
        sk_day_bucket_t *grown = realloc(a->days, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        a->days = grown;
        a->cap_days = cap;
    }
    memmove(&a->days[i + 1], &a->days[i],
            (size_t)(a->n_days - i) * sizeof a->days[0]);
    memset(&a->days[i], 0, sizeof a->days[i]);
    a->days[i].day = day;
    a->n_days++;
    return &a->days[i];
}

/* Drop what no window can see any more: buckets and samples older than
 * two windows, cancels and outreach older than one. */
static void prune(sk_account_t *a, const sk_rules_t *r)
{
    int32_t kept = kept_start(a, r), win = window_start(a, r);
    int drop = 0;
    while (drop < a->n_days && a->days[drop].day < kept)
        drop++;
    if (drop) {
        memmove(a->days, a->days + drop,
                (size_t)(a->n_days - drop) * sizeof a->days[0]);
        a->n_days -= drop;
    }
    drop = 0;
    while (drop < a->n_responses && a->responses[drop].day < kept)
        drop++;
    if (drop) {
        memmove(a->responses, a->responses + drop,
                (size_t)(a->n_responses - drop) * sizeof a->responses[0]);
        a->n_responses -= drop;
    }
    int n = 0;
    for (int i = 0; i < a->n_open_cancels; i++)
        if (sk_day_of(a->open_cancels[i]) >= win)
            a->open_cancels[n++] = a->open_cancels[i];
    a->n_open_cancels = n;
    n = 0;
    for (int i = 0; i < a->n_outreach; i++)
        if (sk_day_of(a->outreach[i]) >= win)
            a->outreach[n++] = a->outreach[i];
    a->n_outreach = n;
}

/* --- bounded sets --------------------------------------------------- */

/* Insert @p ts into an ascending list of capacity @p cap, dropping the
 * oldest entry when full.  The list has room (reserve_event()). */
static void list_insert_ts(int64_t *list, int *n, int cap, int64_t ts)
{
    if (*n == cap) {
        if (ts < list[0])
            return;
        memmove(list, list + 1, (size_t)(cap - 1) * sizeof *list);
        (*n)--;
    }
    int i = *n;
    while (i > 0 && list[i - 1] > ts) {
        list[i] = list[i - 1];
        i--;
    }
    list[i] = ts;
    (*n)++;
}

/* Record that a person of @p kind named by @p hash was seen on @p day.
 * Each kind keeps at most SK_ACCOUNT_MAX_PEOPLE / SK_PERSON__COUNT
 * entries, so a crowd of users never pushes out the champions; when a
 * kind is full, its entry seen longest ago makes room.  The rules count
 * people in the current window up to small thresholds (2 users, 3
 * champions, 5 power users, 3 departments), which the most recent cover.
 * The set has room for a new entry (reserve_event()). */
static void person_touch(sk_account_t *a, sk_person_kind_t kind,
                         uint64_t hash, int32_t day)
{
    int oldest = -1, of_kind = 0;
    for (int i = 0; i < a->n_people; i++) {
        sk_person_t *p = &a->people[i];
        if (p->kind != kind)
            continue;
        if (p->hash == hash) {
            if (day > p->last_day)
                p->last_day = day;
            return;
        }
        of_kind++;
        if (oldest < 0 || p->last_day < a->people[oldest].last_day)
            oldest = i;
    }
    sk_person_t *slot;
    if (of_kind < SK_ACCOUNT_MAX_PEOPLE / SK_PERSON__COUNT &&
        a->n_people < SK_ACCOUNT_MAX_PEOPLE) {
        slot = &a->people[a->n_people++];
    } else {
        if (oldest < 0 || a->people[oldest].last_day > day)
            return;
        slot = &a->people[oldest];
    }
    slot->kind = (uint8_t)kind;
    slot->hash = hash;
    slot->last_day = day;
}

static uint64_t hash_str(const char *s)
{
    return sk_hash64(s, strlen(s), SK_HASH_SEED);
}

/* The bucket of @p day if the account has one, else NULL. */
static sk_day_bucket_t *bucket_find(sk_account_t *a, int32_t day)
{
    for (int i = a->n_days - 1; i >= 0 && a->days[i].day >= day; i--)
        if (a->days[i].day == day)
            return &a->days[i];
    return NULL;
}

/* Record a feature use.  The first use ever earns customer points in its
 * day's bucket; a late event from before the recorded first use moves
 * them to its own day, so "first" goes by event time, not arrival.
 * When the set is full, a catalogue feature replaces the entry used
 * longest ago that is not in the catalogue; other features go untracked
 * (and earn no first-use points), so the catalogue is always exact.
 * The set has room for a new entry (reserve_event()). */
static void feature_touch(sk_account_t *a, const sk_rules_t *r,
                          const char *key, int32_t day, sk_day_bucket_t *b)
{
    uint64_t h = hash_str(key);
    for (int i = 0; i < a->n_features; i++) {
        sk_feature_use_t *f = &a->features[i];
        if (f->hash != h)
            continue;
        if (day > f->last_day)
            f->last_day = day;
        if (day < f->first_day) {
            sk_day_bucket_t *old = bucket_find(a, f->first_day);
            if (old)
                old->customer_points -= r->customer.first_feature;
            b->customer_points += r->customer.first_feature;
            f->first_day = day;
        }
        return;
    }
    sk_feature_use_t *slot = NULL;
    if (a->n_features < SK_ACCOUNT_MAX_FEATURES) {
        slot = &a->features[a->n_features++];
    } else if (sk_rules_feature_index(r, key) >= 0) {
        for (int i = 0; i < a->n_features; i++) {
            bool in_catalogue = false;
            for (int f = 0; f < r->engagement.n_features && !in_catalogue; f++)
                in_catalogue =
                    r->engagement.features[f].key_hash == a->features[i].hash;
            if (!in_catalogue &&
                (!slot || a->features[i].last_day < slot->last_day))
                slot = &a->features[i];
        }
    }
    if (!slot)
        return;
    slot->hash = h;
    slot->last_day = day;
    slot->first_day = day;
    b->customer_points += r->customer.first_feature;
}

/* The first api_call ever is an upsell pattern of its day; as for
 * features, an earlier late one takes it over. */
static void api_call_touch(sk_account_t *a, int32_t day, sk_day_bucket_t *b)
{
    if (!a->api_call_seen) {
        a->api_call_seen = true;
        a->first_api_call_day = day;
        b->upsell |= SK_UPSELL_FIRST_API_CALL;
    } else if (a->first_api_call_day != SK_ACCOUNT_NO_DAY &&
               day < a->first_api_call_day) {
        sk_day_bucket_t *old = bucket_find(a, a->first_api_call_day);
        if (old)
            old->upsell &= (uint8_t)~SK_UPSELL_FIRST_API_CALL;
        b->upsell |= SK_UPSELL_FIRST_API_CALL;
        a->first_api_call_day = day;
    }
}

/* Record the month of a login.  @returns true if it is the month's first.
 * The list has room for a new month (reserve_event()). */
static bool login_month_touch(sk_account_t *a, int32_t month)
{
    int i = a->n_login_months;
    while (i > 0 && a->login_months[i - 1] > month)
        i--;
    if (i > 0 && a->login_months[i - 1] == month)
        return false;
    if (a->n_login_months == SK_ACCOUNT_MAX_MONTHS) {
        /* Older than every remembered month: assume already credited. */
        if (i == 0)
            return false;
        memmove(a->login_months, a->login_months + 1,
                (size_t)(i - 1) * sizeof a->login_months[0]);
        a->login_months[i - 1] = month;
        return true;
    }
    memmove(&a->login_months[i + 1], &a->login_months[i],
            (size_t)(a->n_login_months - i) * sizeof a->login_months[0]);
    a->login_months[i] = month;
    a->n_login_months++;
    return true;
}

/* --- room for one event --------------------------------------------- */

static bool person_known(const sk_account_t *a, sk_person_kind_t kind,
                         uint64_t hash)
{
    for (int i = 0; i < a->n_people; i++)
        if (a->people[i].kind == kind && a->people[i].hash == hash)
            return true;
    return false;
}

static bool feature_known(const sk_account_t *a, uint64_t hash)
{
    for (int i = 0; i < a->n_features; i++)
        if (a->features[i].hash == hash)
            return true;
    return false;
}

static bool login_month_known(const sk_account_t *a, int32_t month)
{
    for (int i = 0; i < a->n_login_months; i++)
        if (a->login_months[i] == month)
            return true;
    return false;
}

/* The kind a role adds to the people set, or SK_PERSON__COUNT if none. */
static sk_person_kind_t role_kind(sk_role_t role)
{
    switch (role) {
    case SK_ROLE_EXECUTIVE:
        return SK_PERSON_EXECUTIVE;
    case SK_ROLE_CHAMPION:
        return SK_PERSON_CHAMPION;
    case SK_ROLE_POWER_USER:
        return SK_PERSON_POWER_USER;
    default:
        return SK_PERSON__COUNT;
    }
}

/* How many entries counting @p ev can add to the people set. */
static int people_added(const sk_account_t *a, const sk_event_t *ev)
{
    int n = 0;
    if (ev->user[0]) {
        uint64_t h = hash_str(ev->user);
        sk_person_kind_t kind = role_kind(ev->role);
        n += !person_known(a, SK_PERSON_USER, h);
        if (kind != SK_PERSON__COUNT)
            n += !person_known(a, kind, h);
    }
    if (ev->dept[0])
        n += !person_known(a, SK_PERSON_DEPARTMENT, hash_str(ev->dept));
    return n;
}

/* Grow the sets and lists that counting @p ev can add to, so that
 * count_event() finds room and never allocates.  @returns SK_OK or
 * SK_ERR (out of memory; the entries are then unchanged). */
static int reserve_event(sk_account_t *a, const sk_event_t *ev)
{
    int cap = set_grow_cap(a->n_people, a->cap_people, people_added(a, ev),
                           SK_ACCOUNT_MAX_PEOPLE);
    if (cap > 0) {
        sk_person_t *v = realloc(a->people, (size_t)cap * sizeof *v);
        if (!v)
            return SK_ERR;
        a->people = v;
        a->cap_people = cap;
    }
    switch (ev->type) {
    case SK_EV_LOGIN: {
        if (login_month_known(a, sk_month_of(sk_day_of(ev->ts_ms))))
            return SK_OK;
        cap = set_grow_cap(a->n_login_months, a->cap_login_months, 1,
                           SK_ACCOUNT_MAX_MONTHS);
        if (cap == 0)
            return SK_OK;
        int32_t *v = realloc(a->login_months, (size_t)cap * sizeof *v);
        if (!v)
            return SK_ERR;
        a->login_months = v;
        a->cap_login_months = cap;
        return SK_OK;
    }
    case SK_EV_FEATURE_USED: {
        if (feature_known(a, hash_str(ev->label)))
            return SK_OK;
        cap = set_grow_cap(a->n_features, a->cap_features, 1,
                           SK_ACCOUNT_MAX_FEATURES);
        if (cap == 0)
            return SK_OK;
        sk_feature_use_t *v = realloc(a->features, (size_t)cap * sizeof *v);
        if (!v)
            return SK_ERR;
        a->features = v;
        a->cap_features = cap;
        return SK_OK;
    }
    case SK_EV_MEETING_CANCELED:
        return reserve_ts(&a->open_cancels, a->n_open_cancels,
                          &a->cap_open_cancels, SK_ACCOUNT_MAX_CANCELS);
    case SK_EV_CSM_OUTREACH:
        return reserve_ts(&a->outreach, a->n_outreach, &a->cap_outreach,
                          SK_ACCOUNT_MAX_OUTREACH);
    case SK_EV_CUSTOMER_RESPONSE: {
        if (!ev->has_value)
            return SK_OK;
        cap = set_grow_cap(a->n_responses, a->cap_responses, 1,
                           SK_ACCOUNT_MAX_RESPONSES);
        if (cap == 0)
            return SK_OK;
        sk_response_sample_t *v =
            realloc(a->responses, (size_t)cap * sizeof *v);
        if (!v)
            return SK_ERR;
        a->responses = v;
        a->cap_responses = cap;
        return SK_OK;
    }
    default:
        return SK_OK;
    }
}

/* --- duplicate ids -------------------------------------------------- */

/* The id ring starts small and doubles while full, up to the rules'
 * dedup_max_ids: most accounts see few events within the horizon. */
static int grow_seen(sk_account_t *a, const sk_rules_t *r)
{
    int cap = a->cap_seen ? a->cap_seen * 2 : 8;
    if (cap > r->dedup_max_ids)
        cap = r->dedup_max_ids;
    if (cap <= a->cap_seen)
        return SK_OK;
    sk_seen_id_t *grown = malloc((size_t)cap * sizeof *grown);
    if (!grown)
        return SK_ERR;
    /* Unroll the ring, oldest first. */
    int start = a->n_seen == a->cap_seen ? a->seen_next : 0;
    for (int i = 0; i < a->n_seen; i++)
        grown[i] = a->seen[(start + i) % a->cap_seen];
    free(a->seen);
    a->seen = grown;
    a->seen_next = a->n_seen;
    a->cap_seen = cap;
    return SK_OK;
}

static bool seen_before(const sk_account_t *a, const sk_rules_t *r,
                        uint64_t h, int64_t ts)
{
    int64_t horizon = (int64_t)r->dedup_horizon_days * SK_DAY_MS;
    for (int i = 0; i < a->n_seen; i++)
        if (a->seen[i].hash == h && llabs(a->seen[i].ts_ms - ts) <= horizon)
            return true;
    return false;
}

static int remember_id(sk_account_t *a, const sk_rules_t *r, uint64_t h,
                       int64_t ts)
{
    if (a->n_seen == a->cap_seen && grow_seen(a, r) != SK_OK)
        return SK_ERR;
    if (a->cap_seen == 0)
        return SK_OK;
    a->seen[a->seen_next].hash = h;
    a->seen[a->seen_next].ts_ms = ts;
    a->seen_next = (a->seen_next + 1) % a->cap_seen;
    if (a->n_seen < a->cap_seen)
        a->n_seen++;
    return SK_OK;
}

/* --- reporting ------------------------------------------------------ */

static sk_severity_t health_severity(sk_health_t h)
{
    return h == SK_HEALTH_AT_RISK ? SK_SEVERITY_RED
           : h == SK_HEALTH_WATCH ? SK_SEVERITY_YELLOW
                                  : SK_SEVERITY_INFO;
}

/* Why the health tier is what it is, for the health_changed alert. */
static void health_reason(const sk_scores_t *s, const sk_rules_t *r,
                          char *buf, size_t len)
{
    char flags[160] = "";
    size_t used = 0;
    sk_severity_t want =
        s->health == SK_HEALTH_AT_RISK ? SK_SEVERITY_RED : SK_SEVERITY_YELLOW;
    for (int f = 0; f < SK_FLAG__COUNT; f++) {
        if (!(s->flags & (1u << f)) || r->flags[f].severity != want)
            continue;
        int w = snprintf(flags + used, sizeof flags - used, "%s%s",
                         used ? ", " : "", sk_flag_name((sk_flag_t)f));
        if (w < 0 || (size_t)w >= sizeof flags - used)
            break;
        used += (size_t)w;
    }
    switch (s->health) {
    case SK_HEALTH_AT_RISK:
        if (used)
            snprintf(buf, len, "red flags: %s", flags);
        else
            snprintf(buf, len, "customer score %.1f is in segment risk",
                     s->customer);
        break;
    case SK_HEALTH_WATCH:
        if (used)
            snprintf(buf, len, "yellow flags: %s", flags);
        else if (s->eng_tier == SK_TIER_RED)
            snprintf(buf, len, "engagement %.1f is red", s->engagement);
        else
            snprintf(buf, len, "customer score %.1f is in segment at_risk",
                     s->customer);
        break;
    case SK_HEALTH_GROWTH:
        snprintf(buf, len, "segment %s with engagement %s (%.1f)",
                 sk_segment_name(s->segment), sk_eng_tier_name(s->eng_tier),
                 s->engagement);
        break;
    default:
        snprintf(buf, len,
                 "no flags, engagement %s (%.1f), customer score %.1f",
                 sk_eng_tier_name(s->eng_tier), s->engagement, s->customer);
        break;
    }
}

static sk_alert_t *new_alert(sk_alerts_t *out, const sk_account_t *a,
                             const sk_rules_t *r, const sk_scores_t *s,
                             sk_alert_kind_t kind, int64_t ts,
                             const char *event_id)
{
    sk_alert_t *al = sk_alerts_push(out);
    if (!al)
        return NULL;
    al->kind = kind;
    al->flag = -1;
    sk_copy_str(al->account, sizeof al->account, a->id);
    al->ts_ms = ts;
    sk_copy_str(al->event_id, sizeof al->event_id, event_id);
    sk_copy_str(al->rules_version, sizeof al->rules_version, r->version);
    al->points = s->points;
    al->stage = s->stage;
    al->engagement = s->engagement;
    al->customer = s->customer;
    al->eng_tier = s->eng_tier;
    al->segment = s->segment;
    al->health = s->health;
    sk_copy_str(al->play, sizeof al->play, r->plays[s->health].name);
    al->sla_hours = r->plays[s->health].sla_hours;
    return al;
}

/* Compare the scores with what was last reported, append one alert per
 * difference, and remember the new values.  Also runs the loyalty timer,
 * which needs to see the customer score after every change. */
static int report(sk_account_t *a, const sk_rules_t *r, int64_t ts,
                  const char *event_id, sk_alerts_t *out)
{
    sk_scores_t s;
    sk_scores_compute(a, r, &s);

    if (s.customer >= r->customer.loyal_min_score) {
        if (a->high_since_ms == INT64_MIN)
            a->high_since_ms = ts;
    } else {
        a->high_since_ms = INT64_MIN;
    }

    sk_reported_t *rep = &a->reported;
    sk_alert_t *al;

    if (s.stage != rep->stage) {
        if (!(al = new_alert(out, a, r, &s, SK_ALERT_STAGE_CROSSED, ts,
                             event_id)))
            return SK_ERR;
        snprintf(al->from, sizeof al->from, "%lld", (long long)rep->stage);
        snprintf(al->to, sizeof al->to, "%lld", (long long)s.stage);
        al->severity = s.stage > rep->stage ? SK_SEVERITY_INFO
                                            : SK_SEVERITY_YELLOW;
        snprintf(al->reason, sizeof al->reason,
                 "points %lld %s stage %lld (was stage %lld)",
                 (long long)s.points,
                 s.stage > rep->stage ? "reached" : "fell back to",
                 (long long)s.stage, (long long)rep->stage);
        sk_alert_make_id(al);
        rep->stage = s.stage;
    }

    /* Clears first, then raises, each in flag order. */
    for (int pass = 0; pass < 2; pass++) {
        for (int f = 0; f < SK_FLAG__COUNT; f++) {
            uint32_t bit = 1u << f;
            bool was = rep->flags & bit, now = s.flags & bit;
            if (was == now || now != (pass == 1))
                continue;
            sk_alert_kind_t kind =
                now ? SK_ALERT_FLAG_RAISED : SK_ALERT_FLAG_CLEARED;
            if (!(al = new_alert(out, a, r, &s, kind, ts, event_id)))
                return SK_ERR;
            al->flag = f;
            sk_copy_str(al->from, sizeof al->from, now ? "clear" : "raised");
            sk_copy_str(al->to, sizeof al->to, now ? "raised" : "clear");
            al->severity = now ? r->flags[f].severity : SK_SEVERITY_INFO;
            char evidence[200];
            sk_scores_flag_reason(&s, r, (sk_flag_t)f, evidence,
                                  sizeof evidence);
            snprintf(al->reason, sizeof al->reason, "%s %s: %s",
                     sk_flag_name((sk_flag_t)f), now ? "raised" : "cleared",
                     evidence);
            sk_alert_make_id(al);
            if (now) {
                rep->flags |= bit;
                rep->flag_since[f] = ts;
            } else {
                rep->flags &= ~bit;
                rep->flag_since[f] = 0;
            }
        }
    }

    if (s.eng_tier != rep->eng_tier) {
        if (!(al = new_alert(out, a, r, &s, SK_ALERT_ENGAGEMENT_TIER_CHANGED,
                             ts, event_id)))
            return SK_ERR;
        sk_eng_tier_t from = (sk_eng_tier_t)rep->eng_tier;
        sk_copy_str(al->from, sizeof al->from, sk_eng_tier_name(from));
        sk_copy_str(al->to, sizeof al->to, sk_eng_tier_name(s.eng_tier));
        al->severity = s.eng_tier == SK_TIER_RED      ? SK_SEVERITY_RED
                       : s.eng_tier == SK_TIER_ORANGE ? SK_SEVERITY_YELLOW
                                                      : SK_SEVERITY_INFO;
        snprintf(al->reason, sizeof al->reason,
                 "engagement %.1f %s from %s to %s (frequency %.1f, quality "
                 "%.1f, breadth %.1f, product %.1f)",
                 s.engagement, s.eng_tier > from ? "fell" : "rose",
                 sk_eng_tier_name(from), sk_eng_tier_name(s.eng_tier),
                 s.frequency, s.quality, s.breadth, s.product);
        sk_alert_make_id(al);
        rep->eng_tier = (uint8_t)s.eng_tier;
    }

    if (s.segment != rep->segment) {
        if (!(al = new_alert(out, a, r, &s, SK_ALERT_SEGMENT_CHANGED, ts,
                             event_id)))
            return SK_ERR;
        sk_segment_t from = (sk_segment_t)rep->segment;
        sk_copy_str(al->from, sizeof al->from, sk_segment_name(from));
        sk_copy_str(al->to, sizeof al->to, sk_segment_name(s.segment));
        al->severity = s.segment == SK_SEGMENT_RISK      ? SK_SEVERITY_RED
                       : s.segment == SK_SEGMENT_AT_RISK ? SK_SEVERITY_YELLOW
                                                         : SK_SEVERITY_INFO;
        snprintf(al->reason, sizeof al->reason,
                 "customer score %.1f, upsell %.0f: segment %s to %s",
                 s.customer, s.upsell, sk_segment_name(from),
                 sk_segment_name(s.segment));
        sk_alert_make_id(al);
        rep->segment = (uint8_t)s.segment;
    }

    if (s.health != rep->health) {
        if (!(al = new_alert(out, a, r, &s, SK_ALERT_HEALTH_CHANGED, ts,
                             event_id)))
            return SK_ERR;
        sk_health_t from = (sk_health_t)rep->health;
        sk_copy_str(al->from, sizeof al->from, sk_health_name(from));
        sk_copy_str(al->to, sizeof al->to, sk_health_name(s.health));
        al->severity = health_severity(s.health);
        health_reason(&s, r, al->reason, sizeof al->reason);
        sk_alert_make_id(al);
        rep->health = (uint8_t)s.health;
    }
    return SK_OK;
}

/* --- moving through time -------------------------------------------- */

/* Evaluate at every midnight after the clock, up to @p target_ms, at
 * which something can change; then set the clock to @p target_ms. */
static int advance(sk_account_t *a, const sk_rules_t *r, int64_t target_ms,
                   sk_alerts_t *out)
{
    if (target_ms <= a->clock_ms)
        return SK_OK;
    /* Most events come on the clock's own day: no midnight to visit. */
    if (sk_day_of(target_ms) == clock_day(a)) {
        a->clock_ms = target_ms;
        return SK_OK;
    }
    for (;;) {
        int64_t due = sk_account_next_due_ms(a, r);
        if (due > target_ms)
            break;
        a->clock_ms = due;
        prune(a, r);
        if (report(a, r, due, "", out) != SK_OK)
            return SK_ERR;
    }
    a->clock_ms = target_ms;
    prune(a, r);
    return SK_OK;
}

int sk_account_evaluate(sk_account_t *acct, const sk_rules_t *rules,
                        int64_t now_ms, sk_alerts_t *out)
{
    return advance(acct, rules, now_ms, out);
}

static void consider(int32_t *best, int32_t after, int32_t day)
{
    if (day > after && day < *best)
        *best = day;
}

int64_t sk_account_next_due_ms(const sk_account_t *a, const sk_rules_t *r)
{
    const int32_t today = clock_day(a), w = r->window_days;
    int32_t best = INT32_MAX;
    for (int i = 0; i < a->n_days; i++) {
        consider(&best, today, a->days[i].day + w);
        consider(&best, today, a->days[i].day + 2 * w);
    }
    for (int i = 0; i < a->n_responses; i++) {
        consider(&best, today, a->responses[i].day + w);
        consider(&best, today, a->responses[i].day + 2 * w);
    }
    for (int i = 0; i < a->n_open_cancels; i++)
        consider(&best, today, sk_day_of(a->open_cancels[i]) + w);
    for (int i = 0; i < a->n_outreach; i++)
        consider(&best, today, sk_day_of(a->outreach[i]) + w);
    for (int i = 0; i < a->n_people; i++)
        consider(&best, today, a->people[i].last_day + w);
    for (int i = 0; i < a->n_features; i++)
        consider(&best, today, a->features[i].last_day + w);
    if (a->last_login_day != SK_ACCOUNT_NO_DAY)
        consider(&best, today, a->last_login_day + w);
    if (a->last_nps_ms != INT64_MIN)
        consider(&best, today, sk_day_of(a->last_nps_ms) + w);
    if (a->high_since_ms != INT64_MIN)
        consider(&best, today,
                 sk_add_months(sk_day_of(a->high_since_ms),
                               r->customer.loyal_months));
    return best == INT32_MAX ? INT64_MAX : sk_midnight_ms(best);
}

/* --- counting one event --------------------------------------------- */

static double usage_points(const sk_rules_t *r, double minutes)
{
    double pts = 0, best = -1;
    for (int i = 0; i < r->points.n_usage; i++)
        if (minutes >= r->points.usage[i].min && r->points.usage[i].min > best) {
            best = r->points.usage[i].min;
            pts = r->points.usage[i].points;
        }
    return pts;
}

static double feedback_points(const sk_rules_t *r, const char *label)
{
    if (strcmp(label, "very_happy") == 0)
        return r->points.feedback_very_happy;
    if (strcmp(label, "happy") == 0)
        return r->points.feedback_happy;
    if (strcmp(label, "neutral") == 0)
        return r->points.feedback_neutral;
    if (strcmp(label, "not_happy") == 0)
        return r->points.feedback_not_happy;
    return 0;
}

static unsigned meeting_quality(const sk_rules_t *r, unsigned attrs)
{
    double q = 0;
    if (attrs & SK_ATTR_ON_TIME)
        q += r->engagement.mq_on_time;
    if (attrs & SK_ATTR_ACTIVE)
        q += r->engagement.mq_active;
    if (attrs & SK_ATTR_EXECUTIVE)
        q += r->engagement.mq_executive;
    if (attrs & SK_ATTR_FOLLOW_THROUGH)
        q += r->engagement.mq_follow_through;
    if (attrs & SK_ATTR_STRATEGIC)
        q += r->engagement.mq_strategic;
    return q > 0 ? (unsigned)lround(q) : 0;
}

static void add_points(sk_account_t *a, sk_event_type_t type, double pts)
{
    int64_t p = (int64_t)llround(pts);
    a->points += p;
    a->points_by_type[type] += p;
}

/* The settle rule of MODEL.md: a reschedule settles the oldest open
 * cancel still in the window. */
static void settle_cancel(sk_account_t *a, const sk_rules_t *r)
{
    int32_t win = window_start(a, r);
    for (int i = 0; i < a->n_open_cancels; i++) {
        if (sk_day_of(a->open_cancels[i]) >= win) {
            memmove(&a->open_cancels[i], &a->open_cancels[i + 1],
                    (size_t)(a->n_open_cancels - i - 1) *
                        sizeof a->open_cancels[0]);
            a->n_open_cancels--;
            return;
        }
    }
}

/* The list of samples has room for one more (reserve_event()). */
static void record_response(sk_account_t *a, const sk_event_t *ev,
                            int32_t day)
{
    if (ev->ts_ms >= a->last_response_ms) {
        a->last_response_ms = ev->ts_ms;
        int n = 0;
        for (int i = 0; i < a->n_outreach; i++)
            if (a->outreach[i] > ev->ts_ms)
                a->outreach[n++] = a->outreach[i];
        a->n_outreach = n;
    }
    if (!ev->has_value)
        return;
    sk_response_sample_t sample = {.day = day, .hours = (float)ev->value};
    if (a->n_responses == SK_ACCOUNT_MAX_RESPONSES) {
        if (day < a->responses[0].day)
            return;
        memmove(a->responses, a->responses + 1,
                (size_t)(SK_ACCOUNT_MAX_RESPONSES - 1) * sizeof sample);
        a->n_responses--;
    }
    int i = a->n_responses;
    while (i > 0 && a->responses[i - 1].day > day) {
        a->responses[i] = a->responses[i - 1];
        i--;
    }
    a->responses[i] = sample;
    a->n_responses++;
}

/* Count @p ev into the state.  @p b is its day's bucket, or NULL when
 * the day is older than the buckets keep (lifetime effects only). */
static void count_event(sk_account_t *a, const sk_rules_t *r,
                        const sk_event_t *ev, sk_day_bucket_t *b)
{
    const int32_t day = sk_day_of(ev->ts_ms);
    sk_day_bucket_t scratch;
    if (!b) {
        memset(&scratch, 0, sizeof scratch);
        b = &scratch; /* counted nowhere */
    }

    if (ev->user[0]) {
        uint64_t h = hash_str(ev->user);
        person_touch(a, SK_PERSON_USER, h, day);
        if (ev->role == SK_ROLE_EXECUTIVE)
            person_touch(a, SK_PERSON_EXECUTIVE, h, day);
        else if (ev->role == SK_ROLE_CHAMPION)
            person_touch(a, SK_PERSON_CHAMPION, h, day);
        else if (ev->role == SK_ROLE_POWER_USER)
            person_touch(a, SK_PERSON_POWER_USER, h, day);
    }
    if (ev->role == SK_ROLE_EXECUTIVE)
        inc16(&b->executive_events);
    if (ev->dept[0])
        person_touch(a, SK_PERSON_DEPARTMENT, hash_str(ev->dept), day);

    const sk_rules_t *R = r;
    switch (ev->type) {
    case SK_EV_USER_CREATED:
        add_points(a, ev->type, R->points.user_created);
        break;
    case SK_EV_LOGIN:
        inc16(&b->logins);
        if (login_month_touch(a, sk_month_of(day)))
            add_points(a, ev->type, R->points.login_monthly);
        if (a->last_login_day == SK_ACCOUNT_NO_DAY || day > a->last_login_day)
            a->last_login_day = day;
        break;
    case SK_EV_USAGE:
        inc16(&b->usage_events);
        b->usage_minutes += ev->value;
        add_points(a, ev->type, usage_points(R, ev->value));
        break;
    case SK_EV_FEATURE_USED:
        feature_touch(a, R, ev->label, day, b);
        break;
    case SK_EV_PAGE_VIEW:
        if (strcmp(ev->label, "advanced_feature") == 0) {
            b->customer_points += R->customer.advanced_feature_view;
        } else if (strcmp(ev->label, "enterprise_feature") == 0) {
            b->upsell |= SK_UPSELL_ENTERPRISE_VIEW;
        } else if (strcmp(ev->label, "cancellation") == 0) {
            b->customer_points += R->customer.cancellation_view;
            inc16(&b->cancellation_views);
        }
        break;
    case SK_EV_API_CALL:
        api_call_touch(a, day, b);
        break;
    case SK_EV_PLAN_USAGE:
        if (ev->value >= R->customer.upsell_plan_usage_min)
            b->upsell |= SK_UPSELL_PLAN_USAGE;
        break;
    case SK_EV_SEAT_REQUEST:
        b->upsell |= SK_UPSELL_SEAT_REQUEST;
        break;
    case SK_EV_MEETING_ATTENDED:
        add_points(a, ev->type, R->points.meeting_attended);
        inc16(&b->meetings);
        if (ev->attrs & SK_ATTR_STRATEGIC)
            inc16(&b->strategic_meetings);
        b->meeting_quality += meeting_quality(R, ev->attrs);
        break;
    case SK_EV_MEETING_MISSED:
        add_points(a, ev->type, R->points.meeting_missed);
        inc16(&b->missed);
        break;
    case SK_EV_MEETING_CANCELED:
        if (day >= window_start(a, R))
            list_insert_ts(a->open_cancels, &a->n_open_cancels,
                           SK_ACCOUNT_MAX_CANCELS, ev->ts_ms);
        break;
    case SK_EV_MEETING_RESCHEDULED:
        settle_cancel(a, R);
        break;
    case SK_EV_QBR_DECLINED:
        inc16(&b->qbr_declined);
        break;
    case SK_EV_CSM_OUTREACH:
        inc16(&b->outreach);
        if (ev->ts_ms > a->last_response_ms && day >= window_start(a, R))
            list_insert_ts(a->outreach, &a->n_outreach,
                           SK_ACCOUNT_MAX_OUTREACH, ev->ts_ms);
        break;
    case SK_EV_CUSTOMER_RESPONSE:
        inc16(&b->responses);
        record_response(a, ev, day);
        break;
    case SK_EV_EMAIL_EXCHANGE:
        inc16(&b->emails);
        break;
    case SK_EV_SUPPORT_TICKET:
        inc16(&b->tickets);
        break;
    case SK_EV_SUPPORT_RESOLVED:
        if (strcmp(ev->label, "satisfied") == 0)
            b->customer_points += R->customer.support_satisfied;
        else if (strcmp(ev->label, "unsatisfied") == 0)
            b->customer_points += R->customer.support_unsatisfied;
        break;
    case SK_EV_TRAINING:
        inc16(&b->trainings);
        break;
    case SK_EV_FEEDBACK:
        add_points(a, ev->type, feedback_points(R, ev->label));
        break;
    case SK_EV_NPS: {
        int nps = (int)ev->value;
        if (nps >= R->customer.nps_promoter_min)
            b->customer_points += R->customer.nps_promoter;
        else if (nps <= R->customer.nps_detractor_max)
            b->customer_points += R->customer.nps_detractor;
        if (ev->ts_ms >= a->last_nps_ms) {
            a->last_nps_ms = ev->ts_ms;
            a->last_nps = nps;
        }
        break;
    }
    case SK_EV_REFERRAL:
        b->customer_points += R->customer.referral;
        break;
    case SK_EV_RENEWAL:
        b->customer_points += R->customer.renewal;
        break;
    case SK_EV_PAYMENT_SUCCEEDED:
        add_points(a, ev->type, R->points.payment_succeeded);
        break;
    case SK_EV_PAYMENT_FAILED:
        add_points(a, ev->type, R->points.payment_failed);
        inc16(&b->payment_failed);
        break;
    default:
        break;
    }
}

int sk_account_apply(sk_account_t *a, const sk_rules_t *r,
                     const sk_event_t *ev, sk_alerts_t *out)
{
    uint64_t h = hash_str(ev->id);
    if (seen_before(a, r, h, ev->ts_ms))
        return SK_DUPLICATE;

    if (advance(a, r, ev->ts_ms, out) != SK_OK)
        return SK_ERR;
    if (reserve_event(a, ev) != SK_OK)
        return SK_ERR;

    const int32_t day = sk_day_of(ev->ts_ms);
    sk_day_bucket_t *b = NULL;
    if (day >= kept_start(a, r)) {
        if (!(b = bucket_for(a, day)))
            return SK_ERR;
    }
    if (remember_id(a, r, h, ev->ts_ms) != SK_OK)
        return SK_ERR;
    count_event(a, r, ev, b);
    a->events_applied++;
    if (ev->ts_ms > a->updated_ms)
        a->updated_ms = ev->ts_ms;

    if (report(a, r, ev->ts_ms, ev->id, out) != SK_OK)
        return SK_ERR;
    return SK_APPLIED;
}

/* --- life cycle ----------------------------------------------------- */

sk_account_t *sk_account_new(const char *id, const sk_rules_t *rules)
{
    if (!sk_account_id_valid(id, strlen(id)))
        return NULL;
    sk_account_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    sk_copy_str(a->id, sizeof a->id, id);
    a->last_login_day = SK_ACCOUNT_NO_DAY;
    a->first_api_call_day = SK_ACCOUNT_NO_DAY;
    a->last_response_ms = INT64_MIN;
    a->last_nps_ms = INT64_MIN;
    a->last_nps = -1;
    a->high_since_ms = INT64_MIN;
    /* What an empty account scores is its starting point, so the first
     * event alerts only on what it really changes. */
    sk_scores_t s;
    sk_scores_compute(a, rules, &s);
    a->reported.stage = s.stage;
    a->reported.eng_tier = (uint8_t)s.eng_tier;
    a->reported.segment = (uint8_t)s.segment;
    a->reported.health = (uint8_t)s.health;
    a->reported.flags = s.flags;
    return a;
}

static void free_positions(sk_position_t *v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i].topic);
    free(v);
}

void sk_account_destroy(sk_account_t *acct)
{
    if (!acct)
        return;
    free(acct->days);
    free(acct->login_months);
    free(acct->features);
    free(acct->people);
    free(acct->open_cancels);
    free(acct->outreach);
    free(acct->responses);
    free(acct->seen);
    free_positions(acct->positions, acct->n_positions);
    free(acct);
}

/* Copies of the @p n positions at @p src, each with its own topic, or
 * NULL when @p n is 0 or out of memory. */
static sk_position_t *dup_positions(const sk_position_t *src, int n)
{
    sk_position_t *v = dup_entries(src, n, sizeof *v);
    if (!v)
        return NULL;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(src[i].topic);
        if (!(v[i].topic = malloc(len + 1))) {
            free_positions(v, i);
            return NULL;
        }
        memcpy(v[i].topic, src[i].topic, len + 1);
    }
    return v;
}

/* Each set is copied with room for what it holds: it grows again on
 * demand. */
sk_account_t *sk_account_clone(const sk_account_t *acct)
{
    sk_account_t *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *acct;
    c->days = NULL;
    c->login_months = NULL;
    c->features = NULL;
    c->people = NULL;
    c->open_cancels = NULL;
    c->outreach = NULL;
    c->responses = NULL;
    c->seen = NULL;
    c->positions = NULL;
    c->n_positions = 0;
    if (acct->cap_days) {
        c->days = malloc((size_t)acct->cap_days * sizeof *c->days);
        if (!c->days)
            goto fail;
        memcpy(c->days, acct->days, (size_t)acct->n_days * sizeof *c->days);
    }
    if (acct->cap_seen) {
        c->seen = malloc((size_t)acct->cap_seen * sizeof *c->seen);
        if (!c->seen)
            goto fail;
        memcpy(c->seen, acct->seen, (size_t)acct->n_seen * sizeof *c->seen);
    }
    c->login_months = dup_entries(acct->login_months, acct->n_login_months,
                                  sizeof *c->login_months);
    c->features =
        dup_entries(acct->features, acct->n_features, sizeof *c->features);
    c->people = dup_entries(acct->people, acct->n_people, sizeof *c->people);
    c->open_cancels = dup_entries(acct->open_cancels, acct->n_open_cancels,
                                  sizeof *c->open_cancels);
    c->outreach =
        dup_entries(acct->outreach, acct->n_outreach, sizeof *c->outreach);
    c->responses =
        dup_entries(acct->responses, acct->n_responses, sizeof *c->responses);
    c->cap_login_months = acct->n_login_months;
    c->cap_features = acct->n_features;
    c->cap_people = acct->n_people;
    c->cap_open_cancels = acct->n_open_cancels;
    c->cap_outreach = acct->n_outreach;
    c->cap_responses = acct->n_responses;
    if ((acct->n_login_months > 0 && !c->login_months) ||
        (acct->n_features > 0 && !c->features) ||
        (acct->n_people > 0 && !c->people) ||
        (acct->n_open_cancels > 0 && !c->open_cancels) ||
        (acct->n_outreach > 0 && !c->outreach) ||
        (acct->n_responses > 0 && !c->responses))
        goto fail;
    if (sk_account_copy_positions(c, acct) != SK_OK)
        goto fail;
    return c;
fail:
    sk_account_destroy(c);
    return NULL;
}

/* --- Kafka positions ------------------------------------------------ */

int64_t sk_account_position(const sk_account_t *a, const char *topic,
                            int32_t partition)
{
    for (int i = 0; i < a->n_positions; i++)
        if (a->positions[i].partition == partition &&
            strcmp(a->positions[i].topic, topic) == 0)
            return a->positions[i].offset;
    return -1;
}

int sk_account_set_position(sk_account_t *a, const char *topic,
                            int32_t partition, int64_t offset)
{
    for (int i = 0; i < a->n_positions; i++) {
        sk_position_t *p = &a->positions[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0) {
            p->offset = offset;
            return SK_OK;
        }
    }
    size_t len = strnlen(topic, SK_TOPIC_MAX);
    char *name = malloc(len + 1);
    if (!name)
        return SK_ERR;
    memcpy(name, topic, len);
    name[len] = '\0';
    if (a->n_positions == SK_ACCOUNT_MAX_POSITIONS) {
        free(a->positions[0].topic);
        memmove(a->positions, a->positions + 1,
                (SK_ACCOUNT_MAX_POSITIONS - 1) * sizeof a->positions[0]);
        a->n_positions--;
    } else {
        int cap = set_grow_cap(a->n_positions, a->cap_positions, 1,
                               SK_ACCOUNT_MAX_POSITIONS);
        if (cap > 0) {
            sk_position_t *v = realloc(a->positions, (size_t)cap * sizeof *v);
            if (!v) {
                free(name);
                return SK_ERR;
            }
            a->positions = v;
            a->cap_positions = cap;
        }
    }
    sk_position_t *p = &a->positions[a->n_positions++];
    p->topic = name;
    p->partition = partition;
    p->offset = offset;
    return SK_OK;
}

int sk_account_copy_positions(sk_account_t *dst, const sk_account_t *src)
{
    sk_position_t *v = dup_positions(src->positions, src->n_positions);
    if (!v && src->n_positions > 0)
        return SK_ERR;
    free_positions(dst->positions, dst->n_positions);
    dst->positions = v;
    dst->n_positions = dst->cap_positions = src->n_positions;
    return SK_OK;
}
