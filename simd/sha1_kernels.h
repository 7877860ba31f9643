/*
 * sha1_kernels.h - the table of compiled SHA-1 search kernels, CPU
 * detection and the run-time choice among them.
 *
 * The table lists every kernel this build compiled, in order of preference
 * (fastest first on CPUs that have them).  A kernel is usable when the CPU
 * and OS support it AND it passed its known-answer self-test; both are
 * established once, on first use, under pthread_once, and never change
 * afterwards.  A kernel that fails its self-test is never used.
 */
#ifndef POSTAGE_SHA1_KERNELS_H
#define POSTAGE_SHA1_KERNELS_H

#include <stddef.h>
#include "simd/sha1_search.h"

enum sha1_kernel_state {
    SHA1_KERNEL_USABLE = 0,
    SHA1_KERNEL_UNSUPPORTED = 1,     /* this CPU or OS cannot run it */
    SHA1_KERNEL_SELFTEST_FAILED = 2  /* ran, but gave a wrong answer */
};

/* Number of compiled kernels (at least 1: the portable one). */
size_t sha1_kernel_count(void);

/* The i-th compiled kernel in order of preference; NULL past the end. */
const struct sha1_kernel *sha1_kernel_at(size_t i);

/* The compiled kernel called `name`, or NULL. */
const struct sha1_kernel *sha1_kernel_find(const char *name);

/* Whether `k` may be used here; runs the detection and self-tests of all
 * kernels the first time it is called. */
enum sha1_kernel_state sha1_kernel_state(const struct sha1_kernel *k);

/* The first usable kernel in order of preference (never NULL: the portable
 * kernel is the last resort; if even it failed, it is still returned and
 * the engine's re-check with OpenSSL keeps every stamp correct). */
const struct sha1_kernel *sha1_kernel_default(void);

/* Run the known-answer self-test on `k` now (no caching).  Returns 1 if it
 * gave every expected answer.  Only call it for a kernel the CPU supports. */
int sha1_kernel_selftest(const struct sha1_kernel *k);

#endif
