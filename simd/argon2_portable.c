/*
 * argon2_portable.c - Argon2's fill-block G in plain C (RFC 9106 §3.5-3.6),
 * written from the RFC's text: the reference the vector kernels are tested
 * against, and the kernel of last resort.
 */
#include "config.h"

#include "simd/argon2_index.h"
#include "simd/argon2_kernels.h"

static inline uint64_t rotr64(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64 - n));
}

/* BlaMka's multiply-add: x + y + 2 * lo32(x) * lo32(y), all mod 2^64. */
static inline uint64_t blamka(uint64_t x, uint64_t y)
{
    const uint64_t m = UINT64_C(0xFFFFFFFF);
    return x + y + 2 * ((x & m) * (y & m));
}

#define GB(a, b, c, d)                \
    do {                              \
        a = blamka(a, b);             \
        d = rotr64(d ^ a, 32);        \
        c = blamka(c, d);             \
        b = rotr64(b ^ c, 24);        \
        a = blamka(a, b);             \
        d = rotr64(d ^ a, 16);        \
        c = blamka(c, d);             \
        b = rotr64(b ^ c, 63);        \
    } while (0)

/* The permutation P of RFC 9106 §3.6 on the 16 words v[i[0]]..v[i[15]]. */
static void permute(uint64_t *v, const unsigned i[16])
{
    uint64_t a[16];
    for (unsigned k = 0; k < 16; k++)
        a[k] = v[i[k]];
    GB(a[0], a[4], a[8], a[12]);
    GB(a[1], a[5], a[9], a[13]);
    GB(a[2], a[6], a[10], a[14]);
    GB(a[3], a[7], a[11], a[15]);
    GB(a[0], a[5], a[10], a[15]);
    GB(a[1], a[6], a[11], a[12]);
    GB(a[2], a[7], a[8], a[13]);
    GB(a[3], a[4], a[9], a[14]);
    for (unsigned k = 0; k < 16; k++)
        v[i[k]] = a[k];
}

/* G, with word 0 handed to the hook or to the next reference's prefetch
 * (struct argon2_next) as soon as it is final. */
static inline void compress(const argon2_block *prev, const argon2_block *ref, argon2_block *next,
                            int with_xor, const struct argon2_fill_hook *hook,
                            const struct argon2_next *nx)
{
    uint64_t r[ARGON2_BLOCK_WORDS], keep[ARGON2_BLOCK_WORDS];
    unsigned idx[16];

    for (unsigned k = 0; k < ARGON2_BLOCK_WORDS; k++)
        r[k] = keep[k] = prev->v[k] ^ ref->v[k];
    if (with_xor)
        for (unsigned k = 0; k < ARGON2_BLOCK_WORDS; k++)
            keep[k] ^= next->v[k];
    /* The block is an 8x8 matrix of 16-byte registers (two words each):
     * first each row, then each column, goes through P. */
    for (unsigned row = 0; row < 8; row++) {
        for (unsigned k = 0; k < 16; k++)
            idx[k] = 16 * row + k;
        permute(r, idx);
    }
    for (unsigned col = 0; col < 8; col++) {
        for (unsigned k = 0; k < 8; k++) {
            idx[2 * k] = 2 * col + 16 * k;
            idx[2 * k + 1] = 2 * col + 16 * k + 1;
        }
        permute(r, idx);
        if (col == 0 && hook != NULL)   /* word 0 is final now */
            hook->word0(hook->ctx, keep[0] ^ r[0]);
        if (col == 0 && nx != NULL)
            argon2_prefetch_next(nx, keep[0] ^ r[0]);
    }
    for (unsigned k = 0; k < ARGON2_BLOCK_WORDS; k++)
        next->v[k] = keep[k] ^ r[k];
}

static int portable_supported(void)
{
    return 1;
}

#define ARGON2_KERNEL_VAR argon2_kernel_portable
#define ARGON2_KERNEL_NAME "portable"
#define ARGON2_KERNEL_SUPPORTED portable_supported
#include "simd/argon2_kernel_define.h"

