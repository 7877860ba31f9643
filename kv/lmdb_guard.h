/*
 * lmdb_guard.h - keep a damaged or lost LMDB store from crashing the
 * process or being silently recreated; shared by the double-spend store
 * (verify/store_lmdb.c) and postaged's state store (policy/state/state_lmdb.c).
 *
 * LMDB maps data.mdb and trusts it: a page between the end of a truncated
 * file and the last page the meta page names raises SIGBUS when touched,
 * and a page overwritten with garbage can send LMDB outside the map
 * (SIGSEGV, SIGBUS) or into an assertion.  And mdb_env_open makes a fresh
 * environment of an empty or missing data.mdb, so a lost store would start
 * over empty: every spent stamp would pay again.  So:
 *
 *  - Identity.  A store has a random 128-bit id, kept both inside the
 *    database (named database "postage", key "store-id") and in a marker
 *    file next to it, DIR/postage-store-id.  A marker with no data.mdb, an
 *    empty data.mdb, or a data.mdb with another id (or none) is a lost or
 *    replaced store and is refused; only a directory with neither is new.
 *    A store from before the marker existed (a data.mdb with no id and no
 *    marker) is given an id on its first open.
 *  - Open.  Before LMDB reads a page through the map, the file is checked
 *    against its meta page (size, magic, page size) and every page the
 *    trees reach is read with pread() and checked (page number, type,
 *    bounds of every node, child and overflow page numbers, no page
 *    reached twice).  This costs one read of the store's live pages at
 *    each open: from the page cache, about 5 ms for 100,000 spent stamps
 *    (7.5 MB) and 30 ms for 1,000,000 (74 MB).  Damage done to a store
 *    while it is open in place is caught at the next open, or meanwhile
 *    by LMDB's own checks (MDB_CORRUPTED, MDB_PAGE_NOTFOUND) only.  LMDB
 *    has no checksums: a changed byte inside a stored key that keeps its
 *    page well formed and sorted cannot be seen.
 *  - Each transaction.  data.mdb must still be the file that was opened
 *    (same device and inode at the same path) and no shorter than the
 *    meta page says: one stat() of DIR/data.mdb, which measures the
 *    opened file too once it names it (a second measure, an fstat(),
 *    only when that size looks too small: another process may have grown
 *    the file and written a newer meta page meanwhile).
 *
 * Internal to postage: not exported.  Messages name DIR/data.mdb.
 */
#ifndef POSTAGE_LMDB_GUARD_H
#define POSTAGE_LMDB_GUARD_H

#include <stddef.h>
#include <sys/types.h>

#include <lmdb.h>

#define LMDB_GUARD_MARKER "postage-store-id"
#define LMDB_GUARD_IDLEN 16             /* bytes; 32 hex digits in the marker */

/* Returned by an open step that refused the store (err says why). */
#define LMDB_GUARD_REFUSED (-30000)     /* no LMDB code, no body code of ours */

struct lmdb_guard {
    int lock_fd;                        /* DIR (flock()ed while opening), or -1 */
    int have_marker;                    /* the marker file exists             */
    int data_exists;                    /* data.mdb existed before open       */
    unsigned char id[LMDB_GUARD_IDLEN]; /* the marker's id, if have_marker    */
    dev_t dev;                          /* data.mdb as opened                 */
    ino_t ino;
    size_t psize;
    char *data_path;                    /* DIR/data.mdb                       */
    char *marker_path;                  /* DIR/postage-store-id               */
};

/* Before mdb_env_open: lock DIR against concurrent creation, read the
 * marker and look at data.mdb.  may_create: a directory holding no store
 * may become one.  Returns 0, or LMDB_GUARD_REFUSED with err set (a lost
 * store, a damaged marker, no store and !may_create, out of memory).
 * Call lmdb_guard_release() in every case afterwards. */
int lmdb_guard_prepare(struct lmdb_guard *g, const char *dir, int may_create, char *err,
                       size_t errlen);

/* After mdb_env_open, before any transaction: the size and integrity
 * check described above.  Returns 0 or LMDB_GUARD_REFUSED. */
int lmdb_guard_attach(struct lmdb_guard *g, MDB_env *env, char *err, size_t errlen);

/* Inside the first write transaction: read the id kept in the database,
 * compare it with the marker, or record a new one.  Returns MDB_SUCCESS,
 * an LMDB error, or LMDB_GUARD_REFUSED with err set. */
int lmdb_guard_identify(struct lmdb_guard *g, MDB_txn *txn, char *err, size_t errlen);

/* After that transaction committed: write the marker if there was none.
 * Returns 0 or LMDB_GUARD_REFUSED. */
int lmdb_guard_mark(struct lmdb_guard *g, char *err, size_t errlen);

/* Unlock DIR; its descriptor stays open for lmdb_guard_check. */
void lmdb_guard_release(struct lmdb_guard *g);

/* Close and free what lmdb_guard_prepare opened and allocated. */
void lmdb_guard_free(struct lmdb_guard *g);

/* Before each transaction: is data.mdb still the file opened, and whole?
 * Returns 0 or LMDB_GUARD_REFUSED with err set. */
int lmdb_guard_check(const struct lmdb_guard *g, MDB_env *env, char *err, size_t errlen);

/* A better reason than LMDB's for a failed commit: LMDB reports a short
 * write (a file system that filled up mid-write) as EIO.  Returns rc, or
 * ENOSPC when rc is EIO and the file system of data.mdb has no room. */
int lmdb_guard_reason(const struct lmdb_guard *g, int rc);

#endif
