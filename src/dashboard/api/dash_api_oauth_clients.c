/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OAuth clients of an API: /api/apis/oauth/{apiId}[/{clientId}[/tokens]], through the gateway's
 * /tyk/oauth/clients control API (the gateway owns the client store). {apiId} may be the API's
 * api_id or its internal id, and must be an API of the caller's organisation: that is what keeps
 * organisations from seeing each other's clients.
 */
#include "dash_gateway.h"
#include "dash_api_apis.h"
#include "dash_routes.h"
#include "tk_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_NOT_FOUND "OAuth Client ID not found"

/* "/tyk/oauth/clients/<api>[/<client>[<tail>]]" */
static char *clients_path(const char *api, const char *client, const char *tail)
{
    char *a = dash_gateway_escape_segment(api);
    char *c = client ? dash_gateway_escape_segment(client) : NULL;
    size_t n = strlen(a) + (c ? strlen(c) : 0) + (tail ? strlen(tail) : 0) + 32;
    char *p = tk_xmalloc(n);
    snprintf(p, n, "/tyk/oauth/clients/%s%s%s%s", a, c ? "/" : "", c ? c : "", tail ? tail : "");
    free(c);
    free(a);
    return p;
}

/* GET /api/apis/oauth/{apiId}: {"apps":[client...], "pages":N}. */
static void list_clients(dash_req_t *req)
{
    char *api = dash_apis_lookup_api_id(req, dash_param(req, 0));
    if (!api)
        return;
    char *path = clients_path(api, NULL, NULL);
    dash_gw_reply_t r;
    if (dash_gateway_call(req, "GET", path, NULL, 0, &r)) {
        json_t *apps = NULL;
        if (r.status == 200 && json_is_array(r.json))
            apps = json_incref(r.json);
        else if (r.status == 404) /* the gateway does not know the API (yet): no clients */
            apps = json_array();
        if (apps) {
            int64_t p = dash_page(req), size = req->conf->page_size > 0 ? req->conf->page_size : 10;
            int64_t n = (int64_t)json_array_size(apps), pages = n ? (n + size - 1) / size : 1;
            if (p > 0) {
                json_t *pg = json_array();
                for (int64_t i = (p - 1) * size; i < n && i < p * size; i++)
                    json_array_append(pg, json_array_get(apps, (size_t)i));
                json_decref(apps);
                apps = pg;
            } else {
                pages = 1;
            }
            dash_reply_json(req, 200,
                            json_pack("{s:o,s:I}", "apps", apps, "pages", (json_int_t)pages));
        } else {
            dash_gateway_relay_error(req, &r, "Failed to list OAuth clients");
        }
        dash_gw_reply_free(&r);
    }
    free(path);
    free(api);
}

/* A policy_id, when given, must be one of the caller's policies. */
static bool check_policy(dash_req_t *req, json_t *body)
{
    json_t *pid = json_object_get(body, "policy_id");
    if (!pid || json_is_null(pid) || (json_is_string(pid) && !*json_string_value(pid)))
        return true;
    if (!json_is_string(pid)) {
        dash_reply_error(req, 400, "policy_id must be a string");
        return false;
    }
    json_t *doc = NULL;
    int rc = dash_store_find(req->store, DASH_POLICY, req->org_id, 0, json_string_value(pid), &doc);
    json_decref(doc);
    if (rc == DASH_STORE_NOT_FOUND) {
        dash_reply_error(req, 400, "Policy does not exist in your organisation");
        return false;
    }
    if (rc != DASH_STORE_OK) {
        dash_reply_store_error(req, "get policy");
        return false;
    }
    return true;
}

/* POST /api/apis/oauth/{apiId}: NewClientRequest -> the client the gateway stored. */
static void create_client(dash_req_t *req)
{
    char *api = dash_apis_lookup_api_id(req, dash_param(req, 0));
    if (!api)
        return;
    json_t *body = dash_body_object(req);
    if (body && check_policy(req, body)) {
        static const char *const strs[] = {"client_id",   "secret",      "redirect_uri",
                                           "client_name", "description", "api_id"};
        bool ok = true;
        for (size_t i = 0; ok && i < TK_ARRAY_LEN(strs); i++) {
            json_t *v = json_object_get(body, strs[i]);
            if (v && !json_is_null(v) && !json_is_string(v)) {
                char msg[96];
                snprintf(msg, sizeof(msg), "%s must be a string", strs[i]);
                dash_reply_error(req, 400, msg);
                ok = false;
            }
        }
        json_t *md = json_object_get(body, "meta_data");
        if (ok && md && !json_is_null(md) && !json_is_object(md)) {
            dash_reply_error(req, 400, "meta_data must be an object");
            ok = false;
        }
        if (ok) {
            /* The client belongs to the API in the URL, whatever the body says. */
            json_object_set_new(body, "api_id", json_string(api));
            char *text = json_dumps(body, JSON_COMPACT);
            dash_gw_reply_t r;
            if (dash_gateway_call(req, "POST", "/tyk/oauth/clients/create", text,
                                  text ? strlen(text) : 0, &r)) {
                if (r.status == 200 && json_is_object(r.json))
                    dash_reply_json(req, 200, json_incref(r.json));
                else
                    dash_gateway_relay_error(req, &r, "Failed to create OAuth client");
                dash_gw_reply_free(&r);
            }
            free(text);
        }
    }
    json_decref(body);
    free(api);
}

/* GET one client, or its tokens (@tail "/tokens"); DELETE one client. */
static void one_client(dash_req_t *req, const char *method, const char *tail)
{
    char *api = dash_apis_lookup_api_id(req, dash_param(req, 0));
    if (!api)
        return;
    char *path = clients_path(api, dash_param(req, 1), tail);
    const char *page = dash_query(req, "page");
    if (tail && page && *page) {
        char *e = dash_gateway_escape(page);
        size_t n = strlen(path) + strlen(e) + 8;
        char *p2 = tk_xmalloc(n);
        snprintf(p2, n, "%s?page=%s", path, e);
        free(e);
        free(path);
        path = p2;
    }
    dash_gw_reply_t r;
    if (dash_gateway_call(req, method, path, NULL, 0, &r)) {
        if (r.status == 200 && strcmp(method, "DELETE") == 0)
            dash_reply_status(req, 200, "OK", "OAuth Client deleted successfully", NULL);
        else if (r.status == 200 && r.json)
            dash_reply_json(req, 200, json_incref(r.json));
        else if (r.status == 404)
            dash_reply_error(req, 404, CLIENT_NOT_FOUND);
        else
            dash_gateway_relay_error(req, &r, "OAuth client request failed");
        dash_gw_reply_free(&r);
    }
    free(path);
    free(api);
}

static void get_client(dash_req_t *req)
{
    one_client(req, "GET", NULL);
}

static void delete_client(dash_req_t *req)
{
    one_client(req, "DELETE", NULL);
}

static void client_tokens(dash_req_t *req)
{
    one_client(req, "GET", "/tokens");
}

/* OAuth clients belong to an API, so the "apis" permission governs them. */
const dash_route_t dash_routes_oauth_clients[] = {
    {"GET", "/api/apis/oauth/{apiId}", DASH_AUTH_USER, "apis", list_clients},
    {"POST", "/api/apis/oauth/{apiId}", DASH_AUTH_USER, "apis", create_client},
    {"GET", "/api/apis/oauth/{apiId}/{clientId}", DASH_AUTH_USER, "apis", get_client},
    {"DELETE", "/api/apis/oauth/{apiId}/{clientId}", DASH_AUTH_USER, "apis", delete_client},
    {"GET", "/api/apis/oauth/{apiId}/{clientId}/tokens", DASH_AUTH_USER, "apis", client_tokens},
    {NULL, NULL, 0, NULL, NULL},
};
