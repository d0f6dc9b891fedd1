/* SPDX-License-Identifier: Apache-2.0 */
/* RSA HTTP signatures: finding the public key as Tyk's ListRawPublicKey does, then verifying. */
#include "gw_hmac_rsa.h"

#include "gw_mw.h"
#include "gw_pipeline.h"
#include "tk_base64.h"
#include "tk_log.h"
#include "tk_redis.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAD_SIG_MSG "Authorization field missing, malformed or invalid"
#define NO_KEY_MSG "Certificate not found"
#define NOT_RSA_MSG "Certificate doesn't contain RSA Public key"
#define FILE_MAX (1 << 20)

/* The first PEM block's bytes parsed as SubjectPublicKeyInfo, or NULL. */
static EVP_PKEY *first_block_pubkey(const char *pem, size_t n)
{
    BIO *in = BIO_new_mem_buf(pem, (int)n);
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    EVP_PKEY *k = NULL;
    if (in && PEM_read_bio(in, &name, &header, &data, &len)) {
        const unsigned char *p = data;
        k = d2i_PUBKEY(NULL, &p, len);
        if (k && p != data + len) { /* trailing bytes: Go's asn1 rejects them */
            EVP_PKEY_free(k);
            k = NULL;
        }
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(in);
    ERR_clear_error();
    return k;
}

enum gw_rsa_result gw_rsa_verify_pem(const char *pem, size_t pem_len, const char *signing,
                                     size_t signing_len, const char *sig_b64)
{
    if (!pem || pem_len > INT32_MAX)
        return GW_RSA_NO_KEY;
    EVP_PKEY *k = first_block_pubkey(pem, pem_len);
    if (!k)
        return GW_RSA_NO_KEY;
    int type = EVP_PKEY_get_base_id(k);
    if (type != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        /* Go does not parse RSASSA-PSS keys at all; other key types parse but are not RSA. */
        return type == EVP_PKEY_RSA_PSS ? GW_RSA_NO_KEY : GW_RSA_NOT_RSA;
    }
    size_t sig_len = 0;
    unsigned char *sig =
        tk_b64_decode(sig_b64 ? sig_b64 : "", sig_b64 ? strlen(sig_b64) : 0, false, true, &sig_len);
    enum gw_rsa_result r = GW_RSA_BAD_SIGNATURE;
    EVP_MD_CTX *md = sig ? EVP_MD_CTX_new() : NULL;
    EVP_PKEY_CTX *pctx = NULL;
    if (md && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, k) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)signing, signing_len) == 1)
        r = GW_RSA_OK;
    EVP_MD_CTX_free(md);
    free(sig);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return r;
}

bool gw_cert_id_is_stored(const char *id)
{
    size_t n = strlen(id);
    if (n % 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tk_hexval(id[i]) < 0)
            return false;
    return true;
}

static int finish(gw_req_t *req, enum gw_rsa_result r, gw_rsa_after_fn after, const void *arg)
{
    switch (r) {
    case GW_RSA_OK:
        return after ? after(req, arg) : TK_OK;
    case GW_RSA_NO_KEY:
        req->err_status = 500;
        req->err_msg = NO_KEY_MSG;
        return TK_ERROR;
    case GW_RSA_NOT_RSA:
        req->err_status = 500;
        req->err_msg = NOT_RSA_MSG;
        return TK_ERROR;
    default:
        req->err_status = 400;
        req->err_msg = BAD_SIG_MSG;
        return TK_ERROR;
    }
}

struct fetch {
    gw_wait_t *wait;
    char *signing;
    size_t signing_len;
    char *sig;
    gw_rsa_after_fn after;
    const void *arg;
};

static void fetch_free(struct fetch *f)
{
    free(f->signing);
    free(f->sig);
    free(f);
}

static void on_cert(tk_redis_t *r, redisReply *reply, void *argp)
{
    TK_UNUSED(r);
    struct fetch *f = argp;
    gw_req_t *req = gw_wait_end(f->wait);
    if (!req) {
        fetch_free(f);
        return;
    }
    int rc;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        req->err_status = 503;
        req->err_msg = "Session store unavailable, please retry";
        rc = TK_ERROR;
    } else {
        /* A missing entry is "Certificate not found", as Tyk's failed GetKey. */
        bool have = reply->type == REDIS_REPLY_STRING;
        enum gw_rsa_result res =
            have ? gw_rsa_verify_pem(reply->str, reply->len, f->signing, f->signing_len, f->sig)
                 : GW_RSA_NO_KEY;
        rc = finish(req, res, f->after, f->arg);
    }
    fetch_free(f);
    gw_pipeline_resume(req, rc);
}

/* Tyk reads a non-ID, non-PEM rsa_certificate_id as a file path (small, on this thread). */
static enum gw_rsa_result verify_file(const char *path, const char *signing, size_t signing_len,
                                      const char *sig)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        tk_log_warn("hmac: rsa_certificate_id file %s: cannot open", path);
        return GW_RSA_NO_KEY;
    }
    char *buf = tk_xmalloc(FILE_MAX);
    size_t n = fread(buf, 1, FILE_MAX, fp);
    fclose(fp);
    enum gw_rsa_result r = gw_rsa_verify_pem(buf, n, signing, signing_len, sig);
    free(buf);
    return r;
}

int gw_hmac_rsa_verify(gw_req_t *req, const char *cert_id, const char *signing, size_t signing_len,
                       const char *sig_b64, gw_rsa_after_fn after, const void *arg)
{
    if (strstr(cert_id, "-----BEGIN ")) /* inline PEM (Tyk's IsPEMContent) */
        return finish(req,
                      gw_rsa_verify_pem(cert_id, strlen(cert_id), signing, signing_len, sig_b64),
                      after, arg);
    if (!gw_cert_id_is_stored(cert_id))
        return finish(req, verify_file(cert_id, signing, signing_len, sig_b64), after, arg);
    struct fetch *f = tk_xcalloc(1, sizeof(*f));
    f->signing = tk_xmalloc(signing_len + 1);
    memcpy(f->signing, signing, signing_len);
    f->signing[signing_len] = '\0';
    f->signing_len = signing_len;
    f->sig = tk_xstrdup(sig_b64 ? sig_b64 : "");
    f->after = after;
    f->arg = arg;
    char *key = tk_arena_printf(req->arena, "cert-raw-%s", cert_id);
    const char *argv[2] = {"GET", key};
    f->wait = gw_wait_begin(req);
    if (!key || tk_redis_cmd_argv(req->conn->w->redis, on_cert, f, 2, argv, NULL) != TK_OK) {
        gw_wait_end(f->wait);
        fetch_free(f);
        req->err_status = 503;
        req->err_msg = "Session store unavailable, please retry";
        return TK_ERROR;
    }
    return TK_AGAIN;
}
