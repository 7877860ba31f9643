/*
 * verify_curve.c - the verifier's cost curve: verify+spend per second
 * against the number of stamps the double-spend store already holds, for
 * any store specification (LMDB, Redis), for bench/report.sh.
 *
 *   verify_curve SPEC --sizes 0,1000,... [--checks M] [--sync-checks M]
 *                [--fill-pipe CMD] [--hook CMD] [--label NAME]
 *
 * The store is filled in steps, smallest size first, with distinct 0-bit
 * stamps, and at each size M fresh stamps go through the whole library
 * path, postage_check() with the store (parse, SHA-1, date window, spend),
 * one at a time; their latencies give p50 and p99.  Prints one TSV row per
 * measurement:
 *
 *   label  size  stored  mode  checks  seconds  checks_per_s  p50_us  p99_us
 *
 * size: the --sizes figure; stored: the entries before the measurement
 * (the size plus the fresh stamps of the earlier measurements).
 *
 * mode "nosync": the store opened with POSTAGE_STORE_NOSYNC (LMDB: no
 * fsync per spend; Redis ignores it: "net"); mode "sync": opened with the
 * default flags, each spend fsynced (LMDB only, --sync-checks of them).
 *
 * Filling: through the library (postage_store_spend, no fsync: about
 * 30,000 a second, too slow for millions), or in bulk: --fill-pipe CMD
 * writes Redis commands for "redis-cli -p PORT --pipe", SET <prefix>s:
 * <SHA-256 of the stamp> 1 NX EXAT <expiry + 7 days>, the layout
 * verify/store_redis.c documents; --fill-lmdb writes straight into the
 * LMDB environment, 100,000 puts a transaction, in the layout
 * verify/store_lmdb.c documents (database "spent", key the SHA-256, value
 * the expiry as a big-endian int64).  Either way a filled stamp must then
 * be reported spent by the library, so a layout that drifted is caught,
 * not measured.
 * --budget SECONDS: stop (with a note on stderr) before a size whose fill
 * and measurement would end past SECONDS from the start, judged from the
 * fill rate seen so far.
 * --hook CMD runs CMD (sh -c) after each size with the store closed and
 * VC_SIZE=<the size> and VC_STORED=<entries> in the environment
 * (report.sh times postage-verify processes there).
 *
 * Stamps are dated 2026-11-27 and the clock is pinned to that day.  A
 * measuring tool, not a test: it asserts correctness, never a time.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "postage/clock.h"
#include "postage/status.h"
#include "postage/store.h"
#include "postage/verify.h"

#define MAX_SIZES 32
#define STAMP_DATE "261127"
#define T_STAMP INT64_C(1795737600)          /* 2026-11-27 00:00:00 UTC */
#define REDIS_GRACE INT64_C(604800)          /* store_redis.c's default grace */

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "verify_curve: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static size_t
fill_stamp(char *buf, size_t size, unsigned long tag, unsigned long i)
{
    return (size_t) snprintf(buf, size, "1:0:" STAMP_DATE ":fill@bench.invalid::f%lx:%lx", tag, i);
}

static size_t
check_stamp(char *buf, size_t size, unsigned long tag, unsigned run, unsigned long i)
{
    return (size_t) snprintf(buf, size, "1:0:" STAMP_DATE ":bench@example.org::c%lxr%u:%lx", tag,
                             run, i);
}

static postage_store *
open_store(const char *spec, unsigned flags)
{
    postage_store *s;
    char err[POSTAGE_STORE_ERRLEN];
    if (postage_store_open(spec, flags, &s, err, sizeof err) != POSTAGE_OK)
        die("cannot open the store: %s", err);
    return s;
}

/* The Redis key prefix of a redis:// specification (default "postage:"). */
static void
redis_prefix(const char *spec, char *out, size_t size)
{
    const char *q = strchr(spec, '?');
    snprintf(out, size, "postage:");
    while (q != NULL) {
        q++;
        if (strncmp(q, "prefix=", 7) == 0) {
            size_t n = strcspn(q + 7, "&");
            snprintf(out, size, "%.*s", (int) n, q + 7);
            return;
        }
        q = strchr(q, '&');
    }
}

static void
fill_library(const char *spec, unsigned long tag, unsigned long from, unsigned long to)
{
    postage_store *s = open_store(spec, POSTAGE_STORE_NOSYNC);
    char buf[128];
    for (unsigned long i = from; i < to; i++) {
        size_t len = fill_stamp(buf, sizeof buf, tag, i);
        int rc = postage_store_spend(s, buf, len, T_STAMP + POSTAGE_DEFAULT_VALIDITY);
        if (rc != POSTAGE_OK)
            die("fill: %s: %s", postage_strerror(rc), postage_store_error(s));
    }
    postage_store_close(s);
}

/* Fill through a pipe in the Redis protocol (RESP), for
 * "redis-cli -p PORT --pipe". */
static void
fill_pipe(const char *cmd, const char *prefix, unsigned long tag, unsigned long from,
          unsigned long to)
{
    char buf[128], at[32];
    unsigned char key[crypto_hash_sha256_BYTES];
    size_t plen = strlen(prefix);
    FILE *p = popen(cmd, "w");
    if (p == NULL)
        die("cannot run %s: %s", cmd, strerror(errno));
    int atlen = snprintf(at, sizeof at, "%lld",
                         (long long) (T_STAMP + POSTAGE_DEFAULT_VALIDITY + REDIS_GRACE));
    for (unsigned long i = from; i < to; i++) {
        size_t len = fill_stamp(buf, sizeof buf, tag, i);
        crypto_hash_sha256(key, (const unsigned char *) buf, len);
        fprintf(p, "*6\r\n$3\r\nSET\r\n$%zu\r\n%s", plen + 2 + sizeof key, prefix);
        fwrite("s:", 1, 2, p);
        fwrite(key, 1, sizeof key, p);
        fprintf(p, "\r\n$1\r\n1\r\n$2\r\nNX\r\n$4\r\nEXAT\r\n$%d\r\n%s\r\n", atlen, at);
    }
    int st = pclose(p);
    if (st != 0)
        die("%s failed (status %d)", cmd, st);
}

/* Fill an LMDB store directly, 100,000 puts a transaction without fsync
 * (the library commits each spend on its own: about 30,000 a second,
 * too slow for millions). */
static void
fill_lmdb(const char *dir, unsigned long tag, unsigned long from, unsigned long to)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    char buf[128];
    unsigned char key[crypto_hash_sha256_BYTES], val[8];
    int64_t expires = T_STAMP + POSTAGE_DEFAULT_VALIDITY;
    int rc;

    for (int k = 0; k < 8; k++)
        val[k] = (unsigned char) ((uint64_t) expires >> (56 - 8 * k));
    if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, 4)) != 0 ||
        (rc = mdb_env_set_mapsize(env, (size_t) 1 << 34)) != 0 ||
        (rc = mdb_env_open(env, dir, MDB_NOSYNC, 0600)) != 0)
        die("lmdb fill: opening %s: %s", dir, mdb_strerror(rc));
    unsigned long i = from;
    while (i < to) {
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
            (rc = mdb_dbi_open(txn, "spent", MDB_CREATE, &dbi)) != 0)
            die("lmdb fill: %s", mdb_strerror(rc));
        for (unsigned long n = 0; i < to && n < 100000; i++, n++) {
            size_t len = fill_stamp(buf, sizeof buf, tag, i);
            crypto_hash_sha256(key, (const unsigned char *) buf, len);
            MDB_val k = { sizeof key, key }, v = { sizeof val, val };
            if ((rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE)) != 0)
                die("lmdb fill: put: %s", mdb_strerror(rc));
        }
        if ((rc = mdb_txn_commit(txn)) != 0)
            die("lmdb fill: commit: %s", mdb_strerror(rc));
    }
    mdb_env_sync(env, 1);
    mdb_env_close(env);
}

static int
by_value(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* M checks of fresh stamps; one TSV row. */
static void
measure(const char *label, const char *spec, unsigned flags, const char *mode, unsigned long size,
        unsigned long stored, unsigned long tag, unsigned run, unsigned long m)
{
    postage_store *s = open_store(spec, flags);
    struct postage_check_options o;
    struct postage_check_result r;
    char buf[128];
    double *lat = malloc(m * sizeof *lat);
    if (lat == NULL)
        die("out of memory");
    postage_check_options_init(&o, T_STAMP + 3600);
    o.required_bits = 0;
    o.store = s;
    double t0 = now_seconds();
    for (unsigned long i = 0; i < m; i++) {
        size_t len = check_stamp(buf, sizeof buf, tag, run, i);
        double a = now_seconds();
        int rc = postage_check(buf, len, &o, &r);
        lat[i] = now_seconds() - a;
        if (rc != POSTAGE_OK)
            die("a fresh stamp was not accepted: %s: %s", postage_strerror(rc),
                postage_store_error(s));
    }
    double secs = now_seconds() - t0;
    postage_store_close(s);
    qsort(lat, m, sizeof *lat, by_value);
    size_t i99 = (size_t) ((double) m * 0.99);
    if (i99 >= m)
        i99 = m - 1;
    printf("%s\t%lu\t%lu\t%s\t%lu\t%.4f\t%.0f\t%.1f\t%.1f\n", label, size, stored, mode, m, secs,
           secs > 0 ? (double) m / secs : 0.0, lat[m / 2] * 1e6, lat[i99] * 1e6);
    fflush(stdout);
    free(lat);
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
        if (*count > 1 && sizes[*count - 1] < sizes[*count - 2])
            return -1;
        arg = *end == ',' ? end + 1 : end;
    }
    return *count > 0 ? 0 : -1;
}

static int
usage(void)
{
    fprintf(stderr, "usage: verify_curve SPEC --sizes a,b,c [--checks M] [--sync-checks M]\n"
                    "                    [--fill-pipe CMD | --fill-lmdb] [--hook CMD]\n"
                    "                    [--label NAME] [--budget SECONDS]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    unsigned long sizes[MAX_SIZES];
    int nsizes = 0;
    unsigned long checks = 20000, sync_checks = 0;
    const char *spec = NULL, *pipe_cmd = NULL, *hook = NULL, *label = NULL;
    int lmdb_direct = 0;
    double budget = 0;

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--sizes") == 0 && a + 1 < argc) {
            if (parse_sizes(argv[++a], sizes, &nsizes) != 0) {
                fprintf(stderr, "verify_curve: --sizes wants ascending numbers: %s\n", argv[a]);
                return 2;
            }
        } else if (strcmp(argv[a], "--checks") == 0 && a + 1 < argc) {
            checks = strtoul(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--sync-checks") == 0 && a + 1 < argc) {
            sync_checks = strtoul(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--fill-pipe") == 0 && a + 1 < argc) {
            pipe_cmd = argv[++a];
        } else if (strcmp(argv[a], "--budget") == 0 && a + 1 < argc) {
            budget = atof(argv[++a]);
        } else if (strcmp(argv[a], "--fill-lmdb") == 0) {
            lmdb_direct = 1;
        } else if (strcmp(argv[a], "--hook") == 0 && a + 1 < argc) {
            hook = argv[++a];
        } else if (strcmp(argv[a], "--label") == 0 && a + 1 < argc) {
            label = argv[++a];
        } else if (argv[a][0] != '-' && spec == NULL) {
            spec = argv[a];
        } else {
            return usage();
        }
    }
    if (spec == NULL || nsizes == 0 || checks == 0)
        return usage();
    if (lmdb_direct && strncmp(spec, "lmdb:", 5) != 0) {
        fprintf(stderr, "verify_curve: --fill-lmdb needs an lmdb:DIR specification\n");
        return 2;
    }
    if (label == NULL)
        label = spec;
    if (sodium_init() < 0)
        die("libsodium failed to start");
    signal(SIGPIPE, SIG_IGN);

    int redis = strncmp(spec, "redis", 5) == 0;
    char prefix[256];
    redis_prefix(spec, prefix, sizeof prefix);
    unsigned long tag = (unsigned long) time(NULL) ^ ((unsigned long) getpid() << 20);
    unsigned long filled = 0, extra = 0;

    double started = now_seconds(), fill_rate = 0, measure_secs = 0;
    for (int k = 0; k < nsizes; k++) {
        /* The store holds filled + extra (earlier sizes' checks). */
        unsigned long want = sizes[k] > extra ? sizes[k] - extra : 0;
        if (budget > 0 && want > filled) {
            /* Would filling to this size and measuring overrun the budget? */
            double rate = fill_rate > 0 ? fill_rate : pipe_cmd ? 200000 : lmdb_direct ? 100000 : 20000;
            double need = (double) (want - filled) / rate + measure_secs;
            double spent = now_seconds() - started;
            if (spent + need > budget) {
                fprintf(stderr, "stopped before %lu stored: filling and measuring would take "
                        "about %.0f s more, %.0f s of the %.0f s allowed are spent\n", sizes[k],
                        need, spent, budget);
                break;
            }
        }
        if (want > filled) {
            double f0 = now_seconds();
            if (pipe_cmd != NULL)
                fill_pipe(pipe_cmd, prefix, tag, filled, want);
            else if (lmdb_direct)
                fill_lmdb(spec + 5, tag, filled, want);
            else
                fill_library(spec, tag, filled, want);
            double took = now_seconds() - f0;
            if (took > 0.5)
                fill_rate = (double) (want - filled) / took;
            filled = want;
        }
        double m0 = now_seconds();
        if (filled > 0) {   /* the fill really is in the store */
            char buf[128];
            postage_store *s = open_store(spec, 0);
            size_t len = fill_stamp(buf, sizeof buf, tag, filled / 2);
            int rc = postage_store_is_spent(s, buf, len);
            postage_store_close(s);
            if (rc != POSTAGE_ERR_SPENT)
                die("a filled stamp is not reported spent (%s): the fill does not match "
                    "the store's layout", postage_strerror(rc));
        }
        unsigned long stored = filled + extra;
        measure(label, spec, POSTAGE_STORE_NOSYNC, redis ? "net" : "nosync", sizes[k], stored, tag,
                (unsigned) (2 * k), checks);
        extra += checks;
        if (sync_checks > 0 && !redis) {
            measure(label, spec, 0, "sync", sizes[k], stored + checks, tag, (unsigned) (2 * k + 1),
                    sync_checks);
            extra += sync_checks;
        }
        measure_secs = now_seconds() - m0;
        if (hook != NULL) {
            char env[64];
            snprintf(env, sizeof env, "%lu", filled + extra);
            setenv("VC_STORED", env, 1);
            snprintf(env, sizeof env, "%lu", sizes[k]);
            setenv("VC_SIZE", env, 1);
            fflush(stdout);
            if (system(hook) != 0)
                die("the hook failed: %s", hook);
        }
    }
    return 0;
}
