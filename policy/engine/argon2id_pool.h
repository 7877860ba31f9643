/*
 * argon2id_pool.h - the Argon2id work areas postaged checks stamps with.
 *
 * A check of an Argon2id stamp fills up to argon2id_max_memory KiB.  The
 * pool keeps a few work areas of that size, made on first need and then
 * reused (faulting 64 MiB in costs more than hashing it once), and it is
 * also the limit: no more checks run at once than it has areas, so a flood
 * of Argon2id stamps costs at most areas x memory and that many cores,
 * never a thread's worth each.
 */
#ifndef POSTAGE_POLICY_ARGON2ID_POOL_H
#define POSTAGE_POLICY_ARGON2ID_POOL_H

#include <stdint.h>

#include "postage/argon2id.h"

struct pd_a2id_pool;

/* A pool of at most @areas work areas of @memory_kib each (backend auto:
 * postage_argon2id_backend_resolve()).  NULL if out of memory. */
struct pd_a2id_pool *pd_a2id_pool_new(unsigned areas, uint32_t memory_kib);

/* Take a work area, waiting while all are in use.  NULL if one could not
 * be made (out of memory); the caller then refuses to compute. */
postage_argon2id_work *pd_a2id_pool_take(struct pd_a2id_pool *pool);

/* Give back what pd_a2id_pool_take() returned (NULL is ignored). */
void pd_a2id_pool_give(struct pd_a2id_pool *pool, postage_argon2id_work *work);

/* Free the pool and its areas; none may be taken. */
void pd_a2id_pool_free(struct pd_a2id_pool *pool);

#endif
