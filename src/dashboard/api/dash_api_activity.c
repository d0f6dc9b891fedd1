/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/activity/...: breakdowns from the pump's aggregates: per API, per endpoint, per response
 * code, per country, and for one key or OAuth client (over time, or per endpoint it called). The
 * last six path segments are always the date range dd/mm/yyyy/dd/mm/yyyy.
 *
 * Endpoint dimensions are stored encoded by the pump (Tyk's layout): apiendpoints values are
 * hex("<api_id>:<version>:<path>"), keyendpoints/oauthendpoints values are
 * "<key>.<base64 of '<api_id>:<path>' without padding>". They are decoded for the reply.
 */
#include "dash_analytics.h"
#include "dash_routes.h"
#include "tk_base64.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 100

static void id_api(json_t *id, const char *value, const char *human)
{
    json_object_set_new(id, "api_id", json_string(value));
    json_object_set_new(id, "api_name", json_string(human));
}

static void id_code(json_t *id, const char *value, const char *human)
{
    (void)human;
    json_object_set_new(id, "code", json_integer(strtol(value, NULL, 10)));
}

static void id_geo(json_t *id, const char *value, const char *human)
{
    (void)human;
    json_object_set_new(id, "iso_country", json_string(value));
}

/* Decodes hex @s; NULL when it is not hex. */
static char *unhex(const char *s)
{
    size_t n = strlen(s);
    if (n % 2)
        return NULL;
    char *out = tk_xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = tk_hexval(s[2 * i]), lo = tk_hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (char)(hi * 16 + lo);
    }
    out[n / 2] = '\0';
    return out;
}

/* Sets api_id and path from "<api_id>:<rest>" (@skip more colon-separated fields before the
 * path); the path falls back to @human when @text is not in that form. */
static void api_and_path(json_t *id, const char *text, int skip, const char *human)
{
    const char *colon = text ? strchr(text, ':') : NULL;
    if (!colon) {
        json_object_set_new(id, "api_id", json_string(""));
        json_object_set_new(id, "path", json_string(human));
        return;
    }
    json_object_set_new(id, "api_id", json_stringn(text, (size_t)(colon - text)));
    const char *path = colon + 1;
    for (int i = 0; i < skip && path; i++) {
        const char *c = strchr(path, ':');
        path = c ? c + 1 : NULL;
    }
    json_t *p = path ? json_string(path) : NULL;
    json_object_set_new(id, "path", p ? p : json_string(human));
}

/* apiendpoints: hex("<api_id>:<version>:<path>") */
static void id_api_endpoint(json_t *id, const char *value, const char *human)
{
    char *text = unhex(value);
    api_and_path(id, text, 1, human);
    free(text);
}

/* keyendpoints / oauthendpoints: "<owner>.<b64('<api_id>:<path>')>" */
static void id_owner_endpoint(json_t *id, const char *value, const char *human)
{
    const char *dot = strrchr(value, '.');
    const char *b64 = dot ? dot + 1 : value;
    json_object_set_new(id, "key",
                        dot ? json_stringn(value, (size_t)(dot - value)) : json_string(""));
    char *text = (char *)tk_b64_decode(b64, strlen(b64), false, false, NULL);
    api_and_path(id, text, 0, human);
    free(text);
}

/* hex of "<api_id>:", the start of every apiendpoints value of that API. */
static char *api_endpoint_prefix(const char *api_id)
{
    static const char hx[] = "0123456789abcdef";
    size_t n = strlen(api_id);
    char *out = tk_xmalloc(2 * n + 3);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[(unsigned char)api_id[i] >> 4];
        out[2 * i + 1] = hx[(unsigned char)api_id[i] & 15];
    }
    memcpy(out + 2 * n, "3a", 3); /* ':' */
    return out;
}

static void by_value(dash_req_t *req, const char *dimension, dash_an_id_fn fill, size_t first)
{
    dash_an_query_t q = {.dimension = dimension, .group = DASH_AN_BY_VALUE, .fill_id = fill};
    dash_an_reply(req, &q, first);
}

/* GET /api/activity/api/{range} */
static void activity_apis(dash_req_t *req)
{
    by_value(req, "apiid", id_api, 0);
}

/* Endpoints, all or (@api_id) one API's. */
static void endpoints(dash_req_t *req, const char *api_id, size_t first)
{
    char *prefix = api_id && *api_id ? api_endpoint_prefix(api_id) : NULL;
    dash_an_query_t q = {.dimension = "apiendpoints",
                         .value_prefix = prefix,
                         .group = DASH_AN_BY_VALUE,
                         .fill_id = id_api_endpoint};
    dash_an_reply(req, &q, first);
    free(prefix);
}

/* GET /api/activity/api/{apiId}/{range}: that API's endpoints. */
static void activity_api(dash_req_t *req)
{
    endpoints(req, dash_param(req, 0), 1);
}

/* GET /api/activity/endpoint/{range}[?api_id=] */
static void activity_endpoints(dash_req_t *req)
{
    endpoints(req, dash_query(req, "api_id"), 0);
}

/* GET /api/activity/errors/{range}: one item per error status code. */
static void activity_errors(dash_req_t *req)
{
    by_value(req, "errors", id_code, 0);
}

/* GET /api/activity/geo/{range}: one item per ISO country code. */
static void activity_geo(dash_req_t *req)
{
    by_value(req, "geo", id_geo, 0);
}

/* One key's (or client's) traffic over time. */
static void owner_over_time(dash_req_t *req, const char *dimension)
{
    const char *value = dash_param(req, 0);
    dash_an_query_t q = {
        .dimension = dimension, .values = &value, .n_values = 1, .group = DASH_AN_BY_TIME};
    dash_an_reply(req, &q, 1);
}

static void activity_key(dash_req_t *req)
{
    owner_over_time(req, "apikeys");
}

static void activity_oauth(dash_req_t *req)
{
    owner_over_time(req, "oauthids");
}

/* The endpoints one key (or client) called. */
static void owner_endpoints(dash_req_t *req, const char *dimension)
{
    const char *owner = dash_param(req, 0);
    size_t n = strlen(owner);
    char *prefix = tk_xmalloc(n + 2);
    memcpy(prefix, owner, n);
    memcpy(prefix + n, ".", 2);
    dash_an_query_t q = {.dimension = dimension,
                         .value_prefix = prefix,
                         .group = DASH_AN_BY_VALUE,
                         .fill_id = id_owner_endpoint};
    dash_an_reply(req, &q, 1);
    free(prefix);
}

static void activity_key_endpoints(dash_req_t *req)
{
    owner_endpoints(req, "keyendpoints");
}

static void activity_oauth_endpoints(dash_req_t *req)
{
    owner_endpoints(req, "oauthendpoints");
}

/* GET /api/activity/keys/aggregate/{k1,k2,...}/{range}: several keys together, over time (the
 * portal's developer analytics). */
static void activity_keys_aggregate(dash_req_t *req)
{
    char *list = tk_xstrdup(dash_param(req, 0));
    const char *keys[MAX_KEYS];
    size_t n = 0;
    bool too_many = false;
    for (char *save = NULL, *k = strtok_r(list, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        if (!*k)
            continue;
        if (n == MAX_KEYS) {
            too_many = true;
            break;
        }
        keys[n++] = k;
    }
    if (too_many) {
        dash_reply_error(req, 400, "Too many keys: at most 100 per request");
    } else {
        dash_an_query_t q = {
            .dimension = "apikeys", .values = keys, .n_values = n, .group = DASH_AN_BY_TIME};
        dash_an_reply(req, &q, 1);
    }
    free(list);
}

#define RANGE "/{sd}/{sm}/{sy}/{ed}/{em}/{ey}"
#define ROUTE(path, fn)                                                                            \
    {                                                                                              \
        "GET", "/api/activity" path RANGE, DASH_AUTH_USER, "analytics", fn                         \
    }

const dash_route_t dash_routes_activity[] = {
    ROUTE("/api", activity_apis),
    ROUTE("/api/{id}", activity_api),
    ROUTE("/endpoint", activity_endpoints),
    ROUTE("/errors", activity_errors),
    ROUTE("/geo", activity_geo),
    ROUTE("/keys/{key}", activity_key),
    ROUTE("/keys/endpoint/{key}", activity_key_endpoints),
    ROUTE("/keys/aggregate/{keys}", activity_keys_aggregate),
    ROUTE("/oauthid/{client}", activity_oauth),
    ROUTE("/oauthid/endpoint/{client}", activity_oauth_endpoints),
    {NULL, NULL, 0, NULL, NULL},
};
