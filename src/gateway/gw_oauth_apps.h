/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /tyk/oauth/clients/apis/{appID}?orgID= (Tyk's getApisForOauthApp): the ids of the APIs
 * with use_oauth2 whose client list (the same listing as GET /tyk/oauth/clients/{apiID}) holds a
 * client with that id. orgID limits the APIs to that org; empty or absent means every API.
 * Always 200 with a JSON array of strings ([] when none); an API whose clients cannot be read
 * is skipped, as Tyk skips it.
 */
#ifndef GW_OAUTH_APPS_H
#define GW_OAUTH_APPS_H

#include "gw_http.h"

void gw_control_oauth_apps(gw_req_t *req, const char *app_id);

#endif
