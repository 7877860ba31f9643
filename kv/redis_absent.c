/*
 * redis_absent.c - the part of kv/redis_conn.h that a build without
 * hiredis (configure --without-redis) still offers: knowing a Redis
 * specification (redis_scheme() is kv/store_spec.c's, in every build)
 * and refusing it.
 *
 * postaged checks its store setting with these before it opens anything,
 * so a redis:// store is refused at start, with a message saying why.
 * Nothing else of redis_conn.h is built; its users (the Redis backends)
 * are replaced by verify/store_redis_absent.c and
 * policy/state/state_redis_absent.c.
 */
#include "config.h"

#include <string.h>

#include "util/errbuf.h"
#include "kv/redis_conn.h"

int
redis_spec_parse(const char *spec, struct redis_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    errbuf_printf(err, errlen,
                  "\"%.*s:\": postage was built without Redis support (configure --with-redis)",
                  (int) strcspn(spec, ":"), spec);
    return -1;
}
