/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/2 towards clients (RFC 9113) with nghttp2: one server session per connection, each
 * stream an ordinary gw_req_t (req->h2 set) that runs the same pipeline and proxy as HTTP/1.
 * Memory per connection is bounded by the stream limit, the header list limit and the flow
 * control windows: request DATA is acknowledged (WINDOW_UPDATE) only once it went upstream, and
 * response data waits in the stream until the client's window lets it out.
 */
#ifndef GW_H2_H
#define GW_H2_H

#include "gw_http.h"

typedef struct gw_h2_conn gw_h2_conn_t;
typedef struct gw_h2_stream gw_h2_stream_t;

enum gw_h2_detect {
    GW_H2_NO = 0,    /* HTTP/1 */
    GW_H2_YES = 1,   /* HTTP/2 session started on the connection */
    GW_H2_MORE = -1, /* could still be the client preface: wait for more bytes */
};

/** On a fresh connection: ALPN "h2" (TLS) or the prior-knowledge preface (plain), when
 *  http_server_options.enable_http2 is on. Starts the session on GW_H2_YES. */
int gw_h2_detect(gw_conn_t *c);
/** Feeds the connection's input to the session and writes what it answers. */
void gw_h2_on_input(gw_conn_t *c);
/** The socket's output drained: more frames may go. */
void gw_h2_on_drain(gw_conn_t *c);
/** Idle timeout or shutdown: GOAWAY, then close once the open streams are done. */
void gw_h2_shutdown(gw_conn_t *c);
/** Releases the streams and the session (the connection is being freed). */
void gw_h2_free(gw_conn_t *c);
/** The upstream of some stream is full (true) or drained (false): hold back WINDOW_UPDATEs. */
void gw_h2_block_body(gw_conn_t *c, bool block);

/* The gw_req_* entry points of gw_http.h for HTTP/2 requests. */
void gw_h2_write_head(gw_req_t *req, int status, struct evbuffer *hdrs, int64_t content_length,
                      bool body);
void gw_h2_write_body(gw_req_t *req, const void *p, size_t n);
void gw_h2_write_trailers(gw_req_t *req, struct evbuffer *lines);
void gw_h2_finish(gw_req_t *req);
void gw_h2_reset(gw_req_t *req);
void gw_h2_resume_body(gw_req_t *req);
size_t gw_h2_out_len(const gw_req_t *req);
/** The request is released: the stream forgets it (its arena goes back to the connection). */
void gw_h2_detach(gw_req_t *req);

/** What a complete request head is handed to (gw_route_request; a fuzzer may replace it). */
extern void (*gw_h2_route)(gw_req_t *req);

#endif
