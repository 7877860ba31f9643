/*
 * check_greylist.c - unit tests for greylisting (policy/checks/greylist.h).  The
 * state store under it has its own tests (tests/unit/check_state.c).
 *
 * Every test uses a fresh store (tests/unit/state_fixture.h: LMDB in its own
 * mkdtemp() directory, or Redis under a key prefix of its own when
 * POSTAGE_TEST_REDIS is set) and a fixed clock: `now` is passed explicitly
 * and nothing here reads the time, so the results do not depend on how
 * fast or loaded the machine is.  The race tests fork children that each
 * open their own handle, as separate postaged processes would.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/checks/greylist.h"
#include "policy/engine/settings.h"
#include "policy/state/state.h"
#include "tests/unit/state_fixture.h"
#include "tests/unit/check_main.h"

#define T0 1700000000LL         /* an arbitrary fixed "now" */
#define DAY 86400LL
#define CHILDREN 4
#define ROUNDS 500

static void
setup(void)
{
    fixture_setup("check_greylist");
}

static void
teardown(void)
{
    fixture_teardown();
}

static struct pd_state *
open_ok(unsigned flags)
{
    return fixture_open(flags);
}

static struct pd_greylist_config
defaults(void)
{
    struct pd_greylist_config c;

    pd_settings_greylist_config(pd_settings_builtin(), &c);
    return c;
}

static struct pd_greylist_decision
check_at(struct pd_state *st, const struct pd_greylist_config *cfg, const char *addr,
         const char *sender, const char *rcpt, int64_t now)
{
    struct pd_greylist_decision d;
    char net[64];
    const char *dot = strrchr(addr, '.');
    int rc;

    /* The engine masks addresses; here every test address is IPv4 /24. */
    ck_assert_ptr_nonnull(dot);
    snprintf(net, sizeof net, "%.*s.0", (int) (dot - addr), addr);
    rc = pd_greylist_check(st, cfg, net, addr, sender, rcpt, now, &d);
    ck_assert_int_eq(rc, PD_ST_OK);
    return d;
}

#define ck_decision(d, res, secs) do {                                        \
        ck_assert_int_eq((d).result, (res));                                  \
        ck_assert_int_eq((d).seconds, (secs));                                \
    } while (0)

/* ---- greylisting ----------------------------------------------------------- */

START_TEST(test_greylist_basic)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    const char *ip = "192.0.2.10", *from = "alice@example.org", *to = "bob@example.net";

    d = check_at(st, &cfg, ip, from, to, T0);
    ck_decision(d, PD_GL_DEFER, 300);
    d = check_at(st, &cfg, ip, from, to, T0 + 100);
    ck_decision(d, PD_GL_DEFER, 200);
    d = check_at(st, &cfg, ip, from, to, T0 + 299);
    ck_decision(d, PD_GL_DEFER, 1);
    d = check_at(st, &cfg, ip, from, to, T0 + 300);
    ck_decision(d, PD_GL_PASS_FIRST, 300);
    ck_assert_int_eq(d.awl, 0);
    d = check_at(st, &cfg, ip, from, to, T0 + 301);
    ck_decision(d, PD_GL_PASS, 0);
    d = check_at(st, &cfg, ip, from, to, T0 + 5000);
    ck_decision(d, PD_GL_PASS, 0);
    /* Another host of the same /24 is the same triplet. */
    d = check_at(st, &cfg, "192.0.2.77", from, to, T0 + 5001);
    ck_decision(d, PD_GL_PASS, 0);
    /* Another /24, sender or recipient is not. */
    d = check_at(st, &cfg, "192.0.3.10", from, to, T0 + 5002);
    ck_decision(d, PD_GL_DEFER, 300);
    d = check_at(st, &cfg, ip, "carol@example.org", to, T0 + 5003);
    ck_decision(d, PD_GL_DEFER, 300);
    d = check_at(st, &cfg, ip, from, "dave@example.net", T0 + 5004);
    ck_decision(d, PD_GL_DEFER, 300);
    /* Case does not matter, anywhere. */
    d = check_at(st, &cfg, ip, "ALICE@Example.ORG", "Bob@EXAMPLE.net", T0 + 5005);
    ck_decision(d, PD_GL_PASS, 0);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_retry_window)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    const char *ip = "198.51.100.1";

    /* A first retry exactly retry_window late still passes... */
    d = check_at(st, &cfg, ip, "a@x.example", "r@y.example", T0);
    ck_decision(d, PD_GL_DEFER, 300);
    d = check_at(st, &cfg, ip, "a@x.example", "r@y.example", T0 + 2 * DAY);
    ck_decision(d, PD_GL_PASS_FIRST, 2 * DAY);
    /* ...one second later it starts over. */
    d = check_at(st, &cfg, ip, "b@x.example", "r@y.example", T0);
    ck_decision(d, PD_GL_DEFER, 300);
    d = check_at(st, &cfg, ip, "b@x.example", "r@y.example", T0 + 2 * DAY + 1);
    ck_decision(d, PD_GL_DEFER, 300);
    d = check_at(st, &cfg, ip, "b@x.example", "r@y.example", T0 + 2 * DAY + 301);
    ck_decision(d, PD_GL_PASS_FIRST, 300);
    /* The same after a sweep (the entry is gone rather than reset). */
    d = check_at(st, &cfg, ip, "c@x.example", "r@y.example", T0);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_GREYLIST, T0 + 2 * DAY + 1, 0, NULL),
                     PD_ST_OK);
    d = check_at(st, &cfg, ip, "c@x.example", "r@y.example", T0 + 2 * DAY + 1);
    ck_decision(d, PD_GL_DEFER, 300);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_max_age)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    const char *ip = "203.0.113.5", *f = "news@list.example", *t = "me@here.example";
    int64_t last;

    check_at(st, &cfg, ip, f, t, T0);
    d = check_at(st, &cfg, ip, f, t, T0 + 600);
    ck_decision(d, PD_GL_PASS_FIRST, 600);
    /* Seen again now and then, it is kept... */
    last = T0 + 30 * DAY;
    d = check_at(st, &cfg, ip, f, t, last);
    ck_decision(d, PD_GL_PASS, 0);
    d = check_at(st, &cfg, ip, f, t, last + 35 * DAY);
    ck_decision(d, PD_GL_PASS, 0);
    /* ...and forgotten after max_age of silence. */
    last += 35 * DAY;
    d = check_at(st, &cfg, ip, f, t, last + 35 * DAY + 1);
    ck_decision(d, PD_GL_DEFER, 300);
    pd_state_close(st);
}
END_TEST

/* Let triplet i of client ip pass at time `at`; returns the AWL count. */
static unsigned
pass_one(struct pd_state *st, const struct pd_greylist_config *cfg, const char *ip, int i,
         int64_t at)
{
    struct pd_greylist_decision d;
    char rcpt[64];

    snprintf(rcpt, sizeof rcpt, "user%c@example.net", 'a' + i);
    d = check_at(st, cfg, ip, "sender@example.org", rcpt, at);
    ck_decision(d, PD_GL_DEFER, 300);
    d = check_at(st, cfg, ip, "sender@example.org", rcpt, at + 300);
    ck_decision(d, PD_GL_PASS_FIRST, 300);
    return d.awl_passes;
}

START_TEST(test_greylist_awl)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    const char *ip = "192.0.2.20";
    int i;

    for (i = 0; i < 5; i++)
        ck_assert_uint_eq(pass_one(st, &cfg, ip, i, T0 + i * 3600), (unsigned) i + 1);
    /* Five passes an hour apart: a new triplet from that address passes. */
    d = check_at(st, &cfg, ip, "someone@else.example", "new@example.net", T0 + 5 * 3600);
    ck_decision(d, PD_GL_PASS, 0);
    ck_assert_int_eq(d.awl, 1);
    /* The whitelist is keyed on the full address, not the /24. */
    d = check_at(st, &cfg, "192.0.2.21", "someone@else.example", "new@example.net",
                 T0 + 5 * 3600);
    ck_decision(d, PD_GL_DEFER, 300);
    ck_assert_int_eq(d.awl, 0);
    /* Forgotten after max_age without a count (the last one was at
     * T0 + 4 h 5 min: the visit at T0 + 5 h came within the hour). */
    d = check_at(st, &cfg, ip, "x@else.example", "new2@example.net",
                 T0 + 5 * 3600 + 35 * DAY + 1);
    ck_decision(d, PD_GL_DEFER, 300);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_awl_once_per_hour)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    const char *ip = "192.0.2.30";
    int i;

    /* Six triplets passing within one hour earn one point. */
    for (i = 0; i < 6; i++)
        ck_assert_uint_eq(pass_one(st, &cfg, ip, i, T0 + i * 60), 1);
    d = check_at(st, &cfg, ip, "someone@else.example", "new@example.net", T0 + 3000);
    ck_decision(d, PD_GL_DEFER, 300);
    /* A first pass 3599 s after the point does not count; at 3600 s the
     * next one does. */
    ck_assert_uint_eq(pass_one(st, &cfg, ip, 9, T0 + 3599), 1);
    ck_assert_uint_eq(pass_one(st, &cfg, ip, 10, T0 + 3600), 2);
    /* Passes of known triplets do not count at all. */
    d = check_at(st, &cfg, ip, "sender@example.org", "usera@example.net", T0 + 9000);
    ck_decision(d, PD_GL_PASS, 0);
    ck_assert_uint_eq(pass_one(st, &cfg, ip, 11, T0 + 3600 + 3600), 3);
    /* awl_count 0 turns the whitelist off. */
    cfg.awl_count = 0;
    ck_assert_uint_eq(pass_one(st, &cfg, "198.51.100.31", 0, T0), 0);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_training)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    const char *ip = "192.0.2.40", *f = "a@b.example", *t = "c@d.example";

    cfg.training = 1;
    d = check_at(st, &cfg, ip, f, t, T0);
    ck_decision(d, PD_GL_PASS, 0);
    ck_assert_int_eq(d.would, PD_GL_DEFER);
    ck_assert_int_eq(d.would_seconds, 300);
    d = check_at(st, &cfg, ip, f, t, T0 + 10);
    ck_decision(d, PD_GL_PASS, 0);
    ck_assert_int_eq(d.would, PD_GL_DEFER);
    ck_assert_int_eq(d.would_seconds, 290);
    d = check_at(st, &cfg, ip, f, t, T0 + 400);
    ck_decision(d, PD_GL_PASS, 0);
    ck_assert_int_eq(d.would, PD_GL_PASS_FIRST);
    ck_assert_int_eq(d.would_seconds, 400);
    /* What training recorded holds once it is switched off. */
    cfg.training = 0;
    d = check_at(st, &cfg, ip, f, t, T0 + 500);
    ck_decision(d, PD_GL_PASS, 0);
    d = check_at(st, &cfg, ip, "new@b.example", t, T0 + 500);
    ck_decision(d, PD_GL_DEFER, 300);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_delay_zero_and_clock_back)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;

    cfg.delay = 0;
    d = check_at(st, &cfg, "192.0.2.50", "a@b.example", "c@d.example", T0);
    ck_decision(d, PD_GL_PASS, 0);    /* nothing was delayed: no header */
    cfg.delay = 300;
    d = check_at(st, &cfg, "198.51.100.51", "a@b.example", "c@d.example", T0);
    ck_decision(d, PD_GL_DEFER, 300);
    /* The clock went back: never a negative wait or a negative answer. */
    d = check_at(st, &cfg, "198.51.100.51", "a@b.example", "c@d.example", T0 - 1000);
    ck_decision(d, PD_GL_DEFER, 300);
    d = check_at(st, &cfg, "198.51.100.51", "a@b.example", "c@d.example", T0 - 700);
    ck_decision(d, PD_GL_PASS_FIRST, 300);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_normalize)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "Alice@Example.ORG", "alice@example.org" },
        { "", "" },
        { "postmaster", "postmaster" },
        { "user+ext@example.org", "user@example.org" },
        { "user+a+b@example.org", "user@example.org" },
        { "prvs=1234abcdef=user@example.org", "user@example.org" },
        { "PRVS=0123ABCDEF=User@Example.org", "user@example.org" },
        { "prvs=user/0123abcdef@example.org", "user@example.org" },
        { "prvs=1234abcdef=user+tag@example.org", "user@example.org" },
        { "bounce-12345-678@lists.example", "bounce-#-#@lists.example" },
        { "list-bounces-1234567@x.example", "list-bounces-#@x.example" },
        { "12345@x.example", "#@x.example" },
        { "user123@x.example", "user123@x.example" },
        { "a_12@x.example", "a_12@x.example" },
        { "a.12.b@x.example", "a.#.b@x.example" },
        { "42-1@x.example", "#-#@x.example" },
        { "user@123.example", "user@123.example" },      /* domain untouched */
        { "a@b@c", "a@b@c" },
        { "prvs=@x.example", "prvs=@x.example" },
        { "prvs==user@x.example", "prvs==user@x.example" },
        { "prvs=tag=@x.example", "prvs=tag=@x.example" },
        { "+@x.example", "@x.example" },
    };
    char out[128];
    size_t i;
    int n;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        n = pd_greylist_normalize_sender(cases[i].in, out, sizeof out);
        ck_assert_msg(n >= 0, "case %zu: %s", i, cases[i].in);
        ck_assert_msg(strcmp(out, cases[i].out) == 0, "%s -> %s, want %s", cases[i].in, out,
                      cases[i].out);
        ck_assert_int_eq((size_t) n, strlen(out));
    }
    ck_assert_int_eq(pd_greylist_normalize_sender("toolong@x", out, 5), -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(pd_greylist_normalize_sender(NULL, out, sizeof out), -1);
}
END_TEST

START_TEST(test_greylist_verp_same_triplet)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;

    check_at(st, &cfg, "192.0.2.60", "bounce-1001@lists.example", "me@here.example", T0);
    d = check_at(st, &cfg, "192.0.2.60", "bounce-1002@lists.example", "me@here.example",
                 T0 + 300);
    ck_decision(d, PD_GL_PASS_FIRST, 300);
    d = check_at(st, &cfg, "192.0.2.60", "prvs=4321fedcba=bounce-77+x@lists.example",
                 "me@here.example", T0 + 400);
    ck_decision(d, PD_GL_PASS, 0);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_hostile_input)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    static char longs[PD_GL_ADDR_MAX + 2], longr[PD_GL_ADDR_MAX + 1];
    char net[PD_GL_NET_MAX + 2];

    ck_assert_int_eq(pd_greylist_check(st, &cfg, NULL, "1.2.3.4", "", "r@x", T0, &d),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(d.result, PD_GL_DEFER);
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "", "1.2.3.4", "", "r@x", T0, &d),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "1.2.3.0", "", "", "r@x", T0, &d),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "1.2.3.0", "1.2.3.4", "", "", T0, &d),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_greylist_check(st, NULL, "1.2.3.0", "1.2.3.4", "", "r@x", T0, &d),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_greylist_check(NULL, &cfg, "1.2.3.0", "1.2.3.4", "", "r@x", T0, &d),
                     PD_ST_ERR_INVALID);
    memset(net, '1', sizeof net - 1);
    net[sizeof net - 1] = '\0';
    ck_assert_int_eq(pd_greylist_check(st, &cfg, net, "1.2.3.4", "", "r@x", T0, &d),
                     PD_ST_ERR_INVALID);
    memset(longs, 'a', sizeof longs - 1);
    longs[10] = '@';
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "1.2.3.0", "1.2.3.4", longs, "r@x", T0, &d),
                     PD_ST_ERR_INVALID);
    /* The longest accepted addresses work, and differ by their last byte. */
    longs[PD_GL_ADDR_MAX] = '\0';
    memset(longr, 'b', sizeof longr - 1);
    longr[5] = '@';
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "1.2.3.0", "1.2.3.4", longs, longr, T0, &d),
                     PD_ST_OK);
    ck_decision(d, PD_GL_DEFER, 300);
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "1.2.3.0", "1.2.3.4", longs, longr,
                                       T0 + 300, &d), PD_ST_OK);
    ck_decision(d, PD_GL_PASS_FIRST, 300);
    longr[PD_GL_ADDR_MAX - 1] = 'c';
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "1.2.3.0", "1.2.3.4", longs, longr,
                                       T0 + 300, &d), PD_ST_OK);
    ck_decision(d, PD_GL_DEFER, 300);
    /* The null sender is a sender like any other. */
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "1.2.3.0", "1.2.3.4", "", "r@x", T0, &d),
                     PD_ST_OK);
    ck_decision(d, PD_GL_DEFER, 300);
    /* Bad settings. */
    cfg.max_age = 0;
    ck_assert_int_eq(pd_greylist_check(st, &cfg, "1.2.3.0", "1.2.3.4", "", "r@x", T0, &d),
                     PD_ST_ERR_INVALID);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_reopen)
{
    struct pd_state *st = open_ok(0);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;

    d = check_at(st, &cfg, "192.0.2.70", "a@b.example", "c@d.example", T0);
    ck_decision(d, PD_GL_DEFER, 300);
    pd_state_close(st);
    st = open_ok(PD_ST_NOCREATE);
    d = check_at(st, &cfg, "192.0.2.70", "a@b.example", "c@d.example", T0 + 300);
    ck_decision(d, PD_GL_PASS_FIRST, 300);
    pd_state_close(st);
}
END_TEST

START_TEST(test_greylist_expire)
{
    struct pd_state *st;
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    uint64_t removed = 0, n = 0;

    /* What a sweep removes is LMDB's business (Redis expires keys itself). */
    fixture_use_lmdb();
    st = open_ok(PD_ST_NOSYNC);
    /* Never passed, first seen at T0: gone after T0 + 2 d. */
    check_at(st, &cfg, "192.0.2.80", "a@b.example", "c@d.example", T0);
    /* Passed at T0 + 300: kept until 35 d after that. */
    check_at(st, &cfg, "198.51.100.81", "a@b.example", "c@d.example", T0);
    check_at(st, &cfg, "198.51.100.81", "a@b.example", "c@d.example", T0 + 300);
    /* Never passed, first seen at T0 + 3 d. */
    check_at(st, &cfg, "203.0.113.82", "a@b.example", "c@d.example", T0 + 3 * DAY);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_GREYLIST, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 3);

    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_GREYLIST, T0 + 3 * DAY, 0, &removed),
                     PD_ST_OK);
    ck_assert_uint_eq(removed, 1);
    d = check_at(st, &cfg, "198.51.100.81", "a@b.example", "c@d.example", T0 + 3 * DAY + 1);
    ck_decision(d, PD_GL_PASS, 0);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_GREYLIST, T0 + 5 * DAY + 1, 0, &removed),
                     PD_ST_OK);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_GREYLIST, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_GREYLIST, T0 + 3 * DAY + 1 + 35 * DAY + 1, 0,
                                     &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 1);
    pd_state_close(st);
}
END_TEST

/* ---- races between processes ------------------------------------------------- */

/* Run `body` in CHILDREN processes, each with its own handle; each child
 * exits with the number body returns (0 .. 255).  Returns the sum. */
static int
fork_children(int (*body)(struct pd_state *st, int child))
{
    pid_t pids[CHILDREN];
    int i, status, sum = 0;

    for (i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        ck_assert_int_ne(pids[i], -1);
        if (pids[i] == 0) {
            struct pd_state *st = NULL;
            char err[PD_ST_ERRLEN];
            int r;

            if (pd_state_open(fixture_spec, PD_ST_NOSYNC, &st, err, sizeof err) != PD_ST_OK)
                _exit(255);
            r = body(st, i);
            pd_state_close(st);
            _exit(r);
        }
    }
    for (i = 0; i < CHILDREN; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 255, "child %d failed", i);
        sum += WEXITSTATUS(status);
    }
    return sum;
}

static int
race_defer_body(struct pd_state *st, int child)
{
    struct pd_greylist_config cfg;
    struct pd_greylist_decision d;
    int i;

    (void) child;
    pd_settings_greylist_config(pd_settings_builtin(), &cfg);
    for (i = 0; i < ROUNDS; i++) {
        if (pd_greylist_check(st, &cfg, "192.0.2.0", "192.0.2.90", "a@b.example",
                              "c@d.example", T0, &d) != PD_ST_OK || d.result != PD_GL_DEFER)
            return 255;
    }
    return 0;
}

static int
race_pass_body(struct pd_state *st, int child)
{
    struct pd_greylist_config cfg;
    struct pd_greylist_decision d;
    int i, first = 0;

    (void) child;
    pd_settings_greylist_config(pd_settings_builtin(), &cfg);
    for (i = 0; i < 50; i++) {
        if (pd_greylist_check(st, &cfg, "192.0.2.0", "192.0.2.90", "a@b.example",
                              "c@d.example", T0 + 1000, &d) != PD_ST_OK)
            return 255;
        if (d.result == PD_GL_PASS_FIRST)
            first++;
        else if (d.result != PD_GL_PASS)
            return 255;
    }
    return first;
}

START_TEST(test_greylist_race)
{
    struct pd_state *st;
    unsigned char v[PD_ST_VALUE_MAX];
    static const char key[] = "192.0.2.0\0a@b.example\0c@d.example";
    size_t vlen = 0;

    /* Every deferral of every process is counted: none was lost. */
    ck_assert_int_eq(fork_children(race_defer_body), 0);
    st = open_ok(0);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, key, sizeof key - 1, T0, v, sizeof v,
                                  &vlen, NULL), PD_ST_OK);
    ck_assert_uint_eq(vlen, 26);
    ck_assert_uint_eq(pd_st_get_u32(v + 18), CHILDREN * ROUNDS);   /* deferrals */
    ck_assert_int_eq(pd_st_get_i64(v + 2), T0);                     /* first seen */
    pd_state_close(st);

    /* Exactly one process sees the first pass; the passes all count. */
    ck_assert_int_eq(fork_children(race_pass_body), 1);
    st = open_ok(0);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, key, sizeof key - 1, T0 + 1000, v,
                                  sizeof v, &vlen, NULL), PD_ST_OK);
    ck_assert_uint_eq(pd_st_get_u32(v + 22), CHILDREN * 50);       /* passes */
    pd_state_close(st);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("greylist");
    TCase *tc;

    tc = tcase_create("greylist");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_greylist_basic);
    tcase_add_test(tc, test_greylist_retry_window);
    tcase_add_test(tc, test_greylist_max_age);
    tcase_add_test(tc, test_greylist_awl);
    tcase_add_test(tc, test_greylist_awl_once_per_hour);
    tcase_add_test(tc, test_greylist_training);
    tcase_add_test(tc, test_greylist_delay_zero_and_clock_back);
    tcase_add_test(tc, test_greylist_normalize);
    tcase_add_test(tc, test_greylist_verp_same_triplet);
    tcase_add_test(tc, test_greylist_hostile_input);
    tcase_add_test(tc, test_greylist_reopen);
    tcase_add_test(tc, test_greylist_expire);
    suite_add_tcase(s, tc);

    tc = tcase_create("race");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* Generous: the machine is shared and slow; no test measures time. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_greylist_race);
    suite_add_tcase(s, tc);
    return s;
}
