/* SPDX-License-Identifier: Apache-2.0 */
/* SQL sinks against a private PostgreSQL and SQLite files: Tyk's table layouts and values,
 * sharding, the exactly-once cursor, a database going away and coming back, throughput. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "pg_server.h"
#include "pump_sink.h"
#include "pump_sql_tables.h"

#define S(lit) TK_STR(lit)
#define T10 1709632800 /* 2024-03-05 10:00:00 UTC */
#define DAY 86400

static test_pg_t pg;
static char tmpdir[64];

/* ---- helpers --------------------------------------------------------------------------------- */

static PGconn *pgc(void)
{
    PGconn *c = PQconnectdb(pg.conninfo);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "SET TimeZone = 'UTC'"));
    return c;
}

static void pg_exec(const char *sql)
{
    PGconn *c = pgc();
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* Runs @sql and compares the first row, column by column, with @want (NULL-terminated). */
static void pg_expect_row(const char *sql, const char *const *want)
{
    PGconn *c = pgc();
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    assert_true(PQntuples(r) >= 1);
    int n = 0;
    while (want[n])
        n++;
    assert_int_equal(PQnfields(r), n);
    for (int i = 0; i < n; i++) {
        if (strcmp(PQgetvalue(r, 0, i), want[i]) != 0)
            fail_msg("column %s: got \"%s\", want \"%s\"", PQfname(r, i), PQgetvalue(r, 0, i),
                     want[i]);
    }
    PQclear(r);
    PQfinish(c);
}

static long pg_count(const char *sql)
{
    PGconn *c = pgc();
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static void lite_expect_row(const char *path, const char *sql, const char *const *want)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    for (int i = 0; want[i]; i++) {
        const char *got = (const char *)sqlite3_column_text(st, i);
        if (strcmp(got ? got : "(null)", want[i]) != 0)
            fail_msg("column %s: got \"%s\", want \"%s\"", sqlite3_column_name(st, i),
                     got ? got : "(null)", want[i]);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static long lite_count(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long v = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

typedef struct sink {
    const pump_sink_ops_t *ops;
    void *state;
    json_t *meta;
} sink_t;

/* Creates a sink of @type named @name with meta from @meta_json (PG connection filled in when
 * it has no connection_string). */
static void sink_open(sink_t *s, const char *type, const char *name, const char *meta_json,
                      bool uptime)
{
    json_error_t je;
    s->meta = json_loads(meta_json, 0, &je);
    assert_non_null(s->meta);
    if (!json_object_get(s->meta, "connection_string"))
        json_object_set_new(s->meta, "connection_string", json_string(pg.conninfo));
    s->ops = pump_sink_find(type);
    assert_non_null(s->ops);
    pump_sink_conf_t conf = {
        .name = name, .type = type, .meta = s->meta, .timeout_s = 5, .uptime = uptime};
    char err[256] = "";
    if (s->ops->create(&conf, &s->state, err, sizeof(err)) != 0)
        fail_msg("create: %s", err);
}

static void sink_close(sink_t *s)
{
    s->ops->destroy(s->state);
    json_decref(s->meta);
}

static void must_write(sink_t *s, const pump_item_t *items, size_t n, uint64_t last)
{
    pump_batch_t b = {items, n, last};
    char err[512] = "";
    if (s->ops->write(s->state, &b, err, sizeof(err)) != 0)
        fail_msg("write: %s", err);
}

static uint64_t durable(sink_t *s)
{
    uint64_t seq = 99;
    char err[256] = "";
    if (s->ops->durable_seq(s->state, &seq, err, sizeof(err)) != 0)
        fail_msg("durable_seq: %s", err);
    return seq;
}

static const tk_str_t tags[] = {S("key-key1"), S("org-org1"), S("tab\there")};
static const tk_an_name_t city[] = {{S("en"), S("London")}};

/* A record with every field set. */
static tk_analytics_record_t full_record(void)
{
    tk_analytics_record_t r = {0};
    r.method = S("GET");
    r.host = S("api.example.com");
    r.path = S("/x/y");
    r.raw_path = S("/x%2Fy");
    r.content_length = 12;
    r.user_agent = S("curl/8");
    r.day = 5, r.month = 3, r.year = 2024, r.hour = 10;
    r.response_code = 200;
    r.api_key = S("key1");
    r.timestamp = (tk_an_time_t){T10 + 300, 123456789};
    r.api_version = S("v1");
    r.api_name = S("API One");
    r.api_id = S("api1");
    r.org_id = S("org1");
    r.oauth_id = S("oa1");
    r.request_time = 15;
    r.raw_request = S("R0VU");
    r.raw_response = S("SFRUUA==");
    r.ip_address = S("10.0.0.1");
    r.geo.country_iso_code = S("GB");
    r.geo.city_geoname_id = 2643743;
    r.geo.city_names = city;
    r.geo.n_city_names = 1;
    r.geo.latitude = 51.5;
    r.geo.longitude = -0.12;
    r.geo.time_zone = S("Europe/London");
    r.network.open_connections = 1;
    r.network.closed_connections = 2;
    r.network.bytes_in = 300;
    r.network.bytes_out = 400;
    r.latency.total = 15;
    r.latency.upstream = 11;
    r.tags = tags;
    r.n_tags = 3;
    r.alias = S("al");
    r.track_path = true;
    r.expire_at = (tk_an_time_t){T10 + 300 + 31 * DAY, 0};
    return r;
}

static const char raw_select[] =
    "SELECT method, host, path, rawpath, contentlength, useragent, responsecode, apikey, "
    "timestamp, apiversion, apiid, orgid, oauthid, requesttime, rawrequest, rawresponse, "
    "ipaddress, geo_country_iso_code, geo_city_geoname_id, geo_city_names, "
    "geo_location_latitude, geo_location_longitude, geo_location_time_zone, "
    "network_open_connections, network_closed_connections, network_bytes_in, "
    "network_bytes_out, latency_total, latency_upstream, tags, alias, trackpath, \"expireAt\" "
    "FROM ";

/* ---- PostgreSQL ------------------------------------------------------------------------------ */

static void test_pg_raw_every_column(void **state)
{
    (void)state;
    sink_t s;
    sink_open(&s, "sql", "SQL", "{\"type\": \"postgres\"}", false);
    assert_int_equal(durable(&s), 0);
    tk_analytics_record_t r1 = full_record(), r2 = full_record();
    r2.user_agent = S("bad\xff\x00z"); /* invalid UTF-8 and a NUL must not block the sink */
    r2.response_code = 500;
    pump_item_t items[] = {{7, &r1}, {8, &r2}};
    must_write(&s, items, 2, 9);

    char sql[1024];
    snprintf(sql, sizeof(sql), "%s tyk_analytics WHERE responsecode = 200", raw_select);
    const char *want[] = {"GET",
                          "api.example.com",
                          "/x/y",
                          "/x%2Fy",
                          "12",
                          "curl/8",
                          "200",
                          "key1",
                          "2024-03-05 10:05:00.123456+00",
                          "v1",
                          "api1",
                          "org1",
                          "oa1",
                          "15",
                          "R0VU",
                          "SFRUUA==",
                          "10.0.0.1",
                          "GB",
                          "2643743",
                          "{\"en\":\"London\"}",
                          "51.5",
                          "-0.12",
                          "Europe/London",
                          "1",
                          "2",
                          "300",
                          "400",
                          "15",
                          "11",
                          "[\"key-key1\",\"org-org1\",\"tab\\u0009here\"]",
                          "al",
                          "t",
                          "2024-04-05 10:05:00+00",
                          NULL};
    pg_expect_row(sql, want);
    const char *want_ua[] = {"bad\xEF\xBF\xBDz", NULL};
    pg_expect_row("SELECT useragent FROM tyk_analytics WHERE responsecode = 500", want_ua);
    /* column types as gorm creates them */
    const char *want_types[] = {"text",    "bigint",  "timestamp with time zone",
                                "numeric", "boolean", NULL};
    pg_expect_row("SELECT (SELECT data_type FROM information_schema.columns WHERE table_name = "
                  "'tyk_analytics' AND column_name = 'method'), (SELECT data_type FROM "
                  "information_schema.columns WHERE table_name = 'tyk_analytics' AND column_name "
                  "= 'responsecode'), (SELECT data_type FROM information_schema.columns WHERE "
                  "table_name = 'tyk_analytics' AND column_name = 'expireAt'), (SELECT data_type "
                  "FROM information_schema.columns WHERE table_name = 'tyk_analytics' AND "
                  "column_name = 'geo_location_latitude'), (SELECT data_type FROM "
                  "information_schema.columns WHERE table_name = 'tyk_analytics' AND column_name "
                  "= 'trackpath')",
                  want_types);
    assert_int_equal(pg_count("SELECT count(*) FROM information_schema.columns WHERE table_name "
                              "= 'tyk_analytics'"),
                     33);
    assert_int_equal(pg_count("SELECT count(*) FROM pg_indexes WHERE tablename = "
                              "'tyk_analytics' AND indexname LIKE 'tyk_analytics_idx_%'"),
                     6);
    /* the cursor committed with the rows */
    const char *want_cur[] = {"9", NULL};
    pg_expect_row("SELECT seq FROM turnpike_pump_cursor WHERE sink_name = 'SQL'", want_cur);
    assert_int_equal(durable(&s), 9);
    sink_close(&s);
}

static void test_pg_exactly_once(void **state)
{
    (void)state;
    pg_exec("DROP TABLE IF EXISTS tyk_analytics");
    sink_t s;
    sink_open(&s, "sql", "SQLONCE", "{\"type\": \"postgres\", \"batch_size\": 2}", false);
    tk_analytics_record_t r[5];
    pump_item_t items[5];
    for (int i = 0; i < 5; i++) {
        r[i] = full_record();
        r[i].request_time = i + 1;
        items[i] = (pump_item_t){(uint64_t)i + 1, &r[i]};
    }
    must_write(&s, items, 3, 3);
    sink_close(&s);

    /* a pump killed after the commit offers the same batch again after restart */
    sink_open(&s, "sql", "SQLONCE", "{\"type\": \"postgres\"}", false);
    assert_int_equal(durable(&s), 3);
    must_write(&s, items, 3, 3);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_analytics"), 3);
    /* an overlapping batch only adds what is new */
    must_write(&s, items + 1, 4, 5);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_analytics"), 5);
    assert_int_equal(pg_count("SELECT count(DISTINCT requesttime) FROM tyk_analytics"), 5);
    /* an empty batch (everything filtered) still moves the cursor */
    must_write(&s, NULL, 0, 12);
    assert_int_equal(durable(&s), 12);
    sink_close(&s);
}

static void test_pg_sharding(void **state)
{
    (void)state;
    sink_t s;
    sink_open(&s, "sql", "SQLSHARD", "{\"type\": \"postgres\", \"table_sharding\": true}", false);
    tk_analytics_record_t r[6];
    pump_item_t items[6];
    int day[] = {0, 0, 0, 1, 1, 2};
    for (int i = 0; i < 6; i++) {
        r[i] = full_record();
        r[i].timestamp.sec += day[i] * DAY;
        items[i] = (pump_item_t){(uint64_t)i + 1, &r[i]};
    }
    must_write(&s, items, 6, 6);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_analytics_20240305"), 3);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_analytics_20240306"), 2);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_analytics_20240307"), 1);
    assert_int_equal(pg_count("SELECT count(*) FROM pg_indexes WHERE tablename = "
                              "'tyk_analytics_20240306'"),
                     6);
    sink_close(&s);
}

static void test_pg_down_and_back(void **state)
{
    (void)state;
    pg_exec("DROP TABLE IF EXISTS tyk_analytics");
    sink_t s;
    sink_open(&s, "sql", "SQLDOWN", "{\"type\": \"postgres\"}", false);
    tk_analytics_record_t r1 = full_record(), r2 = full_record();
    pump_item_t a[] = {{1, &r1}}, b[] = {{2, &r2}};
    must_write(&s, a, 1, 1); /* connection now open */

    test_pg_stop(&pg);
    pump_batch_t batch = {b, 1, 2};
    char err[512] = "";
    assert_int_equal(s.ops->write(s.state, &batch, err, sizeof(err)), -1);
    assert_true(strlen(err) > 0);
    uint64_t seq;
    err[0] = '\0';
    assert_int_equal(s.ops->durable_seq(s.state, &seq, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "postgres"));

    test_pg_start(&pg);
    must_write(&s, b, 1, 2); /* reconnects by itself */
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_analytics"), 2);
    assert_int_equal(durable(&s), 2);

    /* restarted while the sink was idle: the next write still succeeds at the first attempt */
    test_pg_stop(&pg);
    test_pg_start(&pg);
    tk_analytics_record_t r3 = full_record();
    pump_item_t c[] = {{3, &r3}};
    must_write(&s, c, 1, 3);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_analytics"), 3);
    sink_close(&s);
}

static void write_agg_batches(sink_t *s, bool replay)
{
    tk_analytics_record_t r[4];
    int codes[] = {200, 404, 200, 500};
    int rt[] = {10, 30, 20, 40};
    int lat[] = {10, 30, 5, 60};
    pump_item_t items[4];
    for (int i = 0; i < 4; i++) {
        r[i] = full_record();
        r[i].timestamp = (tk_an_time_t){T10 + 300 + i * 600, 0};
        r[i].response_code = codes[i];
        r[i].request_time = rt[i];
        r[i].latency.total = lat[i];
        r[i].latency.upstream = lat[i] / 5;
        items[i] = (pump_item_t){(uint64_t)i + 1, &r[i]};
    }
    if (!replay)
        must_write(s, items, 2, 2);
    must_write(s, items + 2, 2, 4);
}

static const char agg_select[] =
    "SELECT id, counter_hits, counter_success, counter_error, counter_request_time, "
    "counter_total_request_time, counter_human_identifier, counter_last_time, "
    "counter_max_latency, counter_min_latency, counter_total_latency, counter_latency, "
    "timestamp, org_id, dimension, dimension_value, code_404, code_500, code_4x, code_200 FROM ";

static void test_pg_aggregate(void **state)
{
    (void)state;
    sink_t s;
    sink_open(&s, "sql-aggregate", "SQLAGG", "{\"type\": \"postgres\"}", false);
    write_agg_batches(&s, false);
    char *id = pump_sqlt_agg_id(T10, "org1", "", "total");
    /* hex("1709632800org1total") */
    assert_string_equal(id, "313730393633323830306f726731746f74616c");
    char sql[1024];
    snprintf(sql, sizeof(sql), "%s tyk_aggregated WHERE dimension = ''", agg_select);
    const char *want[] = {
        id,   "4", "2",   "2",     "25",         "100",  "", "2024-03-05 10:35:00+00",
        "60", "5", "105", "26.25", "1709632800", "org1", "", "total",
        "1",  "1", "0",   "0",     NULL};
    pg_expect_row(sql, want);
    const char *want_api[] = {"4", "API One", NULL};
    pg_expect_row("SELECT counter_hits, counter_human_identifier FROM tyk_aggregated WHERE "
                  "dimension = 'apiid' AND dimension_value = 'api1'",
                  want_api);
    const char *want_err[] = {"1", "1", NULL};
    pg_expect_row("SELECT counter_hits, code_404 FROM tyk_aggregated WHERE dimension = 'errors' "
                  "AND dimension_value = '404'",
                  want_err);
    long rows = pg_count("SELECT count(*) FROM tyk_aggregated");
    assert_true(rows >= 10);
    assert_int_equal(pg_count("SELECT count(*) FROM pg_indexes WHERE indexname = "
                              "'tyk_aggregated_idx_dimension'"),
                     1);
    assert_int_equal(pg_count("SELECT count(*) FROM information_schema.columns WHERE "
                              "table_name = 'tyk_aggregated'"),
                     45);
    sink_close(&s);

    /* restart and replay of the second batch: counted once */
    sink_open(&s, "sql_aggregate", "SQLAGG", "{\"type\": \"postgres\"}", false);
    assert_int_equal(durable(&s), 4);
    write_agg_batches(&s, true);
    pg_expect_row(sql, want); /* unchanged */
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_aggregated"), rows);
    free(id);
    sink_close(&s);
}

static void test_pg_aggregate_sharded_per_minute(void **state)
{
    (void)state;
    sink_t s;
    sink_open(&s, "sql_aggregate", "SQLAGGSHARD",
              "{\"type\": \"postgres\", \"table_sharding\": true, "
              "\"store_analytics_per_minute\": true, \"ignore_tag_prefix_list\": [\"org-\"], "
              "\"ignore_aggregations\": [\"apikeys\"]}",
              false);
    tk_analytics_record_t r[3];
    pump_item_t items[3];
    for (int i = 0; i < 3; i++) {
        r[i] = full_record();
        r[i].timestamp = (tk_an_time_t){T10 + i * 90 + (i == 2 ? DAY : 0), 0};
        items[i] = (pump_item_t){(uint64_t)i + 1, &r[i]};
    }
    must_write(&s, items, 3, 3);
    /* 10:00 and 10:01 are separate minute buckets on day one; day two has its own table */
    assert_int_equal(pg_count("SELECT count(DISTINCT timestamp) FROM tyk_aggregated_20240305"), 2);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_aggregated_20240306 WHERE dimension = ''"),
                     1);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_aggregated_20240305 WHERE dimension = "
                              "'tags' AND dimension_value LIKE 'org-%'"),
                     0);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_aggregated_20240305 WHERE dimension = "
                              "'tags' AND dimension_value = 'tab\there'"),
                     2);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_aggregated_20240305 WHERE dimension = "
                              "'apikeys'"),
                     0);
    sink_close(&s);
}

static void test_pg_uptime(void **state)
{
    (void)state;
    sink_t s;
    sink_open(&s, "sql", "UPTIME", "{\"type\": \"postgres\"}", true);
    static const int codes[] = {200, 500, 200, 200, 500};
    static const int64_t times[] = {10, 10, 10, 20, 20};
    tk_uptime_record_t u[5];
    pump_uptime_item_t items[5];
    for (int i = 0; i < 5; i++) {
        memset(&u[i], 0, sizeof(u[i]));
        u[i].org_id = S("1");
        u[i].url = S("url1");
        u[i].response_code = codes[i];
        u[i].request_time = times[i];
        u[i].timestamp = (tk_an_time_t){T10 + 60 + i, 0};
        items[i] = (pump_uptime_item_t){(uint64_t)i + 1, &u[i]};
    }
    pump_uptime_batch_t b = {items, 5, 5};
    char err[256] = "";
    if (s.ops->write_uptime(s.state, &b, err, sizeof(err)) != 0)
        fail_msg("write_uptime: %s", err);
    assert_int_equal(s.ops->write_uptime(s.state, &b, err, sizeof(err)), 0); /* replay: no-op */
    const char *want[] = {"5", "3", "2", "14", "70", "3", "2", "url1", NULL};
    pg_expect_row("SELECT counter_hits, counter_success, counter_error, counter_request_time, "
                  "counter_total_request_time, code_200, code_500, dimension_value FROM "
                  "tyk_uptime_analytics WHERE dimension = 'url'",
                  want);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_uptime_analytics"), 3);
    sink_close(&s);
}

static void test_pg_throughput(void **state)
{
    (void)state;
    pg_exec("DROP TABLE IF EXISTS tyk_analytics");
    sink_t s;
    sink_open(&s, "sql", "SQLPERF", "{\"type\": \"postgres\"}", false);
    enum { N = 100000, BATCH = 5000 };
    tk_analytics_record_t *r = malloc(sizeof(*r) * BATCH);
    pump_item_t *items = malloc(sizeof(*items) * BATCH);
    for (int i = 0; i < BATCH; i++)
        r[i] = full_record();
    uint64_t t0 = tk_now_ns();
    for (int off = 0; off < N; off += BATCH) {
        for (int i = 0; i < BATCH; i++)
            items[i] = (pump_item_t){(uint64_t)(off + i + 1), &r[i]};
        must_write(&s, items, BATCH, (uint64_t)(off + BATCH));
    }
    double secs = (double)(tk_now_ns() - t0) / 1e9;
    double rate = N / secs;
    printf("# postgres sql sink: %d records in %.2f s = %.0f records/s\n", N, secs, rate);
    assert_int_equal(pg_count("SELECT count(*) FROM tyk_analytics"), N);
    assert_true(rate > 5000); /* sanitizer build; release figure is reported separately */
    free(r);
    free(items);
    sink_close(&s);
}

static void test_pg_create_is_offline(void **state)
{
    (void)state;
    /* create() with a server that is not there succeeds; the write fails cleanly */
    sink_t s;
    sink_open(&s, "sql", "OFF",
              "{\"type\": \"postgres\", \"connection_string\": \"host=127.0.0.1 port=1 "
              "user=x dbname=x TimeZone=UTC\"}",
              false);
    tk_analytics_record_t r = full_record();
    pump_item_t it = {1, &r};
    pump_batch_t b = {&it, 1, 1};
    char err[512] = "";
    assert_int_equal(s.ops->write(s.state, &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "connect"));
    sink_close(&s);
}

static void test_bad_config(void **state)
{
    (void)state;
    const pump_sink_ops_t *ops = pump_sink_find("sql");
    assert_ptr_equal(pump_sink_find("SQL_AGGREGATE"), pump_sink_find("sql-aggregate"));
    const char *bad[] = {"{\"type\": \"mysql\", \"connection_string\": \"x\"}",
                         "{\"connection_string\": \"x\"}", "{\"type\": \"oracle\"}",
                         "{\"type\": \"sqlite\"}",
                         "{\"type\": \"postgres\", \"log_level\": \"loud\"}"};
    const char *why[] = {"not supported", "type", "oracle", "connection_string", "log_level"};
    for (size_t i = 0; i < TK_ARRAY_LEN(bad); i++) {
        json_t *meta = json_loads(bad[i], 0, NULL);
        pump_sink_conf_t conf = {.name = "X", .type = "sql", .meta = meta};
        void *st = NULL;
        char err[256] = "";
        assert_int_equal(ops->create(&conf, &st, err, sizeof(err)), -1);
        if (!strstr(err, why[i]))
            fail_msg("%s: error \"%s\" does not mention %s", bad[i], err, why[i]);
        json_decref(meta);
    }
}

/* ---- SQLite ---------------------------------------------------------------------------------- */

static void test_sqlite_raw_and_once(void **state)
{
    (void)state;
    char path[128], meta[256];
    snprintf(path, sizeof(path), "%s/raw.db", tmpdir);
    snprintf(meta, sizeof(meta), "{\"type\": \"sqlite\", \"connection_string\": \"%s\"}", path);
    sink_t s;
    sink_open(&s, "sql", "LITE", meta, false);
    tk_analytics_record_t r1 = full_record(), r2 = full_record();
    pump_item_t items[] = {{1, &r1}, {2, &r2}};
    must_write(&s, items, 2, 2);
    char sql[1024];
    snprintf(sql, sizeof(sql), "%s tyk_analytics", raw_select);
    const char *want[] = {"GET",
                          "api.example.com",
                          "/x/y",
                          "/x%2Fy",
                          "12",
                          "curl/8",
                          "200",
                          "key1",
                          "2024-03-05 10:05:00.123456789+00:00",
                          "v1",
                          "api1",
                          "org1",
                          "oa1",
                          "15",
                          "R0VU",
                          "SFRUUA==",
                          "10.0.0.1",
                          "GB",
                          "2643743",
                          "{\"en\":\"London\"}",
                          "51.5",
                          "-0.12",
                          "Europe/London",
                          "1",
                          "2",
                          "300",
                          "400",
                          "15",
                          "11",
                          "[\"key-key1\",\"org-org1\",\"tab\\u0009here\"]",
                          "al",
                          "1",
                          "2024-04-05 10:05:00.000000000+00:00",
                          NULL};
    lite_expect_row(path, sql, want);
    const char *wal[] = {"wal", NULL};
    lite_expect_row(path, "PRAGMA journal_mode", wal);
    sink_close(&s);

    sink_open(&s, "sql", "LITE", meta, false);
    assert_int_equal(durable(&s), 2);
    must_write(&s, items, 2, 2);
    assert_int_equal(lite_count(path, "SELECT count(*) FROM tyk_analytics"), 2);
    assert_int_equal(lite_count(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                      "AND name LIKE 'tyk_analytics_idx_%'"),
                     6);
    sink_close(&s);
}

static void test_sqlite_aggregate(void **state)
{
    (void)state;
    char path[128], meta[256];
    snprintf(path, sizeof(path), "%s/agg.db", tmpdir);
    snprintf(meta, sizeof(meta), "{\"type\": \"sqlite\", \"connection_string\": \"%s\"}", path);
    sink_t s;
    sink_open(&s, "sql_aggregate", "LITEAGG", meta, false);
    write_agg_batches(&s, false);
    sink_close(&s);
    sink_open(&s, "sql_aggregate", "LITEAGG", meta, false);
    write_agg_batches(&s, true); /* replay after restart: no double count */
    const char *want[] = {"4",   "2",     "2",          "25.0", "100.0", "60", "5",
                          "105", "26.25", "1709632800", "1",    "1",     NULL};
    lite_expect_row(path,
                    "SELECT counter_hits, counter_success, counter_error, counter_request_time, "
                    "counter_total_request_time, counter_max_latency, counter_min_latency, "
                    "counter_total_latency, counter_latency, timestamp, code_404, code_500 FROM "
                    "tyk_aggregated WHERE dimension = ''",
                    want);
    sink_close(&s);
}

static void test_sqlite_unavailable_then_ok(void **state)
{
    (void)state;
    char dir[128], path[160], meta[256];
    snprintf(dir, sizeof(dir), "%s/later", tmpdir);
    snprintf(path, sizeof(path), "%s/db.sqlite", dir);
    snprintf(meta, sizeof(meta), "{\"type\": \"sqlite\", \"connection_string\": \"%s\"}", path);
    sink_t s;
    sink_open(&s, "sql", "LATER", meta, false);
    tk_analytics_record_t r = full_record();
    pump_item_t it = {1, &r};
    pump_batch_t b = {&it, 1, 1};
    char err[512] = "";
    assert_int_equal(s.ops->write(s.state, &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "sqlite"));
    assert_int_equal(mkdir(dir, 0755), 0);
    must_write(&s, &it, 1, 1);
    assert_int_equal(lite_count(path, "SELECT count(*) FROM tyk_analytics"), 1);
    sink_close(&s);
}

static void test_sqlite_throughput(void **state)
{
    (void)state;
    char path[128], meta[256];
    snprintf(path, sizeof(path), "%s/perf.db", tmpdir);
    snprintf(meta, sizeof(meta), "{\"type\": \"sqlite\", \"connection_string\": \"%s\"}", path);
    sink_t s;
    sink_open(&s, "sql", "LITEPERF", meta, false);
    enum { N = 50000, BATCH = 5000 };
    tk_analytics_record_t *r = malloc(sizeof(*r) * BATCH);
    pump_item_t *items = malloc(sizeof(*items) * BATCH);
    for (int i = 0; i < BATCH; i++)
        r[i] = full_record();
    uint64_t t0 = tk_now_ns();
    for (int off = 0; off < N; off += BATCH) {
        for (int i = 0; i < BATCH; i++)
            items[i] = (pump_item_t){(uint64_t)(off + i + 1), &r[i]};
        must_write(&s, items, BATCH, (uint64_t)(off + BATCH));
    }
    double secs = (double)(tk_now_ns() - t0) / 1e9;
    printf("# sqlite sql sink: %d records in %.2f s = %.0f records/s\n", N, secs, N / secs);
    assert_int_equal(lite_count(path, "SELECT count(*) FROM tyk_analytics"), N);
    free(r);
    free(items);
    sink_close(&s);
}

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/turnpike-sqlite-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    test_pg_init(&pg);
    test_pg_start(&pg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_pg_destroy(&pg);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_raw_every_column),
        cmocka_unit_test(test_pg_exactly_once),
        cmocka_unit_test(test_pg_sharding),
        cmocka_unit_test(test_pg_down_and_back),
        cmocka_unit_test(test_pg_aggregate),
        cmocka_unit_test(test_pg_aggregate_sharded_per_minute),
        cmocka_unit_test(test_pg_uptime),
        cmocka_unit_test(test_pg_throughput),
        cmocka_unit_test(test_pg_create_is_offline),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_sqlite_raw_and_once),
        cmocka_unit_test(test_sqlite_aggregate),
        cmocka_unit_test(test_sqlite_unavailable_then_ok),
        cmocka_unit_test(test_sqlite_throughput),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
