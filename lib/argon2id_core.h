/*
 * argon2id_core.h - postage's own Argon2id (RFC 9106, version 0x13), over
 * the fill-block kernels of simd/argon2_kernels.h.
 *
 * Internal to libpostage.  It exists because neither library is fast
 * enough for stamps (issue 21): libargon2 as Debian builds it is the scalar
 * reference code, and libsodium maps and clears fresh memory on every call.
 * Here each thread makes one work area, faulted in once, and reuses it for
 * every attempt; the kernel is the fastest this CPU passes the self-test of.
 *
 * The work area is NOT cleared between hashes or when freed.  RFC 9106
 * (§3.1, and libargon2's ARGON2_FLAG_CLEAR_MEMORY) wipes it because, for a
 * password hash, the blocks are derived from a secret.  A stamp's password
 * is the stamp itself, sent in the clear, its salt is a public constant,
 * and there is no secret key: nothing in the memory is secret, and wiping
 * 64 MiB per attempt would cost a third of the attempt.  A caller that does
 * hash a secret with this code must wipe the area itself
 * (argon2id_core_wipe()).
 */
#ifndef POSTAGE_ARGON2ID_CORE_H
#define POSTAGE_ARGON2ID_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "simd/argon2_kernels.h"

#define ARGON2ID_CORE_OUT_MIN 16     /* libsodium's Argon2 minimum: all backends agree */
#define ARGON2ID_CORE_OUT_MAX 1024
#define ARGON2ID_CORE_LANES_MAX 0xFFFFFFu   /* RFC 9106: p < 2^24 */

/* argon2id_core_new()'s flags. */
#define ARGON2ID_CORE_HUGE_PAGES 1u  /* madvise(MADV_HUGEPAGE) the work area */
#define ARGON2ID_CORE_PREFETCH 2u    /* prefetch the next reference block as
                                        soon as its address is known */

/* A reusable work area: ARGON2_BLOCK_SIZE-byte blocks, memory_kib of them. */
typedef struct argon2id_core argon2id_core;

/* Everything an Argon2id hash takes (RFC 9106 §3.1).  NULL is allowed for
 * a buffer whose length is 0. */
struct argon2id_core_input {
    const uint8_t *password; size_t password_len;
    const uint8_t *salt; size_t salt_len;
    const uint8_t *secret; size_t secret_len;
    const uint8_t *ad; size_t ad_len;   /* associated data */
    uint32_t memory;   /* m, KiB: 8 * lanes .. the work area's size */
    uint32_t passes;   /* t >= 1 */
    uint32_t lanes;    /* p, 1 .. ARGON2ID_CORE_LANES_MAX */
};

/**
 * argon2id_core_new - allocate a work area for hashes of up to @memory KiB.
 * @out:        receives it.
 * @memory:     KiB, >= 8.
 * @flags:      ARGON2ID_CORE_HUGE_PAGES asks the kernel for transparent
 *              huge pages (ignored where unsupported): Argon2 reads its
 *              memory at random, so 4 KiB pages cost a TLB miss on nearly
 *              every reference block.  ARGON2ID_CORE_PREFETCH prefetches
 *              the next reference block as soon as its address is known:
 *              two blocks ahead where addressing is data-independent, and,
 *              where it is data-dependent, once the kernel has finished
 *              the current block's word 0, while it computes the rest
 *              (the kernel's segment loop, simd/argon2_segment.h).  Neither changes a tag; both are
 *              there to be measured (bench/argon2_kernels).
 * Every page is touched now, so that no hash pays for page faults.
 * Returns POSTAGE_OK, POSTAGE_ERR_INVALID (memory < 8, out NULL),
 * POSTAGE_ERR_NOMEM, or POSTAGE_ERR_INTERNAL if libsodium cannot start.
 */
int argon2id_core_new(argon2id_core **out, uint32_t memory, unsigned flags);

/** argon2id_core_free - release @core (NULL allowed); not wiped (see top). */
void argon2id_core_free(argon2id_core *core);

/** argon2id_core_wipe - zero the whole work area (for callers with secrets). */
void argon2id_core_wipe(argon2id_core *core);

/** argon2id_core_memory - the KiB @core was made for. */
uint32_t argon2id_core_memory(const argon2id_core *core);

/**
 * argon2id_core_hash - one Argon2id hash, computed lane after lane on the
 * calling thread.
 * @core:   the work area; @in->memory at most what it was made for.
 * @kernel: the fill-block kernel, or NULL for argon2_kernel_default().  It
 *          must be usable here (argon2_kernel_state()).
 * @in:     the inputs.
 * @out, @out_len: receives the tag, ARGON2ID_CORE_OUT_MIN..MAX bytes.
 * Returns POSTAGE_OK, or POSTAGE_ERR_INVALID for inputs outside RFC 9106's
 * limits or the work area's size (nothing is computed then).
 */
int argon2id_core_hash(argon2id_core *core, const struct argon2_kernel *kernel,
                       const struct argon2id_core_input *in, uint8_t *out, size_t out_len);

#endif
