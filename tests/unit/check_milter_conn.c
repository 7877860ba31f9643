/*
 * check_milter_conn.c - unit tests of postaged's own milter protocol
 * (policy/frontends/milter_conn.c over milter_wire.c), driven over a
 * socketpair with a filter of the test's: negotiation (no-reply stages
 * for the callbacks that always continue, none for those that may
 * refuse, only the flags the MTA offers), no reply sent for a stage
 * negotiated without one (the connection must close after QUIT with
 * nothing more to read), macros per stage and cleared with the message,
 * replies (REPLYCODE only in the verdict's class, smfi_setmlreply's
 * multi-line form), a header's refusal given at end of headers, the end
 * of message's changes before its verdict, QUIT_NC and a new CONNECT, and
 * hostile input (oversized, zero, truncated, out of order, silence), each
 * ending the connection.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "policy/frontends/milter_conn.h"
#include "policy/frontends/milter_wire.h"
#include "tests/unit/check_main.h"

/* ---- the test's filter ---------------------------------------------------- */

static struct {
    int opened, closed, freed, aborted, connects;
    char hostname[64], address[64], helo[64], from[64], auth[64], queue_id[64];
    int argc;
    int auth_seen;
} seen;

static int token;

static void *
f_open(void)
{
    seen.opened++;
    return &token;
}

static enum pd_mstat
f_connect(struct pd_milter_conn *c, void *p, const char *hostname, const char *address)
{
    (void) c;
    ck_assert_ptr_eq(p, &token);
    seen.connects++;
    snprintf(seen.hostname, sizeof seen.hostname, "%s", hostname);
    snprintf(seen.address, sizeof seen.address, "%s", address);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_helo(struct pd_milter_conn *c, void *p, const char *helo)
{
    (void) c;
    (void) p;
    snprintf(seen.helo, sizeof seen.helo, "%s", helo);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_envfrom(struct pd_milter_conn *c, void *p, const char **argv, int argc)
{
    (void) p;
    seen.argc = argc;
    snprintf(seen.from, sizeof seen.from, "%s", argc > 0 ? argv[0] : "");
    const char *a = pd_mconn_macro(c, "{auth_authen}");
    seen.auth_seen = a != NULL;
    snprintf(seen.auth, sizeof seen.auth, "%s", a ? a : "");
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_envrcpt(struct pd_milter_conn *c, void *p, const char **argv, int argc)
{
    (void) p;
    ck_assert_int_ge(argc, 1);
    if (strcmp(argv[0], "<multi>") == 0) {
        const char *lines[] = { "first", "second" };
        ck_assert_int_eq(pd_mconn_set_reply(c, "451", "4.7.1", lines, 2), 0);
        return PD_MS_TEMPFAIL;
    }
    if (strcmp(argv[0], "<class>") == 0) {
        /* a 4xx text with a reject: libmilter sends a plain reject */
        const char *line = "not this";
        ck_assert_int_eq(pd_mconn_set_reply(c, "451", "4.7.1", &line, 1), 0);
        return PD_MS_REJECT;
    }
    if (strcmp(argv[0], "<bare>") == 0) {
        ck_assert_int_eq(pd_mconn_set_reply(c, "550", "5.1.1", NULL, 0), 0);
        return PD_MS_REJECT;
    }
    /* no header changes outside end of message */
    ck_assert_int_ne(pd_mconn_insheader(c, 0, "X-No", "no"), 0);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_header(struct pd_milter_conn *c, void *p, const char *name, const char *value)
{
    (void) p;
    (void) value;
    if (strcmp(name, "X-Refuse") == 0) {
        const char *line = "refused at a header";
        pd_mconn_set_reply(c, "554", "5.7.1", &line, 1);
        return PD_MS_REJECT;
    }
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_eoh(struct pd_milter_conn *c, void *p)
{
    (void) c;
    (void) p;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_body(struct pd_milter_conn *c, void *p, const unsigned char *d, size_t len)
{
    (void) c;
    (void) p;
    (void) d;
    (void) len;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_eom(struct pd_milter_conn *c, void *p)
{
    (void) p;
    const char *i = pd_mconn_macro(c, "i");
    snprintf(seen.queue_id, sizeof seen.queue_id, "%s", i ? i : "");
    ck_assert_int_eq(pd_mconn_chgheader(c, "X-Old", 2, NULL), 0);
    ck_assert_int_eq(pd_mconn_insheader(c, 0, "X-New", "value"), 0);
    ck_assert_int_eq(pd_mconn_quarantine(c, "held"), 0);
    ck_assert_int_ne(pd_mconn_insheader(c, 0, "", "empty name"), 0);
    return PD_MS_ACCEPT;
}

static void
f_abort(struct pd_milter_conn *c, void *p)
{
    (void) c;
    (void) p;
    seen.aborted++;
}

static void
f_close(struct pd_milter_conn *c, void *p)
{
    (void) c;
    (void) p;
    seen.closed++;
}

static void
f_free(void *p)
{
    ck_assert_ptr_eq(p, &token);
    seen.freed++;
}

static const struct pd_milter_filter filter = {
    .actions = PD_MWA_ADDHDRS | PD_MWA_CHGHDRS | PD_MWA_QUARANTINE,
    .answered = PD_MWP_NR_MAIL | PD_MWP_NR_RCPT | PD_MWP_NR_EOH,
    .open = f_open,
    .connect = f_connect,
    .helo = f_helo,
    .envfrom = f_envfrom,
    .envrcpt = f_envrcpt,
    .header = f_header,
    .eoh = f_eoh,
    .body = f_body,
    .eom = f_eom,
    .abort = f_abort,
    .close = f_close,
    .free = f_free,
};

/* ---- the MTA side ----------------------------------------------------------- */

struct served {
    int fd;
    pthread_t tid;
};
static int stop_flag;
static const struct pd_milter_filter *serving = &filter;

static void *
serve_thread(void *p)
{
    struct served *s = p;
    pd_milter_conn_serve(s->fd, 0, "test", serving, &stop_flag);
    close(s->fd);
    return NULL;
}

/* Start serving one end of a socketpair; returns the MTA's end.  The
 * milter's end waits at most `timeout_ms` for each packet. */
static int
start(struct served *s, int timeout_ms)
{
    int sv[2];
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct timeval mta = { 10, 0 };
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &mta, sizeof mta);
    s->fd = sv[1];
    ck_assert_int_eq(pthread_create(&s->tid, NULL, serve_thread, s), 0);
    return sv[0];
}

static void
send_raw(int fd, const void *p, size_t n)
{
    ck_assert_int_eq(write(fd, p, n), (ssize_t) n);
}

static void
send_pkt(int fd, char cmd, const void *data, size_t len)
{
    unsigned char h[5];
    pd_mw_put32(h, (uint32_t) len + 1);
    h[4] = (unsigned char) cmd;
    send_raw(fd, h, 5);
    if (len > 0)
        send_raw(fd, data, len);
}

/* One reply: its command, its data in buf (NUL-terminated); -1 at EOF. */
static int
read_full(int fd, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t) r;
    }
    return 0;
}

static int
read_pkt(int fd, unsigned char *buf, size_t size, size_t *len)
{
    unsigned char h[5];
    if (read_full(fd, h, 5) != 0)
        return -1;
    uint32_t n = pd_mw_get32(h);
    ck_assert_uint_ge(n, 1);
    ck_assert_uint_lt(n, size);
    ck_assert_int_eq(read_full(fd, buf, n - 1), 0);
    buf[n - 1] = '\0';
    *len = n - 1;
    return h[4];
}

static void
expect(int fd, char cmd, const char *text)
{
    unsigned char buf[1024];
    size_t len;
    int got = read_pkt(fd, buf, sizeof buf, &len);
    ck_assert_int_eq(got, (unsigned char) cmd);
    if (text != NULL) {
        ck_assert_uint_eq(len, strlen(text) + 1);
        ck_assert_str_eq((char *) buf, text);
    }
}

/* After QUIT: the milter closes, with nothing more sent. */
static void
expect_closed(int fd, struct served *s)
{
    unsigned char buf[1024];
    size_t len;
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), -1);
    pthread_join(s->tid, NULL);
    close(fd);
    ck_assert_int_eq(seen.freed, 1);
}

static void
optneg(int fd, uint32_t version, uint32_t actions, uint32_t proto)
{
    unsigned char d[12];
    pd_mw_put32(d, version);
    pd_mw_put32(d + 4, actions);
    pd_mw_put32(d + 8, proto);
    send_pkt(fd, PD_MWC_OPTNEG, d, sizeof d);
}

#define STR(s) s, sizeof s   /* a literal with its NUL */

static const unsigned char connect4[] = "[192.0.2.1]\0" "4\x01\x02" "192.0.2.1";

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_conversation)
{
    struct served s;
    unsigned char buf[256];
    size_t len;
    int fd = start(&s, 10000);

    optneg(fd, 6, 0x1FF, 0x1FFFFF);
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), PD_MWC_OPTNEG);
    ck_assert_uint_eq(len, 12);
    ck_assert_uint_eq(pd_mw_get32(buf), 6);
    ck_assert_uint_eq(pd_mw_get32(buf + 4), filter.actions);
    uint32_t proto = pd_mw_get32(buf + 8);
    ck_assert_uint_eq(proto, PD_MWP_NR_CONN | PD_MWP_NR_HELO | PD_MWP_NR_HDR | PD_MWP_NR_BODY |
                                 PD_MWP_NODATA | PD_MWP_NOUNKNOWN | PD_MWP_NR_DATA |
                                 PD_MWP_NR_UNKN);

    /* connect and HELO: no reply; MAIL: one, with its macro */
    send_pkt(fd, PD_MWC_MACRO, STR("Cj\0mx.test"));
    send_pkt(fd, PD_MWC_CONNECT, connect4, sizeof connect4);
    send_pkt(fd, PD_MWC_HELO, STR("helo.test"));
    send_pkt(fd, PD_MWC_MACRO, STR("M{auth_authen}\0bob"));
    send_pkt(fd, PD_MWC_MAIL, STR("<a@example.org>\0SIZE=10"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    ck_assert_str_eq(seen.hostname, "[192.0.2.1]");
    ck_assert_str_eq(seen.address, "192.0.2.1");
    ck_assert_str_eq(seen.helo, "helo.test");
    ck_assert_str_eq(seen.from, "<a@example.org>");
    ck_assert_int_eq(seen.argc, 2);
    ck_assert_str_eq(seen.auth, "bob");

    /* replies at RCPT */
    send_pkt(fd, PD_MWC_RCPT, STR("<multi>"));
    expect(fd, PD_MWR_REPLYCODE, "451-4.7.1 first\r\n451 4.7.1 second");
    send_pkt(fd, PD_MWC_RCPT, STR("<class>"));
    expect(fd, PD_MWR_REJECT, NULL);
    send_pkt(fd, PD_MWC_RCPT, STR("<bare>"));
    expect(fd, PD_MWR_REPLYCODE, "550 5.1.1");
    send_pkt(fd, PD_MWC_RCPT, STR("<ok>"));
    expect(fd, PD_MWR_CONTINUE, NULL);

    /* a header's refusal, given at end of headers */
    send_pkt(fd, PD_MWC_MACRO, STR("Ti\0QID1"));
    send_pkt(fd, PD_MWC_HEADER, STR("Subject\0hi"));
    send_pkt(fd, PD_MWC_HEADER, STR("X-Refuse\0yes"));
    send_pkt(fd, PD_MWC_HEADER, STR("X-After\0more"));
    send_pkt(fd, PD_MWC_EOH, NULL, 0);
    expect(fd, PD_MWR_REPLYCODE, "554 5.7.1 refused at a header");
    send_pkt(fd, PD_MWC_ABORT, NULL, 0);

    /* the next message: the MAIL macros went with the last one */
    send_pkt(fd, PD_MWC_MAIL, STR("<c@example.org>"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    ck_assert_int_eq(seen.aborted, 1);
    ck_assert_int_eq(seen.auth_seen, 0);
    send_pkt(fd, PD_MWC_RCPT, STR("<ok>"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_HEADER, STR("Subject\0two"));
    send_pkt(fd, PD_MWC_EOH, NULL, 0);
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_BODY, STR("body"));
    send_pkt(fd, PD_MWC_MACRO, STR("Ei\0QID2"));
    send_pkt(fd, PD_MWC_BODYEOB, NULL, 0);
    static const unsigned char chg[] = "\0\0\0\2X-Old\0";
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), PD_MWR_CHGHEADER);
    ck_assert_uint_eq(len, sizeof chg);   /* index, name, empty value */
    ck_assert_int_eq(memcmp(buf, chg, sizeof chg), 0);
    static const unsigned char ins[] = "\0\0\0\0X-New\0value";
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), PD_MWR_INSHEADER);
    ck_assert_uint_eq(len, sizeof ins);
    ck_assert_int_eq(memcmp(buf, ins, sizeof ins), 0);
    expect(fd, PD_MWR_QUARANTINE, "held");
    expect(fd, PD_MWR_ACCEPT, NULL);
    ck_assert_str_eq(seen.queue_id, "QID2");
    ck_assert_int_eq(seen.aborted, 1); /* end of message is not an abort */

    /* connection reuse: a new client on the same connection */
    send_pkt(fd, PD_MWC_QUIT_NC, NULL, 0);
    static const unsigned char connect6[] = "host6.test\0" "6\0\0" "IPv6:2001:DB8::1";
    send_pkt(fd, PD_MWC_CONNECT, connect6, sizeof connect6);
    send_pkt(fd, PD_MWC_MAIL, STR("<d@example.org>"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    ck_assert_int_eq(seen.closed, 1);
    ck_assert_int_eq(seen.connects, 2);
    ck_assert_str_eq(seen.address, "2001:db8::1");
    ck_assert_str_eq(seen.hostname, "host6.test");
    send_pkt(fd, PD_MWC_QUIT, NULL, 0);
    expect_closed(fd, &s);
    ck_assert_int_eq(seen.opened, 1);
    ck_assert_int_eq(seen.closed, 2);
    ck_assert_int_eq(seen.aborted, 2); /* the open message, at QUIT */
}
END_TEST

/* An MTA without the no-reply flags: every stage is answered, and a
 * header's refusal at once. */
START_TEST(test_no_nr_offered)
{
    struct served s;
    unsigned char buf[256];
    size_t len;
    int fd = start(&s, 10000);

    optneg(fd, 6, 0x1FF, 0x3FF & ~PD_MWP_NR_HDR);   /* the NO* flags only */
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), PD_MWC_OPTNEG);
    ck_assert_uint_eq(pd_mw_get32(buf + 8), PD_MWP_NODATA | PD_MWP_NOUNKNOWN);
    send_pkt(fd, PD_MWC_CONNECT, connect4, sizeof connect4);
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_HELO, STR("helo.test"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_MAIL, STR("<a@example.org>"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_RCPT, STR("<ok>"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_DATA, NULL, 0);
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_HEADER, STR("Subject\0hi"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_HEADER, STR("X-Refuse\0yes"));
    expect(fd, PD_MWR_REPLYCODE, "554 5.7.1 refused at a header");
    send_pkt(fd, PD_MWC_ABORT, NULL, 0);
    send_pkt(fd, PD_MWC_QUIT, NULL, 0);
    expect_closed(fd, &s);
}
END_TEST

/* A filter with no stage callback (bench/null_milter.c's floor): every
 * stage is skipped, MAIL too, so a message's first command is a later
 * one, and end of message is still answered. */
static const struct pd_milter_filter eom_only = { .open = f_open, .free = f_free };

START_TEST(test_every_stage_skipped)
{
    struct served s;
    unsigned char buf[256];
    size_t len;
    serving = &eom_only;
    int fd = start(&s, 10000);
    optneg(fd, 6, 0x1FF, 0x1FFFFF);
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), PD_MWC_OPTNEG);
    uint32_t skipped = PD_MWP_NOCONNECT | PD_MWP_NOHELO | PD_MWP_NOMAIL | PD_MWP_NORCPT |
                       PD_MWP_NOBODY | PD_MWP_NOHDRS | PD_MWP_NOEOH | PD_MWP_NOUNKNOWN |
                       PD_MWP_NODATA;
    ck_assert_uint_eq(pd_mw_get32(buf + 4), 0);
    ck_assert_uint_eq(pd_mw_get32(buf + 8) & skipped, skipped);
    /* Postfix sends nothing for the skipped stages: end of message comes
     * first, twice (two messages), then the client leaves */
    send_pkt(fd, PD_MWC_BODYEOB, NULL, 0);
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_MACRO, STR("Ei\0QID"));
    send_pkt(fd, PD_MWC_BODYEOB, NULL, 0);
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_QUIT, NULL, 0);
    expect_closed(fd, &s);
    serving = &filter;
}
END_TEST

/* Each hostile input ends the connection, without a reply. */
static void
hostile(const void *bytes, size_t n, int optneg_first, int half_close)
{
    struct served s;
    unsigned char buf[256];
    size_t len;
    int fd = start(&s, 10000);
    if (optneg_first) {
        optneg(fd, 6, 0x1FF, 0x1FFFFF);
        ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), PD_MWC_OPTNEG);
    }
    send_raw(fd, bytes, n);
    if (half_close)
        shutdown(fd, SHUT_WR);
    expect_closed(fd, &s);
}

START_TEST(test_hostile)
{
    hostile("\x7f\xff\xff\xffO", 5, 0, 0);                       /* 2 GB         */
    hostile("\0\1\0\2B", 5, 1, 0);                               /* 64 KiB + 2   */
    hostile("\0\0\0\0", 4, 0, 0);                                /* zero         */
    hostile("\0\0\0\1Z", 5, 1, 0);                               /* unknown      */
    hostile("\0\0\0\1N", 5, 0, 0);                               /* not OPTNEG   */
    hostile("\0\0\0\5R<a>", 9, 1, 0);                            /* RCPT first   */
    hostile("\0\0\0\x10" "Cabc", 8, 1, 1);                       /* truncated    */
    hostile("\0\0\0\5O\0\0\0\6", 9, 0, 0);                       /* short OPTNEG */
    hostile("\0\0\0\1O", 5, 1, 0);                               /* OPTNEG again */
    hostile("\0\0\0\x0d" "Cx\0" "4\0\0" "1.2.3.4.5", 17, 1, 0);  /* no NUL       */
    hostile("\0\0\0\x0c" "Cx\0" "4\0\0" "1.2.3\0", 16, 1, 0);    /* bad address  */
    hostile("\0\0\0\5" "DCabc", 9, 1, 0);                        /* macro no NUL */
}
END_TEST

/* An MTA that asks for actions it does not offer to allow is refused. */
START_TEST(test_actions_not_offered)
{
    struct served s;
    unsigned char buf[256];
    size_t len;
    int fd = start(&s, 10000);
    optneg(fd, 6, PD_MWA_ADDHDRS, 0x1FFFFF);
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), -1);
    pthread_join(s.tid, NULL);
    close(fd);
    ck_assert_int_eq(seen.connects, 0);
}
END_TEST

/* A silent MTA: the read times out and the connection ends; a client
 * that connected is closed. */
START_TEST(test_silence)
{
    struct served s;
    unsigned char buf[256];
    size_t len;
    int fd = start(&s, 100);
    optneg(fd, 6, 0x1FF, 0x1FFFFF);
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), PD_MWC_OPTNEG);
    send_pkt(fd, PD_MWC_CONNECT, connect4, sizeof connect4);
    expect_closed(fd, &s);
    ck_assert_int_eq(seen.connects, 1);
    ck_assert_int_eq(seen.closed, 1);
}
END_TEST

/* Many small packets in one write, and a full-size body chunk. */
START_TEST(test_framing)
{
    struct served s;
    unsigned char buf[256];
    size_t len;
    int fd = start(&s, 10000);
    optneg(fd, 6, 0x1FF, 0x1FFFFF);
    ck_assert_int_eq(read_pkt(fd, buf, sizeof buf, &len), PD_MWC_OPTNEG);
    send_pkt(fd, PD_MWC_CONNECT, connect4, sizeof connect4);
    send_pkt(fd, PD_MWC_MAIL, STR("<a@example.org>"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    send_pkt(fd, PD_MWC_RCPT, STR("<ok>"));
    expect(fd, PD_MWR_CONTINUE, NULL);
    unsigned char *big = malloc(PD_MW_DATA_MAX);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', PD_MW_DATA_MAX);
    for (int i = 0; i < 3; i++)
        send_pkt(fd, PD_MWC_BODY, big, PD_MW_DATA_MAX);
    free(big);
    send_pkt(fd, PD_MWC_ABORT, NULL, 0);
    send_pkt(fd, PD_MWC_QUIT, NULL, 0);
    expect_closed(fd, &s);
}
END_TEST

START_TEST(test_strings)
{
    const char *out[4];
    ck_assert_int_eq(pd_mw_strings((const unsigned char *) "a\0bc", 5, out, 4), 2);
    ck_assert_str_eq(out[1], "bc");
    ck_assert_int_eq(pd_mw_strings((const unsigned char *) "a\0bc", 4, out, 4), -1);
    ck_assert_int_eq(pd_mw_strings((const unsigned char *) "a\0b\0c", 6, out, 2), -1);
    ck_assert_int_eq(pd_mw_strings((const unsigned char *) "", 0, out, 2), 0);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("milter_conn");
    TCase *t = tcase_create("protocol");
    tcase_add_test(t, test_conversation);
    tcase_add_test(t, test_no_nr_offered);
    tcase_add_test(t, test_every_stage_skipped);
    tcase_add_test(t, test_hostile);
    tcase_add_test(t, test_actions_not_offered);
    tcase_add_test(t, test_silence);
    tcase_add_test(t, test_framing);
    tcase_add_test(t, test_strings);
    suite_add_tcase(s, t);
    return s;
}
