/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenID Connect authenticator (Tyk's OpenIDMW, use_openid + openid_options): the bearer
 * id_token must come from a configured issuer, name one of its client IDs in aud, carry a sub,
 * and verify with the issuer's keys (discovery document → jwks_uri → JWKS, per worker, see
 * gw_jwks_cache.h). The client ID picks the policy (or scopes.oidc maps the scope claim to
 * policies); the virtual session (ID from sub, plus the client when segregate_by_client) is
 * built from it once, stored like any key, and re-applied on every request. Every token
 * failure is Tyk's 401 "Key not authorised".
 */
#include "gw_mw_common.h"

#include "gw_ctxvars.h"
#include "gw_gen.h"
#include "gw_jwks_cache.h"
#include "gw_server.h"
#include "gw_vsession.h"
#include "tk_base64.h"
#include "tk_jwt.h"
#include "tk_log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOT_AUTHORISED "Key not authorised" /* Tyk's spelling for this middleware */
#define NO_MATCHING_POLICY "Key not authorized: no matching policy"
#define COULD_NOT_APPLY "Key not authorized: could not apply new policy"
#define EV_KEY_TOKEN "[JWT]"             /* AuthFailure key: the token did not validate */
#define EV_KEY_UNKNOWN "[NOT GENERATED]" /* AuthFailure key: valid, but no session ID or policy */

/* One openid_options.providers entry. */
struct provider {
    char *issuer;
    json_t *clients;       /* decoded client ID → policy ID (strings) */
    gw_jwks_cache_t *keys; /* this issuer's discovery document and key set */
};

struct state {
    gw_auth_source_t src;
    struct provider *prov;
    size_t nprov;
    bool segregate;          /* segregate_by_client */
    json_t *scope_map;       /* scopes.oidc.scope_to_policy (borrowed), or NULL */
    const char *scope_claim; /* scopes.oidc.scope_claim_name, default "scope" */
    bool is_base;            /* base_identity_provided_by unset or oidc_user: the session is kept */
};

/* A token that passed the claim checks, on its way through key lookup and session load. */
struct pending {
    struct state *st;
    tk_jwt_t *jwt;
    const struct provider *p;
    char *client_id;
    char *policy_id;
    char *session_id;
    bool from_cache; /* the session came from the worker's cache, not Redis */
    bool refreshed;  /* the key set was refetched after a signature failure */
    char hash[GW_VSESSION_HASH_MAX];
};

static void pending_free(void *arg)
{
    struct pending *pd = arg;
    if (!pd)
        return;
    tk_jwt_free(pd->jwt);
    free(pd->client_id);
    free(pd->policy_id);
    free(pd->session_id);
    free(pd);
}

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return !api->use_keyless && json_is_true(json_object_get(api->def, "use_openid"));
}

static void dispose(gw_mw_t *mw)
{
    struct state *st = mw->state;
    if (!st)
        return;
    gw_auth_source_free(&st->src);
    for (size_t i = 0; i < st->nprov; i++) {
        free(st->prov[i].issuer);
        json_decref(st->prov[i].clients);
        gw_jwks_cache_free(st->prov[i].keys);
    }
    free(st->prov);
    free(st);
    mw->state = NULL;
}

/* client_ids keys are base64 of the client ID (Tyk decodes with StdEncoding, ignoring errors). */
static json_t *clients_of(const gw_api_t *api, const char *issuer, json_t *ids)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(ids, k, v)
    {
        size_t n = 0;
        unsigned char *dec = tk_b64_decode(k, strlen(k), false, true, &n);
        if (!dec || memchr(dec, '\0', n) || !json_is_string(v)) {
            tk_log_warn("api=%s openid: issuer %s: client_ids key \"%s\" is not base64 of a "
                        "client ID mapped to a policy ID, ignored",
                        api->api_id, issuer, k);
            free(dec);
            continue;
        }
        char *id = tk_xstrndup((const char *)dec, n);
        json_object_set(out, id, v);
        free(id);
        free(dec);
    }
    return out;
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(errs);
    struct state *st = tk_xcalloc(1, sizeof(*st));
    mw->state = st;
    gw_auth_source_load(&st->src, api->def, "oidc");
    const char *base = json_string_value(json_object_get(api->def, "base_identity_provided_by"));
    st->is_base = !base || !*base || strcmp(base, "oidc_user") == 0;
    json_t *opts = json_object_get(api->def, "openid_options");
    st->segregate = json_is_true(json_object_get(opts, "segregate_by_client"));
    json_t *sc = json_object_get(json_object_get(api->def, "scopes"), "oidc");
    json_t *map = json_object_get(sc, "scope_to_policy");
    st->scope_map = json_is_object(map) && json_object_size(map) > 0 ? map : NULL;
    st->scope_claim = json_string_value(json_object_get(sc, "scope_claim_name"));
    if (!st->scope_claim || !*st->scope_claim)
        st->scope_claim = "scope";
    json_t *provs = json_object_get(opts, "providers");
    size_t i;
    json_t *pv;
    json_array_foreach(provs, i, pv)
    {
        const char *iss = json_string_value(json_object_get(pv, "issuer"));
        if (!iss || !*iss) {
            tk_log_warn("api=%s openid: providers[%zu] has no issuer, ignored", api->api_id, i);
            continue;
        }
        st->prov = tk_xrealloc(st->prov, (st->nprov + 1) * sizeof(*st->prov));
        struct provider *p = &st->prov[st->nprov++];
        p->issuer = tk_xstrdup(iss);
        p->clients = clients_of(api, iss, json_object_get(pv, "client_ids"));
        p->keys = gw_jwks_cache_new(conf, "openid");
        gw_jwks_cache_add_issuer(p->keys, iss, 0);
    }
    return TK_OK;
}

static int fail(gw_req_t *req, int status, const char *msg, const char *ev_key)
{
    gw_event_req(req, GW_EV_AUTH_FAILURE, ev_key);
    req->err_status = status;
    req->err_msg = msg;
    return TK_ERROR;
}

/* openid2go's CheckAndSplitHeader: exactly "Bearer <token>". */
static const char *bearer_token(const char *v)
{
    if (!v || strncmp(v, "Bearer ", 7) != 0)
        return NULL;
    const char *t = v + 7;
    return *t && !strchr(t, ' ') ? t : NULL;
}

/* The provider whose issuer is the token's iss (Google's bare host name also matches). */
static const struct provider *provider_of(const struct state *st, const char *iss)
{
    for (size_t i = 0; i < st->nprov; i++) {
        const char *want = st->prov[i].issuer;
        if (strcmp(iss, want) == 0 || (strcmp(iss, "accounts.google.com") == 0 &&
                                       strcmp(want, "https://accounts.google.com") == 0))
            return &st->prov[i];
    }
    return NULL;
}

/* The first aud value (a string or an array of strings) that is one of @p's client IDs. */
static const char *client_of(const struct provider *p, const json_t *aud)
{
    if (json_is_string(aud))
        return json_object_get(p->clients, json_string_value(aud)) ? json_string_value(aud) : NULL;
    size_t i;
    const json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v))
            return NULL; /* openid2go rejects the token on a non-string audience */
        if (json_object_get(p->clients, json_string_value(v)))
            return json_string_value(v);
    }
    return NULL;
}

/* ---- session ----------------------------------------------------------------------------- */

static bool same_set(const gw_strv_t *a, const gw_strv_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!gw_strv_contains(b, a->v[i]))
            return false;
    return true;
}

/* The policies this request applies: the client's, or those the scope claim names (maybe none). */
static void policies_of(const struct pending *pd, gw_strv_t *ids)
{
    if (!pd->st->scope_map) {
        gw_strv_push(ids, pd->policy_id);
        return;
    }
    gw_strv_t scopes = {0};
    gw_claim_scopes(tk_jwt_claims(pd->jwt), pd->st->scope_claim, &scopes);
    gw_scopes_to_policies(pd->st->scope_map, &scopes, ids);
    gw_strv_free(&scopes);
}

static int session_done(gw_req_t *req, gw_sref_t *sr, bool exists, void *arg)
{
    struct pending *pd = arg;
    const gw_policies_t *set = &req->gref->gen->policies;
    const char *org = req->api->org_id ? req->api->org_id : "";
    gw_session_t *s = sr->s;
    gw_strv_t ids = {0};
    policies_of(pd, &ids);
    char *err = NULL;
    int rc = TK_ERROR;
    bool changed = !exists || !same_set(&s->apply_policies, &ids);
    if (!exists) {
        /* Tyk's template: the client's policy, or an empty session when scopes decide. */
        if (!pd->st->scope_map) {
            int made = gw_vsession_from_policy(s, set, &ids, org, &err);
            if (made == TK_DECLINED) {
                tk_log_warn("api=%s openid: policy %s of client %s not found", req->api->api_id,
                            pd->policy_id, pd->client_id);
                fail(req, 403, NO_MATCHING_POLICY, pd->session_id);
                goto out;
            }
        }
        free(s->org_id);
        s->org_id = tk_xstrdup(org);
        json_decref(s->meta_data);
        s->meta_data =
            json_pack("{ssss}", "TykJWTSessionID", pd->session_id, "ClientID", pd->client_id);
        free(s->alias);
        const char *sub = json_string_value(json_object_get(tk_jwt_claims(pd->jwt), "sub"));
        s->alias = tk_xstrdup(tk_arena_printf(req->arena, "%s:%s", pd->client_id, sub));
    }
    /* Then, new or not, the policies are set and applied (again: a failed merge fails here). */
    free(err);
    err = NULL;
    gw_vsession_set_policies(s, &ids);
    if (gw_policy_apply(s, set, org, &err) != TK_OK) {
        req->err_status = 403;
        req->err_msg = COULD_NOT_APPLY;
        goto out;
    }
    rc = TK_OK;
    /* Tyk writes the session back after every request; once per local-cache period (or on a
       change) keeps Redis as current without a write per request. */
    if (changed || !pd->from_cache) {
        gw_vsession_store(req, s, pd->hash);
        gw_vsession_cache(req, sr, pd->hash);
    }
    if (pd->st->is_base) {
        req->session = sr;
        sr = NULL;
        req->token = tk_arena_strdup(req->arena, pd->session_id);
        req->session_hash = tk_arena_strdup(req->arena, pd->hash);
    }
    gw_ctx_set_jwt_claims(req, tk_jwt_header(pd->jwt), tk_jwt_claims(pd->jwt));
out:
    if (err) {
        tk_log_warn("api=%s openid: %s", req->api->api_id, err);
        free(err);
    }
    gw_strv_free(&ids);
    if (sr)
        gw_sref_put(sr);
    pending_free(pd);
    return rc;
}

/* The token verified: find or create its session. */
static int session_step(gw_req_t *req, struct pending *pd)
{
    if (!pd->st->scope_map && !*pd->policy_id) { /* a client ID mapped to "" */
        pending_free(pd);
        return fail(req, 401, NOT_AUTHORISED, EV_KEY_UNKNOWN);
    }
    const json_t *claims = tk_jwt_claims(pd->jwt);
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    char key_id[66];
    gw_md5_hex(sub, key_id + (pd->st->segregate ? 32 : 0));
    if (pd->st->segregate) {
        char cli[33];
        gw_md5_hex(pd->client_id, cli);
        memcpy(key_id, cli, 32);
    }
    pd->session_id = gw_vsession_id(req, key_id, pd->hash);
    if (!pd->session_id) {
        pending_free(pd);
        return fail(req, 401, NOT_AUTHORISED, EV_KEY_UNKNOWN);
    }
    gw_sref_t *hit = gw_vsession_cached(req, pd->hash);
    if (hit) {
        pd->from_cache = true;
        return session_done(req, hit, true, pd);
    }
    return gw_vsession_fetch(req, pd->hash, session_done, pending_free, pd);
}

/* ---- token ------------------------------------------------------------------------------- */

static int key_step(gw_req_t *req, struct pending *pd);

static int key_retry(gw_req_t *req, void *arg)
{
    return key_step(req, arg);
}

/* Verifies the signature and times with the issuer's key for the token's kid. */
static int key_step(gw_req_t *req, struct pending *pd)
{
    const char *kid = tk_jwt_kid(pd->jwt);
    bool wait = false;
    const json_t *jwk = kid ? gw_jwks_cache_find(pd->p->keys, req, kid, &wait) : NULL;
    if (!jwk && wait) {
        gw_jwks_cache_park(pd->p->keys, req, key_retry, pending_free, pd);
        return TK_AGAIN;
    }
    enum tk_jwt_err e = jwk ? tk_jwt_verify_jwk(pd->jwt, jwk) : TK_JWT_ERR_KID_NOT_FOUND;
    /* openid2go renews the issuer's keys once when a signature does not verify. */
    if (e == TK_JWT_ERR_SIGNATURE && !pd->refreshed) {
        pd->refreshed = true;
        if (gw_jwks_cache_refresh(pd->p->keys, req)) {
            gw_jwks_cache_park(pd->p->keys, req, key_retry, pending_free, pd);
            return TK_AGAIN;
        }
    }
    if (e == TK_JWT_OK)
        e = tk_jwt_check_times(pd->jwt, time(NULL), 0, 0, 0);
    if (e != TK_JWT_OK) {
        tk_log_info("api=%s openid: token from %s rejected: %s", req->api->api_id, pd->p->issuer,
                    tk_jwt_strerror(e));
        pending_free(pd);
        return fail(req, 401, NOT_AUTHORISED, EV_KEY_TOKEN);
    }
    return session_step(req, pd);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    const char *raw = bearer_token(gw_auth_token_get(req, &st->src, false));
    if (!raw)
        return fail(req, 401, NOT_AUTHORISED, EV_KEY_TOKEN);
    enum tk_jwt_err e = TK_JWT_OK;
    tk_jwt_t *jwt = tk_jwt_parse(raw, strlen(raw), TK_JWT_DEFAULT_MAX_LEN, &e);
    /* Issuer keys are RSA (openid2go reads JWKS entries as RSA public keys). */
    if (!jwt || tk_jwt_alg_family(tk_jwt_alg(jwt)) != TK_JWT_FAMILY_RSA) {
        tk_jwt_free(jwt);
        return fail(req, 401, NOT_AUTHORISED, EV_KEY_TOKEN);
    }
    const json_t *claims = tk_jwt_claims(jwt);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const json_t *sub = json_object_get(claims, "sub");
    const struct provider *p = iss && *iss ? provider_of(st, iss) : NULL;
    const char *client = p ? client_of(p, json_object_get(claims, "aud")) : NULL;
    if (!client || !json_is_string(sub) || json_string_length(sub) == 0 ||
        strlen(json_string_value(sub)) != json_string_length(sub)) {
        tk_log_info("api=%s openid: token rejected: %s", req->api->api_id,
                    !p        ? "issuer not configured"
                    : !client ? "audience is no client ID"
                              : "no sub");
        tk_jwt_free(jwt);
        return fail(req, 401, NOT_AUTHORISED, EV_KEY_TOKEN);
    }
    const char *policy = json_string_value(json_object_get(p->clients, client));
    struct pending *pd = tk_xcalloc(1, sizeof(*pd));
    pd->st = st;
    pd->jwt = jwt;
    pd->p = p;
    pd->client_id = tk_xstrdup(client);
    pd->policy_id = tk_xstrdup(policy ? policy : "");
    return key_step(req, pd);
}

const gw_mw_def_t gw_mw_openid = {
    .name = "OpenIDMW",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
