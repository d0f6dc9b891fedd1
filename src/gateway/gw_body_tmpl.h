/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Body templates shared by the request (extended_paths.transform) and response
 * (transform_response) body transforms: loading each entry's template_data when the API loads,
 * matching, and turning a body into the data a template sees, the way Tyk does it.
 *
 * An entry whose template cannot load (bad template_mode, bad base64, unreadable file, template
 * syntax) is skipped with Tyk's "Template load failure! Skipping transformation" log line and
 * the API still loads, as in Tyk; a skipped entry never matches, so a later one can.
 */
#ifndef GW_BODY_TMPL_H
#define GW_BODY_TMPL_H

#include "gw_endpoints.h"
#include "gw_http.h"
#include "tk_template.h"

#include <jansson.h>

enum gw_body_input { GW_BODY_IN_JSON = 0, GW_BODY_IN_XML, GW_BODY_IN_OTHER };

typedef struct gw_body_tmpl {
    tk_tmpl_t *tmpl;
    enum gw_body_input input;
    char *input_name;    /* template_data.input_type as written */
    bool enable_session; /* template_data.enable_session: ._tyk_meta */
    bool context_vars;   /* the API's enable_context_vars: ._tyk_context */
} gw_body_tmpl_t;

/* What one middleware loaded: every entry's state, to free in dispose(). */
typedef struct gw_body_tmpls {
    gw_body_tmpl_t **all;
    size_t n;
} gw_body_tmpls_t;

/** Loads the templates of every @kind entry of @api into ep->state (NULL for skipped ones). */
gw_body_tmpls_t *gw_body_tmpls_load(const gw_api_t *api, enum gw_ep_kind kind);
/** As gw_body_tmpls_load, but a template that fails to load rejects the API: the reason goes to
 *  @errs, naming the field, and the result is NULL. */
gw_body_tmpls_t *gw_body_tmpls_load_strict(const gw_api_t *api, enum gw_ep_kind kind,
                                           tk_conf_errors_t *errs);
void gw_body_tmpls_free(gw_body_tmpls_t *ts);

/** The first entry of @kind matching @req whose template loaded, or NULL. */
const gw_ep_t *gw_body_tmpl_match(gw_req_t *req, enum gw_ep_kind kind);

/**
 * The template's data for a body: a JSON object is itself, a JSON array is {"array": [...]},
 * other JSON values are {}; XML is mxj's {"root": ...}. An empty body reads as "{}" / "<_/>".
 * Every JSON number is a float64 as Go decodes it. Returns a new reference, or NULL with the
 * reason in @err when the body does not parse.
 */
json_t *gw_body_tmpl_data(enum gw_body_input input, const char *body, size_t len, char *err,
                          size_t errlen);

/** Adds ._tyk_meta (session meta_data, with enable_session and a session) and ._tyk_context
 *  (with enable_context_vars). Returns false when the session was wanted but absent. */
bool gw_body_tmpl_add_vars(gw_req_t *req, const gw_body_tmpl_t *t, json_t *data);

#endif
