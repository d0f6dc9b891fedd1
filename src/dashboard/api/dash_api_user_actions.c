/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard API user actions: /api/users/{id}/actions/reset (set a password),
 * .../actions/key/reset (a new access key) and .../actions/revoke (deactivate). */
#include "dash_rbac.h"
#include "dash_routes.h"
#include "dash_users.h"

#include "tk_json.h"

#include <stdio.h>
#include <string.h>

static bool is_self(const dash_req_t *req)
{
    const char *self = json_string_value(json_object_get(req->user, "id"));
    return self && strcmp(self, dash_param(req, 0)) == 0;
}

/* Another user's password may be set by an admin when security.allow_admin_reset_password is
 * on, or by a user holding ResetPassword (granted only through the Admin API). */
static bool may_reset_others(dash_req_t *req)
{
    if (req->user_is_admin && req->conf->allow_admin_reset_password)
        return true;
    const char *v = json_string_value(
        json_object_get(json_object_get(req->user, "user_permissions"), "ResetPassword"));
    return v && strcmp(v, "admin") == 0;
}

static void reset_password(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    bool self = is_self(req);
    if (!self && !may_reset_others(req)) {
        dash_reply_error(req, 403, "You can only change your own password");
        json_decref(body);
        return;
    }
    json_t *user = dash_user_load(req);
    if (!user) {
        json_decref(body);
        return;
    }
    const json_t *cur = json_object_get(body, "current_password");
    const json_t *pw = json_object_get(body, "new_password");
    const char *hash = json_string_value(json_object_get(user, "password"));
    if ((cur && !json_is_string(cur)) || !json_is_string(pw)) {
        dash_reply_error(req, 400, "new_password (and current_password) must be strings");
    } else if (self && hash && *hash && !dash_user_check_password(user, json_string_value(cur))) {
        /* a user who has a password must prove it; the first one can be set with the key */
        dash_reply_error(req, 401, "Current password is incorrect");
    } else if (dash_user_set_password(req, user, json_string_value(pw))) {
        int rc = dash_store_update(req->store, DASH_USER, req->org_id, dash_param(req, 0), user);
        if (rc != DASH_STORE_OK)
            dash_reply_store_error(req, "update user");
        else
            dash_reply_status(req, 200, "OK", "User password updated", NULL);
    }
    json_decref(user);
    json_decref(body);
}

/* A new access key; the old one stops working at once. Gateways hear UserKeyReset with
 * "<old>.<new>:UserKeyReset" (Tyk's payload: an MDCB gateway whose slave_options.api_key was
 * the old key switches to the new one). */
static void reset_key(dash_req_t *req)
{
    json_t *user = dash_user_load(req);
    if (user && dash_user_may_manage(req, user)) {
        char key[33], payload[96];
        dash_user_new_key(key);
        snprintf(payload, sizeof(payload), "%.32s.%s:UserKeyReset",
                 tk_json_str(user, "access_key", ""), key);
        json_object_set_new(user, "access_key", json_string(key));
        int rc = dash_store_update(req->store, DASH_USER, req->org_id, dash_param(req, 0), user);
        if (rc != DASH_STORE_OK) {
            dash_reply_error(req, 400, "Problem updating user with new key.");
        } else {
            dash_notify(req, "UserKeyReset", payload);
            dash_reply_status(req, 200, "OK", "User session renewed", NULL);
        }
    }
    json_decref(user);
}

static void revoke_user(dash_req_t *req)
{
    json_t *user = dash_user_load(req);
    if (user && dash_user_may_manage(req, user)) {
        json_object_set_new(user, "active", json_false());
        if (dash_store_update(req->store, DASH_USER, req->org_id, dash_param(req, 0), user) !=
            DASH_STORE_OK)
            dash_reply_store_error(req, "update user");
        else
            dash_reply_status(req, 200, "OK", "User revoked", NULL);
    }
    json_decref(user);
}

const dash_route_t dash_routes_user_actions[] = {
    {"POST", "/api/users/{id}/actions/reset", DASH_AUTH_USER, NULL, reset_password},
    {"PUT", "/api/users/{id}/actions/key/reset", DASH_AUTH_USER, "users", reset_key},
    {"PUT", "/api/users/{id}/actions/revoke", DASH_AUTH_USER, "users", revoke_user},
    {NULL, NULL, 0, NULL, NULL},
};
