/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL 3 contexts for the gateway's listeners and its upstream connections. */
#include "gw_tls.h"

#include "gw_certstore.h"
#include "tk_log.h"

#include <openssl/err.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>

/* A name the listener answers SNI with, and the context holding that certificate. */
struct sni_cert {
    char *domain;
    SSL_CTX *ctx;
};

struct sni_table {
    struct sni_cert *v;
    size_t n;
};

/* tyk.conf certificates: "domain_name" of the file entries, and the certificates' own names
 * (Go's BuildNameToCertificate) of both the files and ssl_certificates. Set once at start-up. */
static struct sni_table sni, sni_own;
/* API "certificates", replaced with every generation (gw_tls_set_api_certs). */
static struct sni_table sni_api;
static pthread_mutex_t sni_api_lock = PTHREAD_MUTEX_INITIALIZER;

static void add_ssl_error(tk_conf_errors_t *errs, const char *what, const char *file)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    tk_conf_errors_add(errs, "%s %s: %s", what, file, buf);
}

static void apply_versions(SSL_CTX *ctx, int64_t minv, int64_t maxv)
{
    /* Tyk's codes are the TLS wire versions (771 = TLS 1.2), the same numbers OpenSSL uses. */
    SSL_CTX_set_min_proto_version(ctx, minv > 0 ? (int)minv : TLS1_2_VERSION);
    if (maxv > 0)
        SSL_CTX_set_max_proto_version(ctx, (int)maxv);
}

/* Client certificates are asked for but not required here: APIs with use_mutual_tls_auth
 * decide per request (CertificateCheck), the rest ignore them. Chains are not verified against
 * a CA: Tyk's static mTLS allows certificates by their SHA-256 fingerprint. */
static int accept_any_client_cert(int preverify_ok, X509_STORE_CTX *ctx)
{
    TK_UNUSED(preverify_ok);
    TK_UNUSED(ctx);
    return 1;
}

/* http_server_options.enable_http2: "h2" when the client offers it, else "http/1.1". */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    TK_UNUSED(ssl);
    TK_UNUSED(arg);
    static const unsigned char ours[] = "\x02h2\x08http/1.1";
    if (SSL_select_next_proto((unsigned char **)out, outlen, ours, sizeof(ours) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *server_base(const gw_conf_t *conf)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_client_cert);
    apply_versions(ctx, conf->hso_min_version, conf->hso_max_version);
    if (conf->hso_enable_http2)
        SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
    return ctx;
}

/* Puts @kp's certificate, chain and key in @ctx. */
static bool use_keypair(SSL_CTX *ctx, const gw_keypair_t *kp)
{
    if (SSL_CTX_use_certificate(ctx, kp->leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, kp->key) != 1)
        return false;
    for (int i = 0; kp->chain && i < sk_X509_num(kp->chain); i++)
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(kp->chain, i)) != 1)
            return false;
    return true;
}

static SSL_CTX *server_ctx_keypair(const gw_conf_t *conf, const gw_keypair_t *kp)
{
    SSL_CTX *ctx = server_base(conf);
    if (!use_keypair(ctx, kp)) {
        tk_log_error("certificate %s: cannot be used: %s", kp->id,
                     ERR_reason_error_string(ERR_get_error()));
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void table_add(struct sni_table *t, const char *name, SSL_CTX *ctx)
{
    t->v = tk_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
    t->v[t->n].domain = tk_xstrdup(name);
    t->v[t->n].ctx = ctx;
    SSL_CTX_up_ref(ctx);
    t->n++;
}

static void table_free(struct sni_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        SSL_CTX_free(t->v[i].ctx);
        free(t->v[i].domain);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* Later entries win, as later assignments to Go's NameToCertificate map do. */
static SSL_CTX *table_find(const struct sni_table *t, const char *name)
{
    for (size_t i = t->n; i-- > 0;)
        if (strcasecmp(t->v[i].domain, name) == 0)
            return t->v[i].ctx;
    return NULL;
}

static SSL_CTX *server_ctx(const gw_conf_t *conf, const char *cert, const char *key,
                           tk_conf_errors_t *errs)
{
    SSL_CTX *ctx = server_base(conf);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        add_ssl_error(errs, "certificate", cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        add_ssl_error(errs, "private key", key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Tyk's per-hello NameToCertificate: API certificates, then domain_name entries, then the
 * certificates' own names. */
static SSL_CTX *find_name(const char *name)
{
    SSL_CTX *ctx = table_find(&sni_api, name);
    if (!ctx)
        ctx = table_find(&sni, name);
    if (!ctx)
        ctx = table_find(&sni_own, name);
    return ctx;
}

static int on_sni(SSL *ssl, int *alert, void *arg)
{
    TK_UNUSED(alert);
    TK_UNUSED(arg);
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_OK;
    pthread_mutex_lock(&sni_api_lock);
    SSL_CTX *ctx = find_name(name);
    const char *dot = strchr(name, '.');
    if (!ctx && dot) {
        /* Go's getCertificate: the first label replaced by '*'. */
        char wild[300];
        snprintf(wild, sizeof(wild), "*%s", dot);
        ctx = find_name(wild);
    }
    /* SSL_set_SSL_CTX takes its own reference, so the table may change once we unlock. */
    if (ctx)
        SSL_set_SSL_CTX(ssl, ctx);
    pthread_mutex_unlock(&sni_api_lock);
    return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *gw_tls_client_ctx(const gw_conf_t *conf, bool verify, const gw_keypair_t *kp)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    apply_versions(ctx, conf->proxy_ssl_min_version, conf->proxy_ssl_max_version);
    if (verify) {
        /* Honours SSL_CERT_FILE / SSL_CERT_DIR, as Go's crypto/x509 does. */
        SSL_CTX_set_default_verify_paths(ctx);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (kp && !use_keypair(ctx, kp)) {
        tk_log_error("upstream certificate %s: cannot be used", kp->id);
        ERR_clear_error();
    }
    return ctx;
}

void gw_tls_set_api_certs(const gw_conf_t *conf, gw_keypair_t *const *kps, size_t n)
{
    struct sni_table fresh = {0};
    for (size_t i = 0; i < n; i++) {
        SSL_CTX *ctx = server_ctx_keypair(conf, kps[i]);
        if (!ctx)
            continue;
        /* Tyk adds the subject CN and every DNS SAN of an API certificate. */
        char cn[256];
        int len = X509_NAME_get_text_by_NID(X509_get_subject_name(kps[i]->leaf), NID_commonName, cn,
                                            sizeof(cn));
        if (len > 0)
            table_add(&fresh, cn, ctx);
        for (size_t k = 0; k < kps[i]->nnames; k++)
            table_add(&fresh, kps[i]->names[k], ctx);
        SSL_CTX_free(ctx);
    }
    pthread_mutex_lock(&sni_api_lock);
    struct sni_table old = sni_api;
    sni_api = fresh;
    pthread_mutex_unlock(&sni_api_lock);
    table_free(&old);
}

int gw_tls_setup(gw_server_t *srv, tk_conf_errors_t *errs)
{
    const gw_conf_t *conf = srv->conf;
    srv->up_ssl_verify = gw_tls_client_ctx(conf, true, NULL);
    srv->up_ssl_noverify = gw_tls_client_ctx(conf, false, NULL);
    if (!conf->hso_use_ssl)
        return TK_OK;
    size_t n = json_array_size(conf->hso_certificates);
    size_t nstore = conf->hso_ssl_certificates.n;
    if (n == 0 && nstore == 0) {
        tk_conf_errors_add(errs, "http_server_options.use_ssl is set but "
                                 "http_server_options.certificates is empty");
        return TK_ERROR;
    }
    SSL_CTX *first = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(conf->hso_certificates, i);
        const char *domain = json_string_value(json_object_get(c, "domain_name"));
        const char *cert = json_string_value(json_object_get(c, "cert_file"));
        const char *key = json_string_value(json_object_get(c, "key_file"));
        if (!cert || !key) {
            tk_conf_errors_add(errs,
                               "http_server_options.certificates[%zu]: cert_file and "
                               "key_file are required",
                               i);
            return TK_ERROR;
        }
        SSL_CTX *ctx = server_ctx(conf, cert, key, errs);
        if (!ctx)
            return TK_ERROR;
        table_add(&sni, domain ? domain : "", ctx);
        if (!first)
            first = ctx;
        else
            SSL_CTX_free(ctx);
    }
    /* Certificates from the store (or files) by ID: served by their own names. */
    if (nstore) {
        gw_keypair_t **kps =
            gw_certstore_load(conf, (const char *const *)conf->hso_ssl_certificates.v, nstore);
        for (size_t i = 0; i < nstore; i++) {
            SSL_CTX *ctx = kps[i] ? server_ctx_keypair(conf, kps[i]) : NULL;
            if (!ctx)
                continue;
            for (size_t k = 0; k < kps[i]->nnames; k++)
                table_add(&sni_own, kps[i]->names[k], ctx);
            if (!first)
                first = ctx;
            else
                SSL_CTX_free(ctx);
        }
        gw_keypairs_free(kps, nstore);
        if (!first) {
            tk_conf_errors_add(errs, "http_server_options.ssl_certificates: no certificate "
                                     "could be loaded");
            return TK_ERROR;
        }
    }
    /* The first certificate answers clients without SNI or with an unknown name. */
    srv->listen_ssl = first;
    SSL_CTX_set_tlsext_servername_callback(srv->listen_ssl, on_sni);
    return TK_OK;
}

void gw_tls_free(gw_server_t *srv)
{
    SSL_CTX_free(srv->listen_ssl);
    SSL_CTX_free(srv->up_ssl_verify);
    SSL_CTX_free(srv->up_ssl_noverify);
    table_free(&sni);
    table_free(&sni_own);
    pthread_mutex_lock(&sni_api_lock);
    table_free(&sni_api);
    pthread_mutex_unlock(&sni_api_lock);
}
