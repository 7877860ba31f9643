/*
 * state_backend.h - what a backend of postaged's state store implements.
 *
 * policy/state/state.c owns the public handle (struct pd_state), picks a backend
 * by the scheme of the specification and forwards each call of state.h to
 * one of these tables, with the backend's own handle.  Every function has
 * the meaning of its state.h namesake and checks its own arguments (the
 * handle itself is never NULL here).
 *
 * Errors follow the convention of the double-spend store's backends
 * (verify/store_backend.h) and of kv/: a function that fails writes why
 * into the caller's err[errlen]; state.c keeps the last such text in its
 * handle for pd_state_error.  A failure that writes nothing leaves the
 * text of the one before.
 */
#ifndef POSTAGE_POLICY_STATE_BACKEND_H
#define POSTAGE_POLICY_STATE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "policy/state/state.h"

struct pd_state_ops {
    const char *name;                   /* "lmdb", "redis" */
    /* @spec is the whole specification, scheme included. */
    int (*open)(const char *spec, unsigned flags, void **handle, char *err, size_t errlen);
    int (*update)(void *handle, enum pd_table table, const void *key, size_t keylen,
                  int64_t now, pd_state_fn fn, void *ctx, char *err, size_t errlen);
    int (*get)(void *handle, enum pd_table table, const void *key, size_t keylen,
               int64_t now, void *val, size_t cap, size_t *vallen, int64_t *expires_at,
               char *err, size_t errlen);
    int (*expire)(void *handle, enum pd_table table, int64_t now, unsigned batch,
                  uint64_t *removed, char *err, size_t errlen);
    int (*scan)(void *handle, enum pd_table table, int64_t now, pd_state_scan_fn fn,
                void *ctx, char *err, size_t errlen);
    int (*count)(void *handle, enum pd_table table, uint64_t *count, char *err,
                 size_t errlen);
    int (*sync)(void *handle, char *err, size_t errlen);
    void (*set_notify)(void *handle, pd_state_notify_fn fn, void *ctx);
    void (*close)(void *handle);
    /* Optional (NULL: state.c calls update or get once per entry). */
    int (*update_many)(void *handle, const struct pd_state_change *ch, size_t n, int64_t now,
                       char *err, size_t errlen);
    int (*get_many)(void *handle, struct pd_state_read *rd, size_t n, int64_t now,
                    char *err, size_t errlen);
    int (*add_many)(void *handle, struct pd_state_add *a, size_t n, int64_t now,
                    char *err, size_t errlen);
};

/* pd_state_add_many's entry as an update callback (ctx: a struct
 * pd_state_add): keeps a live entry and sets `existed`, else puts the
 * entry's value; for the one-by-one path in state.c and any backend's own
 * add_many (state_lmdb.c), so that both mean the same. */
enum pd_st_op pd_state_add_fn(void *ctx, int64_t now, const unsigned char *cur, size_t curlen,
                              unsigned char *out, size_t *outlen, int64_t *expires_at);

extern const struct pd_state_ops pd_state_lmdb_ops;
extern const struct pd_state_ops pd_state_redis_ops;

#endif
