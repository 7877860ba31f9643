/*
 * verify.c - check one stamp as hashcash 1.22 does, then spend it.
 *
 * The order of the tests is 1.22's (hashcash_check): grammar and date,
 * resource, bits, validity window; the first failure is the verdict.  The
 * double-spend store is consulted only for a stamp that passed everything,
 * so a bad stamp never takes a slot in it.
 */
#include "config.h"

#include <string.h>

#include "postage/clock.h"
#include "postage/verify.h"
#include "postage/status.h"

void
postage_check_options_init(struct postage_check_options *options, int64_t now)
{
    memset(options, 0, sizeof *options);
    options->required_bits = POSTAGE_DEFAULT_BITS;
    options->validity = POSTAGE_DEFAULT_VALIDITY;
    options->grace = POSTAGE_DEFAULT_GRACE;
    options->now = now;
}

static int
finish(struct postage_check_result *result, int verdict)
{
    result->verdict = verdict;
    return verdict;
}

int
postage_check(const char *stamp, size_t len,
              const struct postage_check_options *options,
              struct postage_check_result *result)
{
    struct postage_check_result scratch;
    struct postage_check_result *r = result ? result : &scratch;

    memset(r, 0, sizeof *r);
    r->resource_index = -1;
    r->verdict = POSTAGE_ERR_SYNTAX;
    if (stamp == NULL || options == NULL || options->validity < 0 ||
        options->grace < 0 || options->required_bits > POSTAGE_BITS_MAX ||
        (options->resource_count > 0 && options->resources == NULL))
        return POSTAGE_ERR_INVALID;

    int rc = postage_stamp_parse(stamp, len, &r->stamp);
    if (rc != POSTAGE_OK)
        return finish(r, POSTAGE_ERR_SYNTAX);
    r->version = r->stamp.version;
    r->claimed = r->stamp.claimed;
    if (postage_date_parse(r->stamp.date, r->stamp.date_len, options->now,
                           &r->date) != POSTAGE_OK)
        return finish(r, POSTAGE_ERR_SYNTAX);
    r->expires_at = options->validity == 0 ? POSTAGE_NEVER_EXPIRES
                                           : r->date + options->validity;
    r->value = postage_stamp_value(&r->stamp, &r->actual);

    if (options->resource_count > 0) {
        for (size_t i = 0; i < options->resource_count; i++) {
            const char *want = options->resources[i];
            if (want != NULL &&
                postage_resource_match(want, strlen(want), r->stamp.resource,
                                       r->stamp.resource_len, options->match_flags)) {
                r->resource_index = (int) i;
                break;
            }
        }
        if (r->resource_index < 0)
            return finish(r, POSTAGE_ERR_RESOURCE);
    }

    if (r->value < options->required_bits)
        return finish(r, POSTAGE_ERR_BITS);

    /* Validity 0 means "never expires" and, as in 1.22, also skips the
     * future test.  Comparisons are 1.22's: future if T > now + grace;
     * expired unless T + validity + grace > now. */
    if (options->validity != 0) {
        if (r->date > options->now + options->grace)
            return finish(r, POSTAGE_ERR_FUTURE);
        if (!(r->date + options->validity + options->grace > options->now))
            return finish(r, POSTAGE_ERR_EXPIRED);
    }

    if (options->store != NULL) {
        rc = postage_store_spend(options->store, stamp, len, r->expires_at);
        if (rc == POSTAGE_ERR_SPENT)
            return finish(r, POSTAGE_ERR_SPENT);
        if (rc != POSTAGE_OK) {
            r->verdict = POSTAGE_ERR_STORE;
            return POSTAGE_ERR_STORE;
        }
    }
    return finish(r, POSTAGE_OK);
}
