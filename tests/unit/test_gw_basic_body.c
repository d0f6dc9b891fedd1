/* SPDX-License-Identifier: Apache-2.0 */
/* Basic-auth credentials from a body by regexp (Tyk's basicAuthBodyCredentials cases). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gw_basic_body.h"

static const char *run(const char *ure, const char *pre, const char *body, char **u, char **p,
                       tk_arena_t *a)
{
    gw_basic_body_t bb;
    const char *why = NULL;
    assert_int_equal(gw_basic_body_compile(&bb, ure, pre, &why), TK_OK);
    const char *err = gw_basic_body_extract(&bb, body, body ? strlen(body) : 0, a, u, p);
    gw_basic_body_free(&bb);
    return err;
}

static void test_first_group_of_first_match(void **state)
{
    (void)state;
    tk_arena_t *a = tk_arena_new(4096, 1 << 20);
    char *u = NULL, *p = NULL;
    assert_null(run("<User>(.*)</User>", "<Password>(.*)</Password>",
                    "<User>user</User><Password>password</Password>", &u, &p, a));
    assert_string_equal(u, "user");
    assert_string_equal(p, "password");
    /* The first match wins; "." does not cross a newline. */
    assert_null(run("u=(\\w+)", "p=(\\w+)", "u=first&u=second&p=x1\np=x2", &u, &p, a));
    assert_string_equal(u, "first");
    assert_string_equal(p, "x1");
    /* An optional group that did not take part gives "" (Go's nil submatch). */
    assert_null(run("user(=(\\w+))?", "pw=(\\w*)", "user pw=", &u, &p, a));
    assert_string_equal(u, "");
    assert_string_equal(p, "");
    /* Bytes after a NUL are still searched (the body is binary-safe). */
    static const char bin[] = "x\0<User>nul</User><Password>z</Password>";
    gw_basic_body_t bb;
    const char *why;
    assert_int_equal(
        gw_basic_body_compile(&bb, "<User>(.*)</User>", "<Password>(.*)</Password>", &why), TK_OK);
    assert_null(gw_basic_body_extract(&bb, bin, sizeof(bin) - 1, a, &u, &p));
    assert_string_equal(u, "nul");
    gw_basic_body_free(&bb);
    tk_arena_free(a);
}

static void test_errors_in_tyk_order(void **state)
{
    (void)state;
    tk_arena_t *a = tk_arena_new(4096, 1 << 20);
    char *u, *p;
    const char *U = "<User>(.*)</User>", *P = "<Password>(.*)</Password>";
    assert_string_equal(run(U, P, "", &u, &p, a), "Body do not contain username");
    assert_string_equal(run(U, P, NULL, &u, &p, a), "Body do not contain username");
    assert_string_equal(run(U, P, "<User>User>", &u, &p, a), "Body do not contain username");
    assert_string_equal(run(U, P, "<User>user</User>", &u, &p, a), "Body do not contain password");
    assert_string_equal(run("<User>.*</User>", P, "<User>u</User>", &u, &p, a),
                        "username should be inside regexp match group");
    /* The user is checked completely before the password is looked at. */
    assert_string_equal(run("<User>.*</User>", P, "nothing", &u, &p, a),
                        "Body do not contain username");
    assert_string_equal(
        run(U, "<Password>.*</Password>", "<User>u</User><Password>x</Password>", &u, &p, a),
        "password should be inside regexp match group");
    tk_arena_free(a);
}

static void test_compile_refuses_empty_or_invalid(void **state)
{
    (void)state;
    gw_basic_body_t bb;
    const char *why = NULL;
    assert_int_equal(gw_basic_body_compile(&bb, "", "(x)", &why), TK_ERROR);
    assert_non_null(strstr(why, "regexps are empty"));
    assert_int_equal(gw_basic_body_compile(&bb, "(x)", NULL, &why), TK_ERROR);
    assert_int_equal(gw_basic_body_compile(&bb, "(", "(x)", &why), TK_ERROR);
    assert_string_equal(why, "Invalid user body regexp");
    assert_int_equal(gw_basic_body_compile(&bb, "(x)", "[", &why), TK_ERROR);
    assert_string_equal(why, "Invalid user password regexp");
    assert_null(bb.user_re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_group_of_first_match),
        cmocka_unit_test(test_errors_in_tyk_order),
        cmocka_unit_test(test_compile_refuses_empty_or_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
