/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/2 to upstreams with nghttp2 (see gw_proxy_h2.h). A session lives on one tk_stream; its
 * streams are heap objects owned by the session's list, each tied to at most one gw_req_t.
 * nghttp2 must not be re-entered from its own callbacks, and those callbacks answer clients
 * (which can start the next request on the same session), so all I/O goes through sess_flush(),
 * which defers while the session is busy; calls coming from the client side (a new request, body
 * bytes, a client leaving) only schedule a flush from the loop (sess_kick), so they never see a
 * request answered or a session freed under their feet.
 */
#include "tk_net.h"
#include "gw_proxy_h2.h"

#include "gw_certstore.h"
#include "gw_resp_filter.h"
#include "gw_req_body.h"

#include "tk_log.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <strings.h>

#define HIGH_WATER (256 * 1024)
#define LOW_WATER (64 * 1024)
#define STREAM_WINDOW (256 * 1024)      /* per-stream receive window: response bytes in flight */
#define CONN_WINDOW (16 * 1024 * 1024)  /* connection window: many streams at full speed */
#define MAX_HEADER_LIST (64 * 1024)     /* as MAX_UPSTREAM_HEAD on HTTP/1 */
#define MAX_STREAMS_PER_SESSION 1000000 /* a fresh session before stream ids run out */

static const char PROXY_ERR[] = "There was a problem proxying the request";

typedef struct h2_sess h2_sess_t;

struct gw_h2up_stream {
    h2_sess_t *s;
    gw_req_t *req;                      /* NULL once the request is done or gone */
    struct gw_h2up_stream *prev, *next; /* in s->streams */
    int32_t id;                         /* 0 until submitted */
    struct evbuffer *body;              /* request DATA not yet taken by nghttp2 */
    bool body_eof;                      /* the client's body is complete */
    bool sent_eof;                      /* END_STREAM went (or will go) upstream */
    bool deferred;                      /* the data provider waits for more body */
    bool client_blocked;                /* we paused reading the client */
    bool head_seen;                     /* final response head delivered */
    bool grpc_deadline;                 /* req->up_timer is the call's grpc-timeout: keep it */
    bool retried;
    bool body_taken;     /* nghttp2 took some request body: no retry */
    bool resume_pending; /* read the client's body once the session is up */
    int status;
    int64_t content_length;
    size_t hdr_bytes;
    size_t unconsumed; /* DATA bytes received but not yet acknowledged (client backpressure) */
    struct evbuffer *hdrs;
    struct evbuffer *trailers;
};
typedef struct gw_h2up_stream h2_stream_t;

struct h2_sess {
    h2_sess_t *next;
    gw_worker_t *w;
    char *key;
    char *host;
    int port;
    bool tls, verify;
    SSL_CTX *client_ctx;
    struct event *connect_ev; /* connects from the loop, never inside a request's call stack */
    struct event *flush_ev;   /* sess_kick: a flush from the loop */
    tk_stream_t *st;
    nghttp2_session *ng;
    struct evdns_getaddrinfo_request *dns_req;
    h2_stream_t *streams;
    size_t nstreams;
    uint32_t submitted;
    bool ready;  /* connected (and ALPN said h2) */
    bool closed; /* no new streams: GOAWAY, error, or being freed */
    bool dead;   /* free once the current callback unwinds */
    int depth;   /* inside our own I/O processing */
    bool flush_again;
    uint64_t idle_since_ms;
};

typedef struct {
    h2_sess_t *sessions;
    char **h1_only; /* https upstreams whose ALPN chose http/1.1 */
    size_t nh1_only;
} h2_state_t;

static void sess_flush(h2_sess_t *s);
static void sess_fail(h2_sess_t *s, const char *why);
static bool stream_submit(h2_stream_t *st);
static void sess_connect(h2_sess_t *s);

static h2_state_t *state_of(gw_worker_t *w)
{
    if (!w->h2up)
        w->h2up = tk_xcalloc(1, sizeof(h2_state_t));
    return w->h2up;
}

/* ---- the HTTP/1 fallback list for https upstreams ---- */

static void target_key(const gw_req_t *req, char *key, size_t n, bool *verify, SSL_CTX **cc)
{
    const gw_conf_t *conf = req->conn->w->srv->conf;
    const gw_target_t *t = req->target;
    *verify =
        t->tls && !(conf->proxy_ssl_insecure_skip_verify || req->api->ssl_insecure_skip_verify);
    *cc = t->tls && t->upcert ? (*verify ? t->upcert->verify : t->upcert->noverify) : NULL;
    snprintf(key, n, "%s|%s|%d|%d|%s", t->scheme, t->host, t->port, *verify,
             *cc ? t->upcert->id : "");
}

static bool h1_only(h2_state_t *S, const char *key)
{
    for (size_t i = 0; i < S->nh1_only; i++)
        if (strcmp(S->h1_only[i], key) == 0)
            return true;
    return false;
}

bool gw_proxy_h2_wanted(const gw_req_t *req)
{
    const gw_target_t *t = req->target;
    if (strcmp(t->scheme, "h2c") == 0)
        return true;
    if (!t->tls || !req->conn->w->srv->conf->proxy_enable_http2)
        return false;
    char key[768];
    bool verify;
    SSL_CTX *cc;
    target_key(req, key, sizeof(key), &verify, &cc);
    return !h1_only(state_of(req->conn->w), key);
}

/* ---- streams ---- */

static void stream_unlink(h2_stream_t *st)
{
    h2_sess_t *s = st->s;
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    s->nstreams--;
    if (s->nstreams == 0)
        s->idle_since_ms = tk_now_ms();
}

static void stream_free(h2_stream_t *st)
{
    if (st->body)
        evbuffer_free(st->body);
    if (st->hdrs)
        evbuffer_free(st->hdrs);
    if (st->trailers)
        evbuffer_free(st->trailers);
    free(st);
}

/* Unties the request: nothing of the upstream stream refers to it afterwards. */
static gw_req_t *stream_detach(h2_stream_t *st)
{
    gw_req_t *req = st->req;
    if (!req)
        return NULL;
    st->req = NULL;
    req->up_h2 = NULL;
    if (st->client_blocked) {
        st->client_blocked = false;
        gw_conn_block_read(req->conn, false);
    }
    return req;
}

/* Gives back the flow-control credit of DATA the client never took. */
static void stream_release_credit(h2_stream_t *st)
{
    if (st->unconsumed && st->s->ng) {
        nghttp2_session_consume_connection(st->s->ng, st->unconsumed);
        st->unconsumed = 0;
    }
}

/* The upstream failed this request: Tyk's error before a response head, else a cut response. */
static void req_upstream_failed(gw_req_t *req, const char *why)
{
    tk_log_debug("upstream %s: %s", req->target->url, why);
    if (!req->responded) {
        /* Tyk's 500; a gRPC client gets 502, which its status mapping makes UNAVAILABLE (the
         * code grpc-go gives a dead upstream) rather than INTERNAL. */
        gw_proxy_fail(req, gw_req_is_grpc(req) ? 502 : 500, PROXY_ERR);
        return;
    }
    gw_req_abort(req);
}

/* ---- nghttp2 callbacks ---- */

static h2_stream_t *stream_of(nghttp2_session *ng, int32_t id)
{
    return nghttp2_session_get_stream_user_data(ng, id);
}

static ssize_t data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    TK_UNUSED(ng);
    TK_UNUSED(id);
    TK_UNUSED(ud);
    h2_stream_t *st = src->ptr;
    int n = evbuffer_remove(st->body, buf, len);
    if (n < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (n > 0)
        st->body_taken = true;
    if (n == 0 && !st->body_eof) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (st->body_eof && evbuffer_get_length(st->body) == 0) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        st->sent_eof = true;
    }
    return n;
}

/* Go's CanonicalMIMEHeaderKey, as Tyk's HTTP/2 transport hands headers to HTTP/1 clients. */
static void add_canonical(struct evbuffer *out, const uint8_t *name, size_t nl)
{
    char buf[256];
    if (nl > sizeof(buf)) {
        evbuffer_add(out, name, nl);
        return;
    }
    bool up = true;
    for (size_t i = 0; i < nl; i++) {
        char c = (char)name[i];
        if (up && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!up && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        buf[i] = c;
        up = c == '-';
    }
    evbuffer_add(out, buf, nl);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    TK_UNUSED(ud);
    h2_stream_t *st = stream_of(ng, frame->hd.stream_id);
    if (st)
        st->hdr_bytes = 0;
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    TK_UNUSED(flags);
    TK_UNUSED(ud);
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2_stream_t *st = stream_of(ng, frame->hd.stream_id);
    if (!st || !st->req)
        return 0;
    st->hdr_bytes += nl + vl + 32; /* RFC 9113 §6.5.2 accounting */
    if (st->hdr_bytes > MAX_HEADER_LIST) {
        tk_log_warn("api=%s upstream %s: response header list too large", st->req->api->api_id,
                    st->req->target->url);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    }
    const char *n = (const char *)name;
    if (!st->head_seen) {
        if (nl == 7 && memcmp(n, ":status", 7) == 0) {
            int v = 0;
            for (size_t i = 0; i < vl && i < 4; i++)
                v = v * 10 + (value[i] - '0');
            st->status = v;
            return 0;
        }
        if (nl && n[0] == ':')
            return 0;
        if (!st->hdrs)
            st->hdrs = evbuffer_new();
        if (tk_str_ieq(n, nl, "content-length")) {
            int64_t v = 0;
            for (size_t i = 0; i < vl && i < 18; i++)
                v = v * 10 + (value[i] - '0'); /* nghttp2 checked it is all digits */
            st->content_length = v;
            return 0;
        }
        if (tk_str_ieq(n, nl, "date") || gw_http_hop_by_hop(n, nl))
            return 0;
        add_canonical(st->hdrs, name, nl);
        evbuffer_add(st->hdrs, ": ", 2);
        evbuffer_add(st->hdrs, value, vl);
        evbuffer_add(st->hdrs, "\r\n", 2);
        return 0;
    }
    if (nl && n[0] == ':')
        return 0;
    if (!st->trailers)
        st->trailers = evbuffer_new();
    add_canonical(st->trailers, name, nl);
    evbuffer_add(st->trailers, ": ", 2);
    evbuffer_add(st->trailers, value, vl);
    evbuffer_add(st->trailers, "\r\n", 2);
    return 0;
}

static void deliver_head(h2_stream_t *st, bool end_stream)
{
    gw_req_t *req = st->req;
    st->head_seen = true;
    req->t_up_head = tk_now_ns();
    if (req->up_timer && !st->grpc_deadline)
        evtimer_del(req->up_timer);
    struct evbuffer *h = st->hdrs ? st->hdrs : evbuffer_new();
    st->hdrs = NULL;
    int status = st->status;
    bool head_req = req->head->method_len == 4 && memcmp(req->head->method, "HEAD", 4) == 0;
    if (gw_resp_filter_head(req, &status, h, head_req))
        return;
    int64_t cl;
    bool body = !end_stream;
    if (head_req || status == 204 || status == 304) {
        if (head_req && st->content_length >= 0)
            evbuffer_add_printf(h, "Content-Length: %lld\r\n", (long long)st->content_length);
        cl = -2;
    } else if (end_stream) {
        cl = 0;
    } else if (st->content_length >= 0) {
        cl = st->content_length;
    } else {
        cl = -1;
    }
    if (gw_analytics_wants_detail(req)) {
        req->an_resp = evbuffer_new();
        evbuffer_add_printf(req->an_resp, "HTTP/1.1 %d %s\r\n", st->status,
                            tk_http_reason(st->status));
        evbuffer_add(req->an_resp, evbuffer_pullup(h, -1), evbuffer_get_length(h));
        evbuffer_add(req->an_resp, "\r\n", 2);
    }
    gw_req_write_head(req, status, h, cl, body);
    evbuffer_free(h);
}

/* The upstream response ended (END_STREAM). */
static void stream_complete(h2_stream_t *st)
{
    gw_req_t *req = stream_detach(st);
    if (!req)
        return;
    if (!st->sent_eof && st->id > 0) {
        /* The upstream answered before the request body ended: stop sending it (RFC 9113 §8.1). */
        nghttp2_submit_rst_stream(st->s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    }
    if (req->up_timer)
        evtimer_del(req->up_timer);
    if (st->trailers && !req->resp_buffering) {
        gw_req_write_trailers(req, st->trailers);
        evbuffer_drain(st->trailers, evbuffer_get_length(st->trailers));
    }
    gw_proxy_up_finished(req);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    h2_sess_t *s = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        s->closed = true; /* new requests open a new session */
        return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    h2_stream_t *st = stream_of(ng, frame->hd.stream_id);
    if (!st || !st->req)
        return 0;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && !st->head_seen) {
        if (st->status >= 100 && st->status < 200) {
            /* An interim response; the final one follows. */
            if (st->hdrs)
                evbuffer_drain(st->hdrs, evbuffer_get_length(st->hdrs));
            st->content_length = -1;
            if (!end)
                return 0;
        }
        if (st->status < 200) {
            /* END_STREAM without a final status (or a bad one): a broken response. */
            nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
            return 0;
        }
        deliver_head(st, end);
    }
    if (end && st->req)
        stream_complete(st);
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    TK_UNUSED(flags);
    TK_UNUSED(ud);
    h2_stream_t *st = stream_of(ng, id);
    gw_req_t *req = st ? st->req : NULL;
    if (!req || !st->head_seen) {
        nghttp2_session_consume(ng, id, len);
        return 0;
    }
    if (req->resp_buffering) {
        if (evbuffer_get_length(req->resp_hold_body) + len <= GW_RESP_FILTER_MAX_BODY)
            evbuffer_add(req->resp_hold_body, data, len);
        else
            req->resp_hold_status = -1; /* too large to filter: answered 500 at the end */
        nghttp2_session_consume(ng, id, len);
        return 0;
    }
    gw_req_write_body(req, data, len);
    if (st->req && req->an_resp && evbuffer_get_length(req->an_resp) < GW_ANALYTICS_MAX_RAW)
        evbuffer_add(req->an_resp, data, TK_MIN(len, GW_ANALYTICS_MAX_RAW));
    if (!st->req || (st->unconsumed == 0 && gw_req_out_len(req) <= HIGH_WATER))
        nghttp2_session_consume(ng, id, len);
    else
        st->unconsumed += len; /* credit returned when the client drains */
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
    TK_UNUSED(ud);
    h2_stream_t *st = stream_of(ng, id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(ng, id, NULL);
    h2_sess_t *s = st->s;
    stream_release_credit(st); /* the connection window must not shrink for good */
    stream_unlink(st);
    gw_req_t *req = stream_detach(st);
    if (req) {
        if (code == NGHTTP2_REFUSED_STREAM && !req->responded && !st->body_taken && !st->retried) {
            /* Refused (GOAWAY or the peer's stream limit): nothing was processed; once more on
             * a fresh session. */
            h2_stream_t *again = tk_xcalloc(1, sizeof(*again));
            again->retried = true;
            again->grpc_deadline = st->grpc_deadline;
            again->body = st->body;
            again->body_eof = st->body_eof;
            again->content_length = -1;
            st->body = NULL;
            again->req = req;
            req->up_h2 = again;
            s->closed = true;
            stream_submit(again); /* the session connects from the loop: no answer from here */
        } else {
            char why[64];
            snprintf(why, sizeof(why), "stream reset (%s)", nghttp2_http2_strerror(code));
            req_upstream_failed(req, why);
        }
    }
    stream_free(st);
    return 0;
}

/* A request HEADERS that never went (its client left first, or the session is ending). */
static int on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *frame, int err, void *ud)
{
    h2_sess_t *s = ud;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    for (h2_stream_t *st = s->streams; st; st = st->next) {
        if (st->id != frame->hd.stream_id)
            continue;
        nghttp2_session_set_stream_user_data(ng, st->id, NULL);
        stream_unlink(st);
        gw_req_t *req = stream_detach(st);
        stream_free(st);
        if (req)
            req_upstream_failed(req, nghttp2_strerror(err));
        break;
    }
    return 0;
}

static ssize_t on_send_noop(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
                            void *ud)
{
    TK_UNUSED(ng);
    TK_UNUSED(data);
    TK_UNUSED(len);
    TK_UNUSED(flags);
    TK_UNUSED(ud);
    return NGHTTP2_ERR_WOULDBLOCK; /* we use mem_send */
}

/* ---- sessions ---- */

static nghttp2_session *new_ng(h2_sess_t *s)
{
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, on_send_noop);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
    nghttp2_option_set_max_outbound_ack(opt, 1000); /* a PING/SETTINGS flood ends the session */
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_session *ng = NULL;
    int rc = nghttp2_session_client_new2(&ng, cb, s, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0)
        return NULL;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST},
    };
    nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, iv, TK_ARRAY_LEN(iv));
    nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
    return ng;
}

static void sess_unlist(h2_sess_t *s)
{
    h2_state_t *S = state_of(s->w);
    for (h2_sess_t **pp = &S->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            return;
        }
    }
}

static void sess_free(h2_sess_t *s)
{
    if (s->depth > 0) {
        s->dead = true;
        return;
    }
    if (s->dns_req) {
        s->dead = true; /* freed by on_dns with EVUTIL_EAI_CANCEL */
        struct evdns_getaddrinfo_request *r = s->dns_req;
        s->dns_req = NULL;
        evdns_getaddrinfo_cancel(r);
        return;
    }
    while (s->streams) {
        h2_stream_t *st = s->streams;
        stream_unlink(st);
        stream_detach(st);
        stream_free(st);
    }
    if (s->connect_ev)
        event_free(s->connect_ev);
    if (s->flush_ev)
        event_free(s->flush_ev);
    if (s->ng)
        nghttp2_session_del(s->ng);
    if (s->st)
        tk_stream_free(s->st);
    SSL_CTX_free(s->client_ctx);
    free(s->key);
    free(s->host);
    free(s);
}

/* The connection is unusable: every request on it fails, then the session goes. */
static void sess_fail(h2_sess_t *s, const char *why)
{
    if (s->dead)
        return;
    sess_unlist(s);
    s->closed = true;
    s->dead = true;
    s->depth++;
    tk_log_debug("upstream h2 %s:%d: %s", s->host, s->port, why);
    while (s->streams) {
        h2_stream_t *st = s->streams;
        stream_unlink(st);
        if (st->id > 0 && s->ng)
            nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
        gw_req_t *req = stream_detach(st);
        stream_free(st);
        if (req)
            req_upstream_failed(req, why);
    }
    s->depth--;
    s->dead = false;
    sess_free(s);
}

/* Moves as many frames as the socket will take. nghttp2 is never re-entered: a flush asked for
 * while the session is busy (depth > 0) is remembered and done when the outer call unwinds. */
static void sess_flush(h2_sess_t *s)
{
    if (s->dead || !s->ready)
        return;
    if (s->depth > 0) {
        s->flush_again = true;
        return;
    }
    struct evbuffer *out = tk_stream_output(s->st);
    const char *err = NULL;
    s->depth++; /* mem_send runs callbacks that may answer requests */
    do {
        s->flush_again = false;
        while (!s->dead && evbuffer_get_length(out) < HIGH_WATER &&
               nghttp2_session_want_write(s->ng)) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(s->ng, &data);
            if (n < 0) {
                err = nghttp2_strerror((int)n);
                break;
            }
            if (n == 0)
                break;
            evbuffer_add(out, data, (size_t)n);
        }
        /* Request bodies drained by the frames above let their clients go on. */
        for (h2_stream_t *st = s->streams; st && !s->dead && !err; st = st->next) {
            if (st->client_blocked && st->req && evbuffer_get_length(st->body) <= LOW_WATER) {
                st->client_blocked = false;
                gw_conn_block_read(st->req->conn, false);
            }
        }
    } while (s->flush_again && !s->dead && !err && evbuffer_get_length(out) < HIGH_WATER);
    s->depth--;
    if (s->dead) {
        s->dead = false;
        sess_free(s);
        return;
    }
    if (err) {
        sess_fail(s, err);
        return;
    }
    if (!nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng) &&
        evbuffer_get_length(out) == 0)
        sess_fail(s, "session ended");
}

static void on_flush_ev(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    sess_flush(arg);
}

static void sess_kick(h2_sess_t *s)
{
    if (s->ready && !s->dead)
        event_active(s->flush_ev, EV_TIMEOUT, 1);
}

static void on_sess_read(tk_stream_t *t, void *arg)
{
    h2_sess_t *s = arg;
    struct evbuffer *in = tk_stream_input(t);
    const char *err = NULL;
    s->depth++;
    while (!s->dead && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        ssize_t n = nghttp2_session_mem_recv(s->ng, v.iov_base, v.iov_len);
        if (n < 0) {
            err = nghttp2_strerror((int)n);
            break;
        }
        evbuffer_drain(in, (size_t)n);
    }
    s->depth--;
    if (s->dead) {
        s->dead = false;
        sess_free(s);
        return;
    }
    if (err) {
        sess_fail(s, err);
        return;
    }
    /* Answers, window updates, and a GOAWAY nghttp2 queued for a protocol error. */
    sess_flush(s);
}

static void on_sess_drain(tk_stream_t *t, void *arg)
{
    TK_UNUSED(t);
    sess_flush(arg);
}

static void sess_ready(h2_sess_t *s)
{
    if (s->tls) {
        const unsigned char *p = NULL;
        unsigned int n = 0;
        SSL_get0_alpn_selected(tk_stream_ssl(s->st), &p, &n);
        if (n != 2 || memcmp(p, "h2", 2) != 0) {
            /* The upstream speaks HTTP/1.1 only: remember, and send these requests that way. */
            h2_state_t *S = state_of(s->w);
            S->h1_only = tk_xrealloc(S->h1_only, (S->nh1_only + 1) * sizeof(char *));
            S->h1_only[S->nh1_only++] = tk_xstrdup(s->key);
            sess_unlist(s);
            s->closed = true;
            s->depth++;
            while (s->streams) {
                h2_stream_t *st = s->streams;
                stream_unlink(st);
                if (st->id > 0)
                    nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
                gw_req_t *req = stream_detach(st);
                bool clean = !st->body_taken && evbuffer_get_length(st->body) == 0;
                stream_free(st);
                if (req && (clean || (req->body && req->body_done)))
                    gw_proxy_h1_connect(req); /* it reads the body itself */
                else if (req)
                    req_upstream_failed(req, "ALPN fallback with a body already read");
            }
            s->depth--;
            sess_free(s);
            return;
        }
    }
    s->ready = true;
    int fd = tk_stream_fd(s->st);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* As on HTTP/1: the client's body is read once the upstream is there. */
    s->depth++;
    for (h2_stream_t *st = s->streams, *next; st; st = next) {
        next = st->next;
        if (st->resume_pending && st->req) {
            st->resume_pending = false;
            gw_req_resume_body(st->req);
        }
    }
    s->depth--;
    if (s->dead) {
        s->dead = false;
        sess_free(s);
        return;
    }
    sess_flush(s);
}

static void on_sess_event(tk_stream_t *t, int what, void *arg)
{
    TK_UNUSED(t);
    h2_sess_t *s = arg;
    if (what & TK_STREAM_CONNECTED) {
        sess_ready(s);
        return;
    }
    sess_fail(s, (what & TK_STREAM_EOF) ? "connection closed" : "connection failed");
}

static void sess_connect_addr(h2_sess_t *s, struct sockaddr *sa, int salen)
{
    gw_server_t *srv = s->w->srv;
    SSL *ssl = NULL;
    if (s->tls) {
        ssl = SSL_new(s->client_ctx ? s->client_ctx
                      : s->verify   ? srv->up_ssl_verify
                                    : srv->up_ssl_noverify);
        static const unsigned char alpn[] = "\x02h2\x08http/1.1";
        SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1);
        tk_ssl_set_peer(ssl, s->host, s->verify);
    }
    s->st = tk_stream_new(s->w->base, -1, ssl, false);
    tk_stream_setcb(s->st, on_sess_read, on_sess_drain, on_sess_event, s);
    tk_stream_set_lowmark(s->st, LOW_WATER);
    tk_stream_allow_dirty_shutdown(s->st);
    if (tk_stream_connect(s->st, sa, salen) != TK_OK)
        sess_fail(s, "connect failed");
}

static void on_dns(int err, struct evutil_addrinfo *res, void *arg)
{
    h2_sess_t *s = arg;
    s->dns_req = NULL;
    if (s->dead) {
        if (res)
            evutil_freeaddrinfo(res);
        s->dead = false;
        sess_free(s);
        return;
    }
    if (err || !res) {
        if (res)
            evutil_freeaddrinfo(res);
        sess_unlist(s);
        s->closed = true;
        s->depth++;
        while (s->streams) {
            h2_stream_t *st = s->streams;
            stream_unlink(st);
            gw_req_t *req = stream_detach(st);
            stream_free(st);
            if (req)
                gw_proxy_fail(req, 500, "Upstream host lookup failed");
        }
        s->depth--;
        sess_free(s);
        return;
    }
    struct sockaddr_storage ss;
    int len = tk_sockaddr_from_ai(res, s->port, &ss);
    evutil_freeaddrinfo(res);
    sess_connect_addr(s, (struct sockaddr *)&ss, len);
}

static h2_sess_t *sess_for(gw_req_t *req)
{
    gw_worker_t *w = req->conn->w;
    h2_state_t *S = state_of(w);
    char key[768];
    bool verify;
    SSL_CTX *cc;
    target_key(req, key, sizeof(key), &verify, &cc);
    for (h2_sess_t *s = S->sessions; s; s = s->next)
        if (!s->closed && !s->dead && s->submitted < MAX_STREAMS_PER_SESSION &&
            strcmp(s->key, key) == 0)
            return s;
    const gw_target_t *t = req->target;
    h2_sess_t *s = tk_xcalloc(1, sizeof(*s));
    s->w = w;
    s->key = tk_xstrdup(key);
    s->host = tk_xstrdup(t->host);
    s->port = t->port;
    s->tls = t->tls;
    s->verify = verify;
    if (cc && SSL_CTX_up_ref(cc) == 1)
        s->client_ctx = cc;
    s->flush_ev = evtimer_new(w->base, on_flush_ev, s);
    s->ng = new_ng(s);
    if (!s->ng) {
        sess_free(s);
        return NULL;
    }
    s->next = S->sessions;
    S->sessions = s;
    return s;
}

static void on_connect_ev(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    h2_sess_t *s = arg;
    event_free(s->connect_ev);
    s->connect_ev = NULL;
    sess_connect(s);
}

static void sess_connect(h2_sess_t *s)
{
    struct sockaddr_storage ss;
    int len = tk_sockaddr_from_ip(s->host, s->port, &ss);
    if (!len) {
        struct evutil_addrinfo hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        s->depth++; /* the callback may run before this returns */
        struct evdns_getaddrinfo_request *r =
            evdns_getaddrinfo(s->w->dns, s->host, NULL, &hints, on_dns, s);
        s->depth--;
        if (r)
            s->dns_req = r;
        if (s->dead) {
            s->dead = false;
            sess_free(s);
        }
        return;
    }
    sess_connect_addr(s, (struct sockaddr *)&ss, len);
}

/* ---- requests ---- */

static void nv_add(nghttp2_nv *nv, size_t *n, const char *name, size_t nl, const char *value,
                   size_t vl)
{
    nv[*n] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, nl, vl, NGHTTP2_NV_FLAG_NONE};
    (*n)++;
}

/* Lower-cases a header name into arena memory (HTTP/2 field names are lowercase). */
static char *lower(tk_arena_t *a, const char *s, size_t n)
{
    char *o = tk_arena_alloc(a, n + 1);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++)
        o[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    o[n] = '\0';
    return o;
}

/* Queues the request on a session. False when it was answered instead (the request may be
 * gone). */
static bool stream_submit(h2_stream_t *st)
{
    gw_req_t *req = st->req;
    h2_sess_t *s = sess_for(req);
    if (!s) {
        stream_detach(st);
        stream_free(st);
        gw_proxy_fail(req, 500, PROXY_ERR);
        return false;
    }
    st->s = s;
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    s->nstreams++;
    s->submitted++;

    const tk_http_head_t *head = req->head;
    char *uri = gw_proxy_upstream_uri(req);
    size_t cap = head->nhdrs + 8;
    nghttp2_nv *nv = tk_arena_alloc(req->arena, cap * sizeof(*nv));
    if (!uri || !nv) {
        stream_unlink(st);
        stream_detach(st);
        stream_free(st);
        gw_proxy_fail(req, 500, PROXY_ERR);
        return false;
    }
    size_t n = 0;
    nv_add(nv, &n, ":method", 7, head->method, head->method_len);
    nv_add(nv, &n, ":scheme", 7, s->tls ? "https" : "http", s->tls ? 5 : 4);
    const tk_http_hdr_t *host = tk_http_head_find(head, "host");
    if (req->api->preserve_host_header && host)
        nv_add(nv, &n, ":authority", 10, host->value, host->value_len);
    else
        nv_add(nv, &n, ":authority", 10, req->target->hostport, strlen(req->target->hostport));
    nv_add(nv, &n, ":path", 5, uri, strlen(uri));
    const tk_http_hdr_t *conn_hdr = tk_http_head_find(head, "connection");
    for (uint32_t i = 0; i < head->nhdrs; i++) {
        const tk_http_hdr_t *h = &head->hdrs[i];
        if (tk_str_ieq(h->name, h->name_len, "host") ||
            tk_str_ieq(h->name, h->name_len, "content-length") ||
            tk_str_ieq(h->name, h->name_len, "x-forwarded-for") ||
            tk_str_ieq(h->name, h->name_len, "expect") || (h->name_len && h->name[0] == ':') ||
            gw_proxy_drop_header(head, h, conn_hdr))
            continue;
        char *name = lower(req->arena, h->name, h->name_len);
        if (!name)
            continue;
        nv_add(nv, &n, name, h->name_len, h->value, h->value_len);
    }
    if (!req->up_no_xff) {
        struct evbuffer *x = evbuffer_new();
        for (uint32_t i = 0; i < head->nhdrs; i++) {
            const tk_http_hdr_t *h = &head->hdrs[i];
            if (tk_str_ieq(h->name, h->name_len, "x-forwarded-for")) {
                evbuffer_add(x, h->value, h->value_len);
                evbuffer_add(x, ", ", 2);
            }
        }
        evbuffer_add(x, req->conn->peer, strlen(req->conn->peer));
        size_t xl = evbuffer_get_length(x);
        char *xv = tk_arena_strndup(req->arena, (const char *)evbuffer_pullup(x, -1), xl);
        evbuffer_free(x);
        if (xv)
            nv_add(nv, &n, "x-forwarded-for", 15, xv, xl);
    }
    int64_t cl = -1;
    if (req->body && req->body_done)
        cl = (int64_t)evbuffer_get_length(req->body); /* a body a middleware collected */
    else if (!head->chunked && head->content_length >= 0)
        cl = head->content_length;
    if (cl >= 0) {
        char *v = tk_arena_printf(req->arena, "%lld", (long long)cl);
        if (v)
            nv_add(nv, &n, "content-length", 14, v, strlen(v));
    }
    bool no_body = st->body_eof && evbuffer_get_length(st->body) == 0;
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = data_read};
    if (no_body)
        st->sent_eof = true;
    int32_t id = nghttp2_submit_request(s->ng, NULL, nv, n, no_body ? NULL : &dp, st);
    if (id < 0) {
        stream_unlink(st);
        stream_detach(st);
        stream_free(st);
        gw_proxy_fail(req, 500, PROXY_ERR);
        return false;
    }
    st->id = id;
    req->t_up_sent = tk_now_ns();
    if (!s->ready) {
        st->resume_pending = !req->body_done && !req->want_body;
        if (!s->st && !s->dns_req && !s->connect_ev) {
            static const struct timeval now = {0, 0};
            s->connect_ev = evtimer_new(s->w->base, on_connect_ev, s);
            evtimer_add(s->connect_ev, &now);
        }
        return true;
    }
    sess_kick(s);
    return true;
}

/* grpc-timeout ("<1-8 digits><H|M|S|m|u|n>") in seconds; 0 when absent or malformed. */
static double grpc_timeout(const gw_req_t *req)
{
    const tk_http_hdr_t *h = gw_req_header(req, "grpc-timeout");
    if (!h || h->value_len < 2 || h->value_len > 9)
        return 0;
    double v = 0;
    for (size_t i = 0; i + 1 < h->value_len; i++) {
        if (h->value[i] < '0' || h->value[i] > '9')
            return 0;
        v = v * 10 + (h->value[i] - '0');
    }
    switch (h->value[h->value_len - 1]) {
    case 'H':
        return v * 3600;
    case 'M':
        return v * 60;
    case 'S':
        return v;
    case 'm':
        return v / 1e3;
    case 'u':
        return v / 1e6;
    case 'n':
        return v / 1e9;
    default:
        return 0;
    }
}

void gw_proxy_h2_start(gw_req_t *req)
{
    h2_stream_t *st = tk_xcalloc(1, sizeof(*st));
    st->req = req;
    st->body = evbuffer_new();
    st->content_length = -1;
    req->up_h2 = st;
    double gt = gw_req_is_grpc(req) ? grpc_timeout(req) : 0;
    double pt =
        req->up_timeout > 0 ? req->up_timeout : req->conn->w->srv->conf->proxy_default_timeout;
    if (gt > 0 && (pt <= 0 || gt < pt) && req->up_timer) {
        /* The call's own deadline, for the whole call (not only until the response head). */
        st->grpc_deadline = true;
        struct timeval tv = {(time_t)gt, (suseconds_t)((gt - (double)(time_t)gt) * 1e6)};
        evtimer_add(req->up_timer, &tv);
    }
    bool replay = req->body_done && req->body;
    if (req->body_done && !req->body)
        st->body_eof = true;
    if (replay) {
        size_t n = evbuffer_get_length(req->body);
        evbuffer_add(st->body, evbuffer_pullup(req->body, -1), n);
        st->body_eof = true;
    }
    /* Last: the pipeline may end the request from inside either call. */
    if (stream_submit(st) && !st->resume_pending && !req->body_done)
        gw_req_resume_body(req);
}

void gw_proxy_h2_on_body(gw_req_t *req, const char *p, size_t n)
{
    h2_stream_t *st = req->up_h2;
    evbuffer_add(st->body, p, n);
    req->body_started = true;
    if (evbuffer_get_length(st->body) > HIGH_WATER && !st->client_blocked) {
        st->client_blocked = true;
        gw_conn_block_read(req->conn, true);
    }
    if (st->deferred && st->s && st->id > 0) {
        st->deferred = false;
        nghttp2_session_resume_data(st->s->ng, st->id);
    }
    if (st->s)
        sess_kick(st->s);
}

void gw_proxy_h2_on_body_done(gw_req_t *req)
{
    h2_stream_t *st = req->up_h2;
    st->body_eof = true;
    if (st->deferred && st->s && st->id > 0) {
        st->deferred = false;
        nghttp2_session_resume_data(st->s->ng, st->id);
    }
    if (st->s)
        sess_kick(st->s);
}

/* Resets the upstream stream of a request that no longer wants it. A HEADERS not yet sent is
 * cancelled by nghttp2 (on_frame_not_send frees it). */
static void stream_cancel(h2_stream_t *st)
{
    h2_sess_t *s = st->s;
    st->body_eof = true; /* nothing more will come from the client */
    stream_release_credit(st);
    if (st->deferred) {
        st->deferred = false;
        nghttp2_session_resume_data(s->ng, st->id);
    }
    nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
    sess_kick(s);
}

void gw_proxy_h2_client_gone(gw_req_t *req)
{
    h2_stream_t *st = req->up_h2;
    st->req = NULL;
    req->up_h2 = NULL;
    st->client_blocked = false; /* the connection is going away */
    stream_cancel(st);
}

void gw_proxy_h2_client_drained(gw_req_t *req)
{
    h2_stream_t *st = req->up_h2;
    if (!st->unconsumed || gw_req_out_len(req) > LOW_WATER)
        return;
    if (nghttp2_session_consume(st->s->ng, st->id, st->unconsumed) != 0)
        nghttp2_session_consume_connection(st->s->ng, st->unconsumed);
    st->unconsumed = 0;
    sess_kick(st->s);
}

void gw_proxy_h2_timeout(gw_req_t *req)
{
    h2_stream_t *st = req->up_h2;
    bool grpc = st->grpc_deadline;
    stream_detach(st);
    stream_cancel(st);
    if (!req->responded) {
        gw_proxy_fail(req, 504, "Upstream service reached hard timeout.");
        return;
    }
    if (grpc && !req->resp_buffering) {
        /* Mid-call: end it as a gRPC server would at its deadline. */
        struct evbuffer *t = evbuffer_new();
        evbuffer_add_printf(t, "Grpc-Status: 4\r\nGrpc-Message: Deadline Exceeded\r\n");
        gw_req_write_trailers(req, t);
        evbuffer_free(t);
        gw_req_finish(req);
        return;
    }
    gw_req_abort(req);
}

void gw_proxy_h2_sweep(gw_worker_t *w, uint64_t max_idle_ms)
{
    if (!w->h2up)
        return;
    h2_state_t *S = w->h2up;
    uint64_t now = tk_now_ms();
    h2_sess_t *s = S->sessions;
    while (s) {
        h2_sess_t *next = s->next;
        if (s->nstreams == 0 && s->depth == 0 &&
            (max_idle_ms == 0 || now - s->idle_since_ms > max_idle_ms)) {
            sess_unlist(s);
            sess_free(s);
        }
        s = next;
    }
}

void gw_proxy_h2_free_all(gw_worker_t *w)
{
    h2_state_t *S = w->h2up;
    if (!S)
        return;
    while (S->sessions) {
        h2_sess_t *s = S->sessions;
        S->sessions = s->next;
        s->depth = 0;
        s->dns_req = NULL;
        sess_free(s);
    }
    for (size_t i = 0; i < S->nh1_only; i++)
        free(S->h1_only[i]);
    free(S->h1_only);
    free(S);
    w->h2up = NULL;
}
