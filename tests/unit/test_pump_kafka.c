/* SPDX-License-Identifier: Apache-2.0 */
/* The kafka sink against librdkafka's built-in mock cluster (a real Kafka protocol server inside
 * this process): messages are read back with a real consumer and compared byte for byte; a broker
 * that is down, or that rejects a produce, makes write() fail, and the next write succeeds. */
#include "pump_sink.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern const pump_sink_ops_t pump_sink_kafka;

#define S(lit) ((tk_str_t){(lit), sizeof(lit) - 1})
#define TOPIC "tyk-analytics"
#define KAFKA_PRODUCE_API 0 /* Kafka protocol ApiKey of Produce */

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static rd_kafka_t *consumer;

static tk_analytics_record_t rec(const char *path, int code, int64_t rt)
{
    tk_analytics_record_t r = {0};
    r.method = S("POST");
    r.host = S("api.example.com");
    r.path = (tk_str_t){path, strlen(path)};
    r.raw_path = r.path;
    r.content_length = 17;
    r.user_agent = S("curl/8");
    r.response_code = code;
    r.api_key = S("abc");
    r.api_version = S("v2");
    r.api_name = S("Pets <beta>");
    r.api_id = S("pets");
    r.org_id = S("org9");
    r.oauth_id = S("");
    r.request_time = rt;
    r.raw_request = S("R0VUIC8=");
    r.ip_address = S("10.0.0.1");
    r.alias = S("al");
    r.timestamp.sec = 1704164645;
    r.timestamp.nsec = 120000000;
    return r;
}

static int write_recs(void *st, tk_analytics_record_t *recs, size_t n, char *err, size_t errlen)
{
    pump_item_t items[8];
    for (size_t i = 0; i < n; i++)
        items[i] = (pump_item_t){.seq = i + 1, .rec = &recs[i]};
    pump_batch_t b = {.items = items, .n = n, .last_seq = n};
    err[0] = '\0';
    return pump_sink_kafka.write(st, &b, err, errlen);
}

static void *create_sink(const char *extra)
{
    char meta_s[1024], err[256];
    snprintf(meta_s, sizeof(meta_s),
             "{\"broker\":[\"%s\"],\"topic\":\"" TOPIC "\",\"client_id\":\"turnpike-test\","
             "\"timeout\":\"3s\",\"compressed\":true,\"meta_data\":{\"env\":\"test\"}%s}",
             rd_kafka_mock_cluster_bootstraps(mock), extra);
    json_t *meta = json_loads(meta_s, 0, NULL);
    assert_non_null(meta);
    pump_sink_conf_t c = {.name = "KAFKA", .type = "kafka", .meta = meta, .pump = meta};
    void *st = NULL;
    int rc = pump_sink_kafka.create(&c, &st, err, sizeof(err));
    json_decref(meta);
    if (rc != 0)
        print_error("create: %s\n", err);
    assert_int_equal(rc, 0);
    return st;
}

/* The next message on the topic, or NULL after @ms. Caller destroys. */
static rd_kafka_message_t *consume_one(int ms)
{
    time_t end = time(NULL) + ms / 1000 + 1;
    while (time(NULL) < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 200);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        return m;
    }
    return NULL;
}

static void expect_message(const char *want)
{
    rd_kafka_message_t *m = consume_one(10000);
    assert_non_null(m);
    assert_null(m->key); /* Tyk's kafka pump sets no key */
    char *got = strndup(m->payload, m->len);
    if (strcmp(got, want) != 0) {
        print_error("want: %s\n got: %s\n", want, got);
        fail();
    }
    free(got);
    rd_kafka_message_destroy(m);
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "0", err, sizeof(err));
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    assert_non_null(mock_rk);
    mock = rd_kafka_mock_cluster_new(mock_rk, 1);
    assert_non_null(mock);
    assert_int_equal(rd_kafka_mock_topic_create(mock, TOPIC, 1, 1), 0);

    c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock), err,
                      sizeof(err));
    rd_kafka_conf_set(c, "group.id", "test", err, sizeof(err));
    rd_kafka_conf_set(c, "log_level", "0", err, sizeof(err));
    consumer = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    assert_non_null(consumer);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, TOPIC, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(consumer, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(mock_rk);
    return 0;
}

static void test_kafka_messages(void **state)
{
    (void)state;
    void *st = create_sink("");
    tk_analytics_record_t r[2] = {rec("/pets/1", 201, 35), rec("/pets/2", 404, 4)};
    tk_str_t tags[] = {S("key-abc"), S("org-org9")};
    r[1].tags = tags;
    r[1].n_tags = 2;
    r[1].timestamp.nsec = 0;
    char err[256];
    assert_int_equal(write_recs(st, r, 2, err, sizeof(err)), 0);
    /* Go's encoding/json of tyk-pump's map: sorted keys, <> escaped, meta_data merged. */
    expect_message("{\"alias\":\"al\",\"api_id\":\"pets\",\"api_key\":\"abc\","
                   "\"api_name\":\"Pets \\u003cbeta\\u003e\",\"api_version\":\"v2\","
                   "\"content_length\":17,\"env\":\"test\",\"host\":\"api.example.com\","
                   "\"ip_address\":\"10.0.0.1\",\"method\":\"POST\",\"oauth_id\":\"\","
                   "\"org_id\":\"org9\",\"path\":\"/pets/1\",\"raw_path\":\"/pets/1\","
                   "\"raw_request\":\"R0VUIC8=\",\"raw_response\":\"\",\"request_time_ms\":35,"
                   "\"response_code\":201,\"tags\":null,"
                   "\"timestamp\":\"2024-01-02T03:04:05.12Z\",\"user_agent\":\"curl/8\"}");
    expect_message("{\"alias\":\"al\",\"api_id\":\"pets\",\"api_key\":\"abc\","
                   "\"api_name\":\"Pets \\u003cbeta\\u003e\",\"api_version\":\"v2\","
                   "\"content_length\":17,\"env\":\"test\",\"host\":\"api.example.com\","
                   "\"ip_address\":\"10.0.0.1\",\"method\":\"POST\",\"oauth_id\":\"\","
                   "\"org_id\":\"org9\",\"path\":\"/pets/2\",\"raw_path\":\"/pets/2\","
                   "\"raw_request\":\"R0VUIC8=\",\"raw_response\":\"\",\"request_time_ms\":4,"
                   "\"response_code\":404,\"tags\":[\"key-abc\",\"org-org9\"],"
                   "\"timestamp\":\"2024-01-02T03:04:05Z\",\"user_agent\":\"curl/8\"}");
    pump_sink_kafka.destroy(st);
}

static void test_kafka_broker_down_then_back(void **state)
{
    (void)state;
    void *st = create_sink("");
    tk_analytics_record_t r[1] = {rec("/down", 200, 1)};
    char err[256];
    assert_int_equal(write_recs(st, r, 1, err, sizeof(err)), 0); /* connected and working */
    rd_kafka_message_t *m = consume_one(10000);
    assert_non_null(m);
    assert_non_null(strstr(m->payload, "\"path\":\"/down\""));
    rd_kafka_message_destroy(m);

    assert_int_equal(rd_kafka_mock_broker_set_down(mock, 1), 0);
    r[0].path = S("/while-down");
    time_t t0 = time(NULL);
    assert_int_equal(write_recs(st, r, 1, err, sizeof(err)), -1);
    print_message("broker down: %s (%lds)\n", err, (long)(time(NULL) - t0));
    assert_true(time(NULL) - t0 <= 8); /* bounded by the 3 s timeout (+2 s grace) */

    assert_int_equal(rd_kafka_mock_broker_set_up(mock, 1), 0);
    r[0].path = S("/after");
    /* As the pump does: the batch is offered again until it is written (the producer may need a
     * moment to reconnect). */
    int rc = -1;
    for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
        rc = write_recs(st, r, 1, err, sizeof(err));
        if (rc != 0)
            print_message("after recovery, attempt %d: %s\n", attempt + 1, err);
    }
    assert_int_equal(rc, 0);
    m = consume_one(10000);
    assert_non_null(m);
    assert_non_null(strstr(m->payload, "\"path\":\"/after\""));
    rd_kafka_message_destroy(m);
    pump_sink_kafka.destroy(st);
}

static void test_kafka_rejected_produce(void **state)
{
    (void)state;
    void *st = create_sink("");
    tk_analytics_record_t r[1] = {rec("/rejected", 200, 1)};
    char err[256];
    /* The broker refuses the next produce with a non-retriable error. */
    rd_kafka_mock_push_request_errors(mock, KAFKA_PRODUCE_API, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    /* too large is about the message itself: -2, the pump dead-letters it */
    assert_int_equal(write_recs(st, r, 1, err, sizeof(err)), -2);
    print_message("rejected: %s\n", err);
    assert_non_null(strstr(err, "not delivered"));
    r[0].path = S("/accepted");
    r[0].raw_path = r[0].path;
    assert_int_equal(write_recs(st, r, 1, err, sizeof(err)), 0);
    rd_kafka_message_t *m = consume_one(10000);
    assert_non_null(m);
    assert_non_null(strstr(m->payload, "\"path\":\"/accepted\""));
    rd_kafka_message_destroy(m);
    pump_sink_kafka.destroy(st);
}

static void test_kafka_bad_config(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"{\"broker\":[\"127.0.0.1:1\"]}", "topic"},
        {"{\"topic\":\"t\"}", "broker"},
        {"{\"topic\":\"t\",\"broker\":[\"127.0.0.1:1\"],\"timeout\":\"soon\"}", "timeout"},
        {"{\"topic\":\"t\",\"broker\":[\"127.0.0.1:1\"],\"meta_data\":{\"a\":1}}", "meta_data.a"},
        {"{\"topic\":\"t\",\"broker\":[\"127.0.0.1:1\"],\"use_ssl\":true,"
         "\"ssl_cert_file\":\"/x.pem\"}",
         "ssl_key_file"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *meta = json_loads(bad[i][0], 0, NULL);
        pump_sink_conf_t c = {.name = "K", .type = "kafka", .meta = meta, .pump = meta};
        void *st = NULL;
        char err[256] = "";
        assert_int_equal(pump_sink_kafka.create(&c, &st, err, sizeof(err)), -1);
        if (!strstr(err, bad[i][1])) {
            print_error("case %zu: %s\n", i, err);
            fail();
        }
        json_decref(meta);
    }
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_messages),
        cmocka_unit_test(test_kafka_broker_down_then_back),
        cmocka_unit_test(test_kafka_rejected_produce),
        cmocka_unit_test(test_kafka_bad_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
