/*
 * rfc5322.c - header block, fields and recipient addresses of a message,
 * for postage-sendmail -t (see rfc5322.h).
 *
 * The address parser is a tokenizer plus a small state machine per list
 * element, run in one pass with no recursion and no token array, so its
 * time is linear and its memory constant (two address-sized buffers)
 * whatever the header holds: a 1 MB value of commas or parentheses costs
 * one scan.  It aims to take what sendmail and Postfix take, leniently for
 * things scripts and old mailers really write (obsolete routes, blanks
 * around dots, "a@b; c@d"), and to count the rest as bad rather than guess.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/rfc5322.h"

/* ---- lines and fields ------------------------------------------------ */

/* Offset just after the line that starts at `at`: after its LF, or len. */
static size_t
line_after(const char *buf, size_t len, size_t at)
{
    const char *lf = memchr(buf + at, '\n', len - at);
    return lf != NULL ? (size_t)(lf - buf) + 1 : len;
}

/* Length of the line at `at` without its line end (LF or CRLF). */
static size_t
line_content(const char *buf, size_t len, size_t at, size_t next)
{
    size_t n = next - at;
    if (n > 0 && buf[at + n - 1] == '\n') {
        n--;
        if (n > 0 && buf[at + n - 1] == '\r')
            n--;
    }
    return n;
}

/*
 * sendmail's isheader(): a name of bytes above ' ' other than ':', then
 * blanks, then ':'.  A line starting with "--" is a MIME boundary, never a
 * field.  Only printable ASCII is allowed in the name (sendmail's signed
 * char comparison stops at 8-bit bytes as well).  Sets *name_len and
 * *colon (offset of the colon from the line start).
 */
static int
is_field_line(const char *line, size_t n, size_t *name_len, size_t *colon)
{
    if (n >= 2 && line[0] == '-' && line[1] == '-')
        return 0;
    size_t i = 0;
    while (i < n && (unsigned char)line[i] > ' ' && (unsigned char)line[i] < 0x7f &&
           line[i] != ':')
        i++;
    if (i == 0)
        return 0;
    size_t name = i;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i >= n || line[i] != ':')
        return 0;
    *name_len = name;
    *colon = i;
    return 1;
}

int
rfc5322_next_field(const char *block, size_t len, size_t *pos, struct rfc5322_field *out)
{
    if (block == NULL || pos == NULL || out == NULL)
        return 0;
    size_t at = *pos;
    if (at >= len) {
        *pos = len;
        return 0;
    }
    size_t next = line_after(block, len, at);
    size_t n = line_content(block, len, at, next);
    size_t name_len, colon;
    /* An empty line, a stray continuation or a non-field line: the end. */
    if (n == 0 || !is_field_line(block + at, n, &name_len, &colon)) {
        *pos = len;
        return 0;
    }
    size_t end = next;
    while (end < len && (block[end] == ' ' || block[end] == '\t'))
        end = line_after(block, len, end);
    out->name = block + at;
    out->name_len = name_len;
    out->value = block + at + colon + 1;
    out->value_len = end - (at + colon + 1);
    out->start = at;
    out->end = end;
    *pos = end;
    return 1;
}

size_t
rfc5322_header_end(const char *buf, size_t len)
{
    if (buf == NULL)
        return 0;
    struct rfc5322_field f;
    size_t pos = 0, end = 0;
    while (rfc5322_next_field(buf, len, &pos, &f))
        end = f.end;
    if (end >= len)
        return len;
    /* The empty line belongs to the header block; any other line does not. */
    if (buf[end] == '\n')
        return end + 1;
    if (buf[end] == '\r' && end + 1 < len && buf[end + 1] == '\n')
        return end + 2;
    return end;
}

int
rfc5322_uses_crlf(const char *block, size_t len)
{
    if (block == NULL)
        return 0;
    const char *lf = memchr(block, '\n', len);
    return lf != NULL && lf > block && lf[-1] == '\r';
}

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
rfc5322_field_name_is(const struct rfc5322_field *f, const char *name)
{
    if (f == NULL || f->name == NULL || name == NULL)
        return 0;
    size_t n = strlen(name);
    if (n != f->name_len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)f->name[i]) != lower((unsigned char)name[i]))
            return 0;
    return 1;
}

int
rfc5322_field_is_bcc(const struct rfc5322_field *f)
{
    return rfc5322_field_name_is(f, "Bcc") || rfc5322_field_name_is(f, "Resent-Bcc");
}

/* ---- address lists ---------------------------------------------------- */

void
rfc5322_addrs_free(struct rfc5322_addrs *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->addr[i]);
    free(list->addr);
    memset(list, 0, sizeof *list);
}

static int
list_add(struct rfc5322_addrs *list, const char *addr, size_t n)
{
    if (list->count >= RFC5322_LIST_MAX)
        return -1;
    if (list->count == list->cap) {
        size_t cap = list->cap == 0 ? 8 : list->cap * 2;
        if (cap > RFC5322_LIST_MAX)
            cap = RFC5322_LIST_MAX;
        char **grown = realloc(list->addr, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        list->addr = grown;
        list->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, addr, n);
    copy[n] = '\0';
    list->addr[list->count++] = copy;
    return 0;
}

/* ---- tokens ----------------------------------------------------------- */

enum tok {
    T_END,
    T_ATOM,     /* run of atext (8-bit included) */
    T_QUOTED,   /* "...", quotes included in [start, end) */
    T_LITERAL,  /* [...], brackets included */
    T_DOT, T_AT, T_LT, T_GT, T_COMMA, T_COLON, T_SEMI,
    T_JUNK,     /* one byte that has no place outside quotes: a control
                   character, NUL, or a stray ')', ']' or '\' */
    T_BROKEN    /* an unterminated quote, comment or literal: it ran to the
                   end of the value */
};

struct token {
    enum tok kind;
    size_t start, end;
};

static int
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* atext of RFC 5322, plus every 8-bit byte for UTF-8 (RFC 6532). */
static int
is_atext(unsigned char c)
{
    if (c >= 0x80)
        return 1;
    if (c <= ' ' || c == 0x7f)
        return 0;
    switch (c) {
    case '(': case ')': case '<': case '>': case '[': case ']': case ':':
    case ';': case '@': case '\\': case ',': case '.': case '"':
        return 0;
    default:
        return 1;
    }
}

/*
 * From just after an opening `open`, find its `close`, stepping over quoted
 * pairs; comments nest (a depth counter, not recursion, so 100,000 '(' are
 * only a long scan).  Returns the offset after the close, or 0 when there
 * is none (0 can never be a real answer: the opener is before it).
 */
static size_t
skip_delimited(const char *s, size_t len, size_t i, char open, char close, int nests)
{
    size_t depth = 1;
    while (i < len) {
        char c = s[i++];
        if (c == '\\') {
            if (i < len)
                i++;
        } else if (nests && c == open) {
            depth++;
        } else if (c == close && --depth == 0) {
            return i;
        }
    }
    return 0;
}

/* The next token at *pos; blanks and comments are skipped (they only
 * separate tokens). */
static void
next_token(const char *s, size_t len, size_t *pos, struct token *t)
{
    size_t i = *pos;
    for (;;) {
        while (i < len && is_blank((unsigned char)s[i]))
            i++;
        if (i < len && s[i] == '(') {
            size_t after = skip_delimited(s, len, i + 1, '(', ')', 1);
            if (after == 0) {
                t->kind = T_BROKEN;
                t->start = i;
                t->end = *pos = len;
                return;
            }
            i = after;
            continue;
        }
        break;
    }
    t->start = i;
    if (i >= len) {
        t->kind = T_END;
        t->end = *pos = len;
        return;
    }
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '[') {
        size_t after = c == '"' ? skip_delimited(s, len, i + 1, '"', '"', 0)
                                : skip_delimited(s, len, i + 1, '[', ']', 0);
        t->kind = after == 0 ? T_BROKEN : c == '"' ? T_QUOTED : T_LITERAL;
        t->end = *pos = after == 0 ? len : after;
        return;
    }
    if (is_atext(c)) {
        while (i < len && is_atext((unsigned char)s[i]))
            i++;
        t->kind = T_ATOM;
        t->end = *pos = i;
        return;
    }
    switch (c) {
    case '.': t->kind = T_DOT; break;
    case '@': t->kind = T_AT; break;
    case '<': t->kind = T_LT; break;
    case '>': t->kind = T_GT; break;
    case ',': t->kind = T_COMMA; break;
    case ':': t->kind = T_COLON; break;
    case ';': t->kind = T_SEMI; break;
    default: t->kind = T_JUNK; break;
    }
    t->end = *pos = i + 1;
}

/* ---- one addr-spec ---------------------------------------------------- */

/*
 * The addr-spec being assembled from tokens.  The local part is kept as
 * its meaning (quoted pairs resolved, quotes gone) so that it can be
 * written back quoted only when it has to be.
 */
struct spec {
    char local[RFC5322_ADDR_MAX + 1];
    char domain[RFC5322_ADDR_MAX + 1];
    size_t local_len, domain_len;
    enum { S_NONE, S_WORD, S_DOT, S_AT, S_LITERAL } last;
    int in_domain, quoted, err;
};

static void
spec_reset(struct spec *sp)
{
    sp->local_len = sp->domain_len = 0;
    sp->last = S_NONE;
    sp->in_domain = sp->quoted = sp->err = 0;
}

static void
spec_put(struct spec *sp, unsigned char c)
{
    char *buf = sp->in_domain ? sp->domain : sp->local;
    size_t *n = sp->in_domain ? &sp->domain_len : &sp->local_len;
    /* Past the maximum nothing is kept: the address will be refused. */
    if (*n >= RFC5322_ADDR_MAX) {
        sp->err = 1;
        return;
    }
    buf[(*n)++] = (char)c;
}

/* The bytes of a quoted string or domain literal between its delimiters:
 * quoted pairs resolved, folding (CR, LF) removed.  Control characters
 * may not come out, escaped or not: they would end up on sendmail's
 * command line or in a stamp. */
static void
spec_put_delimited(struct spec *sp, const char *s, size_t from, size_t to, int literal)
{
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n')
            continue;
        if (literal && (c == ' ' || c == '\t'))
            continue;
        if (c == '\\' && i + 1 < to)
            c = (unsigned char)s[++i];
        if (c < ' ' || c == 0x7f || (literal && (c >= 0x80 || c == ' ' || c == '[' ||
                                                 c == ']' || c == '\\'))) {
            sp->err = 1;
            return;
        }
        spec_put(sp, c);
    }
}

static void
spec_feed(struct spec *sp, const char *s, const struct token *t)
{
    switch (t->kind) {
    case T_ATOM:
    case T_QUOTED:
        /* Two words in a row had blanks between them: not one address. */
        if (sp->last == S_WORD || sp->last == S_LITERAL ||
            (sp->in_domain && t->kind == T_QUOTED)) {
            sp->err = 1;
            return;
        }
        if (t->kind == T_ATOM) {
            for (size_t i = t->start; i < t->end; i++)
                spec_put(sp, (unsigned char)s[i]);
        } else {
            sp->quoted = 1;
            spec_put_delimited(sp, s, t->start + 1, t->end - 1, 0);
        }
        sp->last = S_WORD;
        return;
    case T_DOT:
        /* Leading and doubled dots are tolerated in the local part (old
         * mailers write them and sendmail takes them), never in a domain. */
        if (sp->in_domain && sp->last != S_WORD) {
            sp->err = 1;
            return;
        }
        spec_put(sp, '.');
        sp->last = S_DOT;
        return;
    case T_AT:
        if (sp->in_domain) {
            sp->err = 1;
            return;
        }
        sp->in_domain = 1;
        sp->last = S_AT;
        return;
    case T_LITERAL:
        if (!sp->in_domain || sp->last != S_AT) {
            sp->err = 1;
            return;
        }
        spec_put(sp, '[');
        spec_put_delimited(sp, s, t->start + 1, t->end - 1, 1);
        spec_put(sp, ']');
        if (sp->domain_len == 2)   /* "[]" */
            sp->err = 1;
        sp->last = S_LITERAL;
        return;
    default:
        sp->err = 1;
        return;
    }
}

static int
is_dot_atom(const char *p, size_t n)
{
    if (n == 0 || p[0] == '.' || p[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (p[i + 1] == '.')
                return 0;
        } else if (!is_atext((unsigned char)p[i])) {
            return 0;
        }
    }
    return 1;
}

static int
only_dots(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '.')
            return 0;
    return 1;
}

/* Write the finished address into out (RFC5322_ADDR_MAX + 1 bytes).
 * Returns its length, or 0 if the tokens were not an address. */
static size_t
spec_finish(const struct spec *sp, char *out)
{
    if (sp->err || sp->local_len == 0)
        return 0;
    /* Dots are tolerated around words, but there must be a word. */
    if (!sp->quoted && only_dots(sp->local, sp->local_len))
        return 0;
    if (sp->in_domain && (sp->domain_len == 0 || sp->last == S_DOT || sp->last == S_AT))
        return 0;
    size_t n = 0;
    if (sp->quoted && !is_dot_atom(sp->local, sp->local_len)) {
        out[n++] = '"';
        for (size_t i = 0; i < sp->local_len; i++) {
            int escape = sp->local[i] == '"' || sp->local[i] == '\\';
            if (n + (size_t)escape + 2 > RFC5322_ADDR_MAX)   /* + closing quote */
                return 0;
            if (escape)
                out[n++] = '\\';
            out[n++] = sp->local[i];
        }
        out[n++] = '"';
    } else {
        memcpy(out, sp->local, sp->local_len);
        n = sp->local_len;
    }
    if (sp->in_domain) {
        if (n + 1 + sp->domain_len > RFC5322_ADDR_MAX)
            return 0;
        out[n++] = '@';
        memcpy(out + n, sp->domain, sp->domain_len);
        n += sp->domain_len;
    }
    out[n] = '\0';
    return n;
}

/* ---- one list element, one list --------------------------------------- */

struct element {
    enum { E_PHRASE,   /* before any '<': a display name or a bare addr-spec */
           E_ROUTE,    /* after "<@": an obsolete route, up to its ':' */
           E_ANGLE,    /* inside <...> */
           E_CLOSED    /* after '>': only blanks and comments may follow */
    } state;
    int any;           /* a token other than a separator was seen */
    int bad;           /* the element is not an address */
    int phrase_only;   /* only words and dots so far: may name a group */
    int angle_fresh;   /* just after '<', where '@' starts a route */
    struct spec spec;
};

static void
element_reset(struct element *e)
{
    e->state = E_PHRASE;
    e->any = e->bad = e->angle_fresh = 0;
    e->phrase_only = 1;
    spec_reset(&e->spec);
}

/* The element is over: add its address or count it bad.  -1: list full. */
static int
element_finish(struct element *e, struct rfc5322_addrs *list)
{
    char addr[RFC5322_ADDR_MAX + 1];
    size_t n = 0;
    int rc = 0;
    /* An empty element ("a,,b", "a,") is legal and adds nothing. */
    if (e->any) {
        if (!e->bad && (e->state == E_PHRASE || e->state == E_CLOSED) &&
            (n = spec_finish(&e->spec, addr)) > 0)
            rc = list_add(list, addr, n);
        else
            list->bad++;
    }
    element_reset(e);
    return rc;
}

static void
element_token(struct element *e, int *in_group, const char *s, const struct token *t)
{
    e->any = 1;
    switch (e->state) {
    case E_PHRASE:
        if (t->kind == T_LT) {
            /* What came before was a display name, whatever it held. */
            spec_reset(&e->spec);
            e->state = E_ANGLE;
            e->angle_fresh = 1;
        } else if (t->kind == T_COLON) {
            if (!*in_group && e->phrase_only) {
                *in_group = 1;
                element_reset(e);   /* the group's name is no address */
            } else {
                e->bad = 1;
            }
        } else {
            if (t->kind != T_ATOM && t->kind != T_QUOTED && t->kind != T_DOT)
                e->phrase_only = 0;
            spec_feed(&e->spec, s, t);
        }
        return;
    case E_ANGLE:
        if (e->angle_fresh && t->kind == T_AT) {
            e->angle_fresh = 0;
            e->state = E_ROUTE;
            return;
        }
        e->angle_fresh = 0;
        if (t->kind == T_GT)
            e->state = E_CLOSED;
        else if (t->kind == T_LT || t->kind == T_COLON)
            e->bad = 1;
        else
            spec_feed(&e->spec, s, t);
        return;
    case E_ROUTE:
        /* "@a,@b:" - the hosts are thrown away, as sendmail does. */
        if (t->kind == T_COLON)
            e->state = E_ANGLE;
        else if (t->kind == T_GT) {
            e->bad = 1;
            e->state = E_CLOSED;
        } else if (t->kind != T_AT && t->kind != T_ATOM && t->kind != T_DOT &&
                   t->kind != T_LITERAL)
            e->bad = 1;
        return;
    case E_CLOSED:
        e->bad = 1;
        return;
    }
}

int
rfc5322_parse_addresses(const char *value, size_t len, struct rfc5322_addrs *list)
{
    if (list == NULL || (value == NULL && len > 0))
        return -1;
    struct element e;
    struct token t;
    size_t pos = 0;
    int in_group = 0;
    element_reset(&e);
    for (;;) {
        next_token(value, len, &pos, &t);
        switch (t.kind) {
        case T_END:
            return element_finish(&e, list);
        case T_COMMA:
            /* Inside a route a comma separates its hosts. */
            if (e.state == E_ROUTE) {
                e.any = 1;
                break;
            }
            if (element_finish(&e, list) != 0)
                return -1;
            break;
        case T_SEMI:
            /* The end of a group; outside one, an Outlook-style separator. */
            if (element_finish(&e, list) != 0)
                return -1;
            in_group = 0;
            break;
        default:
            element_token(&e, &in_group, value, &t);
            break;
        }
    }
}

/* ---- recipients -------------------------------------------------------- */

static const char *const resent_fields[] = {
    "Resent-Date", "Resent-From", "Resent-Sender", "Resent-Reply-To",
    "Resent-To", "Resent-Cc", "Resent-Bcc", "Resent-Message-ID",
};

int
rfc5322_recipients(const char *block, size_t len, struct rfc5322_addrs *shown,
                   struct rfc5322_addrs *blind)
{
    if (block == NULL || shown == NULL || blind == NULL)
        return -1;
    struct rfc5322_field f;
    size_t pos = 0;
    int resent = 0;
    while (!resent && rfc5322_next_field(block, len, &pos, &f))
        for (size_t i = 0; i < sizeof resent_fields / sizeof *resent_fields; i++)
            if (rfc5322_field_name_is(&f, resent_fields[i]))
                resent = 1;

    const char *to = resent ? "Resent-To" : "To";
    const char *cc = resent ? "Resent-Cc" : "Cc";
    const char *bcc = resent ? "Resent-Bcc" : "Bcc";
    pos = 0;
    while (rfc5322_next_field(block, len, &pos, &f)) {
        struct rfc5322_addrs *into = NULL;
        if (rfc5322_field_name_is(&f, to) || rfc5322_field_name_is(&f, cc))
            into = shown;
        else if (rfc5322_field_name_is(&f, bcc))
            into = blind;
        if (into != NULL && rfc5322_parse_addresses(f.value, f.value_len, into) != 0)
            return -1;
    }
    return 0;
}
