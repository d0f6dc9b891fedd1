/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_analytics: Tyk's msgpack layout of analytics and uptime records, tolerant
 * decoding, and the JSON form. Expected bytes are written out by hand from the msgpack spec and
 * the Go struct layout (field order, v2's smallest integer forms, time as [sec, nsec]). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_analytics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- fixtures -------------------------------------------------------------------------------- */

static const tk_str_t fixture_tags[] = {TK_STR("key-abc"), TK_STR("org-xyz"), TK_STR("api-1")};
static const tk_an_name_t fixture_names[] = {{TK_STR("en"), TK_STR("London")},
                                             {TK_STR("de"), TK_STR("London")}};

static tk_analytics_record_t full_record(void)
{
    tk_analytics_record_t r;
    memset(&r, 0, sizeof r);
    r.method = TK_STR("GET");
    r.host = TK_STR("upstream:8080");
    r.path = TK_STR("/get");
    r.raw_path = TK_STR("/api/get");
    r.content_length = 200;
    r.user_agent = TK_STR("curl/8.0");
    r.day = 5;
    r.month = 11;
    r.year = 2024;
    r.hour = 13;
    r.response_code = 200;
    r.api_key = TK_STR("");
    r.timestamp = (tk_an_time_t){1700000000, 123456789};
    r.api_version = TK_STR("Non Versioned");
    r.api_name = TK_STR("Test API");
    r.api_id = TK_STR("api-1");
    r.org_id = TK_STR("org-xyz");
    r.oauth_id = TK_STR("client-7");
    r.request_time = 250;
    r.raw_request = TK_STR("R0VUIC8gSFRUUC8xLjENCg0K");
    r.raw_response = TK_STR("SFRUUC8xLjEgMjAwIE9LDQoNCg==");
    r.ip_address = TK_STR("127.0.0.1");
    r.geo.country_iso_code = TK_STR("GB");
    r.geo.city_geoname_id = 2643743;
    r.geo.city_names = fixture_names;
    r.geo.n_city_names = 2;
    r.geo.latitude = 51.5085;
    r.geo.longitude = -0.1257;
    r.geo.time_zone = TK_STR("Europe/London");
    r.network.open_connections = -1;
    r.network.closed_connections = -33;
    r.network.bytes_in = 70000;
    r.network.bytes_out = 5000000000LL;
    r.latency.total = 250;
    r.latency.upstream = 200;
    r.latency.gateway = 50;
    r.tags = fixture_tags;
    r.n_tags = 3;
    r.alias = TK_STR("alice");
    r.track_path = true;
    r.expire_at = (tk_an_time_t){4853600000LL, 0};
    r.api_schema = TK_STR("");
    r.collection_name = TK_STR("");
    r.original_path = TK_STR("/api/get");
    r.listen_path = TK_STR("/api/");
    return r;
}

/* Offset of @needle in @hay, or -1. */
static long find(const tk_buf_t *hay, const void *needle, size_t n)
{
    if (n > hay->len)
        return -1;
    for (size_t i = 0; i + n <= hay->len; i++)
        if (memcmp(hay->data + i, needle, n) == 0)
            return (long)i;
    return -1;
}

#define FIND(buf, lit) find((buf), (lit), sizeof(lit) - 1)

static bool str_eq(tk_str_t s, const char *lit)
{
    return s.len == strlen(lit) && (s.len == 0 || memcmp(s.p, lit, s.len) == 0);
}

static bool same_str(tk_str_t a, tk_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ---- encoding -------------------------------------------------------------------------------- */

static void test_encode_header_and_first_fields(void **state)
{
    (void)state;
    tk_analytics_record_t r = full_record();
    tk_buf_t b = {0};
    tk_analytics_encode(&r, &b);

    static const unsigned char expect[] =
        "\xde\x00\x23"              /* map16, 35 keys */
        "\xa6Method\xa3GET"         /* fixstr */
        "\xa4Host\xadupstream:8080" /* */
        "\xa4Path\xa4/get"          /* */
        "\xa7RawPath\xa8/api/get"   /* */
        "\xad"
        "ContentLength\xcc\xc8" /* 200 is uint8, not int64 */
        "\xa9UserAgent\xa8"
        "curl/8.0" /* */
        "\xa3"
        "Day\x05"                  /* positive fixint */
        "\xa5Month\x0b"            /* time.Month as an int */
        "\xa4Year\xcd\x07\xe8"     /* 2024 as uint16 */
        "\xa4Hour\x0d"             /* */
        "\xacResponseCode\xcc\xc8" /* */
        "\xa6"
        "APIKey\xa0"                                                 /* empty string */
        "\xa9TimeStamp\x92\xce\x65\x53\xf1\x00\xce\x07\x5b\xcd\x15"; /* [sec u32, nsec u32] */
    assert_true(b.len > sizeof expect - 1);
    assert_memory_equal(b.data, expect, sizeof expect - 1);
    tk_buf_free(&b);
}

static void test_encode_key_order(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "Method",        "Host",       "Path",         "RawPath",
        "ContentLength", "UserAgent",  "Day",          "Month",
        "Year",          "Hour",       "ResponseCode", "APIKey",
        "TimeStamp",     "APIVersion", "APIName",      "APIID",
        "OrgID",         "OauthID",    "RequestTime",  "RawRequest",
        "RawResponse",   "IPAddress",  "Geo",          "Network",
        "Latency",       "Tags",       "Alias",        "TrackPath",
        "ExpireAt",      "ApiSchema",  "GraphQLStats", "CollectionName",
        "OriginalPath",  "ListenPath", "MCPStats",
    };
    assert_int_equal(TK_ARRAY_LEN(keys), 35);
    tk_analytics_record_t r = full_record();
    tk_buf_t b = {0};
    tk_analytics_encode(&r, &b);
    long last = -1;
    for (size_t i = 0; i < TK_ARRAY_LEN(keys); i++) {
        char k[40];
        size_t n = strlen(keys[i]);
        k[0] = (char)(0xa0 | n);
        memcpy(k + 1, keys[i], n);
        long at = find(&b, k, n + 1);
        if (at <= last)
            fail_msg("key %s at %ld, previous key at %ld", keys[i], at, last);
        last = at;
    }
    tk_buf_free(&b);
}

static void test_encode_nested_and_int_forms(void **state)
{
    (void)state;
    tk_analytics_record_t r = full_record();
    tk_buf_t b = {0};
    tk_analytics_encode(&r, &b);

    /* Negative fixint, int8, uint32 and uint64 forms. */
    assert_true(FIND(&b, "\xa7Network\x84"
                         "\xafOpenConnections\xff"
                         "\xb0"
                         "ClosedConnection\xd0\xdf"
                         "\xa7"
                         "BytesIn\xce\x00\x01\x11\x70"
                         "\xa8"
                         "BytesOut\xcf\x00\x00\x00\x01\x2a\x05\xf2\x00") >= 0);
    assert_true(FIND(&b, "\xa7Latency\x83\xa5Total\xcc\xfa\xa8Upstream\xcc\xc8\xa7Gateway\x32") >=
                0);
    assert_true(FIND(&b, "\xa4Tags\x93\xa7key-abc\xa7org-xyz\xa5"
                         "api-1") >= 0);
    assert_true(FIND(&b, "\xa9TrackPath\xc3") >= 0);
    /* Seconds beyond 32 bits take uint64; zero nanoseconds a fixint. */
    assert_true(FIND(&b, "\xa8"
                         "ExpireAt\x92\xcf\x00\x00\x00\x01\x21\x4c\x0f\x00\x00") >= 0);
    assert_true(FIND(&b, "\xa3Geo\x83\xa7"
                         "Country\x81\xa7ISOCode\xa2GB"
                         "\xa4"
                         "City\x82\xa9GeoNameID\xce\x00\x28\x57\x1f"
                         "\xa5Names\x82\xa2"
                         "en\xa6London\xa2"
                         "de\xa6London"
                         "\xa8Location\x83\xa8Latitude\xcb") >= 0);
    /* Zero-value GraphQLStats and MCPStats as nested maps (nil map/slices as nil). */
    assert_true(FIND(&b, "\xacGraphQLStats\x87"
                         "\xa9IsGraphQL\xc2"
                         "\xa5Types\xc0"
                         "\xaaRootFields\xc0"
                         "\xa9HasErrors\xc2"
                         "\xa6"
                         "Errors\xc0"
                         "\xadOperationType\x00"
                         "\xa9Variables\xa0"
                         "\xae"
                         "CollectionName\xa0") >= 0);
    static const char mcp_tail[] = "\xa8MCPStats\x84"
                                   "\xa5IsMCP\xc2"
                                   "\xadJSONRPCMethod\xa0"
                                   "\xadPrimitiveType\xa0"
                                   "\xadPrimitiveName\xa0";
    assert_true(b.len >= sizeof mcp_tail - 1);
    assert_memory_equal(b.data + b.len - (sizeof mcp_tail - 1), mcp_tail, sizeof mcp_tail - 1);
    tk_buf_free(&b);
}

static void test_encode_long_strings_and_empty_geo(void **state)
{
    (void)state;
    tk_analytics_record_t r;
    memset(&r, 0, sizeof r);
    char big[70000];
    memset(big, 'x', sizeof big);
    r.path = (tk_str_t){big, 40};                 /* str8 */
    r.raw_request = (tk_str_t){big, 300};         /* str16 */
    r.raw_response = (tk_str_t){big, sizeof big}; /* str32 */
    tk_buf_t b = {0};
    tk_analytics_encode(&r, &b);
    assert_true(FIND(&b, "\xa4Path\xd9\x28xxx") >= 0);
    assert_true(FIND(&b, "\xaaRawRequest\xda\x01\x2cxxx") >= 0);
    assert_true(FIND(&b, "\xabRawResponse\xdb\x00\x01\x11\x70xxx") >= 0);
    /* No city names is a nil map; no tags is still an (empty) array. */
    assert_true(FIND(&b, "\xa5Names\xc0") >= 0);
    assert_true(FIND(&b, "\xa4Tags\x90") >= 0);
    assert_true(FIND(&b, "\xa9TimeStamp\x92\x00\x00") >= 0);

    tk_analytics_record_t d;
    char err[128];
    assert_int_equal(tk_analytics_decode(b.data, b.len, &d, err, sizeof err), 0);
    assert_int_equal(d.raw_response.len, sizeof big);
    assert_int_equal(d.n_tags, 0);
    tk_analytics_record_free(&d);
    tk_buf_free(&b);
}

static void test_encode_raw_stats_verbatim(void **state)
{
    (void)state;
    tk_analytics_record_t r = full_record();
    r.graphql_stats_raw = TK_STR("\x81\xa9IsGraphQL\xc3");
    r.mcp_stats_raw = TK_STR("\x81\xa5IsMCP\xc3");
    tk_buf_t b = {0};
    tk_analytics_encode(&r, &b);
    assert_true(FIND(&b, "\xacGraphQLStats\x81\xa9IsGraphQL\xc3\xae"
                         "CollectionName") >= 0);
    assert_true(FIND(&b, "\xa8MCPStats\x81\xa5IsMCP\xc3") == (long)(b.len - 17));

    tk_analytics_record_t d;
    assert_int_equal(tk_analytics_decode(b.data, b.len, &d, NULL, 0), 0);
    assert_true(same_str(d.graphql_stats_raw, r.graphql_stats_raw));
    assert_true(same_str(d.mcp_stats_raw, r.mcp_stats_raw));
    tk_analytics_record_free(&d);
    tk_buf_free(&b);
}

static void test_encode_appends(void **state)
{
    (void)state;
    tk_analytics_record_t r = full_record();
    tk_buf_t b = {0};
    tk_buf_append(&b, "prefix", 6);
    tk_analytics_encode(&r, &b);
    size_t one = b.len - 6;
    tk_analytics_encode(&r, &b);
    assert_int_equal(b.len, 6 + 2 * one);
    assert_memory_equal(b.data, "prefix", 6);
    assert_memory_equal(b.data + 6, b.data + 6 + one, one);
    tk_buf_free(&b);
    assert_null(b.data);
}

/* ---- decoding -------------------------------------------------------------------------------- */

static void assert_same_record(const tk_analytics_record_t *a, const tk_analytics_record_t *b)
{
    const size_t str_fields[] = {
        offsetof(tk_analytics_record_t, method),
        offsetof(tk_analytics_record_t, host),
        offsetof(tk_analytics_record_t, path),
        offsetof(tk_analytics_record_t, raw_path),
        offsetof(tk_analytics_record_t, user_agent),
        offsetof(tk_analytics_record_t, api_key),
        offsetof(tk_analytics_record_t, api_version),
        offsetof(tk_analytics_record_t, api_name),
        offsetof(tk_analytics_record_t, api_id),
        offsetof(tk_analytics_record_t, org_id),
        offsetof(tk_analytics_record_t, oauth_id),
        offsetof(tk_analytics_record_t, raw_request),
        offsetof(tk_analytics_record_t, raw_response),
        offsetof(tk_analytics_record_t, ip_address),
        offsetof(tk_analytics_record_t, alias),
        offsetof(tk_analytics_record_t, api_schema),
        offsetof(tk_analytics_record_t, collection_name),
        offsetof(tk_analytics_record_t, original_path),
        offsetof(tk_analytics_record_t, listen_path),
    };
    for (size_t i = 0; i < TK_ARRAY_LEN(str_fields); i++) {
        const tk_str_t *x = (const tk_str_t *)((const char *)a + str_fields[i]);
        const tk_str_t *y = (const tk_str_t *)((const char *)b + str_fields[i]);
        if (!same_str(*x, *y))
            fail_msg("string field at offset %zu: '%.*s' != '%.*s'", str_fields[i], (int)x->len,
                     x->p, (int)y->len, y->p);
    }
    assert_int_equal(a->content_length, b->content_length);
    assert_int_equal(a->day, b->day);
    assert_int_equal(a->month, b->month);
    assert_int_equal(a->year, b->year);
    assert_int_equal(a->hour, b->hour);
    assert_int_equal(a->response_code, b->response_code);
    assert_int_equal(a->timestamp.sec, b->timestamp.sec);
    assert_int_equal(a->timestamp.nsec, b->timestamp.nsec);
    assert_int_equal(a->request_time, b->request_time);
    assert_true(same_str(a->geo.country_iso_code, b->geo.country_iso_code));
    assert_int_equal(a->geo.city_geoname_id, b->geo.city_geoname_id);
    assert_int_equal(a->geo.n_city_names, b->geo.n_city_names);
    for (size_t i = 0; i < a->geo.n_city_names; i++) {
        assert_true(same_str(a->geo.city_names[i].key, b->geo.city_names[i].key));
        assert_true(same_str(a->geo.city_names[i].value, b->geo.city_names[i].value));
    }
    assert_true(a->geo.latitude == b->geo.latitude);
    assert_true(a->geo.longitude == b->geo.longitude);
    assert_true(same_str(a->geo.time_zone, b->geo.time_zone));
    assert_int_equal(a->network.open_connections, b->network.open_connections);
    assert_int_equal(a->network.closed_connections, b->network.closed_connections);
    assert_int_equal(a->network.bytes_in, b->network.bytes_in);
    assert_int_equal(a->network.bytes_out, b->network.bytes_out);
    assert_int_equal(a->latency.total, b->latency.total);
    assert_int_equal(a->latency.upstream, b->latency.upstream);
    assert_int_equal(a->latency.gateway, b->latency.gateway);
    assert_int_equal(a->n_tags, b->n_tags);
    for (size_t i = 0; i < a->n_tags; i++)
        assert_true(same_str(a->tags[i], b->tags[i]));
    assert_int_equal(a->track_path, b->track_path);
    assert_int_equal(a->expire_at.sec, b->expire_at.sec);
    assert_int_equal(a->expire_at.nsec, b->expire_at.nsec);
}

static void test_round_trip(void **state)
{
    (void)state;
    tk_analytics_record_t r = full_record();
    tk_buf_t b = {0}, again = {0};
    tk_analytics_encode(&r, &b);

    tk_analytics_record_t d;
    char err[128] = "";
    assert_int_equal(tk_analytics_decode(b.data, b.len, &d, err, sizeof err), 0);
    assert_same_record(&r, &d);
    /* Zero-copy: strings point into the input. */
    assert_true(d.method.p >= b.data && d.method.p < b.data + b.len);
    assert_true(d.tags[0].p >= b.data && d.tags[0].p < b.data + b.len);
    assert_non_null(d.owned_);

    /* The decoded zero stats are kept as raw bytes, so re-encoding is byte-identical. */
    tk_analytics_encode(&d, &again);
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.data, b.data, b.len);
    tk_analytics_record_free(&d);
    tk_buf_free(&b);
    tk_buf_free(&again);
}

/* A small msgpack writer for hand-built inputs. */
typedef struct {
    unsigned char d[1024];
    size_t n;
} mp_t;

static void raw(mp_t *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof m->d);
    memcpy(m->d + m->n, p, n);
    m->n += n;
}

#define RAW(m, lit) raw((m), (lit), sizeof(lit) - 1)

static void str(mp_t *m, const char *s)
{
    size_t n = strlen(s);
    assert_true(n < 32);
    unsigned char h = (unsigned char)(0xa0 | n);
    raw(m, &h, 1);
    raw(m, s, n);
}

static void test_decode_any_order_unknown_keys_old_forms(void **state)
{
    (void)state;
    mp_t m = {.n = 0};
    RAW(&m, "\x8d");         /* 13 entries */
    str(&m, "SomethingNew"); /* unknown, nested several levels */
    RAW(&m, "\x82\xa1x\x93\x01\xc0\x81\xa1y\x92\xcb\x00\x00\x00\x00\x00\x00\x00\x00\xd6\x05"
            "abcd\xa1z\xc7\x03\x07qqq");
    str(&m, "ResponseCode");
    RAW(&m, "\xd3\x00\x00\x00\x00\x00\x00\x01\xf4"); /* 500 as int64 */
    str(&m, "Latency");                              /* the older two-field Latency */
    RAW(&m, "\x82\xa5Total\x0a\xa8Upstream\x07");
    str(&m, "TimeStamp"); /* timestamp extension, 64-bit form: nsec 5, sec 1700000000 */
    RAW(&m, "\xd7\xff\x00\x00\x00\x14\x65\x53\xf1\x00");
    str(&m, "ExpireAt"); /* timestamp extension, 32-bit form */
    RAW(&m, "\xd6\xff\x65\x53\xf1\x00");
    str(&m, "APIID");
    RAW(&m, "\xc4\x03"
            "abc"); /* bin8 where a string is expected */
    str(&m, "Geo");
    RAW(&m, "\x82\xa8Location\x82\xa8Latitude\xca\x3f\xc0\x00\x00\xa5"
            "Extra\x01\xa4"
            "City\x81\xa9GeoNameID\xd0\x05");
    str(&m, "Tags");
    RAW(&m, "\xc0"); /* nil slice */
    str(&m, "Alias");
    RAW(&m, "\xc0");     /* nil string */
    RAW(&m, "\x07\x01"); /* an integer key: skipped with its value */
    str(&m, "ContentLength");
    RAW(&m, "\xd1\xff\x38"); /* -200 as int16 */
    str(&m, "Month");
    RAW(&m, "\xcf\x00\x00\x00\x00\x00\x00\x00\x0c"); /* 12 as uint64 */
    str(&m, "Day");
    RAW(&m, "\xcc\x1f");

    tk_analytics_record_t d;
    char err[128] = "";
    if (tk_analytics_decode(m.d, m.n, &d, err, sizeof err) != 0)
        fail_msg("decode failed: %s", err);
    assert_int_equal(d.response_code, 500);
    assert_int_equal(d.latency.total, 10);
    assert_int_equal(d.latency.upstream, 7);
    assert_int_equal(d.latency.gateway, 0);
    assert_int_equal(d.timestamp.sec, 1700000000);
    assert_int_equal(d.timestamp.nsec, 5);
    assert_int_equal(d.expire_at.sec, 1700000000);
    assert_int_equal(d.expire_at.nsec, 0);
    assert_true(str_eq(d.api_id, "abc"));
    assert_true(d.geo.latitude == 1.5);
    assert_int_equal(d.geo.city_geoname_id, 5);
    assert_int_equal(d.n_tags, 0);
    assert_null(d.tags);
    assert_true(str_eq(d.alias, ""));
    assert_int_equal(d.content_length, -200);
    assert_int_equal(d.month, 12);
    assert_int_equal(d.day, 31);
    assert_true(str_eq(d.method, "")); /* missing keys keep the zero value */
    assert_int_equal(d.graphql_stats_raw.len, 0);
    assert_null(d.owned_);
    tk_analytics_record_free(&d);

    /* The third time form: ext8 of 12 bytes (nsec u32, sec i64). */
    mp_t t = {.n = 0};
    RAW(&t, "\x81");
    str(&t, "TimeStamp");
    RAW(&t, "\xc7\x0c\xff\x00\x00\x00\x09\xff\xff\xff\xff\xff\xff\xff\xfe");
    assert_int_equal(tk_analytics_decode(t.d, t.n, &d, err, sizeof err), 0);
    assert_int_equal(d.timestamp.sec, -2);
    assert_int_equal(d.timestamp.nsec, 9);
    tk_analytics_record_free(&d);
}

static void expect_error(const void *p, size_t n, const char *fragment)
{
    tk_analytics_record_t d;
    char err[160] = "";
    memset(&d, 0x5a, sizeof d);
    assert_int_equal(tk_analytics_decode(p, n, &d, err, sizeof err), -1);
    if (strstr(err, fragment) == NULL)
        fail_msg("error '%s' does not mention '%s'", err, fragment);
    assert_null(d.owned_);
    assert_null(d.tags);
}

#define EXPECT_ERROR(lit, fragment) expect_error((lit), sizeof(lit) - 1, (fragment))

static void test_decode_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("", "empty");
    EXPECT_ERROR("\x93\x01\x02\x03", "expected a map");
    EXPECT_ERROR("\x81\xacResponseCode\xa3"
                 "abc",
                 "ResponseCode: expected an integer");
    EXPECT_ERROR("\x81\xa3"
                 "Day\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
                 "out of range");
    EXPECT_ERROR("\x81\xa3"
                 "Day\xd3\x00\x00\x00\x00\x80\x00\x00\x00",
                 "Day: integer out of range");
    EXPECT_ERROR("\x81\xa9TimeStamp\x93\x01\x02\x03", "2");
    EXPECT_ERROR("\x81\xa9TimeStamp\xd7\x05\0\0\0\0\0\0\0\0", "not a timestamp");
    EXPECT_ERROR("\x81\xa4Tags\x92\xa1x\x05", "Tags: expected a string");
    EXPECT_ERROR("\x81\xa4Tags\xdd\xff\xff\xff\xff\xa1x", "truncated");
    EXPECT_ERROR("\xdf\xff\xff\xff\xff\xa1x", "truncated");
    EXPECT_ERROR("\x81\xa1x\xc1", "expected a msgpack value");

    /* Nesting deeper than the limit inside an unknown key. */
    unsigned char deep[200];
    size_t n = 0;
    deep[n++] = 0x81;
    deep[n++] = 0xa1;
    deep[n++] = 'q';
    while (n < sizeof deep - 1)
        deep[n++] = 0x91;
    deep[n++] = 0x01;
    expect_error(deep, n, "nesting");
}

static void test_decode_every_prefix_fails(void **state)
{
    (void)state;
    tk_analytics_record_t r = full_record();
    tk_buf_t b = {0};
    tk_analytics_encode(&r, &b);
    for (size_t len = 0; len < b.len; len++) {
        /* A fresh allocation of exactly @len bytes lets ASan catch any read past the end. */
        char *copy = malloc(len ? len : 1);
        memcpy(copy, b.data, len);
        tk_analytics_record_t d;
        char err[128];
        if (tk_analytics_decode(copy, len, &d, err, sizeof err) != -1)
            fail_msg("prefix of %zu/%zu bytes decoded", len, b.len);
        assert_null(d.owned_);
        free(copy);
    }
    tk_buf_free(&b);
}

static void test_decode_garbage(void **state)
{
    (void)state;
    unsigned seed = 12345;
    unsigned char buf[256];
    tk_analytics_record_t r = full_record();
    tk_buf_t good = {0};
    tk_analytics_encode(&r, &good);
    for (int iter = 0; iter < 20000; iter++) {
        size_t n;
        if (iter % 2 == 0) { /* pure noise behind a map header */
            n = 1 + (size_t)(rand_r(&seed) % sizeof buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char)rand_r(&seed);
            buf[0] = (unsigned char)(0x80 | (buf[0] & 0x0f));
        } else { /* a valid record with a few bytes flipped */
            n = TK_MIN(good.len, sizeof buf);
            memcpy(buf, good.data, n);
            for (int k = 0; k < 3; k++)
                buf[(size_t)rand_r(&seed) % n] = (unsigned char)rand_r(&seed);
        }
        char *copy = malloc(n);
        memcpy(copy, buf, n);
        tk_analytics_record_t d;
        tk_uptime_record_t u;
        char err[128];
        if (tk_analytics_decode(copy, n, &d, err, sizeof err) == 0) {
            json_decref(tk_analytics_to_json(&d));
            tk_analytics_record_free(&d);
        }
        if (tk_uptime_decode(copy, n, &u, err, sizeof err) == 0)
            json_decref(tk_uptime_to_json(&u));
        free(copy);
    }
    tk_buf_free(&good);
}

/* ---- uptime ---------------------------------------------------------------------------------- */

static tk_uptime_record_t uptime_record(void)
{
    tk_uptime_record_t u;
    memset(&u, 0, sizeof u);
    u.url = TK_STR("http://upstream/health");
    u.request_time = 12;
    u.response_code = 503;
    u.tcp_error = false;
    u.server_error = true;
    u.day = 14;
    u.month = 11;
    u.year = 2023;
    u.hour = 22;
    u.minute = 13;
    u.timestamp = (tk_an_time_t){1700000000, 120000000};
    u.expire_at = (tk_an_time_t){1700604800, 0};
    u.api_id = TK_STR("api-1");
    u.org_id = TK_STR("org-xyz");
    return u;
}

static void test_uptime_layout_and_round_trip(void **state)
{
    (void)state;
    tk_uptime_record_t u = uptime_record();
    tk_buf_t b = {0};
    tk_uptime_encode(&u, &b);
    static const unsigned char expect[] =
        "\x8e"
        "\xa3URL\xb6http://upstream/health"
        "\xabRequestTime\x0c"
        "\xacResponseCode\xcd\x01\xf7"
        "\xa8TCPError\xc2"
        "\xabServerError\xc3"
        "\xa3"
        "Day\x0e"
        "\xa5Month\x0b"
        "\xa4Year\xcd\x07\xe7"
        "\xa4Hour\x16"
        "\xa6Minute\x0d"
        "\xa9TimeStamp\x92\xce\x65\x53\xf1\x00\xce\x07\x27\x0e\x00"
        "\xa8"
        "ExpireAt\x92\xce\x65\x5d\x2b\x80\x00"
        "\xa5"
        "APIID\xa5"
        "api-1"
        "\xa5OrgID\xa7org-xyz";
    assert_int_equal(b.len, sizeof expect - 1);
    assert_memory_equal(b.data, expect, sizeof expect - 1);

    tk_uptime_record_t d;
    char err[128] = "";
    assert_int_equal(tk_uptime_decode(b.data, b.len, &d, err, sizeof err), 0);
    assert_true(same_str(d.url, u.url));
    assert_int_equal(d.request_time, 12);
    assert_int_equal(d.response_code, 503);
    assert_false(d.tcp_error);
    assert_true(d.server_error);
    assert_int_equal(d.minute, 13);
    assert_int_equal(d.timestamp.nsec, 120000000);
    assert_int_equal(d.expire_at.sec, 1700604800);
    assert_true(str_eq(d.org_id, "org-xyz"));

    for (size_t len = 0; len < b.len; len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, b.data, len);
        assert_int_equal(tk_uptime_decode(copy, len, &d, err, sizeof err), -1);
        free(copy);
    }
    tk_buf_free(&b);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static const char *jget_str(json_t *o, const char *path)
{
    json_t *v = json_object_get(o, path);
    return json_string_value(v);
}

static void test_json_names(void **state)
{
    (void)state;
    tk_analytics_record_t r = full_record();
    json_t *j = tk_analytics_to_json(&r);
    static const char *const names[] = {
        "method",        "host",        "path",       "raw_path",     "content_length",
        "user_agent",    "day",         "month",      "year",         "hour",
        "response_code", "api_key",     "timestamp",  "api_version",  "api_name",
        "api_id",        "org_id",      "oauth_id",   "request_time", "raw_request",
        "raw_response",  "ip_address",  "geo",        "network",      "latency",
        "tags",          "alias",       "track_path", "expireAt",     "api_schema",
        "original_path", "listen_path",
    };
    for (size_t i = 0; i < TK_ARRAY_LEN(names); i++)
        if (json_object_get(j, names[i]) == NULL)
            fail_msg("JSON lacks %s", names[i]);
    assert_int_equal(json_object_size(j), TK_ARRAY_LEN(names));
    assert_string_equal(jget_str(j, "method"), "GET");
    assert_string_equal(jget_str(j, "timestamp"), "2023-11-14T22:13:20.123456789Z");
    assert_int_equal(json_integer_value(json_object_get(j, "response_code")), 200);
    assert_true(json_is_true(json_object_get(j, "track_path")));

    json_t *geo = json_object_get(j, "geo");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(geo, "country"), "iso_code")), "GB");
    json_t *city = json_object_get(geo, "city");
    assert_int_equal(json_integer_value(json_object_get(city, "geoname_id")), 2643743);
    assert_string_equal(json_string_value(json_object_get(json_object_get(city, "names"), "en")),
                        "London");
    json_t *loc = json_object_get(geo, "location");
    assert_true(json_real_value(json_object_get(loc, "latitude")) == 51.5085);
    assert_string_equal(json_string_value(json_object_get(loc, "time_zone")), "Europe/London");
    json_t *net = json_object_get(j, "network");
    assert_int_equal(json_integer_value(json_object_get(net, "closed_connections")), -33);
    assert_int_equal(json_integer_value(json_object_get(net, "bytes_out")), 5000000000LL);
    json_t *lat = json_object_get(j, "latency");
    assert_int_equal(json_integer_value(json_object_get(lat, "gateway")), 50);
    assert_int_equal(json_array_size(json_object_get(j, "tags")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "tags"), 1)),
                        "org-xyz");
    json_decref(j);

    /* Whole seconds have no fraction; trailing zeros are dropped; bad UTF-8 becomes U+FFFD. */
    r.timestamp = (tk_an_time_t){0, 0};
    r.expire_at = (tk_an_time_t){1700000000, 120000000};
    r.user_agent = TK_STR("a\xff"
                          "b");
    r.geo.n_city_names = 0;
    j = tk_analytics_to_json(&r);
    assert_string_equal(jget_str(j, "timestamp"), "1970-01-01T00:00:00Z");
    assert_string_equal(jget_str(j, "expireAt"), "2023-11-14T22:13:20.12Z");
    assert_string_equal(jget_str(j, "user_agent"), "a\xef\xbf\xbd"
                                                   "b");
    assert_true(
        json_is_null(json_object_get(json_object_get(json_object_get(j, "geo"), "city"), "names")));
    json_decref(j);

    tk_uptime_record_t u = uptime_record();
    j = tk_uptime_to_json(&u);
    static const char *const unames[] = {
        "url",  "request_time", "response_code", "tcp_error", "server_error", "day",    "month",
        "year", "hour",         "minute",        "timestamp", "ExpireAt",     "api_id", "org_id",
    };
    for (size_t i = 0; i < TK_ARRAY_LEN(unames); i++)
        if (json_object_get(j, unames[i]) == NULL)
            fail_msg("uptime JSON lacks %s", unames[i]);
    assert_int_equal(json_object_size(j), TK_ARRAY_LEN(unames));
    assert_string_equal(jget_str(j, "timestamp"), "2023-11-14T22:13:20.12Z");
    assert_true(json_is_true(json_object_get(j, "server_error")));
    json_decref(j);
}

static void test_set_time_parts_local(void **state)
{
    (void)state;
    tk_analytics_record_t r;
    memset(&r, 0, sizeof r);
    setenv("TZ", "UTC", 1);
    tzset();
    tk_analytics_set_time_parts(&r, (tk_an_time_t){1700000000, 0});
    assert_int_equal(r.year, 2023);
    assert_int_equal(r.month, 11);
    assert_int_equal(r.day, 14);
    assert_int_equal(r.hour, 22);
    /* Local time, not UTC: two hours east of UTC moves past midnight. */
    setenv("TZ", "EET-2", 1);
    tzset();
    tk_analytics_set_time_parts(&r, (tk_an_time_t){1700000000, 0});
    assert_int_equal(r.day, 15);
    assert_int_equal(r.hour, 0);
    setenv("TZ", "UTC", 1);
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_header_and_first_fields),
        cmocka_unit_test(test_encode_key_order),
        cmocka_unit_test(test_encode_nested_and_int_forms),
        cmocka_unit_test(test_encode_long_strings_and_empty_geo),
        cmocka_unit_test(test_encode_raw_stats_verbatim),
        cmocka_unit_test(test_encode_appends),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decode_any_order_unknown_keys_old_forms),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_every_prefix_fails),
        cmocka_unit_test(test_decode_garbage),
        cmocka_unit_test(test_uptime_layout_and_round_trip),
        cmocka_unit_test(test_json_names),
        cmocka_unit_test(test_set_time_parts_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
