/* SPDX-License-Identifier: Apache-2.0 */
/* Every REST resource's route table (one api/dash_api_*.c file each), and the list of them. */
#ifndef DASH_ROUTES_H
#define DASH_ROUTES_H

#include "dash_server.h"

/* Each table ends with an entry whose pattern is NULL. Keep one line per file. */
extern const dash_route_t dash_routes_health[];
extern const dash_route_t dash_routes_admin_orgs[];
extern const dash_route_t dash_routes_admin_users[];
extern const dash_route_t dash_routes_admin_system[];
extern const dash_route_t dash_routes_user_actions[];
extern const dash_route_t dash_routes_users[];
extern const dash_route_t dash_routes_user_groups[];
extern const dash_route_t dash_routes_sso[];
extern const dash_route_t dash_routes_audit[];
extern const dash_route_t dash_routes_system[];
extern const dash_route_t dash_routes_admin_import[];
extern const dash_route_t dash_routes_apis[];
extern const dash_route_t dash_routes_apis_oas[];
extern const dash_route_t dash_routes_policies[];
extern const dash_route_t dash_routes_usage[];
extern const dash_route_t dash_routes_activity[];
extern const dash_route_t dash_routes_logs[];
extern const dash_route_t dash_routes_keys[];
extern const dash_route_t dash_routes_oauth_clients[];
extern const dash_route_t dash_routes_certs[];
extern const dash_route_t dash_routes_hooks[];

/* NULL-terminated list of the tables above. */
extern const dash_route_t *const dash_route_tables[];

#endif
