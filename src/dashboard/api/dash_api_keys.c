/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keys: /api/keys..., /api/apis/keys..., /api/apis/{apiId}/keys... Writes and single-key reads go
 * through the configured gateway's /tyk/keys control API (the gateway owns the key store);
 * listings read the shared Redis directly, keeping only the caller's organisation's sessions.
 *
 * Organisation isolation: a key written here always carries the caller's org_id, may only name
 * APIs and policies of that organisation, and a key of another organisation is "not found".
 */
#include "dash_gateway.h"
#include "dash_api_apis.h"
#include "dash_routes.h"
#include "tk_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_NOT_FOUND "Key not found"
#define NO_RIGHTS "Failed to create key, keys must have at least one Access Rights record set."

/* ---- lookups in the dashboard's own store ------------------------------------------------- */

/* The caller's API whose api_id (or internal id) is @id, into *@out (may be NULL). */
static int org_api(dash_req_t *req, const char *id, json_t **out)
{
    json_t *doc = NULL;
    int rc = dash_store_find(req->store, DASH_API, req->org_id, 0, id, &doc);
    if (rc == DASH_STORE_NOT_FOUND)
        rc = dash_store_get(req->store, DASH_API, req->org_id, id, &doc);
    if (out)
        *out = doc;
    else
        json_decref(doc);
    return rc;
}

/* ---- validating a session body ------------------------------------------------------------ */

static bool check_policy(dash_req_t *req, const char *id)
{
    json_t *doc = NULL;
    int rc = dash_store_find(req->store, DASH_POLICY, req->org_id, 0, id, &doc);
    json_decref(doc);
    if (rc == DASH_STORE_OK)
        return true;
    char msg[300];
    if (rc == DASH_STORE_NOT_FOUND) {
        snprintf(msg, sizeof(msg), "Policy %.200s does not exist in your organisation", id);
        dash_reply_error(req, 400, msg);
    } else {
        dash_reply_store_error(req, "get policy");
    }
    return false;
}

/*
 * Makes @s a session the caller may write: org_id forced to the caller's, access rights naming
 * only the organisation's APIs, policies only the organisation's, and at least one of them
 * unless enable_master_keys. Stages 400 and returns false otherwise.
 */
static bool check_session(dash_req_t *req, json_t *s)
{
    json_object_set_new(s, "org_id", json_string(req->org_id));
    json_t *ar = json_object_get(s, "access_rights");
    size_t nrights = 0, npolicies = 0;
    char msg[300];
    if (ar && !json_is_null(ar)) {
        if (!json_is_object(ar)) {
            dash_reply_error(req, 400, "access_rights must be an object keyed by API id");
            return false;
        }
        const char *id;
        json_t *v;
        json_object_foreach(ar, id, v)
        {
            if (!json_is_object(v)) {
                snprintf(msg, sizeof(msg), "access_rights.%.200s must be an object", id);
                dash_reply_error(req, 400, msg);
                return false;
            }
            const char *inner = json_string_value(json_object_get(v, "api_id"));
            if (inner && *inner && strcmp(inner, id) != 0) {
                snprintf(msg, sizeof(msg), "access_rights.%.100s names another API (%.100s)", id,
                         inner);
                dash_reply_error(req, 400, msg);
                return false;
            }
            int rc = org_api(req, id, NULL);
            if (rc == DASH_STORE_NOT_FOUND) {
                snprintf(msg, sizeof(msg), "API %.200s does not exist in your organisation", id);
                dash_reply_error(req, 400, msg);
                return false;
            }
            if (rc != DASH_STORE_OK) {
                dash_reply_store_error(req, "get API");
                return false;
            }
            nrights++;
        }
    }
    json_t *ap = json_object_get(s, "apply_policies");
    if (ap && !json_is_null(ap)) {
        if (!json_is_array(ap)) {
            dash_reply_error(req, 400, "apply_policies must be an array of policy ids");
            return false;
        }
        size_t i;
        json_t *v;
        json_array_foreach(ap, i, v)
        {
            if (!json_is_string(v)) {
                dash_reply_error(req, 400, "apply_policies must be an array of policy ids");
                return false;
            }
            if (!check_policy(req, json_string_value(v)))
                return false;
            npolicies++;
        }
    }
    json_t *one = json_object_get(s, "apply_policy_id");
    if (one && !json_is_null(one)) {
        if (!json_is_string(one)) {
            dash_reply_error(req, 400, "apply_policy_id must be a string");
            return false;
        }
        if (*json_string_value(one)) {
            if (!check_policy(req, json_string_value(one)))
                return false;
            npolicies++;
        }
    }
    if (nrights == 0 && npolicies == 0 && !req->conf->enable_master_keys) {
        dash_reply_error(req, 400, NO_RIGHTS);
        return false;
    }
    return true;
}

/* ---- gateway calls ------------------------------------------------------------------------ */

static bool query_true(dash_req_t *req, const char *name)
{
    const char *v = dash_query(req, name);
    return v && *v && strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
}

/* "/tyk/keys/<key>?org_id=<org>[&hashed=true][&api_id=<api>][&suppress_reset=1]" */
static char *key_path(dash_req_t *req, const char *key, bool hashed, const char *api_id,
                      bool suppress)
{
    char *k = dash_gateway_escape_segment(key);
    char *o = dash_gateway_escape(req->org_id);
    char *a = api_id ? dash_gateway_escape(api_id) : NULL;
    size_t n = strlen(k) + strlen(o) + (a ? strlen(a) : 0) + 96;
    char *p = tk_xmalloc(n);
    snprintf(p, n, "/tyk/keys/%s?org_id=%s%s%s%s%s", k, o, hashed ? "&hashed=true" : "",
             a ? "&api_id=" : "", a ? a : "", suppress ? "&suppress_reset=1" : "");
    free(a);
    free(o);
    free(k);
    return p;
}

/*
 * The session of @key as the gateway has it, only when it belongs to the caller's organisation
 * (a key of another organisation is not found, so ids cannot be probed). NULL after staging
 * 404 or the gateway's error.
 */
static json_t *fetch_session(dash_req_t *req, const char *key, bool hashed, const char *api_id)
{
    char *path = key_path(req, key, hashed, api_id, false);
    dash_gw_reply_t r;
    bool ok = dash_gateway_call(req, "GET", path, NULL, 0, &r);
    free(path);
    if (!ok)
        return NULL;
    json_t *s = NULL;
    if (r.status == 200 && json_is_object(r.json)) {
        const char *org = json_string_value(json_object_get(r.json, "org_id"));
        if (org && strcmp(org, req->org_id) == 0)
            s = json_incref(r.json);
        else
            dash_reply_error(req, 404, KEY_NOT_FOUND);
    } else if (r.status == 404) {
        dash_reply_error(req, 404, KEY_NOT_FOUND);
    } else {
        dash_gateway_relay_error(req, &r, "Key lookup failed");
    }
    dash_gw_reply_free(&r);
    return s;
}

/* Tyk's KeyData: {"api_model":{}, "key_id", "key_hash", "data": session}. @data is stolen. */
static json_t *key_data(const char *key_id, const char *key_hash, json_t *data)
{
    return json_pack("{s:{},s:s,s:s,s:o}", "api_model", "key_id", key_id, "key_hash",
                     key_hash ? key_hash : "", "data", data ? data : json_object());
}

/* Sends @s (a checked session) to the gateway with @method @path; on success replies KeyData
 * with the session read back. */
static void write_key(dash_req_t *req, const char *method, const char *path, json_t *s,
                      const char *what)
{
    char *body = json_dumps(s, JSON_COMPACT);
    dash_gw_reply_t r;
    bool ok = dash_gateway_call(req, method, path, body, body ? strlen(body) : 0, &r);
    free(body);
    if (!ok)
        return;
    if (r.status != 200 || !json_is_object(r.json)) {
        dash_gateway_relay_error(req, &r, what);
        dash_gw_reply_free(&r);
        return;
    }
    const char *key = json_string_value(json_object_get(r.json, "key"));
    const char *hash = json_string_value(json_object_get(r.json, "key_hash"));
    char *k = tk_xstrdup(key ? key : "");
    char *h = tk_xstrdup(hash ? hash : "");
    dash_gw_reply_free(&r);
    json_t *stored = *k ? fetch_session(req, k, false, NULL) : NULL;
    if (stored)
        dash_reply_json(req, 200, key_data(k, h, stored));
    else if (!*k)
        dash_reply_error(req, 502, "The gateway did not say which key it wrote");
    free(k);
    free(h);
}

/* ---- create ------------------------------------------------------------------------------- */

static void create_key(dash_req_t *req, const char *custom)
{
    json_t *s = dash_body_object(req);
    if (!s)
        return;
    if (check_session(req, s)) {
        char *path;
        if (custom) {
            char *e = dash_gateway_escape_segment(custom);
            size_t n = strlen(e) + 16;
            path = tk_xmalloc(n);
            snprintf(path, n, "/tyk/keys/%s", e);
            free(e);
        } else {
            path = tk_xstrdup("/tyk/keys/create");
        }
        write_key(req, "POST", path, s, "Failed to create key");
        free(path);
    }
    json_decref(s);
}

static void create_random(dash_req_t *req)
{
    create_key(req, NULL);
}

static void create_custom(dash_req_t *req)
{
    create_key(req, dash_param(req, 0));
}

/* POST /api/keys/preview: the session as the gateway would store it (policies applied), after
 * the same checks as a create; nothing is written. */
static void preview_key(dash_req_t *req)
{
    json_t *s = dash_body_object(req);
    if (!s)
        return;
    if (check_session(req, s)) {
        char *text = json_dumps(s, JSON_COMPACT);
        dash_gw_reply_t r;
        if (dash_gateway_call(req, "POST", "/tyk/keys/preview", text, text ? strlen(text) : 0,
                              &r)) {
            if (r.status == 200 && json_is_object(r.json))
                dash_reply_json(req, 200, json_incref(r.json));
            else
                dash_gateway_relay_error(req, &r, "Failed to preview key");
            dash_gw_reply_free(&r);
        }
        free(text);
    }
    json_decref(s);
}

/* POST /api/apis/keys/basic/{username}: a basic-auth user (the key is the user name). */
static void create_basic(dash_req_t *req)
{
    const char *user = dash_param(req, 0);
    json_t *s = dash_body_object(req);
    if (!s)
        return;
    json_t *bad = json_object_get(s, "basic_auth_data");
    const char *pw = json_string_value(json_object_get(bad, "password"));
    if (!pw || !*pw) {
        dash_reply_error(req, 400, "basic_auth_data.password is required for a basic auth user");
    } else if (check_session(req, s)) {
        char *e = dash_gateway_escape_segment(user);
        size_t n = strlen(e) + 16;
        char *path = tk_xmalloc(n);
        snprintf(path, n, "/tyk/keys/%s", e);
        free(e);
        write_key(req, "POST", path, s, "Failed to create basic auth user");
        free(path);
    }
    json_decref(s);
}

/* ---- one key: get, update, delete (optionally under an API) ------------------------------- */

/* For /api/apis/{apiId}/keys/{keyId}: the API's api_id (the caller's API), else NULL (staged). */
static char *route_api(dash_req_t *req, bool under_api)
{
    return under_api ? dash_apis_lookup_api_id(req, dash_param(req, 0)) : tk_xstrdup("");
}

static void get_key_common(dash_req_t *req, bool under_api)
{
    char *api = route_api(req, under_api);
    if (!api)
        return;
    const char *key = dash_param(req, under_api ? 1 : 0);
    bool hashed = query_true(req, "hashed");
    json_t *s = fetch_session(req, key, hashed, *api ? api : NULL);
    if (s)
        dash_reply_json(req, 200, key_data(key, hashed ? key : "", s));
    free(api);
}

static void update_key_common(dash_req_t *req, bool under_api)
{
    char *api = route_api(req, under_api);
    if (!api)
        return;
    const char *key = dash_param(req, under_api ? 1 : 0);
    bool hashed = query_true(req, "hashed");
    if (hashed && !req->conf->enable_update_key_by_hash) {
        dash_reply_error(req, 400, "Updating keys by hash is disabled (enable_update_key_by_hash)");
        free(api);
        return;
    }
    json_t *body = dash_body_object(req);
    json_t *old = body ? fetch_session(req, key, hashed, *api ? api : NULL) : NULL;
    if (old && check_session(req, body)) {
        char *path = key_path(req, key, hashed, NULL, query_true(req, "suppress_reset"));
        char *text = json_dumps(body, JSON_COMPACT);
        dash_gw_reply_t r;
        if (dash_gateway_call(req, "PUT", path, text, text ? strlen(text) : 0, &r)) {
            if (r.status != 200) {
                dash_gateway_relay_error(req, &r, "Failed to update key");
            } else {
                json_t *now = fetch_session(req, key, hashed, NULL);
                if (now)
                    dash_reply_json(req, 200, key_data(key, hashed ? key : "", now));
            }
            dash_gw_reply_free(&r);
        }
        free(text);
        free(path);
    }
    json_decref(old);
    json_decref(body);
    free(api);
}

static void delete_key_common(dash_req_t *req, bool under_api)
{
    char *api = route_api(req, under_api);
    if (!api)
        return;
    const char *key = dash_param(req, under_api ? 1 : 0);
    bool hashed = query_true(req, "hashed");
    if (hashed && !req->conf->enable_delete_key_by_hash) {
        dash_reply_error(req, 400, "Deleting keys by hash is disabled (enable_delete_key_by_hash)");
        free(api);
        return;
    }
    json_t *old = fetch_session(req, key, hashed, *api ? api : NULL);
    if (old) {
        char *path = key_path(req, key, hashed, NULL, false);
        dash_gw_reply_t r;
        if (dash_gateway_call(req, "DELETE", path, NULL, 0, &r)) {
            if (r.status == 200)
                dash_reply_status(req, 200, "OK", "Key deleted successfully.", NULL);
            else if (r.status == 404)
                dash_reply_error(req, 404, KEY_NOT_FOUND);
            else
                dash_gateway_relay_error(req, &r, "Failed to delete key");
            dash_gw_reply_free(&r);
        }
        free(path);
    }
    json_decref(old);
    free(api);
}

static void get_key(dash_req_t *req)
{
    get_key_common(req, false);
}
static void update_key(dash_req_t *req)
{
    update_key_common(req, false);
}
static void delete_key(dash_req_t *req)
{
    delete_key_common(req, false);
}
static void get_api_key(dash_req_t *req)
{
    get_key_common(req, true);
}
static void update_api_key(dash_req_t *req)
{
    update_key_common(req, true);
}
static void delete_api_key(dash_req_t *req)
{
    delete_key_common(req, true);
}

/* ---- listings (from the shared Redis) ----------------------------------------------------- */

static bool icontains(const char *hay, const char *needle)
{
    if (!needle || !*needle)
        return true;
    if (!hay)
        return false;
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static int by_key_id(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "key_id")),
                  json_string_value(json_object_get(y, "key_id")));
}

/* Adds the caller's sessions among @names (MGET of apikey-<name>) to @out as KeyData. */
static bool add_sessions(dash_req_t *req, json_t *names, const char *api, const char *q,
                         json_t *out)
{
    size_t n = json_array_size(names);
    if (!n)
        return true;
    const char **argv = tk_xcalloc(n + 1, sizeof(*argv));
    char **owned = tk_xcalloc(n, sizeof(*owned));
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        const char *nm = json_string_value(json_array_get(names, i));
        size_t l = strlen(nm) + 8;
        owned[i] = tk_xmalloc(l);
        snprintf(owned[i], l, "apikey-%s", nm);
        argv[i + 1] = owned[i];
    }
    redisReply *rep = dash_redis_argv(req, (int)n + 1, argv, NULL);
    bool ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == n;
    for (size_t i = 0; ok && i < n; i++) {
        redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        json_t *s = json_loadb(e->str, e->len, 0, NULL);
        const char *org = json_string_value(json_object_get(s, "org_id"));
        const char *name = json_string_value(json_array_get(names, i));
        bool keep = json_is_object(s) && org && strcmp(org, req->org_id) == 0;
        if (keep && api && *api)
            keep = json_object_get(json_object_get(s, "access_rights"), api) != NULL;
        if (keep && q && *q)
            keep =
                icontains(name, q) || icontains(json_string_value(json_object_get(s, "alias")), q);
        if (keep) {
            json_object_del(s, "basic_auth_data");
            json_array_append_new(out,
                                  key_data(name, req->conf->hash_keys ? name : "", json_incref(s)));
        }
        json_decref(s);
    }
    freeReplyObject(rep);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    free(owned);
    free(argv);
    return ok;
}

/* Every session of the caller's organisation (optionally only those granting @api, or whose
 * key or alias contains @q), as KeyData sorted by key id. NULL (503 staged) without Redis. */
static json_t *org_keys(dash_req_t *req, const char *api, const char *q)
{
    if (req->conf->hash_keys && !req->conf->enable_hashed_keys_listing) {
        /* With hashed keys a listing shows hashes only; Tyk makes that opt-in. */
        dash_reply_error(req, 404,
                         "Hashed key listing is disabled in config (enable_hashed_keys_listing)");
        return NULL;
    }
    json_t *out = json_array();
    char cursor[32] = "0";
    do {
        redisReply *rep = dash_redis_cmd(req, "SCAN %s MATCH apikey-* COUNT 1000", cursor);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(rep);
            json_decref(out);
            dash_reply_error(req, 503, "Redis connection not available");
            return NULL;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        json_t *names = json_array();
        redisReply *keys = rep->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING || k->len <= 7)
                continue;
            const char *nm = k->str + 7;
            if (strncmp(nm, "quota-", 6) == 0 || strncmp(nm, "rate-limit-", 11) == 0)
                continue;
            json_array_append_new(names, json_stringn(nm, k->len - 7));
        }
        freeReplyObject(rep);
        bool ok = add_sessions(req, names, api, q, out);
        json_decref(names);
        if (!ok) {
            json_decref(out);
            dash_reply_error(req, 503, "Redis connection not available");
            return NULL;
        }
    } while (strcmp(cursor, "0") != 0);
    size_t n = json_array_size(out);
    json_t **v = tk_xcalloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(out, i));
    qsort(v, n, sizeof(*v), by_key_id);
    json_array_clear(out);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    return out;
}

/* The ?p= page of @all (stolen) and the page count. */
static json_t *page_of(dash_req_t *req, json_t *all, int64_t *pages)
{
    int64_t p = dash_page(req), size = req->conf->page_size > 0 ? req->conf->page_size : 10;
    int64_t n = (int64_t)json_array_size(all);
    *pages = n ? (n + size - 1) / size : 1;
    if (p <= 0) {
        *pages = 1;
        return all;
    }
    json_t *out = json_array();
    for (int64_t i = (p - 1) * size; i < n && i < p * size; i++)
        json_array_append(out, json_array_get(all, (size_t)i));
    json_decref(all);
    return out;
}

/* {"data":{"keys":[ids]}, "pages":N} (Tyk's key list). */
static void reply_ids(dash_req_t *req, const char *api)
{
    json_t *all = org_keys(req, api, NULL);
    if (!all)
        return;
    int64_t pages;
    json_t *pg = page_of(req, all, &pages);
    json_t *ids = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(pg, i, v) json_array_append(ids, json_object_get(v, "key_id"));
    json_decref(pg);
    dash_reply_json(req, 200,
                    json_pack("{s:{s:o},s:I}", "data", "keys", ids, "pages", (json_int_t)pages));
}

static void list_keys(dash_req_t *req)
{
    reply_ids(req, NULL);
}

static void list_api_keys(dash_req_t *req)
{
    char *api = dash_apis_lookup_api_id(req, dash_param(req, 0));
    if (!api)
        return;
    reply_ids(req, api);
    free(api);
}

/* GET /api/keys/detailed?q=: {"keys":[KeyData], "pages":N}. */
static void list_detailed(dash_req_t *req)
{
    json_t *all = org_keys(req, NULL, dash_query(req, "q"));
    if (!all)
        return;
    int64_t pages;
    json_t *pg = page_of(req, all, &pages);
    dash_reply_json(req, 200, json_pack("{s:o,s:I}", "keys", pg, "pages", (json_int_t)pages));
}

const dash_route_t dash_routes_keys[] = {
    {"GET", "/api/keys", DASH_AUTH_USER, "keys", list_keys},
    {"POST", "/api/keys", DASH_AUTH_USER, "keys", create_random},
    {"GET", "/api/keys/detailed", DASH_AUTH_USER, "keys", list_detailed},
    {"POST", "/api/keys/preview", DASH_AUTH_USER, "keys", preview_key},
    {"POST", "/api/keys/{keyId}", DASH_AUTH_USER, "keys", create_custom},
    {"GET", "/api/keys/{keyId}", DASH_AUTH_USER, "keys", get_key},
    {"PUT", "/api/keys/{keyId}", DASH_AUTH_USER, "keys", update_key},
    {"DELETE", "/api/keys/{keyId}", DASH_AUTH_USER, "keys", delete_key},
    {"GET", "/api/apis/keys", DASH_AUTH_USER, "keys", list_keys},
    {"POST", "/api/apis/keys/basic/{username}", DASH_AUTH_USER, "keys", create_basic},
    {"GET", "/api/apis/{apiId}/keys", DASH_AUTH_USER, "keys", list_api_keys},
    {"GET", "/api/apis/{apiId}/keys/{keyId}", DASH_AUTH_USER, "keys", get_api_key},
    {"PUT", "/api/apis/{apiId}/keys/{keyId}", DASH_AUTH_USER, "keys", update_api_key},
    {"DELETE", "/api/apis/{apiId}/keys/{keyId}", DASH_AUTH_USER, "keys", delete_api_key},
    {NULL, NULL, 0, NULL, NULL},
};
