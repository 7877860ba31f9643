/*
 * milter.h - the milter front-end of postaged (libmilter).
 */
#ifndef POSTAGE_POLICY_MILTER_H
#define POSTAGE_POLICY_MILTER_H

#include "policy/engine/engine.h"

/* Register the filter and open its socket (libmilter spelling, see
 * pd_milter_spec); done before privileges are dropped.  Returns 0 or -1
 * (logged). */
int pd_milter_open(const char *libmilter_spec);

/* Serve with the engines in `engines` until pd_milter_stop(); runs in its
 * own thread.  Returns 0 or -1. */
int pd_milter_run(struct pd_engine_slot *engines);

void pd_milter_stop(void);

#endif
