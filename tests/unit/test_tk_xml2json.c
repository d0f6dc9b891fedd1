/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_xml2json: mxj's map layout for XML bodies, errors, and XXE safety. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_xml2json.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Converts @xml and compares the compact, key-sorted JSON with @want. */
static void expect(const char *xml, const char *want)
{
    char err[256];
    json_t *v = tk_xml2json(xml, strlen(xml), err, sizeof(err));
    if (!v)
        fail_msg("%s: %s", xml, err);
    char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n   got: %s\n  want: %s", xml, got, want);
    free(got);
    json_decref(v);
}

static void expect_error(const char *xml)
{
    char err[256];
    json_t *v = tk_xml2json(xml, strlen(xml), err, sizeof(err));
    if (v) {
        char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("%s should fail, got %s", xml, got);
    }
    assert_true(strlen(err) > 0);
}

static void test_layout(void **state)
{
    (void)state;
    expect("<a>hi</a>", "{\"a\":\"hi\"}");
    expect("<a/>", "{\"a\":\"\"}");
    expect("<_/>", "{\"_\":\"\"}");
    expect("<a><b>1</b><c>2</c></a>", "{\"a\":{\"b\":\"1\",\"c\":\"2\"}}");
    expect("<names>\n\t<name>Foo\"oo</name>\n\t<name>B\xc3\xa0r</name>\n</names>",
           "{\"names\":{\"name\":[\"Foo\\\"oo\",\"B\xc3\xa0r\"]}}");
    expect("<a id=\"7\" x='y'>text</a>", "{\"a\":{\"#text\":\"text\",\"-id\":\"7\",\"-x\":\"y\"}}");
    expect("<a id=\"7\"/>", "{\"a\":{\"-id\":\"7\"}}");
    expect("<a><b k=\"v\"/><b>2</b><b>3</b></a>", "{\"a\":{\"b\":[{\"-k\":\"v\"},\"2\",\"3\"]}}");
    expect("<a>  padded \n</a>", "{\"a\":\"padded\"}");
    expect("<a>x &amp; y &lt; &#65;</a>", "{\"a\":\"x & y < A\"}");
    expect("<a><![CDATA[<raw>]]></a>", "{\"a\":\"<raw>\"}");
    expect("<?xml version=\"1.0\" encoding=\"utf-8\"?><!-- c --><a><?pi x?>v</a>", "{\"a\":\"v\"}");
    expect("<a>t<b>1</b></a>", "{\"a\":{\"#text\":\"t\",\"b\":\"1\"}}");
    expect("<ns:a xmlns:ns=\"urn:x\"><ns:b>1</ns:b></ns:a>",
           "{\"a\":{\"-ns\":\"urn:x\",\"b\":\"1\"}}");
    /* numbers and booleans stay strings: mxj without casting */
    expect("<a><n>1.5</n><t>true</t></a>", "{\"a\":{\"n\":\"1.5\",\"t\":\"true\"}}");
    /* an encoding declaration other than UTF-8 is honoured */
    expect("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>J\xe4</a>", "{\"a\":\"J\xc3\xa4\"}");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("not xml");
    expect_error("");
    expect_error("<a>");
    expect_error("<a></b>");
    expect_error("<a x=1/>");
}

static void test_xxe_is_not_expanded(void **state)
{
    (void)state;
    /* An external entity pointing at a local file must never be read. */
    char path[] = "/tmp/tk_xxe_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "SECRET", 6), 6);
    close(fd);
    char xml[512];
    snprintf(xml, sizeof(xml), "<!DOCTYPE a [<!ENTITY xxe SYSTEM \"file://%s\">]><a>x&xxe;y</a>",
             path);
    char err[256];
    json_t *v = tk_xml2json(xml, strlen(xml), err, sizeof(err));
    if (v) {
        char *got = json_dumps(v, JSON_COMPACT);
        assert_null(strstr(got, "SECRET"));
        free(got);
        json_decref(v);
    }
    unlink(path);
    /* Billion laughs: either refused or left unexpanded, never blown up. */
    const char *laughs = "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;"
                         "&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><l>&c;</l>";
    v = tk_xml2json(laughs, strlen(laughs), err, sizeof(err));
    if (v) {
        char *got = json_dumps(v, JSON_COMPACT);
        assert_true(strlen(got) < 200);
        free(got);
        json_decref(v);
    }
}

static void test_depth_bound(void **state)
{
    (void)state;
    size_t n = 0;
    char *xml = malloc(20000);
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(xml + n, 20000 - n, "<a>");
    char err[256];
    assert_null(tk_xml2json(xml, n, err, sizeof(err)));
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_xxe_is_not_expanded),
        cmocka_unit_test(test_depth_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
