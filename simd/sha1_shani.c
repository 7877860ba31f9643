/*
 * sha1_shani.c - SHA-1 search kernel for the x86 SHA extensions (SHA-NI).
 *
 * The SHA unit is the bottleneck: on AMD Zen 4 one SHA1RNDS4 issues every
 * 2 cycles, and SHA1MSG1/SHA1MSG2 compete with it for the same unit, while
 * ordinary SSE integer ops run beside it almost for free.  So the kernel
 * moves everything it can off the SHA unit:
 *
 *  - Fewer SHA1RNDS4 per trial (16 instead of 17).  Rounds 0..11 depend on
 *    the job only and round 12 only on W12 (fixed for 64^3 counters), so
 *    they are scalar and out of the loop.  Rounds 13..15 vary with W13 but
 *    are cheap: round 13 is a constant plus W13, and the rest of rounds
 *    14..15 is constant, so the STREAMS trials of an iteration do them
 *    side by side in one SSE vector (a lane per trial) and a 4x4 transpose
 *    hands each stream its A..D before round 16.  E before round 16 is a
 *    constant.  Rounds 16..79 are the 16 aligned SHA1RNDS4 groups.
 *
 *  - No SHA1MSG1/SHA1MSG2 per trial.  The schedule is linear (XOR and
 *    rotate) and only byte 54 (the lowest digit) changes within 64
 *    counters, so each message group is sched[g] XOR low[digit][g]: sched is
 *    the schedule with byte 54 zero (once per 64 counters), low the schedule
 *    of byte 54 alone with every other byte zero (a 16 KiB table, once per
 *    call; it depends on nothing but the alphabet).  One PXOR with a memory
 *    operand per group and stream.  Without the four message vectors per
 *    stream the loop also fits in the 16 XMM registers.
 *
 *  - The streams really run side by side.  Testing each stream's H0 with
 *    its own early-return branch let gcc sink each stream's rounds into its
 *    branch, running the streams mostly one after another (latency-bound);
 *    the H0 of all streams are now tested in one vector before any branch.
 *
 * Streams take the consecutive counters of a group aligned to STREAMS, so
 * they share all but the lowest digit.  Four streams cover the latency of
 * the SHA1RNDS4 chains and fit in the registers.  The table costs 64 short
 * schedules per call, noise next to the 64^3 counters the engine asks for.
 */
#include "config.h"

#ifdef HAVE_KERNEL_SHANI

#include <immintrin.h>
#include <stdint.h>

#include "simd/cpu_features.h"
#include "simd/sha1_search_preamble.h"

#define STREAMS 4
#define GROUPS 16 /* message groups 4..19: rounds 16..79 */

/* Apply M to every stream s (M's first argument). */
#define ALL(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__) M(2, __VA_ARGS__) \
    M(3, __VA_ARGS__)

#define ROL(x, n) SHA1_ROL(x, n)
#define F1(b, c, d) SHA1_F1(b, c, d)
#define VROL(x, n) _mm_or_si128(_mm_slli_epi32(x, n), _mm_srli_epi32(x, 32 - (n)))

/* Schedule words arranged as SHA-NI wants them: W[4g] in the top lane. */
#define MSG(w0, w1, w2, w3) \
    _mm_set_epi32((int)(w0), (int)(w1), (int)(w2), (int)(w3))

/*
 * Message groups 4..19 of the block whose groups 0..3 are m0..m3, by the
 * SHA-NI message instructions (linear, so also right for the tables).
 */
static void schedule(__m128i out[GROUPS], __m128i m0, __m128i m1,
                     __m128i m2, __m128i m3)
{
    int g;

    for (g = 0; g < GROUPS; g++) {
        const __m128i m = _mm_sha1msg2_epu32(
            _mm_xor_si128(_mm_sha1msg1_epu32(m0, m1), m2), m3);

        out[g] = m;
        m0 = m1;
        m1 = m2;
        m2 = m3;
        m3 = m;
    }
}

/* Rounds 16..19 start from a constant E; the later groups use SHA1NEXTE. */
#define FIRST_(s, u) \
    a_##s = _mm_sha1rnds4_epu32(abcd_##s, \
        _mm_add_epi32(_mm_xor_si128(sg, low[d + s][0]), e16), 0); \
    p_##s = abcd_##s;
#define GROUP_(s, f, g) \
    e_##s = _mm_sha1nexte_epu32(p_##s, \
                                _mm_xor_si128(sg, low[d + s][g])); \
    p_##s = a_##s; \
    a_##s = _mm_sha1rnds4_epu32(a_##s, e_##s, f);
#define GROUP(f, g) \
    sg = _mm_load_si128(&sched[g]); \
    ALL(GROUP_, f, g)

/*
 * H0 of every stream in one vector, tested before any branch: a branch per
 * stream lets the compiler sink each stream's rounds into it, which
 * serialises the streams.
 */
static int hit(__m128i a0, __m128i a1, __m128i a2, __m128i a3, uint64_t n,
               uint64_t first, uint64_t end, unsigned bits,
               uint32_t mid0, uint32_t mid1, uint64_t *found)
{
    uint32_t h0[STREAMS], h1[STREAMS];
    const __m128i x01 = _mm_unpackhi_epi32(a0, a1);
    const __m128i x23 = _mm_unpackhi_epi32(a2, a3);
    unsigned s;

    _mm_storeu_si128((__m128i *)h0, _mm_unpackhi_epi64(x01, x23));
    _mm_storeu_si128((__m128i *)h1, _mm_unpacklo_epi64(x01, x23));
    for (s = 0; s < STREAMS; s++)
        if (n + s >= first && n + s < end &&
            sha1_leading_zero_bits(h0[s] + mid0, h1[s] + mid1) >= bits) {
            *found = n + s;
            return 1;
        }
    return 0;
}

static int search(const struct sha1_search_job *job, uint64_t first,
                  uint64_t count, unsigned bits, uint64_t *found)
{
    const uint8_t *blk = job->block;
    const uint32_t mid0 = job->midstate[0], mid1 = job->midstate[1];
    const uint32_t pad = blk[SHA1_SEARCH_END_OFFSET];
    uint32_t w[16], mask0 = 0, a11, b11, c11, d11, e11;
    uint32_t c14 = 0, p14 = 0, p15 = 0, a30 = 0, b30 = 0;
    uint32_t lowdig[64];
    __m128i low[64][GROUPS], sched[GROUPS];
    __m128i e16 = _mm_setzero_si128(), vmid0, vmask0;
    uint64_t end = 0, n;
    const int trivial = sha1_search_begin(job, first, count, &bits, &end,
                                          &mask0, w, found);
    int i;

    if (trivial >= 0)
        return trivial;
    vmid0 = _mm_set1_epi32((int)mid0);
    vmask0 = _mm_set1_epi32((int)mask0);

    /* Rounds 0..11: once per call. */
    a11 = job->midstate[0];
    b11 = job->midstate[1];
    c11 = job->midstate[2];
    d11 = job->midstate[3];
    e11 = job->midstate[4];
    for (i = 0; i < 12; i++) {
        const uint32_t t = ROL(a11, 5) + F1(b11, c11, d11) + e11 + K1 + w[i];

        e11 = d11;
        d11 = c11;
        c11 = ROL(b11, 30);
        b11 = a11;
        a11 = t;
    }

    /* The schedule of the lowest digit alone (STREAMS divides 64, so
     * d + s stays below 64). */
    for (i = 0; i < 64; i++) {
        const uint32_t dg = digit((uint64_t)i, 0) << 8;
        const __m128i z = _mm_setzero_si128();

        lowdig[i] = dg;
        schedule(low[i], z, z, z, MSG(0, dg, 0, 0));
    }

    /* Streams outside [first, end) are computed but never reported. */
    for (n = first & ~(uint64_t)(STREAMS - 1); n < end; n += STREAMS) {
        const unsigned d = (unsigned)(n & 63);
        __m128i a_0, a_1, a_2, a_3, p_0, p_1, p_2, p_3, e_0, e_1, e_2, e_3;
        __m128i abcd_0, abcd_1, abcd_2, abcd_3, sg;

        if (n < first + STREAMS || d == 0) {
            /* Once per 64 counters: round 12, the constant parts of
             * rounds 13..15 and the schedule with byte 54 zero. */
            const uint32_t w12 = digit(n, 36) << 24 | digit(n, 30) << 16 |
                                 digit(n, 24) << 8 | digit(n, 18);
            const uint32_t w13 =
                digit(n, 12) << 24 | digit(n, 6) << 16 | pad;
            const uint32_t a13 = ROL(a11, 5) + F1(b11, c11, d11) + e11 +
                                 K1 + w12;
            const uint32_t b13 = a11, c13 = ROL(b11, 30), d13 = c11;
            const uint32_t e13 = d11;

            c14 = ROL(a13, 5) + F1(b13, c13, d13) + e13 + K1 + w13;
            a30 = ROL(a13, 30);
            b30 = ROL(b13, 30);
            p14 = F1(a13, b30, c13) + d13 + K1 + w[14];
            p15 = c13 + K1 + w[15];
            e16 = MSG(b30, 0, 0, 0);
            schedule(sched, MSG(w[0], w[1], w[2], w[3]),
                     MSG(w[4], w[5], w[6], w[7]),
                     MSG(w[8], w[9], w[10], w[11]),
                     MSG(w12, w13, w[14], w[15]));
        }

        /* Rounds 13..15, a lane per stream, then A..D to each stream. */
        {
            const __m128i x14 = _mm_add_epi32(
                _mm_set1_epi32((int)c14),
                _mm_loadu_si128((const __m128i *)&lowdig[d]));
            const __m128i x15 =
                _mm_add_epi32(VROL(x14, 5), _mm_set1_epi32((int)p14));
            const __m128i f = _mm_xor_si128(
                _mm_and_si128(x14, _mm_set1_epi32((int)(a30 ^ b30))),
                _mm_set1_epi32((int)b30));
            const __m128i x16 = _mm_add_epi32(
                _mm_add_epi32(f, _mm_set1_epi32((int)p15)), VROL(x15, 5));
            const __m128i lo =
                _mm_unpacklo_epi32(_mm_set1_epi32((int)a30), VROL(x14, 30));
            const __m128i hi =
                _mm_unpackhi_epi32(_mm_set1_epi32((int)a30), VROL(x14, 30));
            const __m128i lo2 = _mm_unpacklo_epi32(x15, x16);
            const __m128i hi2 = _mm_unpackhi_epi32(x15, x16);

            abcd_0 = _mm_unpacklo_epi64(lo, lo2);
            abcd_1 = _mm_unpackhi_epi64(lo, lo2);
            abcd_2 = _mm_unpacklo_epi64(hi, hi2);
            abcd_3 = _mm_unpackhi_epi64(hi, hi2);
        }

        sg = _mm_load_si128(&sched[0]);
        ALL(FIRST_, 0)
        GROUP(1, 1)
        GROUP(1, 2)
        GROUP(1, 3)
        GROUP(1, 4)
        GROUP(1, 5)
        GROUP(2, 6)
        GROUP(2, 7)
        GROUP(2, 8)
        GROUP(2, 9)
        GROUP(2, 10)
        GROUP(3, 11)
        GROUP(3, 12)
        GROUP(3, 13)
        GROUP(3, 14)
        GROUP(3, 15)
        /* a holds A..D of round 80: H0 = A + mid0, H1 = B + mid1. */
        {
            const __m128i h0 = _mm_add_epi32(
                _mm_unpackhi_epi64(_mm_unpackhi_epi32(a_0, a_1),
                                   _mm_unpackhi_epi32(a_2, a_3)),
                vmid0);

            if (_mm_movemask_epi8(_mm_cmpeq_epi32(_mm_and_si128(h0, vmask0),
                                                  _mm_setzero_si128())) &&
                hit(a_0, a_1, a_2, a_3, n, first, end, bits, mid0, mid1,
                    found))
                return 1;
        }
    }
    return 0;
}

const struct sha1_kernel sha1_kernel_shani = {
    "sha-ni", STREAMS, cpu_has_shani, search
};

#else
typedef int sha1_shani_not_built; /* ISO C forbids an empty file */
#endif
