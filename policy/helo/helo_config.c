/*
 * helo_config.c - the HELO module's configuration (policy/helo/helo.h):
 * the names of its tests and actions and the check a
 * configuration must pass before the module uses it (the defaults are
 * the settings table's, policy/engine/settings.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy/helo/helo_internal.h"

static const char *const test_names[PD_HELO_TEST_COUNT] = {
    "missing", "syntax", "bare_ip", "single_label", "localhost", "own", "literal",
    "resolve", "match", "fcrdns", "random"
};

static const char *const act_names[] = { "off", "score", "defer", "reject" };

const char *
pd_helo_test_name(enum pd_helo_test test)
{
    return (unsigned) test < PD_HELO_TEST_COUNT ? test_names[test] : "?";
}

int
pd_helo_test_parse(const char *word, size_t len, enum pd_helo_test *out)
{
    unsigned i;

    if (word == NULL)
        return -1;
    for (i = 0; i < PD_HELO_TEST_COUNT; i++)
        if (helo_eq_nocase(word, len, test_names[i])) {
            *out = (enum pd_helo_test) i;
            return 0;
        }
    return -1;
}

const char *
pd_helo_act_name(enum pd_helo_act act)
{
    return (unsigned) act <= PD_HELO_ACT_REJECT ? act_names[act] : "?";
}

int
pd_helo_act_parse(const char *word, size_t len, enum pd_helo_act *out)
{
    unsigned i;

    if (word == NULL)
        return -1;
    for (i = 0; i <= PD_HELO_ACT_REJECT; i++)
        if (helo_eq_nocase(word, len, act_names[i])) {
            *out = (enum pd_helo_act) i;
            return 0;
        }
    return -1;
}

/* Scores are summed over at most PD_HELO_TEST_COUNT tests; this bound
 * keeps the sum far from overflow. */
#define SCORE_BOUND 1000000

int
pd_helo_config_check(const struct pd_helo_config *cfg, char *err, size_t errlen)
{
    size_t i;
    char dummy[128];

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (cfg == NULL) {
        snprintf(err, errlen, "no configuration");
        return -1;
    }
    for (i = 0; i < PD_HELO_TEST_COUNT; i++) {
        if ((unsigned) cfg->rule[i].act > PD_HELO_ACT_REJECT) {
            snprintf(err, errlen, "%s: unknown action", test_names[i]);
            return -1;
        }
        if (cfg->rule[i].score > SCORE_BOUND || cfg->rule[i].score < -SCORE_BOUND) {
            snprintf(err, errlen, "%s: score out of range", test_names[i]);
            return -1;
        }
    }
    if ((cfg->own_name_count > 0 && cfg->own_names == NULL)
        || (cfg->own_addr_count > 0 && cfg->own_addrs == NULL)) {
        snprintf(err, errlen, "own names or addresses missing");
        return -1;
    }
    for (i = 0; i < cfg->own_name_count; i++) {
        const char *o = cfg->own_names[i];

        if (o == NULL || o[0] == '\0' || strnlen(o, PD_HELO_NAME_MAX + 2) > PD_HELO_NAME_MAX + 1) {
            snprintf(err, errlen, "own name %zu is empty or too long", i + 1);
            return -1;
        }
    }
    for (i = 0; i < cfg->own_addr_count; i++)
        if (!helo_addr_known(&cfg->own_addrs[i])) {
            snprintf(err, errlen, "own address %zu has no family", i + 1);
            return -1;
        }
    if (cfg->rule[PD_HELO_TEST_RANDOM].act != PD_HELO_ACT_OFF) {
        if (cfg->random_limit < 1 || cfg->random_limit > PD_HELO_RANDOM_LIMIT_MAX) {
            snprintf(err, errlen, "random limit must be 1..%d", PD_HELO_RANDOM_LIMIT_MAX);
            return -1;
        }
        if (cfg->random_window < 1 || cfg->random_window > PD_HELO_RANDOM_WINDOW_MAX) {
            snprintf(err, errlen, "random window must be 1..%lld seconds",
                     (long long) PD_HELO_RANDOM_WINDOW_MAX);
            return -1;
        }
        if (cfg->random_v6_prefix < 16 || cfg->random_v6_prefix > 128) {
            snprintf(err, errlen, "random IPv6 prefix must be 16..128");
            return -1;
        }
    }
    return 0;
}
