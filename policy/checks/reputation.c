/*
 * reputation.c - sender records, their decay, and the price of a message
 * (the formula is in reputation.h and docs/pricing.md).
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policy/base/netaddr.h"
#include "policy/checks/reputation.h"
#include "policy/state/state.h"

#define RECORD_VERSION 1
#define RECORD_SIZE 60
#define PIN_MAX 160                    /* SHA-1 has 160 bits               */
#define BAD_WEIGHT 4.0
#define BITS_PER_GOOD_POINT 10.0
/* A record is forgotten once its counters have decayed below 1/1024. */
#define FORGET_HALF_LIVES 10

static const char *const counter_names[PD_REP_COUNTERS] = {
    "accepted", "greylist_passed", "stamps_paid", "bits_paid", "helo_failures",
    "spf_failures", "replayed", "quota_overruns", "rate",
};

const char *
pd_rep_counter_name(enum pd_rep_counter c)
{
    return (unsigned) c < PD_REP_COUNTERS ? counter_names[c] : "?";
}

int
pd_rep_params_check(const struct pd_rep_params *p, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (p->half_life < 60)
        bad = "reputation_half_life must be at least 60 seconds";
    else if (p->rate_window < 60)
        bad = "price_rate_window must be at least 60 seconds";
    else if (!(p->allowance >= 1))
        bad = "price_allowance must be at least 1 message";
    else if (p->base < 0 || p->base > PIN_MAX)
        bad = "price_base must be 0 .. 160";
    else if (p->cap < 0 || p->cap > PIN_MAX)
        bad = "price_cap must be 0 .. 160";
    else if (p->base > p->cap)
        bad = "price_base is above price_cap: every unknown sender would be refused";
    else if (p->published < 0)
        bad = "published_price cannot be negative";
    else if (p->published > p->cap)
        bad = "published_price is above price_cap: the price promised in DNS would be refused";
    else if (p->spf_credit < 0 || p->credit_max < 0 || p->spf_softfail_penalty < 0 ||
             p->spf_other_penalty < 0)
        bad = "credits and penalties cannot be negative";
    if (bad == NULL)
        return 0;
    snprintf(err, errlen, "%s", bad);
    return -1;
}

void
pd_rep_decay(struct pd_rep_record *r, const struct pd_rep_params *p, int64_t now)
{
    if (r->first_seen == 0 || now <= r->updated_at) {
        if (r->first_seen == 0)
            r->updated_at = now;
        return;
    }
    /* In doubles: a damaged updated_at must not overflow int64. */
    double dt = (double) now - (double) r->updated_at;
    double slow = exp2(-dt / (double) p->half_life);
    double fast = exp(-dt / (double) p->rate_window);
    for (int c = 0; c < PD_REP_COUNTERS; c++)
        r->counter[c] *= c == PD_REP_RATE ? fast : slow;
    r->updated_at = now;
}

void
pd_rep_add(struct pd_rep_record *r, const struct pd_rep_params *p, int64_t now,
           const struct pd_rep_delta *d)
{
    pd_rep_decay(r, p, now);
    if (r->first_seen == 0)
        r->first_seen = now > 0 ? now : 1;
    for (int c = 0; c < PD_REP_COUNTERS; c++)
        r->counter[c] += d->counter[c];
    r->messages = r->messages > UINT32_MAX - d->messages ? UINT32_MAX : r->messages + d->messages;
}

double
pd_rep_net(const struct pd_rep_record *r)
{
    const double *c = r->counter;
    double good = c[PD_REP_ACCEPTED] + c[PD_REP_GREYLIST_PASSED] +
                  c[PD_REP_BITS_PAID] / BITS_PER_GOOD_POINT;
    double bad = BAD_WEIGHT * (c[PD_REP_HELO_FAILURES] + c[PD_REP_SPF_FAILURES] +
                               c[PD_REP_REPLAYED] + c[PD_REP_QUOTA_OVERRUNS]);
    return good - bad;
}

/* The standing the promise looks at: the net score without the failed
 * HELO tests.  A HELO name that does not resolve is how a host is set up,
 * not something it does to the receiver, and it already costs the host
 * its HELO score in every price; counted here too, it would put a host
 * that pays the published price in bad standing after its first message
 * (4 points against, 3 earned by a one-recipient message paid at 20
 * bits), and greylist its second.  Forged SPF, replayed stamps and quota
 * overruns are abuse, and do count. */
static double
standing_net(const struct pd_rep_record *r)
{
    return pd_rep_net(r) + BAD_WEIGHT * r->counter[PD_REP_HELO_FAILURES];
}

enum pd_rep_band
pd_rep_band_of(double net)
{
    if (net < 0)
        return PD_REP_BAND_BAD;
    if (net < 1)
        return PD_REP_BAND_UNKNOWN;
    if (net < 64)
        return PD_REP_BAND_KNOWN;
    if (net < 1024)
        return PD_REP_BAND_GOOD;
    return PD_REP_BAND_TRUSTED;
}

const char *
pd_rep_band_name(enum pd_rep_band band)
{
    static const char *const names[] = { "bad", "unknown", "known", "good", "trusted" };
    return (unsigned) band < sizeof names / sizeof names[0] ? names[band] : "?";
}

double
pd_rep_rate(const struct pd_rep_record *r)
{
    return r->counter[PD_REP_RATE];
}

/* floor(log2(x)) for x >= 1, robust against x a hair below a power of 2
 * from decay over a few seconds. */
static int
floor_log2(double x)
{
    return x < 1 ? 0 : (int) floor(log2(x) + 1e-9);
}

void
pd_price_compute(const struct pd_rep_params *p, const struct pd_price_input *in,
                 struct pd_price *out)
{
    static const struct pd_rep_record fresh;
    const struct pd_rep_record *id = in->identity ? in->identity : &fresh;
    const struct pd_rep_record *client = in->client ? in->client : &fresh;

    memset(out, 0, sizeof *out);
    out->net = pd_rep_net(id);
    out->band = pd_rep_band_of(out->net);
    /* A host in bad standing puts every sender on it there: otherwise it
     * would launder its record (and win the promise) through a fresh
     * envelope sender per message. */
    out->bad_standing = standing_net(id) < 0 || standing_net(client) < 0;
    if (out->bad_standing)
        out->band = PD_REP_BAND_BAD;
    out->rate = pd_rep_rate(id) > pd_rep_rate(client) ? pd_rep_rate(id) : pd_rep_rate(client);

    const struct pd_rep_record *pin = id->pinned ? id : client->pinned ? client : NULL;
    if (pin != NULL) {
        /* price_cap is the most ever asked, whoever set the price: a pin
         * above it refuses the message as a computed price above it does,
         * rather than ask for more work than the postmaster allows. */
        out->pinned = 1;
        out->raw = pin->pin_bits;
        out->over_cap = out->raw > p->cap;
        out->bits = out->raw > p->cap ? p->cap : out->raw;
        return;
    }

    int history = 0;
    if (out->net > 0) {
        history = floor_log2(1 + out->net);
        if (history > p->credit_max)
            history = p->credit_max;
    }
    out->credit = (in->spf_pass ? p->spf_credit : 0) + history;

    int penalty = in->helo_score > 0 ? in->helo_score : 0;
    if (in->spf_checked && !in->spf_pass) {
        if (in->spf_result == PD_SPF_SOFTFAIL || in->spf_result == PD_SPF_FAIL)
            penalty += p->spf_softfail_penalty;
        else
            penalty += p->spf_other_penalty;
    }
    if (out->net < 0) {
        int h = floor_log2(1 - out->net);
        penalty += h > p->cap ? p->cap : h;
    }
    out->penalty = penalty > 1000 ? 1000 : penalty;

    double surplus = out->rate / p->allowance;
    out->surcharge = surplus > 1 ? (int) ceil(log2(surplus) - 1e-9) : 0;

    out->raw = p->base - out->credit + out->penalty + out->surcharge;
    /* The promise: the price published in DNS is the most a sender in
     * good standing is asked, so that a sender who paid it is never
     * greylisted nor refused for its price.  Its volume is the quotas'
     * business; bad standing is the one exception. */
    if (!out->bad_standing && out->raw > p->published) {
        out->promised = 1;
        out->bits = p->published;
        return;
    }
    out->over_cap = out->raw > p->cap;
    out->bits = out->raw < 0 ? 0 : out->raw > p->cap ? p->cap : out->raw;
}

/* ---- serialisation --------------------------------------------------- */

static void
put_float(unsigned char *q, double v)
{
    float f = (float) v;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    pd_st_put_u32(q, u);
}

static double
get_float(const unsigned char *q)
{
    uint32_t u = pd_st_get_u32(q);
    float f;
    memcpy(&f, &u, sizeof f);
    return isfinite(f) && f > 0 ? (double) f : 0.0;
}

size_t
pd_rep_encode(const struct pd_rep_record *r, unsigned char *out, size_t cap)
{
    if (cap < RECORD_SIZE)
        return 0;
    out[0] = RECORD_VERSION;
    out[1] = r->pinned ? 1 : 0;
    out[2] = (unsigned char) (r->pinned ? r->pin_bits : 0);
    out[3] = 0;
    pd_st_put_i64(out + 4, r->first_seen);
    pd_st_put_i64(out + 12, r->updated_at);
    for (int c = 0; c < PD_REP_COUNTERS; c++)
        put_float(out + 20 + 4 * c, r->counter[c]);
    pd_st_put_u32(out + 56, r->messages);
    return RECORD_SIZE;
}

int
pd_rep_decode(const unsigned char *in, size_t len, struct pd_rep_record *r)
{
    memset(r, 0, sizeof *r);
    if (in == NULL || len != RECORD_SIZE || in[0] != RECORD_VERSION)
        return -1;
    r->pinned = in[1] & 1;
    r->pin_bits = r->pinned ? in[2] : 0;
    r->first_seen = pd_st_get_i64(in + 4);
    r->updated_at = pd_st_get_i64(in + 12);
    for (int c = 0; c < PD_REP_COUNTERS; c++)
        r->counter[c] = get_float(in + 20 + 4 * c);
    r->messages = pd_st_get_u32(in + 56);
    if (r->first_seen < 0 || r->updated_at < 0) {   /* damaged: start afresh */
        memset(r, 0, sizeof *r);
        return -1;
    }
    return 0;
}

/* ---- identities ------------------------------------------------------ */

/* Append src lowercased, replacing anything unprintable or a space, so an
 * identity is one printable token after its prefix. */
static void
append_lower(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(dst);
    for (; *src != '\0' && n + 1 < cap; src++) {
        unsigned char ch = (unsigned char) *src;
        dst[n++] = ch > 0x20 && ch < 0x7f ? (char) tolower(ch) : '?';
    }
    dst[n] = '\0';
}

int
pd_rep_identities(const char *spf_domain, const char *client_address, const char *sender,
                  unsigned v4_prefix, unsigned v6_prefix, struct pd_rep_ids *out)
{
    struct pd_addr addr;
    char net[PD_NETADDR_TEXT_MAX] = "unknown", ip[PD_NETADDR_TEXT_MAX] = "";
    int rc = 0;

    if (client_address != NULL &&
        pd_addr_parse(client_address, strlen(client_address), &addr) == PD_NETADDR_OK) {
        struct pd_cidr c;
        pd_addr_mask(&addr, addr.family == PD_ADDR_V4 ? v4_prefix : v6_prefix, &c);
        if (pd_cidr_format(&c, net, sizeof net) == 0)
            snprintf(net, sizeof net, "unknown");
        pd_addr_format(&addr, ip, sizeof ip);
    } else {
        rc = -1;
    }
    out->client[0] = '\0';
    if (ip[0] != '\0') {
        snprintf(out->client, sizeof out->client, "ip:");
        append_lower(out->client, sizeof out->client, ip);
    }
    if (spf_domain != NULL && spf_domain[0] != '\0') {
        snprintf(out->identity, sizeof out->identity, "domain:");
        append_lower(out->identity, sizeof out->identity, spf_domain);
    } else {
        snprintf(out->identity, sizeof out->identity, "sender:%s ", net);
        append_lower(out->identity, sizeof out->identity,
                     sender == NULL || sender[0] == '\0' ? "<>" : sender);
    }
    return rc;
}

int
pd_rep_identity_valid(const char *id)
{
    static const char *const prefixes[] = { "domain:", "sender:", "ip:" };
    size_t len = strnlen(id, PD_REP_ID_MAX);
    if (len == 0 || len >= PD_REP_ID_MAX)
        return 0;
    int known = 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t k = strlen(prefixes[i]);
        if (strncmp(id, prefixes[i], k) == 0 && len > k)
            known = 1;
    }
    for (size_t i = 0; known && i < len; i++)
        if ((unsigned char) id[i] < 0x20 || (unsigned char) id[i] >= 0x7f)
            known = 0;
    return known;
}

/* ---- the store ------------------------------------------------------- */

int
pd_rep_load(struct pd_state *st, const struct pd_rep_params *p, const char *id, int64_t now,
            struct pd_rep_record *out)
{
    unsigned char val[PD_ST_VALUE_MAX];
    size_t len = 0;
    int rc = pd_state_get(st, PD_TABLE_REPUTATION, id, strlen(id), now, val, sizeof val, &len,
                          NULL);
    if (rc == PD_ST_NOTFOUND || (rc == PD_ST_OK && pd_rep_decode(val, len, out) != 0)) {
        memset(out, 0, sizeof *out);
        out->updated_at = now;
        return PD_ST_OK;
    }
    if (rc != PD_ST_OK)
        return rc;
    pd_rep_decay(out, p, now);
    return PD_ST_OK;
}

int
pd_rep_load_many(struct pd_state *st, const struct pd_rep_params *p, const char *const *ids,
                 size_t n, int64_t now, struct pd_rep_record *out)
{
    struct pd_state_read rd[PD_ST_MANY_MAX];
    unsigned char val[PD_ST_MANY_MAX][PD_ST_VALUE_MAX];
    size_t k = 0, i;

    if (n > PD_ST_MANY_MAX)
        return PD_ST_ERR_INVALID;
    for (i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].updated_at = now;
        if (ids[i] == NULL || ids[i][0] == '\0')
            continue;
        memset(&rd[k], 0, sizeof rd[k]);
        rd[k].table = PD_TABLE_REPUTATION;
        rd[k].key = ids[i];
        rd[k].keylen = strlen(ids[i]);
        rd[k].val = val[k];
        rd[k].cap = sizeof val[k];
        k++;
    }
    int rc = pd_state_get_many(st, rd, k, now);
    if (rc != PD_ST_OK)
        return rc;
    for (i = 0, k = 0; i < n; i++) {
        if (ids[i] == NULL || ids[i][0] == '\0')
            continue;
        if (rd[k].status == PD_ST_OK && pd_rep_decode(val[k], rd[k].vallen, &out[i]) == 0)
            pd_rep_decay(&out[i], p, now);
        else {
            memset(&out[i], 0, sizeof out[i]);
            out[i].updated_at = now;
        }
        k++;
    }
    return PD_ST_OK;
}

struct rep_update {
    const struct pd_rep_params *params;
    const struct pd_rep_delta *delta;   /* NULL: a pin change */
    int pin;                            /* < 0: clear */
};

static enum pd_st_op
rep_update_fn(void *ctx, int64_t now, const unsigned char *cur, size_t curlen,
              unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    const struct rep_update *u = ctx;
    struct pd_rep_record r;
    if (cur == NULL || pd_rep_decode(cur, curlen, &r) != 0) {
        memset(&r, 0, sizeof r);
        r.updated_at = now;
    }
    if (u->delta != NULL) {
        pd_rep_add(&r, u->params, now, u->delta);
    } else {
        pd_rep_decay(&r, u->params, now);
        if (r.first_seen == 0)
            r.first_seen = now > 0 ? now : 1;
        r.pinned = u->pin >= 0;
        r.pin_bits = u->pin >= 0 ? u->pin : 0;
    }
    *outlen = pd_rep_encode(&r, out, PD_ST_VALUE_MAX);
    if (*outlen == 0)
        return PD_ST_KEEP;
    *expires_at = r.pinned ? PD_ST_NEVER : now + FORGET_HALF_LIVES * u->params->half_life;
    return PD_ST_PUT;
}

int
pd_rep_apply(struct pd_state *st, const struct pd_rep_params *p, const char *id, int64_t now,
             const struct pd_rep_delta *d)
{
    struct rep_update u = { p, d, -1 };
    if (id == NULL || id[0] == '\0')
        return PD_ST_ERR_INVALID;
    return pd_state_update(st, PD_TABLE_REPUTATION, id, strlen(id), now, rep_update_fn, &u);
}

/* The updates of one identity in a pd_rep_apply_many batch. */
struct rep_group {
    const struct pd_rep_update *u;      /* the whole batch                  */
    size_t n;
    size_t first;                       /* the group's first update         */
};

static enum pd_st_op
rep_group_fn(void *ctx, int64_t now, const unsigned char *cur, size_t curlen,
             unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    const struct rep_group *g = ctx;
    const struct pd_rep_update *first = &g->u[g->first];
    const struct pd_rep_params *last = first->params;
    struct pd_rep_record r;
    if (cur == NULL || pd_rep_decode(cur, curlen, &r) != 0) {
        memset(&r, 0, sizeof r);
        r.updated_at = now;
    }
    for (size_t i = g->first; i < g->n; i++) {
        if (g->u[i].id != first->id && strcmp(g->u[i].id, first->id) != 0)
            continue;
        pd_rep_add(&r, g->u[i].params, g->u[i].now, &g->u[i].delta);
        last = g->u[i].params;
    }
    *outlen = pd_rep_encode(&r, out, PD_ST_VALUE_MAX);
    if (*outlen == 0)
        return PD_ST_KEEP;
    *expires_at = r.pinned ? PD_ST_NEVER : now + FORGET_HALF_LIVES * last->half_life;
    return PD_ST_PUT;
}

int
pd_rep_apply_many(struct pd_state *st, const struct pd_rep_update *u, size_t n)
{
    struct pd_state_change ch[PD_ST_MANY_MAX];
    struct rep_group g[PD_ST_MANY_MAX];
    size_t k = 0;
    int64_t now = 0;
    int rc = PD_ST_OK;

    for (size_t i = 0; i < n; i++)
        if (u[i].id == NULL || u[i].id[0] == '\0' || u[i].params == NULL)
            return PD_ST_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        /* A group starts at the first update of each identity. */
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(u[j].id, u[i].id) == 0;
        if (seen)
            continue;
        if (k == PD_ST_MANY_MAX) {
            /* More identities than one batch holds: send these, go on. */
            rc = pd_state_update_many(st, ch, k, now);
            if (rc != PD_ST_OK)
                return rc;
            k = 0;
            now = 0;
        }
        g[k] = (struct rep_group) { u, n, i };
        ch[k] = (struct pd_state_change) { PD_TABLE_REPUTATION, u[i].id, strlen(u[i].id),
                                           rep_group_fn, &g[k] };
        for (size_t j = i; j < n; j++)
            if (u[j].now > now && strcmp(u[j].id, u[i].id) == 0)
                now = u[j].now;
        k++;
    }
    if (k > 0)
        rc = pd_state_update_many(st, ch, k, now);
    return rc;
}

int
pd_rep_pin(struct pd_state *st, const struct pd_rep_params *p, const char *id, int64_t now,
           int bits)
{
    struct rep_update u = { p, NULL, bits < 0 ? -1 : bits };
    if (id == NULL || !pd_rep_identity_valid(id) || bits > PIN_MAX)
        return PD_ST_ERR_INVALID;
    return pd_state_update(st, PD_TABLE_REPUTATION, id, strlen(id), now, rep_update_fn, &u);
}
