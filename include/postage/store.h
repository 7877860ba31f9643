/*
 * postage/store.h - the double-spend store: remembers every accepted stamp
 * until it expires, so that the same stamp is never accepted twice.
 *
 * A store is opened from a specification string and used through four
 * calls: open, spend (or spend_many for several stamps), purge, close.
 * spend() is one atomic
 * insert-if-absent: of any number of processes or threads spending the same
 * stamp at once, exactly one is told POSTAGE_OK and all others
 * POSTAGE_ERR_SPENT.  Each backend is a table of functions behind this
 * interface (see verify/store_backend.h); the embedded default is LMDB,
 * and Redis (a single server, a Unix socket, or a master found through
 * Sentinel) lets several hosts share one store.
 *
 * A handle is thread-safe: open a store once per process and share the
 * handle between threads.  Do not open the same store twice in one process
 * at the same time (LMDB forbids it: closing the second handle would drop
 * the process's locks), and do not use a handle in a child after fork().
 *
 * With LMDB, do not share a store directory between hosts (NFS): LMDB's
 * locks are local.  Use Redis for that.
 *
 * Entries are keyed by a 32-byte hash of the exact stamp string (no
 * lowercasing, no trimming beyond what the caller did) and carry the time
 * at which the stamp expires.  Errors leave a description in the handle,
 * read with postage_store_error().
 */
#ifndef POSTAGE_STORE_H
#define POSTAGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An expiry time meaning "never expires" (a checker run with validity 0). */
#define POSTAGE_NEVER_EXPIRES INT64_MAX

/* Longest message postage_store_error() and the open error buffer hold. */
#define POSTAGE_STORE_ERRLEN 256

typedef struct postage_store postage_store;

/* Flags for postage_store_open(). */
enum {
    /* Do not fsync each spend (a clean close still syncs).  Much faster;
     * a system crash may forget the spends of the last seconds, and on a
     * file system that does not keep write order it may even damage the
     * store (LMDB's MDB_NOSYNC caveat).  Meant for bulk loads and
     * benchmarks.  Without it, each commit is fsynced before its spends
     * are answered (spends made at once by several threads share one
     * commit), and a system crash can forget at most the last commit's
     * spends. */
    POSTAGE_STORE_NOSYNC = 1 << 0,
    /* Open an existing store only; fail instead of creating it. */
    POSTAGE_STORE_NOCREATE = 1 << 1,
    /* For a network store (Redis): open even if it cannot be reached now.
     * Each call then fails with POSTAGE_ERR_STORE (at once, while the
     * reconnect backoff lasts) until the store is back, and the handle
     * reconnects by itself.  Meant for daemons, which must start while
     * Redis is down; without it, postage_store_open() tries to connect and
     * fails with POSTAGE_ERR_STORE and the reason, as a command-line tool
     * wants.  LMDB, a local directory, ignores it. */
    POSTAGE_STORE_LAZY = 1 << 2
};

/* Told when a network store becomes unreachable (up = 0) and when it
 * works again (up = 1), once per outage; why names the server and the
 * reason (never a password).  Called from whichever thread noticed, with
 * the store's connection locked: it must not call postage_store_* on the
 * same handle, and should be quick (log a line). */
typedef void (*postage_store_notify_fn)(void *ctx, int up, const char *why);

/**
 * postage_store_open - open (and by default create) a double-spend store.
 * @spec:   one of
 *          "lmdb:DIR", or a bare path, which means "lmdb:PATH".  DIR is a
 *              directory holding the LMDB files (data.mdb, lock.mdb) and
 *              the marker DIR/postage-store-id, the store's random id,
 *              also kept inside data.mdb.  A store is created (DIR too,
 *              mode 0700) only where there is none, neither data.mdb nor
 *              marker, and only without POSTAGE_STORE_NOCREATE.  A store
 *              that was lost or damaged is refused with
 *              POSTAGE_ERR_STORE, never made anew: data.mdb missing or
 *              empty beside a marker, shorter than its meta page says,
 *              with a damaged page (every page is checked at open), or
 *              with another store's id.  A data.mdb with no marker (a
 *              store from before markers) is given one.
 *          "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?PARAMS]"
 *          "redis+unix://[[USER]:PASSWORD@]/PATH/TO/SOCKET[?PARAMS]"
 *          "redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB][?PARAMS]"
 *              Redis 6.2 or later (SET ... EXAT).  PORT defaults to 6379
 *              (26379 for sentinels), DB to 0; IPv6 addresses are written
 *              [::1]; the password goes to AUTH on the data connection
 *              (not to the sentinels) and may be percent-encoded.  PARAMS,
 *              joined by '&': prefix=P (default "postage:"; every key
 *              starts with it), timeout=MS (default 500: connecting and
 *              each reply), db=N, grace=PERIOD (default 7d: how long an
 *              entry is kept past the stamp's expiry; it must be at least
 *              the checker's grace, or a stamp could be replayed in
 *              between).  Through Sentinel, the master is asked for at
 *              each (re)connect and must say it is the master, so a
 *              failover is followed without a restart.  The full grammar
 *              is in kv/redis_conn.h; a malformed specification is
 *              POSTAGE_ERR_INVALID with the problem named.
 *              POSTAGE_STORE_NOCREATE and POSTAGE_STORE_NOSYNC mean nothing
 *              to Redis and are ignored (keys appear with the first spend;
 *              durability is the server's appendfsync setting).  Entries
 *              expire by themselves (purge removes nothing).
 * @flags:  a bitwise OR of the POSTAGE_STORE_* flags, or 0.
 * @out:    receives the handle on success; set to NULL on failure.
 * @err:    if not NULL, receives a description of a failure.
 * @errlen: size of @err (POSTAGE_STORE_ERRLEN is enough).
 *
 * Returns POSTAGE_OK; POSTAGE_ERR_INVALID for an empty, unknown or
 * malformed specification; POSTAGE_ERR_NOMEM; POSTAGE_ERR_STORE when the
 * backend cannot open or create the store, or (without POSTAGE_STORE_LAZY)
 * cannot reach Redis (the reason is in @err).
 */
int postage_store_open(const char *spec, unsigned flags, postage_store **out,
                       char *err, size_t errlen);

/**
 * postage_store_open_down - a handle for a store that could not be opened.
 * @why: the reason, as postage_store_open() gave it (naming the file and
 *       what is wrong); NULL or "" for a generic one.  Copied, truncated
 *       to POSTAGE_STORE_ERRLEN - 1 bytes.
 * @out: receives the handle; set to NULL on failure.
 *
 * For a daemon that must keep answering while its store is damaged or
 * lost (postaged answers with its on_error setting): every call on the
 * handle (spend, is_spent, purge, count) fails with POSTAGE_ERR_STORE and
 * postage_store_error() gives @why.  It never touches any file, so it
 * cannot create a store over a lost one; it never comes back up (open the
 * repaired store anew); postage_store_set_notify() accepts a callback and
 * never calls it.  Close it with postage_store_close().
 *
 * Returns POSTAGE_OK, POSTAGE_ERR_INVALID (@out is NULL) or
 * POSTAGE_ERR_NOMEM.
 */
int postage_store_open_down(const char *why, postage_store **out);

/**
 * postage_store_spend - record a stamp as spent, atomically, if it is not.
 * @store:      an open store.
 * @stamp:      the exact stamp string as it was checked; need not be
 *              NUL-terminated.
 * @len:        its length in bytes (1 .. POSTAGE_STAMP_MAX).
 * @expires_at: UTC seconds after which the stamp is no longer valid anyway
 *              (its date + validity); POSTAGE_NEVER_EXPIRES for never.
 *
 * Returns POSTAGE_OK if the stamp was not yet recorded and now is;
 * POSTAGE_ERR_SPENT if it was already recorded (nothing changes);
 * POSTAGE_ERR_INVALID for a NULL store or stamp or a bad length;
 * POSTAGE_ERR_STORE if the backend failed (the stamp must then be treated
 * as not accepted; see postage_store_error()).  When the store is full it
 * grows while the disk has room; a full disk says "No space left on
 * device (disk full)".  Once an LMDB store is found damaged, removed or
 * replaced while open, every later call fails the same way (and the
 * postage_store_set_notify() callback is told once).
 */
int postage_store_spend(postage_store *store, const char *stamp, size_t len,
                        int64_t expires_at);

/* One stamp of postage_store_spend_many(). */
struct postage_store_spend_item {
    const char *stamp;      /* the exact stamp string (need not end in NUL) */
    size_t len;             /* 1 .. POSTAGE_STAMP_MAX                        */
    int64_t expires_at;     /* as for postage_store_spend()                  */
    int result;             /* out: this stamp's answer (below)              */
};

/* Most stamps one postage_store_spend_many() or
 * postage_store_is_spent_many() call takes. */
#define POSTAGE_STORE_SPEND_MANY_MAX 4096

/**
 * postage_store_spend_many - spend several stamps in one call: those of
 * one message, which pay for its several recipients.
 * @store: an open store.
 * @items: the stamps; each item's result is set.
 * @n:     how many (1 .. POSTAGE_STORE_SPEND_MANY_MAX).
 *
 * Each stamp is spent as postage_store_spend() would spend it, in order,
 * and answered in its result: POSTAGE_OK (it was not recorded and now
 * is) or POSTAGE_ERR_SPENT (it was already; a stamp that appears twice
 * in @items is POSTAGE_ERR_SPENT the second time).  It is not
 * all-or-nothing: the unspent stamps are spent even if others were not.
 * With LMDB the whole call is one write transaction and one commit (one
 * fsync), shared with other threads' spends of the moment; with Redis
 * the stamps are spent one after the other, one SET NX each, sent
 * together in one round trip (a pipeline).
 *
 * Returns POSTAGE_OK when every stamp has its answer; POSTAGE_ERR_INVALID
 * for a NULL store or items, a bad @n, or a bad stamp (NULL, bad length:
 * its result is POSTAGE_ERR_INVALID, every other POSTAGE_ERR_STORE, and
 * nothing is spent); POSTAGE_ERR_STORE if the backend failed
 * (postage_store_error() says why): a stamp whose result is
 * POSTAGE_ERR_STORE must be treated as not accepted.  With LMDB that is
 * every stamp of the call, nothing having been written; with Redis the
 * answers given before the failure stand.
 */
int postage_store_spend_many(postage_store *store, struct postage_store_spend_item *items,
                             size_t n);

/**
 * postage_store_is_spent - has this stamp been spent?  Changes nothing.
 * @store:      an open store.
 * @stamp, @len: the exact stamp string (1 .. POSTAGE_STAMP_MAX bytes).
 *
 * For a receiver that must know whether a stamp would pay before it knows
 * whether it will take the message (a milter that may still defer it):
 * look first, spend with postage_store_spend() once the message is taken.
 * The answer may be stale by the time it is acted on (another process may
 * spend the stamp in between), so the spend's own answer is the one that
 * counts.
 *
 * Returns POSTAGE_OK if the stamp is not recorded, POSTAGE_ERR_SPENT if it
 * is, POSTAGE_ERR_INVALID for a NULL store or stamp or a bad length, or
 * POSTAGE_ERR_STORE if the backend failed.
 */
int postage_store_is_spent(postage_store *store, const char *stamp, size_t len);

/* One stamp of postage_store_is_spent_many(). */
struct postage_store_lookup_item {
    const char *stamp;      /* the exact stamp string (need not end in NUL) */
    size_t len;             /* 1 .. POSTAGE_STAMP_MAX                        */
    int result;             /* out: this stamp's answer (below)              */
};

/**
 * postage_store_is_spent_many - look up several stamps in one call: those
 * of one message, before it is known whether it will be taken.  Changes
 * nothing.
 * @store: an open store.
 * @items: the stamps; each item's result is set.
 * @n:     how many (1 .. POSTAGE_STORE_SPEND_MANY_MAX).
 *
 * Each stamp is answered as postage_store_is_spent() would answer it, in
 * its result: POSTAGE_OK (not recorded) or POSTAGE_ERR_SPENT (recorded).
 * A stamp that appears twice in @items gets the same answer both times
 * (nothing is recorded by looking).  With LMDB the whole call is one read
 * transaction (and one check that the store is still the one opened);
 * with Redis it is one EXISTS per stamp, sent together in one round trip
 * (a pipeline).  As with postage_store_is_spent(), an answer may be stale
 * by the time it is acted on: the spend's own answer is the one that
 * counts.
 *
 * Returns POSTAGE_OK when every stamp has its answer; POSTAGE_ERR_INVALID
 * for a NULL store or items, a bad @n, or a bad stamp (NULL, bad length:
 * its result is POSTAGE_ERR_INVALID, every other POSTAGE_ERR_STORE, and
 * nothing is looked up); POSTAGE_ERR_NOMEM (every result
 * POSTAGE_ERR_STORE); POSTAGE_ERR_STORE if the backend failed
 * (postage_store_error() says why): the stamps whose result is
 * POSTAGE_ERR_STORE have no answer, and the answers given before the
 * failure stand.
 */
int postage_store_is_spent_many(postage_store *store, struct postage_store_lookup_item *items,
                                size_t n);

/**
 * postage_store_purge - drop entries that can no longer be replayed.
 * @store:   an open store.
 * @now:     the current UTC time in seconds.
 * @grace:   seconds of clock-skew grace (the checker's grace period); an
 *           entry goes when expires_at + grace <= now.
 * @removed: if not NULL, receives the number of entries dropped.
 *
 * Redis drops expired entries itself: there this does nothing and
 * reports 0.
 *
 * Returns POSTAGE_OK, POSTAGE_ERR_INVALID or POSTAGE_ERR_STORE.
 */
int postage_store_purge(postage_store *store, int64_t now, int64_t grace,
                        uint64_t *removed);

/**
 * postage_store_count - number of entries currently held.
 * @store: an open store.
 * @count: receives the number.
 *
 * With Redis this walks every key with the prefix (SCAN), so it costs
 * time in proportion to the store's size; it is for statistics.
 *
 * Returns POSTAGE_OK, POSTAGE_ERR_INVALID or POSTAGE_ERR_STORE.
 */
int postage_store_count(postage_store *store, uint64_t *count);

/**
 * postage_store_set_notify - be told when the store becomes unreachable
 * and when it is back (Redis), or when an LMDB store is found damaged,
 * removed or replaced while open (up = 0, once; it does not come back).
 * @store: an open store.
 * @fn:    the callback, or NULL for none.
 * @ctx:   passed to @fn.
 *
 * If the store is unreachable when this is called (opened with
 * POSTAGE_STORE_LAZY while Redis was down), @fn is told at once.
 *
 * Returns POSTAGE_OK, or POSTAGE_ERR_INVALID for a NULL store.
 */
int postage_store_set_notify(postage_store *store, postage_store_notify_fn fn, void *ctx);

/**
 * postage_store_error - the description of the last failure on @store.
 *
 * Returns a NUL-terminated string owned by the handle, valid until the next
 * call on it; "" if nothing failed.
 */
const char *postage_store_error(const postage_store *store);

/**
 * postage_store_close - flush and release a store.  NULL is accepted.
 */
void postage_store_close(postage_store *store);

#ifdef __cplusplus
}
#endif
#endif
