/*
 * state.c - postaged's state store (policy/state/state.h): the public handle,
 * the choice of backend by the specification's scheme, what every backend
 * shares (table names), and the text of the last failure, which the
 * backends write into a buffer of each call (state_backend.h) and the
 * handle keeps for pd_state_error, as verify/store.c does.
 *
 * Schemes.  A scheme is [a-z][a-z0-9+]* followed by ':' at the very start,
 * as in verify/store.c (kv/store_spec.h), so "./a:b" is a path and "redis:x" is a (bad)
 * Redis specification rather than a directory called "redis:x":
 *
 *   lmdb:DIR, or no scheme at all          policy/state/state_lmdb.c
 *   redis:, redis+unix:, redis+sentinel:   policy/state/state_redis.c
 *
 * Anything else is PD_ST_ERR_INVALID.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/errbuf.h"
#include "policy/base/metrics.h"
#include "policy/state/state.h"
#include "policy/state/state_backend.h"
#include "kv/store_spec.h"

struct pd_state {
    const struct pd_state_ops *ops;
    void *handle;
    pthread_mutex_t err_lock;   /* any thread's failure writes err        */
    char err[PD_ST_ERRLEN];     /* the last failure's text: pd_state_error */
    struct pd_metrics *metrics; /* pd_state_set_metrics, or NULL            */
};

static const char *const table_names[PD_TABLE_COUNT] = {
    "greylist", "awl", "quota", "accounting", "reputation", "accounted", "helo",
    "quote", "attempt"
};

const char *
pd_state_table_name(enum pd_table table)
{
    if ((unsigned) table >= PD_TABLE_COUNT)
        return "?";
    return table_names[table];
}

/* ---- byte order ------------------------------------------------------- */

/* ---- choosing a backend ----------------------------------------------- */

static const struct pd_state_ops *
pick_backend(const char *spec, char *err, size_t errlen)
{
    size_t len;

    if (spec == NULL || spec[0] == '\0') {
        errbuf_printf(err, errlen, "empty state store specification");
        return NULL;
    }
    /* The rule of kv/store_spec.h, as the double-spend store reads it. */
    switch (kv_spec_kind(spec, &len)) {
    case KV_SPEC_LMDB:
        return &pd_state_lmdb_ops;        /* "lmdb:DIR" or a bare path */
    case KV_SPEC_REDIS:
        return &pd_state_redis_ops;
    case KV_SPEC_UNKNOWN:
    default:
        break;
    }
    errbuf_printf(err, errlen,
           "unsupported state store \"%.*s\" (lmdb:DIR, redis://, redis+unix:// or "
           "redis+sentinel://)", (int) len, spec);
    return NULL;
}

/* ---- a store that is down for good ------------------------------------ */

/* The backend behind pd_state_open_down(): its handle is the reason, and
 * every call fails with it (PD_ST_ERR_BACKEND), so each module answers as
 * it does when a working store fails.  It touches no file. */
/* Every call of the store that is down fails with its reason (the handle). */
static int
down(void *handle, char *err, size_t errlen)
{
    errbuf_printf(err, errlen, "%s", (const char *) handle);
    return PD_ST_ERR_BACKEND;
}

static int
down_update(void *handle, enum pd_table table, const void *key, size_t keylen, int64_t now,
            pd_state_fn fn, void *ctx, char *err, size_t errlen)
{
    (void) table, (void) key, (void) keylen, (void) now, (void) fn, (void) ctx;
    return down(handle, err, errlen);
}

static int
down_get(void *handle, enum pd_table table, const void *key, size_t keylen, int64_t now,
         void *val, size_t cap, size_t *vallen, int64_t *expires_at, char *err, size_t errlen)
{
    (void) table, (void) key, (void) keylen, (void) now, (void) val;
    (void) cap, (void) expires_at;
    if (vallen != NULL)
        *vallen = 0;
    return down(handle, err, errlen);
}

static int
down_expire(void *handle, enum pd_table table, int64_t now, unsigned batch, uint64_t *removed,
            char *err, size_t errlen)
{
    (void) table, (void) now, (void) batch, (void) removed;
    return down(handle, err, errlen);
}

static int
down_scan(void *handle, enum pd_table table, int64_t now, pd_state_scan_fn fn, void *ctx,
          char *err, size_t errlen)
{
    (void) table, (void) now, (void) fn, (void) ctx;
    return down(handle, err, errlen);
}

static int
down_count(void *handle, enum pd_table table, uint64_t *count, char *err, size_t errlen)
{
    (void) table;
    if (count != NULL)
        *count = 0;
    return down(handle, err, errlen);
}

static int
down_sync(void *handle, char *err, size_t errlen)
{
    return down(handle, err, errlen);
}

static void
down_set_notify(void *handle, pd_state_notify_fn fn, void *ctx)
{
    (void) handle, (void) fn, (void) ctx;
}

static void
down_close(void *handle)
{
    free(handle);
}

static const struct pd_state_ops down_ops = {
    .name = "down",
    .update = down_update,
    .get = down_get,
    .expire = down_expire,
    .scan = down_scan,
    .count = down_count,
    .sync = down_sync,
    .set_notify = down_set_notify,
    .close = down_close,
};

int
pd_state_open_down(const char *why, struct pd_state **out)
{
    struct pd_state *st;

    if (out == NULL)
        return PD_ST_ERR_INVALID;
    *out = NULL;
    if (why == NULL || why[0] == '\0')
        why = "the state store could not be opened";
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return PD_ST_ERR_NOMEM;
    st->handle = strndup(why, PD_ST_ERRLEN - 1);
    if (st->handle == NULL || pthread_mutex_init(&st->err_lock, NULL) != 0) {
        free(st->handle);
        free(st);
        return PD_ST_ERR_NOMEM;
    }
    snprintf(st->err, sizeof st->err, "%s", why);   /* before any call, too */
    st->ops = &down_ops;
    *out = st;
    return PD_ST_OK;
}

/* ---- forwarding ---------------------------------------------------------- */

/* Keep the text of a failure for pd_state_error; a failure that gave none
 * leaves the one before. */
static int
keep(struct pd_state *st, int rc, const char *why)
{
    /* Every call ends here: the one place to count them (metrics). */
    pd_metrics_store_op(st->metrics, PD_MST_STATE, rc < 0);
    if (why[0] != '\0') {
        pthread_mutex_lock(&st->err_lock);
        snprintf(st->err, sizeof st->err, "%s", why);
        pthread_mutex_unlock(&st->err_lock);
    }
    return rc;
}

int
pd_state_open(const char *spec, unsigned flags, struct pd_state **out, char *err,
              size_t errlen)
{
    const struct pd_state_ops *ops;
    struct pd_state *st;
    int rc;

    if (out == NULL)
        return PD_ST_ERR_INVALID;
    *out = NULL;
    ops = pick_backend(spec, err, errlen);
    if (ops == NULL)
        return PD_ST_ERR_INVALID;
    st = calloc(1, sizeof *st);
    if (st == NULL || pthread_mutex_init(&st->err_lock, NULL) != 0) {
        free(st);
        errbuf_printf(err, errlen, "out of memory opening state store %s", spec);
        return PD_ST_ERR_NOMEM;
    }
    st->ops = ops;
    rc = ops->open(spec, flags, &st->handle, err, errlen);
    if (rc != PD_ST_OK) {
        pthread_mutex_destroy(&st->err_lock);
        free(st);
        return rc;
    }
    *out = st;
    return PD_ST_OK;
}

int
pd_state_update(struct pd_state *st, enum pd_table table, const void *key, size_t keylen,
                int64_t now, pd_state_fn fn, void *ctx)
{
    char why[PD_ST_ERRLEN] = "";

    if (st == NULL)
        return PD_ST_ERR_INVALID;
    return keep(st, st->ops->update(st->handle, table, key, keylen, now, fn, ctx, why,
                                    sizeof why), why);
}

int
pd_state_update_many(struct pd_state *st, const struct pd_state_change *ch, size_t n,
                     int64_t now)
{
    char why[PD_ST_ERRLEN] = "";
    size_t i;
    int rc = PD_ST_OK;

    if (st == NULL || (ch == NULL && n > 0))
        return PD_ST_ERR_INVALID;
    /* At most PD_ST_MANY_MAX at a time, so that a batch stays bounded. */
    for (i = 0; i < n && rc == PD_ST_OK; i += PD_ST_MANY_MAX) {
        size_t k = n - i < PD_ST_MANY_MAX ? n - i : PD_ST_MANY_MAX, j;

        if (st->ops->update_many != NULL) {
            rc = keep(st, st->ops->update_many(st->handle, ch + i, k, now, why, sizeof why), why);
            continue;
        }
        for (j = 0; j < k && rc == PD_ST_OK; j++)
            rc = keep(st, st->ops->update(st->handle, ch[i + j].table, ch[i + j].key,
                                          ch[i + j].keylen, now, ch[i + j].fn, ch[i + j].ctx,
                                          why, sizeof why), why);
    }
    return rc;
}

int
pd_state_get_many(struct pd_state *st, struct pd_state_read *rd, size_t n, int64_t now)
{
    char why[PD_ST_ERRLEN] = "";
    size_t i;
    int rc = PD_ST_OK;

    if (st == NULL || (rd == NULL && n > 0))
        return PD_ST_ERR_INVALID;
    for (i = 0; i < n && rc == PD_ST_OK; i += PD_ST_MANY_MAX) {
        size_t k = n - i < PD_ST_MANY_MAX ? n - i : PD_ST_MANY_MAX, j;

        if (st->ops->get_many != NULL) {
            rc = keep(st, st->ops->get_many(st->handle, rd + i, k, now, why, sizeof why), why);
            continue;
        }
        for (j = 0; j < k && rc == PD_ST_OK; j++) {
            struct pd_state_read *r = &rd[i + j];

            r->vallen = 0;
            r->expires_at = 0;
            r->status = keep(st, st->ops->get(st->handle, r->table, r->key, r->keylen, now,
                                              r->val, r->cap, &r->vallen, &r->expires_at,
                                              why, sizeof why), why);
            if (r->status != PD_ST_OK && r->status != PD_ST_NOTFOUND)
                rc = r->status;
        }
    }
    return rc;
}

/* pd_state_add_many's entry as an update (state_backend.h): keep a live
 * entry, else put. */
enum pd_st_op
pd_state_add_fn(void *ctx, int64_t now, const unsigned char *cur, size_t curlen,
                unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    struct pd_state_add *a = ctx;

    (void) now, (void) curlen;
    a->existed = cur != NULL;
    if (cur != NULL)
        return PD_ST_KEEP;
    if (a->vallen > 0)
        memcpy(out, a->val, a->vallen);
    *outlen = a->vallen;
    *expires_at = a->expires_at;
    return PD_ST_PUT;
}

int
pd_state_add_many(struct pd_state *st, struct pd_state_add *a, size_t n, int64_t now)
{
    char why[PD_ST_ERRLEN] = "";
    size_t i;
    int rc = PD_ST_OK;

    if (st == NULL || (a == NULL && n > 0))
        return PD_ST_ERR_INVALID;
    for (i = 0; i < n; i++)
        if (a[i].vallen > PD_ST_VALUE_MAX || (a[i].val == NULL && a[i].vallen > 0) ||
            a[i].expires_at <= now)
            return PD_ST_ERR_INVALID;
    for (i = 0; i < n && rc == PD_ST_OK; i += PD_ST_MANY_MAX) {
        size_t k = n - i < PD_ST_MANY_MAX ? n - i : PD_ST_MANY_MAX, j;

        if (st->ops->add_many != NULL) {
            rc = keep(st, st->ops->add_many(st->handle, a + i, k, now, why, sizeof why), why);
            continue;
        }
        for (j = 0; j < k && rc == PD_ST_OK; j++)
            rc = keep(st, st->ops->update(st->handle, a[i + j].table, a[i + j].key,
                                          a[i + j].keylen, now, pd_state_add_fn, &a[i + j], why,
                                          sizeof why), why);
    }
    return rc;
}

int
pd_state_get(struct pd_state *st, enum pd_table table, const void *key, size_t keylen,
             int64_t now, void *val, size_t cap, size_t *vallen, int64_t *expires_at)
{
    char why[PD_ST_ERRLEN] = "";

    if (st == NULL)
        return PD_ST_ERR_INVALID;
    return keep(st, st->ops->get(st->handle, table, key, keylen, now, val, cap, vallen,
                                 expires_at, why, sizeof why), why);
}

int
pd_state_expire(struct pd_state *st, enum pd_table table, int64_t now, unsigned batch,
                uint64_t *removed)
{
    char why[PD_ST_ERRLEN] = "";

    if (removed != NULL)
        *removed = 0;
    if (st == NULL)
        return PD_ST_ERR_INVALID;
    return keep(st, st->ops->expire(st->handle, table, now, batch, removed, why, sizeof why),
                why);
}

int
pd_state_scan(struct pd_state *st, enum pd_table table, int64_t now, pd_state_scan_fn fn,
              void *ctx)
{
    char why[PD_ST_ERRLEN] = "";

    if (st == NULL)
        return PD_ST_ERR_INVALID;
    return keep(st, st->ops->scan(st->handle, table, now, fn, ctx, why, sizeof why), why);
}

int
pd_state_count(struct pd_state *st, enum pd_table table, uint64_t *count)
{
    char why[PD_ST_ERRLEN] = "";

    if (st == NULL)
        return PD_ST_ERR_INVALID;
    return keep(st, st->ops->count(st->handle, table, count, why, sizeof why), why);
}

void
pd_state_error(struct pd_state *st, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return;
    if (st == NULL) {
        snprintf(buf, len, "no state store");
        return;
    }
    pthread_mutex_lock(&st->err_lock);
    snprintf(buf, len, "%s", st->err);
    pthread_mutex_unlock(&st->err_lock);
}

int
pd_state_sync(struct pd_state *st)
{
    char why[PD_ST_ERRLEN] = "";

    if (st == NULL)
        return PD_ST_ERR_INVALID;
    return keep(st, st->ops->sync(st->handle, why, sizeof why), why);
}

void
pd_state_set_metrics(struct pd_state *st, struct pd_metrics *metrics)
{
    if (st != NULL)
        st->metrics = metrics;
}

void
pd_state_set_notify(struct pd_state *st, pd_state_notify_fn fn, void *ctx)
{
    if (st == NULL)
        return;
    st->ops->set_notify(st->handle, fn, ctx);
}

void
pd_state_close(struct pd_state *st)
{
    if (st == NULL)
        return;
    st->ops->close(st->handle);
    pthread_mutex_destroy(&st->err_lock);
    free(st);
}
