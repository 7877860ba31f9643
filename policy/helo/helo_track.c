/*
 * helo_track.c - HELO randomisation for the HELO module
 * (policy/helo/helo.h): how many distinct names a client's network used
 * in a sliding window, kept in the state store's "helo" table.
 *
 * Randomisation record, table "helo", key: the client's network as
 * pd_cidr_format gives it ("192.0.2.1/32", "2001:db8::1/128").  Value,
 * version 1, 1 + 7k bytes (k <= PD_HELO_RANDOM_SLOTS = 9, so at most 64
 * = PD_ST_VALUE_MAX):
 *   [0] version = 1, then k entries, newest first:
 *   [+0..2] a 24-bit hash of the normalised name  [+3..6] the low 32 bits
 *   of the time it was last used.
 * Only the low 32 bits of times are kept so that nine names fit; an age
 * is (now - last) mod 2^32.  The entry lives until the newest use plus
 * the window, and every update drops names older than the window, so no
 * age read back exceeds twice the window (< 2^30 seconds): the
 * subtraction never wraps into a wrong answer.  A hash collision can only
 * merge two names, i.e. undercount, which a randomiser could get more
 * cheaply by not randomising; so an unkeyed 24-bit hash is enough.
 */
#include "config.h"

#include <string.h>

#include "policy/helo/helo_internal.h"
#include "policy/state/state.h"

#define TRACK_VERSION 1
#define TRACK_ENTRY 7

/* FNV-1a over the normalised name, folded to 24 bits. */
static uint32_t
name_hash(const char *helo, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    if (n > 0 && helo[n - 1] == '.')
        n--;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char) helo_lower(helo[i]);
        h *= 16777619u;
    }
    return (h >> 24 ^ h) & 0xffffffu;
}

struct track_ctx {
    uint32_t hash;
    int64_t window;
    unsigned distinct;
};

static enum pd_st_op
track_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
         unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    struct track_ctx *c = vctx;
    uint32_t now32 = (uint32_t) ((uint64_t) now & 0xffffffffu);
    size_t k = 0, i, n = 0;

    /* Newest first: this name now, then the others still in the window. */
    out[0] = TRACK_VERSION;
    out[1] = (unsigned char) (c->hash >> 16);
    out[2] = (unsigned char) (c->hash >> 8);
    out[3] = (unsigned char) c->hash;
    pd_st_put_u32(out + 4, now32);
    k = 1;
    if (cur != NULL && curlen >= 1 && cur[0] == TRACK_VERSION && (curlen - 1) % TRACK_ENTRY == 0
        && (curlen - 1) / TRACK_ENTRY <= PD_HELO_RANDOM_SLOTS)
        n = (curlen - 1) / TRACK_ENTRY;
    for (i = 0; i < n && k < PD_HELO_RANDOM_SLOTS; i++) {
        const unsigned char *e = cur + 1 + i * TRACK_ENTRY;
        uint32_t h = (uint32_t) e[0] << 16 | (uint32_t) e[1] << 8 | e[2];
        uint32_t t = pd_st_get_u32(e + 3);
        uint32_t age = now32 - t;

        if (h == c->hash)
            continue;
        /* "In the future": the clock went back.  Count it as seen now
         * rather than let a wrapped age drop or keep it by accident. */
        if (age > 0x7fffffffu) {
            t = now32;
            age = 0;
        }
        if ((int64_t) age >= c->window)
            continue;
        memcpy(out + 1 + k * TRACK_ENTRY, e, 3);
        pd_st_put_u32(out + 1 + k * TRACK_ENTRY + 3, t);
        k++;
    }
    c->distinct = (unsigned) k;
    *outlen = 1 + k * TRACK_ENTRY;
    /* A name seen at T counts while now - T < window, so the record,
     * whose newest name is seen now, is absent from now + window on. */
    *expires_at = now > INT64_MAX - c->window ? PD_ST_NEVER : now + c->window;
    if (cur != NULL && curlen == *outlen && memcmp(cur, out, curlen) == 0)
        return PD_ST_KEEP;
    return PD_ST_PUT;
}

int
pd_helo_track(struct pd_state *st, const struct pd_helo_config *cfg,
              const struct pd_addr *client, const char *helo, int64_t now, unsigned *distinct)
{
    struct pd_cidr net;
    struct track_ctx tc;
    char key[PD_NETADDR_TEXT_MAX];
    struct pd_addr c;
    size_t klen, n;
    int rc;

    if (distinct != NULL)
        *distinct = 0;
    if (st == NULL || cfg == NULL || !helo_addr_known(client) || helo == NULL || distinct == NULL)
        return PD_ST_ERR_INVALID;
    if (cfg->random_window < 1 || cfg->random_window > PD_HELO_RANDOM_WINDOW_MAX
        || cfg->random_v6_prefix < 16 || cfg->random_v6_prefix > 128)
        return PD_ST_ERR_INVALID;
    n = strnlen(helo, PD_HELO_INPUT_MAX + 1);
    if (n == 0)
        return PD_ST_ERR_INVALID;
    c = helo_addr_norm(client);
    pd_addr_mask(&c, c.family == PD_ADDR_V4 ? 32 : cfg->random_v6_prefix, &net);
    klen = pd_cidr_format(&net, key, sizeof key);
    if (klen == 0)
        return PD_ST_ERR_INVALID;
    tc.hash = name_hash(helo, n);
    tc.window = cfg->random_window;
    tc.distinct = 1;
    rc = pd_state_update(st, PD_TABLE_HELO, key, klen, now, track_fn, &tc);
    if (rc < 0)
        return rc;
    *distinct = tc.distinct;
    return PD_ST_OK;
}
