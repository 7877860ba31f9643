/*
 * null_milter.c - a milter that does nothing, for bench/postfix_milter.sh:
 * what Postfix loses to the milter protocol itself, before any filter's
 * work.  Not installed.
 *
 * It is served by postaged's own protocol code (milter_conn.c and
 * milter_server.c, the same threads, sockets and TCP options), with a
 * filter whose callbacks do nothing, so that the difference between it
 * and postaged is postaged's work, and the difference between it and
 * Postfix alone the protocol's cost.  Two modes:
 *
 *   same   the stages and answers postaged negotiates (policy/frontends/
 *          milter.c: every stage sent, MAIL, RCPT, end of headers and end
 *          of message answered, the others not; the same actions);
 *   floor  every stage Postfix lets a milter skip skipped (SMFIP_NOCONNECT
 *          ... NOBODY, NOUNKNOWN, NODATA), no action asked: the connection,
 *          the option negotiation and end of message are all that is left,
 *          the least any milter that still sees end of message costs.
 *
 * Usage: null_milter [--floor] SPEC    (SPEC: inet:HOST:PORT | unix:PATH)
 * It runs in the foreground until SIGTERM or SIGINT.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/log.h"
#include "policy/frontends/milter_conn.h"
#include "policy/frontends/milter_server.h"
#include "policy/frontends/milter_wire.h"

static int dummy_priv;

static void *
null_open(void)
{
    return &dummy_priv;
}

static enum pd_mstat
null_connect(struct pd_milter_conn *c, void *p, const char *host, const char *addr)
{
    (void) c, (void) p, (void) host, (void) addr;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
null_str(struct pd_milter_conn *c, void *p, const char *s)
{
    (void) c, (void) p, (void) s;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
null_args(struct pd_milter_conn *c, void *p, const char **argv, int argc)
{
    (void) c, (void) p, (void) argv, (void) argc;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
null_header(struct pd_milter_conn *c, void *p, const char *name, const char *value)
{
    (void) c, (void) p, (void) name, (void) value;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
null_stage(struct pd_milter_conn *c, void *p)
{
    (void) c, (void) p;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
null_body(struct pd_milter_conn *c, void *p, const unsigned char *d, size_t len)
{
    (void) c, (void) p, (void) d, (void) len;
    return PD_MS_CONTINUE;
}

/* postaged's negotiation (milter.c's filter): same actions, same stages,
 * same answered stages. */
static const struct pd_milter_filter same = {
    .actions = PD_MWA_ADDHDRS | PD_MWA_CHGHDRS | PD_MWA_QUARANTINE,
    .answered = PD_MWP_NR_MAIL | PD_MWP_NR_RCPT | PD_MWP_NR_EOH,
    .open = null_open,
    .connect = null_connect,
    .helo = null_str,
    .envfrom = null_args,
    .envrcpt = null_args,
    .header = null_header,
    .eoh = null_stage,
    .body = null_body,
    .eom = null_stage,
};

/* No callback: milter_conn.c asks the MTA to skip every stage; end of
 * message is always sent, and answered "continue". */
static const struct pd_milter_filter floor_filter = {
    .actions = 0,
    .answered = 0,
    .open = null_open,
};

static struct pd_milter_server *server;

static void *
wait_signal(void *arg)
{
    sigset_t *set = arg;
    int sig;
    sigwait(set, &sig);
    pd_milter_server_stop(server);
    return NULL;
}

int
main(int argc, char **argv)
{
    const struct pd_milter_filter *f = &same;
    int a = 1;
    if (a < argc && strcmp(argv[a], "--floor") == 0) {
        f = &floor_filter;
        a++;
    }
    if (a + 1 != argc) {
        fprintf(stderr, "usage: null_milter [--floor] inet:HOST:PORT|unix:PATH\n");
        return 2;
    }
    pd_log_open("null_milter", 0, PD_LOG_WARNING);
    /* Signals go to one thread, which stops the server; the connection
     * threads inherit the blocked mask. */
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    char err[256];
    if ((server = pd_milter_server_open(argv[a], err, sizeof err)) == NULL) {
        fprintf(stderr, "null_milter: %s: %s\n", argv[a], err);
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, wait_signal, &set) != 0) {
        fprintf(stderr, "null_milter: cannot start a thread\n");
        return 1;
    }
    pthread_detach(t);
    int rc = pd_milter_server_run(server, f, PD_MILTER_TIMEOUT);
    pd_milter_server_close(server);
    return rc == 0 ? 0 : 1;
}
