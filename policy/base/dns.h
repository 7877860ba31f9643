/*
 * dns.h - postaged's own stub resolver: synchronous DNS over UDP (TCP when
 * an answer is truncated) to the servers of /etc/resolv.conf or to one
 * configured HOST:PORT, with exact per-lookup timeouts and a small TTL
 * cache.
 *
 * Why not res_nquery(3): its server and port come only from resolv.conf
 * and its timeouts are whole seconds multiplied by retries, so neither the
 * tests (a dnsmasq on a loopback port) nor the administrator (who must keep
 * an SPF check inside Postfix's policy and milter timeouts) could steer
 * it.  libspf2 is given a DNS layer built on this resolver (policy/checks/spf.c),
 * so every lookup postaged makes goes through the same configuration.
 *
 * Thread safety: a struct pd_dns may be shared by any number of threads;
 * the cache and the counters are behind a mutex, and nothing is global.
 */
#ifndef POSTAGE_POLICY_DNS_H
#define POSTAGE_POLICY_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest domain name accepted, without a trailing dot (RFC 1035 2.3.4). */
#define PD_DNS_NAME_MAX 253
/* Records kept from one answer; more are dropped (and counted). */
#define PD_DNS_MAX_RR 64
/* Longest TXT record kept (all its strings joined); longer ones are
 * dropped, not cut, because a cut SPF record would be a different one. */
#define PD_DNS_TXT_MAX 4096
/* Servers taken from resolv.conf or from the setting (glibc's MAXNS). */
#define PD_DNS_MAX_SERVERS 3

/* Query types: the numbers are the RR type codes of RFC 1035 / 3596. */
enum pd_dns_type {
    PD_DNS_A = 1,
    PD_DNS_PTR = 12,
    PD_DNS_MX = 15,
    PD_DNS_TXT = 16,
    PD_DNS_AAAA = 28
};

enum pd_dns_rcode {
    PD_DNS_NOERROR = 0,  /* answer (possibly with no records: NODATA) */
    PD_DNS_NXDOMAIN,     /* the name does not exist                    */
    PD_DNS_SERVFAIL,     /* every server said SERVFAIL                 */
    PD_DNS_TIMEOUT,      /* no usable answer before the time was up    */
    PD_DNS_BADNAME,      /* the name is not a valid domain name        */
    PD_DNS_ERROR         /* REFUSED, FORMERR, malformed answers, no
                          * socket, out of memory...                  */
};

/* One record of the answer section, of the type asked for (CNAMEs are
 * followed, not returned). */
struct pd_dns_rr {
    enum pd_dns_type type;
    uint32_t ttl;
    uint16_t pref;       /* MX preference                             */
    uint8_t addr[16];    /* A: 4 bytes, AAAA: 16                      */
    const char *text;    /* TXT: the strings joined (RFC 7208 3.3);
                          * PTR, MX: the target name, no final dot;
                          * NULL for A and AAAA                       */
    size_t text_len;     /* strlen(text), or 0                        */
};

struct pd_dns_answer {
    enum pd_dns_rcode rcode;
    bool from_cache;     /* served from the cache, no packet sent     */
    bool used_tcp;       /* the UDP answer was truncated              */
    size_t count;        /* records in rr[]                           */
    size_t dropped;      /* records over the bounds, not kept         */
    uint32_t ttl;        /* how long this answer may be cached        */
    struct pd_dns_rr *rr;
    size_t alloc_size_;  /* private: size of the single allocation    */
};

struct pd_dns_config {
    /* NULL or "" or "system": the nameservers of /etc/resolv.conf;
     * otherwise a list (comma or space separated, at most
     * PD_DNS_MAX_SERVERS) of numeric "HOST:PORT", "[V6]:PORT", "HOST" or
     * "V6" (port 53). */
    const char *servers;
    const char *resolv_conf;    /* default /etc/resolv.conf (tests)     */
    unsigned timeout_ms;        /* one attempt at one server           */
    unsigned attempts;          /* rounds over the servers; 2          */
    size_t cache_entries;       /* 0 disables the cache; 1024          */
    unsigned max_ttl;           /* cap on a cached answer's life; 3600 */
    unsigned min_ttl;           /* floor on a positive answer's life
                                 * (at most max_ttl); 10.  A record
                                 * served with TTL 0 is otherwise asked
                                 * again for every message.            */
    unsigned negative_ttl;      /* NXDOMAIN / NODATA life; 60          */
};

struct pd_dns_stats {
    uint64_t lookups;        /* pd_dns_lookup calls                     */
    uint64_t cache_hits;
    uint64_t packets_sent;   /* UDP queries + TCP connections          */
    uint64_t timeouts;       /* lookups that ended in PD_DNS_TIMEOUT   */
    uint64_t mismatched;     /* answers ignored: wrong ID or question  */
    uint64_t tcp_fallbacks;
};

struct pd_dns;

/* Zero @cfg and fill in the resolver's own parameters, which are no
 * settings: attempts, cache_entries, max_ttl, negative_ttl (the values
 * above).  servers and timeout_ms are settings (dns_server, dns_timeout),
 * left to the caller: pd_settings_dns_config (policy/engine/settings.h)
 * fills them in from the settings table. */
void pd_dns_config_init(struct pd_dns_config *cfg);

/* Create a resolver; NULL with a message in err on a bad setting or an
 * unreadable resolv.conf with no usable nameserver (then 127.0.0.1:53 is
 * used, as glibc does, so that is not an error). */
struct pd_dns *pd_dns_new(const struct pd_dns_config *cfg,
                          char *err, size_t errlen);
void pd_dns_free(struct pd_dns *dns);

/* Milliseconds of CLOCK_MONOTONIC, the clock deadlines are given in. */
uint64_t pd_dns_now_ms(void);

/*
 * Look up name/type.  deadline_ms (pd_dns_now_ms() based, 0 = none) ends
 * the lookup early: a whole SPF check shares one deadline.  Always sets
 * *out to an answer (free it with pd_dns_answer_free) unless memory ran
 * out, and returns its rcode.  A trailing dot on name is accepted.
 */
enum pd_dns_rcode pd_dns_lookup(struct pd_dns *dns, const char *name,
                                enum pd_dns_type type, uint64_t deadline_ms,
                                struct pd_dns_answer **out);
void pd_dns_answer_free(struct pd_dns_answer *answer);

const char *pd_dns_rcode_name(enum pd_dns_rcode rcode);
const char *pd_dns_type_name(enum pd_dns_type type);
/* "A", "AAAA"... (case-insensitive) to a type; false if unknown. */
bool pd_dns_type_parse(const char *text, enum pd_dns_type *type);

void pd_dns_get_stats(struct pd_dns *dns, struct pd_dns_stats *stats);
/* Forget every cached answer (tests; a reload). */
void pd_dns_cache_clear(struct pd_dns *dns);

#endif
