/* SPDX-License-Identifier: Apache-2.0 */
/* custom_middleware.pre native hooks, after CORS (Tyk §9.1 step 4); also refuses Go plugins
 * (gw_native.h, include/turnpike/plugin.h). */
#include "gw_native.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_native_mw_enabled(api, TP_HOOK_PRE);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    return gw_native_mw_init(mw, api, TP_HOOK_PRE, errs);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    return gw_native_run(mw->state, req);
}

const gw_mw_def_t gw_mw_native_pre = {
    .name = "NativePluginPre",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = gw_native_mw_dispose,
};
