/*
 * check_store.c - unit tests for the double-spend store (postage/store.h,
 * verify/store.c, verify/store_lmdb.c, verify/store_redis.c) and the Redis
 * specification parser (kv/redis_conn.c).
 *
 * One conformance suite, two backends: the tests that say what any store
 * must do (fresh then spent, independent stamps, exact bytes, is_spent,
 * counting, expiry, invalid arguments, and above all: whatever the
 * interleaving, each stamp is accepted exactly once, by threads sharing a
 * handle and by processes sharing a store) open the store named by
 * `spec`.  They run against LMDB always, and against Redis when
 * $POSTAGE_TEST_REDIS holds a specification (tests/system/store_redis.sh starts a
 * private server and sets it, e.g. redis://127.0.0.1:PORT/0?prefix=t1:).
 * Each Redis test gets its own key prefix (the given one, or "check:",
 * followed by "ckPID.N:"), so counts start at zero, and deletes its keys
 * afterwards.  Tests of LMDB's files (on-disk format, map growth,
 * directories, purge batches) stay LMDB-only; tests of Redis's key
 * layout, glob-safe counting and server errors are Redis-only.  The
 * parser and the unreachable-server tests need no server and always run.
 *
 * Every test works in its own mkdtemp() directory under $TMPDIR (or /tmp)
 * and removes it.  No test looks at the clock: "the past" is 1970, "the
 * future" is 2100 (FUTURE).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <time.h>

#include "postage/stamp.h"
#include "postage/status.h"
#include "postage/store.h"
#include "kv/lmdb_env.h"
#include "kv/redis_conn.h"
#include "tests/unit/check_main.h"

/* Concurrency tests: workers, and stamps each of them tries to spend. */
#define WORKERS 4
#define SHARED_STAMPS 1000
/* 2100-01-01: an expiry no test outlives. */
#define FUTURE INT64_C(4102444800)

static char tmpdir[4096];
static char storedir[4200];
/* The store under test: storedir, or a Redis specification. */
static char spec[REDIS_SPEC_MAX + 4200];
static const char *redis_base;         /* $POSTAGE_TEST_REDIS or NULL */
static unsigned redis_serial;

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
    snprintf(spec, sizeof spec, "%s", storedir);
}

static void
teardown(void)
{
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

/* ---- Redis fixtures ------------------------------------------------------ */

/* Escape glob characters for SCAN MATCH. */
static void
glob_escape(const char *in, char *out, size_t size)
{
    size_t o = 0;

    for (; *in != '\0' && o + 3 < size; in++) {
        if (strchr("*?[]\\", *in) != NULL)
            out[o++] = '\\';
        out[o++] = *in;
    }
    out[o] = '\0';
}

/* Delete every key under the prefix of sp (a test's own keys). */
static void
redis_cleanup(const char *sp)
{
    char err[REDIS_CONN_ERRLEN], pattern[2 * REDIS_PREFIX_MAX + 2], cursor[32] = "0";
    struct redis_conn *c = redis_conn_open(sp, 1, err, sizeof err);

    if (c == NULL)
        return;
    glob_escape(redis_conn_prefix(c), pattern, sizeof pattern - 1);
    strcat(pattern, "*");
    do {
        redisReply *r = redis_conn_command(c, err, sizeof err, "SCAN %s MATCH %s COUNT 1000",
                                           cursor, pattern);
        size_t i;

        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r != NULL)
                freeReplyObject(r);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (i = 0; i < r->element[1]->elements; i++) {
            redisReply *k = r->element[1]->element[i];
            redisReply *d = redis_conn_command(c, err, sizeof err, "DEL %b", k->str, k->len);
            if (d != NULL)
                freeReplyObject(d);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redis_conn_close(c);
}

/*
 * A specification for the current test: $POSTAGE_TEST_REDIS with its
 * prefix (default "check:") extended by "ckPID.N" (N counts the tests of
 * this process, so each starts with an empty store of its own), then
 * suffix and ':'.  extra ("" or "grace=60") is added to the query.
 */
static char redis_test_id[64];

static void
redis_spec_for_test(char *out, size_t size, const char *extra, const char *suffix)
{
    const char *q = strchr(redis_base, '?');
    char prefix[600] = "check:", rest[REDIS_SPEC_MAX] = "";
    size_t restlen = 0;

    if (q != NULL) {
        const char *item = q + 1;
        while (*item != '\0') {
            size_t n = strcspn(item, "&");
            if (strncmp(item, "prefix=", 7) == 0)
                snprintf(prefix, sizeof prefix, "%.*s", (int) (n - 7), item + 7);
            else
                restlen += (size_t) snprintf(rest + restlen, sizeof rest - restlen, "%.*s&",
                                             (int) n, item);
            item += n;
            if (*item == '&')
                item++;
        }
    }
    snprintf(out, size, "%.*s?%s%s%sprefix=%s%s%s:",
             (int) (q != NULL ? (size_t) (q - redis_base) : strlen(redis_base)),
             redis_base, rest, extra, extra[0] ? "&" : "", prefix, redis_test_id, suffix);
}

static void
setup_redis(void)
{
    setup();
    snprintf(redis_test_id, sizeof redis_test_id, "ck%ld.%u", (long) getpid(), ++redis_serial);
    redis_spec_for_test(spec, sizeof spec, "", "");
}

static void
teardown_redis(void)
{
    redis_cleanup(spec);
    teardown();
}

/* ---- helpers ------------------------------------------------------------- */

static postage_store *
open_ok(const char *which, unsigned flags)
{
    postage_store *s = NULL;
    char err[POSTAGE_STORE_ERRLEN];
    int rc = postage_store_open(which, flags, &s, err, sizeof err);

    ck_assert_msg(rc == POSTAGE_OK, "open %s: %d %s", which, rc, err);
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
    postage_store *s = open_ok(spec, 0);
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
    postage_store *s = open_ok(spec, 0);
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
    postage_store *s = open_ok(spec, 0);

    ck_assert_int_eq(spend(s, "1:20:261127:a@example.org::AAAA:1", FUTURE), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "1:20:261127:a@example.org::AAAA:2", FUTURE), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "1:20:261127:b@example.org::AAAA:1", FUTURE), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "1:20:261127:a@example.org::AAAA:1", FUTURE), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(spend(s, "1:20:261127:a@example.org::AAAA:2", FUTURE), POSTAGE_ERR_SPENT);
    ck_assert_uint_eq(count(s), 3);
    postage_store_close(s);
}
END_TEST

START_TEST(test_exact_bytes)
{
    postage_store *s = open_ok(spec, 0);
    const char *st = "1:20:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw";
    char buf[128];

    ck_assert_int_eq(spend(s, st, FUTURE), POSTAGE_OK);
    /* Case in the resource: a different stamp (it also hashes differently). */
    ck_assert_int_eq(spend(s, "1:20:261127:FOO@example.org::gVZBMGPUSjjYbhLq:0000Gw", FUTURE),
                     POSTAGE_OK);
    /* A trailing space or a prefix is not trimmed away. */
    snprintf(buf, sizeof buf, "%s ", st);
    ck_assert_int_eq(spend(s, buf, FUTURE), POSTAGE_OK);
    ck_assert_int_eq(postage_store_spend(s, st, strlen(st) - 1, FUTURE), POSTAGE_OK);
    /* len, not NUL, ends the stamp: embedded bytes after it are ignored. */
    snprintf(buf, sizeof buf, "%sXYZ", st);
    ck_assert_int_eq(postage_store_spend(s, buf, strlen(st), FUTURE), POSTAGE_ERR_SPENT);
    ck_assert_uint_eq(count(s), 4);
    postage_store_close(s);
}
END_TEST

START_TEST(test_reopen_keeps)
{
    postage_store *s = open_ok(spec, 0);
    char buf[128];
    unsigned i;

    for (i = 0; i < 50; i++) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_int_eq(spend(s, buf, FUTURE + i), POSTAGE_OK);
    }
    postage_store_close(s);

    /* LAZY means nothing to LMDB, NOCREATE nothing to Redis: both accept both. */
    s = open_ok(spec, POSTAGE_STORE_NOCREATE | POSTAGE_STORE_LAZY);
    ck_assert_uint_eq(count(s), 50);
    for (i = 0; i < 50; i++) {
        stamp_text(buf, sizeof buf, i);
        ck_assert_int_eq(spend(s, buf, FUTURE + i), POSTAGE_ERR_SPENT);
    }
    stamp_text(buf, sizeof buf, 50);
    ck_assert_int_eq(spend(s, buf, FUTURE), POSTAGE_OK);
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

/* A lost, emptied, truncated or replaced store is refused even with
 * creation allowed (flags 0): the marker tells it from a new one. */
static int notified;
static char notified_why[POSTAGE_STORE_ERRLEN];

static void
note_outage(void *ctx, int up, const char *why)
{
    (void) ctx;
    if (!up) {
        notified++;
        snprintf(notified_why, sizeof notified_why, "%s", why);
    }
}

static void
refused_naming(const char *what, const char *file, const char *pattern)
{
    postage_store *s = (postage_store *) 1;
    char err[POSTAGE_STORE_ERRLEN];

    ck_assert_msg(postage_store_open(storedir, 0, &s, err, sizeof err) == POSTAGE_ERR_STORE,
                  "%s: opened", what);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, file) != NULL && strstr(err, pattern) != NULL,
                  "%s: %s", what, err);
}

static void
refused(const char *what, const char *pattern)
{
    refused_naming(what, "data.mdb", pattern);
}

/* A down handle (postaged's, for a store it could not open) fails every
 * call with the reason it was given and touches no file. */
START_TEST(test_open_down)
{
    postage_store *s = NULL;
    uint64_t n = 7;
    const char *why = "/x/data.mdb is missing: the store is lost";

    ck_assert_int_eq(postage_store_open_down(why, NULL), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_open_down(why, &s), POSTAGE_OK);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(postage_store_error(s), why);
    ck_assert_int_eq(postage_store_spend(s, "1:0:a", 5, FUTURE), POSTAGE_ERR_STORE);
    ck_assert_str_eq(postage_store_error(s), why);
    ck_assert_int_eq(postage_store_is_spent(s, "1:0:a", 5), POSTAGE_ERR_STORE);
    {
        /* No lookup_many here: the one-by-one fallback answers nothing. */
        struct postage_store_lookup_item it[2] = { { "1:0:a", 5, 77 }, { "1:0:b", 5, 77 } };
        ck_assert_int_eq(postage_store_is_spent_many(s, it, 2), POSTAGE_ERR_STORE);
        ck_assert_int_eq(it[0].result, POSTAGE_ERR_STORE);
        ck_assert_int_eq(it[1].result, POSTAGE_ERR_STORE);
        ck_assert_str_eq(postage_store_error(s), why);
    }
    ck_assert_int_eq(postage_store_purge(s, 0, 0, &n), POSTAGE_ERR_STORE);
    ck_assert_uint_eq(n, 0);
    n = 7;
    ck_assert_int_eq(postage_store_count(s, &n), POSTAGE_ERR_STORE);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(postage_store_set_notify(s, NULL, NULL), POSTAGE_OK);
    ck_assert_str_eq(postage_store_error(s), why);
    /* Arguments are still checked first. */
    ck_assert_int_eq(postage_store_spend(s, NULL, 5, FUTURE), POSTAGE_ERR_INVALID);
    postage_store_close(s);

    ck_assert_int_eq(postage_store_open_down(NULL, &s), POSTAGE_OK);
    ck_assert_int_eq(postage_store_spend(s, "1:0:a", 5, FUTURE), POSTAGE_ERR_STORE);
    ck_assert_str_ne(postage_store_error(s), "");
    postage_store_close(s);
}
END_TEST

START_TEST(test_lost_store)
{
    char data[4300], marker[4300], saved[4300], cmd[13000];
    postage_store *s = open_ok(storedir, 0);
    FILE *f;

    snprintf(data, sizeof data, "%s/data.mdb", storedir);
    snprintf(marker, sizeof marker, "%s/postage-store-id", storedir);
    snprintf(saved, sizeof saved, "%s.saved", storedir);
    ck_assert_int_eq(spend(s, "abc", FUTURE), POSTAGE_OK);
    postage_store_close(s);
    ck_assert_int_eq(access(marker, R_OK), 0);
    snprintf(cmd, sizeof cmd, "cp -R '%s' '%s'", storedir, saved);
    ck_assert_int_eq(system(cmd), 0);

    ck_assert_int_eq(truncate(data, 8192), 0);
    refused("truncated", "truncated");
    ck_assert_int_eq(truncate(data, 0), 0);
    refused("emptied", "is empty");
    ck_assert_int_eq(unlink(data), 0);
    refused("removed", "is missing");

    /* Another store's data.mdb. */
    f = fopen(marker, "w");
    ck_assert_ptr_nonnull(f);
    fputs("00112233445566778899aabbccddeeff\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cp '%s/data.mdb' '%s'", saved, data);
    ck_assert_int_eq(system(cmd), 0);
    refused("replaced", "was replaced");
    f = fopen(marker, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not an id\n", f);
    fclose(f);
    refused_naming("bad marker", "postage-store-id", "is damaged");

    /* The marker removed: the whole store names itself again. */
    ck_assert_int_eq(unlink(marker), 0);
    s = open_ok(storedir, POSTAGE_STORE_NOCREATE);
    ck_assert_int_eq(spend(s, "abc", FUTURE), POSTAGE_ERR_SPENT);

    /* Removed while open: refused from then on, told once. */
    notified = 0;
    postage_store_set_notify(s, note_outage, NULL);
    ck_assert_int_eq(notified, 0);
    snprintf(cmd, sizeof cmd, "%s.gone", data);
    ck_assert_int_eq(rename(data, cmd), 0);
    ck_assert_int_eq(spend(s, "def", FUTURE), POSTAGE_ERR_STORE);
    ck_assert_int_eq(postage_store_is_spent(s, "abc", 3), POSTAGE_ERR_STORE);
    ck_assert_int_eq(notified, 1);
    ck_assert_msg(strstr(notified_why, "removed") != NULL, "%s", notified_why);
    ck_assert_msg(strstr(postage_store_error(s), "data.mdb") != NULL, "%s",
                  postage_store_error(s));
    postage_store_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", saved);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Damaged while open, seen by a read (postage_store_is_spent) as by a
 * write: each transaction's check (kv/lmdb_guard.c) measures data.mdb
 * through its name, and must refuse a file cut below its last page or its
 * meta pages, or another file put at its name, before LMDB reads a page
 * of it (a page past the end would raise SIGBUS). */
static void
damaged_in_use(const char *what, const char *how, const char *pattern)
{
    char data[4300], cmd[4 * 4300 + 64];
    postage_store *s;

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", storedir);
    ck_assert_int_eq(system(cmd), 0);
    s = open_ok(storedir, 0);
    snprintf(data, sizeof data, "%s/data.mdb", storedir);
    for (unsigned i = 0; i < 200; i++) {
        char stamp[128];
        stamp_text(stamp, sizeof stamp, i);
        ck_assert_int_eq(spend(s, stamp, FUTURE), POSTAGE_OK);
    }
    ck_assert_int_eq(postage_store_is_spent(s, "abc", 3), POSTAGE_OK);
    if (strcmp(how, "replace") == 0) {
        snprintf(cmd, sizeof cmd, "cp '%s' '%s.new' && mv '%s.new' '%s'", data, data, data,
                 data);
        ck_assert_int_eq(system(cmd), 0);
    } else {
        ck_assert_int_eq(truncate(data, strcmp(how, "empty") == 0 ? 0 : 8192), 0);
    }
    notified = 0;
    postage_store_set_notify(s, note_outage, NULL);
    ck_assert_int_eq(postage_store_is_spent(s, "abc", 3), POSTAGE_ERR_STORE);
    ck_assert_msg(strstr(postage_store_error(s), pattern) != NULL, "%s: %s", what,
                  postage_store_error(s));
    ck_assert_int_eq(spend(s, "def", FUTURE), POSTAGE_ERR_STORE);
    {
        /* The batched read refuses the damaged store as the single one does. */
        struct postage_store_lookup_item it[2] = { { "abc", 3, 77 }, { "def", 3, 77 } };
        ck_assert_int_eq(postage_store_is_spent_many(s, it, 2), POSTAGE_ERR_STORE);
        ck_assert_int_eq(it[0].result, POSTAGE_ERR_STORE);
        ck_assert_int_eq(it[1].result, POSTAGE_ERR_STORE);
        ck_assert_msg(strstr(postage_store_error(s), pattern) != NULL, "%s: %s", what,
                      postage_store_error(s));
    }
    ck_assert_int_eq(notified, 1);
    ck_assert_msg(strstr(notified_why, pattern) != NULL, "%s: %s", what, notified_why);
    postage_store_close(s);
}

START_TEST(test_damaged_in_use)
{
    damaged_in_use("cut to its meta pages", "cut", "truncated");
    damaged_in_use("emptied", "empty", "truncated");
    damaged_in_use("replaced", "replace", "was replaced");
}
END_TEST

/* A store opened by a relative path keeps working after a chdir(): its
 * per-transaction checks look data.mdb up through the directory. */
START_TEST(test_relative_chdir)
{
    postage_store *s;
    char cwd[4300];

    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmpdir), 0);
    s = open_ok("lmdb:rel", 0);
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert_int_eq(spend(s, "abc", FUTURE), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "abc", FUTURE), POSTAGE_ERR_SPENT);
    postage_store_close(s);
    ck_assert_int_eq(chdir(cwd), 0);
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
    ck_assert_int_eq(postage_store_open(spec, 0, NULL, err, sizeof err), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_open(spec, 1u << 7, &s, err, sizeof err),
                     POSTAGE_ERR_INVALID);
    ck_assert_msg(strstr(err, "flags") != NULL, "%s", err);
    /* err may be NULL. */
    ck_assert_int_eq(postage_store_open("", 0, &s, NULL, 0), POSTAGE_ERR_INVALID);

    ck_assert_int_eq(postage_store_spend(NULL, "x", 1, 0), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_purge(NULL, 0, 0, NULL), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_count(NULL, &n), POSTAGE_ERR_INVALID);
    ck_assert_ptr_nonnull(postage_store_error(NULL));
    postage_store_close(NULL);

    s = open_ok(spec, 0);
    ck_assert_int_eq(postage_store_spend(s, NULL, 1, 0), POSTAGE_ERR_INVALID);
    ck_assert_str_ne(postage_store_error(s), "");
    ck_assert_int_eq(postage_store_spend(s, "x", 0, 0), POSTAGE_ERR_INVALID);
    memset(big, 'a', sizeof big);
    ck_assert_int_eq(postage_store_spend(s, big, sizeof big, 0), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_spend(s, big, POSTAGE_STAMP_MAX, FUTURE), POSTAGE_OK);
    ck_assert_int_eq(postage_store_purge(s, 0, -1, NULL), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_count(s, NULL), POSTAGE_ERR_INVALID);
    ck_assert_uint_eq(count(s), 1);
    postage_store_close(s);
}
END_TEST

START_TEST(test_spec_scheme)
{
    postage_store *s = NULL;
    char err[POSTAGE_STORE_ERRLEN], path[4400];
    char cwd[4096];

    ck_assert_int_eq(postage_store_open("foo:bar", 0, &s, err, sizeof err), POSTAGE_ERR_INVALID);
    ck_assert_msg(strstr(err, "\"foo:\"") != NULL && strstr(err, "lmdb") != NULL, "%s", err);
    ck_assert_int_eq(postage_store_open("redis+tls:x", 0, &s, err, sizeof err),
                     POSTAGE_ERR_INVALID);
    ck_assert_msg(strstr(err, "redis+tls") != NULL, "%s", err);
    ck_assert_int_eq(postage_store_open("lmdb:", 0, &s, err, sizeof err), POSTAGE_ERR_INVALID);

    /* Explicit scheme; a ':' later in a path is part of the path. */
    snprintf(path, sizeof path, "lmdb:%s/x:y", tmpdir);
    s = open_ok(path, 0);
    ck_assert_int_eq(spend(s, "s1", 1), POSTAGE_OK);
    postage_store_close(s);
    snprintf(path, sizeof path, "%s/x:y", tmpdir);   /* same store, bare */
    s = open_ok(path, POSTAGE_STORE_NOCREATE);
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
            if (postage_store_open(spec, 0, &cs, err, sizeof err) == POSTAGE_OK) {
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
    s = open_ok(spec, POSTAGE_STORE_NOCREATE);
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
    postage_store *s = open_ok(spec, POSTAGE_STORE_NOSYNC);

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

/* ---- conformance: several stamps in one call, and group commit ---------- */

/* spend_many answers each stamp as spends in order would: a stamp already
 * spent, and the second copy of a stamp given twice, are "spent"; the
 * others are spent; a bad stamp spends nothing. */
START_TEST(test_spend_many)
{
    postage_store *s = open_ok(spec, 0);
    char a[128], b[128], c[128];
    struct postage_store_spend_item it[4];

    stamp_text(a, sizeof a, 1);
    stamp_text(b, sizeof b, 2);
    stamp_text(c, sizeof c, 3);
    ck_assert_int_eq(spend(s, b, FUTURE), POSTAGE_OK);
    it[0] = (struct postage_store_spend_item) { a, strlen(a), FUTURE, 77 };
    it[1] = (struct postage_store_spend_item) { b, strlen(b), FUTURE, 77 };
    it[2] = (struct postage_store_spend_item) { c, strlen(c), FUTURE, 77 };
    it[3] = (struct postage_store_spend_item) { a, strlen(a), FUTURE, 77 };
    ck_assert_int_eq(postage_store_spend_many(s, it, 4), POSTAGE_OK);
    ck_assert_int_eq(it[0].result, POSTAGE_OK);
    ck_assert_int_eq(it[1].result, POSTAGE_ERR_SPENT);
    ck_assert_int_eq(it[2].result, POSTAGE_OK);
    ck_assert_int_eq(it[3].result, POSTAGE_ERR_SPENT);
    ck_assert_int_eq(postage_store_is_spent(s, c, strlen(c)), POSTAGE_ERR_SPENT);
    ck_assert_uint_eq(count(s), 3);
    ck_assert_int_eq(postage_store_spend_many(s, it, 3), POSTAGE_OK);
    ck_assert_int_eq(it[0].result + it[1].result + it[2].result, 3 * POSTAGE_ERR_SPENT);

    /* One bad stamp: nothing is spent, and it is the one blamed. */
    stamp_text(a, sizeof a, 4);
    it[0] = (struct postage_store_spend_item) { a, strlen(a), FUTURE, 77 };
    it[1] = (struct postage_store_spend_item) { b, 0, FUTURE, 77 };
    ck_assert_int_eq(postage_store_spend_many(s, it, 2), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(it[0].result, POSTAGE_ERR_STORE);
    ck_assert_int_eq(it[1].result, POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_is_spent(s, a, strlen(a)), POSTAGE_OK);
    it[1] = (struct postage_store_spend_item) { NULL, 1, FUTURE, 77 };
    ck_assert_int_eq(postage_store_spend_many(s, it, 2), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_spend_many(s, it, 0), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_spend_many(s, it, POSTAGE_STORE_SPEND_MANY_MAX + 1),
                     POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_spend_many(s, NULL, 1), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_spend_many(NULL, it, 1), POSTAGE_ERR_INVALID);
    ck_assert_uint_eq(count(s), 3);
    postage_store_close(s);
}
END_TEST

/* is_spent_many answers each stamp as is_spent would, and records
 * nothing: on a mix of spent, unspent and repeated stamps (a repeat gets
 * the same answer both times, unlike spend_many); a bad stamp looks up
 * nothing and is the one blamed. */
START_TEST(test_is_spent_many)
{
    postage_store *s = open_ok(spec, 0);
    char t[6][128];
    struct postage_store_lookup_item it[8];
    size_t i, n = 0;

    for (i = 0; i < 6; i++)
        stamp_text(t[i], sizeof t[i], (unsigned) (50 + i));
    ck_assert_int_eq(spend(s, t[1], FUTURE), POSTAGE_OK);
    ck_assert_int_eq(spend(s, t[4], FUTURE), POSTAGE_OK);
    /* unspent, spent, unspent, spent repeated, unspent repeated, ... */
    const int pick[8] = { 0, 1, 2, 1, 3, 3, 4, 5 };
    for (n = 0; n < 8; n++)
        it[n] = (struct postage_store_lookup_item) { t[pick[n]], strlen(t[pick[n]]), 77 };
    ck_assert_int_eq(postage_store_is_spent_many(s, it, n), POSTAGE_OK);
    for (i = 0; i < n; i++) {
        int one = postage_store_is_spent(s, it[i].stamp, it[i].len);
        ck_assert_int_eq(it[i].result, one);
        ck_assert_int_eq(it[i].result, pick[i] == 1 || pick[i] == 4 ? POSTAGE_ERR_SPENT
                                                                    : POSTAGE_OK);
    }
    ck_assert_uint_eq(count(s), 2);          /* looking recorded nothing */
    /* One stamp alone, and exact bytes: a prefix of a spent stamp is
     * another stamp. */
    it[0] = (struct postage_store_lookup_item) { t[1], strlen(t[1]), 77 };
    it[1] = (struct postage_store_lookup_item) { t[1], strlen(t[1]) - 1, 77 };
    ck_assert_int_eq(postage_store_is_spent_many(s, it, 1), POSTAGE_OK);
    ck_assert_int_eq(it[0].result, POSTAGE_ERR_SPENT);
    ck_assert_int_eq(postage_store_is_spent_many(s, it, 2), POSTAGE_OK);
    ck_assert_int_eq(it[0].result, POSTAGE_ERR_SPENT);
    ck_assert_int_eq(it[1].result, POSTAGE_OK);
    /* After a spend the answers follow. */
    ck_assert_int_eq(spend(s, t[0], FUTURE), POSTAGE_OK);
    it[1] = (struct postage_store_lookup_item) { t[0], strlen(t[0]), 77 };
    ck_assert_int_eq(postage_store_is_spent_many(s, it, 2), POSTAGE_OK);
    ck_assert_int_eq(it[1].result, POSTAGE_ERR_SPENT);

    /* One bad stamp: it is the one blamed, the others unanswered. */
    it[0] = (struct postage_store_lookup_item) { t[1], strlen(t[1]), 77 };
    it[1] = (struct postage_store_lookup_item) { t[2], 0, 77 };
    ck_assert_int_eq(postage_store_is_spent_many(s, it, 2), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(it[0].result, POSTAGE_ERR_STORE);
    ck_assert_int_eq(it[1].result, POSTAGE_ERR_INVALID);
    it[1] = (struct postage_store_lookup_item) { NULL, 1, 77 };
    ck_assert_int_eq(postage_store_is_spent_many(s, it, 2), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(it[1].result, POSTAGE_ERR_INVALID);
    it[1] = (struct postage_store_lookup_item) { t[2], POSTAGE_STAMP_MAX + 1, 77 };
    ck_assert_int_eq(postage_store_is_spent_many(s, it, 2), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_is_spent_many(s, it, 0), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_is_spent_many(s, it, POSTAGE_STORE_SPEND_MANY_MAX + 1),
                     POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_is_spent_many(s, NULL, 1), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_store_is_spent_many(NULL, it, 1), POSTAGE_ERR_INVALID);
    ck_assert_uint_eq(count(s), 3);
    postage_store_close(s);
}
END_TEST

/* Group commit: more spenders than cores, spending overlapping stamps
 * with the default sync (so commits take long enough for batches to
 * form), each in its own order, alternating single spends and
 * spend_many calls of 1 to 5 stamps that repeat a stamp now and then.
 * Each stamp must be answered "fresh" exactly once over all threads -
 * counted per stamp, not only in total - and "spent" every other time. */
#define GROUP_THREADS 8
#define GROUP_STAMPS 300

struct group_worker {
    postage_store *s;
    unsigned w, errors, spent;
    unsigned char fresh[GROUP_STAMPS];  /* fresh answers per stamp */
};

/* Thread w's order over the stamps: stride 7 (coprime to GROUP_STAMPS)
 * from its own offset. */
static unsigned
group_stamp(unsigned w, unsigned j)
{
    return (w * 37 + j * 7) % GROUP_STAMPS;
}

static void *
group_main(void *arg)
{
    struct group_worker *g = arg;
    char text[6][128];
    struct postage_store_spend_item it[6];
    unsigned idx[6];
    unsigned j = 0, step = 0, k, n, take;
    int rc;

    while (j < GROUP_STAMPS) {
        n = step++ % 6;                 /* 0: one postage_store_spend */
        take = n == 0 ? 1 : n;
        if (take > GROUP_STAMPS - j)
            take = GROUP_STAMPS - j;
        for (k = 0; k < take; k++) {
            idx[k] = group_stamp(g->w, j + k);
            stamp_text(text[k], sizeof text[k], idx[k] + 5000);
            it[k] = (struct postage_store_spend_item) { text[k], strlen(text[k]), FUTURE, 77 };
        }
        j += take;
        if (n == 0) {
            rc = spend(g->s, text[0], FUTURE);
            if (rc == POSTAGE_OK)
                g->fresh[idx[0]]++;
            else if (rc == POSTAGE_ERR_SPENT)
                g->spent++;
            else
                g->errors++;
            continue;
        }
        if (step % 3 == 0) {            /* the first stamp once more */
            it[take] = it[0];
            idx[take] = idx[0];
            take++;
        }
        if (postage_store_spend_many(g->s, it, take) != POSTAGE_OK) {
            g->errors++;
            continue;
        }
        for (k = 0; k < take; k++) {
            if (it[k].result == POSTAGE_OK)
                g->fresh[idx[k]]++;
            else if (it[k].result == POSTAGE_ERR_SPENT)
                g->spent++;
            else
                g->errors++;
        }
    }
    return NULL;
}

START_TEST(test_group_exactly_once)
{
    static struct group_worker g[GROUP_THREADS];
    pthread_t th[GROUP_THREADS];
    unsigned w, i, spent = 0, repeats;
    postage_store *s = open_ok(spec, 0);

    for (w = 0; w < GROUP_THREADS; w++) {
        memset(&g[w], 0, sizeof g[w]);
        g[w].s = s;
        g[w].w = w;
        ck_assert_int_eq(pthread_create(&th[w], NULL, group_main, &g[w]), 0);
    }
    for (w = 0; w < GROUP_THREADS; w++) {
        ck_assert_int_eq(pthread_join(th[w], NULL), 0);
        ck_assert_msg(g[w].errors == 0, "thread %u had %u errors: %s", w, g[w].errors,
                      postage_store_error(s));
        spent += g[w].spent;
    }
    for (i = 0; i < GROUP_STAMPS; i++) {
        unsigned fresh = 0;

        for (w = 0; w < GROUP_THREADS; w++)
            fresh += g[w].fresh[i];
        ck_assert_msg(fresh == 1, "stamp %u was answered fresh %u times", i, fresh);
    }
    /* Every other answer was "spent": GROUP_THREADS - 1 per stamp, plus
     * the repeats inside calls. */
    ck_assert_uint_ge(spent, (GROUP_THREADS - 1) * GROUP_STAMPS);
    repeats = spent - (GROUP_THREADS - 1) * GROUP_STAMPS;
    ck_assert_uint_gt(repeats, 0);
    ck_assert_uint_eq(count(s), GROUP_STAMPS);
    postage_store_close(s);
}
END_TEST

/* ---- group commit's batches (kv/lmdb_env.c) -------------------------------- */

/* A batch is made to order: the first writer's body holds its
 * transaction open until two more writers have queued, so they form the
 * next batch together.  Its second body fails with an LMDB error (a key
 * too long), or answers with its own code: the batch fails as a whole
 * (the first write of it is not committed, both callers get the error)
 * or goes on (the first write is committed, the second caller gets its
 * code). */
struct gb {
    struct kv_lmdb kv;
    MDB_dbi dbi;
    int second_fails;           /* 1: LMDB error; 0: the body's own code  */
};

struct gb_call {
    struct gb *g;
    const char *key;
    unsigned hold;              /* wait for this many queued writers    */
    int rc;
    char err[KV_LMDB_ERRLEN];
};

static int
gb_open_body(MDB_txn *txn, unsigned dbi_flags, void *arg)
{
    struct gb *g = arg;

    return mdb_dbi_open(txn, "t", dbi_flags, &g->dbi);
}

static unsigned
gb_queued(struct gb *g)
{
    unsigned n;

    pthread_mutex_lock(&g->kv.group_lock);
    n = g->kv.queued;
    pthread_mutex_unlock(&g->kv.group_lock);
    return n;
}

static int
gb_body(MDB_txn *txn, void *arg)
{
    struct gb_call *c = arg;
    char big[1024], key[16], value[] = "x";
    MDB_val k, v;

    if (c->hold) {
        struct timespec tick = { 0, 1000000 };

        while (gb_queued(c->g) < c->hold)   /* Check's timeout bounds this */
            nanosleep(&tick, NULL);
    }
    if (c->key == NULL) {               /* the second writer of the batch */
        if (!c->g->second_fails)
            return KV_LMDB_BODY_CODE(7);
        memset(big, 'k', sizeof big);   /* past LMDB's key size: MDB_BAD_VALSIZE */
        k.mv_size = sizeof big;
        k.mv_data = big;
    } else {
        snprintf(key, sizeof key, "%s", c->key);
        k.mv_size = strlen(key);
        k.mv_data = key;
    }
    v.mv_size = 1;
    v.mv_data = value;
    return mdb_put(txn, c->g->dbi, &k, &v, 0);
}

static void *
gb_thread(void *arg)
{
    struct gb_call *c = arg;

    c->rc = kv_lmdb_write_grouped(&c->g->kv, "testing", gb_body, c, c->err, sizeof c->err);
    return NULL;
}

static int
gb_has(struct gb *g, const char *key)
{
    MDB_txn *txn;
    MDB_val k, v;
    char err[KV_LMDB_ERRLEN], copy[16];
    int rc;

    snprintf(copy, sizeof copy, "%s", key);
    k.mv_size = strlen(copy);
    k.mv_data = copy;
    pthread_mutex_lock(&g->kv.lock);
    ck_assert_int_eq(kv_lmdb_begin_read(&g->kv, &txn, err, sizeof err), MDB_SUCCESS);
    rc = mdb_get(txn, g->dbi, &k, &v);
    mdb_txn_abort(txn);
    pthread_mutex_unlock(&g->kv.lock);
    ck_assert(rc == MDB_SUCCESS || rc == MDB_NOTFOUND);
    return rc == MDB_SUCCESS;
}

static void
group_batch(int second_fails)
{
    static struct gb g;
    struct gb_call lead = { &g, "lead", 2, -1, "" };
    struct gb_call first = { &g, "first", 0, -1, "" };
    struct gb_call second = { &g, NULL, 0, -1, "" };
    struct kv_lmdb_options o = { .maxdbs = 4, .may_create = 1, .owner = "store",
                                 .owner_name = "test", .flock_writers = 1 };
    char err[KV_LMDB_ERRLEN];
    pthread_t tl, t1, t2;

    memset(&g, 0, sizeof g);
    g.second_fails = second_fails;
    ck_assert_int_eq(mkdir(storedir, 0700), 0);
    ck_assert_msg(kv_lmdb_open(&g.kv, storedir, &o, "opening", gb_open_body, &g, err,
                               sizeof err) == 0, "%s", err);
    ck_assert_int_eq(pthread_create(&tl, NULL, gb_thread, &lead), 0);
    /* The leader is inside its transaction once the queue is empty and a
     * batch is being written. */
    for (;;) {
        struct timespec tick = { 0, 1000000 };
        int leading;

        pthread_mutex_lock(&g.kv.group_lock);
        leading = g.kv.leading && g.kv.queue == NULL;
        pthread_mutex_unlock(&g.kv.group_lock);
        if (leading)
            break;
        nanosleep(&tick, NULL);
    }
    ck_assert_int_eq(pthread_create(&t1, NULL, gb_thread, &first), 0);
    while (gb_queued(&g) < 1) {
        struct timespec tick = { 0, 1000000 };
        nanosleep(&tick, NULL);
    }
    ck_assert_int_eq(pthread_create(&t2, NULL, gb_thread, &second), 0);
    ck_assert_int_eq(pthread_join(tl, NULL), 0);
    ck_assert_int_eq(pthread_join(t1, NULL), 0);
    ck_assert_int_eq(pthread_join(t2, NULL), 0);

    ck_assert_msg(lead.rc == MDB_SUCCESS, "%d %s", lead.rc, lead.err);
    ck_assert(gb_has(&g, "lead"));
    if (second_fails) {
        /* The whole batch failed: nothing of it written, both told. */
        ck_assert_int_eq(first.rc, KV_LMDB_FAILED);
        ck_assert_int_eq(second.rc, KV_LMDB_FAILED);
        ck_assert_msg(strstr(first.err, "testing") != NULL, "%s", first.err);
        ck_assert_str_eq(first.err, second.err);
        ck_assert(!gb_has(&g, "first"));
    } else {
        /* A body's own code answers its caller only. */
        ck_assert_msg(first.rc == MDB_SUCCESS, "%d %s", first.rc, first.err);
        ck_assert_int_eq(second.rc, KV_LMDB_BODY_CODE(7));
        ck_assert(gb_has(&g, "first"));
    }
    kv_lmdb_close(&g.kv);
}

/* Gathering: a lone caller never waits; after a commit that saw a crowd
 * of four (the leader's batch of one, three queued meanwhile), the next
 * leader, finding three queued, waits for a fourth.  full: the fourth
 * comes and ends the wait at once (the wait is made longer than Check's
 * timeout, so a missing wake-up fails the test); otherwise the wait times
 * out and the three go as they are.  Either way every write is committed
 * and answered. */
static void
group_gather(int full)
{
    static struct gb g;
    struct gb_call solo = { &g, "solo", 0, -1, "" };
    struct gb_call lead = { &g, "lead", 3, -1, "" };
    struct gb_call c[4] = {
        { &g, "a", 0, -1, "" }, { &g, "b", 0, -1, "" }, { &g, "c", 0, -1, "" },
        { &g, "d", 0, -1, "" },
    };
    struct kv_lmdb_options o = { .maxdbs = 4, .may_create = 1, .owner = "store",
                                 .owner_name = "test", .flock_writers = 1 };
    struct kv_lmdb_group_stats st;
    struct timespec tick = { 0, 1000000 };
    char err[KV_LMDB_ERRLEN];
    pthread_t tl, t[4];
    unsigned i, n = full ? 4 : 3;
    int ready;

    memset(&g, 0, sizeof g);
    ck_assert_int_eq(mkdir(storedir, 0700), 0);
    ck_assert_msg(kv_lmdb_open(&g.kv, storedir, &o, "opening", gb_open_body, &g, err,
                               sizeof err) == 0, "%s", err);
    /* A lone caller: committed at once, nobody waited. */
    gb_thread(&solo);
    ck_assert_msg(solo.rc == MDB_SUCCESS, "%d %s", solo.rc, solo.err);
    kv_lmdb_group_tune(&g.kv, -1, 0, &st);
    ck_assert_uint_eq(st.commits, 1);
    ck_assert_uint_eq(st.gathers, 0);
    /* Commits "cost" two hours, so the wait is bounded by max_wait_ns
     * alone: an hour (far past Check's timeout, so only the fourth's
     * arrival can end it in time) when the fourth is expected, 1 ms when
     * it is not. */
    pthread_mutex_lock(&g.kv.group_lock);
    g.kv.commit_ns = UINT64_C(7200000000000);
    pthread_mutex_unlock(&g.kv.group_lock);
    kv_lmdb_group_tune(&g.kv, -1, full ? UINT64_C(3600000000000) : UINT64_C(1000000), NULL);

    ck_assert_int_eq(pthread_create(&tl, NULL, gb_thread, &lead), 0);
    for (;;) {                          /* the leader is in its transaction */
        pthread_mutex_lock(&g.kv.group_lock);
        ready = g.kv.leading && g.kv.queue == NULL;
        pthread_mutex_unlock(&g.kv.group_lock);
        if (ready)
            break;
        nanosleep(&tick, NULL);
    }
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, gb_thread, &c[i]), 0);
    if (full) {
        for (;;) {                      /* the next leader waits for the crowd */
            pthread_mutex_lock(&g.kv.group_lock);
            ready = g.kv.gathering;
            pthread_mutex_unlock(&g.kv.group_lock);
            if (ready)
                break;
            nanosleep(&tick, NULL);
        }
        ck_assert_int_eq(pthread_create(&t[3], NULL, gb_thread, &c[3]), 0);
    }
    ck_assert_int_eq(pthread_join(tl, NULL), 0);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);

    ck_assert_msg(lead.rc == MDB_SUCCESS, "%d %s", lead.rc, lead.err);
    for (i = 0; i < n; i++) {
        ck_assert_msg(c[i].rc == MDB_SUCCESS, "%s: %d %s", c[i].key, c[i].rc, c[i].err);
        ck_assert(gb_has(&g, c[i].key));
    }
    kv_lmdb_group_tune(&g.kv, -1, 0, &st);
    /* solo, lead, then the rest in one batch after one wait */
    ck_assert_uint_eq(st.commits, 3);
    ck_assert_uint_eq(st.requests, 2 + n);
    ck_assert_uint_eq(st.batch_size[0], 2);
    ck_assert_uint_eq(st.batch_size[n - 1], 1);
    ck_assert_uint_eq(st.gathers, 1);
    ck_assert_uint_eq(st.gather_timeouts, full ? 0 : 1);
    kv_lmdb_close(&g.kv);
}

START_TEST(test_group_gather_full)
{
    group_gather(1);
}
END_TEST

START_TEST(test_group_gather_times_out)
{
    group_gather(0);
}
END_TEST

START_TEST(test_group_batch_fails_whole)
{
    group_batch(1);
}
END_TEST

START_TEST(test_group_batch_own_code)
{
    group_batch(0);
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

/* ---- conformance: expiry ------------------------------------------------- */

/* A stamp spent with an expiry in the past is gone after a purge (LMDB
 * removes it then; Redis already did, when its TTL ran out, and purges
 * nothing).  Entries with a future expiry, or none, stay. */
START_TEST(test_expiry)
{
    static const char *const gone[] = { "gone-1970", "gone-negative", "gone-min" };
    static const int64_t when[] = { 1000, -5, INT64_MIN };
    postage_store *s = open_ok(spec, 0);
    uint64_t removed = 99;
    unsigned i;

    for (i = 0; i < 3; i++)
        ck_assert_int_eq(spend(s, gone[i], when[i]), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "kept", FUTURE), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "never", POSTAGE_NEVER_EXPIRES), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "far", POSTAGE_NEVER_EXPIRES - 1), POSTAGE_OK);
    /* 2033, no grace. */
    ck_assert_int_eq(postage_store_purge(s, 2000000000, 0, &removed), POSTAGE_OK);
    ck_assert_uint_le(removed, 3);
    ck_assert_uint_eq(count(s), 3);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(postage_store_is_spent(s, gone[i], strlen(gone[i])), POSTAGE_OK);
        ck_assert_int_eq(spend(s, gone[i], FUTURE), POSTAGE_OK);
        ck_assert_int_eq(spend(s, gone[i], FUTURE), POSTAGE_ERR_SPENT);
    }
    ck_assert_int_eq(spend(s, "kept", FUTURE), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(spend(s, "never", FUTURE), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(spend(s, "far", FUTURE), POSTAGE_ERR_SPENT);
    ck_assert_uint_eq(count(s), 6);
    ck_assert_str_eq(postage_store_error(s), "");
    postage_store_close(s);
}
END_TEST

/* ---- the Redis specification parser (no server needed) ------------------- */

static void
parse_ok(const char *text, struct redis_spec *sp)
{
    char err[REDIS_CONN_ERRLEN];

    ck_assert_msg(redis_spec_parse(text, sp, err, sizeof err) == 0, "%s: %s", text, err);
    ck_assert_str_eq(err, "");
}

START_TEST(test_redis_spec_good)
{
    struct redis_spec sp;

    parse_ok("redis://127.0.0.1", &sp);
    ck_assert(!sp.unix_socket && !sp.sentinel);
    ck_assert_str_eq(sp.host, "127.0.0.1");
    ck_assert_int_eq(sp.port, 6379);
    ck_assert_int_eq(sp.db, 0);
    ck_assert_str_eq(sp.prefix, "postage:");
    ck_assert_int_eq(sp.timeout_ms, 500);
    ck_assert_int_eq(sp.grace, REDIS_DEFAULT_GRACE);
    ck_assert_str_eq(sp.password, "");
    ck_assert_str_eq(sp.username, "");

    parse_ok("redis://:p%40ss%2Fw%25rd@redis.example.org:6380/3?prefix=site1:&timeout=250", &sp);
    ck_assert_str_eq(sp.password, "p@ss/w%rd");
    ck_assert_str_eq(sp.host, "redis.example.org");
    ck_assert_int_eq(sp.port, 6380);
    ck_assert_int_eq(sp.db, 3);
    ck_assert_str_eq(sp.prefix, "site1:");
    ck_assert_int_eq(sp.timeout_ms, 250);

    /* An unencoded '@' in the password: the last one ends the userinfo. */
    parse_ok("redis://:a@b@h", &sp);
    ck_assert_str_eq(sp.password, "a@b");
    ck_assert_str_eq(sp.host, "h");

    parse_ok("redis://postage:pw@[::1]:7000/2", &sp);
    ck_assert_str_eq(sp.username, "postage");
    ck_assert_str_eq(sp.password, "pw");
    ck_assert_str_eq(sp.host, "::1");
    ck_assert_int_eq(sp.port, 7000);
    ck_assert_int_eq(sp.db, 2);

    parse_ok("redis://[::ffff:127.0.0.1]", &sp);
    ck_assert_str_eq(sp.host, "::ffff:127.0.0.1");
    ck_assert_int_eq(sp.port, 6379);

    parse_ok("redis://h/?prefix=", &sp);
    ck_assert_str_eq(sp.prefix, "");
    ck_assert_int_eq(sp.db, 0);
    parse_ok("redis://h?grace=2d&db=5", &sp);
    ck_assert_int_eq(sp.grace, 172800);
    ck_assert_int_eq(sp.db, 5);
    parse_ok("redis://my-redis_1.local:65535/2147483647?timeout=60000", &sp);
    ck_assert_int_eq(sp.port, 65535);
    ck_assert_int_eq(sp.db, 2147483647);
    ck_assert_int_eq(sp.timeout_ms, 60000);
    /* Glob characters are fine in a prefix (count escapes them). */
    parse_ok("redis://h?prefix=a*b?[c]\\:", &sp);
    ck_assert_str_eq(sp.prefix, "a*b?[c]\\:");

    parse_ok("redis+unix:///run/redis/redis.sock?db=2&prefix=x", &sp);
    ck_assert(sp.unix_socket && !sp.sentinel);
    ck_assert_str_eq(sp.host, "/run/redis/redis.sock");
    ck_assert_int_eq(sp.db, 2);
    ck_assert_str_eq(sp.prefix, "x");
    parse_ok("redis+unix://:pw@/tmp/r@x.sock", &sp);
    ck_assert_str_eq(sp.password, "pw");
    ck_assert_str_eq(sp.host, "/tmp/r@x.sock");
    parse_ok("redis+unix:///run/a@b/sock", &sp);
    ck_assert_str_eq(sp.password, "");
    ck_assert_str_eq(sp.host, "/run/a@b/sock");

    parse_ok("redis+sentinel://10.0.0.1:26380,sentinel-2,[::1]:5000/mymaster/4?timeout=100", &sp);
    ck_assert(sp.sentinel && !sp.unix_socket);
    ck_assert_int_eq(sp.n_sentinels, 3);
    ck_assert_str_eq(sp.sentinel_host[0], "10.0.0.1");
    ck_assert_int_eq(sp.sentinel_port[0], 26380);
    ck_assert_str_eq(sp.sentinel_host[1], "sentinel-2");
    ck_assert_int_eq(sp.sentinel_port[1], 26379);
    ck_assert_str_eq(sp.sentinel_host[2], "::1");
    ck_assert_int_eq(sp.sentinel_port[2], 5000);
    ck_assert_str_eq(sp.master, "mymaster");
    ck_assert_int_eq(sp.db, 4);
    ck_assert_int_eq(sp.timeout_ms, 100);
    parse_ok("redis+sentinel://:pw@s1/m", &sp);
    ck_assert_str_eq(sp.password, "pw");
    ck_assert_int_eq(sp.n_sentinels, 1);
    ck_assert_str_eq(sp.master, "m");
    ck_assert_int_eq(sp.db, 0);
    parse_ok("redis+sentinel://a,b,c,d,e,f,g,h/m", &sp);
    ck_assert_int_eq(sp.n_sentinels, REDIS_SENTINELS_MAX);

    ck_assert(redis_scheme("redis"));
    ck_assert(redis_scheme("redis://h"));
    ck_assert(redis_scheme("redis+unix:///x"));
    ck_assert(redis_scheme("redis+sentinel://h/m"));
    ck_assert(!redis_scheme("rediss://h"));
    ck_assert(!redis_scheme("redis+tls://h"));
    ck_assert(!redis_scheme("lmdb:/x"));
    ck_assert(!redis_scheme(NULL));
}
END_TEST

START_TEST(test_redis_spec_hostile)
{
    /* Specification, and what the message must say. */
    static const struct { const char *spec, *says; } cases[] = {
        { "", "empty" },
        { "redis://h:0", "bad port '0'" },
        { "redis://h:65536", "bad port '65536'" },
        { "redis://h:", "bad port ''" },
        { "redis://h:12a", "bad port '12a'" },
        { "redis://h:-1", "bad port '-1'" },
        { "redis://h:+80", "bad port '+80'" },
        { "redis://h:99999999999999999999", "bad port" },
        { "redis://:6379", "empty host" },
        { "redis://", "empty host" },
        { "redis:///0", "empty host" },
        { "redis://[]:1", "empty host" },
        { "redis://[::1", "unclosed '['" },
        { "redis://[::1]x", "unexpected 'x' after ']'" },
        { "redis://[zz::1]", "bad IPv6 address" },
        { "redis://[127.0.0.1]", "bad IPv6 address" },
        { "redis://fe80::1", "brackets" },
        { "redis://ho$t", "bad character '$'" },
        { "redis://h%41", "bad character" },
        { "redis://h?foo=1", "unknown query parameter 'foo'" },
        { "redis://h?Prefix=x", "unknown query parameter 'Prefix'" },
        { "redis://h?prefix=a&prefix=b", "'prefix' given twice" },
        { "redis://h?prefix", "'prefix' has no value" },
        { "redis://h?", "empty query parameter" },
        { "redis://h?prefix=a&", "empty query parameter" },
        { "redis://h?&prefix=a", "empty query parameter" },
        { "redis://h?timeout=0", "bad timeout '0'" },
        { "redis://h?timeout=60001", "bad timeout" },
        { "redis://h?timeout=1s", "bad timeout" },
        { "redis://h?timeout=", "bad timeout" },
        { "redis://h?grace=-1", "bad grace" },
        { "redis://h?grace=11y", "bad grace" },
        { "redis://h?grace=", "bad grace" },
        { "redis://h/abc", "bad database number 'abc'" },
        { "redis://h/-1", "bad database number" },
        { "redis://h/2147483648", "bad database number" },
        { "redis://h/1/2", "unexpected '/2'" },
        { "redis://h/1?db=2", "given twice" },
        { "redis://h?db=x", "bad database number" },
        { "redis://h?prefix=a%0Ab", "control character" },
        { "redis://h?prefix=a%00b", "control character" },
        { "redis://h?prefix=%zz", "percent-encoding" },
        { "redis://h?prefix=%4", "percent-encoding" },
        { "redis://h o", "space" },
        { "redis://h\n", "control character" },
        { "redis://h\t", "control character" },
        { "redis://h#frag", "'#'" },
        { "redis://h/0#", "'#'" },
        { "redis://:@h", "empty password" },
        { "redis://:pa/ss@h", "%2F" },
        { "redis:h", "expected \"redis://\"" },
        { "redis:/h", "expected \"redis://\"" },
        { "redis+unix:/x", "expected \"redis+unix://\"" },
        { "rediss://h", "not redis://" },
        { "http://h", "not redis://" },
        { "redis+unix://relative/path", "must be absolute" },
        { "redis+unix://", "no socket path" },
        { "redis+unix:///", "no socket path" },
        { "redis+unix:///x?timeout=0", "bad timeout" },
        { "redis+sentinel://h1", "no master name" },
        { "redis+sentinel://h1/", "no master name" },
        { "redis+sentinel://h1//0", "no master name" },
        { "redis+sentinel:///m", "no sentinel address" },
        { "redis+sentinel://h1,,h2/m", "empty sentinel host" },
        { "redis+sentinel://h1,/m", "empty sentinel host" },
        { "redis+sentinel://h1:0/m", "bad sentinel port '0'" },
        { "redis+sentinel://a,b,c,d,e,f,g,h,i/m", "too many sentinels (at most 8)" },
        { "redis+sentinel://h/m/x", "bad database number 'x'" },
        { "redis+sentinel://h/m%01", "control character" },
    };
    struct redis_spec sp;
    char err[REDIS_CONN_ERRLEN], big[REDIS_SPEC_MAX + 64];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(redis_spec_parse(cases[i].spec, &sp, err, sizeof err) == -1,
                      "accepted: %s", cases[i].spec);
        ck_assert_msg(strstr(err, cases[i].says) != NULL, "%s: '%s' does not say '%s'",
                      cases[i].spec, err, cases[i].says);
        ck_assert_msg(strncmp(err, "Redis specification: ", 21) == 0, "%s", err);
    }
    ck_assert_int_eq(redis_spec_parse(NULL, &sp, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    /* err may be NULL */
    ck_assert_int_eq(redis_spec_parse("redis://h:0", &sp, NULL, 0), -1);

    /* Lengths: the whole, the prefix, the host, the master, the socket
     * path, the password. */
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "redis://", 8);
    ck_assert_int_eq(redis_spec_parse(big, &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);
    snprintf(big, sizeof big, "redis://h?prefix=%0*d", REDIS_PREFIX_MAX, 0);
    ck_assert_int_eq(redis_spec_parse(big, &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "prefix is too long") != NULL, "%s", err);
    snprintf(big, sizeof big, "redis://h?prefix=%0*d", REDIS_PREFIX_MAX - 1, 0);
    ck_assert_int_eq(redis_spec_parse(big, &sp, err, sizeof err), 0);
    snprintf(big, sizeof big, "redis://%0*d", 254, 0);
    ck_assert_int_eq(redis_spec_parse(big, &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "host name too long") != NULL, "%s", err);
    snprintf(big, sizeof big, "redis+sentinel://h/%0*d", 128, 0);
    ck_assert_int_eq(redis_spec_parse(big, &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "master name is too long") != NULL, "%s", err);
    snprintf(big, sizeof big, "redis+unix:///%0*d", 107, 0);
    ck_assert_int_eq(redis_spec_parse(big, &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "socket path is too long") != NULL, "%s", err);
    snprintf(big, sizeof big, "redis+unix:///%0*d", 106, 0);
    ck_assert_int_eq(redis_spec_parse(big, &sp, err, sizeof err), 0);
    snprintf(big, sizeof big, "redis://:%0*d@h", 256, 0);
    ck_assert_int_eq(redis_spec_parse(big, &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "password is too long") != NULL, "%s", err);

    /* A password is never repeated in a message. */
    ck_assert_int_eq(redis_spec_parse("redis://s3cret@h", &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":PASSWORD@") != NULL && strstr(err, "s3cret") == NULL, "%s", err);
    ck_assert_int_eq(redis_spec_parse("redis://:s3cret@h:0", &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "s3cret") == NULL, "%s", err);
    ck_assert_int_eq(redis_spec_parse("redis://:s3c%zzret@h", &sp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "s3c") == NULL && strstr(err, "password") != NULL, "%s", err);
}
END_TEST

/* Through the public API: a malformed specification is POSTAGE_ERR_INVALID
 * with the problem named, and no password in the message. */
START_TEST(test_redis_spec_open)
{
    postage_store *s = (postage_store *) 1;
    char err[POSTAGE_STORE_ERRLEN];

    ck_assert_int_eq(postage_store_open("redis://:s3cret@h:0/0", 0, &s, err, sizeof err),
                     POSTAGE_ERR_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "bad port '0'") != NULL && strstr(err, "s3cret") == NULL,
                  "%s", err);
    ck_assert_int_eq(postage_store_open("redis+sentinel://h/m?nope=1", 0, &s, err, sizeof err),
                     POSTAGE_ERR_INVALID);
    ck_assert_msg(strstr(err, "unknown query parameter 'nope'") != NULL, "%s", err);
    ck_assert_int_eq(postage_store_open("redis:", 0, &s, err, sizeof err), POSTAGE_ERR_INVALID);
    /* An unknown URI scheme: named, but the rest (a password?) is not. */
    ck_assert_int_eq(postage_store_open("rediss://:s3cret@h", 0, &s, err, sizeof err),
                     POSTAGE_ERR_INVALID);
    ck_assert_msg(strstr(err, "\"rediss:\"") != NULL && strstr(err, "s3cret") == NULL
                  && strstr(err, "redis+sentinel") != NULL, "%s", err);
    /* Unknown flags are refused before anything is parsed. */
    ck_assert_int_eq(postage_store_open("redis://h", 1u << 7, &s, err, sizeof err),
                     POSTAGE_ERR_INVALID);
}
END_TEST

/* ---- Redis unreachable, or silent (no server needed) --------------------- */

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A loopback TCP socket bound to a port the kernel picked; listening if
 * asked (nobody ever accepts: the kernel completes connections and they
 * stay silent).  Returns the descriptor, the port in *port. */
static int
loopback_socket(int do_listen, int *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &alen), 0);
    if (do_listen)
        ck_assert_int_eq(listen(fd, 16), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

struct notes {
    int down, up;
    char last[POSTAGE_STORE_ERRLEN];
};

static void
note(void *ctx, int up, const char *why)
{
    struct notes *n = ctx;

    if (up)
        n->up++;
    else
        n->down++;
    snprintf(n->last, sizeof n->last, "%s", why);
}

START_TEST(test_redis_unreachable)
{
    postage_store *s = NULL;
    char sp[256], err[POSTAGE_STORE_ERRLEN], where[64];
    struct notes notes = { 0, 0, "" };
    uint64_t n = 99;
    double t0;
    int port, fd, i;

    /* A port bound but not listening: connections are refused. */
    fd = loopback_socket(0, &port);
    snprintf(sp, sizeof sp, "redis://:s3cret@127.0.0.1:%d/0?timeout=200", port);
    snprintf(where, sizeof where, "redis 127.0.0.1:%d", port);

    /* Without POSTAGE_STORE_LAZY (a command-line tool): open fails. */
    t0 = now_s();
    ck_assert_int_eq(postage_store_open(sp, 0, &s, err, sizeof err), POSTAGE_ERR_STORE);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, where) != NULL && strstr(err, "refused") != NULL
                  && strstr(err, "s3cret") == NULL, "%s", err);
    ck_assert_msg(now_s() - t0 < 2.0, "open took %.1f s", now_s() - t0);

    /* With it (a daemon): open works, every call fails until Redis is back. */
    s = open_ok(sp, POSTAGE_STORE_LAZY);
    ck_assert_int_eq(postage_store_set_notify(s, note, &notes), POSTAGE_OK);
    ck_assert_int_eq(notes.down, 1);     /* told at once: it is down now */
    ck_assert_msg(strstr(notes.last, where) != NULL, "%s", notes.last);
    t0 = now_s();
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(spend(s, "x", FUTURE), POSTAGE_ERR_STORE);
        ck_assert_msg(strncmp(postage_store_error(s), "spend: ", 7) == 0
                      && strstr(postage_store_error(s), where) != NULL,
                      "%s", postage_store_error(s));
        ck_assert_int_eq(postage_store_is_spent(s, "x", 1), POSTAGE_ERR_STORE);
        ck_assert_int_eq(postage_store_count(s, &n), POSTAGE_ERR_STORE);
    }
    ck_assert_msg(now_s() - t0 < 2.0, "60 failing calls took %.1f s", now_s() - t0);
    ck_assert_int_eq(postage_store_purge(s, 0, 0, &n), POSTAGE_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(notes.down, 1);     /* once per outage */
    ck_assert_int_eq(notes.up, 0);
    ck_assert_int_eq(postage_store_set_notify(NULL, note, &notes), POSTAGE_ERR_INVALID);
    postage_store_close(s);
    close(fd);
}
END_TEST

/* A server that accepts and never answers: each call gives up after the
 * timeout instead of hanging. */
START_TEST(test_redis_silent)
{
    postage_store *s;
    char sp[256];
    double t0;
    int port, fd, i;

    fd = loopback_socket(1, &port);
    snprintf(sp, sizeof sp, "redis://127.0.0.1:%d/0?timeout=200", port);
    s = open_ok(sp, 0);          /* connecting works; nothing is asked */
    for (i = 0; i < 3; i++) {
        t0 = now_s();
        ck_assert_int_eq(spend(s, "x", FUTURE), POSTAGE_ERR_STORE);
        ck_assert_msg(strstr(postage_store_error(s), "no reply within 200 ms") != NULL,
                      "%s", postage_store_error(s));
        ck_assert_msg(now_s() - t0 < 2.0, "a spend took %.1f s", now_s() - t0);
    }
    postage_store_close(s);
    close(fd);
}
END_TEST

/* ---- Redis-only (POSTAGE_TEST_REDIS) -------------------------------------- */

/* The key of a stamp in the store of sp's prefix. */
static size_t
redis_key(const char *prefix, const char *stamp, char *key)
{
    size_t plen = strlen(prefix);

    memcpy(key, prefix, plen);
    memcpy(key + plen, "s:", 2);
    crypto_hash_sha256((unsigned char *) key + plen + 2, (const unsigned char *) stamp,
                       strlen(stamp));
    return plen + 2 + 32;
}

static long long
expiretime(struct redis_conn *c, const char *stamp)
{
    char key[REDIS_PREFIX_MAX + 40], err[REDIS_CONN_ERRLEN];
    size_t klen = redis_key(redis_conn_prefix(c), stamp, key);
    redisReply *r = redis_conn_command(c, err, sizeof err, "EXPIRETIME %b", key, klen);
    long long t;

    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    t = r->integer;
    freeReplyObject(r);
    return t;
}

/* Layout: PREFIX "s:" SHA-256, value "1", expiring at expiry + grace. */
START_TEST(test_redis_layout)
{
    char sp[sizeof spec], err[REDIS_CONN_ERRLEN], key[REDIS_PREFIX_MAX + 40];
    postage_store *s = open_ok(spec, 0), *g;
    struct redis_conn *c;
    redisReply *r;
    size_t klen;

    ck_assert_int_eq(spend(s, "abc", FUTURE), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "never", POSTAGE_NEVER_EXPIRES), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "far", POSTAGE_NEVER_EXPIRES - 1), POSTAGE_OK);
    ck_assert_int_eq(spend(s, "past", 1000), POSTAGE_OK);
    c = redis_conn_open(spec, 1, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);

    klen = redis_key(redis_conn_prefix(c), "abc", key);
    r = redis_conn_command(c, err, sizeof err, "GET %b", key, klen);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    ck_assert_str_eq(r->str, "1");
    freeReplyObject(r);
    ck_assert_int_eq(expiretime(c, "abc"), FUTURE + REDIS_DEFAULT_GRACE);
    ck_assert_int_eq(expiretime(c, "never"), -1);    /* no TTL */
    ck_assert_int_eq(expiretime(c, "far"), -1);      /* beyond what Redis holds */
    ck_assert_int_eq(expiretime(c, "past"), -2);     /* no such key */
    redis_conn_close(c);
    postage_store_close(s);

    /* grace= sets the margin. */
    redis_spec_for_test(sp, sizeof sp, "grace=60", "g");
    g = open_ok(sp, 0);
    ck_assert_int_eq(spend(g, "abc", FUTURE), POSTAGE_OK);
    c = redis_conn_open(sp, 1, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(expiretime(c, "abc"), FUTURE + 60);
    redis_conn_close(c);
    postage_store_close(g);
    redis_cleanup(sp);
}
END_TEST

/* count() matches the prefix literally: a prefix with glob characters
 * does not count another store's keys that the glob would match. */
START_TEST(test_redis_count_glob)
{
    static const char *const globs[] = { "*", "?", "[xy]", "\\x" };
    char plain[sizeof spec], sp[sizeof spec], buf[64];
    postage_store *p, *s;
    unsigned i, j;

    redis_spec_for_test(plain, sizeof plain, "", "x");
    p = open_ok(plain, 0);
    for (j = 0; j < 5; j++) {
        snprintf(buf, sizeof buf, "plain-%u", j);
        ck_assert_int_eq(spend(p, buf, FUTURE), POSTAGE_OK);
    }
    for (i = 0; i < sizeof globs / sizeof globs[0]; i++) {
        redis_spec_for_test(sp, sizeof sp, "", globs[i]);
        s = open_ok(sp, 0);
        ck_assert_uint_eq(count(s), 0);
        for (j = 0; j <= i; j++) {
            snprintf(buf, sizeof buf, "glob-%u", j);
            ck_assert_int_eq(spend(s, buf, FUTURE), POSTAGE_OK);
        }
        ck_assert_uint_eq(count(s), i + 1);
        /* Spending in one store does not spend in the other. */
        ck_assert_int_eq(spend(s, "plain-0", FUTURE), POSTAGE_OK);
        postage_store_close(s);
        redis_cleanup(sp);
    }
    ck_assert_uint_eq(count(p), 5);
    postage_store_close(p);
    redis_cleanup(plain);
}
END_TEST

/* Errors from the server itself are POSTAGE_ERR_STORE and say where and
 * why; the flags that mean nothing to Redis are accepted. */
START_TEST(test_redis_server_errors)
{
    struct redis_spec base;
    char sp[REDIS_SPEC_MAX], err[POSTAGE_STORE_ERRLEN], rerr[REDIS_CONN_ERRLEN], where[300];
    postage_store *s = NULL;

    s = open_ok(spec, POSTAGE_STORE_NOCREATE | POSTAGE_STORE_NOSYNC | POSTAGE_STORE_LAZY);
    ck_assert_int_eq(spend(s, "flags", FUTURE), POSTAGE_OK);
    postage_store_close(s);

    ck_assert_msg(redis_spec_parse(redis_base, &base, rerr, sizeof rerr) == 0, "%s", rerr);
    if (base.sentinel)
        return;                       /* the rest needs a direct address */
    if (base.unix_socket) {
        snprintf(where, sizeof where, "redis unix:%s", base.host);
        snprintf(sp, sizeof sp, "redis+unix://%s?db=99999", base.host);
    } else {
        snprintf(where, sizeof where, strchr(base.host, ':') ? "redis [%s]:%d" : "redis %s:%d",
                 base.host, base.port);
        snprintf(sp, sizeof sp, strchr(base.host, ':') ? "redis://[%s]:%d/99999"
                 : "redis://%s:%d/99999", base.host, base.port);
    }
    ck_assert_int_eq(postage_store_open(sp, 0, &s, err, sizeof err), POSTAGE_ERR_STORE);
    ck_assert_msg(strstr(err, where) != NULL && strstr(err, "SELECT") != NULL
                  && strstr(err, "out of range") != NULL, "%s", err);

    /* A wrong password (or one for a server that has none). */
    if (base.unix_socket)
        snprintf(sp, sizeof sp, "redis+unix://:wr0ng-pw@%s", base.host);
    else
        snprintf(sp, sizeof sp, strchr(base.host, ':') ? "redis://:wr0ng-pw@[%s]:%d"
                 : "redis://:wr0ng-pw@%s:%d", base.host, base.port);
    ck_assert_int_eq(postage_store_open(sp, 0, &s, err, sizeof err), POSTAGE_ERR_STORE);
    ck_assert_msg(strstr(err, where) != NULL && strstr(err, "AUTH") != NULL
                  && strstr(err, "wr0ng") == NULL, "%s", err);
}
END_TEST


/* spend_many on Redis: one SET NX per stamp in pipelines of
 * REDIS_PIPELINE_MAX, so more stamps than one pipeline holds are all
 * answered, in order: one spent before, in the second pipeline, and one
 * given twice are "spent", every other is spent once. */
START_TEST(test_redis_spend_many_pipelines)
{
    postage_store *s = open_ok(spec, 0);
    size_t n = REDIS_PIPELINE_MAX + 300, i;
    struct postage_store_spend_item *it = calloc(n, sizeof *it);
    char (*text)[128] = calloc(n, sizeof *text);

    ck_assert_ptr_nonnull(it);
    ck_assert_ptr_nonnull(text);
    for (i = 0; i < n; i++) {
        stamp_text(text[i], sizeof text[i], (unsigned) (1000 + i));
        it[i] = (struct postage_store_spend_item) { text[i], strlen(text[i]), FUTURE, 77 };
    }
    /* One already spent, in the second pipeline; the last given twice. */
    ck_assert_int_eq(spend(s, text[REDIS_PIPELINE_MAX + 5], FUTURE), POSTAGE_OK);
    it[n - 1] = it[n - 2];
    ck_assert_int_eq(postage_store_spend_many(s, it, n), POSTAGE_OK);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(it[i].result, i == REDIS_PIPELINE_MAX + 5 || i == n - 1
                                           ? POSTAGE_ERR_SPENT : POSTAGE_OK);
    ck_assert_uint_eq(count(s), n - 1);
    ck_assert_int_eq(postage_store_spend_many(s, it, n), POSTAGE_OK);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(it[i].result, POSTAGE_ERR_SPENT);
    free(it);
    free(text);
    postage_store_close(s);
}
END_TEST

/* is_spent_many on Redis: one EXISTS per stamp in pipelines of
 * REDIS_PIPELINE_MAX, so more stamps than one pipeline holds are all
 * answered, each where it stands: spent ones in both pipelines, and a
 * repeat, say "spent", the others not. */
START_TEST(test_redis_is_spent_many_pipelines)
{
    postage_store *s = open_ok(spec, 0);
    size_t n = REDIS_PIPELINE_MAX + 300, i;
    struct postage_store_lookup_item *it = calloc(n, sizeof *it);
    char (*text)[128] = calloc(n, sizeof *text);

    ck_assert_ptr_nonnull(it);
    ck_assert_ptr_nonnull(text);
    for (i = 0; i < n; i++) {
        stamp_text(text[i], sizeof text[i], (unsigned) (5000 + i));
        it[i] = (struct postage_store_lookup_item) { text[i], strlen(text[i]), 77 };
    }
    ck_assert_int_eq(spend(s, text[3], FUTURE), POSTAGE_OK);
    ck_assert_int_eq(spend(s, text[REDIS_PIPELINE_MAX + 5], FUTURE), POSTAGE_OK);
    it[n - 1] = it[REDIS_PIPELINE_MAX + 5];     /* a repeat, in the second pipeline */
    it[n - 2] = it[0];                          /* a repeat of an unspent one */
    ck_assert_int_eq(postage_store_is_spent_many(s, it, n), POSTAGE_OK);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(it[i].result, i == 3 || i == REDIS_PIPELINE_MAX + 5 || i == n - 1
                                           ? POSTAGE_ERR_SPENT : POSTAGE_OK);
    ck_assert_uint_eq(count(s), 2);
    free(it);
    free(text);
    postage_store_close(s);
}
END_TEST

/* redis_conn_lock: a transaction stays on one connection; if that dies
 * in the middle, the rest fails instead of running on a new one. */
static redisReply *
locked(struct redis_conn *c, char *err, size_t errlen, int argc, ...)
{
    const char *argv[8];
    va_list ap;
    int i;

    va_start(ap, argc);
    for (i = 0; i < argc && i < 8; i++)
        argv[i] = va_arg(ap, const char *);
    va_end(ap);
    return redis_conn_commandv_locked(c, err, errlen, argc, argv, NULL);
}

START_TEST(test_redis_conn_txn)
{
    char err[REDIS_CONN_ERRLEN], key[REDIS_PREFIX_MAX + 8];
    struct redis_conn *c = redis_conn_open(spec, 1, err, sizeof err), *k;
    redisReply *r;
    long long id;

    ck_assert_msg(c != NULL, "%s", err);
    k = redis_conn_open(spec, 1, err, sizeof err);
    ck_assert_msg(k != NULL, "%s", err);
    snprintf(key, sizeof key, "%stxn", redis_conn_prefix(c));

    redis_conn_lock(c);
    r = locked(c, err, sizeof err, 1, "MULTI");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS, "%s", err);
    freeReplyObject(r);
    r = locked(c, err, sizeof err, 3, "SET", key, "1");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS, "%s", err);
    ck_assert_str_eq(r->str, "QUEUED");
    freeReplyObject(r);
    r = locked(c, err, sizeof err, 1, "EXEC");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1, "%s", err);
    freeReplyObject(r);
    redis_conn_unlock(c);

    redis_conn_lock(c);
    r = locked(c, err, sizeof err, 2, "CLIENT", "ID");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER, "%s", err);
    id = r->integer;
    freeReplyObject(r);
    r = locked(c, err, sizeof err, 1, "MULTI");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS, "%s", err);
    freeReplyObject(r);
    r = redis_conn_command(k, err, sizeof err, "CLIENT KILL ID %lld", id);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1, "%s", err);
    freeReplyObject(r);
    r = locked(c, err, sizeof err, 3, "SET", key, "2");
    ck_assert_msg(r == NULL, "a command on a killed connection had a reply");
    r = locked(c, err, sizeof err, 1, "EXEC");
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, "middle of a transaction") != NULL, "%s", err);
    redis_conn_unlock(c);

    /* Unlocked, the handle reconnects; the value is the first one. */
    r = redis_conn_command(c, err, sizeof err, "GET %s", key);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STRING, "%s", err);
    ck_assert_str_eq(r->str, "1");
    freeReplyObject(r);
    redis_conn_close(k);
    redis_conn_close(c);
}
END_TEST

/* The tests any backend must pass. */
static void
add_conformance(TCase *tc)
{
    tcase_add_test(tc, test_fresh_then_spent);
    tcase_add_test(tc, test_is_spent_looks_only);
    tcase_add_test(tc, test_independent);
    tcase_add_test(tc, test_exact_bytes);
    tcase_add_test(tc, test_reopen_keeps);
    tcase_add_test(tc, test_expiry);
    tcase_add_test(tc, test_invalid_args);
    tcase_add_test(tc, test_spend_many);
    tcase_add_test(tc, test_is_spent_many);
}

static void
add_conformance_heavy(TCase *tc)
{
    tcase_add_test(tc, test_processes_exactly_once);
    tcase_add_test(tc, test_threads_exactly_once);
    tcase_add_test(tc, test_group_exactly_once);
}

Suite *
suite(void)
{
    redis_base = getenv("POSTAGE_TEST_REDIS");
    if (redis_base != NULL && redis_base[0] == '\0')
        redis_base = NULL;
    if (redis_base == NULL)
        fprintf(stderr, "check_store: POSTAGE_TEST_REDIS is not set: the conformance tests run "
                "against LMDB only (tests/system/store_redis.sh runs them against Redis)\n");
    Suite *s = suite_create("store");
    TCase *basic = tcase_create("lmdb");
    TCase *heavy = tcase_create("lmdb-heavy");
    TCase *spec_tc = tcase_create("redis-spec");

    tcase_add_checked_fixture(basic, setup, teardown);
    add_conformance(basic);
    tcase_add_test(basic, test_purge_boundary);
    tcase_add_test(basic, test_nocreate_missing);
    tcase_add_test(basic, test_create_errors);
    tcase_add_test(basic, test_lost_store);
    tcase_add_test(basic, test_damaged_in_use);
    tcase_add_test(basic, test_open_down);
    tcase_add_test(basic, test_relative_chdir);
    tcase_add_test(basic, test_spec_scheme);
    tcase_add_test(basic, test_on_disk_format);
    tcase_add_test(basic, test_group_batch_fails_whole);
    tcase_add_test(basic, test_group_batch_own_code);
    tcase_add_test(basic, test_group_gather_full);
    tcase_add_test(basic, test_group_gather_times_out);
    tcase_set_timeout(basic, 60);
    suite_add_tcase(s, basic);

    /* Generous timeouts: the machine is shared and fsync can be slow. */
    tcase_add_checked_fixture(heavy, setup, teardown);
    add_conformance_heavy(heavy);
    tcase_add_test(heavy, test_purge_batches);
    tcase_add_test(heavy, test_map_growth);
    tcase_add_test(heavy, test_threads_growth);
    tcase_set_timeout(heavy, 600);
    suite_add_tcase(s, heavy);

    /* The parser, and Redis unreachable or silent: no server needed. */
    tcase_add_test(spec_tc, test_redis_spec_good);
    tcase_add_test(spec_tc, test_redis_spec_hostile);
    tcase_add_test(spec_tc, test_redis_spec_open);
    tcase_add_test(spec_tc, test_redis_unreachable);
    tcase_add_test(spec_tc, test_redis_silent);
    tcase_set_timeout(spec_tc, 60);
    suite_add_tcase(s, spec_tc);

    if (redis_base != NULL) {
        TCase *redis = tcase_create("redis");

        tcase_add_checked_fixture(redis, setup_redis, teardown_redis);
        add_conformance(redis);
        add_conformance_heavy(redis);
        tcase_add_test(redis, test_redis_layout);
        tcase_add_test(redis, test_redis_count_glob);
        tcase_add_test(redis, test_redis_server_errors);
        tcase_add_test(redis, test_redis_conn_txn);
        tcase_add_test(redis, test_redis_spend_many_pipelines);
        tcase_add_test(redis, test_redis_is_spent_many_pipelines);
        tcase_set_timeout(redis, 600);
        suite_add_tcase(s, redis);
    }
    return s;
}
