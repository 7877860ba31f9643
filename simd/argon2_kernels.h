/*
 * argon2_kernels.h - Argon2's compression function G over 1 KiB blocks
 * (RFC 9106 §3.5-3.6, the BlaMka variant of the Blake2b round), one
 * implementation per instruction set, and the run-time choice among them.
 *
 * Argon2 spends nearly all its time in fill_block(): everything else (H0,
 * the first blocks, the addressing, the final hash) is a few Blake2b calls
 * per hash.  So this is the only part written per instruction set; the rest
 * of Argon2id lives once, in lib/argon2id_core.c.
 *
 * As with the SHA-1 kernels (sha1_kernels.h), each kernel is its own file
 * compiled with only its own flags; a kernel may run here when the CPU and
 * OS support it AND it passed its known-answer self-test, both established
 * once, on first use, under pthread_once.
 */
#ifndef POSTAGE_ARGON2_KERNELS_H
#define POSTAGE_ARGON2_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define ARGON2_BLOCK_SIZE 1024                 /* bytes */
#define ARGON2_BLOCK_WORDS (ARGON2_BLOCK_SIZE / 8)

/* One Argon2 block: 128 64-bit words, word i being bytes 8i..8i+7 of the
 * block read little-endian.  Aligned to a cache line so that vector loads
 * never straddle one. */
typedef struct argon2_block {
    _Alignas(64) uint64_t v[ARGON2_BLOCK_WORDS];
} argon2_block;

/*
 * Word 0 of a new block decides where the next block's reference lies
 * (data-dependent addressing, RFC 9106 §3.4.1.1), and it is final once the
 * first column round is done, well before the block is.  A fill function
 * given a hook calls hook->word0(hook->ctx, word 0 of the new block) at
 * that moment or later, before it returns (a vector kernel may call it
 * after its stores, so that the call clobbers no live register: the core
 * runs it out of order as soon as word 0 is ready all the same), so that
 * the caller can prefetch the next reference while the rest of the block
 * is computed.  It calls it exactly once.  The hook must not touch prev,
 * ref or next.
 */
struct argon2_fill_hook {
    void (*word0)(void *ctx, uint64_t w0);
    void *ctx;
};

/*
 * A fill function computes G(prev, ref) (RFC 9106 §3.5):
 *   R = prev XOR ref; Q = the eight Blake2b-BlaMka rounds over R's rows;
 *   Z = the eight rounds over Q's columns; G = Z XOR R;
 * and stores G in *next, or G XOR (the old *next) when with_xor is nonzero
 * (the passes after the first, Argon2 version 0x13).  next may be the same
 * block as prev or ref: every input is read before next is written.  hook
 * may be NULL.  Fill functions are pure: no global state, safe from many
 * threads at once.
 */
typedef void (*argon2_fill_fn)(const argon2_block *prev, const argon2_block *ref,
                               argon2_block *next, int with_xor,
                               const struct argon2_fill_hook *hook);

/*
 * One segment of one lane to fill (RFC 9106 §3.4): what the segment loop
 * needs to find each block's reference.  Block i of the segment (i from 0,
 * or from 2 in pass 0's first slice, whose first two blocks come from H')
 * is G(previous block, reference block), XORed into the old block after
 * pass 0.
 */
struct argon2_segment {
    argon2_block *memory;       /* every block, lane after lane */
    uint32_t pass, lane, slice; /* which segment */
    uint32_t passes, lanes;     /* t, p */
    uint32_t blocks;            /* m' = lanes * lane_length */
    uint32_t lane_length;       /* q = 4 * segment_length */
    uint32_t segment_length;
    int prefetch;               /* fetch each reference ahead of its use */
    argon2_fill_fn fill;        /* argon2_fill_segment_by_block()'s kernel */
};

/*
 * A segment function fills one segment (struct argon2_segment): the whole
 * block loop, with the reference index computation and the prefetching
 * inside it, so that nothing stands between one block and the next (no
 * call whose vector registers must be saved, no hook) and the next
 * reference is fetched the moment word 0 of the current block is final.
 * The result is the one fill_block() gives block by block.  Pure, like the
 * fill functions.
 */
typedef void (*argon2_segment_fn)(const struct argon2_segment *seg);

struct argon2_kernel {
    const char *name;            /* "portable", "avx2", "avx512", "neon" */
    int (*cpu_supported)(void);  /* 1 if this CPU and OS can run it */
    argon2_fill_fn fill_block;
    argon2_segment_fn fill_segment;  /* NULL: argon2_fill_segment_by_block */
};

/* A segment filled block by block through seg->fill (with the hook for
 * the prefetch): what a kernel without its own segment loop gets. */
void argon2_fill_segment_by_block(const struct argon2_segment *seg);

/* The portable kernel: plain C, the reference the others are tested
 * against.  Always present. */
extern const struct argon2_kernel argon2_kernel_portable;

enum argon2_kernel_state {
    ARGON2_KERNEL_USABLE = 0,
    ARGON2_KERNEL_UNSUPPORTED = 1,     /* this CPU or OS cannot run it */
    ARGON2_KERNEL_SELFTEST_FAILED = 2  /* ran, but gave a wrong answer */
};

/* Number of compiled kernels (at least 1: the portable one). */
size_t argon2_kernel_count(void);

/* The i-th compiled kernel in order of preference; NULL past the end. */
const struct argon2_kernel *argon2_kernel_at(size_t i);

/* The compiled kernel called `name`, or NULL. */
const struct argon2_kernel *argon2_kernel_find(const char *name);

/* Whether `k` may be used here; runs the detection and self-tests of all
 * kernels the first time it is called. */
enum argon2_kernel_state argon2_kernel_state(const struct argon2_kernel *k);

/* The first usable kernel in order of preference; never NULL (the portable
 * kernel is the last resort). */
const struct argon2_kernel *argon2_kernel_default(void);

/* Run the known-answer self-test on `k` now (no caching).  Returns 1 if it
 * gave every expected answer.  Only call it for a kernel the CPU supports. */
int argon2_kernel_selftest(const struct argon2_kernel *k);

#endif
