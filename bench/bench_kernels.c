/*
 * bench_kernels.c - trials per second of every SHA-1 search kernel.
 *
 * For each compiled kernel the CPU supports: its self-test result and its
 * single-thread rate on a fixed job, then a two-thread rate for the default
 * (best usable) kernel on disjoint counter ranges.  A benchmark, not a
 * test: the figures depend on the machine and its load, and it always
 * exits 0 once it has printed them.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "simd/sha1_kernels.h"

#define RUN_SECONDS 1.5
#define CHUNK (UINT64_C(1) << 20) /* counters per search call */
#define THREADS 2

struct worker {
    const struct sha1_kernel *kernel;
    const struct sha1_search_job *job;
    uint64_t first;   /* start of this worker's counter range */
    uint64_t trials;  /* out */
    double seconds;   /* out */
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A stamp-like job: 48 prefix bytes in the last block, one block before. */
static void make_job(struct sha1_search_job *job)
{
    static const char first_block[] =
        "1:28:261127:benchmark@postage.invalid::aVeryLongExtension=0123456";
    static const char last_part[] =
        "789abcdefghij:Qx7Rk2Lm9Zt4Wp3N:00000000000000000";
    const uint64_t bit_len = (64 + 48 + SHA1_SEARCH_DIGITS) * 8;
    int i;

    job->midstate[0] = SHA1_IV0;
    job->midstate[1] = SHA1_IV1;
    job->midstate[2] = SHA1_IV2;
    job->midstate[3] = SHA1_IV3;
    job->midstate[4] = SHA1_IV4;
    sha1_compress(job->midstate, (const uint8_t *)first_block);
    memset(job->block, 0, sizeof job->block);
    memcpy(job->block, last_part, 48);
    job->block[SHA1_SEARCH_END_OFFSET] = 0x80;
    for (i = 0; i < 8; i++)
        job->block[63 - i] = (uint8_t)(bit_len >> (8 * i));
}

/* Search with bits = 64 so that no hit ends a call early. */
static void *run(void *arg)
{
    struct worker *w = arg;
    const double start = now();
    uint64_t n = w->first, found;

    w->trials = 0;
    do {
        (void)w->kernel->search(w->job, n, CHUNK, 64, &found);
        n += CHUNK;
        w->trials += CHUNK;
        w->seconds = now() - start;
    } while (w->seconds < RUN_SECONDS);
    return NULL;
}

static double rate(const struct worker *w)
{
    return (double)w->trials / w->seconds / 1e6;
}

static const char *state_name(enum sha1_kernel_state s)
{
    switch (s) {
    case SHA1_KERNEL_USABLE:
        return "usable";
    case SHA1_KERNEL_UNSUPPORTED:
        return "unsupported";
    case SHA1_KERNEL_SELFTEST_FAILED:
        return "self-test FAILED";
    }
    return "?";
}

int main(void)
{
    struct sha1_search_job job;
    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    const struct sha1_kernel *best;
    size_t i;
    int started = 0;
    double total = 0;

    make_job(&job);
    printf("%-10s %5s  %-16s %12s\n", "kernel", "lanes", "state",
           "M trials/s");
    for (i = 0; i < sha1_kernel_count(); i++) {
        const struct sha1_kernel *k = sha1_kernel_at(i);
        enum sha1_kernel_state st = sha1_kernel_state(k);

        printf("%-10s %5u  %-16s ", k->name, k->lanes, state_name(st));
        if (st == SHA1_KERNEL_UNSUPPORTED) {
            printf("%12s\n", "-");
            continue;
        }
        /* A kernel that failed its self-test still gets timed: the
         * figure helps whoever is debugging it. */
        workers[0].kernel = k;
        workers[0].job = &job;
        workers[0].first = 0;
        run(&workers[0]);
        printf("%12.1f\n", rate(&workers[0]));
        fflush(stdout);
    }

    best = sha1_kernel_default();
    for (i = 0; i < THREADS; i++) {
        workers[i].kernel = best;
        workers[i].job = &job;
        workers[i].first = (uint64_t)i << 36; /* disjoint ranges */
        if (pthread_create(&threads[i], NULL, run, &workers[i]) != 0)
            break;
        started++;
    }
    for (i = 0; i < (size_t)started; i++) {
        pthread_join(threads[i], NULL);
        total += rate(&workers[i]);
    }
    printf("\n%s on %d threads: %.1f M trials/s\n", best->name, started,
           total);
    return 0;
}
