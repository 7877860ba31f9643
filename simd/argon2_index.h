/*
 * argon2_index.h - where each block of an Argon2id segment takes its
 * reference from (RFC 9106 §3.4.1-3.4.2), as inline functions, so that the
 * segment loop (simd/argon2_segment.h), compiled into every kernel's file,
 * computes the next reference and prefetches it inside the loop without a
 * call.  Plain C: each kernel's file includes it under its own flags.
 */
#ifndef POSTAGE_ARGON2_INDEX_H
#define POSTAGE_ARGON2_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "simd/argon2_kernels.h"

#define ARGON2_SYNC_POINTS 4                          /* slices per pass */
#define ARGON2_ADDRESSES_PER_BLOCK ARGON2_BLOCK_WORDS /* values per address block */
#define ARGON2_ID_TYPE 2                              /* Argon2id's y */

/* How many blocks ahead a data-independent reference is prefetched.  One
 * block (about 125 ns of compute here) is shorter than this machine's
 * memory latency; more than a few only fill the cache with lines not yet
 * needed (measured with bench/argon2_kernels). */
#ifndef ARGON2_PREFETCH_AHEAD
#define ARGON2_PREFETCH_AHEAD 2
#endif

/* The reference block of block @index of segment @s, from its
 * pseudo-random value @rand (J1 the low 32 bits, J2 the high ones). */
static inline const argon2_block *
argon2_reference(const struct argon2_segment *s, uint32_t index, uint64_t rand)
{
    uint32_t ref_lane = s->lane;
    if (s->lanes > 1 && !(s->pass == 0 && s->slice == 0))
        ref_lane = (uint32_t) ((rand >> 32) % s->lanes);
    const int same_lane = ref_lane == s->lane;
    /* The reference area: how many blocks may be referenced. */
    uint32_t area;
    if (s->pass == 0) {
        if (s->slice == 0)
            area = index - 1;  /* the lane's own earlier blocks */
        else if (same_lane)
            area = s->slice * s->segment_length + index - 1;
        else
            area = s->slice * s->segment_length - (index == 0 ? 1 : 0);
    } else {
        if (same_lane)
            area = s->lane_length - s->segment_length + index - 1;
        else
            area = s->lane_length - s->segment_length - (index == 0 ? 1 : 0);
    }
    /* The J1 -> position mapping (§3.4.2), counted back from the area's end. */
    uint64_t j1 = (uint32_t) rand;
    uint64_t x = j1 * j1 >> 32;
    uint64_t rel = area - 1 - ((uint64_t) area * x >> 32);
    uint32_t start = 0;
    if (s->pass != 0 && s->slice != ARGON2_SYNC_POINTS - 1)
        start = (s->slice + 1) * s->segment_length;
    /* start <= 3 q/4 and rel < q, so one subtraction is the "mod q". */
    uint64_t pos = start + rel;
    if (pos >= s->lane_length)
        pos -= s->lane_length;
    return s->memory + (size_t) ref_lane * s->lane_length + (size_t) pos;
}

/* Ask for all 16 cache lines of @b. */
static inline void
argon2_prefetch(const argon2_block *b)
{
    for (size_t off = 0; off < ARGON2_BLOCK_SIZE; off += 64)
        __builtin_prefetch((const char *) b + off, 0, 3);
}

/* The block after the one being filled, whose reference (data-dependent
 * addressing) is known once word 0 of the current block is final. */
struct argon2_next {
    const struct argon2_segment *seg;
    uint32_t index;
};

/* Prefetch the reference of @n's block, @w0 being word 0 of the block
 * before it. */
static inline void
argon2_prefetch_next(const struct argon2_next *n, uint64_t w0)
{
    argon2_prefetch(argon2_reference(n->seg, n->index, w0));
}

#endif
