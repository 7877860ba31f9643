/*
 * xargon2.c - a self-contained check of every compiled Argon2 fill-block
 * kernel, for builds without Check, libargon2 or libsodium: the aarch64
 * cross build run under qemu-user (tests/system/aarch64_argon2.sh).
 *
 * For each kernel the CPU supports: its known-answer self-test, then
 * every output block compared with the portable kernel's on random blocks,
 * with and without the XOR into the old block, and with next aliasing prev
 * and ref.  (The portable kernel is itself checked through whole Argon2id
 * hashes against libargon2 and RFC 9106 by tests/unit/check_argon2_kernels
 * on the build machine.)  Prints "N passed, N failed" and exits non-zero
 * on any failure.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "simd/argon2_kernels.h"

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void
random_block(argon2_block *b)
{
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++)
        b->v[i] = rng();
}

/* Returns 1 if k agrees with the portable kernel on n random cases. */
static int
matches_portable(const struct argon2_kernel *k, int n)
{
    for (int round = 0; round < n; round++) {
        argon2_block prev, ref, old, want, got;
        int with_xor = round & 1;
        random_block(&prev);
        random_block(&ref);
        random_block(&old);
        want = old;
        got = old;
        argon2_kernel_portable.fill_block(&prev, &ref, &want, with_xor);
        k->fill_block(&prev, &ref, &got, with_xor);
        if (memcmp(&want, &got, sizeof want) != 0)
            return 0;
        want = prev;
        got = prev;
        argon2_kernel_portable.fill_block(&want, &ref, &want, with_xor);
        k->fill_block(&got, &ref, &got, with_xor);
        if (memcmp(&want, &got, sizeof want) != 0)
            return 0;
    }
    return 1;
}

int
main(void)
{
    unsigned passed = 0, failed = 0;
    for (size_t i = 0; i < argon2_kernel_count(); i++) {
        const struct argon2_kernel *k = argon2_kernel_at(i);
        enum argon2_kernel_state st = argon2_kernel_state(k);
        if (st == ARGON2_KERNEL_UNSUPPORTED) {
            printf("%s not supported here\n", k->name);
            continue;
        }
        int ok = st == ARGON2_KERNEL_USABLE && argon2_kernel_selftest(k);
        printf("%s self-test %s\n", k->name, ok ? "ok" : "FAILED");
        ok ? passed++ : failed++;
        int same = matches_portable(k, 200);
        printf("%s against portable: %s\n", k->name, same ? "ok" : "FAILED");
        same ? passed++ : failed++;
    }
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
