/*
 * sendmail_price.h - the bits postage-sendmail pays each recipient: the
 * price the recipient's domain publishes at _postage.<domain>
 * (policy/base/price_record.h, docs/price-discovery.md), at most max_bits;
 * the configuration's bits rules (sendmail_conf.h) for a domain that
 * publishes nothing, whose record is invalid or takes no SHA-1 stamps, or
 * for which DNS gives no answer within dns_timeout.
 *
 * Never a reason to hold mail: whatever goes wrong, the rules decide and
 * the message goes on.
 */
#ifndef POSTAGE_SENDMAIL_PRICE_H
#define POSTAGE_SENDMAIL_PRICE_H

#include <stddef.h>

#include "sendmail/sendmail_conf.h"

/* Where messages go: postage-sendmail's say() (syslog, and stderr as its
 * configuration says). */
typedef void smp_say_fn(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Fill bits[i] for each of the @n
 * addresses.  Each distinct domain is looked up once, through a resolver
 * set up from c->dns_server ("none": no look-ups, the rules alone) and all
 * of them within c->dns_timeout.  Says, through @say: at LOG_INFO the
 * price each domain got and where from; at LOG_WARNING a record asking
 * more than max_bits, one taking no SHA-1 stamps, and an invalid one (a
 * line per domain); and DNS failures (timeouts, SERVFAIL, a resolver that
 * cannot start) in one LOG_WARNING line for the whole message.
 */
void smp_price_recipients(const struct smc_conf *c, const char *const *addrs, size_t n,
                          unsigned *bits, smp_say_fn *say);

#endif
