/*
 * rep_writer.c - the bounded queue and thread behind pd_rep_writer_push
 * (see rep_writer.h for why updates are asynchronous).  The thread takes
 * everything queued (up to a batch) at once and applies it with one
 * pd_rep_apply_many, so that a busy daemon pays the store's round trips
 * per batch rather than per update.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/log.h"
#include "policy/engine/rep_writer.h"
#include "policy/state/state.h"

struct update {
    char id[PD_REP_ID_MAX];
    struct pd_rep_params params;
    struct pd_rep_delta delta;
    int64_t now;
};

struct pd_rep_writer {
    struct pd_state *st;
    pthread_mutex_t lock;
    pthread_cond_t nonempty;    /* the thread waits for work           */
    pthread_cond_t drained;     /* flush waits for the queue to empty  */
    struct update *ring;
    size_t capacity, head, count;
    int busy;                   /* the thread is applying a batch      */
    int stopping;
    uint64_t dropped, failed;
    pthread_t thread;
};

/* The most updates applied together: one batch of the store
 * (pd_rep_apply_many; on Redis two round trips for them all, however
 * many messages queued them while the last batch was written). */
#define BATCH_MAX PD_ST_MANY_MAX

static void *
writer_main(void *arg)
{
    struct pd_rep_writer *w = arg;
    struct update *batch = malloc(BATCH_MAX * sizeof *batch);
    struct pd_rep_update todo[BATCH_MAX];

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->nonempty, &w->lock);
        if (w->count == 0)
            break;
        size_t n = 0, max = batch != NULL ? BATCH_MAX : 1;
        struct update one;
        struct update *b = batch != NULL ? batch : &one;
        while (w->count > 0 && n < max) {
            b[n++] = w->ring[w->head];
            w->head = (w->head + 1) % w->capacity;
            w->count--;
        }
        w->busy = 1;
        pthread_mutex_unlock(&w->lock);
        for (size_t i = 0; i < n; i++)
            todo[i] = (struct pd_rep_update) { b[i].id, &b[i].params, b[i].now, b[i].delta };
        int rc = pd_rep_apply_many(w->st, todo, n);
        pthread_mutex_lock(&w->lock);
        w->busy = 0;
        if (rc != PD_ST_OK) {
            /* Log the first failure and then one per 1000, not each. */
            if (w->failed == 0 || (w->failed + n) / 1000 > w->failed / 1000) {
                char detail[PD_ST_ERRLEN];
                pd_state_error(w->st, detail, sizeof detail);
                pd_log(PD_LOG_WARNING, "reputation: update of %s%s failed: %s", b[0].id,
                       n > 1 ? " and others" : "", detail);
            }
            w->failed += n;
        }
        if (w->count == 0)
            pthread_cond_broadcast(&w->drained);
    }
    pthread_cond_broadcast(&w->drained);
    pthread_mutex_unlock(&w->lock);
    free(batch);
    return NULL;
}

struct pd_rep_writer *
pd_rep_writer_start(struct pd_state *st, size_t capacity)
{
    struct pd_rep_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->st = st;
    w->capacity = capacity ? capacity : 1;
    w->ring = calloc(w->capacity, sizeof *w->ring);
    if (w->ring == NULL) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->nonempty, NULL);
    pthread_cond_init(&w->drained, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->nonempty);
        pthread_cond_destroy(&w->drained);
        free(w->ring);
        free(w);
        return NULL;
    }
    return w;
}

int
pd_rep_writer_push(struct pd_rep_writer *w, const struct pd_rep_params *p, const char *id,
                   int64_t now, const struct pd_rep_delta *d)
{
    size_t len = strlen(id);
    if (len == 0 || len >= PD_REP_ID_MAX)
        return -1;
    pthread_mutex_lock(&w->lock);
    if (w->count == w->capacity || w->stopping) {
        uint64_t n = w->dropped++;
        pthread_mutex_unlock(&w->lock);
        if (n % 1000 == 0)
            pd_log(PD_LOG_WARNING, "reputation: update queue full, %llu updates dropped",
                   (unsigned long long) n + 1);
        return -1;
    }
    struct update *u = &w->ring[(w->head + w->count) % w->capacity];
    memcpy(u->id, id, len + 1);
    u->params = *p;
    u->delta = *d;
    u->now = now;
    w->count++;
    pthread_cond_signal(&w->nonempty);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

void
pd_rep_writer_flush(struct pd_rep_writer *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->count > 0 || w->busy)
        pthread_cond_wait(&w->drained, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void
pd_rep_writer_stats(struct pd_rep_writer *w, uint64_t *dropped, uint64_t *failed)
{
    pthread_mutex_lock(&w->lock);
    *dropped = w->dropped;
    *failed = w->failed;
    pthread_mutex_unlock(&w->lock);
}

void
pd_rep_writer_stop(struct pd_rep_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->nonempty);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->nonempty);
    pthread_cond_destroy(&w->drained);
    free(w->ring);
    free(w);
}
