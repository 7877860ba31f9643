/*
 * sendmail_conf.h - postage-sendmail's configuration: where the real
 * sendmail is, how many bits each recipient gets (the price its domain
 * publishes in DNS, up to max_bits, else the bits rules), the time budget,
 * and the spool.  A `key = value` file (default
 * $(sysconfdir)/postage/sendmail.conf: /etc/postage/sendmail.conf for a
 * system package, /usr/local/etc/... from a default `make install`; or
 * $POSTAGE_SENDMAIL_CONF); $POSTAGE_SENDMAIL overrides `sendmail`.
 */
#ifndef POSTAGE_MINT_SENDMAIL_CONF_H
#define POSTAGE_MINT_SENDMAIL_CONF_H

#include <stddef.h>

#define SMC_PATH_MAX 1024
#define SMC_RULES_MAX 1000
/* POSTAGE_SYSCONFDIR comes from Makefile.am (configure's --sysconfdir). */
#ifndef POSTAGE_SYSCONFDIR
#define POSTAGE_SYSCONFDIR "/etc"
#endif
#define SMC_DEFAULT_FILE POSTAGE_SYSCONFDIR "/postage/sendmail.conf"
#define SMC_DNS_SERVER_MAX 256
/* The most bits a published record can make us pay, by default (the
 * stamping milter's stamp_max_bits default too). */
#define SMC_DEFAULT_MAX_BITS 26
/* What a domain publishing nothing gets: the most a postaged on its
 * defaults asks a sender not in bad standing (published_price, which is
 * price_base, 20, whether the record is published or not), so that mail
 * to it skips greylisting even without a record. */
#define SMC_DEFAULT_BITS 20

/* "bits = PATTERN BITS": user@domain exactly, @domain (the domain only),
 * .domain (its subdomains), or * (everyone).  First match wins. */
struct smc_rule {
    char pattern[320];
    unsigned bits;
};

enum smc_on_failure { SMC_SEND = 0, SMC_QUEUE };

struct smc_conf {
    char sendmail[SMC_PATH_MAX];   /* the real sendmail                   */
    unsigned default_bits;         /* fallback of the rules; SMC_DEFAULT_BITS */
    unsigned max_bits;             /* most bits a published record gets us
                                    * to pay; SMC_DEFAULT_MAX_BITS        */
    char dns_server[SMC_DNS_SERVER_MAX]; /* "system" (resolv.conf), "none"
                                    * (no look-ups: the bits rules alone),
                                    * or HOST:PORT list (pd_dns syntax)   */
    double dns_timeout;            /* seconds for all of a message's
                                    * look-ups; 5                         */
    double time_budget;            /* seconds of minting per message; 10  */
    int background;                /* return at once, send from the spool */
    char spool[SMC_PATH_MAX];
    enum smc_on_failure on_mint_failure;
    double sendmail_timeout;       /* seconds before a hung sendmail is killed; 300 */
    unsigned threads;              /* minting threads; 0: every CPU       */
    int log_stderr;                /* warnings also on stderr             */
    struct smc_rule *rules;
    size_t n_rules;
};

/* Defaults; spool_default is chosen by the caller (root or user). */
void smc_defaults(struct smc_conf *c, const char *spool_default);

/* Load FILE over the defaults.  A missing file is not an error when
 * `optional`.  On error returns -1 with "FILE:LINE: problem" in err and
 * leaves *c with the defaults plus whatever came before the bad line. */
int smc_load(struct smc_conf *c, const char *file, int optional, char *err, size_t errlen);

/* The bits the rules (then default_bits) give one recipient address:
 * what it pays when its domain publishes no price, or DNS cannot say. */
unsigned smc_bits_for(const struct smc_conf *c, const char *address);

void smc_free(struct smc_conf *c);

#endif
