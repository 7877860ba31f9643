/*
 * lmdb_grow.h - LMDB environments whose map grows on demand: the map-size,
 * begin and resize steps shared by the double-spend store
 * (verify/store_lmdb.c) and postaged's state store (policy/state/state_lmdb.c).
 *
 * mdb_env_set_mapsize is only legal while this process has no transaction
 * open on the environment, so every caller serialises all its
 * transactions on one environment with its own mutex, and calls these
 * functions with that mutex held.  Internal to postage: not exported.
 */
#ifndef POSTAGE_LMDB_GROW_H
#define POSTAGE_LMDB_GROW_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#define LMDB_GROW_RETRIES 64   /* doubling from 64 KiB reaches the max in 24 */
#if SIZE_MAX > 0xffffffffu
#define LMDB_GROW_MAX ((size_t) 1 << 40)
#else
#define LMDB_GROW_MAX ((size_t) 1 << 30)
#endif

/* The map size to start with, page-rounded: $POSTAGE_LMDB_MAPSIZE (bytes,
 * optional k/m/g suffix; tests use it to make growth happen early), else
 * default_size. */
size_t lmdb_grow_initial_size(size_t default_size);

/* Begin a transaction, adopting a map another process has grown
 * (MDB_MAP_RESIZED).  Returns an LMDB code; sets *broken if re-mapping
 * failed, after which the environment cannot be used. */
int lmdb_grow_begin(MDB_env *env, unsigned flags, MDB_txn **txn, int *broken);

/* Double the map after MDB_MAP_FULL.  Returns MDB_SUCCESS; MDB_MAP_FULL
 * when it is already LMDB_GROW_MAX; or the error of the resize, with
 * *broken set (LMDB has unmapped the old map by then). */
int lmdb_grow_double(MDB_env *env, int *broken);

#endif
