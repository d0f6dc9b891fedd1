/* SPDX-License-Identifier: Apache-2.0 */
/* The pump's HTTP sinks: influx against a real private influxd; elasticsearch and splunk against
 * a recording HTTP server, checking the exact bytes Tyk Pump would send. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_recorder.h"
#include "influx_server.h"
#include "tk_curl.h"
#include "pump_sink.h"
#include "sink_fields.h"
#include "tk_base64.h"

extern const pump_sink_ops_t pump_sink_influx, pump_sink_elasticsearch, pump_sink_splunk;

static const tk_str_t rec_tags[] = {TK_STR("key-abc"), TK_STR("org-o1"), TK_STR("api-a1")};

/* Record @i: distinct time and path; 2024-05-01T12:51:30.123456Z + i seconds. */
static tk_analytics_record_t mk_record(int i)
{
    tk_analytics_record_t r;
    memset(&r, 0, sizeof(r));
    static char paths[16][32];
    snprintf(paths[i % 16], sizeof(paths[0]), "/get/%d", i);
    r.method = TK_STR("GET");
    r.host = TK_STR("upstream.local");
    r.path = (tk_str_t){paths[i % 16], strlen(paths[i % 16])};
    r.raw_path = r.path;
    r.content_length = 12;
    r.user_agent = TK_STR("curl/7.88");
    r.response_code = 200 + i;
    r.api_key = TK_STR("key-0123456789");
    r.timestamp = (tk_an_time_t){1714567890 + i, 123456000};
    r.api_version = TK_STR("Default");
    r.api_name = TK_STR("Test API");
    r.api_id = TK_STR("a1");
    r.org_id = TK_STR("o1");
    r.oauth_id = TK_STR("");
    r.request_time = 7 + i;
    r.raw_request = TK_STR("R0VUIC8gSFRUUC8xLjENCg=="); /* "GET / HTTP/1.1\r\n" */
    r.raw_response = TK_STR("");
    r.ip_address = TK_STR("10.0.0.1");
    r.tags = rec_tags;
    r.n_tags = 3;
    r.alias = TK_STR("k1");
    r.latency.total = 9;
    r.latency.upstream = 5;
    return r;
}

typedef struct batch_buf {
    tk_analytics_record_t recs[16];
    pump_item_t items[16];
    pump_batch_t batch;
} batch_buf_t;

static void mk_batch(batch_buf_t *b, int first, int n)
{
    for (int i = 0; i < n; i++) {
        b->recs[i] = mk_record(first + i);
        b->items[i] = (pump_item_t){.seq = (uint64_t)(first + i + 1), .rec = &b->recs[i]};
    }
    b->batch = (pump_batch_t){.items = b->items, .n = (size_t)n, .last_seq = (uint64_t)(first + n)};
}

/* A sink from a JSON meta text. */
static void *mk_sink(const pump_sink_ops_t *ops, const char *meta_json, double timeout_s)
{
    json_error_t jerr;
    json_t *meta = json_loads(meta_json, 0, &jerr);
    assert_non_null(meta);
    json_t *pump = json_object();
    pump_sink_conf_t conf = {
        .name = "T", .type = ops->type, .meta = meta, .pump = pump, .timeout_s = timeout_s};
    void *state = NULL;
    char err[256] = "";
    int rc = ops->create(&conf, &state, err, sizeof(err));
    if (rc != 0)
        fail_msg("create failed: %s", err);
    json_decref(meta);
    json_decref(pump);
    return state;
}

static int create_err(const pump_sink_ops_t *ops, const char *meta_json, char *err, size_t n)
{
    json_t *meta = json_loads(meta_json, 0, NULL);
    json_t *pump = json_object();
    pump_sink_conf_t conf = {.name = "T", .type = ops->type, .meta = meta, .pump = pump};
    void *state = NULL;
    int rc = ops->create(&conf, &state, err, n);
    if (rc == 0)
        ops->destroy(state);
    json_decref(meta);
    json_decref(pump);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- influx against a real influxd ---------------------------------------------------------- */

/* Runs an InfluxQL query; returns the first series of the first result (new ref) or NULL. */
static json_t *influx_query(const influx_server_t *s, const char *db, const char *q)
{
    char *qe = curl_easy_escape(NULL, q, 0);
    char url[1024];
    snprintf(url, sizeof(url), "%s/query?db=%s&epoch=ns&q=%s", s->url, db, qe);
    curl_free(qe);
    tk_curl_client_t *c = tk_curl_new();
    tk_curl_request_t req = {.method = "GET", .url = url, .timeout_s = 5};
    tk_curl_response_t resp;
    assert_int_equal(tk_curl_do(c, &req, &resp), 0);
    assert_int_equal(resp.status, 200);
    json_t *j = json_loads(resp.body, 0, NULL);
    assert_non_null(j);
    json_t *series = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "results"), 0), "series"), 0);
    json_incref(series);
    json_decref(j);
    tk_curl_response_free(&resp);
    tk_curl_free(c);
    return series;
}

static json_t *cell(json_t *series, size_t row, const char *col)
{
    json_t *cols = json_object_get(series, "columns");
    for (size_t i = 0; i < json_array_size(cols); i++)
        if (strcmp(json_string_value(json_array_get(cols, i)), col) == 0)
            return json_array_get(json_array_get(json_object_get(series, "values"), row), i);
    fail_msg("no column %s", col);
    return NULL;
}

static void test_influx_real_server(void **st)
{
    (void)st;
    influx_server_t srv;
    influx_server_init(&srv);

    char meta[512];
    snprintf(meta, sizeof(meta),
             "{\"address\":\"%s\",\"database_name\":\"tyk analytics\","
             "\"tags\":[\"api_id\",\"response_code\",\"path\"]}",
             srv.url);
    void *sink = mk_sink(&pump_sink_influx, meta, 3);

    batch_buf_t b;
    mk_batch(&b, 0, 3);
    /* Values that need line-protocol escaping, in a tag and in a field. */
    b.recs[1].api_id = TK_STR("a 1,x=y");
    b.recs[1].api_name = TK_STR("say \"hi\" \\ bye");
    b.recs[2].api_name = TK_STR("two\nlines");
    b.recs[2].path = TK_STR("/a b\n");
    char err[512] = "";
    int rc = pump_sink_influx.write(sink, &b.batch, err, sizeof(err));
    if (rc != 0)
        fail_msg("write: %s", err);

    json_t *s = influx_query(&srv, "tyk%20analytics", "SELECT * FROM analytics ORDER BY time");
    assert_non_null(s);
    assert_int_equal(json_array_size(json_object_get(s, "values")), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(json_integer_value(cell(s, i, "time")),
                         (1714567890LL + (long long)i) * 1000000000LL + 123456000LL);
        assert_int_equal(json_integer_value(cell(s, i, "request_time")), 7 + (int)i);
        assert_string_equal(json_string_value(cell(s, i, "method")), "GET");
        assert_string_equal(json_string_value(cell(s, i, "api_key")), "key-0123456789");
        assert_string_equal(json_string_value(cell(s, i, "raw_request")),
                            "R0VUIC8gSFRUUC8xLjENCg==");
        char code[8];
        snprintf(code, sizeof(code), "%d", 200 + (int)i);
        /* response_code is both a field (integer) and a tag (string): influx names the tag's
         * column response_code_1 */
        assert_int_equal(json_integer_value(cell(s, i, "response_code")), 200 + (int)i);
        assert_string_equal(json_string_value(cell(s, i, "response_code_1")), code);
    }
    assert_string_equal(json_string_value(cell(s, 0, "api_id_1")), "a1");
    assert_string_equal(json_string_value(cell(s, 1, "api_id_1")), "a 1,x=y");
    assert_string_equal(json_string_value(cell(s, 1, "api_id")), "a 1,x=y");
    assert_string_equal(json_string_value(cell(s, 1, "api_name")), "say \"hi\" \\ bye");
    assert_string_equal(json_string_value(cell(s, 2, "api_name")), "two\nlines");
    assert_string_equal(json_string_value(cell(s, 2, "path")), "/a b\n");
    /* a tag cannot hold a line break: Tyk's JSON form of the value has it as "\n" text */
    assert_string_equal(json_string_value(cell(s, 2, "path_1")), "/a b\\n");
    assert_string_equal(json_string_value(cell(s, 0, "time_stamp")),
                        "2024-05-01 12:51:30.123456 +0000 UTC");
    json_decref(s);

    /* The same batch again (a retry) rewrites the same points: still 3. */
    assert_int_equal(pump_sink_influx.write(sink, &b.batch, err, sizeof(err)), 0);
    s = influx_query(&srv, "tyk%20analytics", "SELECT count(method) FROM analytics");
    assert_int_equal(
        json_integer_value(json_array_get(json_array_get(json_object_get(s, "values"), 0), 1)), 3);
    json_decref(s);

    /* Server gone: -1 with a reason, quickly (connection refused). */
    influx_server_stop(&srv);
    batch_buf_t b2;
    mk_batch(&b2, 5, 2);
    err[0] = '\0';
    double t0 = now_s();
    assert_int_equal(pump_sink_influx.write(sink, &b2.batch, err, sizeof(err)), -1);
    assert_true(now_s() - t0 < 4.0);
    assert_non_null(strstr(err, "influx"));

    /* Back again: the same batch goes through. */
    influx_server_start(&srv);
    rc = pump_sink_influx.write(sink, &b2.batch, err, sizeof(err));
    if (rc != 0)
        fail_msg("write after restart: %s", err);
    s = influx_query(&srv, "tyk%20analytics", "SELECT count(method) FROM analytics");
    assert_int_equal(
        json_integer_value(json_array_get(json_array_get(json_object_get(s, "values"), 0), 1)), 5);
    json_decref(s);

    /* Database dropped behind the sink's back: it is created again. */
    json_t *d = influx_query(&srv, "tyk%20analytics", "DROP DATABASE \"tyk analytics\"");
    json_decref(d);
    assert_int_equal(pump_sink_influx.write(sink, &b.batch, err, sizeof(err)), 0);
    s = influx_query(&srv, "tyk%20analytics", "SELECT count(method) FROM analytics");
    assert_int_equal(
        json_integer_value(json_array_get(json_array_get(json_object_get(s, "values"), 0), 1)), 3);
    json_decref(s);

    pump_sink_influx.destroy(sink);
    influx_server_destroy(&srv);
}

static void test_influx_config(void **st)
{
    (void)st;
    char err[256];
    assert_int_equal(
        create_err(&pump_sink_influx, "{\"address\":\"http://127.0.0.1:1\"}", err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "database_name"));
    assert_int_equal(create_err(&pump_sink_influx,
                                "{\"address\":\"x\",\"database_name\":\"d\",\"fields\":[\"nope\"]}",
                                err, sizeof(err)),
                     -1);
    assert_int_equal(create_err(&pump_sink_influx,
                                "{\"address\":\"x\",\"database_name\":\"d\",\"tags\":7}", err,
                                sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "tags"));
}

/* ---- elasticsearch ------------------------------------------------------------------------- */

static const char *const ok_bulk = "{\"took\":3,\"errors\":false,\"items\":[]}";

/* Line @n (0-based) of @body, copied into @out. */
static void nth_line(const char *body, int n, char *out, size_t outlen)
{
    const char *p = body;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    assert_non_null(p);
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    assert_true(len < outlen);
    memcpy(out, p, len);
    out[len] = '\0';
}

static int count_lines(const char *body)
{
    int n = 0;
    for (const char *p = body; *p; p++)
        n += *p == '\n';
    return n;
}

static void test_es_bulk_wire_format(void **st)
{
    (void)st;
    http_recorder_t *rec = http_recorder_start();
    http_recorder_reply(rec, 200, "application/json", ok_bulk);
    char meta[512];
    snprintf(meta, sizeof(meta),
             "{\"elasticsearch_url\":\"%s/\",\"rolling_index\":true,\"extended_stats\":true,"
             "\"decode_base64\":true,\"generate_id\":true,\"version\":\"7\"}",
             http_recorder_url(rec));
    void *sink = mk_sink(&pump_sink_elasticsearch, meta, 3);
    assert_int_equal(http_recorder_count(rec), 0); /* create() never touches the network */

    batch_buf_t b;
    mk_batch(&b, 0, 2);
    b.recs[1].timestamp.sec += 86400; /* the next day: its own index */
    char err[512] = "";
    int rc = pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err));
    if (rc)
        fail_msg("write: %s", err);
    assert_int_equal(http_recorder_count(rec), 1);
    http_rec_request_t r;
    assert_true(http_recorder_get(rec, 0, &r));
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.uri, "/_bulk");
    assert_string_equal(http_rec_header(&r, "Content-Type"), "application/x-ndjson");
    assert_int_equal(count_lines(r.body), 4);
    assert_int_equal(r.body[r.body_len - 1], '\n');

    char line[2048], id0[64];
    nth_line(r.body, 0, line, sizeof(line));
    /* {"index":{"_index":"tyk_analytics-2024.05.01","_id":"<16 hex>"}} */
    const char *pre = "{\"index\":{\"_index\":\"tyk_analytics-2024.05.01\",\"_id\":\"";
    assert_memory_equal(line, pre, strlen(pre));
    assert_int_equal(strlen(line), strlen(pre) + 16 + 3);
    assert_string_equal(line + strlen(pre) + 16, "\"}}");
    memcpy(id0, line + strlen(pre), 16);
    id0[16] = '\0';
    nth_line(r.body, 1, line, sizeof(line));
    assert_string_equal(
        line, "{\"@timestamp\":\"2024-05-01T12:51:30.123456Z\",\"alias\":\"k1\",\"api_id\":\"a1\","
              "\"api_key\":\"key-0123456789\",\"api_name\":\"Test API\",\"api_version\":"
              "\"Default\",\"content_length\":12,\"http_method\":\"GET\",\"ip_address\":"
              "\"10.0.0.1\",\"oauth_id\":\"\",\"org_id\":\"o1\",\"raw_request\":\"GET / "
              "HTTP/1.1\\r\\n\",\"raw_response\":\"\",\"request_time_ms\":7,\"request_uri\":"
              "\"/get/0\",\"request_uri_full\":\"/get/0\",\"response_code\":200,\"tags\":"
              "[\"key-abc\",\"org-o1\",\"api-a1\"],\"user_agent\":\"curl/7.88\"}");
    nth_line(r.body, 2, line, sizeof(line));
    assert_non_null(strstr(line, "\"_index\":\"tyk_analytics-2024.05.02\""));
    assert_null(strstr(line, id0)); /* different record, different id */
    http_rec_request_free(&r);

    /* A retry of the same batch carries the same ids: Elasticsearch overwrites, no duplicates. */
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), 0);
    assert_true(http_recorder_get(rec, 1, &r));
    nth_line(r.body, 0, line, sizeof(line));
    assert_non_null(strstr(line, id0));
    http_rec_request_free(&r);

    pump_sink_elasticsearch.destroy(sink);
    http_recorder_stop(rec);
}

static void test_es_defaults_v3_and_auth(void **st)
{
    (void)st;
    http_recorder_t *rec = http_recorder_start();
    http_recorder_reply(rec, 200, "application/json", ok_bulk);
    char meta[512];
    /* A dead first URL: the sink moves on to the next one of the list. */
    snprintf(meta, sizeof(meta),
             "{\"elasticsearch_url\":\"http://127.0.0.1:1,%s\",\"auth_api_key_id\":\"id1\","
             "\"auth_api_key\":\"sekret\",\"bulk_config\":{\"bulk_actions\":2,\"workers\":3}}",
             http_recorder_url(rec));
    void *sink = mk_sink(&pump_sink_elasticsearch, meta, 3);
    batch_buf_t b;
    mk_batch(&b, 0, 5);
    char err[512] = "";
    int rc = pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err));
    if (rc)
        fail_msg("write: %s", err);
    assert_int_equal(http_recorder_count(rec), 3); /* 2 + 2 + 1 */
    http_rec_request_t r;
    assert_true(http_recorder_get(rec, 0, &r));
    char line[2048];
    nth_line(r.body, 0, line, sizeof(line));
    assert_string_equal(line,
                        "{\"index\":{\"_index\":\"tyk_analytics\",\"_type\":\"tyk_analytics\"}}");
    nth_line(r.body, 1, line, sizeof(line));
    assert_null(strstr(line, "raw_request")); /* no extended_stats */
    assert_null(strstr(line, "user_agent"));
    char *b64 = tk_b64_encode("id1:sekret", 10, false, true, NULL);
    char want[128];
    snprintf(want, sizeof(want), "ApiKey %s", b64);
    free(b64);
    assert_string_equal(http_rec_header(&r, "Authorization"), want);
    http_rec_request_free(&r);
    assert_true(http_recorder_get(rec, 2, &r));
    assert_int_equal(count_lines(r.body), 2);
    http_rec_request_free(&r);
    pump_sink_elasticsearch.destroy(sink);

    /* Basic auth and one request per record with disable_bulk. */
    http_recorder_clear(rec);
    http_recorder_reply(rec, 201, "application/json", "{\"result\":\"created\"}");
    snprintf(meta, sizeof(meta),
             "{\"elasticsearch_url\":\"%s\",\"auth_basic_username\":\"u\","
             "\"auth_basic_password\":\"p\",\"disable_bulk\":true,\"generate_id\":true,"
             "\"version\":\"8\",\"index_name\":\"idx\"}",
             http_recorder_url(rec));
    sink = mk_sink(&pump_sink_elasticsearch, meta, 3);
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), 0);
    assert_int_equal(http_recorder_count(rec), 5);
    assert_true(http_recorder_get(rec, 0, &r));
    assert_string_equal(r.method, "PUT");
    assert_memory_equal(r.uri, "/idx/_doc/", 10);
    assert_int_equal(strlen(r.uri), 10 + 16);
    assert_string_equal(http_rec_header(&r, "Authorization"), "Basic dTpw");
    assert_string_equal(http_rec_header(&r, "Content-Type"), "application/json");
    http_rec_request_free(&r);
    pump_sink_elasticsearch.destroy(sink);
    http_recorder_stop(rec);
}

static void test_es_failures(void **st)
{
    (void)st;
    http_recorder_t *rec = http_recorder_start();
    char meta[256];
    snprintf(meta, sizeof(meta), "{\"elasticsearch_url\":\"%s\",\"version\":\"6\"}",
             http_recorder_url(rec));
    void *sink = mk_sink(&pump_sink_elasticsearch, meta, 1);
    batch_buf_t b;
    mk_batch(&b, 0, 2);
    char err[512] = "";

    /* A per-item 4xx: HTTP 200 but "errors":true, refused for its content -> -2 (the pump
     * splits the batch and dead-letters the bad document). */
    http_recorder_reply(
        rec, 200, "application/json",
        "{\"took\":1,\"errors\":true,\"items\":[{\"index\":{\"status\":201}},{\"index\":{"
        "\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"failed "
        "to parse field [response_code]\"}}}]}");
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), -2);
    assert_non_null(strstr(err, "mapper_parsing_exception"));
    assert_non_null(strstr(err, "item 2 of 2"));
    /* ... but a 429 (or 5xx) item among them makes the whole batch worth retrying. */
    http_recorder_reply(
        rec, 200, "application/json",
        "{\"took\":1,\"errors\":true,\"items\":[{\"index\":{\"status\":429,\"error\":{\"type\":"
        "\"es_rejected_execution_exception\"}}},{\"index\":{\"status\":400,\"error\":{"
        "\"type\":\"mapper_parsing_exception\"}}}]}");
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), -1);
    http_recorder_reply(rec, 413, "text/plain", "too large");
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), -2);

    http_recorder_reply(rec, 500, "application/json", "{\"error\":\"boom\"}");
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "HTTP 500"));

    http_recorder_reply(rec, 200, "text/plain", "not json");
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), -1);

    /* A server that never answers: -1 once the 1 s timeout passes. */
    http_recorder_hang(rec, true);
    double t0 = now_s();
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), -1);
    double took = now_s() - t0;
    assert_true(took >= 0.9 && took < 3.0);
    http_recorder_hang(rec, false);

    http_recorder_reply(rec, 200, "application/json", ok_bulk);
    assert_int_equal(pump_sink_elasticsearch.write(sink, &b.batch, err, sizeof(err)), 0);
    pump_sink_elasticsearch.destroy(sink);

    assert_int_equal(create_err(&pump_sink_elasticsearch, "{\"version\":\"4\"}", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "version"));
    assert_int_equal(create_err(&pump_sink_elasticsearch,
                                "{\"use_ssl\":true,\"ssl_cert_file\":\"/x.pem\"}", err,
                                sizeof(err)),
                     -1);
    http_recorder_stop(rec);
}

/* ---- splunk -------------------------------------------------------------------------------- */

static const char *const splunk_event0 =
    "{\"time\":1714567890,\"event\":{\"api_id\":\"a1\",\"api_key\":\"key-0123456789\","
    "\"api_name\":\"Test API\",\"api_version\":\"Default\",\"ip_address\":\"10.0.0.1\","
    "\"method\":\"GET\",\"oauth_id\":\"\",\"org_id\":\"o1\",\"path\":\"/get/0\",\"raw_request\":"
    "\"R0VUIC8gSFRUUC8xLjENCg==\",\"raw_response\":\"\",\"request_time\":7,\"response_code\":200,"
    "\"time_stamp\":\"2024-05-01T12:51:30.123456Z\"}}";

static void test_splunk_wire_format(void **st)
{
    (void)st;
    http_recorder_t *rec = http_recorder_start();
    http_recorder_reply(rec, 200, "application/json", "{\"text\":\"Success\",\"code\":0}");
    char meta[512];
    snprintf(meta, sizeof(meta),
             "{\"collector_token\":\"tok-1\",\"collector_url\":\"%s/services/collector/event\","
             "\"ssl_insecure_skip_verify\":true}",
             http_recorder_url(rec));
    void *sink = mk_sink(&pump_sink_splunk, meta, 3);
    assert_int_equal(http_recorder_count(rec), 0);
    batch_buf_t b;
    mk_batch(&b, 0, 2);
    char err[512] = "";
    int rc = pump_sink_splunk.write(sink, &b.batch, err, sizeof(err));
    if (rc)
        fail_msg("write: %s", err);
    assert_int_equal(http_recorder_count(rec), 2); /* one POST per record without enable_batch */
    http_rec_request_t r;
    assert_true(http_recorder_get(rec, 0, &r));
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.uri, "/services/collector/event/1.0");
    assert_string_equal(http_rec_header(&r, "Authorization"), "Splunk tok-1");
    assert_string_equal(r.body, splunk_event0);
    http_rec_request_free(&r);
    pump_sink_splunk.destroy(sink);

    /* enable_batch: events concatenated in one POST, split at batch_max_content_length. */
    http_recorder_clear(rec);
    snprintf(meta, sizeof(meta),
             "{\"collector_token\":\"tok-1\",\"collector_url\":\"%s\",\"enable_batch\":true}",
             http_recorder_url(rec));
    sink = mk_sink(&pump_sink_splunk, meta, 3);
    mk_batch(&b, 0, 3);
    assert_int_equal(pump_sink_splunk.write(sink, &b.batch, err, sizeof(err)), 0);
    assert_int_equal(http_recorder_count(rec), 1);
    assert_true(http_recorder_get(rec, 0, &r));
    assert_memory_equal(r.body, splunk_event0, strlen(splunk_event0));
    assert_memory_equal(r.body + strlen(splunk_event0), "{\"time\":1714567891,\"event\":", 27);
    /* three events of about the same size */
    assert_true(r.body_len > 3 * strlen(splunk_event0) - 10 &&
                r.body_len < 3 * strlen(splunk_event0) + 10);
    http_rec_request_free(&r);
    pump_sink_splunk.destroy(sink);

    http_recorder_clear(rec);
    snprintf(meta, sizeof(meta),
             "{\"collector_token\":\"tok-1\",\"collector_url\":\"%s\",\"enable_batch\":true,"
             "\"batch_max_content_length\":%zu}",
             http_recorder_url(rec), 2 * strlen(splunk_event0) + 5);
    sink = mk_sink(&pump_sink_splunk, meta, 3);
    mk_batch(&b, 0, 5);
    assert_int_equal(pump_sink_splunk.write(sink, &b.batch, err, sizeof(err)), 0);
    assert_int_equal(http_recorder_count(rec), 3); /* 2 + 2 + 1 */
    for (size_t i = 0; i < 3; i++) {
        assert_true(http_recorder_get(rec, i, &r));
        assert_true(r.body_len <= 2 * strlen(splunk_event0) + 5);
        http_rec_request_free(&r);
    }
    pump_sink_splunk.destroy(sink);
    http_recorder_stop(rec);
}

static void test_splunk_fields_and_obfuscation(void **st)
{
    (void)st;
    http_recorder_t *rec = http_recorder_start();
    char meta[512];
    snprintf(meta, sizeof(meta),
             "{\"collector_token\":\"t\",\"collector_url\":\"%s\",\"obfuscate_api_keys\":true,"
             "\"obfuscate_api_keys_length\":4,\"fields\":[\"api_key\",\"tags\",\"latency\","
             "\"host\",\"no_such_field\"],\"ignore_tag_prefix_list\":[\"key-\",\"org-\"]}",
             http_recorder_url(rec));
    void *sink = mk_sink(&pump_sink_splunk, meta, 3);
    batch_buf_t b;
    mk_batch(&b, 0, 1);
    char err[512] = "";
    assert_int_equal(pump_sink_splunk.write(sink, &b.batch, err, sizeof(err)), 0);
    http_rec_request_t r;
    assert_true(http_recorder_get(rec, 0, &r));
    assert_string_equal(r.body, "{\"time\":1714567890,\"event\":{\"api_key\":\"****6789\","
                                "\"host\":\"upstream.local\",\"latency\":{\"gateway\":0,"
                                "\"total\":9,\"upstream\":5},\"tags\":[\"api-a1\"]}}");
    http_rec_request_free(&r);
    pump_sink_splunk.destroy(sink);
    http_recorder_stop(rec);
}

static void test_splunk_failures_and_retries(void **st)
{
    (void)st;
    http_recorder_t *rec = http_recorder_start();
    char meta[512];
    snprintf(meta, sizeof(meta), "{\"collector_token\":\"t\",\"collector_url\":\"%s\"}",
             http_recorder_url(rec));
    void *sink = mk_sink(&pump_sink_splunk, meta, 1);
    batch_buf_t b;
    mk_batch(&b, 0, 2);
    char err[512] = "";

    http_recorder_reply(rec, 500, "text/plain", "down");
    assert_int_equal(pump_sink_splunk.write(sink, &b.batch, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "HTTP 500"));
    assert_int_equal(http_recorder_count(rec), 1); /* stops at the first failed POST */

    http_recorder_reply(rec, 403, "application/json", "{\"text\":\"Invalid token\",\"code\":4}");
    assert_int_equal(pump_sink_splunk.write(sink, &b.batch, err, sizeof(err)), -2);
    assert_non_null(strstr(err, "Invalid token"));

    http_recorder_reply(rec, 200, "application/json", "{\"text\":\"Success\",\"code\":0}");
    http_recorder_hang(rec, true);
    double t0 = now_s();
    assert_int_equal(pump_sink_splunk.write(sink, &b.batch, err, sizeof(err)), -1);
    double took = now_s() - t0;
    assert_true(took >= 0.9 && took < 3.0);
    http_recorder_hang(rec, false);
    pump_sink_splunk.destroy(sink);

    /* max_retries: two 503s are absorbed inside one write. */
    http_recorder_clear(rec);
    snprintf(meta, sizeof(meta),
             "{\"collector_token\":\"t\",\"collector_url\":\"%s\",\"max_retries\":2,"
             "\"enable_batch\":true}",
             http_recorder_url(rec));
    sink = mk_sink(&pump_sink_splunk, meta, 1);
    http_recorder_fail_next(rec, 2, 503);
    int rc = pump_sink_splunk.write(sink, &b.batch, err, sizeof(err));
    if (rc)
        fail_msg("write: %s", err);
    assert_int_equal(http_recorder_count(rec), 3);
    /* but not a 400: that is not retried, and rejected for good */
    http_recorder_fail_next(rec, 1, 400);
    assert_int_equal(pump_sink_splunk.write(sink, &b.batch, err, sizeof(err)), -2);
    assert_int_equal(http_recorder_count(rec), 4);
    pump_sink_splunk.destroy(sink);

    assert_int_equal(
        create_err(&pump_sink_splunk, "{\"collector_url\":\"http://x\"}", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "collector_token"));
    http_recorder_stop(rec);
}

/* ---- shared helpers ------------------------------------------------------------------------ */

static void test_registry_and_time_forms(void **st)
{
    (void)st;
    assert_ptr_equal(pump_sink_find("influx"), &pump_sink_influx);
    assert_ptr_equal(pump_sink_find("Elasticsearch"), &pump_sink_elasticsearch);
    assert_ptr_equal(pump_sink_find("SPLUNK"), &pump_sink_splunk);

    char out[80];
    tk_an_time_t t = {1714567890, 0};
    sink_time_rfc3339nano(t, out, sizeof(out));
    assert_string_equal(out, "2024-05-01T12:51:30Z");
    t.nsec = 500000000;
    sink_time_rfc3339nano(t, out, sizeof(out));
    assert_string_equal(out, "2024-05-01T12:51:30.5Z");
    sink_time_go_string(t, out, sizeof(out));
    assert_string_equal(out, "2024-05-01 12:51:30.5 +0000 UTC");
    if (access("/usr/share/zoneinfo/Asia/Kolkata", R_OK) == 0) {
        setenv("TZ", "Asia/Kolkata", 1);
        tzset();
        sink_time_rfc3339nano(t, out, sizeof(out));
        assert_string_equal(out, "2024-05-01T18:21:30.5+05:30");
        sink_time_go_string(t, out, sizeof(out));
        assert_string_equal(out, "2024-05-01 18:21:30.5 +0530 IST");
        setenv("TZ", "UTC", 1);
        tzset();
    }
    /* Invalid UTF-8 becomes U+FFFD, as Go's JSON encoder writes it. */
    json_t *j = sink_json_strn("a\xff"
                               "b",
                               3);
    assert_string_equal(json_string_value(j), "a\xEF\xBF\xBD"
                                              "b");
    json_decref(j);
}

int main(void)
{
    setenv("TZ", "UTC", 1); /* documents carry local time: pin it */
    tzset();
    signal(SIGPIPE, SIG_IGN);
    alarm(170); /* a hung server can never hang the suite */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_and_time_forms),
        cmocka_unit_test(test_influx_config),
        cmocka_unit_test(test_influx_real_server),
        cmocka_unit_test(test_es_bulk_wire_format),
        cmocka_unit_test(test_es_defaults_v3_and_auth),
        cmocka_unit_test(test_es_failures),
        cmocka_unit_test(test_splunk_wire_format),
        cmocka_unit_test(test_splunk_fields_and_obfuscation),
        cmocka_unit_test(test_splunk_failures_and_retries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
