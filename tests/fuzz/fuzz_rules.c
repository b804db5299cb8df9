/*
 * fuzz_rules.c - libFuzzer target of the rules loader.
 *
 * A rules file is operator input, but a reload runs inside the daemon, so
 * the loader must survive anything: every input either loads or fails
 * with a message, within bounded memory and without leaking the parser's
 * state.  A successful load is checked against the invariants the
 * scoring code relies on.  Seeds: tests/fuzz/corpus/fuzz_rules/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scorekeeper/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_rules_t rules, before;
    char err[SK_ERRSTR_LEN];
    memset(&rules, 0x5A, sizeof rules);
    memcpy(&before, &rules, sizeof rules);
    if (sk_rules_load_buffer("fuzz.yaml", (const char *)data, size, &rules, err,
                             sizeof err) != SK_OK) {
        /* refused: a message, and the output untouched */
        if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL ||
            memcmp(&rules, &before, sizeof rules) != 0)
            abort();
        return 0;
    }
    if (rules.n_stages < 1 || rules.n_stages > SK_RULES_MAX_STAGES ||
        rules.engagement.n_features < 1 ||
        rules.engagement.n_features > SK_RULES_MAX_FEATURES ||
        rules.window_days < 1 || rules.window_days > SK_RULES_MAX_WINDOW_DAYS)
        abort();
    for (int i = 1; i < rules.n_stages; i++)
        if (rules.stages[i] <= rules.stages[i - 1])
            abort();
    for (int i = 0; i < rules.engagement.n_features; i++)
        if (sk_rules_feature_index(&rules, rules.engagement.features[i].key) !=
            i)
            abort();
    return 0;
}
