/*
 * test_rng.h - reproducible random test data for the unit tests:
 * xorshift64*, small, fixed, the same on every platform, so that a failure
 * seen once is seen again.  Each test program includes it once and has its
 * own state; define TEST_RNG_START before including it to start elsewhere
 * (a program that seeds per test sets test_rng_state itself).
 */
#ifndef POSTAGE_TESTS_TEST_RNG_H
#define POSTAGE_TESTS_TEST_RNG_H

#include <stdint.h>

#ifndef TEST_RNG_START
#define TEST_RNG_START UINT64_C(0x243F6A8885A308D3)
#endif

static uint64_t test_rng_state = TEST_RNG_START;

/* The next 64 pseudo-random bits. */
static inline uint64_t
test_rng(void)
{
    test_rng_state ^= test_rng_state >> 12;
    test_rng_state ^= test_rng_state << 25;
    test_rng_state ^= test_rng_state >> 27;
    return test_rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

#endif
