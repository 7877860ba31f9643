/*
 * postage-sendmail - a drop-in sendmail that adds one X-Hashcash stamp per
 * recipient and hands the message to the real sendmail.
 *
 * The message is streamed to a temporary file (never held in memory); only
 * its header block is read.  Recipients come from the arguments, or with
 * -t from To/Cc/Bcc (Resent-* when present).  A recipient who is not shown
 * in To or Cc (Bcc, or an argument missing from the headers) is blind: it
 * gets a copy of its own with only its own stamp, and the shared copy
 * names and stamps only the shown recipients.  Without blind recipients
 * the arguments go to the real sendmail exactly as given.
 *
 * Each recipient pays what its domain publishes at _postage.<domain>
 * (up to max_bits), or, when it publishes nothing or DNS cannot say, what
 * the bits rules give it (sendmail_price.c).
 *
 * Nothing is lost: a failed or over-budget minting sends the message
 * unstamped (or spools it, on_mint_failure = queue), with a warning in the
 * mail log; a sendmail that fails on the first copy makes us exit with its
 * status, so the mail program keeps the message; a failure after some
 * copies went out spools the rest, which `postage-sendmail --flush` (or the
 * next background run) sends.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util/cli.h"
#include "util/fileio.h"
#include "mint/calibration.h"
#include "util/rfc5322.h"
#include "sendmail/sendmail_args.h"
#include "sendmail/sendmail_conf.h"
#include "sendmail/sendmail_headers.h"
#include "sendmail/sendmail_price.h"
#include "sendmail/sendmail_spool.h"
#include "postage.h"

#define HEADER_MAX (1024 * 1024)   /* header blocks larger than this go unstamped */
#define RECIPIENTS_MAX 10000
#define LOOP_GUARD "POSTAGE_SENDMAIL_ACTIVE"

static struct smc_conf conf;
static int conf_broken;

/* ---- logging --------------------------------------------------------- */

static void say(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(int priority, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    syslog(priority, "%s", msg);
    if (priority <= LOG_ERR || conf.log_stderr)
        fprintf(stderr, "postage-sendmail: %s\n", msg);
}

/* ---- input ----------------------------------------------------------- */

/* Copy standard input to fd.  With dot_ends, a line that is only "." (LF
 * or CRLF) ends the message, as sendmail without -i reads it. */
static int
read_message(int in, int fd, int dot_ends)
{
    char buf[65536];
    int at_line_start = 1;
    /* A "." at a line start is held back until we know whether the line
     * ends right after it. */
    int held_dot = 0, held_cr = 0;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        if (!dot_ends) {
            if (cli_write_all(fd, buf, (size_t) r) != 0)
                return -1;
            continue;
        }
        size_t start = 0;
        for (size_t i = 0; i < (size_t) r; i++) {
            char c = buf[i];
            if (held_dot) {
                if (c == '\n')
                    return 0;   /* a line "." (or ".\r"): the end */
                if (c == '\r' && !held_cr) {
                    held_cr = 1;
                    start = i + 1;
                    continue;
                }
                /* Not the end: give back what was held. */
                if (cli_write_all(fd, held_cr ? ".\r" : ".", held_cr ? 2 : 1) != 0)
                    return -1;
                held_dot = held_cr = 0;
                start = i;
            }
            if (at_line_start && c == '.') {
                if (cli_write_all(fd, buf + start, i - start) != 0)
                    return -1;
                held_dot = 1;
                start = i + 1;
                at_line_start = 0;
                continue;
            }
            at_line_start = c == '\n';
        }
        if (!held_dot && cli_write_all(fd, buf + start, (size_t) r - start) != 0)
            return -1;
    }
    if (held_dot && cli_write_all(fd, held_cr ? ".\r" : ".", held_cr ? 2 : 1) != 0)
        return -1;
    return 0;
}

/* ---- recipients ------------------------------------------------------ */

struct rcpt {
    char *addr;
    int blind;
    unsigned bits;
    char stamp[POSTAGE_MINT_STAMP_SIZE];   /* "" when not stamped */
};

struct plan {
    struct rcpt *r;
    size_t n;
};

static int
plan_has(const struct plan *p, const char *addr)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcasecmp(p->r[i].addr, addr) == 0)
            return 1;
    return 0;
}

static int
plan_add(struct plan *p, const char *addr, int blind)
{
    if (addr[0] == '\0' || plan_has(p, addr))
        return 0;
    if (p->n >= RECIPIENTS_MAX)
        return -1;
    struct rcpt *bigger = realloc(p->r, (p->n + 1) * sizeof *bigger);
    if (bigger == NULL)
        return -1;
    p->r = bigger;
    memset(&p->r[p->n], 0, sizeof p->r[p->n]);
    if ((p->r[p->n].addr = strdup(addr)) == NULL)
        return -1;
    p->r[p->n].blind = blind;
    p->n++;
    return 0;
}

static void
plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->r[i].addr);
    free(p->r);
    p->r = NULL;
    p->n = 0;
}

static int
in_list(const struct rfc5322_addrs *l, const char *addr)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcasecmp(l->addr[i], addr) == 0)
            return 1;
    return 0;
}

/* Who gets the message, and who is blind. */
static int
make_plan(const struct sm_args *a, int argc, char **argv, const char *block, size_t blen,
          struct plan *p)
{
    struct rfc5322_addrs shown = { 0 }, blind = { 0 }, args = { 0 };
    int rc = -1;

    if (rfc5322_recipients(block, blen, &shown, &blind) != 0)
        goto out;
    for (int i = a->first_recipient; i < argc; i++)
        if (rfc5322_parse_addresses(argv[i], strlen(argv[i]), &args) != 0)
            goto out;
    /* An address we cannot read must not be left out of a split: let the
     * real sendmail see the message as it came. */
    if (args.bad > 0 || (a->extract && (shown.bad > 0 || blind.bad > 0)))
        goto out;
    if (a->extract) {
        for (size_t i = 0; i < shown.count; i++)
            if (plan_add(p, shown.addr[i], 0) != 0)
                goto out;
        for (size_t i = 0; i < blind.count; i++)
            if (plan_add(p, blind.addr[i], 1) != 0)
                goto out;
    }
    /*
     * Arguments (added to the header recipients with -t, as Postfix does).
     * Only one that To or Cc shows goes in the shared copy.  Any other is
     * blind, whether a Bcc field names it or no header does (mutt, mailx
     * and git send-email pass Bcc recipients that way; a script mailing to
     * "undisclosed-recipients:;" or to a list address hides them from each
     * other): the shared copy carries every stamp in it, and a stamp names
     * its recipient.
     */
    for (size_t i = 0; i < args.count; i++)
        if (plan_add(p, args.addr[i], !in_list(&shown, args.addr[i])) != 0)
            goto out;
    rc = 0;
out:
    rfc5322_addrs_free(&shown);
    rfc5322_addrs_free(&blind);
    rfc5322_addrs_free(&args);
    return rc;
}

/* ---- minting --------------------------------------------------------- */

struct mint_clock {
    struct timespec start;
    double deadline;   /* seconds from start */
};

static double
elapsed(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

static int
on_progress(void *ctx, const struct postage_mint_progress *pr)
{
    (void) pr;
    const struct mint_clock *c = ctx;
    return elapsed(&c->start) > c->deadline;
}

/* Lower the highest bits until the stamps' 95th-percentile times, added
 * up, fit the budget (the device profile's p95 rule, calibration.h). */
static void
fit_budget(struct plan *p, double rate)
{
    double budget = conf.time_budget;
    unsigned lowered_to = 0;
    for (;;) {
        double expected = 0;
        unsigned top = 0;
        for (size_t i = 0; i < p->n; i++) {
            expected += calibration_p95_seconds(p->r[i].bits, rate);
            if (p->r[i].bits > top)
                top = p->r[i].bits;
        }
        if (expected <= budget || top == 0)
            break;
        for (size_t i = 0; i < p->n; i++)
            if (p->r[i].bits == top)
                p->r[i].bits--;
        lowered_to = top - 1;
    }
    if (lowered_to > 0 || (p->n > 0 && budget <= 0))
        say(LOG_WARNING, "time budget of %.1f s (95th percentile) at %.1f M trials/s: stamps lowered to at most %u bits",
            budget, rate / 1e6, lowered_to);
}

/* Each recipient's bits: its domain's published price, else the rules
 * (sendmail_price.h).  -1 if memory ran out. */
static int
price_all(struct plan *p)
{
    const char **addrs = calloc(p->n ? p->n : 1, sizeof *addrs);
    unsigned *bits = calloc(p->n ? p->n : 1, sizeof *bits);
    if (addrs == NULL || bits == NULL) {
        free(addrs);
        free(bits);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++)
        addrs[i] = p->r[i].addr;
    smp_price_recipients(&conf, addrs, p->n, bits, say);
    for (size_t i = 0; i < p->n; i++)
        p->r[i].bits = bits[i];
    free(addrs);
    free(bits);
    return 0;
}

/* Mint every recipient's stamp.  Returns how many could not be minted. */
static size_t
mint_all(struct plan *p)
{
    double rate = 0;
    size_t failed = 0;
    if (calibration_rate(conf.threads, 0.3, (int64_t) time(NULL), &rate) != 0) {
        say(LOG_WARNING, "cannot measure this machine's minting rate; sending unstamped");
        return p->n;
    }
    if (price_all(p) != 0) {
        say(LOG_WARNING, "out of memory pricing the recipients; sending unstamped");
        return p->n;
    }
    fit_budget(p, rate);

    /* Luck varies: allow three times the budget before giving up. */
    struct mint_clock clk;
    clock_gettime(CLOCK_MONOTONIC, &clk.start);
    clk.deadline = conf.time_budget * 3 + 1;
    /* One batch: each thread mints a recipient's stamp of its own. */
    struct postage_mint_options o;
    postage_mint_options_init(&o, (int64_t) time(NULL));
    o.threads = conf.threads;
    o.progress = on_progress;
    o.progress_ctx = &clk;
    struct postage_mint_batch_item *items = calloc(p->n ? p->n : 1, sizeof *items);
    if (items == NULL) {
        say(LOG_WARNING, "out of memory minting; sending unstamped");
        return p->n;
    }
    for (size_t i = 0; i < p->n; i++)
        items[i] = (struct postage_mint_batch_item) {
            .resource = p->r[i].addr, .bits = p->r[i].bits, .stamp = p->r[i].stamp,
            .size = sizeof p->r[i].stamp,
        };
    postage_mint_batch(items, p->n, &o);
    for (size_t i = 0; i < p->n; i++) {
        int rc = items[i].status;
        if (rc != POSTAGE_OK) {
            p->r[i].stamp[0] = '\0';
            failed++;
            say(LOG_WARNING, "no stamp for <%.300s>: %s", p->r[i].addr,
                rc == POSTAGE_ERR_CANCELLED ? "time budget exceeded" : postage_strerror(rc));
        }
    }
    free(items);
    return failed;
}

/* ---- sending --------------------------------------------------------- */

/* The header block of one copy: the message's own, with the stamps of the
 * recipients for whom want(i) holds (sendmail_headers.c puts them in
 * without changing any other byte), and without Bcc fields when split. */
static int
build_head(const char *block, size_t blen, int drop_bcc, const struct plan *p, int only,
           int shared, struct smh_buf *h)
{
    const char **stamps = calloc(p->n + 1, sizeof *stamps);
    size_t n = 0;
    if (stamps == NULL)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        const struct rcpt *r = &p->r[i];
        int want = only >= 0 ? (size_t) only == i : (shared && !r->blind);
        if (want && r->stamp[0] != '\0')
            stamps[n++] = r->stamp;
    }
    int rc = smh_build(block, blen, drop_bcc, stamps, n, h, NULL);
    free(stamps);
    return rc;
}

/* Run the real sendmail on argv, feeding it head then fd from body_at.
 * Returns its exit status (EX_TEMPFAIL if it could not run, died or hung). */
static int
run_sendmail(char **argv, const char *head, size_t head_len, int fd, off_t body_at)
{
    int in[2], report[2];
    if (pipe(in) != 0 || pipe(report) != 0) {
        say(LOG_ERR, "pipe: %s", strerror(errno));
        return EX_TEMPFAIL;
    }
    fcntl(report[1], F_SETFD, FD_CLOEXEC);
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    fcntl(report[0], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        say(LOG_ERR, "fork: %s", strerror(errno));
        close(in[0]); close(in[1]); close(report[0]); close(report[1]);
        return EX_TEMPFAIL;
    }
    if (pid == 0) {
        /* Its own process group, so that a hung sendmail is killed with
         * everything it started. */
        setpgid(0, 0);
        dup2(in[0], 0);
        close(in[0]);
        setenv(LOOP_GUARD, "1", 1);
        execv(conf.sendmail, argv);
        int e = errno;
        if (write(report[1], &e, sizeof e) < 0) {
            /* nothing more can be said */
        }
        _exit(EX_TEMPFAIL);
    }
    close(in[0]);
    close(report[1]);
    int exec_errno = 0;
    ssize_t got = read(report[0], &exec_errno, sizeof exec_errno);
    close(report[0]);
    if (got == (ssize_t) sizeof exec_errno) {
        close(in[1]);
        waitpid(pid, NULL, 0);
        say(LOG_ERR, "cannot run the real sendmail %s: %s (set `sendmail` in the configuration "
            "or POSTAGE_SENDMAIL)", conf.sendmail, strerror(exec_errno));
        return EX_TEMPFAIL;
    }

    /* Feed it, never waiting longer than sendmail_timeout. */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    char buf[65536];
    size_t have = 0, off = 0;
    off_t at = body_at;
    int head_done = 0, eof = 0, timed_out = 0, broken = 0;
    while (!eof && !broken) {
        if (off == have) {
            if (!head_done) {
                size_t n = head_len < sizeof buf ? head_len : sizeof buf;
                memcpy(buf, head, n);
                head += n;
                head_len -= n;
                have = n;
                head_done = head_len == 0;
            } else {
                ssize_t r = pread(fd, buf, sizeof buf, at);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0) {
                    eof = 1;
                    break;
                }
                at += r;
                have = (size_t) r;
            }
            off = 0;
            if (have == 0)
                continue;
        }
        ssize_t w = write(in[1], buf + off, have - off);
        if (w > 0) {
            off += (size_t) w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            double left = conf.sendmail_timeout - elapsed(&start);
            if (left <= 0) {
                timed_out = 1;
                break;
            }
            struct pollfd pfd = { .fd = in[1], .events = POLLOUT };
            poll(&pfd, 1, left > 1 ? 1000 : (int) (left * 1000) + 1);
            continue;
        }
        broken = 1;   /* it closed its input: its exit status will say why */
    }
    close(in[1]);
    if (timed_out) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, timed_out ? 0 : WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (!timed_out && elapsed(&start) > conf.sendmail_timeout) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            continue;
        }
        if (!timed_out) {
            struct timespec nap = { 0, 20 * 1000 * 1000 };
            nanosleep(&nap, NULL);
        }
    }
    if (timed_out) {
        kill(-pid, SIGKILL);
        say(LOG_ERR, "the real sendmail %s took more than %.0f s; killed", conf.sendmail,
            conf.sendmail_timeout);
        return EX_TEMPFAIL;
    }
    if (status == -1 || !WIFEXITED(status)) {
        say(LOG_ERR, "the real sendmail %s died (%s)", conf.sendmail,
            status != -1 && WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "lost");
        return EX_TEMPFAIL;
    }
    if (WEXITSTATUS(status) != 0)
        say(LOG_ERR, "the real sendmail %s exited with status %d", conf.sendmail,
            WEXITSTATUS(status));
    return WEXITSTATUS(status);
}

static void
free_argv(char **v)
{
    if (v == NULL)
        return;
    for (size_t i = 1; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/*
 * argv for one copy: argv[0], the option words without the -t flag, "--",
 * the copy's recipients (all but argv[0] malloc'd; free with free_argv).
 * The words are walked with sendmail_args.c's rules, so an option's
 * argument ("-f ADDR", "-fADDR") is never mistaken for flags.
 */
static char **
copy_argv(char **argv, const struct sm_args *a, const struct plan *p, int only)
{
    size_t n = (size_t) a->options_end + 2 + p->n + 1, k = 0;
    char **out = calloc(n, sizeof *out);
    if (out == NULL)
        return NULL;
    out[k++] = argv[0];
    for (int i = 1; i < a->options_end; i++) {
        const char *w = argv[i];
        size_t len = strlen(w);
        char *copy = malloc(len + 1), *q = copy;
        int next_is_argument = 0;
        if (copy == NULL)
            goto fail;
        *q++ = w[0];
        if (w[0] == '-' && w[1] != 'o' && w[1] != 'b') {
            for (const char *c = w + 1; *c != '\0'; c++) {
                if (strchr("BCFLNORVXfhpr", *c) != NULL) {
                    /* the rest of the word, or the next word, is its argument */
                    memcpy(q, c, strlen(c));
                    q += strlen(c);
                    next_is_argument = c[1] == '\0';
                    break;
                }
                if (*c != 't')
                    *q++ = *c;
            }
        } else {
            memcpy(q, w + 1, len - 1);
            q += len - 1;
            next_is_argument = strcmp(w, "-o") == 0;
        }
        *q = '\0';
        if (strcmp(copy, "-") == 0)
            free(copy);          /* it was only "-t" */
        else
            out[k++] = copy;
        if (next_is_argument && i + 1 < a->options_end) {
            if ((out[k++] = strdup(argv[++i])) == NULL)
                goto fail;
        }
    }
    if ((out[k++] = strdup("--")) == NULL)
        goto fail;
    for (size_t i = 0; i < p->n; i++)
        if ((only >= 0 ? (size_t) only == i : !p->r[i].blind) &&
            (out[k++] = strdup(p->r[i].addr)) == NULL)
            goto fail;
    out[k] = NULL;
    return out;
fail:
    free_argv(out);
    return NULL;
}

/* Spool one prepared copy for a later --flush. */
static int
spool_copy(char **argv, const struct smh_buf *h, int fd, off_t body_at)
{
    char path[4096], err[512];
    int n = 0;
    while (argv[n] != NULL)
        n++;
    struct spool_source src = { h->buf, h->len, fd, body_at };
    if (spool_prepare(conf.spool) != 0 ||
        spool_add(conf.spool, 1, n - 1, (const char *const *) argv + 1, &src, path, sizeof path, err, sizeof err) != 0) {
        say(LOG_ERR, "cannot spool a copy in %s: %s", conf.spool, err[0] ? err : strerror(errno));
        return -1;
    }
    say(LOG_WARNING, "a copy waits in the spool: %s (postage-sendmail --flush sends it)", path);
    return 0;
}

/*
 * Stamp and send the message in fd (from offset `at`) with this command
 * line.  Returns the exit status for the caller.
 */
static int
deliver(int argc, char **argv, int fd, off_t at, int may_queue)
{
    struct sm_args a;
    const char *bad = NULL;
    if (sm_args_parse(argc, (const char *const *) argv, &a, &bad) != 0) {
        fprintf(stderr, "postage-sendmail: option %s needs an argument\n", bad);
        return EX_USAGE;
    }

    /* The header block: read one byte more than we take, so that a
     * block of exactly HEADER_MAX bytes is told from a longer one. */
    char *block = malloc(HEADER_MAX + 1);
    if (block == NULL)
        return EX_TEMPFAIL;
    size_t got = 0;
    while (got < HEADER_MAX + 1) {
        ssize_t r = pread(fd, block + got, HEADER_MAX + 1 - got, at + (off_t) got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(block);
            say(LOG_ERR, "reading the message back: %s", strerror(errno));
            return EX_TEMPFAIL;
        }
        if (r == 0)
            break;
        got += (size_t) r;
    }
    size_t blen = 0;
    int too_big = smh_split(block, got > HEADER_MAX ? HEADER_MAX : got, got <= HEADER_MAX, &blen) ==
                  SMH_TOO_BIG;

    struct plan p = { NULL, 0 };
    int plan_ok = !too_big && make_plan(&a, argc, argv, block, blen, &p) == 0;
    if (!plan_ok)
        plan_free(&p);   /* one copy, unstamped, arguments unchanged */
    size_t blind = 0;
    for (size_t i = 0; i < p.n; i++)
        blind += p.r[i].blind;
    int unstamped = conf_broken || !plan_ok;
    if (too_big)
        say(LOG_WARNING, "header block over %d bytes; sending unstamped", HEADER_MAX);
    else if (!plan_ok)
        say(LOG_WARNING, "cannot read the recipients; sending unstamped");
    else if (conf_broken)
        say(LOG_WARNING, "configuration broken; sending unstamped");

    if (!unstamped && p.n > 0) {
        size_t failed = mint_all(&p);
        if (failed > 0 && conf.on_mint_failure == SMC_QUEUE && may_queue) {
            char path[4096], err[512] = "";
            struct spool_source src = { NULL, 0, fd, at };
            plan_free(&p);
            free(block);
            if (spool_prepare(conf.spool) == 0 &&
                spool_add(conf.spool, 0, argc - 1, (const char *const *) argv + 1, &src, path, sizeof path, err,
                          sizeof err) == 0) {
                say(LOG_WARNING, "minting failed; the message waits in the spool: %s", path);
                return EX_OK;
            }
            say(LOG_ERR, "minting failed and the message cannot be spooled: %s", err);
            return EX_TEMPFAIL;
        }
    }

    /* Nothing to add and nobody to hide (unstamped for whatever reason,
     * or no recipients): the message goes as it came, byte for byte,
     * with the arguments as given. */
    size_t stamped = 0;
    for (size_t i = 0; i < p.n; i++)
        stamped += p.r[i].stamp[0] != '\0';
    if (blind == 0 && stamped == 0) {
        plan_free(&p);
        free(block);
        return run_sendmail(argv, "", 0, fd, at);
    }

    /* Without blind recipients: one copy, the arguments as given. */
    struct smh_buf h = { NULL, 0, 0 };
    int status = EX_OK;
    size_t sent = 0;
    size_t copies = blind > 0 ? blind + (p.n > blind ? 1 : 0) : 1;
    for (size_t c = 0; c < copies; c++) {
        int only = -1, shared = 1;
        if (blind > 0 && !(c == 0 && p.n > blind)) {
            /* the (c - shared)th blind recipient */
            size_t want = c - (p.n > blind ? 1 : 0), seen = 0;
            for (size_t i = 0; i < p.n; i++)
                if (p.r[i].blind && seen++ == want)
                    only = (int) i;
            shared = 0;
        }
        char **out = blind > 0 ? copy_argv(argv, &a, &p, only) : argv;
        if (out == NULL ||
            build_head(block, blen, blind > 0, &p, only, shared, &h) != 0) {
            status = EX_TEMPFAIL;
        } else {
            status = run_sendmail(out, h.buf, h.len, fd, at + (off_t) blen);
            /* Some copies went out already: keep this one for later
             * rather than have the mail program send them all again. */
            if (status != EX_OK && sent > 0 &&
                spool_copy(out, &h, fd, at + (off_t) blen) == 0)
                status = EX_OK;
        }
        if (out != argv)
            free_argv(out);
        if (status != EX_OK)
            break;
        sent++;
    }
    free(h.buf);
    plan_free(&p);
    free(block);
    return status;
}

/* ---- the spool ------------------------------------------------------- */

/* Send what waits in the spool.  Returns 0 if the spool is empty after. */
static int
flush_spool(int verbose)
{
    char **paths = NULL;
    int n = spool_list(conf.spool, &paths), left = 0;
    if (n < 0) {
        say(LOG_ERR, "cannot read the spool %s: %s", conf.spool, strerror(errno));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        struct spool_entry e;
        char err[512] = "";
        int rc = spool_open(paths[i], &e, err, sizeof err);
        if (rc == 1) {   /* another worker is on it */
            left++;
            continue;
        }
        if (rc < 0) {
            say(LOG_ERR, "%s; moved to %s/failed", err, conf.spool);
            spool_fail(conf.spool, paths[i]);
            left++;
            continue;
        }
        int status = e.stamped ? run_sendmail(e.argv, "", 0, e.fd, e.message_offset)
                               : deliver(e.argc, e.argv, e.fd, e.message_offset, 0);
        if (status == EX_OK) {
            unlink(paths[i]);
            if (verbose)
                printf("sent %s\n", paths[i]);
        } else if (status == EX_TEMPFAIL) {
            left++;   /* try again next time */
        } else {
            say(LOG_ERR, "%s refused for good (status %d); moved to %s/failed", paths[i], status,
                conf.spool);
            spool_fail(conf.spool, paths[i]);
            left++;
        }
        spool_close(&e);
    }
    spool_list_free(paths, n);
    return left > 0;
}

static int
list_spool(void)
{
    char **paths = NULL;
    int n = spool_list(conf.spool, &paths);
    if (n < 0) {
        cli_error("cannot read the spool %s: %s", conf.spool, strerror(errno));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        struct spool_entry e;
        char err[512] = "";
        int rc = spool_open(paths[i], &e, err, sizeof err);
        struct stat st;
        if (rc != 0) {
            printf("%s  %s\n", paths[i], rc == 1 ? "(being sent)" : err);
            continue;
        }
        fstat(e.fd, &st);
        printf("%s  %s  %lld bytes ", paths[i], e.stamped ? "stamped" : "to stamp",
               (long long) (st.st_size - e.message_offset));
        for (int k = 1; k < e.argc; k++)
            printf(" %s", e.argv[k]);
        putchar('\n');
        spool_close(&e);
    }
    printf("%d message%s in %s\n", n, n == 1 ? "" : "s", conf.spool);
    spool_list_free(paths, n);
    return 0;
}

/* Detach and flush the spool in the background. */
static void
spawn_worker(void)
{
    pid_t pid = fork();
    if (pid != 0) {
        if (pid > 0)
            waitpid(pid, NULL, 0);
        return;
    }
    setsid();
    if (fork() != 0)
        _exit(0);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    conf.log_stderr = 0;
    /* Entries spooled while we worked are ours too. */
    while (flush_spool(0) == 0) {
        char **paths = NULL;
        int n = spool_list(conf.spool, &paths);
        spool_list_free(paths, n > 0 ? n : 0);
        if (n <= 0)
            break;
    }
    _exit(0);
}

/* ---- main ------------------------------------------------------------ */

static void
default_spool(char *out, size_t size)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (geteuid() == 0)
        snprintf(out, size, "/var/spool/postage-sendmail");
    else if (xdg != NULL && xdg[0] == '/')
        snprintf(out, size, "%s/postage/sendmail-spool", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(out, size, "%s/.local/state/postage/sendmail-spool", home);
    else
        snprintf(out, size, "/tmp/postage-sendmail-%ld", (long) geteuid());
}

static void
usage(FILE *out)
{
    fprintf(out,
"Usage: postage-sendmail [SENDMAIL OPTION]... [RECIPIENT]...\n"
"       postage-sendmail --queue | --flush | --help | --version\n"
"A drop-in sendmail: adds one X-Hashcash stamp per recipient (the bits its\n"
"domain publishes at _postage.DOMAIN, else the configuration's, within a\n"
"time budget) and hands the message to the real sendmail with the same\n"
"options.  Bcc recipients get their own copy.\n"
"\n"
"  --queue    list the messages waiting in the spool\n"
"  --flush    send the messages waiting in the spool now\n"
"\n"
"Configuration: $POSTAGE_SENDMAIL_CONF or " SMC_DEFAULT_FILE ";\n"
"$POSTAGE_SENDMAIL names the real sendmail.  See postage-sendmail(8).\n");
}

int
main(int argc, char **argv)
{
    char spool[SMC_PATH_MAX], err[1200];
    cli_set_program("postage-sendmail");
    openlog("postage-sendmail", LOG_PID, LOG_MAIL);
    signal(SIGPIPE, SIG_IGN);

    default_spool(spool, sizeof spool);
    smc_defaults(&conf, spool);
    const char *file = getenv("POSTAGE_SENDMAIL_CONF");
    if (smc_load(&conf, file != NULL && file[0] != '\0' ? file : SMC_DEFAULT_FILE,
                 file == NULL || file[0] == '\0', err, sizeof err) != 0) {
        say(LOG_ERR, "%s", err);
        /* Start again from the defaults, keeping only where mail goes. */
        char keep_sendmail[SMC_PATH_MAX];
        snprintf(keep_sendmail, sizeof keep_sendmail, "%s", conf.sendmail);
        smc_free(&conf);
        smc_defaults(&conf, spool);
        snprintf(conf.sendmail, sizeof conf.sendmail, "%s", keep_sendmail);
        conf_broken = 1;
    }
    const char *real = getenv("POSTAGE_SENDMAIL");
    if (real != NULL && real[0] != '\0')
        snprintf(conf.sendmail, sizeof conf.sendmail, "%s", real);

    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return EX_OK;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("postage-sendmail (postage) %s\n", PACKAGE_VERSION);
        return EX_OK;
    }
    if (argc == 2 && strcmp(argv[1], "--queue") == 0)
        return list_spool();
    if (argc == 2 && strcmp(argv[1], "--flush") == 0)
        return flush_spool(1) == 0 ? EX_OK : EX_TEMPFAIL;

    if (getenv(LOOP_GUARD) != NULL) {
        say(LOG_ERR, "the real sendmail %s is postage-sendmail itself; set `sendmail` to the "
            "real one", conf.sendmail);
        return EX_TEMPFAIL;
    }

    struct sm_args a;
    const char *bad = NULL;
    if (sm_args_parse(argc, (const char *const *) argv, &a, &bad) != 0) {
        fprintf(stderr, "postage-sendmail: option %s needs an argument\n", bad);
        return EX_USAGE;
    }
    if (a.mode == SM_MODE_OTHER) {
        /* -bp, -bs, -q...: nothing to stamp. */
        setenv(LOOP_GUARD, "1", 1);
        execv(conf.sendmail, argv);
        say(LOG_ERR, "cannot run the real sendmail %s: %s", conf.sendmail, strerror(errno));
        return EX_TEMPFAIL;
    }

    /* The message goes to disk first, unlinked at once (or into the
     * spool in background mode). */
    char tmpl[4200];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/postage-sendmail.XXXXXX",
             tmpdir != NULL && tmpdir[0] == '/' ? tmpdir : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        say(LOG_ERR, "cannot make a temporary file in %s: %s",
            tmpdir != NULL ? tmpdir : "/tmp", strerror(errno));
        return EX_TEMPFAIL;
    }
    unlink(tmpl);
    if (read_message(0, fd, a.dot_ends) != 0) {
        say(LOG_ERR, "reading the message: %s", strerror(errno));
        close(fd);
        return EX_TEMPFAIL;
    }

    if (conf.background) {
        char path[4096];
        struct spool_source src = { NULL, 0, fd, 0 };
        err[0] = '\0';
        if (spool_prepare(conf.spool) != 0 ||
            spool_add(conf.spool, 0, argc - 1, (const char *const *) argv + 1, &src, path, sizeof path, err,
                      sizeof err) != 0) {
            say(LOG_WARNING, "cannot spool (%s); sending in the foreground",
                err[0] ? err : strerror(errno));
        } else {
            close(fd);
            fflush(NULL);
            spawn_worker();
            return EX_OK;
        }
    }
    int status = deliver(argc, argv, fd, 0, 1);
    close(fd);
    return status;
}
