/*
 * lmdb_guard.c - identity marker, open-time integrity walk and
 * per-transaction file checks of an LMDB store (see lmdb_guard.h).
 *
 * The walk reads LMDB 0.9's on-disk format (the one liblmdb0 writes: meta
 * pages 0 and 1, 16-byte page headers, 8-byte nodes) with pread(), never
 * through the map, so a damaged page is found before LMDB follows it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "util/errbuf.h"
#include "util/hex.h"
#include "kv/lmdb_grow.h"
#include "kv/lmdb_guard.h"

#define META_DB "postage"
#define ID_KEY "store-id"

/* LMDB 0.9 on-disk layout (64-bit pgno_t and size_t). */
#define PAGEHDR 16
#define NODEHDR 8
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_META 0x08
#define P_LEAF2 0x20
#define P_SUBP 0x40
#define P_TYPES (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2 | P_SUBP)
#define F_BIGDATA 0x01
#define F_SUBDATA 0x02
#define F_DUPDATA 0x04
#define MDB_MAGIC 0xBEEFC0DEu
#define MDB_DATA_VERSION 1u
#define DB_SIZE 48                      /* MDB_db                           */
#define META_DBS (PAGEHDR + 4 + 4 + 8 + 8)   /* offset of mm_dbs[0]     */
#define META_LAST (META_DBS + 2 * DB_SIZE)   /* mm_last_pg              */
#define META_TXNID (META_LAST + 8)
#define P_INVALID UINT64_MAX
#define MAX_DEPTH 64
#define IDL_MAX ((size_t) 64 << 20)     /* largest free-list record read    */

static uint16_t
rd16(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t
rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t
rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static char *
join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *s = malloc(n);

    if (s != NULL)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

/* ---- the marker -------------------------------------------------------- */

/* 1: read, 0: absent, -1: unreadable or malformed (err set). */
static int
read_marker(struct lmdb_guard *g, char *err, size_t errlen)
{
    char buf[LMDB_GUARD_IDLEN * 2 + 2];
    char again[LMDB_GUARD_IDLEN * 2 + 1];
    ssize_t n;
    int fd = open(g->marker_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        errbuf_printf(err, errlen, "%s: %s", g->marker_path, strerror(errno));
        return -1;
    }
    n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0) {
        errbuf_printf(err, errlen, "%s: %s", g->marker_path, strerror(errno));
        return -1;
    }
    if (n != (ssize_t) sizeof buf - 1 && !(n == (ssize_t) sizeof buf - 2))
        goto bad;
    /* Exactly as lmdb_guard_mark writes it (lowercase): spelled again,
     * the id must read the same, so an uppercase digit is damage too. */
    if (hex_decode(buf, LMDB_GUARD_IDLEN, g->id) != 0)
        goto bad;
    hex_encode(g->id, LMDB_GUARD_IDLEN, again);
    if (memcmp(again, buf, 2 * LMDB_GUARD_IDLEN) != 0)
        goto bad;
    if (n == (ssize_t) sizeof buf - 1 && buf[n - 1] != '\n')
        goto bad;
    return 1;
bad:
    errbuf_printf(err, errlen, "%s is damaged (not 32 hex digits); it says which store "
                  "belongs here: restore it from a backup", g->marker_path);
    return -1;
}

int
lmdb_guard_mark(struct lmdb_guard *g, char *err, size_t errlen)
{
    char line[LMDB_GUARD_IDLEN * 2 + 2];
    char *tmp;
    int fd, rc = 0;

    if (g->have_marker)
        return 0;
    hex_encode(g->id, LMDB_GUARD_IDLEN, line);
    strcat(line, "\n");
    tmp = join(g->marker_path, "..tmp");
    if (tmp == NULL) {
        errbuf_printf(err, errlen, "out of memory writing %s", g->marker_path);
        return LMDB_GUARD_REFUSED;
    }
    tmp[strlen(g->marker_path)] = '.';     /* "DIR/postage-store-id..tmp" */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t) strlen(line) || fsync(fd) != 0) {
        int e = errno ? errno : EIO;
        errbuf_printf(err, errlen, "%s: cannot write the store marker: %s", tmp, strerror(e));
        rc = LMDB_GUARD_REFUSED;
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        errbuf_printf(err, errlen, "%s: cannot write the store marker: %s", tmp, strerror(errno));
        rc = LMDB_GUARD_REFUSED;
    }
    if (rc == 0 && rename(tmp, g->marker_path) != 0) {
        errbuf_printf(err, errlen, "%s: cannot write the store marker: %s", g->marker_path,
                      strerror(errno));
        rc = LMDB_GUARD_REFUSED;
    }
    if (rc != 0)
        unlink(tmp);
    else if (g->lock_fd >= 0)
        fsync(g->lock_fd);                  /* the rename, in the directory */
    free(tmp);
    if (rc == 0)
        g->have_marker = 1;
    return rc;
}

/* ---- before open ------------------------------------------------------- */

int
lmdb_guard_prepare(struct lmdb_guard *g, const char *dir, int may_create, char *err,
                   size_t errlen)
{
    struct stat sb;
    int m;

    memset(g, 0, sizeof *g);
    g->lock_fd = -1;
    g->data_path = join(dir, "data.mdb");
    g->marker_path = join(dir, LMDB_GUARD_MARKER);
    if (g->data_path == NULL || g->marker_path == NULL) {
        errbuf_printf(err, errlen, "out of memory opening store %s", dir);
        return LMDB_GUARD_REFUSED;
    }
    /* Two processes creating one store at once must agree on its id, and
     * one must not see the other's half-made data.mdb as a damaged one. */
    g->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g->lock_fd < 0 || flock(g->lock_fd, LOCK_EX) != 0) {
        errbuf_printf(err, errlen, "cannot lock store directory %s: %s", dir, strerror(errno));
        return LMDB_GUARD_REFUSED;
    }
    m = read_marker(g, err, errlen);
    if (m < 0)
        return LMDB_GUARD_REFUSED;
    g->have_marker = m;
    if (stat(g->data_path, &sb) != 0) {
        if (errno != ENOENT) {
            errbuf_printf(err, errlen, "%s: %s", g->data_path, strerror(errno));
            return LMDB_GUARD_REFUSED;
        }
        if (g->have_marker) {
            errbuf_printf(err, errlen, "%s is missing, but %s says a store was here: the "
                          "store is lost (restore it from a backup; see the manual)",
                          g->data_path, g->marker_path);
            return LMDB_GUARD_REFUSED;
        }
        if (!may_create) {
            errbuf_printf(err, errlen, "no store in %s (no data.mdb)", dir);
            return LMDB_GUARD_REFUSED;
        }
        return 0;
    }
    g->data_exists = 1;
    if (!S_ISREG(sb.st_mode)) {
        errbuf_printf(err, errlen, "%s is not a regular file", g->data_path);
        return LMDB_GUARD_REFUSED;
    }
    if (sb.st_size == 0) {
        /* mdb_env_open would make a new, empty store of it. */
        if (g->have_marker)
            errbuf_printf(err, errlen, "%s is empty, but %s says a store was here: the store "
                          "is lost (restore it from a backup; see the manual)",
                          g->data_path, g->marker_path);
        else
            errbuf_printf(err, errlen, "%s is empty: a damaged store, not a new one "
                          "(restore it from a backup; see the manual)", g->data_path);
        return LMDB_GUARD_REFUSED;
    }
    return 0;
}

void
lmdb_guard_release(struct lmdb_guard *g)
{
    /* The descriptor stays open: lmdb_guard_check looks up data.mdb
     * through it, so a relative DIR still works after a chdir(). */
    if (g->lock_fd >= 0)
        flock(g->lock_fd, LOCK_UN);
}

void
lmdb_guard_free(struct lmdb_guard *g)
{
    if (g->lock_fd >= 0)
        close(g->lock_fd);
    g->lock_fd = -1;
    free(g->data_path);
    free(g->marker_path);
    g->data_path = g->marker_path = NULL;
}

/* ---- the integrity walk ------------------------------------------------ */

struct walk {
    int fd;
    size_t psize;
    uint64_t last;                      /* last page number in use         */
    unsigned char *seen;                /* one bit per page                */
    unsigned char *page;                /* psize bytes                     */
    const char *path;
    char *err;
    size_t errlen;
};

static int
bad(struct walk *w, uint64_t pgno, const char *what)
{
    errbuf_printf(w->err, w->errlen, "%s is damaged (page %llu: %s); restore it from a "
                  "backup (see the manual)", w->path, (unsigned long long) pgno, what);
    return LMDB_GUARD_REFUSED;
}

static int
read_page(struct walk *w, uint64_t pgno, unsigned char *buf, size_t len)
{
    ssize_t n = pread(w->fd, buf, len, (off_t) (pgno * w->psize));

    if (n < 0) {
        errbuf_printf(w->err, w->errlen, "%s: reading page %llu: %s", w->path,
                      (unsigned long long) pgno, strerror(errno));
        return LMDB_GUARD_REFUSED;
    }
    if ((size_t) n != len)
        return bad(w, pgno, "beyond the end of the file");
    return 0;
}

/* Mark pages [pgno, pgno + count) as reached; each may be reached once. */
static int
claim(struct walk *w, uint64_t pgno, uint64_t count)
{
    if (pgno < 2 || count == 0 || pgno > w->last || count > w->last - pgno + 1)
        return bad(w, pgno, "page number out of range");
    for (uint64_t p = pgno; p < pgno + count; p++) {
        if (w->seen[p >> 3] & (1u << (p & 7)))
            return bad(w, p, "reached twice");
        w->seen[p >> 3] |= (unsigned char) (1u << (p & 7));
    }
    return 0;
}

/* A free-list record: a count, then that many page numbers. */
static int
check_idl(struct walk *w, uint64_t pgno, const unsigned char *d, size_t len)
{
    if (len < 8 || len % 8 != 0 || rd64(d) != len / 8 - 1)
        return bad(w, pgno, "malformed free-page list");
    for (size_t i = 1; i < len / 8; i++) {
        uint64_t id = rd64(d + 8 * i);
        if (id < 2 || id > w->last)
            return bad(w, pgno, "free-page list names a page out of range");
    }
    return 0;
}

static int walk_tree(struct walk *w, const unsigned char *db, int freedb, int maindb);

/* An overflow page run: check its header; a free-list record in it is
 * read whole and checked, as LMDB will read it. */
static int
check_overflow(struct walk *w, uint64_t pgno, size_t dsize, int freedb)
{
    unsigned char *hdr = w->page;
    uint32_t pages;
    int rc;

    if ((rc = read_page(w, pgno, hdr, PAGEHDR)) != 0)
        return rc;
    pages = rd32(hdr + 12);
    if (rd64(hdr) != pgno || (rd16(hdr + 10) & P_TYPES) != P_OVERFLOW || pages == 0
        || (uint64_t) dsize > (uint64_t) pages * w->psize - PAGEHDR)
        return bad(w, pgno, "not the overflow page expected");
    if ((rc = claim(w, pgno, pages)) != 0)
        return rc;
    if (freedb) {
        unsigned char *d;
        if (dsize > IDL_MAX)
            return bad(w, pgno, "free-page list too long");
        d = malloc(dsize ? dsize : 1);
        if (d == NULL) {
            errbuf_printf(w->err, w->errlen, "out of memory checking %s", w->path);
            return LMDB_GUARD_REFUSED;
        }
        ssize_t n = pread(w->fd, d, dsize, (off_t) (pgno * w->psize + PAGEHDR));
        rc = n == (ssize_t) dsize ? check_idl(w, pgno, d, dsize) : bad(w, pgno, "short read");
        free(d);
    }
    return rc;
}

/* LMDB's order: the free-page database's keys are native size_t
 * (MDB_INTEGERKEY), every other database's are compared as memcmp()
 * then length. */
static int
key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen, int intkey)
{
    int c;

    if (intkey && alen == 8 && blen == 8) {
        uint64_t x = rd64(a), y = rd64(b);
        return x < y ? -1 : x > y;
    }
    c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Check one page of a tree at depth `depth` of `depth_max`; children are
 * pushed on the stack. */
static int
check_page(struct walk *w, uint64_t pgno, unsigned depth, unsigned depth_max, int freedb,
           int maindb, uint64_t *stack, unsigned *depths, size_t *top, size_t cap)
{
    unsigned char *p = malloc(w->psize);
    int rc = 0;

    if (p == NULL) {
        errbuf_printf(w->err, w->errlen, "out of memory checking %s", w->path);
        return LMDB_GUARD_REFUSED;
    }
    if ((rc = read_page(w, pgno, p, w->psize)) != 0)
        goto out;
    uint16_t flags = rd16(p + 10) & P_TYPES, lower = rd16(p + 12), upper = rd16(p + 14);
    int leaf = depth == depth_max;
    if (rd64(p) != pgno) {
        rc = bad(w, pgno, "wrong page number in its header");
        goto out;
    }
    if (flags != (leaf ? P_LEAF : P_BRANCH)) {
        rc = bad(w, pgno, leaf ? "not a leaf page" : "not a branch page");
        goto out;
    }
    if (lower < PAGEHDR || lower % 2 != 0 || lower > upper || upper > w->psize
        || (!leaf && lower == PAGEHDR)) {
        rc = bad(w, pgno, "bad free-space bounds");
        goto out;
    }
    const unsigned char *prev = NULL;
    size_t prevlen = 0;
    for (size_t i = 0; i < (size_t) (lower - PAGEHDR) / 2 && rc == 0; i++) {
        size_t off = rd16(p + PAGEHDR + 2 * i);
        if (off < upper || off + NODEHDR > w->psize) {
            rc = bad(w, pgno, "node outside the page");
            break;
        }
        const unsigned char *n = p + off;
        size_t ksize = rd16(n + 6);
        uint16_t nflags = rd16(n + 4);
        if (off + NODEHDR + ksize > w->psize) {
            rc = bad(w, pgno, "key outside the page");
            break;
        }
        /* Keys are sorted within a page (a branch page's first key is
         * empty): a changed key byte usually breaks that. */
        if (leaf || i > 0) {
            const unsigned char *key = n + NODEHDR;
            if (prev != NULL && key_cmp(prev, prevlen, key, ksize, freedb) >= 0) {
                rc = bad(w, pgno, "keys out of order");
                break;
            }
            prev = key;
            prevlen = ksize;
        }
        if (!leaf) {
            uint64_t child = rd16(n) | (uint64_t) rd16(n + 2) << 16 | (uint64_t) nflags << 32;
            if (*top >= cap) {
                rc = bad(w, pgno, "tree too wide");
                break;
            }
            if ((rc = claim(w, child, 1)) != 0)
                break;
            stack[*top] = child;
            depths[(*top)++] = depth + 1;
            continue;
        }
        size_t dsize = rd16(n) | (size_t) rd16(n + 2) << 16;
        const unsigned char *d = n + NODEHDR + ksize;
        if (nflags & ~(unsigned) (F_BIGDATA | F_SUBDATA) || (nflags & F_DUPDATA)) {
            rc = bad(w, pgno, "unexpected node flags");
        } else if (nflags & F_BIGDATA) {
            if (off + NODEHDR + ksize + 8 > w->psize)
                rc = bad(w, pgno, "data outside the page");
            else
                rc = check_overflow(w, rd64(d), dsize, freedb);
        } else if (off + NODEHDR + ksize + dsize > w->psize) {
            rc = bad(w, pgno, "data outside the page");
        } else if (nflags & F_SUBDATA) {
            if (!maindb || dsize != DB_SIZE)
                rc = bad(w, pgno, "malformed named database");
            else
                rc = walk_tree(w, d, 0, 0);
        } else if (freedb) {
            rc = check_idl(w, pgno, d, dsize);
        }
    }
out:
    free(p);
    return rc;
}

/* Walk the tree whose MDB_db record is db. */
static int
walk_tree(struct walk *w, const unsigned char *db, int freedb, int maindb)
{
    uint64_t root = rd64(db + 40);
    unsigned depth_max = rd16(db + 6);
    /* At most one entry per node on the path being explored at each level. */
    size_t cap = (size_t) MAX_DEPTH * (w->psize / 2);
    uint64_t *stack;
    unsigned *depths;
    size_t top = 0;
    int rc = 0;

    if (root == P_INVALID)
        return 0;
    if (depth_max == 0 || depth_max > MAX_DEPTH)
        return bad(w, root, "impossible tree depth");
    if ((rc = claim(w, root, 1)) != 0)
        return rc;
    stack = malloc(cap * sizeof *stack);
    depths = malloc(cap * sizeof *depths);
    if (stack == NULL || depths == NULL) {
        free(stack);
        free(depths);
        errbuf_printf(w->err, w->errlen, "out of memory checking %s", w->path);
        return LMDB_GUARD_REFUSED;
    }
    stack[top] = root;
    depths[top++] = 1;
    while (top > 0 && rc == 0) {
        top--;
        rc = check_page(w, stack[top], depths[top], depth_max, freedb, maindb, stack, depths,
                        &top, cap);
    }
    free(stack);
    free(depths);
    return rc;
}

int
lmdb_guard_attach(struct lmdb_guard *g, MDB_env *env, char *err, size_t errlen)
{
    unsigned char meta[2][META_TXNID + 8];
    struct walk w;
    struct stat sb;
    MDB_stat ms;
    int fd, rc;

    if (mdb_env_get_fd(env, &fd) != MDB_SUCCESS || fstat(fd, &sb) != 0
        || mdb_env_stat(env, &ms) != MDB_SUCCESS) {
        errbuf_printf(err, errlen, "%s: cannot examine the file", g->data_path);
        return LMDB_GUARD_REFUSED;
    }
    g->dev = sb.st_dev;
    g->ino = sb.st_ino;
    g->psize = ms.ms_psize;

    memset(&w, 0, sizeof w);
    w.fd = fd;
    w.psize = g->psize;
    w.path = g->data_path;
    w.err = err;
    w.errlen = errlen;
    if (w.psize < 512 || w.psize > 65536 || (w.psize & (w.psize - 1)) != 0
        || (uint64_t) sb.st_size < 2 * (uint64_t) w.psize)
        return bad(&w, 0, "too short, or no LMDB page size");
    /* Other processes may be writing meanwhile.  A read transaction (it
     * reads only the meta pages, which are there) keeps every tree from
     * its snapshot on from being reused under the walk; and LMDB writes a
     * commit's pages before its meta page, so the file is measured after
     * the meta page is read. */
    MDB_txn *txn;
    int broken = 0;
    rc = lmdb_grow_begin(env, MDB_RDONLY, &txn, &broken);
    if (rc != MDB_SUCCESS) {
        errbuf_printf(err, errlen, "%s: beginning a read transaction: %s", g->data_path,
                      mdb_strerror(rc));
        return LMDB_GUARD_REFUSED;
    }
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = read_page(&w, (uint64_t) i, meta[i], sizeof meta[i]);
    if (rc != 0)
        goto out;
    /* The later transaction's meta page: LMDB's choice, or newer. */
    const unsigned char *m = meta[rd64(meta[1] + META_TXNID) > rd64(meta[0] + META_TXNID)];
    w.last = rd64(m + META_LAST);
    if (rd32(m + PAGEHDR) != MDB_MAGIC || rd32(m + PAGEHDR + 4) != MDB_DATA_VERSION
        || rd32(m + META_DBS) != w.psize) {
        rc = bad(&w, 0, "meta page is not LMDB's");
        goto out;
    }
    if (fstat(fd, &sb) != 0 || w.last < 1 || w.last > (uint64_t) sb.st_size / w.psize - 1) {
        errbuf_printf(err, errlen, "%s is truncated: %llu bytes, but its pages reach %llu "
                      "bytes; restore it from a backup (see the manual)", g->data_path,
                      (unsigned long long) sb.st_size,
                      (unsigned long long) ((w.last + 1) * w.psize));
        rc = LMDB_GUARD_REFUSED;
        goto out;
    }
    w.seen = calloc(w.last / 8 + 1, 1);
    w.page = malloc(w.psize);
    if (w.seen == NULL || w.page == NULL) {
        errbuf_printf(err, errlen, "out of memory checking %s", g->data_path);
        rc = LMDB_GUARD_REFUSED;
    } else {
        rc = walk_tree(&w, m + META_DBS, 1, 0);
        if (rc == 0)
            rc = walk_tree(&w, m + META_DBS + DB_SIZE, 0, 1);
    }
    free(w.seen);
    free(w.page);
out:
    mdb_txn_abort(txn);
    return rc;
}

/* ---- identity inside the database -------------------------------------- */

/* The marker names a store, the database holds no id: another store. */
static int
no_id(const struct lmdb_guard *g, char *err, size_t errlen)
{
    errbuf_printf(err, errlen, "%s holds no store id, but %s names one: it is not the "
                  "store that was here (restore the right one; see the manual)",
                  g->data_path, g->marker_path);
    return LMDB_GUARD_REFUSED;
}

int
lmdb_guard_identify(struct lmdb_guard *g, MDB_txn *txn, char *err, size_t errlen)
{
    char id_key[] = ID_KEY;              /* MDB_val is not const */
    MDB_dbi dbi;
    MDB_val k, v;
    char want[LMDB_GUARD_IDLEN * 2 + 1], have[LMDB_GUARD_IDLEN * 2 + 1];
    int rc = mdb_dbi_open(txn, META_DB, g->have_marker ? 0 : MDB_CREATE, &dbi);

    if (rc == MDB_NOTFOUND) {
        return no_id(g, err, errlen);
    }
    if (rc != MDB_SUCCESS)
        return rc;
    k.mv_size = sizeof ID_KEY - 1;
    k.mv_data = id_key;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND && !g->have_marker) {
        /* A new store, or one from before markers: give it an id. */
        randombytes_buf(g->id, sizeof g->id);
        v.mv_size = sizeof g->id;
        v.mv_data = g->id;
        return mdb_put(txn, dbi, &k, &v, 0);
    }
    if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && v.mv_size != LMDB_GUARD_IDLEN)) {
        return no_id(g, err, errlen);
    }
    if (rc != MDB_SUCCESS)
        return rc;
    if (!g->have_marker) {
        /* The marker went missing (or a store was moved without it): the
         * database itself is whole, so it names itself. */
        memcpy(g->id, v.mv_data, LMDB_GUARD_IDLEN);
        return MDB_SUCCESS;
    }
    if (memcmp(g->id, v.mv_data, LMDB_GUARD_IDLEN) != 0) {
        hex_encode(g->id, LMDB_GUARD_IDLEN, want);
        hex_encode(v.mv_data, LMDB_GUARD_IDLEN, have);
        errbuf_printf(err, errlen, "%s belongs to store %s, but %s says store %s was here: "
                      "it was replaced (restore the right one; see the manual)",
                      g->data_path, have, g->marker_path, want);
        return LMDB_GUARD_REFUSED;
    }
    return MDB_SUCCESS;
}

/* ---- each transaction -------------------------------------------------- */

int
lmdb_guard_check(const struct lmdb_guard *g, MDB_env *env, char *err, size_t errlen)
{
    struct stat sb;
    MDB_envinfo info;
    uint64_t need;
    int fd;

    /* One lookup by name answers both questions: once it names the inode
     * opened, its size is that file's size, so no fstat() of LMDB's
     * descriptor is needed for the meta pages' check.  (Every transaction
     * pays for this call: at one a transaction, the milter's eleven or so
     * a message cost eleven stats, not thirty-three.) */
    if (fstatat(g->lock_fd, "data.mdb", &sb, 0) != 0) {
        errbuf_printf(err, errlen, "%s: %s: the store was removed while in use; restore "
                      "it from a backup and restart (see the manual)", g->data_path,
                      strerror(errno));
        return LMDB_GUARD_REFUSED;
    }
    if (sb.st_dev != g->dev || sb.st_ino != g->ino) {
        errbuf_printf(err, errlen, "%s was replaced by another file while in use; "
                      "restart to check it (see the manual)", g->data_path);
        return LMDB_GUARD_REFUSED;
    }
    /* The meta pages themselves must be there before LMDB reads them.
     * Then every page the newest meta page names must be: the size just
     * read was the file's before the meta page was read, and another
     * process's commit grows the file before it writes its meta page, so
     * a size too small for it is measured again (through the descriptor,
     * the same inode) before it is called a truncation.  A size already
     * large enough says all a second measure could: that the file held
     * those pages at a moment before LMDB reads them. */
    if ((uint64_t) sb.st_size < 2 * (uint64_t) g->psize
        || mdb_env_info(env, &info) != MDB_SUCCESS)
        goto truncated;
    need = ((uint64_t) info.me_last_pgno + 1) * g->psize;
    if ((uint64_t) sb.st_size >= need)
        return 0;
    if (mdb_env_get_fd(env, &fd) == MDB_SUCCESS && fstat(fd, &sb) == 0
        && (uint64_t) sb.st_size >= need)
        return 0;
truncated:
    errbuf_printf(err, errlen, "%s was truncated while in use (%llu bytes); restore it "
                  "from a backup and restart (see the manual)", g->data_path,
                  (unsigned long long) sb.st_size);
    return LMDB_GUARD_REFUSED;
}

int
lmdb_guard_reason(const struct lmdb_guard *g, int rc)
{
    struct statvfs vfs;
    char *dir, *slash;

    if (rc != EIO || g->data_path == NULL)
        return rc;
    dir = strdup(g->data_path);
    if (dir == NULL)
        return rc;
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    /* A short write leaves less than a page or two free. */
    if (statvfs(dir, &vfs) == 0
        && (uint64_t) vfs.f_bavail * vfs.f_frsize < 16 * (uint64_t) (g->psize ? g->psize : 4096))
        rc = ENOSPC;
    free(dir);
    return rc;
}
