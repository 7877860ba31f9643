/*
 * stamp_mint.c - one message's stamps in one batch, within its time
 * (stamp_mint.h).
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "policy/base/dns.h"
#include "policy/frontends/stamp_mint.h"
#include "postage/status.h"

/* The batch rate this process has seen (trials per second, all threads
 * together, their start included): whole batches are summed until they
 * make a quarter of a second, enough to time, and each such sum moves the
 * average; 0 until the first.  Shared by every connection. */
static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static double measured_rate, sum_trials, sum_seconds;

/* The batch's progress callback: stop once the deadline has passed. */
static int
past_deadline(void *ctx, const struct postage_mint_progress *p)
{
    (void) p;
    return pd_dns_now_ms() >= *(const uint64_t *) ctx;
}

/* The 95th percentile of the trials a batch of stamps takes, in units of
 * its mean (the sum of 2^bits): one stamp's trials are geometric, whose
 * p95 is ln(20) = 3.0 times the mean; a sum of n of them spreads less, by
 * about 1/sqrt(n) (1.645 standard deviations), never more than ln(20). */
static double
p95_factor(size_t n)
{
    double f = 1.0 + 1.645 / sqrt((double) n);
    return n <= 1 || f > log(20.0) ? log(20.0) : f;
}

size_t
pd_stamp_fit_budget(const struct postage_mint_batch_item *items, size_t n, double rate,
                    double budget_s, unsigned char *drop)
{
    size_t kept = 0, dropped = 0;
    double trials = 0;
    for (size_t i = 0; i < n; i++) {
        drop[i] = 0;
        trials += ldexp(1.0, (int) items[i].bits);
        kept++;
    }
    if (rate <= 0)
        return 0;
    while (kept > 0 && p95_factor(kept) * trials / rate > budget_s) {
        size_t worst = n;
        for (size_t i = 0; i < n; i++)
            if (!drop[i] && (worst == n || items[i].bits > items[worst].bits))
                worst = i;
        drop[worst] = 1;
        trials -= ldexp(1.0, (int) items[worst].bits);
        kept--;
        dropped++;
    }
    return dropped;
}

static void
cancel(struct postage_mint_batch_item *it)
{
    it->status = POSTAGE_ERR_CANCELLED;
    if (it->stamp != NULL && it->size > 0)
        it->stamp[0] = '\0';
}

size_t
pd_stamp_mint(struct postage_mint_batch_item *items, size_t n, unsigned threads, int64_t now,
              uint64_t deadline_ms)
{
    if (n == 0)
        return 0;
    uint64_t start = pd_dns_now_ms();
    if (start >= deadline_ms) {
        for (size_t i = 0; i < n; i++)
            cancel(&items[i]);
        return 0;
    }
    pthread_mutex_lock(&rate_lock);
    double rate = measured_rate;
    pthread_mutex_unlock(&rate_lock);

    unsigned char *drop = calloc(n, 1);
    struct postage_mint_batch_item *run = calloc(n, sizeof *run);
    size_t *at = calloc(n, sizeof *at);
    if (drop == NULL || run == NULL || at == NULL) {
        free(drop);
        free(run);
        free(at);
        for (size_t i = 0; i < n; i++)
            items[i].status = POSTAGE_ERR_NOMEM;
        return 0;
    }
    pd_stamp_fit_budget(items, n, rate, (double) (deadline_ms - start) / 1000.0, drop);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (drop[i]) {
            cancel(&items[i]);
            continue;
        }
        run[m] = items[i];
        at[m++] = i;
    }
    struct postage_mint_options o;
    postage_mint_options_init(&o, now);
    o.threads = threads;
    o.progress = past_deadline;
    o.progress_ctx = &deadline_ms;
    postage_mint_batch(run, m, &o);

    size_t minted = 0;
    double trials = 0;
    for (size_t k = 0; k < m; k++) {
        items[at[k]] = run[k];
        minted += run[k].status == POSTAGE_OK;
        trials += (double) run[k].result.trials;
    }
    /* Learn the rate from whole batches only: a batch cut short has no
     * count of its unfinished trials. */
    double seconds = (double) (pd_dns_now_ms() - start) / 1000.0;
    if (m > 0 && minted == m && trials > 0) {
        pthread_mutex_lock(&rate_lock);
        sum_trials += trials;
        sum_seconds += seconds;
        if (sum_seconds >= 0.25) {
            double r = sum_trials / sum_seconds;
            measured_rate = measured_rate > 0 ? 0.7 * measured_rate + 0.3 * r : r;
            sum_trials = sum_seconds = 0;
        }
        pthread_mutex_unlock(&rate_lock);
    }
    free(drop);
    free(run);
    free(at);
    return minted;
}
