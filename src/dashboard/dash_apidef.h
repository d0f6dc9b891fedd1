/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of API definitions before they are stored, so a gateway never fetches one it
 * cannot load: Tyk's ApiDefinitionWrapper (classic APIs), Tyk OAS documents and the minimal
 * classic definition derived from an OAS document. Unknown fields inside a definition are kept
 * (real definitions carry many); only the shape of the fields a gateway relies on is checked.
 *
 * Every check returns 0 when the input is acceptable, otherwise the HTTP status to answer with
 * (400: not the right shape; 409: a listen path already in use; 422: well-formed but unusable)
 * and a message naming the offending field in @msg.
 */
#ifndef DASH_APIDEF_H
#define DASH_APIDEF_H

#include "store/dash_store.h"

#include <jansson.h>

/** Checks a wrapper {"api_definition": {...}, "hook_references": [...], ...}: no unknown
 *  top-level fields, the wrapper fields' types, then dash_apidef_check() on api_definition. */
int dash_apidef_check_wrapper(const json_t *wrapper, char *msg, size_t cap);

/** Checks a classic api_definition: name, proxy.listen_path / target_url, the types of the
 *  well-known fields and that every path pattern in the versions compiles. A missing or empty
 *  listen_path passes: the caller sets Tyk's default, "/<api_id>/". */
int dash_apidef_check(const json_t *def, char *msg, size_t cap);

/** Compiles a path pattern as a gateway will ({name} = one segment, the rest a regular
 *  expression); @where names the field in the message. */
int dash_apidef_check_pattern(const char *path, const char *where, char *msg, size_t cap);

/** Checks a Tyk OAS document: openapi, info and x-tyk-api-gateway (info.name,
 *  server.listenPath.value, upstream.url). */
int dash_apidef_check_oas(const json_t *oas, char *msg, size_t cap);

/** The minimal classic api_definition a gateway and the listings need for an OAS document
 *  (new reference); ids and org are filled by the caller. */
json_t *dash_apidef_from_oas(const json_t *oas);

/**
 * Checks that no other API of @org (other than the document @self_id, may be NULL) listens on
 * @listen_path (with or without its trailing slash) on the same @domain ("" = any host).
 * Call it after dash_store_lock(DASH_API, org) so two dashboards cannot both pass the check.
 * Returns 0, 409 with a message, or 500 on a store error.
 */
int dash_apidef_check_listen_path_free(dash_store_t *st, const char *org, const char *listen_path,
                                       const char *domain, const char *self_id, char *msg,
                                       size_t cap);

#endif
