/*
 * state_lmdb.c - the LMDB backend of postaged's state store (policy/state/state.h),
 * reached through the operations table pd_state_lmdb_ops (state_backend.h;
 * policy/state/state.c picks it for "lmdb:DIR" and bare paths).
 *
 * Layout.  "lmdb:DIR" opens the environment DIR/policy (data.mdb and
 * lock.mdb, mode 0600), not DIR itself: DIR is where the double-spend store
 * keeps its own environment, LMDB forbids opening one environment twice in
 * a process, and a separate environment has its own writer lock, so a
 * burst of greylisting writes never queues behind stamp spends.  Each
 * table is a named database called by pd_state_table_name().
 *
 * Records.  Value = expires_at (8 bytes, big-endian two's complement)
 * followed by the module's payload (0 .. PD_ST_VALUE_MAX bytes).  A record
 * of any other shape is not ours (or is damaged) and reads as absent; the
 * next update overwrites it.  Keys up to DIRECT_MAX bytes are stored as
 * they are; longer keys (LMDB refuses keys over 511 bytes by default, and
 * a sender may be 2 KiB) are stored as their first PREFIX_LEN bytes, a
 * 0xff byte and the 32-byte BLAKE2b hash of the whole key.  That form is
 * exactly HASHED_LEN bytes, longer than any direct key, so the two forms
 * never collide, and the readable prefix keeps dumps legible.
 *
 * Atomicity.  pd_state_update is one write transaction: mdb_get, the
 * callback, mdb_put or mdb_del, commit.  LMDB's writer lock is a
 * process-shared mutex in lock.mdb, so read-modify-write cycles of all
 * processes and threads are serialised and none is lost.  When the
 * callback asks for nothing, the transaction is aborted instead of
 * committed, which costs no fsync.
 *
 * Scanning.  pd_state_scan copies a bounded batch of live entries out of
 * one read-only transaction, drops the transaction and the handle's
 * mutex, then hands the batch to the callback, and resumes after the last
 * key it examined.  So a scan of a large table neither stalls this
 * process's requests (all of its transactions share the mutex) nor pins
 * old pages for long (a long-lived reader stops LMDB from reusing them),
 * and the callback may call the store without deadlocking on the mutex.
 *
 * The environment itself (opening behind the guard, write transactions
 * that grow the map, damage) is kv/lmdb_env.c, shared with the
 * double-spend store; unlike that store, writers do not queue on an
 * flock of data.mdb first (kv_lmdb_options.flock_writers).
 *
 * Durability and map growth follow verify/store_lmdb.c: MDB_NOMETASYNC by
 * default (a system crash can lose at most the last update: one greylist
 * retry or one counted message, never integrity), MDB_NOSYNC with
 * PD_ST_NOSYNC; the map starts at 16 MiB ($POSTAGE_LMDB_MAPSIZE for tests)
 * and doubles on MDB_MAP_FULL, which needs every transaction of this
 * process to run under the handle's mutex.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "util/bytes.h"
#include "util/errbuf.h"
#include "policy/state/state.h"
#include "policy/state/state_backend.h"
#include "kv/lmdb_env.h"
#include "kv/lmdb_guard.h"
#include "kv/store_spec.h"

#define SUBDIR "policy"
#define HDR 8                           /* expires_at before the payload */
#define DIRECT_MAX 399
#define HASH_LEN 32
#define PREFIX_LEN 367
#define HASHED_LEN (PREFIX_LEN + 1 + HASH_LEN)
#define DEFAULT_BATCH 1000u
/* Any LMDB key fits, ours or not (kv/lmdb_env.h). */
#define RESUME_MAX KV_LMDB_RESUME_MAX
#define INITIAL_MAPSIZE ((size_t) 16 << 20)
/* A body's way of saying "nothing to write": abort, do not commit. */
#define BODY_NOWRITE KV_LMDB_BODY_CODE(0)
/* A body's way of saying "the callback misbehaved". */
#define BODY_BADCALLBACK KV_LMDB_BODY_CODE(1)

struct pd_state_lmdb {
    struct kv_lmdb kv;         /* the environment, its lock, guard, damage */
    MDB_dbi dbi[PD_TABLE_COUNT];
    char dir[];
};

/* ---- errors ------------------------------------------------------------ */

/* "DIR/data.mdb: what: reason" into err (lock held); damage closes the
 * store for good (kv/lmdb_env.h). */
static int
fail(struct pd_state_lmdb *st, const char *what, int rc, char *err, size_t errlen)
{
    kv_lmdb_fail(&st->kv, what, rc, err, errlen);
    return PD_ST_ERR_BACKEND;
}

/* ---- transactions ------------------------------------------------------ */

/* Work done inside one write transaction (kv_lmdb_body): an LMDB code,
 * BODY_NOWRITE or BODY_BADCALLBACK; it must be safe to rerun from scratch
 * (after MDB_MAP_FULL the transaction is aborted and retried). */
static int
run_write(struct pd_state_lmdb *st, const char *what, kv_lmdb_body body, void *arg,
          char *err, size_t errlen)
{
    int rc = kv_lmdb_write(&st->kv, what, body, arg, err, errlen);

    if (rc == MDB_SUCCESS || rc == BODY_NOWRITE)
        return PD_ST_OK;
    if (rc == BODY_BADCALLBACK) {
        errbuf_printf(err, errlen,
               "%s: %s: the callback returned a value over %d bytes", st->dir,
               what, PD_ST_VALUE_MAX);
        return PD_ST_ERR_CALLBACK;
    }
    return PD_ST_ERR_BACKEND;
}

/* Begin a read-only transaction (lock held); checks the map first when
 * check_broken. */
static int
begin_read(struct pd_state_lmdb *st, int check_broken, MDB_txn **txn, char *err,
           size_t errlen)
{
    if (check_broken && kv_lmdb_usable(&st->kv, err, errlen) != 0)
        return PD_ST_ERR_BACKEND;
    if (kv_lmdb_begin_read(&st->kv, txn, err, errlen) != MDB_SUCCESS)
        return PD_ST_ERR_BACKEND;
    return PD_ST_OK;
}

/* ---- keys and records --------------------------------------------------- */

struct dbkey {
    size_t len;
    unsigned char data[HASHED_LEN];
};

static void
make_key(struct dbkey *k, const void *key, size_t keylen)
{
    if (keylen <= DIRECT_MAX) {
        memcpy(k->data, key, keylen);
        k->len = keylen;
        return;
    }
    memcpy(k->data, key, PREFIX_LEN);
    k->data[PREFIX_LEN] = 0xff;
    crypto_generichash(k->data + PREFIX_LEN + 1, HASH_LEN, key, keylen, NULL, 0);
    k->len = HASHED_LEN;
}

static int
valid_args(struct pd_state_lmdb *st, enum pd_table table, const void *key, size_t keylen,
           char *err, size_t errlen)
{
    if (st == NULL)
        return 0;
    if ((unsigned) table >= PD_TABLE_COUNT || key == NULL || keylen == 0
        || keylen > PD_ST_KEY_MAX) {
        errbuf_printf(err, errlen, "%s: invalid table or key length %zu", st->dir, keylen);
        return 0;
    }
    return 1;
}

/* What state.h promises of the keys pd_state_scan returns. */
_Static_assert(PD_ST_SCAN_EXACT_MAX == DIRECT_MAX, "direct keys come back exactly");
_Static_assert(PD_ST_SCAN_PREFIX == PREFIX_LEN, "hashed keys keep their prefix");
_Static_assert(HASHED_LEN <= RESUME_MAX, "every key of ours can be resumed after");

/* A stored record: is it well formed, and is it live at `now`? */
static int
record_live(const MDB_val *v, int64_t now, int64_t *expires_at)
{
    if (v->mv_size < HDR || v->mv_size > HDR + PD_ST_VALUE_MAX)
        return 0;
    *expires_at = be_get_i64(v->mv_data);
    return *expires_at > now;
}

/* ---- update --------------------------------------------------------------- */

struct update_arg {
    MDB_dbi dbi;
    struct dbkey key;
    int64_t now;
    pd_state_fn fn;
    void *ctx;
};

/* One entry's read-modify-write inside txn: MDB_SUCCESS when it wrote,
 * BODY_NOWRITE, BODY_BADCALLBACK or an LMDB code (then nothing of this
 * entry was written). */
static int
update_entry(MDB_txn *txn, MDB_dbi dbi, struct dbkey *key, int64_t now,
             pd_state_fn fn, void *ctx)
{
    unsigned char cur[PD_ST_VALUE_MAX];
    unsigned char rec[HDR + PD_ST_VALUE_MAX];
    size_t curlen = 0, outlen = 0;
    int64_t expires_at = PD_ST_NEVER;
    int present = 0, live = 0, rc;
    enum pd_st_op op;
    MDB_val k, v;

    k.mv_size = key->len;
    k.mv_data = key->data;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_SUCCESS) {
        present = 1;
        if (record_live(&v, now, &expires_at)) {
            live = 1;
            curlen = v.mv_size - HDR;
            /* A private copy: the callback never sees the map itself. */
            memcpy(cur, (const unsigned char *) v.mv_data + HDR, curlen);
        } else {
            expires_at = PD_ST_NEVER;
        }
    } else if (rc != MDB_NOTFOUND) {
        return rc;
    }

    op = fn(ctx, now, live ? cur : NULL, curlen, rec + HDR, &outlen, &expires_at);
    switch (op) {
    case PD_ST_PUT:
        if (outlen > PD_ST_VALUE_MAX)
            return BODY_BADCALLBACK;
        be_put_i64(rec, expires_at);
        v.mv_size = HDR + outlen;
        v.mv_data = rec;
        return mdb_put(txn, dbi, &k, &v, 0);
    case PD_ST_DELETE:
        return present ? mdb_del(txn, dbi, &k, NULL) : BODY_NOWRITE;
    case PD_ST_KEEP:
    default:
        /* A dead record stays for pd_state_expire: deleting it here would
         * turn a read-only answer into a commit and an fsync. */
        return BODY_NOWRITE;
    }
}

static int
update_body(MDB_txn *txn, void *varg)
{
    struct update_arg *a = varg;

    return update_entry(txn, a->dbi, &a->key, a->now, a->fn, a->ctx);
}

static int
pd_state_lmdb_update(void *handle, enum pd_table table, const void *key, size_t keylen,
                int64_t now, pd_state_fn fn, void *ctx, char *err, size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    struct update_arg arg;
    int rc;

    if (!valid_args(st, table, key, keylen, err, errlen))
        return PD_ST_ERR_INVALID;
    if (fn == NULL)
        return PD_ST_ERR_INVALID;
    arg.dbi = st->dbi[table];
    make_key(&arg.key, key, keylen);
    arg.now = now;
    arg.fn = fn;
    arg.ctx = ctx;
    pthread_mutex_lock(&st->kv.lock);
    rc = run_write(st, "updating an entry", update_body, &arg, err, errlen);
    pthread_mutex_unlock(&st->kv.lock);
    return rc;
}

/* ---- get ------------------------------------------------------------------ */

static int
pd_state_lmdb_get(void *handle, enum pd_table table, const void *key, size_t keylen,
             int64_t now, void *val, size_t cap, size_t *vallen, int64_t *expires_at,
             char *err, size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    struct dbkey dk;
    MDB_txn *txn;
    MDB_val k, v;
    int64_t exp = 0;
    int rc;

    if (!valid_args(st, table, key, keylen, err, errlen))
        return PD_ST_ERR_INVALID;
    if (val == NULL && cap > 0)
        return PD_ST_ERR_INVALID;
    make_key(&dk, key, keylen);
    k.mv_size = dk.len;
    k.mv_data = dk.data;

    pthread_mutex_lock(&st->kv.lock);
    rc = begin_read(st, 1, &txn, err, errlen);
    if (rc != PD_ST_OK)
        goto out;
    rc = mdb_get(txn, st->dbi[table], &k, &v);
    if (rc == MDB_SUCCESS && record_live(&v, now, &exp)) {
        size_t len = v.mv_size - HDR;

        if (len > 0 && cap > 0)
            memcpy(val, (const unsigned char *) v.mv_data + HDR, len < cap ? len : cap);
        if (vallen != NULL)
            *vallen = len;
        if (expires_at != NULL)
            *expires_at = exp;
        rc = PD_ST_OK;
    } else if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) {
        rc = PD_ST_NOTFOUND;
    } else {
        rc = fail(st, "reading an entry", rc, err, errlen);
    }
    mdb_txn_abort(txn);
out:
    pthread_mutex_unlock(&st->kv.lock);
    return rc;
}

/* ---- batches ---------------------------------------------------------------- */

/* pd_state_update_many and pd_state_add_many run every entry in ONE write
 * transaction, pd_state_get_many in one read transaction: one guard check,
 * one hand-off of the writer lock and one commit (or none, when no entry
 * writes) per batch, where calling the single functions would pay them for
 * each entry (about a dozen per message through the milter).
 *
 * Per entry, the meaning is that of the single call, in order: the same
 * update_entry, and a key given twice sees its earlier change.  What
 * differs is only what "the entries before a failure may have been
 * updated" allows (state.h): when LMDB itself fails, none of the batch is
 * written.  The single calls stop at an invalid entry, after writing the
 * ones before it, and at a misbehaving callback; so does a batch: it
 * commits the entries before such an entry and then returns its error.  A
 * batch body is rerun from scratch after MDB_MAP_FULL (the callbacks may
 * run more than once, as state.h allows; the adds' `existed` is set anew
 * each time). */

struct many_arg {
    struct pd_state_lmdb *st;
    const struct pd_state_change *ch;   /* the updates, or                  */
    struct pd_state_add *add;           /* the adds                         */
    size_t n;                           /* entries to run: the valid prefix */
    int64_t now;
    int badcallback;                    /* stopped at a misbehaving callback */
};

static int
many_body(MDB_txn *txn, void *varg)
{
    struct many_arg *a = varg;
    struct dbkey key;
    int wrote = 0, rc;

    a->badcallback = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->ch != NULL) {
            const struct pd_state_change *c = &a->ch[i];

            make_key(&key, c->key, c->keylen);
            rc = update_entry(txn, a->st->dbi[c->table], &key, a->now, c->fn, c->ctx);
        } else {
            struct pd_state_add *d = &a->add[i];

            make_key(&key, d->key, d->keylen);
            rc = update_entry(txn, a->st->dbi[d->table], &key, a->now, pd_state_add_fn, d);
        }
        if (rc == MDB_SUCCESS) {
            wrote = 1;
        } else if (rc == BODY_BADCALLBACK) {
            /* That entry wrote nothing; the ones before it are kept. */
            a->badcallback = 1;
            break;
        } else if (rc != BODY_NOWRITE) {
            return rc;                  /* an LMDB error: abort the batch */
        }
    }
    if (wrote)
        return MDB_SUCCESS;
    return a->badcallback ? BODY_BADCALLBACK : BODY_NOWRITE;
}

/* Run a's valid prefix (lock held); PD_ST_OK, or the error of the single
 * call that would have failed first. */
static int
run_many(struct pd_state_lmdb *st, struct many_arg *a, const char *what, char *err,
         size_t errlen)
{
    int rc;

    if (a->n == 0)
        return PD_ST_OK;
    rc = run_write(st, what, many_body, a, err, errlen);
    if (rc == PD_ST_OK && a->badcallback) {
        /* Committed the entries before it (run_write only reports a
         * misbehaving callback when nothing was written). */
        errbuf_printf(err, errlen, "%s: %s: the callback returned a value over %d bytes",
                      st->dir, what, PD_ST_VALUE_MAX);
        return PD_ST_ERR_CALLBACK;
    }
    return rc;
}

static int
pd_state_lmdb_update_many(void *handle, const struct pd_state_change *ch, size_t n,
                          int64_t now, char *err, size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    struct many_arg a = { .st = st, .ch = ch, .now = now };
    int rc;

    /* The entries before the first invalid one are updated, as one call
     * each would; its complaint is written only if nothing fails first. */
    while (a.n < n && valid_args(st, ch[a.n].table, ch[a.n].key, ch[a.n].keylen, NULL, 0)
           && ch[a.n].fn != NULL)
        a.n++;
    pthread_mutex_lock(&st->kv.lock);
    rc = run_many(st, &a, "updating entries", err, errlen);
    pthread_mutex_unlock(&st->kv.lock);
    if (rc == PD_ST_OK && a.n < n) {
        valid_args(st, ch[a.n].table, ch[a.n].key, ch[a.n].keylen, err, errlen);
        rc = PD_ST_ERR_INVALID;
    }
    return rc;
}

static int
pd_state_lmdb_add_many(void *handle, struct pd_state_add *add, size_t n, int64_t now,
                       char *err, size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    struct many_arg a = { .st = st, .add = add, .now = now };
    int rc;

    /* (state.c checked the values and expiry times.) */
    while (a.n < n && valid_args(st, add[a.n].table, add[a.n].key, add[a.n].keylen, NULL, 0))
        a.n++;
    pthread_mutex_lock(&st->kv.lock);
    rc = run_many(st, &a, "adding entries", err, errlen);
    pthread_mutex_unlock(&st->kv.lock);
    if (rc == PD_ST_OK && a.n < n) {
        valid_args(st, add[a.n].table, add[a.n].key, add[a.n].keylen, err, errlen);
        rc = PD_ST_ERR_INVALID;
    }
    return rc;
}

static int
read_valid(struct pd_state_lmdb *st, const struct pd_state_read *r, char *err, size_t errlen)
{
    return valid_args(st, r->table, r->key, r->keylen, err, errlen)
           && !(r->val == NULL && r->cap > 0);
}

static int
pd_state_lmdb_get_many(void *handle, struct pd_state_read *rd, size_t n, int64_t now,
                       char *err, size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    struct dbkey dk;
    MDB_txn *txn = NULL;
    MDB_val k, v;
    size_t m = 0;
    int rc = PD_ST_OK;

    while (m < n && read_valid(st, &rd[m], NULL, 0))
        m++;
    pthread_mutex_lock(&st->kv.lock);
    /* None valid: no transaction, as the single call would begin none. */
    if (m > 0 && (rc = begin_read(st, 1, &txn, err, errlen)) != PD_ST_OK)
        txn = NULL;
    for (size_t i = 0; txn != NULL && i < m && rc == PD_ST_OK; i++) {
        struct pd_state_read *r = &rd[i];
        int64_t exp = 0;

        r->vallen = 0;
        r->expires_at = 0;
        make_key(&dk, r->key, r->keylen);
        k.mv_size = dk.len;
        k.mv_data = dk.data;
        rc = mdb_get(txn, st->dbi[r->table], &k, &v);
        if (rc == MDB_SUCCESS && record_live(&v, now, &exp)) {
            size_t len = v.mv_size - HDR;

            if (len > 0 && r->cap > 0)
                memcpy(r->val, (const unsigned char *) v.mv_data + HDR,
                       len < r->cap ? len : r->cap);
            r->vallen = len;
            r->expires_at = exp;
            r->status = rc = PD_ST_OK;
        } else if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) {
            r->status = PD_ST_NOTFOUND;
            rc = PD_ST_OK;
        } else {
            r->status = rc = fail(st, "reading an entry", rc, err, errlen);
        }
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    pthread_mutex_unlock(&st->kv.lock);
    if (rc == PD_ST_OK && m < n) {
        rd[m].vallen = 0;
        rd[m].expires_at = 0;
        read_valid(st, &rd[m], err, errlen);
        rd[m].status = rc = PD_ST_ERR_INVALID;
    }
    return rc;
}

/* ---- expire ---------------------------------------------------------------- */

/* Damaged or foreign records go too: nothing can read them. */
static int
dead_record(const MDB_val *k, const MDB_val *v, void *ctx)
{
    int64_t exp;

    (void) k;
    return !record_live(v, *(const int64_t *) ctx, &exp);
}

static int
pd_state_lmdb_expire(void *handle, enum pd_table table, int64_t now, unsigned batch,
                uint64_t *removed, char *err, size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    int rc;

    if (removed != NULL)
        *removed = 0;
    if (st == NULL || (unsigned) table >= PD_TABLE_COUNT)
        return PD_ST_ERR_INVALID;
    rc = kv_lmdb_sweep(&st->kv, st->dbi[table], batch ? batch : DEFAULT_BATCH,
                       "expiring entries", dead_record, &now, removed, err, errlen);
    return rc == MDB_SUCCESS ? PD_ST_OK : PD_ST_ERR_BACKEND;
}

/* ---- scan ------------------------------------------------------------------- */

/* Entries examined per read transaction (live or not), which bounds how
 * long the mutex is held and how much one batch holds (about 150 KiB). */
#define SCAN_BATCH 256u

struct scan_entry {
    size_t keylen, vallen;
    int64_t expires_at;
    unsigned char key[RESUME_MAX];
    unsigned char val[PD_ST_VALUE_MAX];
};

struct scan_state {
    MDB_dbi dbi;
    int64_t now;
    int started;                      /* resume after resume[]         */
    size_t resume_len;
    unsigned char resume[RESUME_MAX];
    int finished;                     /* the last batch reached the end */
    size_t count;                     /* live entries in this batch     */
    struct scan_entry entry[SCAN_BATCH];
};

/* Read the next batch into s (lock held). */
static int
scan_read(struct pd_state_lmdb *st, struct scan_state *s, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    unsigned seen = 0;
    int64_t exp;
    int rc;

    s->count = 0;
    rc = begin_read(st, 1, &txn, err, errlen);
    if (rc != PD_ST_OK)
        return rc;
    rc = mdb_cursor_open(txn, s->dbi, &cur);
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return fail(st, "listing entries", rc, err, errlen);
    }
    rc = kv_lmdb_cursor_after(cur, s->started, s->resume, s->resume_len, &k, &v);
    while (rc == MDB_SUCCESS) {
        /* A key too long to resume after is not one of ours (ours are at
         * most HASHED_LEN bytes): pass over it without listing it. */
        if (k.mv_size <= sizeof s->resume) {
            memcpy(s->resume, k.mv_data, k.mv_size);
            s->resume_len = k.mv_size;
            s->started = 1;
            if (record_live(&v, s->now, &exp)) {
                struct scan_entry *e = &s->entry[s->count++];

                e->keylen = k.mv_size;
                memcpy(e->key, k.mv_data, k.mv_size);
                e->vallen = v.mv_size - HDR;
                memcpy(e->val, (const unsigned char *) v.mv_data + HDR, e->vallen);
                e->expires_at = exp;
            }
            /* Only after a key we can resume after, so the scan always
             * moves on; count <= seen, so the batch never overflows. */
            if (++seen >= SCAN_BATCH)
                break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND) {
        s->finished = 1;
        return PD_ST_OK;
    }
    if (rc != MDB_SUCCESS)
        return fail(st, "listing entries", rc, err, errlen);
    return PD_ST_OK;
}

static int
pd_state_lmdb_scan(void *handle, enum pd_table table, int64_t now, pd_state_scan_fn fn,
              void *ctx, char *err, size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    struct scan_state *s;
    int rc;

    if (st == NULL || (unsigned) table >= PD_TABLE_COUNT || fn == NULL)
        return PD_ST_ERR_INVALID;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return PD_ST_ERR_NOMEM;
    s->dbi = st->dbi[table];
    s->now = now;
    for (;;) {
        pthread_mutex_lock(&st->kv.lock);
        rc = scan_read(st, s, err, errlen);
        pthread_mutex_unlock(&st->kv.lock);
        if (rc != PD_ST_OK)
            break;
        /* No transaction and no lock while the callback runs. */
        for (size_t i = 0; i < s->count; i++) {
            const struct scan_entry *e = &s->entry[i];

            if (fn(ctx, e->key, e->keylen, e->val, e->vallen, e->expires_at) != 0)
                goto out;
        }
        if (s->finished)
            break;
    }
out:
    free(s);
    return rc;
}

static int
pd_state_lmdb_count(void *handle, enum pd_table table, uint64_t *count, char *err,
                    size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    MDB_txn *txn;
    MDB_stat ms;
    int rc;

    if (st == NULL || (unsigned) table >= PD_TABLE_COUNT || count == NULL)
        return PD_ST_ERR_INVALID;
    pthread_mutex_lock(&st->kv.lock);
    /* (No check of a broken map here, as before the move to kv/.) */
    rc = begin_read(st, 0, &txn, err, errlen);
    if (rc != PD_ST_OK)
        goto out;
    rc = mdb_stat(txn, st->dbi[table], &ms);
    mdb_txn_abort(txn);
    if (rc != MDB_SUCCESS) {
        rc = fail(st, "counting entries", rc, err, errlen);
        goto out;
    }
    *count = ms.ms_entries;
    rc = PD_ST_OK;
out:
    pthread_mutex_unlock(&st->kv.lock);
    return rc;
}

/* ---- open and close --------------------------------------------------------- */

/* "lmdb:DIR" or a bare path; a scheme is [a-z][a-z0-9+]* before ':' at the
 * very start (kv/store_spec.h), so "./a:b" is a path and "redis:x" is
 * refused rather than becoming a directory. */
static int
parse_spec(const char *spec, const char **dir, char *err, size_t errlen)
{
    size_t len;

    if (spec == NULL || spec[0] == '\0') {
        errbuf_printf(err, errlen, "empty state store specification");
        return PD_ST_ERR_INVALID;
    }
    len = kv_spec_scheme_length(spec);
    if (len > 0) {
        if (len != 4 || strncmp(spec, "lmdb", 4) != 0) {
            errbuf_printf(err, errlen, "\"%.*s:\" is not an LMDB state store (lmdb:DIR)",
                   (int) len, spec);
            return PD_ST_ERR_INVALID;
        }
        spec += len + 1;
    }
    if (spec[0] == '\0') {
        errbuf_printf(err, errlen, "empty directory in state store specification");
        return PD_ST_ERR_INVALID;
    }
    *dir = spec;
    return PD_ST_OK;
}

static int
open_body(MDB_txn *txn, unsigned dbi_flags, void *arg)
{
    struct pd_state_lmdb *st = arg;
    int t, rc;

    for (t = 0; t < PD_TABLE_COUNT; t++) {
        rc = mdb_dbi_open(txn, pd_state_table_name((enum pd_table) t), dbi_flags,
                          &st->dbi[t]);
        if (rc != MDB_SUCCESS)
            return rc;
    }
    return MDB_SUCCESS;
}

/* Neither the marker nor data.mdb in dir: no store at all, as opposed to
 * a lost one (lmdb_guard.h). */
static int
nothing_there(const char *dir)
{
    static const char *const names[] = { LMDB_GUARD_MARKER, "data.mdb" };
    size_t len = strlen(dir) + sizeof "/" LMDB_GUARD_MARKER;
    char *path = malloc(len);
    struct stat sb;
    int none = path != NULL;

    for (size_t i = 0; none && i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, len, "%s/%s", dir, names[i]);
        none = stat(path, &sb) != 0 && errno == ENOENT;
    }
    free(path);
    return none;
}

static int
pd_state_lmdb_open(const char *spec, unsigned flags, void **out, char *err, size_t errlen)
{
    struct pd_state_lmdb *st;
    struct kv_lmdb_options o;
    const char *base;
    size_t len;
    int rc;

    if (out == NULL)
        return PD_ST_ERR_INVALID;
    *out = NULL;
    rc = parse_spec(spec, &base, err, errlen);
    if (rc != PD_ST_OK)
        return rc;
    if (sodium_init() < 0) {
        errbuf_printf(err, errlen, "libsodium failed to initialise");
        return PD_ST_ERR_BACKEND;
    }
    len = strlen(base) + sizeof "/" SUBDIR;
    st = calloc(1, sizeof *st + len);
    if (st == NULL) {
        errbuf_printf(err, errlen, "out of memory opening state store %s", base);
        return PD_ST_ERR_NOMEM;
    }
    snprintf(st->dir, len, "%s/" SUBDIR, base);
    rc = kv_lmdb_prepare_dir(base, !(flags & PD_ST_NOCREATE), "state", "state store", err,
                             errlen);
    if (rc == 0)
        rc = kv_lmdb_prepare_dir(st->dir, !(flags & PD_ST_NOCREATE), "state", "state store",
                                 err, errlen);
    if (rc != 0) {
        free(st);
        return rc == KV_LMDB_MISSING ? PD_ST_ERR_NOSTORE : PD_ST_ERR_BACKEND;
    }
    memset(&o, 0, sizeof o);
    o.initial_mapsize = INITIAL_MAPSIZE;
    o.maxdbs = PD_TABLE_COUNT + 3;
    o.may_create = !(flags & PD_ST_NOCREATE);
    o.nosync = !!(flags & PD_ST_NOSYNC);
    o.flock_writers = 0;
    o.owner = "state store";
    o.owner_name = base;
    rc = kv_lmdb_open(&st->kv, st->dir, &o, "opening the tables", open_body, st, err, errlen);
    if (rc != 0) {
        /* Nothing there at all is PD_ST_ERR_NOSTORE; a lost store is not. */
        if (rc == KV_LMDB_FAILED && (flags & PD_ST_NOCREATE) && nothing_there(st->dir)) {
            errbuf_printf(err, errlen, "%s: no state store here (no data.mdb)", st->dir);
            rc = PD_ST_ERR_NOSTORE;
        } else {
            rc = rc == KV_LMDB_NOMEM ? PD_ST_ERR_NOMEM : PD_ST_ERR_BACKEND;
        }
        free(st);
        return rc;
    }
    *out = st;
    return PD_ST_OK;
}

static int
pd_state_lmdb_sync(void *handle, char *err, size_t errlen)
{
    struct pd_state_lmdb *st = handle;
    int rc;

    if (st == NULL)
        return PD_ST_ERR_INVALID;
    /* mdb_env_sync needs no transaction and takes no write lock: updates
     * go on while the data reaches the disk. */
    rc = mdb_env_sync(st->kv.env, 1);
    if (rc != MDB_SUCCESS) {
        rc = lmdb_guard_reason(&st->kv.guard, rc);
        errbuf_printf(err, errlen, "%s: syncing to disk: %s%s", st->kv.guard.data_path,
                      mdb_strerror(rc), rc == ENOSPC || rc == EDQUOT ? " (disk full)" : "");
        return PD_ST_ERR_BACKEND;
    }
    return PD_ST_OK;
}

static void
pd_state_lmdb_close(void *handle)
{
    struct pd_state_lmdb *st = handle;

    if (st == NULL)
        return;
    kv_lmdb_close(&st->kv);
    free(st);
}

/* A damaged store is reported once, as an outage that lasts until the
 * store is restored and postaged restarted. */
static void
pd_state_lmdb_set_notify(void *handle, pd_state_notify_fn fn, void *ctx)
{
    struct pd_state_lmdb *st = handle;

    kv_lmdb_set_notify(&st->kv, fn, ctx);
}

const struct pd_state_ops pd_state_lmdb_ops = {
    .name = "lmdb",
    .open = pd_state_lmdb_open,
    .update = pd_state_lmdb_update,
    .get = pd_state_lmdb_get,
    .expire = pd_state_lmdb_expire,
    .scan = pd_state_lmdb_scan,
    .count = pd_state_lmdb_count,
    .sync = pd_state_lmdb_sync,
    .set_notify = pd_state_lmdb_set_notify,
    .close = pd_state_lmdb_close,
    .update_many = pd_state_lmdb_update_many,
    .get_many = pd_state_lmdb_get_many,
    .add_many = pd_state_lmdb_add_many,
};
