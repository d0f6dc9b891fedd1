/* SPDX-License-Identifier: Apache-2.0 */
/* The pump's HTTP endpoints: Tyk's health check and Turnpike's JSON counters. */
#ifndef PUMP_HEALTH_H
#define PUMP_HEALTH_H

#include "tk_common.h"

#include <event2/event.h>
#include <jansson.h>

typedef json_t *(*pump_stats_fn)(void *arg);

typedef struct pump_health pump_health_t;

/**
 * Serves GET /<health_name> -> 200 {"status": "ok"} (Tyk Pump's body) and GET /<stats_name> ->
 * 200 with the JSON @stats returns, on all interfaces at @port, from @base's thread.
 * NULL + @err when the port cannot be bound.
 */
pump_health_t *pump_health_start(struct event_base *base, int port, const char *health_name,
                                 const char *stats_name, pump_stats_fn stats, void *arg, char *err,
                                 size_t errlen);
void pump_health_free(pump_health_t *h);

#endif
