/*
 * published.h - the price postaged publishes in DNS (docs/price-discovery.md):
 * the record its configuration promises and enforces, as the zone-file line
 * that `postaged -c FILE --dns-record DOMAIN` prints.
 *
 * The record is made from the same settings the engine enforces, so the
 * two cannot disagree: b= is published_price (pd_settings_rep_params, at
 * most price_cap), k= the postage_kinds, and when Argon2id is among them
 * am=/at= the argon2id_max_memory / argon2id_max_passes bounds.
 */
#ifndef POSTAGE_POLICY_PUBLISHED_H
#define POSTAGE_POLICY_PUBLISHED_H

#include <stddef.h>

#include "policy/base/price_record.h"

struct pd_settings;

/* The TTL of the printed line, in seconds (the postmaster may change it:
 * a lower one before raising the price, docs/price-discovery.md). */
#define PD_PUBLISHED_TTL 3600

/* Longest zone-file line, with its NUL. */
#define PD_PUBLISHED_LINE_MAX (PD_DNS_NAME_MAX + PD_PRICE_RECORD_TEXT_MAX + 32)

/*
 * Check a domain given on the command line and write its canonical form
 * (lower case, no trailing dot) to @out.  A domain is host-name labels
 * (letters, digits, inner hyphens; 1 to 63 each) separated by dots, whose
 * last label is not all digits, and short enough that _postage.DOMAIN fits
 * in a DNS name (253).  Returns 0, or -1 with the reason in @err.
 */
int pd_published_domain(const char *domain, char *out, size_t cap, char *err, size_t errlen);

/*
 * The record @s promises.  Returns 0, or -1 with the reason in @err when
 * the settings do not make a valid record (published_price not a number
 * or above price_cap, postage off, or over PD_PRICE_RECORD_MAX_BITS).
 */
int pd_published_record(const struct pd_settings *s, struct pd_price_record *out, char *err,
                        size_t errlen);

/*
 * The zone-file line for @domain (checked as pd_published_domain does):
 *     _postage.example.org. 3600 IN TXT "v=POSTAGE1; b=20"
 * without a newline.  Returns 0, or -1 with the reason in @err; *bad_domain
 * (may be NULL) says whether the domain was at fault rather than @s.
 */
int pd_published_zone_line(const struct pd_settings *s, const char *domain, char *out,
                           size_t cap, int *bad_domain, char *err, size_t errlen);

#endif
