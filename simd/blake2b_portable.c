/*
 * blake2b_portable.c - Blake2b (RFC 7693) in plain C: the streaming hash
 * Argon2id's H0 and tag use, and the portable H'^1024 chain kernel, the
 * reference the vector kernels are tested against.
 */
#include "config.h"

#include <string.h>

#include "simd/blake2b.h"

const uint64_t postage_blake2b_iv[8] = {
    UINT64_C(0x6a09e667f3bcc908), UINT64_C(0xbb67ae8584caa73b), UINT64_C(0x3c6ef372fe94f82b),
    UINT64_C(0xa54ff53a5f1d36f1), UINT64_C(0x510e527fade682d1), UINT64_C(0x9b05688c2b3e6c1f),
    UINT64_C(0x1f83d9abfb41bd6b), UINT64_C(0x5be0cd19137e2179),
};

static const uint8_t sigma[12][16] = BLAKE2B_SIGMA;

/* Parameter block word 0 for an unkeyed hash of outlen bytes: digest
 * length, key length 0, fanout 1, depth 1. */
#define PARAM0(outlen) (UINT64_C(0x01010000) | (uint64_t) (outlen))

static inline uint64_t ror64(uint64_t x, unsigned n)
{
    return x >> n | x << (64 - n);
}

static inline uint64_t load64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
#else
    uint64_t w = 0;
    for (int k = 7; k >= 0; k--)
        w = w << 8 | p[k];
    return w;
#endif
}

#define G(a, b, c, d, x, y)                                                                        \
    do {                                                                                           \
        a = a + b + (x);                                                                           \
        d = ror64(d ^ a, 32);                                                                      \
        c = c + d;                                                                                 \
        b = ror64(b ^ c, 24);                                                                      \
        a = a + b + (y);                                                                           \
        d = ror64(d ^ a, 16);                                                                      \
        c = c + d;                                                                                 \
        b = ror64(b ^ c, 63);                                                                      \
    } while (0)


/* The compression function F (RFC 7693 §3.2): @t bytes hashed so far
 * including this block (the low word; the high one is @t_hi), @last for the
 * final block.  Inlined with constant round indices, so the message
 * schedule becomes register choices. */
static inline void compress(uint64_t h[8], const uint64_t m[16], uint64_t t, uint64_t t_hi,
                            int last)
{
    uint64_t v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
    uint64_t v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
    uint64_t v8 = postage_blake2b_iv[0], v9 = postage_blake2b_iv[1];
    uint64_t v10 = postage_blake2b_iv[2], v11 = postage_blake2b_iv[3];
    uint64_t v12 = postage_blake2b_iv[4] ^ t, v13 = postage_blake2b_iv[5] ^ t_hi;
    uint64_t v14 = postage_blake2b_iv[6] ^ (last ? ~UINT64_C(0) : 0);
    uint64_t v15 = postage_blake2b_iv[7];

    BLAKE2B_ROUNDS();
    h[0] ^= v0 ^ v8;
    h[1] ^= v1 ^ v9;
    h[2] ^= v2 ^ v10;
    h[3] ^= v3 ^ v11;
    h[4] ^= v4 ^ v12;
    h[5] ^= v5 ^ v13;
    h[6] ^= v6 ^ v14;
    h[7] ^= v7 ^ v15;
}

static void compress_bytes(struct postage_blake2b *s, const uint8_t *block, int last)
{
    uint64_t m[16];
    for (size_t i = 0; i < 16; i++)
        m[i] = load64(block + 8 * i);
    compress(s->h, m, s->t[0], s->t[1], last);
}

static void add_count(struct postage_blake2b *s, size_t n)
{
    s->t[0] += n;
    if (s->t[0] < n)
        s->t[1]++;
}

void postage_blake2b_init(struct postage_blake2b *s, size_t outlen)
{
    memcpy(s->h, postage_blake2b_iv, sizeof s->h);
    s->h[0] ^= PARAM0(outlen);
    s->t[0] = s->t[1] = 0;
    s->fill = 0;
    s->outlen = outlen;
}

void postage_blake2b_update(struct postage_blake2b *s, const void *in, size_t n)
{
    const uint8_t *p = in;
    /* A full buffer is compressed only once more input follows: the last
     * block must be compressed as the last. */
    while (n > 0) {
        if (s->fill == BLAKE2B_BLOCK_BYTES) {
            add_count(s, BLAKE2B_BLOCK_BYTES);
            compress_bytes(s, s->buf, 0);
            s->fill = 0;
        }
        if (s->fill == 0) {
            while (n > BLAKE2B_BLOCK_BYTES) {   /* straight from the input */
                add_count(s, BLAKE2B_BLOCK_BYTES);
                compress_bytes(s, p, 0);
                p += BLAKE2B_BLOCK_BYTES;
                n -= BLAKE2B_BLOCK_BYTES;
            }
        }
        size_t take = BLAKE2B_BLOCK_BYTES - s->fill;
        if (take > n)
            take = n;
        memcpy(s->buf + s->fill, p, take);
        s->fill += take;
        p += take;
        n -= take;
    }
}

void postage_blake2b_final(struct postage_blake2b *s, uint8_t *out)
{
    add_count(s, s->fill);
    memset(s->buf + s->fill, 0, BLAKE2B_BLOCK_BYTES - s->fill);
    compress_bytes(s, s->buf, 1);
    for (size_t i = 0; i < s->outlen; i++)
        out[i] = (uint8_t) (s->h[i / 8] >> (8 * (i % 8)));
}

/* H'^1024 of two inputs: 31 chained Blake2b-512 each (V1 from the given
 * first block, then V(i+1) = Blake2b-512(V(i)), every one over 64 bytes);
 * the block takes the first 32 bytes of V1..V30 and all of V31.  The two
 * chains are interleaved step by step for the CPU to overlap. */
static void hprime1k_x2(const uint64_t m0[16], const uint64_t m1[16], uint32_t len,
                        argon2_block *out0, argon2_block *out1)
{
    uint64_t a[16], b[16];   /* message: V(i) in words 0..7, zero after */
    uint64_t ha[8], hb[8];

    for (int k = 0; k < 8; k++)
        ha[k] = hb[k] = postage_blake2b_iv[k];
    ha[0] ^= PARAM0(64);
    hb[0] ^= PARAM0(64);
    compress(ha, m0, len, 0, 1);
    compress(hb, m1, len, 0, 1);
    memset(a + 8, 0, 8 * sizeof a[0]);
    memset(b + 8, 0, 8 * sizeof b[0]);
    for (int i = 1;; i++) {   /* ha, hb hold V(i) */
        if (i == 31) {
            memcpy(out0->v + 120, ha, sizeof ha);
            memcpy(out1->v + 120, hb, sizeof hb);
            return;
        }
        memcpy(out0->v + 4 * (i - 1), ha, 4 * sizeof ha[0]);
        memcpy(out1->v + 4 * (i - 1), hb, 4 * sizeof hb[0]);
        for (int k = 0; k < 8; k++) {
            a[k] = ha[k];
            b[k] = hb[k];
            ha[k] = hb[k] = postage_blake2b_iv[k];
        }
        ha[0] ^= PARAM0(64);
        hb[0] ^= PARAM0(64);
        compress(ha, a, 64, 0, 1);
        compress(hb, b, 64, 0, 1);
    }
}

static int always(void)
{
    return 1;
}

const struct blake2b_kernel blake2b_kernel_portable = { "portable", always, hprime1k_x2 };
