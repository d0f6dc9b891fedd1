/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_jwt: tokens signed by the openssl CLI, verified by our EVP code. */
#include "tk_jwt.h"
#include "tk_base64.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

static char dir[64];

/* ---- helpers: files, processes, encoding (test-side, independent of tk_jwt) ---------------- */

static const char *path(const char *name)
{
    static char buf[8][256];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* Runs argv (NULL-terminated) with output discarded; returns the exit status. */
static int run(const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(...)                                                                                   \
    do {                                                                                           \
        const char *const av_[] = {__VA_ARGS__, NULL};                                             \
        assert_int_equal(run(av_), 0);                                                             \
    } while (0)

static char *read_file(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static void write_file(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *b64(const unsigned char *in, size_t len, bool url)
{
    const char *abc = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(len / 3 * 4 + 8);
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = abc[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        if (!url) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        if (!url)
            out[o++] = '=';
    }
    out[o] = 0;
    return out;
}

static char *b64s(const char *s)
{
    return b64((const unsigned char *)s, strlen(s), true);
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *out = malloc(n);
    snprintf(out, n, "%s.%s.%s", a, b, c);
    return out;
}

/* DER ECDSA-Sig-Value from openssl dgst -> JOSE r||s. */
static unsigned char *der_to_raw(const unsigned char *der, size_t len, size_t half)
{
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
    assert_non_null(s);
    unsigned char *raw = malloc(2 * half);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, (int)half), (int)half);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + half, (int)half), (int)half);
    ECDSA_SIG_free(s);
    return raw;
}

/*
 * Signs "<b64 header>.<b64 claims>" with the openssl CLI. @key is a private key
 * file for RS/PS/ES, or a hex secret for HS. @saltlen picks the PSS salt length.
 */
static char *sign_token_ex(const char *alg, const char *hdr_json, const char *claims_json,
                           const char *key, const char *saltlen)
{
    char *h = b64s(hdr_json), *c = b64s(claims_json);
    size_t n = strlen(h) + strlen(c) + 2;
    char *input = malloc(n);
    snprintf(input, n, "%s.%s", h, c);
    write_file(path("in.bin"), input, strlen(input));
    unlink(path("sig.bin"));

    char md[16], macopt[600], sigopt[64];
    snprintf(md, sizeof(md), "-sha%s", alg + 2);
    if (alg[0] == 'H') {
        snprintf(macopt, sizeof(macopt), "hexkey:%s", key);
        RUN("openssl", "dgst", md, "-mac", "HMAC", "-macopt", macopt, "-binary", "-out",
            path("sig.bin"), path("in.bin"));
    } else if (alg[0] == 'P') {
        snprintf(sigopt, sizeof(sigopt), "rsa_pss_saltlen:%s", saltlen ? saltlen : "digest");
        RUN("openssl", "dgst", md, "-sign", key, "-sigopt", "rsa_padding_mode:pss", "-sigopt",
            sigopt, "-out", path("sig.bin"), path("in.bin"));
    } else {
        RUN("openssl", "dgst", md, "-sign", key, "-out", path("sig.bin"), path("in.bin"));
    }
    size_t slen;
    unsigned char *sig = (unsigned char *)read_file(path("sig.bin"), &slen);
    char *s;
    if (alg[0] == 'E') {
        size_t half = strcmp(alg, "ES256") == 0 ? 32 : strcmp(alg, "ES384") == 0 ? 48 : 66;
        unsigned char *raw = der_to_raw(sig, slen, half);
        s = b64(raw, 2 * half, true);
        free(raw);
    } else {
        s = b64(sig, slen, true);
    }
    char *tok = join3(h, c, s);
    free(h);
    free(c);
    free(s);
    free(sig);
    free(input);
    return tok;
}

static char *sign_token(const char *alg, const char *kid, const char *claims_json, const char *key)
{
    char hdr[256];
    if (kid)
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
    else
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    return sign_token_ex(alg, hdr, claims_json, key, NULL);
}

static tk_jwt_t *parse_ok(const char *tok)
{
    enum tk_jwt_err e = TK_JWT_ERR_KEY;
    tk_jwt_t *j = tk_jwt_parse(tok, strlen(tok), TK_JWT_DEFAULT_MAX_LEN, &e);
    assert_int_equal(e, TK_JWT_OK);
    assert_non_null(j);
    return j;
}

static enum tk_jwt_err parse_err(const char *tok)
{
    enum tk_jwt_err e = TK_JWT_OK;
    tk_jwt_t *j = tk_jwt_parse(tok, strlen(tok), TK_JWT_DEFAULT_MAX_LEN, &e);
    assert_null(j);
    return e;
}

/* Builds a JWK (kid, and n/e or crv/x/y) from a public key PEM with test-side OpenSSL. */
static json_t *jwk_from_pub(const char *pub_pem_file, const char *kid)
{
    FILE *f = fopen(pub_pem_file, "r");
    assert_non_null(f);
    EVP_PKEY *pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pk);
    json_t *j = json_object();
    json_object_set_new(j, "kid", json_string(kid));
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
        BIGNUM *n = NULL, *e = NULL;
        assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n));
        assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e));
        unsigned char buf[1024];
        int nl = BN_bn2bin(n, buf);
        char *s = b64(buf, (size_t)nl, true);
        json_object_set_new(j, "kty", json_string("RSA"));
        json_object_set_new(j, "n", json_string(s));
        free(s);
        int el = BN_bn2bin(e, buf);
        s = b64(buf, (size_t)el, true);
        json_object_set_new(j, "e", json_string(s));
        free(s);
        BN_free(n);
        BN_free(e);
    } else {
        unsigned char pt[200];
        size_t len = 0;
        assert_true(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
                                                    sizeof(pt), &len));
        assert_int_equal(pt[0], 4);
        size_t half = (len - 1) / 2;
        char *x = b64(pt + 1, half, true), *y = b64(pt + 1 + half, half, true);
        json_object_set_new(j, "kty", json_string("EC"));
        json_object_set_new(j, "crv",
                            json_string(half == 32   ? "P-256"
                                        : half == 48 ? "P-384"
                                                     : "P-521"));
        json_object_set_new(j, "x", json_string(x));
        json_object_set_new(j, "y", json_string(y));
        free(x);
        free(y);
    }
    EVP_PKEY_free(pk);
    return j;
}

static json_t *x5c_of(const char *der_file)
{
    size_t len;
    char *der = read_file(der_file, &len);
    char *s = b64((unsigned char *)der, len, false);
    json_t *a = json_pack("[s]", s);
    free(s);
    free(der);
    return a;
}

static char *pem_text(const char *file)
{
    return read_file(file, NULL);
}

#define HS_SECRET_HEX "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f"
static const unsigned char hs_secret[32] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

/* ---- fixtures ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tk_jwt_XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    struct {
        const char *name, *algo, *opt;
    } keys[] = {
        {"rsa1", "RSA", "rsa_keygen_bits:2048"},    {"rsa2", "RSA", "rsa_keygen_bits:2048"},
        {"ec256", "EC", "ec_paramgen_curve:P-256"}, {"ec256b", "EC", "ec_paramgen_curve:P-256"},
        {"ec384", "EC", "ec_paramgen_curve:P-384"}, {"ec521", "EC", "ec_paramgen_curve:P-521"},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char priv[64], pub[64], crt[64], crtder[64];
        snprintf(priv, sizeof(priv), "%s.pem", keys[i].name);
        snprintf(pub, sizeof(pub), "%s.pub", keys[i].name);
        snprintf(crt, sizeof(crt), "%s.crt", keys[i].name);
        snprintf(crtder, sizeof(crtder), "%s.der", keys[i].name);
        const char *const gen[] = {"openssl",   "genpkey", "-algorithm", keys[i].algo, "-pkeyopt",
                                   keys[i].opt, "-out",    path(priv),   NULL};
        const char *const pubout[] = {"openssl", "pkey", "-in",     path(priv),
                                      "-pubout", "-out", path(pub), NULL};
        const char *const cert[] = {"openssl",  "req",     "-x509",      "-new",  "-key",
                                    path(priv), "-subj",   "/CN=tk-jwt", "-days", "2",
                                    "-out",     path(crt), NULL};
        const char *const certder[] = {"openssl", "x509", "-in",        path(crt), "-outform",
                                       "DER",     "-out", path(crtder), NULL};
        if (run(gen) || run(pubout) || run(cert) || run(certder))
            return -1;
    }
    const char *const pkcs1[] = {
        "openssl",          "rsa", "-in", path("rsa1.pem"), "-RSAPublicKey_out", "-out",
        path("rsa1.pkcs1"), NULL};
    return run(pkcs1) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *const rm[] = {"rm", "-rf", dir, NULL};
    return run(rm) ? -1 : 0;
}

/* ---- tests --------------------------------------------------------------------------------- */

static const char *claims_basic = "{\"sub\":\"user-1\",\"exp\":4102444800,\"iat\":1700000000}";

static void every_alg(void **state)
{
    (void)state;
    static const struct {
        const char *alg, *key;
    } cases[] = {
        {"RS256", "rsa1"},  {"RS384", "rsa1"},  {"RS512", "rsa1"},
        {"PS256", "rsa1"},  {"PS384", "rsa1"},  {"PS512", "rsa1"},
        {"ES256", "ec256"}, {"ES384", "ec384"}, {"ES512", "ec521"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char f[64];
        snprintf(f, sizeof(f), "%s.pem", cases[i].key);
        char *tok = sign_token(cases[i].alg, "k1", claims_basic, path(f));
        tk_jwt_t *j = parse_ok(tok);
        assert_string_equal(tk_jwt_alg(j), cases[i].alg);
        assert_string_equal(tk_jwt_kid(j), "k1");
        assert_string_equal(tk_jwt_typ(j), "JWT");

        /* public key PEM */
        snprintf(f, sizeof(f), "%s.pub", cases[i].key);
        char *pem = pem_text(path(f));
        assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_OK);
        free(pem);
        /* certificate PEM */
        snprintf(f, sizeof(f), "%s.crt", cases[i].key);
        pem = pem_text(path(f));
        assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_OK);
        free(pem);
        /* JWK (n/e or crv/x/y) */
        snprintf(f, sizeof(f), "%s.pub", cases[i].key);
        json_t *jwk = jwk_from_pub(path(f), "k1");
        assert_int_equal(tk_jwt_verify_jwk(j, jwk), TK_JWT_OK);
        json_decref(jwk);

        size_t sl;
        assert_non_null(tk_jwt_signature(j, &sl));
        assert_true(sl > 0);
        tk_jwt_free(j);
        free(tok);
    }
    for (const char *const *a = (const char *const[]){"HS256", "HS384", "HS512", NULL}; *a; a++) {
        char *tok = sign_token(*a, NULL, claims_basic, HS_SECRET_HEX);
        tk_jwt_t *j = parse_ok(tok);
        assert_null(tk_jwt_kid(j));
        assert_int_equal(tk_jwt_verify_hmac(j, hs_secret, sizeof(hs_secret)), TK_JWT_OK);
        /* the same secret as an "oct" JWK */
        char *k = b64(hs_secret, sizeof(hs_secret), true);
        json_t *jwk = json_pack("{s:s,s:s}", "kty", "oct", "k", k);
        assert_int_equal(tk_jwt_verify_jwk(j, jwk), TK_JWT_OK);
        json_decref(jwk);
        free(k);
        tk_jwt_free(j);
        free(tok);
    }
}

/* Go verifies PSS with PSSSaltLengthAuto, so any salt length must pass. */
static void pss_any_salt(void **state)
{
    (void)state;
    char *pem = pem_text(path("rsa1.pub"));
    for (const char *const *s = (const char *const[]){"max", "0", "20", NULL}; *s; s++) {
        char *tok =
            sign_token_ex("PS256", "{\"alg\":\"PS256\"}", claims_basic, path("rsa1.pem"), *s);
        tk_jwt_t *j = parse_ok(tok);
        assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_OK);
        tk_jwt_free(j);
        free(tok);
    }
    free(pem);
}

static void wrong_key(void **state)
{
    (void)state;
    char *tok = sign_token("RS256", NULL, claims_basic, path("rsa1.pem"));
    tk_jwt_t *j = parse_ok(tok);
    char *pem = pem_text(path("rsa2.pub"));
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    free(pem);
    tk_jwt_free(j);
    free(tok);

    tok = sign_token("ES256", NULL, claims_basic, path("ec256.pem"));
    j = parse_ok(tok);
    pem = pem_text(path("ec256b.pub"));
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    free(pem);
    /* ES256 signature checked against a P-384 key: fails, does not crash */
    pem = pem_text(path("ec384.pub"));
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    free(pem);
    tk_jwt_free(j);
    free(tok);

    tok = sign_token("HS256", NULL, claims_basic, HS_SECRET_HEX);
    j = parse_ok(tok);
    assert_int_equal(tk_jwt_verify_hmac(j, "secret", 6), TK_JWT_ERR_SIGNATURE);
    assert_int_equal(tk_jwt_verify_hmac(j, hs_secret, sizeof(hs_secret) - 1), TK_JWT_ERR_SIGNATURE);
    assert_int_equal(tk_jwt_verify_hmac(j, "", 0), TK_JWT_ERR_SIGNATURE);
    tk_jwt_free(j);
    free(tok);
}

static void wrong_family(void **state)
{
    (void)state;
    char *rs = sign_token("RS256", NULL, claims_basic, path("rsa1.pem"));
    char *es = sign_token("ES256", NULL, claims_basic, path("ec256.pem"));
    char *hs = sign_token("HS256", NULL, claims_basic, HS_SECRET_HEX);
    tk_jwt_t *jr = parse_ok(rs), *je = parse_ok(es), *jh = parse_ok(hs);
    char *ecpem = pem_text(path("ec256.pub")), *rsapem = pem_text(path("rsa1.pub"));

    /* key type must fit the alg */
    assert_int_equal(tk_jwt_verify_pem(jr, ecpem), TK_JWT_ERR_KEY);
    assert_int_equal(tk_jwt_verify_pem(je, rsapem), TK_JWT_ERR_KEY);
    assert_int_equal(tk_jwt_verify_pem(jh, rsapem), TK_JWT_ERR_KEY);
    assert_int_equal(tk_jwt_verify_hmac(jr, rsapem, strlen(rsapem)), TK_JWT_ERR_KEY);
    assert_int_equal(tk_jwt_verify_hmac(je, hs_secret, 32), TK_JWT_ERR_KEY);

    /* jwt_signing_method checks, Tyk's assertSigningMethod */
    assert_int_equal(tk_jwt_check_method(jr, "rsa"), TK_JWT_OK);
    assert_int_equal(tk_jwt_check_method(jr, "hmac"), TK_JWT_ERR_UNEXPECTED_METHOD);
    assert_int_equal(tk_jwt_check_method(jr, "ecdsa"), TK_JWT_ERR_UNEXPECTED_METHOD);
    assert_int_equal(tk_jwt_check_method(je, "ecdsa"), TK_JWT_OK);
    assert_int_equal(tk_jwt_check_method(je, "rsa"), TK_JWT_ERR_UNEXPECTED_METHOD);
    assert_int_equal(tk_jwt_check_method(jh, "hmac"), TK_JWT_OK);
    assert_int_equal(tk_jwt_check_method(jh, ""), TK_JWT_OK); /* unset defaults to HMAC */
    assert_int_equal(tk_jwt_check_method(jh, NULL), TK_JWT_OK);
    assert_int_equal(tk_jwt_check_method(jr, NULL), TK_JWT_ERR_UNEXPECTED_METHOD);
    assert_string_equal(tk_jwt_tyk_message(TK_JWT_ERR_UNEXPECTED_METHOD),
                        "Key not authorized: Unexpected signing method");
    assert_int_equal(tk_jwt_tyk_status(TK_JWT_ERR_UNEXPECTED_METHOD), 403);
    assert_string_equal(tk_jwt_tyk_message(TK_JWT_ERR_SIGNATURE), "Key not authorized");

    assert_int_equal(tk_jwt_alg_family("PS384"), TK_JWT_FAMILY_RSA);
    assert_int_equal(tk_jwt_alg_family("ES512"), TK_JWT_FAMILY_ECDSA);
    assert_int_equal(tk_jwt_alg_family("HS512"), TK_JWT_FAMILY_HMAC);
    assert_int_equal(tk_jwt_alg_family("none"), TK_JWT_FAMILY_OTHER);
    assert_int_equal(tk_jwt_alg_family("EdDSA"), TK_JWT_FAMILY_OTHER);
    assert_int_equal(tk_jwt_alg_family("hs256"), TK_JWT_FAMILY_UNKNOWN);
    assert_int_equal(tk_jwt_alg_family(NULL), TK_JWT_FAMILY_UNKNOWN);

    free(ecpem);
    free(rsapem);
    tk_jwt_free(jr);
    tk_jwt_free(je);
    tk_jwt_free(jh);
    free(rs);
    free(es);
    free(hs);
}

static char *unsigned_token(const char *hdr, const char *claims, const char *sig)
{
    char *h = b64s(hdr), *c = b64s(claims);
    char *t = join3(h, c, sig);
    free(h);
    free(c);
    return t;
}

static void alg_none_and_unknown(void **state)
{
    (void)state;
    for (const char *const *a = (const char *const[]){"none", "EdDSA", NULL}; *a; a++) {
        char hdr[64];
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", *a);
        char *t = unsigned_token(hdr, claims_basic, "");
        tk_jwt_t *j = parse_ok(t);
        assert_int_equal(tk_jwt_check_method(j, "hmac"), TK_JWT_ERR_UNEXPECTED_METHOD);
        assert_int_equal(tk_jwt_check_method(j, "rsa"), TK_JWT_ERR_UNEXPECTED_METHOD);
        assert_int_equal(tk_jwt_check_method(j, "ecdsa"), TK_JWT_ERR_UNEXPECTED_METHOD);
        assert_int_equal(tk_jwt_verify_hmac(j, "", 0), TK_JWT_ERR_KEY);
        tk_jwt_free(j);
        free(t);
    }
    char *t = unsigned_token("{\"alg\":\"HS257\"}", claims_basic, "");
    assert_int_equal(parse_err(t), TK_JWT_ERR_ALG_UNKNOWN);
    free(t);
    t = unsigned_token("{\"alg\":\"NONE\"}", claims_basic, "");
    assert_int_equal(parse_err(t), TK_JWT_ERR_ALG_UNKNOWN);
    free(t);
    t = unsigned_token("{\"typ\":\"JWT\"}", claims_basic, "");
    assert_int_equal(parse_err(t), TK_JWT_ERR_ALG_MISSING);
    free(t);
    t = unsigned_token("{\"alg\":256}", claims_basic, "");
    assert_int_equal(parse_err(t), TK_JWT_ERR_ALG_MISSING);
    free(t);
    t = unsigned_token("null", claims_basic, "");
    assert_int_equal(parse_err(t), TK_JWT_ERR_ALG_MISSING);
    free(t);
}

static void tampered(void **state)
{
    (void)state;
    char *pem = pem_text(path("rsa1.pub"));
    char *tok = sign_token("RS256", NULL, claims_basic, path("rsa1.pem"));
    char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');

    /* another payload under the original signature */
    char *h = strndup(tok, (size_t)(d1 - tok));
    char *c = b64s("{\"sub\":\"admin\",\"exp\":4102444800,\"iat\":1700000000}");
    char *t = join3(h, c, d2 + 1);
    tk_jwt_t *j = parse_ok(t);
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    tk_jwt_free(j);
    free(t);
    free(c);

    /* one signature character changed */
    t = strdup(tok);
    char *s = t + (d2 - tok) + 5;
    *s = *s == 'A' ? 'B' : 'A';
    j = parse_ok(t);
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    tk_jwt_free(j);
    free(t);

    /* truncated signature, empty signature */
    t = strndup(tok, strlen(tok) - 4);
    j = parse_ok(t);
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    tk_jwt_free(j);
    free(t);
    t = strndup(tok, (size_t)(d2 - tok) + 1);
    j = parse_ok(t);
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    tk_jwt_free(j);
    free(t);

    /* invalid base64 in the signature: parses, the method check still works, verify fails */
    size_t n = strlen(tok) + 2;
    t = malloc(n);
    snprintf(t, n, "%s*", tok);
    j = parse_ok(t);
    size_t sl = 1;
    assert_null(tk_jwt_signature(j, &sl));
    assert_int_equal(sl, 0);
    assert_int_equal(tk_jwt_check_method(j, "hmac"), TK_JWT_ERR_UNEXPECTED_METHOD);
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    tk_jwt_free(j);
    free(t);
    free(h);
    free(tok);
    free(pem);

    /* ECDSA: the DER form openssl emits is not a JOSE signature */
    tok = sign_token("ES256", NULL, claims_basic, path("ec256.pem"));
    pem = pem_text(path("ec256.pub"));
    size_t dl;
    char *der = read_file(path("sig.bin"), &dl);
    char *ds = b64((unsigned char *)der, dl, true);
    d1 = strchr(tok, '.');
    d2 = strchr(d1 + 1, '.');
    *d2 = 0;
    n = strlen(tok) + strlen(ds) + 2;
    t = malloc(n);
    snprintf(t, n, "%s.%s", tok, ds);
    j = parse_ok(t);
    assert_int_equal(tk_jwt_verify_pem(j, pem), TK_JWT_ERR_SIGNATURE);
    tk_jwt_free(j);
    free(t);
    free(ds);
    free(der);
    free(tok);
    free(pem);

    /* HMAC: flipping the last signature char */
    tok = sign_token("HS512", NULL, claims_basic, HS_SECRET_HEX);
    tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'x' ? 'y' : 'x';
    j = parse_ok(tok);
    assert_int_equal(tk_jwt_verify_hmac(j, hs_secret, 32), TK_JWT_ERR_SIGNATURE);
    tk_jwt_free(j);
    free(tok);
}

static void malformed(void **state)
{
    (void)state;
    char *h = b64s("{\"alg\":\"HS256\"}"), *c = b64s("{\"sub\":\"x\"}");
    char buf[512];

    assert_int_equal(parse_err(""), TK_JWT_ERR_SEGMENTS);
    assert_int_equal(parse_err("abc"), TK_JWT_ERR_SEGMENTS);
    snprintf(buf, sizeof(buf), "%s.%s", h, c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_SEGMENTS);
    snprintf(buf, sizeof(buf), "%s.%s.sig.more", h, c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_SEGMENTS);
    assert_int_equal(parse_err(".."), TK_JWT_ERR_HEADER_JSON);
    enum tk_jwt_err e = TK_JWT_OK;
    assert_null(tk_jwt_parse(NULL, 0, 100, &e));
    assert_int_equal(e, TK_JWT_ERR_SEGMENTS);

    /* padding is not tolerated (golang-jwt v4 default) */
    char *hp = b64((const unsigned char *)"{\"alg\":\"HS256\" }", 16, false);
    assert_non_null(strchr(hp, '='));
    snprintf(buf, sizeof(buf), "%s.%s.", hp, c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_BASE64);
    free(hp);
    /* std-alphabet characters and impossible lengths */
    snprintf(buf, sizeof(buf), "eyJh+GciOiJIUzI1NiJ9.%s.", c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_BASE64);
    snprintf(buf, sizeof(buf), "%sA.%s.", h, c); /* 21 chars: length % 4 == 1 */
    assert_int_equal(parse_err(buf), TK_JWT_ERR_BASE64);
    snprintf(buf, sizeof(buf), "%s.%s!.", h, c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_BASE64);

    /* header JSON */
    char *bad = b64s("not json");
    snprintf(buf, sizeof(buf), "%s.%s.", bad, c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_HEADER_JSON);
    free(bad);
    bad = b64s("[\"alg\",\"HS256\"]");
    snprintf(buf, sizeof(buf), "%s.%s.", bad, c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_HEADER_JSON);
    free(bad);
    bad = b64s("{\"alg\":\"HS256\"} x"); /* json.Unmarshal rejects trailing data */
    snprintf(buf, sizeof(buf), "%s.%s.", bad, c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_HEADER_JSON);
    free(bad);
    snprintf(buf, sizeof(buf), ".%s.", c);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_HEADER_JSON);

    /* claims JSON */
    bad = b64s("42");
    snprintf(buf, sizeof(buf), "%s.%s.", h, bad);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_CLAIMS_JSON);
    free(bad);
    snprintf(buf, sizeof(buf), "%s..", h);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_CLAIMS_JSON);
    bad = b64s("{\"sub\":");
    snprintf(buf, sizeof(buf), "%s.%s.", h, bad);
    assert_int_equal(parse_err(buf), TK_JWT_ERR_CLAIMS_JSON);
    free(bad);
    /* json.Decoder semantics: trailing bytes after the claims object are ignored */
    bad = b64s("{\"sub\":\"x\"}}garbage");
    snprintf(buf, sizeof(buf), "%s.%s.", h, bad);
    tk_jwt_t *j = parse_ok(buf);
    assert_string_equal(tk_jwt_claim_string(j, "sub"), "x");
    tk_jwt_free(j);
    free(bad);
    /* numbers beyond int64 are valid (Go float64) */
    bad = b64s("{\"exp\":123456789012345678901234567890}");
    snprintf(buf, sizeof(buf), "%s.%s.", h, bad);
    j = parse_ok(buf);
    tk_jwt_free(j);
    free(bad);
    /* null claims behave like {} */
    bad = b64s("null");
    snprintf(buf, sizeof(buf), "%s.%s.", h, bad);
    j = parse_ok(buf);
    assert_int_equal(json_object_size(tk_jwt_claims(j)), 0);
    tk_jwt_free(j);
    free(bad);
    /* NUL inside a kid is not handed out as a C string */
    bad = b64s("{\"alg\":\"HS256\",\"kid\":\"a\\u0000b\"}");
    snprintf(buf, sizeof(buf), "%s.%s.", bad, c);
    j = parse_ok(buf);
    assert_null(tk_jwt_kid(j));
    tk_jwt_free(j);
    free(bad);
    /* CR/LF inside segments are skipped, as Go's decoder does */
    snprintf(buf, sizeof(buf), "%.*s\r\n%s.%s.", 4, h, h + 4, c);
    j = parse_ok(buf);
    size_t il;
    assert_non_null(tk_jwt_signing_input(j, &il));
    assert_int_equal(il, strlen(h) + strlen(c) + 3);
    tk_jwt_free(j);

    free(h);
    free(c);
}

static void huge_token(void **state)
{
    (void)state;
    size_t n = TK_JWT_DEFAULT_MAX_LEN + 1;
    char *big = malloc(n + 1);
    memset(big, 'A', n);
    big[10] = '.';
    big[20] = '.';
    big[n] = 0;
    enum tk_jwt_err e = TK_JWT_OK;
    assert_null(tk_jwt_parse(big, n, TK_JWT_DEFAULT_MAX_LEN, &e));
    assert_int_equal(e, TK_JWT_ERR_TOO_LARGE);
    /* one byte less is decoded (and fails for other reasons) */
    assert_null(tk_jwt_parse(big, n - 1, TK_JWT_DEFAULT_MAX_LEN, &e));
    assert_int_not_equal(e, TK_JWT_ERR_TOO_LARGE);
    free(big);

    /* a genuine large token under a raised limit verifies */
    char claims[40000];
    int o = snprintf(claims, sizeof(claims), "{\"sub\":\"big\",\"pad\":\"");
    memset(claims + o, 'z', 30000);
    snprintf(claims + o + 30000, sizeof(claims) - (size_t)o - 30000, "\"}");
    char *tok = sign_token("HS256", NULL, claims, HS_SECRET_HEX);
    assert_null(tk_jwt_parse(tok, strlen(tok), TK_JWT_DEFAULT_MAX_LEN, &e));
    assert_int_equal(e, TK_JWT_ERR_TOO_LARGE);
    tk_jwt_t *j = tk_jwt_parse(tok, strlen(tok), 64 * 1024, &e);
    assert_non_null(j);
    assert_int_equal(tk_jwt_verify_hmac(j, hs_secret, 32), TK_JWT_OK);
    tk_jwt_free(j);
    free(tok);
}

static char *jwks_text(json_t *keys)
{
    json_t *root = json_pack("{s:o}", "keys", keys);
    char *s = json_dumps(root, 0);
    json_decref(root);
    return s;
}

static void jwks_selection_and_rotation(void **state)
{
    (void)state;
    char *hk = b64(hs_secret, 32, true);
    json_t *keys = json_pack("[o,o,o,o,o]", jwk_from_pub(path("rsa2.pub"), "rsa-old"),
                             jwk_from_pub(path("ec256.pub"), "ec-1"),
                             jwk_from_pub(path("rsa1.pub"), "rsa-cur"),
                             json_pack("{s:s,s:s,s:s}", "kty", "oct", "kid", "hmac-1", "k", hk),
                             jwk_from_pub(path("rsa2.pub"), "ec-1")); /* duplicate kid */
    char *txt = jwks_text(keys);
    char *err = NULL;
    tk_jwks_t *set = tk_jwks_parse(txt, strlen(txt), &err);
    assert_non_null(set);
    assert_null(err);
    assert_int_equal(tk_jwks_count(set), 5);

    /* kid selects the right key among several */
    char *tok = sign_token("RS256", "rsa-cur", claims_basic, path("rsa1.pem"));
    tk_jwt_t *j = parse_ok(tok);
    const json_t *k = tk_jwks_find(set, tk_jwt_kid(j), NULL);
    assert_non_null(k);
    assert_int_equal(tk_jwt_verify_jwk(j, k), TK_JWT_OK);
    assert_int_equal(tk_jwt_verify_jwk(j, tk_jwks_find(set, "rsa-old", NULL)),
                     TK_JWT_ERR_SIGNATURE);
    assert_non_null(tk_jwks_find(set, "rsa-cur", "rsa")); /* kty compare ignores case */
    assert_null(tk_jwks_find(set, "rsa-cur", "EC"));
    tk_jwt_free(j);
    free(tok);

    /* duplicate kid: first entry wins (go-jose Key(kid)[0]); kty filter picks the other */
    tok = sign_token("ES256", "ec-1", claims_basic, path("ec256.pem"));
    j = parse_ok(tok);
    assert_int_equal(tk_jwt_verify_jwk(j, tk_jwks_find(set, "ec-1", NULL)), TK_JWT_OK);
    assert_string_equal(json_string_value(json_object_get(tk_jwks_find(set, "ec-1", "RSA"), "kty")),
                        "RSA");
    assert_int_equal(tk_jwt_verify_jwk(j, tk_jwks_find(set, "ec-1", "RSA")), TK_JWT_ERR_KEY);
    tk_jwt_free(j);
    free(tok);

    /* oct key from the set */
    tok = sign_token("HS384", "hmac-1", claims_basic, HS_SECRET_HEX);
    j = parse_ok(tok);
    assert_int_equal(tk_jwt_verify_jwk(j, tk_jwks_find(set, "hmac-1", "oct")), TK_JWT_OK);
    tk_jwt_free(j);
    free(tok);

    /* no kid in token: Tyk fails ("kid is not a string"), no fallback */
    tok = sign_token("RS256", NULL, claims_basic, path("rsa1.pem"));
    j = parse_ok(tok);
    assert_null(tk_jwt_kid(j));
    assert_null(tk_jwks_find(set, tk_jwt_kid(j), NULL));
    tk_jwt_free(j);
    free(tok);
    assert_null(tk_jwks_find(set, "nope", NULL));
    assert_string_equal(tk_jwt_strerror(TK_JWT_ERR_KID_NOT_STRING), "kid is not a string");

    /* rotation: a new set with a new kid; old kid disappears, new one verifies */
    char *txt2;
    {
        json_t *keys2 = json_pack("[o]", jwk_from_pub(path("rsa2.pub"), "rsa-next"));
        txt2 = jwks_text(keys2);
    }
    tk_jwks_t *set2 = tk_jwks_parse(txt2, strlen(txt2), NULL);
    assert_non_null(set2);
    tok = sign_token("PS256", "rsa-next", claims_basic, path("rsa2.pem"));
    j = parse_ok(tok);
    assert_null(tk_jwks_find(set, "rsa-next", NULL));
    assert_int_equal(tk_jwt_verify_jwk(j, tk_jwks_find(set2, "rsa-next", NULL)), TK_JWT_OK);
    assert_null(tk_jwks_find(set2, "rsa-cur", NULL));
    tk_jwt_free(j);
    free(tok);

    tk_jwks_free(set);
    tk_jwks_free(set2);
    free(txt);
    free(txt2);
    free(hk);

    /* malformed sets */
    const char *bad[] = {"", "not json", "[]", "{\"keys\":{}}", "{\"keys\":[1]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        assert_null(tk_jwks_parse(bad[i], strlen(bad[i]), &err));
        assert_non_null(err);
        free(err);
    }
    set = tk_jwks_parse("{}", 2, NULL);
    assert_non_null(set);
    assert_int_equal(tk_jwks_count(set), 0);
    assert_null(tk_jwks_find(set, "", NULL));
    tk_jwks_free(set);
}

static void x5c(void **state)
{
    (void)state;
    char *tok = sign_token("RS512", "c1", claims_basic, path("rsa1.pem"));
    tk_jwt_t *j = parse_ok(tok);

    /* certificate only */
    json_t *jwk =
        json_pack("{s:s,s:s,s:o}", "kty", "RSA", "kid", "c1", "x5c", x5c_of(path("rsa1.der")));
    assert_int_equal(tk_jwt_verify_jwk(j, jwk), TK_JWT_OK);
    json_decref(jwk);

    /* n/e with the matching certificate */
    jwk = jwk_from_pub(path("rsa1.pub"), "c1");
    json_object_set_new(jwk, "x5c", x5c_of(path("rsa1.der")));
    assert_int_equal(tk_jwt_verify_jwk(j, jwk), TK_JWT_OK);
    json_decref(jwk);

    /* n/e with someone else's certificate: go-jose rejects the JWK */
    jwk = jwk_from_pub(path("rsa1.pub"), "c1");
    json_object_set_new(jwk, "x5c", x5c_of(path("rsa2.der")));
    assert_null(tk_jwt_key_from_jwk(jwk));
    assert_int_equal(tk_jwt_verify_jwk(j, jwk), TK_JWT_ERR_KEY);
    json_decref(jwk);

    /* kty says EC but the certificate is RSA */
    jwk = json_pack("{s:s,s:o}", "kty", "EC", "x5c", x5c_of(path("rsa1.der")));
    assert_null(tk_jwt_key_from_jwk(jwk));
    json_decref(jwk);
    /* broken base64 in x5c */
    jwk = json_pack("{s:s,s:[s]}", "kty", "RSA", "x5c", "MIIB%%%");
    assert_null(tk_jwt_key_from_jwk(jwk));
    json_decref(jwk);
    tk_jwt_free(j);
    free(tok);

    /* EC certificate */
    tok = sign_token("ES384", "c2", claims_basic, path("ec384.pem"));
    j = parse_ok(tok);
    jwk = json_pack("{s:s,s:o}", "kty", "EC", "x5c", x5c_of(path("ec384.der")));
    assert_int_equal(tk_jwt_verify_jwk(j, jwk), TK_JWT_OK);
    json_decref(jwk);
    tk_jwt_free(j);
    free(tok);
}

static void bad_keys(void **state)
{
    (void)state;
    /* PKCS#1 "RSA PUBLIC KEY" is not accepted by Tyk's ParseRSAPublicKey */
    char *pem = pem_text(path("rsa1.pkcs1"));
    assert_non_null(strstr(pem, "BEGIN RSA PUBLIC KEY"));
    assert_null(tk_jwt_key_from_pem(pem, strlen(pem)));
    free(pem);
    assert_null(tk_jwt_key_from_pem("garbage", 7));
    assert_null(tk_jwt_key_from_pem("", 0));
    /* a private key PEM is not a public key */
    pem = pem_text(path("rsa1.pem"));
    assert_null(tk_jwt_key_from_pem(pem, strlen(pem)));
    free(pem);
    /* raw DER certificate works, as Go falls back when there is no PEM block */
    size_t dl;
    char *der = read_file(path("ec256.der"), &dl);
    tk_jwt_key_t *k = tk_jwt_key_from_pem(der, dl);
    assert_non_null(k);
    tk_jwt_key_free(k);
    free(der);

    /* JWK shapes */
    json_t *jwk = jwk_from_pub(path("ec256.pub"), "e");
    json_object_set_new(jwk, "crv", json_string("P-384"));
    assert_null(tk_jwt_key_from_jwk(jwk)); /* coordinates of the wrong size */
    json_object_set_new(jwk, "crv", json_string("P-256"));
    k = tk_jwt_key_from_jwk(jwk);
    assert_non_null(k);
    tk_jwt_key_free(k);
    /* point off the curve */
    const char *x = json_string_value(json_object_get(jwk, "x"));
    char *x2 = strdup(x);
    x2[3] = x2[3] == 'A' ? 'B' : 'A';
    json_object_set_new(jwk, "x", json_string(x2));
    assert_null(tk_jwt_key_from_jwk(jwk));
    free(x2);
    json_object_del(jwk, "y");
    assert_null(tk_jwt_key_from_jwk(jwk));
    json_decref(jwk);

    jwk = jwk_from_pub(path("rsa1.pub"), "r");
    json_object_set_new(jwk, "n", json_string("AA"));
    assert_null(tk_jwt_key_from_jwk(jwk));
    json_object_del(jwk, "n");
    assert_null(tk_jwt_key_from_jwk(jwk));
    json_decref(jwk);
    jwk = json_pack("{s:s}", "kty", "OKP");
    assert_null(tk_jwt_key_from_jwk(jwk));
    json_decref(jwk);
    assert_null(tk_jwt_key_from_jwk(NULL));

    /* go-jose tolerates '=' on JWK members */
    char *tok = sign_token("RS256", NULL, claims_basic, path("rsa1.pem"));
    tk_jwt_t *j = parse_ok(tok);
    jwk = jwk_from_pub(path("rsa1.pub"), "r");
    json_object_set_new(jwk, "e", json_string("AQAB=="));
    assert_int_equal(tk_jwt_verify_jwk(j, jwk), TK_JWT_OK);
    json_decref(jwk);
    tk_jwt_free(j);
    free(tok);
}

static tk_jwt_t *claims_token(const char *claims)
{
    char *t = unsigned_token("{\"alg\":\"HS256\"}", claims, "");
    tk_jwt_t *j = parse_ok(t);
    free(t);
    return j;
}

static enum tk_jwt_err times(const char *claims, time_t now, unsigned es, unsigned is, unsigned ns)
{
    tk_jwt_t *j = claims_token(claims);
    const char *reason = "unset";
    int rc = tk_jwt_validate_times(j, now, es, is, ns, &reason);
    enum tk_jwt_err e = tk_jwt_check_times(j, now, es, is, ns);
    assert_int_equal(rc, e == TK_JWT_OK ? TK_OK : TK_ERROR);
    if (e == TK_JWT_OK)
        assert_null(reason);
    else
        assert_string_equal(reason, tk_jwt_strerror(e));
    tk_jwt_free(j);
    return e;
}

static void time_claims(void **state)
{
    (void)state;
    /* exp: valid while now - skew < exp */
    assert_int_equal(times("{\"exp\":1001}", 1000, 0, 0, 0), TK_JWT_OK);
    assert_int_equal(times("{\"exp\":1000}", 1000, 0, 0, 0), TK_JWT_ERR_EXPIRED);
    assert_int_equal(times("{\"exp\":1000}", 1005, 5, 0, 0), TK_JWT_ERR_EXPIRED);
    assert_int_equal(times("{\"exp\":1000}", 1005, 6, 0, 0), TK_JWT_OK);
    /* floats are cut to whole seconds */
    assert_int_equal(times("{\"exp\":1000.9}", 1000, 0, 0, 0), TK_JWT_ERR_EXPIRED);
    assert_int_equal(times("{\"exp\":1001.5}", 1000, 0, 0, 0), TK_JWT_OK);
    assert_int_equal(times("{\"exp\":1.001e3}", 1000, 0, 0, 0), TK_JWT_OK);
    /* iat: valid once now + skew >= iat */
    assert_int_equal(times("{\"iat\":1000}", 1000, 0, 0, 0), TK_JWT_OK);
    assert_int_equal(times("{\"iat\":1001}", 1000, 0, 0, 0), TK_JWT_ERR_USED_BEFORE_ISSUED);
    assert_int_equal(times("{\"iat\":1001}", 1000, 0, 1, 0), TK_JWT_OK);
    assert_int_equal(times("{\"iat\":1010}", 1000, 0, 9, 0), TK_JWT_ERR_USED_BEFORE_ISSUED);
    assert_int_equal(times("{\"iat\":1000.99}", 1000, 0, 0, 0), TK_JWT_OK);
    /* nbf */
    assert_int_equal(times("{\"nbf\":1000}", 1000, 0, 0, 0), TK_JWT_OK);
    assert_int_equal(times("{\"nbf\":1001}", 1000, 0, 0, 0), TK_JWT_ERR_NOT_VALID_YET);
    assert_int_equal(times("{\"nbf\":1030}", 1000, 0, 0, 30), TK_JWT_OK);
    assert_int_equal(times("{\"nbf\":1031}", 1000, 0, 0, 30), TK_JWT_ERR_NOT_VALID_YET);
    /* absent or 0: ignored; wrong type: fails, as jwt v4 does */
    assert_int_equal(times("{}", 1000, 0, 0, 0), TK_JWT_OK);
    assert_int_equal(times("{\"exp\":0,\"iat\":0,\"nbf\":0.0}", 1000, 0, 0, 0), TK_JWT_OK);
    assert_int_equal(times("{\"exp\":\"2000\"}", 1000, 0, 0, 0), TK_JWT_ERR_EXPIRED);
    assert_int_equal(times("{\"exp\":null}", 1000, 0, 0, 0), TK_JWT_ERR_EXPIRED);
    assert_int_equal(times("{\"iat\":true}", 1000, 0, 0, 0), TK_JWT_ERR_USED_BEFORE_ISSUED);
    assert_int_equal(times("{\"nbf\":[1]}", 1000, 0, 0, 0), TK_JWT_ERR_NOT_VALID_YET);
    /* huge and negative values */
    assert_int_equal(times("{\"exp\":-5}", 1000, 0, 0, 0), TK_JWT_ERR_EXPIRED);
    assert_int_equal(times("{\"exp\":1e300}", 1000, 0, 0, 0), TK_JWT_ERR_EXPIRED);
    assert_int_equal(times("{\"exp\":4102444800}", 1700000000, 0, 0, 0), TK_JWT_OK);
    assert_int_equal(times("{\"exp\":123456789012345678901234567890}", 1000, 0, 0, 0),
                     TK_JWT_ERR_EXPIRED);
    /* several failures: the last checked (nbf) is reported, as in Tyk */
    assert_int_equal(times("{\"exp\":1,\"iat\":5000,\"nbf\":5000}", 1000, 0, 0, 0),
                     TK_JWT_ERR_NOT_VALID_YET);
    assert_int_equal(times("{\"exp\":1,\"iat\":5000}", 1000, 0, 0, 0),
                     TK_JWT_ERR_USED_BEFORE_ISSUED);

    assert_string_equal(tk_jwt_strerror(TK_JWT_ERR_EXPIRED), "token has expired");
    assert_string_equal(tk_jwt_strerror(TK_JWT_ERR_USED_BEFORE_ISSUED), "token used before issued");
    assert_string_equal(tk_jwt_strerror(TK_JWT_ERR_NOT_VALID_YET), "token is not valid yet");
    assert_string_equal(tk_jwt_tyk_message(TK_JWT_ERR_EXPIRED),
                        "Key not authorized: token has expired");
    assert_int_equal(tk_jwt_tyk_status(TK_JWT_ERR_NOT_VALID_YET), 401);
    assert_int_equal(tk_jwt_tyk_status(TK_JWT_ERR_SIGNATURE), 403);
}

static void claim_paths(void **state)
{
    (void)state;
    tk_jwt_t *j = claims_token("{\"sub\":\"s1\",\"user\":{\"id\":\"u1\",\"n\":5,\"e\":\"\","
                               "\"deep\":{\"x\":\"d\"}},\"user.id\":\"literal\",\"empty\":\"\","
                               "\"arr\":[\"a\"],\"a.b\":\"\",\"a\":{\"b\":\"nested\"}}");
    assert_string_equal(tk_jwt_claim_string(j, "sub"), "s1");
    assert_string_equal(tk_jwt_claim_string(j, "user.id"), "literal"); /* literal key first */
    assert_string_equal(tk_jwt_claim_string(j, "user.deep.x"), "d");
    assert_string_equal(tk_jwt_claim_string(j, "a.b"), "nested"); /* empty literal falls through */
    assert_null(tk_jwt_claim_string(j, "user.n"));
    assert_null(tk_jwt_claim_string(j, "user.e"));
    assert_null(tk_jwt_claim_string(j, "empty"));
    assert_null(tk_jwt_claim_string(j, "arr"));
    assert_null(tk_jwt_claim_string(j, "arr.0"));
    assert_null(tk_jwt_claim_string(j, "sub.x"));
    assert_null(tk_jwt_claim_string(j, "missing"));
    assert_null(tk_jwt_claim_string(j, "user."));
    assert_null(tk_jwt_claim_string(j, "."));
    assert_int_equal(json_integer_value(tk_jwt_claim_get(j, "user.n")), 5);
    assert_true(json_is_object(tk_jwt_claim_get(j, "user")));
    assert_true(json_is_string(tk_jwt_claim_get(j, "empty")));
    assert_null(tk_jwt_claim_get(j, "user.zzz"));
    tk_jwt_free(j);
}

static void base64_modes(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p;
    p = tk_b64_decode("QQ==", 4, false, true, &n);
    assert_non_null(p);
    assert_int_equal(n, 1);
    assert_int_equal(p[0], 'A');
    free(p);
    p = tk_b64_decode("QUI=", 4, false, true, &n);
    assert_non_null(p);
    assert_memory_equal(p, "AB", 2);
    free(p);
    assert_null(tk_b64_decode("QQ", 2, false, true, &n));   /* padding required */
    assert_null(tk_b64_decode("QQ=", 3, false, true, &n));  /* short padding */
    assert_null(tk_b64_decode("Q===", 4, false, true, &n)); /* too much padding */
    assert_null(tk_b64_decode("QQ==QQ==", 8, false, true, &n));
    assert_null(tk_b64_decode("QQ==", 4, true, false, &n)); /* raw: '=' invalid */
    p = tk_b64_decode("QR", 2, true, false, &n);            /* non-zero trailing bits tolerated */
    assert_non_null(p);
    assert_int_equal(n, 1);
    free(p);
    assert_null(tk_b64_decode("Q", 1, true, false, &n));
    assert_null(tk_b64_decode("a+b/", 4, true, false, &n));
    p = tk_b64_decode("a-b_", 4, true, false, &n);
    assert_non_null(p);
    assert_int_equal(n, 3);
    free(p);
    p = tk_b64_decode("", 0, true, false, &n);
    assert_non_null(p);
    assert_int_equal(n, 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_alg),
        cmocka_unit_test(pss_any_salt),
        cmocka_unit_test(wrong_key),
        cmocka_unit_test(wrong_family),
        cmocka_unit_test(alg_none_and_unknown),
        cmocka_unit_test(tampered),
        cmocka_unit_test(malformed),
        cmocka_unit_test(huge_token),
        cmocka_unit_test(jwks_selection_and_rotation),
        cmocka_unit_test(x5c),
        cmocka_unit_test(bad_keys),
        cmocka_unit_test(time_claims),
        cmocka_unit_test(claim_paths),
        cmocka_unit_test(base64_modes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
