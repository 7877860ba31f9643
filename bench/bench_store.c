/*
 * bench_store.c - how fast stamps are checked with a double-spend store,
 * as a function of how many stamps the store already holds.
 *
 * For each size N: a fresh LMDB store in a temporary directory is preloaded
 * with N distinct stamps (spent with POSTAGE_STORE_NOSYNC, as a bulk load
 * would be), then M fresh stamps go through the whole library path,
 * postage_check() with the store: parse, SHA-1, date window, spend.  This
 * is done once with the default (synchronous) store and once with
 * POSTAGE_STORE_NOSYNC, plus a row without a store as the baseline.
 * Stamps claim 0 bits so that no time goes into minting them; the check
 * still hashes each one.  The clock is pinned to the stamps' date.
 *
 * Usage: bench_store [--quick] [--sizes a,b,c] [--checks M] [--sync-checks M]
 *                    [--settle SECONDS]
 * --settle waits after each preload before timing (default 30 s, 0 with
 * --quick): right after a bulk load of a million entries the disk is still
 * absorbing it, and synchronous spends measured then were ten times slower
 * than in the steady state this benchmark is about.
 * The store lives under $TMPDIR (or /tmp): point it at the disk to measure.
 * This is a measuring tool, not a test; figures depend on the machine.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postage/clock.h"
#include "postage/status.h"
#include "postage/store.h"
#include "postage/verify.h"

#define MAX_SIZES 16

/* 2026-11-27 00:00:00 UTC, the DATE every bench stamp carries. */
#define STAMP_DATE "261127"

static double
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void) sb;
    (void) type;
    (void) ftw;
    return remove(path);
}

/* A valid-looking 0-bit stamp, unique for (run, i): RAND carries the run
 * and a per-process tag, COUNTER the index, both in the hashcash alphabet. */
static size_t
make_stamp(char *buf, size_t size, unsigned long tag, unsigned run, unsigned long i)
{
    static const char b64[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";
    char rnd[17], ctr[12];
    unsigned long t = (tag * 131u + run) & 0x3ffffff;
    int k;

    for (k = 0; k < 16; k++) {
        rnd[k] = b64[t & 63];
        t = (t >> 6) | ((t & 63) << 20);   /* spread tag and run over RAND */
        t ^= (unsigned long) k * 2654435761u;
        t &= 0x3ffffff;
    }
    rnd[16] = '\0';
    for (k = 0; k < 11; k++) {
        ctr[10 - k] = b64[i & 63];
        i >>= 6;
    }
    ctr[11] = '\0';
    return (size_t) snprintf(buf, size, "1:0:" STAMP_DATE ":bench@example.org::%s:%s", rnd, ctr);
}

static void
die(const char *what, int rc, const postage_store *s)
{
    fprintf(stderr, "bench_store: %s: %s%s%s\n", what, postage_strerror(rc),
            s ? ": " : "", s ? postage_store_error(s) : "");
    exit(1);
}

static postage_store *
open_store(const char *dir, unsigned flags)
{
    postage_store *s;
    char err[POSTAGE_STORE_ERRLEN];
    int rc = postage_store_open(dir, flags, &s, err, sizeof err);

    if (rc != POSTAGE_OK) {
        fprintf(stderr, "bench_store: open %s: %s\n", dir, err);
        exit(1);
    }
    return s;
}

/* Run m checks of fresh stamps; returns seconds taken. */
static double
run_checks(postage_store *s, int64_t now, unsigned long tag, unsigned run, unsigned long m)
{
    struct postage_check_options o;
    struct postage_check_result r;
    char buf[128];
    unsigned long i;
    double t0, t1;

    postage_check_options_init(&o, now);
    o.required_bits = 0;
    o.store = s;
    t0 = now_seconds();
    for (i = 0; i < m; i++) {
        size_t len = make_stamp(buf, sizeof buf, tag, run, i);
        int rc = postage_check(buf, len, &o, &r);

        if (rc != POSTAGE_OK)
            die("check of a fresh stamp", rc, s);
    }
    t1 = now_seconds();
    return t1 - t0;
}

static void
row(unsigned long n, const char *mode, unsigned long m, double secs)
{
    printf("%10lu  %-8s %8lu %9.3f %12.0f %10.2f\n", n, mode, m, secs,
           secs > 0 ? (double) m / secs : 0.0, secs * 1e6 / (double) m);
    fflush(stdout);
}

static int
parse_sizes(const char *arg, unsigned long *sizes, int *count)
{
    char *end;

    *count = 0;
    while (*arg != '\0') {
        if (*count == MAX_SIZES || *arg < '0' || *arg > '9')
            return -1;
        errno = 0;
        sizes[(*count)++] = strtoul(arg, &end, 10);
        if (errno != 0 || (*end != ',' && *end != '\0'))
            return -1;
        arg = *end == ',' ? end + 1 : end;
    }
    return *count > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    unsigned long sizes[MAX_SIZES] = { 0, 100000, 1000000 };
    int nsizes = 3, a, k;
    unsigned long checks = 50000, sync_checks = 2000, settle = 30;
    const char *base = getenv("TMPDIR");
    unsigned long tag = (unsigned long) time(NULL);
    int64_t now = postage_utc_from_fields(2026, 11, 27, 0, 0, 0);

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0) {
            sizes[0] = 0;
            sizes[1] = 1000;
            nsizes = 2;
            checks = 2000;
            sync_checks = 100;
            settle = 0;
        } else if (strcmp(argv[a], "--sizes") == 0 && a + 1 < argc) {
            if (parse_sizes(argv[++a], sizes, &nsizes) != 0) {
                fprintf(stderr, "bench_store: bad --sizes list: %s\n", argv[a]);
                return 2;
            }
        } else if (strcmp(argv[a], "--checks") == 0 && a + 1 < argc) {
            checks = strtoul(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--settle") == 0 && a + 1 < argc) {
            settle = strtoul(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--sync-checks") == 0 && a + 1 < argc) {
            sync_checks = strtoul(argv[++a], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--sizes a,b,c] [--checks M] "
                    "[--sync-checks M] [--settle SECONDS]\n", argv[0]);
            return 2;
        }
    }
    if (checks == 0 || sync_checks == 0) {
        fprintf(stderr, "bench_store: --checks and --sync-checks must be positive\n");
        return 2;
    }
    if (base == NULL || base[0] == '\0')
        base = "/tmp";

    printf("postage_check() with an LMDB store; 0-bit stamps; store under %s; "
           "%lu s settle after each preload\n", base, settle);
    printf("%10s  %-8s %8s %9s %12s %10s\n", "stored", "mode", "checks", "seconds",
           "checks/s", "us/check");
    row(0, "no-store", checks, run_checks(NULL, now, tag, 900, checks));

    for (k = 0; k < nsizes; k++) {
        char dir[4096];
        postage_store *s;
        unsigned long i;
        char buf[128];
        uint64_t n;
        int rc;

        snprintf(dir, sizeof dir, "%s/bench_store.XXXXXX", base);
        if (mkdtemp(dir) == NULL) {
            fprintf(stderr, "bench_store: mkdtemp %s: %s\n", dir, strerror(errno));
            return 1;
        }
        /* Preload, outside the timed part. */
        s = open_store(dir, POSTAGE_STORE_NOSYNC);
        for (i = 0; i < sizes[k]; i++) {
            size_t len = make_stamp(buf, sizeof buf, tag, 1000 + (unsigned) k, i);

            rc = postage_store_spend(s, buf, len, now + POSTAGE_DEFAULT_VALIDITY);
            if (rc != POSTAGE_OK)
                die("preload", rc, s);
        }
        postage_store_close(s);
        if (settle > 0 && sizes[k] > 0)
            sleep((unsigned) settle);

        s = open_store(dir, 0);
        row(sizes[k], "sync", sync_checks, run_checks(s, now, tag, 2000 + (unsigned) k, sync_checks));
        postage_store_close(s);

        s = open_store(dir, POSTAGE_STORE_NOSYNC);
        row(sizes[k], "nosync", checks, run_checks(s, now, tag, 3000 + (unsigned) k, checks));
        /* Sanity: the preload is still there and still refuses replays. */
        if (sizes[k] > 0) {
            struct postage_check_options o;
            size_t len = make_stamp(buf, sizeof buf, tag, 1000 + (unsigned) k, sizes[k] / 2);

            postage_check_options_init(&o, now);
            o.required_bits = 0;
            o.store = s;
            rc = postage_check(buf, len, &o, NULL);
            if (rc != POSTAGE_ERR_SPENT)
                die("replay of a preloaded stamp was not refused", rc, s);
        }
        rc = postage_store_count(s, &n);
        if (rc != POSTAGE_OK)
            die("count", rc, s);
        if (n != sizes[k] + sync_checks + checks) {
            fprintf(stderr, "bench_store: store holds %llu entries, expected %lu\n",
                    (unsigned long long) n, sizes[k] + sync_checks + checks);
            return 1;
        }
        postage_store_close(s);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    return 0;
}
