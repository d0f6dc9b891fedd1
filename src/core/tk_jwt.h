/* SPDX-License-Identifier: Apache-2.0 */
/* Compact JWS (JWT) parsing, signature verification, JWK/JWKS key import and Tyk's claim checks. */
#ifndef TK_JWT_H
#define TK_JWT_H

#include "tk_common.h"

#include <time.h>
#include <jansson.h>

/*
 * Behaviour follows what Tyk gets from golang-jwt/jwt v4 with
 * `jwt.NewParser(jwt.WithoutClaimsValidation())` plus go-jose for JWKS:
 *
 *  - A token is exactly three '.'-separated segments. Each is base64url WITHOUT
 *    padding ('=' is rejected, as jwt v4 does by default); CR/LF inside a segment
 *    are ignored and non-zero trailing bits are accepted, as Go's non-strict
 *    decoder does.
 *  - The header must be one JSON object (trailing bytes rejected). The claims are
 *    decoded like Go's json.Decoder: the first JSON value is used and trailing
 *    bytes are ignored. `null` for either counts as an empty object.
 *  - The header's `alg` must be a string (else TK_JWT_ERR_ALG_MISSING) naming an
 *    algorithm jwt v4 knows: HS/RS/PS/ES 256/384/512, `EdDSA` or `none` (else
 *    TK_JWT_ERR_ALG_UNKNOWN). `EdDSA` and `none` parse but can never verify; the
 *    method check turns them into Tyk's "Unexpected signing method".
 *  - The signature segment is decoded at parse time, but a bad one only fails
 *    verification, because Go checks the signing method before it looks at it.
 */

/** Default cap on the raw token length (bytes) for tk_jwt_parse's max_len. */
#define TK_JWT_DEFAULT_MAX_LEN (16 * 1024)

/** Why parsing, method checking, key import, verification or claim checks failed. */
enum tk_jwt_err {
    TK_JWT_OK = 0,
    TK_JWT_ERR_TOO_LARGE,          /**< longer than max_len; nothing was decoded */
    TK_JWT_ERR_SEGMENTS,           /**< not exactly three segments */
    TK_JWT_ERR_BASE64,             /**< header or claims are not valid base64url */
    TK_JWT_ERR_HEADER_JSON,        /**< header is not a JSON object */
    TK_JWT_ERR_CLAIMS_JSON,        /**< claims are not a JSON object */
    TK_JWT_ERR_ALG_MISSING,        /**< no `alg`, or it is not a string */
    TK_JWT_ERR_ALG_UNKNOWN,        /**< `alg` is not an algorithm jwt v4 registers */
    TK_JWT_ERR_UNEXPECTED_METHOD,  /**< `alg` is not of the API's jwt_signing_method family */
    TK_JWT_ERR_KEY,                /**< key material unusable, or wrong key type for `alg` */
    TK_JWT_ERR_SIGNATURE,          /**< signature does not verify (or is not valid base64url) */
    TK_JWT_ERR_KID_NOT_STRING,     /**< JWKS lookup without a string `kid` header */
    TK_JWT_ERR_KID_NOT_FOUND,      /**< no JWKS key carries that `kid` */
    TK_JWT_ERR_EXPIRED,            /**< `exp` check failed */
    TK_JWT_ERR_USED_BEFORE_ISSUED, /**< `iat` check failed */
    TK_JWT_ERR_NOT_VALID_YET,      /**< `nbf` check failed */
};

/** Algorithm families, matching Tyk's jwt_signing_method values hmac / rsa / ecdsa. */
enum tk_jwt_family {
    TK_JWT_FAMILY_UNKNOWN = 0, /**< not an algorithm jwt v4 knows */
    TK_JWT_FAMILY_HMAC,        /**< HS256, HS384, HS512 */
    TK_JWT_FAMILY_RSA,         /**< RS256/384/512 and PS256/384/512 */
    TK_JWT_FAMILY_ECDSA,       /**< ES256, ES384, ES512 */
    TK_JWT_FAMILY_OTHER,       /**< `none` and `EdDSA`: known to Go, never accepted here */
};

typedef struct tk_jwt tk_jwt_t;
typedef struct tk_jwt_key tk_jwt_key_t;
typedef struct tk_jwks tk_jwks_t;

/**
 * Parses a compact JWS. @token need not be NUL-terminated. Tokens longer than
 * @max_len bytes are rejected before any decoding (pass TK_JWT_DEFAULT_MAX_LEN
 * unless configured otherwise). Does not verify anything.
 * Returns a new token owned by the caller (free with tk_jwt_free), or NULL with
 * *@err (if non-NULL) set to the reason.
 */
tk_jwt_t *tk_jwt_parse(const char *token, size_t len, size_t max_len, enum tk_jwt_err *err);

/** Frees a token; NULL is allowed. */
void tk_jwt_free(tk_jwt_t *jwt);

/** The header's `alg` string (never NULL on a parsed token); owned by @jwt. */
const char *tk_jwt_alg(const tk_jwt_t *jwt);

/** The header's `kid` if it is a JSON string without NUL bytes, else NULL; owned by @jwt. */
const char *tk_jwt_kid(const tk_jwt_t *jwt);

/** The header's `typ` if it is a string, else NULL; owned by @jwt. */
const char *tk_jwt_typ(const tk_jwt_t *jwt);

/** The decoded header object (borrowed; valid while @jwt lives). */
json_t *tk_jwt_header(const tk_jwt_t *jwt);

/** The decoded claims object (borrowed; valid while @jwt lives). */
json_t *tk_jwt_claims(const tk_jwt_t *jwt);

/** The signing input "<header>.<claims>" as it appeared in the token; sets *@len. */
const char *tk_jwt_signing_input(const tk_jwt_t *jwt, size_t *len);

/** The decoded signature bytes; sets *@len. NULL with *@len 0 if it was not valid base64url. */
const unsigned char *tk_jwt_signature(const tk_jwt_t *jwt, size_t *len);

/**
 * Looks a claim up the way Tyk's getClaimValue does: the literal key first, then,
 * if @path contains '.', the nested path (each component must index an object).
 * Returns the value (borrowed) or NULL.
 */
const json_t *tk_jwt_claim_get(const tk_jwt_t *jwt, const char *path);

/**
 * Tyk's getClaimValue: a non-empty string at the literal key @path, else a
 * non-empty string at the dotted path. Strings with NUL bytes count as absent.
 * Returns a borrowed string or NULL.
 */
const char *tk_jwt_claim_string(const tk_jwt_t *jwt, const char *path);

/** The family of @alg (which may be NULL). */
enum tk_jwt_family tk_jwt_alg_family(const char *alg);

/**
 * Tyk's assertSigningMethod: @method is the API's jwt_signing_method ("hmac",
 * "rsa", "ecdsa"; anything else, including NULL or "", means HMAC as in Tyk).
 * Returns TK_JWT_OK or TK_JWT_ERR_UNEXPECTED_METHOD.
 */
enum tk_jwt_err tk_jwt_check_method(const tk_jwt_t *jwt, const char *method);

/** HMAC secret (copied). Any length, including 0, as jwt v4 allows. Never NULL. */
tk_jwt_key_t *tk_jwt_key_from_secret(const void *secret, size_t len);

/**
 * Public key from the first PEM block of any label in @pem (or, if there is no
 * PEM block, from @pem as raw DER), read as SubjectPublicKeyInfo and else as an
 * X.509 certificate, like Tyk's ParseRSAPublicKey. PKCS#1 "RSA PUBLIC KEY" is
 * rejected, as in Tyk. Only RSA and EC keys are returned. NULL on failure.
 */
tk_jwt_key_t *tk_jwt_key_from_pem(const char *pem, size_t len);

/**
 * Key from one JWK object: kty "RSA" (n, e), "EC" (crv P-256/P-384/P-521, x, y
 * of exactly the curve's size, point on the curve), or "oct" (k, an HMAC
 * secret). If an RSA/EC key has no n/e or x/y, the public key of the x5c[0]
 * certificate (standard base64 DER) is used. NULL on failure.
 */
tk_jwt_key_t *tk_jwt_key_from_jwk(const json_t *jwk);

/** Frees a key; NULL is allowed. Keys are immutable and may be shared between threads. */
void tk_jwt_key_free(tk_jwt_key_t *key);

/**
 * Verifies @jwt's signature with @key. HS* needs a secret key (constant-time
 * compare), RS* and PS* an RSA key (PSS accepts any salt length, as Go's verifier
 * does), ES* an EC key with the signature in JOSE r||s form of exactly
 * 2 x 32/48/66 bytes (the key's curve is not checked, as in jwt v4).
 * Returns TK_JWT_OK, TK_JWT_ERR_KEY (key type does not fit the alg, or alg is
 * none/EdDSA/unknown) or TK_JWT_ERR_SIGNATURE.
 */
enum tk_jwt_err tk_jwt_verify(const tk_jwt_t *jwt, const tk_jwt_key_t *key);

/** tk_jwt_verify with a one-off tk_jwt_key_from_secret key. */
enum tk_jwt_err tk_jwt_verify_hmac(const tk_jwt_t *jwt, const void *secret, size_t len);

/** tk_jwt_verify with a one-off tk_jwt_key_from_pem key (NUL-terminated @pem). */
enum tk_jwt_err tk_jwt_verify_pem(const tk_jwt_t *jwt, const char *pem);

/** tk_jwt_verify with a one-off tk_jwt_key_from_jwk key. */
enum tk_jwt_err tk_jwt_verify_jwk(const tk_jwt_t *jwt, const json_t *jwk);

/**
 * Parses a JWKS document {"keys":[{...}, ...]}. Entries are not imported here,
 * so one odd key does not hide the others (go-jose would reject the whole set).
 * Returns a new set (free with tk_jwks_free) or NULL with *@err (if non-NULL)
 * set to a malloc'd message the caller frees.
 */
tk_jwks_t *tk_jwks_parse(const char *json, size_t len, char **err);

/** Frees a set; NULL is allowed. */
void tk_jwks_free(tk_jwks_t *jwks);

/** Number of entries in the set. */
size_t tk_jwks_count(const tk_jwks_t *jwks);

/**
 * The first key whose "kid" equals @kid exactly (a key without "kid" matches "")
 * and, if @kty is not NULL, whose "kty" equals @kty ignoring case. This is
 * go-jose's JSONWebKeySet.Key(kid)[0] that Tyk uses (pass @kty NULL for that).
 * Tyk never falls back when the token has no kid: it fails with "kid is not a
 * string", so @kid NULL returns NULL. Returns a borrowed object or NULL.
 */
const json_t *tk_jwks_find(const tk_jwks_t *jwks, const char *kid, const char *kty);

/**
 * Tyk's timeValidateJWTClaims. With exp/iat/nbf truncated to whole seconds:
 * expired if now - @exp_skew >= exp; used before issued if now + @iat_skew < iat;
 * not valid yet if now + @nbf_skew < nbf. Absent claims and numeric 0 are
 * ignored; a present non-number (string, null, ...) fails its check, as in jwt v4.
 * When several fail, *@reason is the last one in the order exp, iat, nbf, as Tyk
 * reports. Reasons: "token has expired", "token used before issued", "token is
 * not valid yet" (Tyk prefixes "Key not authorized: "). Returns TK_OK or TK_ERROR.
 */
int tk_jwt_validate_times(const tk_jwt_t *jwt, time_t now, unsigned exp_skew, unsigned iat_skew,
                          unsigned nbf_skew, const char **reason);

/** Like tk_jwt_validate_times but returns the TK_JWT_ERR_* code of the reported failure. */
enum tk_jwt_err tk_jwt_check_times(const tk_jwt_t *jwt, time_t now, unsigned exp_skew,
                                   unsigned iat_skew, unsigned nbf_skew);

/** Short English description of @err for logs. Never NULL. */
const char *tk_jwt_strerror(enum tk_jwt_err err);

/**
 * The `{"error": ...}` message Tyk's JWT middleware returns for @err:
 * "Key not authorized: Unexpected signing method", "Key not authorized: token has
 * expired" (and the other two time reasons), otherwise "Key not authorized".
 */
const char *tk_jwt_tyk_message(enum tk_jwt_err err);

/** The HTTP status Tyk returns for @err: 401 for the time checks, else 403. */
int tk_jwt_tyk_status(enum tk_jwt_err err);

#endif
