/* SPDX-License-Identifier: Apache-2.0 */
/* Runs one command over every key matching a pattern, a SCAN batch at a time (cache purges,
 * lapsed OAuth tokens). */
#ifndef GW_REDIS_SCAN_H
#define GW_REDIS_SCAN_H

#include "tk_redis.h"

/**
 * SCANs @pattern (COUNT 1000) and, for each non-empty batch, sends @prefix (@nprefix words, e.g.
 * {"DEL"} or {"EVAL", script, "0", arg}) followed by the batch's keys, waiting for its integer
 * reply before the next SCAN: Redis is never held for the whole keyspace, and when @done is
 * called with ok every batch's command has run. @total is the sum of the integer replies.
 * @done is called exactly once, unless this returns TK_ERROR (nothing could be sent).
 */
int gw_redis_scan_each(tk_redis_t *r, const char *pattern, const char *const *prefix,
                       size_t nprefix, void (*done)(bool ok, long long total, void *arg),
                       void *arg);

#endif
