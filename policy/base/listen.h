/*
 * listen.h - open the daemon's listening sockets from "inet:HOST:PORT" or
 * "unix:PATH" specifications (the Postfix spelling), before privileges are
 * dropped.
 */
#ifndef POSTAGE_POLICY_LISTEN_H
#define POSTAGE_POLICY_LISTEN_H

#include <stddef.h>

/* Open, bind and listen; returns the descriptor (non-blocking, close-on-
 * exec) or -1 with a message in err.  A unix socket's stale file is
 * replaced; its mode is 0666 so that Postfix's processes can connect. */
int pd_listen(const char *spec, char *err, size_t errlen);

/* Check a spec without opening anything, as the configuration is loaded:
 * inet:HOST:PORT or inet:[IPV6]:PORT with a decimal port from 1 to 65535
 * (the host is not resolved), or unix:PATH with a path that fits a socket
 * address.  Returns 0, or -1 with what is wrong in err (libmilter's
 * inet:PORT@HOST is refused with the spelling to use instead). */
int pd_listen_check(const char *spec, char *err, size_t errlen);

#endif
