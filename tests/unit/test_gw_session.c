/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for Tyk session JSON (full legacy and sparse forms), round trips and key lifetime. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_session.h"
#include "tk_json.h"

#define assert_dbl(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

/*
 * Fixtures live in tests/fixtures/<sub>. __FILE__ is relative to the build root, so try it
 * from the working directory and from the build root found through /proc/self/exe.
 */
static json_t *load_fixture(const char *name)
{
    char src[PATH_MAX], exe[PATH_MAX], bases[2][PATH_MAX * 2 + 16], path[PATH_MAX * 3];
    int r = snprintf(src, sizeof(src), "%s", __FILE__);
    assert_true(r > 0);
    char *slash = strrchr(src, '/');
    if (slash)
        *slash = '\0';
    else
        r = snprintf(src, sizeof(src), ".");
    r = snprintf(bases[0], sizeof(bases[0]), "%s", src);
    bases[1][0] = '\0';
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0 && src[0] != '/') {
        exe[n] = '\0';
        char *e = strrchr(exe, '/');
        if (e)
            *e = '\0';
        r = snprintf(bases[1], sizeof(bases[1]), "%s/../../%s", exe, src);
    }
    for (int i = 0; i < 2; i++) {
        if (!bases[i][0])
            continue;
        r = snprintf(path, sizeof(path), "%s/../fixtures/sessions/%s", bases[i], name);
        if (r < 0 || (size_t)r >= sizeof(path) || access(path, R_OK) != 0)
            continue;
        char err[512];
        json_t *v = tk_json_load_file(path, err, sizeof(err));
        if (!v)
            fail_msg("%s", err);
        return v;
    }
    fail_msg("fixture %s not found", name);
    return NULL;
}

static void parse_fixture(const char *name, gw_session_t *s)
{
    json_t *j = load_fixture(name);
    char *err = NULL;
    int rc = gw_session_from_json(j, s, &err);
    if (rc != TK_OK)
        fail_msg("%s: %s", name, err);
    json_decref(j);
}

/* Parses @text as a session and expects failure mentioning @needle. */
static void expect_parse_error(const char *text, const char *needle)
{
    gw_session_t s;
    char *err = NULL;
    assert_int_equal(gw_session_from_text(text, strlen(text), &s, &err), TK_ERROR);
    assert_non_null(err);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
    free(err);
    assert_null(s.raw);
}

/* ---- parsing ---- */

static void test_parse_full_legacy(void **state)
{
    (void)state;
    gw_session_t s;
    parse_fixture("full_legacy.json", &s);

    assert_int_equal(s.last_check, 1690000000);
    assert_dbl(s.allowance, 1000);
    assert_dbl(s.rate, 1000);
    assert_dbl(s.per, 60);
    assert_dbl(s.throttle_interval, 1.5);
    assert_int_equal(s.throttle_retry_limit, 3);
    assert_int_equal(s.max_query_depth, 7);
    assert_string_equal(s.date_created, "2023-07-22T04:26:40.123456789Z");
    assert_int_equal(s.expires, 1893456000);
    assert_int_equal(s.quota_max, 10000);
    assert_int_equal(s.quota_renews, 1690003600);
    assert_int_equal(s.quota_remaining, 9876);
    assert_int_equal(s.quota_renewal_rate, 3600);
    assert_string_equal(s.org_id, "org-1");
    assert_string_equal(s.oauth_client_id, "client-1");
    assert_string_equal(tk_json_str(s.oauth_keys, "client-1", ""), "key-1");
    assert_string_equal(s.certificate, "cert-1");
    assert_int_equal(s.mtls_static_certificate_bindings.n, 2);
    assert_string_equal(s.mtls_static_certificate_bindings.v[1], "cert-b");
    assert_string_equal(s.basic_auth_password, "$2a$10$abcdefghijklmnopqrstuv");
    assert_string_equal(s.basic_auth_hash_type, "bcrypt");
    assert_string_equal(s.jwt_secret, "jwt-secret");
    assert_true(s.hmac_enabled);
    assert_true(s.enable_http_signature_validation);
    assert_string_equal(s.hmac_string, "hmac-secret");
    assert_string_equal(s.rsa_certificate_id, "rsa-1");
    assert_true(s.is_inactive);
    assert_string_equal(s.apply_policy_id, "legacy-pol");
    assert_int_equal(s.apply_policies.n, 2);
    assert_string_equal(s.apply_policies.v[0], "pol-1");
    assert_int_equal(s.data_expires, 86400);
    assert_int_equal(s.n_monitor_trigger_limits, 2);
    assert_dbl(s.monitor_trigger_limits[1], 90.5);
    assert_true(s.enable_detail_recording);
    assert_true(s.enable_detailed_recording);
    assert_string_equal(tk_json_str(s.meta_data, "rate_limit_pattern", ""), "$tyk_meta.user");
    assert_int_equal(s.tags.n, 2);
    assert_string_equal(s.alias, "alice");
    assert_string_equal(s.last_updated, "1690000000");
    assert_int_equal(s.id_extractor_deadline, 1690000100);
    assert_int_equal(s.session_lifetime, 7200);
    assert_true(s.smoothing.set);
    assert_true(s.smoothing.enabled);
    assert_int_equal(s.smoothing.threshold, 500);
    assert_dbl(s.smoothing.trigger, 0.25);
    assert_int_equal(s.smoothing.step, 100);
    assert_int_equal(s.smoothing.delay, 5);
    assert_string_equal(s.post_expiry_action, "retain");
    assert_int_equal(s.post_expiry_grace_period, 600);

    /* access_rights["api-1"]: every AccessDefinition member */
    assert_int_equal(s.n_access, 2);
    const gw_access_t *a = gw_session_access(&s, "api-1");
    assert_non_null(a);
    assert_string_equal(a->api_name, "Orders API");
    assert_string_equal(a->api_id, "api-1");
    assert_int_equal(a->versions.n, 2);
    assert_int_equal(a->n_allowed_urls, 2);
    assert_string_equal(a->allowed_urls[0].url, "/orders/{id}");
    assert_int_equal(a->allowed_urls[0].methods.n, 2);
    assert_string_equal(a->allowed_urls[0].methods.v[1], "PUT");
    assert_true(a->limit_present);
    assert_false(gw_api_limit_is_empty(&a->limit));
    assert_dbl(a->limit.rate, 100);
    assert_dbl(a->limit.per, 1);
    assert_dbl(a->limit.throttle_interval, 2);
    assert_int_equal(a->limit.throttle_retry_limit, 4);
    assert_int_equal(a->limit.max_query_depth, 5);
    assert_int_equal(a->limit.quota_max, 500);
    assert_int_equal(a->limit.quota_renews, 1690007200);
    assert_int_equal(a->limit.quota_remaining, 499);
    assert_int_equal(a->limit.quota_renewal_rate, 7200);
    assert_true(a->limit.smoothing.set);
    assert_int_equal(a->limit.smoothing.delay, 30);
    assert_true(a->disable_introspection);
    assert_string_equal(a->allowance_scope, "api-1");
    assert_int_equal(a->n_endpoints, 1);
    assert_string_equal(a->endpoints[0].path, "/orders");
    assert_int_equal(a->endpoints[0].n_methods, 2);
    assert_string_equal(a->endpoints[0].methods[1].name, "POST");
    assert_dbl(a->endpoints[0].methods[1].limit.rate, 2);
    assert_dbl(a->endpoints[0].methods[1].limit.per, 10);
    /* GraphQL / MCP members are kept verbatim */
    assert_non_null(json_object_get(a->extra, "restricted_types"));
    assert_non_null(json_object_get(a->extra, "field_access_rights"));
    assert_non_null(json_object_get(a->extra, "mcp_access_rights"));

    const gw_access_t *b = gw_session_access(&s, "api-2");
    assert_non_null(b);
    assert_true(gw_api_limit_is_empty(&b->limit));
    assert_false(b->limit_present);
    assert_null(gw_session_access(&s, "api-3"));
    gw_session_free(&s);
}

static void test_parse_today_form(void **state)
{
    (void)state;
    gw_session_t s;
    parse_fixture("today.json", &s);
    assert_dbl(s.rate, 5);
    assert_int_equal(s.quota_max, -1);
    assert_string_equal(s.date_created, "2024-05-01T10:00:00.5+02:00");
    assert_null(s.oauth_keys);
    assert_int_equal(s.apply_policies.n, 0);
    assert_null(s.basic_auth_password);
    assert_null(s.alias);
    assert_false(s.smoothing.set);
    assert_int_equal(s.n_access, 1);
    gw_session_free(&s);
}

static void test_parse_sparse_minimal(void **state)
{
    (void)state;
    gw_session_t s;
    parse_fixture("sparse_min.json", &s);
    /* float64 given as 5.0, int64 given as 100.0: both decode, as with Go */
    assert_dbl(s.rate, 5);
    assert_int_equal(s.quota_max, 100);
    /* everything missing is the zero value */
    assert_int_equal(s.expires, 0);
    assert_int_equal(s.last_check, 0);
    assert_null(s.date_created);
    assert_false(s.is_inactive);
    assert_int_equal(s.tags.n, 0);
    assert_null(s.meta_data);
    assert_int_equal(s.n_access, 2);
    const gw_access_t *a = gw_session_access(&s, "api-1");
    assert_dbl(a->limit.rate, 2.5);
    /* a null access definition is the zero AccessDefinition */
    const gw_access_t *b = gw_session_access(&s, "api-2");
    assert_non_null(b);
    assert_null(b->api_id);
    gw_session_free(&s);
}

static void test_parse_type_errors(void **state)
{
    (void)state;
    expect_parse_error("{\"rate\": \"10\"}", "rate");
    expect_parse_error("{\"quota_max\": 1.5}", "quota_max");
    expect_parse_error("{\"is_inactive\": 1}", "is_inactive");
    expect_parse_error("{\"tags\": \"a\"}", "tags");
    expect_parse_error("{\"tags\": [\"a\", 1]}", "tags[1]");
    expect_parse_error("{\"access_rights\": []}", "access_rights");
    expect_parse_error("{\"access_rights\": {\"x\": {\"limit\": {\"per\": \"s\"}}}}",
                       "access_rights.x.limit.per");
    expect_parse_error("{\"date_created\": \"yesterday\"}", "date_created");
    expect_parse_error("{\"meta_data\": [1]}", "meta_data");
    expect_parse_error("[1, 2]", "object");
    expect_parse_error("{\"rate\": ", "session");

    /* nulls everywhere are fine */
    const char *ok = "{\"rate\": null, \"tags\": null, \"access_rights\": null, "
                     "\"basic_auth_data\": null, \"monitor\": null, \"smoothing\": null}";
    gw_session_t s;
    char *err = NULL;
    assert_int_equal(gw_session_from_text(ok, strlen(ok), &s, &err), TK_OK);
    assert_null(err);
    gw_session_free(&s);
}

/* ---- writing ---- */

static void test_full_round_trip_is_identical(void **state)
{
    (void)state;
    /* Every member of the fixture is non-zero, so today's writer must reproduce it exactly. */
    json_t *fx = load_fixture("full_legacy.json");
    gw_session_t s;
    parse_fixture("full_legacy.json", &s);
    json_t *out = gw_session_to_json(&s);
    const char *k;
    json_t *v;
    json_object_foreach(fx, k, v)
    {
        json_t *o = json_object_get(out, k);
        if (!o || !json_equal(o, v)) {
            char *a = json_dumps(v, JSON_COMPACT), *b = o ? json_dumps(o, JSON_COMPACT) : NULL;
            fail_msg("member %s: fixture %s, written %s", k, a, b ? b : "(missing)");
        }
    }
    assert_int_equal(json_object_size(out), json_object_size(fx));

    /* parse(write(parse(x))) writes the same object again */
    gw_session_t s2;
    char *err = NULL;
    assert_int_equal(gw_session_from_json(out, &s2, &err), TK_OK);
    json_t *out2 = gw_session_to_json(&s2);
    assert_true(json_equal(out, out2));
    assert_int_equal(s2.access[0].limit.quota_remaining, s.access[0].limit.quota_remaining);

    json_decref(out2);
    json_decref(out);
    json_decref(fx);
    gw_session_free(&s2);
    gw_session_free(&s);
}

static void test_today_form_round_trip_is_identical(void **state)
{
    (void)state;
    json_t *fx = load_fixture("today.json");
    gw_session_t s;
    parse_fixture("today.json", &s);
    json_t *out = gw_session_to_json(&s);
    if (!json_equal(fx, out)) {
        char *a = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("written: %s", a);
    }
    json_decref(out);
    json_decref(fx);
    gw_session_free(&s);
}

static void test_sparse_output_shape(void **state)
{
    (void)state;
    gw_session_t s;
    parse_fixture("sparse_min.json", &s);
    json_t *out = gw_session_to_json(&s);

    /* Members without an omit tag in user/session.go are always written. */
    static const char *const always[] = {
        "last_check",     "allowance",
        "rate",           "per",
        "expires",        "quota_renews",
        "date_created",   "access_rights",
        "oauth_keys",     "basic_auth_data",
        "jwt_data",       "hmac_string",
        "is_inactive",    "apply_policy_id",
        "apply_policies", "monitor",
        "data_expires",   "mtls_static_certificate_bindings",
    };
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        if (!json_object_get(out, always[i]))
            fail_msg("%s missing", always[i]);
    assert_string_equal(tk_json_str(out, "date_created", ""), "0001-01-01T00:00:00Z");
    assert_true(json_is_null(json_object_get(out, "oauth_keys")));
    assert_true(json_is_null(json_object_get(out, "mtls_static_certificate_bindings")));
    /* [] stays [] (a non-nil empty slice in Go) */
    assert_true(json_is_array(json_object_get(out, "apply_policies")));
    assert_int_equal(json_object_size(tk_json_obj(out, "basic_auth_data")), 0);
    assert_int_equal(json_object_size(tk_json_obj(out, "monitor")), 0);
    /* rate 5.0 is written like Go writes float64 5: as 5 */
    assert_true(json_is_integer(json_object_get(out, "rate")));

    /* omitzero / omitempty members are left out when zero */
    static const char *const omitted[] = {
        "enable_detail_recording",
        "enable_detailed_recording",
        "meta_data",
        "tags",
        "alias",
        "last_updated",
        "id_extractor_deadline",
        "session_lifetime",
        "smoothing",
        "post_expiry_action",
        "post_expiry_grace_period",
    };
    for (size_t i = 0; i < sizeof(omitted) / sizeof(omitted[0]); i++)
        if (json_object_get(out, omitted[i]))
            fail_msg("%s should be omitted", omitted[i]);

    json_t *ar = tk_json_obj(out, "access_rights");
    json_t *a1 = tk_json_obj(ar, "api-1");
    assert_non_null(a1);
    assert_null(json_object_get(a1, "api_name")); /* omitzero */
    assert_null(json_object_get(a1, "versions")); /* omitempty */
    json_t *lim = tk_json_obj(a1, "limit");
    assert_non_null(lim);
    assert_dbl(tk_json_num(lim, "rate", 0), 2.5);
    assert_null(json_object_get(lim, "quota_max"));
    /* an empty limit is omitted entirely */
    json_t *a2 = tk_json_obj(ar, "api-2");
    assert_non_null(a2);
    assert_int_equal(json_object_size(a2), 0);

    json_decref(out);
    gw_session_free(&s);
}

static void test_unknown_fields_survive_modification(void **state)
{
    (void)state;
    gw_session_t s;
    parse_fixture("full_legacy.json", &s);
    s.rate = 42;
    free(s.alias);
    s.alias = NULL;
    gw_access_t *ad = gw_session_add_access(&s, "api-new");
    ad->limit.quota_max = 7;

    char *txt = gw_session_dumps(&s);
    gw_session_t s2;
    char *err = NULL;
    assert_int_equal(gw_session_from_text(txt, strlen(txt), &s2, &err), TK_OK);
    free(txt);
    json_t *out = gw_session_to_json(&s2);
    assert_dbl(tk_json_num(out, "rate", 0), 42);
    assert_null(json_object_get(out, "alias")); /* cleared, not resurrected from raw */
    assert_string_equal(tk_json_str(out, "graphql_extra", ""), "kept");
    assert_int_equal(json_array_size(tk_json_arr(tk_json_obj(out, "future_field"), "x")), 3);
    json_t *a1 = tk_json_obj(tk_json_obj(out, "access_rights"), "api-1");
    assert_non_null(tk_json_obj(a1, "mcp_access_rights"));
    assert_int_equal(json_array_size(tk_json_arr(a1, "restricted_types")), 1);
    json_t *an = tk_json_obj(tk_json_obj(out, "access_rights"), "api-new");
    assert_string_equal(tk_json_str(an, "api_id", ""), "api-new");
    assert_int_equal(tk_json_int(tk_json_obj(an, "limit"), "quota_max", 0), 7);
    json_decref(out);
    gw_session_free(&s2);
    gw_session_free(&s);
}

static void test_access_rights_written_sorted(void **state)
{
    (void)state;
    gw_session_t s = {0};
    gw_session_add_access(&s, "zeta");
    gw_session_add_access(&s, "alpha");
    char *txt = gw_session_dumps(&s);
    const char *z = strstr(txt, "\"zeta\""), *a = strstr(txt, "\"alpha\"");
    assert_non_null(z);
    assert_non_null(a);
    assert_true(a < z); /* Go writes map keys sorted */
    free(txt);
    gw_session_free(&s);
}

static void test_copy_is_deep(void **state)
{
    (void)state;
    gw_session_t s, c;
    parse_fixture("full_legacy.json", &s);
    gw_session_copy(&c, &s);
    json_t *a = gw_session_to_json(&s);
    json_t *b = gw_session_to_json(&c);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    /* changing the copy leaves the original alone */
    free(c.access[0].allowed_urls[0].url);
    c.access[0].allowed_urls[0].url = strdup("/changed");
    json_object_set_new(c.meta_data, "user", json_string("bob"));
    assert_string_equal(s.access[0].allowed_urls[0].url, "/orders/{id}");
    assert_string_equal(tk_json_str(s.meta_data, "user", ""), "alice");
    gw_session_free(&c);
    gw_session_free(&s);
    gw_session_free(NULL);
}

/* ---- time ---- */

static void test_date_created_format(void **state)
{
    (void)state;
    gw_session_t s = {0};
    gw_session_set_date_created(&s, (int64_t)1700000000 * 1000000000);
    assert_string_equal(s.date_created, "2023-11-14T22:13:20Z");
    gw_session_set_date_created(&s, (int64_t)1700000000 * 1000000000 + 120000000);
    assert_string_equal(s.date_created, "2023-11-14T22:13:20.12Z");
    gw_session_set_date_created(&s, (int64_t)1700000000 * 1000000000 + 1);
    assert_string_equal(s.date_created, "2023-11-14T22:13:20.000000001Z");

    int64_t t;
    assert_int_equal(gw_parse_rfc3339("2023-11-14T22:13:20Z", &t), TK_OK);
    assert_int_equal(t, 1700000000);
    assert_int_equal(gw_parse_rfc3339("2023-11-15T00:13:20.999+02:00", &t), TK_OK);
    assert_int_equal(t, 1700000000);
    assert_int_equal(gw_parse_rfc3339("0001-01-01T00:00:00Z", &t), TK_OK);
    assert_int_equal(t, -62135596800LL);
    assert_int_equal(gw_parse_rfc3339("2023-11-14 22:13:20", &t), TK_ERROR);
    assert_int_equal(gw_parse_rfc3339("2023-11-14T22:13:20", &t), TK_ERROR);
    gw_session_free(&s);
}

static void test_expiry_and_policy_ids(void **state)
{
    (void)state;
    gw_session_t s = {0};
    const int64_t now = 1700000000;
    assert_false(gw_session_is_expired(&s, now)); /* 0 = never */
    s.expires = -1;
    assert_false(gw_session_is_expired(&s, now));
    s.expires = now + 1;
    assert_false(gw_session_is_expired(&s, now));
    s.expires = now - 1;
    assert_true(gw_session_is_expired(&s, now));

    const char *const *ids;
    assert_int_equal(gw_session_policy_ids(&s, &ids), 0);
    s.apply_policy_id = strdup("legacy");
    assert_int_equal(gw_session_policy_ids(&s, &ids), 1);
    assert_string_equal(ids[0], "legacy");
    gw_strv_push(&s.apply_policies, "p1");
    gw_strv_push(&s.apply_policies, "p2");
    assert_int_equal(gw_session_policy_ids(&s, &ids), 2); /* apply_policies wins */
    assert_string_equal(ids[1], "p2");
    gw_session_free(&s);
}

static void test_effective_limit(void **state)
{
    (void)state;
    gw_session_t s = {0};
    s.rate = 10;
    s.per = 1;
    s.quota_max = 100;
    gw_access_t *a = gw_session_add_access(&s, "a");
    gw_access_t *b = gw_session_add_access(&s, "b");
    (void)a;
    b->limit.rate = 3;
    b->limit.per = 60;
    gw_api_limit_t l;
    gw_session_effective_limit(&s, gw_session_access(&s, "a"), &l);
    assert_dbl(l.rate, 10);
    assert_int_equal(l.quota_max, 100);
    gw_session_effective_limit(&s, gw_session_access(&s, "b"), &l);
    assert_dbl(l.rate, 3);
    assert_int_equal(l.quota_max, 0);
    assert_dbl(gw_rate_duration(10, 60), 6);
    assert_dbl(gw_rate_duration(-1, 60), 0);
    gw_session_free(&s);
}

static void test_lifetime_rules(void **state)
{
    (void)state;
    const int64_t now = 1700000000;
    static const struct {
        const char *name;
        int64_t session_lifetime, api_lifetime;
        bool respect;
        int64_t global;
        bool force;
        int64_t expires; /* relative to now when |v| > 1, else literal */
        int64_t want;
    } cases[] = {
        {"force global beats key and API", 50, 30, false, 100, true, 0, 100},
        {"force global of 0 means no TTL", 50, 30, true, 0, true, 5000, 0},
        {"key lifetime", 50, 30, false, 100, false, 0, 50},
        {"API lifetime when key has none", 0, 30, false, 100, false, 0, 30},
        {"negative key lifetime ignored", -5, 30, false, 100, false, 0, 30},
        {"nothing set: no TTL", 0, 0, true, 100, false, 5000, 0},
        {"respect: expires later than lifetime", 50, 0, true, 0, false, 1000, 1000},
        {"respect: expires sooner keeps lifetime", 50, 0, true, 0, false, 10, 50},
        {"respect: API lifetime extended", 0, 30, true, 0, false, 100, 100},
        {"respect: no expiry returns 0", 50, 0, true, 0, false, 0, 0},
        {"respect: expires -1 returned as is", 50, 0, true, 0, false, -1, -1},
        {"no respect ignores expiry", 50, 0, false, 0, false, 1000, 50},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_session_t s = {0};
        s.session_lifetime = cases[i].session_lifetime;
        s.expires = cases[i].expires > 1 ? now + cases[i].expires : cases[i].expires;
        int64_t got = gw_session_lifetime(&s, cases[i].api_lifetime, cases[i].respect,
                                          cases[i].global, cases[i].force, now);
        if (got != cases[i].want)
            fail_msg("%s: got %lld want %lld", cases[i].name, (long long)got,
                     (long long)cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full_legacy),
        cmocka_unit_test(test_parse_today_form),
        cmocka_unit_test(test_parse_sparse_minimal),
        cmocka_unit_test(test_parse_type_errors),
        cmocka_unit_test(test_full_round_trip_is_identical),
        cmocka_unit_test(test_today_form_round_trip_is_identical),
        cmocka_unit_test(test_sparse_output_shape),
        cmocka_unit_test(test_unknown_fields_survive_modification),
        cmocka_unit_test(test_access_rights_written_sorted),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_date_created_format),
        cmocka_unit_test(test_expiry_and_policy_ids),
        cmocka_unit_test(test_effective_limit),
        cmocka_unit_test(test_lifetime_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
