/*
 * helo.c - the CheckHelo module (policy/helo/helo.h): HELO/EHLO syntax after
 * RFC 5321 sections 2.3.5 and 4.1.3, decisions over DNS answers the
 * caller supplies, HELO randomisation in the state store's "helo" table,
 * and the per-test action table.
 *
 * Why the choices in helo.h:
 *   - Trailing dot: a name ending in one dot is absolute and means the
 *     same host; some MTAs send it.  RFC 5321's Domain production has no
 *     trailing dot, but refusing mail over it would be pedantry with real
 *     false positives and no anti-spam value.
 *   - Underscore: RFC 5321 (and RFC 952/1123 host names) forbid it, but
 *     DNS allows it and Windows machines whose NetBIOS names contain one
 *     announce it; the module is about abuse, so it is accepted unless
 *     allow_underscore is 0.
 *   - Raw UTF-8: refused.  A client cannot know before EHLO's answer
 *     whether the server speaks SMTPUTF8, so it must send A-labels; a
 *     byte >= 0x80 in the greeting is a broken or hostile client.
 *   - Reply codes follow Postfix, whose logs and admins know them:
 *     missing HELO 503 5.5.1 (smtpd_helo_required), malformed or bare IP
 *     501 5.5.2 (invalid_hostname_reject_code), single label 504 5.5.2
 *     (non_fqdn_reject_code), policy failures 554 5.7.1 (verdict.h's
 *     REJECT default), FCrDNS 550 5.7.25 (RFC 7372: reverse DNS
 *     validation failed).  Deferrals use 450 with the same detail and
 *     class 4.  Replies never echo the HELO (it is the client's text and
 *     may hold anything); the log reason shows it escaped.
 *
 * Randomisation record, table "helo", key: the client's network as
 * pd_cidr_format gives it ("192.0.2.1/32", "2001:db8::1/128").  Value,
 * version 1, 1 + 7k bytes (k <= PD_HELO_RANDOM_SLOTS = 9, so at most 64
 * = PD_ST_VALUE_MAX):
 *   [0] version = 1, then k entries, newest first:
 *   [+0..2] a 24-bit hash of the normalised name  [+3..6] the low 32 bits
 *   of the time it was last used.
 * Only the low 32 bits of times are kept so that nine names fit; an age
 * is (now - last) mod 2^32.  The entry lives until the newest use plus
 * the window, and every update drops names older than the window, so no
 * age read back exceeds twice the window (< 2^30 seconds): the
 * subtraction never wraps into a wrong answer.  A hash collision can only
 * merge two names, i.e. undercount, which a randomiser could get more
 * cheaply by not randomising; so an unkeyed 24-bit hash is enough.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy/helo/helo.h"
#include "policy/state/state.h"

#define TRACK_VERSION 1
#define TRACK_ENTRY 7
#define LABEL_MAX 63

/* ---- small helpers ------------------------------------------------------- */

static char
lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

static int
is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int
eq_nocase(const char *a, size_t alen, const char *b)
{
    size_t i;

    if (strlen(b) != alen)
        return 0;
    for (i = 0; i < alen; i++)
        if (lower(a[i]) != lower(b[i]))
            return 0;
    return 1;
}

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* An IPv4-mapped IPv6 address as the IPv4 address it carries, so that a
 * resolver or caller that built a pd_addr by hand compares correctly. */
static struct pd_addr
addr_norm(const struct pd_addr *a)
{
    struct pd_addr n = *a;

    if (n.family == PD_ADDR_V6 && memcmp(n.bytes, v4_mapped, sizeof v4_mapped) == 0) {
        n.family = PD_ADDR_V4;
        memmove(n.bytes, n.bytes + 12, 4);
        memset(n.bytes + 4, 0, 12);
    }
    return n;
}

int
pd_helo_addr_equal(const struct pd_addr *a, const struct pd_addr *b)
{
    struct pd_addr x, y;

    if (a == NULL || b == NULL)
        return 0;
    x = addr_norm(a);
    y = addr_norm(b);
    if (x.family == PD_ADDR_NONE || x.family != y.family)
        return 0;
    return memcmp(x.bytes, y.bytes, x.family == PD_ADDR_V4 ? 4 : 16) == 0;
}

static int
addr_known(const struct pd_addr *a)
{
    return a != NULL && (a->family == PD_ADDR_V4 || a->family == PD_ADDR_V6);
}

static int
addr_loopback(const struct pd_addr *a)
{
    static const unsigned char v6_loop[16] = { [15] = 1 };
    struct pd_addr n;

    if (!addr_known(a))
        return 0;
    n = addr_norm(a);
    if (n.family == PD_ADDR_V4)
        return n.bytes[0] == 127;
    return memcmp(n.bytes, v6_loop, 16) == 0;
}

static int
addr_own(const struct pd_helo_config *cfg, const struct pd_addr *a)
{
    size_t i;

    if (cfg == NULL || !addr_known(a))
        return 0;
    for (i = 0; i < cfg->own_addr_count; i++)
        if (pd_helo_addr_equal(&cfg->own_addrs[i], a))
            return 1;
    return 0;
}

/* A connection from this machine (loopback) or from one of our own
 * addresses: a content filter or a local program reinjecting mail. */
static int
client_is_self(const struct pd_helo_config *cfg, const struct pd_addr *client)
{
    return addr_loopback(client) || addr_own(cfg, client);
}

/* ---- address literals ----------------------------------------------------- */

/* RFC 5321 IPv4-address-literal: Snum 3("." Snum), Snum = 1*3DIGIT with a
 * decimal value 0..255 (so "010" is ten: the RFC says decimal). */
static int
parse_v4(const char *s, size_t n, unsigned char out[4])
{
    size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;

        if (part > 0) {
            if (i >= n || s[i] != '.')
                return -1;
            i++;
        }
        while (i < n && is_digit((unsigned char) s[i]) && digits < 4) {
            v = v * 10 + (unsigned) (s[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return -1;
        out[part] = (unsigned char) v;
    }
    return i == n ? 0 : -1;
}

/*
 * The IPv6 text forms of RFC 4291 section 2.2 without a zone: eight
 * groups of 1..4 hex digits, or fewer around one "::", and optionally an
 * IPv4 dotted quad in place of the last two groups.  Written here rather
 * than with inet_pton so that the accepted language is exactly the
 * documented one whatever the C library does.
 */
static int
parse_v6(const char *s, size_t n, unsigned char out[16])
{
    unsigned head[8], tail[8];
    unsigned nh = 0, nt = 0, total, k;
    int dbl = 0;
    size_t i = 0;

    if (n == 0)
        return -1;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        dbl = 1;
        i = 2;
    } else if (s[0] == ':') {
        return -1;
    }
    while (i < n) {
        size_t j = i;
        unsigned v = 0;

        while (j < n && hex_value((unsigned char) s[j]) >= 0 && j - i < 5)
            j++;
        if (j < n && s[j] == '.') {
            /* The IPv4 tail: the rest of the text, two groups' worth. */
            unsigned char q[4];

            if (parse_v4(s + i, n - i, q) != 0 || nh + nt > 6)
                return -1;
            if (dbl) {
                tail[nt++] = (unsigned) q[0] << 8 | q[1];
                tail[nt++] = (unsigned) q[2] << 8 | q[3];
            } else {
                head[nh++] = (unsigned) q[0] << 8 | q[1];
                head[nh++] = (unsigned) q[2] << 8 | q[3];
            }
            i = n;
            break;
        }
        if (j == i || j - i > 4 || nh + nt >= 8)
            return -1;
        for (k = (unsigned) i; k < j; k++)
            v = v << 4 | (unsigned) hex_value((unsigned char) s[k]);
        if (dbl)
            tail[nt++] = v;
        else
            head[nh++] = v;
        if (j == n)
            break;
        if (s[j] != ':')
            return -1;
        j++;
        if (j < n && s[j] == ':') {
            if (dbl)
                return -1;          /* a second "::" */
            dbl = 1;
            j++;
        } else if (j == n) {
            return -1;              /* a trailing single ':' */
        }
        i = j;
    }
    total = nh + nt;
    if ((!dbl && total != 8) || (dbl && total > 7))
        return -1;
    memset(out, 0, 16);
    for (k = 0; k < nh; k++) {
        out[2 * k] = (unsigned char) (head[k] >> 8);
        out[2 * k + 1] = (unsigned char) head[k];
    }
    for (k = 0; k < nt; k++) {
        unsigned pos = 8 - nt + k;

        out[2 * pos] = (unsigned char) (tail[k] >> 8);
        out[2 * pos + 1] = (unsigned char) tail[k];
    }
    return 0;
}

/* RFC 5321 General-address-literal: Standardized-tag ":" 1*dcontent,
 * Standardized-tag = Ldh-str (ending in a letter or digit), dcontent =
 * printable US-ASCII except "[", "\" and "]". */
static int
general_literal_ok(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t tlen, i;

    if (colon == NULL)
        return 0;
    tlen = (size_t) (colon - s);
    if (tlen == 0 || tlen + 1 >= n)
        return 0;
    for (i = 0; i < tlen; i++)
        if (!is_alpha((unsigned char) s[i]) && !is_digit((unsigned char) s[i]) && s[i] != '-')
            return 0;
    if (s[tlen - 1] == '-')
        return 0;
    for (i = tlen + 1; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']')
            return 0;
    }
    return 1;
}

static void
set_addr(struct pd_addr *a, enum pd_addr_family fam, const unsigned char *bytes)
{
    memset(a, 0, sizeof *a);
    a->family = fam;
    memcpy(a->bytes, bytes, fam == PD_ADDR_V4 ? 4 : 16);
    *a = addr_norm(a);
}

/* The verdict on an address the client gave as itself (literal or bare):
 * loopback, ours, or neither (PD_HELO_OK_FQDN as "no objection"). */
static enum pd_helo_syntax
judge_self_addr(const struct pd_helo_config *cfg, const struct pd_addr *addr,
                const struct pd_addr *client)
{
    if (addr_loopback(addr))
        return client_is_self(cfg, client) ? PD_HELO_OK_LOCAL : PD_HELO_BAD_LOCALHOST;
    if (addr_own(cfg, addr))
        return client_is_self(cfg, client) ? PD_HELO_OK_LOCAL : PD_HELO_BAD_OWN_NAME;
    return PD_HELO_OK_FQDN;
}

static enum pd_helo_syntax
syntax_literal(const char *s, size_t n, const struct pd_helo_config *cfg,
               const struct pd_addr *client, struct pd_helo_parsed *p)
{
    const char *c;
    size_t cn;
    unsigned char bytes[16];
    enum pd_helo_syntax self;

    if (n < 2 || s[n - 1] != ']' || memchr(s + 1, ']', n - 2) != NULL) {
        p->defect = PD_HELO_DEF_LITERAL_OPEN;
        return PD_HELO_BAD_SYNTAX;
    }
    c = s + 1;
    cn = n - 2;
    if (cn >= 5 && eq_nocase(c, 5, "IPv6:")) {
        if (parse_v6(c + 5, cn - 5, bytes) != 0) {
            p->defect = PD_HELO_DEF_LITERAL_IPV6;
            return PD_HELO_BAD_SYNTAX;
        }
        p->literal = PD_HELO_LIT_V6;
        set_addr(&p->addr, PD_ADDR_V6, bytes);
    } else if (cn > 0 && is_digit((unsigned char) c[0]) && memchr(c, ':', cn) == NULL) {
        if (parse_v4(c, cn, bytes) != 0) {
            p->defect = PD_HELO_DEF_LITERAL_IPV4;
            return PD_HELO_BAD_SYNTAX;
        }
        p->literal = PD_HELO_LIT_V4;
        set_addr(&p->addr, PD_ADDR_V4, bytes);
    } else {
        if (!general_literal_ok(c, cn)) {
            p->defect = PD_HELO_DEF_LITERAL_GENERAL;
            return PD_HELO_BAD_SYNTAX;
        }
        p->literal = PD_HELO_LIT_GENERAL;
        /* No tag but IPv6 is registered: it cannot be the client. */
        return addr_known(client) ? PD_HELO_BAD_LITERAL_MISMATCH : PD_HELO_OK_LITERAL;
    }
    self = judge_self_addr(cfg, &p->addr, client);
    if (self != PD_HELO_OK_FQDN)
        return self;
    if (addr_known(client) && !pd_helo_addr_equal(&p->addr, client))
        return PD_HELO_BAD_LITERAL_MISMATCH;
    return PD_HELO_OK_LITERAL;
}

/* ---- domain names ------------------------------------------------------- */

/* Names no other host may use for itself: RFC 6761's .localhost and the
 * loopback aliases distributions put in /etc/hosts. */
static int
is_localhost_name(const char *name, size_t n)
{
    static const char *const names[] = {
        "localhost", "localhost.localdomain", "localhost4", "localhost4.localdomain4",
        "localhost6", "localhost6.localdomain6", "ip6-localhost", "ip6-loopback"
    };
    static const char suffix[] = ".localhost";
    size_t i, sl = sizeof suffix - 1;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (eq_nocase(name, n, names[i]))
            return 1;
    return n > sl && eq_nocase(name + n - sl, sl, suffix);
}

static int
is_own_name(const struct pd_helo_config *cfg, const char *name, size_t n)
{
    size_t i;

    if (cfg == NULL)
        return 0;
    for (i = 0; i < cfg->own_name_count; i++) {
        const char *o = cfg->own_names[i];
        size_t on;

        if (o == NULL)
            continue;
        on = strnlen(o, PD_HELO_NAME_MAX + 2);
        if (on > 0 && o[on - 1] == '.')
            on--;
        if (on == n && on > 0) {
            size_t k;

            for (k = 0; k < n && lower(o[k]) == lower(name[k]); k++)
                ;
            if (k == n)
                return 1;
        }
    }
    return 0;
}

/* Check s[0..n) (trailing dot already removed) as an RFC 5321 Domain;
 * fill p->name (lower case), labels, underscore and idn.  Returns the
 * defect, or NONE; *numeric tells whether every label is all digits. */
static enum pd_helo_defect
check_domain(const char *s, size_t n, int allow_underscore, struct pd_helo_parsed *p,
             int *numeric)
{
    size_t i, start = 0;
    int label_numeric = 1, all_numeric = 1;

    *numeric = 0;
    if (n == 0)
        return PD_HELO_DEF_EMPTY_LABEL;
    if (n > PD_HELO_NAME_MAX)
        return PD_HELO_DEF_TOO_LONG;
    for (i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char) s[i] : '.';

        if (c == '.') {
            size_t len = i - start;

            if (len == 0)
                return PD_HELO_DEF_EMPTY_LABEL;
            if (len > LABEL_MAX)
                return PD_HELO_DEF_LABEL_TOO_LONG;
            if (s[start] == '-' || s[i - 1] == '-')
                return PD_HELO_DEF_HYPHEN;
            if (len >= 4 && eq_nocase(s + start, 4, "xn--"))
                p->idn = 1;
            if (!label_numeric)
                all_numeric = 0;
            p->labels++;
            start = i + 1;
            /* Only the last label's digits matter for NUMERIC_TLD. */
            if (i < n)
                label_numeric = 1;
            continue;
        }
        if (c >= 0x80)
            return PD_HELO_DEF_NON_ASCII;
        if (c == '_') {
            if (!allow_underscore)
                return PD_HELO_DEF_UNDERSCORE;
            p->underscore = 1;
            label_numeric = 0;
            continue;
        }
        if (is_alpha(c) || c == '-') {
            label_numeric = 0;
            continue;
        }
        if (is_digit(c))
            continue;
        return PD_HELO_DEF_BAD_CHAR;
    }
    for (i = 0; i < n; i++)
        p->name[i] = lower(s[i]);
    p->name[n] = '\0';
    *numeric = all_numeric;
    if (!all_numeric && label_numeric)
        return PD_HELO_DEF_NUMERIC_TLD;
    return PD_HELO_DEF_NONE;
}

enum pd_helo_syntax
pd_helo_syntax(const char *helo, const struct pd_helo_config *cfg,
               const struct pd_addr *client, struct pd_helo_parsed *out)
{
    struct pd_helo_parsed tmp;
    struct pd_helo_parsed *p = out != NULL ? out : &tmp;
    int allow_underscore = cfg != NULL ? cfg->allow_underscore : 1;
    enum pd_helo_syntax self;
    size_t n;
    int numeric;

    memset(p, 0, sizeof *p);
    if (!addr_known(client))
        client = NULL;
    if (helo == NULL)
        helo = "";
    /* Bounded: never read past PD_HELO_INPUT_MAX + 1 bytes. */
    n = strnlen(helo, PD_HELO_INPUT_MAX + 1);
    if (n == 0)
        return PD_HELO_BAD_EMPTY;
    if (n > PD_HELO_INPUT_MAX) {
        p->defect = PD_HELO_DEF_TOO_LONG;
        return PD_HELO_BAD_SYNTAX;
    }
    if (helo[0] == '[')
        return syntax_literal(helo, n, cfg, client, p);

    /* A bare IPv6 address (IPv4 ones are found below as numeric names). */
    if (memchr(helo, ':', n) != NULL) {
        if (pd_addr_parse(helo, n, &p->addr) != PD_NETADDR_OK) {
            memset(&p->addr, 0, sizeof p->addr);
            p->defect = PD_HELO_DEF_BAD_CHAR;
            return PD_HELO_BAD_SYNTAX;
        }
        self = judge_self_addr(cfg, &p->addr, client);
        return self != PD_HELO_OK_FQDN ? self : PD_HELO_BAD_BARE_IP;
    }

    if (helo[n - 1] == '.') {
        p->trailing_dot = 1;
        n--;
    }
    p->defect = check_domain(helo, n, allow_underscore, p, &numeric);
    if (p->defect != PD_HELO_DEF_NONE) {
        p->name[0] = '\0';
        p->labels = 0;
        return PD_HELO_BAD_SYNTAX;
    }
    if (numeric) {
        /* "192.0.2.1", but also "10.1.1" or "300.1.1.1": an address, or
         * meant as one, and not a name in any case (RFC 3696 2). */
        if (pd_addr_parse(helo, n, &p->addr) == PD_NETADDR_OK) {
            self = judge_self_addr(cfg, &p->addr, client);
            if (self != PD_HELO_OK_FQDN)
                return self;
        } else {
            memset(&p->addr, 0, sizeof p->addr);
        }
        return PD_HELO_BAD_BARE_IP;
    }
    if (is_localhost_name(p->name, n))
        return client_is_self(cfg, client) ? PD_HELO_OK_LOCAL : PD_HELO_BAD_LOCALHOST;
    if (is_own_name(cfg, p->name, n))
        return client_is_self(cfg, client) ? PD_HELO_OK_LOCAL : PD_HELO_BAD_OWN_NAME;
    if (p->labels < 2)
        return PD_HELO_BAD_SINGLE_LABEL;
    return PD_HELO_OK_FQDN;
}

const char *
pd_helo_syntax_name(enum pd_helo_syntax s)
{
    switch (s) {
    case PD_HELO_OK_FQDN: return "fqdn";
    case PD_HELO_OK_LITERAL: return "literal";
    case PD_HELO_OK_LOCAL: return "self";
    case PD_HELO_BAD_EMPTY: return "empty";
    case PD_HELO_BAD_BARE_IP: return "bare_ip";
    case PD_HELO_BAD_SINGLE_LABEL: return "single_label";
    case PD_HELO_BAD_LOCALHOST: return "localhost";
    case PD_HELO_BAD_SYNTAX: return "syntax";
    case PD_HELO_BAD_OWN_NAME: return "own_name";
    case PD_HELO_BAD_LITERAL_MISMATCH: return "literal_mismatch";
    }
    return "?";
}

const char *
pd_helo_defect_text(enum pd_helo_defect d)
{
    switch (d) {
    case PD_HELO_DEF_NONE: return "no defect";
    case PD_HELO_DEF_TOO_LONG: return "name longer than 253 characters";
    case PD_HELO_DEF_EMPTY_LABEL: return "empty label";
    case PD_HELO_DEF_LABEL_TOO_LONG: return "label longer than 63 characters";
    case PD_HELO_DEF_HYPHEN: return "label starts or ends with a hyphen";
    case PD_HELO_DEF_UNDERSCORE: return "underscore in name";
    case PD_HELO_DEF_BAD_CHAR: return "invalid character in name";
    case PD_HELO_DEF_NON_ASCII: return "non-ASCII name (use A-labels)";
    case PD_HELO_DEF_NUMERIC_TLD: return "all-numeric top-level label";
    case PD_HELO_DEF_LITERAL_OPEN: return "unbalanced address literal";
    case PD_HELO_DEF_LITERAL_IPV4: return "invalid IPv4 address literal";
    case PD_HELO_DEF_LITERAL_IPV6: return "invalid IPv6 address literal";
    case PD_HELO_DEF_LITERAL_GENERAL: return "invalid address literal";
    }
    return "?";
}

/* ---- configuration --------------------------------------------------------- */

static const char *const test_names[PD_HELO_TEST_COUNT] = {
    "missing", "syntax", "bare_ip", "single_label", "localhost", "own", "literal",
    "resolve", "match", "fcrdns", "random"
};

static const char *const act_names[] = { "off", "score", "defer", "reject" };

const char *
pd_helo_test_name(enum pd_helo_test test)
{
    return (unsigned) test < PD_HELO_TEST_COUNT ? test_names[test] : "?";
}

int
pd_helo_test_parse(const char *word, size_t len, enum pd_helo_test *out)
{
    unsigned i;

    if (word == NULL)
        return -1;
    for (i = 0; i < PD_HELO_TEST_COUNT; i++)
        if (eq_nocase(word, len, test_names[i])) {
            *out = (enum pd_helo_test) i;
            return 0;
        }
    return -1;
}

const char *
pd_helo_act_name(enum pd_helo_act act)
{
    return (unsigned) act <= PD_HELO_ACT_REJECT ? act_names[act] : "?";
}

int
pd_helo_act_parse(const char *word, size_t len, enum pd_helo_act *out)
{
    unsigned i;

    if (word == NULL)
        return -1;
    for (i = 0; i <= PD_HELO_ACT_REJECT; i++)
        if (eq_nocase(word, len, act_names[i])) {
            *out = (enum pd_helo_act) i;
            return 0;
        }
    return -1;
}

void
pd_helo_config_defaults(struct pd_helo_config *cfg)
{
    static const struct pd_helo_rule defaults[PD_HELO_TEST_COUNT] = {
        [PD_HELO_TEST_MISSING] = { PD_HELO_ACT_REJECT, 5 },
        [PD_HELO_TEST_SYNTAX] = { PD_HELO_ACT_REJECT, 5 },
        [PD_HELO_TEST_BARE_IP] = { PD_HELO_ACT_REJECT, 4 },
        [PD_HELO_TEST_SINGLE_LABEL] = { PD_HELO_ACT_REJECT, 3 },
        [PD_HELO_TEST_LOCALHOST] = { PD_HELO_ACT_REJECT, 5 },
        [PD_HELO_TEST_OWN] = { PD_HELO_ACT_REJECT, 8 },
        [PD_HELO_TEST_LITERAL] = { PD_HELO_ACT_SCORE, 2 },
        [PD_HELO_TEST_RESOLVE] = { PD_HELO_ACT_SCORE, 2 },
        [PD_HELO_TEST_MATCH] = { PD_HELO_ACT_SCORE, 1 },
        [PD_HELO_TEST_FCRDNS] = { PD_HELO_ACT_SCORE, 2 },
        [PD_HELO_TEST_RANDOM] = { PD_HELO_ACT_SCORE, 4 },
    };

    memset(cfg, 0, sizeof *cfg);
    cfg->allow_underscore = 1;
    memcpy(cfg->rule, defaults, sizeof defaults);
    cfg->random_limit = 5;
    cfg->random_window = 86400;
    cfg->random_v6_prefix = 128;
}

/* Scores are summed over at most PD_HELO_TEST_COUNT tests; this bound
 * keeps the sum far from overflow. */
#define SCORE_BOUND 1000000

int
pd_helo_config_check(const struct pd_helo_config *cfg, char *err, size_t errlen)
{
    size_t i;
    char dummy[128];

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (cfg == NULL) {
        snprintf(err, errlen, "no configuration");
        return -1;
    }
    for (i = 0; i < PD_HELO_TEST_COUNT; i++) {
        if ((unsigned) cfg->rule[i].act > PD_HELO_ACT_REJECT) {
            snprintf(err, errlen, "%s: unknown action", test_names[i]);
            return -1;
        }
        if (cfg->rule[i].score > SCORE_BOUND || cfg->rule[i].score < -SCORE_BOUND) {
            snprintf(err, errlen, "%s: score out of range", test_names[i]);
            return -1;
        }
    }
    if ((cfg->own_name_count > 0 && cfg->own_names == NULL)
        || (cfg->own_addr_count > 0 && cfg->own_addrs == NULL)) {
        snprintf(err, errlen, "own names or addresses missing");
        return -1;
    }
    for (i = 0; i < cfg->own_name_count; i++) {
        const char *o = cfg->own_names[i];

        if (o == NULL || o[0] == '\0' || strnlen(o, PD_HELO_NAME_MAX + 2) > PD_HELO_NAME_MAX + 1) {
            snprintf(err, errlen, "own name %zu is empty or too long", i + 1);
            return -1;
        }
    }
    for (i = 0; i < cfg->own_addr_count; i++)
        if (!addr_known(&cfg->own_addrs[i])) {
            snprintf(err, errlen, "own address %zu has no family", i + 1);
            return -1;
        }
    if (cfg->rule[PD_HELO_TEST_RANDOM].act != PD_HELO_ACT_OFF) {
        if (cfg->random_limit < 1 || cfg->random_limit > PD_HELO_RANDOM_LIMIT_MAX) {
            snprintf(err, errlen, "random limit must be 1..%d", PD_HELO_RANDOM_LIMIT_MAX);
            return -1;
        }
        if (cfg->random_window < 1 || cfg->random_window > PD_HELO_RANDOM_WINDOW_MAX) {
            snprintf(err, errlen, "random window must be 1..%lld seconds",
                     (long long) PD_HELO_RANDOM_WINDOW_MAX);
            return -1;
        }
        if (cfg->random_v6_prefix < 16 || cfg->random_v6_prefix > 128) {
            snprintf(err, errlen, "random IPv6 prefix must be 16..128");
            return -1;
        }
    }
    return 0;
}

/* ---- DNS decisions --------------------------------------------------------- */

const char *
pd_helo_outcome_name(enum pd_helo_outcome o)
{
    switch (o) {
    case PD_HELO_NOT_RUN: return "not_run";
    case PD_HELO_PASS: return "pass";
    case PD_HELO_FAIL: return "fail";
    case PD_HELO_TEMP: return "temp";
    }
    return "?";
}

/* Anything but a definite answer (including an rcode out of range from a
 * broken resolver) is temporary: doubt must never reject. */
static int
rc_temp(enum pd_helo_rcode rc)
{
    return rc != PD_HELO_RC_UNASKED && rc != PD_HELO_RC_NOERROR && rc != PD_HELO_RC_NXDOMAIN;
}

static unsigned
addrs_count(const struct pd_helo_addrs *a)
{
    if (a->rcode != PD_HELO_RC_NOERROR)
        return 0;
    return a->count < PD_HELO_DNS_ADDRS ? a->count : PD_HELO_DNS_ADDRS;
}

static int
addrs_contain(const struct pd_helo_addrs *a, const struct pd_addr *client)
{
    unsigned i, n = addrs_count(a);

    for (i = 0; i < n; i++)
        if (pd_helo_addr_equal(&a->addr[i], client))
            return 1;
    return 0;
}

enum pd_helo_outcome
pd_helo_dns_resolves(const struct pd_helo_fwd *fwd)
{
    if (fwd == NULL)
        return PD_HELO_NOT_RUN;
    if (addrs_count(&fwd->a) > 0 || addrs_count(&fwd->aaaa) > 0)
        return PD_HELO_PASS;
    if (rc_temp(fwd->a.rcode) || rc_temp(fwd->aaaa.rcode))
        return PD_HELO_TEMP;
    if (fwd->a.rcode == PD_HELO_RC_UNASKED && fwd->aaaa.rcode == PD_HELO_RC_UNASKED)
        return PD_HELO_NOT_RUN;
    return PD_HELO_FAIL;
}

enum pd_helo_outcome
pd_helo_dns_matches(const struct pd_helo_fwd *fwd, const struct pd_addr *client)
{
    const struct pd_helo_addrs *own;
    struct pd_addr c;

    if (fwd == NULL || !addr_known(client))
        return PD_HELO_NOT_RUN;
    if (addrs_contain(&fwd->a, client) || addrs_contain(&fwd->aaaa, client))
        return PD_HELO_PASS;
    /* Only the query that could hold the client's address matters: an
     * AAAA failure says nothing about an IPv4 client. */
    c = addr_norm(client);
    own = c.family == PD_ADDR_V4 ? &fwd->a : &fwd->aaaa;
    if (rc_temp(own->rcode))
        return PD_HELO_TEMP;
    if (own->rcode == PD_HELO_RC_UNASKED)
        return PD_HELO_NOT_RUN;
    return PD_HELO_FAIL;
}

/* A PTR name worth a forward lookup: a syntactically valid FQDN (not
 * "localhost", not an address), as Postfix also insists. */
static int
ptr_name_ok(const char *name, struct pd_helo_parsed *p)
{
    return pd_helo_syntax(name, NULL, NULL, p) == PD_HELO_OK_FQDN;
}

enum pd_helo_outcome
pd_helo_dns_fcrdns(const struct pd_helo_ptr *ptr, const struct pd_addr *client)
{
    struct pd_helo_parsed p;
    unsigned i, n;
    int temp = 0;

    if (ptr == NULL || !addr_known(client) || ptr->rcode == PD_HELO_RC_UNASKED)
        return PD_HELO_NOT_RUN;
    if (rc_temp(ptr->rcode))
        return PD_HELO_TEMP;
    if (ptr->rcode != PD_HELO_RC_NOERROR)
        return PD_HELO_FAIL;
    n = ptr->count < PD_HELO_DNS_PTRS ? ptr->count : PD_HELO_DNS_PTRS;
    for (i = 0; i < n; i++) {
        enum pd_helo_outcome o;

        /* The name is the resolver's text: bounded by its array. */
        if (memchr(ptr->name[i], '\0', sizeof ptr->name[i]) == NULL
            || !ptr_name_ok(ptr->name[i], &p))
            continue;
        o = pd_helo_dns_matches(&ptr->fwd[i], client);
        if (o == PD_HELO_PASS)
            return PD_HELO_PASS;
        if (o == PD_HELO_TEMP)
            temp = 1;
    }
    return temp ? PD_HELO_TEMP : PD_HELO_FAIL;
}

unsigned
pd_helo_dns_wanted(const struct pd_helo_config *cfg, enum pd_helo_syntax s,
                   const struct pd_addr *client)
{
    unsigned want = 0;

    if (cfg == NULL)
        return 0;
    /* A verdict already final needs no lookups. */
    switch (s) {
    case PD_HELO_BAD_EMPTY:
        if (cfg->rule[PD_HELO_TEST_MISSING].act == PD_HELO_ACT_REJECT)
            return 0;
        break;
    case PD_HELO_BAD_SYNTAX:
        if (cfg->rule[PD_HELO_TEST_SYNTAX].act == PD_HELO_ACT_REJECT)
            return 0;
        break;
    case PD_HELO_BAD_BARE_IP:
        if (cfg->rule[PD_HELO_TEST_BARE_IP].act == PD_HELO_ACT_REJECT)
            return 0;
        break;
    case PD_HELO_BAD_SINGLE_LABEL:
        if (cfg->rule[PD_HELO_TEST_SINGLE_LABEL].act == PD_HELO_ACT_REJECT)
            return 0;
        break;
    case PD_HELO_BAD_LOCALHOST:
        if (cfg->rule[PD_HELO_TEST_LOCALHOST].act == PD_HELO_ACT_REJECT)
            return 0;
        break;
    case PD_HELO_BAD_OWN_NAME:
        if (cfg->rule[PD_HELO_TEST_OWN].act == PD_HELO_ACT_REJECT)
            return 0;
        break;
    case PD_HELO_BAD_LITERAL_MISMATCH:
        if (cfg->rule[PD_HELO_TEST_LITERAL].act == PD_HELO_ACT_REJECT)
            return 0;
        break;
    case PD_HELO_OK_LOCAL:
        return 0;               /* ourselves: nothing to verify */
    case PD_HELO_OK_FQDN:
    case PD_HELO_OK_LITERAL:
        break;
    }
    if (s == PD_HELO_OK_FQDN
        && (cfg->rule[PD_HELO_TEST_RESOLVE].act != PD_HELO_ACT_OFF
            || (cfg->rule[PD_HELO_TEST_MATCH].act != PD_HELO_ACT_OFF && addr_known(client))))
        want |= PD_HELO_WANT_FWD;
    if (cfg->rule[PD_HELO_TEST_FCRDNS].act != PD_HELO_ACT_OFF && addr_known(client))
        want |= PD_HELO_WANT_PTR;
    return want;
}

/* Make what a callback returned safe to read: a known rcode, a count
 * within the array. */
static void
clamp_addrs(struct pd_helo_addrs *a)
{
    if ((unsigned) a->rcode > PD_HELO_RC_ERROR)
        a->rcode = PD_HELO_RC_ERROR;
    if (a->count > PD_HELO_DNS_ADDRS)
        a->count = PD_HELO_DNS_ADDRS;
}

static void
lookup(const struct pd_helo_resolver *r, const char *name, enum pd_addr_family fam,
       struct pd_helo_addrs *out)
{
    memset(out, 0, sizeof *out);
    r->lookup_addr(r->ctx, name, fam, out);
    clamp_addrs(out);
    /* A resolver that forgot to set the rcode answered nothing usable. */
    if (out->rcode == PD_HELO_RC_UNASKED)
        out->rcode = PD_HELO_RC_ERROR;
}

void
pd_helo_dns_collect(const struct pd_helo_resolver *r, unsigned want, const char *name,
                    const struct pd_addr *client, struct pd_helo_dns *out)
{
    enum pd_addr_family first = PD_ADDR_V4;
    struct pd_helo_parsed p;
    unsigned i;

    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (r == NULL)
        return;
    if (addr_known(client) && addr_norm(client).family == PD_ADDR_V6)
        first = PD_ADDR_V6;

    if ((want & PD_HELO_WANT_FWD) && r->lookup_addr != NULL && name != NULL && name[0] != '\0'
        && strnlen(name, PD_HELO_NAME_MAX + 1) <= PD_HELO_NAME_MAX) {
        struct pd_helo_addrs *a = first == PD_ADDR_V4 ? &out->helo.a : &out->helo.aaaa;
        struct pd_helo_addrs *b = first == PD_ADDR_V4 ? &out->helo.aaaa : &out->helo.a;

        lookup(r, name, first, a);
        /* The other family only matters when the first gave nothing:
         * "resolves" is then still open, "matches" is already decided. */
        if (addrs_count(a) == 0)
            lookup(r, name, first == PD_ADDR_V4 ? PD_ADDR_V6 : PD_ADDR_V4, b);
        out->have_helo = 1;
    }

    if ((want & PD_HELO_WANT_PTR) && r->lookup_ptr != NULL && r->lookup_addr != NULL
        && addr_known(client)) {
        struct pd_helo_ptr *ptr = &out->ptr;

        r->lookup_ptr(r->ctx, client, ptr);
        if ((unsigned) ptr->rcode > PD_HELO_RC_ERROR || ptr->rcode == PD_HELO_RC_UNASKED)
            ptr->rcode = PD_HELO_RC_ERROR;
        if (ptr->count > PD_HELO_DNS_PTRS)
            ptr->count = PD_HELO_DNS_PTRS;
        memset(ptr->fwd, 0, sizeof ptr->fwd);
        for (i = 0; i < PD_HELO_DNS_PTRS; i++)
            ptr->name[i][sizeof ptr->name[i] - 1] = '\0';
        for (i = 0; ptr->rcode == PD_HELO_RC_NOERROR && i < ptr->count; i++)
            if (ptr_name_ok(ptr->name[i], &p))
                lookup(r, p.name, first,
                       first == PD_ADDR_V4 ? &ptr->fwd[i].a : &ptr->fwd[i].aaaa);
        out->have_ptr = 1;
    }
}

/* ---- randomisation ----------------------------------------------------------- */

/* FNV-1a over the normalised name, folded to 24 bits. */
static uint32_t
name_hash(const char *helo, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    if (n > 0 && helo[n - 1] == '.')
        n--;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char) lower(helo[i]);
        h *= 16777619u;
    }
    return (h >> 24 ^ h) & 0xffffffu;
}

struct track_ctx {
    uint32_t hash;
    int64_t window;
    unsigned distinct;
};

static enum pd_st_op
track_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
         unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    struct track_ctx *c = vctx;
    uint32_t now32 = (uint32_t) ((uint64_t) now & 0xffffffffu);
    size_t k = 0, i, n = 0;

    /* Newest first: this name now, then the others still in the window. */
    out[0] = TRACK_VERSION;
    out[1] = (unsigned char) (c->hash >> 16);
    out[2] = (unsigned char) (c->hash >> 8);
    out[3] = (unsigned char) c->hash;
    pd_st_put_u32(out + 4, now32);
    k = 1;
    if (cur != NULL && curlen >= 1 && cur[0] == TRACK_VERSION && (curlen - 1) % TRACK_ENTRY == 0
        && (curlen - 1) / TRACK_ENTRY <= PD_HELO_RANDOM_SLOTS)
        n = (curlen - 1) / TRACK_ENTRY;
    for (i = 0; i < n && k < PD_HELO_RANDOM_SLOTS; i++) {
        const unsigned char *e = cur + 1 + i * TRACK_ENTRY;
        uint32_t h = (uint32_t) e[0] << 16 | (uint32_t) e[1] << 8 | e[2];
        uint32_t t = pd_st_get_u32(e + 3);
        uint32_t age = now32 - t;

        if (h == c->hash)
            continue;
        /* "In the future": the clock went back.  Count it as seen now
         * rather than let a wrapped age drop or keep it by accident. */
        if (age > 0x7fffffffu) {
            t = now32;
            age = 0;
        }
        if ((int64_t) age >= c->window)
            continue;
        memcpy(out + 1 + k * TRACK_ENTRY, e, 3);
        pd_st_put_u32(out + 1 + k * TRACK_ENTRY + 3, t);
        k++;
    }
    c->distinct = (unsigned) k;
    *outlen = 1 + k * TRACK_ENTRY;
    /* A name seen at T counts while now - T < window, so the record,
     * whose newest name is seen now, is absent from now + window on. */
    *expires_at = now > INT64_MAX - c->window ? PD_ST_NEVER : now + c->window;
    if (cur != NULL && curlen == *outlen && memcmp(cur, out, curlen) == 0)
        return PD_ST_KEEP;
    return PD_ST_PUT;
}

int
pd_helo_track(struct pd_state *st, const struct pd_helo_config *cfg,
              const struct pd_addr *client, const char *helo, int64_t now, unsigned *distinct)
{
    struct pd_cidr net;
    struct track_ctx tc;
    char key[PD_NETADDR_TEXT_MAX];
    struct pd_addr c;
    size_t klen, n;
    int rc;

    if (distinct != NULL)
        *distinct = 0;
    if (st == NULL || cfg == NULL || !addr_known(client) || helo == NULL || distinct == NULL)
        return PD_ST_ERR_INVALID;
    if (cfg->random_window < 1 || cfg->random_window > PD_HELO_RANDOM_WINDOW_MAX
        || cfg->random_v6_prefix < 16 || cfg->random_v6_prefix > 128)
        return PD_ST_ERR_INVALID;
    n = strnlen(helo, PD_HELO_INPUT_MAX + 1);
    if (n == 0)
        return PD_ST_ERR_INVALID;
    c = addr_norm(client);
    pd_addr_mask(&c, c.family == PD_ADDR_V4 ? 32 : cfg->random_v6_prefix, &net);
    klen = pd_cidr_format(&net, key, sizeof key);
    if (klen == 0)
        return PD_ST_ERR_INVALID;
    tc.hash = name_hash(helo, n);
    tc.window = cfg->random_window;
    tc.distinct = 1;
    rc = pd_state_update(st, PD_TABLE_HELO, key, klen, now, track_fn, &tc);
    if (rc < 0)
        return rc;
    *distinct = tc.distinct;
    return PD_ST_OK;
}

/* ---- everything together ----------------------------------------------------- */

/* The tests a syntax result fails. */
static enum pd_helo_test
syntax_test(enum pd_helo_syntax s)
{
    switch (s) {
    case PD_HELO_BAD_EMPTY: return PD_HELO_TEST_MISSING;
    case PD_HELO_BAD_SYNTAX: return PD_HELO_TEST_SYNTAX;
    case PD_HELO_BAD_BARE_IP: return PD_HELO_TEST_BARE_IP;
    case PD_HELO_BAD_SINGLE_LABEL: return PD_HELO_TEST_SINGLE_LABEL;
    case PD_HELO_BAD_LOCALHOST: return PD_HELO_TEST_LOCALHOST;
    case PD_HELO_BAD_OWN_NAME: return PD_HELO_TEST_OWN;
    case PD_HELO_BAD_LITERAL_MISMATCH: return PD_HELO_TEST_LITERAL;
    case PD_HELO_OK_FQDN:
    case PD_HELO_OK_LITERAL:
    case PD_HELO_OK_LOCAL:
        break;
    }
    return PD_HELO_TEST_COUNT;
}

/* Reply code and enhanced status, permanent and temporary, per test. */
static void
test_codes(enum pd_helo_test t, const char **perm, const char **temp)
{
    switch (t) {
    case PD_HELO_TEST_MISSING:
        *perm = "503 5.5.1";
        *temp = "450 4.5.1";
        return;
    case PD_HELO_TEST_SYNTAX:
    case PD_HELO_TEST_BARE_IP:
        *perm = "501 5.5.2";
        *temp = "450 4.5.2";
        return;
    case PD_HELO_TEST_SINGLE_LABEL:
        *perm = "504 5.5.2";
        *temp = "450 4.5.2";
        return;
    case PD_HELO_TEST_FCRDNS:
        *perm = "550 5.7.25";
        *temp = "450 4.7.25";
        return;
    default:
        *perm = "554 5.7.1";
        *temp = "450 4.7.1";
        return;
    }
}

static void
format_text(const struct pd_helo_result *r, enum pd_helo_test t, int defer, int temporary,
            char *buf, size_t cap)
{
    const char *perm, *tmp, *code, *why;

    test_codes(t, &perm, &tmp);
    code = defer ? tmp : perm;
    switch (t) {
    case PD_HELO_TEST_MISSING: why = "none was sent"; break;
    case PD_HELO_TEST_SYNTAX: why = pd_helo_defect_text(r->parsed.defect); break;
    case PD_HELO_TEST_BARE_IP:
        why = "an IP address must be written as a literal such as [192.0.2.1]";
        break;
    case PD_HELO_TEST_SINGLE_LABEL: why = "not a fully qualified domain name"; break;
    case PD_HELO_TEST_LOCALHOST: why = "localhost is not a name another host may use"; break;
    case PD_HELO_TEST_OWN: why = "that is this server's own name or address"; break;
    case PD_HELO_TEST_LITERAL: why = "the address literal is not your address"; break;
    case PD_HELO_TEST_RESOLVE:
        why = temporary ? "temporary DNS failure looking up the name"
                        : "the name has no address (A/AAAA) record";
        break;
    case PD_HELO_TEST_MATCH:
        why = temporary ? "temporary DNS failure looking up the name"
                        : "the name does not resolve to your address";
        break;
    case PD_HELO_TEST_FCRDNS:
        /* About the client, not the HELO: Postfix's wording, RFC 7372's code. */
        snprintf(buf, cap, "%s Client host rejected; %s", code,
                 temporary ? "temporary DNS failure looking up your reverse DNS name"
                           : "your address has no forward-confirmed reverse DNS name");
        return;
    case PD_HELO_TEST_RANDOM: why = "too many different HELO names from your address"; break;
    default: why = "rejected"; break;
    }
    snprintf(buf, cap, "%s Invalid HELO/EHLO; %s", code, why);
}

/* The HELO for a log line: printable ASCII as is, the rest as \xNN, cut
 * at 96 input bytes. */
static void
escape_helo(const char *helo, char *buf, size_t cap)
{
    size_t i, w = 0;

    buf[0] = '\0';
    for (i = 0; helo[i] != '\0' && i < 96 && w + 5 < cap; i++) {
        unsigned char c = (unsigned char) helo[i];

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            buf[w++] = (char) c;
        } else {
            snprintf(buf + w, cap - w, "\\x%02x", c);
            w += 4;
        }
    }
    if (helo[i] != '\0' && w + 4 < cap) {
        memcpy(buf + w, "...", 3);
        w += 3;
    }
    buf[w] = '\0';
}

int
pd_helo_check(const struct pd_helo_config *cfg, struct pd_state *st, const char *helo,
              const struct pd_addr *client, const struct pd_helo_dns *dns, int64_t now,
              struct pd_helo_result *out)
{
    const struct pd_helo_rule *rule;
    enum pd_helo_test failed, t, first_reject = PD_HELO_TEST_COUNT,
        first_defer = PD_HELO_TEST_COUNT;
    char shown[400];
    int rc = PD_ST_OK, defer_temp = 0;

    if (out == NULL)
        return PD_ST_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->decided_by = PD_HELO_TEST_COUNT;
    out->verdict.action = PD_DUNNO;
    if (pd_helo_config_check(cfg, NULL, 0) != 0)
        return PD_ST_ERR_INVALID;
    rule = cfg->rule;
    if (helo == NULL)
        helo = "";
    if (!addr_known(client))
        client = NULL;

    /* 1. Syntax and the local checks: one class per HELO. */
    out->syntax = pd_helo_syntax(helo, cfg, client, &out->parsed);
    failed = syntax_test(out->syntax);
    if (failed != PD_HELO_TEST_COUNT) {
        out->outcome[failed] = PD_HELO_FAIL;
    } else if (out->syntax != PD_HELO_OK_LOCAL) {
        for (t = PD_HELO_TEST_MISSING; t <= PD_HELO_TEST_OWN; t++)
            out->outcome[t] = PD_HELO_PASS;
        if (out->syntax == PD_HELO_OK_LITERAL && client != NULL)
            out->outcome[PD_HELO_TEST_LITERAL] = PD_HELO_PASS;
    }

    /* 2. DNS, for a name only (a literal needs none; a self-connection
     * is not verified).  A name that does not resolve fails RESOLVE; it
     * fails MATCH too only when RESOLVE is off, so it is counted once. */
    if (dns != NULL && out->syntax == PD_HELO_OK_FQDN && dns->have_helo) {
        enum pd_helo_outcome res = pd_helo_dns_resolves(&dns->helo);

        out->outcome[PD_HELO_TEST_RESOLVE] = res;
        if (client != NULL) {
            if (res == PD_HELO_PASS)
                out->outcome[PD_HELO_TEST_MATCH] = pd_helo_dns_matches(&dns->helo, client);
            else if (rule[PD_HELO_TEST_RESOLVE].act == PD_HELO_ACT_OFF)
                out->outcome[PD_HELO_TEST_MATCH] = res;
        }
    }
    if (dns != NULL && dns->have_ptr && client != NULL && out->syntax != PD_HELO_OK_LOCAL)
        out->outcome[PD_HELO_TEST_FCRDNS] = pd_helo_dns_fcrdns(&dns->ptr, client);

    /* 3. Randomisation: every HELO counts, valid or not (randomisers
     * often send junk).  The store's failure leaves the other results. */
    if (rule[PD_HELO_TEST_RANDOM].act != PD_HELO_ACT_OFF && st != NULL && client != NULL
        && helo[0] != '\0' && out->syntax != PD_HELO_OK_LOCAL) {
        rc = pd_helo_track(st, cfg, client, helo, now, &out->distinct);
        if (rc == PD_ST_OK)
            out->outcome[PD_HELO_TEST_RANDOM] =
                out->distinct > cfg->random_limit ? PD_HELO_FAIL : PD_HELO_PASS;
    }

    /* 4. The action table. */
    for (t = PD_HELO_TEST_MISSING; t < PD_HELO_TEST_COUNT; t++) {
        enum pd_helo_act act = rule[t].act;

        if (act == PD_HELO_ACT_OFF) {
            out->outcome[t] = PD_HELO_NOT_RUN;
            continue;
        }
        if (out->outcome[t] == PD_HELO_FAIL) {
            out->score += rule[t].score;
            if (act == PD_HELO_ACT_REJECT && first_reject == PD_HELO_TEST_COUNT)
                first_reject = t;
            if (act == PD_HELO_ACT_DEFER && first_defer == PD_HELO_TEST_COUNT)
                first_defer = t;
        } else if (out->outcome[t] == PD_HELO_TEMP && act != PD_HELO_ACT_SCORE
                   && first_defer == PD_HELO_TEST_COUNT) {
            /* Doubt never rejects: REJECT and DEFER both defer. */
            first_defer = t;
            defer_temp = 1;
        }
    }
    if (first_reject != PD_HELO_TEST_COUNT) {
        out->verdict.action = PD_REJECT;
        out->decided_by = first_reject;
        format_text(out, first_reject, 0, 0, out->verdict.text, sizeof out->verdict.text);
    } else if (first_defer != PD_HELO_TEST_COUNT) {
        out->verdict.action = PD_DEFER;
        out->decided_by = first_defer;
        out->temporary = defer_temp;
        format_text(out, first_defer, 1, defer_temp, out->verdict.text, sizeof out->verdict.text);
    }

    escape_helo(helo, shown, sizeof shown);
    snprintf(out->reason, sizeof out->reason, "helo=\"%.120s\" class=%s%s%s%s test=%s score=%d",
             shown, pd_helo_syntax_name(out->syntax),
             out->syntax == PD_HELO_BAD_SYNTAX ? " (" : "",
             out->syntax == PD_HELO_BAD_SYNTAX ? pd_helo_defect_text(out->parsed.defect) : "",
             out->syntax == PD_HELO_BAD_SYNTAX ? ")" : "",
             out->decided_by == PD_HELO_TEST_COUNT ? "none" : pd_helo_test_name(out->decided_by),
             out->score);
    return rc;
}
