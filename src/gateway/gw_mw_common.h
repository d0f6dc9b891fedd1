/* SPDX-License-Identifier: Apache-2.0 */
/* What middleware files share: request access, the session store, auth-method detection. */
#ifndef GW_MW_COMMON_H
#define GW_MW_COMMON_H

#include "gw_auth_token.h"
#include "gw_events.h"
#include "gw_http.h"
#include "gw_mw.h"
#include "gw_pipeline.h"
#include "gw_session.h"

static inline const gw_conf_t *gw_req_conf(const gw_req_t *req)
{
    return req->conn->w->srv->conf;
}

/** True if the API authenticates with auth tokens (use_standard_auth, or no other method). */
bool gw_api_uses_auth_token(const gw_api_t *api);

/**
 * Finds the session for @token: the worker's cache, else one Redis MGET over every name Tyk
 * may have stored it under (hashed token, org-prefixed custom key, fallback hash algorithms);
 * policies are applied to what Redis returns. On success req->session, req->token and
 * req->session_hash are set. Returns TK_OK (cache hit), TK_AGAIN (the pipeline resumes when
 * Redis answers) or TK_ERROR with req->err_status/err_msg (403 unknown key, 503 Redis down).
 */
int gw_session_lookup(gw_req_t *req, const char *token);

/** gw_session_lookup() answering an unknown or rejected key with @deny_status / @deny_msg
 * (HMAC: 400) instead of 403; @deny_msg must outlive the request (a literal). */
int gw_session_lookup_as(gw_req_t *req, const char *token, int deny_status, const char *deny_msg);

#endif
