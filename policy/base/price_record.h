/*
 * price_record.h - the price a receiving domain publishes in DNS: the TXT
 * record at _postage.<domain> (docs/price-discovery.md), its parsing, its
 * zone-file text, and its look-up through postaged's resolver.
 *
 * The record is DMARC-style, a list of tag=value pairs separated by ";":
 *
 *     v=POSTAGE1; b=20
 *     v=POSTAGE1; b=20; k=sha1:argon2id; am=65536; at=3
 *
 * "v=POSTAGE1" comes first (a TXT string that does not start with it is
 * some other record and is ignored), "b" is required.  Unknown tags are
 * ignored, so that later versions can add some; a duplicate tag makes the
 * record invalid, because two readers could take different ones.
 *
 * Both sides use this file: postaged prints the record its configuration
 * enforces (--dns-record), and the senders (the stamping milter,
 * postage-sendmail, postage-mint -b auto) read it.  It is built, with the
 * resolver, into policy/base/libpricedns.la, which the sending programs
 * link without the rest of postaged.
 */
#ifndef POSTAGE_POLICY_PRICE_RECORD_H
#define POSTAGE_POLICY_PRICE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "policy/base/dns.h"

/* The most bits a record may ask.  A record asking more is invalid: no
 * honest receiver wants hours of a sender's CPU per message, and a forged
 * record must not be able to make a sender try. */
#define PD_PRICE_RECORD_MAX_BITS 40
/* Longest record text pd_price_record_format writes, with its NUL. */
#define PD_PRICE_RECORD_TEXT_MAX 96
/* The owner name's prefix. */
#define PD_PRICE_RECORD_PREFIX "_postage."

struct pd_price_record {
    unsigned bits;                 /* b=: SHA-1 bits asked per recipient   */
    unsigned kinds;                /* k=: POSTAGE_KIND_* bits; default SHA-1 */
    unsigned argon2id_max_memory;  /* am=: KiB; 0 = not said               */
    unsigned argon2id_max_passes;  /* at=: 0 = not said                    */
};

/*
 * Parse one TXT record (its strings joined, as pd_dns returns it) of @len
 * bytes.  Returns 0 and fills @out for a valid postage record; 1 when the
 * text is not a postage record at all (it does not start with
 * "v=POSTAGE1"), which a reader skips; -1 when it is one but invalid, with
 * the reason in @err ("b=41 is over 40 bits", "tag b given twice"...).
 * @out is written only on 0.
 */
int pd_price_record_parse(const char *text, size_t len, struct pd_price_record *out,
                          char *err, size_t errlen);

/*
 * The record's text for @r: "v=POSTAGE1; b=N", followed by
 * "; k=sha1:argon2id" (or "; k=argon2id") when Argon2id is among the kinds,
 * and "; am=N" / "; at=N" when those are set.  Returns its length, or 0
 * when @cap is too small or @r could not be parsed back (bits over the
 * maximum, no kind).  PD_PRICE_RECORD_TEXT_MAX is always enough.
 */
size_t pd_price_record_format(const struct pd_price_record *r, char *out, size_t cap);

/*
 * The domain part of an e-mail address: what follows the last '@', with
 * surrounding angle brackets and a trailing dot dropped, in lower case.
 * Returns 0, or -1 when there is no '@', the domain is empty, longer than
 * PD_DNS_NAME_MAX, is an address literal ("[192.0.2.1]"), or has a
 * character a host name cannot have.
 */
int pd_price_domain_of(const char *address, char *out, size_t cap);

enum pd_price_found {
    PD_PRICE_FOUND = 0,    /* one valid record: *out is filled             */
    PD_PRICE_NONE,         /* NXDOMAIN, no TXT, or no postage record among
                            * the TXT records                             */
    PD_PRICE_INVALID,      /* a postage record that does not parse, or
                            * more than one                               */
    PD_PRICE_DNS_ERROR     /* timeout, SERVFAIL, a bad domain, no memory  */
};

/*
 * Look up the TXT records of _postage.@domain through @dns (so its TTL
 * cache and its negative cache apply) before @deadline_ms (pd_dns_now_ms()
 * based, 0 = the resolver's own timeouts only).  On PD_PRICE_FOUND fills
 * @out; otherwise says in @err what was found ("no record at
 * _postage.example.org", "_postage.example.org: b=x is not a number",
 * "DNS timeout for _postage.example.org").  Thread-safe as pd_dns is.
 */
enum pd_price_found pd_price_lookup(struct pd_dns *dns, const char *domain,
                                    uint64_t deadline_ms, struct pd_price_record *out,
                                    char *err, size_t errlen);

/* "found", "none", "invalid", "dns-error". */
const char *pd_price_found_name(enum pd_price_found found);

#endif
