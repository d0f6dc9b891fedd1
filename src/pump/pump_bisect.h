/* SPDX-License-Identifier: Apache-2.0 */
/* Finding the records a sink's server rejects for good (pump_sink.h: write() == -2).
 *
 * When a batch is rejected, it is split in halves and each half written again, down to single
 * records: the good records of a batch still go through, and each record that is rejected on
 * its own is handed to @reject (the dead-letter file). k bad records in a batch of n cost about
 * 2·k·log2(n) extra writes. Works on item indexes, so it serves analytics and uptime batches. */
#ifndef PUMP_BISECT_H
#define PUMP_BISECT_H

#include "tk_common.h"

typedef struct pump_bisect_cb {
    /* Writes items [off, off + n) of the batch as one batch. Transient errors are retried inside
     * (the runner's backoff). Returns 0 (stored), -2 (rejected for good; reason in @err) or -1
     * (gave up: the pump is stopping). */
    int (*write)(void *ctx, size_t off, size_t n, char *err, size_t errlen);
    /* Item @idx was rejected alone with @why. Returns 0 once it is kept (dead-lettered), -1 when
     * giving up (stopping). */
    int (*reject)(void *ctx, size_t idx, const char *why);
} pump_bisect_cb_t;

/**
 * Writes items [0, n): first all together, then, while rejected, by halves. Returns 0 when every
 * item is either stored or rejected, -1 when a callback gave up (nothing is known about the
 * items not yet handled; the caller keeps the whole batch).
 */
int pump_bisect_write(const pump_bisect_cb_t *cb, void *ctx, size_t n);

#endif
