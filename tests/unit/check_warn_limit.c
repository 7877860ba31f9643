/*
 * check_warn_limit.c - unit tests of the policy server's per-client
 * warning budget (policy/frontends/warn_limit.c): the first `limit` warnings of an
 * interval pass, the rest are counted and reported once, clients are
 * independent, and a full table stays bounded and loses no count.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/frontends/warn_limit.h"
#include "tests/unit/check_main.h"

struct reports {
    unsigned n;
    char client[8][PD_WARN_LIMIT_KEY_MAX];
    unsigned long suppressed[8];
    unsigned long total;
};

static void
record(const char *client, unsigned long suppressed, int64_t seconds, void *arg)
{
    struct reports *r = arg;
    ck_assert_int_ge(seconds, 0);
    if (r->n < 8) {
        snprintf(r->client[r->n], sizeof r->client[r->n], "%s", client);
        r->suppressed[r->n] = suppressed;
    }
    r->n++;
    r->total += suppressed;
}

START_TEST(test_budget)
{
    struct reports r = { 0 };
    struct pd_warn_limit *w = pd_warn_limit_new(3, 60, record, &r);
    ck_assert_ptr_nonnull(w);
    unsigned passed = 0;
    for (int i = 0; i < 1000; i++)
        passed += (unsigned) pd_warn_limit_allow(w, "192.0.2.1", 100);
    ck_assert_uint_eq(passed, 3);
    /* Another client has its own budget. */
    ck_assert(pd_warn_limit_allow(w, "192.0.2.2", 100));
    /* Nothing reported before the interval is over ... */
    pd_warn_limit_flush(w, 159);
    ck_assert_uint_eq(r.n, 0);
    /* ... then one summary for the client that had warnings suppressed. */
    pd_warn_limit_flush(w, 160);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.client[0], "192.0.2.1");
    ck_assert_uint_eq(r.suppressed[0], 997);
    /* A new interval, a new budget. */
    ck_assert(pd_warn_limit_allow(w, "192.0.2.1", 161));
    pd_warn_limit_free(w);
}
END_TEST

START_TEST(test_new_interval_on_warning)
{
    struct reports r = { 0 };
    struct pd_warn_limit *w = pd_warn_limit_new(1, 10, record, &r);
    ck_assert(pd_warn_limit_allow(w, "c", 0));
    ck_assert(!pd_warn_limit_allow(w, "c", 5));
    ck_assert(!pd_warn_limit_allow(w, "c", 9));
    /* The interval is over: the count is reported when the next comes. */
    ck_assert(pd_warn_limit_allow(w, "c", 10));
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.suppressed[0], 2);
    /* flush_all reports what is pending, interval over or not. */
    ck_assert(!pd_warn_limit_allow(w, "c", 11));
    pd_warn_limit_flush_all(w, 12);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_uint_eq(r.suppressed[1], 1);
    pd_warn_limit_free(w);
}
END_TEST

START_TEST(test_full_table)
{
    struct reports r = { 0 };
    struct pd_warn_limit *w = pd_warn_limit_new(0, 60, record, &r);
    unsigned long sent = 0;
    char name[32];
    /* Four times as many clients as places, each warned twice (limit 0:
     * all suppressed); every count is reported once, none lost. */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 4 * PD_WARN_LIMIT_CLIENTS; i++) {
            snprintf(name, sizeof name, "198.51.100.%d", i);
            ck_assert(!pd_warn_limit_allow(w, name, i));
            sent++;
        }
    pd_warn_limit_flush_all(w, 100000);
    ck_assert_uint_eq(r.total, sent);
    pd_warn_limit_free(w);
    /* An empty key counts as "-". */
    struct reports e = { 0 };
    w = pd_warn_limit_new(0, 60, record, &e);
    ck_assert(!pd_warn_limit_allow(w, "", 0));
    pd_warn_limit_flush_all(w, 1);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.client[0], "-");
    pd_warn_limit_free(w);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("warn_limit");
    TCase *t = tcase_create("budget");
    tcase_add_test(t, test_budget);
    tcase_add_test(t, test_new_interval_on_warning);
    tcase_add_test(t, test_full_table);
    suite_add_tcase(s, t);
    return s;
}
