/*
 * check_blake2b.c - unit tests of postage's Blake2b (simd/blake2b.h): the
 * streaming hash and every H'^1024 chain kernel this CPU runs, against
 * libsodium's crypto_generichash_blake2b as the oracle, for every output
 * length Argon2id uses (16..64) and inputs of every length around the
 * 128-byte block boundaries, whole and in pieces.  A kernel this CPU does
 * not run is reported on stderr and skipped, not failed.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "simd/blake2b.h"
#include "tests/unit/check_main.h"

#define TEST_RNG_START UINT64_C(0x13198A2E03707344)
#include "tests/unit/test_rng.h"

static void
random_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t) test_rng();
}

static void
oracle(uint8_t *out, size_t outlen, const uint8_t *in, size_t n)
{
    ck_assert_int_eq(crypto_generichash_blake2b(out, outlen, in, n, NULL, 0), 0);
}

/* Every output length 16..64 (libsodium's range), inputs of 0..300 bytes
 * and Argon2's 76, 96 and 1028, in one update. */
START_TEST(test_streaming_whole)
{
    static const size_t extra[] = { 1024, 1028, 4096 };
    uint8_t in[4096], want[64], got[64];
    random_bytes(in, sizeof in);
    for (size_t outlen = 16; outlen <= 64; outlen++) {
        for (size_t n = 0; n <= 300 + 3; n++) {
            size_t len = n <= 300 ? n : extra[n - 301];
            struct postage_blake2b st;
            postage_blake2b_init(&st, outlen);
            postage_blake2b_update(&st, len > 0 ? in : NULL, len);
            memset(got, 0xAA, sizeof got);
            postage_blake2b_final(&st, got);
            oracle(want, outlen, in, len);
            ck_assert_msg(memcmp(got, want, outlen) == 0, "outlen %zu, %zu bytes", outlen,
                          len);
            ck_assert_uint_eq(got[outlen - 1 + (outlen < 64)], outlen < 64 ? 0xAA : want[63]);
        }
    }
}
END_TEST

/* The same inputs fed in random pieces (empty ones too), so that every
 * path through the buffering is taken. */
START_TEST(test_streaming_pieces)
{
    uint8_t in[1100], want[64], got[64];
    random_bytes(in, sizeof in);
    for (int trial = 0; trial < 2000; trial++) {
        size_t len = (size_t) (test_rng() % sizeof in), outlen = 16 + (size_t) (test_rng() % 49);
        struct postage_blake2b st;
        postage_blake2b_init(&st, outlen);
        for (size_t at = 0; at < len;) {
            size_t piece = (size_t) (test_rng() % 300);
            if (piece > len - at)
                piece = len - at;
            postage_blake2b_update(&st, in + at, piece);
            at += piece;
        }
        postage_blake2b_final(&st, got);
        oracle(want, outlen, in, len);
        ck_assert_msg(memcmp(got, want, outlen) == 0, "outlen %zu, %zu bytes", outlen, len);
    }
}
END_TEST

/* H'^1024 (RFC 9106 §3.3) of the message bytes, by libsodium. */
static void
oracle_hprime1k(uint8_t out[1024], const uint8_t *first, size_t len)
{
    uint8_t v[64];
    oracle(v, 64, first, len);
    memcpy(out, v, 32);
    for (int i = 1; i < 30; i++) {
        oracle(v, 64, v, 64);
        memcpy(out + 32 * i, v, 32);
    }
    oracle(out + 960, 64, v, 64);
}

static void
block_bytes(uint8_t out[1024], const argon2_block *b)
{
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++)
        for (int k = 0; k < 8; k++)
            out[8 * i + (size_t) k] = (uint8_t) (b->v[i] >> (8 * k));
}

static void
words(uint64_t m[16], const uint8_t bytes[128])
{
    for (size_t i = 0; i < 16; i++) {
        m[i] = 0;
        for (int k = 7; k >= 0; k--)
            m[i] = m[i] << 8 | bytes[8 * i + (size_t) k];
    }
}

/* Each kernel: both chains against the oracle, for Argon2's 76-byte first
 * block and other lengths up to a whole Blake2b block. */
START_TEST(test_kernel_hprime1k)
{
    const struct blake2b_kernel *k = blake2b_kernel_at((size_t) _i);
    ck_assert_ptr_nonnull(k);
    if (blake2b_kernel_state(k) != ARGON2_KERNEL_USABLE) {
        fprintf(stderr, "check_blake2b: kernel %s not usable here, skipped\n", k->name);
        return;
    }
    static const uint32_t lens[] = { 76, 1, 4, 64, 75, 77, 127, 128 };
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        uint8_t b0[128] = { 0 }, b1[128] = { 0 }, want[1024], got[1024];
        uint64_t m0[16], m1[16];
        argon2_block out0, out1;
        random_bytes(b0, lens[li]);
        random_bytes(b1, lens[li]);
        words(m0, b0);
        words(m1, b1);
        k->hprime1k_x2(m0, m1, lens[li], &out0, &out1);
        oracle_hprime1k(want, b0, lens[li]);
        block_bytes(got, &out0);
        ck_assert_msg(memcmp(got, want, 1024) == 0, "%s, chain 0, %u bytes", k->name,
                      lens[li]);
        oracle_hprime1k(want, b1, lens[li]);
        block_bytes(got, &out1);
        ck_assert_msg(memcmp(got, want, 1024) == 0, "%s, chain 1, %u bytes", k->name,
                      lens[li]);
    }
}
END_TEST

START_TEST(test_states)
{
    ck_assert_uint_ge(blake2b_kernel_count(), 1);
    ck_assert_ptr_null(blake2b_kernel_at(blake2b_kernel_count()));
    ck_assert_ptr_eq(blake2b_kernel_at(blake2b_kernel_count() - 1), &blake2b_kernel_portable);
    ck_assert_int_eq(blake2b_kernel_state(&blake2b_kernel_portable), ARGON2_KERNEL_USABLE);
    ck_assert_int_eq(blake2b_kernel_state(blake2b_kernel_default()), ARGON2_KERNEL_USABLE);
}
END_TEST

/* A kernel that is wrong in one bit of one output must fail the self-test. */
static void
wrong_hprime1k_x2(const uint64_t m0[16], const uint64_t m1[16], uint32_t len,
                  argon2_block *out0, argon2_block *out1)
{
    blake2b_kernel_portable.hprime1k_x2(m0, m1, len, out0, out1);
    out1->v[127] ^= 1;
}

static int
yes(void)
{
    return 1;
}

START_TEST(test_selftest_catches_a_wrong_kernel)
{
    const struct blake2b_kernel wrong = { "wrong", yes, wrong_hprime1k_x2 };
    ck_assert_int_eq(blake2b_kernel_selftest(&blake2b_kernel_portable), 1);
    ck_assert_int_eq(blake2b_kernel_selftest(&wrong), 0);
    ck_assert_int_eq(blake2b_kernel_state(&wrong), ARGON2_KERNEL_SELFTEST_FAILED);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("blake2b");
    TCase *t = tcase_create("blake2b");
    int n = (int) blake2b_kernel_count();

    if (sodium_init() < 0)
        fprintf(stderr, "check_blake2b: sodium_init failed\n");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_streaming_whole);
    tcase_add_test(t, test_streaming_pieces);
    tcase_add_test(t, test_states);
    tcase_add_test(t, test_selftest_catches_a_wrong_kernel);
    tcase_add_loop_test(t, test_kernel_hprime1k, 0, n);
    suite_add_tcase(s, t);
    return s;
}
