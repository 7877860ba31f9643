/*
 * calibration.c - the device profile (calibration.h).  A profile is written
 * to a temporary file and renamed, so a reader never sees half of one; a
 * damaged profile is reported with its line, and postage-sendmail simply
 * measures again.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"
#include "mint/calibration.h"
#include "postage.h"

static unsigned
online_cpus(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (unsigned) online : 1;
}

static unsigned
all_threads(unsigned threads)
{
    unsigned t = threads ? threads : online_cpus();
    return t > PROFILE_MAX_THREADS ? PROFILE_MAX_THREADS : t;
}

void
calibration_path(char *out, size_t size)
{
    const char *env = getenv("POSTAGE_PROFILE");
    const char *old = getenv("POSTAGE_RATE_CACHE");
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (env != NULL && env[0] == '/')
        snprintf(out, size, "%s", env);
    else if (old != NULL && old[0] == '/')
        snprintf(out, size, "%s", old);
    else if (xdg != NULL && xdg[0] == '/')
        snprintf(out, size, "%s/postage/device-profile", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(out, size, "%s/.config/postage/device-profile", home);
    else
        snprintf(out, size, "/tmp/postage-device-profile-%ld", (long) geteuid());
}

void
calibration_cpu_model(char *out, size_t size)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(out, size, "unknown CPU");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        /* x86 says "model name", some ARM kernels "Model" or nothing. */
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Model", 5) == 0) {
            char *colon = strchr(line, ':');
            if (colon != NULL) {
                /* trimmed, as profile_load reads it back */
                colon++;
                while (*colon == ' ' || *colon == '\t')
                    colon++;
                colon[strcspn(colon, "\n")] = '\0';
                for (char *e = colon + strlen(colon); e > colon && (e[-1] == ' ' || e[-1] == '\t');)
                    *--e = '\0';
                if (*colon != '\0')
                    snprintf(out, size, "%s", colon);
                break;
            }
        }
    }
    fclose(f);
}

/* ---- reading ---------------------------------------------------------- */

static int
damaged(char *err, size_t errlen, const char *path, unsigned line, const char *why)
{
    if (line > 0)
        snprintf(err, errlen, "%s, line %u: %s", path, line, why);
    else
        snprintf(err, errlen, "%s: %s", path, why);
    return PROFILE_DAMAGED;
}

/* A positive finite rate below 10^15 trials/s (a million GPUs). */
static int
parse_rate(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == text || *end != '\0' || errno != 0 || !(v >= 1 && v < 1e15))
        return -1;
    *out = v;
    return 0;
}

static int
parse_uint(const char *text, unsigned max, unsigned *out)
{
    char *end;
    if (!isdigit((unsigned char) text[0]))
        return -1;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0' || errno != 0 || v > max)
        return -1;
    *out = (unsigned) v;
    return 0;
}

/* "MEMORY PASSES LANES BACKEND THREADS RATE" into the next free slot;
 * lines past PROFILE_A2ID_MAX are dropped (a later measurement wins). */
static int
parse_argon2id_line(const char *val, struct device_profile *p)
{
    char backend[16], rest[8];
    unsigned long m, t, l;
    unsigned threads;
    double rate;
    if (sscanf(val, "%lu %lu %lu %15s %u %lf %7s", &m, &t, &l, backend, &threads, &rate,
               rest) != 6)
        return -1;
    struct postage_argon2id_params params = { (uint32_t) m, (uint32_t) t, (uint32_t) l };
    char ext[POSTAGE_A2ID_EXT_MAX];
    int b = postage_argon2id_backend_parse(backend);
    if (m > UINT32_MAX || t > UINT32_MAX || l > UINT32_MAX ||
        postage_argon2id_ext_format(&params, ext, sizeof ext) != POSTAGE_OK ||
        (b != POSTAGE_A2ID_LIBSODIUM && b != POSTAGE_A2ID_LIBARGON2 &&
         b != POSTAGE_A2ID_POSTAGE) || threads == 0 ||
        threads > PROFILE_MAX_THREADS || !(rate > 0) || rate > 1e12)
        return -1;
    if (p->argon2id_count < PROFILE_A2ID_MAX)
        p->argon2id[p->argon2id_count++] = (struct profile_argon2id) {
            params.memory, params.passes, params.lanes, b, threads, rate };
    return 0;
}

int
profile_load(const char *path, struct device_profile *p, char *err, size_t errlen)
{
    char line[512];
    unsigned n = 0, rates = 0;
    int header = 0, have_kernel = 0, have_date = 0;
    FILE *f = fopen(path, "r");

    memset(p, 0, sizeof *p);
    if (f == NULL) {
        if (errno == ENOENT || errno == ENOTDIR) {
            snprintf(err, errlen, "%s: no such file", path);
            return PROFILE_MISSING;
        }
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return PROFILE_DAMAGED;
    }
    int rc = PROFILE_OK;
    while (rc == PROFILE_OK && fgets(line, sizeof line, f) != NULL) {
        n++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = damaged(err, errlen, path, n, "line too long");
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        char *key = s;
        s += strcspn(s, " \t");
        if (*s != '\0')
            *s++ = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        char *val = s;
        /* trailing blanks */
        for (char *e = val + strlen(val); e > val && (e[-1] == ' ' || e[-1] == '\t'); e--)
            e[-1] = '\0';

        if (!header) {
            unsigned v;
            if (strcmp(key, "postage-device-profile") != 0)
                rc = damaged(err, errlen, path, n,
                             "not a postage device profile (the first line must be "
                             "\"postage-device-profile 1\")");
            else if (parse_uint(val, 1000, &v) != 0 || v != PROFILE_FORMAT_VERSION)
                rc = damaged(err, errlen, path, n, "a profile format this version cannot read");
            header = 1;
        } else if (strcmp(key, "cpu") == 0) {
            snprintf(p->cpu, sizeof p->cpu, "%s", val);
        } else if (strcmp(key, "kernel") == 0) {
            if (val[0] == '\0' || strlen(val) >= sizeof p->kernel || strpbrk(val, " \t") != NULL)
                rc = damaged(err, errlen, path, n, "bad kernel name");
            snprintf(p->kernel, sizeof p->kernel, "%s", val);
            have_kernel = 1;
        } else if (strcmp(key, "cpus") == 0) {
            if (parse_uint(val, 1u << 20, &p->cpus) != 0 || p->cpus == 0)
                rc = damaged(err, errlen, path, n, "bad number of CPUs");
        } else if (strcmp(key, "measured") == 0) {
            int y, mo, d, h, mi, se;
            char z = 0;
            if (sscanf(val, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 ||
                z != 'Z' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
                mi > 59 || se > 60)
                rc = damaged(err, errlen, path, n, "bad date (want YYYY-MM-DDThh:mm:ssZ)");
            else
                p->measured_at = postage_utc_from_fields(y, mo, d, h, mi, se);
            have_date = 1;
        } else if (strcmp(key, "rate_per_thread") == 0) {
            if (parse_rate(val, &p->rate_per_thread) != 0)
                rc = damaged(err, errlen, path, n, "bad rate_per_thread");
        } else if (strcmp(key, "rate") == 0) {
            char *sp = val + strcspn(val, " \t");
            unsigned t;
            double r;
            if (*sp == '\0') {
                rc = damaged(err, errlen, path, n, "rate needs THREADS and TRIALS_PER_SECOND");
                break;
            }
            *sp++ = '\0';
            while (*sp == ' ' || *sp == '\t')
                sp++;
            if (parse_uint(val, PROFILE_MAX_THREADS, &t) != 0 || t == 0 ||
                parse_rate(sp, &r) != 0)
                rc = damaged(err, errlen, path, n, "bad rate line (want: rate THREADS TRIALS_PER_SECOND)");
            else {
                p->rate[t] = r;
                rates++;
            }
        } else if (strcmp(key, "argon2id") == 0) {
            if (parse_argon2id_line(val, p) != 0)
                rc = damaged(err, errlen, path, n,
                             "bad argon2id line (want: argon2id MEMORY PASSES LANES "
                             "BACKEND THREADS RATE)");
        }
        /* any other key: a later version's; ignored */
    }
    if (rc == PROFILE_OK && ferror(f))
        rc = damaged(err, errlen, path, 0, strerror(errno));
    fclose(f);
    if (rc != PROFILE_OK)
        return rc;
    if (!header)
        return damaged(err, errlen, path, 0, "empty");
    if (!have_kernel)
        return damaged(err, errlen, path, 0, "no kernel line");
    if (!have_date)
        return damaged(err, errlen, path, 0, "no measured line");
    if (rates == 0)
        return damaged(err, errlen, path, 0, "no rate line");
    if (p->rate_per_thread == 0 && p->rate[1] > 0)
        p->rate_per_thread = p->rate[1];
    if (p->cpus == 0)
        p->cpus = 1;
    return PROFILE_OK;
}

int
profile_find(char *path, size_t pathlen, struct device_profile *p, char *err, size_t errlen)
{
    calibration_path(path, pathlen);
    int rc = profile_load(path, p, err, errlen);
    const char *env = getenv("POSTAGE_PROFILE"), *old = getenv("POSTAGE_RATE_CACHE");
    if (rc != PROFILE_MISSING || (env != NULL && env[0] == '/') || (old != NULL && old[0] == '/'))
        return rc;
    char user[4096];
    snprintf(user, sizeof user, "%s", path);
    rc = profile_load(PROFILE_SYSTEM_PATH, p, err, errlen);
    if (rc == PROFILE_MISSING) {
        snprintf(path, pathlen, "%s", user);
        snprintf(err, errlen, "looked for %s and %s", user,
                 PROFILE_SYSTEM_PATH);
        return PROFILE_MISSING;
    }
    snprintf(path, pathlen, "%s", PROFILE_SYSTEM_PATH);
    return rc;
}

/* ---- writing ---------------------------------------------------------- */

/* mkdir -p of the file's directory; a failure shows when the file is
 * written. */
static void
make_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return;
    *slash = '\0';
    cli_mkdir_parents(dir, 0755);
}

int
profile_save(const char *path, const struct device_profile *p, char *err, size_t errlen)
{
    char tmp[4200], date[21] = "1970-01-01T00:00:00Z";
    make_parent(path);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long) getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    postage_time_rfc3339(p->measured_at, date);
    fprintf(f, "postage-device-profile %d\n", PROFILE_FORMAT_VERSION);
    fprintf(f, "# How fast this device mints Hashcash stamps, measured by postage-mint.\n"
               "# postage-mint --budget and postage-sendmail's time_budget read it;\n"
               "# postage-mint --calibrate measures it again.  See postage-mint(1).\n");
    fprintf(f, "cpu %s\n", p->cpu[0] ? p->cpu : "unknown CPU");
    fprintf(f, "kernel %s\n", p->kernel);
    fprintf(f, "cpus %u\n", p->cpus ? p->cpus : 1);
    fprintf(f, "measured %s\n", date);
    double per = p->rate[1] > 0 ? p->rate[1] : p->rate_per_thread;
    if (per > 0)
        fprintf(f, "rate_per_thread %.0f\n", per);
    fprintf(f, "# rate THREADS TRIALS_PER_SECOND\n");
    for (unsigned t = 1; t <= PROFILE_MAX_THREADS; t++)
        if (p->rate[t] > 0)
            fprintf(f, "rate %u %.0f\n", t, p->rate[t]);
    if (p->argon2id_count > 0)
        fprintf(f, "# argon2id MEMORY_KIB PASSES LANES BACKEND THREADS ATTEMPTS_PER_SECOND\n");
    for (size_t i = 0; i < p->argon2id_count; i++) {
        const struct profile_argon2id *a = &p->argon2id[i];
        fprintf(f, "argon2id %lu %lu %lu %s %u %.4g\n", (unsigned long) a->memory,
                (unsigned long) a->passes, (unsigned long) a->lanes,
                postage_argon2id_backend_name(a->backend), a->threads, a->rate);
    }
    int ok = !ferror(f);
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- measuring -------------------------------------------------------- */

int
profile_measure(struct device_profile *p, const char *kernel, unsigned max_threads,
                double seconds, int64_t now)
{
    unsigned top = all_threads(max_threads);
    memset(p, 0, sizeof *p);
    calibration_cpu_model(p->cpu, sizeof p->cpu);
    snprintf(p->kernel, sizeof p->kernel, "%s", kernel ? kernel : postage_kernel_default());
    p->cpus = online_cpus();
    p->measured_at = now;
    for (unsigned t = 1;; t = t * 2 > top && t < top ? top : t * 2) {
        double r = 0;
        int rc = postage_mint_rate(p->kernel, t, seconds, &r);
        if (rc != POSTAGE_OK)
            return rc;
        if (!(r >= 1))
            return POSTAGE_ERR_INTERNAL;
        p->rate[t] = r;
        if (t >= top)
            break;
    }
    p->rate_per_thread = p->rate[1];
    return POSTAGE_OK;
}

double
profile_rate(const struct device_profile *p, unsigned threads)
{
    unsigned t = all_threads(threads), lo = 0, hi = 0;
    if (p->rate[t] > 0)
        return p->rate[t];
    for (unsigned i = t; i >= 1; i--)
        if (p->rate[i] > 0) {
            lo = i;
            break;
        }
    for (unsigned i = t; i <= PROFILE_MAX_THREADS; i++)
        if (p->rate[i] > 0) {
            hi = i;
            break;
        }
    if (lo && hi)
        return p->rate[lo] + (p->rate[hi] - p->rate[lo]) * (double) (t - lo) / (double) (hi - lo);
    if (lo)   /* more threads than were measured: no faster */
        return p->rate[lo];
    if (hi)   /* fewer: in proportion */
        return p->rate[hi] * (double) t / (double) hi;
    return p->rate_per_thread > 0 ? p->rate_per_thread * (t < p->cpus ? t : p->cpus) : 0;
}

/* ---- the p95 rule ----------------------------------------------------- */

double
calibration_mean_seconds(unsigned bits, double rate)
{
    return ldexp(1.0, (int) bits) / rate;
}

double
calibration_median_seconds(unsigned bits, double rate)
{
    return calibration_mean_seconds(bits, rate) * log(2.0);
}

double
calibration_p95_seconds(unsigned bits, double rate)
{
    return calibration_mean_seconds(bits, rate) * log(20.0);
}

unsigned
calibration_bits_within(double budget, double rate)
{
    unsigned bits = 0;
    if (!(rate > 0) || !(budget > 0))
        return 0;
    while (bits < PROFILE_BITS_MAX && calibration_p95_seconds(bits + 1, rate) <= budget)
        bits++;
    return bits;
}

int
calibration_parse_duration(const char *text, double *seconds)
{
    char *end;
    if (text == NULL || !(isdigit((unsigned char) text[0]) || text[0] == '.'))
        return -1;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0)
        return -1;
    double unit = 1;
    if (strcmp(end, "ms") == 0)
        unit = 1e-3;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        unit = 1;
    else if (strcmp(end, "m") == 0)
        unit = 60;
    else if (strcmp(end, "h") == 0)
        unit = 3600;
    else
        return -1;
    v *= unit;
    if (!(v > 0) || v > 1e9)
        return -1;
    *seconds = v;
    return 0;
}

/* ---- postage-sendmail and --speed -------------------------------------- */

/* Is @p a profile of @kernel on this CPU? */
static int
profile_is_here(const struct device_profile *p, const char *kernel)
{
    char cpu[sizeof p->cpu];
    calibration_cpu_model(cpu, sizeof cpu);
    return strcmp(p->kernel, kernel) == 0 && strcmp(p->cpu, cpu) == 0;
}

void
calibration_store(const char *kernel, unsigned threads, double rate, int64_t now)
{
    char path[4096], err[512];
    struct device_profile p;
    unsigned t = all_threads(threads);

    calibration_path(path, sizeof path);
    if (profile_load(path, &p, err, sizeof err) != PROFILE_OK || !profile_is_here(&p, kernel)) {
        memset(&p, 0, sizeof p);
        calibration_cpu_model(p.cpu, sizeof p.cpu);
        snprintf(p.kernel, sizeof p.kernel, "%s", kernel);
    }
    p.cpus = online_cpus();
    p.measured_at = now;
    p.rate[t] = rate;
    if (t == 1)
        p.rate_per_thread = rate;
    profile_save(path, &p, err, sizeof err);
}

int
calibration_rate(unsigned threads, double seconds, int64_t now, double *rate)
{
    char path[4096], err[512];
    const char *want = postage_kernel_default();
    struct device_profile p;
    double r = 0;

    if (want != NULL && profile_find(path, sizeof path, &p, err, sizeof err) == PROFILE_OK &&
        profile_is_here(&p, want)) {
        r = profile_rate(&p, threads);
        if (r >= 1) {
            *rate = r;
            return 0;
        }
    }
    if (postage_mint_rate(NULL, threads, seconds, &r) != POSTAGE_OK || !(r >= 1))
        return -1;
    calibration_store(want != NULL ? want : "default", threads, r, now);
    *rate = r;
    return 0;
}

/* ---- Argon2id ---------------------------------------------------------- */

static int
same_params(const struct profile_argon2id *a, uint32_t memory, uint32_t passes, uint32_t lanes)
{
    return a->memory == memory && a->passes == passes && a->lanes == lanes;
}

int
profile_measure_argon2id(struct device_profile *p, uint32_t memory, uint32_t passes,
                         uint32_t lanes, unsigned threads, double seconds)
{
    struct postage_argon2id_params params = { memory, passes, lanes };
    struct profile_argon2id fresh[4];   /* three backends, then all threads */
    size_t n = 0;
    unsigned top = all_threads(threads);
    int best = -1;

    for (int b = POSTAGE_A2ID_LIBSODIUM; b <= POSTAGE_A2ID_POSTAGE; b++) {
        double rate;
        if (b == POSTAGE_A2ID_LIBSODIUM && lanes != 1)
            continue;   /* libsodium computes one lane only */
        int rc = postage_mint_argon2id_rate(&params, b, 1, seconds, &rate);
        if (rc != POSTAGE_OK)
            return rc;
        fresh[n] = (struct profile_argon2id) { memory, passes, lanes, b, 1, rate };
        if (best < 0 || rate > fresh[best].rate)
            best = (int) n;
        n++;
    }
    if (top > 1) {
        double rate;
        int rc = postage_mint_argon2id_rate(&params, fresh[best].backend, top, seconds, &rate);
        if (rc != POSTAGE_OK)
            return rc;
        fresh[n++] = (struct profile_argon2id) { memory, passes, lanes, fresh[best].backend,
                                                 top, rate };
    }
    size_t kept = 0;
    for (size_t i = 0; i < p->argon2id_count; i++)
        if (!same_params(&p->argon2id[i], memory, passes, lanes))
            p->argon2id[kept++] = p->argon2id[i];
    p->argon2id_count = kept;
    for (size_t i = 0; i < n; i++) {
        if (p->argon2id_count == PROFILE_A2ID_MAX) {
            /* Full: the oldest parameters make room. */
            memmove(p->argon2id, p->argon2id + 1, (PROFILE_A2ID_MAX - 1) * sizeof *p->argon2id);
            p->argon2id_count--;
        }
        p->argon2id[p->argon2id_count++] = fresh[i];
    }
    return POSTAGE_OK;
}

int
profile_argon2id_rate(const struct device_profile *p, uint32_t memory, uint32_t passes,
                      uint32_t lanes, unsigned threads, int *backend, double *rate)
{
    /* The faster backend on one thread decides; its multi-thread lines
     * give the rate on @threads, interpolated as profile_rate() does. */
    const struct profile_argon2id *one = NULL;
    for (size_t i = 0; i < p->argon2id_count; i++) {
        const struct profile_argon2id *a = &p->argon2id[i];
        if (same_params(a, memory, passes, lanes) && a->threads == 1 &&
            (one == NULL || a->rate > one->rate))
            one = a;
    }
    if (one == NULL)
        return -1;
    struct device_profile rates;
    memset(&rates, 0, sizeof rates);
    snprintf(rates.kernel, sizeof rates.kernel, "argon2id");
    for (size_t i = 0; i < p->argon2id_count; i++) {
        const struct profile_argon2id *a = &p->argon2id[i];
        if (same_params(a, memory, passes, lanes) && a->backend == one->backend)
            rates.rate[a->threads] = a->rate;
    }
    *backend = one->backend;
    *rate = profile_rate(&rates, threads);
    return *rate > 0 ? 0 : -1;
}
