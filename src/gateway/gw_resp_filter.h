/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Response filters: how middlewares see and change an upstream response before the client gets
 * it (transform_response_headers, transform_response, global response headers, the cache).
 * A middleware adds a filter to the request during the pipeline (gw_resp_filter_add); the proxy
 * calls it when the upstream answers.
 *
 * - on_head edits the status and the header block ("Name: value\r\n" lines; Content-Length,
 *   Transfer-Encoding, Connection and Date are not in it: the gateway writes those) while the
 *   response still streams.
 * - on_body makes the proxy hold the whole body (up to GW_RESP_FILTER_MAX_BODY; more → 500 as
 *   Tyk does when it cannot read a body) and is called once it is in, with the body in @body;
 *   it may rewrite @body, @status and @hdrs. Returning TK_ERROR (req->err_status / err_msg set)
 *   answers with the error template instead. Only filters that must see the whole body set it:
 *   without one, responses stream unbuffered (SSE, large downloads).
 * Filters run in the order they were added; all on_head calls come before any on_body.
 */
#ifndef GW_RESP_FILTER_H
#define GW_RESP_FILTER_H

#include "gw_http.h"

#define GW_RESP_FILTER_MAX 4
#define GW_RESP_FILTER_MAX_BODY (32u * 1024 * 1024)

typedef struct gw_resp_filter_def {
    const char *name;
    void (*on_head)(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs);
    int (*on_body)(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs,
                   struct evbuffer *body);
} gw_resp_filter_def_t;

/** Adds a filter for this request's response (@arg is handed back; arena memory is fine).
 *  Returns TK_ERROR when GW_RESP_FILTER_MAX filters are already set. */
int gw_resp_filter_add(gw_req_t *req, const gw_resp_filter_def_t *def, void *arg);

/**
 * Called by the proxies when an upstream response head arrives (@hdrs is its header block):
 * runs every on_head filter, then, if a filter needs the whole body (and the response has one),
 * takes @hdrs and starts holding the response — true: the caller must not write the head, the
 * body goes to req->resp_hold_body until the upstream is done.
 */
bool gw_resp_filter_head(gw_req_t *req, int *status, struct evbuffer *hdrs, bool head_req);

/** Header helpers over a header block: remove every line named @name (case-insensitive) /
 *  add one line. */
void gw_hdrs_remove(struct evbuffer *hdrs, const char *name);
void gw_hdrs_add(struct evbuffer *hdrs, const char *name, const char *value);
/** The first value of @name in the block (arena copy), or NULL. */
const char *gw_hdrs_get(gw_req_t *req, struct evbuffer *hdrs, const char *name);

#endif
