/*
 * store_lmdb.c - the LMDB double-spend store backend ("lmdb:DIR").
 *
 * Layout.  DIR (created mode 0700 unless POSTAGE_STORE_NOCREATE) holds
 * LMDB's data.mdb and lock.mdb (mode 0600) and one named database, "spent".
 * Key: the 32-byte SHA-256 of the stamp, computed by store.c.  Value: 8
 * bytes, expires_at as a big-endian two's-complement int64, so a store
 * reads the same on any host.
 *
 * Double spending.  spend() is one mdb_put(MDB_NOOVERWRITE) in its own
 * write transaction: LMDB's writer lock (a process-shared mutex in
 * lock.mdb) makes insert-if-absent atomic across threads and processes,
 * and MDB_KEYEXIST is the "spent" answer.  There is never a lookup
 * followed by a separate insert.
 *
 * Durability.  By default the environment runs with MDB_NOMETASYNC: each
 * commit fsyncs the data pages before the new meta page is written, and
 * the meta page itself reaches the disk with the next commit (or when the
 * kernel writes it back).  Integrity never depends on write ordering, and
 * an operating system crash can lose at most the last committed spend,
 * i.e. allow one replay of one still-valid stamp.  That costs one fsync
 * per spend instead of two, and a single replayable stamp is harmless next
 * to a corrupt store.  POSTAGE_STORE_NOSYNC selects MDB_NOSYNC (no fsync
 * until a clean close, which syncs): the last seconds of spends can be
 * lost, and on a file system that does not keep write order LMDB itself
 * warns that a crash may corrupt the store, so it is for bulk loads and
 * benchmarks.  A process crash (as opposed to a system crash) loses
 * nothing in either mode.
 *
 * Map growth.  The map starts at 64 MiB (or $POSTAGE_LMDB_MAPSIZE bytes, a
 * decimal number with an optional k/m/g suffix, for tests).  MDB_MAP_FULL
 * aborts the transaction, doubles the map and retries.  mdb_env_set_mapsize
 * is only legal while this process has no transaction open, so every
 * transaction runs under a per-environment mutex.  When another process
 * has grown the file, mdb_txn_begin says MDB_MAP_RESIZED and we adopt its
 * size.  Growing the map costs address space, not disk: a full disk shows
 * up as ENOSPC/EDQUOT when committing, reported as "disk full".  The map
 * stops at 1 TiB (1 GiB with a 32-bit size_t).
 *
 * One handle per directory per process.  LMDB forbids opening the same
 * environment twice in one process (closing the second copy drops the
 * process's fcntl locks on lock.mdb, and another process could then reset
 * the reader table under us).  postage/store.h therefore asks callers to
 * open a store once and share the handle, which is thread-safe; the library
 * keeps no registry of open stores, as it keeps no mutable global state.
 * A handle must not be used in a child after fork().
 *
 * Purging walks the database with a cursor in write transactions of at
 * most PURGE_BATCH entries each, so a huge purge never keeps other
 * spenders waiting for the writer lock for long.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <lmdb.h>

#include "util/bytes.h"
#include "util/errbuf.h"
#include "postage/status.h"
#include "postage/store.h"
#include "kv/lmdb_grow.h"
#include "kv/lmdb_guard.h"
#include "verify/store_backend.h"

#define DB_NAME "spent"
#define INITIAL_MAPSIZE ((size_t) 64 << 20)
#define PURGE_BATCH 10000

struct lmdb_env {
    MDB_env *env;
    MDB_dbi dbi;
    pthread_mutex_t lock;      /* held across every transaction          */
    int broken;                /* a failed remap left no usable map      */
    int damaged;               /* data.mdb found damaged, lost, replaced */
    struct lmdb_guard guard;   /* data.mdb's identity and checks         */
    postage_store_notify_fn notify;
    void *notify_ctx;
    char damage[POSTAGE_STORE_ERRLEN];  /* why, for every later call     */
    char dir[];                /* for messages                           */
};

/* "DIR/data.mdb: what: reason", naming a full disk as such. */
static int
fail(const struct lmdb_env *e, const char *dir, const char *what, int rc,
     char *err, size_t errlen)
{
    const char *hint = "";

    if (e != NULL)
        rc = lmdb_guard_reason(&e->guard, rc);
    if (rc == ENOSPC || rc == EDQUOT)
        hint = " (disk full)";
    else if (rc == MDB_MAP_FULL)
        hint = " (the map is full)";
    if (e != NULL)
        errbuf_printf(err, errlen, "%s: %s: %s%s", e->guard.data_path, what,
                      mdb_strerror(rc), hint);
    else
        errbuf_printf(err, errlen, "%s: %s: %s%s", dir, what, mdb_strerror(rc), hint);
    return POSTAGE_ERR_STORE;
}

/* The store is damaged, lost or replaced: refuse every later call with
 * the same reason, and tell the owner once (e->lock held). */
static int
damaged(struct lmdb_env *e, const char *why, char *err, size_t errlen)
{
    if (!e->damaged) {
        e->damaged = 1;
        snprintf(e->damage, sizeof e->damage, "%s", why);
        if (e->notify != NULL)
            e->notify(e->notify_ctx, 0, e->damage);
    }
    errbuf_printf(err, errlen, "%s", e->damage);
    return POSTAGE_ERR_STORE;
}

/* Before each transaction: data.mdb still whole and still ours? */
static int
check_file(struct lmdb_env *e, char *err, size_t errlen)
{
    char why[POSTAGE_STORE_ERRLEN];

    if (e->damaged)
        return damaged(e, e->damage, err, errlen);
    if (lmdb_guard_check(&e->guard, e->env, why, sizeof why) != 0)
        return damaged(e, why, err, errlen);
    return POSTAGE_OK;
}

/* LMDB's own findings of damage also close the store for good. */
static int
lmdb_damage(int rc)
{
    return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID
        || rc == MDB_VERSION_MISMATCH;
}

static int
fail_txn(struct lmdb_env *e, const char *what, int rc, char *err, size_t errlen)
{
    char why[POSTAGE_STORE_ERRLEN];

    if (!lmdb_damage(rc))
        return fail(e, NULL, what, rc, err, errlen);
    fail(e, NULL, what, rc, why, sizeof why);
    return damaged(e, why, err, errlen);
}

/* Double the map after MDB_MAP_FULL (e->lock held, no transaction open). */
static int
grow(struct lmdb_env *e, const char *what, char *err, size_t errlen)
{
    int rc = lmdb_grow_double(e->env, &e->broken);

    if (rc == MDB_SUCCESS)
        return POSTAGE_OK;
    if (rc == MDB_MAP_FULL) {
        errbuf_printf(err, errlen, "%s: %s: the store is full (it may not grow beyond %zu MiB)",
               e->dir, what, (size_t) (LMDB_GROW_MAX >> 20));
        return POSTAGE_ERR_STORE;
    }
    return fail(e, NULL, e->broken ? "growing the map" : "reading the map size", rc, err,
                errlen);
}

/* A piece of work done inside one write transaction.  It returns an LMDB
 * code and must be safe to rerun from scratch: after MDB_MAP_FULL the
 * transaction is aborted and the body runs again in a fresh one. */
typedef int (*txn_body)(struct lmdb_env *e, MDB_txn *txn, void *arg);

/* Run body in a write transaction and commit, growing the map as needed.
 * Returns POSTAGE_OK, POSTAGE_ERR_SPENT (body said MDB_KEYEXIST) or
 * POSTAGE_ERR_STORE.  Called with e->lock and the writers' flock held. */
static int
run_write_flocked(struct lmdb_env *e, const char *what, txn_body body, void *arg,
                  char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc, st, i;

    for (i = 0; i < LMDB_GROW_RETRIES; i++) {
        st = check_file(e, err, errlen);
        if (st != POSTAGE_OK)
            return st;
        rc = lmdb_grow_begin(e->env, 0, &txn, &e->broken);
        if (rc != MDB_SUCCESS)
            return fail_txn(e, "beginning a write transaction", rc, err, errlen);
        rc = body(e, txn, arg);
        if (rc == MDB_SUCCESS)
            rc = mdb_txn_commit(txn);   /* frees txn even on failure */
        else
            mdb_txn_abort(txn);
        if (rc == MDB_SUCCESS)
            return POSTAGE_OK;
        if (rc == MDB_KEYEXIST)
            return POSTAGE_ERR_SPENT;
        if (rc == LMDB_GUARD_REFUSED)
            return POSTAGE_ERR_STORE;   /* the body wrote err */
        if (rc != MDB_MAP_FULL)
            return fail_txn(e, what, rc, err, errlen);
        st = grow(e, what, err, errlen);
        if (st != POSTAGE_OK)
            return st;
    }
    errbuf_printf(err, errlen, "%s: %s: gave up after %d retries", e->dir, what, LMDB_GROW_RETRIES);
    return POSTAGE_ERR_STORE;
}

/* Writers queue on an flock() of data.mdb before they touch LMDB's writer
 * mutex, so that mutex never has a waiter.  It is a robust process-shared
 * pthread mutex, and its hand-over can be lost: when the holder dies (or
 * unlocks) the kernel (or glibc) wakes ONE waiter, and if that waiter is
 * killed before it takes the mutex, the others sleep on forever.  A
 * postage-verify killed with SIGKILL thus wedged postaged's spends for
 * good (tests/fault_kill9.sh).  The kernel releases an flock at exit and
 * wakes every process blocked on it, so a death there loses nothing.
 * Called with e->lock held. */
static int
run_write(struct lmdb_env *e, const char *what, txn_body body, void *arg,
          char *err, size_t errlen)
{
    int fd, st;

    if (mdb_env_get_fd(e->env, &fd) != MDB_SUCCESS || fd < 0)
        return fail(e, NULL, "finding the data file to lock", EBADF, err, errlen);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR)
            return fail(e, NULL, "locking the data file for writing", errno, err, errlen);
    }
    st = run_write_flocked(e, what, body, arg, err, errlen);
    flock(fd, LOCK_UN);
    return st;
}

static int
check_usable(const struct lmdb_env *e, char *err, size_t errlen)
{
    if (!e->broken)
        return POSTAGE_OK;
    errbuf_printf(err, errlen, "%s: store unusable after a failed map resize; reopen it", e->dir);
    return POSTAGE_ERR_STORE;
}

/* ---- open and close -------------------------------------------------- */

struct open_arg {
    unsigned dbi_flags;
    char *err;
    size_t errlen;
};

static int
open_body(struct lmdb_env *e, MDB_txn *txn, void *varg)
{
    struct open_arg *a = varg;
    int rc = lmdb_guard_identify(&e->guard, txn, a->err, a->errlen);

    if (rc != MDB_SUCCESS)
        return rc;
    return mdb_dbi_open(txn, DB_NAME, a->dbi_flags, &e->dbi);
}

static int
prepare_dir(const char *dir, unsigned flags, struct stat *st, char *err, size_t errlen)
{
    if (!(flags & POSTAGE_STORE_NOCREATE) && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        errbuf_printf(err, errlen, "cannot create store directory %s: %s", dir, strerror(errno));
        return POSTAGE_ERR_STORE;
    }
    if (stat(dir, st) != 0) {
        if (errno == ENOENT && (flags & POSTAGE_STORE_NOCREATE))
            errbuf_printf(err, errlen, "no store in %s: %s", dir, strerror(errno));
        else
            errbuf_printf(err, errlen, "cannot open store directory %s: %s", dir,
                          strerror(errno));
        return POSTAGE_ERR_STORE;
    }
    if (!S_ISDIR(st->st_mode)) {
        errbuf_printf(err, errlen, "store %s is not a directory", dir);
        return POSTAGE_ERR_STORE;
    }
    return POSTAGE_OK;
}

static int
env_create(const char *dir, unsigned flags, struct lmdb_env **out, char *err,
           size_t errlen)
{
    struct open_arg arg;
    struct lmdb_env *e;
    size_t len = strlen(dir);
    unsigned envflags = MDB_NOTLS | MDB_NORDAHEAD | MDB_NOMETASYNC;
    int rc, dead, status;

    e = calloc(1, sizeof *e + len + 1);
    if (e == NULL) {
        errbuf_printf(err, errlen, "out of memory opening store %s", dir);
        return POSTAGE_ERR_NOMEM;
    }
    memcpy(e->dir, dir, len + 1);
    e->guard.lock_fd = -1;              /* lmdb_guard_free is safe from here */
    if (pthread_mutex_init(&e->lock, NULL) != 0) {
        free(e);
        errbuf_printf(err, errlen, "cannot create a mutex for store %s", dir);
        return POSTAGE_ERR_NOMEM;
    }
    if (flags & POSTAGE_STORE_NOSYNC)
        envflags |= MDB_NOSYNC;

    /* Before LMDB sees the files: is this a store, a new one or a lost one? */
    if (lmdb_guard_prepare(&e->guard, dir, !(flags & POSTAGE_STORE_NOCREATE), err, errlen) != 0) {
        status = POSTAGE_ERR_STORE;
        goto fail_guard;
    }
    rc = mdb_env_create(&e->env);
    if (rc != MDB_SUCCESS) {
        e->env = NULL;
        status = fail(NULL, dir, "creating the LMDB environment", rc, err, errlen);
        goto fail_guard;
    }
    rc = mdb_env_set_maxdbs(e->env, 4);
    if (rc == MDB_SUCCESS)
        /* LMDB raises this to the size already in use for an existing store. */
        rc = mdb_env_set_mapsize(e->env, lmdb_grow_initial_size(INITIAL_MAPSIZE));
    if (rc != MDB_SUCCESS) {
        status = fail(NULL, dir, "configuring the LMDB environment", rc, err, errlen);
        goto fail_env;
    }
    rc = mdb_env_open(e->env, dir, envflags, 0600);
    if (rc != MDB_SUCCESS) {
        status = fail(NULL, e->guard.data_path, "opening the LMDB environment", rc, err, errlen);
        goto fail_env;
    }
    /* Before any page is read through the map. */
    if (lmdb_guard_attach(&e->guard, e->env, err, errlen) != 0) {
        status = POSTAGE_ERR_STORE;
        goto fail_env;
    }
    /* Free reader slots left by processes that died inside a read. */
    rc = mdb_reader_check(e->env, &dead);
    if (rc != MDB_SUCCESS) {
        status = fail(e, NULL, "checking for stale readers", rc, err, errlen);
        goto fail_env;
    }

    arg.dbi_flags = (flags & POSTAGE_STORE_NOCREATE) ? 0 : MDB_CREATE;
    arg.err = err;
    arg.errlen = errlen;
    pthread_mutex_lock(&e->lock);
    status = run_write(e, "opening database \"" DB_NAME "\"", open_body, &arg, err, errlen);
    pthread_mutex_unlock(&e->lock);
    if (status == POSTAGE_OK && lmdb_guard_mark(&e->guard, err, errlen) != 0)
        status = POSTAGE_ERR_STORE;
    if (status != POSTAGE_OK)
        goto fail_env;
    lmdb_guard_release(&e->guard);
    *out = e;
    return POSTAGE_OK;

fail_env:
    mdb_env_close(e->env);
fail_guard:
    lmdb_guard_free(&e->guard);
    pthread_mutex_destroy(&e->lock);
    free(e);
    return status;
}

static int
lmdb_open(const char *location, unsigned flags, void **state, char *err, size_t errlen)
{
    struct lmdb_env *e = NULL;
    struct stat st;
    int rc;

    *state = NULL;
    rc = prepare_dir(location, flags, &st, err, errlen);
    if (rc == POSTAGE_OK)
        rc = env_create(location, flags, &e, err, errlen);
    if (rc == POSTAGE_OK)
        *state = e;
    return rc;
}

static void
lmdb_close(void *state)
{
    struct lmdb_env *e = state;

    if (e == NULL)
        return;
    /* A NOSYNC store (a bulk load) is made durable on a clean close.  The
     * default mode is not synced again here: that would double the fsyncs
     * of a one-spend process, and its exposure (the last spend) is the
     * documented one anyway. */
    if (!e->broken) {
        unsigned envflags = 0;

        if (mdb_env_get_flags(e->env, &envflags) == MDB_SUCCESS && (envflags & MDB_NOSYNC))
            mdb_env_sync(e->env, 1);
    }
    mdb_env_close(e->env);
    lmdb_guard_free(&e->guard);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* ---- spend ------------------------------------------------------------ */

struct spend_arg {
    uint8_t key[POSTAGE_STORE_KEYLEN];
    uint8_t value[8];
};

static int
spend_body(struct lmdb_env *e, MDB_txn *txn, void *varg)
{
    struct spend_arg *a = varg;
    MDB_val k, v;

    k.mv_size = POSTAGE_STORE_KEYLEN;
    k.mv_data = a->key;
    v.mv_size = sizeof a->value;
    v.mv_data = a->value;
    return mdb_put(txn, e->dbi, &k, &v, MDB_NOOVERWRITE);
}

static int
lmdb_spend(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN], int64_t expires_at,
           char *err, size_t errlen)
{
    struct lmdb_env *e = state;
    struct spend_arg arg;
    int rc;

    memcpy(arg.key, key, sizeof arg.key);
    be_put_i64(arg.value, expires_at);
    pthread_mutex_lock(&e->lock);
    rc = check_usable(e, err, errlen);
    if (rc == POSTAGE_OK)
        rc = run_write(e, "recording a spent stamp", spend_body, &arg, err, errlen);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* ---- purge ------------------------------------------------------------ */

struct purge_arg {
    int64_t now, grace;
    int started;                          /* resume from key[] */
    uint8_t key[POSTAGE_STORE_KEYLEN];    /* last key examined */
    /* Results of the batch, valid only once it has committed. */
    uint64_t removed;
    uint8_t next_key[POSTAGE_STORE_KEYLEN];
    int finished;
};

/* expires_at + grace <= now, without overflow. */
static int
expired(int64_t expires_at, int64_t now, int64_t grace)
{
    if (expires_at == POSTAGE_NEVER_EXPIRES)
        return 0;
    if (now < INT64_MIN + grace)        /* now - grace is below any value */
        return 0;
    return expires_at <= now - grace;
}

static int
purge_body(struct lmdb_env *e, MDB_txn *txn, void *varg)
{
    struct purge_arg *a = varg;
    MDB_cursor *cur;
    MDB_val k, v;
    unsigned seen = 0;
    int rc;

    a->removed = 0;
    a->finished = 0;
    rc = mdb_cursor_open(txn, e->dbi, &cur);
    if (rc != MDB_SUCCESS)
        return rc;
    if (a->started) {
        k.mv_size = sizeof a->key;
        k.mv_data = a->key;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_SUCCESS && k.mv_size == sizeof a->key
            && memcmp(k.mv_data, a->key, sizeof a->key) == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);   /* kept last time */
    } else {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    while (rc == MDB_SUCCESS) {
        if (k.mv_size == POSTAGE_STORE_KEYLEN)
            memcpy(a->next_key, k.mv_data, POSTAGE_STORE_KEYLEN);
        /* Values of another size are not ours: leave them alone. */
        if (v.mv_size == 8 && expired(be_get_i64(v.mv_data), a->now, a->grace)) {
            rc = mdb_cursor_del(cur, 0);
            if (rc != MDB_SUCCESS)
                break;
            a->removed++;
        }
        if (++seen >= PURGE_BATCH) {
            mdb_cursor_close(cur);
            return MDB_SUCCESS;          /* more may follow: next batch */
        }
        /* After a delete, MDB_NEXT yields the entry that took its place. */
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        a->finished = 1;
        return MDB_SUCCESS;
    }
    return rc;
}

static int
lmdb_purge(void *state, int64_t now, int64_t grace, uint64_t *removed,
           char *err, size_t errlen)
{
    struct lmdb_env *e = state;
    struct purge_arg arg;
    int rc;

    memset(&arg, 0, sizeof arg);
    arg.now = now;
    arg.grace = grace;
    *removed = 0;
    for (;;) {
        /* The lock is dropped between batches so spends can interleave. */
        pthread_mutex_lock(&e->lock);
        rc = check_usable(e, err, errlen);
        if (rc == POSTAGE_OK)
            rc = run_write(e, "purging expired stamps", purge_body, &arg, err, errlen);
        pthread_mutex_unlock(&e->lock);
        if (rc != POSTAGE_OK)
            return rc;
        *removed += arg.removed;
        if (arg.finished)
            return POSTAGE_OK;
        memcpy(arg.key, arg.next_key, sizeof arg.key);
        arg.started = 1;
    }
}

/* ---- reads ------------------------------------------------------------ */

/* Run body in a read-only transaction under the handle's lock; returns
 * POSTAGE_ERR_STORE (with err set) if the transaction could not begin,
 * else POSTAGE_OK with the body's LMDB status in *mdb_rc. */
static int
run_read(struct lmdb_env *e, txn_body body, void *arg, int *mdb_rc, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc;

    pthread_mutex_lock(&e->lock);
    rc = check_usable(e, err, errlen);
    if (rc == POSTAGE_OK)
        rc = check_file(e, err, errlen);
    if (rc == POSTAGE_OK) {
        rc = lmdb_grow_begin(e->env, MDB_RDONLY, &txn, &e->broken);
        if (rc != MDB_SUCCESS) {
            rc = fail_txn(e, "beginning a read transaction", rc, err, errlen);
        } else {
            *mdb_rc = body(e, txn, arg);
            mdb_txn_abort(txn);
            rc = POSTAGE_OK;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int
lookup_body(struct lmdb_env *e, MDB_txn *txn, void *arg)
{
    MDB_val k, v;
    k.mv_size = POSTAGE_STORE_KEYLEN;
    k.mv_data = arg;
    return mdb_get(txn, e->dbi, &k, &v);
}

static int
lmdb_lookup(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN], char *err, size_t errlen)
{
    struct lmdb_env *e = state;
    uint8_t copy[POSTAGE_STORE_KEYLEN];   /* MDB_val is not const */
    int mdb_rc = 0;
    int rc;

    memcpy(copy, key, sizeof copy);
    rc = run_read(e, lookup_body, copy, &mdb_rc, err, errlen);
    if (rc != POSTAGE_OK)
        return rc;
    if (mdb_rc == MDB_SUCCESS)
        return POSTAGE_ERR_SPENT;
    if (mdb_rc == MDB_NOTFOUND)
        return POSTAGE_OK;
    pthread_mutex_lock(&e->lock);
    rc = fail_txn(e, "looking up a stamp", mdb_rc, err, errlen);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int
count_body(struct lmdb_env *e, MDB_txn *txn, void *arg)
{
    return mdb_stat(txn, e->dbi, arg);
}

static int
lmdb_count(void *state, uint64_t *count, char *err, size_t errlen)
{
    struct lmdb_env *e = state;
    MDB_stat st;
    int mdb_rc = 0;
    int rc = run_read(e, count_body, &st, &mdb_rc, err, errlen);

    if (rc != POSTAGE_OK)
        return rc;
    if (mdb_rc != MDB_SUCCESS) {
        pthread_mutex_lock(&e->lock);
        rc = fail_txn(e, "counting entries", mdb_rc, err, errlen);
        pthread_mutex_unlock(&e->lock);
        return rc;
    }
    *count = st.ms_entries;
    return POSTAGE_OK;
}

/* A damaged store is reported once, as an outage that lasts until the
 * store is restored and reopened. */
static void
lmdb_set_notify(void *state, postage_store_notify_fn fn, void *ctx)
{
    struct lmdb_env *e = state;

    pthread_mutex_lock(&e->lock);
    e->notify = fn;
    e->notify_ctx = ctx;
    if (e->damaged && fn != NULL)
        fn(ctx, 0, e->damage);
    pthread_mutex_unlock(&e->lock);
}

const struct postage_store_backend postage_store_lmdb = {
    "lmdb",
    lmdb_open,
    lmdb_spend,
    lmdb_lookup,
    lmdb_purge,
    lmdb_count,
    lmdb_close,
    0,          /* open() gets the part after "lmdb:" */
    lmdb_set_notify,   /* damage found while open */
};
