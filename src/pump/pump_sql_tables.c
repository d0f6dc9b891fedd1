/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk Pump's SQL tables: DDL, raw rows, aggregate upserts, and the exactly-once cursor. */
#include "pump_sql_tables.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum coltype { C_TEXT, C_INT, C_REAL, C_BOOL, C_TIME };

typedef struct column {
    const char *name; /* as written in SQL (quoted when it has capitals) */
    enum coltype type;
} column_t;

/* tyk_analytics, in AnalyticsRecord field order. Day/Month/Year/Hour and APIName are `sql:"-"`
 * in Tyk and are not columns. */
static const column_t raw_cols[] = {
    {"method", C_TEXT},
    {"host", C_TEXT},
    {"path", C_TEXT},
    {"rawpath", C_TEXT},
    {"contentlength", C_INT},
    {"useragent", C_TEXT},
    {"responsecode", C_INT},
    {"apikey", C_TEXT},
    {"timestamp", C_TIME},
    {"apiversion", C_TEXT},
    {"apiid", C_TEXT},
    {"orgid", C_TEXT},
    {"oauthid", C_TEXT},
    {"requesttime", C_INT},
    {"rawrequest", C_TEXT},
    {"rawresponse", C_TEXT},
    {"ipaddress", C_TEXT},
    {"geo_country_iso_code", C_TEXT},
    {"geo_city_geoname_id", C_INT},
    {"geo_city_names", C_TEXT}, /* JSON object */
    {"geo_location_latitude", C_REAL},
    {"geo_location_longitude", C_REAL},
    {"geo_location_time_zone", C_TEXT},
    {"network_open_connections", C_INT},
    {"network_closed_connections", C_INT},
    {"network_bytes_in", C_INT},
    {"network_bytes_out", C_INT},
    {"latency_total", C_INT},
    {"latency_upstream", C_INT},
    {"tags", C_TEXT}, /* JSON array */
    {"alias", C_TEXT},
    {"trackpath", C_BOOL},
    {"\"expireAt\"", C_TIME},
};
#define RAW_NCOLS TK_ARRAY_LEN(raw_cols)

/* Counter columns of SQLAnalyticsRecordAggregate (embedded with prefix counter_); Identifier,
 * ErrorMap and ErrorList are `sql:"-"`. */
static const column_t counter_cols[] = {
    {"counter_hits", C_INT},
    {"counter_success", C_INT},
    {"counter_error", C_INT},
    {"counter_request_time", C_REAL},
    {"counter_total_request_time", C_REAL},
    {"counter_human_identifier", C_TEXT},
    {"counter_last_time", C_TIME},
    {"counter_open_connections", C_INT},
    {"counter_closed_connections", C_INT},
    {"counter_bytes_in", C_INT},
    {"counter_bytes_out", C_INT},
    {"counter_max_upstream_latency", C_INT},
    {"counter_min_upstream_latency", C_INT},
    {"counter_total_upstream_latency", C_INT},
    {"counter_upstream_latency", C_REAL},
    {"counter_max_latency", C_INT},
    {"counter_min_latency", C_INT},
    {"counter_total_latency", C_INT},
    {"counter_latency", C_REAL},
};
#define COUNTER_NCOLS TK_ARRAY_LEN(counter_cols)
#define AGG_NCOLS (1 + COUNTER_NCOLS + 4 + PUMP_AGG_NCODES)

static const char *const raw_indexed[] = {"responsecode", "apikey", "timestamp",
                                          "apiid",        "orgid",  "oauthid"};

static const char *coltype_sql(enum tk_sqldb_kind k, enum coltype t)
{
    bool pg = k == TK_SQLDB_POSTGRES;
    switch (t) {
    case C_TEXT:
        return "text";
    case C_INT:
        return pg ? "bigint" : "integer";
    case C_REAL:
        return pg ? "decimal" : "real";
    case C_BOOL:
        return pg ? "boolean" : "numeric";
    case C_TIME:
        return pg ? "timestamptz" : "datetime";
    }
    return "text";
}

static void bputs(tk_buf_t *b, const char *s)
{
    tk_buf_append(b, s, strlen(s));
}

void pump_sqlt_table_name(char *out, size_t cap, const char *base, bool sharded, tk_an_time_t ts)
{
    if (!sharded) {
        snprintf(out, cap, "%s", base);
        return;
    }
    time_t tt = (time_t)ts.sec;
    struct tm tm;
    localtime_r(&tt, &tm);
    snprintf(out, cap, "%s_%04d%02d%02d", base, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static int exec_buf(tk_sqldb_t *db, tk_buf_t *b, char *err, size_t errlen)
{
    tk_buf_append(b, "", 1);
    int rc = tk_sqldb_exec(db, b->data, err, errlen);
    tk_buf_free(b);
    return rc;
}

static void index_sql(tk_buf_t *b, const char *table, const char *suffix, const char *cols)
{
    bputs(b, "CREATE INDEX IF NOT EXISTS ");
    bputs(b, table);
    bputs(b, suffix);
    bputs(b, " ON ");
    bputs(b, table);
    bputs(b, " (");
    bputs(b, cols);
    bputs(b, ");");
}

int pump_sqlt_ensure_raw(tk_sqldb_t *db, const char *table, char *err, size_t errlen)
{
    enum tk_sqldb_kind k = tk_sqldb_kind(db);
    tk_buf_t b = {0};
    bputs(&b, "CREATE TABLE IF NOT EXISTS ");
    bputs(&b, table);
    bputs(&b, " (");
    for (size_t i = 0; i < RAW_NCOLS; i++) {
        if (i)
            bputs(&b, ",");
        bputs(&b, raw_cols[i].name);
        bputs(&b, " ");
        bputs(&b, coltype_sql(k, raw_cols[i].type));
    }
    bputs(&b, ");");
    for (size_t i = 0; i < TK_ARRAY_LEN(raw_indexed); i++) {
        char suffix[64];
        snprintf(suffix, sizeof(suffix), "_idx_%s", raw_indexed[i]);
        index_sql(&b, table, suffix, raw_indexed[i]);
    }
    return exec_buf(db, &b, err, errlen);
}

int pump_sqlt_ensure_agg(tk_sqldb_t *db, const char *table, bool omit_index, char *err,
                         size_t errlen)
{
    enum tk_sqldb_kind k = tk_sqldb_kind(db);
    tk_buf_t b = {0};
    bputs(&b, "CREATE TABLE IF NOT EXISTS ");
    bputs(&b, table);
    bputs(&b, " (id text PRIMARY KEY");
    for (size_t i = 0; i < COUNTER_NCOLS; i++) {
        bputs(&b, ",");
        bputs(&b, counter_cols[i].name);
        bputs(&b, " ");
        bputs(&b, coltype_sql(k, counter_cols[i].type));
    }
    bputs(&b, ",timestamp ");
    bputs(&b, coltype_sql(k, C_INT));
    bputs(&b, ",org_id text,dimension text,dimension_value text");
    for (size_t i = 0; i < PUMP_AGG_NCODES; i++) {
        bputs(&b, ",code_");
        bputs(&b, pump_agg_code_names[i]);
        bputs(&b, " ");
        bputs(&b, coltype_sql(k, C_INT));
    }
    bputs(&b, ");");
    if (!omit_index)
        index_sql(&b, table, "_idx_dimension", "dimension, timestamp, org_id, dimension_value");
    return exec_buf(db, &b, err, errlen);
}

/* ---- raw rows -------------------------------------------------------------------------------- */

static void json_escape(tk_buf_t *b, const char *p, size_t n)
{
    tk_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') {
            tk_buf_append(b, "\\", 1);
            tk_buf_append(b, &p[i], 1);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof(e), "\\u%04x", c);
            tk_buf_append(b, e, 6);
        } else {
            tk_buf_append(b, &p[i], 1);
        }
    }
    tk_buf_append(b, "\"", 1);
}

int pump_sqlt_insert_raw(tk_sqldb_t *db, const char *table, const pump_item_t *items, size_t n,
                         size_t chunk, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    /* tags and city names as JSON, all in one buffer; offsets first since it may move */
    tk_buf_t json = {0};
    size_t *offs = tk_xmalloc(n * 4 * sizeof(size_t));
    for (size_t r = 0; r < n; r++) {
        const tk_analytics_record_t *rec = items[r].rec;
        offs[r * 4] = json.len;
        tk_buf_append(&json, "[", 1);
        for (size_t t = 0; t < rec->n_tags; t++) {
            if (t)
                tk_buf_append(&json, ",", 1);
            json_escape(&json, rec->tags[t].p, rec->tags[t].len);
        }
        tk_buf_append(&json, "]", 1);
        offs[r * 4 + 1] = json.len;
        offs[r * 4 + 2] = json.len;
        tk_buf_append(&json, "{", 1);
        for (size_t c = 0; c < rec->geo.n_city_names; c++) {
            if (c)
                tk_buf_append(&json, ",", 1);
            json_escape(&json, rec->geo.city_names[c].key.p, rec->geo.city_names[c].key.len);
            tk_buf_append(&json, ":", 1);
            json_escape(&json, rec->geo.city_names[c].value.p, rec->geo.city_names[c].value.len);
        }
        tk_buf_append(&json, "}", 1);
        offs[r * 4 + 3] = json.len;
    }
    tk_sqlval_t *v = tk_xmalloc(n * RAW_NCOLS * sizeof(*v));
    const char *cols[RAW_NCOLS];
    for (size_t c = 0; c < RAW_NCOLS; c++)
        cols[c] = raw_cols[c].name;
    for (size_t r = 0; r < n; r++) {
        const tk_analytics_record_t *x = items[r].rec;
        tk_sqlval_t *o = &v[r * RAW_NCOLS];
        tk_str_t tags = {json.data + offs[r * 4], offs[r * 4 + 1] - offs[r * 4]};
        tk_str_t names = {json.data + offs[r * 4 + 2], offs[r * 4 + 3] - offs[r * 4 + 2]};
        size_t i = 0;
        o[i++] = TK_SQLV_TEXT(x->method);
        o[i++] = TK_SQLV_TEXT(x->host);
        o[i++] = TK_SQLV_TEXT(x->path);
        o[i++] = TK_SQLV_TEXT(x->raw_path);
        o[i++] = TK_SQLV_INT(x->content_length);
        o[i++] = TK_SQLV_TEXT(x->user_agent);
        o[i++] = TK_SQLV_INT(x->response_code);
        o[i++] = TK_SQLV_TEXT(x->api_key);
        o[i++] = TK_SQLV_TIME(x->timestamp);
        o[i++] = TK_SQLV_TEXT(x->api_version);
        o[i++] = TK_SQLV_TEXT(x->api_id);
        o[i++] = TK_SQLV_TEXT(x->org_id);
        o[i++] = TK_SQLV_TEXT(x->oauth_id);
        o[i++] = TK_SQLV_INT(x->request_time);
        o[i++] = TK_SQLV_TEXT(x->raw_request);
        o[i++] = TK_SQLV_TEXT(x->raw_response);
        o[i++] = TK_SQLV_TEXT(x->ip_address);
        o[i++] = TK_SQLV_TEXT(x->geo.country_iso_code);
        o[i++] = TK_SQLV_INT((int64_t)x->geo.city_geoname_id);
        o[i++] = TK_SQLV_TEXT(names);
        o[i++] = TK_SQLV_REAL(x->geo.latitude);
        o[i++] = TK_SQLV_REAL(x->geo.longitude);
        o[i++] = TK_SQLV_TEXT(x->geo.time_zone);
        o[i++] = TK_SQLV_INT(x->network.open_connections);
        o[i++] = TK_SQLV_INT(x->network.closed_connections);
        o[i++] = TK_SQLV_INT(x->network.bytes_in);
        o[i++] = TK_SQLV_INT(x->network.bytes_out);
        o[i++] = TK_SQLV_INT(x->latency.total);
        o[i++] = TK_SQLV_INT(x->latency.upstream);
        o[i++] = TK_SQLV_TEXT(tags);
        o[i++] = TK_SQLV_TEXT(x->alias);
        o[i++] = TK_SQLV_BOOL(x->track_path);
        o[i++] = TK_SQLV_TIME(x->expire_at);
        TK_ASSERT(i == RAW_NCOLS);
    }
    int rc = tk_sqldb_insert(db, table, cols, RAW_NCOLS, v, n, NULL, chunk, err, errlen);
    free(v);
    free(offs);
    tk_buf_free(&json);
    return rc;
}

/* ---- aggregate rows -------------------------------------------------------------------------- */

char *pump_sqlt_agg_id(int64_t bucket, const char *org, const char *dim, const char *value)
{
    static const char hx[] = "0123456789abcdef";
    char ts[24];
    int tl = snprintf(ts, sizeof(ts), "%" PRId64, bucket);
    size_t ol = strlen(org), dl = strlen(dim), vl = strlen(value);
    size_t n = (size_t)tl + ol + dl + vl;
    char *raw = tk_xmalloc(n + 1);
    memcpy(raw, ts, (size_t)tl);
    memcpy(raw + tl, org, ol);
    memcpy(raw + tl + ol, dim, dl);
    memcpy(raw + tl + ol + dl, value, vl);
    char *out = tk_xmalloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[(unsigned char)raw[i] >> 4];
        out[2 * i + 1] = hx[(unsigned char)raw[i] & 15];
    }
    out[2 * n] = '\0';
    free(raw);
    return out;
}

typedef struct agg_rows {
    tk_sqlval_t *vals;
    char **ids;
    int64_t *codes;
    size_t n, cap;
} agg_rows_t;

static tk_str_t cstr(const char *s)
{
    return (tk_str_t){s ? s : "", s ? strlen(s) : 0};
}

static void add_agg_row(const pump_agg_t *a, const pump_agg_entry_t *e, void *arg)
{
    agg_rows_t *rows = arg;
    if (rows->n == rows->cap) {
        rows->cap = rows->cap ? rows->cap * 2 : 32;
        rows->vals = tk_xrealloc(rows->vals, rows->cap * AGG_NCOLS * sizeof(tk_sqlval_t));
        rows->ids = tk_xrealloc(rows->ids, rows->cap * sizeof(char *));
        rows->codes = tk_xrealloc(rows->codes, rows->cap * PUMP_AGG_NCODES * sizeof(int64_t));
    }
    size_t r = rows->n++;
    const char *dim = pump_agg_dim_name(e->dim);
    rows->ids[r] = pump_sqlt_agg_id(a->bucket, a->org_id, dim, e->value);
    int64_t *codes = &rows->codes[r * PUMP_AGG_NCODES];
    pump_agg_codes(&e->c, codes);
    const pump_agg_counter_t *c = &e->c;
    tk_sqlval_t *o = &rows->vals[r * AGG_NCOLS];
    size_t i = 0;
    o[i++] = TK_SQLV_TEXT(cstr(rows->ids[r]));
    o[i++] = TK_SQLV_INT(c->hits);
    o[i++] = TK_SQLV_INT(c->success);
    o[i++] = TK_SQLV_INT(c->error_total);
    o[i++] = TK_SQLV_REAL(c->request_time);
    o[i++] = TK_SQLV_REAL(c->total_request_time);
    o[i++] = TK_SQLV_TEXT(cstr(c->human_identifier));
    o[i++] = TK_SQLV_TIME(c->last_time);
    o[i++] = TK_SQLV_INT(c->open_connections);
    o[i++] = TK_SQLV_INT(c->closed_connections);
    o[i++] = TK_SQLV_INT(c->bytes_in);
    o[i++] = TK_SQLV_INT(c->bytes_out);
    o[i++] = TK_SQLV_INT(c->max_upstream_latency);
    o[i++] = TK_SQLV_INT(c->min_upstream_latency);
    o[i++] = TK_SQLV_INT(c->total_upstream_latency);
    o[i++] = TK_SQLV_REAL(c->upstream_latency);
    o[i++] = TK_SQLV_INT(c->max_latency);
    o[i++] = TK_SQLV_INT(c->min_latency);
    o[i++] = TK_SQLV_INT(c->total_latency);
    o[i++] = TK_SQLV_REAL(c->latency);
    o[i++] = TK_SQLV_INT(a->bucket);
    o[i++] = TK_SQLV_TEXT(cstr(a->org_id));
    o[i++] = TK_SQLV_TEXT(cstr(dim));
    o[i++] = TK_SQLV_TEXT(cstr(e->value));
    for (size_t k = 0; k < PUMP_AGG_NCODES; k++)
        o[i++] = TK_SQLV_INT(codes[k]);
    TK_ASSERT(i == AGG_NCOLS);
}

/* Tyk's OnConflictAssignments, with the averages guarded against rows of zero hits (network-only
 * rows), which would divide by zero on PostgreSQL. */
static char *agg_conflict_sql(enum tk_sqldb_kind k, const char *t)
{
    bool pg = k == TK_SQLDB_POSTGRES;
    tk_buf_t b = {0};
    char line[512];
    bputs(&b, "ON CONFLICT (id) DO UPDATE SET ");
    bool first = true;
#define ASSIGN(...)                                                                                \
    do {                                                                                           \
        snprintf(line, sizeof(line), __VA_ARGS__);                                                 \
        if (!first)                                                                                \
            bputs(&b, ", ");                                                                       \
        first = false;                                                                             \
        bputs(&b, line);                                                                           \
    } while (0)
    for (size_t i = 0; i < PUMP_AGG_NCODES; i++)
        ASSIGN("code_%s = %s.code_%s + excluded.code_%s", pump_agg_code_names[i], t,
               pump_agg_code_names[i], pump_agg_code_names[i]);
    static const char *const sums[] = {"counter_hits",
                                       "counter_error",
                                       "counter_success",
                                       "counter_open_connections",
                                       "counter_closed_connections",
                                       "counter_bytes_in",
                                       "counter_bytes_out",
                                       "counter_total_request_time",
                                       "counter_total_latency",
                                       "counter_total_upstream_latency"};
    for (size_t i = 0; i < TK_ARRAY_LEN(sums); i++)
        ASSIGN("%s = %s.%s + excluded.%s", sums[i], t, sums[i], sums[i]);
    static const char *const avgs[][2] = {
        {"counter_request_time", "counter_total_request_time"},
        {"counter_upstream_latency", "counter_total_upstream_latency"},
        {"counter_latency", "counter_total_latency"}};
    for (size_t i = 0; i < TK_ARRAY_LEN(avgs); i++)
        ASSIGN("%s = CASE WHEN %s.counter_hits + excluded.counter_hits > 0 THEN "
               "(%s.%s + excluded.%s) / CAST(%s.counter_hits + excluded.counter_hits AS %s) "
               "ELSE 0 END",
               avgs[i][0], t, t, avgs[i][1], avgs[i][1], t, pg ? "DOUBLE PRECISION" : "REAL");
    static const char *const maxs[] = {"counter_max_upstream_latency", "counter_max_latency"};
    static const char *const mins[] = {"counter_min_upstream_latency", "counter_min_latency"};
    for (size_t i = 0; i < 2; i++) {
        ASSIGN("%s = %s(%s.%s, excluded.%s)", maxs[i], pg ? "GREATEST" : "MAX", t, maxs[i],
               maxs[i]);
        ASSIGN("%s = %s(%s.%s, excluded.%s)", mins[i], pg ? "LEAST" : "MIN", t, mins[i], mins[i]);
    }
    ASSIGN("counter_last_time = excluded.counter_last_time");
#undef ASSIGN
    tk_buf_append(&b, "", 1);
    return b.data;
}

int pump_sqlt_upsert_agg(tk_sqldb_t *db, const char *table, const pump_agg_t *a, size_t chunk,
                         char *err, size_t errlen)
{
    agg_rows_t rows = {0};
    pump_agg_foreach(a, add_agg_row, &rows);
    const char *cols[AGG_NCOLS];
    size_t i = 0;
    cols[i++] = "id";
    for (size_t c = 0; c < COUNTER_NCOLS; c++)
        cols[i++] = counter_cols[c].name;
    cols[i++] = "timestamp";
    cols[i++] = "org_id";
    cols[i++] = "dimension";
    cols[i++] = "dimension_value";
    char codecols[PUMP_AGG_NCODES][16];
    for (size_t c = 0; c < PUMP_AGG_NCODES; c++) {
        snprintf(codecols[c], sizeof(codecols[c]), "code_%s", pump_agg_code_names[c]);
        cols[i++] = codecols[c];
    }
    char *conflict = agg_conflict_sql(tk_sqldb_kind(db), table);
    int rc = tk_sqldb_insert(db, table, cols, AGG_NCOLS, rows.vals, rows.n, conflict, chunk, err,
                             errlen);
    free(conflict);
    for (size_t r = 0; r < rows.n; r++)
        free(rows.ids[r]);
    free(rows.ids);
    free(rows.vals);
    free(rows.codes);
    return rc;
}

/* ---- cursor ---------------------------------------------------------------------------------- */

int pump_sqlt_cursor_get(tk_sqldb_t *db, const char *sink, bool for_update, uint64_t *seq,
                         char *err, size_t errlen)
{
    *seq = 0;
    if (tk_sqldb_exec(db,
                      "CREATE TABLE IF NOT EXISTS " PUMP_SQLT_CURSOR
                      " (sink_name text PRIMARY KEY, seq bigint NOT NULL)",
                      err, errlen) != 0)
        return -1;
    char ph[16];
    char sql[160];
    bool pg = tk_sqldb_kind(db) == TK_SQLDB_POSTGRES;
    snprintf(sql, sizeof(sql), "SELECT seq FROM " PUMP_SQLT_CURSOR " WHERE sink_name = %s%s",
             tk_sqldb_param(db, 1, ph), for_update && pg ? " FOR UPDATE" : "");
    tk_sqlval_t p = TK_SQLV_TEXT(cstr(sink));
    int64_t v = 0;
    bool found = false;
    if (tk_sqldb_query_int(db, sql, &p, 1, &v, &found, err, errlen) != 0)
        return -1;
    *seq = found && v > 0 ? (uint64_t)v : 0;
    return 0;
}

int pump_sqlt_cursor_set(tk_sqldb_t *db, const char *sink, uint64_t seq, char *err, size_t errlen)
{
    char a[16], b[16], sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO " PUMP_SQLT_CURSOR " (sink_name, seq) VALUES (%s, %s) "
             "ON CONFLICT (sink_name) DO UPDATE SET seq = excluded.seq",
             tk_sqldb_param(db, 1, a), tk_sqldb_param(db, 2, b));
    tk_sqlval_t p[2] = {TK_SQLV_TEXT(cstr(sink)), TK_SQLV_INT((int64_t)seq)};
    return tk_sqldb_exec_params(db, sql, p, 2, err, errlen);
}

/* ---- what the two SQL sinks share ------------------------------------------------------------ */

static bool key_matches(const char *have, const char *want)
{
    /* "table_sharding" == "TableSharding" == "TABLESHARDING" */
    while (*have || *want) {
        if (*have == '_') {
            have++;
            continue;
        }
        if (*want == '_') {
            want++;
            continue;
        }
        if (!*have || !*want || tolower((unsigned char)*have) != tolower((unsigned char)*want))
            return false;
        have++;
        want++;
    }
    return true;
}

const json_t *pump_sqlsink_meta(const json_t *meta, const char *key)
{
    if (!json_is_object(meta))
        return NULL;
    const json_t *v = json_object_get(meta, key);
    if (v)
        return v;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)meta, k, val)
    {
        if (key_matches(k, key))
            return val;
    }
    return NULL;
}

bool pump_sqlsink_meta_bool(const json_t *meta, const char *key, bool def)
{
    const json_t *v = pump_sqlsink_meta(meta, key);
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "t") == 0;
    }
    return def;
}

int64_t pump_sqlsink_meta_int(const json_t *meta, const char *key, int64_t def)
{
    const json_t *v = pump_sqlsink_meta(meta, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    if (json_is_string(v)) {
        char *end = NULL;
        long long n = strtoll(json_string_value(v), &end, 10);
        if (end && *end == '\0' && end != json_string_value(v))
            return n;
    }
    return def;
}

int pump_sqlsink_init(pump_sqlsink_t *s, const pump_sink_conf_t *conf, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    const json_t *meta = conf->meta;
    const json_t *type = pump_sqlsink_meta(meta, "type");
    enum tk_sqldb_kind kind;
    if (!json_is_string(type)) {
        snprintf(err, errlen, "meta.type is required (\"postgres\" or \"sqlite\")");
        return -1;
    }
    if (tk_sqldb_kind_parse(json_string_value(type), &kind, err, errlen) != 0)
        return -1;
    const json_t *cs = pump_sqlsink_meta(meta, "connection_string");
    if (cs && !json_is_string(cs)) {
        snprintf(err, errlen, "meta.connection_string must be a string");
        return -1;
    }
    const char *conninfo = cs ? json_string_value(cs) : "";
    if (kind == TK_SQLDB_SQLITE && !conninfo[0]) {
        snprintf(err, errlen, "meta.connection_string (the SQLite database file) is required");
        return -1;
    }
    int64_t bs = pump_sqlsink_meta_int(meta, "batch_size", 1000);
    if (bs < 0) {
        snprintf(err, errlen, "meta.batch_size must not be negative");
        return -1;
    }
    const json_t *ll = pump_sqlsink_meta(meta, "log_level");
    if (ll && json_is_string(ll)) {
        const char *l = json_string_value(ll);
        if (*l && strcmp(l, "debug") && strcmp(l, "info") && strcmp(l, "warning") &&
            strcmp(l, "error") && strcmp(l, "silent")) {
            snprintf(err, errlen,
                     "meta.log_level \"%s\" is not one of debug, info, warning, error, silent", l);
            return -1;
        }
    }
    s->sharded = pump_sqlsink_meta_bool(meta, "table_sharding", false);
    s->batch_size = bs == 0 ? 1000 : (size_t)bs;
    s->omit_index = pump_sqlsink_meta_bool(meta, "omit_index_creation", false);
    /* postgres.prefer_simple_protocol and migrate_sharded_tables are accepted: we only ever use
     * unnamed statements (fine behind pgbouncer), and every table we create has the full layout. */
    const char *name = conf->name && *conf->name ? conf->name : conf->type ? conf->type : "sql";
    size_t nl = strlen(name);
    s->cursor_name = tk_xmalloc(nl + 8);
    memcpy(s->cursor_name, name, nl + 1);
    if (conf->uptime)
        memcpy(s->cursor_name + nl, "#uptime", 8);
    s->db = tk_sqldb_new(kind, conninfo, conf->timeout_s);
    return 0;
}

static void strv_clear(char **v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    *n = 0;
}

void pump_sqlsink_fini(pump_sqlsink_t *s)
{
    tk_sqldb_free(s->db);
    strv_clear(s->known, &s->n_known);
    strv_clear(s->pending, &s->n_pending);
    free(s->known);
    free(s->pending);
    free(s->cursor_name);
    memset(s, 0, sizeof(*s));
}

static void strv_push(char ***v, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = tk_xrealloc(*v, *cap * sizeof(char *));
    }
    (*v)[(*n)++] = tk_xstrdup(s);
}

bool pump_sqlsink_table_known(const pump_sqlsink_t *s, const char *table)
{
    for (size_t i = 0; i < s->n_known; i++)
        if (strcmp(s->known[i], table) == 0)
            return true;
    for (size_t i = 0; i < s->n_pending; i++)
        if (strcmp(s->pending[i], table) == 0)
            return true;
    return false;
}

void pump_sqlsink_table_created(pump_sqlsink_t *s, const char *table)
{
    strv_push(&s->pending, &s->n_pending, &s->cap_pending, table);
}

int pump_sqlsink_begin(pump_sqlsink_t *s, uint64_t *cursor, char *err, size_t errlen)
{
    strv_clear(s->pending, &s->n_pending);
    if (tk_sqldb_connect(s->db, err, errlen) != 0)
        return -1;
    /* A server restarted while we were idle shows up only now: BEGIN has no effects, so one
     * fresh connection is worth a second try before reporting the batch as failed. */
    if (tk_sqldb_begin(s->db, err, errlen) != 0 &&
        (tk_sqldb_connect(s->db, err, errlen) != 0 || tk_sqldb_begin(s->db, err, errlen) != 0))
        return -1;
    if (pump_sqlt_cursor_get(s->db, s->cursor_name, true, cursor, err, errlen) != 0) {
        pump_sqlsink_abort(s);
        return -1;
    }
    return 0;
}

int pump_sqlsink_commit(pump_sqlsink_t *s, uint64_t last_seq, char *err, size_t errlen)
{
    if (pump_sqlt_cursor_set(s->db, s->cursor_name, last_seq, err, errlen) != 0 ||
        tk_sqldb_commit(s->db, err, errlen) != 0) {
        pump_sqlsink_abort(s);
        return -1;
    }
    for (size_t i = 0; i < s->n_pending; i++)
        strv_push(&s->known, &s->n_known, &s->cap_known, s->pending[i]);
    strv_clear(s->pending, &s->n_pending);
    return 0;
}

void pump_sqlsink_abort(pump_sqlsink_t *s)
{
    tk_sqldb_rollback(s->db);
    strv_clear(s->pending, &s->n_pending);
}

int pump_sqlsink_durable_seq(pump_sqlsink_t *s, uint64_t *seq, char *err, size_t errlen)
{
    *seq = 0;
    return pump_sqlt_cursor_get(s->db, s->cursor_name, false, seq, err, errlen);
}

pump_agg_set_t *pump_agg_tables_get(pump_agg_tables_t *t, const char *table,
                                    const pump_agg_opts_t *opts)
{
    size_t g = 0;
    while (g < t->n && strcmp(t->g[g].table, table) != 0)
        g++;
    if (g == t->n) {
        t->g = tk_xrealloc(t->g, (t->n + 1) * sizeof(*t->g));
        snprintf(t->g[g].table, sizeof(t->g[g].table), "%s", table);
        pump_agg_set_init(&t->g[g].set, opts);
        t->n++;
    }
    return &t->g[g].set;
}

int pump_sqlsink_write_aggs(pump_sqlsink_t *s, pump_agg_tables_t *t,
                            void (*each)(void *ctx, const pump_agg_t *agg), void *ctx, char *err,
                            size_t errlen)
{
    int rc = 0;
    for (size_t g = 0; g < t->n && rc == 0; g++) {
        struct pump_agg_table *tb = &t->g[g];
        if (tb->set.n == 0)
            continue; /* nothing aggregatable (no org, GraphQL): no table either */
        if (!pump_sqlsink_table_known(s, tb->table)) {
            rc = pump_sqlt_ensure_agg(s->db, tb->table, s->omit_index, err, errlen);
            if (rc == 0)
                pump_sqlsink_table_created(s, tb->table);
        }
        for (size_t a = 0; a < tb->set.n && rc == 0; a++) {
            if (each)
                each(ctx, tb->set.aggs[a]);
            rc =
                pump_sqlt_upsert_agg(s->db, tb->table, tb->set.aggs[a], s->batch_size, err, errlen);
        }
    }
    for (size_t g = 0; g < t->n; g++)
        pump_agg_set_free(&t->g[g].set);
    free(t->g);
    t->g = NULL;
    t->n = 0;
    return rc;
}
