/*
 * check_quota.c - unit tests for quotas and accounting (policy/checks/quota.h)
 * on the LMDB state store.
 *
 * A fixed clock throughout: `now` is passed explicitly, and calendar
 * expectations come from timegm()/gmtime_r() (UTC, independent of TZ), so
 * the bucket code is checked against the C library rather than against
 * itself.  The race tests fork children with their own handles.
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
#include <time.h>
#include <unistd.h>

#include "policy/checks/quota.h"
#include "policy/state/state.h"
#include "tests/unit/state_fixture.h"
#include "tests/unit/check_main.h"

#define T0 1700000000LL
#define CHILDREN 4
#define ROUNDS 500

static void
setup(void)
{
    fixture_setup("check_quota");
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

static struct pd_quota
rolling(const char *name, enum pd_track track, int64_t window, uint64_t count, uint64_t bytes)
{
    struct pd_quota q;

    memset(&q, 0, sizeof q);
    q.name = name;
    q.track = track;
    q.period = PD_PERIOD_ROLLING;
    q.window = window;
    q.max_count = count;
    q.max_bytes = bytes;
    q.action = PD_DEFER;
    return q;
}

static const struct pd_quota_subject alice = {
    "alice@example.org", "192.0.2.1", "192.0.2.0", "alice", "bob@example.net"
};

static struct pd_quota_result
check(struct pd_state *st, const struct pd_quota *q, const struct pd_quota_subject *s,
      uint64_t size, int64_t now)
{
    struct pd_quota_result r;

    ck_assert_int_eq(pd_quota_check(st, q, s, size, now, &r), PD_ST_OK);
    return r;
}

static void
account(struct pd_state *st, const struct pd_quota *q, const struct pd_quota_subject *s,
        uint64_t size, int64_t now)
{
    ck_assert_int_eq(pd_quota_account(st, q, s, 1, size, now, NULL), PD_ST_OK);
}

/* UTC seconds of a calendar date, from the C library. */
static int64_t
utc(int y, int m, int d, int hh, int mm, int ss)
{
    struct tm tm;

    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    return (int64_t) timegm(&tm);
}

/* ---- decay ------------------------------------------------------------------ */

START_TEST(test_decay_math)
{
    ck_assert_uint_eq(pd_quota_decay(4000, 0, 300), 4000);
    ck_assert_uint_eq(pd_quota_decay(4000, 150, 300), 2000);
    ck_assert_uint_eq(pd_quota_decay(4000, 75, 300), 3000);
    ck_assert_uint_eq(pd_quota_decay(4000, 299, 300), 13);      /* 13.33, rounded down */
    ck_assert_uint_eq(pd_quota_decay(4000, 300, 300), 0);
    ck_assert_uint_eq(pd_quota_decay(4000, 301, 300), 0);
    ck_assert_uint_eq(pd_quota_decay(4000, INT64_MAX, 300), 0);
    ck_assert_uint_eq(pd_quota_decay(4000, -50, 300), 4000);    /* clock went back */
    /* No overflow with the largest values. */
    ck_assert_uint_eq(pd_quota_decay(UINT64_MAX, 0, PD_QUOTA_WINDOW_MAX), UINT64_MAX);
    ck_assert_uint_eq(pd_quota_decay(UINT64_MAX, PD_QUOTA_WINDOW_MAX / 2, PD_QUOTA_WINDOW_MAX),
                      UINT64_MAX / 2);
}
END_TEST

START_TEST(test_rolling_count)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_quota q = rolling("out", PD_TRACK_SENDER, 3600, 3, 0);
    struct pd_quota_result r;

    r = check(st, &q, &alice, 0, T0);
    ck_assert_int_eq(r.over, 0);
    ck_assert_uint_eq(r.count_milli, 0);
    ck_assert_int_eq(r.verdict.action, PD_DUNNO);
    account(st, &q, &alice, 100, T0);
    account(st, &q, &alice, 100, T0);
    r = check(st, &q, &alice, 0, T0);
    ck_assert_int_eq(r.over, 0);                  /* 2 + 1 <= 3 */
    ck_assert_uint_eq(r.count_milli, 2000);
    account(st, &q, &alice, 100, T0);
    r = check(st, &q, &alice, 0, T0);
    ck_assert_int_eq(r.over, 1);                  /* 3 + 1 > 3 */
    ck_assert_int_eq(r.over_count, 1);
    ck_assert_int_eq(r.over_bytes, 0);
    ck_assert_int_eq(r.verdict.action, PD_DEFER);
    ck_assert_str_eq(r.verdict.text, "Policy rejection; Message count quota exceeded");
    /* Half a window later 1.5 messages remain: 2.5 <= 3. */
    r = check(st, &q, &alice, 0, T0 + 1800);
    ck_assert_int_eq(r.over, 0);
    ck_assert_uint_eq(r.count_milli, 1500);
    /* A third of the window later 2 remain: 3 <= 3, still allowed. */
    r = check(st, &q, &alice, 0, T0 + 1200);
    ck_assert_int_eq(r.over, 0);
    r = check(st, &q, &alice, 0, T0 + 1190);     /* 2.008 + 1 > 3 */
    ck_assert_int_eq(r.over, 1);
    /* A full window later nothing remains. */
    r = check(st, &q, &alice, 0, T0 + 3600);
    ck_assert_uint_eq(r.count_milli, 0);
    /* Accounting decays what was there before adding. */
    account(st, &q, &alice, 0, T0 + 1800);        /* 1.5 + 1 */
    r = check(st, &q, &alice, 0, T0 + 1800);
    ck_assert_uint_eq(r.count_milli, 2500);
    ck_assert_int_eq(r.over, 1);                  /* 2.5 + 1 > 3 */
    pd_state_close(st);
}
END_TEST

START_TEST(test_rolling_size)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_quota q = rolling("size", PD_TRACK_SASL_USER, 600, 0, 1000);
    struct pd_quota_result r;

    q.action = PD_REJECT;
    q.text = "554 5.7.1 Too much mail";
    account(st, &q, &alice, 600, T0);
    r = check(st, &q, &alice, 400, T0);
    ck_assert_int_eq(r.over, 0);                  /* 600 + 400 <= 1000 */
    r = check(st, &q, &alice, 401, T0);
    ck_assert_int_eq(r.over, 1);
    ck_assert_int_eq(r.over_bytes, 1);
    ck_assert_int_eq(r.verdict.action, PD_REJECT);
    ck_assert_str_eq(r.verdict.text, "554 5.7.1 Too much mail");
    /* Unknown size at RCPT (0) is never over a size limit that is not full. */
    r = check(st, &q, &alice, 0, T0);
    ck_assert_int_eq(r.over, 0);
    r = check(st, &q, &alice, 401, T0 + 300);     /* 300 + 401 */
    ck_assert_int_eq(r.over, 0);
    ck_assert_uint_eq(r.bytes, 300);
    {
        struct pd_quota_result after;

        ck_assert_int_eq(pd_quota_account(st, &q, &alice, 1, 800, T0 + 300, &after), PD_ST_OK);
        ck_assert_uint_eq(after.bytes, 1100);
        ck_assert_int_eq(after.over, 1);          /* beyond the limit now */
    }
    /* DUNNO as action means DEFER: an over-quota verdict always stops. */
    q.action = PD_DUNNO;
    q.text = NULL;
    r = check(st, &q, &alice, 1, T0 + 300);
    ck_assert_int_eq(r.verdict.action, PD_DEFER);
    ck_assert_str_eq(r.verdict.text, "Policy rejection; Message size quota exceeded");
    pd_state_close(st);
}
END_TEST

START_TEST(test_track_keys)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_quota_subject s = alice, t;
    struct pd_quota q;
    struct pd_quota_result r;

    /* Sender: case-insensitive; the null sender is its own key "<>". */
    q = rolling("s", PD_TRACK_SENDER, 3600, 1, 0);
    account(st, &q, &s, 0, T0);
    t = s;
    t.sender = "ALICE@Example.ORG";
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 1);
    t.sender = "";
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 0);
    account(st, &q, &t, 0, T0);
    t.sender = NULL;
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 1);
    t.sender = "<>";                              /* the same key, by design */
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 1);

    /* Sender domain. */
    q = rolling("d", PD_TRACK_SENDER_DOMAIN, 3600, 1, 0);
    account(st, &q, &s, 0, T0);
    t = s;
    t.sender = "carol@EXAMPLE.org";
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 1);
    t.sender = "carol@example.com";
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 0);

    /* SASL user: a missing one is "-", shared by all unauthenticated mail. */
    q = rolling("u", PD_TRACK_SASL_USER, 3600, 1, 0);
    t = s;
    t.sasl_username = "";
    account(st, &q, &t, 0, T0);
    t.sasl_username = NULL;
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 1);
    ck_assert_int_eq(check(st, &q, &s, 0, T0).over, 0);

    /* Client address and network. */
    q = rolling("a", PD_TRACK_CLIENT_ADDRESS, 3600, 1, 0);
    account(st, &q, &s, 0, T0);
    t = s;
    t.client_address = "192.0.2.2";
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 0);
    q = rolling("n", PD_TRACK_CLIENT_NET, 3600, 1, 0);
    account(st, &q, &s, 0, T0);
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 1);

    /* Two rules on the same track never share a counter. */
    q = rolling("other", PD_TRACK_SENDER, 3600, 1, 0);
    ck_assert_int_eq(check(st, &q, &s, 0, T0).over, 0);

    /* Recipient: counted once per recipient, by nature. */
    q = rolling("r", PD_TRACK_RECIPIENT, 3600, 1, 0);
    ck_assert_int_eq(pd_quota_per_recipient(&q), 1);
    account(st, &q, &s, 0, T0);
    t = s;
    t.recipient = "Bob@Example.NET";
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 1);
    t.recipient = "eve@example.net";
    ck_assert_int_eq(check(st, &q, &t, 0, T0).over, 0);
    t.recipient = "";
    ck_assert_int_eq(pd_quota_check(st, &q, &t, 0, T0, &r), PD_ST_ERR_INVALID);
    q.track = PD_TRACK_SENDER;
    ck_assert_int_eq(pd_quota_per_recipient(&q), 0);
    pd_state_close(st);
}
END_TEST

START_TEST(test_message_counted_once)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_quota q = rolling("msgs", PD_TRACK_SENDER, 3600, 2, 0);
    struct pd_quota_subject s = alice;
    static const char *const rcpts[] = { "a@x.example", "b@x.example", "c@x.example" };
    struct pd_quota_result r;
    size_t i;

    /* A message to three recipients: checked at each RCPT, counted once. */
    for (i = 0; i < 3; i++) {
        s.recipient = rcpts[i];
        ck_assert_int_eq(check(st, &q, &s, 0, T0).over, 0);
    }
    account(st, &q, &s, 5000, T0);
    r = check(st, &q, &s, 0, T0);
    ck_assert_uint_eq(r.count_milli, 1000);
    ck_assert_uint_eq(r.bytes, 5000);
    ck_assert_int_eq(r.over, 0);
    pd_state_close(st);
}
END_TEST

START_TEST(test_invalid)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_quota q = rolling("x", PD_TRACK_CLIENT_ADDRESS, 3600, 1, 0);
    struct pd_quota_subject s = alice;
    struct pd_quota_result r;
    static char big[PD_QUOTA_VALUE_MAX + 2];
    char name[PD_QUOTA_NAME_MAX + 2];

    ck_assert_int_eq(pd_quota_check(NULL, &q, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_quota_check(st, NULL, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_quota_check(st, &q, NULL, 0, T0, &r), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_quota_check(st, &q, &s, 0, T0, NULL), PD_ST_ERR_INVALID);
    s.client_address = NULL;
    ck_assert_int_eq(pd_quota_check(st, &q, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    memset(big, '1', sizeof big - 1);
    s.client_address = big;
    ck_assert_int_eq(pd_quota_account(st, &q, &s, 1, 0, T0, &r), PD_ST_ERR_INVALID);
    big[PD_QUOTA_VALUE_MAX] = '\0';
    ck_assert_int_eq(pd_quota_account(st, &q, &s, 1, 0, T0, &r), PD_ST_OK);
    s = alice;
    q.window = 0;
    ck_assert_int_eq(pd_quota_check(st, &q, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    q.window = PD_QUOTA_WINDOW_MAX + 1;
    ck_assert_int_eq(pd_quota_check(st, &q, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    q.window = 60;
    q.name = "";
    ck_assert_int_eq(pd_quota_check(st, &q, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    q.name = name;
    ck_assert_int_eq(pd_quota_check(st, &q, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    q.name = "x";
    q.track = (enum pd_track) 99;
    ck_assert_int_eq(pd_quota_check(st, &q, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    q.track = PD_TRACK_SENDER;
    q.period = (enum pd_quota_period) 42;
    ck_assert_int_eq(pd_quota_check(st, &q, &s, 0, T0, &r), PD_ST_ERR_INVALID);
    /* Saturating counters: huge sizes and counts do not wrap to small. */
    q = rolling("sat", PD_TRACK_SENDER, 60, 5, 1000);
    ck_assert_int_eq(pd_quota_account(st, &q, &s, UINT64_MAX, UINT64_MAX, T0, &r), PD_ST_OK);
    ck_assert_int_eq(pd_quota_account(st, &q, &s, UINT64_MAX, UINT64_MAX, T0, &r), PD_ST_OK);
    ck_assert_uint_eq(r.bytes, UINT64_MAX);
    ck_assert_int_eq(r.over, 1);
    ck_assert_int_eq(check(st, &q, &s, 0, T0).over, 1);
    pd_state_close(st);
}
END_TEST

/* ---- calendar accounting ------------------------------------------------------ */

static void
ck_bucket(enum pd_quota_period p, int64_t now, int64_t want_start, int64_t want_end)
{
    int64_t s = 0, e = 0;

    ck_assert_int_eq(pd_quota_bucket(p, now, &s, &e), 0);
    ck_assert_msg(s == want_start && e == want_end,
                  "period %d at %lld: [%lld, %lld), want [%lld, %lld)", (int) p,
                  (long long) now, (long long) s, (long long) e, (long long) want_start,
                  (long long) want_end);
}

START_TEST(test_buckets)
{
    int64_t s, e;

    /* Day: 00:00 UTC. */
    ck_bucket(PD_PERIOD_DAY, utc(2024, 3, 10, 23, 59, 59), utc(2024, 3, 10, 0, 0, 0),
              utc(2024, 3, 11, 0, 0, 0));
    ck_bucket(PD_PERIOD_DAY, utc(2024, 3, 11, 0, 0, 0), utc(2024, 3, 11, 0, 0, 0),
              utc(2024, 3, 12, 0, 0, 0));
    ck_bucket(PD_PERIOD_DAY, 0, 0, 86400);
    ck_bucket(PD_PERIOD_DAY, -1, -86400, 0);
    /* ISO week across a year boundary: Mon 2024-12-30 .. Sun 2025-01-05. */
    ck_bucket(PD_PERIOD_WEEK, utc(2024, 12, 29, 23, 59, 59), utc(2024, 12, 23, 0, 0, 0),
              utc(2024, 12, 30, 0, 0, 0));
    ck_bucket(PD_PERIOD_WEEK, utc(2024, 12, 30, 0, 0, 0), utc(2024, 12, 30, 0, 0, 0),
              utc(2025, 1, 6, 0, 0, 0));
    ck_bucket(PD_PERIOD_WEEK, utc(2025, 1, 1, 12, 0, 0), utc(2024, 12, 30, 0, 0, 0),
              utc(2025, 1, 6, 0, 0, 0));
    ck_bucket(PD_PERIOD_WEEK, utc(2025, 1, 5, 23, 59, 59), utc(2024, 12, 30, 0, 0, 0),
              utc(2025, 1, 6, 0, 0, 0));
    /* 2020-W53 runs into 2021. */
    ck_bucket(PD_PERIOD_WEEK, utc(2021, 1, 3, 10, 0, 0), utc(2020, 12, 28, 0, 0, 0),
              utc(2021, 1, 4, 0, 0, 0));
    ck_bucket(PD_PERIOD_WEEK, 0, utc(1969, 12, 29, 0, 0, 0), utc(1970, 1, 5, 0, 0, 0));
    /* Month, with a leap day and a year end. */
    ck_bucket(PD_PERIOD_MONTH, utc(2024, 2, 29, 23, 59, 59), utc(2024, 2, 1, 0, 0, 0),
              utc(2024, 3, 1, 0, 0, 0));
    ck_bucket(PD_PERIOD_MONTH, utc(2024, 3, 1, 0, 0, 0), utc(2024, 3, 1, 0, 0, 0),
              utc(2024, 4, 1, 0, 0, 0));
    ck_bucket(PD_PERIOD_MONTH, utc(2024, 12, 31, 23, 59, 59), utc(2024, 12, 1, 0, 0, 0),
              utc(2025, 1, 1, 0, 0, 0));
    ck_bucket(PD_PERIOD_MONTH, utc(2100, 2, 28, 1, 0, 0), utc(2100, 2, 1, 0, 0, 0),
              utc(2100, 3, 1, 0, 0, 0));
    ck_assert_int_eq(pd_quota_bucket(PD_PERIOD_ROLLING, T0, &s, &e), -1);
    ck_assert_int_eq(pd_quota_bucket(PD_PERIOD_DAY, INT64_MAX, &s, &e), -1);
    ck_assert_int_eq(pd_quota_bucket(PD_PERIOD_MONTH, INT64_MIN, &s, &e), -1);
}
END_TEST

START_TEST(test_buckets_against_libc)
{
    int64_t t, s, e;
    struct tm tm;
    time_t tt;

    /* Every 7 hours from 1999 to 2031: the buckets agree with gmtime_r. */
    for (t = utc(1999, 1, 1, 0, 0, 0); t < utc(2031, 1, 1, 0, 0, 0); t += 7 * 3600 + 13) {
        tt = (time_t) t;
        ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
        ck_bucket(PD_PERIOD_DAY, t, utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0),
                  utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday + 1, 0, 0, 0));
        ck_bucket(PD_PERIOD_MONTH, t, utc(tm.tm_year + 1900, tm.tm_mon + 1, 1, 0, 0, 0),
                  utc(tm.tm_year + 1900, tm.tm_mon + 2, 1, 0, 0, 0));
        ck_assert_int_eq(pd_quota_bucket(PD_PERIOD_WEEK, t, &s, &e), 0);
        tt = (time_t) s;
        ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
        ck_assert_int_eq(tm.tm_wday, 1);                   /* a Monday */
        ck_assert_int_eq(tm.tm_hour + tm.tm_min + tm.tm_sec, 0);
        ck_assert(s <= t && t < e && e - s == 7 * 86400);
    }
}
END_TEST

START_TEST(test_accounting)
{
    struct pd_state *st = open_ok(PD_ST_NOSYNC);
    struct pd_quota q;
    struct pd_quota_result r;
    int64_t eve = utc(2024, 12, 31, 23, 0, 0), midnight = utc(2025, 1, 1, 0, 0, 0);

    memset(&q, 0, sizeof q);
    q.name = "daily";
    q.track = PD_TRACK_SENDER;
    q.period = PD_PERIOD_DAY;
    q.max_count = 2;
    q.action = PD_REJECT;
    account(st, &q, &alice, 10, eve);
    account(st, &q, &alice, 10, eve + 1800);
    r = check(st, &q, &alice, 0, midnight - 1);
    ck_assert_int_eq(r.over, 1);
    ck_assert_uint_eq(r.count_milli, 2000);
    ck_assert_uint_eq(r.bytes, 20);
    ck_assert_int_eq(r.bucket_start, utc(2024, 12, 31, 0, 0, 0));
    ck_assert_int_eq(r.verdict.action, PD_REJECT);
    /* No decay: a minute before midnight it is still full; at 00:00 UTC a
     * new bucket starts from zero. */
    r = check(st, &q, &alice, 0, midnight);
    ck_assert_int_eq(r.over, 0);
    ck_assert_uint_eq(r.count_milli, 0);
    ck_assert_int_eq(r.bucket_start, midnight);
    account(st, &q, &alice, 10, midnight);
    r = check(st, &q, &alice, 0, midnight + 60);
    ck_assert_uint_eq(r.count_milli, 1000);

    /* Weekly, across the year boundary: one bucket from Mon 2024-12-30. */
    q.name = "weekly";
    q.period = PD_PERIOD_WEEK;
    q.max_count = 0;
    q.max_bytes = 100;
    account(st, &q, &alice, 60, utc(2024, 12, 30, 8, 0, 0));
    r = check(st, &q, &alice, 41, utc(2025, 1, 5, 23, 59, 59));
    ck_assert_int_eq(r.over, 1);
    ck_assert_int_eq(r.over_bytes, 1);
    r = check(st, &q, &alice, 40, utc(2025, 1, 5, 23, 59, 59));
    ck_assert_int_eq(r.over, 0);
    r = check(st, &q, &alice, 41, utc(2025, 1, 6, 0, 0, 0));
    ck_assert_int_eq(r.over, 0);
    r = check(st, &q, &alice, 41, utc(2024, 12, 29, 23, 59, 59));
    ck_assert_int_eq(r.over, 0);                  /* the week before */

    /* Monthly. */
    q.name = "monthly";
    q.period = PD_PERIOD_MONTH;
    q.max_count = 1;
    q.max_bytes = 0;
    account(st, &q, &alice, 1, utc(2024, 2, 1, 0, 0, 0));
    ck_assert_int_eq(check(st, &q, &alice, 0, utc(2024, 2, 29, 23, 59, 59)).over, 1);
    ck_assert_int_eq(check(st, &q, &alice, 0, utc(2024, 3, 1, 0, 0, 0)).over, 0);
    pd_state_close(st);
}
END_TEST

START_TEST(test_reopen_and_expire)
{
    struct pd_state *st;
    struct pd_quota q = rolling("hour", PD_TRACK_CLIENT_ADDRESS, 3600, 10, 0);
    struct pd_quota d;
    struct pd_quota_subject s = alice;
    uint64_t removed = 0, n = 0;

    /* What a sweep removes is LMDB's business (Redis expires keys itself). */
    fixture_use_lmdb();
    st = open_ok(0);
    account(st, &q, &s, 0, T0);
    account(st, &q, &s, 0, T0);
    s.client_address = "192.0.2.2";
    account(st, &q, &s, 0, T0 + 1000);
    memset(&d, 0, sizeof d);
    d.name = "day";
    d.track = PD_TRACK_SENDER;
    d.period = PD_PERIOD_DAY;
    d.max_count = 5;
    account(st, &d, &alice, 0, utc(2024, 5, 1, 12, 0, 0));
    pd_state_close(st);

    st = open_ok(PD_ST_NOCREATE);
    ck_assert_uint_eq(check(st, &q, &alice, 0, T0).count_milli, 2000);
    ck_assert_uint_eq(check(st, &d, &alice, 0, utc(2024, 5, 1, 13, 0, 0)).count_milli, 1000);

    /* At T0 + 3600 the first counter has decayed to nothing and goes; the
     * second (last updated at T0 + 1000) stays, untouched. */
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_QUOTA, T0 + 3600, 0, &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(pd_state_count(st, PD_TABLE_QUOTA, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(check(st, &q, &s, 0, T0 + 1000).count_milli, 1000);
    /* A calendar bucket goes when its day is over, not before. */
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_ACCOUNTING, utc(2024, 5, 1, 23, 59, 59), 0,
                                     &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(pd_state_expire(st, PD_TABLE_ACCOUNTING, utc(2024, 5, 2, 0, 0, 0), 0,
                                     &removed), PD_ST_OK);
    ck_assert_uint_eq(removed, 1);
    pd_state_close(st);
}
END_TEST

/* ---- races ------------------------------------------------------------------------ */

static int
fork_children(int (*body)(struct pd_state *st))
{
    pid_t pids[CHILDREN];
    int i, status, failed = 0;

    for (i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        ck_assert_int_ne(pids[i], -1);
        if (pids[i] == 0) {
            struct pd_state *st = NULL;
            char err[PD_ST_ERRLEN];
            int r;

            if (pd_state_open(fixture_spec, PD_ST_NOSYNC, &st, err, sizeof err) != PD_ST_OK)
                _exit(2);
            r = body(st);
            pd_state_close(st);
            _exit(r);
        }
    }
    for (i = 0; i < CHILDREN; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    return failed;
}

static int
race_body(struct pd_state *st)
{
    struct pd_quota q = rolling("race", PD_TRACK_SENDER, 3600, 0, 0);
    struct pd_quota a;
    int i;

    memset(&a, 0, sizeof a);
    a.name = "race-acct";
    a.track = PD_TRACK_SENDER;
    a.period = PD_PERIOD_MONTH;
    for (i = 0; i < ROUNDS; i++) {
        if (pd_quota_account(st, &q, &alice, 1, 10, T0, NULL) != PD_ST_OK)
            return 1;
        if (pd_quota_account(st, &a, &alice, 1, 10, T0, NULL) != PD_ST_OK)
            return 1;
    }
    return 0;
}

START_TEST(test_race)
{
    struct pd_state *st;
    struct pd_quota q = rolling("race", PD_TRACK_SENDER, 3600, 0, 0);
    struct pd_quota a;
    struct pd_quota_result r;

    memset(&a, 0, sizeof a);
    a.name = "race-acct";
    a.track = PD_TRACK_SENDER;
    a.period = PD_PERIOD_MONTH;
    ck_assert_int_eq(fork_children(race_body), 0);
    st = open_ok(0);
    r = check(st, &q, &alice, 0, T0);
    ck_assert_uint_eq(r.count_milli, (uint64_t) CHILDREN * ROUNDS * 1000);
    ck_assert_uint_eq(r.bytes, (uint64_t) CHILDREN * ROUNDS * 10);
    r = check(st, &a, &alice, 0, T0);
    ck_assert_uint_eq(r.count_milli, (uint64_t) CHILDREN * ROUNDS * 1000);
    ck_assert_uint_eq(r.bytes, (uint64_t) CHILDREN * ROUNDS * 10);
    pd_state_close(st);
}
END_TEST

START_TEST(test_names)
{
    enum pd_track t;
    enum pd_quota_period p;

    ck_assert_int_eq(pd_track_parse("sender_domain", &t), 0);
    ck_assert_int_eq(t, PD_TRACK_SENDER_DOMAIN);
    ck_assert_str_eq(pd_track_name(PD_TRACK_CLIENT_NET), "client_network");
    ck_assert_int_eq(pd_track_parse("bogus", &t), -1);
    ck_assert_int_eq(pd_period_parse("week", &p), 0);
    ck_assert_int_eq(p, PD_PERIOD_WEEK);
    ck_assert_int_eq(pd_period_parse("fortnight", &p), -1);
    ck_assert_str_eq(pd_track_name((enum pd_track) 77), "?");
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("quota");
    TCase *tc;

    tc = tcase_create("rolling");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_decay_math);
    tcase_add_test(tc, test_rolling_count);
    tcase_add_test(tc, test_rolling_size);
    tcase_add_test(tc, test_track_keys);
    tcase_add_test(tc, test_message_counted_once);
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("accounting");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_buckets);
    tcase_add_test(tc, test_buckets_against_libc);
    tcase_add_test(tc, test_accounting);
    tcase_add_test(tc, test_reopen_and_expire);
    suite_add_tcase(s, tc);

    tc = tcase_create("race");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_race);
    suite_add_tcase(s, tc);
    return s;
}
