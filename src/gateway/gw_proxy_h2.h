/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/2 upstream: h2c:// targets (cleartext, prior knowledge) and https:// targets that
 * negotiate "h2" by ALPN when tyk.conf's proxy_enable_http2 is on. One nghttp2 client session per
 * (worker, upstream) carries many requests at once; bodies stream both ways, with the upstream
 * flow-control window opened only as fast as the client takes the response. gRPC rides on it:
 * trailers pass through, grpc-timeout bounds the call.
 */
#ifndef GW_PROXY_H2_H
#define GW_PROXY_H2_H

#include "gw_http.h"

/** True when the request's target is spoken to over HTTP/2 (h2c://, or https:// with
 *  proxy_enable_http2 unless that upstream answered ALPN with http/1.1 before). */
bool gw_proxy_h2_wanted(const gw_req_t *req);
/** Sends the request (target and timer already chosen by gw_proxy_start). */
void gw_proxy_h2_start(gw_req_t *req);
void gw_proxy_h2_on_body(gw_req_t *req, const char *p, size_t n);
void gw_proxy_h2_on_body_done(gw_req_t *req);
/** The client went away: the upstream stream is reset. */
void gw_proxy_h2_client_gone(gw_req_t *req);
/** The client's output drained: open the upstream window again. */
void gw_proxy_h2_client_drained(gw_req_t *req);
/** req->up_timer fired (response deadline, or a gRPC call's grpc-timeout). */
void gw_proxy_h2_timeout(gw_req_t *req);
/** Closes sessions without streams idle for longer than @max_idle_ms (0: all idle ones). */
void gw_proxy_h2_sweep(gw_worker_t *w, uint64_t max_idle_ms);
/** Frees every session of @w (worker shutdown; no client connection is left). */
void gw_proxy_h2_free_all(gw_worker_t *w);

/* From gw_proxy.c (the HTTP/1 proxy), shared by both upstream protocols. */
char *gw_proxy_upstream_uri(gw_req_t *req);
bool gw_proxy_drop_header(const tk_http_head_t *head, const tk_http_hdr_t *h,
                          const tk_http_hdr_t *conn_hdr);
/** The upstream failed before a response head: Tyk's error answer (req->up_h2 must be NULL). */
void gw_proxy_fail(gw_req_t *req, int status, const char *msg);
/** Proxies over HTTP/1.1 instead (an https upstream that did not choose h2). */
void gw_proxy_h1_connect(gw_req_t *req);
/** The upstream response is complete: run held response filters, then end the request. */
void gw_proxy_up_finished(gw_req_t *req);

#endif
