/*
 * mint.c - the minting engine: lay out the stamp, search for a counter on a
 * SHA-1 kernel across threads, re-check the winner with OpenSSL.
 *
 * Layout.  "1:BITS:DATE:RESOURCE:EXT:RAND:" is followed by '0' padding and
 * seven counter digits chosen so that the stamp ends at byte 55 of its last
 * 64-byte block (simd/sha1_search.h).  Every complete block before that is
 * hashed once into a midstate; each trial is then one compression.  The
 * padding zeros make the counter read as a zero-padded base-64 number, the
 * form hashcash 1.22's own minter writes.
 *
 * Threads.  The 64^7 counters are cut into chunks of 64^3 (one W12 value,
 * so a kernel's per-chunk precomputation is never wasted); threads take
 * chunks from an atomic cursor until one finds a hit.  The calling thread
 * only waits, reporting progress about every 100 ms.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "mint/mint_argon2id.h"
#include "mint/mint_crew.h"
#include "postage/argon2id.h"
#include "postage/clock.h"
#include "postage/mint.h"
#include "postage/status.h"
#include "simd/sha1_kernels.h"

#define CHUNK (UINT64_C(1) << 18)   /* 64^3 counters: one value of W12 */

struct search {
    struct sha1_search_job job;
    const struct sha1_kernel *kernel;
    unsigned bits;
    /* The whole stamp with placeholder digits, to re-check hits past 64
     * bits, which kernels cannot see. */
    char message[POSTAGE_MINT_STAMP_SIZE];
    size_t length;

    atomic_uint_fast64_t next_chunk;
    struct mint_crew crew;
    uint64_t found_counter;    /* under crew.lock */
};

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

/* Full-digest check of counter n, for requirements beyond 64 bits. */
static unsigned
full_bits(const struct search *s, uint64_t n)
{
    char copy[POSTAGE_MINT_STAMP_SIZE];
    memcpy(copy, s->message, s->length);
    write_digits(copy + s->length - SHA1_SEARCH_DIGITS, n);
    return postage_leading_zero_bits(copy, s->length);
}

/* Keep the lowest counter found (threads may both hit). */
static void
report_hit(struct search *s, uint64_t n)
{
    pthread_mutex_lock(&s->crew.lock);
    if (!s->crew.found || n < s->found_counter)
        s->found_counter = n;
    s->crew.found = 1;
    pthread_mutex_unlock(&s->crew.lock);
}

static void *
worker(void *arg)
{
    struct search *s = arg;
    unsigned kbits = s->bits > 64 ? 64 : s->bits;

    while (!atomic_load_explicit(&s->crew.stop, memory_order_relaxed)) {
        uint64_t chunk = atomic_fetch_add(&s->next_chunk, 1);
        uint64_t first = chunk * CHUNK;
        if (first >= SHA1_SEARCH_SPACE)
            break;
        uint64_t end = first + CHUNK, hit;
        while (first < end && s->kernel->search(&s->job, first, end - first, kbits, &hit)) {
            atomic_fetch_add(&s->crew.trials, hit - first + 1);
            if (s->bits <= 64 || full_bits(s, hit) >= s->bits) {
                report_hit(s, hit);
                mint_crew_leave(&s->crew, 1, 0);
                return NULL;
            }
            first = hit + 1;
        }
        atomic_fetch_add(&s->crew.trials, end - first);
    }
    mint_crew_leave(&s->crew, 0, 0);
    return NULL;
}

/* Build prefix + RAND + padding + placeholder digits, and the job. */
static int
lay_out(struct search *s, const char *head, size_t head_len)
{
    static const char alphabet[] = POSTAGE_ALPHABET;
    unsigned char rnd[POSTAGE_RAND_LEN];

    randombytes_buf(rnd, sizeof rnd);
    /* head ends with "EXT:"; then RAND ":" padding digits. */
    size_t prefix_len = head_len + POSTAGE_RAND_LEN + 1;
    size_t pad = (size_t) ((SHA1_SEARCH_END_OFFSET + 64 -
                            (prefix_len + SHA1_SEARCH_DIGITS) % 64) % 64);
    size_t total = prefix_len + pad + SHA1_SEARCH_DIGITS;
    if (total >= sizeof s->message)
        return POSTAGE_ERR_TOO_LONG;

    char *m = s->message;
    memcpy(m, head, head_len);
    for (size_t i = 0; i < POSTAGE_RAND_LEN; i++)
        m[head_len + i] = alphabet[rnd[i] & 63];
    m[prefix_len - 1] = ':';
    memset(m + prefix_len, '0', pad + SHA1_SEARCH_DIGITS);
    m[total] = '\0';
    s->length = total;

    uint32_t state[5] = { SHA1_IV0, SHA1_IV1, SHA1_IV2, SHA1_IV3, SHA1_IV4 };
    size_t last = total - SHA1_SEARCH_END_OFFSET; /* start of the last block */
    for (size_t off = 0; off < last; off += 64)
        sha1_compress(state, (const uint8_t *) m + off);
    memcpy(s->job.midstate, state, sizeof state);
    memcpy(s->job.block, m + last, SHA1_SEARCH_END_OFFSET);
    s->job.block[SHA1_SEARCH_END_OFFSET] = 0x80;
    uint64_t bitlen = (uint64_t) total * 8;
    for (int i = 0; i < 8; i++)
        s->job.block[56 + i] = (uint8_t) (bitlen >> (56 - 8 * i));
    return POSTAGE_OK;
}

/* Run the threads over one layout.  Returns POSTAGE_OK with
 * s->crew.found set or clear (space exhausted), or an error. */
static int
run_search(struct search *s, unsigned nthreads,
           const struct postage_mint_options *o, double started)
{
    atomic_store(&s->next_chunk, 0);
    return mint_crew_run(&s->crew, nthreads, worker, s, o, started);
}

static int
check_options(const char *resource, const struct postage_mint_options *o)
{
    if (resource == NULL || o == NULL)
        return POSTAGE_ERR_INVALID;
    size_t rlen = strlen(resource);
    const char *ext = o->ext ? o->ext : "";
    size_t ext_len = strlen(ext);
    if (rlen == 0 || rlen > POSTAGE_RESOURCE_MAX || !postage_field_is_clean(resource, rlen))
        return POSTAGE_ERR_INVALID;
    if (ext_len > POSTAGE_EXT_MAX || !postage_field_is_clean(ext, ext_len))
        return POSTAGE_ERR_INVALID;
    if (o->bits > POSTAGE_BITS_MAX ||
        (o->date_width != 6 && o->date_width != 10 && o->date_width != 12))
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
    return POSTAGE_OK;
}

static int
choose_kernel(const char *name, const struct sha1_kernel **out)
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

int
postage_mint(const char *resource, const struct postage_mint_options *o,
             char *stamp, size_t size, struct postage_mint_result *result)
{
    char date[13];
    char head[POSTAGE_MINT_STAMP_SIZE];
    const struct sha1_kernel *kernel = NULL;
    int rc;

    if (stamp == NULL || size == 0)
        return POSTAGE_ERR_INVALID;
    stamp[0] = '\0';
    if ((rc = check_options(resource, o)) != POSTAGE_OK)
        return rc;
    if (postage_date_format(o->now, o->date_width, date) != POSTAGE_OK)
        return POSTAGE_ERR_INVALID;
    if (!o->argon2id && (rc = choose_kernel(o->kernel, &kernel)) != POSTAGE_OK)
        return rc;
    if (sodium_init() < 0)
        return POSTAGE_ERR_RANDOM;

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
    int head_len = snprintf(head, sizeof head, "1:%u:%s:%s:%s:", o->bits, date, res,
                            o->argon2id ? a2id_ext : o->ext ? o->ext : "");
    if (head_len < 0 || (size_t) head_len >= sizeof head)
        return POSTAGE_ERR_TOO_LONG;
    if (o->argon2id)
        return mint_argon2id(head, (size_t) head_len, o, stamp, size, result);

    struct search *s = calloc(1, sizeof *s);
    if (s == NULL)
        return POSTAGE_ERR_NOMEM;
    s->kernel = kernel;
    s->bits = o->bits;
    mint_crew_init(&s->crew);
    unsigned nthreads = mint_thread_count(o->threads);
    double started = mint_seconds();

    /* A bits-0 stamp needs no search; past 42 bits the space of one RAND
     * may run out, and a fresh RAND starts a fresh space. */
    do {
        if ((rc = lay_out(s, head, (size_t) head_len)) != POSTAGE_OK)
            break;
        if (o->bits == 0) {
            s->crew.found = 1;
            s->found_counter = 0;
            break;
        }
        rc = run_search(s, nthreads, o, started);
    } while (rc == POSTAGE_OK && !s->crew.found);

    if (rc == POSTAGE_OK) {
        write_digits(s->message + s->length - SHA1_SEARCH_DIGITS, s->found_counter);
        unsigned actual = postage_leading_zero_bits(s->message, s->length);
        if (actual < o->bits)
            rc = POSTAGE_ERR_INTERNAL;
        else if (s->length >= size)
            rc = POSTAGE_ERR_TOO_LONG;
        else
            memcpy(stamp, s->message, s->length + 1);
        if (result != NULL) {
            result->actual = actual;
            result->trials = atomic_load(&s->crew.trials);
            result->seconds = mint_seconds() - started;
            result->kernel = kernel->name;
            result->threads = nthreads;
        }
    }
    mint_crew_destroy(&s->crew);
    sodium_memzero(s, sizeof *s);
    free(s);
    return rc;
}
