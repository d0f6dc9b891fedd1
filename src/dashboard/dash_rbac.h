/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk Dashboard's user permissions: a map section -> "read" | "write"; empty or IsAdmin means
 * admin; a user in a group takes the group's permissions. */
#ifndef DASH_RBAC_H
#define DASH_RBAC_H

#include "dash_server.h"

#include <jansson.h>

/** True when @perms (a user_permissions object, may be NULL) make its holder an admin. */
bool dash_rbac_is_admin(const json_t *perms);

/** True when @perms allow @section for reading (@write false) or writing. */
bool dash_rbac_allows(const json_t *perms, const char *section, bool write);

/**
 * The permissions that apply to @user: its group's (a group of @user's own org) when it is in
 * one, else its own. New reference (NULL when the user has none).
 */
json_t *dash_rbac_effective(dash_req_t *req, const json_t *user);

/**
 * True when a holder of @caller may hand out @wanted: an admin may hand out anything; anyone
 * else only sections at no higher a level than its own, and never admin rights.
 */
bool dash_rbac_within(const json_t *caller, const json_t *wanted);

/**
 * Checks that @perms is a user_permissions object whose values are "read", "write", "deny" or
 * "admin"; stages a 400 naming the first bad entry and returns false otherwise. NULL passes.
 */
bool dash_rbac_check_object(dash_req_t *req, const json_t *perms);

/** Stages Tyk's 403 for a refused section: "access denied: You do not have permission to
 *  access  <path>" (two spaces, as Tyk Dashboard prints it). */
void dash_rbac_deny(dash_req_t *req);

#endif
