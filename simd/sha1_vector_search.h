/*
 * sha1_vector_search.h - the body of the vector SHA-1 search kernels,
 * shared by sha1_sse2.c, sha1_avx2.c, sha1_avx512.c and sha1_neon.c.
 *
 * Not a normal header: each of those files defines LANES, the vector type
 * V and the operation macros (SET1, LOAD, STORE, STOREU, ADD, OR, XOR,
 * XOR3, XOR4, ROL, ROL1, F1..F4, OPAQUE, ZERO_LANES) for its own
 * instruction set, then includes this file once, so the same algorithm is
 * compiled separately with each file's own -m flags and nothing else sees
 * those flags.  It defines the static function search().
 *
 * Layout: lanes take consecutive counters, which differ only in the lowest
 * digit (byte 54, inside W13); a step starts at a multiple of LANES, so all
 * its lanes share the other six digits.  Rounds 0..12 are computed once
 * per outer step (every 64^3 counters); the schedule comes from tables
 * (see schedule()).
 */
#ifndef LANES
#error "define LANES, V and the vector operation macros before including sha1_vector_search.h"
#endif

#include "simd/sha1_search_preamble.h"

/*
 * W16..W79 of the message block w.  The schedule is linear (XOR and
 * rotations) and only W13 varies within an outer step, so a trial's
 * schedule word is the XOR of: the word computed with bytes 53 and 54 of
 * the block zero (once per 64^2 counters), the word computed from byte 53
 * alone (a table per call, folded in once per 64 counters) and the word
 * computed from byte 54 alone (a table per call, one XOR per word and
 * vector).  That is one XOR per word instead of three XORs and a rotate.
 */
static void schedule(uint32_t out[64], const uint32_t w[16])
{
    uint32_t x[80];
    int t;

    for (t = 0; t < 16; t++)
        x[t] = w[t];
    for (t = 16; t < 80; t++) {
        x[t] = SHA1_ROL(x[t - 3] ^ x[t - 8] ^ x[t - 14] ^ x[t - 16], 1);
        out[t - 16] = x[t];
    }
}

/* Schedule word t of the lanes starting at lowest digit `low`. */
#define WORD(t) XOR(LOAD(&low_w[(t) - 16][low]), SET1(cw[(t) - 16]))

/*
 * rol5(a) is added last: it is the only term on the loop-carried path.
 * Compilers reassociate the sum into a longer chain unless the partial sum
 * is hidden from them.
 */
#define R_(F, KW, a, b, c, d, e) \
    do { \
        const V b30_ = ROL(b, 30); \
        V t_ = ADD(ADD(e, KW), F(b, c, d)); \
        OPAQUE(t_); \
        e = ADD(t_, ROL(a, 5)); \
        b = b30_; \
    } while (0)
#define RW(F, K, t, a, b, c, d, e) R_(F, ADD(WORD(t), SET1(K)), a, b, c, d, e)
#define RC(F, kw, a, b, c, d, e) R_(F, SET1(o.kw), a, b, c, d, e)

/* The rare path: which lanes really hit, and is any inside the range? */
static int confirm_hit(V h0v, V h1v, unsigned lanes_mask, uint64_t n,
                       uint64_t first, uint64_t end, unsigned bits,
                       uint64_t *found)
{
    uint32_t h0[LANES], h1[LANES];
    unsigned i;

    STOREU(h0, h0v);
    STOREU(h1, h1v);
    for (i = 0; i < LANES; i++) {
        if (!(lanes_mask >> i & 1) || n + i < first || n + i >= end)
            continue;
        if (sha1_leading_zero_bits(h0[i], h1[i]) >= bits) {
            *found = n + i;
            return 1;
        }
    }
    return 0;
}

/*
 * Schedule words W16..W79 of the words W13 = digit chars << shift (one lane
 * per digit value 0..63, every other word zero): tab[t - 16][digit].
 */
static void digit_table(uint32_t tab[64][64], unsigned shift)
{
    _Alignas(64) uint32_t chars[64];
    unsigned p;
    int t;

    for (p = 0; p < 64; p++)
        chars[p] = (uint32_t)(uint8_t)alphabet[p] << shift;
    for (p = 0; p < 64; p += LANES) {
        V x[16]; /* x[t % 16] is W[t], overwriting W[t - 16] */

        for (t = 0; t < 16; t++)
            x[t] = SET1(0);
        x[13] = LOAD(chars + p);
        for (t = 16; t < 80; t++) {
            x[t & 15] = ROL1(XOR4(x[t & 15], x[(t - 3) & 15], x[(t - 8) & 15],
                                  x[(t - 14) & 15]));
            STORE(&tab[t - 16][p], x[t & 15]);
        }
    }
}

static int search(const struct sha1_search_job *job, uint64_t first,
                  uint64_t count, unsigned bits, uint64_t *found)
{
    const uint8_t *blk = job->block;
    _Alignas(64) uint32_t lowtab[64];
    /* 32 KiB of stack: schedule words of bytes 54 and 53 alone. */
    _Alignas(64) uint32_t low_w[64][64]; /* [t - 16][lowest digit] */
    _Alignas(64) uint32_t mid_w[64][64]; /* [t - 16][digit in byte 53] */
    uint32_t w[16], block_w[64], chunk_w[64], mask0 = 0;
    uint64_t end = 0, n;
    struct sha1_outer o;
    const int trivial = sha1_search_begin(job, first, count, &bits, &end,
                                          &mask0, w, found);
    int i;

    if (trivial >= 0)
        return trivial;
    for (i = 0; i < 64; i++)
        lowtab[i] = (uint32_t)(uint8_t)alphabet[i] << 8;
    digit_table(low_w, 8);
    digit_table(mid_w, 16);

    n = first & ~(uint64_t)(LANES - 1);
    while (n < end) { /* outer steps: W12 fixed */
        const uint64_t hi = n >> OUTER_SHIFT;
        const uint64_t stop = (hi + 1) << OUTER_SHIFT < end
                                  ? (hi + 1) << OUTER_SHIFT : end;

        w[12] = digit(hi, 18) << 24 | digit(hi, 12) << 16 |
                digit(hi, 6) << 8 | digit(hi, 0);
        sha1_prepare_outer(&o, job->midstate, w);
        while (n < stop) { /* blocks of 64^2: byte 52 of W13 fixed too */
            const uint64_t block_stop = (n | 4095) + 1 < stop
                                            ? (n | 4095) + 1 : stop;

            /* A serial chain, so kept out of the chunk loop: inside it,
             * its latency would stall the vector work at every chunk. */
            w[13] = digit(n, 12) << 24 | blk[SHA1_SEARCH_END_OFFSET];
            schedule(block_w, w);
            while (n < block_stop) { /* chunks of 64: only byte 54 varies */
                const unsigned mid = (unsigned)(n >> 6) & 63;
                const uint32_t w13hi = w[13] | digit(n, 6) << 16;
                const uint64_t chunk_stop = (n | 63) + 1 < block_stop
                                                ? (n | 63) + 1 : block_stop;
                const uint32_t *cw = chunk_w;

                for (i = 0; i < 64; i++)
                    chunk_w[i] = block_w[i] ^ mid_w[i][mid];
                for (; n < chunk_stop; n += LANES) {
                    const unsigned low = (unsigned)(n & 63);
                    const V w13 = OR(SET1(w13hi), LOAD(lowtab + low));
                    V a, b, c, d, e, h0;
                    unsigned zl;

                    /* Hidden from the optimiser so that it broadcasts each
                     * word from memory where it is used, instead of
                     * hoisting 64 broadcast vectors out of the loop and
                     * spilling them. */
                    __asm__("" : "+r"(cw));
                    {
                        /* Rounds 13..17: part of their inputs is invariant. */
                        const V a30 = SET1(o.a30);
                        const V a13 = ADD(SET1(o.t13), w13);
                        const V a14 = ADD(SET1(o.p14), ROL(a13, 5));
                        const V a15 = ADD(ADD(SET1(o.p15),
                                              F1(a13, a30, SET1(o.b30))),
                                          ROL(a14, 5));
                        const V c13 = ROL(a13, 30);
                        const V c14 = ROL(a14, 30);
                        const V w16 = WORD(16);
                        const V a16 = ADD(ADD(ADD(SET1(o.p16), w16),
                                              F1(a14, c13, a30)),
                                          ROL(a15, 5));
                        const V a17 = ADD(ADD(SET1(o.p17), F1(a15, c14, c13)),
                                          ROL(a16, 5));

                        a = a17;
                        b = a16;
                        c = ROL(a15, 30);
                        d = c14;
                        e = c13;
                        RC(F1, kw18, a, b, c, d, e);
                        RW(F1, K1, 19, e, a, b, c, d);
                        RC(F2, kw20, d, e, a, b, c);
                        RW(F2, K2, 21, c, d, e, a, b);
                        RW(F2, K2, 22, b, c, d, e, a);
                        RC(F2, kw23, a, b, c, d, e);
                        RW(F2, K2, 24, e, a, b, c, d);
                        RW(F2, K2, 25, d, e, a, b, c);
                        RC(F2, kw26, c, d, e, a, b);
                        RW(F2, K2, 27, b, c, d, e, a);
                        RW(F2, K2, 28, a, b, c, d, e);
                        RW(F2, K2, 29, e, a, b, c, d);
                        RW(F2, K2, 30, d, e, a, b, c);
                        RW(F2, K2, 31, c, d, e, a, b);
                        RW(F2, K2, 32, b, c, d, e, a);
                        RW(F2, K2, 33, a, b, c, d, e);
                        RW(F2, K2, 34, e, a, b, c, d);
                        RW(F2, K2, 35, d, e, a, b, c);
                        RW(F2, K2, 36, c, d, e, a, b);
                        RW(F2, K2, 37, b, c, d, e, a);
                        RW(F2, K2, 38, a, b, c, d, e);
                        RW(F2, K2, 39, e, a, b, c, d);
                        RW(F3, K3, 40, d, e, a, b, c);
                        RW(F3, K3, 41, c, d, e, a, b);
                        RW(F3, K3, 42, b, c, d, e, a);
                        RW(F3, K3, 43, a, b, c, d, e);
                        RW(F3, K3, 44, e, a, b, c, d);
                        RW(F3, K3, 45, d, e, a, b, c);
                        RW(F3, K3, 46, c, d, e, a, b);
                        RW(F3, K3, 47, b, c, d, e, a);
                        RW(F3, K3, 48, a, b, c, d, e);
                        RW(F3, K3, 49, e, a, b, c, d);
                        RW(F3, K3, 50, d, e, a, b, c);
                        RW(F3, K3, 51, c, d, e, a, b);
                        RW(F3, K3, 52, b, c, d, e, a);
                        RW(F3, K3, 53, a, b, c, d, e);
                        RW(F3, K3, 54, e, a, b, c, d);
                        RW(F3, K3, 55, d, e, a, b, c);
                        RW(F3, K3, 56, c, d, e, a, b);
                        RW(F3, K3, 57, b, c, d, e, a);
                        RW(F3, K3, 58, a, b, c, d, e);
                        RW(F3, K3, 59, e, a, b, c, d);
                        RW(F4, K4, 60, d, e, a, b, c);
                        RW(F4, K4, 61, c, d, e, a, b);
                        RW(F4, K4, 62, b, c, d, e, a);
                        RW(F4, K4, 63, a, b, c, d, e);
                        RW(F4, K4, 64, e, a, b, c, d);
                        RW(F4, K4, 65, d, e, a, b, c);
                        RW(F4, K4, 66, c, d, e, a, b);
                        RW(F4, K4, 67, b, c, d, e, a);
                        RW(F4, K4, 68, a, b, c, d, e);
                        RW(F4, K4, 69, e, a, b, c, d);
                        RW(F4, K4, 70, d, e, a, b, c);
                        RW(F4, K4, 71, c, d, e, a, b);
                        RW(F4, K4, 72, b, c, d, e, a);
                        RW(F4, K4, 73, a, b, c, d, e);
                        RW(F4, K4, 74, e, a, b, c, d);
                        RW(F4, K4, 75, d, e, a, b, c);
                        RW(F4, K4, 76, c, d, e, a, b);
                        RW(F4, K4, 77, b, c, d, e, a);
                        RW(F4, K4, 78, a, b, c, d, e);
                        RW(F4, K4, 79, e, a, b, c, d);
                    }
                    /* The last round left a80 in d and a79 in e. */
                    h0 = ADD(SET1(job->midstate[0]), d);
                    zl = ZERO_LANES(h0, SET1(mask0));
                    if (zl && confirm_hit(h0, ADD(SET1(job->midstate[1]), e),
                                          zl, n, first, end, bits, found))
                        return 1;
                }
            }
        }
    }
    return 0;
}

