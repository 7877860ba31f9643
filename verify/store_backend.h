/*
 * store_backend.h - what a double-spend store backend implements.
 *
 * store.c owns the public handle, turns each stamp into a fixed-size key
 * (SHA-256 of the exact stamp string) and dispatches on the "scheme:" of the
 * specification to one of these tables.  A backend sees only keys, never
 * stamps, so every backend stores the same thing.  Each function writes a
 * description of any failure into err (errlen bytes, NUL-terminated) and
 * returns a postage_status.
 */
#ifndef POSTAGE_STORE_BACKEND_H
#define POSTAGE_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#define POSTAGE_STORE_KEYLEN 32

struct postage_store_backend {
    const char *scheme;   /* "lmdb" */
    /* location: the part after "scheme:".  On success *state is the
     * backend's own handle. */
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
};

extern const struct postage_store_backend postage_store_lmdb;

#endif
