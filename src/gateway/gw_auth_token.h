/* SPDX-License-Identifier: Apache-2.0 */
/* Where a request carries its credential, per Tyk's auth_configs (header, query param, cookie). */
#ifndef GW_AUTH_TOKEN_H
#define GW_AUTH_TOKEN_H

#include "gw_http.h"

/* One auth method's source settings (Tyk's AuthConfig). */
typedef struct gw_auth_source {
    char *header; /* auth_header_name, default "Authorization" */
    bool disable_header;
    bool use_param;
    char *param_name; /* default: the header name */
    bool use_cookie;
    char *cookie_name; /* default: the header name */
} gw_auth_source_t;

/**
 * Reads auth_configs.<kind> from an API definition, falling back to the legacy "auth" object
 * as Tyk does. @kind is "authToken", "jwt", "hmac", "basic", "oidc", ...
 */
void gw_auth_source_load(gw_auth_source_t *src, json_t *def, const char *kind);
void gw_auth_source_free(gw_auth_source_t *src);

/**
 * Finds the credential: header, then query parameter, then cookie (a later non-empty source
 * overrides an earlier one, as Tyk does), with a leading "Bearer " removed when @strip_bearer.
 * Returns an arena string, or NULL when there is none.
 */
char *gw_auth_token_get(gw_req_t *req, const gw_auth_source_t *src, bool strip_bearer);

#endif
