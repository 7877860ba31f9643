/*
 * dns_wire.h - the DNS wire format as postaged's stub resolver
 * (policy/base/dns.h) writes and reads it: names checked and
 * normalized, the query packet, the parse of an answer and its packing
 * into one struct pd_dns_answer.  Internal to policy/base/dns*.c and the
 * fuzz target fuzz/fuzz_dns.c, which feeds the parser hostile packets;
 * nothing here does I/O.
 */
#ifndef POSTAGE_POLICY_DNS_WIRE_H
#define POSTAGE_POLICY_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/base/dns.h"

/* The UDP payload size our EDNS0 OPT record offers (the DNS flag day
 * 2020 size, which avoids IP fragmentation). */
#define PD_DNS_EDNS_UDP_SIZE 1232
/* Longest answer: a TCP message's 16-bit length. */
#define PD_DNS_TCP_MAX 65535
/* Room for any query pd_dns_build_query writes. */
#define PD_DNS_QUERY_MAX 512   /* 12 + 255 + 4 + 11 fits easily        */

/* What pd_dns_parse_answer made of a packet. */
enum pd_dns_parse_status {
    PD_DNS_PARSE_OK,        /* a valid answer to our question                */
    PD_DNS_PARSE_IGNORE,    /* not ours (ID, question) or not a response     */
    PD_DNS_PARSE_TRUNCATED, /* ours, but TC is set                           */
    PD_DNS_PARSE_BAD        /* ours by ID, but malformed                     */
};

/* A parsed answer before packing: the records, and their texts in the
 * caller's scratch buffer (texts, text_cap bytes; text_off[i] is
 * SIZE_MAX for a record without text). */
struct pd_dns_parsed {
    int rcode;       /* the DNS RCODE                                 */
    size_t count, dropped;
    uint32_t ttl;
    struct pd_dns_rr rr[PD_DNS_MAX_RR];
    size_t text_off[PD_DNS_MAX_RR];
    char *texts;     /* scratch, text_cap bytes                       */
    size_t text_used, text_cap;
};

/* Check name and copy it, lowercased and without a trailing dot, into out
 * (PD_DNS_NAME_MAX + 1 bytes).  False if it is not a name we ask for:
 * empty, too long, an empty or over-long label, or bytes that are control
 * characters, space, DEL or backslash. */
bool pd_dns_normalize_name(const char *name, char *out);

/* Write into q (PD_DNS_QUERY_MAX bytes) the query for the normalized
 * name: header with ID id and RD, the question, an EDNS0 OPT record.
 * Returns its length. */
size_t pd_dns_build_query(uint8_t *q, uint16_t id, const char *name, enum pd_dns_type type);

/* Parse the len bytes of msg as the answer to query id for qname/qtype
 * into *p (whose texts and text_cap the caller set).  IGNORE: not ours
 * (ID, question) or not a response; TRUNCATED: ours with TC set; BAD:
 * ours by ID but malformed; OK: *p holds the rcode and the records of
 * type qtype for qname or the CNAME chain from it. */
enum pd_dns_parse_status pd_dns_parse_answer(const uint8_t *msg, size_t len, uint16_t id,
                                             const char *qname, enum pd_dns_type qtype,
                                             struct pd_dns_parsed *p);

/* One allocation holding rcode and the records of p (none if p is NULL),
 * to be freed with pd_dns_answer_free; NULL when out of memory. */
struct pd_dns_answer *pd_dns_pack_answer(enum pd_dns_rcode rcode, const struct pd_dns_parsed *p);

/* A copy of a packed answer (one malloc and memcpy, the text pointers
 * moved to the copy); NULL when out of memory. */
struct pd_dns_answer *pd_dns_copy_answer(const struct pd_dns_answer *src);

#endif
