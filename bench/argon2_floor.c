/*
 * argon2_floor.c - where the time of one Argon2id hash goes at large
 * memory, slice by slice, beside what the same loop costs with the memory
 * or the arithmetic taken away, and beside two hashes computed at once:
 * the measurements behind "why one thread does not reach a copy's
 * bandwidth" in the cost report (issue 21's bandwidth goal).
 *
 *   argon2_floor [--memory KIB] [--repeat R] [--kernel NAME]
 *
 * Defaults: --memory 65536 --repeat 5, the default kernel; one lane, one
 * pass (t=1), one thread.  Each repetition measures every row once, in
 * turn, so a change in the machine's load hits all rows alike; a row gives
 * medians.  Rows (ns per block for each of the four slices, then the whole
 * fill's rate and its fraction of the copy limit):
 *
 *   hash      the kernel's own segment loop, prefetching, huge pages: the
 *             fill of one postage hash (H0, H' and the tag, a few Blake2b
 *             calls, are left out: at 64 MiB they are well under 1%).
 *             Slices 0 and 1 take their references from address blocks,
 *             known ahead and prefetched; slices 2 and 3 from word 0 of the
 *             block before, so each of their blocks waits for its
 *             reference to come from memory.
 *   pair      two hashes in two areas, block by block in turn, each block's
 *             next reference prefetched through the kernel's word-0 hook:
 *             the one way to give a core other work while a data-dependent
 *             reference is on its way.  Per block of either hash.
 *   compute   the kernel's fill_block on three blocks that stay in L1:
 *             the arithmetic alone, as if memory were free.
 *   memory    the hash's loop with the same references, but G replaced by
 *             prev XOR ref: the memory traffic and the data-dependent chain
 *             alone, as if the arithmetic were free.
 *   limit     a copy's bandwidth (memcpy between two 256 MiB buffers,
 *             GB/s of traffic, read + write) over the 3 KiB each block
 *             moves: bench/argon2_kernels's and issue 21's limit.
 *   latency   one load from a random block of the area, each load's
 *             address taken from the one before (a pointer chase): what a
 *             data-dependent block waits for at least.  ns per load.
 *
 * TSV on stdout: row slice0 slice1 slice2 slice3 ns_per_block rate
 * of_limit (slices and ns in ns per block, rate in fills per second).
 * A measuring tool: it asserts no time.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/mman.h>

#include "postage.h"
#include "simd/argon2_index.h"
#include "simd/argon2_kernels.h"
#include "bench/argon2_bench.h"

#define HUGE_PAGE ((size_t) 2 << 20)
#define SLICES ARGON2_SYNC_POINTS

enum row {
    ROW_HASH, ROW_PAIR, ROW_COMPUTE, ROW_COMPUTE_DEP, ROW_MEMORY, ROW_LIMIT, ROW_LATENCY, ROWS
};
static const char *const row_names[ROWS] = { "hash", "pair", "compute", "compute_dependent",
                                             "memory", "limit", "latency" };

/* One repetition's figures for a row: ns per block by slice and overall. */
struct sample {
    double slice[SLICES];
    double ns;
};

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "argon2_floor: %s: %s\n", what, why);
    exit(1);
}

/* A work area as lib/argon2id_core.c makes one: 2 MiB aligned, huge pages
 * asked for, every page touched before timing. */
static argon2_block *
area_new(size_t bytes, unsigned char fill)
{
    unsigned char *p = mmap(NULL, bytes + HUGE_PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("work area", "out of memory");
    uintptr_t a = ((uintptr_t) p + HUGE_PAGE - 1) & ~(uintptr_t) (HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
    (void) madvise((void *) a, bytes, MADV_HUGEPAGE);
#endif
    memset((void *) a, fill, bytes);
    return (argon2_block *) a;
}

/* Different first blocks for every fill, so no two fills compute the same
 * blocks (xorshift64: any spread of bits will do here). */
static uint64_t
next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void
seed_first_blocks(argon2_block *memory, uint64_t *rng)
{
    for (int b = 0; b < 2; b++)
        for (int w = 0; w < ARGON2_BLOCK_WORDS; w++)
            memory[b].v[w] = next_random(rng);
}

static struct argon2_segment
segment_of(argon2_block *memory, uint32_t blocks, uint32_t slice, const struct argon2_kernel *k)
{
    struct argon2_segment s;
    memset(&s, 0, sizeof s);
    s.memory = memory;
    s.slice = slice;
    s.passes = 1;
    s.lanes = 1;
    s.blocks = blocks;
    s.lane_length = blocks;
    s.segment_length = blocks / SLICES;
    s.prefetch = 1;
    s.fill = k->fill_block;
    return s;
}

static void
hash_fill(const struct argon2_kernel *k, argon2_block *memory, uint32_t blocks, uint64_t *rng,
          struct sample *out)
{
    seed_first_blocks(memory, rng);
    out->ns = 0;
    for (uint32_t slice = 0; slice < SLICES; slice++) {
        struct argon2_segment s = segment_of(memory, blocks, slice, k);
        double t0 = now_seconds();
        if (k->fill_segment != NULL)
            k->fill_segment(&s);
        else
            argon2_fill_segment_by_block(&s);
        double t = now_seconds() - t0;
        out->slice[slice] = t * 1e9 / s.segment_length;
        out->ns += t * 1e9 / blocks;
    }
}

static void
prefetch_hook(void *ctx, uint64_t w0)
{
    argon2_prefetch_next(ctx, w0);
}

/* Two fills at once: block i of A, then block i of B, and so on; the
 * address blocks (the same for both: they depend only on the position)
 * are computed once. */
static void
pair_fill(const struct argon2_kernel *k, argon2_block *a, argon2_block *b, uint32_t blocks,
          uint64_t *rng, struct sample *out)
{
    static const argon2_block zero;
    seed_first_blocks(a, rng);
    seed_first_blocks(b, rng);
    out->ns = 0;
    for (uint32_t slice = 0; slice < SLICES; slice++) {
        const struct argon2_segment sa = segment_of(a, blocks, slice, k);
        const struct argon2_segment sb = segment_of(b, blocks, slice, k);
        const struct argon2_segment *seg[2] = { &sa, &sb };
        struct argon2_next next[2] = { { &sa, 0 }, { &sb, 0 } };
        struct argon2_fill_hook hook[2] = { { prefetch_hook, &next[0] },
                                            { prefetch_hook, &next[1] } };
        const int independent = slice < SLICES / 2;
        const uint32_t start = slice == 0 ? 2 : 0;
        argon2_block addr, input;
        memset(&input, 0, sizeof input);   /* pass 0, lane 0 */
        input.v[2] = slice;
        input.v[3] = blocks;
        input.v[4] = 1;
        input.v[5] = ARGON2_ID_TYPE;
        double t0 = now_seconds();
        uint32_t cur = slice * sa.segment_length + start;
        for (uint32_t i = start; i < sa.segment_length; i++, cur++) {
            const int fresh = independent && (i % ARGON2_ADDRESSES_PER_BLOCK == 0 || i == start);
            if (fresh) {
                input.v[6]++;
                k->fill_block(&zero, &input, &addr, 0, NULL);
                k->fill_block(&zero, &addr, &addr, 0, NULL);
            }
            for (int h = 0; h < 2; h++) {
                argon2_block *mem = seg[h]->memory;
                const argon2_block *prev = &mem[cur - 1];
                uint64_t rand;
                const struct argon2_fill_hook *hk = NULL;
                if (independent) {
                    /* As the segment loop does: after a fresh address
                     * block every block up to AHEAD, then one a step. */
                    uint32_t ahead = fresh ? i + 1 : i + ARGON2_PREFETCH_AHEAD;
                    for (; ahead <= i + ARGON2_PREFETCH_AHEAD && ahead < sa.segment_length &&
                           ahead / ARGON2_ADDRESSES_PER_BLOCK == i / ARGON2_ADDRESSES_PER_BLOCK;
                         ahead++)
                        argon2_prefetch(argon2_reference(
                            seg[h], ahead, addr.v[ahead % ARGON2_ADDRESSES_PER_BLOCK]));
                    rand = addr.v[i % ARGON2_ADDRESSES_PER_BLOCK];
                } else {
                    rand = prev->v[0];
                    if (i + 1 < sa.segment_length) {
                        next[h].index = i + 1;
                        hk = &hook[h];
                    }
                }
                k->fill_block(prev, argon2_reference(seg[h], i, rand), &mem[cur], 0, hk);
            }
        }
        double t = now_seconds() - t0;
        out->slice[slice] = t * 1e9 / (2.0 * sa.segment_length);
        out->ns += t * 1e9 / (2.0 * blocks);
    }
}

/* The arithmetic alone: three blocks that never leave L1. */
static void
compute_only(const struct argon2_kernel *k, struct sample *out)
{
    static argon2_block blk[3];
    enum { N = 20000 };
    for (int w = 0; w < ARGON2_BLOCK_WORDS; w++)
        blk[0].v[w] = blk[1].v[w] = (uint64_t) w * 0x9E3779B97F4A7C15u;
    double t0 = now_seconds();
    for (int i = 0; i < N; i++)
        k->fill_block(&blk[i % 2], &blk[2], &blk[(i + 1) % 2], 1, NULL);
    out->ns = (now_seconds() - t0) * 1e9 / N;
    for (int s = 0; s < SLICES; s++)
        out->slice[s] = out->ns;
}

static void
keep_word0(void *ctx, uint64_t w0)
{
    *(uint64_t *) ctx = w0;
}

/* The arithmetic of a data-dependent block, memory free: as compute_only,
 * but each block's reference is one of eight L1-resident blocks picked by
 * word 0 of the block before, so that, as in the hash's slices 2 and 3, a
 * block cannot start before word 0 of the one before is known. */
static void
compute_dependent(const struct argon2_kernel *k, struct sample *out)
{
    static argon2_block blk[2], refs[8];
    enum { N = 20000 };
    for (int w = 0; w < ARGON2_BLOCK_WORDS; w++) {
        blk[0].v[w] = blk[1].v[w] = (uint64_t) w * 0x9E3779B97F4A7C15u;
        for (int r = 0; r < 8; r++)
            refs[r].v[w] = (uint64_t) (w + r) * 0xC2B2AE3D27D4EB4Fu;
    }
    uint64_t w0 = 0;
    const struct argon2_fill_hook hook = { keep_word0, &w0 };
    double t0 = now_seconds();
    for (int i = 0; i < N; i++)
        k->fill_block(&blk[i % 2], &refs[w0 % 8], &blk[(i + 1) % 2], 1, &hook);
    out->ns = (now_seconds() - t0) * 1e9 / N;
    for (int s = 0; s < SLICES; s++)
        out->slice[s] = out->ns;
}

/* The memory alone: the hash's loop and references, G replaced by
 * prev XOR ref; a data-dependent block's reference comes from word 0 of
 * the block before, as in the hash, so the chain of loads is the same.
 * The independent slices' pseudo-random values come from a generator
 * instead of address blocks (as random, and free). */
static void
memory_only(argon2_block *memory, uint32_t blocks, const struct argon2_kernel *k, uint64_t *rng,
            struct sample *out)
{
    enum { AHEAD = ARGON2_PREFETCH_AHEAD + 1 };
    seed_first_blocks(memory, rng);
    out->ns = 0;
    for (uint32_t slice = 0; slice < SLICES; slice++) {
        const struct argon2_segment s = segment_of(memory, blocks, slice, k);
        const int independent = slice < SLICES / 2;
        const uint32_t start = slice == 0 ? 2 : 0;
        uint64_t ring[AHEAD];
        for (int j = 0; j < AHEAD; j++)
            ring[j] = next_random(rng);
        double t0 = now_seconds();
        uint32_t cur = slice * s.segment_length + start;
        for (uint32_t i = start; i < s.segment_length; i++, cur++) {
            const argon2_block *prev = &memory[cur - 1];
            uint64_t rand;
            if (independent) {
                rand = ring[i % AHEAD];
                ring[i % AHEAD] = next_random(rng);   /* block i + AHEAD's */
                uint32_t ahead = i + ARGON2_PREFETCH_AHEAD;
                if (ahead < s.segment_length)
                    argon2_prefetch(argon2_reference(&s, ahead, ring[ahead % AHEAD]));
            } else {
                rand = prev->v[0];
            }
            const argon2_block *ref = argon2_reference(&s, i, rand);
            for (int w = 0; w < ARGON2_BLOCK_WORDS; w++)
                memory[cur].v[w] = prev->v[w] ^ ref->v[w];
            /* Without this the data-dependent values would stay those of
             * the seed blocks' XOR and reference the same few blocks. */
            memory[cur].v[0] ^= (uint64_t) cur * 0x9E3779B97F4A7C15u;
        }
        double t = now_seconds() - t0;
        out->slice[slice] = t * 1e9 / s.segment_length;
        out->ns += t * 1e9 / blocks;
    }
}

/* A random cycle through every block of the area, word 0 of each block
 * holding the index of the next; then ns per load of following it. */
static double
latency_ns(argon2_block *memory, uint32_t blocks, uint64_t *rng)
{
    uint32_t *order = malloc((size_t) blocks * sizeof *order);
    if (order == NULL)
        die("latency", "out of memory");
    for (uint32_t i = 0; i < blocks; i++)
        order[i] = i;
    for (uint32_t i = blocks - 1; i > 0; i--) {   /* Fisher-Yates */
        uint32_t j = (uint32_t) (next_random(rng) % (i + 1));
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (uint32_t i = 0; i < blocks; i++)
        memory[order[i]].v[0] = order[(i + 1) % blocks];
    free(order);
    uint64_t at = 0;
    double t0 = now_seconds();
    for (uint32_t i = 0; i < blocks; i++)
        at = memory[at].v[0];
    double ns = (now_seconds() - t0) * 1e9 / blocks;
    if (at >= blocks)   /* never: keeps the chase from being optimised away */
        die("latency", "corrupt chain");
    return ns;
}

int
main(int argc, char **argv)
{
    uint32_t memory_kib = 65536;
    int repeat = 5;
    const char *kernel_name = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc)
            memory_kib = (uint32_t) strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc)
            kernel_name = argv[++i];
        else {
            fprintf(stderr, "usage: argon2_floor [--memory KIB] [--repeat R] [--kernel NAME]\n");
            return 2;
        }
    }
    if (repeat < 1 || repeat > MAX_REPEAT)
        die("--repeat", "must be 1 to 15");
    /* Whole segments of whole blocks, and at least 32 blocks a segment. */
    if (memory_kib < 128 || memory_kib % SLICES != 0 || memory_kib > (1u << 22))
        die("--memory", "must be a multiple of 4 KiB from 128 KiB to 4 GiB");

    const struct argon2_kernel *k = argon2_kernel_default();
    if (kernel_name != NULL) {
        k = argon2_kernel_find(kernel_name);
        if (k == NULL)
            die(kernel_name, "no such Argon2 kernel (postage-mint --argon2id --list-kernels)");
        if (argon2_kernel_state(k) != ARGON2_KERNEL_USABLE)
            die(kernel_name, "this CPU cannot run it, or it failed its self-test");
    }

    const uint32_t blocks = memory_kib;   /* 1 KiB each */
    const size_t bytes = (size_t) blocks * ARGON2_BLOCK_SIZE;
    argon2_block *a = area_new(bytes, 1), *b = area_new(bytes, 2);
    unsigned char *c1 = (unsigned char *) area_new(COPY_BYTES, 3);
    unsigned char *c2 = (unsigned char *) area_new(COPY_BYTES, 4);
    uint64_t rng = 0x5EED0F9057A6Eull;
    struct sample sm[ROWS][MAX_REPEAT];
    double limit[MAX_REPEAT];

    for (int r = 0; r < repeat; r++) {
        fprintf(stderr, "argon2_floor: %s, m=%u KiB, round %d of %d\n", k->name,
                (unsigned) memory_kib, r + 1, repeat);
        hash_fill(k, a, blocks, &rng, &sm[ROW_HASH][r]);
        pair_fill(k, a, b, blocks, &rng, &sm[ROW_PAIR][r]);
        compute_only(k, &sm[ROW_COMPUTE][r]);
        compute_dependent(k, &sm[ROW_COMPUTE_DEP][r]);
        memory_only(a, blocks, k, &rng, &sm[ROW_MEMORY][r]);
        double gbs = copy_rate(c1, c2);
        limit[r] = gbs * 1e9 / (3.0 * (double) bytes);   /* fills per second */
        struct sample *l = &sm[ROW_LIMIT][r];
        l->ns = 1e9 / (limit[r] * blocks);
        for (int s = 0; s < SLICES; s++)
            l->slice[s] = l->ns;
        struct sample *lat = &sm[ROW_LATENCY][r];
        lat->ns = latency_ns(a, blocks, &rng);
        for (int s = 0; s < SLICES; s++)
            lat->slice[s] = lat->ns;
    }

    double lo, hi;
    const double lim = median(limit, repeat, &lo, &hi);
    printf("row\tslice0\tslice1\tslice2\tslice3\tns_per_block\trate\tof_limit\n");
    for (int row = 0; row < ROWS; row++) {
        double v[MAX_REPEAT], med[SLICES];
        for (int s = 0; s < SLICES; s++) {
            for (int r = 0; r < repeat; r++)
                v[r] = sm[row][r].slice[s];
            med[s] = median(v, repeat, &lo, &hi);
        }
        for (int r = 0; r < repeat; r++)
            v[r] = sm[row][r].ns;
        double ns = median(v, repeat, &lo, &hi);
        double rate = row == ROW_LATENCY ? 0 : 1e9 / (ns * blocks);
        printf("%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.4g\t%.3f\n", row_names[row], med[0], med[1],
               med[2], med[3], ns, rate, row == ROW_LATENCY ? 0 : rate / lim);
    }
    return 0;
}
