/*
 * decide.c - postaged's decision about one query: the module chain
 * behind both front-ends (engine.h, pd_engine_decide).
 *
 * Order for a recipient (RCPT): access control, HELO checks, SPF, the
 * price, greylisting, quotas (PolicyD's order, with the price where SPF
 * and HELO, which it weighs, are known).  The first terminal verdict
 * ends the chain.  The HELO and SPF checks and the price are made once
 * per message, at its first recipient that gets past access control; the
 * result is kept in struct pd_txn and applied to every recipient.  A
 * price over price_cap refuses the message.  Greylisting happens here
 * only where no stamp can be seen: the policy server greylists a session
 * it has alone, the milter its sessions when postage is off; with postage
 * on, the milter greylists at end of headers, after the stamps
 * (postage.c).  A price of 0 needs no stamp and no greylisting.
 *
 * Trace headers (the SPF header, X-Greylist, X-Postage-Price) are queued
 * in struct pd_txn, each once per message, and handed out one per
 * accepted recipient (the policy protocol allows one PREPEND per reply;
 * DATA also takes one), the SPF header first; the milter adds whatever is
 * left at end of message.  At END-OF-MESSAGE the message is checked
 * against size limits and then counted once, with its real size;
 * recipient-keyed quotas count each accepted recipient at RCPT instead,
 * since the recipients are not all known at the end.  A message seen by
 * both front-ends (policy server and milter on one Postfix) is counted by
 * whichever gets there first: the queue id is remembered in the store.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/engine/engine_internal.h"
#include "policy/helo/helo_dns.h"
#include "postage/status.h"

#define ACCOUNTED_TTL 86400   /* a queue id is not reused within a day */

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
void
pd_eng_set_error(const struct pd_engine *e, struct pd_answer *a, const char *what)
{
    char detail[PD_ST_ERRLEN] = "";
    if (e->state != NULL)
        pd_state_error(e->state, detail, sizeof detail);
    set_error_detail(e, a, what, detail);
}

/* A failure of the double-spend store: its reason is in its own handle,
 * not the state store's. */
void
pd_eng_set_stamps_error(const struct pd_engine *e, struct pd_answer *a)
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

/* Returns 1 if a terminal verdict was set, 0 to go on, -1 on error. */
int
pd_eng_greylist(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q, int64_t now,
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
        if (pd_eng_postage_front_end(txn, q))
            pd_eng_rep_record_one(e, txn, now, PD_REP_GREYLIST_PASSED, PD_TXN_REP_GREYLIST);
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
        /* Both records in one read (Redis: one round trip). */
        const char *ids[2] = { txn->ids.identity, txn->ids.client };
        struct pd_rep_record recs[2];
        if (pd_rep_load_many(e->state, &e->rep, ids, 2, now, recs) != PD_ST_OK)
            return -1;
        id = recs[0];
        client = recs[1];
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
        /* Once per message: the price asked, over the cap or not. */
        pd_metrics_price(e->metrics, txn->price.over_cap ? txn->price.raw : txn->price.bits);
    }
    const struct pd_price *p = &txn->price;
    /* Stamps will be looked at for this message (by the milter) */
    int stamps_in_view = q->from_milter || txn->milter_in_path;
    if (p->over_cap) {
        /* A price quoted to this triplet in a deferral is a promise: the
         * recipient waits for its stamp at end of headers. */
        char key[TRIPLET_KEY_MAX];
        unsigned quoted;
        if (stamps_in_view && pd_eng_triplet_key(e, q, q->recipient, "", key, sizeof key) == 0) {
            int found = pd_eng_quote_get(e, key, now, &quoted);
            if (found < 0)
                return -1;
            if (found > 0)
                return 0;
        }
        if (pd_eng_count_attempt(e, txn, q, &q->recipient, 1, "", 0, now) != 0)
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
    if (!q->from_milter && pd_eng_postage_front_end(txn, q) &&
        pd_eng_count_attempt(e, txn, q, &q->recipient, 1, "", 0, now) != 0)
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
            if (pd_eng_postage_front_end(txn, q))
                pd_eng_rep_record_one(e, txn, now, PD_REP_QUOTA_OVERRUNS, PD_TXN_REP_QUOTA);
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
    int counted = 0;
    if (q->queue_id != NULL && q->queue_id[0] != '\0' &&
        pd_eng_mark_once(e, PD_TABLE_ACCOUNTED, q->queue_id, ACCOUNTED_TTL, now, &counted) !=
            PD_ST_OK)
        return -1;
    txn->accounted = 1;
    if (counted)
        return 0;   /* the other front-end counted it */
    for (size_t i = 0; i < e->n_quotas; i++)
        if (!pd_quota_per_recipient(&e->quotas[i]) &&
            pd_quota_account(e->state, &e->quotas[i], &subj, 1, q->size, now, NULL) != PD_ST_OK)
            return -1;
    return 0;
}

/* After one step of the chain (rc: 1 a terminal verdict, 0 go on, -1 the
 * store failed at `what`, which answers with on_error): does the chain
 * end here?  If it does, `module` (a pd_metrics_module) decided. */
static int
chain_ends(const struct pd_engine *e, struct pd_answer *a, int rc, const char *what,
           int module)
{
    if (rc < 0)
        pd_eng_set_error(e, a, what);
    if (rc != 0)
        a->module = module;
    return rc != 0;
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
        pd_eng_set_error(e, a, "state store");
        return;
    }
    if (q->stage == PD_STAGE_END_OF_MESSAGE) {
        int rc = run_quotas_eom(e, txn, q, now, a);
        if (rc != 0)
            a->module = PD_MM_QUOTA;
        if (rc < 0)
            pd_eng_set_error(e, a, "quota accounting");
        /* A session the milter is not in: the policy front-end sees the
         * end of every message it let through. */
        else if (rc == 0 && !q->from_milter && !txn->milter_in_path)
            pd_eng_rep_record_one(e, txn, now, PD_REP_ACCEPTED, PD_TXN_REP_ACCEPTED);
        return;
    }

    struct pd_access_subject subj = PD_ACCESS_SUBJECT_OF(q);
    long rule = pd_access_evaluate(&e->access, &subj, &a->verdict);
    if (rule >= 0 && a->verdict.action != PD_DUNNO) {
        snprintf(a->reason, sizeof a->reason, "access rule at line %u",
                 e->access.rules[rule].line);
        a->module = PD_MM_ACCESS;
        return;
    }
    a->verdict.action = PD_DUNNO;
    a->verdict.text[0] = '\0';
    if (chain_ends(e, a, run_helo(e, txn, q, now, a), "HELO randomisation tracking",
                   PD_MM_HELO) ||
        chain_ends(e, a, run_spf(e, txn, q, a) > 0, "SPF", PD_MM_SPF) ||
        chain_ends(e, a, run_price(e, txn, q, now, a), "reputation", PD_MM_POSTAGE))
        return;
    /* A session the milter is in is greylisted there: with postage at end
     * of headers, where the stamps are seen, else at its RCPT.  The policy
     * server greylists only sessions it has alone (postgrey's wiring).  A
     * price of 0 needs no stamp and no greylisting. */
    int greylist_here = q->from_milter ? !e->postage : !txn->milter_in_path;
    if (greylist_here && !(e->postage && txn->price.bits == 0) &&
        chain_ends(e, a, pd_eng_greylist(e, txn, q, now, a, NULL), "greylisting",
                   PD_MM_GREYLIST))
        return;
    if (chain_ends(e, a, run_quotas_rcpt(e, txn, q, now, a), "quotas", PD_MM_QUOTA))
        return;
    emit_header(txn, a);
}
