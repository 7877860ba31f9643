/*
 * milter_server.h - the milter front-end's listener: the socket of
 * milter_listen, an accept loop, and a thread for each MTA connection
 * while it lasts (as libmilter ran them, so that the engine's calls of
 * different connections run side by side), kept idle between connections
 * (a few of them) rather than started anew for each.
 */
#ifndef POSTAGE_POLICY_MILTER_SERVER_H
#define POSTAGE_POLICY_MILTER_SERVER_H

#include <stddef.h>

#include "policy/frontends/milter_conn.h"

/* libmilter's default wait for the MTA's next command, in seconds. */
#define PD_MILTER_TIMEOUT 7210

struct pd_milter_server;

/* Open `spec` (inet:HOST:PORT, inet:[IPV6]:PORT or unix:PATH, listen.h),
 * before privileges are dropped.  NULL with the reason in err. */
struct pd_milter_server *pd_milter_server_open(const char *spec, char *err, size_t errlen);

/* Accept and serve with `f` until pd_milter_server_stop(); each read
 * and write waits at most timeout_s seconds.  Returns once every
 * connection and every thread (idle ones too) has ended: 0, or -1 if the
 * loop failed (logged). */
int pd_milter_server_run(struct pd_milter_server *s, const struct pd_milter_filter *f,
                         int timeout_s);

/* Ask run to return: no more connections are accepted, open ones are
 * shut down (a command being decided is finished first).  Any thread. */
void pd_milter_server_stop(struct pd_milter_server *s);

/* Close the socket (a unix socket's file is removed) and free. */
void pd_milter_server_close(struct pd_milter_server *s);

#endif
