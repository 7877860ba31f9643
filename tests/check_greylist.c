/*
 * check_greylist.c - unit tests for the state store (policy/state.h,
 * policy/state_lmdb.c: update, get, expire, scan) and greylisting
 * (policy/greylist.h).
 *
 * Every test uses its own mkdtemp() directory and a fixed clock: `now` is
 * passed explicitly and nothing here reads the time, so the results do not
 * depend on how fast or loaded the machine is.  The race tests fork
 * children that each open their own handle, as separate postaged
 * processes would.
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

#include "policy/greylist.h"
#include "policy/state.h"
#include "tests/state_fixture.h"

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

    pd_greylist_config_defaults(&c);
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

/* ---- state store -------------------------------------------------------- */

struct counter_ctx {
    uint32_t after;
};

static enum pd_st_op
incr_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
        unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    struct counter_ctx *c = vctx;
    uint32_t v = (cur != NULL && curlen == 4) ? pd_st_get_u32(cur) : 0;

    c->after = v + 1;
    pd_st_put_u32(out, v + 1);
    *outlen = 4;
    *expires_at = now + 100;
    return PD_ST_PUT;
}

static enum pd_st_op
delete_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
          unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    (void) vctx; (void) now; (void) cur; (void) curlen; (void) out; (void) outlen;
    (void) expires_at;
    return PD_ST_DELETE;
}

static enum pd_st_op
oversize_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
            unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    (void) vctx; (void) now; (void) cur; (void) curlen; (void) expires_at;
    out[0] = 1;
    *outlen = PD_ST_VALUE_MAX + 1;
    return PD_ST_PUT;
}

START_TEST(test_state_update_get_delete)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct counter_ctx c;
    unsigned char v[8];
    size_t vlen = 0;
    int64_t exp = 0;
    uint64_t n = 0;
    char err[PD_ST_ERRLEN];

    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 2);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, &exp),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 4);
    ck_assert_uint_eq(pd_st_get_u32(v), 2);
    ck_assert_int_eq(exp, T0 + 100);
    /* Tables are separate namespaces. */
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_AWL, "k", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);
    /* Expired means absent, before any sweep. */
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0 + 100, v, sizeof v, &vlen,
                                  NULL), PD_ST_NOTFOUND);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0 + 100, incr_fn, &c),
                     PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0 + 100, delete_fn, NULL),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_QUOTA, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0, oversize_fn, NULL),
                     PD_ST_ERR_CALLBACK);
    pd_state_error(st, err, sizeof err);
    ck_assert_msg(strstr(err, "callback") != NULL, "error text: %s", err);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_QUOTA, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 0);
    /* Bad arguments are refused, not crashed on. */
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_COUNT, "k", 1, T0, incr_fn, &c),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "", 0, T0, incr_fn, &c),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", PD_ST_KEY_MAX + 1, T0, incr_fn,
                                     &c), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_update(NULL, PD_TABLE_QUOTA, "k", 1, T0, incr_fn, &c),
                     PD_ST_ERR_INVALID);
    pd_state_close(st);
}
END_TEST

START_TEST(test_state_long_keys)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    static char a[PD_ST_KEY_MAX], b[PD_ST_KEY_MAX];
    struct counter_ctx c;

    /* Same long prefix, different tails: two entries, not one. */
    memset(a, 'x', sizeof a);
    memset(b, 'x', sizeof b);
    b[sizeof b - 1] = 'y';
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, a, sizeof a, T0, incr_fn, &c),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, a, sizeof a, T0, incr_fn, &c),
                     PD_ST_OK);
    ck_assert_uint_eq(c.after, 2);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, b, sizeof b, T0, incr_fn, &c),
                     PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    /* A direct key of the hashed form's length cannot meet it either. */
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, a, 400, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, a, 399, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    pd_state_close(st);
}
END_TEST

START_TEST(test_state_specs)
{
    struct pd_state *st = NULL;
    char err[PD_ST_ERRLEN], path[4300];

    ck_assert_int_eq(pd_state_open("", 0, &st, err, sizeof err), PD_ST_ERR_INVALID);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(pd_state_open("redis:127.0.0.1", 0, &st, err, sizeof err),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_open("lmdb:", 0, &st, err, sizeof err), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_open(fixture_spec, PD_ST_NOCREATE, &st, err, sizeof err),
                     PD_ST_ERR_NOSTORE);
    ck_assert_ptr_null(st);
    /* An empty DIR/policy is no store either, and stays empty. */
    snprintf(path, sizeof path, "%s/db", fixture_dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(pd_state_open(fixture_spec, PD_ST_NOCREATE, &st, err, sizeof err),
                     PD_ST_ERR_NOSTORE);
    snprintf(path, sizeof path, "%s/db/policy", fixture_dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(pd_state_open(fixture_spec, PD_ST_NOCREATE, &st, err, sizeof err),
                     PD_ST_ERR_NOSTORE);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, "no state store") != NULL, "error text: %s", err);
    snprintf(path, sizeof path, "%s/db/policy/data.mdb", fixture_dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    /* A bare path means lmdb:, and the environment is DIR/policy. */
    snprintf(path, sizeof path, "%s/db", fixture_dir);
    ck_assert_int_eq(pd_state_open(path, 0, &st, err, sizeof err), PD_ST_OK);
    pd_state_close(st);
    snprintf(path, sizeof path, "%s/db/policy/data.mdb", fixture_dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(pd_state_open(fixture_spec, PD_ST_NOCREATE, &st, err, sizeof err), PD_ST_OK);
    pd_state_close(st);
    ck_assert_str_eq(pd_state_table_name(PD_TABLE_AWL), "awl");
    ck_assert_str_eq(pd_state_table_name(PD_TABLE_COUNT), "?");
}
END_TEST

START_TEST(test_state_map_growth)
{
    struct pd_state *st;
    struct counter_ctx c;
    char key[64];
    uint64_t n = 0;
    int i;

    /* A 64 KiB map fills after a few hundred entries and must grow. */
    setenv("POSTAGE_LMDB_MAPSIZE", "64k", 1);
    st = open_ok(PD_ST_NOSYNC);
    unsetenv("POSTAGE_LMDB_MAPSIZE");
    for (i = 0; i < 5000; i++) {
        int len = snprintf(key, sizeof key, "key-%06d-padding-padding-padding", i);

        ck_assert_int_eq(pd_state_update(st, PD_TABLE_REPUTATION, key, (size_t) len, T0,
                                         incr_fn, &c), PD_ST_OK);
    }
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_REPUTATION, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 5000);
    pd_state_close(st);
}
END_TEST

START_TEST(test_state_expire_batches)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct counter_ctx c;
    uint64_t removed = 0, n = 0;
    char key[32];
    int i;

    /* Entries written at T0 + i live until T0 + i + 100. */
    for (i = 0; i < 300; i++) {
        int len = snprintf(key, sizeof key, "%03d", (i * 7) % 300);

        ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, key, (size_t) len, T0 + i,
                                         incr_fn, &c), PD_ST_OK);
    }
    /* At T0 + 150, the 51 entries written at T0 .. T0 + 50 are dead. */
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_AWL, T0 + 150, 7, &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 51);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_AWL, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 249);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_AWL, T0 + 150, 1, &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_AWL, T0 + 1000, 0, &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 249);
    pd_state_close(st);
}
END_TEST

/* What a scan saw. */
struct scan_ctx {
    struct pd_state *st;        /* set: delete each entry as it is listed */
    unsigned calls, stop_after, foreign, long_keys, bad_value;
    unsigned seen[600];
    int64_t exp[600];
};

static size_t
prefix_len(const char *k, char ch, size_t len)
{
    size_t n = 0;

    while (n < len && k[n] == ch)
        n++;
    return n;
}

static int
scan_fn(void *vctx, const void *key, size_t keylen, const unsigned char *val, size_t vallen,
        int64_t expires_at)
{
    struct scan_ctx *c = vctx;
    const char *k = key;
    unsigned i;

    c->calls++;
    if (vallen != 4 || pd_st_get_u32(val) != 1)
        c->bad_value++;
    if (keylen == 4 && k[0] == 'k' && sscanf(k + 1, "%3u", &i) == 1 && i < 600) {
        c->seen[i]++;
        c->exp[i] = expires_at;
    } else if (keylen == PD_ST_SCAN_EXACT_MAX + 1 && prefix_len(k, 'L', keylen)
               >= PD_ST_SCAN_PREFIX) {
        /* Abbreviated: its own prefix, then bytes that only tell it apart. */
        c->long_keys++;
    } else {
        c->foreign++;
    }
    /* The store may be called from the callback: no lock is held. */
    if (c->st != NULL)
        ck_assert_int_eq(pd_state_update(c->st, PD_TABLE_AWL, key, keylen, T0, delete_fn, NULL),
                         PD_ST_OK);
    return c->stop_after != 0 && c->calls >= c->stop_after;
}

START_TEST(test_state_scan)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    static struct scan_ctx c;
    static char longkey[500];
    struct counter_ctx cc;
    char key[8];
    uint64_t n = 0;
    unsigned i;

    /* Nothing to list in an empty table. */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 0);

    /* 600 entries, several batches' worth: even ones written at T0 (dead
     * from T0 + 100), odd ones at T0 + 50 (dead from T0 + 150). */
    for (i = 0; i < 600; i++) {
        snprintf(key, sizeof key, "k%03u", i);
        ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, key, 4, i % 2 ? T0 + 50 : T0,
                                         incr_fn, &cc), PD_ST_OK);
    }
    /* Two long keys with one long prefix: stored hashed, listed
     * abbreviated, still two entries. */
    memset(longkey, 'L', sizeof longkey);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, longkey, sizeof longkey, T0 + 50,
                                     incr_fn, &cc), PD_ST_OK);
    longkey[sizeof longkey - 1] = 'M';
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, longkey, sizeof longkey, T0 + 50,
                                     incr_fn, &cc), PD_ST_OK);
    /* Other tables are other namespaces, even for the same keys. */
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k001", 4, T0 + 50, incr_fn, &cc),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "other", 5, T0 + 50, incr_fn, &cc),
                     PD_ST_OK);

    /* Before anything expired: each listed exactly once. */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 10, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 602);
    for (i = 0; i < 600; i++) {
        ck_assert_msg(c.seen[i] == 1, "k%03u listed %u times", i, c.seen[i]);
        ck_assert_int_eq(c.exp[i], (i % 2 ? T0 + 50 : T0) + 100);
    }
    ck_assert_uint_eq(c.long_keys, 2);
    ck_assert_uint_eq(c.foreign, 0);
    ck_assert_uint_eq(c.bad_value, 0);

    /* At T0 + 100 the even ones are dead, though not swept yet. */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 100, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 302);
    for (i = 0; i < 600; i++)
        ck_assert_msg(c.seen[i] == i % 2, "k%03u listed %u times at T0 + 100", i, c.seen[i]);
    ck_assert_uint_eq(c.long_keys, 2);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_AWL, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 602);

    /* The callback stops the scan, in the first batch and in a later one. */
    memset(&c, 0, sizeof c);
    c.stop_after = 5;
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 100, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 5);
    memset(&c, 0, sizeof c);
    c.stop_after = 200;
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 100, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 200);

    /* The other table lists its own two entries only. */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_QUOTA, T0 + 100, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 2);
    ck_assert_uint_eq(c.seen[1], 1);
    ck_assert_uint_eq(c.foreign, 1);

    /* Deleting each entry from the callback: no deadlock, nothing listed
     * twice, and the live short ones are gone afterwards.  The long keys
     * came back abbreviated, and an abbreviated key names no entry, so
     * they stay (as state.h says). */
    memset(&c, 0, sizeof c);
    c.st = st;
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 100, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 302);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_AWL, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 302);
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 10, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 302);
    ck_assert_uint_eq(c.long_keys, 2);
    for (i = 0; i < 600; i++)
        ck_assert_msg(c.seen[i] == 1 - i % 2, "k%03u listed %u times after the deletes", i,
                      c.seen[i]);

    /* Bad arguments are refused. */
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_COUNT, T0, scan_fn, &c), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0, NULL, &c), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_scan(NULL, PD_TABLE_AWL, T0, scan_fn, &c), PD_ST_ERR_INVALID);
    pd_state_close(st);
}
END_TEST

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
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_greylist_config cfg = defaults();
    struct pd_greylist_decision d;
    uint64_t removed = 0, n = 0;

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
    pd_greylist_config_defaults(&cfg);
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
    pd_greylist_config_defaults(&cfg);
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

static Suite *
greylist_suite(void)
{
    Suite *s = suite_create("greylist");
    TCase *tc;

    tc = tcase_create("state");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_state_update_get_delete);
    tcase_add_test(tc, test_state_long_keys);
    tcase_add_test(tc, test_state_specs);
    tcase_add_test(tc, test_state_map_growth);
    tcase_add_test(tc, test_state_expire_batches);
    tcase_add_test(tc, test_state_scan);
    suite_add_tcase(s, tc);

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

int
main(void)
{
    SRunner *sr = srunner_create(greylist_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
