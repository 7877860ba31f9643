/*
 * sha1_search.h - the contract every SHA-1 search kernel fulfils.
 *
 * A hashcash v1 stamp is minted by trying counters until SHA-1(stamp) begins
 * with enough zero bits.  The minting engine lays the stamp out so that each
 * trial is exactly one SHA-1 compression: every complete 64-byte block before
 * the last is folded into a midstate once, and the last block holds the end
 * of the prefix, the counter digits, the 0x80 pad byte and the bit length.
 *
 * Layout of the last block, the same for every kernel:
 *   bytes  0..47  end of the stamp prefix (and '0' padding of the counter);
 *   bytes 48..54  SHA1_SEARCH_DIGITS counter digits, most significant first,
 *                 each a character of SHA1_SEARCH_ALPHABET (digit d is
 *                 SHA1_SEARCH_ALPHABET[d]); bytes 48..51 are schedule word
 *                 W12, bytes 52..54 the top three bytes of W13;
 *   byte  55      0x80: the message ends at offset 55 of its last block;
 *   bytes 56..63  the message length in bits, big endian (W14, W15).
 * Counter n in [0, SHA1_SEARCH_SPACE) is written as those seven digits.  The
 * lowest digit (byte 54) changes fastest, so vector lanes take consecutive
 * values of it; W12 changes only every 64^3 trials, so rounds 0..11 and the
 * schedule terms that do not involve W13 can be computed once per 64^3.
 *
 * This layer knows nothing of stamps: it is the bottom of the stack.
 */
#ifndef POSTAGE_SHA1_SEARCH_H
#define POSTAGE_SHA1_SEARCH_H

#include <stddef.h>
#include <stdint.h>

/* The hashcash base-64 alphabet: digits first, so not RFC 4648 order. */
#define SHA1_SEARCH_ALPHABET \
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/"

#define SHA1_SEARCH_DIGITS 7
#define SHA1_SEARCH_DIGITS_OFFSET 48
#define SHA1_SEARCH_END_OFFSET 55 /* message end within the last block */
#define SHA1_SEARCH_SPACE (UINT64_C(1) << 42) /* 64^7 counters */

/* The SHA-1 initial chaining value (FIPS 180-4). */
#define SHA1_IV0 UINT32_C(0x67452301)
#define SHA1_IV1 UINT32_C(0xEFCDAB89)
#define SHA1_IV2 UINT32_C(0x98BADCFE)
#define SHA1_IV3 UINT32_C(0x10325476)
#define SHA1_IV4 UINT32_C(0xC3D2E1F0)

struct sha1_search_job {
    uint32_t midstate[5]; /* chaining value before the last block */
    uint8_t block[64];    /* the last block; bytes 48..54 are ignored */
};

/*
 * A search function tries counters first, first+1, ..., first+count-1 and
 * returns 1 with *found set to the SMALLEST of them whose digest has at least
 * `bits` leading zero bits (counting from the most significant bit of the
 * first digest byte), or 0 if none has.  bits is 1..64: a kernel looks at
 * digest words H0 and H1 only, so the caller re-checks a hit when it asked
 * for more than 64.  first + count <= SHA1_SEARCH_SPACE.  first need not be a
 * multiple of the lane count: kernels must handle partial vectors at both
 * ends.  Search functions are pure: no global state, safe to call from many
 * threads at once.
 */
typedef int (*sha1_search_fn)(const struct sha1_search_job *job,
                              uint64_t first, uint64_t count, unsigned bits,
                              uint64_t *found);

struct sha1_kernel {
    const char *name;     /* "portable", "sse2", "avx2", "avx512", "sha-ni",
                             "neon", "armv8-sha" */
    unsigned lanes;       /* trials computed side by side */
    int (*cpu_supported)(void); /* 1 if this CPU and OS can run it */
    sha1_search_fn search;
};

/* The portable kernel: plain C, two interleaved pipes.  Always present, and
 * the oracle the others are tested against. */
extern const struct sha1_kernel sha1_kernel_portable;

/**
 * sha1_compress - one SHA-1 compression, portable C.
 * @state: chaining value, updated in place.
 * @block: 64 bytes of message.
 */
void sha1_compress(uint32_t state[5], const uint8_t block[64]);

/**
 * sha1_search_write_counter - write counter n as the seven digits at bytes
 * 48..54 of @block.  Used by kernels for partial vectors and by the engine
 * to build the final stamp.
 */
void sha1_search_write_counter(uint8_t block[64], uint64_t n);

/**
 * sha1_leading_zero_bits - leading zero bits of a digest given as H0, H1.
 * Returns 0..64.
 */
unsigned sha1_leading_zero_bits(uint32_t h0, uint32_t h1);

#endif
