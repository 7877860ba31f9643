/*
 * sha1_avx2.c - SHA-1 search kernel for AVX2.
 *
 * Each step hashes two independent 8-lane vectors (16 trials): one alone
 * leaves the core waiting on the round chain.  AVX2 has no rotate, so each
 * is two shifts and an OR; a left shift by one is an add.
 *
 * The algorithm is in sha1_vector_search.h, shared with the other vector
 * kernels; this file supplies only the operation macros.
 */
#include "config.h"

#ifdef HAVE_KERNEL_AVX2

#include <immintrin.h>
#include <stdint.h>

#include "simd/cpu_features.h"
#include "simd/sha1_search.h"

#define LANES 16

/* Two independent vectors per step: one alone is latency-bound. */
typedef struct { __m256i lo, hi; } V;
#define P1(op, a) ((V){ op((a).lo), op((a).hi) })
#define P2(op, a, b) ((V){ op((a).lo, (b).lo), op((a).hi, (b).hi) })
#define SET1(v) ((V){ _mm256_set1_epi32((int)(v)), _mm256_set1_epi32((int)(v)) })
#define LOAD(p) ((V){ _mm256_load_si256((const __m256i *)(const void *)(p)), \
                      _mm256_load_si256((const __m256i *)(const void *)(p) + 1) })
#define STORE(p, v) (_mm256_store_si256((__m256i *)(void *)(p), (v).lo), \
                     _mm256_store_si256((__m256i *)(void *)(p) + 1, (v).hi))
#define STOREU(p, v) (_mm256_storeu_si256((__m256i *)(void *)(p), (v).lo), \
                     _mm256_storeu_si256((__m256i *)(void *)(p) + 1, (v).hi))
#define ADD(a, b) P2(_mm256_add_epi32, a, b)
#define AND(a, b) P2(_mm256_and_si256, a, b)
#define OR(a, b) P2(_mm256_or_si256, a, b)
#define XOR(a, b) P2(_mm256_xor_si256, a, b)
#define XOR3(a, b, c) XOR(XOR(a, b), c)
#define XOR4(a, b, c, d) XOR(XOR(a, b), XOR(c, d))
#define ROL_(x, n) _mm256_or_si256(_mm256_slli_epi32(x, n), _mm256_srli_epi32(x, 32 - (n)))
#define ROL(v, n) ((V){ ROL_((v).lo, n), ROL_((v).hi, n) })
#define ROL1_(x) _mm256_or_si256(_mm256_add_epi32(x, x), _mm256_srli_epi32(x, 31))
#define ROL1(v) P1(ROL1_, v)
#define F1(b, c, d) XOR(d, AND(b, XOR(c, d)))
#define F2(b, c, d) XOR3(b, c, d)
#define F3(b, c, d) OR(AND(b, c), AND(d, OR(b, c)))
#define F4(b, c, d) XOR3(b, c, d)
#define OPAQUE(v) __asm__("" : "+x"((v).lo), "+x"((v).hi))
#define ZERO_LANES_(h, m) \
    ((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32( \
        _mm256_and_si256(h, m), _mm256_setzero_si256()))))
/* Bit i set when lane i has (h0 & mask) == 0. */
#define ZERO_LANES(h0, mask) \
    (ZERO_LANES_((h0).lo, (mask).lo) | ZERO_LANES_((h0).hi, (mask).hi) << 8)

#include "simd/sha1_vector_search.h"

const struct sha1_kernel sha1_kernel_avx2 = {
    "avx2", LANES, cpu_has_avx2, search
};

#else
typedef int sha1_avx2_not_built; /* ISO C forbids an empty file */
#endif
