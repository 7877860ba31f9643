/*
 * engine.h - postaged's policy engine: one set of modules and one state
 * store behind both front-ends (the Postfix policy protocol and the
 * milter).
 *
 * Modules run in a fixed order for each recipient: access control, then
 * HELO checks, then SPF, then greylisting, then quotas and accounting.
 * The HELO and SPF checks are made once per message (at its first
 * recipient) and their result is kept in struct pd_txn and applied to
 * every recipient.  The first terminal verdict
 * (OK, REJECT, DEFER, HOLD, DISCARD) ends the chain; DUNNO goes on.  A
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

#include "policy/settings.h"
#include "policy/spf.h"
#include "policy/verdict.h"

struct pd_state;
struct pd_engine;

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
};

/* What the front-end remembers of the current message between queries
 * (the policy front-end per connection, keyed by instance; the milter per
 * message).  Zero it for a new message. */
#define PD_HEADER_NAME_MAX 80
#define PD_HEADER_VALUE_MAX PD_SPF_HEADER_MAX
#define PD_TXN_HEADERS 2         /* the SPF header and X-Greylist          */

struct pd_header {
    char name[PD_HEADER_NAME_MAX];
    char value[PD_HEADER_VALUE_MAX];
    int low_priority;            /* goes after every other pending header */
};

struct pd_txn {
    char instance[128];
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
    /* Headers waiting to be added, oldest first.  The policy front-end
     * can send only one per reply, so the engine hands out one with each
     * accepted recipient (and at DATA); the milter adds what is left at
     * end of message (pd_txn_take_header). */
    unsigned n_headers;
    struct pd_header headers[PD_TXN_HEADERS];
};

/* Take the oldest pending header out of txn: 1 and *out, or 0 if none. */
int pd_txn_take_header(struct pd_txn *txn, struct pd_header *out);

struct pd_answer {
    struct pd_verdict verdict;   /* what to do                             */
    /* A header to add to the message (name "" for none; only with DUNNO
     * or OK: the policy front-end sends it as PREPEND, the milter adds it
     * at end of message).  At most one per answer: a second one waits in
     * struct pd_txn for the next accepted recipient. */
    char prepend_name[PD_HEADER_NAME_MAX];
    char prepend_value[PD_HEADER_VALUE_MAX];
    char reason[256];            /* why, for the log line                  */
};

/* Build an engine from settings (whose list items are validated here;
 * `file` names the configuration in messages).  `state` is the opened
 * store, shared by every engine of the process. */
int pd_engine_create(const struct pd_settings *settings, const char *file,
                     struct pd_state *state, struct pd_engine **out,
                     char *err, size_t errlen);

struct pd_engine *pd_engine_ref(struct pd_engine *engine);
void pd_engine_unref(struct pd_engine *engine);

/* Decide about one query at time `now`.  Never fails: if the store or a
 * module errs, the answer is on_error's action and the reason says why. */
void pd_engine_decide(struct pd_engine *engine, struct pd_txn *txn,
                      const struct pd_query *query, int64_t now,
                      struct pd_answer *answer);

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
