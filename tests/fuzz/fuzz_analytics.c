/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: analytics and uptime record decoding. Whatever decodes must re-encode, decode
 * again to the same values, and re-encode to the same bytes. */
#include "tk_analytics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool same(tk_str_t a, tk_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void analytics(const uint8_t *data, size_t size)
{
    tk_analytics_record_t a, b;
    char err[160];
    if (tk_analytics_decode(data, size, &a, err, sizeof err) != 0) {
        check(err[0] != '\0');
        return;
    }
    json_decref(tk_analytics_to_json(&a));

    tk_buf_t once = {0}, twice = {0};
    tk_analytics_encode(&a, &once);
    check(tk_analytics_decode(once.data, once.len, &b, err, sizeof err) == 0);
    check(a.response_code == b.response_code && a.timestamp.sec == b.timestamp.sec &&
          a.timestamp.nsec == b.timestamp.nsec && a.latency.gateway == b.latency.gateway &&
          a.geo.city_geoname_id == b.geo.city_geoname_id);
    check(memcmp(&a.geo.latitude, &b.geo.latitude, sizeof(double)) == 0);
    check(same(a.api_id, b.api_id) && same(a.path, b.path) && same(a.listen_path, b.listen_path));
    /* Absent stats are written as Tyk's zero value, which then decodes as present bytes. */
    check(a.graphql_stats_raw.len == 0 || same(a.graphql_stats_raw, b.graphql_stats_raw));
    check(a.mcp_stats_raw.len == 0 || same(a.mcp_stats_raw, b.mcp_stats_raw));
    check(b.graphql_stats_raw.len > 0 && b.mcp_stats_raw.len > 0);
    check(a.n_tags == b.n_tags && a.geo.n_city_names == b.geo.n_city_names);
    for (size_t i = 0; i < a.n_tags; i++)
        check(same(a.tags[i], b.tags[i]));
    for (size_t i = 0; i < a.geo.n_city_names; i++)
        check(same(a.geo.city_names[i].key, b.geo.city_names[i].key) &&
              same(a.geo.city_names[i].value, b.geo.city_names[i].value));

    tk_analytics_encode(&b, &twice);
    check(once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0);
    tk_analytics_record_free(&a);
    tk_analytics_record_free(&b);
    tk_buf_free(&once);
    tk_buf_free(&twice);
}

static void uptime(const uint8_t *data, size_t size)
{
    tk_uptime_record_t a, b;
    char err[160];
    if (tk_uptime_decode(data, size, &a, err, sizeof err) != 0)
        return;
    json_decref(tk_uptime_to_json(&a));
    tk_buf_t once = {0};
    tk_uptime_encode(&a, &once);
    check(tk_uptime_decode(once.data, once.len, &b, err, sizeof err) == 0);
    check(same(a.url, b.url) && same(a.org_id, b.org_id) && a.response_code == b.response_code &&
          a.tcp_error == b.tcp_error && a.expire_at.sec == b.expire_at.sec && a.minute == b.minute);
    tk_buf_free(&once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    analytics(data, size);
    uptime(data, size);
    return 0;
}
