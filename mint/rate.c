/*
 * rate.c - measure how many trials per second a kernel achieves here.
 *
 * The measurement is a real mint of an unreachable stamp, stopped by the
 * progress callback after the requested time: it runs the same engine,
 * layout, chunking and threads as every real mint, so the figure is what a
 * sender will see, not a synthetic loop's.
 */
#include "config.h"

#include <string.h>

#include "postage/mint.h"
#include "postage/status.h"

struct rate_probe {
    double seconds;     /* how long to measure */
    uint64_t trials;    /* at least this many trials first */
    double rate;        /* trials per second at the stop */
};

static int
stop_after(void *ctx, const struct postage_mint_progress *p)
{
    struct rate_probe *probe = ctx;

    if (p->seconds < probe->seconds || p->trials < probe->trials)
        return 0;
    probe->rate = p->seconds > 0 ? (double) p->trials / p->seconds : 0;
    return 1;
}

int
postage_mint_rate(const char *kernel, unsigned threads, double seconds,
                  double *trials_per_second)
{
    struct postage_mint_options o;
    struct rate_probe probe = { seconds, 0, 0 };
    char stamp[POSTAGE_MINT_STAMP_SIZE];

    if (trials_per_second == NULL || !(seconds >= 0.05 && seconds <= 60))
        return POSTAGE_ERR_INVALID;
    /* Any fixed date will do; 2026-01-01. */
    postage_mint_options_init(&o, INT64_C(1767225600));
    o.bits = 128; /* never found: the callback always ends the search */
    o.kernel = kernel;
    o.threads = threads;
    o.progress = stop_after;
    o.progress_ctx = &probe;
    int rc = postage_mint("rate@postage.invalid", &o, stamp, sizeof stamp, NULL);
    if (rc != POSTAGE_ERR_CANCELLED)
        return rc == POSTAGE_OK ? POSTAGE_ERR_INTERNAL : rc;
    *trials_per_second = probe.rate;
    return POSTAGE_OK;
}

int
postage_mint_argon2id_rate(const struct postage_argon2id_params *params, int backend,
                           unsigned threads, double seconds, double *attempts_per_second)
{
    struct postage_mint_options o;
    struct rate_probe probe = { seconds, 0, 0 };
    char stamp[POSTAGE_MINT_STAMP_SIZE];

    if (params == NULL || attempts_per_second == NULL || !(seconds >= 0.05 && seconds <= 60))
        return POSTAGE_ERR_INVALID;
    postage_mint_options_init(&o, INT64_C(1767225600));
    o.bits = 128;
    o.threads = threads;
    o.argon2id = 1;
    o.argon2id_params = *params;
    o.argon2id_backend = backend;
    o.progress = stop_after;
    o.progress_ctx = &probe;
    /* Attempts are slow at large memory: wait for one per thread, so that
     * a rate is never a figure of zero or of threads still faulting in. */
    probe.trials = threads > 0 ? threads : 1;
    int rc = postage_mint("rate@postage.invalid", &o, stamp, sizeof stamp, NULL);
    if (rc != POSTAGE_ERR_CANCELLED)
        return rc == POSTAGE_OK ? POSTAGE_ERR_INTERNAL : rc;
    *attempts_per_second = probe.rate;
    return POSTAGE_OK;
}
