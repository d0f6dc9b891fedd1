/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: being written (the /tyk/keys control API) */
#include "gw_handlers.h"

void gw_control_keys(gw_req_t *req, const char *rest)
{
    TK_UNUSED(rest);
    gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
}

void gw_control_policies(gw_req_t *req, const char *rest)
{
    TK_UNUSED(rest);
    gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
}
