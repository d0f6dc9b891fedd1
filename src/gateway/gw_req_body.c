/* SPDX-License-Identifier: Apache-2.0 */
/* Collecting a proxied request's body for a middleware, then handing it to the proxy. */
#include "gw_req_body.h"

#include "gw_mw.h"
#include "gw_pipeline.h"

#include <event2/event.h>

/* Runs outside the parser callback that delivered the body's end (the chain may answer and
 * release the request, which must not happen under the connection's feet). */
static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_req_t *req = gw_wait_end(arg);
    if (req)
        gw_pipeline_run(req); /* the step that asked for the body runs again */
}

static void body_in(gw_req_t *req)
{
    req->kind = GW_REQ_PROXY;
    gw_wait_t *w = gw_wait_begin(req);
    static const struct timeval now = {0, 0};
    if (event_base_once(req->conn->w->base, -1, EV_TIMEOUT, resume_cb, w, &now) != 0) {
        gw_wait_end(w);
        gw_pipeline_run(req);
    }
}

int gw_req_body_collect(gw_req_t *req)
{
    if (req->body && req->kind == GW_REQ_PROXY)
        return TK_OK;
    req->body = evbuffer_new();
    if (!req->body) {
        req->err_status = 500;
        req->err_msg = "There was a problem proxying the request";
        return TK_ERROR;
    }
    if (req->body_done)
        return TK_OK;
    /* The connection buffers a GW_REQ_BUFFERED body and calls the handler at its end (or
     * answers 413 past the limit). */
    req->kind = GW_REQ_BUFFERED;
    req->handler = body_in;
    req->body_limit = GW_REQ_BODY_LIMIT;
    gw_req_resume_body(req);
    return TK_AGAIN;
}

void gw_req_body_replay(gw_req_t *req)
{
    if (req->kind != GW_REQ_PROXY || !req->body)
        return;
    size_t n = evbuffer_get_length(req->body);
    if (n)
        gw_proxy_on_body(req, (const char *)evbuffer_pullup(req->body, -1), n);
    gw_proxy_on_body_done(req);
}
