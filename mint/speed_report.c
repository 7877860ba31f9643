/*
 * speed_report.c - postage-mint --speed.
 *
 * For each compiled kernel: CPU support, self-test, trials per second on
 * one thread and on all threads; then, for the default kernel on all
 * threads, the time to mint 16, 18, ... 32 bits.  The number of trials to
 * a solution is geometric with p = 2^-bits, so the mean is 2^bits / rate,
 * the median ln 2 times that and the 95th percentile ln 20 (about 3) times
 * that.  This table is what the owner of a slow device uses to choose bits.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cli.h"
#include "mint/calibration.h"
#include "mint/speed_report.h"
#include "postage.h"

#define MEASURE_SECONDS 0.4
#define MAX_KERNELS 16

struct kernel_row {
    struct postage_kernel_info info;
    double rate_one, rate_all;   /* 0 when not measured */
};

static void
format_duration(double s, char *out, size_t size)
{
    if (s < 1e-3)
        snprintf(out, size, "%.0f us", s * 1e6);
    else if (s < 1)
        snprintf(out, size, "%.1f ms", s * 1e3);
    else if (s < 120)
        snprintf(out, size, "%.1f s", s);
    else if (s < 7200)
        snprintf(out, size, "%.1f min", s / 60);
    else if (s < 172800)
        snprintf(out, size, "%.1f h", s / 3600);
    else
        snprintf(out, size, "%.1f days", s / 86400);
}

static const char *
state_word(const struct postage_kernel_info *k)
{
    if (!k->supported)
        return "unsupported";
    return k->selftest_passed ? "ok" : "FAILED";
}

int
speed_report(unsigned threads, int json)
{
    struct kernel_row rows[MAX_KERNELS];
    size_t n = postage_kernel_count(), best = 0;
    char cpu[200];
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned all = threads ? threads : (online > 0 ? (unsigned) online : 1);

    if (n > MAX_KERNELS)
        n = MAX_KERNELS;
    calibration_cpu_model(cpu, sizeof cpu);
    for (size_t i = 0; i < n; i++) {
        struct kernel_row *r = &rows[i];
        memset(r, 0, sizeof *r);
        postage_kernel_get(i, &r->info);
        if (!r->info.supported || !r->info.selftest_passed)
            continue;
        if (postage_mint_rate(r->info.name, 1, MEASURE_SECONDS, &r->rate_one) != POSTAGE_OK ||
            postage_mint_rate(r->info.name, all, MEASURE_SECONDS, &r->rate_all) != POSTAGE_OK) {
            cli_error("measuring kernel %s failed", r->info.name);
            return CLI_EXIT_USAGE;
        }
        if (r->info.is_default)
            best = i;
    }
    double rate = rows[best].rate_all;
    /* The device profile (postage-mint --budget, postage-sendmail's
     * time_budget) is refreshed with these figures. */
    calibration_store(rows[best].info.name, 1, rows[best].rate_one, (int64_t) time(NULL));
    if (all > 1)
        calibration_store(rows[best].info.name, all, rate, (int64_t) time(NULL));

    if (json) {
        fputs("{\"cpu\":", stdout);
        cli_json_string(stdout, cpu, strlen(cpu));
        printf(",\"threads\":%u,\"kernels\":[", all);
        for (size_t i = 0; i < n; i++) {
            const struct kernel_row *r = &rows[i];
            printf("%s{\"name\":\"%s\",\"lanes\":%u,\"supported\":%s,\"selftest\":%s,"
                   "\"default\":%s,\"rate_1\":%.0f,\"rate_all\":%.0f}",
                   i ? "," : "", r->info.name, r->info.lanes,
                   r->info.supported ? "true" : "false",
                   r->info.supported ? (r->info.selftest_passed ? "true" : "false") : "null",
                   r->info.is_default ? "true" : "false", r->rate_one, r->rate_all);
        }
        printf("],\"projection\":{\"kernel\":\"%s\",\"threads\":%u,\"rate\":%.0f,\"bits\":[",
               rows[best].info.name, all, rate);
        for (unsigned bits = 16; bits <= 32; bits += 2) {
            double mean = ldexp(1.0, (int) bits) / rate;
            printf("%s{\"bits\":%u,\"mean_s\":%.6g,\"median_s\":%.6g,\"p95_s\":%.6g}",
                   bits > 16 ? "," : "", bits, mean, mean * log(2.0), mean * log(20.0));
        }
        puts("]}}");
        return CLI_EXIT_OK;
    }

    printf("SHA-1 kernels on %s (%u threads):\n\n", cpu, all);
    printf("  %-10s %5s  %-11s %-9s %13s %13s\n", "kernel", "lanes", "CPU", "self-test",
           "1 thread", all == 1 ? "" : "all threads");
    for (size_t i = 0; i < n; i++) {
        const struct kernel_row *r = &rows[i];
        char one[32] = "-", many[32] = "-";
        if (r->rate_one > 0) {
            snprintf(one, sizeof one, "%.1f M/s", r->rate_one / 1e6);
            snprintf(many, sizeof many, "%.1f M/s", r->rate_all / 1e6);
        }
        printf("  %-10s %5u  %-11s %-9s %13s %13s%s\n", r->info.name, r->info.lanes,
               r->info.supported ? "supported" : "unsupported",
               r->info.supported ? state_word(&r->info) : "-", one, all == 1 ? "" : many,
               r->info.is_default ? "  (default)" : "");
    }
    printf("\nTime to mint one stamp with %s on %u thread%s (%.1f M trials/s):\n\n",
           rows[best].info.name, all, all == 1 ? "" : "s", rate / 1e6);
    printf("  %4s %14s %10s %10s %10s\n", "bits", "mean trials", "median", "mean", "95%");
    for (unsigned bits = 16; bits <= 32; bits += 2) {
        double trials = ldexp(1.0, (int) bits), mean = trials / rate;
        char med[24], avg[24], p95[24];
        format_duration(mean * log(2.0), med, sizeof med);
        format_duration(mean, avg, sizeof avg);
        format_duration(mean * log(20.0), p95, sizeof p95);
        printf("  %4u %14.0f %10s %10s %10s\n", bits, trials, med, avg, p95);
    }
    printf("\nThe time to a stamp is random (geometric): half of all stamps take less\n"
           "than the median, 95%% less than the last column.  Each bit doubles it.\n");
    return CLI_EXIT_OK;
}
