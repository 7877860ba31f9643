/*
 * greylist.h - postaged's greylisting module, after postgrey 1.37
 * (shared/spec/mail-policy.md section 4): a triplet (client network,
 * normalised sender, recipient) seen for the first time is deferred; a
 * retry after `delay` passes, and the client's full address earns an
 * auto-whitelist point.
 *
 * What the module does NOT do, because the engine does it once for all
 * modules: masking the client address to its network (policy/base/netaddr.c),
 * static client and recipient whitelists, reply texts and the X-Greylist
 * header.  It only decides, at a time the caller passes in, and keeps its
 * memory in the state store (policy/state/state.h) through atomic updates, so
 * any number of processes may greylist the same triplet at once.
 */
#ifndef POSTAGE_POLICY_GREYLIST_H
#define POSTAGE_POLICY_GREYLIST_H

#include <stddef.h>
#include <stdint.h>

struct pd_state;

/* Longest accepted input strings (bytes, without the NUL).  Longer input
 * is refused with PD_ST_ERR_INVALID; the policy request parser already
 * caps a line at 2048 bytes. */
#define PD_GL_NET_MAX 64
#define PD_GL_ADDR_MAX 2048

/* Seconds within which an address earns at most one auto-whitelist
 * point (awl_interval).  Not a setting: no configuration key changes it,
 * so it is the module's own constant. */
#define PD_GL_AWL_INTERVAL 3600

/* Every field but awl_interval is a setting (greylist_FIELD): the
 * settings table (policy/engine/settings.c) holds their defaults, which
 * are postgrey's, and pd_settings_greylist_config (settings.h) fills
 * this in. */
struct pd_greylist_config {
    int64_t delay;          /* seconds a new triplet waits                   */
    /* A triplet that has not passed yet and whose first retry comes more
     * than this after it was first seen starts over. */
    int64_t retry_window;
    /* A triplet or auto-whitelist entry not seen for more than this is
     * forgotten. */
    int64_t max_age;
    /* Passes after which a client address is auto-whitelisted (0 turns
     * the auto-whitelist off).  A pass counts when a triplet passes
     * for the first time, and at most once per awl_interval per address. */
    unsigned awl_count;
    int64_t awl_interval;   /* PD_GL_AWL_INTERVAL                            */
    int training;           /* record everything, never defer               */
};

enum pd_greylist_result {
    PD_GL_PASS = 0,     /* known triplet past its delay, or auto-whitelisted */
    PD_GL_PASS_FIRST,   /* first pass after a delay: add the X-Greylist header */
    PD_GL_DEFER         /* new or too early: defer (4xx)                      */
};

struct pd_greylist_decision {
    enum pd_greylist_result result;
    /* PD_GL_DEFER: seconds left before a retry will pass (>= 1).
     * PD_GL_PASS_FIRST: seconds the triplet was delayed (now - first seen).
     * PD_GL_PASS: 0. */
    int64_t seconds;
    int awl;            /* passed because the client is auto-whitelisted    */
    unsigned awl_passes; /* the client's auto-whitelist count after this call */
    /* Training mode only: what would have happened.  result is then always
     * PD_GL_PASS (the message was not delayed, so no header either). */
    enum pd_greylist_result would;
    int64_t would_seconds;
};

/**
 * pd_greylist_check - the greylisting decision for one recipient.
 * @st:             the state store.
 * @cfg:            settings (delay, retry_window, max_age >= 0; max_age > 0).
 * @client_net:     the masked client network as text ("192.0.2.0",
 *                  "2001:db8:1:2::"), non-empty; it is lowercased.
 * @client_address: the full client address (the auto-whitelist key),
 *                  non-empty; it is lowercased.
 * @sender:         the envelope sender, "" for the null sender.
 * @recipient:      the envelope recipient, non-empty.
 * @now:            the current time (UTC seconds).
 * @out:            the decision.
 *
 * Records the attempt in every case.  Returns PD_ST_OK; PD_ST_ERR_INVALID
 * for a missing, empty, overlong or inconsistent argument; or the store's
 * error (then @out is a DEFER of `delay` seconds and the caller decides,
 * e.g. by its on_error setting, what to answer).
 */
int pd_greylist_check(struct pd_state *st, const struct pd_greylist_config *cfg,
                      const char *client_net, const char *client_address,
                      const char *sender, const char *recipient, int64_t now,
                      struct pd_greylist_decision *out);

/**
 * pd_greylist_normalize_sender - postgrey's sender normalisation.
 *
 * Lowercases, removes a BATV tag ("prvs=TAG=user@dom" and
 * "prvs=user/TAG@dom" both give "user@dom"), cuts a +extension from the
 * local part and turns every all-digit word of the local part (a maximal
 * run of [A-Za-z0-9_] made of digits only, as Perl's \b\d+\b) into '#',
 * so VERP and BATV senders of one list make one triplet.  A sender without
 * '@' is only lowercased.  Writes at most outlen bytes including the NUL;
 * returns the length, or -1 if it does not fit (out is then "").
 */
int pd_greylist_normalize_sender(const char *sender, char *out, size_t outlen);

#endif
