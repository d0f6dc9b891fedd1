/* SPDX-License-Identifier: Apache-2.0 */
/* Purging lapsed OAuth tokens from the clients' token sets (gw_oauth_purge.h). */
#include "gw_oauth_purge.h"

#include "gw_handlers.h"
#include "gw_pipeline.h"

#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCAN_COUNT "1000"
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

/*
 * Tyk scans for every client token set and trims each at the cutoff. The SCAN runs from here, a
 * batch at a time, so Redis is never held for the whole keyspace; the next SCAN waits for the
 * batch's trim, so "done" means every lapsed entry seen is gone.
 */
typedef struct purge {
    char cursor[32];
    char cutoff[32];
    long long removed;
    void (*done)(bool ok, long long removed, void *arg);
    void *arg;
} purge_t;

static void on_scan(tk_redis_t *r, redisReply *reply, void *arg);

static void purge_end(purge_t *p, bool ok)
{
    p->done(ok, p->removed, p->arg);
    free(p);
}

static void purge_next(tk_redis_t *r, purge_t *p)
{
    if (strcmp(p->cursor, "0") == 0) {
        purge_end(p, true);
        return;
    }
    const char *argv[] = {"SCAN", p->cursor, "MATCH", TOKEN_SETS, "COUNT", SCAN_COUNT};
    if (tk_redis_cmd_argv(r, on_scan, p, 6, argv, NULL) != TK_OK)
        purge_end(p, false);
}

static void on_trimmed(tk_redis_t *r, redisReply *reply, void *arg)
{
    purge_t *p = arg;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            tk_log_error("oauth: trimming token sets failed: %s", reply->str);
        purge_end(p, false);
        return;
    }
    p->removed += reply->integer;
    purge_next(r, p);
}

static void on_scan(tk_redis_t *r, redisReply *reply, void *arg)
{
    purge_t *p = arg;
    if (!gw_redis_is_scan_reply(reply) || reply->element[0]->len >= sizeof(p->cursor)) {
        purge_end(p, false);
        return;
    }
    memcpy(p->cursor, reply->element[0]->str, reply->element[0]->len + 1);
    redisReply *keys = reply->element[1];
    if (!keys->elements) {
        purge_next(r, p);
        return;
    }
    size_t n = keys->elements + 4;
    const char **argv = tk_xcalloc(n, sizeof(*argv));
    size_t *lens = tk_xcalloc(n, sizeof(*lens));
    argv[0] = "EVAL";
    argv[1] = trim_lua;
    argv[2] = "0";
    argv[3] = p->cutoff;
    for (size_t i = 0; i < 4; i++)
        lens[i] = strlen(argv[i]);
    for (size_t i = 0; i < keys->elements; i++) {
        argv[i + 4] = keys->element[i]->str ? keys->element[i]->str : "";
        lens[i + 4] = keys->element[i]->str ? keys->element[i]->len : 0;
    }
    int rc = tk_redis_cmd_argv(r, on_trimmed, p, (int)n, argv, lens);
    free(argv);
    free(lens);
    if (rc != TK_OK)
        purge_end(p, false);
}

/* Starts a purge of the entries scored at or below @cutoff; @done is called once, unless this
 * returns TK_ERROR (nothing could be sent). */
static int purge_start(tk_redis_t *r, int64_t cutoff,
                       void (*done)(bool ok, long long removed, void *arg), void *arg)
{
    purge_t *p = tk_xcalloc(1, sizeof(*p));
    snprintf(p->cutoff, sizeof(p->cutoff), "%lld", (long long)cutoff);
    p->done = done;
    p->arg = arg;
    const char *argv[] = {"SCAN", "0", "MATCH", TOKEN_SETS, "COUNT", SCAN_COUNT};
    if (tk_redis_cmd_argv(r, on_scan, p, 6, argv, NULL) != TK_OK) {
        free(p);
        return TK_ERROR;
    }
    return TK_OK;
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
