/* SPDX-License-Identifier: Apache-2.0 */
/* Endpoint-level rate limits: Tyk's PreparePathRegexp, endpoint choice, key suffix; DRL peek. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gw_endpoint_rl.h"
#include "gw_limits.h"
#include "tk_hash.h"

static void check_prep(const char *in, bool prefix, bool suffix, const char *want)
{
    char *got = gw_prepare_path_regexp(in, prefix, suffix);
    assert_string_equal(got, want);
    free(got);
}

static void test_prepare_path_regexp(void **state)
{
    (void)state;
    check_prep("/users", false, false, "/users");
    check_prep("/users", true, false, "^/users");
    check_prep("/users", false, true, "/users$");
    check_prep("/users", true, true, "^/users$");
    check_prep("/users$", true, true, "^/users$");
    check_prep("users", true, false, "users"); /* '^' only before a leading '/' */
    check_prep("/users/{id}", false, false, "/users/([^/]+)");
    check_prep("/a/{x}/b/{y}", true, true, "^/a/([^/]+)/b/([^/]+)$");
    check_prep("/a/{}/b", false, false, "/a/{}/b"); /* "{}" is not a parameter */
    check_prep("/a/{x", false, false, "/a/{x");
    check_prep("", false, true, "$");
}

static gw_endpoint_method_t meth(const char *name, double rate, double per)
{
    gw_endpoint_method_t m = {.name = (char *)name};
    m.limit.rate = rate;
    m.limit.per = per;
    return m;
}

static void test_find(void **state)
{
    (void)state;
    gw_endpoint_method_t m1[] = {meth("POST", 1, 10)};
    gw_endpoint_method_t m2[] = {meth("get", 5, 60), meth("PUT", 7, 60)};
    gw_endpoint_t eps[] = {
        {.path = "/items/{id}", .methods = m1, .n_methods = 1},
        {.path = "/items/{id}", .methods = m2, .n_methods = 2},
    };
    gw_endpoint_rl_t out;
    /* Methods are compared case-insensitively; the first endpoint listing it wins. */
    assert_true(gw_endpoint_rl_find(eps, 2, "GET", 3, "/items/9", true, true, &out));
    assert_true(out.rate == 5 && out.per == 60);
    char want[72];
    tk_hash_str("get:/items/{id}", strlen("get:/items/{id}"), want);
    assert_string_equal(out.key_suffix, want);   /* the configured spelling is hashed */
    assert_int_equal(strlen(out.key_suffix), 8); /* murmur32 */
    assert_true(gw_endpoint_rl_find(eps, 2, "POST", 4, "/items/9", true, true, &out));
    assert_true(out.rate == 1 && out.per == 10);
    /* Anchored: a longer path is not the endpoint; unanchored it is. */
    assert_false(gw_endpoint_rl_find(eps, 2, "GET", 3, "/items/9/x", true, true, &out));
    assert_true(gw_endpoint_rl_find(eps, 2, "GET", 3, "/v1/items/9/x", false, false, &out));
    assert_false(gw_endpoint_rl_find(eps, 2, "DELETE", 6, "/items/9", false, false, &out));
    /* A pattern that does not compile is skipped. */
    gw_endpoint_t bad[] = {{.path = "/x(", .methods = m2, .n_methods = 2}};
    assert_false(gw_endpoint_rl_find(bad, 1, "GET", 3, "/x(", false, false, &out));
}

static void test_drl_peek(void **state)
{
    (void)state;
    gw_drl_t *d = gw_drl_new(0, 0);
    uint64_t now = 1000ull * 1000000000ull;
    gw_limit_result_t r;
    assert_false(gw_drl_peek(d, "k", "lu", now)); /* no bucket yet */
    assert_false(gw_drl_allow(d, "k", "lu", 2, 10, 100, now, &r));
    assert_false(gw_drl_peek(d, "k", "lu", now)); /* one token left */
    assert_false(gw_drl_allow(d, "k", "lu", 2, 10, 100, now, &r));
    assert_true(gw_drl_peek(d, "k", "lu", now + 1)); /* empty, window running */
    assert_int_equal(gw_drl_count(d), 1);            /* peeking creates nothing, takes nothing */
    assert_false(gw_drl_peek(d, "k", "other", now + 1));
    assert_false(gw_drl_peek(d, "k", "lu", now + 10ull * 1000000000ull)); /* window over */
    assert_false(gw_drl_allow(d, "k", "lu", 2, 10, 100, now + 10ull * 1000000000ull + 1, &r));
    gw_drl_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_path_regexp),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_drl_peek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
