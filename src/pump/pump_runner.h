/* SPDX-License-Identifier: Apache-2.0 */
/* One thread per sink: reads the journal from the sink's cursor, decodes, filters and shapes
 * records, writes batches and retries a failed batch with backoff until it is stored. */
#ifndef PUMP_RUNNER_H
#define PUMP_RUNNER_H

#include "pump_conf.h"
#include "pump_journal.h"

#include <jansson.h>

typedef struct pump_runner pump_runner_t;

/**
 * Builds every configured sink (and the uptime sink) without starting threads. Each bad sink
 * configuration is appended to @errs; returns NULL when there was any.
 */
pump_runner_t *pump_runner_new(const pump_conf_t *conf, pump_journal_t *j, tk_conf_errors_t *errs);
/** Starts one thread per sink. */
void pump_runner_start(pump_runner_t *r);
/** Asks every sink thread to stop after its current write, and joins them. Cursors of written
 * batches are persisted before each thread ends. */
void pump_runner_stop(pump_runner_t *r);
/** Destroys the sinks (after pump_runner_stop). NULL is accepted. */
void pump_runner_free(pump_runner_t *r);

/** The lowest cursor of all sinks: every entry up to it has been written everywhere. */
uint64_t pump_runner_min_cursor(pump_runner_t *r);

/** Per-sink counters: {"NAME": {type, in, written, retried, skipped, decode_errors,
 * dead_lettered, cursor, lag, failing, last_error}}. New reference. */
json_t *pump_runner_stats(pump_runner_t *r);

#endif
