/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the config table loader: defaults, JSON, environment, errors, secrets, docs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tcfg {
    int64_t port;
    bool use_ssl;
    double timeout;
    char *name;
    char *password;
    tk_strlist_t hosts;
    json_t *opts;
    int64_t interval;
    json_t *secrets;
};

#define OFF(f) offsetof(struct tcfg, f)
static const tk_conf_entry_t table[] = {
    {"port", "PORT", TK_CONF_INT, OFF(port), "8080", 1, 65535, 0, "Listen port."},
    {"opts", "OPTS", TK_CONF_JSON, OFF(opts), NULL, 0, 0, 0, "Options | object."},
    {"opts.use_ssl", "OPTS_USESSL", TK_CONF_BOOL, OFF(use_ssl), NULL, 0, 0, 0, "TLS."},
    {"timeout", "TIMEOUT", TK_CONF_FLOAT, OFF(timeout), "30", 0, 3600, 0, "Seconds."},
    {"name", "NAME", TK_CONF_STRING, OFF(name), "gw", 0, 0, 0, "Name."},
    {"password", "PASSWORD", TK_CONF_STRING, OFF(password), NULL, 0, 0, TK_CONF_SECRET, "Pw."},
    {"hosts", "HOSTS", TK_CONF_STRLIST, OFF(hosts), "a:1,b:2", 0, 0, 0, "Hosts."},
    {"interval", "INTERVAL", TK_CONF_INT, OFF(interval), "10000000000", 0, 0, TK_CONF_DURATION,
     "Probe interval."},
    {"secrets", "SECRETS", TK_CONF_JSON, OFF(secrets), NULL, 0, 0, 0, "Secret values."},
};
#define N TK_ARRAY_LEN(table)

static const char *const env_vars[] = {
    "TKT_PORT",          "TKT_OPTS",  "TKT_OPTS_USESSL", "TKT_TIMEOUT", "TKT_NAME",
    "TKT_PASSWORD",      "TKT_HOSTS", "TKT_INTERVAL",    "TKT_SECRETS", "TKT_OMITCONFIGFILE",
    "TYK_SECRET_DBPASS", "DBPASS",    "TYK_SECRET_BOTH", "BOTH",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < TK_ARRAY_LEN(env_vars); i++)
        unsetenv(env_vars[i]);
    return 0;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    assert_non_null(v);
    return v;
}

static bool has_error(const tk_conf_errors_t *e, const char *needle)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->msgs[i], needle))
            return true;
    return false;
}

static void test_defaults(void **state)
{
    (void)state;
    struct tcfg c = {0};
    tk_conf_errors_t e = {0};
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", NULL, &e), TK_OK);
    assert_int_equal(e.n, 0);
    assert_int_equal(c.port, 8080);
    assert_false(c.use_ssl);
    assert_true(c.timeout == 30.0);
    assert_string_equal(c.name, "gw");
    assert_string_equal(c.password, ""); /* never NULL */
    assert_int_equal(c.hosts.n, 2);
    assert_string_equal(c.hosts.v[0], "a:1");
    assert_string_equal(c.hosts.v[1], "b:2");
    assert_int_equal(c.interval, 10000000000LL);
    assert_null(c.secrets);
    /* The object is built from its members' effective values. */
    assert_true(json_is_false(json_object_get(c.opts, "use_ssl")));
    tk_conf_free(table, N, &c);
    assert_null(c.name);
    assert_null(c.hosts.v);
    assert_null(c.opts);
}

static void test_json_overrides(void **state)
{
    (void)state;
    struct tcfg c = {0};
    tk_conf_errors_t e = {0};
    json_t *root = parse("{\"port\": 9090, \"opts\": {\"use_ssl\": true, \"extra\": 1},"
                         " \"timeout\": 2.5, \"name\": \"edge\", \"hosts\": [\"r1:6379\"],"
                         " \"unknown_key\": {\"ignored\": true}, \"password\": null}");
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    assert_int_equal(c.port, 9090);
    assert_true(c.use_ssl);
    assert_true(c.timeout == 2.5);
    assert_string_equal(c.name, "edge");
    assert_int_equal(c.hosts.n, 1);
    assert_string_equal(c.hosts.v[0], "r1:6379");
    assert_string_equal(c.password, "");
    assert_int_equal(json_integer_value(json_object_get(c.opts, "extra")), 1);
    /* Our copy is private: editing it leaves the caller's tree alone. */
    assert_ptr_not_equal(c.opts, json_object_get(root, "opts"));
    json_object_set_new(c.opts, "x", json_true());
    assert_null(json_object_get(json_object_get(root, "opts"), "x"));
    /* Loading again over a used struct does not leak (ASan checks). */
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    json_decref(root);
    tk_conf_free(table, N, &c);
}

static void test_env_overrides(void **state)
{
    (void)state;
    struct tcfg c = {0};
    tk_conf_errors_t e = {0};
    json_t *root = parse("{\"port\": 9090, \"name\": \"file\", \"opts\": {\"use_ssl\": false}}");
    setenv("TKT_PORT", "7000", 1);
    setenv("TKT_OPTS_USESSL", "T", 1);
    setenv("TKT_TIMEOUT", "1.25", 1);
    setenv("TKT_NAME", "from-env", 1);
    setenv("TKT_HOSTS", " h1:1 , h2:2,,h3:3 ", 1);
    setenv("TKT_INTERVAL", "1m30s", 1);
    setenv("TKT_SECRETS", "k1:v1,k2:/v2", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    assert_int_equal(c.port, 7000);
    assert_true(c.use_ssl);
    assert_true(c.timeout == 1.25);
    assert_string_equal(c.name, "from-env");
    assert_int_equal(c.hosts.n, 3);
    assert_string_equal(c.hosts.v[0], "h1:1");
    assert_string_equal(c.hosts.v[2], "h3:3");
    assert_int_equal(c.interval, 90000000000LL);
    assert_string_equal(json_string_value(json_object_get(c.secrets, "k2")), "/v2");
    /* The nested env override shows in the object too. */
    assert_true(json_is_true(json_object_get(c.opts, "use_ssl")));
    tk_conf_free(table, N, &c);

    /* JSON text works for JSON entries; 0x hex for integers, like Go's ParseInt base 0. */
    setenv("TKT_OPTS", "{\"extra\": [1, 2]}", 1);
    setenv("TKT_PORT", "0x1F90", 1);
    setenv("TKT_INTERVAL", "5000", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.interval, 5000);
    assert_int_equal(json_array_size(json_object_get(c.opts, "extra")), 2);
    assert_true(json_is_true(json_object_get(c.opts, "use_ssl")));
    assert_int_equal(e.n, 0);
    json_decref(root);
    tk_conf_free(table, N, &c);
}

static void test_env_bool_forms(void **state)
{
    (void)state;
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    bool b;
    for (size_t i = 0; i < 6; i++) {
        assert_true(tk_conf_parse_bool(yes[i], &b));
        assert_true(b);
        assert_true(tk_conf_parse_bool(no[i], &b));
        assert_false(b);
    }
    assert_false(tk_conf_parse_bool("yes", &b));
    assert_false(tk_conf_parse_bool("tRUE", &b));
    assert_false(tk_conf_parse_bool("", &b));
}

static void test_type_errors_all_reported(void **state)
{
    (void)state;
    struct tcfg c = {0};
    tk_conf_errors_t e = {0};
    json_t *root = parse("{\"port\": \"abc\", \"opts\": {\"use_ssl\": \"yes\"}, \"timeout\": 1e9,"
                         " \"name\": 5, \"hosts\": [\"ok\", 7]}");
    setenv("TKT_INTERVAL", "soon", 1);
    setenv("TKT_SECRETS", "no-colon-here", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_ERROR);
    assert_int_equal(e.n, 7);
    assert_true(has_error(&e, "port: expected an integer, got string \"abc\""));
    assert_true(has_error(&e, "opts.use_ssl: expected a boolean, got string \"yes\""));
    assert_true(has_error(&e, "timeout: 1000000000 is out of range (allowed 0..3600)"));
    assert_true(has_error(&e, "name: expected a string, got integer 5"));
    assert_true(has_error(&e, "hosts[1]: expected a string, got integer 7"));
    assert_true(has_error(&e, "TKT_INTERVAL: expected an integer, got \"soon\""));
    assert_true(has_error(&e, "TKT_SECRETS: expected JSON or a comma-separated list"));
    /* Bad values leave the defaults in place. */
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.name, "gw");
    assert_int_equal(c.hosts.n, 2);
    tk_conf_errors_free(&e);
    assert_int_equal(e.n, 0);
    json_decref(root);
    tk_conf_free(table, N, &c);
}

static void test_bounds(void **state)
{
    (void)state;
    struct tcfg c = {0};
    tk_conf_errors_t e = {0};
    json_t *root = parse("{\"port\": 70000}");
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_ERROR);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.msgs[0], "port: 70000 is out of range (allowed 1..65535)");
    tk_conf_errors_free(&e);
    json_decref(root);

    setenv("TKT_PORT", "0", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", NULL, &e), TK_ERROR);
    assert_string_equal(e.msgs[0], "TKT_PORT: 0 is out of range (allowed 1..65535)");
    tk_conf_errors_free(&e);

    setenv("TKT_PORT", "65535", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", NULL, &e), TK_OK);
    assert_int_equal(c.port, 65535);
    setenv("TKT_PORT", "", 1); /* set but empty: not a number, as in Tyk */
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", NULL, &e), TK_ERROR);
    tk_conf_errors_free(&e);
    tk_conf_free(table, N, &c);
}

static void test_omit_config_file(void **state)
{
    (void)state;
    struct tcfg c = {0};
    tk_conf_errors_t e = {0};
    json_t *root = parse("{\"port\": 9090, \"name\": \"file\"}");
    setenv("TKT_OMITCONFIGFILE", "TRUE", 1);
    setenv("TKT_NAME", "env-only", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.name, "env-only");
    /* Anything but "true" (any case) keeps the file, as in Tyk. */
    setenv("TKT_OMITCONFIGFILE", "1", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    assert_int_equal(c.port, 9090);
    json_decref(root);
    tk_conf_free(table, N, &c);
}

static void test_secrets(void **state)
{
    (void)state;
    tk_conf_errors_t e = {0};
    json_t *secrets = parse("{\"redis\": \"s3cret\", \"num\": 5}");

    setenv("TYK_SECRET_DBPASS", "from-tyk-secret", 1);
    setenv("DBPASS", "plain", 1);
    char *v = tk_conf_resolve_secret("env://dbpass", NULL, &e, "password");
    assert_string_equal(v, "from-tyk-secret");
    free(v);
    unsetenv("TYK_SECRET_DBPASS");
    v = tk_conf_resolve_secret("env://DBPASS", NULL, &e, "password");
    assert_string_equal(v, "plain"); /* fallback to the bare name */
    free(v);
    v = tk_conf_resolve_secret("env://nothing_here_xyz", NULL, &e, "password");
    assert_string_equal(v, ""); /* unset resolves to "" like Tyk */
    free(v);

    char tmpl[] = "/tmp/tk_conf_secret_XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-pass\n", 10), 10);
    close(fd);
    char ref[64];
    snprintf(ref, sizeof(ref), "file://%s", tmpl);
    v = tk_conf_resolve_secret(ref, NULL, &e, "password");
    assert_string_equal(v, "file-pass");
    free(v);
    unlink(tmpl);
    assert_null(tk_conf_resolve_secret(ref, NULL, &e, "password"));
    assert_true(has_error(&e, "password: cannot read secret file"));

    v = tk_conf_resolve_secret("secrets://redis", secrets, &e, "password");
    assert_string_equal(v, "s3cret");
    free(v);
    assert_null(tk_conf_resolve_secret("secrets://num", secrets, &e, "password"));
    assert_null(tk_conf_resolve_secret("secrets://nope", NULL, &e, "password"));
    assert_true(has_error(&e, "password: secrets://nope: key \"nope\" not found"));
    v = tk_conf_resolve_secret("plain-value", secrets, &e, "password");
    assert_string_equal(v, "plain-value");
    free(v);
    tk_conf_errors_free(&e);
    json_decref(secrets);
}

static void test_secrets_on_load(void **state)
{
    (void)state;
    struct tcfg c = {0};
    tk_conf_errors_t e = {0};
    json_t *root = parse("{\"password\": \"secrets://db\", \"name\": \"secrets://db\","
                         " \"secrets\": {\"db\": \"hunter2\"}}");
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    assert_string_equal(c.password, "hunter2");
    assert_string_equal(c.name, "secrets://db"); /* not flagged: left alone */
    /* Secrets can come from the environment too, and env:// works in env values. */
    setenv("TKT_SECRETS", "db:from-env", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    assert_string_equal(c.password, "from-env");
    setenv("TKT_PASSWORD", "env://both", 1);
    setenv("TYK_SECRET_BOTH", "prefixed-wins", 1);
    setenv("BOTH", "bare", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_OK);
    assert_string_equal(c.password, "prefixed-wins");
    setenv("TKT_PASSWORD", "secrets://missing", 1);
    assert_int_equal(tk_conf_load(table, N, &c, "TKT_", root, &e), TK_ERROR);
    assert_true(has_error(&e, "password: secrets://missing"));
    tk_conf_errors_free(&e);
    json_decref(root);
    tk_conf_free(table, N, &c);
}

static void test_duration(void **state)
{
    (void)state;
    int64_t ns;
    assert_true(tk_conf_parse_duration("10s", &ns));
    assert_int_equal(ns, 10000000000LL);
    assert_true(tk_conf_parse_duration("1h2m3.5s", &ns));
    assert_int_equal(ns, 3723500000000LL);
    assert_true(tk_conf_parse_duration("300ms", &ns));
    assert_int_equal(ns, 300000000);
    assert_true(tk_conf_parse_duration("-1.5h", &ns));
    assert_int_equal(ns, -5400000000000LL);
    assert_true(tk_conf_parse_duration("0", &ns));
    assert_int_equal(ns, 0);
    assert_false(tk_conf_parse_duration("10", &ns));
    assert_false(tk_conf_parse_duration("s", &ns));
    assert_false(tk_conf_parse_duration("5x", &ns));
    assert_false(tk_conf_parse_duration("", &ns));
}

static void test_docs(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tk_conf_write_docs(table, N, "TKT_", f);
    fclose(f);
    assert_non_null(
        strstr(buf, "| JSON key | Environment variable | Type | Default | Description |"));
    assert_non_null(
        strstr(buf, "| `port` | `TKT_PORT` | integer (1..65535) | `8080` | Listen port. |"));
    assert_non_null(strstr(buf, "| `password` | `TKT_PASSWORD` | string, secret ref |  | Pw. |"));
    assert_non_null(strstr(buf, "Options \\| object.")); /* pipes escaped */
    assert_ptr_equal(tk_conf_find(table, N, "opts.use_ssl"), &table[2]);
    assert_null(tk_conf_find(table, N, "nope"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_json_overrides, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_env_overrides, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_env_bool_forms, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_type_errors_all_reported, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_bounds, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_omit_config_file, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_secrets, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_secrets_on_load, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_duration, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_docs, clear_env, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
