/* SPDX-License-Identifier: Apache-2.0 */
/* OpenID Connect discovery: where an issuer publishes its metadata, and its jwks_uri. */
#ifndef GW_OIDC_DISCOVERY_H
#define GW_OIDC_DISCOVERY_H

#include "tk_common.h"

/** "<issuer without trailing '/'>/.well-known/openid-configuration" (malloc'd). */
char *gw_oidc_discovery_url(const char *issuer);

/**
 * The jwks_uri of a discovery document (@len bytes of JSON), malloc'd; NULL with a malloc'd
 * reason in *@err when the body is not a JSON object or has no http(s) jwks_uri.
 */
char *gw_oidc_jwks_uri(const char *body, size_t len, char **err);

#endif
