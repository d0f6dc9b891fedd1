/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk-compatible key generation, token decoding and key hashing, byte for byte (shared Redis). */
#ifndef TK_HASH_H
#define TK_HASH_H

#include "tk_common.h"

/**
 * Key hash algorithms, named as in tyk.conf's `hash_key_function`.
 *
 * TK_HASH_NONE is the empty name: tokens are generated in the legacy `org + id` form, and when
 * something has to be hashed with it, murmur32 is used, as Tyk does for "".
 */
enum tk_hash_algo {
    TK_HASH_NONE = 0,
    TK_HASH_MURMUR32,
    TK_HASH_MURMUR64,
    TK_HASH_MURMUR128,
    TK_HASH_SHA256,
};

/** Room for any hex digest from tk_hash_hex() plus its NUL (sha256: 64 + 1). */
#define TK_HASH_HEX_MAX 65

/**
 * Parses a Tyk algorithm name of @len bytes: "murmur32", "murmur64", "murmur128", "sha256"
 * (exact, case-sensitive) or "" (TK_HASH_NONE). Any other name gives TK_HASH_MURMUR64, the
 * algorithm Tyk substitutes, and sets *@known to false (@known may be NULL).
 */
enum tk_hash_algo tk_hash_algo_parse(const char *name, size_t len, bool *known);

/** Returns the Tyk name of @a ("" for TK_HASH_NONE); a static string. */
const char *tk_hash_algo_name(enum tk_hash_algo a);

/**
 * Writes a random (RAND_bytes) version-4 UUID as 32 lowercase hex digits without dashes plus a
 * NUL, like Tyk's uuid.NewHex(). Aborts if the CSPRNG fails.
 */
void tk_uuid_hex(char out[33]);

/** Same UUID format with dashes (8-4-4-4-12, 36 chars + NUL), as Tyk's uuid.New(). */
void tk_uuid_str(char out[37]);

/**
 * Tyk's generateToken(org, key_id): strips one leading @org from @key_id; an empty (or NULL)
 * id then becomes a fresh tk_uuid_hex(). With TK_HASH_NONE the result is the legacy
 * `org + id`; otherwise it is the standard base64 (padded) of the exact text
 * `{"org":"<org>","id":"<id>","h":"<name>"}`, built without any JSON escaping, as Tyk does.
 * @org may be NULL (treated as ""). Returns a malloc'd string the caller frees.
 */
char *tk_token_generate(const char *org, const char *key_id, enum tk_hash_algo h);

/**
 * Decodes a base64-JSON token (@len bytes) the way Tyk's TokenOrg / TokenID / TokenHashAlgo
 * do: the token must start with "ey", decode as Go's base64.StdEncoding (padding required,
 * CR/LF ignored) and contain a top-level string "org" as found by Tyk's lenient JSON scanner
 * (buger/jsonparser: first match wins, the rest of the document is not validated, escapes in
 * values are decoded). Returns false for anything else (legacy keys, plain base64, ...).
 *
 * On true, each non-NULL output is set: *@org to a malloc'd copy of "org"; *@id to a malloc'd
 * copy of "id", or NULL when there is no string "id"; *@h to the algorithm Tyk would hash
 * this token with (TK_HASH_NONE = murmur32 when "h" is missing, not a string or ""; unknown
 * names give TK_HASH_MURMUR64). Values with an embedded NUL are cut at it. On false the
 * outputs are set to NULL / TK_HASH_NONE.
 */
bool tk_token_decode(const char *token, size_t len, char **org, char **id, enum tk_hash_algo *h);

/**
 * Tyk's TokenHashAlgo as an algorithm: the "h" of a base64-JSON token (only the "ey" prefix
 * and base64 are required, not "org"), else TK_HASH_NONE. Hashing with the result is HashStr.
 */
enum tk_hash_algo tk_token_hash_algo(const char *token, size_t len);

/**
 * Tyk's TokenOrg: the "org" of a base64-JSON token; else, when @len > 24 and the first 24
 * bytes are hex digits (any case, a Mongo ObjectID), those 24 bytes; else NULL. NULL stands
 * for Tyk's "" (an empty "org" also gives NULL). Returns a malloc'd string or NULL.
 */
char *tk_token_org(const char *token, size_t len);

/**
 * Tyk's TokenID: the "id" of a base64 token (no "ey" prefix check, as in Tyk), or NULL when the
 * token is not base64 or has no string "id". Returns a malloc'd string or NULL.
 */
char *tk_token_id(const char *token, size_t len);

/**
 * Hashes @len bytes of @data with @a and writes the lowercase hex digest plus a NUL to @out
 * (at least TK_HASH_HEX_MAX bytes). Returns the number of hex digits: murmur32 (and
 * TK_HASH_NONE) 8 = MurmurHash3 x86_32 seed 0, big-endian; murmur64 16 = h1 of MurmurHash3
 * x64_128 seed 0, big-endian; murmur128 32 = h1 then h2, each big-endian; sha256 64.
 * This is Tyk's HashStr(data, algo) with an explicit algorithm (cache keys, basic-auth
 * passwords, hash_key_function_fallback lookups).
 */
size_t tk_hash_hex(enum tk_hash_algo a, const void *data, size_t len, char *out);

/**
 * Tyk's HashStr(token): hashes with the token's embedded "h" (tk_token_hash_algo), i.e.
 * murmur32 for legacy keys. @out as for tk_hash_hex(); returns the number of hex digits.
 */
size_t tk_hash_str(const char *token, size_t len, char *out);

/**
 * Tyk's HashKey(token, hash_keys): writes tk_hash_str(@token) when @hash_keys, else the
 * token itself, plus a NUL, into @out of @outcap bytes. Returns TK_OK, or TK_ERROR when
 * @outcap is too small (then @out holds "" if @outcap > 0).
 */
int tk_hash_key(const char *token, size_t len, bool hash_keys, char *out, size_t outcap);

/**
 * A new HMAC secret for a key, as Tyk's GenerateHMACSecret: standard base64 of a
 * tk_uuid_hex() (44 chars). Returns a malloc'd string the caller frees.
 */
char *tk_hmac_secret_generate(void);

/** Signs a cluster notification (tyk.cluster.notifications) as Tyk does with algorithm 5:
 *  hex(sha256(command + payload + node_secret)) into @out. */
void tk_notification_sign(const char *command, const char *payload, const char *secret,
                          char out[65]);

#endif
