/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the gateway config: Tyk defaults, tyk.conf keys, TYK_GW_* names, secrets, docs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gw_conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const env_vars[] = {
    "TYK_GW_LISTENPORT",
    "TYK_GW_STORAGE_HOST",
    "TYK_GW_HTTPSERVEROPTIONS_USESSL",
    "TYK_GW_POLICIES_POLICYSOURCE",
    "TYK_GW_HASHKEYS",
    "TYK_GW_MAXIDLECONNS",
    "TYK_GW_PROXYSSLCIPHERSUITES",
    "TYK_GW_SLAVEOPTIONS_USERPC",
    "TYK_GW_OMITCONFIGFILE",
    "TYK_GW_SECRET",
    "TYK_SECRET_NODE",
    "TYK_GW_LIVENESSCHECK_CHECKDURATION",
    "TYK_GW_TURNPIKEWORKERS",
    "TYK_GW_SECRETS",
    "TYK_GW_STORAGE_PORT",
    "TYK_GW_LOGLEVEL",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < TK_ARRAY_LEN(env_vars); i++)
        unsetenv(env_vars[i]);
    return 0;
}

static char tmp_path[64];

static const char *write_conf(const char *text)
{
    snprintf(tmp_path, sizeof(tmp_path), "/tmp/tyk_conf_test_XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

static bool has_error(const tk_conf_errors_t *e, const char *needle)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->msgs[i], needle))
            return true;
    return false;
}

static void test_defaults_match_tyk(void **state)
{
    (void)state;
    gw_conf_t c;
    tk_conf_errors_t e = {0};
    assert_int_equal(gw_conf_load(&c, write_conf("{}"), &e), TK_OK);
    unlink(tmp_path);
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.listen_address, "");
    assert_string_equal(c.secret, "352d20ee67be67f6340b4c0605b044b7");
    assert_string_equal(c.template_path, "templates");
    assert_string_equal(c.app_path, "apps/");
    assert_string_equal(c.middleware_path, "middleware");
    assert_string_equal(c.pid_file_location, "/var/run/tyk/tyk-gateway.pid");
    assert_string_equal(c.health_check_endpoint_name, "hello");
    assert_string_equal(c.readiness_check_endpoint_name, "ready");
    assert_int_equal(c.graceful_shutdown_timeout_duration, 30);
    assert_string_equal(c.storage_type, "redis");
    assert_string_equal(c.storage_host, "localhost");
    assert_int_equal(c.storage_port, 6379);
    assert_int_equal(c.storage_max_idle, 100);
    assert_int_equal(c.hso_read_timeout, 120);
    assert_int_equal(c.hso_write_timeout, 120);
    assert_true(c.proxy_default_timeout == 30.0);
    assert_int_equal(c.min_token_length, 3);
    assert_int_equal(c.reload_interval, 1);
    assert_int_equal(c.proxy_ssl_max_version, 771);
    assert_int_equal(c.hso_max_version, 771);
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.log_format, "text");
    assert_false(c.hash_keys);
    assert_int_equal(c.dns_cache_ttl, 3600);
    assert_string_equal(c.dns_cache_multiple_ips_handle_strategy, "no_cache");
    assert_int_equal(c.liveness_check_check_duration, 10000000000LL);
    assert_int_equal(c.slave_options_call_timeout, 30);
    assert_int_equal(c.oauth_error_status_code, 403);
    assert_int_equal(c.turnpike_workers, 0);
    assert_true(c.turnpike_cpu_affinity);
    assert_int_equal(c.turnpike_max_header_size, 32768);
    assert_int_equal(c.turnpike_header_timeout, 10);
    assert_int_equal(c.turnpike_idle_timeout, 120);
    assert_int_equal(c.turnpike_dns_nameservers.n, 0);
    assert_int_equal(c.turnpike_max_request_memory, 1048576);
    assert_int_equal(c.turnpike_upstream_idle_timeout, 90);
    assert_null(c.override_messages);
    assert_null(c.hso_certificates);
    /* Objects with scalar members exist and hold the effective values. */
    assert_int_equal(json_integer_value(json_object_get(c.slave_options, "call_timeout")), 30);
    gw_conf_free(&c);
    assert_null(c.secret);
}

static const char *sample_conf =
    "{\n"
    "  \"listen_port\": 9090,\n"
    "  \"listen_address\": \"127.0.0.1\",\n"
    "  \"secret\": \"topsecret\",\n"
    "  \"hash_keys\": true,\n"
    "  \"enable_analytics\": true,\n"
    "  \"proxy_default_timeout\": 12.5,\n"
    "  \"max_idle_connections_per_host\": 500,\n"
    "  \"proxy_ssl_ciphers\": [\"TLS_AES_128_GCM_SHA256\"],\n"
    "  \"log_format\": \"JSON\",\n"
    "  \"storage\": {\"host\": \"redis.internal\", \"port\": 6380, \"addrs\": [\"r1:1\", \"r2:2\"],"
    "               \"use_ssl\": true, \"master_name\": \"mymaster\"},\n"
    "  \"http_server_options\": {\"use_ssl\": true, \"enable_strict_routes\": true,"
    "       \"certificates\": [{\"domain_name\": \"a.example\", \"cert_file\": \"a.pem\","
    "                           \"key_file\": \"a.key\"}], \"min_version\": 772},\n"
    "  \"policies\": {\"policy_source\": \"file\", \"policy_path\": \"/opt/tyk/policies\"},\n"
    "  \"slave_options\": {\"use_rpc\": true, \"rpc_key\": \"org1\", \"future_key\": 1},\n"
    "  \"override_messages\": {\"auth.key_not_found\": {\"code\": 401, \"message\": \"no\"}},\n"
    "  \"event_handlers\": {\"events\": {}},\n"
    "  \"some_future_tyk_key\": [1, 2, 3],\n"
    "  \"turnpike_workers\": 4\n"
    "}\n";

static void test_json_overrides(void **state)
{
    (void)state;
    gw_conf_t c;
    tk_conf_errors_t e = {0};
    assert_int_equal(gw_conf_load(&c, write_conf(sample_conf), &e), TK_OK);
    unlink(tmp_path);
    assert_int_equal(c.listen_port, 9090);
    assert_string_equal(c.listen_address, "127.0.0.1");
    assert_string_equal(c.secret, "topsecret");
    assert_true(c.hash_keys);
    assert_true(c.enable_analytics);
    assert_true(c.proxy_default_timeout == 12.5);
    assert_int_equal(c.max_idle_connections_per_host, 500);
    assert_int_equal(c.proxy_ssl_ciphers.n, 1);
    assert_string_equal(c.log_format, "json");
    assert_string_equal(c.storage_host, "redis.internal");
    assert_int_equal(c.storage_port, 6380);
    assert_int_equal(c.storage_addrs.n, 2);
    assert_string_equal(c.storage_addrs.v[1], "r2:2");
    assert_true(c.storage_use_ssl);
    assert_string_equal(c.storage_master_name, "mymaster");
    assert_true(c.hso_use_ssl);
    assert_true(c.hso_enable_strict_routes);
    assert_int_equal(json_array_size(c.hso_certificates), 1);
    assert_string_equal(tk_json_str(json_array_get(c.hso_certificates, 0), "cert_file", ""),
                        "a.pem");
    /* min_version above the default maximum raises the maximum. */
    assert_int_equal(c.hso_min_version, 772);
    assert_int_equal(c.hso_max_version, 772);
    assert_string_equal(c.policies_policy_path, "/opt/tyk/policies");
    assert_true(c.slave_options_use_rpc);
    assert_string_equal(c.slave_options_rpc_key, "org1");
    assert_true(json_is_true(json_object_get(c.slave_options, "use_rpc")));
    assert_int_equal(json_integer_value(json_object_get(c.slave_options, "future_key")), 1);
    assert_int_equal(tk_json_int(tk_json_obj(c.override_messages, "auth.key_not_found"), "code", 0),
                     401);
    assert_non_null(tk_json_obj(c.event_handlers, "events"));
    assert_int_equal(c.turnpike_workers, 4);
    gw_conf_free(&c);
}

static void test_env_overrides(void **state)
{
    (void)state;
    gw_conf_t c;
    tk_conf_errors_t e = {0};
    setenv("TYK_GW_LISTENPORT", "8181", 1);
    setenv("TYK_GW_STORAGE_HOST", "redis-env", 1);
    setenv("TYK_GW_HTTPSERVEROPTIONS_USESSL", "false", 1);
    setenv("TYK_GW_POLICIES_POLICYSOURCE", "service", 1);
    setenv("TYK_GW_HASHKEYS", "0", 1);
    setenv("TYK_GW_MAXIDLECONNS", "64", 1);
    setenv("TYK_GW_PROXYSSLCIPHERSUITES", "A,B", 1);
    setenv("TYK_GW_SLAVEOPTIONS_USERPC", "False", 1);
    setenv("TYK_GW_LIVENESSCHECK_CHECKDURATION", "2s", 1);
    setenv("TYK_GW_TURNPIKEWORKERS", "2", 1);
    assert_int_equal(gw_conf_load(&c, write_conf(sample_conf), &e), TK_OK);
    unlink(tmp_path);
    assert_int_equal(c.listen_port, 8181);
    assert_string_equal(c.storage_host, "redis-env");
    assert_int_equal(c.storage_port, 6380); /* from the file */
    assert_false(c.hso_use_ssl);
    assert_string_equal(c.policies_policy_source, "service");
    assert_false(c.hash_keys);
    assert_int_equal(c.max_idle_connections, 64);
    assert_int_equal(c.proxy_ssl_ciphers.n, 2);
    assert_string_equal(c.proxy_ssl_ciphers.v[1], "B");
    assert_false(c.slave_options_use_rpc);
    assert_true(json_is_false(json_object_get(c.slave_options, "use_rpc")));
    assert_int_equal(c.liveness_check_check_duration, 2000000000LL);
    assert_int_equal(c.turnpike_workers, 2);
    gw_conf_free(&c);
}

static void test_errors_collected(void **state)
{
    (void)state;
    gw_conf_t c;
    tk_conf_errors_t e = {0};
    setenv("TYK_GW_STORAGE_PORT", "redis", 1);
    setenv("TYK_GW_LOGLEVEL", "verbose", 1);
    const char *p = write_conf("{\"listen_port\": \"abc\", \"hash_keys\": \"yes\","
                               " \"http_server_options\": {\"read_timeout\": -5},"
                               " \"control_api_port\": 70000, \"storage\": {\"type\": \"mongo\"},"
                               " \"proxy_ssl_ciphers\": \"AES\"}");
    assert_int_equal(gw_conf_load(&c, p, &e), TK_ERROR);
    unlink(tmp_path);
    assert_int_equal(e.n, 8);
    assert_true(has_error(&e, "listen_port: expected an integer, got string \"abc\""));
    assert_true(has_error(&e, "hash_keys: expected a boolean, got string \"yes\""));
    assert_true(has_error(&e, "http_server_options.read_timeout: -5 is out of range"));
    assert_true(has_error(&e, "control_api_port: 70000 is out of range (allowed 0..65535)"));
    assert_true(has_error(&e, "proxy_ssl_ciphers: expected an array of strings, got string"));
    assert_true(has_error(&e, "TYK_GW_STORAGE_PORT: expected an integer, got \"redis\""));
    assert_true(has_error(&e, "log_level: \"verbose\" is not one of"));
    assert_true(has_error(&e, "storage.type: \"mongo\" is not supported"));
    /* Still usable: bad values fell back to defaults. */
    assert_int_equal(c.listen_port, 8080);
    tk_conf_errors_free(&e);
    gw_conf_free(&c);
}

static void test_file_errors(void **state)
{
    (void)state;
    gw_conf_t c;
    tk_conf_errors_t e = {0};
    assert_int_equal(gw_conf_load(&c, "/nonexistent/tyk.conf", &e), TK_ERROR);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.msgs[0], "/nonexistent/tyk.conf: No such file or directory");
    assert_int_equal(c.listen_port, 8080);
    tk_conf_errors_free(&e);
    gw_conf_free(&c);

    const char *p = write_conf("{\n  \"listen_port\": 8080,\n}\n");
    assert_int_equal(gw_conf_load(&c, p, &e), TK_ERROR);
    char want[96];
    snprintf(want, sizeof(want), "%s:3:", p);
    assert_non_null(strstr(e.msgs[0], want));
    unlink(tmp_path);
    tk_conf_errors_free(&e);
    gw_conf_free(&c);

    p = write_conf("[1, 2]");
    assert_int_equal(gw_conf_load(&c, p, &e), TK_ERROR);
    assert_true(has_error(&e, "the top level must be a JSON object, not array"));
    unlink(tmp_path);
    tk_conf_errors_free(&e);
    gw_conf_free(&c);
}

static void test_derived_defaults(void **state)
{
    (void)state;
    gw_conf_t c;
    tk_conf_errors_t e = {0};
    const char *p = write_conf(
        "{\"proxy_default_timeout\": 0, \"min_token_length\": 0, \"reload_interval\": 0,"
        " \"graceful_shutdown_timeout_duration\": 0, \"health_check_endpoint_name\": \"\","
        " \"http_server_options\": {\"read_timeout\": 0, \"write_timeout\": 0},"
        " \"proxy_ssl_min_version\": 772, \"log_level\": \"DEBUG\", \"log_format\": \"standard\","
        " \"use_db_app_configs\": true,"
        " \"db_app_conf_options\": {\"connection_string\": \"http://dash:3000\"},"
        " \"policies\": {\"policy_source\": \"file\"}}");
    assert_int_equal(gw_conf_load(&c, p, &e), TK_OK);
    unlink(tmp_path);
    assert_true(c.proxy_default_timeout == 30.0);
    assert_int_equal(c.min_token_length, 3);
    assert_int_equal(c.reload_interval, 1);
    assert_int_equal(c.graceful_shutdown_timeout_duration, 30);
    assert_string_equal(c.health_check_endpoint_name, "hello");
    assert_int_equal(c.hso_read_timeout, 120);
    assert_int_equal(c.hso_write_timeout, 120);
    assert_int_equal(c.proxy_ssl_max_version, 772);
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.log_format, "text");
    assert_string_equal(c.policies_policy_source, "service");
    assert_string_equal(c.policies_policy_connection_string, "http://dash:3000");
    assert_string_equal(c.policies_policy_record_name, "tyk_policies");
    gw_conf_free(&c);
}

static void test_secrets(void **state)
{
    (void)state;
    gw_conf_t c;
    tk_conf_errors_t e = {0};
    char pwfile[] = "/tmp/tyk_redis_pw_XXXXXX";
    int fd = mkstemp(pwfile);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "redis-pw\n", 9), 9);
    close(fd);
    char text[512];
    snprintf(text, sizeof(text),
             "{\"secret\": \"secrets://gw\", \"node_secret\": \"env://node\","
             " \"storage\": {\"password\": \"file://%s\"},"
             " \"secrets\": {\"gw\": \"from-secrets\"}}",
             pwfile);
    setenv("TYK_SECRET_NODE", "from-env", 1);
    assert_int_equal(gw_conf_load(&c, write_conf(text), &e), TK_OK);
    unlink(tmp_path);
    assert_string_equal(c.secret, "from-secrets");
    assert_string_equal(c.node_secret, "from-env");
    assert_string_equal(c.storage_password, "redis-pw");
    gw_conf_free(&c);

    /* TYK_GW_SECRETS in map form feeds secrets:// as well. */
    setenv("TYK_GW_SECRETS", "gw:env-map", 1);
    setenv("TYK_GW_SECRET", "secrets://gw", 1);
    assert_int_equal(gw_conf_load(&c, write_conf("{}"), &e), TK_OK);
    unlink(tmp_path);
    assert_string_equal(c.secret, "env-map");
    gw_conf_free(&c);

    unlink(pwfile);
    assert_int_equal(gw_conf_load(&c, write_conf(text), &e), TK_ERROR);
    unlink(tmp_path);
    assert_true(has_error(&e, "storage.password: cannot read secret file"));
    tk_conf_errors_free(&e);
    gw_conf_free(&c);
}

static void test_omit_config_file(void **state)
{
    (void)state;
    gw_conf_t c;
    tk_conf_errors_t e = {0};
    setenv("TYK_GW_OMITCONFIGFILE", "true", 1);
    setenv("TYK_GW_LISTENPORT", "9999", 1);
    /* The file is not even opened. */
    assert_int_equal(gw_conf_load(&c, "/nonexistent/tyk.conf", &e), TK_OK);
    assert_int_equal(c.listen_port, 9999);
    assert_string_equal(c.storage_host, "localhost");
    gw_conf_free(&c);
    assert_int_equal(gw_conf_load(&c, write_conf(sample_conf), &e), TK_OK);
    unlink(tmp_path);
    assert_string_equal(c.secret, "352d20ee67be67f6340b4c0605b044b7");
    gw_conf_free(&c);
}

static void test_table_and_docs(void **state)
{
    (void)state;
    size_t n;
    const tk_conf_entry_t *t = gw_conf_table(&n);
    assert_true(n > 250);
    for (size_t i = 0; i < n; i++) {
        for (const char *s = t[i].env; *s; s++)
            assert_true(isupper((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_');
        for (size_t j = i + 1; j < n; j++) {
            assert_string_not_equal(t[i].path, t[j].path);
            assert_string_not_equal(t[i].env, t[j].env);
        }
        assert_non_null(t[i].doc);
    }
    const tk_conf_entry_t *m = tk_conf_find(t, n, "max_idle_connections");
    assert_string_equal(m->env, "MAXIDLECONNS");
    m = tk_conf_find(t, n, "http_server_options.ssl_ciphers");
    assert_string_equal(m->env, "HTTPSERVEROPTIONS_CIPHERS");

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    gw_conf_write_docs(f);
    fclose(f);
    assert_non_null(strstr(buf, "# Gateway configuration reference"));
    assert_non_null(
        strstr(buf, "| `listen_port` | `TYK_GW_LISTENPORT` | integer (1..65535) | `8080` |"));
    assert_non_null(strstr(buf, "| `storage.password` | `TYK_GW_STORAGE_PASSWORD` | string, "
                                "secret ref |"));
    assert_non_null(strstr(buf, "`TYK_GW_HTTPSERVEROPTIONS_USESSL`"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_match_tyk, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_json_overrides, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_env_overrides, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_errors_collected, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_file_errors, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_derived_defaults, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_secrets, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_omit_config_file, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_table_and_docs, clear_env, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
