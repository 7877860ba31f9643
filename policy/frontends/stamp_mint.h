/*
 * stamp_mint.h - the stamping milter's minting: one message's stamps as
 * one batch (postage_mint_batch, every thread busy at any mix of bits),
 * within the message's time budget.
 *
 * The budget is kept two ways.  Before minting, the device's rule
 * (mint/calibration.h): the stamps whose search would not end within the
 * time left at the 95th percentile, at the rate this process has measured
 * on its own earlier batches, are not started (a stamp the receiver
 * prices at b bits is worth nothing at fewer, so it is left out, not
 * lowered).  While minting, the deadline stops the batch; what was found
 * by then is kept.
 */
#ifndef POSTAGE_POLICY_STAMP_MINT_H
#define POSTAGE_POLICY_STAMP_MINT_H

#include <stddef.h>
#include <stdint.h>

#include "postage/mint.h"

/* Mint @items (resource, bits, stamp, size filled in) on @threads
 * threads (0: one per online CPU), dated @now, within @deadline_ms
 * (pd_dns_now_ms based): an item left out before minting or not found by
 * the deadline gets POSTAGE_ERR_CANCELLED.  Returns how many were minted. */
size_t pd_stamp_mint(struct postage_mint_batch_item *items, size_t n, unsigned threads,
                     int64_t now, uint64_t deadline_ms);

/* The p95 rule on its own (pure, for the tests): at @rate trials/s, and
 * @budget_s seconds, mark in @drop (n flags) the items to leave out, the
 * costliest first, until the rest fits: 95% of batches of the rest end in
 * time.  Returns how many are dropped.  @rate <= 0 (not measured yet):
 * none. */
size_t pd_stamp_fit_budget(const struct postage_mint_batch_item *items, size_t n, double rate,
                           double budget_s, unsigned char *drop);

#endif
