/*
 * state.h - postaged's state store: a few small key-value tables
 * (greylisting triplets, the auto-whitelist, quota and accounting
 * counters, sender reputation, HELO tracking, accounted queue ids) shared
 * by every process and thread of the daemon, with one atomic
 * read-modify-write operation.
 *
 * The interface is backend-neutral.  policy/state/state.c picks a backend from
 * the specification given to pd_state_open and forwards every call to it
 * (policy/state/state_backend.h): LMDB (policy/state/state_lmdb.c), one machine's
 * processes sharing a directory, or Redis (policy/state/state_redis.c, over
 * kv/redis_conn.h), several daemons on several machines sharing one
 * server.  Every operation maps onto both:
 *
 *   keys             LMDB: a named database per table, keys as given (a
 *                    long one hashed, see PD_ST_SCAN_EXACT_MAX).  Redis:
 *                    PREFIX "p:" TABLE ":" KEY (binary safe), PREFIX being
 *                    the specification's (default "postage:").
 *   values           Both: expires_at (8 bytes, big-endian) followed by
 *                    the module's payload.
 *   pd_state_update  LMDB: one write transaction.  Redis: WATCH key, GET,
 *                    run the callback, MULTI, SET (with EX) or DEL, EXEC
 *                    (two round trips);
 *                    a conflict (EXEC answers nil) reruns it, and after a
 *                    few conflicts the updater takes the key's advisory
 *                    lock (PREFIX "l:" TABLE ":" KEY) so that it cannot
 *                    starve.  Hence the callback rules below.
 *   expires_at       LMDB: stored with the value and swept by
 *                    pd_state_expire.  Redis: stored with the value too,
 *                    and the key gets a Redis expiry of expires_at - now
 *                    seconds (none for PD_ST_NEVER), so the server removes
 *                    dead entries itself.  The lifetime is given relative
 *                    to the caller's `now`, so that Redis's own clock never
 *                    decides whether an entry is live.
 *   pd_state_expire  LMDB: a cursor walk in bounded batches.  Redis: a
 *                    no-op (removed = 0).
 *   pd_state_scan    LMDB: read-only transactions over bounded batches in
 *                    key order.  Redis: SCAN with MATCH on the table's key
 *                    prefix, then MGET of each batch, repeats dropped.  Not
 *                    atomic as a whole in either (see below).
 *   pd_state_count   LMDB: the table's entry count.  Redis: a SCAN.
 *   pd_state_sync    LMDB: fsync.  Redis: nothing (persistence is the
 *                    server's configuration).
 *
 * Expiry is part of the meaning, not only housekeeping: an entry whose
 * expires_at <= now is absent for pd_state_get and pd_state_update even
 * before pd_state_expire (or Redis) has removed it, so the result never
 * depends on when maintenance last ran.
 *
 * A handle is thread-safe: open it once per process and share it.  Do not
 * open the same store twice in one process at the same time, and do not
 * use a handle in a child after fork() (open a new one there).  Callers
 * pass `now` to every call; the store never reads the clock.
 */
#ifndef POSTAGE_POLICY_STATE_H
#define POSTAGE_POLICY_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"

/* Status codes.  Negative values are failures; the handle keeps a
 * description (pd_state_error).  PD_ST_ prefix: request.h owns PD_STATE_. */
enum pd_st_status {
    PD_ST_OK = 0,
    PD_ST_NOTFOUND = 1,          /* pd_state_get: no live entry             */
    PD_ST_ERR_INVALID = -1,      /* bad argument, unknown spec, key too long */
    PD_ST_ERR_NOMEM = -2,
    PD_ST_ERR_BACKEND = -3,      /* the database failed (see the error text) */
    PD_ST_ERR_CALLBACK = -4,     /* the callback produced a bad value        */
    PD_ST_ERR_NOSTORE = -5       /* PD_ST_NOCREATE and there is no store     */
};

/* The tables.  Each is a separate namespace (an LMDB named database, a
 * Redis key prefix, both named by pd_state_table_name); new ones are
 * appended, never renumbered or renamed. */
enum pd_table {
    PD_TABLE_GREYLIST = 0,
    PD_TABLE_AWL,
    PD_TABLE_QUOTA,
    PD_TABLE_ACCOUNTING,
    PD_TABLE_REPUTATION,
    /* Messages already counted against quotas, by queue id, so that the
     * policy front-end and the milter never both count one message. */
    PD_TABLE_ACCOUNTED,
    PD_TABLE_HELO,
    /* The price a deferral quoted to a triplet (network, sender,
     * recipient), honoured until the greylisting retry window ends. */
    PD_TABLE_QUOTE,
    /* Messages already counted toward their sender's rate and record, by
     * triplet (and Message-ID), so that a retry is not a new message. */
    PD_TABLE_ATTEMPT,
    PD_TABLE_COUNT
};

/* Keys are arbitrary bytes, 1 .. PD_ST_KEY_MAX long.  Values are small
 * fixed structs that the modules serialise themselves (big-endian, with a
 * version byte first), 0 .. PD_ST_VALUE_MAX bytes. */
#define PD_ST_KEY_MAX 8192
#define PD_ST_VALUE_MAX 64
#define PD_ST_NEVER INT64_MAX       /* expires_at of an entry kept forever */
#define PD_ST_ERRLEN 256

/* Flags for pd_state_open.  Redis accepts both and needs neither: its
 * durability is the server's configuration, and there is nothing to
 * create (NOCREATE never gives PD_ST_ERR_NOSTORE there). */
enum {
    /* Do not fsync each update (LMDB: MDB_NOSYNC).  A system crash may lose
     * the last seconds of updates and, on a file system that does not keep
     * write order, damage the store.  For tests and bulk loads. */
    PD_ST_NOSYNC = 1 << 0,
    /* Fail instead of creating a missing store. */
    PD_ST_NOCREATE = 1 << 1
};

struct pd_state;

/* What an update callback asks for. */
enum pd_st_op {
    PD_ST_KEEP = 0,     /* leave the entry as it is (nothing is written)   */
    PD_ST_PUT,          /* store out[0 .. *outlen) with *expires_at         */
    PD_ST_DELETE        /* remove the entry                                 */
};

/*
 * The read-modify-write callback.
 * @ctx:        the caller's context.
 * @now:        the `now` given to pd_state_update.
 * @cur:        the live value, or NULL if there is none (absent or expired).
 * @curlen:     its length (0 when cur is NULL).
 * @out:        room for the new value (PD_ST_VALUE_MAX bytes).
 * @outlen:     set to the new value's length for PD_ST_PUT.
 * @expires_at: holds the entry's current expiry (PD_ST_NEVER for a new
 *              entry); set it for PD_ST_PUT.
 *
 * It runs while the store holds its write lock, so it must be quick and do
 * no I/O.  It may be called more than once for one update (LMDB reruns a
 * transaction after growing its map; Redis reruns after a WATCH conflict),
 * so it must compute its answer from its arguments alone and may write
 * results into ctx only by overwriting them: the last call is the one that
 * took effect.
 */
typedef enum pd_st_op (*pd_state_fn)(void *ctx, int64_t now,
                                     const unsigned char *cur, size_t curlen,
                                     unsigned char *out, size_t *outlen,
                                     int64_t *expires_at);

/**
 * pd_state_open - open (and by default create) the state store.
 * @spec:   the same string as postaged's `store` setting, one of
 *          "lmdb:DIR", or a bare path meaning "lmdb:PATH": the LMDB
 *          environment lives in the subdirectory DIR/policy (both
 *          created mode 0700 unless PD_ST_NOCREATE), apart from the
 *          double-spend store's files in DIR, so the two never share a
 *          writer lock or an environment.  Its data.mdb is guarded as
 *          the double-spend store's is (kv/lmdb_guard.h): a marker
 *          DIR/policy/postage-store-id, an integrity walk at open, and
 *          a damaged, emptied, removed or replaced data.mdb is refused
 *          (PD_ST_ERR_BACKEND), never made anew;
 *          "redis://...", "redis+unix://..." or "redis+sentinel://...",
 *          with the grammar of kv/redis_conn.h (address, password,
 *          database, ?prefix=P&timeout=MS).  Opening succeeds even while
 *          the server is unreachable (the daemon must start, and answer
 *          as its on_error setting says, until Redis comes); calls fail
 *          with PD_ST_ERR_BACKEND meanwhile, at once during the
 *          reconnection backoff, never hanging longer than the timeout.
 * @flags:  PD_ST_* flags or 0.
 * @out:    receives the handle; NULL on failure.
 * @err:    if not NULL, receives a description of a failure.
 *
 * Returns PD_ST_OK, PD_ST_ERR_INVALID (empty, unknown scheme or a bad
 * Redis specification), PD_ST_ERR_NOSTORE (with PD_ST_NOCREATE: nothing
 * has created the store yet; LMDB: DIR, DIR/policy or its data file is
 * missing), PD_ST_ERR_NOMEM or PD_ST_ERR_BACKEND.
 */
int pd_state_open(const char *spec, unsigned flags, struct pd_state **out,
                  char *err, size_t errlen);

/**
 * pd_state_open_down - a handle for a state store that could not be
 * opened (damaged, lost or replaced; see pd_state_open).
 * @why: the reason, as pd_state_open gave it (naming the file); NULL or
 *       "" for a generic one.  Copied, at most PD_ST_ERRLEN - 1 bytes.
 * @out: receives the handle; NULL on failure.
 *
 * So that postaged can start and answer every request that needs the
 * store with its on_error setting, as when a working store fails: every
 * call (update, get, expire, scan, count, sync) fails with
 * PD_ST_ERR_BACKEND and pd_state_error gives @why.  It touches no file,
 * so it never creates a store over a lost one, and it never comes back
 * up (restart on the repaired store); pd_state_set_notify is accepted and
 * never calls back.  Close it with pd_state_close.
 *
 * Returns PD_ST_OK, PD_ST_ERR_INVALID (@out is NULL) or PD_ST_ERR_NOMEM.
 */
int pd_state_open_down(const char *why, struct pd_state **out);

/**
 * pd_state_update - atomically read, transform and write one entry.
 *
 * Runs @fn on the live value of (@table, @key) and applies its answer, all
 * inside one write transaction: no update by another thread or process
 * can come between the read and the write.  Returns PD_ST_OK,
 * PD_ST_ERR_INVALID, PD_ST_ERR_CALLBACK (fn asked to store more than
 * PD_ST_VALUE_MAX bytes; nothing was written) or PD_ST_ERR_BACKEND (nothing
 * was written; on Redis also when contention on the key outlasted its
 * bounds: 50 conflicts, or 2 s waiting for other updaters).
 *
 * A PD_ST_PUT whose expires_at <= now stores an entry that is already
 * dead: LMDB keeps it until a sweep (a later call with an earlier `now`
 * may still see it), Redis deletes the key instead.
 */
int pd_state_update(struct pd_state *st, enum pd_table table,
                    const void *key, size_t keylen, int64_t now,
                    pd_state_fn fn, void *ctx);

/* One entry of pd_state_update_many: what pd_state_update takes. */
struct pd_state_change {
    enum pd_table table;
    const void *key;
    size_t keylen;
    pd_state_fn fn;
    void *ctx;
};

/* The most entries one pd_state_update_many or pd_state_get_many call
 * sends together; longer lists are accepted and go in turn. */
#define PD_ST_MANY_MAX 64

/**
 * pd_state_update_many - pd_state_update of several entries, in one go
 * where the backend can.
 *
 * Each entry is updated atomically, exactly as by pd_state_update (same
 * callback rules: a callback may run more than once); the entries as a
 * whole are not promised to change together.  Redis sends them together
 * (a WATCH and MGET of all, then one MULTI ... EXEC: two round trips
 * whatever @n), and goes one entry at a time when that keeps losing to
 * other writers, when another updater holds an entry's lock, or when a key
 * is given twice; LMDB updates them in order in one write transaction
 * (one commit), rerun whole after a map growth, and writes none of them
 * when LMDB itself fails; a backend without a batch updates them one after
 * the other.  Returns PD_ST_OK when every entry was updated, else the
 * first failure (PD_ST_ERR_*): the entries before it may have been
 * updated, each wholly or not at all.
 */
int pd_state_update_many(struct pd_state *st, const struct pd_state_change *ch, size_t n,
                         int64_t now);

/* One entry of pd_state_get_many: what pd_state_get takes, and its result
 * (status PD_ST_OK or PD_ST_NOTFOUND, vallen, expires_at). */
struct pd_state_read {
    enum pd_table table;
    const void *key;
    size_t keylen;
    void *val;
    size_t cap;
    size_t vallen;
    int64_t expires_at;
    int status;
};

/**
 * pd_state_get_many - pd_state_get of several entries (of any tables),
 * in one go where the backend can (Redis: one MGET, one round trip; LMDB:
 * one read transaction; others: one read after the other).  Not a
 * snapshot (except on LMDB, within PD_ST_MANY_MAX entries): an entry
 * written meanwhile may be read before or after the write.  Returns
 * PD_ST_OK when every entry was read (each rd[i].status is then PD_ST_OK
 * or PD_ST_NOTFOUND), else the failure (PD_ST_ERR_INVALID,
 * PD_ST_ERR_BACKEND...), and the statuses are not to be used.
 */
int pd_state_get_many(struct pd_state *st, struct pd_state_read *rd, size_t n, int64_t now);

/* One entry of pd_state_add_many. */
struct pd_state_add {
    enum pd_table table;
    const void *key;
    size_t keylen;
    const void *val;            /* the payload, 0 .. PD_ST_VALUE_MAX bytes  */
    size_t vallen;
    int64_t expires_at;         /* > now (PD_ST_NEVER: kept)                */
    int existed;                /* set: a live entry was there, and stays   */
};

/**
 * pd_state_add_many - store each entry unless a live one is there (then it
 * is left as it is and its `existed` is set): marks that say "seen before".
 *
 * Each entry is atomic, exactly as a pd_state_update whose callback keeps a
 * live value and puts the new one otherwise.  Redis: one script for them
 * all (EVALSHA; one round trip); LMDB: one write transaction, as
 * pd_state_update_many; others: one update per entry.
 * Returns PD_ST_OK, PD_ST_ERR_INVALID (a value over PD_ST_VALUE_MAX bytes,
 * or expires_at <= now) or the first failure (the entries before it may
 * have been stored).
 */
int pd_state_add_many(struct pd_state *st, struct pd_state_add *a, size_t n, int64_t now);

/**
 * pd_state_get - read the live value of one entry.
 * @val, @cap:  where to copy it; a longer value is truncated to @cap.
 * @vallen:     receives its full length.
 * @expires_at: if not NULL, receives its expiry.
 *
 * Returns PD_ST_OK, PD_ST_NOTFOUND (absent or expired), PD_ST_ERR_INVALID
 * or PD_ST_ERR_BACKEND.
 */
int pd_state_get(struct pd_state *st, enum pd_table table,
                 const void *key, size_t keylen, int64_t now,
                 void *val, size_t cap, size_t *vallen, int64_t *expires_at);

/**
 * pd_state_expire - remove the entries of @table with expires_at <= @now.
 * @batch:   entries examined per write transaction (0: 1000).  The write
 *           lock is released between batches, so requests interleave with
 *           a long sweep instead of waiting for it (the cleanup stalls of
 *           postgrey and cbpolicyd).  Run it off the request path.
 * @removed: if not NULL, receives the number removed.
 */
int pd_state_expire(struct pd_state *st, enum pd_table table, int64_t now,
                    unsigned batch, uint64_t *removed);

/*
 * The scan callback: called once per live entry.
 * @key, @keylen: the entry's key (see PD_ST_SCAN_EXACT_MAX).
 * @val, @vallen: its value (0 .. PD_ST_VALUE_MAX bytes; never NULL).
 * @expires_at:   its expiry (> the scan's `now`; PD_ST_NEVER if kept).
 * Returns 0 to go on, anything else to stop the scan.  The pointers are
 * valid only during the call.
 */
typedef int (*pd_state_scan_fn)(void *ctx, const void *key, size_t keylen,
                                const unsigned char *val, size_t vallen,
                                int64_t expires_at);

/* A key of at most PD_ST_SCAN_EXACT_MAX bytes comes back from
 * pd_state_scan exactly as it was given.  A longer one may come back
 * abbreviated (LMDB stores it as a digest; Redis never abbreviates): then
 * only its first PD_ST_SCAN_PREFIX bytes are its own, the rest only tells
 * it apart, and it cannot be given back to pd_state_get.  Anything that lists keys
 * for people (postage-reputation) shows such a key as truncated. */
#define PD_ST_SCAN_EXACT_MAX 399
#define PD_ST_SCAN_PREFIX 367

/**
 * pd_state_scan - call @fn for each live entry of @table.
 * @now:  entries with expires_at <= @now are absent, as for pd_state_get.
 *
 * For administration and reports, not the request path.  The scan reads
 * the table in batches, each in its own read-only snapshot (LMDB readers
 * never block writers, of this process or another), and calls @fn
 * between batches with no transaction open and no lock held, so @fn may
 * take its time and may call the store itself, even update or delete the
 * entry it was given.  The scan as a whole is not atomic, in LMDB as in
 * Redis (SCAN): an entry that is live and present for the whole scan is
 * listed exactly once; one added, removed or changed meanwhile may be
 * listed in its old or its new state, or not at all, but never twice.
 * (Redis SCAN may return a key twice across a rehash, so that backend
 * must drop repeats to keep this promise.)  Entries come in no promised
 * order (LMDB: key order; Redis: none).
 *
 * Returns PD_ST_OK when every entry was listed or @fn stopped the scan,
 * PD_ST_ERR_INVALID, PD_ST_ERR_NOMEM or PD_ST_ERR_BACKEND (the entries
 * listed before the failure stand).
 */
int pd_state_scan(struct pd_state *st, enum pd_table table, int64_t now,
                  pd_state_scan_fn fn, void *ctx);

/* Number of entries stored in @table, live or expired-but-not-swept. */
int pd_state_count(struct pd_state *st, enum pd_table table, uint64_t *count);

/* Copy the description of the last failure on @st (any thread's) into
 * @buf; "" if nothing failed. */
void pd_state_error(struct pd_state *st, char *buf, size_t len);

/* The table's name ("greylist", "awl", "quota", "accounting",
 * "reputation", "accounted", "helo"), or "?". */
const char *pd_state_table_name(enum pd_table table);

/* Flush every committed update to disk now (for a store opened with
 * PD_ST_NOSYNC, which postaged syncs on a timer).  Returns PD_ST_OK or
 * PD_ST_ERR_BACKEND.  Redis: PD_ST_OK, nothing to do. */
int pd_state_sync(struct pd_state *st);

/* Told of the backend's outages: up = 0 (with why) once when a working
 * store stops answering, up = 1 once when it answers again.  Called from
 * whichever thread's call noticed it, inside that call: keep it short and
 * do not call the store from it. */
typedef void (*pd_state_notify_fn)(void *ctx, int up, const char *why);

/**
 * pd_state_set_notify - be told of outages (Redis: the connection going
 * down and coming back, once per outage; LMDB: up = 0 once when data.mdb
 * is found damaged, removed or replaced while open, for good).  Call it
 * once right after pd_state_open, before other threads use the handle;
 * @fn NULL turns it off.
 */
void pd_state_set_notify(struct pd_state *st, pd_state_notify_fn fn, void *ctx);

/* Count every call and failure in postaged's metrics registry
 * (policy/base/metrics.h; NULL: none).  Call it as pd_state_set_notify. */
struct pd_metrics;
void pd_state_set_metrics(struct pd_state *st, struct pd_metrics *metrics);

/* Flush and release.  NULL is accepted. */
void pd_state_close(struct pd_state *st);

/* Big-endian helpers for the modules' value formats: the names the
 * modules and their tests spell, for util/bytes.h, the one set of
 * big-endian helpers (new code includes that and calls be_* itself). */
#define pd_st_put_u32 be_put_u32
#define pd_st_put_u64 be_put_u64
#define pd_st_put_i64 be_put_i64
#define pd_st_get_u32 be_get_u32
#define pd_st_get_u64 be_get_u64
#define pd_st_get_i64 be_get_i64

#endif
