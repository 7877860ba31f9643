/*
 * metrics.h - postaged's counters and histograms for Prometheus, and their
 * rendering in the text exposition format (version 0.0.4).
 *
 * One registry per process, made by postaged and pointed to by whatever
 * counts (the engines, the front-ends, the state store).  It is never
 * rebuilt on reload: a new engine is pointed at the same registry, so the
 * counters survive SIGHUP.  Every counter is a C11 atomic, so any thread
 * counts without a lock; a scrape reads them one by one (a scrape may see
 * one decision counted and its latency not yet: Prometheus accepts that).
 *
 * Every hook takes a NULL registry and then does nothing, so that tests
 * and tools that build an engine without postaged need not make one.
 * No HTTP here (policy/frontends/metrics_http.c serves the text).
 */
#ifndef POSTAGE_POLICY_METRICS_H
#define POSTAGE_POLICY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "policy/base/dns.h"

struct pd_metrics;

/* The front-ends, as label frontend="policy|milter|stamp". */
enum pd_metrics_frontend {
    PD_MF_POLICY = 0,
    PD_MF_MILTER,
    PD_MF_STAMP,
    PD_MF_COUNT
};

/* The module that made a decision, as label module="...": the step of
 * the engine's chain that ended it, or "none" when no module decided
 * (DUNNO through the whole chain), "postage" for the price and the stamps
 * at end of headers, "stamp" for the stamping front-end's own answers. */
enum pd_metrics_module {
    PD_MM_NONE = 0,
    PD_MM_ACCESS,
    PD_MM_HELO,
    PD_MM_SPF,
    PD_MM_POSTAGE,
    PD_MM_GREYLIST,
    PD_MM_QUOTA,
    PD_MM_STAMP,
    PD_MM_COUNT
};

/* Actions, as pd_action (policy/checks/verdict.h) numbers them: DUNNO,
 * OK, REJECT, DEFER, HOLD, DISCARD; the stamping front-end's TEMPFAIL
 * after them.  Out-of-range values are counted as DUNNO's neighbour
 * "OTHER" rather than dropped. */
#define PD_MA_TEMPFAIL 6
#define PD_MA_COUNT 8

/* What became of a stamp at end of headers, as label result="...":
 * pd_stamp_outcome's numbering (policy/engine/engine.h). */
#define PD_MS_COUNT 9

/* The stores, as label store="state|stamps". */
enum pd_metrics_store {
    PD_MST_STATE = 0,
    PD_MST_STAMPS,
    PD_MST_COUNT
};

/* postaged's resolvers, as label resolver="checks|stamp": the engine's
 * (HELO and SPF checks) and the stamping milter's (_postage prices). */
enum pd_metrics_resolver {
    PD_MR_CHECKS = 0,
    PD_MR_STAMP,
    PD_MR_COUNT
};

/* A new registry, all zero; NULL if out of memory. */
struct pd_metrics *pd_metrics_new(void);
void pd_metrics_free(struct pd_metrics *m);

/* One decision of `frontend`: which module ended it and its action
 * (a pd_action, or PD_MA_TEMPFAIL), and how long the front-end took to
 * answer, in seconds (the request latency histogram). */
void pd_metrics_decision(struct pd_metrics *m, enum pd_metrics_frontend frontend,
                         enum pd_metrics_module module, int action, double seconds);

/* One stamp seen at end of headers, with its pd_stamp_outcome. */
void pd_metrics_stamp(struct pd_metrics *m, int outcome);

/* The price asked of one message, in bits (once per message). */
void pd_metrics_price(struct pd_metrics *m, int bits);

/* One call into a store; failed: it returned an error (not "not found"). */
void pd_metrics_store_op(struct pd_metrics *m, enum pd_metrics_store store, int failed);

/* A store went down (logged once per outage). */
void pd_metrics_store_outage(struct pd_metrics *m, enum pd_metrics_store store);

/* Seconds the stamping front-end spent minting one message's stamps. */
void pd_metrics_mint(struct pd_metrics *m, double seconds);

/* A resolver's counters are its own, and a reload replaces it (with the
 * engine, or the stamping milter's configuration): once the new one is in
 * place, the old one's counts are folded in here, and a scrape adds the
 * current resolver's counts to them. */
void pd_metrics_dns_fold(struct pd_metrics *m, enum pd_metrics_resolver resolver,
                         const struct pd_dns_stats *old);

/*
 * Render every metric in the Prometheus text format into a new
 * NUL-terminated buffer (*out, free() it; *len its length without the
 * NUL).  dns: PD_MR_COUNT entries, the current resolvers' counters (all
 * zero for one that is not there), or NULL for none.  Returns 0, or -1 if
 * out of memory.
 */
int pd_metrics_render(struct pd_metrics *m, const struct pd_dns_stats *dns, char **out,
                      size_t *len);

/* Escape a label value for the text format (\ " and newline) into out
 * (size bytes, NUL-terminated, truncated if it does not fit).  Returns
 * the escaped length, as snprintf does. */
size_t pd_metrics_escape_label(const char *value, char *out, size_t size);

/* Seconds of CLOCK_MONOTONIC, to time a request or a minting. */
double pd_metrics_now(void);

/* The label value names, for tests and documentation. */
const char *pd_metrics_frontend_name(enum pd_metrics_frontend f);
const char *pd_metrics_module_name(enum pd_metrics_module mod);
const char *pd_metrics_action_name(int action);
const char *pd_metrics_stamp_name(int outcome);

#endif
