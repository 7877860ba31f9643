/*
 * sha1_portable.c - SHA-1 in plain C: the compression function, the
 * counter/digest helpers every kernel shares, and the portable search kernel.
 *
 * The portable kernel is the oracle the vector kernels are tested against
 * and the last resort of the dispatcher, so it uses nothing beyond C11.  It
 * hashes two consecutive counters side by side in two independent pipes so
 * that an out-of-order core can overlap their dependency chains.
 *
 * Per outer step (every 64^3 counters, when W12 changes) rounds 0..12, the
 * schedule words that do not depend on W13 and the XOR of the invariant
 * terms of every other schedule word are computed once; a trial then costs
 * rounds 13..79 and the W13-dependent part of the schedule only.
 */
#include "config.h"

#include <string.h>

#include "simd/sha1_search_preamble.h"

#define ROL(x, n) SHA1_ROL(x, n)
#define F1(b, c, d) SHA1_F1(b, c, d)
#define F2(b, c, d) ((b) ^ (c) ^ (d))
#define F3(b, c, d) (((b) & (c)) | ((d) & ((b) | (c))))
#define F4(b, c, d) F2(b, c, d)

#define LANES 2

void sha1_compress(uint32_t state[5], const uint8_t block[64])
{
    uint32_t w[80];
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3],
             e = state[4], t;
    int i;

    for (i = 0; i < 16; i++)
        w[i] = load_be32(block + 4 * i);
    for (i = 16; i < 80; i++)
        w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        if (i < 20)
            t = F1(b, c, d) + K1;
        else if (i < 40)
            t = F2(b, c, d) + K2;
        else if (i < 60)
            t = F3(b, c, d) + K3;
        else
            t = F4(b, c, d) + K4;
        t += ROL(a, 5) + e + w[i];
        e = d;
        d = c;
        c = ROL(b, 30);
        b = a;
        a = t;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
}

void sha1_search_write_counter(uint8_t block[64], uint64_t n)
{
    int i;

    for (i = SHA1_SEARCH_DIGITS - 1; i >= 0; i--) {
        block[SHA1_SEARCH_DIGITS_OFFSET + i] = (uint8_t)alphabet[n & 63];
        n >>= 6;
    }
}

unsigned sha1_leading_zero_bits(uint32_t h0, uint32_t h1)
{
    unsigned n = 0;
    uint32_t h = h0;

    if (h0 == 0) {
        n = 32;
        h = h1;
        if (h1 == 0)
            return 64;
    }
    while (!(h & UINT32_C(0x80000000))) {
        n++;
        h <<= 1;
    }
    return n;
}

/*
 * What stays fixed while only W13 varies: the rounds and schedule words of
 * sha1_outer, and xN, the XOR of the invariant source terms of schedule
 * word N.
 */
struct outer {
    struct sha1_outer base;
    uint32_t x16, x19, x21, x22, x24, x25, x27, x28, x29, x30, x31, x32,
        x33, x34, x36, x37, x39, x40, x42;
};

static void prepare_outer(struct outer *o, const uint32_t mid[5],
                          const uint32_t w[16])
{
    const struct sha1_outer *c = &o->base;

    sha1_prepare_outer(&o->base, mid, w);
    o->x16 = w[8] ^ w[2] ^ w[0];
    o->x19 = w[11] ^ w[5] ^ w[3];
    o->x21 = c->w18 ^ w[7] ^ w[5];
    o->x22 = w[14] ^ w[8] ^ w[6];
    o->x24 = w[10] ^ w[8];
    o->x25 = c->w17 ^ w[11] ^ w[9];
    o->x27 = w[11];
    o->x28 = c->w20 ^ w[14] ^ w[12];
    o->x29 = c->w26 ^ w[15];
    o->x30 = w[14];
    o->x31 = c->w23 ^ c->w17 ^ w[15];
    o->x32 = c->w18;
    o->x33 = c->w17;
    o->x34 = c->w26 ^ c->w20 ^ c->w18;
    o->x36 = c->w20;
    o->x37 = c->w23;
    o->x39 = c->w23;
    o->x40 = c->w26;
    o->x42 = c->w26;
}

/* Both pipes of one step; p is the pipe index. */
#define PIPES(S) S(0) S(1)

#define SCHED1X_(t, i, x, p) w##t[p] = ROL(w##i[p] ^ o->x, 1);
#define SCHED2X_(t, i, j, x, p) w##t[p] = ROL(w##i[p] ^ w##j[p] ^ o->x, 1);
#define SCHED3X_(t, i, j, k, x, p) \
    w##t[p] = ROL(w##i[p] ^ w##j[p] ^ w##k[p] ^ o->x, 1);
#define SCHED4_(t, i, j, k, l, p) \
    w##t[p] = ROL(w##i[p] ^ w##j[p] ^ w##k[p] ^ w##l[p], 1);
#define SCHED1X(t, i, x) \
    uint32_t w##t[2]; SCHED1X_(t, i, x, 0) SCHED1X_(t, i, x, 1)
#define SCHED2X(t, i, j, x) \
    uint32_t w##t[2]; SCHED2X_(t, i, j, x, 0) SCHED2X_(t, i, j, x, 1)
#define SCHED3X(t, i, j, k, x) \
    uint32_t w##t[2]; SCHED3X_(t, i, j, k, x, 0) SCHED3X_(t, i, j, k, x, 1)
#define SCHED4(t, i, j, k, l) \
    uint32_t w##t[2]; SCHED4_(t, i, j, k, l, 0) SCHED4_(t, i, j, k, l, 1)

/* rol5(a) is added last: it is the only term on the loop-carried path. */
#define R_(F, KW, a, b, c, d, e, p) \
    e[p] = e[p] + (KW) + F(b[p], c[p], d[p]) + ROL(a[p], 5); \
    b[p] = ROL(b[p], 30);
#define RW(F, K, t, a, b, c, d, e) \
    R_(F, K + w##t[0], a, b, c, d, e, 0) R_(F, K + w##t[1], a, b, c, d, e, 1)
#define RC(F, kw, a, b, c, d, e) \
    R_(F, o->base.kw, a, b, c, d, e, 0) R_(F, o->base.kw, a, b, c, d, e, 1)

/* Hash two trials whose W13 are w13[0], w13[1]; return H0 and H1 of each. */
static void trial2(const struct outer *o, const uint32_t mid[5],
                   const uint32_t w13[2], uint32_t h0[2], uint32_t h1[2])
{
    uint32_t a[2], b[2], c[2], d[2], e[2], w16[2];
    int p;

    for (p = 0; p < 2; p++) {
        /* Rounds 13..17: part of their inputs is still invariant. */
        uint32_t a13, a14, a15, a16, a17, c13, c14;

        a13 = o->base.t13 + w13[p];
        a14 = o->base.p14 + ROL(a13, 5);
        a15 = o->base.p15 + F1(a13, o->base.a30, o->base.b30) + ROL(a14, 5);
        c13 = ROL(a13, 30);
        w16[p] = ROL(w13[p] ^ o->x16, 1);
        a16 = o->base.p16 + w16[p] + F1(a14, c13, o->base.a30) + ROL(a15, 5);
        c14 = ROL(a14, 30);
        a17 = o->base.p17 + F1(a15, c14, c13) + ROL(a16, 5);
        a[p] = a17;
        b[p] = a16;
        c[p] = ROL(a15, 30);
        d[p] = c14;
        e[p] = c13;
    }
    RC(F1, kw18, a, b, c, d, e);
    SCHED1X(19, 16, x19);
    RW(F1, K1, 19, e, a, b, c, d);
    RC(F2, kw20, d, e, a, b, c);
    SCHED1X(21, 13, x21);
    RW(F2, K2, 21, c, d, e, a, b);
    SCHED1X(22, 19, x22);
    RW(F2, K2, 22, b, c, d, e, a);
    RC(F2, kw23, a, b, c, d, e);
    SCHED2X(24, 21, 16, x24);
    RW(F2, K2, 24, e, a, b, c, d);
    SCHED1X(25, 22, x25);
    RW(F2, K2, 25, d, e, a, b, c);
    RC(F2, kw26, c, d, e, a, b);
    SCHED3X(27, 24, 19, 13, x27);
    RW(F2, K2, 27, b, c, d, e, a);
    SCHED1X(28, 25, x28);
    RW(F2, K2, 28, a, b, c, d, e);
    SCHED2X(29, 21, 13, x29);
    RW(F2, K2, 29, e, a, b, c, d);
    SCHED3X(30, 27, 22, 16, x30);
    RW(F2, K2, 30, d, e, a, b, c);
    SCHED1X(31, 28, x31);
    RW(F2, K2, 31, c, d, e, a, b);
    SCHED3X(32, 29, 24, 16, x32);
    RW(F2, K2, 32, b, c, d, e, a);
    SCHED3X(33, 30, 25, 19, x33);
    RW(F2, K2, 33, a, b, c, d, e);
    SCHED1X(34, 31, x34);
    RW(F2, K2, 34, e, a, b, c, d);
    SCHED4(35, 32, 27, 21, 19);
    RW(F2, K2, 35, d, e, a, b, c);
    SCHED3X(36, 33, 28, 22, x36);
    RW(F2, K2, 36, c, d, e, a, b);
    SCHED3X(37, 34, 29, 21, x37);
    RW(F2, K2, 37, b, c, d, e, a);
    SCHED4(38, 35, 30, 24, 22);
    RW(F2, K2, 38, a, b, c, d, e);
    SCHED3X(39, 36, 31, 25, x39);
    RW(F2, K2, 39, e, a, b, c, d);
    SCHED3X(40, 37, 32, 24, x40);
    RW(F3, K3, 40, d, e, a, b, c);
    SCHED4(41, 38, 33, 27, 25);
    RW(F3, K3, 41, c, d, e, a, b);
    SCHED3X(42, 39, 34, 28, x42);
    RW(F3, K3, 42, b, c, d, e, a);
    SCHED4(43, 40, 35, 29, 27);
    RW(F3, K3, 43, a, b, c, d, e);
    SCHED4(44, 41, 36, 30, 28);
    RW(F3, K3, 44, e, a, b, c, d);
    SCHED4(45, 42, 37, 31, 29);
    RW(F3, K3, 45, d, e, a, b, c);
    SCHED4(46, 43, 38, 32, 30);
    RW(F3, K3, 46, c, d, e, a, b);
    SCHED4(47, 44, 39, 33, 31);
    RW(F3, K3, 47, b, c, d, e, a);
    SCHED4(48, 45, 40, 34, 32);
    RW(F3, K3, 48, a, b, c, d, e);
    SCHED4(49, 46, 41, 35, 33);
    RW(F3, K3, 49, e, a, b, c, d);
    SCHED4(50, 47, 42, 36, 34);
    RW(F3, K3, 50, d, e, a, b, c);
    SCHED4(51, 48, 43, 37, 35);
    RW(F3, K3, 51, c, d, e, a, b);
    SCHED4(52, 49, 44, 38, 36);
    RW(F3, K3, 52, b, c, d, e, a);
    SCHED4(53, 50, 45, 39, 37);
    RW(F3, K3, 53, a, b, c, d, e);
    SCHED4(54, 51, 46, 40, 38);
    RW(F3, K3, 54, e, a, b, c, d);
    SCHED4(55, 52, 47, 41, 39);
    RW(F3, K3, 55, d, e, a, b, c);
    SCHED4(56, 53, 48, 42, 40);
    RW(F3, K3, 56, c, d, e, a, b);
    SCHED4(57, 54, 49, 43, 41);
    RW(F3, K3, 57, b, c, d, e, a);
    SCHED4(58, 55, 50, 44, 42);
    RW(F3, K3, 58, a, b, c, d, e);
    SCHED4(59, 56, 51, 45, 43);
    RW(F3, K3, 59, e, a, b, c, d);
    SCHED4(60, 57, 52, 46, 44);
    RW(F4, K4, 60, d, e, a, b, c);
    SCHED4(61, 58, 53, 47, 45);
    RW(F4, K4, 61, c, d, e, a, b);
    SCHED4(62, 59, 54, 48, 46);
    RW(F4, K4, 62, b, c, d, e, a);
    SCHED4(63, 60, 55, 49, 47);
    RW(F4, K4, 63, a, b, c, d, e);
    SCHED4(64, 61, 56, 50, 48);
    RW(F4, K4, 64, e, a, b, c, d);
    SCHED4(65, 62, 57, 51, 49);
    RW(F4, K4, 65, d, e, a, b, c);
    SCHED4(66, 63, 58, 52, 50);
    RW(F4, K4, 66, c, d, e, a, b);
    SCHED4(67, 64, 59, 53, 51);
    RW(F4, K4, 67, b, c, d, e, a);
    SCHED4(68, 65, 60, 54, 52);
    RW(F4, K4, 68, a, b, c, d, e);
    SCHED4(69, 66, 61, 55, 53);
    RW(F4, K4, 69, e, a, b, c, d);
    SCHED4(70, 67, 62, 56, 54);
    RW(F4, K4, 70, d, e, a, b, c);
    SCHED4(71, 68, 63, 57, 55);
    RW(F4, K4, 71, c, d, e, a, b);
    SCHED4(72, 69, 64, 58, 56);
    RW(F4, K4, 72, b, c, d, e, a);
    SCHED4(73, 70, 65, 59, 57);
    RW(F4, K4, 73, a, b, c, d, e);
    SCHED4(74, 71, 66, 60, 58);
    RW(F4, K4, 74, e, a, b, c, d);
    SCHED4(75, 72, 67, 61, 59);
    RW(F4, K4, 75, d, e, a, b, c);
    SCHED4(76, 73, 68, 62, 60);
    RW(F4, K4, 76, c, d, e, a, b);
    SCHED4(77, 74, 69, 63, 61);
    RW(F4, K4, 77, b, c, d, e, a);
    SCHED4(78, 75, 70, 64, 62);
    RW(F4, K4, 78, a, b, c, d, e);
    SCHED4(79, 76, 71, 65, 63);
    RW(F4, K4, 79, e, a, b, c, d);

    /* The last round left a80 in d and a79 in e. */
    for (p = 0; p < 2; p++) {
        h0[p] = mid[0] + d[p];
        h1[p] = mid[1] + e[p];
    }
}

static int portable_search(const struct sha1_search_job *job, uint64_t first,
                           uint64_t count, unsigned bits, uint64_t *found)
{
    const uint8_t *blk = job->block;
    uint64_t end = 0, n;
    uint32_t w[16], mask0 = 0;
    struct outer o;
    const int trivial = sha1_search_begin(job, first, count, &bits, &end,
                                          &mask0, w, found);

    if (trivial >= 0)
        return trivial;

    n = first & ~(uint64_t)(LANES - 1);
    while (n < end) {
        uint64_t hi = n >> OUTER_SHIFT;
        uint64_t stop = (hi + 1) << OUTER_SHIFT;

        if (stop > end)
            stop = end;
        w[12] = digit(hi, 18) << 24 | digit(hi, 12) << 16 |
                digit(hi, 6) << 8 | digit(hi, 0);
        prepare_outer(&o, job->midstate, w);
        while (n < stop) {
            uint32_t w13hi = digit(n, 12) << 24 | digit(n, 6) << 16 |
                             blk[SHA1_SEARCH_END_OFFSET];
            uint64_t chunk_stop = (n | 63) + 1;

            if (chunk_stop > stop)
                chunk_stop = stop;
            for (; n < chunk_stop; n += LANES) {
                uint32_t w13[2], h0[2], h1[2];
                int p;

                for (p = 0; p < 2; p++)
                    w13[p] = w13hi |
                        (uint32_t)(uint8_t)alphabet[(n & 63) + (unsigned)p] << 8;
                trial2(&o, job->midstate, w13, h0, h1);
                for (p = 0; p < 2; p++) {
                    if ((h0[p] & mask0) == 0 && n + (unsigned)p >= first &&
                        n + (unsigned)p < end &&
                        sha1_leading_zero_bits(h0[p], h1[p]) >= bits) {
                        *found = n + (unsigned)p;
                        return 1;
                    }
                }
            }
        }
    }
    return 0;
}

static int portable_supported(void)
{
    return 1;
}

const struct sha1_kernel sha1_kernel_portable = {
    "portable", LANES, portable_supported, portable_search
};
