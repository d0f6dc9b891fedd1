/* SPDX-License-Identifier: Apache-2.0 */
/* GET /<health_check_endpoint_name>: is the dashboard up, and can it reach its database and
 * Redis. */
#include "dash_routes.h"

#include <string.h>

static void health(dash_req_t *req)
{
    int64_t one = 0;
    bool db_ok = tk_sqldb_query_int(dash_store_db(req->store), "SELECT 1", NULL, 0, &one, NULL,
                                    NULL, 0) == 0;
    redisReply *rep = dash_redis_cmd(req, "PING");
    bool redis_ok = rep && rep->type != REDIS_REPLY_ERROR;
    freeReplyObject(rep);
    json_t *o =
        json_pack("{s:s,s:{s:s,s:s}}", "status", db_ok && redis_ok ? "ok" : "fail", "components",
                  "database", db_ok ? "ok" : "fail", "redis", redis_ok ? "ok" : "fail");
    dash_reply_json(req, db_ok && redis_ok ? 200 : 503, o);
}

const dash_route_t dash_routes_health[] = {
    {"GET", "/health", DASH_AUTH_NONE, NULL, health},
    {"GET", "/hello", DASH_AUTH_NONE, NULL, health},
    {NULL, NULL, 0, NULL, NULL},
};
