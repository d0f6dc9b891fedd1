/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AuthKey: the auth-token authenticator (Tyk's default). Finds the credential, then the session:
 * the worker's cache first, else one Redis MGET of every name the key may be stored under.
 * Policies are applied to every session loaded from Redis. Redis being unreachable is a 503,
 * never a false 401/403.
 */
#include "gw_mw_common.h"

#include "tk_log.h"

#include <stdlib.h>

struct state {
    gw_auth_source_t src;
};

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_uses_auth_token(api);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    struct state *st = tk_xcalloc(1, sizeof(*st));
    gw_auth_source_load(&st->src, api->def, "authToken");
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    struct state *st = mw->state;
    gw_auth_source_free(&st->src);
    free(st);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    const gw_conf_t *conf = gw_req_conf(req);
    char *tok = gw_auth_token_get(req, &st->src, true);
    if (!tok) {
        req->err_status = 401;
        req->err_msg = "Authorization field missing";
        return TK_ERROR;
    }
    int64_t min_len = conf->min_token_length > 0 ? conf->min_token_length : 3;
    if ((int64_t)strlen(tok) < min_len) {
        req->err_status = 403;
        req->err_msg = "Access to this API has been disallowed";
        return TK_ERROR;
    }
    return gw_session_lookup(req, tok);
}

const gw_mw_def_t gw_mw_auth_key = {
    .name = "AuthKey",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
