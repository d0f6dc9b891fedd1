/* SPDX-License-Identifier: Apache-2.0 */
/* Purging lapsed OAuth tokens from the clients' token sets (gw_oauth_purge.h). */
#include "gw_oauth_purge.h"

#include "gw_handlers.h"
#include "gw_pipeline.h"
#include "gw_redis_scan.h"

#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_SETS "oauth-data.*oauth-client-tokens.*"

/* One SCAN batch: ARGV[1] the cutoff score, then the keys. A key of another type under that
 * name is left alone rather than failing the whole purge. */
static const char trim_lua[] =
    "local n = 0\n"
    "for i = 2, #ARGV do\n"
    "  if redis.call('TYPE', ARGV[i]).ok == 'zset' then\n"
    "    n = n + redis.call('ZREMRANGEBYSCORE', ARGV[i], '-inf', ARGV[1])\n"
    "  end\n"
    "end\n"
    "return n\n";

const char gw_oauth_lua_live_tokens[] =
    "local k, now, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local live = redis.call('ZRANGEBYSCORE', k, now, '+inf', 'WITHSCORES')\n"
    "if keep > 0 then redis.call('ZREMRANGEBYSCORE', k, '-inf', now - keep) end\n"
    "return live\n";

/* Starts a purge of the entries scored at or below @cutoff, a SCAN batch at a time (Tyk scans for
 * every client token set and trims each at the cutoff); @done is called once, unless this returns
 * TK_ERROR (nothing could be sent). */
static int purge_start(tk_redis_t *r, int64_t cutoff,
                       void (*done)(bool ok, long long removed, void *arg), void *arg)
{
    char at[32];
    snprintf(at, sizeof(at), "%lld", (long long)cutoff);
    const char *const eval[] = {"EVAL", trim_lua, "0", at};
    return gw_redis_scan_each(r, TOKEN_SETS, eval, 4, done, arg);
}

static void on_notice_purged(bool ok, long long removed, void *arg)
{
    TK_UNUSED(arg);
    if (!ok)
        tk_log_error("error while purging tokens for event OAuthPurgeLapsedTokens");
    else
        tk_log_info("oauth: %lld lapsed token(s) purged", removed);
}

void gw_oauth_purge_notice(tk_redis_t *r, const gw_conf_t *conf)
{
    int64_t keep = conf->oauth_token_expired_retain_period;
    if (keep <= 0)
        return;
    if (purge_start(r, (int64_t)time(NULL) - keep, on_notice_purged, NULL) != TK_OK)
        tk_log_error("error while purging tokens for event OAuthPurgeLapsedTokens: Redis "
                     "unavailable");
}

typedef struct pctx {
    gw_wait_t *t;
} pctx_t;

static void on_purged(bool ok, long long removed, void *arg)
{
    pctx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    free(c);
    if (!ok)
        tk_log_error("oauth: purging lapsed tokens failed");
    else
        tk_log_info("oauth: %lld lapsed token(s) purged", removed);
    if (!req)
        return;
    if (!ok)
        gw_ctl_error(req, 500, "error purging lapsed tokens");
    else
        gw_ctl_status(req, 200, "ok", "lapsed tokens purged");
}

void gw_control_oauth_tokens(gw_req_t *req)
{
    if (!gw_ctl_method(req, "DELETE")) {
        gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    const char *scope = gw_req_query(req, "scope");
    if (!scope) {
        gw_ctl_error(req, 422, "scope parameter is required");
        return;
    }
    if (strcmp(scope, "lapsed") != 0) {
        gw_ctl_error(req, 400, "unknown scope");
        return;
    }
    int64_t keep = req->conn->w->srv->conf->oauth_token_expired_retain_period;
    if (keep <= 0) { /* nothing can be lapsed */
        gw_ctl_status(req, 200, "ok", "lapsed tokens purged");
        return;
    }
    pctx_t *c = tk_xcalloc(1, sizeof(*c));
    c->t = gw_wait_begin(req);
    if (purge_start(req->conn->w->redis, (int64_t)time(NULL) - keep, on_purged, c) != TK_OK) {
        gw_wait_end(c->t);
        free(c);
        gw_ctl_error(req, 500, "error purging lapsed tokens");
    }
}
