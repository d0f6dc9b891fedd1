/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPBlackListMiddleware (Tyk §9.1 step 7): clients in blacklisted_ips are refused (addresses or
 * CIDR blocks, IPv4 and IPv6, matched against Tyk's RealIP); otherwise 403 "access from this IP has
 * been disallowed". On when (enable_ip_blacklisting or not ip_access_control_disabled) and
 * blacklisted_ips is not empty.
 */
#include "gw_iplist.h"
#include "gw_mw_common.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_iplist_enabled(api, "enable_ip_blacklisting", "blacklisted_ips");
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    mw->state = gw_iplist_build(api, "blacklisted_ips");
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    gw_iplist_free(mw->state);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    if (gw_iplist_match_req(mw->state, req)) {
        req->err_status = 403;
        req->err_msg = "access from this IP has been disallowed";
        return TK_ERROR;
    }
    return TK_OK;
}

const gw_mw_def_t gw_mw_ip_blacklist = {
    .name = "IPBlackListMiddleware",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
