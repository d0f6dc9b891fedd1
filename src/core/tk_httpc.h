/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small asynchronous HTTP/1.1 GET client on tk_stream and tk_http1, for fetching documents
 * such as JWKS: http and https URLs, evdns or IP-literal hosts, a timeout and a body size cap.
 * Optionally another method, extra headers and a body, or only the response status.
 */
#ifndef TK_HTTPC_H
#define TK_HTTPC_H

#include "tk_common.h"

#include <event2/event.h>
#include <openssl/ssl.h>

struct evdns_base;
struct tk_http_head;

typedef struct tk_httpc tk_httpc_t;

/**
 * The result: @status is the HTTP status with the whole @body (NUL-terminated, @len bytes),
 * or 0 with @err describing the failure (connect, TLS, timeout, too large, parse). Both
 * pointers are valid only during the call.
 */
typedef void (*tk_httpc_cb)(int status, const char *body, size_t len, const char *err, void *arg);

typedef struct tk_httpc_opts {
    struct event_base *base;
    struct evdns_base *dns; /* NULL: only IP literals and "localhost" */
    SSL_CTX *ssl_ctx;       /* for https URLs (verification as the context says) */
    bool verify_host;       /* check the certificate's name against the URL host */
    uint64_t timeout_ms;    /* whole exchange; 0 = 10 s */
    size_t max_body;        /* 0 = 1 MiB */
    /* Requests other than a plain GET (uptime checks); all copied by tk_httpc_get. */
    const char *method;  /* NULL = "GET" */
    const char *headers; /* extra "Name: value\r\n" lines; when set they replace the default
                            User-Agent and Accept lines */
    const char *body;    /* sent with a Content-Length when body_len > 0 */
    size_t body_len;
    bool status_only; /* done at the response head, body unread (needed for HEAD) */
    /* Optional: sees the response head (status and headers) as it arrives, with the request's
       callback argument; the head is valid only during the call (batch replies copy headers). */
    void (*on_head)(const struct tk_http_head *head, void *arg);
} tk_httpc_opts_t;

/**
 * Starts GET @url. The callback runs exactly once, always from the event loop (never inside
 * this call), unless the request is cancelled first. Returns NULL (and no callback) only when
 * @url is not a usable http(s) URL.
 */
tk_httpc_t *tk_httpc_get(const tk_httpc_opts_t *o, const char *url, tk_httpc_cb cb, void *arg);

/** Abandons a request whose callback has not run yet; the callback will not run. */
void tk_httpc_cancel(tk_httpc_t *c);

#endif
