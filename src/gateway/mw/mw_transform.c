/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TransformMiddleware (Tyk §9.1 step 26): a request matching an extended_paths.transform entry
 * has its body run through the entry's Go template (template_data: input_type json|xml,
 * template_mode blob|file, enable_session) and the output, after $tyk_context / $tyk_meta /
 * $secret_* replacement (URL-escaped as Tyk's ReplaceTykVariables(.., true) does), becomes the
 * body sent upstream with its new Content-Length. As in Tyk, a body that does not parse, an
 * input_type other than json/xml, or a template failing at execution logs "Body transform
 * failure" and the original body goes upstream unchanged.
 */
#include "gw_body_tmpl.h"
#include "gw_ctxvars.h"
#include "gw_mw_common.h"
#include "gw_req_body.h"

#include "tk_log.h"

#include <event2/buffer.h>
#include <stdlib.h>

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_has_eps(api, GW_EP_TRANSFORM);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    /* A template that does not load rejects the API, unless turnpike_skip_bad_templates asks
     * for Tyk's way: log it and skip only that entry. */
    if (conf->turnpike_skip_bad_templates) {
        mw->state = gw_body_tmpls_load(api, GW_EP_TRANSFORM);
        return TK_OK;
    }
    mw->state = gw_body_tmpls_load_strict(api, GW_EP_TRANSFORM, errs);
    return mw->state ? TK_OK : TK_ERROR;
}

static void dispose(gw_mw_t *mw)
{
    gw_body_tmpls_free(mw->state);
    mw->state = NULL;
}

static void failure(const gw_req_t *req, const gw_ep_t *ep, const char *what, const char *detail)
{
    tk_log_error("api=%s: transform %s %s: Body transform failure: %s%s", req->api->api_id,
                 ep->method[0] ? ep->method : "any method", ep->path, what, detail);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_ep_t *ep = gw_body_tmpl_match(req, GW_EP_TRANSFORM);
    if (!ep)
        return TK_OK;
    const gw_body_tmpl_t *t = ep->state;
    int rc = gw_req_body_collect(req);
    if (rc != TK_OK)
        return rc; /* TK_AGAIN: this step runs again once the body is in */
    if (t->input == GW_BODY_IN_OTHER) {
        failure(req, ep, "unsupported request input type: ", t->input_name);
        return TK_OK;
    }
    size_t n = evbuffer_get_length(req->body);
    const char *body = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    char err[600];
    json_t *data = gw_body_tmpl_data(t->input, body, n, err, sizeof(err));
    if (!data) {
        failure(req, ep, t->input == GW_BODY_IN_XML ? "error unmarshalling XML: " : "", err);
        return TK_OK;
    }
    if (!gw_body_tmpl_add_vars(req, t, data))
        tk_log_warn("api=%s: transform %s: Session context was enabled but not found.",
                    req->api->api_id, ep->path);
    char *out = NULL;
    size_t outlen = 0;
    rc = tk_tmpl_exec(t->tmpl, data, NULL, &out, &outlen, err, sizeof(err));
    json_decref(data);
    if (rc != TK_OK) {
        failure(req, ep, "failed to apply template to request: ", err);
        free(out);
        return TK_OK;
    }
    /* Variable replacement works on text; an output holding NUL bytes is sent as it is. */
    const char *final = out;
    size_t flen = outlen;
    if (memchr(out, '$', outlen) && strlen(out) == outlen) {
        final = gw_ctx_expand_ex(req, out, true);
        flen = final ? strlen(final) : 0;
        if (!final) {
            final = out;
            flen = outlen;
        }
    }
    evbuffer_drain(req->body, n);
    evbuffer_add(req->body, final, flen);
    free(out);
    return TK_OK;
}

const gw_mw_def_t gw_mw_transform = {
    .name = "TransformMiddleware",
    .phase = GW_PHASE_TRANSFORM,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
