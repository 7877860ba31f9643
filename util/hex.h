/*
 * hex.h - hexadecimal digits, both ways: the one place every parser
 * (HELO address literals, Redis URL percent-escapes, store markers, the
 * test seeders) reads a hex digit and every writer spells one.
 * Header-only (static inline), like errbuf.h, so that libpostage,
 * postaged's library and the test tools can all use it without an
 * exported symbol.
 */
#ifndef POSTAGE_UTIL_HEX_H
#define POSTAGE_UTIL_HEX_H

#include <stddef.h>

/* The value 0-15 of the hex digit c (either case), or -1 if c is not one. */
static inline int
hex_digit_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Writes the n bytes of in as 2n lowercase hex digits and a NUL into out,
 * which must hold 2n + 1 characters. */
static inline void
hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Reads exactly 2n hex digits from text into out[n].  Returns 0, or -1 if
 * any of them is not a hex digit (out is then partly written). */
static inline int
hex_decode(const char *text, size_t n, unsigned char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int hi = hex_digit_value((unsigned char) text[2 * i]);
        int lo = hi < 0 ? -1 : hex_digit_value((unsigned char) text[2 * i + 1]);

        if (lo < 0)
            return -1;
        out[i] = (unsigned char) (hi << 4 | lo);
    }
    return 0;
}

#endif
