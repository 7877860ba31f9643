/*
 * argon2_avx2.c - Argon2's fill-block G for AVX2.
 *
 * One 256-bit register holds four words, so a Blake2b-BlaMka round over 16
 * words is four registers (a, b, c, d) and each G step runs four quarter-
 * rounds side by side; the diagonal step rotates b, c, d across the lanes.
 * Rounds go together, step by step (four rows, then two columns at a
 * time), so that the core always has independent chains to overlap.  The columns of the block
 * are 16-byte pieces of different rows: two 256-bit loads of two rows give,
 * by one cross-lane shuffle each, the a registers of two column rounds.
 * BlaMka's 32x32->64 multiply is vpmuludq; the rotations by 32, 24 and 16
 * are shuffles, by 63 an add and a shift.
 */
#include "config.h"

#ifdef HAVE_KERNEL_AVX2

#include <immintrin.h>

#include "simd/argon2_index.h"
#include "simd/argon2_kernels.h"
#include "simd/cpu_features.h"

#define ROR32(x) _mm256_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))
#define ROR24(x) _mm256_shuffle_epi8((x), rot24)
#define ROR16(x) _mm256_shuffle_epi8((x), rot16)
#define ROR63(x) _mm256_xor_si256(_mm256_srli_epi64((x), 63), _mm256_add_epi64((x), (x)))

/* x + y + 2 * lo32(x) * lo32(y) in each 64-bit lane. */
static inline __m256i blamka(__m256i x, __m256i y)
{
    __m256i m = _mm256_mul_epu32(x, y);
    return _mm256_add_epi64(_mm256_add_epi64(x, y), _mm256_add_epi64(m, m));
}

/* Rounds go in lockstep, one step of each after the other: a round is one
 * long dependency chain, and the core's schedulers only look a few dozen
 * instructions ahead, so rounds written one after the other would run
 * nearly one at a time.  Four rows' rounds at a time (their sixteen
 * registers and the temporaries do not all fit in the sixteen ymm
 * registers, but the spills cost less than the idle cycles), two
 * columns' at a time. */
#define EACH2(stmt)                                           \
    do {                                                      \
        { const int j = 0; stmt; }                            \
        { const int j = 1; stmt; }                            \
    } while (0)
#define EACH4(stmt)                                           \
    do {                                                      \
        { const int j = 0; stmt; }                            \
        { const int j = 1; stmt; }                            \
        { const int j = 2; stmt; }                            \
        { const int j = 3; stmt; }                            \
    } while (0)

#define G_HALF(EACH, A, B, C, D)                              \
    do {                                                      \
        EACH(A[j] = blamka(A[j], B[j]));                      \
        EACH(D[j] = ROR32(_mm256_xor_si256(D[j], A[j])));     \
        EACH(C[j] = blamka(C[j], D[j]));                      \
        EACH(B[j] = ROR24(_mm256_xor_si256(B[j], C[j])));     \
        EACH(A[j] = blamka(A[j], B[j]));                      \
        EACH(D[j] = ROR16(_mm256_xor_si256(D[j], A[j])));     \
        EACH(C[j] = blamka(C[j], D[j]));                      \
        EACH(B[j] = ROR63(_mm256_xor_si256(B[j], C[j])));     \
    } while (0)

/* The full P over (a, b, c, d) of the rounds EACH names: columns of the
 * 4x4, then diagonals. */
#define ROUND(EACH, A, B, C, D)                                               \
    do {                                                                      \
        G_HALF(EACH, A, B, C, D);                                             \
        EACH(B[j] = _mm256_permute4x64_epi64(B[j], _MM_SHUFFLE(0, 3, 2, 1))); \
        EACH(C[j] = _mm256_permute4x64_epi64(C[j], _MM_SHUFFLE(1, 0, 3, 2))); \
        EACH(D[j] = _mm256_permute4x64_epi64(D[j], _MM_SHUFFLE(2, 1, 0, 3))); \
        G_HALF(EACH, A, B, C, D);                                             \
        EACH(B[j] = _mm256_permute4x64_epi64(B[j], _MM_SHUFFLE(2, 1, 0, 3))); \
        EACH(C[j] = _mm256_permute4x64_epi64(C[j], _MM_SHUFFLE(1, 0, 3, 2))); \
        EACH(D[j] = _mm256_permute4x64_epi64(D[j], _MM_SHUFFLE(0, 3, 2, 1))); \
    } while (0)

/* G, with word 0 handed to the hook or to the next reference's prefetch
 * (struct argon2_next) as soon as it is final. */
static inline __attribute__((always_inline)) void
compress(const argon2_block *prev, const argon2_block *ref, argon2_block *next, int with_xor,
         const struct argon2_fill_hook *hook, const struct argon2_next *nx)
{
    /* Byte shuffles rotating each 64-bit word right by 24 and 16 bits. */
    const __m256i rot24 = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10,
                                           3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
    const __m256i rot16 = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9,
                                           2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
    const __m256i *p = (const __m256i *) (const void *) prev->v;
    const __m256i *q = (const __m256i *) (const void *) ref->v;
    __m256i *n = (__m256i *) (void *) next->v;
    __m256i r[32], keep[32];

    for (int i = 0; i < 32; i++) {
        r[i] = _mm256_xor_si256(_mm256_load_si256(p + i), _mm256_load_si256(q + i));
        keep[i] = with_xor ? _mm256_xor_si256(r[i], _mm256_load_si256(n + i)) : r[i];
    }

    /* Rows: row k is r[4k .. 4k+3]; four rows at a time. */
    for (int k = 0; k < 8; k += 4) {
        __m256i A[4], B[4], C[4], D[4];
        EACH4((A[j] = r[4 * (k + j)], B[j] = r[4 * (k + j) + 1], C[j] = r[4 * (k + j) + 2],
               D[j] = r[4 * (k + j) + 3]));
        ROUND(EACH4, A, B, C, D);
        EACH4((r[4 * (k + j)] = A[j], r[4 * (k + j) + 1] = B[j], r[4 * (k + j) + 2] = C[j],
               r[4 * (k + j) + 3] = D[j]));
    }

    /* Columns: column i (16-byte piece i of every row) has a = pieces i of
     * rows 0 and 1, b = of rows 2 and 3, and so on.  r[4*row + col] holds
     * pieces 2col and 2col+1 of a row, so those two columns come together. */
    for (int col = 0; col < 4; col++) {
        __m256i x[8];
        for (int row = 0; row < 8; row++)
            x[row] = r[4 * row + col];
        __m256i A[2], B[2], C[2], D[2];
        A[0] = _mm256_permute2x128_si256(x[0], x[1], 0x20);
        A[1] = _mm256_permute2x128_si256(x[0], x[1], 0x31);
        B[0] = _mm256_permute2x128_si256(x[2], x[3], 0x20);
        B[1] = _mm256_permute2x128_si256(x[2], x[3], 0x31);
        C[0] = _mm256_permute2x128_si256(x[4], x[5], 0x20);
        C[1] = _mm256_permute2x128_si256(x[4], x[5], 0x31);
        D[0] = _mm256_permute2x128_si256(x[6], x[7], 0x20);
        D[1] = _mm256_permute2x128_si256(x[6], x[7], 0x31);
        ROUND(EACH2, A, B, C, D);
        x[0] = _mm256_permute2x128_si256(A[0], A[1], 0x20);
        x[1] = _mm256_permute2x128_si256(A[0], A[1], 0x31);
        x[2] = _mm256_permute2x128_si256(B[0], B[1], 0x20);
        x[3] = _mm256_permute2x128_si256(B[0], B[1], 0x31);
        x[4] = _mm256_permute2x128_si256(C[0], C[1], 0x20);
        x[5] = _mm256_permute2x128_si256(C[0], C[1], 0x31);
        x[6] = _mm256_permute2x128_si256(D[0], D[1], 0x20);
        x[7] = _mm256_permute2x128_si256(D[0], D[1], 0x31);
        for (int row = 0; row < 8; row++)
            _mm256_store_si256(n + 4 * row + col, _mm256_xor_si256(x[row], keep[4 * row + col]));
        if (col == 0 && hook != NULL)   /* columns 0 and 1 done: word 0 is final */
            hook->word0(hook->ctx,
                        (uint64_t) _mm256_extract_epi64(_mm256_xor_si256(x[0], keep[0]), 0));
        if (col == 0 && nx != NULL)
            argon2_prefetch_next(
                nx, (uint64_t) _mm256_extract_epi64(_mm256_xor_si256(x[0], keep[0]), 0));
    }
}

#define ARGON2_KERNEL_VAR argon2_kernel_avx2
#define ARGON2_KERNEL_NAME "avx2"
#define ARGON2_KERNEL_SUPPORTED cpu_has_avx2
#include "simd/argon2_kernel_define.h"

#else
typedef int argon2_avx2_not_built; /* ISO C forbids an empty file */
#endif
