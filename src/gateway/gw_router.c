/* SPDX-License-Identifier: Apache-2.0 */
/* First step of every request: health endpoints, the control API, or an API's proxy chain. */
#include "gw_http.h"

#include "gw_batch.h"
#include "gw_handlers.h"
#include "gw_mw.h"
#include "gw_oauth_authorize.h"
#include "gw_oauth_revoke.h"
#include "gw_oauth_token.h"

#include <strings.h>

#define CONTROL_BODY_LIMIT (16u * 1024 * 1024)

static bool path_is(const gw_req_t *req, const char *name)
{
    /* "/<name>" with an optional trailing slash */
    size_t n = strlen(name);
    return req->path_len >= n + 1 && req->path[0] == '/' && memcmp(req->path + 1, name, n) == 0 &&
           (req->path_len == n + 1 || (req->path_len == n + 2 && req->path[n + 1] == '/'));
}

static void buffered(gw_req_t *req, gw_handler_fn fn)
{
    req->kind = GW_REQ_BUFFERED;
    req->handler = fn;
    req->body = evbuffer_new();
    req->body_limit = CONTROL_BODY_LIMIT;
    if (!req->body_done)
        gw_req_resume_body(req);
}

static void not_found(gw_req_t *req)
{
    gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
}

static void on_not_found(gw_req_t *req)
{
    not_found(req);
}

void gw_route_request(gw_req_t *req)
{
    gw_conn_t *c = req->conn;
    const gw_conf_t *conf = c->w->srv->conf;
    bool separate = conf->control_api_port && conf->control_api_port != conf->listen_port;
    const tk_http_hdr_t *host = gw_req_header(req, "host");
    const char *hv = host ? host->value : "";
    size_t hl = host ? host->value_len : 0;

    if (!separate || c->control_port) {
        if (path_is(req, conf->health_check_endpoint_name)) {
            buffered(req, gw_handle_hello);
            return;
        }
        if (path_is(req, conf->readiness_check_endpoint_name)) {
            buffered(req, gw_handle_ready);
            return;
        }
        bool tyk = req->path_len >= 4 && memcmp(req->path, "/tyk", 4) == 0 &&
                   (req->path_len == 4 || req->path[4] == '/');
        bool host_ok =
            !conf->control_api_hostname[0] ||
            (hl >= strlen(conf->control_api_hostname) &&
             strncasecmp(hv, conf->control_api_hostname, strlen(conf->control_api_hostname)) == 0);
        if (tyk && host_ok) {
            buffered(req, gw_handle_control);
            return;
        }
    }
    if (c->control_port && separate) {
        buffered(req, on_not_found);
        return;
    }
    size_t matched = 0;
    const gw_route_t *r =
        gw_gen_route(req->gref->gen, conf, hv, hl, req->path, req->path_len, &matched);
    if (!r || !r->api->active) {
        buffered(req, on_not_found);
        return;
    }
    req->api = r->api;
    req->matched = matched;
    if (gw_batch_wanted(req)) {
        buffered(req, gw_batch_handle); /* Tyk's batch route runs no middleware */
        return;
    }
    if (gw_oauth_token_wanted(req)) {
        buffered(req, gw_oauth_token_handle); /* osin's token route runs no middleware */
        return;
    }
    void (*oauth_route)(gw_req_t *) = gw_oauth_authorize_route(req);
    if (!oauth_route)
        oauth_route = gw_oauth_revoke_route(req);
    if (oauth_route) {
        buffered(req, oauth_route); /* so do the authorize and revoke routes */
        return;
    }
    req->kind = GW_REQ_PROXY;
    gw_pipeline_run(req);
}
