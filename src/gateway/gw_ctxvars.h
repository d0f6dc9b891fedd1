/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tyk's request context variables ($tyk_context.<name>, with enable_context_vars) and session
 * metadata ($tyk_meta.<name>), as header transforms, URL rewrites and body templates use them.
 * Names as Tyk has them (gateway/mw_context_vars.go): request_data ("k:v1,v2;k2:v"),
 * request_data_<key>, path_parts ("a,b"), path, remote_addr, request_id (v4 UUID), headers,
 * headers_Host, headers_<Canonical_Name> ('-' → '_'), cookies_<name>, and token once auth ran.
 * Without enable_context_vars every $tyk_context.* is "" (Tyk's context map is nil);
 * $tyk_meta.* works regardless.
 */
#ifndef GW_CTXVARS_H
#define GW_CTXVARS_H

#include "gw_http.h"

#include <jansson.h>

/** The value of $tyk_context.<name> for @req (arena string), or NULL when unknown/unset. */
const char *gw_ctx_var(gw_req_t *req, const char *name, size_t len);
/** The value of $tyk_meta.<name> from the request's session meta_data, with Tyk's valToStr
 *  rules: strings as they are, numbers at float32 precision without exponent ("5", "1.5"),
 *  arrays as their query-escaped non-empty items joined with ",", other types ""; NULL when
 *  there is no session or no such key. */
const char *gw_meta_var(gw_req_t *req, const char *name, size_t len);
/** @text with every $tyk_context.<name> and $tyk_meta.<name> replaced (unknown → ""). Arena. */
char *gw_ctx_expand(gw_req_t *req, const char *text);
/** The same, with Tyk's URL-rewrite escaping (@url_escape: values not starting with "http" are
 *  url.QueryEscape'd). Also expands $secret_conf.<k> (tyk.conf secrets) and
 *  $secret_env.<k> (env TYK_SECRET_<K>); $secret_vault./$secret_consul. give "". */
char *gw_ctx_expand_ex(gw_req_t *req, const char *text, bool url_escape);
/** All context variables as a JSON object (for body templates' ._tyk_context). New reference. */
json_t *gw_ctx_vars_json(gw_req_t *req);

/** ContextVars: snapshots the request's variables (headers, cookies, @form_body (an
 *  application/x-www-form-urlencoded body, may be NULL) then query values, path, remote_addr,
 *  a new request_id). Until it runs, $tyk_context.* expand to "" as in Tyk. */
int gw_ctx_capture(gw_req_t *req, const char *form_body, size_t form_len);
/** Sets an extra context variable (URL rewrite trigger matches: "trigger-0-..."). */
void gw_ctx_set(gw_req_t *req, const char *name, const char *value);
/** A verified JWT (Tyk's ctxSetJWTContextVars): once ContextVars ran, every member of the JOSE
 *  @header then of @claims becomes jwt_claims_<name> (a claim wins over a header field of the
 *  same name), stringified with valToStr as $tyk_meta values are. No-op otherwise. */
void gw_ctx_set_jwt_claims(gw_req_t *req, const json_t *header, const json_t *claims);

#endif
