/*
 * mint_batch.h - the SHA-1 batch scheduler (mint_batch.c): one crew of
 * threads mints many stamps, each thread a stamp of its own, helping the
 * stamps still in progress when none is left to start.  postage_mint() is a
 * batch of one; postage_mint_batch() is the public entry.
 */
#ifndef POSTAGE_MINT_BATCH_H
#define POSTAGE_MINT_BATCH_H

#include <stddef.h>

#include "postage/mint.h"
#include "simd/sha1_kernels.h"

/* Mint @count SHA-1 stamps (count >= 1) on @kernel, dated @date, with the
 * checked options @o (its bits unused: each item has its own), timing from
 * @started (mint_seconds()).  sodium_init() has succeeded.  Items are
 * checked here (a bad one gets POSTAGE_ERR_INVALID, the others are still
 * minted).  Returns POSTAGE_OK if every item got a stamp, else the status
 * of the first item that did not (see postage_mint_batch()). */
int mint_sha1_batch(struct postage_mint_batch_item *items, size_t count,
                    const struct postage_mint_options *o, const struct sha1_kernel *kernel,
                    const char *date, double started);

#endif
