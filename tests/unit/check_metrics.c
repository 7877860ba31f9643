/*
 * check_metrics.c - unit tests of postaged's metrics registry and its
 * Prometheus text rendering (policy/base/metrics.c), without HTTP: every
 * family is there with its HELP and TYPE lines, each hook counts under
 * the right labels, histograms are cumulative with a +Inf bucket equal to
 * _count, label values are escaped, a reload's folding of the resolver's
 * counters never shows them lower, and threads count without losing any.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/metrics.h"
#include "policy/checks/verdict.h"
#include "policy/engine/engine.h"
#include "tests/unit/check_main.h"

static char *
render(struct pd_metrics *m, const struct pd_dns_stats *dns)
{
    char *text;
    size_t len;
    ck_assert_int_eq(pd_metrics_render(m, dns, &text, &len), 0);
    ck_assert_uint_eq(strlen(text), len);
    ck_assert(len > 0 && text[len - 1] == '\n');
    return text;
}

/* Is `line` one whole line of text? */
static int
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

#define ck_line(text, line) ck_assert_msg(has_line(text, line), "missing line: %s", line)

START_TEST(test_empty)
{
    struct pd_metrics *m = pd_metrics_new();
    ck_assert_ptr_nonnull(m);
    char *t = render(m, NULL);
    static const char *const families[][2] = {
        { "postage_decisions_total", "counter" },
        { "postage_request_duration_seconds", "histogram" },
        { "postage_stamps_total", "counter" },
        { "postage_message_price", "histogram" },
        { "postage_store_operations_total", "counter" },
        { "postage_store_errors_total", "counter" },
        { "postage_store_outages_total", "counter" },
        { "postage_dns_lookups_total", "counter" },
        { "postage_dns_timeouts_total", "counter" },
        { "postage_dns_cache_hits_total", "counter" },
        { "postage_mint_duration_seconds", "histogram" },
    };
    char line[256];
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        snprintf(line, sizeof line, "# TYPE %s %s", families[i][0], families[i][1]);
        ck_line(t, line);
        snprintf(line, sizeof line, "# HELP %s ", families[i][0]);
        ck_assert_ptr_nonnull(strstr(t, line));
    }
    /* no decision yet: the family is announced, no series */
    ck_assert_ptr_null(strstr(t, "postage_decisions_total{"));
    ck_line(t, "postage_stamps_total{result=\"paid\"} 0");
    ck_line(t, "postage_store_operations_total{store=\"state\"} 0");
    ck_line(t, "postage_dns_lookups_total{resolver=\"checks\"} 0");
    ck_line(t, "postage_dns_lookups_total{resolver=\"stamp\"} 0");
    ck_line(t, "postage_message_price_bucket{le=\"+Inf\"} 0");
    ck_line(t, "postage_message_price_count 0");
    ck_line(t, "postage_request_duration_seconds_count{frontend=\"stamp\"} 0");
    free(t);
    pd_metrics_free(m);
}
END_TEST

START_TEST(test_decisions)
{
    struct pd_metrics *m = pd_metrics_new();
    for (int i = 0; i < 3; i++)
        pd_metrics_decision(m, PD_MF_POLICY, PD_MM_GREYLIST, PD_DEFER, 0.0001);
    pd_metrics_decision(m, PD_MF_POLICY, PD_MM_NONE, PD_DUNNO, 0.3);
    pd_metrics_decision(m, PD_MF_MILTER, PD_MM_POSTAGE, PD_DUNNO, 0.002);
    pd_metrics_decision(m, PD_MF_STAMP, PD_MM_STAMP, PD_MA_TEMPFAIL, 20);
    pd_metrics_decision(m, PD_MF_MILTER, PD_MM_ACCESS, 99, 0);     /* out of range */
    pd_metrics_decision(m, PD_MF_COUNT, PD_MM_ACCESS, PD_OK, 0);   /* no such front-end */
    char *t = render(m, NULL);
    ck_line(t, "postage_decisions_total{frontend=\"policy\",module=\"greylist\",action=\"DEFER\"} 3");
    ck_line(t, "postage_decisions_total{frontend=\"policy\",module=\"none\",action=\"DUNNO\"} 1");
    ck_line(t, "postage_decisions_total{frontend=\"milter\",module=\"postage\",action=\"DUNNO\"} 1");
    ck_line(t, "postage_decisions_total{frontend=\"stamp\",module=\"stamp\",action=\"TEMPFAIL\"} 1");
    ck_line(t, "postage_decisions_total{frontend=\"milter\",module=\"access\",action=\"OTHER\"} 1");
    ck_assert_ptr_null(strstr(t, "action=\"OK\""));
    /* latency: cumulative buckets, +Inf = _count, the sum in seconds */
    ck_line(t, "postage_request_duration_seconds_bucket{frontend=\"policy\",le=\"0.0005\"} 3");
    ck_line(t, "postage_request_duration_seconds_bucket{frontend=\"policy\",le=\"0.25\"} 3");
    ck_line(t, "postage_request_duration_seconds_bucket{frontend=\"policy\",le=\"0.5\"} 4");
    ck_line(t, "postage_request_duration_seconds_bucket{frontend=\"policy\",le=\"+Inf\"} 4");
    ck_line(t, "postage_request_duration_seconds_count{frontend=\"policy\"} 4");
    ck_line(t, "postage_request_duration_seconds_sum{frontend=\"policy\"} 0.300300000");
    ck_line(t, "postage_request_duration_seconds_bucket{frontend=\"stamp\",le=\"10\"} 0");
    ck_line(t, "postage_request_duration_seconds_bucket{frontend=\"stamp\",le=\"+Inf\"} 1");
    ck_line(t, "postage_request_duration_seconds_count{frontend=\"milter\"} 2");
    free(t);
    pd_metrics_free(m);
}
END_TEST

START_TEST(test_stamps_prices_stores)
{
    struct pd_metrics *m = pd_metrics_new();
    pd_metrics_stamp(m, PD_STAMP_PAID);
    pd_metrics_stamp(m, PD_STAMP_REPLAYED);
    pd_metrics_stamp(m, PD_STAMP_REPLAYED);
    pd_metrics_stamp(m, PD_STAMP_UNDERPAID);
    pd_metrics_stamp(m, PD_STAMP_OUT_OF_BOUNDS);
    pd_metrics_stamp(m, 1000);   /* ignored */
    int bits[] = { 0, 4, 5, 28, 30, -3 };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        pd_metrics_price(m, bits[i]);
    pd_metrics_store_op(m, PD_MST_STATE, 0);
    pd_metrics_store_op(m, PD_MST_STATE, 1);
    pd_metrics_store_op(m, PD_MST_STAMPS, 0);
    pd_metrics_store_outage(m, PD_MST_STAMPS);
    pd_metrics_mint(m, 0.2);
    char *t = render(m, NULL);
    ck_line(t, "postage_stamps_total{result=\"paid\"} 1");
    ck_line(t, "postage_stamps_total{result=\"replayed\"} 2");
    ck_line(t, "postage_stamps_total{result=\"underpaid\"} 1");
    ck_line(t, "postage_stamps_total{result=\"out_of_bounds\"} 1");
    ck_line(t, "postage_stamps_total{result=\"invalid\"} 0");
    /* prices 0, 4, 5, 28, 30 and -3 taken as 0 */
    ck_line(t, "postage_message_price_bucket{le=\"0\"} 2");
    ck_line(t, "postage_message_price_bucket{le=\"4\"} 3");
    ck_line(t, "postage_message_price_bucket{le=\"8\"} 4");
    ck_line(t, "postage_message_price_bucket{le=\"24\"} 4");
    ck_line(t, "postage_message_price_bucket{le=\"28\"} 5");
    ck_line(t, "postage_message_price_bucket{le=\"+Inf\"} 6");
    ck_line(t, "postage_message_price_sum 67");
    ck_line(t, "postage_message_price_count 6");
    ck_line(t, "postage_store_operations_total{store=\"state\"} 2");
    ck_line(t, "postage_store_errors_total{store=\"state\"} 1");
    ck_line(t, "postage_store_operations_total{store=\"stamps\"} 1");
    ck_line(t, "postage_store_errors_total{store=\"stamps\"} 0");
    ck_line(t, "postage_store_outages_total{store=\"stamps\"} 1");
    ck_line(t, "postage_store_outages_total{store=\"state\"} 0");
    ck_line(t, "postage_mint_duration_seconds_bucket{le=\"0.1\"} 0");
    ck_line(t, "postage_mint_duration_seconds_bucket{le=\"0.25\"} 1");
    ck_line(t, "postage_mint_duration_seconds_count 1");
    free(t);
    pd_metrics_free(m);
}
END_TEST

/* A reload: the new resolver takes over (counting from 0), then the old
 * one's counts are folded in.  A scrape in between must not go lower. */
START_TEST(test_dns_across_reload)
{
    struct pd_metrics *m = pd_metrics_new();
    struct pd_dns_stats dns[PD_MR_COUNT] = {
        [PD_MR_CHECKS] = { .lookups = 10, .cache_hits = 4, .timeouts = 1 },
        [PD_MR_STAMP] = { .lookups = 7 },
    };
    char *t = render(m, dns);
    ck_line(t, "postage_dns_lookups_total{resolver=\"checks\"} 10");
    ck_line(t, "postage_dns_cache_hits_total{resolver=\"checks\"} 4");
    ck_line(t, "postage_dns_timeouts_total{resolver=\"checks\"} 1");
    ck_line(t, "postage_dns_lookups_total{resolver=\"stamp\"} 7");
    ck_line(t, "postage_dns_timeouts_total{resolver=\"stamp\"} 0");
    free(t);
    struct pd_dns_stats old = dns[PD_MR_CHECKS];
    dns[PD_MR_CHECKS] = (struct pd_dns_stats) { .lookups = 2 };
    t = render(m, dns);                           /* swapped, not folded yet */
    ck_line(t, "postage_dns_lookups_total{resolver=\"checks\"} 10");
    ck_line(t, "postage_dns_cache_hits_total{resolver=\"checks\"} 4");
    free(t);
    pd_metrics_dns_fold(m, PD_MR_CHECKS, &old);
    t = render(m, dns);
    ck_line(t, "postage_dns_lookups_total{resolver=\"checks\"} 12");
    ck_line(t, "postage_dns_cache_hits_total{resolver=\"checks\"} 4");
    ck_line(t, "postage_dns_timeouts_total{resolver=\"checks\"} 1");
    ck_line(t, "postage_dns_lookups_total{resolver=\"stamp\"} 7");
    free(t);
    /* the stamping milter's reload: its own counters only */
    pd_metrics_dns_fold(m, PD_MR_STAMP, &dns[PD_MR_STAMP]);
    dns[PD_MR_STAMP] = (struct pd_dns_stats) { .lookups = 1 };
    t = render(m, dns);
    ck_line(t, "postage_dns_lookups_total{resolver=\"stamp\"} 8");
    ck_line(t, "postage_dns_lookups_total{resolver=\"checks\"} 12");
    free(t);
    /* no resolvers: the folded counts, never lower than shown before */
    t = render(m, NULL);
    ck_line(t, "postage_dns_lookups_total{resolver=\"checks\"} 12");
    ck_line(t, "postage_dns_lookups_total{resolver=\"stamp\"} 8");
    free(t);
    pd_metrics_free(m);
}
END_TEST

START_TEST(test_escape)
{
    char out[64];
    ck_assert_uint_eq(pd_metrics_escape_label("a\\b\"c\nd", out, sizeof out), 10);
    ck_assert_str_eq(out, "a\\\\b\\\"c\\nd");
    ck_assert_uint_eq(pd_metrics_escape_label("plain", out, sizeof out), 5);
    ck_assert_str_eq(out, "plain");
    /* truncated, always terminated, the full length returned */
    char small[4];
    ck_assert_uint_eq(pd_metrics_escape_label("\"\"\"", small, sizeof small), 6);
    ck_assert_str_eq(small, "\\\"\\");
    ck_assert_str_eq(pd_metrics_action_name(PD_DEFER), "DEFER");
    ck_assert_str_eq(pd_metrics_stamp_name(PD_STAMP_KIND_REFUSED), "kind_refused");
}
END_TEST

START_TEST(test_null_registry)
{
    /* every hook takes NULL: an engine without postaged counts nothing */
    pd_metrics_decision(NULL, PD_MF_POLICY, PD_MM_NONE, PD_DUNNO, 1);
    pd_metrics_stamp(NULL, PD_STAMP_PAID);
    pd_metrics_price(NULL, 3);
    pd_metrics_store_op(NULL, PD_MST_STATE, 1);
    pd_metrics_store_outage(NULL, PD_MST_STATE);
    pd_metrics_mint(NULL, 1);
    pd_metrics_dns_fold(NULL, PD_MR_CHECKS, NULL);
    pd_metrics_free(NULL);
}
END_TEST

#define THREADS 4
#define PER_THREAD 50000

static void *
hammer(void *p)
{
    struct pd_metrics *m = p;
    for (int i = 0; i < PER_THREAD; i++) {
        pd_metrics_decision(m, PD_MF_MILTER, PD_MM_GREYLIST, PD_DEFER, 0.001);
        pd_metrics_store_op(m, PD_MST_STATE, i & 1);
        pd_metrics_price(m, 8);
    }
    return NULL;
}

/* Lock-free counting loses nothing, and a scrape during it renders. */
START_TEST(test_threads)
{
    struct pd_metrics *m = pd_metrics_new();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, m), 0);
    free(render(m, NULL));
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *text = render(m, NULL), line[200];
    snprintf(line, sizeof line, "postage_decisions_total{frontend=\"milter\",module=\"greylist\","
             "action=\"DEFER\"} %d", THREADS * PER_THREAD);
    ck_line(text, line);
    snprintf(line, sizeof line, "postage_store_operations_total{store=\"state\"} %d",
             THREADS * PER_THREAD);
    ck_line(text, line);
    snprintf(line, sizeof line, "postage_store_errors_total{store=\"state\"} %d",
             THREADS * PER_THREAD / 2);
    ck_line(text, line);
    snprintf(line, sizeof line, "postage_message_price_sum %d", THREADS * PER_THREAD * 8);
    ck_line(text, line);
    snprintf(line, sizeof line, "postage_request_duration_seconds_count{frontend=\"milter\"} %d",
             THREADS * PER_THREAD);
    ck_line(text, line);
    free(text);
    pd_metrics_free(m);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *t = tcase_create("registry");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_empty);
    tcase_add_test(t, test_decisions);
    tcase_add_test(t, test_stamps_prices_stores);
    tcase_add_test(t, test_dns_across_reload);
    tcase_add_test(t, test_escape);
    tcase_add_test(t, test_null_registry);
    tcase_add_test(t, test_threads);
    suite_add_tcase(s, t);
    return s;
}
