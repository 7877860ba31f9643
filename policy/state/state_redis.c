/*
 * state_redis.c - the Redis backend of postaged's state store
 * (policy/state/state.h), over one shared connection (kv/redis_conn.h), so
 * that several daemons on several machines share greylisting, quotas and
 * reputation.  policy/state/state.c picks it for "redis://", "redis+unix://"
 * and "redis+sentinel://" specifications.
 *
 * Keys.  PREFIX "p:" TABLE ":" KEY, binary safe, PREFIX being the
 * specification's (default "postage:"; the double-spend store uses other
 * keys under the same prefix) and TABLE pd_state_table_name().  Keys are
 * never abbreviated: pd_state_scan gives back every key exactly.
 *
 * Values.  expires_at (8 bytes, big-endian two's complement) followed by
 * the module's payload (0 .. PD_ST_VALUE_MAX bytes), as in LMDB.  A value
 * of any other shape, or a key holding another Redis type, is not ours
 * and reads as absent; the next update overwrites it.
 *
 * Expiry.  A PUT sets the key's Redis expiry to expires_at - now seconds,
 * `now` being the caller's (no expiry for PD_ST_NEVER or a lifetime over
 * a century), so the server removes dead entries itself and
 * pd_state_expire has nothing to do.  The lifetime is relative on
 * purpose: Redis's clock then never decides whether an entry is live
 * (an absolute EXAT would make a server whose clock runs ahead of the
 * daemons' drop entries that are still live for them, and would make
 * every test that runs on a fixed clock in the past useless).  Liveness
 * itself is always decided from the expires_at stored in the value and
 * the caller's `now`, exactly as state.h says, whatever the server's
 * clock: an entry that Redis still holds but whose expires_at <= now is
 * absent.  A PUT of an entry already dead (expires_at <= now) deletes the
 * key.  (The double-spend store's keys expire at an absolute time by
 * Redis's clock instead; both choices are argued in docs/redis.md,
 * "Expiry clocks".)
 *
 * Atomicity.  pd_state_update is optimistic: WATCH key, GET, run the
 * callback, MULTI, SET ... EX / DEL, EXEC, all on the connection held
 * with redis_conn_lock (so the threads of one process never interleave
 * inside a transaction), in two round trips: WATCH with the read, and
 * MULTI to EXEC, are each one pipeline (redis_conn_pipeline).
 * pd_state_update_many does the same for several keys at once.  EXEC answering nil means another client changed
 * the key after WATCH: the attempt is rerun from the WATCH.  A callback
 * answering KEEP, or DELETE of an absent key, writes nothing (UNWATCH).
 *
 * Fairness.  Optimistic retries alone starve: under steady contention on
 * one key (several daemons counting one sender's quota) an updater that
 * lost once tends to lose again, and a bounded number of retries then
 * fails requests.  So each key has an advisory lock, PREFIX "l:" TABLE ":"
 * KEY, which every attempt watches and reads along with the entry (WATCH
 * key lock, MGET key lock: no extra round trip).  An updater that has
 * lost LOCK_AFTER times takes it (SET lock TOKEN NX PX LOCK_MS); while it
 * is held, everyone else waits (short random pauses, at most LOCK_WAIT_S
 * in all), and anyone already in a transaction fails its EXEC, since the
 * lock it watched changed, so the holder's next attempt cannot conflict.
 * The holder deletes the lock in the same MULTI as its write.  The lock
 * decides only who goes next, never what is written: every write is still
 * guarded by WATCH, so a lock that lapsed (a holder that died or stalled
 * past LOCK_MS) costs a wait, never an update.  An update gives up with
 * PD_ST_ERR_BACKEND naming the contention after UPDATE_TRIES conflicts or
 * LOCK_WAIT_S of waiting, neither of which happens short of a server
 * that cannot keep up.
 *
 * Scanning and counting.  SCAN with MATCH on the table's key prefix (its
 * glob characters escaped) and COUNT SCAN_COUNT; each batch of keys is
 * read with one MGET, and the callback runs after both replies have come,
 * with no lock held, so it may call the store.  SCAN may return a key more
 * than once (across a rehash); a set of 128-bit keyed digests of the keys
 * already listed drops repeats, so state.h's "never twice" holds.  Keys
 * added or removed during the scan may or may not be listed, as state.h
 * allows.
 *
 * Failures.  Every failure is PD_ST_ERR_BACKEND with the handle's error
 * text naming the server (never its password), what was being done and
 * redis_conn's reason.  An unreachable server costs each call at most the
 * specification's timeout, and nothing at all during redis_conn's
 * reconnection backoff; pd_state_open succeeds without a server.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "util/bytes.h"
#include "util/errbuf.h"
#include "policy/state/state.h"
#include "policy/state/state_backend.h"
#include "kv/redis_conn.h"
#include "policy/state/state_redis.h"

#define SCAN_COUNT "256"            /* SCAN's COUNT hint                   */
#define DIGEST_LEN 16

/* ---- errors ------------------------------------------------------------ */

/* "SERVER: what happened" into err[errlen]; returns status. */
int
pd_redis_fail(struct pd_state_redis *st, char *err, size_t errlen, int status,
              const char *fmt, ...)
{
    char msg[PD_ST_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A long message is cut short, which is all right. */
    if (err != NULL && errlen > 0 && snprintf(err, errlen, "%s: %s", st->where, msg) < 0)
        err[0] = '\0';
    return status;
}

/* redis_conn's messages start with the server's address, which pd_redis_fail()
 * puts first already: the rest of one. */
const char *
pd_redis_reason(const struct pd_state_redis *st, const char *why)
{
    size_t n = strlen(st->where);

    if (strncmp(why, st->where, n) == 0 && why[n] == ':' && why[n + 1] == ' ')
        return why + n + 2;
    return why;
}

/* What is wrong with a reply we did not expect. */
void
pd_redis_reply_problem(const redisReply *r, const char *cmd, char *why, size_t whylen)
{
    if (r->type == REDIS_REPLY_ERROR)
        errbuf_printf(why, whylen, "%s: %.*s", cmd, (int) r->len, r->str);
    else
        errbuf_printf(why, whylen, "%s: unexpected reply (type %d)", cmd, r->type);
}

int
pd_redis_is_status(const redisReply *r, const char *text)
{
    return r->type == REDIS_REPLY_STATUS && r->len == strlen(text)
        && memcmp(r->str, text, r->len) == 0;
}

/* Another type of key under our name: WRONGTYPE on GET.  Not ours. */
int
pd_redis_is_wrongtype(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->len >= 9 && memcmp(r->str, "WRONGTYPE", 9) == 0;
}

/* ---- keys and records ---------------------------------------------------- */

int
pd_redis_valid_args(struct pd_state_redis *st, enum pd_table table, const void *key, size_t keylen,
                    char *err, size_t errlen)
{
    if ((unsigned) table >= PD_TABLE_COUNT || key == NULL || keylen == 0
        || keylen > PD_ST_KEY_MAX) {
        pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "invalid table or key length %zu", keylen);
        return 0;
    }
    return 1;
}

size_t
pd_redis_make_key(const struct pd_state_redis *st, enum pd_table table, const void *key,
         size_t keylen, char *out)
{
    size_t n = st->tprefix_len[table];

    memcpy(out, st->tprefix[table], n);
    memcpy(out + n, key, keylen);
    return n + keylen;
}

/* A stored value: well formed, and live at `now`?  Sets the payload. */
int
pd_redis_record_live(const redisReply *r, int64_t now, int64_t *expires_at,
            const unsigned char **payload, size_t *len)
{
    if (r == NULL || r->type != REDIS_REPLY_STRING || r->len < HDR
        || r->len > HDR + PD_ST_VALUE_MAX)
        return 0;
    *expires_at = be_get_i64((const unsigned char *) r->str);
    if (*expires_at <= now)
        return 0;
    *payload = (const unsigned char *) r->str + HDR;
    *len = r->len - HDR;
    return 1;
}

/* Escape the glob characters of SCAN's MATCH. */
static void
glob_escape(const char *in, size_t len, char *out)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (strchr("*?[]\\", in[i]) != NULL)
            *out++ = '\\';
        *out++ = in[i];
    }
    *out = '\0';
}

/* ---- get ------------------------------------------------------------------- */

static int
pd_state_redis_get(void *handle, enum pd_table table, const void *key, size_t keylen,
                   int64_t now, void *val, size_t cap, size_t *vallen, int64_t *expires_at,
                   char *err, size_t errlen)
{
    struct pd_state_redis *st = handle;
    char why[REDIS_CONN_ERRLEN] = "";
    const unsigned char *payload = NULL;
    const char *argv[2];
    size_t lens[2], len = 0;
    int64_t exp = 0;
    redisReply *r;
    char *rkey;
    int rc;

    if (!pd_redis_valid_args(st, table, key, keylen, err, errlen))
        return PD_ST_ERR_INVALID;
    if (val == NULL && cap > 0)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "no room for the value");
    rkey = malloc(KEY_ROOM);
    if (rkey == NULL)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "out of memory");
    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = rkey;
    lens[1] = pd_redis_make_key(st, table, key, keylen, rkey);
    r = redis_conn_commandv(st->conn, why, sizeof why, 2, argv, lens);
    free(rkey);
    if (r == NULL)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "reading an entry of %s: %s",
                    pd_state_table_name(table), pd_redis_reason(st, why));
    if (r->type == REDIS_REPLY_ERROR && !pd_redis_is_wrongtype(r)) {
        pd_redis_reply_problem(r, "GET", why, sizeof why);
        freeReplyObject(r);
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "reading an entry of %s: %s",
                    pd_state_table_name(table), pd_redis_reason(st, why));
    }
    if (pd_redis_record_live(r, now, &exp, &payload, &len)) {
        if (len > 0 && cap > 0)
            memcpy(val, payload, len < cap ? len : cap);
        if (vallen != NULL)
            *vallen = len;
        if (expires_at != NULL)
            *expires_at = exp;
        rc = PD_ST_OK;
    } else {
        rc = PD_ST_NOTFOUND;
    }
    freeReplyObject(r);
    return rc;
}

/* pd_state_get_many: one MGET of every key (MGET answers nil for a key of
 * another type: not ours, absent). */
static int
pd_state_redis_get_many(void *handle, struct pd_state_read *rd, size_t n, int64_t now,
                        char *err, size_t errlen)
{
    struct pd_state_redis *st = handle;
    char why[REDIS_CONN_ERRLEN] = "";
    const char **argv = NULL;
    size_t *lens = NULL, i, room = 0;
    char *keys = NULL;
    redisReply *r;
    int rc = PD_ST_OK;

    if (n == 0)
        return PD_ST_OK;
    for (i = 0; i < n; i++) {
        if (!pd_redis_valid_args(st, rd[i].table, rd[i].key, rd[i].keylen, err, errlen))
            return PD_ST_ERR_INVALID;
        if (rd[i].val == NULL && rd[i].cap > 0)
            return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "no room for the value");
    }
    for (i = 0; i < n; i++)
        room += st->tprefix_len[rd[i].table] + rd[i].keylen;
    argv = malloc((n + 1) * sizeof *argv);
    lens = malloc((n + 1) * sizeof *lens);
    keys = malloc(room);
    if (argv == NULL || lens == NULL || keys == NULL) {
        rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "out of memory");
        goto out;
    }
    argv[0] = "MGET";
    lens[0] = 4;
    for (i = 0, room = 0; i < n; i++) {
        argv[i + 1] = keys + room;
        lens[i + 1] = pd_redis_make_key(st, rd[i].table, rd[i].key, rd[i].keylen, keys + room);
        room += lens[i + 1];
    }
    r = redis_conn_commandv(st->conn, why, sizeof why, (int) (n + 1), argv, lens);
    if (r == NULL) {
        rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "reading %zu entries: %s", n,
                           pd_redis_reason(st, why));
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        pd_redis_reply_problem(r, "MGET", why, sizeof why);
        freeReplyObject(r);
        rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "reading %zu entries: %s", n,
                           pd_redis_reason(st, why));
        goto out;
    }
    for (i = 0; i < n; i++) {
        const unsigned char *payload = NULL;
        size_t len = 0;
        int64_t exp = 0;

        rd[i].vallen = 0;
        rd[i].expires_at = 0;
        rd[i].status = PD_ST_NOTFOUND;
        if (pd_redis_record_live(r->element[i], now, &exp, &payload, &len)) {
            if (len > 0 && rd[i].cap > 0)
                memcpy(rd[i].val, payload, len < rd[i].cap ? len : rd[i].cap);
            rd[i].vallen = len;
            rd[i].expires_at = exp;
            rd[i].status = PD_ST_OK;
        }
    }
    freeReplyObject(r);
out:
    free(argv);
    free(lens);
    free(keys);
    return rc;
}

/* ---- expire ------------------------------------------------------------------ */

static int
pd_state_redis_expire(void *handle, enum pd_table table, int64_t now, unsigned batch,
                      uint64_t *removed, char *err, size_t errlen)
{
    struct pd_state_redis *st = handle;

    (void) now;
    (void) batch;
    if (removed != NULL)
        *removed = 0;
    if ((unsigned) table >= PD_TABLE_COUNT)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "invalid table %d", (int) table);
    return PD_ST_OK;                /* the server expires keys itself */
}

/* ---- scan and count ------------------------------------------------------------ */

/* The keys already listed, as 128-bit digests keyed per walk (so nobody can
 * choose keys that collide), in an open-addressing table.  An all-zero
 * slot is empty: every digest has its last bit set. */
struct seen_set {
    unsigned char (*slot)[DIGEST_LEN];
    size_t cap, used;
    unsigned char hashkey[crypto_generichash_KEYBYTES];
};

static int
seen_init(struct seen_set *s)
{
    s->cap = 1024;
    s->used = 0;
    s->slot = calloc(s->cap, DIGEST_LEN);
    randombytes_buf(s->hashkey, sizeof s->hashkey);
    return s->slot != NULL ? 0 : -1;
}

static void
seen_free(struct seen_set *s)
{
    free(s->slot);
    s->slot = NULL;
}

static size_t
seen_index(const unsigned char *d, size_t cap)
{
    uint64_t h = be_get_u64(d);

    return (size_t) (h & (uint64_t) (cap - 1));
}

/* Put d in slots (no duplicate check). */
static void
seen_place(unsigned char (*slot)[DIGEST_LEN], size_t cap, const unsigned char *d)
{
    static const unsigned char zero[DIGEST_LEN];
    size_t i = seen_index(d, cap);

    while (memcmp(slot[i], zero, DIGEST_LEN) != 0)
        i = (i + 1) & (cap - 1);
    memcpy(slot[i], d, DIGEST_LEN);
}

/* 1 if the key is new (and now remembered), 0 if seen before, -1 if out
 * of memory. */
static int
seen_add(struct seen_set *s, const void *key, size_t keylen)
{
    static const unsigned char zero[DIGEST_LEN];
    unsigned char d[DIGEST_LEN];
    size_t i;

    crypto_generichash(d, sizeof d, key, keylen, s->hashkey, sizeof s->hashkey);
    d[DIGEST_LEN - 1] |= 1;
    for (i = seen_index(d, s->cap); memcmp(s->slot[i], zero, DIGEST_LEN) != 0;
         i = (i + 1) & (s->cap - 1)) {
        if (memcmp(s->slot[i], d, DIGEST_LEN) == 0)
            return 0;
    }
    if ((s->used + 1) * 2 > s->cap) {
        size_t ncap = s->cap * 2, j;
        unsigned char (*nslot)[DIGEST_LEN] = calloc(ncap, DIGEST_LEN);

        if (nslot == NULL)
            return -1;
        for (j = 0; j < s->cap; j++)
            if (memcmp(s->slot[j], zero, DIGEST_LEN) != 0)
                seen_place(nslot, ncap, s->slot[j]);
        free(s->slot);
        s->slot = nslot;
        s->cap = ncap;
    }
    seen_place(s->slot, s->cap, d);
    s->used++;
    return 1;
}

/* What to do with each batch of new keys: PD_ST_OK to go on, SCAN_STOP
 * to stop, or a failure status. */
#define SCAN_STOP 2
typedef int (*batch_fn)(struct pd_state_redis *st, enum pd_table table,
                        const redisReply *const *keys, size_t n, void *arg, char *err,
                        size_t errlen);

/* SCAN the table's keys; hand each batch of keys not listed before to fn. */
static int
walk(struct pd_state_redis *st, enum pd_table table, const char *what, batch_fn fn,
     void *arg, char *err, size_t errlen)
{
    char why[REDIS_CONN_ERRLEN] = "", cursor[32] = "0";
    const redisReply **fresh = NULL;
    const char *argv[6];
    size_t lens[6], room = 0, n, i;
    struct seen_set seen;
    redisReply *r = NULL, *keys;
    int rc = PD_ST_OK;

    if (seen_init(&seen) != 0)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "%s of %s: out of memory", what,
                    pd_state_table_name(table));
    argv[0] = "SCAN";
    argv[2] = "MATCH";
    argv[3] = st->pattern[table];
    argv[4] = "COUNT";
    argv[5] = SCAN_COUNT;
    lens[0] = 4;
    lens[2] = 5;
    lens[3] = strlen(st->pattern[table]);
    lens[4] = 5;
    lens[5] = strlen(SCAN_COUNT);
    do {
        argv[1] = cursor;
        lens[1] = strlen(cursor);
        r = redis_conn_commandv(st->conn, why, sizeof why, 6, argv, lens);
        if (r == NULL) {
            rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "%s of %s: %s", what,
                      pd_state_table_name(table), pd_redis_reason(st, why));
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
            || r->element[0]->type != REDIS_REPLY_STRING
            || r->element[0]->len >= sizeof cursor
            || r->element[1]->type != REDIS_REPLY_ARRAY) {
            pd_redis_reply_problem(r, "SCAN", why, sizeof why);
            rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "%s of %s: %s", what,
                      pd_state_table_name(table), pd_redis_reason(st, why));
            break;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        keys = r->element[1];
        if (keys->elements > room) {
            const redisReply **nf = realloc(fresh, keys->elements * sizeof *fresh);

            if (nf == NULL) {
                rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "%s of %s: out of memory", what,
                          pd_state_table_name(table));
                break;
            }
            fresh = nf;
            room = keys->elements;
        }
        for (n = 0, i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            int added;

            /* Only keys of the form PREFIX KEY with 1 .. PD_ST_KEY_MAX bytes
             * of KEY are ours. */
            if (k->type != REDIS_REPLY_STRING || k->len <= st->tprefix_len[table]
                || k->len - st->tprefix_len[table] > PD_ST_KEY_MAX
                || memcmp(k->str, st->tprefix[table], st->tprefix_len[table]) != 0)
                continue;
            added = seen_add(&seen, k->str, k->len);
            if (added < 0) {
                rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "%s of %s: out of memory", what,
                          pd_state_table_name(table));
                break;
            }
            if (added)
                fresh[n++] = k;
        }
        if (rc == PD_ST_OK && n > 0)
            rc = fn(st, table, fresh, n, arg, err, errlen);
        freeReplyObject(r);
        r = NULL;
    } while (rc == PD_ST_OK && strcmp(cursor, "0") != 0);
    if (r != NULL)
        freeReplyObject(r);
    free(fresh);
    seen_free(&seen);
    return rc == SCAN_STOP ? PD_ST_OK : rc;
}

static int
count_batch(struct pd_state_redis *st, enum pd_table table, const redisReply *const *keys,
            size_t n, void *arg, char *err, size_t errlen)
{
    (void) st, (void) err, (void) errlen;
    (void) table;
    (void) keys;
    *(uint64_t *) arg += n;
    return PD_ST_OK;
}

static int
pd_state_redis_count(void *handle, enum pd_table table, uint64_t *count, char *err,
                     size_t errlen)
{
    struct pd_state_redis *st = handle;
    uint64_t n = 0;
    int rc;

    if ((unsigned) table >= PD_TABLE_COUNT || count == NULL)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "invalid table or no count");
    rc = walk(st, table, "counting entries", count_batch, &n, err, errlen);
    if (rc == PD_ST_OK)
        *count = n;
    return rc;
}

struct scan_arg {
    int64_t now;
    pd_state_scan_fn fn;
    void *ctx;
};

static int
scan_batch(struct pd_state_redis *st, enum pd_table table, const redisReply *const *keys,
           size_t n, void *varg, char *err, size_t errlen)
{
    struct scan_arg *a = varg;
    char why[REDIS_CONN_ERRLEN] = "";
    const char **argv;
    size_t *lens, i, plen = st->tprefix_len[table];
    redisReply *r;
    int rc = PD_ST_OK;

    argv = malloc((n + 1) * sizeof *argv);
    lens = malloc((n + 1) * sizeof *lens);
    if (argv == NULL || lens == NULL) {
        free(argv);
        free(lens);
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "listing entries of %s: out of memory",
                    pd_state_table_name(table));
    }
    argv[0] = "MGET";
    lens[0] = 4;
    for (i = 0; i < n; i++) {
        argv[i + 1] = keys[i]->str;
        lens[i + 1] = keys[i]->len;
    }
    r = redis_conn_commandv(st->conn, why, sizeof why, (int) (n + 1), argv, lens);
    free(argv);
    free(lens);
    if (r == NULL)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "listing entries of %s: %s",
                    pd_state_table_name(table), pd_redis_reason(st, why));
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        pd_redis_reply_problem(r, "MGET", why, sizeof why);
        freeReplyObject(r);
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "listing entries of %s: %s",
                    pd_state_table_name(table), pd_redis_reason(st, why));
    }
    /* The replies are ours alone: no lock is held while fn runs. */
    for (i = 0; i < n; i++) {
        const unsigned char *payload = NULL;
        size_t len = 0;
        int64_t exp;

        if (!pd_redis_record_live(r->element[i], a->now, &exp, &payload, &len))
            continue;
        if (a->fn(a->ctx, keys[i]->str + plen, keys[i]->len - plen,
                  len > 0 ? payload : (const unsigned char *) "", len, exp) != 0) {
            rc = SCAN_STOP;
            break;
        }
    }
    freeReplyObject(r);
    return rc;
}

static int
pd_state_redis_scan(void *handle, enum pd_table table, int64_t now, pd_state_scan_fn fn,
                    void *ctx, char *err, size_t errlen)
{
    struct pd_state_redis *st = handle;
    struct scan_arg arg;

    if ((unsigned) table >= PD_TABLE_COUNT || fn == NULL)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "invalid table or no scan callback");
    arg.now = now;
    arg.fn = fn;
    arg.ctx = ctx;
    return walk(st, table, "listing entries", scan_batch, &arg, err, errlen);
}

/* ---- open and close ------------------------------------------------------------- */

static int
pd_state_redis_open(const char *spec, unsigned flags, void **out, char *err, size_t errlen)
{
    struct pd_state_redis *st;
    struct redis_spec *rs;
    char why[REDIS_CONN_ERRLEN] = "";
    const char *prefix;
    int t;

    /* Nothing to create and no fsync of ours: both flags mean nothing. */
    (void) flags;
    *out = NULL;
    rs = calloc(1, sizeof *rs);
    st = calloc(1, sizeof *st);
    if (rs == NULL || st == NULL) {
        free(rs);
        free(st);
        errbuf_printf(err, errlen, "out of memory opening the Redis state store");
        return PD_ST_ERR_NOMEM;
    }
    if (redis_spec_parse(spec, rs, why, sizeof why) != 0) {
        errbuf_printf(err, errlen, "state store: %s", why);
        free(rs);
        free(st);
        return PD_ST_ERR_INVALID;
    }
    free(rs);
    if (sodium_init() < 0) {
        errbuf_printf(err, errlen, "libsodium failed to initialise");
        free(st);
        return PD_ST_ERR_BACKEND;
    }
    /* An unreachable server is not an error here: calls fail until it
     * comes (redis_conn reconnects with backoff). */
    st->conn = redis_conn_open(spec, 0, why, sizeof why);
    if (st->conn == NULL) {
        errbuf_printf(err, errlen, "%s", why);
        free(st);
        return PD_ST_ERR_BACKEND;
    }
    if (pthread_mutex_init(&st->add_lock, NULL) != 0) {
        errbuf_printf(err, errlen, "cannot create a mutex");
        redis_conn_close(st->conn);
        free(st);
        return PD_ST_ERR_NOMEM;
    }
    snprintf(st->where, sizeof st->where, "%s", redis_conn_address(st->conn));
    prefix = redis_conn_prefix(st->conn);
    for (t = 0; t < PD_TABLE_COUNT; t++) {
        int n = snprintf(st->tprefix[t], sizeof st->tprefix[t], "%sp:%s:", prefix,
                         pd_state_table_name((enum pd_table) t));

        if (n < 0 || (size_t) n >= sizeof st->tprefix[t]) {
            errbuf_printf(err, errlen, "%s: key prefix too long", st->where);
            pthread_mutex_destroy(&st->add_lock);
            redis_conn_close(st->conn);
            free(st);
            return PD_ST_ERR_INVALID;
        }
        st->tprefix_len[t] = (size_t) n;
        glob_escape(st->tprefix[t], st->tprefix_len[t], st->pattern[t]);
        strcat(st->pattern[t], "*");
    }
    *out = st;
    return PD_ST_OK;
}

static int
pd_state_redis_sync(void *handle, char *err, size_t errlen)
{
    (void) handle, (void) err, (void) errlen;
    return PD_ST_OK;                /* persistence is the server's business */
}

static void
pd_state_redis_set_notify(void *handle, pd_state_notify_fn fn, void *ctx)
{
    struct pd_state_redis *st = handle;

    redis_conn_set_notify(st->conn, fn, ctx);
}

static void
pd_state_redis_close(void *handle)
{
    struct pd_state_redis *st = handle;

    redis_conn_close(st->conn);
    pthread_mutex_destroy(&st->add_lock);
    free(st);
}

const struct pd_state_ops pd_state_redis_ops = {
    .name = "redis",
    .open = pd_state_redis_open,
    .update = pd_state_redis_update,
    .get = pd_state_redis_get,
    .expire = pd_state_redis_expire,
    .scan = pd_state_redis_scan,
    .count = pd_state_redis_count,
    .sync = pd_state_redis_sync,
    .set_notify = pd_state_redis_set_notify,
    .close = pd_state_redis_close,
    .update_many = pd_state_redis_update_many,
    .get_many = pd_state_redis_get_many,
    .add_many = pd_state_redis_add_many,
};
