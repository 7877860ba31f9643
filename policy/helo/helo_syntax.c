/*
 * helo_syntax.c - the RFC 5321 grammar of the HELO module
 * (policy/helo/helo.h): HELO/EHLO syntax after RFC 5321 sections 2.3.5
 * and 4.1.3 (domains, address literals, bare addresses) and the pure
 * local checks (localhost, our own names and addresses, a literal that is
 * not the client's address).  No I/O.
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
 */
#include "config.h"

#include <string.h>

#include "policy/helo/helo_internal.h"
#include "util/hex.h"

#define LABEL_MAX 63

/* ---- small helpers ------------------------------------------------------- */

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

int
pd_helo_addr_equal(const struct pd_addr *a, const struct pd_addr *b)
{
    struct pd_addr x, y;

    if (a == NULL || b == NULL)
        return 0;
    x = helo_addr_norm(a);
    y = helo_addr_norm(b);
    if (x.family == PD_ADDR_NONE || x.family != y.family)
        return 0;
    return memcmp(x.bytes, y.bytes, x.family == PD_ADDR_V4 ? 4 : 16) == 0;
}

static int
addr_loopback(const struct pd_addr *a)
{
    static const unsigned char v6_loop[16] = { [15] = 1 };
    struct pd_addr n;

    if (!helo_addr_known(a))
        return 0;
    n = helo_addr_norm(a);
    if (n.family == PD_ADDR_V4)
        return n.bytes[0] == 127;
    return memcmp(n.bytes, v6_loop, 16) == 0;
}

static int
addr_own(const struct pd_helo_config *cfg, const struct pd_addr *a)
{
    size_t i;

    if (cfg == NULL || !helo_addr_known(a))
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

        while (j < n && hex_digit_value((unsigned char) s[j]) >= 0 && j - i < 5)
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
            v = v << 4 | (unsigned) hex_digit_value((unsigned char) s[k]);
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
    *a = helo_addr_norm(a);
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
    if (cn >= 5 && helo_eq_nocase(c, 5, "IPv6:")) {
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
        return helo_addr_known(client) ? PD_HELO_BAD_LITERAL_MISMATCH : PD_HELO_OK_LITERAL;
    }
    self = judge_self_addr(cfg, &p->addr, client);
    if (self != PD_HELO_OK_FQDN)
        return self;
    if (helo_addr_known(client) && !pd_helo_addr_equal(&p->addr, client))
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
        if (helo_eq_nocase(name, n, names[i]))
            return 1;
    return n > sl && helo_eq_nocase(name + n - sl, sl, suffix);
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

            for (k = 0; k < n && helo_lower(o[k]) == helo_lower(name[k]); k++)
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
            if (len >= 4 && helo_eq_nocase(s + start, 4, "xn--"))
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
        p->name[i] = helo_lower(s[i]);
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
    if (!helo_addr_known(client))
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
