/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client connections and requests: reading heads and bodies with the HTTP/1 parser, timeouts,
 * keep-alive, pipelining (one request at a time; the next waits in the input buffer), and the
 * helpers every handler uses to answer.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gw_server.h"
#include "tk_arena.h"
#include "tk_http1.h"

#include <event2/buffer.h>
#include "tk_stream.h"

enum gw_req_kind {
    GW_REQ_PROXY = 0, /* streamed to an upstream */
    GW_REQ_BUFFERED,  /* body collected, then handled (control API, health) */
};

typedef void (*gw_handler_fn)(gw_req_t *req);

struct gw_req {
    gw_conn_t *conn;
    tk_arena_t *arena;
    gw_genref_t *gref;
    tk_http_head_t *head;
    enum gw_req_kind kind;
    gw_handler_fn handler; /* GW_REQ_BUFFERED: called once the body is in */
    struct evbuffer *body; /* GW_REQ_BUFFERED body */
    size_t body_limit;
    bool body_too_large;
    const char *path; /* URL path (arena), without query */
    size_t path_len;
    const char *query; /* after '?', NULL when none */
    const gw_api_t *api;
    /* versions and endpoints (gw_endpoints.h) */
    const struct gw_version *version; /* resolved by VersionCheck; NULL = the API's fixed one */
    size_t version_segment_len;       /* url versioning: "/v1" length in the stripped path */
    bool ep_ignored;                  /* an `ignored` endpoint: auth and limits are skipped */
    uint8_t ep_npaths;                /* the paths endpoints are matched against (0 = not yet;
                                         a middleware that changes req->path resets it) */
    const char *ep_paths[3];
    size_t ep_lens[3];
    size_t matched; /* bytes of path the route covered */
    uint64_t t_start;
    uint64_t t_up_sent;       /* request head written to the upstream (monotonic ns) */
    uint64_t t_up_head;       /* upstream response head received; 0 = not proxied */
    struct evbuffer *an_resp; /* detailed analytics recording: the response as sent */
    /* response filters (gw_resp_filter.h) */
    const struct gw_resp_filter_def *resp_filters[4];
    void *resp_filter_args[4];
    uint8_t n_resp_filters;
    bool resp_buffering; /* a filter holds the body until the upstream is done */
    int resp_hold_status;
    struct evbuffer *resp_hold_hdrs; /* header block held while buffering */
    struct evbuffer *resp_hold_body;
    bool head_done;    /* request head fully handled by the pipeline */
    bool body_done;    /* request fully read from the client */
    bool responded;    /* response head written */
    bool resp_chunked; /* we chunk-encode the body to the client */
    bool resp_done;
    int status;
    /* middleware pipeline */
    size_t mw_index;
    int err_status; /* TK_ERROR from a middleware: rendered with the error template */
    const char *err_msg;
    struct gw_wait *wait; /* an asynchronous step in flight */
    /* identity (set by authentication) */
    gw_sref_t *session;
    const char *token;            /* the credential as presented */
    const char *auth_event_key;   /* AuthFailure's Key when not the token (basic, HMAC) */
    const char *session_hash;     /* tk_hash_key(token): the "apikey-" suffix */
    struct gw_identity *identity; /* several auth methods: base_identity_provided_by (arena) */
    const char *resp_headers;     /* extra header lines for the response (X-RateLimit-*) */
    /* proxying */
    gw_upconn_t *up;
    struct gw_h2up_stream *up_h2; /* the HTTP/2 upstream stream (gw_proxy_h2.h), or NULL */
    const gw_target_t *target;
    bool up_body_chunked; /* request body is chunk-encoded towards the upstream */
    bool body_started;    /* some request body already went upstream */
    bool want_body;       /* the pipeline is ready for the request body */
    bool upgrade;         /* sent upstream as a protocol upgrade (gw_ws.h) */
    int attempts;
    struct event *up_timer; /* response-head deadline */
    /* url_rewrites / method_transforms, applied when the chain ends (gw_rewrite.h) */
    const char *rewrite_to;             /* the rewritten URL (arena); NULL = none */
    const char *method_to;              /* the transformed method (arena); NULL = none */
    const gw_target_t *target_override; /* a rewrite to a full URL: its upstream (arena) */
    uint8_t loop_level;                 /* tyk:// hops taken */
    uint8_t loop_limit;                 /* ?loop_limit= of the first hop; 0 = Tyk's 5 */
    bool loop_check_limits;             /* ?check_limits=true: looped hops are rate limited */
    /* track_endpoints / do_not_track_endpoints (mw_track_endpoint.c) */
    const char *track_path; /* the record's Path (the endpoint as configured); NULL = none */
    bool do_not_track;      /* no analytics record */
    double up_timeout; /* hard_timeouts: this request's deadline (s); 0 = proxy_default_timeout */
    /* the upstream failed before a response head (circuit breaker bookkeeping) */
    void (*on_up_fail)(gw_req_t *req, void *arg);
    void *on_up_fail_arg;
    struct gw_ctx_data *ctx_data; /* ContextVars snapshot (gw_ctxvars.h); NULL when off */
    bool up_no_xff; /* a header transform removed X-Forwarded-For: the proxy adds none */
    /* /tyk/reload?block=true */
    uint64_t reload_ticket;
    gw_req_t *next_waiter;
    struct gw_h2_stream *h2;   /* an HTTP/2 stream (gw_h2.h); NULL for HTTP/1 */
    const char *resp_trailers; /* gw_req_write_trailers on chunked HTTP/1 (arena) */
};

struct gw_conn {
    gw_worker_t *w;
    gw_conn_t *prev, *next;
    tk_stream_t *st;
    tk_h1_parser_t *parser;
    tk_arena_t *arena;
    struct event *timer;
    gw_req_t *req;
    char peer[64];
    bool control_port;
    bool parser_paused;
    bool close_after;  /* close once the current response is written */
    bool closing;      /* waiting for the output to drain, then free */
    bool in_process;   /* re-entrancy guard for conn_process */
    bool dead;         /* freed when conn_process unwinds */
    bool got_bytes;    /* bytes of a new request seen */
    bool read_blocked; /* reading paused for backpressure */
    bool body_timer;   /* c->timer is the request-body read timeout */
    bool proto_known;  /* HTTP/1 or HTTP/2 decided (preface / ALPN) */
    uint64_t requests;
    /* after a 101: the byte tunnel that owns st (gw_tunnel.h) */
    struct gw_tunnel *tunnel;
    struct gw_h2_conn *h2; /* speaking HTTP/2 (gw_h2.h); NULL for HTTP/1 */
};

/** Accept callback glue: takes ownership of @fd. */
void gw_conn_accept(gw_worker_t *w, int fd, const struct sockaddr *sa, int salen, bool control);
/** Closes every idle connection and marks busy ones to close after their response. */
void gw_conns_drain(gw_worker_t *w);

/** Writes a complete response with a body (Content-Length set). Ends the request. */
void gw_respond(gw_req_t *req, int status, const char *ctype, const void *body, size_t len,
                const char *extra_headers);
/** Renders Tyk's error template for @status/@msg, with X-Generator and Connection rules. */
void gw_respond_error(gw_req_t *req, int status, const char *msg);
/** Answers with JSON text plus the trailing newline Tyk's encoder writes. */
void gw_respond_json(gw_req_t *req, int status, const char *json);

/** Starts the response head for a streamed body (proxy). @hdrs is the header block text. */
void gw_req_write_head(gw_req_t *req, int status, struct evbuffer *hdrs, int64_t content_length,
                       bool body);
/** Appends response body bytes (chunk-encoded when needed). */
void gw_req_write_body(gw_req_t *req, const void *p, size_t n);
/** Ends a streamed response. */
void gw_req_finish(gw_req_t *req);
/** Response trailers ("Name: value\r\n" lines) before gw_req_finish: an h2 client gets a
 *  HEADERS frame, a chunked HTTP/1.1 response a trailer section; otherwise they are dropped. */
void gw_req_write_trailers(gw_req_t *req, struct evbuffer *hdr_lines);
/** The response cannot be completed (upstream died mid-body): close the client connection
 *  (HTTP/2: reset the stream). */
void gw_req_abort(gw_req_t *req);
/** True for a gRPC request (Content-Type application/grpc, application/grpc+proto...). */
bool gw_req_is_grpc(const gw_req_t *req);
/** Response bytes queued towards this request's client (HTTP/2: the stream's share plus the
 *  socket's), for backpressure on the upstream. */
size_t gw_req_out_len(const gw_req_t *req);

/* For gw_h2.c: a request for @head, in @arena (path and query split, generation taken). */
gw_req_t *gw_req_new(gw_conn_t *c, tk_arena_t *arena, tk_http_head_t *head);
/* For gw_h2.c: the request's client went away (stream reset or connection closed). */
void gw_req_client_gone(gw_req_t *req);
/* For gw_h2.c: closes once the output is flushed; hold/release keep @c alive meanwhile. */
void gw_conn_close(gw_conn_t *c);
bool gw_conn_hold(gw_conn_t *c);
void gw_conn_release(gw_conn_t *c, bool was_held);

/** The upstream answered an upgrade with 101 (head already written): ends @req and turns the
 *  client connection and @up (taken over) into a byte tunnel until either side closes. */
void gw_conn_switch_protocols(gw_req_t *req, tk_stream_t *up);

/** Continues reading the request body after the pipeline is ready for it. */
void gw_req_resume_body(gw_req_t *req);
/** Backpressure from the upstream side: stop / restart reading the client. */
void gw_conn_block_read(gw_conn_t *c, bool block);
/** Bytes waiting in the client output buffer. */
size_t gw_conn_out_len(const gw_conn_t *c);

/** The first value of query parameter @name, URL-decoded ('+' is a space, as Go's Query()),
 *  "" when present without a value, NULL when absent. Arena memory. */
const char *gw_req_query(gw_req_t *req, const char *name);
/** True when query parameter @name is "true" or "1" (Tyk's boolean flags). */
bool gw_req_query_flag(gw_req_t *req, const char *name);

/** True when the path is exactly the API's listen path (trailing slashes trimmed) + "/" +
 *  @route; with @opt_slash one trailing "/" is also accepted (Go's "{_:/?}" routes). The gateway
 *  routes Tyk serves under a listen path (batch, the OAuth endpoints) use it. */
bool gw_req_is_api_route(const gw_req_t *req, const char *route, bool opt_slash);

/** Appends header lines ("Name: value\r\n...") to the response this request will get. */
void gw_req_add_resp_headers(gw_req_t *req, const char *lines);

/** The client's address as Tyk's request.RealIP gives it: X-Real-IP, else the first
 *  X-Forwarded-For entry (as written), else the connection's peer address (no port). */
tk_str_t gw_req_real_ip(const gw_req_t *req);

/** True for the hop-by-hop headers a proxy never forwards (RFC 9110 §7.6.1 and Go's list). */
bool gw_http_hop_by_hop(const char *name, size_t len);

/** Looks up a request header. */
const tk_http_hdr_t *gw_req_header(const gw_req_t *req, const char *name);

/* Implemented by the router / handlers. */
void gw_route_request(gw_req_t *req);
void gw_proxy_start(gw_req_t *req);
void gw_proxy_on_body(gw_req_t *req, const char *p, size_t n);
void gw_proxy_on_body_done(gw_req_t *req);
void gw_proxy_client_gone(gw_req_t *req);
void gw_proxy_client_drained(gw_req_t *req);
void gw_reload_waiter_cancel(gw_req_t *req);

#endif
