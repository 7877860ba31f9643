/*
 * mint_batch.c - batch minting on one thread and on all: stamps per second
 * of postage_mint_batch() beside the per-stamp path (postage_mint() once
 * per stamp, each stamp split across the threads, which is what
 * postage-mint and postage-sendmail did before the batch), at several bit
 * counts, as a Markdown table for the cost report (bench/report.sh, mint
 * section) and a TSV of every run.
 *
 * Usage: bench/mint_batch [--quick] [--data DIR] [--bits 12,16,...]
 *                         [--threads N] [--seconds S] [--rounds R]
 *                         [--min-count N]
 *   --threads  the "all threads" count (default: online CPUs)
 *   --seconds  about how long one thread takes at each bit count (1): the
 *              number of stamps is sized from the one-thread rate
 *   --rounds   the four runs at each bit count are repeated R times (3),
 *              interleaved, and the fastest of each is kept: other load
 *              on the machine only ever slows a run down
 *   --min-count  at least this many stamps (4), so that at 28 bits every
 *              thread has a stamp and the tail is shared
 *
 * Luck.  A stamp of b bits takes a geometric number of trials, so a
 * handful of 28-bit stamps would compare the luck of two runs, not their
 * speed.  Here every run mints the same stamps: one resource, one date and
 * the same RANDs, from a seeded generator installed in libsodium
 * (randombytes_set_implementation(), in this program only), so a thread
 * searching a stamp alone finds the very counter one thread finds; only
 * the stamps shared at the end of a batch may end on another counter.
 * Every stamp is checked with postage_leading_zero_bits() after the run.
 * Nothing here is asserted about time.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "postage.h"

#define RESOURCE "batch@bench.invalid"
#define STAMP_BYTES 192           /* this resource's stamps are 119 bytes */
#define MAX_COUNT (1u << 17)
#define MAX_LEVELS 16
#define NOW INT64_C(1767225600)   /* 2026-01-01, the same date for all */

static void
die(const char *what, int rc)
{
    fprintf(stderr, "mint_batch: %s: %s\n", what, rc ? postage_strerror(rc) : strerror(errno));
    exit(1);
}

/* ---- the seeded generator: call k of a run gets the same bytes in every
 * run (reset before each), whatever thread makes it. ---- */
static atomic_uint_fast64_t rng_calls;
static unsigned char rng_seed[randombytes_SEEDBYTES] = "postage bench/mint_batch seed.";

static void
seeded_buf(void *const buf, const size_t size)
{
    unsigned char seed[randombytes_SEEDBYTES];
    uint64_t k = atomic_fetch_add(&rng_calls, 1);
    memcpy(seed, rng_seed, sizeof seed);
    for (int i = 0; i < 8; i++)
        seed[i] ^= (unsigned char) (k >> (8 * i));
    randombytes_buf_deterministic(buf, size, seed);
}

static uint32_t
seeded_random(void)
{
    uint32_t r;
    seeded_buf(&r, sizeof r);
    return r;
}

static const char *
seeded_name(void)
{
    return "bench-seeded";
}

static struct randombytes_implementation seeded = {
    .implementation_name = seeded_name,
    .random = seeded_random,
    .buf = seeded_buf,
};

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* CPU seconds of this process so far: beside the wall-clock time in the
 * TSV, it shows how much of a run the machine's other load took. */
static double
cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
           (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

static char (*stamps)[STAMP_BYTES];
static struct postage_mint_batch_item *items;

/* One run: @count stamps of @bits on @threads, batched or one by one.
 * Returns its wall-clock seconds; *@cpu its CPU seconds. */
static double
run(unsigned bits, unsigned count, unsigned threads, int batch, double *cpu)
{
    struct postage_mint_options o;
    postage_mint_options_init(&o, NOW);
    o.bits = bits;
    o.threads = threads;
    atomic_store(&rng_calls, 0);
    for (unsigned i = 0; i < count; i++) {
        items[i] = (struct postage_mint_batch_item) {
            .resource = RESOURCE, .bits = bits, .stamp = stamps[i], .size = STAMP_BYTES,
        };
    }
    double c0 = cpu_seconds(), t0 = now_seconds();
    if (batch) {
        int rc = postage_mint_batch(items, count, &o);
        if (rc != POSTAGE_OK)
            die("postage_mint_batch", rc);
    } else {
        for (unsigned i = 0; i < count; i++) {
            int rc = postage_mint(RESOURCE, &o, stamps[i], STAMP_BYTES, NULL);
            if (rc != POSTAGE_OK)
                die("postage_mint", rc);
        }
    }
    double t = now_seconds() - t0;
    *cpu = cpu_seconds() - c0;
    for (unsigned i = 0; i < count; i++)
        if (postage_leading_zero_bits(stamps[i], strlen(stamps[i])) < bits) {
            fprintf(stderr, "mint_batch: stamp %u is not worth %u bits: %s\n", i, bits,
                    stamps[i]);
            exit(1);
        }
    return t;
}

static unsigned
parse_unsigned(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || v > 100000) {
        fprintf(stderr, "mint_batch: %s: '%s' is not a count from 1 to 100000\n", what, s);
        exit(2);
    }
    return (unsigned) v;
}

int
main(int argc, char **argv)
{
    const char *data = NULL, *bits_list = "12,16,20,24,28";
    double seconds = 1;
    unsigned rounds = 3, min_count = 4, threads = 0;
    unsigned levels[MAX_LEVELS], nlevels = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            bits_list = "12,16";
            seconds = 0.05;
            rounds = 1;
            min_count = 2;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "usage: mint_batch [--quick] [--data DIR] [--bits LIST] "
                    "[--threads N] [--seconds S] [--rounds R] [--min-count N]\n");
            return 2;
        }
        if (strcmp(a, "--data") == 0)
            data = v;
        else if (strcmp(a, "--bits") == 0)
            bits_list = v;
        else if (strcmp(a, "--threads") == 0)
            threads = parse_unsigned(v, a);
        else if (strcmp(a, "--rounds") == 0)
            rounds = parse_unsigned(v, a);
        else if (strcmp(a, "--min-count") == 0)
            min_count = parse_unsigned(v, a);
        else if (strcmp(a, "--seconds") == 0) {
            seconds = strtod(v, NULL);
            if (!(seconds > 0 && seconds <= 600)) {
                fprintf(stderr, "mint_batch: --seconds: '%s' is not 0 to 600\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "mint_batch: unknown argument %s\n", a);
            return 2;
        }
        i++;
    }
    for (const char *p = bits_list; *p != '\0';) {
        char *end;
        unsigned long b = strtoul(p, &end, 10);
        if (end == p || b < 1 || b > 40 || nlevels == MAX_LEVELS) {
            fprintf(stderr, "mint_batch: --bits: '%s' is not a list of 1 to 40\n", bits_list);
            return 2;
        }
        levels[nlevels++] = (unsigned) b;
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') {
            fprintf(stderr, "mint_batch: --bits: '%s' is not a list of 1 to 40\n", bits_list);
            return 2;
        }
    }
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned) n : 1;
    }
    if (randombytes_set_implementation(&seeded) != 0 || sodium_init() < 0)
        die("installing the seeded generator", POSTAGE_ERR_RANDOM);

    stamps = calloc(MAX_COUNT, sizeof *stamps);
    items = calloc(MAX_COUNT, sizeof *items);
    if (stamps == NULL || items == NULL)
        die("calloc", POSTAGE_ERR_NOMEM);

    double rate;
    int rc = postage_mint_rate(NULL, 1, seconds < 0.3 ? 0.1 : 0.3, &rate);
    if (rc != POSTAGE_OK)
        die("postage_mint_rate", rc);

    FILE *tsv = NULL;
    if (data != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/mint_batch.tsv", data);
        if ((tsv = fopen(path, "w")) == NULL)
            die(path, 0);
        fprintf(tsv, "bits\tstamps\tpath\tthreads\tround\tseconds\tcpu_seconds\tstamps_per_s\n");
    }

    /* [level][0 per-stamp 1, 1 per-stamp N, 2 batch 1, 3 batch N] */
    double best[MAX_LEVELS][4], cpu_min[MAX_LEVELS][4];
    unsigned counts[MAX_LEVELS];
    static const char *const path_name[2] = { "per-stamp", "batch" };
    for (unsigned l = 0; l < nlevels; l++) {
        double c = seconds * rate / (double) (UINT64_C(1) << levels[l]);
        counts[l] = c > MAX_COUNT ? MAX_COUNT : c < min_count ? min_count : (unsigned) c;
        for (int k = 0; k < 4; k++)
            best[l][k] = 0, cpu_min[l][k] = 1e300;
        for (unsigned r = 0; r < rounds; r++)
            for (int k = 0; k < 4; k++) {
                unsigned t = k % 2 == 0 ? 1 : threads;
                double cpu, s = run(levels[l], counts[l], t, k / 2, &cpu);
                double sps = counts[l] / s;
                if (sps > best[l][k])
                    best[l][k] = sps;
                if (cpu < cpu_min[l][k])
                    cpu_min[l][k] = cpu;
                if (tsv != NULL)
                    fprintf(tsv, "%u\t%u\t%s\t%u\t%u\t%.6f\t%.6f\t%.1f\n", levels[l], counts[l],
                            path_name[k / 2], t, r + 1, s, cpu, sps);
            }
    }
    if (tsv != NULL && fclose(tsv) != 0)
        die("writing mint_batch.tsv", 0);

    printf("### Batch minting on 1 and %u threads\n\n", threads);
    printf("Stamps per second minting a batch (`postage_mint_batch()`: one crew of threads for the "
           "batch, each thread a stamp of its own, idle threads helping the stamps left) beside "
           "the per-stamp path it replaces in postage-mint and postage-sendmail (`postage_mint()` "
           "once per stamp: each stamp split across the threads, which start and stop for each; "
           "in this build a single stamp's helpers stop sooner than they did, so this path is "
           "already faster than it was before the batch). "
           "Every run mints the same stamps (one resource, one date, the same RANDs from a seeded "
           "generator in this program only), so runs differ in speed, not luck. The number of "
           "stamps is sized for about %.3g s on one thread (one-thread rate %.1f M trials/s, at "
           "least %u stamps); each figure is the fastest of %u interleaved round%s. *CPU %u÷1* is "
           "the CPU time on %u threads over that on one for the same stamps: above 1, threads "
           "did work in vain (the per-stamp path's helpers finish their chunk after the winner); "
           "unlike the wall-clock figures, it does not depend on other load on the machine. Goal "
           "(issue 18): %u threads at least 0.9 × %u = %.2f × one thread's stamps/s.\n\n",
           seconds, rate / 1e6, min_count, rounds, rounds == 1 ? "" : "s", threads, threads,
           threads, threads, 0.9 * threads);
    printf("| bits | stamps | per-stamp, 1 thread | per-stamp, %u threads | per-stamp ratio | "
           "per-stamp CPU %u÷1 | batch, 1 thread | batch, %u threads | batch ratio | "
           "batch CPU %u÷1 | goal %.2f× |\n", threads, threads, threads, threads, 0.9 * threads);
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (unsigned l = 0; l < nlevels; l++) {
        double before = best[l][1] / best[l][0], after = best[l][3] / best[l][2];
        printf("| %u | %u | %.1f/s | %.1f/s | %.2f× | %.2f | %.1f/s | %.1f/s | %.2f× | %.2f | %s |\n",
               levels[l], counts[l], best[l][0], best[l][1], before,
               cpu_min[l][1] / cpu_min[l][0], best[l][2], best[l][3], after,
               cpu_min[l][3] / cpu_min[l][2], after >= 0.9 * threads ? "met" : "missed");
    }
    printf("\n");
    return 0;
}
