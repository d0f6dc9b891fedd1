/* SPDX-License-Identifier: Apache-2.0 */
/* Takes analytics and uptime records out of Redis exactly once, into the journal.
 *
 * A Lua script moves up to purge_chunk records from a list Tyk's gateway fills into this pump's
 * in-flight list "turnpike-pump:inflight:<pump id>" and stores the batch id (from the counter
 * "turnpike-pump:batch-counter:<pump id>") as "<id>:<kind>" in
 * "turnpike-pump:inflight-id:<pump id>", all atomically and only when nothing is in flight.
 * The pump then reads the in-flight list, appends it to the journal (fsync) and deletes both
 * keys. After a crash, an in-flight batch whose id is the journal's last batch id is already
 * journaled and is only deleted; any other is journaled first. */
#ifndef PUMP_REDIS_H
#define PUMP_REDIS_H

#include "pump_conf.h"
#include "pump_journal.h"

#include <jansson.h>

typedef struct pump_redis pump_redis_t;

/** Starts the thread that visits the lists every purge_delay seconds. */
pump_redis_t *pump_redis_start(const pump_conf_t *c, pump_journal_t *j);
/** Lets the current take (Redis pop + journal append) finish, then stops and joins. */
void pump_redis_stop(pump_redis_t *r);
/** {connected, batches, records, errors, outages, last_error}. New reference. */
json_t *pump_redis_stats(pump_redis_t *r);

#endif
