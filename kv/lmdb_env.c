/*
 * lmdb_env.c - one LMDB environment as both stores use it (lmdb_env.h):
 * open behind the guard, write transactions that grow the map, group
 * commit, reads, failures and damage.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <lmdb.h>

#include "util/errbuf.h"
#include "kv/lmdb_env.h"
#include "kv/lmdb_grow.h"
#include "kv/lmdb_guard.h"

int
kv_lmdb_prepare_dir(const char *dir, int may_create, const char *dir_noun,
                    const char *store_noun, char *err, size_t errlen)
{
    struct stat st;

    if (may_create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        errbuf_printf(err, errlen, "cannot create %s directory %s: %s", dir_noun, dir,
                      strerror(errno));
        return KV_LMDB_FAILED;
    }
    if (stat(dir, &st) != 0) {
        int missing = errno == ENOENT && !may_create;

        errbuf_printf(err, errlen, "cannot open %s directory %s: %s", dir_noun, dir,
                      strerror(errno));
        return missing ? KV_LMDB_MISSING : KV_LMDB_FAILED;
    }
    if (!S_ISDIR(st.st_mode)) {
        errbuf_printf(err, errlen, "%s %s is not a directory", store_noun, dir);
        return KV_LMDB_FAILED;
    }
    return 0;
}

/* ---- failures and damage ------------------------------------------------ */

/* "PATH: what: reason (hint)"; e NULL before the guard knows data.mdb. */
static int
describe(const struct kv_lmdb *e, const char *path, const char *what, int rc, char *err,
         size_t errlen)
{
    const char *hint = "";

    if (e != NULL)
        rc = lmdb_guard_reason(&e->guard, rc);
    if (rc == ENOSPC || rc == EDQUOT)
        hint = " (disk full)";
    else if (rc == MDB_MAP_FULL)
        hint = " (the map is full)";
    errbuf_printf(err, errlen, "%s: %s: %s%s", path, what, mdb_strerror(rc), hint);
    return KV_LMDB_FAILED;
}

/* The store is damaged, lost or replaced: refuse every later call with
 * the same reason, and tell the owner once. */
static int
damaged(struct kv_lmdb *e, const char *why, char *err, size_t errlen)
{
    if (!e->damaged) {
        e->damaged = 1;
        snprintf(e->damage, sizeof e->damage, "%s", why);
        if (e->notify != NULL)
            e->notify(e->notify_ctx, 0, e->damage);
    }
    errbuf_printf(err, errlen, "%s", e->damage);
    return KV_LMDB_FAILED;
}

/* LMDB's own findings of damage.  (MDB_VERSION_MISMATCH comes only from
 * opening, where it fails the open; it is listed for completeness.) */
static int
is_damage(int rc)
{
    return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID
        || rc == MDB_VERSION_MISMATCH;
}

int
kv_lmdb_fail(struct kv_lmdb *e, const char *what, int rc, char *err, size_t errlen)
{
    char why[KV_LMDB_ERRLEN];
    const char *path = e->guard.data_path != NULL ? e->guard.data_path : e->dir;

    if (!is_damage(rc))
        return describe(e, path, what, rc, err, errlen);
    describe(e, path, what, rc, why, sizeof why);
    return damaged(e, why, err, errlen);
}

/* Before each transaction: data.mdb still whole and still ours? */
static int
check_file(struct kv_lmdb *e, char *err, size_t errlen)
{
    char why[KV_LMDB_ERRLEN];

    if (e->damaged)
        return damaged(e, e->damage, err, errlen);
    if (lmdb_guard_check(&e->guard, e->env, why, sizeof why) != 0)
        return damaged(e, why, err, errlen);
    return 0;
}

int
kv_lmdb_usable(const struct kv_lmdb *e, char *err, size_t errlen)
{
    if (!e->broken)
        return 0;
    errbuf_printf(err, errlen, "%s: store unusable after a failed map resize; reopen it", e->dir);
    return KV_LMDB_FAILED;
}

void
kv_lmdb_set_notify(struct kv_lmdb *e, kv_lmdb_notify_fn fn, void *ctx)
{
    pthread_mutex_lock(&e->lock);
    e->notify = fn;
    e->notify_ctx = ctx;
    if (e->damaged && fn != NULL)
        fn(ctx, 0, e->damage);
    pthread_mutex_unlock(&e->lock);
}

/* ---- transactions --------------------------------------------------------- */

/* Double the map after MDB_MAP_FULL (no transaction open). */
static int
grow(struct kv_lmdb *e, const char *what, char *err, size_t errlen)
{
    int rc = lmdb_grow_double(e->env, &e->broken);

    if (rc == MDB_SUCCESS)
        return 0;
    if (rc == MDB_MAP_FULL) {
        errbuf_printf(err, errlen, "%s: %s: the store is full (it may not grow beyond %zu MiB)",
                      e->dir, what, (size_t) (LMDB_GROW_MAX >> 20));
        return KV_LMDB_FAILED;
    }
    return kv_lmdb_fail(e, e->broken ? "growing the map" : "reading the map size", rc, err,
                        errlen);
}

static int
write_retrying(struct kv_lmdb *e, const char *what, kv_lmdb_body body, void *arg,
               char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc, i;

    for (i = 0; i < LMDB_GROW_RETRIES; i++) {
        if (check_file(e, err, errlen) != 0)
            return KV_LMDB_FAILED;
        rc = lmdb_grow_begin(e->env, 0, &txn, &e->broken);
        if (rc != MDB_SUCCESS)
            return kv_lmdb_fail(e, "beginning a write transaction", rc, err, errlen);
        rc = body(txn, arg);
        if (rc == MDB_SUCCESS)
            rc = mdb_txn_commit(txn);   /* frees txn even on failure */
        else
            mdb_txn_abort(txn);
        if (rc == MDB_SUCCESS || KV_LMDB_IS_BODY_CODE(rc))
            return rc;
        if (rc == LMDB_GUARD_REFUSED)
            return KV_LMDB_FAILED;      /* the body wrote err */
        if (rc != MDB_MAP_FULL)
            return kv_lmdb_fail(e, what, rc, err, errlen);
        if (grow(e, what, err, errlen) != 0)
            return KV_LMDB_FAILED;
    }
    errbuf_printf(err, errlen, "%s: %s: gave up after %d retries", e->dir, what,
                  LMDB_GROW_RETRIES);
    return KV_LMDB_FAILED;
}

/* With flock_writers, writers queue on an flock() of data.mdb before they
 * touch LMDB's writer mutex, so that mutex never has a waiter.  It is a
 * robust process-shared pthread mutex, and its hand-over can be lost: when
 * the holder dies (or unlocks) the kernel (or glibc) wakes ONE waiter, and
 * if that waiter is killed before it takes the mutex, the others sleep on
 * forever.  A postage-verify killed with SIGKILL thus wedged postaged's
 * spends for good (tests/system/fault_kill9.sh).  The kernel releases an flock at
 * exit and wakes every process blocked on it, so a death there loses
 * nothing. */
int
kv_lmdb_write(struct kv_lmdb *e, const char *what, kv_lmdb_body body, void *arg,
              char *err, size_t errlen)
{
    int fd, rc;

    if (kv_lmdb_usable(e, err, errlen) != 0)
        return KV_LMDB_FAILED;
    if (!e->flock_writers)
        return write_retrying(e, what, body, arg, err, errlen);
    if (mdb_env_get_fd(e->env, &fd) != MDB_SUCCESS || fd < 0)
        return kv_lmdb_fail(e, "finding the data file to lock", EBADF, err, errlen);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR)
            return kv_lmdb_fail(e, "locking the data file for writing", errno, err, errlen);
    }
    rc = write_retrying(e, what, body, arg, err, errlen);
    flock(fd, LOCK_UN);
    return rc;
}

/* ---- group commit ----------------------------------------------------------- */

/* One caller's write, on its stack, queued until a leader has written it. */
struct kv_lmdb_request {
    kv_lmdb_body body;
    void *arg;
    const char *what;
    int rc;                             /* its answer, once done            */
    int done;
    char *err;                          /* the caller's buffer              */
    size_t errlen;
    struct kv_lmdb_request *next;
    pthread_cond_t wake;                /* done, or lead the next batch     */
};

/* A batch as one body: each request's body in order.  A request's own
 * code is its answer and the others go on; an LMDB error fails them all. */
static int
batch_body(MDB_txn *txn, void *arg)
{
    struct kv_lmdb_request *r;
    int rc;

    for (r = arg; r != NULL; r = r->next) {
        rc = r->body(txn, r->arg);
        if (rc != MDB_SUCCESS && !KV_LMDB_IS_BODY_CODE(rc))
            return rc;
        r->rc = rc;
    }
    return MDB_SUCCESS;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

/* Write the batch `first` in one transaction (e->lock not held). */
static void
write_batch(struct kv_lmdb *e, struct kv_lmdb_request *first)
{
    struct kv_lmdb_request *r;
    char err[KV_LMDB_ERRLEN] = "";
    int rc;

    pthread_mutex_lock(&e->lock);
    rc = kv_lmdb_write(e, first->what, batch_body, first, err, sizeof err);
    pthread_mutex_unlock(&e->lock);
    if (rc == MDB_SUCCESS)
        return;                         /* each request holds its answer */
    for (r = first; r != NULL; r = r->next) {
        r->rc = KV_LMDB_FAILED;
        errbuf_printf(r->err, r->errlen, "%s", err);
    }
}

/* The leader, before it takes the batch (group_lock held): if the last
 * commit showed a crowd, wait until as many callers are queued or for a
 * bounded time (lmdb_env.h, "Gathering"). */
static void
gather(struct kv_lmdb *e)
{
    struct timespec until;
    uint64_t start, wait, end;

    if (e->no_gather || e->crowd <= 1 || e->queued >= e->crowd)
        return;
    wait = e->commit_ns / 2;
    if (wait > e->gather_max_ns)
        wait = e->gather_max_ns;
    if (wait == 0)
        return;
    start = now_ns();
    end = start + wait;
    until.tv_sec = (time_t) (end / 1000000000u);
    until.tv_nsec = (long) (end % 1000000000u);
    e->gathering = 1;
    e->stats.gathers++;
    while (e->queued < e->crowd) {
        /* Wakes early when the batch is full (an arrival signals), and
         * spuriously: the deadline is absolute, so just check again. */
        if (pthread_cond_timedwait(&e->gather, &e->group_lock, &until) == ETIMEDOUT) {
            if (e->queued < e->crowd)
                e->stats.gather_timeouts++;
            break;
        }
    }
    e->gathering = 0;
    e->stats.gather_ns += now_ns() - start;
}

/* After a commit of n requests that took ns (group_lock held): who came,
 * and what a commit costs. */
static void
account(struct kv_lmdb *e, unsigned n, uint64_t ns)
{
    e->crowd = n + e->queued;           /* those queued during the commit */
    /* A moving average over about 8 commits: a slow one (a map growth)
     * does not make the wait long for good. */
    e->commit_ns = e->commit_ns == 0 ? ns : e->commit_ns - e->commit_ns / 8 + ns / 8;
    e->stats.commits++;
    e->stats.requests += n;
    e->stats.commit_ns += ns;
    e->stats.batch_size[(n < KV_LMDB_BATCH_HIST ? n : KV_LMDB_BATCH_HIST) - 1]++;
}

int
kv_lmdb_write_grouped(struct kv_lmdb *e, const char *what, kv_lmdb_body body, void *arg,
                      char *err, size_t errlen)
{
    struct kv_lmdb_request me = {
        .body = body, .arg = arg, .what = what, .rc = KV_LMDB_FAILED, .err = err,
        .errlen = errlen,
    };
    struct kv_lmdb_request *batch, *r, *next;
    uint64_t t0;
    unsigned n;

    /* Each caller sleeps on its own condition variable, so that a commit
     * wakes its batch and the next leader, not every waiter. */
    if (pthread_cond_init(&me.wake, NULL) != 0) {
        errbuf_printf(err, errlen, "%s: %s: cannot create a condition variable", e->dir, what);
        return KV_LMDB_NOMEM;
    }
    pthread_mutex_lock(&e->group_lock);
    *e->queue_end = &me;
    e->queue_end = &me.next;
    e->queued++;
    if (e->gathering && e->queued >= e->crowd)
        pthread_cond_signal(&e->gather);        /* the batch is full: go */
    while (!me.done) {
        if (e->leading) {
            pthread_cond_wait(&me.wake, &e->group_lock);
            continue;
        }
        /* Lead: wait for the crowd if there is one, then everything
         * queued so far (me included) is one batch, and whoever queues
         * while it commits waits for the next. */
        e->leading = 1;
        gather(e);
        batch = e->queue;
        n = e->queued;
        e->queue = NULL;
        e->queue_end = &e->queue;
        e->queued = 0;
        pthread_mutex_unlock(&e->group_lock);
        t0 = now_ns();
        write_batch(e, batch);
        t0 = now_ns() - t0;
        pthread_mutex_lock(&e->group_lock);
        account(e, n, t0);
        for (r = batch; r != NULL; r = next) {
            next = r->next;             /* r may be gone once we unlock */
            r->done = 1;
            if (r != &me)
                pthread_cond_signal(&r->wake);
        }
        e->leading = 0;
        /* The next batch's first caller leads it. */
        if (e->queue != NULL)
            pthread_cond_signal(&e->queue->wake);
    }
    pthread_mutex_unlock(&e->group_lock);
    pthread_cond_destroy(&me.wake);
    return me.rc;
}

void
kv_lmdb_group_tune(struct kv_lmdb *e, int gather_on, uint64_t max_wait_ns,
                   struct kv_lmdb_group_stats *stats)
{
    pthread_mutex_lock(&e->group_lock);
    if (gather_on >= 0)
        e->no_gather = !gather_on;
    if (max_wait_ns != 0)
        e->gather_max_ns = max_wait_ns;
    if (stats != NULL)
        *stats = e->stats;
    pthread_mutex_unlock(&e->group_lock);
}

int
kv_lmdb_begin_read(struct kv_lmdb *e, MDB_txn **txn, char *err, size_t errlen)
{
    int rc;

    if (check_file(e, err, errlen) != 0)
        return KV_LMDB_FAILED;
    rc = lmdb_grow_begin(e->env, MDB_RDONLY, txn, &e->broken);
    if (rc != MDB_SUCCESS)
        return kv_lmdb_fail(e, "beginning a read transaction", rc, err, errlen);
    return MDB_SUCCESS;
}

int
kv_lmdb_cursor_after(MDB_cursor *cur, int started, void *key, size_t keylen,
                     MDB_val *k, MDB_val *v)
{
    int rc;

    if (!started)
        return mdb_cursor_get(cur, k, v, MDB_FIRST);
    k->mv_size = keylen;
    k->mv_data = key;                   /* MDB_val is not const */
    rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && k->mv_size == keylen && memcmp(k->mv_data, key, keylen) == 0)
        rc = mdb_cursor_get(cur, k, v, MDB_NEXT);   /* seen last time */
    return rc;
}

/* ---- sweeping ------------------------------------------------------------- */

struct sweep {
    MDB_dbi dbi;
    unsigned batch;
    kv_lmdb_dead_fn dead;
    void *ctx;
    int started;                        /* resume after key[]            */
    size_t keylen;
    unsigned char key[KV_LMDB_RESUME_MAX];
    /* Results of the batch, valid only once it has committed. */
    uint64_t removed;
    size_t next_len;
    unsigned char next_key[KV_LMDB_RESUME_MAX];
    int finished;
};

static int
sweep_body(MDB_txn *txn, void *arg)
{
    struct sweep *s = arg;
    MDB_cursor *cur;
    MDB_val k, v;
    unsigned seen = 0;
    int rc;

    s->removed = 0;
    s->finished = 0;
    s->next_len = 0;
    rc = mdb_cursor_open(txn, s->dbi, &cur);
    if (rc != MDB_SUCCESS)
        return rc;
    rc = kv_lmdb_cursor_after(cur, s->started, s->key, s->keylen, &k, &v);
    while (rc == MDB_SUCCESS) {
        if (k.mv_size <= sizeof s->next_key) {
            memcpy(s->next_key, k.mv_data, k.mv_size);
            s->next_len = k.mv_size;
        }
        if (s->dead(&k, &v, s->ctx)) {
            rc = mdb_cursor_del(cur, 0);
            if (rc != MDB_SUCCESS)
                break;
            s->removed++;
        }
        if (++seen >= s->batch) {
            mdb_cursor_close(cur);
            return MDB_SUCCESS;          /* more may follow: next batch */
        }
        /* After a delete, MDB_NEXT yields the entry that took its place. */
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        s->finished = 1;
        return MDB_SUCCESS;
    }
    return rc;
}

int
kv_lmdb_sweep(struct kv_lmdb *e, MDB_dbi dbi, unsigned batch, const char *what,
              kv_lmdb_dead_fn dead, void *ctx, uint64_t *removed, char *err, size_t errlen)
{
    struct sweep s = { .dbi = dbi, .batch = batch, .dead = dead, .ctx = ctx };
    uint64_t total = 0;
    int rc;

    for (;;) {
        /* The lock is dropped between batches so others interleave. */
        pthread_mutex_lock(&e->lock);
        rc = kv_lmdb_write(e, what, sweep_body, &s, err, errlen);
        pthread_mutex_unlock(&e->lock);
        if (rc != MDB_SUCCESS)
            break;
        total += s.removed;
        if (s.finished || s.next_len == 0)
            break;
        memcpy(s.key, s.next_key, s.next_len);
        s.keylen = s.next_len;
        s.started = 1;
    }
    if (removed != NULL)
        *removed = total;
    return rc == MDB_SUCCESS ? MDB_SUCCESS : KV_LMDB_FAILED;
}

/* ---- open and close --------------------------------------------------------- */

struct open_arg {
    struct kv_lmdb *e;
    kv_lmdb_open_body body;
    void *arg;
    unsigned dbi_flags;
    char *err;
    size_t errlen;
};

/* The store's identity first, then the owner's databases. */
static int
open_body(MDB_txn *txn, void *varg)
{
    struct open_arg *a = varg;
    int rc = lmdb_guard_identify(&a->e->guard, txn, a->err, a->errlen);

    if (rc != MDB_SUCCESS)
        return rc;
    return a->body(txn, a->dbi_flags, a->arg);
}

/* The leader's condition variable, on the monotonic clock so that a
 * change of the wall clock never stretches its bounded wait. */
static int
gather_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t a;
    int rc;

    if (pthread_condattr_init(&a) != 0)
        return -1;
    rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return rc == 0 ? 0 : -1;
}

int
kv_lmdb_open(struct kv_lmdb *e, const char *dir, const struct kv_lmdb_options *o,
             const char *what, kv_lmdb_open_body body, void *arg, char *err, size_t errlen)
{
    struct open_arg oa;
    unsigned envflags = MDB_NOTLS | MDB_NORDAHEAD | MDB_NOMETASYNC;
    int rc, dead, status;

    memset(e, 0, sizeof *e);
    e->dir = dir;
    e->flock_writers = o->flock_writers;
    e->guard.lock_fd = -1;              /* lmdb_guard_free is safe from here */
    e->queue_end = &e->queue;
    e->gather_max_ns = KV_LMDB_GATHER_MAX_NS;
    if (pthread_mutex_init(&e->lock, NULL) != 0) {
        errbuf_printf(err, errlen, "cannot create a mutex for %s %s", o->owner, o->owner_name);
        return KV_LMDB_NOMEM;
    }
    if (pthread_mutex_init(&e->group_lock, NULL) != 0) {
        pthread_mutex_destroy(&e->lock);
        errbuf_printf(err, errlen, "cannot create a mutex for %s %s", o->owner, o->owner_name);
        return KV_LMDB_NOMEM;
    }
    if (gather_cond_init(&e->gather) != 0) {
        pthread_mutex_destroy(&e->group_lock);
        pthread_mutex_destroy(&e->lock);
        errbuf_printf(err, errlen, "cannot create a condition variable for %s %s", o->owner,
                      o->owner_name);
        return KV_LMDB_NOMEM;
    }
    if (o->nosync)
        envflags |= MDB_NOSYNC;

    /* Before LMDB sees the files: is this a store, a new one or a lost one? */
    if (lmdb_guard_prepare(&e->guard, dir, o->may_create, err, errlen) != 0) {
        status = KV_LMDB_FAILED;
        goto fail_guard;
    }
    rc = mdb_env_create(&e->env);
    if (rc != MDB_SUCCESS) {
        e->env = NULL;
        status = describe(NULL, dir, "creating the LMDB environment", rc, err, errlen);
        goto fail_guard;
    }
    rc = mdb_env_set_maxdbs(e->env, o->maxdbs);
    if (rc == MDB_SUCCESS)
        /* LMDB raises this to the size already in use by an existing store. */
        rc = mdb_env_set_mapsize(e->env, lmdb_grow_initial_size(o->initial_mapsize));
    if (rc != MDB_SUCCESS) {
        status = describe(NULL, dir, "configuring the LMDB environment", rc, err, errlen);
        goto fail_env;
    }
    rc = mdb_env_open(e->env, dir, envflags, 0600);
    if (rc != MDB_SUCCESS) {
        status = describe(NULL, e->guard.data_path, "opening the LMDB environment", rc, err,
                          errlen);
        goto fail_env;
    }
    /* Before any page is read through the map. */
    if (lmdb_guard_attach(&e->guard, e->env, err, errlen) != 0) {
        status = KV_LMDB_FAILED;
        goto fail_env;
    }
    /* Free reader slots left by processes that died inside a read. */
    rc = mdb_reader_check(e->env, &dead);
    if (rc != MDB_SUCCESS) {
        status = describe(e, e->guard.data_path, "checking for stale readers", rc, err, errlen);
        goto fail_env;
    }

    oa.e = e;
    oa.body = body;
    oa.arg = arg;
    oa.dbi_flags = o->may_create ? MDB_CREATE : 0;
    oa.err = err;
    oa.errlen = errlen;
    pthread_mutex_lock(&e->lock);
    status = kv_lmdb_write(e, what, open_body, &oa, err, errlen);
    pthread_mutex_unlock(&e->lock);
    if (status == MDB_SUCCESS && lmdb_guard_mark(&e->guard, err, errlen) != 0)
        status = KV_LMDB_FAILED;
    if (status != MDB_SUCCESS)
        goto fail_env;
    lmdb_guard_release(&e->guard);
    return 0;

fail_env:
    mdb_env_close(e->env);
fail_guard:
    lmdb_guard_free(&e->guard);
    pthread_cond_destroy(&e->gather);
    pthread_mutex_destroy(&e->group_lock);
    pthread_mutex_destroy(&e->lock);
    return status == KV_LMDB_NOMEM ? status : KV_LMDB_FAILED;
}

void
kv_lmdb_close(struct kv_lmdb *e)
{
    unsigned envflags = 0;

    if (!e->broken && mdb_env_get_flags(e->env, &envflags) == MDB_SUCCESS
        && (envflags & MDB_NOSYNC))
        mdb_env_sync(e->env, 1);
    mdb_env_close(e->env);
    lmdb_guard_free(&e->guard);
    pthread_cond_destroy(&e->gather);
    pthread_mutex_destroy(&e->group_lock);
    pthread_mutex_destroy(&e->lock);
}
