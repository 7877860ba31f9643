/*
 * bench_spend.c - spends per second and latency percentiles through the
 * library path (postage_check: parse, SHA-1, date window, then the
 * spend), for any store specification, so that LMDB and Redis are
 * measured by the same code in one run (bench/store_backends.sh,
 * bench/spend_group.sh).
 *
 * Usage: bench_spend [--one-per-commit] [--no-gather] [--stamps K [--each]] SPEC COUNT
 *                    [THREADS]
 *   THREADS spenders (sessions) each spend COUNT messages of K stamps
 *   (default 1).  One stamp: postage_check with the store (one
 *   postage_store_spend).  K stamps: each checked without the store, then
 *   all spent in one postage_store_spend_many call, or with --each one
 *   postage_store_spend per stamp, in turn.
 *   --one-per-commit: a bench-wide mutex lets one message spend at a time,
 *   so each commit holds one message's spends: the store as it was before
 *   group commit (every spend serialised on the environment's lock and one
 *   commit each), measured beside group commit in the same run.
 *   --no-gather: an LMDB store's group-commit leaders take the batch at
 *   once, never waiting for the crowd (kv/lmdb_env.h, "Gathering"): group
 *   commit as it was before gathering, beside it in the same run.
 * Prints one line: "SPEC spends N threads T seconds S rate R/s p50_us X
 * p99_us Y mode M stamps K msgs_rate R/s", latencies per message, and
 * for an LMDB store " commits C per_commit A commit_us U gathers G
 * timeouts T gather_us W sizes N1,N2,..." (requests per commit, time in
 * the write transaction per commit, waits, commits of 1, 2, ...
 * requests, the last figure counting every bigger batch).  Stamps
 * claim 0 bits (no minting time) and are unique per run.  A measuring
 * tool, not a test.
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
#include "verify/store_lmdb.h"

#define STAMP_DATE "261127"
#define T_STAMP INT64_C(1795737600)   /* 2026-11-27 00:00:00 UTC */
#define MAX_STAMPS 64
#define STAMP_SIZE 160

static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;

struct worker {
    postage_store *store;
    unsigned id, count, stamps;
    int serial, each;
    unsigned long run;
    double *lat;          /* seconds per message */
    unsigned failed;
};

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* One message: check its stamps, spend them.  0 if all were fresh. */
static int
message(struct worker *w, unsigned i, struct postage_check_options *o)
{
    static const struct postage_check_options zero;
    struct postage_store_spend_item items[MAX_STAMPS];
    char text[MAX_STAMPS][STAMP_SIZE];
    struct postage_check_result r;
    int bad = 0;

    for (unsigned k = 0; k < w->stamps; k++) {
        int n = snprintf(text[k], STAMP_SIZE, "1:0:%s:bench%u@example.org::r%lxs%u:%x",
                         STAMP_DATE, w->id, w->run, k, i);
        items[k] = (struct postage_store_spend_item) { text[k], (size_t) n, 0, 0 };
    }
    if (w->stamps == 1)
        return postage_check(text[0], items[0].len, o, &r) != POSTAGE_OK;
    /* Checked first, as postaged checks a message's stamps before it
     * takes the message; then spent. */
    struct postage_check_options nostore = *o;
    nostore.store = zero.store;
    for (unsigned k = 0; k < w->stamps; k++) {
        bad |= postage_check(text[k], items[k].len, &nostore, &r) != POSTAGE_OK;
        items[k].expires_at = r.expires_at;
    }
    if (w->each) {
        for (unsigned k = 0; k < w->stamps; k++)
            bad |= postage_store_spend(w->store, text[k], items[k].len, items[k].expires_at)
                   != POSTAGE_OK;
        return bad;
    }
    if (postage_store_spend_many(w->store, items, w->stamps) != POSTAGE_OK)
        return 1;
    for (unsigned k = 0; k < w->stamps; k++)
        bad |= items[k].result != POSTAGE_OK;
    return bad;
}

static void *
work(void *p)
{
    struct worker *w = p;
    struct postage_check_options o;
    postage_check_options_init(&o, T_STAMP + 3600);
    o.required_bits = 0;
    o.store = w->store;
    for (unsigned i = 0; i < w->count; i++) {
        double t0 = now_seconds();
        if (w->serial)
            pthread_mutex_lock(&one_at_a_time);
        int bad = message(w, i, &o);
        if (w->serial)
            pthread_mutex_unlock(&one_at_a_time);
        w->lat[i] = now_seconds() - t0;
        if (bad)
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

static int
usage(void)
{
    fprintf(stderr, "usage: bench_spend [--one-per-commit] [--no-gather] [--stamps K [--each]] SPEC COUNT "
                    "[THREADS]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    int serial = 0, each = 0, gather = 1, a = 1;
    unsigned stamps = 1;
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        if (strcmp(argv[a], "--one-per-commit") == 0)
            serial = 1;
        else if (strcmp(argv[a], "--no-gather") == 0)
            gather = 0;
        else if (strcmp(argv[a], "--each") == 0)
            each = 1;
        else if (strcmp(argv[a], "--stamps") == 0 && a + 1 < argc)
            stamps = (unsigned) strtoul(argv[++a], NULL, 10);
        else
            return usage();
    }
    if (argc - a < 2)
        return usage();
    const char *spec = argv[a];
    unsigned count = (unsigned) strtoul(argv[a + 1], NULL, 10);
    unsigned threads = argc - a > 2 ? (unsigned) strtoul(argv[a + 2], NULL, 10) : 1;
    if (count == 0 || threads == 0 || threads > 64 || stamps == 0 || stamps > MAX_STAMPS) {
        fprintf(stderr, "bench_spend: COUNT, THREADS (1-64) and K (1-%d) must be positive\n",
                MAX_STAMPS);
        return 2;
    }
    postage_store *store;
    char err[POSTAGE_STORE_ERRLEN];
    if (postage_store_open(spec, POSTAGE_STORE_NOSYNC * (getenv("BENCH_NOSYNC") != NULL),
                           &store, err, sizeof err) != POSTAGE_OK) {
        fprintf(stderr, "bench_spend: %s: %s\n", spec, err);
        return 1;
    }
    struct kv_lmdb_group_stats gs;
    int lmdb = postage_store_lmdb_group(store, gather, NULL) == 0;
    struct worker w[64];
    pthread_t tid[64];
    unsigned long run = (unsigned long) time(NULL) ^ ((unsigned long) getpid() << 16);
    double *lat = calloc((size_t) count * threads, sizeof *lat);
    if (lat == NULL)
        return 1;
    double t0 = now_seconds();
    for (unsigned t = 0; t < threads; t++) {
        w[t] = (struct worker) { store, t, count, stamps, serial, each, run,
                                 lat + (size_t) t * count, 0 };
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
    printf("%s spends %zu threads %u seconds %.2f rate %.0f/s p50_us %.0f p99_us %.0f "
           "mode %s stamps %u msgs_rate %.0f/s%s",
           spec, n * stamps, threads, secs, (double) (n * stamps) / secs, lat[n / 2] * 1e6,
           lat[(size_t) ((double) n * 0.99)] * 1e6,
           serial ? "one-per-commit" : stamps > 1 && each ? "group,each" : "group", stamps,
           (double) n / secs, failed ? " (some failed!)" : "");
    if (lmdb && postage_store_lmdb_group(store, -1, &gs) == 0) {
        unsigned last = KV_LMDB_BATCH_HIST;
        while (last > 1 && gs.batch_size[last - 1] == 0)
            last--;
        printf(" commits %llu per_commit %.2f commit_us %.0f gathers %llu timeouts %llu "
               "gather_us %.0f sizes ",
               (unsigned long long) gs.commits,
               gs.commits ? (double) gs.requests / (double) gs.commits : 0.0,
               gs.commits ? (double) gs.commit_ns / (double) gs.commits / 1e3 : 0.0,
               (unsigned long long) gs.gathers, (unsigned long long) gs.gather_timeouts,
               gs.gathers ? (double) gs.gather_ns / (double) gs.gathers / 1e3 : 0.0);
        for (unsigned i = 0; i < last; i++)
            printf("%s%llu", i ? "," : "", (unsigned long long) gs.batch_size[i]);
    }
    printf("\n");
    if (failed)
        fprintf(stderr, "bench_spend: %u messages failed: %s\n", failed,
                postage_store_error(store));
    free(lat);
    postage_store_close(store);
    return failed ? 1 : 0;
}
