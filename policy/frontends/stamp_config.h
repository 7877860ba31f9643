/*
 * stamp_config.h - the stamping milter's configuration, made from the
 * stamp_* keys of postaged.conf (and dns_server, dns_timeout,
 * stamp_validity, stamp_grace): the client networks parsed, the injection
 * command split into words, and a resolver of its own.
 *
 * A configuration is shared by the messages being stamped and replaced
 * whole on SIGHUP: each message holds a reference for its end of message,
 * so a reload never changes the rules under a message half decided.
 */
#ifndef POSTAGE_POLICY_STAMP_CONFIG_H
#define POSTAGE_POLICY_STAMP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "policy/base/dns.h"
#include "policy/base/netaddr.h"
#include "policy/engine/settings.h"

#define PD_STAMP_CLIENTS_MAX 64   /* networks in stamp_clients            */
#define PD_STAMP_ARGV_MAX 32      /* words of stamp_sendmail              */

struct pd_stamp_config {
    int refs;                                 /* atomic                    */
    struct pd_cidr clients[PD_STAMP_CLIENTS_MAX];
    size_t n_clients;
    unsigned default_bits;                    /* PD_STAMP_BITS_NONE: none  */
    unsigned max_bits;
    unsigned threads;                         /* 0: every online CPU       */
    uint64_t timeout_ms;                      /* the whole message's budget */
    enum pd_stamp_on_error on_error;
    enum pd_stamp_blind blind;
    char *sendmail_argv[PD_STAMP_ARGV_MAX + 1]; /* NULL-terminated words   */
    size_t sendmail_argc;
    int64_t validity, grace;                  /* of a stamp already there  */
    struct pd_dns *dns;
};

/* A configuration from @s, with one reference.  NULL with the reason in
 * @err naming the key ("stamp_clients: '10.0.0.0/33': ...", "stamp_sendmail:
 * empty") or when memory or the resolver could not be had. */
struct pd_stamp_config *pd_stamp_config_new(const struct pd_settings *s, char *err,
                                            size_t errlen);

/* Take and drop a reference (any thread); the last drop frees. */
struct pd_stamp_config *pd_stamp_config_ref(struct pd_stamp_config *c);
void pd_stamp_config_unref(struct pd_stamp_config *c);

#endif
