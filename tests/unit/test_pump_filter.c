/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the pump's per-sink filters and record shaping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pump_filter.h"

#include <stdlib.h>

static char *org1 = "org1", *org2 = "org2", *api1 = "api1", *api2 = "api2";

static tk_analytics_record_t rec(const char *org, const char *api, int code)
{
    tk_analytics_record_t r;
    memset(&r, 0, sizeof(r));
    r.org_id = (tk_str_t){org, strlen(org)};
    r.api_id = (tk_str_t){api, strlen(api)};
    r.response_code = code;
    return r;
}

static void test_allow_lists(void **state)
{
    (void)state;
    pump_filters_t f;
    memset(&f, 0, sizeof(f));
    tk_analytics_record_t a = rec("org1", "api1", 200), b = rec("org2", "api2", 500);
    assert_true(pump_filter_match(&f, &a)); /* no lists: everything passes */
    char *orgs[] = {org1};
    f.org_ids = (tk_strlist_t){orgs, 1};
    assert_true(pump_filter_match(&f, &a));
    assert_false(pump_filter_match(&f, &b));
    memset(&f, 0, sizeof(f));
    char *apis[] = {api2};
    f.api_ids = (tk_strlist_t){apis, 1};
    assert_false(pump_filter_match(&f, &a));
    assert_true(pump_filter_match(&f, &b));
    memset(&f, 0, sizeof(f));
    int64_t codes[] = {200, 201};
    f.response_codes = codes;
    f.n_response_codes = 2;
    assert_true(pump_filter_match(&f, &a));
    assert_false(pump_filter_match(&f, &b));
}

static void test_skip_lists_win(void **state)
{
    (void)state;
    pump_filters_t f;
    memset(&f, 0, sizeof(f));
    tk_analytics_record_t a = rec("org1", "api1", 200), b = rec("org2", "api2", 500);
    char *orgs[] = {org1, org2};
    char *skip_apis[] = {api1};
    f.org_ids = (tk_strlist_t){orgs, 2};
    f.skip_api_ids = (tk_strlist_t){skip_apis, 1};
    assert_false(pump_filter_match(&f, &a)); /* allowed org, skipped api: skipped */
    assert_true(pump_filter_match(&f, &b));
    int64_t skip_codes[] = {500};
    f.skip_response_codes = skip_codes;
    f.n_skip_response_codes = 1;
    assert_false(pump_filter_match(&f, &b));
    memset(&f, 0, sizeof(f));
    char *skip_orgs[] = {org2};
    f.skip_org_ids = (tk_strlist_t){skip_orgs, 1};
    assert_true(pump_filter_match(&f, &a));
    assert_false(pump_filter_match(&f, &b));
    /* Prefixes do not match: ids compare whole. */
    tk_analytics_record_t c = rec("org", "api", 200);
    assert_true(pump_filter_match(&f, &c));
}

static void test_shape(void **state)
{
    (void)state;
    pump_conf_t g;
    memset(&g, 0, sizeof(g));
    pump_sink_cfg_t s;
    memset(&s, 0, sizeof(s));
    tk_analytics_record_t r = rec("org1", "api1", 200);
    r.raw_request = TK_STR("R0VUIC8gSFRUUC8xLjENCg==");  /* "GET / HTTP/1.1\r\n" */
    r.raw_response = TK_STR("SFRUUC8xLjEgMjAwIE9LDQo="); /* "HTTP/1.1 200 OK\r\n" */
    r.api_key = TK_STR("secret-key");
    r.n_tags = 2;
    r.geo.latitude = 1.5;

    pump_shape_t sh;
    pump_scratch_t scratch = {0};
    /* Global omit_detailed_recording applies to every sink. */
    g.omit_detailed_recording = true;
    pump_shape_init(&sh, &g, &s);
    tk_analytics_record_t x = r;
    pump_shape_apply(&sh, &x, &scratch);
    assert_int_equal(x.raw_request.len, 0);
    assert_int_equal(x.raw_response.len, 0);

    /* Decoding, then the per-pump max_record_size over the global one. */
    g.omit_detailed_recording = false;
    g.max_record_size = 100;
    s.max_record_size = 3;
    s.raw_request_decoded = true;
    pump_shape_init(&sh, &g, &s);
    x = r;
    pump_shape_apply(&sh, &x, &scratch);
    assert_int_equal(x.raw_request.len, 3);
    assert_memory_equal(x.raw_request.p, "GET", 3);
    assert_int_equal(x.raw_response.len, 3);
    assert_memory_equal(x.raw_response.p, "SFR", 3); /* not decoded: base64 trimmed */

    /* ignore_fields zero fields by their JSON names. */
    char *ign[] = {"api_key", "tags", "geo"};
    s = (pump_sink_cfg_t){0};
    s.ignore_fields = (tk_strlist_t){ign, 3};
    g.max_record_size = 0;
    pump_shape_init(&sh, &g, &s);
    x = r;
    pump_shape_apply(&sh, &x, &scratch);
    assert_int_equal(x.api_key.len, 0);
    assert_int_equal(x.n_tags, 0);
    assert_true(x.geo.latitude == 0);
    assert_int_equal(x.raw_request.len, r.raw_request.len);
    assert_int_equal(x.org_id.len, 4);
    assert_true(pump_filter_known_field("expireAt"));
    assert_false(pump_filter_known_field("nonsense"));
    pump_scratch_free(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_lists),
        cmocka_unit_test(test_skip_lists_win),
        cmocka_unit_test(test_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
