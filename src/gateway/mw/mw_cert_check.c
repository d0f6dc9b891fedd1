/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CertificateCheck: APIs with use_mutual_tls_auth admit only clients presenting one of the
 * certificates in client_certificates or tyk.conf security.certificates.apis (Tyk certificate
 * IDs: "<org><sha256 of the DER>").
 */
#include "gw_mw_common.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>

struct state {
    char **fingerprints; /* lowercase hex SHA-256, taken from the end of each certificate id */
    size_t n;
};

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return json_is_true(json_object_get(api->def, "use_mutual_tls_auth"));
}

static void add_id(struct state *st, const char *id)
{
    if (!id || strlen(id) < 64)
        return;
    char *fp = tk_xstrdup(id + strlen(id) - 64);
    for (char *p = fp; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    st->fingerprints[st->n++] = fp;
}

/* The allow-list: the API's client_certificates and tyk.conf security.certificates.apis. */
static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(errs);
    struct state *st = tk_xcalloc(1, sizeof(*st));
    json_t *ids = json_object_get(api->def, "client_certificates");
    const tk_strlist_t *global = &conf->security_certificates_apis;
    st->fingerprints = tk_xcalloc(json_array_size(ids) + global->n + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(ids); i++)
        add_id(st, json_string_value(json_array_get(ids, i)));
    for (size_t i = 0; i < global->n; i++)
        add_id(st, global->v[i]);
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    struct state *st = mw->state;
    for (size_t i = 0; i < st->n; i++)
        free(st->fingerprints[i]);
    free(st->fingerprints);
    free(st);
}

static int deny(gw_req_t *req, const char *msg)
{
    req->err_status = 403;
    req->err_msg = msg;
    return TK_ERROR;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    SSL *ssl = tk_stream_ssl(req->conn->st);
    if (!ssl)
        return deny(req, "TLS not enabled");
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        return deny(req, "Client TLS certificate is required");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    X509_digest(cert, EVP_sha256(), md, &mdlen);
    bool expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
    X509_free(cert);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    /* As Tyk: the allow list is matched first, and only an allowed certificate is reported as
     * expired; an expired stranger is "not allowed". */
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->fingerprints[i], hex) == 0)
            return expired ? deny(req, "Certificate has expired") : TK_OK;
    char *msg = tk_arena_printf(req->arena, "Certificate with SHA256 %s not allowed", hex);
    return deny(req, msg ? msg : "Certificate not allowed");
}

const gw_mw_def_t gw_mw_cert_check = {
    .name = "CertificateCheck",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
