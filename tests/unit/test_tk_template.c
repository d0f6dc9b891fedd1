/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_template: Go text/template semantics, sprig and Tyk functions, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_template.h"

#include <stdio.h>
#include <stdlib.h>

/*
 * Expected strings are what Go's text/template prints for the same template over the same
 * data decoded by encoding/json into map[string]interface{} (numbers become float64), as Tyk's
 * transform middleware does. They follow documented Go behaviour: fmt's %v rules (shortest
 * float, "%e" from exponent 6 on, sorted map keys, "map[k:v]"), "<no value>" for missing keys,
 * encoding/json's HTML escaping, sprig's argument order.
 */
static const char *DOC =
    "{\"name\":\"Ada\",\"n\":3,\"big\":1000000,\"pi\":3.14,\"neg\":-2.5,\"t\":true,\"f\":false,"
    "\"z\":0,\"empty\":\"\",\"nul\":null,\"list\":[1,2,3],\"strs\":[\"a\",\"b\",\"c\"],"
    "\"obj\":{\"b\":2,\"a\":\"x\"},\"nested\":{\"inner\":{\"deep\":\"yes\"}},"
    "\"users\":[{\"name\":\"x\",\"age\":30},{\"name\":\"y\",\"age\":40}],\"html\":\"<a&b>\","
    "\"none\":[],\"emap\":{},\"-attr\":\"dash\",\"sp\":\"  hi  \"}";

static json_t *doc(void)
{
    json_error_t e;
    json_t *d = json_loads(DOC, JSON_DECODE_INT_AS_REAL, &e);
    assert_non_null(d);
    return d;
}

/* Runs @src over DOC; returns the malloc'd output, or NULL (with @err) when execution failed. */
static char *run_err(const char *src, char *err, size_t errlen)
{
    tk_tmpl_t *t = tk_tmpl_compile(src, strlen(src), err, errlen);
    if (!t) {
        fail_msg("compile failed for %s: %s", src, err);
        return NULL;
    }
    json_t *d = doc();
    char *out = NULL;
    size_t n = 0;
    int rc = tk_tmpl_exec(t, d, NULL, &out, &n, err, errlen);
    json_decref(d);
    tk_tmpl_free(t);
    assert_int_equal(strlen(out), n);
    if (rc != TK_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static void expect(const char *src, const char *want)
{
    char err[512];
    char *out = run_err(src, err, sizeof(err));
    if (!out)
        fail_msg("exec failed for %s: %s", src, err);
    if (strcmp(out, want) != 0)
        fail_msg("template %s\n   got: [%s]\n  want: [%s]", src, out, want);
    free(out);
}

static void expect_exec_error(const char *src, const char *needle)
{
    char err[512];
    char *out = run_err(src, err, sizeof(err));
    if (out)
        fail_msg("template %s should fail, printed [%s]", src, out);
    if (!strstr(err, needle))
        fail_msg("template %s: error [%s] lacks [%s]", src, err, needle);
}

static void expect_compile_error(const char *src, const char *needle)
{
    char err[512];
    tk_tmpl_t *t = tk_tmpl_compile(src, strlen(src), err, sizeof(err));
    if (t) {
        tk_tmpl_free(t);
        fail_msg("template %s should not compile", src);
    }
    if (!strstr(err, needle))
        fail_msg("template %s: error [%s] lacks [%s]", src, err, needle);
}

static void test_fields_and_printing(void **state)
{
    (void)state;
    expect("hello", "hello");
    expect("", "");
    expect("{{.name}}", "Ada");
    expect("{{ .name }}", "Ada");
    expect("{{.n}}", "3");
    expect("{{.big}}", "1e+06");
    expect("{{.pi}}", "3.14");
    expect("{{.neg}}", "-2.5");
    expect("{{.t}} {{.f}}", "true false");
    expect("{{.missing}}", "<no value>");
    expect("{{.nul}}", "<no value>");
    expect("{{.missing.deeper}}", "<no value>");
    expect("{{.nested.inner.deep}}", "yes");
    expect("{{.list}}", "[1 2 3]");
    expect("{{.strs}}", "[a b c]");
    expect("{{.obj}}", "map[a:x b:2]");
    expect("{{.none}} {{.emap}}", "[] map[]");
    expect("{{.users}}", "[map[age:30 name:x] map[age:40 name:y]]");
    expect("{{.html}}", "<a&b>");
    expect("{{index . \"-attr\"}}", "dash");
    expect("{{\"quoted\\n\\t\\\"x\\\"\"}}", "quoted\n\t\"x\"");
    expect("{{`raw\\n`}}", "raw\\n");
    expect("{{1}} {{1.5}} {{1e3}} {{0x10}} {{'a'}} {{-7}}", "1 1.5 1000 16 97 -7");
    expect("{{true}} {{false}}", "true false");
    expect("{{print nil}}", "<nil>");
    expect("{{.}}",
           "map[-attr:dash big:1e+06 emap:map[] empty: f:false html:<a&b> list:[1 2 3] n:3 "
           "name:Ada neg:-2.5 nested:map[inner:map[deep:yes]] none:[] nul:<nil> obj:map[a:x "
           "b:2] pi:3.14 sp:  hi   strs:[a b c] t:true users:[map[age:30 name:x] map[age:40 "
           "name:y]] z:0]");
}

static void test_floats_like_go(void **state)
{
    (void)state;
    const char *src = "{{.a}}|{{.b}}|{{.c}}|{{.d}}|{{.e}}|{{.f}}|{{.g}}|{{.h}}";
    tk_tmpl_t *t = tk_tmpl_compile(src, strlen(src), NULL, 0);
    assert_non_null(t);
    json_t *d = json_loads("{\"a\":123456,\"b\":1234567,\"c\":0.0001,\"d\":0.00001,"
                           "\"e\":100000,\"f\":1e21,\"g\":0.1,\"h\":123456789}",
                           JSON_DECODE_INT_AS_REAL, NULL);
    char *out;
    assert_int_equal(tk_tmpl_exec(t, d, NULL, &out, NULL, NULL, 0), TK_OK);
    assert_string_equal(out, "123456|1.234567e+06|0.0001|1e-05|100000|1e+21|0.1|1.23456789e+08");
    free(out);
    json_decref(d);
    tk_tmpl_free(t);
}

static void test_whitespace_and_comments(void **state)
{
    (void)state;
    expect("a  {{- .name -}}  b", "aAdab");
    expect("a {{- /* gone */ -}} b", "ab");
    expect("a{{/* comment */}}b", "ab");
    expect("x\n{{- .n }}\n", "x3\n");
    expect("{{- .n}}", "3");
    expect("{{-3}}", "-3");
    expect("{{ 3 -}}\n\n  x", "3x");
}

static void test_if_else(void **state)
{
    (void)state;
    expect("{{if .t}}yes{{end}}", "yes");
    expect("{{if .f}}yes{{else}}no{{end}}", "no");
    expect("{{if .missing}}yes{{else}}no{{end}}", "no");
    expect("{{if .z}}a{{else if .empty}}b{{else if .list}}c{{else}}d{{end}}", "c");
    expect("{{if .none}}a{{else if .emap}}b{{else}}d{{end}}", "d");
    expect("{{if .nul}}a{{else}}b{{end}}", "b");
    expect("{{if and .t .n}}both{{end}}", "both");
    expect("{{and .t .n}} {{and .f .n}} {{or .z .name}} {{or .z .empty}}", "3 false Ada ");
    expect("{{not .t}} {{not .z}} {{not .missing}}", "false true true");
    /* and/or short-circuit: the failing index is never evaluated */
    expect("{{if and .f (index .list 99)}}x{{else}}y{{end}}", "y");
    expect("{{if or .t (index .list 99)}}x{{end}}", "x");
}

static void test_with(void **state)
{
    (void)state;
    expect("{{with .nested.inner}}{{.deep}}{{end}}", "yes");
    expect("{{with .missing}}x{{else}}none{{end}}", "none");
    expect("{{with $x := .name}}{{$x}}-{{.}}{{end}}", "Ada-Ada");
    expect("{{with .empty}}x{{else with .name}}{{.}}{{end}}", "Ada");
}

static void test_range(void **state)
{
    (void)state;
    expect("{{range .list}}[{{.}}]{{end}}", "[1][2][3]");
    expect("{{range $i, $e := .strs}}{{$i}}={{$e}},{{end}}", "0=a,1=b,2=c,");
    expect("{{range $e := .strs}}{{$e}}{{end}}", "abc");
    expect("{{range .none}}x{{else}}empty{{end}}", "empty");
    expect("{{range .missing}}x{{else}}nothing{{end}}", "nothing");
    expect("{{range $k, $v := .obj}}{{$k}}:{{$v}};{{end}}", "a:x;b:2;");
    expect("{{range .users}}{{.name}}({{.age}}) {{end}}", "x(30) y(40) ");
    expect("{{range $i, $u := .users}}{{if $i}},{{end}}{{$u.name}}{{end}}", "x,y");
    expect("{{range .list}}{{if eq . 2.0}}{{break}}{{end}}{{.}}{{end}}", "1");
    expect("{{range .list}}{{if eq . 2.0}}{{continue}}{{end}}{{.}}{{end}}", "13");
    expect("{{range 3}}{{.}}{{end}}", "012");
    expect("{{range $x := .list}}{{$x}}{{end}}{{$}}" /* $ still the root */,
           "123map[-attr:dash big:1e+06 emap:map[] empty: f:false html:<a&b> list:[1 2 3] n:3 "
           "name:Ada neg:-2.5 nested:map[inner:map[deep:yes]] none:[] nul:<nil> obj:map[a:x "
           "b:2] pi:3.14 sp:  hi   strs:[a b c] t:true users:[map[age:30 name:x] map[age:40 "
           "name:y]] z:0]");
    /* Tyk's own test: a JSON array body arrives as .array */
    expect("{{range $x, $s := .strs}}\"{{$s}}\"{{if not $x}}, {{end}}{{end}}", "\"a\", \"b\"\"c\"");
}

static void test_variables(void **state)
{
    (void)state;
    expect("{{$x := .name}}{{$x}}", "Ada");
    expect("{{$x := 1}}{{$x = 2}}{{$x}}", "2");
    expect("{{$x := 1}}{{if .t}}{{$x = 5}}{{end}}{{$x}}", "5");
    expect("{{$x := .nested}}{{$x.inner.deep}}", "yes");
    expect("{{$.name}}", "Ada");
    expect("{{range .users}}{{$.name}}{{end}}", "AdaAda");
    expect("{{(.nested).inner.deep}}", "yes");
    expect("{{(index .users 1).name}}", "y");
}

static void test_pipelines_and_builtins(void **state)
{
    (void)state;
    expect("{{.name | printf \"%s!\"}}", "Ada!");
    expect("{{.name | len}}", "3");
    expect("{{len .list}} {{len .obj}} {{len \"héllo\"}}", "3 2 6");
    expect("{{index .list 1}} {{index .users 1 \"name\"}} {{index .obj \"b\"}}", "2 y 2");
    expect("{{index .obj \"zz\"}}", "<no value>");
    expect("{{slice .strs 1}} {{slice .strs 1 2}} {{slice .name 1 3}}", "[b c] [b] da");
    expect("{{print 1 2}} {{print \"a\" \"b\"}} {{print \"a\" 1 2 \"b\"}}", "1 2 ab a1 2b");
    expect("{{println 1 \"a\"}}", "1 a\n");
    expect("{{print .missing}}", "<nil>");
    expect("{{html .html}} {{js \"a'b\\\"<\"}} {{urlquery \"a b&c/d\"}}",
           "&lt;a&amp;b&gt; a\\'b\\\"\\u003C a+b%26c%2Fd");
    expect("{{html \"'\\\"\"}}", "&#39;&#34;");
    expect("{{eq .name \"Ada\"}} {{eq .n 3.0}} {{ne .n 4.0}} {{eq 1 2 1}}", "true true true true");
    expect("{{lt 1 2}} {{le 2 2}} {{gt .pi 3.0}} {{ge \"b\" \"a\"}}", "true true true true");
    expect("{{eq .missing \"x\"}} {{eq .missing nil}}", "false true");
}

static void test_printf_verbs(void **state)
{
    (void)state;
    expect("{{printf \"%d|%5d|%-5d|%05d|%x|%X|%o|%b\" 42 42 42 42 255 255 8 5}}",
           "42|   42|42   |00042|ff|FF|10|101");
    expect("{{printf \"%v|%s|%q|%t\" .name .name .name .t}}", "Ada|Ada|\"Ada\"|true");
    expect("{{printf \"%.2f|%f|%e|%g|%v\" .pi .pi .big .big .pi}}",
           "3.14|3.140000|1.000000e+06|1e+06|3.14");
    expect("{{printf \"%d\" .n}}", "%!d(float64=3)");
    expect("{{printf \"%s\" 5}}", "%!s(int=5)");
    expect("{{printf \"%d %d\" 1}}", "1 %!d(MISSING)");
    expect("{{printf \"%d\" 1 2}}", "1%!(EXTRA int=2)");
    expect("{{printf \"%v %v\" .list .obj}}", "[1 2 3] map[a:x b:2]");
    expect("{{printf \"%%|%c|%8.3f|%-4s|\" 65 .pi \"ab\"}}", "%|A|   3.140|ab  |");
    expect("{{printf \"%x\" \"hi\"}}", "6869");
    expect("{{printf \"%q\" \"a\\nb\\\"\"}}", "\"a\\nb\\\"\"");
}

static void test_sprig_strings(void **state)
{
    (void)state;
    expect("{{upper .name}} {{lower .name}} {{.name | upper}}", "ADA ada ADA");
    expect("{{title \"hello big world\"}}", "Hello Big World");
    expect("[{{trim .sp}}]", "[hi]");
    expect("{{trimPrefix \"A\" .name}} {{trimSuffix \"a\" .name}} {{trimPrefix \"z\" .name}}",
           "da Ad Ada");
    expect("{{replace \"a\" \"o\" \"banana\"}}", "bonono");
    expect("{{contains \"da\" .name}} {{hasPrefix \"Ad\" .name}} {{hasSuffix \"x\" .name}}",
           "true true false");
    expect("{{repeat 3 \"ab\"}}", "ababab");
    expect("{{quote .name}} {{squote .name}} {{quote 1.5}}", "\"Ada\" 'Ada' \"1.5\"");
    expect("{{cat \"a\" 1 .t}}", "a 1 true");
    expect("{{join \",\" .strs}} {{join \"-\" .list}}", "a,b,c 1-2-3");
    expect("{{split \",\" \"a,b\"}}", "map[_0:a _1:b]");
    expect("{{(split \",\" \"a,b\")._1}}", "b");
    expect("{{splitList \",\" \"a,,b\"}}", "[a  b]");
    expect("{{b64enc \"hello\"}} {{b64dec \"aGVsbG8=\"}}", "aGVsbG8= hello");
    expect("{{substr 1 3 \"hello\"}} {{trunc 2 \"hello\"}} {{nospace \"a b c\"}}", "el he abc");
    expect("{{indent 2 \"a\\nb\"}}", "  a\n  b");
    expect("{{toString 1.5}}", "1.5");
}

static void test_sprig_values(void **state)
{
    (void)state;
    expect("{{default \"dflt\" .missing}} {{default \"dflt\" .name}} {{.empty | default \"e\"}}",
           "dflt Ada e");
    expect("{{empty .z}} {{empty .list}} {{empty .none}} {{empty .missing}}",
           "true false true true");
    expect("{{coalesce .missing .empty .name}}", "Ada");
    expect("{{ternary \"y\" \"n\" true}} {{ternary \"y\" \"n\" false}}", "y n");
    expect("{{list 1 \"a\" .t}}", "[1 a true]");
    expect("{{(dict \"k\" 1 \"j\" \"v\").k}} {{dict \"b\" 2 \"a\" 1}}", "1 map[a:1 b:2]");
    expect("{{hasKey .obj \"a\"}} {{hasKey .obj \"q\"}} {{get .obj \"a\"}}", "true false x");
    expect("{{first .strs}} {{last .strs}}", "a c");
    expect("{{add 1 2 3}} {{add .n 1}} {{sub 10 .n}} {{mul 2 3 4}} {{div 7 2}} {{mod 7 3}}",
           "6 4 7 24 3 1");
    expect("{{add1 .pi}} {{max 1 5 3}} {{min 4 2 8}} {{int .pi}} {{float64 \"2.5\"}}",
           "4 5 2 3 2.5");
    expect("{{typeOf .n}} {{typeOf 1}} {{typeOf .name}} {{typeOf .obj}} {{typeOf .list}}",
           "float64 int string map[string]interface {} []interface {}");
}

static void test_json_and_xml_marshal(void **state)
{
    (void)state;
    expect("{{jsonMarshal .obj}}", "{\"a\":\"x\",\"b\":2}");
    expect("{{.html | jsonMarshal}}", "\"\\u003ca\\u0026b\\u003e\"");
    expect("{{toRawJson .html}}", "\"<a&b>\"");
    expect("{{jsonMarshal .big}} {{jsonMarshal .list}} {{jsonMarshal .missing}}",
           "1000000 [1,2,3] null");
    expect("{{toJson .users}}", "[{\"age\":30,\"name\":\"x\"},{\"age\":40,\"name\":\"y\"}]");
    expect("{{toPrettyJson .obj}}", "{\n  \"a\": \"x\",\n  \"b\": 2\n}");
    expect("{{toPrettyJson .none}}{{toPrettyJson .emap}}", "[]{}");
    expect("{{jsonMarshal \"tab\\there\"}}", "\"tab\\there\"");
    /* Tyk's TestTransformXMLMarshal expectation */
    expect("{{xmlMarshal (dict \"brothers\" (dict \"name\" (list \"Furkan\" \"Ahmet\" "
           "\"Mohammad Ali\")))}}",
           "<brothers><name>Furkan</name><name>Ahmet</name><name>Mohammad Ali</name></brothers>");
    expect("{{xmlMarshal (dict \"a\" (dict \"-id\" \"7\" \"#text\" \"t<\"))}}",
           "<a id=\"7\">t&lt;</a>");
    expect("{{xmlMarshal .obj}}", "<doc><a>x</a><b>2</b></doc>");
}

static void test_define_template(void **state)
{
    (void)state;
    expect("{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" .name}}{{template \"T\" 1}}",
           "<Ada><1>");
    expect("{{block \"B\" .n}}[{{.}}]{{end}}", "[3]");
}

static void test_exec_errors(void **state)
{
    (void)state;
    expect_exec_error("{{index .list 5}}", "index out of range: 5");
    expect_exec_error("{{.nul.x}}", "nil pointer evaluating interface {}.x");
    expect_exec_error("{{.name.x}}", "can't evaluate field x");
    expect_exec_error("{{eq .n 3}}", "incompatible types for comparison");
    expect_exec_error("{{upper .n}}", "wrong type for value; expected string; got float64");
    expect_exec_error("{{upper .missing}}", "invalid value; expected string");
    expect_exec_error("{{len 3}}", "len of type int");
    expect_exec_error("{{range .name}}{{end}}", "range can't iterate over Ada");
    expect_exec_error("{{div 1 0}}", "integer divide by zero");
    expect_exec_error("{{template \"nope\"}}", "no such template");
    expect_exec_error("{{.obj.a 1}}", "is not a method but has arguments");
    expect_exec_error("{{printf}}", "wrong number of args for printf: want at least 1 got 0");
    expect_exec_error("{{not 1 2}}", "wrong number of args for not: want 1 got 2");
    expect_exec_error("{{1 | .name}}", "is not a method but has arguments");
    expect_exec_error("{{lt .t .f}}", "invalid type for comparison");
    /* the error names its position */
    expect_exec_error("ab\n  {{index .list 5}}", "2:5:");
}

static void test_partial_output_on_error(void **state)
{
    (void)state;
    const char *src = "before {{index .list 9}} after";
    tk_tmpl_t *t = tk_tmpl_compile(src, strlen(src), NULL, 0);
    json_t *d = doc();
    char *out = NULL;
    char err[256];
    assert_int_equal(tk_tmpl_exec(t, d, NULL, &out, NULL, err, sizeof(err)), TK_ERROR);
    assert_string_equal(out, "before ");
    free(out);
    json_decref(d);
    tk_tmpl_free(t);
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_compile_error("{{foo .x}}", "1:3: function \"foo\" not defined");
    expect_compile_error("{{if .t}}x", "unexpected EOF");
    expect_compile_error("{{end}}", "unexpected {{end}}");
    expect_compile_error("{{else}}", "unexpected {{else}}");
    expect_compile_error("{{$x}}", "undefined variable \"$x\"");
    expect_compile_error("{{$x = 1}}", "undefined variable \"$x\"");
    expect_compile_error("{{.a", "unclosed action");
    expect_compile_error("{{\"abc}}", "unterminated quoted string");
    expect_compile_error("{{}}", "missing value for command");
    expect_compile_error("{{if}}{{end}}", "missing value for if");
    expect_compile_error("{{.a | 3}}", "non executable command in pipeline stage 2");
    expect_compile_error("{{break}}", "{{break}} outside {{range}}");
    expect_compile_error("{{/* open", "unclosed comment");
    expect_compile_error("{{(.a}}", "unexpected \"}}\" in operand");
    expect_compile_error("{{1.2.3}}", "unexpected \".3\" in operand");
    expect_compile_error("{{3x}}", "illegal number syntax");
    expect_compile_error("line1\nline2 {{nope}}", "2:9:");
    expect_compile_error("{{range .a}}{{else}}{{else}}{{end}}", "expected end; found {{else}}");
    expect_compile_error("{{\"a\\q\"}}", "invalid syntax");
    expect_compile_error("{{define \"x\"}}{{end}}{{define \"x\"}}{{end}}", "multiple definition");
}

static void test_limits(void **state)
{
    (void)state;
    const char *src =
        "{{range .list}}{{range $.list}}{{range $.list}}xxxxxxxxxx{{end}}{{end}}{{end}}";
    tk_tmpl_t *t = tk_tmpl_compile(src, strlen(src), NULL, 0);
    assert_non_null(t);
    json_t *d = doc();
    char *out;
    char err[256];
    tk_tmpl_limits_t lim = {.max_output = 100};
    assert_int_equal(tk_tmpl_exec(t, d, &lim, &out, NULL, err, sizeof(err)), TK_ERROR);
    assert_non_null(strstr(err, "output exceeds 100 bytes"));
    assert_true(strlen(out) <= 100);
    free(out);
    tk_tmpl_limits_t lim2 = {.max_steps = 20};
    assert_int_equal(tk_tmpl_exec(t, d, &lim2, &out, NULL, err, sizeof(err)), TK_ERROR);
    assert_non_null(strstr(err, "exceeded 20 steps"));
    free(out);
    tk_tmpl_free(t);
    /* unbounded recursion through {{template}} stops at the depth limit */
    const char *rec = "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}";
    t = tk_tmpl_compile(rec, strlen(rec), NULL, 0);
    assert_non_null(t);
    assert_int_equal(tk_tmpl_exec(t, d, NULL, &out, NULL, err, sizeof(err)), TK_ERROR);
    assert_non_null(strstr(err, "maximum template depth"));
    free(out);
    tk_tmpl_free(t);
    json_decref(d);
    /* deep parenthesis nesting is a compile error, not a stack overflow */
    char deep[2000];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{{");
    for (int i = 0; i < 300; i++)
        deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 300; i++)
        deep[n++] = ')';
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "}}");
    char cerr[256];
    assert_null(tk_tmpl_compile(deep, n, cerr, sizeof(cerr)));
    assert_non_null(strstr(cerr, "nesting too deep"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_printing),
        cmocka_unit_test(test_floats_like_go),
        cmocka_unit_test(test_whitespace_and_comments),
        cmocka_unit_test(test_if_else),
        cmocka_unit_test(test_with),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_pipelines_and_builtins),
        cmocka_unit_test(test_printf_verbs),
        cmocka_unit_test(test_sprig_strings),
        cmocka_unit_test(test_sprig_values),
        cmocka_unit_test(test_json_and_xml_marshal),
        cmocka_unit_test(test_define_template),
        cmocka_unit_test(test_exec_errors),
        cmocka_unit_test(test_partial_output_on_error),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
