/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: JWT parsing, claim access, time checks, verification, JWKS and key import. */
#include "tk_jwt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char secret[] = "turnpike-fuzz-secret";

/* The P-256 key that signed seeds/jwt/es256.jwt, and the RSA key behind rs256.jwt. */
static const char ec_jwk_json[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"fuzz-ec\","
                                  "\"x\":\"0zCv9aWoFZON_Pp6EHz1PGhHWREEa33TqX_yB_7Qqvg\","
                                  "\"y\":\"NH6MXVh7tA9eYYenSKivj0DOONfnnLDg9iaStticmOc\"}";
static const char rsa_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDl/Pyl/vEdcOcRztLE0/BlBUFI\n"
                              "VfA4d+lVcWLd2Mz1UDOxBmZ/MG9p5Zy+thKxTZYRGXl3V1RBu5Dr5Omsh+g+08BQ\n"
                              "HiLNStbKla3JJM6HHNv7e7c3lTKCqj8IvG1G6u8rroSWYlK84i2JxDnOdZvIDM23\n"
                              "yDQP0XRMRmvQU5OuOQIDAQAB\n"
                              "-----END PUBLIC KEY-----\n";

static tk_jwt_key_t *hmac_key, *ec_key, *rsa_key;
static size_t sink;

static void init(void)
{
    json_t *jwk = json_loads(ec_jwk_json, 0, NULL);
    hmac_key = tk_jwt_key_from_secret(secret, sizeof(secret) - 1);
    ec_key = tk_jwt_key_from_jwk(jwk);
    rsa_key = tk_jwt_key_from_pem(rsa_pem, sizeof(rsa_pem) - 1);
    json_decref(jwk);
    if (ec_key == NULL || rsa_key == NULL)
        abort();
}

static void token(const char *data, size_t size)
{
    enum tk_jwt_err err;
    tk_jwt_t *jwt = tk_jwt_parse(data, size, TK_JWT_DEFAULT_MAX_LEN, &err);
    sink += strlen(tk_jwt_strerror(err)) + strlen(tk_jwt_tyk_message(err));
    if (jwt == NULL)
        return;
    size_t n;
    sink += strlen(tk_jwt_alg(jwt));
    if (tk_jwt_kid(jwt))
        sink += strlen(tk_jwt_kid(jwt));
    if (tk_jwt_typ(jwt))
        sink += strlen(tk_jwt_typ(jwt));
    sink += tk_jwt_signing_input(jwt, &n)[0] == '.' ? 1 : n;
    if (tk_jwt_signature(jwt, &n) != NULL && n > 0)
        sink += tk_jwt_signature(jwt, &n)[n - 1];
    static const char *const paths[] = {"sub", "user.id", "a.b.c", ".", "user.", "scope"};
    for (size_t i = 0; i < TK_ARRAY_LEN(paths); i++) {
        const char *s = tk_jwt_claim_string(jwt, paths[i]);
        sink += s ? strlen(s) : 0;
        sink += tk_jwt_claim_get(jwt, paths[i]) != NULL;
    }
    const char *reason = NULL;
    sink += (size_t)tk_jwt_validate_times(jwt, 1700000000, 30, 5, 0, &reason);
    sink += tk_jwt_check_times(jwt, INT64_MAX, 0, UINT32_MAX, UINT32_MAX);
    sink += tk_jwt_check_method(jwt, "hmac") + tk_jwt_check_method(jwt, "rsa") +
            tk_jwt_check_method(jwt, "ecdsa");
    /* Verify with every key whatever the alg, so type mismatches are exercised too. */
    sink += tk_jwt_verify(jwt, hmac_key) + tk_jwt_verify(jwt, ec_key) + tk_jwt_verify(jwt, rsa_key);
    tk_jwt_free(jwt);
}

/* Inputs that look like JSON are also read as a JWKS whose keys are all imported. */
static void jwks(const char *data, size_t size)
{
    char *err = NULL;
    tk_jwks_t *set = tk_jwks_parse(data, size, &err);
    free(err);
    if (set == NULL)
        return;
    json_t *root = json_loadb(data, size, 0, NULL);
    json_t *keys = json_object_get(root, "keys");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        tk_jwt_key_t *key = tk_jwt_key_from_jwk(k);
        sink += key != NULL;
        tk_jwt_key_free(key);
        const json_t *kid = json_object_get(k, "kid");
        if (json_is_string(kid))
            sink += tk_jwks_find(set, json_string_value(kid), "EC") != NULL;
    }
    sink += tk_jwks_find(set, "fuzz-ec", NULL) != NULL;
    json_decref(root);
    tk_jwks_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (hmac_key == NULL)
        init();
    token((const char *)data, size);
    if (size > 0 && data[0] == '{')
        jwks((const char *)data, size);
    else if (size > 5 && memcmp(data, "-----", 5) == 0)
        tk_jwt_key_free(tk_jwt_key_from_pem((const char *)data, size));
    return 0;
}
