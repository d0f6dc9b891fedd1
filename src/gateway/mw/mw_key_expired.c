/* SPDX-License-Identifier: Apache-2.0 */
/* KeyExpired: an inactive or expired key stops here, with Tyk's codes and messages. */
#include "gw_mw_common.h"

#include <time.h>

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return !api->use_keyless;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    if (!req->session) {
        req->err_status = 400;
        req->err_msg = "Session state is missing or unset! Please make sure that auth headers are "
                       "properly applied";
        return TK_ERROR;
    }
    const gw_session_t *s = req->session->s;
    if (s->is_inactive) {
        gw_event_req_msg(req, GW_EV_KEY_EXPIRED, "Attempted access from inactive key.", req->token);
        req->err_status = 403;
        req->err_msg = "Key is inactive, please renew";
        return TK_ERROR;
    }
    if (gw_session_is_expired(s, (int64_t)time(NULL))) {
        gw_event_req(req, GW_EV_KEY_EXPIRED, req->token);
        req->err_status = 401;
        req->err_msg = "Key has expired, please renew";
        return TK_ERROR;
    }
    return TK_OK;
}

const gw_mw_def_t gw_mw_key_expired = {
    .name = "KeyExpired",
    .phase = GW_PHASE_POST_AUTH,
    .enabled = enabled,
    .on_req = on_req,
};
