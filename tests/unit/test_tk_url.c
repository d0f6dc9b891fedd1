/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_url_unescape: the cases Go's url.QueryUnescape / PathUnescape define. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_url.h"

#include <string.h>

static char *un(tk_arena_t *a, const char *s, bool plus, bool strict)
{
    return tk_url_unescape(a, s, strlen(s), plus, strict);
}

static void decodes_escapes_and_plus(void **state)
{
    (void)state;
    tk_arena_t *a = tk_arena_new(1024, 0);
    assert_string_equal(un(a, "a%3Db%2Fc", false, true), "a=b/c");
    assert_string_equal(un(a, "%41%62", false, true), "Ab");
    assert_string_equal(un(a, "%e2%82%ac", false, true), "\xe2\x82\xac");
    assert_string_equal(un(a, "a+b", true, true), "a b");
    assert_string_equal(un(a, "a+b", false, true), "a+b"); /* paths keep '+' */
    assert_string_equal(un(a, "", true, true), "");
    tk_arena_free(a);
}

static void malformed_escapes(void **state)
{
    (void)state;
    tk_arena_t *a = tk_arena_new(1024, 0);
    /* Go refuses these (strict); lenient callers keep them as they are */
    static const char *const bad[] = {"%", "%4", "%zz", "a%2", "%G1", "ok%"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(un(a, bad[i], true, true));
        assert_string_equal(un(a, bad[i], false, false), bad[i]);
    }
    assert_string_equal(un(a, "%zz%41", false, false), "%zzA");
    tk_arena_free(a);
}

static void embedded_nul_and_length(void **state)
{
    (void)state;
    tk_arena_t *a = tk_arena_new(1024, 0);
    /* only @n bytes are read */
    assert_string_equal(tk_url_unescape(a, "%41%42%43", 6, false, true), "AB");
    char *z = tk_url_unescape(a, "x%00y", 5, false, true);
    assert_non_null(z);
    assert_int_equal(z[0], 'x');
    assert_int_equal(z[1], '\0');
    assert_int_equal(z[2], 'y');
    tk_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_escapes_and_plus),
        cmocka_unit_test(malformed_escapes),
        cmocka_unit_test(embedded_nul_and_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
