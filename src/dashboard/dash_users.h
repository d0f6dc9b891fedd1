/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard users as Tyk stores them: creation (access key, bcrypt password), the public view
 * (never the password hash), and password changes. Shared by the Admin API and Dashboard API. */
#ifndef DASH_USERS_H
#define DASH_USERS_H

#include "dash_server.h"

/**
 * Validates @body (a user object from a client) and creates the user in @org_id: a new id, a
 * new 32-hex access_key, the password (if given) bcrypt-hashed, created_at. Stages the error
 * reply and returns NULL when refused (400 invalid fields, 409 email taken); otherwise returns
 * the stored user (new reference, with its hash).
 */
json_t *dash_user_create(dash_req_t *req, json_t *body, const char *org_id);

/**
 * Checks a user object from a client before it is used: no unknown fields, the right types,
 * a valid email when one is given, permissions of the known values, and a group_id naming a
 * group of @org_id. Stages a 400 (or 500) and returns false when refused.
 */
bool dash_user_check_body(dash_req_t *req, const json_t *body, const char *org_id);

/**
 * Applies the profile fields @body carries (first_name, last_name, email_address, active,
 * user_permissions, group_id, password_max_days) to the stored @user, after
 * dash_user_check_body. The email must stay unique (409 otherwise). Does not store @user.
 */
bool dash_user_apply(dash_req_t *req, json_t *user, const json_t *body);

/** The user {id} (path parameter 0) of the caller's org, or NULL after staging 404 ("Could not
 *  retrieve user detail.") or the store error. New reference. */
json_t *dash_user_load(dash_req_t *req);

/** A copy of @user fit to send: password emptied. New reference. */
json_t *dash_user_public(const json_t *user);

/** Sets @user's password to @password (bcrypt, password_updated). Returns false and stages a
 *  400 when the password is unacceptable. */
bool dash_user_set_password(dash_req_t *req, json_t *user, const char *password);

/** True when @password matches @user's stored hash. */
bool dash_user_check_password(const json_t *user, const char *password);

/** A new 32-hex access key. */
void dash_user_new_key(char out[33]);

/** Redis key prefix of dashboard login sessions (value: the user id). */
#define DASH_SESSION_PREFIX "turnpike-dashboard:session:"

/** Starts a login session for @user_id in Redis for session_lifetime seconds; its id (a UUID)
 *  goes into @sid. False when Redis is unavailable. */
bool dash_user_session_create(dash_req_t *req, const char *user_id, char sid[37]);

/** The user id of the session the request's "authorisation" cookie names (malloc'd), or NULL. */
char *dash_user_session_lookup(dash_req_t *req);

/** True when the caller may change @target: an admin, the user itself, or anyone when @target is
 *  not an admin (a non-admin could otherwise lock every admin out). Stages 403 when not. */
bool dash_user_may_manage(dash_req_t *req, const json_t *target);

/** Stores @user (id from its "id") in @org (NULL: any) and stages "User updated", 409 for a
 *  taken email, or the store error. */
void dash_user_save(dash_req_t *req, const char *org, json_t *user);

#endif
