/* SPDX-License-Identifier: Apache-2.0 */
/* The control thread's entry points: reloads, Redis watch and pub/sub, signals, shutdown. */
#ifndef GW_CONTROL_THREAD_H
#define GW_CONTROL_THREAD_H

#include "gw_server.h"

/** Builds a generation from the current config and logs every skipped file. */
gw_gen_t *gw_build_generation(gw_server_t *srv, uint64_t seq);

/** Creates the control event base and the cross-thread events (before workers start). */
void gw_control_init(gw_server_t *srv);

/** Runs the control loop on srv->control_base until shutdown completes. */
int gw_control_run(gw_server_t *srv);

#endif
