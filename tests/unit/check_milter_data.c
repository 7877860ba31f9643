/*
 * check_milter_data.c - unit tests of what postaged makes of the data its
 * milter callbacks receive: envelope addresses (policy/checks/address.c, RFC 5321
 * 4.1.2), the escaping of header values and log lines (policy/base/escape.c),
 * and the header bookkeeping (policy/frontends/milter_headers.c: our own headers'
 * incoming copies, forged Authentication-Results, the Message-ID).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/checks/address.h"
#include "policy/base/escape.h"
#include "policy/frontends/milter_headers.h"
#include "tests/unit/check_main.h"

/* ---- envelope addresses ----------------------------------------------- */

static enum pd_addr_status
parse(const char *in, char *out, size_t size)
{
    return pd_envelope_address(in, strlen(in), out, size);
}

START_TEST(test_address_plain)
{
    static const struct { const char *in, *want; } cases[] = {
        { "<bob@example.org>", "bob@example.org" },
        { "bob@example.org", "bob@example.org" },
        { "<>", "" },
        { "<Postmaster>", "Postmaster" },
        { "<bob@[192.0.2.1]>", "bob@[192.0.2.1]" },
        { "<bob@[IPv6:2001:db8::1]>", "bob@[IPv6:2001:db8::1]" },
        { "  <bob@example.org>", "bob@example.org" },
        { "<b.o+b=x@example.org>", "b.o+b=x@example.org" },
        { "<j\xc3\xb6rg@b\xc3\xbc.example>", "j\xc3\xb6rg@b\xc3\xbc.example" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[128];
        ck_assert_msg(parse(cases[i].in, out, sizeof out) == PD_ADDR_OK, "%s", cases[i].in);
        ck_assert_str_eq(out, cases[i].want);
    }
}
END_TEST

/* Issue 16, defect 6: a quoted '>' cut the address short. */
START_TEST(test_address_quoted)
{
    static const struct { const char *in, *want; } cases[] = {
        { "<\"a>b\"@example.org>", "\"a>b\"@example.org" },
        { "\"a>b\"@example.org", "\"a>b\"@example.org" },
        { "<\"a b@c\"@example.org>", "\"a b@c\"@example.org" },
        { "<\"a\\\"b\"@example.org>", "\"a\\\"b\"@example.org" },
        { "<\"a\\\\\"@example.org>", "\"a\\\\\"@example.org" },
        { "<\"\"@example.org>", "\"\"@example.org" },
        { "<\"a>b\"@example.org> NOTIFY=NEVER", "\"a>b\"@example.org" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[128];
        ck_assert_msg(parse(cases[i].in, out, sizeof out) == PD_ADDR_OK, "%s", cases[i].in);
        ck_assert_str_eq(out, cases[i].want);
    }
}
END_TEST

START_TEST(test_address_route_and_params)
{
    static const struct { const char *in, *want; } cases[] = {
        { "<@relay.example:bob@example.org>", "bob@example.org" },
        { "<@a.example,@b.example:bob@example.org>", "bob@example.org" },
        { "<@[IPv6:2001:db8::1],@b.example:bob@example.org>", "bob@example.org" },
        { "<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org",
          "bob@example.org" },
        { "<bob@example.org>\tSIZE=100", "bob@example.org" },
        { "bob@example.org SIZE=100", "bob@example.org" },
        { "<@a.example:<weird>", "" },   /* refused below, not here */
    };
    for (size_t i = 0; i + 1 < sizeof cases / sizeof *cases; i++) {
        char out[128];
        ck_assert_msg(parse(cases[i].in, out, sizeof out) == PD_ADDR_OK, "%s", cases[i].in);
        ck_assert_str_eq(out, cases[i].want);
    }
}
END_TEST

START_TEST(test_address_malformed)
{
    static const struct { const char *in; enum pd_addr_status want; } cases[] = {
        { "<\"a>b@example.org>", PD_ADDR_UNTERMINATED_QUOTE },
        { "<\"a\\", PD_ADDR_UNTERMINATED_QUOTE },
        { "<bob@example.org", PD_ADDR_NO_CLOSING_BRACKET },
        { "<", PD_ADDR_BAD_CHARACTER },
        { "", PD_ADDR_BAD_CHARACTER },
        { "<@relay.example bob@example.org>", PD_ADDR_BAD_ROUTE },
        { "<@:bob@example.org>", PD_ADDR_BAD_ROUTE },
        { "<@relay.example,bob@example.org>", PD_ADDR_BAD_ROUTE },
        { "<bob@example.org\r\nX-Injected: 1>", PD_ADDR_BAD_CHARACTER },
        { "<bob\x01@example.org>", PD_ADDR_BAD_CHARACTER },
        { "<\"a\x0d\"@example.org>", PD_ADDR_BAD_CHARACTER },
        { "<\"a\\\x0a\"@example.org>", PD_ADDR_BAD_CHARACTER },
        { "<bob@[192.0.2.1>", PD_ADDR_BAD_LITERAL },
        { "<bob@example.org>x", PD_ADDR_TRAILING_GARBAGE },
        { "<bob@example.org>>", PD_ADDR_TRAILING_GARBAGE },
        { "<bob@>", PD_ADDR_BAD_CHARACTER },
        { "bob@example.org>", PD_ADDR_BAD_CHARACTER },
        { "<a@b@c>", PD_ADDR_NO_CLOSING_BRACKET },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[128] = "untouched";
        enum pd_addr_status st = parse(cases[i].in, out, sizeof out);
        ck_assert_msg(st == cases[i].want, "%s: %d (%s), expected %d", cases[i].in, st,
                      pd_addr_status_text(st), cases[i].want);
        ck_assert_str_eq(out, "");
        ck_assert_str_ne(pd_addr_status_text(st), "");
    }
}
END_TEST

/* NULs are data (the length counts), and nothing past `len` is read: the
 * input below sits at the very end of a heap block, so ASan sees any
 * overread. */
START_TEST(test_address_bounds)
{
    char out[128];
    ck_assert_int_eq(pd_envelope_address("<a\0b@x>", 7, out, sizeof out),
                     PD_ADDR_BAD_CHARACTER);
    static const char *prefixes[] = { "<\"a>b\"@example.org>", "<@a.example,@[IPv6:::1]:b@c>",
                                      "\"q\\", "<bob@[1.2.3.4]>" };
    for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++) {
        size_t n = strlen(prefixes[p]);
        for (size_t len = 0; len <= n; len++) {
            char *buf = malloc(len ? len : 1);
            ck_assert_ptr_nonnull(buf);
            memcpy(buf, prefixes[p], len);
            (void) pd_envelope_address(buf, len, out, sizeof out);
            free(buf);
        }
    }
    /* Too long for the output: refused, not cut. */
    char small[8];
    ck_assert_int_eq(parse("<bob@example.org>", small, sizeof small), PD_ADDR_TOO_LONG);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(parse("<bob@ex>", small, sizeof small), PD_ADDR_OK);
    ck_assert_str_eq(small, "bob@ex");
    ck_assert_int_eq(pd_envelope_address(NULL, 0, out, sizeof out), PD_ADDR_BAD_CHARACTER);
}
END_TEST

/* ---- escaping ------------------------------------------------------------ */

/* An address the parser refuses is kept as the MTA gave it, less one
 * pair of brackets and cut to fit, with the parser's status. */
START_TEST(test_address_or_raw)
{
    char out[16];
    ck_assert_int_eq(pd_envelope_address_or_raw("<bob@example.org>", out, sizeof out), PD_ADDR_OK);
    ck_assert_str_eq(out, "bob@example.org");
    ck_assert_int_eq(pd_envelope_address_or_raw("<bo b@x>", out, sizeof out), PD_ADDR_BAD_CHARACTER);
    ck_assert_str_eq(out, "bo b@x");
    ck_assert_int_ne(pd_envelope_address_or_raw("<a@b", out, sizeof out), PD_ADDR_OK);
    ck_assert_str_eq(out, "a@b");
    ck_assert_int_ne(pd_envelope_address_or_raw("<\"x@y>", out, sizeof out), PD_ADDR_OK);
    ck_assert_str_eq(out, "\"x@y");
    (void) pd_envelope_address_or_raw(NULL, out, sizeof out);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(pd_envelope_address_or_raw("<>", out, sizeof out), PD_ADDR_OK);
    ck_assert_str_eq(out, "");
    ck_assert_int_ne(pd_envelope_address_or_raw("<x y 0123456789012345678>", out, sizeof out),
                     PD_ADDR_OK);
    ck_assert_str_eq(out, "x y 01234567890");      /* 15 bytes and the NUL */
}
END_TEST

START_TEST(test_escape)
{
    char out[64];
    ck_assert_uint_eq(pd_escape_str(out, sizeof out, "plain text"), 10);
    ck_assert_str_eq(out, "plain text");
    pd_escape(out, sizeof out, "a\r\nb\0c\x1b\x7f\t", 9);
    ck_assert_str_eq(out, "a\\x0d\\x0ab\\x00c\\x1b\\x7f\\x09");
    /* Backslashes and 8-bit bytes are kept; escaping twice changes nothing. */
    pd_escape_str(out, sizeof out, "a\\b \xc3\xa9");
    ck_assert_str_eq(out, "a\\b \xc3\xa9");
    char twice[64];
    pd_escape_str(out, sizeof out, "x\r\ny");
    pd_escape_str(twice, sizeof twice, out);
    ck_assert_str_eq(twice, out);
    /* Truncation at a whole escape, always terminated. */
    char tiny[6];
    ck_assert_uint_eq(pd_escape_str(tiny, sizeof tiny, "ab\rcd"), 2);
    ck_assert_str_eq(tiny, "ab");
    ck_assert_uint_eq(pd_escape_str(tiny, sizeof tiny, "\r"), 4);
    ck_assert_str_eq(tiny, "\\x0d");
    ck_assert_uint_eq(pd_escape_str(tiny, 1, "abc"), 0);
    ck_assert_str_eq(tiny, "");
    ck_assert_uint_eq(pd_escape_str(tiny, sizeof tiny, NULL), 0);
    ck_assert(pd_has_control("a\nb", 3));
    ck_assert(!pd_has_control("a b", 3));
}
END_TEST

START_TEST(test_escape_inplace)
{
    char buf[32] = "to=<a\r\nX-Evil: 1>";
    size_t n = pd_escape_inplace(buf, sizeof buf);
    ck_assert_str_eq(buf, "to=<a\\x0d\\x0aX-Evil: 1>");
    ck_assert_uint_eq(n, strlen(buf));
    /* Cut at a whole escape when it no longer fits. */
    char small[10] = "abcde\r\nf";
    pd_escape_inplace(small, sizeof small);
    ck_assert_str_eq(small, "abcde\\x0d");   /* 9 bytes and the NUL: no room for \x0a */
    char fits[10] = "ab\rc";
    pd_escape_inplace(fits, sizeof fits);
    ck_assert_str_eq(fits, "ab\\x0dc");
    char clean[8] = "clean";
    ck_assert_uint_eq(pd_escape_inplace(clean, sizeof clean), 5);
    ck_assert_str_eq(clean, "clean");
    /* Not terminated within size: terminated, never read past. */
    char full[4] = { 'a', 'b', 'c', 'd' };
    pd_escape_inplace(full, sizeof full);
    ck_assert_str_eq(full, "abc");
}
END_TEST

/* ---- headers ------------------------------------------------------------- */

START_TEST(test_own_headers)
{
    struct pd_own_headers h = { 0 };
    ck_assert_int_eq(pd_own_header_index("x-postage-RESULT"), PD_OWN_POSTAGE_RESULT);
    ck_assert_int_eq(pd_own_header_index("Subject"), -1);
    ck_assert_str_eq(pd_own_header_name(PD_OWN_GREYLIST), "X-Greylist");
    ck_assert_int_eq(pd_own_headers_note(&h, "Subject", "hello", "mx.test"), 0);
    ck_assert_int_eq(pd_own_headers_note(&h, "X-Postage-Result", "forged", "mx.test"), 0);
    ck_assert_int_eq(pd_own_headers_note(&h, "X-POSTAGE-RESULT", "forged", "mx.test"), 0);
    ck_assert_int_eq(pd_own_headers_note(&h, "Authentication-Results",
                                         " other.test; spf=pass", "mx.test"), 0);
    ck_assert_int_eq(pd_own_headers_note(&h, "Authentication-Results",
                                         "\r\n\tMX.test 1; spf=pass", "mx.test"), 0);
    ck_assert_int_eq(pd_own_headers_note(&h, "Authentication-Results",
                                         "mx.test.evil; spf=pass", "mx.test"), 0);
    ck_assert_int_eq(pd_own_headers_note(&h, "Authentication-Results", "mx.test(c);", "mx.test"),
                     0);
    ck_assert_uint_eq(h.seen[PD_OWN_POSTAGE_RESULT], 2);
    ck_assert_uint_eq(h.seen[PD_OWN_AUTH_RESULTS], 4);
    ck_assert_uint_eq(h.n_forged_ar, 2);
    ck_assert_uint_eq(h.forged_ar[0], 2);
    ck_assert_uint_eq(h.forged_ar[1], 4);
    pd_own_headers_reset(&h);
    ck_assert_uint_eq(h.n_forged_ar, 0);
    ck_assert_ptr_null(h.forged_ar);
    /* More forged ones than are removed: the message is refused. */
    int rc = 0;
    for (int i = 0; i <= PD_FORGED_AR_MAX && rc == 0; i++)
        rc = pd_own_headers_note(&h, "Authentication-Results", "mx.test;", "mx.test");
    ck_assert_int_eq(rc, -1);
    ck_assert_uint_eq(h.n_forged_ar, PD_FORGED_AR_MAX);
    pd_own_headers_reset(&h);
    ck_assert(!pd_names_authserv_id("", "mx.test"));
    ck_assert(!pd_names_authserv_id("mx.test;", ""));
}
END_TEST

START_TEST(test_message_id)
{
    char id[16];
    pd_message_id_take(id, sizeof id, " \r\n\t<a@b> trailing");
    ck_assert_str_eq(id, "<a@b>");
    pd_message_id_take(id, sizeof id, "");
    ck_assert_str_eq(id, "");
    pd_message_id_take(id, sizeof id, "<0123456789abcdef@example.org>");
    ck_assert_str_eq(id, "<0123456789abcd");
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("milter_data");
    TCase *addr = tcase_create("address");
    tcase_add_test(addr, test_address_plain);
    tcase_add_test(addr, test_address_quoted);
    tcase_add_test(addr, test_address_route_and_params);
    tcase_add_test(addr, test_address_malformed);
    tcase_add_test(addr, test_address_bounds);
    tcase_add_test(addr, test_address_or_raw);
    suite_add_tcase(s, addr);
    TCase *esc = tcase_create("escape");
    tcase_add_test(esc, test_escape);
    tcase_add_test(esc, test_escape_inplace);
    suite_add_tcase(s, esc);
    TCase *hdr = tcase_create("headers");
    tcase_add_test(hdr, test_own_headers);
    tcase_add_test(hdr, test_message_id);
    suite_add_tcase(s, hdr);
    return s;
}
