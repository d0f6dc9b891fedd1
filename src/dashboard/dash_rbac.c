/* SPDX-License-Identifier: Apache-2.0 */
/* Permission checks over a user_permissions map. */
#include "dash_rbac.h"

#include <string.h>
#include <strings.h>

bool dash_rbac_is_admin(const json_t *perms)
{
    if (!json_is_object(perms) || json_object_size(perms) == 0)
        return true;
    const char *v = json_string_value(json_object_get(perms, "IsAdmin"));
    return v && (strcasecmp(v, "admin") == 0 || strcasecmp(v, "true") == 0);
}

bool dash_rbac_allows(const json_t *perms, const char *section, bool write)
{
    if (dash_rbac_is_admin(perms))
        return true;
    const char *v = json_string_value(json_object_get(perms, section));
    if (!v)
        return false;
    if (strcmp(v, "write") == 0)
        return true;
    return !write && strcmp(v, "read") == 0;
}
