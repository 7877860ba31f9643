/*
 * spf.h - SPF checks (RFC 7208) with libspf2 over postaged's resolver
 * (policy/base/dns.h), decided the way postfix-policyd-spf-python does by
 * default, and the trace header for the message.
 *
 * A check yields a struct pd_spf_outcome: a plain value (no pointers) that
 * the engine can keep with the message's state and turn into the action
 * (pd_spf_decide) and the one header per message (pd_spf_header) whenever
 * it needs them.
 *
 * Identities: the HELO identity (postmaster@HELO, RFC 7208 2.3) is checked
 * when the sender is null and, with helo_always, for every message, and
 * first, as policyd-spf does: a HELO result that rejects ends the check.
 * The MAIL FROM identity is checked when there is a sender.  For the null
 * sender the HELO result is the result (RFC 7208 2.4).
 */
#ifndef POSTAGE_POLICY_SPF_H
#define POSTAGE_POLICY_SPF_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/base/dns.h"
#include "policy/base/netaddr.h"

/* The order is the one of RFC 7208 2.6 and of the enum's text names. */
enum pd_spf_result {
    PD_SPF_NONE = 0,
    PD_SPF_NEUTRAL,
    PD_SPF_PASS,
    PD_SPF_FAIL,
    PD_SPF_SOFTFAIL,
    PD_SPF_TEMPERROR,
    PD_SPF_PERMERROR
};

enum pd_spf_identity {
    PD_SPF_ID_NONE = 0,    /* nothing was checked (skipped)            */
    PD_SPF_ID_HELO,
    PD_SPF_ID_MAILFROM
};

/* Why no check was made. */
enum pd_spf_skip {
    PD_SPF_CHECKED = 0,
    PD_SPF_SKIP_LOCAL,          /* skip_addresses (loopback by default)  */
    PD_SPF_SKIP_CLIENT_LIST,    /* client_whitelist                      */
    PD_SPF_SKIP_DOMAIN_LIST,    /* domain_whitelist                      */
    PD_SPF_SKIP_NO_IDENTITY     /* null sender and no usable HELO, or a
                                 * client address that does not parse   */
};

/* policyd-spf's HELO_reject / Mail_From_reject. */
enum pd_spf_reject {
    PD_SPF_REJECT_FAIL = 0,     /* Fail (the default)                    */
    PD_SPF_REJECT_SOFTFAIL,     /* Fail and Softfail                     */
    PD_SPF_REJECT_NOT_PASS,     /* Fail, Softfail and Neutral            */
    PD_SPF_REJECT_NEVER         /* header only ("False")                 */
};

enum pd_spf_header_type {
    PD_SPF_HEADER_RECEIVED_SPF = 0,   /* Received-SPF: (RFC 7208 9.1)    */
    PD_SPF_HEADER_AUTH_RESULTS,       /* Authentication-Results: (8601)  */
    PD_SPF_HEADER_NONE
};

enum pd_spf_action {
    PD_SPF_ACT_ACCEPT = 0,  /* DUNNO: go on (the header is still added)  */
    PD_SPF_ACT_REJECT,      /* 5xx, text in the verdict                  */
    PD_SPF_ACT_DEFER        /* 4xx, text in the verdict                  */
};

#define PD_SPF_DOMAIN_MAX 254      /* a domain name and its NUL          */
#define PD_SPF_SENDER_MAX 320      /* local part 64 + @ + domain 253 ... */
#define PD_SPF_TEXT_MAX 256        /* comments and explanations          */
#define PD_SPF_REPLY_MAX 512       /* an SMTP reply line                 */
#define PD_SPF_HEADER_MAX 900      /* a header value (< 998 with name)   */

struct pd_spf_config {
    struct pd_dns *dns;            /* required; shared, not owned         */
    const char *receiver;          /* receiver= and the authserv-id;
                                    * default: gethostname()             */
    bool helo_always;              /* check HELO for every message       */
    enum pd_spf_reject helo_reject;
    enum pd_spf_reject mailfrom_reject;
    bool permerror_reject;         /* PermError_reject                   */
    bool temperror_defer;          /* TempError_Defer                    */
    enum pd_spf_header_type header_type;
    bool hide_receiver;            /* receiver=<UNKNOWN>                 */
    /* Lists, comma or space separated.  NULL or "": none. */
    const char *skip_addresses;    /* CIDRs never checked (spf_skip_addresses) */
    const char *client_whitelist;  /* CIDRs whose mail is not checked    */
    const char *domain_whitelist;  /* sender (or HELO, for the null
                                    * sender) domains, with subdomains   */
    unsigned check_timeout_ms;     /* a whole check (both identities);
                                    * 0: the module's own limit, as
                                    * pd_spf_config_init sets it       */
};

/* What one identity gave. */
struct pd_spf_id_result {
    bool checked;
    enum pd_spf_result result;
    char domain[PD_SPF_DOMAIN_MAX];          /* the domain checked         */
    char comment[PD_SPF_TEXT_MAX];           /* libspf2's header comment,
                                              * or ours: printable ASCII  */
    char explanation[PD_SPF_TEXT_MAX];       /* the domain's exp= text
                                              * (fail only), sanitised    */
    char problem[PD_SPF_TEXT_MAX];           /* for temperror/permerror   */
};

/* A check's result: a value, safe to copy and to keep. */
struct pd_spf_outcome {
    enum pd_spf_skip skip;
    enum pd_spf_identity decisive;           /* whose result counts        */
    enum pd_spf_result result;               /* = that identity's result   */
    struct pd_spf_id_result helo;
    struct pd_spf_id_result mailfrom;
    bool helo_rejected;                      /* HELO result ended it       */
    char client_ip[PD_NETADDR_TEXT_MAX];     /* canonical form             */
    char helo_name[PD_SPF_DOMAIN_MAX];       /* as given, bounded          */
    char sender[PD_SPF_SENDER_MAX];          /* "" = null sender           */
};

struct pd_spf_verdict {
    enum pd_spf_action action;
    char text[PD_SPF_REPLY_MAX];             /* "550 5.7.23 ..." or ""     */
};

struct pd_spf_checker;

/* Zero @cfg and fill in what is no setting: helo_reject and
 * mailfrom_reject (Fail, policyd-spf's default) and check_timeout_ms (15 s:
 * inside Postfix's milter_command_timeout, 30 s, and
 * smtpd_policy_service_timeout, 100 s).  The fields that are settings
 * (spf_helo_always, spf_permerror_reject, spf_temperror_defer, spf_header,
 * spf_skip_addresses, the whitelists) and dns and receiver are the
 * caller's: pd_settings_spf_config (policy/engine/settings.h) fills the
 * settings in from the settings table. */
void pd_spf_config_init(struct pd_spf_config *cfg);

/* NULL and a message in err on a bad list entry or no resolver. */
struct pd_spf_checker *pd_spf_new(const struct pd_spf_config *cfg,
                                  char *err, size_t errlen);
void pd_spf_free(struct pd_spf_checker *checker);

/*
 * Check a client.  client_address as Postfix sends it; helo may be NULL
 * or ""; sender "" or "<>" (or NULL) is the null sender, "<a@b>" is
 * accepted too.  Never fails: DNS trouble is a temperror, bad input a
 * skip or none.  Thread-safe: any number of checks may run at once on
 * one checker.
 */
void pd_spf_check(struct pd_spf_checker *checker, const char *client_address,
                  const char *helo, const char *sender,
                  struct pd_spf_outcome *out);

/* The action and reply text for an outcome (policyd-spf's defaults,
 * steered by the config). */
void pd_spf_decide(const struct pd_spf_checker *checker,
                   const struct pd_spf_outcome *outcome,
                   struct pd_spf_verdict *verdict);

/*
 * The trace header for an outcome, per the configured header type: its
 * name ("Received-SPF", "Authentication-Results", or "X-Comment" for a
 * skipped check, as policyd-spf adds) in *name, the value (one line, no
 * CR/LF, < PD_SPF_HEADER_MAX) in buf.  Returns false (and "") when no
 * header is to be added (header type none).
 */
bool pd_spf_header(const struct pd_spf_checker *checker,
                   const struct pd_spf_outcome *outcome,
                   const char **name, char *buf, size_t cap);

/* The two formats, whatever the config says. */
size_t pd_spf_format_received_spf(const struct pd_spf_checker *checker,
                                  const struct pd_spf_outcome *outcome,
                                  char *buf, size_t cap);
size_t pd_spf_format_auth_results(const struct pd_spf_checker *checker,
                                  const struct pd_spf_outcome *outcome,
                                  char *buf, size_t cap);

/* "pass", "fail"... (RFC 7208 lower case); and "Pass", "Fail"... */
const char *pd_spf_result_name(enum pd_spf_result result);
const char *pd_spf_result_title(enum pd_spf_result result);
bool pd_spf_result_parse(const char *text, enum pd_spf_result *result);
const char *pd_spf_skip_name(enum pd_spf_skip skip);

#endif
