/*
 * postaged - the postage policy daemon: a Postfix policy server and a
 * milter over one engine and one state store.
 *
 * Start-up order matters: read and check the configuration; bind the
 * sockets (root may be needed for the port or the socket directory);
 * detach; write the pidfile; drop to the unprivileged user; only then open
 * the state store (so its files belong to that user, and no LMDB handle
 * crosses the fork) and start the threads.  The main thread keeps the
 * signals: SIGHUP reloads the configuration into a new engine while
 * connections stay open, SIGTERM/SIGINT stop cleanly, and between signals
 * it expires old state, off the request path.
 *
 * Whoever starts the daemon learns whether it started, as with `postfix
 * start`: a start-up failure is printed on stderr, also in daemon mode and
 * with log = syslog.  Detaching, the parent stays until the child reports
 * through a pipe that it is ready (store open, threads running) or why it
 * is not, prints that and exits 1, or exits 0 on ready.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy/engine/config_load.h"
#include "policy/engine/engine.h"
#include "policy/base/listen.h"
#include "policy/base/log.h"
#include "policy/base/metrics.h"
#include "policy/frontends/metrics_http.h"
#include "policy/base/notify.h"
#include "policy/frontends/milter.h"
#include "policy/frontends/stamp_milter.h"
#include "policy/frontends/policy_server.h"
#include "policy/engine/published.h"
#include "policy/engine/rep_writer.h"
#include "policy/engine/settings.h"
#include "policy/state/state.h"
#include "kv/redis_spec.h"
#include "postage/status.h"
#include "postage/store.h"

/* Reputation updates waiting for the writer thread (about 0.8 KB each). */
#define REP_QUEUE 4096

static int signal_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stopping;

/* Start-up reporting (see the top): the child's end of the pipe to the
 * waiting parent, until ready; whether the log is syslog (then the
 * terminal gets its own copy of a failure); the pidfile once written, so
 * that a failed start does not leave it behind. */
static int report_fd = -1;
static int log_syslog;
static char pidfile_written[PD_SETTING_MAX];

/* The metrics registry: made once, before the first engine, and never
 * rebuilt, so that its counts survive SIGHUP (metrics.h). */
static struct pd_metrics *metrics_registry;

static void
on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char) sig;
    if (write(signal_pipe[1], &b, 1) < 0) {
        /* the pipe is full: a signal is already pending */
    }
    errno = saved;
}

static void
usage(FILE *out)
{
    fprintf(out,
"Usage: postaged [-c FILE] [-f] [-n] [-v]\n"
"       postaged [-c FILE] --dns-record DOMAIN\n"
"The postage policy daemon: a Postfix policy server and a milter with\n"
"access control, greylisting, quotas and accounting.\n"
"\n"
"  -c FILE      read the configuration from FILE (default:\n"
"               " POSTAGE_DEFAULT_CONFIG " if it exists,\n"
"               else the built-in defaults)\n"
"  -f           stay in the foreground\n"
"  -n           check the configuration and exit (0 valid, 1 not)\n"
"  -v           log more (each decision's details)\n"
"  --defaults   print every configuration key with its default and exit\n"
"  --dns-record DOMAIN  print the _postage.DOMAIN TXT record (zone-file line)\n"
"               of the price this configuration promises, and exit\n"
"  -h, --help   show this help;  -V, --version  show the version\n"
"\n"
"Postfix: smtpd_recipient_restrictions = ..., reject_unauth_destination,\n"
"           check_policy_service inet:127.0.0.1:10031\n"
"         smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10031\n"
"         smtpd_milters = inet:127.0.0.1:10032\n");
}

/* Remove the pidfile at a clean stop, but only while it still names this
 * process: a postaged started over us, or an admin, may have written its
 * own PID there since. */
static void
remove_pidfile(const char *path)
{
    char line[32], *end;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    int ours = fgets(line, sizeof line, f) != NULL &&
               strtol(line, &end, 10) == (long) getpid() && (*end == '\n' || *end == '\0');
    fclose(f);
    /* After dropping privileges this needs a directory that the user may
     * write (postaged.conf(5), pidfile). */
    if (ours && unlink(path) != 0) {
        int e = errno;
        pd_log(PD_LOG_WARNING, "pidfile %s: cannot remove it: %s%s", path, strerror(e),
               e == EACCES ? " (keep it in a directory that the daemon's user may write)" : "");
    }
}

static void
write_all_fd(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;  /* the parent is gone: nobody to tell */
        p += w;
        n -= (size_t) w;
    }
}

/* A failure before the daemon is ready: logged, and shown to whoever
 * started it — on stderr before detaching, through the parent after.
 * With log = stderr the log line is that copy (no second one). */
static void startup_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void
startup_fatal(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (report_fd >= 0) {
        if (log_syslog)
            pd_log(PD_LOG_ERROR, "%s", msg);
        write_all_fd(report_fd, "E", 1);
        write_all_fd(report_fd, msg, strlen(msg));
    } else {
        pd_log(PD_LOG_ERROR, "%s", msg);
        if (log_syslog)
            fprintf(stderr, "postaged: %s\n", msg);
    }
    if (pidfile_written[0] != '\0')
        remove_pidfile(pidfile_written);
    exit(1);
}

/* What the waiting parent prints after a degraded start (see
 * startup_degraded), sent with the "R". */
static char ready_note[2048];

/* A start that goes on without something it should have (a damaged or
 * lost store): logged at error level, and shown to whoever started the
 * daemon as startup_fatal's message would be, but the start goes on and
 * its exit status is 0. */
static void startup_degraded(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
startup_degraded(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pd_log(PD_LOG_ERROR, "%s", msg);
    if (!log_syslog)
        return;         /* the log line went to stderr: that is the copy */
    if (report_fd >= 0) {
        size_t used = strlen(ready_note);
        snprintf(ready_note + used, sizeof ready_note - used, "postaged: %s\n", msg);
    } else {
        fprintf(stderr, "postaged: %s\n", msg);
    }
}

/* The parent's side: wait for the child's word ("R", or "E" and the
 * message) and turn it into our exit status.  No time limit: a start that
 * hangs is for the admin to see, as with any command. */
static int
wait_for_child(int fd, pid_t child)
{
    char buf[2100];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t) r;
        if (n == sizeof buf - 1)
            break;
    }
    buf[n] = '\0';
    if (n > 0 && buf[0] == 'R') {
        fputs(buf + 1, stderr);     /* a degraded start's notes, if any */
        return 0;
    }
    if (n > 1 && buf[0] == 'E') {
        fprintf(stderr, "postaged: %s\n", buf + 1);
        return 1;
    }
    int status;
    if (waitpid(child, &status, 0) == child && WIFSIGNALED(status))
        fprintf(stderr, "postaged: the daemon died of signal %d while starting\n",
                WTERMSIG(status));
    else
        fprintf(stderr, "postaged: the daemon exited while starting without saying why "
                "(see the log)\n");
    return 1;
}

/* The child tells the parent it is ready; then the terminal is no longer
 * ours: with log = syslog nothing is meant for stderr, and keeping it open
 * would hold a caller's pipe open (e.g. $(postaged ...)). */
static void
report_ready(void)
{
    if (report_fd < 0)
        return;
    write_all_fd(report_fd, "R", 1);
    write_all_fd(report_fd, ready_note, strlen(ready_note));
    close(report_fd);
    report_fd = -1;
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0 && log_syslog)
        dup2(fd, 2);
    if (fd > 2)
        close(fd);
}

/* mkdir -p for the state directory, then hand it to the daemon's user. */
static int
prepare_state_dir(const char *dir, const struct passwd *pw)
{
    char path[PD_SETTING_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int) sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    /* A file in its place is a configuration mistake, refused at start,
     * not a damaged store (which would only degrade the start). */
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    if (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) != 0)
        return -1;
    return 0;
}

static void
detach(void)
{
    int report[2];
    if (pipe(report) != 0)
        startup_fatal("pipe: %s", strerror(errno));
    /* Not to leak into anything the daemon might run. */
    fcntl(report[0], F_SETFD, FD_CLOEXEC);
    fcntl(report[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0)
        startup_fatal("fork: %s", strerror(errno));
    if (pid > 0) {
        close(report[1]);
        _exit(wait_for_child(report[0], pid));
    }
    close(report[0]);
    report_fd = report[1];
    setsid();
    if (chdir("/") != 0)
        startup_fatal("chdir /: %s", strerror(errno));
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        if (fd > 2)
            close(fd);
    }
}

/* Everything -n checks: every rule and limit (by building an engine with
 * no store), and the sockets and store spellings.  Prints what is wrong;
 * returns 1 if something is, else 0. */
static int
check_settings(const struct pd_settings *s, const char *name, char *milter_spec, size_t size)
{
    struct pd_engine *probe;
    char err[1024];

    if (pd_engine_create(s, name, NULL, &probe, err, sizeof err) != 0) {
        fprintf(stderr, "postaged: %s\n", err);
        return 1;
    }
    pd_engine_unref(probe);
    if (s->policy_listen[0] == '\0' && s->milter_listen[0] == '\0' &&
        s->stamp_listen[0] == '\0') {
        fprintf(stderr, "postaged: %s: policy_listen, milter_listen and stamp_listen are "
                "all empty; nothing to serve\n", name);
        return 1;
    }
#ifndef HAVE_MILTER
    if (s->milter_listen[0] != '\0') {
        fprintf(stderr, "postaged: %s: milter_listen: postaged was built without milter "
                "support (configure --with-milter); leave it empty and use policy_listen\n",
                name);
        return 1;
    }
#endif
    if (s->milter_listen[0] != '\0' && (pd_listen_check(s->milter_listen, err, sizeof err) != 0 ||
                                        snprintf(milter_spec, size, "%s", s->milter_listen) >=
                                            (int) size)) {
        fprintf(stderr, "postaged: milter_listen: '%s' is not inet:HOST:PORT or unix:PATH\n",
                s->milter_listen);
        return 1;
    }
    if (s->metrics_listen[0] != '\0' && pd_metrics_http_check(s->metrics_listen, err,
                                                               sizeof err) != 0) {
        fprintf(stderr, "postaged: %s: %s\n", name, err);
        return 1;
    }
    /* The stamping milter: its keys only matter when it is on. */
    if (s->stamp_listen[0] != '\0' && pd_stamp_check(s, err, sizeof err) != 0) {
        fprintf(stderr, "postaged: %s: %s\n", name, err);
        return 1;
    }
    if (redis_scheme(s->store)) {
        struct redis_spec spec;
        char why[256];
        if (redis_spec_parse(s->store, &spec, why, sizeof why) != 0) {
            fprintf(stderr, "postaged: store: %s\n", why);
            return 1;
        }
    } else if (strncmp(s->store, "lmdb:", 5) != 0 || s->store[5] == '\0') {
        fprintf(stderr, "postaged: store: '%s' is neither lmdb:DIR nor a redis://, "
                "redis+unix:// or redis+sentinel:// address\n", s->store);
        return 1;
    }
    return 0;
}

struct policy_thread_arg {
    int listen_fd, wake_fd;
    struct pd_engine_slot *engines;
    struct pd_policy_limits limits;
};

static void *
policy_thread(void *p)
{
    struct policy_thread_arg *a = p;
    if (pd_policy_serve(a->listen_fd, a->wake_fd, a->engines, &a->limits, &stopping) != 0)
        pd_log(PD_LOG_ERROR, "policy front-end stopped");
    return NULL;
}

static void *
stamp_thread(void *p)
{
    (void) p;
    if (pd_stamp_run() != 0 && !stopping)
        pd_log(PD_LOG_ERROR, "stamping milter stopped");
    return NULL;
}

static void *
milter_thread(void *p)
{
    if (pd_milter_run(p) != 0 && !stopping)
        pd_log(PD_LOG_ERROR, "milter front-end stopped");
    return NULL;
}

/* Redis going down and coming back, logged once per outage (each
 * request during it is answered with on_error and says so in its own
 * decision line). */
static void
log_outage(void *ctx, int up, const char *why)
{
    if (!up)
        pd_metrics_store_outage(metrics_registry, strcmp(ctx, "spent-stamp store") == 0
                                                      ? PD_MST_STAMPS : PD_MST_STATE);
    if (up)
        pd_log(PD_LOG_INFO, "%s up: %s", (const char *) ctx, why ? why : "connected");
    else
        pd_log(PD_LOG_ERROR, "%s down: %s; answering with on_error until it is back",
               (const char *) ctx, why ? why : "unreachable");
}

/* A scrape reads the counters of the resolvers in force (metrics_http.h). */
static void
metrics_dns(void *ctx, struct pd_dns_stats *out)
{
    struct pd_engine *e = pd_engine_slot_get(ctx);
    pd_engine_dns_stats(e, &out[PD_MR_CHECKS]);
    pd_engine_unref(e);
    pd_stamp_dns_stats(&out[PD_MR_STAMP]);
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "defaults", no_argument, NULL, 'D' },
        { "dns-record", required_argument, NULL, 'R' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *file = NULL, *dns_record = NULL;
    int foreground = 0, check_only = 0, verbose = 0, c;
    char err[1024];

    while ((c = getopt_long(argc, argv, "c:fnvhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': file = optarg; break;
        case 'f': foreground = 1; break;
        case 'n': check_only = 1; break;
        case 'v': verbose = 1; break;
        case 'D': pd_settings_print_defaults(stdout); return 0;
        case 'R': dns_record = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("postaged (postage) %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "postaged: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    /* No -c: the system's file if there is one (config_load.h). */
    if (file == NULL)
        file = pd_config_default_file();
    struct pd_settings settings;
    char canonical[PD_DNS_NAME_MAX + 1];
    if (dns_record != NULL && pd_published_domain(dns_record, canonical, sizeof canonical, err,
                                                  sizeof err) != 0) {
        fprintf(stderr, "postaged: --dns-record: %s\n", err);
        return 2;
    }
    if (pd_config_load(&settings, file, err, sizeof err) != 0) {
        fprintf(stderr, "postaged: %s\n", err);
        return 1;
    }
    /* --dns-record: the record of what this configuration enforces, so
     * that the two always match (published.h); a configuration -n refuses
     * has nothing to publish. */
    if (dns_record != NULL) {
        char line[PD_PUBLISHED_LINE_MAX], unused[PD_SETTING_MAX + 16];
        int invalid = check_settings(&settings, file ? file : "(defaults)", unused,
                                     sizeof unused);
        if (!invalid && pd_published_zone_line(&settings, dns_record, line, sizeof line, NULL,
                                               err, sizeof err) != 0) {
            fprintf(stderr, "postaged: --dns-record: %s: %s\n", file ? file : "built-in defaults",
                    err);
            invalid = 1;
        }
        if (!invalid)
            printf("%s\n", line);
        pd_settings_free(&settings);
        return invalid || fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
    }
    char milter_spec[PD_SETTING_MAX + 16] = "";
    int invalid = check_settings(&settings, file ? file : "(defaults)", milter_spec,
                                 sizeof milter_spec);
    if (invalid || check_only) {
        if (!invalid)
            printf("postaged: %s: configuration OK\n", file ? file : "built-in defaults");
        pd_settings_free(&settings);
        return invalid;
    }

    log_syslog = settings.log == PD_LOG_TO_SYSLOG;
    pd_log_open("postaged", log_syslog, verbose ? PD_LOG_DEBUG : PD_LOG_INFO);

    /* Bind first: a port below 1024 or a socket in a root-owned directory
     * needs root, and a bind failure should stop us before we detach. */
    int policy_fd = -1;
    if (settings.policy_listen[0] != '\0' &&
        (policy_fd = pd_listen(settings.policy_listen, err, sizeof err)) < 0)
        startup_fatal("policy_listen: %s", err);

    if (milter_spec[0] != '\0' && pd_milter_open(settings.milter_listen, err, sizeof err) != 0)
        startup_fatal("milter_listen: %s", err);
    int stamp_on = settings.stamp_listen[0] != '\0';
    if (stamp_on && pd_stamp_open(&settings, err, sizeof err) != 0)
        startup_fatal("stamp_listen: %s", err);
    /* Metrics: the socket now, served once the threads run. */
    int metrics_fd = -1;
    if (settings.metrics_listen[0] != '\0' &&
        (metrics_fd = pd_metrics_http_bind(settings.metrics_listen, err, sizeof err)) < 0)
        startup_fatal("%s", err);
    if ((metrics_registry = pd_metrics_new()) == NULL)
        startup_fatal("out of memory");

    const struct passwd *pw = NULL;
    if (geteuid() == 0 && settings.user[0] != '\0') {
        pw = getpwnam(settings.user);
        if (pw == NULL)
            startup_fatal("user: no such user '%s'", settings.user);
    }
    if (!redis_scheme(settings.store) && prepare_state_dir(settings.store + 5, pw) != 0)
        startup_fatal("store %s: %s%s", settings.store,
                      errno == ENOTDIR ? "" : "cannot create it: ",
                      errno == ENOTDIR ? "not a directory" : strerror(errno));

    if (!foreground)
        detach();
    if (settings.pidfile[0] != '\0') {
        FILE *pf = fopen(settings.pidfile, "w");
        if (pf == NULL)
            startup_fatal("pidfile %s: %s", settings.pidfile, strerror(errno));
        fprintf(pf, "%ld\n", (long) getpid());
        if (fclose(pf) != 0)
            startup_fatal("pidfile %s: %s", settings.pidfile, strerror(errno));
        snprintf(pidfile_written, sizeof pidfile_written, "%s", settings.pidfile);
    }
    if (pw != NULL) {
        if (setgid(pw->pw_gid) != 0 || initgroups(pw->pw_name, pw->pw_gid) != 0 ||
            setuid(pw->pw_uid) != 0)
            startup_fatal("cannot run as user %s: %s", pw->pw_name, strerror(errno));
    }

    /* Greylisting and quota state is soft: losing the last second of it
     * in a system crash only greylists a few senders once more.  So by
     * default updates are not fsynced one by one (that caps the daemon
     * at the disk's fsync rate, about 1,500 requests/s here) but every
     * sync_interval, by the main thread. */
    int64_t sync_interval = settings.sync_interval;
    static char state_name[] = "state store", stamps_name[] = "spent-stamp store";
    /* A store that is damaged, lost or replaced (or whose files cannot be
     * opened at all) does not stop the start: the daemon runs on a "down"
     * handle that fails every call with the reason, so each request that
     * needs the store gets on_error's answer, as when a store breaks
     * while running (issue 16).  Only a bad specification or no memory
     * refuses; the directory itself was checked above.  The down handle
     * touches no file: a lost store is never made anew. */
    struct pd_state *state;
    int state_down = 0, stamps_down = 0, rc;
    rc = pd_state_open(settings.store, sync_interval > 0 ? PD_ST_NOSYNC : 0, &state, err,
                       sizeof err);
    if (rc == PD_ST_ERR_BACKEND || rc == PD_ST_ERR_NOSTORE) {
        pd_metrics_store_outage(metrics_registry, PD_MST_STATE);
        startup_degraded("%s down: %s; answering with on_error until postaged is restarted "
                         "on a repaired store", state_name, err);
        state_down = 1;
        rc = pd_state_open_down(err, &state);
    }
    if (rc != PD_ST_OK)
        startup_fatal("store %s: %s", settings.store, rc == PD_ST_ERR_NOMEM ? "out of memory" : err);
    pd_state_set_notify(state, log_outage, state_name);
    pd_state_set_metrics(state, metrics_registry);
    /* Spent stamps are money: each spend is fsynced (it happens only for
     * a stamp that pays, a small share of the requests).  A Redis that is
     * down at start is waited for: until it answers, on_error applies. */
    postage_store *stamps = NULL;
    rc = postage_store_open(settings.store, POSTAGE_STORE_LAZY, &stamps, err, sizeof err);
    if (rc == POSTAGE_ERR_STORE) {
        pd_metrics_store_outage(metrics_registry, PD_MST_STAMPS);
        startup_degraded("%s down: %s; answering with on_error until postaged is restarted "
                         "on a repaired store", stamps_name, err);
        stamps_down = 1;
        rc = postage_store_open_down(err, &stamps);
    }
    if (rc != POSTAGE_OK)
        startup_fatal("store %s: spent stamps: %s", settings.store,
                      rc == POSTAGE_ERR_NOMEM ? "out of memory" : err);
    postage_store_set_notify(stamps, log_outage, stamps_name);
    struct pd_rep_writer *writer = pd_rep_writer_start(state, REP_QUEUE);
    if (writer == NULL)
        startup_fatal("reputation: cannot start the writer thread");
    struct pd_engine *engine;
    if (pd_engine_create(&settings, file ? file : "(defaults)", state, &engine, err,
                         sizeof err) != 0)
        startup_fatal("%s", err);
    pd_engine_attach(engine, stamps, writer);
    pd_engine_set_metrics(engine, metrics_registry);
    pd_stamp_set_metrics(metrics_registry);
    struct pd_engine_slot *slot = pd_engine_slot_new(engine);
    if (slot == NULL)
        startup_fatal("out of memory");

    if (pipe(signal_pipe) != 0)
        startup_fatal("pipe: %s", strerror(errno));
    fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    int wake[2];
    if (pipe(wake) != 0)
        startup_fatal("pipe: %s", strerror(errno));

    /* Worker threads must not take the signals: the main thread handles
     * them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_t ptid, mtid, stid;
    int have_policy = 0, have_milter = 0;
    struct policy_thread_arg parg = { policy_fd, wake[0], slot,
                                      { settings.max_connections, settings.idle_timeout,
                                        settings.client_warning_limit,
                                        settings.client_warning_interval } };
    int trc;
    if (policy_fd >= 0) {
        if ((trc = pthread_create(&ptid, NULL, policy_thread, &parg)) != 0)
            startup_fatal("cannot start the policy thread: %s", strerror(trc));
        have_policy = 1;
    }
    if (milter_spec[0] != '\0') {
        if ((trc = pthread_create(&mtid, NULL, milter_thread, slot)) != 0)
            startup_fatal("cannot start the milter thread: %s", strerror(trc));
        have_milter = 1;
    }
    int have_stamp = 0;
    if (stamp_on) {
        if ((trc = pthread_create(&stid, NULL, stamp_thread, NULL)) != 0)
            startup_fatal("cannot start the stamping milter's thread: %s", strerror(trc));
        have_stamp = 1;
    }
    struct pd_metrics_http *metrics_http = NULL;
    if (metrics_fd >= 0 &&
        (metrics_http = pd_metrics_http_start(metrics_fd, metrics_registry, metrics_dns, slot,
                                              err, sizeof err)) == NULL)
        startup_fatal("metrics_listen: %s", err);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    pd_log(PD_LOG_INFO, "started: policy %s, milter %s, store %s",
           settings.policy_listen[0] ? settings.policy_listen : "off",
           settings.milter_listen[0] ? settings.milter_listen : "off", settings.store);
    if (have_stamp)
        pd_log(PD_LOG_INFO, "started: stamping milter %s", settings.stamp_listen);
    if (metrics_http != NULL)
        pd_log(PD_LOG_INFO, "started: metrics on %s", settings.metrics_listen);
    pd_log(PD_LOG_INFO, "configuration: %s", file ? file : "built-in defaults (no "
           POSTAGE_DEFAULT_CONFIG ")");
    report_ready();
    {
        char status[3 * PD_SETTING_MAX + 64];
        snprintf(status, sizeof status, "serving: policy %s, milter %s, stamping %s",
                 settings.policy_listen[0] ? settings.policy_listen : "off",
                 settings.milter_listen[0] ? settings.milter_listen : "off",
                 have_stamp ? settings.stamp_listen : "off");
        pd_notify_ready(status);
    }

    int64_t interval = settings.maintenance_interval > 0 ? settings.maintenance_interval : 3600;
    int64_t next_maintenance = (int64_t) time(NULL) + interval;
    int64_t next_sync = sync_interval > 0 ? (int64_t) time(NULL) + sync_interval : INT64_MAX;
    /* Stamps are kept until they could no longer pass: their expiry plus
     * the clock-skew grace in force at start. */
    int64_t settings_grace = settings.stamp_grace;
    char store_spec[PD_SETTING_MAX], stamp_spec[PD_SETTING_MAX];
    snprintf(stamp_spec, sizeof stamp_spec, "%s", settings.stamp_listen);
    snprintf(store_spec, sizeof store_spec, "%s", settings.store);
    pd_settings_free(&settings);

    while (!stopping) {
        int64_t now = (int64_t) time(NULL);
        int64_t due = next_maintenance < next_sync ? next_maintenance : next_sync;
        int timeout = now >= due ? 0 : (int) (due - now) * 1000;
        struct pollfd pfd = { .fd = signal_pipe[0], .events = POLLIN };
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR)
            pd_log_fatal("poll: %s", strerror(errno));
        unsigned char sig;
        while (n > 0 && read(signal_pipe[0], &sig, 1) == 1) {
            if (sig == SIGHUP) {
                struct pd_settings fresh;
                struct pd_engine *next;
                pd_notify_reloading();
                if (pd_config_load(&fresh, file, err, sizeof err) != 0) {
                    pd_log(PD_LOG_ERROR, "reload: %s; keeping the running configuration", err);
                    pd_notify_ready("reload failed; running the previous configuration");
                    continue;
                }
                if (strcmp(fresh.store, store_spec) != 0)
                    pd_log(PD_LOG_WARNING, "reload: store changed to %s; that takes a "
                           "restart, keeping %s", fresh.store, store_spec);
                const char *outcome = "configuration reloaded";
                if (pd_engine_create(&fresh, file ? file : "(defaults)", state, &next, err,
                                     sizeof err) != 0) {
                    pd_log(PD_LOG_ERROR, "reload: %s; keeping the running configuration", err);
                    outcome = "reload failed; running the previous configuration";
                } else {
                    pd_engine_attach(next, stamps, writer);
                    /* The same registry: counts go on across the reload;
                     * the old resolver's are kept once it is out. */
                    pd_engine_set_metrics(next, metrics_registry);
                    struct pd_engine *was = pd_engine_slot_get(slot);
                    pd_engine_slot_swap(slot, next);
                    struct pd_dns_stats dns_was;
                    if (pd_engine_dns_stats(was, &dns_was))
                        pd_metrics_dns_fold(metrics_registry, PD_MR_CHECKS, &dns_was);
                    pd_engine_unref(was);
                    pd_log(PD_LOG_INFO, "reload: configuration %s loaded",
                           file ? file : "(defaults)");
                }
                /* The stamping milter's keys, but its socket, take effect
                 * for the messages that end from now on. */
                if (have_stamp && strcmp(fresh.stamp_listen, stamp_spec) != 0)
                    pd_log(PD_LOG_WARNING, "reload: stamp_listen changed to '%s'; that takes "
                           "a restart, keeping %s", fresh.stamp_listen, stamp_spec);
                if (have_stamp && pd_stamp_reload(&fresh, err, sizeof err) != 0)
                    pd_log(PD_LOG_ERROR, "reload: %s; keeping the stamping milter's running "
                           "configuration", err);
                pd_settings_free(&fresh);
                pd_notify_ready(outcome);
            } else {
                pd_log(PD_LOG_INFO, "stopping on signal %d", sig);
                pd_notify_stopping("stopping");
                stopping = 1;
            }
        }
        now = (int64_t) time(NULL);
        /* A store down since the start has nothing to flush or expire:
         * its one log line said so, and a warning at every turn would
         * only bury it. */
        if (now >= next_sync && !state_down) {
            if (pd_state_sync(state) != PD_ST_OK) {
                char detail[PD_ST_ERRLEN];
                pd_state_error(state, detail, sizeof detail);
                pd_log(PD_LOG_WARNING, "store: %s", detail);
            }
            next_sync = now + sync_interval;
        }
        if (!stopping && now >= next_maintenance) {
            if (!state_down) {
                struct pd_engine *e = pd_engine_slot_get(slot);
                pd_engine_maintain(e, now);
                pd_engine_unref(e);
            }
            uint64_t removed = 0;
            if (!stamps_down &&
                postage_store_purge(stamps, now, settings_grace, &removed) != POSTAGE_OK)
                pd_log(PD_LOG_WARNING, "maintenance: spent stamps: %s",
                       postage_store_error(stamps));
            else if (removed > 0)
                pd_log(PD_LOG_INFO, "maintenance: %llu expired spent stamps removed",
                       (unsigned long long) removed);
            next_maintenance = now + interval;
        }
    }

    if (write(wake[1], "x", 1) < 0) {
        /* the policy loop also polls the stop flag every second */
    }
    if (have_milter)
        pd_milter_stop();
    if (have_stamp)
        pd_stamp_stop();
    if (have_policy)
        pthread_join(ptid, NULL);
    if (have_milter)
        pthread_join(mtid, NULL);
    if (milter_spec[0] != '\0')
        pd_milter_close();
    if (have_stamp)
        pthread_join(stid, NULL);
    if (stamp_on)
        pd_stamp_close();
    pd_metrics_http_stop(metrics_http);
    pd_engine_slot_free(slot);
    pd_rep_writer_stop(writer);
    postage_store_close(stamps);
    pd_state_close(state);
    if (policy_fd >= 0)
        close(policy_fd);
    if (pidfile_written[0] != '\0')
        remove_pidfile(pidfile_written);
    pd_metrics_free(metrics_registry);
    pd_log(PD_LOG_INFO, "stopped");
    return 0;
}
