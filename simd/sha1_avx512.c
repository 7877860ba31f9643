/*
 * sha1_avx512.c - SHA-1 search kernel for AVX-512F.
 *
 * Each step hashes two independent 16-lane vectors (32 trials): one alone
 * leaves the core waiting on the round chain.  The round functions are
 * single VPTERNLOGD instructions and the rotates single VPROLD.
 *
 * The algorithm is in sha1_vector_search.h, shared with the other vector
 * kernels; this file supplies only the operation macros.
 */
#include "config.h"

#ifdef HAVE_KERNEL_AVX512

#include <immintrin.h>
#include <stdint.h>

#include "simd/cpu_features.h"
#include "simd/sha1_search.h"

#define LANES 32

/* Two independent vectors per step: one alone is latency-bound. */
typedef struct { __m512i lo, hi; } V;
#define P2(op, a, b) ((V){ op((a).lo, (b).lo), op((a).hi, (b).hi) })
#define SET1(v) ((V){ _mm512_set1_epi32((int)(v)), _mm512_set1_epi32((int)(v)) })
#define LOAD(p) ((V){ _mm512_load_si512((const void *)(p)), \
                      _mm512_load_si512((const void *)((const char *)(p) + 64)) })
#define STORE(p, v) (_mm512_store_si512((void *)(p), (v).lo), \
                     _mm512_store_si512((void *)((char *)(p) + 64), (v).hi))
#define STOREU(p, v) (_mm512_storeu_si512((void *)(p), (v).lo), \
                     _mm512_storeu_si512((void *)((char *)(p) + 64), (v).hi))
#define ADD(a, b) P2(_mm512_add_epi32, a, b)
#define OR(a, b) P2(_mm512_or_si512, a, b)
#define XOR(a, b) P2(_mm512_xor_si512, a, b)
#define T3(a, b, c, imm) ((V){ _mm512_ternarylogic_epi32((a).lo, (b).lo, (c).lo, imm), \
                               _mm512_ternarylogic_epi32((a).hi, (b).hi, (c).hi, imm) })
#define XOR3(a, b, c) T3(a, b, c, 0x96)
#define XOR4(a, b, c, d) XOR(XOR3(a, b, c), d)
#define ROL(v, n) ((V){ _mm512_rol_epi32((v).lo, n), _mm512_rol_epi32((v).hi, n) })
#define ROL1(v) ROL(v, 1)
#define F1(b, c, d) T3(b, c, d, 0xCA) /* b ? c : d */
#define F2(b, c, d) XOR3(b, c, d)
#define F3(b, c, d) T3(b, c, d, 0xE8) /* majority */
#define F4(b, c, d) XOR3(b, c, d)
#define OPAQUE(v) __asm__("" : "+v"((v).lo), "+v"((v).hi))
/* Bit i set when lane i has (h0 & mask) == 0. */
#define ZERO_LANES(h0, mask) \
    ((unsigned)_mm512_testn_epi32_mask((h0).lo, (mask).lo) | \
     (unsigned)_mm512_testn_epi32_mask((h0).hi, (mask).hi) << 16)

#include "simd/sha1_vector_search.h"

const struct sha1_kernel sha1_kernel_avx512 = {
    "avx512", LANES, cpu_has_avx512f, search
};

#else
typedef int sha1_avx512_not_built; /* ISO C forbids an empty file */
#endif
