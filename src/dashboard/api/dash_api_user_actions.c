/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard API user actions: /api/users/{id}/actions/reset (set a password). */
#include "dash_routes.h"
#include "dash_users.h"

#include <string.h>

static void reset_password(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    const char *id = dash_param(req, 0);
    const char *self = json_string_value(json_object_get(req->user, "id"));
    bool is_self = self && strcmp(self, id) == 0;
    if (!is_self && !(req->user_is_admin && req->conf->allow_admin_reset_password)) {
        dash_reply_error(req, 403, "You can only change your own password");
        json_decref(body);
        return;
    }
    json_t *user = NULL;
    int rc = dash_store_get(req->store, DASH_USER, req->org_id, id, &user);
    if (rc != DASH_STORE_OK) {
        if (rc == DASH_STORE_NOT_FOUND)
            dash_reply_error(req, 404, "User not found");
        else
            dash_reply_store_error(req, "get user");
        json_decref(body);
        return;
    }
    const char *cur = json_string_value(json_object_get(body, "current_password"));
    const char *pw = json_string_value(json_object_get(body, "new_password"));
    const char *hash = json_string_value(json_object_get(user, "password"));
    /* a user who has a password must prove it; the first one can be set with the key alone */
    if (is_self && hash && *hash && !dash_user_check_password(user, cur)) {
        dash_reply_error(req, 401, "Current password is incorrect");
    } else if (dash_user_set_password(req, user, pw)) {
        rc = dash_store_update(req->store, DASH_USER, req->org_id, id, user);
        if (rc != DASH_STORE_OK)
            dash_reply_store_error(req, "update user");
        else
            dash_reply_status(req, 200, "OK", "User password updated", NULL);
    }
    json_decref(user);
    json_decref(body);
}

const dash_route_t dash_routes_user_actions[] = {
    {"POST", "/api/users/{id}/actions/reset", DASH_AUTH_USER, NULL, reset_password},
    {NULL, NULL, 0, NULL, NULL},
};
