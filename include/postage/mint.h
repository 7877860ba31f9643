/*
 * postage/mint.h - minting hashcash v1 stamps.
 *
 * A stamp is "1:BITS:DATE:RESOURCE:EXT:RAND:COUNTER".  RAND is 16 random
 * characters of the hashcash alphabet (from libsodium's randombytes); the
 * COUNTER is zero-padded so that the stamp ends at byte 55 of a 64-byte
 * SHA-1 block, making every trial one compression over a precomputed
 * midstate.  The search runs on the chosen SHA-1 kernel in one or more
 * threads; every stamp found is re-hashed with OpenSSL's SHA-1 before it is
 * returned, so no kernel can ever hand out a wrong stamp.
 */
#ifndef POSTAGE_MINT_H
#define POSTAGE_MINT_H

#include <stddef.h>
#include <stdint.h>
#include "postage/argon2id.h"
#include "postage/stamp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSTAGE_MINT_DEFAULT_BITS 20
/* A buffer of this size holds any stamp postage_mint() writes. */
#define POSTAGE_MINT_STAMP_SIZE (POSTAGE_STAMP_MAX + 1)

/* What a progress callback is told, about every 100 ms.  For a batch
 * (postage_mint_batch()) the figures are the whole batch's. */
struct postage_mint_progress {
    uint64_t trials;         /* counters tried so far                  */
    double seconds;          /* time since the search began            */
    double expected_trials;  /* 2^bits: the mean number of trials (a
                                batch: the sum over its stamps)        */
    size_t stamps;           /* stamps asked for: 1, or the batch's    */
    size_t stamps_done;      /* of which finished (minted or failed)   */
};

/* Return 0 to go on, anything else to stop the search
 * (postage_mint() then returns POSTAGE_ERR_CANCELLED). */
typedef int (*postage_progress_fn)(void *ctx,
                                   const struct postage_mint_progress *progress);

struct postage_mint_options {
    unsigned bits;           /* 0..160; default 20                         */
    const char *ext;         /* EXT field; NULL or "" for none             */
    unsigned date_width;     /* 6 (YYMMDD, default), 10 or 12              */
    int64_t now;             /* the time to date the stamp (UTC seconds)   */
    int case_sensitive;      /* 0: lowercase the resource, as 1.22 does    */
    const char *kernel;      /* SHA-1 kernel name; NULL: the default       */
    unsigned threads;        /* search threads; 0: one per online CPU      */
    postage_progress_fn progress; /* may be NULL                           */
    void *progress_ctx;
    /* Memory-hard stamps (postage/argon2id.h): with argon2id set, the
     * stamp's EXT is "a2id=m..,t..,p.." for argon2id_params (ext must then
     * be empty), each attempt is one Argon2id computation on
     * argon2id_backend (POSTAGE_A2ID_AUTO: as
     * postage_argon2id_backend_resolve() says), and each thread reuses one
     * pre-faulted work area.  kernel is ignored; argon2id_kernel names the
     * Argon2 kernel of postage's backend (NULL: the default; a name needs
     * backend postage or auto, see postage_argon2id_work_new_kernel()). */
    int argon2id;
    struct postage_argon2id_params argon2id_params;
    int argon2id_backend;
    const char *argon2id_kernel;
};

struct postage_mint_result {
    unsigned actual;         /* leading zero bits of the stamp's SHA-1     */
    uint64_t trials;         /* counters tried (about; threads overlap)    */
    double seconds;          /* wall-clock time of the search              */
    const char *kernel;      /* name of the kernel that ran ("argon2id/
                                libargon2", "argon2id/libsodium" or
                                "argon2id/postage")                      */
    unsigned threads;        /* threads that ran                           */
};

/**
 * postage_mint_options_init - defaults: 20 bits, no EXT, 6-digit date,
 * lowercased resource, default kernel, all CPUs, no progress callback, and
 * @now as the date; SHA-1 (for Argon2id, once asked: 64 MiB, 1 pass, 1
 * lane, automatic backend).
 */
void postage_mint_options_init(struct postage_mint_options *options, int64_t now);

/**
 * postage_mint - mint one stamp for @resource.
 * @resource: 1..256 bytes, NUL-terminated, with no ':', whitespace or
 *            control characters (such a stamp would not parse back).
 * @options:  see struct postage_mint_options.
 * @stamp:    receives the NUL-terminated stamp.
 * @size:     size of @stamp; POSTAGE_MINT_STAMP_SIZE is always enough.
 * @result:   if not NULL, receives details of the search.
 *
 * Returns POSTAGE_OK; POSTAGE_ERR_INVALID for a bad resource, EXT, bits,
 * date width or time; POSTAGE_ERR_TOO_LONG if @size is too small;
 * POSTAGE_ERR_KERNEL for an unknown kernel name; POSTAGE_ERR_UNSUPPORTED
 * if the CPU cannot run it; POSTAGE_ERR_SELFTEST if it failed its
 * self-test; POSTAGE_ERR_RANDOM if no random bytes could be had;
 * POSTAGE_ERR_NOMEM or POSTAGE_ERR_IO if threads could not be started;
 * POSTAGE_ERR_CANCELLED if the progress callback stopped the search;
 * POSTAGE_ERR_INTERNAL if a kernel's answer failed the OpenSSL re-check
 * (a bug; no stamp is returned).  For Argon2id also: POSTAGE_ERR_INVALID
 * for parameters outside the grammar or a non-empty ext,
 * POSTAGE_ERR_UNSUPPORTED for libsodium with more than one lane, and
 * POSTAGE_ERR_NOMEM if a thread's work area could not be had.
 */
int postage_mint(const char *resource, const struct postage_mint_options *options,
                 char *stamp, size_t size, struct postage_mint_result *result);

/* One stamp of a batch: what to mint, where it goes, how it went. */
struct postage_mint_batch_item {
    const char *resource;    /* in: as for postage_mint()                  */
    unsigned bits;           /* in: this stamp's bits, 0..160 (the options'
                                bits are not used by a batch)              */
    char *stamp;             /* in: receives the NUL-terminated stamp       */
    size_t size;             /* in: size of stamp; POSTAGE_MINT_STAMP_SIZE
                                is always enough                           */
    int status;              /* out: POSTAGE_OK, or this stamp's error      */
    struct postage_mint_result result; /* out, when status is POSTAGE_OK:
                                seconds and trials are this stamp's own   */
};

/**
 * postage_mint_batch - mint one stamp per item, all with @options.
 * @items:   @count stamps to mint; each item's resource, bits, stamp and
 *           size are read, its status, stamp and result written.
 * @count:   0 or more.
 * @options: as for postage_mint(), but for bits (each item has its own).
 *           The progress callback is told about the whole batch, and
 *           stopping it stops the whole batch.
 *
 * One crew of threads runs for the whole batch: each thread mints a stamp
 * of its own and, when no stamp is left to start, helps one still being
 * searched, so a batch keeps every thread busy at any number of bits
 * (postage_mint() on each resource would split every stamp across the
 * threads and start them again for each).  Stamps may be found in any
 * order; each item holds its own answer.  Argon2id stamps, whose attempts
 * are slow enough for postage_mint()'s split, are minted one after the
 * other, each on all the threads.
 *
 * An item's status is POSTAGE_OK; POSTAGE_ERR_INVALID for a bad resource,
 * bits above 160, or a NULL stamp or zero size; POSTAGE_ERR_TOO_LONG if
 * its size is too small; POSTAGE_ERR_CANCELLED if the batch was stopped
 * before it was minted (the stamps minted by then are kept, with
 * POSTAGE_OK); POSTAGE_ERR_INTERNAL if a kernel's answer failed the
 * OpenSSL re-check.  An error of the options (those of postage_mint(),
 * but for bits), of the random source or of the threads is every item's.
 * A failed item's stamp is "".
 *
 * Returns POSTAGE_OK if every stamp was minted; POSTAGE_ERR_INVALID for
 * NULL @options, or NULL @items with @count > 0; otherwise the status of
 * the first item (in order) that failed.
 */
int postage_mint_batch(struct postage_mint_batch_item *items, size_t count,
                       const struct postage_mint_options *options);

/**
 * postage_mint_rate - measure the trials per second minting achieves here.
 * @kernel:  kernel name, or NULL for the default.
 * @threads: search threads; 0 for one per online CPU.
 * @seconds: how long to measure, 0.05 to 60.  The figure is a real
 *           search's progress, so at least a few tenths of a second give
 *           a stable answer on a quiet machine.
 * @trials_per_second: receives the rate.
 *
 * Returns POSTAGE_OK; POSTAGE_ERR_INVALID for a NULL output or a duration
 * out of range; and the kernel and thread errors of postage_mint().
 */
int postage_mint_rate(const char *kernel, unsigned threads, double seconds,
                      double *trials_per_second);

/**
 * postage_mint_argon2id_rate - Argon2id attempts per second minting
 * achieves here, measured like postage_mint_rate() with a real search.
 * @params:  the Argon2id parameters.
 * @backend: POSTAGE_A2ID_* (AUTO: libargon2).
 * @threads: search threads; 0 for one per online CPU.
 * @seconds: how long to measure, 0.05 to 60; the search runs at least
 *           until every thread finished one attempt.
 * @attempts_per_second: receives the rate.
 *
 * Returns POSTAGE_OK, POSTAGE_ERR_INVALID for a NULL output or a duration
 * out of range, and the Argon2id errors of postage_mint().
 */
int postage_mint_argon2id_rate(const struct postage_argon2id_params *params, int backend,
                               unsigned threads, double seconds,
                               double *attempts_per_second);

#ifdef __cplusplus
}
#endif
#endif
