/*
 * store_redis_absent.c - the Redis schemes of the double-spend store in a
 * build without hiredis (configure --without-redis).
 *
 * The schemes stay known, so that "redis://..." is refused as what it is
 * rather than as an unknown scheme or a directory; every open fails with
 * POSTAGE_ERR_INVALID, the code of an unknown scheme.  The message names
 * the scheme only: the rest of a specification may hold a password.
 */
#include "config.h"

#include <string.h>

#include "util/errbuf.h"
#include "postage/status.h"
#include "verify/store_backend.h"

static int
absent_open(const char *spec, unsigned flags, void **state, char *err, size_t errlen)
{
    (void) flags;
    *state = NULL;
    errbuf_printf(err, errlen,
                  "store scheme \"%.*s:\": postage was built without Redis support "
                  "(configure --with-redis)", (int) strcspn(spec, ":"), spec);
    return POSTAGE_ERR_INVALID;
}

/* Only open is ever called: it never succeeds, so no handle exists. */
#define ABSENT_BACKEND(name) { name, absent_open, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL, NULL }

const struct postage_store_backend postage_store_redis = ABSENT_BACKEND("redis");
const struct postage_store_backend postage_store_redis_unix = ABSENT_BACKEND("redis+unix");
const struct postage_store_backend postage_store_redis_sentinel =
    ABSENT_BACKEND("redis+sentinel");
