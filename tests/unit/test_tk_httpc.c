/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_httpc against a tiny in-process HTTP server on loopback (same event loop). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the server: one event per connection, answers by path ---- */

struct srv {
    struct event_base *base;
    int lfd;
    int port;
    struct event *lev;
};

static struct sconn *hung; /* the /hang connection, closed by srv_stop */

struct sconn {
    int fd;
    struct event *ev;
    char buf[4096];
    size_t n;
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void sconn_close(struct sconn *c)
{
    event_free(c->ev);
    close(c->fd);
    free(c);
}

static void on_sconn(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(what);
    struct sconn *c = arg;
    ssize_t r = read(fd, c->buf + c->n, sizeof(c->buf) - 1 - c->n);
    if (r <= 0) {
        sconn_close(c);
        return;
    }
    c->n += (size_t)r;
    c->buf[c->n] = '\0';
    if (!strstr(c->buf, "\r\n\r\n"))
        return;
    const char *resp = NULL;
    if (strncmp(c->buf, "GET /ok?x=1 HTTP/1.1\r\n", 22) == 0 && strstr(c->buf, "Host: 127.0.0.1:"))
        resp = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"keys\":[]}";
    else if (strncmp(c->buf, "GET /chunked ", 13) == 0)
        resp =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    else if (strncmp(c->buf, "GET /close ", 11) == 0)
        resp = "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nmissing";
    else if (strncmp(c->buf, "GET /big ", 9) == 0)
        resp = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
    else if (strncmp(c->buf, "GET /hang ", 10) == 0) {
        event_del(c->ev);
        hung = c;
        return; /* never answers; the client times out */
    } else
        resp = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    write_all(fd, resp, strlen(resp));
    sconn_close(c);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(what);
    struct srv *s = arg;
    int cfd = accept(fd, NULL, NULL);
    if (cfd < 0)
        return;
    struct sconn *c = calloc(1, sizeof(*c));
    c->fd = cfd;
    c->ev = event_new(s->base, cfd, EV_READ | EV_PERSIST, on_sconn, c);
    event_add(c->ev, NULL);
}

static void srv_start(struct srv *s, struct event_base *base)
{
    s->base = base;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    socklen_t len = sizeof(sa);
    getsockname(s->lfd, (struct sockaddr *)&sa, &len);
    s->port = ntohs(sa.sin_port);
    s->lev = event_new(base, s->lfd, EV_READ | EV_PERSIST, on_accept, s);
    event_add(s->lev, NULL);
}

static void srv_stop(struct srv *s)
{
    event_free(s->lev);
    close(s->lfd);
    if (hung)
        sconn_close(hung);
    hung = NULL;
}

/* ---- client side ---- */

struct result {
    int calls;
    int status;
    char body[256];
    size_t len;
    char err[256];
    struct event_base *base;
};

static void on_result(int status, const char *body, size_t len, const char *err, void *arg)
{
    struct result *r = arg;
    r->calls++;
    r->status = status;
    r->len = len;
    if (body)
        snprintf(r->body, sizeof(r->body), "%s", body);
    if (err)
        snprintf(r->err, sizeof(r->err), "%s", err);
    event_base_loopbreak(r->base);
}

static void run_get(struct event_base *base, const char *url, size_t max_body, uint64_t timeout,
                    struct result *r)
{
    memset(r, 0, sizeof(*r));
    r->base = base;
    tk_httpc_opts_t o = {.base = base, .max_body = max_body, .timeout_ms = timeout};
    tk_httpc_t *c = tk_httpc_get(&o, url, on_result, r);
    assert_non_null(c);
    assert_int_equal(r->calls, 0); /* never inside tk_httpc_get */
    struct timeval guard = {5, 0};
    event_base_loopexit(base, &guard);
    event_base_dispatch(base);
    assert_int_equal(r->calls, 1);
}

static void test_fetches(void **state)
{
    TK_UNUSED(state);
    struct event_base *base = event_base_new();
    struct srv s;
    srv_start(&s, base);
    char url[128];
    struct result r;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok?x=1#frag", s.port);
    run_get(base, url, 0, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"keys\":[]}");
    assert_int_equal(r.len, 11);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/chunked", s.port);
    run_get(base, url, 0, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "abcde");

    snprintf(url, sizeof(url), "http://localhost:%d/close", s.port);
    run_get(base, url, 0, 0, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "missing");

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", s.port);
    run_get(base, url, 50, 0, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "response too large");

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hang", s.port);
    run_get(base, url, 0, 200, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "timeout");

    srv_stop(&s);
    event_base_free(base);
}

static void test_errors(void **state)
{
    TK_UNUSED(state);
    struct event_base *base = event_base_new();
    /* A port nobody listens on: bind one, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    char url[128];
    struct result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    run_get(base, url, 0, 2000, &r);
    assert_int_equal(r.status, 0);
    assert_true(r.err[0] != '\0');

    run_get(base, "http://some.host.invalid/", 0, 2000, &r); /* no resolver given */
    assert_int_equal(r.status, 0);

    tk_httpc_opts_t o = {.base = base};
    assert_null(tk_httpc_get(&o, "ftp://127.0.0.1/", on_result, &r));
    assert_null(tk_httpc_get(&o, "http://", on_result, &r));
    assert_null(tk_httpc_get(&o, "http://127.0.0.1:99999/", on_result, &r));

    /* Cancelled: no callback, nothing leaks. */
    memset(&r, 0, sizeof(r));
    r.base = base;
    tk_httpc_t *c = tk_httpc_get(&o, url, on_result, &r);
    assert_non_null(c);
    tk_httpc_cancel(c);
    struct timeval t = {0, 200000};
    event_base_loopexit(base, &t);
    event_base_dispatch(base);
    assert_int_equal(r.calls, 0);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetches),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
