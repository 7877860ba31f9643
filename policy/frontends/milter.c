/*
 * milter.c - the milter front-end: Postfix smtpd_milters and Sendmail
 * INPUT_MAIL_FILTER reach the same engine as the policy server.
 *
 * postaged speaks the milter protocol itself (milter_server.c accepts and
 * runs one thread per MTA connection, milter_conn.c reads the commands
 * and answers; no libmilter), so that it owns the socket and its TCP
 * options.  This file holds the callbacks; the per-connection context keeps the client, the current message's
 * envelope and transaction, the header the engine asked to add, and the
 * message size (counted from the header and body callbacks, since a milter
 * is never told the size).  Recipients are decided at RCPT, like the
 * policy front-end.  With postage on, the recipients accepted and the
 * X-Hashcash: stamps are collected, and at end of headers the engine
 * decides which stamps pay and greylists the rest (pd_engine_postage);
 * the message is accounted at end of message, where headers are added.
 *
 * The headers postaged adds are trusted downstream only because incoming
 * copies of them are removed first: X-Postage-Result, X-Postage-Price,
 * X-Greylist, and Authentication-Results with our own authserv-id (RFC
 * 8601 section 5).  The milter notes where they stand as the headers go
 * by and deletes them at end of message, before adding its own.
 *
 * Each transaction is entered in milter_sessions.h's table from MAIL FROM
 * to its end, so that the policy server of the same process knows Postfix
 * has the milter in its path.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "policy/checks/address.h"
#include "policy/base/escape.h"
#include "policy/base/log.h"
#include "policy/base/metrics.h"
#include "policy/frontends/milter.h"
#include "policy/frontends/milter_conn.h"
#include "policy/frontends/milter_headers.h"
#include "policy/frontends/milter_server.h"
#include "policy/frontends/milter_sessions.h"
#include "policy/frontends/milter_wire.h"
#include "postage/stamp.h"
#include "postage/status.h"
#include "postage/verify.h"

#define FIELD_MAX 512
/* Postfix's smtpd_recipient_limit default; past it RCPT gets 452 4.5.3
 * (RFC 5321 4.5.3.1.8), so the sender retries the rest later. */
#define RCPTS_MAX 1000
#define MESSAGE_ID_MAX 256

struct milter_ctx {
    char client_address[INET6_ADDRSTRLEN];
    char client_name[FIELD_MAX];
    char helo[FIELD_MAX];
    /* the current message */
    char sender[FIELD_MAX];
    char sasl_user[FIELD_MAX];
    char instance[64];
    char queue_id[64];           /* the MTA's, at end of message           */
    unsigned recipients;
    uint64_t size;
    struct pd_txn txn;
    /* headers the engine asked to add, oldest first (added at EOM) */
    unsigned n_headers;
    struct pd_header headers[PD_TXN_HEADERS];
    int hold;
    /* postage: the accepted recipients and the stamps seen */
    char **rcpts;
    size_t n_rcpts;
    char *stamps[PD_POSTAGE_STAMPS_MAX];
    size_t stamp_len[PD_POSTAGE_STAMPS_MAX];
    size_t n_stamps;
    size_t stamps_dropped;       /* past PD_POSTAGE_STAMPS_MAX or too long */
    struct pd_header trace;      /* X-Postage-Result, name "" for none     */
    char message_id[MESSAGE_ID_MAX];
    /* Incoming copies of our headers (milter_headers.h): all go but the
     * Authentication-Results of other authserv-ids. */
    struct pd_own_headers own;
    int in_session;              /* entered in milter_sessions ...         */
    uint64_t session_key;        /* ... with this key                      */
};

/* The callbacks are plain functions: the engine slot they use is set once
 * before the server runs and never changes (the engines inside it do,
 * through the slot). */
static struct pd_engine_slot *milter_engines;
static unsigned long milter_messages;

static void
copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* An envelope address as the MTA passes it, "<a@b>" -> "a@b", "<>" ->
 * "" (address.h: quotes, source routes, parameters).  One the parser
 * refuses (the MTA let it through) is logged and kept as written, minus
 * one pair of angle brackets: it can then only fail to match a stamp,
 * and every header and log line escapes what it holds. */
static void
copy_address(const struct milter_ctx *m, const char *what, char *dst, size_t size,
             const char *src)
{
    enum pd_addr_status st = pd_envelope_address_or_raw(src, dst, size);
    if (st != PD_ADDR_OK)
        pd_log(PD_LOG_WARNING, "milter: client=%s[%s]: %s address %.300s: %s; taken as written",
               m->client_name, m->client_address, what, src != NULL ? src : "",
               pd_addr_status_text(st));
}

static void
free_postage(struct milter_ctx *m)
{
    for (size_t i = 0; i < m->n_rcpts; i++)
        free(m->rcpts[i]);
    free(m->rcpts);
    m->rcpts = NULL;
    m->n_rcpts = 0;
    for (size_t i = 0; i < m->n_stamps; i++)
        free(m->stamps[i]);
    m->n_stamps = 0;
    m->stamps_dropped = 0;
    m->trace.name[0] = '\0';
}

static void
leave_session(struct milter_ctx *m)
{
    if (m->in_session)
        pd_milter_session_leave(m->session_key);
    m->in_session = 0;
}

static void
reset_message(struct milter_ctx *m)
{
    leave_session(m);
    free_postage(m);
    m->message_id[0] = '\0';
    pd_own_headers_reset(&m->own);
    m->sender[0] = m->sasl_user[0] = '\0';
    m->n_headers = 0;
    m->queue_id[0] = '\0';
    m->recipients = 0;
    m->size = 0;
    m->hold = 0;
    memset(&m->txn, 0, sizeof m->txn);
    /* A transaction id of our own: Postfix's queue id is not known before
     * the first accepted recipient. */
    snprintf(m->instance, sizeof m->instance, "milter.%lx.%lx", (unsigned long) time(NULL),
             __atomic_add_fetch(&milter_messages, 1, __ATOMIC_RELAXED));
    snprintf(m->txn.instance, sizeof m->txn.instance, "%s", m->instance);
}

static void
query_for(struct milter_ctx *m, enum pd_stage stage, const char *rcpt, struct pd_query *q)
{
    memset(q, 0, sizeof *q);
    q->stage = stage;
    q->instance = m->instance;
    q->queue_id = m->queue_id;
    q->from_milter = 1;
    q->client_address = m->client_address;
    q->client_name = m->client_name;
    q->helo_name = m->helo;
    q->sender = m->sender;
    q->recipient = rcpt ? rcpt : "";
    q->sasl_username = m->sasl_user;
    q->size = m->size;
    q->recipient_count = m->recipients;
}

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with its CRLF;
 * "451-4.7.1 " takes 10 of them. */
#define REPLY_TEXT_MAX 500
#define REPLY_LINES 13   /* the first line and PD_DETAIL_MAX's lines */

/* One reply line, of at most REPLY_TEXT_MAX characters as sent: '%'
 * doubled (Sendmail takes the reply as a format string; Postfix undoes
 * the doubling), CR and LF made spaces.  `out` holds 2 * REPLY_TEXT_MAX + 1 bytes. */
static void
reply_line(const char *t, size_t len, char *out)
{
    size_t n = 0, shown = 0;
    for (size_t i = 0; i < len && t[i] && shown < REPLY_TEXT_MAX; i++, shown++) {
        if (t[i] == '%')
            out[n++] = '%';
        out[n++] = (t[i] == '\r' || t[i] == '\n') ? ' ' : t[i];
    }
    out[n] = '\0';
}

/* Split "451 4.7.1 text" into code, enhanced code and text (with
 * pd_reply_split, the reading the policy front-end makes too); with
 * `detail` (more lines, '\n'-separated) a multi-line reply. */
static void
set_reply(struct pd_milter_conn *ctx, const struct pd_verdict *v, const char *detail, const char *def_code,
          const char *def_xcode)
{
    char code[4], xcode[16];
    char lines[REPLY_LINES][2 * REPLY_TEXT_MAX + 1];
    const char *t = v->text;

    struct pd_reply_parts parts;

    snprintf(code, sizeof code, "%s", def_code);
    snprintf(xcode, sizeof xcode, "%s", def_xcode);
    /* A code of the action's class is used; one of the other class stays
     * in the text, under the default code. */
    if (pd_reply_split(t, strlen(t), &parts) > 0 && t[0] == def_code[0]) {
        memcpy(code, t, 3);
        if (parts.enhanced_len > 0 && parts.enhanced_len < sizeof xcode) {
            memcpy(xcode, t + parts.enhanced, parts.enhanced_len);
            xcode[parts.enhanced_len] = '\0';
        }
        t += parts.text;
    }
    reply_line(t, strlen(t), lines[0]);
    size_t n = 1;
    for (const char *d = detail; d != NULL && *d != '\0' && n < REPLY_LINES; n++) {
        size_t len = strcspn(d, "\n");
        reply_line(d, len, lines[n]);
        d += len;
        d += *d == '\n';
    }
    const char *arg[REPLY_LINES];
    for (size_t i = 0; i < n; i++)
        arg[i] = lines[i];
    /* One line with no text: the code and enhanced code alone. */
    if (pd_mconn_set_reply(ctx, code, xcode, arg, n == 1 && lines[0][0] == '\0' ? 0 : n) != 0)
        pd_mconn_set_reply(ctx, code, xcode, arg, 1);
}

static enum pd_mstat
apply(struct pd_milter_conn *ctx, struct milter_ctx *m, const struct pd_answer *a)
{
    switch (a->verdict.action) {
    case PD_REJECT:
        set_reply(ctx, &a->verdict, a->detail, "554", "5.7.1");
        return PD_MS_REJECT;
    case PD_DEFER:
        set_reply(ctx, &a->verdict, a->detail, "450", "4.7.1");
        return PD_MS_TEMPFAIL;
    case PD_DISCARD:
        return PD_MS_DISCARD;
    case PD_HOLD:
        m->hold = 1;
        return PD_MS_CONTINUE;
    case PD_OK:
    case PD_DUNNO:
        break;
    }
    if (a->prepend_name[0] != '\0' && m->n_headers < PD_TXN_HEADERS) {
        struct pd_header *h = &m->headers[m->n_headers++];
        copy_field(h->name, sizeof h->name, a->prepend_name);
        copy_field(h->value, sizeof h->value, a->prepend_value);
    }
    return PD_MS_CONTINUE;
}

static enum pd_mstat
decide(struct pd_milter_conn *ctx, struct milter_ctx *m, enum pd_stage stage, const char *rcpt)
{
    struct pd_query q;
    struct pd_answer a;

    query_for(m, stage, rcpt, &q);
    double started = pd_metrics_now();
    struct pd_engine *engine = pd_engine_slot_get(milter_engines);
    struct pd_metrics *metrics = pd_engine_metrics(engine);   /* outlives it */
    pd_engine_decide(engine, &m->txn, &q, (int64_t) time(NULL), &a);
    pd_engine_unref(engine);
    pd_metrics_decision(metrics, PD_MF_MILTER, a.module, (int) a.verdict.action,
                        pd_metrics_now() - started);
    pd_log(PD_LOG_INFO, "milter %s: client=%s[%s] helo=<%s> from=<%s> to=<%s> %s%s%s",
           stage == PD_STAGE_RCPT ? "RCPT" : "END-OF-MESSAGE", m->client_name,
           m->client_address, m->helo, m->sender, rcpt ? rcpt : "",
           pd_action_name(a.verdict.action), a.reason[0] ? ": " : "", a.reason);
    return apply(ctx, m, &a);
}

/* The context of a connection, made as the MTA connects (one allocation
 * for its whole life: the connect, HELO and MAIL stages then cannot fail,
 * and are negotiated without a reply). */
static void *
ctx_open(void)
{
    return calloc(1, sizeof(struct milter_ctx));
}

static void
ctx_free(void *p)
{
    free(p);
}

static enum pd_mstat
on_connect(struct pd_milter_conn *ctx, void *priv, const char *hostname, const char *address)
{
    struct milter_ctx *m = priv;
    (void) ctx;
    /* A client after SMFIC_QUIT_NC starts afresh: on_close left no
     * allocation behind. */
    memset(m, 0, sizeof *m);
    copy_field(m->client_address, sizeof m->client_address, address);
    /* An unverified name comes as "[address]": Postfix's "unknown". */
    copy_field(m->client_name, sizeof m->client_name,
               hostname[0] == '\0' || hostname[0] == '[' ? "unknown" : hostname);
    reset_message(m);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
on_helo(struct pd_milter_conn *ctx, void *priv, const char *helo)
{
    struct milter_ctx *m = priv;
    (void) ctx;
    copy_field(m->helo, sizeof m->helo, helo);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
on_envfrom(struct pd_milter_conn *ctx, void *priv, const char **argv, int argc)
{
    struct milter_ctx *m = priv;
    reset_message(m);
    m->in_session = pd_milter_session_enter(m->client_address, m->helo, &m->session_key) == 0;
    copy_address(m, "sender", m->sender, sizeof m->sender, argc > 0 ? argv[0] : NULL);
    copy_field(m->sasl_user, sizeof m->sasl_user, pd_mconn_macro(ctx, "{auth_authen}"));
    return PD_MS_CONTINUE;
}

static enum pd_mstat
on_envrcpt(struct pd_milter_conn *ctx, void *priv, const char **argv, int argc)
{
    struct milter_ctx *m = priv;
    char rcpt[FIELD_MAX];
    copy_address(m, "recipient", rcpt, sizeof rcpt, argc > 0 ? argv[0] : NULL);
    if (m->n_rcpts >= RCPTS_MAX) {
        const char *text = "Too many recipients";
        pd_mconn_set_reply(ctx, "452", "4.5.3", &text, 1);
        return PD_MS_TEMPFAIL;
    }
    enum pd_mstat st = decide(ctx, m, PD_STAGE_RCPT, rcpt);
    if (st != PD_MS_CONTINUE)
        return st;
    char **grown = realloc(m->rcpts, (m->n_rcpts + 1) * sizeof *grown);
    char *copy = strdup(rcpt);
    if (grown == NULL || copy == NULL) {
        free(copy);
        if (grown != NULL)
            m->rcpts = grown;
        return PD_MS_TEMPFAIL;
    }
    m->rcpts = grown;
    m->rcpts[m->n_rcpts++] = copy;
    m->recipients++;
    return st;
}

/* Keep the stamp of an X-Hashcash: (or Hashcash:) header. */
static void
collect_stamp(struct milter_ctx *m, const char *name, const char *value)
{
    char stamp[POSTAGE_STAMP_MAX + 1];
    size_t len = 0;
    if (strcasecmp(name, "X-Hashcash") != 0 && strcasecmp(name, "Hashcash") != 0)
        return;
    if (m->n_stamps >= PD_POSTAGE_STAMPS_MAX ||
        postage_header_stamp(value, strlen(value), stamp, sizeof stamp, &len) != POSTAGE_OK) {
        m->stamps_dropped++;
        return;
    }
    if (len == 0)
        return;
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        m->stamps_dropped++;
        return;
    }
    memcpy(copy, stamp, len + 1);
    m->stamps[m->n_stamps] = copy;
    m->stamp_len[m->n_stamps++] = len;
}

/* Note an incoming copy of a header postaged adds.  Returns -1 when a
 * message has more forged Authentication-Results than we remove. */
static int
note_own_header(struct milter_ctx *m, const char *name, const char *value)
{
    if (pd_own_header_index(name) != PD_OWN_AUTH_RESULTS)
        return pd_own_headers_note(&m->own, name, value, "");
    struct pd_engine *engine = pd_engine_slot_get(milter_engines);
    int rc = pd_own_headers_note(&m->own, name, value, pd_engine_hostname(engine));
    pd_engine_unref(engine);
    return rc;
}

static enum pd_mstat
on_header(struct pd_milter_conn *ctx, void *priv, const char *name, const char *value)
{
    struct milter_ctx *m = priv;
    {
        m->size += strlen(name) + 2 + strlen(value) + 2;
        collect_stamp(m, name, value);
        if (strcasecmp(name, "Message-ID") == 0 && m->message_id[0] == '\0')
            pd_message_id_take(m->message_id, sizeof m->message_id, value);
        if (note_own_header(m, name, value) != 0) {
            const char *text = "Too many forged Authentication-Results headers";
            pd_log(PD_LOG_INFO, "milter: client=%s[%s] from=<%s>: refused, more than %d "
                   "Authentication-Results headers carry our authserv-id", m->client_name,
                   m->client_address, m->sender, PD_FORGED_AR_MAX);
            pd_mconn_set_reply(ctx, "554", "5.7.1", &text, 1);
            return PD_MS_REJECT;
        }
    }
    return PD_MS_CONTINUE;
}

/* Remove the incoming copies of our headers, last first, so that the
 * indexes of those still to go do not move. */
static void
remove_forged_headers(struct pd_milter_conn *ctx, struct milter_ctx *m)
{
    unsigned removed = 0;
    for (int h = 0; h < PD_OWN_HEADERS; h++) {
        const char *name = pd_own_header_name(h);
        if (h == PD_OWN_AUTH_RESULTS) {
            for (size_t i = m->own.n_forged_ar; i-- > 0;)
                removed += pd_mconn_chgheader(ctx, name, (uint32_t) m->own.forged_ar[i],
                                              NULL) == 0;
            continue;
        }
        for (unsigned i = m->own.seen[h]; i > 0; i--)
            removed += pd_mconn_chgheader(ctx, name, i, NULL) == 0;
    }
    if (removed > 0)
        pd_log(PD_LOG_INFO, "milter: client=%s[%s] from=<%s>: removed %u incoming "
               "X-Postage-*, X-Greylist or Authentication-Results header%s of ours",
               m->client_name, m->client_address, m->sender, removed, removed == 1 ? "" : "s");
}

static const char *
stamp_outcome_name(enum pd_stamp_outcome o)
{
    switch (o) {
    case PD_STAMP_PAID: return "paid";
    case PD_STAMP_REPLAYED: return "replayed";
    case PD_STAMP_UNDERPAID: return "underpaid";
    case PD_STAMP_NO_RECIPIENT: return "not for a recipient";
    case PD_STAMP_INVALID: return "invalid";
    case PD_STAMP_UNUSED: return "unused";
    case PD_STAMP_KIND_REFUSED: return "kind not accepted";
    case PD_STAMP_OUT_OF_BOUNDS: return "Argon2id parameters out of bounds";
    case PD_STAMP_IGNORED: break;
    }
    return "ignored";
}

/* End of headers: the stamps pay, or greylisting decides. */
static enum pd_mstat
on_eoh(struct pd_milter_conn *ctx, void *priv)
{
    struct milter_ctx *m = priv;
    double started = pd_metrics_now();
    struct pd_engine *engine = pd_engine_slot_get(milter_engines);
    struct pd_metrics *metrics = pd_engine_metrics(engine);   /* outlives it */
    if (!pd_engine_greylists_at_headers(engine)) {
        pd_engine_unref(engine);
        return PD_MS_CONTINUE;
    }
    struct pd_postage_rcpt *rcpts = calloc(m->n_rcpts ? m->n_rcpts : 1, sizeof *rcpts);
    struct pd_postage_stamp stamps[PD_POSTAGE_STAMPS_MAX];
    if (rcpts == NULL) {
        pd_engine_unref(engine);
        return PD_MS_TEMPFAIL;
    }
    for (size_t i = 0; i < m->n_rcpts; i++)
        rcpts[i].address = m->rcpts[i];
    for (size_t i = 0; i < m->n_stamps; i++) {
        memset(&stamps[i], 0, sizeof stamps[i]);
        stamps[i].text = m->stamps[i];
        stamps[i].len = m->stamp_len[i];
    }
    struct pd_query q;
    struct pd_answer a;
    query_for(m, PD_STAGE_OTHER, NULL, &q);
    q.message_id = m->message_id;
    pd_engine_postage(engine, &m->txn, &q, rcpts, m->n_rcpts, stamps, m->n_stamps,
                      (int64_t) time(NULL), &a);
    pd_engine_unref(engine);
    pd_metrics_decision(metrics, PD_MF_MILTER, a.module, (int) a.verdict.action,
                        pd_metrics_now() - started);
    for (size_t i = 0; i < m->n_stamps; i++)
        pd_log(PD_LOG_DEBUG, "milter: stamp %.80s: %s%s%s", stamps[i].text,
               stamp_outcome_name(stamps[i].outcome), stamps[i].rcpt >= 0 ? " for " : "",
               stamps[i].rcpt >= 0 ? rcpts[stamps[i].rcpt].address : "");
    pd_log(PD_LOG_INFO, "milter END-OF-HEADERS: client=%s[%s] from=<%s> stamps=%zu%s %s%s%s",
           m->client_name, m->client_address, m->sender, m->n_stamps,
           m->stamps_dropped ? " (more ignored)" : "", pd_action_name(a.verdict.action),
           a.reason[0] ? ": " : "", a.reason);
    /* What became of each recipient goes to the log, not to the header
     * every recipient reads. */
    for (size_t i = 0; i < m->n_rcpts; i++)
        pd_log(PD_LOG_INFO, "milter END-OF-HEADERS: from=<%s> to=<%s> %s%s", m->sender,
               rcpts[i].address, pd_rcpt_outcome_name(rcpts[i].outcome),
               rcpts[i].outcome == PD_RCPT_PAID ? " by a stamp" : "");
    for (const char *d = a.detail; *d != '\0';) {
        size_t len = strcspn(d, "\n");
        pd_log(PD_LOG_INFO, "milter END-OF-HEADERS: from=<%s>: %.*s", m->sender, (int) len, d);
        d += len;
        d += *d == '\n';
    }
    free(rcpts);
    if (a.verdict.action == PD_DUNNO && a.prepend_name[0] != '\0') {
        copy_field(m->trace.name, sizeof m->trace.name, a.prepend_name);
        copy_field(m->trace.value, sizeof m->trace.value, a.prepend_value);
        a.prepend_name[0] = '\0';
    }
    return apply(ctx, m, &a);
}

static enum pd_mstat
on_body(struct pd_milter_conn *ctx, void *priv, const unsigned char *chunk, size_t len)
{
    struct milter_ctx *m = priv;
    (void) ctx;
    (void) chunk;
    m->size += len;
    return PD_MS_CONTINUE;
}

static enum pd_mstat
on_eom(struct pd_milter_conn *ctx, void *priv)
{
    struct milter_ctx *m = priv;
    m->size += 2; /* the blank line after the headers */
    copy_field(m->queue_id, sizeof m->queue_id, pd_mconn_macro(ctx, "i"));
    enum pd_mstat st = decide(ctx, m, PD_STAGE_END_OF_MESSAGE, NULL);
    if (st == PD_MS_CONTINUE) {
        remove_forged_headers(ctx, m);
        /* The headers the engine still holds for this message, then all
         * of them, the first on top. */
        while (m->n_headers < PD_TXN_HEADERS &&
               pd_txn_take_header(&m->txn, &m->headers[m->n_headers]))
            m->n_headers++;
        /* Header values carry the client's words (HELO, sender, the
         * recipient in X-Postage-Result): no control character reaches
         * the MTA raw, whichever module built the value. */
        for (unsigned i = 0; i < m->n_headers; i++)
            pd_escape_inplace(m->headers[i].value, sizeof m->headers[i].value);
        pd_escape_inplace(m->trace.value, sizeof m->trace.value);
        for (unsigned i = m->n_headers; i-- > 0;)
            if (pd_mconn_insheader(ctx, 0, m->headers[i].name, m->headers[i].value) != 0)
                pd_log(PD_LOG_WARNING, "milter: could not add the %s header",
                       m->headers[i].name);
        if (m->trace.name[0] != '\0' &&
            pd_mconn_insheader(ctx, 0, m->trace.name, m->trace.value) != 0)
            pd_log(PD_LOG_WARNING, "milter: could not add the %s header", m->trace.name);
        if (m->hold && pd_mconn_quarantine(ctx, "held by postaged") != 0)
            pd_log(PD_LOG_WARNING, "milter: could not hold the message");
    }
    reset_message(m);
    return st;
}

static void
on_abort(struct pd_milter_conn *ctx, void *priv)
{
    (void) ctx;
    reset_message(priv);
}

static void
on_close(struct pd_milter_conn *ctx, void *priv)
{
    struct milter_ctx *m = priv;
    (void) ctx;
    leave_session(m);
    free_postage(m);
    pd_own_headers_reset(&m->own);
}

/* The stages answered: RCPT (the decision), end of headers (postage and
 * greylisting) and end of message (the decision and the headers) may
 * refuse; MAIL always continues, but enters the transaction in
 * milter_sessions.h's table, which Postfix's policy query at RCPT, on
 * another socket, must find there: the MTA waits for it.  It cannot be
 * left unanswered, even with the policy server waiting for the entry:
 * Postfix keeps the packets that get no reply in its buffer until one that
 * does (milter8.c), so an unanswered MAIL (and the CONNECT and HELO before
 * it) would reach us only with RCPT, after the policy query (tried: the
 * CONNECT came 0.4 ms after a 200 ms wait had given up, and
 * tests/system/postfix_wirings_e2e.sh failed).  A header is
 * answered only to refuse forged Authentication-Results; without a reply,
 * that refusal comes at end of headers (milter_conn.c), before anything
 * is spent.  Connect, HELO and body chunks always continue, so the MTA
 * does not wait for them. */
static const struct pd_milter_filter filter = {
    .actions = PD_MWA_ADDHDRS | PD_MWA_CHGHDRS | PD_MWA_QUARANTINE,
    .answered = PD_MWP_NR_MAIL | PD_MWP_NR_RCPT | PD_MWP_NR_EOH,
    .open = ctx_open,
    .connect = on_connect,
    .helo = on_helo,
    .envfrom = on_envfrom,
    .envrcpt = on_envrcpt,
    .header = on_header,
    .eoh = on_eoh,
    .body = on_body,
    .eom = on_eom,
    .abort = on_abort,
    .close = on_close,
    .free = ctx_free,
};

static struct pd_milter_server *milter_server;

int
pd_milter_open(const char *spec, char *err, size_t errlen)
{
    milter_server = pd_milter_server_open(spec, err, errlen);
    return milter_server != NULL ? 0 : -1;
}

int
pd_milter_run(struct pd_engine_slot *engines)
{
    milter_engines = engines;
    return pd_milter_server_run(milter_server, &filter, PD_MILTER_TIMEOUT);
}

void
pd_milter_stop(void)
{
    if (milter_server != NULL)
        pd_milter_server_stop(milter_server);
}

void
pd_milter_close(void)
{
    pd_milter_server_close(milter_server);
    milter_server = NULL;
}
