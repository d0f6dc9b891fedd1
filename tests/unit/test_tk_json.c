/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the jansson helpers: positioned load errors, typed getters, dotted paths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *write_temp(const char *text)
{
    char tmpl[] = "/tmp/tk_json_test_XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return tk_xstrdup(tmpl);
}

static void test_load_file_ok(void **state)
{
    (void)state;
    char *path = write_temp("{\"a\": {\"b\": [1, 2]}, \"s\": \"x\"}\n");
    char err[256] = "";
    json_t *v = tk_json_load_file(path, err, sizeof(err));
    assert_non_null(v);
    assert_string_equal(err, "");
    assert_int_equal(json_array_size(tk_json_get_path(v, "a.b")), 2);
    json_decref(v);
    unlink(path);
    free(path);
}

static void test_load_file_syntax_error_has_position(void **state)
{
    (void)state;
    char *path = write_temp("{\n  \"listen_port\": 8080,\n  \"secret\": oops\n}\n");
    char err[256];
    json_t *v = tk_json_load_file(path, err, sizeof(err));
    assert_null(v);
    char want[300];
    snprintf(want, sizeof(want), "%s:3:", path);
    /* "path:3:<col>: message" — the bad token is on line 3. */
    assert_non_null(strstr(err, want));
    assert_ptr_equal(strstr(err, path), err);
    unlink(path);
    free(path);
}

static void test_load_file_missing(void **state)
{
    (void)state;
    char err[256];
    assert_null(tk_json_load_file("/nonexistent/tk/tyk.conf", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/tk/tyk.conf: No such file or directory");
    /* A NULL buffer is allowed. */
    assert_null(tk_json_load_file("/nonexistent/tk/tyk.conf", NULL, 0));
}

static void test_load_buf(void **state)
{
    (void)state;
    char err[128];
    json_t *v = tk_json_load_buf("[1,", 3, "api.json", err, sizeof(err));
    assert_null(v);
    assert_true(strncmp(err, "api.json:1:", 11) == 0);
    v = tk_json_load_buf("true", 4, "x", err, sizeof(err));
    assert_true(json_is_true(v));
    json_decref(v);
}

static void test_typed_getters(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s, s:i, s:f, s:f, s:b, s:{}, s:[], s:n}", "name", "api", "port", 8080,
                          "ratio", 0.5, "whole", 3.0, "on", 1, "obj", "arr", "nul");
    assert_string_equal(tk_json_str(o, "name", "d"), "api");
    assert_string_equal(tk_json_str(o, "port", "d"), "d"); /* wrong type */
    assert_string_equal(tk_json_str(o, "missing", "d"), "d");
    assert_null(tk_json_str(o, "missing", NULL));
    assert_int_equal(tk_json_int(o, "port", -1), 8080);
    assert_int_equal(tk_json_int(o, "whole", -1), 3);
    assert_int_equal(tk_json_int(o, "ratio", -1), -1); /* not integral */
    assert_int_equal(tk_json_int(o, "name", 7), 7);
    assert_true(tk_json_num(o, "ratio", 0) == 0.5);
    assert_true(tk_json_num(o, "port", 0) == 8080.0);
    assert_true(tk_json_bool(o, "on", false));
    assert_false(tk_json_bool(o, "port", false));
    assert_non_null(tk_json_obj(o, "obj"));
    assert_null(tk_json_obj(o, "arr"));
    assert_non_null(tk_json_arr(o, "arr"));
    assert_null(tk_json_arr(o, "obj"));
    assert_true(tk_json_has(o, "name"));
    assert_false(tk_json_has(o, "nul"));
    assert_false(tk_json_has(o, "missing"));
    char *d = tk_json_strdup(o, "name", NULL);
    assert_string_equal(d, "api");
    free(d);
    assert_null(tk_json_strdup(o, "x", NULL));
    /* Non-object receivers just give the default. */
    assert_int_equal(tk_json_int(NULL, "port", 5), 5);
    assert_string_equal(tk_json_type_name(json_object_get(o, "whole")), "number");
    assert_string_equal(tk_json_type_name(NULL), "missing");
    json_decref(o);
}

static void test_paths(void **state)
{
    (void)state;
    json_t *o = json_object();
    assert_int_equal(tk_json_set_path(o, "a.b.c", json_integer(1)), TK_OK);
    assert_int_equal(tk_json_set_path(o, "a.d", json_string("x")), TK_OK);
    assert_int_equal(json_integer_value(tk_json_get_path(o, "a.b.c")), 1);
    assert_string_equal(json_string_value(tk_json_get_path(o, "a.d")), "x");
    assert_null(tk_json_get_path(o, "a.d.e"));
    assert_null(tk_json_get_path(o, "zz"));
    /* A scalar in the way is replaced by an object. */
    assert_int_equal(tk_json_set_path(o, "a.d.e", json_true()), TK_OK);
    assert_true(json_is_true(tk_json_get_path(o, "a.d.e")));
    json_t *arr = json_array();
    assert_int_equal(tk_json_set_path(arr, "x", json_true()), TK_ERROR);
    json_decref(arr);
    char *s = tk_json_dumps_compact(o);
    assert_string_equal(s, "{\"a\":{\"b\":{\"c\":1},\"d\":{\"e\":true}}}");
    free(s);
    s = tk_json_dumps_pretty(o);
    assert_non_null(strstr(s, "\n    \"a\": {"));
    free(s);
    assert_null(tk_json_dumps_compact(NULL));
    json_decref(o);
}

static void test_strv(void **state)
{
    (void)state;
    json_t *a = json_pack("[s, i, s]", "x", 1, "y");
    size_t n = 99;
    char **v = tk_json_strv(a, &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "x");
    assert_string_equal(v[1], "y");
    assert_null(v[2]);
    tk_json_strv_free(v);
    assert_null(tk_json_strv(NULL, &n));
    assert_int_equal(n, 0);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_file_ok),
        cmocka_unit_test(test_load_file_syntax_error_has_position),
        cmocka_unit_test(test_load_file_missing),
        cmocka_unit_test(test_load_buf),
        cmocka_unit_test(test_typed_getters),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_strv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
