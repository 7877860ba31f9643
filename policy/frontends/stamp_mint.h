/*
 * stamp_mint.h - the stamping milter's minting: one message's stamps as
 * one batch (postage_mint_batch, every thread busy at any mix of bits),
 * stopped at the message's deadline.
 */
#ifndef POSTAGE_POLICY_STAMP_MINT_H
#define POSTAGE_POLICY_STAMP_MINT_H

#include <stddef.h>
#include <stdint.h>

#include "postage/mint.h"

/* Mint @items (resource, bits, stamp, size filled in) on @threads
 * threads (0: one per online CPU), dated @now, giving up at @deadline_ms
 * (pd_dns_now_ms based): the stamps found by then are kept, the others
 * get POSTAGE_ERR_CANCELLED.  Returns how many were minted. */
size_t pd_stamp_mint(struct postage_mint_batch_item *items, size_t n, unsigned threads,
                     int64_t now, uint64_t deadline_ms);

#endif
