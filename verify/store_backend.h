/*
 * store_backend.h - what a double-spend store backend implements.
 *
 * store.c owns the public handle, turns each stamp into a fixed-size key
 * (SHA-256 of the exact stamp string) and dispatches on the "scheme:" of the
 * specification to one of these tables.  A backend sees only keys, never
 * stamps, so every backend stores the same thing.  Each function writes a
 * description of any failure into err (errlen bytes, NUL-terminated) and
 * returns a postage_status: the one error convention of the storage code
 * (kv/, and postaged's state backends, policy/state/state_backend.h);
 * store.c keeps the text in its handle.
 */
#ifndef POSTAGE_STORE_BACKEND_H
#define POSTAGE_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "postage/store.h"

#define POSTAGE_STORE_KEYLEN 32

struct postage_store_backend {
    const char *scheme;   /* "lmdb", "redis", "redis+unix", "redis+sentinel" */
    /* location: the part after "scheme:" (or the whole specification,
     * when whole_spec is set).  flags are postage_store_open()'s.  On
     * success *state is the backend's own handle.  A malformed location
     * is POSTAGE_ERR_INVALID, a store that cannot be opened
     * POSTAGE_ERR_STORE. */
    int (*open)(const char *location, unsigned flags, void **state,
                char *err, size_t errlen);
    /* POSTAGE_OK if inserted, POSTAGE_ERR_SPENT if the key was present. */
    int (*spend)(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN],
                 int64_t expires_at, char *err, size_t errlen);
    /* POSTAGE_OK if the key is absent, POSTAGE_ERR_SPENT if present;
     * changes nothing. */
    int (*lookup)(void *state, const uint8_t key[POSTAGE_STORE_KEYLEN],
                  char *err, size_t errlen);
    int (*purge)(void *state, int64_t now, int64_t grace, uint64_t *removed,
                 char *err, size_t errlen);
    int (*count)(void *state, uint64_t *count, char *err, size_t errlen);
    void (*close)(void *state);
    /* Nonzero: open() gets the whole specification ("redis://h:1/0")
     * instead of the part after "scheme:", for schemes whose syntax is a
     * URI that a shared parser reads whole (kv/redis_conn.c). */
    int whole_spec;
    /* Optional (NULL: a local store, nothing to report): pass on
     * postage_store_set_notify()'s callback. */
    void (*set_notify)(void *state, postage_store_notify_fn fn, void *ctx);
    /* Optional (NULL: store.c calls spend for each key in turn): spend n
     * keys (1 .. POSTAGE_STORE_SPEND_MANY_MAX) as n spends in order would,
     * results[i] POSTAGE_OK or POSTAGE_ERR_SPENT.  On POSTAGE_ERR_STORE,
     * results[i] is POSTAGE_ERR_STORE for every key not answered (for a
     * transactional backend, every key). */
    int (*spend_many)(void *state, const uint8_t (*keys)[POSTAGE_STORE_KEYLEN],
                      const int64_t *expires_at, int *results, size_t n, char *err,
                      size_t errlen);
    /* Optional (NULL: store.c calls lookup for each key in turn): look up
     * n keys (1 .. POSTAGE_STORE_SPEND_MANY_MAX) as n lookups would,
     * results[i] POSTAGE_OK or POSTAGE_ERR_SPENT; changes nothing.  On
     * POSTAGE_ERR_STORE, results[i] is POSTAGE_ERR_STORE for every key not
     * answered. */
    int (*lookup_many)(void *state, const uint8_t (*keys)[POSTAGE_STORE_KEYLEN], int *results,
                       size_t n, char *err, size_t errlen);
};

extern const struct postage_store_backend postage_store_lmdb;
extern const struct postage_store_backend postage_store_redis;
extern const struct postage_store_backend postage_store_redis_unix;
extern const struct postage_store_backend postage_store_redis_sentinel;

#endif
