/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OAuth 2.0 token endpoint of an API with use_oauth2: GET|POST <listen path>/oauth/token[/]
 * (Tyk's osin-based HandleAccessRequest, spec §11.4). The grant types allowed are the API's
 * oauth_meta.allowed_access_types; this slice implements client_credentials. An issued access
 * token is an ordinary Tyk key: a session built from the client's policy is stored at
 * apikey-<HashKey(token)> with TTL expires_in, plus Tyk's oauth-access.<hash> record and the
 * client's oauth-client-tokens ZSET entry. Errors are osin's {"error","error_description"} with
 * tyk.conf oauth_error_status_code (default 403). As the route runs no middleware, it is
 * answered by the router before the API's chain, like the batch endpoint.
 */
#ifndef GW_OAUTH_TOKEN_H
#define GW_OAUTH_TOKEN_H

#include "gw_http.h"

/** True when @req (routed to req->api) is that API's token endpoint and the API uses OAuth2. */
bool gw_oauth_token_wanted(const gw_req_t *req);

/** The buffered handler for the token endpoint. */
void gw_oauth_token_handle(gw_req_t *req);

#endif
