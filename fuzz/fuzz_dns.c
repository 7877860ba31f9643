/*
 * fuzz_dns.c - libFuzzer target: postaged's DNS answer parser
 * (policy/base/dns_wire.c), given what a hostile or broken server sends
 * back.  The wire format has no I/O: no socket is ever opened.
 *
 * Input: one byte choosing the query type (A, AAAA, MX, TXT, PTR), then
 * the answer packet.  The question name is taken from the packet and
 * normalized as pd_dns_lookup() does (a packet naming something else is
 * refused before the answer section, which is not worth fuzzing), and the
 * ID from the packet too.  A parsed answer is packed and copied as the
 * cache does.  Checked beyond "no crash": at most PD_DNS_MAX_RR records,
 * each text NUL-terminated with the length given and no NUL inside, names
 * at most PD_DNS_NAME_MAX bytes, and the copy equal to the original.
 */
#include <arpa/nameser.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void
check_answer(const struct pd_dns_answer *a, enum pd_dns_type type)
{
    CHECK(a->count <= PD_DNS_MAX_RR);
    for (size_t i = 0; i < a->count; i++) {
        const struct pd_dns_rr *r = &a->rr[i];
        CHECK(r->type == type);
        if (type == PD_DNS_A || type == PD_DNS_AAAA) {
            CHECK(r->text == NULL && r->text_len == 0);
            continue;
        }
        CHECK(r->text != NULL && strlen(r->text) == r->text_len);
        if (type == PD_DNS_TXT)
            CHECK(r->text_len <= PD_DNS_TXT_MAX);
        else
            CHECK(r->text_len <= PD_DNS_NAME_MAX);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum pd_dns_type types[] = { PD_DNS_A, PD_DNS_AAAA, PD_DNS_MX,
                                              PD_DNS_TXT, PD_DNS_PTR };
    static struct pd_dns_parsed p;
    static char texts[PD_DNS_TCP_MAX + PD_DNS_MAX_RR * (PD_DNS_NAME_MAX + 1)];

    if (size < 1 || size - 1 > PD_DNS_TCP_MAX)
        return 0;
    enum pd_dns_type type = types[data[0] % 5];
    size_t len = size - 1;
    /* An exact-size copy, so ASan sees a read past the packet. */
    uint8_t *msg = malloc(len ? len : 1);
    if (msg == NULL)
        return 0;
    memcpy(msg, data + 1, len);

    char qname[PD_DNS_NAME_MAX + 1] = "example.org";
    ns_msg h;
    ns_rr rr;
    if (ns_initparse(msg, (int)len, &h) == 0 && ns_msg_count(h, ns_s_qd) >= 1 &&
        ns_parserr(&h, ns_s_qd, 0, &rr) == 0 && !pd_dns_normalize_name(ns_rr_name(rr), qname))
        snprintf(qname, sizeof qname, "example.org");

    /* The query pd_dns_lookup() would have sent for that name. */
    uint8_t q[PD_DNS_QUERY_MAX];
    size_t qlen = pd_dns_build_query(q, 0x1234, qname, type);
    CHECK(qlen <= PD_DNS_QUERY_MAX && ns_initparse(q, (int)qlen, &h) == 0);

    uint16_t id = len >= 2 ? (uint16_t)(msg[0] << 8 | msg[1]) : 0;
    p.texts = texts;
    p.text_cap = sizeof texts;
    enum pd_dns_parse_status st = pd_dns_parse_answer(msg, len, id, qname, type, &p);
    if (st == PD_DNS_PARSE_OK) {
        CHECK(p.count <= PD_DNS_MAX_RR && p.text_used <= p.text_cap);
        struct pd_dns_answer *a = pd_dns_pack_answer(PD_DNS_NOERROR, &p);
        if (a != NULL) {
            check_answer(a, type);
            struct pd_dns_answer *b = pd_dns_copy_answer(a);
            if (b != NULL) {
                check_answer(b, type);
                CHECK(b->count == a->count && b->ttl == a->ttl);
                for (size_t i = 0; i < a->count; i++)
                    CHECK(a->rr[i].text == NULL ? b->rr[i].text == NULL
                                                : strcmp(a->rr[i].text, b->rr[i].text) == 0);
                pd_dns_answer_free(b);
            }
            pd_dns_answer_free(a);
        }
    }
    free(msg);
    return 0;
}
