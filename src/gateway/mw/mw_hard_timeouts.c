/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hard timeouts (Tyk's CheckHardTimeoutEnforced, applied by the reverse proxy): the first
 * extended_paths.hard_timeouts entry matching the request replaces proxy_default_timeout with
 * its `timeout` (seconds) for this request's upstream call. When it passes the client gets
 * 504 "Upstream service reached hard timeout." (gw_proxy.c). A timeout of 0 or less leaves the
 * default in place.
 */
#include "gw_endpoints.h"
#include "gw_mw_common.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_has_eps(api, GW_EP_HARD_TIMEOUTS);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_HARD_TIMEOUTS);
    if (!ep)
        return TK_OK;
    json_t *t = json_object_get(ep->entry, "timeout");
    double secs = json_is_number(t) ? json_number_value(t) : 0;
    if (secs > 0)
        req->up_timeout = secs;
    return TK_OK;
}

const gw_mw_def_t gw_mw_hard_timeouts = {
    .name = "HardTimeout",
    .phase = GW_PHASE_CONTENT,
    .enabled = enabled,
    .on_req = on_req,
};
