/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Editing the request headers the proxy sends upstream (transform_headers, global_headers).
 * The proxy writes req->head's header list as it stands when the request leaves, so removing
 * or setting a header here is what the upstream sees. New arrays and strings live in the
 * request arena; the parser's own buffers are never written.
 */
#ifndef GW_REQ_HDRS_H
#define GW_REQ_HDRS_H

#include "gw_http.h"

/** Removes every request header named @name (case-insensitive). */
void gw_req_hdr_del(gw_req_t *req, const char *name);
/** Replaces every header named @name with one "name: value" line (Go's Header.Set). */
void gw_req_hdr_set(gw_req_t *req, const char *name, const char *value);
/** Go's textproto.CanonicalMIMEHeaderKey (arena): "x-api-key" → "X-Api-Key"; names with
 *  bytes outside the token set are returned unchanged. */
char *gw_canonical_header(tk_arena_t *a, const char *name, size_t len);

#endif
