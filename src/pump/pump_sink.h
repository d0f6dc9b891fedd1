/* SPDX-License-Identifier: Apache-2.0 */
/* The contract between the pump's journal and its sinks.
 *
 * Every record the pump takes from Redis is first appended to a local journal and given a
 * sequence number (unique, increasing). Each configured sink runs in its own thread with its own
 * cursor into that journal: it is handed batches of decoded records that already passed its
 * filters (org_ids, api_ids, response_codes, skip_*, ignore_fields, omit_detailed_recording,
 * max_record_size, raw_*_decoded), and a batch that fails is retried with backoff until it is
 * written. A slow or failing sink therefore never blocks the others and never loses records.
 * A batch the server rejects for good (write returns -2) is split in halves and written again,
 * down to single records (pump_bisect.h); a record rejected on its own goes to the sink's
 * dead-letter file <journal_dir>/deadletter-<NAME>.jsonl (pump_deadletter.h) and the cursor
 * moves on. A sink whose writes are not atomic may therefore store the good records of a
 * rejected batch twice (as with any retry).
 *
 * A sink's code is blocking and single-threaded: `write` is only ever called from that sink's
 * thread, one batch at a time, and may block up to the configured timeout. */
#ifndef PUMP_SINK_H
#define PUMP_SINK_H

#include "tk_analytics.h"

#include <jansson.h>

/** One record as a sink sees it. */
typedef struct pump_item {
    uint64_t seq; /* journal sequence number */
    const tk_analytics_record_t *rec;
} pump_item_t;

typedef struct pump_batch {
    const pump_item_t *items;
    size_t n;
    /* The highest journal seq this batch covers, including records this sink's filters dropped.
     * A sink that stores its own cursor (see durable_seq) stores this value. */
    uint64_t last_seq;
} pump_batch_t;

typedef struct pump_uptime_item {
    uint64_t seq;
    const tk_uptime_record_t *rec;
} pump_uptime_item_t;

typedef struct pump_uptime_batch {
    const pump_uptime_item_t *items;
    size_t n;
    uint64_t last_seq;
} pump_uptime_batch_t;

/** What a sink is configured with (one entry of pump.conf "pumps", or "uptime_pump_config"). */
typedef struct pump_sink_conf {
    const char *name; /* the key in "pumps" (upper-cased, as Tyk Pump does) */
    const char *type; /* "type", or the name lower-cased when "type" is empty */
    const json_t
        *meta; /* the "meta" object with TYK_PMP_PUMPS_<NAME>_META_* merged in; never NULL */
    const json_t *pump; /* the whole PumpConfig object (for keys outside meta) */
    double timeout_s;   /* "timeout"; 0 = none */
    bool uptime;        /* configured from uptime_pump_config: only write_uptime is called */
} pump_sink_conf_t;

typedef struct pump_sink_ops {
    const char *type; /* the pump.conf "type" this implements, e.g. "sql", "csv" */
    /* Checks the configuration and builds the sink's state. Must not wait on the network: a
     * server that is down is a write error later, not a configuration error. Returns 0, or -1
     * with a message naming the bad field in @err. */
    int (*create)(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen);
    /* Stores a batch. Returns 0 once the records are durable at the sink (committed, flushed,
     * acknowledged); -1 with a reason in @err and the same batch is offered again later
     * (unreachable, timeouts, 5xx, 429, 408: anything a later try may fix; retried forever);
     * -2 with a reason in @err when the server refused the data itself and repeating it cannot
     * succeed (HTTP 400/401/403/404/413/422, a message too large, an SQL data error). Be
     * conservative: -2 sends records to the dead-letter file instead of the sink. The same
     * codes apply to write_uptime. */
    int (*write)(void *state, const pump_batch_t *batch, char *err, size_t errlen);
    /* Optional. For sinks that keep their own cursor in the same transaction as the data (SQL):
     * the highest journal seq already stored, so a restart never writes a record twice. Sets
     * *seq = 0 when the sink has none. Returns 0 or -1 (sink unreachable: asked again later). */
    int (*durable_seq)(void *state, uint64_t *seq, char *err, size_t errlen);
    /* Optional. Uptime records (only for sinks configured from uptime_pump_config). */
    int (*write_uptime)(void *state, const pump_uptime_batch_t *batch, char *err, size_t errlen);
    /* Optional. Called every second or so from the sink's thread (flush timers, reconnects). */
    void (*tick)(void *state);
    void (*destroy)(void *state);
} pump_sink_ops_t;

/** The sink implementation for a pump.conf type, or NULL. Types are matched case-insensitively
 * and Tyk's aliases are accepted (e.g. "sql_aggregate" and "sql-aggregate"). */
const pump_sink_ops_t *pump_sink_find(const char *type);

#endif
