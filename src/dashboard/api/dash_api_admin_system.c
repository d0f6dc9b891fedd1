/* SPDX-License-Identifier: Apache-2.0 */
/* Admin API system actions: DELETE /admin/oauth/tokens?scope=lapsed (tell every gateway to purge
 * lapsed OAuth tokens) and GET /admin/system/reload. */
#include "dash_routes.h"

#include <string.h>

static void purge_lapsed_tokens(dash_req_t *req)
{
    const char *scope = dash_query(req, "scope");
    if (!scope || !*scope) {
        dash_reply_error(req, 422, "scope parameter is required");
        return;
    }
    if (strcmp(scope, "lapsed") != 0) {
        dash_reply_error(req, 400, "unknown scope");
        return;
    }
    /* the gateways own the token sets: each one that hears the signed notice purges them */
    dash_notify(req, "OAuthPurgeLapsedTokens", "");
    dash_reply_status(req, 200, "OK", "lapsed tokens purge requested", NULL);
}

/* Tyk reloads its hostname routing here; the dashboard holds no such state, so it only answers. */
static void system_reload(dash_req_t *req)
{
    dash_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

const dash_route_t dash_routes_admin_system[] = {
    {"DELETE", "/admin/oauth/tokens", DASH_AUTH_ADMIN, NULL, purge_lapsed_tokens},
    {"GET", "/admin/system/reload", DASH_AUTH_ADMIN, NULL, system_reload},
    {NULL, NULL, 0, NULL, NULL},
};
