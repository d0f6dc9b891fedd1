/* SPDX-License-Identifier: Apache-2.0 */
/* Webhooks: /api/hooks CRUD, stored in the dashboard's database (DASH_HOOK), one org each. */
#include "dash_routes.h"
#include "dash_util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The fields a hook has (Tyk's sample objects); anything else is refused. */
static const char *const fields[] = {"id",         "org_id",        "name",
                                     "method",     "target_path",   "template_path",
                                     "header_map", "event_timeout", "api_model"};

static bool known_field(const char *k)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(fields); i++)
        if (strcmp(k, fields[i]) == 0)
            return true;
    return false;
}

/* An absolute http(s) URL with a host. */
static bool valid_target(const char *s)
{
    const char *rest = NULL;
    if (strncasecmp(s, "http://", 7) == 0)
        rest = s + 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        rest = s + 8;
    if (!rest || !*rest || *rest == '/' || *rest == ':')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/*
 * Checks @h (the request body) and makes the stored form: every field present with its type,
 * method upper-cased. Stages 400 with what is wrong and returns NULL otherwise.
 */
static json_t *checked_hook(dash_req_t *req, json_t *h)
{
    char msg[300];
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        if (!known_field(k)) {
            snprintf(msg, sizeof(msg), "Unknown field in webhook: %.200s", k);
            dash_reply_error(req, 400, msg);
            return NULL;
        }
    }
    json_t *name = json_object_get(h, "name");
    if (!json_is_string(name) || !*json_string_value(name)) {
        dash_reply_error(req, 400, "Webhook name is required");
        return NULL;
    }
    const char *method = json_string_value(json_object_get(h, "method"));
    static const char *const methods[] = {"GET", "PUT", "POST", "PATCH", "DELETE"};
    const char *m = NULL;
    for (size_t i = 0; method && i < TK_ARRAY_LEN(methods); i++)
        if (strcasecmp(method, methods[i]) == 0)
            m = methods[i];
    if (!m) {
        dash_reply_error(req, 400, "Webhook method must be one of GET, PUT, POST, PATCH, DELETE");
        return NULL;
    }
    const char *target = json_string_value(json_object_get(h, "target_path"));
    if (!target || !valid_target(target)) {
        dash_reply_error(req, 400, "Webhook target_path must be an absolute http or https URL");
        return NULL;
    }
    json_t *tp = json_object_get(h, "template_path");
    if (tp && !json_is_null(tp) && !json_is_string(tp)) {
        dash_reply_error(req, 400, "Webhook template_path must be a string");
        return NULL;
    }
    json_t *hm = json_object_get(h, "header_map");
    if (hm && !json_is_null(hm)) {
        if (!json_is_object(hm)) {
            dash_reply_error(req, 400, "Webhook header_map must be an object of strings");
            return NULL;
        }
        json_object_foreach(hm, k, v)
        {
            if (!json_is_string(v) || !*k) {
                dash_reply_error(req, 400, "Webhook header_map must be an object of strings");
                return NULL;
            }
        }
    }
    json_t *et = json_object_get(h, "event_timeout");
    if (et && !json_is_null(et) && (!json_is_integer(et) || json_integer_value(et) < 0)) {
        dash_reply_error(req, 400, "Webhook event_timeout must be a whole number of seconds >= 0");
        return NULL;
    }
    return json_pack("{s:{},s:s,s:s,s:s,s:s,s:o,s:I}", "api_model", "name", json_string_value(name),
                     "method", m, "target_path", target, "template_path",
                     json_is_string(tp) ? json_string_value(tp) : "", "header_map",
                     json_is_object(hm) ? json_incref(hm) : json_object(), "event_timeout",
                     (json_int_t)(json_is_integer(et) ? json_integer_value(et) : 0));
}

static void list_hooks(dash_req_t *req)
{
    dash_reply_list(req, DASH_HOOK, NULL, "hooks", "pages");
}

static void create_hook(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    json_t *h = checked_hook(req, body);
    json_decref(body);
    if (!h)
        return;
    char id[25];
    dash_new_id(id);
    json_object_set_new(h, "id", json_string(id));
    json_object_set_new(h, "org_id", json_string(req->org_id));
    int rc = dash_store_insert(req->store, DASH_HOOK, req->org_id, id, h);
    if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "create webhook");
    else
        dash_reply_status(req, 200, "OK", "Webhook created", json_string(id));
    json_decref(h);
}

static void get_hook(dash_req_t *req)
{
    json_t *h = NULL;
    int rc = dash_store_get(req->store, DASH_HOOK, req->org_id, dash_param(req, 0), &h);
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "Webhook not found");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "get webhook");
    else
        dash_reply_json(req, 200, json_incref(h));
    json_decref(h);
}

static void update_hook(dash_req_t *req)
{
    const char *id = dash_param(req, 0);
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    const char *bid = json_string_value(json_object_get(body, "id"));
    json_t *h = NULL;
    if (bid && *bid && strcmp(bid, id) != 0) {
        dash_reply_error(req, 400, "The webhook id in the body does not match the URL");
    } else {
        h = checked_hook(req, body);
    }
    json_decref(body);
    if (!h)
        return;
    json_object_set_new(h, "id", json_string(id));
    json_object_set_new(h, "org_id", json_string(req->org_id));
    int rc = dash_store_update(req->store, DASH_HOOK, req->org_id, id, h);
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "Webhook not found");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "update webhook");
    else
        dash_reply_status(req, 200, "OK", "Webhook updated", NULL);
    json_decref(h);
}

static void delete_hook(dash_req_t *req)
{
    int rc = dash_store_delete(req->store, DASH_HOOK, req->org_id, dash_param(req, 0));
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "Webhook not found");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "delete webhook");
    else
        dash_reply_status(req, 200, "OK", "Webhook deleted", NULL);
}

const dash_route_t dash_routes_hooks[] = {
    {"GET", "/api/hooks", DASH_AUTH_USER, "hooks", list_hooks},
    {"POST", "/api/hooks", DASH_AUTH_USER, "hooks", create_hook},
    {"GET", "/api/hooks/{hookId}", DASH_AUTH_USER, "hooks", get_hook},
    {"PUT", "/api/hooks/{hookId}", DASH_AUTH_USER, "hooks", update_hook},
    {"DELETE", "/api/hooks/{hookId}", DASH_AUTH_USER, "hooks", delete_hook},
    {NULL, NULL, 0, NULL, NULL},
};
