/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard API classic APIs: /api/apis (list, search, create, get, update, delete). */
#include "dash_api_apis.h"

#include "dash_apidef.h"
#include "dash_routes.h"
#include "dash_util.h"
#include "tk_json.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_CAP 512

/* ---- shared with the OAS resource ------------------------------------------------------------ */

json_t *dash_apis_lookup(dash_req_t *req, const char *id)
{
    json_t *w = NULL;
    int rc = dash_store_get(req->store, DASH_API, req->org_id, id, &w);
    if (rc == DASH_STORE_NOT_FOUND)
        rc = dash_store_find(req->store, DASH_API, req->org_id, 0, id, &w);
    if (rc == DASH_STORE_OK)
        return w;
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "API not found");
    else
        dash_reply_store_error(req, "get API");
    return NULL;
}

char *dash_apis_lookup_api_id(dash_req_t *req, const char *id)
{
    json_t *w = dash_apis_lookup(req, id);
    if (!w)
        return NULL;
    const char *api_id = json_string_value(tk_json_get_path(w, "api_definition.api_id"));
    char *out = tk_xstrdup(api_id && *api_id ? api_id : id);
    json_decref(w);
    return out;
}

/* An api_id travels in URLs, Redis keys and analytics rows: keep it to safe characters. */
static bool usable_api_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (; *s; s++)
        if (!(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
            !strchr("-_.~", *s))
            return false;
    return true;
}

static void new_api_id(char out[33])
{
    unsigned char b[16];
    TK_ASSERT(RAND_bytes(b, sizeof(b)) == 1);
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + i * 2, 3, "%02x", b[i]);
}

static void set_default(json_t *o, const char *key, json_t *value)
{
    if (!json_object_get(o, key) || json_is_null(json_object_get(o, key)))
        json_object_set_new(o, key, value);
    else
        json_decref(value);
}

/* Tyk's default for a definition without a listen path: "/<api_id>/". */
static void default_listen_path(json_t *def)
{
    json_t *proxy = json_object_get(def, "proxy");
    const char *lp = json_string_value(json_object_get(proxy, "listen_path"));
    if (lp && *lp)
        return;
    char path[140];
    snprintf(path, sizeof(path), "/%s/", json_string_value(json_object_get(def, "api_id")));
    json_object_set_new(proxy, "listen_path", json_string(path));
}

bool dash_apis_assign_ids(dash_req_t *req, json_t *wrapper)
{
    json_t *def = json_object_get(wrapper, "api_definition");
    const char *given = json_string_value(json_object_get(def, "api_id"));
    char api_id[33];
    if (given && *given) {
        if (!usable_api_id(given)) {
            dash_reply_error(req, 400,
                             "api_definition.api_id may only hold letters, digits and - _ . ~ "
                             "(at most 128)");
            return false;
        }
    } else {
        new_api_id(api_id);
        json_object_set_new(def, "api_id", json_string(api_id));
    }
    default_listen_path(def);
    char id[25];
    dash_new_id(id);
    json_object_set_new(def, "id", json_string(id));
    json_object_set_new(def, "org_id", json_string(req->org_id));
    set_default(wrapper, "hook_references", json_array());
    set_default(wrapper, "is_site", json_false());
    set_default(wrapper, "sort_by", json_integer(0));
    set_default(wrapper, "user_owners", json_array());
    set_default(wrapper, "user_group_owners", json_array());
    char now[64];
    dash_now_rfc3339(now, sizeof(now));
    json_object_set_new(wrapper, "created_at", json_string(now));
    json_object_set_new(wrapper, "updated_at", json_string(now));
    return true;
}

bool dash_apis_claim_listen_path(dash_req_t *req, const json_t *def, const char *self_id)
{
    if (req->conf->enable_duplicate_slugs)
        return true;
    if (dash_store_lock(req->store, DASH_API, req->org_id) != 0) {
        dash_reply_store_error(req, "lock APIs");
        return false;
    }
    char msg[MSG_CAP];
    int rc = dash_apidef_check_listen_path_free(
        req->store, req->org_id, json_string_value(tk_json_get_path(def, "proxy.listen_path")),
        json_string_value(json_object_get(def, "domain")), self_id, msg, sizeof(msg));
    if (rc == 500)
        dash_reply_store_error(req, "check listen path");
    else if (rc)
        dash_reply_error(req, rc, msg);
    return rc == 0;
}

static void notify(dash_req_t *req, const char *command, const char *api_id)
{
    if (req->conf->notify_on_change)
        dash_notify(req, command, api_id ? api_id : "");
}

void dash_apis_store(dash_req_t *req, json_t *wrapper, const json_t *existing)
{
    const json_t *def = json_object_get(wrapper, "api_definition");
    const char *id = json_string_value(json_object_get(def, "id"));
    const char *api_id = json_string_value(json_object_get(def, "api_id"));
    int rc = existing ? dash_store_update(req->store, DASH_API, req->org_id, id, wrapper)
                      : dash_store_insert(req->store, DASH_API, req->org_id, id, wrapper);
    if (rc == DASH_STORE_CONFLICT) {
        char msg[MSG_CAP];
        snprintf(msg, sizeof(msg), "An API with api_id \"%s\" already exists", api_id);
        dash_reply_error(req, 409, msg);
        return;
    }
    if (rc == DASH_STORE_NOT_FOUND) {
        dash_reply_error(req, 404, "API not found");
        return;
    }
    if (rc != DASH_STORE_OK) {
        dash_reply_store_error(req, existing ? "update API" : "create API");
        return;
    }
    if (existing) {
        const char *old = json_string_value(tk_json_get_path(existing, "api_definition.api_id"));
        if (old && api_id && strcmp(old, api_id) != 0)
            notify(req, "ApiRemoved", old);
        notify(req, "ApiUpdated", api_id);
        dash_reply_status(req, 200, "OK", "Api updated", json_string(""));
        return;
    }
    notify(req, "ApiAdded", api_id);
    json_t *reply = json_pack("{s:s,s:s,s:s,s:s}", "Status", "OK", "Message", "API created", "Meta",
                              id, "ID", api_id);
    dash_reply_json(req, 200, reply);
}

void dash_apis_remove(dash_req_t *req, const json_t *wrapper)
{
    const json_t *def = json_object_get(wrapper, "api_definition");
    int rc = dash_store_delete(req->store, DASH_API, req->org_id,
                               json_string_value(json_object_get(def, "id")));
    if (rc == DASH_STORE_NOT_FOUND) {
        dash_reply_error(req, 404, "API not found");
        return;
    }
    if (rc != DASH_STORE_OK) {
        dash_reply_store_error(req, "delete API");
        return;
    }
    notify(req, "ApiRemoved", json_string_value(json_object_get(def, "api_id")));
    dash_reply_status(req, 200, "OK", "API deleted", NULL);
}

/* ---- handlers -------------------------------------------------------------------------------- */

static void list_apis(dash_req_t *req)
{
    dash_list_query_t q = {.org = req->org_id, .col = -1, .q = dash_query(req, "q")};
    dash_reply_list(req, DASH_API, &q, "apis", "pages");
}

/* The body of a POST or PUT, checked; NULL (reply staged) when unusable. */
static json_t *checked_wrapper(dash_req_t *req)
{
    json_t *w = dash_body_object(req);
    if (!w)
        return NULL;
    char msg[MSG_CAP];
    int rc = dash_apidef_check_wrapper(w, msg, sizeof(msg));
    if (!rc && json_is_object(json_object_get(w, "oas"))) {
        rc = 400;
        snprintf(msg, sizeof(msg), "A Tyk OAS API is created and updated through /api/apis/oas");
    }
    if (rc) {
        dash_reply_error(req, rc, msg);
        json_decref(w);
        return NULL;
    }
    json_object_del(w, "oas");
    return w;
}

static void create_api(dash_req_t *req)
{
    json_t *w = checked_wrapper(req);
    if (!w)
        return;
    if (dash_apis_assign_ids(req, w) &&
        dash_apis_claim_listen_path(req, json_object_get(w, "api_definition"), NULL))
        dash_apis_store(req, w, NULL);
    json_decref(w);
}

static void get_api(dash_req_t *req)
{
    json_t *w = dash_apis_lookup(req, dash_param(req, 0));
    if (w)
        dash_reply_json(req, 200, w);
}

static void update_api(dash_req_t *req)
{
    json_t *old = dash_apis_lookup(req, dash_param(req, 0));
    if (!old)
        return;
    json_t *w = NULL;
    if (json_is_object(json_object_get(old, "oas"))) {
        dash_reply_error(req, 400,
                         "This is a Tyk OAS API: update it through /api/apis/oas/{apiId}");
        goto out;
    }
    if (!(w = checked_wrapper(req)))
        goto out;
    json_t *def = json_object_get(w, "api_definition");
    const json_t *old_def = json_object_get(old, "api_definition");
    const char *id = json_string_value(json_object_get(old_def, "id"));
    const char *given = json_string_value(json_object_get(def, "api_id"));
    if (!given || !*given)
        json_object_set(def, "api_id", json_object_get(old_def, "api_id"));
    else if (!usable_api_id(given)) {
        dash_reply_error(req, 400,
                         "api_definition.api_id may only hold letters, digits and - _ . ~ (at "
                         "most 128)");
        goto out;
    }
    json_object_set_new(def, "id", json_string(id));
    json_object_set_new(def, "org_id", json_string(req->org_id));
    default_listen_path(def);
    set_default(w, "hook_references", json_array());
    set_default(w, "is_site", json_false());
    set_default(w, "sort_by", json_integer(0));
    set_default(w, "user_owners", json_array());
    set_default(w, "user_group_owners", json_array());
    json_t *created = json_object_get(old, "created_at");
    if (created)
        json_object_set(w, "created_at", created);
    char now[64];
    dash_now_rfc3339(now, sizeof(now));
    json_object_set_new(w, "updated_at", json_string(now));
    if (dash_apis_claim_listen_path(req, def, id))
        dash_apis_store(req, w, old);
out:
    json_decref(w);
    json_decref(old);
}

static void delete_api(dash_req_t *req)
{
    json_t *w = dash_apis_lookup(req, dash_param(req, 0));
    if (!w)
        return;
    dash_apis_remove(req, w);
    json_decref(w);
}

const dash_route_t dash_routes_apis[] = {
    {"GET", "/api/apis", DASH_AUTH_USER, "apis", list_apis},
    {"GET", "/api/apis/search", DASH_AUTH_USER, "apis", list_apis},
    {"POST", "/api/apis", DASH_AUTH_USER, "apis", create_api},
    {"GET", "/api/apis/{apiId}", DASH_AUTH_USER, "apis", get_api},
    {"PUT", "/api/apis/{apiId}", DASH_AUTH_USER, "apis", update_api},
    {"DELETE", "/api/apis/{apiId}", DASH_AUTH_USER, "apis", delete_api},
    {NULL, NULL, 0, NULL, NULL},
};
