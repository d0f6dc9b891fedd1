/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote JSON Web Key Sets for token authenticators (JWT jwt_source / jwt_jwks_uris, OpenID
 * Connect issuers). Each worker keeps its own copy of every set, fetched asynchronously with
 * tk_httpc, kept for a TTL, and refetched when a kid is unknown (at most once per
 * GW_JWKS_REFETCH_MIN_MS per source). A source is either a JWKS URL or an OIDC issuer, whose
 * jwks_uri comes from its discovery document (cached with the same TTL).
 * Only the worker that owns a copy touches it, so nothing here locks.
 */
#ifndef GW_JWKS_CACHE_H
#define GW_JWKS_CACHE_H

#include "gw_http.h"

#include <jansson.h>

#define GW_JWKS_DEFAULT_TTL_S 240   /* Tyk's JWKCache default expiration */
#define GW_JWKS_REFETCH_MIN_MS 5000 /* unknown kid: at most one refetch per source this often */

typedef struct gw_jwks_cache gw_jwks_cache_t;

/**
 * A parked request's continuation: the download it waited for ended and the request is still
 * there; it looks its key up again. Returns TK_OK / TK_ERROR (the cache resumes the pipeline
 * with it) or TK_AGAIN (the function parked or suspended the request again).
 */
typedef int (*gw_jwks_retry_fn)(gw_req_t *req, void *arg);
/** Releases @arg of a parked request that went away (or of a cache being freed). */
typedef void (*gw_jwks_drop_fn)(void *arg);

/** An empty cache; @who names the authenticator in logs ("jwt", "openid"). */
gw_jwks_cache_t *gw_jwks_cache_new(const gw_conf_t *conf, const char *who);
/** Adds a JWKS URL kept for @ttl_s seconds (0 = GW_JWKS_DEFAULT_TTL_S). */
void gw_jwks_cache_add_url(gw_jwks_cache_t *c, const char *url, uint64_t ttl_s);
/** Adds an OIDC issuer: <issuer>/.well-known/openid-configuration names the JWKS URL. */
void gw_jwks_cache_add_issuer(gw_jwks_cache_t *c, const char *issuer, uint64_t ttl_s);
/** Number of sources added. */
size_t gw_jwks_cache_size(const gw_jwks_cache_t *c);
/** Frees the cache; parked requests are dropped. Downloads hold the generation, so none runs. */
void gw_jwks_cache_free(gw_jwks_cache_t *c);

/**
 * The JWK whose kid is @kid in this worker's sets (borrowed until control returns to the event
 * loop). When there is none, downloads start for sets that are missing, expired or (rate
 * limited) lack @kid; *@wait then tells that one is running and the caller should park the
 * request with gw_jwks_cache_park(). With no download possible, an expired set is used.
 */
const json_t *gw_jwks_cache_find(gw_jwks_cache_t *c, gw_req_t *req, const char *kid, bool *wait);

/**
 * A key this cache gave did not verify the token (the issuer may have replaced it under the
 * same kid): refetches this worker's sets, rate limited as for an unknown kid. True when a
 * download runs; park the request then.
 */
bool gw_jwks_cache_refresh(gw_jwks_cache_t *c, gw_req_t *req);

/** Suspends @req until the running download of its worker ends; then @retry or @drop runs. */
void gw_jwks_cache_park(gw_jwks_cache_t *c, gw_req_t *req, gw_jwks_retry_fn retry,
                        gw_jwks_drop_fn drop, void *arg);

#endif
