/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk Pump's SQL table layouts (tyk_analytics, tyk_aggregated, tyk_uptime_analytics and their
 * _YYYYMMDD shards) as gorm creates them, the rows we write into them, and the per-sink cursor
 * table that makes SQL sinks exactly-once.
 *
 * Column names follow Tyk's gorm tags (gorm.Config{UseJSONTags, AutoEmbedd}): top-level raw
 * columns have explicit names (method, host, rawpath, ...), embedded structs are prefixed with
 * their json name (geo_country_iso_code, network_bytes_in, latency_total, counter_hits, code_200).
 * Types are gorm's defaults: text, bigint, decimal, boolean, timestamptz on PostgreSQL; text,
 * integer, real, numeric, datetime on SQLite. */
#ifndef TK_SQL_TABLES_H
#define TK_SQL_TABLES_H

#include "pump_aggregate.h"
#include "pump_sink.h"
#include "tk_sqldb.h"

#define PUMP_SQLT_RAW "tyk_analytics"
#define PUMP_SQLT_AGG "tyk_aggregated"
#define PUMP_SQLT_UPTIME "tyk_uptime_analytics"
#define PUMP_SQLT_CURSOR "turnpike_pump_cursor"

/** Writes @base or, when @sharded, "@base_YYYYMMDD" for @ts in local time (Tyk formats the
 * record's time.Time, which the pump decodes in its local zone). */
void pump_sqlt_table_name(char *out, size_t cap, const char *base, bool sharded, tk_an_time_t ts);

/** CREATE TABLE IF NOT EXISTS for raw records, plus Tyk's indexes <table>_idx_<column> on
 * responsecode, apikey, timestamp, apiid, orgid, oauthid. */
int pump_sqlt_ensure_raw(tk_sqldb_t *db, const char *table, char *err, size_t errlen);

/** CREATE TABLE IF NOT EXISTS for aggregate rows (tyk_aggregated and tyk_uptime_analytics share
 * the layout), plus index <table>_idx_dimension (dimension, timestamp, org_id, dimension_value)
 * unless @omit_index. */
int pump_sqlt_ensure_agg(tk_sqldb_t *db, const char *table, bool omit_index, char *err,
                         size_t errlen);

/** Appends @n records (items[i].rec) to @table; @chunk bounds rows per statement. */
int pump_sqlt_insert_raw(tk_sqldb_t *db, const char *table, const pump_item_t *items, size_t n,
                         size_t chunk, char *err, size_t errlen);

/** Upserts every dimension row of @a into @table, adding to rows already there the way Tyk's
 * ON CONFLICT assignments do (counts and totals summed, averages recomputed from the totals,
 * max/min kept, last_time replaced). */
int pump_sqlt_upsert_agg(tk_sqldb_t *db, const char *table, const pump_agg_t *a, size_t chunk,
                         char *err, size_t errlen);

/** The row id Tyk uses: hex of "<bucket unix seconds><org><dimension><value>". Malloc'd. */
char *pump_sqlt_agg_id(int64_t bucket, const char *org, const char *dim, const char *value);

/** Creates the cursor table if needed and reads @sink's stored seq (0 when none). With
 * @for_update the row is locked until the transaction ends (PostgreSQL). */
int pump_sqlt_cursor_get(tk_sqldb_t *db, const char *sink, bool for_update, uint64_t *seq,
                         char *err, size_t errlen);
/** Stores @seq for @sink (upsert); call in the same transaction as the data. */
int pump_sqlt_cursor_set(tk_sqldb_t *db, const char *sink, uint64_t seq, char *err, size_t errlen);

/* ---- what the two SQL sinks share ---------------------------------------------------------- */

/** Configuration and state common to the "sql" and "sql_aggregate" sinks. */
typedef struct pump_sqlsink {
    tk_sqldb_t *db;
    char *cursor_name; /* key in turnpike_pump_cursor */
    bool sharded;      /* meta.table_sharding */
    size_t batch_size; /* meta.batch_size: rows per statement (Tyk default 1000) */
    bool omit_index;   /* meta.omit_index_creation */
    char **known;      /* tables created by a committed transaction */
    size_t n_known, cap_known;
    char **pending; /* tables created in the open transaction */
    size_t n_pending, cap_pending;
} pump_sqlsink_t;

/** Reads meta.type, connection_string, table_sharding, batch_size, log_level,
 * postgres.prefer_simple_protocol, migrate_sharded_tables, omit_index_creation. Keys match
 * case-insensitively and with or without underscores (env overrides arrive as TABLESHARDING).
 * Never touches the network. */
int pump_sqlsink_init(pump_sqlsink_t *s, const pump_sink_conf_t *conf, char *err, size_t errlen);
void pump_sqlsink_fini(pump_sqlsink_t *s);

/** A meta value by Tyk's key name, tolerant of case and underscores; NULL when absent. */
const json_t *pump_sqlsink_meta(const json_t *meta, const char *key);
bool pump_sqlsink_meta_bool(const json_t *meta, const char *key, bool def);
int64_t pump_sqlsink_meta_int(const json_t *meta, const char *key, int64_t def);

/** Connects, opens a transaction and reads (locking) this sink's cursor into *@cursor. */
int pump_sqlsink_begin(pump_sqlsink_t *s, uint64_t *cursor, char *err, size_t errlen);
/** Stores @last_seq as the cursor and commits; tables created in it become known. */
int pump_sqlsink_commit(pump_sqlsink_t *s, uint64_t last_seq, char *err, size_t errlen);
/** Rolls back; tables created in it are forgotten. */
void pump_sqlsink_abort(pump_sqlsink_t *s);
/** Whether @table is known to exist; remember_table marks it created in this transaction. */
bool pump_sqlsink_table_known(const pump_sqlsink_t *s, const char *table);
void pump_sqlsink_table_created(pump_sqlsink_t *s, const char *table);
/** ops->durable_seq. */
int pump_sqlsink_durable_seq(pump_sqlsink_t *s, uint64_t *seq, char *err, size_t errlen);

/** Aggregates of one batch, one set per destination table (sharded tables split a batch). */
typedef struct pump_agg_tables {
    struct pump_agg_table {
        char table[96];
        pump_agg_set_t set;
    } * g;
    size_t n;
} pump_agg_tables_t;

/** The set for @table (created with @opts, which may be NULL, on first use). */
pump_agg_set_t *pump_agg_tables_get(pump_agg_tables_t *t, const char *table,
                                    const pump_agg_opts_t *opts);
/** In the open transaction: creates the tables not known yet and upserts every aggregate
 *  (@each, if set, sees each one first). Frees @t. Returns 0 or -1 with @err set. */
int pump_sqlsink_write_aggs(pump_sqlsink_t *s, pump_agg_tables_t *t,
                            void (*each)(void *ctx, const pump_agg_t *agg), void *ctx, char *err,
                            size_t errlen);

#endif
