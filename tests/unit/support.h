/*
 * support.h - what the unit tests share: the default rules and a terse
 * way to build events.
 */
#ifndef SK_TEST_SUPPORT_H
#define SK_TEST_SUPPORT_H

#include "scorekeeper/event.h"
#include "scorekeeper/rules.h"

/** The rules of deploy/rules.yaml, loaded once; aborts the test on error. */
const sk_rules_t *sk_test_rules(void);

/** Path of a file in the source tree (static buffer). */
const char *sk_test_path(const char *relative);

/**
 * An event of @p type for @p account at @p iso time (sk_parse_time form),
 * with id "<account>-<n>" from a running counter.
 */
sk_event_t sk_test_event(const char *account, sk_event_type_t type,
                         const char *iso);

#endif
