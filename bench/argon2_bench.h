/*
 * argon2_bench.h - what bench/argon2_kernels and bench/argon2_floor share:
 * a monotonic clock, the median of interleaved repetitions, and a copy's
 * bandwidth on this thread (issue 21's memory-bandwidth limit, which both
 * must measure the same way for their "of the limit" figures to agree).
 * Static functions: each program includes it once.
 */
#ifndef POSTAGE_BENCH_ARGON2_BENCH_H
#define POSTAGE_BENCH_ARGON2_BENCH_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPEAT 15                        /* repetitions a median is taken over */
#define COPY_BYTES ((size_t) 256 << 20)      /* each buffer of the copy */

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n-1] (1 <= n <= MAX_REPEAT); *lo and *hi get the
 * range. */
static double
median(const double *v, int n, double *lo, double *hi)
{
    double s[MAX_REPEAT];
    memcpy(s, v, (size_t) n * sizeof *v);
    qsort(s, (size_t) n, sizeof *s, cmp_double);
    *lo = s[0];
    *hi = s[n - 1];
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* GB/s of memcpy traffic (bytes read + bytes written) on this thread
 * between two faulted-in buffers of COPY_BYTES, the best of three. */
static double
copy_rate(unsigned char *a, unsigned char *b)
{
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = now_seconds();
        memcpy(i & 1 ? a : b, i & 1 ? b : a, COPY_BYTES);
        double gbs = 2.0 * (double) COPY_BYTES / (now_seconds() - t0) / 1e9;
        best = gbs > best ? gbs : best;
    }
    return best;
}

#endif
