/*
 * reputation.h - what postaged remembers of each sender, and the price in
 * Hashcash bits that its next message must pay.
 *
 * Identities (pd_rep_identities):
 *   "domain:example.org"               the SPF-authenticated sender domain,
 *                                      when SPF passed for MAIL FROM;
 *   "sender:192.0.2.0/24 a@example.com" otherwise the client network
 *                                      (greylist_ipv4/6_prefix) with the
 *                                      envelope sender ("<>" for null);
 *   "ip:192.0.2.10"                    the client address alone, whose
 *                                      message rate is the volume of a
 *                                      host whatever names it sends as.
 *
 * A record per identity keeps counters of its history that decay
 * exponentially (half-life `half_life`) and a rate
 * counter that decays with the time constant `rate_window`: for a
 * steady sender it settles at its messages per rate_window.
 *
 * The price (pd_price_compute; docs/pricing.md has the worked table):
 *
 *   good    = accepted + greylist_passed + bits_paid / 10
 *   bad     = 4 * (helo_failures + spf_failures + replayed + quota_overruns)
 *   net     = good - bad
 *   credit  = spf_credit (SPF pass) + min(credit_max, floor(log2(1 + net)))
 *   history = min(cap, floor(log2(1 - net)))          (only when net < 0)
 *   penalty = HELO score of the message + the SPF result's penalty + history
 *   surplus = max(rate(identity), rate(client address)) / allowance
 *   surcharge = surplus > 1 ? ceil(log2(surplus)) : 0
 *   price   = base - credit + penalty + surcharge, then clamped to 0 below;
 *             above cap the message is refused instead (over_cap).
 *
 * The promise (docs/price-discovery.md): a sender not in bad standing
 * (neither its identity's nor its host's "ip:" record has a net score
 * below 0 once failed HELO tests are left out: those are how a host is set
 * up, and cost it its HELO score in the price already) is never asked more than
 * the published price (published_price, at most cap): a price above it
 * is lowered to it (promised), and such a sender is never refused for
 * being over cap, whatever its penalties and volume surcharge; quotas are
 * the volume defence for it.  A sender in bad standing pays its own price.
 *
 * A pinned identity pays its pinned price whatever its history, even above
 * the published price (the postmaster's explicit exception to the
 * promise); a pin above cap refuses its messages (over_cap), as a computed
 * price above it.
 *
 * Everything here is a pure function of its arguments except the three
 * store calls at the bottom, which run one atomic update each.
 */
#ifndef POSTAGE_POLICY_REPUTATION_H
#define POSTAGE_POLICY_REPUTATION_H

#include <stddef.h>
#include <stdint.h>

#include "policy/checks/spf.h"

struct pd_state;

/* The decaying counters of a record. */
enum pd_rep_counter {
    PD_REP_ACCEPTED = 0,      /* messages delivered                        */
    PD_REP_GREYLIST_PASSED,   /* greylisting retries that passed           */
    PD_REP_STAMPS_PAID,       /* stamps that paid for a recipient          */
    PD_REP_BITS_PAID,         /* the value of those stamps, summed         */
    PD_REP_HELO_FAILURES,     /* messages whose HELO failed a test         */
    PD_REP_SPF_FAILURES,      /* SPF fail or softfail                      */
    PD_REP_REPLAYED,          /* stamps presented again after being spent  */
    PD_REP_QUOTA_OVERRUNS,    /* messages refused by a quota or the cap    */
    PD_REP_RATE,              /* messages, decaying over rate_window       */
    PD_REP_COUNTERS
};

#define PD_REP_ID_MAX 600     /* longest identity string, with its NUL      */

/* Every field is a setting: the settings table (policy/engine/settings.c)
 * holds the defaults and bounds, pd_settings_rep_params and
 * pd_settings_rep_defaults (settings.h) fill this in. */
struct pd_rep_params {
    int64_t half_life;        /* seconds (reputation_half_life)            */
    int64_t rate_window;      /* seconds (price_rate_window)               */
    double allowance;         /* messages per rate_window without surcharge */
    int base;                 /* price_base                                */
    int cap;                  /* price_cap                                 */
    int published;            /* published_price: the most a sender not in
                               * bad standing is asked, 0 .. cap           */
    int spf_credit;           /* bits off for an SPF pass (price_spf_credit) */
    int credit_max;           /* most bits off for history                 */
    int spf_softfail_penalty; /* price_spf_softfail_penalty                */
    int spf_other_penalty;    /* none, neutral, temperror, permerror       */
};

struct pd_rep_record {
    int64_t first_seen;       /* 0 for an identity never seen              */
    int64_t updated_at;       /* the time the counters are decayed to      */
    double counter[PD_REP_COUNTERS];
    uint32_t messages;        /* lifetime total, never decays              */
    int pinned;               /* pin_bits applies                          */
    int pin_bits;             /* 0 .. 255                                  */
};

/* What happened, to add to a record (pd_rep_apply). */
struct pd_rep_delta {
    double counter[PD_REP_COUNTERS];
    uint32_t messages;
};

/* Reputation bands, for trace headers and the admin command. */
enum pd_rep_band {
    PD_REP_BAND_BAD = 0,      /* net < 0                                   */
    PD_REP_BAND_UNKNOWN,      /* 0 <= net < 1: nothing known               */
    PD_REP_BAND_KNOWN,        /* 1 <= net < 64                             */
    PD_REP_BAND_GOOD,         /* 64 <= net < 1024                          */
    PD_REP_BAND_TRUSTED       /* net >= 1024                               */
};

/* The facts of one message that the price depends on. */
struct pd_price_input {
    int spf_pass;                  /* SPF passed for the MAIL FROM domain  */
    enum pd_spf_result spf_result; /* when checked                         */
    int spf_checked;               /* 0: SPF off or skipped: no penalty    */
    int helo_score;                /* the HELO checks' score (>= 0)        */
    const struct pd_rep_record *identity;  /* decayed to now               */
    const struct pd_rep_record *client;    /* the "ip:" identity           */
};

struct pd_price {
    int bits;           /* the price, >= 0; meaningful unless over_cap     */
    int raw;            /* before clamping (may be < 0 or > cap)           */
    int over_cap;       /* raw > cap: refuse instead                       */
    int pinned;         /* set by a pin, not computed (over_cap still applies) */
    int promised;       /* the published price lowered it (raw > published) */
    int bad_standing;   /* outside the promise: see above                    */
    int credit, penalty, surcharge;
    double net;         /* the identity's net score                        */
    double rate;        /* the rate that set the surcharge                 */
    enum pd_rep_band band;  /* the identity's; bad also when in bad standing */
};

/* Check bounds; on error returns -1 with a message naming the field. */
int pd_rep_params_check(const struct pd_rep_params *p, char *err, size_t errlen);

/* Decay every counter of @r from r->updated_at to @now (no-op if the
 * clock went back) and set updated_at = now.  A record never seen
 * (first_seen 0) is only stamped with now. */
void pd_rep_decay(struct pd_rep_record *r, const struct pd_rep_params *p, int64_t now);

/* Add @d to @r (decay it first). */
void pd_rep_add(struct pd_rep_record *r, const struct pd_rep_params *p, int64_t now,
                const struct pd_rep_delta *d);

/* good - bad, as in the formula above. */
double pd_rep_net(const struct pd_rep_record *r);
enum pd_rep_band pd_rep_band_of(double net);
const char *pd_rep_band_name(enum pd_rep_band band);

/* The rate counter as messages per rate_window (it is stored that way). */
double pd_rep_rate(const struct pd_rep_record *r);

/* The price of one message.  @in's records must be decayed to now. */
void pd_price_compute(const struct pd_rep_params *p, const struct pd_price_input *in,
                      struct pd_price *out);

/* Serialise (version 1, big-endian, 60 bytes) and back.  decode returns
 * -1 for a value of another version or size (then @r is a fresh record). */
size_t pd_rep_encode(const struct pd_rep_record *r, unsigned char *out, size_t cap);
int pd_rep_decode(const unsigned char *in, size_t len, struct pd_rep_record *r);

/* The counter's name ("accepted", "greylist_passed", ...). */
const char *pd_rep_counter_name(enum pd_rep_counter c);

/*
 * The identities of a message.  @spf_domain is the MAIL FROM domain when
 * SPF passed for it, else NULL.  The client address is masked to
 * v4_prefix / v6_prefix bits for the "sender:" identity.  Everything is
 * lowercased.  Returns 0, or -1 when the client address does not parse
 * (then only the "sender:" identity is made, with network "unknown", and
 * the volume identity is "").  An identity that would not fit is cut, so
 * a hostile sender cannot make one longer than PD_REP_ID_MAX.
 */
struct pd_rep_ids {
    char identity[PD_REP_ID_MAX];
    char client[PD_REP_ID_MAX];
};
int pd_rep_identities(const char *spf_domain, const char *client_address, const char *sender,
                      unsigned v4_prefix, unsigned v6_prefix, struct pd_rep_ids *out);

/* Is @id a well-formed identity ("domain:", "sender:" or "ip:" and a
 * non-empty rest, printable, < PD_REP_ID_MAX)?  For the admin command. */
int pd_rep_identity_valid(const char *id);

/* ---- the store -------------------------------------------------------- */

/* Read @id's record decayed to @now; a fresh record if there is none.
 * Returns PD_ST_OK or the store's error. */
int pd_rep_load(struct pd_state *st, const struct pd_rep_params *p, const char *id,
                int64_t now, struct pd_rep_record *out);

/* Atomically decay and add @d to @id's record.  The entry expires when
 * its counters have decayed below 1/1000 (10 half-lives), unless pinned. */
int pd_rep_apply(struct pd_state *st, const struct pd_rep_params *p, const char *id,
                 int64_t now, const struct pd_rep_delta *d);

/* Read the records of @n identities (ids[i] "" gives a fresh record)
 * decayed to @now, in one read of the store where it can (Redis: one
 * round trip).  Returns PD_ST_OK or the store's error. */
int pd_rep_load_many(struct pd_state *st, const struct pd_rep_params *p,
                     const char *const *ids, size_t n, int64_t now,
                     struct pd_rep_record *out);

/* One update for pd_rep_apply_many: what pd_rep_apply takes. */
struct pd_rep_update {
    const char *id;
    const struct pd_rep_params *params;
    int64_t now;
    struct pd_rep_delta delta;
};

/* pd_rep_apply of @n updates, in order, in one batch of the store where
 * it can (pd_state_update_many; Redis: two round trips for them all).
 * The updates of one identity are merged into one update of its record,
 * applied in the order given, each at its own time.  Returns PD_ST_OK,
 * or the first failure (then some identities may have been updated, each
 * wholly or not at all). */
int pd_rep_apply_many(struct pd_state *st, const struct pd_rep_update *u, size_t n);

/* Pin @id to @bits (0 .. 255), or clear its pin with bits < 0. */
int pd_rep_pin(struct pd_state *st, const struct pd_rep_params *p, const char *id,
               int64_t now, int bits);

#endif
