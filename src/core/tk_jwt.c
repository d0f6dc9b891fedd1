/* SPDX-License-Identifier: Apache-2.0 */
/* Compact JWS (JWT) parsing and OpenSSL EVP verification with Tyk's (golang-jwt v4) rules. */
#include "tk_jwt.h"

#include "tk_base64.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

struct tk_jwt {
    char *alg;
    const char *kid; /* points into header */
    const char *typ; /* points into header */
    json_t *header;
    json_t *claims;
    char *signing_input;
    size_t signing_input_len;
    unsigned char *sig; /* NULL if the segment was not valid base64url */
    size_t sig_len;
};

enum key_kind { KEY_SECRET, KEY_PKEY };

struct tk_jwt_key {
    enum key_kind kind;
    unsigned char *secret;
    size_t secret_len;
    EVP_PKEY *pkey;
    int pkey_type; /* EVP_PKEY_RSA or EVP_PKEY_EC */
};

struct tk_jwks {
    json_t *root;
    json_t *keys; /* borrowed from root; always an array */
};

/* Every algorithm golang-jwt v4 registers; the ones we cannot verify have no digest. */
struct alg_info {
    const char *name;
    enum tk_jwt_family family;
    int bits;    /* digest size: 256/384/512, 0 for none/EdDSA */
    bool pss;    /* PS* */
    size_t ecsz; /* ES*: bytes per r and s */
};

static const struct alg_info algs[] = {
    {"HS256", TK_JWT_FAMILY_HMAC, 256, false, 0},   {"HS384", TK_JWT_FAMILY_HMAC, 384, false, 0},
    {"HS512", TK_JWT_FAMILY_HMAC, 512, false, 0},   {"RS256", TK_JWT_FAMILY_RSA, 256, false, 0},
    {"RS384", TK_JWT_FAMILY_RSA, 384, false, 0},    {"RS512", TK_JWT_FAMILY_RSA, 512, false, 0},
    {"PS256", TK_JWT_FAMILY_RSA, 256, true, 0},     {"PS384", TK_JWT_FAMILY_RSA, 384, true, 0},
    {"PS512", TK_JWT_FAMILY_RSA, 512, true, 0},     {"ES256", TK_JWT_FAMILY_ECDSA, 256, false, 32},
    {"ES384", TK_JWT_FAMILY_ECDSA, 384, false, 48}, {"ES512", TK_JWT_FAMILY_ECDSA, 512, false, 66},
    {"EdDSA", TK_JWT_FAMILY_OTHER, 0, false, 0},    {"none", TK_JWT_FAMILY_OTHER, 0, false, 0},
};

static const struct alg_info *alg_lookup(const char *alg)
{
    if (alg == NULL)
        return NULL;
    for (size_t i = 0; i < TK_ARRAY_LEN(algs); i++)
        if (strcmp(algs[i].name, alg) == 0)
            return &algs[i];
    return NULL;
}

static const EVP_MD *digest_for(int bits)
{
    switch (bits) {
    case 256:
        return EVP_sha256();
    case 384:
        return EVP_sha384();
    case 512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

/* go-jose's JWK fields: base64url, trailing '=' tolerated. */
static unsigned char *jwk_b64(const json_t *obj, const char *field, size_t *out_len)
{
    const json_t *v = json_object_get(obj, field);
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    while (len > 0 && s[len - 1] == '=')
        len--;
    return tk_b64_decode(s, len, true, false, out_len);
}

/* ---- parsing --------------------------------------------------------------------------- */

static json_t *load_json(const unsigned char *buf, size_t len, size_t flags)
{
    json_error_t e;
    /* Go accepts \u0000 in strings; accessors below refuse strings with embedded NULs. */
    json_t *j = json_loadb((const char *)buf, len, flags | JSON_ALLOW_NUL, &e);
    /* Go decodes numbers as float64, so integers jansson cannot hold are still valid. */
    if (j == NULL && json_error_code(&e) == json_error_numeric_overflow)
        j = json_loadb((const char *)buf, len, flags | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                       &e);
    return j;
}

/* Go unmarshals `null` into a nil map without error; anything else must be an object. */
static json_t *as_object(json_t *j)
{
    if (json_is_null(j)) {
        json_decref(j);
        return json_object();
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static const char *plain_string(const json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    return strlen(s) == json_string_length(v) ? s : NULL;
}

tk_jwt_t *tk_jwt_parse(const char *token, size_t len, size_t max_len, enum tk_jwt_err *err)
{
    enum tk_jwt_err e = TK_JWT_OK;
    tk_jwt_t *jwt = NULL;
    unsigned char *hbuf = NULL, *cbuf = NULL;
    size_t hlen, clen;

    if (len > max_len) {
        e = TK_JWT_ERR_TOO_LARGE;
        goto fail;
    }
    const char *d1 = token ? memchr(token, '.', len) : NULL;
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL) {
        e = TK_JWT_ERR_SEGMENTS;
        goto fail;
    }

    jwt = tk_xcalloc(1, sizeof(*jwt));
    hbuf = tk_b64_decode(token, (size_t)(d1 - token), true, false, &hlen);
    if (hbuf == NULL) {
        e = TK_JWT_ERR_BASE64;
        goto fail;
    }
    jwt->header = as_object(load_json(hbuf, hlen, JSON_DECODE_ANY));
    if (jwt->header == NULL) {
        e = TK_JWT_ERR_HEADER_JSON;
        goto fail;
    }
    cbuf = tk_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), true, false, &clen);
    if (cbuf == NULL) {
        e = TK_JWT_ERR_BASE64;
        goto fail;
    }
    /* Go reads the claims with json.Decoder, which stops after the first value. */
    jwt->claims = as_object(load_json(cbuf, clen, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK));
    if (jwt->claims == NULL) {
        e = TK_JWT_ERR_CLAIMS_JSON;
        goto fail;
    }

    const json_t *alg = json_object_get(jwt->header, "alg");
    if (!json_is_string(alg)) {
        e = TK_JWT_ERR_ALG_MISSING;
        goto fail;
    }
    if (plain_string(alg) == NULL || alg_lookup(json_string_value(alg)) == NULL) {
        e = TK_JWT_ERR_ALG_UNKNOWN;
        goto fail;
    }
    jwt->alg = tk_xstrdup(json_string_value(alg));
    jwt->kid = plain_string(json_object_get(jwt->header, "kid"));
    jwt->typ = plain_string(json_object_get(jwt->header, "typ"));

    jwt->signing_input_len = (size_t)(d2 - token);
    jwt->signing_input = tk_xstrndup(token, jwt->signing_input_len);
    /* A bad signature encoding only fails verification: Go checks the method first. */
    jwt->sig = tk_b64_decode(d2 + 1, len - (size_t)(d2 + 1 - token), true, false, &jwt->sig_len);
    if (jwt->sig == NULL)
        jwt->sig_len = 0;

    free(hbuf);
    free(cbuf);
    if (err)
        *err = TK_JWT_OK;
    return jwt;
fail:
    free(hbuf);
    free(cbuf);
    tk_jwt_free(jwt);
    if (err)
        *err = e;
    return NULL;
}

void tk_jwt_free(tk_jwt_t *jwt)
{
    if (jwt == NULL)
        return;
    free(jwt->alg);
    json_decref(jwt->header);
    json_decref(jwt->claims);
    free(jwt->signing_input);
    free(jwt->sig);
    free(jwt);
}

const char *tk_jwt_alg(const tk_jwt_t *jwt)
{
    return jwt->alg;
}

const char *tk_jwt_kid(const tk_jwt_t *jwt)
{
    return jwt->kid;
}

const char *tk_jwt_typ(const tk_jwt_t *jwt)
{
    return jwt->typ;
}

json_t *tk_jwt_header(const tk_jwt_t *jwt)
{
    return jwt->header;
}

json_t *tk_jwt_claims(const tk_jwt_t *jwt)
{
    return jwt->claims;
}

const char *tk_jwt_signing_input(const tk_jwt_t *jwt, size_t *len)
{
    *len = jwt->signing_input_len;
    return jwt->signing_input;
}

const unsigned char *tk_jwt_signature(const tk_jwt_t *jwt, size_t *len)
{
    *len = jwt->sig_len;
    return jwt->sig;
}

/* ---- claims ---------------------------------------------------------------------------- */

/* Tyk's nestedMapLookup: split on every '.', each step must index an object. */
static const json_t *nested_lookup(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *p = path;
    for (;;) {
        if (!json_is_object(cur))
            return NULL;
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        cur = json_object_getn(cur, p, n);
        if (cur == NULL || dot == NULL)
            return cur;
        p = dot + 1;
    }
}

const json_t *tk_jwt_claim_get(const tk_jwt_t *jwt, const char *path)
{
    const json_t *v = json_object_get(jwt->claims, path);
    if (v == NULL && strchr(path, '.') != NULL)
        v = nested_lookup(jwt->claims, path);
    return v;
}

const char *tk_jwt_claim_string(const tk_jwt_t *jwt, const char *path)
{
    const char *s = plain_string(json_object_get(jwt->claims, path));
    if (s != NULL && *s != '\0')
        return s;
    if (strchr(path, '.') != NULL) {
        s = plain_string(nested_lookup(jwt->claims, path));
        if (s != NULL && *s != '\0')
            return s;
    }
    return NULL;
}

/* Seconds between Go's zero time (year 1) and the Unix epoch; Go compares in that base. */
#define GO_UNIX_TO_INTERNAL INT64_C(62135596800)

static int64_t go_internal(int64_t unix_sec)
{
    /* Go adds the offset with wrapping int64 arithmetic; do the same. */
    return (int64_t)((uint64_t)unix_sec + (uint64_t)GO_UNIX_TO_INTERNAL);
}

/* now +/- skew with Go's wrapping int64 arithmetic (no UB for extreme clocks). */
static int64_t wrap_add(time_t now, int64_t delta)
{
    return (int64_t)((uint64_t)(int64_t)now + (uint64_t)delta);
}

/*
 * jwt v4 NumericDate from a JSON number: 0 means unset, otherwise the value is
 * cut to whole seconds (floor). Returns 0 = ignore, 1 = *out set, -1 = wrong type.
 */
static int claim_time(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    double f;
    if (v == NULL)
        return 0;
    if (json_is_integer(v))
        f = (double)json_integer_value(v); /* Go holds every number as float64 */
    else if (json_is_real(v))
        f = json_real_value(v);
    else
        return -1;
    if (f == 0)
        return 0;
    double fl = floor(f);
    /* Out-of-range float64 -> int64 conversion yields INT64_MIN on amd64 Go. */
    if (!(fl >= -9223372036854775808.0 && fl < 9223372036854775808.0))
        *out = INT64_MIN;
    else
        *out = (int64_t)fl;
    return 1;
}

enum tk_jwt_err tk_jwt_check_times(const tk_jwt_t *jwt, time_t now, unsigned exp_skew,
                                   unsigned iat_skew, unsigned nbf_skew)
{
    enum tk_jwt_err e = TK_JWT_OK;
    int64_t t = 0;
    int r;

    /* exp: valid while now - skew is strictly before exp. */
    r = claim_time(jwt->claims, "exp", &t);
    if (r < 0 || (r > 0 && !(go_internal(wrap_add(now, -(int64_t)exp_skew)) < go_internal(t))))
        e = TK_JWT_ERR_EXPIRED;
    /* iat / nbf: valid once now + skew reaches them. Later failures overwrite, as in Tyk. */
    r = claim_time(jwt->claims, "iat", &t);
    if (r < 0 || (r > 0 && go_internal(wrap_add(now, iat_skew)) < go_internal(t)))
        e = TK_JWT_ERR_USED_BEFORE_ISSUED;
    r = claim_time(jwt->claims, "nbf", &t);
    if (r < 0 || (r > 0 && go_internal(wrap_add(now, nbf_skew)) < go_internal(t)))
        e = TK_JWT_ERR_NOT_VALID_YET;
    return e;
}

int tk_jwt_validate_times(const tk_jwt_t *jwt, time_t now, unsigned exp_skew, unsigned iat_skew,
                          unsigned nbf_skew, const char **reason)
{
    enum tk_jwt_err e = tk_jwt_check_times(jwt, now, exp_skew, iat_skew, nbf_skew);
    if (reason)
        *reason = e == TK_JWT_OK ? NULL : tk_jwt_strerror(e);
    return e == TK_JWT_OK ? TK_OK : TK_ERROR;
}

/* ---- method ---------------------------------------------------------------------------- */

enum tk_jwt_family tk_jwt_alg_family(const char *alg)
{
    const struct alg_info *a = alg_lookup(alg);
    return a ? a->family : TK_JWT_FAMILY_UNKNOWN;
}

enum tk_jwt_err tk_jwt_check_method(const tk_jwt_t *jwt, const char *method)
{
    enum tk_jwt_family want = TK_JWT_FAMILY_HMAC; /* Tyk's default for unset/unknown */
    if (method != NULL && strcmp(method, "rsa") == 0)
        want = TK_JWT_FAMILY_RSA;
    else if (method != NULL && strcmp(method, "ecdsa") == 0)
        want = TK_JWT_FAMILY_ECDSA;
    return tk_jwt_alg_family(jwt->alg) == want ? TK_JWT_OK : TK_JWT_ERR_UNEXPECTED_METHOD;
}

/* ---- keys ------------------------------------------------------------------------------ */

static tk_jwt_key_t *key_from_pkey(EVP_PKEY *pkey)
{
    int type = EVP_PKEY_get_base_id(pkey);
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    tk_jwt_key_t *k = tk_xcalloc(1, sizeof(*k));
    k->kind = KEY_PKEY;
    k->pkey = pkey;
    k->pkey_type = type;
    return k;
}

tk_jwt_key_t *tk_jwt_key_from_secret(const void *secret, size_t len)
{
    tk_jwt_key_t *k = tk_xcalloc(1, sizeof(*k));
    k->kind = KEY_SECRET;
    k->secret = tk_xmalloc(len + 1); /* never NULL, so HMAC() always gets a key pointer */
    if (len)
        memcpy(k->secret, secret, len);
    k->secret_len = len;
    return k;
}

/* DER SubjectPublicKeyInfo, else DER certificate; Go rejects trailing bytes for both. */
static EVP_PKEY *pkey_from_der(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey != NULL && p != der + len) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    if (pkey == NULL) {
        p = der;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL && p == der + len)
            pkey = X509_get_pubkey(x);
        X509_free(x);
    }
    return pkey;
}

tk_jwt_key_t *tk_jwt_key_from_pem(const char *pem, size_t len)
{
    if (pem == NULL || len == 0 || len > INT32_MAX)
        return NULL;
    EVP_PKEY *pkey = NULL;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio != NULL && PEM_read_bio(bio, &name, &header, &data, &dlen) == 1)
        pkey = pkey_from_der(data, (size_t)dlen);
    else /* like Go's pem.Decode miss: try the bytes as DER */
        pkey = pkey_from_der((const unsigned char *)pem, len);
    BIO_free(bio);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    ERR_clear_error(); /* keep the thread's queue clean for TLS code */
    return pkey ? key_from_pkey(pkey) : NULL;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_from_jwk(const json_t *jwk)
{
    size_t nl = 0, el = 0;
    unsigned char *n = jwk_b64(jwk, "n", &nl), *e = jwk_b64(jwk, "e", &el);
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    if (n == NULL || e == NULL)
        goto done;
    bn = BN_bin2bn(n, (int)nl, NULL);
    be = BN_bin2bn(e, (int)el, NULL);
    /* A zero modulus or exponent is not a key; OpenSSL must never see one. */
    if (bn == NULL || be == NULL || BN_is_zero(bn) || BN_is_zero(be) || BN_num_bits(bn) < 512 ||
        !BN_is_odd(bn) || nl > 2048)
        goto done;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto done;
    pkey = pkey_fromdata("RSA", bld);
done:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pkey;
}

static EVP_PKEY *ec_from_jwk(const json_t *jwk)
{
    static const struct {
        const char *crv, *group;
        size_t size;
    } curves[] = {
        {"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}};
    const char *crv = plain_string(json_object_get(jwk, "crv"));
    size_t i, xl = 0, yl = 0;
    for (i = 0; crv != NULL && i < TK_ARRAY_LEN(curves); i++)
        if (strcmp(crv, curves[i].crv) == 0)
            break;
    if (crv == NULL || i == TK_ARRAY_LEN(curves))
        return NULL;
    unsigned char *x = jwk_b64(jwk, "x", &xl), *y = jwk_b64(jwk, "y", &yl);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    unsigned char pt[1 + 2 * 66];
    /* go-jose insists on full-size coordinates. */
    if (x == NULL || y == NULL || xl != curves[i].size || yl != curves[i].size)
        goto done;
    pt[0] = 0x04;
    memcpy(pt + 1, x, xl);
    memcpy(pt + 1 + xl, y, yl);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[i].group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + xl + yl))
        goto done;
    pkey = pkey_fromdata("EC", bld); /* decoding the point rejects points off the curve */
done:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return pkey;
}

static EVP_PKEY *x5c_pkey(const json_t *jwk)
{
    const char *c0 = plain_string(json_array_get(json_object_get(jwk, "x5c"), 0));
    size_t len = 0;
    if (c0 == NULL)
        return NULL;
    unsigned char *der = tk_b64_decode(c0, strlen(c0), false, true, &len);
    if (der == NULL)
        return NULL;
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p == der + len)
        pkey = X509_get_pubkey(x);
    X509_free(x);
    free(der);
    return pkey;
}

tk_jwt_key_t *tk_jwt_key_from_jwk(const json_t *jwk)
{
    const char *kty = plain_string(json_object_get(jwk, "kty"));
    EVP_PKEY *pkey = NULL;
    if (kty == NULL)
        return NULL;
    if (strcmp(kty, "oct") == 0) {
        size_t len = 0;
        unsigned char *k = jwk_b64(jwk, "k", &len);
        if (k == NULL)
            return NULL;
        tk_jwt_key_t *key = tk_jwt_key_from_secret(k, len);
        OPENSSL_cleanse(k, len);
        free(k);
        return key;
    }
    bool rsa = strcmp(kty, "RSA") == 0, ec = strcmp(kty, "EC") == 0;
    if (!rsa && !ec)
        return NULL;
    bool inline_key = rsa ? json_object_get(jwk, "n") != NULL || json_object_get(jwk, "e") != NULL
                          : json_object_get(jwk, "x") != NULL || json_object_get(jwk, "y") != NULL;
    if (inline_key) {
        pkey = rsa ? rsa_from_jwk(jwk) : ec_from_jwk(jwk);
        /* go-jose refuses a JWK whose x5c certificate holds a different key. */
        EVP_PKEY *cert = pkey && json_object_get(jwk, "x5c") ? x5c_pkey(jwk) : NULL;
        if (cert != NULL && EVP_PKEY_eq(pkey, cert) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        EVP_PKEY_free(cert);
    } else {
        pkey = x5c_pkey(jwk);
    }
    ERR_clear_error();
    if (pkey == NULL)
        return NULL;
    if (EVP_PKEY_get_base_id(pkey) != (rsa ? EVP_PKEY_RSA : EVP_PKEY_EC)) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return key_from_pkey(pkey);
}

void tk_jwt_key_free(tk_jwt_key_t *key)
{
    if (key == NULL)
        return;
    if (key->secret) {
        OPENSSL_cleanse(key->secret, key->secret_len);
        free(key->secret);
    }
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* ---- verification ---------------------------------------------------------------------- */

static bool evp_verify(const struct alg_info *a, EVP_PKEY *pkey, const unsigned char *sig,
                       size_t sig_len, const tk_jwt_t *jwt)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = false;
    if (mctx == NULL || EVP_DigestVerifyInit(mctx, &pctx, digest_for(a->bits), NULL, pkey) != 1)
        goto done;
    if (a->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))
        goto done;
    ok = EVP_DigestVerify(mctx, sig, sig_len, (const unsigned char *)jwt->signing_input,
                          jwt->signing_input_len) == 1;
done:
    EVP_MD_CTX_free(mctx);
    return ok;
}

/* JOSE ECDSA signatures are r||s, fixed width; OpenSSL wants DER ECDSA-Sig-Value. */
static bool ecdsa_verify(const struct alg_info *a, EVP_PKEY *pkey, const tk_jwt_t *jwt)
{
    if (jwt->sig_len != 2 * a->ecsz)
        return false;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(jwt->sig, (int)a->ecsz, NULL);
    BIGNUM *s = BN_bin2bn(jwt->sig + a->ecsz, (int)a->ecsz, NULL);
    unsigned char *der = NULL;
    bool ok = false;
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto done;
    }
    int dlen = i2d_ECDSA_SIG(es, &der);
    if (dlen > 0)
        ok = evp_verify(a, pkey, der, (size_t)dlen, jwt);
done:
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return ok;
}

static bool hmac_verify(const struct alg_info *a, const tk_jwt_key_t *key, const tk_jwt_t *jwt)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    if (HMAC(digest_for(a->bits), key->secret, (int)key->secret_len,
             (const unsigned char *)jwt->signing_input, jwt->signing_input_len, mac, &mlen) == NULL)
        return false;
    /* The length is public; only the bytes are compared in constant time. */
    return jwt->sig_len == mlen && CRYPTO_memcmp(jwt->sig, mac, mlen) == 0;
}

enum tk_jwt_err tk_jwt_verify(const tk_jwt_t *jwt, const tk_jwt_key_t *key)
{
    const struct alg_info *a = alg_lookup(jwt->alg);
    bool ok = false;
    if (a == NULL || key == NULL || a->family == TK_JWT_FAMILY_OTHER || key->secret_len > INT32_MAX)
        return TK_JWT_ERR_KEY;
    /* Like jwt v4, the key type has to fit the algorithm (ErrInvalidKeyType). */
    switch (a->family) {
    case TK_JWT_FAMILY_HMAC:
        if (key->kind != KEY_SECRET)
            return TK_JWT_ERR_KEY;
        if (jwt->sig != NULL)
            ok = hmac_verify(a, key, jwt);
        break;
    case TK_JWT_FAMILY_RSA:
        if (key->kind != KEY_PKEY || key->pkey_type != EVP_PKEY_RSA)
            return TK_JWT_ERR_KEY;
        /* Go's rsa.Verify* demand a signature exactly as long as the modulus. */
        if (jwt->sig != NULL && jwt->sig_len == (size_t)EVP_PKEY_get_size(key->pkey))
            ok = evp_verify(a, key->pkey, jwt->sig, jwt->sig_len, jwt);
        break;
    case TK_JWT_FAMILY_ECDSA:
        if (key->kind != KEY_PKEY || key->pkey_type != EVP_PKEY_EC)
            return TK_JWT_ERR_KEY;
        if (jwt->sig != NULL)
            ok = ecdsa_verify(a, key->pkey, jwt);
        break;
    default:
        return TK_JWT_ERR_KEY;
    }
    ERR_clear_error();
    return ok ? TK_JWT_OK : TK_JWT_ERR_SIGNATURE;
}

enum tk_jwt_err tk_jwt_verify_hmac(const tk_jwt_t *jwt, const void *secret, size_t len)
{
    tk_jwt_key_t *k = tk_jwt_key_from_secret(secret, len);
    enum tk_jwt_err e = tk_jwt_verify(jwt, k);
    tk_jwt_key_free(k);
    return e;
}

enum tk_jwt_err tk_jwt_verify_pem(const tk_jwt_t *jwt, const char *pem)
{
    tk_jwt_key_t *k = pem ? tk_jwt_key_from_pem(pem, strlen(pem)) : NULL;
    enum tk_jwt_err e = k ? tk_jwt_verify(jwt, k) : TK_JWT_ERR_KEY;
    tk_jwt_key_free(k);
    return e;
}

enum tk_jwt_err tk_jwt_verify_jwk(const tk_jwt_t *jwt, const json_t *jwk)
{
    tk_jwt_key_t *k = tk_jwt_key_from_jwk(jwk);
    enum tk_jwt_err e = k ? tk_jwt_verify(jwt, k) : TK_JWT_ERR_KEY;
    tk_jwt_key_free(k);
    return e;
}

/* ---- JWKS ------------------------------------------------------------------------------ */

static char *errdup(char **err, const char *msg)
{
    if (err)
        *err = tk_xstrdup(msg);
    return NULL;
}

tk_jwks_t *tk_jwks_parse(const char *json, size_t len, char **err)
{
    json_error_t je;
    if (err)
        *err = NULL;
    json_t *root = json ? json_loadb(json, len, 0, &je) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        errdup(err, root ? "JWKS is not a JSON object" : "JWKS is not valid JSON");
        return NULL;
    }
    json_t *keys = json_object_get(root, "keys");
    if (keys == NULL || json_is_null(keys)) { /* go-jose: an empty set, not an error */
        keys = json_array();
        json_object_set_new(root, "keys", keys);
    }
    if (!json_is_array(keys)) {
        json_decref(root);
        errdup(err, "JWKS \"keys\" is not an array");
        return NULL;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        if (!json_is_object(k)) {
            json_decref(root);
            errdup(err, "JWKS key entry is not an object");
            return NULL;
        }
    }
    tk_jwks_t *set = tk_xcalloc(1, sizeof(*set));
    set->root = root;
    set->keys = keys;
    return set;
}

void tk_jwks_free(tk_jwks_t *jwks)
{
    if (jwks == NULL)
        return;
    json_decref(jwks->root);
    free(jwks);
}

size_t tk_jwks_count(const tk_jwks_t *jwks)
{
    return json_array_size(jwks->keys);
}

const json_t *tk_jwks_find(const tk_jwks_t *jwks, const char *kid, const char *kty)
{
    size_t i;
    const json_t *k;
    if (jwks == NULL || kid == NULL)
        return NULL;
    json_array_foreach(jwks->keys, i, k)
    {
        const json_t *v = json_object_get(k, "kid");
        const char *kk = v == NULL ? "" : plain_string(v);
        if (kk == NULL || strcmp(kk, kid) != 0)
            continue;
        if (kty != NULL) {
            const char *t = plain_string(json_object_get(k, "kty"));
            if (t == NULL || strcasecmp(t, kty) != 0)
                continue;
        }
        return k;
    }
    return NULL;
}

/* ---- messages -------------------------------------------------------------------------- */

const char *tk_jwt_strerror(enum tk_jwt_err err)
{
    switch (err) {
    case TK_JWT_OK:
        return "ok";
    case TK_JWT_ERR_TOO_LARGE:
        return "token too large";
    case TK_JWT_ERR_SEGMENTS:
        return "token contains an invalid number of segments";
    case TK_JWT_ERR_BASE64:
        return "illegal base64 data";
    case TK_JWT_ERR_HEADER_JSON:
        return "token header is not a JSON object";
    case TK_JWT_ERR_CLAIMS_JSON:
        return "token claims are not a JSON object";
    case TK_JWT_ERR_ALG_MISSING:
        return "signing method (alg) is unspecified.";
    case TK_JWT_ERR_ALG_UNKNOWN:
        return "signing method (alg) is unavailable.";
    case TK_JWT_ERR_UNEXPECTED_METHOD:
        return "Unexpected signing method";
    case TK_JWT_ERR_KEY:
        return "key is invalid or of invalid type";
    case TK_JWT_ERR_SIGNATURE:
        return "signature is invalid";
    case TK_JWT_ERR_KID_NOT_STRING:
        return "kid is not a string";
    case TK_JWT_ERR_KID_NOT_FOUND:
        return "No matching KID could be found";
    case TK_JWT_ERR_EXPIRED:
        return "token has expired";
    case TK_JWT_ERR_USED_BEFORE_ISSUED:
        return "token used before issued";
    case TK_JWT_ERR_NOT_VALID_YET:
        return "token is not valid yet";
    }
    return "unknown error";
}

const char *tk_jwt_tyk_message(enum tk_jwt_err err)
{
    switch (err) {
    case TK_JWT_ERR_UNEXPECTED_METHOD:
        return "Key not authorized: Unexpected signing method";
    case TK_JWT_ERR_EXPIRED:
        return "Key not authorized: token has expired";
    case TK_JWT_ERR_USED_BEFORE_ISSUED:
        return "Key not authorized: token used before issued";
    case TK_JWT_ERR_NOT_VALID_YET:
        return "Key not authorized: token is not valid yet";
    default:
        return "Key not authorized";
    }
}

int tk_jwt_tyk_status(enum tk_jwt_err err)
{
    switch (err) {
    case TK_JWT_ERR_EXPIRED:
    case TK_JWT_ERR_USED_BEFORE_ISSUED:
    case TK_JWT_ERR_NOT_VALID_YET:
        return 401;
    default:
        return 403;
    }
}
