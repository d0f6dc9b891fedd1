/* SPDX-License-Identifier: Apache-2.0 */
/* OpenID Connect discovery documents (OpenID Connect Discovery 1.0 §4). */
#include "gw_oidc_discovery.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WELL_KNOWN "/.well-known/openid-configuration"

char *gw_oidc_discovery_url(const char *issuer)
{
    size_t n = strlen(issuer);
    while (n > 0 && issuer[n - 1] == '/')
        n--;
    size_t size = n + sizeof(WELL_KNOWN);
    char *url = tk_xmalloc(size);
    memcpy(url, issuer, n);
    memcpy(url + n, WELL_KNOWN, sizeof(WELL_KNOWN));
    return url;
}

static bool is_http_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

char *gw_oidc_jwks_uri(const char *body, size_t len, char **err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        *err = tk_xstrdup(doc ? "not a JSON object" : jerr.text);
        json_decref(doc);
        return NULL;
    }
    const char *uri = json_string_value(json_object_get(doc, "jwks_uri"));
    char *out = NULL;
    if (!uri || !is_http_url(uri) ||
        strlen(uri) != json_string_length(json_object_get(doc, "jwks_uri")))
        *err = tk_xstrdup("no http(s) jwks_uri");
    else
        out = tk_xstrdup(uri);
    json_decref(doc);
    return out;
}
