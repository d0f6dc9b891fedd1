/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The threads that run JavaScript plugins (turnpike_jsvm_threads), off the workers' loops.
 *
 * Like tk_offload, every job ends exactly once with done(arg, status) — TK_OK on the submitting
 * worker's thread after work() ran, TK_ERROR when the pool stops first — but completions are
 * handed back in batches: a JS thread keeps finished jobs while more are queued and posts them
 * together (one wake-up of the worker per batch instead of per request). Nothing finished waits
 * long: held jobs go out when the queue runs dry, when a script has run for a while
 * (gw_jsvm_pool_flush_if_due from the interrupt hook) and before a native may block.
 */
#ifndef GW_JSVM_POOL_H
#define GW_JSVM_POOL_H

#include "tk_offload.h"

#include <event2/event.h>

typedef struct gw_jsvm_pool gw_jsvm_pool_t;

/** @nthreads JS threads (0: 1). */
gw_jsvm_pool_t *gw_jsvm_pool_new(unsigned nthreads);
/** After the workers have stopped (their loops still allocated): joins the threads; jobs not
 *  delivered get done(arg, TK_ERROR). NULL ok. */
void gw_jsvm_pool_free(gw_jsvm_pool_t *p);

/** From worker @worker_id's thread, whose loop is @base: queues @work then @done. TK_ERROR
 *  (nothing queued) when stopping or @worker_id is out of range. */
int gw_jsvm_pool_submit(gw_jsvm_pool_t *p, int worker_id, struct event_base *base,
                        tk_offload_work_fn work, tk_offload_done_fn done, void *arg);

/** On a JS thread: hands back finished jobs held longer than a moment (cheap when none). */
void gw_jsvm_pool_flush_if_due(void);
/** On a JS thread: hands back every finished job now (before something that may block). */
void gw_jsvm_pool_flush(void);

#endif
