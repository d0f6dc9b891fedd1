/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_ttlmap: expiry, replacement, the size bound, prefix deletion. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "tk_ttlmap.h"

static int freed;
static void count_free(void *v)
{
    freed++;
    free(v);
}

static void test_put_get_expire_replace(void **unused)
{
    TK_UNUSED(unused);
    freed = 0;
    tk_ttlmap_t *m = tk_ttlmap_new(100, count_free);
    tk_ttlmap_put(m, "a", tk_xstrdup("one"), 1000);
    assert_string_equal(tk_ttlmap_get(m, "a", 999), "one");
    assert_null(tk_ttlmap_get(m, "a", 1000)); /* expired: dropped */
    assert_int_equal(freed, 1);
    tk_ttlmap_put(m, "b", tk_xstrdup("x"), 5000);
    tk_ttlmap_put(m, "b", tk_xstrdup("y"), 5000);
    assert_int_equal(freed, 2);
    assert_string_equal(tk_ttlmap_get(m, "b", 10), "y");
    assert_true(tk_ttlmap_del(m, "b"));
    assert_false(tk_ttlmap_del(m, "b"));
    assert_int_equal(tk_ttlmap_count(m), 0);
    tk_ttlmap_free(m);
}

static void test_bounded(void **unused)
{
    TK_UNUSED(unused);
    freed = 0;
    tk_ttlmap_t *m = tk_ttlmap_new(50, count_free);
    uint64_t far = tk_now_ms() + 100000;
    char key[32];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        tk_ttlmap_put(m, key, tk_xstrdup(key), far + (uint64_t)i);
    }
    assert_true(tk_ttlmap_count(m) <= 50);
    assert_int_equal(freed, 500 - (int)tk_ttlmap_count(m));
    assert_non_null(tk_ttlmap_get(m, "k499", tk_now_ms())); /* the newest survives */
    tk_ttlmap_free(m);
    assert_int_equal(freed, 500);
}

static void test_prefix_delete(void **unused)
{
    TK_UNUSED(unused);
    tk_ttlmap_t *m = tk_ttlmap_new(100, free);
    tk_ttlmap_put(m, "abc:1", tk_xstrdup("1"), UINT64_MAX);
    tk_ttlmap_put(m, "abc:2", tk_xstrdup("2"), UINT64_MAX);
    tk_ttlmap_put(m, "abd:3", tk_xstrdup("3"), UINT64_MAX);
    assert_int_equal(tk_ttlmap_del_prefix(m, "abc"), 2);
    assert_int_equal(tk_ttlmap_count(m), 1);
    tk_ttlmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_expire_replace),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_prefix_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
