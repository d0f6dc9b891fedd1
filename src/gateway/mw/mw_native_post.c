/* SPDX-License-Identifier: Apache-2.0 */
/* custom_middleware.post native hooks, last before the proxy (§9.1 step 31) (gw_native.h,
 * include/turnpike/plugin.h). */
#include "gw_native.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_native_mw_enabled(api, TP_HOOK_POST);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    return gw_native_mw_init(mw, api, TP_HOOK_POST, errs);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    return gw_native_run(mw->state, req);
}

const gw_mw_def_t gw_mw_native_post = {
    .name = "NativePluginPost",
    .phase = GW_PHASE_CONTENT,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = gw_native_mw_dispose,
};
