/*
 * store_redis.c - the Redis double-spend store backends ("redis://...",
 * "redis+unix://...", "redis+sentinel://..."; grammar in
 * kv/redis_spec.h and postage/store.h).
 *
 * Layout.  One string key per spent stamp: PREFIX "s:" followed by the 32
 * bytes of the stamp's SHA-256 (binary), value "1", expiring at
 * expires_at + grace (Redis's EXAT, judged by the Redis server's clock).
 * grace comes from the specification (grace=, default 7 days): the
 * checker accepts a stamp until its expires_at + the checker's grace, so
 * the entry must outlive that, or the stamp could be replayed in between.
 * grace= must therefore be at least the checker's grace plus any clock
 * difference between the checking hosts and Redis.  An entry for a stamp
 * that never expires (POSTAGE_NEVER_EXPIRES, or an expiry beyond what
 * Redis can represent) has no TTL.  Why Redis's clock and an absolute
 * time here, while postaged's state store counts relative to its own
 * clock: docs/redis.md, "Expiry clocks".
 *
 * Double spending.  spend() is one `SET key 1 NX [EXAT t]`: Redis runs
 * commands one at a time, so of any number of clients exactly one sees OK
 * and the others nil ("already spent").  spend_many() sends one such SET
 * per stamp in one pipeline (one round trip for a message's stamps), and
 * lookup_many() one EXISTS per stamp likewise.  An expiry at or before the epoch
 * is sent as EXAT 1 (Redis refuses EXAT <= 0): the entry is then gone at
 * once, but an existing entry still makes the SET answer nil.
 *
 * Purging is Redis's job (keys expire by themselves): purge() removes
 * nothing and reports 0.  count() walks `SCAN MATCH <prefix>s:*` with the
 * prefix's glob characters escaped; it is O(entries), meant for
 * statistics, and may count a key twice if Redis shrinks its hash table
 * during the walk.
 *
 * Flags.  POSTAGE_STORE_NOCREATE and POSTAGE_STORE_NOSYNC are accepted and
 * ignored: a Redis database has no "create" step (keys appear with the
 * first SET), and durability is the server's setting (appendonly,
 * appendfsync), not something a client can choose per write.
 * POSTAGE_STORE_LAZY opens the handle even when Redis cannot be reached;
 * without it open() fails with the reason.
 *
 * Errors name the operation, Redis's address and the reason, e.g.
 * "spend: redis 127.0.0.1:6379: cannot connect: Connection refused".
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "util/errbuf.h"
#include "postage/status.h"
#include "postage/store.h"
#include "kv/redis_conn.h"
#include "verify/store_backend.h"

/* Redis refuses EXAT beyond LLONG_MAX / 1000 (it works in milliseconds). */
#define EXAT_MAX (INT64_MAX / 1000)
#define KEY_MAX (REDIS_PREFIX_MAX + 2 + POSTAGE_STORE_KEYLEN)
#define SCAN_COUNT "1000"

struct redis_store {
    struct redis_conn *conn;
    int64_t grace;
    size_t prefix_len;
    char prefix[REDIS_PREFIX_MAX];
    char pattern[2 * REDIS_PREFIX_MAX + 4];   /* escaped prefix + "s:*" */
};

static int
rs_open(const char *spec, unsigned flags, void **state, char *err, size_t errlen)
{
    struct redis_spec parsed;
    struct redis_store *s;
    size_t i, o = 0;

    /* A bad specification is the caller's mistake, not a store failure. */
    if (redis_spec_parse(spec, &parsed, err, errlen) != 0)
        return POSTAGE_ERR_INVALID;
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return POSTAGE_ERR_NOMEM;
    }
    s->conn = redis_conn_open(spec, !(flags & POSTAGE_STORE_LAZY), err, errlen);
    if (s->conn == NULL) {
        free(s);
        return POSTAGE_ERR_STORE;
    }
    s->grace = parsed.grace;
    snprintf(s->prefix, sizeof s->prefix, "%s", parsed.prefix);
    s->prefix_len = strlen(s->prefix);
    /* SCAN's MATCH is a glob: a prefix "a*" must not match "ab...". */
    for (i = 0; i < s->prefix_len; i++) {
        char c = s->prefix[i];
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
            s->pattern[o++] = '\\';
        s->pattern[o++] = c;
    }
    memcpy(s->pattern + o, "s:*", 4);
    memset(&parsed, 0, sizeof parsed);
    *state = s;
    return POSTAGE_OK;
}

static size_t
make_key(const struct redis_store *s, const uint8_t key[POSTAGE_STORE_KEYLEN], char *buf)
{
    memcpy(buf, s->prefix, s->prefix_len);
    memcpy(buf + s->prefix_len, "s:", 2);
    memcpy(buf + s->prefix_len + 2, key, POSTAGE_STORE_KEYLEN);
    return s->prefix_len + 2 + POSTAGE_STORE_KEYLEN;
}

/* A reply of the wrong kind (an error reply, or an unexpected type). */
static int
odd_reply(const struct redis_store *s, const char *what, const redisReply *r,
          char *err, size_t errlen)
{
    if (r->type == REDIS_REPLY_ERROR)
        errbuf_printf(err, errlen, "%s: %s: %s", what, redis_conn_address(s->conn), r->str);
    else
        errbuf_printf(err, errlen, "%s: %s: unexpected reply (type %d)", what,
               redis_conn_address(s->conn), r->type);
    return POSTAGE_ERR_STORE;
}

static int
no_reply(const char *what, const char *why, char *err, size_t errlen)
{
    errbuf_printf(err, errlen, "%s: %s", what, why);
    return POSTAGE_ERR_STORE;
}

/* The command that spends one key: SET key 1 NX [EXAT t], into argv and
 * argvlen (6 each), k (KEY_MAX) and at (24) holding the key and the time.
 * Returns argc. */
static int
spend_command(const struct redis_store *s, const uint8_t key[POSTAGE_STORE_KEYLEN],
              int64_t expires_at, const char **argv, size_t *argvlen, char *k, char *at)
{
    int argc = 4;

    argv[0] = "SET";
    argvlen[0] = 3;
    argv[1] = k;
    argvlen[1] = make_key(s, key, k);
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = "NX";
    argvlen[3] = 2;
    if (expires_at != POSTAGE_NEVER_EXPIRES) {
        int64_t t;

        if (expires_at > EXAT_MAX - s->grace)
            t = EXAT_MAX + 1;                       /* beyond Redis: no TTL */
        else
            t = expires_at + s->grace;
        if (t <= EXAT_MAX) {
            if (t < 1)
                t = 1;                              /* gone at once */
            argv[4] = "EXAT";
            argvlen[4] = 4;
            argv[5] = at;
            argvlen[5] = (size_t) snprintf(at, 24, "%" PRId64, t);
            argc = 6;
        }
    }
    return argc;
}

/* SET NX's answer: POSTAGE_OK, POSTAGE_ERR_SPENT, or a store error. */
static int
spend_answer(const struct redis_store *s, const redisReply *r, char *err, size_t errlen)
{
    if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0)
        return POSTAGE_OK;
    if (r->type == REDIS_REPLY_NIL)
        return POSTAGE_ERR_SPENT;
    return odd_reply(s, "spend", r, err, errlen);
}

static int
rs_spend(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN], int64_t expires_at,
         char *err, size_t errlen)
{
    struct redis_store *s = state;
    char k[KEY_MAX], at[24], why[REDIS_CONN_ERRLEN];
    const char *argv[6];
    size_t argvlen[6];
    int argc, rc;
    redisReply *r;

    argc = spend_command(s, key, expires_at, argv, argvlen, k, at);
    why[0] = '\0';
    r = redis_conn_commandv(s->conn, why, sizeof why, argc, argv, argvlen);
    if (r == NULL)
        return no_reply("spend", why, err, errlen);
    rc = spend_answer(s, r, err, errlen);
    freeReplyObject(r);
    return rc;
}

/* Several spends in one round trip: one SET NX per key, pipelined (in
 * order, so a key given twice is spent the first time and "already spent"
 * the second), REDIS_PIPELINE_MAX at a time.  Each SET NX is as atomic as
 * alone, so exactly-once holds key by key.  A lost connection leaves the
 * keys of that pipeline unanswered (POSTAGE_ERR_STORE: each may or may
 * not have been recorded, as for one spend whose reply was lost); an
 * error reply fails its own key, and the other answers stand. */
static int
rs_spend_many(void *state, const uint8_t (*keys)[POSTAGE_STORE_KEYLEN], const int64_t *expires_at,
              int *results, size_t n, char *err, size_t errlen)
{
    struct redis_store *s = state;
    char why[REDIS_CONN_ERRLEN];
    size_t chunk = n < REDIS_PIPELINE_MAX ? n : REDIS_PIPELINE_MAX, i, j;
    struct {
        const char *argv[6];
        size_t argvlen[6];
        char k[KEY_MAX], at[24];
    } *c = malloc(chunk * sizeof *c);
    struct redis_cmd *cmds = malloc(chunk * sizeof *cmds);
    redisReply **r = malloc(chunk * sizeof *r);
    int rc = POSTAGE_OK;

    for (i = 0; i < n; i++)
        results[i] = POSTAGE_ERR_STORE;
    if (c == NULL || cmds == NULL || r == NULL) {
        errbuf_printf(err, errlen, "spend: out of memory");
        rc = POSTAGE_ERR_STORE;
        goto out;
    }
    for (i = 0; i < n && rc == POSTAGE_OK; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;

        for (j = 0; j < m; j++) {
            cmds[j].argc = spend_command(s, keys[i + j], expires_at[i + j], c[j].argv,
                                         c[j].argvlen, c[j].k, c[j].at);
            cmds[j].argv = c[j].argv;
            cmds[j].argvlen = c[j].argvlen;
        }
        why[0] = '\0';
        if (redis_conn_pipeline(s->conn, why, sizeof why, m, cmds, r) != 0) {
            rc = no_reply("spend", why, err, errlen);
            break;
        }
        for (j = 0; j < m; j++) {
            results[i + j] = spend_answer(s, r[j], err, errlen);
            if (results[i + j] != POSTAGE_OK && results[i + j] != POSTAGE_ERR_SPENT)
                rc = POSTAGE_ERR_STORE;
            freeReplyObject(r[j]);
        }
    }
out:
    free(c);
    free(cmds);
    free(r);
    return rc;
}

/* EXISTS's answer: POSTAGE_ERR_SPENT, POSTAGE_OK, or a store error. */
static int
lookup_answer(const struct redis_store *s, const redisReply *r, char *err, size_t errlen)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer != 0 ? POSTAGE_ERR_SPENT : POSTAGE_OK;
    return odd_reply(s, "lookup", r, err, errlen);
}

static int
rs_lookup(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN], char *err, size_t errlen)
{
    struct redis_store *s = state;
    char k[KEY_MAX], why[REDIS_CONN_ERRLEN];
    const char *argv[2] = { "EXISTS", k };
    size_t argvlen[2] = { 6, 0 };
    redisReply *r;
    int rc;

    argvlen[1] = make_key(s, key, k);
    why[0] = '\0';
    r = redis_conn_commandv(s->conn, why, sizeof why, 2, argv, argvlen);
    if (r == NULL)
        return no_reply("lookup", why, err, errlen);
    rc = lookup_answer(s, r, err, errlen);
    freeReplyObject(r);
    return rc;
}

/* Several look-ups in one round trip: one EXISTS per key (a single
 * EXISTS of many keys would only count them), pipelined,
 * REDIS_PIPELINE_MAX at a time.  A lost connection leaves the keys of
 * that pipeline unanswered; an error reply fails its own key, and the
 * other answers stand. */
static int
rs_lookup_many(void *state, const uint8_t (*keys)[POSTAGE_STORE_KEYLEN], int *results,
               size_t n, char *err, size_t errlen)
{
    struct redis_store *s = state;
    char why[REDIS_CONN_ERRLEN];
    size_t chunk = n < REDIS_PIPELINE_MAX ? n : REDIS_PIPELINE_MAX, i, j;
    struct {
        const char *argv[2];
        size_t argvlen[2];
        char k[KEY_MAX];
    } *c = malloc(chunk * sizeof *c);
    struct redis_cmd *cmds = malloc(chunk * sizeof *cmds);
    redisReply **r = malloc(chunk * sizeof *r);
    int rc = POSTAGE_OK;

    for (i = 0; i < n; i++)
        results[i] = POSTAGE_ERR_STORE;
    if (c == NULL || cmds == NULL || r == NULL) {
        errbuf_printf(err, errlen, "lookup: out of memory");
        rc = POSTAGE_ERR_STORE;
        goto out;
    }
    for (i = 0; i < n && rc == POSTAGE_OK; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;

        for (j = 0; j < m; j++) {
            c[j].argv[0] = "EXISTS";
            c[j].argvlen[0] = 6;
            c[j].argv[1] = c[j].k;
            c[j].argvlen[1] = make_key(s, keys[i + j], c[j].k);
            cmds[j].argc = 2;
            cmds[j].argv = c[j].argv;
            cmds[j].argvlen = c[j].argvlen;
        }
        why[0] = '\0';
        if (redis_conn_pipeline(s->conn, why, sizeof why, m, cmds, r) != 0) {
            rc = no_reply("lookup", why, err, errlen);
            break;
        }
        for (j = 0; j < m; j++) {
            results[i + j] = lookup_answer(s, r[j], err, errlen);
            if (results[i + j] != POSTAGE_OK && results[i + j] != POSTAGE_ERR_SPENT)
                rc = POSTAGE_ERR_STORE;
            freeReplyObject(r[j]);
        }
    }
out:
    free(c);
    free(cmds);
    free(r);
    return rc;
}

static int
rs_purge(void *state, int64_t now, int64_t grace, uint64_t *removed,
         char *err, size_t errlen)
{
    (void) state;
    (void) now;
    (void) grace;
    (void) err;
    (void) errlen;
    *removed = 0;          /* Redis expires the entries itself */
    return POSTAGE_OK;
}

static int
rs_count(void *state, uint64_t *count, char *err, size_t errlen)
{
    struct redis_store *s = state;
    char cursor[32] = "0", why[REDIS_CONN_ERRLEN];
    const char *argv[6] = { "SCAN", cursor, "MATCH", s->pattern, "COUNT", SCAN_COUNT };
    uint64_t n = 0;

    do {
        redisReply *r;

        why[0] = '\0';
        r = redis_conn_commandv(s->conn, why, sizeof why, 6, argv, NULL);
        if (r == NULL)
            return no_reply("count", why, err, errlen);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
            || r->element[0]->type != REDIS_REPLY_STRING
            || r->element[0]->len == 0 || r->element[0]->len >= sizeof cursor
            || r->element[1]->type != REDIS_REPLY_ARRAY) {
            int rc = odd_reply(s, "count", r, err, errlen);
            freeReplyObject(r);
            return rc;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
        n += r->element[1]->elements;
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    *count = n;
    return POSTAGE_OK;
}

static void
rs_set_notify(void *state, postage_store_notify_fn fn, void *ctx)
{
    struct redis_store *s = state;

    redis_conn_set_notify(s->conn, fn, ctx);
}

static void
rs_close(void *state)
{
    struct redis_store *s = state;

    if (s == NULL)
        return;
    redis_conn_close(s->conn);
    free(s);
}

#define REDIS_BACKEND(name) {                                   \
        name, rs_open, rs_spend, rs_lookup, rs_purge, rs_count, rs_close, \
        1, rs_set_notify, rs_spend_many, rs_lookup_many         \
    }

const struct postage_store_backend postage_store_redis = REDIS_BACKEND("redis");
const struct postage_store_backend postage_store_redis_unix = REDIS_BACKEND("redis+unix");
const struct postage_store_backend postage_store_redis_sentinel =
    REDIS_BACKEND("redis+sentinel");
