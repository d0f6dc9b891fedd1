/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RSA HTTP signatures (Tyk's HMAC middleware with an "rsa*" algorithm): the key's
 * rsa_certificate_id names a public key (certificate store ID, inline PEM or a file), whose
 * RSA key verifies a PKCS#1 v1.5 SHA-256 signature over the signing string.
 */
#ifndef GW_HMAC_RSA_H
#define GW_HMAC_RSA_H

#include "gw_http.h"

enum gw_rsa_result {
    GW_RSA_OK = 0,
    GW_RSA_BAD_SIGNATURE, /* not base64, or does not verify: 400 */
    GW_RSA_NO_KEY,        /* 500 "Certificate not found" */
    GW_RSA_NOT_RSA,       /* 500 "Certificate doesn't contain RSA Public key" */
};

/**
 * Pure check: the first PEM block of @pem (@pem_len bytes) must be a PKIX public key (Go's
 * x509.ParsePKIXPublicKey), an RSA one; @sig_b64 is standard padded base64 of the signature.
 * Any "rsa*" algorithm hashes with SHA-256, as Tyk.
 */
enum gw_rsa_result gw_rsa_verify_pem(const char *pem, size_t pem_len, const char *signing,
                                     size_t signing_len, const char *sig_b64);

/** True when Tyk treats @id as a certificate-store ID (hex only, even length). */
bool gw_cert_id_is_stored(const char *id);

/** Runs once the key's signature verified (Tyk checks the date last); TK_OK or TK_ERROR. */
typedef int (*gw_rsa_after_fn)(gw_req_t *req, const void *arg);

/**
 * Resolves @cert_id (Redis "cert-raw-<id>" for a hex ID, inline PEM, else a file path), then
 * verifies. Returns TK_OK / TK_ERROR (req->err_status / err_msg set) or TK_AGAIN, when the
 * pipeline resumes with the result. @signing is copied; @after(@arg) runs on success and @arg
 * must live as long as the request's generation.
 */
int gw_hmac_rsa_verify(gw_req_t *req, const char *cert_id, const char *signing, size_t signing_len,
                       const char *sig_b64, gw_rsa_after_fn after, const void *arg);

#endif
