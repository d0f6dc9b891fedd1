/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the classic (/api/apis) and Tyk OAS (/api/apis/oas) resources share. Both store Tyk's
 * ApiDefinitionWrapper in DASH_API: {"api_definition": {classic definition, "id" = the
 * document id, "api_id", "org_id"}, "hook_references": [], "is_site": false, "sort_by": 0,
 * "user_owners": [], "user_group_owners": [], "created_at", "updated_at"} plus "oas": {...} for
 * an OAS API (whose api_definition is the minimal one derived from it, "is_oas": true).
 */
#ifndef DASH_API_APIS_H
#define DASH_API_APIS_H

#include "dash_server.h"

/** The caller's org's API whose internal id or api_id is @id (Tyk accepts either). Stages 404
 *  "API not found" or the store error and returns NULL when there is none. */
json_t *dash_apis_lookup(dash_req_t *req, const char *id);

/** The api_id of the caller's API @id (internal id or api_id), malloc'd; NULL with 404 (or the
 *  store error) staged. */
char *dash_apis_lookup_api_id(dash_req_t *req, const char *id);

/** Fills the ids and the wrapper's defaults of a new API: a new internal id, api_id kept when
 *  given (else 32 random hex digits), org_id = the caller's. Stages 400 and returns false when
 *  the given api_id is unusable. */
bool dash_apis_assign_ids(dash_req_t *req, json_t *wrapper);

/** Serialises writers of the caller's org's APIs and checks the listen path of @def is free
 *  (unless enable_duplicate_slugs); stages the refusal and returns false when it is not. */
bool dash_apis_claim_listen_path(dash_req_t *req, const json_t *def, const char *self_id);

/** Inserts (@existing NULL) or replaces the wrapper, stages the reply and queues @command for
 *  gateways. */
void dash_apis_store(dash_req_t *req, json_t *wrapper, const json_t *existing);

/** Deletes @wrapper's document and queues ApiRemoved; stages the reply. */
void dash_apis_remove(dash_req_t *req, const json_t *wrapper);

#endif
