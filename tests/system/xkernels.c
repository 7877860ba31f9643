/*
 * xkernels.c - a self-contained check of every compiled SHA-1 search
 * kernel, for builds where Check and OpenSSL are not at hand: the aarch64
 * cross build run under qemu-user (tests/system/aarch64_kernels.sh).
 *
 * For each kernel the CPU supports: its known-answer self-test, then, on
 * prefixes of every length from 0 to 200 bytes laid out as the minting
 * engine lays them out, every hit in several ranges (unaligned starts, odd
 * counts, across the W12 step) compared with a reference that hashes each
 * whole padded message from scratch with the portable compression
 * function.  (That function is itself checked against OpenSSL by
 * tests/unit/check_kernels on the build machine.)
 * Prints "N passed, N failed" and exits non-zero on any failure.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "simd/sha1_kernels.h"

static unsigned passed, failed;

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct layout {
    uint8_t msg[320];
    size_t len;          /* whole message, ends at 55 mod 64 */
    struct sha1_search_job job;
};

static void
lay_out(struct layout *l, size_t prefix_len)
{
    size_t pad = (55 + 64 - (prefix_len + SHA1_SEARCH_DIGITS) % 64) % 64;

    for (size_t i = 0; i < prefix_len; i++)
        l->msg[i] = (uint8_t) (' ' + rng() % 95);
    memset(l->msg + prefix_len, '0', pad + SHA1_SEARCH_DIGITS);
    l->len = prefix_len + pad + SHA1_SEARCH_DIGITS;

    uint32_t st[5] = { SHA1_IV0, SHA1_IV1, SHA1_IV2, SHA1_IV3, SHA1_IV4 };
    size_t last = l->len - SHA1_SEARCH_END_OFFSET;
    for (size_t off = 0; off < last; off += 64)
        sha1_compress(st, l->msg + off);
    memcpy(l->job.midstate, st, sizeof st);
    memset(l->job.block, 0, sizeof l->job.block);
    memcpy(l->job.block, l->msg + last, SHA1_SEARCH_END_OFFSET);
    l->job.block[55] = 0x80;
    uint64_t bits = (uint64_t) l->len * 8;
    for (int i = 0; i < 8; i++)
        l->job.block[63 - i] = (uint8_t) (bits >> (8 * i));
}

/* Leading zero bits of SHA-1(message with counter n), hashed from scratch. */
static unsigned
reference_bits(const struct layout *l, uint64_t n)
{
    uint8_t m[384];
    uint32_t st[5] = { SHA1_IV0, SHA1_IV1, SHA1_IV2, SHA1_IV3, SHA1_IV4 };
    size_t total = (l->len + 9 + 63) / 64 * 64;

    memset(m, 0, sizeof m);
    memcpy(m, l->msg, l->len);
    for (int i = SHA1_SEARCH_DIGITS - 1; i >= 0; i--, n >>= 6)
        m[l->len - SHA1_SEARCH_DIGITS + (size_t) i] = (uint8_t) SHA1_SEARCH_ALPHABET[n & 63];
    m[l->len] = 0x80;
    uint64_t bits = (uint64_t) l->len * 8;
    for (int i = 0; i < 8; i++)
        m[total - 1 - (size_t) i] = (uint8_t) (bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64)
        sha1_compress(st, m + off);
    return sha1_leading_zero_bits(st[0], st[1]);
}

static void
check(int ok, const char *kernel, const char *what, size_t len, uint64_t n)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    if (failed <= 20)
        printf("FAIL %s: %s (prefix length %zu, counter %llu)\n", kernel, what, len,
               (unsigned long long) n);
}

static void
check_range(const struct sha1_kernel *k, const struct layout *l, size_t prefix_len,
            uint64_t first, uint64_t count, unsigned bits)
{
    uint64_t at = first, end = first + count, found;

    while (at < end && k->search(&l->job, at, end - at, bits, &found)) {
        uint64_t want = at;
        while (want < found && reference_bits(l, want) < bits)
            want++;
        check(want == found && reference_bits(l, found) >= bits, k->name,
              "hit differs from the reference", prefix_len, found);
        if (want != found)
            return;
        at = found + 1;
    }
    for (uint64_t n = at; n < end; n++)
        if (reference_bits(l, n) >= bits) {
            check(0, k->name, "missed a hit", prefix_len, n);
            return;
        }
    check(1, k->name, "", prefix_len, 0);
}

int
main(void)
{
    for (size_t i = 0; i < sha1_kernel_count(); i++) {
        const struct sha1_kernel *k = sha1_kernel_at(i);
        enum sha1_kernel_state state = sha1_kernel_state(k);
        printf("%-10s %s\n", k->name,
               state == SHA1_KERNEL_USABLE ? "supported, self-test ok"
               : state == SHA1_KERNEL_UNSUPPORTED ? "not supported by this CPU"
                                                   : "supported, SELF-TEST FAILED");
        if (state == SHA1_KERNEL_UNSUPPORTED)
            continue;
        check(state == SHA1_KERNEL_USABLE, k->name, "self-test", 0, 0);
        for (size_t len = 0; len <= 200; len++) {
            struct layout l;
            lay_out(&l, len);
            uint64_t step = UINT64_C(1) << 18;
            check_range(k, &l, len, rng() % 100000, 1000 + rng() % 64, 7);
            check_range(k, &l, len, step * (1 + rng() % 8) - 200 - rng() % 37, 467, 6);
            check_range(k, &l, len, SHA1_SEARCH_SPACE - 500, 500, 6);
        }
    }
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
