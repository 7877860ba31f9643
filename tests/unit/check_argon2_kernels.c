/*
 * check_argon2_kernels.c - unit tests of Argon2's fill-block kernels
 * (simd/argon2_kernels.h).
 *
 * Every compiled kernel that this CPU runs is checked against the portable
 * one on random blocks.  A kernel this CPU does not run is reported on
 * stderr and skipped, not failed.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postage/status.h"
#include "simd/argon2_kernels.h"
#include "tests/unit/check_main.h"

/* xorshift64*: reproducible random test data. */
static uint64_t rng_state = UINT64_C(0x243F6A8885A308D3);

static uint64_t
rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

static void
random_block(argon2_block *b)
{
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++)
        b->v[i] = rnd();
}

static int
usable(const struct argon2_kernel *k)
{
    return argon2_kernel_state(k) == ARGON2_KERNEL_USABLE;
}

/* ---- the kernels --------------------------------------------------- */

START_TEST(test_states)
{
    ck_assert_uint_ge(argon2_kernel_count(), 1);
    ck_assert_ptr_eq(argon2_kernel_find("portable"), &argon2_kernel_portable);
    ck_assert_ptr_null(argon2_kernel_find("no-such-kernel"));
    ck_assert_ptr_null(argon2_kernel_at(argon2_kernel_count()));
    ck_assert_int_eq(argon2_kernel_state(&argon2_kernel_portable), ARGON2_KERNEL_USABLE);
    for (size_t i = 0; i < argon2_kernel_count(); i++) {
        const struct argon2_kernel *k = argon2_kernel_at(i);
        /* A kernel the CPU runs must pass its self-test. */
        ck_assert_msg(argon2_kernel_state(k) != ARGON2_KERNEL_SELFTEST_FAILED,
                      "%s failed its self-test", k->name);
        fprintf(stderr, "argon2 kernel %s: %s\n", k->name,
                usable(k) ? "usable" : "not supported here, skipped");
    }
    ck_assert(usable(argon2_kernel_default()));
}
END_TEST

/* A kernel whose answers are wrong (the portable one, one bit off) must
 * fail the self-test, or the self-test proves nothing. */
static void
broken_fill(const argon2_block *prev, const argon2_block *ref, argon2_block *next, int with_xor)
{
    argon2_kernel_portable.fill_block(prev, ref, next, with_xor);
    next->v[77] ^= 1u << 5;
}

static int
always(void)
{
    return 1;
}

START_TEST(test_selftest_catches_a_wrong_kernel)
{
    const struct argon2_kernel broken = { "broken", always, broken_fill };
    ck_assert_int_eq(argon2_kernel_selftest(&broken), 0);
    ck_assert_int_eq(argon2_kernel_state(&broken), ARGON2_KERNEL_SELFTEST_FAILED);
    ck_assert_int_eq(argon2_kernel_selftest(&argon2_kernel_portable), 1);
}
END_TEST

/* Every kernel gives the portable kernel's block, bit for bit, with and
 * without the XOR into the old block, and when next is prev or ref. */
START_TEST(test_kernels_match_portable)
{
    const struct argon2_kernel *k = argon2_kernel_at((size_t) _i);
    if (!usable(k))
        return;
    for (int round = 0; round < 300; round++) {
        argon2_block prev, ref, old, want, got;
        random_block(&prev);
        random_block(&ref);
        random_block(&old);
        int with_xor = round & 1;
        want = old;
        got = old;
        argon2_kernel_portable.fill_block(&prev, &ref, &want, with_xor);
        k->fill_block(&prev, &ref, &got, with_xor);
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s differs, round %d", k->name,
                      round);
        /* next aliasing prev, then ref */
        want = prev;
        got = prev;
        argon2_kernel_portable.fill_block(&want, &ref, &want, with_xor);
        k->fill_block(&got, &ref, &got, with_xor);
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s differs (next = prev)", k->name);
        want = ref;
        got = ref;
        argon2_kernel_portable.fill_block(&prev, &want, &want, with_xor);
        k->fill_block(&prev, &got, &got, with_xor);
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s differs (next = ref)", k->name);
    }
    /* Edge words: all ones, where BlaMka's 2*x*y wraps hardest. */
    argon2_block ones, zero, want, got;
    memset(&ones, 0xFF, sizeof ones);
    memset(&zero, 0, sizeof zero);
    want = zero;
    got = zero;
    argon2_kernel_portable.fill_block(&ones, &zero, &want, 0);
    k->fill_block(&ones, &zero, &got, 0);
    ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s differs on all-ones", k->name);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("argon2_kernels");
    int n = (int) argon2_kernel_count();
    TCase *t = tcase_create("kernels");
    tcase_add_test(t, test_states);
    tcase_add_test(t, test_selftest_catches_a_wrong_kernel);
    tcase_add_loop_test(t, test_kernels_match_portable, 0, n);
    suite_add_tcase(s, t);
    return s;
}
