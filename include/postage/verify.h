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
#include "postage/argon2id.h"
#include "postage/stamp.h"
#include "postage/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSTAGE_DEFAULT_BITS 20

/* Kinds of stamp, as bits of postage_check_options.kinds. */
enum {
    POSTAGE_KIND_SHA1 = 1 << 0,      /* hashcash v0/v1: SHA-1              */
    POSTAGE_KIND_ARGON2ID = 1 << 1   /* v1 with an "a2id=" EXT: Argon2id   */
};

struct postage_check_options {
    /* The value must be worth at least this many SHA-1 bits (default 20);
     * an Argon2id stamp's value is converted at the exchange rate below. */
    unsigned required_bits;
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

    /* Memory-hard stamps.  Which kinds are accepted (default: SHA-1 only);
     * the largest parameters and the fewest claimed bits an Argon2id stamp
     * may have (checked before anything is computed); the exchange rate
     * (postage_argon2id_equivalent_bits()); and how to compute: a caller's
     * reusable work area (one per thread, made for at least
     * argon2id_max.memory), or NULL for a fresh one per check made with
     * argon2id_backend (POSTAGE_A2ID_AUTO: as
     * postage_argon2id_backend_resolve() says) and argon2id_kernel (NULL:
     * the default; see postage_argon2id_work_new_kernel()).  A stamp the
     * caller's area cannot serve (more memory than it was made for, or
     * lanes on a libsodium one) gets a fresh one (auto's choice for lanes
     * on libsodium). */
    unsigned kinds;
    struct postage_argon2id_params argon2id_max;
    unsigned argon2id_min_bits;
    double sha1_rate;
    double argon2id_rate;
    postage_argon2id_work *argon2id_work;
    int argon2id_backend;
    const char *argon2id_kernel;
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
    /* The kind (POSTAGE_KIND_*, 0 if the grammar failed) and, for Argon2id,
     * its parameters and whether the tag was computed (cheaper tests may
     * have refused the stamp first; then actual and value are 0). */
    unsigned kind;
    struct postage_argon2id_params argon2id;
    int computed;
    /* The value and the claimed bits in SHA-1 bits at the exchange rate
     * (for a SHA-1 stamp: value and claimed themselves). */
    double equivalent;
    double claimed_equivalent;
};

/**
 * postage_check_options_init - fill @options with hashcash's defaults:
 * 20 bits, validity 28 days, grace 2 days, no resource list, case-blind
 * exact matching, no store, and @now as the current time; SHA-1 stamps
 * only, and for Argon2id once enabled: at most 64 MiB, 3 passes, 4 lanes,
 * at least 4 claimed bits, the reference exchange rate, automatic backend.
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
 * grammar and date (POSTAGE_ERR_SYNTAX), kind (POSTAGE_ERR_KIND), resource
 * (POSTAGE_ERR_RESOURCE), bits (POSTAGE_ERR_BITS), then, unless validity
 * is 0, future (POSTAGE_ERR_FUTURE: date > now + grace) and expiry
 * (POSTAGE_ERR_EXPIRED: date + validity + grace <= now), and last the
 * store (POSTAGE_ERR_SPENT).  A stamp that passes everything is spent in
 * the store (when there is one) and the verdict is POSTAGE_OK.
 *
 * An Argon2id stamp costs the checker one Argon2id computation, so every
 * cheap test comes first: parameters and claimed bits against the bounds
 * (POSTAGE_ERR_PARAMS, right after the kind), resource, the claimed bits'
 * worth against required_bits, the validity window, and a look in the
 * store; only then is the tag computed, and a stamp whose tag lacks the
 * claimed bits gets POSTAGE_ERR_BITS.
 *
 * Returns the verdict (POSTAGE_OK or POSTAGE_ERR_SYNTAX .. POSTAGE_ERR_PARAMS,
 * also stored in result->verdict), or an error: POSTAGE_ERR_INVALID for a
 * NULL stamp or options, a negative validity or grace, more than 160
 * required bits, or a non-positive exchange rate while Argon2id is
 * accepted; POSTAGE_ERR_NOMEM (or _INTERNAL) if the Argon2id computation
 * could not run (result->verdict is that code too); POSTAGE_ERR_STORE if the store failed (the stamp passed
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
