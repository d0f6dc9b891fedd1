/* SPDX-License-Identifier: Apache-2.0 */
/* custom_middleware.auth_check (JS): the plugin decides the session (gw_jsvm_mw.c). */
#include "gw_jsvm_mw.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_jsmw_enabled(api, GW_JSMW_AUTH);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    return gw_jsmw_init(mw, api, conf, errs, GW_JSMW_AUTH);
}

const gw_mw_def_t gw_mw_js_auth = {
    .name = "DynamicMiddleware",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = gw_jsmw_on_req,
    .dispose = gw_jsmw_dispose,
};
