/*
 * rfc5322.h - just enough RFC 5322 for postage-sendmail -t: where the
 * header block of a message ends, its fields, and the recipient addresses
 * in To/Cc/Bcc (or Resent-To/Cc/Bcc).  Pure parsing, no I/O.
 *
 * Every function takes explicit lengths and accepts any bytes (NULs,
 * 8-bit, bare CR, no final newline, megabyte lines): the message comes from
 * whoever runs sendmail, so it is treated as hostile.  Nothing here reads
 * outside [buf, buf + len), recurses, or takes more than linear time.
 */
#ifndef POSTAGE_RFC5322_H
#define POSTAGE_RFC5322_H

#include <stddef.h>

/* Longest address kept, without the NUL: local part 64 + "@" + domain 255. */
#define RFC5322_ADDR_MAX 320

/* Most addresses one list will hold, so a hostile header cannot make us
 * allocate without bound (or mint ten million stamps). */
#define RFC5322_LIST_MAX 10000

/**
 * rfc5322_header_end - where the header block of a message ends.
 * @buf, @len: the message.
 *
 * A line ends at LF; a CR just before the LF belongs to the line end, a
 * CR anywhere else is an ordinary byte.  The block is a run of fields (a
 * name of printable ASCII other than ':', optional blanks, ':'), each
 * followed by its continuation lines (lines starting with SP or HT).  It
 * ends at the first empty line, which belongs to it; or, without an empty
 * line, at the first line that is neither a field nor a continuation (a
 * continuation with no field before it, a line starting with "--", a
 * "From " line, ...), which does not, as sendmail's isheader() decides.
 *
 * Returns the offset just after the empty line (LF or CRLF) when there is
 * one; else the offset of the first line that is not part of the block;
 * else @len (a message of headers only, final newline or not).  0 means
 * there is no header block at all.  Never fails.
 */
size_t rfc5322_header_end(const char *buf, size_t len);

/* One header field, pointing into the caller's buffer (nothing is copied). */
struct rfc5322_field {
    const char *name;   /* the field name, without blanks or the colon */
    size_t name_len;
    const char *value;  /* raw, just after the colon: folding and the */
    size_t value_len;   /* final line end (LF or CRLF) included */
    size_t start, end;  /* offsets of the whole field in the block, from
                           the first byte of the name to just after its
                           final line end: [start, end) can be cut out */
};

/**
 * rfc5322_next_field - the next field of a header block.
 * @block, @len: the header block, or the whole message: iteration stops at
 *               the same place rfc5322_header_end() does, so nothing in the
 *               body is ever returned.
 * @pos:         where to continue; set it to 0 before the first call.  It
 *               is advanced past the field returned, and set to @len at the
 *               end of the block.
 * @out:         receives the field.
 *
 * Returns 1 when a field was stored in *@out, 0 at the end of the block
 * (also when *@pos is not at the start of a field, or an argument is
 * NULL).
 */
int rfc5322_next_field(const char *block, size_t len, size_t *pos,
                       struct rfc5322_field *out);

/**
 * rfc5322_uses_crlf - does the block end its lines with CRLF?
 * @block, @len: the header block (or the whole message).
 *
 * Judged from the first line only, so a header written back into the
 * message can use the same line ends as the first line.
 *
 * Returns 1 if the first line ends in CRLF, 0 if it ends in a bare LF or
 * has no LF at all (or @block is NULL).
 */
int rfc5322_uses_crlf(const char *block, size_t len);

/**
 * rfc5322_field_name_is - is this the field called @name?
 * @f:    a field from rfc5322_next_field().
 * @name: a NUL-terminated field name, without the colon.
 *
 * Returns 1 if the names are equal ignoring ASCII case, else 0.
 */
int rfc5322_field_name_is(const struct rfc5322_field *f, const char *name);

/**
 * rfc5322_field_is_bcc - must this field be hidden from the recipients?
 * @f: a field from rfc5322_next_field().
 *
 * Returns 1 for Bcc and Resent-Bcc (any case), else 0.
 */
int rfc5322_field_is_bcc(const struct rfc5322_field *f);

/*
 * A list of addresses, each a malloc'd NUL-terminated string of at most
 * RFC5322_ADDR_MAX bytes.  A zeroed struct is an empty list; free it with
 * rfc5322_addrs_free().
 */
struct rfc5322_addrs {
    char **addr;   /* addr[0 .. count-1], in the order they were written */
    size_t count, cap;
    size_t bad;    /* list elements that were not an address and were
                      skipped: the caller decides whether that is fatal */
};

/**
 * rfc5322_addrs_free - free every address and the array.
 * @list: the list (may be NULL); left empty (zeroed), ready for reuse.
 */
void rfc5322_addrs_free(struct rfc5322_addrs *list);

/**
 * rfc5322_parse_addresses - the addresses in one address-list field value.
 * @value, @len: the raw value (To, Cc, Bcc, Resent-To, ...), as
 *               rfc5322_next_field() gives it: folding and line end
 *               included.  @value may be NULL only when @len is 0.
 * @list:        the addr-spec ("local@domain") of each mailbox is appended.
 *
 * Takes name-addr and bare addr-spec forms, display names of any words
 * (quoted strings, RFC 2047 encoded words, raw UTF-8), comments anywhere
 * (nested, with quoted pairs), groups ("Team: a@b, c@d;" gives the
 * members, "undisclosed-recipients:;" none), empty elements, obsolete
 * routes ("<@relay:a@b>" gives a@b), blanks and comments around dots and
 * '@', domain literals, and an address without a domain ("bob", which
 * sendmail qualifies).  A ';' outside a group separates like ','.
 *
 * An address is kept as written, case included; a quoted local part keeps
 * its quotes (re-escaped: only '"' and '\' get a backslash) unless it
 * would be a plain dot-atom without them ("simple"@x gives simple@x).
 * Comments, blanks and folding are dropped.  8-bit bytes are kept (UTF-8
 * addresses, RFC 6532); control characters and NUL are never put in an
 * address: an element that would contain one is bad.  An address can
 * still begin with '-' or hold ':' and '"': put it on a command line only
 * after "--", and escape it for wherever else it goes.
 *
 * An unquoted comma splits a display name ("Doe, John <jd@x>" gives "Doe"
 * and jd@x), as it does for sendmail.
 *
 * An element that is not an address (a phrase alone, two '@', an
 * unterminated quote, comment, '<' or domain literal, text after '>',
 * an empty or dotted-wrong domain, more than RFC5322_ADDR_MAX bytes, ...)
 * is skipped and counted in @list->bad.  An unterminated quote, comment or
 * literal runs to the end of @value, taking the elements after it along.
 *
 * Returns 0, or -1 when memory ran out, the list would hold more than
 * RFC5322_LIST_MAX addresses, or @list is NULL (or @value is NULL with
 * @len > 0).  After -1 the list holds what was appended before; free it.
 */
int rfc5322_parse_addresses(const char *value, size_t len,
                            struct rfc5322_addrs *list);

/**
 * rfc5322_recipients - the recipients sendmail -t takes from a header block.
 * @block, @len: the header block, or the whole message (the body is never
 *               read: see rfc5322_next_field()).
 * @shown:       receives the addresses of To and Cc fields.
 * @blind:       receives the addresses of Bcc fields.
 *
 * When the block has any Resent- field (Resent-Date, -From, -Sender,
 * -Reply-To, -To, -Cc, -Bcc or -Message-ID) the message is being resent
 * (RFC 5322 3.6.6) and only Resent-To and Resent-Cc (into @shown) and
 * Resent-Bcc (into @blind) count; the original To/Cc/Bcc are ignored.
 * That is what sendmail (H_RESENT) and Postfix (HDR_OPT_RR) do, so a
 * Resent-From alone leaves no recipients, as it does for them.  Field
 * names are compared ignoring case; fields of the same kind are taken in
 * order, and an address is not removed when it appears twice.
 *
 * Returns 0, or -1 as rfc5322_parse_addresses() (either list full, out of
 * memory, or a NULL argument); after -1 both lists hold what was appended
 * before, and must be freed.
 */
int rfc5322_recipients(const char *block, size_t len,
                       struct rfc5322_addrs *shown, struct rfc5322_addrs *blind);

#endif
