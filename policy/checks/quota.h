/*
 * quota.h - postaged's quotas (rolling windows, as PolicyD's Quotas) and
 * accounting (calendar day / ISO week / month, as PolicyD's Accounting),
 * both counting messages and bytes per "track key": a sender, sender
 * domain, client address, client network, SASL user or recipient.
 *
 * Counting rule: a MESSAGE counts once, not once per recipient (the most
 * common complaint about PolicyD and policyd-rate-limit, spec section 7).
 * So the engine calls pd_quota_check at RCPT (read-only: "would this
 * message go over?") and pd_quota_account once per accepted message at
 * END-OF-MESSAGE with its real size; a refused message is never counted.
 * A recipient-keyed quota is, by its nature, counted once per accepted
 * recipient: for those, call pd_quota_account once for each (see
 * pd_quota_per_recipient).
 *
 * Limit rule (the same for both kinds, and stricter than PolicyD, which
 * lets one message through after the limit is already reached):
 *   refused when  current_count + 1 > max_count
 *            or   current_bytes + size > max_bytes
 * where a limit of 0 means "no limit of that kind".  For a rolling quota
 * current_* is the decayed counter (below); for accounting it is the total
 * of the current calendar bucket.
 *
 * Decay (rolling quotas): the stored counter was last updated `elapsed`
 * seconds ago; now it is worth
 *   stored * (window - elapsed) / window   for 0 <= elapsed < window,
 *   0                                      for elapsed >= window,
 *   stored                                 if the clock went back.
 * Counts are kept in thousandths of a message, rounded down, so 1 message
 * at half its window still weighs 0.5.
 *
 * Calendar buckets are in UTC, whatever the host's time zone: a day starts
 * at 00:00 UTC, a week on Monday 00:00 UTC (ISO 8601, so the week of
 * 2024-12-30 .. 2025-01-05 is one bucket, 2025-W01), a month on the 1st.
 */
#ifndef POSTAGE_POLICY_QUOTA_H
#define POSTAGE_POLICY_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "policy/checks/verdict.h"

struct pd_state;

enum pd_track {
    PD_TRACK_SENDER = 0,        /* lowercased; the null sender is "<>"      */
    PD_TRACK_SENDER_DOMAIN,     /* after the last '@', lowercased; "<>" for
                                   the null sender, "" without '@'           */
    PD_TRACK_CLIENT_ADDRESS,    /* lowercased                                */
    PD_TRACK_CLIENT_NET,        /* the masked network text, lowercased       */
    PD_TRACK_SASL_USER,         /* lowercased; "-" when not authenticated   */
    PD_TRACK_RECIPIENT          /* lowercased                                */
};

enum pd_quota_period {
    PD_PERIOD_ROLLING = 0,      /* decaying counter over `window` seconds   */
    PD_PERIOD_DAY,
    PD_PERIOD_WEEK,
    PD_PERIOD_MONTH
};

#define PD_QUOTA_NAME_MAX 64
#define PD_QUOTA_VALUE_MAX 2048        /* longest track value accepted     */
#define PD_QUOTA_WINDOW_MAX (10LL * 366 * 86400)

/* One quota or accounting rule; the strings must outlive the calls. */
struct pd_quota {
    /* A name unique among the rules (1 .. PD_QUOTA_NAME_MAX bytes, no NUL):
     * it is part of the key, so two rules never share a counter and a
     * changed rule can be given a new name to start from zero. */
    const char *name;
    enum pd_track track;
    enum pd_quota_period period;
    int64_t window;             /* ROLLING: 1 .. PD_QUOTA_WINDOW_MAX s     */
    uint64_t max_count;         /* messages; 0: no count limit             */
    uint64_t max_bytes;         /* bytes; 0: no size limit                 */
    enum pd_action action;      /* when over (PD_DUNNO is taken as DEFER)  */
    const char *text;           /* reply text, or NULL for a default       */
};

/* What a message is about.  Strings are NUL-terminated; NULL or "" when
 * unknown.  Only the one the rule tracks is used. */
struct pd_quota_subject {
    const char *sender;
    const char *client_address;
    const char *client_net;
    const char *sasl_username;
    const char *recipient;
};

struct pd_quota_result {
    int over;                   /* 1: refuse; verdict says how             */
    int over_count, over_bytes; /* which limit                             */
    uint64_t count_milli;       /* current count in thousandths, before
                                   this message                            */
    uint64_t bytes;             /* current bytes, before this message      */
    int64_t bucket_start;       /* calendar: the bucket (UTC seconds)      */
    int64_t bucket_end;
    struct pd_verdict verdict;  /* PD_DUNNO unless over                    */
};

/**
 * pd_quota_check - would one more message of @size bytes go over @q?
 * Read-only.  @size may be 0 when unknown (at RCPT, Postfix sends the
 * SIZE= of MAIL FROM if the client gave one).  Returns PD_ST_OK,
 * PD_ST_ERR_INVALID (bad rule, or the tracked value is missing, e.g. no
 * recipient for a recipient quota, or too long) or a store error.
 */
int pd_quota_check(struct pd_state *st, const struct pd_quota *q,
                   const struct pd_quota_subject *subj, uint64_t size, int64_t now,
                   struct pd_quota_result *out);

/**
 * pd_quota_account - add @count messages and @size bytes to @q's counter
 * for @subj, atomically (racing processes never lose an increment).
 * @out may be NULL; otherwise it receives the counter after the addition,
 * with over set if that is now beyond a limit.  Returns as pd_quota_check.
 */
int pd_quota_account(struct pd_state *st, const struct pd_quota *q,
                     const struct pd_quota_subject *subj, uint64_t count, uint64_t size,
                     int64_t now, struct pd_quota_result *out);

/* 1 if @q is keyed by recipient (account once per recipient), else 0. */
int pd_quota_per_recipient(const struct pd_quota *q);

/* The decayed value of @stored after @elapsed seconds of @window. */
uint64_t pd_quota_decay(uint64_t stored, int64_t elapsed, int64_t window);

/* The calendar bucket holding @now: [*start, *end), UTC.  Returns 0, or -1
 * for PD_PERIOD_ROLLING or an unknown period. */
int pd_quota_bucket(enum pd_quota_period period, int64_t now, int64_t *start, int64_t *end);

/* Names as in the configuration: "sender", "sender_domain",
 * "client_address", "client_network", "sasl_username", "recipient";
 * "day", "week", "month".  Parse functions return 0 or -1. */
const char *pd_track_name(enum pd_track track);
int pd_track_parse(const char *word, enum pd_track *out);
int pd_period_parse(const char *word, enum pd_quota_period *out);

#endif
