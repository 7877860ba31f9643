/*
 * metrics_http.c - the metrics endpoint over libmicrohttpd (see
 * metrics_http.h).  HTTP itself (parsing, limits, keep-alive) is the
 * library's: this file only answers GET /metrics with the rendered text.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/base/listen.h"
#include "policy/frontends/metrics_http.h"

#ifdef HAVE_MICROHTTPD
#include <microhttpd.h>

/* Bounds on what a scraper (or anyone who reaches the port) may take:
 * a handful of connections, each cut after a few idle seconds. */
#define METRICS_CONNECTIONS 16
#define METRICS_TIMEOUT_S 10

struct pd_metrics_http {
    struct MHD_Daemon *daemon;
    int fd;
    struct pd_metrics *metrics;
    pd_metrics_dns_fn dns;
    void *dns_ctx;
};

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

static mhd_result
answer_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    /* A copy: the library's buffer argument is not const. */
    char *copy = strdup(text);
    if (copy == NULL)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(copy);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    mhd_result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static mhd_result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    struct pd_metrics_http *s = cls;
    static int first_call;
    (void) version;
    (void) upload_data;
    /* The first call has only the headers: answer on the second, so that
     * a request body (none is expected) is read and dropped. */
    if (*state == NULL) {
        *state = &first_call;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
    if (strcmp(url, "/metrics") != 0)
        return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");

    struct pd_dns_stats dns[PD_MR_COUNT];
    memset(dns, 0, sizeof dns);
    if (s->dns != NULL)
        s->dns(s->dns_ctx, dns);
    char *text;
    size_t len;
    if (pd_metrics_render(s->metrics, dns, &text, &len) != 0)
        return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; "
                            "charset=utf-8");
    mhd_result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

struct pd_metrics_http *
pd_metrics_http_start(int fd, struct pd_metrics *metrics, pd_metrics_dns_fn dns, void *dns_ctx,
                      char *err, size_t errlen)
{
    struct pd_metrics_http *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        close(fd);
        return NULL;
    }
    s->fd = fd;
    s->metrics = metrics;
    s->dns = dns;
    s->dns_ctx = dns_ctx;
    /* The listening socket is ours (bound before privileges were
     * dropped); the port argument is then ignored. */
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                 NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned) METRICS_CONNECTIONS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) METRICS_TIMEOUT_S,
                                 MHD_OPTION_END);
    if (s->daemon == NULL) {
        snprintf(err, errlen, "libmicrohttpd could not start on the metrics socket");
        close(fd);
        free(s);
        return NULL;
    }
    return s;
}

void
pd_metrics_http_stop(struct pd_metrics_http *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->daemon);
    close(s->fd);
    free(s);
}

#else /* !HAVE_MICROHTTPD */

struct pd_metrics_http {
    int unused;
};

struct pd_metrics_http *
pd_metrics_http_start(int fd, struct pd_metrics *metrics, pd_metrics_dns_fn dns, void *dns_ctx,
                      char *err, size_t errlen)
{
    (void) metrics;
    (void) dns;
    (void) dns_ctx;
    close(fd);
    snprintf(err, errlen, "postaged was built without libmicrohttpd");
    return NULL;
}

void
pd_metrics_http_stop(struct pd_metrics_http *s)
{
    (void) s;
}

#endif

int
pd_metrics_http_check(const char *spec, char *err, size_t errlen)
{
#ifndef HAVE_MICROHTTPD
    (void) spec;
    snprintf(err, errlen, "metrics_listen: postaged was built without libmicrohttpd, which "
             "serves the metrics (install libmicrohttpd-dev and configure again); leave "
             "metrics_listen empty");
    return -1;
#else
    if (strncmp(spec, "inet:", 5) != 0) {
        snprintf(err, errlen, "metrics_listen: '%.200s' is not inet:HOST:PORT or "
                 "inet:[IPV6]:PORT (a scraper needs a TCP port)", spec);
        return -1;
    }
    char why[512];
    if (pd_listen_check(spec, why, sizeof why) != 0) {
        snprintf(err, errlen, "metrics_listen: %s", why);
        return -1;
    }
    return 0;
#endif
}

int
pd_metrics_http_bind(const char *spec, char *err, size_t errlen)
{
    if (pd_metrics_http_check(spec, err, errlen) != 0)
        return -1;
    char why[512];
    int fd = pd_listen(spec, why, sizeof why);
    if (fd < 0)
        snprintf(err, errlen, "metrics_listen: %s", why);
    return fd;
}
