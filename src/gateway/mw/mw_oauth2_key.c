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
 * refused with 403 "Key not authorised. OAuth client access was revoked", as in Tyk. As Tyk's
 * UtilCache entry "oauth-del-<api><client>" does, the answer (present or deleted) is kept for
 * one second, here per worker, so a busy client costs one Redis GET per second per worker and a
 * deleted client is refused everywhere within a second. A Redis failure is 503 and not kept.
 */
#include "gw_messages.h"
#include "gw_mw_common.h"
#include "gw_oauth_store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STORE_DOWN "Session store unavailable, please retry"

/* Tyk's checkOAuthClientDeletedInetrval. */
#define CLIENT_CHECK_TTL_MS 1000
/* The cached answers; the map stores pointers, these are never dereferenced. */
#define CLIENT_PRESENT ((void *)(uintptr_t)1)
#define CLIENT_DELETED ((void *)(uintptr_t)2)

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

typedef struct client_check {
    gw_wait_t *wait;
    char *cache_key;
} client_check_t;

static int verdict(gw_req_t *req, void *answer)
{
    return answer == CLIENT_DELETED ? gw_msg_deny(req, GW_MSG_OAUTH_CLIENT_DELETED) : TK_OK;
}

static void on_client(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    client_check_t *cc = arg;
    gw_req_t *req = gw_wait_end(cc->wait);
    char *cache_key = cc->cache_key;
    free(cc);
    if (!req) {
        free(cache_key);
        return;
    }
    int rc;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        req->err_status = 503;
        req->err_msg = STORE_DOWN;
        rc = TK_ERROR;
    } else {
        void *answer = reply->type == REDIS_REPLY_STRING ? CLIENT_PRESENT : CLIENT_DELETED;
        tk_ttlmap_put(req->conn->w->oauth_clients, cache_key, answer,
                      tk_now_ms() + CLIENT_CHECK_TTL_MS);
        rc = verdict(req, answer);
    }
    free(cache_key);
    gw_pipeline_resume(req, rc);
}

static int on_client_check(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    if (!req->session)
        return TK_OK;
    const char *cid = req->session->s->oauth_client_id ? req->session->s->oauth_client_id : "";
    char *cache_key = tk_arena_printf(req->arena, "%s\n%s", req->api->api_id, cid);
    void *known = tk_ttlmap_get(req->conn->w->oauth_clients, cache_key, tk_now_ms());
    if (known)
        return verdict(req, known);
    char *key = gw_oauth_key(req->api->api_id, GW_OAUTH_CLIENT_PREFIX);
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, "%s%s", key, cid)};
    free(key);
    client_check_t *cc = tk_xcalloc(1, sizeof(*cc));
    cc->cache_key = tk_xstrdup(cache_key);
    cc->wait = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_client, cc, 2, argv, NULL) != TK_OK) {
        gw_wait_end(cc->wait);
        free(cc->cache_key);
        free(cc);
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
