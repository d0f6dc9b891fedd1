/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lapsed OAuth tokens (Tyk's purgeLapsedOAuthTokens, oAuthTokensHandler and the
 * OAuthPurgeLapsedTokens cluster notification). Every OAuth API keeps, per client, a sorted set
 * oauth-data.<api>.oauth-client-tokens.<client> of hashed tokens scored by their expiry (spec
 * §7.2); expired entries stay there until purged. A token is lapsed once it has been expired for
 * longer than tyk.conf oauth_token_expired_retain_period; purging removes those entries from every
 * such set. With no retain period (0, the default) nothing is lapsed and a purge removes nothing,
 * as in Tyk. The client's token listing shows live tokens only and, with a retain period, drops
 * the lapsed entries of that client on the way (Tyk's GetClientTokens).
 */
#ifndef GW_OAUTH_PURGE_H
#define GW_OAUTH_PURGE_H

#include "gw_http.h"

/** DELETE /tyk/oauth/tokens?scope=lapsed: 200 "lapsed tokens purged"; 422 "scope parameter is
 *  required"; 400 "unknown scope"; 500 "error purging lapsed tokens" when Redis fails. */
void gw_control_oauth_tokens(gw_req_t *req);

/** The OAuthPurgeLapsedTokens notification: purge on @r (the control thread's connection),
 *  logging a failure. */
void gw_oauth_purge_notice(tk_redis_t *r, const gw_conf_t *conf);

/*
 * EVAL script, no KEYS. ARGV: the client's token set key, now (unix seconds), retain period
 * (seconds, 0 for none). Returns the live entries as ZRANGEBYSCORE ... WITHSCORES does, after
 * removing the lapsed ones when a retain period is set.
 */
extern const char gw_oauth_lua_live_tokens[];

#endif
