/*
 * blake2b.h - Blake2b (RFC 7693, unkeyed) for Argon2id's H0, H' and tag
 * (RFC 9106 §3.2-3.3), and the H' chains that make each lane's first two
 * blocks, one implementation per instruction set.
 *
 * Why not libsodium's crypto_generichash: at 64 KiB an Argon2id hash fills
 * only 62 blocks but runs 72 Blake2b compressions, 62 of them in the two
 * H'^1024 chains (31 chained Blake2b-512 calls each, every one over exactly
 * 64 bytes), and through libsodium's generic API Blake2b was about 40% of
 * the hash.  A chain step here is one compression with the parameter block
 * folded in, no buffering or copies, and the chains of block 0 and block 1
 * are independent, so a vector kernel computes both at once (two 64-bit
 * lanes): on the AVX-512 EPYC of issue 21, AVX2's pair of chains costs
 * about 0.6 of the portable pair.
 *
 * The chain kernels go through the same dispatch as the fill-block kernels
 * (simd/argon2_kernels.h): each in its own file with only its own flags,
 * usable when the CPU supports it and it passes its known-answer self-test,
 * both decided once under pthread_once.  The portable one is the
 * reference; tests/unit/check_blake2b.c checks it, and every other kernel,
 * against libsodium.
 */
#ifndef POSTAGE_BLAKE2B_H
#define POSTAGE_BLAKE2B_H

#include <stddef.h>
#include <stdint.h>

#include "simd/argon2_kernels.h"

#define BLAKE2B_BLOCK_BYTES 128
#define BLAKE2B_OUT_MAX 64

/* Streaming, unkeyed Blake2b with an output of 1..64 bytes.  The names
 * carry postage_ because libargon2 exports blake2b_init() and friends. */
struct postage_blake2b {
    uint64_t h[8];
    uint64_t t[2];                      /* bytes compressed so far */
    uint8_t buf[BLAKE2B_BLOCK_BYTES];
    size_t fill;                        /* bytes waiting in buf */
    size_t outlen;
};

/* Starts a hash of @outlen (1..64) bytes. */
void postage_blake2b_init(struct postage_blake2b *s, size_t outlen);
/* Adds @n bytes at @in (NULL allowed when n is 0). */
void postage_blake2b_update(struct postage_blake2b *s, const void *in, size_t n);
/* Writes the outlen-byte digest to @out; @s is spent. */
void postage_blake2b_final(struct postage_blake2b *s, uint8_t *out);

/* The Blake2b initial values (RFC 7693 §2.6), shared by the kernels. */
extern const uint64_t postage_blake2b_iv[8];

/* The message schedule (RFC 7693 §2.7), rounds 10 and 11 repeating 0 and
 * 1: an initializer, so that each kernel has its own copy the compiler
 * can fold into register choices (an extern table would be read at run
 * time). */
#define BLAKE2B_SIGMA                                                                              \
    {                                                                                              \
        { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },                                  \
        { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },                                  \
        { 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },                                  \
        { 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },                                  \
        { 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },                                  \
        { 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },                                  \
        { 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },                                  \
        { 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },                                  \
        { 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },                                  \
        { 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },                                  \
        { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },                                  \
        { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },                                  \
    }

/* One Blake2b round (RFC 7693 §3.2) over the working variables v0..v15 with
 * message words m[] permuted by sigma[r]: four column G's, then four
 * diagonal ones.  Each kernel file defines G(a, b, c, d, x, y) for its own
 * instruction set and a sigma table (BLAKE2B_SIGMA) before using it. */
#define BLAKE2B_ROUND(r)                                                                           \
    do {                                                                                           \
        const uint8_t *s_ = sigma[r];                                                              \
        G(v0, v4, v8, v12, m[s_[0]], m[s_[1]]);                                                    \
        G(v1, v5, v9, v13, m[s_[2]], m[s_[3]]);                                                    \
        G(v2, v6, v10, v14, m[s_[4]], m[s_[5]]);                                                   \
        G(v3, v7, v11, v15, m[s_[6]], m[s_[7]]);                                                   \
        G(v0, v5, v10, v15, m[s_[8]], m[s_[9]]);                                                   \
        G(v1, v6, v11, v12, m[s_[10]], m[s_[11]]);                                                 \
        G(v2, v7, v8, v13, m[s_[12]], m[s_[13]]);                                                  \
        G(v3, v4, v9, v14, m[s_[14]], m[s_[15]]);                                                  \
    } while (0)

/* All twelve rounds of one compression, written out so that every
 * sigma index is a constant and the message words stay in registers. */
#define BLAKE2B_ROUNDS()                                                                           \
    do {                                                                                           \
        BLAKE2B_ROUND(0); BLAKE2B_ROUND(1); BLAKE2B_ROUND(2); BLAKE2B_ROUND(3);                    \
        BLAKE2B_ROUND(4); BLAKE2B_ROUND(5); BLAKE2B_ROUND(6); BLAKE2B_ROUND(7);                    \
        BLAKE2B_ROUND(8); BLAKE2B_ROUND(9); BLAKE2B_ROUND(10); BLAKE2B_ROUND(11);                  \
    } while (0)

/*
 * A chain function computes H'^1024 (RFC 9106 §3.3) of two inputs at once,
 * straight into two Argon2 blocks (block word i = bytes 8i..8i+7 of H'
 * read little-endian, as the fill kernels want them).  The input of each
 * is given as the first Blake2b message block, LE32(1024) || X, as 16
 * words (read little-endian, zero past @len bytes); @len (<= 128) is the
 * same for both.  So out0 = H'^1024(X0) and out1 = H'^1024(X1).  Pure: no
 * global state, safe from many threads.
 */
typedef void (*blake2b_hprime1k_x2_fn)(const uint64_t m0[16], const uint64_t m1[16],
                                       uint32_t len, argon2_block *out0, argon2_block *out1);

struct blake2b_kernel {
    const char *name;            /* "portable", "avx2" */
    int (*cpu_supported)(void);  /* 1 if this CPU and OS can run it */
    blake2b_hprime1k_x2_fn hprime1k_x2;
};

/* The portable kernel (plain C, both chains interleaved); always there. */
extern const struct blake2b_kernel blake2b_kernel_portable;

/* Number of compiled kernels (at least 1); the i-th in order of
 * preference, NULL past the end. */
size_t blake2b_kernel_count(void);
const struct blake2b_kernel *blake2b_kernel_at(size_t i);

/* ARGON2_KERNEL_USABLE, _UNSUPPORTED or _SELFTEST_FAILED (the states of
 * simd/argon2_kernels.h), decided once. */
enum argon2_kernel_state blake2b_kernel_state(const struct blake2b_kernel *k);

/* 1 if @k gives the known answers. */
int blake2b_kernel_selftest(const struct blake2b_kernel *k);

/* The first usable kernel in order of preference (portable at worst). */
const struct blake2b_kernel *blake2b_kernel_default(void);

#endif
