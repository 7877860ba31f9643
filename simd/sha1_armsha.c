/*
 * sha1_armsha.c - SHA-1 search kernel for the ARMv8 cryptographic
 * extensions (SHA1C/SHA1P/SHA1M, SHA1H, SHA1SU0/SHA1SU1).
 *
 * Each SHA1C/P/M instruction does four rounds; a single chain of them is
 * latency-bound, so STREAMS independent trials are interleaved.  Streams
 * take consecutive counters and build their own W12/W13 from the counter
 * digits, so they need no alignment.  Rounds 0..11 depend only on the job
 * and run once per call, as do the schedule terms of W0..W11 alone; a trial
 * starts at round 12 (the instructions cannot split a group of four).
 */
#include "config.h"

#ifdef HAVE_KERNEL_ARMSHA

#include <arm_neon.h>
#include <stdint.h>

#include "simd/cpu_features.h"
#include "simd/sha1_search_preamble.h"

#define STREAMS 4

/* Apply M to every stream s (M's first argument). */
#define ALL(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__) M(2, __VA_ARGS__) \
    M(3, __VA_ARGS__)

/* Counter digits d..d+3 of v (most significant first) as a big-endian word;
 * `low` replaces the last one when below 256 (the 0x80 pad of W13). */
static uint32_t digits_word(uint64_t v, unsigned low)
{
    return digit(v, 18) << 24 | digit(v, 12) << 16 | digit(v, 6) << 8 |
           (low < 256 ? low : digit(v, 0));
}

static uint32x4_t msg(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3)
{
    const uint32_t t[4] = { w0, w1, w2, w3 };

    return vld1q_u32(t);
}

/* Message groups 4..6 use the constant groups 0..2. */
#define SCHED4_(s, u) m0_##s = vsha1su1q_u32(c4, m3_##s);
#define SCHED5_(s, u) \
    m1_##s = vsha1su1q_u32(vsha1su0q_u32(msg1, msg2c, m3_##s), m0_##s);
#define SCHED6_(s, u) \
    m2_##s = vsha1su1q_u32(vsha1su0q_u32(msg2c, m3_##s, m0_##s), m1_##s);
#define SCHED_(s, w, x, y, z) \
    w##_##s = vsha1su1q_u32(vsha1su0q_u32(w##_##s, x##_##s, y##_##s), z##_##s);
#define SCHED4() ALL(SCHED4_, 0)
#define SCHED5() ALL(SCHED5_, 0)
#define SCHED6() ALL(SCHED6_, 0)
#define SCHED(w, x, y, z) ALL(SCHED_, w, x, y, z)

/* Four rounds; E of the next group is rol30 of A before these rounds. */
#define GROUP(s, F, k, m) \
    { \
        const uint32_t en_ = vsha1h_u32(vgetq_lane_u32(a_##s, 0)); \
        a_##s = F(a_##s, e_##s, vaddq_u32(m##_##s, k)); \
        e_##s = en_; \
    }

/* Group 3 (rounds 12..15) starts from the constant state after round 11. */
#define START_(s, u) \
    m3_##s = msg(digits_word(c_##s >> 18, 256), digits_word(c_##s << 6, pad), \
                 w14, w15); \
    a_##s = vsha1cq_u32(abcd11, e3, vaddq_u32(m3_##s, k1)); \
    e_##s = e4;

#define DECLARE_(s, u) \
    uint32x4_t a_##s, m0_##s, m1_##s, m2_##s, m3_##s; \
    uint32_t e_##s; \
    const uint64_t c_##s = n + s < end ? n + s : end - 1;

#define CHECK_(s, u) \
    if (n + s < end) { \
        const uint32_t h0 = vgetq_lane_u32(a_##s, 0) + mid0; \
        if ((h0 & mask0) == 0) { \
            const uint32_t h1 = vgetq_lane_u32(a_##s, 1) + mid1; \
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
    const unsigned pad = blk[SHA1_SEARCH_END_OFFSET];
    const uint32x4_t k1 = vdupq_n_u32(K1);
    const uint32x4_t k2 = vdupq_n_u32(K2);
    const uint32x4_t k3 = vdupq_n_u32(K3);
    const uint32x4_t k4 = vdupq_n_u32(K4);
    uint32_t w[16], mask0 = 0, e1, e2, e3, e4, w14, w15;
    uint32x4_t abcd, msg0, msg1, msg2c, c4, abcd11;
    uint64_t end = 0, n;
    const int trivial = sha1_search_begin(job, first, count, &bits, &end,
                                          &mask0, w, found);

    if (trivial >= 0)
        return trivial;
    w14 = w[14];
    w15 = w[15];

    /* Rounds 0..11 and the schedule terms of W0..W11: once per call. */
    abcd = vld1q_u32(job->midstate);
    msg0 = msg(w[0], w[1], w[2], w[3]);
    msg1 = msg(w[4], w[5], w[6], w[7]);
    msg2c = msg(w[8], w[9], w[10], w[11]);
    /* E of group g is rol30 of A before group g - 1. */
    e1 = vsha1h_u32(vgetq_lane_u32(abcd, 0));
    abcd = vsha1cq_u32(abcd, job->midstate[4], vaddq_u32(msg0, k1));
    e2 = vsha1h_u32(vgetq_lane_u32(abcd, 0));
    abcd = vsha1cq_u32(abcd, e1, vaddq_u32(msg1, k1));
    e3 = vsha1h_u32(vgetq_lane_u32(abcd, 0));
    abcd11 = vsha1cq_u32(abcd, e2, vaddq_u32(msg2c, k1));
    e4 = vsha1h_u32(vgetq_lane_u32(abcd11, 0));
    c4 = vsha1su0q_u32(msg0, msg1, msg2c);

    for (n = first; n < end; n += STREAMS) {
        ALL(DECLARE_, 0)
        ALL(START_, 0)
        SCHED4()
        ALL(GROUP, vsha1cq_u32, k1, m0)
        SCHED5()
        ALL(GROUP, vsha1pq_u32, k2, m1)
        SCHED6()
        ALL(GROUP, vsha1pq_u32, k2, m2)
        SCHED(m3, m0, m1, m2)
        ALL(GROUP, vsha1pq_u32, k2, m3)
        SCHED(m0, m1, m2, m3)
        ALL(GROUP, vsha1pq_u32, k2, m0)
        SCHED(m1, m2, m3, m0)
        ALL(GROUP, vsha1pq_u32, k2, m1)
        SCHED(m2, m3, m0, m1)
        ALL(GROUP, vsha1mq_u32, k3, m2)
        SCHED(m3, m0, m1, m2)
        ALL(GROUP, vsha1mq_u32, k3, m3)
        SCHED(m0, m1, m2, m3)
        ALL(GROUP, vsha1mq_u32, k3, m0)
        SCHED(m1, m2, m3, m0)
        ALL(GROUP, vsha1mq_u32, k3, m1)
        SCHED(m2, m3, m0, m1)
        ALL(GROUP, vsha1mq_u32, k3, m2)
        SCHED(m3, m0, m1, m2)
        ALL(GROUP, vsha1pq_u32, k4, m3)
        SCHED(m0, m1, m2, m3)
        ALL(GROUP, vsha1pq_u32, k4, m0)
        SCHED(m1, m2, m3, m0)
        ALL(GROUP, vsha1pq_u32, k4, m1)
        SCHED(m2, m3, m0, m1)
        ALL(GROUP, vsha1pq_u32, k4, m2)
        SCHED(m3, m0, m1, m2)
        ALL(GROUP, vsha1pq_u32, k4, m3)
        /* a holds A..D of round 80: H0 = A + mid0, H1 = B + mid1. */
        ALL(CHECK_, 0)
    }
    return 0;
}

const struct sha1_kernel sha1_kernel_armsha = {
    "armv8-sha", STREAMS, cpu_has_armsha, search
};

#else
typedef int sha1_armsha_not_built; /* ISO C forbids an empty file */
#endif
