/*
 * redis_spec.h - the Redis specification string both Redis stores take
 * (the double-spend store's verify/store_redis.c and postaged's
 * policy/state/state_redis.c), read by kv/redis_spec.c into a struct
 * redis_spec that kv/redis_conn.c connects by.
 *
 * Specifications (the part a caller's `store` setting holds):
 *   redis://[:PASSWORD@]HOST[:PORT][/DB][?prefix=P&timeout=MS]
 *   redis+unix://[:PASSWORD@]/PATH/TO/SOCKET[?db=N&prefix=P&timeout=MS]
 *   redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB][?prefix=P&timeout=MS]
 * PORT defaults to 6379 (26379 for sentinels), DB to 0, the prefix to
 * "postage:" (every key this program writes starts with it, so several
 * sites can share one Redis), the timeout to 500 ms: the bound on connecting
 * and on each command's reply.  A PASSWORD is given to AUTH on the data
 * connection (not to the sentinels).  IPv6 hosts are written [::1].
 *
 * Details of the grammar (redis_spec_parse), added to the above:
 *   - USER:PASSWORD@ (Redis 6 ACL) sends AUTH USER PASSWORD; a userinfo
 *     without ':' is refused (is it a user or a password?).
 *   - The password, user, socket path, master name and query values are
 *     percent-decoded (%2F is '/', %40 '@', %25 '%', %26 '&'...); a decoded
 *     NUL or control character is refused.  In redis:// and
 *     redis+sentinel:// the userinfo ends at the last '@' before the first
 *     '/'; in redis+unix:// at the first "@/".
 *   - Query parameters, each at most once, in any order: prefix=P (at
 *     most REDIS_PREFIX_MAX - 1 bytes, may be empty), timeout=MS (1 to
 *     60000), db=N (in every form, but not together with a /DB path), and
 *     grace=PERIOD (a hashcash period such as 7d or 3600, at most 10
 *     years; used only by the double-spend store: how long a spent stamp
 *     is kept past its expiry, default 7 days).  Anything else is refused
 *     as an unknown query parameter.
 *   - DB is 0 .. INT_MAX; ports 1 .. 65535; at most REDIS_SENTINELS_MAX
 *     sentinels; host names are letters, digits, '-', '.', '_' (at most
 *     253 bytes); a socket path is absolute and fits sun_path (107 bytes).
 *   - The whole specification is at most REDIS_SPEC_MAX bytes of printable
 *     ASCII or UTF-8 (no spaces, no control characters, no '#').
 * Error messages never repeat the password.
 */
#ifndef POSTAGE_KV_REDIS_SPEC_H
#define POSTAGE_KV_REDIS_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "kv/store_spec.h"   /* redis_scheme() */

#define REDIS_PREFIX_MAX 128
#define REDIS_SENTINELS_MAX 8
#define REDIS_SPEC_MAX 2048              /* longest specification accepted   */
#define REDIS_DEFAULT_GRACE (7 * 86400)  /* seconds; see grace= above        */

/* The parsed specification (also for tests of the parser). */
struct redis_spec {
    int unix_socket;                 /* redis+unix                           */
    int sentinel;                    /* redis+sentinel                       */
    char host[256];                  /* redis:// host (or the socket path)   */
    int port;
    char sentinel_host[REDIS_SENTINELS_MAX][256];
    int sentinel_port[REDIS_SENTINELS_MAX];
    int n_sentinels;
    char master[128];                /* sentinel: the master's name          */
    int db;
    char password[256];              /* "" for none                          */
    char prefix[REDIS_PREFIX_MAX];
    int timeout_ms;
    /* Added to the original layout: */
    char username[128];              /* ACL user for AUTH, "" for none       */
    int64_t grace;                   /* grace=, seconds (store only)         */
};

/* Parse a full specification ("redis://..."). 0, or -1 with err naming
 * what is wrong. */
int redis_spec_parse(const char *spec, struct redis_spec *out, char *err, size_t errlen);

/* Decimal digits only (s[0..n), at most 10 of them), value <= max: 0 and
 * *out set, or -1.  (Also for the ports sentinels answer with.) */
int redis_spec_uint(const char *s, size_t n, unsigned long max, unsigned long *out);

#endif
