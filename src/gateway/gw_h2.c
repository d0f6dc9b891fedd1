/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/2 client connections: nghttp2 server sessions whose streams are gateway requests. */
#include "gw_h2.h"

#include "tk_log.h"

#include <nghttp2/nghttp2.h>
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

#define MAX_STREAMS 100
#define STREAM_WINDOW (256 * 1024)
#define CONN_WINDOW (1024 * 1024)
/* Frames are pulled from nghttp2 only while the socket holds less than this. */
#define SOCK_HIGH (128 * 1024)
/* gw_proxy.c's high-water mark: a stream reporting more makes the proxy stop reading. */
#define PROXY_HIGH (256 * 1024)
/* Response bytes all streams of a connection may hold before the fullest ones wait. */
#define CONN_BUDGET (1024 * 1024)
/* Past this many bytes of headers in one block the client is flooding: the connection ends. */
#define HDR_FLOOD_FACTOR 4
/* RST_STREAMs a client may send in a burst, then per second (CVE-2023-44487): past that,
 * GOAWAY ENHANCE_YOUR_CALM. nghttp2's own limit (twice as lax) would answer INTERNAL_ERROR. */
#define RESET_BURST 100
#define RESET_RATE 33
#define ARENA_POOL 8

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof(PREFACE) - 1)

void (*gw_h2_route)(gw_req_t *req) = gw_route_request;

struct gw_h2_stream {
    gw_h2_conn_t *h;
    gw_h2_stream_t *prev, *next;
    int32_t id;
    tk_arena_t *arena;
    gw_req_t *req; /* NULL once the request is released */
    /* the request head being received */
    tk_http_head_t *head;
    uint32_t cap_hdrs;
    const char *authority;
    size_t authority_len;
    size_t hdr_bytes;
    bool too_large; /* header list over the limit: answered 431 */
    bool refused;
    /* request body */
    struct evbuffer *in; /* DATA received before the pipeline wants it (not acknowledged) */
    size_t unconsumed;   /* forwarded upstream but not yet acknowledged (upstream full) */
    bool body_eof;       /* END_STREAM received */
    bool body_eof_given; /* gw_proxy_on_body_done / the handler ran */
    bool body_blocked;   /* the upstream was full when the last piece went */
    /* response */
    struct evbuffer *out; /* body waiting for the client's window */
    struct evbuffer *trailers;
    bool has_provider; /* the response has a DATA part */
    bool out_eof;
    bool deferred;
    bool drained; /* bytes left `out`: tell the proxy */
};

struct gw_h2_conn {
    gw_conn_t *c;
    nghttp2_session *ss;
    gw_h2_stream_t *streams;
    size_t nstreams;
    size_t pending; /* bytes in the streams' `out` */
    struct event *send_ev;
    bool in_recv;
    bool flushing;
    bool want_send;
    bool send_scheduled;
    bool block_hit; /* gw_h2_block_body(true) during the current delivery */
    bool idle_armed;
    bool closing;
    size_t max_hdr;
    double reset_tokens;
    uint64_t reset_at_ms;
    tk_arena_t *arenas[ARENA_POOL];
    size_t narenas;
};

static const gw_conf_t *conf_of(const gw_conn_t *c)
{
    return c->w->srv->conf;
}

/* ---- streams ---- */

static tk_arena_t *arena_get(gw_h2_conn_t *h)
{
    if (h->narenas)
        return h->arenas[--h->narenas];
    return tk_arena_new(8192, (size_t)conf_of(h->c)->turnpike_max_request_memory);
}

static void arena_put(gw_h2_conn_t *h, tk_arena_t *a)
{
    if (!a)
        return;
    if (h->narenas < ARENA_POOL) {
        tk_arena_reset(a);
        h->arenas[h->narenas++] = a;
    } else {
        tk_arena_free(a);
    }
}

static gw_h2_stream_t *stream_new(gw_h2_conn_t *h, int32_t id)
{
    gw_h2_stream_t *s = tk_xcalloc(1, sizeof(*s));
    s->h = h;
    s->id = id;
    s->arena = arena_get(h);
    s->head = tk_arena_zalloc(s->arena, sizeof(*s->head));
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    h->nstreams++;
    if (h->idle_armed) {
        evtimer_del(h->c->timer);
        h->idle_armed = false;
    }
    return s;
}

static void stream_free(gw_h2_stream_t *s)
{
    gw_h2_conn_t *h = s->h;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->nstreams--;
    if (s->out) {
        h->pending -= evbuffer_get_length(s->out);
        evbuffer_free(s->out);
    }
    if (s->in)
        evbuffer_free(s->in);
    if (s->trailers)
        evbuffer_free(s->trailers);
    arena_put(h, s->arena);
    free(s);
}

static void schedule_send(gw_h2_conn_t *h)
{
    if (h->in_recv || h->flushing) {
        h->want_send = true;
        return;
    }
    if (!h->send_scheduled) {
        h->send_scheduled = true;
        event_active(h->send_ev, EV_TIMEOUT, 0);
    }
}

/* ---- request bodies ---- */

static void consume(gw_h2_stream_t *s, size_t n)
{
    if (n && nghttp2_session_consume(s->h->ss, s->id, n) == 0)
        schedule_send(s->h);
}

static void body_end(gw_h2_stream_t *s)
{
    gw_req_t *req = s->req;
    s->body_eof_given = true;
    req->body_done = true;
    if (req->kind == GW_REQ_BUFFERED) {
        if (req->body_too_large)
            gw_respond_json(req, 413,
                            "{\"status\":\"error\",\"message\":\"Request is too large\"}");
        else if (!req->responded)
            req->handler(req);
        return;
    }
    gw_proxy_on_body_done(req);
}

/* Hands one piece of the body to the request; acknowledges it unless the upstream is full. */
static void body_piece(gw_h2_stream_t *s, const char *p, size_t n)
{
    gw_req_t *req = s->req;
    if (req->kind == GW_REQ_BUFFERED) {
        if (req->body_too_large || evbuffer_get_length(req->body) + n > req->body_limit)
            req->body_too_large = true;
        else
            evbuffer_add(req->body, p, n);
        consume(s, n);
        return;
    }
    s->h->block_hit = false;
    gw_proxy_on_body(req, p, n);
    if (s->h->block_hit) {
        s->body_blocked = true;
        s->unconsumed += n;
    } else {
        consume(s, n);
    }
}

/* Delivers what waits in s->in (and the end of the body) while the request takes it. */
static void body_flush(gw_h2_stream_t *s)
{
    while (s->req && s->req->want_body && !s->body_blocked && s->in && evbuffer_get_length(s->in)) {
        size_t n = evbuffer_get_contiguous_space(s->in);
        if (n > 16384)
            n = 16384;
        char buf[16384];
        evbuffer_remove(s->in, buf, n);
        body_piece(s, buf, n);
    }
    if (s->req && s->req->want_body && s->body_eof && !s->body_eof_given &&
        (!s->in || evbuffer_get_length(s->in) == 0))
        body_end(s);
}

void gw_h2_block_body(gw_conn_t *c, bool block)
{
    gw_h2_conn_t *h = c->h2;
    if (block) {
        h->block_hit = true;
        return;
    }
    for (gw_h2_stream_t *s = h->streams; s; s = s->next) {
        if (!s->body_blocked)
            continue;
        s->body_blocked = false;
        size_t n = s->unconsumed;
        s->unconsumed = 0;
        consume(s, n);
    }
    for (gw_h2_stream_t *s = h->streams; s; s = s->next)
        if (s->req && s->in && evbuffer_get_length(s->in))
            body_flush(s);
}

void gw_h2_resume_body(gw_req_t *req)
{
    body_flush(req->h2);
}

/* ---- request heads ---- */

static bool add_header(gw_h2_stream_t *s, const char *name, size_t nl, const char *value, size_t vl)
{
    tk_http_head_t *hd = s->head;
    if (hd->nhdrs == s->cap_hdrs) {
        uint32_t cap = s->cap_hdrs ? s->cap_hdrs * 2 : 16;
        tk_http_hdr_t *v = tk_arena_alloc(s->arena, cap * sizeof(*v));
        if (!v)
            return false;
        if (hd->nhdrs)
            memcpy(v, hd->hdrs, hd->nhdrs * sizeof(*v));
        hd->hdrs = v;
        s->cap_hdrs = cap;
    }
    char *n = tk_arena_strndup(s->arena, name, nl);
    char *v = tk_arena_strndup(s->arena, value, vl);
    if (!n || !v)
        return false;
    hd->hdrs[hd->nhdrs++] = (tk_http_hdr_t){n, v, (uint32_t)nl, (uint32_t)vl};
    return true;
}

static int on_begin_headers(nghttp2_session *ss, const nghttp2_frame *frame, void *ud)
{
    gw_h2_conn_t *h = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    gw_h2_stream_t *s = stream_new(h, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(ss, frame->hd.stream_id, s);
    return 0;
}

static int on_header(nghttp2_session *ss, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    TK_UNUSED(flags);
    gw_h2_conn_t *h = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* request trailers are not forwarded */
    gw_h2_stream_t *s = nghttp2_session_get_stream_user_data(ss, frame->hd.stream_id);
    if (!s || !s->head)
        return 0;
    /* RFC 9113 §6.5.2: each field counts its name, value and 32 octets. */
    s->hdr_bytes += nl + vl + 32;
    if (s->hdr_bytes > h->max_hdr * HDR_FLOOD_FACTOR) {
        tk_log_debug("client %s: HTTP/2 header flood", h->c->peer);
        nghttp2_session_terminate_session(ss, NGHTTP2_ENHANCE_YOUR_CALM);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    if (s->hdr_bytes > h->max_hdr) {
        s->too_large = true;
        return 0;
    }
    const char *n = (const char *)name, *v = (const char *)value;
    tk_http_head_t *hd = s->head;
    if (nl && n[0] == ':') {
        if (nl == 7 && memcmp(n, ":method", 7) == 0) {
            hd->method = tk_arena_strndup(s->arena, v, vl);
            hd->method_len = (uint32_t)vl;
        } else if (nl == 5 && memcmp(n, ":path", 5) == 0) {
            hd->url = tk_arena_strndup(s->arena, v, vl);
            hd->url_len = (uint32_t)vl;
        } else if (nl == 10 && memcmp(n, ":authority", 10) == 0) {
            s->authority = tk_arena_strndup(s->arena, v, vl);
            s->authority_len = vl;
        }
        return 0;
    }
    if (nl == 14 && memcmp(n, "content-length", 14) == 0) {
        int64_t cl = 0;
        for (size_t i = 0; i < vl && cl < INT64_MAX / 10; i++)
            cl = cl * 10 + (v[i] - '0'); /* nghttp2 checked the digits */
        hd->content_length = cl;
    }
    if (!add_header(s, n, nl, v, vl))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

/* The whole header block is in: a gateway request starts. */
static void start_request(gw_h2_conn_t *h, gw_h2_stream_t *s, bool end_stream)
{
    tk_http_head_t *hd = s->head;
    /* nghttp2 already insisted on :method, :scheme and :path (except for CONNECT). */
    if (!hd->method || !hd->url) {
        nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_REFUSED_STREAM);
        s->refused = true;
        return;
    }
    if (s->authority && !tk_http_head_find(hd, "host"))
        add_header(s, "host", 4, s->authority, s->authority_len);
    hd->major = 2;
    hd->minor = 0;
    hd->keep_alive = true;
    hd->has_body = !end_stream;
    if (!tk_http_head_find(hd, "content-length"))
        hd->content_length = -1;
    /* A body of unknown length goes upstream chunk-encoded. */
    hd->chunked = hd->has_body && hd->content_length < 0;
    gw_req_t *req = gw_req_new(h->c, s->arena, hd);
    if (!req) {
        nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
        s->refused = true;
        return;
    }
    req->h2 = s;
    s->req = req;
    s->body_eof = end_stream;
    s->body_eof_given = end_stream;
    if (s->too_large) {
        static const char msg[] = "431 Request Header Fields Too Large";
        gw_respond(req, 431, "text/plain; charset=utf-8", msg, sizeof(msg) - 1, NULL);
        return;
    }
    gw_h2_route(req);
    /* A whole request in one HEADERS frame: a buffered handler runs now, as HTTP/1 runs it at
     * the message's end. */
    if (end_stream && s->req == req && req->kind == GW_REQ_BUFFERED && !req->responded)
        req->handler(req);
}

static int on_frame_recv(nghttp2_session *ss, const nghttp2_frame *frame, void *ud)
{
    gw_h2_conn_t *h = ud;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        uint64_t now = tk_now_ms();
        h->reset_tokens += (double)(now - h->reset_at_ms) * RESET_RATE / 1000.0;
        if (h->reset_tokens > RESET_BURST)
            h->reset_tokens = RESET_BURST;
        h->reset_at_ms = now;
        if (h->reset_tokens < 1) {
            tk_log_debug("client %s: HTTP/2 rapid reset", h->c->peer);
            nghttp2_session_terminate_session(ss, NGHTTP2_ENHANCE_YOUR_CALM);
            return 0;
        }
        h->reset_tokens -= 1;
        return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    gw_h2_stream_t *s = nghttp2_session_get_stream_user_data(ss, frame->hd.stream_id);
    if (!s || s->refused)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        start_request(h, s, end);
        return 0;
    }
    if (end && !s->body_eof) {
        s->body_eof = true;
        if (s->req)
            body_flush(s);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    TK_UNUSED(flags);
    TK_UNUSED(ud);
    gw_h2_stream_t *s = nghttp2_session_get_stream_user_data(ss, id);
    if (!s || !s->req) {
        nghttp2_session_consume(ss, id, len); /* nobody wants it: keep the windows open */
        return 0;
    }
    if (s->req->want_body && !s->body_blocked && (!s->in || evbuffer_get_length(s->in) == 0)) {
        body_piece(s, (const char *)data, len);
        return 0;
    }
    /* Held until the pipeline or the upstream takes it; the window bounds how much. */
    if (!s->in)
        s->in = evbuffer_new();
    evbuffer_add(s->in, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *ss, int32_t id, uint32_t error_code, void *ud)
{
    TK_UNUSED(error_code);
    TK_UNUSED(ud);
    gw_h2_stream_t *s = nghttp2_session_get_stream_user_data(ss, id);
    if (!s)
        return 0;
    nghttp2_session_set_stream_user_data(ss, id, NULL);
    if (s->req)
        gw_req_client_gone(s->req); /* reset by the client: detaches */
    stream_free(s);
    return 0;
}

/* ---- responses ---- */

static ssize_t read_body(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
    gw_h2_conn_t *h = ud;
    gw_h2_stream_t *s = source->ptr;
    size_t avail = s->out ? evbuffer_get_length(s->out) : 0;
    if (avail == 0 && !s->out_eof) {
        s->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < length ? avail : length;
    if (n) {
        evbuffer_remove(s->out, buf, n);
        h->pending -= n;
        s->drained = true;
    }
    if (s->out_eof && n == avail) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->trailers && evbuffer_get_length(s->trailers)) {
            nghttp2_nv nv[64];
            size_t nnv = 0;
            char *p = (char *)evbuffer_pullup(s->trailers, -1);
            char *end = p + evbuffer_get_length(s->trailers);
            while (p < end && nnv < 64) {
                char *eol = memchr(p, '\n', (size_t)(end - p));
                char *le = eol ? eol : end;
                char *colon = memchr(p, ':', (size_t)(le - p));
                size_t ll = (size_t)(le - p);
                if (ll && p[ll - 1] == '\r')
                    ll--;
                if (colon && colon > p) {
                    char *v = colon + 1;
                    while (v < p + ll && (*v == ' ' || *v == '\t'))
                        v++;
                    for (char *q = p; q < colon; q++)
                        *q = (char)tolower((unsigned char)*q);
                    nv[nnv++] = (nghttp2_nv){(uint8_t *)p, (uint8_t *)v, (size_t)(colon - p),
                                             (size_t)(p + ll - v), NGHTTP2_NV_FLAG_NONE};
                }
                p = eol ? eol + 1 : end;
            }
            if (nnv && nghttp2_submit_trailer(ss, id, nv, nnv) == 0)
                *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

/* Connection-specific fields have no place in HTTP/2 (RFC 9113 §8.2.2). */
static bool connection_specific(const char *n, size_t l)
{
    return tk_str_ieq(n, l, "connection") || tk_str_ieq(n, l, "keep-alive") ||
           tk_str_ieq(n, l, "proxy-connection") || tk_str_ieq(n, l, "transfer-encoding") ||
           tk_str_ieq(n, l, "upgrade") || tk_str_ieq(n, l, "te");
}

/* Appends "Name: value\r\n" lines of @p..@end to @nv, names lowered (into @arena copies). */
static size_t lines_to_nv(tk_arena_t *arena, const char *p, const char *end, nghttp2_nv *nv,
                          size_t n, size_t cap)
{
    while (p < end && n < cap) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        size_t ll = (size_t)(le - p);
        if (ll && p[ll - 1] == '\r')
            ll--;
        const char *colon = memchr(p, ':', ll);
        if (colon && colon > p && !connection_specific(p, (size_t)(colon - p))) {
            size_t nl = (size_t)(colon - p);
            char *name = tk_arena_alloc(arena, nl);
            if (!name)
                break;
            for (size_t i = 0; i < nl; i++)
                name[i] = (char)tolower((unsigned char)p[i]);
            const char *v = colon + 1;
            while (v < p + ll && (*v == ' ' || *v == '\t'))
                v++;
            nv[n++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)v, nl, (size_t)(p + ll - v),
                                   NGHTTP2_NV_FLAG_NONE};
        }
        p = eol ? eol + 1 : end;
    }
    return n;
}

static bool is_head_method(const gw_req_t *req)
{
    return req->head->method_len == 4 && memcmp(req->head->method, "HEAD", 4) == 0;
}

void gw_h2_write_head(gw_req_t *req, int status, struct evbuffer *hdrs, int64_t content_length,
                      bool body)
{
    gw_h2_stream_t *s = req->h2;
    gw_h2_conn_t *h = s->h;
    if (status < 200) { /* informational answers are not relayed */
        if (hdrs)
            evbuffer_drain(hdrs, evbuffer_get_length(hdrs));
        return;
    }
    req->responded = true;
    req->status = status;
    size_t cap = 8;
    size_t hl = hdrs ? evbuffer_get_length(hdrs) : 0;
    const char *hp = hl ? (const char *)evbuffer_pullup(hdrs, -1) : NULL;
    size_t rl = req->resp_headers ? strlen(req->resp_headers) : 0;
    for (size_t i = 0; i < hl; i++)
        cap += hp[i] == '\n';
    for (size_t i = 0; i < rl; i++)
        cap += req->resp_headers[i] == '\n';
    nghttp2_nv *nv = tk_arena_alloc(req->arena, cap * sizeof(*nv));
    char *st = tk_arena_printf(req->arena, "%d", status);
    if (!nv || !st) {
        gw_h2_reset(req);
        return;
    }
    size_t n = 0;
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)st, 7, strlen(st),
                           NGHTTP2_NV_FLAG_NO_COPY_NAME};
    if (hl)
        n = lines_to_nv(req->arena, hp, hp + hl, nv, n, cap - 2);
    if (rl)
        n = lines_to_nv(req->arena, req->resp_headers, req->resp_headers + rl, nv, n, cap - 2);
    const char *date = gw_worker_date(h->c->w);
    nv[n++] = (nghttp2_nv){(uint8_t *)"date", (uint8_t *)date, 4, strlen(date),
                           NGHTTP2_NV_FLAG_NO_COPY_NAME};
    char *cl = NULL;
    if (content_length >= 0 &&
        (cl = tk_arena_printf(req->arena, "%lld", (long long)content_length)))
        nv[n++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)cl, 14, strlen(cl),
                               NGHTTP2_NV_FLAG_NO_COPY_NAME};
    s->has_provider =
        !is_head_method(req) && status != 204 && status != 304 && (body || content_length > 0);
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = read_body};
    if (nghttp2_submit_response(h->ss, s->id, nv, n, s->has_provider ? &prd : NULL) != 0)
        s->has_provider = false;
    if (hdrs)
        evbuffer_drain(hdrs, hl);
    schedule_send(h);
}

static void resume(gw_h2_stream_t *s)
{
    if (s->deferred) {
        s->deferred = false;
        nghttp2_session_resume_data(s->h->ss, s->id);
    }
    schedule_send(s->h);
}

void gw_h2_write_body(gw_req_t *req, const void *p, size_t n)
{
    gw_h2_stream_t *s = req->h2;
    if (!n || !s->has_provider || s->out_eof)
        return;
    if (!s->out)
        s->out = evbuffer_new();
    evbuffer_add(s->out, p, n);
    s->h->pending += n;
    resume(s);
}

void gw_h2_write_trailers(gw_req_t *req, struct evbuffer *lines)
{
    gw_h2_stream_t *s = req->h2;
    if (!s->trailers)
        s->trailers = evbuffer_new();
    evbuffer_add_buffer(s->trailers, lines);
}

void gw_h2_finish(gw_req_t *req)
{
    gw_h2_stream_t *s = req->h2;
    s->out_eof = true;
    if (s->has_provider)
        resume(s);
}

void gw_h2_reset(gw_req_t *req)
{
    gw_h2_stream_t *s = req->h2;
    nghttp2_submit_rst_stream(s->h->ss, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    s->out_eof = true;
    schedule_send(s->h);
}

size_t gw_h2_out_len(const gw_req_t *req)
{
    const gw_h2_stream_t *s = req->h2;
    size_t mine = s->out ? evbuffer_get_length(s->out) : 0;
    size_t n = mine + gw_conn_out_len(s->h->c);
    /* Many streams together may not hold more than the budget: the ones holding bytes wait. */
    if (mine && s->h->pending > CONN_BUDGET)
        n += PROXY_HIGH;
    return n;
}

void gw_h2_detach(gw_req_t *req)
{
    gw_h2_stream_t *s = req->h2;
    req->h2 = NULL;
    s->req = NULL;
    tk_arena_t *a = s->arena;
    s->arena = NULL;
    s->head = NULL;
    /* What is left of the body is not wanted: let the client send on. */
    if (s->unconsumed || (s->in && evbuffer_get_length(s->in))) {
        consume(s, s->unconsumed + (s->in ? evbuffer_get_length(s->in) : 0));
        s->unconsumed = 0;
        if (s->in)
            evbuffer_drain(s->in, evbuffer_get_length(s->in));
    }
    s->body_blocked = false;
    arena_put(s->h, a);
}

/* ---- the connection ---- */

static void close_if_done(gw_h2_conn_t *h)
{
    if (!nghttp2_session_want_read(h->ss) && !nghttp2_session_want_write(h->ss) && !h->c->closing) {
        h->closing = true;
        gw_conn_close(h->c);
    }
}

static void flush(gw_h2_conn_t *h)
{
    gw_conn_t *c = h->c;
    if (h->flushing || c->closing || c->dead)
        return;
    bool held = gw_conn_hold(c);
    h->flushing = true;
    struct evbuffer *out = tk_stream_output(c->st);
    do {
        h->want_send = false;
        while (evbuffer_get_length(out) < SOCK_HIGH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(h->ss, &data);
            if (n < 0) {
                tk_log_debug("client %s: HTTP/2: %s", c->peer, nghttp2_strerror((int)n));
                h->closing = true;
                break;
            }
            if (n == 0)
                break;
            evbuffer_add(out, data, (size_t)n);
        }
        if (h->closing)
            break;
        /* Streams whose queued output went down: the proxy may read its upstream again. */
        for (gw_h2_stream_t *s = h->streams; s; s = s->next) {
            if (!s->drained)
                continue;
            s->drained = false;
            if (s->req && s->req->kind == GW_REQ_PROXY)
                gw_proxy_client_drained(s->req);
        }
    } while (h->want_send && !c->dead && !c->closing);
    h->flushing = false;
    if (h->closing && !c->closing && !c->dead)
        gw_conn_close(c);
    else if (!c->dead && !c->closing)
        close_if_done(h);
    if (!c->dead && !c->closing && h->nstreams == 0 && !h->idle_armed) {
        const gw_conf_t *conf = conf_of(c);
        struct timeval tv = {conf->turnpike_idle_timeout > 0 ? conf->turnpike_idle_timeout : 120,
                             0};
        evtimer_add(c->timer, &tv);
        h->idle_armed = true;
    }
    gw_conn_release(c, held);
}

static void on_send_ev(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_h2_conn_t *h = arg;
    h->send_scheduled = false;
    flush(h);
}

void gw_h2_on_input(gw_conn_t *c)
{
    gw_h2_conn_t *h = c->h2;
    struct evbuffer *in = tk_stream_input(c->st);
    size_t len;
    while (!c->closing && !c->dead && (len = evbuffer_get_length(in)) > 0) {
        size_t chunk = evbuffer_get_contiguous_space(in);
        const uint8_t *data = evbuffer_pullup(in, (ssize_t)chunk);
        h->in_recv = true;
        ssize_t rc = nghttp2_session_mem_recv(h->ss, data, chunk);
        h->in_recv = false;
        if (rc < 0) {
            tk_log_debug("client %s: HTTP/2: %s", c->peer, nghttp2_strerror((int)rc));
            evbuffer_drain(in, len);
            if (rc != NGHTTP2_ERR_BAD_CLIENT_MAGIC && rc != NGHTTP2_ERR_NOMEM)
                nghttp2_session_terminate_session(h->ss, NGHTTP2_PROTOCOL_ERROR);
            else
                h->closing = true;
            break;
        }
        evbuffer_drain(in, (size_t)rc);
    }
    if (h->closing && !c->closing && !c->dead) {
        gw_conn_close(c);
        return;
    }
    flush(h);
}

void gw_h2_on_drain(gw_conn_t *c)
{
    flush(c->h2);
}

void gw_h2_shutdown(gw_conn_t *c)
{
    gw_h2_conn_t *h = c->h2;
    if (c->closing || c->dead)
        return;
    h->idle_armed = false;
    nghttp2_submit_goaway(h->ss, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->ss),
                          NGHTTP2_NO_ERROR, NULL, 0);
    flush(h);
}

void gw_h2_free(gw_conn_t *c)
{
    gw_h2_conn_t *h = c->h2;
    while (h->streams) {
        gw_h2_stream_t *s = h->streams;
        if (s->req)
            gw_req_client_gone(s->req);
        stream_free(s);
    }
    nghttp2_session_del(h->ss);
    event_free(h->send_ev);
    for (size_t i = 0; i < h->narenas; i++)
        tk_arena_free(h->arenas[i]);
    free(h);
    c->h2 = NULL;
}

/* ---- set-up ---- */

static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_globals(void)
{
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_option_new(&options);
    nghttp2_option_set_no_auto_window_update(options, 1);
    nghttp2_option_set_stream_reset_rate_limit(options, RESET_BURST * 2, RESET_RATE * 2);
    nghttp2_option_set_max_continuations(options, 8);
    nghttp2_option_set_max_settings(options, 32);
}

static int start(gw_conn_t *c)
{
    pthread_once(&init_once, init_globals);
    gw_h2_conn_t *h = tk_xcalloc(1, sizeof(*h));
    h->c = c;
    h->reset_tokens = RESET_BURST;
    h->reset_at_ms = tk_now_ms();
    int64_t mh = conf_of(c)->turnpike_max_header_size;
    h->max_hdr = mh > 0 ? (size_t)mh : 1024 * 1024;
    if (nghttp2_session_server_new2(&h->ss, callbacks, h, options) != 0) {
        free(h);
        return TK_ERROR;
    }
    h->send_ev = event_new(c->w->base, -1, 0, on_send_ev, h);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)TK_MIN(h->max_hdr, UINT32_MAX)},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    nghttp2_submit_settings(h->ss, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    nghttp2_session_set_local_window_size(h->ss, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
    c->h2 = h;
    return TK_OK;
}

int gw_h2_detect(gw_conn_t *c)
{
    if (!conf_of(c)->hso_enable_http2)
        return GW_H2_NO;
    SSL *ssl = tk_stream_ssl(c->st);
    if (ssl) {
        const unsigned char *p = NULL;
        unsigned int n = 0;
        SSL_get0_alpn_selected(ssl, &p, &n);
        if (n != 2 || memcmp(p, "h2", 2) != 0)
            return GW_H2_NO;
    } else {
        struct evbuffer *in = tk_stream_input(c->st);
        size_t len = evbuffer_get_length(in);
        size_t k = len < PREFACE_LEN ? len : PREFACE_LEN;
        if (memcmp(evbuffer_pullup(in, (ssize_t)k), PREFACE, k) != 0)
            return GW_H2_NO;
        if (k < PREFACE_LEN)
            return GW_H2_MORE;
    }
    if (start(c) != TK_OK)
        return GW_H2_NO;
    return GW_H2_YES;
}
