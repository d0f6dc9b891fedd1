/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificates the gateway itself presents, taken from Tyk's certificate store ("cert-raw-<id>"
 * in Redis, private keys encrypted with the certificate secret) or from PEM files: upstream
 * client certificates (security.certificates.upstream, API upstream_certificates) and listener
 * certificates (http_server_options.ssl_certificates, API certificates).
 */
#ifndef GW_CERTSTORE_H
#define GW_CERTSTORE_H

#include "gw_gen.h"
#include "gw_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

/** A certificate with its private key, as Tyk's CertificateManager.List(..., Private) gives. */
typedef struct gw_keypair {
    char *id;
    X509 *leaf;
    STACK_OF(X509) * chain; /* the certificates after the leaf; may be NULL */
    EVP_PKEY *key;
    /* The names the certificate serves (SNI): subject CN, then DNS SANs. */
    char **names;
    size_t nnames;
} gw_keypair_t;

void gw_keypair_free(gw_keypair_t *kp);

/**
 * Parses PEM text holding certificates and one private key (plain, or encrypted as the store
 * keeps it: "Proc-Type: 4,ENCRYPTED" with DEK-Info, key derived from @secret). Returns NULL
 * when there is no certificate, no key, or the key does not match the first certificate.
 */
gw_keypair_t *gw_keypair_parse(const char *id, const char *text, size_t len, const char *secret);

/**
 * Loads @n keypairs: an entry naming a readable file is read from disk (Tyk accepts paths in
 * these lists), the others come from "cert-raw-<id>" in one MGET over a short-lived Redis
 * connection (this blocks the calling thread: call it only while building a generation or at
 * start-up, never on a worker). Returns an array of @n entries; entries that could not be
 * loaded are NULL and are logged. Free with gw_keypairs_free().
 */
gw_keypair_t **gw_certstore_load(const gw_conf_t *conf, const char *const *ids, size_t n);
void gw_keypairs_free(gw_keypair_t **kps, size_t n);

/** The secret that encrypts private keys in the store (Tyk: private_certificate_encoding_secret,
 *  else secret). */
const char *gw_cert_secret(const gw_conf_t *conf);

/** An upstream client certificate prepared for one target: client contexts that present it. */
typedef struct gw_upcert {
    char *id;
    SSL_CTX *verify;   /* verifies the upstream */
    SSL_CTX *noverify; /* ssl_insecure_skip_verify */
} gw_upcert_t;

void gw_upcert_free(gw_upcert_t *uc);

/**
 * Tyk's getCertificateIDForHost over the global map then the API's (later maps win): in each
 * map "*" < "*.<domain>" < "*.<domain:port>" < "<host>" < "<host:port>". @hostport is the
 * target URL's host[:port]. Maps are JSON objects of strings (NULL is skipped). Returns a
 * borrowed ID or NULL.
 */
const char *gw_upstream_cert_id(const char *hostport, const json_t *global_map,
                                const json_t *api_map);

/**
 * For a freshly built generation: gives every HTTPS target whose host has an upstream
 * certificate (security.certificates.upstream, API upstream_certificates unless
 * upstream_certificates_disabled) its gw_upcert, and hands the APIs' listener certificates
 * (API "certificates") to the TLS listener. Certificates are loaded once per generation.
 */
void gw_certstore_attach(gw_gen_t *g, const gw_conf_t *conf);

#endif
