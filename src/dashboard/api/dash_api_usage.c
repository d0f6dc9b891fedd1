/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/usage/...: traffic over time (the dashboard's charts) from the pump's aggregates: all
 * traffic, one API, one key, one OAuth client, errors; and the per-API table. The last six path
 * segments are always the date range dd/mm/yyyy/dd/mm/yyyy.
 */
#include "dash_analytics.h"
#include "dash_routes.h"

#include <string.h>

/* The per-API table: api_id and the API's name as the gateway recorded it. */
static void id_api(json_t *id, const char *value, const char *human)
{
    json_object_set_new(id, "api_id", json_string(value));
    json_object_set_new(id, "api_name", json_string(human));
}

/* GET /api/usage/{range}[?api_id=]: all traffic, or one API's, per day or hour. */
static void usage_total(dash_req_t *req)
{
    const char *api = dash_query(req, "api_id");
    bool one = api && *api;
    dash_an_query_t q = {.dimension = one ? "apiid" : "",
                         .values = one ? &api : NULL,
                         .n_values = one ? 1 : 0,
                         .group = DASH_AN_BY_TIME};
    dash_an_reply(req, &q, 0);
}

/* GET /api/usage/apis/{range}: one item per API. */
static void usage_apis(dash_req_t *req)
{
    dash_an_query_t q = {.dimension = "apiid", .group = DASH_AN_BY_VALUE, .fill_id = id_api};
    dash_an_reply(req, &q, 0);
}

/* The first path parameter selects one value of @dimension, charted over time. */
static void usage_one(dash_req_t *req, const char *dimension)
{
    const char *value = dash_param(req, 0);
    dash_an_query_t q = {
        .dimension = dimension, .values = &value, .n_values = 1, .group = DASH_AN_BY_TIME};
    dash_an_reply(req, &q, 1);
}

static void usage_api(dash_req_t *req)
{
    usage_one(req, "apiid");
}

static void usage_key(dash_req_t *req)
{
    usage_one(req, "apikeys");
}

static void usage_oauth(dash_req_t *req)
{
    usage_one(req, "oauthids");
}

/* GET /api/usage/errors/{range}: error responses (any code) over time. */
static void usage_errors(dash_req_t *req)
{
    dash_an_query_t q = {.dimension = "errors", .group = DASH_AN_BY_TIME};
    dash_an_reply(req, &q, 0);
}

#define RANGE "/{sd}/{sm}/{sy}/{ed}/{em}/{ey}"

const dash_route_t dash_routes_usage[] = {
    {"GET", "/api/usage" RANGE, DASH_AUTH_USER, "analytics", usage_total},
    {"GET", "/api/usage/apis" RANGE, DASH_AUTH_USER, "analytics", usage_apis},
    {"GET", "/api/usage/apis/{id}" RANGE, DASH_AUTH_USER, "analytics", usage_api},
    {"GET", "/api/usage/keys/{key}" RANGE, DASH_AUTH_USER, "analytics", usage_key},
    {"GET", "/api/usage/oauthid/{client}" RANGE, DASH_AUTH_USER, "analytics", usage_oauth},
    {"GET", "/api/usage/errors" RANGE, DASH_AUTH_USER, "analytics", usage_errors},
    {NULL, NULL, 0, NULL, NULL},
};
