/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard API audit log: /api/audit-logs (filtered, paged list) and /api/audit-logs/{id}. */
#include "dash_audit.h"
#include "dash_routes.h"

static void list_audit(dash_req_t *req)
{
    dash_audit_list(req);
}

static void get_audit(dash_req_t *req)
{
    json_t *rec = NULL;
    int rc = dash_store_get(req->store, DASH_AUDIT, req->org_id, dash_param(req, 0), &rec);
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "could not retrieve audit record");
    else if (rc != DASH_STORE_OK)
        dash_reply_error(req, 500, "Failed to fetch audit record.");
    else
        dash_reply_json(req, 200, rec);
}

const dash_route_t dash_routes_audit[] = {
    {"GET", "/api/audit-logs", DASH_AUTH_USER, "audit_logs", list_audit},
    {"GET", "/api/audit-logs/{id}", DASH_AUTH_USER, "audit_logs", get_audit},
    {NULL, NULL, 0, NULL, NULL},
};
