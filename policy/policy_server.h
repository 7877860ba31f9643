/*
 * policy_server.h - the Postfix SMTPD policy delegation front-end: an
 * event loop over non-blocking sockets that reads requests, asks the
 * engine, and writes one action per request.
 */
#ifndef POSTAGE_POLICY_SERVER_H
#define POSTAGE_POLICY_SERVER_H

#include <signal.h>
#include <stdint.h>

#include "policy/engine.h"

struct pd_policy_limits {
    unsigned max_connections;
    int64_t idle_timeout;        /* seconds */
};

/* Serve connections on listen_fd until *stop becomes non-zero or
 * wake_fd (an eventfd or pipe, may be -1) becomes readable.  Returns 0, or
 * -1 if the loop could not be set up (logged). */
int pd_policy_serve(int listen_fd, int wake_fd, struct pd_engine_slot *engines,
                    const struct pd_policy_limits *limits, volatile sig_atomic_t *stop);

#endif
