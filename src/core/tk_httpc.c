/* SPDX-License-Identifier: Apache-2.0 */
/* A small asynchronous HTTP/1.1 GET client (one request per connection) on tk_stream + tk_http1. */
#include "tk_net.h"
#include "tk_httpc.h"

#include "tk_http1.h"
#include "tk_stream.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEAD (64 * 1024)

struct tk_httpc {
    tk_httpc_opts_t o;
    char *host; /* without brackets */
    char *hostport;
    char *path;
    char *method, *headers, *req_body; /* copies of the options' strings */
    int port;
    bool tls;
    tk_httpc_cb cb;
    void *arg;
    struct evdns_getaddrinfo_request *dns_req;
    bool dns_cancelled;
    tk_stream_t *st;
    tk_h1_parser_t *parser;
    struct evbuffer *body;
    struct event *timer;
    struct event *done_ev;
    int status;
    int result;
    bool too_large;
    bool finished;
    bool cancelled;
    char err[256];
};

static void free_all(tk_httpc_t *c)
{
    if (c->st)
        tk_stream_free(c->st);
    tk_h1_parser_free(c->parser);
    if (c->body)
        evbuffer_free(c->body);
    if (c->timer)
        event_free(c->timer);
    if (c->done_ev)
        event_free(c->done_ev);
    free(c->host);
    free(c->hostport);
    free(c->path);
    free(c->method);
    free(c->headers);
    free(c->req_body);
    free(c);
}

/* Records the outcome and lets the loop deliver it (never from inside stream callbacks). */
static void finish(tk_httpc_t *c, int status, const char *err)
{
    if (c->finished)
        return;
    c->finished = true;
    c->result = status;
    if (err)
        snprintf(c->err, sizeof(c->err), "%s", err);
    if (c->st)
        tk_stream_read(c->st, false);
    event_del(c->timer);
    event_active(c->done_ev, EV_TIMEOUT, 0);
}

static void on_done_ev(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    tk_httpc_t *c = arg;
    if (!c->cancelled) {
        if (c->result > 0) {
            size_t len = evbuffer_get_length(c->body);
            evbuffer_add(c->body, "", 1);
            const char *p = (const char *)evbuffer_pullup(c->body, -1);
            c->cb(c->result, p, len, NULL, c->arg);
        } else {
            c->cb(0, NULL, 0, c->err[0] ? c->err : "request failed", c->arg);
        }
    }
    if (c->dns_req) {
        /* The resolver calls back with EVUTIL_EAI_CANCEL; free there. */
        struct evdns_getaddrinfo_request *r = c->dns_req;
        c->dns_req = NULL;
        c->dns_cancelled = true;
        evdns_getaddrinfo_cancel(r);
        return;
    }
    free_all(c);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    finish(arg, 0, "timeout");
}

/* ---- response ---- */

static int on_head(void *ud, tk_http_head_t *h)
{
    tk_httpc_t *c = ud;
    c->status = h->status;
    if (c->o.on_head && !c->cancelled)
        c->o.on_head(h, c->arg);
    if (c->o.status_only)
        return TK_H1_ABORT; /* on_read sees the abort and finishes with the status */
    if (h->content_length > 0 && (uint64_t)h->content_length > c->o.max_body) {
        c->too_large = true;
        return TK_H1_ABORT;
    }
    return TK_H1_CONTINUE;
}

static int on_body(void *ud, const char *p, size_t n)
{
    tk_httpc_t *c = ud;
    if (evbuffer_get_length(c->body) + n > c->o.max_body) {
        c->too_large = true;
        return TK_H1_ABORT;
    }
    evbuffer_add(c->body, p, n);
    return TK_H1_CONTINUE;
}

static int on_msg_done(void *ud)
{
    TK_UNUSED(ud);
    return TK_H1_CONTINUE;
}

static const tk_h1_callbacks_t resp_cb = {on_head, on_body, on_msg_done};

static void parse_failed(tk_httpc_t *c)
{
    if (c->o.status_only && c->status > 0) {
        finish(c, c->status, NULL);
        return;
    }
    if (c->too_large) {
        finish(c, 0, "response too large");
        return;
    }
    char msg[200];
    snprintf(msg, sizeof(msg), "bad response: %s", tk_h1_parser_error(c->parser));
    finish(c, 0, msg);
}

static void on_read(tk_stream_t *s, void *arg)
{
    tk_httpc_t *c = arg;
    if (c->finished)
        return;
    struct evbuffer *in = tk_stream_input(s);
    for (;;) {
        int rc = tk_h1_parser_feed_buffer(c->parser, in, NULL);
        if (rc == TK_H1_PAUSED_HEAD) {
            tk_h1_parser_resume(c->parser);
            continue;
        }
        if (rc == TK_H1_PAUSED_DONE) {
            finish(c, c->status, NULL);
            return;
        }
        if (rc < 0) {
            parse_failed(c);
            return;
        }
        if (evbuffer_get_length(in) == 0)
            return;
    }
}

static void on_event(tk_stream_t *s, int what, void *arg)
{
    tk_httpc_t *c = arg;
    if (c->finished || (what & TK_STREAM_CONNECTED))
        return;
    if (what & TK_STREAM_ERROR) {
        unsigned long e = tk_stream_ssl_error(s);
        char buf[256];
        if (e)
            ERR_error_string_n(e, buf, sizeof(buf));
        else
            snprintf(buf, sizeof(buf), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        finish(c, 0, buf);
        return;
    }
    /* EOF: a read-until-close body ends here. */
    on_read(s, c);
    if (c->finished)
        return;
    int rc = tk_h1_parser_finish(c->parser);
    if (rc == TK_H1_PAUSED_DONE)
        finish(c, c->status, NULL);
    else if (rc < 0)
        parse_failed(c);
    else
        finish(c, 0, "connection closed before the response ended");
}

/* ---- connecting ---- */

static void connect_addr(tk_httpc_t *c, struct sockaddr *sa, int salen)
{
    SSL *ssl = NULL;
    if (c->tls) {
        if (!c->o.ssl_ctx) {
            finish(c, 0, "https without a TLS context");
            return;
        }
        ssl = SSL_new(c->o.ssl_ctx);
        if (!ssl) {
            finish(c, 0, "SSL_new failed");
            return;
        }
        tk_ssl_set_peer(ssl, c->host, c->o.verify_host);
    }
    c->st = tk_stream_new(c->o.base, -1, ssl, false);
    tk_stream_setcb(c->st, on_read, NULL, on_event, c);
    tk_stream_allow_dirty_shutdown(c->st);
    if (tk_stream_connect(c->st, sa, salen) != TK_OK) {
        finish(c, 0, "connect failed");
        return;
    }
    struct evbuffer *out = tk_stream_output(c->st);
    evbuffer_add_printf(out, "%s %s HTTP/1.1\r\nHost: %s\r\n", c->method ? c->method : "GET",
                        c->path, c->hostport);
    if (c->headers)
        evbuffer_add(out, c->headers, strlen(c->headers));
    else
        evbuffer_add_printf(out, "User-Agent: Turnpike\r\nAccept: application/json, */*\r\n");
    if (c->o.body_len > 0)
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", c->o.body_len);
    evbuffer_add_printf(out, "Connection: close\r\n\r\n");
    if (c->o.body_len > 0)
        evbuffer_add(out, c->req_body, c->o.body_len);
}

static void on_dns(int err, struct evutil_addrinfo *res, void *arg)
{
    tk_httpc_t *c = arg;
    c->dns_req = NULL;
    if (c->dns_cancelled || c->finished) {
        if (res)
            evutil_freeaddrinfo(res);
        if (c->dns_cancelled)
            free_all(c);
        return;
    }
    if (err || !res) {
        char msg[200];
        snprintf(msg, sizeof(msg), "lookup of %s failed: %s", c->host, evutil_gai_strerror(err));
        if (res)
            evutil_freeaddrinfo(res);
        finish(c, 0, msg);
        return;
    }
    struct sockaddr_storage ss;
    int len = tk_sockaddr_from_ai(res, c->port, &ss);
    evutil_freeaddrinfo(res);
    connect_addr(c, (struct sockaddr *)&ss, len);
}

/* Splits an http(s) URL; false if it is not one. */
static bool parse_url(tk_httpc_t *c, const char *url)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
        c->port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        p = url + 8;
        c->port = 443;
        c->tls = true;
    } else {
        return false;
    }
    size_t alen = strcspn(p, "/?#");
    const char *rest = p + alen;
    const char *at = memchr(p, '@', alen); /* drop userinfo */
    if (at) {
        alen -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (alen == 0)
        return false;
    c->hostport = tk_xstrndup(p, alen);
    const char *hend;
    const char *colon;
    if (p[0] == '[') {
        const char *rb = memchr(p, ']', alen);
        if (!rb)
            return false;
        c->host = tk_xstrndup(p + 1, (size_t)(rb - p - 1));
        hend = rb + 1;
        colon = hend < p + alen && *hend == ':' ? hend : NULL;
    } else {
        colon = memchr(p, ':', alen);
        hend = colon ? colon : p + alen;
        c->host = tk_xstrndup(p, (size_t)(hend - p));
    }
    if (!*c->host)
        return false;
    if (colon) {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (end != p + alen || port <= 0 || port > 65535)
            return false;
        c->port = (int)port;
    }
    size_t plen = strcspn(rest, "#");
    if (plen == 0 || rest[0] == '?') {
        size_t n = plen + 2;
        c->path = tk_xmalloc(n);
        snprintf(c->path, n, "/%.*s", (int)plen, rest);
    } else {
        c->path = tk_xstrndup(rest, plen);
    }
    for (const char *q = c->path; *q; q++)
        if ((unsigned char)*q <= ' ')
            return false;
    return true;
}

tk_httpc_t *tk_httpc_get(const tk_httpc_opts_t *o, const char *url, tk_httpc_cb cb, void *arg)
{
    tk_httpc_t *c = tk_xcalloc(1, sizeof(*c));
    c->o = *o;
    if (!c->o.timeout_ms)
        c->o.timeout_ms = 10000;
    if (!c->o.max_body)
        c->o.max_body = 1024 * 1024;
    c->cb = cb;
    c->arg = arg;
    c->method = o->method ? tk_xstrdup(o->method) : NULL;
    c->headers = o->headers ? tk_xstrdup(o->headers) : NULL;
    if (o->body_len > 0) {
        c->req_body = tk_xmalloc(o->body_len);
        memcpy(c->req_body, o->body, o->body_len);
    }
    c->o.method = c->o.headers = c->o.body = NULL; /* only the copies are used */
    if (!url || !parse_url(c, url)) {
        free_all(c);
        return NULL;
    }
    c->parser = tk_h1_parser_new(false, MAX_HEAD, &resp_cb, c);
    c->body = evbuffer_new();
    c->timer = evtimer_new(c->o.base, on_timeout, c);
    c->done_ev = event_new(c->o.base, -1, 0, on_done_ev, c);
    struct timeval tv = {(time_t)(c->o.timeout_ms / 1000),
                         (suseconds_t)(c->o.timeout_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);

    struct sockaddr_storage ss;
    const char *h = strcasecmp(c->host, "localhost") == 0 && !c->o.dns ? "127.0.0.1" : c->host;
    int len = tk_sockaddr_from_ip(h, c->port, &ss);
    if (len) {
        connect_addr(c, (struct sockaddr *)&ss, len);
        return c;
    } else if (!c->o.dns) {
        finish(c, 0, "no resolver for a host name");
        return c;
    } else {
        struct evutil_addrinfo hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        /* The callback may run before this returns; only a pending lookup returns a handle. */
        struct evdns_getaddrinfo_request *r =
            evdns_getaddrinfo(c->o.dns, c->host, NULL, &hints, on_dns, c);
        if (r)
            c->dns_req = r;
        return c;
    }
}

void tk_httpc_cancel(tk_httpc_t *c)
{
    if (!c)
        return;
    c->cancelled = true;
    finish(c, 0, "cancelled");
}
