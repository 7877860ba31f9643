/*
 * greylist.c - greylisting decisions (policy/checks/greylist.h), kept in the
 * "greylist" and "awl" tables of the state store.
 *
 * Triplet key: client_net NUL sender' NUL recipient, all lowercased,
 * sender' normalised as postgrey does.  NUL separates the parts because
 * addresses may contain '/', postgrey's separator, and then two different
 * triplets could share one key.  Value, version 1, 26 bytes, big-endian:
 *   [0] version = 1   [1] flags (bit 0: has passed)
 *   [2..9] first seen  [10..17] last seen  [18..21] deferrals  [22..25] passes
 * Expiry: a triplet that has passed lives max_age + 1 seconds after it was
 * last seen; one that has not lives until first seen + retry_window + 1
 * (or the max_age bound, if sooner), which is exactly postgrey's rule that
 * a first retry more than retry_window late starts over.
 *
 * Auto-whitelist key: the full client address, lowercased.  Value,
 * version 1, 13 bytes: [0] version = 1, [1..4] count, [5..12] time of the
 * last count, and it lives max_age + 1 seconds after that.
 *
 * Every change is one pd_state_update, so racing processes never lose a
 * deferral, a pass or an auto-whitelist point.  The whitelist is looked at
 * first with a plain read, because nearly every request leaves it as it
 * is and a read does not take the writer lock.
 */
#include "config.h"

#include <string.h>

#include "policy/checks/greylist.h"
#include "policy/state/state.h"

#define GL_VERSION 1
#define GL_LEN 26
#define GL_PASSED 0x01
#define AWL_VERSION 1
#define AWL_LEN 13
#define KEY_MAX (PD_GL_NET_MAX + 1 + PD_GL_ADDR_MAX + 1 + PD_GL_ADDR_MAX)

/* a + b, clamped to the int64 range (settings are bounded, times are not). */
static int64_t
add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

static char
lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

static int
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int
is_word(char c)
{
    return is_alnum(c) || c == '_';
}

/* ---- sender normalisation ------------------------------------------------ */

/* The local part without its BATV tag: [*start, *end) shrinks in place. */
static void
strip_batv(const char **start, const char **end)
{
    const char *s = *start, *e = *end, *p;

    if (e - s < 5 || memcmp(s, "prvs=", 5) != 0)
        return;
    s += 5;
    /* prvs=TAG=user (the BATV draft's form) */
    for (p = s; p < e && is_alnum(*p); p++)
        ;
    if (p > s && p < e && *p == '=' && p + 1 < e) {
        *start = p + 1;
        return;
    }
    /* prvs=user/TAG (an older form): the tag follows the last '/' */
    for (p = e; p > s && p[-1] != '/'; p--)
        ;
    if (p > s + 1 && p < e) {
        const char *t;

        for (t = p; t < e && is_alnum(*t); t++)
            ;
        if (t == e) {
            *start = s;
            *end = p - 1;
        }
    }
}

int
pd_greylist_normalize_sender(const char *sender, char *out, size_t outlen)
{
    size_t n, i, w;
    const char *ls, *le, *p;
    char *at;

    if (out == NULL || outlen == 0)
        return -1;
    out[0] = '\0';
    if (sender == NULL)
        return -1;
    n = strlen(sender);
    if (n >= outlen)
        return -1;
    for (i = 0; i <= n; i++)
        out[i] = lower(sender[i]);
    at = strchr(out, '@');
    if (at == NULL)
        return (int) n;

    /* Rewrite the local part in place: every step writes at most as many
     * bytes as it has read, so the writer never overtakes the reader. */
    ls = out;
    le = at;
    strip_batv(&ls, &le);
    for (p = ls; p < le && *p != '+'; p++)
        ;
    le = p;
    w = 0;
    p = ls;
    while (p < le) {
        const char *word = p;
        int digits = 1;

        if (!is_word(*p)) {
            out[w++] = *p++;
            continue;
        }
        while (p < le && is_word(*p)) {
            if (*p < '0' || *p > '9')
                digits = 0;
            p++;
        }
        if (digits) {
            out[w++] = '#';
        } else {
            memmove(out + w, word, (size_t) (p - word));
            w += (size_t) (p - word);
        }
    }
    n = strlen(at);
    memmove(out + w, at, n + 1);
    return (int) (w + n);
}

/* ---- triplets ---------------------------------------------------------------- */

struct triplet_ctx {
    const struct pd_greylist_config *cfg;
    enum pd_greylist_result result;
    int64_t seconds;
};

static enum pd_st_op
triplet_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
           unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    struct triplet_ctx *c = vctx;
    const struct pd_greylist_config *cfg = c->cfg;
    int64_t first = now, last = now, waited;
    uint32_t defers = 0, passes = 0;
    int passed = 0, have = 0;

    if (cur != NULL && curlen == GL_LEN && cur[0] == GL_VERSION) {
        have = 1;
        passed = (cur[1] & GL_PASSED) != 0;
        first = pd_st_get_i64(cur + 2);
        defers = pd_st_get_u32(cur + 18);
        passes = pd_st_get_u32(cur + 22);
        /* The store drops such entries too; checking here as well keeps the
         * rule true whatever the entry's recorded expiry says. */
        if (!passed && now > add_sat(first, cfg->retry_window))
            have = 0;
    }
    if (!have) {
        first = now;
        defers = passes = 0;
        passed = 0;
    }

    if (passed) {
        c->result = PD_GL_PASS;
        c->seconds = 0;
        if (passes < UINT32_MAX)
            passes++;
    } else {
        if (first > now)            /* the clock went back: start from now */
            first = now;
        waited = now - first;
        if (waited < cfg->delay) {
            c->result = PD_GL_DEFER;
            c->seconds = cfg->delay - waited;
            if (defers < UINT32_MAX)
                defers++;
        } else {
            /* Without an earlier deferral (delay 0) nothing was delayed. */
            c->result = defers > 0 ? PD_GL_PASS_FIRST : PD_GL_PASS;
            c->seconds = defers > 0 ? waited : 0;
            passed = 1;
            passes = 1;
        }
    }
    last = now;

    out[0] = GL_VERSION;
    out[1] = passed ? GL_PASSED : 0;
    pd_st_put_i64(out + 2, first);
    pd_st_put_i64(out + 10, last);
    pd_st_put_u32(out + 18, defers);
    pd_st_put_u32(out + 22, passes);
    *outlen = GL_LEN;
    *expires_at = add_sat(add_sat(now, cfg->max_age), 1);
    if (!passed) {
        int64_t retry_end = add_sat(add_sat(first, cfg->retry_window), 1);

        if (retry_end < *expires_at)
            *expires_at = retry_end;
    }
    return PD_ST_PUT;
}

/* ---- auto-whitelist -------------------------------------------------------- */

struct awl_ctx {
    const struct pd_greylist_config *cfg;
    int only_if_listed;     /* refresh a whitelisted client, add nothing */
    int listed;
    uint32_t count;
};

static int
awl_parse(const unsigned char *cur, size_t curlen, uint32_t *count, int64_t *last)
{
    if (cur == NULL || curlen != AWL_LEN || cur[0] != AWL_VERSION)
        return 0;
    *count = pd_st_get_u32(cur + 1);
    *last = pd_st_get_i64(cur + 5);
    return 1;
}

/*
 * Two uses, as in postgrey: a whitelisted client's count goes on rising
 * (at most once per interval, which also keeps its entry alive), and a
 * client whose triplet has just passed earns a point (at most once per
 * interval, so one burst of messages is one point).
 */
static enum pd_st_op
awl_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
       unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    struct awl_ctx *c = vctx;
    uint32_t count = 0;
    int64_t last = 0;
    int have = awl_parse(cur, curlen, &count, &last);

    c->listed = have && count >= c->cfg->awl_count;
    c->count = have ? count : 0;
    if (c->only_if_listed && !c->listed)
        return PD_ST_KEEP;
    if (have && now < add_sat(last, c->cfg->awl_interval) && last <= now)
        return PD_ST_KEEP;
    if (count < UINT32_MAX)
        count++;
    c->count = count;
    out[0] = AWL_VERSION;
    pd_st_put_u32(out + 1, count);
    pd_st_put_i64(out + 5, now);
    *outlen = AWL_LEN;
    *expires_at = add_sat(add_sat(now, c->cfg->max_age), 1);
    return PD_ST_PUT;
}

/* ---- the decision ------------------------------------------------------------ */

static int
lower_copy(char *dst, const char *src, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        dst[i] = lower(src[i]);
    return (int) n;
}

int
pd_greylist_check(struct pd_state *st, const struct pd_greylist_config *cfg,
                  const char *client_net, const char *client_address, const char *sender,
                  const char *recipient, int64_t now, struct pd_greylist_decision *out)
{
    static const struct pd_greylist_decision none;
    char key[KEY_MAX + 1];
    char addr[PD_GL_NET_MAX];
    struct triplet_ctx tc;
    struct awl_ctx ac;
    size_t netlen, addrlen, rcptlen, klen;
    int n, rc;

    if (out == NULL)
        return PD_ST_ERR_INVALID;
    *out = none;
    out->result = PD_GL_DEFER;
    if (st == NULL || cfg == NULL || client_net == NULL || client_address == NULL
        || sender == NULL || recipient == NULL)
        return PD_ST_ERR_INVALID;
    if (cfg->delay < 0 || cfg->retry_window < 0 || cfg->max_age <= 0 || cfg->awl_interval < 0)
        return PD_ST_ERR_INVALID;
    out->seconds = cfg->delay > 0 ? cfg->delay : 1;
    netlen = strlen(client_net);
    addrlen = strlen(client_address);
    rcptlen = strlen(recipient);
    if (netlen == 0 || netlen > PD_GL_NET_MAX || addrlen == 0 || addrlen > PD_GL_NET_MAX
        || rcptlen == 0 || rcptlen > PD_GL_ADDR_MAX || strlen(sender) > PD_GL_ADDR_MAX)
        return PD_ST_ERR_INVALID;

    /* 1. A whitelisted client address passes without a triplet. */
    if (cfg->awl_count > 0) {
        unsigned char v[PD_ST_VALUE_MAX];
        size_t vlen = 0;
        uint32_t count;
        int64_t last;

        lower_copy(addr, client_address, addrlen);
        rc = pd_state_get(st, PD_TABLE_AWL, addr, addrlen, now, v, sizeof v, &vlen, NULL);
        if (rc < 0)
            return rc;
        if (rc == PD_ST_OK && awl_parse(v, vlen, &count, &last) && count >= cfg->awl_count) {
            ac.cfg = cfg;
            ac.only_if_listed = 1;
            ac.listed = 1;
            ac.count = count;
            if (now >= add_sat(last, cfg->awl_interval) || last > now) {
                rc = pd_state_update(st, PD_TABLE_AWL, addr, addrlen, now, awl_fn, &ac);
                if (rc < 0)
                    return rc;
            }
            /* Fell below the mark in between (it expired): greylist it. */
            if (ac.listed) {
                out->result = out->would = PD_GL_PASS;
                out->seconds = out->would_seconds = 0;
                out->awl = 1;
                out->awl_passes = ac.count;
                return PD_ST_OK;
            }
        }
    }

    /* 2. The triplet. */
    klen = (size_t) lower_copy(key, client_net, netlen);
    key[klen++] = '\0';
    n = pd_greylist_normalize_sender(sender, key + klen, sizeof key - klen);
    if (n < 0)
        return PD_ST_ERR_INVALID;
    klen += (size_t) n;
    key[klen++] = '\0';
    klen += (size_t) lower_copy(key + klen, recipient, rcptlen);

    tc.cfg = cfg;
    tc.result = PD_GL_DEFER;
    tc.seconds = out->seconds;
    rc = pd_state_update(st, PD_TABLE_GREYLIST, key, klen, now, triplet_fn, &tc);
    if (rc < 0)
        return rc;
    out->would = tc.result;
    out->would_seconds = tc.seconds;

    /* 3. A first pass earns the client address a point. */
    if (tc.result == PD_GL_PASS_FIRST && cfg->awl_count > 0) {
        ac.cfg = cfg;
        ac.only_if_listed = 0;
        ac.listed = 0;
        ac.count = 0;
        lower_copy(addr, client_address, addrlen);
        rc = pd_state_update(st, PD_TABLE_AWL, addr, addrlen, now, awl_fn, &ac);
        if (rc < 0)
            return rc;
        out->awl_passes = ac.count;
    }

    if (cfg->training) {
        out->result = PD_GL_PASS;
        out->seconds = 0;
    } else {
        out->result = tc.result;
        out->seconds = tc.seconds;
    }
    return PD_ST_OK;
}
