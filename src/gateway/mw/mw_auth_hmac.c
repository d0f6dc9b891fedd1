/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: being written */
#include "gw_mw_common.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(api);
    TK_UNUSED(conf);
    return false;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    TK_UNUSED(req);
    return TK_OK;
}

const gw_mw_def_t gw_mw_auth_hmac = {
    .name = "placeholder",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .on_req = on_req,
};
