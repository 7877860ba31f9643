/*
 * sha1_search_preamble.h - what every SHA-1 search kernel does before its
 * own loop: the argument checks, the block as big-endian words, the counter
 * digits as characters, and the rounds that stay fixed while W12 does.
 *
 * Included by the portable kernel, by sha1_vector_search.h (so by the SSE2,
 * AVX2, AVX-512 and NEON kernels) and by the SHA-NI and ARMv8-SHA kernels.
 * It holds only macros, static inline functions and one static table, so
 * each kernel compiles its own copy with its own instruction-set flags and
 * no function is shared between files built with different -m flags.
 */
#ifndef POSTAGE_SHA1_SEARCH_PREAMBLE_H
#define POSTAGE_SHA1_SEARCH_PREAMBLE_H

#include <stdint.h>

#include "simd/sha1_search.h"

/* Scalar SHA-1 helpers (the vector kernels define their own ROL, F1...). */
#define SHA1_ROL(x, n) ((uint32_t)(((x) << (n)) | ((x) >> (32 - (n)))))
#define SHA1_F1(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define K1 UINT32_C(0x5A827999)
#define K2 UINT32_C(0x6ED9EBA1)
#define K3 UINT32_C(0x8F1BBCDC)
#define K4 UINT32_C(0xCA62C1D6)

/* W12 (digits 0..3, bytes 48..51) changes every 64^3 counters. */
#define OUTER_SHIFT 18

static const char alphabet[] = SHA1_SEARCH_ALPHABET;

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* The character of the digit of counter n at bit `shift`, as a word. */
static inline uint32_t digit(uint64_t n, unsigned shift)
{
    return (uint32_t)(uint8_t)alphabet[(n >> shift) & 63];
}

/**
 * sha1_search_begin - the checks every search function starts with.
 * @first, @count: the counters asked for (see sha1_search_fn).
 * @bits: leading zero bits asked for; clamped to 64 (H0 and H1 only).
 * @end: set to one past the last counter to try, within the search space.
 * @mask0: set to the bits of H0 that must be zero for a hit.
 * @w: set to the last block as sixteen big-endian words.
 * @found: set to @first when bits is 0 (every digest qualifies).
 *
 * Returns -1 when the kernel must search [first, *end), else the search's
 * answer: 0 for an empty range, 1 for bits == 0.
 */
static inline int sha1_search_begin(const struct sha1_search_job *job,
                                    uint64_t first, uint64_t count,
                                    unsigned *bits, uint64_t *end,
                                    uint32_t *mask0, uint32_t w[16],
                                    uint64_t *found)
{
    int i;

    if (count == 0 || first >= SHA1_SEARCH_SPACE)
        return 0;
    if (*bits == 0) {
        *found = first;
        return 1;
    }
    if (*bits > 64)
        *bits = 64;
    *end = count > SHA1_SEARCH_SPACE - first ? SHA1_SEARCH_SPACE
                                             : first + count;
    *mask0 = *bits >= 32 ? UINT32_C(0xFFFFFFFF)
                         : ~(UINT32_C(0xFFFFFFFF) >> *bits);
    for (i = 0; i < 16; i++)
        w[i] = load_be32(job->block + 4 * i);
    return -1;
}

/*
 * What stays fixed while only W13 varies.  Names follow the round or
 * schedule word they serve: pN is everything of round N except the terms
 * that depend on W13, kwN = K + W[N] for the schedule words that do not
 * depend on W13 at all, wN those words themselves.
 */
struct sha1_outer {
    uint32_t t13, p14, p15, p16, p17, a30, b30;
    uint32_t kw18, kw20, kw23, kw26;
    uint32_t w17, w18, w20, w23, w26;
};

/* Rounds 0..12 from the midstate @mid and the block words @w (W12 set for
 * this outer step), and the constant parts of rounds 13..17. */
static inline void sha1_prepare_outer(struct sha1_outer *o,
                                      const uint32_t mid[5],
                                      const uint32_t w[16])
{
    uint32_t a = mid[0], b = mid[1], c = mid[2], d = mid[3], e = mid[4], t;
    int i;

    for (i = 0; i < 13; i++) {
        t = SHA1_ROL(a, 5) + SHA1_F1(b, c, d) + e + K1 + w[i];
        e = d;
        d = c;
        c = SHA1_ROL(b, 30);
        b = a;
        a = t;
    }
    /* State (a, b, c, d, e) after round 12; see the trials for its use. */
    o->t13 = SHA1_ROL(a, 5) + SHA1_F1(b, c, d) + e + K1;
    o->b30 = SHA1_ROL(b, 30);
    o->a30 = SHA1_ROL(a, 30);
    o->p14 = SHA1_F1(a, o->b30, c) + d + K1 + w[14];
    o->p15 = c + K1 + w[15];
    o->p16 = o->b30 + K1;

    o->w17 = SHA1_ROL(w[14] ^ w[9] ^ w[3] ^ w[1], 1);
    o->w18 = SHA1_ROL(w[15] ^ w[10] ^ w[4] ^ w[2], 1);
    o->w20 = SHA1_ROL(o->w17 ^ w[12] ^ w[6] ^ w[4], 1);
    o->w23 = SHA1_ROL(o->w20 ^ w[15] ^ w[9] ^ w[7], 1);
    o->w26 = SHA1_ROL(o->w23 ^ o->w18 ^ w[12] ^ w[10], 1);
    o->p17 = o->a30 + K1 + o->w17;
    o->kw18 = K1 + o->w18;
    o->kw20 = K2 + o->w20;
    o->kw23 = K2 + o->w23;
    o->kw26 = K2 + o->w26;
}

#endif
