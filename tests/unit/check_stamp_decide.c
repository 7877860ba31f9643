/*
 * check_stamp_decide.c - unit tests of the stamping milter's decisions
 * (policy/frontends/stamp_decide.c, stamp_config.c): which mail is
 * stamped (authenticated, Postfix's local submission told from a loopback
 * SMTP client by its port 0, stamp_clients networks, outside), which
 * stamp already in a message pays for a recipient (resource, case, its
 * claimed bits really there, date), the settings it refuses, and the
 * p95 rule that leaves out, before minting, the stamps that cannot be
 * minted in time.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy/engine/settings.h"
#include "policy/frontends/stamp_config.h"
#include "policy/frontends/stamp_decide.h"
#include "policy/frontends/stamp_mint.h"
#include "postage/mint.h"
#include "postage/status.h"
#include "tests/unit/check_main.h"

static struct pd_stamp_config *
config_with(const char *key, const char *value)
{
    struct pd_settings s;
    char err[512];
    pd_settings_defaults(&s, "/nonexistent");
    if (key != NULL)
        ck_assert_msg(pd_settings_set(&s, key, value, err, sizeof err) == 0, "%s", err);
    struct pd_stamp_config *c = pd_stamp_config_new(&s, err, sizeof err);
    pd_settings_free(&s);
    return c;
}

START_TEST(test_who)
{
    struct pd_stamp_config *c = config_with(NULL, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(pd_stamp_who(c, "alice", "[203.0.113.5]", "203.0.113.5", 4444),
                     PD_STAMP_WHO_AUTHENTICATED);
    ck_assert_int_eq(pd_stamp_who(c, "", "[203.0.113.5]", "203.0.113.5", 4444),
                     PD_STAMP_WHO_OUTSIDE);
    ck_assert_int_eq(pd_stamp_who(c, NULL, "localhost", "127.0.0.1", 0), PD_STAMP_WHO_LOCAL);
    /* the same name and address on a real port is an SMTP client on the
     * loopback: in stamp_clients by default, but not "local" */
    ck_assert_int_eq(pd_stamp_who(c, NULL, "localhost", "127.0.0.1", 40000),
                     PD_STAMP_WHO_CLIENT);
    ck_assert_int_eq(pd_stamp_who(c, NULL, "[::1]", "::1", 40000), PD_STAMP_WHO_CLIENT);
    ck_assert_int_eq(pd_stamp_who(c, NULL, "unknown", "", 0), PD_STAMP_WHO_OUTSIDE);
    pd_stamp_config_unref(c);

    c = config_with("stamp_clients", "");
    ck_assert_int_eq(pd_stamp_who(c, NULL, "localhost", "127.0.0.1", 40000),
                     PD_STAMP_WHO_OUTSIDE);
    ck_assert_int_eq(pd_stamp_who(c, NULL, "localhost", "127.0.0.1", 0), PD_STAMP_WHO_LOCAL);
    pd_stamp_config_unref(c);

    c = config_with("stamp_clients", "192.0.2.0/24, 2001:db8::/32");
    ck_assert_int_eq(pd_stamp_who(c, NULL, "[192.0.2.9]", "192.0.2.9", 25), PD_STAMP_WHO_CLIENT);
    ck_assert_int_eq(pd_stamp_who(c, NULL, "x", "2001:db8::7", 25), PD_STAMP_WHO_CLIENT);
    ck_assert_int_eq(pd_stamp_who(c, NULL, "x", "192.0.3.9", 25), PD_STAMP_WHO_OUTSIDE);
    pd_stamp_config_unref(c);
}
END_TEST

START_TEST(test_refused_settings)
{
    ck_assert_ptr_null(config_with("stamp_clients", "10.0.0.0/33"));
    ck_assert_ptr_null(config_with("stamp_clients", "10.0.0.1/8"));
    ck_assert_ptr_null(config_with("stamp_sendmail", "sendmail -C x"));
    struct pd_stamp_config *c = config_with("stamp_sendmail", "/usr/sbin/sendmail  -C\t/etc/x ");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->sendmail_argc, 3);
    ck_assert_str_eq(c->sendmail_argv[2], "/etc/x");
    ck_assert_ptr_null(c->sendmail_argv[3]);
    pd_stamp_config_unref(c);

    struct pd_settings s;
    char err[256];
    pd_settings_defaults(&s, "/nonexistent");
    ck_assert_uint_eq(s.stamp_default_bits, PD_STAMP_BITS_NONE);
    ck_assert_int_eq(pd_settings_set(&s, "stamp_default_bits", "12", err, sizeof err), 0);
    ck_assert_uint_eq(s.stamp_default_bits, 12);
    ck_assert_int_eq(pd_settings_set(&s, "stamp_default_bits", "41", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "or none") != NULL, "%s", err);
    ck_assert_int_eq(pd_settings_set(&s, "stamp_default_bits", "none", err, sizeof err), 0);
    ck_assert_uint_eq(s.stamp_default_bits, PD_STAMP_BITS_NONE);
    pd_settings_free(&s);
}
END_TEST

static void
mint(const char *resource, unsigned bits, int64_t when, char *out, size_t size)
{
    struct postage_mint_options o;
    postage_mint_options_init(&o, when);
    o.bits = bits;
    o.threads = 1;
    ck_assert_int_eq(postage_mint(resource, &o, out, size, NULL), POSTAGE_OK);
}

START_TEST(test_find_valid)
{
    struct pd_stamp_config *c = config_with(NULL, NULL);
    int64_t now = (int64_t) time(NULL);
    char bob[POSTAGE_MINT_STAMP_SIZE], carol[POSTAGE_MINT_STAMP_SIZE];
    char old[POSTAGE_MINT_STAMP_SIZE], forged[POSTAGE_MINT_STAMP_SIZE];
    mint("carol@example.org", 8, now, carol, sizeof carol);
    mint("bob@example.org", 8, now, bob, sizeof bob);
    mint("bob@example.org", 8, now - 60 * 86400, old, sizeof old);
    /* a claim of 30 bits on an 8-bit stamp: not what it says */
    snprintf(forged, sizeof forged, "1:30:%s", strchr(bob + 2, ':') + 1);
    char *stamps[] = { carol, old, forged, bob };
    ck_assert_int_eq(pd_stamp_find_valid(c, "bob@example.org", stamps, 4, now), 3);
    ck_assert_int_eq(pd_stamp_find_valid(c, "Bob@Example.ORG", stamps, 4, now), 3);
    ck_assert_int_eq(pd_stamp_find_valid(c, "carol@example.org", stamps, 4, now), 0);
    ck_assert_int_eq(pd_stamp_find_valid(c, "dave@example.org", stamps, 4, now), -1);
    /* without the good one: the expired and the forged ones pay nothing */
    ck_assert_int_eq(pd_stamp_find_valid(c, "bob@example.org", stamps, 3, now), -1);
    pd_stamp_config_unref(c);
}
END_TEST

START_TEST(test_fit_budget)
{
    struct postage_mint_batch_item it[4] = {
        { .bits = 20 }, { .bits = 26 }, { .bits = 10 }, { .bits = 20 },
    };
    unsigned char drop[4];
    /* not measured yet: everything is tried, the deadline decides */
    ck_assert_uint_eq(pd_stamp_fit_budget(it, 4, 0, 1.0, drop), 0);
    /* 2^26 trials alone take 3 s at 2^26/s on average, ~9 s at p95 */
    double rate = ldexp(1.0, 26);
    ck_assert_uint_eq(pd_stamp_fit_budget(it, 4, rate, 100.0, drop), 0);
    ck_assert_uint_eq(pd_stamp_fit_budget(it, 4, rate, 1.0, drop), 1);
    ck_assert(drop[1] && !drop[0] && !drop[2] && !drop[3]);
    /* one 20-bit stamp: p95 ln(20) * 2^20 / 2^26 = 0.047 s */
    ck_assert_uint_eq(pd_stamp_fit_budget(it, 1, rate, 0.05, drop), 0);
    ck_assert_uint_eq(pd_stamp_fit_budget(it, 1, rate, 0.04, drop), 1);
    /* nothing fits: all dropped, the costliest first */
    ck_assert_uint_eq(pd_stamp_fit_budget(it, 4, rate, 0.0, drop), 4);
    ck_assert_uint_eq(pd_stamp_fit_budget(it, 4, rate, 0.00005, drop), 3);
    ck_assert(drop[0] && drop[1] && !drop[2] && drop[3]);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("stamp_decide");
    TCase *t = tcase_create("decide");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_who);
    tcase_add_test(t, test_refused_settings);
    tcase_add_test(t, test_find_valid);
    tcase_add_test(t, test_fit_budget);
    suite_add_tcase(s, t);
    return s;
}
