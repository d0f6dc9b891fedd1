/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OAuth clients in Redis, laid out exactly as Tyk's osin storage keeps them (spec §7.2), so
 * clients and tokens written by Tyk keep working. Everything lives under the per-API prefix
 * "oauth-data.<api_id>.":
 *   oauth-clientid.<id>                  client JSON {id,secret,redirecturi,meta_data?,policyid,
 *                                        description}, no TTL
 *   oauth-client-index.<org>             LIST of "oauth-clientid.<id>" (the listing index)
 *   oauth-clientset.oauth-clientid.      SET of client JSON texts (Tyk's "org" set is literally
 *                                        named after the client prefix)
 *   oauth-client-tokens.<id>             ZSET member HashKey(access token), score = expiry
 *   oauth-access.<HashKey(token)>        osin AccessData JSON, TTL expires_in
 * The multi-step writes run as one Lua script each, so a failure never leaves half a client.
 */
#ifndef GW_OAUTH_STORE_H
#define GW_OAUTH_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define GW_OAUTH_CLIENT_PREFIX "oauth-clientid."

/** One OAuth client (Tyk's OAuthClient). Strings are malloc'd, never NULL once decoded. */
typedef struct gw_oauth_client {
    char *id;
    char *secret;
    char *redirect_uri;
    char *policy_id;
    char *description;
    json_t *meta_data; /* any JSON value, or NULL (omitted in storage) */
} gw_oauth_client_t;

/** "oauth-data.<api_id>." + @rest, malloc'd. */
char *gw_oauth_key(const char *api_id, const char *rest);

/** Releases what @c owns and zeroes it. */
void gw_oauth_client_free(gw_oauth_client_t *c);

/** The stored form, compact, fields in Tyk's order; malloc'd. */
char *gw_oauth_client_dumps(const gw_oauth_client_t *c);

/** Decodes the stored form; false when @text is not a JSON object of the right types. */
bool gw_oauth_client_loads(const char *text, size_t len, gw_oauth_client_t *c);

/**
 * The control API form (Tyk's NewClientRequest): {client_id, redirect_uri, policy_id (omitted
 * when empty), secret, meta_data (null when absent), description}. New reference.
 */
json_t *gw_oauth_client_reply(const gw_oauth_client_t *c);

/** A new client secret as Tyk makes them: base64 of a dashed UUID string; malloc'd. */
char *gw_oauth_secret_new(void);

/*
 * EVAL scripts and their ARGV (no KEYS; the gateway does not run against Redis Cluster here).
 * SET_CLIENT: prefix, "oauth-clientid.<id>", client JSON, org, client id. Tyk's SetClient.
 * DELETE_CLIENT: prefix, "oauth-clientid.<id>", org. Tyk's DeleteClient (which also deletes
 *   "oauth-client-tokens.oauth-clientid.<id>", not the client's real token list).
 * LIST_CLIENTS: prefix, org -> array of client JSON texts ("" for a vanished one). Tyk's
 *   GetClients: reads the index, or builds it by scanning when it does not exist yet.
 * DROP_TOKENS: prefix, client id, now, hash_keys ("1"/"0"). Tyk's invalidateTokens: each live
 *   token of the client has its oauth-access entry and apikey session removed. The ZSET holds
 *   hashed tokens that Tyk hashes again, so with hash_keys this removes nothing, as in Tyk.
 */
extern const char gw_oauth_lua_set_client[];
extern const char gw_oauth_lua_delete_client[];
extern const char gw_oauth_lua_list_clients[];
extern const char gw_oauth_lua_drop_tokens[];

#endif
