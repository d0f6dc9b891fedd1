/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Uptime tests (Tyk's host checker) on the control thread: every API's uptime_tests.check_list
 * is probed each `uptime_tests.config.time_wait` seconds (HTTP through tk_httpc, TCP/TLS by
 * connecting and running send/expect commands). failure_trigger_sample_size failures mark a
 * host down (Redis key host-checker:PollerCheckerInstance:<host>, a flag workers read without
 * locks); each check becomes an UptimeReportData record RPUSHed to
 * host-checker:tyk-uptime-analytics when enable_uptime_analytics is on. One gateway per
 * poller_group polls (leader key host-checker:PollerActiveInstanceID[.<group>]); the others
 * follow the down markers it writes.
 */
#ifndef GW_UPTIME_H
#define GW_UPTIME_H

#include "gw_server.h"

typedef struct gw_uptime gw_uptime_t;

/** Starts the checker on @base (the control thread's loop). NULL when uptime_tests.disable. */
gw_uptime_t *gw_uptime_new(gw_server_t *srv, struct event_base *base);

/** Rebuilds the check list from @g (takes its own reference); sample counts carry over by URL. */
void gw_uptime_set_gen(gw_uptime_t *u, gw_gen_t *g);

/** Cancels every check in flight, pushes queued records, frees everything. NULL is accepted. */
void gw_uptime_free(gw_uptime_t *u);

/**
 * True when the uptime tests have marked @hostport ("host[:port]" as written in the URL) down.
 * Any thread, no locks; false for hosts no test covers.
 */
bool gw_uptime_host_down(const char *hostport, size_t len);

#endif
