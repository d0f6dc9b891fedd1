/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Batch requests (enable_batch_request_support): POST <listen path>/tyk/batch/ with
 * {"requests":[{method, headers, body, relative_url}], "suppress_parallel_execution"} answers
 * an array of {relative_url, code, headers, body}. As in Tyk, the batch endpoint itself runs no
 * middleware, and every sub-request is a real HTTP request to this gateway's listen port
 * (http://localhost:<listen_port>/<listen path>/<relative_url>) carrying only its own headers,
 * so authentication, limits and analytics apply to each one as to any client request. The
 * sub-requests run on the worker's event loop (never blocking it); in parallel mode the replies
 * come in the order the sub-requests finished, as Tyk's do.
 */
#ifndef GW_BATCH_H
#define GW_BATCH_H

#include "gw_http.h"

#include <jansson.h>

/** True when @req (routed to req->api) is that API's batch endpoint and batches are on. */
bool gw_batch_wanted(const gw_req_t *req);

/** The buffered handler for the batch endpoint. */
void gw_batch_handle(gw_req_t *req);

/* Go's encoding/json output, shared with the JSVM's TykBatchRequest: a quoted string (HTML
 * characters escaped) and an http.Header ({name: [values]}, names sorted; NULL → null). */
struct evbuffer;
void gw_batch_go_quote(struct evbuffer *o, const char *s, size_t n);
void gw_batch_go_headers(struct evbuffer *o, json_t *h);

#endif
