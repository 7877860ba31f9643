/*
 * blake2b_kernels.c - the table of compiled H'^1024 chain kernels
 * (simd/blake2b.h), the run-time choice among them and their known-answer
 * self-test, decided once under pthread_once as argon2_kernels.c does.
 */
#include "config.h"

#include <pthread.h>

#include "simd/blake2b.h"

#ifdef HAVE_KERNEL_AVX2
extern const struct blake2b_kernel blake2b_kernel_avx2;
#endif

/* Preference order: vectors first. */
static const struct blake2b_kernel *const kernels[] = {
#ifdef HAVE_KERNEL_AVX2
    &blake2b_kernel_avx2,
#endif
    &blake2b_kernel_portable,
};

#define KERNEL_COUNT (sizeof kernels / sizeof kernels[0])

static pthread_once_t states_once = PTHREAD_ONCE_INIT;
static enum argon2_kernel_state states[KERNEL_COUNT];

/* A 64-bit fingerprint of a block (FNV-1a over its words). */
static uint64_t fingerprint(const argon2_block *b, uint64_t h)
{
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++)
        h = (h ^ b->v[i]) * UINT64_C(0x100000001B3);
    return h;
}

/*
 * The known answer: the fingerprint of both outputs for two 76-byte first
 * blocks (the length of Argon2's LE32(1024) || H0 || LE32(j) || LE32(lane))
 * made of counting bytes.  Produced by the portable kernel when this was
 * written; tests/unit/check_blake2b.c checks the portable kernel against
 * libsodium, so the answer is not self-made truth.
 */
#define KAT_X2 UINT64_C(0x6741997634F80121)

int blake2b_kernel_selftest(const struct blake2b_kernel *k)
{
    uint64_t m0[16] = { 0 }, m1[16] = { 0 };
    argon2_block out0, out1;

    if (k == NULL || k->hprime1k_x2 == NULL)
        return 0;
    for (unsigned i = 0; i < 76; i++) {
        m0[i / 8] |= (uint64_t) (i & 0xFF) << (8 * (i % 8));
        m1[i / 8] |= (uint64_t) ((i + 100) & 0xFF) << (8 * (i % 8));
    }
    k->hprime1k_x2(m0, m1, 76, &out0, &out1);
    return fingerprint(&out1, fingerprint(&out0, UINT64_C(0xCBF29CE484222325))) == KAT_X2;
}

static enum argon2_kernel_state evaluate(const struct blake2b_kernel *k)
{
    if (k->cpu_supported == NULL || !k->cpu_supported())
        return ARGON2_KERNEL_UNSUPPORTED;
    return blake2b_kernel_selftest(k) ? ARGON2_KERNEL_USABLE : ARGON2_KERNEL_SELFTEST_FAILED;
}

static void init_states(void)
{
    for (size_t i = 0; i < KERNEL_COUNT; i++)
        states[i] = evaluate(kernels[i]);
}

size_t blake2b_kernel_count(void)
{
    return KERNEL_COUNT;
}

const struct blake2b_kernel *blake2b_kernel_at(size_t i)
{
    return i < KERNEL_COUNT ? kernels[i] : NULL;
}

enum argon2_kernel_state blake2b_kernel_state(const struct blake2b_kernel *k)
{
    if (k == NULL)
        return ARGON2_KERNEL_UNSUPPORTED;
    pthread_once(&states_once, init_states);
    for (size_t i = 0; i < KERNEL_COUNT; i++)
        if (kernels[i] == k)
            return states[i];
    return evaluate(k);
}

const struct blake2b_kernel *blake2b_kernel_default(void)
{
    pthread_once(&states_once, init_states);
    for (size_t i = 0; i < KERNEL_COUNT; i++)
        if (states[i] == ARGON2_KERNEL_USABLE)
            return kernels[i];
    return &blake2b_kernel_portable;
}
