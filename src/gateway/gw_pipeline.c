/* SPDX-License-Identifier: Apache-2.0 */
/* Builds each API's middleware chain at load and walks it per request, pausing for async steps. */
#include "gw_endpoints.h"
#include "gw_mw.h"
#include "gw_pipeline.h"

#include "tk_log.h"

#include <stdlib.h>

int gw_mw_chain_build(gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    api->versions = gw_versions_build(api->def, api->file, api->api_id, conf, errs);
    if (!api->versions)
        return TK_ERROR;
    api->chain = tk_xcalloc(gw_mw_registry_len ? gw_mw_registry_len : 1, sizeof(*api->chain));
    api->nchain = 0;
    int rc = TK_OK;
    for (size_t i = 0; i < gw_mw_registry_len; i++) {
        const gw_mw_def_t *def = gw_mw_registry[i];
        if (!def->enabled(api, conf))
            continue;
        gw_mw_t *mw = &api->chain[api->nchain];
        mw->def = def;
        mw->state = NULL;
        if (def->init && def->init(mw, api, conf, errs) != TK_OK) {
            rc = TK_ERROR;
            continue;
        }
        api->nchain++;
    }
    return rc;
}

void gw_mw_chain_free(gw_api_t *api)
{
    for (size_t i = 0; i < api->nchain; i++)
        if (api->chain[i].def->dispose)
            api->chain[i].def->dispose(&api->chain[i]);
    free(api->chain);
    api->chain = NULL;
    api->nchain = 0;
    gw_versions_free(api->versions);
    api->versions = NULL;
}

/* Applies a step's result; true when the chain goes on. */
static bool step_done(gw_req_t *req, int rc)
{
    switch (rc) {
    case TK_OK:
        req->mw_index++;
        return true;
    case TK_DONE:
        return false;
    default:
        gw_respond_error(req, req->err_status ? req->err_status : 500,
                         req->err_msg ? req->err_msg : "There was a problem proxying the request");
        return false;
    }
}

void gw_pipeline_run(gw_req_t *req)
{
    const gw_api_t *api = req->api;
    while (req->mw_index < api->nchain) {
        gw_mw_t *mw = &api->chain[req->mw_index];
        if (req->ep_ignored &&
            (mw->def->phase == GW_PHASE_AUTH || mw->def->phase == GW_PHASE_POST_AUTH ||
             mw->def->phase == GW_PHASE_RATE)) {
            req->mw_index++; /* an `ignored` endpoint skips authentication and limits */
            continue;
        }
        if (req->loop_level && !req->loop_check_limits && mw->def->phase == GW_PHASE_RATE) {
            req->mw_index++; /* looped (tyk://) hops skip limits unless ?check_limits=true */
            continue;
        }
        tk_log_debug("api=%s mw=%s", api->api_id, mw->def->name);
        int rc = mw->def->on_req(mw, req);
        if (rc == TK_AGAIN || !step_done(req, rc))
            return;
    }
    gw_proxy_start(req);
}

void gw_pipeline_resume(gw_req_t *req, int rc)
{
    if (step_done(req, rc))
        gw_pipeline_run(req);
}

struct gw_wait {
    gw_req_t *req;
};

gw_wait_t *gw_wait_begin(gw_req_t *req)
{
    gw_wait_t *w = tk_xmalloc(sizeof(*w));
    w->req = req;
    req->wait = w;
    return w;
}

gw_req_t *gw_wait_end(gw_wait_t *w)
{
    gw_req_t *req = w->req;
    if (req)
        req->wait = NULL;
    free(w);
    return req;
}

void gw_wait_cancel(gw_req_t *req)
{
    if (req->wait) {
        req->wait->req = NULL;
        req->wait = NULL;
    }
}
