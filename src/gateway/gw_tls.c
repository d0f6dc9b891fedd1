/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL 3 contexts for the gateway's listeners and its upstream connections. */
#include "gw_tls.h"

#include <openssl/err.h>
#include <strings.h>

struct sni_cert {
    char *domain;
    SSL_CTX *ctx;
};

static struct sni_cert *sni;
static size_t nsni;

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

static SSL_CTX *server_ctx(const gw_conf_t *conf, const char *cert, const char *key,
                           tk_conf_errors_t *errs)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_client_cert);
    apply_versions(ctx, conf->hso_min_version, conf->hso_max_version);
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

static int on_sni(SSL *ssl, int *alert, void *arg)
{
    TK_UNUSED(alert);
    TK_UNUSED(arg);
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_OK;
    for (size_t i = 0; i < nsni; i++) {
        if (strcasecmp(sni[i].domain, name) == 0) {
            SSL_set_SSL_CTX(ssl, sni[i].ctx);
            break;
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *client_ctx(const gw_conf_t *conf, bool verify)
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
    return ctx;
}

int gw_tls_setup(gw_server_t *srv, tk_conf_errors_t *errs)
{
    const gw_conf_t *conf = srv->conf;
    srv->up_ssl_verify = client_ctx(conf, true);
    srv->up_ssl_noverify = client_ctx(conf, false);
    if (!conf->hso_use_ssl)
        return TK_OK;
    size_t n = json_array_size(conf->hso_certificates);
    if (n == 0) {
        tk_conf_errors_add(errs, "http_server_options.use_ssl is set but "
                                 "http_server_options.certificates is empty");
        return TK_ERROR;
    }
    sni = tk_xcalloc(n, sizeof(*sni));
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
        sni[nsni].domain = tk_xstrdup(domain ? domain : "");
        sni[nsni].ctx = ctx;
        nsni++;
    }
    /* The first certificate answers clients without SNI or with an unknown name. */
    srv->listen_ssl = sni[0].ctx;
    SSL_CTX_up_ref(srv->listen_ssl);
    SSL_CTX_set_tlsext_servername_callback(srv->listen_ssl, on_sni);
    return TK_OK;
}

void gw_tls_free(gw_server_t *srv)
{
    SSL_CTX_free(srv->listen_ssl);
    SSL_CTX_free(srv->up_ssl_verify);
    SSL_CTX_free(srv->up_ssl_noverify);
    for (size_t i = 0; i < nsni; i++) {
        SSL_CTX_free(sni[i].ctx);
        free(sni[i].domain);
    }
    free(sni);
    sni = NULL;
    nsni = 0;
}
