/*
 * sha1_shani.c - SHA-1 search kernel for the x86 SHA extensions (SHA-NI).
 *
 * SHA1RNDS4 does four rounds in one instruction, but a chain of them is
 * latency-bound (about 120 cycles per block), so STREAMS independent
 * trials are interleaved to keep the unit busy.  Four are enough: on AMD
 * Zen 4, 2, 4 and 8 streams all run at the throughput of the SHA unit
 * (about 2.4 cycles per four rounds with their SHA1NEXTE).  Streams take the
 * consecutive counters of a group aligned to STREAMS, so they share all but
 * the lowest digit.  Rounds 0..11 depend only on the job and run once per
 * call, as do the schedule terms built from W0..W11 alone; each trial
 * starts at round 12 (SHA1RNDS4 cannot split a group of four rounds).
 */
#include "config.h"

#ifdef HAVE_KERNEL_SHANI

#include <immintrin.h>
#include <stdint.h>

#include "simd/cpu_features.h"
#include "simd/sha1_search.h"

#define STREAMS 4

/* Apply M to every stream s (M's first argument). */
#define ALL(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__) M(2, __VA_ARGS__) \
    M(3, __VA_ARGS__)

static const char alphabet[] = SHA1_SEARCH_ALPHABET;

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static uint32_t digit(uint64_t n, unsigned shift)
{
    return (uint32_t)(uint8_t)alphabet[(n >> shift) & 63];
}

/* Schedule words arranged as SHA-NI wants them: W[4g] in the top lane. */
#define MSG(w0, w1, w2, w3) \
    _mm_set_epi32((int)(w0), (int)(w1), (int)(w2), (int)(w3))

/* Message groups 4..6 use the constant groups 0..2. */
#define SCHED4_(s, u) m0_##s = _mm_sha1msg2_epu32(c4, m3_##s);
#define SCHED5_(s, u) m1_##s = _mm_sha1msg2_epu32(_mm_xor_si128(c5, m3_##s), m0_##s);
#define SCHED6_(s, u) \
    m2_##s = _mm_sha1msg2_epu32( \
        _mm_xor_si128(_mm_sha1msg1_epu32(msg2c, m3_##s), m0_##s), m1_##s);
#define SCHED_(s, w, x, y, z) \
    w##_##s = _mm_sha1msg2_epu32( \
        _mm_xor_si128(_mm_sha1msg1_epu32(w##_##s, x##_##s), y##_##s), z##_##s);
#define SCHED4() ALL(SCHED4_, 0)
#define SCHED5() ALL(SCHED5_, 0)
#define SCHED6() ALL(SCHED6_, 0)
#define SCHED(w, x, y, z) ALL(SCHED_, w, x, y, z)

/* Four rounds: E from the ABCD of two groups back, then SHA1RNDS4. */
#define GROUP(s, f, m) \
    e_##s = _mm_sha1nexte_epu32(p_##s, m##_##s); \
    p_##s = a_##s; \
    a_##s = _mm_sha1rnds4_epu32(a_##s, e_##s, f);

/* Group 3 (rounds 12..15): its E is W12..W15 plus rol30 of a constant A. */
#define START_(s, u) \
    m3_##s = _mm_or_si128(m3base, lowtab[(n & 63) + s]); \
    e_##s = _mm_add_epi32(m3_##s, rot3); \
    p_##s = abcd11; \
    a_##s = _mm_sha1rnds4_epu32(abcd11, e_##s, 0);

#define DECLARE_(s, u) \
    __m128i a_##s, e_##s, p_##s, m0_##s, m1_##s, m2_##s, m3_##s;

#define CHECK_(s, u) \
    if (n + s >= first && n + s < end) { \
        const uint32_t h0 = (uint32_t)_mm_extract_epi32(a_##s, 3) + mid0; \
        if ((h0 & mask0) == 0) { \
            const uint32_t h1 = (uint32_t)_mm_extract_epi32(a_##s, 2) + mid1; \
            if (sha1_leading_zero_bits(h0, h1) >= bits) { \
                *found = n + s; \
                return 1; \
            } \
        } \
    }

static int search(const struct sha1_search_job *job, uint64_t first,
                  uint64_t count, unsigned bits, uint64_t *found)
{
    const uint8_t *blk = job->block;
    const uint32_t mid0 = job->midstate[0], mid1 = job->midstate[1];
    const uint32_t pad = blk[SHA1_SEARCH_END_OFFSET];
    uint32_t w[16], mask0;
    __m128i abcd0, msg0, msg1, msg2c, c4, c5, rot3, abcd11, e, p, a;
    __m128i m3base = _mm_setzero_si128(), lowtab[64];
    uint64_t end, n;
    uint32_t w14, w15;
    int i;

    if (count == 0 || first >= SHA1_SEARCH_SPACE)
        return 0;
    if (bits == 0) {
        *found = first;
        return 1;
    }
    if (bits > 64)
        bits = 64;
    end = count > SHA1_SEARCH_SPACE - first ? SHA1_SEARCH_SPACE
                                            : first + count;
    mask0 = bits >= 32 ? UINT32_C(0xFFFFFFFF)
                       : ~(UINT32_C(0xFFFFFFFF) >> bits);
    for (i = 0; i < 16; i++)
        w[i] = load_be32(blk + 4 * i);
    w14 = w[14];
    w15 = w[15];

    /* Rounds 0..11 and the schedule terms of W0..W11: once per call. */
    abcd0 = MSG(job->midstate[0], job->midstate[1], job->midstate[2],
                job->midstate[3]);
    msg0 = MSG(w[0], w[1], w[2], w[3]);
    msg1 = MSG(w[4], w[5], w[6], w[7]);
    msg2c = MSG(w[8], w[9], w[10], w[11]);
    e = _mm_add_epi32(MSG(job->midstate[4], 0, 0, 0), msg0);
    p = abcd0;
    a = _mm_sha1rnds4_epu32(abcd0, e, 0);
    e = _mm_sha1nexte_epu32(p, msg1);
    p = a;
    a = _mm_sha1rnds4_epu32(a, e, 0);
    e = _mm_sha1nexte_epu32(p, msg2c);
    p = a;
    abcd11 = _mm_sha1rnds4_epu32(a, e, 0);
    rot3 = _mm_sha1nexte_epu32(p, _mm_setzero_si128());
    c4 = _mm_xor_si128(_mm_sha1msg1_epu32(msg0, msg1), msg2c);
    c5 = _mm_sha1msg1_epu32(msg1, msg2c);

    /* Lane 2 (W13) of message group 3: the lowest digit, then the pad. */
    for (i = 0; i < 64; i++)
        lowtab[i] = _mm_set_epi32(0, (int)(digit((uint64_t)i, 0) << 8 | pad),
                                  0, 0);

    /* Streams outside [first, end) are computed but never reported. */
    for (n = first & ~(uint64_t)(STREAMS - 1); n < end; n += STREAMS) {
        ALL(DECLARE_, 0)

        if (n < first + STREAMS || (n & 63) == 0) /* W12, W13 high bytes */
            m3base = MSG(digit(n, 36) << 24 | digit(n, 30) << 16 |
                             digit(n, 24) << 8 | digit(n, 18),
                         digit(n, 12) << 24 | digit(n, 6) << 16, w14, w15);
        ALL(START_, 0)
        SCHED4()
        ALL(GROUP, 0, m0);
        SCHED5()
        ALL(GROUP, 1, m1);
        SCHED6()
        ALL(GROUP, 1, m2);
        SCHED(m3, m0, m1, m2)
        ALL(GROUP, 1, m3);
        SCHED(m0, m1, m2, m3)
        ALL(GROUP, 1, m0);
        SCHED(m1, m2, m3, m0)
        ALL(GROUP, 1, m1);
        SCHED(m2, m3, m0, m1)
        ALL(GROUP, 2, m2);
        SCHED(m3, m0, m1, m2)
        ALL(GROUP, 2, m3);
        SCHED(m0, m1, m2, m3)
        ALL(GROUP, 2, m0);
        SCHED(m1, m2, m3, m0)
        ALL(GROUP, 2, m1);
        SCHED(m2, m3, m0, m1)
        ALL(GROUP, 2, m2);
        SCHED(m3, m0, m1, m2)
        ALL(GROUP, 3, m3);
        SCHED(m0, m1, m2, m3)
        ALL(GROUP, 3, m0);
        SCHED(m1, m2, m3, m0)
        ALL(GROUP, 3, m1);
        SCHED(m2, m3, m0, m1)
        ALL(GROUP, 3, m2);
        SCHED(m3, m0, m1, m2)
        ALL(GROUP, 3, m3);
        /* a holds A..D of round 80: H0 = A + mid0, H1 = B + mid1. */
        ALL(CHECK_, 0)
    }
    return 0;
}

const struct sha1_kernel sha1_kernel_shani = {
    "sha-ni", STREAMS, cpu_has_shani, search
};

#else
typedef int sha1_shani_not_built; /* ISO C forbids an empty file */
#endif
