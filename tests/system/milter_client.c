/*
 * milter_client.c - drive a milter directly, as Postfix would, without
 * Postfix: a small, self-contained MTA side of the Sendmail milter
 * protocol version 6 (no libmilter), for tests and benchmarks.
 *
 *   milter_client --connect inet:HOST:PORT|unix:PATH [--client-addr ADDR]
 *       [--client-name NAME] [--helo NAME] [--from ADDR] [--timeout MS]
 *       [--stop-at eoh|eom] [--show-headers] [--stats] [--quickack]
 *       [--escapes] [--reuse] [--strict] [--verbose] [--auth USER]
 *       [--client-port N] FILE|-
 *   milter_client --connect SPEC [--timeout MS] --raw FILE
 *
 * FILE holds one message per line: RCPT[,RCPT...] then, TAB-separated,
 * zero or more headers written "Name: value".  Blank lines and lines
 * starting with '#' are skipped (but counted).  With --escapes, recipients
 * and header names and values may write bytes a line cannot hold as \r,
 * \n, \t, \\ or \xNN (\x00 in a recipient goes out as a NUL inside the
 * RCPT argument; in a header it ends the text), to send hostile input.  Every message is one milter
 * transaction on ONE persistent connection: OPTNEG, CONNECT and HELO once
 * per connection, then per message MAIL, RCPT..., DATA, HEADER..., EOH
 * and (with --stop-at eom, the default) a one-line BODY and BODYEOB; then
 * ABORT, as Postfix sends after every message.  A message ends at the
 * first answer that is not "continue"; the output is one line per message:
 *
 *   LINENO<TAB>ACTION<TAB>REPLY
 *
 * ACTION: accept, continue (the last answer was continue: the milter let
 * the message through), tempfail, reject, discard (SMFIR_REPLYCODE counts
 * as tempfail for a 4xx code, reject for 5xx, "replycode" otherwise;
 * REPLY is its text), shutdown, connfail, and, when no answer came,
 * timeout or error (REPLY then says what went wrong).  With
 * --show-headers every modification the milter asks for at end of message
 * follows as "LINENO<TAB>header<TAB>Name: value" (add or insert header),
 * "LINENO<TAB>chgheader<TAB>INDEX Name: value", and quarantine, addrcpt,
 * addrcpt_par, delrcpt, chgfrom, replbody lines.  Control characters in
 * REPLY and header text are written as \r, \n, \t, \\ or \xNN.
 *
 * The protocol as Postfix speaks it: OPTNEG offers version 6, every
 * action (0x1FF) and every protocol flag (0x1FFFFF), and the milter picks:
 * steps it declines (NOCONNECT, NOHELO, NOMAIL, NORCPT, NODATA, NOHDRS,
 * NOEOH, NOBODY) are not sent, answers it declines (NR_*) are not waited
 * for (those packets go out with the next ones), HDR_LEADSPC decides
 * whether the one space after a header's colon is kept, macro lists it
 * sends back are read and ignored.  A milter asking for actions or a
 * version beyond those offered is refused.  Macros (SMFIC_MACRO) go before
 * CONNECT (j, {daemon_name}, v), MAIL (i, {mail_addr}), RCPT ({rcpt_addr})
 * and BODYEOB (i, a queue id MCnnnnnnnn of our own).  CONNECT carries
 * --client-name (default "[ADDR]", Sendmail's form for a name that did
 * not verify), family 4 or 6 (U when ADDR is neither), port --client-port
 * (default 0, what Postfix gives for non-SMTP submissions) and ADDR;
 * --auth USER sends {auth_authen} USER with MAIL (a SASL login);
 * MAIL and RCPT carry "<address>"; the body is one short CRLF line.
 * Packets are written whole, in as few writes as possible, and replies
 * read through a buffer, so partial reads and writes do not matter.
 *
 * A connection-level answer (at CONNECT or HELO) other than continue ends
 * the conversation as it does in Postfix: the connection is closed and
 * every later message gets that answer without asking the milter.  If the
 * milter closes an idle connection, the client reconnects (and sends the
 * message again if not a single answer for it had come); after a timeout,
 * an error, shutdown or connfail, the connection is re-opened for the next
 * message.
 *
 * --stats prints to standard error at the end
 *   messages N accepted A tempfail T reject R discard D other O timeout X
 *   error E connections C seconds S rate R/s p50_ms P p99_ms Q
 * where accepted counts accept and continue, other replycode, shutdown
 * and connfail, and the latency of a message runs from sending MAIL to
 * its decisive answer.
 *
 * --quickack (Linux) acknowledges every reply at once.  A milter that
 * answers with two packets, e.g. an added header then continue, and whose
 * socket does not set TCP_NODELAY (libmilter's does not) has its second
 * packet held by Nagle's algorithm until the client's delayed ACK, some
 * 40 ms later.  Postfix suffers that too, so it is not the default; the
 * option measures the milter without it.  (Unix sockets are not
 * affected.)
 *
 * --reuse ends each client after its message with QUIT_NC (Postfix's
 * connection reuse) and starts the next message's client with CONNECT and
 * HELO on the same connection.  --strict, after the last message's QUIT,
 * waits for the milter to close the connection: a reply that comes first
 * (one the milter sent for a stage negotiated without a reply, or more
 * than one answer to a command) is an error (exit status 1).
 *
 * --raw sends FILE's bytes as they are, with no negotiation (hostile
 * input), closes the sending half, and prints one line per reply packet
 * ("reply X", X its command byte, or "reply 0xNN"), then "closed" when the
 * milter closed the connection or "open" when it had not within
 * --timeout.  Exit status 0, or 1 if the connection failed.
 *
 * Exit status: 0 when every line got an answer from the milter (whatever
 * it was), 1 when a connection or protocol failure (including a timeout)
 * happened, 2 on usage or input errors.
 *
 * Every length is bounded: a reply packet over 64 KiB, a reply whose
 * fields overrun its length, an unknown reply or more than 10,000 replies
 * to one command are protocol errors; each wait (connect, send, each
 * reply) is bounded by --timeout (default 10000 ms); SMFIR_PROGRESS
 * restarts the wait.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/hex.h"

/* ---- the protocol (the values of libmilter's mfdef.h) ------------------ */

#define PROTO_VERSION 6
#define DATA_MAX 65535u                 /* MILTER_MAX_DATA_SIZE            */
#define PKT_MAX (DATA_MAX + 1u)         /* command byte + data: 64 KiB     */

/* commands, MTA to milter */
#define C_ABORT 'A'
#define C_BODY 'B'
#define C_CONNECT 'C'
#define C_MACRO 'D'
#define C_BODYEOB 'E'
#define C_HELO 'H'
#define C_HEADER 'L'
#define C_MAIL 'M'
#define C_EOH 'N'
#define C_OPTNEG 'O'
#define C_QUIT 'Q'
#define C_QUIT_NC 'K'
#define C_RCPT 'R'
#define C_DATA 'T'

/* replies, milter to MTA */
#define R_ADDRCPT '+'
#define R_DELRCPT '-'
#define R_ADDRCPT_PAR '2'
#define R_SHUTDOWN '4'
#define R_ACCEPT 'a'
#define R_REPLBODY 'b'
#define R_CONTINUE 'c'
#define R_DISCARD 'd'
#define R_CHGFROM 'e'
#define R_CONN_FAIL 'f'
#define R_ADDHEADER 'h'
#define R_INSHEADER 'i'
#define R_SETSYMLIST 'l'
#define R_CHGHEADER 'm'
#define R_PROGRESS 'p'
#define R_QUARANTINE 'q'
#define R_REJECT 'r'
#define R_SKIP 's'
#define R_TEMPFAIL 't'
#define R_REPLYCODE 'y'

/* actions the milter may take: all of version 6 (SMFI_CURR_ACTS) */
#define ACTIONS_ALL 0x000001FFu

/* protocol flags (SMFIP_*) */
#define P_NOCONNECT 0x00000001u
#define P_NOHELO 0x00000002u
#define P_NOMAIL 0x00000004u
#define P_NORCPT 0x00000008u
#define P_NOBODY 0x00000010u
#define P_NOHDRS 0x00000020u
#define P_NOEOH 0x00000040u
#define P_NR_HDR 0x00000080u
#define P_NOUNKNOWN 0x00000100u
#define P_NODATA 0x00000200u
#define P_SKIP 0x00000400u
#define P_RCPT_REJ 0x00000800u
#define P_NR_CONN 0x00001000u
#define P_NR_HELO 0x00002000u
#define P_NR_MAIL 0x00004000u
#define P_NR_RCPT 0x00008000u
#define P_NR_DATA 0x00010000u
#define P_NR_UNKN 0x00020000u
#define P_NR_EOH 0x00040000u
#define P_NR_BODY 0x00080000u
#define P_HDR_LEADSPC 0x00100000u
#define PROTO_ALL 0x001FFFFFu           /* SMFI_CURR_PROT: offered, all    */

static const struct {
    uint32_t bit;
    const char *name;
} proto_names[] = {
    { P_NOCONNECT, "NOCONNECT" }, { P_NOHELO, "NOHELO" }, { P_NOMAIL, "NOMAIL" },
    { P_NORCPT, "NORCPT" }, { P_NOBODY, "NOBODY" }, { P_NOHDRS, "NOHDRS" },
    { P_NOEOH, "NOEOH" }, { P_NR_HDR, "NR_HDR" }, { P_NOUNKNOWN, "NOUNKNOWN" },
    { P_NODATA, "NODATA" }, { P_SKIP, "SKIP" }, { P_RCPT_REJ, "RCPT_REJ" },
    { P_NR_CONN, "NR_CONN" }, { P_NR_HELO, "NR_HELO" }, { P_NR_MAIL, "NR_MAIL" },
    { P_NR_RCPT, "NR_RCPT" }, { P_NR_DATA, "NR_DATA" }, { P_NR_UNKN, "NR_UNKN" },
    { P_NR_EOH, "NR_EOH" }, { P_NR_BODY, "NR_BODY" }, { P_HDR_LEADSPC, "HDR_LEADSPC" },
};

#define BODY_TEXT "This is a test message from milter_client.\r\n"
#define LINE_MAX_BYTES (1u << 20)       /* one input line                  */
#define REPLIES_MAX 10000               /* replies to one command          */
#define MODS_TEXT_MAX (1u << 20)        /* --show-headers text per message */

/* ---- options and results ------------------------------------------------ */

static struct {
    const char *spec;
    const char *client_addr;
    const char *client_name;
    const char *helo;
    const char *from;
    const char *auth;
    unsigned client_port;
    long timeout_ms;
    int stop_eoh;
    int show_headers;
    int stats;
    int verbose;
    int quickack;
    int escapes;
    int reuse;
    int strict;
    int raw;
    const char *file;
} opt = {
    .client_addr = "192.0.2.1",
    .helo = "client.example.net",
    .from = "sender@example.net",
    .timeout_ms = 10000,
};

enum act {
    A_CONTINUE, A_ACCEPT, A_TEMPFAIL, A_REJECT, A_DISCARD, A_REPLYCODE, A_SHUTDOWN,
    A_CONNFAIL, A_TIMEOUT, A_ERROR, A_COUNT
};
static const char *const act_names[A_COUNT] = {
    "continue", "accept", "tempfail", "reject", "discard", "replycode", "shutdown",
    "connfail", "timeout", "error",
};

/* A growing text buffer with a hard limit. */
struct sbuf {
    char *p;
    size_t len, cap, limit;
    int truncated;
};

struct answer {
    enum act act;
    struct sbuf reply;          /* escaped reply text, or what went wrong  */
};

enum io { IO_OK, IO_EOF, IO_TIMEOUT, IO_FAIL, IO_PROTO };
static char io_err[600];        /* what went wrong, for IO_FAIL/PROTO/EOF  */
static unsigned long connections; /* connections opened (for --stats)      */

struct conn {
    int fd;                     /* -1: closed                              */
    unsigned char *rbuf;        /* RBUF_SIZE bytes                         */
    size_t rstart, rend;
    unsigned char *wbuf;        /* packets not yet sent                    */
    size_t wlen, wcap, pkt_start;
    uint32_t version, actions, pflags;
    unsigned long messages;     /* messages begun on this connection       */
    int decided;                /* a connection-level answer: see top      */
    struct answer conn_answer;
};
#define RBUF_SIZE (4u + PKT_MAX + 8192u)

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("milter_client: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

static void __attribute__((format(printf, 1, 2)))
set_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(io_err, sizeof io_err, fmt, ap);
    va_end(ap);
}

static void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        die(1, "out of memory");
    return q;
}

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
deadline_from_now(void)
{
    return now_ns() + (int64_t) opt.timeout_ms * 1000000;
}

/* ---- text buffers --------------------------------------------------------- */

static void
sb_init(struct sbuf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

static void
sb_reset(struct sbuf *b)
{
    b->len = 0;
    b->truncated = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->truncated)
        return;
    if (b->len + n > b->limit) {
        b->truncated = 1;
        n = b->limit - b->len;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Append N bytes of milter text, control characters escaped. */
static void
sb_escaped(struct sbuf *b, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char esc[8];
        unsigned char ch = s[i];
        if (ch == '\r')
            sb_add(b, "\\r", 2);
        else if (ch == '\n')
            sb_add(b, "\\n", 2);
        else if (ch == '\t')
            sb_add(b, "\\t", 2);
        else if (ch == '\\')
            sb_add(b, "\\\\", 2);
        else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", ch);
            sb_str(b, esc);
        } else
            sb_add(b, (const char *) &ch, 1);
    }
}

static const char *
sb_text(const struct sbuf *b)
{
    return b->p ? b->p : "";
}

/* ---- packets out ---------------------------------------------------------- */

static void
out_bytes(struct conn *c, const void *p, size_t n)
{
    if (c->wlen + n > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 4096;
        while (cap < c->wlen + n)
            cap *= 2;
        c->wbuf = xrealloc(c->wbuf, cap);
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
}

static void
pkt_begin(struct conn *c, char cmd)
{
    unsigned char head[5] = { 0, 0, 0, 0, (unsigned char) cmd };
    c->pkt_start = c->wlen;
    out_bytes(c, head, sizeof head);
}

static void
pkt_str(struct conn *c, const char *s)
{
    out_bytes(c, s, strlen(s) + 1);
}

static void
pkt_u32(struct conn *c, uint32_t v)
{
    unsigned char b[4] = { (unsigned char) (v >> 24), (unsigned char) (v >> 16),
                           (unsigned char) (v >> 8), (unsigned char) v };
    out_bytes(c, b, 4);
}

/* Fill in the length.  Every caller's data was bounded beforehand (input
 * fields are checked when read), so an oversized packet is a bug. */
static void
pkt_end(struct conn *c)
{
    size_t len = c->wlen - c->pkt_start - 4;
    if (len > PKT_MAX)
        die(1, "internal error: a %zu-byte command", len);
    unsigned char *p = c->wbuf + c->pkt_start;
    p[0] = (unsigned char) (len >> 24);
    p[1] = (unsigned char) (len >> 16);
    p[2] = (unsigned char) (len >> 8);
    p[3] = (unsigned char) len;
}

/* A SMFIC_MACRO packet for command CMD: NAME, VALUE pairs, NULL-ended. */
static void
pkt_macros(struct conn *c, char cmd, ...)
{
    va_list ap;
    const char *s;
    char which = cmd;
    pkt_begin(c, C_MACRO);
    out_bytes(c, &which, 1);
    va_start(ap, cmd);
    while ((s = va_arg(ap, const char *)) != NULL)
        pkt_str(c, s);
    va_end(ap);
    pkt_end(c);
}

/* ---- the socket ----------------------------------------------------------- */

static enum io
wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return IO_TIMEOUT;
        struct pollfd p = { .fd = fd, .events = events };
        int ms = (int) ((left + 999999) / 1000000);
        int n = poll(&p, 1, ms);
        if (n > 0)
            return IO_OK;   /* readable, writable, or an error to be read */
        if (n < 0 && errno != EINTR) {
            set_err("poll: %s", strerror(errno));
            return IO_FAIL;
        }
    }
}

static void
conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rstart = c->rend = 0;
    c->wlen = 0;
}

static enum io
conn_flush(struct conn *c, int64_t deadline)
{
    size_t off = 0;
    while (off < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + off, c->wlen - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t) n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            enum io w = wait_fd(c->fd, POLLOUT, deadline);
            if (w != IO_OK)
                return w;
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            set_err("the milter closed the connection (%s)", strerror(errno));
            return IO_EOF;
        }
        set_err("send: %s", n < 0 ? strerror(errno) : "no progress");
        return IO_FAIL;
    }
    c->wlen = 0;
    return IO_OK;
}

/* Have at least NEED unread bytes in the read buffer. */
static enum io
conn_fill(struct conn *c, size_t need, int64_t deadline)
{
    if (c->rend - c->rstart >= need)
        return IO_OK;
    if (c->rstart + need > RBUF_SIZE) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
        c->rend -= c->rstart;
        c->rstart = 0;
    }
    while (c->rend - c->rstart < need) {
        ssize_t n = recv(c->fd, c->rbuf + c->rend, RBUF_SIZE - c->rend, 0);
        if (n > 0) {
            c->rend += (size_t) n;
#ifdef TCP_QUICKACK
            /* Linux leaves quick-ACK mode by itself: set it again. */
            if (opt.quickack) {
                int one = 1;
                setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
            }
#endif
            continue;
        }
        if (n == 0) {
            set_err("the milter closed the connection");
            return IO_EOF;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            enum io w = wait_fd(c->fd, POLLIN, deadline);
            if (w != IO_OK)
                return w;
            continue;
        }
        if (errno == ECONNRESET) {
            set_err("the milter reset the connection");
            return IO_EOF;
        }
        set_err("recv: %s", strerror(errno));
        return IO_FAIL;
    }
    return IO_OK;
}

/* One reply packet: its command byte, and DATA/LEN valid until the next
 * read. */
static enum io
read_packet(struct conn *c, int64_t deadline, unsigned char *cmd, const unsigned char **data,
            size_t *len)
{
    enum io r = conn_fill(c, 4, deadline);
    if (r != IO_OK)
        return r;
    const unsigned char *p = c->rbuf + c->rstart;
    uint32_t n = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
    if (n == 0) {
        set_err("a reply packet of length 0");
        return IO_PROTO;
    }
    if (n > PKT_MAX) {
        set_err("a reply packet of %lu bytes (more than 64 KiB)", (unsigned long) n);
        return IO_PROTO;
    }
    if ((r = conn_fill(c, 4 + (size_t) n, deadline)) != IO_OK)
        return r;
    p = c->rbuf + c->rstart;
    *cmd = p[4];
    *data = p + 5;
    *len = n - 1;
    c->rstart += 4 + (size_t) n;
    if (c->rstart == c->rend)
        c->rstart = c->rend = 0;
    return IO_OK;
}

/* ---- replies ---------------------------------------------------------------- */

static const char *
cmd_name(char cmd)
{
    switch (cmd) {
    case C_OPTNEG: return "OPTNEG";
    case C_CONNECT: return "CONNECT";
    case C_HELO: return "HELO";
    case C_MAIL: return "MAIL";
    case C_RCPT: return "RCPT";
    case C_DATA: return "DATA";
    case C_HEADER: return "HEADER";
    case C_EOH: return "EOH";
    case C_BODY: return "BODY";
    case C_BODYEOB: return "BODYEOB";
    default: return "?";
    }
}

/* The next NUL-terminated string of a reply, from *OFF; NULL if it would
 * run past the end. */
static const char *
take_str(const unsigned char *data, size_t len, size_t *off, size_t *slen)
{
    if (*off >= len)
        return NULL;
    const unsigned char *nul = memchr(data + *off, '\0', len - *off);
    if (nul == NULL)
        return NULL;
    const char *s = (const char *) data + *off;
    *slen = (size_t) (nul - (data + *off));
    *off += *slen + 1;
    return s;
}

static int
take_u32(const unsigned char *data, size_t len, size_t *off, uint32_t *v)
{
    if (*off > len || len - *off < 4)
        return 0;
    const unsigned char *p = data + *off;
    *v = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
    *off += 4;
    return 1;
}

/* A modification request (or quarantine): reported with --show-headers. */
static int
record_mod(struct conn *c, unsigned char cmd, const unsigned char *data, size_t len,
           unsigned long lineno, struct sbuf *mods)
{
    size_t off = 0, n1 = 0, n2 = 0;
    uint32_t index = 0;
    const char *s1 = NULL, *s2 = NULL;
    const char *kind;
    char head[64];

    switch (cmd) {
    case R_ADDHEADER:
    case R_INSHEADER:
    case R_CHGHEADER:
        if (cmd != R_ADDHEADER && !take_u32(data, len, &off, &index))
            return 0;
        if ((s1 = take_str(data, len, &off, &n1)) == NULL ||
            (s2 = take_str(data, len, &off, &n2)) == NULL)
            return 0;
        kind = cmd == R_CHGHEADER ? "chgheader" : "header";
        break;
    case R_ADDRCPT: kind = "addrcpt"; goto one_or_two;
    case R_DELRCPT: kind = "delrcpt"; goto one_or_two;
    case R_ADDRCPT_PAR: kind = "addrcpt_par"; goto one_or_two;
    case R_CHGFROM: kind = "chgfrom"; goto one_or_two;
    case R_QUARANTINE: kind = "quarantine";
    one_or_two:
        if ((s1 = take_str(data, len, &off, &n1)) == NULL)
            return 0;
        if ((cmd == R_ADDRCPT_PAR || cmd == R_CHGFROM) && off < len &&
            (s2 = take_str(data, len, &off, &n2)) == NULL)
            return 0;
        break;
    case R_REPLBODY:
        kind = "replbody";
        off = len;
        break;
    default:
        return 0;
    }
    if (!opt.show_headers)
        return 1;
    snprintf(head, sizeof head, "%lu\t%s\t", lineno, kind);
    sb_str(mods, head);
    if (cmd == R_REPLBODY) {
        snprintf(head, sizeof head, "%zu bytes", len);
        sb_str(mods, head);
    } else if (cmd == R_ADDHEADER || cmd == R_INSHEADER || cmd == R_CHGHEADER) {
        if (cmd == R_CHGHEADER) {
            snprintf(head, sizeof head, "%lu ", (unsigned long) index);
            sb_str(mods, head);
        }
        sb_escaped(mods, (const unsigned char *) s1, n1);
        /* Without HDR_LEADSPC the MTA puts back the space after the colon. */
        sb_str(mods, (c->pflags & P_HDR_LEADSPC) && n2 > 0 ? ":" : ": ");
        sb_escaped(mods, (const unsigned char *) s2, n2);
    } else {
        sb_escaped(mods, (const unsigned char *) s1, n1);
        if (s2 != NULL && n2 > 0) {
            sb_str(mods, " ");
            sb_escaped(mods, (const unsigned char *) s2, n2);
        }
    }
    sb_str(mods, "\n");
    return 1;
}

/*
 * Read the milter's answer to CMD (already sent): any number of progress
 * notes and (at end of message) modification requests, then one decision.
 * IO_OK with ans->act set, or an I/O or protocol failure (io_err says
 * which).  *GOT is set once anything at all came back.
 */
static enum io
await_answer(struct conn *c, char cmd, unsigned long lineno, struct answer *ans,
             struct sbuf *mods, int *got)
{
    int64_t deadline = deadline_from_now();
    enum io r = conn_flush(c, deadline);
    if (r != IO_OK)
        return r;
    for (int replies = 0; replies < REPLIES_MAX; replies++) {
        unsigned char rc;
        const unsigned char *data;
        size_t len;
        if ((r = read_packet(c, deadline, &rc, &data, &len)) != IO_OK)
            return r;
        *got = 1;
        switch (rc) {
        case R_PROGRESS:
        case R_CONTINUE:
        case R_ACCEPT:
        case R_REJECT:
        case R_TEMPFAIL:
        case R_DISCARD:
        case R_SHUTDOWN:
        case R_SKIP:
            if (len != 0) {
                set_err("reply '%c' to %s carries %zu data bytes", rc, cmd_name(cmd), len);
                return IO_PROTO;
            }
            break;
        default:
            break;
        }
        switch (rc) {
        case R_PROGRESS:
            deadline = deadline_from_now();
            continue;
        case R_CONTINUE:
        case R_SKIP:            /* skip the rest of this event: we have no more */
            ans->act = A_CONTINUE;
            return IO_OK;
        case R_ACCEPT:
            ans->act = A_ACCEPT;
            return IO_OK;
        case R_REJECT:
            ans->act = A_REJECT;
            return IO_OK;
        case R_TEMPFAIL:
            ans->act = A_TEMPFAIL;
            return IO_OK;
        case R_DISCARD:
            ans->act = A_DISCARD;
            return IO_OK;
        case R_SHUTDOWN:
            ans->act = A_SHUTDOWN;
            return IO_OK;
        case R_CONN_FAIL:
            ans->act = A_CONNFAIL;
            return IO_OK;
        case R_REPLYCODE: {
            size_t n = strnlen((const char *) data, len);
            if (n >= 4 && (data[0] == '4' || data[0] == '5') && data[1] >= '0' &&
                data[1] <= '9' && data[2] >= '0' && data[2] <= '9' &&
                (data[3] == ' ' || data[3] == '-'))
                ans->act = data[0] == '4' ? A_TEMPFAIL : A_REJECT;
            else
                ans->act = A_REPLYCODE;
            sb_reset(&ans->reply);
            sb_escaped(&ans->reply, data, n);
            return IO_OK;
        }
        case R_QUARANTINE:
            if (!record_mod(c, rc, data, len, lineno, mods)) {
                set_err("malformed quarantine request after %s", cmd_name(cmd));
                return IO_PROTO;
            }
            continue;
        case R_ADDHEADER:
        case R_INSHEADER:
        case R_CHGHEADER:
        case R_ADDRCPT:
        case R_DELRCPT:
        case R_ADDRCPT_PAR:
        case R_CHGFROM:
        case R_REPLBODY:
            if (cmd != C_BODYEOB) {
                set_err("modification request '%c' after %s (only allowed at end of body)",
                        rc, cmd_name(cmd));
                return IO_PROTO;
            }
            if (!record_mod(c, rc, data, len, lineno, mods)) {
                set_err("malformed modification request '%c' (%zu bytes)", rc, len);
                return IO_PROTO;
            }
            continue;
        default:
            if (rc >= 0x21 && rc < 0x7f)
                set_err("unexpected reply '%c' to %s", rc, cmd_name(cmd));
            else
                set_err("unexpected reply 0x%02x to %s", rc, cmd_name(cmd));
            return IO_PROTO;
        }
    }
    set_err("more than %d replies to %s", REPLIES_MAX, cmd_name(cmd));
    return IO_PROTO;
}

/* Send the queued packets of event CMD and read the answer, unless the
 * milter negotiated not to answer it (NR_FLAG): then it is "continue" and
 * the packets go out with the next ones. */
static enum io
event(struct conn *c, char cmd, uint32_t nr_flag, unsigned long lineno, struct answer *ans,
      struct sbuf *mods, int *got)
{
    if (nr_flag != 0 && (c->pflags & nr_flag) != 0) {
        ans->act = A_CONTINUE;
        return IO_OK;
    }
    return await_answer(c, cmd, lineno, ans, mods, got);
}

/* ---- connecting --------------------------------------------------------------- */

static int
set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A non-blocking connect bounded by --timeout; the socket or -1. */
static int
connect_addr(const struct sockaddr *sa, socklen_t salen, int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err("socket: %s", strerror(errno));
        return -1;
    }
    if (set_nonblocking(fd) != 0) {
        set_err("fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            set_err("%s", strerror(errno));
            close(fd);
            return -1;
        }
        enum io w = wait_fd(fd, POLLOUT, deadline_from_now());
        int err = 0;
        socklen_t elen = sizeof err;
        if (w == IO_TIMEOUT) {
            set_err("no connection within %ld ms", opt.timeout_ms);
            close(fd);
            return -1;
        }
        if (w != IO_OK || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            set_err("%s", strerror(err ? err : errno));
            close(fd);
            return -1;
        }
    }
    if (family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* Split SPEC: unix:PATH (or local:PATH) into *PATH, inet:HOST:PORT (HOST
 * maybe [IPv6]) into HOST and PORT.  0, or -1 if malformed. */
static int
parse_spec(const char *spec, const char **path, char host[256], char port[32])
{
    *path = NULL;
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
        *path = strchr(spec, ':') + 1;
        return **path != '\0' && strlen(*path) < sizeof ((struct sockaddr_un *) 0)->sun_path
                   ? 0 : -1;
    }
    if (strncmp(spec, "inet:", 5) != 0)
        return -1;
    const char *hp = spec + 5, *colon = strrchr(hp, ':');
    size_t hl = colon ? (size_t) (colon - hp) : 0;
    if (hl >= 2 && hp[0] == '[' && hp[hl - 1] == ']') {
        hp++;
        hl -= 2;
    }
    if (colon == NULL || hl == 0 || hl >= 256 || colon[1] == '\0' || strlen(colon + 1) >= 32)
        return -1;
    memcpy(host, hp, hl);
    host[hl] = '\0';
    snprintf(port, 32, "%s", colon + 1);
    return 0;
}

static int
open_socket(const char *spec)
{
    const char *path;
    char host[256], port[32];
    if (parse_spec(spec, &path, host, port) != 0) {
        set_err("bad address");
        return -1;
    }
    if (path != NULL) {
        struct sockaddr_un sun;
        memset(&sun, 0, sizeof sun);
        sun.sun_family = AF_UNIX;
        memcpy(sun.sun_path, path, strlen(path) + 1);
        return connect_addr((const struct sockaddr *) &sun, sizeof sun, AF_UNIX);
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(host, port, &hints, &res);
    if (e != 0) {
        set_err("%s", gai_strerror(e));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = connect_addr(ai->ai_addr, ai->ai_addrlen, ai->ai_family);
    freeaddrinfo(res);
    return fd;
}

static void
describe_flags(char *buf, size_t size, uint32_t flags)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof proto_names / sizeof proto_names[0]; i++)
        if (flags & proto_names[i].bit)
            n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "," : "",
                                   proto_names[i].name);
    if (n == 0)
        snprintf(buf, size, "none");
}

/* Parse the OPTNEG reply: version, actions, protocol, then optional
 * (stage, macro list) pairs. */
static enum io
negotiate(struct conn *c)
{
    int64_t deadline = deadline_from_now();
    pkt_begin(c, C_OPTNEG);
    pkt_u32(c, PROTO_VERSION);
    pkt_u32(c, ACTIONS_ALL);
    pkt_u32(c, PROTO_ALL);
    pkt_end(c);
    enum io r = conn_flush(c, deadline);
    unsigned char rc;
    const unsigned char *data;
    size_t len, off = 0;
    if (r == IO_OK)
        r = read_packet(c, deadline, &rc, &data, &len);
    if (r != IO_OK)
        return r;
    if (rc != C_OPTNEG) {
        set_err("reply 0x%02x to OPTNEG", rc);
        return IO_PROTO;
    }
    if (!take_u32(data, len, &off, &c->version) || !take_u32(data, len, &off, &c->actions) ||
        !take_u32(data, len, &off, &c->pflags)) {
        set_err("short OPTNEG reply (%zu bytes)", len);
        return IO_PROTO;
    }
    if (c->version < 2 || c->version > PROTO_VERSION) {
        set_err("milter protocol version %lu (this client speaks 2 to 6)",
                (unsigned long) c->version);
        return IO_PROTO;
    }
    if ((c->actions & ~ACTIONS_ALL) != 0) {
        set_err("milter asks for actions 0x%lx, outside the offered 0x%lx",
                (unsigned long) c->actions, (unsigned long) ACTIONS_ALL);
        return IO_PROTO;
    }
    if ((c->pflags & ~PROTO_ALL) != 0 && opt.verbose)
        fprintf(stderr, "milter_client: ignoring protocol bits 0x%lx not offered\n",
                (unsigned long) (c->pflags & ~PROTO_ALL));
    c->pflags &= PROTO_ALL;
    while (off < len) {
        uint32_t stage;
        size_t n;
        const char *list;
        if (!take_u32(data, len, &off, &stage) || (list = take_str(data, len, &off, &n)) == NULL) {
            set_err("malformed macro list in the OPTNEG reply");
            return IO_PROTO;
        }
        if (opt.verbose)
            fprintf(stderr, "milter_client: milter asks for macros of stage %lu: %.*s\n",
                    (unsigned long) stage, (int) (n > 200 ? 200 : n), list);
    }
    if (opt.verbose) {
        char flags[512];
        describe_flags(flags, sizeof flags, c->pflags);
        fprintf(stderr, "milter_client: negotiated version %lu actions 0x%03lx protocol 0x%06lx (%s)\n",
                (unsigned long) c->version, (unsigned long) c->actions,
                (unsigned long) c->pflags, flags);
    }
    return IO_OK;
}

/* Open the connection: OPTNEG, CONNECT, HELO.  A connection-level answer
 * other than continue is kept in c->conn_answer (c->decided), and the
 * connection closed, as Postfix does.  0; -1 (no connection) or -2 (the
 * handshake failed) with io_err set. */
static enum io conn_hello(struct conn *c);

static int
conn_open(struct conn *c)
{
    enum io r = IO_OK;

    conn_close(c);
    c->messages = 0;
    if ((c->fd = open_socket(opt.spec)) < 0)
        return -1;
    connections++;
    if ((r = negotiate(c)) != IO_OK)
        goto failed;
    if ((r = conn_hello(c)) != IO_OK)
        goto failed;
    return 0;

failed:
    if (r == IO_TIMEOUT)
        set_err("no answer within %ld ms during the handshake", opt.timeout_ms);
    conn_close(c);
    return -2;
}

/* CONNECT and HELO of one client, on an open connection (after OPTNEG, or
 * after QUIT_NC with --reuse). */
static enum io
conn_hello(struct conn *c)
{
    struct sbuf no_mods;
    struct answer *a = &c->conn_answer;
    const char *addr = opt.client_addr;
    unsigned char family = 'U';
    struct in_addr a4;
    struct in6_addr a6;
    char name[300];
    int got = 0;
    enum io r = IO_OK;

    sb_init(&no_mods, 0);
    a->act = A_CONTINUE;
    sb_reset(&a->reply);
    /* CONNECT: hostname, family, port, address */
    if (inet_pton(AF_INET, addr, &a4) == 1)
        family = '4';
    else if (inet_pton(AF_INET6, addr, &a6) == 1)
        family = '6';
    if (opt.client_name != NULL)
        snprintf(name, sizeof name, "%s", opt.client_name);
    else if (family != 'U')
        snprintf(name, sizeof name, "[%s]", addr);   /* unverified: Sendmail's form */
    else
        snprintf(name, sizeof name, "unknown");
    pkt_macros(c, C_CONNECT, "j", "milter-client.example", "{daemon_name}", "milter_client",
               "v", "milter_client", (const char *) NULL);
    if (!(c->pflags & P_NOCONNECT)) {
        pkt_begin(c, C_CONNECT);
        pkt_str(c, name);
        out_bytes(c, &family, 1);
        if (family != 'U') {
            unsigned char port[2] = { (unsigned char) (opt.client_port >> 8),
                                      (unsigned char) (opt.client_port & 0xff) };
            out_bytes(c, port, 2);
            pkt_str(c, addr);
        }
        pkt_end(c);
        if ((r = event(c, C_CONNECT, P_NR_CONN, 0, a, &no_mods, &got)) != IO_OK)
            return r;
    }
    if (a->act == A_CONTINUE && !(c->pflags & P_NOHELO)) {
        pkt_begin(c, C_HELO);
        pkt_str(c, opt.helo);
        pkt_end(c);
        if ((r = event(c, C_HELO, P_NR_HELO, 0, a, &no_mods, &got)) != IO_OK)
            return r;
    }
    if (a->act == A_DISCARD)            /* not allowed here: Postfix ignores it */
        a->act = A_CONTINUE;
    if (a->act != A_CONTINUE) {
        c->decided = 1;
        conn_close(c);
        if (opt.verbose)
            fprintf(stderr, "milter_client: connection-level answer %s %s\n",
                    act_names[a->act], sb_text(&a->reply));
    }
    return IO_OK;
}

/* ---- one message --------------------------------------------------------------- */

struct header {
    const char *name;
    const char *value;          /* as written after the colon */
};

struct message {
    char **rcpt;
    size_t *rcpt_len;           /* bytes, NULs (from --escapes) included    */
    size_t nrcpt;
    struct header *hdr;
    size_t nhdr;
};

static unsigned long queue_ids;

/* "<addr>", unless already in angle brackets; LEN bytes of A. */
static void
pkt_address(struct conn *c, const char *a, size_t len)
{
    if (len > 0 && a[0] == '<') {
        out_bytes(c, a, len);
        out_bytes(c, "", 1);
        return;
    }
    out_bytes(c, "<", 1);
    out_bytes(c, a, len);
    out_bytes(c, ">", 2);
}

/* One transaction.  IO_OK with the decisive answer in ANS, or a failure. */
static enum io
run_message(struct conn *c, const struct message *m, unsigned long lineno, struct answer *ans,
            struct sbuf *mods, int *got)
{
    enum io r;
    char qid[32];

    ans->act = A_CONTINUE;
    sb_reset(&ans->reply);
    sb_reset(mods);
    snprintf(qid, sizeof qid, "MC%08lX", ++queue_ids);
    c->messages++;

    if (opt.auth != NULL)
        pkt_macros(c, C_MAIL, "i", qid, "{mail_addr}", opt.from, "{auth_authen}", opt.auth,
                   (const char *) NULL);
    else
        pkt_macros(c, C_MAIL, "i", qid, "{mail_addr}", opt.from, (const char *) NULL);
    if (!(c->pflags & P_NOMAIL)) {
        pkt_begin(c, C_MAIL);
        pkt_address(c, opt.from, strlen(opt.from));
        pkt_end(c);
        if ((r = event(c, C_MAIL, P_NR_MAIL, lineno, ans, mods, got)) != IO_OK)
            return r;
        if (ans->act != A_CONTINUE)
            goto done;
    }
    for (size_t i = 0; i < m->nrcpt; i++) {
        pkt_macros(c, C_RCPT, "{rcpt_addr}", m->rcpt[i], (const char *) NULL);
        if (c->pflags & P_NORCPT)
            continue;
        pkt_begin(c, C_RCPT);
        pkt_address(c, m->rcpt[i], m->rcpt_len[i]);
        pkt_end(c);
        if ((r = event(c, C_RCPT, P_NR_RCPT, lineno, ans, mods, got)) != IO_OK)
            return r;
        if (ans->act != A_CONTINUE)
            goto done;
    }
    if (!(c->pflags & P_NODATA)) {
        pkt_begin(c, C_DATA);
        pkt_end(c);
        if ((r = event(c, C_DATA, P_NR_DATA, lineno, ans, mods, got)) != IO_OK)
            return r;
        if (ans->act != A_CONTINUE)
            goto done;
    }
    for (size_t i = 0; i < m->nhdr && !(c->pflags & P_NOHDRS); i++) {
        const char *v = m->hdr[i].value;
        /* Sendmail and Postfix eat one space (not a tab) after the colon. */
        if (!(c->pflags & P_HDR_LEADSPC) && v[0] == ' ')
            v++;
        pkt_begin(c, C_HEADER);
        pkt_str(c, m->hdr[i].name);
        pkt_str(c, v);
        pkt_end(c);
        if ((r = event(c, C_HEADER, P_NR_HDR, lineno, ans, mods, got)) != IO_OK)
            return r;
        if (ans->act != A_CONTINUE)
            goto done;
    }
    if (!(c->pflags & P_NOEOH)) {
        pkt_begin(c, C_EOH);
        pkt_end(c);
        if ((r = event(c, C_EOH, P_NR_EOH, lineno, ans, mods, got)) != IO_OK)
            return r;
        if (ans->act != A_CONTINUE || opt.stop_eoh)
            goto done;
    } else if (opt.stop_eoh)
        goto done;
    if (!(c->pflags & P_NOBODY)) {
        pkt_begin(c, C_BODY);
        out_bytes(c, BODY_TEXT, sizeof BODY_TEXT - 1);
        pkt_end(c);
        if ((r = event(c, C_BODY, P_NR_BODY, lineno, ans, mods, got)) != IO_OK)
            return r;
        if (ans->act != A_CONTINUE)
            goto done;
    }
    pkt_macros(c, C_BODYEOB, "i", qid, (const char *) NULL);
    pkt_begin(c, C_BODYEOB);
    pkt_end(c);
    if ((r = event(c, C_BODYEOB, 0, lineno, ans, mods, got)) != IO_OK)
        return r;
done:
    /* Postfix aborts the milter's transaction after every message; the
     * ABORT has no reply and goes out with the next packets. */
    pkt_begin(c, C_ABORT);
    pkt_end(c);
    return IO_OK;
}

/* ---- input ----------------------------------------------------------------------- */

/* --escapes: decode S in place; the decoded length, or -1 (and *WHY) for
 * a backslash that starts no escape. */
static long
unescape(char *s, const char **why)
{
    size_t n = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] != '\\') {
            s[n++] = s[i];
            continue;
        }
        char e = s[++i];
        if (e == 'r')
            s[n++] = '\r';
        else if (e == 'n')
            s[n++] = '\n';
        else if (e == 't')
            s[n++] = '\t';
        else if (e == '\\')
            s[n++] = '\\';
        else if (e == 'x' && hex_digit_value((unsigned char) s[i + 1]) >= 0 &&
                 hex_digit_value((unsigned char) s[i + 2]) >= 0) {
            s[n++] = (char) (hex_digit_value((unsigned char) s[i + 1]) * 16 +
                              hex_digit_value((unsigned char) s[i + 2]));
            i += 2;
        } else {
            *why = "--escapes: a backslash that starts no \\r, \\n, \\t, \\\\ or \\xNN";
            return -1;
        }
    }
    s[n] = '\0';
    return (long) n;
}

/* Split LINE (modified in place) into a message; -1 and *WHY on error. */
static int
parse_line(char *line, struct message *m, const char **why)
{
    size_t tabs = 0, commas = 0;
    for (char *p = line; *p; p++) {
        tabs += *p == '\t';
        commas += *p == ',';
    }
    m->rcpt = xrealloc(m->rcpt, (commas + 1) * sizeof *m->rcpt);
    m->rcpt_len = xrealloc(m->rcpt_len, (commas + 1) * sizeof *m->rcpt_len);
    m->hdr = xrealloc(m->hdr, (tabs + 1) * sizeof *m->hdr);
    m->nrcpt = m->nhdr = 0;

    char *rest = strchr(line, '\t');
    if (rest != NULL)
        *rest++ = '\0';
    for (char *r = line;;) {
        char *comma = strchr(r, ',');
        if (comma != NULL)
            *comma = '\0';
        if (*r == '\0') {
            *why = "empty recipient";
            return -1;
        }
        if (strlen(r) + 3 > DATA_MAX) {
            *why = "recipient too long";
            return -1;
        }
        long len = (long) strlen(r);
        if (opt.escapes && (len = unescape(r, why)) < 0)
            return -1;
        m->rcpt_len[m->nrcpt] = (size_t) len;
        m->rcpt[m->nrcpt++] = r;
        if (comma == NULL)
            break;
        r = comma + 1;
    }
    while (rest != NULL) {
        char *field = rest;
        rest = strchr(field, '\t');
        if (rest != NULL)
            *rest++ = '\0';
        char *colon = strchr(field, ':');
        if (colon == NULL) {
            *why = "header without a colon";
            return -1;
        }
        char *end = colon;
        while (end > field && end[-1] == ' ')
            end--;
        if (end == field) {
            *why = "header without a name";
            return -1;
        }
        *end = '\0';
        if (opt.escapes && (unescape(field, why) < 0 || unescape(colon + 1, why) < 0))
            return -1;
        if (strlen(field) + strlen(colon + 1) + 2 > DATA_MAX) {
            *why = "header too long (over 64 KiB)";
            return -1;
        }
        m->hdr[m->nhdr].name = field;
        m->hdr[m->nhdr].value = colon + 1;
        m->nhdr++;
    }
    return 0;
}

/* One line into BUF (LINE_MAX_BYTES + 2): 1, 0 at the end, -1 too long. */
static int
read_line(FILE *in, char *buf)
{
    if (fgets(buf, (int) LINE_MAX_BYTES + 2, in) == NULL)
        return 0;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (!feof(in))
        return -1;
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return 1;
}

/* ---- main ------------------------------------------------------------------------- */

static void __attribute__((noreturn))
usage(const char *why)
{
    FILE *out = why != NULL ? stderr : stdout;
    if (why != NULL && why[0] != '\0')
        fprintf(stderr, "milter_client: %s\n", why);
    fprintf(out,
            "usage: milter_client --connect inet:HOST:PORT|unix:PATH [--client-addr ADDR]\n"
            "           [--client-name NAME] [--helo NAME] [--from ADDR] [--timeout MS]\n"
            "           [--stop-at eoh|eom] [--show-headers] [--stats] [--quickack]\n"
            "           [--escapes] [--reuse] [--strict] [--verbose] [--auth USER]\n"
            "           [--client-port N] FILE|-\n"
            "       milter_client --connect SPEC [--timeout MS] --raw FILE\n"
            "FILE: one message per line, RCPT[,RCPT...]<TAB>Name: value[<TAB>Name: value...]\n");
    exit(why != NULL ? 2 : 0);
}

/* --raw: FILE's bytes as they are, then the replies until the milter
 * closes. */
static int
run_raw(FILE *in)
{
    struct conn c;
    memset(&c, 0, sizeof c);
    c.rbuf = xrealloc(NULL, RBUF_SIZE);
    if ((c.fd = open_socket(opt.spec)) < 0)
        die(1, "cannot connect to %s: %s", opt.spec, io_err);
    unsigned char buf[8192];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if ((total += n) > 4u * PKT_MAX)
            die(2, "%s: more than %u bytes", opt.file, 4u * PKT_MAX);
        out_bytes(&c, buf, n);
    }
    if (ferror(in))
        die(2, "%s: %s", opt.file, strerror(errno));
    int64_t deadline = deadline_from_now();
    enum io r = conn_flush(&c, deadline);
    shutdown(c.fd, SHUT_WR);
    if (r == IO_OK || r == IO_EOF) {
        for (;;) {
            unsigned char rc;
            const unsigned char *data;
            size_t len;
            if ((r = read_packet(&c, deadline, &rc, &data, &len)) != IO_OK)
                break;
            if (rc > 0x20 && rc < 0x7f)
                printf("reply %c\n", rc);
            else
                printf("reply 0x%02x\n", rc);
        }
    }
    int status = 0;
    if (r == IO_EOF)
        printf("closed\n");
    else if (r == IO_TIMEOUT)
        printf("open\n");
    else {
        printf("error %s\n", io_err);
        status = 1;
    }
    conn_close(&c);
    free(c.rbuf);
    free(c.wbuf);
    if (in != stdin)
        fclose(in);
    return status;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static double
percentile_ms(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t) (p * (double) n + 0.999999);   /* nearest rank */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double) sorted[rank - 1] / 1e6;
}

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        if (strcmp(a, "--connect") == 0)
            target = &opt.spec;
        else if (strcmp(a, "--client-addr") == 0)
            target = &opt.client_addr;
        else if (strcmp(a, "--client-name") == 0)
            target = &opt.client_name;
        else if (strcmp(a, "--helo") == 0)
            target = &opt.helo;
        else if (strcmp(a, "--from") == 0)
            target = &opt.from;
        else if (strcmp(a, "--auth") == 0)
            target = &opt.auth;
        if (target != NULL) {
            if (++i >= argc)
                usage("an option needs a value");
            *target = argv[i];
        } else if (strcmp(a, "--timeout") == 0) {
            char *end;
            if (++i >= argc)
                usage("--timeout needs a value");
            errno = 0;
            opt.timeout_ms = strtol(argv[i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || opt.timeout_ms < 1 ||
                opt.timeout_ms > 86400000)
                usage("--timeout: milliseconds, 1 to 86400000");
        } else if (strcmp(a, "--client-port") == 0) {
            char *end;
            if (++i >= argc)
                usage("--client-port needs a value");
            errno = 0;
            long port = strtol(argv[i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || port < 0 || port > 65535)
                usage("--client-port: 0 to 65535");
            opt.client_port = (unsigned) port;
        } else if (strcmp(a, "--stop-at") == 0) {
            if (++i >= argc)
                usage("--stop-at needs eoh or eom");
            if (strcmp(argv[i], "eoh") == 0)
                opt.stop_eoh = 1;
            else if (strcmp(argv[i], "eom") == 0)
                opt.stop_eoh = 0;
            else
                usage("--stop-at: eoh or eom");
        } else if (strcmp(a, "--show-headers") == 0)
            opt.show_headers = 1;
        else if (strcmp(a, "--stats") == 0)
            opt.stats = 1;
        else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
            opt.verbose = 1;
        else if (strcmp(a, "--quickack") == 0)
            opt.quickack = 1;
        else if (strcmp(a, "--escapes") == 0)
            opt.escapes = 1;
        else if (strcmp(a, "--reuse") == 0)
            opt.reuse = 1;
        else if (strcmp(a, "--strict") == 0)
            opt.strict = 1;
        else if (strcmp(a, "--raw") == 0)
            opt.raw = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            usage(NULL);
        else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "milter_client: unknown option %s\n", a);
            usage("");
        } else if (opt.file != NULL)
            usage("only one FILE");
        else
            opt.file = a;
    }
    if (opt.spec == NULL)
        usage("--connect is required");
    if (opt.file == NULL)
        usage("FILE (or - for standard input) is required");
    {
        const char *path;
        char host[256], port[32];
        if (parse_spec(opt.spec, &path, host, port) != 0)
            usage("--connect: inet:HOST:PORT or unix:PATH");
    }
    for (const char **s = (const char *[]) { opt.client_addr, opt.helo, opt.from,
                                              opt.auth ? opt.auth : "",
                                              opt.client_name ? opt.client_name : "", NULL };
         *s != NULL; s++)
        if (strlen(*s) > 255)
            usage("--client-addr, --client-name, --helo, --from and --auth: at most 255 bytes");

    FILE *in = strcmp(opt.file, "-") == 0 ? stdin : fopen(opt.file, "r");
    if (in == NULL) {
        fprintf(stderr, "milter_client: %s: %s\n", opt.file, strerror(errno));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (opt.raw)
        return run_raw(in);

    struct conn c;
    memset(&c, 0, sizeof c);
    c.fd = -1;
    c.rbuf = xrealloc(NULL, RBUF_SIZE);
    sb_init(&c.conn_answer.reply, 4 * DATA_MAX + 16);
    int opened = conn_open(&c);
    if (opened != 0)
        die(1, "%s %s: %s", opened == -1 ? "cannot connect to" : "handshake failed with",
            opt.spec, io_err);

    char *line = xrealloc(NULL, LINE_MAX_BYTES + 2);
    struct message m = { 0 };
    struct answer ans;
    struct sbuf mods;
    sb_init(&ans.reply, 4 * DATA_MAX + 16);
    sb_init(&mods, MODS_TEXT_MAX);
    unsigned long count[A_COUNT] = { 0 }, lineno = 0, messages = 0;
    int64_t *lat = NULL;
    size_t lat_cap = 0;
    int status = 0;
    int64_t t_start = now_ns();

    for (;;) {
        int got_line = read_line(in, line);
        if (got_line == 0)
            break;
        lineno++;
        if (got_line < 0)
            die(2, "%s:%lu: line longer than %u bytes", opt.file, lineno, LINE_MAX_BYTES);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        const char *why = NULL;
        if (parse_line(line, &m, &why) != 0)
            die(2, "%s:%lu: %s", opt.file, lineno, why);

        int64_t t0 = now_ns();
        int retried = 0;
        enum io r = IO_OK;
        for (;;) {
            int got = 0;
            if (c.decided) {
                ans.act = c.conn_answer.act;
                sb_reset(&ans.reply);
                sb_str(&ans.reply, sb_text(&c.conn_answer.reply));
                sb_reset(&mods);
                break;
            }
            if (c.fd < 0 && (opened = conn_open(&c)) != 0)
                die(1, "line %lu: %s %s: %s", lineno,
                    opened == -1 ? "cannot reconnect to" : "handshake failed with", opt.spec,
                    io_err);
            if (c.decided)
                continue;
            if (opt.reuse && c.messages > 0) {
                /* the next client on this connection */
                pkt_begin(&c, C_QUIT_NC);
                pkt_end(&c);
                if ((r = conn_hello(&c)) != IO_OK)
                    break;
                if (c.decided)
                    continue;
            }
            unsigned long before = c.messages;
            t0 = now_ns();
            r = run_message(&c, &m, lineno, &ans, &mods, &got);
            if (r == IO_EOF && !got && before > 0 && !retried) {
                /* The milter closed an idle connection: try again afresh. */
                if (opt.verbose)
                    fprintf(stderr, "milter_client: line %lu: %s; reconnecting\n", lineno,
                            io_err);
                conn_close(&c);
                retried = 1;
                continue;
            }
            break;
        }
        int64_t t1 = now_ns();
        if (r != IO_OK) {
            const char *where = io_err;
            char buf[700];
            if (r == IO_TIMEOUT) {
                snprintf(buf, sizeof buf, "no answer within %ld ms", opt.timeout_ms);
                where = buf;
            }
            ans.act = r == IO_TIMEOUT ? A_TIMEOUT : A_ERROR;
            sb_reset(&ans.reply);
            sb_str(&ans.reply, where);
            conn_close(&c);
            status = 1;
        } else if (ans.act == A_SHUTDOWN || ans.act == A_CONNFAIL)
            conn_close(&c);

        printf("%lu\t%s\t%s\n", lineno, act_names[ans.act], sb_text(&ans.reply));
        if (opt.show_headers && mods.len > 0)
            fputs(mods.p, stdout);
        if (ferror(stdout))
            die(1, "standard output: %s", strerror(errno));
        count[ans.act]++;
        if (messages == lat_cap) {
            lat_cap = lat_cap ? lat_cap * 2 : 1024;
            lat = xrealloc(lat, lat_cap * sizeof *lat);
        }
        lat[messages++] = t1 - t0;
    }
    if (ferror(in))
        die(2, "%s: %s", opt.file, strerror(errno));
    int64_t t_end = now_ns();

    if (c.fd >= 0) {
        pkt_begin(&c, C_QUIT);
        pkt_end(&c);
        int64_t deadline = deadline_from_now();
        enum io r = conn_flush(&c, deadline);
        unsigned long extra = 0;
        while (opt.strict && r == IO_OK) {
            unsigned char rc;
            const unsigned char *data;
            size_t len;
            if ((r = read_packet(&c, deadline, &rc, &data, &len)) == IO_OK)
                extra++;
        }
        if (opt.strict && (extra > 0 || r != IO_EOF)) {
            fprintf(stderr, "milter_client: after QUIT: %lu unexpected repl%s%s%s\n", extra,
                    extra == 1 ? "y" : "ies", r == IO_EOF ? "" : "; then ",
                    r == IO_EOF ? "" : r == IO_TIMEOUT ? "the connection stayed open" : io_err);
            status = 1;
        }
        conn_close(&c);
    }
    if (fflush(stdout) != 0)
        die(1, "standard output: %s", strerror(errno));

    if (opt.stats) {
        double secs = (double) (t_end - t_start) / 1e9;
        if (lat != NULL)
            qsort(lat, messages, sizeof *lat, cmp_i64);
        fprintf(stderr,
                "messages %lu accepted %lu tempfail %lu reject %lu discard %lu other %lu "
                "timeout %lu error %lu connections %lu seconds %.3f rate %.1f/s p50_ms %.3f "
                "p99_ms %.3f\n",
                messages, count[A_ACCEPT] + count[A_CONTINUE], count[A_TEMPFAIL],
                count[A_REJECT], count[A_DISCARD],
                count[A_REPLYCODE] + count[A_SHUTDOWN] + count[A_CONNFAIL], count[A_TIMEOUT],
                count[A_ERROR], connections, secs, secs > 0 ? (double) messages / secs : 0.0,
                percentile_ms(lat, messages, 0.50), percentile_ms(lat, messages, 0.99));
    }
    free(lat);
    free(line);
    free(m.rcpt);
    free(m.rcpt_len);
    free(m.hdr);
    free(ans.reply.p);
    free(mods.p);
    free(c.conn_answer.reply.p);
    free(c.rbuf);
    free(c.wbuf);
    if (in != stdin)
        fclose(in);
    return status;
}
