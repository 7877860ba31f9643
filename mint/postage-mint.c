/*
 * postage-mint - mint Hashcash v1 stamps, one per resource.
 *
 * A thin front-end on postage_mint_batch(): parse the command line, mint
 * the resources as one batch (in groups of MINT_GROUP, so that memory stays
 * bounded and stamps come out as each group is done), print the stamps on
 * stdout in order.  Messages go to stderr.  Unlike hashcash 1.22, options
 * are not order-dependent: -b 24 applies to every resource wherever it
 * stands.  -b auto gives each resource the price its domain publishes at
 * _postage.<domain> (auto_bits.c).
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cli.h"
#include "util/cli_argon2.h"
#include "mint/auto_bits.h"
#include "mint/calibration.h"
#include "mint/speed_report.h"
#include "postage.h"

/* Argon2id's default: at 64 MiB, 16 attempts take about half a second on
 * two cores of a 2020s PC, and a guess is right only once in 16 tries. */
#define ARGON2ID_DEFAULT_BITS 4

/* Resources minted as one batch: enough that the threads' start and the
 * batch's last stamps cost nothing beside it, few enough that the stamps'
 * buffers (2 KiB each) stay small whatever the command line holds. */
#define MINT_GROUP 1024

/* -b auto: seconds for all the price look-ups of one run. */
#define AUTO_DNS_TIMEOUT 5.0

static void keep_argon2id_lines(const char *path, struct device_profile *p);

struct progress_state {
    double max_seconds;  /* 0: no limit, else for all the resources */
    double before;       /* seconds spent on the groups already minted */
    int tty;             /* stderr is a terminal */
    int shown;           /* a progress line is on screen */
    int timed_out;
    const char *resource;
    int argon2id;        /* count attempts, not millions of trials */
};

static double
monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
usage(FILE *out)
{
    fprintf(out,
"Usage: postage-mint [OPTION]... RESOURCE...\n"
"       postage-mint --speed [-j N] [--json]\n"
"       postage-mint --calibrate [-j N] [--kernel NAME] [--json]\n"
"       postage-mint --budget DURATION [OPTION]... [RESOURCE]...\n"
"Mint one Hashcash v1 stamp per RESOURCE (usually a recipient address) and\n"
"print them, one per line, in order.\n"
"\n"
"  -b, --bits BITS         bits of proof of work, 0-160 (default 20), or auto:\n"
"                          each resource's domain's published price (its\n"
"                          _postage.DOMAIN TXT record), said on stderr\n"
"      --fallback-bits BITS  with -b auto: the bits for a domain that\n"
"                          publishes no price (default: an error)\n"
"      --dns-server LIST   with -b auto: HOST:PORT list to ask (default: the\n"
"                          nameservers of /etc/resolv.conf)\n"
"  -x, --ext EXT           extension field (no ':' or whitespace)\n"
"  -z, --date-width 6|10|12  date as YYMMDD (default), YYMMDDhhmm, YYMMDDhhmmss\n"
"      --time YYMMDD[hhmm[ss]]  date the stamp at this UTC time, not now\n"
"      --case-sensitive    keep the resource's case (default: lowercase it,\n"
"                          as hashcash 1.22 does)\n"
"  -X, --header            print 'X-Hashcash: STAMP' header lines\n"
"      --json              print one JSON object per stamp\n"
"  -j, --threads N         search threads (default: one per online CPU)\n"
"      --kernel NAME       SHA-1 kernel to use (also $POSTAGE_KERNEL);\n"
"                          see postage-mint --list-kernels\n"
"      --list-kernels      list the kernels of this build and exit (with\n"
"                          --argon2id: the Argon2 kernels)\n"
"      --speed             measure every kernel here and show how long each\n"
"                          number of bits takes (with --json: as JSON)\n"
"      --calibrate         measure this device (about a second per thread\n"
"                          count) and save its profile for --budget\n"
"      --budget DURATION   mint the most bits whose 95th-percentile time on\n"
"                          this device fits DURATION per stamp (2s, 500ms,\n"
"                          1.5m), from the profile --calibrate saved;\n"
"                          without RESOURCE: print the bits and exit\n"
"      --max-time SECONDS  give up after SECONDS (exit status 3)\n"
"  -h, --help              show this help and exit\n"
"  -V, --version           show the version and exit\n"
"\n"
"Memory-hard stamps (docs/argon2id.md; the receiving site must accept them):\n"
"      --argon2id          mint Argon2id stamps (EXT a2id=mKiB,tN,pN): each\n"
"                          attempt fills MEMORY; default 4 bits; with --speed,\n"
"                          --calibrate and --budget: measure or use Argon2id\n"
"      --memory KIB        Argon2id memory in KiB (default 65536 = 64 MiB)\n"
"      --passes N          Argon2id passes over the memory (default 1)\n"
"      --lanes N           Argon2id lanes, 1-255 (default 1)\n"
"      --argon2id-backend auto|libargon2|libsodium|postage  which code\n"
"                          computes (postage: its own SIMD kernels; auto:\n"
"                          postage where a vector kernel (avx512, avx2,\n"
"                          neon) runs, else libargon2; with --budget, the\n"
"                          profile's fastest)\n"
"      --argon2-kernel NAME  postage's Argon2 kernel (also\n"
"                          $POSTAGE_ARGON2_KERNEL); see --argon2id\n"
"                          --list-kernels\n"
"\n"
"Exit status: 0 all stamps minted, 2 usage or system error (or no usable\n"
"device profile for --budget), 3 --max-time reached.  Each extra bit\n"
"doubles the expected work.\n");
}

static int
on_progress(void *ctx, const struct postage_mint_progress *p)
{
    struct progress_state *st = ctx;

    if (st->max_seconds > 0 && st->before + p->seconds >= st->max_seconds) {
        st->timed_out = 1;
        return 1;
    }
    if (st->tty && p->seconds >= 0.5 && p->trials > 0) {
        double rate = (double) p->trials / p->seconds;
        double expected = p->expected_trials / rate;
        if ((expected > 2.0 || st->shown) && p->stamps > 1) {
            fprintf(stderr, "\r%s: %zu of %zu stamps, %.0f M %s, %.1f M/s, %.1f s of about "
                    "%.1f s expected   ", cli_program(), p->stamps_done, p->stamps,
                    (double) p->trials / (st->argon2id ? 1 : 1e6),
                    st->argon2id ? "attempts" : "trials",
                    rate / (st->argon2id ? 1 : 1e6), p->seconds, expected);
            st->shown = 1;
        } else if ((expected > 2.0 || st->shown) && st->argon2id) {
            fprintf(stderr, "\r%s: %s: %llu Argon2id attempts, %.1f/s, %.1f s of about %.1f s "
                    "expected   ", cli_program(), st->resource,
                    (unsigned long long) p->trials, rate, p->seconds, expected);
            st->shown = 1;
        } else if (expected > 2.0 || st->shown) {
            fprintf(stderr, "\r%s: %s: %.0f M trials, %.1f M/s, %.1f s of about %.1f s expected   ",
                    cli_program(), st->resource, (double) p->trials / 1e6, rate / 1e6,
                    p->seconds, expected);
            st->shown = 1;
        }
    }
    return 0;
}

/* postage-mint --calibrate: measure, save, show. */
static int
calibrate(const char *kernel, unsigned threads, int json,
          const struct postage_argon2id_params *a2id)
{
    struct device_profile p;
    char path[4096], err[512], date[21];
    unsigned top = threads;

    if (top == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        top = online > 0 ? (unsigned) online : 1;
    }
    if (top > PROFILE_MAX_THREADS)
        top = PROFILE_MAX_THREADS;
    int rc = profile_measure(&p, kernel, top, 1.0, (int64_t) time(NULL));
    if (rc != POSTAGE_OK) {
        cli_error("measuring kernel %s failed: %s", kernel ? kernel : postage_kernel_default(),
                  postage_strerror(rc));
        return CLI_EXIT_USAGE;
    }
    calibration_path(path, sizeof path);
    keep_argon2id_lines(path, &p);
    if (a2id != NULL) {
        rc = profile_measure_argon2id(&p, a2id->memory, a2id->passes, a2id->lanes, top, 1.0);
        if (rc != POSTAGE_OK) {
            cli_error("measuring Argon2id (a2id=m%lu,t%lu,p%lu) failed: %s",
                      (unsigned long) a2id->memory, (unsigned long) a2id->passes,
                      (unsigned long) a2id->lanes, postage_strerror(rc));
            return CLI_EXIT_USAGE;
        }
    }
    if (profile_save(path, &p, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    postage_time_rfc3339(p.measured_at, date);
    double all = profile_rate(&p, top);
    static const double budgets[] = { 0.1, 1, 2, 10, 60 };
    if (json) {
        fputs("{\"profile\":", stdout);
        cli_json_string(stdout, path, strlen(path));
        fputs(",\"cpu\":", stdout);
        cli_json_string(stdout, p.cpu, strlen(p.cpu));
        printf(",\"kernel\":\"%s\",\"cpus\":%u,\"measured\":\"%s\",\"rate_per_thread\":%.0f,"
               "\"rates\":[", p.kernel, p.cpus, date, p.rate_per_thread);
        int first = 1;
        for (unsigned t = 1; t <= PROFILE_MAX_THREADS; t++)
            if (p.rate[t] > 0) {
                printf("%s{\"threads\":%u,\"rate\":%.0f}", first ? "" : ",", t, p.rate[t]);
                first = 0;
            }
        printf("],\"budgets\":[");
        for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
            unsigned b = calibration_bits_within(budgets[i], all);
            printf("%s{\"budget_s\":%g,\"threads\":%u,\"bits\":%u,\"p95_s\":%.6g}", i ? "," : "",
                   budgets[i], top, b, calibration_p95_seconds(b, all));
        }
        fputs("],\"argon2id\":[", stdout);
        for (size_t i = 0; i < p.argon2id_count; i++) {
            const struct profile_argon2id *a = &p.argon2id[i];
            printf("%s{\"memory_kib\":%lu,\"passes\":%lu,\"lanes\":%lu,\"backend\":\"%s\","
                   "\"threads\":%u,\"rate\":%.4g}", i ? "," : "", (unsigned long) a->memory,
                   (unsigned long) a->passes, (unsigned long) a->lanes,
                   postage_argon2id_backend_name(a->backend), a->threads, a->rate);
        }
        puts("]}");
        return CLI_EXIT_OK;
    }
    printf("Device profile saved in %s:\n\n", path);
    printf("  CPU:       %s (%u online)\n", p.cpu, p.cpus);
    printf("  kernel:    %s\n", p.kernel);
    printf("  measured:  %s\n\n", date);
    printf("  %7s %14s %18s\n", "threads", "M trials/s", "M trials/s/thread");
    for (unsigned t = 1; t <= PROFILE_MAX_THREADS; t++)
        if (p.rate[t] > 0)
            printf("  %7u %14.1f %18.1f\n", t, p.rate[t] / 1e6, p.rate[t] / 1e6 / t);
    printf("\nWhat --budget chooses on %u thread%s (95%% of stamps within the budget):\n\n",
           top, top == 1 ? "" : "s");
    printf("  %8s %5s %12s %12s\n", "budget", "bits", "p95", "mean");
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        unsigned b = calibration_bits_within(budgets[i], all);
        printf("  %7gs %5u %11.3fs %11.3fs\n", budgets[i], b, calibration_p95_seconds(b, all),
               calibration_mean_seconds(b, all));
    }
    if (p.argon2id_count > 0) {
        printf("\nArgon2id (attempts per second):\n\n  %10s %6s %5s %-10s %7s %10s\n",
               "memory KiB", "passes", "lanes", "backend", "threads", "attempts/s");
        for (size_t i = 0; i < p.argon2id_count; i++) {
            const struct profile_argon2id *a = &p.argon2id[i];
            printf("  %10lu %6lu %5lu %-10s %7u %10.4g\n", (unsigned long) a->memory,
                   (unsigned long) a->passes, (unsigned long) a->lanes,
                   postage_argon2id_backend_name(a->backend), a->threads, a->rate);
        }
    }
    return CLI_EXIT_OK;
}

/* A new SHA-1 calibration of the same CPU keeps the Argon2id lines the
 * previous one had: they are still true, and slow to measure again. */
static void
keep_argon2id_lines(const char *path, struct device_profile *p)
{
    struct device_profile old;
    char err[4600];
    if (profile_load(path, &old, err, sizeof err) != PROFILE_OK || strcmp(old.cpu, p->cpu) != 0)
        return;
    p->argon2id_count = old.argon2id_count;
    memcpy(p->argon2id, old.argon2id, sizeof old.argon2id);
}

static int
argon2id_check_options(const struct postage_mint_options *o)
{
    char ext[POSTAGE_A2ID_EXT_MAX];
    if (o->ext != NULL && o->ext[0] != '\0') {
        cli_error("-x and --argon2id exclude each other: an Argon2id stamp's extension "
                  "field holds its parameters");
        return -1;
    }
    if (postage_argon2id_ext_format(&o->argon2id_params, ext, sizeof ext) != POSTAGE_OK) {
        cli_error("--memory must be at least 8 KiB per lane (here %lu KiB for %lu lanes)",
                  (unsigned long) o->argon2id_params.memory,
                  (unsigned long) o->argon2id_params.lanes);
        return -1;
    }
    if (o->argon2id_backend == POSTAGE_A2ID_LIBSODIUM && o->argon2id_params.lanes != 1) {
        cli_error("--argon2id-backend libsodium computes one lane only; use --lanes 1 or "
                  "libargon2");
        return -1;
    }
    return 0;
}

/* --argon2id --list-kernels: postage's Argon2 kernels, in the columns of
 * the SHA-1 list (lanes are not theirs: one block at a time). */
static int
list_argon2_kernels(void)
{
    for (size_t i = 0; i < postage_argon2id_kernel_count(); i++) {
        struct postage_argon2id_kernel_info k;
        if (postage_argon2id_kernel_get(i, &k) != POSTAGE_OK)
            continue;
        printf("%-10s %2s lanes  %-13s %-16s%s\n", k.name, "-",
               k.supported ? "supported" : "unsupported",
               !k.supported ? "" : k.selftest_passed ? "self-test ok" : "SELF-TEST FAILED",
               k.is_default ? "  (default)" : "");
    }
    return CLI_EXIT_OK;
}

/* --argon2id --budget: the bits from the profile's Argon2id line for these
 * parameters.  Returns an exit status, or -1 to go on and mint. */
static int
argon2id_budget(struct postage_mint_options *o, double budget, int json, int minting)
{
    struct device_profile p;
    char path[4096], err[4600];
    const struct postage_argon2id_params *a = &o->argon2id_params;
    int backend, rc = profile_find(path, sizeof path, &p, err, sizeof err);
    double rate;
    if (rc == PROFILE_DAMAGED) {
        cli_error("the device profile is damaged (%s): run 'postage-mint --calibrate "
                  "--argon2id' to measure this device again", err);
        return CLI_EXIT_USAGE;
    }
    if (rc != PROFILE_OK ||
        profile_argon2id_rate(&p, a->memory, a->passes, a->lanes, o->threads, &backend,
                              &rate) != 0) {
        cli_error("--budget needs this device's Argon2id rate for a2id=m%lu,t%lu,p%lu, and "
                  "%s has none: run 'postage-mint --calibrate --argon2id --memory %lu "
                  "--passes %lu --lanes %lu' first", (unsigned long) a->memory,
                  (unsigned long) a->passes, (unsigned long) a->lanes,
                  rc == PROFILE_OK ? path : "there is no profile", (unsigned long) a->memory,
                  (unsigned long) a->passes, (unsigned long) a->lanes);
        return CLI_EXIT_USAGE;
    }
    o->bits = calibration_bits_within(budget, rate);
    /* The profile's fastest is what the budget was priced on; a named
     * kernel is postage's own whatever the profile says. */
    if (o->argon2id_backend == POSTAGE_A2ID_AUTO && o->argon2id_kernel == NULL)
        o->argon2id_backend = backend;
    double worth = postage_argon2id_equivalent_bits(o->bits, a, POSTAGE_REF_SHA1_RATE,
                                                    POSTAGE_REF_ARGON2ID_RATE);
    if (minting) {
        if (isatty(STDERR_FILENO))
            fprintf(stderr, "%s: --budget %g s: %u Argon2id bits (95%% within %.3g s at %.4g "
                    "attempts/s)\n", cli_program(), budget, o->bits,
                    calibration_p95_seconds(o->bits, rate), rate);
        return -1;
    }
    if (json) {
        printf("{\"budget_s\":%.6g,\"argon2id\":\"a2id=m%lu,t%lu,p%lu\",\"bits\":%u,"
               "\"sha1_equivalent_bits\":%.2f,\"p95_s\":%.6g,\"mean_s\":%.6g,\"rate\":%.4g,"
               "\"backend\":\"%s\",\"profile\":", budget, (unsigned long) a->memory,
               (unsigned long) a->passes, (unsigned long) a->lanes, o->bits, worth,
               calibration_p95_seconds(o->bits, rate), calibration_mean_seconds(o->bits, rate),
               rate, postage_argon2id_backend_name(backend));
        cli_json_string(stdout, path, strlen(path));
        puts("}");
    } else {
        printf("%u bits at a2id=m%lu,t%lu,p%lu (worth %.1f SHA-1 bits): 95%% of stamps within "
               "%.3g s (mean %.3g s) at %.4g attempts/s with %s (profile %s)\n", o->bits,
               (unsigned long) a->memory, (unsigned long) a->passes, (unsigned long) a->lanes,
               worth, calibration_p95_seconds(o->bits, rate),
               calibration_mean_seconds(o->bits, rate), rate,
               postage_argon2id_backend_name(backend), path);
    }
    return CLI_EXIT_OK;
}

/* --budget: the bits from the device profile, or an exit status (>= 0)
 * when there is no usable profile.  *rate_out and *path_out describe it. */
static int
budget_bits(double budget, const char *kernel, unsigned threads, unsigned *bits,
            double *rate_out, char *path, size_t pathlen, struct device_profile *p)
{
    char err[4600], cpu[sizeof p->cpu];
    int rc = profile_find(path, pathlen, p, err, sizeof err);
    const char *want = kernel ? kernel : postage_kernel_default();

    if (rc == PROFILE_MISSING) {
        cli_error("--budget needs this device's profile, and there is none (%s): run "
                  "'postage-mint --calibrate' first", err);
        return CLI_EXIT_USAGE;
    }
    if (rc != PROFILE_OK) {
        cli_error("the device profile is damaged (%s): run 'postage-mint --calibrate' to "
                  "measure this device again", err);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(p->kernel, want) != 0) {
        cli_error("the device profile %s was measured with kernel %s, but this run uses %s: "
                  "run 'postage-mint --calibrate%s%s' first", path, p->kernel, want,
                  kernel ? " --kernel " : "", kernel ? kernel : "");
        return CLI_EXIT_USAGE;
    }
    calibration_cpu_model(cpu, sizeof cpu);
    if (strcmp(cpu, p->cpu) != 0)
        cli_error("warning: the device profile %s was measured on '%s', this is '%s'; "
                  "run 'postage-mint --calibrate' to measure this one", path, p->cpu, cpu);
    double rate = profile_rate(p, threads);
    if (!(rate >= 1)) {
        cli_error("the device profile %s has no usable rate: run 'postage-mint --calibrate'",
                  path);
        return CLI_EXIT_USAGE;
    }
    *bits = calibration_bits_within(budget, rate);
    *rate_out = rate;
    return -1;
}

static int
list_kernels(void)
{
    for (size_t i = 0; i < postage_kernel_count(); i++) {
        struct postage_kernel_info k;
        if (postage_kernel_get(i, &k) != POSTAGE_OK)
            continue;
        printf("%-10s %2u lanes  %-13s %-16s%s\n", k.name, k.lanes,
               k.supported ? "supported" : "unsupported",
               !k.supported ? "" : k.selftest_passed ? "self-test ok" : "SELF-TEST FAILED",
               k.is_default ? "  (default)" : "");
    }
    return CLI_EXIT_OK;
}

int
main(int argc, char **argv)
{
    enum { OPT_TIME = 256, OPT_JSON, OPT_CASE, OPT_KERNEL, OPT_LIST, OPT_MAXTIME, OPT_SPEED,
           OPT_CALIBRATE, OPT_BUDGET, OPT_A2ID, OPT_MEMORY, OPT_PASSES, OPT_LANES,
           OPT_A2ID_BACKEND, OPT_FALLBACK, OPT_DNS_SERVER, OPT_A2ID_KERNEL };
    static const struct option longopts[] = {
        { "bits", required_argument, NULL, 'b' },
        { "ext", required_argument, NULL, 'x' },
        { "date-width", required_argument, NULL, 'z' },
        { "time", required_argument, NULL, OPT_TIME },
        { "case-sensitive", no_argument, NULL, OPT_CASE },
        { "header", no_argument, NULL, 'X' },
        { "json", no_argument, NULL, OPT_JSON },
        { "threads", required_argument, NULL, 'j' },
        { "kernel", required_argument, NULL, OPT_KERNEL },
        { "list-kernels", no_argument, NULL, OPT_LIST },
        { "speed", no_argument, NULL, OPT_SPEED },
        { "max-time", required_argument, NULL, OPT_MAXTIME },
        { "calibrate", no_argument, NULL, OPT_CALIBRATE },
        { "budget", required_argument, NULL, OPT_BUDGET },
        { "argon2id", no_argument, NULL, OPT_A2ID },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "passes", required_argument, NULL, OPT_PASSES },
        { "lanes", required_argument, NULL, OPT_LANES },
        { "argon2id-backend", required_argument, NULL, OPT_A2ID_BACKEND },
        { "argon2-kernel", required_argument, NULL, OPT_A2ID_KERNEL },
        { "fallback-bits", required_argument, NULL, OPT_FALLBACK },
        { "dns-server", required_argument, NULL, OPT_DNS_SERVER },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct postage_mint_options o;
    struct progress_state st = { 0 };
    int header = 0, json = 0, speed = 0, calibrate_mode = 0, bits_given = 0, c;
    int a2id_given = 0, memory_given = 0, bits_auto = 0, list = 0;
    const char *a2k_given = NULL, *a2k_env = getenv("POSTAGE_ARGON2_KERNEL");
    struct auto_bits_options auto_opts = { NULL, AUTO_DNS_TIMEOUT, 0, 0 };
    unsigned *auto_of = NULL;   /* -b auto: each resource's bits */
    double budget = 0;

    cli_set_program(argv[0]);
    postage_mint_options_init(&o, (int64_t) time(NULL));
    o.kernel = getenv("POSTAGE_KERNEL");
    if (o.kernel != NULL && *o.kernel == '\0')
        o.kernel = NULL;

    while ((c = getopt_long(argc, argv, "b:x:z:Xj:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            bits_auto = strcmp(optarg, "auto") == 0;
            if (!bits_auto && cli_parse_unsigned(optarg, POSTAGE_BITS_MAX, &o.bits) != 0) {
                cli_error("-b: '%s' is not a number of bits from 0 to %d, nor auto", optarg,
                          POSTAGE_BITS_MAX);
                return CLI_EXIT_USAGE;
            }
            bits_given = 1;
            break;
        case OPT_FALLBACK:
            if (cli_parse_unsigned(optarg, POSTAGE_BITS_MAX, &auto_opts.fallback_bits) != 0) {
                cli_error("--fallback-bits: '%s' is not a number of bits from 0 to %d", optarg,
                          POSTAGE_BITS_MAX);
                return CLI_EXIT_USAGE;
            }
            auto_opts.has_fallback = 1;
            break;
        case OPT_DNS_SERVER: auto_opts.dns_server = optarg; break;
        case 'x':
            if (!postage_field_is_clean(optarg, strlen(optarg)) ||
                strlen(optarg) > POSTAGE_EXT_MAX) {
                cli_error("-x: the extension must be at most %d bytes with no ':', "
                          "whitespace or control characters", POSTAGE_EXT_MAX);
                return CLI_EXIT_USAGE;
            }
            o.ext = optarg;
            break;
        case 'z':
            if (cli_parse_unsigned(optarg, 12, &o.date_width) != 0 ||
                (o.date_width != 6 && o.date_width != 10 && o.date_width != 12)) {
                cli_error("-z: the date width must be 6, 10 or 12, not '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_TIME:
            if (cli_parse_time(optarg, &o.now) != 0) {
                cli_error("--time: '%s' is not a UTC time YYMMDD, YYMMDDhhmm or "
                          "YYMMDDhhmmss", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_CASE: o.case_sensitive = 1; break;
        case 'X': header = 1; break;
        case OPT_JSON: json = 1; break;
        case 'j':
            if (cli_parse_unsigned(optarg, 256, &o.threads) != 0 || o.threads == 0) {
                cli_error("-j: the number of threads must be 1 to 256, not '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_KERNEL: o.kernel = optarg; break;
        case OPT_LIST: list = 1; break;
        case OPT_SPEED: speed = 1; break;
        case OPT_CALIBRATE: calibrate_mode = 1; break;
        case OPT_BUDGET:
            if (calibration_parse_duration(optarg, &budget) != 0) {
                cli_error("--budget: '%s' is not a duration such as 2s, 500ms or 1.5m", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_MAXTIME: {
            char *end;
            st.max_seconds = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(st.max_seconds > 0) ||
                st.max_seconds > 1e9) {
                cli_error("--max-time: '%s' is not a positive number of seconds", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case OPT_A2ID: o.argon2id = 1; break;
        case OPT_MEMORY:
        case OPT_PASSES:
        case OPT_LANES: {
            unsigned v;
            unsigned max = c == OPT_LANES ? POSTAGE_A2ID_LANES_MAX : 4294967295u;
            const char *what = c == OPT_MEMORY ? "--memory" : c == OPT_PASSES ? "--passes"
                                                                              : "--lanes";
            if (cli_parse_unsigned(optarg, max, &v) != 0 || v == 0) {
                cli_error("%s: '%s' is not a number from 1 to %u", what, optarg, max);
                return CLI_EXIT_USAGE;
            }
            if (c == OPT_MEMORY)
                o.argon2id_params.memory = v;
            else if (c == OPT_PASSES)
                o.argon2id_params.passes = v;
            else
                o.argon2id_params.lanes = v;
            memory_given |= c == OPT_MEMORY;
            a2id_given = 1;
            break;
        }
        case OPT_A2ID_BACKEND:
            o.argon2id_backend = postage_argon2id_backend_parse(optarg);
            if (o.argon2id_backend < 0) {
                cli_error("--argon2id-backend: '%s' is not auto, libargon2, libsodium or "
                          "postage",
                          optarg);
                return CLI_EXIT_USAGE;
            }
            a2id_given = 1;
            break;
        case OPT_A2ID_KERNEL:
            a2k_given = optarg;
            a2id_given = 1;
            break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'V': printf("postage-mint (postage) %s\n", PACKAGE_VERSION); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "Try 'postage-mint --help' for more information.\n");
            return CLI_EXIT_USAGE;
        }
    }
    if ((auto_opts.has_fallback || auto_opts.dns_server != NULL) && !bits_auto) {
        cli_error("--fallback-bits and --dns-server go with -b auto");
        return CLI_EXIT_USAGE;
    }
    if (bits_auto && (o.argon2id || budget > 0)) {
        cli_error("-b auto mints SHA-1 stamps at the published bits: not with %s",
                  o.argon2id ? "--argon2id" : "--budget");
        return CLI_EXIT_USAGE;
    }
    if (list)
        return o.argon2id ? list_argon2_kernels() : list_kernels();
    if (a2id_given && !o.argon2id) {
        cli_error("--memory, --passes, --lanes, --argon2id-backend and --argon2-kernel need "
                  "--argon2id");
        return CLI_EXIT_USAGE;
    }
    if (o.argon2id && argon2id_check_options(&o) != 0)
        return CLI_EXIT_USAGE;
    if (a2k_env != NULL && *a2k_env == '\0')
        a2k_env = NULL;
    if (o.argon2id && cli_argon2_kernel_choose(o.argon2id_backend, a2k_given, a2k_env, &o.argon2id_kernel) != 0)
        return CLI_EXIT_USAGE;
    if (o.argon2id && !bits_given)
        o.bits = ARGON2ID_DEFAULT_BITS;
    if (o.argon2id && speed)
        return speed_report_argon2id(memory_given ? &o.argon2id_params : NULL, o.threads, json);
    if (o.argon2id && budget > 0 && bits_given) {
        cli_error("-b and --budget exclude each other: give the bits, or the time");
        return CLI_EXIT_USAGE;
    }
    if (o.argon2id && budget > 0) {
        int rc = argon2id_budget(&o, budget, json, optind < argc);
        if (rc >= 0)
            return rc;
    }
    if (o.kernel != NULL && (calibrate_mode || budget > 0)) {
        int rc = postage_kernel_check(o.kernel);
        if (rc != POSTAGE_OK) {
            cli_error("kernel '%s': %s (see --list-kernels)", o.kernel, postage_strerror(rc));
            return CLI_EXIT_USAGE;
        }
    }
    if (speed)
        return speed_report(o.threads, json);
    if (calibrate_mode)
        return calibrate(o.kernel, o.threads, json, o.argon2id ? &o.argon2id_params : NULL);
    if (budget > 0 && !o.argon2id) {
        struct device_profile prof;
        char path[4096], date[21];
        double rate = 0;
        if (bits_given) {
            cli_error("-b and --budget exclude each other: give the bits, or the time");
            return CLI_EXIT_USAGE;
        }
        int rc = budget_bits(budget, o.kernel, o.threads, &o.bits, &rate, path, sizeof path,
                             &prof);
        if (rc >= 0)
            return rc;
        unsigned threads = o.threads;
        if (threads == 0) {
            long online = sysconf(_SC_NPROCESSORS_ONLN);
            threads = online > 0 ? (unsigned) online : 1;
        }
        postage_time_rfc3339(prof.measured_at, date);
        if (optind >= argc) {
            if (json) {
                fputs("{\"budget_s\":", stdout);
                printf("%.6g,\"bits\":%u,\"p95_s\":%.6g,\"mean_s\":%.6g,\"rate\":%.0f,"
                       "\"threads\":%u,\"kernel\":\"%s\",\"profile\":", budget, o.bits,
                       calibration_p95_seconds(o.bits, rate),
                       calibration_mean_seconds(o.bits, rate), rate, threads, prof.kernel);
                cli_json_string(stdout, path, strlen(path));
                printf(",\"measured\":\"%s\"}\n", date);
            } else {
                printf("%u bits: 95%% of stamps within %.3g s (mean %.3g s) at %.1f M trials/s "
                       "on %u thread%s with %s (profile %s, measured %s)\n", o.bits,
                       calibration_p95_seconds(o.bits, rate),
                       calibration_mean_seconds(o.bits, rate), rate / 1e6, threads,
                       threads == 1 ? "" : "s", prof.kernel, path, date);
            }
            return CLI_EXIT_OK;
        }
        if (isatty(STDERR_FILENO))
            fprintf(stderr, "%s: --budget %g s: %u bits (95%% within %.3g s at %.1f M trials/s)\n",
                    cli_program(), budget, o.bits, calibration_p95_seconds(o.bits, rate),
                    rate / 1e6);
    }
    if (optind >= argc) {
        cli_error("no resource given: name at least one, e.g. a recipient address");
        fprintf(stderr, "Try 'postage-mint --help' for more information.\n");
        return CLI_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (n == 0 || n > POSTAGE_RESOURCE_MAX || !postage_field_is_clean(argv[i], n)) {
            cli_error("resource '%s' must be 1 to %d bytes with no ':', whitespace or "
                      "control characters", argv[i], POSTAGE_RESOURCE_MAX);
            return CLI_EXIT_USAGE;
        }
    }
    if (o.kernel != NULL) {
        int rc = postage_kernel_check(o.kernel);
        if (rc != POSTAGE_OK) {
            cli_error("kernel '%s': %s (see --list-kernels)", o.kernel, postage_strerror(rc));
            return CLI_EXIT_USAGE;
        }
    }

    if (bits_auto) {
        /* every price before the first stamp: an error stops the run with
         * nothing printed */
        size_t n = (size_t) (argc - optind);
        if ((auto_of = calloc(n, sizeof *auto_of)) == NULL) {
            cli_error("out of memory");
            return CLI_EXIT_USAGE;
        }
        if (auto_bits(&auto_opts, argv + optind, n, auto_of) != 0) {
            free(auto_of);
            return CLI_EXIT_USAGE;
        }
    }
    st.tty = isatty(STDERR_FILENO);
    st.argon2id = o.argon2id;
    o.progress = on_progress;
    o.progress_ctx = &st;
    size_t total = (size_t) (argc - optind);
    size_t group_max = total < MINT_GROUP ? total : MINT_GROUP;
    struct postage_mint_batch_item *items = calloc(group_max, sizeof *items);
    char (*stamps)[POSTAGE_MINT_STAMP_SIZE] = calloc(group_max, sizeof *stamps);
    int exit_code = CLI_EXIT_OK;
    if (items == NULL || stamps == NULL) {
        cli_error("out of memory");
        exit_code = CLI_EXIT_USAGE;
        goto out;
    }
    double started = monotonic_seconds();
    for (size_t first = 0; first < total; first += group_max) {
        size_t n = total - first < group_max ? total - first : group_max;
        char **res = argv + optind + first;
        for (size_t i = 0; i < n; i++)
            items[i] = (struct postage_mint_batch_item) {
                .resource = res[i], .bits = auto_of != NULL ? auto_of[first + i] : o.bits,
                .stamp = stamps[i],
                .size = sizeof stamps[i],
            };
        st.resource = res[0];
        st.shown = 0;
        st.before = monotonic_seconds() - started;
        postage_mint_batch(items, n, &o);
        if (st.shown)
            fputc('\n', stderr);
        for (size_t i = 0; i < n; i++) {
            const struct postage_mint_batch_item *it = &items[i];
            if (it->status == POSTAGE_ERR_CANCELLED && st.timed_out) {
                cli_error("%s: no %u-bit stamp found within %g s; try fewer bits or a "
                          "longer --max-time", res[i], it->bits, st.max_seconds);
                exit_code = CLI_EXIT_TIMEOUT;
                goto out;
            }
            if (it->status != POSTAGE_OK) {
                cli_error("%s: %s", res[i], postage_strerror(it->status));
                exit_code = CLI_EXIT_USAGE;
                goto out;
            }
            if (json) {
                fputs("{\"resource\":", stdout);
                cli_json_string(stdout, res[i], strlen(res[i]));
                fputs(",\"stamp\":", stdout);
                cli_json_string(stdout, it->stamp, strlen(it->stamp));
                printf(",\"bits\":%u,\"actual\":%u,\"trials\":%llu,\"seconds\":%.6f,"
                       "\"kernel\":\"%s\",\"threads\":%u}\n",
                       it->bits, it->result.actual, (unsigned long long) it->result.trials,
                       it->result.seconds, it->result.kernel, it->result.threads);
            } else if (header) {
                printf("X-Hashcash: %s\n", it->stamp);
            } else {
                printf("%s\n", it->stamp);
            }
        }
        if (fflush(stdout) != 0) {
            cli_error("cannot write to standard output");
            exit_code = CLI_EXIT_USAGE;
            goto out;
        }
    }
out:
    /* every exit frees the batch, so a leak checker (the sanitizer build's
     * cli_golden.sh) sees a clean --max-time give-up as well */
    free(items);
    free(stamps);
    free(auto_of);
    return exit_code;
}
