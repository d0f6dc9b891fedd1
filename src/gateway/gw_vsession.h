/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Virtual sessions of token authenticators (JWT centralised mode, OpenID Connect): Tyk derives
 * a session ID from the token's claims (generateToken(org, md5 hex of the identity)), keeps
 * the session in Redis like any key (apikey-<hash>), and builds it from a policy the first
 * time. These helpers do the lookup, the creation and the write-back for both middlewares.
 */
#ifndef GW_VSESSION_H
#define GW_VSESSION_H

#include "gw_http.h"
#include "gw_policy.h"

#include "tk_hash.h"

#define GW_VSESSION_HASH_MAX (TK_HASH_HEX_MAX + 512)

/** Lower-case hex MD5 of @s into @out (33 bytes with the NUL). */
void gw_md5_hex(const char *s, char out[33]);

/**
 * The session ID Tyk generates for @key_id under the API's org (hash_key_function's algorithm)
 * and, in @hash, the name part of its Redis key (hash_keys). Returns the malloc'd ID, or NULL
 * when it cannot be hashed.
 */
char *gw_vsession_id(gw_req_t *req, const char *key_id, char hash[GW_VSESSION_HASH_MAX]);

/** A private copy of the worker's cached session for @hash, or NULL. */
gw_sref_t *gw_vsession_cached(gw_req_t *req, const char *hash);

/**
 * The end of gw_vsession_fetch: @sr is a new private session (filled when @exists). Returns
 * TK_OK / TK_ERROR (the pipeline resumes with it) or TK_AGAIN. @sr is the callee's.
 */
typedef int (*gw_vsession_done_fn)(gw_req_t *req, gw_sref_t *sr, bool exists, void *arg);

/**
 * Reads apikey-<@hash> from Redis, then runs @done (an unreadable session counts as absent),
 * or @drop when the request went away. Returns TK_AGAIN, or TK_ERROR (503, @drop ran) when
 * Redis cannot be asked; a failed reply also answers 503.
 */
int gw_vsession_fetch(gw_req_t *req, const char *hash, gw_vsession_done_fn done,
                      void (*drop)(void *), void *arg);

/** Writes @s as apikey-<@hash> with Tyk's session lifetime, without waiting for Redis. */
void gw_vsession_store(gw_req_t *req, const gw_session_t *s, const char *hash);

/** Puts @sr (one more reference) into the worker's session cache. */
void gw_vsession_cache(gw_req_t *req, gw_sref_t *sr, const char *hash);

/**
 * Tyk's generateSessionFromPolicy for a new virtual session: @ids[0] must be a policy of @org
 * (else TK_DECLINED); @s gets the org, the policies, key_expires_in and the policies' merge.
 * TK_ERROR with a malloc'd *@err when the merge fails.
 */
int gw_vsession_from_policy(gw_session_t *s, const gw_policies_t *set, const gw_strv_t *ids,
                            const char *org, char **err);

/** Replaces @s's policies with @ids (apply_policy_id cleared). */
void gw_vsession_set_policies(gw_session_t *s, const gw_strv_t *ids);

/**
 * Tyk's getScopeFromClaim: the claim @claim of @claims by nested path (split on '.'); a string
 * is split on spaces, arrays are flattened (their strings kept whole). Appends to @out.
 */
void gw_claim_scopes(const json_t *claims, const char *claim, gw_strv_t *out);

/** Tyk's mapScopeToPolicies: the policy IDs @map (scope → policy) names for @scopes, each
 *  once, in first-seen order, appended to @out. */
void gw_scopes_to_policies(const json_t *map, const gw_strv_t *scopes, gw_strv_t *out);

#endif
