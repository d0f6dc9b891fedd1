/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The authorization code flow's two per-API routes (Tyk's oauth_manager.go, spec §11.4):
 *   GET|POST <listen path>/oauth/authorize[/]            the client's user agent arrives here;
 *     once client_id, redirect_uri and response_type check out it is sent on (307) to
 *     oauth_meta.auth_login_redirect, with the query string for a GET.
 *   POST <listen path>/tyk/oauth/authorize-client[/]     the login app (X-Tyk-Authorization:
 *     the gateway secret) approves: form response_type, client_id, redirect_uri, state, scope,
 *     key_rules (the token's session JSON). Answer: {"code","redirect_to","state"?}; the code is
 *     stored at oauth-authorize.<code> (osin AuthorizeData, TTL 250 s) for the token endpoint.
 *     With response_type=token (the implicit grant, when allowed_authorize_types has "token")
 *     the access token is issued at once: {"access_token","expires_in","token_type","state"?,
 *     "scope"?,"redirect_to"} with the same values in redirect_to's fragment; no refresh token.
 *   PKCE is not checked: Tyk pins lonelycode/osin at da239c9dacb6 (April 2016), older than
 *   osin's RFC 7636 support (September 2016), so code_challenge and code_verifier are ignored.
 * Like the token route they run no middleware and are answered by the router.
 */
#ifndef GW_OAUTH_AUTHORIZE_H
#define GW_OAUTH_AUTHORIZE_H

#include "gw_http.h"

/** The handler for @req when it is one of its API's authorize routes, else NULL. */
void (*gw_oauth_authorize_route(const gw_req_t *req))(gw_req_t *);

#endif
