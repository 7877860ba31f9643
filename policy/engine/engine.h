/*
 * engine.h - postaged's policy engine: one set of modules and one state
 * store behind both front-ends (the Postfix policy protocol and the
 * milter).
 *
 * Modules run in a fixed order for each recipient: access control, then
 * HELO checks, then SPF, then the price (postage: Hashcash bits from the
 * sender's reputation), then greylisting, then quotas and accounting.
 * The HELO and SPF checks and the price are made once per message (at
 * its first recipient) and their result is kept in struct pd_txn and
 * applied to every recipient.  The first terminal verdict
 * (OK, REJECT, DEFER, HOLD, DISCARD) ends the chain; DUNNO goes on.
 * Where stamps can be seen (the milter, with postage on), greylisting
 * waits for end of headers, after the stamps (pd_engine_postage).  A
 * message is counted against quotas and accounting once, at its end, with
 * its real size.
 *
 * An engine is built from one configuration and is read-only afterwards,
 * so any number of threads may use it at once; a reload builds a new
 * engine and swaps it in (pd_engine_ref / pd_engine_unref).
 */
#ifndef POSTAGE_POLICY_ENGINE_H
#define POSTAGE_POLICY_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/checks/reputation.h"
#include "policy/engine/settings.h"
#include "policy/checks/spf.h"
#include "policy/checks/verdict.h"
#include "postage/store.h"

struct pd_state;
struct pd_engine;
struct pd_rep_writer;
struct pd_metrics;
struct pd_dns_stats;

enum pd_stage {
    PD_STAGE_OTHER = 0,   /* CONNECT, HELO, MAIL, VRFY, ETRN, ...: DUNNO */
    PD_STAGE_RCPT,
    PD_STAGE_DATA,
    PD_STAGE_END_OF_MESSAGE
};

/* What the engine is asked.  Strings are NUL-terminated; "" when unknown. */
struct pd_query {
    enum pd_stage stage;
    const char *instance;        /* one mail transaction                  */
    const char *queue_id;        /* Postfix queue id ("" before known)    */
    const char *client_address;
    const char *client_name;     /* verified name, or "unknown"           */
    const char *helo_name;
    const char *sender;          /* "" for the null sender                */
    const char *recipient;
    const char *sasl_username;   /* "" when not authenticated             */
    uint64_t size;               /* message size at END-OF-MESSAGE        */
    unsigned recipient_count;    /* accepted recipients, at DATA / EOM    */
    int from_milter;             /* asked by the milter front-end         */
    /* The policy front-end: postaged's milter has this SMTP session too
     * (pd_milter_session_active), so it greylists and adds the headers.
     * Read at the message's first recipient and kept in struct pd_txn. */
    int milter_in_path;
    const char *message_id;      /* the milter at end of headers, or NULL  */
};

/* What the front-end remembers of the current message between queries
 * (the policy front-end per connection, keyed by instance; the milter per
 * message).  Zero it for a new message. */
#define PD_HEADER_NAME_MAX 80
#define PD_HEADER_VALUE_MAX PD_SPF_HEADER_MAX
#define PD_TXN_HEADERS 3         /* SPF, X-Greylist, X-Postage-Price       */

struct pd_header {
    char name[PD_HEADER_NAME_MAX];
    char value[PD_HEADER_VALUE_MAX];
    int low_priority;            /* goes after every other pending header */
};

struct pd_txn {
    char instance[128];
    int path_known;              /* milter_in_path was read               */
    int milter_in_path;          /* see struct pd_query                   */
    int greylist_header_sent;    /* the X-Greylist header was queued      */
    int accounted;               /* counted against quotas already        */
    /* HELO checks, made once per message */
    int helo_done;
    int helo_failed;             /* the store failed (on_error applies)   */
    struct pd_verdict helo_verdict;
    char helo_reason[256];
    /* SPF, checked once per message */
    int spf_done;
    int spf_header_queued;
    struct pd_spf_outcome spf;
    int helo_score;              /* the HELO checks' score, for the price */
    /* postage: the price, set once per message at its first recipient */
    int priced;
    struct pd_price price;
    struct pd_rep_ids ids;
    int price_header_queued;
    unsigned rep_recorded;       /* PD_TXN_REP_* events already recorded  */
    /* Headers waiting to be added, oldest first.  The policy front-end
     * can send only one per reply, so the engine hands out one with each
     * accepted recipient (and at DATA); the milter adds what is left at
     * end of message (pd_txn_take_header). */
    unsigned n_headers;
    struct pd_header headers[PD_TXN_HEADERS];
};

enum {
    PD_TXN_REP_GREYLIST = 1 << 0,
    PD_TXN_REP_QUOTA = 1 << 1,
    PD_TXN_REP_ACCEPTED = 1 << 2,
    PD_TXN_REP_ATTEMPT = 1 << 3      /* the message counted toward the rate */
};

/* Take the oldest pending header out of txn: 1 and *out, or 0 if none. */
int pd_txn_take_header(struct pd_txn *txn, struct pd_header *out);

#define PD_DETAIL_LINE 400   /* within RFC 5321's 512-octet reply line */
#define PD_DETAIL_MAX (12 * PD_DETAIL_LINE)

struct pd_answer {
    struct pd_verdict verdict;   /* what to do                             */
    /* A header to add to the message (name "" for none; only with DUNNO
     * or OK: the policy front-end sends it as PREPEND, the milter adds it
     * at end of message).  At most one per answer: a second one waits in
     * struct pd_txn for the next accepted recipient. */
    char prepend_name[PD_HEADER_NAME_MAX];
    char prepend_value[PD_HEADER_VALUE_MAX];
    char reason[256];            /* why, for the log line                  */
    /* More reply lines after verdict.text, '\n'-separated (a deferral's
     * reasons), for a front-end that can send a multi-line reply (the
     * milter); "" for none.  Each line is at most PD_DETAIL_LINE bytes. */
    char detail[PD_DETAIL_MAX];
    /* The step that decided (a pd_metrics_module, policy/base/metrics.h):
     * what the front-end counts the decision under. */
    int module;
};

/* Build an engine from settings (whose list items are validated here;
 * `file` names the configuration in messages).  `state` is the opened
 * store, shared by every engine of the process. */
int pd_engine_create(const struct pd_settings *settings, const char *file,
                     struct pd_state *state, struct pd_engine **out,
                     char *err, size_t errlen);

/* Give an engine the double-spend store of stamps (NULL: stamps are
 * checked but never recorded, for tests) and the reputation writer (NULL:
 * updates are applied in place, for tests).  Call before first use; both
 * must outlive the engine. */
void pd_engine_attach(struct pd_engine *engine, postage_store *stamps,
                      struct pd_rep_writer *writer);

/* Point the engine at postaged's metrics registry (NULL: none).  The
 * registry outlives every engine, so that counts survive a reload. */
void pd_engine_set_metrics(struct pd_engine *engine, struct pd_metrics *metrics);
struct pd_metrics *pd_engine_metrics(const struct pd_engine *engine);

/* The counters of the engine's resolver (metrics): 1 and *out, or 0 when
 * it has none. */
int pd_engine_dns_stats(struct pd_engine *engine, struct pd_dns_stats *out);

/* Does this engine greylist at end of headers (the milter, which sees
 * the stamps) rather than at RCPT?  True when postage is on and the
 * milter front-end is configured. */
int pd_engine_greylists_at_headers(const struct pd_engine *engine);

/* The name postaged uses for this host in its headers (the hostname
 * setting): the authserv-id of its Authentication-Results header. */
const char *pd_engine_hostname(const struct pd_engine *engine);

struct pd_engine *pd_engine_ref(struct pd_engine *engine);
void pd_engine_unref(struct pd_engine *engine);

/* Decide about one query at time `now`.  Never fails: if the store or a
 * module errs, the answer is on_error's action and the reason says why. */
void pd_engine_decide(struct pd_engine *engine, struct pd_txn *txn,
                      const struct pd_query *query, int64_t now,
                      struct pd_answer *answer);

/*
 * Postage at end of headers (the milter).  The caller lists the message's
 * accepted recipients and the stamps of its X-Hashcash: headers (already
 * unfolded, see postage_header_stamp); the engine fills in what became of
 * each.
 */
#define PD_POSTAGE_STAMPS_MAX 64      /* stamps read from one message     */

enum pd_rcpt_outcome {
    PD_RCPT_UNPAID = 0,      /* not paid, greylisting not applied (off)    */
    PD_RCPT_PAID,            /* a stamp paid for it                        */
    PD_RCPT_FREE,            /* the price was 0                            */
    PD_RCPT_GREYLIST_PASSED, /* passed greylisting (or its auto-whitelist) */
    PD_RCPT_WHITELISTED,     /* greylisting whitelists the client or it    */
    PD_RCPT_GREYLISTED       /* neither paid nor past greylisting: defer   */
};

struct pd_postage_rcpt {
    const char *address;          /* as at RCPT, without <>                 */
    enum pd_rcpt_outcome outcome;
    unsigned value;               /* PAID: the stamp's value                */
    int stamp;                    /* PAID: index into the stamps, else -1   */
    int64_t wait;                 /* GREYLISTED: seconds before a retry     */
    /* The bits a stamp must be worth to pay for it: the price, or the
     * lower price quoted to this triplet in a deferral still in force. */
    unsigned need;
};

/* What became of each recipient, as the trace header and the log name
 * it ("paid", "greylist-passed", ...). */
const char *pd_rcpt_outcome_name(enum pd_rcpt_outcome outcome);

enum pd_stamp_outcome {
    PD_STAMP_UNUSED = 0,     /* valid, but every recipient it names is paid */
    PD_STAMP_PAID,           /* paid for recipient `rcpt`                  */
    PD_STAMP_REPLAYED,       /* spent before: pays nothing                 */
    PD_STAMP_UNDERPAID,      /* value below the price                      */
    PD_STAMP_NO_RECIPIENT,   /* its resource is none of the recipients     */
    PD_STAMP_INVALID,        /* grammar, date, expired or future (`check`) */
    PD_STAMP_IGNORED,        /* beyond PD_POSTAGE_STAMPS_MAX or the price  *
                              * was 0 for everyone, or an Argon2id stamp   *
                              * past argon2id_max_per_message              */
    PD_STAMP_KIND_REFUSED,   /* a kind postage_kinds does not accept       */
    PD_STAMP_OUT_OF_BOUNDS   /* Argon2id parameters or bits out of bounds  */
};

struct pd_postage_stamp {
    const char *text;
    size_t len;
    enum pd_stamp_outcome outcome;
    int check;                    /* postage_check's verdict                */
    unsigned value;               /* in SHA-1 bits (Argon2id: converted)    */
    int rcpt;                     /* PAID: index into the recipients        */
    unsigned kind;                /* POSTAGE_KIND_*, 0 if unparsable        */
    int64_t expires_at;           /* PAID: what the double-spend store keeps */
    int target;                   /* the recipient its resource names, or -1 */
};

/*
 * pd_engine_postage - decide a message at end of headers.
 *
 * Each recipient's `need` is the price, or the lower price a deferral
 * quoted to its triplet (network, sender, recipient) within the
 * greylisting retry window: a quote is a promise, kept whatever the
 * sender's record did since.  Each stamp pays for at most one recipient:
 * the one its resource names, if it is of a kind postage_kinds accepts,
 * its value (an Argon2id stamp's converted to SHA-1 bits at the
 * price_*_rate exchange rate) is at least that recipient's need, its date
 * is within stamp_validity +- stamp_grace, and it was not spent before.
 * Every recipient not paid for goes through greylisting.  If one is
 * neither paid nor past greylisting, the answer is DEFER (451 4.7.1)
 * naming the price and the recipients still to pay, with answer->detail
 * saying why each one's stamp did not pay; the need is quoted to each of
 * them, and no stamp is spent, so the same stamps pay on the retry.
 * Otherwise the stamps that paid are spent (atomically; one that another
 * copy spent in between pays nothing after all), the answer is DUNNO, and,
 * with postage_header, prepend_name/value hold the X-Postage-Result trace
 * header, which names a recipient only when there is exactly one.
 *
 * The message counts toward its sender's record once: a retry (one of
 * its triplets seen with the same query->message_id within the retry
 * window) adds nothing but its acceptance.
 */
void pd_engine_postage(struct pd_engine *engine, struct pd_txn *txn,
                       const struct pd_query *query, struct pd_postage_rcpt *rcpts,
                       size_t n_rcpts, struct pd_postage_stamp *stamps, size_t n_stamps,
                       int64_t now, struct pd_answer *answer);

/* Expire old state (run periodically, off the request path). */
void pd_engine_maintain(struct pd_engine *engine, int64_t now);

/* The engine currently in force, swapped on reload while front-end
 * threads keep using the one they hold until they release it. */
struct pd_engine_slot;
struct pd_engine_slot *pd_engine_slot_new(struct pd_engine *initial);
struct pd_engine *pd_engine_slot_get(struct pd_engine_slot *slot);   /* a reference */
void pd_engine_slot_swap(struct pd_engine_slot *slot, struct pd_engine *next);
void pd_engine_slot_free(struct pd_engine_slot *slot);

#endif
