/*
 * support.c - shared helpers of the unit tests (see support.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "support.h"

const char *sk_test_path(const char *relative)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", SK_SOURCE_DIR, relative);
    return buf;
}

const sk_rules_t *sk_test_rules(void)
{
    static sk_rules_t rules;
    static int loaded;
    if (!loaded) {
        char err[SK_ERRSTR_LEN];
        if (sk_rules_load(sk_test_path("deploy/rules.yaml"), &rules, err,
                          sizeof err) != SK_OK)
            cr_assert_fail("default rules: %s", err);
        loaded = 1;
    }
    return &rules;
}

sk_event_t sk_test_event(const char *account, sk_event_type_t type,
                         const char *iso)
{
    static unsigned counter;
    sk_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    snprintf(ev.account, sizeof ev.account, "%s", account);
    snprintf(ev.id, sizeof ev.id, "%s-%u", account, ++counter);
    if (sk_parse_time(iso, &ev.ts_ms) != SK_OK)
        cr_assert_fail("bad test time %s", iso);
    return ev;
}
