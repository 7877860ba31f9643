/*
 * argon2_avx512.c - Argon2's fill-block G for AVX-512F.
 *
 * The AVX2 kernel's arrangement, twice as wide: one 512-bit register holds
 * the same four words of TWO rounds (its two 256-bit halves), so each
 * instruction advances two Blake2b-BlaMka rounds, and the diagonal step
 * (vpermq with an immediate) works on each half alone.  Rotations are one
 * vprorq each.  Rows 2k and 2k+1 pair up through vshufi64x2; the columns,
 * which are 16-byte pieces of different rows, are gathered and scattered
 * back with one two-source vpermt2q per register.  All four pairs of
 * rounds go in lockstep, so four independent chains fill the pipeline;
 * among the columns, the pair holding word 0 goes first (see compress()),
 * and the segment loop (simd/argon2_segment.h) prefetches the next
 * reference right after it.
 */
#include "config.h"

#ifdef HAVE_KERNEL_AVX512

#include <immintrin.h>

#include "simd/argon2_index.h"
#include "simd/argon2_kernels.h"
#include "simd/cpu_features.h"

/* x + y + 2 * lo32(x) * lo32(y) in each 64-bit lane. */
static inline __m512i blamka(__m512i x, __m512i y)
{
    __m512i m = _mm512_mul_epu32(x, y);
    return _mm512_add_epi64(_mm512_add_epi64(x, y), _mm512_add_epi64(m, m));
}

/* Four rounds go in lockstep, one step of each after the other: a round is
 * one long dependency chain (every step needs the one before), and the
 * core's schedulers only look a few dozen instructions ahead, so rounds
 * written one after the other would run nearly one at a time.  A, B, C, D
 * hold the a, b, c, d registers of the four rounds. */
#define EACH4(stmt)                                           \
    do {                                                      \
        { const int j = 0; stmt; }                            \
        { const int j = 1; stmt; }                            \
        { const int j = 2; stmt; }                            \
        { const int j = 3; stmt; }                            \
    } while (0)
/* Round 0 alone, and rounds 1 to 3 (see the columns below). */
#define EACH_0(stmt) do { const int j = 0; stmt; } while (0)
#define EACH_123(stmt)                                        \
    do {                                                      \
        { const int j = 1; stmt; }                            \
        { const int j = 2; stmt; }                            \
        { const int j = 3; stmt; }                            \
    } while (0)

#define G_HALF(EACH, A, B, C, D)                                             \
    do {                                                                     \
        EACH(A[j] = blamka(A[j], B[j]));                                     \
        EACH(D[j] = _mm512_ror_epi64(_mm512_xor_si512(D[j], A[j]), 32));     \
        EACH(C[j] = blamka(C[j], D[j]));                                     \
        EACH(B[j] = _mm512_ror_epi64(_mm512_xor_si512(B[j], C[j]), 24));     \
        EACH(A[j] = blamka(A[j], B[j]));                                     \
        EACH(D[j] = _mm512_ror_epi64(_mm512_xor_si512(D[j], A[j]), 16));     \
        EACH(C[j] = blamka(C[j], D[j]));                                     \
        EACH(B[j] = _mm512_ror_epi64(_mm512_xor_si512(B[j], C[j]), 63));     \
    } while (0)

/* P over (a, b, c, d) in each 256-bit half of the register sets EACH
 * names: columns, then diagonals. */
#define ROUND(EACH, A, B, C, D)                                              \
    do {                                                                     \
        G_HALF(EACH, A, B, C, D);                                            \
        EACH(B[j] = _mm512_permutex_epi64(B[j], _MM_SHUFFLE(0, 3, 2, 1)));   \
        EACH(C[j] = _mm512_permutex_epi64(C[j], _MM_SHUFFLE(1, 0, 3, 2)));   \
        EACH(D[j] = _mm512_permutex_epi64(D[j], _MM_SHUFFLE(2, 1, 0, 3)));   \
        G_HALF(EACH, A, B, C, D);                                            \
        EACH(B[j] = _mm512_permutex_epi64(B[j], _MM_SHUFFLE(2, 1, 0, 3)));   \
        EACH(C[j] = _mm512_permutex_epi64(C[j], _MM_SHUFFLE(1, 0, 3, 2)));   \
        EACH(D[j] = _mm512_permutex_epi64(D[j], _MM_SHUFFLE(0, 3, 2, 1)));   \
    } while (0)

static inline __attribute__((always_inline)) void
compress(const argon2_block *prev, const argon2_block *ref, argon2_block *next, int with_xor,
         const struct argon2_fill_hook *hook, const struct argon2_next *nx)
{
    /* z[2r + h] holds words 8h..8h+7 of row r (16 words a row). */
    const __m512i *p = (const __m512i *) (const void *) prev->v;
    const __m512i *q = (const __m512i *) (const void *) ref->v;
    __m512i *n = (__m512i *) (void *) next->v;
    __m512i z[16], keep[16], A[4], B[4], C[4], D[4];

    for (int i = 0; i < 16; i++) {
        z[i] = _mm512_xor_si512(_mm512_load_si512(p + i), _mm512_load_si512(q + i));
        keep[i] = with_xor ? _mm512_xor_si512(z[i], _mm512_load_si512(n + i)) : z[i];
    }

    /* Rows 2j and 2j+1 share the registers of round j: A = words 0..3 of
     * both, B = 4..7, C = 8..11, D = 12..15. */
    EACH4(A[j] = _mm512_shuffle_i64x2(z[4 * j], z[4 * j + 2], 0x44));
    EACH4(B[j] = _mm512_shuffle_i64x2(z[4 * j], z[4 * j + 2], 0xEE));
    EACH4(C[j] = _mm512_shuffle_i64x2(z[4 * j + 1], z[4 * j + 3], 0x44));
    EACH4(D[j] = _mm512_shuffle_i64x2(z[4 * j + 1], z[4 * j + 3], 0xEE));
    ROUND(EACH4, A, B, C, D);
    EACH4(z[4 * j] = _mm512_shuffle_i64x2(A[j], B[j], 0x44));
    EACH4(z[4 * j + 2] = _mm512_shuffle_i64x2(A[j], B[j], 0xEE));
    EACH4(z[4 * j + 1] = _mm512_shuffle_i64x2(C[j], D[j], 0x44));
    EACH4(z[4 * j + 3] = _mm512_shuffle_i64x2(C[j], D[j], 0xEE));

    /* Columns: column i is 16-byte piece i of every row; a = pieces i of
     * rows 0 and 1, b of rows 2 and 3, and so on.  Columns 2j and 2j+1
     * share registers (halves 0 and 1).  Round 2h + 0 takes columns 4h and
     * 4h+1, and round 2h + 1 columns 4h+2 and 4h+3, from z[2r + h]
     * (pieces 0,1 and 2,3 of it). */
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i hi = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    const __m512i back0 = _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13);
    const __m512i back1 = _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15);
    EACH4(A[j] = _mm512_permutex2var_epi64(z[0 + j / 2], j % 2 ? hi : lo, z[2 + j / 2]));
    EACH4(B[j] = _mm512_permutex2var_epi64(z[4 + j / 2], j % 2 ? hi : lo, z[6 + j / 2]));
    EACH4(C[j] = _mm512_permutex2var_epi64(z[8 + j / 2], j % 2 ? hi : lo, z[10 + j / 2]));
    EACH4(D[j] = _mm512_permutex2var_epi64(z[12 + j / 2], j % 2 ? hi : lo, z[14 + j / 2]));
    /* Word 0 of the block is word 0 of A[0] after round 0: that round goes
     * first, alone, so that the next reference (data-dependent
     * addressing) can be fetched while rounds 1 to 3 run; the core runs
     * their instructions in round 0's gaps all the same. */
    ROUND(EACH_0, A, B, C, D);
    const uint64_t w0 = (uint64_t) _mm_cvtsi128_si64(_mm512_castsi512_si128(A[0])) ^
                        (uint64_t) _mm_cvtsi128_si64(_mm512_castsi512_si128(keep[0]));
    if (nx != NULL)
        argon2_prefetch_next(nx, w0);
    ROUND(EACH_123, A, B, C, D);
    for (int h = 0; h < 2; h++) {
        z[0 + h] = _mm512_permutex2var_epi64(A[2 * h], back0, A[2 * h + 1]);
        z[2 + h] = _mm512_permutex2var_epi64(A[2 * h], back1, A[2 * h + 1]);
        z[4 + h] = _mm512_permutex2var_epi64(B[2 * h], back0, B[2 * h + 1]);
        z[6 + h] = _mm512_permutex2var_epi64(B[2 * h], back1, B[2 * h + 1]);
        z[8 + h] = _mm512_permutex2var_epi64(C[2 * h], back0, C[2 * h + 1]);
        z[10 + h] = _mm512_permutex2var_epi64(C[2 * h], back1, C[2 * h + 1]);
        z[12 + h] = _mm512_permutex2var_epi64(D[2 * h], back0, D[2 * h + 1]);
        z[14 + h] = _mm512_permutex2var_epi64(D[2 * h], back1, D[2 * h + 1]);
    }
    for (int i = 0; i < 16; i++)
        _mm512_store_si512(n + i, _mm512_xor_si512(z[i], keep[i]));
    /* The hook comes last, with nothing left in vector registers for its
     * call to clobber; the core runs it as soon as w0 is ready all the
     * same, since it depends on nothing else. */
    if (hook != NULL)
        hook->word0(hook->ctx, w0);
}

#define ARGON2_KERNEL_VAR argon2_kernel_avx512
#define ARGON2_KERNEL_NAME "avx512"
#define ARGON2_KERNEL_SUPPORTED cpu_has_avx512f
#include "simd/argon2_kernel_define.h"

#else
typedef int argon2_avx512_not_built; /* ISO C forbids an empty file */
#endif
