/*
 * policy_server.c - the Postfix policy delegation front-end.
 *
 * One thread, one epoll loop, non-blocking sockets: Postfix keeps policy
 * connections open and reuses them (smtpd processes number in the dozens),
 * and each decision is a few microseconds of engine work, so a loop serves
 * them all without a thread per connection.  Per connection: bounded input
 * and output buffers, the incremental request parser, and the current
 * message's transaction (reset when `instance` changes).
 *
 * Framing errors (over-long lines, NUL bytes, junk) close the connection
 * without a reply, as SMTPD_POLICY_README asks of a server in trouble;
 * Postfix retries and then applies its default action.  A client that
 * pipelines requests without reading the answers is not read from until
 * its output drains, so no buffer grows without bound.
 *
 * Hostile clients: at max_connections (or out of file descriptors) a new
 * client makes room by closing the connection idle the longest, so that
 * idle connections cannot lock working clients out (issue 16, defect 4);
 * the shedding is logged once per episode.  Protocol warnings are
 * rate-limited per client address (warn_limit.h), so junk cannot flood
 * the log (defect 10).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "policy/base/escape.h"
#include "policy/base/log.h"
#include "policy/base/metrics.h"
#include "policy/frontends/milter_sessions.h"
#include "policy/frontends/policy_server.h"
#include "policy/frontends/request.h"
#include "policy/frontends/warn_limit.h"

#define IN_MAX 8192
#define OUT_MAX (4 * PD_RESPONSE_MAX)
#define LISTEN_TAG ((void *) 1)
#define WAKE_TAG ((void *) 2)
/* A shedding episode ends after this long without shedding. */
#define SHED_QUIET_SECONDS 60
/* During one, connections idle this long are closed by the sweep too, as
 * Postfix's servers shorten their idle timeouts under stress. */
#define STRESS_IDLE_SECONDS 10

struct conn {
    int fd;
    int reading;                 /* EPOLLIN enabled */
    int64_t last_active;         /* monotonic ms: the oldest goes first */
    char client[INET6_ADDRSTRLEN + 8];   /* address, the warning budget's key */
    char peer[INET6_ADDRSTRLEN + 16];    /* address and port, for log lines   */
    size_t in_len, out_len, out_off;
    struct pd_txn txn;
    struct pd_req_parser parser;
    char in[IN_MAX];
    char out[OUT_MAX];
};

struct server {
    int epfd;
    unsigned open;
    struct pd_engine_slot *engines;
    const struct pd_policy_limits *limits;
    struct conn **conns;         /* for idle sweeps */
    size_t nconns, cap;
    struct pd_request request;   /* scratch: decisions are synchronous */
    int warned_full;
    struct pd_warn_limit *warnings;
    /* shedding under connection pressure: an episode runs from the first
     * connection closed to make room until SHED_QUIET_SECONDS pass
     * without one */
    int64_t shed_since, shed_last;   /* 0: no episode */
    unsigned long shed_count;
    int listen_paused;               /* out of descriptors, nothing to shed */
    int listen_fd;
};

static int64_t
now_seconds(void)
{
    return (int64_t) time(NULL);
}

/* Milliseconds on a monotonic clock: idle times, and which connection
 * has been idle longest when a second is too coarse to tell. */
static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
conn_close(struct server *srv, struct conn *c)
{
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    for (size_t i = 0; i < srv->nconns; i++)
        if (srv->conns[i] == c) {
            srv->conns[i] = srv->conns[--srv->nconns];
            break;
        }
    srv->open--;
    free(c);
}

static void
conn_watch(struct server *srv, struct conn *c)
{
    struct epoll_event ev = { .data.ptr = c };
    ev.events = (c->reading ? EPOLLIN : 0) | (c->out_off < c->out_len ? EPOLLOUT : 0);
    epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A protocol warning about client c, within its warning budget. */
static void __attribute__((format(printf, 3, 4)))
client_warning(struct server *srv, const struct conn *c, const char *fmt, ...)
{
    if (srv->warnings != NULL && !pd_warn_limit_allow(srv->warnings, c->client, now_seconds()))
        return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    pd_log(PD_LOG_WARNING, "policy client %s: %s", c->peer, text);
}

static void
report_suppressed(const char *client, unsigned long suppressed, int64_t seconds, void *arg)
{
    (void) arg;
    pd_log(PD_LOG_WARNING, "policy client %s: %lu similar warnings suppressed in the last "
           "%lld s (client_warning_limit)", client, suppressed, (long long) seconds);
}

static enum pd_stage
stage_of(enum pd_protocol_state s)
{
    switch (s) {
    case PD_STATE_RCPT: return PD_STAGE_RCPT;
    case PD_STATE_DATA: return PD_STAGE_DATA;
    case PD_STATE_END_OF_MESSAGE: return PD_STAGE_END_OF_MESSAGE;
    default: return PD_STAGE_OTHER;
    }
}

/* Decide one request and queue its answer. */
static void
answer(struct server *srv, struct conn *c, const struct pd_request *r)
{
    struct pd_query q = {
        .stage = stage_of(r->state),
        .instance = r->instance,
        .queue_id = r->queue_id,
        .client_address = r->client_address,
        .client_name = r->client_name,
        .helo_name = r->helo_name,
        .sender = r->sender,
        .recipient = r->recipient,
        .sasl_username = r->sasl_username,
        .size = r->size_value,
        .recipient_count = r->recipient_count_value,
    };
    struct pd_answer a;
    char buf[PD_RESPONSE_MAX];
    size_t n;

    if (strcmp(c->txn.instance, r->instance) != 0) {
        memset(&c->txn, 0, sizeof c->txn);
        snprintf(c->txn.instance, sizeof c->txn.instance, "%s", r->instance);
    }
    double started = pd_metrics_now();
    struct pd_engine *engine = pd_engine_slot_get(srv->engines);
    /* The registry outlives every engine (metrics.h). */
    struct pd_metrics *metrics = pd_engine_metrics(engine);
    /* Does postaged's milter have this session too?  Then it greylists
     * and adds the headers (milter_sessions.h).  Read once per message. */
    if (!c->txn.path_known && q.stage == PD_STAGE_RCPT)
        q.milter_in_path = pd_milter_session_active(r->client_address, r->helo_name);
    pd_engine_decide(engine, &c->txn, &q, now_seconds(), &a);
    pd_engine_unref(engine);

    /* The header value may carry the client's words: escaped, as every
     * header postaged adds (escape.h), rather than left to the
     * formatter's blanking of controls. */
    pd_escape_inplace(a.prepend_value, sizeof a.prepend_value);
    if (a.prepend_name[0] != '\0' && (a.verdict.action == PD_DUNNO || a.verdict.action == PD_OK))
        n = pd_response_format_prepend(a.prepend_name, a.prepend_value, buf, sizeof buf);
    else
        n = pd_response_format(&a.verdict, buf, sizeof buf);
    if (n == 0) { /* a header the formatter refused: fall back to the verdict */
        n = pd_response_format(&a.verdict, buf, sizeof buf);
    }
    if (q.stage != PD_STAGE_OTHER)
        pd_log(PD_LOG_INFO, "policy %s: client=%s[%s] helo=<%s> from=<%s> to=<%s> %s%s%s",
               pd_protocol_state_name(r->state), r->client_name, r->client_address,
               r->helo_name, r->sender, r->recipient, pd_action_name(a.verdict.action),
               a.reason[0] ? ": " : "", a.reason);
    memcpy(c->out + c->out_len, buf, n);
    c->out_len += n;
    if (q.stage != PD_STAGE_OTHER)
        pd_metrics_decision(metrics, PD_MF_POLICY, a.module, (int) a.verdict.action,
                            pd_metrics_now() - started);
}

/* Parse what has arrived and answer every complete request, as long as
 * the output buffer has room for another answer.  Returns -1 to close. */
static int
process_input(struct server *srv, struct conn *c)
{
    size_t off = 0;
    int rc = 0;

    while (off < c->in_len && c->out_len + PD_RESPONSE_MAX <= OUT_MAX) {
        size_t used = 0;
        enum pd_req_status st = pd_req_feed(&c->parser, c->in + off, c->in_len - off, &used,
                                            &srv->request);
        off += used;
        if (st == PD_REQ_MORE)
            break;
        if (pd_req_status_is_framing_error(st)) {
            client_warning(srv, c, "%s; closing the connection",
                           pd_req_parser_error(&c->parser));
            rc = -1;
            break;
        }
        if (st == PD_REQ_READY) {
            answer(srv, c, &srv->request);
        } else {
            struct pd_verdict dunno = { PD_DUNNO, "" };
            client_warning(srv, c, "%s; answering DUNNO", pd_req_parser_error(&c->parser));
            size_t n = pd_response_format(&dunno, c->out + c->out_len, OUT_MAX - c->out_len);
            c->out_len += n;
        }
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return rc;
}

static int
flush_output(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->out_off += (size_t) n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

/* Answer what has arrived and send it, for as long as the client takes
 * the answers; then watch for whatever is needed next.  Returns -1 to
 * close. */
static int
pump(struct server *srv, struct conn *c)
{
    for (;;) {
        size_t pending = c->in_len;
        if (process_input(srv, c) != 0 || flush_output(c) != 0)
            return -1;
        if (c->out_len > 0)          /* the client is not reading: wait */
            break;
        if (c->in_len == 0 || c->in_len == pending)
            break;                   /* all answered, or a partial request */
    }
    c->reading = c->in_len < IN_MAX && c->out_len + PD_RESPONSE_MAX <= OUT_MAX;
    conn_watch(srv, c);
    return 0;
}

static void
on_readable(struct server *srv, struct conn *c)
{
    ssize_t n;
    do
        n = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
    while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        conn_close(srv, c);          /* the client left, maybe mid-request */
        return;
    }
    if (n > 0) {
        c->in_len += (size_t) n;
        c->last_active = now_ms();
    }
    if (pump(srv, c) != 0)
        conn_close(srv, c);
}

static void
on_writable(struct server *srv, struct conn *c)
{
    if (pump(srv, c) != 0)
        conn_close(srv, c);
}

/* The connection to close to make room: the one idle the longest among
 * those between requests (nothing half-read, no answer waiting), else the
 * one idle the longest of all.  NULL when there is none. */
static struct conn *
shed_candidate(const struct server *srv)
{
    struct conn *idle = NULL, *any = NULL;
    for (size_t i = 0; i < srv->nconns; i++) {
        struct conn *c = srv->conns[i];
        if (any == NULL || c->last_active < any->last_active)
            any = c;
        if (c->in_len == 0 && c->out_len == 0 &&
            (idle == NULL || c->last_active < idle->last_active))
            idle = c;
    }
    return idle != NULL ? idle : any;
}

/* Close the longest-idle connection to make room; 0, or -1 if none. */
static int
shed_one(struct server *srv, const char *why)
{
    struct conn *victim = shed_candidate(srv);
    if (victim == NULL)
        return -1;
    int64_t now = now_seconds();
    if (srv->shed_since == 0) {
        pd_log(PD_LOG_WARNING, "policy: %s; closing the longest-idle connections to make room "
               "for new clients (first: %s, idle %lld s)", why, victim->peer,
               (long long) ((now_ms() - victim->last_active) / 1000));
        srv->shed_since = now;
        srv->shed_count = 0;
    }
    srv->shed_last = now;
    srv->shed_count++;
    conn_close(srv, victim);
    return 0;
}

static void
peer_names(struct conn *c, const struct sockaddr_storage *ss)
{
    char addr[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *) ss;
        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
        port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *) ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
        port = ntohs(in6->sin6_port);
    }
    if (addr[0] == '\0') {      /* a Unix socket: all its clients are one */
        snprintf(c->client, sizeof c->client, "unix");
        snprintf(c->peer, sizeof c->peer, "unix (fd %d)", c->fd);
    } else {
        snprintf(c->client, sizeof c->client, "%s", addr);
        snprintf(c->peer, sizeof c->peer, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
                 addr, port);
    }
}

static void
accept_all(struct server *srv, int listen_fd)
{
    int retried_emfile = 0;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        memset(&ss, 0, sizeof ss);
        int fd = accept4(listen_fd, (struct sockaddr *) &ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: the same pressure as max_connections. */
                if (!retried_emfile && shed_one(srv, "out of file descriptors") == 0) {
                    retried_emfile = 1;
                    continue;
                }
                if (!srv->listen_paused) {
                    if (!srv->warned_full)
                        pd_log(PD_LOG_WARNING, "policy: accept: %s; not accepting for a "
                               "second", strerror(errno));
                    srv->warned_full = 1;
                    /* Level-triggered: stop watching until the next sweep,
                     * or the loop spins. */
                    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, listen_fd, NULL);
                    srv->listen_paused = 1;
                }
                return;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                pd_log(PD_LOG_WARNING, "policy: accept: %s", strerror(errno));
            return;
        }
        retried_emfile = 0;
        if (srv->open >= srv->limits->max_connections) {
            char why[96];
            snprintf(why, sizeof why, "%u connections open (max_connections)", srv->open);
            if (shed_one(srv, why) != 0) {
                if (!srv->warned_full)
                    pd_log(PD_LOG_WARNING, "policy: %s; refusing more until some close", why);
                srv->warned_full = 1;
                close(fd);
                continue;
            }
        }
        srv->warned_full = 0;
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL || (srv->nconns == srv->cap && srv->cap >= srv->limits->max_connections)) {
            free(c);
            close(fd);
            continue;
        }
        if (srv->nconns == srv->cap) {
            size_t cap = srv->cap ? srv->cap * 2 : 64;
            struct conn **grown = realloc(srv->conns, cap * sizeof *grown);
            if (grown == NULL) {
                free(c);
                close(fd);
                continue;
            }
            srv->conns = grown;
            srv->cap = cap;
        }
        c->fd = fd;
        c->reading = 1;
        c->last_active = now_ms();
        peer_names(c, &ss);
        pd_req_parser_init(&c->parser);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(c);
            close(fd);
            continue;
        }
        srv->conns[srv->nconns++] = c;
        srv->open++;
    }
}

static void
sweep_idle(struct server *srv, int64_t now)
{
    int64_t ms = now_ms();
    if (srv->listen_paused) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = LISTEN_TAG };
        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->listen_fd, &ev) == 0)
            srv->listen_paused = 0;
    }
    if (srv->shed_since != 0 && now - srv->shed_last >= SHED_QUIET_SECONDS) {
        pd_log(PD_LOG_INFO, "policy: %lu idle connections closed to make room in %lld s",
               srv->shed_count, (long long) (srv->shed_last - srv->shed_since + 1));
        srv->shed_since = 0;
    }
    if (srv->warnings != NULL)
        pd_warn_limit_flush(srv->warnings, now);
    int64_t idle_limit = srv->limits->idle_timeout;
    if (srv->shed_since != 0 && idle_limit > STRESS_IDLE_SECONDS)
        idle_limit = STRESS_IDLE_SECONDS;
    for (size_t i = 0; i < srv->nconns;) {
        struct conn *c = srv->conns[i];
        if (ms - c->last_active > idle_limit * 1000)
            conn_close(srv, c);   /* moves the last entry into slot i */
        else
            i++;
    }
}

/* Room for max_connections descriptors and the daemon's own (store,
 * milter connections, DNS): raise the soft limit toward the hard one if
 * needed, and say so when it cannot be done (accept then fails with
 * EMFILE before max_connections, and shedding starts there). */
static void
raise_fd_limit(unsigned max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t) max_connections + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (rl.rlim_cur > old && setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= want)
        return;
    pd_log(PD_LOG_WARNING, "policy: max_connections %u, but only %llu file descriptors "
           "(ulimit -n); idle connections are closed from there on", max_connections,
           (unsigned long long) (rl.rlim_cur > old ? rl.rlim_cur : old));
}

int
pd_policy_serve(int listen_fd, int wake_fd, struct pd_engine_slot *engines,
                const struct pd_policy_limits *limits, volatile sig_atomic_t *stop)
{
    struct server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return -1;
    srv->engines = engines;
    srv->limits = limits;
    srv->listen_fd = listen_fd;
    srv->warnings = pd_warn_limit_new(limits->warning_limit, limits->warning_interval,
                                      report_suppressed, NULL);
    if (srv->warnings == NULL) {
        pd_log(PD_LOG_ERROR, "policy: out of memory");
        free(srv);
        return -1;
    }
    raise_fd_limit(limits->max_connections);
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = LISTEN_TAG };
    if (srv->epfd < 0 || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
        pd_log(PD_LOG_ERROR, "policy: epoll: %s", strerror(errno));
        if (srv->epfd >= 0)
            close(srv->epfd);
        pd_warn_limit_free(srv->warnings);
        free(srv);
        return -1;
    }
    if (wake_fd >= 0) {
        struct epoll_event wev = { .events = EPOLLIN, .data.ptr = WAKE_TAG };
        epoll_ctl(srv->epfd, EPOLL_CTL_ADD, wake_fd, &wev);
    }

    int64_t last_sweep = now_seconds();
    while (!*stop) {
        struct epoll_event events[64];
        int n = epoll_wait(srv->epfd, events, 64, 1000);
        if (n < 0 && errno != EINTR) {
            pd_log(PD_LOG_ERROR, "policy: epoll_wait: %s", strerror(errno));
            break;
        }
        /* New clients last: making room for them may close (and free)
         * a connection that has an event further down this batch. */
        int listen_ready = 0;
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == LISTEN_TAG) {
                listen_ready = 1;
            } else if (tag == WAKE_TAG) {
                continue;
            } else {
                struct conn *c = tag;
                if (events[i].events & (EPOLLERR | EPOLLHUP) && !(events[i].events & EPOLLIN)) {
                    conn_close(srv, c);
                } else if (events[i].events & EPOLLIN) {
                    on_readable(srv, c);
                } else if (events[i].events & EPOLLOUT) {
                    on_writable(srv, c);
                }
            }
        }
        if (listen_ready && !srv->listen_paused)
            accept_all(srv, listen_fd);
        int64_t now = now_seconds();
        if (now != last_sweep) {
            sweep_idle(srv, now);
            last_sweep = now;
        }
    }
    while (srv->nconns > 0)
        conn_close(srv, srv->conns[0]);
    if (srv->warnings != NULL) {
        pd_warn_limit_flush_all(srv->warnings, now_seconds());
        pd_warn_limit_free(srv->warnings);
    }
    free(srv->conns);
    close(srv->epfd);
    free(srv);
    return 0;
}
