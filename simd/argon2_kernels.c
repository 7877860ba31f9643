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
#include <stdlib.h>
#include <string.h>

#include "simd/argon2_index.h"
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

/* The segment loop over seg->fill, block by block, the prefetch of a
 * data-dependent reference going through the fill hook. */
static void by_block_word0(void *ctx, uint64_t w0)
{
    argon2_prefetch_next(ctx, w0);
}

static inline void by_block(const struct argon2_segment *seg, const argon2_block *prev,
                            const argon2_block *ref, argon2_block *next, int with_xor,
                            const struct argon2_next *nx)
{
    struct argon2_next at = { seg, nx != NULL ? nx->index : 0 };   /* the hook's ctx is not const */
    const struct argon2_fill_hook hook = { by_block_word0, &at };
    seg->fill(prev, ref, next, with_xor, nx != NULL ? &hook : NULL);
}

#define ARGON2_SEGMENT_FN segment_by_block
#define ARGON2_SEGMENT_COMPRESS by_block
#include "simd/argon2_segment.h"

void argon2_fill_segment_by_block(const struct argon2_segment *seg)
{
    segment_by_block(seg);
}

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

/* The fingerprint of a small memory (2 lanes of 16 blocks, from
 * make_block) after two passes of k->fill_segment (or, for a kernel
 * without one, of the block-by-block loop over its fill_block), every
 * segment with prefetching: both addressing modes, references across
 * lanes, the XOR of the second pass.  Answers as KAT_* above. */
#define KAT_SEGMENTS UINT64_C(0x956A236D73EE686B)
#define SEG_LANES 2
#define SEG_LANE_LENGTH 16

static uint64_t segments_fingerprint(const struct argon2_kernel *k, argon2_block *mem)
{
    const uint32_t blocks = SEG_LANES * SEG_LANE_LENGTH;
    for (uint32_t b = 0; b < blocks; b++)
        make_block(&mem[b], UINT64_C(0x5851F42D4C957F2D) + b);
    for (uint32_t pass = 0; pass < 2; pass++)
        for (uint32_t slice = 0; slice < ARGON2_SYNC_POINTS; slice++)
            for (uint32_t lane = 0; lane < SEG_LANES; lane++) {
                const struct argon2_segment seg = {
                    mem, pass, lane, slice, 2, SEG_LANES, blocks, SEG_LANE_LENGTH,
                    SEG_LANE_LENGTH / ARGON2_SYNC_POINTS, 1, k->fill_block,
                };
                if (k->fill_segment != NULL)
                    k->fill_segment(&seg);
                else
                    argon2_fill_segment_by_block(&seg);
            }
    uint64_t h = 0;
    for (uint32_t b = 0; b < blocks; b++)
        h = h * UINT64_C(0x100000001B3) ^ fingerprint(&mem[b]);
    return h;
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
    if (fingerprint(&next) != KAT_CHAIN || seen.calls != 2 || seen.w0 != next.v[0])
        return 0;
    /* 32 KiB: on the heap, not on a caller's (perhaps small) stack. */
    argon2_block *mem =
        aligned_alloc(_Alignof(argon2_block), SEG_LANES * SEG_LANE_LENGTH * sizeof *mem);
    if (mem == NULL)
        return 0;
    uint64_t got = segments_fingerprint(k, mem);
    free(mem);
    return got == KAT_SEGMENTS;
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
