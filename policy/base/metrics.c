/*
 * metrics.c - postaged's metrics registry (metrics.h): C11 atomic
 * counters and fixed-bucket histograms, and their rendering in the
 * Prometheus text exposition format.
 *
 * A histogram keeps one counter per bucket (not cumulative, so that an
 * observation is one atomic add) and renders them cumulative.  Sums of
 * seconds are kept in nanoseconds, integers, so that they too are one
 * atomic add.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/base/metrics.h"

typedef atomic_uint_fast64_t counter;

/* Upper bounds (le) of the histograms' buckets, +Inf implied. */
static const double latency_le[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10 };
static const double mint_le[] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60 };
static const double price_le[] = { 0, 4, 8, 12, 16, 20, 24, 28 };

#define N_LATENCY (sizeof latency_le / sizeof latency_le[0])
#define N_MINT (sizeof mint_le / sizeof mint_le[0])
#define N_PRICE (sizeof price_le / sizeof price_le[0])
#define HIST_MAX 16

struct histogram {
    counter bucket[HIST_MAX + 1];   /* the last one is +Inf's own */
    counter count;
    counter sum;                    /* nanoseconds, or bits */
};

struct pd_metrics {
    counter decisions[PD_MF_COUNT][PD_MM_COUNT][PD_MA_COUNT];
    struct histogram latency[PD_MF_COUNT];
    counter stamps[PD_MS_COUNT];
    struct histogram price;
    counter store_ops[PD_MST_COUNT], store_errors[PD_MST_COUNT], store_outages[PD_MST_COUNT];
    struct histogram mint;
    counter dns[PD_MR_COUNT][3];          /* lookups, timeouts, cache hits */
    /* What the last scrape showed: a reload folds the old resolver in
     * just after the new one took over, and a scrape in between must not
     * see the counters go down (Prometheus would take it for a restart). */
    counter dns_shown[PD_MR_COUNT][3];
};

static const char *const frontend_names[PD_MF_COUNT] = { "policy", "milter", "stamp" };
static const char *const module_names[PD_MM_COUNT] = {
    "none", "access", "helo", "spf", "postage", "greylist", "quota", "stamp"
};
static const char *const action_names[PD_MA_COUNT] = {
    "DUNNO", "OK", "REJECT", "DEFER", "HOLD", "DISCARD", "TEMPFAIL", "OTHER"
};
/* pd_stamp_outcome's order (policy/engine/engine.h). */
static const char *const stamp_names[PD_MS_COUNT] = {
    "unused", "paid", "replayed", "underpaid", "no_recipient", "invalid", "ignored",
    "kind_refused", "out_of_bounds"
};
static const char *const store_names[PD_MST_COUNT] = { "state", "stamps" };
static const char *const resolver_names[PD_MR_COUNT] = { "checks", "stamp" };

const char *
pd_metrics_frontend_name(enum pd_metrics_frontend f)
{
    return (unsigned) f < PD_MF_COUNT ? frontend_names[f] : "other";
}

const char *
pd_metrics_module_name(enum pd_metrics_module mod)
{
    return (unsigned) mod < PD_MM_COUNT ? module_names[mod] : "other";
}

const char *
pd_metrics_action_name(int action)
{
    return action >= 0 && action < PD_MA_COUNT ? action_names[action] : "OTHER";
}

const char *
pd_metrics_stamp_name(int outcome)
{
    return outcome >= 0 && outcome < PD_MS_COUNT ? stamp_names[outcome] : "other";
}

double
pd_metrics_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

struct pd_metrics *
pd_metrics_new(void)
{
    struct pd_metrics *m = malloc(sizeof *m);
    if (m == NULL)
        return NULL;
    /* atomic_init for every counter: the struct is nothing but counters. */
    counter *c = (counter *) m;
    for (size_t i = 0; i < sizeof *m / sizeof *c; i++)
        atomic_init(&c[i], 0);
    return m;
}

void
pd_metrics_free(struct pd_metrics *m)
{
    free(m);
}

static void
add(counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void
observe(struct histogram *h, const double *le, size_t n, double value, uint64_t sum)
{
    size_t i = 0;
    while (i < n && value > le[i])
        i++;
    add(&h->bucket[i], 1);
    add(&h->count, 1);
    add(&h->sum, sum);
}

static uint64_t
nanoseconds(double seconds)
{
    if (!(seconds > 0))
        return 0;
    if (seconds > 1e9)
        return (uint64_t) 1e18;
    return (uint64_t) (seconds * 1e9 + 0.5);
}

void
pd_metrics_decision(struct pd_metrics *m, enum pd_metrics_frontend frontend,
                    enum pd_metrics_module module, int action, double seconds)
{
    if (m == NULL || (unsigned) frontend >= PD_MF_COUNT)
        return;
    if ((unsigned) module >= PD_MM_COUNT)
        module = PD_MM_NONE;
    if (action < 0 || action >= PD_MA_COUNT)
        action = PD_MA_COUNT - 1;
    add(&m->decisions[frontend][module][action], 1);
    observe(&m->latency[frontend], latency_le, N_LATENCY, seconds, nanoseconds(seconds));
}

void
pd_metrics_stamp(struct pd_metrics *m, int outcome)
{
    if (m != NULL && outcome >= 0 && outcome < PD_MS_COUNT)
        add(&m->stamps[outcome], 1);
}

void
pd_metrics_price(struct pd_metrics *m, int bits)
{
    if (m == NULL)
        return;
    if (bits < 0)
        bits = 0;
    observe(&m->price, price_le, N_PRICE, bits, (uint64_t) bits);
}

void
pd_metrics_store_op(struct pd_metrics *m, enum pd_metrics_store store, int failed)
{
    if (m == NULL || (unsigned) store >= PD_MST_COUNT)
        return;
    add(&m->store_ops[store], 1);
    if (failed)
        add(&m->store_errors[store], 1);
}

void
pd_metrics_store_outage(struct pd_metrics *m, enum pd_metrics_store store)
{
    if (m != NULL && (unsigned) store < PD_MST_COUNT)
        add(&m->store_outages[store], 1);
}

void
pd_metrics_mint(struct pd_metrics *m, double seconds)
{
    if (m != NULL)
        observe(&m->mint, mint_le, N_MINT, seconds, nanoseconds(seconds));
}

/* The three counters of a resolver, in the registry's order. */
static void
dns_triple(const struct pd_dns_stats *s, uint64_t out[3])
{
    out[0] = s->lookups;
    out[1] = s->timeouts;
    out[2] = s->cache_hits;
}

void
pd_metrics_dns_fold(struct pd_metrics *m, enum pd_metrics_resolver resolver,
                    const struct pd_dns_stats *old)
{
    if (m == NULL || old == NULL || (unsigned) resolver >= PD_MR_COUNT)
        return;
    uint64_t v[3];
    dns_triple(old, v);
    for (int i = 0; i < 3; i++)
        add(&m->dns[resolver][i], v[i]);
}

size_t
pd_metrics_escape_label(const char *value, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = value; *p != '\0'; p++) {
        const char *rep = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        char one[2] = { *p, '\0' };
        for (const char *r = rep != NULL ? rep : one; *r != '\0'; r++, n++)
            if (size > 0 && n < size - 1)
                out[n] = *r;
    }
    if (size > 0)
        out[n < size ? n : size - 1] = '\0';
    return n;
}

/* ---- rendering ----------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
put(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t) n < b->cap - b->len) {
            b->len += (size_t) n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t) n;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static void
header(struct buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t
get(counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* max(value, what was shown before), and remember it. */
static uint64_t
never_lower(counter *shown, uint64_t value)
{
    uint64_t seen = get(shown);
    while (value > seen &&
           !atomic_compare_exchange_weak_explicit(shown, &seen, value, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
    return value > seen ? value : seen;
}

/* One histogram's series; labels: "" or `name="value"` (already escaped),
 * seconds: its sum is in nanoseconds. */
static void
histogram(struct buf *b, const char *name, const char *labels, struct histogram *h,
          const double *le, size_t n, int seconds)
{
    const char *sep = labels[0] != '\0' ? "," : "";
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= n; i++) {
        cumulative += get(&h->bucket[i]);
        if (i < n)
            put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, le[i],
                (unsigned long long) cumulative);
        else
            put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                (unsigned long long) cumulative);
    }
    uint64_t sum = get(&h->sum);
    if (seconds)
        put(b, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
            (double) sum / 1e9);
    else
        put(b, "%s_sum%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
            (unsigned long long) sum);
    /* The count is the sum of the buckets as read, so that +Inf and
     * _count agree even while other threads observe. */
    put(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
        (unsigned long long) cumulative);
}

int
pd_metrics_render(struct pd_metrics *m, const struct pd_dns_stats *dns, char **out,
                  size_t *len)
{
    struct buf b = { malloc(8192), 0, 8192, 0 };
    char v1[64], v2[64], v3[64], labels[256];

    *out = NULL;
    *len = 0;
    if (b.p == NULL)
        return -1;
    b.p[0] = '\0';

    header(&b, "postage_decisions_total", "counter",
           "Decisions made, by front-end, the module that made them and their action.");
    for (int f = 0; f < PD_MF_COUNT; f++)
        for (int mod = 0; mod < PD_MM_COUNT; mod++)
            for (int a = 0; a < PD_MA_COUNT; a++) {
                uint64_t n = get(&m->decisions[f][mod][a]);
                if (n == 0)
                    continue;   /* a series appears with its first decision */
                pd_metrics_escape_label(frontend_names[f], v1, sizeof v1);
                pd_metrics_escape_label(module_names[mod], v2, sizeof v2);
                pd_metrics_escape_label(action_names[a], v3, sizeof v3);
                put(&b, "postage_decisions_total{frontend=\"%s\",module=\"%s\",action=\"%s\"} "
                    "%llu\n", v1, v2, v3, (unsigned long long) n);
            }

    header(&b, "postage_request_duration_seconds", "histogram",
           "Time a front-end took to answer one request, in seconds.");
    for (int f = 0; f < PD_MF_COUNT; f++) {
        pd_metrics_escape_label(frontend_names[f], v1, sizeof v1);
        snprintf(labels, sizeof labels, "frontend=\"%s\"", v1);
        histogram(&b, "postage_request_duration_seconds", labels, &m->latency[f], latency_le,
                  N_LATENCY, 1);
    }

    header(&b, "postage_stamps_total", "counter",
           "Stamps seen at end of headers, by result: paid, replayed, or why one did not pay.");
    for (int s = 0; s < PD_MS_COUNT; s++) {
        pd_metrics_escape_label(stamp_names[s], v1, sizeof v1);
        put(&b, "postage_stamps_total{result=\"%s\"} %llu\n", v1,
            (unsigned long long) get(&m->stamps[s]));
    }

    header(&b, "postage_message_price", "histogram",
           "Postage asked of each message, in Hashcash bits.");
    histogram(&b, "postage_message_price", "", &m->price, price_le, N_PRICE, 0);

    header(&b, "postage_store_operations_total", "counter",
           "Calls into the state store and the spent-stamp store.");
    for (int s = 0; s < PD_MST_COUNT; s++)
        put(&b, "postage_store_operations_total{store=\"%s\"} %llu\n", store_names[s],
            (unsigned long long) get(&m->store_ops[s]));
    header(&b, "postage_store_errors_total", "counter",
           "Store calls that failed (each answered with on_error).");
    for (int s = 0; s < PD_MST_COUNT; s++)
        put(&b, "postage_store_errors_total{store=\"%s\"} %llu\n", store_names[s],
            (unsigned long long) get(&m->store_errors[s]));
    header(&b, "postage_store_outages_total", "counter",
           "Times a store went down (Redis unreachable), as logged.");
    for (int s = 0; s < PD_MST_COUNT; s++)
        put(&b, "postage_store_outages_total{store=\"%s\"} %llu\n", store_names[s],
            (unsigned long long) get(&m->store_outages[s]));

    static const char *const dns_names[3][2] = {
        { "postage_dns_lookups_total",
          "DNS lookups, by resolver: checks (HELO and SPF), stamp (_postage prices)." },
        { "postage_dns_timeouts_total", "DNS lookups that timed out." },
        { "postage_dns_cache_hits_total", "DNS lookups answered from the resolver's cache." },
    };
    for (int i = 0; i < 3; i++) {
        header(&b, dns_names[i][0], "counter", dns_names[i][1]);
        for (int r = 0; r < PD_MR_COUNT; r++) {
            uint64_t now[3] = { 0, 0, 0 };
            if (dns != NULL)
                dns_triple(&dns[r], now);
            put(&b, "%s{resolver=\"%s\"} %llu\n", dns_names[i][0], resolver_names[r],
                (unsigned long long) never_lower(&m->dns_shown[r][i],
                                                 get(&m->dns[r][i]) + now[i]));
        }
    }

    header(&b, "postage_mint_duration_seconds", "histogram",
           "Time the stamping front-end spent minting one message's stamps, in seconds.");
    histogram(&b, "postage_mint_duration_seconds", "", &m->mint, mint_le, N_MINT, 1);

    if (b.failed) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
