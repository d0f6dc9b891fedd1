/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk Dashboard's user permissions: a map section -> "read" | "write"; empty or IsAdmin means
 * admin; a user in a group takes the group's permissions. */
#ifndef DASH_RBAC_H
#define DASH_RBAC_H

#include "tk_common.h"

#include <jansson.h>

/** True when @perms (a user_permissions object, may be NULL) make its holder an admin. */
bool dash_rbac_is_admin(const json_t *perms);

/** True when @perms allow @section for reading (@write false) or writing. */
bool dash_rbac_allows(const json_t *perms, const char *section, bool write);

#endif
