/* SPDX-License-Identifier: Apache-2.0 */
/* Event messages as templates see them, the webhook dedupe checksum, log lines, timestamps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gw_events.h"
#include "tk_template.h"

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(gw_event_name(GW_EV_RATELIMIT_EXCEEDED), "RatelimitExceeded");
    assert_int_equal(gw_event_parse("HostDown"), GW_EV_HOST_DOWN);
    assert_int_equal(gw_event_parse("TokenCreated"), GW_EV_TOKEN_CREATED);
    assert_int_equal(gw_event_parse("KeyCreated"), -1);
    for (int i = 0; i < GW_EV_COUNT; i++)
        assert_int_equal(gw_event_parse(gw_event_name((gw_event_t)i)), i);
}

/* Strings are escaped as html/template escapes printed values; numbers and bools stay. */
static void test_message_rendering(void **state)
{
    (void)state;
    json_t *meta = json_pack("{s:s, s:s, s:{s:i, s:b}}", "Message", "a \"b\" <c> & 'd' +e", "Key",
                             "k1", "HostInfo", "ResponseCode", 500, "IsTCPError", 0);
    json_t *m = gw_event_message(GW_EV_HOST_DOWN, meta, "2026-01-02 03:04:05.5 +0000 UTC");
    const char *src = "{{.Type}}|{{.Meta.Message}}|{{.Meta.HostInfo.ResponseCode}}|"
                      "{{.Meta.HostInfo.IsTCPError}}|{{.TimeStamp}}";
    char err[256], *out = NULL;
    size_t len;
    tk_tmpl_t *t = tk_tmpl_compile(src, strlen(src), err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(tk_tmpl_exec(t, m, NULL, &out, &len, err, sizeof(err)), TK_OK);
    assert_string_equal(out, "HostDown|a &#34;b&#34; &lt;c&gt; &amp; &#39;d&#39; &#43;e|500|false|"
                             "2026-01-02 03:04:05.5 &#43;0000 UTC");
    free(out);
    tk_tmpl_free(t);
    json_decref(m);
    json_decref(meta);
}

/* md5 of the request Go's Request.Write emits (vectors from hashlib over that wire text). */
static void test_checksum(void **state)
{
    (void)state;
    char hex[33];
    assert_int_equal(gw_webhook_checksum("POST", "http://127.0.0.1:9/hook?a=1", "{}", 2, hex),
                     TK_OK);
    assert_string_equal(hex, "dd8175eda09a13fc9a063a051a6b82b2");
    assert_int_equal(gw_webhook_checksum("GET", "http://example.com", "", 0, hex), TK_OK);
    assert_string_equal(hex, "b0f5b09bbc8d489c9f3af03efc17dee5");
    assert_int_equal(gw_webhook_checksum("DELETE", "http://h:1/x", "", 0, hex), TK_OK);
    assert_string_equal(hex, "35d4e23c8896084a57ae99dc9c7c2027");
    assert_int_equal(gw_webhook_checksum("POST", "not a url", "", 0, hex), TK_ERROR);
}

static void test_log_line(void **state)
{
    (void)state;
    json_t *q = json_pack("{s:s, s:s, s:s}", "Key", "k", "Origin", "1.2.3.4", "Path", "/p");
    char *l = gw_event_log_line("pre", GW_EV_QUOTA_EXCEEDED, q);
    assert_string_equal(l, "pre:QuotaExceeded:k:1.2.3.4:/p");
    free(l);
    l = gw_event_log_line("pre", GW_EV_AUTH_FAILURE, q);
    assert_string_equal(l, "pre:AuthFailure");
    free(l);
    json_t *b = json_pack("{s:s, s:s, s:i}", "APIID", "a1", "Path", "/x", "CircuitEvent", 1);
    l = gw_event_log_line("cb", GW_EV_BREAKER_TRIGGERED, b);
    assert_string_equal(l, "cb:BreakerTriggered:a1:/x: [STATUS] 1");
    free(l);
    json_decref(q);
    json_decref(b);
}

static void test_timestamp(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    char ts[96];
    gw_event_timestamp(1700000000ull * 1000000000ull + 120000000ull, ts, sizeof(ts));
    assert_string_equal(ts, "2023-11-14 22:13:20.12 +0000 UTC");
    gw_event_timestamp(1700000000ull * 1000000000ull, ts, sizeof(ts));
    assert_string_equal(ts, "2023-11-14 22:13:20 +0000 UTC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),     cmocka_unit_test(test_message_rendering),
        cmocka_unit_test(test_checksum),  cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_timestamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
