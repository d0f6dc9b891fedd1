/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ContextVars (Tyk §9.1 step 11, enable_context_vars): snapshots the request's context
 * variables (gw_ctxvars.h) for the header transforms, URL rewrites and templates that follow.
 * Nothing observable happens here: Tyk sets no header of its own (request_id only exists as
 * $tyk_context.request_id). Like Go's ParseForm, an application/x-www-form-urlencoded
 * POST/PUT/PATCH body is read so its values join request_data; the body still goes upstream.
 */
#include "gw_ctxvars.h"
#include "gw_mw_common.h"
#include "gw_req_body.h"

#include <strings.h>

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return json_is_true(json_object_get(api->def, "enable_context_vars"));
}

static bool method_is(const gw_req_t *req, const char *m)
{
    return tk_str_ieq(req->head->method, req->head->method_len, m);
}

static bool form_body(const gw_req_t *req)
{
    if (!req->head->has_body ||
        !(method_is(req, "POST") || method_is(req, "PUT") || method_is(req, "PATCH")))
        return false;
    const tk_http_hdr_t *ct = gw_req_header(req, "content-type");
    static const char form[] = "application/x-www-form-urlencoded";
    return ct && ct->value_len >= sizeof(form) - 1 &&
           strncasecmp(ct->value, form, sizeof(form) - 1) == 0 &&
           (ct->value_len == sizeof(form) - 1 || ct->value[sizeof(form) - 1] == ';' ||
            ct->value[sizeof(form) - 1] == ' ');
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const char *body = NULL;
    size_t len = 0;
    if (form_body(req)) {
        int rc = gw_req_body_collect(req);
        if (rc != TK_OK)
            return rc;
        len = evbuffer_get_length(req->body);
        body = len ? (const char *)evbuffer_pullup(req->body, -1) : NULL;
    }
    if (gw_ctx_capture(req, body, len) != TK_OK) {
        req->err_status = 500;
        req->err_msg = "There was a problem proxying the request";
        return TK_ERROR;
    }
    return TK_OK;
}

const gw_mw_def_t gw_mw_context_vars = {
    .name = "MiddlewareContextVars",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .on_req = on_req,
};
