/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JWT authenticator (Tyk's JWTMiddleware): verifies the token against the API's key material, or
 * against the jwt secret of the Tyk key its kid names, then builds or refreshes the virtual
 * session from policies (centralised mode) or uses that key's session (one-to-one mode). JWKS
 * key sets are fetched per worker and per API, cached, and refetched when a kid is unknown.
 */
#include "gw_mw_common.h"

#include "gw_ctxvars.h"
#include "gw_gen.h"
#include "gw_jwks_cache.h"
#include "gw_policy.h"
#include "gw_server.h"
#include "gw_vsession.h"
#include "tk_hash.h"
#include "tk_jwt.h"
#include "tk_base64.h"
#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define KEY_NOT_AUTHORIZED "Key not authorized"
#define NO_MATCHING_POLICY "key not authorized: no matching policy"
#define NO_MATCHING_POLICY_FOUND "key not authorized: no matching policy found"
#define STORE_UNAVAILABLE "Session store unavailable, please retry"
#define MAX_CANDIDATES 4
static const char EMPTY_BASE_FIELD[] = "found an empty user ID in predefined base field claim";

struct state {
    gw_auth_source_t src;
    const char *method;  /* jwt_signing_method (borrowed from the definition) */
    bool central;        /* jwt_source set */
    tk_jwt_key_t *key;   /* centralised key, NULL if the source could not be used */
    const char *id_base; /* jwt_identity_base_field, "" = sub only */
    const char *pol_field;
    gw_strv_t defaults; /* jwt_default_policies */
    json_t *scope_map;  /* object scope → policy, or NULL (borrowed) */
    const char *scope_claim;
    unsigned exp_skew, iat_skew, nbf_skew;
    bool skip_kid;
    gw_jwks_cache_t *jwks; /* JWKS URLs (jwt_jwks_uris, or a URL jwt_source), or NULL */
};

/* An asynchronous step: what the Redis reply needs to finish the request. */
struct pending {
    gw_wait_t *wait;
    struct state *st;
    tk_jwt_t *jwt;
    char *identity;
    char *session_id;
    size_t n;
    char *hashes[MAX_CANDIDATES];
};

static void pending_free(struct pending *p)
{
    tk_jwt_free(p->jwt);
    free(p->identity);
    free(p->session_id);
    for (size_t i = 0; i < p->n; i++)
        free(p->hashes[i]);
    free(p);
}

static const char *def_str(json_t *def, const char *name)
{
    const char *s = json_string_value(json_object_get(def, name));
    return s ? s : "";
}

static unsigned def_uint(json_t *def, const char *name)
{
    json_t *v = json_object_get(def, name);
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
    return i > 0 && i < (json_int_t)UINT32_MAX ? (unsigned)i : 0;
}

static bool is_http_url(const char *s, size_t len)
{
    return (len >= 7 && strncasecmp(s, "http://", 7) == 0) ||
           (len >= 8 && strncasecmp(s, "https://", 8) == 0);
}

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return !api->use_keyless && json_is_true(json_object_get(api->def, "enable_jwt"));
}

static void dispose(gw_mw_t *mw)
{
    struct state *st = mw->state;
    if (!st)
        return;
    gw_auth_source_free(&st->src);
    tk_jwt_key_free(st->key);
    gw_jwks_cache_free(st->jwks);
    gw_strv_free(&st->defaults);
    free(st);
    mw->state = NULL;
}

static void jwks_add(struct state *st, const gw_conf_t *conf, const char *url, uint64_t ttl_s)
{
    if (!st->jwks)
        st->jwks = gw_jwks_cache_new(conf, "jwt");
    gw_jwks_cache_add_url(st->jwks, url, ttl_s);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(errs);
    json_t *def = api->def;
    struct state *st = tk_xcalloc(1, sizeof(*st));
    mw->state = st;
    gw_auth_source_load(&st->src, def, "jwt");
    st->method = def_str(def, "jwt_signing_method");
    st->id_base = def_str(def, "jwt_identity_base_field");
    st->pol_field = def_str(def, "jwt_policy_field_name");
    st->exp_skew = def_uint(def, "jwt_expires_at_validation_skew");
    st->iat_skew = def_uint(def, "jwt_issued_at_validation_skew");
    st->nbf_skew = def_uint(def, "jwt_not_before_validation_skew");
    st->skip_kid = json_is_true(json_object_get(def, "jwt_skip_kid"));
    json_t *pols = json_object_get(def, "jwt_default_policies");
    size_t i;
    json_t *v;
    json_array_foreach(pols, i, v)
    {
        if (json_is_string(v) && *json_string_value(v))
            gw_strv_push(&st->defaults, json_string_value(v));
    }
    /* scopes.jwt wins over the legacy top-level fields (Tyk's GetScopeToPolicyMapping). */
    json_t *sj = json_object_get(json_object_get(def, "scopes"), "jwt");
    json_t *map = json_object_get(sj, "scope_to_policy");
    if (!json_is_object(map) || json_object_size(map) == 0)
        map = json_object_get(def, "jwt_scope_to_policy_mapping");
    st->scope_map = json_is_object(map) && json_object_size(map) > 0 ? map : NULL;
    st->scope_claim = json_string_value(json_object_get(sj, "scope_claim_name"));
    if (!st->scope_claim || !*st->scope_claim)
        st->scope_claim = def_str(def, "jwt_scope_claim_name");
    if (!*st->scope_claim)
        st->scope_claim = "scope";

    json_t *uris = json_object_get(def, "jwt_jwks_uris");
    if (json_is_array(uris) && json_array_size(uris) > 0) {
        json_array_foreach(uris, i, v)
        {
            const char *url = json_string_value(json_object_get(v, "url"));
            if (!url || !is_http_url(url, strlen(url))) {
                tk_log_warn("api=%s: jwt_jwks_uris[%zu]: not an http(s) URL", api->api_id, i);
                continue;
            }
            json_t *ct = json_object_get(v, "cache_timeout");
            json_int_t secs = json_is_integer(ct) ? json_integer_value(ct) : 0;
            jwks_add(st, conf, url, secs > 0 ? (uint64_t)secs : GW_JWKS_DEFAULT_TTL_S);
        }
        st->central = true;
        return TK_OK;
    }
    const char *src = def_str(def, "jwt_source");
    if (!*src)
        return TK_OK; /* one-to-one mode */
    st->central = true;
    if (is_http_url(src, strlen(src))) {
        jwks_add(st, conf, src, GW_JWKS_DEFAULT_TTL_S);
        return TK_OK;
    }
    size_t dlen = 0;
    unsigned char *dec = tk_b64_decode(src, strlen(src), false, true, &dlen);
    if (!dec) {
        /* Tyk fails every request with "Key not authorized" then. */
        tk_log_warn("api=%s: jwt_source is not valid base64", api->api_id);
        return TK_OK;
    }
    if (is_http_url((const char *)dec, dlen) && !memchr(dec, '\0', dlen)) {
        char *url = tk_xstrndup((const char *)dec, dlen);
        free(dec);
        jwks_add(st, conf, url, GW_JWKS_DEFAULT_TTL_S);
        free(url);
        return TK_OK;
    }
    if (strcmp(st->method, "rsa") == 0 || strcmp(st->method, "ecdsa") == 0) {
        st->key = tk_jwt_key_from_pem((const char *)dec, dlen);
        if (!st->key)
            tk_log_warn("api=%s: jwt_source is not a usable public key", api->api_id);
    } else {
        st->key = tk_jwt_key_from_secret(dec, dlen);
    }
    free(dec);
    return TK_OK;
}

/* ---- claims ------------------------------------------------------------------------------ */

/* Tyk's getUserIDFromClaim; NULL with *@why set when there is no usable identity. */
static const char *identity_of(const struct state *st, const tk_jwt_t *jwt, const char **why)
{
    if (*st->id_base) {
        const json_t *v = tk_jwt_claim_get(jwt, st->id_base);
        if (json_is_string(v)) {
            if (json_string_length(v) > 0)
                return json_string_value(v);
            *why = EMPTY_BASE_FIELD;
            return NULL;
        }
    }
    const json_t *sub = json_object_get(tk_jwt_claims(jwt), "sub");
    if (json_is_string(sub)) {
        if (json_string_length(sub) > 0)
            return json_string_value(sub);
        *why = "found an empty user ID in sub claim";
        return NULL;
    }
    *why = "no suitable claims for user ID were found";
    return NULL;
}

/* The policy IDs named by jwt_policy_field_name (a string or an array of strings). */
static void claim_policies(const struct state *st, const tk_jwt_t *jwt, gw_strv_t *out)
{
    if (!*st->pol_field)
        return;
    const json_t *v = tk_jwt_claim_get(jwt, st->pol_field);
    if (json_is_string(v)) {
        if (json_string_length(v) > 0)
            gw_strv_push(out, json_string_value(v));
        return;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        if (json_is_string(e) && json_string_length(e) > 0 &&
            !gw_strv_contains(out, json_string_value(e)))
            gw_strv_push(out, json_string_value(e));
    }
}

static bool strv_same_set(const gw_strv_t *a, const gw_strv_t *b)
{
    for (size_t i = 0; i < a->n; i++)
        if (!gw_strv_contains(b, a->v[i]))
            return false;
    for (size_t i = 0; i < b->n; i++)
        if (!gw_strv_contains(a, b->v[i]))
            return false;
    return true;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static int fail(gw_req_t *req, int status, const char *msg)
{
    if (status == 401 || status == 403) /* Tyk's reportLoginFailure */
        gw_event_req(req, GW_EV_AUTH_FAILURE, req->token);
    req->err_status = status;
    req->err_msg = msg;
    return TK_ERROR;
}

/*
 * Tyk's processCentralisedJWT after the session lookup: @s is the stored session (a private
 * copy the function takes over) or NULL when there is none.
 */
static int central_finish(gw_req_t *req, const struct state *st, const tk_jwt_t *jwt,
                          const char *identity, const char *session_id, const char *hash,
                          gw_sref_t *sr, bool exists, bool from_cache)
{
    const gw_policies_t *set = &req->gref->gen->policies;
    const char *org = req->api->org_id ? req->api->org_id : "";
    gw_session_t *s = sr->s;
    gw_strv_t base = {0};
    bool is_default = false, update = false;
    char *err = NULL;
    int rc = TK_ERROR;

    claim_policies(st, jwt, &base);
    if (base.n == 0) {
        if (st->defaults.n == 0) {
            fail(req, 403, NO_MATCHING_POLICY_FOUND);
            goto out;
        }
        is_default = true;
        gw_strv_copy(&base, &st->defaults);
    }
    const json_t *jexp = json_object_get(tk_jwt_claims(jwt), "exp");
    int64_t exp = json_is_number(jexp) ? (int64_t)json_number_value(jexp) : 0;

    if (!exists) {
        int made = gw_vsession_from_policy(s, set, &base, org, &err);
        if (made == TK_DECLINED) {
            fail(req, 403, NO_MATCHING_POLICY);
            goto out;
        }
        if (made != TK_OK) {
            tk_log_warn("api=%s jwt: failed to create key: %s", req->api->api_id, err ? err : "?");
            fail(req, 500,
                 tk_arena_printf(req->arena, "failed to create key: %s", err ? err : "?"));
            goto out;
        }
        if (exp > s->expires)
            s->expires = exp;
        json_decref(s->meta_data);
        s->meta_data = json_pack("{ss}", "TykJWTSessionID", session_id);
        free(s->alias);
        s->alias = tk_xstrdup(identity);
        update = true;
    } else {
        const gw_policy_t *p = gw_policies_get(set, base.v[0]);
        if (!p) {
            fail(req, 403, NO_MATCHING_POLICY);
            goto out;
        }
        const char *const *ids;
        size_t n = gw_session_policy_ids(s, &ids);
        if (n == 0) {
            fail(req, 403, NO_MATCHING_POLICY_FOUND);
            goto out;
        }
        gw_strv_t have = {0};
        for (size_t i = 0; i < n; i++)
            gw_strv_push(&have, ids[i]);
        bool changed =
            !gw_strv_contains(&have, base.v[0]) || (is_default && !strv_same_set(&have, &base));
        gw_strv_free(&have);
        if (changed) {
            if (strcmp(p->org_id ? p->org_id : "", org) != 0) {
                fail(req, 403, NO_MATCHING_POLICY);
                goto out;
            }
            gw_vsession_set_policies(s, &base);
            update = true;
        }
        if (gw_policy_apply(s, set, org, &err) != TK_OK) {
            fail(req, 403, "key not authorized: could not apply new policy");
            goto out;
        }
        if (exp > s->expires) {
            s->expires = exp;
            update = true;
        }
    }

    if (st->scope_map) {
        gw_strv_t scopes = {0};
        gw_claim_scopes(tk_jwt_claims(jwt), st->scope_claim, &scopes);
        if (scopes.n > 0) {
            gw_strv_t ids = {0};
            if (!is_default)
                gw_strv_copy(&ids, &base);
            gw_scopes_to_policies(st->scope_map, &scopes, &ids);
            gw_strv_free(&scopes);
            if (ids.n == 0) {
                gw_strv_free(&ids);
                fail(req, 403, "key not authorized: no matching policy found in scope claim");
                goto out;
            }
            if (!strv_same_set(&s->apply_policies, &ids))
                update = true;
            gw_vsession_set_policies(s, &ids);
            gw_strv_free(&ids);
            if (gw_policy_apply(s, set, org, &err) != TK_OK) {
                fail(req, 403, "key not authorized: could not apply several policies");
                goto out;
            }
        }
        gw_strv_free(&scopes);
    }

    static const char *const cid_claims[] = {"clientId", "cid", "client_id"};
    for (size_t i = 0; i < TK_ARRAY_LEN(cid_claims); i++) {
        const json_t *c = json_object_get(tk_jwt_claims(jwt), cid_claims[i]);
        if (c) {
            free(s->oauth_client_id);
            s->oauth_client_id = json_is_string(c) ? tk_xstrdup(json_string_value(c)) : NULL;
            break;
        }
    }

    if (update)
        gw_vsession_store(req, s, hash);
    if (update || !from_cache)
        gw_vsession_cache(req, sr, hash);
    req->session = sr;
    sr = NULL;
    req->token = tk_arena_strdup(req->arena, session_id);
    req->session_hash = tk_arena_strdup(req->arena, hash);
    gw_ctx_set_jwt_claims(req, tk_jwt_header(jwt), tk_jwt_claims(jwt));
    rc = TK_OK;
out:
    if (err) {
        if (rc == TK_ERROR)
            tk_log_warn("api=%s jwt: %s", req->api->api_id, err);
        free(err);
    }
    gw_strv_free(&base);
    if (sr)
        gw_sref_put(sr);
    return rc;
}

static void pending_drop(void *arg)
{
    pending_free(arg);
}

static int central_done(gw_req_t *req, gw_sref_t *sr, bool exists, void *arg)
{
    struct pending *p = arg;
    int rc = central_finish(req, p->st, p->jwt, p->identity, p->session_id, p->hashes[0], sr,
                            exists, false);
    pending_free(p);
    return rc;
}

static int central(gw_req_t *req, struct state *st, tk_jwt_t *jwt)
{
    const char *why = NULL;
    const char *identity = identity_of(st, jwt, &why);
    if (!identity) {
        tk_jwt_free(jwt);
        if (why == EMPTY_BASE_FIELD) /* Tyk names the field */
            why = tk_arena_printf(req->arena, "%s %s", EMPTY_BASE_FIELD, st->id_base);
        return fail(req, 403, why);
    }
    char md5hex[33];
    gw_md5_hex(identity, md5hex);
    char hash[GW_VSESSION_HASH_MAX];
    char *sid = gw_vsession_id(req, md5hex, hash);
    if (!sid) {
        tk_jwt_free(jwt);
        return fail(req, 403, KEY_NOT_AUTHORIZED);
    }
    gw_sref_t *hit = gw_vsession_cached(req, hash);
    if (hit) {
        int rc = central_finish(req, st, jwt, identity, sid, hash, hit, true, true);
        free(sid);
        tk_jwt_free(jwt);
        return rc;
    }
    struct pending *p = tk_xcalloc(1, sizeof(*p));
    p->st = st;
    p->jwt = jwt;
    p->identity = tk_xstrdup(identity);
    p->session_id = sid;
    p->hashes[p->n++] = tk_xstrdup(hash);
    return gw_vsession_fetch(req, hash, central_done, pending_drop, p);
}

/* ---- one-to-one -------------------------------------------------------------------------- */

/* Verifies @jwt with the stored key's jwt_data.secret, then Tyk's time checks. */
static int one_to_one_check(gw_req_t *req, const struct state *st, const tk_jwt_t *jwt,
                            const gw_session_t *s)
{
    const char *secret = s->jwt_secret ? s->jwt_secret : "";
    tk_jwt_key_t *key = NULL;
    if (strcmp(st->method, "rsa") == 0 || strcmp(st->method, "ecdsa") == 0)
        key = tk_jwt_key_from_pem(secret, strlen(secret));
    else
        key = tk_jwt_key_from_secret(secret, strlen(secret));
    enum tk_jwt_err e = key ? tk_jwt_verify(jwt, key) : TK_JWT_ERR_KEY;
    tk_jwt_key_free(key);
    if (e == TK_JWT_OK)
        e = tk_jwt_check_times(jwt, time(NULL), st->exp_skew, st->iat_skew, st->nbf_skew);
    if (e != TK_JWT_OK)
        return fail(req, tk_jwt_tyk_status(e), tk_jwt_tyk_message(e));
    return TK_OK;
}

static void add_hash(struct pending *p, const gw_conf_t *conf, const char *tok)
{
    char out[TK_HASH_HEX_MAX + 512];
    if (p->n >= MAX_CANDIDATES ||
        tk_hash_key(tok, strlen(tok), conf->hash_keys, out, sizeof(out)) != TK_OK)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->hashes[i], out) == 0)
            return;
    p->hashes[p->n++] = tk_xstrdup(out);
}

static void one_reply(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    struct pending *p = arg;
    gw_req_t *req = gw_wait_end(p->wait);
    if (!req) {
        pending_free(p);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        pending_free(p);
        fail(req, 503, STORE_UNAVAILABLE);
        gw_pipeline_resume(req, TK_ERROR);
        return;
    }
    const char *found = NULL;
    gw_sref_t *sr = NULL;
    for (size_t i = 0; i < reply->elements && i < p->n && !found; i++) {
        redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        found = p->hashes[i];
        sr = gw_sref_new();
        char *err = NULL;
        if (gw_session_from_text(e->str, e->len, sr->s, &err) != TK_OK ||
            gw_policy_apply(sr->s, &req->gref->gen->policies, req->api->org_id, &err) != TK_OK) {
            tk_log_warn("api=%s jwt: key session rejected: %s", req->api->api_id, err ? err : "?");
            gw_sref_put(sr);
            sr = NULL;
        }
        free(err);
    }
    int rc;
    if (!sr) {
        rc = fail(req, 403, KEY_NOT_AUTHORIZED);
    } else if ((rc = one_to_one_check(req, p->st, p->jwt, sr->s)) == TK_OK) {
        gw_vsession_cache(req, sr, found);
        req->session = sr;
        sr = NULL;
        req->token = tk_arena_strdup(req->arena, p->identity);
        req->session_hash = tk_arena_strdup(req->arena, found);
        gw_ctx_set_jwt_claims(req, tk_jwt_header(p->jwt), tk_jwt_claims(p->jwt));
    }
    if (sr)
        gw_sref_put(sr);
    pending_free(p);
    gw_pipeline_resume(req, rc);
}

static int one_to_one(gw_req_t *req, struct state *st, tk_jwt_t *jwt)
{
    const gw_conf_t *conf = gw_req_conf(req);
    const char *id = st->skip_kid ? NULL : tk_jwt_kid(jwt);
    const char *why = NULL;
    if (!id)
        id = identity_of(st, jwt, &why);
    if (!id || !*id) {
        tk_jwt_free(jwt);
        return fail(req, 403, KEY_NOT_AUTHORIZED);
    }
    struct pending *p = tk_xcalloc(1, sizeof(*p));
    p->st = st;
    p->jwt = jwt;
    p->identity = tk_xstrdup(id);
    add_hash(p, conf, id);
    if (!tk_token_decode(id, strlen(id), NULL, NULL, NULL)) {
        enum tk_hash_algo h =
            tk_hash_algo_parse(conf->hash_key_function, strlen(conf->hash_key_function), NULL);
        char *custom = tk_token_generate(req->api->org_id ? req->api->org_id : "", id, h);
        add_hash(p, conf, custom);
        free(custom);
    }
    if (p->n == 0) {
        pending_free(p);
        return fail(req, 403, KEY_NOT_AUTHORIZED);
    }
    /* A cached session: verify synchronously. */
    gw_sref_t *hit = conf->local_session_cache_disable_cached_session_state
                         ? NULL
                         : tk_ttlmap_get(req->conn->w->sessions, p->hashes[0], tk_now_ms());
    if (hit) {
        int rc = one_to_one_check(req, st, jwt, hit->s);
        if (rc == TK_OK) {
            gw_sref_get(hit);
            req->session = hit;
            req->token = tk_arena_strdup(req->arena, p->identity);
            req->session_hash = tk_arena_strdup(req->arena, p->hashes[0]);
        }
        pending_free(p);
        return rc;
    }
    const char *argv[MAX_CANDIDATES + 1];
    char names[MAX_CANDIDATES][TK_HASH_HEX_MAX + 520];
    argv[0] = "MGET";
    for (size_t i = 0; i < p->n; i++) {
        snprintf(names[i], sizeof(names[i]), "apikey-%s", p->hashes[i]);
        argv[i + 1] = names[i];
    }
    p->wait = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, one_reply, p, (int)p->n + 1, argv, NULL) != TK_OK) {
        gw_wait_end(p->wait);
        pending_free(p);
        return fail(req, 503, STORE_UNAVAILABLE);
    }
    return TK_AGAIN;
}

/* ---- JWKS ------------------------------------------------------------------------------- */

static int jwks_verify(gw_req_t *req, struct state *st, tk_jwt_t *jwt, const json_t *jwk)
{
    enum tk_jwt_err e = tk_jwt_verify_jwk(jwt, jwk);
    if (e == TK_JWT_OK)
        e = tk_jwt_check_times(jwt, time(NULL), st->exp_skew, st->iat_skew, st->nbf_skew);
    if (e != TK_JWT_OK) {
        tk_jwt_free(jwt);
        return fail(req, tk_jwt_tyk_status(e), tk_jwt_tyk_message(e));
    }
    return central(req, st, jwt);
}

/* A request parked for a JWKS download keeps its token and state here. */
struct jwks_park {
    struct state *st;
    tk_jwt_t *jwt;
};

static int jwks_step(gw_req_t *req, struct state *st, tk_jwt_t *jwt);

static int jwks_retry(gw_req_t *req, void *arg)
{
    struct jwks_park pk = *(struct jwks_park *)arg;
    free(arg);
    return jwks_step(req, pk.st, pk.jwt);
}

static void jwks_drop(void *arg)
{
    struct jwks_park *pk = arg;
    tk_jwt_free(pk->jwt);
    free(pk);
}

/* Verifies with the key for the token's kid, or parks the request until a download ends. */
static int jwks_step(gw_req_t *req, struct state *st, tk_jwt_t *jwt)
{
    const char *kid = tk_jwt_kid(jwt);
    enum tk_jwt_err e = kid ? TK_JWT_ERR_KID_NOT_FOUND : TK_JWT_ERR_KID_NOT_STRING;
    if (kid) {
        bool wait = false;
        const json_t *jwk = gw_jwks_cache_find(st->jwks, req, kid, &wait);
        if (jwk)
            return jwks_verify(req, st, jwt, jwk);
        if (wait) {
            struct jwks_park *pk = tk_xcalloc(1, sizeof(*pk));
            pk->st = st;
            pk->jwt = jwt;
            gw_jwks_cache_park(st->jwks, req, jwks_retry, jwks_drop, pk);
            return TK_AGAIN;
        }
    }
    tk_log_debug("api=%s jwt: %s", req->api->api_id, tk_jwt_strerror(e));
    tk_jwt_free(jwt);
    return fail(req, tk_jwt_tyk_status(e), tk_jwt_tyk_message(e));
}

/* ---- request ----------------------------------------------------------------------------- */

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    char *raw = gw_auth_token_get(req, &st->src, true);
    if (!raw || !*raw)
        return fail(req, 400, "Authorization field missing");
    enum tk_jwt_err e = TK_JWT_OK;
    tk_jwt_t *jwt = tk_jwt_parse(raw, strlen(raw), TK_JWT_DEFAULT_MAX_LEN, &e);
    if (!jwt)
        return fail(req, tk_jwt_tyk_status(e), tk_jwt_tyk_message(e));
    e = tk_jwt_check_method(jwt, st->method);
    if (e != TK_JWT_OK) {
        tk_jwt_free(jwt);
        return fail(req, tk_jwt_tyk_status(e), tk_jwt_tyk_message(e));
    }
    if (!st->central)
        return one_to_one(req, st, jwt);
    if (st->jwks)
        return jwks_step(req, st, jwt);
    e = st->key ? tk_jwt_verify(jwt, st->key) : TK_JWT_ERR_KEY;
    if (e == TK_JWT_OK)
        e = tk_jwt_check_times(jwt, time(NULL), st->exp_skew, st->iat_skew, st->nbf_skew);
    if (e != TK_JWT_OK) {
        tk_jwt_free(jwt);
        return fail(req, tk_jwt_tyk_status(e), tk_jwt_tyk_message(e));
    }
    return central(req, st, jwt);
}

const gw_mw_def_t gw_mw_auth_jwt = {
    .name = "JWTMiddleware",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
