/*
 * lmdb_grow.c - the map-size, begin and resize steps of an LMDB
 * environment that grows instead of failing when full (see lmdb_grow.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "kv/lmdb_grow.h"

#define MIN_SIZE ((size_t) 64 << 10)

static size_t
page_round(size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t) page : 4096;

    return (size + p - 1) / p * p;
}

size_t
lmdb_grow_initial_size(size_t default_size)
{
    const char *s = getenv("POSTAGE_LMDB_MAPSIZE");
    unsigned long long v;
    char *end;

    if (s == NULL || *s < '0' || *s > '9')
        return page_round(default_size);
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return page_round(default_size);
    switch (*end) {
    case 'k': case 'K': v = v > (ULLONG_MAX >> 10) ? 0 : v << 10; end++; break;
    case 'm': case 'M': v = v > (ULLONG_MAX >> 20) ? 0 : v << 20; end++; break;
    case 'g': case 'G': v = v > (ULLONG_MAX >> 30) ? 0 : v << 30; end++; break;
    default: break;
    }
    if (*end != '\0' || v == 0)
        return page_round(default_size);
    if (v < MIN_SIZE)
        v = MIN_SIZE;
    if (v > LMDB_GROW_MAX)
        v = LMDB_GROW_MAX;
    return page_round((size_t) v);
}

int
lmdb_grow_begin(MDB_env *env, unsigned flags, MDB_txn **txn, int *broken)
{
    int rc = MDB_MAP_RESIZED;

    for (int i = 0; i < LMDB_GROW_RETRIES; i++) {
        rc = mdb_txn_begin(env, NULL, flags, txn);
        if (rc != MDB_MAP_RESIZED)
            return rc;
        /* Legal: the caller holds its mutex, so no transaction of ours is
         * open; 0 adopts the size the other process chose. */
        rc = mdb_env_set_mapsize(env, 0);
        if (rc != MDB_SUCCESS) {
            *broken = 1;
            return rc;
        }
    }
    return rc;
}

int
lmdb_grow_double(MDB_env *env, int *broken)
{
    MDB_envinfo info;
    int rc = mdb_env_info(env, &info);

    if (rc != MDB_SUCCESS)
        return rc;
    if (info.me_mapsize >= LMDB_GROW_MAX)
        return MDB_MAP_FULL;
    size_t next = info.me_mapsize > LMDB_GROW_MAX / 2 ? LMDB_GROW_MAX : info.me_mapsize * 2;
    rc = mdb_env_set_mapsize(env, page_round(next));
    if (rc != MDB_SUCCESS)
        *broken = 1;   /* LMDB unmapped the old map before failing */
    return rc;
}
