/* SPDX-License-Identifier: Apache-2.0 */
/* Session lookup for authenticators: the per-worker cache, then Redis, then policies. */
#include "gw_mw_common.h"

#include "tk_hash.h"
#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_CANDIDATES 8
#define STORE_UNAVAILABLE "Session store unavailable, please retry"

bool gw_api_uses_auth_token(const gw_api_t *api)
{
    json_t *d = api->def;
    if (api->use_keyless)
        return false;
    if (json_is_true(json_object_get(d, "use_standard_auth")))
        return true;
    static const char *const others[] = {"use_basic_auth",
                                         "enable_jwt",
                                         "use_oauth2",
                                         "use_openid",
                                         "enable_signature_checking",
                                         "use_mutual_tls_auth",
                                         "custom_plugin_auth_enabled",
                                         "enable_coprocess_auth",
                                         "use_go_plugin_auth"};
    for (size_t i = 0; i < TK_ARRAY_LEN(others); i++)
        if (json_is_true(json_object_get(d, others[i])))
            return false;
    return true;
}

struct lookup {
    gw_wait_t *wait;
    int deny_status; /* unknown or rejected key */
    const char *deny_msg;
    size_t n;
    char *hashes[MAX_CANDIDATES];
    char token_hash[TK_HASH_HEX_MAX + 512];
};

static void lookup_free(struct lookup *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->hashes[i]);
    free(l);
}

static int64_t cache_ttl_ms(const gw_conf_t *conf)
{
    int64_t s = conf->local_session_cache_cached_session_timeout;
    return (s > 0 ? s : 10) * 1000;
}

static void add_candidate(struct lookup *l, const gw_conf_t *conf, const char *tok)
{
    char out[TK_HASH_HEX_MAX + 512];
    if (l->n >= MAX_CANDIDATES ||
        tk_hash_key(tok, strlen(tok), conf->hash_keys, out, sizeof(out)) != TK_OK)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->hashes[i], out) == 0)
            return;
    l->hashes[l->n++] = tk_xstrdup(out);
}

static void on_reply(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    struct lookup *l = arg;
    gw_req_t *req = gw_wait_end(l->wait);
    if (!req) {
        lookup_free(l);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        lookup_free(l);
        req->err_status = 503;
        req->err_msg = STORE_UNAVAILABLE;
        gw_pipeline_resume(req, TK_ERROR);
        return;
    }
    const char *found = NULL, *text = NULL;
    size_t text_len = 0;
    for (size_t i = 0; i < reply->elements && i < l->n; i++) {
        redisReply *e = reply->element[i];
        if (e->type == REDIS_REPLY_STRING) {
            found = l->hashes[i];
            text = e->str;
            text_len = e->len;
            break;
        }
    }
    if (!found) {
        gw_event_req(req, GW_EV_AUTH_FAILURE,
                     req->auth_event_key ? req->auth_event_key : req->token);
        req->err_status = l->deny_status;
        req->err_msg = l->deny_msg;
        lookup_free(l);
        gw_pipeline_resume(req, TK_ERROR);
        return;
    }
    gw_sref_t *sr = gw_sref_new();
    char *err = NULL;
    if (gw_session_from_text(text, text_len, sr->s, &err) != TK_OK ||
        gw_policy_apply(sr->s, &req->gref->gen->policies, req->api->org_id, &err) != TK_OK) {
        tk_log_warn("api=%s key ...%s: session rejected: %s", req->api->api_id,
                    found + (strlen(found) > 4 ? strlen(found) - 4 : 0), err ? err : "?");
        free(err);
        gw_sref_put(sr);
        req->err_status = l->deny_status;
        req->err_msg = l->deny_msg;
        lookup_free(l);
        gw_pipeline_resume(req, TK_ERROR);
        return;
    }
    const gw_conf_t *conf = gw_req_conf(req);
    req->session = sr;
    req->session_hash = tk_arena_strdup(req->arena, found);
    if (!conf->local_session_cache_disable_cached_session_state) {
        /* Cached under the resolved name (what evictions name) and under the token's own hash
         * when that differs; a hit through the latter is only trusted while the former lives. */
        uint64_t until = tk_now_ms() + (uint64_t)cache_ttl_ms(conf);
        tk_ttlmap_t *cache = req->conn->w->sessions;
        gw_sref_get(sr);
        tk_ttlmap_put(cache, found, sr, until);
        if (strcmp(found, l->token_hash) != 0) {
            gw_sref_get(sr);
            tk_ttlmap_put(cache, l->token_hash, sr, until);
        }
    }
    lookup_free(l);
    gw_pipeline_resume(req, TK_OK);
}

int gw_session_lookup(gw_req_t *req, const char *token)
{
    return gw_session_lookup_as(req, token, 403, "Access to this API has been disallowed");
}

int gw_session_lookup_as(gw_req_t *req, const char *token, int deny_status, const char *deny_msg)
{
    const gw_conf_t *conf = gw_req_conf(req);
    req->token = token;
    struct lookup *l = tk_xcalloc(1, sizeof(*l));
    l->deny_status = deny_status;
    l->deny_msg = deny_msg;
    if (tk_hash_key(token, strlen(token), conf->hash_keys, l->token_hash, sizeof(l->token_hash)) !=
        TK_OK) {
        free(l);
        req->err_status = deny_status;
        req->err_msg = deny_msg;
        return TK_ERROR;
    }
    tk_ttlmap_t *cache = req->conn->w->sessions;
    uint64_t now = tk_now_ms();
    gw_sref_t *hit = conf->local_session_cache_disable_cached_session_state
                         ? NULL
                         : tk_ttlmap_get(cache, l->token_hash, now);
    if (hit) {
        gw_sref_get(hit);
        req->session = hit;
        req->session_hash = tk_arena_strdup(req->arena, l->token_hash);
        free(l);
        return TK_OK;
    }
    /* Every name Tyk may have stored this key under, in its lookup order. */
    add_candidate(l, conf, token);
    if (!tk_token_decode(token, strlen(token), NULL, NULL, NULL)) {
        enum tk_hash_algo h =
            tk_hash_algo_parse(conf->hash_key_function, strlen(conf->hash_key_function), NULL);
        char *custom = tk_token_generate(req->api->org_id, token, h);
        add_candidate(l, conf, custom);
        free(custom);
        for (size_t i = 0; i < conf->hash_key_function_fallback.n; i++) {
            const char *f = conf->hash_key_function_fallback.v[i];
            char *alt =
                tk_token_generate(req->api->org_id, token, tk_hash_algo_parse(f, strlen(f), NULL));
            add_candidate(l, conf, alt);
            free(alt);
        }
    }
    const char *argv[MAX_CANDIDATES + 1];
    char names[MAX_CANDIDATES][TK_HASH_HEX_MAX + 520];
    argv[0] = "MGET";
    for (size_t i = 0; i < l->n; i++) {
        snprintf(names[i], sizeof(names[i]), "apikey-%s", l->hashes[i]);
        argv[i + 1] = names[i];
    }
    l->wait = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_reply, l, (int)l->n + 1, argv, NULL) != TK_OK) {
        gw_wait_end(l->wait);
        lookup_free(l);
        req->err_status = 503;
        req->err_msg = STORE_UNAVAILABLE;
        return TK_ERROR;
    }
    return TK_AGAIN;
}
