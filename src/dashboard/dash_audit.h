/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log (audit.enabled): every successful change made through the Dashboard API or
 * the Admin API becomes a record {id, req_id, org_id, date, timestamp, ip, user, user_id,
 * action, method, url, status} in the database (read back at /api/audit-logs) and, with
 * audit.path, a JSON line appended to that file. Request bodies are never recorded, and path
 * segments that carry keys are masked, so no password or key reaches the log.
 */
#ifndef DASH_AUDIT_H
#define DASH_AUDIT_H

#include "dash_server.h"

/** Records @req (a write whose transaction has just committed) when auditing is on. Failures
 *  are logged; the request's outcome does not change. */
void dash_audit_record(dash_req_t *req);

/** GET /api/audit-logs: the caller's org's records, filtered by ?user, action, ip, method,
 *  status, url, from_date, to_date (YYYY-MM-DD), newest first, paged by ?p. */
void dash_audit_list(dash_req_t *req);

#endif
