/*
 * rep_writer.h - reputation updates off the reply path.
 *
 * A reply must never wait for a write to the store (a write transaction
 * may wait for another process's, or for a map resize), so the engine
 * hands each update to a writer: a bounded queue drained by one thread.
 * When the queue is full the update is dropped and counted (reputation is
 * advisory; losing an update costs a little accuracy, blocking would cost
 * mail).  Without a writer, the engine applies updates in place (tests).
 */
#ifndef POSTAGE_POLICY_REP_WRITER_H
#define POSTAGE_POLICY_REP_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "policy/checks/reputation.h"

struct pd_state;
struct pd_rep_writer;

/* Start the writer thread over @st with room for @capacity updates.
 * Returns NULL on failure (out of memory, no thread). */
struct pd_rep_writer *pd_rep_writer_start(struct pd_state *st, size_t capacity);

/* Queue one update; never blocks.  Returns 0, or -1 if it was dropped
 * (queue full, identity empty or too long). */
int pd_rep_writer_push(struct pd_rep_writer *w, const struct pd_rep_params *p,
                       const char *id, int64_t now, const struct pd_rep_delta *d);

/* Wait until every update queued so far has been applied (for tests and
 * an orderly stop). */
void pd_rep_writer_flush(struct pd_rep_writer *w);

/* Updates dropped and updates that failed in the store, since start. */
void pd_rep_writer_stats(struct pd_rep_writer *w, uint64_t *dropped, uint64_t *failed);

/* Apply what is queued, stop the thread and free.  NULL is accepted. */
void pd_rep_writer_stop(struct pd_rep_writer *w);

#endif
