/*
 * milter_headers.h - what the milter makes of the message headers it is
 * shown, as pure functions (no libmilter), so that unit tests and the
 * fuzz target (fuzz/fuzz_milter_data.c) reach them directly.
 *
 * The headers postaged adds are trusted downstream only because incoming
 * copies of them are removed first: X-Postage-Result, X-Postage-Price,
 * X-Greylist, and Authentication-Results with our own authserv-id (RFC
 * 8601 section 5).  pd_own_headers_note() counts them as they go by; the
 * milter deletes them at end of message (index i of a name is the i-th
 * header of that name, 1-based, as smfi_chgheader counts).
 */
#ifndef POSTAGE_POLICY_MILTER_HEADERS_H
#define POSTAGE_POLICY_MILTER_HEADERS_H

#include <stddef.h>

enum pd_own_header {
    PD_OWN_POSTAGE_RESULT = 0,
    PD_OWN_POSTAGE_PRICE,
    PD_OWN_GREYLIST,
    PD_OWN_AUTH_RESULTS,
    PD_OWN_HEADERS
};

/* Authentication-Results headers with our authserv-id one message may
 * carry; past it the message is refused, so none can slip through. */
#define PD_FORGED_AR_MAX 4096

struct pd_own_headers {
    unsigned seen[PD_OWN_HEADERS];   /* copies of each name seen          */
    unsigned *forged_ar;             /* 1-based indexes among the
                                        Authentication-Results headers
                                        that carry our authserv-id       */
    size_t n_forged_ar;
};

/* The header name of each pd_own_header. */
const char *pd_own_header_name(enum pd_own_header h);

/* Which of our headers `name` is (case-insensitive), or -1. */
int pd_own_header_index(const char *name);

/* Does an Authentication-Results value name `authserv_id` (its first
 * token, before any version and the ';')?  1 or 0. */
int pd_names_authserv_id(const char *value, const char *authserv_id);

/* Note one header of the message.  Returns 0, or -1 when the message has
 * more forged Authentication-Results than PD_FORGED_AR_MAX (or memory
 * ran out): the message must then be refused. */
int pd_own_headers_note(struct pd_own_headers *h, const char *name, const char *value,
                        const char *authserv_id);

/* Forget everything noted (frees the list). */
void pd_own_headers_reset(struct pd_own_headers *h);

/* The Message-ID of a header value as the milter keeps it for the engine:
 * its first word (leading folding white space skipped), cut to size - 1
 * bytes; "" for an empty value. */
void pd_message_id_take(char *dst, size_t size, const char *value);

#endif
