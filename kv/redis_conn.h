/*
 * redis_conn.h - one connection to Redis (hiredis), shared by the
 * double-spend store's Redis backend (verify/store_redis.c) and postaged's
 * state store (policy/state/state_redis.c): the specification string, timeouts,
 * Sentinel discovery, and reconnecting with backoff.
 *
 * Specifications (redis://, redis+unix://, redis+sentinel://) and their
 * grammar: kv/redis_spec.h.  The expiry clocks of the two stores that use
 * this connection: docs/redis.md, "Expiry clocks".
 *
 * Thread safety: a handle is one connection used under a mutex, so any
 * number of threads may share it; commands are serialised.  Several
 * commands can share one round trip (redis_conn_pipeline).  A transaction
 * (WATCH ... EXEC) holds the handle with redis_conn_lock for its whole
 * length.
 *
 * Failures: when the connection breaks or a command times out, the handle
 * drops the connection; the next call reconnects (through the sentinels
 * when configured, so a failover is followed without a restart).  After a
 * failed connect, calls fail at once without trying until the backoff
 * has passed (starting at 100 ms, doubling to 5 s), so an outage costs
 * each request nothing.  A reply of READONLY (we reached a replica after
 * a failover) also drops the connection.
 *
 * Added precisions: a command that times out starts (or continues) the
 * backoff too, since a hung server still accepts connections and each
 * queued caller would otherwise wait out the timeout in turn; any reply
 * ends the backoff.  A command that timed out may still have been carried
 * out by the server (it was sent), so after a failed SET NX a retry may
 * find the key there.  Through Sentinel, the handle also subscribes to the
 * failover events of the sentinel that answered and, before each command,
 * reads (without waiting) whether our master has moved; if so the
 * connection is dropped and the command goes to the new master: after a
 * failover the old master accepts writes until Sentinel demotes it,
 * seconds later, and they are then lost.  (Without the subscription the
 * sentinel is asked again at most once a second.)
 *
 * A connection that the server closed while it was idle (a Redis restart,
 * or its `timeout` setting) is noticed before a command is sent on it
 * (poll() says it is readable) and replaced at once, without an outage
 * being reported: only a failed command or a failed connect is one.  A
 * command is never sent twice, since it may have been carried out before
 * its reply was lost (SET NX would then answer "already there").
 *
 * SIGPIPE: a write to a connection the server has reset would raise
 * SIGPIPE, whose default action kills the process.  Every call blocks
 * SIGPIPE in the calling thread for its duration and consumes one that it
 * raised itself, so callers need not ignore SIGPIPE.
 *
 * The library never prints: an optional callback is told when the
 * connection goes down and when it comes back, once per outage.
 */
#ifndef POSTAGE_KV_REDIS_CONN_H
#define POSTAGE_KV_REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>

#ifdef HAVE_REDIS
#include <hiredis/hiredis.h>
#else
/* Built without hiredis (configure --without-redis): only redis_scheme()
 * (kv/store_spec.c) and redis_spec_parse() (kv/redis_absent.c, which
 * refuses) exist. */
typedef struct redisReply redisReply;
#endif

#include "kv/redis_spec.h"

#define REDIS_CONN_ERRLEN 256

struct redis_conn;

/* Told "down" (with why) once when a working connection is lost or the
 * first connect fails, and "up" once when it works again (when a command
 * has had a reply, not merely a connect).  It is called
 * with the handle locked, from whichever thread saw the change: it must
 * not call redis_conn_* on the same handle, and should be quick (log a
 * line).  `why` names the server and the reason, never the password. */
typedef void (*redis_conn_notify_fn)(void *ctx, int up, const char *why);

/* Make a handle and try to connect.  A failed first connect is not an
 * error (Redis may come later: calls fail until it does) unless @must_connect,
 * as a command-line tool wants.  Returns NULL with err set on a bad
 * specification or out of memory. */
struct redis_conn *redis_conn_open(const char *spec, int must_connect, char *err, size_t errlen);

void redis_conn_set_notify(struct redis_conn *c, redis_conn_notify_fn fn, void *ctx);

/* The key prefix of the specification. */
const char *redis_conn_prefix(const struct redis_conn *c);

/* The parsed specification (for its grace, db...). */
const struct redis_spec *redis_conn_spec(const struct redis_conn *c);

/* Where this handle goes, for messages: "redis 127.0.0.1:6379",
 * "redis [::1]:6379", "redis unix:/run/redis.sock" or "redis master
 * 'mymaster'" (sentinels).  Fixed at open, so safe from any thread. */
const char *redis_conn_address(const struct redis_conn *c);

/*
 * Run one command (hiredis format, "%b" for binary-safe arguments).
 * Returns the reply (free with freeReplyObject), or NULL with err set:
 * not connected (within backoff), connect failed, timeout, connection
 * lost.  A REDIS_REPLY_ERROR reply is returned as is, except READONLY,
 * which counts as a lost connection.
 */
redisReply *redis_conn_command(struct redis_conn *c, char *err, size_t errlen,
                               const char *fmt, ...);

/* The same with an argument vector (binary safe). */
redisReply *redis_conn_commandv(struct redis_conn *c, char *err, size_t errlen,
                                int argc, const char **argv, const size_t *argvlen);

/* One command of a pipeline: an argument vector (binary safe; argvlen
 * NULL for NUL-terminated arguments). */
struct redis_cmd {
    int argc;
    const char **argv;
    const size_t *argvlen;
};

/* The most commands one pipeline may hold. */
#define REDIS_PIPELINE_MAX 1024

/*
 * Run n (1 .. REDIS_PIPELINE_MAX) commands in one round trip: all are
 * written at once, then their n replies read, on one connection, the
 * handle held throughout (no other thread's command comes between them;
 * another client's may, as between any two commands: use MULTI/EXEC or a
 * script inside the pipeline for atomicity).  Connecting, timeouts (each
 * reply within the specification's timeout), the Sentinel checks and the
 * backoff are those of redis_conn_command, once for the whole pipeline.
 *
 * Returns 0 with replies[0 .. n) set (free each with freeReplyObject;
 * error replies come as they are), or -1 with err set and every reply
 * NULL: the connection failed (every command may or may not have been
 * carried out, as for one command whose reply was lost), or one reply
 * was READONLY (the connection is dropped, as for one command).
 */
int redis_conn_pipeline(struct redis_conn *c, char *err, size_t errlen, size_t n,
                        const struct redis_cmd *cmds, redisReply **replies);

/* Hold the handle across several commands (WATCH/MULTI/EXEC); the
 * _locked variants must be used while held.  Not recursive.  While held,
 * only the first command may (re)connect: WATCH and MULTI live on one
 * connection, so once the transaction has begun a lost connection is not
 * replaced, and every further command fails ("connection lost in the
 * middle of a transaction") until the handle is unlocked. */
void redis_conn_lock(struct redis_conn *c);
void redis_conn_unlock(struct redis_conn *c);
redisReply *redis_conn_commandv_locked(struct redis_conn *c, char *err, size_t errlen,
                                       int argc, const char **argv, const size_t *argvlen);
int redis_conn_pipeline_locked(struct redis_conn *c, char *err, size_t errlen, size_t n,
                               const struct redis_cmd *cmds, redisReply **replies);

void redis_conn_close(struct redis_conn *c);

#endif
