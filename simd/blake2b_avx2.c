/*
 * blake2b_avx2.c - the H'^1024 chain kernel (simd/blake2b.h) for AVX2:
 * the two chains of an Argon2 lane's first blocks side by side, one in
 * each 64-bit lane of 128-bit registers.
 *
 * Each Blake2b state word is one register holding that word of both
 * chains, so a compression runs the same instructions as a scalar one but
 * does two; there is no diagonalisation shuffle, and the message schedule
 * is only a choice of registers.  The rotations by 32, 24 and 16 are one
 * shuffle each, by 63 an add, a shift and an xor.  (A chain is strictly
 * sequential, and a lane has only two of them, so wider registers would
 * sit idle.)  VEX-encoded under AVX2's flags.
 */
#include "config.h"

#ifdef HAVE_KERNEL_AVX2

#include <immintrin.h>

#include "simd/blake2b.h"
#include "simd/cpu_features.h"

/* The message schedule, known here at compile time so that it becomes
 * register choices. */
static const uint8_t sigma[12][16] = BLAKE2B_SIGMA;

#define ROR32(x) _mm_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))
#define ROR24(x) _mm_shuffle_epi8((x), rot24)
#define ROR16(x) _mm_shuffle_epi8((x), rot16)
#define ROR63(x) _mm_xor_si128(_mm_srli_epi64((x), 63), _mm_add_epi64((x), (x)))

#define G(a, b, c, d, x, y)                                                                        \
    do {                                                                                           \
        a = _mm_add_epi64(_mm_add_epi64(a, b), (x));                                               \
        d = ROR32(_mm_xor_si128(d, a));                                                            \
        c = _mm_add_epi64(c, d);                                                                   \
        b = ROR24(_mm_xor_si128(b, c));                                                            \
        a = _mm_add_epi64(_mm_add_epi64(a, b), (y));                                               \
        d = ROR16(_mm_xor_si128(d, a));                                                            \
        c = _mm_add_epi64(c, d);                                                                   \
        b = ROR63(_mm_xor_si128(b, c));                                                            \
    } while (0)


/* One final-block compression of both chains from the initial state of
 * an unkeyed Blake2b-512; @t: the bytes hashed (< 2^64). */
static inline __attribute__((always_inline)) void
compress_x2(__m128i h[8], const __m128i m[16], uint64_t t)
{
    const __m128i rot24 = _mm_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
    const __m128i rot16 = _mm_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
    const uint64_t *iv = postage_blake2b_iv;
    __m128i v0 = _mm_set1_epi64x((long long) (iv[0] ^ UINT64_C(0x01010040)));
    __m128i v1 = _mm_set1_epi64x((long long) iv[1]), v2 = _mm_set1_epi64x((long long) iv[2]);
    __m128i v3 = _mm_set1_epi64x((long long) iv[3]), v4 = _mm_set1_epi64x((long long) iv[4]);
    __m128i v5 = _mm_set1_epi64x((long long) iv[5]), v6 = _mm_set1_epi64x((long long) iv[6]);
    __m128i v7 = _mm_set1_epi64x((long long) iv[7]);
    __m128i v8 = _mm_set1_epi64x((long long) iv[0]), v9 = _mm_set1_epi64x((long long) iv[1]);
    __m128i v10 = _mm_set1_epi64x((long long) iv[2]), v11 = _mm_set1_epi64x((long long) iv[3]);
    __m128i v12 = _mm_set1_epi64x((long long) (iv[4] ^ t));
    __m128i v13 = _mm_set1_epi64x((long long) iv[5]);
    __m128i v14 = _mm_set1_epi64x((long long) ~iv[6]);   /* last block */
    __m128i v15 = _mm_set1_epi64x((long long) iv[7]);

    BLAKE2B_ROUNDS();
    h[0] = _mm_xor_si128(_mm_set1_epi64x((long long) (iv[0] ^ UINT64_C(0x01010040))),
                         _mm_xor_si128(v0, v8));
    h[1] = _mm_xor_si128(_mm_set1_epi64x((long long) iv[1]), _mm_xor_si128(v1, v9));
    h[2] = _mm_xor_si128(_mm_set1_epi64x((long long) iv[2]), _mm_xor_si128(v2, v10));
    h[3] = _mm_xor_si128(_mm_set1_epi64x((long long) iv[3]), _mm_xor_si128(v3, v11));
    h[4] = _mm_xor_si128(_mm_set1_epi64x((long long) iv[4]), _mm_xor_si128(v4, v12));
    h[5] = _mm_xor_si128(_mm_set1_epi64x((long long) iv[5]), _mm_xor_si128(v5, v13));
    h[6] = _mm_xor_si128(_mm_set1_epi64x((long long) iv[6]), _mm_xor_si128(v6, v14));
    h[7] = _mm_xor_si128(_mm_set1_epi64x((long long) iv[7]), _mm_xor_si128(v7, v15));
}

/* Words k and k+1 of the state of both chains, to words @at, @at+1 of
 * each block. */
static inline void store_pair(const __m128i h[8], int k, argon2_block *out0,
                              argon2_block *out1, size_t at)
{
    _mm_store_si128((__m128i *) (out0->v + at), _mm_unpacklo_epi64(h[k], h[k + 1]));
    _mm_store_si128((__m128i *) (out1->v + at), _mm_unpackhi_epi64(h[k], h[k + 1]));
}

static void hprime1k_x2(const uint64_t m0[16], const uint64_t m1[16], uint32_t len,
                        argon2_block *out0, argon2_block *out1)
{
    __m128i m[16], h[8];

    for (int k = 0; k < 16; k++)
        m[k] = _mm_set_epi64x((long long) m1[k], (long long) m0[k]);
    compress_x2(h, m, len);   /* V1 */
    for (int k = 8; k < 16; k++)
        m[k] = _mm_setzero_si128();
    for (size_t i = 1; i < 31; i++) {   /* h holds V(i) */
        store_pair(h, 0, out0, out1, 4 * (i - 1));
        store_pair(h, 2, out0, out1, 4 * (i - 1) + 2);
        for (int k = 0; k < 8; k++)
            m[k] = h[k];
        compress_x2(h, m, 64);
    }
    for (int k = 0; k < 8; k += 2)   /* V31, whole */
        store_pair(h, k, out0, out1, 120 + (size_t) k);
}

const struct blake2b_kernel blake2b_kernel_avx2 = { "avx2", cpu_has_avx2, hprime1k_x2 };

#endif /* HAVE_KERNEL_AVX2 */
