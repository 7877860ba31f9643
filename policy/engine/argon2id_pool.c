/*
 * argon2id_pool.c - a bounded, lazily filled pool of Argon2id work areas
 * (see argon2id_pool.h for why).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "policy/engine/argon2id_pool.h"
#include "postage/status.h"

#define POOL_MAX 64

struct pd_a2id_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    uint32_t memory;
    unsigned limit;                           /* areas at most            */
    unsigned made;                            /* areas made so far        */
    unsigned idle_count;
    postage_argon2id_work *idle[POOL_MAX];    /* made and not taken       */
};

struct pd_a2id_pool *
pd_a2id_pool_new(unsigned areas, uint32_t memory_kib)
{
    struct pd_a2id_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->memory = memory_kib;
    p->limit = areas == 0 ? 1 : areas > POOL_MAX ? POOL_MAX : areas;
    return p;
}

postage_argon2id_work *
pd_a2id_pool_take(struct pd_a2id_pool *p)
{
    postage_argon2id_work *w = NULL;
    pthread_mutex_lock(&p->lock);
    while (p->idle_count == 0 && p->made >= p->limit)
        pthread_cond_wait(&p->freed, &p->lock);
    if (p->idle_count > 0) {
        w = p->idle[--p->idle_count];
        pthread_mutex_unlock(&p->lock);
        return w;
    }
    p->made++;   /* reserve the slot; made outside the lock (it is slow) */
    pthread_mutex_unlock(&p->lock);

    /* One lane is the smallest memory a work area can serve at this size;
     * the area serves any lanes up to what the memory allows. */
    struct postage_argon2id_params params = { p->memory, 1, 1 };
    /* auto: postage's own Argon2id where a vector kernel runs, so that a
     * check costs what minting does; libargon2 where only the portable
     * kernel would (postage_argon2id_backend_resolve()).  Tags are the
     * same either way. */
    if (postage_argon2id_work_new(&w, &params, POSTAGE_A2ID_AUTO) != POSTAGE_OK) {
        pthread_mutex_lock(&p->lock);
        p->made--;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    return w;
}

void
pd_a2id_pool_give(struct pd_a2id_pool *p, postage_argon2id_work *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->idle[p->idle_count++] = w;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

void
pd_a2id_pool_free(struct pd_a2id_pool *p)
{
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->idle_count; i++)
        postage_argon2id_work_free(p->idle[i]);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
