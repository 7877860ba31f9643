/*
 * mint.c - the minting engine's one-stamp entry and the layout of a stamp:
 * check the fields, lay the stamp out, re-check the winner with OpenSSL.
 * Who searches which counters is the batch scheduler's (mint_batch.c): one
 * stamp is a batch of one.
 *
 * Layout.  "1:BITS:DATE:RESOURCE:EXT:RAND:" is followed by '0' padding and
 * seven counter digits chosen so that the stamp ends at byte 55 of its last
 * 64-byte block (simd/sha1_search.h).  Every complete block before that is
 * hashed once into a midstate; each trial is then one compression.  The
 * padding zeros make the counter read as a zero-padded base-64 number, the
 * form hashcash 1.22's own minter writes.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "mint/mint_argon2id.h"
#include "mint/mint_batch.h"
#include "mint/mint_crew.h"
#include "mint/mint_layout.h"
#include "postage/argon2id.h"
#include "postage/clock.h"
#include "postage/mint.h"
#include "postage/status.h"
#include "simd/sha1_kernels.h"


void
postage_mint_options_init(struct postage_mint_options *options, int64_t now)
{
    memset(options, 0, sizeof *options);
    options->bits = POSTAGE_MINT_DEFAULT_BITS;
    options->date_width = 6;
    options->now = now;
    options->argon2id_params.memory = 65536;
    options->argon2id_params.passes = 1;
    options->argon2id_params.lanes = 1;
    options->argon2id_backend = POSTAGE_A2ID_AUTO;
}

static void
write_digits(char *at, uint64_t n)
{
    static const char alphabet[] = POSTAGE_ALPHABET;
    for (int i = SHA1_SEARCH_DIGITS - 1; i >= 0; i--) {
        at[i] = alphabet[n & 63];
        n >>= 6;
    }
}

int
mint_hit_counts(const struct mint_layout *l, uint64_t n)
{
    if (l->bits <= 64)
        return 1;
    char copy[POSTAGE_MINT_STAMP_SIZE];
    memcpy(copy, l->message, l->length);
    write_digits(copy + l->length - SHA1_SEARCH_DIGITS, n);
    return postage_leading_zero_bits(copy, l->length) >= l->bits;
}

int
mint_lay_out(struct mint_layout *l, const char *head, size_t head_len, unsigned bits)
{
    static const char alphabet[] = POSTAGE_ALPHABET;
    unsigned char rnd[POSTAGE_RAND_LEN];

    randombytes_buf(rnd, sizeof rnd);
    /* head ends with "EXT:"; then RAND ":" padding digits. */
    size_t prefix_len = head_len + POSTAGE_RAND_LEN + 1;
    size_t pad = (size_t) ((SHA1_SEARCH_END_OFFSET + 64 -
                            (prefix_len + SHA1_SEARCH_DIGITS) % 64) % 64);
    size_t total = prefix_len + pad + SHA1_SEARCH_DIGITS;
    if (total >= sizeof l->message)
        return POSTAGE_ERR_TOO_LONG;

    char *m = l->message;
    memcpy(m, head, head_len);
    for (size_t i = 0; i < POSTAGE_RAND_LEN; i++)
        m[head_len + i] = alphabet[rnd[i] & 63];
    m[prefix_len - 1] = ':';
    memset(m + prefix_len, '0', pad + SHA1_SEARCH_DIGITS);
    m[total] = '\0';
    l->length = total;
    l->bits = bits;

    uint32_t state[5] = { SHA1_IV0, SHA1_IV1, SHA1_IV2, SHA1_IV3, SHA1_IV4 };
    size_t last = total - SHA1_SEARCH_END_OFFSET; /* start of the last block */
    for (size_t off = 0; off < last; off += 64)
        sha1_compress(state, (const uint8_t *) m + off);
    memcpy(l->job.midstate, state, sizeof state);
    memcpy(l->job.block, m + last, SHA1_SEARCH_END_OFFSET);
    l->job.block[SHA1_SEARCH_END_OFFSET] = 0x80;
    uint64_t bitlen = (uint64_t) total * 8;
    for (int i = 0; i < 8; i++)
        l->job.block[56 + i] = (uint8_t) (bitlen >> (56 - 8 * i));
    return POSTAGE_OK;
}

int
mint_finish(const struct mint_layout *l, uint64_t n, char *stamp, size_t size,
            unsigned *actual)
{
    if (l->length >= size)
        return POSTAGE_ERR_TOO_LONG;
    memcpy(stamp, l->message, l->length + 1);
    write_digits(stamp + l->length - SHA1_SEARCH_DIGITS, n);
    *actual = postage_leading_zero_bits(stamp, l->length);
    if (*actual < l->bits) {
        stamp[0] = '\0';
        return POSTAGE_ERR_INTERNAL;
    }
    return POSTAGE_OK;
}

int
mint_check_item(const char *resource, unsigned bits)
{
    if (resource == NULL || bits > POSTAGE_BITS_MAX)
        return POSTAGE_ERR_INVALID;
    size_t rlen = strnlen(resource, POSTAGE_RESOURCE_MAX + 1);
    if (rlen == 0 || rlen > POSTAGE_RESOURCE_MAX || !postage_field_is_clean(resource, rlen))
        return POSTAGE_ERR_INVALID;
    return POSTAGE_OK;
}

int
mint_check_options(const struct postage_mint_options *o, char date[MINT_DATE_SIZE])
{
    const char *ext = o->ext ? o->ext : "";
    size_t ext_len = strnlen(ext, POSTAGE_EXT_MAX + 1);
    if (ext_len > POSTAGE_EXT_MAX || !postage_field_is_clean(ext, ext_len))
        return POSTAGE_ERR_INVALID;
    if (o->date_width != 6 && o->date_width != 10 && o->date_width != 12)
        return POSTAGE_ERR_INVALID;
    if (o->argon2id) {
        char a2id_ext[POSTAGE_A2ID_EXT_MAX];
        if (ext_len > 0 || postage_argon2id_backend_name(o->argon2id_backend) == NULL ||
            postage_argon2id_ext_format(&o->argon2id_params, a2id_ext, sizeof a2id_ext) !=
                POSTAGE_OK)
            return POSTAGE_ERR_INVALID;
    } else if (postage_argon2id_ext_parse(ext, ext_len, NULL) != 0) {
        /* An EXT naming a2id would make a SHA-1 search mint a stamp every
         * checker reads as Argon2id, and refuses. */
        return POSTAGE_ERR_INVALID;
    }
    if (postage_date_format(o->now, o->date_width, date) != POSTAGE_OK)
        return POSTAGE_ERR_INVALID;
    return POSTAGE_OK;
}

int
mint_choose_kernel(const char *name, const struct sha1_kernel **out)
{
    if (name == NULL) {
        *out = sha1_kernel_default();
        return POSTAGE_OK;
    }
    const struct sha1_kernel *k = sha1_kernel_find(name);
    if (k == NULL)
        return POSTAGE_ERR_KERNEL;
    switch (sha1_kernel_state(k)) {
    case SHA1_KERNEL_USABLE:          *out = k; return POSTAGE_OK;
    case SHA1_KERNEL_UNSUPPORTED:     return POSTAGE_ERR_UNSUPPORTED;
    case SHA1_KERNEL_SELFTEST_FAILED: return POSTAGE_ERR_SELFTEST;
    }
    return POSTAGE_ERR_SELFTEST;
}

size_t
mint_head(const char *resource, unsigned bits, const char *date,
          const struct postage_mint_options *o, char *head, size_t size)
{
    /* 1.22 lowercases the resource it mints for (C tolower, ASCII). */
    char res[POSTAGE_RESOURCE_MAX + 1];
    size_t rlen = strlen(resource);
    memcpy(res, resource, rlen + 1);
    for (size_t i = 0; !o->case_sensitive && i < rlen; i++)
        if (res[i] >= 'A' && res[i] <= 'Z')
            res[i] = (char) (res[i] - 'A' + 'a');
    char a2id_ext[POSTAGE_A2ID_EXT_MAX] = "";
    if (o->argon2id)
        postage_argon2id_ext_format(&o->argon2id_params, a2id_ext, sizeof a2id_ext);
    int n = snprintf(head, size, "1:%u:%s:%s:%s:", bits, date, res,
                     o->argon2id ? a2id_ext : o->ext ? o->ext : "");
    return n < 0 || (size_t) n >= size ? 0 : (size_t) n;
}

int
postage_mint(const char *resource, const struct postage_mint_options *o,
             char *stamp, size_t size, struct postage_mint_result *result)
{
    char date[MINT_DATE_SIZE];
    const struct sha1_kernel *kernel = NULL;
    int rc;

    if (stamp == NULL || size == 0)
        return POSTAGE_ERR_INVALID;
    stamp[0] = '\0';
    if (o == NULL || (rc = mint_check_item(resource, o->bits)) != POSTAGE_OK ||
        (rc = mint_check_options(o, date)) != POSTAGE_OK)
        return POSTAGE_ERR_INVALID;
    if (!o->argon2id && (rc = mint_choose_kernel(o->kernel, &kernel)) != POSTAGE_OK)
        return rc;
    if (sodium_init() < 0)
        return POSTAGE_ERR_RANDOM;
    double started = mint_seconds();

    if (o->argon2id) {
        char head[POSTAGE_MINT_STAMP_SIZE];
        size_t head_len = mint_head(resource, o->bits, date, o, head, sizeof head);
        if (head_len == 0)
            return POSTAGE_ERR_TOO_LONG;
        return mint_argon2id(head, head_len, o, stamp, size, result);
    }
    struct postage_mint_batch_item item = {
        .resource = resource, .bits = o->bits, .stamp = stamp, .size = size,
    };
    rc = mint_sha1_batch(&item, 1, o, kernel, date, started);
    if (rc == POSTAGE_OK && result != NULL)
        *result = item.result;
    return rc;
}
