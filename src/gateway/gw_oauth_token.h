/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OAuth 2.0 token endpoint of an API with use_oauth2: GET|POST <listen path>/oauth/token[/]
 * (Tyk's osin-based HandleAccessRequest, spec §11.4). The grant types allowed are the API's
 * oauth_meta.allowed_access_types: client_credentials, password, authorization_code (the code
 * from gw_oauth_authorize.h, single use) and refresh_token (osin without RetainTokenAfterRefresh:
 * the old refresh and access tokens go). An issued access token is an ordinary Tyk key: its
 * session (osin UserData — key_rules, the password user's session, the refreshed token's — else
 * the client's policy) is stored at apikey-<HashKey(token)> with TTL expires_in, plus Tyk's
 * oauth-access.<hash> record, the client's oauth-client-tokens ZSET entry and, except for
 * client_credentials, oauth-refresh.<refresh token>. Errors are osin's
 * {"error","error_description"} with tyk.conf oauth_error_status_code (default 403). As the route
 * runs no middleware, it is answered by the router before the API's chain, like the batch endpoint.
 */
#ifndef GW_OAUTH_TOKEN_H
#define GW_OAUTH_TOKEN_H

#include "gw_http.h"

#include <jansson.h>

/** True when @req (routed to req->api) is that API's token endpoint and the API uses OAuth2. */
bool gw_oauth_token_wanted(const gw_req_t *req);

/** The buffered handler for the token endpoint. */
void gw_oauth_token_handle(gw_req_t *req);

/* Shared with the authorize endpoints (gw_oauth_authorize.c). */

/** Tyk's OAuth request form (url-encoded body, query, JSON body strings); NULL if refused. */
json_t *gw_oauth_read_form(gw_req_t *req);

/** Go's PostForm: only the url-encoded body of a POST, PUT or PATCH; NULL if refused. */
json_t *gw_oauth_post_form(gw_req_t *req);

/** Drops the session cached under @hash here and on every gateway (Tyk's RemoveSession). */
void gw_oauth_forget_session(gw_req_t *req, const char *hash);

/** osin's default description of an RFC 6749 error code. */
const char *gw_oauth_error_description(const char *code);

/** Writes @body as Go's encoder does, with Tyk's secure/no-cache headers. */
void gw_oauth_respond(gw_req_t *req, int status, json_t *body);

/** osin's ValidateUriList: @uri is one of the client's (separator-split) @uris or below one
 * (same scheme and host, path under it, no fragment). */
bool gw_oauth_uri_allowed(gw_req_t *req, const char *uris, const char *uri);

/** The client's first redirect URI (oauth_redirect_uri_separator), in the arena. */
char *gw_oauth_first_uri(gw_req_t *req, const char *uris);

struct gw_oauth_client;

/** The outcome of gw_oauth_issue_implicit: @token (and @expires_in) when issued, else the osin
 *  error code @err. @req is NULL when the client went away: only release @arg then. */
typedef void (*gw_oauth_implicit_done_fn)(gw_req_t *req, void *arg, const char *token,
                                          int64_t expires_in, const char *err);

/** osin's implicit grant (FinishAuthorizeRequest for response_type=token): an access token for
 *  @client without a refresh token, stored like the token endpoint's (session from @user_data,
 *  Tyk's key_rules, else the client's policy). @done is called exactly once. */
void gw_oauth_issue_implicit(gw_req_t *req, const struct gw_oauth_client *client,
                             const char *redirect_uri, const char *scope, const char *user_data,
                             gw_oauth_implicit_done_fn done, void *arg);

#endif
