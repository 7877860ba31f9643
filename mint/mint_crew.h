/*
 * mint_crew.h - the threads of one search and how the caller waits for
 * them: shared by the SHA-1 search (mint.c) and the Argon2id search
 * (mint_argon2id.c), which differ only in what a worker computes.
 */
#ifndef POSTAGE_MINT_CREW_H
#define POSTAGE_MINT_CREW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "postage/mint.h"

#define MINT_MAX_THREADS 256

struct mint_crew {
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* a worker found, failed or finished  */
    unsigned running;           /* under lock: workers not yet done    */
    int found;                  /* under lock: a worker found a stamp  */
    int error;                  /* under lock: a worker's failure      */
    atomic_uint_fast64_t trials;
    atomic_int stop;            /* tells workers to finish             */
    /* What the progress callback is told besides trials and time: set by
     * the caller before mint_crew_run(); mint_crew_init() makes them one
     * stamp's (expected 0: 2^bits of the options). */
    double expected_trials;
    size_t stamps;
    atomic_size_t stamps_done;
};

void mint_crew_init(struct mint_crew *crew);
void mint_crew_destroy(struct mint_crew *crew);

/* Start @nthreads workers running @worker(@arg) (each must call
 * mint_crew_leave() last), wait until one finds, one fails, all finish,
 * or @o's progress callback says stop (called about every 100 ms), then
 * stop and join them.  Returns POSTAGE_OK (see crew->found and
 * crew->error), POSTAGE_ERR_CANCELLED, or a thread error if none started. */
int mint_crew_run(struct mint_crew *crew, unsigned nthreads, void *(*worker)(void *),
                  void *arg, const struct postage_mint_options *o, double started);

/* A worker's last act: under the lock, @found and @error (0 for none) are
 * recorded; either stops the others. */
void mint_crew_leave(struct mint_crew *crew, int found, int error);

/* Threads to use when @asked (0: one per online CPU), at most
 * MINT_MAX_THREADS. */
unsigned mint_thread_count(unsigned asked);

/* Seconds on the monotonic clock. */
double mint_seconds(void);

#endif
