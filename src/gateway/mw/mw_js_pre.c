/* SPDX-License-Identifier: Apache-2.0 */
/* custom_middleware.pre (JS): before the IP lists and auth (gw_jsvm_mw.c). */
#include "gw_jsvm_mw.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_jsmw_enabled(api, GW_JSMW_PRE);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    return gw_jsmw_init(mw, api, conf, errs, GW_JSMW_PRE);
}

const gw_mw_def_t gw_mw_js_pre = {
    .name = "DynamicMiddleware",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .init = init,
    .on_req = gw_jsmw_on_req,
    .dispose = gw_jsmw_dispose,
};
