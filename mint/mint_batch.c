/*
 * mint_batch.c - the SHA-1 batch scheduler: one crew of threads for a whole
 * batch of stamps (mint_batch.h), and postage_mint_batch().
 *
 * Why.  Splitting each stamp across the threads and starting them again per
 * stamp costs a thread start and stop per stamp, and the threads that did
 * not find the counter finish their chunk in vain: at 16 bits two threads
 * minted fewer stamps per second than one.  Here each thread mints a stamp
 * of its own, so threads share nothing but a lock taken twice per stamp.
 *
 * Slots.  A stamp being searched sits in a slot: its layout, a cursor over
 * its counter space in chunks of 64^3 (one W12 value, so a kernel's
 * per-W12 work is never wasted), the number of threads on it, and a done
 * flag.  A thread takes the next unstarted stamp, lays it out (outside the
 * lock: the RAND and the midstate are per-stamp work that must run in
 * parallel) and searches it alone.  When no stamp is left to start, an idle
 * thread joins the slot with the fewest threads and takes chunks from the
 * same cursor, so the last stamps of a batch, or a single stamp, are still
 * searched by every thread.  The first thread to find a counter claims the
 * stamp, writes it out and moves on; the others see the done flag between
 * two kernel calls.  Calls are 2^16 counters (about a third of a
 * millisecond on one core) while a thread is alone on a stamp, and shorter
 * for shared stamps of few bits, where a helper's call past the winning
 * counter is pure waste.
 *
 * A stamp whose 64^7 counters all fail (possible past about 36 bits) gets a
 * fresh RAND from the last thread to leave it, which then searches it on.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mint/mint_batch.h"
#include "mint/mint_crew.h"
#include "mint/mint_layout.h"
#include "postage/mint.h"
#include "postage/status.h"

#define CHUNK (UINT64_C(1) << 18)      /* 64^3 counters: one value of W12 */
#define CHUNKS (SHA1_SEARCH_SPACE / CHUNK)
#define SLICE_ALONE (UINT64_C(1) << 16)
#define SLICE_SHARED_MIN (UINT64_C(1) << 12)

enum slot_state {
    SLOT_FREE = 0,
    SLOT_LAYING,     /* one thread is laying the stamp out */
    SLOT_OPEN,       /* searchable; others may join */
    SLOT_EXHAUSTED,  /* every chunk handed out: no one may join */
};

struct slot {
    struct mint_layout layout;  /* written only while LAYING, by one thread */
    size_t item;                /* under lock */
    int state;                  /* under lock */
    atomic_uint workers;        /* changed under lock; read between calls */
    atomic_int done;            /* set once, by the thread that claims it */
    atomic_uint_fast64_t next_chunk;
    atomic_uint_fast64_t trials;
    double started;
};

struct batch {
    struct postage_mint_batch_item *items;
    size_t count;
    const struct postage_mint_options *o;
    const struct sha1_kernel *kernel;
    const char *date;
    unsigned nthreads;

    pthread_mutex_t lock;       /* the scheduler: next_item, slot states */
    pthread_cond_t work;        /* a slot opened or was freed */
    unsigned waiting;           /* under lock: threads waiting on work */
    size_t next_item;           /* under lock */
    struct slot *slots;         /* nthreads of them */
    struct mint_crew crew;      /* threads, stop, trials, progress */
};

/* An item's status while it waits for a thread. */
#define PENDING POSTAGE_ERR_CANCELLED

/* The kernel call for a stamp shared by several threads: about a quarter
 * of its expected trials, so a helper wastes little past the winner. */
static uint64_t
shared_slice(unsigned bits)
{
    if (bits <= 14)
        return SLICE_SHARED_MIN;
    if (bits >= 18)
        return SLICE_ALONE;
    return UINT64_C(1) << (bits - 2);
}

static void
count_trials(struct batch *b, struct slot *s, uint64_t n)
{
    atomic_fetch_add_explicit(&b->crew.trials, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->trials, n, memory_order_relaxed);
}

/* The first thread to find a counter for @s writes its stamp out. */
static void
claim(struct batch *b, struct slot *s, uint64_t n)
{
    if (atomic_exchange(&s->done, 1))
        return;
    struct postage_mint_batch_item *it = &b->items[s->item];
    unsigned actual = 0;
    int rc = mint_finish(&s->layout, n, it->stamp, it->size, &actual);
    if (rc == POSTAGE_OK) {
        it->result.actual = actual;
        it->result.trials = atomic_load_explicit(&s->trials, memory_order_relaxed);
        it->result.seconds = mint_seconds() - s->started;
        it->result.kernel = b->kernel->name;
        it->result.threads = b->nthreads;
    }
    it->status = rc;
    atomic_fetch_add(&b->crew.stamps_done, 1);
}

/* A stamp that ends before any search: an error, or 0 bits. */
static void
end_early(struct batch *b, struct slot *s, int rc)
{
    if (rc == POSTAGE_OK) {
        claim(b, s, 0); /* every counter is worth 0 bits */
        return;
    }
    atomic_store(&s->done, 1);
    b->items[s->item].status = rc;
    atomic_fetch_add(&b->crew.stamps_done, 1);
}

/* Lay @s's stamp out, with a fresh RAND (outside the lock: the slot is
 * LAYING, so no other thread touches it). */
static void
lay_out_slot(struct batch *b, struct slot *s, int new_item)
{
    const struct postage_mint_batch_item *it = &b->items[s->item];
    char head[POSTAGE_MINT_STAMP_SIZE];

    if (new_item) {
        atomic_store(&s->trials, 0);
        s->started = mint_seconds();
    }
    atomic_store(&s->next_chunk, 0);
    atomic_store(&s->done, 0);
    size_t head_len = mint_head(it->resource, it->bits, b->date, b->o, head, sizeof head);
    int rc = head_len == 0 ? POSTAGE_ERR_TOO_LONG
                           : mint_lay_out(&s->layout, head, head_len, it->bits);
    if (rc == POSTAGE_OK && s->layout.length >= it->size)
        rc = POSTAGE_ERR_TOO_LONG; /* no use searching: it cannot be written */
    if (rc != POSTAGE_OK || it->bits == 0)
        end_early(b, s, rc);
}

/* Search @s until it is done, the batch stops, or its counters run out
 * (then returns 1). */
static int
search_slot(struct batch *b, struct slot *s)
{
    const struct mint_layout *l = &s->layout;
    const unsigned kbits = l->bits > 64 ? 64 : l->bits;

    for (;;) {
        uint64_t chunk = atomic_fetch_add(&s->next_chunk, 1);
        if (chunk >= CHUNKS)
            return 1;
        uint64_t first = chunk * CHUNK, end = first + CHUNK, hit;
        while (first < end) {
            if (atomic_load_explicit(&b->crew.stop, memory_order_relaxed) ||
                atomic_load_explicit(&s->done, memory_order_relaxed))
                return 0;
            uint64_t n = atomic_load_explicit(&s->workers, memory_order_relaxed) > 1
                             ? shared_slice(l->bits) : SLICE_ALONE;
            if (n > end - first)
                n = end - first;
            if (b->kernel->search(&l->job, first, n, kbits, &hit)) {
                count_trials(b, s, hit - first + 1);
                if (mint_hit_counts(l, hit)) {
                    claim(b, s, hit);
                    return 0;
                }
                first = hit + 1;
            } else {
                count_trials(b, s, n);
                first += n;
            }
        }
    }
}

/* Under the lock: the next unstarted stamp (*lay = 1: the caller lays it
 * out), else the open slot with the fewest threads (*lay = 0), else NULL
 * when nothing is left to do.  Waits while the only stamps left are being
 * laid out. */
static struct slot *
take_work(struct batch *b, int *lay)
{
    for (;;) {
        if (atomic_load(&b->crew.stop))
            return NULL;
        while (b->next_item < b->count && b->items[b->next_item].status != PENDING)
            b->next_item++; /* refused before the search began */
        if (b->next_item < b->count) {
            for (unsigned i = 0; i < b->nthreads; i++) {
                struct slot *s = &b->slots[i];
                if (s->state != SLOT_FREE)
                    continue;
                s->item = b->next_item++;
                s->state = SLOT_LAYING;
                atomic_store(&s->workers, 1);
                *lay = 1;
                return s;
            }
            /* Unreachable: a thread on no slot leaves one free. */
        }
        struct slot *best = NULL;
        int pending = 0;
        for (unsigned i = 0; i < b->nthreads; i++) {
            struct slot *s = &b->slots[i];
            if (s->state == SLOT_FREE || atomic_load(&s->done))
                continue;
            pending = 1;
            if (s->state == SLOT_OPEN &&
                (best == NULL || atomic_load(&s->workers) < atomic_load(&best->workers)))
                best = s;
        }
        if (best != NULL) {
            atomic_fetch_add(&best->workers, 1);
            *lay = 0;
            return best;
        }
        if (!pending)
            return NULL;
        b->waiting++;
        pthread_cond_wait(&b->work, &b->lock);
        b->waiting--;
    }
}

/* Under the lock: leave @s; the last thread out of a stamp whose counters
 * ran out keeps it to lay it out again (*lay = 2).  Then take new work. */
static struct slot *
leave_slot(struct batch *b, struct slot *s, int exhausted, int *lay)
{
    if (exhausted && s->state == SLOT_OPEN)
        s->state = SLOT_EXHAUSTED;
    unsigned left = atomic_load(&s->workers) - 1;
    atomic_store(&s->workers, left);
    if (left == 0) {
        if (s->state == SLOT_EXHAUSTED && !atomic_load(&s->done) &&
            !atomic_load(&b->crew.stop)) {
            s->state = SLOT_LAYING;
            atomic_store(&s->workers, 1);
            *lay = 2;
            return s;
        }
        s->state = SLOT_FREE;
        if (b->waiting > 0)
            pthread_cond_broadcast(&b->work);
    }
    return take_work(b, lay);
}

static void *
batch_worker(void *arg)
{
    struct batch *b = arg;
    int lay = 0;

    pthread_mutex_lock(&b->lock);
    struct slot *s = take_work(b, &lay);
    while (s != NULL) {
        if (lay) {
            pthread_mutex_unlock(&b->lock);
            lay_out_slot(b, s, lay == 1);
            pthread_mutex_lock(&b->lock);
            s->state = SLOT_OPEN;
            if (b->waiting > 0)
                pthread_cond_broadcast(&b->work);
        }
        int exhausted = 0;
        if (!atomic_load(&s->done)) {
            pthread_mutex_unlock(&b->lock);
            exhausted = search_slot(b, s);
            pthread_mutex_lock(&b->lock);
        }
        s = leave_slot(b, s, exhausted, &lay);
    }
    pthread_mutex_unlock(&b->lock);
    mint_crew_leave(&b->crew, 0, 0);
    return NULL;
}

int
mint_sha1_batch(struct postage_mint_batch_item *items, size_t count,
                const struct postage_mint_options *o, const struct sha1_kernel *kernel,
                const char *date, double started)
{
    size_t refused = 0;
    double expected = 0;

    for (size_t i = 0; i < count; i++) {
        struct postage_mint_batch_item *it = &items[i];
        memset(&it->result, 0, sizeof it->result);
        if (it->stamp == NULL || it->size == 0) {
            it->status = POSTAGE_ERR_INVALID;
        } else {
            it->stamp[0] = '\0';
            it->status = mint_check_item(it->resource, it->bits) == POSTAGE_OK
                             ? PENDING : POSTAGE_ERR_INVALID;
        }
        if (it->status == PENDING)
            expected += ldexp(1.0, (int) it->bits);
        else
            refused++;
    }

    struct batch *b = NULL;
    unsigned nthreads = mint_thread_count(o->threads);
    int rc = POSTAGE_OK;
    if (refused < count) {
        b = calloc(1, sizeof *b);
        if (b != NULL && (b->slots = calloc(nthreads, sizeof *b->slots)) == NULL) {
            free(b);
            b = NULL;
        }
        if (b == NULL)
            rc = POSTAGE_ERR_NOMEM;
    }
    if (b != NULL) {
        b->items = items;
        b->count = count;
        b->o = o;
        b->kernel = kernel;
        b->date = date;
        b->nthreads = nthreads;
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->work, NULL);
        mint_crew_init(&b->crew);
        b->crew.expected_trials = expected;
        b->crew.stamps = count;
        atomic_store(&b->crew.stamps_done, refused);
        rc = mint_crew_run(&b->crew, nthreads, batch_worker, b, o, started);
        mint_crew_destroy(&b->crew);
        pthread_cond_destroy(&b->work);
        pthread_mutex_destroy(&b->lock);
        /* The RANDs of stamps not handed out stay secret. */
        sodium_memzero(b->slots, nthreads * sizeof *b->slots);
        free(b->slots);
        free(b);
    }
    /* No thread could start (or no memory): every waiting stamp fails so. */
    if (rc != POSTAGE_OK && rc != POSTAGE_ERR_CANCELLED)
        for (size_t i = 0; i < count; i++)
            if (items[i].status == PENDING)
                items[i].status = rc;
    for (size_t i = 0; i < count; i++)
        if (items[i].status != POSTAGE_OK)
            return items[i].status;
    return POSTAGE_OK;
}

/* Argon2id: the batch's progress, for stamps minted one after the other. */
struct a2id_batch {
    const struct postage_mint_options *o;
    double started;
    double expected;
    uint64_t trials_before;   /* trials of the stamps already minted */
    uint64_t trials_now;      /* the current stamp's, at its last report */
    size_t stamps, done;
};

static int
a2id_progress(void *ctx, const struct postage_mint_progress *p)
{
    struct a2id_batch *ab = ctx;
    ab->trials_now = p->trials;
    struct postage_mint_progress q = {
        .trials = ab->trials_before + p->trials,
        .seconds = mint_seconds() - ab->started,
        .expected_trials = ab->expected,
        .stamps = ab->stamps,
        .stamps_done = ab->done,
    };
    return ab->o->progress(ab->o->progress_ctx, &q);
}

static int
mint_argon2id_batch(struct postage_mint_batch_item *items, size_t count,
                    const struct postage_mint_options *o)
{
    struct a2id_batch ab = { .o = o, .started = mint_seconds(), .stamps = count };
    struct postage_mint_options each = *o;
    int cancelled = 0;

    for (size_t i = 0; i < count; i++)
        if (mint_check_item(items[i].resource, items[i].bits) == POSTAGE_OK)
            ab.expected += ldexp(1.0, (int) items[i].bits);
    if (o->progress != NULL) {
        each.progress = a2id_progress;
        each.progress_ctx = &ab;
    }
    for (size_t i = 0; i < count; i++) {
        struct postage_mint_batch_item *it = &items[i];
        memset(&it->result, 0, sizeof it->result);
        if (cancelled) {
            it->status = POSTAGE_ERR_CANCELLED;
            if (it->stamp != NULL && it->size > 0)
                it->stamp[0] = '\0';
            continue;
        }
        each.bits = it->bits;
        ab.trials_now = 0;
        it->status = postage_mint(it->resource, &each, it->stamp, it->size, &it->result);
        ab.trials_before += it->status == POSTAGE_OK ? it->result.trials : ab.trials_now;
        ab.done++;
        cancelled = it->status == POSTAGE_ERR_CANCELLED;
    }
    for (size_t i = 0; i < count; i++)
        if (items[i].status != POSTAGE_OK)
            return items[i].status;
    return POSTAGE_OK;
}

int
postage_mint_batch(struct postage_mint_batch_item *items, size_t count,
                   const struct postage_mint_options *o)
{
    char date[MINT_DATE_SIZE];
    const struct sha1_kernel *kernel = NULL;
    int rc;

    if (o == NULL || (items == NULL && count > 0))
        return POSTAGE_ERR_INVALID;
    if (count == 0)
        return POSTAGE_OK;
    if ((rc = mint_check_options(o, date)) == POSTAGE_OK && !o->argon2id)
        rc = mint_choose_kernel(o->kernel, &kernel);
    if (rc == POSTAGE_OK && sodium_init() < 0)
        rc = POSTAGE_ERR_RANDOM;
    if (rc != POSTAGE_OK) {
        for (size_t i = 0; i < count; i++) {
            items[i].status = rc;
            memset(&items[i].result, 0, sizeof items[i].result);
            if (items[i].stamp != NULL && items[i].size > 0)
                items[i].stamp[0] = '\0';
        }
        return rc;
    }
    if (o->argon2id)
        return mint_argon2id_batch(items, count, o);
    return mint_sha1_batch(items, count, o, kernel, date, mint_seconds());
}
