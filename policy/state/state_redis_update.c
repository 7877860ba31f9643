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

/* Queue one command inside MULTI: 0, or -1 with why set (after a DISCARD
 * if the connection still works). */
static int
queue(struct pd_state_redis *st, struct upd *u, int argc, const char **argv,
      const size_t *lens)
{
    redisReply *r = cmd_locked(st, u->why, sizeof u->why, argc, argv, lens);

    if (r == NULL)
        return -1;
    if (!pd_redis_is_status(r, "QUEUED")) {
        pd_redis_reply_problem(r, argv[0], u->why, sizeof u->why);
        freeReplyObject(r);
        send_simple(st, "DISCARD");          /* also forgets the WATCH */
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* MULTI, the write, DEL of our lock if we hold it, EXEC.  Returns
 * PD_ST_OK, PD_ST_ERR_BACKEND (why set) or CONFLICT. */
static int
transaction(struct pd_state_redis *st, struct upd *u, int release, int argc,
            const char **argv, const size_t *lens)
{
    const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" }, *del[2] = { "DEL", u->lock };
    size_t multi_len[1] = { 5 }, exec_len[1] = { 4 }, del_len[2] = { 3, u->locklen };
    size_t expect = release ? 2 : 1, i;
    redisReply *r;
    int rc = PD_ST_OK;

    r = cmd_locked(st, u->why, sizeof u->why, 1, multi, multi_len);
    if (r == NULL)
        return PD_ST_ERR_BACKEND;
    if (!pd_redis_is_status(r, "OK")) {
        pd_redis_reply_problem(r, "MULTI", u->why, sizeof u->why);
        freeReplyObject(r);
        send_simple(st, "UNWATCH");
        return PD_ST_ERR_BACKEND;
    }
    freeReplyObject(r);
    if (queue(st, u, argc, argv, lens) != 0)
        return PD_ST_ERR_BACKEND;
    if (release && queue(st, u, 2, del, del_len) != 0)
        return PD_ST_ERR_BACKEND;
    r = cmd_locked(st, u->why, sizeof u->why, 1, exec, exec_len);
    if (r == NULL)
        return PD_ST_ERR_BACKEND;
    if (r->type == REDIS_REPLY_NIL) {
        rc = CONFLICT;                       /* someone changed a watched key */
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != expect) {
        pd_redis_reply_problem(r, "EXEC", u->why, sizeof u->why);
        rc = PD_ST_ERR_BACKEND;
    } else {
        for (i = 0; i < expect && rc == PD_ST_OK; i++)
            if (r->element[i]->type == REDIS_REPLY_ERROR) {
                pd_redis_reply_problem(r->element[i], i == 0 ? argv[0] : "DEL", u->why, sizeof u->why);
                rc = PD_ST_ERR_BACKEND;
            }
    }
    freeReplyObject(r);
    if (rc == PD_ST_OK && release)
        u->have_lock = 0;
    return rc;
}

/* One attempt, the connection held.  Returns PD_ST_OK,
 * PD_ST_ERR_CALLBACK, PD_ST_ERR_BACKEND (u->why set), CONFLICT or LOCKED.
 * Leaves nothing watched. */
static int
attempt(struct pd_state_redis *st, struct upd *u)
{
    unsigned char cur[PD_ST_VALUE_MAX];
    unsigned char rec[HDR + PD_ST_VALUE_MAX];
    const unsigned char *payload = NULL;
    const char *argv[5];
    size_t lens[5], curlen = 0, outlen = 0;
    int64_t expires_at = PD_ST_NEVER;
    int present, live, ours;
    const redisReply *val, *lock;
    char ttl[24];
    enum pd_st_op op;
    redisReply *r;

    /* Watch the lock too: whoever takes it makes our EXEC fail. */
    argv[0] = "WATCH";
    lens[0] = 5;
    argv[1] = u->key;
    lens[1] = u->keylen;
    argv[2] = u->lock;
    lens[2] = u->locklen;
    r = cmd_locked(st, u->why, sizeof u->why, 3, argv, lens);
    if (r == NULL)
        return PD_ST_ERR_BACKEND;
    if (!pd_redis_is_status(r, "OK")) {
        pd_redis_reply_problem(r, "WATCH", u->why, sizeof u->why);
        freeReplyObject(r);
        return PD_ST_ERR_BACKEND;
    }
    freeReplyObject(r);

    /* MGET answers nil for a key of another type: not ours, absent. */
    argv[0] = "MGET";
    lens[0] = 4;
    r = cmd_locked(st, u->why, sizeof u->why, 3, argv, lens);
    if (r == NULL)
        return PD_ST_ERR_BACKEND;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        pd_redis_reply_problem(r, "MGET", u->why, sizeof u->why);
        freeReplyObject(r);
        send_simple(st, "UNWATCH");
        return PD_ST_ERR_BACKEND;
    }
    val = r->element[0];
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
    present = val->type != REDIS_REPLY_NIL;
    live = pd_redis_record_live(val, u->now, &expires_at, &payload, &curlen);
    if (live)
        memcpy(cur, payload, curlen);       /* a private copy for the callback */
    else
        expires_at = PD_ST_NEVER;
    freeReplyObject(r);

    op = u->fn(u->ctx, u->now, live ? cur : NULL, curlen, rec + HDR, &outlen, &expires_at);
    if (op == PD_ST_PUT && outlen > PD_ST_VALUE_MAX) {
        send_simple(st, "UNWATCH");
        return PD_ST_ERR_CALLBACK;
    }
    if (op == PD_ST_PUT && expires_at <= u->now)
        op = PD_ST_DELETE;                  /* dead on arrival: nothing to keep */
    argv[1] = u->key;
    lens[1] = u->keylen;
    if (op == PD_ST_PUT) {
        uint64_t life = (uint64_t) expires_at - (uint64_t) u->now;

        be_put_i64(rec, expires_at);
        argv[0] = "SET";
        lens[0] = 3;
        argv[2] = (const char *) rec;
        lens[2] = HDR + outlen;
        if (expires_at == PD_ST_NEVER || life > TTL_MAX)
            return transaction(st, u, ours, 3, argv, lens);
        snprintf(ttl, sizeof ttl, "%llu", (unsigned long long) life);
        argv[3] = "EX";
        lens[3] = 2;
        argv[4] = ttl;
        lens[4] = strlen(ttl);
        return transaction(st, u, ours, 5, argv, lens);
    }
    if (op == PD_ST_DELETE && present) {
        argv[0] = "DEL";
        lens[0] = 3;
        return transaction(st, u, ours, 2, argv, lens);
    }
    /* KEEP, or DELETE of nothing: no write; the answer stands as of the
     * MGET.  The caller releases our lock. */
    send_simple(st, "UNWATCH");
    return PD_ST_OK;
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
