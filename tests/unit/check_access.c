/*
 * check_access.c - unit tests of postaged's access-control rules
 * (policy/checks/access.c): every selector and pattern form, the domain and
 * address matching edge cases, first-match order, and the messages the
 * rule parser gives for each kind of mistake.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/checks/access.h"
#include "policy/frontends/request.h"
#include "tests/unit/check_main.h"

static struct pd_access_rule
rule_of(const char *line)
{
    struct pd_access_rule rule;
    char err[PD_ACCESS_ERROR_MAX];
    enum pd_access_parse_result r = pd_access_rule_parse(line, &rule, err, sizeof err);
    ck_assert_msg(r == PD_ACCESS_RULE, "\"%s\": %s", line, err);
    return rule;
}

static void
expect_error(const char *line, const char *message)
{
    struct pd_access_rule rule;
    char err[PD_ACCESS_ERROR_MAX];
    ck_assert_msg(pd_access_rule_parse(line, &rule, err, sizeof err) == PD_ACCESS_ERROR,
                  "\"%s\" parsed", line);
    ck_assert_str_eq(err, message);
}

/* Does a one-rule list match the subject?  The subject's unset fields are
 * "" (a null sender, no SASL). */
static bool
one_rule_matches(const char *line, const struct pd_access_subject *subject)
{
    struct pd_access_list list;
    struct pd_access_rule rule = rule_of(line);
    struct pd_verdict verdict;
    pd_access_list_init(&list);
    ck_assert_int_eq(pd_access_list_append(&list, &rule), 0);
    long hit = pd_access_evaluate(&list, subject, &verdict);
    if (hit < 0) {
        ck_assert_int_eq(verdict.action, PD_DUNNO);
        ck_assert_str_eq(verdict.text, "");
    }
    pd_access_list_free(&list);
    return hit == 0;
}

static bool
client_matches(const char *line, const char *address)
{
    struct pd_access_subject s = { .client_address = address };
    return one_rule_matches(line, &s);
}

static bool
client_name_matches(const char *line, const char *name)
{
    struct pd_access_subject s = { .client_name = name };
    return one_rule_matches(line, &s);
}

static bool
helo_matches(const char *line, const char *helo)
{
    struct pd_access_subject s = { .helo_name = helo };
    return one_rule_matches(line, &s);
}

static bool
sender_matches(const char *line, const char *sender)
{
    struct pd_access_subject s = { .sender = sender };
    return one_rule_matches(line, &s);
}

static bool
recipient_matches(const char *line, const char *recipient)
{
    struct pd_access_subject s = { .recipient = recipient };
    return one_rule_matches(line, &s);
}

static bool
sasl_matches(const char *line, const char *user)
{
    struct pd_access_subject s = { .sasl_username = user };
    return one_rule_matches(line, &s);
}

/* ---- selectors and forms --------------------------------------------- */

START_TEST(test_client_v4)
{
    struct pd_access_rule r = rule_of("client 192.0.2.0/24 REJECT Go away");
    ck_assert_int_eq(r.selector, PD_SEL_CLIENT);
    ck_assert_int_eq(r.form, PD_FORM_CIDR);
    ck_assert_int_eq(r.verdict.action, PD_REJECT);
    ck_assert_str_eq(r.verdict.text, "Go away");

    ck_assert(client_matches("client 192.0.2.0/24 REJECT", "192.0.2.0"));
    ck_assert(client_matches("client 192.0.2.0/24 REJECT", "192.0.2.255"));
    ck_assert(!client_matches("client 192.0.2.0/24 REJECT", "192.0.3.0"));
    ck_assert(!client_matches("client 192.0.2.0/24 REJECT", "192.0.1.255"));
    ck_assert(client_matches("client 192.0.2.0/24 REJECT", "::ffff:192.0.2.9"));
    ck_assert(client_matches("client 192.0.2.7 OK", "192.0.2.7"));
    ck_assert(!client_matches("client 192.0.2.7 OK", "192.0.2.8"));
    ck_assert(client_matches("client 0.0.0.0/0 DEFER", "203.0.113.1"));
    ck_assert(!client_matches("client 0.0.0.0/0 DEFER", "2001:db8::1"));
    /* What Postfix sends is an address; anything else matches nothing. */
    ck_assert(!client_matches("client 0.0.0.0/0 DEFER", "unknown"));
    ck_assert(!client_matches("client 0.0.0.0/0 DEFER", ""));
    ck_assert(!client_matches("client 0.0.0.0/0 DEFER", NULL));
    ck_assert(!client_matches("client 0.0.0.0/0 DEFER", "192.0.2.1 "));
}
END_TEST

START_TEST(test_client_v6)
{
    ck_assert(client_matches("client 2001:db8::/32 REJECT", "2001:db8::1"));
    ck_assert(client_matches("client 2001:db8::/32 REJECT", "2001:DB8:FFFF::1"));
    ck_assert(!client_matches("client 2001:db8::/32 REJECT", "2001:db9::1"));
    ck_assert(client_matches("client 2001:db8:1:2::/64 REJECT", "2001:db8:1:2:ffff::9"));
    ck_assert(!client_matches("client 2001:db8:1:2::/64 REJECT", "2001:db8:1:3::9"));
    ck_assert(client_matches("client ::1 OK", "::1"));
    ck_assert(client_matches("client ::1/128 OK", "0:0:0:0:0:0:0:1"));
    ck_assert(!client_matches("client ::1 OK", "127.0.0.1"));
    ck_assert(client_matches("client ::/0 DEFER", "fe80::1"));
    ck_assert(!client_matches("client ::/0 DEFER", "192.0.2.1"));
    /* A mapped rule is an IPv4 rule. */
    ck_assert(client_matches("client ::ffff:192.0.2.0/120 OK", "192.0.2.200"));
}
END_TEST

START_TEST(test_client_name)
{
    const char *rule = "client_name example.org REJECT";
    ck_assert(client_name_matches(rule, "example.org"));
    ck_assert(client_name_matches(rule, "mx.example.org"));
    ck_assert(client_name_matches(rule, "a.b.c.example.org"));
    ck_assert(client_name_matches(rule, "MX.Example.ORG"));
    ck_assert(client_name_matches(rule, "mx.example.org."));
    ck_assert(!client_name_matches(rule, "badexample.org"));
    ck_assert(!client_name_matches(rule, "example.org.evil.net"));
    ck_assert(!client_name_matches(rule, "example.orgx"));
    ck_assert(!client_name_matches(rule, "org"));
    ck_assert(!client_name_matches(rule, "xexample.org"));
    ck_assert(!client_name_matches(rule, ""));
    ck_assert(!client_name_matches(rule, "unknown"));
    /* An empty first label makes no subdomain. */
    ck_assert(!client_name_matches(rule, ".example.org"));
    ck_assert(client_name_matches(rule, "x.example.org"));

    /* Leading dot (or "*."): subdomains only. */
    ck_assert(client_name_matches("client_name .spammer.example DEFER try later",
                                  "a.spammer.example"));
    ck_assert(!client_name_matches("client_name .spammer.example DEFER", "spammer.example"));
    ck_assert(!client_name_matches("client_name .spammer.example DEFER", "notspammer.example"));
    ck_assert(client_name_matches("client_name *.spammer.example DEFER", "x.y.spammer.example"));
    ck_assert(!client_name_matches("client_name *.spammer.example DEFER", "spammer.example"));

    /* Trailing dot in the rule is the same name. */
    ck_assert(client_name_matches("client_name example.org. OK", "example.org"));
    /* Postfix's word for "no verified name". */
    ck_assert(client_name_matches("client_name unknown DEFER no rDNS", "unknown"));
    ck_assert(!client_name_matches("client_name unknown DEFER", "known"));

    struct pd_access_rule r = rule_of("client_name .Spammer.Example DEFER try later");
    ck_assert_int_eq(r.form, PD_FORM_SUBDOMAINS);
    ck_assert_str_eq(r.pattern, "spammer.example");
    ck_assert_str_eq(r.verdict.text, "try later");
}
END_TEST

START_TEST(test_helo)
{
    ck_assert(helo_matches("helo localhost REJECT no", "localhost"));
    ck_assert(helo_matches("helo localhost REJECT no", "LOCALHOST"));
    ck_assert(helo_matches("helo localhost REJECT no", "foo.localhost"));
    ck_assert(!helo_matches("helo localhost REJECT no", "mylocalhost"));
    ck_assert(!helo_matches("helo localhost REJECT no", "localhost.localdomain"));
    ck_assert(helo_matches("helo example.org OK", "mail.example.org"));
    ck_assert(!helo_matches("helo .example.org OK", "example.org"));

    /* Exact forms. */
    ck_assert(helo_matches("helo =localhost REJECT", "LocalHost"));
    ck_assert(!helo_matches("helo =localhost REJECT", "x.localhost"));
    ck_assert(helo_matches("helo =friend! OK", "friend!"));
    ck_assert(helo_matches("helo [127.0.0.1] REJECT", "[127.0.0.1]"));
    ck_assert(!helo_matches("helo [127.0.0.1] REJECT", "127.0.0.1"));
    ck_assert(helo_matches("helo 127.0.0.1 REJECT", "127.0.0.1"));
    ck_assert(!helo_matches("helo 127.0.0.1 REJECT", "x.127.0.0.1"));
    ck_assert(helo_matches("helo [IPv6:::1] REJECT", "[ipv6:::1]"));
    ck_assert_int_eq(rule_of("helo 127.0.0.1 REJECT").form, PD_FORM_EXACT);

    /* Empty HELO. */
    ck_assert(helo_matches("helo <> REJECT say hello", ""));
    ck_assert(helo_matches("helo <> REJECT say hello", NULL));
    ck_assert(!helo_matches("helo <> REJECT", "x"));
    ck_assert(!helo_matches("helo localhost REJECT", ""));
}
END_TEST

START_TEST(test_sender)
{
    /* Full address, case-insensitive. */
    ck_assert(sender_matches("sender user@example.org REJECT", "user@example.org"));
    ck_assert(sender_matches("sender user@example.org REJECT", "USER@Example.Org"));
    ck_assert(sender_matches("sender user@example.org REJECT", "user@example.org."));
    ck_assert(!sender_matches("sender user@example.org REJECT", "user@mx.example.org"));
    ck_assert(!sender_matches("sender user@example.org REJECT", "xuser@example.org"));
    ck_assert(!sender_matches("sender user@example.org REJECT", "user"));
    ck_assert(!sender_matches("sender user@example.org REJECT", ""));

    /* Domain: exactly that domain. */
    ck_assert(sender_matches("sender @example.net OK", "anyone@example.net"));
    ck_assert(sender_matches("sender @example.net OK", "@example.net"));
    ck_assert(!sender_matches("sender @example.net OK", "anyone@sub.example.net"));
    ck_assert(!sender_matches("sender @example.net OK", "anyone@badexample.net"));
    ck_assert(!sender_matches("sender @example.net OK", "example.net"));
    ck_assert(!sender_matches("sender @example.net OK", ""));
    /* The domain is after the LAST '@'. */
    ck_assert(sender_matches("sender @example.net OK", "\"a@example.org\"@example.net"));
    ck_assert(!sender_matches("sender @example.org OK", "\"a@example.org\"@example.net"));

    /* Subdomains. */
    ck_assert(sender_matches("sender @.example.net DEFER", "a@b.example.net"));
    ck_assert(!sender_matches("sender @.example.net DEFER", "a@example.net"));
    ck_assert(!sender_matches("sender @.example.net DEFER", "a@bexample.net"));

    /* Local part at any domain. */
    ck_assert(sender_matches("sender postmaster@ OK", "postmaster@example.org"));
    ck_assert(sender_matches("sender postmaster@ OK", "PostMaster@x.y"));
    ck_assert(sender_matches("sender postmaster@ OK", "postmaster"));
    ck_assert(!sender_matches("sender postmaster@ OK", "postmaster2@example.org"));
    ck_assert(!sender_matches("sender postmaster@ OK", "a@postmaster"));

    /* Null sender: Postfix sends it empty. */
    ck_assert(sender_matches("sender <> DEFER no bounces here", ""));
    ck_assert(sender_matches("sender <> DEFER", NULL));
    ck_assert(sender_matches("sender <> DEFER", "<>"));
    ck_assert(!sender_matches("sender <> DEFER", "a@example.org"));
    ck_assert(!sender_matches("sender @example.org DEFER", "<>"));
    ck_assert(!sender_matches("sender postmaster@ DEFER", ""));

    /* Address literals. */
    ck_assert(sender_matches("sender @[192.0.2.1] REJECT", "a@[192.0.2.1]"));
    ck_assert(sender_matches("sender a@[192.0.2.1] REJECT", "A@[192.0.2.1]"));
}
END_TEST

START_TEST(test_recipient)
{
    ck_assert(recipient_matches("recipient postmaster@ OK", "postmaster@example.org"));
    ck_assert(recipient_matches("recipient abuse@example.org OK", "Abuse@EXAMPLE.org"));
    ck_assert(recipient_matches("recipient @example.org REJECT", "x@example.org"));
    ck_assert(!recipient_matches("recipient @example.org REJECT", "x@example.com"));
    ck_assert(recipient_matches("recipient <> DUNNO", ""));
    /* The recipient selector reads the recipient, not the sender. */
    struct pd_access_subject s = { .sender = "x@example.org", .recipient = "y@example.com" };
    ck_assert(!one_rule_matches("recipient @example.org REJECT", &s));
    ck_assert(one_rule_matches("sender @example.org REJECT", &s));
}
END_TEST

START_TEST(test_sasl_user)
{
    ck_assert(sasl_matches("sasl_user - DUNNO", ""));
    ck_assert(sasl_matches("sasl_user - DUNNO", NULL));
    ck_assert(!sasl_matches("sasl_user - DUNNO", "alice"));
    ck_assert(sasl_matches("sasl_user alice OK", "alice"));
    ck_assert(!sasl_matches("sasl_user alice OK", "Alice"));
    ck_assert(!sasl_matches("sasl_user alice OK", "alice2"));
    ck_assert(!sasl_matches("sasl_user alice OK", ""));
    ck_assert(sasl_matches("sasl_user alice@example.org HOLD check", "alice@example.org"));
    ck_assert_int_eq(rule_of("sasl_user - DUNNO").form, PD_FORM_EMPTY);
}
END_TEST

/* ---- evaluation order and the list ------------------------------------ */

START_TEST(test_first_match_wins)
{
    static const char *rules[] = {
        "client 192.0.2.7 OK",
        "client 192.0.2.0/24 REJECT 554 5.7.1 Go away",
        "sender @example.net DEFER later",
        "recipient postmaster@ OK",
        "client 0.0.0.0/0 HOLD everything else",
    };
    struct pd_access_list list;
    pd_access_list_init(&list);
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        struct pd_access_rule r = rule_of(rules[i]);
        r.line = (unsigned) i + 10;
        ck_assert_int_eq(pd_access_list_append(&list, &r), 0);
    }
    ck_assert_uint_eq(list.count, 5);

    struct pd_verdict v;
    struct pd_access_subject s = { .client_address = "192.0.2.7", .sender = "a@example.net",
                                   .recipient = "postmaster@example.org" };
    ck_assert_int_eq(pd_access_evaluate(&list, &s, &v), 0);
    ck_assert_int_eq(v.action, PD_OK);
    ck_assert_uint_eq(list.rules[0].line, 10);

    s.client_address = "192.0.2.8";
    ck_assert_int_eq(pd_access_evaluate(&list, &s, &v), 1);
    ck_assert_int_eq(v.action, PD_REJECT);
    ck_assert_str_eq(v.text, "554 5.7.1 Go away");

    s.client_address = "198.51.100.1";
    ck_assert_int_eq(pd_access_evaluate(&list, &s, &v), 2);
    ck_assert_int_eq(v.action, PD_DEFER);
    ck_assert_str_eq(v.text, "later");

    s.sender = "";
    ck_assert_int_eq(pd_access_evaluate(&list, &s, &v), 3);
    s.recipient = "someone@example.org";
    ck_assert_int_eq(pd_access_evaluate(&list, &s, &v), 4);
    ck_assert_int_eq(v.action, PD_HOLD);
    s.client_address = "2001:db8::1";
    strcpy(v.text, "stale");
    ck_assert_int_eq(pd_access_evaluate(&list, &s, &v), -1);
    ck_assert_int_eq(v.action, PD_DUNNO);
    ck_assert_str_eq(v.text, "");

    pd_access_list_free(&list);
    ck_assert_uint_eq(list.count, 0);
    ck_assert_ptr_null(list.rules);
    /* An empty list decides nothing. */
    ck_assert_int_eq(pd_access_evaluate(&list, &s, &v), -1);
    ck_assert_int_eq(v.action, PD_DUNNO);
}
END_TEST

START_TEST(test_many_rules)
{
    struct pd_access_list list;
    pd_access_list_init(&list);
    char line[128];
    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof line, "client 10.%d.%d.0/24 REJECT net %d", i / 256, i % 256, i);
        struct pd_access_rule r = rule_of(line);
        ck_assert_int_eq(pd_access_list_append(&list, &r), 0);
    }
    struct pd_verdict v;
    struct pd_access_subject s = { .client_address = "10.11.183.5" };   /* 11*256+183 */
    ck_assert_int_eq(pd_access_evaluate(&list, &s, &v), 2999);
    ck_assert_str_eq(v.text, "net 2999");
    pd_access_list_free(&list);
}
END_TEST

START_TEST(test_from_request)
{
    static const char text[] =
        "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=2001:db8::25\n"
        "client_name=mail.example.org\nhelo_name=mail.example.org\nsender=\n"
        "recipient=abuse@example.com\nsasl_username=\n\n";
    static struct pd_req_parser parser;
    static struct pd_request request;
    size_t consumed;
    pd_req_parser_init(&parser);
    ck_assert_int_eq(pd_req_feed(&parser, text, strlen(text), &consumed, &request),
                     PD_REQ_READY);
    struct pd_access_subject s;
    pd_access_subject_from_request(&request, &s);
    ck_assert(one_rule_matches("client 2001:db8::/48 REJECT", &s));
    ck_assert(one_rule_matches("client_name example.org REJECT", &s));
    ck_assert(one_rule_matches("helo mail.example.org REJECT", &s));
    ck_assert(one_rule_matches("sender <> REJECT", &s));
    ck_assert(one_rule_matches("recipient abuse@ OK", &s));
    ck_assert(one_rule_matches("sasl_user - DUNNO", &s));
    ck_assert(!one_rule_matches("client 192.0.2.0/24 REJECT", &s));
}
END_TEST

/* ---- the rule parser -------------------------------------------------- */

START_TEST(test_parse_layout)
{
    struct pd_access_rule r;
    char err[PD_ACCESS_ERROR_MAX];
    static const char *blank[] = { "", "   ", "\t\r\n", "# comment", "   # indented", "\n" };
    for (size_t i = 0; i < sizeof blank / sizeof *blank; i++)
        ck_assert_int_eq(pd_access_rule_parse(blank[i], &r, err, sizeof err), PD_ACCESS_BLANK);

    r = rule_of("  CLIENT\t192.0.2.0/24   reject\t  Go   away  \r\n");
    ck_assert_int_eq(r.selector, PD_SEL_CLIENT);
    ck_assert_int_eq(r.verdict.action, PD_REJECT);
    ck_assert_str_eq(r.verdict.text, "Go   away");   /* inner spacing is the user's */
    ck_assert_uint_eq(r.line, 0);

    r = rule_of("recipient postmaster@ OK");
    ck_assert_str_eq(r.verdict.text, "");
    r = rule_of("sender @example.org DEFER 451 4.7.1 Try later");
    ck_assert_str_eq(r.verdict.text, "451 4.7.1 Try later");
    r = rule_of("sender @example.org DISCARD quietly");
    ck_assert_int_eq(r.verdict.action, PD_DISCARD);

    /* The longest text that fits, and a pattern at the bound. */
    static char line[PD_TEXT_MAX + 64];
    int n = snprintf(line, sizeof line, "client ::1 REJECT ");
    memset(line + n, 't', PD_TEXT_MAX - 1);
    line[n + PD_TEXT_MAX - 1] = '\0';
    r = rule_of(line);
    ck_assert_uint_eq(strlen(r.verdict.text), PD_TEXT_MAX - 1);
    line[n + PD_TEXT_MAX - 1] = 't';
    line[n + PD_TEXT_MAX] = '\0';
    expect_error(line, "reply text is longer than 511 bytes");

    static char long_pattern[PD_ACCESS_PATTERN_MAX + 64];
    n = snprintf(long_pattern, sizeof long_pattern, "sasl_user ");
    memset(long_pattern + n, 'u', PD_ACCESS_PATTERN_MAX);
    strcpy(long_pattern + n + PD_ACCESS_PATTERN_MAX, " OK");
    ck_assert_uint_eq(rule_of(long_pattern).pattern_len, PD_ACCESS_PATTERN_MAX);
    memmove(long_pattern + n + 1, long_pattern + n, strlen(long_pattern + n) + 1);
    ck_assert_int_eq(pd_access_rule_parse(long_pattern, &r, err, sizeof err), PD_ACCESS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "is longer than 256 bytes"));
    ck_assert_ptr_nonnull(strstr(err, "uuu...\""));

    /* err may be NULL or tiny. */
    ck_assert_int_eq(pd_access_rule_parse("bogus", &r, NULL, 0), PD_ACCESS_ERROR);
    char tiny[8];
    ck_assert_int_eq(pd_access_rule_parse("bogus", &r, tiny, sizeof tiny), PD_ACCESS_ERROR);
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
    ck_assert_int_eq(pd_access_rule_parse(NULL, &r, err, sizeof err), PD_ACCESS_ERROR);
    ck_assert_str_eq(pd_access_selector_name(PD_SEL_CLIENT_NAME), "client_name");
    ck_assert_str_eq(pd_access_selector_name((enum pd_access_selector) 42), "unknown");
}
END_TEST

START_TEST(test_parse_errors)
{
    expect_error("clinet 192.0.2.1 REJECT",
                 "unknown selector \"clinet\" (expected client, client_name, helo, sender, "
                 "recipient or sasl_user)");
    expect_error("client", "missing pattern after \"client\"");
    expect_error("client   \t", "missing pattern after \"client\"");
    expect_error("client 192.0.2.1", "missing action after client pattern \"192.0.2.1\"");
    expect_error("client 192.0.2.1 BLOCK now",
                 "unknown action \"BLOCK\" (expected DUNNO, OK, REJECT, DEFER, HOLD or DISCARD)");
    expect_error("client 192.0.2.1 PREPEND X: y",
                 "unknown action \"PREPEND\" (expected DUNNO, OK, REJECT, DEFER, HOLD or DISCARD)");
    expect_error("client 192.0.2.1/24 REJECT",
                 "client pattern \"192.0.2.1/24\": address has bits set beyond the prefix length");
    expect_error("client 192.0.2.0/33 REJECT",
                 "client pattern \"192.0.2.0/33\": bad prefix length (IPv4 takes /0../32, IPv6 /0../128)");
    expect_error("client 2001:db8::/129 REJECT",
                 "client pattern \"2001:db8::/129\": bad prefix length (IPv4 takes /0../32, IPv6 /0../128)");
    expect_error("client mx.example.org REJECT",
                 "client pattern \"mx.example.org\": not an IPv4 or IPv6 address");
    expect_error("client_name bad..example REJECT",
                 "client_name pattern \"bad..example\" is not a host or domain name");
    expect_error("client_name . REJECT", "client_name pattern \".\" is not a host or domain name");
    expect_error("client_name *example.org REJECT",
                 "client_name pattern \"*example.org\" is not a host or domain name");
    expect_error("client_name ex@mple.org REJECT",
                 "client_name pattern \"ex@mple.org\" is not a host or domain name");
    expect_error("helo = REJECT",
                 "helo pattern \"=\" needs the exact name after '=' (use <> for an empty HELO)");
    expect_error("helo [127.0.0.1 REJECT", "helo pattern \"[127.0.0.1\" lacks the closing ']'");
    expect_error("helo bad_name! REJECT", "helo pattern \"bad_name!\" is not a host or domain name");
    expect_error("sender example.org REJECT",
                 "sender pattern \"example.org\" needs an '@' (user@domain, @domain, user@) or "
                 "is <> for the null sender");
    expect_error("recipient @ REJECT",
                 "recipient pattern \"@\" has neither user nor domain (use <> for the null sender)");
    expect_error("sender user@bad..org REJECT",
                 "sender pattern \"user@bad..org\": \"bad..org\" is not a domain name");
    expect_error("sender user@.example.org REJECT",
                 "sender pattern \"user@.example.org\": a subdomain form (@.domain) takes no user part");
    expect_error("sender @example.org OK fine", "OK takes no reply text");
    expect_error("sender @example.org dunno fine", "dunno takes no reply text");
    expect_error("sender @example.org REJECT 451 4.7.1 x",
                 "reply code 451 does not fit REJECT (needs 5xx)");
    expect_error("sender @example.org DEFER 550 no", "reply code 550 does not fit DEFER (needs 4xx)");
    expect_error("sender @example.org HOLD 450 held",
                 "HOLD text cannot begin with a reply code (450)");
    expect_error("client ::1 REJECT bell\a", "rule contains control character 0x07");
    expect_error("client ::1 REJECT del\x7f", "rule contains control character 0x7f");
    expect_error("client ::1 REJECT a\nb", "rule contains control character 0x0a");

    /* Long words are cut in messages. */
    static char line[400];
    int n = snprintf(line, sizeof line, "client ");
    memset(line + n, '9', 100);
    strcpy(line + n + 100, " OK");
    struct pd_access_rule r;
    char err[PD_ACCESS_ERROR_MAX];
    ck_assert_int_eq(pd_access_rule_parse(line, &r, err, sizeof err), PD_ACCESS_ERROR);
    ck_assert_str_eq(err, "client pattern \"999999999999999999999999999999999999999999999999"
                          "999999999999...\": address text too long");
}
END_TEST

START_TEST(test_list_bounds)
{
    struct pd_access_list list;
    pd_access_list_init(&list);
    struct pd_access_rule r = rule_of("client ::1 OK");
    ck_assert_int_eq(pd_access_list_append(&list, &r), 0);
    /* Pretend the list is full; append must refuse without touching it. */
    size_t real = list.count;
    list.count = PD_ACCESS_RULES_MAX;
    ck_assert_int_eq(pd_access_list_append(&list, &r), -1);
    ck_assert_uint_eq(list.count, PD_ACCESS_RULES_MAX);
    list.count = real;
    pd_access_list_free(&list);
    pd_access_list_free(&list);   /* twice is harmless */
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("access");
    TCase *forms = tcase_create("forms");
    tcase_add_test(forms, test_client_v4);
    tcase_add_test(forms, test_client_v6);
    tcase_add_test(forms, test_client_name);
    tcase_add_test(forms, test_helo);
    tcase_add_test(forms, test_sender);
    tcase_add_test(forms, test_recipient);
    tcase_add_test(forms, test_sasl_user);
    suite_add_tcase(s, forms);

    TCase *order = tcase_create("evaluate");
    tcase_add_test(order, test_first_match_wins);
    tcase_add_test(order, test_many_rules);
    tcase_add_test(order, test_from_request);
    tcase_add_test(order, test_list_bounds);
    suite_add_tcase(s, order);

    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_parse_layout);
    tcase_add_test(parse, test_parse_errors);
    suite_add_tcase(s, parse);
    return s;
}
