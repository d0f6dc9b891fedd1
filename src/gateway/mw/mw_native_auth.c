/* SPDX-License-Identifier: Apache-2.0 */
/* custom_middleware.auth_check native hook: custom plugin auth, before AuthKey (§9.1 step 14)
 * (gw_native.h, include/turnpike/plugin.h). */
#include "gw_native.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_native_mw_enabled(api, TP_HOOK_AUTH);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    return gw_native_mw_init(mw, api, TP_HOOK_AUTH, errs);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    return gw_native_run(mw->state, req);
}

const gw_mw_def_t gw_mw_native_auth = {
    .name = "NativePluginAuth",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = gw_native_mw_dispose,
};
