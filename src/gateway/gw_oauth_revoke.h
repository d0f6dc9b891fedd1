/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revoking OAuth tokens (Tyk's HandleRevokeToken / HandleRevokeAllTokens / invalidateOauthRefresh,
 * spec §6.5, §11.4):
 *   <listen path>/oauth/revoke      body form token, token_type_hint ("access_token" removes the
 *     access record and its session, "refresh_token" the refresh record, anything else both);
 *     always 200 with no body (RFC 7009 §2.2), 400 for a body Go cannot parse.
 *   <listen path>/oauth/revoke_all  body form client_id, client_secret: every live token of the
 *     client goes with its refresh token. 400 a field missing, 404 no such client, 403 wrong
 * secret, 200 done; no body. DELETE /tyk/oauth/refresh/{token}?api_id=  (control API) removes one
 * refresh token. Like the token route the per-API routes run no middleware and are answered by the
 * router.
 */
#ifndef GW_OAUTH_REVOKE_H
#define GW_OAUTH_REVOKE_H

#include "gw_http.h"

/** The handler for @req when it is one of its API's revoke routes, else NULL. */
void (*gw_oauth_revoke_route(const gw_req_t *req))(gw_req_t *);

/** The control API's DELETE /tyk/oauth/refresh/{@token}?api_id=. */
void gw_control_oauth_refresh(gw_req_t *req, const char *token);

#endif
