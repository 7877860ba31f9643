/*
 * check_store.c - unit tests for the double-spend store (postage/store.h,
 * verify/store.c, verify/store_lmdb.c).
 *
 * Every test works in its own mkdtemp() directory under $TMPDIR (or /tmp)
 * and removes it.  The concurrency tests are the point of the store:
 * whatever the interleaving, each stamp is accepted exactly once, by
 * threads sharing a handle and by processes sharing a directory.  No test
 * looks at the clock.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "postage/stamp.h"
#include "postage/status.h"
#include "postage/store.h"

/* Concurrency tests: workers, and stamps each of them tries to spend. */
#define WORKERS 4
#define SHARED_STAMPS 1000

static char tmpdir[4096];
static char storedir[4200];

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void) sb;
    (void) type;
    (void) ftw;
    return remove(path);
}

static void
setup(void)
{
    const char *base = getenv("TMPDIR");

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/check_store.XXXXXX", base);
    ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp %s: %s", tmpdir, strerror(errno));
    snprintf(storedir, sizeof storedir, "%s/db", tmpdir);
}

static void
teardown(void)
{
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

static postage_store *
open_ok(const char *spec, unsigned flags)
{
    postage_store *s = NULL;
    char err[POSTAGE_STORE_ERRLEN];
    int rc = postage_store_open(spec, flags, &s, err, sizeof err);

    ck_assert_msg(rc == POSTAGE_OK, "open %s: %d %s", spec, rc, err);
    ck_assert_ptr_nonnull(s);
    return s;
}

static int
spend(postage_store *s, const char *stamp, int64_t expires_at)
{
    return postage_store_spend(s, stamp, strlen(stamp), expires_at);
}

static void
stamp_text(char *buf, size_t size, unsigned i)
{
    snprintf(buf, size, "1:20:261127:user%u@example.org::c2hhcmVk%u:%x", i % 7, i, i * 2654435761u);
}

static uint64_t
count(postage_store *s)
{
    uint64_t n = 12345;

    ck_assert_int_eq(postage_store_count(s, &n), POSTAGE_OK);
    return n;
}

START_TEST(test_fresh_then_spent)
{
    postage_store *s = open_ok(storedir, 0);
    const char *st = "1:20:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw";

    ck_assert_int_eq(spend(s, st, 2000000000), POSTAGE_OK);
    ck_assert_int_eq(spend(s, st, 2000000000), POSTAGE_ERR_SPENT);
    /* The expiry does not take part in identity. */
    ck_assert_int_eq(spend(s, st, 5), POSTAGE_ERR_SPENT);
    ck_assert_str_eq(postage_store_error(s), "");
    ck_assert_uint_eq(count(s), 1);
    postage_store_close(s);
}
END_TEST

START_TEST(test_is_spent_looks_only)
{
    postage_store *s = open_ok(storedir, 0);
    const char *st = "1:20:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw";

    ck_assert_int_eq(postage_store_is_spent(s, st, strlen(st)), POSTAGE_OK);
    /* Looking records nothing: asking twice still says not spent. */
    ck_assert_int_eq(postage_store_is_spent(s, st, strlen(st)), POSTAGE_OK);
    ck_assert_uint_eq(count(s), 0);
    ck_assert_int_eq(spend(s, st, 2000000000), POSTAGE_OK);
    ck_assert_int_eq(postage_store_is_spent(s, st, strlen(st)), POSTAGE_ERR_SPENT);
    /* Exact bytes: a prefix of a spent stamp is another stamp. */
    ck_assert_int_eq(postage_store_is_spent(s, st, strlen(st) - 1), POSTAGE_OK);
    ck_assert_int_eq(postage_store_is_spent(s, NULL, 1), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_is_spent(s, st, 0), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_is_spent(NULL, st, 1), POSTAGE_ERR_INVALID);
    postage_store_close(s);
}
END_TEST

START_TEST(test_independent)
{
    postage_store *s = open_ok(storedir, 0);

    ck_assert_int_eq(spend(s, "1:20:261127:a@example.org::AAAA:1", 1), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "1:20:261127:a@example.org::AAAA:2", 1), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "1:20:261127:b@example.org::AAAA:1", 1), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "1:20:261127:a@example.org::AAAA:1", 1), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(spend(s, "1:20:261127:a@example.org::AAAA:2", 1), POSTAGE_ERR_SPENT);
    ck_assert_uint_eq(count(s), 3);
    postage_store_close(s);
}
END_TEST

START_TEST(test_exact_bytes)
{
    postage_store *s = open_ok(storedir, 0);
    const char *st = "1:20:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw";
    char buf[128];

    ck_assert_int_eq(spend(s, st, 1), POSTAGE_OK);
    /* Case in the resource: a different stamp (it also hashes differently). */
    ck_assert_int_eq(spend(s, "1:20:261127:FOO@example.org::gVZBMGPUSjjYbhLq:0000Gw", 1),
                     POSTAGE_OK);
    /* A trailing space or a prefix is not trimmed away. */
    snprintf(buf, sizeof buf, "%s ", st);
    ck_assert_int_eq(spend(s, buf, 1), POSTAGE_OK);
    ck_assert_int_eq(postage_store_spend(s, st, strlen(st) - 1, 1), POSTAGE_OK);
    /* len, not NUL, ends the stamp: embedded bytes after it are ignored. */
    snprintf(buf, sizeof buf, "%sXYZ", st);
    ck_assert_int_eq(postage_store_spend(s, buf, strlen(st), 1), POSTAGE_ERR_SPENT);
    ck_assert_uint_eq(count(s), 4);
    postage_store_close(s);
}
END_TEST

START_TEST(test_reopen_keeps)
{
    postage_store *s = open_ok(storedir, 0);
    char buf[128];
    unsigned i;

    for (i = 0; i < 50; i++) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_int_eq(spend(s, buf, 1000 + i), POSTAGE_OK);
    }
    postage_store_close(s);

    s = open_ok(storedir, POSTAGE_STORE_NOCREATE);
    ck_assert_uint_eq(count(s), 50);
    for (i = 0; i < 50; i++) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_int_eq(spend(s, buf, 1000 + i), POSTAGE_ERR_SPENT);
    }
    stamp_text(buf, sizeof buf, 50);
    ck_assert_int_eq(spend(s, buf, 1), POSTAGE_OK);
    postage_store_close(s);
}
END_TEST

START_TEST(test_purge_boundary)
{
    postage_store *s = open_ok(storedir, 0);
    uint64_t removed = 99;
    const int64_t now = 1000000, grace = 100;

    /* expires_at + grace == now: removed.  One second later: kept. */
    ck_assert_int_eq(spend(s, "equal", now - grace), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "before", now - grace + 1), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "long-gone", INT64_MIN), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "negative", -5), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "never", POSTAGE_NEVER_EXPIRES), POSTAGE_OK);
    /* expires_at + grace would overflow: kept, not wrapped to negative. */
    ck_assert_int_eq(spend(s, "far", POSTAGE_NEVER_EXPIRES - 1), POSTAGE_OK);
    ck_assert_uint_eq(count(s), 6);

    ck_assert_int_eq(postage_store_purge(s, now, grace, &removed), POSTAGE_OK);
    ck_assert_uint_eq(removed, 3);
    ck_assert_uint_eq(count(s), 3);
    ck_assert_int_eq(spend(s, "equal", 1), POSTAGE_OK);       /* forgotten */
    ck_assert_int_eq(spend(s, "long-gone", 1), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "negative", 1), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "before", 1), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(spend(s, "never", 1), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(spend(s, "far", 1), POSTAGE_ERR_SPENT);

    /* One second later "before" goes too; NEVER_EXPIRES stays forever. */
    ck_assert_int_eq(postage_store_purge(s, now + 1, grace, NULL), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "before", 1), POSTAGE_OK);
    ck_assert_int_eq(postage_store_purge(s, INT64_MAX, 0, &removed), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "never", 1), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(spend(s, "far", 1), POSTAGE_OK);
    /* A huge grace near INT64_MIN does not overflow. */
    ck_assert_int_eq(postage_store_purge(s, INT64_MIN, INT64_MAX, &removed), POSTAGE_OK);
    ck_assert_uint_eq(removed, 0);
    postage_store_close(s);
}
END_TEST

/* More entries than one purge batch, so resuming between batches counts. */
START_TEST(test_purge_batches)
{
    postage_store *s = open_ok(storedir, POSTAGE_STORE_NOSYNC);
    char buf[128];
    uint64_t removed = 0;
    unsigned i, n = 25000;

    for (i = 0; i < n; i++) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_int_eq(spend(s, buf, (i % 2) ? 100 : 200), POSTAGE_OK);
    }
    ck_assert_uint_eq(count(s), n);
    ck_assert_int_eq(postage_store_purge(s, 150, 0, &removed), POSTAGE_OK);
    ck_assert_uint_eq(removed, n / 2);
    ck_assert_uint_eq(count(s), n - n / 2);
    for (i = 0; i < n; i++) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_int_eq(spend(s, buf, 300), (i % 2) ? POSTAGE_OK : POSTAGE_ERR_SPENT);
    }
    postage_store_close(s);
}
END_TEST

START_TEST(test_nocreate_missing)
{
    postage_store *s = (postage_store *) 1;
    char err[POSTAGE_STORE_ERRLEN];

    ck_assert_int_eq(postage_store_open(storedir, POSTAGE_STORE_NOCREATE, &s, err, sizeof err),
                     POSTAGE_ERR_STORE);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, storedir) != NULL, "message does not name the dir: %s", err);
    ck_assert_msg(strstr(err, "No such file") != NULL, "no reason: %s", err);
    ck_assert_int_eq(access(storedir, F_OK), -1);

    /* An existing empty directory is not a store either. */
    ck_assert_int_eq(mkdir(storedir, 0700), 0);
    ck_assert_int_eq(postage_store_open(storedir, POSTAGE_STORE_NOCREATE, &s, err, sizeof err),
                     POSTAGE_ERR_STORE);
    ck_assert_msg(strstr(err, "data.mdb") != NULL, "%s", err);
}
END_TEST

START_TEST(test_create_errors)
{
    postage_store *s = NULL;
    char err[POSTAGE_STORE_ERRLEN], path[4300];
    FILE *f;

    /* Missing parent: only the last component is created. */
    snprintf(path, sizeof path, "%s/no/such", tmpdir);
    ck_assert_int_eq(postage_store_open(path, 0, &s, err, sizeof err), POSTAGE_ERR_STORE);
    ck_assert_msg(strstr(err, path) != NULL && strstr(err, "No such file") != NULL, "%s", err);

    /* A regular file where the directory should be. */
    snprintf(path, sizeof path, "%s/file", tmpdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(postage_store_open(path, 0, &s, err, sizeof err), POSTAGE_ERR_STORE);
    ck_assert_msg(strstr(err, "not a directory") != NULL, "%s", err);

    /* The directory is created private. */
    s = open_ok(storedir, 0);
    postage_store_close(s);
    {
        struct stat st;
        ck_assert_int_eq(stat(storedir, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0700);
    }
}
END_TEST

START_TEST(test_invalid_args)
{
    postage_store *s = (postage_store *) 1;
    char err[POSTAGE_STORE_ERRLEN];
    char big[POSTAGE_STAMP_MAX + 1];
    uint64_t n;

    ck_assert_int_eq(postage_store_open(NULL, 0, &s, err, sizeof err), POSTAGE_ERR_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(postage_store_open("", 0, &s, err, sizeof err), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_open(storedir, 0, NULL, err, sizeof err), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_open(storedir, 1u << 7, &s, err, sizeof err),
                     POSTAGE_ERR_INVALID);
    ck_assert_msg(strstr(err, "flags") != NULL, "%s", err);
    /* err may be NULL. */
    ck_assert_int_eq(postage_store_open("", 0, &s, NULL, 0), POSTAGE_ERR_INVALID);

    ck_assert_int_eq(postage_store_spend(NULL, "x", 1, 0), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_purge(NULL, 0, 0, NULL), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_count(NULL, &n), POSTAGE_ERR_INVALID);
    ck_assert_ptr_nonnull(postage_store_error(NULL));
    postage_store_close(NULL);

    s = open_ok(storedir, 0);
    ck_assert_int_eq(postage_store_spend(s, NULL, 1, 0), POSTAGE_ERR_INVALID);
    ck_assert_str_ne(postage_store_error(s), "");
    ck_assert_int_eq(postage_store_spend(s, "x", 0, 0), POSTAGE_ERR_INVALID);
    memset(big, 'a', sizeof big);
    ck_assert_int_eq(postage_store_spend(s, big, sizeof big, 0), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_spend(s, big, POSTAGE_STAMP_MAX, 0), POSTAGE_OK);
    ck_assert_int_eq(postage_store_purge(s, 0, -1, NULL), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_count(s, NULL), POSTAGE_ERR_INVALID);
    ck_assert_uint_eq(count(s), 1);
    postage_store_close(s);
}
END_TEST

START_TEST(test_spec_scheme)
{
    postage_store *s = NULL;
    char err[POSTAGE_STORE_ERRLEN], spec[4400];
    char cwd[4096];

    ck_assert_int_eq(postage_store_open("foo:bar", 0, &s, err, sizeof err), POSTAGE_ERR_INVALID);
    ck_assert_msg(strstr(err, "\"foo:\"") != NULL && strstr(err, "lmdb") != NULL, "%s", err);
    ck_assert_int_eq(postage_store_open("redis+tls:x", 0, &s, err, sizeof err),
                     POSTAGE_ERR_INVALID);
    ck_assert_msg(strstr(err, "redis+tls") != NULL, "%s", err);
    ck_assert_int_eq(postage_store_open("lmdb:", 0, &s, err, sizeof err), POSTAGE_ERR_INVALID);

    /* Explicit scheme; a ':' later in a path is part of the path. */
    snprintf(spec, sizeof spec, "lmdb:%s/x:y", tmpdir);
    s = open_ok(spec, 0);
    ck_assert_int_eq(spend(s, "s1", 1), POSTAGE_OK);
    postage_store_close(s);
    snprintf(spec, sizeof spec, "%s/x:y", tmpdir);   /* same store, bare */
    s = open_ok(spec, POSTAGE_STORE_NOCREATE);
    ck_assert_int_eq(spend(s, "s1", 1), POSTAGE_ERR_SPENT);
    postage_store_close(s);

    /* A relative path that looks like a scheme is reached with "./". */
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmpdir), 0);
    ck_assert_int_eq(postage_store_open("Rel:1", 0, &s, err, sizeof err), POSTAGE_OK);
    postage_store_close(s);
    ck_assert_int_eq(postage_store_open("./rel:1", 0, &s, err, sizeof err), POSTAGE_OK);
    postage_store_close(s);
    ck_assert_int_eq(access("rel:1/data.mdb", F_OK), 0);
    ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST


/* The on-disk layout is documented (bench/store_vs_hashcash.sh bulk-loads
 * it): database "spent", key SHA-256 of the stamp, big-endian expiry. */
START_TEST(test_on_disk_format)
{
    static uint8_t sha256_abc[32] = {   /* not const: MDB_val wants void * */
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde,
        0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
        0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
    };
    static const uint8_t be[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
    postage_store *s = open_ok(storedir, 0);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    uint64_t removed;

    ck_assert_int_eq(spend(s, "abc", INT64_C(0x0102030405060708)), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "neg", -2), POSTAGE_OK);
    postage_store_close(s);

    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
    ck_assert_int_eq(mdb_env_open(env, storedir, MDB_RDONLY, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "spent", 0, &dbi), 0);
    k.mv_size = sizeof sha256_abc;
    k.mv_data = sha256_abc;
    ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
    ck_assert_uint_eq(v.mv_size, 8);
    ck_assert(memcmp(v.mv_data, be, 8) == 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);

    /* Negative expiries decode as such: -2 + 0 <= -1 is purged. */
    s = open_ok(storedir, 0);
    ck_assert_int_eq(postage_store_purge(s, -1, 0, &removed), POSTAGE_OK);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(spend(s, "neg", 1), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "abc", 1), POSTAGE_ERR_SPENT);
    postage_store_close(s);
}
END_TEST

START_TEST(test_map_growth)
{
    postage_store *s;
    char buf[128], data[4300];
    struct stat st;
    unsigned i, n = 20000;

    /* A 64 KiB initial map holds a few hundred entries. */
    ck_assert_int_eq(setenv("POSTAGE_LMDB_MAPSIZE", "64k", 1), 0);
    s = open_ok(storedir, POSTAGE_STORE_NOSYNC);
    unsetenv("POSTAGE_LMDB_MAPSIZE");
    for (i = 0; i < n; i++) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_msg(spend(s, buf, 1) == POSTAGE_OK, "spend %u: %s", i,
                      postage_store_error(s));
    }
    snprintf(data, sizeof data, "%s/data.mdb", storedir);
    ck_assert_int_eq(stat(data, &st), 0);
    ck_assert_msg(st.st_size > 4 * 65536, "data.mdb is only %lld bytes", (long long) st.st_size);
    for (i = 0; i < n; i++) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_int_eq(spend(s, buf, 1), POSTAGE_ERR_SPENT);
    }
    ck_assert_uint_eq(count(s), n);
    postage_store_close(s);

    /* Reopened with a small map again: LMDB raises it to what is in use. */
    ck_assert_int_eq(setenv("POSTAGE_LMDB_MAPSIZE", "64k", 1), 0);
    s = open_ok(storedir, 0);
    unsetenv("POSTAGE_LMDB_MAPSIZE");
    ck_assert_uint_eq(count(s), n);
    for (i = 0; i < n; i += 97) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_int_eq(spend(s, buf, 1), POSTAGE_ERR_SPENT);
    }
    stamp_text(buf, sizeof buf, n);
    ck_assert_int_eq(spend(s, buf, 1), POSTAGE_OK);
    postage_store_close(s);
}
END_TEST

/* Worker w visits the shared stamps in its own order: stride coprime to
 * SHARED_STAMPS, starting at its own offset. */
static unsigned
spend_all(postage_store *s, unsigned w, unsigned *spent, unsigned *errors)
{
    static const unsigned strides[WORKERS] = { 1, 999, 7, 13 };
    char buf[128];
    unsigned j, ok = 0;

    *spent = 0;
    *errors = 0;
    for (j = 0; j < SHARED_STAMPS; j++) {
        unsigned i = (w * 250 + j * strides[w]) % SHARED_STAMPS;
        int rc;

        stamp_text(buf, sizeof buf, i);
        rc = spend(s, buf, 4102444800);
        if (rc == POSTAGE_OK)
            ok++;
        else if (rc == POSTAGE_ERR_SPENT)
            (*spent)++;
        else
            (*errors)++;
    }
    return ok;
}

START_TEST(test_processes_exactly_once)
{
    int fds[WORKERS][2];
    pid_t pids[WORKERS];
    unsigned w, total_ok = 0, total_spent = 0;
    postage_store *s;

    for (w = 0; w < WORKERS; w++) {
        ck_assert_int_eq(pipe(fds[w]), 0);
        pids[w] = fork();
        ck_assert_int_ne(pids[w], -1);
        if (pids[w] == 0) {
            unsigned r[3] = { 0, 0, 1 };
            postage_store *cs = NULL;
            char err[POSTAGE_STORE_ERRLEN];

            close(fds[w][0]);
            if (postage_store_open(storedir, 0, &cs, err, sizeof err) == POSTAGE_OK) {
                r[0] = spend_all(cs, w, &r[1], &r[2]);
                postage_store_close(cs);
            }
            if (write(fds[w][1], r, sizeof r) != (ssize_t) sizeof r)
                _exit(2);
            _exit(0);
        }
        close(fds[w][1]);
    }
    for (w = 0; w < WORKERS; w++) {
        unsigned r[3];
        int status;

        ck_assert_int_eq(read(fds[w][0], r, sizeof r), (ssize_t) sizeof r);
        close(fds[w][0]);
        ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_msg(r[2] == 0, "worker %u had %u errors", w, r[2]);
        total_ok += r[0];
        total_spent += r[1];
    }
    ck_assert_uint_eq(total_ok, SHARED_STAMPS);
    ck_assert_uint_eq(total_spent, (WORKERS - 1) * SHARED_STAMPS);
    s = open_ok(storedir, POSTAGE_STORE_NOCREATE);
    ck_assert_uint_eq(count(s), SHARED_STAMPS);
    postage_store_close(s);
}
END_TEST

struct worker {
    postage_store *s;
    unsigned w, ok, spent, errors;
};

static void *
thread_main(void *arg)
{
    struct worker *wk = arg;

    wk->ok = spend_all(wk->s, wk->w, &wk->spent, &wk->errors);
    return NULL;
}

START_TEST(test_threads_exactly_once)
{
    struct worker wk[WORKERS];
    pthread_t th[WORKERS];
    unsigned w, total_ok = 0, total_spent = 0;
    postage_store *s = open_ok(storedir, POSTAGE_STORE_NOSYNC);

    for (w = 0; w < WORKERS; w++) {
        wk[w].s = s;
        wk[w].w = w;
        ck_assert_int_eq(pthread_create(&th[w], NULL, thread_main, &wk[w]), 0);
    }
    for (w = 0; w < WORKERS; w++) {
        ck_assert_int_eq(pthread_join(th[w], NULL), 0);
        ck_assert_msg(wk[w].errors == 0, "thread %u had %u errors", w, wk[w].errors);
        total_ok += wk[w].ok;
        total_spent += wk[w].spent;
    }
    ck_assert_uint_eq(total_ok, SHARED_STAMPS);
    ck_assert_uint_eq(total_spent, (WORKERS - 1) * SHARED_STAMPS);
    ck_assert_uint_eq(count(s), SHARED_STAMPS);
    postage_store_close(s);
}
END_TEST

/* Threads racing through map growth: the resize must never happen while
 * another thread of the process is inside a transaction. */
START_TEST(test_threads_growth)
{
    struct worker wk[WORKERS];
    pthread_t th[WORKERS];
    unsigned w, total_ok = 0;
    postage_store *s;

    ck_assert_int_eq(setenv("POSTAGE_LMDB_MAPSIZE", "64k", 1), 0);
    s = open_ok(storedir, POSTAGE_STORE_NOSYNC);
    unsetenv("POSTAGE_LMDB_MAPSIZE");
    for (w = 0; w < WORKERS; w++) {
        wk[w].s = s;
        wk[w].w = w;
        ck_assert_int_eq(pthread_create(&th[w], NULL, thread_main, &wk[w]), 0);
    }
    for (w = 0; w < WORKERS; w++) {
        ck_assert_int_eq(pthread_join(th[w], NULL), 0);
        ck_assert_msg(wk[w].errors == 0, "thread %u: %s", w, postage_store_error(s));
        total_ok += wk[w].ok;
    }
    ck_assert_uint_eq(total_ok, SHARED_STAMPS);
    postage_store_close(s);
}
END_TEST

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *basic = tcase_create("basic");
    TCase *heavy = tcase_create("heavy");

    tcase_add_checked_fixture(basic, setup, teardown);
    tcase_add_test(basic, test_fresh_then_spent);
    tcase_add_test(basic, test_is_spent_looks_only);
    tcase_add_test(basic, test_independent);
    tcase_add_test(basic, test_exact_bytes);
    tcase_add_test(basic, test_reopen_keeps);
    tcase_add_test(basic, test_purge_boundary);
    tcase_add_test(basic, test_nocreate_missing);
    tcase_add_test(basic, test_create_errors);
    tcase_add_test(basic, test_invalid_args);
    tcase_add_test(basic, test_spec_scheme);
    tcase_add_test(basic, test_on_disk_format);
    tcase_set_timeout(basic, 60);
    suite_add_tcase(s, basic);

    /* Generous timeouts: the machine is shared and fsync can be slow. */
    tcase_add_checked_fixture(heavy, setup, teardown);
    tcase_add_test(heavy, test_purge_batches);
    tcase_add_test(heavy, test_map_growth);
    tcase_add_test(heavy, test_processes_exactly_once);
    tcase_add_test(heavy, test_threads_exactly_once);
    tcase_add_test(heavy, test_threads_growth);
    tcase_set_timeout(heavy, 600);
    suite_add_tcase(s, heavy);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
