/*
 * sha1_kernels.c - the table of compiled SHA-1 search kernels, the run-time
 * choice among them and their known-answer self-test.
 *
 * Whether each kernel may run here is decided once, under pthread_once:
 * the CPU must support it and it must give every known answer.  The
 * answers are cached in `states`, the only mutable global of the library,
 * written once at initialisation and read-only afterwards.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "simd/cpu_features.h"
#include "simd/sha1_kernels.h"

#ifdef HAVE_KERNEL_AVX512
extern const struct sha1_kernel sha1_kernel_avx512;
#endif
#ifdef HAVE_KERNEL_SHANI
extern const struct sha1_kernel sha1_kernel_shani;
#endif
#ifdef HAVE_KERNEL_AVX2
extern const struct sha1_kernel sha1_kernel_avx2;
#endif
#ifdef HAVE_KERNEL_SSE2
extern const struct sha1_kernel sha1_kernel_sse2;
#endif
#ifdef HAVE_KERNEL_ARMSHA
extern const struct sha1_kernel sha1_kernel_armsha;
#endif
#ifdef HAVE_KERNEL_NEON
extern const struct sha1_kernel sha1_kernel_neon;
#endif

/* Preference order: fastest first, as measured on an x86-64 that has them
 * all (AMD EPYC, one core: avx512 ~280 M trials/s, avx2 ~100, sha-ni ~95,
 * sse2 ~40, portable ~15).  SHA-NI is bound by the SHA unit's throughput
 * (16 SHA1RNDS4 per trial, one every 2 cycles), so sixteen AVX2 lanes edge
 * it out; it beats SSE2 on CPUs that have SHA-NI without AVX2 (Goldmont). */
static const struct sha1_kernel *const kernels[] = {
#ifdef HAVE_KERNEL_AVX512
    &sha1_kernel_avx512,
#endif
#ifdef HAVE_KERNEL_AVX2
    &sha1_kernel_avx2,
#endif
#ifdef HAVE_KERNEL_SHANI
    &sha1_kernel_shani,
#endif
#ifdef HAVE_KERNEL_SSE2
    &sha1_kernel_sse2,
#endif
#ifdef HAVE_KERNEL_ARMSHA
    &sha1_kernel_armsha,
#endif
#ifdef HAVE_KERNEL_NEON
    &sha1_kernel_neon,
#endif
    &sha1_kernel_portable,
};

#define KERNEL_COUNT (sizeof kernels / sizeof kernels[0])

static pthread_once_t states_once = PTHREAD_ONCE_INIT;
static enum sha1_kernel_state states[KERNEL_COUNT];

/*
 * Known answers.  Each message is prefix || seven counter digits, hashed
 * from scratch; a job is built from it the way the minting engine does.
 * Prefix A is 48 bytes (the midstate is the SHA-1 IV), prefix B 112 bytes
 * (one block folded into the midstate).
 */
static const char kat_prefix_a[] =
    "1:20:261127:selftest@postage.invalid::Xy7Kq3Zp00";
static const char kat_prefix_b[] =
    "1:24:261127:a-rather-long-resource-name@kernels.postage.invalid:"
    "ext=v;w=2:Rn4cT8Lm2Qf6Vw9Z:000000000000000000000";

struct kat {
    const char *prefix;
    uint64_t first, count;
    unsigned bits;
    int hit;         /* expected return value */
    uint64_t expect; /* expected *found when hit */
};

/*
 * Expected answers, produced independently of this code when the table was
 * written: a short Python script hashed every message prefix || digits(n)
 * from scratch with hashlib.sha1 over each range and kept the smallest n
 * with enough leading zero bits.  The 37-bit digest at counter 12476979839
 * of prefix A was found by running the AVX-512 kernel over 2^34 counters
 * and then confirmed, with its whole range, by hashlib; it exercises the H1
 * path (bits > 32), which random searches cannot reach.
 */
static const struct kat kats[] = {
    /* from 0 */
    { kat_prefix_a, UINT64_C(0), 20000, 12, 1, UINT64_C(5759) },
    /* unaligned start, hit after the W12 change at 64^3 */
    { kat_prefix_a, UINT64_C(262115), 3000, 8, 1, UINT64_C(263033) },
    /* unaligned start, odd count */
    { kat_prefix_b, UINT64_C(1000003), 3001, 9, 1, UINT64_C(1000071) },
    /* range ends just before a hit: no solution */
    { kat_prefix_b, UINT64_C(5004280), 61, 11, 0, 0 },
    /* range starts on a hit, one trial */
    { kat_prefix_b, UINT64_C(5004341), 1, 11, 1, UINT64_C(5004341) },
    /* a hit in the lane just before first is not reported */
    { kat_prefix_b, UINT64_C(5004342), 40, 11, 0, 0 },
    /* ends at the top of the space */
    { kat_prefix_a, UINT64_C(4398046508097), 3007, 10, 1, UINT64_C(4398046508248) },
    /* near a 37-bit digest, bits 32 */
    { kat_prefix_a, UINT64_C(12476979738), 203, 32, 1, UINT64_C(12476979839) },
    /* bits 33: H1 decides */
    { kat_prefix_a, UINT64_C(12476979738), 203, 33, 1, UINT64_C(12476979839) },
    /* bits = exactly the digest */
    { kat_prefix_a, UINT64_C(12476979738), 203, 37, 1, UINT64_C(12476979839) },
    /* one bit more than the digest: none */
    { kat_prefix_a, UINT64_C(12476979738), 203, 38, 0, 0 },
    /* bits 64 over the 37-bit digest: none */
    { kat_prefix_a, UINT64_C(12476979799), 64, 64, 0, 0 },
    /* bits 1 */
    { kat_prefix_b, UINT64_C(77777777), 9, 1, 1, UINT64_C(77777778) },
};

static void build_job(struct sha1_search_job *job, const char *prefix)
{
    const size_t len = strlen(prefix);
    const uint64_t bit_len = (uint64_t)(len + SHA1_SEARCH_DIGITS) * 8;
    size_t done;
    int i;

    job->midstate[0] = SHA1_IV0;
    job->midstate[1] = SHA1_IV1;
    job->midstate[2] = SHA1_IV2;
    job->midstate[3] = SHA1_IV3;
    job->midstate[4] = SHA1_IV4;
    for (done = 0; len - done >= 64; done += 64)
        sha1_compress(job->midstate, (const uint8_t *)prefix + done);
    /* The prefixes end exactly at byte 48 of the last block. */
    memset(job->block, 0, sizeof job->block);
    memcpy(job->block, prefix + done, len - done);
    job->block[SHA1_SEARCH_END_OFFSET] = 0x80;
    for (i = 0; i < 8; i++)
        job->block[63 - i] = (uint8_t)(bit_len >> (8 * i));
}

int sha1_kernel_selftest(const struct sha1_kernel *k)
{
    struct sha1_search_job job_a, job_b;
    size_t i;

    if (k == NULL || k->search == NULL)
        return 0;
    build_job(&job_a, kat_prefix_a);
    build_job(&job_b, kat_prefix_b);
    for (i = 0; i < sizeof kats / sizeof kats[0]; i++) {
        const struct kat *t = &kats[i];
        const struct sha1_search_job *job =
            t->prefix == kat_prefix_a ? &job_a : &job_b;
        uint64_t found = ~UINT64_C(0);
        int hit = k->search(job, t->first, t->count, t->bits, &found);

        if (hit != t->hit || (hit && found != t->expect))
            return 0;
    }
    return 1;
}

static enum sha1_kernel_state evaluate(const struct sha1_kernel *k)
{
    if (k->cpu_supported == NULL || !k->cpu_supported())
        return SHA1_KERNEL_UNSUPPORTED;
    return sha1_kernel_selftest(k) ? SHA1_KERNEL_USABLE
                                   : SHA1_KERNEL_SELFTEST_FAILED;
}

static void init_states(void)
{
    size_t i;

    for (i = 0; i < KERNEL_COUNT; i++)
        states[i] = evaluate(kernels[i]);
}

size_t sha1_kernel_count(void)
{
    return KERNEL_COUNT;
}

const struct sha1_kernel *sha1_kernel_at(size_t i)
{
    return i < KERNEL_COUNT ? kernels[i] : NULL;
}

const struct sha1_kernel *sha1_kernel_find(const char *name)
{
    size_t i;

    if (name == NULL)
        return NULL;
    for (i = 0; i < KERNEL_COUNT; i++)
        if (strcmp(kernels[i]->name, name) == 0)
            return kernels[i];
    return NULL;
}

enum sha1_kernel_state sha1_kernel_state(const struct sha1_kernel *k)
{
    size_t i;

    if (k == NULL)
        return SHA1_KERNEL_UNSUPPORTED;
    pthread_once(&states_once, init_states);
    for (i = 0; i < KERNEL_COUNT; i++)
        if (kernels[i] == k)
            return states[i];
    /* Not one of ours (a test double, say): judge it now, uncached. */
    return evaluate(k);
}

const struct sha1_kernel *sha1_kernel_default(void)
{
    size_t i;

    pthread_once(&states_once, init_states);
    for (i = 0; i < KERNEL_COUNT; i++)
        if (states[i] == SHA1_KERNEL_USABLE)
            return kernels[i];
    return &sha1_kernel_portable;
}
