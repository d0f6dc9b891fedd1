/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tyk's error overrides (gateway/error_overrides.go): `error_overrides` in tyk.conf (every API)
 * and in an API definition (unless `error_overrides_disabled`) map a status key ("401", or a
 * class "4xx") to rules tried in order; the first whose `match` holds rewrites the error:
 *   {"match": {"flag", "message_pattern", "body_field", "body_value"},
 *    "response": {"status_code" (older Tyk: "code"), "body", "message", "template", "headers"}}
 * API rules are tried before the gateway's; within a set, exact codes before the class.
 * Applied to errors the gateway writes (the error template path) and to upstream 4xx/5xx
 * responses (a response filter added by the ErrorOverrides middleware).
 * A rule that does not compile (bad regex, bad body template, bad status key) rejects the API
 * (or, with turnpike_skip_bad_templates and for tyk.conf rules, is logged and skipped, as Tyk).
 */
#ifndef GW_ERROR_OVERRIDES_H
#define GW_ERROR_OVERRIDES_H

#include "gw_http.h"

#include <jansson.h>

typedef struct gw_eo gw_eo_t;

/**
 * Compiles an error_overrides map. @template_dir is tyk.conf template_path (for "template"
 * rules); @where labels log lines ("tyk.conf", "<file>: API <id>"). Returns NULL when @map is
 * empty or no rule is usable. With @errs, a rule that does not compile is an error added there
 * (and *@failed set) instead of a warning.
 */
gw_eo_t *gw_eo_compile(const json_t *map, const char *template_dir, const char *where,
                       tk_conf_errors_t *errs, bool *failed);
void gw_eo_free(gw_eo_t *eo);

/** True when @map (an error_overrides value) has at least one status key. */
bool gw_eo_configured(const json_t *map);

/**
 * The gateway is about to answer @req with the error template for @status / @msg: if an
 * override matches, writes that response instead and returns true.
 */
bool gw_eo_respond_error(gw_req_t *req, int status, const char *msg);

/** Adds the upstream-response filter for @req (API rules @api_eo, may be NULL; the gateway's
 *  rules are found through the request's generation). */
void gw_eo_watch_response(gw_req_t *req, const gw_eo_t *api_eo);

#endif
