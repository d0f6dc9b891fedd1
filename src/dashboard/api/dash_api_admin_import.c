/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admin API imports that keep the given ids (for migrations and bootstrap scripts):
 * POST /admin/apis/import {"apis": [{"api_definition": {...}, ...}]} and
 * POST /admin/policies/import {"Data": [policy, ...]}.
 *
 * APIs are stored as Tyk's wrapper documents ({"api_definition": def, "hook_references": [],
 * ...}) in DASH_API, policies as themselves in DASH_POLICY: the same documents the Dashboard API
 * (/api/apis, /api/portal/policies) works on and the /system routes hand to gateways. An object
 * that is already there (same api_id / policy id) is replaced. The whole import is one transaction:
 * one bad element rejects the request and nothing of it is stored.
 */
#include "dash_routes.h"
#include "dash_util.h"

#include "tk_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* The body's array under @key, or NULL after staging 400. */
static json_t *import_list(dash_req_t *req, json_t *body, const char *key)
{
    json_t *list = json_object_get(body, key);
    if (!json_is_array(list)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Request body needs \"%s\": an array", key);
        dash_reply_error(req, 400, msg);
        return NULL;
    }
    return list;
}

static void reply_bad_item(dash_req_t *req, const char *what, size_t i, const char *why)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s %zu: %s; nothing was imported", what, i, why);
    dash_reply_error(req, 400, msg);
}

/* Checks (and completes: api_id, id) the classic definition of import element @i. NULL when it
 * is fine, else why not. */
static const char *check_api_def(json_t *def)
{
    if (!json_is_object(def))
        return "\"api_definition\" must be an object";
    if (!str_of(def, "org_id"))
        return "api_definition.org_id is required";
    json_t *proxy = json_object_get(def, "proxy");
    if (!json_is_object(proxy) || !json_is_string(json_object_get(proxy, "listen_path")))
        return "api_definition.proxy.listen_path is required";
    if (!json_is_string(json_object_get(def, "name")))
        return "api_definition.name must be a string";
    json_t *api_id = json_object_get(def, "api_id");
    if (api_id && !json_is_string(api_id))
        return "api_definition.api_id must be a string";
    return NULL;
}

/* Stores one wrapper document (insert, or replace the one with the same api_id). */
static int store_api(dash_req_t *req, json_t *wrapper, json_t *def)
{
    if (!str_of(def, "api_id")) {
        char id[33];
        tk_uuid_hex(id);
        json_object_set_new(def, "api_id", json_string(id));
    }
    const char *org = str_of(def, "org_id");
    json_t *old = NULL;
    int rc = dash_store_find(req->store, DASH_API, NULL, 0, str_of(def, "api_id"), &old);
    if (rc == DASH_STORE_ERROR)
        return rc;
    char fresh[25];
    dash_new_id(fresh);
    /* The stored id: the existing document's, else the definition's own "id" (kept), else new. */
    const char *old_id =
        rc == DASH_STORE_OK
            ? json_string_value(json_object_get(json_object_get(old, "api_definition"), "id"))
            : NULL;
    const char *given = str_of(def, "id");
    char *id = tk_xstrdup(old_id && *old_id ? old_id : given ? given : fresh);
    json_object_set_new(def, "id", json_string(id));
    if (!json_is_array(json_object_get(wrapper, "hook_references")))
        json_object_set_new(wrapper, "hook_references", json_array());
    if (rc == DASH_STORE_OK) {
        const char *old_org =
            json_string_value(json_object_get(json_object_get(old, "api_definition"), "org_id"));
        /* moving an API between orgs is a delete and an insert */
        rc = old_org && strcmp(old_org, org) == 0
                 ? dash_store_update(req->store, DASH_API, org, id, wrapper)
                 : dash_store_delete(req->store, DASH_API, NULL, id);
        if (rc == DASH_STORE_OK && !(old_org && strcmp(old_org, org) == 0))
            rc = dash_store_insert(req->store, DASH_API, org, id, wrapper);
    } else {
        rc = dash_store_insert(req->store, DASH_API, org, id, wrapper);
    }
    json_decref(old);
    free(id);
    return rc;
}

static void import_apis(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    json_t *list = import_list(req, body, "apis");
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        if (!json_is_object(item)) {
            reply_bad_item(req, "API", i, "each element must be an object");
            goto out;
        }
        /* a bare classic definition is accepted too, and wrapped */
        json_t *wrapper = json_object_get(item, "api_definition")
                              ? json_incref(item)
                              : json_pack("{s:O}", "api_definition", item);
        json_t *def = json_object_get(wrapper, "api_definition");
        const char *why = check_api_def(def);
        int rc = why ? DASH_STORE_OK : store_api(req, wrapper, def);
        if (!why && rc == DASH_STORE_OK && req->conf->notify_on_change)
            dash_notify(req, "ApiUpdated", str_of(def, "api_id"));
        json_decref(wrapper);
        if (why) {
            reply_bad_item(req, "API", i, why);
            goto out;
        }
        if (rc == DASH_STORE_CONFLICT) {
            reply_bad_item(req, "API", i, "its id or api_id is already used by another API");
            goto out;
        }
        if (rc != DASH_STORE_OK) {
            dash_reply_store_error(req, "import APIs");
            goto out;
        }
    }
    if (list)
        dash_reply_status(req, 200, "OK", "APIs imported", NULL);
out:
    json_decref(body);
}

static const char *check_policy(json_t *pol)
{
    if (!json_is_object(pol))
        return "each element must be an object";
    if (!str_of(pol, "org_id"))
        return "org_id is required";
    json_t *ar = json_object_get(pol, "access_rights");
    if (ar && !json_is_object(ar) && !json_is_null(ar))
        return "access_rights must be an object";
    json_t *v = json_object_get(pol, "_id");
    if (v && !json_is_string(v))
        return "_id must be a string";
    v = json_object_get(pol, "id");
    if (v && !json_is_string(v))
        return "id must be a string";
    return NULL;
}

/* Stores one policy (insert, or replace the one with the same policy id). Its "_id" is the
 * document id; an empty "id" takes the "_id", as gateways name such a policy by its _id. */
static int store_policy(dash_req_t *req, json_t *pol)
{
    char fresh[25];
    dash_new_id(fresh);
    if (!str_of(pol, "_id"))
        json_object_set_new(pol, "_id", json_string(str_of(pol, "id") ? str_of(pol, "id") : fresh));
    if (!str_of(pol, "id"))
        json_object_set_new(pol, "id", json_string(str_of(pol, "_id")));
    const char *org = str_of(pol, "org_id");
    json_t *old = NULL;
    int rc = dash_store_find(req->store, DASH_POLICY, NULL, 0, str_of(pol, "id"), &old);
    if (rc == DASH_STORE_ERROR)
        return rc;
    if (rc == DASH_STORE_OK) {
        /* keep the stored document's id (its "_id") so references to it stay valid */
        const char *old_id = json_string_value(json_object_get(old, "_id"));
        if (old_id && *old_id)
            json_object_set_new(pol, "_id", json_string(old_id));
        rc = dash_store_delete(req->store, DASH_POLICY, NULL, str_of(pol, "_id"));
        if (rc == DASH_STORE_NOT_FOUND)
            rc = DASH_STORE_CONFLICT; /* the row is there under another id: refuse */
    }
    json_decref(old);
    if (rc == DASH_STORE_OK || rc == DASH_STORE_NOT_FOUND)
        rc = dash_store_insert(req->store, DASH_POLICY, org, str_of(pol, "_id"), pol);
    return rc;
}

static void import_policies(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    json_t *list = import_list(req, body, "Data");
    size_t i;
    json_t *pol;
    json_array_foreach(list, i, pol)
    {
        const char *why = check_policy(pol);
        if (why) {
            reply_bad_item(req, "Policy", i, why);
            goto out;
        }
        int rc = store_policy(req, pol);
        if (rc == DASH_STORE_CONFLICT) {
            reply_bad_item(req, "Policy", i, "its _id is already used by another policy");
            goto out;
        }
        if (rc != DASH_STORE_OK) {
            dash_reply_store_error(req, "import policies");
            goto out;
        }
        if (req->conf->notify_on_change)
            dash_notify(req, "PolicyChanged", str_of(pol, "id"));
    }
    if (list)
        dash_reply_status(req, 200, "OK", "Policies imported", NULL);
out:
    json_decref(body);
}

const dash_route_t dash_routes_admin_import[] = {
    {"POST", "/admin/apis/import", DASH_AUTH_ADMIN, NULL, import_apis},
    {"POST", "/admin/policies/import", DASH_AUTH_ADMIN, NULL, import_policies},
    {NULL, NULL, 0, NULL, NULL},
};
