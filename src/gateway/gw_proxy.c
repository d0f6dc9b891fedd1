/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reverse proxy: picks the target, joins paths as Tyk does, rewrites headers, keeps
 * upstream connections alive per worker, and streams bodies both ways with backpressure.
 */
#include "tk_net.h"
#include "gw_certstore.h"
#include "gw_discovery.h"
#include "gw_endpoints.h"
#include "gw_http.h"
#include "gw_proxy_h2.h"
#include "gw_resp_filter.h"
#include "gw_req_body.h"
#include "gw_rewrite.h"
#include "gw_uptime.h"
#include "gw_ws.h"

#include "tk_log.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <strings.h>

#define HIGH_WATER (256 * 1024)
#define LOW_WATER (64 * 1024)
#define MAX_UPSTREAM_HEAD (64 * 1024)

struct gw_upconn {
    gw_worker_t *w;
    tk_stream_t *st;
    tk_h1_parser_t *parser;
    gw_pool_bucket_t *bucket;
    gw_upconn_t *next_idle;
    gw_req_t *req;
    struct evdns_getaddrinfo_request *dns_req;
    char *host; /* for SNI and verification */
    int port;
    bool tls, verify;
    SSL_CTX *client_ctx; /* presents an upstream client certificate; NULL: the shared ones */
    bool reused;
    bool resp_started;
    bool resp_complete;
    bool informational; /* current response is 1xx */
    bool keep_alive;    /* the upstream allows another request on this connection */
    bool read_blocked;
    bool in_process;
    bool dead;
    uint64_t idle_since_ms;
};

static void up_process(gw_upconn_t *up);
static void up_free(gw_upconn_t *up);
static void proxy_connect(gw_req_t *req);

static const gw_conf_t *conf_of(const gw_req_t *req)
{
    return req->conn->w->srv->conf;
}

/* ---- path joining (Tyk's singleJoiningSlash) ---- */

static char *join_path(tk_arena_t *a, const char *base, const char *rest, bool disable_strip)
{
    size_t bl = strlen(base), rl = strlen(rest);
    if (disable_strip && (rl == 0 || (rl == 1 && rest[0] == '/')))
        return tk_arena_strndup(a, base, bl);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    while (rl > 0 && rest[0] == '/') {
        rest++;
        rl--;
    }
    if (rl == 0)
        return tk_arena_strndup(a, base, bl);
    char *out = tk_arena_alloc(a, bl + rl + 2);
    if (!out)
        return NULL;
    memcpy(out, base, bl);
    out[bl] = '/';
    memcpy(out + bl + 1, rest, rl);
    out[bl + rl + 1] = '\0';
    return out;
}

/* Upstream request target: path joined with the target's path, queries merged. */
static char *upstream_uri(gw_req_t *req)
{
    const gw_api_t *api = req->api;
    const gw_target_t *t = req->target;
    const char *p = req->path;
    if (api->strip_listen_path) {
        p = req->path + req->matched;
        if (*p != '/') {
            char *s = tk_arena_printf(req->arena, "/%s", p);
            if (!s)
                return NULL;
            p = s;
        }
    }
    char *path = join_path(req->arena, t->path, p, api->disable_strip_slash);
    if (!path)
        return NULL;
    if (!*path)
        path = "/";
    else if (*path != '/')
        path = tk_arena_printf(req->arena, "/%s", path);
    const char *tq = t->query, *rq = req->query;
    if (tq && *tq && rq && *rq)
        return tk_arena_printf(req->arena, "%s?%s&%s", path, tq, rq);
    if ((tq && *tq) || (rq && *rq))
        return tk_arena_printf(req->arena, "%s?%s", path, (tq && *tq) ? tq : rq);
    return path;
}

/* ---- header rules ---- */

bool gw_http_hop_by_hop(const char *n, size_t l)
{
    static const char *const hop[] = {"connection",
                                      "proxy-connection",
                                      "keep-alive",
                                      "proxy-authenticate",
                                      "proxy-authorization",
                                      "te",
                                      "trailer",
                                      "transfer-encoding",
                                      "upgrade"};
    for (size_t i = 0; i < TK_ARRAY_LEN(hop); i++)
        if (tk_str_ieq(n, l, hop[i]))
            return true;
    return false;
}

/* True if header @h must not cross the proxy: hop-by-hop or named in Connection. */
static bool drop_header(const tk_http_head_t *head, const tk_http_hdr_t *h,
                        const tk_http_hdr_t *conn_hdr)
{
    if (gw_http_hop_by_hop(h->name, h->name_len)) {
        /* "TE: trailers" is allowed through (gRPC needs it). */
        return !(tk_str_ieq(h->name, h->name_len, "te") &&
                 tk_str_ieq(h->value, h->value_len, "trailers"));
    }
    if (conn_hdr) {
        char name[128];
        if (h->name_len < sizeof(name)) {
            memcpy(name, h->name, h->name_len);
            name[h->name_len] = '\0';
            for (uint32_t i = 0; i < head->nhdrs; i++) {
                const tk_http_hdr_t *ch = &head->hdrs[i];
                if (tk_str_ieq(ch->name, ch->name_len, "connection") &&
                    tk_http_value_has_token(ch->value, ch->value_len, name))
                    return true;
            }
        }
    }
    return false;
}

/* ---- sending the request ---- */

static void send_request(gw_req_t *req)
{
    gw_upconn_t *up = req->up;
    const tk_http_head_t *head = req->head;
    const gw_api_t *api = req->api;
    struct evbuffer *out = tk_stream_output(up->st);
    char *uri = upstream_uri(req);
    req->t_up_sent = tk_now_ns();
    if (!uri) {
        gw_respond_error(req, 500, "There was a problem proxying the request");
        return;
    }
    evbuffer_add(out, head->method, head->method_len);
    evbuffer_add(out, " ", 1);
    evbuffer_add(out, uri, strlen(uri));
    evbuffer_add(out, " HTTP/1.1\r\nHost: ", 17);
    const tk_http_hdr_t *host = tk_http_head_find(head, "host");
    if (api->preserve_host_header && host)
        evbuffer_add(out, host->value, host->value_len);
    else
        evbuffer_add(out, req->target->hostport, strlen(req->target->hostport));
    evbuffer_add(out, "\r\n", 2);
    const tk_http_hdr_t *conn_hdr = tk_http_head_find(head, "connection");
    for (uint32_t i = 0; i < head->nhdrs; i++) {
        const tk_http_hdr_t *h = &head->hdrs[i];
        if (tk_str_ieq(h->name, h->name_len, "host") ||
            tk_str_ieq(h->name, h->name_len, "content-length") ||
            tk_str_ieq(h->name, h->name_len, "x-forwarded-for") ||
            tk_str_ieq(h->name, h->name_len, "expect") || drop_header(head, h, conn_hdr))
            continue;
        evbuffer_add(out, h->name, h->name_len);
        evbuffer_add(out, ": ", 2);
        evbuffer_add(out, h->value, h->value_len);
        evbuffer_add(out, "\r\n", 2);
    }
    const char *up_type;
    size_t up_type_len;
    req->upgrade = gw_ws_upgrade_type(conf_of(req), head, &up_type, &up_type_len);
    if (req->upgrade)
        gw_ws_add_upgrade_headers(out, up_type, up_type_len);
    /* Prior hops joined with the client address, in one header (as Go's proxy writes it),
     * unless a header transform removed X-Forwarded-For (Tyk's CheckHeaderInRemoveList). */
    if (!req->up_no_xff) {
        evbuffer_add(out, "X-Forwarded-For: ", 17);
        for (uint32_t i = 0; i < head->nhdrs; i++) {
            const tk_http_hdr_t *h = &head->hdrs[i];
            if (!tk_str_ieq(h->name, h->name_len, "x-forwarded-for"))
                continue;
            evbuffer_add(out, h->value, h->value_len);
            evbuffer_add(out, ", ", 2);
        }
        evbuffer_add(out, req->conn->peer, strlen(req->conn->peer));
        evbuffer_add(out, "\r\n", 2);
    }
    if (req->body && req->kind == GW_REQ_PROXY && req->body_done) {
        /* A body a middleware collected (and may have rewritten) goes with its own length. */
        char cl[48];
        memcpy(cl, "Content-Length: ", 16);
        size_t n = 16 + tk_fmt_u64(cl + 16, (uint64_t)evbuffer_get_length(req->body));
        cl[n++] = '\r';
        cl[n++] = '\n';
        evbuffer_add(out, cl, n);
    } else if (head->chunked) {
        evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
        req->up_body_chunked = true;
    } else if (head->content_length >= 0) {
        char cl[48];
        memcpy(cl, "Content-Length: ", 16);
        size_t n = 16 + tk_fmt_u64(cl + 16, (uint64_t)head->content_length);
        cl[n++] = '\r';
        cl[n++] = '\n';
        evbuffer_add(out, cl, n);
    }
    evbuffer_add(out, "\r\n", 2);
    tk_h1_parser_expect_no_body(up->parser,
                                head->method_len == 4 && memcmp(head->method, "HEAD", 4) == 0);
    if (!req->body_done)
        gw_req_resume_body(req);
    else
        gw_req_body_replay(req); /* a body a middleware collected (basic auth from the body) */
}

/* ---- failures ---- */

/* The upstream failed before a response head arrived. */
static void fail_request(gw_req_t *req, int status, const char *msg)
{
    if (req->up) {
        req->up->req = NULL;
        up_free(req->up);
        req->up = NULL;
    }
    if (req->up_timer)
        evtimer_del(req->up_timer);
    tk_log_warn("api=%s upstream %s: %s", req->api->api_id, req->target->url, msg);
    if (req->on_up_fail)
        req->on_up_fail(req, req->on_up_fail_arg);
    gw_discovery_upstream_failed(req->api); /* Tyk refreshes the discovered hosts */
    gw_respond_error(req, status, msg);
}

static void on_up_timeout(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_req_t *req = arg;
    if (req->up_h2) {
        gw_proxy_h2_timeout(req);
        return;
    }
    if (req->responded) {
        gw_proxy_client_gone(req);
        gw_req_abort(req);
        return;
    }
    fail_request(req, 504, "Upstream service reached hard timeout.");
}

/* ---- response parsing ---- */

/* A 101 to an upgrade request (gw_ws.h): the client gets the head, then the two connections
 * become a tunnel. Runs inside this connection's parser: the stream only changes hands here
 * (the tunnel starts from the loop), and @up is freed once up_process unwinds. */
static void switch_protocols(gw_upconn_t *up, const tk_http_head_t *head)
{
    gw_req_t *req = up->req;
    tk_stream_t *st = up->st;
    up->st = NULL;
    up->req = NULL;
    req->up = NULL;
    if (req->up_timer)
        evtimer_del(req->up_timer);
    req->t_up_head = tk_now_ns();
    gw_ws_write_switch(req, head);
    up_free(up);
    gw_conn_switch_protocols(req, st);
}

static int on_resp_head(void *ud, tk_http_head_t *head)
{
    gw_upconn_t *up = ud;
    gw_req_t *req = up->req;
    if (!req)
        return TK_H1_ABORT;
    if (head->status == 101 && req->upgrade) {
        switch_protocols(up, head);
        return TK_H1_CONTINUE;
    }
    if (head->status >= 100 && head->status < 200 && head->status != 101) {
        up->informational = true;
        return TK_H1_CONTINUE;
    }
    up->informational = false;
    up->resp_started = true;
    req->t_up_head = tk_now_ns();
    up->keep_alive = head->keep_alive;
    if (req->up_timer)
        evtimer_del(req->up_timer);
    struct evbuffer *h = evbuffer_new();
    const tk_http_hdr_t *conn_hdr = tk_http_head_find(head, "connection");
    bool head_req = req->head->method_len == 4 && memcmp(req->head->method, "HEAD", 4) == 0;
    for (uint32_t i = 0; i < head->nhdrs; i++) {
        const tk_http_hdr_t *x = &head->hdrs[i];
        if (tk_str_ieq(x->name, x->name_len, "date") || drop_header(head, x, conn_hdr))
            continue;
        if (tk_str_ieq(x->name, x->name_len, "content-length") && !head_req)
            continue;
        evbuffer_add(h, x->name, x->name_len);
        evbuffer_add(h, ": ", 2);
        evbuffer_add(h, x->value, x->value_len);
        evbuffer_add(h, "\r\n", 2);
    }
    int status = head->status;
    /* A filter that needs the whole body holds head and body until the upstream is done. */
    if (gw_resp_filter_head(req, &status, h, head_req))
        return TK_H1_CONTINUE;
    int64_t cl;
    bool body = head->has_body;
    if (head_req || head->status == 204 || head->status == 304)
        cl = -2; /* framing headers as the upstream sent them (or none) */
    else if (!head->has_body)
        cl = 0;
    else if (head->content_length >= 0 && !head->chunked)
        cl = head->content_length;
    else
        cl = -1;
    if (gw_analytics_wants_detail(req)) {
        /* Detailed recording keeps the response as sent, for RawResponse. */
        req->an_resp = evbuffer_new();
        evbuffer_add_printf(req->an_resp, "HTTP/1.1 %d %s\r\n", head->status,
                            tk_http_reason(head->status));
        evbuffer_add(req->an_resp, evbuffer_pullup(h, -1), evbuffer_get_length(h));
        evbuffer_add(req->an_resp, "\r\n", 2);
    }
    gw_req_write_head(req, status, h, cl, body);
    evbuffer_free(h);
    return TK_H1_CONTINUE;
}

static int on_resp_body(void *ud, const char *p, size_t n)
{
    gw_upconn_t *up = ud;
    gw_req_t *req = up->req;
    if (!req)
        return TK_H1_ABORT;
    if (req->resp_buffering) {
        if (evbuffer_get_length(req->resp_hold_body) + n <= GW_RESP_FILTER_MAX_BODY)
            evbuffer_add(req->resp_hold_body, p, n);
        else
            req->resp_hold_status = -1; /* too large to filter: answered 500 at the end */
        return TK_H1_CONTINUE;
    }
    gw_req_write_body(req, p, n);
    if (req->an_resp && evbuffer_get_length(req->an_resp) < GW_ANALYTICS_MAX_RAW)
        evbuffer_add(req->an_resp, p, TK_MIN(n, GW_ANALYTICS_MAX_RAW));
    if (gw_req_out_len(req) > HIGH_WATER && !up->read_blocked) {
        up->read_blocked = true;
        tk_stream_read(up->st, false);
    }
    return TK_H1_CONTINUE;
}

static int on_resp_done(void *ud)
{
    gw_upconn_t *up = ud;
    if (!up->informational)
        up->resp_complete = true;
    return TK_H1_CONTINUE;
}

static const tk_h1_callbacks_t resp_callbacks = {on_resp_head, on_resp_body, on_resp_done};

/* ---- the pool ---- */

static gw_pool_bucket_t *bucket_for(gw_worker_t *w, const char *key)
{
    for (gw_pool_bucket_t *b = w->pool; b; b = b->next)
        if (strcmp(b->key, key) == 0)
            return b;
    gw_pool_bucket_t *b = tk_xcalloc(1, sizeof(*b));
    b->key = tk_xstrdup(key);
    b->next = w->pool;
    w->pool = b;
    return b;
}

static void pool_remove(gw_upconn_t *up)
{
    gw_pool_bucket_t *b = up->bucket;
    for (gw_upconn_t **pp = &b->idle; *pp; pp = &(*pp)->next_idle) {
        if (*pp == up) {
            *pp = up->next_idle;
            b->nidle--;
            return;
        }
    }
}

static void up_free(gw_upconn_t *up)
{
    if (up->in_process) {
        up->dead = true;
        return;
    }
    if (up->dns_req) {
        /* The resolver calls back with EVUTIL_EAI_CANCEL; free there. */
        up->dead = true;
        struct evdns_getaddrinfo_request *r = up->dns_req;
        up->dns_req = NULL;
        evdns_getaddrinfo_cancel(r);
        return;
    }
    if (!up->req && up->bucket && !up->dead)
        pool_remove(up);
    if (up->st)
        tk_stream_free(up->st);
    tk_h1_parser_free(up->parser);
    SSL_CTX_free(up->client_ctx);
    free(up->host);
    free(up);
}

static void pool_put(gw_upconn_t *up)
{
    gw_pool_bucket_t *b = up->bucket;
    const gw_conf_t *conf = up->w->srv->conf;
    size_t max =
        conf->max_idle_connections_per_host > 0 ? (size_t)conf->max_idle_connections_per_host : 100;
    up->req = NULL;
    if (b->nidle >= max || up->w->draining) {
        up_free(up);
        return;
    }
    tk_h1_parser_resume(up->parser);
    up->resp_started = up->resp_complete = false;
    up->idle_since_ms = tk_now_ms();
    up->next_idle = b->idle;
    b->idle = up;
    b->nidle++;
    if (up->read_blocked) {
        up->read_blocked = false;
        tk_stream_read(up->st, true);
    }
}

void gw_pool_sweep(gw_worker_t *w, uint64_t max_idle_ms)
{
    gw_proxy_h2_sweep(w, max_idle_ms);
    uint64_t now = tk_now_ms();
    for (gw_pool_bucket_t *b = w->pool; b; b = b->next) {
        gw_upconn_t **pp = &b->idle;
        while (*pp) {
            gw_upconn_t *up = *pp;
            if (max_idle_ms == 0 || now - up->idle_since_ms > max_idle_ms) {
                *pp = up->next_idle;
                b->nidle--;
                up->bucket = NULL;
                up_free(up);
            } else {
                pp = &up->next_idle;
            }
        }
    }
}

void gw_pool_free(gw_worker_t *w)
{
    gw_proxy_h2_free_all(w);
    gw_pool_sweep(w, 0);
    while (w->pool) {
        gw_pool_bucket_t *b = w->pool;
        w->pool = b->next;
        free(b->key);
        free(b);
    }
}

/* ---- upstream connection events ---- */

/* A response held for on_body filters: run them, then send head and body in one go. */
static void finish_held(gw_req_t *req)
{
    req->resp_buffering = false;
    int status = req->resp_hold_status;
    if (status < 0) {
        gw_respond_error(req, 500, "There was a problem proxying the request");
        return;
    }
    for (uint8_t i = 0; i < req->n_resp_filters; i++) {
        const gw_resp_filter_def_t *f = req->resp_filters[i];
        if (!f->on_body)
            continue;
        req->err_status = 0;
        req->err_msg = NULL;
        if (f->on_body(req, req->resp_filter_args[i], &status, req->resp_hold_hdrs,
                       req->resp_hold_body) != TK_OK) {
            gw_respond_error(req, req->err_status ? req->err_status : 500,
                             req->err_msg ? req->err_msg
                                          : "There was a problem proxying the request");
            return;
        }
    }
    size_t n = evbuffer_get_length(req->resp_hold_body);
    gw_req_write_head(req, status, req->resp_hold_hdrs, (int64_t)n, n > 0);
    if (req->an_resp && evbuffer_get_length(req->an_resp) < GW_ANALYTICS_MAX_RAW)
        evbuffer_add(req->an_resp, evbuffer_pullup(req->resp_hold_body, -1),
                     TK_MIN(n, GW_ANALYTICS_MAX_RAW));
    gw_req_write_body(req, evbuffer_pullup(req->resp_hold_body, -1), n); /* HTTP/1 or h2 */
    gw_req_finish(req);
}

static void up_complete(gw_upconn_t *up)
{
    gw_req_t *req = up->req;
    bool reuse = req->body_done && up->keep_alive && !conf_of(req)->proxy_close_connections;
    req->up = NULL;
    if (reuse && up->st && up->parser) {
        struct evbuffer *in = tk_stream_input(up->st);
        reuse = evbuffer_get_length(in) == 0;
    }
    if (reuse)
        pool_put(up);
    else {
        up->req = NULL;
        up_free(up);
    }
    if (req->resp_buffering) {
        finish_held(req);
        return;
    }
    gw_req_finish(req);
}

/* An upstream connection ended or broke before its response completed. */
static void up_broken(gw_upconn_t *up, const char *why)
{
    gw_req_t *req = up->req;
    if (!req) { /* idle in the pool */
        up_free(up);
        return;
    }
    if (!up->resp_started) {
        /* A kept-alive connection the upstream closed as we reused it: retry once on a new
         * connection when nothing of the request body has been sent yet. */
        if (up->reused && !req->body_started && req->attempts < 2) {
            req->up = NULL;
            up->req = NULL;
            up_free(up);
            proxy_connect(req);
            return;
        }
        tk_log_debug("upstream %s: %s", req->target->url, why);
        fail_request(req, 500, "There was a problem proxying the request");
        return;
    }
    /* Mid-body: the client gets a truncated response and a closed connection. */
    req->up = NULL;
    up->req = NULL;
    up_free(up);
    gw_req_abort(req);
}

static void up_process(gw_upconn_t *up)
{
    up->in_process = true;
    while (!up->dead && up->req && !up->read_blocked) {
        struct evbuffer *in = tk_stream_input(up->st);
        if (evbuffer_get_length(in) == 0)
            break;
        int rc = tk_h1_parser_feed_buffer(up->parser, in, &up->read_blocked);
        if (up->dead || !up->req)
            break;
        if (rc == TK_H1_PAUSED_DONE) {
            if (!up->resp_complete) { /* a 1xx response; the real one follows */
                tk_h1_parser_resume(up->parser);
                continue;
            }
            up->in_process = false;
            up_complete(up);
            return;
        }
        if (rc < 0) {
            up->in_process = false;
            up_broken(up, tk_h1_parser_error(up->parser));
            return;
        }
    }
    up->in_process = false;
    if (up->dead)
        up_free(up);
}

static void on_up_read(tk_stream_t *st, void *arg)
{
    gw_upconn_t *up = arg;
    if (!up->req) {
        /* Bytes on an idle connection: the upstream is confused; drop it. */
        evbuffer_drain(tk_stream_input(st), evbuffer_get_length(tk_stream_input(st)));
        up_free(up);
        return;
    }
    up_process(up);
}

static void on_up_write(tk_stream_t *st, void *arg)
{
    TK_UNUSED(st);
    gw_upconn_t *up = arg;
    if (up->req && up->req->conn->read_blocked)
        gw_conn_block_read(up->req->conn, false);
}

static void on_up_event(tk_stream_t *st, int events, void *arg)
{
    TK_UNUSED(st);
    gw_upconn_t *up = arg;
    if (events & TK_STREAM_CONNECTED)
        return;
    if ((events & TK_STREAM_EOF) && up->req && up->resp_started && !up->resp_complete) {
        /* A body that ends with the connection (reading saw EOF, so no input is left). */
        if (tk_h1_parser_finish(up->parser) == TK_H1_PAUSED_DONE && up->resp_complete) {
            up->keep_alive = false;
            up_complete(up);
            return;
        }
    }
    if (events & TK_STREAM_ERROR) {
        unsigned long e = tk_stream_ssl_error(up->st);
        if (e) {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof(buf));
            up_broken(up, buf);
            return;
        }
        up_broken(up, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return;
    }
    up_broken(up, "connection closed");
}

/* ---- connecting ---- */

static void up_connect_addr(gw_upconn_t *up, struct sockaddr *sa, int salen)
{
    gw_server_t *srv = up->w->srv;
    if (up->tls) {
        SSL *ssl = SSL_new(up->client_ctx ? up->client_ctx
                           : up->verify   ? srv->up_ssl_verify
                                          : srv->up_ssl_noverify);
        tk_ssl_set_peer(ssl, up->host, up->verify);
        up->st = tk_stream_new(up->w->base, -1, ssl, false);
    } else {
        up->st = tk_stream_new(up->w->base, -1, NULL, false);
    }
    tk_stream_setcb(up->st, on_up_read, on_up_write, on_up_event, up);
    tk_stream_set_lowmark(up->st, LOW_WATER);
    tk_stream_allow_dirty_shutdown(up->st);
    if (tk_stream_connect(up->st, sa, salen) != TK_OK) {
        up_broken(up, "connect failed");
        return;
    }
    int one = 1;
    int fd = tk_stream_fd(up->st);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (up->req)
        send_request(up->req);
}

static void on_dns(int err, struct evutil_addrinfo *res, void *arg)
{
    gw_upconn_t *up = arg;
    up->dns_req = NULL;
    if (up->dead || !up->req) {
        if (res)
            evutil_freeaddrinfo(res);
        up->dead = false;
        up->req = NULL;
        up_free(up);
        return;
    }
    if (err || !res) {
        gw_req_t *req = up->req;
        tk_log_debug("upstream %s: lookup failed: %s", up->host, evutil_gai_strerror(err));
        if (res)
            evutil_freeaddrinfo(res);
        fail_request(req, 500, "Upstream host lookup failed");
        return;
    }
    /* Prefer IPv4 ("localhost" resolves to both, and most upstreams listen on 127.0.0.1). */
    struct sockaddr_storage ss;
    int len = tk_sockaddr_from_ai(res, up->port, &ss);
    evutil_freeaddrinfo(res);
    up_connect_addr(up, (struct sockaddr *)&ss, len);
}

static bool target_verify(const gw_req_t *req)
{
    return !(conf_of(req)->proxy_ssl_insecure_skip_verify || req->api->ssl_insecure_skip_verify);
}

static void proxy_connect(gw_req_t *req)
{
    gw_worker_t *w = req->conn->w;
    const gw_target_t *t = req->target;
    bool verify = t->tls && target_verify(req);
    /* An upstream client certificate (gw_certstore.c) is part of the pool key. */
    SSL_CTX *cc = t->tls && t->upcert ? (verify ? t->upcert->verify : t->upcert->noverify) : NULL;
    char key[768];
    snprintf(key, sizeof(key), "%s|%s|%d|%d|%s", t->scheme, t->host, t->port, verify,
             cc ? t->upcert->id : "");
    gw_pool_bucket_t *b = bucket_for(w, key);
    req->attempts++;
    if (b->idle && req->attempts == 1) {
        gw_upconn_t *up = b->idle;
        b->idle = up->next_idle;
        b->nidle--;
        up->next_idle = NULL;
        up->reused = true;
        up->req = req;
        req->up = up;
        send_request(req);
        return;
    }
    gw_upconn_t *up = tk_xcalloc(1, sizeof(*up));
    up->w = w;
    up->bucket = b;
    up->parser = tk_h1_parser_new(false, MAX_UPSTREAM_HEAD, &resp_callbacks, up);
    up->host = tk_xstrdup(t->host);
    up->port = t->port;
    up->tls = t->tls;
    up->verify = verify;
    if (cc && SSL_CTX_up_ref(cc) == 1)
        up->client_ctx = cc;
    up->req = req;
    req->up = up;

    struct sockaddr_storage ss;
    int len = tk_sockaddr_from_ip(t->host, t->port, &ss);
    if (!len) {
        struct evutil_addrinfo hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        /* The callback may run (and free @up) before this returns; only a pending lookup
         * hands back a request handle. */
        struct evdns_getaddrinfo_request *r =
            evdns_getaddrinfo(w->dns, t->host, NULL, &hints, on_dns, up);
        if (r)
            up->dns_req = r;
        return;
    }
    up_connect_addr(up, (struct sockaddr *)&ss, len);
}

/* ---- entry points from the connection ---- */

/* proxy.check_host_against_uptime_tests: the first target from the round-robin position on that
 * the uptime tests have not marked down; when all are, Tyk's "all hosts are down" 503. */
static bool pick_live_target(gw_req_t *req, size_t start)
{
    const gw_api_t *api = req->api;
    for (size_t k = 0; k < api->nlb; k++) {
        const gw_target_t *t = &api->lb[(start + k) % api->nlb];
        if (!gw_uptime_host_down(t->hostport, strlen(t->hostport))) {
            req->target = t;
            return true;
        }
    }
    tk_log_error("[PROXY] [LOAD BALANCING] api=%s all hosts are down, uptime tests are failing",
                 api->api_id);
    static const char body[] = "all hosts are down\n";
    gw_respond(req, 503, "text/plain; charset=utf-8", body, sizeof(body) - 1,
               "X-Content-Type-Options: nosniff\r\n");
    return false;
}

void gw_proxy_start(gw_req_t *req)
{
    if (gw_rewrite_pending(req) && gw_rewrite_apply(req) != TK_OK)
        return; /* answered, or looped into another API's chain (gw_rewrite.h) */
    const gw_api_t *api = req->api;
    int sd = api->sd ? gw_discovery_pick(req) : 0; /* proxy.service_discovery */
    if (sd < 0)
        return;
    if (sd > 0) {
        /* req->target is a discovered host */
    } else if (api->load_balancing && api->nlb) {
        size_t i = atomic_fetch_add_explicit(&((gw_api_t *)api)->rr, 1, memory_order_relaxed);
        req->target = &api->lb[i % api->nlb];
        if (api->check_host_against_uptime_tests && !pick_live_target(req, i))
            return;
    } else {
        req->target = &api->target;
    }
    const gw_version_t *ver = gw_req_version(req);
    if (ver && ver->has_override_target)
        req->target = &ver->override_target; /* version_data.versions.<v>.override_target */
    if (req->target_override)
        req->target = req->target_override; /* a URL rewrite to a full URL */
    double t = req->up_timeout > 0 ? req->up_timeout : conf_of(req)->proxy_default_timeout;
    if (t > 0) {
        req->up_timer = evtimer_new(req->conn->w->base, on_up_timeout, req);
        struct timeval tv = {(time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6)};
        evtimer_add(req->up_timer, &tv);
    }
    if (gw_proxy_h2_wanted(req)) {
        gw_proxy_h2_start(req);
        return;
    }
    proxy_connect(req);
}

void gw_proxy_on_body(gw_req_t *req, const char *p, size_t n)
{
    if (req->up_h2) {
        gw_proxy_h2_on_body(req, p, n);
        return;
    }
    gw_upconn_t *up = req->up;
    if (!up || !up->st)
        return;
    struct evbuffer *out = tk_stream_output(up->st);
    if (req->up_body_chunked) {
        evbuffer_add_printf(out, "%zx\r\n", n);
        evbuffer_add(out, p, n);
        evbuffer_add(out, "\r\n", 2);
    } else {
        evbuffer_add(out, p, n);
    }
    req->body_started = true;
    if (evbuffer_get_length(out) > HIGH_WATER)
        gw_conn_block_read(req->conn, true);
}

void gw_proxy_on_body_done(gw_req_t *req)
{
    if (req->up_h2) {
        gw_proxy_h2_on_body_done(req);
        return;
    }
    gw_upconn_t *up = req->up;
    if (up && up->st && req->up_body_chunked)
        evbuffer_add(tk_stream_output(up->st), "0\r\n\r\n", 5);
}

void gw_proxy_client_gone(gw_req_t *req)
{
    if (req->up_h2)
        gw_proxy_h2_client_gone(req);
    if (req->up) {
        req->up->req = NULL;
        up_free(req->up);
        req->up = NULL;
    }
}

void gw_proxy_client_drained(gw_req_t *req)
{
    if (req->up_h2) {
        gw_proxy_h2_client_drained(req);
        return;
    }
    gw_upconn_t *up = req->up;
    if (up && up->read_blocked && gw_req_out_len(req) <= LOW_WATER) {
        up->read_blocked = false;
        tk_stream_read(up->st, true);
        up_process(up);
    }
}

/* ---- shared with the HTTP/2 upstream (gw_proxy_h2.h) ---- */

char *gw_proxy_upstream_uri(gw_req_t *req)
{
    return upstream_uri(req);
}

bool gw_proxy_drop_header(const tk_http_head_t *head, const tk_http_hdr_t *h,
                          const tk_http_hdr_t *conn_hdr)
{
    return drop_header(head, h, conn_hdr);
}

void gw_proxy_fail(gw_req_t *req, int status, const char *msg)
{
    fail_request(req, status, msg);
}

void gw_proxy_h1_connect(gw_req_t *req)
{
    proxy_connect(req);
}

void gw_proxy_up_finished(gw_req_t *req)
{
    if (req->resp_buffering)
        finish_held(req);
    else
        gw_req_finish(req);
}
