/*
 * address.h - an envelope address as the MTA hands it to a milter: the
 * RFC 5321 section 4.1.2 Path, "<" [ A-d-l ":" ] Mailbox ">", possibly
 * followed by ESMTP parameters, reduced to the Mailbox.
 *
 * The Mailbox is kept as written: a quoted local part keeps its quotes and
 * quoted-pairs ("a>b"@example.org stays so), because the stamp's resource
 * is compared with it as text.  What is dropped: the angle brackets, a
 * source route ("@a,@b:", RFC 5321 4.1.2 and appendix C: to be ignored),
 * and anything after the closing ">" (ESMTP parameters, separated by
 * spaces; Postfix passes them as further milter arguments anyway).  A
 * bare address without brackets is taken too (Sendmail passes what the
 * client wrote; Postfix's policy protocol has no brackets), up to the
 * first space outside quotes.  "<>" (the null reverse-path) gives "".
 *
 * Pure and bounded: reads at most `len` bytes (NULs are data, and make
 * the address malformed), writes at most `size` bytes, no allocation.
 */
#ifndef POSTAGE_POLICY_ADDRESS_H
#define POSTAGE_POLICY_ADDRESS_H

#include <stddef.h>

enum pd_addr_status {
    PD_ADDR_OK = 0,
    PD_ADDR_UNTERMINATED_QUOTE,  /* a '"' never closed, or "\" at the end */
    PD_ADDR_NO_CLOSING_BRACKET,  /* "<" without its ">"                   */
    PD_ADDR_BAD_ROUTE,           /* "<@" not followed by domains and ':'  */
    PD_ADDR_BAD_CHARACTER,       /* a control, space or bracket where an
                                    address cannot have one              */
    PD_ADDR_BAD_LITERAL,         /* "[" without its "]"                   */
    PD_ADDR_TRAILING_GARBAGE,    /* text after ">" not set off by a space */
    PD_ADDR_TOO_LONG             /* the Mailbox does not fit in `size`    */
};

/* Parse len bytes of src (an envelope address as above) and write the
 * Mailbox, NUL-terminated, into out (size >= 1 bytes).  On any error out
 * holds "" and the status says what was wrong. */
enum pd_addr_status pd_envelope_address(const char *src, size_t len, char *out, size_t size);

/* As pd_envelope_address on the NUL-terminated src (NULL: ""), but an
 * address it refuses is not lost: out then holds src as written, less
 * one pair of angle brackets, cut to fit.  Both milters take a recipient
 * Postfix accepted this way, so that a stamp names it and a log line shows
 * it as the MTA gave it.  Returns pd_envelope_address's status, for the
 * caller to log. */
enum pd_addr_status pd_envelope_address_or_raw(const char *src, char *out, size_t size);

/* A short English description of a status, for log lines. */
const char *pd_addr_status_text(enum pd_addr_status st);

#endif
