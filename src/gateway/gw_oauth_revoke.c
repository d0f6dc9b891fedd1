/* SPDX-License-Identifier: Apache-2.0 */
/* Revoking OAuth tokens (gw_oauth_revoke.h). */
#include "gw_oauth_revoke.h"

#include "gw_gen.h"
#include "gw_handlers.h"
#include "gw_oauth_store.h"
#include "gw_oauth_token.h"
#include "gw_pipeline.h"

#include "tk_hash.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Each live token of a client (ZSET members are HashKey(token), which is also how Tyk's
 * LoadAccess falls back to finding the access record): the access record, the session, the
 * client token list entry and the refresh token go. Returns the hashes removed, for the session
 * caches. */
static const char revoke_all_lua[] =
    "local p = ARGV[1]\n"
    "local set = p .. 'oauth-client-tokens.' .. ARGV[2]\n"
    "local toks = redis.call('ZRANGEBYSCORE', set, ARGV[3], '+inf')\n"
    "local gone = {}\n"
    "for _, h in ipairs(toks) do\n"
    "  local rec = redis.call('GET', p .. 'oauth-access.' .. h)\n"
    "  if rec then\n"
    "    local ok, ad = pcall(cjson.decode, rec)\n"
    "    if ok and type(ad) == 'table' then\n"
    "      redis.call('DEL', p .. 'oauth-access.' .. h, 'apikey-' .. h)\n"
    "      redis.call('ZREM', set, h)\n"
    "      if type(ad.RefreshToken) == 'string' and ad.RefreshToken ~= '' then\n"
    "        redis.call('DEL', p .. 'oauth-refresh.' .. ad.RefreshToken)\n"
    "      end\n"
    "      gone[#gone + 1] = h\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return gone\n";

/* Tyk's RevokeToken: ARGV prefix, HashKey(token) or "" (the access side is kept), the refresh
 * token or "". The access record names its client; that client's token list loses the entry, as
 * Tyk's RemoveAccess does (Tyk removes every entry with the token's expiry score, so other tokens
 * expiring in the same second vanish from the listing too; only this token's entry goes here). */
static const char revoke_lua[] =
    "local p, h = ARGV[1], ARGV[2]\n"
    "if h ~= '' then\n"
    "  local rec = redis.call('GET', p .. 'oauth-access.' .. h)\n"
    "  if rec then\n"
    "    local ok, ad = pcall(cjson.decode, rec)\n"
    "    if ok and type(ad) == 'table' and type(ad.Client) == 'table' and\n"
    "       type(ad.Client.id) == 'string' then\n"
    "      redis.call('ZREM', p .. 'oauth-client-tokens.' .. ad.Client.id, h)\n"
    "    end\n"
    "  end\n"
    "  redis.call('DEL', p .. 'oauth-access.' .. h, 'apikey-' .. h)\n"
    "end\n"
    "if ARGV[3] ~= '' then redis.call('DEL', p .. 'oauth-refresh.' .. ARGV[3]) end\n"
    "return 1\n";

typedef struct rctx {
    gw_wait_t *t;
    char *hash;   /* revoke: the access token's hash whose session goes, or NULL */
    char *secret; /* revoke_all: the secret presented */
    char *client_id, *prefix;
} rctx_t;

static void rctx_free(rctx_t *c)
{
    free(c->hash);
    if (c->secret)
        OPENSSL_cleanse(c->secret, strlen(c->secret));
    free(c->secret);
    free(c->client_id);
    free(c->prefix);
    free(c);
}

static void status_only(gw_req_t *req, int status)
{
    gw_respond(req, status, NULL, "", 0, NULL);
}

static void on_revoked(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    rctx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    if (req && reply && reply->type != REDIS_REPLY_ERROR && c->hash)
        gw_oauth_forget_session(req, c->hash);
    if (req) /* Tyk ignores storage errors here */
        status_only(req, 200);
    rctx_free(c);
}

static void handle_revoke(gw_req_t *req)
{
    json_t *form = gw_oauth_post_form(req);
    if (!form) {
        status_only(req, 400);
        return;
    }
    const char *token = json_string_value(json_object_get(form, "token"));
    const char *hint = json_string_value(json_object_get(form, "token_type_hint"));
    token = token ? token : "";
    hint = hint ? hint : "";
    bool access = strcmp(hint, "refresh_token") != 0, refresh = strcmp(hint, "access_token") != 0;
    const gw_conf_t *conf = req->conn->w->srv->conf;
    char hb[TK_HASH_HEX_MAX + 512];
    if (!*token || tk_hash_key(token, strlen(token), conf->hash_keys, hb, sizeof(hb)) != TK_OK) {
        json_decref(form);
        status_only(req, 200); /* nothing to revoke */
        return;
    }
    rctx_t *c = tk_xcalloc(1, sizeof(*c));
    char *prefix = gw_oauth_key(req->api->api_id, "");
    const char *argv[6] = {"EVAL",
                           revoke_lua,
                           "0",
                           tk_arena_strdup(req->arena, prefix),
                           access ? tk_arena_strdup(req->arena, hb) : "",
                           refresh ? tk_arena_strdup(req->arena, token) : ""};
    if (access)
        c->hash = tk_xstrdup(hb);
    free(prefix);
    json_decref(form);
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_revoked, c, 6, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        rctx_free(c);
        status_only(req, 200);
    }
}

static void on_all_revoked(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    rctx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    if (req && reply && reply->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < reply->elements; i++)
            if (reply->element[i]->type == REDIS_REPLY_STRING)
                gw_oauth_forget_session(req, reply->element[i]->str);
    if (req)
        status_only(req, reply && reply->type == REDIS_REPLY_ARRAY ? 200 : 400);
    rctx_free(c);
}

static void on_client(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    rctx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    if (!req) {
        rctx_free(c);
        return;
    }
    gw_oauth_client_t cl = {0};
    if (!reply || reply->type != REDIS_REPLY_STRING ||
        !gw_oauth_client_loads(reply->str, reply->len, &cl)) {
        gw_oauth_client_free(&cl);
        rctx_free(c);
        status_only(req, 404);
        return;
    }
    size_t a = strlen(cl.secret), b = strlen(c->secret);
    bool ok = a == b && CRYPTO_memcmp(cl.secret, c->secret, a) == 0;
    gw_oauth_client_free(&cl);
    if (!ok) {
        rctx_free(c);
        status_only(req, 403);
        return;
    }
    const char *argv[6] = {
        "EVAL",    revoke_all_lua, "0",
        c->prefix, c->client_id,   tk_arena_printf(req->arena, "%lld", (long long)time(NULL))};
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_all_revoked, c, 6, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        rctx_free(c);
        status_only(req, 400);
    }
}

static void handle_revoke_all(gw_req_t *req)
{
    json_t *form = gw_oauth_post_form(req);
    if (!form) {
        status_only(req, 400);
        return;
    }
    const char *id = json_string_value(json_object_get(form, "client_id"));
    const char *secret = json_string_value(json_object_get(form, "client_secret"));
    if (!id || !*id || !secret || !*secret) {
        json_decref(form);
        status_only(req, 400);
        return;
    }
    rctx_t *c = tk_xcalloc(1, sizeof(*c));
    c->client_id = tk_xstrdup(id);
    c->secret = tk_xstrdup(secret);
    c->prefix = gw_oauth_key(req->api->api_id, "");
    json_decref(form);
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, "%s" GW_OAUTH_CLIENT_PREFIX "%s",
                                                  c->prefix, c->client_id)};
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_client, c, 2, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        rctx_free(c);
        status_only(req, 404);
    }
}

void (*gw_oauth_revoke_route(const gw_req_t *req))(gw_req_t *)
{
    /* Tyk's routes are exactly "/oauth/revoke" and "/oauth/revoke_all" under the listen path;
     * the path first, so other requests pay no definition lookup. */
    void (*route)(gw_req_t *) = gw_req_is_api_route(req, "oauth/revoke", false) ? handle_revoke
                                : gw_req_is_api_route(req, "oauth/revoke_all", false)
                                    ? handle_revoke_all
                                    : NULL;
    return route && json_is_true(json_object_get(req->api->def, "use_oauth2")) ? route : NULL;
}

/* ---- control API: DELETE /tyk/oauth/refresh/{token}?api_id= ---- */

typedef struct refctx {
    gw_wait_t *t;
    char *token;
} refctx_t;

static void refctx_free(void *p)
{
    refctx_t *c = p;
    free(c->token);
    free(c);
}

static void on_refresh_deleted(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    refctx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    if (req) {
        if (!reply || reply->type == REDIS_REPLY_ERROR) {
            gw_ctl_error(req, 500, "Failed to invalidate refresh token");
        } else {
            json_t *o =
                json_pack("{s:s,s:s,s:s}", "key", c->token, "status", "ok", "action", "deleted");
            gw_ctl_json(req, 200, o);
            json_decref(o);
        }
    }
    refctx_free(c);
}

void gw_control_oauth_refresh(gw_req_t *req, const char *token)
{
    if (!gw_ctl_method(req, "DELETE")) {
        status_only(req, 405); /* the route only matches DELETE */
        return;
    }
    const char *api_id = gw_req_query(req, "api_id");
    if (!api_id || !*api_id) {
        gw_ctl_error(req, 400, "Missing parameter api_id");
        return;
    }
    gw_api_t *api = gw_gen_find_api(req->gref->gen, api_id);
    if (!api) {
        gw_ctl_error(req, 404, "API for this refresh token not found");
        return;
    }
    if (!json_is_true(json_object_get(api->def, "use_oauth2"))) {
        gw_ctl_error(req, 400, "OAuth is not enabled on this API");
        return;
    }
    refctx_t *c = tk_xcalloc(1, sizeof(*c));
    c->token = tk_xstrdup(token);
    char *prefix = gw_oauth_key(api_id, "");
    const char *argv[2] = {"DEL", tk_arena_printf(req->arena, "%soauth-refresh.%s", prefix, token)};
    free(prefix);
    gw_ctl_redis_send(req, &c->t, c, refctx_free, on_refresh_deleted, 2, argv);
}
