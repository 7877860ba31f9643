/*
 * argon2_kernels.c - how fast postage's own Argon2id goes here, kernel by
 * kernel, with and without huge pages and prefetching, beside libargon2,
 * libsodium and the memory-copy bandwidth of one core, all in one run
 * (issue 21's goals are ratios against those, measured side by side).
 *
 *   argon2_kernels [--sizes KIB,...] [--passes T] [--seconds S] [--repeat R]
 *
 * Defaults: --sizes 64,1024,16384,65536 --passes 1 --seconds 0.4 --repeat 3;
 * one thread, one lane.  For each size, every configuration is measured
 * --repeat times, the repetitions interleaved (so a change in the load
 * hits all of them alike); a row gives the median and the range.
 *
 * Configurations: postage/KERNEL/FLAGS for every kernel this CPU runs and
 * FLAGS in {plain, huge, prefetch, huge+prefetch} (one work area each,
 * made before timing and reused, as a minting thread does); libargon2 and
 * libsodium through postage_argon2id_rate() (libargon2 in a reused area,
 * libsodium maps fresh memory per call, as it always does).
 *
 * Then "copy": memcpy between two pre-faulted 256 MiB buffers on this
 * thread, reported as GB/s of traffic (read + write).  Each Argon2 block
 * moves 3 KiB from or to memory: its reference block is read, and the
 * block it writes is read first (the cache's read-for-ownership in the
 * first pass, the XOR with the old block after it) and written back; the
 * previous block is still in L1.  So the "limit" row is the attempts/s at
 * which 3 KiB x memory x passes per hash would move at the copy's rate
 * (issue 21's model: 192 MiB per hash at 64 MiB, t=1), and each row's
 * "of_limit" is its rate over that limit.
 *
 * TSV on stdout: memory_kib passes config attempts_per_s min max
 * vs_best_library of_limit.  A measuring tool: it asserts no time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/mman.h>

#include "lib/argon2id_core.h"
#include "postage.h"
#include "simd/argon2_kernels.h"
#include "bench/argon2_bench.h"

#define MAX_SIZES 16
#define MAX_CONFIGS 32

static void
die(const char *what, int rc)
{
    fprintf(stderr, "argon2_kernels: %s: %s\n", what, postage_strerror(rc));
    exit(1);
}

struct config {
    char name[64];
    const struct argon2_kernel *kernel;   /* NULL: a library backend */
    unsigned flags;
    int backend;
    argon2id_core *core;
    double v[MAX_REPEAT];
};

static double
core_rate(struct config *c, const struct postage_argon2id_params *p, double seconds)
{
    static const uint8_t salt[] = POSTAGE_A2ID_SALT;
    char text[64];
    uint8_t tag[POSTAGE_A2ID_TAG_LEN];
    struct argon2id_core_input in = { (const uint8_t *) "warm-up", 7, salt, POSTAGE_A2ID_SALT_LEN,
                                      NULL, 0, NULL, 0, p->memory, p->passes, p->lanes };
    int rc = argon2id_core_hash(c->core, c->kernel, &in, tag, sizeof tag);
    if (rc != POSTAGE_OK)
        die(c->name, rc);
    unsigned long n = 0;
    double start = now_seconds(), elapsed = 0;
    while (n < 2 || elapsed < seconds) {
        in.password_len = (size_t) snprintf(text, sizeof text, "1:4:261206:bench::%lu", n);
        in.password = (const uint8_t *) text;
        argon2id_core_hash(c->core, c->kernel, &in, tag, sizeof tag);
        n++;
        elapsed = now_seconds() - start;
    }
    return (double) n / elapsed;
}

int
main(int argc, char **argv)
{
    uint32_t sizes[MAX_SIZES] = { 64, 1024, 16384, 65536 };
    int nsizes = 4, repeat = 3;
    uint32_t passes = 1;
    double seconds = 0.4;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            nsizes = 0;
            for (char *s = strtok(argv[++i], ","); s != NULL && nsizes < MAX_SIZES;
                 s = strtok(NULL, ","))
                sizes[nsizes++] = (uint32_t) strtoul(s, NULL, 10);
        } else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
            passes = (uint32_t) strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: argon2_kernels [--sizes KIB,...] [--passes T] "
                            "[--seconds S] [--repeat R]\n");
            return 2;
        }
    }
    if (repeat < 1 || repeat > MAX_REPEAT || passes < 1 || !(seconds >= 0.01 && seconds <= 60))
        die("arguments", POSTAGE_ERR_INVALID);
    for (int i = 0; i < nsizes; i++)
        if (sizes[i] < 8)
            die("--sizes", POSTAGE_ERR_INVALID);

    unsigned char *a = mmap(NULL, COPY_BYTES, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *b = mmap(NULL, COPY_BYTES, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED || b == MAP_FAILED)
        die("copy buffers", POSTAGE_ERR_NOMEM);
    memset(a, 1, COPY_BYTES);
    memset(b, 2, COPY_BYTES);

    printf("memory_kib\tpasses\tconfig\tattempts_per_s\tmin\tmax\tvs_best_library\tof_limit\n");
    static const struct { unsigned flags; const char *name; } flag_sets[] = {
        { 0, "plain" }, { ARGON2ID_CORE_HUGE_PAGES, "huge" }, { ARGON2ID_CORE_PREFETCH, "prefetch" },
        { ARGON2ID_CORE_HUGE_PAGES | ARGON2ID_CORE_PREFETCH, "huge+prefetch" },
    };
    for (int si = 0; si < nsizes; si++) {
        struct postage_argon2id_params p = { sizes[si], passes, 1 };
        struct config cfg[MAX_CONFIGS];
        int ncfg = 0;
        memset(cfg, 0, sizeof cfg);
        for (size_t k = 0; k < argon2_kernel_count(); k++) {
            const struct argon2_kernel *kern = argon2_kernel_at(k);
            if (argon2_kernel_state(kern) != ARGON2_KERNEL_USABLE)
                continue;
            for (size_t f = 0; f < sizeof flag_sets / sizeof flag_sets[0]; f++) {
                struct config *c = &cfg[ncfg++];
                snprintf(c->name, sizeof c->name, "postage/%s/%s", kern->name, flag_sets[f].name);
                c->kernel = kern;
                c->flags = flag_sets[f].flags;
                int rc = argon2id_core_new(&c->core, p.memory, c->flags);
                if (rc != POSTAGE_OK)
                    die(c->name, rc);
            }
        }
        int first_lib = ncfg;
        static const int libs[] = { POSTAGE_A2ID_LIBARGON2, POSTAGE_A2ID_LIBSODIUM };
        for (size_t l = 0; l < 2; l++) {
            struct config *c = &cfg[ncfg++];
            c->backend = libs[l];
            snprintf(c->name, sizeof c->name, "%s", postage_argon2id_backend_name(libs[l]));
        }
        double copy[MAX_REPEAT];
        for (int r = 0; r < repeat; r++) {
            fprintf(stderr, "argon2_kernels: m=%u KiB, round %d of %d\n", (unsigned) p.memory,
                    r + 1, repeat);
            for (int i = 0; i < ncfg; i++) {
                struct config *c = &cfg[i];
                if (c->kernel != NULL) {
                    c->v[r] = core_rate(c, &p, seconds);
                } else {
                    int rc = postage_argon2id_rate(&p, c->backend, seconds, &c->v[r]);
                    if (rc != POSTAGE_OK)
                        die(c->name, rc);
                }
            }
            copy[r] = copy_rate(a, b);
        }
        double lo, hi, best_lib = 0, med[MAX_CONFIGS];
        for (int i = 0; i < ncfg; i++) {
            med[i] = median(cfg[i].v, repeat, &lo, &hi);
            if (i >= first_lib && med[i] > best_lib)
                best_lib = med[i];
        }
        double gbs = median(copy, repeat, &lo, &hi);
        double bytes = 3.0 * 1024.0 * (double) p.memory * (double) p.passes;
        double limit = gbs * 1e9 / bytes;
        for (int i = 0; i < ncfg; i++) {
            median(cfg[i].v, repeat, &lo, &hi);
            printf("%u\t%u\t%s\t%.4g\t%.4g\t%.4g\t%.3f\t%.3f\n", (unsigned) p.memory,
                   (unsigned) p.passes, cfg[i].name, med[i], lo, hi, med[i] / best_lib,
                   med[i] / limit);
            argon2id_core_free(cfg[i].core);
        }
        printf("%u\t%u\tlimit (copy %.2f GB/s)\t%.4g\t%.4g\t%.4g\t%.3f\t1\n", (unsigned) p.memory,
               (unsigned) p.passes, gbs, limit, limit, limit, limit / best_lib);
        fflush(stdout);
    }
    munmap(a, COPY_BYTES);
    munmap(b, COPY_BYTES);
    return 0;
}
