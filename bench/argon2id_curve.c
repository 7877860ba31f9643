/*
 * argon2id_curve.c - what memory-hard (Argon2id) stamps cost here, for the
 * argon2id section of bench/report.sh.  Prints TSV on stdout (a header
 * line, then one row per measurement) and progress on stderr.
 *
 *   argon2id_curve rates  [--sizes M[:T],...] [--seconds S] [--repeat R] [--threads N]
 *   argon2id_curve mints  [--levels M=b,b,.../M=b,...] [--passes T] [--threads N]
 *                         [--backend NAME] [--min-count N] [--max-count N]
 *                         [--level-seconds S] [--total-seconds S]
 *   argon2id_curve verify [--sizes M[:T],...] [--seconds S] [--threads N]
 *                         [--bits B]
 *   argon2id_curve info
 *
 * Sizes are memory in KiB, optionally with passes (65536:3); lanes are 1
 * throughout (libsodium computes one lane only).  Defaults:
 * --sizes 64,1024,16384,65536,65536:3, --seconds 0.5 (rates) or 1 (verify),
 * --repeat 3, --threads the online CPUs.
 *
 * Backends: libargon2, libsodium and postage's own (POSTAGE_A2ID_POSTAGE:
 * lib/argon2id_core.c on the SIMD kernel the dispatch chose), side by side.
 *
 * rates: for each size, attempts per second of
 *   - each backend on one thread, one work area reused for every attempt
 *     (postage_argon2id_rate(); libsodium maps fresh memory in every call
 *     whatever the caller does) -> method "reuse";
 *   - libargon2 and postage on one thread with a fresh work area made
 *     (allocated and pre-faulted) for every attempt, as a checker without a work area of
 *     its own pays -> method "fresh";
 *   - each backend on N threads through postage_mint() of an unreachable
 *     stamp stopped by its progress callback, as mint/rate.c measures SHA-1
 *     (the rate between a first progress report and the stop, so thread
 *     start-up and work-area set-up stay out) -> method "mint".
 *   Each is measured --repeat times, the repetitions interleaved, and the
 *   row gives the median (and the range).  Columns: memory_kib passes
 *   backend method threads attempts_per_s ms_per_attempt
 *   equivalent_bits_per_attempt attempts_per_s_min attempts_per_s_max.
 *   ms_per_attempt is the time one attempt takes one thread (threads /
 *   attempts_per_s); equivalent_bits_per_attempt is
 *   postage_argon2id_equivalent_bits(0, ...) at the reference rates: the
 *   SHA-1 bits one attempt stands for.
 *
 * mints: real mints of fresh stamps (postage_mint(), N threads) at each
 *   level, each timed from the call to its return; per level at least
 *   --min-count (default 10), then more until --level-seconds (default 3)
 *   have passed, at most --max-count (default 200).  Once --total-seconds
 *   (default 50) have passed, a level stops after 3 mints and the levels
 *   left are skipped (said on stderr).  Default levels:
 *   64=4,6,8,10/1024=2,4,6,8/16384=1,2,3,4/65536=1,2,3, passes 1, backend
 *   auto (what postage_argon2id_work_new() resolves it to; the rows name
 *   that backend).  Before each size's mints, the mint rate on N threads
 *   is measured again (the load may have changed), for the model.  Columns:
 *   memory_kib passes backend threads bits seconds attempts actual
 *   rate_before.
 *
 * verify: postage_check() per stamp, one thread, no store (the same stamp
 *   again and again): an Argon2id stamp minted with --bits (default 2) at
 *   each size, checked with a reused work area
 *   (options.argon2id_work) of libargon2 and of postage, with none (a
 *   fresh area per check) on libargon2 and on postage, and with libsodium
 *   (fresh memory per check); a stamp whose parameters
 *   are out of bounds (1 GiB, refused before anything is computed); and a
 *   20-bit SHA-1 stamp.  Columns: kind memory_kib backend work_area
 *   checks_per_s us_per_check.
 *
 * info: what the report labels its columns with, looked up here and now
 *   rather than assumed: "auto" and the backend auto resolves to, and
 *   "postage_kernel" and the Argon2 fill-block kernel postage's backend
 *   uses on this CPU (the dispatch's choice, simd/argon2_kernels.h).
 *   Columns: key value.
 *
 * A measuring tool: it prints what it measured and asserts no time.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postage.h"
#include "simd/argon2_kernels.h"

#define MAX_SIZES 16
#define MAX_LEVELS 16
#define STAMP_TIME INT64_C(1795737600) /* any fixed date: 2026-11-26 */
#define RESOURCE "argon2id@bench.invalid"

struct size_spec {
    struct postage_argon2id_params p;
    unsigned levels[MAX_LEVELS];   /* mints only */
    int nlevels;
};

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
die(const char *what, int rc)
{
    fprintf(stderr, "argon2id_curve: %s: %s\n", what, postage_strerror(rc));
    exit(1);
}

static int
usage(void)
{
    fprintf(stderr,
            "usage: argon2id_curve rates  [--sizes M[:T],...] [--seconds S] [--repeat R] [--threads N]\n"
            "       argon2id_curve mints  [--levels M=b,b,.../M=b,...] [--passes T] [--threads N]\n"
            "                             [--backend NAME] [--min-count N] [--max-count N]\n"
            "                             [--level-seconds S] [--total-seconds S]\n"
            "       argon2id_curve verify [--sizes M[:T],...] [--seconds S] [--threads N] [--bits B]\n"
            "       argon2id_curve info\n");
    return 2;
}

static int
parse_uint(const char **s, unsigned long max, unsigned long *out)
{
    char *end;
    if (**s < '0' || **s > '9')
        return -1;
    unsigned long v = strtoul(*s, &end, 10);
    if (v > max)
        return -1;
    *out = v;
    *s = end;
    return 0;
}

/* "64,1024,65536:3" */
static int
parse_sizes(const char *s, struct size_spec *sizes, int *n)
{
    *n = 0;
    while (*s != '\0') {
        unsigned long m, t = 1;
        if (*n == MAX_SIZES || parse_uint(&s, 4194304, &m) != 0 || m < 8)
            return -1;
        if (*s == ':') {
            s++;
            if (parse_uint(&s, 100, &t) != 0 || t < 1)
                return -1;
        }
        if (*s != ',' && *s != '\0')
            return -1;
        memset(&sizes[*n], 0, sizeof sizes[*n]);
        sizes[*n].p = (struct postage_argon2id_params) { (uint32_t) m, (uint32_t) t, 1 };
        (*n)++;
        if (*s == ',')
            s++;
    }
    return *n > 0 ? 0 : -1;
}

/* "64=4,6,8/1024=2,4" */
static int
parse_levels(const char *s, unsigned passes, struct size_spec *sizes, int *n)
{
    *n = 0;
    while (*s != '\0') {
        unsigned long m, b;
        if (*n == MAX_SIZES || parse_uint(&s, 4194304, &m) != 0 || m < 8 || *s++ != '=')
            return -1;
        struct size_spec *z = &sizes[(*n)++];
        memset(z, 0, sizeof *z);
        z->p = (struct postage_argon2id_params) { (uint32_t) m, passes, 1 };
        for (;;) {
            if (z->nlevels == MAX_LEVELS || parse_uint(&s, 40, &b) != 0)
                return -1;
            z->levels[z->nlevels++] = (unsigned) b;
            if (*s != ',')
                break;
            s++;
        }
        if (*s == '/')
            s++;
        else if (*s != '\0')
            return -1;
    }
    return *n > 0 ? 0 : -1;
}

static double
equivalent_bits(const struct postage_argon2id_params *p)
{
    return postage_argon2id_equivalent_bits(0, p, POSTAGE_REF_SHA1_RATE,
                                            POSTAGE_REF_ARGON2ID_RATE);
}

/* --- rates ------------------------------------------------------------------ */

#define MAX_REPEAT 15

static int
by_value(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* One row: the median of @n repetitions, and their range. */
static void
rate_row(const struct postage_argon2id_params *p, const char *backend, const char *method,
         unsigned threads, double *v, unsigned n)
{
    qsort(v, n, sizeof *v, by_value);
    double rate = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    printf("%u\t%u\t%s\t%s\t%u\t%.6g\t%.6g\t%.2f\t%.6g\t%.6g\n", p->memory, p->passes, backend,
           method, threads, rate, rate > 0 ? 1000.0 * threads / rate : 0, equivalent_bits(p), v[0],
           v[n - 1]);
    fflush(stdout);
    fprintf(stderr, "rates m=%u t=%u %-9s %-5s %u thread%s: %.1f attempts/s (%.1f .. %.1f)\n",
            p->memory, p->passes, backend, method, threads, threads == 1 ? "" : "s", rate, v[0],
            v[n - 1]);
}

/* @backend with a new work area (allocated and faulted in) per attempt. */
static double
fresh_rate(const struct postage_argon2id_params *p, int backend, double seconds)
{
    unsigned char tag[POSTAGE_A2ID_TAG_LEN];
    char text[48];
    unsigned long n = 0;
    double start = 0, elapsed = 0;
    for (long i = -1; i < 0 || n < 2 || elapsed < seconds; i++) {
        postage_argon2id_work *w;
        int rc = postage_argon2id_work_new(&w, p, backend);
        if (rc != POSTAGE_OK)
            die("fresh work area", rc);
        size_t len = (size_t) snprintf(text, sizeof text, "fresh:%ld", i);
        rc = postage_argon2id_tag(w, p, text, len, tag);
        postage_argon2id_work_free(w);
        if (rc != POSTAGE_OK)
            die("fresh area", rc);
        if (i < 0) {           /* the first one is a warm-up */
            start = now_seconds();
            continue;
        }
        n++;
        elapsed = now_seconds() - start;
    }
    return (double) n / elapsed;
}

struct mint_probe {
    double warm;          /* seconds before the window opens */
    double seconds;       /* the window's length */
    int opened;
    uint64_t trials0;
    double t0;
    double rate;
};

static int
mint_probe_cb(void *ctx, const struct postage_mint_progress *pr)
{
    struct mint_probe *m = ctx;
    if (!m->opened) {
        if (pr->seconds >= m->warm) {
            m->opened = 1;
            m->trials0 = pr->trials;
            m->t0 = pr->seconds;
        }
        return 0;
    }
    if (pr->seconds - m->t0 < m->seconds)
        return 0;
    m->rate = (double) (pr->trials - m->trials0) / (pr->seconds - m->t0);
    return 1;
}

static double
mint_rate(const struct postage_argon2id_params *p, int backend, unsigned threads,
          double seconds, double warm)
{
    struct postage_mint_options o;
    struct mint_probe probe = { warm, seconds, 0, 0, 0, 0 };
    char stamp[POSTAGE_MINT_STAMP_SIZE];
    postage_mint_options_init(&o, STAMP_TIME);
    o.bits = POSTAGE_BITS_MAX; /* never found: the callback ends the search */
    o.threads = threads;
    o.argon2id = 1;
    o.argon2id_params = *p;
    o.argon2id_backend = backend;
    o.progress = mint_probe_cb;
    o.progress_ctx = &probe;
    int rc = postage_mint("rate@bench.invalid", &o, stamp, sizeof stamp, NULL);
    if (rc != POSTAGE_ERR_CANCELLED)
        die("postage_mint (rate)", rc == POSTAGE_OK ? POSTAGE_ERR_INTERNAL : rc);
    return probe.rate;
}

static int
run_rates(const struct size_spec *sizes, int nsizes, double seconds, unsigned threads,
          unsigned repeat)
{
    static const int backends[] = { POSTAGE_A2ID_LIBARGON2, POSTAGE_A2ID_LIBSODIUM,
                                    POSTAGE_A2ID_POSTAGE };
    enum { NB = sizeof backends / sizeof backends[0] };
    printf("memory_kib\tpasses\tbackend\tmethod\tthreads\tattempts_per_s\tms_per_attempt\t"
           "equivalent_bits_per_attempt\tattempts_per_s_min\tattempts_per_s_max\n");
    for (int i = 0; i < nsizes; i++) {
        const struct postage_argon2id_params *p = &sizes[i].p;
        /* v[0..NB-1]: each backend reusing its area; v[NB], v[NB+1]:
         * libargon2 and postage with a fresh area; v[NB+2..2NB+1]: each
         * backend through postage_mint.  The
         * repetitions are interleaved, so that a burst of load elsewhere on
         * the machine falls on one repetition of every method rather than
         * on every repetition of one. */
        double v[2 * NB + 2][MAX_REPEAT];
        for (unsigned r = 0; r < repeat; r++) {
            double slowest = 0;
            for (int b = 0; b < NB; b++) {
                int rc = postage_argon2id_rate(p, backends[b], seconds, &v[b][r]);
                if (rc != POSTAGE_OK)
                    die(postage_argon2id_backend_name(backends[b]), rc);
                if (v[b][r] > 0 && 1 / v[b][r] > slowest)
                    slowest = 1 / v[b][r];
            }
            v[NB][r] = fresh_rate(p, POSTAGE_A2ID_LIBARGON2, seconds);
            v[NB + 1][r] = fresh_rate(p, POSTAGE_A2ID_POSTAGE, seconds);
            /* The mint's rate counts finished attempts only: measure over
             * about 20 attempts a thread (at most 3 times --seconds), after
             * a warm-up of a few attempts, so that the ones cut off at the
             * edges of the window matter little. */
            double window = fmax(seconds, fmin(3 * seconds, 20 * slowest));
            double warm = fmax(0.1, fmin(0.5, 2 * slowest));
            for (int b = 0; b < NB; b++)
                v[NB + 2 + b][r] = mint_rate(p, backends[b], threads, window, warm);
        }
        for (int b = 0; b < NB; b++)
            rate_row(p, postage_argon2id_backend_name(backends[b]), "reuse", 1, v[b], repeat);
        rate_row(p, "libargon2", "fresh", 1, v[NB], repeat);
        rate_row(p, "postage", "fresh", 1, v[NB + 1], repeat);
        for (int b = 0; b < NB; b++)
            rate_row(p, postage_argon2id_backend_name(backends[b]), "mint", threads,
                     v[NB + 2 + b], repeat);
    }
    return 0;
}

/* --- mints ------------------------------------------------------------------ */

/* The backend @backend stands for: "auto" as the library resolves it
 * today, asked of the library rather than assumed. */
static int
resolve_backend(int backend, const struct postage_argon2id_params *p)
{
    postage_argon2id_work *w;
    int rc = postage_argon2id_work_new(&w, p, backend);
    if (rc != POSTAGE_OK)
        die("work area (resolving the backend)", rc);
    int real = postage_argon2id_work_backend(w);
    postage_argon2id_work_free(w);
    return real;
}

static int
run_mints(const struct size_spec *sizes, int nsizes, unsigned threads, int backend,
          unsigned min_count, unsigned max_count, double level_seconds, double total_seconds)
{
    printf("memory_kib\tpasses\tbackend\tthreads\tbits\tseconds\tattempts\tactual\t"
           "rate_before\n");
    double started = now_seconds();
    int real_backend = resolve_backend(backend, &sizes[0].p);
    const char *bname = postage_argon2id_backend_name(real_backend);
    for (int i = 0; i < nsizes; i++) {
        const struct postage_argon2id_params *p = &sizes[i].p;
        /* The rate on these threads, measured right before this size's
         * mints (the machine's load may have changed since the rates),
         * for the model they are held against. */
        double one = 0, before = 0;
        int rc = postage_argon2id_rate(p, real_backend, 0.1, &one);
        if (rc != POSTAGE_OK)
            die(bname, rc);
        if (one > 0)
            before = mint_rate(p, real_backend, threads, fmax(0.5, fmin(2.0, 20 / one)),
                               fmax(0.1, fmin(0.5, 2 / one)));
        fprintf(stderr, "mints m=%u t=%u: %.1f attempts/s on %u threads just before\n", p->memory,
                p->passes, before, threads);
        for (int l = 0; l < sizes[i].nlevels; l++) {
            unsigned bits = sizes[i].levels[l];
            if (now_seconds() - started > total_seconds) {
                fprintf(stderr, "argon2id_curve: m=%u t=%u, %u bits skipped: the %.0f s allowed "
                        "for mints had passed\n", p->memory, p->passes, bits, total_seconds);
                continue;
            }
            unsigned n = 0;
            double level_start = now_seconds(), sum = 0;
            while (n < max_count &&
                   (n < min_count || now_seconds() - level_start < level_seconds)) {
                if (n >= 3 && now_seconds() - started > total_seconds) {
                    fprintf(stderr, "argon2id_curve: m=%u t=%u, %u bits: stopped after %u mints, "
                            "the %.0f s allowed for mints had passed\n", p->memory, p->passes,
                            bits, n, total_seconds);
                    break;
                }
                struct postage_mint_options o;
                struct postage_mint_result r;
                char stamp[POSTAGE_MINT_STAMP_SIZE];
                postage_mint_options_init(&o, STAMP_TIME);
                o.bits = bits;
                o.threads = threads;
                o.argon2id = 1;
                o.argon2id_params = *p;
                o.argon2id_backend = backend;
                double t0 = now_seconds();
                rc = postage_mint(RESOURCE, &o, stamp, sizeof stamp, &r);
                double dt = now_seconds() - t0;
                if (rc != POSTAGE_OK)
                    die("postage_mint", rc);
                printf("%u\t%u\t%s\t%u\t%u\t%.9f\t%llu\t%u\t%.6g\n", p->memory, p->passes, bname,
                       threads, bits, dt, (unsigned long long) r.trials, r.actual, before);
                sum += dt;
                n++;
            }
            fflush(stdout);
            fprintf(stderr, "mints m=%u t=%u %2u bits: %u mints, mean %.4f s\n", p->memory,
                    p->passes, bits, n, n > 0 ? sum / n : 0);
        }
    }
    return 0;
}

/* --- verify ------------------------------------------------------------------ */

static void
verify_row(const char *kind, unsigned memory, const char *backend, const char *area,
           const char *stamp, const struct postage_check_options *o, int want, double seconds,
           int batch)
{
    size_t len = strlen(stamp);
    struct postage_check_result r;
    int rc = postage_check(stamp, len, o, &r);   /* warm-up, and the verdict */
    if (rc != want) {
        fprintf(stderr, "argon2id_curve: %s m=%u %s %s: verdict %s, expected %s\n", kind, memory,
                backend, area, postage_strerror(rc), postage_strerror(want));
        exit(1);
    }
    unsigned long n = 0;
    double start = now_seconds(), elapsed = 0;
    while (n < 3 || elapsed < seconds) {
        /* Cheap checks (a refusal, SHA-1) go @batch at a time between
         * clock reads; an Argon2id computation is long enough alone. */
        for (int k = 0; k < batch; k++) {
            if (postage_check(stamp, len, o, NULL) != want)
                die(kind, POSTAGE_ERR_INTERNAL);
            n++;
        }
        elapsed = now_seconds() - start;
    }
    double rate = (double) n / elapsed;
    printf("%s\t%u\t%s\t%s\t%.6g\t%.6g\n", kind, memory, backend, area, rate, 1e6 / rate);
    fflush(stdout);
    fprintf(stderr, "verify %-22s m=%-7u %-9s %-6s %.1f checks/s (%.1f us)\n", kind, memory,
            backend, area, rate, 1e6 / rate);
}

static void
verify_options(struct postage_check_options *o, uint32_t max_memory)
{
    postage_check_options_init(o, STAMP_TIME);
    o->kinds = POSTAGE_KIND_SHA1 | POSTAGE_KIND_ARGON2ID;
    o->required_bits = 0;
    o->argon2id_min_bits = 0;
    if (max_memory > o->argon2id_max.memory)
        o->argon2id_max.memory = max_memory;
    o->argon2id_max.passes = 100;
}

static int
run_verify(const struct size_spec *sizes, int nsizes, double seconds, unsigned threads,
           unsigned bits)
{
    uint32_t max_memory = 0;
    for (int i = 0; i < nsizes; i++)
        if (sizes[i].p.memory > max_memory)
            max_memory = sizes[i].p.memory;
    printf("kind\tmemory_kib\tbackend\twork_area\tchecks_per_s\tus_per_check\n");
    for (int i = 0; i < nsizes; i++) {
        const struct postage_argon2id_params *p = &sizes[i].p;
        struct postage_mint_options mo;
        char stamp[POSTAGE_MINT_STAMP_SIZE], kind[32];
        postage_mint_options_init(&mo, STAMP_TIME);
        mo.bits = bits;
        mo.threads = threads;
        mo.argon2id = 1;
        mo.argon2id_params = *p;
        int rc = postage_mint(RESOURCE, &mo, stamp, sizeof stamp, NULL);
        if (rc != POSTAGE_OK)
            die("postage_mint (a stamp to check)", rc);
        snprintf(kind, sizeof kind, p->passes == 1 ? "argon2id" : "argon2id-t%u", p->passes);

        struct postage_check_options o;
        verify_options(&o, max_memory);
        static const int reusing[] = { POSTAGE_A2ID_LIBARGON2, POSTAGE_A2ID_POSTAGE };
        for (size_t b = 0; b < sizeof reusing / sizeof reusing[0]; b++) {
            const char *name = postage_argon2id_backend_name(reusing[b]);
            postage_argon2id_work *w;
            rc = postage_argon2id_work_new(&w, p, reusing[b]);
            if (rc != POSTAGE_OK)
                die("work area", rc);
            o.argon2id_work = w;
            verify_row(kind, p->memory, name, "reused", stamp, &o, POSTAGE_OK, seconds, 1);
            postage_argon2id_work_free(w);
            o.argon2id_work = NULL;
            o.argon2id_backend = reusing[b];
            verify_row(kind, p->memory, name, "fresh", stamp, &o, POSTAGE_OK, seconds, 1);
        }
        o.argon2id_backend = POSTAGE_A2ID_LIBSODIUM;
        verify_row(kind, p->memory, "libsodium", "fresh", stamp, &o, POSTAGE_OK, seconds, 1);
    }

    /* Out of bounds: 1 GiB claimed, refused on its parameters. */
    struct postage_check_options o;
    verify_options(&o, max_memory);
    struct postage_argon2id_params big = { o.argon2id_max.memory * 16u, 1, 1 };
    char ext[POSTAGE_A2ID_EXT_MAX], date[40], stamp[POSTAGE_MINT_STAMP_SIZE];
    time_t t = (time_t) STAMP_TIME;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(date, sizeof date, "%02d%02d%02d", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday);
    if (postage_argon2id_ext_format(&big, ext, sizeof ext) != POSTAGE_OK)
        die("ext", POSTAGE_ERR_INVALID);
    snprintf(stamp, sizeof stamp, "1:8:%s:%s:%s:bEnChOuToFbOuNdS:0", date, RESOURCE, ext);
    verify_row("argon2id-params-refused", big.memory, "none", "none", stamp, &o,
               POSTAGE_ERR_PARAMS, seconds / 4, 256);

    /* SHA-1 at 20 bits, for comparison. */
    struct postage_mint_options mo;
    postage_mint_options_init(&mo, STAMP_TIME);
    mo.bits = 20;
    mo.threads = threads;
    int rc = postage_mint(RESOURCE, &mo, stamp, sizeof stamp, NULL);
    if (rc != POSTAGE_OK)
        die("postage_mint (SHA-1)", rc);
    o.required_bits = 20;
    verify_row("sha1", 0, "none", "none", stamp, &o, POSTAGE_OK, seconds / 4, 256);
    return 0;
}

/* --- info ------------------------------------------------------------------- */

static int
run_info(void)
{
    const struct postage_argon2id_params p = { 64, 1, 1 };
    printf("key\tvalue\n");
    printf("auto\t%s\n", postage_argon2id_backend_name(resolve_backend(POSTAGE_A2ID_AUTO, &p)));
    printf("postage_kernel\t%s\n", argon2_kernel_default()->name);
    return 0;
}

/* --- main ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
    struct size_spec sizes[MAX_SIZES];
    int nsizes = 0;
    double seconds = -1, level_seconds = 3, total_seconds = 50;
    unsigned min_count = 10, max_count = 200, bits = 2, passes = 1, repeat = 3;
    int backend = POSTAGE_A2ID_AUTO;
    const char *sizes_arg = NULL, *levels_arg = NULL;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = online > 0 ? (unsigned) online : 1;

    if (argc < 2)
        return usage();
    const char *mode = argv[1];
    if (strcmp(mode, "info") == 0)
        return argc == 2 ? run_info() : usage();
    if (strcmp(mode, "rates") != 0 && strcmp(mode, "mints") != 0 && strcmp(mode, "verify") != 0)
        return usage();
    for (int a = 2; a < argc; a++) {
        const char *opt = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;
        if (val == NULL)
            return usage();
        a++;
        if (strcmp(opt, "--sizes") == 0)
            sizes_arg = val;
        else if (strcmp(opt, "--levels") == 0)
            levels_arg = val;
        else if (strcmp(opt, "--seconds") == 0)
            seconds = atof(val);
        else if (strcmp(opt, "--level-seconds") == 0)
            level_seconds = atof(val);
        else if (strcmp(opt, "--total-seconds") == 0)
            total_seconds = atof(val);
        else if (strcmp(opt, "--min-count") == 0)
            min_count = (unsigned) strtoul(val, NULL, 10);
        else if (strcmp(opt, "--max-count") == 0)
            max_count = (unsigned) strtoul(val, NULL, 10);
        else if (strcmp(opt, "--threads") == 0)
            threads = (unsigned) strtoul(val, NULL, 10);
        else if (strcmp(opt, "--bits") == 0)
            bits = (unsigned) strtoul(val, NULL, 10);
        else if (strcmp(opt, "--repeat") == 0)
            repeat = (unsigned) strtoul(val, NULL, 10);
        else if (strcmp(opt, "--passes") == 0)
            passes = (unsigned) strtoul(val, NULL, 10);
        else if (strcmp(opt, "--backend") == 0) {
            backend = postage_argon2id_backend_parse(val);
            if (backend < 0)
                return usage();
        } else
            return usage();
    }
    if (seconds < 0)
        seconds = strcmp(mode, "verify") == 0 ? 1 : 0.5;
    if (!(seconds >= 0.01 && seconds <= 60) || threads < 1 || threads > 256 || bits > 12 ||
        passes < 1 || passes > 100 || repeat < 1 || repeat > MAX_REPEAT || min_count < 1 || max_count < min_count ||
        !(level_seconds >= 0) || !(total_seconds >= 0))
        return fprintf(stderr, "argon2id_curve: an option is out of range\n"), usage();

    if (strcmp(mode, "mints") == 0) {
        if (parse_levels(levels_arg ? levels_arg : "64=4,6,8,10/1024=2,4,6,8/16384=1,2,3,4/65536=1,2,3",
                         passes, sizes, &nsizes) != 0)
            return fprintf(stderr, "argon2id_curve: bad --levels\n"), usage();
        return run_mints(sizes, nsizes, threads, backend, min_count, max_count, level_seconds,
                         total_seconds);
    }
    if (parse_sizes(sizes_arg ? sizes_arg : "64,1024,16384,65536,65536:3", sizes, &nsizes) != 0)
        return fprintf(stderr, "argon2id_curve: bad --sizes\n"), usage();
    if (strcmp(mode, "rates") == 0)
        return run_rates(sizes, nsizes, seconds, threads, repeat);
    return run_verify(sizes, nsizes, seconds, threads, bits);
}
