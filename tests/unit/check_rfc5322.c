/*
 * check_rfc5322.c - unit tests of util/rfc5322.c, the header and address
 * parsing behind postage-sendmail -t: real-world header shapes (RFC 5322
 * appendix A examples, what MUAs and scripts write), and hostile input
 * (unterminated syntax, huge and degenerate values, NULs, no newline),
 * each against its exact expected result.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rfc5322.h"
#include "tests/unit/check_main.h"

/* ---- helpers ---------------------------------------------------------- */

/* Assert the list holds exactly want[] (NULL-terminated), in order, and
 * `bad` skipped elements. */
static void
check_list(const struct rfc5322_addrs *l, size_t bad, const char *const *want,
           const char *label)
{
    size_t n = 0;
    while (want[n] != NULL)
        n++;
    for (size_t i = 0; i < l->count && i < n; i++)
        ck_assert_msg(strcmp(l->addr[i], want[i]) == 0, "%s: address %zu is '%s', expected '%s'",
                      label, i, l->addr[i], want[i]);
    ck_assert_msg(l->count == n, "%s: %zu addresses, expected %zu", label, l->count, n);
    ck_assert_msg(l->bad == bad, "%s: %zu bad, expected %zu", label, l->bad, bad);
}

static void
expect_parse(const char *value, size_t len, size_t bad, const char *const *want,
             const char *label)
{
    struct rfc5322_addrs l = { 0 };
    ck_assert_msg(rfc5322_parse_addresses(value, len, &l) == 0, "%s: parse failed", label);
    check_list(&l, bad, want, label);
    rfc5322_addrs_free(&l);
}

/* EXPECT("value", bad, "addr1", "addr2", ...) or EXPECT("value", bad, NULL).
 * The value is a literal, so embedded NULs count through sizeof. */
#define EXPECT(value, bad, ...)                                                        \
    expect_parse((value), sizeof(value) - 1, (bad), (const char *const[]){ __VA_ARGS__, NULL }, \
                 (value))

/* prefix + times * unit + suffix, malloc'd; *len gets its length. */
static char *
repeat(const char *prefix, const char *unit, size_t times, const char *suffix, size_t *len)
{
    size_t p = strlen(prefix), u = strlen(unit), s = strlen(suffix);
    size_t n = p + u * times + s;
    char *buf = malloc(n + 1);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, prefix, p);
    for (size_t i = 0; i < times; i++)
        memcpy(buf + p + i * u, unit, u);
    memcpy(buf + p + u * times, suffix, s);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void
expect_repeat(const char *prefix, const char *unit, size_t times, const char *suffix,
              size_t bad, const char *const *want, const char *label)
{
    size_t len;
    char *value = repeat(prefix, unit, times, suffix, &len);
    expect_parse(value, len, bad, want, label);
    free(value);
}

#define EXPECT_REPEAT(prefix, unit, times, suffix, bad, ...)                      \
    expect_repeat((prefix), (unit), (times), (suffix), (bad),                     \
                  (const char *const[]){ __VA_ARGS__, NULL }, prefix "|" unit "|" suffix)

static void
expect_recipients(const char *msg, size_t len, const char *const *shown, size_t shown_bad,
                  const char *const *blind, size_t blind_bad, const char *label)
{
    struct rfc5322_addrs s = { 0 }, b = { 0 };
    ck_assert_msg(rfc5322_recipients(msg, len, &s, &b) == 0, "%s: failed", label);
    check_list(&s, shown_bad, shown, label);
    check_list(&b, blind_bad, blind, label);
    rfc5322_addrs_free(&s);
    rfc5322_addrs_free(&b);
}

#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define RCPTS(msg, shown, shown_bad, blind, blind_bad) \
    expect_recipients((msg), sizeof(msg) - 1, (shown), (shown_bad), (blind), (blind_bad), (msg))

#define HEADER_END(msg) rfc5322_header_end((msg), sizeof(msg) - 1)

/* ---- the header block ------------------------------------------------- */

START_TEST(test_header_end_blank_line)
{
#define H_LF "From: a@b\nTo: c@d\nSubject: hi\n\n"
#define H_CRLF "From: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\n"
    /* The body, even one that looks like headers, is after the end. */
    ck_assert_uint_eq(HEADER_END(H_LF "body\nTo: evil@x\n\n"), sizeof H_LF - 1);
    ck_assert_uint_eq(HEADER_END(H_CRLF "body\r\nTo: evil@x\r\n"), sizeof H_CRLF - 1);
    ck_assert_uint_eq(HEADER_END(H_LF), sizeof H_LF - 1);
    /* Folded fields, a whitespace-only continuation line. */
    ck_assert_uint_eq(HEADER_END("Subject: a\n b\n\tc\n \nTo: x\n\nbody"), 26);
    /* A bare CR is an ordinary byte, not a line end. */
    ck_assert_uint_eq(HEADER_END("To: a@b\rCc: c@d\n\nbody"), 17);
    /* A NUL inside a value does not end anything. */
    ck_assert_uint_eq(HEADER_END("To: a\0b\n\nX"), 9);
    /* Blanks before the colon are allowed (sendmail takes them). */
    ck_assert_uint_eq(HEADER_END("Subject : spaced\n\nb"), 18);
#undef H_LF
#undef H_CRLF
}
END_TEST

START_TEST(test_header_end_no_blank_line)
{
    /* Headers only: the whole buffer, with or without a final newline. */
    ck_assert_uint_eq(HEADER_END("To: a@b\nCc: c@d\n"), 16);
    ck_assert_uint_eq(HEADER_END("To: a@b\nCc: c@d"), 15);
    ck_assert_uint_eq(HEADER_END("To: a@b\r\nSubject: x\r\n folded"), 28);
    /* A line that is not a field ends the block, and is not part of it. */
    ck_assert_uint_eq(HEADER_END("To: a@b\nthis is not a header\nCc: c@d\n\n"), 8);
    ck_assert_uint_eq(HEADER_END("To: a@b\n--boundary\n\n"), 8);
    ck_assert_uint_eq(HEADER_END("To: a@b\n--x: y\n\n"), 8);
    ck_assert_uint_eq(HEADER_END("To: a@b\nS\xc3\xbc" "bject: x\n\n"), 8);
    ck_assert_uint_eq(HEADER_END("To: a@b\n\0Cc: x\n\n"), 8);
    ck_assert_uint_eq(HEADER_END("To: a@b\n: no name\n\n"), 8);
    /* A lone CR at the very end is a line that is not a field. */
    ck_assert_uint_eq(HEADER_END("To: a@b\n\r"), 8);
}
END_TEST

START_TEST(test_header_end_no_header_block)
{
    ck_assert_uint_eq(rfc5322_header_end("", 0), 0);
    ck_assert_uint_eq(rfc5322_header_end(NULL, 0), 0);
    ck_assert_uint_eq(rfc5322_header_end(NULL, 10), 0);
    ck_assert_uint_eq(HEADER_END("\nTo: a@b\n"), 1);
    ck_assert_uint_eq(HEADER_END("\r\nTo: a@b\r\n"), 2);
    ck_assert_uint_eq(HEADER_END(" folded first\nTo: a@b\n\n"), 0);
    ck_assert_uint_eq(HEADER_END("just text, no colon\n"), 0);
    /* An mbox "From " line is not a field (sendmail's isheader()). */
    ck_assert_uint_eq(HEADER_END("From sender@x Mon Jan  1 00:00:00 2024\nTo: a@b\n\n"), 0);
}
END_TEST

START_TEST(test_next_field)
{
    static const char block[] = "Received: from x\n\tby y\r\nTo : a@b\nX-Empty:\nSubject: last";
    static const struct {
        const char *name, *value, *whole;
    } want[] = {
        { "Received", " from x\n\tby y\r\n", "Received: from x\n\tby y\r\n" },
        { "To", " a@b\n", "To : a@b\n" },
        { "X-Empty", "\n", "X-Empty:\n" },
        { "Subject", " last", "Subject: last" },
    };
    struct rfc5322_field f;
    size_t pos = 0, i = 0, len = sizeof block - 1;
    while (rfc5322_next_field(block, len, &pos, &f) == 1) {
        ck_assert_uint_lt(i, 4);
        ck_assert_uint_eq(f.name_len, strlen(want[i].name));
        ck_assert(memcmp(f.name, want[i].name, f.name_len) == 0);
        ck_assert_uint_eq(f.value_len, strlen(want[i].value));
        ck_assert(memcmp(f.value, want[i].value, f.value_len) == 0);
        ck_assert_uint_eq(f.end - f.start, strlen(want[i].whole));
        ck_assert(memcmp(block + f.start, want[i].whole, f.end - f.start) == 0);
        ck_assert_uint_eq(pos, f.end);
        i++;
    }
    ck_assert_uint_eq(i, 4);
    ck_assert_uint_eq(pos, len);
    ck_assert_int_eq(rfc5322_next_field(block, len, &pos, &f), 0);

    /* Iteration stops at the blank line, never reading the body. */
    static const char msg[] = "A: 1\r\n\r\nB: 2\r\n";
    pos = 0;
    ck_assert_int_eq(rfc5322_next_field(msg, sizeof msg - 1, &pos, &f), 1);
    ck_assert_uint_eq(f.end, 6);
    ck_assert_int_eq(rfc5322_next_field(msg, sizeof msg - 1, &pos, &f), 0);
    ck_assert_uint_eq(pos, sizeof msg - 1);

    /* A value with a NUL, given by length. */
    static const char nul[] = "X: a\0b\nY: c\n";
    pos = 0;
    ck_assert_int_eq(rfc5322_next_field(nul, sizeof nul - 1, &pos, &f), 1);
    ck_assert_uint_eq(f.value_len, 5);
    ck_assert_int_eq(rfc5322_next_field(nul, sizeof nul - 1, &pos, &f), 1);
    ck_assert(f.name[0] == 'Y');

    /* Bad arguments and a position past the end. */
    pos = 0;
    ck_assert_int_eq(rfc5322_next_field(NULL, 5, &pos, &f), 0);
    ck_assert_int_eq(rfc5322_next_field(block, len, NULL, &f), 0);
    ck_assert_int_eq(rfc5322_next_field(block, len, &pos, NULL), 0);
    pos = len + 100;
    ck_assert_int_eq(rfc5322_next_field(block, len, &pos, &f), 0);
    ck_assert_uint_eq(pos, len);
}
END_TEST

START_TEST(test_uses_crlf)
{
    ck_assert_int_eq(rfc5322_uses_crlf("To: a\r\nB: c\r\n", 13), 1);
    ck_assert_int_eq(rfc5322_uses_crlf("To: a\r\nB: c\n", 12), 1);
    ck_assert_int_eq(rfc5322_uses_crlf("To: a\nB: c\r\n", 12), 0);
    ck_assert_int_eq(rfc5322_uses_crlf("To: a\rb\n", 8), 0);
    ck_assert_int_eq(rfc5322_uses_crlf("To: a", 5), 0);
    ck_assert_int_eq(rfc5322_uses_crlf("To: a\r", 6), 0);
    ck_assert_int_eq(rfc5322_uses_crlf("\n", 1), 0);
    ck_assert_int_eq(rfc5322_uses_crlf("\r\n", 2), 1);
    ck_assert_int_eq(rfc5322_uses_crlf("", 0), 0);
    ck_assert_int_eq(rfc5322_uses_crlf(NULL, 3), 0);
    /* Only the bytes given are looked at. */
    ck_assert_int_eq(rfc5322_uses_crlf("To: a\r\n", 6), 0);
}
END_TEST

START_TEST(test_field_names)
{
    static const char block[] = "Bcc: a\nbcc: a\nBCC: a\nResent-Bcc: a\nRESENT-bcc : a\n"
                                "Cc: a\nX-Bcc: a\nBcc2: a\nBc: a\nResent-Bcc-X: a\n";
    static const int is_bcc[] = { 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 };
    struct rfc5322_field f;
    size_t pos = 0, i = 0;
    while (rfc5322_next_field(block, sizeof block - 1, &pos, &f)) {
        ck_assert_msg(rfc5322_field_is_bcc(&f) == is_bcc[i], "field %zu", i);
        i++;
    }
    ck_assert_uint_eq(i, 10);
    pos = 0;
    ck_assert(rfc5322_next_field(block, sizeof block - 1, &pos, &f));
    ck_assert_int_eq(rfc5322_field_name_is(&f, "bCc"), 1);
    ck_assert_int_eq(rfc5322_field_name_is(&f, "Bc"), 0);
    ck_assert_int_eq(rfc5322_field_name_is(&f, "Bcc:"), 0);
    ck_assert_int_eq(rfc5322_field_name_is(&f, NULL), 0);
    ck_assert_int_eq(rfc5322_field_name_is(NULL, "Bcc"), 0);
    ck_assert_int_eq(rfc5322_field_is_bcc(NULL), 0);
}
END_TEST

/* ---- addresses: what real mail carries -------------------------------- */

START_TEST(test_addr_basic)
{
    EXPECT("a@b", 0, "a@b");
    EXPECT(" user@example.org\n", 0, "user@example.org");
    EXPECT("Name <a@b>", 0, "a@b");
    EXPECT("Name<a@b>", 0, "a@b");
    EXPECT("<a@b>", 0, "a@b");
    EXPECT("<a@b>,<c@d>", 0, "a@b", "c@d");
    EXPECT("\"Doe, John\" <a@b>", 0, "a@b");
    EXPECT("a@b, c@d,e@f", 0, "a@b", "c@d", "e@f");
    EXPECT("John.Doe@Example.COM", 0, "John.Doe@Example.COM");
    EXPECT("first.last+tag@sub.example.co.uk", 0, "first.last+tag@sub.example.co.uk");
    EXPECT("!#$%&'*+-/=?^_`{|}~@example.org", 0, "!#$%&'*+-/=?^_`{|}~@example.org");
    /* RFC 5322 A.1.2. */
    EXPECT("\"Joe Q. Public\" <john.q.public@example.com>", 0, "john.q.public@example.com");
    EXPECT("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 0,
           "mary@x.test", "jdoe@example.org", "one@y.test");
    EXPECT("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 0,
           "boss@nil.test", "sysservices@example.net");
}
END_TEST

START_TEST(test_addr_comments)
{
    EXPECT("a@b (comment (nested))", 0, "a@b");
    EXPECT("a(x)@(y)b", 0, "a@b");
    EXPECT("(lead) a@b (trail)", 0, "a@b");
    EXPECT("a@b (c \\) d \\( e (f))", 0, "a@b");
    EXPECT("Name (note) <a@b> (after)", 0, "a@b");
    EXPECT("a@b, (only a comment), c@d", 0, "a@b", "c@d");
    EXPECT("(just a comment)", 0, NULL);
    EXPECT("a@b(no space)", 0, "a@b");
    /* RFC 5322 A.6.3. */
    EXPECT("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 0,
           "pete@silly.test");
}
END_TEST

START_TEST(test_addr_quoted_local_part)
{
    EXPECT("\"john doe\"@example.org", 0, "\"john doe\"@example.org");
    EXPECT("Name <\"john doe\"@example.org>", 0, "\"john doe\"@example.org");
    EXPECT("\"simple\"@x", 0, "simple@x");
    EXPECT("\"a\\b\"@x", 0, "ab@x");
    EXPECT("\"john\\\"q\\\\doe\"@x", 0, "\"john\\\"q\\\\doe\"@x");
    EXPECT("\"john\".doe@x", 0, "john.doe@x");
    EXPECT("\"john doe\".x@y", 0, "\"john doe.x\"@y");
    EXPECT("\"a@b\"@c", 0, "\"a@b\"@c");
    EXPECT("\"a..b\"@c", 0, "\"a..b\"@c");
    EXPECT("\"a,b\"@c, d@e", 0, "\"a,b\"@c", "d@e");
    EXPECT("\"\"@x", 1, NULL);
}
END_TEST

START_TEST(test_addr_display_names)
{
    EXPECT("=?UTF-8?B?w4lsb2RpZSBEdXBvbnQ=?= <elodie@example.fr>", 0, "elodie@example.fr");
    EXPECT("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", 0, "PIRARD@vm1.ulg.ac.be");
    EXPECT("=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jm@example.de>, x@y", 0, "jm@example.de", "x@y");
    EXPECT("\xc3\x89lodie Dupont <e@x>", 0, "e@x");
    EXPECT("\"\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e\" <taro@example.jp>", 0,
           "taro@example.jp");
    EXPECT("\"Foo \\\"Bar\\\" Baz\" <a@b>", 0, "a@b");
    EXPECT("John Q. Public <jqp@x>", 0, "jqp@x");
    /* A display name that is itself an address: the one in <> counts. */
    EXPECT("a@b <c@d>", 0, "c@d");
    EXPECT("'a@b' <a@b>", 0, "a@b");
    EXPECT("Foo> Bar <a@b>", 0, "a@b");
}
END_TEST

START_TEST(test_addr_groups)
{
    EXPECT("undisclosed-recipients:;", 0, NULL);
    EXPECT("undisclosed-recipients: ;\r\n", 0, NULL);
    EXPECT("Team: a@b, c@d;", 0, "a@b", "c@d");
    EXPECT("Team: a@b;, e@f", 0, "a@b", "e@f");
    EXPECT("x@y, Team: a@b; , e@f", 0, "x@y", "a@b", "e@f");
    EXPECT("\"My Team\": Ann <a@b>;", 0, "a@b");
    EXPECT(": a@b;", 0, "a@b");
    /* Without its ';' the group still gives its members. */
    EXPECT("Team: a@b, c@d", 0, "a@b", "c@d");
    /* RFC 5322 A.1.3. */
    EXPECT("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, "
           "Mary Smith <mary@x.test>",
           0, "c@a.test", "joe@where.test", "jdoe@one.test", "mary@x.test");
    /* RFC 5322 A.5, comments and folding everywhere. */
    EXPECT("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
           "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); "
           "(the end of the group)\r\n",
           0, "c@public.example", "joe@example.org", "jdoe@one.test");
    EXPECT("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", 0, NULL);
    /* Groups do not nest; a ':' after an address is no group. */
    EXPECT("A: B: c@d;", 1, NULL);
    EXPECT("a@b: c@d;", 1, NULL);
}
END_TEST

START_TEST(test_addr_empty_elements)
{
    EXPECT("a@b,,c@d,", 0, "a@b", "c@d");
    EXPECT(", , a@b ,", 0, "a@b");
    EXPECT(",,,", 0, NULL);
    EXPECT("", 0, NULL);
    EXPECT("   \r\n", 0, NULL);
    expect_parse(NULL, 0, 0, LIST(NULL), "NULL value");
}
END_TEST

START_TEST(test_addr_folding)
{
    EXPECT("a@b,\n c@d\n", 0, "a@b", "c@d");
    EXPECT(" Name\r\n <a@b>,\r\n\tc@d\r\n", 0, "a@b", "c@d");
    EXPECT("a\r\n @\r\n b", 0, "a@b");
    EXPECT("\"john\r\n doe\"@x", 0, "\"john doe\"@x");
    EXPECT("\"Doe,\r\n John\" <jd@x>", 0, "jd@x");
    EXPECT("<a@b\r\n\t>", 0, "a@b");
}
END_TEST

START_TEST(test_addr_routes)
{
    EXPECT("<@relay:a@b>", 0, "a@b");
    EXPECT("<@r1,@r2:a@b>", 0, "a@b");
    EXPECT("Name <@r1.test,@r2.test:x@y.test>, z@w", 0, "x@y.test", "z@w");
    EXPECT("<@[192.0.2.1]:a@b>", 0, "a@b");
    EXPECT("<@relay>", 1, NULL);
    EXPECT("<@relay:>", 1, NULL);
}
END_TEST

START_TEST(test_addr_domain_literals)
{
    EXPECT("a@[192.0.2.1]", 0, "a@[192.0.2.1]");
    EXPECT("Admin <root@[IPv6:2001:db8::1]>", 0, "root@[IPv6:2001:db8::1]");
    EXPECT("a@[ 192.0.2.1 ]", 0, "a@[192.0.2.1]");
    EXPECT("a@[]", 1, NULL);
    EXPECT("[192.0.2.1]@x", 1, NULL);
    EXPECT("a@[192.0.2.1].com", 1, NULL);
    EXPECT("a@x[192.0.2.1]", 1, NULL);
    EXPECT("a@[a[b]", 1, NULL);
}
END_TEST

START_TEST(test_addr_no_domain)
{
    EXPECT("bob", 0, "bob");
    EXPECT("bob, alice@x", 0, "bob", "alice@x");
    EXPECT("Bob <bob>", 0, "bob");
    /* An unquoted comma in a display name splits it, as in sendmail. */
    EXPECT("Doe, John <jd@x>", 0, "Doe", "jd@x");
}
END_TEST

START_TEST(test_addr_obsolete_forms)
{
    EXPECT("john . doe @ example . org", 0, "john.doe@example.org");
    EXPECT("John Doe <jdoe@machine(comment).  example>", 0, "jdoe@machine.example");
    EXPECT("john..doe@docomo.ne.jp", 0, "john..doe@docomo.ne.jp");
    EXPECT(".a.@x", 0, ".a.@x");
    /* ...but there must be a word: dots alone are no local part. */
    EXPECT("...@x", 1, NULL);
    EXPECT(". . .", 1, NULL);
    EXPECT("\".\"@x", 0, "\".\"@x");
    /* Outlook habit: ';' between addresses. */
    EXPECT("a@b; c@d", 0, "a@b", "c@d");
}
END_TEST

START_TEST(test_addr_trailing_blanks)
{
    EXPECT("a@b \r", 0, "a@b");
    EXPECT("a@b\r\n", 0, "a@b");
    EXPECT("a@b\t\t", 0, "a@b");
    EXPECT("<a@b>  \r\n", 0, "a@b");
    EXPECT("a@b ,\r\n", 0, "a@b");
}
END_TEST

START_TEST(test_addr_8bit)
{
    EXPECT("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", 0,
           "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a");
    EXPECT("\xc3\x91" "and\xc3\xba <\xc3\xb1@x.es>", 0, "\xc3\xb1@x.es");
    EXPECT("\xff\xfe@x", 0, "\xff\xfe@x");
    EXPECT("a@[192.0.2.\xc3\xa9]", 1, NULL);
}
END_TEST

/* ---- addresses: what is not one --------------------------------------- */

START_TEST(test_addr_bad_elements)
{
    EXPECT("John Doe", 1, NULL);
    EXPECT("a@b@c", 1, NULL);
    EXPECT("@b", 1, NULL);
    EXPECT("a@", 1, NULL);
    EXPECT("a@b..c", 1, NULL);
    EXPECT("a@.b", 1, NULL);
    EXPECT("a@b.", 1, NULL);
    EXPECT("<>", 1, NULL);
    EXPECT("<a@b> c@d", 1, NULL);
    EXPECT("<a@b> <c@d>", 1, NULL);
    EXPECT("a b@c", 1, NULL);
    EXPECT("a@b c", 1, NULL);
    EXPECT("a@\"b\"", 1, NULL);
    EXPECT("a\\b@c", 1, NULL);
    EXPECT("a@b)", 1, NULL);
    EXPECT("a@b>", 1, NULL);
    EXPECT("<a@b>>", 1, NULL);
    EXPECT("<<a@b>>", 1, NULL);
    EXPECT("<a:b@c>", 1, NULL);
    EXPECT("a@b:c", 1, NULL);
    /* Bad elements are skipped; the good ones around them stay. */
    EXPECT("x@y, John Doe, z@w", 1, "x@y", "z@w");
    EXPECT("x@y, a@b@c, <>, z@w", 2, "x@y", "z@w");
}
END_TEST

START_TEST(test_addr_control_bytes)
{
    EXPECT("a\0b@c", 1, NULL);
    EXPECT("Fo\0o <a@b>", 0, "a@b");
    EXPECT("\"a\0b\"@c", 1, NULL);
    EXPECT("\"a\\\0b\"@c", 1, NULL);
    EXPECT("\"a\\\nb\"@c", 1, NULL);
    EXPECT("a\x01@b", 1, NULL);
    EXPECT("a\x7f@b", 1, NULL);
    EXPECT("\"a\tb\"@c", 1, NULL);
    EXPECT("a@b\0", 1, NULL);
    EXPECT("a@b,\0,c@d", 1, "a@b", "c@d");
    EXPECT("a@b\v", 1, NULL);
    EXPECT("a@b\f, c@d", 1, "c@d");
    /* The length given is what counts, not the NUL. */
    expect_parse("a@b\0c@d", 3, 0, LIST("a@b"), "a@b NUL, length 3");
}
END_TEST

START_TEST(test_addr_unterminated)
{
    EXPECT("\"abc@d, e@f", 1, NULL);
    EXPECT("\"Doe, John <jd@x>, e@f", 1, NULL);
    EXPECT("\"a\\", 1, NULL);
    EXPECT("a@b (comment, c@d", 1, NULL);
    EXPECT("a@b (c (d) e, f@g", 1, NULL);
    EXPECT("a@b (c\\)", 1, NULL);
    EXPECT("Name <a@b, c@d", 1, "c@d");
    EXPECT("<a@b", 1, NULL);
    EXPECT("Team: <a@b; c@d", 1, "c@d");
    EXPECT("a@[1.2.3.4, b@c", 1, NULL);
    EXPECT("<@r1,a@b", 1, NULL);
    EXPECT("((a@b)", 1, NULL);
    EXPECT("(", 1, NULL);
    EXPECT("\"", 1, NULL);
    EXPECT("[", 1, NULL);
    EXPECT("<", 1, NULL);
}
END_TEST

START_TEST(test_addr_length_limit)
{
    char local[65], domain[256], addr[400], want[400];
    memset(local, 'l', 64);
    local[64] = '\0';
    memset(domain, 'd', 255);
    domain[255] = '\0';
    snprintf(want, sizeof want, "%s@%s", local, domain);
    ck_assert_uint_eq(strlen(want), RFC5322_ADDR_MAX);
    expect_parse(want, strlen(want), 0, LIST(want), "320 bytes");
    snprintf(addr, sizeof addr, "Name <%s>", want);
    expect_parse(addr, strlen(addr), 0, LIST(want), "320 bytes in <>");
    snprintf(addr, sizeof addr, "%sl@%s", local, domain);
    expect_parse(addr, strlen(addr), 1, LIST(NULL), "321 bytes");
    snprintf(addr, sizeof addr, "%s.@%s, ok@x", local, domain);
    expect_parse(addr, strlen(addr), 1, LIST("ok@x"), "321 bytes, then one");

    /* A quoted local part counts as written, quotes and escapes too:
     * '"' + ' ' + 315 'q' + '"' + "@x" is 320 bytes (316 of meaning). */
    char q[316];
    memset(q, 'q', 315);
    q[315] = '\0';
    snprintf(want, sizeof want, "\" %s\"@x", q);
    ck_assert_uint_eq(strlen(want), RFC5322_ADDR_MAX);
    expect_parse(want, strlen(want), 0, LIST(want), "quoted, 320 bytes");
    /* Still 316 bytes of meaning, but one is a '"', written \": 321. */
    q[314] = '\0';
    snprintf(addr, sizeof addr, "\" \\\"%s\"@x", q);
    ck_assert_uint_eq(strlen(addr), RFC5322_ADDR_MAX + 1);
    expect_parse(addr, strlen(addr), 1, LIST(NULL), "quoted, 321 bytes with the escape");
}
END_TEST

/* ---- addresses: hostile sizes ----------------------------------------- */

START_TEST(test_addr_huge_values)
{
    /* 1 MB: one atom, one display name, one comment, one quoted string. */
    const size_t mb = 1024 * 1024;
    EXPECT_REPEAT("", "a", mb, "@b", 1, NULL);
    EXPECT_REPEAT("", "a", mb, "@b, ok@x", 1, "ok@x");
    EXPECT_REPEAT("ok@x, a@", "b", mb, "", 1, "ok@x");
    EXPECT_REPEAT("", "Word ", mb / 5, "<a@b>", 0, "a@b");
    EXPECT_REPEAT("\"", "x", mb, "\" <a@b>", 0, "a@b");
    EXPECT_REPEAT("a@b (", "x", mb, ")", 0, "a@b");
    EXPECT_REPEAT("", " ", mb, "a@b", 0, "a@b");
    EXPECT_REPEAT("", "\r\n ", mb / 3, "a@b", 0, "a@b");
    EXPECT_REPEAT("<@", "r,@", mb / 3, "r:a@b>", 0, "a@b");
}
END_TEST

START_TEST(test_addr_degenerate_runs)
{
    const size_t n = 100000;
    EXPECT_REPEAT("", ",", n, "", 0, NULL);
    EXPECT_REPEAT("a@b", ",", n, "c@d", 0, "a@b", "c@d");
    EXPECT_REPEAT("", ";", n, "", 0, NULL);
    EXPECT_REPEAT("", "(", n, "a@b", 1, NULL);
    EXPECT_REPEAT("", "(", n, "x", 1, NULL);
    {
        size_t len;
        char *open = repeat("", "(", n, "x", &len);
        char *both = repeat(open, ")", n, " a@b", &len);
        expect_parse(both, len, 0, LIST("a@b"), "deep comment");
        free(open);
        free(both);
    }
    EXPECT_REPEAT("a@b", ")", n, "", 1, NULL);
    EXPECT_REPEAT("", "<", n, "a@b>", 1, NULL);
    EXPECT_REPEAT("", ">", n, "", 1, NULL);
    EXPECT_REPEAT("", "\"\"", n, "", 1, NULL);
    EXPECT_REPEAT("", "\"", n + 1, "", 1, NULL);
    EXPECT_REPEAT("", ":", n, "", 1, NULL);
    EXPECT_REPEAT("", "@", n, "", 1, NULL);
    EXPECT_REPEAT("", ".", n, "", 1, NULL);
    EXPECT_REPEAT("", "\\", n, "", 1, NULL);
    EXPECT_REPEAT("", "[", n, "", 1, NULL);
    EXPECT_REPEAT("", "a:", n, ";", 1, NULL);
    {
        char *nuls = calloc(n, 1);
        ck_assert_ptr_nonnull(nuls);
        expect_parse(nuls, n, 1, LIST(NULL), "100,000 NULs");
        nuls[n / 2] = ',';
        expect_parse(nuls, n, 2, LIST(NULL), "NULs, a comma, NULs");
        free(nuls);
    }
}
END_TEST

START_TEST(test_addr_list_limit)
{
    size_t len;
    char *value = repeat("", "a@b,", RFC5322_LIST_MAX, "", &len);
    struct rfc5322_addrs l = { 0 };
    ck_assert_int_eq(rfc5322_parse_addresses(value, len, &l), 0);
    ck_assert_uint_eq(l.count, RFC5322_LIST_MAX);
    ck_assert_str_eq(l.addr[RFC5322_LIST_MAX - 1], "a@b");
    /* One more, in the same list, is refused. */
    ck_assert_int_eq(rfc5322_parse_addresses("c@d", 3, &l), -1);
    ck_assert_uint_eq(l.count, RFC5322_LIST_MAX);
    rfc5322_addrs_free(&l);
    ck_assert_uint_eq(l.count, 0);
    ck_assert_ptr_null(l.addr);
    free(value);

    value = repeat("", "x@y, ", RFC5322_LIST_MAX + 5, "", &len);
    ck_assert_int_eq(rfc5322_parse_addresses(value, len, &l), -1);
    ck_assert_uint_eq(l.count, RFC5322_LIST_MAX);
    rfc5322_addrs_free(&l);
    rfc5322_addrs_free(&l);   /* freeing twice is harmless */
    rfc5322_addrs_free(NULL);
    free(value);

    ck_assert_int_eq(rfc5322_parse_addresses("a@b", 3, NULL), -1);
    ck_assert_int_eq(rfc5322_parse_addresses(NULL, 3, &l), -1);
    ck_assert_uint_eq(l.count, 0);
}
END_TEST

/* ---- recipients -------------------------------------------------------- */

START_TEST(test_recipients_basic)
{
    RCPTS("From: me@x\nTo: A <a@x>, b@x\nCc: c@x\nBcc: d@x, E <e@x>\nSubject: hi\n\n"
          "To: body@x\nBcc: bodybcc@x\n",
          LIST("a@x", "b@x", "c@x"), 0, LIST("d@x", "e@x"), 0);
    RCPTS("From: me@x\r\nTo: A <a@x>,\r\n b@x\r\nCc: \"C, c\" <c@x>\r\nBcc: d@x\r\n\r\n"
          "Cc: body@x\r\n",
          LIST("a@x", "b@x", "c@x"), 0, LIST("d@x"), 0);
    /* Several fields of a kind, in order; names in any case. */
    RCPTS("TO: a@x\ncC: b@x\nbCC: c@x\nto: d@x\nBCC: e@x\n\n", LIST("a@x", "b@x", "d@x"), 0,
          LIST("c@x", "e@x"), 0);
    /* Only To, Cc and Bcc; a blank before the colon is allowed. */
    RCPTS("X-To: x@x\nTooo: y@x\nReply-To: r@x\nApparently-To: p@x\nFrom: f@x\n"
          "Bcc-Copy: q@x\nTo : a@x\n\n",
          LIST("a@x"), 0, LIST(NULL), 0);
}
END_TEST

START_TEST(test_recipients_resent)
{
    RCPTS("Resent-To: r@x\nResent-Cc: rc@x\nResent-Bcc: rb@x\nTo: a@x\nCc: b@x\nBcc: c@x\n\n",
          LIST("r@x", "rc@x"), 0, LIST("rb@x"), 0);
    /* The order of the fields does not matter. */
    RCPTS("To: a@x\nCc: b@x\nBcc: c@x\nRESENT-TO: r@x\nresent-bcc: rb@x\n\n", LIST("r@x"), 0,
          LIST("rb@x"), 0);
    /* Any Resent- field makes it a resend, as in sendmail and Postfix. */
    RCPTS("Resent-From: f@x\nResent-Date: Mon, 1 Jan 2024 00:00:00 +0000\nTo: a@x\n\n",
          LIST(NULL), 0, LIST(NULL), 0);
    RCPTS("resent-message-id: <1@x>\nTo: a@x\nBcc: b@x\n\n", LIST(NULL), 0, LIST(NULL), 0);
    /* A Resent- field in the body does not count. */
    RCPTS("To: a@x\n\nResent-To: r@x\n", LIST("a@x"), 0, LIST(NULL), 0);
    /* Nor does one that is not a Resent- field of RFC 5322. */
    RCPTS("Resent-Foo: x\nX-Resent-To: r@x\nTo: a@x\n\n", LIST("a@x"), 0, LIST(NULL), 0);
}
END_TEST

START_TEST(test_recipients_block_shapes)
{
    /* No final newline. */
    RCPTS("To: a@x\nCc: b@x", LIST("a@x", "b@x"), 0, LIST(NULL), 0);
    /* Headers only, final newline. */
    RCPTS("To: a@x\nBcc: b@x\n", LIST("a@x"), 0, LIST("b@x"), 0);
    /* No header block at all. */
    RCPTS("\nTo: a@x\n", LIST(NULL), 0, LIST(NULL), 0);
    RCPTS("", LIST(NULL), 0, LIST(NULL), 0);
    RCPTS("body text first\nTo: a@x\n\n", LIST(NULL), 0, LIST(NULL), 0);
    /* A line that is not a field ends the block. */
    RCPTS("To: a@x\nnot a header\nCc: b@x\n\n", LIST("a@x"), 0, LIST(NULL), 0);
    /* An empty Bcc; a Bcc with a bad entry. */
    RCPTS("To: a@x\nBcc:\n\n", LIST("a@x"), 0, LIST(NULL), 0);
    RCPTS("To: a@x\nBcc: John Doe, d@x\n\n", LIST("a@x"), 0, LIST("d@x"), 1);
    /* Groups and folding across lines. */
    RCPTS("To: undisclosed-recipients:;\nBcc: Team: a@x,\n\tb@x;\n\n", LIST(NULL), 0,
          LIST("a@x", "b@x"), 0);
    /* A NUL in the block, given by length. */
    RCPTS("Subject: a\0b\nTo: a@x\n\n", LIST("a@x"), 0, LIST(NULL), 0);
}
END_TEST

START_TEST(test_recipients_limits)
{
    /* 6000 in To and 6000 in Cc: the list is full at 10,000. */
    size_t len1, len2;
    char *to = repeat("To: ", "a@x, ", 6000, "\n", &len1);
    char *cc = repeat("Cc: ", "b@x, ", 6000, "\n\n", &len2);
    char *msg = malloc(len1 + len2);
    ck_assert_ptr_nonnull(msg);
    memcpy(msg, to, len1);
    memcpy(msg + len1, cc, len2);
    struct rfc5322_addrs s = { 0 }, b = { 0 };
    ck_assert_int_eq(rfc5322_recipients(msg, len1 + len2, &s, &b), -1);
    ck_assert_uint_eq(s.count, RFC5322_LIST_MAX);
    ck_assert_str_eq(s.addr[5999], "a@x");
    ck_assert_str_eq(s.addr[6000], "b@x");
    ck_assert_uint_eq(b.count, 0);
    rfc5322_addrs_free(&s);
    rfc5322_addrs_free(&b);
    free(to);
    free(cc);
    free(msg);

    ck_assert_int_eq(rfc5322_recipients(NULL, 0, &s, &b), -1);
    ck_assert_int_eq(rfc5322_recipients("To: a@x\n", 8, NULL, &b), -1);
    ck_assert_int_eq(rfc5322_recipients("To: a@x\n", 8, &s, NULL), -1);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("rfc5322");
    TCase *t;

    t = tcase_create("header");
    tcase_add_test(t, test_header_end_blank_line);
    tcase_add_test(t, test_header_end_no_blank_line);
    tcase_add_test(t, test_header_end_no_header_block);
    tcase_add_test(t, test_next_field);
    tcase_add_test(t, test_uses_crlf);
    tcase_add_test(t, test_field_names);
    suite_add_tcase(s, t);

    t = tcase_create("addresses");
    tcase_add_test(t, test_addr_basic);
    tcase_add_test(t, test_addr_comments);
    tcase_add_test(t, test_addr_quoted_local_part);
    tcase_add_test(t, test_addr_display_names);
    tcase_add_test(t, test_addr_groups);
    tcase_add_test(t, test_addr_empty_elements);
    tcase_add_test(t, test_addr_folding);
    tcase_add_test(t, test_addr_routes);
    tcase_add_test(t, test_addr_domain_literals);
    tcase_add_test(t, test_addr_no_domain);
    tcase_add_test(t, test_addr_obsolete_forms);
    tcase_add_test(t, test_addr_trailing_blanks);
    tcase_add_test(t, test_addr_8bit);
    suite_add_tcase(s, t);

    t = tcase_create("hostile");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_addr_bad_elements);
    tcase_add_test(t, test_addr_control_bytes);
    tcase_add_test(t, test_addr_unterminated);
    tcase_add_test(t, test_addr_length_limit);
    tcase_add_test(t, test_addr_huge_values);
    tcase_add_test(t, test_addr_degenerate_runs);
    tcase_add_test(t, test_addr_list_limit);
    suite_add_tcase(s, t);

    t = tcase_create("recipients");
    tcase_add_test(t, test_recipients_basic);
    tcase_add_test(t, test_recipients_resent);
    tcase_add_test(t, test_recipients_block_shapes);
    tcase_add_test(t, test_recipients_limits);
    suite_add_tcase(s, t);
    return s;
}
