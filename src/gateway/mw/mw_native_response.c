/* SPDX-License-Identifier: Apache-2.0 */
/* custom_middleware.response native hooks: a response filter on the upstream's answer, before the
 * cache stores it (gw_native.h, include/turnpike/plugin.h). */
#include "gw_native.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_native_mw_enabled(api, TP_HOOK_RESPONSE);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    return gw_native_mw_init(mw, api, TP_HOOK_RESPONSE, errs);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    return gw_native_add_response(mw->state, req);
}

const gw_mw_def_t gw_mw_native_response = {
    .name = "NativePluginResponse",
    .phase = GW_PHASE_TRANSFORM,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = gw_native_mw_dispose,
};
