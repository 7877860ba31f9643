/*
 * bench_spend.c - spends per second and latency percentiles through the
 * library path (postage_check with a store: parse, SHA-1, date window,
 * spend), for any store specification, so that LMDB and Redis are
 * measured by the same code in one run (bench/store_backends.sh).
 *
 * Usage: bench_spend SPEC COUNT [THREADS]
 * Prints one line: "SPEC spends N threads T seconds S rate R/s p50_us X
 * p99_us Y".  Stamps claim 0 bits (no minting time) and are unique per
 * run.  A measuring tool, not a test.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postage/status.h"
#include "postage/store.h"
#include "postage/verify.h"

#define STAMP_DATE "261127"
#define T_STAMP INT64_C(1795737600)   /* 2026-11-27 00:00:00 UTC */

struct worker {
    postage_store *store;
    unsigned id, count;
    unsigned long run;
    double *lat;          /* seconds per spend */
    unsigned failed;
};

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void *
work(void *p)
{
    struct worker *w = p;
    struct postage_check_options o;
    struct postage_check_result r;
    char stamp[160];
    postage_check_options_init(&o, T_STAMP + 3600);
    o.required_bits = 0;
    o.store = w->store;
    for (unsigned i = 0; i < w->count; i++) {
        int n = snprintf(stamp, sizeof stamp, "1:0:%s:bench%u@example.org::r%lx:%x",
                         STAMP_DATE, w->id, w->run, i);
        double t0 = now_seconds();
        int rc = postage_check(stamp, (size_t) n, &o, &r);
        w->lat[i] = now_seconds() - t0;
        if (rc != POSTAGE_OK)
            w->failed++;
    }
    return NULL;
}

static int
by_value(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_spend SPEC COUNT [THREADS]\n");
        return 2;
    }
    unsigned count = (unsigned) strtoul(argv[2], NULL, 10);
    unsigned threads = argc > 3 ? (unsigned) strtoul(argv[3], NULL, 10) : 1;
    if (count == 0 || threads == 0 || threads > 64) {
        fprintf(stderr, "bench_spend: COUNT and THREADS (1-64) must be positive\n");
        return 2;
    }
    postage_store *store;
    char err[POSTAGE_STORE_ERRLEN];
    if (postage_store_open(argv[1], POSTAGE_STORE_NOSYNC * (getenv("BENCH_NOSYNC") != NULL),
                           &store, err, sizeof err) != POSTAGE_OK) {
        fprintf(stderr, "bench_spend: %s: %s\n", argv[1], err);
        return 1;
    }
    struct worker w[64];
    pthread_t tid[64];
    unsigned long run = (unsigned long) time(NULL) ^ ((unsigned long) getpid() << 16);
    double *lat = calloc((size_t) count * threads, sizeof *lat);
    if (lat == NULL)
        return 1;
    double t0 = now_seconds();
    for (unsigned t = 0; t < threads; t++) {
        w[t] = (struct worker) { store, t, count, run, lat + (size_t) t * count, 0 };
        pthread_create(&tid[t], NULL, work, &w[t]);
    }
    unsigned failed = 0;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        failed += w[t].failed;
    }
    double secs = now_seconds() - t0;
    size_t n = (size_t) count * threads;
    qsort(lat, n, sizeof *lat, by_value);
    printf("%s spends %zu threads %u seconds %.2f rate %.0f/s p50_us %.0f p99_us %.0f%s\n",
           argv[1], n, threads, secs, (double) n / secs, lat[n / 2] * 1e6,
           lat[(size_t) ((double) n * 0.99)] * 1e6, failed ? " (some failed!)" : "");
    if (failed)
        fprintf(stderr, "bench_spend: %u spends failed: %s\n", failed, postage_store_error(store));
    free(lat);
    postage_store_close(store);
    return failed ? 1 : 0;
}
