/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MockResponse (Tyk §9.1 step 27): an extended_paths.mock_response entry matching the request
 * answers it with its code, body and headers; the upstream is never called.
 */
#include "gw_endpoints.h"
#include "gw_mw_common.h"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_has_eps(api, GW_EP_MOCK_RESPONSE);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_MOCK_RESPONSE);
    if (!ep)
        return TK_OK;
    json_t *code = json_object_get(ep->entry, "code");
    const char *body = json_string_value(json_object_get(ep->entry, "body"));
    if (!body)
        body = "";
    char *hdrs = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(ep->entry, "headers"), k, v)
    {
        const char *s = json_string_value(v);
        if (s)
            hdrs = tk_arena_printf(req->arena, "%s%s: %s\r\n", hdrs ? hdrs : "", k, s);
    }
    gw_respond(req, json_is_integer(code) ? (int)json_integer_value(code) : 200, NULL, body,
               strlen(body), hdrs);
    return TK_DONE;
}

const gw_mw_def_t gw_mw_mock_response = {
    .name = "MockResponse",
    .phase = GW_PHASE_CONTENT,
    .enabled = enabled,
    .on_req = on_req,
};
