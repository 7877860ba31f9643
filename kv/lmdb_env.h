/*
 * lmdb_env.h - one LMDB environment as both stores use it: the
 * double-spend store (verify/store_lmdb.c) and postaged's state store
 * (policy/state/state_lmdb.c) keep their own databases, records and
 * operations, and share this plumbing under them: making the directory,
 * opening the environment behind its guard (lmdb_guard.h), write
 * transactions that grow the map and retry (lmdb_grow.h), read
 * transactions, the messages of failures, and a store found damaged
 * closing for good.  It is the shape of Postfix's slmdb under dict_lmdb.
 *
 * Locking: mdb_env_set_mapsize is only legal while this process has no
 * transaction open, so the owner holds e->lock across every transaction
 * (kv_lmdb_write, kv_lmdb_begin_read to mdb_txn_abort) and around
 * kv_lmdb_fail, kv_lmdb_usable and anything else that reads or changes
 * the fields below.  The functions here never take it themselves, except
 * kv_lmdb_open (around its first write), kv_lmdb_sweep (around each
 * batch), kv_lmdb_write_grouped (around each group commit) and
 * kv_lmdb_set_notify.
 *
 * Errors (the one convention of kv/): a function that fails writes why
 * into the caller's buffer err[errlen] and returns KV_LMDB_FAILED (or
 * KV_LMDB_NOMEM).  The double-spend store passes its caller's buffer;
 * the state store passes the one its handle keeps for pd_state_error.
 * Messages name DIR/data.mdb, and say "(disk full)" or "(the map is
 * full)" when that is the reason.
 *
 * Damage: LMDB's own findings of damage (MDB_CORRUPTED, MDB_PAGE_NOTFOUND,
 * MDB_INVALID, MDB_VERSION_MISMATCH) and lmdb_guard_check's refusals
 * close the environment for good: every later transaction fails with the
 * same reason, and the notify callback is told once.
 *
 * Internal to postage: not exported.
 */
#ifndef POSTAGE_KV_LMDB_ENV_H
#define POSTAGE_KV_LMDB_ENV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "kv/lmdb_guard.h"

#define KV_LMDB_ERRLEN 256              /* = POSTAGE_STORE_ERRLEN = PD_ST_ERRLEN */

#define KV_LMDB_FAILED (-29000)         /* err says why                      */
#define KV_LMDB_NOMEM (-29001)          /* out of memory or of mutexes       */
/* A body may end its transaction with a code of its own, n = 0 .. 99: the
 * transaction is aborted and kv_lmdb_write returns the code as it is (for
 * "already there", "nothing to write", "the callback misbehaved"). */
#define KV_LMDB_BODY_CODE(n) (-29100 - (n))
#define KV_LMDB_IS_BODY_CODE(rc) ((rc) <= KV_LMDB_BODY_CODE(0) && (rc) > KV_LMDB_BODY_CODE(100))

/* Told (up = 0, why) once when the store is found damaged, lost or
 * replaced; the same type as postage_store_notify_fn and pd_state_notify_fn. */
typedef void (*kv_lmdb_notify_fn)(void *ctx, int up, const char *why);

struct kv_lmdb_request;

#define KV_LMDB_BATCH_HIST 32           /* batch sizes told apart in stats   */
/* The longest a leader waits for a batch to fill, whatever the commits
 * cost: a bound on the latency gathering may add. */
#define KV_LMDB_GATHER_MAX_NS 200000

struct kv_lmdb {
    MDB_env *env;
    pthread_mutex_t lock;       /* held across every transaction (above)     */
    int broken;                 /* a failed remap left no usable map         */
    int damaged;                /* data.mdb found damaged, lost, replaced    */
    int flock_writers;          /* see kv_lmdb_options                       */
    struct lmdb_guard guard;    /* data.mdb's identity and checks            */
    kv_lmdb_notify_fn notify;
    void *notify_ctx;
    const char *dir;            /* the environment's directory (the owner's) */
    char damage[KV_LMDB_ERRLEN];  /* why, for every later call               */
    /* Group commit (kv_lmdb_write_grouped): writes waiting for the next
     * transaction, and whether a leader is running one.  Under group_lock,
     * which is never held across a transaction (e->lock is). */
    pthread_mutex_t group_lock;
    struct kv_lmdb_request *queue;      /* first waiting request, or NULL    */
    struct kv_lmdb_request **queue_end; /* where the next one goes           */
    unsigned queued;                    /* how many are queued               */
    int leading;                        /* a batch is being gathered/written */
    /* Gathering (kv_lmdb_write_grouped): when recent commits showed
     * concurrency, the leader waits a little for the callers it expects
     * before it takes the batch. */
    pthread_cond_t gather;              /* the leader waits here             */
    int gathering;                      /* it is waiting: signal when full   */
    int no_gather;                      /* never wait (kv_lmdb_group_tune)   */
    unsigned crowd;                     /* callers seen around the last commit */
    uint64_t commit_ns;                 /* a commit's cost, moving average   */
    uint64_t gather_max_ns;             /* the longest wait: KV_LMDB_GATHER_MAX_NS */
    struct kv_lmdb_group_stats {
        uint64_t commits;               /* group commits written             */
        uint64_t requests;              /* requests they held                */
        uint64_t gathers;               /* leaders that waited               */
        uint64_t gather_timeouts;       /* ... and went without all expected */
        uint64_t gather_ns;             /* time leaders spent waiting        */
        uint64_t commit_ns;             /* time spent in write transactions  */
        /* batch_size[i]: commits of i + 1 requests; the last counts every
         * bigger one. */
        uint64_t batch_size[KV_LMDB_BATCH_HIST];
    } stats;
};

struct kv_lmdb_options {
    size_t initial_mapsize;     /* before $POSTAGE_LMDB_MAPSIZE (lmdb_grow.h) */
    unsigned maxdbs;            /* named databases, the guard's included     */
    int may_create;             /* a directory holding no store may become one */
    int nosync;                 /* MDB_NOSYNC instead of MDB_NOMETASYNC      */
    /* Writers queue on an flock() of data.mdb before LMDB's writer mutex
     * (the double-spend store, which other processes write: see
     * kv_lmdb_write). */
    int flock_writers;
    const char *owner;          /* "store", "state store": for one message   */
    const char *owner_name;     /* what the owner is called in it            */
};

/* Make the directory dir (mode 0700) unless !may_create, and check that it
 * is one.  dir_noun and store_noun spell the messages: "cannot create
 * <dir_noun> directory DIR: reason", "cannot open <dir_noun> directory DIR:
 * reason", "<store_noun> DIR is not a directory".  Returns 0,
 * KV_LMDB_FAILED, or KV_LMDB_MISSING (!may_create and DIR does not exist;
 * err says so). */
#define KV_LMDB_MISSING (-29002)
int kv_lmdb_prepare_dir(const char *dir, int may_create, const char *dir_noun,
                        const char *store_noun, char *err, size_t errlen);

/* The opening transaction's work: open the owner's databases, with
 * dbi_flags MDB_CREATE when the store may be created, else 0. */
typedef int (*kv_lmdb_open_body)(MDB_txn *txn, unsigned dbi_flags, void *arg);

/* A transaction's work.  Returns MDB_SUCCESS (commit), an LMDB error,
 * LMDB_GUARD_REFUSED (it wrote err itself) or a KV_LMDB_BODY_CODE.  It
 * must be safe to run again from scratch: after MDB_MAP_FULL the
 * transaction is aborted, the map doubled and the body run again. */
typedef int (*kv_lmdb_body)(MDB_txn *txn, void *arg);

/* Open the environment in dir (which must exist; e->dir = dir, kept):
 * guard (lmdb_guard_prepare, _attach), create, configure, open (mode
 * 0600), free stale reader slots, then one write transaction that checks
 * the store's identity and runs open_body (which opens the owner's
 * databases), and mark the store.  Returns 0, KV_LMDB_FAILED or
 * KV_LMDB_NOMEM; on failure nothing is left open. */
int kv_lmdb_open(struct kv_lmdb *e, const char *dir, const struct kv_lmdb_options *o,
                 const char *what, kv_lmdb_open_body open_body, void *arg, char *err,
                 size_t errlen);

/* A NOSYNC store (a bulk load) is made durable on a clean close.  The
 * default mode is not synced again: it already synced each commit's data
 * pages, a second fsync would double those of a one-spend process, and
 * its exposure (the last commit) is the documented one anyway. */
void kv_lmdb_close(struct kv_lmdb *e);

/* Run body in a write transaction and commit, growing the map as needed
 * (lock held).  `what` names the work in messages.  Returns MDB_SUCCESS,
 * the body's own code, or KV_LMDB_FAILED. */
int kv_lmdb_write(struct kv_lmdb *e, const char *what, kv_lmdb_body body, void *arg,
                  char *err, size_t errlen);

/* The same as kv_lmdb_write, committed together with the writes of other
 * threads that arrive meanwhile ("group commit"): called WITHOUT e->lock.
 * The caller queues its body; if no batch is being written, it becomes
 * the leader: it takes every queued body, runs them in order in one write
 * transaction (under e->lock and the writers' flock, growing the map as
 * kv_lmdb_write does), commits once - one fsync for the whole batch - and
 * only then hands each caller its answer.  Bodies queued while a batch is
 * committing form the next batch, led by the first of their callers to
 * wake.
 *
 * Gathering.  With N callers spending in turn, a batch would hold only
 * those that queued during the previous commit (about half of them), the
 * rest having been answered too late to join.  So the leader first
 * counts the callers seen around the last commit (its batch plus those
 * queued while it was written, "the crowd"); if the crowd is more than
 * one and fewer are queued, it waits until as many are queued, or for at
 * most half a commit's cost (a moving average of this handle's commits)
 * and never more than KV_LMDB_GATHER_MAX_NS, then takes the batch.  This
 * is the adaptive form of PostgreSQL's commit_delay/commit_siblings and
 * MySQL's binlog_group_commit_sync_delay/_no_delay_count.  A lone caller
 * (a crowd of one) never waits: it commits at once, as kv_lmdb_write
 * would; a crowd that stops coming back costs at most one bounded wait
 * per commit, and is forgotten at the next commit.  The wait comes
 * before the transaction, so durability and answers are as without it.
 *
 * So no caller returns MDB_SUCCESS before the commit holding its write
 * has returned (is as durable as any commit of this environment), and a
 * failure of the batch - an LMDB error from a body, a full disk at commit,
 * damage - is every caller's failure (KV_LMDB_FAILED, err set), nothing of
 * the batch having been written.  A body's own code (KV_LMDB_BODY_CODE)
 * answers its caller only, and the transaction goes on for the others:
 * so a grouped body that returns its own code MUST NOT have written
 * anything (a put refused with MDB_KEYEXIST writes nothing).  A body runs
 * in the leader's thread; it must, as for kv_lmdb_write, be safe to run
 * again (MDB_MAP_FULL reruns the whole batch).  Writes of one caller are
 * in one transaction; writes of different callers are applied in the
 * order they were queued.  Returns MDB_SUCCESS, the body's own code,
 * KV_LMDB_FAILED, or KV_LMDB_NOMEM (no condition variable to wait on;
 * nothing written). */
int kv_lmdb_write_grouped(struct kv_lmdb *e, const char *what, kv_lmdb_body body,
                          void *arg, char *err, size_t errlen);

/* For benchmarks and tests (takes group_lock): gather = 0 turns the
 * leaders' waiting off, 1 on (the default), -1 leaves it; max_wait_ns,
 * unless 0, replaces KV_LMDB_GATHER_MAX_NS as the longest wait; stats (if
 * not NULL) gets a copy of the group-commit counters. */
void kv_lmdb_group_tune(struct kv_lmdb *e, int gather, uint64_t max_wait_ns,
                        struct kv_lmdb_group_stats *stats);

/* Begin a read-only transaction after checking data.mdb (lock held).
 * MDB_SUCCESS or KV_LMDB_FAILED. */
int kv_lmdb_begin_read(struct kv_lmdb *e, MDB_txn **txn, char *err, size_t errlen);

/* "DIR: store unusable after a failed map resize; reopen it" if a failed
 * resize broke the map (lock held): 0 or KV_LMDB_FAILED. */
int kv_lmdb_usable(const struct kv_lmdb *e, char *err, size_t errlen);

/* "DIR/data.mdb: what: reason (hint)" for the LMDB (or errno) code rc,
 * closing the store if rc is damage (lock held).  KV_LMDB_FAILED. */
int kv_lmdb_fail(struct kv_lmdb *e, const char *what, int rc, char *err, size_t errlen);

/* Position cur on the first entry after key[0..keylen) (not const: it
 * goes into an MDB_val), or on the first entry of all when !started; k
 * and v get it.  An LMDB code (MDB_NOTFOUND at the end).  How batched
 * walks resume in a fresh transaction. */
int kv_lmdb_cursor_after(MDB_cursor *cur, int started, void *key, size_t keylen,
                         MDB_val *k, MDB_val *v);

/* Longest key a walk can resume after: any LMDB key (511 bytes in a
 * default build), ours or not, so a walk always makes progress. */
#define KV_LMDB_RESUME_MAX 512

/* Does the entry (k, v) go?  1 or 0. */
typedef int (*kv_lmdb_dead_fn)(const MDB_val *k, const MDB_val *v, void *ctx);

/* Delete every entry of dbi that dead() picks, in write transactions
 * that each examine at most `batch` entries, taking e->lock around each
 * (so other transactions interleave; a huge sweep never keeps writers
 * waiting for long) and resuming after the last key examined.  *removed
 * (if not NULL) counts the deletions committed, also when a later batch
 * fails.  `what` names the work in messages.  MDB_SUCCESS or
 * KV_LMDB_FAILED. */
int kv_lmdb_sweep(struct kv_lmdb *e, MDB_dbi dbi, unsigned batch, const char *what,
                  kv_lmdb_dead_fn dead, void *ctx, uint64_t *removed, char *err,
                  size_t errlen);

/* Set the callback told of damage; told at once if it is already
 * damaged.  Takes the lock. */
void kv_lmdb_set_notify(struct kv_lmdb *e, kv_lmdb_notify_fn fn, void *ctx);

#endif
