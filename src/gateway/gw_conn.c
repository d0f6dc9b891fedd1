/* SPDX-License-Identifier: Apache-2.0 */
/* Client connections: parsing, timeouts, keep-alive, pipelining, response writing. */
#include "gw_http.h"
#include "gw_error_overrides.h"
#include "gw_h2.h"
#include "gw_pipeline.h"
#include "gw_tunnel.h"

#include "tk_log.h"
#include "tk_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <unistd.h>
#include <strings.h>
#include <sys/socket.h>

#define HIGH_WATER (256 * 1024)
#define LOW_WATER (64 * 1024)

static void conn_process(gw_conn_t *c);
static void conn_close_now(gw_conn_t *c);
static void req_end(gw_req_t *req);

static const gw_conf_t *conf_of(const gw_conn_t *c)
{
    return c->w->srv->conf;
}

static void arm_timer(gw_conn_t *c, int64_t seconds)
{
    struct timeval tv = {seconds > 0 ? seconds : 1, 0};
    evtimer_add(c->timer, &tv);
}

/* Waiting for a request head: the idle timeout until its first byte, then the head timeout. */
static void arm_head_timer(gw_conn_t *c)
{
    const gw_conf_t *conf = conf_of(c);
    arm_timer(c, (c->got_bytes || c->requests == 0) ? conf->turnpike_header_timeout
                                                    : conf->turnpike_idle_timeout);
}

size_t gw_conn_out_len(const gw_conn_t *c)
{
    return evbuffer_get_length(tk_stream_output(c->st));
}

static void conn_free(gw_conn_t *c)
{
    gw_worker_t *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    if (c->h2)
        gw_h2_free(c);
    tk_h1_parser_free(c->parser);
    if (c->tunnel)
        gw_tunnel_free(c->tunnel); /* owns c->st */
    else
        tk_stream_free(c->st);
    event_free(c->timer);
    tk_arena_free(c->arena);
    free(c);
    if (w->draining && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

/* Frees now, or once the current conn_process() unwinds. */
static void conn_destroy(gw_conn_t *c)
{
    c->dead = true;
    if (!c->in_process)
        conn_free(c);
}

static void conn_close_when_flushed(gw_conn_t *c)
{
    c->closing = true;
    evtimer_del(c->timer);
    c->body_timer = false;
    tk_stream_read(c->st, false);
    if (gw_conn_out_len(c) == 0) {
        conn_destroy(c);
        return;
    }
    tk_stream_set_lowmark(c->st, 0);
    /* Do not wait forever on a client that stopped reading. */
    arm_timer(c, conf_of(c)->hso_write_timeout > 0 ? conf_of(c)->hso_write_timeout : 10);
}

/* Releases what the request holds; the connection moves on to the next request or closes. */
static void req_release(gw_req_t *req)
{
    gw_conn_t *c = req->conn;
    if (req->reload_ticket)
        gw_reload_waiter_cancel(req);
    gw_wait_cancel(req);
    if (req->session) {
        gw_sref_put(req->session);
        req->session = NULL;
    }
    if (req->up_timer) {
        event_free(req->up_timer);
        req->up_timer = NULL;
    }
    if (req->body) {
        evbuffer_free(req->body);
        req->body = NULL;
    }
    if (req->an_resp) {
        evbuffer_free(req->an_resp);
        req->an_resp = NULL;
    }
    if (req->resp_hold_hdrs) {
        evbuffer_free(req->resp_hold_hdrs);
        req->resp_hold_hdrs = NULL;
    }
    if (req->resp_hold_body) {
        evbuffer_free(req->resp_hold_body);
        req->resp_hold_body = NULL;
    }
    if (req->gref)
        gw_worker_gen_release(req->gref);
    if (req->h2) { /* the stream's arena, holding @req, goes back to the connection */
        gw_h2_detach(req);
        return;
    }
    c->req = NULL;
    tk_arena_reset(c->arena);
}

static void req_end(gw_req_t *req)
{
    gw_conn_t *c = req->conn;
    bool body_unread = !req->body_done;
    if (req->api && c->w->analytics)
        gw_analytics_record(req);
    if (req->h2) { /* other streams carry on */
        req_release(req);
        return;
    }
    req_release(req);
    c->requests++;
    c->got_bytes = false;
    c->body_timer = false;
    if (c->close_after || body_unread || c->w->draining) {
        conn_close_when_flushed(c);
        return;
    }
    arm_head_timer(c);
    if (c->parser_paused) {
        tk_h1_parser_resume(c->parser);
        c->parser_paused = false;
    }
    if (c->read_blocked)
        gw_conn_block_read(c, false);
    if (!c->in_process)
        conn_process(c);
}

/* ---- parser callbacks ---- */

gw_req_t *gw_req_new(gw_conn_t *c, tk_arena_t *arena, tk_http_head_t *head)
{
    gw_req_t *req = tk_arena_zalloc(arena, sizeof(*req));
    if (!req)
        return NULL;
    req->conn = c;
    req->arena = arena;
    req->head = head;
    req->t_start = tk_now_ns();
    req->body_done = !head->has_body;

    /* Split the request target into path and query; absolute-form keeps only the path. */
    const char *u = head->url;
    size_t ul = head->url_len;
    if (u && ul && u[0] != '/') {
        const char *s = memmem(u, ul, "://", 3);
        if (s) {
            const char *p = memchr(s + 3, '/', ul - (size_t)(s + 3 - u));
            size_t off = p ? (size_t)(p - u) : ul;
            u += off;
            ul -= off;
        }
    }
    const char *q = memchr(u, '?', ul);
    size_t pl = q ? (size_t)(q - u) : ul;
    char *path = tk_arena_strndup(arena, pl ? u : "/", pl ? pl : 1);
    if (!path)
        return NULL;
    req->path = path;
    req->path_len = strlen(path);
    if (q)
        req->query = tk_arena_strndup(arena, q + 1, ul - pl - 1);
    req->gref = gw_worker_gen_acquire(c->w);
    return req;
}

static int on_req_head(void *ud, tk_http_head_t *head)
{
    gw_conn_t *c = ud;
    evtimer_del(c->timer);
    gw_req_t *req = gw_req_new(c, c->arena, head);
    if (!req)
        return TK_H1_ABORT;
    c->req = req;

    if (head->has_body && conf_of(c)->hso_read_timeout > 0) {
        c->body_timer = true;
        arm_timer(c, conf_of(c)->hso_read_timeout);
    }
    if (!head->keep_alive)
        c->close_after = true;
    gw_route_request(req);
    return TK_H1_CONTINUE;
}

static int on_req_body(void *ud, const char *p, size_t n)
{
    gw_conn_t *c = ud;
    gw_req_t *req = c->req;
    if (!req)
        return TK_H1_CONTINUE;
    if (req->kind == GW_REQ_BUFFERED) {
        if (req->body_too_large || evbuffer_get_length(req->body) + n > req->body_limit)
            req->body_too_large = true;
        else
            evbuffer_add(req->body, p, n);
        return TK_H1_CONTINUE;
    }
    gw_proxy_on_body(req, p, n);
    return TK_H1_CONTINUE;
}

static int on_req_done(void *ud)
{
    gw_conn_t *c = ud;
    gw_req_t *req = c->req;
    if (!req)
        return TK_H1_CONTINUE;
    bool had_body = !req->body_done;
    req->body_done = true;
    if (had_body && c->body_timer) {
        c->body_timer = false;
        evtimer_del(c->timer);
    }
    if (req->kind == GW_REQ_BUFFERED) {
        if (req->body_too_large)
            gw_respond_json(req, 413,
                            "{\"status\":\"error\",\"message\":\"Request is too large\"}");
        else if (!req->responded)
            req->handler(req);
        return TK_H1_CONTINUE;
    }
    if (had_body)
        gw_proxy_on_body_done(req);
    return TK_H1_CONTINUE;
}

static const tk_h1_callbacks_t req_callbacks = {on_req_head, on_req_body, on_req_done};

/* ---- connection events ---- */

static void write_raw_error(gw_conn_t *c, int status)
{
    const char *reason = tk_http_reason(status);
    evbuffer_add_printf(tk_stream_output(c->st),
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Connection: close\r\nContent-Length: %zu\r\n\r\n%d %s",
                        status, reason, strlen(reason) + 4, status, reason);
}

static void on_parse_error(gw_conn_t *c, int rc)
{
    gw_req_t *req = c->req;
    tk_log_debug("client %s: bad request: %s", c->peer, tk_h1_parser_error(c->parser));
    if (req) {
        if (req->kind == GW_REQ_PROXY)
            gw_proxy_client_gone(req);
        bool responded = req->responded;
        req_release(req);
        if (responded) {
            conn_destroy(c);
            return;
        }
    }
    write_raw_error(c, rc == TK_H1_E_HEAD_TOO_LARGE ? 431 : 400);
    conn_close_when_flushed(c);
}

/* HTTP/2 by ALPN or prior knowledge; false while the first bytes may still be the preface. */
static bool conn_pick_protocol(gw_conn_t *c)
{
    int r = gw_h2_detect(c);
    if (r == GW_H2_MORE) {
        if (!c->got_bytes) {
            c->got_bytes = true;
            arm_head_timer(c);
        }
        return false;
    }
    c->proto_known = true;
    if (r == GW_H2_YES)
        evtimer_del(c->timer);
    return true;
}

static void conn_process(gw_conn_t *c)
{
    if (!c->proto_known && !c->closing && !conn_pick_protocol(c))
        return;
    c->in_process = true;
    if (c->h2 && !c->closing)
        gw_h2_on_input(c);
    while (!c->h2 && !c->dead && !c->closing && !c->parser_paused && !c->read_blocked) {
        struct evbuffer *in = tk_stream_input(c->st);
        if (evbuffer_get_length(in) == 0)
            break;
        if (!c->req && !c->got_bytes) {
            c->got_bytes = true;
            arm_head_timer(c);
        }
        int rc = tk_h1_parser_feed_buffer(c->parser, in, NULL);
        if (c->dead)
            break;
        if (rc == TK_H1_PAUSED_HEAD) {
            if (c->req && c->req->want_body)
                tk_h1_parser_resume(c->parser); /* ready before the parser even paused */
            else
                c->parser_paused = true;
        } else if (rc == TK_H1_PAUSED_DONE || rc == TK_H1_E_UPGRADE) {
            if (rc == TK_H1_E_UPGRADE)
                c->close_after = true;
            if (c->req) {
                c->parser_paused = true;
            } else {
                tk_h1_parser_resume(c->parser);
                if (rc == TK_H1_E_UPGRADE) {
                    conn_close_when_flushed(c);
                    break;
                }
            }
        } else if (rc < 0) {
            on_parse_error(c, rc);
            break;
        }
    }
    c->in_process = false;
    if (c->dead)
        conn_free(c);
}

static void on_read(tk_stream_t *st, void *arg)
{
    gw_conn_t *c = arg;
    if (c->closing) {
        evbuffer_drain(tk_stream_input(st), evbuffer_get_length(tk_stream_input(st)));
        return;
    }
    if (c->body_timer) /* the body is still arriving: restart its read timeout */
        arm_timer(c, conf_of(c)->hso_read_timeout);
    conn_process(c);
}

static void on_write(tk_stream_t *st, void *arg)
{
    gw_conn_t *c = arg;
    if (c->closing) {
        if (evbuffer_get_length(tk_stream_output(st)) == 0)
            conn_destroy(c);
        return;
    }
    if (c->h2) {
        gw_h2_on_drain(c);
        return;
    }
    if (c->req && c->req->kind == GW_REQ_PROXY)
        gw_proxy_client_drained(c->req);
}

static void conn_close_now(gw_conn_t *c)
{
    if (c->req) {
        if (c->req->kind == GW_REQ_PROXY)
            gw_proxy_client_gone(c->req);
        req_release(c->req);
    }
    conn_destroy(c);
}

static void on_event(tk_stream_t *st, int what, void *arg)
{
    TK_UNUSED(st);
    gw_conn_t *c = arg;
    if (what & (TK_STREAM_EOF | TK_STREAM_ERROR))
        conn_close_now(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_conn_t *c = arg;
    if (c->h2 && !c->closing) { /* idle: GOAWAY */
        gw_h2_shutdown(c);
        return;
    }
    if (c->closing || !c->got_bytes || c->req) {
        conn_close_now(c);
        return;
    }
    /* A request head that did not arrive in time (slowloris). */
    write_raw_error(c, 408);
    conn_close_when_flushed(c);
}

void gw_conn_accept(gw_worker_t *w, int fd, const struct sockaddr *sa, int salen, bool control)
{
    TK_UNUSED(salen);
    gw_server_t *srv = w->srv;
    const gw_conf_t *conf = srv->conf;
    gw_conn_t *c = tk_xcalloc(1, sizeof(*c));
    c->w = w;
    c->control_port = control;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->peer, sizeof(c->peer));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->peer,
                  sizeof(c->peer));
    c->st = tk_stream_new(w->base, fd, srv->listen_ssl ? SSL_new(srv->listen_ssl) : NULL, true);
    if (!c->st) {
        close(fd);
        free(c);
        return;
    }
    c->parser = tk_h1_parser_new(true, (size_t)conf->turnpike_max_header_size, &req_callbacks, c);
    c->arena = tk_arena_new(8192, (size_t)conf->turnpike_max_request_memory);
    c->timer = evtimer_new(w->base, on_timer, c);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    tk_stream_setcb(c->st, on_read, on_write, on_event, c);
    tk_stream_set_lowmark(c->st, LOW_WATER);
    tk_stream_allow_dirty_shutdown(c->st);
    arm_head_timer(c);
}

void gw_conns_drain(gw_worker_t *w)
{
    gw_conn_t *c = w->conns;
    while (c) {
        gw_conn_t *next = c->next;
        if (c->tunnel) /* hijacked in Tyk: not waited for on shutdown */
            conn_destroy(c);
        else if (c->h2)
            gw_h2_shutdown(c); /* GOAWAY; closes once its streams are done */
        else if (!c->req && !c->closing)
            conn_close_when_flushed(c);
        else
            c->close_after = true;
        c = next;
    }
}

static void on_tunnel_done(gw_tunnel_t *t, void *arg)
{
    TK_UNUSED(t);
    conn_destroy(arg);
}

void gw_conn_switch_protocols(gw_req_t *req, tk_stream_t *up)
{
    gw_conn_t *c = req->conn;
    req->resp_done = true;
    if (req->api && c->w->analytics)
        gw_analytics_record(req);
    req_release(req);
    evtimer_del(c->timer);
    c->body_timer = false;
    c->close_after = true;
    /* Go's Hijack clears the connection deadlines: Tyk applies no timeout to the tunnel. */
    c->tunnel = gw_tunnel_new(c->w->base, c->st, up, c->w->srv->conf->turnpike_tunnel_idle_timeout,
                              on_tunnel_done, c);
}

void gw_conn_block_read(gw_conn_t *c, bool block)
{
    if (c->h2) { /* per stream: its DATA is acknowledged once the upstream takes more */
        c->read_blocked = block; /* so that the proxy calls back once its upstream drained */
        if (!c->closing && !c->dead)
            gw_h2_block_body(c, block);
        return;
    }
    if (block == c->read_blocked || c->closing)
        return;
    c->read_blocked = block;
    tk_stream_read(c->st, !block);
    if (!block) {
        if (!c->in_process)
            conn_process(c);
    }
}

void gw_req_resume_body(gw_req_t *req)
{
    gw_conn_t *c = req->conn;
    req->want_body = true;
    if (req->h2) {
        gw_h2_resume_body(req);
        return;
    }
    if (req->head->expect_continue && !req->responded)
        evbuffer_add(tk_stream_output(c->st), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (c->parser_paused && !req->body_done) {
        tk_h1_parser_resume(c->parser);
        c->parser_paused = false;
        if (!c->in_process)
            conn_process(c);
    }
}

const char *gw_req_query(gw_req_t *req, const char *name)
{
    for (const char *p = req->query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char *k = tk_url_unescape(req->arena, p, klen, true, false);
        if (k && strcmp(k, name) == 0)
            return eq ? tk_url_unescape(req->arena, eq + 1, len - klen - 1, true, false) : "";
        if (!end)
            break;
        p = end + 1;
    }
    return NULL;
}

bool gw_req_is_api_route(const gw_req_t *req, const char *route, bool opt_slash)
{
    size_t n = req->path_len, rl = strlen(route);
    if (opt_slash && n && req->path[n - 1] == '/')
        n--;
    if (n <= rl || memcmp(req->path + n - rl, route, rl) != 0) /* cheap test first */
        return false;
    const char *lp = req->api->listen_path;
    size_t ll = strlen(lp);
    while (ll && lp[ll - 1] == '/')
        ll--;
    return n == ll + 1 + rl && memcmp(req->path, lp, ll) == 0 && req->path[ll] == '/';
}

bool gw_req_query_flag(gw_req_t *req, const char *name)
{
    const char *v = gw_req_query(req, name);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

void gw_req_add_resp_headers(gw_req_t *req, const char *lines)
{
    req->resp_headers = req->resp_headers
                            ? tk_arena_printf(req->arena, "%s%s", req->resp_headers, lines)
                            : tk_arena_strdup(req->arena, lines);
}

tk_str_t gw_req_real_ip(const gw_req_t *req)
{
    const tk_http_hdr_t *h = gw_req_header(req, "x-real-ip");
    if (h && h->value_len)
        return (tk_str_t){h->value, h->value_len};
    h = gw_req_header(req, "x-forwarded-for");
    if (h && h->value_len) {
        const char *comma = memchr(h->value, ',', h->value_len);
        return (tk_str_t){h->value, comma ? (size_t)(comma - h->value) : h->value_len};
    }
    return (tk_str_t){req->conn->peer, strlen(req->conn->peer)};
}

const tk_http_hdr_t *gw_req_header(const gw_req_t *req, const char *name)
{
    return tk_http_head_find(req->head, name);
}

/* ---- responses ---- */

void gw_req_write_head(gw_req_t *req, int status, struct evbuffer *hdrs, int64_t content_length,
                       bool body)
{
    if (req->h2) {
        gw_h2_write_head(req, status, hdrs, content_length, body);
        return;
    }
    gw_conn_t *c = req->conn;
    const gw_conf_t *conf = conf_of(c);
    struct evbuffer *out = tk_stream_output(c->st);
    bool keep =
        req->head->keep_alive && !c->close_after && !c->w->draining && !conf->close_connections;
    /* Built in place: this runs for every response. */
    char line[128];
    const char *reason = tk_http_reason(status);
    size_t rl = strlen(reason), n = 0;
    memcpy(line, "HTTP/1.1 ", 9);
    n = 9 + tk_fmt_u64(line + 9, (uint64_t)status);
    line[n++] = ' ';
    memcpy(line + n, reason, rl);
    n += rl;
    line[n++] = '\r';
    line[n++] = '\n';
    evbuffer_add(out, line, n);
    if (hdrs)
        evbuffer_add_buffer(out, hdrs);
    if (req->resp_headers)
        evbuffer_add(out, req->resp_headers, strlen(req->resp_headers));
    memcpy(line, "Date: ", 6);
    n = 6;
    const char *date = gw_worker_date(c->w);
    size_t dl = strlen(date);
    memcpy(line + n, date, dl);
    n += dl;
    line[n++] = '\r';
    line[n++] = '\n';
    if (content_length >= 0) {
        memcpy(line + n, "Content-Length: ", 16);
        n += 16;
        n += tk_fmt_u64(line + n, (uint64_t)content_length);
        line[n++] = '\r';
        line[n++] = '\n';
    }
    evbuffer_add(out, line, n);
    if (content_length == -1 && body) {
        if (req->head->minor >= 1 || req->head->major > 1) {
            evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
            req->resp_chunked = true;
        } else {
            keep = false; /* HTTP/1.0 client: the end of the body is the end of the connection */
        }
    }
    if (!keep) {
        evbuffer_add(out, "Connection: close\r\n", 19);
        c->close_after = true;
    } else if (req->head->major == 1 && req->head->minor == 0) {
        evbuffer_add(out, "Connection: keep-alive\r\n", 24);
    }
    evbuffer_add(out, "\r\n", 2);
    req->responded = true;
    req->status = status;
}

void gw_req_write_body(gw_req_t *req, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (req->h2) {
        gw_h2_write_body(req, p, n);
        return;
    }
    struct evbuffer *out = tk_stream_output(req->conn->st);
    if (req->resp_chunked) {
        evbuffer_add_printf(out, "%zx\r\n", n);
        evbuffer_add(out, p, n);
        evbuffer_add(out, "\r\n", 2);
    } else {
        evbuffer_add(out, p, n);
    }
}

void gw_req_finish(gw_req_t *req)
{
    if (req->h2) {
        gw_h2_finish(req);
    } else if (req->resp_chunked) {
        struct evbuffer *out = tk_stream_output(req->conn->st);
        evbuffer_add(out, "0\r\n", 3);
        if (req->resp_trailers)
            evbuffer_add(out, req->resp_trailers, strlen(req->resp_trailers));
        evbuffer_add(out, "\r\n", 2);
    }
    req->resp_done = true;
    req_end(req);
}

void gw_req_write_trailers(gw_req_t *req, struct evbuffer *hdr_lines)
{
    if (req->h2) {
        gw_h2_write_trailers(req, hdr_lines);
        return;
    }
    size_t n = evbuffer_get_length(hdr_lines);
    if (req->resp_chunked && n) {
        char *t = tk_arena_strndup(req->arena, (const char *)evbuffer_pullup(hdr_lines, -1), n);
        if (t && req->resp_trailers)
            t = tk_arena_printf(req->arena, "%s%s", req->resp_trailers, t);
        if (t)
            req->resp_trailers = t;
    }
    evbuffer_drain(hdr_lines, n);
}

void gw_req_abort(gw_req_t *req)
{
    gw_conn_t *c = req->conn;
    if (req->api && req->responded && c->w->analytics)
        gw_analytics_record(req);
    if (req->h2) { /* only this stream fails */
        gw_h2_reset(req);
        req_release(req);
        return;
    }
    req_release(req);
    conn_destroy(c);
}

void gw_req_client_gone(gw_req_t *req)
{
    if (req->kind == GW_REQ_PROXY)
        gw_proxy_client_gone(req);
    req_release(req);
}

size_t gw_req_out_len(const gw_req_t *req)
{
    return req->h2 ? gw_h2_out_len(req) : gw_conn_out_len(req->conn);
}

bool gw_req_is_grpc(const gw_req_t *req)
{
    const tk_http_hdr_t *ct = gw_req_header(req, "content-type");
    if (!ct || ct->value_len < 16 || strncasecmp(ct->value, "application/grpc", 16) != 0)
        return false;
    return ct->value_len == 16 || ct->value[16] == '+' || ct->value[16] == ';';
}

void gw_conn_close(gw_conn_t *c)
{
    if (!c->closing && !c->dead)
        conn_close_when_flushed(c);
}

bool gw_conn_hold(gw_conn_t *c)
{
    bool was = c->in_process;
    c->in_process = true;
    return was;
}

void gw_conn_release(gw_conn_t *c, bool was_held)
{
    if (was_held)
        return;
    c->in_process = false;
    if (c->dead)
        conn_free(c);
}

static bool is_head_method(const gw_req_t *req)
{
    return req->head->method_len == 4 && memcmp(req->head->method, "HEAD", 4) == 0;
}

void gw_respond(gw_req_t *req, int status, const char *ctype, const void *body, size_t len,
                const char *extra_headers)
{
    struct evbuffer *h = evbuffer_new();
    if (ctype)
        evbuffer_add_printf(h, "Content-Type: %s\r\n", ctype);
    if (extra_headers)
        evbuffer_add(h, extra_headers, strlen(extra_headers));
    /* A response sent before the request body was read ends the connection (HTTP/1). */
    if (!req->body_done && !req->h2)
        req->conn->close_after = true;
    gw_req_write_head(req, status, h, (int64_t)len, false);
    evbuffer_free(h);
    if (len && !is_head_method(req))
        gw_req_write_body(req, body, len);
    gw_req_finish(req);
}

/* The gRPC status for a gateway error: the HTTP mapping of gRPC's spec, except that limits and
 * timeouts get their own codes. */
static int grpc_code(int status)
{
    switch (status) {
    case 400:
        return 3; /* INVALID_ARGUMENT */
    case 401:
        return 16; /* UNAUTHENTICATED */
    case 403:
        return 7; /* PERMISSION_DENIED */
    case 404:
        return 12; /* UNIMPLEMENTED */
    case 413:
    case 429:
        return 8; /* RESOURCE_EXHAUSTED */
    case 502:
    case 503:
        return 14; /* UNAVAILABLE */
    case 504:
        return 4; /* DEADLINE_EXCEEDED */
    default:
        return status >= 500 ? 13 : 2; /* INTERNAL, UNKNOWN */
    }
}

/* A gRPC client reads errors from grpc-status: HTTP 200 with a trailers-only response. */
static void respond_grpc_error(gw_req_t *req, int status, const char *msg)
{
    struct evbuffer *h = evbuffer_new();
    evbuffer_add_printf(h, "Content-Type: application/grpc\r\nGrpc-Status: %d\r\nGrpc-Message: ",
                        grpc_code(status));
    for (const unsigned char *p = (const unsigned char *)msg; p && *p; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '%')
            evbuffer_add_printf(h, "%%%02X", *p); /* gRPC's percent-encoding */
        else
            evbuffer_add(h, p, 1);
    }
    evbuffer_add(h, "\r\n", 2);
    if (!req->body_done && !req->h2)
        req->conn->close_after = true;
    gw_req_write_head(req, 200, h, req->h2 ? -1 : 0, false);
    evbuffer_free(h);
    req->status = status; /* analytics keep the gateway's verdict */
    gw_req_finish(req);
}

void gw_respond_error(gw_req_t *req, int status, const char *msg)
{
    if (gw_req_is_grpc(req)) {
        respond_grpc_error(req, status, msg);
        return;
    }
    if (gw_eo_respond_error(req, status, msg)) /* error_overrides */
        return;
    const gw_conf_t *conf = conf_of(req->conn);
    const tk_http_hdr_t *ct = gw_req_header(req, "content-type");
    bool xml = ct && gw_error_wants_xml(ct->value, ct->value_len);
    struct evbuffer *b = evbuffer_new();
    const gw_templates_t *tpl = req->gref ? req->gref->gen->templates : NULL;
    const char *ctype = gw_error_render(tpl, status, msg, xml, b);
    size_t len = evbuffer_get_length(b);
    const char *body = (const char *)evbuffer_pullup(b, -1);
    if (conf->close_connections)
        req->conn->close_after = true;
    gw_respond(req, status, ctype, body, len,
               conf->hide_generator_header ? NULL : "X-Generator: tyk.io\r\n");
    evbuffer_free(b);
}

void gw_respond_json(gw_req_t *req, int status, const char *json)
{
    size_t n = strlen(json);
    char *body = tk_arena_alloc(req->arena, n + 2);
    if (!body) {
        gw_req_abort(req);
        return;
    }
    memcpy(body, json, n);
    body[n] = '\n';
    gw_respond(req, status, "application/json", body, n + 1, NULL);
}
