/*
 * calibration.c - the cached minting rate (calibration.h).  The cache is
 * written to a temporary file and renamed, so a reader never sees half a
 * line, and any damage is simply a reason to measure again.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mint/calibration.h"
#include "postage.h"

static unsigned
all_threads(unsigned threads)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return threads ? threads : (online > 0 ? (unsigned) online : 1);
}

void
calibration_path(char *out, size_t size)
{
    const char *env = getenv("POSTAGE_RATE_CACHE");
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (env != NULL && env[0] == '/')
        snprintf(out, size, "%s", env);
    else if (geteuid() == 0)
        snprintf(out, size, "/var/cache/postage/rate");
    else if (xdg != NULL && xdg[0] == '/')
        snprintf(out, size, "%s/postage/rate", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(out, size, "%s/.cache/postage/rate", home);
    else
        snprintf(out, size, "/tmp/postage-rate-%ld", (long) geteuid());
}

/* mkdir -p of the cache file's directory. */
static void
make_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return;
    *slash = '\0';
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(dir, 0755);
        *p = '/';
    }
    mkdir(dir, 0755);
}

void
calibration_store(const char *kernel, unsigned threads, double rate, int64_t now)
{
    char path[4096], tmp[4200];
    calibration_path(path, sizeof path);
    make_parent(path);
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long) getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return;
    int ok = fprintf(f, "postage-rate 1 %s %u %.0f %lld\n", kernel, all_threads(threads), rate,
                     (long long) now) > 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

int
calibration_rate(unsigned threads, double seconds, int64_t now, double *rate)
{
    char path[4096], kernel[64];
    const char *want = postage_kernel_default();
    unsigned n = 0;
    long long at = 0;
    double r = 0;

    calibration_path(path, sizeof path);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        int got = fscanf(f, "postage-rate 1 %63s %u %lf %lld", kernel, &n, &r, &at);
        fclose(f);
        if (got == 4 && want != NULL && strcmp(kernel, want) == 0 && n == all_threads(threads) &&
            r >= 1 && r < 1e15 && at <= now && now - at < CALIBRATION_MAX_AGE) {
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
