/*
 * check_core.c - unit tests of the shared core: the stamp grammar, dates
 * and periods, the value rule, resource matching, header unfolding and the
 * order of the checks, each against the rules of hashcash 1.22
 * (shared/spec/hashcash-v1.md) and its published vectors.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postage.h"
#include "tests/unit/check_main.h"

/* 2026-11-27 12:00:00 UTC: the clock the spec's vectors were checked at. */
#define NOON_261127 INT64_C(1795780800)

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
    return postage_utc_from_fields(y, mo, d, h, mi, s);
}

static int64_t
date_of(const char *text, int64_t now)
{
    int64_t t = -1;
    ck_assert_int_eq(postage_date_parse(text, strlen(text), now, &t), POSTAGE_OK);
    return t;
}

/* ---- clock ---------------------------------------------------------- */

START_TEST(test_noon_constant)
{
    ck_assert_int_eq(utc(2026, 11, 27, 12, 0, 0), NOON_261127);
    ck_assert_int_eq(utc(1970, 1, 1, 0, 0, 0), 0);
    ck_assert_int_eq(utc(2000, 3, 1, 0, 0, 0), 951868800);
}
END_TEST

START_TEST(test_date_lengths)
{
    ck_assert_int_eq(date_of("26", NOON_261127), utc(2026, 1, 1, 0, 0, 0));
    ck_assert_int_eq(date_of("2611", NOON_261127), utc(2026, 11, 1, 0, 0, 0));
    ck_assert_int_eq(date_of("261127", NOON_261127), utc(2026, 11, 27, 0, 0, 0));
    ck_assert_int_eq(date_of("26112701", NOON_261127), utc(2026, 11, 27, 1, 0, 0));
    ck_assert_int_eq(date_of("2611270114", NOON_261127), utc(2026, 11, 27, 1, 14, 0));
    ck_assert_int_eq(date_of("261127011456", NOON_261127), utc(2026, 11, 27, 1, 14, 56));
}
END_TEST

START_TEST(test_date_bad)
{
    static const char *bad[] = { "", "2", "261", "26112", "2611270", "26112701145",
                                 "2611270114561", "26112701145600", "2a1127",
                                 "26 127", "-61127", "260027", "2600" };
    int64_t t;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(postage_date_parse(bad[i], strlen(bad[i]), NOON_261127, &t) ==
                          POSTAGE_ERR_SYNTAX,
                      "date '%s' should be refused", bad[i]);
}
END_TEST

START_TEST(test_date_century_window)
{
    ck_assert_int_eq(date_of("760101", NOON_261127), utc(2076, 1, 1, 0, 0, 0));
    ck_assert_int_eq(date_of("770101", NOON_261127), utc(1977, 1, 1, 0, 0, 0));
    ck_assert_int_eq(date_of("000101", NOON_261127), utc(2000, 1, 1, 0, 0, 0));
    ck_assert_int_eq(date_of("990101", NOON_261127), utc(1999, 1, 1, 0, 0, 0));
    /* In 2080 the window is 2030..2130: 29 is 2129, 30 is 2030. */
    int64_t in_2080 = utc(2080, 6, 1, 0, 0, 0);
    ck_assert_int_eq(date_of("290101", in_2080), utc(2129, 1, 1, 0, 0, 0));
    ck_assert_int_eq(date_of("300101", in_2080), utc(2030, 1, 1, 0, 0, 0));
}
END_TEST

START_TEST(test_date_normalised_like_mktime)
{
    /* Observed with hashcash 1.22 (spec 1.3). */
    ck_assert_int_eq(date_of("261327", NOON_261127), utc(2027, 1, 27, 0, 0, 0));
    ck_assert_int_eq(date_of("261100", NOON_261127), utc(2026, 10, 31, 0, 0, 0));
    ck_assert_int_eq(date_of("26112725", NOON_261127), utc(2026, 11, 28, 1, 0, 0));
}
END_TEST

START_TEST(test_date_format)
{
    char out[13];
    int64_t t = utc(2026, 11, 27, 1, 14, 56);
    ck_assert_int_eq(postage_date_format(t, 6, out), POSTAGE_OK);
    ck_assert_str_eq(out, "261127");
    ck_assert_int_eq(postage_date_format(t, 10, out), POSTAGE_OK);
    ck_assert_str_eq(out, "2611270114");
    ck_assert_int_eq(postage_date_format(t, 12, out), POSTAGE_OK);
    ck_assert_str_eq(out, "261127011456");
    ck_assert_int_eq(postage_date_format(t, 8, out), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_date_format(-1, 6, out), POSTAGE_ERR_INVALID);
    /* Round trip across leap days and year ends. */
    for (int64_t s = utc(1999, 12, 31, 23, 59, 59); s < utc(2001, 3, 2, 0, 0, 0); s += 86399) {
        ck_assert_int_eq(postage_date_format(s, 12, out), POSTAGE_OK);
        ck_assert_int_eq(date_of(out, NOON_261127), s);
    }
}
END_TEST

START_TEST(test_rfc3339)
{
    char out[21];
    ck_assert_int_eq(postage_time_rfc3339(utc(2026, 12, 25, 0, 0, 0), out), POSTAGE_OK);
    ck_assert_str_eq(out, "2026-12-25T00:00:00Z");
    ck_assert_int_eq(postage_time_rfc3339(0, out), POSTAGE_OK);
    ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_period)
{
    static const struct { const char *text; int64_t seconds; } good[] = {
        { "28d", 2419200 }, { "2d", 172800 }, { "2h", 7200 }, { "90m", 5400 },
        { "3600", 3600 }, { "45s", 45 }, { "1w", 604800 }, { "1M", 2628000 },
        { "1y", 31536000 }, { "1Y", 31536000 }, { "+5m", 300 }, { "0", 0 },
    };
    static const char *bad[] = { "", "-1", "d", "5x", "5dd", "1.5h", " 5", "5 ",
                                 "11y", "99999999999999999999" };
    int64_t v;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_int_eq(postage_period_parse(good[i].text, &v), POSTAGE_OK);
        ck_assert_int_eq(v, good[i].seconds);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(postage_period_parse(bad[i], &v) == POSTAGE_ERR_INVALID,
                      "period '%s' should be refused", bad[i]);
}
END_TEST

/* ---- grammar -------------------------------------------------------- */

static int
parse(const char *s, struct postage_stamp *st)
{
    return postage_stamp_parse(s, strlen(s), st);
}

static int
field_is(const char *field, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(field, want, len) == 0;
}

START_TEST(test_parse_v1_fields)
{
    struct postage_stamp st;
    const char *s = "1:12:261127:foo@example.org:name1=2,3;name2:UrspnJ09CNje9oKM:"
                    "000000000000000000000000000000001B6";
    ck_assert_int_eq(parse(s, &st), POSTAGE_OK);
    ck_assert_uint_eq(st.version, 1);
    ck_assert_uint_eq(st.claimed, 12);
    ck_assert(field_is(st.date, st.date_len, "261127"));
    ck_assert(field_is(st.resource, st.resource_len, "foo@example.org"));
    ck_assert(field_is(st.ext, st.ext_len, "name1=2,3;name2"));
    ck_assert(field_is(st.rand, st.rand_len, "UrspnJ09CNje9oKM"));
    ck_assert(field_is(st.counter, st.counter_len, "000000000000000000000000000000001B6"));
}
END_TEST

START_TEST(test_parse_v0_fields)
{
    struct postage_stamp st;
    ck_assert_int_eq(parse("0:040308:adam@cypherspace.org:819167212bbd56f2", &st), POSTAGE_OK);
    ck_assert_uint_eq(st.version, 0);
    ck_assert_uint_eq(st.claimed, 0);
    ck_assert(field_is(st.resource, st.resource_len, "adam@cypherspace.org"));
    ck_assert(field_is(st.rand, st.rand_len, "819167212bbd56f2"));
    ck_assert_uint_eq(st.counter_len, 0);
}
END_TEST

START_TEST(test_parse_accepts)
{
    static const char *good[] = {
        "1:0:261127:foo:::def",                         /* empty RAND (1.22 too) */
        "1:24:040806:foo::511801694b4cd6b0:1e7297a",    /* old hex minter */
        "1:20:261127:::abc:def",                        /* empty resource */
        "1:160:261127:foo::abc:de=f",                   /* '=' in the alphabet */
        "1:12:26:foo::abc:def",                         /* 2-digit date */
        "1:12:261127:foo bar::abc:def",                 /* spaces in resource */
    };
    struct postage_stamp st;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(parse(good[i], &st) == POSTAGE_OK, "'%s' should parse", good[i]);
}
END_TEST

START_TEST(test_parse_refuses)
{
    static const char *bad[] = {
        "", "1", "1:", "1:20:261127:foo::abc:",          /* empty counter */
        "1:20:261127:foo::abc",                          /* missing counter */
        "1:12:261127:foo@example.org::gVZBMGPUSjjYbhL-:0000Gw", /* '-' in RAND */
        "1:12:261127:foo::ab.c:def", "1:12:261127:foo::abc:de f",
        "1:12:261127:foo::abc:def\r",                    /* CR is not trimmed */
        "01:12:261127:foo::abc:def", " 1:12:261127:foo::abc:def", "1x:12:261127:foo::abc:def",
        "2:12:261127:foo::abc:def", "-1:12:261127:foo::abc:def",
        "1::261127:foo::abc:def",                        /* empty BITS */
        "1:x:261127:foo::abc:def", "1:161:261127:foo::abc:def", "1:0012:261127:foo::abc:def",
        "1:0:261127:foo::abc:def:ghi",                   /* junk after counter */
        "1:12:2611:27:foo::abc:def",
        "1:12:26112:foo::abc:def", "1:12::foo::abc:def", "1:12:2611270114561:foo::abc:def",
        "0:040308:adam@cypherspace.org:",                /* v0 empty RAND */
        "0:040308:adam@cypherspace.org:819:extra",
        "0:040308:adam@cypherspace.org",
    };
    struct postage_stamp st;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(parse(bad[i], &st) == POSTAGE_ERR_SYNTAX, "'%s' should be refused",
                      bad[i]);
}
END_TEST

START_TEST(test_parse_bounds)
{
    char buf[POSTAGE_STAMP_MAX + 64];
    struct postage_stamp st;

    /* Resource of exactly 256 bytes parses; 257 does not. */
    for (int extra = 0; extra <= 1; extra++) {
        int n = snprintf(buf, sizeof buf, "1:0:261127:");
        memset(buf + n, 'r', POSTAGE_RESOURCE_MAX + extra);
        n += POSTAGE_RESOURCE_MAX + extra;
        strcpy(buf + n, "::abc:def");
        ck_assert_int_eq(parse(buf, &st), extra ? POSTAGE_ERR_SYNTAX : POSTAGE_OK);
    }
    /* An over-long stamp is refused as such, without reading past len. */
    memset(buf, '1', sizeof buf);
    ck_assert_int_eq(postage_stamp_parse(buf, POSTAGE_STAMP_MAX + 1, &st), POSTAGE_ERR_TOO_LONG);
    /* A NUL inside is a syntax error, not a shorter stamp. */
    static const char with_nul[] = "1:0:261127:foo\0bar::abc:def";
    ck_assert_int_eq(postage_stamp_parse(with_nul, sizeof with_nul - 1, &st), POSTAGE_ERR_SYNTAX);
}
END_TEST

/* ---- value rule ----------------------------------------------------- */

static unsigned
value_of(const char *s, unsigned *actual)
{
    struct postage_stamp st;
    ck_assert_int_eq(parse(s, &st), POSTAGE_OK);
    return postage_stamp_value(&st, actual);
}

START_TEST(test_value_vectors)
{
    /* shared/spec/hashcash-v1.md section 6.1: stamp, claim, actual bits. */
    static const struct { const char *stamp; unsigned value, actual; } v[] = {
        { "1:12:261127:foo@example.org::JY5nFvirAbr+OB85:0000Hv", 12, 12 },
        { "1:12:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw", 12, 12 },
        { "1:16:261127:foo@example.org::GujMGx8hskvHjFnH:000Gt0", 16, 16 },
        { "1:10:2611270114:foo@example.org::ThpTBVvp2fAaMnaA:"
          "0000000000000000000000000000000000000000000005", 10, 10 },
        { "1:10:261127011456:foo@example.org::wNAgPcfwo2pfguzS:"
          "00000000000000000000000000000000000000000076", 10, 12 },
        { "1:12:261127:foo@example.org:name1=2,3;name2:UrspnJ09CNje9oKM:"
          "000000000000000000000000000000001B6", 12, 13 },
        { "1:14:261127:foo@example.org::G/HnU/bjxGR7v6Am:4gc", 14, 16 },
        { "1:14:261127:foo@example.org::yrTnWpOovUhOb3sd:1Oa", 14, 15 },
        { "1:8:261127:mixed@example.org::WhsLxurH5uXOAT1T:0001U", 8, 8 },
        { "1:24:040806:foo::511801694b4cd6b0:1e7297a", 24, 24 },
        { "1:20:040806:foo::831d0c6f22eb81ff:15eae4", 20, 21 },  /* extra bits earn nothing */
        { "1:20:261127:foo::abc:def", 0, 1 },                  /* forged claim is worth 0 */
        { "0:040308:adam@cypherspace.org:819167212bbd56f2", 21, 21 }, /* v0: actual */
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        unsigned actual;
        ck_assert_msg(value_of(v[i].stamp, &actual) == v[i].value, "value of %s", v[i].stamp);
        ck_assert_msg(actual == v[i].actual, "actual bits of %s: %u", v[i].stamp, actual);
    }
    /* The hash covers the stamp only: a tampered counter loses its bits. */
    ck_assert_uint_eq(value_of("1:12:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gx", NULL), 0);
}
END_TEST

/* ---- matching ------------------------------------------------------- */

static int
match(const char *pattern, const char *resource, unsigned flags)
{
    return postage_resource_match(pattern, strlen(pattern), resource, strlen(resource), flags);
}

START_TEST(test_match_exact)
{
    ck_assert(match("foo@example.org", "foo@example.org", 0));
    ck_assert(match("MIXED@example.org", "mixed@Example.ORG", 0));
    ck_assert(!match("MIXED@example.org", "mixed@example.org", POSTAGE_MATCH_CASE_SENSITIVE));
    ck_assert(!match("foo@example.org", "foo@example.org.", 0));
    ck_assert(!match("foo@example.org", "oo@example.org", 0));
    ck_assert(!match("*@example.org", "foo@example.org", 0)); /* no wildcards by default */
    ck_assert(match("", "", 0));
}
END_TEST

START_TEST(test_match_wildcard)
{
    const unsigned W = POSTAGE_MATCH_WILDCARD;
    ck_assert(match("*@example.org", "foo@example.org", W));
    ck_assert(!match("*@example.org", "foo@sub.example.org", W));  /* label counts */
    ck_assert(match("*@*.example.org", "foo@sub.example.org", W));
    ck_assert(!match("*@*.example.org", "foo@a.sub.example.org", W));
    ck_assert(!match("foo@*", "foo@a.b", W));
    ck_assert(match("foo@*", "foo@localhost", W));
    ck_assert(match("f*o@example.org", "foo@example.org", W));
    ck_assert(match("f*o@example.org", "fo@example.org", W));
    ck_assert(!match("f*o@example.org", "foox@example.org", W));
    ck_assert(match("*a*b*@ex*.org", "xxaxxbxx@example.org", W));
    ck_assert(match("FOO@EXAMPLE.ORG", "foo@example.org", W));
    ck_assert(!match("*", "foo@sub.example.org", W));   /* 1.22 crashes here */
    ck_assert(match("*", "anything", W));
    ck_assert(!match("foo@example.org", "foo", W));     /* domain pattern, bare resource */
    ck_assert(match("fo*", "foo", W));
    ck_assert(!match("fo", "foo", W));
    ck_assert(match("a**b", "ab", W));
}
END_TEST

START_TEST(test_match_hostile)
{
    /* Long pathological inputs finish and do not read past their ends. */
    char pat[600], res[600];
    for (int i = 0; i < 599; i++)
        pat[i] = i % 2 ? '*' : 'a';
    pat[599] = '\0';
    memset(res, 'a', 599);
    res[598] = 'b';
    res[599] = '\0';
    ck_assert(!match(pat, res, POSTAGE_MATCH_WILDCARD));
    ck_assert(!postage_resource_match(NULL, 0, "x", 1, 0));
    ck_assert(!postage_resource_match("x", 1, NULL, 0, POSTAGE_MATCH_WILDCARD));
    ck_assert(match("@", "@", POSTAGE_MATCH_WILDCARD));
    ck_assert(match("a@..", "a@..", POSTAGE_MATCH_WILDCARD));
}
END_TEST

START_TEST(test_field_is_clean)
{
    ck_assert(postage_field_is_clean("foo@example.org", 15));
    ck_assert(postage_field_is_clean("name1=2,3;name2", 15));
    ck_assert(!postage_field_is_clean("foo:bar", 7));
    ck_assert(!postage_field_is_clean("foo bar", 7));
    ck_assert(!postage_field_is_clean("foo\tbar", 7));
    ck_assert(!postage_field_is_clean("foo\x7f", 4));
    ck_assert(!postage_field_is_clean("a\0b", 3));
}
END_TEST

/* ---- headers -------------------------------------------------------- */

START_TEST(test_header_unfold)
{
    char out[POSTAGE_STAMP_MAX + 1];
    size_t n;
    const char *folded = " 1:12:261127:foo@example.org::gVZBMGP\r\n\tUSjjYbhLq:0000Gw \r\n";
    ck_assert_int_eq(postage_header_stamp(folded, strlen(folded), out, sizeof out, &n), POSTAGE_OK);
    ck_assert_str_eq(out, "1:12:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw");
    ck_assert_uint_eq(n, strlen(out));
    /* Exactly one whitespace character goes with each line break. */
    const char *deep = "1:12:261127:foo@example.org::gVZBMGP\n   USjjYbhLq:0000Gw";
    ck_assert_int_eq(postage_header_stamp(deep, strlen(deep), out, sizeof out, &n), POSTAGE_OK);
    ck_assert_str_eq(out, "1:12:261127:foo@example.org::gVZBMGP  USjjYbhLq:0000Gw");
    /* Too long for the buffer: truncated and said so. */
    char small[8];
    ck_assert_int_eq(postage_header_stamp(deep, strlen(deep), small, sizeof small, &n),
                     POSTAGE_ERR_TOO_LONG);
    ck_assert_uint_eq(n, 7);
}
END_TEST

START_TEST(test_headers_scan)
{
    const char *msg =
        "From: a@example.net\r\n"
        "X-Hashcash: 1:20:261127:bob@example.org::AAAA:0001\r\n"
        "Subject: hi\r\n"
        "x-hashcash: 1:20:261127:carol@example.org::BBBB:\r\n"
        "\t0002\r\n"
        "Hashcash: 0:261127:dave@example.org:CCCC\r\n"
        "X-Hashcash-Not: nope\r\n"
        "\r\n"
        "X-Hashcash: 1:20:261127:body@example.org::DDDD:0003\r\n";
    static const char *want[] = {
        "1:20:261127:bob@example.org::AAAA:0001",
        "1:20:261127:carol@example.org::BBBB:0002",
        "0:261127:dave@example.org:CCCC",
    };
    char out[POSTAGE_STAMP_MAX + 1];
    size_t pos = 0, n, found = 0;
    int rc;
    while ((rc = postage_headers_next(msg, strlen(msg), &pos, out, sizeof out, &n)) == 1) {
        ck_assert_uint_lt(found, 3);
        ck_assert_str_eq(out, want[found]);
        found++;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(found, 3); /* the body's stamp is not read */
}
END_TEST

START_TEST(test_headers_no_blank_line)
{
    const char *msg = "X-Hashcash: 1:20:261127:bob@example.org::AAAA:0001";
    char out[64];
    size_t pos = 0, n;
    ck_assert_int_eq(postage_headers_next(msg, strlen(msg), &pos, out, sizeof out, &n), 1);
    ck_assert_str_eq(out, "1:20:261127:bob@example.org::AAAA:0001");
    ck_assert_int_eq(postage_headers_next(msg, strlen(msg), &pos, out, sizeof out, &n), 0);
    pos = 0;
    ck_assert_int_eq(postage_headers_next("", 0, &pos, out, sizeof out, &n), 0);
}
END_TEST

/* ---- the order of the checks --------------------------------------- */

#define S2 "1:12:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw"
#define EXPIRED10 "1:10:261001:foo@example.org::psx3CsRl/qRZci1S:00006U"

static int
check_at(const char *stamp, unsigned bits, const char *resource, int64_t now)
{
    struct postage_check_options o;
    const char *res[1] = { resource };
    postage_check_options_init(&o, now);
    o.required_bits = bits;
    o.resources = res;
    o.resource_count = resource ? 1 : 0;
    return postage_check(stamp, strlen(stamp), &o, NULL);
}

START_TEST(test_check_vectors)
{
    ck_assert_int_eq(check_at(S2, 12, "foo@example.org", NOON_261127), POSTAGE_OK);
    ck_assert_int_eq(check_at(S2, 12, "FOO@example.org", NOON_261127), POSTAGE_OK);
    ck_assert_int_eq(check_at(S2, 12, "bar@example.org", NOON_261127), POSTAGE_ERR_RESOURCE);
    ck_assert_int_eq(check_at(S2, 13, "foo@example.org", NOON_261127), POSTAGE_ERR_BITS);
    ck_assert_int_eq(check_at(EXPIRED10, 10, "foo@example.org", NOON_261127), POSTAGE_ERR_EXPIRED);
    ck_assert_int_eq(check_at(S2, 12, "foo@example.org", utc(2026, 11, 24, 23, 59, 59)),
                     POSTAGE_ERR_FUTURE);
    ck_assert_int_eq(check_at("1:20:261127:foo::abc:def", 1, "foo", NOON_261127), POSTAGE_ERR_BITS);
    ck_assert_int_eq(check_at("1:12:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gx", 12,
                              "foo@example.org", NOON_261127), POSTAGE_ERR_BITS);
    ck_assert_int_eq(check_at("1:12:261127:foo@example.org::gVZBMGPUSjjYbhL-:0000Gw", 12,
                              "foo@example.org", NOON_261127), POSTAGE_ERR_SYNTAX);
    /* Without a resource list the resource is not checked. */
    ck_assert_int_eq(check_at(S2, 12, NULL, NOON_261127), POSTAGE_OK);
}
END_TEST

START_TEST(test_check_order)
{
    /* Wrong resource and expired: the resource test comes first. */
    ck_assert_int_eq(check_at(EXPIRED10, 10, "bar@example.org", NOON_261127), POSTAGE_ERR_RESOURCE);
    /* Too few bits and expired: bits come first. */
    ck_assert_int_eq(check_at(EXPIRED10, 11, "foo@example.org", NOON_261127), POSTAGE_ERR_BITS);
    /* Bad date is a syntax error before anything else. */
    ck_assert_int_eq(check_at("1:12:260027:foo@example.org::a:b", 0, "bar", NOON_261127),
                     POSTAGE_ERR_SYNTAX);
}
END_TEST

START_TEST(test_check_default_bits_is_20)
{
    struct postage_check_options o;
    postage_check_options_init(&o, NOON_261127);
    ck_assert_uint_eq(o.required_bits, 20);
    ck_assert_int_eq(postage_check(S2, strlen(S2), &o, NULL), POSTAGE_ERR_BITS);
    ck_assert_int_eq(postage_check("1:20:261127:foo::abc:def", 24, &o, NULL), POSTAGE_ERR_BITS);
}
END_TEST

START_TEST(test_check_expiry_boundary)
{
    /* Dated 2026-11-27 00:00; 28 d validity + 2 d grace ends at
     * 2026-12-27 00:00:00, which is already expired (strict >). */
    ck_assert_int_eq(check_at(S2, 12, "foo@example.org", utc(2026, 12, 26, 23, 59, 59)), POSTAGE_OK);
    ck_assert_int_eq(check_at(S2, 12, "foo@example.org", utc(2026, 12, 27, 0, 0, 0)),
                     POSTAGE_ERR_EXPIRED);
    /* Future: T > now + grace fails; at exactly now + grace it passes. */
    ck_assert_int_eq(check_at(S2, 12, "foo@example.org", utc(2026, 11, 25, 0, 0, 0)), POSTAGE_OK);
    ck_assert_int_eq(check_at(S2, 12, "foo@example.org", utc(2026, 11, 24, 23, 59, 59)),
                     POSTAGE_ERR_FUTURE);
}
END_TEST

START_TEST(test_check_validity_zero)
{
    struct postage_check_options o;
    struct postage_check_result r;
    const char *old = "1:24:040806:foo::511801694b4cd6b0:1e7297a";
    postage_check_options_init(&o, NOON_261127);
    o.required_bits = 24;
    ck_assert_int_eq(postage_check(old, strlen(old), &o, &r), POSTAGE_ERR_EXPIRED);
    o.validity = 0;
    ck_assert_int_eq(postage_check(old, strlen(old), &o, &r), POSTAGE_OK);
    ck_assert(r.expires_at == POSTAGE_NEVER_EXPIRES);
    /* ... and skips the future test too. */
    o.now = utc(2000, 1, 1, 0, 0, 0);
    o.required_bits = 12;
    ck_assert_int_eq(postage_check(S2, strlen(S2), &o, &r), POSTAGE_OK);
}
END_TEST

START_TEST(test_check_result_fields)
{
    struct postage_check_options o;
    struct postage_check_result r;
    const char *res[] = { "bar@example.org", "foo@example.org" };
    postage_check_options_init(&o, NOON_261127);
    o.required_bits = 12;
    o.resources = res;
    o.resource_count = 2;
    ck_assert_int_eq(postage_check(S2, strlen(S2), &o, &r), POSTAGE_OK);
    ck_assert_int_eq(r.verdict, POSTAGE_OK);
    ck_assert_int_eq(r.resource_index, 1);
    ck_assert_uint_eq(r.version, 1);
    ck_assert_uint_eq(r.claimed, 12);
    ck_assert_uint_eq(r.actual, 12);
    ck_assert_uint_eq(r.value, 12);
    ck_assert_int_eq(r.date, utc(2026, 11, 27, 0, 0, 0));
    ck_assert_int_eq(r.expires_at, utc(2026, 12, 25, 0, 0, 0));
}
END_TEST

START_TEST(test_check_bad_options)
{
    struct postage_check_options o;
    postage_check_options_init(&o, NOON_261127);
    o.grace = -1;
    ck_assert_int_eq(postage_check(S2, strlen(S2), &o, NULL), POSTAGE_ERR_INVALID);
    postage_check_options_init(&o, NOON_261127);
    o.required_bits = 161;
    ck_assert_int_eq(postage_check(S2, strlen(S2), &o, NULL), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_check(NULL, 0, &o, NULL), POSTAGE_ERR_INVALID);
}
END_TEST

START_TEST(test_strerror_and_verdicts)
{
    static const int verdicts[] = { POSTAGE_OK, POSTAGE_ERR_SYNTAX, POSTAGE_ERR_RESOURCE,
                                    POSTAGE_ERR_BITS, POSTAGE_ERR_EXPIRED, POSTAGE_ERR_FUTURE,
                                    POSTAGE_ERR_SPENT };
    static const char *names[] = { "ok", "syntax", "resource", "bits", "expired", "future", "spent" };
    for (size_t i = 0; i < 7; i++)
        ck_assert_str_eq(postage_verdict_name(verdicts[i]), names[i]);
    ck_assert_ptr_null(postage_verdict_name(POSTAGE_ERR_STORE));
    for (int code = POSTAGE_ERR_INTERNAL; code <= 0; code++)
        ck_assert_ptr_nonnull(postage_strerror(code));
    ck_assert_str_eq(postage_strerror(12345), "unknown status");
    ck_assert_str_eq(postage_strerror(POSTAGE_ERR_BITS), "stamp has insufficient bits");
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("core");
    TCase *t;

    t = tcase_create("clock");
    tcase_add_test(t, test_noon_constant);
    tcase_add_test(t, test_date_lengths);
    tcase_add_test(t, test_date_bad);
    tcase_add_test(t, test_date_century_window);
    tcase_add_test(t, test_date_normalised_like_mktime);
    tcase_add_test(t, test_date_format);
    tcase_add_test(t, test_rfc3339);
    tcase_add_test(t, test_period);
    suite_add_tcase(s, t);

    t = tcase_create("grammar");
    tcase_add_test(t, test_parse_v1_fields);
    tcase_add_test(t, test_parse_v0_fields);
    tcase_add_test(t, test_parse_accepts);
    tcase_add_test(t, test_parse_refuses);
    tcase_add_test(t, test_parse_bounds);
    tcase_add_test(t, test_value_vectors);
    suite_add_tcase(s, t);

    t = tcase_create("matching");
    tcase_add_test(t, test_match_exact);
    tcase_add_test(t, test_match_wildcard);
    tcase_add_test(t, test_match_hostile);
    tcase_add_test(t, test_field_is_clean);
    suite_add_tcase(s, t);

    t = tcase_create("headers");
    tcase_add_test(t, test_header_unfold);
    tcase_add_test(t, test_headers_scan);
    tcase_add_test(t, test_headers_no_blank_line);
    suite_add_tcase(s, t);

    t = tcase_create("check");
    tcase_add_test(t, test_check_vectors);
    tcase_add_test(t, test_check_order);
    tcase_add_test(t, test_check_default_bits_is_20);
    tcase_add_test(t, test_check_expiry_boundary);
    tcase_add_test(t, test_check_validity_zero);
    tcase_add_test(t, test_check_result_fields);
    tcase_add_test(t, test_check_bad_options);
    tcase_add_test(t, test_strerror_and_verdicts);
    suite_add_tcase(s, t);
    return s;
}
