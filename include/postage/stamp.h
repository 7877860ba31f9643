/*
 * postage/stamp.h - the Hashcash stamp grammar, its value, and resource
 * matching.
 *
 *   v1:  1:BITS:DATE:RESOURCE:EXT:RAND:COUNTER
 *   v0:  0:DATE:RESOURCE:RAND
 *
 * The value of a stamp is what hashcash 1.22 says it is: SHA-1 over exactly
 * the stamp's bytes; for v1 the claimed BITS if the digest has at least that
 * many leading zero bits, else 0; for v0 the actual count.  Where 1.22 is
 * sloppy this parser is strict (see docs/compatibility.md): it accepts every
 * stamp any hashcash minter produces, and refuses the odd shapes 1.22 lets
 * through by accident (a version written "01", empty BITS, junk after the
 * counter, fields longer than 1.22 silently truncates).
 */
#ifndef POSTAGE_STAMP_H
#define POSTAGE_STAMP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define POSTAGE_STAMP_MAX 2048    /* longest stamp accepted, in bytes      */
#define POSTAGE_RESOURCE_MAX 256  /* longest RESOURCE (1.22 truncates here) */
#define POSTAGE_EXT_MAX 1024      /* longest EXT                           */
#define POSTAGE_BITS_MAX 160      /* a SHA-1 digest has 160 bits           */
#define POSTAGE_RAND_LEN 16       /* RAND characters a minter writes       */

/* The hashcash base-64 alphabet (digits first: not RFC 4648 order).  RAND
 * and COUNTER may use these and '='. */
#define POSTAGE_ALPHABET \
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/"

/* A parsed stamp.  Every pointer points into the text that was parsed; the
 * fields are not NUL-terminated. */
struct postage_stamp {
    const char *text;      size_t len;          /* the whole stamp      */
    unsigned version;                           /* 0 or 1               */
    unsigned claimed;                           /* v1 BITS; 0 for v0    */
    const char *date;      size_t date_len;
    const char *resource;  size_t resource_len;
    const char *ext;       size_t ext_len;      /* empty for v0         */
    const char *rand;      size_t rand_len;
    const char *counter;   size_t counter_len;  /* empty for v0         */
};

/**
 * postage_stamp_parse - split a stamp into its fields.
 * @text: the stamp; need not be NUL-terminated.  Nothing is trimmed.
 * @len:  its length in bytes.
 * @out:  receives the fields (pointers into @text).
 *
 * Checks the grammar only: version "0" or "1"; BITS 1-3 decimal digits,
 * 0..160; DATE 2-12 digits of even length (its calendar meaning is checked
 * by postage_date_parse()); RESOURCE 0..256 and EXT 0..1024 bytes, neither
 * containing NUL; RAND (may be empty) and COUNTER (v1, non-empty) from
 * [A-Za-z0-9+/=]; the exact number of colons.
 *
 * Returns POSTAGE_OK, POSTAGE_ERR_SYNTAX, or POSTAGE_ERR_TOO_LONG when
 * len > POSTAGE_STAMP_MAX.
 */
int postage_stamp_parse(const char *text, size_t len, struct postage_stamp *out);

/**
 * postage_leading_zero_bits - leading zero bits of SHA-1(@text[0..len)).
 * Returns 0..160.
 */
unsigned postage_leading_zero_bits(const char *text, size_t len);

/**
 * postage_stamp_value - the value of a parsed stamp in bits.
 * @stamp:  a stamp postage_stamp_parse() accepted.
 * @actual: if not NULL, receives the digest's leading zero bits.
 *
 * Returns the claimed bits if the digest has at least that many leading
 * zero bits, else 0 (v1); the actual count (v0).
 */
unsigned postage_stamp_value(const struct postage_stamp *stamp, unsigned *actual);

/* Flags for postage_resource_match(). */
enum {
    /* hashcash-style wildcards: '*' matches any run of characters; for
     * addresses, the user parts are globbed and the domains compared label
     * by label with the same number of labels ('*@*.example.org' matches
     * 'a@b.example.org' but not 'a@c.b.example.org'). */
    POSTAGE_MATCH_WILDCARD = 1 << 0,
    /* Compare case-sensitively (default: ASCII case is ignored). */
    POSTAGE_MATCH_CASE_SENSITIVE = 1 << 1
};

/**
 * postage_resource_match - does a stamp's resource match a pattern?
 * @pattern, @plen:   what the checker asks for (e.g. a recipient address).
 * @resource, @rlen:  the stamp's RESOURCE field.
 * @flags:            POSTAGE_MATCH_* flags.
 *
 * Without POSTAGE_MATCH_WILDCARD the two must be equal (ignoring ASCII case
 * unless POSTAGE_MATCH_CASE_SENSITIVE).  A wildcard pattern without '@'
 * never matches a resource with '@' (hashcash 1.22 crashes there).
 * Returns 1 for a match, 0 otherwise; any input is safe.
 */
int postage_resource_match(const char *pattern, size_t plen,
                           const char *resource, size_t rlen, unsigned flags);

/**
 * postage_field_is_clean - may @text go into a minted stamp's RESOURCE or
 * EXT field?  Returns 1 if it has no ':', no whitespace, no control
 * characters and no NUL among its @len bytes, else 0.
 */
int postage_field_is_clean(const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
