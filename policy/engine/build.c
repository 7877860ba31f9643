/*
 * build.c - an engine made from the settings: every conversion of a
 * setting into a module's configuration (access rules, HELO checks, DNS
 * and SPF, greylisting and its whitelists, quotas, reputation and price,
 * stamp checking), and the engine's references.
 *
 * The engine built here is read-only afterwards: any number of threads
 * may use it, and a reload builds a new one (slot.c).  Its path for a
 * message: at RCPT (decide.c) access control, HELO checks, SPF, the
 * price, greylisting, quotas; at end of headers (postage.c, the milter)
 * the stamps; at END-OF-MESSAGE (decide.c) size limits and counting;
 * what it keeps in the store on the way is record.c's.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/engine/argon2id_pool.h"
#include "policy/engine/engine_internal.h"
#include "policy/helo/helo.h"
#include "postage/clock.h"
#include "postage/status.h"
#include "postage/verify.h"

/* ---- the modules' configurations, for the engine and the tools ------- */

int
pd_settings_rep_params(const struct pd_settings *s, struct pd_rep_params *p, char *err,
                       size_t errlen)
{
    *p = (struct pd_rep_params) {
        .half_life = s->reputation_half_life,
        .rate_window = s->price_rate_window,
        .allowance = s->price_allowance,
        .base = (int) s->price_base,
        .cap = (int) s->price_cap,
        .spf_credit = (int) s->price_spf_credit,
        .credit_max = (int) s->price_history_credit_max,
        .spf_softfail_penalty = (int) s->price_spf_softfail_penalty,
        .spf_other_penalty = (int) s->price_spf_other_penalty,
    };
    /* published_price: "price_base" (the default), or bits. */
    const char *pub = s->published_price;
    if (strcmp(pub, "price_base") == 0) {
        p->published = p->base;
    } else {
        char *end;
        errno = 0;
        unsigned long n = strtoul(pub, &end, 10);
        if (*pub < '0' || *pub > '9' || *end != '\0' || errno != 0 || n > 160) {
            snprintf(err, errlen, "published_price: '%.20s' is not price_base nor a whole "
                     "number from 0 to 160", pub);
            return -1;
        }
        p->published = (int) n;
    }
    return pd_rep_params_check(p, err, errlen);
}

void
pd_settings_helo_config(const struct pd_settings *s, struct pd_helo_config *cfg)
{
    /* What a failed test adds to the HELO score, whatever its action
     * (but off): first guesses, which the price weighs.  Not settings. */
    static const int scores[PD_HELO_TEST_COUNT] = {
        [PD_HELO_TEST_MISSING] = 5,
        [PD_HELO_TEST_SYNTAX] = 5,
        [PD_HELO_TEST_BARE_IP] = 4,
        [PD_HELO_TEST_SINGLE_LABEL] = 3,
        [PD_HELO_TEST_LOCALHOST] = 5,
        [PD_HELO_TEST_OWN] = 8,
        [PD_HELO_TEST_LITERAL] = 2,
        [PD_HELO_TEST_RESOLVE] = 2,
        [PD_HELO_TEST_MATCH] = 1,
        [PD_HELO_TEST_FCRDNS] = 2,
        [PD_HELO_TEST_RANDOM] = 4,
    };

    memset(cfg, 0, sizeof *cfg);
    cfg->allow_underscore = 1;
    for (int t = 0; t < PD_HELO_TEST_COUNT; t++) {
        cfg->rule[t].act = s->helo_act[t];
        cfg->rule[t].score = scores[t];
    }
    cfg->random_limit = 5;
    cfg->random_window = 86400;
    cfg->random_v6_prefix = 128;
    cfg->own_names = (const char *const *) s->helo_own_names.items;
    cfg->own_name_count = s->helo_own_names.count;
}

void
pd_settings_greylist_config(const struct pd_settings *s, struct pd_greylist_config *cfg)
{
    *cfg = (struct pd_greylist_config) {
        .delay = s->greylist_delay,
        .retry_window = s->greylist_retry_window,
        .max_age = s->greylist_max_age,
        .awl_count = s->greylist_awl_count,
        .awl_interval = PD_GL_AWL_INTERVAL,
        .training = s->greylist_training,
    };
}

void
pd_settings_dns_config(const struct pd_settings *s, struct pd_dns_config *cfg)
{
    pd_dns_config_init(cfg);
    cfg->servers = s->dns_server;
    cfg->timeout_ms = s->dns_timeout;
}

void
pd_settings_spf_config(const struct pd_settings *s, struct pd_spf_config *cfg)
{
    pd_spf_config_init(cfg);
    cfg->helo_always = s->spf_helo_always != 0;
    cfg->temperror_defer = s->spf_temperror_defer != 0;
    cfg->permerror_reject = s->spf_permerror_reject != 0;
    cfg->header_type = s->spf_header;
    cfg->skip_addresses = s->spf_skip_addresses;
}

/* ---- the built-in defaults, for the tools and tests ------------------ */

/* Made once and never changed: what the conversions point into
 * (dns_server, spf_skip_addresses) stays valid for the process. */
static struct pd_settings builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void
make_builtin(void)
{
    pd_settings_defaults(&builtin, "");
}

const struct pd_settings *
pd_settings_builtin(void)
{
    pthread_once(&builtin_once, make_builtin);
    return &builtin;
}

void
pd_settings_rep_defaults(struct pd_rep_params *p)
{
    char err[160];
    (void) pd_settings_rep_params(pd_settings_builtin(), p, err, sizeof err);  /* they pass */
}

void
pd_settings_helo_defaults(struct pd_helo_config *cfg)
{
    pd_settings_helo_config(pd_settings_builtin(), cfg);
}

/* ---- the engine ------------------------------------------------------ */

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
    pd_settings_helo_config(s, &e->helo);
    e->helo_dns = e->helo.rule[PD_HELO_TEST_RESOLVE].act >= PD_HELO_ACT_DEFER ||
                  e->helo.rule[PD_HELO_TEST_MATCH].act >= PD_HELO_ACT_DEFER ||
                  e->helo.rule[PD_HELO_TEST_FCRDNS].act >= PD_HELO_ACT_DEFER;
    /* The engine outlives the settings: its own copy of the names. */
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

    pd_settings_dns_config(s, &dc);
    if ((e->dns = pd_dns_new(&dc, why, sizeof why)) == NULL) {
        snprintf(err, errlen, "%s: dns_server: %s", file, why[0] ? why : "out of memory");
        return -1;
    }

    e->spf_on = s->spf;
#ifndef HAVE_SPF
    if (s->spf) {
        snprintf(err, errlen, "%s: spf: postaged was built without SPF support (configure "
                 "--with-spf); set spf = no", file);
        return -1;
    }
#endif
    struct pd_spf_config sc;
    pd_settings_spf_config(s, &sc);
    sc.dns = e->dns;
    sc.receiver = e->hostname;
    char *clients = join_list(&s->spf_whitelist_clients);
    char *domains = join_list(&s->spf_whitelist_domains);
    if (clients == NULL || domains == NULL) {
        free(clients);
        free(domains);
        return -1;
    }
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

/* Greylisting: the module's configuration, the triplet's networks, the
 * header and the reply text. */
static int
load_greylist(struct pd_engine *e, const struct pd_settings *s, const char *file, char *err,
              size_t errlen)
{
    snprintf(e->gl_text, sizeof e->gl_text, "%s", s->greylist_text);
    const char *pct = strchr(e->gl_text, '%');
    if (pct != NULL && (pct[1] != 's' || strchr(pct + 1, '%') != NULL)) {
        snprintf(err, errlen, "%s: greylist_text: only one %%s (the seconds left) may appear",
                 file);
        return -1;
    }
    e->greylist = s->greylist;
    pd_settings_greylist_config(s, &e->gl);
    e->v4_prefix = s->greylist_ipv4_prefix;
    e->v6_prefix = s->greylist_ipv6_prefix;
    e->gl_header = s->greylist_header;
    return 0;
}

/* Postage: the price's parameters, what a stamp may be, and the Argon2id
 * work areas when Argon2id stamps are taken. */
static int
load_postage(struct pd_engine *e, const struct pd_settings *s, const char *file, char *err,
             size_t errlen)
{
    e->postage = s->postage;
    e->milter_on = s->milter_listen[0] != '\0';
    e->over_cap_reject = s->price_over_cap_action == PD_OVER_CAP_REJECT;
    e->stamp_validity = s->stamp_validity;
    e->stamp_grace = s->stamp_grace;
    e->trace_header = s->postage_header != PD_POSTAGE_HEADER_NONE;
    e->kinds = (unsigned) s->postage_kinds;
    e->a2id_max = (struct postage_argon2id_params) { .memory = s->argon2id_max_memory,
                                                     .passes = s->argon2id_max_passes,
                                                     .lanes = s->argon2id_max_lanes };
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
            return -1;
        }
    }
    char why[256];
    if (pd_settings_rep_params(s, &e->rep, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", file, why);
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

    /* In this order: the first error found is the one reported. */
    err[0] = '\0';
    if (load_postage(e, s, file, err, errlen) != 0 ||
        load_greylist(e, s, file, err, errlen) != 0 ||
        load_access(e, &s->access, file, err, errlen) != 0 ||
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

void
pd_engine_set_metrics(struct pd_engine *e, struct pd_metrics *metrics)
{
    e->metrics = metrics;
}

struct pd_metrics *
pd_engine_metrics(const struct pd_engine *e)
{
    return e != NULL ? e->metrics : NULL;
}

int
pd_engine_dns_stats(struct pd_engine *e, struct pd_dns_stats *out)
{
    if (e == NULL || e->dns == NULL)
        return 0;
    pd_dns_get_stats(e->dns, out);
    return 1;
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
