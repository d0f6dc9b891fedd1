/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fixed pool of threads for blocking jobs (bcrypt, ...) whose completions come back on the
 * submitting event loop's thread, in completion order, through a tk_mailbox.
 *
 * Ownership. The pool owns its threads and its queue of jobs. A submitter owns a port
 * (tk_offload_port_t): its tk_mailbox into the submitter's event loop; a port is created and
 * freed on that loop's thread. Every submitted job ends exactly once with its done() callback:
 *   - status TK_OK on the port's thread after work() ran;
 *   - status TK_ERROR on the port's thread if the pool shut down before work() ran, or when
 *     the port is freed with the completion still undelivered (then on the thread freeing it);
 *   - status TK_ERROR on a pool thread if the port was already freed when the job finished.
 * So done() must only free its argument when status is TK_ERROR. Ports and the pool may be
 * freed in any order; tk_offload_free() waits for running jobs, cancels queued ones and joins.
 */
#ifndef TK_OFFLOAD_H
#define TK_OFFLOAD_H

#include "tk_common.h"

#include <event2/event.h>

typedef struct tk_offload tk_offload_t;
typedef struct tk_offload_port tk_offload_port_t;

/** Runs on a pool thread; must not touch the submitter's loop. */
typedef void (*tk_offload_work_fn)(void *arg);
/** Runs once per job (see the header comment for the thread and @status). */
typedef void (*tk_offload_done_fn)(void *arg, int status);

/** A pool of @nthreads threads (0: 2). */
tk_offload_t *tk_offload_new(unsigned nthreads);
/** Stops the pool: running jobs finish, queued ones complete with TK_ERROR; joins. NULL ok. */
void tk_offload_free(tk_offload_t *p);

/** A port into @base's loop; call on the thread that runs @base. */
tk_offload_port_t *tk_offload_port_new(struct event_base *base);
/** Frees @port on its loop's thread (undelivered completions get TK_ERROR there). NULL ok. */
void tk_offload_port_free(tk_offload_port_t *port);

/**
 * This thread's port into @base, created on first use and freed when the thread exits (a
 * pthread key destructor), for threads that own exactly one loop (gateway workers).
 */
tk_offload_port_t *tk_offload_thread_port(struct event_base *base);

/** Queues @work(@arg) then @done(@arg, status) on @port. TK_ERROR (nothing queued) after
 *  tk_offload_free() began. Any thread. */
int tk_offload_submit(tk_offload_t *p, tk_offload_port_t *port, tk_offload_work_fn work,
                      tk_offload_done_fn done, void *arg);

/* ---- ready-made blocking work: bcrypt (libxcrypt) ---- */

/** True for a "$2a$", "$2b$" or "$2y$" bcrypt hash. */
bool tk_bcrypt_is_hash(const char *hash);
/** bcrypt of @password with @cost (4..31; 0: 10) as a "$2a$" hash like Go's bcrypt; malloc'd,
 *  NULL on failure. Blocking (~100 ms at cost 10). */
char *tk_bcrypt_hash(const char *password, int cost);
/** True if @password matches @hash ($2a$/$2b$/$2y$), compared in constant time. Blocking. */
bool tk_bcrypt_check(const char *hash, const char *password);

#endif
