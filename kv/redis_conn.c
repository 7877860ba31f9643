/*
 * redis_conn.c - one connection to Redis (hiredis): timeouts, Sentinel
 * discovery, reconnecting with backoff.  See kv/redis_conn.h for the
 * contract; the specification string is read by kv/redis_spec.c.
 *
 * State.  A handle holds at most one redisContext, used only under its
 * mutex.  ctx == NULL means "not connected": the next call connects, unless
 * a connect failed (or a command timed out) less than backoff_ms ago: then
 * it fails at once with the last reason.  Each such failure doubles
 * backoff_ms (100 ms .. 5 s); a reply resets it.  A connection that the
 * server closed, or READONLY, drops the context without a backoff, so the
 * next call reconnects at once.  A timeout does start the backoff: the
 * server is there but not answering, and every caller would otherwise wait
 * out the timeout in turn (a hung Redis would cost each request timeout_ms
 * times the number of requests queued on the mutex).
 *
 * Outages.  `down` is set by the first failure after a working state and
 * cleared by the next reply (not by a connect alone: a hung server accepts
 * connections); `down_told` remembers whether the callback heard of it, so
 * that it hears "down" and "up" once per outage.  A failure that happens
 * before a callback is set (the first connect, in redis_conn_open) is told
 * when the callback is set.
 *
 * Timeouts.  hiredis's connect timeout bounds the TCP connect; after it,
 * redisSetTimeout sets SO_RCVTIMEO/SO_SNDTIMEO, so a reply that takes
 * longer than timeout_ms ends the command with EAGAIN, which hiredis
 * reports as an I/O error: the context is unusable and is dropped.
 *
 * Sentinel.  Each sentinel in turn (starting with the one that answered
 * last) is asked SENTINEL get-master-addr-by-name; the address it gives is
 * connected to (AUTH, SELECT) and asked ROLE, which must say "master": in
 * the middle of a failover a sentinel may still name the old master, which
 * has become a replica, and then the next sentinel is asked.
 *
 * Following a failover.  After a failover the old master, if it is still
 * alive, keeps accepting writes until Sentinel demotes it (seconds later),
 * and those writes are then lost: a stamp spent there could be replayed.
 * So a working connection is not trusted just because it works: the
 * handle keeps a second connection to the sentinel that answered,
 * subscribed to its failover events (+promoted-slave,
 * +failover-state-reconf-slaves, +switch-master), and before each command
 * reads (without waiting) what it has announced; an event naming our
 * master makes it ask the sentinel where the master is, and a new address
 * drops the data connection, so the command goes to the new master.  Without that
 * subscription (the sentinel refused it, or it broke), the sentinel is
 * asked again at most once a second instead (master_moved).  Writes that
 * reach the old master between the promotion and the announcement are
 * still lost: that is Redis's asynchronous replication (min-replicas-to-
 * write narrows it).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "util/errbuf.h"
#include "kv/redis_conn.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define LABEL_MAX 400
#define SENTINEL_RECHECK_MS 1000

struct redis_conn {
    pthread_mutex_t lock;
    struct redis_spec spec;
    redisContext *ctx;                  /* NULL: not connected              */
    char where[LABEL_MAX];              /* fixed: redis_conn_address()      */
    char label[LABEL_MAX];              /* where, plus the master's address */
    int backoff_ms;                     /* 0 until a connect fails          */
    long long next_try_ms;              /* monotonic; no connect before it  */
    int down;                           /* in an outage                     */
    int down_told;                      /* ... and the callback knows it    */
    char last_err[REDIS_CONN_ERRLEN];
    int sentinel_first;                 /* the sentinel to ask first        */
    char master_host[256];              /* sentinel: where we are connected */
    int master_port;
    long long recheck_ms;               /* sentinel: next master_moved()    */
    redisContext *watch;                /* sentinel: SUBSCRIBE +switch-master */
    int watch_sentinel;                 /* ... on this sentinel             */
    unsigned long gen;                  /* counts connects                  */
    int txn;                            /* held by redis_conn_lock          */
    int txn_used;                       /* ... and a command has been run   */
    unsigned long txn_gen;              /* ... on this connection           */
    redis_conn_notify_fn notify;
    void *notify_ctx;
};

/* ---- connecting --------------------------------------------------------- */

static long long
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval
timeout_tv(const struct redis_conn *c)
{
    struct timeval tv;

    tv.tv_sec = c->spec.timeout_ms / 1000;
    tv.tv_usec = (c->spec.timeout_ms % 1000) * 1000;
    return tv;
}

/* "host:port", or "[v6]:port". */
static void
hostport(char *buf, size_t size, const char *host, int port)
{
    if (strchr(host, ':') != NULL)
        errbuf_printf(buf, size, "[%s]:%d", host, port);
    else
        errbuf_printf(buf, size, "%s:%d", host, port);
}

/* Why a context failed, in words: hiredis says "Resource temporarily
 * unavailable" for a read that hit SO_RCVTIMEO. */
static void
context_error(const struct redis_conn *c, const redisContext *x, const char *what,
              const char *label, char *buf, size_t size)
{
    const char *why = x != NULL && x->errstr[0] ? x->errstr : "out of memory";

    if (x != NULL && x->err == REDIS_ERR_IO
        && (strcmp(x->errstr, strerror(EAGAIN)) == 0
            || strcmp(x->errstr, strerror(EWOULDBLOCK)) == 0))
        errbuf_printf(buf, size, "%s: %s: no reply within %d ms", label, what, c->spec.timeout_ms);
    else if (x != NULL && x->err == REDIS_ERR_EOF)
        errbuf_printf(buf, size, "%s: %s: the server closed the connection", label, what);
    else
        errbuf_printf(buf, size, "%s: %s: %s", label, what, why);
}

/* Connect to a TCP address or the socket, with the timeouts set. */
static redisContext *
dial(const struct redis_conn *c, const char *host, int port, int unix_socket,
     const char *label, char *why, size_t whylen)
{
    struct timeval tv = timeout_tv(c);
    redisContext *x;

    x = unix_socket ? redisConnectUnixWithTimeout(host, tv)
                    : redisConnectWithTimeout(host, port, tv);
    if (x == NULL || x->err) {
        context_error(c, x, "cannot connect", label, why, whylen);
        if (x != NULL)
            redisFree(x);
        return NULL;
    }
    if (redisSetTimeout(x, tv) != REDIS_OK) {
        context_error(c, x, "setting the timeout", label, why, whylen);
        redisFree(x);
        return NULL;
    }
    if (!unix_socket)
        redisEnableKeepAlive(x);
    return x;
}

/* One command on a fresh context during a connect; NULL with why set. */
static redisReply *
setup_command(const struct redis_conn *c, redisContext *x, const char *what, const char *label,
              char *why, size_t whylen, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(x, argc, argv, NULL);

    if (r == NULL) {
        context_error(c, x, what, label, why, whylen);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        errbuf_printf(why, whylen, "%s: %s refused: %s", label, what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* AUTH, SELECT and (for a sentinel's master) ROLE on a fresh context.
 * 0, or -1 with why set. */
static int
prepare(const struct redis_conn *c, redisContext *x, int check_role, const char *label,
        char *why, size_t whylen)
{
    redisReply *r;
    char db[16];

    if (c->spec.password[0] != '\0') {
        const char *argv[3] = { "AUTH", c->spec.username, c->spec.password };
        if (c->spec.username[0] != '\0')
            r = setup_command(c, x, "AUTH", label, why, whylen, 3, argv);
        else {
            argv[1] = c->spec.password;
            r = setup_command(c, x, "AUTH", label, why, whylen, 2, argv);
        }
        if (r == NULL)
            return -1;
        freeReplyObject(r);
    }
    if (c->spec.db != 0) {
        const char *argv[2] = { "SELECT", db };
        errbuf_printf(db, sizeof db, "%d", c->spec.db);
        r = setup_command(c, x, "SELECT", label, why, whylen, 2, argv);
        if (r == NULL)
            return -1;
        freeReplyObject(r);
    }
    if (check_role) {
        const char *argv[1] = { "ROLE" };
        r = setup_command(c, x, "ROLE", label, why, whylen, 1, argv);
        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 1
            || r->element[0]->type != REDIS_REPLY_STRING) {
            errbuf_printf(why, whylen, "%s: unexpected reply to ROLE", label);
            freeReplyObject(r);
            return -1;
        }
        if (strcmp(r->element[0]->str, "master") != 0) {
            errbuf_printf(why, whylen, "%s: is a %.20s, not the master (a failover is under way?)",
                     label, r->element[0]->str);
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

/* Ask sentinel k where the master is: 0 with host (256 bytes) and *port
 * set, or -1 with why set. */
static int
ask_sentinel(const struct redis_conn *c, int k, char *host, int *port, char *why, size_t whylen)
{
    const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", c->spec.master };
    char saddr[300], label[LABEL_MAX];
    redisContext *s;
    redisReply *r;
    unsigned long v;

    hostport(saddr, sizeof saddr, c->spec.sentinel_host[k], c->spec.sentinel_port[k]);
    errbuf_printf(label, sizeof label, "%s: sentinel %s", c->where, saddr);
    s = dial(c, c->spec.sentinel_host[k], c->spec.sentinel_port[k], 0, label, why, whylen);
    if (s == NULL)
        return -1;
    r = setup_command(c, s, "SENTINEL get-master-addr-by-name", label, why, whylen, 3, argv);
    redisFree(s);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_NIL) {
        errbuf_printf(why, whylen, "%s: does not know master '%s'", label, c->spec.master);
        freeReplyObject(r);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING
        || r->element[0]->len == 0 || r->element[0]->len >= 256
        || strlen(r->element[0]->str) != r->element[0]->len
        || redis_spec_uint(r->element[1]->str, r->element[1]->len, 65535, &v) != 0
        || v == 0) {
        errbuf_printf(why, whylen, "%s: unexpected reply to SENTINEL get-master-addr-by-name", label);
        freeReplyObject(r);
        return -1;
    }
    memcpy(host, r->element[0]->str, r->element[0]->len + 1);
    *port = (int) v;
    freeReplyObject(r);
    return 0;
}

/* Ask sentinel k for the master and connect to it.  The context, or NULL
 * with why set. */
static redisContext *
via_sentinel(struct redis_conn *c, int k, char *why, size_t whylen)
{
    char maddr[300], label[LABEL_MAX], host[256];
    redisContext *x;
    int port;

    if (ask_sentinel(c, k, host, &port, why, whylen) != 0)
        return NULL;
    hostport(maddr, sizeof maddr, host, port);
    errbuf_printf(label, sizeof label, "%s at %s", c->where, maddr);
    x = dial(c, host, port, 0, label, why, whylen);
    if (x == NULL)
        return NULL;
    if (prepare(c, x, 1, label, why, whylen) != 0) {
        redisFree(x);
        return NULL;
    }
    errbuf_printf(c->label, sizeof c->label, "%s", label);
    memcpy(c->master_host, host, sizeof host);
    c->master_port = port;
    return x;
}

/* Through Sentinel, at most once a second while in use: does the sentinel
 * that answered last now name another master?  After a failover the old
 * master stays writable until Sentinel demotes it (seconds later), and
 * what is written to it meanwhile is lost, so an open connection is not
 * trusted just because it works.  A sentinel that does not answer says
 * nothing: the connection is kept. */
static int
master_moved(struct redis_conn *c)
{
    char host[256], why[REDIS_CONN_ERRLEN];
    int port;

    if (ask_sentinel(c, c->sentinel_first, host, &port, why, sizeof why) != 0)
        return 0;
    return port != c->master_port || strcmp(host, c->master_host) != 0;
}

/* Subscribe to +switch-master on sentinel k (c->watch), unless already
 * done there.  Failing is not an error: master_moved() is then asked once
 * a second instead. */
static void
watch_sentinel(struct redis_conn *c, int k)
{
    char why[REDIS_CONN_ERRLEN];
    redisReply *r;

    if (c->watch != NULL && c->watch_sentinel == k && !c->watch->err)
        return;
    if (c->watch != NULL)
        redisFree(c->watch);
    c->watch = dial(c, c->spec.sentinel_host[k], c->spec.sentinel_port[k], 0, c->where,
                    why, sizeof why);
    if (c->watch == NULL)
        return;
    /* The address get-master-addr-by-name gives changes with
     * +promoted-slave and +failover-state-reconf-slaves (the replica has
     * taken over); +switch-master comes at the end of the failover. */
    r = redisCommand(c->watch, "SUBSCRIBE +switch-master +promoted-slave "
                     "+failover-state-reconf-slaves");
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        if (r != NULL)
            freeReplyObject(r);
        redisFree(c->watch);
        c->watch = NULL;
        return;
    }
    freeReplyObject(r);
    c->watch_sentinel = k;
}

/* Does this event message name our master (as a whole word)? */
static int
names_master(const struct redis_conn *c, const redisReply *r)
{
    size_t mlen = strlen(c->spec.master);
    const char *p, *end;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[2]->type != REDIS_REPLY_STRING)
        return 0;
    p = r->element[2]->str;
    end = p + r->element[2]->len;
    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t) (end - p));
        const char *wend = sp != NULL ? sp : end;

        if ((size_t) (wend - p) == mlen && memcmp(p, c->spec.master, mlen) == 0)
            return 1;
        p = wend + 1;
    }
    return 0;
}

/* Has the subscription announced a failover of our master?  1 yes (then
 * ask the sentinel where it is now), 0 no, -1 the subscription broke (it
 * is then closed). */
static int
watch_says_moved(struct redis_conn *c)
{
    struct pollfd pfd;
    int moved = 0;

    for (;;) {
        void *v;

        /* First what the reader holds already, then what the socket has. */
        while (redisGetReplyFromReader(c->watch, &v) == REDIS_OK && v != NULL) {
            redisReply *r = v;

            if (names_master(c, r))
                moved = 1;
            freeReplyObject(r);
        }
        if (c->watch->err)
            break;
        pfd.fd = c->watch->fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 0) <= 0)
            return moved;
        if (redisBufferRead(c->watch) != REDIS_OK)
            break;
    }
    redisFree(c->watch);
    c->watch = NULL;
    return moved ? 1 : -1;
}

/* Make c->ctx.  0, or -1 with why set. */
static int
connect_now(struct redis_conn *c, char *why, size_t whylen)
{
    redisContext *x;
    int k, n = c->spec.n_sentinels;
    char last[REDIS_CONN_ERRLEN];

    if (!c->spec.sentinel) {
        x = dial(c, c->spec.host, c->spec.port, c->spec.unix_socket, c->where, why, whylen);
        if (x == NULL)
            return -1;
        if (prepare(c, x, 0, c->where, why, whylen) != 0) {
            redisFree(x);
            return -1;
        }
        c->ctx = x;
        c->gen++;
        return 0;
    }
    last[0] = '\0';
    for (k = 0; k < n; k++) {
        int i = (c->sentinel_first + k) % n;

        x = via_sentinel(c, i, last, sizeof last);
        if (x != NULL) {
            c->sentinel_first = i;
            c->ctx = x;
            c->gen++;
            c->recheck_ms = mono_ms() + SENTINEL_RECHECK_MS;
            watch_sentinel(c, i);
            return 0;
        }
    }
    if (n == 1)
        errbuf_printf(why, whylen, "%s", last);
    else
        errbuf_printf(why, whylen, "%s (and %d other sentinel%s failed)", last, n - 1,
                 n == 2 ? "" : "s");
    return -1;
}

static void
drop(struct redis_conn *c)
{
    if (c->ctx != NULL)
        redisFree(c->ctx);
    c->ctx = NULL;
    errbuf_printf(c->label, sizeof c->label, "%s", c->where);
}

static void
outage(struct redis_conn *c, const char *why)
{
    errbuf_printf(c->last_err, sizeof c->last_err, "%s", why);
    if (!c->down) {
        c->down = 1;
        c->down_told = 0;
    }
    if (!c->down_told && c->notify != NULL) {
        c->down_told = 1;
        c->notify(c->notify_ctx, 0, why);
    }
}

static void
restored(struct redis_conn *c)
{
    char msg[LABEL_MAX + 16];

    if (!c->down)
        return;
    c->down = 0;
    if (c->down_told && c->notify != NULL) {
        errbuf_printf(msg, sizeof msg, "%s: connected", c->label);
        c->notify(c->notify_ctx, 1, msg);
    }
    c->down_told = 0;
}

/* Did the server close (or write to) a connection we were not using? */
static int
stale(const redisContext *x)
{
    struct pollfd pfd;

    if (x->err)
        return 1;
    pfd.fd = x->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) != 0;
}

/* Start or continue the backoff after a failed connect or a timeout. */
static void
back_off(struct redis_conn *c)
{
    c->backoff_ms = c->backoff_ms == 0 ? BACKOFF_FIRST_MS
                  : c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    c->next_try_ms = mono_ms() + c->backoff_ms;
}

/* Be connected: 0, or -1 with err set (c->lock held).  A working
 * connection is only "up" once a command has had its reply (see run). */
static int
ensure(struct redis_conn *c, char *err, size_t errlen)
{
    char why[REDIS_CONN_ERRLEN];
    long long now;

    if (c->ctx != NULL) {
        if (!stale(c->ctx)) {
            int moved = -1;

            if (!c->spec.sentinel)
                return 0;
            if (c->watch != NULL)
                moved = watch_says_moved(c);
            if (moved == 1) {           /* a failover of ours: where to now? */
                moved = master_moved(c);
            } else if (moved == -1) {   /* no subscription: ask, once a second */
                if (mono_ms() < c->recheck_ms)
                    return 0;
                c->recheck_ms = mono_ms() + SENTINEL_RECHECK_MS;
                moved = master_moved(c);
            }
            if (!moved)
                return 0;
        }
        drop(c);
    }
    now = mono_ms();
    if (c->backoff_ms > 0 && now < c->next_try_ms) {
        errbuf_printf(err, errlen, "%s (next attempt in %lld ms)", c->last_err, c->next_try_ms - now);
        return -1;
    }
    if (connect_now(c, why, sizeof why) == 0)
        return 0;
    back_off(c);
    outage(c, why);
    errbuf_printf(err, errlen, "%s", why);
    return -1;
}

/* SIGPIPE: blocked in this thread while we talk to the server; one that we
 * raised is consumed before the old mask comes back. */
struct sigpipe_guard {
    sigset_t old;
    int was_pending;
};

static void
sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t set, pending;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
    sigemptyset(&pending);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void
sigpipe_restore(const struct sigpipe_guard *g)
{
    sigset_t set, pending;
    struct timespec zero = { 0, 0 };

    if (!g->was_pending) {
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE) == 1)
            while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
                ;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* The connection failed while a command was under way (c->lock held):
 * drop it, start the backoff after a timeout (the server is there but not
 * answering; do not make every caller wait for it in turn), and report. */
static void
command_failed(struct redis_conn *c, char *err, size_t errlen)
{
    char why[REDIS_CONN_ERRLEN];
    int timed_out = c->ctx->err == REDIS_ERR_IO
        && (strcmp(c->ctx->errstr, strerror(EAGAIN)) == 0
            || strcmp(c->ctx->errstr, strerror(EWOULDBLOCK)) == 0);

    if (timed_out)
        errbuf_printf(why, sizeof why, "%s: no reply within %d ms", c->label, c->spec.timeout_ms);
    else
        context_error(c, c->ctx, "connection lost", c->label, why, sizeof why);
    drop(c);
    if (timed_out)
        back_off(c);
    outage(c, why);
    errbuf_printf(err, errlen, "%s", why);
}

/* Be connected for a command (c->lock held): inside redis_conn_lock,
 * after the first command, the connection must be the one WATCH and
 * MULTI live on.  0, or -1 with err set. */
static int
ready(struct redis_conn *c, char *err, size_t errlen)
{
    struct sigpipe_guard g;
    int rc;

    if (c->txn && c->txn_used) {
        if (c->ctx == NULL || c->gen != c->txn_gen) {
            errbuf_printf(err, errlen, "%s: connection lost in the middle of a transaction",
                   c->label);
            return -1;
        }
        return 0;
    }
    sigpipe_block(&g);
    rc = ensure(c, err, errlen);
    sigpipe_restore(&g);
    if (rc != 0)
        return -1;
    if (c->txn) {
        c->txn_used = 1;
        c->txn_gen = c->gen;
    }
    return 0;
}

/* Run n commands (c->lock held): a formatted one (fmt, ap; n == 1) or n
 * vectors, all written at once and their n replies read, so that they
 * cost one round trip.  0 with replies[0 .. n) set, or -1 with err set and
 * every reply NULL.  A READONLY reply to any of them drops the connection
 * and fails the whole run: the others may have been carried out (as a
 * command whose reply was lost may have been). */
static int
run(struct redis_conn *c, char *err, size_t errlen, const char *fmt, va_list *ap,
    size_t n, const struct redis_cmd *cmds, redisReply **replies)
{
    char why[REDIS_CONN_ERRLEN];
    struct sigpipe_guard g;
    size_t i, got = 0;
    int rc = REDIS_OK, readonly = 0;

    for (i = 0; i < n; i++)
        replies[i] = NULL;
    if (c == NULL) {
        errbuf_printf(err, errlen, "no Redis handle");
        return -1;
    }
    if (ready(c, err, errlen) != 0)
        return -1;
    sigpipe_block(&g);
    if (fmt != NULL)
        rc = redisvAppendCommand(c->ctx, fmt, *ap);
    else
        for (i = 0; i < n && rc == REDIS_OK; i++)
            rc = redisAppendCommandArgv(c->ctx, cmds[i].argc, cmds[i].argv, cmds[i].argvlen);
    /* The first read writes everything appended, in as few writes as the
     * socket takes. */
    for (got = 0; rc == REDIS_OK && got < n; got++) {
        void *v = NULL;

        rc = redisGetReply(c->ctx, &v);
        replies[got] = v;
        if (rc == REDIS_OK && v == NULL)
            rc = REDIS_ERR;
    }
    sigpipe_restore(&g);

    if (rc != REDIS_OK) {
        for (i = 0; i < n; i++) {
            if (replies[i] != NULL)
                freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
        if (c->ctx->err == 0) {
            /* Out of memory formatting or reading: the stream is out of
             * step with our replies, so the connection must go too. */
            c->ctx->err = REDIS_ERR_OOM;
            snprintf(c->ctx->errstr, sizeof c->ctx->errstr, "out of memory");
        }
        command_failed(c, err, errlen);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const redisReply *r = replies[i];

        /* A script that wrote on a replica: Redis 7 answers READONLY as
         * for a command, Redis 6 wraps it ("ERR Error running script ...
         * -READONLY ..."). */
        if (r->type == REDIS_REPLY_ERROR && !readonly
            && (strncmp(r->str, "READONLY", 8) == 0 || strstr(r->str, "-READONLY ") != NULL)) {
            readonly = 1;
            errbuf_printf(why, sizeof why, "%s: is read-only (a replica now?): %s", c->label,
                          r->str);
        }
    }
    if (readonly) {
        for (i = 0; i < n; i++) {
            freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
        drop(c);
        outage(c, why);
        errbuf_printf(err, errlen, "%s", why);
        return -1;
    }
    c->backoff_ms = 0;
    restored(c);
    return 0;
}

/* ---- the handle --------------------------------------------------------- */

struct redis_conn *
redis_conn_open(const char *spec, int must_connect, char *err, size_t errlen)
{
    struct redis_conn *c;
    char why[REDIS_CONN_ERRLEN], addr[300];
    struct sigpipe_guard g;
    int rc;

    c = calloc(1, sizeof *c);
    if (c == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    if (redis_spec_parse(spec, &c->spec, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        errbuf_printf(err, errlen, "cannot create a mutex");
        return NULL;
    }
    if (c->spec.sentinel) {
        errbuf_printf(c->where, sizeof c->where, "redis master '%s'", c->spec.master);
    } else if (c->spec.unix_socket) {
        errbuf_printf(c->where, sizeof c->where, "redis unix:%s", c->spec.host);
    } else {
        hostport(addr, sizeof addr, c->spec.host, c->spec.port);
        errbuf_printf(c->where, sizeof c->where, "redis %s", addr);
    }
    errbuf_printf(c->label, sizeof c->label, "%s", c->where);

    sigpipe_block(&g);
    rc = connect_now(c, why, sizeof why);
    sigpipe_restore(&g);
    if (rc != 0) {
        if (must_connect) {
            errbuf_printf(err, errlen, "%s", why);
            redis_conn_close(c);
            return NULL;
        }
        /* Not an error: calls fail until Redis is there.  The outage is
         * told when a callback is set. */
        c->backoff_ms = BACKOFF_FIRST_MS;
        c->next_try_ms = mono_ms() + c->backoff_ms;
        outage(c, why);
    }
    return c;
}

void
redis_conn_set_notify(struct redis_conn *c, redis_conn_notify_fn fn, void *ctx)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->notify = fn;
    c->notify_ctx = ctx;
    if (c->down && !c->down_told && fn != NULL) {
        c->down_told = 1;
        fn(ctx, 0, c->last_err);
    }
    pthread_mutex_unlock(&c->lock);
}

const char *
redis_conn_prefix(const struct redis_conn *c)
{
    return c->spec.prefix;
}

const struct redis_spec *
redis_conn_spec(const struct redis_conn *c)
{
    return &c->spec;
}

const char *
redis_conn_address(const struct redis_conn *c)
{
    return c->where;
}

redisReply *
redis_conn_command(struct redis_conn *c, char *err, size_t errlen, const char *fmt, ...)
{
    redisReply *r = NULL;
    va_list ap;

    if (c == NULL || fmt == NULL) {
        errbuf_printf(err, errlen, "no Redis handle or command");
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    va_start(ap, fmt);
    run(c, err, errlen, fmt, &ap, 1, NULL, &r);
    va_end(ap);
    pthread_mutex_unlock(&c->lock);
    return r;
}

redisReply *
redis_conn_commandv(struct redis_conn *c, char *err, size_t errlen,
                    int argc, const char **argv, const size_t *argvlen)
{
    struct redis_cmd cmd = { argc, argv, argvlen };
    redisReply *r = NULL;

    if (c == NULL || argc < 1 || argv == NULL) {
        errbuf_printf(err, errlen, "no Redis handle or command");
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    run(c, err, errlen, NULL, NULL, 1, &cmd, &r);
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* Every command of a pipeline well formed? */
static int
valid_cmds(size_t n, const struct redis_cmd *cmds)
{
    size_t i;

    if (n == 0 || n > REDIS_PIPELINE_MAX || cmds == NULL)
        return 0;
    for (i = 0; i < n; i++)
        if (cmds[i].argc < 1 || cmds[i].argv == NULL)
            return 0;
    return 1;
}

int
redis_conn_pipeline(struct redis_conn *c, char *err, size_t errlen, size_t n,
                    const struct redis_cmd *cmds, redisReply **replies)
{
    int rc;

    if (c == NULL || replies == NULL || !valid_cmds(n, cmds)) {
        errbuf_printf(err, errlen, "no Redis handle or commands");
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    rc = run(c, err, errlen, NULL, NULL, n, cmds, replies);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int
redis_conn_pipeline_locked(struct redis_conn *c, char *err, size_t errlen, size_t n,
                           const struct redis_cmd *cmds, redisReply **replies)
{
    if (c == NULL || replies == NULL || !valid_cmds(n, cmds)) {
        errbuf_printf(err, errlen, "no Redis handle or commands");
        return -1;
    }
    return run(c, err, errlen, NULL, NULL, n, cmds, replies);
}

void
redis_conn_lock(struct redis_conn *c)
{
    pthread_mutex_lock(&c->lock);
    c->txn = 1;
    c->txn_used = 0;
}

void
redis_conn_unlock(struct redis_conn *c)
{
    c->txn = 0;
    pthread_mutex_unlock(&c->lock);
}

redisReply *
redis_conn_commandv_locked(struct redis_conn *c, char *err, size_t errlen,
                           int argc, const char **argv, const size_t *argvlen)
{
    struct redis_cmd cmd = { argc, argv, argvlen };
    redisReply *r = NULL;

    if (c == NULL || argc < 1 || argv == NULL) {
        errbuf_printf(err, errlen, "no Redis handle or command");
        return NULL;
    }
    run(c, err, errlen, NULL, NULL, 1, &cmd, &r);
    return r;
}

void
redis_conn_close(struct redis_conn *c)
{
    volatile char *pw;
    size_t i;

    if (c == NULL)
        return;
    drop(c);
    if (c->watch != NULL)
        redisFree(c->watch);
    pthread_mutex_destroy(&c->lock);
    /* Do not leave the password in freed memory. */
    pw = c->spec.password;
    for (i = 0; i < sizeof c->spec.password; i++)
        pw[i] = 0;
    free(c);
}
