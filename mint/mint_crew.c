/*
 * mint_crew.c - start a search's threads, report progress while they run,
 * stop and join them (see mint_crew.h).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "mint/mint_crew.h"
#include "postage/status.h"

#define PROGRESS_INTERVAL_NS 100000000L

void
mint_crew_init(struct mint_crew *c)
{
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    c->running = 0;
    c->found = 0;
    c->error = 0;
    atomic_init(&c->trials, 0);
    atomic_init(&c->stop, 0);
    c->expected_trials = 0;
    c->stamps = 1;
    atomic_init(&c->stamps_done, 0);
}

void
mint_crew_destroy(struct mint_crew *c)
{
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->lock);
}

double
mint_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

unsigned
mint_thread_count(unsigned asked)
{
    if (asked == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        asked = n > 0 ? (unsigned) n : 1;
    }
    return asked > MINT_MAX_THREADS ? MINT_MAX_THREADS : asked;
}

void
mint_crew_leave(struct mint_crew *c, int found, int error)
{
    pthread_mutex_lock(&c->lock);
    if (found)
        c->found = 1;
    if (error != 0 && c->error == 0)
        c->error = error;
    if (found || error != 0)
        atomic_store(&c->stop, 1);
    c->running--;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

int
mint_crew_run(struct mint_crew *c, unsigned nthreads, void *(*worker)(void *), void *arg,
              const struct postage_mint_options *o, double started)
{
    pthread_t tid[MINT_MAX_THREADS];
    unsigned started_threads = 0;
    int rc = POSTAGE_OK;

    if (nthreads > MINT_MAX_THREADS)
        nthreads = MINT_MAX_THREADS;
    atomic_store(&c->stop, 0);
    pthread_mutex_lock(&c->lock);
    c->found = 0;
    c->error = 0;
    c->running = 0;
    for (; started_threads < nthreads; started_threads++) {
        if (pthread_create(&tid[started_threads], NULL, worker, arg) != 0) {
            rc = errno == ENOMEM ? POSTAGE_ERR_NOMEM : POSTAGE_ERR_IO;
            break;
        }
        c->running++;
    }
    if (started_threads == 0) {
        pthread_mutex_unlock(&c->lock);
        return rc;
    }
    rc = POSTAGE_OK; /* fewer threads than asked still make progress */

    while (c->running > 0 && !c->found && c->error == 0) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += PROGRESS_INTERVAL_NS;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        int w = pthread_cond_timedwait(&c->changed, &c->lock, &deadline);
        if (w == ETIMEDOUT && o->progress != NULL && !c->found) {
            struct postage_mint_progress p = {
                .trials = atomic_load(&c->trials),
                .seconds = mint_seconds() - started,
                .expected_trials = c->expected_trials > 0 ? c->expected_trials
                                                          : ldexp(1.0, (int) o->bits),
                .stamps = c->stamps,
                .stamps_done = atomic_load(&c->stamps_done),
            };
            pthread_mutex_unlock(&c->lock);
            int stop = o->progress(o->progress_ctx, &p);
            pthread_mutex_lock(&c->lock);
            if (stop) {
                rc = POSTAGE_ERR_CANCELLED;
                break;
            }
        }
    }
    atomic_store(&c->stop, 1);
    pthread_mutex_unlock(&c->lock);
    for (unsigned i = 0; i < started_threads; i++)
        pthread_join(tid[i], NULL);
    return rc;
}
