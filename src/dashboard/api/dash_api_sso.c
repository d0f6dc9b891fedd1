/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Single sign-on: POST /admin/sso and POST /api/sso take Tyk's SSOAccessData (what Tyk Identity
 * Broker sends once it has authenticated someone) and answer a one-time nonce, kept in Redis for
 * 60 seconds; GET /tap?nonce= spends it: it finds the user by email in the org (creating one
 * with the group / sso_default_group_id / sso_permission_defaults when absent, unless
 * SSOOnlyForRegisteredUsers), starts a login session (cookie "authorisation") and redirects to
 * the dashboard. The reply body also carries the user (with its access key) for API clients.
 */
#include "dash_routes.h"
#include "dash_rbac.h"
#include "dash_users.h"
#include "dash_util.h"

#include "tk_hash.h"
#include "tk_json.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_PREFIX "turnpike-dashboard:sso:"
#define NONCE_TTL_S 60

static const char *const sso_fields[] = {
    "ForSection",
    "OrgID",
    "EmailAddress",
    "DisplayName",
    "GroupID",
    "GroupsIDs",
    "SSOOnlyForRegisteredUsers",
    "UserNotAllowed",
};

/* Checks SSOAccessData; stages a 400 naming the problem. */
static bool check_sso(dash_req_t *req, const json_t *body)
{
    const char *k;
    json_t *v;
    char msg[200];
    json_object_foreach((json_t *)body, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < TK_ARRAY_LEN(sso_fields); i++)
            known = known || strcmp(k, sso_fields[i]) == 0;
        if (!known) {
            snprintf(msg, sizeof(msg), "Unknown field in SSO object: \"%.100s\"", k);
            dash_reply_error(req, 400, msg);
            return false;
        }
    }
    static const char *const strs[] = {"ForSection", "OrgID", "EmailAddress", "DisplayName",
                                       "GroupID"};
    for (size_t i = 0; i < TK_ARRAY_LEN(strs); i++) {
        const json_t *s = json_object_get(body, strs[i]);
        if (s && (!json_is_string(s) || json_string_length(s) > 256)) {
            snprintf(msg, sizeof(msg), "%s must be a string of at most 256 characters", strs[i]);
            dash_reply_error(req, 400, msg);
            return false;
        }
    }
    static const char *const bools[] = {"SSOOnlyForRegisteredUsers", "UserNotAllowed"};
    for (size_t i = 0; i < TK_ARRAY_LEN(bools); i++) {
        const json_t *b = json_object_get(body, bools[i]);
        if (b && !json_is_boolean(b)) {
            snprintf(msg, sizeof(msg), "%s must be true or false", bools[i]);
            dash_reply_error(req, 400, msg);
            return false;
        }
    }
    const json_t *groups = json_object_get(body, "GroupsIDs");
    if (groups && !json_is_array(groups) && !json_is_null(groups)) {
        dash_reply_error(req, 400, "GroupsIDs must be an array of strings");
        return false;
    }
    const char *section = tk_json_str(body, "ForSection", "dashboard");
    if (strcmp(section, "dashboard") != 0 && strcmp(section, "portal") != 0) {
        dash_reply_error(req, 400, "ForSection must be \"dashboard\" or \"portal\"");
        return false;
    }
    const char *email = tk_json_str(body, "EmailAddress", "");
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strpbrk(email, " \t\r\n<>\"'")) {
        dash_reply_error(req, 400, "EmailAddress must be an email address");
        return false;
    }
    return true;
}

/* Issues the nonce for @body (its OrgID already checked). */
static void issue_nonce(dash_req_t *req, json_t *body, const char *ok_msg)
{
    const char *org = tk_json_str(body, "OrgID", "");
    json_t *o = NULL;
    int rc = dash_store_get(req->store, DASH_ORG, NULL, org, &o);
    json_decref(o);
    if (rc == DASH_STORE_NOT_FOUND) {
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "Cannot create an SSO session for an invalid payload: [Error: Org id not found "
                 "('%.200s').]",
                 org);
        dash_reply_error(req, 400, msg);
        return;
    }
    if (rc != DASH_STORE_OK) {
        dash_reply_store_error(req, "get organisation");
        return;
    }
    /* Tyk's nonce shape: base64 of a UUID */
    char uuid[37], nonce[64];
    tk_uuid_str(uuid);
    EVP_EncodeBlock((unsigned char *)nonce, (const unsigned char *)uuid, 36);
    char *data = json_dumps(body, JSON_COMPACT);
    redisReply *rep =
        dash_redis_cmd(req, "SET %s%s %s EX %d", NONCE_PREFIX, nonce, data, NONCE_TTL_S);
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;
    freeReplyObject(rep);
    free(data);
    if (!ok)
        dash_reply_error(req, 503, "Failed to save new SSO object: Redis is unavailable");
    else
        dash_reply_status(req, 200, "OK", ok_msg, json_string(nonce));
}

static void admin_sso(dash_req_t *req)
{
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    if (check_sso(req, body)) {
        if (!*tk_json_str(body, "OrgID", ""))
            dash_reply_error(req, 400, "OrgID is required");
        else
            issue_nonce(req, body, "SSO Nonce created");
    }
    json_decref(body);
}

/* The user-key version: only an admin of the org, and only for its own org (a nonce logs the
 * bearer in as any user of the org, admins included). */
static void api_sso(dash_req_t *req)
{
    if (!req->user_is_admin) {
        dash_rbac_deny(req);
        return;
    }
    json_t *body = dash_body_object(req);
    if (!body)
        return;
    if (check_sso(req, body)) {
        const char *org = tk_json_str(body, "OrgID", "");
        if (!*org) {
            json_object_set_new(body, "OrgID", json_string(req->org_id));
            org = req->org_id;
        }
        if (strcmp(org, req->org_id) != 0) {
            char msg[400];
            snprintf(msg, sizeof(msg),
                     "Cannot create an SSO session for an invalid payload: [Error: Org id not "
                     "found ('%.200s').]",
                     org);
            dash_reply_error(req, 400, msg);
        } else {
            issue_nonce(req, body, "SSO Nonce created.");
        }
    }
    json_decref(body);
}

/* The SSOAccessData stored under @nonce, removed in the same step (GETDEL: a nonce works
 * once, even with several dashboards on one Redis). NULL when unknown, spent or expired. */
static json_t *spend_nonce(dash_req_t *req, const char *nonce)
{
    redisReply *rep = dash_redis_cmd(req, "GETDEL %s%s", NONCE_PREFIX, nonce);
    json_t *v =
        rep && rep->type == REDIS_REPLY_STRING ? json_loadb(rep->str, rep->len, 0, NULL) : NULL;
    freeReplyObject(rep);
    return v;
}

/* The user @sso logs in as: found by email in its org, or created. Stages the error and returns
 * NULL when refused. */
static json_t *sso_user(dash_req_t *req, const json_t *sso)
{
    const char *org = tk_json_str(sso, "OrgID", "");
    const char *email = tk_json_str(sso, "EmailAddress", "");
    json_t *user = NULL;
    int rc = dash_store_find(req->store, DASH_USER, org, 0, email, &user);
    if (rc == DASH_STORE_OK)
        return user;
    if (rc != DASH_STORE_NOT_FOUND) {
        dash_reply_store_error(req, "find user");
        return NULL;
    }
    if (json_is_true(json_object_get(sso, "SSOOnlyForRegisteredUsers"))) {
        dash_reply_error(req, 403, "SSO is only for registered users, and this user is not one");
        return NULL;
    }
    json_t *body = json_pack("{s:s,s:b}", "email_address", email, "active", 1);
    const char *name = tk_json_str(sso, "DisplayName", "");
    if (*name)
        json_object_set_new(body, "first_name", json_string(name));
    const char *gid = tk_json_str(sso, "GroupID", "");
    if (!*gid)
        gid = req->conf->sso_default_group_id;
    if (*gid)
        json_object_set_new(body, "group_id", json_string(gid));
    else if (json_is_object(req->conf->sso_permission_defaults))
        json_object_set_new(body, "user_permissions",
                            json_deep_copy(req->conf->sso_permission_defaults));
    /* neither: an empty permission map, which Tyk reads as admin */
    user = dash_user_create(req, body, org);
    json_decref(body);
    return user;
}

static void tap(dash_req_t *req)
{
    const char *nonce = dash_query(req, "nonce");
    if (!nonce || !*nonce || strlen(nonce) > 128) {
        dash_reply_error(req, 400, "The nonce query parameter is required");
        return;
    }
    json_t *sso = spend_nonce(req, nonce);
    if (!sso) {
        dash_reply_error(req, 401, "SSO nonce is unknown, already used or expired");
        return;
    }
    if (strcmp(tk_json_str(sso, "ForSection", "dashboard"), "dashboard") != 0) {
        dash_reply_error(req, 400, "This nonce is for the developer portal, not the dashboard");
        json_decref(sso);
        return;
    }
    /* a GET runs in a read transaction: this one writes (the user, its login date), so it
     * runs its own */
    dash_store_rollback(req->store);
    if (dash_store_begin(req->store, true) != 0) {
        dash_reply_error(req, 503, "Database unavailable");
        json_decref(sso);
        return;
    }
    json_t *user = sso_user(req, sso);
    char sid[37];
    if (!user) {
        /* the error is staged */
    } else if (!json_is_true(json_object_get(user, "active"))) {
        dash_reply_error(req, 401, "Not authorised");
    } else {
        char now[48];
        dash_now_rfc3339(now, sizeof(now));
        json_object_set_new(user, "last_login_date", json_string(now));
        const char *uid = tk_json_str(user, "id", "");
        if (dash_store_update(req->store, DASH_USER, NULL, uid, user) != DASH_STORE_OK)
            dash_reply_store_error(req, "update user");
        else if (!dash_user_session_create(req, uid, sid))
            dash_reply_error(req, 503, "Could not start a session: Redis is unavailable");
        else
            dash_reply_status(req, 302, "OK", "Logged in", dash_user_public(user));
    }
    if (req->status == 302 && dash_store_commit(req->store) == 0) {
        char cookie[128];
        snprintf(cookie, sizeof(cookie), "authorisation=%s; Path=/; HttpOnly; SameSite=Lax", sid);
        dash_reply_header(req, "Set-Cookie", cookie);
        dash_reply_header(req, "Location", "/");
    } else {
        if (dash_store_in_tx(req->store))
            dash_store_rollback(req->store);
        if (req->status == 302)
            dash_reply_error(req, 500, "Database error: the login was not saved");
    }
    json_decref(user);
    json_decref(sso);
}

const dash_route_t dash_routes_sso[] = {
    {"POST", "/admin/sso", DASH_AUTH_ADMIN, NULL, admin_sso},
    {"POST", "/api/sso", DASH_AUTH_USER, NULL, api_sso},
    {"GET", "/tap", DASH_AUTH_NONE, NULL, tap},
    {NULL, NULL, 0, NULL, NULL},
};
