/*
 * sha1_sse2.c - SHA-1 search kernel for SSE2, the baseline of every x86-64 CPU.
 *
 * Each step hashes two independent 4-lane vectors (8 trials): one alone
 * leaves the core waiting on the round chain.  SSE2 has no rotate, so each
 * is two shifts and an OR; a left shift by one is an add.
 *
 * The algorithm is in sha1_vector_search.h, shared with the other vector
 * kernels; this file supplies only the operation macros.
 */
#include "config.h"

#ifdef HAVE_KERNEL_SSE2

#include <emmintrin.h>
#include <stdint.h>

#include "simd/cpu_features.h"
#include "simd/sha1_search.h"

#define LANES 8

/* Two independent vectors per step: one alone is latency-bound. */
typedef struct { __m128i lo, hi; } V;
#define P1(op, a) ((V){ op((a).lo), op((a).hi) })
#define P2(op, a, b) ((V){ op((a).lo, (b).lo), op((a).hi, (b).hi) })
#define SET1(v) ((V){ _mm_set1_epi32((int)(v)), _mm_set1_epi32((int)(v)) })
#define LOAD(p) ((V){ _mm_load_si128((const __m128i *)(const void *)(p)), \
                      _mm_load_si128((const __m128i *)(const void *)(p) + 1) })
#define STORE(p, v) (_mm_store_si128((__m128i *)(void *)(p), (v).lo), \
                     _mm_store_si128((__m128i *)(void *)(p) + 1, (v).hi))
#define STOREU(p, v) (_mm_storeu_si128((__m128i *)(void *)(p), (v).lo), \
                      _mm_storeu_si128((__m128i *)(void *)(p) + 1, (v).hi))
#define ADD(a, b) P2(_mm_add_epi32, a, b)
#define AND(a, b) P2(_mm_and_si128, a, b)
#define OR(a, b) P2(_mm_or_si128, a, b)
#define XOR(a, b) P2(_mm_xor_si128, a, b)
#define XOR3(a, b, c) XOR(XOR(a, b), c)
#define XOR4(a, b, c, d) XOR(XOR(a, b), XOR(c, d))
#define ROL_(x, n) _mm_or_si128(_mm_slli_epi32(x, n), _mm_srli_epi32(x, 32 - (n)))
#define ROL(v, n) ((V){ ROL_((v).lo, n), ROL_((v).hi, n) })
#define ROL1_(x) _mm_or_si128(_mm_add_epi32(x, x), _mm_srli_epi32(x, 31))
#define ROL1(v) P1(ROL1_, v)
#define F1(b, c, d) XOR(d, AND(b, XOR(c, d)))
#define F2(b, c, d) XOR3(b, c, d)
#define F3(b, c, d) OR(AND(b, c), AND(d, OR(b, c)))
#define F4(b, c, d) XOR3(b, c, d)
#define OPAQUE(v) __asm__("" : "+x"((v).lo), "+x"((v).hi))
#define ZERO_LANES_(h, m) \
    ((unsigned)_mm_movemask_ps(_mm_castsi128_ps( \
        _mm_cmpeq_epi32(_mm_and_si128(h, m), _mm_setzero_si128()))))
/* Bit i set when lane i has (h0 & mask) == 0. */
#define ZERO_LANES(h0, mask) \
    (ZERO_LANES_((h0).lo, (mask).lo) | ZERO_LANES_((h0).hi, (mask).hi) << 4)

#include "simd/sha1_vector_search.h"

const struct sha1_kernel sha1_kernel_sse2 = {
    "sse2", LANES, cpu_has_sse2, search
};

#else
typedef int sha1_sse2_not_built; /* ISO C forbids an empty file */
#endif
