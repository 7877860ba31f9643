/*
 * mint_curve.c - the minting cost curves of bench/report.sh.
 *
 *   mint_curve DIR [--quick] [--rate-seconds S] [--levels 8,10,...]
 *              [--level-seconds S] [--min-samples N] [--max-samples N]
 *              [--total-seconds S]
 *
 * 1. Rates: every kernel this CPU runs (and that passed its self-test), on
 *    1 .. N threads (N: the online CPUs), measured by postage_mint_rate()
 *    (a real search, stopped after S seconds) -> DIR/rates.tsv:
 *      kernel lanes default threads rate
 * 2. The model: for 8 .. 32 bits, the geometric prediction from the
 *    default kernel's rate on N threads, measured again just before the
 *    mints (mean 2^b / rate, median ln 2 and p95 ln 20 times that) ->
 *    DIR/model.tsv: a "# kernel K threads N rate R" line, then
 *      bits mean median p95
 * 3. Real mints with that kernel on N threads at each level of --levels,
 *    as many as fit --level-seconds (at least --min-samples, at most
 *    --max-samples), each one a full postage_mint() of a fresh stamp timed
 *    from the call to its return -> DIR/samples.tsv:
 *      bits seconds trials actual
 *    A level whose minimum samples would overrun --total-seconds is
 *    skipped and said so on stderr.
 * 4. The check of the model against the mints -> DIR/check.tsv:
 *      bits n pred_mean mean pred_median median pred_p95 p95 within_p95
 *    (within_p95: the share of mints no slower than the predicted p95;
 *    the model says 0.95).
 *
 * A measuring tool: it prints what it measured and asserts no time.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postage.h"

#define MAX_LEVELS 32
#define MAX_THREADS 64

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static FILE *
open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "mint_curve: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static void
close_out(FILE *f)
{
    if (ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "mint_curve: write error\n");
        exit(1);
    }
}

static int
by_value(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double
percentile(const double *v, size_t n, double q)
{
    size_t k = (size_t) ceil(q * (double) n);
    return v[k == 0 ? 0 : k - 1];
}

static int
parse_levels(const char *arg, unsigned *levels, int *count)
{
    char *end;
    *count = 0;
    while (*arg != '\0') {
        if (*count == MAX_LEVELS || *arg < '0' || *arg > '9')
            return -1;
        unsigned long v = strtoul(arg, &end, 10);
        if (v > 40 || (*end != ',' && *end != '\0'))
            return -1;
        levels[(*count)++] = (unsigned) v;
        arg = *end == ',' ? end + 1 : end;
    }
    return *count > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    const char *dir = NULL;
    double rate_seconds = 0.5, level_seconds = 5, total_seconds = 70;
    unsigned min_samples = 30, max_samples = 400;
    unsigned levels[MAX_LEVELS] = { 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28 };
    int nlevels = 11;

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0) {
            rate_seconds = 0.1;
            level_seconds = 0.2;
            total_seconds = 5;
            min_samples = 10;
            max_samples = 20;
            nlevels = 3;
        } else if (strcmp(argv[a], "--rate-seconds") == 0 && a + 1 < argc) {
            rate_seconds = atof(argv[++a]);
        } else if (strcmp(argv[a], "--level-seconds") == 0 && a + 1 < argc) {
            level_seconds = atof(argv[++a]);
        } else if (strcmp(argv[a], "--total-seconds") == 0 && a + 1 < argc) {
            total_seconds = atof(argv[++a]);
        } else if (strcmp(argv[a], "--min-samples") == 0 && a + 1 < argc) {
            min_samples = (unsigned) strtoul(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--max-samples") == 0 && a + 1 < argc) {
            max_samples = (unsigned) strtoul(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--levels") == 0 && a + 1 < argc) {
            if (parse_levels(argv[++a], levels, &nlevels) != 0) {
                fprintf(stderr, "mint_curve: bad --levels %s\n", argv[a]);
                return 2;
            }
        } else if (argv[a][0] != '-' && dir == NULL) {
            dir = argv[a];
        } else {
            fprintf(stderr, "usage: mint_curve DIR [--quick] [--rate-seconds S] [--levels L,...]\n"
                            "         [--level-seconds S] [--total-seconds S] [--min-samples N]"
                            " [--max-samples N]\n");
            return 2;
        }
    }
    if (dir == NULL || !(rate_seconds >= 0.05 && rate_seconds <= 60) || min_samples < 2 ||
        max_samples < min_samples)
        return fprintf(stderr, "mint_curve: bad arguments (try without any)\n"), 2;

    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned cpus = online > 0 ? (unsigned) online : 1;
    if (cpus > MAX_THREADS)
        cpus = MAX_THREADS;
    const char *def = postage_kernel_default();
    double rate = 0;

    /* 1. rates */
    FILE *f = open_out(dir, "rates.tsv");
    fprintf(f, "kernel\tlanes\tdefault\tthreads\trate\n");
    for (size_t i = 0; i < postage_kernel_count(); i++) {
        struct postage_kernel_info k;
        if (postage_kernel_get(i, &k) != POSTAGE_OK || !k.supported || !k.selftest_passed)
            continue;
        for (unsigned t = 1; t <= cpus; t++) {
            double r = 0;
            int rc = postage_mint_rate(k.name, t, rate_seconds, &r);
            if (rc != POSTAGE_OK) {
                fprintf(stderr, "mint_curve: kernel %s on %u threads: %s\n", k.name, t,
                        postage_strerror(rc));
                return 1;
            }
            fprintf(f, "%s\t%u\t%d\t%u\t%.0f\n", k.name, k.lanes, k.is_default, t, r);
            printf("rate %-9s %2u threads %8.1f M trials/s\n", k.name, t, r / 1e6);
            if (strcmp(k.name, def) == 0 && t == cpus)
                rate = r;
        }
    }
    close_out(f);
    if (!(rate > 0)) {
        fprintf(stderr, "mint_curve: the default kernel %s was not measured\n", def);
        return 1;
    }

    /* 2. the model, from the default kernel's rate measured again right
     * before the mints (the machine's load may have changed meanwhile). */
    double fresh = 0;
    if (postage_mint_rate(def, cpus, rate_seconds * 2, &fresh) == POSTAGE_OK && fresh > 0)
        rate = fresh;
    f = open_out(dir, "model.tsv");
    fprintf(f, "# kernel %s threads %u rate %.0f\nbits\tmean\tmedian\tp95\n", def, cpus, rate);
    for (unsigned b = 8; b <= 32; b++) {
        double mean = ldexp(1.0, (int) b) / rate;
        fprintf(f, "%u\t%.9g\t%.9g\t%.9g\n", b, mean, mean * log(2.0), mean * log(20.0));
    }
    close_out(f);

    /* 3. real mints */
    FILE *fs = open_out(dir, "samples.tsv");
    FILE *fc = open_out(dir, "check.tsv");
    fprintf(fs, "bits\tseconds\ttrials\tactual\n");
    fprintf(fc, "bits\tn\tpred_mean\tmean\tpred_median\tmedian\tpred_p95\tp95\twithin_p95\n");
    double *secs = malloc((size_t) max_samples * sizeof *secs);
    if (secs == NULL)
        return 1;
    double started = now_seconds();
    for (int l = 0; l < nlevels; l++) {
        unsigned b = levels[l];
        double mean = ldexp(1.0, (int) b) / rate;
        double left = total_seconds - (now_seconds() - started);
        if ((double) min_samples * mean > left) {
            fprintf(stderr, "mint_curve: %u bits skipped: %u mints would take about %.0f s, "
                    "%.0f s left of the %.0f s allowed\n", b, min_samples,
                    (double) min_samples * mean, left, total_seconds);
            continue;
        }
        unsigned n = 0;
        double level_start = now_seconds();
        while (n < max_samples &&
               (n < min_samples || now_seconds() - level_start < level_seconds)) {
            struct postage_mint_options o;
            struct postage_mint_result r;
            char stamp[POSTAGE_MINT_STAMP_SIZE];
            postage_mint_options_init(&o, INT64_C(1795737600));
            o.bits = b;
            o.threads = cpus;
            double t0 = now_seconds();
            int rc = postage_mint("curve@bench.invalid", &o, stamp, sizeof stamp, &r);
            double dt = now_seconds() - t0;
            if (rc != POSTAGE_OK) {
                fprintf(stderr, "mint_curve: mint at %u bits: %s\n", b, postage_strerror(rc));
                return 1;
            }
            fprintf(fs, "%u\t%.9f\t%llu\t%u\n", b, dt, (unsigned long long) r.trials, r.actual);
            secs[n++] = dt;
        }
        qsort(secs, n, sizeof *secs, by_value);
        double sum = 0;
        unsigned within = 0;
        for (unsigned i = 0; i < n; i++) {
            sum += secs[i];
            within += secs[i] <= mean * log(20.0);
        }
        fprintf(fc, "%u\t%u\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\t%.3f\n", b, n, mean,
                sum / n, mean * log(2.0), percentile(secs, n, 0.5), mean * log(20.0),
                percentile(secs, n, 0.95), (double) within / n);
        printf("mints %2u bits: %4u samples, mean %.6f s (model %.6f s), p95 %.6f s (model %.6f s)\n",
               b, n, sum / n, mean, percentile(secs, n, 0.95), mean * log(20.0));
        fflush(stdout);
    }
    free(secs);
    close_out(fs);
    close_out(fc);
    return 0;
}
