/* SPDX-License-Identifier: Apache-2.0 */
/* Small thread helpers shared by daemons that run blocking work in their own threads. */
#ifndef TK_THREAD_H
#define TK_THREAD_H

#include "tk_common.h"

#include <pthread.h>
#include <stdatomic.h>

/**
 * Waits up to @ms on @cond (which must use CLOCK_MONOTONIC) unless *@stop is or becomes true.
 * Returns false when stopping. Takes and releases @mu.
 */
bool tk_sleep_unless(pthread_mutex_t *mu, pthread_cond_t *cond, _Atomic bool *stop, int64_t ms);

#endif
