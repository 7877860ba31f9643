/*
 * store_lmdb.c - the LMDB double-spend store backend ("lmdb:DIR"): its
 * database, records, spend, purge and reads.  The environment under it
 * (opening behind the guard, the writers' flock, map growth, damage) is
 * kv/lmdb_env.c, shared with postaged's state store.
 *
 * Layout.  DIR (created mode 0700 unless POSTAGE_STORE_NOCREATE) holds
 * LMDB's data.mdb and lock.mdb (mode 0600) and one named database, "spent".
 * Key: the 32-byte SHA-256 of the stamp, computed by store.c.  Value: 8
 * bytes, expires_at as a big-endian two's-complement int64, so a store
 * reads the same on any host.
 *
 * Double spending.  A spend is one mdb_put(MDB_NOOVERWRITE) in a write
 * transaction: LMDB's writer lock (a process-shared mutex in lock.mdb,
 * behind the writers' flock of kv/lmdb_env.c) makes insert-if-absent
 * atomic across threads and processes, and MDB_KEYEXIST is the "spent"
 * answer.  There is never a lookup followed by a separate insert.
 * spend_many puts a message's keys in order in one transaction; a key
 * met twice is "spent" the second time.
 *
 * Group commit.  Threads spending at once share a transaction
 * (kv_lmdb_write_grouped): the first spender with no commit in flight
 * takes every spend queued in this handle, puts them all in one
 * transaction and commits once; the spends that arrive during that
 * commit form the next one.  A lone spender commits at once, as before;
 * with N spenders a commit holds up to about N requests (each a spend or
 * a spend_many), so the fsync is paid once per batch instead of once per
 * spend.  When the last commit showed such a crowd, the leader first
 * waits a little (at most half a commit's cost, and 200 us) for as many
 * spenders to queue, so that those answered by one commit can join the
 * next instead of waiting a whole commit for the one after ("Gathering"
 * in kv/lmdb_env.h); a lone spender never waits.  Each put is still MDB_NOOVERWRITE inside the one transaction,
 * so of two spends of one key in a batch the second is "spent".  No
 * spender is answered "fresh" before the commit holding its spend has
 * returned (with its fsync); a failed batch (a full disk at commit,
 * damage) fails every spend in it, none acknowledged and none written.
 * Other processes spending the same store queue on the flock as before;
 * a process killed with SIGKILL loses only its own unanswered spends.
 *
 * Durability.  By default the environment runs with MDB_NOMETASYNC: each
 * commit fsyncs the data pages before the new meta page is written, and
 * the meta page itself reaches the disk with the next commit (or when the
 * kernel writes it back).  Integrity never depends on write ordering, and
 * an operating system crash can lose at most the last commit: the spends
 * of the last batch (one spend, when spends do not overlap), i.e. allow
 * one replay each of those still-valid stamps.  That costs one fsync per
 * commit instead of two, and a few replayable stamps are harmless next to
 * a corrupt store.  POSTAGE_STORE_NOSYNC selects MDB_NOSYNC (no fsync
 * until a clean close, which syncs): the last seconds of spends can be
 * lost, and on a file system that does not keep write order LMDB itself
 * warns that a crash may corrupt the store, so it is for bulk loads and
 * benchmarks.  A process crash (as opposed to a system crash) loses
 * nothing acknowledged in either mode.
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
 * most PURGE_BATCH entries each (kv_lmdb_sweep), so a huge purge never
 * keeps other spenders waiting for the writer lock for long.
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
#include "kv/lmdb_env.h"
#include "verify/store_backend.h"
#include "verify/store_lmdb.h"

#define DB_NAME "spent"
#define INITIAL_MAPSIZE ((size_t) 64 << 20)
#define PURGE_BATCH 10000
/* spend_body's "already there": the stamp was spent. */
#define BODY_SPENT KV_LMDB_BODY_CODE(0)

struct lmdb_store {
    struct kv_lmdb kv;         /* the environment, its lock, guard, damage */
    MDB_dbi dbi;
    char dir[];                /* for messages                           */
};

/* kv/lmdb_env.h's answers as this API's codes. */
static int
status_of(int rc)
{
    if (rc == MDB_SUCCESS)
        return POSTAGE_OK;
    if (rc == BODY_SPENT)
        return POSTAGE_ERR_SPENT;
    if (rc == KV_LMDB_NOMEM)
        return POSTAGE_ERR_NOMEM;
    return POSTAGE_ERR_STORE;
}

/* ---- open and close -------------------------------------------------- */

static int
open_body(MDB_txn *txn, unsigned dbi_flags, void *arg)
{
    struct lmdb_store *e = arg;

    return mdb_dbi_open(txn, DB_NAME, dbi_flags, &e->dbi);
}

static int
lmdb_open(const char *location, unsigned flags, void **state, char *err, size_t errlen)
{
    struct lmdb_store *e;
    struct kv_lmdb_options o;
    size_t len = strlen(location);
    int rc;

    *state = NULL;
    rc = kv_lmdb_prepare_dir(location, !(flags & POSTAGE_STORE_NOCREATE), "store", "store",
                             err, errlen);
    if (rc == KV_LMDB_MISSING)
        errbuf_printf(err, errlen, "no store in %s: %s", location, strerror(ENOENT));
    if (rc != 0)
        return POSTAGE_ERR_STORE;
    e = calloc(1, sizeof *e + len + 1);
    if (e == NULL) {
        errbuf_printf(err, errlen, "out of memory opening store %s", location);
        return POSTAGE_ERR_NOMEM;
    }
    memcpy(e->dir, location, len + 1);
    memset(&o, 0, sizeof o);
    o.initial_mapsize = INITIAL_MAPSIZE;
    o.maxdbs = 4;
    o.may_create = !(flags & POSTAGE_STORE_NOCREATE);
    o.nosync = !!(flags & POSTAGE_STORE_NOSYNC);
    o.flock_writers = 1;
    o.owner = "store";
    o.owner_name = location;
    rc = kv_lmdb_open(&e->kv, e->dir, &o, "opening database \"" DB_NAME "\"", open_body, e,
                      err, errlen);
    if (rc != 0) {
        free(e);
        return status_of(rc);
    }
    *state = e;
    return POSTAGE_OK;
}

static void
lmdb_close(void *state)
{
    struct lmdb_store *e = state;

    if (e == NULL)
        return;
    kv_lmdb_close(&e->kv);      /* syncs a NOSYNC store (a bulk load) */
    free(e);
}

/* ---- spend ------------------------------------------------------------ */

struct spend_arg {
    MDB_dbi dbi;
    uint8_t key[POSTAGE_STORE_KEYLEN];
    uint8_t value[8];
};

static int
spend_body(MDB_txn *txn, void *varg)
{
    struct spend_arg *a = varg;
    MDB_val k, v;
    int rc;

    k.mv_size = POSTAGE_STORE_KEYLEN;
    k.mv_data = a->key;
    v.mv_size = sizeof a->value;
    v.mv_data = a->value;
    rc = mdb_put(txn, a->dbi, &k, &v, MDB_NOOVERWRITE);
    return rc == MDB_KEYEXIST ? BODY_SPENT : rc;
}

static int
lmdb_spend(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN], int64_t expires_at,
           char *err, size_t errlen)
{
    struct lmdb_store *e = state;
    struct spend_arg arg;
    int rc;

    arg.dbi = e->dbi;
    memcpy(arg.key, key, sizeof arg.key);
    be_put_i64(arg.value, expires_at);
    /* Threads spending at once share one commit (one fsync). */
    rc = kv_lmdb_write_grouped(&e->kv, "recording a spent stamp", spend_body, &arg, err,
                               errlen);
    return status_of(rc);
}

/* Several keys (one message's stamps): one request, so one transaction.
 * A key already there answers "spent" and writes nothing, so the others
 * go on; any other failure fails the whole batch. */
struct spend_many_arg {
    MDB_dbi dbi;
    const uint8_t (*keys)[POSTAGE_STORE_KEYLEN];
    const int64_t *expires_at;
    int *results;
    size_t n;
};

static int
spend_many_body(MDB_txn *txn, void *varg)
{
    struct spend_many_arg *a = varg;
    uint8_t key[POSTAGE_STORE_KEYLEN], value[8];
    MDB_val k, v;
    size_t i;
    int rc;

    for (i = 0; i < a->n; i++) {
        memcpy(key, a->keys[i], sizeof key);      /* MDB_val is not const */
        be_put_i64(value, a->expires_at[i]);
        k.mv_size = sizeof key;
        k.mv_data = key;
        v.mv_size = sizeof value;
        v.mv_data = value;
        rc = mdb_put(txn, a->dbi, &k, &v, MDB_NOOVERWRITE);
        if (rc != MDB_SUCCESS && rc != MDB_KEYEXIST)
            return rc;
        a->results[i] = rc == MDB_SUCCESS ? POSTAGE_OK : POSTAGE_ERR_SPENT;
    }
    return MDB_SUCCESS;
}

static int
lmdb_spend_many(void *state, const uint8_t (*keys)[POSTAGE_STORE_KEYLEN],
                const int64_t *expires_at, int *results, size_t n, char *err, size_t errlen)
{
    struct lmdb_store *e = state;
    struct spend_many_arg arg = { e->dbi, keys, expires_at, results, n };
    size_t i;
    int rc;

    rc = kv_lmdb_write_grouped(&e->kv,
                               n == 1 ? "recording a spent stamp" : "recording spent stamps",
                               spend_many_body, &arg, err, errlen);
    if (rc != MDB_SUCCESS)
        for (i = 0; i < n; i++)
            results[i] = POSTAGE_ERR_STORE;   /* nothing was written */
    return status_of(rc);
}

/* ---- purge ------------------------------------------------------------ */

struct purge_when {
    int64_t now, grace;
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

/* Values of another size are not ours: leave them alone. */
static int
dead_stamp(const MDB_val *k, const MDB_val *v, void *ctx)
{
    const struct purge_when *w = ctx;

    (void) k;
    return v->mv_size == 8 && expired(be_get_i64(v->mv_data), w->now, w->grace);
}

static int
lmdb_purge(void *state, int64_t now, int64_t grace, uint64_t *removed,
           char *err, size_t errlen)
{
    struct lmdb_store *e = state;
    struct purge_when w;

    w.now = now;
    w.grace = grace;
    *removed = 0;
    return status_of(kv_lmdb_sweep(&e->kv, e->dbi, PURGE_BATCH, "purging expired stamps",
                                   dead_stamp, &w, removed, err, errlen));
}

/* ---- reads ------------------------------------------------------------ */

/* A read's work: an LMDB code. */
typedef int (*read_body)(struct lmdb_store *e, MDB_txn *txn, void *arg);

/* Run body in a read-only transaction under the handle's lock; returns
 * POSTAGE_ERR_STORE (with err set) if the transaction could not begin,
 * else POSTAGE_OK with the body's LMDB status in *mdb_rc. */
static int
run_read(struct lmdb_store *e, read_body body, void *arg, int *mdb_rc, char *err,
         size_t errlen)
{
    MDB_txn *txn;
    int rc;

    pthread_mutex_lock(&e->kv.lock);
    rc = kv_lmdb_usable(&e->kv, err, errlen);
    if (rc == 0)
        rc = kv_lmdb_begin_read(&e->kv, &txn, err, errlen);
    if (rc == MDB_SUCCESS) {
        *mdb_rc = body(e, txn, arg);
        mdb_txn_abort(txn);
    }
    pthread_mutex_unlock(&e->kv.lock);
    return status_of(rc);
}

/* A read that failed inside its transaction. */
static int
read_failed(struct lmdb_store *e, const char *what, int mdb_rc, char *err, size_t errlen)
{
    pthread_mutex_lock(&e->kv.lock);
    kv_lmdb_fail(&e->kv, what, mdb_rc, err, errlen);
    pthread_mutex_unlock(&e->kv.lock);
    return POSTAGE_ERR_STORE;
}

static int
lookup_body(struct lmdb_store *e, MDB_txn *txn, void *arg)
{
    MDB_val k, v;
    k.mv_size = POSTAGE_STORE_KEYLEN;
    k.mv_data = arg;
    return mdb_get(txn, e->dbi, &k, &v);
}

static int
lmdb_lookup(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN], char *err, size_t errlen)
{
    struct lmdb_store *e = state;
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
    return read_failed(e, "looking up a stamp", mdb_rc, err, errlen);
}

/* Several keys (one message's stamps): one read transaction, and one
 * check that the store is still the one opened, for all of them. */
struct lookup_many_arg {
    const uint8_t (*keys)[POSTAGE_STORE_KEYLEN];
    int *results;
    size_t n;
};

static int
lookup_many_body(struct lmdb_store *e, MDB_txn *txn, void *varg)
{
    struct lookup_many_arg *a = varg;
    uint8_t key[POSTAGE_STORE_KEYLEN];    /* MDB_val is not const */
    MDB_val k, v;
    size_t i;
    int rc;

    for (i = 0; i < a->n; i++) {
        memcpy(key, a->keys[i], sizeof key);
        k.mv_size = sizeof key;
        k.mv_data = key;
        rc = mdb_get(txn, e->dbi, &k, &v);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            return rc;                    /* the keys from i on stay unanswered */
        a->results[i] = rc == MDB_SUCCESS ? POSTAGE_ERR_SPENT : POSTAGE_OK;
    }
    return MDB_SUCCESS;
}

static int
lmdb_lookup_many(void *state, const uint8_t (*keys)[POSTAGE_STORE_KEYLEN], int *results,
                 size_t n, char *err, size_t errlen)
{
    struct lmdb_store *e = state;
    struct lookup_many_arg arg = { keys, results, n };
    int mdb_rc = 0;
    size_t i;
    int rc;

    for (i = 0; i < n; i++)
        results[i] = POSTAGE_ERR_STORE;
    rc = run_read(e, lookup_many_body, &arg, &mdb_rc, err, errlen);
    if (rc != POSTAGE_OK)
        return rc;
    if (mdb_rc != MDB_SUCCESS)
        return read_failed(e, n == 1 ? "looking up a stamp" : "looking up stamps", mdb_rc, err,
                           errlen);
    return POSTAGE_OK;
}

static int
count_body(struct lmdb_store *e, MDB_txn *txn, void *arg)
{
    return mdb_stat(txn, e->dbi, arg);
}

static int
lmdb_count(void *state, uint64_t *count, char *err, size_t errlen)
{
    struct lmdb_store *e = state;
    MDB_stat st;
    int mdb_rc = 0;
    int rc = run_read(e, count_body, &st, &mdb_rc, err, errlen);

    if (rc != POSTAGE_OK)
        return rc;
    if (mdb_rc != MDB_SUCCESS)
        return read_failed(e, "counting entries", mdb_rc, err, errlen);
    *count = st.ms_entries;
    return POSTAGE_OK;
}

/* A damaged store is reported once, as an outage that lasts until the
 * store is restored and reopened. */
static void
lmdb_set_notify(void *state, postage_store_notify_fn fn, void *ctx)
{
    struct lmdb_store *e = state;

    kv_lmdb_set_notify(&e->kv, fn, ctx);
}

void
postage_store_lmdb_group_state(void *state, int gather, struct kv_lmdb_group_stats *stats)
{
    struct lmdb_store *e = state;

    kv_lmdb_group_tune(&e->kv, gather, 0, stats);
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
    lmdb_spend_many,   /* one transaction */
    lmdb_lookup_many,  /* one read transaction */
};
