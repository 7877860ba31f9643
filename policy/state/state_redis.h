/*
 * state_redis.h - the parts of the Redis backend of postaged's state
 * store that its two files share: state_redis.c (keys, records, get,
 * scan, count, open; the design is described there) and
 * state_redis_update.c (the optimistic read-modify-write with its
 * fairness lock).  Private to those two files.
 */
#ifndef POSTAGE_POLICY_STATE_REDIS_H
#define POSTAGE_POLICY_STATE_REDIS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "policy/state/state.h"
#include "kv/redis_conn.h"

#define HDR 8                       /* expires_at before the payload       */
/* "p:" + the longest table name + ":" */
#define TABLE_PREFIX_MAX (REDIS_PREFIX_MAX + 32)
#define KEY_ROOM (TABLE_PREFIX_MAX + PD_ST_KEY_MAX)
#define WHERE_MAX 400

struct pd_state_redis {
    struct redis_conn *conn;
    char where[WHERE_MAX];                      /* the server, no password   */
    size_t tprefix_len[PD_TABLE_COUNT];
    char tprefix[PD_TABLE_COUNT][TABLE_PREFIX_MAX];
    char pattern[PD_TABLE_COUNT][2 * TABLE_PREFIX_MAX + 2];   /* for SCAN */
    pthread_mutex_t add_lock;                   /* guards add_sha            */
    char add_sha[41];                           /* the add script's SHA-1, or "" */
};

/* "SERVER: what happened" into err[errlen]; returns status. */
int pd_redis_fail(struct pd_state_redis *st, char *err, size_t errlen, int status,
                  const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* redis_conn's messages start with the server's address, which
 * pd_redis_fail() puts first already: the rest of one. */
const char *pd_redis_reason(const struct pd_state_redis *st, const char *why);

/* What is wrong with a reply we did not expect. */
void pd_redis_reply_problem(const redisReply *r, const char *cmd, char *why, size_t whylen);

/* A status reply saying text? */
int pd_redis_is_status(const redisReply *r, const char *text);

/* Another type of key under our name: WRONGTYPE on GET.  Not ours. */
int pd_redis_is_wrongtype(const redisReply *r);

/* 1, or 0 with err set. */
int pd_redis_valid_args(struct pd_state_redis *st, enum pd_table table, const void *key,
                        size_t keylen, char *err, size_t errlen);

/* PREFIX "p:" TABLE ":" KEY into out (KEY_ROOM bytes); its length. */
size_t pd_redis_make_key(const struct pd_state_redis *st, enum pd_table table,
                         const void *key, size_t keylen, char *out);

/* A stored value: well formed, and live at `now`?  Sets the payload. */
int pd_redis_record_live(const redisReply *r, int64_t now, int64_t *expires_at,
                         const unsigned char **payload, size_t *len);

/* pd_state_update for the Redis backend (state_redis_update.c). */
int pd_state_redis_update(void *handle, enum pd_table table, const void *key, size_t keylen,
                          int64_t now, pd_state_fn fn, void *ctx, char *err, size_t errlen);

/* pd_state_update_many for the Redis backend (state_redis_update.c). */
int pd_state_redis_update_many(void *handle, const struct pd_state_change *ch, size_t n,
                               int64_t now, char *err, size_t errlen);

/* pd_state_add_many for the Redis backend (state_redis_update.c). */
int pd_state_redis_add_many(void *handle, struct pd_state_add *a, size_t n, int64_t now,
                            char *err, size_t errlen);

#endif
