/* SPDX-License-Identifier: Apache-2.0 */
/* Interruptible sleeps for worker threads (tk_thread.h). */
#include "tk_thread.h"

#include <errno.h>
#include <time.h>

bool tk_sleep_unless(pthread_mutex_t *mu, pthread_cond_t *cond, _Atomic bool *stop, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(mu);
    while (!atomic_load(stop))
        if (pthread_cond_timedwait(cond, mu, &ts) == ETIMEDOUT)
            break;
    bool go = !atomic_load(stop);
    pthread_mutex_unlock(mu);
    return go;
}
