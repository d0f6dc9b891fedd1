/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TrackEndpointMiddleware (Tyk §9.1 step 12): a request matching extended_paths.track_endpoints
 * gets an analytics record whose Path is the endpoint as configured ("/users/{id}") with
 * TrackPath true; one matching do_not_track_endpoints gets no record at all (the latter wins).
 * Only in the chain when analytics are on and the API is tracked, as in Tyk.
 */
#include "gw_endpoints.h"
#include "gw_mw_common.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    if (!conf->enable_analytics || json_is_true(json_object_get(api->def, "do_not_track")))
        return false;
    return gw_api_has_eps(api, GW_EP_TRACK_ENDPOINTS) ||
           gw_api_has_eps(api, GW_EP_DO_NOT_TRACK_ENDPOINTS);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_TRACK_ENDPOINTS);
    if (ep)
        req->track_path = ep->path;
    if (gw_ep_match(req, GW_EP_DO_NOT_TRACK_ENDPOINTS))
        req->do_not_track = true;
    return TK_OK;
}

const gw_mw_def_t gw_mw_track_endpoint = {
    .name = "TrackEndpointMiddleware",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .on_req = on_req,
};
