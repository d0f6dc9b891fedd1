/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dashboard API policies: /api/portal/policies (list, search, create) and
 * /api/portal/policies/{id} (get, update, delete). A DASH_POLICY document is the policy object
 * itself: "_id" (the document id), "id" (what keys and gateways refer to: the _id unless
 * allow_explicit_policy_id let the client choose it), "org_id" (always the caller's).
 */
#include "dash_apidef.h"
#include "dash_routes.h"
#include "dash_util.h"
#include "tk_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_CAP 512
#define NOT_FOUND "Could not retrieve portal object."

static int refuse(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return 400;
}

/* ---- validation ------------------------------------------------------------------------------ */

enum kind { K_STRING, K_BOOL, K_INT, K_NUMBER, K_OBJECT, K_ARRAY };

static const struct {
    const char *name;
    enum kind kind;
} policy_fields[] = {
    {"_id", K_STRING},
    {"id", K_STRING},
    {"name", K_STRING},
    {"org_id", K_STRING},
    {"rate", K_NUMBER},
    {"per", K_NUMBER},
    {"quota_max", K_INT},
    {"quota_renewal_rate", K_INT},
    {"throttle_interval", K_NUMBER},
    {"throttle_retry_limit", K_INT},
    {"max_query_depth", K_INT},
    {"key_expires_in", K_INT},
    {"active", K_BOOL},
    {"is_inactive", K_BOOL},
    {"hmac_enabled", K_BOOL},
    {"enable_http_signature_validation", K_BOOL},
    {"tags", K_ARRAY},
    {"meta_data", K_OBJECT},
    {"partitions", K_OBJECT},
    {"access_rights", K_OBJECT},
    {"smoothing", K_OBJECT},
};

static bool kind_ok(const json_t *v, enum kind k)
{
    switch (k) {
    case K_STRING:
        return json_is_string(v);
    case K_BOOL:
        return json_is_boolean(v);
    case K_INT:
        return json_is_integer(v);
    case K_NUMBER:
        return json_is_number(v);
    case K_OBJECT:
        return json_is_object(v);
    case K_ARRAY:
        return json_is_array(v);
    }
    return false;
}

static const char *kind_name(enum kind k)
{
    static const char *const n[] = {"a string", "a boolean", "an integer",
                                    "a number", "an object", "an array"};
    return n[k];
}

/* Limits: -1 means "unlimited" in Tyk; anything else below 0 is a mistake. */
static int check_limits(const json_t *p, char *msg, size_t cap)
{
    static const char *const limits[] = {"rate", "per", "quota_max", "quota_renewal_rate",
                                         "throttle_retry_limit"};
    for (size_t i = 0; i < TK_ARRAY_LEN(limits); i++) {
        const json_t *v = json_object_get(p, limits[i]);
        if (v && json_number_value(v) < 0 && json_number_value(v) != -1)
            return refuse(msg, cap, "%s must be -1 (unlimited) or at least 0", limits[i]);
    }
    return 0;
}

static int check_access_entry(dash_req_t *req, const char *api_id, json_t *ar, char *msg,
                              size_t cap)
{
    if (!json_is_object(ar))
        return refuse(msg, cap, "access_rights.%s must be an object", api_id);
    const json_t *inner = json_object_get(ar, "api_id");
    if (inner && !json_is_null(inner) &&
        (!json_is_string(inner) ||
         (json_string_length(inner) && strcmp(json_string_value(inner), api_id) != 0)))
        return refuse(msg, cap, "access_rights.%s.api_id must equal its key", api_id);
    json_t *api = NULL;
    int rc = dash_store_find(req->store, DASH_API, req->org_id, 0, api_id, &api);
    if (rc == DASH_STORE_ERROR)
        return 500;
    if (rc != DASH_STORE_OK)
        return refuse(msg, cap,
                      "access_rights: there is no API with api_id \"%s\" in your "
                      "organisation",
                      api_id);
    json_object_set_new(ar, "api_id", json_string(api_id));
    const char *name = json_string_value(json_object_get(ar, "api_name"));
    if (!name || !*name)
        json_object_set(ar, "api_name", tk_json_get_path(api, "api_definition.name"));
    json_decref(api);
    const json_t *versions = json_object_get(ar, "versions");
    size_t i;
    const json_t *e;
    if (versions && !json_is_null(versions)) {
        if (!json_is_array(versions))
            return refuse(msg, cap, "access_rights.%s.versions must be an array", api_id);
        json_array_foreach(versions, i, e) if (!json_is_string(e)) return refuse(
            msg, cap, "access_rights.%s.versions[%zu] must be a string", api_id, i);
    }
    const json_t *urls = json_object_get(ar, "allowed_urls");
    if (!urls || json_is_null(urls))
        return 0;
    if (!json_is_array(urls))
        return refuse(msg, cap, "access_rights.%s.allowed_urls must be an array", api_id);
    json_array_foreach(urls, i, e)
    {
        const char *url = json_string_value(json_object_get(e, "url"));
        const json_t *methods = json_object_get(e, "methods");
        if (!json_is_object(e) || !url ||
            (methods && !json_is_null(methods) && !json_is_array(methods)))
            return refuse(msg, cap,
                          "access_rights.%s.allowed_urls[%zu] must be {\"url\": string, "
                          "\"methods\": [string]}",
                          api_id, i);
        char where[256];
        snprintf(where, sizeof(where), "access_rights.%s.allowed_urls[%zu].url", api_id, i);
        if (dash_apidef_check_pattern(url, where, msg, cap))
            return 400;
    }
    return 0;
}

/* Checks @p (and fills access_rights' api_id/api_name); 0, or the status with @msg. */
static int check_policy(dash_req_t *req, json_t *p, char *msg, size_t cap)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(policy_fields); i++) {
        const json_t *v = json_object_get(p, policy_fields[i].name);
        if (v && !json_is_null(v) && !kind_ok(v, policy_fields[i].kind))
            return refuse(msg, cap, "%s must be %s, not %s", policy_fields[i].name,
                          kind_name(policy_fields[i].kind), tk_json_type_name(v));
    }
    const json_t *tags = json_object_get(p, "tags");
    size_t i;
    const json_t *e;
    json_array_foreach(tags, i, e) if (!json_is_string(e)) return refuse(
        msg, cap, "tags[%zu] must be a string", i);
    int rc = check_limits(p, msg, cap);
    if (rc)
        return rc;
    const char *api_id;
    json_t *ar;
    json_object_foreach(json_object_get(p, "access_rights"), api_id, ar)
    {
        if ((rc = check_access_entry(req, api_id, ar, msg, cap)))
            return rc;
    }
    return 0;
}

/* The body, checked; NULL (reply staged) when unusable. */
static json_t *checked_policy(dash_req_t *req)
{
    json_t *p = dash_body_object(req);
    if (!p)
        return NULL;
    char msg[MSG_CAP];
    int rc = check_policy(req, p, msg, sizeof(msg));
    if (rc == 500)
        dash_reply_store_error(req, "check policy");
    else if (rc)
        dash_reply_error(req, rc, msg);
    if (rc) {
        json_decref(p);
        return NULL;
    }
    return p;
}

/* ---- handlers -------------------------------------------------------------------------------- */

static void notify(dash_req_t *req, const json_t *p)
{
    if (req->conf->notify_on_change)
        dash_notify(req, "PolicyChanged", json_string_value(json_object_get(p, "id")));
}

/* The caller's policy @id (its _id, or its id); NULL (reply staged) when there is none. */
static json_t *lookup(dash_req_t *req, const char *id)
{
    json_t *p = NULL;
    int rc = dash_store_get(req->store, DASH_POLICY, req->org_id, id, &p);
    if (rc == DASH_STORE_NOT_FOUND)
        rc = dash_store_find(req->store, DASH_POLICY, req->org_id, 0, id, &p);
    if (rc == DASH_STORE_OK)
        return p;
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, NOT_FOUND);
    else
        dash_reply_store_error(req, "get policy");
    return NULL;
}

static void list_policies(dash_req_t *req)
{
    dash_list_query_t q = {.org = req->org_id, .col = -1, .q = dash_query(req, "q")};
    dash_reply_list(req, DASH_POLICY, &q, "Data", "Pages");
}

static bool stored(dash_req_t *req, int rc, const json_t *p, const char *what)
{
    if (rc == DASH_STORE_OK)
        return true;
    if (rc == DASH_STORE_CONFLICT) {
        char msg[MSG_CAP];
        snprintf(msg, sizeof(msg), "A policy with id \"%s\" already exists",
                 json_string_value(json_object_get(p, "id")));
        dash_reply_error(req, 409, msg);
    } else if (rc == DASH_STORE_NOT_FOUND) {
        dash_reply_error(req, 404, NOT_FOUND);
    } else {
        dash_reply_store_error(req, what);
    }
    return false;
}

static void create_policy(dash_req_t *req)
{
    json_t *p = checked_policy(req);
    if (!p)
        return;
    char oid[25], now[64];
    dash_new_id(oid);
    dash_now_rfc3339(now, sizeof(now));
    const char *given = json_string_value(json_object_get(p, "id"));
    if (!req->conf->allow_explicit_policy_id || !given || !*given)
        json_object_set_new(p, "id", json_string(oid));
    json_object_set_new(p, "_id", json_string(oid));
    json_object_set_new(p, "org_id", json_string(req->org_id));
    json_object_set_new(p, "date_created", json_string(now));
    json_object_set_new(p, "last_updated", json_string(now));
    if (stored(req, dash_store_insert(req->store, DASH_POLICY, req->org_id, oid, p), p,
               "create policy")) {
        notify(req, p);
        dash_reply_status(req, 200, "OK", oid, NULL);
    }
    json_decref(p);
}

static void get_policy(dash_req_t *req)
{
    json_t *p = lookup(req, dash_param(req, 0));
    if (p)
        dash_reply_json(req, 200, p);
}

static void update_policy(dash_req_t *req)
{
    json_t *old = lookup(req, dash_param(req, 0));
    if (!old)
        return;
    json_t *p = checked_policy(req);
    if (p) {
        const char *oid = json_string_value(json_object_get(old, "_id"));
        const char *given = json_string_value(json_object_get(p, "id"));
        if (!req->conf->allow_explicit_policy_id || !given || !*given)
            json_object_set(p, "id", json_object_get(old, "id"));
        json_object_set_new(p, "_id", json_string(oid));
        json_object_set_new(p, "org_id", json_string(req->org_id));
        json_t *created = json_object_get(old, "date_created");
        if (created)
            json_object_set(p, "date_created", created);
        char now[64];
        dash_now_rfc3339(now, sizeof(now));
        json_object_set_new(p, "last_updated", json_string(now));
        if (stored(req, dash_store_update(req->store, DASH_POLICY, req->org_id, oid, p), p,
                   "update policy")) {
            notify(req, p);
            dash_reply_status(req, 200, "OK", "Data updated", json_string(""));
        }
        json_decref(p);
    }
    json_decref(old);
}

static void delete_policy(dash_req_t *req)
{
    json_t *p = lookup(req, dash_param(req, 0));
    if (!p)
        return;
    int rc = dash_store_delete(req->store, DASH_POLICY, req->org_id,
                               json_string_value(json_object_get(p, "_id")));
    if (stored(req, rc, p, "delete policy")) {
        notify(req, p);
        dash_reply_status(req, 200, "OK", "Data deleted", NULL);
    }
    json_decref(p);
}

const dash_route_t dash_routes_policies[] = {
    {"GET", "/api/portal/policies", DASH_AUTH_USER, "policy", list_policies},
    {"GET", "/api/portal/policies/search", DASH_AUTH_USER, "policy", list_policies},
    {"POST", "/api/portal/policies", DASH_AUTH_USER, "policy", create_policy},
    {"GET", "/api/portal/policies/{id}", DASH_AUTH_USER, "policy", get_policy},
    {"PUT", "/api/portal/policies/{id}", DASH_AUTH_USER, "policy", update_policy},
    {"DELETE", "/api/portal/policies/{id}", DASH_AUTH_USER, "policy", delete_policy},
    {NULL, NULL, 0, NULL, NULL},
};
