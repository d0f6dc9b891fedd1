/* SPDX-License-Identifier: Apache-2.0 */
/* /hello (liveness) and /ready (readiness) with Tyk's JSON shapes. */
#include "gw_dashboard.h"
#include "gw_handlers.h"

#include "tk_version.h"

#include <stdio.h>
#include <time.h>

static void health_body(gw_req_t *req, const char *description, char *out, size_t n)
{
    gw_server_t *srv = req->conn->w->srv;
    bool up = atomic_load(&srv->redis_up);
    char when[32];
    tk_fmt_rfc3339(atomic_load(&srv->redis_checked_at), when);
    /* Redis, and in dashboard mode the Dashboard: all failing is "fail", some is "warn". */
    int dash = gw_dashboard_health();
    char dash_part[256] = "";
    if (dash >= 0)
        snprintf(dash_part, sizeof(dash_part),
                 ",\"dashboard\":{\"status\":\"%s\",\"componentType\":\"system\",\"time\":"
                 "\"%s\"%s}",
                 dash ? "pass" : "fail", when,
                 dash ? "" : ",\"output\":\"dashboard is down? Heartbeat is failing\"");
    const char *status = up && dash != 0 ? "pass" : !up && dash != 1 ? "fail" : "warn";
    snprintf(out, n,
             "{\"status\":\"%s\",\"version\":\"v%s\",\"description\":\"%s\",\"details\":{\"redis\":"
             "{\"status\":\"%s\",\"componentType\":\"datastore\",\"time\":\"%s\"%s}%s}}",
             status, TURNPIKE_VERSION, description, up ? "pass" : "fail", when,
             up ? "" : ",\"output\":\"Redis connection not available\"", dash_part);
}

static bool is_get(const gw_req_t *req)
{
    return req->head->method_len == 3 && memcmp(req->head->method, "GET", 3) == 0;
}

static const char *mascot(const gw_req_t *req)
{
    return req->conn->w->srv->conf->hide_generator_header ? NULL : "X-Mascot: turnpike\r\n";
}

void gw_handle_hello(gw_req_t *req)
{
    if (!is_get(req)) {
        gw_respond_json(req, 405, "{\"status\":\"error\",\"message\":\"Method Not Allowed\"}");
        return;
    }
    char body[1024];
    health_body(req, "Tyk GW", body, sizeof(body));
    size_t n = strlen(body);
    body[n++] = '\n';
    gw_respond(req, 200, "application/json", body, n, mascot(req));
}

void gw_handle_ready(gw_req_t *req)
{
    gw_server_t *srv = req->conn->w->srv;
    if (!is_get(req)) {
        gw_respond_json(req, 405, "{\"status\":\"error\",\"message\":\"Method Not Allowed\"}");
        return;
    }
    if (atomic_load(&srv->shutting_down)) {
        gw_respond_json(req, 503,
                        "{\"status\":\"error\",\"message\":\"Gateway is shutting down\"}");
        return;
    }
    if (!atomic_load(&srv->redis_up)) {
        gw_respond_json(req, 503,
                        "{\"status\":\"error\",\"message\":\"Redis connection not available\"}");
        return;
    }
    if (!atomic_load(&srv->reload_ok)) {
        gw_respond_json(req, 503,
                        "{\"status\":\"error\",\"message\":\"A successful API reload did "
                        "not happen\"}");
        return;
    }
    char body[1024];
    health_body(req, "Tyk GW Ready", body, sizeof(body));
    gw_respond_json(req, 200, body);
}
