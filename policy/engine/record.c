/*
 * record.c - what a message leaves in the state store on its way through
 * the engine: the reputation updates of its sender, the attempt marks
 * that count it once however often it is retried, and the prices quoted
 * to its greylisting triplets; and the periodic expiry of what is old.
 *
 * The price is set at the message's first recipient (decide.c) from the
 * sender's record; the record is then updated at most once per event
 * (PD_TXN_REP_*): a greylisting pass, a quota overrun, an attempt (by the
 * policy server at RCPT, or by the milter at end of headers where the
 * Message-ID tells a retry from a new message), an acceptance.  A price
 * quoted in a deferral (postage.c) is a promise kept for the retry.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/log.h"
#include "policy/engine/engine_internal.h"
#include "policy/engine/rep_writer.h"

/* Hand one update for the message's identities to the writer: `both` to
 * the sender's identity and to its host, `host` (when not NULL) to the
 * host's "ip:" identity instead of `both`. */
void
pd_eng_rep_record(struct pd_engine *e, const struct pd_txn *txn, int64_t now,
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

void
pd_eng_rep_record_one(struct pd_engine *e, struct pd_txn *txn, int64_t now,
                      enum pd_rep_counter c, unsigned once)
{
    struct pd_rep_delta d;
    if (!e->postage || !txn->priced || (txn->rep_recorded & once))
        return;
    memset(&d, 0, sizeof d);
    d.counter[c] = 1;
    txn->rep_recorded |= once;
    pd_eng_rep_record(e, txn, now, &d, NULL);
}

/* The key of a recipient's greylisting triplet: the client network, the
 * normalised sender and the recipient, lowercased, then `extra` (a
 * Message-ID, or "").  Returns 0, or -1 when there is no triplet (no
 * client address or no recipient). */
int
pd_eng_triplet_key(const struct pd_engine *e, const struct pd_query *q, const char *rcpt,
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

int
pd_eng_mark_once(struct pd_engine *e, enum pd_table table, const char *key, int64_t life,
                 int64_t now, int *existed)
{
    struct mark_ctx m = { life, 0 };
    int rc = pd_state_update(e->state, table, key, strlen(key), now, mark_once, &m);
    *existed = m.existed;
    return rc;
}

#define QUOTE_VERSION 1

/* The bits quoted to a triplet still in force: 1 and *bits, 0 if none,
 * -1 when the store failed. */
int
pd_eng_quote_get(const struct pd_engine *e, const char *key, int64_t now, unsigned *bits)
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

/* Mark the message's triplets (with `extra`) as attempted, all at once
 * (pd_state_add_many; Redis: one round trip whatever the number of
 * recipients), as pd_eng_mark_once marks one; *retry says whether one was
 * marked before.  0, or -1 when the store failed. */
static int
mark_attempts(struct pd_engine *e, const struct pd_query *q, const char *const *rcpts,
              size_t n_rcpts, const char *extra, int64_t now, int *retry)
{
    static const unsigned char mark[1] = { 1 };
    struct pd_state_add *a = calloc(n_rcpts ? n_rcpts : 1, sizeof *a);
    char (*keys)[TRIPLET_KEY_MAX] = calloc(n_rcpts ? n_rcpts : 1, sizeof *keys);
    size_t k = 0;
    int rc = 0;

    *retry = 0;
    if (a == NULL || keys == NULL) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < n_rcpts; i++) {
        if (pd_eng_triplet_key(e, q, rcpts[i], extra, keys[k], sizeof keys[k]) != 0)
            continue;
        /* A recipient given twice has one triplet: marked once. */
        int twice = 0;
        for (size_t j = 0; j < k && !twice; j++)
            twice = strcmp(keys[j], keys[k]) == 0;
        if (twice)
            continue;
        a[k] = (struct pd_state_add) { PD_TABLE_ATTEMPT, keys[k], strlen(keys[k]), mark,
                                       sizeof mark, now + triplet_life(e), 0 };
        k++;
    }
    if (pd_state_add_many(e->state, a, k, now) != PD_ST_OK) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < k; i++)
        *retry |= a[i].existed;
out:
    free(a);
    free(keys);
    return rc;
}

/* Count one attempt of the message toward its sender's rate and record,
 * unless it is a retry of one counted before: one of its triplets (with
 * `extra`, the Message-ID, where known) was marked within the retry
 * window.  HELO faults are the host's: they go to its "ip:" identity and
 * to a "sender:" identity (which is bound to the host's network), never to
 * the domain SPF authenticated, whose other hosts are not at fault.
 * Returns -1 when the store failed. */
int
pd_eng_count_attempt(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
                     const char *const *rcpts, size_t n_rcpts, const char *extra,
                     unsigned replays, int64_t now)
{
    if (!e->postage || !txn->priced || (txn->rep_recorded & PD_TXN_REP_ATTEMPT))
        return 0;
    txn->rep_recorded |= PD_TXN_REP_ATTEMPT;
    int retry = 0;
    if (mark_attempts(e, q, rcpts, n_rcpts, extra, now, &retry) != 0)
        return -1;
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
    pd_eng_rep_record(e, txn, now, &d, &host);
    return 0;
}

/* Each recipient's need: the price, or a lower price quoted to its
 * triplet in a deferral still in force.  Every quote is read at once
 * (pd_state_get_many; Redis: one round trip whatever the number of
 * recipients), each as pd_eng_quote_get reads one.  -1 when the store
 * failed. */
int
pd_eng_recall_quotes(const struct pd_engine *e, const struct pd_txn *txn,
                     const struct pd_query *q, struct pd_postage_rcpt *rcpts, size_t n_rcpts,
                     int64_t now)
{
    size_t n = n_rcpts ? n_rcpts : 1, k = 0;
    struct pd_state_read *rd = calloc(n, sizeof *rd);
    char (*keys)[TRIPLET_KEY_MAX] = calloc(n, sizeof *keys);
    unsigned char (*val)[PD_ST_VALUE_MAX] = calloc(n, sizeof *val);
    size_t *of = calloc(n, sizeof *of);
    int rc = 0;

    if (rd == NULL || keys == NULL || val == NULL || of == NULL) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < n_rcpts; i++) {
        rcpts[i].need = (unsigned) txn->price.bits;
        if (pd_eng_triplet_key(e, q, rcpts[i].address, "", keys[k], sizeof keys[k]) != 0)
            continue;
        rd[k] = (struct pd_state_read) { .table = PD_TABLE_QUOTE, .key = keys[k],
                                         .keylen = strlen(keys[k]), .val = val[k],
                                         .cap = sizeof val[k] };
        of[k++] = i;
    }
    if (pd_state_get_many(e->state, rd, k, now) != PD_ST_OK) {
        rc = -1;
        goto out;
    }
    for (size_t j = 0; j < k; j++) {
        struct pd_postage_rcpt *r = &rcpts[of[j]];
        if (rd[j].status != PD_ST_OK || rd[j].vallen != 2 || val[j][0] != QUOTE_VERSION)
            continue;                   /* none, or not a quote of ours */
        unsigned quoted = val[j][1];
        if (quoted < r->need || txn->price.over_cap)
            r->need = quoted;
    }
out:
    free(rd);
    free(keys);
    free(val);
    free(of);
    return rc;
}

/* Quote every deferred recipient its need, honoured on a retry within
 * the greylisting retry window.  -1 when the store failed. */
int
pd_eng_give_quotes(const struct pd_engine *e, const struct pd_query *q,
                   const struct pd_postage_rcpt *rcpts, size_t n_rcpts, int64_t now)
{
    for (size_t i = 0; i < n_rcpts; i++) {
        char key[TRIPLET_KEY_MAX];
        struct quote_ctx qc = { rcpts[i].need, triplet_life(e) };
        if (rcpts[i].outcome != PD_RCPT_GREYLISTED || rcpts[i].need == 0 ||
            pd_eng_triplet_key(e, q, rcpts[i].address, "", key, sizeof key) != 0)
            continue;
        if (pd_state_update(e->state, PD_TABLE_QUOTE, key, strlen(key), now, keep_lowest_quote,
                            &qc) != PD_ST_OK)
            return -1;
    }
    return 0;
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
