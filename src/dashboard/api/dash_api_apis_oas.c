/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dashboard API Tyk OAS APIs: /api/apis/oas (list, create) and /api/apis/oas/{apiId} (get,
 * update, delete). The OAS document is kept whole in the wrapper's "oas"; the classic
 * api_definition next to it is derived from its x-tyk-api-gateway so listings, policies and
 * gateways see the API like any other.
 */
#include "dash_api_apis.h"

#include "dash_apidef.h"
#include "dash_routes.h"
#include "dash_util.h"
#include "tk_json.h"

#include <stdio.h>
#include <string.h>

#define MSG_CAP 512

/* The body as an OAS document, checked; NULL (reply staged) when unusable. */
static json_t *checked_oas(dash_req_t *req)
{
    json_t *oas = dash_body_object(req);
    if (!oas)
        return NULL;
    char msg[MSG_CAP];
    int rc = dash_apidef_check_oas(oas, msg, sizeof(msg));
    if (rc) {
        dash_reply_error(req, rc, msg);
        json_decref(oas);
        return NULL;
    }
    return oas;
}

/* Writes the ids of @def into the OAS document's x-tyk-api-gateway.info, as Tyk does. */
static void stamp_ids(json_t *oas, const json_t *def)
{
    json_t *info = tk_json_get_path(oas, "x-tyk-api-gateway.info");
    json_object_set(info, "id", json_object_get(def, "api_id"));
    json_object_set(info, "dbId", json_object_get(def, "id"));
    json_object_set(info, "orgId", json_object_get(def, "org_id"));
}

static void list_oas(dash_req_t *req)
{
    /* OAS APIs are not a column of their own: filter the org's APIs, then page */
    dash_list_query_t q = {.org = req->org_id, .col = -1, .q = dash_query(req, "q")};
    json_t *all = NULL;
    if (dash_store_list(req->store, DASH_API, &q, &all, NULL) != DASH_STORE_OK) {
        dash_reply_store_error(req, "list APIs");
        return;
    }
    json_t *oas = json_array();
    size_t i;
    json_t *w;
    json_array_foreach(all, i, w)
    {
        json_t *doc = json_object_get(w, "oas");
        if (json_is_object(doc))
            json_array_append(oas, doc);
    }
    json_decref(all);
    int64_t page = dash_page(req), size = req->conf->page_size > 0 ? req->conf->page_size : 10;
    int64_t n = (int64_t)json_array_size(oas), pages = 1;
    if (page > 0) {
        pages = n ? (n + size - 1) / size : 1;
        json_t *slice = json_array();
        for (int64_t k = (page - 1) * size; k < n && k < page * size; k++)
            json_array_append(slice, json_array_get(oas, (size_t)k));
        json_decref(oas);
        oas = slice;
    }
    dash_reply_json(req, 200, json_pack("{s:o,s:I}", "apis", oas, "pages", (json_int_t)pages));
}

static void create_oas(dash_req_t *req)
{
    json_t *oas = checked_oas(req);
    if (!oas)
        return;
    json_t *def = dash_apidef_from_oas(oas);
    const char *given = json_string_value(tk_json_get_path(oas, "x-tyk-api-gateway.info.id"));
    if (given && *given)
        json_object_set_new(def, "api_id", json_string(given));
    json_t *w = json_pack("{s:o}", "api_definition", def);
    if (dash_apis_assign_ids(req, w) && dash_apis_claim_listen_path(req, def, NULL)) {
        stamp_ids(oas, def);
        json_object_set(w, "oas", oas);
        dash_apis_store(req, w, NULL);
    }
    json_decref(w);
    json_decref(oas);
}

/* The caller's OAS API @apiId; NULL (reply staged) when there is none or it is classic. */
static json_t *lookup_oas(dash_req_t *req)
{
    json_t *w = dash_apis_lookup(req, dash_param(req, 0));
    if (w && !json_is_object(json_object_get(w, "oas"))) {
        dash_reply_error(req, 400, "This is a Tyk classic API: use /api/apis/{apiId}");
        json_decref(w);
        return NULL;
    }
    return w;
}

static void get_oas(dash_req_t *req)
{
    json_t *w = lookup_oas(req);
    if (!w)
        return;
    dash_reply_json(req, 200, json_incref(json_object_get(w, "oas")));
    json_decref(w);
}

static void update_oas(dash_req_t *req)
{
    json_t *old = lookup_oas(req);
    if (!old)
        return;
    json_t *oas = checked_oas(req);
    if (oas) {
        const json_t *old_def = json_object_get(old, "api_definition");
        json_t *def = dash_apidef_from_oas(oas);
        json_object_set(def, "id", json_object_get(old_def, "id"));
        json_object_set(def, "api_id", json_object_get(old_def, "api_id"));
        json_object_set_new(def, "org_id", json_string(req->org_id));
        stamp_ids(oas, def);
        json_t *w = json_deep_copy(old);
        json_object_set_new(w, "api_definition", def);
        json_object_set(w, "oas", oas);
        char now[64];
        dash_now_rfc3339(now, sizeof(now));
        json_object_set_new(w, "updated_at", json_string(now));
        if (dash_apis_claim_listen_path(req, def, json_string_value(json_object_get(def, "id"))))
            dash_apis_store(req, w, old);
        json_decref(w);
        json_decref(oas);
    }
    json_decref(old);
}

static void delete_oas(dash_req_t *req)
{
    json_t *w = lookup_oas(req);
    if (!w)
        return;
    dash_apis_remove(req, w);
    json_decref(w);
}

const dash_route_t dash_routes_apis_oas[] = {
    {"GET", "/api/apis/oas", DASH_AUTH_USER, "apis", list_oas},
    {"POST", "/api/apis/oas", DASH_AUTH_USER, "apis", create_oas},
    {"GET", "/api/apis/oas/{apiId}", DASH_AUTH_USER, "apis", get_oas},
    {"PUT", "/api/apis/oas/{apiId}", DASH_AUTH_USER, "apis", update_oas},
    {"DELETE", "/api/apis/oas/{apiId}", DASH_AUTH_USER, "apis", delete_oas},
    {NULL, NULL, 0, NULL, NULL},
};
