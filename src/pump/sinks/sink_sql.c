/* SPDX-License-Identifier: Apache-2.0 */
/* Sink "sql": raw analytics records into tyk_analytics (or tyk_analytics_YYYYMMDD shards) on
 * PostgreSQL or SQLite, and, configured as uptime_pump_config with uptime_type "sql", hourly
 * uptime aggregates into tyk_uptime_analytics. Each batch and the sink's cursor commit in one
 * transaction, so a crash at any moment neither loses nor duplicates a record. */
#include "pump_sql_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sql_sink {
    pump_sqlsink_t base;
} sql_sink_t;

static int sql_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    sql_sink_t *s = tk_xcalloc(1, sizeof(*s));
    if (pump_sqlsink_init(&s->base, conf, err, errlen) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static void sql_destroy(void *state)
{
    sql_sink_t *s = state;
    if (!s)
        return;
    pump_sqlsink_fini(&s->base);
    free(s);
}

static int ensure_raw(pump_sqlsink_t *b, const char *table, char *err, size_t errlen)
{
    if (pump_sqlsink_table_known(b, table))
        return 0;
    if (pump_sqlt_ensure_raw(b->db, table, err, errlen) != 0)
        return -1;
    pump_sqlsink_table_created(b, table);
    return 0;
}

static int sql_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    sql_sink_t *s = state;
    pump_sqlsink_t *b = &s->base;
    uint64_t cursor = 0;
    if (pump_sqlsink_begin(b, &cursor, err, errlen) != 0)
        return -1;
    if (batch->last_seq <= cursor) { /* already stored before a restart */
        pump_sqlsink_abort(b);
        return 0;
    }
    /* Runs of consecutive records that go to the same table (one run unless sharded) */
    size_t i = 0;
    while (i < batch->n && batch->items[i].seq <= cursor)
        i++;
    char table[96], next[96];
    while (i < batch->n) {
        pump_sqlt_table_name(table, sizeof(table), PUMP_SQLT_RAW, b->sharded,
                             batch->items[i].rec->timestamp);
        size_t j = i + 1;
        while (j < batch->n && b->sharded) {
            pump_sqlt_table_name(next, sizeof(next), PUMP_SQLT_RAW, true,
                                 batch->items[j].rec->timestamp);
            if (strcmp(next, table) != 0)
                break;
            j++;
        }
        if (!b->sharded)
            j = batch->n;
        if (ensure_raw(b, table, err, errlen) != 0 ||
            pump_sqlt_insert_raw(b->db, table, batch->items + i, j - i, b->batch_size, err,
                                 errlen) != 0) {
            bool bad_data = tk_sqldb_error_permanent(b->db); /* invalid input: -2 */
            pump_sqlsink_abort(b);
            return bad_data ? -2 : -1;
        }
        i = j;
    }
    return pump_sqlsink_commit(b, batch->last_seq, err, errlen);
}

/* Uptime: Tyk aggregates uptime checks per org per hour (dimensions url, errors, total) into
 * tyk_uptime_analytics, one day-table per record date when sharded. */
static int sql_write_uptime(void *state, const pump_uptime_batch_t *batch, char *err, size_t errlen)
{
    sql_sink_t *s = state;
    pump_sqlsink_t *b = &s->base;
    uint64_t cursor = 0;
    if (pump_sqlsink_begin(b, &cursor, err, errlen) != 0)
        return -1;
    if (batch->last_seq <= cursor) {
        pump_sqlsink_abort(b);
        return 0;
    }
    pump_agg_tables_t groups = {0};
    for (size_t i = 0; i < batch->n; i++) {
        if (batch->items[i].seq <= cursor)
            continue;
        const tk_uptime_record_t *rec = batch->items[i].rec;
        char table[96];
        pump_sqlt_table_name(table, sizeof(table), PUMP_SQLT_UPTIME, b->sharded, rec->timestamp);
        pump_agg_add_uptime(pump_agg_tables_get(&groups, table, NULL), rec);
    }
    int rc = pump_sqlsink_write_aggs(b, &groups, NULL, NULL, err, errlen);
    if (rc != 0) {
        pump_sqlsink_abort(b);
        return -1;
    }
    return pump_sqlsink_commit(b, batch->last_seq, err, errlen);
}

static int sql_durable_seq(void *state, uint64_t *seq, char *err, size_t errlen)
{
    sql_sink_t *s = state;
    return pump_sqlsink_durable_seq(&s->base, seq, err, errlen);
}

const pump_sink_ops_t pump_sink_sql = {
    .type = "sql",
    .create = sql_create,
    .write = sql_write,
    .durable_seq = sql_durable_seq,
    .write_uptime = sql_write_uptime,
    .destroy = sql_destroy,
};
