/*
 * helo_check.c - the HELO module's whole check for one recipient
 * (pd_helo_check, policy/helo/helo.h): the syntax class, the DNS
 * outcomes, randomisation, then the per-test action table that turns them
 * into a verdict, a score, the reply text and the log reason.
 *
 * Why the choices in helo.h:
 *   - Reply codes follow Postfix, whose logs and admins know them:
 *     missing HELO 503 5.5.1 (smtpd_helo_required), malformed or bare IP
 *     501 5.5.2 (invalid_hostname_reject_code), single label 504 5.5.2
 *     (non_fqdn_reject_code), policy failures 554 5.7.1 (verdict.h's
 *     REJECT default), FCrDNS 550 5.7.25 (RFC 7372: reverse DNS
 *     validation failed).  Deferrals use 450 with the same detail and
 *     class 4.  Replies never echo the HELO (it is the client's text and
 *     may hold anything); the log reason shows it escaped.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy/helo/helo_internal.h"
#include "policy/state/state.h"

/* Reply code and enhanced status, permanent and temporary, per test. */
static void
test_codes(enum pd_helo_test t, const char **perm, const char **temp)
{
    switch (t) {
    case PD_HELO_TEST_MISSING:
        *perm = "503 5.5.1";
        *temp = "450 4.5.1";
        return;
    case PD_HELO_TEST_SYNTAX:
    case PD_HELO_TEST_BARE_IP:
        *perm = "501 5.5.2";
        *temp = "450 4.5.2";
        return;
    case PD_HELO_TEST_SINGLE_LABEL:
        *perm = "504 5.5.2";
        *temp = "450 4.5.2";
        return;
    case PD_HELO_TEST_FCRDNS:
        *perm = "550 5.7.25";
        *temp = "450 4.7.25";
        return;
    default:
        *perm = "554 5.7.1";
        *temp = "450 4.7.1";
        return;
    }
}

static void
format_text(const struct pd_helo_result *r, enum pd_helo_test t, int defer, int temporary,
            char *buf, size_t cap)
{
    const char *perm, *tmp, *code, *why;

    test_codes(t, &perm, &tmp);
    code = defer ? tmp : perm;
    switch (t) {
    case PD_HELO_TEST_MISSING: why = "none was sent"; break;
    case PD_HELO_TEST_SYNTAX: why = pd_helo_defect_text(r->parsed.defect); break;
    case PD_HELO_TEST_BARE_IP:
        why = "an IP address must be written as a literal such as [192.0.2.1]";
        break;
    case PD_HELO_TEST_SINGLE_LABEL: why = "not a fully qualified domain name"; break;
    case PD_HELO_TEST_LOCALHOST: why = "localhost is not a name another host may use"; break;
    case PD_HELO_TEST_OWN: why = "that is this server's own name or address"; break;
    case PD_HELO_TEST_LITERAL: why = "the address literal is not your address"; break;
    case PD_HELO_TEST_RESOLVE:
        why = temporary ? "temporary DNS failure looking up the name"
                        : "the name has no address (A/AAAA) record";
        break;
    case PD_HELO_TEST_MATCH:
        why = temporary ? "temporary DNS failure looking up the name"
                        : "the name does not resolve to your address";
        break;
    case PD_HELO_TEST_FCRDNS:
        /* About the client, not the HELO: Postfix's wording, RFC 7372's code. */
        snprintf(buf, cap, "%s Client host rejected; %s", code,
                 temporary ? "temporary DNS failure looking up your reverse DNS name"
                           : "your address has no forward-confirmed reverse DNS name");
        return;
    case PD_HELO_TEST_RANDOM: why = "too many different HELO names from your address"; break;
    default: why = "rejected"; break;
    }
    snprintf(buf, cap, "%s Invalid HELO/EHLO; %s", code, why);
}

/* The HELO for a log line: printable ASCII as is, the rest as \xNN, cut
 * at 96 input bytes. */
static void
escape_helo(const char *helo, char *buf, size_t cap)
{
    size_t i, w = 0;

    buf[0] = '\0';
    for (i = 0; helo[i] != '\0' && i < 96 && w + 5 < cap; i++) {
        unsigned char c = (unsigned char) helo[i];

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            buf[w++] = (char) c;
        } else {
            snprintf(buf + w, cap - w, "\\x%02x", c);
            w += 4;
        }
    }
    if (helo[i] != '\0' && w + 4 < cap) {
        memcpy(buf + w, "...", 3);
        w += 3;
    }
    buf[w] = '\0';
}

int
pd_helo_check(const struct pd_helo_config *cfg, struct pd_state *st, const char *helo,
              const struct pd_addr *client, const struct pd_helo_dns *dns, int64_t now,
              struct pd_helo_result *out)
{
    const struct pd_helo_rule *rule;
    enum pd_helo_test failed, t, first_reject = PD_HELO_TEST_COUNT,
        first_defer = PD_HELO_TEST_COUNT;
    char shown[400];
    int rc = PD_ST_OK, defer_temp = 0;

    if (out == NULL)
        return PD_ST_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->decided_by = PD_HELO_TEST_COUNT;
    out->verdict.action = PD_DUNNO;
    if (pd_helo_config_check(cfg, NULL, 0) != 0)
        return PD_ST_ERR_INVALID;
    rule = cfg->rule;
    if (helo == NULL)
        helo = "";
    if (!helo_addr_known(client))
        client = NULL;

    /* 1. Syntax and the local checks: one class per HELO. */
    out->syntax = pd_helo_syntax(helo, cfg, client, &out->parsed);
    failed = helo_syntax_test(out->syntax);
    if (failed != PD_HELO_TEST_COUNT) {
        out->outcome[failed] = PD_HELO_FAIL;
    } else if (out->syntax != PD_HELO_OK_LOCAL) {
        for (t = PD_HELO_TEST_MISSING; t <= PD_HELO_TEST_OWN; t++)
            out->outcome[t] = PD_HELO_PASS;
        if (out->syntax == PD_HELO_OK_LITERAL && client != NULL)
            out->outcome[PD_HELO_TEST_LITERAL] = PD_HELO_PASS;
    }

    /* 2. DNS, for a name only (a literal needs none; a self-connection
     * is not verified).  A name that does not resolve fails RESOLVE; it
     * fails MATCH too only when RESOLVE is off, so it is counted once. */
    if (dns != NULL && out->syntax == PD_HELO_OK_FQDN && dns->have_helo) {
        enum pd_helo_outcome res = pd_helo_dns_resolves(&dns->helo);

        out->outcome[PD_HELO_TEST_RESOLVE] = res;
        if (client != NULL) {
            if (res == PD_HELO_PASS)
                out->outcome[PD_HELO_TEST_MATCH] = pd_helo_dns_matches(&dns->helo, client);
            else if (rule[PD_HELO_TEST_RESOLVE].act == PD_HELO_ACT_OFF)
                out->outcome[PD_HELO_TEST_MATCH] = res;
        }
    }
    if (dns != NULL && dns->have_ptr && client != NULL && out->syntax != PD_HELO_OK_LOCAL)
        out->outcome[PD_HELO_TEST_FCRDNS] = pd_helo_dns_fcrdns(&dns->ptr, client);

    /* 3. Randomisation: every HELO counts, valid or not (randomisers
     * often send junk).  The store's failure leaves the other results. */
    if (rule[PD_HELO_TEST_RANDOM].act != PD_HELO_ACT_OFF && st != NULL && client != NULL
        && helo[0] != '\0' && out->syntax != PD_HELO_OK_LOCAL) {
        rc = pd_helo_track(st, cfg, client, helo, now, &out->distinct);
        if (rc == PD_ST_OK)
            out->outcome[PD_HELO_TEST_RANDOM] =
                out->distinct > cfg->random_limit ? PD_HELO_FAIL : PD_HELO_PASS;
    }

    /* 4. The action table. */
    for (t = PD_HELO_TEST_MISSING; t < PD_HELO_TEST_COUNT; t++) {
        enum pd_helo_act act = rule[t].act;

        if (act == PD_HELO_ACT_OFF) {
            out->outcome[t] = PD_HELO_NOT_RUN;
            continue;
        }
        if (out->outcome[t] == PD_HELO_FAIL) {
            out->score += rule[t].score;
            if (act == PD_HELO_ACT_REJECT && first_reject == PD_HELO_TEST_COUNT)
                first_reject = t;
            if (act == PD_HELO_ACT_DEFER && first_defer == PD_HELO_TEST_COUNT)
                first_defer = t;
        } else if (out->outcome[t] == PD_HELO_TEMP && act != PD_HELO_ACT_SCORE
                   && first_defer == PD_HELO_TEST_COUNT) {
            /* Doubt never rejects: REJECT and DEFER both defer. */
            first_defer = t;
            defer_temp = 1;
        }
    }
    if (first_reject != PD_HELO_TEST_COUNT) {
        out->verdict.action = PD_REJECT;
        out->decided_by = first_reject;
        format_text(out, first_reject, 0, 0, out->verdict.text, sizeof out->verdict.text);
    } else if (first_defer != PD_HELO_TEST_COUNT) {
        out->verdict.action = PD_DEFER;
        out->decided_by = first_defer;
        out->temporary = defer_temp;
        format_text(out, first_defer, 1, defer_temp, out->verdict.text, sizeof out->verdict.text);
    }

    escape_helo(helo, shown, sizeof shown);
    snprintf(out->reason, sizeof out->reason, "helo=\"%.120s\" class=%s%s%s%s test=%s score=%d",
             shown, pd_helo_syntax_name(out->syntax),
             out->syntax == PD_HELO_BAD_SYNTAX ? " (" : "",
             out->syntax == PD_HELO_BAD_SYNTAX ? pd_helo_defect_text(out->parsed.defect) : "",
             out->syntax == PD_HELO_BAD_SYNTAX ? ")" : "",
             out->decided_by == PD_HELO_TEST_COUNT ? "none" : pd_helo_test_name(out->decided_by),
             out->score);
    return rc;
}

