/* SPDX-License-Identifier: Apache-2.0 */
/* Permission checks over a user_permissions map. */
#include "dash_rbac.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool dash_rbac_is_admin(const json_t *perms)
{
    if (!json_is_object(perms) || json_object_size(perms) == 0)
        return true;
    const char *v = json_string_value(json_object_get(perms, "IsAdmin"));
    return v && (strcasecmp(v, "admin") == 0 || strcasecmp(v, "true") == 0);
}

/* 0 none/deny, 1 read, 2 write (and "admin", used by IsAdmin / ResetPassword). */
static int level(const json_t *perms, const char *section)
{
    const char *v = json_string_value(json_object_get(perms, section));
    if (!v)
        return 0;
    if (strcmp(v, "write") == 0 || strcmp(v, "admin") == 0 || strcmp(v, "true") == 0)
        return 2;
    return strcmp(v, "read") == 0 ? 1 : 0;
}

/* Tyk's permissions page names the policies section "policy", its API examples "policies":
 * either grants it. */
static int section_level(const json_t *perms, const char *section)
{
    int l = level(perms, section);
    if (strcmp(section, "policy") == 0 || strcmp(section, "policies") == 0) {
        int other = level(perms, section[6] ? "policy" : "policies");
        l = other > l ? other : l;
    }
    return l;
}

bool dash_rbac_allows(const json_t *perms, const char *section, bool write)
{
    if (dash_rbac_is_admin(perms))
        return true;
    return section_level(perms, section) >= (write ? 2 : 1);
}

json_t *dash_rbac_effective(dash_req_t *req, const json_t *user)
{
    const char *gid = json_string_value(json_object_get(user, "group_id"));
    const char *org = json_string_value(json_object_get(user, "org_id"));
    if (gid && *gid) {
        json_t *group = NULL;
        if (dash_store_get(req->store, DASH_USER_GROUP, org ? org : "", gid, &group) ==
            DASH_STORE_OK) {
            json_t *perms = json_incref(json_object_get(group, "user_permissions"));
            json_decref(group);
            if (json_is_object(perms) && json_object_size(perms) > 0)
                return perms;
            json_decref(perms);
        }
        /* a group that is gone (or grants nothing) grants nothing: never fall back to the
         * user's own map, which may be empty, and empty means admin */
        return json_pack("{s:s}", "IsAdmin", "false");
    }
    return json_incref(json_object_get(user, "user_permissions"));
}

bool dash_rbac_within(const json_t *caller, const json_t *wanted)
{
    if (dash_rbac_is_admin(caller))
        return true;
    if (dash_rbac_is_admin(wanted))
        return false;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)wanted, k, v)
    {
        (void)v;
        if (level(wanted, k) > section_level(caller, k))
            return false;
    }
    return true;
}

bool dash_rbac_check_object(dash_req_t *req, const json_t *perms)
{
    if (!perms || json_is_null(perms))
        return true;
    if (!json_is_object(perms)) {
        dash_reply_error(req, 400, "user_permissions must be an object");
        return false;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)perms, k, v)
    {
        const char *s = json_string_value(v);
        if (!s || (strcmp(s, "read") != 0 && strcmp(s, "write") != 0 && strcmp(s, "deny") != 0 &&
                   strcmp(s, "admin") != 0)) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "user_permissions.%.80s must be \"read\", \"write\", \"deny\" or \"admin\"",
                     k);
            dash_reply_error(req, 400, msg);
            return false;
        }
    }
    return true;
}

void dash_rbac_deny(dash_req_t *req)
{
    char msg[600];
    snprintf(msg, sizeof(msg), "access denied: You do not have permission to access  %.500s",
             req->path);
    dash_reply_error(req, 403, msg);
}
