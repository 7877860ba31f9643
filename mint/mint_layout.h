/*
 * mint_layout.h - one SHA-1 stamp laid out for the search (mint.c): its
 * fields checked, its text with a fresh RAND, the midstate the kernels
 * start from, and the winner turned into the stamp.  Shared by the
 * one-stamp entry (postage_mint()) and the batch scheduler (mint_batch.c),
 * which decide only who searches which counters.
 */
#ifndef POSTAGE_MINT_LAYOUT_H
#define POSTAGE_MINT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "postage/mint.h"
#include "simd/sha1_kernels.h"

/* The date field is at most 12 digits (YYMMDDhhmmss). */
#define MINT_DATE_SIZE 13

struct mint_layout {
    struct sha1_search_job job;
    unsigned bits;
    /* The whole stamp with placeholder digits, to re-check hits past 64
     * bits, which kernels cannot see. */
    size_t length;
    char message[POSTAGE_MINT_STAMP_SIZE];
};

/* The checks of @o that do not depend on the resource or the bits: EXT,
 * date width and time (the date goes into @date), Argon2id parameters.
 * Returns POSTAGE_OK or POSTAGE_ERR_INVALID. */
int mint_check_options(const struct postage_mint_options *o, char date[MINT_DATE_SIZE]);

/* Whether @resource (may be NULL) and @bits can be minted: POSTAGE_OK or
 * POSTAGE_ERR_INVALID. */
int mint_check_item(const char *resource, unsigned bits);

/* The SHA-1 kernel @name (NULL: the default) into *@out; POSTAGE_OK,
 * POSTAGE_ERR_KERNEL, POSTAGE_ERR_UNSUPPORTED or POSTAGE_ERR_SELFTEST. */
int mint_choose_kernel(const char *name, const struct sha1_kernel **out);

/* "1:BITS:DATE:RESOURCE:EXT:" for checked arguments, the resource
 * lowercased unless @o says case_sensitive, EXT the Argon2id parameters
 * when @o asks for Argon2id.  Returns its length, or 0 if it does not fit
 * @size. */
size_t mint_head(const char *resource, unsigned bits, const char *date,
                 const struct postage_mint_options *o, char *head, size_t size);

/* Lay out a stamp after @head with a fresh RAND (libsodium, initialised by
 * the caller) and compute its search job.  POSTAGE_OK or
 * POSTAGE_ERR_TOO_LONG. */
int mint_lay_out(struct mint_layout *l, const char *head, size_t head_len, unsigned bits);

/* Whether a kernel's hit @n (found at min(bits, 64) bits) is worth the
 * stamp's bits: always below 65 bits, else by a full digest. */
int mint_hit_counts(const struct mint_layout *l, uint64_t n);

/* Write the stamp for counter @n into @stamp and re-check it with OpenSSL.
 * *@actual receives its leading zero bits.  POSTAGE_OK,
 * POSTAGE_ERR_TOO_LONG (@size too small) or POSTAGE_ERR_INTERNAL (the
 * re-check found fewer bits than asked: a kernel's bug). */
int mint_finish(const struct mint_layout *l, uint64_t n, char *stamp, size_t size,
                unsigned *actual);

#endif
