/* SPDX-License-Identifier: Apache-2.0 */
/* Service discovery answers read as Tyk reads them: gabs dot paths, Consul/etcd/Eureka shapes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gw_discovery_parse.h"

/* Extracts and joins the hosts with ',' (NULL when the answer is refused). */
static char *hosts_of(const gw_sd_spec_t *s, const char *body)
{
    char **h;
    size_t n;
    char err[128];
    if (gw_sd_extract(s, body, strlen(body), &h, &n, err, sizeof(err)) != TK_OK) {
        assert_true(err[0] != '\0');
        return NULL;
    }
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(h[i]) + 1;
    char *out = calloc(1, len);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            out[o++] = ',';
        memcpy(out + o, h[i], strlen(h[i]));
        o += strlen(h[i]);
    }
    gw_sd_hosts_free(h, n);
    return out;
}

static void expect_hosts(const gw_sd_spec_t *s, const char *body, const char *want)
{
    char *got = hosts_of(s, body);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static char *path_str(const char *doc, const char *path)
{
    json_t *root = json_loads(doc, JSON_DECODE_ANY, NULL);
    assert_non_null(root);
    json_t *v = gw_sd_path(root, path);
    char *out = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    json_decref(root);
    return out;
}

static void expect_path(const char *doc, const char *path, const char *want)
{
    char *got = path_str(doc, path);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_gabs_paths(void **state)
{
    (void)state;
    const char *doc = "{\"a\":{\"b\":\"x\"},\"l\":[{\"x\":1},{\"x\":2},{\"y\":3}],"
                      "\"d.k\":\"dot\",\"t~k\":\"tilde\",\"\":\"empty\",\"n\":null}";
    expect_path(doc, "a.b", "\"x\"");
    expect_path(doc, "l.1.x", "2");
    expect_path(doc, "l.+1.x", "2"); /* Go's Atoi takes a sign */
    expect_path(doc, "l.-1.x", NULL);
    expect_path(doc, "l.3", NULL);
    expect_path(doc, "l.x", NULL); /* an array needs an index or "*" */
    expect_path(doc, "l.*.x", "[1,2]");
    expect_path(doc, "l.*", "[{\"x\":1},{\"x\":2},{\"y\":3}]");
    expect_path(doc, "l.*.z", NULL);
    expect_path(doc, "d~1k", "\"dot\"");
    expect_path(doc, "t~0k", "\"tilde\"");
    expect_path(doc, "", "\"empty\"");
    expect_path(doc, "a.b.c", NULL); /* through a string */
    expect_path(doc, "n.x", NULL);
    expect_path(doc, "missing", NULL);
}

/* Consul /v1/catalog/service and /v1/health/service: a list of entries. */
static void test_consul_list(void **state)
{
    (void)state;
    const char *body = "[{\"Node\":{\"Node\":\"n1\"},\"Service\":{\"Address\":\"10.0.0.1\","
                       "\"Port\":8080}},{\"Service\":{\"Address\":\"10.0.0.2\",\"Port\":8081}}]";
    gw_sd_spec_t s = {.endpoint_returns_list = true,
                      .use_target_list = true,
                      .data_path = "Service.Address",
                      .port_path = "Service.Port"};
    expect_hosts(&s, body, "10.0.0.1:8080,10.0.0.2:8081");
    s.target_path = "/api";
    expect_hosts(&s, body, "10.0.0.1:8080/api,10.0.0.2:8081/api");
    /* Without use_target_list only the first entry counts. */
    s.use_target_list = false;
    s.target_path = NULL;
    expect_hosts(&s, body, "10.0.0.1:8080");
    /* An empty list still gives one (empty) host in that mode, and none with a target list. */
    expect_hosts(&s, "[]", "");
    s.use_target_list = true;
    expect_hosts(&s, "[]", "");
    char **h;
    size_t n;
    char err[64];
    assert_int_equal(gw_sd_extract(&s, "[]", 2, &h, &n, err, sizeof(err)), TK_OK);
    assert_int_equal(n, 0);
    gw_sd_hosts_free(h, n);
}

/* etcd v2: node.value is a JSON document in a string. */
static void test_etcd_nested(void **state)
{
    (void)state;
    gw_sd_spec_t s = {.use_nested_query = true,
                      .parent_path = "node.value",
                      .data_path = "hostname",
                      .port_path = "port"};
    expect_hosts(&s,
                 "{\"action\":\"get\",\"node\":{\"key\":\"/services/a\",\"value\":"
                 "\"{\\\"hostname\\\":\\\"127.0.0.1\\\",\\\"port\\\":9999}\"}}",
                 "127.0.0.1:9999");
    /* A nested list read as a target list; a port may be a string. */
    s.use_target_list = true;
    expect_hosts(&s,
                 "{\"node\":{\"value\":\"[{\\\"hostname\\\":\\\"a\\\",\\\"port\\\":1},"
                 "{\\\"hostname\\\":\\\"b\\\",\\\"port\\\":\\\"2\\\"}]\"}}",
                 "a:1,b:2");
    /* The nested value is not a string: nothing. */
    expect_hosts(&s, "{\"node\":{\"value\":{\"hostname\":\"a\"}}}", "");
    s.use_target_list = false;
    expect_hosts(&s, "{\"node\":{\"value\":\"not json\"}}", "");
}

/* Eureka /eureka/apps/<app> with Accept: application/json. */
static void test_eureka(void **state)
{
    (void)state;
    gw_sd_spec_t s = {.use_target_list = true,
                      .parent_path = "application.instance",
                      .data_path = "hostName",
                      .port_path = "port.$"};
    expect_hosts(
        &s,
        "{\"application\":{\"name\":\"X\",\"instance\":[{\"hostName\":\"h1\",\"port\":"
        "{\"$\":8080,\"@enabled\":\"true\"}},{\"hostName\":\"h2\",\"port\":{\"$\":8081}}]}}",
        "h1:8080,h2:8081");
}

static void test_single_object_and_ports(void **state)
{
    (void)state;
    gw_sd_spec_t s = {.data_path = "Address", .port_path = "Port"};
    expect_hosts(&s, "{\"Address\":\"a\",\"Port\":1}", "a:1");
    expect_hosts(&s, "{\"Address\":\"a\",\"Port\":8080.9}", "a:8080"); /* Go's int(float64) */
    expect_hosts(&s, "{\"Address\":\"a\",\"Port\":[7,8]}", "a:7");     /* first of a list */
    expect_hosts(&s, "{\"Address\":\"a\"}", "a:");                     /* ':' even with none */
    expect_hosts(&s, "{\"Address\":5,\"Port\":1}", "");                /* not a string */
    s.port_path = NULL;
    expect_hosts(&s, "{\"Address\":\"http://a:9/x\"}", "http://a:9/x");
}

static void test_not_json(void **state)
{
    (void)state;
    gw_sd_spec_t s = {.data_path = "Address"};
    assert_null(hosts_of(&s, "<html>oops</html>"));
    s.endpoint_returns_list = true;
    assert_null(hosts_of(&s, "[{\"Address\":\"a\"}"));
    assert_null(hosts_of(&s, ""));
}

static void test_host_url(void **state)
{
    (void)state;
    char *u = gw_sd_host_url("  10.0.0.1:80 ", "");
    assert_string_equal(u, "http://10.0.0.1:80");
    free(u);
    u = gw_sd_host_url("https://x:1/p", "http");
    assert_string_equal(u, "https://x:1/p");
    free(u);
    u = gw_sd_host_url("x", " https ");
    assert_string_equal(u, "https://x");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gabs_paths),
        cmocka_unit_test(test_consul_list),
        cmocka_unit_test(test_etcd_nested),
        cmocka_unit_test(test_eureka),
        cmocka_unit_test(test_single_object_and_ports),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_host_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
