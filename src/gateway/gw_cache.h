/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The response cache's Redis side, shared by the RedisCache middleware (mw/mw_redis_cache.c),
 * the control API (DELETE /tyk/cache/{api_id}) and the control thread (the DeleteAPICache
 * notification). Entries live under "cache-<api_id>..." in the cache store: tyk.conf's
 * cache_storage when enable_separate_cache_store is set, else the main storage. The value is
 * Tyk's: base64(raw HTTP/1.1 response) + "|" + unix expiry, so Tyk and Turnpike gateways on one
 * Redis serve each other's entries.
 */
#ifndef GW_CACHE_H
#define GW_CACHE_H

#include "gw_http.h"

#define GW_CACHE_NOTIFY_COMMAND "DeleteAPICache"

/** Redis options for the cache store (cache_storage when separate, else storage). */
void gw_cache_redis_opts(const gw_conf_t *conf, tk_redis_opts_t *ro);

/** True when tyk.conf asks for a separate cache store (its own connections). */
bool gw_cache_store_separate(const gw_conf_t *conf);

/** The connection a worker uses for cache entries. */
tk_redis_t *gw_cache_redis(const gw_worker_t *w);

/**
 * Deletes every "cache-<api_id>*" key (SCAN + DEL, glob characters of @api_id escaped).
 * @done (may be NULL) gets true once the scan is complete, false if Redis failed on the way.
 * Returns TK_ERROR (and @done is not called) when the command cannot be sent at all.
 */
int gw_cache_purge(tk_redis_t *r, const char *api_id, void (*done)(bool ok, void *arg), void *arg);

/** Control API: "/cache/..." after "/tyk" (DELETE /tyk/cache/{api_id}). */
void gw_control_cache(gw_req_t *req, const char *rest);

#endif
