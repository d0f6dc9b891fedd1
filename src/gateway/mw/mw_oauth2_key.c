/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Oauth2KeyExists: the authenticator of APIs with use_oauth2 (Tyk's mw_oauth2_key_exists.go).
 * The credential (auth_configs.oauth, default the Authorization header) must be
 * "Bearer <token>": none is 400 "Authorization field missing", another scheme 400 "Bearer
 * token malformed". The token is an ordinary key (the token endpoint stores it like one), so
 * the session store does the lookup; an unknown token is 403 "Key not authorised".
 *
 * A second step checks that the OAuth client that issued the token still exists
 * (oauth-data.<api>.oauth-clientid.<session oauth_client_id>); when it was deleted the token is
 * refused with 403 "Key not authorised. OAuth client access was revoked", as in Tyk. Tyk keeps
 * that answer in a one-second memory cache; here every request asks Redis (one GET).
 */
#include "gw_messages.h"
#include "gw_mw_common.h"
#include "gw_oauth_store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STORE_DOWN "Session store unavailable, please retry"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return !api->use_keyless && json_is_true(json_object_get(api->def, "use_oauth2"));
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    gw_auth_source_t *src = tk_xcalloc(1, sizeof(*src));
    gw_auth_source_load(src, api->def, "oauth");
    mw->state = src;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    gw_auth_source_free(mw->state);
    free(mw->state);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    const char *tok = gw_auth_token_get(req, mw->state, false);
    const char *sp = tok ? strchr(tok, ' ') : NULL;
    if (!sp)
        return gw_msg_deny(req, GW_MSG_OAUTH_FIELD_MISSING);
    if ((size_t)(sp - tok) != 6 || strncasecmp(tok, "bearer", 6) != 0)
        return gw_msg_deny(req, GW_MSG_OAUTH_FIELD_MALFORMED);
    /* Tyk splits on every space and takes the second part. */
    const char *end = strchr(sp + 1, ' ');
    char *access =
        tk_arena_strndup(req->arena, sp + 1, end ? (size_t)(end - sp - 1) : strlen(sp + 1));
    int status;
    const char *msg;
    gw_msg_get(gw_req_conf(req), GW_MSG_OAUTH_KEY_NOT_FOUND, &status, &msg);
    return gw_session_lookup_as(req, access, status, msg);
}

/* ---- second step: the issuing client must still exist ---- */

static void on_client(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    gw_req_t *req = gw_wait_end(arg);
    if (!req)
        return;
    int rc = TK_OK;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        req->err_status = 503;
        req->err_msg = STORE_DOWN;
        rc = TK_ERROR;
    } else if (reply->type != REDIS_REPLY_STRING) {
        rc = gw_msg_deny(req, GW_MSG_OAUTH_CLIENT_DELETED);
    }
    gw_pipeline_resume(req, rc);
}

static int on_client_check(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    if (!req->session)
        return TK_OK;
    const char *cid = req->session->s->oauth_client_id;
    char *key = gw_oauth_key(req->api->api_id, GW_OAUTH_CLIENT_PREFIX);
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, "%s%s", key, cid ? cid : "")};
    free(key);
    gw_wait_t *w = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_client, w, 2, argv, NULL) != TK_OK) {
        gw_wait_end(w);
        req->err_status = 503;
        req->err_msg = STORE_DOWN;
        return TK_ERROR;
    }
    return TK_AGAIN;
}

const gw_mw_def_t gw_mw_oauth2_key = {
    .name = "Oauth2KeyExists",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};

/* Registered right after gw_mw_oauth2_key. */
const gw_mw_def_t gw_mw_oauth2_client = {
    .name = "Oauth2KeyExists(client)",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_client_check,
    .dispose = dispose,
};
