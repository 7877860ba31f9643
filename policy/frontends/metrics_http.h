/*
 * metrics_http.h - postaged's metrics endpoint (metrics_listen): GET
 * /metrics over HTTP, served by libmicrohttpd from its own thread, in the
 * Prometheus text format that policy/base/metrics.c renders.
 *
 * The socket is bound early, with the other listeners (a port below 1024
 * needs root), and served after the daemon has detached and dropped its
 * privileges (threads do not survive the fork).  Built without
 * libmicrohttpd, pd_metrics_http_check refuses any metrics_listen and
 * says which library is missing.
 */
#ifndef POSTAGE_POLICY_METRICS_HTTP_H
#define POSTAGE_POLICY_METRICS_HTTP_H

#include <stddef.h>

#include "policy/base/dns.h"
#include "policy/base/metrics.h"

/* Is `spec` a metrics_listen this build can serve: inet:HOST:PORT or
 * inet:[IPV6]:PORT (no unix: socket, which no scraper can reach), and
 * libmicrohttpd built in?  0, or -1 with why in err. */
int pd_metrics_http_check(const char *spec, char *err, size_t errlen);

/* Bind and listen on spec: the descriptor, or -1 with why in err (which
 * names metrics_listen). */
int pd_metrics_http_bind(const char *spec, char *err, size_t errlen);

/* Read the current resolvers' counters at scrape time into out[0 ..
 * PD_MR_COUNT - 1] (postaged reads them from the engine in force and the
 * stamping milter), leaving zero those of a resolver that is not there. */
typedef void (*pd_metrics_dns_fn)(void *ctx, struct pd_dns_stats *out);

struct pd_metrics_http;

/* Serve `metrics` on the bound descriptor fd (which it takes over) from
 * libmicrohttpd's thread: GET or HEAD /metrics answers 200 with the text
 * format, any other path 404, any other method 405.  NULL with why in err
 * (fd is closed then). */
struct pd_metrics_http *pd_metrics_http_start(int fd, struct pd_metrics *metrics,
                                              pd_metrics_dns_fn dns, void *dns_ctx,
                                              char *err, size_t errlen);

/* Stop serving and close the socket (NULL: nothing). */
void pd_metrics_http_stop(struct pd_metrics_http *server);

#endif
