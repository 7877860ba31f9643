/*
 * spf.c - SPF checks (policy/checks/spf.h): libspf2 evaluates the records, over a
 * DNS layer of ours (an SPF_dns_server_t whose lookup calls pd_dns_lookup)
 * so that the resolver setting, the timeouts and the cache apply to SPF
 * too, and so that this file can enforce what libspf2 does not:
 *
 *  - one deadline for a whole check (both identities): every lookup made
 *    after it fails at once as a temporary error, so a check cannot
 *    outlive Postfix's policy or milter timeout however many lookups a
 *    record asks for;
 *  - RFC 7208 4.6.4's limit of 10 DNS-querying terms ACROSS includes and
 *    redirects (libspf2 counts per record, so a chain of includes of one
 *    term each was never stopped) and the limit of 2 void lookups;
 *  - no query for the obsolete SPF RR type 99 (libspf2 asks for it before
 *    TXT; RFC 7208 3.1 says not to).
 *
 * libspf2 state is per check: an SPF_server_t is created for each identity
 * checked (it is cheap: a gethostname() and two tiny records compiled),
 * with a DNS layer on the stack pointing at the check's counters.  Nothing
 * is shared between threads but the resolver (thread-safe) and the
 * checker's read-only config; the only global touched is libspf2's own
 * message-handler pointers, set once.
 *
 * Quirks of libspf2 1.2.10 handled here: its headers need <netinet/in.h>
 * first; a TXT lookup that fails temporarily for the top-level record
 * leaves the result INVALID with SPF_E_DNS_ERROR (we make it temperror);
 * a record that does not compile leaves it INVALID with SPF_E_NOT_SPF and
 * the compile error in the response's messages (we make it permerror, as
 * RFC 7208 4.6 requires); an exp= text with literal spaces (allowed by
 * RFC 7208 6.2) comes back half expanded (dropped); a loopback client always passes (our
 * skip_addresses catch loopback first); SPF_error() aborts the process on
 * internal assertion failures (out of memory), which we cannot change.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>

#include "policy/checks/spf.h"

#define SPF_TERM_LIMIT 10        /* RFC 7208 4.6.4 */
#define SPF_VOID_LIMIT 2         /* RFC 7208 4.6.4 */
#define MAX_TARGETS 32           /* MX/PTR names whose address lookups
                                  * are part of the term that found them */
#define LIST_MAX 64              /* entries in each list              */
/* A whole check's time limit, not a setting (spf.h, pd_spf_config_init,
 * says why 15 s). */
#define CHECK_TIMEOUT_MS 15000

struct pd_spf_checker {
    struct pd_spf_config cfg;    /* the list strings are not kept     */
    char receiver[PD_SPF_DOMAIN_MAX];
    struct pd_cidr skip[LIST_MAX];
    size_t nskip;
    struct pd_cidr clients[LIST_MAX];
    size_t nclients;
    char domains[LIST_MAX][PD_SPF_DOMAIN_MAX];
    size_t ndomains;
};

/* The counters of one identity's evaluation. */
struct check_ctx {
    struct pd_dns *dns;
    uint64_t deadline;
    unsigned terms, voids, txt_lookups;
    bool term_limit;             /* an 11th term was attempted         */
    bool term_limit_nontxt;      /* the 11th term was a/mx/ptr/exists */
    bool void_limit;
    bool deadline_hit;
    size_t ntargets;
    char targets[MAX_TARGETS][PD_DNS_NAME_MAX + 1];
};

/* ------------------------------------------------------------------ */
/* names and text                                                       */

/* snprintf for text that is MEANT to be cut at the bound (comments, reply
 * texts): one place, so -Wformat-truncation does not flag every call. */
static void fmt(char *buf, size_t cap, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, cap, f, ap);
    va_end(ap);
}

const char *
pd_spf_result_name(enum pd_spf_result r)
{
    static const char *const n[] = { "none", "neutral", "pass", "fail",
                                     "softfail", "temperror", "permerror" };
    return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : "none";
}

const char *
pd_spf_result_title(enum pd_spf_result r)
{
    static const char *const n[] = { "None", "Neutral", "Pass", "Fail",
                                     "Softfail", "Temperror", "Permerror" };
    return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : "None";
}

bool
pd_spf_result_parse(const char *text, enum pd_spf_result *r)
{
    for (int i = PD_SPF_NONE; i <= PD_SPF_PERMERROR; i++)
        if (strcasecmp(text, pd_spf_result_name((enum pd_spf_result)i)) == 0) {
            *r = (enum pd_spf_result)i;
            return true;
        }
    return false;
}

const char *
pd_spf_skip_name(enum pd_spf_skip s)
{
    switch (s) {
    case PD_SPF_CHECKED: return "checked";
    case PD_SPF_SKIP_LOCAL: return "local";
    case PD_SPF_SKIP_CLIENT_LIST: return "client-whitelist";
    case PD_SPF_SKIP_DOMAIN_LIST: return "domain-whitelist";
    case PD_SPF_SKIP_NO_IDENTITY: return "no-identity";
    }
    return "?";
}

/* Copy printable ASCII only (DNS-supplied text goes into SMTP replies and
 * headers: no CR, LF, NUL or 8-bit bytes), bounded, squeezing blanks. */
static void
sanitize(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (; src && *src && o + 1 < cap; src++) {
        unsigned char c = (unsigned char)*src;
        if (c == '\t' || c == '\r' || c == '\n')
            c = ' ';
        if (c < 0x20 || c > 0x7e)
            c = '?';
        if (c == ' ' && (o == 0 || dst[o - 1] == ' '))
            continue;
        dst[o++] = (char)c;
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

/* A multi-label domain name of LDH (and "_") labels (RFC 7208 4.3: other
 * names give "none" without a lookup). */
static bool
valid_domain(const char *d)
{
    size_t len = strlen(d), label = 0, labels = 0;
    if (len > 0 && d[len - 1] == '.')
        len--;
    if (len == 0 || len > PD_DNS_NAME_MAX)
        return false;
    bool all_digits_label = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return false;
            labels++;
            label = 0;
            all_digits_label = true;
            continue;
        }
        if (!(isalnum(c) || c == '-' || c == '_'))
            return false;
        if (label == 0 && c == '-')
            return false;
        if (!isdigit(c))
            all_digits_label = false;
        if (++label > 63)
            return false;
    }
    if (label == 0)
        return false;
    labels++;
    /* a dotted quad is an address, not a name */
    return labels >= 2 && !all_digits_label;
}

/* Does domain equal `list` or end in ".list"? */
static bool
domain_in(const char *domain, const char *list)
{
    size_t dl = strlen(domain), ll = strlen(list);
    if (dl == ll)
        return strcasecmp(domain, list) == 0;
    return dl > ll && domain[dl - ll - 1] == '.' &&
           strcasecmp(domain + dl - ll, list) == 0;
}

/* ------------------------------------------------------------------ */
/* the DNS layer libspf2 calls                                          */

static bool
is_target(const struct check_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->ntargets; i++)
        if (strcasecmp(c->targets[i], name) == 0)
            return true;
    return false;
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *server, const char *domain, ns_type rr_type,
             int should_cache)
{
    struct check_ctx *c = server->hook;
    enum pd_dns_type type;
    (void)should_cache;  /* our cache decides by TTL */

    switch (rr_type) {
    case ns_t_a: type = PD_DNS_A; break;
    case ns_t_aaaa: type = PD_DNS_AAAA; break;
    case ns_t_txt: type = PD_DNS_TXT; break;
    case ns_t_ptr: type = PD_DNS_PTR; break;
    case ns_t_mx: type = PD_DNS_MX; break;
    default:
        /* ns_t_spf (99) and anything else: "no such data", no query */
        return SPF_dns_rr_new_init(server, domain, rr_type, 0, NO_DATA);
    }

    /* RFC 7208 4.6.4 counting.  Not counted: the first TXT lookup (the
     * record itself) and address lookups of names an MX or PTR answer
     * gave (they belong to that mx/ptr term).  Over the limit, answer
     * "no such host": an include or redirect then ends in permerror by
     * libspf2's own rules; for a/mx/ptr/exists we remember to make the
     * result permerror afterwards.  An exp= TXT lookup past the limit
     * only loses its explanation, which is what RFC 7208 6.2 wants. */
    bool counted = true;
    if (type == PD_DNS_TXT && c->txt_lookups++ == 0)
        counted = false;
    if ((type == PD_DNS_A || type == PD_DNS_AAAA) && is_target(c, domain))
        counted = false;
    if (counted && ++c->terms > SPF_TERM_LIMIT) {
        c->term_limit = true;
        if (type != PD_DNS_TXT)
            c->term_limit_nontxt = true;
        return SPF_dns_rr_new_init(server, domain, rr_type, 0, HOST_NOT_FOUND);
    }
    if (pd_dns_now_ms() >= c->deadline) {
        c->deadline_hit = true;
        return SPF_dns_rr_new_init(server, domain, rr_type, 0, TRY_AGAIN);
    }

    struct pd_dns_answer *a = NULL;
    enum pd_dns_rcode rc = pd_dns_lookup(c->dns, domain, type, c->deadline, &a);
    int herrno;
    switch (rc) {
    case PD_DNS_NOERROR:
        herrno = a && a->count > 0 ? NETDB_SUCCESS : NO_DATA;
        break;
    case PD_DNS_NXDOMAIN:
    case PD_DNS_BADNAME:
        herrno = HOST_NOT_FOUND;
        break;
    default:
        herrno = TRY_AGAIN;
        if (rc == PD_DNS_TIMEOUT && pd_dns_now_ms() >= c->deadline)
            c->deadline_hit = true;
        break;
    }
    if (counted && type != PD_DNS_TXT && (herrno == NO_DATA || herrno == HOST_NOT_FOUND) &&
        ++c->voids > SPF_VOID_LIMIT)
        c->void_limit = true;

    SPF_dns_rr_t *rr = SPF_dns_rr_new_init(server, domain, rr_type,
                                           a ? (int)a->ttl : 0, herrno);
    if (!rr || herrno != NETDB_SUCCESS) {
        pd_dns_answer_free(a);
        return rr;
    }
    int n = 0;
    for (size_t i = 0; i < a->count; i++) {
        const struct pd_dns_rr *r = &a->rr[i];
        size_t need = r->text ? r->text_len + 1 : sizeof(SPF_dns_rr_data_t);
        if (SPF_dns_rr_buf_realloc(rr, n, need) != SPF_E_SUCCESS)
            break;
        switch (type) {
        case PD_DNS_A: memcpy(&rr->rr[n]->a, r->addr, 4); break;
        case PD_DNS_AAAA: memcpy(&rr->rr[n]->aaaa, r->addr, 16); break;
        default: memcpy(rr->rr[n]->txt, r->text, r->text_len + 1); break;
        }
        if ((type == PD_DNS_MX || type == PD_DNS_PTR) && c->ntargets < MAX_TARGETS)
            fmt(c->targets[c->ntargets++], sizeof c->targets[0], "%s", r->text);
        n++;
    }
    rr->num_rr = n;
    pd_dns_answer_free(a);
    return rr;
}

/* libspf2 prints warnings and infos on stdout/stderr by default, which a
 * daemon (and our probe's output) must not get; errors abort anyway. */
static void
quiet_handler(const char *file, int line, const char *msg)
{
    (void)file; (void)line; (void)msg;
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void
set_log_handlers(void)
{
    SPF_warning_handler = quiet_handler;
    SPF_info_handler = quiet_handler;
    SPF_debug_handler = quiet_handler;
}

/* ------------------------------------------------------------------ */
/* one identity                                                         */

static bool
has_other_errors(SPF_response_t *resp, SPF_errcode_t except)
{
    int n = SPF_response_messages(resp);
    for (int i = 0; i < n; i++) {
        SPF_error_t *e = SPF_response_message(resp, i);
        if (e && e->is_error && e->code != except && e->code != SPF_E_SUCCESS)
            return true;
    }
    return false;
}

static void
last_error_text(SPF_response_t *resp, char *buf, size_t cap)
{
    int n = SPF_response_messages(resp);
    for (int i = n - 1; i >= 0; i--) {
        SPF_error_t *e = SPF_response_message(resp, i);
        if (e && e->message) {
            sanitize(buf, cap, e->message);
            return;
        }
    }
    sanitize(buf, cap, SPF_strerror(SPF_response_errcode(resp)));
}

static void
run_identity(const struct pd_spf_checker *ck, struct check_ctx *ctx,
             const struct pd_addr *ip, const char *helo, const char *sender,
             bool helo_identity, struct pd_spf_id_result *r)
{
    ctx->terms = ctx->voids = ctx->txt_lookups = 0;
    ctx->term_limit = ctx->term_limit_nontxt = ctx->void_limit = false;
    ctx->ntargets = 0;

    r->checked = true;
    r->result = PD_SPF_TEMPERROR;

    SPF_dns_server_t layer;
    memset(&layer, 0, sizeof layer);
    layer.destroy = NULL;     /* ours, on the stack: libspf2 must not free it */
    layer.lookup = layer_lookup;
    layer.name = "postaged";
    layer.hook = ctx;

    SPF_server_t *srv = SPF_server_new_dns(&layer, 0);
    SPF_request_t *req = srv ? SPF_request_new(srv) : NULL;
    SPF_response_t *resp = NULL;
    if (!req) {
        fmt(r->problem, sizeof r->problem, "out of memory");
        goto out;
    }
    SPF_server_set_rec_dom(srv, ck->receiver);
    SPF_response_t *tmp = NULL;
    SPF_server_set_explanation(srv, "%{i}%_is%_not%_one%_of%_%{d}'s%_designated%_mail%_servers", &tmp);
    if (tmp)
        SPF_response_free(tmp);

    if (ip->family == PD_ADDR_V4) {
        struct in_addr a4;
        memcpy(&a4, ip->bytes, 4);
        SPF_request_set_ipv4(req, a4);
    } else {
        struct in6_addr a6;
        memcpy(&a6, ip->bytes, 16);
        SPF_request_set_ipv6(req, a6);
    }
    /* The HELO name first: with no envelope sender set yet libspf2 makes
     * it postmaster@HELO, which is the HELO identity (RFC 7208 2.3); the
     * MAIL FROM identity then replaces the sender, keeping %{h}. */
    if (helo && *helo)
        SPF_request_set_helo_dom(req, helo);
    if (!helo_identity)
        SPF_request_set_env_from(req, sender);

    SPF_errcode_t err = SPF_request_query_mailfrom(req, &resp);
    SPF_result_t res = resp ? SPF_response_result(resp) : SPF_RESULT_INVALID;
    switch (res) {
    case SPF_RESULT_PASS: r->result = PD_SPF_PASS; break;
    case SPF_RESULT_FAIL: r->result = PD_SPF_FAIL; break;
    case SPF_RESULT_SOFTFAIL: r->result = PD_SPF_SOFTFAIL; break;
    case SPF_RESULT_NEUTRAL: r->result = PD_SPF_NEUTRAL; break;
    case SPF_RESULT_NONE: r->result = PD_SPF_NONE; break;
    case SPF_RESULT_TEMPERROR: r->result = PD_SPF_TEMPERROR; break;
    case SPF_RESULT_PERMERROR: r->result = PD_SPF_PERMERROR; break;
    case SPF_RESULT_INVALID:
    default:
        /* libspf2 returned before deciding: see the header comment */
        if (err == SPF_E_DNS_ERROR)
            r->result = PD_SPF_TEMPERROR;
        else if (err == SPF_E_NOT_SPF && resp && !has_other_errors(resp, SPF_E_NOT_SPF))
            r->result = PD_SPF_NONE;
        else
            r->result = PD_SPF_PERMERROR;
        break;
    }
    if ((ctx->term_limit_nontxt ||
         (ctx->term_limit && r->result == PD_SPF_PERMERROR)) &&
        r->result != PD_SPF_TEMPERROR) {
        r->result = PD_SPF_PERMERROR;
        fmt(r->problem, sizeof r->problem,
                 "more than %d DNS-querying terms", SPF_TERM_LIMIT);
    } else if (ctx->void_limit && r->result != PD_SPF_TEMPERROR) {
        r->result = PD_SPF_PERMERROR;
        fmt(r->problem, sizeof r->problem,
                 "more than %d void DNS lookups", SPF_VOID_LIMIT);
    } else if (r->result == PD_SPF_TEMPERROR && ctx->deadline_hit) {
        fmt(r->problem, sizeof r->problem, "SPF check took too long");
    } else if (r->result == PD_SPF_TEMPERROR || r->result == PD_SPF_PERMERROR) {
        if (resp)
            last_error_text(resp, r->problem, sizeof r->problem);
        if (r->problem[0] == '\0')
            fmt(r->problem, sizeof r->problem, "%s",
                     r->result == PD_SPF_TEMPERROR ? "DNS failure" : "invalid SPF record");
    }
    if (resp) {
        const char *hc = SPF_response_get_header_comment(resp);
        /* libspf2's comment describes ITS result; when we changed the
         * result, write our own */
        if (hc && r->problem[0] == '\0')
            sanitize(r->comment, sizeof r->comment, hc);
        if (r->result == PD_SPF_FAIL) {
            const char *ex = SPF_response_get_explanation(resp);
            /* libspf2 1.2.10 does not take RFC 7208's literal spaces in
             * an explanation: it leaves "%" and unexpanded "%{x}" behind.
             * Such text is garbage to the reader: drop it. */
            if (ex && strstr(ex, "%{") == NULL)
                sanitize(r->explanation, sizeof r->explanation, ex);
        }
    }
out:
    if (r->comment[0] == '\0')
        fmt(r->comment, sizeof r->comment, "%s: %s%s%s", ck->receiver,
                 pd_spf_result_name(r->result), r->problem[0] ? ": " : "", r->problem);
    if (resp)
        SPF_response_free(resp);
    if (req)
        SPF_request_free(req);
    if (srv)
        SPF_server_free(srv);
}

/* ------------------------------------------------------------------ */
/* checker                                                              */

void
pd_spf_config_init(struct pd_spf_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->helo_reject = PD_SPF_REJECT_FAIL;
    cfg->mailfrom_reject = PD_SPF_REJECT_FAIL;
    cfg->check_timeout_ms = CHECK_TIMEOUT_MS;
}

static bool
parse_cidrs(const char *list, struct pd_cidr *out, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    for (const char *p = list; p && *p;) {
        p += strspn(p, ", \t");
        size_t l = strcspn(p, ", \t");
        if (l == 0)
            break;
        if (*n == LIST_MAX) {
            fmt(err, errlen, "more than %d entries in an SPF address list", LIST_MAX);
            return false;
        }
        enum pd_netaddr_status st = pd_cidr_parse(p, l, PD_CIDR_ALLOW_HOST_BITS, &out[*n]);
        if (st != PD_NETADDR_OK) {
            fmt(err, errlen, "bad SPF address list entry \"%.*s\": %s",
                     (int)(l > 64 ? 64 : l), p, pd_netaddr_strerror(st));
            return false;
        }
        (*n)++;
        p += l;
    }
    return true;
}

struct pd_spf_checker *
pd_spf_new(const struct pd_spf_config *cfg, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (!cfg->dns) {
        fmt(err, errlen, "SPF needs a resolver");
        return NULL;
    }
    struct pd_spf_checker *ck = calloc(1, sizeof *ck);
    if (!ck) {
        fmt(err, errlen, "out of memory");
        return NULL;
    }
    ck->cfg = *cfg;
    ck->cfg.receiver = ck->cfg.skip_addresses = NULL;
    ck->cfg.client_whitelist = ck->cfg.domain_whitelist = NULL;
    if (ck->cfg.check_timeout_ms == 0)
        ck->cfg.check_timeout_ms = CHECK_TIMEOUT_MS;

    const char *recv = cfg->receiver;
    char host[256] = "";
    if (!recv || !*recv) {
        if (gethostname(host, sizeof host - 1) != 0 || !host[0])
            fmt(host, sizeof host, "localhost");
        recv = host;
    }
    sanitize(ck->receiver, sizeof ck->receiver, recv);

    if (!parse_cidrs(cfg->skip_addresses, ck->skip, &ck->nskip, err, errlen) ||
        !parse_cidrs(cfg->client_whitelist, ck->clients, &ck->nclients, err, errlen)) {
        free(ck);
        return NULL;
    }
    for (const char *p = cfg->domain_whitelist; p && *p;) {
        p += strspn(p, ", \t");
        size_t l = strcspn(p, ", \t");
        if (l == 0)
            break;
        char d[PD_SPF_DOMAIN_MAX];
        if (l >= sizeof d || ck->ndomains == LIST_MAX) {
            fmt(err, errlen, "SPF domain whitelist: entry too long or too many");
            free(ck);
            return NULL;
        }
        memcpy(d, p, l);
        d[l] = '\0';
        if (d[l - 1] == '.')
            d[l - 1] = '\0';
        if (!valid_domain(d)) {
            fmt(err, errlen, "SPF domain whitelist: bad domain \"%s\"", d);
            free(ck);
            return NULL;
        }
        fmt(ck->domains[ck->ndomains++], PD_SPF_DOMAIN_MAX, "%s", d);
        p += l;
    }
    pthread_once(&log_once, set_log_handlers);
    return ck;
}

void
pd_spf_free(struct pd_spf_checker *ck)
{
    free(ck);
}

/* Does this identity's result reject under mode? */
static bool
result_rejects(enum pd_spf_result r, enum pd_spf_reject mode)
{
    switch (r) {
    case PD_SPF_FAIL: return mode != PD_SPF_REJECT_NEVER;
    case PD_SPF_SOFTFAIL: return mode == PD_SPF_REJECT_SOFTFAIL || mode == PD_SPF_REJECT_NOT_PASS;
    case PD_SPF_NEUTRAL: return mode == PD_SPF_REJECT_NOT_PASS;
    default: return false;
    }
}

static enum pd_spf_action
identity_action(const struct pd_spf_checker *ck, enum pd_spf_identity id,
                enum pd_spf_result r)
{
    enum pd_spf_reject mode = id == PD_SPF_ID_HELO ? ck->cfg.helo_reject
                                                   : ck->cfg.mailfrom_reject;
    if (result_rejects(r, mode))
        return PD_SPF_ACT_REJECT;
    if (r == PD_SPF_TEMPERROR && ck->cfg.temperror_defer)
        return PD_SPF_ACT_DEFER;
    if (r == PD_SPF_PERMERROR && ck->cfg.permerror_reject)
        return PD_SPF_ACT_REJECT;
    return PD_SPF_ACT_ACCEPT;
}

void
pd_spf_check(struct pd_spf_checker *ck, const char *client_address,
             const char *helo, const char *sender, struct pd_spf_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->result = PD_SPF_NONE;

    /* the sender: "", "<>", "<a@b>", "a@b"; over-long ones are not ours
     * to check (Postfix would not pass them) */
    char snd[PD_SPF_SENDER_MAX] = "";
    if (sender) {
        size_t l = strnlen(sender, PD_SPF_SENDER_MAX + 2);
        if (l >= 2 && sender[0] == '<' && sender[l - 1] == '>') {
            sender++;
            l -= 2;
        }
        if (l < sizeof snd) {
            memcpy(snd, sender, l);
            snd[l] = '\0';
        }
    }
    sanitize(out->sender, sizeof out->sender, snd);
    sanitize(out->helo_name, sizeof out->helo_name, helo ? helo : "");

    struct pd_addr ip;
    if (!client_address ||
        pd_addr_parse(client_address, strnlen(client_address, PD_NETADDR_TEXT_MAX + 1), &ip) != PD_NETADDR_OK) {
        out->skip = PD_SPF_SKIP_NO_IDENTITY;
        return;
    }
    pd_addr_format(&ip, out->client_ip, sizeof out->client_ip);

    for (size_t i = 0; i < ck->nskip; i++)
        if (pd_cidr_match(&ck->skip[i], &ip)) {
            out->skip = PD_SPF_SKIP_LOCAL;
            return;
        }
    for (size_t i = 0; i < ck->nclients; i++)
        if (pd_cidr_match(&ck->clients[i], &ip)) {
            out->skip = PD_SPF_SKIP_CLIENT_LIST;
            return;
        }

    bool null_sender = out->sender[0] == '\0';
    const char *at = strrchr(out->sender, '@');
    const char *sdomain = null_sender ? out->helo_name : (at ? at + 1 : out->sender);
    for (size_t i = 0; i < ck->ndomains; i++)
        if (*sdomain && domain_in(sdomain, ck->domains[i])) {
            out->skip = PD_SPF_SKIP_DOMAIN_LIST;
            return;
        }

    /* HELO: an address literal or a non-FQDN is not an identity (RFC
     * 7208 2.3); the check is made only for a usable name. */
    bool helo_ok = out->helo_name[0] && valid_domain(out->helo_name);
    struct check_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        out->skip = PD_SPF_SKIP_NO_IDENTITY;
        return;
    }
    ctx->dns = ck->cfg.dns;
    ctx->deadline = pd_dns_now_ms() + ck->cfg.check_timeout_ms;

    if (helo_ok && (null_sender || ck->cfg.helo_always)) {
        fmt(out->helo.domain, sizeof out->helo.domain, "%s", out->helo_name);
        run_identity(ck, ctx, &ip, out->helo_name, NULL, true, &out->helo);
        if (identity_action(ck, PD_SPF_ID_HELO, out->helo.result) != PD_SPF_ACT_ACCEPT) {
            /* as policyd-spf: a HELO result that rejects (or defers)
             * decides, and MAIL FROM is not looked at */
            out->helo_rejected = true;
            out->decisive = PD_SPF_ID_HELO;
            out->result = out->helo.result;
            free(ctx);
            return;
        }
    }
    if (!null_sender) {
        fmt(out->mailfrom.domain, sizeof out->mailfrom.domain, "%s", sdomain);
        /* "@domain" is fine: libspf2 makes it postmaster@domain, as
         * RFC 7208 4.3 says for an empty local part */
        if (valid_domain(sdomain)) {
            run_identity(ck, ctx, &ip, helo_ok ? out->helo_name : NULL, out->sender,
                         false, &out->mailfrom);
        } else {
            /* RFC 7208 4.3: a malformed domain is "none", no lookup */
            out->mailfrom.checked = true;
            out->mailfrom.result = PD_SPF_NONE;
            fmt(out->mailfrom.comment, sizeof out->mailfrom.comment,
                     "%s: no valid domain in the sender", ck->receiver);
        }
        out->decisive = PD_SPF_ID_MAILFROM;
        out->result = out->mailfrom.result;
    } else if (out->helo.checked) {
        out->decisive = PD_SPF_ID_HELO;
        out->result = out->helo.result;
    } else {
        out->skip = PD_SPF_SKIP_NO_IDENTITY;
    }
    free(ctx);
}

/* ------------------------------------------------------------------ */
/* verdict and headers                                                  */

static const struct pd_spf_id_result *
decisive_id(const struct pd_spf_outcome *o)
{
    return o->decisive == PD_SPF_ID_HELO ? &o->helo : &o->mailfrom;
}

void
pd_spf_decide(const struct pd_spf_checker *ck, const struct pd_spf_outcome *o,
              struct pd_spf_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (o->skip != PD_SPF_CHECKED || o->decisive == PD_SPF_ID_NONE)
        return;
    const struct pd_spf_id_result *id = decisive_id(o);
    const char *idname = o->decisive == PD_SPF_ID_HELO ? "helo" : "mailfrom";
    const char *who = o->decisive == PD_SPF_ID_HELO ? o->helo_name : o->sender;
    v->action = identity_action(ck, o->decisive, o->result);
    switch (v->action) {
    case PD_SPF_ACT_ACCEPT:
        break;
    case PD_SPF_ACT_DEFER:
        fmt(v->text, sizeof v->text,
                 "451 4.7.24 Message deferred due to: SPF temperror - "
                 "temporary error checking %s (identity=%s; ip=%s; problem: %s). "
                 "Please try again later",
                 id->domain, idname, o->client_ip, id->problem);
        break;
    case PD_SPF_ACT_REJECT:
        if (o->result == PD_SPF_PERMERROR)
            fmt(v->text, sizeof v->text,
                     "550 5.7.24 Message rejected due to: SPF permerror - "
                     "the SPF record of %s is unusable (%s; identity=%s; ip=%s)",
                     id->domain, id->problem, idname, o->client_ip);
        else
            fmt(v->text, sizeof v->text,
                     "550 5.7.23 Message rejected due to: SPF %s - %s is not "
                     "authorized to send mail as %s (identity=%s; domain=%s)%s%s",
                     pd_spf_result_name(o->result), o->client_ip,
                     who[0] ? who : "<>", idname, id->domain,
                     id->explanation[0] ? ": " : "", id->explanation);
        break;
    }
    /* every part is sanitised already; make sure of the bound */
    char tmp[PD_SPF_REPLY_MAX];
    sanitize(tmp, sizeof tmp, v->text);
    memcpy(v->text, tmp, sizeof tmp);
}

/* RFC 5322 atext */
static bool
is_atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_dot_atom(const char *s)
{
    if (!*s || *s == '.')
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (p[1] == '.' || p[1] == '\0')
                return false;
        } else if (!is_atext((unsigned char)*p)) {
            return false;
        }
    }
    return true;
}

/* Append to buf: fmt-free helpers that never overflow. */
struct sb {
    char *buf;
    size_t cap, len;
};

static void
sb_add(struct sb *b, const char *s)
{
    for (; *s && b->len + 1 < b->cap; s++)
        b->buf[b->len++] = *s;
    b->buf[b->len] = '\0';
}

/* a dot-atom as is, anything else as a quoted-string (RFC 5322 3.2.4) */
static void
sb_value(struct sb *b, const char *v)
{
    if (is_dot_atom(v)) {
        sb_add(b, v);
        return;
    }
    sb_add(b, "\"");
    for (const char *p = v; *p; p++) {
        char c[3] = { 0 };
        if (*p == '"' || *p == '\\') {
            c[0] = '\\';
            c[1] = *p;
        } else {
            c[0] = *p;
        }
        sb_add(b, c);
    }
    sb_add(b, "\"");
}

/* An address for RFC 8601's pvalue: local-part@domain with the local
 * part quoted unless it is a dot-atom. */
static void
sb_address(struct sb *b, const char *addr)
{
    const char *at = strrchr(addr, '@');
    if (!at) {
        sb_value(b, addr);
        return;
    }
    char local[PD_SPF_SENDER_MAX];
    fmt(local, sizeof local, "%.*s", (int)(at - addr), addr);
    if (local[0])
        sb_value(b, local);
    sb_add(b, "@");
    sb_value(b, at + 1);
}

size_t
pd_spf_format_received_spf(const struct pd_spf_checker *ck,
                           const struct pd_spf_outcome *o, char *buf, size_t cap)
{
    struct sb b = { buf, cap, 0 };
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (o->skip != PD_SPF_CHECKED || o->decisive == PD_SPF_ID_NONE)
        return 0;
    const struct pd_spf_id_result *id = decisive_id(o);
    const char *idname = o->decisive == PD_SPF_ID_HELO ? "helo" : "mailfrom";
    /* RFC 7208 9.1: result, comment, then key=value pairs; policyd-spf's
     * order and capitalised result */
    sb_add(&b, pd_spf_result_title(o->result));
    sb_add(&b, " (");
    sb_add(&b, idname);
    sb_add(&b, ") identity=");
    sb_add(&b, idname);
    sb_add(&b, "; client-ip=");
    sb_value(&b, o->client_ip);
    if (o->helo_name[0]) {
        sb_add(&b, "; helo=");
        sb_value(&b, o->helo_name);
    }
    sb_add(&b, "; envelope-from=");
    sb_value(&b, o->sender[0] ? o->sender : "<>");
    sb_add(&b, "; receiver=");
    sb_value(&b, ck->cfg.hide_receiver ? "<UNKNOWN>" : ck->receiver);
    if ((o->result == PD_SPF_TEMPERROR || o->result == PD_SPF_PERMERROR) && id->problem[0]) {
        sb_add(&b, "; problem=");
        sb_value(&b, id->problem);
    }
    sb_add(&b, ";");
    return b.len;
}

static const char *
ar_comment(enum pd_spf_result r)
{
    switch (r) {
    case PD_SPF_PASS: return "sender SPF authorized";
    case PD_SPF_FAIL: return "SPF fail - not authorized";
    case PD_SPF_SOFTFAIL: return "transitional SPF fail";
    case PD_SPF_NEUTRAL: return "SPF neutral";
    case PD_SPF_NONE: return "no SPF record";
    case PD_SPF_TEMPERROR: return "temporary SPF error";
    case PD_SPF_PERMERROR: return "permanent SPF error";
    }
    return "";
}

static void
ar_resinfo(struct sb *b, const struct pd_spf_outcome *o, enum pd_spf_identity which)
{
    const struct pd_spf_id_result *id = which == PD_SPF_ID_HELO ? &o->helo : &o->mailfrom;
    sb_add(b, "; spf=");
    sb_add(b, pd_spf_result_name(id->result));
    sb_add(b, " (");
    sb_add(b, ar_comment(id->result));
    sb_add(b, ") ");
    if (which == PD_SPF_ID_HELO) {
        sb_add(b, "smtp.helo=");
        sb_value(b, o->helo_name);
    } else {
        sb_add(b, "smtp.mailfrom=");
        sb_address(b, o->sender);
    }
}

size_t
pd_spf_format_auth_results(const struct pd_spf_checker *ck,
                           const struct pd_spf_outcome *o, char *buf, size_t cap)
{
    struct sb b = { buf, cap, 0 };
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (o->skip != PD_SPF_CHECKED || o->decisive == PD_SPF_ID_NONE)
        return 0;
    sb_value(&b, ck->receiver);  /* authserv-id */
    ar_resinfo(&b, o, o->decisive);
    /* the other identity too when both were checked (helo_always) */
    if (o->decisive == PD_SPF_ID_MAILFROM && o->helo.checked)
        ar_resinfo(&b, o, PD_SPF_ID_HELO);
    return b.len;
}

bool
pd_spf_header(const struct pd_spf_checker *ck, const struct pd_spf_outcome *o,
              const char **name, char *buf, size_t cap)
{
    *name = "";
    if (cap)
        buf[0] = '\0';
    if (ck->cfg.header_type == PD_SPF_HEADER_NONE || cap == 0)
        return false;
    if (o->skip == PD_SPF_SKIP_NO_IDENTITY)
        return false;
    if (o->skip != PD_SPF_CHECKED) {
        /* policyd-spf's trace of a skipped check */
        struct sb b = { buf, cap, 0 };
        *name = "X-Comment";
        sb_add(&b, o->skip == PD_SPF_SKIP_LOCAL
                       ? "SPF check N/A for local connections - client-ip="
                       : "SPF skipped for whitelisted relay - client-ip=");
        sb_value(&b, o->client_ip);
        if (o->helo_name[0]) {
            sb_add(&b, "; helo=");
            sb_value(&b, o->helo_name);
        }
        sb_add(&b, "; envelope-from=");
        sb_value(&b, o->sender[0] ? o->sender : "<>");
        sb_add(&b, "; receiver=");
        sb_value(&b, ck->cfg.hide_receiver ? "<UNKNOWN>" : ck->receiver);
        return true;
    }
    if (ck->cfg.header_type == PD_SPF_HEADER_AUTH_RESULTS) {
        *name = "Authentication-Results";
        return pd_spf_format_auth_results(ck, o, buf, cap) > 0;
    }
    *name = "Received-SPF";
    return pd_spf_format_received_spf(ck, o, buf, cap) > 0;
}
