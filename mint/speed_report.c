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

#include "util/cli.h"
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

/* ---- Argon2id --------------------------------------------------------- */

#define A2ID_MEASURE_SECONDS 0.6
#define A2ID_SIZES_MAX 4

struct a2id_row {
    struct postage_argon2id_params params;
    double sodium_one, argon2_one;   /* attempts/s on one thread; 0: cannot */
    double postage_one;              /* postage's own backend, one thread  */
    int best;                        /* the faster backend                 */
    double best_all;                 /* its attempts/s on every thread     */
    double worth;                    /* SHA-1 bits one attempt is worth    */
};

int
speed_report_argon2id(const struct postage_argon2id_params *params, unsigned threads, int json)
{
    static const uint32_t sizes[A2ID_SIZES_MAX] = { 64, 1024, 16384, 65536 };
    struct a2id_row rows[A2ID_SIZES_MAX];
    size_t n = params != NULL ? 1 : A2ID_SIZES_MAX;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned all = threads ? threads : (online > 0 ? (unsigned) online : 1);
    char cpu[200];

    calibration_cpu_model(cpu, sizeof cpu);
    for (size_t i = 0; i < n; i++) {
        struct a2id_row *r = &rows[i];
        memset(r, 0, sizeof *r);
        if (params != NULL)
            r->params = *params;
        else
            r->params = (struct postage_argon2id_params) { sizes[i], 1, 1 };
        int rc = POSTAGE_OK;
        if (r->params.lanes == 1)
            rc = postage_mint_argon2id_rate(&r->params, POSTAGE_A2ID_LIBSODIUM, 1,
                                            A2ID_MEASURE_SECONDS, &r->sodium_one);
        if (rc == POSTAGE_OK)
            rc = postage_mint_argon2id_rate(&r->params, POSTAGE_A2ID_LIBARGON2, 1,
                                            A2ID_MEASURE_SECONDS, &r->argon2_one);
        if (rc == POSTAGE_OK)
            rc = postage_mint_argon2id_rate(&r->params, POSTAGE_A2ID_POSTAGE, 1,
                                            A2ID_MEASURE_SECONDS, &r->postage_one);
        r->best = r->sodium_one > r->argon2_one ? POSTAGE_A2ID_LIBSODIUM : POSTAGE_A2ID_LIBARGON2;
        if (r->postage_one > (r->best == POSTAGE_A2ID_LIBSODIUM ? r->sodium_one : r->argon2_one))
            r->best = POSTAGE_A2ID_POSTAGE;
        if (rc == POSTAGE_OK)
            rc = postage_mint_argon2id_rate(&r->params, r->best, all, A2ID_MEASURE_SECONDS,
                                            &r->best_all);
        if (rc != POSTAGE_OK) {
            cli_error("measuring Argon2id at a2id=m%lu,t%lu,p%lu failed: %s",
                      (unsigned long) r->params.memory, (unsigned long) r->params.passes,
                      (unsigned long) r->params.lanes, postage_strerror(rc));
            return CLI_EXIT_USAGE;
        }
        r->worth = postage_argon2id_equivalent_bits(0, &r->params, POSTAGE_REF_SHA1_RATE,
                                                    POSTAGE_REF_ARGON2ID_RATE);
    }

    if (json) {
        fputs("{\"cpu\":", stdout);
        cli_json_string(stdout, cpu, strlen(cpu));
        printf(",\"threads\":%u,\"auto\":\"%s\",\"argon2_kernel\":\"%s\",\"argon2id\":[", all,
               postage_argon2id_backend_name(postage_argon2id_backend_resolve(POSTAGE_A2ID_AUTO)),
               postage_argon2id_kernel_default());
        for (size_t i = 0; i < n; i++) {
            const struct a2id_row *r = &rows[i];
            printf("%s{\"memory_kib\":%lu,\"passes\":%lu,\"lanes\":%lu,\"libsodium_1\":%.4g,"
                   "\"libargon2_1\":%.4g,\"postage_1\":%.4g,\"best\":\"%s\",\"best_all\":%.4g,"
                   "\"sha1_bits_per_attempt\":%.2f,\"bits\":[", i ? "," : "",
                   (unsigned long) r->params.memory, (unsigned long) r->params.passes,
                   (unsigned long) r->params.lanes, r->sodium_one, r->argon2_one, r->postage_one,
                   postage_argon2id_backend_name(r->best), r->best_all, r->worth);
            for (unsigned bits = 0; bits <= 10; bits += 2) {
                double mean = ldexp(1.0, (int) bits) / r->best_all;
                printf("%s{\"bits\":%u,\"mean_s\":%.6g,\"p95_s\":%.6g}", bits ? "," : "", bits,
                       mean, mean * log(20.0));
            }
            fputs("]}", stdout);
        }
        puts("]}");
        return CLI_EXIT_OK;
    }

    printf("Argon2id on %s (attempts per second; one attempt fills the memory\n"
           "once per pass):\n\n", cpu);
    printf("  %10s %6s %5s %12s %12s %12s %12s %10s\n", "memory KiB", "passes", "lanes",
           "libsodium", "libargon2", "postage", all == 1 ? "best" : "best, all", "SHA-1 bits");
    for (size_t i = 0; i < n; i++) {
        const struct a2id_row *r = &rows[i];
        char so[24] = "-";
        if (r->sodium_one > 0)
            snprintf(so, sizeof so, "%.4g", r->sodium_one);
        printf("  %10lu %6lu %5lu %12s %12.4g %12.4g %12.4g %10.1f\n",
               (unsigned long) r->params.memory, (unsigned long) r->params.passes,
               (unsigned long) r->params.lanes, so, r->argon2_one, r->postage_one, r->best_all,
               r->worth);
    }
    printf("\n(libsodium, libargon2, postage: one thread; best: the fastest on %u\n"
           "thread%s.  SHA-1 bits: what one attempt is worth at the reference exchange\n"
           "rate, 8 + log2(memory x passes); a stamp of b bits is worth b more.)\n",
           all, all == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const struct a2id_row *r = &rows[i];
        printf("\nTime to mint one stamp at a2id=m%lu,t%lu,p%lu with %s on %u thread%s:\n\n",
               (unsigned long) r->params.memory, (unsigned long) r->params.passes,
               (unsigned long) r->params.lanes, postage_argon2id_backend_name(r->best), all,
               all == 1 ? "" : "s");
        printf("  %4s %10s %10s %10s %12s\n", "bits", "attempts", "mean", "95%", "worth (SHA-1)");
        for (unsigned bits = 0; bits <= 10; bits += 2) {
            double attempts = ldexp(1.0, (int) bits), mean = attempts / r->best_all;
            char avg[24], p95[24];
            format_duration(mean, avg, sizeof avg);
            format_duration(mean * log(20.0), p95, sizeof p95);
            printf("  %4u %10.0f %10s %10s %12.1f\n", bits, attempts, bits ? avg : "0",
                   bits ? p95 : "0", r->worth + bits);
        }
    }
    /* What auto means here is the library's rule, not this measurement. */
    printf("\nauto (--argon2id-backend) picks %s on this CPU; postage's Argon2 kernel\n"
           "here is %s (postage-mint --argon2id --list-kernels).\n",
           postage_argon2id_backend_name(postage_argon2id_backend_resolve(POSTAGE_A2ID_AUTO)),
           postage_argon2id_kernel_default());
    printf("\nA 0-bit stamp needs no computation at all, and a stamp of b bits is a\n"
           "correct guess once in 2^b tries: memory makes each attempt dear, not\n"
           "guessing rarer.  Sites set a minimum (postaged: argon2id_min_bits).\n");
    return CLI_EXIT_OK;
}
