/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk's aggregation: counters per org, bucket and dimension must match tyk-pump's arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pump_aggregate.h"

#define S(lit) TK_STR(lit)
/* 2024-03-05 10:00:00 UTC */
#define T10 1709632800

static const pump_agg_entry_t *find(const pump_agg_t *a, enum pump_agg_dim d, const char *v)
{
    if (d == PUMP_AGG_TOTAL)
        return &a->total;
    for (size_t i = 0; i < a->n_entries; i++)
        if (a->entries[i].dim == d && strcmp(a->entries[i].value, v) == 0)
            return &a->entries[i];
    return NULL;
}

static size_t count_dim(const pump_agg_t *a, enum pump_agg_dim d)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_entries; i++)
        n += a->entries[i].dim == d;
    return n;
}

static const pump_agg_t *find_agg(const pump_agg_set_t *s, const char *org, int64_t bucket)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->aggs[i]->org_id, org) == 0 && s->aggs[i]->bucket == bucket)
            return s->aggs[i];
    return NULL;
}

static const tk_str_t tags1[] = {S("key-k1"), S("org-org1"), S(" api-api1 "), S("my.tag")};
static const tk_str_t graph_tags[] = {S("tyk-graph-analytics")};

static tk_analytics_record_t rec(const char *org, int code, int64_t sec, int64_t rt)
{
    tk_analytics_record_t r = {0};
    r.org_id = (tk_str_t){org, strlen(org)};
    r.response_code = code;
    r.timestamp = (tk_an_time_t){sec, 0};
    r.request_time = rt;
    r.latency.total = rt;
    r.path = S("/a.b");
    return r;
}

/* Several records of one org in one hour, plus others that must go elsewhere or nowhere. */
static void build_set(pump_agg_set_t *s)
{
    tk_analytics_record_t r1 = rec("org1", 200, T10 + 5 * 60, 10);
    r1.api_id = S("api1");
    r1.api_name = S("API One");
    r1.api_version = S("v1");
    r1.api_key = S("k1");
    r1.alias = S("alice");
    r1.latency.upstream = 7;
    r1.tags = tags1;
    r1.n_tags = 4;
    r1.geo.country_iso_code = S("GB");
    r1.track_path = true;
    r1.expire_at = (tk_an_time_t){T10 + 1000000, 0};

    tk_analytics_record_t r2 = rec("org1", 404, T10 + 20 * 60, 30);
    r2.api_id = S("api1");
    r2.api_name = S("API One");
    r2.api_version = S("v1");
    r2.api_key = S("k1");
    r2.alias = S("alice2");
    r2.latency.upstream = 20;

    tk_analytics_record_t r3 = rec("org1", 500, T10 + 40 * 60, 50);
    r3.api_id = S("api2");
    r3.api_key = S("k2");
    r3.oauth_id = S("o1");
    r3.latency.upstream = 40;

    tk_analytics_record_t r4 = rec("org1", 200, T10 + 50 * 60, 6);
    r4.api_id = S("api1");
    r4.api_name = S("API One (renamed)");
    r4.latency.total = 4;
    r4.latency.upstream = 2;

    tk_analytics_record_t r5 = rec("org1", -1, T10 + 55 * 60, 0);
    r5.api_id = S("api1");
    r5.network.bytes_in = 100;
    r5.network.bytes_out = 200;
    r5.network.open_connections = 3;
    r5.network.closed_connections = 1;

    tk_analytics_record_t r6 = rec("org2", 200, T10 + 70 * 60, 1);
    tk_analytics_record_t r7 = rec("org1", 201, T10 + 65 * 60, 1);
    tk_analytics_record_t r8 = rec("", 200, T10, 1);
    tk_analytics_record_t r9 = rec("org1", 200, T10, 1);
    r9.tags = graph_tags;
    r9.n_tags = 1;

    assert_true(pump_agg_add(s, &r1));
    assert_true(pump_agg_add(s, &r2));
    assert_true(pump_agg_add(s, &r3));
    assert_true(pump_agg_add(s, &r4));
    assert_true(pump_agg_add(s, &r5));
    assert_true(pump_agg_add(s, &r6));
    assert_true(pump_agg_add(s, &r7));
    assert_false(pump_agg_add(s, &r8)); /* no org */
    assert_false(pump_agg_add(s, &r9)); /* GraphQL */
}

static void test_total_counter(void **state)
{
    (void)state;
    pump_agg_set_t s;
    pump_agg_set_init(&s, NULL);
    build_set(&s);
    assert_int_equal(s.n, 3); /* org1@10h, org2@11h, org1@11h */
    const pump_agg_t *a = find_agg(&s, "org1", T10);
    assert_non_null(a);
    assert_non_null(find_agg(&s, "org1", T10 + 3600));
    assert_non_null(find_agg(&s, "org2", T10 + 3600));
    assert_int_equal(a->year, 2024);
    assert_int_equal(a->month, 3);
    assert_int_equal(a->day, 5);
    assert_int_equal(a->hour, 10);
    assert_int_equal(a->expire_at.sec, T10 + 1000000);
    assert_int_equal(a->last_time.sec, T10 + 55 * 60);

    const pump_agg_counter_t *t = &a->total.c;
    assert_int_equal(t->hits, 4);
    assert_int_equal(t->success, 2);
    assert_int_equal(t->error_total, 2);
    assert_int_equal(pump_agg_error_count(t, 404), 1);
    assert_int_equal(pump_agg_error_count(t, 500), 1);
    assert_int_equal(t->n_errors, 2);
    assert_true(t->total_request_time == 96.0);
    assert_true(t->request_time == 24.0);
    assert_int_equal(t->total_latency, 94);
    assert_int_equal(t->max_latency, 50);
    assert_int_equal(t->min_latency, 4); /* errors (30, 50) never lower the minimum */
    assert_int_equal(t->total_upstream_latency, 69);
    assert_int_equal(t->max_upstream_latency, 40);
    assert_int_equal(t->min_upstream_latency, 2);
    /* network-only record: bytes and connections only */
    assert_int_equal(t->bytes_in, 100);
    assert_int_equal(t->bytes_out, 200);
    assert_int_equal(t->open_connections, 3);
    assert_int_equal(t->closed_connections, 1);
    assert_int_equal(t->last_time.sec, T10 + 55 * 60);
    pump_agg_set_free(&s);
}

/* Averages are filled when dimensions are read out, as Tyk's Dimensions() does. */
static void collect(const pump_agg_t *a, const pump_agg_entry_t *e, void *arg)
{
    (void)a;
    const pump_agg_entry_t **list = arg;
    while (*list)
        list++;
    *list = e;
}

static void test_dimensions(void **state)
{
    (void)state;
    pump_agg_set_t s;
    pump_agg_set_init(&s, NULL);
    build_set(&s);
    const pump_agg_t *a = find_agg(&s, "org1", T10);

    const pump_agg_entry_t *e = find(a, PUMP_AGG_APIID, "api1");
    assert_non_null(e);
    assert_int_equal(e->c.hits, 3);
    assert_int_equal(e->c.success, 2);
    assert_int_equal(e->c.error_total, 1);
    assert_int_equal(pump_agg_error_count(&e->c, 404), 1);
    assert_true(e->c.total_request_time == 46.0);
    assert_true(e->c.request_time == 46.0 / 3);
    assert_int_equal(e->c.min_latency, 4);
    assert_int_equal(e->c.max_latency, 30);
    assert_int_equal(e->c.bytes_in, 100); /* from the network-only record */
    assert_int_equal(e->c.bytes_out, 200);
    assert_int_equal(e->c.open_connections, 0); /* Tyk adds only bytes to the API */
    assert_string_equal(e->c.identifier, "api1");
    assert_string_equal(e->c.human_identifier, "API One (renamed)");
    assert_int_equal(e->c.last_time.sec, T10 + 5 * 60); /* Tyk keeps the first record's time */

    e = find(a, PUMP_AGG_APIID, "api2");
    assert_int_equal(e->c.hits, 1);
    assert_int_equal(e->c.error_total, 1);

    assert_int_equal(count_dim(a, PUMP_AGG_ERRORS), 2);
    e = find(a, PUMP_AGG_ERRORS, "404");
    assert_int_equal(e->c.hits, 1);
    assert_string_equal(e->c.identifier, "404");
    assert_int_equal(find(a, PUMP_AGG_ERRORS, "500")->c.hits, 1);

    /* versions keyed by base64("api1:v1") without padding */
    e = find(a, PUMP_AGG_VERSIONS, "YXBpMTp2MQ");
    assert_non_null(e);
    assert_int_equal(e->c.hits, 2);
    assert_string_equal(e->c.human_identifier, "v1");
    assert_int_equal(count_dim(a, PUMP_AGG_VERSIONS), 1);

    e = find(a, PUMP_AGG_APIKEYS, "k1");
    assert_int_equal(e->c.hits, 2);
    assert_string_equal(e->c.human_identifier, "alice2"); /* the latest alias wins */
    assert_int_equal(find(a, PUMP_AGG_APIKEYS, "k2")->c.hits, 1);

    /* key endpoints only for tracked paths: "<key>.<base64(apiid:path)>" */
    assert_int_equal(count_dim(a, PUMP_AGG_KEYENDPOINTS), 1);
    e = find(a, PUMP_AGG_KEYENDPOINTS, "k1.YXBpMTovYS5i");
    assert_non_null(e);
    assert_int_equal(e->c.hits, 1);

    assert_int_equal(find(a, PUMP_AGG_OAUTHIDS, "o1")->c.hits, 1);
    assert_int_equal(count_dim(a, PUMP_AGG_OAUTHENDPOINTS), 0);
    assert_int_equal(find(a, PUMP_AGG_GEO, "GB")->c.hits, 1);

    /* tags: key- never, dots removed, spaces trimmed */
    assert_int_equal(count_dim(a, PUMP_AGG_TAGS), 3);
    assert_non_null(find(a, PUMP_AGG_TAGS, "org-org1"));
    assert_non_null(find(a, PUMP_AGG_TAGS, "api-api1"));
    assert_non_null(find(a, PUMP_AGG_TAGS, "mytag"));
    assert_null(find(a, PUMP_AGG_TAGS, "key-k1"));

    e = find(a, PUMP_AGG_ENDPOINTS, "/a\\u2eb");
    assert_non_null(e);
    assert_string_equal(e->c.identifier, "/a.b");
    /* api endpoints: hex("api1:v1:/a.b") */
    e = find(a, PUMP_AGG_APIENDPOINTS, "617069313a76313a2f612e62");
    assert_non_null(e);
    assert_string_equal(e->c.human_identifier, "/a.b");

    /* read-out order: Tyk's dimension order, total last, latency averages filled */
    const pump_agg_entry_t *list[64] = {0};
    pump_agg_foreach(a, collect, list);
    size_t n = 0;
    while (list[n])
        n++;
    assert_int_equal(n, a->n_entries + 1);
    assert_int_equal(list[0]->dim, PUMP_AGG_APIID);
    assert_int_equal(list[n - 1]->dim, PUMP_AGG_TOTAL);
    assert_string_equal(list[n - 1]->value, "total");
    for (size_t i = 1; i < n; i++)
        assert_true(list[i - 1]->dim <= list[i]->dim);
    assert_true(list[n - 1]->c.latency == 94.0 / 4);
    assert_true(list[n - 1]->c.upstream_latency == 69.0 / 4);
    pump_agg_set_free(&s);
}

static void test_ignore_tags_and_dims(void **state)
{
    (void)state;
    const char *ignore[] = {"org-"};
    pump_agg_opts_t o = {.ignore_tags = ignore,
                         .n_ignore_tags = 1,
                         .ignore_dims = (1u << PUMP_AGG_APIKEYS) | (1u << PUMP_AGG_GEO)};
    pump_agg_set_t s;
    pump_agg_set_init(&s, &o);
    build_set(&s);
    const pump_agg_t *a = find_agg(&s, "org1", T10);
    assert_int_equal(count_dim(a, PUMP_AGG_TAGS), 2);
    assert_null(find(a, PUMP_AGG_TAGS, "org-org1"));
    assert_int_equal(count_dim(a, PUMP_AGG_APIKEYS), 0);
    assert_int_equal(count_dim(a, PUMP_AGG_GEO), 0);
    assert_int_equal(count_dim(a, PUMP_AGG_KEYENDPOINTS), 1); /* only what was named */
    assert_int_equal(a->total.c.hits, 4);
    pump_agg_set_free(&s);

    enum pump_agg_dim d;
    assert_true(pump_agg_dim_parse("KeyEndpoint", &d));
    assert_int_equal(d, PUMP_AGG_KEYENDPOINTS);
    assert_true(pump_agg_dim_parse("apikeys", &d));
    assert_int_equal(d, PUMP_AGG_APIKEYS);
    assert_false(pump_agg_dim_parse("nope", &d));
}

static void test_track_all_paths(void **state)
{
    (void)state;
    pump_agg_opts_t o = {.track_all_paths = true};
    pump_agg_set_t s;
    pump_agg_set_init(&s, &o);
    build_set(&s);
    const pump_agg_t *a = find_agg(&s, "org1", T10);
    /* every hit record now counts for endpoints (all have path /a.b) */
    assert_int_equal(find(a, PUMP_AGG_ENDPOINTS, "/a\\u2eb")->c.hits, 4);
    assert_int_equal(count_dim(a, PUMP_AGG_KEYENDPOINTS), 2);
    assert_int_equal(count_dim(a, PUMP_AGG_OAUTHENDPOINTS), 1);
    pump_agg_set_free(&s);
}

static void test_per_minute_buckets(void **state)
{
    (void)state;
    pump_agg_opts_t o = {.aggregation_minutes = 1};
    pump_agg_set_t s;
    pump_agg_set_init(&s, &o);
    build_set(&s);
    /* org1: 10:05, 10:20, 10:40, 10:50, 10:55, 11:05 -> six buckets; org2 one */
    assert_int_equal(s.n, 7);
    const pump_agg_t *a = find_agg(&s, "org1", T10 + 20 * 60);
    assert_non_null(a);
    assert_int_equal(a->total.c.hits, 1);
    assert_int_equal(a->total.c.error_total, 1);
    pump_agg_set_free(&s);

    tk_an_time_t t = {T10 + 17 * 60 + 42, 5};
    assert_int_equal(pump_agg_bucket(t, 60), T10);
    assert_int_equal(pump_agg_bucket(t, 1), T10 + 17 * 60);
    assert_int_equal(pump_agg_bucket(t, 15), T10 + 15 * 60);
}

static void test_status_code_columns(void **state)
{
    (void)state;
    pump_agg_counter_t c = {0};
    pump_agg_errcount_t errs[] = {{404, 3}, {418, 2}, {500, 1}, {503, 4}, {302, 5}, {499, 1}};
    c.errors = errs;
    c.n_errors = TK_ARRAY_LEN(errs);
    int64_t codes[PUMP_AGG_NCODES];
    pump_agg_codes(&c, codes);
    for (int i = 0; i < PUMP_AGG_NCODES; i++) {
        const char *n = pump_agg_code_names[i];
        int64_t want = strcmp(n, "404") == 0   ? 3
                       : strcmp(n, "4x") == 0  ? 3 /* 418 + 499 */
                       : strcmp(n, "500") == 0 ? 1
                       : strcmp(n, "503") == 0 ? 4
                       : strcmp(n, "302") == 0 ? 5
                                               : 0;
        assert_int_equal(codes[i], want);
    }
    assert_string_equal(pump_agg_code_names[0], "1x");
    assert_string_equal(pump_agg_code_names[PUMP_AGG_NCODES - 1], "5x");
}

static void test_uptime(void **state)
{
    (void)state;
    /* Tyk's TestSQLWriteUptimeDataAggregations: 5 checks of one URL */
    static const int codes[] = {200, 500, 200, 200, 500};
    static const int64_t times[] = {10, 10, 10, 20, 20};
    pump_agg_set_t s;
    pump_agg_set_init(&s, NULL);
    for (int i = 0; i < 5; i++) {
        tk_uptime_record_t u = {0};
        u.org_id = S("1");
        u.url = S("url1");
        u.response_code = codes[i];
        u.request_time = times[i];
        u.timestamp = (tk_an_time_t){T10 + 600 + i, 0};
        assert_true(pump_agg_add_uptime(&s, &u));
    }
    tk_uptime_record_t none = {0};
    assert_false(pump_agg_add_uptime(&s, &none));
    assert_int_equal(s.n, 1);
    const pump_agg_t *a = s.aggs[0];
    assert_int_equal(a->bucket, T10);
    const pump_agg_entry_t *e = find(a, PUMP_AGG_URL, "url1");
    assert_non_null(e);
    assert_int_equal(e->c.hits, 5);
    assert_int_equal(e->c.success, 3);
    assert_int_equal(e->c.error_total, 2);
    assert_true(e->c.request_time == 14.0);
    assert_true(e->c.total_request_time == 70.0);
    int64_t cc[PUMP_AGG_NCODES];
    pump_agg_codes(&e->c, cc);
    assert_int_equal(cc[1], 3);  /* code_200 */
    assert_int_equal(cc[15], 2); /* code_500 */
    assert_int_equal(find(a, PUMP_AGG_ERRORS, "500")->c.hits, 2);
    assert_int_equal(a->total.c.hits, 5);
    assert_int_equal(count_dim(a, PUMP_AGG_ERRORS), 1);
    pump_agg_set_free(&s);
}

static void test_dohash(void **state)
{
    (void)state;
    char *h = pump_agg_dohash("api1:v1", 7);
    assert_string_equal(h, "YXBpMTp2MQ");
    free(h);
    assert_string_equal(pump_agg_dim_name(PUMP_AGG_TOTAL), "");
    assert_string_equal(pump_agg_dim_name(PUMP_AGG_APIENDPOINTS), "apiendpoints");
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_counter),
        cmocka_unit_test(test_dimensions),
        cmocka_unit_test(test_ignore_tags_and_dims),
        cmocka_unit_test(test_track_all_paths),
        cmocka_unit_test(test_per_minute_buckets),
        cmocka_unit_test(test_status_code_columns),
        cmocka_unit_test(test_uptime),
        cmocka_unit_test(test_dohash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
