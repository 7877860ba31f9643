/*
 * state_redis_update.c - pd_state_update for the Redis backend of
 * postaged's state store: WATCH, GET, the callback, MULTI, SET ... EX or
 * DEL, EXEC, retried on conflict, with a per-key advisory lock taken after
 * LOCK_AFTER conflicts so that steady contention does not starve anyone.
 * The design (atomicity, fairness, expiry) is described at the top of
 * state_redis.c; the Redis expiry clock in docs/redis.md, "Expiry clocks".
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

#define UPDATE_TRIES 50             /* conflicts before an update gives up */
#define LOCK_AFTER 3                /* conflicts before taking the lock     */
#define LOCK_MS "1000"              /* the lock lapses after this (PX)      */
#define LOCK_WAIT_S 2.0             /* longest wait for others' locks       */
/* Longer lifetimes get no Redis expiry at all (and stay clear of the
 * server's overflow checks): 100 years. */
#define TTL_MAX ((uint64_t) 100 * 366 * 86400)

/* ---- update ---------------------------------------------------------------- */

/* Outcomes of one attempt, besides the PD_ST_* statuses. */
#define CONFLICT 1                  /* EXEC aborted: the key changed        */
#define LOCKED 2                    /* another updater holds the key's lock */

/* One update in progress. */
struct upd {
    const char *key, *lock;         /* the entry's key and its lock's key   */
    size_t keylen, locklen;
    int64_t now;
    pd_state_fn fn;
    void *ctx;
    int have_lock;                  /* we set the lock (it may have lapsed) */
    char token[2 * 16 + 1];         /* our lock's value                     */
    char why[REDIS_CONN_ERRLEN];
};

/* The connection is held.  Sends a command; NULL with why set if the
 * connection failed (redis_conn has dropped it: no WATCH or MULTI state
 * survives). */
static redisReply *
cmd_locked(struct pd_state_redis *st, char *why, size_t whylen, int argc, const char **argv,
           const size_t *lens)
{
    return redis_conn_commandv_locked(st->conn, why, whylen, argc, argv, lens);
}

static void
send_simple(struct pd_state_redis *st, const char *cmd)
{
    char why[REDIS_CONN_ERRLEN];
    const char *argv[1] = { cmd };
    size_t lens[1] = { strlen(cmd) };
    redisReply *r = cmd_locked(st, why, sizeof why, 1, argv, lens);

    if (r != NULL)
        freeReplyObject(r);
}

/* MULTI, the write, DEL of our lock if we hold it, EXEC, in one round
 * trip.  Returns PD_ST_OK, PD_ST_ERR_BACKEND (why set) or CONFLICT.  A
 * command that Redis refuses to queue makes EXEC answer EXECABORT: the
 * transaction is then discarded whole, and the WATCH forgotten. */
static int
transaction(struct pd_state_redis *st, struct upd *u, int release, int argc,
            const char **argv, const size_t *lens)
{
    static const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
    static const size_t multi_len[1] = { 5 }, exec_len[1] = { 4 };
    const char *del[2] = { "DEL", u->lock };
    size_t del_len[2] = { 3, u->locklen };
    struct redis_cmd cmds[4];
    redisReply *r[4];
    size_t n = 0, expect = release ? 2 : 1, i;
    int rc = PD_ST_OK;

    cmds[n++] = (struct redis_cmd) { 1, multi, multi_len };
    cmds[n++] = (struct redis_cmd) { argc, argv, lens };
    if (release)
        cmds[n++] = (struct redis_cmd) { 2, del, del_len };
    cmds[n++] = (struct redis_cmd) { 1, exec, exec_len };
    if (redis_conn_pipeline_locked(st->conn, u->why, sizeof u->why, n, cmds, r) != 0)
        return PD_ST_ERR_BACKEND;
    if (!pd_redis_is_status(r[0], "OK")) {
        pd_redis_reply_problem(r[0], "MULTI", u->why, sizeof u->why);
        rc = PD_ST_ERR_BACKEND;
    }
    for (i = 1; i + 1 < n && rc == PD_ST_OK; i++)
        if (!pd_redis_is_status(r[i], "QUEUED")) {
            pd_redis_reply_problem(r[i], i == 1 ? argv[0] : "DEL", u->why, sizeof u->why);
            rc = PD_ST_ERR_BACKEND;
        }
    if (rc == PD_ST_OK) {
        const redisReply *x = r[n - 1];

        if (x->type == REDIS_REPLY_NIL) {
            rc = CONFLICT;                       /* someone changed a watched key */
        } else if (x->type != REDIS_REPLY_ARRAY || x->elements != expect) {
            pd_redis_reply_problem(x, "EXEC", u->why, sizeof u->why);
            rc = PD_ST_ERR_BACKEND;
        } else {
            for (i = 0; i < expect && rc == PD_ST_OK; i++)
                if (x->element[i]->type == REDIS_REPLY_ERROR) {
                    pd_redis_reply_problem(x->element[i], i == 0 ? argv[0] : "DEL", u->why,
                                           sizeof u->why);
                    rc = PD_ST_ERR_BACKEND;
                }
        }
    }
    for (i = 0; i < n; i++)
        freeReplyObject(r[i]);
    if (rc == PD_ST_OK && release)
        u->have_lock = 0;
    return rc;
}

/* The write an update asks for, ready to send: SET key rec [EX ttl], DEL
 * key, or nothing (argc 0).  argv points into the struct itself. */
struct write {
    int argc;
    const char *argv[5];
    size_t lens[5];
    unsigned char rec[HDR + PD_ST_VALUE_MAX];
    char ttl[24];
};

/* Run the callback on the entry as MGET gave it (val) and plan its write
 * into w.  PD_ST_OK, or PD_ST_ERR_CALLBACK (a value too long: nothing is
 * to be written). */
static int
plan_write(const char *key, size_t keylen, const redisReply *val, int64_t now, pd_state_fn fn,
           void *ctx, struct write *w)
{
    unsigned char cur[PD_ST_VALUE_MAX];
    const unsigned char *payload = NULL;
    size_t curlen = 0, outlen = 0;
    int64_t expires_at = PD_ST_NEVER;
    int present = val->type != REDIS_REPLY_NIL;
    int live = pd_redis_record_live(val, now, &expires_at, &payload, &curlen);
    enum pd_st_op op;

    if (live)
        memcpy(cur, payload, curlen);       /* a private copy for the callback */
    else
        expires_at = PD_ST_NEVER;
    w->argc = 0;
    op = fn(ctx, now, live ? cur : NULL, curlen, w->rec + HDR, &outlen, &expires_at);
    if (op == PD_ST_PUT && outlen > PD_ST_VALUE_MAX)
        return PD_ST_ERR_CALLBACK;
    if (op == PD_ST_PUT && expires_at <= now)
        op = PD_ST_DELETE;                  /* dead on arrival: nothing to keep */
    w->argv[1] = key;
    w->lens[1] = keylen;
    if (op == PD_ST_PUT) {
        uint64_t life = (uint64_t) expires_at - (uint64_t) now;

        be_put_i64(w->rec, expires_at);
        w->argv[0] = "SET";
        w->lens[0] = 3;
        w->argv[2] = (const char *) w->rec;
        w->lens[2] = HDR + outlen;
        w->argc = 3;
        if (expires_at != PD_ST_NEVER && life <= TTL_MAX) {
            snprintf(w->ttl, sizeof w->ttl, "%llu", (unsigned long long) life);
            w->argv[3] = "EX";
            w->lens[3] = 2;
            w->argv[4] = w->ttl;
            w->lens[4] = strlen(w->ttl);
            w->argc = 5;
        }
    } else if (op == PD_ST_DELETE && present) {
        w->argv[0] = "DEL";
        w->lens[0] = 3;
        w->argc = 2;
    }
    /* KEEP, or DELETE of nothing: no write. */
    return PD_ST_OK;
}

/* One attempt, the connection held: WATCH and MGET in one round trip,
 * the callback, then the transaction in another.  Returns PD_ST_OK,
 * PD_ST_ERR_CALLBACK, PD_ST_ERR_BACKEND (u->why set), CONFLICT or LOCKED.
 * Leaves nothing watched. */
static int
attempt(struct pd_state_redis *st, struct upd *u)
{
    const char *watch[3], *mget[3];
    size_t wlens[3], mlens[3];
    const redisReply *lock;
    struct redis_cmd cmds[2];
    redisReply *rr[2], *r;
    struct write w;
    int ours, rc;

    /* Watch the lock too: whoever takes it makes our EXEC fail.  MGET
     * answers nil for a key of another type: not ours, absent. */
    watch[0] = "WATCH";
    wlens[0] = 5;
    mget[0] = "MGET";
    mlens[0] = 4;
    watch[1] = mget[1] = u->key;
    wlens[1] = mlens[1] = u->keylen;
    watch[2] = mget[2] = u->lock;
    wlens[2] = mlens[2] = u->locklen;
    cmds[0] = (struct redis_cmd) { 3, watch, wlens };
    cmds[1] = (struct redis_cmd) { 3, mget, mlens };
    if (redis_conn_pipeline_locked(st->conn, u->why, sizeof u->why, 2, cmds, rr) != 0)
        return PD_ST_ERR_BACKEND;
    r = rr[1];
    if (!pd_redis_is_status(rr[0], "OK")) {
        pd_redis_reply_problem(rr[0], "WATCH", u->why, sizeof u->why);
        freeReplyObject(rr[0]);
        freeReplyObject(r);
        send_simple(st, "UNWATCH");
        return PD_ST_ERR_BACKEND;
    }
    freeReplyObject(rr[0]);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        pd_redis_reply_problem(r, "MGET", u->why, sizeof u->why);
        freeReplyObject(r);
        send_simple(st, "UNWATCH");
        return PD_ST_ERR_BACKEND;
    }
    lock = r->element[1];
    ours = u->have_lock && lock->type == REDIS_REPLY_STRING
           && lock->len == strlen(u->token) && memcmp(lock->str, u->token, lock->len) == 0;
    if (lock->type != REDIS_REPLY_NIL && !ours) {
        freeReplyObject(r);
        send_simple(st, "UNWATCH");
        return LOCKED;
    }
    if (!ours)
        u->have_lock = 0;                   /* it lapsed: nothing to release */
    rc = plan_write(u->key, u->keylen, r->element[0], u->now, u->fn, u->ctx, &w);
    freeReplyObject(r);
    if (rc != PD_ST_OK || w.argc == 0) {
        /* No write: the answer stands as of the MGET.  The caller
         * releases our lock. */
        send_simple(st, "UNWATCH");
        return rc;
    }
    return transaction(st, u, ours, w.argc, w.argv, w.lens);
}

/* Take the key's lock: 1 if taken, 0 if someone else holds it, -1 with
 * u->why set on a failure. */
static int
take_lock(struct pd_state_redis *st, struct upd *u)
{
    const char *argv[6] = { "SET", u->lock, u->token, "NX", "PX", LOCK_MS };
    size_t lens[6] = { 3, u->locklen, strlen(u->token), 2, 2, strlen(LOCK_MS) };
    redisReply *r = redis_conn_commandv(st->conn, u->why, sizeof u->why, 6, argv, lens);
    int rc;

    if (r == NULL)
        return -1;
    if (pd_redis_is_status(r, "OK")) {
        rc = 1;
        u->have_lock = 1;
    } else if (r->type == REDIS_REPLY_NIL) {
        rc = 0;
    } else {
        pd_redis_reply_problem(r, "SET NX", u->why, sizeof u->why);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/* Let go of the lock if we still hold it (best effort: it lapses anyway). */
static void
drop_lock(struct pd_state_redis *st, struct upd *u)
{
    static const char script[] =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
        "return 0";
    const char *argv[5] = { "EVAL", script, "1", u->lock, u->token };
    size_t lens[5] = { 4, sizeof script - 1, 1, u->locklen, strlen(u->token) };
    char why[REDIS_CONN_ERRLEN];
    redisReply *r;

    if (!u->have_lock)
        return;
    u->have_lock = 0;
    r = redis_conn_commandv(st->conn, why, sizeof why, 5, argv, lens);
    if (r != NULL)
        freeReplyObject(r);
}

static double
mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A random pause of up to max_us microseconds. */
static void
pause_us(uint32_t max_us)
{
    struct timespec ts;
    uint32_t us = randombytes_uniform(max_us) + 1;

    ts.tv_sec = 0;
    ts.tv_nsec = (long) us * 1000L;
    nanosleep(&ts, NULL);
}

int
pd_state_redis_update(void *handle, enum pd_table table, const void *key, size_t keylen,
                      int64_t now, pd_state_fn fn, void *ctx, char *err, size_t errlen)
{
    struct pd_state_redis *st = handle;
    unsigned char rnd[16];
    struct upd *u;
    int conflicts = 0, rc, i;
    double start = 0;

    if (!pd_redis_valid_args(st, table, key, keylen, err, errlen))
        return PD_ST_ERR_INVALID;
    if (fn == NULL)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "no update callback");
    u = calloc(1, sizeof *u + 2 * KEY_ROOM);
    if (u == NULL)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "out of memory");
    {
        char *k = (char *) (u + 1), *l = k + KEY_ROOM;

        u->keylen = pd_redis_make_key(st, table, key, keylen, k);
        /* The lock of PREFIX "p:" TABLE ":" KEY is PREFIX "l:" TABLE ":" KEY. */
        memcpy(l, k, u->keylen);
        l[st->tprefix_len[table] - strlen(pd_state_table_name(table)) - 3] = 'l';
        u->locklen = u->keylen;
        u->key = k;
        u->lock = l;
    }
    u->now = now;
    u->fn = fn;
    u->ctx = ctx;
    randombytes_buf(rnd, sizeof rnd);
    for (i = 0; i < (int) sizeof rnd; i++)
        snprintf(u->token + 2 * i, 3, "%02x", rnd[i]);

    for (;;) {
        if (!u->have_lock && conflicts >= LOCK_AFTER) {
            rc = take_lock(st, u);
            if (rc < 0) {
                rc = PD_ST_ERR_BACKEND;
                break;
            }
        }
        redis_conn_lock(st->conn);
        rc = attempt(st, u);
        redis_conn_unlock(st->conn);
        if (rc == CONFLICT) {
            if (++conflicts >= UPDATE_TRIES)
                break;
            if (!u->have_lock)
                pause_us(200);
            continue;
        }
        if (rc == LOCKED) {
            /* Another updater's turn: wait for it, within bounds. */
            if (start == 0)
                start = mono_s();
            else if (mono_s() - start > LOCK_WAIT_S)
                break;
            pause_us(500);
            continue;
        }
        break;
    }
    drop_lock(st, u);
    switch (rc) {
    case PD_ST_OK:
        break;
    case PD_ST_ERR_CALLBACK:
        rc = pd_redis_fail(st, err, errlen, rc, "updating an entry of %s: the callback returned a value over %d "
                  "bytes", pd_state_table_name(table), PD_ST_VALUE_MAX);
        break;
    case CONFLICT:
        rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "updating an entry of %s: gave up after %d "
                  "conflicting attempts: the entry kept changing (contention on one key)",
                  pd_state_table_name(table), UPDATE_TRIES);
        break;
    case LOCKED:
        rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "updating an entry of %s: gave up after %.0f s "
                  "waiting for other updaters of the entry (contention on one key)",
                  pd_state_table_name(table), LOCK_WAIT_S);
        break;
    default:
        rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "updating an entry of %s: %s",
                  pd_state_table_name(table), pd_redis_reason(st, u->why));
        break;
    }
    free(u);
    return rc;
}

/* ---- several entries at once ------------------------------------------------ */

/* pd_state_update_many: one WATCH of every entry and its lock with one
 * MGET of them all (one round trip), every callback, then one MULTI ...
 * EXEC with every write (another): two round trips, however many
 * entries.  Each entry is guarded by its WATCH as a single update is, so
 * nothing another client writes in between is lost.  The fairness locks
 * are left to the single update: when an entry's lock is held by someone
 * else, when the batch has lost MANY_TRIES times in a row, or when a key
 * comes twice (MULTI would apply both writes to the value both callbacks
 * read, losing one), the entries go one by one through
 * pd_state_redis_update instead, each still atomic. */
#define MANY_TRIES LOCK_AFTER

/* Outcome of one batch attempt besides the PD_ST_* statuses: go one by one. */
#define ONE_BY_ONE 3

static int
many_attempt(struct pd_state_redis *st, const struct pd_state_change *ch, size_t n,
             int64_t now, char *const *keys, const size_t *keylens, struct write *w,
             char *why, size_t whylen)
{
    static const char *exec[1] = { "EXEC" }, *multi[1] = { "MULTI" };
    static const size_t exec_len[1] = { 4 }, multi_len[1] = { 5 };
    const char **argv = malloc(2 * (2 * n + 1) * sizeof *argv);
    size_t *lens = malloc(2 * (2 * n + 1) * sizeof *lens);
    struct redis_cmd *cmds = malloc((n + 2) * sizeof *cmds);
    redisReply **rr = malloc((n + 2) * sizeof *rr), *r = NULL;
    size_t i, k, writes = 0;
    int rc = PD_ST_OK;

    if (argv == NULL || lens == NULL || cmds == NULL || rr == NULL) {
        errbuf_printf(why, whylen, "out of memory");
        rc = PD_ST_ERR_NOMEM;
        goto out;
    }
    /* WATCH k1 l1 k2 l2 ..., MGET k1 l1 k2 l2 ...: the lock of PREFIX
     * "p:" ... is PREFIX "l:" ..., made in keys[i] + keylens[i]. */
    argv[0] = "WATCH";
    lens[0] = 5;
    argv[2 * n + 1] = "MGET";
    lens[2 * n + 1] = 4;
    for (i = 0; i < n; i++) {
        argv[1 + 2 * i] = argv[2 * n + 2 + 2 * i] = keys[i];
        lens[1 + 2 * i] = lens[2 * n + 2 + 2 * i] = keylens[i];
        argv[2 + 2 * i] = argv[2 * n + 3 + 2 * i] = keys[i] + keylens[i];
        lens[2 + 2 * i] = lens[2 * n + 3 + 2 * i] = keylens[i];
    }
    cmds[0] = (struct redis_cmd) { (int) (2 * n + 1), argv, lens };
    cmds[1] = (struct redis_cmd) { (int) (2 * n + 1), argv + 2 * n + 1, lens + 2 * n + 1 };
    if (redis_conn_pipeline_locked(st->conn, why, whylen, 2, cmds, rr) != 0) {
        rc = PD_ST_ERR_BACKEND;
        goto out;
    }
    r = rr[1];
    if (!pd_redis_is_status(rr[0], "OK") || r->type != REDIS_REPLY_ARRAY
        || r->elements != 2 * n) {
        if (!pd_redis_is_status(rr[0], "OK"))
            pd_redis_reply_problem(rr[0], "WATCH", why, whylen);
        else
            pd_redis_reply_problem(r, "MGET", why, whylen);
        freeReplyObject(rr[0]);
        send_simple(st, "UNWATCH");
        rc = PD_ST_ERR_BACKEND;
        goto out;
    }
    freeReplyObject(rr[0]);
    for (i = 0; i < n && rc == PD_ST_OK; i++)
        if (r->element[2 * i + 1]->type != REDIS_REPLY_NIL)
            rc = ONE_BY_ONE;                /* someone's turn: the single path waits */
    for (i = 0; i < n && rc == PD_ST_OK; i++) {
        rc = plan_write(keys[i], keylens[i], r->element[2 * i], now, ch[i].fn, ch[i].ctx, &w[i]);
        writes += w[i].argc > 0;
    }
    if (rc != PD_ST_OK || writes == 0) {
        send_simple(st, "UNWATCH");
        goto out;
    }
    k = 0;
    cmds[k++] = (struct redis_cmd) { 1, multi, multi_len };
    for (i = 0; i < n; i++)
        if (w[i].argc > 0)
            cmds[k++] = (struct redis_cmd) { w[i].argc, w[i].argv, w[i].lens };
    cmds[k++] = (struct redis_cmd) { 1, exec, exec_len };
    if (redis_conn_pipeline_locked(st->conn, why, whylen, k, cmds, rr) != 0) {
        rc = PD_ST_ERR_BACKEND;
        goto out;
    }
    if (!pd_redis_is_status(rr[0], "OK")) {
        pd_redis_reply_problem(rr[0], "MULTI", why, whylen);
        rc = PD_ST_ERR_BACKEND;
    }
    for (i = 1; i + 1 < k && rc == PD_ST_OK; i++)
        if (!pd_redis_is_status(rr[i], "QUEUED")) {
            pd_redis_reply_problem(rr[i], cmds[i].argv[0], why, whylen);
            rc = PD_ST_ERR_BACKEND;
        }
    if (rc == PD_ST_OK) {
        const redisReply *x = rr[k - 1];

        if (x->type == REDIS_REPLY_NIL) {
            rc = CONFLICT;
        } else if (x->type != REDIS_REPLY_ARRAY || x->elements != writes) {
            pd_redis_reply_problem(x, "EXEC", why, whylen);
            rc = PD_ST_ERR_BACKEND;
        } else {
            for (i = 0; i < writes && rc == PD_ST_OK; i++)
                if (x->element[i]->type == REDIS_REPLY_ERROR) {
                    pd_redis_reply_problem(x->element[i], cmds[i + 1].argv[0], why, whylen);
                    rc = PD_ST_ERR_BACKEND;
                }
        }
    }
    for (i = 0; i < k; i++)
        freeReplyObject(rr[i]);
out:
    if (r != NULL)
        freeReplyObject(r);
    free(argv);
    free(lens);
    free(cmds);
    free(rr);
    return rc;
}

int
pd_state_redis_update_many(void *handle, const struct pd_state_change *ch, size_t n,
                           int64_t now, char *err, size_t errlen)
{
    struct pd_state_redis *st = handle;
    char why[REDIS_CONN_ERRLEN] = "";
    char **keys = NULL;
    size_t *keylens = NULL, i, j;
    struct write *w = NULL;
    int rc = PD_ST_OK, tries;

    if (n == 0)
        return PD_ST_OK;
    if (ch == NULL)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "no entries to update");
    for (i = 0; i < n; i++) {
        if (!pd_redis_valid_args(st, ch[i].table, ch[i].key, ch[i].keylen, err, errlen))
            return PD_ST_ERR_INVALID;
        if (ch[i].fn == NULL)
            return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "no update callback");
    }
    if (n == 1 || n > PD_ST_MANY_MAX)
        goto one_by_one;
    keys = calloc(n, sizeof *keys);
    keylens = calloc(n, sizeof *keylens);
    w = malloc(n * sizeof *w);
    if (keys == NULL || keylens == NULL || w == NULL)
        goto nomem;
    for (i = 0; i < n; i++) {
        size_t t = st->tprefix_len[ch[i].table];

        keys[i] = malloc(2 * (t + ch[i].keylen));   /* the key, then its lock */
        if (keys[i] == NULL)
            goto nomem;
        keylens[i] = pd_redis_make_key(st, ch[i].table, ch[i].key, ch[i].keylen, keys[i]);
        memcpy(keys[i] + keylens[i], keys[i], keylens[i]);
        keys[i][keylens[i] + t - strlen(pd_state_table_name(ch[i].table)) - 3] = 'l';
        for (j = 0; j < i; j++)
            if (keylens[j] == keylens[i] && memcmp(keys[j], keys[i], keylens[i]) == 0)
                goto one_by_one;            /* a key twice */
    }
    for (tries = 0; tries < MANY_TRIES; tries++) {
        redis_conn_lock(st->conn);
        rc = many_attempt(st, ch, n, now, keys, keylens, w, why, sizeof why);
        redis_conn_unlock(st->conn);
        if (rc != CONFLICT)
            break;
        pause_us(200);
    }
    if (rc == CONFLICT || rc == ONE_BY_ONE)
        goto one_by_one;
    if (rc == PD_ST_ERR_CALLBACK)
        rc = pd_redis_fail(st, err, errlen, rc, "updating entries: a callback returned a value "
                           "over %d bytes", PD_ST_VALUE_MAX);
    else if (rc == PD_ST_ERR_NOMEM)
        rc = pd_redis_fail(st, err, errlen, rc, "updating entries: out of memory");
    else if (rc != PD_ST_OK)
        rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_BACKEND, "updating entries: %s",
                           pd_redis_reason(st, why));
    goto out;
nomem:
    rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "out of memory");
    goto out;
one_by_one:
    rc = PD_ST_OK;
    for (i = 0; i < n && rc == PD_ST_OK; i++)
        rc = pd_state_redis_update(handle, ch[i].table, ch[i].key, ch[i].keylen, now, ch[i].fn,
                                   ch[i].ctx, err, errlen);
out:
    if (keys != NULL)
        for (i = 0; i < n; i++)
            free(keys[i]);
    free(keys);
    free(keylens);
    free(w);
    return rc;
}

/* ---- marks: stored unless a live one is there, by a script ------------------- */

/* pd_state_add_many in one round trip: a script (atomic, as every script
 * is) that for each key reads the entry, keeps it if it is live at `now`
 * (the daemon's, ARGV[1]; liveness from the expires_at in the value, as
 * pd_redis_record_live judges it) and otherwise writes the new value
 * (ARGV[2i], with EX ARGV[2i+1] unless that is empty).  A key of another
 * type, or a value of another shape, is not ours: it is overwritten, as
 * the next update would.  The script does not wait for the fairness locks:
 * being atomic it cannot lose anyone's update (an updater that watched
 * the key just tries again).  The expiry is decoded in Lua's doubles:
 * exact below 2^53, and above that far from any `now`, so the comparison
 * holds.  Sent with EVALSHA; the first time, and after NOSCRIPT (a
 * restarted or failed-over server), with SCRIPT LOAD and EVAL in one
 * pipeline, which also tells the script's SHA-1. */
#define ADD_SCRIPT_MAXLEN "72"
_Static_assert(HDR + PD_ST_VALUE_MAX == 72, "ADD_SCRIPT_MAXLEN is HDR + PD_ST_VALUE_MAX");
static const char add_script[] =
    "local now = tonumber(ARGV[1])\n"
    "local out = {}\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local v = redis.pcall('GET', k)\n"
    "  local live = false\n"
    "  if type(v) == 'string' and #v >= 8 and #v <= " ADD_SCRIPT_MAXLEN " then\n"
    "    local x = 0\n"
    "    for j = 1, 8 do x = x * 256 + string.byte(v, j) end\n"
    "    if string.byte(v, 1) >= 128 then x = x - 18446744073709551616 end\n"
    "    live = x > now\n"
    "  end\n"
    "  if live then\n"
    "    out[i] = 1\n"
    "  else\n"
    "    local ttl = ARGV[2 * i + 1]\n"
    "    if ttl == '' then\n"
    "      redis.call('SET', k, ARGV[2 * i])\n"
    "    else\n"
    "      redis.call('SET', k, ARGV[2 * i], 'EX', ttl)\n"
    "    end\n"
    "    out[i] = 0\n"
    "  end\n"
    "end\n"
    "return out\n";

/* The script's reply: n integers 0 or 1.  PD_ST_OK, or PD_ST_ERR_BACKEND
 * with why set. */
static int
add_reply(const redisReply *r, struct pd_state_add *a, size_t n, char *why, size_t whylen)
{
    size_t i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        pd_redis_reply_problem(r, "EVALSHA", why, whylen);
        return PD_ST_ERR_BACKEND;
    }
    for (i = 0; i < n; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER) {
            pd_redis_reply_problem(r->element[i], "EVALSHA", why, whylen);
            return PD_ST_ERR_BACKEND;
        }
    for (i = 0; i < n; i++)
        a[i].existed = r->element[i]->integer != 0;
    return PD_ST_OK;
}

/* Run the script, argv[0 .. argc) being "EVALSHA", SHA, NUMKEYS, ...: by
 * its SHA-1 when known, else (or on NOSCRIPT) loaded and run in one
 * pipeline.  PD_ST_OK or PD_ST_ERR_BACKEND with why set. */
static int
run_add_script(struct pd_state_redis *st, int argc, const char **argv, size_t *lens,
               struct pd_state_add *a, size_t n, char *why, size_t whylen)
{
    static const char *load[3] = { "SCRIPT", "LOAD", add_script };
    static const size_t load_len[3] = { 6, 4, sizeof add_script - 1 };
    char sha[sizeof st->add_sha];
    struct redis_cmd cmds[2];
    redisReply *rr[2], *r;
    int rc;

    pthread_mutex_lock(&st->add_lock);
    memcpy(sha, st->add_sha, sizeof sha);
    pthread_mutex_unlock(&st->add_lock);
    if (sha[0] != '\0') {
        argv[0] = "EVALSHA";
        lens[0] = 7;
        argv[1] = sha;
        lens[1] = strlen(sha);
        r = redis_conn_commandv(st->conn, why, whylen, argc, argv, lens);
        if (r == NULL)
            return PD_ST_ERR_BACKEND;
        if (!(r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)) {
            rc = add_reply(r, a, n, why, whylen);
            freeReplyObject(r);
            return rc;
        }
        freeReplyObject(r);                 /* not there (any more): load it */
    }
    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = add_script;
    lens[1] = sizeof add_script - 1;
    cmds[0] = (struct redis_cmd) { 3, load, load_len };
    cmds[1] = (struct redis_cmd) { argc, argv, lens };
    if (redis_conn_pipeline(st->conn, why, whylen, 2, cmds, rr) != 0)
        return PD_ST_ERR_BACKEND;
    if (rr[0]->type == REDIS_REPLY_STRING && rr[0]->len < sizeof st->add_sha) {
        pthread_mutex_lock(&st->add_lock);
        memcpy(st->add_sha, rr[0]->str, rr[0]->len);
        st->add_sha[rr[0]->len] = '\0';
        pthread_mutex_unlock(&st->add_lock);
    }
    rc = add_reply(rr[1], a, n, why, whylen);
    freeReplyObject(rr[0]);
    freeReplyObject(rr[1]);
    return rc;
}

int
pd_state_redis_add_many(void *handle, struct pd_state_add *a, size_t n, int64_t now,
                        char *err, size_t errlen)
{
    struct pd_state_redis *st = handle;
    char why[REDIS_CONN_ERRLEN] = "", nowbuf[24];
    const char **argv = NULL;
    size_t *lens = NULL, i, room = 0, argc = 4 + 3 * n;
    char *buf = NULL, *p, numkeys[24];
    int rc;

    if (n == 0)
        return PD_ST_OK;
    if (a == NULL || n > PD_ST_MANY_MAX)
        return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID, "no entries, or too many");
    for (i = 0; i < n; i++) {
        if (!pd_redis_valid_args(st, a[i].table, a[i].key, a[i].keylen, err, errlen))
            return PD_ST_ERR_INVALID;
        if (a[i].vallen > PD_ST_VALUE_MAX || (a[i].val == NULL && a[i].vallen > 0)
            || a[i].expires_at <= now)
            return pd_redis_fail(st, err, errlen, PD_ST_ERR_INVALID,
                                 "a mark of %zu bytes, or already expired", a[i].vallen);
        a[i].existed = 0;
        /* The key, the record and its lifetime in seconds. */
        room += st->tprefix_len[a[i].table] + a[i].keylen + HDR + a[i].vallen + 24;
    }
    argv = malloc(argc * sizeof *argv);
    lens = malloc(argc * sizeof *lens);
    buf = malloc(room);
    if (argv == NULL || lens == NULL || buf == NULL) {
        rc = pd_redis_fail(st, err, errlen, PD_ST_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* EVALSHA SHA NUMKEYS KEY... NOW (VALUE TTL)...; argv[0..1] are set
     * by run_add_script. */
    snprintf(numkeys, sizeof numkeys, "%zu", n);
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long) now);
    argv[2] = numkeys;
    lens[2] = strlen(numkeys);
    argv[3 + n] = nowbuf;
    lens[3 + n] = strlen(nowbuf);
    for (i = 0, p = buf; i < n; i++) {
        uint64_t life = (uint64_t) a[i].expires_at - (uint64_t) now;
        char *ttl;

        argv[3 + i] = p;
        lens[3 + i] = pd_redis_make_key(st, a[i].table, a[i].key, a[i].keylen, p);
        p += lens[3 + i];
        be_put_i64((unsigned char *) p, a[i].expires_at);
        if (a[i].vallen > 0)
            memcpy(p + HDR, a[i].val, a[i].vallen);
        argv[4 + n + 2 * i] = p;
        lens[4 + n + 2 * i] = HDR + a[i].vallen;
        p += HDR + a[i].vallen;
        ttl = p;
        ttl[0] = '\0';
        if (a[i].expires_at != PD_ST_NEVER && life <= TTL_MAX)
            snprintf(ttl, 24, "%llu", (unsigned long long) life);
        argv[5 + n + 2 * i] = ttl;
        lens[5 + n + 2 * i] = strlen(ttl);
        p += 24;
    }
    rc = run_add_script(st, (int) argc, argv, lens, a, n, why, sizeof why);
    if (rc != PD_ST_OK)
        rc = pd_redis_fail(st, err, errlen, rc, "adding %zu entries: %s", n,
                           pd_redis_reason(st, why));
out:
    free(argv);
    free(lens);
    free(buf);
    return rc;
}
