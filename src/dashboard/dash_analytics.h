/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the pump's SQL analytics for the Dashboard API's /api/usage, /api/activity and
 * /api/logs: date ranges from the path, and grouped counters from tyk_aggregated (one row per
 * time bucket, org, dimension and value, as the sql_aggregate sink writes them).
 *
 * Everything is filtered to the caller's org. A database the pump never wrote to (no table yet)
 * reads as empty, not as an error. With the pump's table_sharding, rows live in one table per
 * day (tyk_aggregated_20240131); those are read too.
 */
#ifndef DASH_ANALYTICS_H
#define DASH_ANALYTICS_H

#include "dash_server.h"

/** A half-open range of unix seconds [from, to): from the start of the first day to the end of
 *  the last day, in the dashboard's local time (the pump buckets in its local time too). */
typedef struct dash_an_range {
    int64_t from, to;
} dash_an_range_t;

/**
 * Parses the six path parameters from @first on: dd/mm/yyyy (start) / dd/mm/yyyy (end, inclusive).
 * Stages 400 with a message and returns false for non-numbers, impossible dates, an end before the
 * start or a range longer than a year.
 */
bool dash_an_range_parse(dash_req_t *req, size_t first, dash_an_range_t *out);

enum dash_an_group {
    DASH_AN_BY_TIME,  /* one item per day (or hour with ?res=hour), oldest first */
    DASH_AN_BY_VALUE, /* one item per dimension value, most hits first (?by=, ?sort=) */
};

/** Describes a dimension @value (with the row's human identifier @human) in an item's "id". */
typedef void (*dash_an_id_fn)(json_t *id, const char *value, const char *human);

typedef struct dash_an_query {
    const char *dimension; /* tyk_aggregated.dimension: "" (the totals), "apiid", "errors" ... */
    const char *const *values; /* dimension_value must be one of these (n_values); NULL = any */
    size_t n_values;
    const char *value_prefix; /* dimension_value must start with this; NULL = any */
    enum dash_an_group group;
    dash_an_id_fn fill_id; /* DASH_AN_BY_VALUE: how to show the value */
} dash_an_query_t;

/**
 * Answers a /api/usage or /api/activity request: reads the range from path parameter @first on
 * and ?res, ?p, ?by, ?sort, runs @q over the caller's org, and replies
 * {"data":[{"id":{...},"hits","success","error","last_hit","request_time","latency",...}],
 * "pages":N}. Stages 400 for bad input.
 */
void dash_an_reply(dash_req_t *req, const dash_an_query_t *q, size_t first);

/**
 * The pump's tables for @base ("tyk_aggregated", "tyk_analytics") that exist in @db and may hold
 * rows of @r: @base itself, and the day tables @base_YYYYMMDD of table_sharding around the range.
 * Fills @out (free with dash_an_tables_free; none when the pump never wrote). 0, or -1 with the
 * reason in @err.
 */
typedef struct dash_an_tables {
    char **names;
    size_t n;
} dash_an_tables_t;
int dash_an_tables(tk_sqldb_t *db, const char *base, const dash_an_range_t *r,
                   dash_an_tables_t *out, char *err, size_t errlen);
void dash_an_tables_free(dash_an_tables_t *t);

/** A SQL expression for @col (a timestamp column) as integer unix milliseconds on @db. */
void dash_an_epoch_ms_sql(const tk_sqldb_t *db, const char *col, char *out, size_t cap);

/** Unix milliseconds as Go's time.Time JSON form (RFC 3339, UTC, milliseconds). */
json_t *dash_an_time_json(int64_t ms);

/** Stages the reply for an analytics database that could not be read (logged; 503). */
void dash_an_db_error(dash_req_t *req, const char *err);

#endif
