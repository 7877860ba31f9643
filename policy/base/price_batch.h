/*
 * price_batch.h - the published prices of many addresses at once, each
 * domain asked once: what a sender needs for a message's recipients
 * (postage-sendmail) or a command line's resources (postage-mint -b auto).
 *
 * The domains are grouped by sorting (n log n, no table to size), and one
 * deadline bounds every look-up, so that a message never waits for DNS
 * longer than its budget however many domains it names.
 */
#ifndef POSTAGE_POLICY_PRICE_BATCH_H
#define POSTAGE_POLICY_PRICE_BATCH_H

#include <stddef.h>

#include "policy/base/price_record.h"

/*
 * A resolver for a sending program: @servers as pd_dns_config's (NULL,
 * "" or "system": /etc/resolv.conf), each attempt at one server given
 * half of @budget_s (at most 2 s, at least 1 ms), so that a dead first
 * server leaves time for the next.  NULL with the reason in @err.
 */
struct pd_dns *pd_price_resolver(const char *servers, double budget_s, char *err, size_t errlen);

/*
 * Called once per distinct domain, in the domains' sorted order: @domain
 * ("" for the addresses that have none: pd_price_domain_of refused them,
 * and no look-up was made: @found is PD_PRICE_NONE and @err says so),
 * what pd_price_lookup found (@record valid only on PD_PRICE_FOUND), and
 * the indexes into the caller's array of the @count addresses at it, in
 * their order.  A look-up that found a record without SHA-1 among its
 * kinds is reported as PD_PRICE_INVALID ("takes no SHA-1 stamps"): every
 * sender here mints SHA-1.  Returning non-zero stops the walk.
 */
typedef int pd_price_domain_fn(void *ctx, const char *domain, enum pd_price_found found,
                               const struct pd_price_record *record, const char *err,
                               const size_t *index, size_t count);

/*
 * Look up the records of the domains of @addrs[0..n), each once, before
 * @deadline_ms (pd_dns_now_ms() based), and call @fn for each.  Returns
 * 0, -1 when memory ran out (nothing was called), or @fn's non-zero.
 */
int pd_price_lookup_addresses(struct pd_dns *dns, const char *const *addrs, size_t n,
                              uint64_t deadline_ms, pd_price_domain_fn *fn, void *ctx);

#endif
