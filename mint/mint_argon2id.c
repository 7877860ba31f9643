/*
 * mint_argon2id.c - search a counter for a memory-hard stamp: every thread
 * takes the next counter from a shared cursor and computes one Argon2id
 * tag per counter in its own work area.
 *
 * The work area is made (and every page touched) once per thread, not per
 * attempt: at 64 MiB a fresh allocation per attempt spends more time in page
 * faults than in Argon2id.  The counter is the shortest base-64 numeral, in
 * the hashcash alphabet, of the attempt's number; an attempt is thousands of
 * times dearer than a SHA-1 trial, so there is nothing to gain from
 * hashcash's fixed-width layout.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mint/mint_argon2id.h"
#include "mint/mint_crew.h"
#include "postage/argon2id.h"
#include "postage/status.h"

#define COUNTER_DIGITS_MAX 11   /* 64^11 > 2^64 */

struct a2id_search {
    char prefix[POSTAGE_MINT_STAMP_SIZE];  /* the stamp up to its counter */
    size_t prefix_len;
    struct postage_argon2id_params params;
    int backend;                /* resolved: never POSTAGE_A2ID_AUTO */
    const char *kernel;         /* postage's Argon2 kernel; NULL: default */
    unsigned bits;

    atomic_uint_fast64_t next;
    struct mint_crew crew;
    uint64_t found_counter;     /* under crew.lock */
    unsigned found_actual;      /* under crew.lock */
};

/* Write the stamp for counter @n into @out (size >= POSTAGE_MINT_STAMP_SIZE);
 * returns its length. */
static size_t
stamp_for(const struct a2id_search *s, uint64_t n, char *out)
{
    static const char alphabet[] = POSTAGE_ALPHABET;
    char digits[COUNTER_DIGITS_MAX];
    size_t k = 0;
    do {
        digits[k++] = alphabet[n & 63];
        n >>= 6;
    } while (n != 0);
    memcpy(out, s->prefix, s->prefix_len);
    for (size_t i = 0; i < k; i++)
        out[s->prefix_len + i] = digits[k - 1 - i];
    out[s->prefix_len + k] = '\0';
    return s->prefix_len + k;
}

/* Keep the lowest counter found (threads may both hit). */
static void
report_hit(struct a2id_search *s, uint64_t n, unsigned actual)
{
    pthread_mutex_lock(&s->crew.lock);
    if (!s->crew.found || n < s->found_counter) {
        s->found_counter = n;
        s->found_actual = actual;
    }
    s->crew.found = 1;
    pthread_mutex_unlock(&s->crew.lock);
}

static void *
worker(void *arg)
{
    struct a2id_search *s = arg;
    postage_argon2id_work *work;
    char text[POSTAGE_MINT_STAMP_SIZE];
    unsigned char tag[POSTAGE_A2ID_TAG_LEN];

    int rc = postage_argon2id_work_new_kernel(&work, &s->params, s->backend, s->kernel);
    if (rc != POSTAGE_OK) {
        mint_crew_leave(&s->crew, 0, rc);
        return NULL;
    }
    while (!atomic_load_explicit(&s->crew.stop, memory_order_relaxed)) {
        uint64_t n = atomic_fetch_add(&s->next, 1);
        size_t len = stamp_for(s, n, text);
        rc = postage_argon2id_tag(work, &s->params, text, len, tag);
        if (rc != POSTAGE_OK)
            break;
        atomic_fetch_add(&s->crew.trials, 1);
        unsigned actual = postage_argon2id_leading_zero_bits(tag);
        if (actual >= s->bits) {
            postage_argon2id_work_free(work);
            report_hit(s, n, actual);
            mint_crew_leave(&s->crew, 1, 0);
            return NULL;
        }
    }
    postage_argon2id_work_free(work);
    mint_crew_leave(&s->crew, 0, rc);
    return NULL;
}

int
mint_argon2id(const char *head, size_t head_len, const struct postage_mint_options *o,
              char *stamp, size_t size, struct postage_mint_result *result)
{
    static const char alphabet[] = POSTAGE_ALPHABET;
    unsigned char rnd[POSTAGE_RAND_LEN];
    int rc = POSTAGE_OK;

    /* auto is resolved in one place, by the library; a named kernel means
     * postage's own Argon2id, and must run here before any thread starts. */
    int backend = o->argon2id_kernel != NULL && o->argon2id_backend == POSTAGE_A2ID_AUTO
                      ? POSTAGE_A2ID_POSTAGE
                      : postage_argon2id_backend_resolve(o->argon2id_backend);
    if (backend < 0)
        return backend;
    if (backend == POSTAGE_A2ID_LIBSODIUM && o->argon2id_params.lanes != 1)
        return POSTAGE_ERR_UNSUPPORTED;
    if (o->argon2id_kernel != NULL) {
        if (backend != POSTAGE_A2ID_POSTAGE)
            return POSTAGE_ERR_INVALID;
        rc = postage_argon2id_kernel_check(o->argon2id_kernel);
        if (rc != POSTAGE_OK)
            return rc;
    }
    if (head_len + POSTAGE_RAND_LEN + 1 + COUNTER_DIGITS_MAX >= POSTAGE_MINT_STAMP_SIZE)
        return POSTAGE_ERR_TOO_LONG;
    struct a2id_search *s = calloc(1, sizeof *s);
    if (s == NULL)
        return POSTAGE_ERR_NOMEM;
    randombytes_buf(rnd, sizeof rnd);
    memcpy(s->prefix, head, head_len);
    for (size_t i = 0; i < POSTAGE_RAND_LEN; i++)
        s->prefix[head_len + i] = alphabet[rnd[i] & 63];
    s->prefix[head_len + POSTAGE_RAND_LEN] = ':';
    s->prefix_len = head_len + POSTAGE_RAND_LEN + 1;
    s->params = o->argon2id_params;
    s->backend = backend;
    s->kernel = o->argon2id_kernel;
    s->bits = o->bits;
    atomic_init(&s->next, 0);
    mint_crew_init(&s->crew);
    unsigned nthreads = mint_thread_count(o->threads);
    double started = mint_seconds();

    if (o->bits == 0) {
        /* Every tag has at least 0 leading zero bits: nothing to compute. */
        s->crew.found = 1;
    } else {
        rc = mint_crew_run(&s->crew, nthreads, worker, s, o, started);
        if (rc == POSTAGE_OK && !s->crew.found)
            rc = s->crew.error != 0 ? s->crew.error : POSTAGE_ERR_INTERNAL;
    }

    if (rc == POSTAGE_OK) {
        char text[POSTAGE_MINT_STAMP_SIZE];
        size_t len = stamp_for(s, s->found_counter, text);
        if (len >= size)
            rc = POSTAGE_ERR_TOO_LONG;
        else
            memcpy(stamp, text, len + 1);
        if (result != NULL) {
            result->actual = s->found_actual;
            result->trials = atomic_load(&s->crew.trials);
            result->seconds = mint_seconds() - started;
            result->kernel = s->backend == POSTAGE_A2ID_LIBSODIUM ? "argon2id/libsodium"
                             : s->backend == POSTAGE_A2ID_POSTAGE ? "argon2id/postage"
                                                                  : "argon2id/libargon2";
            result->threads = o->bits == 0 ? 0 : nthreads;
        }
    }
    mint_crew_destroy(&s->crew);
    sodium_memzero(s, sizeof *s);
    free(s);
    return rc;
}
