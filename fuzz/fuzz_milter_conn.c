/*
 * fuzz_milter_conn.c - libFuzzer target for postaged's own milter protocol
 * (policy/frontends/milter_conn.c over milter_wire.c): the input is what an
 * MTA sends on one connection, written whole into a socketpair whose
 * sending half is then closed, and pd_milter_conn_serve reads it to the
 * end, as one connection thread of postaged would.
 *
 * The filter answers from what it is given (a recipient starting with 'r'
 * is rejected with a reply text, 't' tempfailed, 'd' discarded, 'a'
 * accepted; a header named "X-R" is refused, so the refusal at a stage
 * negotiated without a reply is kept for the next), looks macros up at
 * MAIL and end of message, and asks for every header change and a
 * quarantine at end of message.  Invariants (abort on failure): callbacks
 * come in the protocol's order (a client is connected before HELO, MAIL,
 * RCPT...; a message is open before RCPT, headers, end of headers, body
 * and end of message), every string handed over is within its packet,
 * and each connect is closed exactly once before the connection's
 * private data is freed.  ASan catches any read past a packet.
 *
 * The input is at most 16 KiB (every reply is small, so all of them fit
 * the socket's buffer and the serving never waits on the test).
 *
 * Dictionary: fuzz/milter_conn.dict.
 *
 * Links with: policy/frontends/milter_conn.c policy/frontends/milter_wire.c
 * (pd_log is this file's: it formats each line, so that its arguments are
 * read, and prints nothing).
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "policy/base/log.h"
#include "policy/frontends/milter_conn.h"
#include "policy/frontends/milter_wire.h"

#define INPUT_MAX 16384

struct state {
    int connected, in_message, opened, closes;
};

#define CHECK(c)                                                                               \
    do {                                                                                       \
        if (!(c))                                                                              \
            abort();                                                                           \
    } while (0)

static void *
f_open(void)
{
    struct state *s = calloc(1, sizeof *s);
    if (s != NULL)
        s->opened = 1;
    return s;
}

static enum pd_mstat
f_connect(struct pd_milter_conn *c, void *p, const char *hostname, const char *address)
{
    struct state *s = p;
    (void) c;
    CHECK(!s->connected);
    CHECK(strlen(hostname) < PD_MW_DATA_MAX && strlen(address) < 64);
    s->connected = 1;
    s->in_message = 0;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_helo(struct pd_milter_conn *c, void *p, const char *helo)
{
    struct state *s = p;
    (void) c;
    CHECK(s->connected && strlen(helo) < PD_MW_DATA_MAX);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_envfrom(struct pd_milter_conn *c, void *p, const char **argv, int argc)
{
    struct state *s = p;
    CHECK(s->connected && argc >= 0 && argv[argc] == NULL);
    for (int i = 0; i < argc; i++)
        CHECK(strlen(argv[i]) < PD_MW_DATA_MAX);
    const char *v = pd_mconn_macro(c, "{auth_authen}");
    CHECK(v == NULL || strlen(v) < PD_MW_DATA_MAX);
    s->in_message = 1;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_envrcpt(struct pd_milter_conn *c, void *p, const char **argv, int argc)
{
    struct state *s = p;
    CHECK(s->connected && s->in_message && argv[argc] == NULL);
    if (argc == 0)
        return PD_MS_CONTINUE;
    const char *line = argv[0];
    switch (argv[0][0]) {
    case 'r': pd_mconn_set_reply(c, "550", "5.7.1", &line, argv[0][1] == '\0' ? 0 : 1);
              return PD_MS_REJECT;
    case 't': pd_mconn_set_reply(c, "451", NULL, &line, 1); return PD_MS_TEMPFAIL;
    case 'd': return PD_MS_DISCARD;
    case 'a': return PD_MS_ACCEPT;
    }
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_header(struct pd_milter_conn *c, void *p, const char *name, const char *value)
{
    struct state *s = p;
    CHECK(s->connected && s->in_message);
    CHECK(strlen(name) + strlen(value) < PD_MW_DATA_MAX);
    if (strcmp(name, "X-R") == 0) {
        const char *lines[2] = { value, "second" };
        pd_mconn_set_reply(c, "554", "5.7.1", lines, 2);
        return PD_MS_REJECT;
    }
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_eoh(struct pd_milter_conn *c, void *p)
{
    struct state *s = p;
    (void) c;
    CHECK(s->connected && s->in_message);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_body(struct pd_milter_conn *c, void *p, const unsigned char *d, size_t len)
{
    struct state *s = p;
    (void) c;
    CHECK(s->connected && s->in_message && len <= PD_MW_DATA_MAX);
    if (len > 0) {
        volatile unsigned char ends = d[0] ^ d[len - 1]; /* ASan: inside the packet */
        (void) ends;
    }
    return PD_MS_CONTINUE;
}

static enum pd_mstat
f_eom(struct pd_milter_conn *c, void *p)
{
    struct state *s = p;
    CHECK(s->connected && s->in_message);
    const char *i = pd_mconn_macro(c, "i");
    CHECK(i == NULL || strlen(i) < PD_MW_DATA_MAX);
    pd_mconn_chgheader(c, "X-Postage-Result", 1, NULL);
    pd_mconn_insheader(c, 0, "X-Fuzz", i ? i : "none");
    pd_mconn_quarantine(c, "fuzz");
    s->in_message = 0;
    return PD_MS_CONTINUE;
}

static void
f_abort(struct pd_milter_conn *c, void *p)
{
    struct state *s = p;
    (void) c;
    CHECK(s->connected);
    s->in_message = 0;
}

static void
f_close(struct pd_milter_conn *c, void *p)
{
    struct state *s = p;
    (void) c;
    CHECK(s->connected);
    s->connected = 0;
    s->in_message = 0;
    s->closes++;
}

static void
f_free(void *p)
{
    struct state *s = p;
    CHECK(s->opened && !s->connected);
    free(s);
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

void
pd_log(enum pd_log_level level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    (void) level;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int stop;
    int sv[2];
    if (size > INPUT_MAX || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    /* A bound on any wait, should the buffers ever not hold everything. */
    struct timeval tv = { 1, 0 };
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(sv[0], data + done, size - done);
        if (n <= 0)
            break;
        done += (size_t) n;
    }
    shutdown(sv[0], SHUT_WR);
    pd_milter_conn_serve(sv[1], 0, "fuzz", &filter, &stop);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
