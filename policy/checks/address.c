/*
 * address.c - an RFC 5321 envelope address reduced to its Mailbox
 * (address.h).  A cursor over a bounded buffer: every read checks the end
 * first, so no input makes it read past `len`.
 */
#include "config.h"

#include <string.h>

#include "policy/checks/address.h"

struct cur {
    const unsigned char *s;
    size_t len, i;
};

static int
at_end(const struct cur *c)
{
    return c->i >= c->len;
}

static int
peek(const struct cur *c)
{
    return at_end(c) ? -1 : c->s[c->i];
}

/* Bytes that may never appear unquoted: controls, space, and the
 * delimiters of the Path itself.  8-bit bytes are allowed (SMTPUTF8). */
static int
plain_ok(int ch)
{
    return ch > 0x20 && ch != 0x7f && ch != '<' && ch != '>' && ch != '"' && ch != '@' &&
           ch != '[' && ch != ']' && ch != ',' && ch != ':' && ch != '\\';
}

/* A domain, or an address literal "[...]" (whose inside may hold ':'). */
static enum pd_addr_status
domain(struct cur *c)
{
    if (peek(c) == '[') {
        c->i++;
        while (!at_end(c) && peek(c) != ']') {
            int ch = peek(c);
            if (ch <= 0x20 || ch == 0x7f || ch == '[' || ch == '\\')
                return PD_ADDR_BAD_CHARACTER;
            c->i++;
        }
        if (at_end(c))
            return PD_ADDR_BAD_LITERAL;
        c->i++;
        return PD_ADDR_OK;
    }
    size_t start = c->i;
    while (!at_end(c) && plain_ok(peek(c)))
        c->i++;
    return c->i > start ? PD_ADDR_OK : PD_ADDR_BAD_CHARACTER;
}

/* A quoted-string with its quoted-pairs (RFC 5321 QcontentSMTP; any
 * byte but a control may follow '\', 8-bit ones for SMTPUTF8). */
static enum pd_addr_status
quoted(struct cur *c)
{
    c->i++;   /* the opening quote */
    for (;;) {
        int ch = peek(c);
        if (ch < 0)
            return PD_ADDR_UNTERMINATED_QUOTE;
        c->i++;
        if (ch == '"')
            return PD_ADDR_OK;
        if (ch == '\\') {
            int next = peek(c);
            if (next < 0)
                return PD_ADDR_UNTERMINATED_QUOTE;
            if (next < 0x20 || next == 0x7f)
                return PD_ADDR_BAD_CHARACTER;
            c->i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            return PD_ADDR_BAD_CHARACTER;
        }
    }
}

/* Local-part: a Dot-string (taken leniently: any run of plain bytes, as
 * MTAs pass "a..b" and friends through) or a Quoted-string. */
static enum pd_addr_status
local_part(struct cur *c)
{
    if (peek(c) == '"')
        return quoted(c);
    size_t start = c->i;
    while (!at_end(c) && plain_ok(peek(c)))
        c->i++;
    return c->i > start ? PD_ADDR_OK : PD_ADDR_BAD_CHARACTER;
}

/* A-d-l ":" : "@dom1,@dom2:", ignored. */
static enum pd_addr_status
source_route(struct cur *c)
{
    for (;;) {
        if (peek(c) != '@')
            return PD_ADDR_BAD_ROUTE;
        c->i++;
        if (domain(c) != PD_ADDR_OK)
            return PD_ADDR_BAD_ROUTE;
        int ch = peek(c);
        c->i++;
        if (ch == ':')
            return PD_ADDR_OK;
        if (ch != ',')
            return PD_ADDR_BAD_ROUTE;
    }
}

enum pd_addr_status
pd_envelope_address(const char *src, size_t len, char *out, size_t size)
{
    struct cur c = { (const unsigned char *) src, src != NULL ? len : 0, 0 };
    enum pd_addr_status st;

    if (size == 0)
        return PD_ADDR_TOO_LONG;
    out[0] = '\0';
    while (peek(&c) == ' ' || peek(&c) == '\t')
        c.i++;
    int bracketed = peek(&c) == '<';
    if (bracketed) {
        c.i++;
        if (peek(&c) == '@' && (st = source_route(&c)) != PD_ADDR_OK)
            return st;
    }
    size_t start = c.i;
    if (bracketed && peek(&c) == '>') {
        /* "<>": the null path; nothing to copy */
    } else {
        if ((st = local_part(&c)) != PD_ADDR_OK)
            return st;
        /* "<Postmaster>" has no domain (RFC 5321 4.1.1.3). */
        if (peek(&c) == '@') {
            c.i++;
            if ((st = domain(&c)) != PD_ADDR_OK)
                return st;
        }
    }
    size_t end = c.i;
    if (bracketed) {
        if (at_end(&c))
            return PD_ADDR_NO_CLOSING_BRACKET;
        if (peek(&c) != '>')
            return peek(&c) < 0x20 || peek(&c) == 0x7f || peek(&c) == ' '
                       ? PD_ADDR_BAD_CHARACTER : PD_ADDR_NO_CLOSING_BRACKET;
        c.i++;
    }
    /* What follows: nothing, or parameters after a space. */
    if (!at_end(&c) && peek(&c) != ' ' && peek(&c) != '\t')
        return bracketed ? PD_ADDR_TRAILING_GARBAGE : PD_ADDR_BAD_CHARACTER;
    if (end - start >= size)
        return PD_ADDR_TOO_LONG;
    memcpy(out, src + start, end - start);
    out[end - start] = '\0';
    return PD_ADDR_OK;
}

const char *
pd_addr_status_text(enum pd_addr_status st)
{
    switch (st) {
    case PD_ADDR_OK: return "ok";
    case PD_ADDR_UNTERMINATED_QUOTE: return "unterminated quoted local part";
    case PD_ADDR_NO_CLOSING_BRACKET: return "no closing '>'";
    case PD_ADDR_BAD_ROUTE: return "malformed source route";
    case PD_ADDR_BAD_CHARACTER: return "a character an address cannot hold there";
    case PD_ADDR_BAD_LITERAL: return "unterminated address literal";
    case PD_ADDR_TRAILING_GARBAGE: return "text after '>'";
    case PD_ADDR_TOO_LONG: return "too long";
    }
    return "malformed";
}

enum pd_addr_status
pd_envelope_address_or_raw(const char *src, char *out, size_t size)
{
    if (src == NULL)
        src = "";
    size_t len = strlen(src);
    enum pd_addr_status st = pd_envelope_address(src, len, out, size);
    if (st == PD_ADDR_OK || size == 0)
        return st;
    if (*src == '<') {
        src++;
        len--;
        if (len > 0 && src[len - 1] == '>')
            len--;
    }
    if (len >= size)
        len = size - 1;
    memcpy(out, src, len);
    out[len] = '\0';
    return st;
}
