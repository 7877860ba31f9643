/*
 * slot.c - the engine in force, swapped on reload: a new engine (build.c)
 * goes into the slot while front-end threads finish with the one they
 * hold.  A front-end takes the engine for one query (pd_engine_slot_get)
 * and gives it back after: the RCPT chain of access control, HELO, SPF,
 * price, greylisting and quotas (decide.c), the stamps at end of headers
 * (postage.c), or the counting at END-OF-MESSAGE (decide.c).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "policy/engine/engine.h"

struct pd_engine_slot {
    pthread_mutex_t lock;
    struct pd_engine *engine;
};

struct pd_engine_slot *
pd_engine_slot_new(struct pd_engine *initial)
{
    struct pd_engine_slot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    s->engine = initial;
    return s;
}

struct pd_engine *
pd_engine_slot_get(struct pd_engine_slot *s)
{
    pthread_mutex_lock(&s->lock);
    struct pd_engine *e = pd_engine_ref(s->engine);
    pthread_mutex_unlock(&s->lock);
    return e;
}

void
pd_engine_slot_swap(struct pd_engine_slot *s, struct pd_engine *next)
{
    pthread_mutex_lock(&s->lock);
    struct pd_engine *old = s->engine;
    s->engine = next;
    pthread_mutex_unlock(&s->lock);
    pd_engine_unref(old);
}

void
pd_engine_slot_free(struct pd_engine_slot *s)
{
    if (s == NULL)
        return;
    pd_engine_unref(s->engine);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
