/*
 * test_calendar.c - UTC days, months, ISO weeks, time and duration text.
 */
#include <criterion/criterion.h>

#include "scorekeeper/common.h"
#include "support.h"

static int64_t t(const char *iso)
{
    int64_t ms;
    cr_assert_eq(sk_parse_time(iso, &ms), SK_OK, "parse %s", iso);
    return ms;
}

Test(calendar, days)
{
    cr_assert_eq(sk_day_of(0), 0);
    cr_assert_eq(sk_day_of(SK_DAY_MS - 1), 0);
    cr_assert_eq(sk_day_of(-1), -1, "floor, not truncation");
    cr_assert_eq(sk_day_of(t("2026-11-22T23:59:59.999Z")),
                 sk_day_of(t("2026-11-22")));
    cr_assert_eq(sk_midnight_ms(sk_day_of(t("2026-11-22T13:00:00Z"))),
                 t("2026-11-22"));
}

Test(calendar, parse_forms)
{
    cr_assert_eq(t("1970-01-01"), 0);
    cr_assert_eq(t("1970-01-01T00:00:01Z"), 1000);
    cr_assert_eq(t("1970-01-01T00:00:00.250Z"), 250);
    cr_assert_eq(t("1970-01-01T01:00:00+01:00"), 0);
    cr_assert_eq(t("2024-02-29T00:00:00Z") + SK_DAY_MS, t("2024-03-01"));
    int64_t ms;
    cr_assert_eq(sk_parse_time("2023-02-29", &ms), SK_ERR);
    cr_assert_eq(sk_parse_time("2026-13-01", &ms), SK_ERR);
    cr_assert_eq(sk_parse_time("2026-11-22T10:00", &ms), SK_ERR, "no zone");
    cr_assert_eq(sk_parse_time("yesterday", &ms), SK_ERR);
    cr_assert_eq(sk_parse_time("2026-11-22T10:00:00Zjunk", &ms), SK_ERR);
}

Test(calendar, format_round_trip)
{
    char buf[40];
    sk_format_time(t("2026-11-05T00:00:00Z"), buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-11-05T00:00:00Z");
    sk_format_time(t("2026-11-05T07:08:09.010Z"), buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-11-05T07:08:09.010Z");
}

Test(calendar, months)
{
    cr_assert_eq(sk_month_of(sk_day_of(t("2026-01-31"))) + 1,
                 sk_month_of(sk_day_of(t("2026-02-01"))));
    cr_assert_eq(sk_month_of(sk_day_of(t("2026-12-31"))) + 1,
                 sk_month_of(sk_day_of(t("2027-01-01"))));
    cr_assert_eq(sk_add_months(sk_day_of(t("2026-01-31")), 1),
                 sk_day_of(t("2026-02-28")), "clamped to the month's end");
    cr_assert_eq(sk_add_months(sk_day_of(t("2026-01-10")), 6),
                 sk_day_of(t("2026-07-10")));
    cr_assert_eq(sk_add_months(sk_day_of(t("2026-08-31")), 6),
                 sk_day_of(t("2027-02-28")));
}

Test(calendar, iso_weeks)
{
    /* 2026-11-23 is a Monday. */
    int32_t sun = sk_day_of(t("2026-11-22")), mon = sun + 1;
    cr_assert_neq(sk_iso_week_of(sun), sk_iso_week_of(mon));
    cr_assert_eq(sk_iso_week_of(mon), sk_iso_week_of(mon + 6));
    cr_assert_neq(sk_iso_week_of(mon), sk_iso_week_of(mon + 7));
    cr_assert_eq(sk_iso_week_of(-1), sk_iso_week_of(0), "1969-12-31 is Wed");
    cr_assert_neq(sk_iso_week_of(-4), sk_iso_week_of(-3), "Sun vs Mon");
}

Test(calendar, durations)
{
    int64_t ms;
    cr_assert_eq(sk_parse_duration("7d", &ms), SK_OK);
    cr_assert_eq(ms, 7 * SK_DAY_MS);
    cr_assert_eq(sk_parse_duration("90s", &ms), SK_OK);
    cr_assert_eq(ms, 90000);
    cr_assert_eq(sk_parse_duration("1.5h", &ms), SK_OK);
    cr_assert_eq(ms, 5400000);
    cr_assert_eq(sk_parse_duration("10ms", &ms), SK_OK);
    cr_assert_eq(ms, 10);
    cr_assert_eq(sk_parse_duration("7", &ms), SK_ERR, "a unit is required");
    cr_assert_eq(sk_parse_duration("-1d", &ms), SK_ERR);
    cr_assert_eq(sk_parse_duration("soon", &ms), SK_ERR);
}
