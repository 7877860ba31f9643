/*
 * state_redis_absent.c - the Redis backend of postaged's state store in a
 * build without hiredis (configure --without-redis).
 *
 * state.c still picks it for redis://, redis+unix:// and
 * redis+sentinel://, so that such a store is refused as what it is; its
 * open fails with PD_ST_ERR_INVALID, the code of an unknown scheme.  The
 * message names the scheme only: the rest may hold a password.
 */
#include "config.h"

#include <string.h>

#include "util/errbuf.h"
#include "policy/state/state_backend.h"

static int
absent_open(const char *spec, unsigned flags, void **handle, char *err, size_t errlen)
{
    (void) flags;
    *handle = NULL;
    errbuf_printf(err, errlen,
                  "state store \"%.*s:\": postage was built without Redis support "
                  "(configure --with-redis)", (int) strcspn(spec, ":"), spec);
    return PD_ST_ERR_INVALID;
}

/* Only open is ever called: it never succeeds, so no handle exists. */
const struct pd_state_ops pd_state_redis_ops = {
    .name = "redis",
    .open = absent_open,
};
