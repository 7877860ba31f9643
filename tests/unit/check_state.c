/*
 * check_state.c - the state store (policy/state/state.h): one conformance suite
 * run against every backend, then what is particular to each.
 *
 *   conformance-lmdb   always: the suite against LMDB in a fresh directory
 *                      (with the batch calls, pd_state_update_many and
 *                      pd_state_get_many)
 *   conformance-redis  when POSTAGE_TEST_REDIS holds a Redis specification
 *                      (tests/system/state_redis.sh starts a private server and
 *                      sets it): the same suite against that server, under
 *                      a key prefix of each test's own
 *   dispatch           always: choosing a backend from the specification
 *   lmdb               always: LMDB's layout, map growth (of single updates
 *                      and of batches), batched sweeps
 *   redis-offline      always: a Redis backend with no server (refused
 *                      connections, and a server that never answers)
 *   redis              with POSTAGE_TEST_REDIS: the Redis key and value
 *                      layout, expiry, foreign keys, glob characters in
 *                      the prefix
 *
 * `now` is always given explicitly, on several clocks far apart (2001,
 * 2023, 2096, before 1970): the store never reads the clock, and on Redis
 * the server's clock must not decide whether an entry is live.  The race
 * tests use several threads on one handle and several processes with a
 * handle each, as postaged's threads and processes do.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy/state/state.h"
#include "tests/unit/state_fixture.h"
#include "kv/redis_conn.h"
#include "tests/unit/check_main.h"

#define T0 1700000000LL         /* an arbitrary fixed "now" */
#define CHILDREN 4
#define THREADS 4
#define ROUNDS 500

static void
setup(void)
{
    fixture_setup("check_state");
}

static void
setup_lmdb(void)
{
    fixture_setup("check_state");
    fixture_use_lmdb();
}

static void
teardown(void)
{
    fixture_teardown();
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---- callbacks ------------------------------------------------------------ */

/* What an update callback saw, and what it is to answer. */
struct cb {
    enum pd_st_op op;
    size_t outlen;              /* for PUT                                 */
    unsigned char fill;         /* PUT: out[] = fill, fill+1, ...          */
    int64_t set_expiry;         /* PUT: 0 = leave *expires_at as given     */
    /* seen */
    unsigned calls;
    int had_cur;
    size_t curlen;
    unsigned char cur[PD_ST_VALUE_MAX];
    int64_t expires_in, now;
};

static enum pd_st_op
cb_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen, unsigned char *out,
      size_t *outlen, int64_t *expires_at)
{
    struct cb *c = vctx;
    size_t i;

    c->calls++;
    c->now = now;
    c->had_cur = cur != NULL;
    c->curlen = curlen;
    if (cur != NULL && curlen <= sizeof c->cur)
        memcpy(c->cur, cur, curlen);
    c->expires_in = *expires_at;
    if (c->op == PD_ST_PUT) {
        for (i = 0; i < c->outlen && i < PD_ST_VALUE_MAX + 1; i++)
            out[i < PD_ST_VALUE_MAX ? i : 0] = (unsigned char) (c->fill + i);
        *outlen = c->outlen;
        if (c->set_expiry != 0)
            *expires_at = c->set_expiry;
    } else {
        /* Scribbling over out[] must not matter when nothing is stored. */
        memset(out, 0xee, PD_ST_VALUE_MAX);
        *outlen = 3;
    }
    return c->op;
}

static int
put(struct pd_state *st, enum pd_table t, const char *key, size_t outlen, unsigned char fill,
    int64_t now, int64_t expires_at)
{
    struct cb c;

    memset(&c, 0, sizeof c);
    c.op = PD_ST_PUT;
    c.outlen = outlen;
    c.fill = fill;
    c.set_expiry = expires_at;
    return pd_state_update(st, t, key, strlen(key), now, cb_fn, &c);
}

static int
op_on(struct pd_state *st, enum pd_table t, const void *key, size_t keylen, int64_t now,
      enum pd_st_op op)
{
    struct cb c;

    memset(&c, 0, sizeof c);
    c.op = op;
    return pd_state_update(st, t, key, keylen, now, cb_fn, &c);
}

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

static uint32_t
counter_at(struct pd_state *st, enum pd_table t, const char *key, int64_t now)
{
    unsigned char v[PD_ST_VALUE_MAX];
    size_t vlen = 0;

    ck_assert_int_eq(pd_state_get(st, t, key, strlen(key), now, v, sizeof v, &vlen, NULL),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 4);
    return pd_st_get_u32(v);
}

/* ---- conformance ---------------------------------------------------------- */

START_TEST(test_update_semantics)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    unsigned char v[PD_ST_VALUE_MAX + 8];
    size_t vlen = 0;
    int64_t exp = 0;
    char err[PD_ST_ERRLEN];
    struct cb c;
    uint64_t n = 99;

    /* Absent: the callback sees no value, the default expiry and our now. */
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, &exp),
                     PD_ST_NOTFOUND);
    memset(&c, 0, sizeof c);
    c.op = PD_ST_PUT;
    c.outlen = 4;
    c.fill = 10;
    c.set_expiry = T0 + 100;
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0, cb_fn, &c), PD_ST_OK);
    ck_assert_uint_ge(c.calls, 1);
    ck_assert_int_eq(c.had_cur, 0);
    ck_assert_uint_eq(c.curlen, 0);
    ck_assert_int_eq(c.expires_in, PD_ST_NEVER);
    ck_assert_int_eq(c.now, T0);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, &exp),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 4);
    ck_assert_int_eq(v[0], 10);
    ck_assert_int_eq(v[3], 13);
    ck_assert_int_eq(exp, T0 + 100);

    /* Present: the callback sees the value and its expiry. */
    memset(&c, 0, sizeof c);
    c.op = PD_ST_KEEP;
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0 + 1, cb_fn, &c), PD_ST_OK);
    ck_assert_int_eq(c.had_cur, 1);
    ck_assert_uint_eq(c.curlen, 4);
    ck_assert_int_eq(c.cur[0], 10);
    ck_assert_int_eq(c.expires_in, T0 + 100);
    /* KEEP wrote nothing, whatever it left in out[]. */
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, &exp),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 4);
    ck_assert_int_eq(v[0], 10);
    ck_assert_int_eq(exp, T0 + 100);

    /* PUT without touching *expires_at keeps the expiry. */
    memset(&c, 0, sizeof c);
    c.op = PD_ST_PUT;
    c.outlen = 6;
    c.fill = 20;
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0 + 2, cb_fn, &c), PD_ST_OK);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, &exp),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 6);
    ck_assert_int_eq(v[5], 25);
    ck_assert_int_eq(exp, T0 + 100);

    /* Tables are separate namespaces. */
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_AWL, "k", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_AWL, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 0);

    /* Kept forever. */
    ck_assert_int_eq(put(st, PD_TABLE_AWL, "forever", 2, 1, T0, PD_ST_NEVER), PD_ST_OK);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_AWL, "forever", 7, INT64_MAX - 1, v, sizeof v,
                                  &vlen, &exp), PD_ST_OK);
    ck_assert_int_eq(exp, PD_ST_NEVER);

    /* Empty and largest values. */
    ck_assert_int_eq(put(st, PD_TABLE_AWL, "empty", 0, 0, T0, T0 + 50), PD_ST_OK);
    vlen = 99;
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_AWL, "empty", 5, T0, v, sizeof v, &vlen, &exp),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 0);
    ck_assert_int_eq(exp, T0 + 50);
    ck_assert_int_eq(put(st, PD_TABLE_AWL, "max", PD_ST_VALUE_MAX, 7, T0, T0 + 50), PD_ST_OK);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_AWL, "max", 3, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, PD_ST_VALUE_MAX);
    ck_assert_int_eq(v[PD_ST_VALUE_MAX - 1], (unsigned char) (7 + PD_ST_VALUE_MAX - 1));

    /* One byte over the limit: refused, nothing written, the old value stays. */
    ck_assert_int_eq(put(st, PD_TABLE_QUOTA, "k", PD_ST_VALUE_MAX + 1, 1, T0, T0 + 500),
                     PD_ST_ERR_CALLBACK);
    pd_state_error(st, err, sizeof err);
    ck_assert_msg(strstr(err, "callback") != NULL, "error text: %s", err);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, &exp),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 6);
    ck_assert_int_eq(exp, T0 + 100);
    ck_assert_int_eq(put(st, PD_TABLE_QUOTA, "new", PD_ST_VALUE_MAX + 1, 1, T0, T0 + 500),
                     PD_ST_ERR_CALLBACK);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "new", 3, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);

    /* DELETE, of a present and of an absent entry. */
    ck_assert_int_eq(op_on(st, PD_TABLE_QUOTA, "k", 1, T0, PD_ST_DELETE), PD_ST_OK);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);
    ck_assert_int_eq(op_on(st, PD_TABLE_QUOTA, "k", 1, T0, PD_ST_DELETE), PD_ST_OK);
    ck_assert_int_eq(op_on(st, PD_TABLE_QUOTA, "nothing", 7, T0, PD_ST_KEEP), PD_ST_OK);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_QUOTA, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 0);

    /* A PUT of an entry already dead stores nothing live. */
    ck_assert_int_eq(put(st, PD_TABLE_QUOTA, "dead", 4, 1, T0, T0), PD_ST_OK);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "dead", 4, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);
    ck_assert_int_eq(pd_state_sync(st), PD_ST_OK);
    pd_state_close(st);
}
END_TEST

/* Expiry follows the caller's clock, whatever that clock says. */
START_TEST(test_expiry_caller_clock)
{
    static const int64_t clocks[] = { 1000000000LL, T0, 4000000000LL, -5000 };
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    unsigned char v[8];
    size_t vlen = 0, i;
    int64_t exp = 0;
    struct cb c;
    char key[32];

    for (i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        int64_t t = clocks[i];

        snprintf(key, sizeof key, "clock-%zu", i);
        ck_assert_int_eq(put(st, PD_TABLE_GREYLIST, key, 4, 1, t, t + 100), PD_ST_OK);
        ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, key, strlen(key), t + 99, v,
                                      sizeof v, &vlen, &exp), PD_ST_OK);
        ck_assert_int_eq(exp, t + 100);
        /* The clock went back: still live. */
        ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, key, strlen(key), t - 1000, v,
                                      sizeof v, &vlen, &exp), PD_ST_OK);
        /* expires_at <= now: absent, before any sweep, for get and update. */
        ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, key, strlen(key), t + 100, v,
                                      sizeof v, &vlen, &exp), PD_ST_NOTFOUND);
        ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, key, strlen(key), t + 5000, v,
                                      sizeof v, &vlen, &exp), PD_ST_NOTFOUND);
        memset(&c, 0, sizeof c);
        c.op = PD_ST_KEEP;
        ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, key, strlen(key), t + 100,
                                         cb_fn, &c), PD_ST_OK);
        ck_assert_int_eq(c.had_cur, 0);
        ck_assert_int_eq(c.expires_in, PD_ST_NEVER);
        /* A new entry takes the dead one's place. */
        ck_assert_int_eq(put(st, PD_TABLE_GREYLIST, key, 2, 5, t + 100, t + 300), PD_ST_OK);
        ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, key, strlen(key), t + 299, v,
                                      sizeof v, &vlen, &exp), PD_ST_OK);
        ck_assert_uint_eq(vlen, 2);
        ck_assert_int_eq(exp, t + 300);
    }
    pd_state_close(st);
}
END_TEST

START_TEST(test_get_truncation)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    unsigned char v[16];
    size_t vlen = 0;
    int64_t exp = 0;

    ck_assert_int_eq(put(st, PD_TABLE_HELO, "t", 10, 100, T0, T0 + 10), PD_ST_OK);
    memset(v, 0, sizeof v);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_HELO, "t", 1, T0, v, 4, &vlen, &exp), PD_ST_OK);
    ck_assert_uint_eq(vlen, 10);            /* the full length */
    ck_assert_int_eq(v[3], 103);
    ck_assert_int_eq(v[4], 0);              /* nothing past cap */
    ck_assert_int_eq(exp, T0 + 10);
    vlen = 0;
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_HELO, "t", 1, T0, NULL, 0, &vlen, NULL),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 10);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_HELO, "t", 1, T0, v, sizeof v, NULL, NULL),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_HELO, "t", 1, T0, NULL, 4, &vlen, NULL),
                     PD_ST_ERR_INVALID);
    pd_state_close(st);
}
END_TEST

START_TEST(test_keys)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    static char a[PD_ST_KEY_MAX], b[PD_ST_KEY_MAX];
    static const char bin1[] = "a\0b", bin2[] = "a\0c", glob[] = "*?[]\\^-";
    struct counter_ctx c;
    unsigned char hi[3] = { 0xff, 0x00, 0x80 };

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
    /* Keys on either side of the length where LMDB starts hashing. */
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, a, 400, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, a, 399, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    /* Binary keys: NUL bytes, high bytes, glob characters. */
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, bin1, 3, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, bin2, 3, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, bin1, 1, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, hi, sizeof hi, T0, incr_fn, &c),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, glob, strlen(glob), T0, incr_fn, &c),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, "*", 1, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, bin1, 3, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 2);
    pd_state_close(st);
}
END_TEST

START_TEST(test_count)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    struct counter_ctx c;
    char key[16];
    uint64_t n = 0;
    int i;

    for (i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "q%d", i);
        ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, key, strlen(key), T0, incr_fn, &c),
                         PD_ST_OK);
    }
    for (i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "q%d", i);
        ck_assert_int_eq(pd_state_update(st, PD_TABLE_ACCOUNTING, key, strlen(key), T0,
                                         incr_fn, &c), PD_ST_OK);
    }
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_QUOTA, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 10);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_ACCOUNTING, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_REPUTATION, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "q3", 2, T0, delete_fn, NULL),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "q4", 2, T0, delete_fn, NULL),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_QUOTA, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 8);
    pd_state_close(st);
}
END_TEST

/* What a scan saw. */
struct scan_ctx {
    struct pd_state *st;        /* set: delete each entry as it is listed */
    int insert;                 /* set: add 4 new entries per k entry      */
    unsigned calls, stop_after, foreign, long_keys, abbreviated, bad_value, new_twice;
    unsigned seen[600];
    int64_t exp[600];
    unsigned char new_seen[2400];
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
    ck_assert_ptr_nonnull(val);
    if (vallen != 4 || pd_st_get_u32(val) != 1)
        c->bad_value++;
    if (keylen == 4 && k[0] == 'k' && sscanf(k + 1, "%3u", &i) == 1 && i < 600) {
        c->seen[i]++;
        c->exp[i] = expires_at;
        if (c->insert) {
            struct counter_ctx cc;
            char nk[8];
            unsigned j;

            for (j = 0; j < 4; j++) {
                snprintf(nk, sizeof nk, "n%04u", i * 4 + j);
                ck_assert_int_eq(pd_state_update(c->st, PD_TABLE_AWL,
                                                 nk, 5, T0, incr_fn, &cc), PD_ST_OK);
            }
        }
    } else if (keylen == 5 && k[0] == 'n' && sscanf(k + 1, "%4u", &i) == 1 && i < 2400) {
        if (c->new_seen[i]++)
            c->new_twice++;
    } else if (keylen == 500 && prefix_len(k, 'L', keylen) >= 499) {
        c->long_keys++;         /* given back exactly */
    } else if (keylen == PD_ST_SCAN_EXACT_MAX + 1
               && prefix_len(k, 'L', keylen) >= PD_ST_SCAN_PREFIX) {
        /* Abbreviated: its own prefix, then bytes that only tell it apart. */
        c->long_keys++;
        c->abbreviated++;
    } else {
        c->foreign++;
    }
    /* The store may be called from the callback: no lock is held. */
    if (c->st != NULL && !c->insert)
        ck_assert_int_eq(pd_state_update(c->st, PD_TABLE_AWL, key, keylen, T0, delete_fn, NULL),
                         PD_ST_OK);
    return c->stop_after != 0 && c->calls >= c->stop_after;
}

START_TEST(test_scan_contract)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    static struct scan_ctx c;
    static char longkey[500];
    struct counter_ctx cc;
    char key[8];
    uint64_t n = 0;
    unsigned i, abbreviated;

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
    /* Two long keys with one long prefix: still two entries. */
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

    /* Before anything expired: each listed exactly once, with its expiry. */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 10, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 602);
    for (i = 0; i < 600; i++) {
        ck_assert_msg(c.seen[i] == 1, "k%03u listed %u times", i, c.seen[i]);
        ck_assert_int_eq(c.exp[i], (i % 2 ? T0 + 50 : T0) + 100);
    }
    ck_assert_uint_eq(c.long_keys, 2);
    /* Abbreviated both or neither (LMDB: both, Redis: neither). */
    abbreviated = c.abbreviated;
    ck_assert_msg(abbreviated == 0 || abbreviated == 2, "%u abbreviated", abbreviated);
    ck_assert_uint_eq(c.foreign, 0);
    ck_assert_uint_eq(c.bad_value, 0);

    /* At T0 + 100 the even ones are dead, though perhaps not removed. */
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
     * twice, and the live ones are gone afterwards, except abbreviated
     * keys, which name no entry (state.h). */
    memset(&c, 0, sizeof c);
    c.st = st;
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 100, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 302);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_AWL, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 300 + abbreviated);
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0 + 10, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 300 + abbreviated);
    ck_assert_uint_eq(c.long_keys, abbreviated);
    for (i = 0; i < 600; i++)
        ck_assert_msg(c.seen[i] == 1 - i % 2, "k%03u listed %u times after the deletes", i,
                      c.seen[i]);
    pd_state_close(st);
}
END_TEST

/* Entries added while a scan runs (four times as many as there were, so
 * the Redis table is rehashed under SCAN): those present from the start
 * are listed exactly once, the new ones at most once. */
START_TEST(test_scan_growing)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    static struct scan_ctx c;
    struct counter_ctx cc;
    char key[8];
    uint64_t n = 0;
    unsigned i;

    for (i = 0; i < 600; i++) {
        snprintf(key, sizeof key, "k%03u", i);
        ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, key, 4, T0, incr_fn, &cc), PD_ST_OK);
    }
    memset(&c, 0, sizeof c);
    c.st = st;
    c.insert = 1;
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0, scan_fn, &c), PD_ST_OK);
    for (i = 0; i < 600; i++)
        ck_assert_msg(c.seen[i] == 1, "k%03u listed %u times", i, c.seen[i]);
    ck_assert_uint_eq(c.new_twice, 0);
    ck_assert_uint_eq(c.foreign, 0);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_AWL, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 3000);
    pd_state_close(st);
}
END_TEST

static enum pd_st_op
never_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
         unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    (void) vctx; (void) now; (void) cur; (void) curlen; (void) out; (void) outlen;
    (void) expires_at;
    ck_abort_msg("the callback ran for an invalid call");
    return PD_ST_KEEP;
}

static int
scan_never(void *ctx, const void *key, size_t keylen, const unsigned char *val, size_t vallen,
           int64_t expires_at)
{
    (void) ctx; (void) key; (void) keylen; (void) val; (void) vallen; (void) expires_at;
    ck_abort_msg("the scan callback ran for an invalid call");
    return 1;
}

START_TEST(test_invalid_arguments)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    static char longkey[PD_ST_KEY_MAX + 1];
    unsigned char v[8];
    size_t vlen;
    uint64_t n = 7;
    char err[PD_ST_ERRLEN];

    memset(longkey, 'a', sizeof longkey);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_COUNT, "k", 1, T0, never_fn, NULL),
                     PD_ST_ERR_INVALID);
    pd_state_error(st, err, sizeof err);
    ck_assert_msg(err[0] != '\0', "no error text");
    ck_assert_int_eq(pd_state_update(st, (enum pd_table) -1, "k", 1, T0, never_fn, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "", 0, T0, never_fn, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, NULL, 1, T0, never_fn, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, longkey, sizeof longkey, T0, never_fn,
                                     NULL), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0, NULL, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_update(NULL, PD_TABLE_QUOTA, "k", 1, T0, never_fn, NULL),
                     PD_ST_ERR_INVALID);
    /* The longest key is fine. */
    ck_assert_int_eq(op_on(st, PD_TABLE_QUOTA, longkey, PD_ST_KEY_MAX, T0, PD_ST_KEEP),
                     PD_ST_OK);

    ck_assert_int_eq(pd_state_get(st, PD_TABLE_COUNT, "k", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "", 0, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, longkey, sizeof longkey, T0, v, sizeof v,
                                  &vlen, NULL), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "k", 1, T0, NULL, 1, &vlen, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_get(NULL, PD_TABLE_QUOTA, "k", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_ERR_INVALID);

    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_COUNT, T0, scan_never, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_scan(st, PD_TABLE_AWL, T0, NULL, NULL), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_scan(NULL, PD_TABLE_AWL, T0, scan_never, NULL),
                     PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_COUNT, &n), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_AWL, NULL), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_count(NULL, PD_TABLE_AWL, &n), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_COUNT, T0, 0, &n), PD_ST_ERR_INVALID);
    ck_assert_uint_eq(n, 0);
    n = 7;
    ck_assert_int_eq(pd_state_expire(NULL, PD_TABLE_AWL, T0, 0, &n), PD_ST_ERR_INVALID);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pd_state_sync(NULL), PD_ST_ERR_INVALID);
    pd_state_error(NULL, err, sizeof err);
    ck_assert_str_eq(err, "no state store");
    pd_state_error(st, NULL, 0);
    pd_state_set_notify(NULL, NULL, NULL);
    pd_state_close(NULL);
    pd_state_close(st);
}
END_TEST

START_TEST(test_reopen_expire_sync)
{
    struct pd_state *st = fixture_open(0);
    uint64_t removed = 99;
    struct counter_ctx c;

    ck_assert_int_eq(pd_state_update(st, PD_TABLE_REPUTATION, "r", 1, T0, incr_fn, &c),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_REPUTATION, "s", 1, T0 + 500, incr_fn, &c),
                     PD_ST_OK);
    ck_assert_int_eq(pd_state_sync(st), PD_ST_OK);
    pd_state_close(st);
    st = fixture_open(PD_ST_NOCREATE);
    ck_assert_uint_eq(counter_at(st, PD_TABLE_REPUTATION, "r", T0), 1);
    /* A sweep at T0 + 100 (how much it removes is the backend's business:
     * Redis expires keys itself) changes nothing that can be seen. */
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_REPUTATION, T0 + 100, 0, &removed), PD_ST_OK);
    ck_assert_uint_le(removed, 1);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_REPUTATION, "r", 1, T0 + 100, NULL, 0, NULL,
                                  NULL), PD_ST_NOTFOUND);
    ck_assert_uint_eq(counter_at(st, PD_TABLE_REPUTATION, "s", T0 + 100), 1);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_REPUTATION, T0 + 100, 1, NULL), PD_ST_OK);
    pd_state_close(st);
}
END_TEST

static void
notify_count(void *ctx, int up, const char *why)
{
    (void) up;
    (void) why;
    (*(int *) ctx)++;
}

/* A store that works tells of no outage. */
START_TEST(test_notify_quiet)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    struct counter_ctx c;
    int calls = 0, i;

    pd_state_set_notify(st, notify_count, &calls);
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(pd_state_update(st, PD_TABLE_AWL, "n", 1, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_int_eq(calls, 0);
    pd_state_set_notify(st, NULL, NULL);
    pd_state_close(st);
}
END_TEST

/* ---- races --------------------------------------------------------------------- */

struct race {
    struct pd_state *st;
    int rounds, failed;
};

static void *
race_thread(void *varg)
{
    struct race *r = varg;
    struct counter_ctx c;
    int i;

    for (i = 0; i < r->rounds; i++)
        if (pd_state_update(r->st, PD_TABLE_QUOTA, "race", 4, T0, incr_fn, &c) != PD_ST_OK)
            r->failed++;
    return NULL;
}

/* n threads on one handle, each `rounds` increments; returns the failures. */
static int
run_threads(struct pd_state *st, int n, int rounds)
{
    pthread_t tid[THREADS];
    struct race r[THREADS];
    int i, failed = 0;

    for (i = 0; i < n; i++) {
        r[i].st = st;
        r[i].rounds = rounds;
        r[i].failed = 0;
        if (pthread_create(&tid[i], NULL, race_thread, &r[i]) != 0)
            return -1;
    }
    for (i = 0; i < n; i++) {
        pthread_join(tid[i], NULL);
        failed += r[i].failed;
    }
    return failed;
}

START_TEST(test_race_threads)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);

    ck_assert_int_eq(run_threads(st, THREADS, ROUNDS), 0);
    ck_assert_uint_eq(counter_at(st, PD_TABLE_QUOTA, "race", T0), THREADS * ROUNDS);
    pd_state_close(st);
}
END_TEST

/* CHILDREN processes, each with its own handle shared by two threads:
 * CHILDREN * ROUNDS increments of one key, none lost. */
START_TEST(test_race_processes)
{
    pid_t pids[CHILDREN];
    struct pd_state *st;
    int i, status;

    for (i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        ck_assert_int_ne(pids[i], -1);
        if (pids[i] == 0) {
            char err[PD_ST_ERRLEN];
            int failed;

            if (pd_state_open(fixture_spec, PD_ST_NOSYNC, &st, err, sizeof err) != PD_ST_OK)
                _exit(2);
            failed = run_threads(st, 2, ROUNDS / 2);
            if (failed != 0) {
                pd_state_error(st, err, sizeof err);
                fprintf(stderr, "child %d: %d failed updates: %s\n", i, failed, err);
            }
            pd_state_close(st);
            _exit(failed == 0 ? 0 : 1);
        }
    }
    for (i = 0; i < CHILDREN; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    st = fixture_open(0);
    ck_assert_uint_eq(counter_at(st, PD_TABLE_QUOTA, "race", T0), CHILDREN * ROUNDS);
    pd_state_close(st);
}
END_TEST

/* ---- dispatch --------------------------------------------------------------------- */

START_TEST(test_dispatch)
{
    static const char *const bad[] = {
        "", "foo:bar", "redis:127.0.0.1", "redis:", "redis+unix:relative",
        "redis://127.0.0.1:0", "redis://127.0.0.1/0?bogus=1", "redis+sentinel://h:1",
        "lmdb:", "memcached://x",
    };
    struct pd_state *st = (struct pd_state *) 1;
    char err[PD_ST_ERRLEN], spec[4300];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        st = (struct pd_state *) &err;
        ck_assert_msg(pd_state_open(bad[i], 0, &st, err, sizeof err) == PD_ST_ERR_INVALID,
                      "\"%s\" was accepted", bad[i]);
        ck_assert_ptr_null(st);
        ck_assert_msg(err[0] != '\0', "no error text for \"%s\"", bad[i]);
    }
    ck_assert_int_eq(pd_state_open(NULL, 0, &st, err, sizeof err), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_open("lmdb:/x", 0, NULL, err, sizeof err), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_open("foo:bar", 0, &st, err, sizeof err), PD_ST_ERR_INVALID);
    ck_assert_msg(strstr(err, "unsupported") != NULL, "error text: %s", err);
    /* A password never shows in a message. */
    ck_assert_int_eq(pd_state_open("redis://:s3cret@127.0.0.1/x", 0, &st, err, sizeof err),
                     PD_ST_ERR_INVALID);
    ck_assert_msg(strstr(err, "s3cret") == NULL, "error text: %s", err);
    /* A path with a colon in it, not at the start, is a path. */
    snprintf(spec, sizeof spec, "%s/a:b", fixture_dir);
    ck_assert_int_eq(pd_state_open(spec, PD_ST_NOSYNC, &st, err, sizeof err), PD_ST_OK);
    pd_state_close(st);
    snprintf(spec, sizeof spec, "%s/a:b/policy/data.mdb", fixture_dir);
    ck_assert_int_eq(access(spec, F_OK), 0);
    ck_assert_str_eq(pd_state_table_name(PD_TABLE_AWL), "awl");
    ck_assert_str_eq(pd_state_table_name(PD_TABLE_HELO), "helo");
    ck_assert_str_eq(pd_state_table_name(PD_TABLE_COUNT), "?");
}
END_TEST

/* ---- LMDB ------------------------------------------------------------------------- */

START_TEST(test_lmdb_specs)
{
    struct pd_state *st = NULL;
    char err[PD_ST_ERRLEN], path[4300];

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
}
END_TEST

/* A lost, emptied, truncated or replaced state store is refused, even
 * where it may be created: never started over, never opened with another
 * store's tables. */
static void
state_refused(const char *what, const char *pattern)
{
    struct pd_state *st = NULL;
    char err[PD_ST_ERRLEN];

    ck_assert_msg(pd_state_open(fixture_spec, 0, &st, err, sizeof err) == PD_ST_ERR_BACKEND,
                  "%s: opened", what);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, "policy/data.mdb") != NULL && strstr(err, pattern) != NULL,
                  "%s: %s", what, err);
}

START_TEST(test_lmdb_lost)
{
    struct pd_state *st = NULL;
    char err[PD_ST_ERRLEN], other[4300], data[4300], cmd[9000];

    st = fixture_open(0);
    pd_state_close(st);
    snprintf(other, sizeof other, "lmdb:%s/other", fixture_dir);
    ck_assert_int_eq(pd_state_open(other, 0, &st, err, sizeof err), PD_ST_OK);
    pd_state_close(st);
    snprintf(data, sizeof data, "%s/db/policy/data.mdb", fixture_dir);

    snprintf(cmd, sizeof cmd, "cp '%s/other/policy/data.mdb' '%s'", fixture_dir, data);
    ck_assert_int_eq(system(cmd), 0);
    state_refused("replaced", "was replaced");
    ck_assert_int_eq(truncate(data, 8192), 0);
    state_refused("truncated", "truncated");
    ck_assert_int_eq(truncate(data, 0), 0);
    state_refused("emptied", "is empty");
    ck_assert_int_eq(unlink(data), 0);
    state_refused("removed", "is missing");
}
END_TEST

/* postaged's handle for a state store it could not open: every call
 * fails with the reason given, and no file is made over the lost store. */
static void
down_notify(void *ctx, int up, const char *why)
{
    (void) up, (void) why;
    ++*(int *) ctx;
}

START_TEST(test_open_down)
{
    struct pd_state *st = NULL;
    char err[PD_ST_ERRLEN], buf[16], val[PD_ST_VALUE_MAX];
    const char *why = "/x/policy/data.mdb is missing: the store is lost";
    struct counter_ctx c;
    uint64_t n = 7;
    size_t len = 9;
    int calls = 0;

    ck_assert_int_eq(pd_state_open_down(why, NULL), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_state_open_down(why, &st), PD_ST_OK);
    ck_assert_ptr_nonnull(st);
    pd_state_set_notify(st, down_notify, &calls);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, "k", 1, T0, incr_fn, &c),
                     PD_ST_ERR_BACKEND);
    pd_state_error(st, err, sizeof err);
    ck_assert_str_eq(err, why);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, "k", 1, T0, val, sizeof val, &len,
                                  NULL), PD_ST_ERR_BACKEND);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_GREYLIST, T0, 0, &n), PD_ST_ERR_BACKEND);
    ck_assert_uint_eq(n, 0);
    n = 7;
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_GREYLIST, &n), PD_ST_ERR_BACKEND);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pd_state_sync(st), PD_ST_ERR_BACKEND);
    pd_state_error(st, buf, sizeof buf);            /* truncated, terminated */
    ck_assert_uint_eq(strlen(buf), sizeof buf - 1);
    ck_assert_int_eq(calls, 0);                     /* postaged logged it itself */
    pd_state_close(st);
}
END_TEST

START_TEST(test_lmdb_map_growth)
{
    struct pd_state *st;
    struct counter_ctx c;
    char key[64];
    uint64_t n = 0;
    int i;

    /* A 64 KiB map fills after a few hundred entries and must grow. */
    setenv("POSTAGE_LMDB_MAPSIZE", "64k", 1);
    st = fixture_open(PD_ST_NOSYNC);
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

/* A counter as incr_fn keeps it, counting its calls: more calls than
 * entries means a batch was run again (after MDB_MAP_FULL). */
struct counted_ctx {
    unsigned long *calls;
};

static enum pd_st_op
counted_incr_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
                unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    struct counted_ctx *c = vctx;
    uint32_t v = (cur != NULL && curlen == 4) ? pd_st_get_u32(cur) : 0;

    (*c->calls)++;
    pd_st_put_u32(out, v + 1);
    *outlen = 4;
    *expires_at = now + 100000;
    return PD_ST_PUT;
}

#define GROW_ROUNDS 60
#define GROW_FRESH 48                   /* new keys per batch              */
#define GROW_HOT 8                      /* keys in every batch, each twice */

static int
grow_key(char *buf, size_t cap, const char *kind, int round, int j)
{
    /* Long keys, so that a 64 KiB map fills within a few batches. */
    return snprintf(buf, cap, "%s-%04d-%02d-padding-padding-padding-padding", kind, round, j);
}

/* pd_state_update_many and pd_state_add_many are one write transaction
 * each on LMDB, rerun whole when the map is full and has grown: each
 * rerun starts from the map as it was before the batch (its own earlier
 * writes gone with the aborted transaction) and sets every entry's
 * `existed` anew.  A rerun that resumed where the full map stopped it
 * would lose the entries before; one on top of the first run's writes
 * would count them twice.  After many batches across several growths,
 * every counter, mark and `existed` (each given a junk value first, so
 * it must be written) is exactly what one run of each batch gives. */
START_TEST(test_lmdb_map_growth_batches)
{
    static char fresh[GROW_ROUNDS][GROW_FRESH][64], hot[GROW_HOT][64];
    static char marks[GROW_ROUNDS][PD_ST_MANY_MAX][64];
    struct pd_state_change ch[PD_ST_MANY_MAX];
    struct counted_ctx cc = { 0 };
    struct pd_state_add ad[PD_ST_MANY_MAX];
    struct pd_state_read rd[PD_ST_MANY_MAX];
    unsigned char val[PD_ST_MANY_MAX][PD_ST_VALUE_MAX], want[60];
    unsigned long calls = 0, entries = 0;
    struct pd_state *st;
    uint64_t n = 0;
    int r, j;

    _Static_assert(GROW_FRESH + 2 * GROW_HOT == PD_ST_MANY_MAX, "one full batch");
    cc.calls = &calls;
    setenv("POSTAGE_LMDB_MAPSIZE", "64k", 1);
    st = fixture_open(PD_ST_NOSYNC);
    unsetenv("POSTAGE_LMDB_MAPSIZE");
    for (j = 0; j < GROW_HOT; j++)
        grow_key(hot[j], sizeof hot[j], "hot", 0, j);
    memset(want, 0, sizeof want);

    for (r = 0; r < GROW_ROUNDS; r++) {
        /* update_many: GROW_FRESH new counters, and GROW_HOT counters named
         * twice each (interleaved), all in one batch of 64. */
        int k = 0;
        for (j = 0; j < GROW_FRESH; j++) {
            grow_key(fresh[r][j], sizeof fresh[r][j], "fresh", r, j);
            ch[k++] = (struct pd_state_change) { PD_TABLE_REPUTATION, fresh[r][j],
                                                 strlen(fresh[r][j]), counted_incr_fn, &cc };
            if (j < 2 * GROW_HOT && j % 2 == 0) {
                ch[k++] = (struct pd_state_change) { PD_TABLE_REPUTATION, hot[j / 2],
                                                     strlen(hot[j / 2]), counted_incr_fn, &cc };
            }
        }
        for (j = 0; j < GROW_HOT; j++)
            ch[k++] = (struct pd_state_change) { PD_TABLE_REPUTATION, hot[j], strlen(hot[j]),
                                                 counted_incr_fn, &cc };
        ck_assert_int_eq(k, PD_ST_MANY_MAX);
        ck_assert_int_eq(pd_state_update_many(st, ch, PD_ST_MANY_MAX, T0), PD_ST_OK);
        entries += PD_ST_MANY_MAX;

        /* add_many: this round's new marks with 60-byte values, the
         * previous round's first 8 again (live: kept, existed), and 8 new
         * ones named twice (the second sees the first). */
        k = 0;
        for (j = 0; j < PD_ST_MANY_MAX - 16; j++) {
            grow_key(marks[r][j], sizeof marks[r][j], "mark", r, j);
            ad[k++] = (struct pd_state_add) { PD_TABLE_ATTEMPT, marks[r][j],
                                              strlen(marks[r][j]), want, sizeof want,
                                              T0 + 100000, 7 };
        }
        for (j = 0; j < 8; j++) {
            const char *again = r > 0 ? marks[r - 1][j] : marks[r][j];
            ad[k++] = (struct pd_state_add) { PD_TABLE_ATTEMPT, again, strlen(again), want,
                                              sizeof want, T0 + 100000, 7 };
        }
        for (j = 0; j < 8; j++)
            ad[k++] = ad[j];
        ck_assert_int_eq(k, PD_ST_MANY_MAX);
        /* Each round's marks carry their round in their value. */
        want[0] = (unsigned char) r;
        want[59] = (unsigned char) (255 - r);
        ck_assert_int_eq(pd_state_add_many(st, ad, PD_ST_MANY_MAX, T0), PD_ST_OK);
        for (j = 0; j < PD_ST_MANY_MAX - 16; j++)
            ck_assert_msg(ad[j].existed == 0, "round %d, mark %d: new, said to exist", r, j);
        for (j = PD_ST_MANY_MAX - 16; j < PD_ST_MANY_MAX; j++)
            ck_assert_msg(ad[j].existed == 1, "round %d, mark %d: there, said not to", r, j);
    }
    /* The map did fill: some batch ran more than once. */
    ck_assert_msg(calls > entries, "no batch was rerun (%lu calls for %lu entries)", calls,
                  entries);

    /* Exactly one of each, and the hot keys twice per round. */
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_REPUTATION, &n), PD_ST_OK);
    ck_assert_uint_eq(n, (uint64_t) GROW_ROUNDS * GROW_FRESH + GROW_HOT);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_ATTEMPT, &n), PD_ST_OK);
    ck_assert_uint_eq(n, (uint64_t) GROW_ROUNDS * (PD_ST_MANY_MAX - 16));
    for (r = 0; r < GROW_ROUNDS; r++) {
        for (j = 0; j < GROW_FRESH; j++)
            rd[j] = (struct pd_state_read) { .table = PD_TABLE_REPUTATION, .key = fresh[r][j],
                                             .keylen = strlen(fresh[r][j]), .val = val[j],
                                             .cap = sizeof val[j] };
        for (j = 0; j < GROW_HOT; j++)
            rd[GROW_FRESH + j] = (struct pd_state_read) { .table = PD_TABLE_REPUTATION,
                                                          .key = hot[j], .keylen = strlen(hot[j]),
                                                          .val = val[GROW_FRESH + j],
                                                          .cap = sizeof val[GROW_FRESH + j] };
        ck_assert_int_eq(pd_state_get_many(st, rd, GROW_FRESH + GROW_HOT, T0), PD_ST_OK);
        for (j = 0; j < GROW_FRESH + GROW_HOT; j++) {
            ck_assert_msg(rd[j].status == PD_ST_OK, "round %d, counter %d: missing", r, j);
            ck_assert_uint_eq(rd[j].vallen, 4);
            ck_assert_msg(pd_st_get_u32(val[j]) == (j < GROW_FRESH ? 1u : 2u * GROW_ROUNDS),
                          "round %d, counter %d: %u", r, j, (unsigned) pd_st_get_u32(val[j]));
        }
        for (j = 0; j < PD_ST_MANY_MAX - 16; j++)
            rd[j] = (struct pd_state_read) { .table = PD_TABLE_ATTEMPT, .key = marks[r][j],
                                             .keylen = strlen(marks[r][j]), .val = val[j],
                                             .cap = sizeof val[j] };
        ck_assert_int_eq(pd_state_get_many(st, rd, PD_ST_MANY_MAX - 16, T0), PD_ST_OK);
        for (j = 0; j < PD_ST_MANY_MAX - 16; j++) {
            ck_assert_msg(rd[j].status == PD_ST_OK, "round %d, mark %d: missing", r, j);
            ck_assert_uint_eq(rd[j].vallen, sizeof want);
            ck_assert_int_eq(rd[j].expires_at, T0 + 100000);
            /* The first add's value: a later add of a live mark keeps it. */
            ck_assert_uint_eq(val[j][0], (unsigned char) r);
            ck_assert_uint_eq(val[j][59], (unsigned char) (255 - r));
        }
    }
    pd_state_close(st);
}
END_TEST

START_TEST(test_lmdb_expire_batches)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
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

/* ---- Redis with no server ---------------------------------------------------------- */

/* A loopback port with nothing on it, or (listen) one that takes
 * connections into its backlog and never answers.  Returns the socket
 * (to close later) and sets *port. */
static int
loopback_port(int listening, int *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
    *port = ntohs(sa.sin_port);
    if (listening)
        ck_assert_int_eq(listen(fd, 16), 0);
    return fd;
}

struct notes {
    int down, up;
    char why[512];
};

static void
note(void *ctx, int up, const char *why)
{
    struct notes *n = ctx;

    if (up)
        n->up++;
    else
        n->down++;
    snprintf(n->why, sizeof n->why, "%s", why);
}

/* Nothing listens: open works, every call fails at once, once told. */
START_TEST(test_redis_refused)
{
    struct pd_state *st = NULL;
    struct notes notes;
    struct counter_ctx c;
    char spec[128], err[PD_ST_ERRLEN], addr[64];
    uint64_t n;
    double t;
    int fd, port, i;

    fd = loopback_port(0, &port);       /* bound, not listening: refused */
    snprintf(spec, sizeof spec, "redis://127.0.0.1:%d/0?timeout=300", port);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    t = now_s();
    ck_assert_int_eq(pd_state_open(spec, 0, &st, err, sizeof err), PD_ST_OK);
    memset(&notes, 0, sizeof notes);
    pd_state_set_notify(st, note, &notes);
    /* The failed first connect is told when the callback is set. */
    ck_assert_int_eq(notes.down, 1);
    ck_assert_msg(strstr(notes.why, addr) != NULL, "why: %s", notes.why);
    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(pd_state_update(st, PD_TABLE_GREYLIST, "k", 1, T0, incr_fn, &c),
                         PD_ST_ERR_BACKEND);
        ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, "k", 1, T0, NULL, 0, NULL, NULL),
                         PD_ST_ERR_BACKEND);
        ck_assert_int_eq(pd_state_count(st, PD_TABLE_GREYLIST, &n), PD_ST_ERR_BACKEND);
        ck_assert_int_eq(pd_state_scan(st, PD_TABLE_GREYLIST, T0, scan_never, NULL),
                         PD_ST_ERR_BACKEND);
    }
    ck_assert_msg(now_s() - t < 5.0, "200 failing calls took %.2f s", now_s() - t);
    pd_state_error(st, err, sizeof err);
    ck_assert_msg(strstr(err, addr) != NULL && strstr(err, "greylist") != NULL,
                  "error text: %s", err);
    ck_assert_int_eq(notes.down, 1);
    ck_assert_int_eq(notes.up, 0);
    /* What needs no server still works. */
    ck_assert_int_eq(pd_state_sync(st), PD_ST_OK);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_GREYLIST, T0, 0, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 0);
    pd_state_close(st);
    close(fd);
}
END_TEST

/* A server that takes the connection and never answers: each call fails
 * within the timeout, none hangs. */
START_TEST(test_redis_silent)
{
    struct pd_state *st = NULL;
    struct notes notes;
    struct counter_ctx c;
    char spec[128], err[PD_ST_ERRLEN];
    double t, worst = 0;
    int fd, port, i;

    fd = loopback_port(1, &port);
    snprintf(spec, sizeof spec, "redis://127.0.0.1:%d/0?timeout=200", port);
    ck_assert_int_eq(pd_state_open(spec, 0, &st, err, sizeof err), PD_ST_OK);
    memset(&notes, 0, sizeof notes);
    pd_state_set_notify(st, note, &notes);
    for (i = 0; i < 5; i++) {
        double d;

        t = now_s();
        ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "k", 1, T0, incr_fn, &c),
                         PD_ST_ERR_BACKEND);
        d = now_s() - t;
        if (d > worst)
            worst = d;
    }
    ck_assert_msg(worst < 1.5, "a call took %.2f s with a 200 ms timeout", worst);
    pd_state_error(st, err, sizeof err);
    ck_assert_msg(strstr(err, "quota") != NULL, "error text: %s", err);
    /* Told of it.  (redis_conn counts a TCP connect as "up" again, so a
     * server that accepts and never answers is told down and up by turns,
     * once per call: not asserted either way.) */
    ck_assert_int_ge(notes.down, 1);
    ck_assert_int_le(notes.down - notes.up, 1);
    pd_state_close(st);
    close(fd);
}
END_TEST

/* ---- Redis -------------------------------------------------------------------------- */

/* A raw connection to the test's server, for looking under the store. */
static struct redis_conn *
raw_conn(void)
{
    char err[REDIS_CONN_ERRLEN];
    struct redis_conn *rc = redis_conn_open(fixture_spec, 1, err, sizeof err);

    ck_assert_msg(rc != NULL, "connect %s: %s", fixture_spec, err);
    return rc;
}

static redisReply *
raw(struct redis_conn *rc, int argc, const char **argv, const size_t *lens)
{
    char err[REDIS_CONN_ERRLEN];
    redisReply *r = redis_conn_commandv(rc, err, sizeof err, argc, argv, lens);

    ck_assert_msg(r != NULL, "%s: %s", argv[0], err);
    return r;
}

static long long
raw_int(struct redis_conn *rc, const char *cmd, const char *key)
{
    const char *argv[2] = { cmd, key };
    size_t lens[2] = { strlen(cmd), strlen(key) };
    redisReply *r = raw(rc, 2, argv, lens);
    long long v;

    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    v = r->integer;
    freeReplyObject(r);
    return v;
}

static void
raw_set(struct redis_conn *rc, const char *key, const void *val, size_t len)
{
    const char *argv[3] = { "SET", key, val };
    size_t lens[3] = { 3, strlen(key), len };

    freeReplyObject(raw(rc, 3, argv, lens));
}

/* redis_conn_pipeline (kv/redis_conn.h): n commands, n replies in order,
 * error replies among them as they are; no commands, or too many, refused. */
START_TEST(test_redis_pipeline)
{
    struct redis_conn *rc = raw_conn();
    char key[256], err[REDIS_CONN_ERRLEN];
    const char *set[3] = { "SET", key, "41" }, *incr[2] = { "INCR", key }, *get[2] = { "GET", key };
    const char *bad[1] = { "NO-SUCH-COMMAND" };
    struct redis_cmd cmds[4] = {
        { 3, set, NULL }, { 2, incr, NULL }, { 1, bad, NULL }, { 2, get, NULL },
    };
    redisReply *r[4];

    snprintf(key, sizeof key, "%spipeline", redis_conn_prefix(rc));
    ck_assert_int_eq(redis_conn_pipeline(rc, err, sizeof err, 4, cmds, r), 0);
    ck_assert_int_eq(r[0]->type, REDIS_REPLY_STATUS);
    ck_assert_int_eq(r[1]->type, REDIS_REPLY_INTEGER);
    ck_assert_int_eq(r[1]->integer, 42);
    ck_assert_int_eq(r[2]->type, REDIS_REPLY_ERROR);
    ck_assert_int_eq(r[3]->type, REDIS_REPLY_STRING);
    ck_assert_str_eq(r[3]->str, "42");
    for (int i = 0; i < 4; i++)
        freeReplyObject(r[i]);
    r[0] = (redisReply *) 1;
    ck_assert_int_eq(redis_conn_pipeline(rc, err, sizeof err, 0, cmds, r), -1);
    ck_assert_int_eq(redis_conn_pipeline(rc, err, sizeof err, REDIS_PIPELINE_MAX + 1, cmds, r), -1);
    freeReplyObject(raw(rc, 2, (const char *[]) { "DEL", key }, NULL));
    redis_conn_close(rc);
}
END_TEST

/* pd_state_add_many's script: run by its SHA-1, loaded again after the
 * server forgot it (SCRIPT FLUSH, as after a restart or a failover), and
 * a key of another type under our name is not ours: overwritten. */
START_TEST(test_redis_add_script)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    struct redis_conn *rc = raw_conn();
    static const unsigned char mark[1] = { 1 };
    const char *flush[2] = { "SCRIPT", "FLUSH" }, *lpush[3];
    size_t flush_len[2] = { 6, 5 }, lpush_len[3];
    struct pd_state_add a;
    char key[256];
    int round;

    for (round = 0; round < 3; round++) {
        char k[8];

        snprintf(k, sizeof k, "k%d", round);
        a = (struct pd_state_add) { PD_TABLE_ATTEMPT, k, strlen(k), mark, 1, T0 + 10, 9 };
        ck_assert_int_eq(pd_state_add_many(st, &a, 1, T0), PD_ST_OK);
        ck_assert_int_eq(a.existed, 0);
        ck_assert_int_eq(pd_state_add_many(st, &a, 1, T0), PD_ST_OK);
        ck_assert_int_eq(a.existed, 1);
        if (round == 1)
            freeReplyObject(raw(rc, 2, flush, flush_len));
    }
    snprintf(key, sizeof key, "%sp:attempt:list", redis_conn_prefix(rc));
    lpush[0] = "LPUSH";
    lpush[1] = key;
    lpush[2] = "x";
    lpush_len[0] = 5;
    lpush_len[1] = strlen(key);
    lpush_len[2] = 1;
    freeReplyObject(raw(rc, 3, lpush, lpush_len));
    a = (struct pd_state_add) { PD_TABLE_ATTEMPT, "list", 4, mark, 1, T0 + 10, 9 };
    ck_assert_int_eq(pd_state_add_many(st, &a, 1, T0), PD_ST_OK);
    ck_assert_int_eq(a.existed, 0);
    ck_assert_int_eq(pd_state_add_many(st, &a, 1, T0), PD_ST_OK);
    ck_assert_int_eq(a.existed, 1);
    redis_conn_close(rc);
    pd_state_close(st);
}
END_TEST

START_TEST(test_redis_layout)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC | PD_ST_NOCREATE);
    struct redis_conn *rc = raw_conn();
    const char *prefix = redis_conn_prefix(rc);
    char key[256], bad[3] = { 'x', 'y', 'z' };
    unsigned char v[PD_ST_VALUE_MAX];
    const char *argv[3];
    size_t lens[3], vlen;
    struct counter_ctx c;
    uint64_t removed = 9;
    redisReply *r;
    long long ttl;

    /* PREFIX "p:" TABLE ":" KEY holds expires_at and the payload. */
    ck_assert_int_eq(put(st, PD_TABLE_AWL, "k1", 3, 40, 1000000000LL, 1000000000LL + 1000),
                     PD_ST_OK);
    snprintf(key, sizeof key, "%sp:awl:k1", prefix);
    argv[0] = "GET";
    argv[1] = key;
    lens[0] = 3;
    lens[1] = strlen(key);
    r = raw(rc, 2, argv, lens);
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    ck_assert_uint_eq(r->len, 8 + 3);
    ck_assert_int_eq(pd_st_get_i64((const unsigned char *) r->str), 1000000000LL + 1000);
    ck_assert_int_eq((unsigned char) r->str[8], 40);
    freeReplyObject(r);
    /* The key's Redis lifetime is the entry's, counted from the caller's
     * now (2001 here), not an absolute time in the server's past. */
    ttl = raw_int(rc, "TTL", key);
    ck_assert_msg(ttl > 990 && ttl <= 1000, "TTL %lld", ttl);
    /* Kept forever: no Redis expiry. */
    ck_assert_int_eq(put(st, PD_TABLE_AWL, "k2", 1, 1, T0, PD_ST_NEVER), PD_ST_OK);
    snprintf(key, sizeof key, "%sp:awl:k2", prefix);
    ck_assert_int_eq(raw_int(rc, "TTL", key), -1);
    /* Rewritten with an expiry: it gets one again. */
    ck_assert_int_eq(put(st, PD_TABLE_AWL, "k2", 1, 1, T0, T0 + 50), PD_ST_OK);
    ttl = raw_int(rc, "TTL", key);
    ck_assert_msg(ttl > 40 && ttl <= 50, "TTL %lld", ttl);
    /* Dead on arrival: the key goes. */
    ck_assert_int_eq(put(st, PD_TABLE_AWL, "k2", 1, 1, T0, T0 - 1), PD_ST_OK);
    ck_assert_int_eq(raw_int(rc, "EXISTS", key), 0);
    /* The server expires keys itself: nothing for a sweep to do. */
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_AWL, 4000000000LL, 0, &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 0);

    /* Foreign values read as absent and are overwritten. */
    snprintf(key, sizeof key, "%sp:quota:f1", prefix);
    raw_set(rc, key, bad, sizeof bad);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "f1", 2, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "f1", 2, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    /* So do keys of another Redis type. */
    snprintf(key, sizeof key, "%sp:quota:f2", prefix);
    argv[0] = "RPUSH";
    argv[1] = key;
    argv[2] = "x";
    lens[0] = 5;
    lens[1] = strlen(key);
    lens[2] = 1;
    freeReplyObject(raw(rc, 3, argv, lens));
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_QUOTA, "f2", 2, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_QUOTA, "f2", 2, T0, incr_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.after, 1);
    ck_assert_uint_eq(counter_at(st, PD_TABLE_QUOTA, "f2", T0), 1);
    /* A key under the table's prefix with nothing after it is not an entry. */
    snprintf(key, sizeof key, "%sp:quota:", prefix);
    raw_set(rc, key, bad, sizeof bad);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_QUOTA, &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 2);
    argv[0] = "DEL";
    lens[0] = 3;
    argv[1] = key;
    lens[1] = strlen(key);
    freeReplyObject(raw(rc, 2, argv, lens));
    redis_conn_close(rc);
    pd_state_close(st);
}
END_TEST

/* Glob characters in the key prefix are matched literally by SCAN. */
START_TEST(test_redis_glob_prefix)
{
    char spec_a[4300], spec_b[4300], err[PD_ST_ERRLEN];
    struct pd_state *a, *b;
    static struct scan_ctx c;
    struct counter_ctx cc;
    uint64_t n = 0;

    fixture_redis_spec("x*", spec_a, sizeof spec_a);
    fixture_redis_spec("x[a]?", spec_b, sizeof spec_b);
    ck_assert_int_eq(pd_state_open(spec_a, PD_ST_NOSYNC, &a, err, sizeof err), PD_ST_OK);
    ck_assert_int_eq(pd_state_open(spec_b, PD_ST_NOSYNC, &b, err, sizeof err), PD_ST_OK);
    /* Unescaped, "...x*p:awl:*" would match b's "...x[a]?p:awl:k000". */
    ck_assert_int_eq(pd_state_update(b, PD_TABLE_AWL, "k000", 4, T0, incr_fn, &cc), PD_ST_OK);
    ck_assert_int_eq(pd_state_update(b, PD_TABLE_AWL, "k001", 4, T0, incr_fn, &cc), PD_ST_OK);
    ck_assert_int_eq(pd_state_update(a, PD_TABLE_AWL, "k002", 4, T0, incr_fn, &cc), PD_ST_OK);
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(pd_state_scan(a, PD_TABLE_AWL, T0, scan_fn, &c), PD_ST_OK);
    ck_assert_uint_eq(c.calls, 1);
    ck_assert_uint_eq(c.seen[2], 1);
    ck_assert_int_eq(pd_state_count(a, PD_TABLE_AWL, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(pd_state_count(b, PD_TABLE_AWL, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(pd_state_get(a, PD_TABLE_AWL, "k000", 4, T0, NULL, 0, NULL, NULL),
                     PD_ST_NOTFOUND);
    pd_state_close(a);
    pd_state_close(b);
}
END_TEST

/* ---- several entries at once ---------------------------------------------------------- */

/* pd_state_update_many: each entry as pd_state_update would do it, a key
 * given twice counted twice, more entries than one batch, none at all. */
START_TEST(test_update_many)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    struct pd_state_change ch[PD_ST_MANY_MAX + 6];
    struct counter_ctx cc[PD_ST_MANY_MAX + 6];
    char keys[PD_ST_MANY_MAX + 6][16];
    struct cb put_a, del_c, keep_d;
    unsigned char v[PD_ST_VALUE_MAX];
    size_t vlen = 0, i;

    ck_assert_int_eq(put(st, PD_TABLE_GREYLIST, "c", 5, 1, T0, T0 + 100), PD_ST_OK);
    ck_assert_int_eq(put(st, PD_TABLE_AWL, "d", 6, 2, T0, T0 + 100), PD_ST_OK);
    memset(&put_a, 0, sizeof put_a);
    put_a.op = PD_ST_PUT;
    put_a.outlen = 7;
    put_a.fill = 10;
    put_a.set_expiry = T0 + 50;
    memset(&del_c, 0, sizeof del_c);
    del_c.op = PD_ST_DELETE;
    memset(&keep_d, 0, sizeof keep_d);
    keep_d.op = PD_ST_KEEP;
    ch[0] = (struct pd_state_change) { PD_TABLE_GREYLIST, "a", 1, cb_fn, &put_a };
    ch[1] = (struct pd_state_change) { PD_TABLE_QUOTA, "b", 1, incr_fn, &cc[0] };
    ch[2] = (struct pd_state_change) { PD_TABLE_GREYLIST, "c", 1, cb_fn, &del_c };
    ch[3] = (struct pd_state_change) { PD_TABLE_AWL, "d", 1, cb_fn, &keep_d };
    ch[4] = (struct pd_state_change) { PD_TABLE_QUOTA, "b", 1, incr_fn, &cc[1] };
    ck_assert_int_eq(pd_state_update_many(st, ch, 5, T0), PD_ST_OK);
    /* What each callback saw: the entry as it was, at our now. */
    ck_assert_int_eq(put_a.had_cur, 0);
    ck_assert_int_eq(put_a.now, T0);
    ck_assert_int_eq(del_c.had_cur, 1);
    ck_assert_uint_eq(del_c.curlen, 5);
    ck_assert_int_eq(keep_d.had_cur, 1);
    ck_assert_uint_eq(keep_d.curlen, 6);
    /* What was written. */
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, "a", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 7);
    ck_assert_uint_eq(v[0], 10);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, "a", 1, T0 + 50, v, sizeof v, &vlen,
                                  NULL), PD_ST_NOTFOUND);
    ck_assert_uint_eq(counter_at(st, PD_TABLE_QUOTA, "b", T0), 2);   /* twice: both count */
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_GREYLIST, "c", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_NOTFOUND);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_AWL, "d", 1, T0, v, sizeof v, &vlen, NULL),
                     PD_ST_OK);
    ck_assert_uint_eq(vlen, 6);

    /* More than one batch holds, each key once. */
    for (i = 0; i < PD_ST_MANY_MAX + 6; i++) {
        snprintf(keys[i], sizeof keys[i], "k%zu", i);
        ch[i] = (struct pd_state_change) { PD_TABLE_QUOTA, keys[i], strlen(keys[i]), incr_fn,
                                           &cc[i] };
    }
    ck_assert_int_eq(pd_state_update_many(st, ch, PD_ST_MANY_MAX + 6, T0), PD_ST_OK);
    ck_assert_int_eq(pd_state_update_many(st, ch, PD_ST_MANY_MAX + 6, T0), PD_ST_OK);
    for (i = 0; i < PD_ST_MANY_MAX + 6; i++)
        ck_assert_uint_eq(counter_at(st, PD_TABLE_QUOTA, keys[i], T0), 2);
    ck_assert_int_eq(pd_state_update_many(st, ch, 0, T0), PD_ST_OK);
    /* An invalid entry fails the call. */
    ch[0].keylen = 0;
    ck_assert_int_eq(pd_state_update_many(st, ch, 2, T0), PD_ST_ERR_INVALID);
    pd_state_close(st);
}
END_TEST

/* pd_state_get_many: present, absent, expired, of several tables,
 * truncated to each room. */
START_TEST(test_get_many)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    unsigned char v[4][PD_ST_VALUE_MAX];
    struct pd_state_read rd[4];
    size_t i;

    ck_assert_int_eq(put(st, PD_TABLE_REPUTATION, "x", 9, 20, T0, T0 + 100), PD_ST_OK);
    ck_assert_int_eq(put(st, PD_TABLE_QUOTE, "x", 2, 30, T0, T0 + 10), PD_ST_OK);
    ck_assert_int_eq(put(st, PD_TABLE_QUOTA, "y", 4, 40, T0, T0 + 100), PD_ST_OK);
    memset(rd, 0, sizeof rd);
    rd[0] = (struct pd_state_read) { .table = PD_TABLE_REPUTATION, .key = "x", .keylen = 1,
                                     .val = v[0], .cap = sizeof v[0] };
    rd[1] = (struct pd_state_read) { .table = PD_TABLE_QUOTE, .key = "x", .keylen = 1,
                                     .val = v[1], .cap = sizeof v[1] };   /* expired at T0+10 */
    rd[2] = (struct pd_state_read) { .table = PD_TABLE_GREYLIST, .key = "x", .keylen = 1,
                                     .val = v[2], .cap = sizeof v[2] };   /* absent */
    rd[3] = (struct pd_state_read) { .table = PD_TABLE_QUOTA, .key = "y", .keylen = 1,
                                     .val = v[3], .cap = 2 };             /* truncated */
    for (i = 0; i < 4; i++)
        rd[i].status = 99;
    ck_assert_int_eq(pd_state_get_many(st, rd, 4, T0 + 10), PD_ST_OK);
    ck_assert_int_eq(rd[0].status, PD_ST_OK);
    ck_assert_uint_eq(rd[0].vallen, 9);
    ck_assert_int_eq(rd[0].expires_at, T0 + 100);
    ck_assert_uint_eq(v[0][0], 20);
    ck_assert_uint_eq(v[0][8], 28);
    ck_assert_int_eq(rd[1].status, PD_ST_NOTFOUND);
    ck_assert_int_eq(rd[2].status, PD_ST_NOTFOUND);
    ck_assert_int_eq(rd[3].status, PD_ST_OK);
    ck_assert_uint_eq(rd[3].vallen, 4);
    ck_assert_uint_eq(v[3][0], 40);
    ck_assert_uint_eq(v[3][1], 41);
    ck_assert_int_eq(pd_state_get_many(st, rd, 0, T0), PD_ST_OK);
    rd[1].keylen = 0;
    ck_assert_int_eq(pd_state_get_many(st, rd, 2, T0), PD_ST_ERR_INVALID);
    pd_state_close(st);
}
END_TEST

/* pd_state_add_many: stored when absent or expired, kept (and said so)
 * when live, with its own expiry; bad entries refused. */
START_TEST(test_add_many)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    static const unsigned char mark[3] = { 7, 8, 9 };
    unsigned char v[PD_ST_VALUE_MAX];
    struct pd_state_add a[3];
    size_t vlen = 0;
    int64_t exp = 0;

    ck_assert_int_eq(put(st, PD_TABLE_ATTEMPT, "live", 2, 50, T0, T0 + 100), PD_ST_OK);
    ck_assert_int_eq(put(st, PD_TABLE_ATTEMPT, "dead", 2, 60, T0, T0 + 5), PD_ST_OK);
    a[0] = (struct pd_state_add) { PD_TABLE_ATTEMPT, "new", 3, mark, 3, T0 + 40, 9 };
    a[1] = (struct pd_state_add) { PD_TABLE_ATTEMPT, "live", 4, mark, 3, T0 + 40, 9 };
    a[2] = (struct pd_state_add) { PD_TABLE_ATTEMPT, "dead", 4, mark, 3, T0 + 40, 9 };
    ck_assert_int_eq(pd_state_add_many(st, a, 3, T0 + 10), PD_ST_OK);
    ck_assert_int_eq(a[0].existed, 0);
    ck_assert_int_eq(a[1].existed, 1);
    ck_assert_int_eq(a[2].existed, 0);       /* expired at T0+5: as absent */
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_ATTEMPT, "new", 3, T0 + 10, v, sizeof v, &vlen,
                                  &exp), PD_ST_OK);
    ck_assert_uint_eq(vlen, 3);
    ck_assert_uint_eq(v[2], 9);
    ck_assert_int_eq(exp, T0 + 40);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_ATTEMPT, "live", 4, T0 + 10, v, sizeof v, &vlen,
                                  &exp), PD_ST_OK);
    ck_assert_uint_eq(vlen, 2);               /* kept as it was */
    ck_assert_uint_eq(v[0], 50);
    ck_assert_int_eq(exp, T0 + 100);
    ck_assert_int_eq(pd_state_get(st, PD_TABLE_ATTEMPT, "dead", 4, T0 + 10, v, sizeof v, &vlen,
                                  &exp), PD_ST_OK);
    ck_assert_uint_eq(vlen, 3);
    ck_assert_int_eq(exp, T0 + 40);
    /* Again: all three live now. */
    ck_assert_int_eq(pd_state_add_many(st, a, 3, T0 + 20), PD_ST_OK);
    ck_assert_int_eq(a[0].existed + a[1].existed + a[2].existed, 3);
    /* Past their expiry (and on a clock before 1970): stored anew. */
    a[0].expires_at = T0 + 200;
    ck_assert_int_eq(pd_state_add_many(st, a, 1, T0 + 100), PD_ST_OK);
    ck_assert_int_eq(a[0].existed, 0);
    a[0].key = "old";
    a[0].expires_at = -500;
    ck_assert_int_eq(pd_state_add_many(st, a, 1, -1000), PD_ST_OK);
    ck_assert_int_eq(a[0].existed, 0);
    ck_assert_int_eq(pd_state_add_many(st, a, 1, -900), PD_ST_OK);
    ck_assert_int_eq(a[0].existed, 1);
    ck_assert_int_eq(pd_state_add_many(st, a, 0, T0), PD_ST_OK);
    /* Refused: already expired, too long, no key. */
    a[0].expires_at = T0;
    ck_assert_int_eq(pd_state_add_many(st, a, 1, T0), PD_ST_ERR_INVALID);
    a[0].expires_at = T0 + 1;
    a[0].vallen = PD_ST_VALUE_MAX + 1;
    ck_assert_int_eq(pd_state_add_many(st, a, 1, T0), PD_ST_ERR_INVALID);
    a[0].vallen = 3;
    a[0].keylen = 0;
    ck_assert_int_eq(pd_state_add_many(st, a, 1, T0), PD_ST_ERR_INVALID);
    pd_state_close(st);
}
END_TEST

struct race_many {
    struct pd_state *st;
    int rounds, failed;
};

/* Each round: one batch of increments of two shared keys and one of its
 * own, then a single increment of the first shared key. */
static void *
race_many_thread(void *varg)
{
    struct race_many *r = varg;
    struct counter_ctx c[3];
    char own[32];
    struct pd_state_change ch[3] = {
        { PD_TABLE_QUOTA, "m1", 2, incr_fn, &c[0] },
        { PD_TABLE_ACCOUNTING, "m2", 2, incr_fn, &c[1] },
        { PD_TABLE_QUOTA, own, 0, incr_fn, &c[2] },
    };
    int i;

    snprintf(own, sizeof own, "own%p", (void *) r);
    ch[2].keylen = strlen(own);
    for (i = 0; i < r->rounds; i++) {
        if (pd_state_update_many(r->st, ch, 3, T0) != PD_ST_OK)
            r->failed++;
        if (pd_state_update(r->st, PD_TABLE_QUOTA, "m1", 2, T0, incr_fn, &c[0]) != PD_ST_OK)
            r->failed++;
    }
    return NULL;
}

/* Batches racing batches and single updates on one handle lose nothing:
 * each key in a batch is guarded as a single update is. */
START_TEST(test_race_many)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    pthread_t tid[THREADS];
    struct race_many r[THREADS];
    int i, failed = 0, rounds = ROUNDS / 5;

    for (i = 0; i < THREADS; i++) {
        r[i] = (struct race_many) { st, rounds, 0 };
        ck_assert_int_eq(pthread_create(&tid[i], NULL, race_many_thread, &r[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        failed += r[i].failed;
    }
    ck_assert_int_eq(failed, 0);
    ck_assert_uint_eq(counter_at(st, PD_TABLE_QUOTA, "m1", T0), 2 * THREADS * rounds);
    ck_assert_uint_eq(counter_at(st, PD_TABLE_ACCOUNTING, "m2", T0), THREADS * rounds);
    pd_state_close(st);
}
END_TEST

/* ---- the suite ---------------------------------------------------------------------- */

static TCase *
conformance(const char *name, void (*setup_fn)(void))
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup_fn, teardown);
    /* Generous: the machine is shared and slow; no test measures time
     * except the no-hang ones, with wide margins. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_update_semantics);
    tcase_add_test(tc, test_expiry_caller_clock);
    tcase_add_test(tc, test_get_truncation);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_count);
    tcase_add_test(tc, test_scan_contract);
    tcase_add_test(tc, test_scan_growing);
    tcase_add_test(tc, test_invalid_arguments);
    tcase_add_test(tc, test_reopen_expire_sync);
    tcase_add_test(tc, test_notify_quiet);
    tcase_add_test(tc, test_race_threads);
    tcase_add_test(tc, test_race_processes);
    tcase_add_test(tc, test_update_many);
    tcase_add_test(tc, test_get_many);
    tcase_add_test(tc, test_race_many);
    tcase_add_test(tc, test_add_many);
    return tc;
}

Suite *
suite(void)
{
    const char *redis = getenv("POSTAGE_TEST_REDIS");
    Suite *s = suite_create("state");
    TCase *tc;

    suite_add_tcase(s, conformance("conformance-lmdb", setup_lmdb));
    if (redis != NULL && redis[0] != '\0')
        suite_add_tcase(s, conformance("conformance-redis", setup));

    tc = tcase_create("dispatch");
    tcase_add_checked_fixture(tc, setup_lmdb, teardown);
    tcase_add_test(tc, test_dispatch);
    suite_add_tcase(s, tc);

    tc = tcase_create("lmdb");
    tcase_add_checked_fixture(tc, setup_lmdb, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lmdb_specs);
    tcase_add_test(tc, test_lmdb_lost);
    tcase_add_test(tc, test_open_down);
    tcase_add_test(tc, test_lmdb_map_growth);
    tcase_add_test(tc, test_lmdb_map_growth_batches);
    tcase_add_test(tc, test_lmdb_expire_batches);
    suite_add_tcase(s, tc);

    tc = tcase_create("redis-offline");
    tcase_add_checked_fixture(tc, setup_lmdb, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_redis_refused);
    tcase_add_test(tc, test_redis_silent);
    suite_add_tcase(s, tc);

    if (redis != NULL && redis[0] != '\0') {
        tc = tcase_create("redis");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_redis_layout);
        tcase_add_test(tc, test_redis_glob_prefix);
        tcase_add_test(tc, test_redis_add_script);
        tcase_add_test(tc, test_redis_pipeline);
        suite_add_tcase(s, tc);
    }
    return s;
}
