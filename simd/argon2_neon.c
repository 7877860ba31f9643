/*
 * argon2_neon.c - Argon2's fill-block G for aarch64 Advanced SIMD (NEON),
 * for Raspberry Pi class boards.
 *
 * A 128-bit register holds two words, so a Blake2b-BlaMka round over 16
 * words is eight registers, two quarter-rounds per instruction, in two
 * independent halves; the diagonal step is a few EXTs (libargon2's SSE
 * arrangement).  BlaMka's 32x32->64 multiply is UMULL on the narrowed low
 * halves; the rotation by 32 is REV64 on 32-bit lanes, the others a shift
 * and a shift-right-insert.
 */
#include "config.h"

#ifdef HAVE_KERNEL_NEON

#include <arm_neon.h>

#include "simd/argon2_index.h"
#include "simd/argon2_kernels.h"
#include "simd/cpu_features.h"

typedef uint64x2_t V;

/* x + y + 2 * lo32(x) * lo32(y) in each 64-bit lane. */
static inline V blamka(V x, V y)
{
    V m = vmull_u32(vmovn_u64(x), vmovn_u64(y));
    return vaddq_u64(vaddq_u64(x, y), vaddq_u64(m, m));
}

static inline V ror32(V x)
{
    return vreinterpretq_u64_u32(vrev64q_u32(vreinterpretq_u32_u64(x)));
}

#define ROR(x, n) vsriq_n_u64(vshlq_n_u64((x), 64 - (n)), (x), (n))

#define G_HALF(a, b, c, d)                  \
    do {                                    \
        a = blamka(a, b);                   \
        d = ror32(veorq_u64(d, a));         \
        c = blamka(c, d);                   \
        b = veorq_u64(b, c);                \
        b = ROR(b, 24);                     \
        a = blamka(a, b);                   \
        d = veorq_u64(d, a);                \
        d = ROR(d, 16);                     \
        c = blamka(c, d);                   \
        b = veorq_u64(b, c);                \
        b = ROR(b, 63);                     \
    } while (0)

/* P over the 16 words (a0 a1 b0 b1 c0 c1 d0 d1), two words a register. */
#define ROUND(a0, a1, b0, b1, c0, c1, d0, d1)       \
    do {                                            \
        V t0_, t1_;                                 \
        G_HALF(a0, b0, c0, d0);                     \
        G_HALF(a1, b1, c1, d1);                     \
        t0_ = vextq_u64(b0, b1, 1);                 \
        t1_ = vextq_u64(b1, b0, 1);                 \
        b0 = t0_, b1 = t1_;                         \
        t0_ = c0, c0 = c1, c1 = t0_;                \
        t0_ = vextq_u64(d1, d0, 1);                 \
        t1_ = vextq_u64(d0, d1, 1);                 \
        d0 = t0_, d1 = t1_;                         \
        G_HALF(a0, b0, c0, d0);                     \
        G_HALF(a1, b1, c1, d1);                     \
        t0_ = vextq_u64(b1, b0, 1);                 \
        t1_ = vextq_u64(b0, b1, 1);                 \
        b0 = t0_, b1 = t1_;                         \
        t0_ = c0, c0 = c1, c1 = t0_;                \
        t0_ = vextq_u64(d0, d1, 1);                 \
        t1_ = vextq_u64(d1, d0, 1);                 \
        d0 = t0_, d1 = t1_;                         \
    } while (0)

/* G, with word 0 handed to the hook or to the next reference's prefetch
 * (struct argon2_next) as soon as it is final. */
static inline __attribute__((always_inline)) void
compress(const argon2_block *prev, const argon2_block *ref, argon2_block *next, int with_xor,
         const struct argon2_fill_hook *hook, const struct argon2_next *nx)
{
    /* q[8r + k]: 16-byte piece k of row r. */
    V q[64], keep[64];

    for (int i = 0; i < 64; i++) {
        q[i] = veorq_u64(vld1q_u64(prev->v + 2 * i), vld1q_u64(ref->v + 2 * i));
        keep[i] = with_xor ? veorq_u64(q[i], vld1q_u64(next->v + 2 * i)) : q[i];
    }
    for (int r = 0; r < 8; r++)
        ROUND(q[8 * r], q[8 * r + 1], q[8 * r + 2], q[8 * r + 3],
              q[8 * r + 4], q[8 * r + 5], q[8 * r + 6], q[8 * r + 7]);
    for (int c = 0; c < 8; c++) {
        ROUND(q[c], q[8 + c], q[16 + c], q[24 + c],
              q[32 + c], q[40 + c], q[48 + c], q[56 + c]);
        if (c == 0 && hook != NULL)   /* word 0 is final now */
            hook->word0(hook->ctx, vgetq_lane_u64(veorq_u64(q[0], keep[0]), 0));
        if (c == 0 && nx != NULL)
            argon2_prefetch_next(nx, vgetq_lane_u64(veorq_u64(q[0], keep[0]), 0));
    }
    for (int i = 0; i < 64; i++)
        vst1q_u64(next->v + 2 * i, veorq_u64(q[i], keep[i]));
}

#define ARGON2_KERNEL_VAR argon2_kernel_neon
#define ARGON2_KERNEL_NAME "neon"
#define ARGON2_KERNEL_SUPPORTED cpu_has_neon
#include "simd/argon2_kernel_define.h"

#else
typedef int argon2_neon_not_built; /* ISO C forbids an empty file */
#endif
