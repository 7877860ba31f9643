/*
 * policy_server.h - the Postfix SMTPD policy delegation front-end: an
 * event loop over non-blocking sockets that reads requests, asks the
 * engine, and writes one action per request.
 */
#ifndef POSTAGE_POLICY_SERVER_H
#define POSTAGE_POLICY_SERVER_H

#include <signal.h>
#include <stdint.h>

#include "policy/engine/engine.h"

/*
 * max_connections: when that many are open, each new client makes room
 * by closing the connection idle the longest (one with no partial request
 * and no answer waiting first), as Postfix's servers do under stress, so
 * that a working client is always answered.  warning_limit per
 * warning_interval: protocol warnings logged per client address (policy
 * /warn_limit.h).
 */
struct pd_policy_limits {
    unsigned max_connections;
    int64_t idle_timeout;        /* seconds */
    unsigned warning_limit;
    int64_t warning_interval;    /* seconds */
};

/* Serve connections on listen_fd until *stop becomes non-zero or
 * wake_fd (an eventfd or pipe, may be -1) becomes readable.  Returns 0, or
 * -1 if the loop could not be set up (logged). */
int pd_policy_serve(int listen_fd, int wake_fd, struct pd_engine_slot *engines,
                    const struct pd_policy_limits *limits, volatile sig_atomic_t *stop);

#endif
