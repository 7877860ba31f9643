/*
 * access.h - postaged's access-control module: a static list of rules,
 * each giving a fixed verdict to mail whose client, HELO, sender,
 * recipient or SASL user matches a pattern (PolicyD v2's AccessControl,
 * shared/spec/mail-policy.md section 3, in the form of one text line per
 * rule).
 *
 * A rule is `<selector> <pattern> <ACTION> [text]`:
 *
 *   client      192.0.2.0/24, 192.0.2.7, 2001:db8::/32, ::1
 *               (an address is a /32 or /128; ::ffff:a.b.c.d is IPv4;
 *               IPv4 rules never match IPv6 clients and vice versa)
 *   client_name example.org   the name and every subdomain of it
 *                             (mx.example.org, not badexample.org)
 *               .example.org  subdomains only ("*.example.org" too)
 *               unknown       also matches Postfix's "no verified name"
 *   helo        as client_name, plus: "=text" matches the HELO exactly
 *               (case-insensitive); an address or [address] literal is
 *               always an exact match; "<>" matches an empty HELO
 *   sender      user@example.org  that address
 *               @example.org      any user at exactly that domain
 *               @.example.org     any user at a subdomain of it
 *               user@             that local part at any domain (an
 *                                 address without '@' is all local part)
 *               <>                the null sender
 *   recipient   as sender ("<>" matches an empty recipient, which Postfix
 *               sends at DATA when there was more than one)
 *   sasl_user   name   exactly that SASL username (case-sensitive)
 *               -      not authenticated
 *
 * Names and addresses compare ASCII-case-insensitively, and one trailing
 * dot of a hostname is ignored.  ACTION is one of pd_action_parse's words;
 * text (REJECT, DEFER, HOLD and DISCARD only) may begin with an SMTP code
 * of the action's class: "REJECT 550 5.7.1 Go away".
 *
 * Rules are tried in order and the first match decides; the cost is
 * O(rules) per evaluation, which is right for hand-written static lists
 * (bounded by PD_ACCESS_RULES_MAX).  Large or changing lists belong in a
 * table lookup instead.
 */
#ifndef POSTAGE_POLICY_ACCESS_H
#define POSTAGE_POLICY_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/base/netaddr.h"
#include "policy/frontends/request.h"
#include "policy/checks/verdict.h"

/* RFC 5321: a path is at most 256 octets, so an address fits in 254. */
#define PD_ACCESS_PATTERN_MAX 256
#define PD_ACCESS_RULES_MAX 100000
#define PD_ACCESS_ERROR_MAX 200

enum pd_access_selector {
    PD_SEL_CLIENT = 0,
    PD_SEL_CLIENT_NAME,
    PD_SEL_HELO,
    PD_SEL_SENDER,
    PD_SEL_RECIPIENT,
    PD_SEL_SASL_USER
};

/* How a rule's pattern is compared; set by pd_access_rule_parse. */
enum pd_access_form {
    PD_FORM_CIDR,            /* client                                    */
    PD_FORM_DOMAIN,          /* the name and its subdomains               */
    PD_FORM_SUBDOMAINS,      /* strict subdomains of the name             */
    PD_FORM_EXACT,           /* case-insensitive equality                 */
    PD_FORM_EXACT_CASE,      /* byte equality (sasl_user)                 */
    PD_FORM_EMPTY,           /* the value is empty ("<>", "-")            */
    PD_FORM_ADDRESS,         /* user@domain                               */
    PD_FORM_ADDR_DOMAIN,     /* @domain                                   */
    PD_FORM_ADDR_SUBDOMAINS, /* @.domain                                  */
    PD_FORM_ADDR_LOCAL       /* user@                                     */
};

struct pd_access_rule {
    enum pd_access_selector selector;
    enum pd_access_form form;
    struct pd_cidr network;                 /* PD_FORM_CIDR only          */
    char pattern[PD_ACCESS_PATTERN_MAX + 1];/* normalised, without the
                                               '.', '@' or '=' markers    */
    size_t pattern_len;
    struct pd_verdict verdict;
    unsigned line;   /* where the rule came from; the loader sets it     */
};

enum pd_access_parse_result {
    PD_ACCESS_ERROR = -1,   /* err says what is wrong                     */
    PD_ACCESS_RULE = 0,     /* *rule is filled                            */
    PD_ACCESS_BLANK = 1     /* empty line or '#' comment: nothing to add  */
};

/*
 * Parse one rule line (NUL-terminated; a trailing CR/LF is ignored).  On
 * error, err receives a message naming the problem and the offending word
 * (e.g. "unknown selector \"clinet\" (expected client, client_name, helo,
 * sender, recipient or sasl_user)"), for the loader to prefix with the file
 * and line number.  err may be NULL; rule->line is set to 0.
 */
enum pd_access_parse_result pd_access_rule_parse(const char *line,
                                                 struct pd_access_rule *rule,
                                                 char *err, size_t err_cap);

/* Name of a selector as written in rules ("client_name"). */
const char *pd_access_selector_name(enum pd_access_selector selector);

struct pd_access_list {
    struct pd_access_rule *rules;
    size_t count;
    size_t capacity;
};

void pd_access_list_init(struct pd_access_list *list);

/* Append a copy of rule.  Returns 0, or -1 when memory runs out or the
 * list already holds PD_ACCESS_RULES_MAX rules (the list is unchanged). */
int pd_access_list_append(struct pd_access_list *list,
                          const struct pd_access_rule *rule);

void pd_access_list_free(struct pd_access_list *list);

/*
 * What a rule is matched against: the request's fields, independent of
 * the front-end so the milter can fill it too.  NULL reads as "".
 * sender "" is the null sender (as Postfix sends it; "<>" is accepted too).
 */
struct pd_access_subject {
    const char *client_address;
    const char *client_name;
    const char *helo_name;
    const char *sender;
    const char *recipient;
    const char *sasl_username;
};

/* The subject of a request-like struct that has the six fields under the
 * same names (struct pd_request here, the engine's struct pd_query): the
 * one list of which request field is matched as which. */
#define PD_ACCESS_SUBJECT_OF(r)                                                            \
    ((struct pd_access_subject) {                                                          \
        .client_address = (r)->client_address, .client_name = (r)->client_name,            \
        .helo_name = (r)->helo_name, .sender = (r)->sender, .recipient = (r)->recipient,   \
        .sasl_username = (r)->sasl_username })

void pd_access_subject_from_request(const struct pd_request *request,
                                    struct pd_access_subject *subject);

/*
 * Is `name` (name_len bytes; a trailing root dot is ignored) the domain
 * `domain` itself (only when itself_too) or a name below it?  ASCII case
 * is ignored; an empty name or domain matches nothing.  The one
 * domain-suffix rule: access rules (.example.org, example.org) and the
 * greylisting client whitelist both use it.
 */
bool pd_domain_matches(const char *name, size_t name_len, const char *domain,
                       size_t domain_len, bool itself_too);

/*
 * Copy the verdict of the first rule that matches into *verdict and return
 * its index, or set PD_DUNNO with empty text and return -1 when none does.
 * A client_address that is not an address matches no client rule.
 */
long pd_access_evaluate(const struct pd_access_list *list,
                        const struct pd_access_subject *subject,
                        struct pd_verdict *verdict);

#endif
