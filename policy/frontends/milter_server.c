/*
 * milter_server.c - accept MTA connections on milter_listen and serve each
 * in a thread of its own while it lasts (milter_server.h).
 *
 * Postfix opens a milter connection per SMTP session, so a thread per
 * connection would be a thread made and ended per message.  A thread whose
 * connection ends waits instead, idle, for the next one accepted; at most
 * PD_MILTER_IDLE_MAX wait, the others end.  When no thread is idle a new
 * one is started: the connections served at once are not limited.
 *
 * Accepted TCP sockets get TCP_NODELAY: postaged's replies leave at once
 * instead of waiting on the MTA's delayed ACK of the previous one, and
 * milter_wire.c re-arms TCP_QUICKACK when it waits for the MTA after
 * packets that got no reply.  Each connection's socket carries the read
 * and write timeouts, so a silent MTA holds a thread for that long only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "policy/base/listen.h"
#include "policy/base/log.h"
#include "policy/frontends/milter_server.h"

/* Idle threads kept for the next connections; a burst beyond it starts
 * threads that end with their connection. */
#define PD_MILTER_IDLE_MAX 8

struct conn {
    struct conn *next, *prev;
    struct conn *next_queued;     /* handed to an idle thread           */
    struct pd_milter_server *s;
    int fd;
    int tcp;
    char peer[INET6_ADDRSTRLEN + 8];
};

struct pd_milter_server {
    int listen_fd;
    int wake[2];
    int stop;
    char unix_path[128];          /* the socket file to remove, or ""   */
    const struct pd_milter_filter *f;
    pthread_mutex_t lock;
    pthread_cond_t idle;          /* signalled as connections and
                                   * threads end                        */
    pthread_cond_t work;          /* signalled as connections queue     */
    struct conn *conns;           /* open connections, under lock       */
    unsigned n_conns;
    struct conn *queue, **queue_tail;  /* accepted, for idle threads    */
    unsigned n_queued;
    unsigned n_waiting;           /* threads idle in worker_next()      */
    unsigned n_threads;           /* threads running (they use s)       */
};

struct pd_milter_server *
pd_milter_server_open(const char *spec, char *err, size_t errlen)
{
    struct pd_milter_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->wake[0] = s->wake[1] = -1;
    if ((s->listen_fd = pd_listen(spec, err, errlen)) < 0) {
        free(s);
        return NULL;
    }
    if (pipe(s->wake) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(s->listen_fd);
        free(s);
        return NULL;
    }
    fcntl(s->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(s->wake[1], F_SETFD, FD_CLOEXEC);
    fcntl(s->wake[1], F_SETFL, O_NONBLOCK);
    if (strncmp(spec, "unix:", 5) == 0)
        snprintf(s->unix_path, sizeof s->unix_path, "%s", spec + 5);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    pthread_cond_init(&s->work, NULL);
    s->queue_tail = &s->queue;
    return s;
}

/* The connection served is over: unlist and close it.  Under s->lock. */
static void
conn_end(struct pd_milter_server *s, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    /* Closed under the lock: stop() shuts down only descriptors still
     * listed, never one that was closed and reused. */
    close(c->fd);
    pthread_cond_broadcast(&s->idle);
}

/* The next connection for a thread whose connection ended: one queued
 * while it waits idle, or NULL when it is to end (the server stops, or
 * enough threads wait already).  Under s->lock. */
static struct conn *
worker_next(struct pd_milter_server *s)
{
    if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED) || s->n_waiting >= PD_MILTER_IDLE_MAX)
        return NULL;
    s->n_waiting++;
    while (s->queue == NULL && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
        pthread_cond_wait(&s->work, &s->lock);
    s->n_waiting--;
    /* A connection queued is taken even when stopping: it is listed, so
     * it was shut down, and its serve returns at once. */
    struct conn *c = s->queue;
    if (c != NULL) {
        s->queue = c->next_queued;
        if (s->queue == NULL)
            s->queue_tail = &s->queue;
        s->n_queued--;
    }
    return c;
}

static void *
conn_thread(void *p)
{
    struct conn *c = p;
    struct pd_milter_server *s = c->s;
    while (c != NULL) {
        pd_milter_conn_serve(c->fd, c->tcp, c->peer, s->f, &s->stop);
        pthread_mutex_lock(&s->lock);
        conn_end(s, c);
        free(c);
        c = worker_next(s);
        if (c == NULL) {
            /* The last use of s: run() waits for n_threads to reach 0. */
            s->n_threads--;
            pthread_cond_broadcast(&s->idle);
        }
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

/* Take one connection off the listening socket and start its thread. */
static void
accept_one(struct pd_milter_server *s, int timeout_s)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    int fd = accept4(s->listen_fd, (struct sockaddr *) &ss, &sslen, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
            errno == ECONNABORTED)
            return;
        pd_log(PD_LOG_WARNING, "milter: accept: %s", strerror(errno));
        /* out of descriptors or memory: do not spin on it */
        poll(NULL, 0, 100);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        pd_log(PD_LOG_WARNING, "milter: out of memory; connection closed");
        close(fd);
        return;
    }
    c->s = s;
    c->fd = fd;
    int one = 1;
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        char a[INET6_ADDRSTRLEN] = "?";
        unsigned port;
        c->tcp = 1;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *) &ss;
            inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
            port = ntohs(in->sin_port);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
            port = ntohs(in6->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s:%u", a, port);
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            pd_log(PD_LOG_WARNING, "milter: cannot set TCP_NODELAY: %s", strerror(errno));
    } else {
        snprintf(c->peer, sizeof c->peer, "unix");
    }
    struct timeval tv = { .tv_sec = timeout_s, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    pthread_mutex_lock(&s->lock);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (s->n_waiting > s->n_queued) {
        /* a thread waits idle that no queued connection is meant for */
        *s->queue_tail = c;
        s->queue_tail = &c->next_queued;
        s->n_queued++;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->n_threads++;
    pthread_mutex_unlock(&s->lock);

    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&tid, &attr, conn_thread, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pd_log(PD_LOG_WARNING, "milter: MTA %s: cannot start a thread: %s; closing", c->peer,
               strerror(rc));
        pthread_mutex_lock(&s->lock);
        s->n_threads--;
        conn_end(s, c);
        pthread_mutex_unlock(&s->lock);
        free(c);
    }
}

int
pd_milter_server_run(struct pd_milter_server *s, const struct pd_milter_filter *f,
                     int timeout_s)
{
    s->f = f;
    int rc = 0;
    while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
        struct pollfd pfd[2] = { { .fd = s->listen_fd, .events = POLLIN },
                                 { .fd = s->wake[0], .events = POLLIN } };
        int n = poll(pfd, 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            pd_log(PD_LOG_ERROR, "milter: poll: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (pfd[1].revents)
            break;
        if (pfd[0].revents)
            accept_one(s, timeout_s);
    }
    /* Wake every connection still waiting on its MTA and every idle
     * thread, and wait for all to end: the engine they use goes once we
     * return, and s when the caller closes it. */
    pthread_mutex_lock(&s->lock);
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
    for (struct conn *c = s->conns; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    pthread_cond_broadcast(&s->work);
    while (s->n_conns > 0 || s->n_threads > 0)
        pthread_cond_wait(&s->idle, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void
pd_milter_server_stop(struct pd_milter_server *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
    if (write(s->wake[1], "x", 1) < 0) {
        /* full pipe: a wake-up is already pending */
    }
}

void
pd_milter_server_close(struct pd_milter_server *s)
{
    if (s == NULL)
        return;
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    if (s->unix_path[0] != '\0') {
        struct stat st;
        if (lstat(s->unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(s->unix_path);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->work);
    free(s);
}
