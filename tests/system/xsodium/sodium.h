/*
 * sodium.h - a stand-in for the few libsodium calls lib/argon2id_core.c
 * makes (Blake2b, sodium_memzero, sodium_init), for the aarch64 cross build
 * of tests/system/aarch64_argon2.sh, where no arm64 libsodium is at hand.
 *
 * Blake2b (RFC 7693), unkeyed, written here from the RFC.  It cannot make a
 * test pass wrongly: xargon2.c checks whole Argon2id hashes against RFC
 * 9106's vector and docs/argon2id.md's, which a wrong Blake2b would miss.
 * Test code only; the real build uses libsodium.
 */
#ifndef POSTAGE_XSODIUM_H
#define POSTAGE_XSODIUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t h[8], t[2];
    uint8_t buf[128];
    size_t fill, outlen;
} crypto_generichash_blake2b_state;

static const uint64_t xs_iv[8] = {
    UINT64_C(0x6a09e667f3bcc908), UINT64_C(0xbb67ae8584caa73b), UINT64_C(0x3c6ef372fe94f82b),
    UINT64_C(0xa54ff53a5f1d36f1), UINT64_C(0x510e527fade682d1), UINT64_C(0x9b05688c2b3e6c1f),
    UINT64_C(0x1f83d9abfb41bd6b), UINT64_C(0x5be0cd19137e2179),
};

static const uint8_t xs_sigma[12][16] = {
    { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
    { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
    { 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
    { 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
    { 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
    { 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
    { 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
    { 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
    { 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
    { 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
    { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
    { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
};

static inline uint64_t xs_ror(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64 - n));
}

static inline void xs_compress(crypto_generichash_blake2b_state *s, const uint8_t *block, int last)
{
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) {
        uint64_t w = 0;
        for (int k = 7; k >= 0; k--)
            w = w << 8 | block[8 * i + k];
        m[i] = w;
    }
    for (int i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = xs_iv[i];
    }
    v[12] ^= s->t[0];
    v[13] ^= s->t[1];
    if (last)
        v[14] = ~v[14];
#define XS_G(a, b, c, d, x, y)              \
    do {                                    \
        v[a] = v[a] + v[b] + (x);           \
        v[d] = xs_ror(v[d] ^ v[a], 32);     \
        v[c] = v[c] + v[d];                 \
        v[b] = xs_ror(v[b] ^ v[c], 24);     \
        v[a] = v[a] + v[b] + (y);           \
        v[d] = xs_ror(v[d] ^ v[a], 16);     \
        v[c] = v[c] + v[d];                 \
        v[b] = xs_ror(v[b] ^ v[c], 63);     \
    } while (0)
    for (int r = 0; r < 12; r++) {
        const uint8_t *s_ = xs_sigma[r];
        XS_G(0, 4, 8, 12, m[s_[0]], m[s_[1]]);
        XS_G(1, 5, 9, 13, m[s_[2]], m[s_[3]]);
        XS_G(2, 6, 10, 14, m[s_[4]], m[s_[5]]);
        XS_G(3, 7, 11, 15, m[s_[6]], m[s_[7]]);
        XS_G(0, 5, 10, 15, m[s_[8]], m[s_[9]]);
        XS_G(1, 6, 11, 12, m[s_[10]], m[s_[11]]);
        XS_G(2, 7, 8, 13, m[s_[12]], m[s_[13]]);
        XS_G(3, 4, 9, 14, m[s_[14]], m[s_[15]]);
    }
#undef XS_G
    for (int i = 0; i < 8; i++)
        s->h[i] ^= v[i] ^ v[i + 8];
}

static inline int crypto_generichash_blake2b_init(crypto_generichash_blake2b_state *s,
                                                  const unsigned char *key, size_t keylen,
                                                  size_t outlen)
{
    (void) key;
    memset(s, 0, sizeof *s);
    if (keylen != 0 || outlen < 1 || outlen > 64)
        return -1;
    memcpy(s->h, xs_iv, sizeof s->h);
    s->h[0] ^= UINT64_C(0x01010000) ^ outlen;
    s->outlen = outlen;
    return 0;
}

static inline int crypto_generichash_blake2b_update(crypto_generichash_blake2b_state *s,
                                                    const unsigned char *in,
                                                    unsigned long long inlen)
{
    while (inlen > 0) {
        if (s->fill == 128) {   /* a full buffer is compressed only when more follows */
            s->t[0] += 128;
            if (s->t[0] < 128)
                s->t[1]++;
            xs_compress(s, s->buf, 0);
            s->fill = 0;
        }
        size_t n = 128 - s->fill;
        if (n > inlen)
            n = (size_t) inlen;
        memcpy(s->buf + s->fill, in, n);
        s->fill += n;
        in += n;
        inlen -= n;
    }
    return 0;
}

static inline int crypto_generichash_blake2b_final(crypto_generichash_blake2b_state *s,
                                                   unsigned char *out, size_t outlen)
{
    uint8_t bytes[64];
    if (outlen != s->outlen)
        return -1;
    s->t[0] += s->fill;
    if (s->t[0] < s->fill)
        s->t[1]++;
    memset(s->buf + s->fill, 0, 128 - s->fill);
    xs_compress(s, s->buf, 1);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 8; k++)
            bytes[8 * i + k] = (uint8_t) (s->h[i] >> (8 * k));
    memcpy(out, bytes, outlen);
    return 0;
}

static inline int crypto_generichash_blake2b(unsigned char *out, size_t outlen,
                                             const unsigned char *in, unsigned long long inlen,
                                             const unsigned char *key, size_t keylen)
{
    crypto_generichash_blake2b_state s;
    if (crypto_generichash_blake2b_init(&s, key, keylen, outlen) != 0)
        return -1;
    crypto_generichash_blake2b_update(&s, in, inlen);
    return crypto_generichash_blake2b_final(&s, out, outlen);
}

static inline void sodium_memzero(void *p, size_t len)
{
    volatile unsigned char *v = p;
    while (len--)
        *v++ = 0;
}

static inline int sodium_init(void)
{
    return 0;
}

#endif
