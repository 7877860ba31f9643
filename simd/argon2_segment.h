/*
 * argon2_segment.h - the block loop of one Argon2id segment (RFC 9106
 * §3.4), written once and compiled into each kernel's file, with that
 * file's own G inlined into it (a template: this file has no include
 * guard and defines one static function each time it is included).
 *
 * Before including it, define
 *   ARGON2_SEGMENT_FN: the name of the function to define, of type
 *     argon2_segment_fn;
 *   ARGON2_SEGMENT_COMPRESS(seg, prev, ref, next, with_xor, nx): G(prev,
 *     ref) into next (XORed into the old next if with_xor), as fill_block
 *     does; and, if nx (a const struct argon2_next *) is not NULL,
 *     argon2_prefetch_next(nx, word 0 of next) as soon as word 0 is final.
 *
 * Data-independent segments (pass 0, slices 0 and 1) take their pseudo-
 * random values from address blocks, G(0, G(0, input)), 128 values each,
 * and prefetch ARGON2_PREFETCH_AHEAD blocks ahead; data-dependent ones
 * take it from word 0 of the previous block, so prefetching can only
 * start once that word is final.
 */
#include <string.h>

#include "simd/argon2_index.h"

static void
ARGON2_SEGMENT_FN(const struct argon2_segment *seg)
{
    static const argon2_block zero;   /* all zero: const, so not state */
    argon2_block addr, input;
    const int independent = seg->pass == 0 && seg->slice < ARGON2_SYNC_POINTS / 2;
    const uint32_t start = seg->pass == 0 && seg->slice == 0 ? 2 : 0;   /* 0, 1: from H' */

    if (independent) {
        memset(&input, 0, sizeof input);
        input.v[0] = seg->pass;
        input.v[1] = seg->lane;
        input.v[2] = seg->slice;
        input.v[3] = seg->blocks;
        input.v[4] = seg->passes;
        input.v[5] = ARGON2_ID_TYPE;
    }
    struct argon2_next next_ref = { seg, 0 };
    argon2_block *lane_base = seg->memory + (size_t) seg->lane * seg->lane_length;
    uint32_t cur = seg->slice * seg->segment_length + start;   /* index in the lane */
    for (uint32_t i = start; i < seg->segment_length; i++, cur++) {
        const argon2_block *prev = &lane_base[cur == 0 ? seg->lane_length - 1 : cur - 1];
        const struct argon2_next *nx = NULL;
        uint64_t rand;
        if (independent) {
            const uint32_t k = i % ARGON2_ADDRESSES_PER_BLOCK;
            uint32_t ahead = i + ARGON2_PREFETCH_AHEAD;   /* the one to prefetch now */
            if (k == 0 || i == start) {
                input.v[6]++;
                ARGON2_SEGMENT_COMPRESS(seg, &zero, &input, &addr, 0, NULL);
                ARGON2_SEGMENT_COMPRESS(seg, &zero, &addr, &addr, 0, NULL);
                ahead = i + 1;   /* a fresh address block: all up to i + AHEAD */
            }
            if (seg->prefetch)
                for (; ahead <= i + ARGON2_PREFETCH_AHEAD && ahead < seg->segment_length &&
                       ahead / ARGON2_ADDRESSES_PER_BLOCK == i / ARGON2_ADDRESSES_PER_BLOCK;
                     ahead++)
                    argon2_prefetch(argon2_reference(
                        seg, ahead, addr.v[ahead % ARGON2_ADDRESSES_PER_BLOCK]));
            rand = addr.v[k];
        } else {
            rand = prev->v[0];
            if (seg->prefetch && i + 1 < seg->segment_length) {
                next_ref.index = i + 1;
                nx = &next_ref;
            }
        }
        const argon2_block *ref = argon2_reference(seg, i, rand);
        ARGON2_SEGMENT_COMPRESS(seg, prev, ref, &lane_base[cur], seg->pass != 0, nx);
    }
}
