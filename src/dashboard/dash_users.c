/* SPDX-License-Identifier: Apache-2.0 */
/* User creation, public view and passwords. */
#include "dash_users.h"
#include "dash_rbac.h"
#include "dash_util.h"

#include "tk_hash.h"
#include "tk_json.h"
#include "tk_offload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BCRYPT_COST 10
#define PASSWORD_MIN 6
#define PASSWORD_MAX 72 /* bcrypt reads no further */

/* Fields a client may send for a user; anything else is refused, naming it. */
static const char *const user_fields[] = {
    "id",
    "org_id",
    "first_name",
    "last_name",
    "email_address",
    "password",
    "active",
    "user_permissions",
    "group_id",
    "access_key",
    "password_max_days",
    "password_updated",
    "last_login_date",
    "created_at",
    "api_model",
    "user_group_ids",
};

static bool known_field(const char *k)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(user_fields); i++)
        if (strcmp(k, user_fields[i]) == 0)
            return true;
    return false;
}

void dash_user_new_key(char out[33])
{
    tk_uuid_hex(out);
}

static bool string_or_absent(dash_req_t *req, const json_t *body, const char *field)
{
    const json_t *v = json_object_get(body, field);
    if (!v || json_is_string(v) || json_is_null(v))
        return true;
    char msg[128];
    snprintf(msg, sizeof(msg), "%s must be a string", field);
    dash_reply_error(req, 400, msg);
    return false;
}

/* A plausible address: one "@" with text on both sides, no spaces, quotes or angle brackets (an
 * apostrophe is allowed: o'brien@example.com is a real address). */
static bool valid_email(const char *e)
{
    const char *at = e ? strchr(e, '@') : NULL;
    return at && at != e && at[1] && !strchr(at + 1, '@') && strlen(e) <= 254 &&
           !strpbrk(e, " \t\r\n<>\"");
}

bool dash_user_check_body(dash_req_t *req, const json_t *body, const char *org_id)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        if (!known_field(k)) {
            char msg[160];
            snprintf(msg, sizeof(msg), "Unknown field in user object: \"%.100s\"", k);
            dash_reply_error(req, 400, msg);
            return false;
        }
    }
    static const char *const strs[] = {"first_name", "last_name", "email_address", "password",
                                       "group_id",   "org_id",    "access_key"};
    for (size_t i = 0; i < TK_ARRAY_LEN(strs); i++)
        if (!string_or_absent(req, body, strs[i]))
            return false;
    for (size_t i = 0; i < TK_ARRAY_LEN(strs); i++) {
        const char *s = json_string_value(json_object_get(body, strs[i]));
        if (s && strlen(s) > 1024) {
            char msg[128];
            snprintf(msg, sizeof(msg), "%s is too long (at most 1024 characters)", strs[i]);
            dash_reply_error(req, 400, msg);
            return false;
        }
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
    if (!dash_rbac_check_object(req, json_object_get(body, "user_permissions")))
        return false;
    const json_t *email = json_object_get(body, "email_address");
    if (email && !valid_email(json_string_value(email))) {
        dash_reply_error(req, 400, "email_address is not a valid email address");
        return false;
    }
    const char *gid = json_string_value(json_object_get(body, "group_id"));
    if (gid && *gid) {
        json_t *group = NULL;
        int rc = dash_store_get(req->store, DASH_USER_GROUP, org_id ? org_id : "", gid, &group);
        json_decref(group);
        if (rc == DASH_STORE_NOT_FOUND) {
            dash_reply_error(req, 400, "User group not found");
            return false;
        }
        if (rc != DASH_STORE_OK) {
            dash_reply_store_error(req, "get user group");
            return false;
        }
    }
    return true;
}

/* Refuses @email when another user (not @self_id) has it: per org with enable_multi_org_users,
 * else across all orgs. */
static bool email_free(dash_req_t *req, const char *email, const char *org_id, const char *self_id)
{
    const char *scope = req->conf->enable_multi_org_users ? org_id : NULL;
    /* the email column is not a unique index (one email may live in several orgs), so writers
     * of one scope take turns until commit: two dashboards on one PostgreSQL cannot both find
     * the address free */
    if (dash_store_lock(req->store, DASH_USER, scope ? scope : "*") != 0) {
        dash_reply_store_error(req, "lock users");
        return false;
    }
    json_t *other = NULL;
    int rc = dash_store_find(req->store, DASH_USER, scope, 0, email, &other);
    const char *oid = json_string_value(json_object_get(other, "id"));
    bool same = oid && self_id && strcmp(oid, self_id) == 0;
    json_decref(other);
    if (rc == DASH_STORE_OK && !same) {
        dash_reply_error(req, 403, "User email already exists for this org.");
        return false;
    }
    if (rc != DASH_STORE_OK && rc != DASH_STORE_NOT_FOUND) {
        dash_reply_store_error(req, "find user");
        return false;
    }
    return true;
}

json_t *dash_user_create(dash_req_t *req, json_t *body, const char *org_id)
{
    if (!dash_user_check_body(req, body, org_id))
        return NULL;
    const char *email = json_string_value(json_object_get(body, "email_address"));
    if (!email) {
        dash_reply_error(req, 400, "email_address is missing or not a valid email address");
        return NULL;
    }
    if (!email_free(req, email, org_id, NULL))
        return NULL;
    json_t *perms = json_object_get(body, "user_permissions");

    json_t *user = json_object();
    char id[25], key[33], now[48];
    dash_new_id(id);
    dash_user_new_key(key);
    dash_now_rfc3339(now, sizeof(now));
    json_object_set_new(user, "id", json_string(id));
    json_object_set_new(user, "org_id", json_string(org_id ? org_id : ""));
    json_object_set_new(user, "first_name", json_string(tk_json_str(body, "first_name", "")));
    json_object_set_new(user, "last_name", json_string(tk_json_str(body, "last_name", "")));
    json_object_set_new(user, "email_address", json_string(email));
    json_object_set_new(user, "password", json_string(""));
    json_object_set_new(user, "active",
                        json_boolean(json_is_true(json_object_get(body, "active"))));
    json_object_set_new(user, "access_key", json_string(key));
    json_object_set_new(user, "user_permissions",
                        perms && json_is_object(perms) ? json_deep_copy(perms) : json_object());
    json_object_set_new(user, "group_id", json_string(tk_json_str(body, "group_id", "")));
    json_object_set_new(user, "password_max_days",
                        json_integer(tk_json_int(body, "password_max_days", 0)));
    json_object_set_new(user, "created_at", json_string(now));
    json_object_set_new(user, "last_login_date", json_string(""));
    json_object_set_new(user, "password_updated", json_string(""));
    const char *pw = json_string_value(json_object_get(body, "password"));
    if (pw && *pw && !dash_user_set_password(req, user, pw)) {
        json_decref(user);
        return NULL;
    }
    int rc = dash_store_insert(req->store, DASH_USER, org_id ? org_id : "", id, user);
    if (rc == DASH_STORE_CONFLICT) {
        dash_reply_error(req, 409, "User already exists");
        json_decref(user);
        return NULL;
    }
    if (rc != DASH_STORE_OK) {
        dash_reply_store_error(req, "create user");
        json_decref(user);
        return NULL;
    }
    return user;
}

bool dash_user_apply(dash_req_t *req, json_t *user, const json_t *body)
{
    const char *email = json_string_value(json_object_get(body, "email_address"));
    if (email && !email_free(req, email, json_string_value(json_object_get(user, "org_id")),
                             json_string_value(json_object_get(user, "id"))))
        return false;
    static const char *const fields[] = {"first_name",       "last_name",        "email_address",
                                         "active",           "user_permissions", "group_id",
                                         "password_max_days"};
    for (size_t i = 0; i < TK_ARRAY_LEN(fields); i++) {
        json_t *v = json_object_get(body, fields[i]);
        if (v && !json_is_null(v))
            json_object_set_new(user, fields[i], json_deep_copy(v));
    }
    return true;
}

json_t *dash_user_public(const json_t *user)
{
    json_t *u = json_deep_copy(user);
    json_object_set_new(u, "password", json_string(""));
    json_object_del(u, "password_history");
    return u;
}

bool dash_user_set_password(dash_req_t *req, json_t *user, const char *password)
{
    size_t n = password ? strlen(password) : 0;
    if (n < PASSWORD_MIN || n > PASSWORD_MAX) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Password must be between %d and %d characters long",
                 PASSWORD_MIN, PASSWORD_MAX);
        dash_reply_error(req, 400, msg);
        return false;
    }
    char *hash = tk_bcrypt_hash(password, BCRYPT_COST);
    if (!hash) {
        dash_reply_error(req, 500, "Could not hash the password");
        return false;
    }
    char now[48];
    dash_now_rfc3339(now, sizeof(now));
    json_object_set_new(user, "password", json_string(hash));
    json_object_set_new(user, "password_updated", json_string(now));
    free(hash);
    return true;
}

bool dash_user_check_password(const json_t *user, const char *password)
{
    const char *hash = json_string_value(json_object_get(user, "password"));
    return hash && *hash && password && tk_bcrypt_check(hash, password);
}

bool dash_user_session_create(dash_req_t *req, const char *user_id, char sid[37])
{
    tk_uuid_str(sid);
    redisReply *rep = dash_redis_cmd(req, "SET %s%s %s EX %lld", DASH_SESSION_PREFIX, sid, user_id,
                                     (long long)req->conf->session_lifetime);
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;
    freeReplyObject(rep);
    return ok;
}

/* The value of cookie @name in a Cookie header (malloc'd), or NULL. */
static char *cookie_value(const char *header, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=')
            return tk_xstrndup(p + n + 1, len - n - 1);
        p = end;
    }
    return NULL;
}

char *dash_user_session_lookup(dash_req_t *req)
{
    char *sid = cookie_value(dash_header(req, "cookie"), "authorisation");
    if (!sid)
        return NULL;
    char *uid = NULL;
    /* session ids are UUIDs: anything else is not looked up */
    if (strlen(sid) == 36 && strspn(sid, "0123456789abcdef-") == 36) {
        redisReply *rep = dash_redis_cmd(req, "GET %s%s", DASH_SESSION_PREFIX, sid);
        if (rep && rep->type == REDIS_REPLY_STRING)
            uid = tk_xstrndup(rep->str, rep->len);
        freeReplyObject(rep);
    }
    free(sid);
    return uid;
}

bool dash_user_may_manage(dash_req_t *req, const json_t *target)
{
    const char *self = json_string_value(json_object_get(req->user, "id"));
    const char *id = json_string_value(json_object_get(target, "id"));
    if (req->user_is_admin || (self && id && strcmp(self, id) == 0))
        return true;
    json_t *perms = dash_rbac_effective(req, target);
    bool admin = dash_rbac_is_admin(perms);
    json_decref(perms);
    if (admin)
        dash_reply_error(req, 403, "Only an admin can change an admin user");
    return !admin;
}

void dash_user_save(dash_req_t *req, const char *org, json_t *user)
{
    const char *id = json_string_value(json_object_get(user, "id"));
    int rc = dash_store_update(req->store, DASH_USER, org, id ? id : "", user);
    if (rc == DASH_STORE_CONFLICT)
        dash_reply_error(req, 403, "User email already exists for this org.");
    else if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "Could not retrieve user detail.");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "update user");
    else
        dash_reply_status(req, 200, "OK", "User updated", NULL);
}

json_t *dash_user_load(dash_req_t *req)
{
    json_t *user = NULL;
    int rc = dash_store_get(req->store, DASH_USER, req->org_id, dash_param(req, 0), &user);
    if (rc == DASH_STORE_NOT_FOUND)
        dash_reply_error(req, 404, "Could not retrieve user detail.");
    else if (rc != DASH_STORE_OK)
        dash_reply_store_error(req, "get user");
    return rc == DASH_STORE_OK ? user : NULL;
}
