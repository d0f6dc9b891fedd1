/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard API user groups: /api/usergroups (list, create), /api/usergroups/{id} (get, update,
 * delete). A user whose group_id names a group takes the group's permissions. */
#include "dash_rbac.h"
#include "dash_routes.h"
#include "dash_util.h"

#include <stdio.h>
#include <string.h>

#define NOT_FOUND "Could not retrieve user group detail."

static const char *const group_fields[] = {
    "id", "org_id", "name", "description", "active", "password_max_days", "user_permissions",
};

/* Checks a group object from a client; stages a 400/403 and returns false when refused. */
static bool check_group(dash_req_t *req, const json_t *body, const json_t *current)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < TK_ARRAY_LEN(group_fields); i++)
            known = known || strcmp(k, group_fields[i]) == 0;
        if (!known) {
            char msg[160];
            snprintf(msg, sizeof(msg), "Unknown field in user group object: \"%.100s\"", k);
            dash_reply_error(req, 400, msg);
            return false;
        }
    }
    const json_t *name = json_object_get(body, "name");
    if (name ? !json_is_string(name) || json_string_length(name) == 0 ||
                   json_string_length(name) > 256
             : !current) {
        dash_reply_error(req, 400, "name must be a non-empty string of at most 256 characters");
        return false;
    }
    const json_t *desc = json_object_get(body, "description");
    if (desc && (!json_is_string(desc) || json_string_length(desc) > 4096)) {
        dash_reply_error(req, 400, "description must be a string of at most 4096 characters");
        return false;
    }
    const json_t *active = json_object_get(body, "active");
    if (active && !json_is_boolean(active)) {
        dash_reply_error(req, 400, "active must be true or false");
        return false;
    }
    const json_t *days = json_object_get(body, "password_max_days");
    if (days && !json_is_integer(days)) {
        dash_reply_error(req, 400, "password_max_days must be an integer");
        return false;
    }
    const json_t *org = json_object_get(body, "org_id");
    if (org && (!json_is_string(org) ||
                (json_string_length(org) && strcmp(json_string_value(org), req->org_id) != 0))) {
        dash_reply_error(req, 400, "org_id must be your own organisation's");
        return false;
    }
    const json_t *perms = json_object_get(body, "user_permissions");
    if (!dash_rbac_check_object(req, perms))
        return false;
    if (perms ? json_object_size(perms) == 0 : !current) {
        /* an empty map would make every member an admin */
        dash_reply_error(req, 400, "user_permissions must grant at least one permission");
        return false;
    }
    if (perms) {
        const char *had = json_string_value(
            json_object_get(json_object_get(current, "user_permissions"), "ResetPassword"));
        const char *wants = json_string_value(json_object_get(perms, "ResetPassword"));
        if (had ? !wants || strcmp(had, wants) != 0 : wants != NULL) {
            dash_reply_error(req, 403,
                             "The ResetPassword permission can only be changed through "
                             "the Admin API");
            return false;
        }
        json_t *mine = dash_rbac_effective(req, req->user);
        bool ok = dash_rbac_within(mine, perms);
        json_decref(mine);
        if (!ok) {
            dash_reply_error(req, 403, "You cannot give a group permissions you do not have");
            return false;
        }
    }
    return true;
}

static void list_groups(dash_req_t *req)
{
    dash_reply_list(req, DASH_USER_GROUP, NULL, "groups", "pages");
}

static void create_group(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    if (check_group(req, body, NULL)) {
        char id[25];
        dash_new_id(id);
        json_t *g = json_pack("{s:s,s:s,s:O,s:s,s:b,s:I,s:O}", "id", id, "org_id", req->org_id,
                              "name", json_object_get(body, "name"), "description",
                              json_string_value(json_object_get(body, "description"))
                                  ? json_string_value(json_object_get(body, "description"))
                                  : "",
                              "active", !json_is_false(json_object_get(body, "active")),
                              "password_max_days",
                              json_integer_value(json_object_get(body, "password_max_days")),
                              "user_permissions", json_object_get(body, "user_permissions"));
        int rc = dash_store_insert(req->store, DASH_USER_GROUP, req->org_id, id, g);
        json_decref(g);
        if (rc != DASH_STORE_OK)
            dash_reply_store_error(req, "create user group");
        else
            dash_reply_status(req, 200, "OK", "User group created", json_string(id));
    }
    json_decref(body);
}

static json_t *load_group(dash_req_t *req)
{
    json_t *g = NULL;
    int rc = dash_store_get(req->store, DASH_USER_GROUP, req->org_id, dash_param(req, 0), &g);
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, NOT_FOUND);
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "get user group");
    return rc == DASH_STORE_OK ? g : NULL;
}

static void get_group(dash_req_t *req)
{
    json_t *g = load_group(req);
    if (g)
        dash_reply_json(req, 200, g);
}

static void update_group(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    json_t *g = load_group(req);
    if (g && check_group(req, body, g)) {
        static const char *const editable[] = {"name", "description", "active", "password_max_days",
                                               "user_permissions"};
        for (size_t i = 0; i < TK_ARRAY_LEN(editable); i++) {
            json_t *v = json_object_get(body, editable[i]);
            if (v)
                json_object_set_new(g, editable[i], json_deep_copy(v));
        }
        if (dash_store_update(req->store, DASH_USER_GROUP, req->org_id, dash_param(req, 0), g) !=
            DASH_STORE_OK)
            dash_reply_store_error(req, "update user group");
        else
            dash_reply_status(req, 200, "OK", "User group updated", NULL);
    }
    json_decref(g);
    json_decref(body);
}

static void delete_group(dash_req_t *req)
{
    int rc = dash_store_delete(req->store, DASH_USER_GROUP, req->org_id, dash_param(req, 0));
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, NOT_FOUND);
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "delete user group");
    else
        dash_reply_status(req, 200, "OK", "User group deleted", NULL);
}

const dash_route_t dash_routes_user_groups[] = {
    {"GET", "/api/usergroups", DASH_AUTH_USER, "user_groups", list_groups},
    {"POST", "/api/usergroups", DASH_AUTH_USER, "user_groups", create_group},
    {"GET", "/api/usergroups/{id}", DASH_AUTH_USER, "user_groups", get_group},
    {"PUT", "/api/usergroups/{id}", DASH_AUTH_USER, "user_groups", update_group},
    {"DELETE", "/api/usergroups/{id}", DASH_AUTH_USER, "user_groups", delete_group},
    {NULL, NULL, 0, NULL, NULL},
};
