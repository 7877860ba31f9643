/*
 * milter_conn.c - one MTA connection of the milter protocol: negotiation,
 * command order, macros, and replies (milter_conn.h).
 *
 * The command order kept is the one libmilter's state machine allows for
 * what Postfix and Sendmail send: OPTNEG first, then CONNECT, HELO, and per
 * message MAIL, RCPT..., DATA, HEADER..., EOH, BODY..., BODYEOB; ABORT
 * ends a message, QUIT the connection, QUIT_NC the client (a new CONNECT
 * follows on the same connection).  Anything else, and any malformed or
 * oversized packet, is logged and the connection closed: the MTA then
 * applies its milter_default_action, as it does when libmilter aborts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/base/log.h"
#include "policy/frontends/milter_conn.h"
#include "policy/frontends/milter_wire.h"

/* Macro packets are kept per stage: the command each one precedes. */
static const char macro_stages[] = "CHMRTNEU";
#define MACRO_STAGES (sizeof macro_stages - 1)
#define MACRO_FIRST_MESSAGE 2          /* 'M' and after end with the message */
#define ARGS_MAX 128                   /* MAIL and RCPT arguments            */

enum phase { P_NONE = 0, P_MAIL, P_RCPT, P_DATA, P_HDR, P_EOH, P_BODY };
enum state { S_OPTNEG = 0, S_CONNECT, S_READY };

struct pd_milter_conn {
    const struct pd_milter_filter *f;
    void *priv;
    const char *peer;
    enum state state;
    enum phase phase;
    int connected;                     /* connect was called, close is due */
    int in_eom;
    unsigned client_port;              /* from CONNECT; 0: none            */
    uint32_t actions, proto;           /* negotiated                       */
    unsigned char *macros[MACRO_STAGES];
    size_t macro_len[MACRO_STAGES];
    char *reply;                       /* SMFIR_REPLYCODE text, or NULL    */
    enum pd_mstat pending;             /* a refusal at a stage not answered */
    char *pending_reply;
    /* The socket buffers come last: pd_milter_conn_serve zeroes only what
     * is above them, so a new field goes above. */
    struct pd_mw_writer wr;
    struct pd_mw_reader rd;
};

/* A command byte in a log line. */
static const char *
cmd_name(char cmd, char *buf, size_t size)
{
    unsigned char u = (unsigned char) cmd;
    if (isprint(u))
        snprintf(buf, size, "'%c'", cmd);
    else
        snprintf(buf, size, "0x%02x", u);
    return buf;
}

static void
clear_macros(struct pd_milter_conn *c, size_t from)
{
    for (size_t i = from; i < MACRO_STAGES; i++) {
        free(c->macros[i]);
        c->macros[i] = NULL;
        c->macro_len[i] = 0;
    }
}

const char *
pd_mconn_macro(const struct pd_milter_conn *c, const char *name)
{
    /* "i" and "{i}" are one macro, as libmilter takes them. */
    size_t nlen = strlen(name);
    if (nlen >= 2 && name[0] == '{' && name[nlen - 1] == '}') {
        name++;
        nlen -= 2;
    }
    for (size_t s = MACRO_STAGES; s-- > 0;) {
        if (c->macros[s] == NULL)
            continue;
        const unsigned char *p = c->macros[s], *end = p + c->macro_len[s];
        while (p < end) {
            const char *k = (const char *) p;
            size_t klen = strlen(k);
            const char *v = k + klen + 1;
            if ((const unsigned char *) v >= end)
                break;
            const char *kn = k;
            if (klen >= 2 && k[0] == '{' && k[klen - 1] == '}') {
                kn++;
                klen -= 2;
            }
            if (klen == nlen && memcmp(kn, name, nlen) == 0)
                return v;
            p = (const unsigned char *) v + strlen(v) + 1;
        }
    }
    return NULL;
}

int
pd_mconn_set_reply(struct pd_milter_conn *c, const char *code, const char *xcode,
                   const char *const *lines, size_t n)
{
    if (code == NULL || strlen(code) != 3 || (code[0] != '4' && code[0] != '5') ||
        !isdigit((unsigned char) code[1]) || !isdigit((unsigned char) code[2]))
        return -1;
    size_t xlen = xcode ? strlen(xcode) : 0;
    size_t total = 1;
    for (size_t i = 0; i < n || i == 0; i++)
        total += 3 + 1 + xlen + 1 + (i < n ? strlen(lines[i]) : 0) + 2;
    if (total > PD_MW_DATA_MAX)
        return -1;
    char *r = malloc(total);
    if (r == NULL)
        return -1;
    size_t len = 0;
    if (n <= 1) {
        /* smfi_setreply's form: "CODE XCODE TEXT", parts left out when
         * absent. */
        len += (size_t) sprintf(r + len, "%s", code);
        if (xcode != NULL)
            len += (size_t) sprintf(r + len, " %s", xcode);
        if (n == 1)
            len += (size_t) sprintf(r + len, " %s", lines[0]);
    } else {
        /* smfi_setmlreply's: "CODE-XCODE line" CRLF ..., the last with a
         * space. */
        for (size_t i = 0; i < n; i++)
            len += (size_t) sprintf(r + len, "%s%c%s%s%s%s", code, i + 1 < n ? '-' : ' ',
                                    xcode ? xcode : "", xcode ? " " : "", lines[i],
                                    i + 1 < n ? "\r\n" : "");
    }
    free(c->reply);
    c->reply = r;
    return 0;
}

static int
eom_action(struct pd_milter_conn *c, uint32_t action)
{
    return c->in_eom && (c->actions & action) != 0 ? 0 : -1;
}

int
pd_mconn_chgheader(struct pd_milter_conn *c, const char *name, uint32_t index,
                   const char *value)
{
    unsigned char idx[4];
    if (eom_action(c, PD_MWA_CHGHDRS) != 0 || name == NULL || name[0] == '\0')
        return -1;
    pd_mw_put32(idx, index);
    struct pd_mw_part parts[] = { { idx, 4 }, { name, PD_MW_STR },
                                  { value ? value : "", PD_MW_STR } };
    return pd_mw_append(&c->wr, PD_MWR_CHGHEADER, parts, 3);
}

int
pd_mconn_insheader(struct pd_milter_conn *c, uint32_t index, const char *name,
                   const char *value)
{
    unsigned char idx[4];
    if (eom_action(c, PD_MWA_ADDHDRS) != 0 || name == NULL || name[0] == '\0' || value == NULL)
        return -1;
    pd_mw_put32(idx, index);
    struct pd_mw_part parts[] = { { idx, 4 }, { name, PD_MW_STR }, { value, PD_MW_STR } };
    return pd_mw_append(&c->wr, PD_MWR_INSHEADER, parts, 3);
}

int
pd_mconn_quarantine(struct pd_milter_conn *c, const char *reason)
{
    if (eom_action(c, PD_MWA_QUARANTINE) != 0 || reason == NULL || reason[0] == '\0')
        return -1;
    struct pd_mw_part part = { reason, PD_MW_STR };
    return pd_mw_append(&c->wr, PD_MWR_QUARANTINE, &part, 1);
}

int
pd_mconn_addheader(struct pd_milter_conn *c, const char *name, const char *value)
{
    if (eom_action(c, PD_MWA_ADDHDRS) != 0 || name == NULL || name[0] == '\0' || value == NULL)
        return -1;
    struct pd_mw_part parts[] = { { name, PD_MW_STR }, { value, PD_MW_STR } };
    return pd_mw_append(&c->wr, PD_MWR_ADDHEADER, parts, 2);
}

int
pd_mconn_delrcpt(struct pd_milter_conn *c, const char *rcpt)
{
    if (eom_action(c, PD_MWA_DELRCPT) != 0 || rcpt == NULL || rcpt[0] == '\0')
        return -1;
    struct pd_mw_part part = { rcpt, PD_MW_STR };
    return pd_mw_append(&c->wr, PD_MWR_DELRCPT, &part, 1);
}

unsigned
pd_mconn_client_port(const struct pd_milter_conn *c)
{
    return c->client_port;
}

/* Append the answer `st` (with `reply` when its class fits) and send all
 * that is gathered.  Returns 0, or -1 when the socket failed. */
static int
send_answer(struct pd_milter_conn *c, enum pd_mstat st, const char *reply)
{
    char cmd = PD_MWR_CONTINUE;
    switch (st) {
    case PD_MS_CONTINUE: cmd = PD_MWR_CONTINUE; break;
    case PD_MS_ACCEPT: cmd = PD_MWR_ACCEPT; break;
    case PD_MS_DISCARD: cmd = PD_MWR_DISCARD; break;
    case PD_MS_REJECT:
        cmd = reply != NULL && reply[0] == '5' ? PD_MWR_REPLYCODE : PD_MWR_REJECT;
        break;
    case PD_MS_TEMPFAIL:
        cmd = reply != NULL && reply[0] == '4' ? PD_MWR_REPLYCODE : PD_MWR_TEMPFAIL;
        break;
    }
    struct pd_mw_part part = { reply, PD_MW_STR };
    if (pd_mw_append(&c->wr, cmd, &part, cmd == PD_MWR_REPLYCODE) != 0 ||
        pd_mw_flush(&c->wr) != 0)
        return -1;
    return 0;
}

/* Answer a stage: not at all when it was negotiated without a reply (a
 * refusal is then kept for the next answered stage). */
static int
answer(struct pd_milter_conn *c, enum pd_mstat st, uint32_t nr_flag)
{
    char *reply = c->reply;
    c->reply = NULL;
    if (nr_flag != 0 && (c->proto & nr_flag) != 0) {
        if (st != PD_MS_CONTINUE && c->pending == PD_MS_CONTINUE) {
            pd_log(PD_LOG_INFO, "milter: MTA %s: a refusal at a stage that takes no reply; "
                   "given at the next one", c->peer);
            c->pending = st;
            c->pending_reply = reply;
            return 0;
        }
        free(reply);
        return 0;
    }
    int rc = send_answer(c, st, reply);
    free(reply);
    return rc;
}

/* A stage that is answered: with a refusal kept from a stage that was not,
 * that refusal instead of the callback.  Returns 1 when it was given. */
static int
give_pending(struct pd_milter_conn *c, int *rc)
{
    if (c->pending == PD_MS_CONTINUE)
        return 0;
    *rc = send_answer(c, c->pending, c->pending_reply);
    c->pending = PD_MS_CONTINUE;
    free(c->pending_reply);
    c->pending_reply = NULL;
    return 1;
}

static void
end_message(struct pd_milter_conn *c, int call_abort)
{
    if (call_abort && c->phase != P_NONE && c->f->abort != NULL)
        c->f->abort(c, c->priv);
    c->phase = P_NONE;
    c->pending = PD_MS_CONTINUE;
    free(c->pending_reply);
    c->pending_reply = NULL;
    clear_macros(c, MACRO_FIRST_MESSAGE);
}

static void
end_client(struct pd_milter_conn *c)
{
    end_message(c, 1);
    if (c->connected && c->f->close != NULL)
        c->f->close(c, c->priv);
    c->connected = 0;
    clear_macros(c, 0);
}

/* SMFIC_OPTNEG: version, actions, protocol flags offered by the MTA. */
static int
negotiate(struct pd_milter_conn *c, const unsigned char *d, size_t len)
{
    const struct pd_milter_filter *f = c->f;
    if (len < 12) {
        pd_log(PD_LOG_WARNING, "milter: MTA %s: option negotiation of %zu bytes (12 "
               "expected); closing", c->peer, len);
        return -1;
    }
    uint32_t version = pd_mw_get32(d), mta_act = pd_mw_get32(d + 4),
             mta_proto = pd_mw_get32(d + 8);
    if (version < 2) {
        pd_log(PD_LOG_WARNING, "milter: MTA %s: protocol version %u is too old; closing",
               c->peer, (unsigned) version);
        return -1;
    }
    if ((f->actions & ~mta_act) != 0) {
        pd_log(PD_LOG_WARNING, "milter: MTA %s: offers actions 0x%x, postaged needs 0x%x "
               "(the receiving milter: add and change headers, quarantine; the stamping "
               "milter: add headers, delete recipients); closing", c->peer, (unsigned) mta_act,
               (unsigned) f->actions);
        return -1;
    }
    /* Steps without a callback are not sent; stages whose callback always
     * continues are not answered. */
    uint32_t want = 0;
    want |= f->connect ? 0 : PD_MWP_NOCONNECT;
    want |= f->helo ? 0 : PD_MWP_NOHELO;
    want |= f->envfrom ? 0 : PD_MWP_NOMAIL;
    want |= f->envrcpt ? 0 : PD_MWP_NORCPT;
    want |= f->header ? 0 : PD_MWP_NOHDRS;
    want |= f->eoh ? 0 : PD_MWP_NOEOH;
    want |= f->body ? 0 : PD_MWP_NOBODY;
    want |= PD_MWP_NOUNKNOWN | PD_MWP_NODATA | PD_MWP_NR_UNKN | PD_MWP_NR_DATA;
    want |= (PD_MWP_NR_CONN | PD_MWP_NR_HELO | PD_MWP_NR_MAIL | PD_MWP_NR_RCPT |
             PD_MWP_NR_HDR | PD_MWP_NR_EOH | PD_MWP_NR_BODY) & ~f->answered;
    c->actions = f->actions;
    c->proto = want & mta_proto;
    unsigned char out[12];
    pd_mw_put32(out, version < PD_MW_VERSION ? version : PD_MW_VERSION);
    pd_mw_put32(out + 4, c->actions);
    pd_mw_put32(out + 8, c->proto);
    struct pd_mw_part part = { out, sizeof out };
    if (pd_mw_append(&c->wr, PD_MWC_OPTNEG, &part, 1) != 0 || pd_mw_flush(&c->wr) != 0)
        return -1;
    pd_log(PD_LOG_DEBUG, "milter: MTA %s: version %u, actions 0x%x, protocol 0x%x (offered "
           "0x%x)", c->peer, (unsigned) version, (unsigned) c->actions, (unsigned) c->proto,
           (unsigned) mta_proto);
    return 0;
}

static int
macro(struct pd_milter_conn *c, const unsigned char *d, size_t len)
{
    if (len == 0)
        return 0;
    const char *stage = memchr(macro_stages, d[0], MACRO_STAGES);
    if (d[0] == '\0' || stage == NULL)
        return 0; /* a stage we never look at: libmilter ignores it too */
    if (len > 1 && d[len - 1] != '\0') {
        pd_log(PD_LOG_WARNING, "milter: MTA %s: a macro packet that does not end with a "
               "NUL; closing", c->peer);
        return -1;
    }
    size_t s = (size_t) (stage - macro_stages);
    free(c->macros[s]);
    c->macros[s] = NULL;
    c->macro_len[s] = 0;
    if (len > 1) {
        if ((c->macros[s] = malloc(len - 1)) == NULL)
            return -1;
        memcpy(c->macros[s], d + 1, len - 1);
        c->macro_len[s] = len - 1;
    }
    return 0;
}

/* SMFIC_CONNECT: hostname NUL, family, and for '4', '6' and 'L' a port
 * (2 bytes) and an address NUL. */
static int
connect_cmd(struct pd_milter_conn *c, const unsigned char *d, size_t len)
{
    const unsigned char *nul = memchr(d, '\0', len);
    char address[INET6_ADDRSTRLEN] = "";
    if (nul == NULL || nul + 1 >= d + len)
        goto bad;
    const char *hostname = (const char *) d;
    char family = (char) nul[1];
    const unsigned char *p = nul + 2, *end = d + len;
    if (family == '4' || family == '6') {
        if (end - p < 3 || end[-1] != '\0')
            goto bad;
        c->client_port = (unsigned) p[0] << 8 | p[1];
        const char *a = (const char *) p + 2;
        if (family == '6' && strncasecmp(a, "IPv6:", 5) == 0)
            a += 5;
        unsigned char bin[16];
        int af = family == '4' ? AF_INET : AF_INET6;
        if (inet_pton(af, a, bin) != 1 || inet_ntop(af, bin, address, sizeof address) == NULL) {
            pd_log(PD_LOG_WARNING, "milter: MTA %s: connect: the client address is not an "
                   "IPv%c address; closing", c->peer, family);
            return -1;
        }
    }
    if (family != '4' && family != '6')
        c->client_port = 0;
    c->connected = 1;
    c->state = S_READY;
    return answer(c, c->f->connect ? c->f->connect(c, c->priv, hostname, address)
                                   : PD_MS_CONTINUE, PD_MWP_NR_CONN);
bad:
    pd_log(PD_LOG_WARNING, "milter: MTA %s: a malformed connect packet; closing", c->peer);
    return -1;
}

/* The strings of a packet, or -1 (logged). */
static int
strings(struct pd_milter_conn *c, const char *what, const unsigned char *d, size_t len,
        const char **argv, int max)
{
    int n = pd_mw_strings(d, len, argv, max);
    if (n < 0)
        pd_log(PD_LOG_WARNING, "milter: MTA %s: %s: malformed (a string without its NUL, "
               "or more than %d); closing", c->peer, what, max);
    return n;
}

/* Each command: 0 to go on, 1 to end the connection quietly, -1 on error. */
static int
command(struct pd_milter_conn *c, char cmd, const unsigned char *d, size_t len)
{
    const struct pd_milter_filter *f = c->f;
    const char *argv[ARGS_MAX + 1];
    int argc, rc = 0;

    if (cmd == '\0' || strchr("ABCDEHKLMNOQRTU", cmd) == NULL) {
        char name[8];
        pd_log(PD_LOG_WARNING, "milter: MTA %s: unknown command %s; closing", c->peer,
               cmd_name(cmd, name, sizeof name));
        return -1;
    }
    if (cmd == PD_MWC_MACRO)
        return macro(c, d, len);
    if (cmd == PD_MWC_QUIT)
        return 1;
    if (c->state == S_OPTNEG) {
        if (cmd != PD_MWC_OPTNEG)
            goto order;
        if (negotiate(c, d, len) != 0)
            return -1;
        /* CONNECT negotiated away (SMFIP_NOCONNECT): none will come */
        c->state = (c->proto & PD_MWP_NOCONNECT) != 0 ? S_READY : S_CONNECT;
        return 0;
    }
    if (c->state == S_CONNECT) {
        if (cmd == PD_MWC_CONNECT)
            return connect_cmd(c, d, len);
        if (cmd == PD_MWC_ABORT)
            return 0;
        goto order;
    }
    /* MAIL negotiated away (SMFIP_NOMAIL): a message starts with its first
     * command instead. */
    if (c->phase == P_NONE && (c->proto & PD_MWP_NOMAIL) != 0 && strchr("RTLNBE", cmd) != NULL)
        c->phase = P_MAIL;
    switch (cmd) {
    case PD_MWC_HELO:
        if ((argc = strings(c, "helo", d, len, argv, 1)) < 0)
            return -1;
        end_message(c, 1);
        return answer(c, f->helo ? f->helo(c, c->priv, argc ? argv[0] : "") : PD_MS_CONTINUE,
                      PD_MWP_NR_HELO);
    case PD_MWC_MAIL:
        if ((argc = strings(c, "mail", d, len, argv, ARGS_MAX)) < 0)
            return -1;
        argv[argc] = NULL;
        if (c->phase != P_NONE) {
            /* a new message without an abort: the old one is over */
            if (f->abort != NULL)
                f->abort(c, c->priv);
            c->pending = PD_MS_CONTINUE;
            free(c->pending_reply);
            c->pending_reply = NULL;
        }
        c->phase = P_MAIL;
        return answer(c, f->envfrom ? f->envfrom(c, c->priv, argv, argc) : PD_MS_CONTINUE,
                      PD_MWP_NR_MAIL);
    case PD_MWC_RCPT:
        if (c->phase < P_MAIL || c->phase > P_RCPT)
            goto order;
        if ((argc = strings(c, "rcpt", d, len, argv, ARGS_MAX)) < 0)
            return -1;
        argv[argc] = NULL;
        c->phase = P_RCPT;
        if (give_pending(c, &rc))
            return rc;
        return answer(c, f->envrcpt ? f->envrcpt(c, c->priv, argv, argc) : PD_MS_CONTINUE,
                      PD_MWP_NR_RCPT);
    case PD_MWC_DATA:
        if (c->phase < P_MAIL || c->phase > P_DATA)
            goto order;
        c->phase = P_DATA;
        return answer(c, PD_MS_CONTINUE, PD_MWP_NR_DATA);
    case PD_MWC_HEADER:
        if (c->phase < P_MAIL || c->phase > P_HDR)
            goto order;
        if ((argc = strings(c, "header", d, len, argv, 2)) < 0)
            return -1;
        if (argc != 2) {
            pd_log(PD_LOG_WARNING, "milter: MTA %s: a header packet without a name and a "
                   "value; closing", c->peer);
            return -1;
        }
        c->phase = P_HDR;
        return answer(c, f->header ? f->header(c, c->priv, argv[0], argv[1]) : PD_MS_CONTINUE,
                      PD_MWP_NR_HDR);
    case PD_MWC_EOH:
        if (c->phase < P_MAIL || c->phase > P_HDR)
            goto order;
        c->phase = P_EOH;
        if (give_pending(c, &rc))
            return rc;
        return answer(c, f->eoh ? f->eoh(c, c->priv) : PD_MS_CONTINUE, PD_MWP_NR_EOH);
    case PD_MWC_BODY:
    case PD_MWC_BODYEOB:
        if (c->phase < P_MAIL)
            goto order;
        c->phase = P_BODY;
        if (len > 0 || cmd == PD_MWC_BODY) {
            enum pd_mstat st = f->body ? f->body(c, c->priv, d, len) : PD_MS_CONTINUE;
            if (cmd == PD_MWC_BODY)
                return answer(c, st, PD_MWP_NR_BODY);
            if (st != PD_MS_CONTINUE)
                return answer(c, st, 0);
        }
        if (give_pending(c, &rc)) {
            end_message(c, 0);
            return rc;
        }
        c->in_eom = 1;
        enum pd_mstat st = f->eom ? f->eom(c, c->priv) : PD_MS_CONTINUE;
        c->in_eom = 0;
        rc = answer(c, st, 0);
        end_message(c, 0);
        return rc;
    case PD_MWC_ABORT:
        end_message(c, 1);
        return 0;
    case PD_MWC_QUIT_NC:
        end_client(c);
        c->state = (c->proto & PD_MWP_NOCONNECT) != 0 ? S_READY : S_CONNECT;
        return 0;
    case PD_MWC_UNKNOWN:
        if (give_pending(c, &rc))
            return rc;
        return answer(c, PD_MS_CONTINUE, PD_MWP_NR_UNKN);
    default: /* CONNECT and OPTNEG again */
        goto order;
    }
order: {
    char name[8];
    pd_log(PD_LOG_WARNING, "milter: MTA %s: command %s out of order; closing", c->peer,
           cmd_name(cmd, name, sizeof name));
    return -1;
}
}

void
pd_milter_conn_serve(int fd, int tcp, const char *peer, const struct pd_milter_filter *f,
                     const int *stop)
{
    /* Zeroed up to the socket buffers only (some 200 KiB, which
     * pd_mw_*_init make empty): clearing them cost each MTA connection,
     * so each message with Postfix, a memset that perf saw. */
    struct pd_milter_conn *c = malloc(sizeof *c);
    if (c != NULL)
        memset(c, 0, offsetof(struct pd_milter_conn, wr));
    if (c == NULL || (c->priv = f->open()) == NULL) {
        pd_log(PD_LOG_ERROR, "milter: MTA %s: out of memory; closing", peer);
        free(c);
        return;
    }
    c->f = f;
    c->peer = peer;
    pd_mw_reader_init(&c->rd, fd, tcp);
    pd_mw_writer_init(&c->wr, fd, &c->rd);
    for (;;) {
        char cmd;
        const unsigned char *data;
        size_t len;
        enum pd_mw_status st = pd_mw_read(&c->rd, &cmd, &data, &len);
        if (__atomic_load_n(stop, __ATOMIC_RELAXED))
            break;
        if (st == PD_MW_EOF)
            break;
        if (st == PD_MW_TOOBIG) {
            pd_log(PD_LOG_WARNING, "milter: MTA %s: a packet of %zu bytes (at most %u); "
                   "closing", peer, len, PD_MW_DATA_MAX + 1);
            break;
        }
        if (st != PD_MW_OK) {
            pd_log(PD_LOG_WARNING, "milter: MTA %s: %s; closing", peer, pd_mw_status_text(st));
            break;
        }
        int rc = command(c, cmd, data, len);
        if (rc == 0 && c->wr.failed) {
            pd_log(PD_LOG_WARNING, "milter: MTA %s: cannot send a reply; closing", peer);
            break;
        }
        if (rc != 0) {
            if (rc < 0 && c->wr.failed)
                pd_log(PD_LOG_WARNING, "milter: MTA %s: cannot send a reply; closing", peer);
            break;
        }
    }
    end_client(c);
    if (f->free != NULL)
        f->free(c->priv);
    free(c->reply);
    free(c->pending_reply);
    free(c);
}
