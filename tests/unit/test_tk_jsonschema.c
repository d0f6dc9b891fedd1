/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the draft-4 JSON Schema validator: keywords, gojsonschema's exact wording, $ref.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_jsonschema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return v;
}

static tk_jsonschema_t *compile_ok(const char *schema_text)
{
    json_t *schema = parse(schema_text);
    char err[512];
    tk_jsonschema_t *s = tk_jsonschema_compile(schema, err, sizeof(err));
    json_decref(schema);
    if (!s)
        fail_msg("schema %s refused: %s", schema_text, err);
    return s;
}

/* Validates @doc_text against @schema_text and compares Tyk's joined message ("" = valid). */
static void expect(const char *schema_text, const char *doc_text, const char *want)
{
    tk_jsonschema_t *s = compile_ok(schema_text);
    json_t *doc = parse(doc_text);
    tk_jsonschema_result_t res = {0};
    bool ok = tk_jsonschema_validate(s, doc, &res);
    char *got = tk_jsonschema_result_join(&res, "; ");
    if (strcmp(got, want) != 0 || ok != (want[0] == '\0'))
        fail_msg("schema %s\n doc %s\n want [%s]\n  got [%s] (valid=%d)", schema_text, doc_text,
                 want, got, ok);
    free(got);
    tk_jsonschema_result_clear(&res);
    json_decref(doc);
    tk_jsonschema_free(s);
}

static void expect_compile_error(const char *schema_text, const char *want_substring)
{
    json_t *schema = parse(schema_text);
    char err[512];
    tk_jsonschema_t *s = tk_jsonschema_compile(schema, err, sizeof(err));
    json_decref(schema);
    if (s) {
        tk_jsonschema_free(s);
        fail_msg("schema %s was accepted", schema_text);
    }
    if (!strstr(err, want_substring))
        fail_msg("schema %s: error [%s] lacks [%s]", schema_text, err, want_substring);
}

/* The schema and cases of Tyk's own validate_json test. */
static const char person[] =
    "{\"title\":\"Person\",\"type\":\"object\",\"properties\":{"
    "\"firstName\":{\"type\":\"string\"},\"lastName\":{\"type\":\"string\"},"
    "\"age\":{\"description\":\"Age in years\",\"type\":\"integer\",\"minimum\":0},"
    "\"objs\":{\"enum\":[\"a\",\"b\",\"c\"],\"type\":\"string\"}},"
    "\"required\":[\"firstName\",\"lastName\"]}";

static void test_tyk_person(void **state)
{
    (void)state;
    expect(person, "{\"age\":23}",
           "firstName: firstName is required; lastName: lastName is required");
    expect(person, "[]", "(root): Invalid type. Expected: object, given: array");
    expect(person, "{\"age\":23,\"firstName\":\"Harry\",\"lastName\":\"Potter\"}", "");
    expect(person, "{\"age\":23,\"firstName\":\"Harry\",\"lastName\":\"Potter\",\"objs\":\"d\"}",
           "objs: objs must be one of the following: \"a\", \"b\", \"c\"");
    expect(person, "{\"age\":-1,\"firstName\":\"H\",\"lastName\":\"P\"}",
           "age: Must be greater than or equal to 0");
    expect(person, "{\"age\":\"x\",\"firstName\":\"H\",\"lastName\":\"P\"}",
           "age: Invalid type. Expected: integer, given: string");
}

static void test_types(void **state)
{
    (void)state;
    const char *integer = "{\"type\":\"integer\"}";
    expect(integer, "1", "");
    expect(integer, "1.0", "");
    expect(integer, "1.5", "(root): Invalid type. Expected: integer, given: number");
    expect(integer, "true", "(root): Invalid type. Expected: integer, given: boolean");
    expect(integer, "null", "(root): Invalid type. Expected: integer, given: null");
    expect("{\"type\":\"number\"}", "3", "");
    expect("{\"type\":\"number\"}", "\"3\"",
           "(root): Invalid type. Expected: number, given: string");
    expect("{\"type\":\"string\"}", "2", "(root): Invalid type. Expected: string, given: integer");
    const char *multi = "{\"type\":[\"string\",\"null\"]}";
    expect(multi, "null", "");
    expect(multi, "\"x\"", "");
    expect(multi, "7", "(root): Invalid type. Expected: [string,null], given: integer");
    expect("{\"type\":[\"object\"]}", "1",
           "(root): Invalid type. Expected: object, given: integer");
    expect("{}", "{\"anything\":[1,2,{}]}", "");
    /* id and $schema do not get in the way */
    expect("{\"$schema\":\"http://json-schema.org/draft-04/"
           "schema#\",\"id\":\"x\",\"type\":\"boolean\"}",
           "false", "");
}

static void test_nested_paths(void **state)
{
    (void)state;
    const char *schema = "{\"properties\":{\"address\":{\"type\":\"object\",\"required\":[\"zip\"],"
                         "\"properties\":{\"city\":{\"type\":\"string\"}}},"
                         "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}";
    /* required is checked before the members are descended into; its field is the name only */
    expect(schema, "{\"address\":{\"city\":5}}",
           "zip: zip is required; address.city: Invalid type. Expected: string, given: integer");
    expect(schema, "{\"tags\":[\"a\",1,\"c\",false]}",
           "tags.1: Invalid type. Expected: string, given: integer; "
           "tags.3: Invalid type. Expected: string, given: boolean");
    expect(schema, "{\"address\":{\"zip\":1,\"city\":\"x\"},\"tags\":[]}", "");
}

static void test_arrays(void **state)
{
    (void)state;
    const char *tuple = "{\"items\":[{\"type\":\"integer\"},{\"type\":\"string\"}],"
                        "\"additionalItems\":false}";
    expect(tuple, "[1,\"a\"]", "");
    expect(tuple, "[1]", "");
    expect(tuple, "[1,\"a\",true]", "(root): No additional items allowed on array");
    expect(tuple, "[\"a\",1]",
           "0: Invalid type. Expected: integer, given: string; "
           "1: Invalid type. Expected: string, given: integer");
    const char *extra = "{\"items\":[{}],\"additionalItems\":{\"type\":\"integer\"}}";
    expect(extra, "[\"x\",1,2]", "");
    expect(extra, "[\"x\",1,\"y\"]", "2: Invalid type. Expected: integer, given: string");
    /* additionalItems means nothing without the array form of items */
    expect("{\"additionalItems\":false}", "[1,2]", "");
    expect("{\"minItems\":2,\"maxItems\":3}", "[1]", "(root): Array must have at least 2 items");
    expect("{\"minItems\":2,\"maxItems\":3}", "[1,2,3,4]",
           "(root): Array must have at most 3 items");
    expect("{\"uniqueItems\":true}", "[1,2,3]", "");
    expect("{\"uniqueItems\":true}", "[1,2,1.0]", "(root): array items must be unique");
    expect("{\"uniqueItems\":true}", "[{\"a\":[1]},{\"a\":[1]}]",
           "(root): array items must be unique");
    expect("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1},\"x\",\"x\"]",
           "(root): array items must be unique; (root): array items must be unique");
}

static void test_objects(void **state)
{
    (void)state;
    const char *closed =
        "{\"properties\":{\"a\":{}},\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
        "\"additionalProperties\":false}";
    expect(closed, "{\"a\":1,\"x-id\":\"ok\"}", "");
    expect(closed, "{\"a\":1,\"b\":2}", "b: Additional property b is not allowed");
    expect(closed, "{\"x-id\":3}", "x-id: Invalid type. Expected: string, given: integer");
    /* additionalProperties schemas report at the object's position, as gojsonschema does */
    expect("{\"properties\":{\"o\":{\"additionalProperties\":{\"type\":\"string\"}}}}",
           "{\"o\":{\"k\":1}}", "o: Invalid type. Expected: string, given: integer");
    expect("{\"minProperties\":2}", "{\"a\":1}", "(root): Must have at least 2 properties");
    expect("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "(root): Must have at most 1 properties");
    expect("{\"required\":[\"a\"]}", "[]", ""); /* object keywords ignore other types */
    const char *deps = "{\"dependencies\":{\"card\":[\"billing\",\"name\"],"
                       "\"bonus\":{\"required\":[\"level\"]}}}";
    expect(deps, "{\"card\":1,\"billing\":2,\"name\":3}", "");
    expect(deps, "{\"card\":1}",
           "(root): Has a dependency on billing; (root): Has a dependency on name");
    expect(deps, "{\"bonus\":1}", "level: level is required");
    expect(deps, "{\"other\":1}", "");
}

static void test_strings(void **state)
{
    (void)state;
    /* lengths count code points, not bytes */
    expect("{\"maxLength\":5}", "\"h\\u00e9llo\"", "");
    expect("{\"maxLength\":5}", "\"h\\u00e9llo!\"",
           "(root): String length must be less than or equal to 5");
    expect("{\"minLength\":3}", "\"\\u00e9\\u00e9\"",
           "(root): String length must be greater than or equal to 3");
    expect("{\"minLength\":3}", "12", "");
    expect("{\"pattern\":\"^[a-z]+$\"}", "\"ABC\"", "(root): Does not match pattern '^[a-z]+$'");
    expect("{\"pattern\":\"b\"}", "\"abc\"", ""); /* unanchored, like Go's MatchString */
    expect("{\"pattern\":\"^\\\\d{3}$\"}", "\"123\"", "");
}

static void fmt_case(const char *fmt, const char *value, bool ok)
{
    char schema[128], doc[256], want[160];
    snprintf(schema, sizeof(schema), "{\"format\":\"%s\"}", fmt);
    snprintf(doc, sizeof(doc), "\"%s\"", value);
    snprintf(want, sizeof(want), "(root): Does not match format '%s'", fmt);
    expect(schema, doc, ok ? "" : want);
}

static void test_formats(void **state)
{
    (void)state;
    fmt_case("email", "a@b.com", true);
    fmt_case("email", "first.last+tag@sub.example.org", true);
    fmt_case("email", "John Doe <john@example.com>", true);
    fmt_case("email", "nope", false);
    fmt_case("email", "a@", false);
    fmt_case("email", "a..b@c.com", false);
    fmt_case("date-time", "2020-01-02T03:04:05Z", true);
    fmt_case("date-time", "2020-01-02T03:04:05.123+01:00", true);
    fmt_case("date-time", "2024-02-29T00:00:00Z", true);
    fmt_case("date-time", "2023-02-29T00:00:00Z", false);
    fmt_case("date-time", "2020-01-02 03:04:05Z", false);
    fmt_case("date-time", "2020-01-02T25:04:05Z", false);
    fmt_case("date-time", "yesterday", false);
    fmt_case("ipv4", "192.168.0.1", true);
    fmt_case("ipv4", "1.2.3", false);
    fmt_case("ipv4", "256.1.1.1", false);
    fmt_case("ipv4", "::1", false);
    fmt_case("ipv6", "::1", true);
    fmt_case("ipv6", "2001:db8::8a2e:370:7334", true);
    fmt_case("ipv6", "1.2.3.4", false);
    fmt_case("ipv6", "2001:db8:::1", false);
    fmt_case("uri", "http://example.com/a?b=1#c", true);
    fmt_case("uri", "urn:isbn:0451450523", true);
    fmt_case("uri", "/relative/path", false);
    fmt_case("uri", "http://example.com:port/", false);
    fmt_case("uri", "http://exa mple.com/", false);
    fmt_case("uri", "http://x/%zz", false);
    fmt_case("hostname", "api-1.example.com", true);
    fmt_case("hostname", "-bad.example.com", false);
    fmt_case("hostname", "a..b", false);
    fmt_case("hostname", "under_score.com", false);
    fmt_case("uuid", "123e4567-e89b-12d3-a456-426614174000", true);
    fmt_case("uuid", "123e4567e89b12d3a456426614174000", false);
    /* unknown formats are ignored; formats do not apply to other types */
    expect("{\"format\":\"color\"}", "\"anything\"", "");
    expect("{\"format\":\"email\"}", "42", "");
}

static void test_numbers(void **state)
{
    (void)state;
    expect("{\"minimum\":0,\"exclusiveMinimum\":true}", "0", "(root): Must be greater than 0");
    expect("{\"minimum\":0,\"exclusiveMinimum\":true}", "0.5", "");
    expect("{\"maximum\":10,\"exclusiveMaximum\":true}", "10", "(root): Must be less than 10");
    expect("{\"maximum\":10}", "10", "");
    expect("{\"maximum\":1.5}", "2", "(root): Must be less than or equal to 1.5");
    /* numbers print as Go's fmt prints a float64 */
    expect("{\"maximum\":1000000}", "2000000", "(root): Must be less than or equal to 1e+06");
    expect("{\"minimum\":0.0001}", "0", "(root): Must be greater than or equal to 0.0001");
    expect("{\"minimum\":123456}", "1", "(root): Must be greater than or equal to 123456");
    expect("{\"multipleOf\":0.1}", "0.3", "");
    expect("{\"multipleOf\":0.1}", "0.35", "(root): Must be a multiple of 0.1");
    expect("{\"multipleOf\":3}", "7", "(root): Must be a multiple of 3");
    expect("{\"multipleOf\":3}", "-9", "");
    expect("{\"minimum\":5}", "\"3\"", "");
}

static void test_combinators(void **state)
{
    (void)state;
    expect("{\"allOf\":[{\"type\":\"string\"},{\"minLength\":3}]}", "\"ab\"",
           "(root): String length must be greater than or equal to 3; "
           "(root): Must validate all the schemas (allOf)");
    expect("{\"allOf\":[{\"type\":\"string\"},{\"minLength\":3}]}", "\"abc\"", "");
    const char *any = "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}";
    expect(any, "3", "");
    expect(any, "true",
           "(root): Must validate at least one schema (anyOf); "
           "(root): Invalid type. Expected: string, given: boolean");
    /* the closest branch's errors are the ones shown */
    expect("{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"object\",\"required\":[\"a\",\"b\"],"
           "\"properties\":{\"b\":{\"type\":\"string\"}}}]}",
           "{\"a\":1,\"b\":2}",
           "(root): Must validate at least one schema (anyOf); "
           "b: Invalid type. Expected: string, given: integer");
    const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}";
    expect(one, "-1", "");
    expect(one, "5", "(root): Must validate one and only one schema (oneOf)");
    expect(one, "-1.5",
           "(root): Must validate one and only one schema (oneOf); "
           "(root): Must be greater than or equal to 0");
    expect("{\"not\":{\"type\":\"string\"}}", "\"x\"",
           "(root): Must not validate the schema (not)");
    expect("{\"not\":{\"type\":\"string\"}}", "1", "");
}

static void test_enum_const(void **state)
{
    (void)state;
    const char *e = "{\"enum\":[1,\"x\",{\"a\":\"<\",\"0\":null},[true],0.5]}";
    expect(e, "1.0", "");
    expect(e, "{\"0\":null,\"a\":\"<\"}", "");
    expect(e, "[true]", "");
    expect(e, "2",
           "(root): (root) must be one of the following: 1, \"x\", {\"0\":null,\"a\":\"\\u003c\"}, "
           "[true], 0.5");
    expect("{\"properties\":{\"k\":{\"const\":\"v\"}}}", "{\"k\":\"w\"}",
           "k: k does not match: \"v\"");
    expect("{\"const\":{\"a\":[1,2]}}", "{\"a\":[1,2]}", "");
}

static void test_refs(void **state)
{
    (void)state;
    const char *esc =
        "{\"definitions\":{\"a/b\":{\"type\":\"integer\"},\"t~n\":{\"type\":\"string\"},"
        "\"sp ace\":{\"minimum\":3}},"
        "\"properties\":{\"x\":{\"$ref\":\"#/definitions/a~1b\"},"
        "\"y\":{\"$ref\":\"#/definitions/t~0n\"},"
        "\"z\":{\"$ref\":\"#/definitions/sp%20ace\"}}}";
    expect(esc, "{\"x\":1,\"y\":\"s\",\"z\":4}", "");
    expect(esc, "{\"x\":\"s\",\"y\":1,\"z\":1}",
           "x: Invalid type. Expected: integer, given: string; "
           "y: Invalid type. Expected: string, given: integer; "
           "z: Must be greater than or equal to 3");
    /* siblings of $ref are ignored (draft 4) */
    expect("{\"definitions\":{\"i\":{\"type\":\"integer\"}},\"properties\":{\"v\":{\"$ref\":"
           "\"#/definitions/i\",\"minimum\":100}}}",
           "{\"v\":5}", "");
    /* a ref to a ref, and into an items array */
    expect("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/"
           "b\"},\"b\":{\"items\":[{\"type\":\"null\"}]}},"
           "\"properties\":{\"p\":{\"$ref\":\"#/definitions/a\"},\"q\":{\"$ref\":\"#/definitions/b/"
           "items/0\"}}}",
           "{\"p\":[1],\"q\":2}",
           "p.0: Invalid type. Expected: null, given: integer; "
           "q: Invalid type. Expected: null, given: integer");
    /* recursive schema: a tree of named nodes */
    const char *tree = "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{"
                       "\"name\":{\"type\":\"string\"},"
                       "\"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}}}";
    expect(tree, "{\"name\":\"r\",\"children\":[{\"name\":\"a\",\"children\":[{\"name\":\"b\"}]}]}",
           "");
    expect(tree, "{\"name\":\"r\",\"children\":[{\"name\":\"a\",\"children\":[{\"name\":7},{}]}]}",
           "children.0.children.0.name: Invalid type. Expected: string, given: integer; "
           "name: name is required");
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_compile_error("{\"properties\":{\"age\":{\"minimum\":\"x\"}}}",
                         "#/properties/age/minimum: minimum must be a number");
    expect_compile_error("{\"type\":\"strin\"}", "#/type: type has an invalid value \"strin\"");
    expect_compile_error("{\"type\":[\"string\",\"string\"]}", "#/type: type string is duplicated");
    expect_compile_error("{\"pattern\":\"(\"}", "#/pattern: invalid regular expression '('");
    expect_compile_error("{\"patternProperties\":{\"[\":{}}}",
                         "#/patternProperties/[: invalid regular");
    expect_compile_error("{\"required\":\"a\"}",
                         "#/required: required must be an array of strings");
    expect_compile_error("{\"required\":[\"a\",\"a\"]}", "required items must be unique");
    expect_compile_error("{\"minLength\":-1}",
                         "#/minLength: minLength must be a non-negative integer");
    expect_compile_error("{\"maxItems\":1.5}",
                         "#/maxItems: maxItems must be a non-negative integer");
    expect_compile_error("{\"multipleOf\":0}",
                         "#/multipleOf: multipleOf must be strictly greater than 0");
    expect_compile_error("{\"exclusiveMinimum\":true}",
                         "exclusiveMinimum cannot be used without minimum");
    expect_compile_error("{\"enum\":[]}", "#/enum: enum must be a non-empty array");
    expect_compile_error("{\"enum\":[1,1.0]}", "#/enum: enum items must be unique");
    expect_compile_error("{\"allOf\":{}}", "#/allOf: allOf must be a non-empty array of schemas");
    expect_compile_error("{\"anyOf\":[{},3]}", "#/anyOf/1: a schema must be a JSON object");
    expect_compile_error("{\"items\":\"x\"}",
                         "#/items: items must be a schema or an array of schemas");
    expect_compile_error("{\"additionalProperties\":1}",
                         "additionalProperties must be a boolean or a schema");
    expect_compile_error("{\"dependencies\":{\"a\":5}}",
                         "#/dependencies/a: dependency must be a schema");
    expect_compile_error("{\"definitions\":{\"bad\":{\"maxLength\":\"3\"}}}",
                         "#/definitions/bad/maxLength: maxLength must be an integer");
    expect_compile_error("{\"$ref\":\"#/definitions/missing\"}", "$ref \"#/definitions/missing\"");
    expect_compile_error("{\"$ref\":\"http://example.com/s.json\"}", "cannot be resolved");
    expect_compile_error("{\"$ref\":5}", "#/$ref: $ref must be a string");
    expect_compile_error("[]", "#: a schema must be a JSON object");
    expect_compile_error("{\"minLength\":5,\"maxLength\":2}",
                         "minLength cannot be greater than maxLength");
    /* loops that would never consume the document */
    expect_compile_error("{\"$ref\":\"#\"}", "refers back to itself");
    expect_compile_error("{\"allOf\":[{\"$ref\":\"#\"}]}", "refers back to itself");
    expect_compile_error("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},"
                         "\"b\":{\"not\":{\"$ref\":\"#/definitions/a\"}}}}",
                         "refers back to itself");
    /* nesting deeper than the limit */
    char deep[8192];
    size_t len = 0;
    for (int i = 0; i < TK_JSONSCHEMA_MAX_SCHEMA_DEPTH + 2; i++)
        len += (size_t)snprintf(deep + len, sizeof(deep) - len, "{\"not\":");
    len += (size_t)snprintf(deep + len, sizeof(deep) - len, "{}");
    for (int i = 0; i < TK_JSONSCHEMA_MAX_SCHEMA_DEPTH + 2; i++)
        deep[len++] = '}';
    deep[len] = '\0';
    expect_compile_error(deep, "nested deeper than");
}

static void test_depth_guard(void **state)
{
    (void)state;
    /* A recursive schema against a very deep document stops with an error, not a crash. */
    tk_jsonschema_t *s = compile_ok("{\"properties\":{\"a\":{\"$ref\":\"#\"}}}");
    json_t *doc = json_object();
    for (int i = 0; i < TK_JSONSCHEMA_MAX_DEPTH + 50; i++) {
        json_t *outer = json_object();
        json_object_set_new(outer, "a", doc);
        doc = outer;
    }
    tk_jsonschema_result_t res = {0};
    assert_false(tk_jsonschema_validate(s, doc, &res));
    assert_int_equal(res.n, 1);
    assert_non_null(strstr(res.errors[0], "Internal Error document or schema nested deeper than"));
    tk_jsonschema_result_clear(&res);
    json_decref(doc);
    tk_jsonschema_free(s);
}

static void test_step_budget(void **state)
{
    (void)state;
    /* Both anyOf branches recurse and then fail: 2^depth visits without the budget. */
    tk_jsonschema_t *s = compile_ok("{\"anyOf\":[{\"items\":{\"$ref\":\"#\"},\"minItems\":2},"
                                    "{\"items\":{\"$ref\":\"#\"},\"maxItems\":0}]}");
    json_t *doc = json_array();
    for (int i = 0; i < 60; i++) {
        json_t *outer = json_array();
        json_array_append_new(outer, doc);
        doc = outer;
    }
    uint64_t t0 = tk_now_ms();
    tk_jsonschema_result_t res = {0};
    assert_false(tk_jsonschema_validate(s, doc, &res));
    assert_true(tk_now_ms() - t0 < 20000);
    assert_non_null(
        strstr(res.errors[res.n - 1], "(root): Internal Error validation needed more than"));
    tk_jsonschema_result_clear(&res);
    json_decref(doc);
    tk_jsonschema_free(s);
}

static void test_error_cap_and_reuse(void **state)
{
    (void)state;
    tk_jsonschema_t *s = compile_ok("{\"items\":{\"type\":\"string\"}}");
    json_t *doc = json_array();
    for (int i = 0; i < 200; i++)
        json_array_append_new(doc, json_integer(i));
    tk_jsonschema_result_t res = {0};
    assert_false(tk_jsonschema_validate(s, doc, &res));
    assert_int_equal(res.n, TK_JSONSCHEMA_MAX_ERRORS);
    assert_int_equal(res.dropped, 200 - TK_JSONSCHEMA_MAX_ERRORS);
    assert_string_equal(res.errors[0], "0: Invalid type. Expected: string, given: integer");
    tk_jsonschema_result_clear(&res);
    assert_int_equal(res.n, 0);
    /* the compiled schema is reusable, and a NULL result is fine */
    assert_false(tk_jsonschema_validate(s, doc, NULL));
    json_decref(doc);
    doc = parse("[\"a\"]");
    assert_true(tk_jsonschema_validate(s, doc, NULL));
    json_decref(doc);
    tk_jsonschema_free(s);
    tk_jsonschema_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tyk_person),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_nested_paths),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_combinators),
        cmocka_unit_test(test_enum_const),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_depth_guard),
        cmocka_unit_test(test_step_budget),
        cmocka_unit_test(test_error_cap_and_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
