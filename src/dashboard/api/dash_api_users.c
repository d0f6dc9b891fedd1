/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard API users: /api/users (list, create), /api/users/{id} (get, update, delete),
 * /api/users/me, /api/users/search. Every call stays inside the caller's organisation: a user
 * of another org is "not found". */
#include "dash_rbac.h"
#include "dash_routes.h"
#include "dash_users.h"
#include "dash_util.h"

#include "tk_json.h"

#include <stdio.h>
#include <string.h>

#define NOT_FOUND "Could not retrieve user detail."

/* Replies {users: [public users], pages} for @q. */
static void reply_users(dash_req_t *req, dash_list_query_t *q)
{
    q->org = req->org_id;
    q->page = dash_page(req);
    q->page_size = req->conf->page_size;
    json_t *items = NULL;
    int64_t pages = 1;
    if (dash_store_list(req->store, DASH_USER, q, &items, &pages) != DASH_STORE_OK) {
        dash_reply_store_error(req, "list users");
        return;
    }
    json_t *pub = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(items, i, u) json_array_append_new(pub, dash_user_public(u));
    json_decref(items);
    dash_reply_json(req, 200, json_pack("{s:o,s:I}", "users", pub, "pages", (json_int_t)pages));
}

static void list_users(dash_req_t *req)
{
    dash_list_query_t q = {.col = -1};
    reply_users(req, &q);
}

/* The permissions a user made from @body would hold: its group's when it names one. New
 * reference, or NULL after staging an error. */
static json_t *wanted_permissions(dash_req_t *req, const json_t *body, const json_t *current)
{
    const json_t *gidv = json_object_get(body, "group_id");
    const char *gid =
        gidv ? json_string_value(gidv) : json_string_value(json_object_get(current, "group_id"));
    if (gid && *gid) {
        json_t *group = NULL;
        if (dash_store_get(req->store, DASH_USER_GROUP, req->org_id, gid, &group) !=
            DASH_STORE_OK) {
            dash_reply_error(req, 400, "User group not found");
            return NULL;
        }
        json_t *p = json_incref(json_object_get(group, "user_permissions"));
        json_decref(group);
        return p ? p : json_object();
    }
    const json_t *p = json_object_get(body, "user_permissions");
    if (!p || json_is_null(p))
        p = json_object_get(current, "user_permissions");
    return p ? json_deep_copy(p) : json_object();
}

/*
 * The checks on what a Dashboard API caller may give a user (Tyk's rules, plus the ones that
 * keep RBAC from being side-stepped): at least one permission (or a group), ResetPassword only
 * through the Admin API, and nothing beyond the caller's own rights (so no user raises itself,
 * and no non-admin makes an admin). Stages the refusal.
 */
static bool permissions_ok(dash_req_t *req, const json_t *body, const json_t *current)
{
    const json_t *given = json_object_get(body, "user_permissions");
    const json_t *gidv = json_object_get(body, "group_id");
    if (json_is_null(given))
        given = NULL;
    if (!given && !gidv && current)
        return true; /* neither the permissions nor the group change */
    const char *gid = gidv ? json_string_value(gidv) : tk_json_str(current, "group_id", "");
    bool in_group = gid && *gid;
    /* leaving a group with an empty map of one's own would make the user an admin */
    const json_t *own = given ? given : json_object_get(current, "user_permissions");
    if (!in_group && json_object_size(own) == 0) {
        dash_reply_error(
            req, 403, "To create a user specify at least one permission, or make them an admin.");
        return false;
    }
    const char *had = current ? json_string_value(json_object_get(
                                    json_object_get(current, "user_permissions"), "ResetPassword"))
                              : NULL;
    const char *wants = json_string_value(json_object_get(given, "ResetPassword"));
    if (given && (had ? !wants || strcmp(had, wants) != 0 : wants != NULL)) {
        dash_reply_error(req, 403,
                         "The ResetPassword permission can only be changed through the "
                         "Admin API");
        return false;
    }
    json_t *wanted = wanted_permissions(req, body, current);
    if (!wanted)
        return false;
    json_t *mine = dash_rbac_effective(req, req->user);
    bool ok = dash_rbac_within(mine, wanted);
    json_decref(mine);
    json_decref(wanted);
    if (!ok)
        dash_reply_error(req, 403, "You cannot give a user permissions you do not have");
    return ok;
}

static void create_user(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    const char *org = json_string_value(json_object_get(body, "org_id"));
    json_t *user = NULL;
    if (org && *org && strcmp(org, req->org_id) != 0)
        dash_reply_error(req, 400, "Users can only be created in your own organisation");
    else if (dash_user_check_body(req, body, req->org_id) && permissions_ok(req, body, NULL))
        user = dash_user_create(req, body, req->org_id);
    if (user)
        dash_reply_status(req, 200, "OK", "User and session have been created",
                          json_incref(json_object_get(user, "id")));
    json_decref(user);
    json_decref(body);
}

static void get_user(dash_req_t *req)
{
    json_t *user = dash_user_load(req);
    if (user)
        dash_reply_json(req, 200, dash_user_public(user));
    json_decref(user);
}

static void get_me(dash_req_t *req)
{
    dash_reply_json(req, 200, dash_user_public(req->user));
}

static void update_user(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    json_t *user = dash_user_load(req);
    const char *pw = json_string_value(json_object_get(body, "password"));
    if (!user) {
    } else if (pw && *pw) {
        dash_reply_error(req, 400,
                         "The password can only be changed with POST "
                         "/api/users/{id}/actions/reset");
    } else if (json_object_get(body, "access_key") &&
               !json_equal(json_object_get(body, "access_key"),
                           json_object_get(user, "access_key"))) {
        dash_reply_error(req, 400,
                         "The access key can only be changed with PUT "
                         "/api/users/{id}/actions/key/reset");
    } else if (json_object_get(body, "org_id") &&
               !json_equal(json_object_get(body, "org_id"), json_object_get(user, "org_id"))) {
        dash_reply_error(req, 400, "A user cannot be moved to another organisation");
    } else if (dash_user_check_body(req, body, req->org_id) && dash_user_may_manage(req, user) &&
               permissions_ok(req, body, user) && dash_user_apply(req, user, body)) {
        dash_user_save(req, req->org_id, user);
    }
    json_decref(user);
    json_decref(body);
}

static void delete_user(dash_req_t *req)
{
    json_t *user = dash_user_load(req);
    if (user && dash_user_may_manage(req, user)) {
        int rc = dash_store_delete(req->store, DASH_USER, req->org_id, dash_param(req, 0));
        if (rc == DASH_STORE_NOT_FOUND)
            dash_reply_error(req, 404, NOT_FOUND);
        else if (rc != DASH_STORE_OK)
            dash_reply_store_error(req, "delete user");
        else
            dash_reply_status(req, 200, "OK", "User deleted", NULL);
    }
    json_decref(user);
}

/* POST /api/users/search: {"filters": {"query": "..."}} as Tyk's UserSearchPayload, or
 * {"email_address": "..."}; matches a substring of the email address. */
static void search_users(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    const json_t *v = json_object_get(json_object_get(body, "filters"), "query");
    if (!v)
        v = json_object_get(body, "email_address");
    if (!json_is_string(v)) {
        dash_reply_error(req, 400, "Could not extract search filter from request body.");
    } else {
        dash_list_query_t q = {.col = -1, .q = json_string_value(v)};
        reply_users(req, &q);
    }
    json_decref(body);
}

/* GET /api/users/search?q= (deprecated in Tyk, kept for old clients). */
static void search_users_get(dash_req_t *req)
{
    dash_list_query_t q = {.col = -1, .q = dash_query(req, "q")};
    reply_users(req, &q);
}

const dash_route_t dash_routes_users[] = {
    {"GET", "/api/users", DASH_AUTH_USER, "users", list_users},
    {"POST", "/api/users", DASH_AUTH_USER, "users", create_user},
    {"GET", "/api/users/me", DASH_AUTH_USER, NULL, get_me},
    {"POST", "/api/users/search", DASH_AUTH_USER, "users", search_users},
    {"GET", "/api/users/search", DASH_AUTH_USER, "users", search_users_get},
    {"GET", "/api/users/{id}", DASH_AUTH_USER, "users", get_user},
    {"PUT", "/api/users/{id}", DASH_AUTH_USER, "users", update_user},
    {"DELETE", "/api/users/{id}", DASH_AUTH_USER, "users", delete_user},
    {NULL, NULL, 0, NULL, NULL},
};
