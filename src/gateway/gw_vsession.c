/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual sessions shared by the JWT and OpenID Connect authenticators. */
#include "gw_vsession.h"

#include "gw_gen.h"
#include "gw_mw_common.h"
#include "gw_server.h"
#include "tk_log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STORE_UNAVAILABLE "Session store unavailable, please retry"

void gw_md5_hex(const char *s, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (EVP_Digest(s, strlen(s), md, &n, EVP_md5(), NULL) != 1 || n != 16)
        return;
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

char *gw_vsession_id(gw_req_t *req, const char *key_id, char hash[GW_VSESSION_HASH_MAX])
{
    const gw_conf_t *conf = gw_req_conf(req);
    enum tk_hash_algo h =
        tk_hash_algo_parse(conf->hash_key_function, strlen(conf->hash_key_function), NULL);
    const char *org = req->api->org_id ? req->api->org_id : "";
    char *sid = tk_token_generate(org, key_id, h);
    if (tk_hash_key(sid, strlen(sid), conf->hash_keys, hash, GW_VSESSION_HASH_MAX) != TK_OK) {
        free(sid);
        return NULL;
    }
    return sid;
}

gw_sref_t *gw_vsession_cached(gw_req_t *req, const char *hash)
{
    if (gw_req_conf(req)->local_session_cache_disable_cached_session_state)
        return NULL;
    gw_sref_t *hit = tk_ttlmap_get(req->conn->w->sessions, hash, tk_now_ms());
    if (!hit)
        return NULL;
    gw_sref_t *sr = gw_sref_new();
    gw_session_copy(sr->s, hit->s);
    return sr;
}

struct fetch {
    gw_wait_t *wait;
    gw_vsession_done_fn done;
    void (*drop)(void *);
    void *arg;
};

static void fetch_reply(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    struct fetch f = *(struct fetch *)arg;
    free(arg);
    gw_req_t *req = gw_wait_end(f.wait);
    if (!req) {
        f.drop(f.arg);
        return;
    }
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        f.drop(f.arg);
        req->err_status = 503;
        req->err_msg = STORE_UNAVAILABLE;
        gw_pipeline_resume(req, TK_ERROR);
        return;
    }
    gw_sref_t *sr = gw_sref_new();
    bool exists = false;
    if (reply->type == REDIS_REPLY_STRING) {
        char *err = NULL;
        if (gw_session_from_text(reply->str, reply->len, sr->s, &err) == TK_OK) {
            exists = true;
        } else {
            tk_log_warn("api=%s: stored session unreadable: %s", req->api->api_id, err ? err : "?");
            free(err);
            gw_session_free(sr->s);
        }
    }
    int rc = f.done(req, sr, exists, f.arg);
    if (rc != TK_AGAIN)
        gw_pipeline_resume(req, rc);
}

int gw_vsession_fetch(gw_req_t *req, const char *hash, gw_vsession_done_fn done,
                      void (*drop)(void *), void *arg)
{
    struct fetch *f = tk_xcalloc(1, sizeof(*f));
    f->done = done;
    f->drop = drop;
    f->arg = arg;
    char key[GW_VSESSION_HASH_MAX + 8];
    snprintf(key, sizeof(key), "apikey-%s", hash);
    const char *argv[2] = {"GET", key};
    f->wait = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, fetch_reply, f, 2, argv, NULL) != TK_OK) {
        gw_wait_end(f->wait);
        free(f);
        drop(arg);
        req->err_status = 503;
        req->err_msg = STORE_UNAVAILABLE;
        return TK_ERROR;
    }
    return TK_AGAIN;
}

static int64_t api_int(const gw_api_t *api, const char *name)
{
    json_t *v = json_object_get(api->def, name);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

void gw_vsession_store(gw_req_t *req, const gw_session_t *s, const char *hash)
{
    const gw_conf_t *conf = gw_req_conf(req);
    bool respects =
        json_is_true(json_object_get(req->api->def, "session_lifetime_respects_key_expiration")) ||
        conf->session_lifetime_respects_key_expiration;
    int64_t life = gw_session_lifetime(s, api_int(req->api, "session_lifetime"), respects,
                                       conf->global_session_lifetime,
                                       conf->force_global_session_lifetime, (int64_t)time(NULL));
    char *text = gw_session_dumps(s);
    char key[GW_VSESSION_HASH_MAX + 8];
    char ex[24];
    snprintf(key, sizeof(key), "apikey-%s", hash);
    snprintf(ex, sizeof(ex), "%lld", (long long)life);
    const char *argv[5] = {"SET", key, text, "EX", ex};
    tk_redis_cmd_argv(req->conn->w->redis, NULL, NULL, life > 0 ? 5 : 3, argv, NULL);
    free(text);
}

void gw_vsession_cache(gw_req_t *req, gw_sref_t *sr, const char *hash)
{
    const gw_conf_t *conf = gw_req_conf(req);
    if (conf->local_session_cache_disable_cached_session_state)
        return;
    int64_t ttl = conf->local_session_cache_cached_session_timeout;
    gw_sref_get(sr);
    tk_ttlmap_put(req->conn->w->sessions, hash, sr,
                  tk_now_ms() + (uint64_t)(ttl > 0 ? ttl : 10) * 1000);
}

void gw_vsession_set_policies(gw_session_t *s, const gw_strv_t *ids)
{
    gw_strv_free(&s->apply_policies);
    gw_strv_copy(&s->apply_policies, ids);
    free(s->apply_policy_id);
    s->apply_policy_id = NULL;
}

int gw_vsession_from_policy(gw_session_t *s, const gw_policies_t *set, const gw_strv_t *ids,
                            const char *org, char **err)
{
    const gw_policy_t *p = ids->n > 0 ? gw_policies_find(set, ids->v[0], org) : NULL;
    if (!p)
        return TK_DECLINED;
    free(s->org_id);
    s->org_id = tk_xstrdup(org);
    gw_vsession_set_policies(s, ids);
    if (p->key_expires_in > 0)
        s->expires = (int64_t)time(NULL) + p->key_expires_in;
    return gw_policy_apply(s, set, org, err);
}

/* Tyk's toScopeStringsSlice: a top-level string is split on spaces, arrays are flattened. */
static void scopes_collect(const json_t *v, bool nested, gw_strv_t *out)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (nested) {
            gw_strv_push(out, s);
            return;
        }
        for (;;) {
            const char *sp = strchr(s, ' ');
            size_t n = sp ? (size_t)(sp - s) : strlen(s);
            char *part = tk_xstrndup(s, n);
            gw_strv_push(out, part);
            free(part);
            if (!sp)
                break;
            s = sp + 1;
        }
        return;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) scopes_collect(e, true, out);
}

void gw_claim_scopes(const json_t *claims, const char *claim, gw_strv_t *out)
{
    const json_t *cur = claims;
    const char *p = claim;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur))
            return;
        char *part = tk_xstrndup(p, n);
        cur = json_object_get(cur, part);
        free(part);
        if (!dot)
            break;
        p = dot + 1;
    }
    scopes_collect(cur, false, out);
}

void gw_scopes_to_policies(const json_t *map, const gw_strv_t *scopes, gw_strv_t *out)
{
    for (size_t i = 0; i < scopes->n; i++) {
        const char *pid = json_string_value(json_object_get(map, scopes->v[i]));
        if (pid && !gw_strv_contains(out, pid))
            gw_strv_push(out, pid);
    }
}
