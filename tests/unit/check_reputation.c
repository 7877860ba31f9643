/*
 * check_reputation.c - unit tests of the price function and of reputation
 * decay with a fixed clock, the record format, the identities, the store
 * operations, and the worked table of docs/pricing.md (read from the file,
 * so the documentation cannot drift from the code).
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/checks/reputation.h"
#include "policy/engine/settings.h"
#include "policy/state/state.h"
#include "tests/unit/state_fixture.h"
#include "tests/unit/check_main.h"

#define T0 INT64_C(1795780800) /* 2026-11-27 12:00:00 UTC */
#define DAY INT64_C(86400)

static struct pd_rep_params P;

static void
setup(void)
{
    pd_settings_rep_defaults(&P);
    fixture_setup("check_reputation");
}

static void
teardown(void)
{
    fixture_teardown();
}

/* A record with only these counters set, as of T0. */
static struct pd_rep_record
record(double accepted, double rate)
{
    struct pd_rep_record r;
    memset(&r, 0, sizeof r);
    r.first_seen = T0 - 100 * DAY;
    r.updated_at = T0;
    r.counter[PD_REP_ACCEPTED] = accepted;
    r.counter[PD_REP_RATE] = rate;
    return r;
}

static struct pd_price
price_of(const struct pd_rep_record *id, const struct pd_rep_record *client, int spf_pass,
         enum pd_spf_result spf, int helo)
{
    struct pd_price_input in = {
        .spf_pass = spf_pass, .spf_result = spf, .spf_checked = 1, .helo_score = helo,
        .identity = id, .client = client,
    };
    struct pd_price out;
    pd_price_compute(&P, &in, &out);
    return out;
}

START_TEST(test_decay_halves_per_half_life)
{
    struct pd_rep_record r = record(800, 100);
    r.counter[PD_REP_REPLAYED] = 8;
    pd_rep_decay(&r, &P, T0 + 30 * DAY);
    ck_assert_double_eq_tol(r.counter[PD_REP_ACCEPTED], 400, 1e-6);
    ck_assert_double_eq_tol(r.counter[PD_REP_REPLAYED], 4, 1e-9);
    /* The rate decays with its own time constant: e^-30 after 30 windows. */
    ck_assert_double_eq_tol(r.counter[PD_REP_RATE], 100 * exp(-30), 1e-9);
    ck_assert_int_eq(r.updated_at, T0 + 30 * DAY);
    pd_rep_decay(&r, &P, T0 + 60 * DAY);
    ck_assert_double_eq_tol(r.counter[PD_REP_ACCEPTED], 200, 1e-6);

    /* One rate window: e^-1. */
    struct pd_rep_record q = record(0, 50);
    pd_rep_decay(&q, &P, T0 + DAY);
    ck_assert_double_eq_tol(q.counter[PD_REP_RATE], 50 * exp(-1), 1e-9);
}
END_TEST

START_TEST(test_decay_ignores_clock_going_back)
{
    struct pd_rep_record r = record(64, 10);
    pd_rep_decay(&r, &P, T0 - DAY);
    ck_assert_double_eq(r.counter[PD_REP_ACCEPTED], 64);
    ck_assert_double_eq(r.counter[PD_REP_RATE], 10);
    ck_assert_int_eq(r.updated_at, T0);
}
END_TEST

START_TEST(test_steady_sender_rate_settles_at_its_daily_count)
{
    /* 240 messages a day, one every 6 minutes, for 10 days. */
    struct pd_rep_record r;
    struct pd_rep_delta d;
    memset(&r, 0, sizeof r);
    memset(&d, 0, sizeof d);
    d.counter[PD_REP_RATE] = 1;
    d.messages = 1;
    for (int i = 0; i < 2400; i++)
        pd_rep_add(&r, &P, T0 + i * 360, &d);
    ck_assert_double_eq_tol(pd_rep_rate(&r), 240, 3);
    ck_assert_uint_eq(r.messages, 2400);
    ck_assert_int_eq(r.first_seen, T0);
}
END_TEST

START_TEST(test_price_unknown_and_spf)
{
    /* The formula alone: the promise (test_promise) would lower the
     * prices over price_base. */
    P.published = P.cap;
    struct pd_rep_record none = record(0, 0);
    ck_assert_int_eq(price_of(&none, &none, 0, PD_SPF_NONE, 0).bits, 22);
    ck_assert_int_eq(price_of(&none, &none, 1, PD_SPF_PASS, 0).bits, 16);
    ck_assert_int_eq(price_of(&none, &none, 0, PD_SPF_SOFTFAIL, 0).bits, 24);
    ck_assert_int_eq(price_of(&none, &none, 0, PD_SPF_NEUTRAL, 3).bits, 25);
    /* SPF not checked (off, or a whitelisted client): neither credit nor
     * penalty. */
    struct pd_price_input in = { .identity = &none, .client = &none };
    struct pd_price out;
    pd_price_compute(&P, &in, &out);
    ck_assert_int_eq(out.bits, 20);
    ck_assert_int_eq(out.band, PD_REP_BAND_UNKNOWN);
}
END_TEST

START_TEST(test_price_falls_with_history)
{
    int last = 99;
    /* Each doubling of net + 1 takes one bit off, up to the maximum. */
    for (int k = 0; k <= 20; k++) {
        struct pd_rep_record r = record(pow(2, k) - 1, 0);
        struct pd_price p = price_of(&r, NULL, 1, PD_SPF_PASS, 0);
        int credit = k > 16 ? 16 : k;
        ck_assert_int_eq(p.credit, 4 + credit);
        ck_assert_int_eq(p.bits, 20 - 4 - credit);
        ck_assert_int_le(p.bits, last);
        last = p.bits;
    }
    /* Never below 0. */
    ck_assert_int_eq(last, 0);
    struct pd_rep_record big = record(1e6, 0);
    ck_assert_int_eq(price_of(&big, NULL, 1, PD_SPF_PASS, 0).raw, 0);
    ck_assert_int_eq(price_of(&big, NULL, 1, PD_SPF_PASS, 0).band, PD_REP_BAND_TRUSTED);
}
END_TEST

START_TEST(test_price_rises_one_bit_per_doubling_of_rate)
{
    struct pd_rep_record none = record(0, 0);
    int base = price_of(&none, &none, 1, PD_SPF_PASS, 0).bits;
    struct pd_rep_record at = record(0, P.allowance);
    ck_assert_int_eq(price_of(&at, NULL, 1, PD_SPF_PASS, 0).bits, base);
    /* 1.5, 3, 6, 12 times the allowance: +1, +2, +3, +4. */
    double rate = P.allowance * 1.5;
    for (int extra = 1; extra <= 4; extra++, rate *= 2) {
        struct pd_rep_record r = record(0, rate);
        struct pd_price p = price_of(&r, NULL, 1, PD_SPF_PASS, 0);
        ck_assert_int_eq(p.surcharge, extra);
        ck_assert_int_eq(p.bits, base + extra);
    }
    /* The client address's rate counts as much as the identity's. */
    struct pd_rep_record busy_host = record(0, P.allowance * 6);
    ck_assert_int_eq(price_of(&none, &busy_host, 1, PD_SPF_PASS, 0).bits, base + 3);
}
END_TEST

START_TEST(test_price_bad_history_and_cap)
{
    struct pd_rep_record r = record(0, 0);
    r.counter[PD_REP_REPLAYED] = 2;   /* bad 8, net -8: floor(log2 9) = 3 */
    struct pd_price p = price_of(&r, NULL, 0, PD_SPF_NONE, 0);
    ck_assert_double_eq_tol(p.net, -8, 1e-9);
    ck_assert_int_eq(p.band, PD_REP_BAND_BAD);
    ck_assert_int_eq(p.bits, 20 + 2 + 3);
    ck_assert(!p.over_cap);

    /* Over the cap: flagged, not silently capped.  (A sender in bad
     * standing: for the others the published price is the most.) */
    struct pd_rep_record flood = record(0, P.allowance * 100);
    flood.counter[PD_REP_REPLAYED] = 2;
    p = price_of(&flood, NULL, 0, PD_SPF_SOFTFAIL, 0);
    ck_assert_int_eq(p.raw, 20 + 4 + 3 + 7);
    ck_assert(p.over_cap);
    ck_assert(!p.promised);
    /* Exactly the cap is still payable. */
    P.cap = 34;
    p = price_of(&flood, NULL, 0, PD_SPF_SOFTFAIL, 0);
    ck_assert(!p.over_cap);
    ck_assert_int_eq(p.bits, 34);
}
END_TEST

START_TEST(test_pin_overrides)
{
    struct pd_rep_record r = record(0, P.allowance * 100);
    r.pinned = 1;
    r.pin_bits = 12;
    struct pd_price p = price_of(&r, NULL, 0, PD_SPF_SOFTFAIL, 9);
    ck_assert(p.pinned);
    ck_assert_int_eq(p.bits, 12);
    ck_assert(!p.over_cap);
    /* A pinned client address applies when the identity is not pinned. */
    struct pd_rep_record id = record(0, 0);
    p = price_of(&id, &r, 1, PD_SPF_PASS, 0);
    ck_assert_int_eq(p.bits, 12);
}
END_TEST

/* price_cap is the most ever asked: a pin above it refuses the message
 * (over_cap) as a computed price above it does; the bits are clamped to
 * the cap as for a computed price.  A pin at the cap is a price. */
START_TEST(test_pin_over_cap_refuses)
{
    ck_assert_int_eq(P.cap, 28);
    struct pd_rep_record r = record(1000, 0);
    r.pinned = 1;
    r.pin_bits = 40;
    struct pd_price p = price_of(&r, NULL, 1, PD_SPF_PASS, 0);
    ck_assert(p.pinned);
    ck_assert(p.over_cap);
    ck_assert_int_eq(p.raw, 40);
    ck_assert_int_eq(p.bits, 28);
    /* Through the client address's pin too. */
    struct pd_rep_record id = record(0, 0);
    p = price_of(&id, &r, 1, PD_SPF_PASS, 0);
    ck_assert(p.pinned && p.over_cap);
    ck_assert_int_eq(p.raw, 40);
    r.pin_bits = 28;
    p = price_of(&r, NULL, 0, PD_SPF_SOFTFAIL, 9);
    ck_assert(p.pinned);
    ck_assert(!p.over_cap);
    ck_assert_int_eq(p.bits, 28);
}
END_TEST

/* The promise: a sender not in bad standing is never asked more than
 * published_price (by default price_base), whatever its penalties and
 * volume, and never refused for being over the cap; a sender in bad
 * standing (its record, or its host's) and a pinned one pay their own
 * price. */
START_TEST(test_promise)
{
    ck_assert_int_eq(P.published, 20);          /* the default: price_base */
    ck_assert_int_eq(P.base, 20);
    struct pd_rep_record none = record(0, 0);

    /* Unknown, SPF none, a HELO name that does not resolve: 20 + 2 + 2. */
    struct pd_price p = price_of(&none, &none, 0, PD_SPF_NONE, 2);
    ck_assert_int_eq(p.raw, 24);
    ck_assert_int_eq(p.bits, 20);
    ck_assert(p.promised);
    ck_assert(!p.over_cap);
    ck_assert_int_eq(p.band, PD_REP_BAND_UNKNOWN);

    /* A price at or below the published one is left alone. */
    p = price_of(&none, &none, 1, PD_SPF_PASS, 0);
    ck_assert_int_eq(p.bits, 16);
    ck_assert(!p.promised);
    p = price_of(&none, &none, 1, PD_SPF_PASS, 4);
    ck_assert_int_eq(p.bits, 20);
    ck_assert(!p.promised);

    /* Volume: 1000 times the allowance (+10) and a softfail (+4), less 3
     * bits of history, is 31, over the cap of 28; a known sender is still
     * asked 20, not refused. */
    struct pd_rep_record known = record(10, P.allowance * 1000);
    p = price_of(&known, NULL, 0, PD_SPF_SOFTFAIL, 0);
    ck_assert_int_eq(p.band, PD_REP_BAND_KNOWN);
    ck_assert_int_gt(p.raw, P.cap);
    ck_assert(!p.over_cap);
    ck_assert(p.promised);
    ck_assert_int_eq(p.bits, 20);
    /* The busy host's rate alone, too. */
    struct pd_rep_record busy = record(0, P.allowance * 1000);
    p = price_of(&none, &busy, 0, PD_SPF_NONE, 0);
    ck_assert(!p.over_cap && p.promised);
    ck_assert_int_eq(p.bits, 20);

    /* Bad standing: its own price, named in the 451, and the cap. */
    struct pd_rep_record bad = record(0, 0);
    bad.counter[PD_REP_SPF_FAILURES] = 1;           /* net -4: +2 bits */
    p = price_of(&bad, &none, 0, PD_SPF_NONE, 2);
    ck_assert_int_eq(p.band, PD_REP_BAND_BAD);
    ck_assert(!p.promised);
    ck_assert_int_eq(p.bits, 20 + 2 + 2 + 2);
    bad.counter[PD_REP_RATE] = P.allowance * 100;
    p = price_of(&bad, &none, 0, PD_SPF_NONE, 2);
    ck_assert(p.over_cap);
    /* A host in bad standing puts a fresh sender address on it there:
     * a new envelope sender per message does not win the promise. */
    struct pd_rep_record bad_host = record(0, 0);
    bad_host.counter[PD_REP_REPLAYED] = 1;
    p = price_of(&none, &bad_host, 0, PD_SPF_NONE, 2);
    ck_assert_int_eq(p.band, PD_REP_BAND_BAD);
    ck_assert(p.bad_standing && !p.promised);
    ck_assert_int_eq(p.bits, 24);

    /* Failed HELO tests are how a host is set up, not abuse: they cost
     * it its HELO score in the price, and below 0 they make its band bad,
     * but not its standing.  A host whose HELO name does not resolve and
     * that paid the published price for its first messages keeps the
     * promise for the next ones. */
    struct pd_rep_record helo_host = record(2, 0);   /* 2 accepted ...      */
    helo_host.counter[PD_REP_BITS_PAID] = 40;        /* ... paid at 20 bits */
    helo_host.counter[PD_REP_HELO_FAILURES] = 2;     /* net 2 + 4 - 8 = -2  */
    p = price_of(&helo_host, &helo_host, 0, PD_SPF_NONE, 2);
    ck_assert_int_eq(p.band, PD_REP_BAND_BAD);
    ck_assert(!p.bad_standing && p.promised);
    ck_assert_int_eq(p.bits, 20);
    helo_host.counter[PD_REP_REPLAYED] = 2;           /* abuse: 6 - 8 < 0    */
    p = price_of(&helo_host, &helo_host, 0, PD_SPF_NONE, 2);
    ck_assert(p.bad_standing && !p.promised);
    ck_assert_int_gt(p.bits, 20);

    /* A pin is the postmaster's exception: above the published price it
     * is asked all the same (and above the cap it refuses). */
    struct pd_rep_record pinned = record(10, 0);
    pinned.pinned = 1;
    pinned.pin_bits = 24;
    p = price_of(&pinned, NULL, 1, PD_SPF_PASS, 0);
    ck_assert(p.pinned && !p.promised);
    ck_assert_int_eq(p.bits, 24);

    /* Another published price: a lower one lowers the price of every
     * sender in good standing to it; 0 makes their mail free. */
    P.published = 12;
    p = price_of(&none, &none, 1, PD_SPF_PASS, 0);
    ck_assert_int_eq(p.bits, 12);
    ck_assert(p.promised);
    P.published = 0;
    p = price_of(&none, &none, 0, PD_SPF_NONE, 2);
    ck_assert_int_eq(p.bits, 0);
    p = price_of(&bad, &none, 0, PD_SPF_NONE, 2);
    ck_assert(p.over_cap);
    P.published = P.cap;
    p = price_of(&none, &none, 0, PD_SPF_SOFTFAIL, 2);
    ck_assert_int_eq(p.bits, 26);
    ck_assert(!p.promised);
}
END_TEST

/* The worked table of docs/pricing.md, row by row. */
static char *
trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

START_TEST(test_worked_table_in_docs)
{
    char path[4096], line[1024];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/docs/pricing.md", top ? top : ".");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    int in_table = 0, rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "<!-- worked-table", 17) == 0) {
            in_table = 1;
            continue;
        }
        if (strncmp(line, "<!-- end worked-table", 21) == 0)
            break;
        if (!in_table || line[0] != '|' || strncmp(line, "|---", 4) == 0 ||
            strncmp(line, "| sender |", 10) == 0)
            continue;
        char *cols[7];
        int n = 0;
        for (char *c = strtok(line + 1, "|"); c != NULL && n < 7; c = strtok(NULL, "|"))
            cols[n++] = trim(c);
        ck_assert_msg(n >= 6, "row %d of the worked table has %d columns", rows + 1, n);
        const char *spf = cols[1];
        struct pd_rep_record id, client;
        memset(&id, 0, sizeof id);
        memset(&client, 0, sizeof client);
        double net = atof(cols[3]);
        if (net >= 0)
            id.counter[PD_REP_ACCEPTED] = net;
        else
            id.counter[PD_REP_REPLAYED] = -net / 4;
        id.counter[PD_REP_RATE] = atof(cols[4]);
        enum pd_spf_result res = strcmp(spf, "pass") == 0       ? PD_SPF_PASS
                                 : strcmp(spf, "softfail") == 0 ? PD_SPF_SOFTFAIL
                                 : strcmp(spf, "neutral") == 0  ? PD_SPF_NEUTRAL
                                                                : PD_SPF_NONE;
        struct pd_price p = price_of(&id, &client, res == PD_SPF_PASS, res, atoi(cols[2]));
        char got[64];
        if (p.over_cap)
            snprintf(got, sizeof got, "refused (%d)", p.raw);
        else if (p.promised)
            snprintf(got, sizeof got, "%d (promise; own %d)", p.bits, p.raw);
        else
            snprintf(got, sizeof got, "%d", p.bits);
        ck_assert_msg(strcmp(got, cols[5]) == 0, "docs/pricing.md, '%s': the table says %s, "
                      "the code says %s", cols[0], cols[5], got);
        rows++;
    }
    fclose(f);
    ck_assert_int_ge(rows, 8);
}
END_TEST

START_TEST(test_record_round_trip)
{
    struct pd_rep_record r = record(12.5, 3.25), back;
    unsigned char buf[PD_ST_VALUE_MAX];
    r.counter[PD_REP_BITS_PAID] = 66;
    r.messages = 4000000000u;
    r.pinned = 1;
    r.pin_bits = 160;
    size_t n = pd_rep_encode(&r, buf, sizeof buf);
    ck_assert_uint_eq(n, 60);
    ck_assert_int_eq(pd_rep_decode(buf, n, &back), 0);
    ck_assert_double_eq(back.counter[PD_REP_ACCEPTED], 12.5);
    ck_assert_double_eq(back.counter[PD_REP_RATE], 3.25);
    ck_assert_double_eq(back.counter[PD_REP_BITS_PAID], 66);
    ck_assert_uint_eq(back.messages, 4000000000u);
    ck_assert_int_eq(back.first_seen, r.first_seen);
    ck_assert_int_eq(back.pin_bits, 160);
    /* Another version, a short value: refused, and a fresh record. */
    buf[0] = 2;
    ck_assert_int_eq(pd_rep_decode(buf, n, &back), -1);
    ck_assert_int_eq(back.messages, 0);
    buf[0] = 1;
    ck_assert_int_eq(pd_rep_decode(buf, n - 1, &back), -1);
    /* A damaged time (before 1970) is a damaged record. */
    pd_st_put_i64(buf + 12, INT64_MIN);
    ck_assert_int_eq(pd_rep_decode(buf, n, &back), -1);
    pd_rep_encode(&r, buf, sizeof buf);
    /* A damaged counter (NaN, negative) reads as 0, never poisons a price. */
    memset(buf + 20, 0xff, 4);
    ck_assert_int_eq(pd_rep_decode(buf, n, &back), 0);
    ck_assert_double_eq(back.counter[PD_REP_ACCEPTED], 0);
}
END_TEST

START_TEST(test_identities)
{
    struct pd_rep_ids ids;
    ck_assert_int_eq(pd_rep_identities("Example.ORG", "192.0.2.10", "a@b", 24, 64, &ids), 0);
    ck_assert_str_eq(ids.identity, "domain:example.org");
    ck_assert_str_eq(ids.client, "ip:192.0.2.10");
    ck_assert_int_eq(pd_rep_identities(NULL, "192.0.2.10", "Alice@Example.COM", 24, 64, &ids), 0);
    ck_assert_str_eq(ids.identity, "sender:192.0.2.0/24 alice@example.com");
    ck_assert_int_eq(pd_rep_identities(NULL, "2001:DB8:1:2:3::9", "", 24, 64, &ids), 0);
    ck_assert_str_eq(ids.identity, "sender:2001:db8:1:2::/64 <>");
    ck_assert_str_eq(ids.client, "ip:2001:db8:1:2:3::9");
    /* Spaces and control characters cannot split or fake an identity. */
    ck_assert_int_eq(pd_rep_identities(NULL, "192.0.2.10", "a b\n@x", 24, 64, &ids), 0);
    ck_assert_str_eq(ids.identity, "sender:192.0.2.0/24 a?b?@x");
    ck_assert_int_eq(pd_rep_identities(NULL, "not-an-ip", "a@b", 24, 64, &ids), -1);
    ck_assert_str_eq(ids.identity, "sender:unknown a@b");
    ck_assert_str_eq(ids.client, "");
    /* A hostile sender is cut to fit. */
    char huge[5000];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    pd_rep_identities(NULL, "192.0.2.1", huge, 24, 64, &ids);
    ck_assert_uint_eq(strlen(ids.identity), PD_REP_ID_MAX - 1);

    ck_assert(pd_rep_identity_valid("domain:example.org"));
    ck_assert(pd_rep_identity_valid("ip:192.0.2.1"));
    ck_assert(!pd_rep_identity_valid("domain:"));
    ck_assert(!pd_rep_identity_valid("example.org"));
    ck_assert(!pd_rep_identity_valid("ip:1\n"));
}
END_TEST

START_TEST(test_store_apply_load_pin)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    struct pd_rep_delta d;
    struct pd_rep_record r;
    memset(&d, 0, sizeof d);
    d.counter[PD_REP_ACCEPTED] = 1;
    d.counter[PD_REP_RATE] = 1;
    d.messages = 1;
    /* Never seen: a fresh record. */
    ck_assert_int_eq(pd_rep_load(st, &P, "domain:example.org", T0, &r), PD_ST_OK);
    ck_assert_int_eq(r.first_seen, 0);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pd_rep_apply(st, &P, "domain:example.org", T0, &d), PD_ST_OK);
    ck_assert_int_eq(pd_rep_load(st, &P, "domain:example.org", T0, &r), PD_ST_OK);
    ck_assert_double_eq_tol(r.counter[PD_REP_ACCEPTED], 8, 1e-6);
    ck_assert_uint_eq(r.messages, 8);
    ck_assert_int_eq(r.first_seen, T0);
    /* Read a half-life later: decayed on the way out, not in the store. */
    ck_assert_int_eq(pd_rep_load(st, &P, "domain:example.org", T0 + 30 * DAY, &r), PD_ST_OK);
    ck_assert_double_eq_tol(r.counter[PD_REP_ACCEPTED], 4, 1e-6);
    ck_assert_int_eq(pd_rep_apply(st, &P, "domain:example.org", T0 + 30 * DAY, &d), PD_ST_OK);
    ck_assert_int_eq(pd_rep_load(st, &P, "domain:example.org", T0 + 30 * DAY, &r), PD_ST_OK);
    ck_assert_double_eq_tol(r.counter[PD_REP_ACCEPTED], 5, 1e-6);

    /* Pin and clear; the history survives both. */
    ck_assert_int_eq(pd_rep_pin(st, &P, "domain:example.org", T0 + 30 * DAY, 7), PD_ST_OK);
    ck_assert_int_eq(pd_rep_load(st, &P, "domain:example.org", T0 + 30 * DAY, &r), PD_ST_OK);
    ck_assert(r.pinned);
    ck_assert_int_eq(r.pin_bits, 7);
    ck_assert_double_eq_tol(r.counter[PD_REP_ACCEPTED], 5, 1e-6);
    ck_assert_int_eq(pd_rep_pin(st, &P, "domain:example.org", T0 + 30 * DAY, -1), PD_ST_OK);
    ck_assert_int_eq(pd_rep_load(st, &P, "domain:example.org", T0 + 30 * DAY, &r), PD_ST_OK);
    ck_assert(!r.pinned);
    ck_assert_int_eq(pd_rep_pin(st, &P, "domain:example.org", T0, 161), PD_ST_ERR_INVALID);
    ck_assert_int_eq(pd_rep_pin(st, &P, "example.org", T0, 3), PD_ST_ERR_INVALID);

    /* Forgotten after ten half-lives without news... */
    ck_assert_int_eq(pd_rep_load(st, &P, "domain:example.org", T0 + 30 * DAY + 10 * P.half_life,
                                 &r), PD_ST_OK);
    ck_assert_int_eq(r.first_seen, 0);
    /* ...unless pinned. */
    ck_assert_int_eq(pd_rep_pin(st, &P, "ip:192.0.2.9", T0, 0), PD_ST_OK);
    ck_assert_int_eq(pd_rep_load(st, &P, "ip:192.0.2.9", T0 + 100 * P.half_life, &r), PD_ST_OK);
    ck_assert(r.pinned);
    ck_assert_int_eq(r.pin_bits, 0);
    pd_state_close(st);
}
END_TEST

/* pd_rep_apply_many gives what pd_rep_apply one by one gives: updates of
 * one identity merged in order, each at its own time; other identities
 * apart; a pin kept; and pd_rep_load_many reads both records at once. */
START_TEST(test_store_apply_many)
{
    struct pd_state *st = fixture_open(PD_ST_NOSYNC);
    struct pd_rep_update u[5];
    struct pd_rep_delta d1, d2;
    struct pd_rep_record a, b, recs[3];
    memset(&d1, 0, sizeof d1);
    memset(&d2, 0, sizeof d2);
    d1.counter[PD_REP_ACCEPTED] = 1;
    d1.counter[PD_REP_RATE] = 1;
    d1.messages = 1;
    d2.counter[PD_REP_REPLAYED] = 2;
    d2.counter[PD_REP_STAMPS_PAID] = 3;
    ck_assert_int_eq(pd_rep_pin(st, &P, "ip:192.0.2.7", T0, 5), PD_ST_OK);
    const char *ids[5] = { "domain:a.example", "ip:192.0.2.7", "domain:a.example",
                           "domain:a.example", "ip:192.0.2.7" };
    const int64_t at[5] = { T0, T0, T0 + DAY, T0 + 2 * DAY, T0 + 2 * DAY };
    const struct pd_rep_delta *ds[5] = { &d1, &d2, &d2, &d1, &d1 };
    for (int i = 0; i < 5; i++) {
        u[i] = (struct pd_rep_update) { ids[i], &P, at[i], *ds[i] };
        /* The same history, one update at a time, under other names. */
        char other[64];
        snprintf(other, sizeof other, "%s.one", ids[i]);
        if (i == 0)
            ck_assert_int_eq(pd_rep_pin(st, &P, "ip:192.0.2.7.one", T0, 5), PD_ST_OK);
        ck_assert_int_eq(pd_rep_apply(st, &P, other, at[i], ds[i]), PD_ST_OK);
    }
    ck_assert_int_eq(pd_rep_apply_many(st, u, 5), PD_ST_OK);
    for (int k = 0; k < 2; k++) {
        const char *id = k == 0 ? "domain:a.example" : "ip:192.0.2.7";
        char other[64];
        snprintf(other, sizeof other, "%s.one", id);
        ck_assert_int_eq(pd_rep_load(st, &P, id, T0 + 3 * DAY, &a), PD_ST_OK);
        ck_assert_int_eq(pd_rep_load(st, &P, other, T0 + 3 * DAY, &b), PD_ST_OK);
        ck_assert_int_eq(a.first_seen, b.first_seen);
        ck_assert_uint_eq(a.messages, b.messages);
        ck_assert_int_eq(a.pinned, b.pinned);
        ck_assert_int_eq(a.pin_bits, b.pin_bits);
        /* Stored as float32: the rounding may differ in the last bits. */
        for (int c = 0; c < PD_REP_COUNTERS; c++)
            ck_assert_double_eq_tol(a.counter[c], b.counter[c], 1e-4 * (1 + fabs(b.counter[c])));
    }
    ck_assert_int_eq(pd_rep_load(st, &P, "domain:a.example", T0 + 2 * DAY, &a), PD_ST_OK);
    ck_assert_uint_eq(a.messages, 2);
    ck_assert_double_eq_tol(a.counter[PD_REP_REPLAYED], 2 * exp2(-(double) DAY / P.half_life),
                            1e-4);
    ck_assert(a.pinned == 0);
    ck_assert_int_eq(pd_rep_load(st, &P, "ip:192.0.2.7", T0, &b), PD_ST_OK);
    ck_assert(b.pinned);
    ck_assert_int_eq(b.pin_bits, 5);

    /* Both records (and a fresh one for "") in one read. */
    const char *load[3] = { "domain:a.example", "", "ip:192.0.2.7" };
    ck_assert_int_eq(pd_rep_load_many(st, &P, load, 3, T0 + 2 * DAY, recs), PD_ST_OK);
    ck_assert_uint_eq(recs[0].messages, 2);
    ck_assert_int_eq(recs[1].first_seen, 0);
    ck_assert(recs[2].pinned);
    ck_assert_uint_eq(recs[2].messages, 1);
    /* Refused: an empty identity, no params. */
    u[0].id = "";
    ck_assert_int_eq(pd_rep_apply_many(st, u, 2), PD_ST_ERR_INVALID);
    pd_state_close(st);
}
END_TEST

START_TEST(test_params_check)
{
    char err[256];
    struct pd_rep_params p = P;
    ck_assert_int_eq(pd_rep_params_check(&p, err, sizeof err), 0);
    p.base = 30;
    ck_assert_int_eq(pd_rep_params_check(&p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "price_base"));
    p = P;
    p.half_life = 0;
    ck_assert_int_eq(pd_rep_params_check(&p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "reputation_half_life"));
    /* A published price over the cap would be a promise postaged breaks. */
    p = P;
    p.published = p.cap;
    ck_assert_int_eq(pd_rep_params_check(&p, err, sizeof err), 0);
    p.published = p.cap + 1;
    ck_assert_int_eq(pd_rep_params_check(&p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "published_price is above price_cap"));
}
END_TEST

/* published_price follows price_base unless set; it is checked against
 * price_cap and must be a number (or price_base). */
START_TEST(test_published_price_setting)
{
    struct pd_settings s;
    struct pd_rep_params p;
    char err[256];
    pd_settings_defaults(&s, "/nonexistent");
    ck_assert_str_eq(s.published_price, "price_base");
    ck_assert_int_eq(pd_settings_rep_params(&s, &p, err, sizeof err), 0);
    ck_assert_int_eq(p.published, 20);
    ck_assert_int_eq(pd_settings_set(&s, "price_base", "23", err, sizeof err), 0);
    ck_assert_int_eq(pd_settings_rep_params(&s, &p, err, sizeof err), 0);
    ck_assert_int_eq(p.published, 23);
    ck_assert_int_eq(pd_settings_set(&s, "published_price", "18", err, sizeof err), 0);
    ck_assert_int_eq(pd_settings_rep_params(&s, &p, err, sizeof err), 0);
    ck_assert_int_eq(p.published, 18);
    ck_assert_int_eq(pd_settings_set(&s, "published_price", "29", err, sizeof err), 0);
    ck_assert_int_eq(pd_settings_rep_params(&s, &p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "published_price is above price_cap") != NULL, "%s", err);
    static const char *const bad[] = { "", "x", "-1", "20x", "161", "4294967317" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(pd_settings_set(&s, "published_price", bad[i], err, sizeof err), 0);
        ck_assert_int_eq(pd_settings_rep_params(&s, &p, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "published_price: '") == err, "%s: %s", bad[i], err);
    }
    pd_settings_free(&s);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("reputation");
    TCase *t = tcase_create("reputation");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_decay_halves_per_half_life);
    tcase_add_test(t, test_decay_ignores_clock_going_back);
    tcase_add_test(t, test_steady_sender_rate_settles_at_its_daily_count);
    tcase_add_test(t, test_price_unknown_and_spf);
    tcase_add_test(t, test_price_falls_with_history);
    tcase_add_test(t, test_price_rises_one_bit_per_doubling_of_rate);
    tcase_add_test(t, test_price_bad_history_and_cap);
    tcase_add_test(t, test_pin_overrides);
    tcase_add_test(t, test_pin_over_cap_refuses);
    tcase_add_test(t, test_promise);
    tcase_add_test(t, test_published_price_setting);
    tcase_add_test(t, test_worked_table_in_docs);
    tcase_add_test(t, test_record_round_trip);
    tcase_add_test(t, test_identities);
    tcase_add_test(t, test_store_apply_load_pin);
    tcase_add_test(t, test_store_apply_many);
    tcase_add_test(t, test_params_check);
    suite_add_tcase(s, t);
    return s;
}
