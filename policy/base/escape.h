/*
 * escape.h - the one way postaged makes outside text safe for a header
 * value or a log line: every control character becomes a visible escape.
 *
 * Outside input (recipients, senders, HELO names, Message-IDs, client
 * names, stamp text, policy request attributes) can carry CR, LF, NUL and
 * other controls.  Copied raw into a header the MTA inserts, a CR LF
 * starts a header of the attacker's choosing; copied into a log line it
 * forges log lines.  Everything postaged logs (log.c, at the sink) and
 * every header value it asks the MTA to add (milter.c and
 * policy_server.c, at the sink) goes through pd_escape().
 *
 * The escape is "\xNN" (two lower-case hex digits) for bytes 0x00-0x1f
 * and 0x7f.  Backslash itself is left alone, so the escape is idempotent:
 * text already escaped comes out unchanged, and a layer that escapes again
 * (a header value escaped by the engine, then by the front-end) does no
 * harm.  The price is that a literal "\x0d" in the input reads the same as
 * an escaped CR; the output is for people and for header syntax, not to be
 * decoded.  Bytes 0x80-0xff are kept (SMTPUTF8 addresses are UTF-8).
 */
#ifndef POSTAGE_POLICY_ESCAPE_H
#define POSTAGE_POLICY_ESCAPE_H

#include <stddef.h>

/* At most this many output bytes per input byte. */
#define PD_ESCAPE_GROWTH 4

/* Escape len bytes of src (NULs included) into dst, which holds size
 * bytes (size >= 1): always NUL-terminated, truncated at a whole escape
 * when it does not fit (never half of "\xNN").  src may be NULL when len
 * is 0.  Returns the length written, without the NUL. */
size_t pd_escape(char *dst, size_t size, const char *src, size_t len);

/* The same for a NUL-terminated string (NULL reads as ""). */
size_t pd_escape_str(char *dst, size_t size, const char *src);

/* In place, for a NUL-terminated string in a buffer of `size` bytes:
 * escapes what needs it, truncating at a whole escape if it no longer
 * fits.  Returns the new length. */
size_t pd_escape_inplace(char *buf, size_t size);

/* 1 if the len bytes hold a control character (0x00-0x1f, 0x7f). */
int pd_has_control(const char *s, size_t len);

#endif
