/*
 * sha1_neon.c - SHA-1 search kernel for AArch64 Advanced SIMD.
 *
 * Each step hashes two independent 4-lane vectors (8 trials): one alone
 * leaves the core waiting on the round chain.  A rotate is a shift plus a
 * shift-right-and-insert; the choice and majority functions are single
 * bit-select instructions.
 *
 * The algorithm is in sha1_vector_search.h, shared with the other vector
 * kernels; this file supplies only the operation macros.
 */
#include "config.h"

#ifdef HAVE_KERNEL_NEON

#include <arm_neon.h>
#include <stdint.h>

#include "simd/cpu_features.h"
#include "simd/sha1_search.h"

#define LANES 8

/* Two independent vectors per step: one alone is latency-bound. */
typedef struct { uint32x4_t lo, hi; } V;
#define P2(op, a, b) ((V){ op((a).lo, (b).lo), op((a).hi, (b).hi) })
#define SET1(v) ((V){ vdupq_n_u32(v), vdupq_n_u32(v) })
#define LOAD(p) ((V){ vld1q_u32(p), vld1q_u32((p) + 4) })
#define STORE(p, v) (vst1q_u32(p, (v).lo), vst1q_u32((p) + 4, (v).hi))
#define STOREU(p, v) STORE(p, v)
#define ADD(a, b) P2(vaddq_u32, a, b)
#define AND(a, b) P2(vandq_u32, a, b)
#define OR(a, b) P2(vorrq_u32, a, b)
#define XOR(a, b) P2(veorq_u32, a, b)
#define XOR3(a, b, c) XOR(XOR(a, b), c)
#define XOR4(a, b, c, d) XOR(XOR(a, b), XOR(c, d))
#define ROL_(x, n) vsriq_n_u32(vshlq_n_u32(x, n), x, 32 - (n))
#define ROL(v, n) ((V){ ROL_((v).lo, n), ROL_((v).hi, n) })
#define ROL1(v) ROL(v, 1)
#define F1(b, c, d) ((V){ vbslq_u32((b).lo, (c).lo, (d).lo), \
                          vbslq_u32((b).hi, (c).hi, (d).hi) })
#define F2(b, c, d) XOR3(b, c, d)
/* majority: b == c ? c : d, bit by bit */
#define F3(b, c, d) ((V){ vbslq_u32(veorq_u32((b).lo, (c).lo), (d).lo, (c).lo), \
                          vbslq_u32(veorq_u32((b).hi, (c).hi), (d).hi, (c).hi) })
#define F4(b, c, d) XOR3(b, c, d)
#define OPAQUE(v) __asm__("" : "+w"((v).lo), "+w"((v).hi))
static inline unsigned zero_lanes(uint32x4_t h0, uint32x4_t mask)
{
    static const uint32_t bit[4] = { 1, 2, 4, 8 };

    return vaddvq_u32(vandq_u32(vceqq_u32(vandq_u32(h0, mask), vdupq_n_u32(0)),
                                vld1q_u32(bit)));
}
/* Bit i set when lane i has (h0 & mask) == 0. */
#define ZERO_LANES(h0, mask) \
    (zero_lanes((h0).lo, (mask).lo) | zero_lanes((h0).hi, (mask).hi) << 4)

#include "simd/sha1_vector_search.h"

const struct sha1_kernel sha1_kernel_neon = {
    "neon", LANES, cpu_has_neon, search
};

#else
typedef int sha1_neon_not_built; /* ISO C forbids an empty file */
#endif
