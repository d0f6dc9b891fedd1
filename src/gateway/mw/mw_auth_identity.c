/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Several auth methods on one API (Tyk runs every enabled one, AND): the session kept for the
 * rest of the chain (key expiry, access rights, limits, quotas) is the one of the method named
 * by base_identity_provided_by (auth_token, hmac_key, basic_auth_user, jwt_claim, ...), or,
 * when that is unset, of the last method to run. One capture step follows each authenticator
 * in the registry; it moves that method's session aside (kept or dropped) so the next method
 * starts clean, and the last one puts the kept session back on the request. A base method
 * that never runs leaves no session: KeyExpired then answers 400, as Tyk.
 * The steps exist only for APIs with two or more methods or a base_identity_provided_by.
 */
#include "gw_mw_common.h"

#include <stdlib.h>
#include <string.h>

extern const gw_mw_def_t gw_mw_auth_basic;
extern const gw_mw_def_t gw_mw_auth_hmac;
extern const gw_mw_def_t gw_mw_auth_jwt;
extern const gw_mw_def_t gw_mw_auth_key;
extern const gw_mw_def_t gw_mw_openid;

/* The authenticators in chain order, with Tyk's AuthTypeEnum names. */
static const struct method {
    const gw_mw_def_t *def;
    const char *name;
} methods[] = {
    {&gw_mw_auth_basic, "basic_auth_user"}, {&gw_mw_auth_hmac, "hmac_key"},
    {&gw_mw_auth_jwt, "jwt_claim"},         {&gw_mw_openid, "oidc_user"},
    {&gw_mw_auth_key, "auth_token"},
};
enum { M_BASIC = 0, M_HMAC, M_JWT, M_OIDC, M_KEY, M_COUNT };

/* Per request, in the arena. */
struct gw_identity {
    gw_sref_t *kept;
    const char *token;
    const char *hash;
};

struct state {
    bool is_base; /* this method's session is the one kept */
    bool last;    /* no enabled authenticator runs after this one */
};

static const char *base_of(const gw_api_t *api)
{
    const char *b = json_string_value(json_object_get(api->def, "base_identity_provided_by"));
    return b ? b : "";
}

static size_t enabled_count(const gw_api_t *api, const gw_conf_t *conf)
{
    size_t n = 0;
    for (size_t i = 0; i < M_COUNT; i++)
        n += methods[i].def->enabled(api, conf);
    return n;
}

static bool needed(int m, const gw_api_t *api, const gw_conf_t *conf)
{
    if (!methods[m].def->enabled(api, conf))
        return false;
    return enabled_count(api, conf) > 1 || *base_of(api);
}

static int init_for(int m, gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf)
{
    struct state *st = tk_xcalloc(1, sizeof(*st));
    const char *base = base_of(api);
    st->is_base = !*base || strcmp(base, methods[m].name) == 0;
    st->last = true;
    for (int i = m + 1; i < M_COUNT; i++)
        if (methods[i].def->enabled(api, conf))
            st->last = false;
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    free(mw->state);
}

static void identity_release(void *p)
{
    struct gw_identity *id = p;
    if (id->kept)
        gw_sref_put(id->kept);
    id->kept = NULL;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    const struct state *st = mw->state;
    struct gw_identity *id = req->identity;
    if (!id) {
        id = tk_arena_zalloc(req->arena, sizeof(*id));
        if (!id || tk_arena_cleanup(req->arena, identity_release, id) != TK_OK) {
            req->err_status = 500;
            req->err_msg = "There was a problem proxying the request";
            return TK_ERROR;
        }
        req->identity = id;
    }
    gw_sref_t *cur = req->session;
    req->session = NULL;
    if (st->is_base) {
        if (id->kept)
            gw_sref_put(id->kept);
        id->kept = cur;
        id->token = req->token;
        id->hash = req->session_hash;
    } else if (cur) {
        gw_sref_put(cur);
    }
    req->token = NULL;
    req->session_hash = NULL;
    if (st->last) {
        req->session = id->kept;
        req->token = id->token;
        req->session_hash = id->hash;
        id->kept = NULL;
    }
    return TK_OK;
}

#define CAPTURE(M, NAME)                                                                           \
    static bool enabled_##M(const gw_api_t *api, const gw_conf_t *conf)                            \
    {                                                                                              \
        return needed(M, api, conf);                                                               \
    }                                                                                              \
    static int init_##M(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf,                   \
                        tk_conf_errors_t *errs)                                                    \
    {                                                                                              \
        TK_UNUSED(errs);                                                                           \
        return init_for(M, mw, api, conf);                                                         \
    }                                                                                              \
    const gw_mw_def_t NAME = {                                                                     \
        .name = "AuthIdentity(" #M ")",                                                            \
        .phase = GW_PHASE_AUTH,                                                                    \
        .enabled = enabled_##M,                                                                    \
        .init = init_##M,                                                                          \
        .on_req = on_req,                                                                          \
        .dispose = dispose,                                                                        \
    };

CAPTURE(M_BASIC, gw_mw_identity_basic)
CAPTURE(M_HMAC, gw_mw_identity_hmac)
CAPTURE(M_JWT, gw_mw_identity_jwt)
CAPTURE(M_OIDC, gw_mw_identity_oidc)
CAPTURE(M_KEY, gw_mw_identity_key)
