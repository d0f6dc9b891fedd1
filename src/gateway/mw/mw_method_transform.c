/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TransformMethod (Tyk §9.1 step 26): an extended_paths.method_transforms entry matching the
 * request sends it upstream with `to_method` (GET, POST, PUT, DELETE, OPTIONS or PATCH; any
 * other answers 405 "Method not allowed", as Tyk). Like Tyk, the method changes only when the
 * chain ends (gw_rewrite.h): later middlewares still match the method the client used.
 */
#include "gw_endpoints.h"
#include "gw_mw_common.h"
#include "gw_rewrite.h"

#include <ctype.h>

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_has_eps(api, GW_EP_METHOD_TRANSFORMS);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_METHOD_TRANSFORMS);
    if (!ep)
        return TK_OK;
    static const char *const allowed[] = {"GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    const char *to = json_string_value(json_object_get(ep->entry, "to_method"));
    char up[16] = "";
    for (size_t i = 0; to && to[i] && i + 1 < sizeof(up); i++) {
        up[i] = (char)toupper((unsigned char)to[i]);
        up[i + 1] = 0;
    }
    for (size_t i = 0; to && strlen(to) < sizeof(up) && i < TK_ARRAY_LEN(allowed); i++) {
        if (strcmp(up, allowed[i]) == 0) {
            req->method_to = allowed[i];
            return TK_OK;
        }
    }
    req->err_status = 405;
    req->err_msg = "Method not allowed";
    return TK_ERROR;
}

const gw_mw_def_t gw_mw_method_transform = {
    .name = "TransformMethod",
    .phase = GW_PHASE_TRANSFORM,
    .enabled = enabled,
    .on_req = on_req,
};
