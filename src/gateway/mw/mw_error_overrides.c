/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ErrorOverrides (Tyk's ResponseErrorOverrideMiddleware): holds the API's compiled
 * error_overrides (gw_error_overrides.h) and watches each proxied response so upstream 4xx/5xx
 * answers can be rewritten. Gateway-written errors find the rules through this middleware's state.
 */
#include "gw_error_overrides.h"
#include "gw_mw_common.h"

#include <stdio.h>

static const json_t *api_map(const gw_api_t *api)
{
    if (json_is_true(json_object_get(api->def, "error_overrides_disabled")))
        return NULL;
    return json_object_get(api->def, "error_overrides");
}

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    return gw_eo_configured(api_map(api)) || gw_eo_configured(conf->error_overrides);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    char where[512];
    snprintf(where, sizeof(where), "%s: API %s", api->file ? api->file : "?",
             api->api_id ? api->api_id : "?");
    bool failed = false;
    mw->state = gw_eo_compile(api_map(api), conf->template_path, where,
                              conf->turnpike_skip_bad_templates ? NULL : errs, &failed);
    if (failed) {
        gw_eo_free(mw->state);
        mw->state = NULL;
        return TK_ERROR;
    }
    return TK_OK;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    gw_eo_watch_response(req, mw->state);
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    gw_eo_free(mw->state);
    mw->state = NULL;
}

const gw_mw_def_t gw_mw_error_overrides = {
    .name = "ErrorOverrides",
    .phase = GW_PHASE_TRANSFORM,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
