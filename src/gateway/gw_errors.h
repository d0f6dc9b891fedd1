/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk error templates (templates/error.json, error_<code>.json, XML variants) and rendering. */
#ifndef GW_ERRORS_H
#define GW_ERRORS_H

#include "tk_common.h"
#include "tk_conf.h"

#include <event2/buffer.h>

typedef struct gw_templates gw_templates_t;

/** Loads error*.json / error*.xml from @dir. Missing files fall back to built-in copies. */
gw_templates_t *gw_templates_load(const char *dir, tk_conf_errors_t *errs);
void gw_templates_free(gw_templates_t *t);

/**
 * Renders the error body for @status and @msg into @out and returns its Content-Type.
 * @xml selects the XML templates (request Content-Type application/xml, text/xml, soap+xml).
 */
const char *gw_error_render(const gw_templates_t *t, int status, const char *msg, bool xml,
                            struct evbuffer *out);

/** True if a request Content-Type asks for XML error bodies (as Tyk decides it). */
bool gw_error_wants_xml(const char *ctype, size_t len);

#endif
