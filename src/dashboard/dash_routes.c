/* SPDX-License-Identifier: Apache-2.0 */
/* The list of route tables the server searches. Keep one line per file. */
#include "dash_routes.h"

/* One table per line, so that each resource owns its line. */
/* clang-format off */
const dash_route_t *const dash_route_tables[] = {
    dash_routes_health,
    dash_routes_admin_orgs,
    dash_routes_admin_users,
    dash_routes_admin_import,
    dash_routes_admin_system,
    dash_routes_user_actions,
    dash_routes_users,
    dash_routes_user_groups,
    dash_routes_sso,
    dash_routes_audit,
    dash_routes_system,
    dash_routes_apis,
    dash_routes_apis_oas,
    dash_routes_policies,
    dash_routes_usage,
    dash_routes_activity,
    dash_routes_logs,
    dash_routes_keys,
    dash_routes_oauth_clients,
    dash_routes_certs,
    dash_routes_hooks,
    NULL,
};
/* clang-format on */
