/*
 * argon2_kernels.c - the table of compiled Argon2 fill-block kernels, the
 * run-time choice among them and their known-answer self-test.
 *
 * Whether each kernel may run here is decided once, under pthread_once:
 * the CPU must support it and it must give every known answer.  The
 * answers are cached in `states`, written once at initialisation and
 * read-only afterwards (as sha1_kernels.c does for the SHA-1 kernels).
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "simd/argon2_kernels.h"
#include "simd/cpu_features.h"

#ifdef HAVE_KERNEL_AVX512
extern const struct argon2_kernel argon2_kernel_avx512;
#endif
#ifdef HAVE_KERNEL_AVX2
extern const struct argon2_kernel argon2_kernel_avx2;
#endif
#ifdef HAVE_KERNEL_NEON
extern const struct argon2_kernel argon2_kernel_neon;
#endif

/* Preference order: widest vectors first. */
static const struct argon2_kernel *const kernels[] = {
#ifdef HAVE_KERNEL_AVX512
    &argon2_kernel_avx512,
#endif
#ifdef HAVE_KERNEL_AVX2
    &argon2_kernel_avx2,
#endif
#ifdef HAVE_KERNEL_NEON
    &argon2_kernel_neon,
#endif
    &argon2_kernel_portable,
};

#define KERNEL_COUNT (sizeof kernels / sizeof kernels[0])

static pthread_once_t states_once = PTHREAD_ONCE_INIT;
static enum argon2_kernel_state states[KERNEL_COUNT];

/* Deterministic test blocks: xorshift64* from a seed. */
static void make_block(argon2_block *b, uint64_t seed)
{
    uint64_t x = seed;
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        b->v[i] = x * UINT64_C(0x2545F4914F6CDD1D);
    }
}

/* A 64-bit fingerprint of a block (FNV-1a over its words). */
static uint64_t fingerprint(const argon2_block *b)
{
    uint64_t h = UINT64_C(0xCBF29CE484222325);
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++)
        h = (h ^ b->v[i]) * UINT64_C(0x100000001B3);
    return h;
}

/*
 * Known answers: the fingerprints of (1) G(prev, ref) into a fresh block,
 * (2) G(prev, ref) XOR an old block, (3) a chain in which next is the same
 * block as prev, then as ref.  They were produced by the portable kernel
 * when this table was written; the portable kernel itself is checked, by
 * tests/unit/check_argon2_kernels.c, through whole Argon2id hashes against
 * libargon2 and RFC 9106's vector, so the answers are not self-made truth.
 */
#define KAT_PLAIN UINT64_C(0xED404D3F736AC278)
#define KAT_XOR UINT64_C(0xFC72E3F571B8C5A2)
#define KAT_CHAIN UINT64_C(0xC7D9BC6F0650808A)

/* The hook of the self-test: remembers word 0 and how often it came. */
struct seen {
    uint64_t w0;
    int calls;
};

static void remember(void *ctx, uint64_t w0)
{
    struct seen *s = ctx;
    s->w0 = w0;
    s->calls++;
}

int argon2_kernel_selftest(const struct argon2_kernel *k)
{
    argon2_block prev, ref, next;
    struct seen seen = { 0, 0 };
    const struct argon2_fill_hook hook = { remember, &seen };

    if (k == NULL || k->fill_block == NULL)
        return 0;
    make_block(&prev, UINT64_C(0x9E3779B97F4A7C15));
    make_block(&ref, UINT64_C(0xD1B54A32D192ED03));
    make_block(&next, UINT64_C(0x8CB92BA72F3D8DD7)); /* garbage to overwrite */
    k->fill_block(&prev, &ref, &next, 0, NULL);
    if (fingerprint(&next) != KAT_PLAIN)
        return 0;
    make_block(&next, UINT64_C(0x8CB92BA72F3D8DD7));
    k->fill_block(&prev, &ref, &next, 1, &hook);
    if (fingerprint(&next) != KAT_XOR || seen.calls != 1 || seen.w0 != next.v[0])
        return 0;
    k->fill_block(&next, &ref, &next, 1, NULL);   /* next aliases prev */
    k->fill_block(&prev, &next, &next, 0, &hook); /* next aliases ref */
    return fingerprint(&next) == KAT_CHAIN && seen.calls == 2 && seen.w0 == next.v[0];
}

static enum argon2_kernel_state evaluate(const struct argon2_kernel *k)
{
    if (k->cpu_supported == NULL || !k->cpu_supported())
        return ARGON2_KERNEL_UNSUPPORTED;
    return argon2_kernel_selftest(k) ? ARGON2_KERNEL_USABLE : ARGON2_KERNEL_SELFTEST_FAILED;
}

static void init_states(void)
{
    for (size_t i = 0; i < KERNEL_COUNT; i++)
        states[i] = evaluate(kernels[i]);
}

size_t argon2_kernel_count(void)
{
    return KERNEL_COUNT;
}

const struct argon2_kernel *argon2_kernel_at(size_t i)
{
    return i < KERNEL_COUNT ? kernels[i] : NULL;
}

const struct argon2_kernel *argon2_kernel_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < KERNEL_COUNT; i++)
        if (strcmp(kernels[i]->name, name) == 0)
            return kernels[i];
    return NULL;
}

enum argon2_kernel_state argon2_kernel_state(const struct argon2_kernel *k)
{
    if (k == NULL)
        return ARGON2_KERNEL_UNSUPPORTED;
    pthread_once(&states_once, init_states);
    for (size_t i = 0; i < KERNEL_COUNT; i++)
        if (kernels[i] == k)
            return states[i];
    /* Not one of ours (a test double, say): judge it now, uncached. */
    return evaluate(k);
}

const struct argon2_kernel *argon2_kernel_default(void)
{
    pthread_once(&states_once, init_states);
    for (size_t i = 0; i < KERNEL_COUNT; i++)
        if (states[i] == ARGON2_KERNEL_USABLE)
            return kernels[i];
    return &argon2_kernel_portable;
}
