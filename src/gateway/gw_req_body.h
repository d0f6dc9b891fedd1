/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A middleware that must read a proxied request's body (basic_auth.extract_from_body) asks for
 * it here: the body is collected into req->body, the chain resumes at the same step, and the
 * proxy later sends the collected bytes upstream instead of streaming them from the client.
 */
#ifndef GW_REQ_BODY_H
#define GW_REQ_BODY_H

#include "gw_http.h"

/* Larger bodies are refused (413) rather than held in memory. */
#define GW_REQ_BODY_LIMIT (16u * 1024 * 1024)

/**
 * TK_OK when req->body holds the whole body (empty when the request has none). TK_AGAIN while
 * it is being read: once it is in, the pipeline runs the current step again (so the caller
 * must not touch @req after TK_AGAIN).
 */
int gw_req_body_collect(gw_req_t *req);

/** For the proxy, once the upstream request head is written: sends a collected body (and the
 *  chunked terminator when the upstream body is chunked). No-op when nothing was collected. */
void gw_req_body_replay(gw_req_t *req);

#endif
