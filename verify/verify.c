/*
 * verify.c - check one stamp as hashcash 1.22 does, then spend it.
 *
 * The order of the tests is 1.22's (hashcash_check): grammar and date,
 * resource, bits, validity window; the first failure is the verdict.  The
 * double-spend store is consulted only for a stamp that passed everything,
 * so a bad stamp never takes a slot in it.
 *
 * An Argon2id stamp's value costs as much to learn as one minting attempt,
 * so for those the expensive test moves last: bounds, resource, claimed
 * bits, dates and a look in the store all come before the computation, and
 * nobody can make the checker compute for a stamp it would refuse anyway.
 */
#include "config.h"

#include <string.h>

#include "postage/argon2id.h"
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
    options->kinds = POSTAGE_KIND_SHA1;
    options->argon2id_max.memory = POSTAGE_A2ID_DEFAULT_MAX_MEMORY;
    options->argon2id_max.passes = POSTAGE_A2ID_DEFAULT_MAX_PASSES;
    options->argon2id_max.lanes = POSTAGE_A2ID_DEFAULT_MAX_LANES;
    options->argon2id_min_bits = POSTAGE_A2ID_DEFAULT_MIN_BITS;
    options->sha1_rate = POSTAGE_REF_SHA1_RATE;
    options->argon2id_rate = POSTAGE_REF_ARGON2ID_RATE;
    options->argon2id_backend = POSTAGE_A2ID_AUTO;
}

static int
finish(struct postage_check_result *result, int verdict)
{
    result->verdict = verdict;
    return verdict;
}

static int
match_resource(const struct postage_check_options *options, struct postage_check_result *r)
{
    if (options->resource_count == 0)
        return 1;
    for (size_t i = 0; i < options->resource_count; i++) {
        const char *want = options->resources[i];
        if (want != NULL &&
            postage_resource_match(want, strlen(want), r->stamp.resource,
                                   r->stamp.resource_len, options->match_flags)) {
            r->resource_index = (int) i;
            return 1;
        }
    }
    return 0;
}

/* Validity 0 means "never expires" and, as in 1.22, also skips the future
 * test.  Comparisons are 1.22's: future if T > now + grace; expired unless
 * T + validity + grace > now. */
static int
check_dates(const struct postage_check_options *options, const struct postage_check_result *r)
{
    if (options->validity != 0) {
        if (r->date > options->now + options->grace)
            return POSTAGE_ERR_FUTURE;
        if (!(r->date + options->validity + options->grace > options->now))
            return POSTAGE_ERR_EXPIRED;
    }
    return POSTAGE_OK;
}

static int
spend(const char *stamp, size_t len, const struct postage_check_options *options,
      struct postage_check_result *r)
{
    if (options->store != NULL) {
        int rc = postage_store_spend(options->store, stamp, len, r->expires_at);
        if (rc == POSTAGE_ERR_SPENT)
            return finish(r, POSTAGE_ERR_SPENT);
        if (rc != POSTAGE_OK) {
            r->verdict = POSTAGE_ERR_STORE;
            return POSTAGE_ERR_STORE;
        }
    }
    return finish(r, POSTAGE_OK);
}

static int
within_bounds(const struct postage_check_options *options, const struct postage_check_result *r)
{
    const struct postage_argon2id_params *p = &r->argon2id, *max = &options->argon2id_max;
    return p->memory <= max->memory && p->passes <= max->passes && p->lanes <= max->lanes &&
           r->claimed >= options->argon2id_min_bits;
}

static int
check_argon2id(const char *stamp, size_t len, const struct postage_check_options *options,
               struct postage_check_result *r)
{
    if (!within_bounds(options, r))
        return finish(r, POSTAGE_ERR_PARAMS);
    r->claimed_equivalent = postage_argon2id_equivalent_bits(r->claimed, &r->argon2id,
                                                             options->sha1_rate,
                                                             options->argon2id_rate);
    if (!match_resource(options, r))
        return finish(r, POSTAGE_ERR_RESOURCE);
    if (r->claimed_equivalent < (double) options->required_bits)
        return finish(r, POSTAGE_ERR_BITS);
    int rc = check_dates(options, r);
    if (rc != POSTAGE_OK)
        return finish(r, rc);
    if (options->store != NULL) {
        rc = postage_store_is_spent(options->store, stamp, len);
        if (rc == POSTAGE_ERR_SPENT)
            return finish(r, POSTAGE_ERR_SPENT);
        if (rc != POSTAGE_OK) {
            r->verdict = POSTAGE_ERR_STORE;
            return POSTAGE_ERR_STORE;
        }
    }

    /* The caller's work area when it can serve these parameters (a
     * libsodium one serves one lane only), else a fresh one. */
    postage_argon2id_work *work = options->argon2id_work, *own = NULL;
    unsigned char tag[POSTAGE_A2ID_TAG_LEN];
    rc = work != NULL ? postage_argon2id_tag(work, &r->argon2id, stamp, len, tag)
                      : POSTAGE_ERR_INVALID;
    if (rc == POSTAGE_ERR_INVALID) {
        /* libsodium computes one lane only: more go to what auto picks
         * (the library's one rule), on the default kernel. */
        int backend = options->argon2id_backend;
        const char *kernel = options->argon2id_kernel;
        if (backend == POSTAGE_A2ID_LIBSODIUM && r->argon2id.lanes != 1) {
            backend = POSTAGE_A2ID_AUTO;
            kernel = NULL;
        }
        rc = postage_argon2id_work_new_kernel(&own, &r->argon2id, backend, kernel);
        if (rc == POSTAGE_OK)
            rc = postage_argon2id_tag(own, &r->argon2id, stamp, len, tag);
        postage_argon2id_work_free(own);
    }
    if (rc != POSTAGE_OK) {
        r->verdict = rc;
        return rc;
    }
    r->computed = 1;
    r->actual = postage_argon2id_leading_zero_bits(tag);
    if (r->actual < r->claimed)
        return finish(r, POSTAGE_ERR_BITS);
    r->value = r->claimed;
    r->equivalent = r->claimed_equivalent;
    return spend(stamp, len, options, r);
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
        (options->resource_count > 0 && options->resources == NULL) ||
        ((options->kinds & POSTAGE_KIND_ARGON2ID) &&
         !(options->sha1_rate > 0 && options->argon2id_rate > 0)))
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
    int a2id = postage_argon2id_ext_parse(r->stamp.ext, r->stamp.ext_len, &r->argon2id);
    if (a2id < 0 || (a2id && r->version != 1))
        return finish(r, POSTAGE_ERR_SYNTAX);
    r->kind = a2id ? POSTAGE_KIND_ARGON2ID : POSTAGE_KIND_SHA1;
    if (!(options->kinds & r->kind))
        return finish(r, POSTAGE_ERR_KIND);
    if (a2id)
        return check_argon2id(stamp, len, options, r);

    r->value = postage_stamp_value(&r->stamp, &r->actual);
    r->computed = 1;
    r->equivalent = r->value;
    r->claimed_equivalent = r->version == 1 ? r->claimed : r->actual;

    if (!match_resource(options, r))
        return finish(r, POSTAGE_ERR_RESOURCE);
    if (r->value < options->required_bits)
        return finish(r, POSTAGE_ERR_BITS);
    rc = check_dates(options, r);
    if (rc != POSTAGE_OK)
        return finish(r, rc);
    return spend(stamp, len, options, r);
}
