/*
 * argon2_avx512.c - Argon2's fill-block G for AVX-512F.
 *
 * The AVX2 kernel's arrangement, twice as wide: one 512-bit register holds
 * the same four words of TWO rounds (its two 256-bit halves), so each
 * instruction advances two Blake2b-BlaMka rounds, and the diagonal step
 * (vpermq with an immediate) works on each half alone.  Rotations are one
 * vprorq each.  Rows 2k and 2k+1 pair up through vshufi64x2; the columns,
 * which are 16-byte pieces of different rows, are gathered and scattered
 * back with one two-source vpermt2q per register.  Two pairs of rounds go
 * together, so four independent chains fill the pipeline.
 */
#include "config.h"

#ifdef HAVE_KERNEL_AVX512

#include <immintrin.h>

#include "simd/argon2_kernels.h"
#include "simd/cpu_features.h"

/* x + y + 2 * lo32(x) * lo32(y) in each 64-bit lane. */
static inline __m512i blamka(__m512i x, __m512i y)
{
    __m512i m = _mm512_mul_epu32(x, y);
    return _mm512_add_epi64(_mm512_add_epi64(x, y), _mm512_add_epi64(m, m));
}

#define G_HALF(a, b, c, d)                                    \
    do {                                                      \
        a = blamka(a, b);                                     \
        d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 32);     \
        c = blamka(c, d);                                     \
        b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 24);     \
        a = blamka(a, b);                                     \
        d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 16);     \
        c = blamka(c, d);                                     \
        b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 63);     \
    } while (0)

/* P over (a, b, c, d) in each 256-bit half: columns, then diagonals. */
#define ROUND(a, b, c, d)                                     \
    do {                                                      \
        G_HALF(a, b, c, d);                                   \
        b = _mm512_permutex_epi64(b, _MM_SHUFFLE(0, 3, 2, 1)); \
        c = _mm512_permutex_epi64(c, _MM_SHUFFLE(1, 0, 3, 2)); \
        d = _mm512_permutex_epi64(d, _MM_SHUFFLE(2, 1, 0, 3)); \
        G_HALF(a, b, c, d);                                   \
        b = _mm512_permutex_epi64(b, _MM_SHUFFLE(2, 1, 0, 3)); \
        c = _mm512_permutex_epi64(c, _MM_SHUFFLE(1, 0, 3, 2)); \
        d = _mm512_permutex_epi64(d, _MM_SHUFFLE(0, 3, 2, 1)); \
    } while (0)

static void fill_block(const argon2_block *prev, const argon2_block *ref,
                       argon2_block *next, int with_xor, const struct argon2_fill_hook *hook)
{
    /* z[2r + h] holds words 8h..8h+7 of row r (16 words a row). */
    const __m512i *p = (const __m512i *) (const void *) prev->v;
    const __m512i *q = (const __m512i *) (const void *) ref->v;
    __m512i *n = (__m512i *) (void *) next->v;
    __m512i z[16], keep[16];

    for (int i = 0; i < 16; i++) {
        z[i] = _mm512_xor_si512(_mm512_load_si512(p + i), _mm512_load_si512(q + i));
        keep[i] = with_xor ? _mm512_xor_si512(z[i], _mm512_load_si512(n + i)) : z[i];
    }

    /* Rows 2k and 2k+1 share registers: a = words 0..3 of both, b = 4..7,
     * c = 8..11, d = 12..15.  Two such pairs at a time. */
    for (int k = 0; k < 4; k += 2) {
        __m512i a0 = _mm512_shuffle_i64x2(z[4 * k], z[4 * k + 2], 0x44);
        __m512i b0 = _mm512_shuffle_i64x2(z[4 * k], z[4 * k + 2], 0xEE);
        __m512i c0 = _mm512_shuffle_i64x2(z[4 * k + 1], z[4 * k + 3], 0x44);
        __m512i d0 = _mm512_shuffle_i64x2(z[4 * k + 1], z[4 * k + 3], 0xEE);
        __m512i a1 = _mm512_shuffle_i64x2(z[4 * k + 4], z[4 * k + 6], 0x44);
        __m512i b1 = _mm512_shuffle_i64x2(z[4 * k + 4], z[4 * k + 6], 0xEE);
        __m512i c1 = _mm512_shuffle_i64x2(z[4 * k + 5], z[4 * k + 7], 0x44);
        __m512i d1 = _mm512_shuffle_i64x2(z[4 * k + 5], z[4 * k + 7], 0xEE);
        ROUND(a0, b0, c0, d0);
        ROUND(a1, b1, c1, d1);
        z[4 * k] = _mm512_shuffle_i64x2(a0, b0, 0x44);
        z[4 * k + 2] = _mm512_shuffle_i64x2(a0, b0, 0xEE);
        z[4 * k + 1] = _mm512_shuffle_i64x2(c0, d0, 0x44);
        z[4 * k + 3] = _mm512_shuffle_i64x2(c0, d0, 0xEE);
        z[4 * k + 4] = _mm512_shuffle_i64x2(a1, b1, 0x44);
        z[4 * k + 6] = _mm512_shuffle_i64x2(a1, b1, 0xEE);
        z[4 * k + 5] = _mm512_shuffle_i64x2(c1, d1, 0x44);
        z[4 * k + 7] = _mm512_shuffle_i64x2(c1, d1, 0xEE);
    }

    /* Columns: column i is 16-byte piece i of every row; a = pieces i of
     * rows 0 and 1, b of rows 2 and 3, and so on.  Columns 2j and 2j+1
     * share registers (halves 0 and 1); j = 2h and 2h+1 both come from
     * z[2r + h], pieces 0,1 and 2,3 of it. */
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i hi = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    const __m512i back0 = _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13);
    const __m512i back1 = _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15);
    for (int h = 0; h < 2; h++) {
        __m512i a0 = _mm512_permutex2var_epi64(z[0 + h], lo, z[2 + h]);
        __m512i a1 = _mm512_permutex2var_epi64(z[0 + h], hi, z[2 + h]);
        __m512i b0 = _mm512_permutex2var_epi64(z[4 + h], lo, z[6 + h]);
        __m512i b1 = _mm512_permutex2var_epi64(z[4 + h], hi, z[6 + h]);
        __m512i c0 = _mm512_permutex2var_epi64(z[8 + h], lo, z[10 + h]);
        __m512i c1 = _mm512_permutex2var_epi64(z[8 + h], hi, z[10 + h]);
        __m512i d0 = _mm512_permutex2var_epi64(z[12 + h], lo, z[14 + h]);
        __m512i d1 = _mm512_permutex2var_epi64(z[12 + h], hi, z[14 + h]);
        ROUND(a0, b0, c0, d0);
        ROUND(a1, b1, c1, d1);
        z[0 + h] = _mm512_permutex2var_epi64(a0, back0, a1);
        z[2 + h] = _mm512_permutex2var_epi64(a0, back1, a1);
        z[4 + h] = _mm512_permutex2var_epi64(b0, back0, b1);
        z[6 + h] = _mm512_permutex2var_epi64(b0, back1, b1);
        z[8 + h] = _mm512_permutex2var_epi64(c0, back0, c1);
        z[10 + h] = _mm512_permutex2var_epi64(c0, back1, c1);
        z[12 + h] = _mm512_permutex2var_epi64(d0, back0, d1);
        z[14 + h] = _mm512_permutex2var_epi64(d0, back1, d1);
        if (h == 0 && hook != NULL)   /* columns 0..3 done: word 0 is final */
            hook->word0(hook->ctx, (uint64_t) _mm_cvtsi128_si64(_mm512_castsi512_si128(
                                       _mm512_xor_si512(z[0], keep[0]))));
    }

    for (int i = 0; i < 16; i++)
        _mm512_store_si512(n + i, _mm512_xor_si512(z[i], keep[i]));
}

const struct argon2_kernel argon2_kernel_avx512 = {
    "avx512", cpu_has_avx512f, fill_block
};

#else
typedef int argon2_avx512_not_built; /* ISO C forbids an empty file */
#endif
