/* SPDX-License-Identifier: Apache-2.0 */
/* Records a sink's server rejects for good (write() == -2): the batch is split until the bad
 * records stand alone (pump_bisect), good records still go through, and each bad one lands in the
 * dead-letter file (pump_deadletter). Driven with a fake sink whose server refuses any batch
 * holding a record whose path contains "bad", then with real servers that refuse data: influxd
 * (field type conflict) and PostgreSQL (timestamp out of range). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "influx_server.h"
#include "pg_server.h"
#include "pump_bisect.h"
#include "pump_deadletter.h"
#include "tk_curl.h"
#include "pump_sink.h"

extern const pump_sink_ops_t pump_sink_influx;

#define MAXREC 64

/* ---- a fake sink: atomic batches, refuses any batch with a "bad" path ---------------------- */

typedef struct fake_sink {
    uint64_t stored[MAXREC]; /* seqs stored, in order */
    size_t n_stored;
    uint64_t last_seq_seen[MAXREC * 4];
    size_t writes;
    int transient_left; /* answer -1 this many times first */
} fake_sink_t;

static int fake_write(void *state, const pump_batch_t *b, char *err, size_t errlen)
{
    fake_sink_t *f = state;
    f->last_seq_seen[f->writes++] = b->last_seq;
    if (f->transient_left > 0) {
        f->transient_left--;
        snprintf(err, errlen, "HTTP 503");
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        const tk_str_t *p = &b->items[i].rec->path;
        if (memmem(p->p, p->len, "bad", 3)) {
            snprintf(err, errlen, "HTTP 400: cannot store %.*s", (int)p->len, p->p);
            return -2;
        }
    }
    for (size_t i = 0; i < b->n; i++)
        f->stored[f->n_stored++] = b->items[i].seq;
    return 0;
}

static const pump_sink_ops_t fake_ops = {.type = "fake", .write = fake_write};

/* What the runner does around pump_bisect: transient errors retried, rejects dead-lettered. */
typedef struct harness {
    const pump_sink_ops_t *ops;
    void *state;
    const pump_item_t *items;
    size_t n;
    uint64_t last_seq;
    pump_deadletter_t *dead;
    size_t retries;
    uint64_t rejected[MAXREC];
    size_t n_rejected;
    bool stop_on_reject;
} harness_t;

static int h_write(void *ctx, size_t off, size_t n, char *err, size_t errlen)
{
    harness_t *h = ctx;
    pump_batch_t b = {h->items + off, n, off + n == h->n ? h->last_seq : h->items[off + n - 1].seq};
    for (;;) {
        int rc = h->ops->write(h->state, &b, err, errlen);
        if (rc != -1)
            return rc;
        h->retries++;
    }
}

static int h_reject(void *ctx, size_t idx, const char *why)
{
    harness_t *h = ctx;
    if (h->stop_on_reject)
        return -1;
    h->rejected[h->n_rejected++] = h->items[idx].seq;
    if (!h->dead)
        return 0;
    char err[256] = "";
    int rc = pump_deadletter_add(h->dead, tk_analytics_to_json(h->items[idx].rec),
                                 h->items[idx].seq, why, err, sizeof(err));
    if (rc != 0)
        fail_msg("dead letter: %s", err);
    return rc;
}

static const pump_bisect_cb_t h_cb = {h_write, h_reject};

typedef struct recs {
    tk_analytics_record_t r[MAXREC];
    pump_item_t items[MAXREC];
    char paths[MAXREC][32];
} recs_t;

/* @n records with seqs 101.., path "/bad/<i>" for the indexes in @bad (terminated by -1). */
static void mk_recs(recs_t *rs, size_t n, const int *bad)
{
    memset(rs, 0, sizeof(*rs));
    for (size_t i = 0; i < n; i++) {
        bool is_bad = false;
        for (const int *b = bad; *b >= 0; b++)
            is_bad |= (size_t)*b == i;
        snprintf(rs->paths[i], sizeof(rs->paths[i]), "/%s/%zu", is_bad ? "bad" : "good", i);
        tk_analytics_record_t *r = &rs->r[i];
        r->method = TK_STR("GET");
        r->path = (tk_str_t){rs->paths[i], strlen(rs->paths[i])};
        r->raw_path = r->path;
        r->response_code = 200;
        r->api_id = TK_STR("api1");
        r->org_id = TK_STR("org1");
        r->api_key = TK_STR("");
        r->timestamp = (tk_an_time_t){1714567890 + (int64_t)i, 0};
        rs->items[i] = (pump_item_t){100 + i + 1, r};
    }
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/test_pump_deadletter.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmdir_all(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Every line of @path parsed (new reference: an array). */
static json_t *read_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    json_t *out = json_array();
    char line[8192];
    while (fgets(line, sizeof(line), f)) {
        assert_non_null(strchr(line, '\n')); /* one whole line per record */
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        if (!j)
            fail_msg("not JSON: %s (%s)", line, je.text);
        json_array_append_new(out, j);
    }
    fclose(f);
    return out;
}

static void test_bisect_isolates_bad_records(void **st)
{
    (void)st;
    char *dir = tmpdir();
    recs_t rs;
    const int bad[] = {3, 7, 8, -1};
    mk_recs(&rs, 10, bad);
    fake_sink_t f = {0};
    harness_t h = {.ops = &fake_ops,
                   .state = &f,
                   .items = rs.items,
                   .n = 10,
                   .last_seq = 115,
                   .dead = pump_deadletter_new(dir, "my sink.v1")};
    assert_int_equal(pump_bisect_write(&h_cb, &h, 10), 0);

    /* every good record stored exactly once, in order; the bad ones rejected */
    assert_int_equal(f.n_stored, 7);
    const uint64_t want[] = {101, 102, 103, 105, 106, 107, 110};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(f.stored[i], want[i]);
    assert_int_equal(h.n_rejected, 3);
    assert_int_equal(h.rejected[0], 104);
    assert_int_equal(h.rejected[1], 108);
    assert_int_equal(h.rejected[2], 109);
    /* cost stays logarithmic: far fewer writes than one per record pair */
    assert_true(f.writes <= 1 + 2 * 3 * 4);
    /* the part that ends the batch carries the batch's last_seq (filtered records after it) */
    assert_int_equal(f.last_seq_seen[0], 115);
    assert_int_equal(f.last_seq_seen[f.writes - 1], 115);

    /* the file: name sanitised, one JSON line per rejected record in Tyk's form */
    char path[512];
    snprintf(path, sizeof(path), "%s/deadletter-my_sink_v1.jsonl", dir);
    assert_string_equal(pump_deadletter_path(h.dead), path);
    json_t *lines = read_lines(path);
    assert_int_equal(json_array_size(lines), 3);
    json_t *l0 = json_array_get(lines, 0);
    assert_int_equal(json_integer_value(json_object_get(l0, "journal_seq")), 104);
    assert_string_equal(json_string_value(json_object_get(l0, "path")), "/bad/3");
    assert_string_equal(json_string_value(json_object_get(l0, "api_id")), "api1");
    assert_int_equal(json_integer_value(json_object_get(l0, "response_code")), 200);
    assert_string_equal(json_string_value(json_object_get(l0, "error")),
                        "HTTP 400: cannot store /bad/3");
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 2), "path")),
                        "/bad/8");
    json_decref(lines);

    /* a second instance (a restart) appends, never truncates */
    pump_deadletter_free(h.dead);
    h.dead = pump_deadletter_new(dir, "my sink.v1");
    char err[256];
    assert_int_equal(
        pump_deadletter_add(h.dead, tk_analytics_to_json(&rs.r[3]), 104, "again", err, sizeof(err)),
        0);
    lines = read_lines(path);
    assert_int_equal(json_array_size(lines), 4);
    json_decref(lines);
    pump_deadletter_free(h.dead);
    rmdir_all(dir);
    free(dir);
}

static void test_bisect_edges(void **st)
{
    (void)st;
    recs_t rs;
    fake_sink_t f = {0};
    harness_t h = {.ops = &fake_ops, .state = &f, .items = rs.items};

    /* all good: one write, nothing rejected; transient errors are retried, not split */
    const int none[] = {-1};
    mk_recs(&rs, 6, none);
    h.n = 6;
    h.last_seq = 106;
    f.transient_left = 2;
    assert_int_equal(pump_bisect_write(&h_cb, &h, 6), 0);
    assert_int_equal(f.writes, 3);
    assert_int_equal(h.retries, 2);
    assert_int_equal(f.n_stored, 6);
    assert_int_equal(h.n_rejected, 0);

    /* all bad: each one rejected alone, nothing stored */
    const int all[] = {0, 1, 2, 3, 4, -1};
    mk_recs(&rs, 5, all);
    memset(&f, 0, sizeof(f));
    h.n = 5;
    h.n_rejected = 0;
    assert_int_equal(pump_bisect_write(&h_cb, &h, 5), 0);
    assert_int_equal(f.n_stored, 0);
    assert_int_equal(h.n_rejected, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(h.rejected[i], 101 + i);

    /* a single bad record */
    const int first[] = {0, -1};
    mk_recs(&rs, 1, first);
    memset(&f, 0, sizeof(f));
    h.n = 1;
    h.n_rejected = 0;
    assert_int_equal(pump_bisect_write(&h_cb, &h, 1), 0);
    assert_int_equal(f.writes, 1);
    assert_int_equal(h.n_rejected, 1);

    /* giving up (stopping) while a record is being dead-lettered: -1, the batch is kept */
    mk_recs(&rs, 4, (const int[]){2, -1});
    memset(&f, 0, sizeof(f));
    h.n = 4;
    h.stop_on_reject = true;
    assert_int_equal(pump_bisect_write(&h_cb, &h, 4), -1);
    assert_int_equal(pump_bisect_write(&h_cb, &h, 0), 0);
}

static void test_deadletter_unwritable(void **st)
{
    (void)st;
    pump_deadletter_t *d = pump_deadletter_new("/nonexistent/dir", "s");
    recs_t rs;
    mk_recs(&rs, 1, (const int[]){-1});
    char err[256] = "";
    assert_int_equal(
        pump_deadletter_add(d, tk_analytics_to_json(&rs.r[0]), 1, "x", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/dir/deadletter-s.jsonl"));
    pump_deadletter_free(d);
}

/* ---- real servers that refuse data --------------------------------------------------------- */

static void influx_post(const influx_server_t *s, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", s->url, path);
    tk_curl_client_t *c = tk_curl_new();
    const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    tk_curl_request_t req = {
        .url = url, .headers = hdr, .body = body, .body_len = strlen(body), .timeout_s = 5};
    tk_curl_response_t resp;
    assert_int_equal(tk_curl_do(c, &req, &resp), 0);
    if (resp.status >= 300)
        fail_msg("%s: HTTP %ld %s", path, resp.status, resp.body);
    tk_curl_response_free(&resp);
    tk_curl_free(c);
}

static void test_influx_field_type_conflict_is_permanent(void **st)
{
    (void)st;
    influx_server_t srv;
    influx_server_init(&srv);
    /* "method" already holds integers in that shard (week): influx refuses the sink's string
     * values with 400 */
    influx_post(&srv, "/query", "q=CREATE%20DATABASE%20dl");
    influx_post(&srv, "/write?db=dl", "analytics method=1i 1714567000000000000\n");
    char meta[256];
    snprintf(meta, sizeof(meta), "{\"address\":\"%s\",\"database_name\":\"dl\"}", srv.url);
    json_t *m = json_loads(meta, 0, NULL), *pump = json_object();
    pump_sink_conf_t conf = {.name = "INFLUX", .type = "influx", .meta = m, .pump = pump};
    void *sink = NULL;
    char err[512] = "";
    assert_int_equal(pump_sink_influx.create(&conf, &sink, err, sizeof(err)), 0);
    recs_t rs;
    mk_recs(&rs, 2, (const int[]){-1});
    pump_batch_t b = {rs.items, 2, 102};
    assert_int_equal(pump_sink_influx.write(sink, &b, err, sizeof(err)), -2);
    print_message("# influx: %s\n", err);
    assert_non_null(strstr(err, "HTTP 400"));
    assert_non_null(strstr(err, "conflict"));
    /* a server that is gone is not permanent */
    influx_server_stop(&srv);
    assert_int_equal(pump_sink_influx.write(sink, &b, err, sizeof(err)), -1);
    pump_sink_influx.destroy(sink);
    json_decref(m);
    json_decref(pump);
    influx_server_destroy(&srv);
}

static long pg_count(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static void test_sql_out_of_range_timestamp_is_dead_lettered(void **st)
{
    (void)st;
    test_pg_t pg;
    test_pg_init(&pg);
    test_pg_start(&pg);
    char *dir = tmpdir();
    char meta[512];
    snprintf(meta, sizeof(meta), "{\"type\":\"postgres\",\"connection_string\":\"%s\"}",
             pg.conninfo);
    json_t *m = json_loads(meta, 0, NULL), *pump = json_object();
    const pump_sink_ops_t *ops = pump_sink_find("sql");
    pump_sink_conf_t conf = {.name = "SQL", .type = "sql", .meta = m, .pump = pump, .timeout_s = 5};
    void *sink = NULL;
    char err[512] = "";
    assert_int_equal(ops->create(&conf, &sink, err, sizeof(err)), 0);

    /* record 2 is from the year ~300,000: PostgreSQL's timestamptz cannot hold it (22008) */
    recs_t rs;
    mk_recs(&rs, 6, (const int[]){-1});
    rs.r[2].timestamp.sec = 9400000000000LL;
    harness_t h = {.ops = ops,
                   .state = sink,
                   .items = rs.items,
                   .n = 6,
                   .last_seq = 108,
                   .dead = pump_deadletter_new(dir, "SQL")};
    assert_int_equal(pump_bisect_write(&h_cb, &h, 6), 0);
    assert_int_equal(h.n_rejected, 1);
    assert_int_equal(h.rejected[0], 103);
    assert_int_equal(pg_count(pg.conninfo, "SELECT count(*) FROM tyk_analytics"), 5);
    /* the sink's own cursor covers the whole batch: a restart writes nothing twice */
    uint64_t seq = 0;
    assert_int_equal(ops->durable_seq(sink, &seq, err, sizeof(err)), 0);
    assert_int_equal(seq, 108);

    char path[512];
    snprintf(path, sizeof(path), "%s/deadletter-SQL.jsonl", dir);
    json_t *lines = read_lines(path);
    assert_int_equal(json_array_size(lines), 1);
    const char *why = json_string_value(json_object_get(json_array_get(lines, 0), "error"));
    print_message("# sql: %s\n", why);
    assert_non_null(strstr(why, "out of range"));
    json_decref(lines);

    /* a database that is down is not permanent */
    test_pg_stop(&pg);
    pump_batch_t b = {rs.items, 1, 109};
    assert_int_equal(ops->write(sink, &b, err, sizeof(err)), -1);

    pump_deadletter_free(h.dead);
    ops->destroy(sink);
    json_decref(m);
    json_decref(pump);
    test_pg_destroy(&pg);
    rmdir_all(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bisect_isolates_bad_records),
        cmocka_unit_test(test_bisect_edges),
        cmocka_unit_test(test_deadletter_unwritable),
        cmocka_unit_test(test_influx_field_type_conflict_is_permanent),
        cmocka_unit_test(test_sql_out_of_range_timestamp_is_dead_lettered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
