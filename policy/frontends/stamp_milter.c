/*
 * stamp_milter.c - the stamping milter's callbacks (stamp_milter.h): it
 * gathers a message's envelope, headers and body (only for mail it
 * stamps, decided at MAIL; the body only when a blind recipient may need
 * a copy), and at end of message looks the prices up, mints, injects the
 * blind recipients' copies and adds the stamps.
 *
 * What it must never do: show a blind recipient to the others (a stamp
 * names its recipient), or lose or hold mail.  So a blind recipient's
 * stamp goes only into a copy of its own, injected through stamp_sendmail
 * before the recipient is removed from the shared message (SMFIR_DELRCPT);
 * if the copy cannot be injected the recipient stays in the shared
 * message, unstamped.  Every fault (DNS, the time budget, memory) sends
 * the message on unstamped, or tempfails it when stamp_on_error says so,
 * and each message gets one info line saying what was done and why.
 *
 * Blind means: not named in To or Cc (Resent-To, Resent-Cc for a resent
 * message: rfc5322_recipients, as sendmail -t reads them).  A message
 * with one recipient has nobody to hide it from: it is stamped in place,
 * which is also how the copies injected here pass when they come back
 * through non_smtpd_milters (their stamp is found good and kept).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <time.h>

#include "policy/base/dns.h"
#include "policy/base/log.h"
#include "policy/base/metrics.h"
#include "policy/base/price_record.h"
#include "policy/checks/address.h"
#include "policy/frontends/milter_conn.h"
#include "policy/frontends/milter_server.h"
#include "policy/frontends/milter_wire.h"
#include "policy/frontends/stamp_config.h"
#include "policy/frontends/stamp_copy.h"
#include "policy/frontends/stamp_decide.h"
#include "policy/frontends/stamp_milter.h"
#include "policy/frontends/stamp_mint.h"
#include "postage/mint.h"
#include "postage/status.h"
#include "postage/verify.h"
#include "util/rfc5322.h"

#define FIELD_MAX 512
#define RCPTS_MAX 1000            /* Postfix's smtpd_recipient_limit     */
#define STAMPS_MAX 256            /* X-Hashcash headers looked at        */
/* A blind recipient's copy needs the message kept: up to this much
 * (Postfix's default message_size_limit is 10240000).  A larger message
 * is sent with its blind recipients unstamped. */
#define COPY_MAX (32u * 1024 * 1024)
#define WHY_MAX 1024              /* the log line's reasons              */

struct rcpt {
    char *raw;                    /* as the MTA gave it: for DELRCPT     */
    char addr[FIELD_MAX];         /* the mailbox: the stamp's resource   */
    int blind;
    int paid_before;              /* a good stamp is in the message      */
    int price;                    /* enum pd_stamp_price, -1: not asked  */
    unsigned bits;
    char stamp[POSTAGE_MINT_STAMP_SIZE];
};

struct stamp_ctx {
    char client_addr[INET6_ADDRSTRLEN];
    char client_name[FIELD_MAX];
    unsigned client_port;
    /* the message */
    char sender[FIELD_MAX];
    char auth[FIELD_MAX];
    struct rcpt *rcpts;           /* about 2.6 KiB each: grown by doubling */
    size_t n_rcpts, rcpts_cap;
    int too_many;
    char *stamps[STAMPS_MAX];
    size_t n_stamps;
    char *hdr;                    /* "Name: value\n" lines               */
    size_t hdr_len, hdr_cap;
    unsigned char *body;
    size_t body_len, body_cap;
    int too_big;                  /* over COPY_MAX: no copies            */
    enum pd_stamp_who who;        /* decided at MAIL                     */
    int keep_body;                /* a blind recipient may need a copy   */
};

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pd_stamp_config *config;
static struct pd_milter_server *server;
static struct pd_metrics *metrics;   /* pd_stamp_set_metrics, or NULL */

static struct pd_stamp_config *
config_get(void)
{
    pthread_mutex_lock(&config_lock);
    struct pd_stamp_config *c = config ? pd_stamp_config_ref(config) : NULL;
    pthread_mutex_unlock(&config_lock);
    return c;
}

static void
reset_message(struct stamp_ctx *m)
{
    for (size_t i = 0; i < m->n_rcpts; i++)
        free(m->rcpts[i].raw);
    free(m->rcpts);
    m->rcpts = NULL;
    m->n_rcpts = m->rcpts_cap = 0;
    m->too_many = 0;
    for (size_t i = 0; i < m->n_stamps; i++)
        free(m->stamps[i]);
    m->n_stamps = 0;
    free(m->hdr);
    m->hdr = NULL;
    m->hdr_len = m->hdr_cap = 0;
    free(m->body);
    m->body = NULL;
    m->body_len = m->body_cap = 0;
    m->too_big = 0;
    m->who = PD_STAMP_WHO_OUTSIDE;
    m->keep_body = 0;
    m->sender[0] = m->auth[0] = '\0';
}

static void *
ctx_open(void)
{
    return calloc(1, sizeof(struct stamp_ctx));
}

static void
ctx_free(void *p)
{
    reset_message(p);
    free(p);
}

static enum pd_mstat
on_connect(struct pd_milter_conn *c, void *priv, const char *hostname, const char *address)
{
    struct stamp_ctx *m = priv;
    reset_message(m);
    snprintf(m->client_addr, sizeof m->client_addr, "%s", address);
    snprintf(m->client_name, sizeof m->client_name, "%s", hostname);
    m->client_port = pd_mconn_client_port(c);
    return PD_MS_CONTINUE;
}

/* An envelope address as the MTA passes it, "<a@b>" -> "a@b" (address.h,
 * the reading postaged's receiving milter makes: the stamp's resource is
 * then what the receiver compares).  One it refuses is kept as written. */
static void
envelope_address(const char *src, char *dst, size_t size)
{
    (void) pd_envelope_address_or_raw(src, dst, size);
}

static enum pd_mstat
on_envfrom(struct pd_milter_conn *c, void *priv, const char **argv, int argc)
{
    struct stamp_ctx *m = priv;
    reset_message(m);
    envelope_address(argc > 0 ? argv[0] : NULL, m->sender, sizeof m->sender);
    const char *auth = pd_mconn_macro(c, "{auth_authen}");
    snprintf(m->auth, sizeof m->auth, "%s", auth ? auth : "");
    /* Decided here, so that mail that is not stamped is not kept. */
    struct pd_stamp_config *cfg = config_get();
    if (cfg != NULL) {
        m->who = pd_stamp_who(cfg, m->auth, m->client_name, m->client_addr, m->client_port);
        pd_stamp_config_unref(cfg);
    }
    return PD_MS_CONTINUE;
}

static enum pd_mstat
on_envrcpt(struct pd_milter_conn *c, void *priv, const char **argv, int argc)
{
    struct stamp_ctx *m = priv;
    (void) c;
    if (argc < 1)
        return PD_MS_CONTINUE;
    if (m->n_rcpts >= RCPTS_MAX) {
        m->too_many = 1;
        return PD_MS_CONTINUE;
    }
    if (m->n_rcpts == m->rcpts_cap) {
        size_t cap = m->rcpts_cap ? 2 * m->rcpts_cap : 8;
        struct rcpt *grown = realloc(m->rcpts, cap * sizeof *grown);
        if (grown == NULL) {
            m->too_many = 1;
            return PD_MS_CONTINUE;
        }
        m->rcpts = grown;
        m->rcpts_cap = cap;
    }
    struct rcpt *r = &m->rcpts[m->n_rcpts];
    memset(r, 0, sizeof *r);
    if ((r->raw = strdup(argv[0])) == NULL) {
        m->too_many = 1;
        return PD_MS_CONTINUE;
    }
    envelope_address(argv[0], r->addr, sizeof r->addr);
    r->price = -1;
    m->n_rcpts++;
    return PD_MS_CONTINUE;
}

/* Append to a growing buffer, within COPY_MAX for the whole message. */
static int
append(struct stamp_ctx *m, char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (m->too_big || m->hdr_len + m->body_len + n > COPY_MAX) {
        m->too_big = 1;
        return -1;
    }
    if (*len + n > *cap) {
        size_t want = *cap ? *cap : 4096;
        while (want < *len + n)
            want *= 2;
        char *g = realloc(*buf, want);
        if (g == NULL) {
            m->too_big = 1;
            return -1;
        }
        *buf = g;
        *cap = want;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

static enum pd_mstat
on_header(struct pd_milter_conn *c, void *priv, const char *name, const char *value)
{
    struct stamp_ctx *m = priv;
    (void) c;
    if (m->who == PD_STAMP_WHO_OUTSIDE)
        return PD_MS_CONTINUE;
    if ((strcasecmp(name, "X-Hashcash") == 0 || strcasecmp(name, "Hashcash") == 0) &&
        m->n_stamps < STAMPS_MAX) {
        char stamp[POSTAGE_STAMP_MAX + 1];
        size_t len;
        if (postage_header_stamp(value, strlen(value), stamp, sizeof stamp, &len) == POSTAGE_OK &&
            len > 0 && (m->stamps[m->n_stamps] = strdup(stamp)) != NULL)
            m->n_stamps++;
    }
    /* The header block, kept with LF line ends: for the To/Cc reading
     * and for a blind recipient's copy. */
    append(m, &m->hdr, &m->hdr_len, &m->hdr_cap, name, strlen(name));
    append(m, &m->hdr, &m->hdr_len, &m->hdr_cap, ": ", 2);
    for (const char *v = value; *v != '\0'; v++)
        if (!(v[0] == '\r' && v[1] == '\n'))
            append(m, &m->hdr, &m->hdr_len, &m->hdr_cap, v, 1);
    append(m, &m->hdr, &m->hdr_len, &m->hdr_cap, "\n", 1);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
on_body(struct pd_milter_conn *c, void *priv, const unsigned char *chunk, size_t len)
{
    struct stamp_ctx *m = priv;
    (void) c;
    if (!m->keep_body)
        return PD_MS_CONTINUE;
    append(m, (char **) &m->body, &m->body_len, &m->body_cap, chunk, len);
    return PD_MS_CONTINUE;
}

/* Add "; text" to the log line's reasons, once each. */
static void
add_why(char *why, const char *text)
{
    size_t len = strlen(why), tl = strlen(text);
    for (const char *p = why; (p = strstr(p, text)) != NULL; p++)
        if ((p == why || p[-1] == ' ') && (p[tl] == '\0' || p[tl] == ';'))
            return;
    if (len + tl + 3 >= WHY_MAX)
        return;
    snprintf(why + len, WHY_MAX - len, "%s%s", len ? "; " : "", text);
}

/* Which envelope recipients are blind: named in no To/Cc (or
 * Resent-To/Resent-Cc) address.  -1 if the headers could not be read
 * (then every recipient is taken as blind, the safe side). */
static int
mark_blind(struct stamp_ctx *m)
{
    struct rfc5322_addrs shown = { 0 }, bcc = { 0 };
    int rc = rfc5322_recipients(m->hdr ? m->hdr : "", m->hdr_len, &shown, &bcc);
    for (size_t i = 0; i < m->n_rcpts; i++) {
        m->rcpts[i].blind = 1;
        for (size_t k = 0; rc == 0 && k < shown.count; k++)
            if (strcasecmp(shown.addr[k], m->rcpts[i].addr) == 0) {
                m->rcpts[i].blind = 0;
                break;
            }
    }
    rfc5322_addrs_free(&shown);
    rfc5322_addrs_free(&bcc);
    return rc;
}

/* The price of each recipient that needs a stamp, one look-up per domain. */
static void
price_all(const struct pd_stamp_config *cfg, struct stamp_ctx *m, uint64_t deadline,
          char *why, size_t *faults)
{
    for (size_t i = 0; i < m->n_rcpts; i++) {
        struct rcpt *r = &m->rcpts[i];
        if (r->paid_before || r->price != -1)
            continue;
        char domain[PD_DNS_NAME_MAX + 1], text[400];
        if (pd_price_domain_of(r->addr, domain, sizeof domain) != 0) {
            r->price = PD_STAMP_SKIP;
            snprintf(text, sizeof text, "<%.200s> has no domain to look up", r->addr);
            add_why(why, text);
            continue;
        }
        unsigned bits = 0;
        enum pd_stamp_price p = pd_stamp_price_of(cfg, domain, deadline, &bits, text, sizeof text);
        add_why(why, text);
        *faults += p == PD_STAMP_FAULT;
        /* the same domain's other recipients */
        for (size_t k = i; k < m->n_rcpts; k++) {
            char d2[PD_DNS_NAME_MAX + 1];
            struct rcpt *o = &m->rcpts[k];
            if (o->paid_before || o->price != -1 ||
                pd_price_domain_of(o->addr, d2, sizeof d2) != 0 || strcmp(d2, domain) != 0)
                continue;
            o->price = (int) p;
            o->bits = bits;
        }
    }
}

/* End of headers: the body is kept only when a blind recipient may need
 * a copy of its own. */
static enum pd_mstat
on_eoh(struct pd_milter_conn *c, void *priv)
{
    struct stamp_ctx *m = priv;
    (void) c;
    if (m->who == PD_STAMP_WHO_OUTSIDE || m->n_rcpts < 2)
        return PD_MS_CONTINUE;
    struct pd_stamp_config *cfg = config_get();
    int copies = cfg != NULL && cfg->blind == PD_STAMP_BLIND_COPY;
    pd_stamp_config_unref(cfg);
    if (!copies)
        return PD_MS_CONTINUE;
    mark_blind(m);
    for (size_t i = 0; i < m->n_rcpts; i++)
        m->keep_body |= m->rcpts[i].blind;
    return PD_MS_CONTINUE;
}

static void
log_line(const char *queue_id, const char *what, const char *why)
{
    pd_log(PD_LOG_INFO, "stamp: queue-id %s: %s%s%s%s", queue_id[0] ? queue_id : "-", what,
           why[0] ? " (" : "", why, why[0] ? ")" : "");
}

static enum pd_mstat
tempfail(struct pd_milter_conn *c, const char *queue_id, const char *why)
{
    const char *text = "Cannot stamp the message now, try again later";
    log_line(queue_id, "not stamped, tempfail (stamp_on_error)", why);
    pd_mconn_set_reply(c, "451", "4.3.0", &text, 1);
    return PD_MS_TEMPFAIL;
}

static enum pd_mstat
stamp_message(struct pd_milter_conn *c, struct stamp_ctx *m, const struct pd_stamp_config *cfg,
              const char *queue_id)
{
    char why[WHY_MAX] = "", what[256];
    enum pd_stamp_who who = m->who;
    pd_stamp_who_text(who, m->auth, m->client_addr, what, sizeof what);
    if (who == PD_STAMP_WHO_OUTSIDE) {
        char text[300];
        snprintf(text, sizeof text, "not stamped: %s", what);
        log_line(queue_id, text, "");
        return PD_MS_CONTINUE;
    }
    add_why(why, what);
    if (m->n_rcpts == 0 || m->too_many) {
        log_line(queue_id, m->too_many ? "not stamped: too many recipients, or out of memory"
                                       : "not stamped: no recipients", why);
        return m->too_many && cfg->on_error == PD_STAMP_ON_ERROR_TEMPFAIL
                   ? tempfail(c, queue_id, why) : PD_MS_CONTINUE;
    }
    uint64_t deadline = pd_dns_now_ms() + cfg->timeout_ms;
    int64_t now = (int64_t) time(NULL);
    size_t faults = 0;

    /* Who is paid already, who is blind. */
    size_t before = 0;
    for (size_t i = 0; i < m->n_rcpts; i++) {
        struct rcpt *r = &m->rcpts[i];
        r->paid_before = pd_stamp_find_valid(cfg, r->addr, m->stamps, m->n_stamps, now) >= 0;
        before += r->paid_before;
    }
    if (m->n_rcpts > 1 && mark_blind(m) != 0)
        add_why(why, "headers unreadable: every recipient taken as blind");
    /* With every recipient blind, the shared message goes to the first of
     * them alone once the others have their copies: it is stamped in
     * place (unless a copy fails, below). */
    long in_place = -1;
    if (m->n_rcpts > 1) {
        size_t shown = 0;
        for (size_t i = 0; i < m->n_rcpts; i++)
            shown += !m->rcpts[i].blind;
        if (shown == 0) {
            m->rcpts[0].blind = 0;
            in_place = 0;
        }
    }
    /* Blind recipients cannot be stamped without their own copy. */
    size_t blind_skipped = 0;
    for (size_t i = 0; i < m->n_rcpts; i++) {
        struct rcpt *r = &m->rcpts[i];
        if (!r->blind || r->paid_before)
            continue;
        if (cfg->blind == PD_STAMP_BLIND_UNSTAMPED || m->too_big || !m->keep_body) {
            r->price = PD_STAMP_SKIP;
            blind_skipped++;
        }
    }
    if (blind_skipped > 0)
        add_why(why, cfg->blind == PD_STAMP_BLIND_UNSTAMPED
                         ? "blind recipients unstamped (stamp_blind = unstamped)"
                         : "message too large to copy: blind recipients unstamped");

    price_all(cfg, m, deadline, why, &faults);

    /* Mint what is to be paid, as one batch. */
    struct postage_mint_batch_item *items = calloc(m->n_rcpts, sizeof *items);
    size_t *which = calloc(m->n_rcpts, sizeof *which);
    size_t n_items = 0;
    if (items == NULL || which == NULL) {
        free(items);
        free(which);
        log_line(queue_id, "not stamped: out of memory", why);
        return cfg->on_error == PD_STAMP_ON_ERROR_TEMPFAIL ? tempfail(c, queue_id, why)
                                                           : PD_MS_CONTINUE;
    }
    for (size_t i = 0; i < m->n_rcpts; i++) {
        struct rcpt *r = &m->rcpts[i];
        if (r->paid_before || r->price != PD_STAMP_PAY)
            continue;
        items[n_items] = (struct postage_mint_batch_item) {
            .resource = r->addr, .bits = r->bits, .stamp = r->stamp, .size = sizeof r->stamp,
        };
        which[n_items++] = i;
    }
    double mint_started = pd_metrics_now();
    size_t minted = pd_stamp_mint(items, n_items, cfg->threads, now, deadline);
    if (n_items > 0)
        pd_metrics_mint(metrics, pd_metrics_now() - mint_started);
    if (minted < n_items) {
        /* Out of time is a fault (stamp_on_error); a resource no stamp
         * can hold (a ':' in the address) is not, and retrying would not
         * help. */
        size_t late = 0;
        for (size_t k = 0; k < n_items; k++) {
            if (items[k].status == POSTAGE_OK)
                continue;
            m->rcpts[which[k]].stamp[0] = '\0';
            if (items[k].status == POSTAGE_ERR_CANCELLED) {
                late++;
                continue;
            }
            char text[400];
            snprintf(text, sizeof text, "no stamp for <%.200s>: %s", m->rcpts[which[k]].addr,
                     postage_strerror(items[k].status));
            add_why(why, text);
        }
        if (late > 0) {
            char text[128];
            snprintf(text, sizeof text, "%zu stamp%s not minted within stamp_timeout", late,
                     late == 1 ? "" : "s");
            add_why(why, text);
            faults++;
        }
    }
    free(items);
    free(which);
    if (faults > 0 && cfg->on_error == PD_STAMP_ON_ERROR_TEMPFAIL)
        return tempfail(c, queue_id, why);

    /* The blind recipients' copies, then their removal from the shared
     * message.  A copy that fails leaves its recipient in the shared
     * message, unstamped: never lost. */
    size_t copied = 0, copy_failed = 0;
    /* The copies together get stamp_timeout once more: a sendmail that
     * hangs cannot hold the message for a timeout per recipient. */
    uint64_t copy_deadline = pd_dns_now_ms() + (cfg->timeout_ms ? cfg->timeout_ms : 1000);
    for (size_t i = 0; i < m->n_rcpts; i++) {
        struct rcpt *r = &m->rcpts[i];
        if (!r->blind || r->paid_before || r->stamp[0] == '\0')
            continue;
        if (copy_failed > 0) {
            /* A sendmail that failed once fails the others too, most
             * likely: they stay unstamped without a try each. */
            r->stamp[0] = '\0';
            copy_failed++;
            continue;
        }
        char err[300];
        if (pd_stamp_copy_send(cfg->sendmail_argv, cfg->sendmail_argc, m->sender, r->addr,
                               r->stamp, m->hdr ? m->hdr : "", m->hdr_len, m->body,
                               m->body_len, copy_deadline, err, sizeof err) != 0) {
            char text[400];
            snprintf(text, sizeof text, "copy for a blind recipient failed: %.300s; kept unstamped",
                     err);
            add_why(why, text);
            r->stamp[0] = '\0';
            copy_failed++;
            continue;
        }
        if (pd_mconn_delrcpt(c, r->raw) != 0) {
            /* Cannot happen with the action negotiated; the copy is out,
             * so the recipient would get the message twice, never lost. */
            pd_log(PD_LOG_WARNING, "stamp: queue-id %s: could not remove a blind recipient "
                   "from the shared message", queue_id);
        }
        copied++;
    }
    if (copy_failed > 1) {
        char text[128];
        snprintf(text, sizeof text, "%zu blind recipients kept unstamped, the rest untried",
                 copy_failed);
        add_why(why, text);
    }
    if (in_place >= 0 && copy_failed > 0 && m->rcpts[in_place].stamp[0] != '\0') {
        /* A blind recipient stays in the shared message: the stamp of the
         * one kept there would name it to that recipient. */
        m->rcpts[in_place].stamp[0] = '\0';
        add_why(why, "the kept blind recipient's stamp left out too");
    }
    size_t stamped = 0;
    for (size_t i = 0; i < m->n_rcpts; i++) {
        struct rcpt *r = &m->rcpts[i];
        if (r->blind || r->paid_before || r->stamp[0] == '\0')
            continue;
        if (pd_mconn_addheader(c, "X-Hashcash", r->stamp) != 0) {
            add_why(why, "could not add a stamp header");
            continue;
        }
        stamped++;
    }
    char text[200];
    int n = snprintf(text, sizeof text, "stamped %zu of %zu recipient%s", stamped + copied,
                     m->n_rcpts, m->n_rcpts == 1 ? "" : "s");
    if (copied > 0 && n > 0 && (size_t) n < sizeof text)
        n += snprintf(text + n, sizeof text - (size_t) n, ", %zu in a copy of their own", copied);
    if (before > 0 && n > 0 && (size_t) n < sizeof text)
        snprintf(text + n, sizeof text - (size_t) n, ", %zu paid already", before);
    log_line(queue_id, text, why);
    return PD_MS_CONTINUE;
}

static enum pd_mstat
on_eom(struct pd_milter_conn *c, void *priv)
{
    struct stamp_ctx *m = priv;
    const char *qid = pd_mconn_macro(c, "i");
    char queue_id[64];
    snprintf(queue_id, sizeof queue_id, "%s", qid ? qid : "");
    double started = pd_metrics_now();
    struct pd_stamp_config *cfg = config_get();
    enum pd_mstat st = PD_MS_CONTINUE;
    if (cfg != NULL) {
        st = stamp_message(c, m, cfg, queue_id);
        pd_stamp_config_unref(cfg);
    }
    reset_message(m);
    /* The message goes on (DUNNO), stamped or not, or is tempfailed. */
    pd_metrics_decision(metrics, PD_MF_STAMP, PD_MM_STAMP,
                        st == PD_MS_TEMPFAIL ? PD_MA_TEMPFAIL : 0, pd_metrics_now() - started);
    return st;
}

static void
on_abort(struct pd_milter_conn *c, void *priv)
{
    (void) c;
    reset_message(priv);
}

/* Only end of message is answered (the stamps are added there); every
 * other stage continues without making the MTA wait. */
static const struct pd_milter_filter filter = {
    .actions = PD_MWA_ADDHDRS | PD_MWA_DELRCPT,
    .answered = 0,
    .open = ctx_open,
    .connect = on_connect,
    .envfrom = on_envfrom,
    .envrcpt = on_envrcpt,
    .header = on_header,
    .eoh = on_eoh,
    .body = on_body,
    .eom = on_eom,
    .abort = on_abort,
    .free = ctx_free,
};

int
pd_stamp_check(const struct pd_settings *s, char *err, size_t errlen)
{
    struct pd_stamp_config *c = pd_stamp_config_new(s, err, errlen);
    if (c == NULL)
        return -1;
    pd_stamp_config_unref(c);
    return 0;
}

int
pd_stamp_open(const struct pd_settings *s, char *err, size_t errlen)
{
    struct pd_stamp_config *c = pd_stamp_config_new(s, err, errlen);
    if (c == NULL)
        return -1;
    if ((server = pd_milter_server_open(s->stamp_listen, err, errlen)) == NULL) {
        pd_stamp_config_unref(c);
        return -1;
    }
    config = c;
    return 0;
}

void
pd_stamp_set_metrics(struct pd_metrics *m)
{
    metrics = m;
}

void
pd_stamp_dns_stats(struct pd_dns_stats *out)
{
    struct pd_stamp_config *c = config_get();
    if (c != NULL && c->dns != NULL)
        pd_dns_get_stats(c->dns, out);
    pd_stamp_config_unref(c);
}

int
pd_stamp_run(void)
{
    return pd_milter_server_run(server, &filter, PD_MILTER_TIMEOUT);
}

int
pd_stamp_reload(const struct pd_settings *s, char *err, size_t errlen)
{
    struct pd_stamp_config *c = pd_stamp_config_new(s, err, errlen);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&config_lock);
    struct pd_stamp_config *old = config;
    config = c;
    pthread_mutex_unlock(&config_lock);
    /* The old resolver goes with its configuration: its counts stay. */
    if (old != NULL && old->dns != NULL) {
        struct pd_dns_stats was;
        pd_dns_get_stats(old->dns, &was);
        pd_metrics_dns_fold(metrics, PD_MR_STAMP, &was);
    }
    pd_stamp_config_unref(old);
    return 0;
}

void
pd_stamp_stop(void)
{
    if (server != NULL)
        pd_milter_server_stop(server);
}

void
pd_stamp_close(void)
{
    if (server != NULL)
        pd_milter_server_close(server);
    server = NULL;
    pthread_mutex_lock(&config_lock);
    struct pd_stamp_config *old = config;
    config = NULL;
    pthread_mutex_unlock(&config_lock);
    pd_stamp_config_unref(old);
}
