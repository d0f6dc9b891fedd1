/* SPDX-License-Identifier: Apache-2.0 */
/* A sink's dead-letter file: records its server rejected for good (pump_sink.h, write() == -2),
 * kept as one JSON line each in <journal_dir>/deadletter-<SINK>.jsonl so an operator can see,
 * fix and replay them. Each line is the record in Tyk's JSON form (tk_analytics_to_json or
 * tk_uptime_to_json) plus "journal_seq" and "error". Every line is fsync'd before the sink's
 * cursor moves past the record. */
#ifndef PUMP_DEADLETTER_H
#define PUMP_DEADLETTER_H

#include "tk_common.h"

#include <jansson.h>

typedef struct pump_deadletter pump_deadletter_t;

/** The dead-letter file of sink @sink_name in @dir ("/", "\", "." and " " in the name become
 * "_", as in cursor files). Touches no file until the first record. */
pump_deadletter_t *pump_deadletter_new(const char *dir, const char *sink_name);
void pump_deadletter_free(pump_deadletter_t *d);
const char *pump_deadletter_path(const pump_deadletter_t *d);

/**
 * Appends @record (a JSON object; this function adds "journal_seq" = @seq and "error" = @why to
 * it and takes the reference) as one line, and fsyncs. Returns 0, or -1 with the reason in @err
 * (disk full, permissions...): the caller keeps the record and tries again later.
 */
int pump_deadletter_add(pump_deadletter_t *d, json_t *record, uint64_t seq, const char *why,
                        char *err, size_t errlen);

#endif
