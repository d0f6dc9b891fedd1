/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the per-request arena: alignment, large blocks, cleanups, the hard cap. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_arena.h"

static void test_alignment_and_reuse(void **state)
{
    (void)state;
    tk_arena_t *a = tk_arena_new(4096, 0);
    for (int i = 1; i < 200; i++) {
        char *p = tk_arena_alloc(a, (size_t)i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)i);
    }
    size_t grown = tk_arena_footprint(a);
    assert_true(grown > 4096);
    tk_arena_reset(a);
    assert_true(tk_arena_footprint(a) < grown);
    assert_non_null(tk_arena_alloc(a, 100));
    tk_arena_free(a);
}

static void test_large_allocations(void **state)
{
    (void)state;
    tk_arena_t *a = tk_arena_new(4096, 0);
    char *big = tk_arena_alloc(a, 100000);
    assert_non_null(big);
    memset(big, 1, 100000);
    char *s = tk_arena_strdup(a, "hello");
    assert_string_equal(s, "hello");
    char *f = tk_arena_printf(a, "%d-%s", 42, "x");
    assert_string_equal(f, "42-x");
    tk_arena_free(a);
}

static int cleaned[3];
static int clean_order;
static void on_clean(void *p)
{
    cleaned[clean_order++] = *(int *)p;
}

static void test_cleanups_run_in_reverse(void **state)
{
    (void)state;
    static int v[3] = {1, 2, 3};
    clean_order = 0;
    tk_arena_t *a = tk_arena_new(1024, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tk_arena_cleanup(a, on_clean, &v[i]), TK_OK);
    tk_arena_reset(a);
    assert_int_equal(clean_order, 3);
    assert_int_equal(cleaned[0], 3);
    assert_int_equal(cleaned[2], 1);
    tk_arena_free(a);
    assert_int_equal(clean_order, 3); /* nothing ran twice */
}

static void test_hard_cap(void **state)
{
    (void)state;
    tk_arena_t *a = tk_arena_new(1024, 16384);
    int got = 0;
    while (tk_arena_alloc(a, 512))
        got++;
    assert_true(got > 4);
    assert_true(tk_arena_footprint(a) <= 16384);
    assert_null(tk_arena_alloc(a, 100000));
    tk_arena_reset(a);
    assert_non_null(tk_arena_alloc(a, 512));
    tk_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_reuse),
        cmocka_unit_test(test_large_allocations),
        cmocka_unit_test(test_cleanups_run_in_reverse),
        cmocka_unit_test(test_hard_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
