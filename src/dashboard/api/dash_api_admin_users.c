/* SPDX-License-Identifier: Apache-2.0 */
/* Admin API users: /admin/users (create, get, update, allow/disallow password resets). */
#include "dash_routes.h"
#include "dash_users.h"

#include "tk_json.h"

#include <stdio.h>
#include <string.h>

static void create_user(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    const char *org = json_string_value(json_object_get(body, "org_id"));
    if (org && *org) {
        json_t *o = NULL;
        int rc = dash_store_get(req->store, DASH_ORG, NULL, org, &o);
        json_decref(o);
        if (rc == DASH_STORE_NOT_FOUND) {
            dash_reply_error(req, 400, "Organisation not found");
            json_decref(body);
            return;
        }
    }
    json_t *user = dash_user_create(req, body, org ? org : "");
    json_decref(body);
    if (!user)
        return;
    const char *id = json_string_value(json_object_get(user, "id"));
    char msg[64];
    snprintf(msg, sizeof(msg), "%s", id);
    dash_reply_status(req, 200, "OK", msg, dash_user_public(user));
    json_decref(user);
}

static void get_user(dash_req_t *req)
{
    json_t *user = NULL;
    int rc = dash_store_get(req->store, DASH_USER, NULL, dash_param(req, 0), &user);
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "User not found");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "get user");
    else
        dash_reply_json(req, 200, dash_user_public(user));
    json_decref(user);
}

/* PUT replaces the profile fields it carries; a password change must carry the user's
 * access_key too (Tyk's rule, so a leaked admin secret alone cannot take over an account). */
static void update_user(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    json_t *user = NULL;
    int rc = dash_store_get(req->store, DASH_USER, NULL, dash_param(req, 0), &user);
    if (rc != DASH_STORE_OK) {
        if (rc == DASH_STORE_NOT_FOUND)
            dash_reply_error(req, 404, "User not found");
        else
            dash_reply_store_error(req, "get user");
        json_decref(body);
        return;
    }
    if (!dash_user_check_body(req, body, tk_json_str(user, "org_id", "")) ||
        !dash_user_apply(req, user, body)) {
        json_decref(user);
        json_decref(body);
        return;
    }
    const char *pw = json_string_value(json_object_get(body, "password"));
    bool ok = true;
    if (pw && *pw) {
        const char *key = json_string_value(json_object_get(body, "access_key"));
        const char *have = json_string_value(json_object_get(user, "access_key"));
        if (!key || !have || strcmp(key, have) != 0) {
            dash_reply_error(req, 400, "Changing the password needs the user's access_key");
            ok = false;
        } else {
            ok = dash_user_set_password(req, user, pw);
        }
    }
    if (ok) {
        dash_user_save(req, NULL, user);
    }
    json_decref(user);
    json_decref(body);
}

/* ResetPassword ("admin") lets a user set other users' passwords; only the Admin API grants it. */
static void set_reset_permission(dash_req_t *req, bool allow)
{
    json_t *user = NULL;
    int rc = dash_store_get(req->store, DASH_USER, NULL, dash_param(req, 0), &user);
    if (rc == DASH_STORE_NOT_FOUND) {
        dash_reply_error(req, 404, "Could not retrieve user detail");
        return;
    }
    if (rc != DASH_STORE_OK) {
        dash_reply_store_error(req, "get user");
        return;
    }
    json_t *perms = json_object_get(user, "user_permissions");
    if (!json_is_object(perms)) {
        perms = json_object();
        json_object_set_new(user, "user_permissions", perms);
    }
    if (allow)
        json_object_set_new(perms, "ResetPassword", json_string("admin"));
    else
        json_object_del(perms, "ResetPassword");
    if (dash_store_update(req->store, DASH_USER, NULL, dash_param(req, 0), user) != DASH_STORE_OK)
        dash_reply_error(req, 403, "Failed to update User object to DB");
    else
        dash_reply_status(req, 200, "OK", "User updated", dash_user_public(user));
    json_decref(user);
}

static void allow_reset(dash_req_t *req)
{
    set_reset_permission(req, true);
}

static void disallow_reset(dash_req_t *req)
{
    set_reset_permission(req, false);
}

const dash_route_t dash_routes_admin_users[] = {
    {"POST", "/admin/users", DASH_AUTH_ADMIN, NULL, create_user},
    {"GET", "/admin/users/{id}", DASH_AUTH_ADMIN, NULL, get_user},
    {"PUT", "/admin/users/{id}", DASH_AUTH_ADMIN, NULL, update_user},
    {"PUT", "/admin/users/{id}/actions/allow_reset_passwords", DASH_AUTH_ADMIN, NULL, allow_reset},
    {"PUT", "/admin/users/{id}/actions/disallow_reset_passwords", DASH_AUTH_ADMIN, NULL,
     disallow_reset},
    {NULL, NULL, 0, NULL, NULL},
};
