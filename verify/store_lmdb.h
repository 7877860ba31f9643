/*
 * store_lmdb.h - what the LMDB double-spend store shows of its group
 * commit (kv_lmdb_write_grouped) to benchmarks and tests: not part of
 * the public API, not exported.
 */
#ifndef POSTAGE_STORE_LMDB_H
#define POSTAGE_STORE_LMDB_H

#include "postage/store.h"
#include "kv/lmdb_env.h"

/* Store s's group commit: gather = 0 turns the leaders' gathering off,
 * 1 on (the default), -1 leaves it as it is; stats (if not NULL) gets a
 * copy of its counters.  0, or -1 if s is not an LMDB store (nothing
 * done). */
int postage_store_lmdb_group(postage_store *s, int gather, struct kv_lmdb_group_stats *stats);

/* The same on the backend's own handle (store.c dispatches). */
void postage_store_lmdb_group_state(void *state, int gather, struct kv_lmdb_group_stats *stats);

#endif
