/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_hash: Tyk key generation, token decoding and hashing vs outside vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_hash.h"
#include "tk_base64.h"

#include <stdio.h>
#include <stdlib.h>

/*
 * Every expected digest and base64 string below was computed outside this code base when the
 * test was written: digests with a stand-alone Python MurmurHash3 written from the published
 * algorithm (it reproduces the spec's "hello" values and the well-known x86_32 value of the
 * "quick brown fox" sentence) and hashlib.sha256; base64 with coreutils `base64 -w0`.
 */

/* ---- an independent MurmurHash3, written from the published algorithm --------------------- */

static uint32_t ref_rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint64_t ref_rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint32_t ref_fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static uint64_t ref_fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

/* Little-endian loads byte by byte, so alignment and host order never matter. */
static uint64_t ref_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t ref_murmur32(const unsigned char *p, size_t n)
{
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = 0;
    size_t blocks = n / 4;
    for (size_t i = 0; i < blocks; i++) {
        uint32_t k = (uint32_t)ref_le(p + 4 * i, 4);
        k *= c1;
        k = ref_rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = ref_rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    size_t rem = n & 3;
    if (rem) {
        uint32_t k = (uint32_t)ref_le(p + 4 * blocks, (int)rem);
        k *= c1;
        k = ref_rotl32(k, 15);
        k *= c2;
        h ^= k;
    }
    h ^= (uint32_t)n;
    return ref_fmix32(h);
}

static void ref_murmur128(const unsigned char *p, size_t n, uint64_t *o1, uint64_t *o2)
{
    const uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
    uint64_t h1 = 0, h2 = 0;
    size_t blocks = n / 16;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t k1 = ref_le(p + 16 * i, 8), k2 = ref_le(p + 16 * i + 8, 8);
        k1 *= c1;
        k1 = ref_rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = ref_rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729u;
        k2 *= c2;
        k2 = ref_rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = ref_rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5u;
    }
    const unsigned char *t = p + 16 * blocks;
    size_t rem = n & 15;
    if (rem > 8) {
        uint64_t k2 = ref_le(t + 8, (int)rem - 8);
        k2 *= c2;
        k2 = ref_rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
    }
    if (rem > 0) {
        uint64_t k1 = ref_le(t, rem > 8 ? 8 : (int)rem);
        k1 *= c1;
        k1 = ref_rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
    h1 ^= n;
    h2 ^= n;
    h1 += h2;
    h2 += h1;
    h1 = ref_fmix64(h1);
    h2 = ref_fmix64(h2);
    h1 += h2;
    h2 += h1;
    *o1 = h1;
    *o2 = h2;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static size_t hashs(enum tk_hash_algo a, const char *s, char *out)
{
    return tk_hash_hex(a, s, strlen(s), out);
}

static bool all_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

static void check_token_fields(const char *tok, bool want_ok, const char *want_org,
                               const char *want_id, enum tk_hash_algo want_h)
{
    char *org = (char *)1, *id = (char *)1;
    enum tk_hash_algo h = TK_HASH_SHA256;
    bool ok = tk_token_decode(tok, strlen(tok), &org, &id, &h);
    assert_int_equal(ok, want_ok);
    if (want_org)
        assert_string_equal(org, want_org);
    else
        assert_null(org);
    if (want_id)
        assert_string_equal(id, want_id);
    else
        assert_null(id);
    assert_int_equal(h, want_h);
    free(org);
    free(id);
}

static void check_org(const char *tok, const char *want)
{
    char *org = tk_token_org(tok, strlen(tok));
    if (want)
        assert_string_equal(org, want);
    else
        assert_null(org);
    free(org);
}

/* ---- algorithm names ---------------------------------------------------------------------- */

static void algo_names(void **state)
{
    (void)state;
    bool known = false;
    assert_int_equal(tk_hash_algo_parse("murmur32", 8, &known), TK_HASH_MURMUR32);
    assert_true(known);
    assert_int_equal(tk_hash_algo_parse("murmur64", 8, &known), TK_HASH_MURMUR64);
    assert_true(known);
    assert_int_equal(tk_hash_algo_parse("murmur128", 9, &known), TK_HASH_MURMUR128);
    assert_true(known);
    assert_int_equal(tk_hash_algo_parse("sha256", 6, &known), TK_HASH_SHA256);
    assert_true(known);
    assert_int_equal(tk_hash_algo_parse("", 0, &known), TK_HASH_NONE);
    assert_true(known);
    /* Unknown (including case variants and a prefix) → murmur64, flagged. */
    assert_int_equal(tk_hash_algo_parse("MURMUR64", 8, &known), TK_HASH_MURMUR64);
    assert_false(known);
    known = true;
    assert_int_equal(tk_hash_algo_parse("md5", 3, &known), TK_HASH_MURMUR64);
    assert_false(known);
    assert_int_equal(tk_hash_algo_parse("sha256x", 6, NULL), TK_HASH_SHA256); // length wins
    assert_int_equal(tk_hash_algo_parse("sha2", 4, NULL), TK_HASH_MURMUR64);
    assert_int_equal(tk_hash_algo_parse("murmur64\0", 9, NULL), TK_HASH_MURMUR64);
    assert_int_equal(tk_hash_algo_parse("murmur32\0", 9, &known), TK_HASH_MURMUR64);
    assert_false(known);

    assert_string_equal(tk_hash_algo_name(TK_HASH_NONE), "");
    assert_string_equal(tk_hash_algo_name(TK_HASH_MURMUR32), "murmur32");
    assert_string_equal(tk_hash_algo_name(TK_HASH_MURMUR64), "murmur64");
    assert_string_equal(tk_hash_algo_name(TK_HASH_MURMUR128), "murmur128");
    assert_string_equal(tk_hash_algo_name(TK_HASH_SHA256), "sha256");
    assert_string_equal(tk_hash_algo_name((enum tk_hash_algo)42), "murmur64");
}

/* ---- digests ------------------------------------------------------------------------------ */

static const struct {
    const char *in;
    const char *m32, *m64, *m128, *sha;
} vectors[] = {
    {"hello", "248bfa47", "cbd8a7b341bd9b02", "cbd8a7b341bd9b025b1e906a48ae1d19",
     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
    {"", "00000000", "0000000000000000", "00000000000000000000000000000000",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"a", "3c2569b2", "85555565f6597889", "85555565f6597889e6b53a48510e895a",
     "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
    {"ab", "9bbfd75f", "938b11ea16ed1b2e", "938b11ea16ed1b2ee65ea7019b52d4ad",
     "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"},
    {"abc", "b3dd93fa", "b4963f3f3fad7867", "b4963f3f3fad78673ba2744126ca2d52",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcd", "43ed676a", "b87bb7d64656cd4f", "b87bb7d64656cd4ff2003e886073e875",
     "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"},
    {"abcde", "e89b9af6", "2036d091f496bbb8", "2036d091f496bbb8c5c7eea04bcfec8c",
     "36bbe50ed96841d10443bcb670d6554f0a34b761be67ec9c4a8ad2c0c44ca42c"},
    {"0123456789abcdef", "36c7e0df", "4be06d94cf4ad1a7", "4be06d94cf4ad1a787c35b5c63a708da",
     "9f9f5111f7b27a781f1f1ddde5ebc2dd2b796bfc7365c9c28b548e564176929f"},
    {"0123456789abcdef0", "8efa0e6d", "eb24ae8785a5c075", "eb24ae8785a5c07573fb68b3313128ca",
     "d4022b7a487c57c12cde98550a8adb6da38f7f30aa3b44deb347c9cbb5383514"},
    {"The quick brown fox jumps over the lazy dog", "2e4ff723", "e34bbc7bbc071b6c",
     "e34bbc7bbc071b6c7a433ca9c49a9347",
     "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
    {"default5e9d9544a1dcd60001d0ed20a9b01a3d", "9f9d3db2", "3e6f696fe7858ff4",
     "3e6f696fe7858ff43c73ef7d831440ea",
     "90f2b162a65d90ce17042cb258328b16d825631d7139eccc30ec6779f199091b"},
};

static void reference_vectors(void **state)
{
    (void)state;
    char out[TK_HASH_HEX_MAX];
    for (size_t i = 0; i < TK_ARRAY_LEN(vectors); i++) {
        const char *in = vectors[i].in;
        assert_int_equal(hashs(TK_HASH_MURMUR32, in, out), 8);
        assert_string_equal(out, vectors[i].m32);
        /* TK_HASH_NONE hashes like murmur32, as Tyk's hashFunction(""). */
        assert_int_equal(hashs(TK_HASH_NONE, in, out), 8);
        assert_string_equal(out, vectors[i].m32);
        assert_int_equal(hashs(TK_HASH_MURMUR64, in, out), 16);
        assert_string_equal(out, vectors[i].m64);
        assert_int_equal(hashs(TK_HASH_MURMUR128, in, out), 32);
        assert_string_equal(out, vectors[i].m128);
        assert_int_equal(hashs(TK_HASH_SHA256, in, out), 64);
        assert_string_equal(out, vectors[i].sha);
    }
    /* Out-of-range enum values hash as murmur64 (Tyk's fallback). */
    assert_int_equal(hashs((enum tk_hash_algo)42, "hello", out), 16);
    assert_string_equal(out, "cbd8a7b341bd9b02");
    /* Binary input with NUL bytes is hashed by length. */
    assert_int_equal(tk_hash_hex(TK_HASH_MURMUR32, "a\0b", 3, out), 8);
    char ref[9];
    snprintf(ref, sizeof ref, "%08x", ref_murmur32((const unsigned char *)"a\0b", 3));
    assert_string_equal(out, ref);
}

static void murmur_against_reference(void **state)
{
    (void)state;
    unsigned char buf[300 + 8];
    char out[TK_HASH_HEX_MAX], want[TK_HASH_HEX_MAX];
    srand(12345);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rand();
    /* Every length 0..300 at every alignment 0..7 covers all tail and block paths. */
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n <= 300; n++) {
            const unsigned char *p = buf + off;
            uint64_t h1, h2;
            ref_murmur128(p, n, &h1, &h2);

            tk_hash_hex(TK_HASH_MURMUR32, p, n, out);
            snprintf(want, sizeof want, "%08x", ref_murmur32(p, n));
            assert_string_equal(out, want);

            tk_hash_hex(TK_HASH_MURMUR64, p, n, out);
            snprintf(want, sizeof want, "%016llx", (unsigned long long)h1);
            assert_string_equal(out, want);

            tk_hash_hex(TK_HASH_MURMUR128, p, n, out);
            snprintf(want, sizeof want, "%016llx%016llx", (unsigned long long)h1,
                     (unsigned long long)h2);
            assert_string_equal(out, want);
        }
    }
}

/* ---- UUIDs and secrets -------------------------------------------------------------------- */

static void uuids(void **state)
{
    (void)state;
    char a[33], b[33], d[37];
    for (int i = 0; i < 64; i++) {
        tk_uuid_hex(a);
        assert_int_equal(strlen(a), 32);
        assert_true(all_lower_hex(a, 32));
        assert_int_equal(a[12], '4'); // version 4
        assert_non_null(strchr("89ab", a[16]));
    }
    tk_uuid_hex(b);
    assert_string_not_equal(a, b);

    tk_uuid_str(d);
    assert_int_equal(strlen(d), 36);
    assert_int_equal(d[8], '-');
    assert_int_equal(d[13], '-');
    assert_int_equal(d[18], '-');
    assert_int_equal(d[23], '-');
    assert_int_equal(d[14], '4');
    assert_non_null(strchr("89ab", d[19]));
}

static void hmac_secret(void **state)
{
    (void)state;
    char *s = tk_hmac_secret_generate();
    char *t = tk_hmac_secret_generate();
    assert_int_equal(strlen(s), 44);
    assert_string_not_equal(s, t);
    size_t n;
    unsigned char *raw = tk_b64_decode(s, strlen(s), false, true, &n);
    assert_non_null(raw);
    assert_int_equal(n, 32);
    assert_true(all_lower_hex((const char *)raw, 32));
    assert_int_equal(raw[12], '4');
    free(raw);
    free(s);
    free(t);
}

/* ---- base64 ------------------------------------------------------------------------------- */

static void base64_codec(void **state)
{
    (void)state;
    /* RFC 4648 section 10 vectors. */
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < TK_ARRAY_LEN(plain); i++) {
        size_t n;
        char *e = tk_b64_encode(plain[i], strlen(plain[i]), false, true, &n);
        assert_string_equal(e, enc[i]);
        assert_int_equal(n, strlen(enc[i]));
        unsigned char *d = tk_b64_decode(e, n, false, true, &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(d, plain[i], n);
        free(d);
        free(e);
    }

    /* What Go's StdEncoding rejects. */
    static const char *bad[] = {"Zg=",  "Zg",   "Z",         "Z===",  "====", "Zm9v=", "Zg==Zg==",
                                "Zg=a", "Zm9*", "Zm9v YmFy", "Zg==x", "Zm-_", "Zg=\n"};
    for (size_t i = 0; i < TK_ARRAY_LEN(bad); i++) {
        size_t n = 99;
        unsigned char *d = tk_b64_decode(bad[i], strlen(bad[i]), false, true, &n);
        if (d)
            fail_msg("accepted bad base64 \"%s\"", bad[i]);
    }

    /* What it accepts: CR/LF anywhere, non-zero trailing bits. */
    static const char *good[] = {"Zg==\n", "Z\ng==", "Zg=\r\n=", "\r\nZm9v\n", "Zh==", "Zm9="};
    static const char *good_plain[] = {"f", "f", "f", "foo", "f", "fo"};
    for (size_t i = 0; i < TK_ARRAY_LEN(good); i++) {
        size_t n;
        unsigned char *d = tk_b64_decode(good[i], strlen(good[i]), false, true, &n);
        if (!d)
            fail_msg("rejected good base64 \"%s\"", good[i]);
        assert_int_equal(n, strlen(good_plain[i]));
        assert_memory_equal(d, good_plain[i], n);
        free(d);
    }
}

/* ---- token generation --------------------------------------------------------------------- */

static void generate_exact_text(void **state)
{
    (void)state;
    /* printf '{"org":"default","id":"abc","h":"<algo>"}' | base64 -w0 */
    static const struct {
        enum tk_hash_algo h;
        const char *want;
    } cases[] = {
        {TK_HASH_MURMUR64, "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyNjQifQ=="},
        {TK_HASH_MURMUR32, "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyMzIifQ=="},
        {TK_HASH_MURMUR128, "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyMTI4In0="},
        {TK_HASH_SHA256, "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoic2hhMjU2In0="},
        /* An out-of-range algorithm is written as murmur64, as Tyk substitutes it. */
        {(enum tk_hash_algo)42, "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyNjQifQ=="},
    };
    for (size_t i = 0; i < TK_ARRAY_LEN(cases); i++) {
        char *t = tk_token_generate("default", "abc", cases[i].h);
        assert_string_equal(t, cases[i].want);
        assert_true(strncmp(t, "ey", 2) == 0);
        free(t);
    }
    /* An unknown configured name maps to murmur64 through the parser too. */
    bool known;
    char *t = tk_token_generate("default", "abc", tk_hash_algo_parse("blake2", 6, &known));
    assert_false(known);
    assert_string_equal(t, cases[0].want);
    free(t);
}

static void generate_legacy(void **state)
{
    (void)state;
    char *t = tk_token_generate("default", "abc", TK_HASH_NONE);
    assert_string_equal(t, "defaultabc");
    free(t);
    /* The org prefix is stripped before the legacy concatenation, so it appears once. */
    t = tk_token_generate("default", "defaultabc", TK_HASH_NONE);
    assert_string_equal(t, "defaultabc");
    free(t);
    t = tk_token_generate(NULL, "abc", TK_HASH_NONE);
    assert_string_equal(t, "abc");
    free(t);

    /* No id: org + a fresh 32-hex UUID. */
    t = tk_token_generate("5e9d9544a1dcd60001d0ed20", NULL, TK_HASH_NONE);
    assert_int_equal(strlen(t), 24 + 32);
    assert_memory_equal(t, "5e9d9544a1dcd60001d0ed20", 24);
    assert_true(all_lower_hex(t + 24, 32));
    assert_int_equal(t[24 + 12], '4');
    free(t);
    t = tk_token_generate("org", "", TK_HASH_NONE);
    assert_int_equal(strlen(t), 3 + 32);
    free(t);
    /* An id equal to the org is stripped to nothing and so becomes a new UUID. */
    t = tk_token_generate("org", "org", TK_HASH_NONE);
    assert_int_equal(strlen(t), 3 + 32);
    assert_memory_equal(t, "org", 3);
    assert_true(all_lower_hex(t + 3, 32));
    free(t);
}

static void generate_custom_key_prefix(void **state)
{
    (void)state;
    /* printf '{"org":"bars","id":"X","h":"murmur64"}' | base64 -w0 */
    char *t = tk_token_generate("bars", "barsX", TK_HASH_MURMUR64);
    assert_string_equal(t, "eyJvcmciOiJiYXJzIiwiaWQiOiJYIiwiaCI6Im11cm11cjY0In0=");
    free(t);
    t = tk_token_generate("bars", "X", TK_HASH_MURMUR64);
    assert_string_equal(t, "eyJvcmciOiJiYXJzIiwiaWQiOiJYIiwiaCI6Im11cm11cjY0In0=");
    free(t);

    /* Only one leading occurrence is stripped; an inner occurrence stays. */
    t = tk_token_generate("bars", "barsbarsX", TK_HASH_MURMUR64);
    check_token_fields(t, true, "bars", "barsX", TK_HASH_MURMUR64);
    free(t);
    t = tk_token_generate("bars", "XbarsY", TK_HASH_MURMUR64);
    check_token_fields(t, true, "bars", "XbarsY", TK_HASH_MURMUR64);
    free(t);
    t = tk_token_generate("bars", "bar", TK_HASH_MURMUR64);
    check_token_fields(t, true, "bars", "bar", TK_HASH_MURMUR64);
    free(t);

    /* Empty org: nothing is stripped and the JSON carries "org":"". */
    t = tk_token_generate("", "k", TK_HASH_MURMUR64);
    assert_string_equal(t, "eyJvcmciOiIiLCJpZCI6ImsiLCJoIjoibXVybXVyNjQifQ==");
    check_token_fields(t, true, "", "k", TK_HASH_MURMUR64);
    free(t);
}

static void generate_roundtrip(void **state)
{
    (void)state;
    static const enum tk_hash_algo algos[] = {TK_HASH_MURMUR32, TK_HASH_MURMUR64, TK_HASH_MURMUR128,
                                              TK_HASH_SHA256};
    for (size_t i = 0; i < TK_ARRAY_LEN(algos); i++) {
        /* Generated id: a UUID appears as the id. */
        char *t = tk_token_generate("5e9d9544a1dcd60001d0ed20", NULL, algos[i]);
        char *org, *id;
        enum tk_hash_algo h;
        assert_true(tk_token_decode(t, strlen(t), &org, &id, &h));
        assert_string_equal(org, "5e9d9544a1dcd60001d0ed20");
        assert_int_equal(strlen(id), 32);
        assert_true(all_lower_hex(id, 32));
        assert_int_equal(h, algos[i]);
        assert_int_equal(tk_token_hash_algo(t, strlen(t)), algos[i]);
        char *o2 = tk_token_org(t, strlen(t));
        assert_string_equal(o2, org);
        char *id2 = tk_token_id(t, strlen(t));
        assert_string_equal(id2, id);
        free(o2);
        free(id2);
        free(org);
        free(id);
        free(t);

        /* Custom id with unicode and JSON-safe punctuation survives unchanged. */
        t = tk_token_generate("acme", "acme:user@example.com/\xc3\xa9", algos[i]);
        check_token_fields(t, true, "acme", ":user@example.com/\xc3\xa9", algos[i]);
        free(t);
    }
    /* Outputs are optional. */
    char *t = tk_token_generate("o", "i", TK_HASH_SHA256);
    assert_true(tk_token_decode(t, strlen(t), NULL, NULL, NULL));
    free(t);
}

static void generate_special_chars_unescaped(void **state)
{
    (void)state;
    /* id a"b\c is pasted verbatim: python3 base64 of {"org":"o","id":"a"b\c","h":"sha256"} */
    static const char json1[] = "{\"org\":\"o\",\"id\":\"a\"b\\c\",\"h\":\"sha256\"}";
    char *t = tk_token_generate("o", "a\"b\\c", TK_HASH_SHA256);
    assert_string_equal(t, "eyJvcmciOiJvIiwiaWQiOiJhImJcYyIsImgiOiJzaGEyNTYifQ==");
    size_t n;
    unsigned char *raw = tk_b64_decode(t, strlen(t), false, true, &n);
    assert_int_equal(n, sizeof json1 - 1);
    assert_memory_equal(raw, json1, n);
    free(raw);
    /*
     * Tyk's lenient scanner then finds "org" and "id" (the id cut at the stray quote) but runs
     * into an unterminated string before "h": HashStr falls back to murmur32.
     */
    check_token_fields(t, true, "o", "a", TK_HASH_NONE);
    char out[TK_HASH_HEX_MAX];
    assert_int_equal(tk_hash_str(t, strlen(t), out), 8);
    assert_string_equal(out, "792ea63e");
    free(t);

    /* id a\ : the backslash escapes the closing quote, so "id" reads as a", and no "h". */
    t = tk_token_generate("o", "a\\", TK_HASH_SHA256);
    assert_string_equal(t, "eyJvcmciOiJvIiwiaWQiOiJhXCIsImgiOiJzaGEyNTYifQ==");
    check_token_fields(t, true, "o", "a\",", TK_HASH_NONE);
    assert_int_equal(tk_hash_str(t, strlen(t), out), 8);
    assert_string_equal(out, "6203b40e");
    free(t);

    /* id a\\ : an even run of backslashes does not escape the quote; everything is found. */
    t = tk_token_generate("o", "a\\\\", TK_HASH_SHA256);
    assert_string_equal(t, "eyJvcmciOiJvIiwiaWQiOiJhXFwiLCJoIjoic2hhMjU2In0=");
    check_token_fields(t, true, "o", "a\\", TK_HASH_SHA256);
    free(t);
}

/* ---- decoding ----------------------------------------------------------------------------- */

static void decode_not_b64_json(void **state)
{
    (void)state;
    /* Legacy key, JWT-looking token, too short, empty, a base64 JSON array (starts "Wy"). */
    check_token_fields("default5e9d9544a1dcd60001d0ed20a9b01a3d", false, NULL, NULL, TK_HASH_NONE);
    check_token_fields("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", false, NULL, NULL, TK_HASH_NONE);
    check_token_fields("ey", false, NULL, NULL, TK_HASH_NONE);
    check_token_fields("e", false, NULL, NULL, TK_HASH_NONE);
    check_token_fields("", false, NULL, NULL, TK_HASH_NONE);
    check_token_fields("WyJvcmciLCJ4Il0=", false, NULL, NULL, TK_HASH_NONE);
    /* base64 of {"not json */
    check_token_fields("eyJub3QganNvbg==", false, NULL, NULL, TK_HASH_NONE);
    /* base64 of {"org":5}: "org" is not a string. */
    check_token_fields("eyJvcmciOjV9", false, NULL, NULL, TK_HASH_NONE);
    /* base64 of {"org":"a\qb"}: invalid escape in the value. */
    check_token_fields("eyJvcmciOiJhXHFiIn0=", false, NULL, NULL, TK_HASH_NONE);
    /* base64 of { {"org":"o"}}: the key sits at depth 2. */
    check_token_fields("eyB7Im9yZyI6Im8ifX0=", false, NULL, NULL, TK_HASH_NONE);
    /* base64 of { {"a":1},"org":"o"}: any key at depth 2 ends the scan, so "org" is missed. */
    check_token_fields("eyB7ImEiOjF9LCJvcmciOiJvIn0=", false, NULL, NULL, TK_HASH_NONE);
    /* base64 of {"x":1 : 2,"org":"o"}: a stray colon stops the scan. */
    check_token_fields("eyJ4IjoxIDogMiwib3JnIjoibyJ9", false, NULL, NULL, TK_HASH_NONE);
    /* Missing padding: Go's StdEncoding refuses it. */
    check_token_fields("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoic2hhMjU2In0", false, NULL, NULL,
                       TK_HASH_NONE);
    /* Data after the padding. */
    check_token_fields("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoic2hhMjU2In0==", false, NULL,
                       NULL, TK_HASH_NONE);
}

static void decode_lenient_like_tyk(void **state)
{
    (void)state;
    /* Base64 with a line break inside and non-zero trailing bits still decodes, as in Go. */
    check_token_fields("eyJvcmciOiJkZWZhdWx0IiwiaWQi\nOiJhYmMiLCJoIjoic2hhMjU2In0=", true,
                       "default", "abc", TK_HASH_SHA256);
    check_token_fields("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyNjQifR==", true,
                       "default", "abc", TK_HASH_MURMUR64);
    /* Missing "h" or "h":"" → NONE (murmur32); unknown name → murmur64. */
    check_token_fields("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMifQ==", true, "default", "abc",
                       TK_HASH_NONE);
    check_token_fields("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoiIn0=", true, "default", "abc",
                       TK_HASH_NONE);
    check_token_fields("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoiTVVSTVVSNjQifQ==", true,
                       "default", "abc", TK_HASH_MURMUR64);
    /* {"org":"x\u0041y","h":"\u0073ha256","id":"i"}: escapes in values are decoded. */
    check_token_fields("eyJvcmciOiJ4XHUwMDQxeSIsImgiOiJcdTAwNzNoYTI1NiIsImlkIjoiaSJ9", true, "xAy",
                       "i", TK_HASH_SHA256);
    /* {"\u006frg":"esc"}: escapes in keys are decoded before matching. */
    check_token_fields("eyJcdTAwNmZyZyI6ImVzYyJ9", true, "esc", NULL, TK_HASH_NONE);
    /* {"a":{"org":"nested"},"org":"top"}: nested objects are skipped. */
    check_token_fields("eyJhIjp7Im9yZyI6Im5lc3RlZCJ9LCJvcmciOiJ0b3AifQ==", true, "top", NULL,
                       TK_HASH_NONE);
    /* {"a":["org","x"],"org":"top2"}: arrays are skipped. */
    check_token_fields("eyJhIjpbIm9yZyIsIngiXSwib3JnIjoidG9wMiJ9", true, "top2", NULL,
                       TK_HASH_NONE);
    /* {"org":"o" and {"org":"o","h":"murmur128" : truncated JSON is not validated. */
    check_token_fields("eyJvcmciOiJvIg==", true, "o", NULL, TK_HASH_NONE);
    check_token_fields("eyJvcmciOiJvIiwiaCI6Im11cm11cjEyOCI=", true, "o", NULL, TK_HASH_MURMUR128);
    /* {"h":"x","org":"o","h":"sha256"}: the first duplicate wins ("x" → murmur64). */
    check_token_fields("eyJoIjoieCIsIm9yZyI6Im8iLCJoIjoic2hhMjU2In0=", true, "o", NULL,
                       TK_HASH_MURMUR64);

    /* {"org":"\ud83d\ude00|\udc00\udc00|\ud800xxdc01"}: surrogate handling of Tyk's parser. */
    char *org;
    const char *tok = "eyJvcmciOiJcdWQ4M2RcdWRlMDB8XHVkYzAwXHVkYzAwfFx1ZDgwMHh4ZGMwMSJ9";
    assert_true(tk_token_decode(tok, strlen(tok), &org, NULL, NULL));
    assert_string_equal(org, "\xf0\x9f\x98\x80|\xef\xbf\xbd|\xf0\x90\x80\x81");
    free(org);

    /* The length is honoured: a valid token followed by bytes outside @len. */
    const char *longer = "eyJvcmciOiJvIg==garbage";
    assert_true(tk_token_decode(longer, 16, NULL, NULL, NULL));
    assert_false(tk_token_decode(longer, strlen(longer), NULL, NULL, NULL));
}

static void token_org(void **state)
{
    (void)state;
    check_org("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyNjQifQ==", "default");
    check_org("eyJvcmciOiIiLCJpZCI6ImsiLCJoIjoibXVybXVyNjQifQ==", NULL); // "org":""
    /* Legacy keys: the first 24 characters when they are hex and more follow. */
    check_org("5e9d9544a1dcd60001d0ed20a9b01a3d1a2b3c4d5e6f", "5e9d9544a1dcd60001d0ed20");
    check_org("5E9D9544A1DCD60001D0ED20x", "5E9D9544A1DCD60001D0ED20");
    check_org("5e9d9544a1dcd60001d0ed20", NULL); // exactly 24: no
    check_org("5e9d9544a1dcd60001d0ed2g1234", NULL);
    check_org("default5e9d9544a1dcd60001d0ed20a9b01a3d", NULL);
    check_org("abc", NULL);
    check_org("", NULL);
    check_org("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", NULL);
    check_org("eyJub3QganNvbg==", NULL);
    /* The b64-JSON path does not require "id" or "h". */
    check_org("eyJvcmciOiJvIg==", "o");

    /* tk_token_id: plain base64, no "ey" check (Tyk's TokenID). */
    const char *noh = "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMifQ==";
    char *id = tk_token_id(noh, strlen(noh));
    assert_string_equal(id, "abc");
    free(id);
    assert_null(tk_token_id("default5e9d9544a1dcd60001d0ed20a9b01a3d", 39));
    assert_null(tk_token_id("eyJvcmciOiJvIg==", 16));
}

/* ---- HashStr / HashKey -------------------------------------------------------------------- */

static void hash_str(void **state)
{
    (void)state;
    /* Each expected value is the digest of the token text with the token's own algorithm. */
    static const struct {
        const char *tok, *want;
    } cases[] = {
        {"default5e9d9544a1dcd60001d0ed20a9b01a3d", "9f9d3db2"}, // legacy → murmur32
        {"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "2a234b43"},
        {"eyJub3QganNvbg==", "cbdbbb62"}, // b64 but not JSON → murmur32
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyNjQifQ==", "5d49993050e360e6"},
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyMzIifQ==", "48ba200d"},
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyMTI4In0=",
         "0a50470f4e1b062a89b8daae6aa30ad4"},
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoic2hhMjU2In0=",
         "3365d045a38657d639f1d84b17d9b928d304b4e72515176c51d4e9b2f5a765c8"},
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoiTVVSTVVSNjQifQ==", "b58d947500400535"},
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMifQ==", "efb878d0"},         // no "h"
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoiIn0=", "cf727cf8"}, // "h":""
        {"eyJvcmciOiJ4XHUwMDQxeSIsImgiOiJcdTAwNzNoYTI1NiIsImlkIjoiaSJ9",
         "717e2b3b267059af5403985d5b2b9fc620ebbdfafe5f5523e117abddd3faafca"},
        /* "ey" + base64 without "org": HashStr still reads "h" (none here → murmur32). */
        {"eyB7Im9yZyI6Im8ifX0=", "896e02ae"},
    };
    char out[TK_HASH_HEX_MAX];
    for (size_t i = 0; i < TK_ARRAY_LEN(cases); i++) {
        size_t n = tk_hash_str(cases[i].tok, strlen(cases[i].tok), out);
        assert_int_equal(n, strlen(cases[i].want));
        assert_string_equal(out, cases[i].want);
    }
    /* An explicit algorithm overrides the token's (cache keys, fallbacks). */
    const char *m64tok = cases[3].tok;
    tk_hash_hex(TK_HASH_SHA256, m64tok, strlen(m64tok), out);
    assert_string_equal(out, "83c9d45816b8c5de5435414333eed618ee576dc0844ab61a8524e62299c5eeb7");
    tk_hash_hex(TK_HASH_MURMUR32, m64tok, strlen(m64tok), out);
    assert_string_equal(out, "8f19e727");

    /* tk_token_hash_algo is what tk_hash_str uses. */
    assert_int_equal(tk_token_hash_algo(m64tok, strlen(m64tok)), TK_HASH_MURMUR64);
    assert_int_equal(tk_token_hash_algo("defaultabc", 10), TK_HASH_NONE);
}

static void hash_key(void **state)
{
    (void)state;
    const char *tok = "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJhYmMiLCJoIjoibXVybXVyNjQifQ==";
    char out[128];
    assert_int_equal(tk_hash_key(tok, strlen(tok), true, out, sizeof out), TK_OK);
    assert_string_equal(out, "5d49993050e360e6");
    assert_int_equal(tk_hash_key(tok, strlen(tok), false, out, sizeof out), TK_OK);
    assert_string_equal(out, tok);
    assert_int_equal(tk_hash_key("defaultabc", 10, true, out, sizeof out), TK_OK);
    char want[9];
    snprintf(want, sizeof want, "%08x", ref_murmur32((const unsigned char *)"defaultabc", 10));
    assert_string_equal(out, want);

    /* Exact fit and one byte short. */
    assert_int_equal(tk_hash_key(tok, strlen(tok), true, out, 17), TK_OK);
    assert_string_equal(out, "5d49993050e360e6");
    assert_int_equal(tk_hash_key(tok, strlen(tok), true, out, 16), TK_ERROR);
    assert_string_equal(out, "");
    assert_int_equal(tk_hash_key("abc", 3, false, out, 4), TK_OK);
    assert_string_equal(out, "abc");
    assert_int_equal(tk_hash_key("abc", 3, false, out, 3), TK_ERROR);
    assert_string_equal(out, "");
    assert_int_equal(tk_hash_key("abc", 3, false, NULL, 0), TK_ERROR);
    /* Only @len bytes of the token are used. */
    assert_int_equal(tk_hash_key("abcdef", 3, false, out, sizeof out), TK_OK);
    assert_string_equal(out, "abc");
}

/* Lookups with hash_key_function_fallback regenerate the token per algorithm and hash each. */
static void fallback_lookup_keys(void **state)
{
    (void)state;
    static const enum tk_hash_algo algos[] = {TK_HASH_MURMUR64, TK_HASH_SHA256, TK_HASH_MURMUR32,
                                              TK_HASH_MURMUR128};
    static const size_t lens[] = {16, 64, 8, 32};
    for (size_t i = 0; i < TK_ARRAY_LEN(algos); i++) {
        char *t = tk_token_generate("default", "defaultabc", algos[i]);
        char out[TK_HASH_HEX_MAX], want[TK_HASH_HEX_MAX];
        assert_int_equal(tk_hash_str(t, strlen(t), out), lens[i]);
        tk_hash_hex(algos[i], t, strlen(t), want);
        assert_string_equal(out, want);
        free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(algo_names),
        cmocka_unit_test(reference_vectors),
        cmocka_unit_test(murmur_against_reference),
        cmocka_unit_test(uuids),
        cmocka_unit_test(hmac_secret),
        cmocka_unit_test(base64_codec),
        cmocka_unit_test(generate_exact_text),
        cmocka_unit_test(generate_legacy),
        cmocka_unit_test(generate_custom_key_prefix),
        cmocka_unit_test(generate_roundtrip),
        cmocka_unit_test(generate_special_chars_unescaped),
        cmocka_unit_test(decode_not_b64_json),
        cmocka_unit_test(decode_lenient_like_tyk),
        cmocka_unit_test(token_org),
        cmocka_unit_test(hash_str),
        cmocka_unit_test(hash_key),
        cmocka_unit_test(fallback_lookup_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
