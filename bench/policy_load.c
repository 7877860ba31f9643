/*
 * policy_load.c - load generator for Postfix policy servers (SMTPD policy
 * delegation protocol over TCP), used by bench/policy_vs_postgrey.sh to
 * measure postaged and postgrey on the same greylisting workload.  A
 * benchmark tool, never part of `make check`.
 *
 * C connections to HOST:PORT, each with at most one outstanding request,
 * as Postfix's smtpd processes behave: send a request (the attributes
 * Postfix 3.7 sends at RCPT, ending with an empty line), wait for
 * "action=...\n\n", send the next.  One thread, one epoll loop.
 *
 * Workload: a greylisting mix.  Each request is a triplet (client address,
 * sender, recipient); with probability --repeat it repeats a triplet drawn
 * uniformly from the last 65536 new ones, otherwise it is new: client
 * address from a pool of --clients addresses in 10.0.0.0/8, sender from
 * --senders, recipient from --recipients.  The request stream is one
 * sequence from a seeded PRNG (--seed), so it is the same on every run
 * (which connection carries which request depends on timing).
 *
 * Modes:
 *   closed loop (no --rate): each connection sends its next request as
 *     soon as the answer to the previous one arrives, for --duration;
 *     latency = answer time - send time.
 *   open loop (--rate R): request n of connection j (0-based) is due at
 *     t0 + (n*C + j)/R, so the offered load is R/s spread evenly over the
 *     connections.  A request is sent at its due time, or when its
 *     connection's previous answer arrives if that is later; latency is
 *     measured from the due time, so a server that falls behind is
 *     charged for the wait (no coordinated omission).  Requests due but
 *     not sent when the duration ends are reported as "unsent" (a server
 *     that keeps up leaves none, or one per connection).  "client send
 *     lag" is the generator's own delay: from when a request could go
 *     (due, and its connection free) to when it went; if its p99 is not
 *     small, the machine is too busy to measure the server's latency.
 *   Either way, no request is sent after --duration; answers to those in
 *   flight are awaited (up to --timeout) and counted.
 * Throughput counts the answers that arrive between the end of --warmup
 * and the end of --duration; latency percentiles are over the requests due
 * (closed loop: sent) in that window and answered, however late.
 *
 * Errors: failed connects, connections closed or reset by the server,
 * malformed answers (not exactly one "action=" line and an empty line, or
 * bytes nobody asked for), and requests unanswered after --timeout ms.
 * A connection with an error is closed and reconnected (after 100 ms).
 *
 * Output: one line, or with --csv one CSV row (--csv-header prints the
 * header and exits).  Times in milliseconds.  Exit 0 if the run finished,
 * 1 if nothing at all was answered, 2 on bad usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RBUF 1024               /* an answer longer than this is malformed */
#define WBUF 2048
#define RING 65536u             /* repeats are drawn from the last RING new triplets */
#define RECONNECT_NS 100000000ull
#define TIMEOUT_GRAIN_NS 10000000ull /* timeouts are checked to 10 ms */
#define MAX_CONNS 10000
#define MAX_DURATION 3600.0

enum cstate { C_DOWN, C_IDLE, C_BUSY };

struct conn {
    int fd;
    enum cstate st;
    uint64_t n;                 /* requests sent on this connection */
    uint64_t due;               /* open loop: due time of the next request */
    uint64_t start;             /* latency origin of the request in flight */
    uint64_t sent;              /* when it was actually sent (for the timeout) */
    uint64_t idle_at;           /* when it became free to send */
    uint64_t reconnect_at;
    size_t rlen, wlen, woff;
    char rbuf[RBUF];
    char wbuf[WBUF];
};

struct triplet { uint32_t client, sender, recipient; };

static struct {
    const char *host;
    int port;
    unsigned conns;
    double duration, rate, repeat, warmup;
    uint64_t seed;
    unsigned timeout_ms;
    uint32_t clients, senders, recipients;
    int csv;
} opt = { "127.0.0.1", 0, 1, 5.0, 0.0, 0.2, 0.0, 1, 2000, 1000000, 100000, 10000, 0 };

static struct {
    uint64_t done, sent, deferred, other;
    uint64_t e_connect, e_closed, e_malformed, e_timeout;
    uint64_t *lat;
    size_t nlat, caplat;
} res;

static struct {
    uint64_t rng;
    struct triplet ring[RING];
    uint64_t nnew, seq;
} gen;

static int epfd;
static struct sockaddr_in server_addr;
static volatile sig_atomic_t interrupted;

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

/* splitmix64: small, fast, and good enough to pick workload items. */
static uint64_t
rnd(void)
{
    uint64_t z = (gen.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t
rnd_below(uint32_t n)
{
    return (uint32_t) ((rnd() >> 32) * n >> 32);
}

/* Format the next request of the workload into buf; returns its length. */
static size_t
next_request(char *buf, size_t cap)
{
    struct triplet t;
    double u = (double) (rnd() >> 11) / 9007199254740992.0;

    if (gen.nnew > 0 && u < opt.repeat) {
        uint64_t span = gen.nnew < RING ? gen.nnew : RING;
        t = gen.ring[rnd_below((uint32_t) span)];
    } else {
        t.client = rnd_below(opt.clients);
        t.sender = rnd_below(opt.senders);
        t.recipient = rnd_below(opt.recipients);
        gen.ring[gen.nnew % RING] = t;
        gen.nnew++;
    }
    /* Pool index -> address in 10.0.0.0/8: an odd multiplier is a
     * bijection mod 2^24, so distinct indices give distinct addresses
     * scattered over many /24 networks. */
    uint32_t a = (t.client * 2654435761u) & 0xffffffu;
    unsigned b1 = a >> 16, b2 = (a >> 8) & 0xff, b3 = a & 0xff;
    uint64_t q = ++gen.seq;
    int n = snprintf(buf, cap,
        "request=smtpd_access_policy\n"
        "protocol_state=RCPT\n"
        "protocol_name=ESMTP\n"
        "client_address=10.%u.%u.%u\n"
        "client_name=mx%u-%u-%u.net%u.test\n"
        "client_port=%u\n"
        "reverse_client_name=mx%u-%u-%u.net%u.test\n"
        "server_address=127.0.0.1\n"
        "server_port=25\n"
        "helo_name=mx%u-%u-%u.net%u.test\n"
        "sender=user%u@dom%u.test\n"
        "recipient=rcpt%u@example.org\n"
        "recipient_count=0\n"
        "queue_id=\n"
        "instance=%llx.%llx\n"
        "size=%u\n"
        "etrn_domain=\n"
        "stress=\n"
        "sasl_method=\n"
        "sasl_username=\n"
        "sasl_sender=\n"
        "ccert_subject=\n"
        "ccert_issuer=\n"
        "ccert_fingerprint=\n"
        "ccert_pubkey_fingerprint=\n"
        "encryption_protocol=TLSv1.3\n"
        "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
        "encryption_keysize=256\n"
        "policy_context=\n"
        "\n",
        b1, b2, b3, b1, b2, b3, b1 % 97, 1024 + (unsigned) (q % 60000),
        b1, b2, b3, b1 % 97, b1, b2, b3, b1 % 97,
        t.sender, t.sender % 1000, t.recipient,
        (unsigned long long) opt.seed, (unsigned long long) q, 1000 + (unsigned) (q % 100000));
    return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}


static void
die(const char *what)
{
    fprintf(stderr, "policy_load: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
push(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 65536;
        uint64_t *g = realloc(*a, nc * sizeof *g);
        if (g == NULL)
            die("out of memory for latencies");
        *a = g;
        *cap = nc;
    }
    (*a)[(*n)++] = v;
}

static struct {
    uint64_t *v;
    size_t n, cap;
} lag;   /* open loop: from max(due time, connection free) to the send */

static void
conn_down(struct conn *c, uint64_t now, uint64_t *counter)
{
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->st = C_DOWN;
    c->reconnect_at = now + RECONNECT_NS;
    (*counter)++;
}

static void
conn_open(struct conn *c, uint64_t now)
{
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* A blocking connect: on loopback it succeeds or is refused at once. */
    if (connect(c->fd, (struct sockaddr *) &server_addr, sizeof server_addr) != 0) {
        close(c->fd);
        c->fd = -1;
        conn_down(c, now, &res.e_connect);
        return;
    }
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0)
        die("fcntl");
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        die("epoll_ctl");
    c->st = C_IDLE;
    c->idle_at = now;
    c->rlen = c->wlen = c->woff = 0;
}

/* Write what is left of the request; watch for writability if the socket
 * buffer is full (it never is with one small request, but be correct). */
static void
conn_flush(struct conn *c, uint64_t now)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                return;
            }
            conn_down(c, now, &res.e_closed);
            return;
        }
        c->woff += (size_t) n;
    }
    if (c->wlen > 0 && c->woff == c->wlen) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        c->wlen = c->woff = 0;
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static void
conn_send(struct conn *c, uint64_t now, uint64_t start)
{
    c->wlen = next_request(c->wbuf, sizeof c->wbuf);
    c->woff = 0;
    if (c->wlen == 0) {
        fprintf(stderr, "policy_load: request does not fit the buffer\n");
        exit(1);
    }
    c->st = C_BUSY;
    c->start = start;
    c->sent = now;
    c->n++;
    res.sent++;
    /* Written directly: EPOLLOUT is only asked for on a short write. */
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_flush(c, now);
                return;
            }
            conn_down(c, now, &res.e_closed);
            return;
        }
        c->woff += (size_t) n;
    }
    c->wlen = c->woff = 0;
}

/* Read answers; returns 1 when the answer to the request in flight came. */
static int
conn_read(struct conn *c, uint64_t now, uint64_t warm_end, uint64_t load_end)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_down(c, now, &res.e_closed);
            return 0;
        }
        if (n == 0) {
            conn_down(c, now, &res.e_closed);
            return 0;
        }
        c->rlen += (size_t) n;
        if (c->rlen == RBUF)
            break;
    }
    char *end = memmem(c->rbuf, c->rlen, "\n\n", 2);
    if (end == NULL) {
        if (c->rlen == RBUF)               /* no end in sight */
            conn_down(c, now, &res.e_malformed);
        return 0;
    }
    size_t len = (size_t) (end - c->rbuf) + 2;
    if (c->st != C_BUSY || len != c->rlen || c->rlen < 9
        || memcmp(c->rbuf, "action=", 7) != 0 || memchr(c->rbuf, '\n', len - 2) != NULL) {
        /* Not one action line and an empty line, or more than was asked. */
        conn_down(c, now, &res.e_malformed);
        return 0;
    }
    if (now >= warm_end && now <= load_end)
        res.done++;                         /* throughput: answers in the window */
    if (c->start >= warm_end)               /* latency: requests due in it */
        push(&res.lat, &res.nlat, &res.caplat, now - c->start);
    if (memcmp(c->rbuf + 7, "DEFER", 5) == 0 || c->rbuf[7] == '4')
        res.deferred++;                     /* all answers, warm-up included */
    else
        res.other++;
    c->rlen = 0;
    c->st = C_IDLE;
    c->idle_at = now;
    return 1;
}

/* Wait for events until `deadline` (ns, monotonic), with nanosecond
 * resolution where the kernel has epoll_pwait2 (Linux 5.11), else to the
 * next millisecond. */
static int
wait_events(struct epoll_event *ev, int max, uint64_t now, uint64_t deadline)
{
    uint64_t d = deadline > now ? deadline - now : 0;
#ifdef SYS_epoll_pwait2
    static int have_pwait2 = 1;
    if (have_pwait2) {
        struct timespec ts = { (time_t) (d / 1000000000ull), (long) (d % 1000000000ull) };
        long n = syscall(SYS_epoll_pwait2, epfd, ev, max, &ts, NULL, 0);
        if (n >= 0 || errno != ENOSYS)
            return (int) n;
        have_pwait2 = 0;
    }
#endif
    return epoll_wait(epfd, ev, max, (int) ((d + 999999) / 1000000));
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static double
pct_ms(const uint64_t *v, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    size_t i = (size_t) (q * (double) n + 0.999999999);
    if (i == 0)
        i = 1;
    if (i > n)
        i = n;
    return (double) v[i - 1] / 1e6;
}

static void
on_signal(int sig)
{
    (void) sig;
    interrupted = 1;
}

static void
usage(FILE *f)
{
    fprintf(f,
        "Usage: policy_load --port PORT [options]\n"
        "Load generator for a Postfix policy server: a greylisting workload.\n\n"
        "  -p, --port PORT       server port (required)\n"
        "  -H, --host ADDR       server IPv4 address (default 127.0.0.1)\n"
        "  -c, --conns N         concurrent connections (default 1)\n"
        "  -d, --duration S      seconds of load (default 5)\n"
        "  -r, --rate R          open loop at R requests/s (default: closed loop)\n"
        "  -w, --warmup S        leave out the first S seconds (default 0)\n"
        "  -t, --timeout MS      per-request timeout (default 2000)\n"
        "      --repeat PCT      share of requests repeating an earlier triplet (default 20)\n"
        "      --seed N          workload seed (default 1)\n"
        "      --clients N       client address pool (default 1000000)\n"
        "      --senders N       sender pool (default 100000)\n"
        "      --recipients N    recipient pool (default 10000)\n"
        "      --csv             print one CSV row instead of a line\n"
        "      --csv-header      print the CSV header and exit\n"
        "  -h, --help            this help\n");
}

static const char csv_header[] =
    "mode,conns,offered_rps,duration_s,requests,errors,unsent,achieved_rps,"
    "p50_ms,p90_ms,p99_ms,p999_ms,max_ms,deferred,client_lag_p99_ms";

static int
num(const char *s, double lo, double hi, double *out)
{
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno != 0 || e == s || *e != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "port", required_argument, NULL, 'p' },
        { "host", required_argument, NULL, 'H' },
        { "conns", required_argument, NULL, 'c' },
        { "duration", required_argument, NULL, 'd' },
        { "rate", required_argument, NULL, 'r' },
        { "warmup", required_argument, NULL, 'w' },
        { "timeout", required_argument, NULL, 't' },
        { "repeat", required_argument, NULL, 'R' },
        { "seed", required_argument, NULL, 'S' },
        { "clients", required_argument, NULL, 'A' },
        { "senders", required_argument, NULL, 'B' },
        { "recipients", required_argument, NULL, 'C' },
        { "csv", no_argument, NULL, 'v' },
        { "csv-header", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    double v;

    while ((ch = getopt_long(argc, argv, "p:H:c:d:r:w:t:h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'p': bad = num(optarg, 1, 65535, &v); opt.port = (int) v; break;
        case 'H': opt.host = optarg; break;
        case 'c': bad = num(optarg, 1, MAX_CONNS, &v); opt.conns = (unsigned) v; break;
        case 'd': bad = num(optarg, 0.01, MAX_DURATION, &opt.duration); break;
        case 'r': bad = num(optarg, 0.001, 1e8, &opt.rate); break;
        case 'w': bad = num(optarg, 0, MAX_DURATION, &opt.warmup); break;
        case 't': bad = num(optarg, 1, 600000, &v); opt.timeout_ms = (unsigned) v; break;
        case 'R': bad = num(optarg, 0, 100, &v); opt.repeat = v / 100.0; break;
        case 'S': bad = num(optarg, 0, 1e18, &v); opt.seed = (uint64_t) v; break;
        case 'A': bad = num(optarg, 1, 16777216, &v); opt.clients = (uint32_t) v; break;
        case 'B': bad = num(optarg, 1, 4e9, &v); opt.senders = (uint32_t) v; break;
        case 'C': bad = num(optarg, 1, 4e9, &v); opt.recipients = (uint32_t) v; break;
        case 'v': opt.csv = 1; break;
        case 'V': puts(csv_header); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "policy_load: bad value for -%c: %s\n", ch, optarg);
            return 2;
        }
    }
    if (optind != argc || opt.port == 0) {
        usage(stderr);
        return 2;
    }
    if (opt.warmup >= opt.duration) {
        fprintf(stderr, "policy_load: --warmup must be shorter than --duration\n");
        return 2;
    }
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t) opt.port);
    if (inet_pton(AF_INET, opt.host, &server_addr.sin_addr) != 1) {
        fprintf(stderr, "policy_load: not an IPv4 address: %s\n", opt.host);
        return 2;
    }
    gen.rng = opt.seed;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
#ifdef PR_SET_TIMERSLACK
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); /* wake within 1 us of a due time */
#endif
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1");

    const int open_loop = opt.rate > 0;
    const unsigned nc = opt.conns;
    const double period = open_loop ? 1e9 / opt.rate : 0; /* ns between requests */
    const uint64_t timeout = (uint64_t) opt.timeout_ms * 1000000ull;
    struct conn *conns = calloc(nc, sizeof *conns);
    if (conns == NULL)
        die("calloc");

    uint64_t now = now_ns();
    for (unsigned j = 0; j < nc; j++) {
        conns[j].fd = -1;
        conn_open(&conns[j], now);
    }
    const uint64_t t0 = now_ns();
    const uint64_t end = t0 + (uint64_t) (opt.duration * 1e9);
    const uint64_t warm_end = t0 + (uint64_t) (opt.warmup * 1e9);
    const uint64_t hard_end = end + timeout + TIMEOUT_GRAIN_NS;
    for (unsigned j = 0; j < nc; j++)
        conns[j].due = t0 + (uint64_t) ((double) j * period);

    struct epoll_event evs[256];
    for (;;) {
        now = now_ns();
        if (interrupted || now >= hard_end)
            break;
        uint64_t deadline = now < end ? end : hard_end;
        unsigned busy = 0;
        for (unsigned j = 0; j < nc; j++) {
            struct conn *c = &conns[j];
            if (c->st == C_DOWN) {
                if (now >= end)
                    continue;
                if (now < c->reconnect_at) {
                    if (c->reconnect_at < deadline)
                        deadline = c->reconnect_at;
                    continue;
                }
                conn_open(c, now);
                if (c->st == C_DOWN) {
                    if (c->reconnect_at < deadline)
                        deadline = c->reconnect_at;
                    continue;
                }
            }
            if (c->st == C_IDLE) {
                if (!open_loop) {
                    if (now < end)
                        conn_send(c, now, now);
                } else if (c->due < end && now < end) {
                    if (c->due <= now) {
                        if (c->due >= warm_end)
                            push(&lag.v, &lag.n, &lag.cap,
                                 now - (c->due > c->idle_at ? c->due : c->idle_at));
                        conn_send(c, now, c->due);
                        c->due = t0 + (uint64_t) ((double) (c->n * nc + j) * period);
                    } else if (c->due < deadline) {
                        deadline = c->due;
                    }
                }
            }
            if (c->st == C_BUSY) {
                if (now - c->sent >= timeout) {
                    conn_down(c, now, &res.e_timeout);
                    continue;
                }
                busy++;
                uint64_t t = c->sent + timeout;
                t += TIMEOUT_GRAIN_NS - t % TIMEOUT_GRAIN_NS;
                if (t < deadline)
                    deadline = t;
            }
        }
        if (now >= end && busy == 0)
            break;
        int n = wait_events(evs, (int) (sizeof evs / sizeof evs[0]), now, deadline);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        now = now_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->st == C_DOWN)
                continue;          /* closed earlier in this batch */
            if (evs[i].events & EPOLLOUT)
                conn_flush(c, now);
            if (c->st != C_DOWN && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                && conn_read(c, now, warm_end, end) && !open_loop && now < end)
                conn_send(c, now, now);   /* closed loop: straight away */
        }
    }
    uint64_t stop = now_ns();
    for (unsigned j = 0; j < nc; j++)
        if (conns[j].fd >= 0)
            close(conns[j].fd);

    /* The measured window: from the end of the warm-up to the end of the
     * load (or the interruption). */
    uint64_t wend = stop < end ? stop : end;
    double window = wend > warm_end ? (double) (wend - warm_end) / 1e9 : 0.0;
    uint64_t errors = res.e_connect + res.e_closed + res.e_malformed + res.e_timeout;
    uint64_t unsent = 0;
    if (open_loop) {
        uint64_t due_total = (uint64_t) ((double) (wend - t0) / period) + 1;
        unsent = due_total > res.sent ? due_total - res.sent : 0;
    }
    if (res.nlat > 0)
        qsort(res.lat, res.nlat, sizeof *res.lat, cmp_u64);
    if (lag.n > 0)
        qsort(lag.v, lag.n, sizeof *lag.v, cmp_u64);
    double rate = window > 0 ? (double) res.done / window : 0.0;
    double p50 = pct_ms(res.lat, res.nlat, 0.50), p90 = pct_ms(res.lat, res.nlat, 0.90);
    double p99 = pct_ms(res.lat, res.nlat, 0.99), p999 = pct_ms(res.lat, res.nlat, 0.999);
    double pmax = res.nlat ? (double) res.lat[res.nlat - 1] / 1e6 : 0.0;
    double lag99 = pct_ms(lag.v, lag.n, 0.99);

    if (opt.csv) {
        printf("%s,%u,%.0f,%.2f,%llu,%llu,%llu,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%llu,%.3f\n",
               open_loop ? "open" : "closed", nc, open_loop ? opt.rate : 0.0, window,
               (unsigned long long) res.done, (unsigned long long) errors,
               (unsigned long long) unsent, rate, p50, p90, p99, p999, pmax,
               (unsigned long long) res.deferred, lag99);
    } else {
        if (open_loop)
            printf("open loop %.0f req/s", opt.rate);
        else
            printf("closed loop");
        printf(", %u conn, %.2f s: %llu answers, %zu timed, %llu errors (connect %llu, closed %llu, "
               "malformed %llu, timeout %llu)",
               nc, window, (unsigned long long) res.done, res.nlat, (unsigned long long) errors,
               (unsigned long long) res.e_connect, (unsigned long long) res.e_closed,
               (unsigned long long) res.e_malformed, (unsigned long long) res.e_timeout);
        if (open_loop)
            printf(", %llu unsent", (unsigned long long) unsent);
        printf(", %.1f req/s, %llu of %llu answers deferrals; latency ms p50 %.3f p90 %.3f p99 %.3f "
               "p99.9 %.3f max %.3f",
               rate, (unsigned long long) res.deferred,
               (unsigned long long) (res.deferred + res.other), p50, p90, p99, p999, pmax);
        if (open_loop)
            printf("; client send lag p99 %.3f", lag99);
        printf("%s\n", interrupted ? " (interrupted)" : "");
    }
    free(res.lat);
    free(lag.v);
    free(conns);
    close(epfd);
    return res.done > 0 ? 0 : 1;   /* 1: the server answered nothing in the window */
}
