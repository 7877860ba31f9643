/*
 * dns_wire.c - the DNS wire format of postaged's stub resolver
 * (dns_wire.h): the names of types and rcodes, names checked, the query
 * built by hand (it is 30 lines, and res_nmkquery needs a res_state), and
 * answers parsed with libresolv's ns_initparse/ns_parserr/
 * ns_name_uncompress, which bounds-check every offset.  An answer counts
 * only if it carries our ID, is a response to a standard query and
 * repeats our question exactly, so a spoofed or stale packet is ignored;
 * CNAME chains are followed inside one answer.  No I/O.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <ctype.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/base/dns_wire.h"

#define MAX_CHAIN 8            /* CNAMEs followed inside one answer    */
#define MAX_RR_SCANNED 512     /* answer RRs looked at, at most        */

const char *
pd_dns_rcode_name(enum pd_dns_rcode rcode)
{
    switch (rcode) {
    case PD_DNS_NOERROR: return "NOERROR";
    case PD_DNS_NXDOMAIN: return "NXDOMAIN";
    case PD_DNS_SERVFAIL: return "SERVFAIL";
    case PD_DNS_TIMEOUT: return "TIMEOUT";
    case PD_DNS_BADNAME: return "BADNAME";
    case PD_DNS_ERROR: return "ERROR";
    }
    return "?";
}

const char *
pd_dns_type_name(enum pd_dns_type type)
{
    switch (type) {
    case PD_DNS_A: return "A";
    case PD_DNS_PTR: return "PTR";
    case PD_DNS_MX: return "MX";
    case PD_DNS_TXT: return "TXT";
    case PD_DNS_AAAA: return "AAAA";
    }
    return "?";
}

bool
pd_dns_type_parse(const char *text, enum pd_dns_type *type)
{
    static const enum pd_dns_type all[] = {
        PD_DNS_A, PD_DNS_PTR, PD_DNS_MX, PD_DNS_TXT, PD_DNS_AAAA
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcasecmp(text, pd_dns_type_name(all[i])) == 0) {
            *type = all[i];
            return true;
        }
    return false;
}

/*
 * Check a name and copy it, lowercased and without a trailing dot, into
 * out (PD_DNS_NAME_MAX + 1 bytes).  Refused: empty, too long, an empty or
 * over-long label, and bytes that are control characters, space, DEL or
 * backslash (which libresolv would read as an escape).  Other bytes pass:
 * SPF macros may produce "_" or "+" labels and DNS allows them.
 */
bool
pd_dns_normalize_name(const char *name, char *out)
{
    size_t len = strnlen(name, PD_DNS_NAME_MAX + 2);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > PD_DNS_NAME_MAX)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else {
            if (c <= 0x20 || c == 0x7f || c == '\\')
                return false;
            if (++label > 63)
                return false;
        }
        out[i] = (char)tolower(c);
    }
    if (label == 0)
        return false;
    out[len] = '\0';
    return true;
}

/* The query: header, question, EDNS0 OPT.  Returns its length. */
size_t
pd_dns_build_query(uint8_t *q, uint16_t id, const char *name, enum pd_dns_type type)
{
    size_t n = 0;
    q[n++] = (uint8_t)(id >> 8);
    q[n++] = (uint8_t)id;
    q[n++] = 0x01;  /* RD */
    q[n++] = 0x00;
    q[n++] = 0; q[n++] = 1;  /* QDCOUNT */
    q[n++] = 0; q[n++] = 0;  /* ANCOUNT */
    q[n++] = 0; q[n++] = 0;  /* NSCOUNT */
    q[n++] = 0; q[n++] = 1;  /* ARCOUNT: the OPT record */
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        q[n++] = (uint8_t)l;
        memcpy(q + n, p, l);
        n += l;
        p += l;
        if (*p == '.')
            p++;
    }
    q[n++] = 0;
    q[n++] = 0; q[n++] = (uint8_t)type;
    q[n++] = 0; q[n++] = 1;  /* class IN */
    /* OPT: root name, type 41, class = UDP payload size, TTL 0, no data */
    q[n++] = 0;
    q[n++] = 0; q[n++] = 41;
    q[n++] = (uint8_t)(PD_DNS_EDNS_UDP_SIZE >> 8); q[n++] = (uint8_t)(PD_DNS_EDNS_UDP_SIZE & 0xff);
    q[n++] = 0; q[n++] = 0; q[n++] = 0; q[n++] = 0;
    q[n++] = 0; q[n++] = 0;
    return n;
}

/* ------------------------------------------------------------------ */
/* parsing                                                              */

static bool
chain_has(char chain[][NS_MAXDNAME], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(chain[i], name) == 0)
            return true;
    return false;
}

static bool
add_text(struct pd_dns_parsed *p, size_t idx, const char *s, size_t len)
{
    if (len + 1 > p->text_cap - p->text_used)
        return false;
    memcpy(p->texts + p->text_used, s, len);
    p->texts[p->text_used + len] = '\0';
    p->text_off[idx] = p->text_used;
    p->rr[idx].text_len = len;
    p->text_used += len + 1;
    return true;
}

enum pd_dns_parse_status
pd_dns_parse_answer(const uint8_t *msg, size_t len, uint16_t id, const char *qname,
             enum pd_dns_type qtype, struct pd_dns_parsed *p)
{
    ns_msg h;
    ns_rr rr;

    if (len < NS_HFIXEDSZ)
        return PD_DNS_PARSE_IGNORE;
    if (((unsigned)msg[0] << 8 | msg[1]) != id)
        return PD_DNS_PARSE_IGNORE;
    if (ns_initparse(msg, (int)len, &h) < 0)
        return PD_DNS_PARSE_BAD;
    if (!ns_msg_getflag(h, ns_f_qr) || ns_msg_getflag(h, ns_f_opcode) != ns_o_query)
        return PD_DNS_PARSE_IGNORE;
    /* The question must be ours: a forged answer for another name (or a
     * late one for an earlier query reusing the ID) is not taken. */
    if (ns_msg_count(h, ns_s_qd) != 1 || ns_parserr(&h, ns_s_qd, 0, &rr) < 0)
        return PD_DNS_PARSE_IGNORE;
    if (ns_rr_type(rr) != (ns_type)qtype || ns_rr_class(rr) != ns_c_in ||
        strcasecmp(ns_rr_name(rr), qname) != 0)
        return PD_DNS_PARSE_IGNORE;
    if (ns_msg_getflag(h, ns_f_tc))
        return PD_DNS_PARSE_TRUNCATED;

    p->rcode = ns_msg_getflag(h, ns_f_rcode);
    p->count = p->dropped = 0;
    p->ttl = UINT32_MAX;
    p->text_used = 0;
    if (p->rcode != ns_r_noerror)
        return PD_DNS_PARSE_OK;

    int nan = ns_msg_count(h, ns_s_an);
    if (nan > MAX_RR_SCANNED)
        nan = MAX_RR_SCANNED;

    /* The CNAME chain from qname, whatever order the RRs come in. */
    char chain[MAX_CHAIN + 1][NS_MAXDNAME];
    size_t nchain = 1;
    snprintf(chain[0], sizeof chain[0], "%s", qname);
    for (bool grew = true; grew && nchain <= MAX_CHAIN;) {
        grew = false;
        for (int i = 0; i < nan && nchain <= MAX_CHAIN; i++) {
            if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
                return PD_DNS_PARSE_BAD;
            if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in)
                continue;
            if (strcasecmp(ns_rr_name(rr), chain[nchain - 1]) != 0)
                continue;
            char target[NS_MAXDNAME];
            if (ns_name_uncompress(ns_msg_base(h), ns_msg_end(h), ns_rr_rdata(rr),
                                   target, sizeof target) < 0)
                return PD_DNS_PARSE_BAD;
            if (chain_has(chain, nchain, target))
                continue;  /* a loop */
            snprintf(chain[nchain++], sizeof chain[0], "%s", target);
            grew = true;
        }
    }

    for (int i = 0; i < nan; i++) {
        if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
            return PD_DNS_PARSE_BAD;
        if (ns_rr_type(rr) != (ns_type)qtype || ns_rr_class(rr) != ns_c_in)
            continue;
        if (!chain_has(chain, nchain, ns_rr_name(rr)))
            continue;  /* not about our name: out-of-zone data */
        if (p->count >= PD_DNS_MAX_RR) {
            p->dropped++;
            continue;
        }
        size_t k = p->count;
        struct pd_dns_rr *out = &p->rr[k];
        const uint8_t *rd = ns_rr_rdata(rr);
        size_t rdlen = ns_rr_rdlen(rr);
        char name[NS_MAXDNAME];
        memset(out, 0, sizeof *out);
        out->type = qtype;
        out->ttl = ns_rr_ttl(rr);
        p->text_off[k] = SIZE_MAX;
        bool keep = false;
        switch (qtype) {
        case PD_DNS_A:
            if ((keep = rdlen == 4))
                memcpy(out->addr, rd, 4);
            break;
        case PD_DNS_AAAA:
            if ((keep = rdlen == 16))
                memcpy(out->addr, rd, 16);
            break;
        case PD_DNS_TXT: {
            /* join the <character-string>s; each is a length byte and
             * that many bytes, all inside rdata */
            char buf[PD_DNS_TXT_MAX + 1];
            size_t o = 0, j = 0;
            keep = true;
            while (j < rdlen) {
                size_t l = rd[j++];
                if (l > rdlen - j || o + l > PD_DNS_TXT_MAX) {
                    keep = false;
                    break;
                }
                memcpy(buf + o, rd + j, l);
                o += l;
                j += l;
            }
            /* a NUL inside cannot be handed on as a C string */
            if (keep && memchr(buf, '\0', o) != NULL)
                keep = false;
            if (keep)
                keep = add_text(p, k, buf, o);
            break;
        }
        case PD_DNS_MX:
            if (rdlen < 3)
                break;
            out->pref = (uint16_t)ns_get16(rd);
            rd += 2;
            /* fall through */
        case PD_DNS_PTR:
            if (ns_name_uncompress(ns_msg_base(h), ns_msg_end(h), rd,
                                   name, sizeof name) < 0)
                return PD_DNS_PARSE_BAD;
            if (strlen(name) <= PD_DNS_NAME_MAX && strcmp(name, ".") != 0)
                keep = add_text(p, k, name, strlen(name));
            break;
        }
        if (!keep) {
            p->dropped++;
            continue;
        }
        if (out->ttl < p->ttl)
            p->ttl = out->ttl;
        p->count++;
    }
    return PD_DNS_PARSE_OK;
}

/* Pack a parse into one allocation (so caching is one memcpy). */
struct pd_dns_answer *
pd_dns_pack_answer(enum pd_dns_rcode rcode, const struct pd_dns_parsed *p)
{
    size_t count = p ? p->count : 0;
    size_t texts = p ? p->text_used : 0;
    size_t size = sizeof(struct pd_dns_answer) + count * sizeof(struct pd_dns_rr) + texts;
    struct pd_dns_answer *a = calloc(1, size);
    if (!a)
        return NULL;
    a->rcode = rcode;
    a->alloc_size_ = size;
    a->rr = (struct pd_dns_rr *)(a + 1);
    if (p) {
        a->count = count;
        a->dropped = p->dropped;
        a->ttl = count ? p->ttl : 0;
        char *tbase = (char *)(a->rr + count);
        memcpy(tbase, p->texts, texts);
        for (size_t i = 0; i < count; i++) {
            a->rr[i] = p->rr[i];
            if (p->text_off[i] != SIZE_MAX)
                a->rr[i].text = tbase + p->text_off[i];
        }
    }
    return a;
}

struct pd_dns_answer *
pd_dns_copy_answer(const struct pd_dns_answer *src)
{
    struct pd_dns_answer *a = malloc(src->alloc_size_);
    if (!a)
        return NULL;
    memcpy(a, src, src->alloc_size_);
    a->rr = (struct pd_dns_rr *)(a + 1);
    const char *sbase = (const char *)src;
    for (size_t i = 0; i < a->count; i++)
        if (src->rr[i].text)
            a->rr[i].text = (const char *)a + (src->rr[i].text - sbase);
    return a;
}

void
pd_dns_answer_free(struct pd_dns_answer *answer)
{
    free(answer);
}
