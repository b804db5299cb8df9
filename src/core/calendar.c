/*
 * calendar.c - UTC calendar arithmetic, time and duration text, hashing.
 *
 * The model counts in whole UTC days and calendar months; these are the
 * only conversions between day numbers and civil dates in the project,
 * done with the days-from-civil arithmetic of the proleptic Gregorian
 * calendar, so no time zone database or libc time function is involved.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorekeeper/common.h"

typedef struct civil {
    int64_t year;
    int month; /* 1..12 */
    int mday;  /* 1..31 */
} civil_t;

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static civil_t civil_from_days(int64_t z)
{
    civil_t c;
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c.mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2);
    return c;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int32_t sk_month_of(int32_t day)
{
    civil_t c = civil_from_days(day);
    return (int32_t)(c.year * 12 + (c.month - 1));
}

int32_t sk_add_months(int32_t day, int months)
{
    civil_t c = civil_from_days(day);
    int64_t m = c.year * 12 + (c.month - 1) + months;
    int64_t y = floor_div(m, 12);
    int mon = (int)(m - y * 12) + 1;
    int md = c.mday;
    if (md > days_in_month(y, mon))
        md = days_in_month(y, mon);
    return (int32_t)days_from_civil(y, mon, md);
}

void sk_format_time(int64_t ts_ms, char *buf, size_t len)
{
    int32_t day = sk_day_of(ts_ms);
    int64_t in_day = ts_ms - sk_midnight_ms(day);
    civil_t c = civil_from_days(day);
    int s = (int)(in_day / 1000), ms = (int)(in_day % 1000);
    if (ms)
        snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 (long long)c.year, c.month, c.mday, s / 3600, s / 60 % 60,
                 s % 60, ms);
    else
        snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                 (long long)c.year, c.month, c.mday, s / 3600, s / 60 % 60,
                 s % 60);
}

/* Reads exactly n digits. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

int sk_parse_time(const char *text, int64_t *ts_ms)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0, ms = 0, off = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
        *p++ != '-' || !digits(&p, 2, &d))
        return SK_ERR;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return SK_ERR;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            return SK_ERR;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &s))
                return SK_ERR;
            if (*p == '.') {
                p++;
                int n = 0, frac = 0;
                while (isdigit((unsigned char)*p) && n < 9) {
                    if (n < 3)
                        frac = frac * 10 + (*p - '0');
                    n++;
                    p++;
                }
                if (n == 0)
                    return SK_ERR;
                for (int i = n; i < 3; i++)
                    frac *= 10;
                ms = frac;
            }
        }
        if (h > 23 || mi > 59 || s > 60)
            return SK_ERR;
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
                return SK_ERR;
            off = sign * (oh * 60 + om);
        } else {
            return SK_ERR;
        }
    }
    if (*p != '\0')
        return SK_ERR;
    int64_t days = days_from_civil(y, mo, d);
    *ts_ms = days * SK_DAY_MS +
             ((int64_t)h * 3600 + mi * 60 + s - (int64_t)off * 60) * 1000 +
             ms;
    return SK_OK;
}

int sk_parse_duration(const char *text, int64_t *ms)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || v < 0 || v != v)
        return SK_ERR;
    double unit;
    if (strcmp(end, "ms") == 0)
        unit = 1;
    else if (strcmp(end, "s") == 0)
        unit = 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60e3;
    else if (strcmp(end, "h") == 0)
        unit = 3600e3;
    else if (strcmp(end, "d") == 0)
        unit = 86400e3;
    else
        return SK_ERR;
    if (v * unit > 9e15)
        return SK_ERR;
    *ms = (int64_t)(v * unit);
    return SK_OK;
}

uint64_t sk_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

uint64_t sk_hash_id(const char *id)
{
    uint64_t h = sk_hash64(id, strlen(id), SK_HASH_SEED);
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}
