/*
 * engine_internal.h - what the parts of postaged's engine share: the
 * engine itself and the helpers more than one part calls.  Not for the
 * front-ends, whose interface is engine.h.
 *
 * The path of a message through the engine:
 *
 *   RCPT, each recipient (decide.c): access control, then the HELO checks
 *   and SPF (both once per message, their result kept in struct pd_txn
 *   and applied to every recipient), then the price in Hashcash bits
 *   (once per message, from the sender's record, SPF and HELO: over
 *   price_cap the message is refused), then greylisting where no stamp
 *   can be seen (a price of 0 skips it), then quotas.  The first terminal
 *   verdict ends the chain.
 *   DATA (decide.c): a trace header still pending goes out.
 *   End of headers, the milter with postage on (postage.c): the stamps
 *   pay for recipients, the rest are greylisted; the message is deferred
 *   with a quote, or taken and its stamps spent.
 *   END-OF-MESSAGE (decide.c): size limits, and the message is counted
 *   against quotas once, with its real size.
 *
 * What a message leaves in the store on the way (reputation updates,
 * the marks that count an attempt once, quotes) is record.c's; build.c
 * makes an engine from the settings, slot.c swaps engines on reload.
 */
#ifndef POSTAGE_POLICY_ENGINE_INTERNAL_H
#define POSTAGE_POLICY_ENGINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "policy/base/dns.h"
#include "policy/base/metrics.h"
#include "policy/base/netaddr.h"
#include "policy/checks/access.h"
#include "policy/checks/greylist.h"
#include "policy/checks/quota.h"
#include "policy/checks/reputation.h"
#include "policy/checks/spf.h"
#include "policy/engine/engine.h"
#include "policy/helo/helo.h"
#include "policy/state/state.h"
#include "postage/argon2id.h"
#include "postage/store.h"

struct pd_a2id_pool;
struct pd_rep_writer;

/* A greylisting whitelist entry for clients: a network, or a domain that
 * the client's name is or is below. */
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
    struct pd_metrics *metrics;            /* pd_engine_set_metrics */
};

/* ---- decide.c ------------------------------------------------------------ */

/* What greylisting made of one recipient (for end of headers). */
struct gl_outcome {
    enum pd_rcpt_outcome how;   /* UNPAID (off), GREYLIST_PASSED, WHITELISTED, GREYLISTED */
    int64_t wait;
};


/* Greylist q's recipient.  Returns 1 if a terminal verdict was set in a,
 * 0 to go on, -1 on a store error; *out (may be NULL) says what became of
 * the recipient. */
int pd_eng_greylist(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
                    int64_t now, struct pd_answer *a, struct gl_outcome *out);

/* Answer with on_error because the state store failed at `what` (its
 * reason goes into the log line), or because the double-spend store did. */
void pd_eng_set_error(const struct pd_engine *e, struct pd_answer *a, const char *what);
void pd_eng_set_stamps_error(const struct pd_engine *e, struct pd_answer *a);

/* ---- record.c ------------------------------------------------------------ */

/* Is this query from the front-end that records reputation and
 * greylists with the stamps in view: the milter when this session passes
 * through it, else the policy server?  Only one of the two may, or a
 * message seen by both would count twice. */
static inline int
pd_eng_postage_front_end(const struct pd_txn *txn, const struct pd_query *q)
{
    return q->from_milter || !txn->milter_in_path;
}


/* Room for a triplet key: network, sender and recipient (each bounded by
 * the request parser and the milter) and a Message-ID. */
#define TRIPLET_KEY_MAX 5200
#define MESSAGE_ID_MAX 256

/* The key of a recipient's greylisting triplet (network, normalised
 * sender, recipient, lowercased) followed by `extra` (a Message-ID, or
 * ""): 0, or -1 when there is no triplet (no client address or no
 * recipient). */
int pd_eng_triplet_key(const struct pd_engine *e, const struct pd_query *q, const char *rcpt,
                       const char *extra, char *out, size_t size);

/* Set a mark under `key` in `table` that lives `life` seconds; *existed
 * says whether it was there already.  Returns the store's PD_ST_*. */
int pd_eng_mark_once(struct pd_engine *e, enum pd_table table, const char *key, int64_t life,
                     int64_t now, int *existed);

/* The bits quoted to a triplet key still in force: 1 and *bits, 0 if
 * none, -1 when the store failed. */
int pd_eng_quote_get(const struct pd_engine *e, const char *key, int64_t now, unsigned *bits);

/* Each recipient's need (the price, or a lower quote still in force),
 * and quotes for the deferred recipients.  -1 when the store failed. */
int pd_eng_recall_quotes(const struct pd_engine *e, const struct pd_txn *txn,
                         const struct pd_query *q, struct pd_postage_rcpt *rcpts, size_t n_rcpts,
                         int64_t now);
int pd_eng_give_quotes(const struct pd_engine *e, const struct pd_query *q,
                       const struct pd_postage_rcpt *rcpts, size_t n_rcpts, int64_t now);

/* Reputation updates for the message's identities: `both` to the
 * sender's identity and its host, `host` (if not NULL) to the host
 * instead; or one counter, once per message (`once`: a PD_TXN_REP_*). */
void pd_eng_rep_record(struct pd_engine *e, const struct pd_txn *txn, int64_t now,
                       const struct pd_rep_delta *both, const struct pd_rep_delta *host);
void pd_eng_rep_record_one(struct pd_engine *e, struct pd_txn *txn, int64_t now,
                           enum pd_rep_counter c, unsigned once);

/* Count one attempt of the message toward its sender's record, unless it
 * is a retry (one of its triplets, with `extra`, marked within the retry
 * window).  Returns -1 when the store failed. */
int pd_eng_count_attempt(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
                         const char *const *rcpts, size_t n_rcpts, const char *extra,
                         unsigned replays, int64_t now);

#endif
