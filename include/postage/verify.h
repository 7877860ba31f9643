/*
 * postage/verify.h - checking stamps the way hashcash 1.22 checks them, and
 * finding them in a message's headers.
 *
 * A check runs the tests in 1.22's order and stops at the first failure:
 * grammar and date, resource, bits, validity window, and only then the
 * double-spend store.  Unlike 1.22, the required bits default to 20, never
 * 0, so a forged claim does not pass by default.
 */
#ifndef POSTAGE_VERIFY_H
#define POSTAGE_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include "postage/stamp.h"
#include "postage/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSTAGE_DEFAULT_BITS 20

struct postage_check_options {
    unsigned required_bits;  /* value must be >= this (default 20)          */
    int64_t validity;        /* seconds a stamp stays valid; 0 = forever    */
    int64_t grace;           /* clock-skew allowance at both ends           */
    int64_t now;             /* the current UTC time                        */
    /* Acceptable resources; the stamp must match one.  With none, the
     * resource is not checked. */
    const char *const *resources;
    size_t resource_count;
    unsigned match_flags;    /* POSTAGE_MATCH_* for every resource          */
    /* Where accepted stamps are spent; NULL: no double-spend check. */
    postage_store *store;
};

struct postage_check_result {
    int verdict;           /* POSTAGE_OK or POSTAGE_ERR_SYNTAX .. _SPENT     */
    unsigned version;      /* 0 or 1 (0 if the grammar failed)               */
    unsigned claimed;      /* v1 claimed bits                                */
    unsigned actual;       /* leading zero bits of the digest                */
    unsigned value;        /* effective value (see postage_stamp_value)      */
    int64_t date;          /* the stamp's DATE as UTC seconds                */
    int64_t expires_at;    /* date + validity, or POSTAGE_NEVER_EXPIRES      */
    int resource_index;    /* which of options->resources matched; -1: none  */
    struct postage_stamp stamp; /* the parsed fields (valid unless syntax)   */
};

/**
 * postage_check_options_init - fill @options with hashcash's defaults:
 * 20 bits, validity 28 days, grace 2 days, no resource list, case-blind
 * exact matching, no store, and @now as the current time.
 */
void postage_check_options_init(struct postage_check_options *options, int64_t now);

/**
 * postage_check - check one stamp.
 * @stamp, @len: the stamp exactly as it was received (already unfolded and
 *               trimmed if it came from a header); nothing is trimmed here.
 * @options:     what to require.
 * @result:      receives the verdict and details; may be NULL.
 *
 * The tests run in this order and the first failure is the verdict:
 * grammar and date (POSTAGE_ERR_SYNTAX), resource (POSTAGE_ERR_RESOURCE),
 * bits (POSTAGE_ERR_BITS), then, unless validity is 0, future
 * (POSTAGE_ERR_FUTURE: date > now + grace) and expiry (POSTAGE_ERR_EXPIRED:
 * date + validity + grace <= now), and last the store
 * (POSTAGE_ERR_SPENT).  A stamp that passes everything is spent in the
 * store (when there is one) and the verdict is POSTAGE_OK.
 *
 * Returns the verdict (POSTAGE_OK or POSTAGE_ERR_SYNTAX .. POSTAGE_ERR_SPENT,
 * also stored in result->verdict), or an error: POSTAGE_ERR_INVALID for a
 * NULL stamp or options, a negative validity or grace, or more than 160
 * required bits; POSTAGE_ERR_STORE if the store failed (the stamp passed
 * every other test but was not recorded, so it must not be accepted;
 * result->verdict is POSTAGE_ERR_STORE too, and postage_store_error() on
 * the store says why).
 */
int postage_check(const char *stamp, size_t len,
                  const struct postage_check_options *options,
                  struct postage_check_result *result);

/**
 * postage_header_stamp - the stamp carried by one header field value.
 * @value, @len: the field body after "X-Hashcash:" (or "Hashcash:"),
 *               possibly folded with CRLF or LF followed by SP or TAB.
 * @out:         receives the stamp and a terminating NUL.
 * @size:        size of @out.
 * @out_len:     receives the stamp's length.
 *
 * Unfolds as hashcash 1.22 does (each line break and exactly one following
 * SP or TAB are removed) and trims surrounding whitespace.
 * Returns POSTAGE_OK or POSTAGE_ERR_TOO_LONG (then @out holds what fits).
 */
int postage_header_stamp(const char *value, size_t len, char *out, size_t size,
                         size_t *out_len);

/**
 * postage_headers_next - find the next X-Hashcash: or Hashcash: field
 * (names compared case-insensitively) in a message header block.
 * @block, @len: the header block (lines ending in LF or CRLF); scanning
 *               stops at the first empty line, so a body is never read.
 * @pos:         in: where to continue (0 to start); out: where to go on.
 * @out, @size, @out_len: as for postage_header_stamp().
 *
 * Returns 1 when a stamp was found, 0 at the end of the header block,
 * POSTAGE_ERR_TOO_LONG when a found stamp did not fit in @out (scanning
 * can continue from *pos).
 */
int postage_headers_next(const char *block, size_t len, size_t *pos,
                         char *out, size_t size, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
