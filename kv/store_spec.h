/*
 * store_spec.h - which storage a store specification names: the one rule
 * both stores read a `store` setting by (the double-spend store's
 * verify/store.c, postaged's policy/state/state.c and state_lmdb.c).
 *
 * A scheme is [a-z][a-z0-9+]* immediately followed by ':' at the very
 * start of the string.  Anything else is a bare path and means
 * "lmdb:PATH".  So "/var/lib/postage:old" and "./db:1" are paths,
 * "lmdb:db:1" is the LMDB directory "db:1", and "foo:bar" is an unknown
 * scheme, refused rather than silently becoming a directory named
 * "foo:bar" (write "./foo:bar" for that).  The Redis schemes are "redis",
 * "redis+unix" and "redis+sentinel" (their grammar: kv/redis_spec.h).
 *
 * Internal to postage: not exported.
 */
#ifndef POSTAGE_KV_STORE_SPEC_H
#define POSTAGE_KV_STORE_SPEC_H

#include <stddef.h>

enum kv_spec_kind {
    KV_SPEC_LMDB,           /* "lmdb:DIR" or a bare path     */
    KV_SPEC_REDIS,          /* one of the Redis schemes      */
    KV_SPEC_UNKNOWN         /* another scheme                */
};

/* The length of the scheme at the start of spec (without the ':'), or 0
 * for a bare path. */
size_t kv_spec_scheme_length(const char *spec);

/* Is spec[0..len) the name of a Redis scheme?  1 or 0. */
int kv_spec_is_redis(const char *spec, size_t len);

/* What spec names; *scheme_len (if not NULL) gets its scheme's length,
 * 0 for a bare path. */
enum kv_spec_kind kv_spec_kind(const char *spec, size_t *scheme_len);

/* Is the scheme of @spec ("redis://h", or a scheme alone: "redis") one of
 * the Redis schemes?  The scheme is the text before the first ':' (or all
 * of it).  1 or 0 (0 for NULL); says nothing about the rest.  Built with
 * or without Redis support, so a build without it can refuse such a spec
 * by name. */
int redis_scheme(const char *spec);

#endif
