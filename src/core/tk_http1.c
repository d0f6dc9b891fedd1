/* SPDX-License-Identifier: Apache-2.0 */
/* llhttp wrapper: bounded head collection, streamed bodies, pause points for the owner. */
#include "tk_http1.h"

#include <llhttp.h>
#include <stdlib.h>
#include <strings.h>

enum part {
    PART_NONE = 0,
    PART_URL,
    PART_FIELD,
    PART_VALUE,
    PART_STATUS,
};

/* Header offsets while the head is still growing (the buffer may move). */
struct hoff {
    uint32_t name_off, name_len, value_off, value_len;
};

struct tk_h1_parser {
    llhttp_t ll;
    llhttp_settings_t settings;
    const tk_h1_callbacks_t *cb;
    void *ud;
    bool request;
    bool in_message;
    bool no_body;
    bool too_large;
    bool aborted;
    enum part last;
    size_t max_head;
    size_t head_bytes;
    char *buf;
    size_t len, cap;
    uint32_t url_off, url_len;
    struct hoff *offs;
    uint32_t noffs, cap_offs;
    tk_http_hdr_t *hdrs;
    uint32_t cap_hdrs;
    tk_http_head_t head;
    const char *err;
};

static tk_h1_parser_t *P(llhttp_t *ll)
{
    return (tk_h1_parser_t *)ll->data;
}

static int append(tk_h1_parser_t *p, const char *at, size_t n)
{
    if (n == 0)
        return 0;
    p->head_bytes += n;
    if (p->head_bytes > p->max_head) {
        p->too_large = true;
        return -1;
    }
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 1024;
        while (cap < p->len + n)
            cap *= 2;
        p->buf = tk_xrealloc(p->buf, cap);
        p->cap = cap;
    }
    memcpy(p->buf + p->len, at, n);
    p->len += n;
    return 0;
}

static int on_message_begin(llhttp_t *ll)
{
    tk_h1_parser_t *p = P(ll);
    p->in_message = true;
    p->len = 0;
    p->head_bytes = 0;
    p->noffs = 0;
    p->url_off = p->url_len = 0;
    p->last = PART_NONE;
    return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
    tk_h1_parser_t *p = P(ll);
    if (p->last != PART_URL) {
        p->url_off = (uint32_t)p->len;
        p->last = PART_URL;
    }
    if (append(p, at, n))
        return -1;
    p->url_len += (uint32_t)n;
    return 0;
}

static int on_status(llhttp_t *ll, const char *at, size_t n)
{
    tk_h1_parser_t *p = P(ll);
    p->last = PART_STATUS;
    p->head_bytes += n; /* the reason phrase is not kept */
    if (p->head_bytes > p->max_head) {
        p->too_large = true;
        return -1;
    }
    TK_UNUSED(at);
    return 0;
}

static void new_header(tk_h1_parser_t *p)
{
    if (p->noffs == p->cap_offs) {
        p->cap_offs = p->cap_offs ? p->cap_offs * 2 : 16;
        p->offs = tk_xrealloc(p->offs, p->cap_offs * sizeof(*p->offs));
    }
    struct hoff *o = &p->offs[p->noffs++];
    memset(o, 0, sizeof(*o));
    o->name_off = (uint32_t)p->len;
    p->head_bytes += 4; /* ": " and CRLF */
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    tk_h1_parser_t *p = P(ll);
    if (p->last != PART_FIELD) {
        new_header(p);
        p->last = PART_FIELD;
    }
    if (append(p, at, n))
        return -1;
    p->offs[p->noffs - 1].name_len += (uint32_t)n;
    return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    tk_h1_parser_t *p = P(ll);
    if (p->noffs == 0) /* a value without a name (lenient input): keep it nameless */
        new_header(p);
    struct hoff *o = &p->offs[p->noffs - 1];
    if (p->last != PART_VALUE) {
        o->value_off = (uint32_t)p->len;
        p->last = PART_VALUE;
    }
    if (append(p, at, n))
        return -1;
    o->value_len += (uint32_t)n;
    return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
    tk_h1_parser_t *p = P(ll);
    tk_http_head_t *h = &p->head;
    memset(h, 0, sizeof(*h));
    if (p->cap_hdrs < p->noffs) {
        p->cap_hdrs = p->noffs;
        p->hdrs = tk_xrealloc(p->hdrs, p->cap_hdrs * sizeof(*p->hdrs));
    }
    for (uint32_t i = 0; i < p->noffs; i++) {
        /* Empty parts may have no buffer behind them; never hand out NULL. */
        p->hdrs[i].name = p->offs[i].name_len ? p->buf + p->offs[i].name_off : "";
        p->hdrs[i].name_len = p->offs[i].name_len;
        p->hdrs[i].value = p->offs[i].value_len ? p->buf + p->offs[i].value_off : "";
        p->hdrs[i].value_len = p->offs[i].value_len;
    }
    h->hdrs = p->hdrs;
    h->nhdrs = p->noffs;
    h->major = ll->http_major;
    h->minor = ll->http_minor;
    h->keep_alive = llhttp_should_keep_alive(ll);
    h->upgrade = ll->upgrade;
    h->chunked = (ll->flags & F_CHUNKED) != 0;
    h->content_length = (ll->flags & F_CONTENT_LENGTH) ? (int64_t)ll->content_length : -1;
    if (p->request) {
        h->method = llhttp_method_name((llhttp_method_t)ll->method);
        h->method_len = (uint32_t)strlen(h->method);
        h->url = p->url_len ? p->buf + p->url_off : "";
        h->url_len = p->url_len;
        h->has_body = h->chunked || h->content_length > 0;
        const tk_http_hdr_t *e = tk_http_head_find(h, "expect");
        h->expect_continue = e && tk_str_ieq(e->value, e->value_len, "100-continue");
    } else {
        h->status = ll->status_code;
        bool bodyless = p->no_body || h->status / 100 == 1 || h->status == 204 || h->status == 304;
        h->has_body = !bodyless && (h->chunked || h->content_length != 0);
    }
    int rc = p->cb->on_head(p->ud, h);
    if (rc < 0) {
        p->aborted = true;
        return -1;
    }
    if (!p->request) {
        if (!h->has_body)
            return 1; /* tell llhttp: no body */
        return 0;
    }
    if (h->upgrade)
        return 0;
    return h->has_body ? HPE_PAUSED : 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
    tk_h1_parser_t *p = P(ll);
    if (p->cb->on_body(p->ud, at, n) < 0) {
        p->aborted = true;
        return -1;
    }
    return 0;
}

static int on_message_complete(llhttp_t *ll)
{
    tk_h1_parser_t *p = P(ll);
    p->in_message = false;
    if (p->cb->on_done(p->ud) < 0) {
        p->aborted = true;
        return -1;
    }
    return HPE_PAUSED;
}

tk_h1_parser_t *tk_h1_parser_new(bool request, size_t max_head, const tk_h1_callbacks_t *cb,
                                 void *ud)
{
    tk_h1_parser_t *p = tk_xcalloc(1, sizeof(*p));
    llhttp_settings_init(&p->settings);
    p->settings.on_message_begin = on_message_begin;
    p->settings.on_url = on_url;
    p->settings.on_status = on_status;
    p->settings.on_header_field = on_header_field;
    p->settings.on_header_value = on_header_value;
    p->settings.on_headers_complete = on_headers_complete;
    p->settings.on_body = on_body;
    p->settings.on_message_complete = on_message_complete;
    llhttp_init(&p->ll, request ? HTTP_REQUEST : HTTP_RESPONSE, &p->settings);
    p->ll.data = p;
    p->cb = cb;
    p->ud = ud;
    p->request = request;
    p->max_head = max_head ? max_head : 32768;
    return p;
}

void tk_h1_parser_free(tk_h1_parser_t *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p->offs);
    free(p->hdrs);
    free(p);
}

static int status_of(tk_h1_parser_t *p, llhttp_errno_t e)
{
    if (e == HPE_PAUSED)
        return p->in_message ? TK_H1_PAUSED_HEAD : TK_H1_PAUSED_DONE;
    if (e == HPE_PAUSED_UPGRADE) {
        p->err = "protocol upgrade";
        return TK_H1_E_UPGRADE;
    }
    if (p->too_large) {
        p->err = "request header fields too large";
        return TK_H1_E_HEAD_TOO_LARGE;
    }
    if (p->aborted) {
        p->err = "aborted";
        return TK_H1_E_ABORTED;
    }
    p->err = llhttp_get_error_reason(&p->ll);
    if (!p->err)
        p->err = llhttp_errno_name(e);
    return TK_H1_E_PARSE;
}

int tk_h1_parser_feed(tk_h1_parser_t *p, const char *data, size_t len, size_t *consumed)
{
    llhttp_errno_t e = llhttp_execute(&p->ll, data, len);
    if (e == HPE_OK) {
        *consumed = len;
        return TK_H1_OK;
    }
    const char *pos = llhttp_get_error_pos(&p->ll);
    *consumed = (pos && pos >= data && pos <= data + len) ? (size_t)(pos - data) : 0;
    return status_of(p, e);
}

int tk_h1_parser_feed_buffer(tk_h1_parser_t *p, struct evbuffer *in, const bool *stop)
{
    struct evbuffer_iovec v[8];
    int n = evbuffer_peek(in, -1, NULL, v, 8);
    size_t total = 0;
    int rc = TK_H1_OK;
    for (int i = 0; i < n && i < 8; i++) {
        size_t used = 0;
        rc = tk_h1_parser_feed(p, v[i].iov_base, v[i].iov_len, &used);
        total += used;
        if (rc != TK_H1_OK || (stop && *stop))
            break;
    }
    evbuffer_drain(in, total);
    return rc;
}

void tk_h1_parser_resume(tk_h1_parser_t *p)
{
    llhttp_resume(&p->ll);
}

int tk_h1_parser_finish(tk_h1_parser_t *p)
{
    bool was_in = p->in_message;
    llhttp_errno_t e = llhttp_finish(&p->ll);
    if (e == HPE_OK || e == HPE_PAUSED)
        return was_in && !p->in_message ? TK_H1_PAUSED_DONE : TK_H1_OK;
    return status_of(p, e);
}

bool tk_h1_parser_in_message(const tk_h1_parser_t *p)
{
    return p->in_message;
}

const char *tk_h1_parser_error(const tk_h1_parser_t *p)
{
    return p->err ? p->err : "";
}

void tk_h1_parser_expect_no_body(tk_h1_parser_t *p, bool no_body)
{
    p->no_body = no_body;
}

const tk_http_hdr_t *tk_http_head_find(const tk_http_head_t *h, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < h->nhdrs; i++)
        if (h->hdrs[i].name_len == n && strncasecmp(h->hdrs[i].name, name, n) == 0)
            return &h->hdrs[i];
    return NULL;
}

bool tk_http_value_has_token(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
            return true;
    }
    return false;
}

const char *tk_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 499:
        return "Client Closed Request";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}
