/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AuthKey: the auth-token authenticator (Tyk's default). Finds the credential, then the session:
 * the worker's cache first, else one Redis MGET of every name the key may be stored under.
 * Policies are applied to every session loaded from Redis. Redis being unreachable is a 503,
 * never a false 401/403.
 *
 * Certificate-bound keys (auth_configs.authToken.use_certificate, "dynamic mTLS"): on a TLS
 * connection the key is generateToken(org, org + sha256(client certificate DER)), the name a
 * key created with that "certificate" gets, and any token header is ignored; no certificate is
 * 401 "Client certificate required", no such key 401. security.allow_unsafe_dynamic_mtls_token
 * restores the old rule (a token header wins, the certificate is the fallback). A second step
 * then requires the certificate (or, without one, the session's) to be in the certificate store.
 *
 * Certificate-token binding (session mtls_static_certificate_bindings, newer Tyk): on an API with
 * use_mutual_tls_auth, a key listing bindings is only accepted with a client certificate whose
 * id (API org + sha256) is listed, else 401; for such keys this replaces the store check.
 */
#include "gw_messages.h"
#include "gw_mw_common.h"

#include "tk_hash.h"
#include "tk_log.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>

#define DISALLOWED "Access to this API has been disallowed"

struct state {
    gw_auth_source_t src;
    bool use_certificate; /* auth_configs.authToken.use_certificate */
    bool unsafe;          /* security.allow_unsafe_dynamic_mtls_token */
    bool static_mtls;     /* use_mutual_tls_auth: sessions' certificate bindings apply */
};

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_uses_auth_token(api);
}

/* The AuthConfig gw_auth_source_load reads (auth_configs.authToken, else legacy "auth"). */
static bool uses_certificate(const gw_api_t *api)
{
    json_t *cfg = json_object_get(json_object_get(api->def, "auth_configs"), "authToken");
    if (!json_is_object(cfg))
        cfg = json_object_get(api->def, "auth");
    return json_is_true(json_object_get(cfg, "use_certificate"));
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(errs);
    struct state *st = tk_xcalloc(1, sizeof(*st));
    gw_auth_source_load(&st->src, api->def, "authToken");
    st->use_certificate = uses_certificate(api);
    st->unsafe = conf->security_allow_unsafe_dynamic_mtls_token;
    st->static_mtls = json_is_true(json_object_get(api->def, "use_mutual_tls_auth"));
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    struct state *st = mw->state;
    gw_auth_source_free(&st->src);
    free(st);
}

static int deny(gw_req_t *req, int status, const char *msg)
{
    req->err_status = status;
    req->err_msg = msg;
    return TK_ERROR;
}

/* The client certificate's Tyk ID (org + lowercase hex SHA-256 of the DER) in the arena, or
 * NULL without one; *@expired tells whether it is past notAfter. */
static char *peer_cert_id(gw_req_t *req, SSL *ssl, bool *expired)
{
    X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    *expired = false;
    if (!cert)
        return NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    X509_digest(cert, EVP_sha256(), md, &mdlen);
    *expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
    X509_free(cert);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * mdlen] = '\0';
    return tk_arena_printf(req->arena, "%s%s", req->api->org_id ? req->api->org_id : "", hex);
}

/* generateToken(api org, @id) with the configured hash_key_function. */
static char *cert_token(gw_req_t *req, const char *id)
{
    const gw_conf_t *conf = gw_req_conf(req);
    enum tk_hash_algo h =
        tk_hash_algo_parse(conf->hash_key_function, strlen(conf->hash_key_function), NULL);
    char *t = tk_token_generate(req->api->org_id, id, h);
    char *at = tk_arena_strdup(req->arena, t);
    free(t);
    return at;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    const gw_conf_t *conf = gw_req_conf(req);
    char *tok = gw_auth_token_get(req, &st->src, true);
    SSL *ssl = st->use_certificate ? tk_stream_ssl(req->conn->st) : NULL;
    int unknown_status; /* an unknown key, with tyk.conf override_messages applied */
    const char *unknown_msg;
    gw_msg_get(conf, GW_MSG_AUTH_KEY_NOT_FOUND, &unknown_status, &unknown_msg);
    if (ssl) {
        bool expired;
        char *cert_id = peer_cert_id(req, ssl, &expired);
        if (cert_id && expired)
            return gw_msg_deny(req, GW_MSG_AUTH_CERT_EXPIRED);
        if (!st->unsafe) {
            if (!cert_id)
                return gw_msg_deny(req, GW_MSG_AUTH_CERT_REQUIRED);
            int status;
            const char *msg;
            gw_msg_get(conf, GW_MSG_AUTH_CERT_MISMATCH, &status, &msg);
            return gw_session_lookup_as(req, cert_token(req, cert_id), status, msg);
        }
        if (!tok && cert_id)
            return gw_session_lookup_as(req, cert_token(req, cert_id), unknown_status, unknown_msg);
    }
    if (!tok)
        return gw_msg_deny(req, GW_MSG_AUTH_FIELD_MISSING);
    int64_t min_len = conf->min_token_length > 0 ? conf->min_token_length : 3;
    if ((int64_t)strlen(tok) < min_len)
        return gw_msg_deny(req, GW_MSG_AUTH_KEY_NOT_FOUND);
    return gw_session_lookup_as(req, tok, unknown_status, unknown_msg);
}

/* ---- second step: the certificate binding (static mTLS), or for use_certificate the
 * certificate must be in the certificate store ---- */

static bool enabled_cert(const gw_api_t *api, const gw_conf_t *conf)
{
    return enabled(api, conf) && (uses_certificate(api) ||
                                  json_is_true(json_object_get(api->def, "use_mutual_tls_auth")));
}

static bool listed(const gw_strv_t *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], id) == 0)
            return true;
    return false;
}

static void on_exists(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    gw_req_t *req = gw_wait_end(arg);
    if (!req)
        return;
    int rc = TK_OK;
    if (!reply || reply->type != REDIS_REPLY_INTEGER)
        rc = deny(req, 503, "Session store unavailable, please retry");
    else if (reply->integer < 1)
        rc = gw_msg_deny(req, GW_MSG_AUTH_CERT_NOT_FOUND);
    gw_pipeline_resume(req, rc);
}

static int on_cert(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    if (!req->session)
        return st->use_certificate ? deny(req, 403, DISALLOWED) : TK_OK;
    const gw_strv_t *bindings = &req->session->s->mtls_static_certificate_bindings;
    bool binding = st->static_mtls && bindings->n > 0;
    if (!st->use_certificate && !binding)
        return TK_OK;
    SSL *ssl = tk_stream_ssl(req->conn->st);
    bool expired;
    const char *lookup = peer_cert_id(req, ssl, &expired);
    if (lookup && expired) /* a token header with an expired certificate (unsafe mode) */
        return gw_msg_deny(req, GW_MSG_AUTH_CERT_EXPIRED);
    if (binding && lookup)
        return listed(bindings, lookup) ? TK_OK : gw_msg_deny(req, GW_MSG_AUTH_CERT_MISMATCH);
    if (!st->use_certificate)
        return TK_OK; /* no certificate: CertificateCheck has already refused the request */
    if (!lookup) {
        /* No certificate (plain HTTP, or unsafe mode): a session bound to one still needs it
         * to exist in the store. */
        lookup = req->session->s->certificate;
        if (!lookup || !*lookup)
            return TK_OK;
    }
    const char *argv[2] = {"EXISTS", tk_arena_printf(req->arena, "cert-raw-%s", lookup)};
    gw_wait_t *w = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_exists, w, 2, argv, NULL) != TK_OK) {
        gw_wait_end(w);
        return deny(req, 503, "Session store unavailable, please retry");
    }
    return TK_AGAIN;
}

const gw_mw_def_t gw_mw_auth_key = {
    .name = "AuthKey",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};

/* Registered right after gw_mw_auth_key, for APIs with use_certificate or use_mutual_tls_auth. */
const gw_mw_def_t gw_mw_auth_key_cert = {
    .name = "AuthKey(certificate)",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled_cert,
    .init = init,
    .on_req = on_cert,
    .dispose = dispose,
};
