/*
 * store.c - the public double-spend store API (postage/store.h).
 *
 * This layer owns the handle, checks every argument, turns a stamp into
 * its key (SHA-256 of the exact stamp bytes, so every backend stores the
 * same fixed-size thing and never sees stamp text) and picks the backend
 * from the specification string.
 *
 * Specification rule (kv/store_spec.h, shared with postaged's state
 * store): a scheme is `[a-z][a-z0-9+]*` immediately followed by ':' at
 * the very start of the string.  Anything else is a bare path and means
 * "lmdb:PATH".  So "/var/lib/postage:old" and "./db:1" are paths,
 * "lmdb:db:1" is the LMDB directory "db:1", and "foo:bar" is refused as an
 * unknown scheme rather than silently becoming a directory named "foo:bar"
 * (write "./foo:bar" for that).  The Redis schemes ("redis:",
 * "redis+unix:", "redis+sentinel:") are URIs, and their backends get the
 * whole specification (whole_spec in verify/store_backend.h).  A
 * specification may hold a password, so messages about one that looks
 * like a URI ("scheme://...") never repeat it.
 *
 * The error buffer is shared by all threads using a handle; writes to it
 * are serialised, and a message may come from another thread's failure.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/errbuf.h"
#include "postage/stamp.h"
#include "postage/status.h"
#include "postage/store.h"
#include "kv/store_spec.h"
#include "verify/store_backend.h"
#include "verify/store_lmdb.h"

struct postage_store {
    const struct postage_store_backend *backend;
    void *state;
    pthread_mutex_t err_lock;
    char err[POSTAGE_STORE_ERRLEN];
};

static const struct postage_store_backend *const backends[] = {
    &postage_store_lmdb,
    &postage_store_redis,
    &postage_store_redis_unix,
    &postage_store_redis_sentinel,
};
#define BACKEND_COUNT (sizeof backends / sizeof backends[0])
#define KNOWN_SCHEMES "lmdb, redis, redis+unix, redis+sentinel"

#define ALL_FLAGS (POSTAGE_STORE_NOSYNC | POSTAGE_STORE_NOCREATE | POSTAGE_STORE_LAZY)

int
postage_store_open(const char *spec, unsigned flags, postage_store **out,
                   char *err, size_t errlen)
{
    const struct postage_store_backend *backend = NULL;
    const char *location;
    postage_store *store;
    size_t slen, i;
    char berr[POSTAGE_STORE_ERRLEN];
    int rc;

    errbuf_printf(err, errlen, "%s", "");
    if (out != NULL)
        *out = NULL;
    if (out == NULL) {
        errbuf_printf(err, errlen, "no place for the store handle (out is NULL)");
        return POSTAGE_ERR_INVALID;
    }
    if (spec == NULL || spec[0] == '\0') {
        errbuf_printf(err, errlen, "empty store specification");
        return POSTAGE_ERR_INVALID;
    }
    if (flags & ~(unsigned) ALL_FLAGS) {
        errbuf_printf(err, errlen, "unknown store flags 0x%x", flags & ~(unsigned) ALL_FLAGS);
        return POSTAGE_ERR_INVALID;
    }

    slen = kv_spec_scheme_length(spec);
    if (slen == 0) {
        backend = &postage_store_lmdb;
        location = spec;
    } else {
        for (i = 0; i < BACKEND_COUNT; i++) {
            if (strlen(backends[i]->scheme) == slen
                && memcmp(backends[i]->scheme, spec, slen) == 0) {
                backend = backends[i];
                break;
            }
        }
        if (backend == NULL) {
            if (strncmp(spec + slen, "://", 3) == 0)     /* may hold a password */
                errbuf_printf(err, errlen, "unknown store scheme \"%.*s:\" (known: " KNOWN_SCHEMES
                       ")", (int) slen, spec);
            else
                errbuf_printf(err, errlen,
                       "unknown store scheme \"%.*s:\" in \"%s\" (known: " KNOWN_SCHEMES
                       "; write ./%s for a relative path)",
                       (int) slen, spec, spec, spec);
            return POSTAGE_ERR_INVALID;
        }
        location = backend->whole_spec ? spec : spec + slen + 1;
        if (spec[slen + 1] == '\0') {
            errbuf_printf(err, errlen, "store specification \"%s\" names no location", spec);
            return POSTAGE_ERR_INVALID;
        }
    }

    /* Idempotent and thread-safe; SHA-256 works without it, but it selects
     * the fastest implementation. */
    if (sodium_init() < 0) {
        errbuf_printf(err, errlen, "libsodium failed to initialise");
        return POSTAGE_ERR_STORE;
    }

    store = calloc(1, sizeof *store);
    if (store == NULL) {
        errbuf_printf(err, errlen, "out of memory opening a %s store", backend->scheme);
        return POSTAGE_ERR_NOMEM;
    }
    if (pthread_mutex_init(&store->err_lock, NULL) != 0) {
        free(store);
        errbuf_printf(err, errlen, "cannot create a mutex for a %s store", backend->scheme);
        return POSTAGE_ERR_NOMEM;
    }
    store->backend = backend;

    berr[0] = '\0';
    rc = backend->open(location, flags, &store->state, berr, sizeof berr);
    if (rc != POSTAGE_OK) {
        errbuf_printf(err, errlen, "%s", berr[0] ? berr : postage_strerror(rc));
        pthread_mutex_destroy(&store->err_lock);
        free(store);
        return rc;
    }
    *out = store;
    return POSTAGE_OK;
}

/* ---- a store that is down for good ---------------------------------- */

/* The backend behind postage_store_open_down(): its state is the reason,
 * and every call fails with it.  It has no scheme: no specification
 * reaches it. */
static int
down_fail(void *state, char *err, size_t errlen)
{
    errbuf_printf(err, errlen, "%s", (const char *) state);
    return POSTAGE_ERR_STORE;
}

static int
down_spend(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN], int64_t expires_at,
           char *err, size_t errlen)
{
    (void) key;
    (void) expires_at;
    return down_fail(state, err, errlen);
}

static int
down_lookup(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN], char *err, size_t errlen)
{
    (void) key;
    return down_fail(state, err, errlen);
}

static int
down_purge(void *state, int64_t now, int64_t grace, uint64_t *removed, char *err,
           size_t errlen)
{
    (void) now;
    (void) grace;
    *removed = 0;
    return down_fail(state, err, errlen);
}

static int
down_count(void *state, uint64_t *count, char *err, size_t errlen)
{
    *count = 0;
    return down_fail(state, err, errlen);
}

static void
down_close(void *state)
{
    free(state);
}

static const struct postage_store_backend down_backend = {
    .scheme = "",
    .spend = down_spend,
    .lookup = down_lookup,
    .purge = down_purge,
    .count = down_count,
    .close = down_close,
};

int
postage_store_open_down(const char *why, postage_store **out)
{
    postage_store *store;

    if (out == NULL)
        return POSTAGE_ERR_INVALID;
    *out = NULL;
    if (why == NULL || why[0] == '\0')
        why = "the store could not be opened";
    store = calloc(1, sizeof *store);
    if (store == NULL)
        return POSTAGE_ERR_NOMEM;
    store->state = strndup(why, POSTAGE_STORE_ERRLEN - 1);
    if (store->state == NULL || pthread_mutex_init(&store->err_lock, NULL) != 0) {
        free(store->state);
        free(store);
        return POSTAGE_ERR_NOMEM;
    }
    store->backend = &down_backend;
    snprintf(store->err, sizeof store->err, "%s", why);
    *out = store;
    return POSTAGE_OK;
}

/* Keep a backend's message in the handle; only store failures count. */
static int
record(postage_store *store, int rc, const char *berr)
{
    if (rc == POSTAGE_OK || rc == POSTAGE_ERR_SPENT)
        return rc;
    pthread_mutex_lock(&store->err_lock);
    snprintf(store->err, sizeof store->err, "%s", berr[0] ? berr : postage_strerror(rc));
    pthread_mutex_unlock(&store->err_lock);
    return rc;
}

static int
invalid(postage_store *store, const char *msg)
{
    if (store != NULL)
        record(store, POSTAGE_ERR_INVALID, msg);
    return POSTAGE_ERR_INVALID;
}

/* Check a stamp argument and turn it into its key; `what` names the call
 * in the error.  Returns POSTAGE_OK or POSTAGE_ERR_INVALID. */
static int
stamp_key(postage_store *store, const char *what, const char *stamp, size_t len,
          uint8_t key[POSTAGE_STORE_KEYLEN])
{
    char msg[96];

    if (store == NULL)
        return POSTAGE_ERR_INVALID;
    if (stamp == NULL || len == 0 || len > POSTAGE_STAMP_MAX) {
        snprintf(msg, sizeof msg, stamp == NULL ? "%s: stamp is NULL"
                                                : "%s: stamp length must be 1 .. POSTAGE_STAMP_MAX",
                 what);
        return invalid(store, msg);
    }
    crypto_hash_sha256(key, (const unsigned char *) stamp, len);
    return POSTAGE_OK;
}

int
postage_store_spend(postage_store *store, const char *stamp, size_t len,
                    int64_t expires_at)
{
    uint8_t key[POSTAGE_STORE_KEYLEN];
    char berr[POSTAGE_STORE_ERRLEN] = "";
    int rc = stamp_key(store, "spend", stamp, len, key);

    if (rc != POSTAGE_OK)
        return rc;
    return record(store, store->backend->spend(store->state, key, expires_at,
                                               berr, sizeof berr), berr);
}

/* Spend keys one by one, for a backend without spend_many: the answers
 * before a failure stand. */
static int
spend_each(postage_store *store, const uint8_t (*keys)[POSTAGE_STORE_KEYLEN],
           const int64_t *expires_at, int *results, size_t n, char *err, size_t errlen)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        results[i] = store->backend->spend(store->state, keys[i], expires_at[i], err, errlen);
        if (results[i] != POSTAGE_OK && results[i] != POSTAGE_ERR_SPENT) {
            for (j = i; j < n; j++)
                results[j] = POSTAGE_ERR_STORE;
            return POSTAGE_ERR_STORE;
        }
    }
    return POSTAGE_OK;
}

int
postage_store_spend_many(postage_store *store, struct postage_store_spend_item *items,
                         size_t n)
{
    uint8_t (*keys)[POSTAGE_STORE_KEYLEN];
    int64_t *expires_at;
    int *results;
    char berr[POSTAGE_STORE_ERRLEN] = "";
    size_t i, j;
    int rc = POSTAGE_OK;

    if (store == NULL || items == NULL)
        return store == NULL ? POSTAGE_ERR_INVALID : invalid(store, "spend_many: items is NULL");
    if (n == 0 || n > POSTAGE_STORE_SPEND_MANY_MAX)
        return invalid(store, "spend_many: n must be 1 .. POSTAGE_STORE_SPEND_MANY_MAX");
    for (i = 0; i < n; i++)
        items[i].result = POSTAGE_ERR_STORE;
    keys = malloc(n * sizeof *keys);
    expires_at = malloc(n * sizeof *expires_at);
    results = malloc(n * sizeof *results);
    if (keys == NULL || expires_at == NULL || results == NULL) {
        rc = record(store, POSTAGE_ERR_NOMEM, "spend_many: out of memory");
        goto out;
    }
    /* Every stamp is checked before any is spent. */
    for (i = 0; i < n; i++) {
        rc = stamp_key(store, "spend_many", items[i].stamp, items[i].len, keys[i]);
        if (rc != POSTAGE_OK) {
            items[i].result = rc;
            goto out;
        }
        expires_at[i] = items[i].expires_at;
        results[i] = POSTAGE_ERR_STORE;
    }
    if (store->backend->spend_many != NULL)
        rc = store->backend->spend_many(store->state, (const uint8_t (*)[POSTAGE_STORE_KEYLEN]) keys,
                                        expires_at, results, n, berr, sizeof berr);
    else
        rc = spend_each(store, (const uint8_t (*)[POSTAGE_STORE_KEYLEN]) keys, expires_at,
                        results, n, berr, sizeof berr);
    for (j = 0; j < n; j++)
        items[j].result = rc == POSTAGE_OK || results[j] == POSTAGE_OK
                                  || results[j] == POSTAGE_ERR_SPENT
                              ? results[j]
                              : POSTAGE_ERR_STORE;
    rc = record(store, rc, berr);
out:
    free(keys);
    free(expires_at);
    free(results);
    return rc;
}

int
postage_store_is_spent(postage_store *store, const char *stamp, size_t len)
{
    uint8_t key[POSTAGE_STORE_KEYLEN];
    char berr[POSTAGE_STORE_ERRLEN] = "";
    int rc = stamp_key(store, "lookup", stamp, len, key);

    if (rc != POSTAGE_OK)
        return rc;
    return record(store, store->backend->lookup(store->state, key, berr, sizeof berr), berr);
}

/* Look keys up one by one, for a backend without lookup_many: the
 * answers before a failure stand. */
static int
lookup_each(postage_store *store, const uint8_t (*keys)[POSTAGE_STORE_KEYLEN], int *results,
            size_t n, char *err, size_t errlen)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        results[i] = store->backend->lookup(store->state, keys[i], err, errlen);
        if (results[i] != POSTAGE_OK && results[i] != POSTAGE_ERR_SPENT) {
            for (j = i; j < n; j++)
                results[j] = POSTAGE_ERR_STORE;
            return POSTAGE_ERR_STORE;
        }
    }
    return POSTAGE_OK;
}

int
postage_store_is_spent_many(postage_store *store, struct postage_store_lookup_item *items,
                            size_t n)
{
    uint8_t (*keys)[POSTAGE_STORE_KEYLEN];
    int *results;
    char berr[POSTAGE_STORE_ERRLEN] = "";
    size_t i, j;
    int rc = POSTAGE_OK;

    if (store == NULL || items == NULL)
        return store == NULL ? POSTAGE_ERR_INVALID : invalid(store, "is_spent_many: items is NULL");
    if (n == 0 || n > POSTAGE_STORE_SPEND_MANY_MAX)
        return invalid(store, "is_spent_many: n must be 1 .. POSTAGE_STORE_SPEND_MANY_MAX");
    for (i = 0; i < n; i++)
        items[i].result = POSTAGE_ERR_STORE;
    keys = malloc(n * sizeof *keys);
    results = malloc(n * sizeof *results);
    if (keys == NULL || results == NULL) {
        rc = record(store, POSTAGE_ERR_NOMEM, "is_spent_many: out of memory");
        goto out;
    }
    /* Every stamp is checked before any is looked up. */
    for (i = 0; i < n; i++) {
        rc = stamp_key(store, "is_spent_many", items[i].stamp, items[i].len, keys[i]);
        if (rc != POSTAGE_OK) {
            items[i].result = rc;
            goto out;
        }
        results[i] = POSTAGE_ERR_STORE;
    }
    if (store->backend->lookup_many != NULL)
        rc = store->backend->lookup_many(store->state,
                                         (const uint8_t (*)[POSTAGE_STORE_KEYLEN]) keys, results,
                                         n, berr, sizeof berr);
    else
        rc = lookup_each(store, (const uint8_t (*)[POSTAGE_STORE_KEYLEN]) keys, results, n,
                         berr, sizeof berr);
    for (j = 0; j < n; j++)
        items[j].result = results[j] == POSTAGE_OK || results[j] == POSTAGE_ERR_SPENT
                              ? results[j]
                              : POSTAGE_ERR_STORE;
    rc = record(store, rc, berr);
out:
    free(keys);
    free(results);
    return rc;
}

int
postage_store_purge(postage_store *store, int64_t now, int64_t grace,
                    uint64_t *removed)
{
    char berr[POSTAGE_STORE_ERRLEN];
    uint64_t n = 0;
    int rc;

    if (removed != NULL)
        *removed = 0;
    if (store == NULL)
        return POSTAGE_ERR_INVALID;
    if (grace < 0)
        return invalid(store, "purge: grace must not be negative");

    berr[0] = '\0';
    rc = store->backend->purge(store->state, now, grace, &n, berr, sizeof berr);
    /* Entries removed by batches that committed before a failure are gone,
     * so report them even then. */
    if (removed != NULL)
        *removed = n;
    return record(store, rc, berr);
}

int
postage_store_count(postage_store *store, uint64_t *count)
{
    char berr[POSTAGE_STORE_ERRLEN];

    if (store == NULL)
        return POSTAGE_ERR_INVALID;
    if (count == NULL)
        return invalid(store, "count: count is NULL");
    *count = 0;
    berr[0] = '\0';
    return record(store, store->backend->count(store->state, count, berr, sizeof berr),
                  berr);
}

int
postage_store_set_notify(postage_store *store, postage_store_notify_fn fn, void *ctx)
{
    if (store == NULL)
        return POSTAGE_ERR_INVALID;
    if (store->backend->set_notify != NULL)
        store->backend->set_notify(store->state, fn, ctx);
    return POSTAGE_OK;
}

const char *
postage_store_error(const postage_store *store)
{
    if (store == NULL)
        return "no store";
    return store->err;
}

void
postage_store_close(postage_store *store)
{
    if (store == NULL)
        return;
    store->backend->close(store->state);
    pthread_mutex_destroy(&store->err_lock);
    free(store);
}

/* For benchmarks and tests (verify/store_lmdb.h). */
int
postage_store_lmdb_group(postage_store *s, int gather, struct kv_lmdb_group_stats *stats)
{
    if (s == NULL || s->backend != &postage_store_lmdb || s->state == NULL)
        return -1;
    postage_store_lmdb_group_state(s->state, gather, stats);
    return 0;
}
