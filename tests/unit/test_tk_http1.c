/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the HTTP/1 parsing layer: heads, bodies, pipelining, limits, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>

#include "tk_http1.h"

struct rec {
    int heads, dones;
    char url[256];
    char last_header[256];
    char body[4096];
    size_t body_len;
    int status;
    bool has_body;
    int64_t content_length;
};

static int on_head(void *ud, tk_http_head_t *h)
{
    struct rec *r = ud;
    r->heads++;
    if (h->url)
        snprintf(r->url, sizeof(r->url), "%.*s", (int)h->url_len, h->url);
    if (h->nhdrs)
        snprintf(r->last_header, sizeof(r->last_header), "%.*s=%.*s",
                 (int)h->hdrs[h->nhdrs - 1].name_len, h->hdrs[h->nhdrs - 1].name,
                 (int)h->hdrs[h->nhdrs - 1].value_len, h->hdrs[h->nhdrs - 1].value);
    r->status = h->status;
    r->has_body = h->has_body;
    r->content_length = h->content_length;
    return TK_H1_CONTINUE;
}

static int on_body(void *ud, const char *p, size_t n)
{
    struct rec *r = ud;
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return TK_H1_CONTINUE;
}

static int on_done(void *ud)
{
    ((struct rec *)ud)->dones++;
    return TK_H1_CONTINUE;
}

static const tk_h1_callbacks_t cbs = {on_head, on_body, on_done};

/* Feeds @s in pieces of @step bytes, resuming at every pause; returns the last status. */
static int feed_all(tk_h1_parser_t *p, const char *s, size_t len, size_t step)
{
    size_t off = 0;
    int rc = TK_H1_OK;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        size_t used = 0;
        rc = tk_h1_parser_feed(p, s + off, n, &used);
        off += used;
        if (rc == TK_H1_PAUSED_HEAD || rc == TK_H1_PAUSED_DONE)
            tk_h1_parser_resume(p);
        else if (rc < 0)
            return rc;
    }
    return rc;
}

static void test_request_with_body_every_split(void **state)
{
    (void)state;
    const char *req = "POST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-Long: abc def\r\n"
                      "Content-Length: 5\r\n\r\nhello";
    for (size_t step = 1; step <= strlen(req); step++) {
        struct rec r = {0};
        tk_h1_parser_t *p = tk_h1_parser_new(true, 8192, &cbs, &r);
        feed_all(p, req, strlen(req), step);
        assert_int_equal(r.heads, 1);
        assert_int_equal(r.dones, 1);
        assert_string_equal(r.url, "/a/b?x=1");
        assert_string_equal(r.last_header, "Content-Length=5");
        assert_int_equal(r.body_len, 5);
        assert_memory_equal(r.body, "hello", 5);
        tk_h1_parser_free(p);
    }
}

static void test_pauses_after_head_with_body(void **state)
{
    (void)state;
    struct rec r = {0};
    tk_h1_parser_t *p = tk_h1_parser_new(true, 8192, &cbs, &r);
    const char *req = "PUT / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
    size_t used = 0;
    int rc = tk_h1_parser_feed(p, req, strlen(req), &used);
    assert_int_equal(rc, TK_H1_PAUSED_HEAD);
    assert_true(used < strlen(req));
    assert_int_equal(r.body_len, 0); /* the body waits for the owner */
    tk_h1_parser_resume(p);
    size_t used2 = 0;
    rc = tk_h1_parser_feed(p, req + used, strlen(req) - used, &used2);
    assert_int_equal(rc, TK_H1_PAUSED_DONE);
    assert_int_equal(r.body_len, 2);
    tk_h1_parser_free(p);
}

static void test_pipelined_requests_stop_between_messages(void **state)
{
    (void)state;
    struct rec r = {0};
    tk_h1_parser_t *p = tk_h1_parser_new(true, 8192, &cbs, &r);
    const char *two = "GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t used = 0;
    int rc = tk_h1_parser_feed(p, two, strlen(two), &used);
    assert_int_equal(rc, TK_H1_PAUSED_DONE);
    assert_int_equal(r.dones, 1);
    assert_string_equal(r.url, "/one");
    assert_int_equal(used, strlen("GET /one HTTP/1.1\r\nHost: a\r\n\r\n"));
    tk_h1_parser_resume(p);
    size_t used2 = 0;
    rc = tk_h1_parser_feed(p, two + used, strlen(two) - used, &used2);
    assert_int_equal(rc, TK_H1_PAUSED_DONE);
    assert_string_equal(r.url, "/two");
    tk_h1_parser_free(p);
}

static void test_chunked_body_is_decoded(void **state)
{
    (void)state;
    struct rec r = {0};
    tk_h1_parser_t *p = tk_h1_parser_new(true, 8192, &cbs, &r);
    const char *req = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n";
    assert_int_equal(feed_all(p, req, strlen(req), 7), TK_H1_PAUSED_DONE);
    assert_int_equal(r.body_len, 7);
    assert_memory_equal(r.body, "abcdefg", 7);
    tk_h1_parser_free(p);
}

static void test_head_too_large(void **state)
{
    (void)state;
    struct rec r = {0};
    tk_h1_parser_t *p = tk_h1_parser_new(true, 256, &cbs, &r);
    char req[1024];
    int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-Big: %0400d\r\n\r\n", 7);
    size_t used;
    assert_int_equal(tk_h1_parser_feed(p, req, (size_t)n, &used), TK_H1_E_HEAD_TOO_LARGE);
    assert_int_equal(r.heads, 0);
    tk_h1_parser_free(p);
}

static void test_malformed_request_line(void **state)
{
    (void)state;
    struct rec r = {0};
    tk_h1_parser_t *p = tk_h1_parser_new(true, 8192, &cbs, &r);
    size_t used;
    const char *bad = "GARBAGE\r\n\r\n";
    assert_int_equal(tk_h1_parser_feed(p, bad, strlen(bad), &used), TK_H1_E_PARSE);
    assert_true(strlen(tk_h1_parser_error(p)) > 0);
    tk_h1_parser_free(p);
}

static void test_response_read_until_close(void **state)
{
    (void)state;
    struct rec r = {0};
    tk_h1_parser_t *p = tk_h1_parser_new(false, 8192, &cbs, &r);
    const char *resp = "HTTP/1.0 200 OK\r\nX: y\r\n\r\nstreamed";
    assert_int_equal(feed_all(p, resp, strlen(resp), 5), TK_H1_OK);
    assert_int_equal(r.status, 200);
    assert_true(r.has_body);
    assert_int_equal(r.content_length, -1);
    assert_int_equal(tk_h1_parser_finish(p), TK_H1_PAUSED_DONE);
    assert_int_equal(r.dones, 1);
    assert_memory_equal(r.body, "streamed", 8);
    tk_h1_parser_free(p);
}

static void test_response_to_head_has_no_body(void **state)
{
    (void)state;
    struct rec r = {0};
    tk_h1_parser_t *p = tk_h1_parser_new(false, 8192, &cbs, &r);
    tk_h1_parser_expect_no_body(p, true);
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    size_t used;
    assert_int_equal(tk_h1_parser_feed(p, resp, strlen(resp), &used), TK_H1_PAUSED_DONE);
    assert_false(r.has_body);
    assert_int_equal(r.content_length, 100);
    tk_h1_parser_free(p);
}

static void test_value_tokens(void **state)
{
    (void)state;
    const char *v = "keep-alive, Upgrade ,x-foo";
    assert_true(tk_http_value_has_token(v, strlen(v), "upgrade"));
    assert_true(tk_http_value_has_token(v, strlen(v), "X-Foo"));
    assert_false(tk_http_value_has_token(v, strlen(v), "keep"));
    assert_string_equal(tk_http_reason(431), "Request Header Fields Too Large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_with_body_every_split),
        cmocka_unit_test(test_pauses_after_head_with_body),
        cmocka_unit_test(test_pipelined_requests_stop_between_messages),
        cmocka_unit_test(test_chunked_body_is_decoded),
        cmocka_unit_test(test_head_too_large),
        cmocka_unit_test(test_malformed_request_line),
        cmocka_unit_test(test_response_read_until_close),
        cmocka_unit_test(test_response_to_head_has_no_body),
        cmocka_unit_test(test_value_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
