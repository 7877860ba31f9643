/*
 * engine.c - postaged's decisions: the module chain behind both
 * front-ends.
 *
 * Order for a recipient (RCPT): access control, HELO checks, SPF,
 * greylisting, quotas (PolicyD's order).  The first terminal verdict ends
 * the chain.  The HELO and SPF checks are made once per message, at its
 * first recipient that gets past access control; the result is kept in
 * struct pd_txn and its verdict applied to every recipient.
 *
 * Trace headers (the SPF header, X-Greylist) are queued in struct pd_txn,
 * each once per message, and handed out one per accepted recipient (the
 * policy protocol allows one PREPEND per reply; DATA also takes one), the
 * SPF header first; the milter adds whatever is left at end of message.  At END-OF-MESSAGE the message is
 * checked against size limits and then counted once, with its real size;
 * recipient-keyed quotas count each accepted recipient at RCPT instead,
 * since the recipients are not all known at the end.  A message seen by
 * both front-ends (policy server and milter on one Postfix) is counted by
 * whichever gets there first: the queue id is remembered in the store.
 *
 * An engine is read-only once built; the slot at the bottom lets a reload
 * swap in a new one while threads finish with the old.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "policy/base/escape.h"
#include "policy/checks/access.h"
#include "policy/engine/argon2id_pool.h"
#include "policy/engine/engine.h"
#include "policy/checks/greylist.h"
#include "policy/helo/helo.h"
#include "policy/helo/helo_dns.h"
#include "policy/base/log.h"
#include "policy/base/netaddr.h"
#include "policy/checks/quota.h"
#include "policy/engine/rep_writer.h"
#include "policy/checks/reputation.h"
#include "policy/checks/spf.h"
#include "policy/state/state.h"
#include "postage/argon2id.h"
#include "postage/clock.h"
#include "postage/status.h"
#include "postage/verify.h"

#define ACCOUNTED_TTL 86400   /* a queue id is not reused within a day */

struct whitelist_client {
    int is_network;
    struct pd_cidr network;
    char domain[256];
};

struct pd_engine {
    int refs;                          /* atomic */
    struct pd_state *state;            /* NULL: validation only */
    int tempfail_on_error;
    char hostname[256];

    struct pd_access_list access;

    int helo_on;
    struct pd_helo_config helo;
    char **helo_names;                     /* storage for helo.own_names */
    size_t n_helo_names;
    int helo_dns;                          /* a DNS test can defer or reject */

    struct pd_dns *dns;                    /* HELO and SPF lookups */
    int spf_on;
    struct pd_spf_checker *spf;

    int greylist;
    struct pd_greylist_config gl;
    unsigned v4_prefix, v6_prefix;
    int gl_header;
    char gl_text[512];
    struct whitelist_client *wl_clients;
    size_t n_wl_clients;
    struct pd_access_list wl_recipients;   /* recipient rules, verdict unused */

    struct pd_quota *quotas;
    char **quota_names;                    /* storage for quotas[i].name/text */
    char **quota_texts;
    size_t n_quotas;

    /* postage */
    int postage;
    int milter_on;                         /* the milter front-end is configured */
    struct pd_rep_params rep;
    int over_cap_reject;
    int64_t stamp_validity, stamp_grace;
    int trace_header;
    unsigned kinds;                        /* POSTAGE_KIND_* accepted */
    struct postage_argon2id_params a2id_max;
    unsigned a2id_min_bits, a2id_per_message;
    double sha1_rate, a2id_rate;
    struct pd_a2id_pool *a2id_pool;        /* made when Argon2id is accepted */
    postage_store *stamps;                 /* pd_engine_attach */
    struct pd_rep_writer *writer;
};

/* ---- building -------------------------------------------------------- */

static void
engine_free(struct pd_engine *e)
{
    pd_access_list_free(&e->access);
    pd_spf_free(e->spf);
    if (e->dns != NULL)
        pd_dns_free(e->dns);
    for (size_t i = 0; i < e->n_helo_names; i++)
        free(e->helo_names[i]);
    free(e->helo_names);
    pd_access_list_free(&e->wl_recipients);
    free(e->wl_clients);
    for (size_t i = 0; i < e->n_quotas; i++) {
        free(e->quota_names[i]);
        free(e->quota_texts[i]);
    }
    free(e->quotas);
    free(e->quota_names);
    free(e->quota_texts);
    pd_a2id_pool_free(e->a2id_pool);
    free(e);
}

static int
load_access(struct pd_engine *e, const struct pd_list *l, const char *file, char *err,
            size_t errlen)
{
    for (size_t i = 0; i < l->count; i++) {
        struct pd_access_rule rule;
        char why[PD_ACCESS_ERROR_MAX];
        enum pd_access_parse_result r = pd_access_rule_parse(l->items[i], &rule, why, sizeof why);
        if (r == PD_ACCESS_ERROR) {
            snprintf(err, errlen, "%s:%u: access: %s", file, l->lines[i], why);
            return -1;
        }
        if (r == PD_ACCESS_BLANK)
            continue;
        rule.line = l->lines[i];
        if (pd_access_list_append(&e->access, &rule) != 0) {
            snprintf(err, errlen, "%s:%u: access: too many rules or out of memory", file,
                     l->lines[i]);
            return -1;
        }
    }
    return 0;
}

static int
load_whitelists(struct pd_engine *e, const struct pd_settings *s, const char *file, char *err,
                size_t errlen)
{
    const struct pd_list *c = &s->greylist_whitelist_clients;
    e->wl_clients = calloc(c->count ? c->count : 1, sizeof *e->wl_clients);
    if (e->wl_clients == NULL)
        return -1;
    for (size_t i = 0; i < c->count; i++) {
        struct whitelist_client *w = &e->wl_clients[e->n_wl_clients];
        const char *item = c->items[i];
        if (pd_cidr_parse(item, strlen(item), PD_CIDR_ALLOW_HOST_BITS, &w->network) ==
            PD_NETADDR_OK) {
            w->is_network = 1;
        } else if (strchr(item, '.') != NULL && strlen(item) < sizeof w->domain &&
                   strspn(item, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789.-_") == strlen(item)) {
            snprintf(w->domain, sizeof w->domain, "%s", item[0] == '.' ? item + 1 : item);
        } else {
            snprintf(err, errlen, "%s:%u: greylist_whitelist_clients: '%.80s' is neither an "
                     "address, a CIDR network nor a domain", file, c->lines[i], item);
            return -1;
        }
        e->n_wl_clients++;
    }
    const struct pd_list *r = &s->greylist_whitelist_recipients;
    for (size_t i = 0; i < r->count; i++) {
        char line[PD_SETTING_MAX + 32], why[PD_ACCESS_ERROR_MAX];
        struct pd_access_rule rule;
        snprintf(line, sizeof line, "recipient %s DUNNO", r->items[i]);
        if (pd_access_rule_parse(line, &rule, why, sizeof why) != PD_ACCESS_RULE ||
            pd_access_list_append(&e->wl_recipients, &rule) != 0) {
            snprintf(err, errlen, "%s:%u: greylist_whitelist_recipients: %s", file,
                     r->lines[i], why);
            return -1;
        }
    }
    return 0;
}

/* "TRACK WINDOW|day|week|month count|size LIMIT ACTION [text]" */
static int
parse_quota(const char *line, int calendar, struct pd_quota *q, char **text, char *why,
            size_t whylen)
{
    char track[32], when[32], what[16], limit[32], action[16];
    int used = 0;

    memset(q, 0, sizeof *q);
    *text = NULL;
    if (sscanf(line, "%31s %31s %15s %31s %15s %n", track, when, what, limit, action, &used) < 5) {
        snprintf(why, whylen, "expected TRACK %s count|size LIMIT ACTION [text]",
                 calendar ? "day|week|month" : "WINDOW");
        return -1;
    }
    if (pd_track_parse(track, &q->track) != 0) {
        snprintf(why, whylen, "'%s' is not one of sender, sender_domain, client_address, "
                 "client_network, sasl_username, recipient", track);
        return -1;
    }
    if (calendar) {
        if (pd_period_parse(when, &q->period) != 0) {
            snprintf(why, whylen, "'%s' is not day, week or month", when);
            return -1;
        }
    } else {
        q->period = PD_PERIOD_ROLLING;
        if (postage_period_parse(when, &q->window) != 0 || q->window <= 0) {
            snprintf(why, whylen, "'%s' is not a period such as 1h or 1d", when);
            return -1;
        }
    }
    char *end;
    unsigned long long n = strtoull(limit, &end, 10);
    if (*limit < '0' || *limit > '9' || *end != '\0' || n == 0) {
        snprintf(why, whylen, "'%s' is not a positive whole number", limit);
        return -1;
    }
    if (strcmp(what, "count") == 0)
        q->max_count = n;
    else if (strcmp(what, "size") == 0)
        q->max_bytes = n;
    else {
        snprintf(why, whylen, "'%s' is neither count nor size", what);
        return -1;
    }
    if (pd_action_parse(action, strlen(action), &q->action) != 0 || q->action == PD_DUNNO ||
        q->action == PD_OK) {
        snprintf(why, whylen, "'%s' is not REJECT, DEFER, HOLD or DISCARD", action);
        return -1;
    }
    const char *t = line + used;
    if (*t != '\0' && (*text = strdup(t)) == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    return 0;
}

static int
load_quotas(struct pd_engine *e, const struct pd_settings *s, const char *file, char *err,
            size_t errlen)
{
    size_t total = s->quota.count + s->accounting.count;
    e->quotas = calloc(total ? total : 1, sizeof *e->quotas);
    e->quota_names = calloc(total ? total : 1, sizeof *e->quota_names);
    e->quota_texts = calloc(total ? total : 1, sizeof *e->quota_texts);
    if (e->quotas == NULL || e->quota_names == NULL || e->quota_texts == NULL)
        return -1;
    for (int calendar = 0; calendar <= 1; calendar++) {
        const struct pd_list *l = calendar ? &s->accounting : &s->quota;
        for (size_t i = 0; i < l->count; i++) {
            char why[256];
            size_t k = e->n_quotas;
            if (parse_quota(l->items[i], calendar, &e->quotas[k], &e->quota_texts[k], why,
                            sizeof why) != 0) {
                snprintf(err, errlen, "%s:%u: %s: %s", file, l->lines[i],
                         calendar ? "accounting" : "quota", why);
                return -1;
            }
            /* The rule itself names its counters: an unchanged rule keeps
             * its counts across reloads, a changed one starts afresh. */
            size_t n = strlen(l->items[i]) + 16;
            if ((e->quota_names[k] = malloc(n)) == NULL)
                return -1;
            snprintf(e->quota_names[k], n, "%s %s", calendar ? "accounting" : "quota",
                     l->items[i]);
            e->quotas[k].name = e->quota_names[k];
            e->quotas[k].text = e->quota_texts[k];
            e->n_quotas++;
        }
    }
    return 0;
}

static int
load_helo(struct pd_engine *e, const struct pd_settings *s, const char *file, char *err,
          size_t errlen)
{
    char why[256];

    e->helo_on = s->helo_checks;
    pd_helo_config_defaults(&e->helo);
    for (int t = 0; t < PD_HELO_TEST_COUNT; t++)
        e->helo.rule[t].act = s->helo_act[t];
    e->helo_dns = e->helo.rule[PD_HELO_TEST_RESOLVE].act >= PD_HELO_ACT_DEFER ||
                  e->helo.rule[PD_HELO_TEST_MATCH].act >= PD_HELO_ACT_DEFER ||
                  e->helo.rule[PD_HELO_TEST_FCRDNS].act >= PD_HELO_ACT_DEFER;
    const struct pd_list *l = &s->helo_own_names;
    e->helo_names = calloc(l->count ? l->count : 1, sizeof *e->helo_names);
    if (e->helo_names == NULL)
        return -1;
    for (size_t i = 0; i < l->count; i++) {
        if ((e->helo_names[i] = strdup(l->items[i])) == NULL)
            return -1;
        e->n_helo_names++;
    }
    e->helo.own_names = (const char *const *) e->helo_names;
    e->helo.own_name_count = e->n_helo_names;
    if (pd_helo_config_check(&e->helo, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: helo_own_names: %s", file, why);
        return -1;
    }
    return 0;
}

/* A repeatable key's items as one space-separated string (malloc'd). */
static char *
join_list(const struct pd_list *l)
{
    size_t n = 1;
    for (size_t i = 0; i < l->count; i++)
        n += strlen(l->items[i]) + 1;
    char *out = malloc(n), *p = out;
    if (out == NULL)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < l->count; i++) {
        size_t k = strlen(l->items[i]);
        memcpy(p, l->items[i], k);
        p += k;
        *p++ = ' ';
        *p = '\0';
    }
    return out;
}

static int
load_dns_spf(struct pd_engine *e, const struct pd_settings *s, const char *file, char *err,
             size_t errlen)
{
    char why[256] = "";
    struct pd_dns_config dc;

    pd_dns_config_defaults(&dc);
    dc.servers = s->dns_server;
    dc.timeout_ms = s->dns_timeout;
    if ((e->dns = pd_dns_new(&dc, why, sizeof why)) == NULL) {
        snprintf(err, errlen, "%s: dns_server: %s", file, why[0] ? why : "out of memory");
        return -1;
    }

    e->spf_on = s->spf;
    struct pd_spf_config sc;
    pd_spf_config_defaults(&sc);
    sc.dns = e->dns;
    sc.receiver = e->hostname;
    sc.helo_always = s->spf_helo_always != 0;
    sc.temperror_defer = s->spf_temperror_defer != 0;
    sc.permerror_reject = s->spf_permerror_reject != 0;
    sc.header_type = s->spf_header;
    char *clients = join_list(&s->spf_whitelist_clients);
    char *domains = join_list(&s->spf_whitelist_domains);
    if (clients == NULL || domains == NULL) {
        free(clients);
        free(domains);
        return -1;
    }
    sc.skip_addresses = s->spf_skip_addresses;
    sc.client_whitelist = clients;
    sc.domain_whitelist = domains;
    e->spf = pd_spf_new(&sc, why, sizeof why);
    free(clients);
    free(domains);
    if (e->spf == NULL) {
        snprintf(err, errlen, "%s: spf: %s", file, why[0] ? why : "out of memory");
        return -1;
    }
    return 0;
}

int
pd_engine_create(const struct pd_settings *s, const char *file, struct pd_state *state,
                 struct pd_engine **out, char *err, size_t errlen)
{
    struct pd_engine *e = calloc(1, sizeof *e);
    *out = NULL;
    if (e == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->refs = 1;
    e->state = state;
    e->tempfail_on_error = s->on_error == PD_ON_ERROR_TEMPFAIL;
    if (s->hostname[0] != '\0')
        snprintf(e->hostname, sizeof e->hostname, "%s", s->hostname);
    else if (gethostname(e->hostname, sizeof e->hostname - 1) != 0)
        snprintf(e->hostname, sizeof e->hostname, "localhost");
    pd_access_list_init(&e->access);
    pd_access_list_init(&e->wl_recipients);

    e->greylist = s->greylist;
    pd_greylist_config_defaults(&e->gl);
    e->gl.delay = s->greylist_delay;
    e->gl.retry_window = s->greylist_retry_window;
    e->gl.max_age = s->greylist_max_age;
    e->gl.awl_count = s->greylist_awl_count;
    e->gl.training = s->greylist_training;
    e->v4_prefix = s->greylist_ipv4_prefix;
    e->v6_prefix = s->greylist_ipv6_prefix;
    e->gl_header = s->greylist_header;
    e->postage = s->postage;
    e->milter_on = s->milter_listen[0] != '\0';
    e->over_cap_reject = s->price_over_cap_action == PD_OVER_CAP_REJECT;
    e->stamp_validity = s->stamp_validity;
    e->stamp_grace = s->stamp_grace;
    e->trace_header = s->postage_header != PD_POSTAGE_HEADER_NONE;
    e->kinds = (unsigned) s->postage_kinds;
    e->a2id_max.memory = s->argon2id_max_memory;
    e->a2id_max.passes = s->argon2id_max_passes;
    e->a2id_max.lanes = s->argon2id_max_lanes;
    e->a2id_min_bits = s->argon2id_min_bits;
    e->a2id_per_message = s->argon2id_max_per_message;
    e->sha1_rate = s->price_sha1_rate;
    e->a2id_rate = s->price_argon2id_rate;
    if (e->kinds & POSTAGE_KIND_ARGON2ID) {
        /* As many checks at once as there are CPUs: more would only queue
         * for them, holding memory. */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        e->a2id_pool = pd_a2id_pool_new(cpus > 0 ? (unsigned) cpus : 1, s->argon2id_max_memory);
        if (e->a2id_pool == NULL) {
            snprintf(err, errlen, "%s: out of memory", file);
            engine_free(e);
            return -1;
        }
    }
    {
        char why[256];
        if (pd_settings_rep_params(s, &e->rep, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s: %s", file, why);
            engine_free(e);
            return -1;
        }
    }
    snprintf(e->gl_text, sizeof e->gl_text, "%s", s->greylist_text);
    const char *pct = strchr(e->gl_text, '%');
    if (pct != NULL && (pct[1] != 's' || strchr(pct + 1, '%') != NULL)) {
        snprintf(err, errlen, "%s: greylist_text: only one %%s (the seconds left) may appear",
                 file);
        engine_free(e);
        return -1;
    }

    err[0] = '\0';
    if (load_access(e, &s->access, file, err, errlen) != 0 ||
        load_helo(e, s, file, err, errlen) != 0 ||
        load_dns_spf(e, s, file, err, errlen) != 0 ||
        load_whitelists(e, s, file, err, errlen) != 0 ||
        load_quotas(e, s, file, err, errlen) != 0) {
        if (err[0] == '\0')
            snprintf(err, errlen, "out of memory");
        engine_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void
pd_engine_attach(struct pd_engine *e, postage_store *stamps, struct pd_rep_writer *writer)
{
    e->stamps = stamps;
    e->writer = writer;
}

int
pd_engine_greylists_at_headers(const struct pd_engine *e)
{
    return e->postage && e->milter_on;
}

const char *
pd_engine_hostname(const struct pd_engine *e)
{
    return e->hostname;
}

struct pd_engine *
pd_engine_ref(struct pd_engine *e)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    return e;
}

void
pd_engine_unref(struct pd_engine *e)
{
    if (e != NULL && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
        engine_free(e);
}

/* ---- deciding -------------------------------------------------------- */

/* Queue a header; a low-priority one (the X-Comment of a skipped SPF
 * check) yields its place to any header queued after it. */
static void
txn_push_header(struct pd_txn *txn, const char *name, const char *value, int low)
{
    if (txn->n_headers >= PD_TXN_HEADERS)
        return;
    unsigned at = txn->n_headers;
    while (!low && at > 0 && txn->headers[at - 1].low_priority)
        at--;
    memmove(&txn->headers[at + 1], &txn->headers[at],
            (txn->n_headers - at) * sizeof txn->headers[0]);
    txn->n_headers++;
    struct pd_header *h = &txn->headers[at];
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->value, sizeof h->value, "%s", value);
    h->low_priority = low;
}

int
pd_txn_take_header(struct pd_txn *txn, struct pd_header *out)
{
    if (txn->n_headers == 0)
        return 0;
    *out = txn->headers[0];
    txn->n_headers--;
    memmove(&txn->headers[0], &txn->headers[1], txn->n_headers * sizeof txn->headers[0]);
    return 1;
}

/* Hand the oldest pending header to an accepting answer. */
static void
emit_header(struct pd_txn *txn, struct pd_answer *a)
{
    struct pd_header h;
    if (a->verdict.action != PD_DUNNO && a->verdict.action != PD_OK)
        return;
    if (a->prepend_name[0] != '\0' || !pd_txn_take_header(txn, &h))
        return;
    memcpy(a->prepend_name, h.name, sizeof a->prepend_name);
    memcpy(a->prepend_value, h.value, sizeof a->prepend_value);
}

/* Answer with on_error; detail is the failed store's own reason. */
static void
set_error_detail(const struct pd_engine *e, struct pd_answer *a, const char *what,
                 const char *detail)
{
    a->verdict.action = e->tempfail_on_error ? PD_DEFER : PD_DUNNO;
    snprintf(a->verdict.text, sizeof a->verdict.text, "%s",
             e->tempfail_on_error ? "451 4.3.0 Temporary policy failure, please retry" : "");
    a->prepend_name[0] = '\0';
    snprintf(a->reason, sizeof a->reason, "%s failed (%.200s); on_error=%s", what, detail,
             e->tempfail_on_error ? "tempfail" : "dunno");
}

/* A failure of the state store (greylisting, quotas, reputation...). */
static void
set_error(const struct pd_engine *e, struct pd_answer *a, const char *what)
{
    char detail[PD_ST_ERRLEN] = "";
    if (e->state != NULL)
        pd_state_error(e->state, detail, sizeof detail);
    set_error_detail(e, a, what, detail);
}

/* A failure of the double-spend store: its reason is in its own handle,
 * not the state store's. */
static void
set_stamps_error(const struct pd_engine *e, struct pd_answer *a)
{
    set_error_detail(e, a, "double-spend store",
                     e->stamps != NULL ? postage_store_error(e->stamps) : "no store");
}

static int
client_whitelisted(const struct pd_engine *e, const struct pd_query *q, int have_addr,
                   const struct pd_addr *addr)
{
    for (size_t i = 0; i < e->n_wl_clients; i++) {
        const struct whitelist_client *w = &e->wl_clients[i];
        if (w->is_network ? (have_addr && pd_cidr_match(&w->network, addr))
                          : (strcmp(q->client_name, "unknown") != 0 &&
                             pd_domain_matches(q->client_name, strlen(q->client_name),
                                               w->domain, strlen(w->domain), true)))
            return 1;
    }
    return 0;
}

static void
format_rfc5322_date(int64_t now, char *out, size_t size)
{
    time_t t = (time_t) now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* Is this query from the front-end that records reputation and
 * greylists with the stamps in view: the milter when this session passes
 * through it, else the policy server?  Only one of the two may, or a
 * message seen by both would count twice. */
static int
postage_front_end(const struct pd_txn *txn, const struct pd_query *q)
{
    return q->from_milter || !txn->milter_in_path;
}

/* Hand one update for the message's identities to the writer: `both` to
 * the sender's identity and to its host, `host` (when not NULL) to the
 * host's "ip:" identity instead of `both`. */
static void
rep_record(struct pd_engine *e, const struct pd_txn *txn, int64_t now,
           const struct pd_rep_delta *both, const struct pd_rep_delta *host)
{
    const char *ids[2] = { txn->ids.identity, txn->ids.client };
    for (int i = 0; i < 2; i++) {
        const struct pd_rep_delta *d = i == 1 && host != NULL ? host : both;
        if (ids[i][0] == '\0')
            continue;
        if (e->writer != NULL)
            pd_rep_writer_push(e->writer, &e->rep, ids[i], now, d);
        else if (pd_rep_apply(e->state, &e->rep, ids[i], now, d) != PD_ST_OK)
            pd_log(PD_LOG_WARNING, "reputation: update of %s failed", ids[i]);
    }
}

static void
rep_record_one(struct pd_engine *e, struct pd_txn *txn, int64_t now, enum pd_rep_counter c,
               unsigned once)
{
    struct pd_rep_delta d;
    if (!e->postage || !txn->priced || (txn->rep_recorded & once))
        return;
    memset(&d, 0, sizeof d);
    d.counter[c] = 1;
    txn->rep_recorded |= once;
    rep_record(e, txn, now, &d, NULL);
}

/* ---- triplets: quotes and attempts ----------------------------------- */

/* Room for a triplet key: network, sender and recipient (each bounded by
 * the request parser and the milter) and a Message-ID. */
#define TRIPLET_KEY_MAX 5200
#define MESSAGE_ID_MAX 256

/* The key of a recipient's greylisting triplet: the client network, the
 * normalised sender and the recipient, lowercased, then `extra` (a
 * Message-ID, or "").  Returns 0, or -1 when there is no triplet (no
 * client address or no recipient). */
static int
triplet_key(const struct pd_engine *e, const struct pd_query *q, const char *rcpt,
            const char *extra, char *out, size_t size)
{
    struct pd_addr addr;
    if (rcpt == NULL || rcpt[0] == '\0' ||
        pd_addr_parse(q->client_address, strlen(q->client_address), &addr) != PD_NETADDR_OK)
        return -1;
    struct pd_cidr net;
    char net_text[PD_NETADDR_TEXT_MAX], sender[PD_GL_ADDR_MAX + 1];
    pd_addr_mask(&addr, addr.family == PD_ADDR_V4 ? e->v4_prefix : e->v6_prefix, &net);
    pd_cidr_format(&net, net_text, sizeof net_text);
    if (pd_greylist_normalize_sender(q->sender, sender, sizeof sender) < 0)
        snprintf(sender, sizeof sender, "%.2000s", q->sender);
    int n = snprintf(out, size, "%s %s %.2048s\n%.*s", net_text, sender, rcpt, MESSAGE_ID_MAX,
                     extra != NULL ? extra : "");
    if (n < 0)
        return -1;
    for (char *p = out; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char) (*p - 'A' + 'a');
    return 0;
}

/* How long a quote and an attempt mark last: the greylisting retry
 * window, in which a retry is expected (at least an hour). */
static int64_t
triplet_life(const struct pd_engine *e)
{
    return e->gl.retry_window > 3600 ? e->gl.retry_window : 3600;
}

struct mark_ctx {
    int64_t life;
    int existed;
};

/* Set a mark that lives `life` seconds; say whether it was there. */
static enum pd_st_op
mark_once(void *ctx, int64_t now, const unsigned char *cur, size_t curlen, unsigned char *out,
          size_t *outlen, int64_t *expires_at)
{
    struct mark_ctx *m = ctx;
    (void) curlen;
    m->existed = cur != NULL;
    if (cur != NULL)
        return PD_ST_KEEP;
    out[0] = 1;
    *outlen = 1;
    *expires_at = now + m->life;
    return PD_ST_PUT;
}

#define QUOTE_VERSION 1

/* The bits quoted to a triplet still in force: 1 and *bits, 0 if none,
 * -1 when the store failed. */
static int
quote_get(const struct pd_engine *e, const char *key, int64_t now, unsigned *bits)
{
    unsigned char val[PD_ST_VALUE_MAX];
    size_t len = 0;
    int rc = pd_state_get(e->state, PD_TABLE_QUOTE, key, strlen(key), now, val, sizeof val,
                          &len, NULL);
    if (rc == PD_ST_NOTFOUND || (rc == PD_ST_OK && (len != 2 || val[0] != QUOTE_VERSION)))
        return 0;
    if (rc != PD_ST_OK)
        return -1;
    *bits = val[1];
    return 1;
}

struct quote_ctx {
    unsigned bits;
    int64_t life;
};

/* A quote keeps the lowest price named to the triplet, and the end of
 * life it was first given: quoting again never prolongs it, so a quote
 * cannot be kept alive and farmed. */
static enum pd_st_op
keep_lowest_quote(void *ctx, int64_t now, const unsigned char *cur, size_t curlen,
                  unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    const struct quote_ctx *qc = ctx;
    int valid = cur != NULL && curlen == 2 && cur[0] == QUOTE_VERSION;
    if (valid && cur[1] <= qc->bits)
        return PD_ST_KEEP;
    out[0] = QUOTE_VERSION;
    out[1] = (unsigned char) qc->bits;
    *outlen = 2;
    if (!valid)
        *expires_at = now + qc->life;
    return PD_ST_PUT;
}

/* Count one attempt of the message toward its sender's rate and record,
 * unless it is a retry of one counted before: one of its triplets (with
 * `extra`, the Message-ID, where known) was marked within the retry
 * window.  HELO faults are the host's: they go to its "ip:" identity and
 * to a "sender:" identity (which is bound to the host's network), never to
 * the domain SPF authenticated, whose other hosts are not at fault.
 * Returns -1 when the store failed. */
static int
rep_count_attempt(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
                  const char *const *rcpts, size_t n_rcpts, const char *extra, unsigned replays,
                  int64_t now)
{
    if (!e->postage || !txn->priced || (txn->rep_recorded & PD_TXN_REP_ATTEMPT))
        return 0;
    txn->rep_recorded |= PD_TXN_REP_ATTEMPT;
    int retry = 0;
    for (size_t i = 0; i < n_rcpts; i++) {
        char key[TRIPLET_KEY_MAX];
        struct mark_ctx m = { triplet_life(e), 0 };
        if (triplet_key(e, q, rcpts[i], extra, key, sizeof key) != 0)
            continue;
        if (pd_state_update(e->state, PD_TABLE_ATTEMPT, key, strlen(key), now, mark_once, &m) !=
            PD_ST_OK)
            return -1;
        retry |= m.existed;
    }
    if (retry)
        return 0;
    struct pd_rep_delta d, host;
    memset(&d, 0, sizeof d);
    d.counter[PD_REP_RATE] = 1;
    d.messages = 1;
    int spf_checked = e->spf_on && txn->spf_done && txn->spf.skip == PD_SPF_CHECKED;
    if (spf_checked && (txn->spf.result == PD_SPF_FAIL || txn->spf.result == PD_SPF_SOFTFAIL))
        d.counter[PD_REP_SPF_FAILURES] = 1;
    if (txn->price.over_cap) {
        d.counter[PD_REP_QUOTA_OVERRUNS] = 1;
        txn->rep_recorded |= PD_TXN_REP_QUOTA;
    }
    d.counter[PD_REP_REPLAYED] = replays;
    host = d;
    if (txn->helo_score > 0) {
        host.counter[PD_REP_HELO_FAILURES] = 1;
        if (strncmp(txn->ids.identity, "domain:", 7) != 0)
            d.counter[PD_REP_HELO_FAILURES] = 1;
    }
    rep_record(e, txn, now, &d, &host);
    return 0;
}

/* What greylisting made of one recipient (for end of headers). */
struct gl_outcome {
    enum pd_rcpt_outcome how;   /* UNPAID (off), GREYLIST_PASSED, WHITELISTED, GREYLISTED */
    int64_t wait;
};

/* Returns 1 if a terminal verdict was set, 0 to go on, -1 on error. */
static int
run_greylist(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q, int64_t now,
             struct pd_answer *a, struct gl_outcome *out)
{
    struct gl_outcome ignored_out;
    if (out == NULL)
        out = &ignored_out;
    out->how = PD_RCPT_UNPAID;
    out->wait = 0;
    struct pd_addr addr;
    int have_addr = pd_addr_parse(q->client_address, strlen(q->client_address), &addr) ==
                    PD_NETADDR_OK;
    struct pd_verdict ignored;

    if (!e->greylist)
        return 0;
    out->how = PD_RCPT_WHITELISTED;
    /* Like postgrey: without a client address there is no triplet. */
    if (!have_addr || q->recipient[0] == '\0')
        return 0;
    if (client_whitelisted(e, q, have_addr, &addr)) {
        snprintf(a->reason, sizeof a->reason, "greylisting: client whitelisted");
        return 0;
    }
    struct pd_access_subject subj = PD_ACCESS_SUBJECT_OF(q);
    if (pd_access_evaluate(&e->wl_recipients, &subj, &ignored) >= 0) {
        snprintf(a->reason, sizeof a->reason, "greylisting: recipient whitelisted");
        return 0;
    }
    out->how = PD_RCPT_GREYLIST_PASSED;
    struct pd_cidr net;
    char net_text[PD_NETADDR_TEXT_MAX];
    pd_addr_mask(&addr, addr.family == PD_ADDR_V4 ? e->v4_prefix : e->v6_prefix, &net);
    pd_cidr_format(&net, net_text, sizeof net_text);

    struct pd_greylist_decision d;
    if (pd_greylist_check(e->state, &e->gl, net_text, q->client_address, q->sender,
                          q->recipient, now, &d) != PD_ST_OK)
        return -1;
    switch (d.result) {
    case PD_GL_DEFER: {
        char secs[32], text[PD_TEXT_MAX];
        snprintf(secs, sizeof secs, "%lld", (long long) d.seconds);
        const char *pct = strstr(e->gl_text, "%s");
        if (pct != NULL)
            snprintf(text, sizeof text, "%.*s%s%s", (int) (pct - e->gl_text), e->gl_text, secs,
                     pct + 2);
        else
            snprintf(text, sizeof text, "%s", e->gl_text);
        a->verdict.action = PD_DEFER;
        snprintf(a->verdict.text, sizeof a->verdict.text, "451 4.7.1 %.490s", text);
        snprintf(a->reason, sizeof a->reason, "greylisted %s/%s/%s for %lld s more", net_text,
                 q->sender, q->recipient, (long long) d.seconds);
        out->how = PD_RCPT_GREYLISTED;
        out->wait = d.seconds;
        return 1;
    }
    case PD_GL_PASS_FIRST:
        if (postage_front_end(txn, q))
            rep_record_one(e, txn, now, PD_REP_GREYLIST_PASSED, PD_TXN_REP_GREYLIST);
        snprintf(a->reason, sizeof a->reason, "greylisting passed after %lld s",
                 (long long) d.seconds);
        if (e->gl_header && !txn->greylist_header_sent) {
            char date[64], value[PD_HEADER_VALUE_MAX];
            format_rfc5322_date(now, date, sizeof date);
            snprintf(value, sizeof value, "delayed %lld seconds by postaged-%s at %s; %s",
                     (long long) d.seconds, PACKAGE_VERSION, e->hostname, date);
            txn_push_header(txn, "X-Greylist", value, 0);
            txn->greylist_header_sent = 1;
        }
        return 0;
    case PD_GL_PASS:
        snprintf(a->reason, sizeof a->reason, "%s",
                 d.awl ? "greylisting: client auto-whitelisted"
                       : e->gl.training && d.would == PD_GL_DEFER ? "greylisting (training): would defer"
                                                                 : "greylisting passed");
        return 0;
    }
    return 0;
}

/* HELO checks, once per message.  Returns 1 if a terminal verdict was
 * set, 0 to go on, -1 on a store error. */
static int
run_helo(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q, int64_t now,
         struct pd_answer *a)
{
    if (!e->helo_on)
        return 0;
    if (!txn->helo_done) {
        struct pd_addr addr;
        int have_addr = pd_addr_parse(q->client_address, strlen(q->client_address), &addr) ==
                        PD_NETADDR_OK;
        struct pd_helo_dns dns;
        const struct pd_helo_dns *dnsp = NULL;
        struct pd_helo_result r;
        /* The DNS tests only score by default: look up only when one of
         * them can change the verdict or the price. */
        if ((e->helo_dns || e->postage) && have_addr) {
            struct pd_helo_parsed parsed;
            enum pd_helo_syntax syn = pd_helo_syntax(q->helo_name, &e->helo, &addr, &parsed);
            unsigned want = pd_helo_dns_wanted(&e->helo, syn, &addr);
            if (want != 0) {
                struct pd_helo_dns_ctx ctx = { e->dns, 0 };
                struct pd_helo_resolver res;
                pd_helo_dns_resolver(&ctx, &res);
                pd_helo_dns_collect(&res, want, parsed.name, &addr, &dns);
                dnsp = &dns;
            }
        }
        int rc = pd_helo_check(&e->helo, e->state, q->helo_name, have_addr ? &addr : NULL,
                               dnsp, now, &r);
        txn->helo_done = 1;
        /* A store error matters only if randomisation can decide. */
        txn->helo_failed = rc != PD_ST_OK &&
                           e->helo.rule[PD_HELO_TEST_RANDOM].act >= PD_HELO_ACT_DEFER;
        txn->helo_verdict = r.verdict;
        txn->helo_score = r.score > 0 ? r.score : 0;
        snprintf(txn->helo_reason, sizeof txn->helo_reason, "%s", r.reason);
    }
    if (txn->helo_failed)
        return -1;
    if (txn->helo_verdict.action == PD_DUNNO)
        return 0;
    a->verdict = txn->helo_verdict;
    snprintf(a->reason, sizeof a->reason, "HELO: %.240s", txn->helo_reason);
    return 1;
}

/* SPF, checked once per message.  Returns 1 if a terminal verdict was
 * set, 0 to go on. */
static int
run_spf(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q, struct pd_answer *a)
{
    if (!e->spf_on)
        return 0;
    if (!txn->spf_done) {
        pd_spf_check(e->spf, q->client_address, q->helo_name, q->sender, &txn->spf);
        txn->spf_done = 1;
    }
    struct pd_spf_verdict v;
    pd_spf_decide(e->spf, &txn->spf, &v);
    const char *what = txn->spf.skip != PD_SPF_CHECKED ? pd_spf_skip_name(txn->spf.skip)
                                                       : pd_spf_result_name(txn->spf.result);
    if (v.action != PD_SPF_ACT_ACCEPT) {
        a->verdict.action = v.action == PD_SPF_ACT_REJECT ? PD_REJECT : PD_DEFER;
        snprintf(a->verdict.text, sizeof a->verdict.text, "%.*s",
                 (int) sizeof a->verdict.text - 1, v.text);
        snprintf(a->reason, sizeof a->reason, "SPF %s", what);
        return 1;
    }
    /* The milter adds the headers of a session it is in (it removes forged
     * copies first); the policy server those of a session it has alone. */
    if (!txn->spf_header_queued && (q->from_milter || !txn->milter_in_path)) {
        const char *name = "";
        char value[PD_HEADER_VALUE_MAX];
        txn->spf_header_queued = 1;
        if (pd_spf_header(e->spf, &txn->spf, &name, value, sizeof value))
            txn_push_header(txn, name, value, txn->spf.skip != PD_SPF_CHECKED);
    }
    snprintf(a->reason, sizeof a->reason, "SPF %s", what);
    return 0;
}

/* The domain SPF authenticated, or NULL. */
static const char *
spf_pass_domain(const struct pd_engine *e, const struct pd_txn *txn)
{
    if (!e->spf_on || !txn->spf_done || txn->spf.skip != PD_SPF_CHECKED ||
        txn->spf.result != PD_SPF_PASS)
        return NULL;
    const struct pd_spf_id_result *id = txn->spf.decisive == PD_SPF_ID_MAILFROM ? &txn->spf.mailfrom
                                        : txn->spf.decisive == PD_SPF_ID_HELO   ? &txn->spf.helo
                                                                                 : NULL;
    return id != NULL && id->domain[0] != '\0' ? id->domain : NULL;
}

/* The price of the message, once, at its first recipient past SPF.
 * Returns 1 if the price is over the cap (a terminal verdict was set), 0
 * to go on, -1 on a store error. */
static int
run_price(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q, int64_t now,
          struct pd_answer *a)
{
    if (!e->postage)
        return 0;
    if (!txn->priced) {
        const char *domain = spf_pass_domain(e, txn);
        struct pd_rep_record id, client;
        pd_rep_identities(domain, q->client_address, q->sender, e->v4_prefix, e->v6_prefix,
                          &txn->ids);
        memset(&client, 0, sizeof client);
        if (pd_rep_load(e->state, &e->rep, txn->ids.identity, now, &id) != PD_ST_OK ||
            (txn->ids.client[0] != '\0' &&
             pd_rep_load(e->state, &e->rep, txn->ids.client, now, &client) != PD_ST_OK))
            return -1;
        int spf_checked = e->spf_on && txn->spf_done && txn->spf.skip == PD_SPF_CHECKED;
        struct pd_price_input in = {
            .spf_pass = domain != NULL,
            .spf_result = txn->spf.result,
            .spf_checked = spf_checked,
            .helo_score = txn->helo_score,
            .identity = &id,
            .client = &client,
        };
        pd_price_compute(&e->rep, &in, &txn->price);
        txn->priced = 1;
    }
    const struct pd_price *p = &txn->price;
    /* Stamps will be looked at for this message (by the milter) */
    int stamps_in_view = q->from_milter || txn->milter_in_path;
    if (p->over_cap) {
        /* A price quoted to this triplet in a deferral is a promise: the
         * recipient waits for its stamp at end of headers. */
        char key[TRIPLET_KEY_MAX];
        unsigned quoted;
        if (stamps_in_view && triplet_key(e, q, q->recipient, "", key, sizeof key) == 0) {
            int found = quote_get(e, key, now, &quoted);
            if (found < 0)
                return -1;
            if (found > 0)
                return 0;
        }
        if (rep_count_attempt(e, txn, q, &q->recipient, 1, "", 0, now) != 0)
            return -1;
        const char *why = p->pinned ? "price pinned by the postmaster"
                          : p->surcharge > 0 && p->surcharge >= p->penalty
                              ? "too much mail from your address recently"
                              : "too poor a record here";
        a->verdict.action = e->over_cap_reject ? PD_REJECT : PD_DEFER;
        snprintf(a->verdict.text, sizeof a->verdict.text,
                 "%s Refused%s: postage for this message would be %d bits, over our limit "
                 "of %d (%s)%s", e->over_cap_reject ? "550 5.7.1" : "451 4.7.1",
                 e->over_cap_reject ? "" : " for now", p->raw, e->rep.cap, why,
                 e->over_cap_reject ? "" : "; try again later");
        if (p->pinned)
            snprintf(a->reason, sizeof a->reason, "price %d (pinned) over cap %d for %.120s",
                     p->raw, e->rep.cap, txn->ids.identity);
        else
            snprintf(a->reason, sizeof a->reason,
                     "price %d over cap %d (base %d - credit %d + penalty %d + surcharge %d) "
                     "for %.120s", p->raw, e->rep.cap, e->rep.base, p->credit, p->penalty,
                     p->surcharge, txn->ids.identity);
        return 1;
    }
    /* The policy server counts a message it has alone at its first
     * recipient; the milter at end of headers, where the Message-ID tells
     * a retry from a new message. */
    if (!q->from_milter && postage_front_end(txn, q) &&
        rep_count_attempt(e, txn, q, &q->recipient, 1, "", 0, now) != 0)
        return -1;
    /* The policy front-end cannot see stamps: it announces the price for
     * a content check further on.  Low priority: X-Greylist goes first
     * when the policy protocol leaves room for one header only. */
    if (!stamps_in_view && !txn->price_header_queued) {
        char value[64];
        snprintf(value, sizeof value, "%d", p->bits);
        txn_push_header(txn, "X-Postage-Price", value, 1);
        txn->price_header_queued = 1;
    }
    return 0;
}

static void
quota_subject(const struct pd_engine *e, const struct pd_query *q, char *net, size_t netlen,
              struct pd_quota_subject *s)
{
    struct pd_addr addr;
    net[0] = '\0';
    if (pd_addr_parse(q->client_address, strlen(q->client_address), &addr) == PD_NETADDR_OK) {
        struct pd_cidr c;
        pd_addr_mask(&addr, addr.family == PD_ADDR_V4 ? e->v4_prefix : e->v6_prefix, &c);
        pd_cidr_format(&c, net, netlen);
    }
    s->sender = q->sender;
    s->client_address = q->client_address;
    s->client_net = net;
    s->sasl_username = q->sasl_username;
    s->recipient = q->recipient;
}

/* At RCPT: would this message go over a limit?  Then count the recipient
 * for recipient-keyed quotas once it is accepted. */
static int
run_quotas_rcpt(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q, int64_t now,
                struct pd_answer *a)
{
    char net[PD_NETADDR_TEXT_MAX];
    struct pd_quota_subject subj;
    quota_subject(e, q, net, sizeof net, &subj);
    for (size_t i = 0; i < e->n_quotas; i++) {
        struct pd_quota_result r;
        if (pd_quota_check(e->state, &e->quotas[i], &subj, q->size, now, &r) != PD_ST_OK)
            return -1;
        if (r.over) {
            a->verdict = r.verdict;
            snprintf(a->reason, sizeof a->reason, "over %s", e->quotas[i].name);
            if (postage_front_end(txn, q))
                rep_record_one(e, txn, now, PD_REP_QUOTA_OVERRUNS, PD_TXN_REP_QUOTA);
            return 1;
        }
    }
    for (size_t i = 0; i < e->n_quotas; i++)
        if (pd_quota_per_recipient(&e->quotas[i]) &&
            pd_quota_account(e->state, &e->quotas[i], &subj, 1, q->size, now, NULL) != PD_ST_OK)
            return -1;
    return 0;
}

static int
run_quotas_eom(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q, int64_t now,
               struct pd_answer *a)
{
    if (e->n_quotas == 0 || txn->accounted)
        return 0;
    char net[PD_NETADDR_TEXT_MAX];
    struct pd_quota_subject subj;
    quota_subject(e, q, net, sizeof net, &subj);
    for (size_t i = 0; i < e->n_quotas; i++) {
        struct pd_quota_result r;
        if (pd_quota_per_recipient(&e->quotas[i]) || e->quotas[i].max_bytes == 0)
            continue;
        if (pd_quota_check(e->state, &e->quotas[i], &subj, q->size, now, &r) != PD_ST_OK)
            return -1;
        if (r.over) {
            a->verdict = r.verdict;
            snprintf(a->reason, sizeof a->reason, "message of %llu bytes over %s",
                     (unsigned long long) q->size, e->quotas[i].name);
            return 1;
        }
    }
    struct mark_ctx counted = { ACCOUNTED_TTL, 0 };
    if (q->queue_id != NULL && q->queue_id[0] != '\0' &&
        pd_state_update(e->state, PD_TABLE_ACCOUNTED, q->queue_id, strlen(q->queue_id), now,
                        mark_once, &counted) != PD_ST_OK)
        return -1;
    txn->accounted = 1;
    if (counted.existed)
        return 0;   /* the other front-end counted it */
    for (size_t i = 0; i < e->n_quotas; i++)
        if (!pd_quota_per_recipient(&e->quotas[i]) &&
            pd_quota_account(e->state, &e->quotas[i], &subj, 1, q->size, now, NULL) != PD_ST_OK)
            return -1;
    return 0;
}

void
pd_engine_decide(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
                 int64_t now, struct pd_answer *a)
{
    memset(a, 0, sizeof *a);
    a->verdict.action = PD_DUNNO;
    if (q->stage == PD_STAGE_DATA) {
        /* Before the content: a header still pending can go out here. */
        emit_header(txn, a);
        return;
    }
    if (q->stage != PD_STAGE_RCPT && q->stage != PD_STAGE_END_OF_MESSAGE)
        return;
    /* Whether the milter has this session is read once, at the first
     * recipient, so that the message is handled one way to its end. */
    if (!txn->path_known && q->stage == PD_STAGE_RCPT) {
        txn->path_known = 1;
        txn->milter_in_path = q->from_milter || q->milter_in_path;
    }
    if (e->state == NULL) {
        set_error(e, a, "state store");
        return;
    }
    if (q->stage == PD_STAGE_END_OF_MESSAGE) {
        int rc = run_quotas_eom(e, txn, q, now, a);
        if (rc < 0)
            set_error(e, a, "quota accounting");
        /* A session the milter is not in: the policy front-end sees the
         * end of every message it let through. */
        else if (rc == 0 && !q->from_milter && !txn->milter_in_path)
            rep_record_one(e, txn, now, PD_REP_ACCEPTED, PD_TXN_REP_ACCEPTED);
        return;
    }

    struct pd_access_subject subj = PD_ACCESS_SUBJECT_OF(q);
    long rule = pd_access_evaluate(&e->access, &subj, &a->verdict);
    if (rule >= 0 && a->verdict.action != PD_DUNNO) {
        snprintf(a->reason, sizeof a->reason, "access rule at line %u",
                 e->access.rules[rule].line);
        return;
    }
    a->verdict.action = PD_DUNNO;
    a->verdict.text[0] = '\0';
    int rc = run_helo(e, txn, q, now, a);
    if (rc < 0) {
        set_error(e, a, "HELO randomisation tracking");
        return;
    }
    if (rc > 0)
        return;
    if (run_spf(e, txn, q, a) > 0)
        return;
    rc = run_price(e, txn, q, now, a);
    if (rc < 0) {
        set_error(e, a, "reputation");
        return;
    }
    if (rc > 0)
        return;
    /* A session the milter is in is greylisted there: with postage at end
     * of headers, where the stamps are seen, else at its RCPT.  The policy
     * server greylists only sessions it has alone (postgrey's wiring).  A
     * price of 0 needs no stamp and no greylisting. */
    int greylist_here = q->from_milter ? !e->postage : !txn->milter_in_path;
    if (greylist_here && !(e->postage && txn->price.bits == 0)) {
        rc = run_greylist(e, txn, q, now, a, NULL);
        if (rc < 0) {
            set_error(e, a, "greylisting");
            return;
        }
        if (rc > 0)
            return;
    }
    rc = run_quotas_rcpt(e, txn, q, now, a);
    if (rc < 0) {
        set_error(e, a, "quotas");
        return;
    }
    if (rc > 0)
        return;
    emit_header(txn, a);
}

/* ---- postage at end of headers -------------------------------------- */

const char *
pd_rcpt_outcome_name(enum pd_rcpt_outcome o)
{
    switch (o) {
    case PD_RCPT_PAID: return "paid";
    case PD_RCPT_FREE: return "free";
    case PD_RCPT_GREYLIST_PASSED: return "greylist-passed";
    case PD_RCPT_WHITELISTED: return "whitelisted";
    case PD_RCPT_GREYLISTED: return "greylisted";
    case PD_RCPT_UNPAID: break;
    }
    return "unpaid";
}

/* Is this an Argon2id stamp?  From its grammar alone, so that Argon2id
 * stamps can be counted before any is computed. */
static int
is_argon2id(const char *text, size_t len)
{
    struct postage_stamp st;
    return postage_stamp_parse(text, len, &st) == POSTAGE_OK &&
           postage_argon2id_ext_parse(st.ext, st.ext_len, NULL) == 1;
}

/* The recipient a stamp's resource names (ignoring case), or -1: so that
 * a stamp that does not pay can be blamed on the recipient it was for. */
static int
stamp_target(const char *text, size_t len, const struct pd_postage_rcpt *rcpts, size_t n_rcpts)
{
    struct postage_stamp st;
    if (postage_stamp_parse(text, len, &st) != POSTAGE_OK || st.resource_len == 0)
        return -1;
    for (size_t k = 0; k < n_rcpts; k++)
        if (strlen(rcpts[k].address) == st.resource_len &&
            strncasecmp(rcpts[k].address, st.resource, st.resource_len) == 0)
            return (int) k;
    return -1;
}

static void
check_options(const struct pd_engine *e, int64_t now, struct postage_check_options *opt)
{
    postage_check_options_init(opt, now);
    opt->validity = e->stamp_validity;
    opt->grace = e->stamp_grace;
    opt->kinds = e->kinds;
    opt->argon2id_max = e->a2id_max;
    opt->argon2id_min_bits = e->a2id_min_bits;
    opt->sha1_rate = e->sha1_rate;
    opt->argon2id_rate = e->a2id_rate;
}

/* Was the stamp spent before?  1 (and the stamp is marked replayed), 0,
 * or -1 when the store failed.  Looking spends nothing. */
static int
seen_before(struct pd_engine *e, struct pd_postage_stamp *st)
{
    if (e->stamps == NULL)
        return 0;
    int spent = postage_store_is_spent(e->stamps, st->text, st->len);
    if (spent == POSTAGE_ERR_SPENT) {
        st->outcome = PD_STAMP_REPLAYED;
        return 1;
    }
    return spent == POSTAGE_OK ? 0 : -1;
}

/* Match the stamps to the recipients without spending anything.  A stamp
 * pays for a recipient when it is worth that recipient's `need`. */
static int
assign_stamps(struct pd_engine *e, struct pd_postage_rcpt *rcpts, size_t n_rcpts,
              struct pd_postage_stamp *stamps, size_t n_stamps, int64_t now,
              const char **resources)
{
    struct postage_check_options opt;
    unsigned a2id_checks = 0;
    check_options(e, now, &opt);
    /* The lowest need is asked of every stamp inside the check, so that an
     * Argon2id stamp whose claim falls short is refused before it costs a
     * computation; each recipient's own need is applied after. */
    unsigned lowest = POSTAGE_BITS_MAX;
    for (size_t k = 0; k < n_rcpts; k++)
        if (rcpts[k].need < lowest)
            lowest = rcpts[k].need;
    opt.required_bits = lowest;
    opt.resources = resources;
    opt.resource_count = n_rcpts;

    for (size_t i = 0; i < n_stamps; i++) {
        struct pd_postage_stamp *st = &stamps[i];
        struct postage_check_result r;
        st->rcpt = -1;
        st->value = 0;
        st->kind = 0;
        st->target = stamp_target(st->text, st->len, rcpts, n_rcpts);
        if (i >= PD_POSTAGE_STAMPS_MAX || n_rcpts == 0) {
            st->outcome = PD_STAMP_IGNORED;
            continue;
        }
        /* The same stamp twice in one message pays once. */
        int repeat = 0;
        for (size_t j = 0; j < i && !repeat; j++)
            repeat = stamps[j].len == st->len && memcmp(stamps[j].text, st->text, st->len) == 0;
        if (repeat) {
            st->outcome = PD_STAMP_UNUSED;
            continue;
        }
        /* Only a site that takes Argon2id needs the kind before the check
         * (to look for a replay, count and take a work area); the check
         * says it for every stamp. */
        postage_argon2id_work *work = NULL;
        if ((e->kinds & POSTAGE_KIND_ARGON2ID) &&
            is_argon2id(st->text, st->len)) {
            /* A replayed Argon2id stamp is caught before it costs anything. */
            int seen = seen_before(e, st);
            if (seen != 0) {
                if (seen < 0)
                    return -1;
                continue;
            }
            if (a2id_checks >= e->a2id_per_message) {
                st->outcome = PD_STAMP_IGNORED;
                continue;
            }
            a2id_checks++;
            work = pd_a2id_pool_take(e->a2id_pool);
            if (work == NULL) {
                st->outcome = PD_STAMP_IGNORED;
                continue;
            }
        }
        opt.argon2id_work = work;
        st->check = postage_check(st->text, st->len, &opt, &r);
        st->kind = r.kind;
        pd_a2id_pool_give(e->a2id_pool, work);
        switch (st->check) {
        case POSTAGE_OK:
            break;
        case POSTAGE_ERR_RESOURCE:
            st->outcome = PD_STAMP_NO_RECIPIENT;
            continue;
        case POSTAGE_ERR_KIND:
            st->outcome = PD_STAMP_KIND_REFUSED;
            continue;
        case POSTAGE_ERR_PARAMS:
            st->outcome = PD_STAMP_OUT_OF_BOUNDS;
            continue;
        case POSTAGE_ERR_BITS:
            /* A claim that holds but is worth less than the price is
             * underpaid; an Argon2id tag that lacks the claimed bits is a
             * forgery.  (A SHA-1 forgery has always counted as underpaid,
             * as hashcash values it 0.) */
            st->value = (unsigned) (r.equivalent > 0 ? r.equivalent : 0);
            st->outcome = r.kind == POSTAGE_KIND_ARGON2ID && r.computed && r.actual < r.claimed
                              ? PD_STAMP_INVALID : PD_STAMP_UNDERPAID;
            continue;
        default:
            st->outcome = PD_STAMP_INVALID;
            continue;
        }
        st->value = (unsigned) r.equivalent;
        st->expires_at = r.expires_at;
        /* The first recipient of that address still unpaid (an address
         * may be given twice). */
        size_t k = (size_t) r.resource_index;
        while (k < n_rcpts && (rcpts[k].outcome == PD_RCPT_PAID ||
                               strcasecmp(rcpts[k].address, resources[r.resource_index]) != 0))
            k++;
        if (k >= n_rcpts) {
            st->outcome = PD_STAMP_UNUSED;
            continue;
        }
        if (st->value < rcpts[k].need) {
            st->outcome = PD_STAMP_UNDERPAID;
            continue;
        }
        int seen = seen_before(e, st);
        if (seen != 0) {
            if (seen < 0)
                return -1;
            continue;
        }
        st->outcome = PD_STAMP_PAID;
        st->rcpt = (int) k;
        rcpts[k].outcome = PD_RCPT_PAID;
        rcpts[k].value = st->value;
        rcpts[k].stamp = (int) i;
    }
    return 0;
}

/* Greylist one recipient that no stamp paid for.  Returns -1 on a store
 * error, else 0 with rcpt->outcome set. */
static int
greylist_rcpt(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
              struct pd_postage_rcpt *rcpt, int64_t now)
{
    struct pd_query one = *q;
    struct pd_answer scratch;
    struct gl_outcome g;
    memset(&scratch, 0, sizeof scratch);
    one.recipient = rcpt->address;
    if (run_greylist(e, txn, &one, now, &scratch, &g) < 0)
        return -1;
    rcpt->outcome = g.how;
    rcpt->wait = g.wait;
    return 0;
}

/* Each recipient's need: the price, or a lower price quoted to its
 * triplet in a deferral still in force.  -1 when the store failed. */
static int
recall_quotes(const struct pd_engine *e, const struct pd_txn *txn, const struct pd_query *q,
              struct pd_postage_rcpt *rcpts, size_t n_rcpts, int64_t now)
{
    for (size_t i = 0; i < n_rcpts; i++) {
        char key[TRIPLET_KEY_MAX];
        unsigned quoted;
        rcpts[i].need = (unsigned) txn->price.bits;
        if (triplet_key(e, q, rcpts[i].address, "", key, sizeof key) != 0)
            continue;
        int found = quote_get(e, key, now, &quoted);
        if (found < 0)
            return -1;
        if (found > 0 && (quoted < rcpts[i].need || txn->price.over_cap))
            rcpts[i].need = quoted;
    }
    return 0;
}

/* Quote every deferred recipient its need, honoured on a retry within
 * the greylisting retry window.  -1 when the store failed. */
static int
give_quotes(const struct pd_engine *e, const struct pd_query *q,
            const struct pd_postage_rcpt *rcpts, size_t n_rcpts, int64_t now)
{
    for (size_t i = 0; i < n_rcpts; i++) {
        char key[TRIPLET_KEY_MAX];
        struct quote_ctx qc = { rcpts[i].need, triplet_life(e) };
        if (rcpts[i].outcome != PD_RCPT_GREYLISTED || rcpts[i].need == 0 ||
            triplet_key(e, q, rcpts[i].address, "", key, sizeof key) != 0)
            continue;
        if (pd_state_update(e->state, PD_TABLE_QUOTE, key, strlen(key), now, keep_lowest_quote,
                            &qc) != PD_ST_OK)
            return -1;
    }
    return 0;
}

/* What to attach, in the words of the 451 reply: the kinds this site
 * takes, and for Argon2id the claimed bits that pay the price at the
 * largest memory accepted (one pass, one lane). */
static void
payment_wanted(const struct pd_engine *e, unsigned price, char *out, size_t size)
{
    struct postage_argon2id_params offer = { e->a2id_max.memory, 1, 1 };
    double worth = postage_argon2id_equivalent_bits(0, &offer, e->sha1_rate, e->a2id_rate);
    double need = (double) price - worth;
    unsigned bits = e->a2id_min_bits;
    if (need > (double) bits)
        bits = (unsigned) ceil(need);
    if (!(e->kinds & POSTAGE_KIND_ARGON2ID))
        snprintf(out, size, "X-Hashcash with %u bits", price);
    else if (!(e->kinds & POSTAGE_KIND_SHA1))
        snprintf(out, size, "an Argon2id X-Hashcash worth %u bits (a2id=m%lu,t1,p1 with %u bits)",
                 price, (unsigned long) offer.memory, bits);
    else
        snprintf(out, size, "X-Hashcash with %u bits (SHA-1, or Argon2id a2id=m%lu,t1,p1 with "
                 "%u bits)", price, (unsigned long) offer.memory, bits);
}

/* Why a stamp did not pay, in a postmaster's words ("" if it did). */
static void
stamp_failure(const struct pd_postage_stamp *st, unsigned need, char *out, size_t size)
{
    out[0] = '\0';
    switch (st->outcome) {
    case PD_STAMP_REPLAYED:
        snprintf(out, size, "it is already spent");
        break;
    case PD_STAMP_UNDERPAID:
        snprintf(out, size, "it is worth %u bits, %u needed", st->value, need);
        break;
    case PD_STAMP_INVALID:
        snprintf(out, size, "%s",
                 st->check == POSTAGE_ERR_FUTURE  ? "it is dated in the future (check your clock)"
                 : st->check == POSTAGE_ERR_EXPIRED ? "it has expired"
                                                    : "it is not a valid stamp");
        break;
    case PD_STAMP_NO_RECIPIENT:
        snprintf(out, size, "it is for another recipient");
        break;
    case PD_STAMP_KIND_REFUSED:
        snprintf(out, size, "%s stamps are not accepted here",
                 st->kind == POSTAGE_KIND_ARGON2ID ? "Argon2id" : "SHA-1");
        break;
    case PD_STAMP_OUT_OF_BOUNDS:
        snprintf(out, size, "its Argon2id parameters or bits are beyond our limits");
        break;
    case PD_STAMP_IGNORED:
        snprintf(out, size, "it was not checked (too many stamps in one message)");
        break;
    case PD_STAMP_PAID:
    case PD_STAMP_UNUSED:
        break;
    }
}

/* Append one reply line to the answer's detail, within its bounds. */
static int
add_detail(struct pd_answer *a, size_t *lines, const char *line)
{
    size_t n = strlen(a->detail);
    if (*lines >= PD_DETAIL_MAX / PD_DETAIL_LINE - 1)
        return -1;
    snprintf(a->detail + n, sizeof a->detail - n, "%s%.*s", n ? "\n" : "",
             PD_DETAIL_LINE - 1, line);
    (*lines)++;
    return 0;
}

/* The reply's further lines: for each deferred recipient, the first
 * reason its stamp did not pay.  A stamp that names no recipient is
 * blamed on the one deferred recipient that has no stamp of its own, or,
 * when that is ambiguous, reported for the message. */
/* A recipient address as shown in a header or a reply line: its control
 * characters escaped (escape.h) and at most 200 bytes of it, cut at a
 * whole escape. */
#define SHOWN_ADDRESS_MAX 201
static const char *
shown_address(const char *address, char out[SHOWN_ADDRESS_MAX])
{
    pd_escape_str(out, SHOWN_ADDRESS_MAX, address);
    return out;
}

static void
explain_unpaid(const struct pd_postage_rcpt *rcpts, size_t n_rcpts,
               const struct pd_postage_stamp *stamps, size_t n_stamps, struct pd_answer *a)
{
    size_t lines = 0, untold = 0, orphans = 0;
    int first_orphan = -1;
    char why[96], line[PD_DETAIL_LINE];

    for (size_t i = 0; i < n_stamps; i++) {
        stamp_failure(&stamps[i], 0, why, sizeof why);
        if (stamps[i].target < 0 && why[0] != '\0' && orphans++ == 0)
            first_orphan = (int) i;
    }
    /* Deferred recipients without a stamp of their own. */
    size_t bare = 0;
    int bare_one = -1;
    for (size_t k = 0; k < n_rcpts; k++) {
        int own = 0;
        for (size_t i = 0; i < n_stamps && !own; i++)
            own = stamps[i].target == (int) k;
        if (rcpts[k].outcome == PD_RCPT_GREYLISTED && !own && bare++ == 0)
            bare_one = (int) k;
    }
    for (size_t k = 0; k < n_rcpts; k++) {
        if (rcpts[k].outcome != PD_RCPT_GREYLISTED)
            continue;
        const struct pd_postage_stamp *blame = NULL;
        for (size_t i = 0; i < n_stamps && blame == NULL; i++) {
            stamp_failure(&stamps[i], rcpts[k].need, why, sizeof why);
            if (stamps[i].target == (int) k && why[0] != '\0')
                blame = &stamps[i];
        }
        if (blame == NULL && bare == 1 && bare_one == (int) k && first_orphan >= 0) {
            blame = &stamps[first_orphan];
            orphans = 0;   /* told here */
        }
        if (blame == NULL)
            continue;
        stamp_failure(blame, rcpts[k].need, why, sizeof why);
        char shown[SHOWN_ADDRESS_MAX];
        snprintf(line, sizeof line, "The stamp for <%s> did not pay: %s",
                 shown_address(rcpts[k].address, shown), why);
        if (add_detail(a, &lines, line) != 0)
            untold++;
    }
    if (orphans > 0) {
        stamp_failure(&stamps[first_orphan], 0, why, sizeof why);
        snprintf(line, sizeof line, "%s attached stamp%s paid for no recipient: %s%s",
                 orphans == 1 ? "An" : "Some", orphans == 1 ? "" : "s", why,
                 orphans > 1 ? " (the first of them)" : "");
        if (add_detail(a, &lines, line) != 0)
            untold++;
    }
    if (untold > 0) {
        size_t n = strlen(a->detail);
        snprintf(line, sizeof line, "(and %zu more stamps that did not pay)", untold);
        snprintf(a->detail + n, sizeof a->detail - n, "\n%s", line);
    }
}

static void
defer_for_postage(const struct pd_engine *e, const struct pd_postage_rcpt *rcpts,
                  size_t n_rcpts, const struct pd_postage_stamp *stamps, size_t n_stamps,
                  struct pd_answer *a)
{
    int64_t wait = 0;
    size_t unpaid = 0, listed = 0, n = 0;
    unsigned need = 0;
    int same_need = 1;
    char who[PD_TEXT_MAX / 3] = "";

    for (size_t i = 0; i < n_rcpts; i++) {
        if (rcpts[i].outcome != PD_RCPT_GREYLISTED)
            continue;
        if (unpaid++ > 0 && rcpts[i].need != need)
            same_need = 0;
        if (rcpts[i].need > need)
            need = rcpts[i].need;
        if (rcpts[i].wait > wait)
            wait = rcpts[i].wait;
        char shown[SHOWN_ADDRESS_MAX];
        int w = snprintf(who + n, sizeof who - n, "%s<%s>", listed ? ", " : "",
                         shown_address(rcpts[i].address, shown));
        if (w > 0 && (size_t) w < sizeof who - n - 24) {
            n += (size_t) w;
            listed++;
        } else {
            who[n] = '\0';
        }
    }
    char more[48] = "";
    if (unpaid > listed)
        snprintf(more, sizeof more, " and %zu more", unpaid - listed);
    /* A sender who paid in a kind this site does not take is told so. */
    unsigned refused = 0;
    for (size_t i = 0; i < n_stamps; i++)
        if (stamps[i].outcome == PD_STAMP_KIND_REFUSED)
            refused |= stamps[i].kind;
    char why[96] = "";
    if (refused & POSTAGE_KIND_ARGON2ID)
        snprintf(why, sizeof why, "; Argon2id stamps are not accepted here");
    else if (refused & POSTAGE_KIND_SHA1)
        snprintf(why, sizeof why, "; SHA-1 stamps are not accepted here");
    /* Recipients quoted different prices in earlier deferrals are each
     * asked the most of them: a stamp of that value pays for any. */
    char pay[160];
    payment_wanted(e, need, pay, sizeof pay);
    a->verdict.action = PD_DEFER;
    snprintf(a->verdict.text, sizeof a->verdict.text,
             "451 4.7.1 Greylisted: retry in %lld seconds, or attach %s for %s%s%s%s",
             (long long) (wait > 0 ? wait : 1), pay, unpaid > 1 ? "each of " : "", who, more,
             why);
    explain_unpaid(rcpts, n_rcpts, stamps, n_stamps, a);
    snprintf(a->reason, sizeof a->reason,
             "%zu of %zu recipients neither paid (%s%u bits) nor past greylisting%s", unpaid,
             n_rcpts, same_need ? "" : "up to ", need, why);
}

/* The X-Postage-Result header.  It goes into the one copy every recipient
 * reads, so it names a recipient only when the message has just one:
 * otherwise a Bcc recipient would be shown to all the others. */
static void
trace_header(const struct pd_engine *e, const struct pd_txn *txn,
             const struct pd_postage_rcpt *rcpts, size_t n_rcpts,
             const struct pd_postage_stamp *stamps, size_t n_stamps, struct pd_answer *a)
{
    char v[PD_HEADER_VALUE_MAX];
    size_t replayed = 0, invalid = 0;

    for (size_t i = 0; i < n_stamps; i++) {
        replayed += stamps[i].outcome == PD_STAMP_REPLAYED;
        invalid += stamps[i].outcome == PD_STAMP_INVALID ||
                   stamps[i].outcome == PD_STAMP_OUT_OF_BOUNDS ||
                   stamps[i].outcome == PD_STAMP_KIND_REFUSED;
    }
    int w = snprintf(v, sizeof v, "%s; price=%d; reputation=%s; stamps=%zu; replayed=%zu; "
                     "invalid=%zu", e->hostname, txn->price.bits,
                     pd_rep_band_name(txn->price.band), n_stamps, replayed, invalid);
    size_t n = w > 0 && (size_t) w < sizeof v ? (size_t) w : 0;
    if (n_rcpts == 1) {
        const struct pd_postage_rcpt *r = &rcpts[0];
        char shown[SHOWN_ADDRESS_MAX];
        shown_address(r->address, shown);
        if (r->outcome == PD_RCPT_PAID)
            snprintf(v + n, sizeof v - n, "; rcpt=<%s> paid %u/%u%s", shown, r->value,
                     r->need, stamps[r->stamp].kind == POSTAGE_KIND_ARGON2ID ? " argon2id" : "");
        else
            snprintf(v + n, sizeof v - n, "; rcpt=<%s> %s", shown,
                     pd_rcpt_outcome_name(r->outcome));
    } else {
        static const enum pd_rcpt_outcome order[] = {
            PD_RCPT_PAID, PD_RCPT_FREE, PD_RCPT_GREYLIST_PASSED, PD_RCPT_WHITELISTED,
            PD_RCPT_UNPAID
        };
        size_t argon2id = 0;
        for (size_t i = 0; i < n_rcpts; i++)
            argon2id += rcpts[i].outcome == PD_RCPT_PAID &&
                        stamps[rcpts[i].stamp].kind == POSTAGE_KIND_ARGON2ID;
        for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
            size_t count = 0;
            for (size_t i = 0; i < n_rcpts; i++)
                count += rcpts[i].outcome == order[o];
            if (count == 0)
                continue;
            w = snprintf(v + n, sizeof v - n, "; %s=%zu", pd_rcpt_outcome_name(order[o]), count);
            n += w > 0 ? (size_t) w : 0;
            if (n >= sizeof v)
                n = sizeof v - 1;
        }
        if (argon2id > 0)
            snprintf(v + n, sizeof v - n, "; paid-argon2id=%zu", argon2id);
    }
    snprintf(a->prepend_name, sizeof a->prepend_name, "X-Postage-Result");
    memcpy(a->prepend_value, v, sizeof a->prepend_value);
}

void
pd_engine_postage(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
                  struct pd_postage_rcpt *rcpts, size_t n_rcpts,
                  struct pd_postage_stamp *stamps, size_t n_stamps, int64_t now,
                  struct pd_answer *a)
{
    memset(a, 0, sizeof *a);
    a->verdict.action = PD_DUNNO;
    for (size_t i = 0; i < n_rcpts; i++) {
        rcpts[i].outcome = PD_RCPT_UNPAID;
        rcpts[i].value = 0;
        rcpts[i].stamp = -1;
        rcpts[i].wait = 0;
        rcpts[i].need = 0;
    }
    for (size_t i = 0; i < n_stamps; i++) {
        stamps[i].outcome = PD_STAMP_IGNORED;
        stamps[i].rcpt = -1;
        stamps[i].target = -1;
    }
    if (!e->postage || !txn->priced || n_rcpts == 0)
        return;
    if (e->state == NULL) {
        set_error(e, a, "state store");
        return;
    }

    /* The recipients' addresses, as the stamp check and the attempt marks
     * take them. */
    const char **addresses = calloc(n_rcpts, sizeof *addresses);
    if (addresses == NULL) {
        set_error(e, a, "postage (out of memory)");
        return;
    }
    for (size_t i = 0; i < n_rcpts; i++)
        addresses[i] = rcpts[i].address;

    if (txn->price.bits == 0) {
        for (size_t i = 0; i < n_rcpts; i++)
            rcpts[i].outcome = PD_RCPT_FREE;
    } else {
        if (recall_quotes(e, txn, q, rcpts, n_rcpts, now) != 0) {
            set_error(e, a, "postage quotes");
            goto out;
        }
        if (assign_stamps(e, rcpts, n_rcpts, stamps, n_stamps, now, addresses) != 0) {
            a->prepend_name[0] = '\0';
            set_stamps_error(e, a);
            goto out;
        }
    }

    /* Every recipient no stamp paid for is greylisted, so that a retry
     * finds its triplet whatever the stamps do. */
    size_t replays = 0;
    for (size_t i = 0; i < n_stamps; i++)
        replays += stamps[i].outcome == PD_STAMP_REPLAYED;
    int deferred = 0;
    for (size_t i = 0; i < n_rcpts; i++) {
        if (rcpts[i].outcome != PD_RCPT_UNPAID)
            continue;
        if (greylist_rcpt(e, txn, q, &rcpts[i], now) != 0) {
            set_error(e, a, "greylisting");
            goto out;
        }
        deferred |= rcpts[i].outcome == PD_RCPT_GREYLISTED;
    }

    /* Spend only for a message we take; a stamp spent by another copy
     * since we looked pays nothing after all. */
    for (size_t i = 0; !deferred && i < n_stamps; i++) {
        struct pd_postage_stamp *st = &stamps[i];
        if (st->outcome != PD_STAMP_PAID || e->stamps == NULL)
            continue;
        /* Checked in full above; spending needs no second computation. */
        int spent = postage_store_spend(e->stamps, st->text, st->len, st->expires_at);
        if (spent == POSTAGE_OK)
            continue;
        if (spent != POSTAGE_ERR_SPENT) {
            set_stamps_error(e, a);
            goto out;
        }
        struct pd_postage_rcpt *rc = &rcpts[st->rcpt];
        st->outcome = PD_STAMP_REPLAYED;
        st->rcpt = -1;
        replays++;
        rc->stamp = -1;
        rc->value = 0;
        if (greylist_rcpt(e, txn, q, rc, now) != 0) {
            set_error(e, a, "greylisting");
            goto out;
        }
        deferred |= rc->outcome == PD_RCPT_GREYLISTED;
    }

    /* The message counts once toward its sender's record, however often
     * it is tried: its triplets and Message-ID mark it. */
    if (rep_count_attempt(e, txn, q, addresses, n_rcpts,
                          q->message_id != NULL ? q->message_id : "", (unsigned) replays,
                          now) != 0) {
        set_error(e, a, "reputation");
        goto out;
    }
    if (deferred) {
        if (give_quotes(e, q, rcpts, n_rcpts, now) != 0) {
            set_error(e, a, "postage quotes");
            goto out;
        }
        defer_for_postage(e, rcpts, n_rcpts, stamps, n_stamps, a);
        goto out;
    }
    unsigned paid = 0, bits = 0;
    for (size_t i = 0; i < n_rcpts; i++) {
        if (rcpts[i].outcome == PD_RCPT_PAID) {
            paid++;
            bits += rcpts[i].value;
        }
    }
    if (!(txn->rep_recorded & PD_TXN_REP_ACCEPTED)) {
        struct pd_rep_delta d;
        memset(&d, 0, sizeof d);
        txn->rep_recorded |= PD_TXN_REP_ACCEPTED;
        d.counter[PD_REP_ACCEPTED] = 1;
        d.counter[PD_REP_STAMPS_PAID] = paid;
        d.counter[PD_REP_BITS_PAID] = bits;
        rep_record(e, txn, now, &d, NULL);
    }
    snprintf(a->reason, sizeof a->reason, "postage: price %d, %u of %zu recipients paid, "
             "%zu stamps replayed", txn->price.bits, paid, n_rcpts, replays);
    if (e->trace_header)
        trace_header(e, txn, rcpts, n_rcpts, stamps, n_stamps, a);
out:
    free(addresses);
}

void
pd_engine_maintain(struct pd_engine *e, int64_t now)
{
    if (e->state == NULL)
        return;
    for (int t = 0; t < PD_TABLE_COUNT; t++) {
        uint64_t removed = 0;
        if (pd_state_expire(e->state, (enum pd_table) t, now, 0, &removed) != PD_ST_OK) {
            char detail[PD_ST_ERRLEN];
            pd_state_error(e->state, detail, sizeof detail);
            pd_log(PD_LOG_WARNING, "maintenance: expiring %s: %s",
                   pd_state_table_name((enum pd_table) t), detail);
        } else if (removed > 0) {
            pd_log(PD_LOG_INFO, "maintenance: %llu expired %s entries removed",
                   (unsigned long long) removed, pd_state_table_name((enum pd_table) t));
        }
    }
}

/* ---- the slot -------------------------------------------------------- */

struct pd_engine_slot {
    pthread_mutex_t lock;
    struct pd_engine *engine;
};

struct pd_engine_slot *
pd_engine_slot_new(struct pd_engine *initial)
{
    struct pd_engine_slot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    s->engine = initial;
    return s;
}

struct pd_engine *
pd_engine_slot_get(struct pd_engine_slot *s)
{
    pthread_mutex_lock(&s->lock);
    struct pd_engine *e = pd_engine_ref(s->engine);
    pthread_mutex_unlock(&s->lock);
    return e;
}

void
pd_engine_slot_swap(struct pd_engine_slot *s, struct pd_engine *next)
{
    pthread_mutex_lock(&s->lock);
    struct pd_engine *old = s->engine;
    s->engine = next;
    pthread_mutex_unlock(&s->lock);
    pd_engine_unref(old);
}

void
pd_engine_slot_free(struct pd_engine_slot *s)
{
    if (s == NULL)
        return;
    pd_engine_unref(s->engine);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
