/*
 * milter.h - the milter front-end of postaged: the milter protocol spoken
 * by postaged itself (milter_server.c, milter_conn.c), no libmilter.
 */
#ifndef POSTAGE_POLICY_MILTER_H
#define POSTAGE_POLICY_MILTER_H

#include <stddef.h>

#include "policy/engine/engine.h"

/* Open the milter socket, `spec` as milter_listen spells it
 * (inet:HOST:PORT, inet:[IPV6]:PORT or unix:PATH); done before privileges
 * are dropped.  Returns 0, or -1 with the reason in err (e.g.
 * "inet:127.0.0.1:10032: Address already in use"). */
int pd_milter_open(const char *spec, char *err, size_t errlen);

/* Serve with the engines in `engines` until pd_milter_stop(); runs in its
 * own thread and returns once every MTA connection has ended.  Returns 0
 * or -1. */
int pd_milter_run(struct pd_engine_slot *engines);

/* Ask pd_milter_run to return (any thread). */
void pd_milter_stop(void);

/* Close the socket (a unix socket's file is removed), after
 * pd_milter_run has returned. */
void pd_milter_close(void);

#endif
