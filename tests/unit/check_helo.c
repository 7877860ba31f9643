/*
 * check_helo.c - unit tests for the CheckHelo module (policy/helo/helo.h):
 * HELO/EHLO syntax over many real-world shapes, address literals against
 * IPv4 and IPv6 clients, the DNS decisions over fake answers (a DNS
 * failure must never become a permanent reject), the resolver callback
 * interface, HELO randomisation in the state store with a fixed clock,
 * and the per-test action table.
 *
 * Nothing reads the clock: `now` is passed explicitly.  The store tests
 * use their own mkdtemp() directory.
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
#include <unistd.h>

#include "policy/helo/helo.h"
#include "policy/base/netaddr.h"
#include "policy/engine/settings.h"
#include "policy/state/state.h"
#include "tests/unit/state_fixture.h"
#include "tests/unit/check_main.h"

#define T0 1700000000LL         /* an arbitrary fixed "now" */

/* ---- fixtures and helpers ------------------------------------------------ */

static void
setup(void)
{
    fixture_setup("check_helo");
}

static void
teardown(void)
{
    fixture_teardown();
}

static struct pd_state *
open_ok(void)
{
    return fixture_open(0);
}

static struct pd_addr
A(const char *text)
{
    struct pd_addr a;

    ck_assert_msg(pd_addr_parse(text, strlen(text), &a) == PD_NETADDR_OK, "address %s", text);
    return a;
}

static const char *const own_names[] = { "mx.our.example", "Our.Example." };
static struct pd_addr own_addrs[2];

/* Defaults plus our own names and addresses. */
static struct pd_helo_config
config(void)
{
    struct pd_helo_config c;

    pd_settings_helo_defaults(&c);
    own_addrs[0] = A("203.0.113.5");
    own_addrs[1] = A("2001:db8:ffff::5");
    c.own_names = own_names;
    c.own_name_count = 2;
    c.own_addrs = own_addrs;
    c.own_addr_count = 2;
    return c;
}

/* ---- syntax: the table ---------------------------------------------------- */

#define ANY_DEFECT (-1)

struct shape {
    const char *helo;
    const char *client;         /* NULL: unknown */
    enum pd_helo_syntax want;
    int defect;                 /* ANY_DEFECT, or the expected defect */
};

#define C4 "192.0.2.1"
#define C6 "2001:db8::1"

static const struct shape shapes[] = {
    /* Good names. */
    { "mail.example.org", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "MAIL.EXAMPLE.ORG.", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "a.b", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "mail-01.example.org", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "1mail.example.org", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "mail.example.c0m", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "ab--cd.example", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "xn--bcher-kva.example", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "mail.xn--p1ai", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "user_pc.local", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "_dmarc.example.org", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "mail-o-sb1.example.com", C6, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "192-0-2-1.dsl.example.net", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    { "1.2.3.example", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    /* Address literals equal to the client. */
    { "[192.0.2.1]", C4, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[192.0.2.01]", C4, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[IPv6:2001:db8::1]", C6, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[IPv6:2001:DB8::1]", C6, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[ipv6:2001:db8::1]", C6, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[IPv6:2001:db8:0:0:0:0:0:1]", C6, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[IPv6:2001:0db8:0000::0001]", C6, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[IPv6:::ffff:192.0.2.1]", C4, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[IPv6:::ffff:192.0.2.1]", "::ffff:192.0.2.1", PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[192.0.2.1]", "::ffff:192.0.2.1", PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[IPv6:2001:db8::192.0.2.1]", "2001:db8::c000:201", PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    /* Literals, client unknown: not compared. */
    { "[192.0.2.1]", NULL, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    { "[x-foo:bar]", NULL, PD_HELO_OK_LITERAL, PD_HELO_DEF_NONE },
    /* Literals that are not the client. */
    { "[192.0.2.99]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[10.0.0.5]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[IPv6:2001:db8::2]", C6, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[192.0.2.1]", C6, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[IPv6:2001:db8::1]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[x-foo:bar]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[IPv4:192.0.2.1]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[IPv6:::]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[IPv6:1:2:3:4:5:6:7::]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[IPv6:1:2:3:4:5:6:1.2.3.4]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    { "[IPv6:::1.2.3.4]", C4, PD_HELO_BAD_LITERAL_MISMATCH, PD_HELO_DEF_NONE },
    /* Malformed literals. */
    { "[300.1.1.1]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV4 },
    { "[192.0.2]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV4 },
    { "[192.0.2.1.5]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV4 },
    { "[192.0.2.0001]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV4 },
    { "[192.0.2.-1]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV4 },
    { "[192.0.2.1", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_OPEN },
    { "[192.0.2.1]]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_OPEN },
    { "[192.0.2.1].", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_OPEN },
    { "[", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_OPEN },
    { "[IPv6:zz]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:fe80::1%eth0]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:1:2:3:4:5:6:7:8:9]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:1:2:3:4:5:6:7]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:1::2::3]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:12345::1]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:2001:db8::1:]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6::1:2]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:1:2:3:4:5:6:7:1.2.3.4]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:::1.2.3]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[IPv6:1.2.3.4::]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_IPV6 },
    { "[]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_GENERAL },
    { "[mail.example.org]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_GENERAL },
    { "[ 192.0.2.1]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_GENERAL },
    { "[x-:bar]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_GENERAL },
    { "[x:]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_GENERAL },
    { "[x:a b]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_GENERAL },
    { "[192.0.2.1:25]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_LITERAL_GENERAL },
    /* Bare addresses. */
    { "192.0.2.1", C4, PD_HELO_BAD_BARE_IP, PD_HELO_DEF_NONE },
    { "192.0.2.1.", C4, PD_HELO_BAD_BARE_IP, PD_HELO_DEF_NONE },
    { "2001:db8::1", C6, PD_HELO_BAD_BARE_IP, PD_HELO_DEF_NONE },
    { "::ffff:192.0.2.1", C4, PD_HELO_BAD_BARE_IP, PD_HELO_DEF_NONE },
    { "300.1.1.1", C4, PD_HELO_BAD_BARE_IP, PD_HELO_DEF_NONE },
    { "10.1.1", C4, PD_HELO_BAD_BARE_IP, PD_HELO_DEF_NONE },
    { "12345", C4, PD_HELO_BAD_BARE_IP, PD_HELO_DEF_NONE },
    /* localhost and loopback. */
    { "localhost", C4, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "LOCALHOST", C4, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "localhost.", C4, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "localhost.localdomain", C4, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "localhost6.localdomain6", C6, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "ip6-localhost", C6, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "foo.localhost", C4, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "[127.0.0.1]", C4, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "127.0.0.1", C4, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "[127.1.2.3]", C4, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "[IPv6:::1]", C6, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    { "::1", C6, PD_HELO_BAD_LOCALHOST, PD_HELO_DEF_NONE },
    /* Self-connections: exempt. */
    { "localhost", "127.0.0.1", PD_HELO_OK_LOCAL, PD_HELO_DEF_NONE },
    { "[127.0.0.1]", "127.0.0.1", PD_HELO_OK_LOCAL, PD_HELO_DEF_NONE },
    { "[IPv6:::1]", "::1", PD_HELO_OK_LOCAL, PD_HELO_DEF_NONE },
    { "mx.our.example", "203.0.113.5", PD_HELO_OK_LOCAL, PD_HELO_DEF_NONE },
    { "mx.our.example", "127.0.0.1", PD_HELO_OK_LOCAL, PD_HELO_DEF_NONE },
    /* Single labels. */
    { "WIN-ABC123", C4, PD_HELO_BAD_SINGLE_LABEL, PD_HELO_DEF_NONE },
    { "example", C4, PD_HELO_BAD_SINGLE_LABEL, PD_HELO_DEF_NONE },
    { "example.", C4, PD_HELO_BAD_SINGLE_LABEL, PD_HELO_DEF_NONE },
    { "user_pc", C4, PD_HELO_BAD_SINGLE_LABEL, PD_HELO_DEF_NONE },
    { "xn--bcher-kva", C4, PD_HELO_BAD_SINGLE_LABEL, PD_HELO_DEF_NONE },
    /* Our own names and addresses. */
    { "mx.our.example", C4, PD_HELO_BAD_OWN_NAME, PD_HELO_DEF_NONE },
    { "MX.OUR.EXAMPLE.", C4, PD_HELO_BAD_OWN_NAME, PD_HELO_DEF_NONE },
    { "our.example", C4, PD_HELO_BAD_OWN_NAME, PD_HELO_DEF_NONE },
    { "[203.0.113.5]", C4, PD_HELO_BAD_OWN_NAME, PD_HELO_DEF_NONE },
    { "203.0.113.5", C4, PD_HELO_BAD_OWN_NAME, PD_HELO_DEF_NONE },
    { "[IPv6:2001:db8:ffff::5]", C6, PD_HELO_BAD_OWN_NAME, PD_HELO_DEF_NONE },
    { "[IPv6:2001:DB8:FFFF:0:0:0:0:5]", C6, PD_HELO_BAD_OWN_NAME, PD_HELO_DEF_NONE },
    { "sub.mx.our.example", C4, PD_HELO_OK_FQDN, PD_HELO_DEF_NONE },
    /* Malformed names. */
    { "-bad.example", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_HYPHEN },
    { "bad-.example", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_HYPHEN },
    { "mail.example-", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_HYPHEN },
    { "a..b", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_EMPTY_LABEL },
    { ".example.org", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_EMPTY_LABEL },
    { "example.org..", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_EMPTY_LABEL },
    { ".", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_EMPTY_LABEL },
    { "..", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_EMPTY_LABEL },
    { "host.123", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_NUMERIC_TLD },
    { "mail example.org", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { " mail.example.org", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "mail.example.org ", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "mail.example.org\r", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "mail\texample.org", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "mail.ex\x01mple.org", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "mail@example.org", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "ex*mple.org", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "mail.example.org:25", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "IPv6:2001:db8::1", C6, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "192.0.2.1]", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "\"mail.example.org\"", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_BAD_CHAR },
    { "b\xc3\xbc" "cher.example", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_NON_ASCII },
    { "\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95", C4, PD_HELO_BAD_SYNTAX,
      PD_HELO_DEF_NON_ASCII },
    { "\xff\xfe", C4, PD_HELO_BAD_SYNTAX, PD_HELO_DEF_NON_ASCII },
    /* Nothing. */
    { "", C4, PD_HELO_BAD_EMPTY, PD_HELO_DEF_NONE },
};

START_TEST(test_syntax_shapes)
{
    struct pd_helo_config cfg = config();
    size_t i;

    ck_assert_uint_ge(sizeof shapes / sizeof shapes[0], 60);
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const struct shape *s = &shapes[i];
        struct pd_helo_parsed p;
        struct pd_addr client;
        enum pd_helo_syntax got;

        if (s->client != NULL)
            client = A(s->client);
        got = pd_helo_syntax(s->helo, &cfg, s->client != NULL ? &client : NULL, &p);
        ck_assert_msg(got == s->want, "#%zu \"%s\": got %s (%s), want %s", i, s->helo,
                      pd_helo_syntax_name(got), pd_helo_defect_text(p.defect),
                      pd_helo_syntax_name(s->want));
        if (s->defect != ANY_DEFECT)
            ck_assert_msg((int) p.defect == s->defect, "#%zu \"%s\": defect %s, want %s", i,
                          s->helo, pd_helo_defect_text(p.defect),
                          pd_helo_defect_text((enum pd_helo_defect) s->defect));
    }
}
END_TEST

START_TEST(test_syntax_details)
{
    struct pd_helo_parsed p;
    struct pd_addr c4 = A(C4);

    ck_assert_int_eq(pd_helo_syntax("MAIL.EXAMPLE.ORG.", NULL, NULL, &p), PD_HELO_OK_FQDN);
    ck_assert_str_eq(p.name, "mail.example.org");
    ck_assert_int_eq(p.trailing_dot, 1);
    ck_assert_uint_eq(p.labels, 3);
    ck_assert_int_eq(p.literal, PD_HELO_LIT_NONE);

    ck_assert_int_eq(pd_helo_syntax("xn--bcher-kva.example", NULL, NULL, &p), PD_HELO_OK_FQDN);
    ck_assert_int_eq(p.idn, 1);
    ck_assert_int_eq(p.underscore, 0);
    ck_assert_int_eq(pd_helo_syntax("user_pc.local", NULL, NULL, &p), PD_HELO_OK_FQDN);
    ck_assert_int_eq(p.underscore, 1);

    ck_assert_int_eq(pd_helo_syntax("[192.0.2.1]", NULL, &c4, &p), PD_HELO_OK_LITERAL);
    ck_assert_int_eq(p.literal, PD_HELO_LIT_V4);
    ck_assert(pd_helo_addr_equal(&p.addr, &c4));
    ck_assert_str_eq(p.name, "");

    /* The IPv4-embedded form is stored as the IPv4 address it carries. */
    ck_assert_int_eq(pd_helo_syntax("[IPv6:::FFFF:192.0.2.1]", NULL, NULL, &p),
                     PD_HELO_OK_LITERAL);
    ck_assert_int_eq(p.literal, PD_HELO_LIT_V6);
    ck_assert_int_eq(p.addr.family, PD_ADDR_V4);
    ck_assert(pd_helo_addr_equal(&p.addr, &c4));

    ck_assert_int_eq(pd_helo_syntax("[IPv6:2001:db8::c000:201]", NULL, NULL, &p),
                     PD_HELO_OK_LITERAL);
    {
        struct pd_addr want = A("2001:db8::192.0.2.1");
        ck_assert(pd_helo_addr_equal(&p.addr, &want));
    }
    ck_assert_int_eq(pd_helo_syntax("[x-foo:bar]", NULL, NULL, &p), PD_HELO_OK_LITERAL);
    ck_assert_int_eq(p.literal, PD_HELO_LIT_GENERAL);

    /* A bare IP's address is kept (for logs); out may be NULL. */
    ck_assert_int_eq(pd_helo_syntax("192.0.2.1", NULL, NULL, &p), PD_HELO_BAD_BARE_IP);
    ck_assert(pd_helo_addr_equal(&p.addr, &c4));
    ck_assert_int_eq(pd_helo_syntax("mail.example.org", NULL, NULL, NULL), PD_HELO_OK_FQDN);
    ck_assert_int_eq(pd_helo_syntax(NULL, NULL, NULL, NULL), PD_HELO_BAD_EMPTY);

    /* A client address of family NONE is "unknown". */
    {
        struct pd_addr none;

        memset(&none, 0, sizeof none);
        ck_assert_int_eq(pd_helo_syntax("[192.0.2.9]", NULL, &none, &p), PD_HELO_OK_LITERAL);
    }
}
END_TEST

START_TEST(test_syntax_lengths)
{
    char buf[700], label[70];
    struct pd_helo_parsed p;

    /* 63-character label fine, 64 not. */
    memset(label, 'a', 63);
    label[63] = '\0';
    snprintf(buf, sizeof buf, "%s.example", label);
    ck_assert_int_eq(pd_helo_syntax(buf, NULL, NULL, &p), PD_HELO_OK_FQDN);
    snprintf(buf, sizeof buf, "%sa.example", label);
    ck_assert_int_eq(pd_helo_syntax(buf, NULL, NULL, &p), PD_HELO_BAD_SYNTAX);
    ck_assert_int_eq(p.defect, PD_HELO_DEF_LABEL_TOO_LONG);

    /* 253 characters: 4 labels of 63 = 255 too long; build exactly. */
    memset(buf, 0, sizeof buf);
    /* 63.63.63.61 = 63*3 + 61 + 3 dots = 253 */
    snprintf(buf, sizeof buf, "%s.%s.%s.%.61s", label, label, label, label);
    ck_assert_uint_eq(strlen(buf), 253);
    ck_assert_int_eq(pd_helo_syntax(buf, NULL, NULL, &p), PD_HELO_OK_FQDN);
    ck_assert_uint_eq(strlen(p.name), 253);
    strcat(buf, ".");           /* 253 + trailing dot: still fine */
    ck_assert_int_eq(pd_helo_syntax(buf, NULL, NULL, &p), PD_HELO_OK_FQDN);
    snprintf(buf, sizeof buf, "%s.%s.%s.%.62s", label, label, label, label);
    ck_assert_uint_eq(strlen(buf), 254);
    ck_assert_int_eq(pd_helo_syntax(buf, NULL, NULL, &p), PD_HELO_BAD_SYNTAX);
    ck_assert_int_eq(p.defect, PD_HELO_DEF_TOO_LONG);
    /* 256 characters. */
    snprintf(buf, sizeof buf, "%s.%s.%s.%s", label, label, label, label);
    ck_assert_uint_eq(strlen(buf), 255);
    strcat(buf, "a");
    ck_assert_int_eq(pd_helo_syntax(buf, NULL, NULL, &p), PD_HELO_BAD_SYNTAX);
    ck_assert_int_eq(p.defect, PD_HELO_DEF_TOO_LONG);

    /* Far beyond any limit: refused without scanning it all. */
    memset(buf, 'a', sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    ck_assert_int_eq(pd_helo_syntax(buf, NULL, NULL, &p), PD_HELO_BAD_SYNTAX);
    ck_assert_int_eq(p.defect, PD_HELO_DEF_TOO_LONG);
    buf[0] = '[';
    ck_assert_int_eq(pd_helo_syntax(buf, NULL, NULL, &p), PD_HELO_BAD_SYNTAX);
}
END_TEST

START_TEST(test_syntax_underscore_off)
{
    struct pd_helo_config cfg = config();
    struct pd_helo_parsed p;

    cfg.allow_underscore = 0;
    ck_assert_int_eq(pd_helo_syntax("user_pc.local", &cfg, NULL, &p), PD_HELO_BAD_SYNTAX);
    ck_assert_int_eq(p.defect, PD_HELO_DEF_UNDERSCORE);
    ck_assert_int_eq(pd_helo_syntax("user-pc.local", &cfg, NULL, &p), PD_HELO_OK_FQDN);
}
END_TEST

START_TEST(test_addr_equal)
{
    struct pd_addr a = A("192.0.2.1"), b = A("::ffff:192.0.2.1"), c = A("2001:db8::1"),
        d = A("2001:DB8:0::1"), m;

    ck_assert(pd_helo_addr_equal(&a, &b));
    ck_assert(pd_helo_addr_equal(&c, &d));
    ck_assert(!pd_helo_addr_equal(&a, &c));
    /* A mapped address built by hand (not via pd_addr_parse). */
    memset(&m, 0, sizeof m);
    m.family = PD_ADDR_V6;
    m.bytes[10] = m.bytes[11] = 0xff;
    m.bytes[12] = 192; m.bytes[13] = 0; m.bytes[14] = 2; m.bytes[15] = 1;
    ck_assert(pd_helo_addr_equal(&m, &a));
    ck_assert(!pd_helo_addr_equal(&a, NULL));
}
END_TEST

/* ---- DNS decisions ------------------------------------------------------------ */

static void
add_addr(struct pd_helo_addrs *x, const char *text)
{
    x->rcode = PD_HELO_RC_NOERROR;
    x->addr[x->count++] = A(text);
}

START_TEST(test_dns_resolves)
{
    struct pd_helo_fwd f;

    memset(&f, 0, sizeof f);
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_NOT_RUN);
    ck_assert_int_eq(pd_helo_dns_resolves(NULL), PD_HELO_NOT_RUN);

    add_addr(&f.a, "192.0.2.1");
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_PASS);
    f.aaaa.rcode = PD_HELO_RC_SERVFAIL;       /* irrelevant once A answered */
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_PASS);

    /* IPv6 counts (unlike PolicyD). */
    memset(&f, 0, sizeof f);
    f.a.rcode = PD_HELO_RC_NOERROR;           /* NODATA */
    add_addr(&f.aaaa, "2001:db8::1");
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_PASS);

    /* NODATA for both, NXDOMAIN: a failure. */
    memset(&f, 0, sizeof f);
    f.a.rcode = f.aaaa.rcode = PD_HELO_RC_NOERROR;
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_FAIL);
    f.a.rcode = f.aaaa.rcode = PD_HELO_RC_NXDOMAIN;
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_FAIL);
    f.aaaa.rcode = PD_HELO_RC_UNASKED;
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_FAIL);

    /* Any doubt is temporary. */
    f.a.rcode = PD_HELO_RC_SERVFAIL;
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_TEMP);
    f.a.rcode = PD_HELO_RC_TIMEOUT;
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_TEMP);
    f.a.rcode = PD_HELO_RC_NXDOMAIN;
    f.aaaa.rcode = PD_HELO_RC_ERROR;
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_TEMP);
    f.aaaa.rcode = (enum pd_helo_rcode) 99;   /* a broken resolver */
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_TEMP);

    /* Addresses with an error rcode are not trusted. */
    memset(&f, 0, sizeof f);
    add_addr(&f.a, "192.0.2.1");
    f.a.rcode = PD_HELO_RC_SERVFAIL;
    ck_assert_int_eq(pd_helo_dns_resolves(&f), PD_HELO_TEMP);
}
END_TEST

START_TEST(test_dns_matches)
{
    struct pd_helo_fwd f;
    struct pd_addr c4 = A("192.0.2.1"), c6 = A("2001:db8::1"), m;

    memset(&f, 0, sizeof f);
    add_addr(&f.a, "198.51.100.7");
    add_addr(&f.a, "192.0.2.1");
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c4), PD_HELO_PASS);
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c6), PD_HELO_NOT_RUN);   /* AAAA unasked */
    ck_assert_int_eq(pd_helo_dns_matches(&f, NULL), PD_HELO_NOT_RUN);

    /* A mapped client equals its IPv4 record. */
    memset(&m, 0, sizeof m);
    m.family = PD_ADDR_V6;
    m.bytes[10] = m.bytes[11] = 0xff;
    m.bytes[12] = 192; m.bytes[14] = 2; m.bytes[15] = 1;
    ck_assert_int_eq(pd_helo_dns_matches(&f, &m), PD_HELO_PASS);

    f.aaaa.rcode = PD_HELO_RC_NOERROR;
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c6), PD_HELO_FAIL);
    add_addr(&f.aaaa, "2001:DB8::1");
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c6), PD_HELO_PASS);

    /* Not among them: FAIL; an AAAA failure says nothing about IPv4. */
    memset(&f, 0, sizeof f);
    add_addr(&f.a, "198.51.100.7");
    f.aaaa.rcode = PD_HELO_RC_SERVFAIL;
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c4), PD_HELO_FAIL);
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c6), PD_HELO_TEMP);
    f.a.rcode = PD_HELO_RC_TIMEOUT;
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c4), PD_HELO_TEMP);
    f.a.rcode = PD_HELO_RC_NXDOMAIN;
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c4), PD_HELO_FAIL);

    /* A count beyond the array is clamped, never read past. */
    memset(&f, 0, sizeof f);
    add_addr(&f.a, "198.51.100.7");
    f.a.count = 100000;
    ck_assert_int_eq(pd_helo_dns_matches(&f, &c4), PD_HELO_FAIL);
}
END_TEST

static void
add_ptr(struct pd_helo_ptr *p, const char *name, const char *fwd_a, enum pd_helo_rcode rc)
{
    unsigned i = p->count++;

    p->rcode = PD_HELO_RC_NOERROR;
    snprintf(p->name[i], sizeof p->name[i], "%s", name);
    if (fwd_a != NULL)
        add_addr(&p->fwd[i].a, fwd_a);
    else
        p->fwd[i].a.rcode = rc;
}

START_TEST(test_dns_fcrdns)
{
    struct pd_helo_ptr p;
    struct pd_addr c4 = A("192.0.2.1");

    memset(&p, 0, sizeof p);
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_NOT_RUN);
    p.rcode = PD_HELO_RC_NXDOMAIN;
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_FAIL);
    p.rcode = PD_HELO_RC_NOERROR;           /* no PTR records */
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_FAIL);
    p.rcode = PD_HELO_RC_SERVFAIL;
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_TEMP);
    p.rcode = PD_HELO_RC_TIMEOUT;
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_TEMP);

    /* One name, confirmed. */
    memset(&p, 0, sizeof p);
    add_ptr(&p, "mail.example.org.", "192.0.2.1", PD_HELO_RC_NOERROR);
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_PASS);

    /* The second name confirms. */
    memset(&p, 0, sizeof p);
    add_ptr(&p, "a.example.org", "198.51.100.1", PD_HELO_RC_NOERROR);
    add_ptr(&p, "b.example.org", "192.0.2.1", PD_HELO_RC_NOERROR);
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_PASS);

    /* None confirms: FAIL; one could not be looked up: TEMP. */
    memset(&p, 0, sizeof p);
    add_ptr(&p, "a.example.org", "198.51.100.1", PD_HELO_RC_NOERROR);
    add_ptr(&p, "b.example.org", NULL, PD_HELO_RC_NXDOMAIN);
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_FAIL);
    add_ptr(&p, "c.example.org", NULL, PD_HELO_RC_TIMEOUT);
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_TEMP);

    /* Names that are no host names do not confirm, even with a match. */
    memset(&p, 0, sizeof p);
    add_ptr(&p, "localhost", "192.0.2.1", PD_HELO_RC_NOERROR);
    add_ptr(&p, "192.0.2.1", "192.0.2.1", PD_HELO_RC_NOERROR);
    add_ptr(&p, "bad_-.example", "192.0.2.1", PD_HELO_RC_NOERROR);
    add_ptr(&p, "single", "192.0.2.1", PD_HELO_RC_NOERROR);
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_FAIL);

    /* An unterminated name and an excessive count are survived. */
    memset(&p, 0, sizeof p);
    add_ptr(&p, "x", "192.0.2.1", PD_HELO_RC_NOERROR);
    memset(p.name[0], 'a', sizeof p.name[0]);
    p.count = 1000;
    ck_assert_int_eq(pd_helo_dns_fcrdns(&p, &c4), PD_HELO_FAIL);
}
END_TEST

/* A fake resolver: fixed answers per name, and a log of the questions. */
struct fake_dns {
    char log[2048];
    int forget_rcode;           /* answer without setting an rcode */
    int hostile;                /* overlong counts, unterminated names */
};

static void
fake_log(struct fake_dns *f, const char *what)
{
    size_t n = strlen(f->log);

    snprintf(f->log + n, sizeof f->log - n, "%s;", what);
}

static void
fake_addr(void *ctx, const char *name, enum pd_addr_family fam, struct pd_helo_addrs *out)
{
    struct fake_dns *f = ctx;
    char q[300];

    snprintf(q, sizeof q, "%s %s", fam == PD_ADDR_V4 ? "A" : "AAAA", name);
    fake_log(f, q);
    if (f->forget_rcode)
        return;
    if (strcmp(name, "v4.example.org") == 0 || strcmp(name, "ptr.example.net") == 0) {
        if (fam == PD_ADDR_V4)
            add_addr(out, "192.0.2.1");
        else
            out->rcode = PD_HELO_RC_NOERROR;
    } else if (strcmp(name, "v6.example.org") == 0) {
        if (fam == PD_ADDR_V6)
            add_addr(out, "2001:db8::1");
        else
            out->rcode = PD_HELO_RC_NOERROR;
    } else if (strcmp(name, "broken.example.org") == 0) {
        out->rcode = PD_HELO_RC_SERVFAIL;
    } else {
        out->rcode = PD_HELO_RC_NXDOMAIN;
    }
    if (f->hostile)
        out->count = 5000;
}

static void
fake_ptr(void *ctx, const struct pd_addr *addr, struct pd_helo_ptr *out)
{
    struct fake_dns *f = ctx;
    char text[PD_NETADDR_TEXT_MAX], q[100];

    pd_addr_format(addr, text, sizeof text);
    snprintf(q, sizeof q, "PTR %s", text);
    fake_log(f, q);
    if (f->hostile) {
        out->rcode = PD_HELO_RC_NOERROR;
        out->count = 5000;
        memset(out->name, 'x', sizeof out->name);
        return;
    }
    out->rcode = PD_HELO_RC_NOERROR;
    snprintf(out->name[0], sizeof out->name[0], "%s", "bogus name!");
    snprintf(out->name[1], sizeof out->name[1], "%s", "PTR.Example.NET.");
    out->count = 2;
}

START_TEST(test_dns_collect)
{
    struct fake_dns f;
    struct pd_helo_resolver r = { &f, fake_addr, fake_ptr };
    struct pd_helo_config cfg = config();
    static struct pd_helo_dns d;
    struct pd_addr c4 = A("192.0.2.1"), c6 = A("2001:db8::1");
    unsigned want;

    /* What is wanted. */
    ck_assert_uint_eq(pd_helo_dns_wanted(&cfg, PD_HELO_OK_FQDN, &c4),
                      PD_HELO_WANT_FWD | PD_HELO_WANT_PTR);
    ck_assert_uint_eq(pd_helo_dns_wanted(&cfg, PD_HELO_OK_LITERAL, &c4), PD_HELO_WANT_PTR);
    ck_assert_uint_eq(pd_helo_dns_wanted(&cfg, PD_HELO_BAD_SYNTAX, &c4), 0);  /* rejected anyway */
    ck_assert_uint_eq(pd_helo_dns_wanted(&cfg, PD_HELO_OK_LOCAL, &c4), 0);
    ck_assert_uint_eq(pd_helo_dns_wanted(&cfg, PD_HELO_OK_FQDN, NULL), PD_HELO_WANT_FWD);
    cfg.rule[PD_HELO_TEST_SYNTAX].act = PD_HELO_ACT_SCORE;
    ck_assert_uint_eq(pd_helo_dns_wanted(&cfg, PD_HELO_BAD_SYNTAX, &c4), PD_HELO_WANT_PTR);
    cfg.rule[PD_HELO_TEST_RESOLVE].act = PD_HELO_ACT_OFF;
    cfg.rule[PD_HELO_TEST_MATCH].act = PD_HELO_ACT_OFF;
    cfg.rule[PD_HELO_TEST_FCRDNS].act = PD_HELO_ACT_OFF;
    ck_assert_uint_eq(pd_helo_dns_wanted(&cfg, PD_HELO_OK_FQDN, &c4), 0);
    ck_assert_uint_eq(pd_helo_dns_wanted(NULL, PD_HELO_OK_FQDN, &c4), 0);

    /* IPv4 client, name with an A record: AAAA is not asked. */
    want = PD_HELO_WANT_FWD | PD_HELO_WANT_PTR;
    memset(&f, 0, sizeof f);
    pd_helo_dns_collect(&r, want, "v4.example.org", &c4, &d);
    ck_assert_str_eq(f.log, "A v4.example.org;PTR 192.0.2.1;A ptr.example.net;");
    ck_assert_int_eq(d.have_helo, 1);
    ck_assert_int_eq(d.have_ptr, 1);
    ck_assert_int_eq(pd_helo_dns_resolves(&d.helo), PD_HELO_PASS);
    ck_assert_int_eq(pd_helo_dns_matches(&d.helo, &c4), PD_HELO_PASS);
    ck_assert_int_eq(pd_helo_dns_fcrdns(&d.ptr, &c4), PD_HELO_PASS);

    /* IPv4 client, IPv6-only name: both asked, resolves but no match. */
    memset(&f, 0, sizeof f);
    pd_helo_dns_collect(&r, PD_HELO_WANT_FWD, "v6.example.org", &c4, &d);
    ck_assert_str_eq(f.log, "A v6.example.org;AAAA v6.example.org;");
    ck_assert_int_eq(d.have_ptr, 0);
    ck_assert_int_eq(pd_helo_dns_resolves(&d.helo), PD_HELO_PASS);
    ck_assert_int_eq(pd_helo_dns_matches(&d.helo, &c4), PD_HELO_FAIL);

    /* IPv6 client: AAAA first. */
    memset(&f, 0, sizeof f);
    pd_helo_dns_collect(&r, PD_HELO_WANT_FWD, "v6.example.org", &c6, &d);
    ck_assert_str_eq(f.log, "AAAA v6.example.org;");
    ck_assert_int_eq(pd_helo_dns_matches(&d.helo, &c6), PD_HELO_PASS);

    /* SERVFAIL is temporary; NXDOMAIN is not. */
    memset(&f, 0, sizeof f);
    pd_helo_dns_collect(&r, PD_HELO_WANT_FWD, "broken.example.org", &c4, &d);
    ck_assert_int_eq(pd_helo_dns_resolves(&d.helo), PD_HELO_TEMP);
    pd_helo_dns_collect(&r, PD_HELO_WANT_FWD, "nx.example.org", &c4, &d);
    ck_assert_int_eq(pd_helo_dns_resolves(&d.helo), PD_HELO_FAIL);

    /* A resolver that sets no rcode answered nothing: temporary. */
    memset(&f, 0, sizeof f);
    f.forget_rcode = 1;
    pd_helo_dns_collect(&r, PD_HELO_WANT_FWD, "v4.example.org", &c4, &d);
    ck_assert_int_eq(pd_helo_dns_resolves(&d.helo), PD_HELO_TEMP);

    /* A hostile resolver is clamped. */
    memset(&f, 0, sizeof f);
    f.hostile = 1;
    pd_helo_dns_collect(&r, want, "v4.example.org", &c4, &d);
    ck_assert_uint_le(d.helo.a.count, PD_HELO_DNS_ADDRS);
    ck_assert_uint_le(d.ptr.count, PD_HELO_DNS_PTRS);
    ck_assert_int_eq(pd_helo_dns_matches(&d.helo, &c4), PD_HELO_PASS);
    ck_assert_int_eq(pd_helo_dns_fcrdns(&d.ptr, &c4), PD_HELO_FAIL);

    /* Nothing wanted, no resolver: nothing asked, nothing had. */
    memset(&f, 0, sizeof f);
    pd_helo_dns_collect(&r, 0, "v4.example.org", &c4, &d);
    ck_assert_str_eq(f.log, "");
    ck_assert_int_eq(d.have_helo, 0);
    pd_helo_dns_collect(NULL, want, "v4.example.org", &c4, &d);
    ck_assert_int_eq(d.have_helo + d.have_ptr, 0);
}
END_TEST

/* ---- the action table ------------------------------------------------------- */

static struct pd_helo_result
check(const struct pd_helo_config *cfg, const char *helo, const char *client,
      const struct pd_helo_dns *dns)
{
    struct pd_helo_result r;
    struct pd_addr c;
    int rc;

    if (client != NULL)
        c = A(client);
    rc = pd_helo_check(cfg, NULL, helo, client != NULL ? &c : NULL, dns, T0, &r);
    ck_assert_int_eq(rc, PD_ST_OK);
    return r;
}

#define ck_verdict(r, act, prefix) do {                                        \
        ck_assert_int_eq((r).verdict.action, (act));                           \
        ck_assert_msg(strncmp((r).verdict.text, (prefix), strlen(prefix)) == 0, \
                      "text \"%s\", want \"%s...\"", (r).verdict.text, (prefix)); \
    } while (0)

START_TEST(test_action_defaults)
{
    struct pd_helo_config cfg = config();
    struct pd_helo_result r;

    r = check(&cfg, "mail.example.org", C4, NULL);
    ck_verdict(r, PD_DUNNO, "");
    ck_assert_int_eq(r.score, 0);
    ck_assert_int_eq(r.decided_by, PD_HELO_TEST_COUNT);
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_SYNTAX], PD_HELO_PASS);
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_RESOLVE], PD_HELO_NOT_RUN);

    r = check(&cfg, "", C4, NULL);
    ck_verdict(r, PD_REJECT, "503 5.5.1 Invalid HELO/EHLO; ");
    ck_assert_int_eq(r.decided_by, PD_HELO_TEST_MISSING);

    r = check(&cfg, "a..b", C4, NULL);
    ck_verdict(r, PD_REJECT, "501 5.5.2 Invalid HELO/EHLO; empty label");
    ck_assert_int_eq(r.score, 5);

    r = check(&cfg, "192.0.2.1", C4, NULL);
    ck_verdict(r, PD_REJECT, "501 5.5.2 Invalid HELO/EHLO; ");
    ck_assert_int_eq(r.decided_by, PD_HELO_TEST_BARE_IP);

    r = check(&cfg, "WIN-ABC123", C4, NULL);
    ck_verdict(r, PD_REJECT, "504 5.5.2 Invalid HELO/EHLO; not a fully qualified");

    r = check(&cfg, "localhost.localdomain", C4, NULL);
    ck_verdict(r, PD_REJECT, "554 5.7.1 Invalid HELO/EHLO; localhost");

    r = check(&cfg, "mx.our.example", C4, NULL);
    ck_verdict(r, PD_REJECT, "554 5.7.1 Invalid HELO/EHLO; ");
    ck_assert_int_eq(r.decided_by, PD_HELO_TEST_OWN);
    ck_assert_int_eq(r.score, 8);

    /* RFC 5321 4.1.4: a mismatch only scores by default. */
    r = check(&cfg, "[192.0.2.99]", C4, NULL);
    ck_verdict(r, PD_DUNNO, "");
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_LITERAL], PD_HELO_FAIL);
    ck_assert_int_eq(r.score, 2);

    r = check(&cfg, "[192.0.2.1]", C4, NULL);
    ck_verdict(r, PD_DUNNO, "");
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_LITERAL], PD_HELO_PASS);

    /* A self-connection: nothing runs. */
    r = check(&cfg, "localhost", "127.0.0.1", NULL);
    ck_verdict(r, PD_DUNNO, "");
    ck_assert_int_eq(r.syntax, PD_HELO_OK_LOCAL);
    ck_assert_int_eq(r.score, 0);
}
END_TEST

START_TEST(test_action_per_test)
{
    struct pd_helo_config cfg = config();
    struct pd_helo_result r;

    cfg.rule[PD_HELO_TEST_SYNTAX].act = PD_HELO_ACT_DEFER;
    r = check(&cfg, "-bad.example", C4, NULL);
    ck_verdict(r, PD_DEFER, "450 4.5.2 Invalid HELO/EHLO; label starts or ends with a hyphen");
    ck_assert_int_eq(r.temporary, 0);
    ck_assert_int_eq(r.score, 5);

    cfg.rule[PD_HELO_TEST_SYNTAX].act = PD_HELO_ACT_SCORE;
    cfg.rule[PD_HELO_TEST_SYNTAX].score = 7;
    r = check(&cfg, "-bad.example", C4, NULL);
    ck_verdict(r, PD_DUNNO, "");
    ck_assert_int_eq(r.score, 7);
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_SYNTAX], PD_HELO_FAIL);

    cfg.rule[PD_HELO_TEST_SYNTAX].act = PD_HELO_ACT_OFF;
    r = check(&cfg, "-bad.example", C4, NULL);
    ck_verdict(r, PD_DUNNO, "");
    ck_assert_int_eq(r.score, 0);
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_SYNTAX], PD_HELO_NOT_RUN);

    cfg.rule[PD_HELO_TEST_LITERAL].act = PD_HELO_ACT_REJECT;
    r = check(&cfg, "[IPv6:2001:db8::2]", C6, NULL);
    ck_verdict(r, PD_REJECT, "554 5.7.1 Invalid HELO/EHLO; the address literal");
    cfg.rule[PD_HELO_TEST_LITERAL].act = PD_HELO_ACT_DEFER;
    r = check(&cfg, "[IPv6:2001:db8::2]", C6, NULL);
    ck_verdict(r, PD_DEFER, "450 4.7.1 Invalid HELO/EHLO; the address literal");

    cfg.rule[PD_HELO_TEST_LOCALHOST].act = PD_HELO_ACT_DEFER;
    r = check(&cfg, "localhost", C4, NULL);
    ck_verdict(r, PD_DEFER, "450 4.7.1 ");

    cfg.rule[PD_HELO_TEST_MISSING].act = PD_HELO_ACT_OFF;
    r = check(&cfg, "", C4, NULL);
    ck_verdict(r, PD_DUNNO, "");
    r = check(&cfg, NULL, NULL, NULL);
    ck_verdict(r, PD_DUNNO, "");

    /* The reply never carries the HELO; the log reason shows it escaped. */
    cfg.rule[PD_HELO_TEST_SYNTAX].act = PD_HELO_ACT_REJECT;
    r = check(&cfg, "evil\r\n250 ok\"x", C4, NULL);
    ck_assert_int_eq(r.verdict.action, PD_REJECT);
    ck_assert_ptr_null(strstr(r.verdict.text, "evil"));
    ck_assert_ptr_nonnull(strstr(r.reason, "evil\\x0d\\x0a250 ok\\x22x"));
    ck_assert_ptr_nonnull(strstr(r.reason, "test=syntax"));
}
END_TEST

START_TEST(test_action_dns)
{
    struct pd_helo_config cfg = config();
    static struct pd_helo_dns d;
    struct pd_helo_result r;
    unsigned i;

    /* NXDOMAIN with act REJECT: a permanent reject. */
    memset(&d, 0, sizeof d);
    d.have_helo = 1;
    d.helo.a.rcode = d.helo.aaaa.rcode = PD_HELO_RC_NXDOMAIN;
    cfg.rule[PD_HELO_TEST_RESOLVE].act = PD_HELO_ACT_REJECT;
    r = check(&cfg, "nx.example.org", C4, &d);
    ck_verdict(r, PD_REJECT, "554 5.7.1 Invalid HELO/EHLO; the name has no address");
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_RESOLVE], PD_HELO_FAIL);
    /* Counted once: MATCH is not run on a name that does not resolve. */
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_MATCH], PD_HELO_NOT_RUN);
    ck_assert_int_eq(r.score, 2);

    /* SERVFAIL, timeout, any error: never a permanent reject. */
    for (i = PD_HELO_RC_SERVFAIL; i <= PD_HELO_RC_ERROR; i++) {
        d.helo.a.rcode = (enum pd_helo_rcode) i;
        r = check(&cfg, "broken.example.org", C4, &d);
        ck_verdict(r, PD_DEFER, "450 4.7.1 Invalid HELO/EHLO; temporary DNS failure");
        ck_assert_int_eq(r.temporary, 1);
        ck_assert_int_eq(r.outcome[PD_HELO_TEST_RESOLVE], PD_HELO_TEMP);
        ck_assert_int_eq(r.score, 0);       /* doubt is no evidence */
    }
    /* ... and only a score action: no verdict, no score. */
    cfg.rule[PD_HELO_TEST_RESOLVE].act = PD_HELO_ACT_SCORE;
    r = check(&cfg, "broken.example.org", C4, &d);
    ck_verdict(r, PD_DUNNO, "");
    ck_assert_int_eq(r.score, 0);

    /* A permanent reject elsewhere wins over a temporary DNS defer. */
    cfg.rule[PD_HELO_TEST_RESOLVE].act = PD_HELO_ACT_REJECT;
    cfg.rule[PD_HELO_TEST_FCRDNS].act = PD_HELO_ACT_REJECT;
    d.have_ptr = 1;
    d.ptr.rcode = PD_HELO_RC_NXDOMAIN;
    r = check(&cfg, "broken.example.org", C4, &d);
    ck_verdict(r, PD_REJECT, "550 5.7.25 Client host rejected; ");
    ck_assert_int_eq(r.decided_by, PD_HELO_TEST_FCRDNS);
    ck_assert_int_eq(r.temporary, 0);
    d.ptr.rcode = PD_HELO_RC_TIMEOUT;
    r = check(&cfg, "broken.example.org", C4, &d);
    ck_verdict(r, PD_DEFER, "450 4.7.1 ");
    ck_assert_int_eq(r.decided_by, PD_HELO_TEST_RESOLVE);
    d.helo.a.rcode = PD_HELO_RC_NOERROR;
    add_addr(&d.helo.a, "192.0.2.1");
    r = check(&cfg, "ok.example.org", C4, &d);
    ck_verdict(r, PD_DEFER, "450 4.7.25 Client host rejected; temporary DNS failure");
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_MATCH], PD_HELO_PASS);

    /* MATCH with RESOLVE off takes the resolve failure itself. */
    memset(&d, 0, sizeof d);
    d.have_helo = 1;
    d.helo.a.rcode = PD_HELO_RC_SERVFAIL;
    cfg.rule[PD_HELO_TEST_RESOLVE].act = PD_HELO_ACT_OFF;
    cfg.rule[PD_HELO_TEST_MATCH].act = PD_HELO_ACT_REJECT;
    r = check(&cfg, "broken.example.org", C4, &d);
    ck_verdict(r, PD_DEFER, "450 4.7.1 Invalid HELO/EHLO; temporary DNS failure");
    ck_assert_int_eq(r.decided_by, PD_HELO_TEST_MATCH);
    d.helo.a.rcode = PD_HELO_RC_NOERROR;
    add_addr(&d.helo.a, "198.51.100.1");
    r = check(&cfg, "other.example.org", C4, &d);
    ck_verdict(r, PD_REJECT, "554 5.7.1 Invalid HELO/EHLO; the name does not resolve to your");

    /* No DNS for literals or bad names; scores add up over tests. */
    cfg = config();
    r = check(&cfg, "[192.0.2.99]", C4, &d);
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_RESOLVE], PD_HELO_NOT_RUN);
    d.have_ptr = 1;
    d.ptr.rcode = PD_HELO_RC_NXDOMAIN;
    r = check(&cfg, "[192.0.2.99]", C4, &d);
    ck_verdict(r, PD_DUNNO, "");
    ck_assert_int_eq(r.score, 2 + 2);       /* literal + fcrdns */
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_FCRDNS], PD_HELO_FAIL);
}
END_TEST

START_TEST(test_action_names_config)
{
    struct pd_helo_config cfg = config();
    enum pd_helo_test t;
    enum pd_helo_act a;
    char err[128];
    unsigned i;

    for (i = 0; i < PD_HELO_TEST_COUNT; i++) {
        const char *n = pd_helo_test_name((enum pd_helo_test) i);

        ck_assert_int_eq(pd_helo_test_parse(n, strlen(n), &t), 0);
        ck_assert_int_eq(t, (enum pd_helo_test) i);
    }
    ck_assert_int_eq(pd_helo_test_parse("fcrdnsx", 6, &t), 0);
    ck_assert_int_eq(t, PD_HELO_TEST_FCRDNS);
    ck_assert_int_eq(pd_helo_test_parse("nope", 4, &t), -1);
    ck_assert_str_eq(pd_helo_test_name(PD_HELO_TEST_COUNT), "?");
    ck_assert_int_eq(pd_helo_act_parse("REJECT", 6, &a), 0);
    ck_assert_int_eq(a, PD_HELO_ACT_REJECT);
    ck_assert_int_eq(pd_helo_act_parse("score", 5, &a), 0);
    ck_assert_int_eq(a, PD_HELO_ACT_SCORE);
    ck_assert_int_eq(pd_helo_act_parse("hold", 4, &a), -1);
    ck_assert_str_eq(pd_helo_act_name(PD_HELO_ACT_DEFER), "defer");

    ck_assert_int_eq(pd_helo_config_check(&cfg, err, sizeof err), 0);
    cfg.random_limit = PD_HELO_RANDOM_LIMIT_MAX + 1;
    ck_assert_int_eq(pd_helo_config_check(&cfg, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "random limit"));
    cfg = config();
    cfg.random_window = 0;
    ck_assert_int_eq(pd_helo_config_check(&cfg, err, sizeof err), -1);
    cfg.rule[PD_HELO_TEST_RANDOM].act = PD_HELO_ACT_OFF;     /* unused: fine */
    ck_assert_int_eq(pd_helo_config_check(&cfg, err, sizeof err), 0);
    cfg = config();
    cfg.rule[PD_HELO_TEST_OWN].act = (enum pd_helo_act) 9;
    ck_assert_int_eq(pd_helo_config_check(&cfg, err, sizeof err), -1);
    cfg = config();
    cfg.own_name_count = 3;
    cfg.own_names = NULL;
    ck_assert_int_eq(pd_helo_config_check(&cfg, err, sizeof err), -1);
    ck_assert_int_eq(pd_helo_config_check(NULL, NULL, 0), -1);
    {
        struct pd_helo_result r;

        ck_assert_int_eq(pd_helo_check(&cfg, NULL, "x.example", NULL, NULL, T0, &r),
                         PD_ST_ERR_INVALID);
        ck_assert_int_eq(pd_helo_check(NULL, NULL, "x.example", NULL, NULL, T0, NULL),
                         PD_ST_ERR_INVALID);
    }
}
END_TEST

/* ---- randomisation ---------------------------------------------------------- */

static unsigned
track(struct pd_state *st, const struct pd_helo_config *cfg, const char *client,
      const char *helo, int64_t now)
{
    struct pd_addr c = A(client);
    unsigned n = 0;
    int rc = pd_helo_track(st, cfg, &c, helo, now, &n);

    ck_assert_int_eq(rc, PD_ST_OK);
    return n;
}

START_TEST(test_random_window)
{
    struct pd_state *st = open_ok();
    struct pd_helo_config cfg = config();

    cfg.random_limit = 3;
    cfg.random_window = 3600;
    ck_assert_uint_eq(track(st, &cfg, C4, "a.example", T0), 1);
    /* The same name, in any spelling, is one name. */
    ck_assert_uint_eq(track(st, &cfg, C4, "a.example", T0 + 1), 1);
    ck_assert_uint_eq(track(st, &cfg, C4, "A.EXAMPLE.", T0 + 2), 1);
    ck_assert_uint_eq(track(st, &cfg, C4, "b.example", T0 + 10), 2);
    ck_assert_uint_eq(track(st, &cfg, C4, "c.example", T0 + 20), 3);
    ck_assert_uint_eq(track(st, &cfg, C4, "c.example", T0 + 21), 3);
    ck_assert_uint_eq(track(st, &cfg, C4, "d.example", T0 + 30), 4);
    /* Another client has its own record. */
    ck_assert_uint_eq(track(st, &cfg, "192.0.2.2", "a.example", T0 + 30), 1);
    ck_assert_uint_eq(track(st, &cfg, "::ffff:192.0.2.2", "z.example", T0 + 30), 2);

    /* Ageing: a name seen at T counts while now - T < window.  a was last
     * seen at T0 + 2. */
    ck_assert_uint_eq(track(st, &cfg, C4, "d.example", T0 + 2 + 3599), 4);
    ck_assert_uint_eq(track(st, &cfg, C4, "d.example", T0 + 2 + 3600), 3);
    ck_assert_uint_eq(track(st, &cfg, C4, "d.example", T0 + 10 + 3600), 2);   /* b gone */
    ck_assert_uint_eq(track(st, &cfg, C4, "d.example", T0 + 21 + 3600), 1);   /* c gone */
    /* Using a name again keeps it alive. */
    ck_assert_uint_eq(track(st, &cfg, C4, "e.example", T0 + 5000), 2);
    ck_assert_uint_eq(track(st, &cfg, C4, "d.example", T0 + 8000), 2);
    ck_assert_uint_eq(track(st, &cfg, C4, "d.example", T0 + 8601), 1);        /* e gone */

    /* Silence for a whole window: the record itself expires. */
    {
        char buf[PD_ST_VALUE_MAX];
        size_t len = 0;
        const char *key = "192.0.2.1/32";

        ck_assert_int_eq(pd_state_get(st, PD_TABLE_HELO, key, strlen(key), T0 + 8601 + 3599,
                                      buf, sizeof buf, &len, NULL), PD_ST_OK);
        ck_assert_int_eq(pd_state_get(st, PD_TABLE_HELO, key, strlen(key), T0 + 8601 + 3600,
                                      buf, sizeof buf, &len, NULL), PD_ST_NOTFOUND);
    }
    ck_assert_uint_eq(track(st, &cfg, C4, "a.example", T0 + 20000), 1);
    pd_state_close(st);
}
END_TEST

START_TEST(test_random_bounded)
{
    struct pd_state *st = open_ok();
    struct pd_helo_config cfg = config();
    char name[64];
    unsigned i, n;

    cfg.random_limit = PD_HELO_RANDOM_LIMIT_MAX;
    cfg.random_window = 86400;
    /* A bot with a new name on every connection: the record stays within
     * its slots and the count stays above any allowed limit. */
    for (i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "bot%u.example", i);
        n = track(st, &cfg, C4, name, T0 + i);
        ck_assert_uint_eq(n, i + 1 < PD_HELO_RANDOM_SLOTS ? i + 1 : PD_HELO_RANDOM_SLOTS);
    }
    ck_assert_uint_gt(n, cfg.random_limit);
    /* Junk names are tracked too; an overlong one is bounded. */
    {
        char big[2000];

        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        ck_assert_uint_eq(track(st, &cfg, "192.0.2.7", big, T0), 1);
        ck_assert_uint_eq(track(st, &cfg, "192.0.2.7", "\x01\xff", T0), 2);
    }
    /* The clock going back does not lose names or crash. */
    ck_assert_uint_eq(track(st, &cfg, "192.0.2.8", "a.example", T0 + 100), 1);
    ck_assert_uint_eq(track(st, &cfg, "192.0.2.8", "b.example", T0), 2);
    ck_assert_uint_eq(track(st, &cfg, "192.0.2.8", "c.example", T0 - 50000), 3);
    /* Bad arguments. */
    {
        struct pd_addr c = A(C4);
        unsigned d;

        ck_assert_int_eq(pd_helo_track(st, &cfg, &c, "", T0, &d), PD_ST_ERR_INVALID);
        ck_assert_int_eq(pd_helo_track(st, &cfg, NULL, "a.b", T0, &d), PD_ST_ERR_INVALID);
        ck_assert_int_eq(pd_helo_track(NULL, &cfg, &c, "a.b", T0, &d), PD_ST_ERR_INVALID);
    }
    pd_state_close(st);
}
END_TEST

static enum pd_st_op
garbage_fn(void *ctx, int64_t now, const unsigned char *cur, size_t curlen,
           unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    (void) ctx; (void) cur; (void) curlen;
    memset(out, 0xab, 30);
    *outlen = 30;
    *expires_at = now + 1000;
    return PD_ST_PUT;
}

START_TEST(test_random_v6_and_garbage)
{
    struct pd_state *st = open_ok();
    struct pd_helo_config cfg = config();
    const char *key = "192.0.2.9/32";

    /* Per address by default, per /64 when asked. */
    ck_assert_uint_eq(track(st, &cfg, "2001:db8:1:2::1", "a.example", T0), 1);
    ck_assert_uint_eq(track(st, &cfg, "2001:db8:1:2::2", "b.example", T0), 1);
    cfg.random_v6_prefix = 64;
    ck_assert_uint_eq(track(st, &cfg, "2001:db8:1:2::3", "a.example", T0), 1);
    ck_assert_uint_eq(track(st, &cfg, "2001:db8:1:2::4", "b.example", T0), 2);
    ck_assert_uint_eq(track(st, &cfg, "2001:db8:1:3::4", "c.example", T0), 1);

    /* A record in an unknown format is started over, not trusted. */
    ck_assert_int_eq(pd_state_update(st, PD_TABLE_HELO, key, strlen(key), T0, garbage_fn, NULL),
                     PD_ST_OK);
    ck_assert_uint_eq(track(st, &cfg, "192.0.2.9", "a.example", T0), 1);
    pd_state_close(st);
}
END_TEST

START_TEST(test_random_in_check)
{
    struct pd_state *st = open_ok();
    struct pd_helo_config cfg = config();
    struct pd_helo_result r;
    struct pd_addr c = A(C4), self = A("127.0.0.1");
    const char *names[] = { "a.example.org", "b.example.org", "c.example.org" };
    unsigned i;

    cfg.random_limit = 2;
    cfg.random_window = 600;
    cfg.rule[PD_HELO_TEST_RANDOM].act = PD_HELO_ACT_REJECT;
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(pd_helo_check(&cfg, st, names[i], &c, NULL, T0 + i, &r), PD_ST_OK);
        ck_assert_uint_eq(r.distinct, i + 1);
    }
    ck_verdict(r, PD_REJECT, "554 5.7.1 Invalid HELO/EHLO; too many different HELO names");
    ck_assert_int_eq(r.outcome[PD_HELO_TEST_RANDOM], PD_HELO_FAIL);
    ck_assert_int_eq(r.score, 4);

    /* A name already seen does not add: still three, still flagged. */
    ck_assert_int_eq(pd_helo_check(&cfg, st, "a.example.org", &c, NULL, T0 + 5, &r), PD_ST_OK);
    ck_assert_uint_eq(r.distinct, 3);
    ck_assert_int_eq(r.verdict.action, PD_REJECT);

    /* Invalid names count as names (and the syntax verdict comes first). */
    ck_assert_int_eq(pd_helo_check(&cfg, st, "junk", &self, NULL, T0, &r), PD_ST_OK);
    ck_assert_int_eq(pd_helo_check(&cfg, st, "junk!", &c, NULL, T0 + 6, &r), PD_ST_OK);
    ck_assert_uint_eq(r.distinct, 4);
    ck_assert_int_eq(r.decided_by, PD_HELO_TEST_SYNTAX);
    ck_assert_int_eq(r.score, 5 + 4);

    /* Later, with the old names aged out, the client passes again. */
    ck_assert_int_eq(pd_helo_check(&cfg, st, "a.example.org", &c, NULL, T0 + 700, &r),
                     PD_ST_OK);
    ck_assert_uint_eq(r.distinct, 1);
    ck_verdict(r, PD_DUNNO, "");

    /* Defer instead, and off. */
    cfg.rule[PD_HELO_TEST_RANDOM].act = PD_HELO_ACT_DEFER;
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(pd_helo_check(&cfg, st, names[i], &c, NULL, T0 + 800, &r), PD_ST_OK);
    ck_verdict(r, PD_DEFER, "450 4.7.1 Invalid HELO/EHLO; too many");
    cfg.rule[PD_HELO_TEST_RANDOM].act = PD_HELO_ACT_OFF;
    ck_assert_int_eq(pd_helo_check(&cfg, st, "x.example.org", &c, NULL, T0 + 800, &r), PD_ST_OK);
    ck_assert_uint_eq(r.distinct, 0);
    ck_verdict(r, PD_DUNNO, "");
    pd_state_close(st);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("helo");
    TCase *tc = tcase_create("syntax");

    tcase_add_test(tc, test_syntax_shapes);
    tcase_add_test(tc, test_syntax_details);
    tcase_add_test(tc, test_syntax_lengths);
    tcase_add_test(tc, test_syntax_underscore_off);
    tcase_add_test(tc, test_addr_equal);
    suite_add_tcase(s, tc);

    tc = tcase_create("dns");
    tcase_add_test(tc, test_dns_resolves);
    tcase_add_test(tc, test_dns_matches);
    tcase_add_test(tc, test_dns_fcrdns);
    tcase_add_test(tc, test_dns_collect);
    suite_add_tcase(s, tc);

    tc = tcase_create("actions");
    tcase_add_test(tc, test_action_defaults);
    tcase_add_test(tc, test_action_per_test);
    tcase_add_test(tc, test_action_dns);
    tcase_add_test(tc, test_action_names_config);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* Generous: the machine is shared and slow; no test measures time. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_random_window);
    tcase_add_test(tc, test_random_bounded);
    tcase_add_test(tc, test_random_v6_and_garbage);
    tcase_add_test(tc, test_random_in_check);
    suite_add_tcase(s, tc);
    return s;
}
