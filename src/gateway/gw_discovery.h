/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Service discovery (proxy.service_discovery, Tyk's gateway/service_discovery.go): the control
 * thread GETs each API's query_endpoint, reads the hosts out of the answer
 * (gw_discovery_parse.h) and publishes them as an immutable target list. Workers never wait on
 * the discovery call: they read the current list through an atomic pointer, bracketed by a
 * reader count that tells the control thread when a replaced list can be freed.
 *
 * The list is fetched again every cache_timeout seconds (service_discovery.default_cache_timeout
 * from tyk.conf when unset or cache_disabled, 120 s when neither is set) and as soon as an
 * upstream of the API fails. An answer that cannot be read or a discovery endpoint that is down
 * keeps the last good list (logged once per outage); with no list yet requests go to
 * proxy.target_url, as Tyk falls back to it when the lookup fails. An answer with no hosts and no
 * earlier list is Tyk's 503 "all hosts are down".
 */
#ifndef GW_DISCOVERY_H
#define GW_DISCOVERY_H

#include "gw_server.h"

typedef struct gw_sd_slot gw_sd_slot_t;

/**
 * Links every API of @g that uses service discovery to its list (kept across reloads while the
 * API's service_discovery block stays the same). Call before @g reaches the workers.
 */
void gw_discovery_attach(gw_gen_t *g, const gw_conf_t *conf);

/** Starts fetching on @base (the control thread's loop). */
void gw_discovery_start(gw_server_t *srv, struct event_base *base);

/** Cancels fetches and frees every list; the workers must have stopped. */
void gw_discovery_stop(void);

/**
 * Worker side, for an API with service discovery: sets req->target (a copy in the request
 * arena) and returns 1; returns 0 when there is no discovered list yet (the caller uses the
 * configured target); returns -1 after answering the request (no hosts, or all hosts down).
 * Round-robin when enable_load_balancing, skipping hosts the uptime tests marked down when
 * check_host_against_uptime_tests; otherwise the first host.
 */
int gw_discovery_pick(gw_req_t *req);

/** Worker side: an upstream of @api failed; its list is fetched again now. Any thread. */
void gw_discovery_upstream_failed(const gw_api_t *api);

#endif
