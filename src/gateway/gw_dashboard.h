/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dashboard mode (use_db_app_configs, policies.policy_source "service"): this gateway registers
 * with the Dashboard as a node, sends a heartbeat every 2 s carrying the one-time nonce chain,
 * and takes its API definitions (GET /system/apis) and policies (GET /system/policies) from it
 * at every reload instead of from app_path / policy_path.
 *
 * Registration and the heartbeat run on a thread of their own (they may wait on the network).
 * The lists are fetched on the control thread while it builds a generation, blocking it for at
 * most db_app_conf_options.connection_timeout seconds (default 30, connect 5); worker threads
 * never wait on the Dashboard. When a fetch fails (Dashboard down, refused, garbage) the last
 * lists that loaded are used again, so a reload never drops the gateway to zero APIs; before the
 * first successful fetch the gateway serves no API and /hello reports the Dashboard as failing.
 */
#ifndef GW_DASHBOARD_H
#define GW_DASHBOARD_H

#include "gw_policy.h"
#include "gw_server.h"

/** True when API definitions come from the Dashboard (use_db_app_configs). */
bool gw_dashboard_serves_apis(const gw_conf_t *conf);
/** True when policies come from the Dashboard (policies.policy_source "service"). */
bool gw_dashboard_serves_policies(const gw_conf_t *conf);

/** Starts registration and the heartbeat when the config asks for the Dashboard (no-op else).
 *  Every successful (re)registration requests a reload. Control thread. */
void gw_dashboard_start(gw_server_t *srv);
/** Stops the heartbeat and deregisters the node (DELETE /system/node). */
void gw_dashboard_stop(void);

/**
 * The classic API definitions this node serves (a new JSON array): the Dashboard's list filtered
 * by segment tags when db_app_conf_options.node_is_segmented. Falls back to the last list that
 * loaded (empty before the first) when the Dashboard cannot be asked; that is logged.
 */
json_t *gw_dashboard_apis(void);
/** Adds the Dashboard's policies to @set (the last good list when it cannot be asked). */
void gw_dashboard_load_policies(gw_policies_t *set, tk_conf_errors_t *errs);

/** For /hello: -1 not in dashboard mode, 1 the last call to the Dashboard worked, 0 it did not. */
int gw_dashboard_health(void);

#endif
