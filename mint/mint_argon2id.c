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

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "mint/mint_argon2id.h"
#include "postage/argon2id.h"
#include "postage/status.h"

#define MAX_THREADS 256
#define PROGRESS_INTERVAL_NS 100000000L
#define COUNTER_DIGITS_MAX 11   /* 64^11 > 2^64 */

struct a2id_search {
    char prefix[POSTAGE_MINT_STAMP_SIZE];  /* the stamp up to its counter */
    size_t prefix_len;
    struct postage_argon2id_params params;
    int backend;
    unsigned bits;

    atomic_uint_fast64_t next;
    atomic_uint_fast64_t trials;
    atomic_int stop;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned running;           /* under lock */
    int found;                  /* under lock */
    uint64_t found_counter;     /* under lock */
    unsigned found_actual;      /* under lock */
    int error;                  /* under lock: first failure of a worker */
};

static double
monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

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

static void
finish_worker(struct a2id_search *s, int error, int found, uint64_t n, unsigned actual)
{
    pthread_mutex_lock(&s->lock);
    if (found && (!s->found || n < s->found_counter)) {
        s->found = 1;
        s->found_counter = n;
        s->found_actual = actual;
    }
    if (error != POSTAGE_OK && s->error == POSTAGE_OK)
        s->error = error;
    if (found || error != POSTAGE_OK)
        atomic_store(&s->stop, 1);
    s->running--;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static void *
worker(void *arg)
{
    struct a2id_search *s = arg;
    postage_argon2id_work *work;
    char text[POSTAGE_MINT_STAMP_SIZE];
    unsigned char tag[POSTAGE_A2ID_TAG_LEN];

    int rc = postage_argon2id_work_new(&work, &s->params, s->backend);
    if (rc != POSTAGE_OK) {
        finish_worker(s, rc, 0, 0, 0);
        return NULL;
    }
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        uint64_t n = atomic_fetch_add(&s->next, 1);
        size_t len = stamp_for(s, n, text);
        rc = postage_argon2id_tag(work, &s->params, text, len, tag);
        if (rc != POSTAGE_OK)
            break;
        atomic_fetch_add(&s->trials, 1);
        unsigned actual = postage_argon2id_leading_zero_bits(tag);
        if (actual >= s->bits) {
            postage_argon2id_work_free(work);
            finish_worker(s, POSTAGE_OK, 1, n, actual);
            return NULL;
        }
    }
    postage_argon2id_work_free(work);
    finish_worker(s, rc, 0, 0, 0);
    return NULL;
}

static unsigned
thread_count(unsigned asked)
{
    if (asked == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        asked = n > 0 ? (unsigned) n : 1;
    }
    return asked > MAX_THREADS ? MAX_THREADS : asked;
}

/* Wait for a hit, a failure or the caller's stop, reporting progress. */
static int
wait_for_workers(struct a2id_search *s, const struct postage_mint_options *o, double started)
{
    int rc = POSTAGE_OK;
    pthread_mutex_lock(&s->lock);
    while (s->running > 0 && !s->found && s->error == POSTAGE_OK) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += PROGRESS_INTERVAL_NS;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        int w = pthread_cond_timedwait(&s->changed, &s->lock, &deadline);
        if (w == ETIMEDOUT && o->progress != NULL && !s->found) {
            struct postage_mint_progress p = {
                .trials = atomic_load(&s->trials),
                .seconds = monotonic_seconds() - started,
                .expected_trials = ldexp(1.0, (int) o->bits),
            };
            pthread_mutex_unlock(&s->lock);
            int stop = o->progress(o->progress_ctx, &p);
            pthread_mutex_lock(&s->lock);
            if (stop) {
                rc = POSTAGE_ERR_CANCELLED;
                break;
            }
        }
    }
    atomic_store(&s->stop, 1);
    if (rc == POSTAGE_OK && !s->found)
        rc = s->error != POSTAGE_OK ? s->error : POSTAGE_ERR_INTERNAL;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int
mint_argon2id(const char *head, size_t head_len, const struct postage_mint_options *o,
              char *stamp, size_t size, struct postage_mint_result *result)
{
    static const char alphabet[] = POSTAGE_ALPHABET;
    unsigned char rnd[POSTAGE_RAND_LEN];
    pthread_t tid[MAX_THREADS];
    int rc = POSTAGE_OK;

    if (o->argon2id_backend == POSTAGE_A2ID_LIBSODIUM && o->argon2id_params.lanes != 1)
        return POSTAGE_ERR_UNSUPPORTED;
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
    s->backend = o->argon2id_backend == POSTAGE_A2ID_AUTO ? POSTAGE_A2ID_LIBARGON2
                                                          : o->argon2id_backend;
    s->bits = o->bits;
    atomic_init(&s->next, 0);
    atomic_init(&s->trials, 0);
    atomic_init(&s->stop, 0);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    unsigned nthreads = thread_count(o->threads), started_threads = 0;
    double started = monotonic_seconds();

    if (o->bits == 0) {
        /* Every tag has at least 0 leading zero bits: nothing to compute. */
        s->found = 1;
    } else {
        pthread_mutex_lock(&s->lock);
        for (; started_threads < nthreads; started_threads++) {
            if (pthread_create(&tid[started_threads], NULL, worker, s) != 0) {
                rc = errno == ENOMEM ? POSTAGE_ERR_NOMEM : POSTAGE_ERR_IO;
                break;
            }
            s->running++;
        }
        pthread_mutex_unlock(&s->lock);
        if (started_threads > 0)
            rc = wait_for_workers(s, o, started);
        for (unsigned i = 0; i < started_threads; i++)
            pthread_join(tid[i], NULL);
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
            result->trials = atomic_load(&s->trials);
            result->seconds = monotonic_seconds() - started;
            result->kernel = s->backend == POSTAGE_A2ID_LIBSODIUM ? "argon2id/libsodium"
                                                                  : "argon2id/libargon2";
            result->threads = o->bits == 0 ? 0 : started_threads;
        }
    }
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    sodium_memzero(s, sizeof *s);
    free(s);
    return rc;
}
