/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk-compatible key generation, base64-JSON token decoding and key hashing (see tk_hash.h). */
#include "tk_hash.h"

#include "tk_base64.h"

#include <limits.h>

#include <murmurhash.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static const char hexdig[] = "0123456789abcdef";

/* ---- algorithm names ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    enum tk_hash_algo algo;
} algo_names[] = {
    {"murmur32", TK_HASH_MURMUR32},
    {"murmur64", TK_HASH_MURMUR64},
    {"murmur128", TK_HASH_MURMUR128},
    {"sha256", TK_HASH_SHA256},
};

enum tk_hash_algo tk_hash_algo_parse(const char *name, size_t len, bool *known)
{
    if (known)
        *known = true;
    if (len == 0)
        return TK_HASH_NONE;
    for (size_t i = 0; i < TK_ARRAY_LEN(algo_names); i++) {
        if (strlen(algo_names[i].name) == len && memcmp(algo_names[i].name, name, len) == 0)
            return algo_names[i].algo;
    }
    /* Tyk logs "Unknown key hash function ... Falling back to murmur64" and carries on. */
    if (known)
        *known = false;
    return TK_HASH_MURMUR64;
}

const char *tk_hash_algo_name(enum tk_hash_algo a)
{
    switch (a) {
    case TK_HASH_NONE:
        return "";
    case TK_HASH_MURMUR32:
        return "murmur32";
    case TK_HASH_MURMUR128:
        return "murmur128";
    case TK_HASH_SHA256:
        return "sha256";
    case TK_HASH_MURMUR64:
    default:
        return "murmur64";
    }
}

/* ---- UUIDs -------------------------------------------------------------------------------- */

static void uuid_bytes(unsigned char b[16])
{
    TK_ASSERT(RAND_bytes(b, 16) == 1);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); // version 4
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); // RFC 4122 variant
}

void tk_uuid_hex(char out[33])
{
    unsigned char b[16];
    uuid_bytes(b);
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = hexdig[b[i] >> 4];
        out[2 * i + 1] = hexdig[b[i] & 15];
    }
    out[32] = '\0';
}

void tk_uuid_str(char out[37])
{
    unsigned char b[16];
    uuid_bytes(b);
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hexdig[b[i] >> 4];
        out[o++] = hexdig[b[i] & 15];
    }
    out[36] = '\0';
}

/* ---- lenient JSON key lookup -------------------------------------------------------------- */
/*
 * Tyk reads token fields with buger/jsonparser's GetString, which scans for the key instead of
 * parsing the document. Custom key ids are pasted into the JSON unescaped, so tokens can hold
 * broken JSON, and which fields are found then decides the hash algorithm and thus the Redis
 * key. The scanner below reproduces that library's observable rules (v1.1.1, single key):
 * first top-level match wins, nested objects after a non-matching key and all arrays are
 * skipped by bracket counting, a bare ':' outside a key aborts, and key and value escapes are
 * decoded with its quirks.
 */

/* Offset just past the closing quote of a string whose body starts at @d, or -1. */
static ptrdiff_t js_string_end(const char *d, size_t n, bool *escaped)
{
    bool esc = false;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '\\') {
            esc = true;
        } else if (d[i] == '"') {
            if (!esc) {
                *escaped = false;
                return (ptrdiff_t)i + 1;
            }
            /* An even run of backslashes before the quote does not escape it. */
            size_t nb = 0;
            while (nb < i && d[i - 1 - nb] == '\\')
                nb++;
            if (nb % 2 == 0) {
                *escaped = true;
                return (ptrdiff_t)i + 1;
            }
        }
    }
    *escaped = esc;
    return -1;
}

static ptrdiff_t js_next_token(const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i] != ' ' && d[i] != '\n' && d[i] != '\r' && d[i] != '\t')
            return (ptrdiff_t)i;
    }
    return -1;
}

/* Offset just past the bracket closing the block that opens at @d[0], or -1. */
static ptrdiff_t js_block_end(const char *d, size_t n, char open, char close)
{
    long level = 0;
    bool esc;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '"') {
            ptrdiff_t se = js_string_end(d + i + 1, n - i - 1, &esc);
            if (se < 0)
                return -1;
            i += (size_t)se;
        } else if (d[i] == open) {
            level++;
        } else if (d[i] == close) {
            if (--level == 0)
                return (ptrdiff_t)i + 1;
        }
    }
    return -1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at @p[2..5] (the "\u" itself is not checked, as in jsonparser). */
static long js_hex4(const char *p, size_t n)
{
    if (n < 6)
        return -1;
    long r = 0;
    for (int k = 2; k < 6; k++) {
        int v = hexval((unsigned char)p[k]);
        if (v < 0)
            return -1;
        r = r << 4 | v;
    }
    return r;
}

/* Go's utf8.EncodeRune: surrogates and values past U+10FFFF become U+FFFD. */
static size_t put_utf8(char *out, long r)
{
    if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        r = 0xfffd;
    if (r < 0x80) {
        out[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        out[0] = (char)(0xc0 | r >> 6);
        out[1] = (char)(0x80 | (r & 0x3f));
        return 2;
    }
    if (r < 0x10000) {
        out[0] = (char)(0xe0 | r >> 12);
        out[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        out[2] = (char)(0x80 | (r & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | r >> 18);
    out[1] = (char)(0x80 | ((r >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3f));
    out[3] = (char)(0x80 | (r & 0x3f));
    return 4;
}

/* Decodes JSON escapes of @in into @out (room for @n bytes always suffices); false if invalid. */
static bool js_unescape(const char *in, size_t n, char *out, size_t *outlen)
{
    size_t i = 0, o = 0;
    while (i < n) {
        if (in[i] != '\\') {
            out[o++] = in[i++];
            continue;
        }
        if (n - i < 2)
            return false;
        char c = in[i + 1];
        switch (c) {
        case '"':
        case '\\':
        case '/':
            out[o++] = c;
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            long r = js_hex4(in + i, n - i);
            if (r < 0)
                return false;
            if (r < 0xd800 || r > 0xdfff) {
                o += put_utf8(out + o, r);
                i += 6;
                continue;
            }
            /*
             * Any surrogate must be followed by a second escape of at least U+DC00; the pair is
             * combined arithmetically without further checks (out-of-range results become
             * U+FFFD), which is what Tyk's parser does.
             */
            long r2 = js_hex4(in + i + 6, n - i - 6);
            if (r2 < 0xdc00)
                return false;
            o += put_utf8(out + o, 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00));
            i += 12;
            continue;
        }
        default:
            return false;
        }
        i += 2;
    }
    *outlen = o;
    return true;
}

/* Offset just past the ':' that follows top-level @key, or -1 when jsonparser finds none. */
static ptrdiff_t js_search_key(const char *d, size_t n, const char *key)
{
    size_t klen = strlen(key);
    long level = 0, key_level = 0;
    bool last_matched = true;
    size_t i = 0;

    while (i < n) {
        switch (d[i]) {
        case '"': {
            i++;
            size_t kb = i;
            bool esc;
            ptrdiff_t se = js_string_end(d + i, n - i, &esc);
            if (se < 0)
                return -1;
            i += (size_t)se;
            size_t ke = i - 1;
            ptrdiff_t vo = js_next_token(d + i, n - i);
            if (vo < 0)
                return -1;
            i += (size_t)vo;
            if (d[i] != ':') {
                i--; // not a key: look at that token again on the next turn
                break;
            }
            if (level != 1) // outside any object, or a key nested deeper: jsonparser gives up
                return -1;
            bool match;
            if (!esc) {
                match = ke - kb == klen && memcmp(d + kb, key, klen) == 0;
            } else {
                char *tmp = tk_xmalloc(ke - kb + 1);
                size_t tl;
                bool ok = js_unescape(d + kb, ke - kb, tmp, &tl);
                match = ok && tl == klen && memcmp(tmp, key, klen) == 0;
                free(tmp);
                if (!ok)
                    return -1;
            }
            if (match) {
                last_matched = true;
                if (key_level == level - 1)
                    return (ptrdiff_t)i + 1;
            } else {
                last_matched = false;
            }
            break;
        }
        case '{':
            if (!last_matched) {
                ptrdiff_t be = js_block_end(d + i, n - i, '{', '}');
                if (be < 0)
                    return -1;
                i += (size_t)be - 1;
            } else {
                level++;
            }
            break;
        case '}':
            level--;
            if (level == key_level)
                key_level--;
            break;
        case '[': {
            /* With key_level == level < 0 the Go code indexes out of range (a panic). */
            if (key_level == level && level < 0)
                return -1;
            ptrdiff_t be = js_block_end(d + i, n - i, '[', ']');
            if (be < 0)
                return -1;
            i += (size_t)be - 1;
            break;
        }
        case ':':
            return -1;
        default:
            break;
        }
        i++;
    }
    return -1;
}

/*
 * jsonparser.GetString(d, key): on success *@val is a malloc'd, NUL-terminated copy of the
 * decoded value and *@vlen its length (which may include NUL bytes).
 */
static bool js_get_string(const char *d, size_t n, const char *key, char **val, size_t *vlen)
{
    ptrdiff_t off = js_search_key(d, n, key);
    if (off < 0)
        return false;
    ptrdiff_t nt = js_next_token(d + off, n - (size_t)off);
    if (nt < 0)
        return false;
    size_t p = (size_t)(off + nt);
    if (d[p] != '"')
        return false;
    bool esc;
    ptrdiff_t se = js_string_end(d + p + 1, n - p - 1, &esc);
    if (se < 0)
        return false;
    const char *v = d + p + 1;
    size_t vl = (size_t)se - 1;
    char *out = tk_xmalloc(vl + 1);
    if (memchr(v, '\\', vl) == NULL) {
        memcpy(out, v, vl);
    } else if (!js_unescape(v, vl, out, &vl)) {
        free(out);
        return false;
    }
    out[vl] = '\0';
    *val = out;
    *vlen = vl;
    return true;
}

/* ---- tokens ------------------------------------------------------------------------------- */

static void append(char *buf, size_t *o, const char *s, size_t n)
{
    memcpy(buf + *o, s, n);
    *o += n;
}

char *tk_token_generate(const char *org, const char *key_id, enum tk_hash_algo h)
{
    const char *o = org ? org : "";
    const char *id = key_id ? key_id : "";
    size_t ol = strlen(o);
    char uuid[33];

    /* strings.TrimPrefix(keyID, orgID): one occurrence; an empty org strips nothing. */
    if (ol > 0 && strncmp(id, o, ol) == 0)
        id += ol;
    if (*id == '\0') {
        tk_uuid_hex(uuid);
        id = uuid;
    }
    size_t il = strlen(id);

    if (h == TK_HASH_NONE) {
        char *legacy = tk_xmalloc(ol + il + 1);
        memcpy(legacy, o, ol);
        memcpy(legacy + ol, id, il + 1);
        return legacy;
    }

    /* Tyk builds this with fmt.Sprintf and %s: no escaping of quotes or backslashes. */
    const char *name = tk_hash_algo_name(h);
    size_t nl = strlen(name);
    size_t jl = 0;
    char *json = tk_xmalloc(ol + il + nl + 32);
    append(json, &jl, "{\"org\":\"", 8);
    append(json, &jl, o, ol);
    append(json, &jl, "\",\"id\":\"", 8);
    append(json, &jl, id, il);
    append(json, &jl, "\",\"h\":\"", 7);
    append(json, &jl, name, nl);
    append(json, &jl, "\"}", 2);
    char *tok = tk_b64_encode(json, jl, false, true, NULL);
    free(json);
    return tok;
}

/* The decoded JSON of an "ey..." token, or NULL (Tyk's B64JSONPrefix check plus base64). */
static char *token_json(const char *token, size_t len, size_t *jlen)
{
    if (len < 2 || token[0] != 'e' || token[1] != 'y')
        return NULL;
    return (char *)tk_b64_decode(token, len, false, true, jlen);
}

static enum tk_hash_algo json_algo(const char *json, size_t jlen)
{
    char *name;
    size_t nl;
    if (!js_get_string(json, jlen, "h", &name, &nl))
        return TK_HASH_NONE;
    enum tk_hash_algo a = tk_hash_algo_parse(name, nl, NULL);
    free(name);
    return a;
}

bool tk_token_decode(const char *token, size_t len, char **org, char **id, enum tk_hash_algo *h)
{
    char *o = NULL, *i = NULL;
    size_t jlen, vl;
    enum tk_hash_algo a = TK_HASH_NONE;
    char *json = token_json(token, len, &jlen);
    bool ok = json && js_get_string(json, jlen, "org", &o, &vl);

    if (ok) {
        if (id && !js_get_string(json, jlen, "id", &i, &vl))
            i = NULL;
        a = json_algo(json, jlen);
    }
    free(json);
    if (org)
        *org = o;
    else
        free(o);
    if (id)
        *id = i;
    if (h)
        *h = a;
    return ok;
}

enum tk_hash_algo tk_token_hash_algo(const char *token, size_t len)
{
    size_t jlen;
    char *json = token_json(token, len, &jlen);
    if (!json)
        return TK_HASH_NONE;
    enum tk_hash_algo a = json_algo(json, jlen);
    free(json);
    return a;
}

char *tk_token_org(const char *token, size_t len)
{
    size_t jlen, vl;
    char *org = NULL;
    char *json = token_json(token, len, &jlen);
    bool found = json && js_get_string(json, jlen, "org", &org, &vl);
    free(json);
    if (found) {
        if (vl > 0)
            return org;
        free(org);
        return NULL;
    }
    /* Legacy keys of orgs with Mongo ObjectID ids: 24 hex digits, then the key. */
    if (len > 24) {
        for (size_t k = 0; k < 24; k++) {
            if (hexval((unsigned char)token[k]) < 0)
                return NULL;
        }
        return tk_xstrndup(token, 24);
    }
    return NULL;
}

char *tk_token_id(const char *token, size_t len)
{
    size_t jlen, vl;
    char *id = NULL;
    char *json = (char *)tk_b64_decode(token, len, false, true, &jlen);
    if (!json)
        return NULL;
    if (!js_get_string(json, jlen, "id", &id, &vl))
        id = NULL;
    free(json);
    return id;
}

/* ---- hashing ------------------------------------------------------------------------------ */

static size_t put_hex_be(char *out, uint64_t v, int bytes)
{
    size_t o = 0;
    for (int k = bytes - 1; k >= 0; k--) {
        unsigned b = (unsigned)(v >> (8 * k)) & 0xff;
        out[o++] = hexdig[b >> 4];
        out[o++] = hexdig[b & 15];
    }
    return o;
}

size_t tk_hash_hex(enum tk_hash_algo a, const void *data, size_t len, char *out)
{
    size_t n = 0;
    /* libmurmurhash takes an unsigned int length; nothing near 4 GiB is ever hashed. */
    TK_ASSERT(a == TK_HASH_SHA256 || len <= UINT_MAX);

    switch (a) {
    case TK_HASH_NONE:
    case TK_HASH_MURMUR32: {
        uint32_t h[1];
        lmmh_x86_32(data, (unsigned)len, 0, h);
        n = put_hex_be(out, h[0], 4);
        break;
    }
    case TK_HASH_MURMUR128: {
        uint64_t h[2];
        lmmh_x64_128(data, (unsigned)len, 0, h);
        n = put_hex_be(out, h[0], 8);
        n += put_hex_be(out + n, h[1], 8);
        break;
    }
    case TK_HASH_SHA256: {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        TK_ASSERT(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) == 1);
        for (unsigned int k = 0; k < mdlen; k++) {
            out[n++] = hexdig[md[k] >> 4];
            out[n++] = hexdig[md[k] & 15];
        }
        break;
    }
    case TK_HASH_MURMUR64:
    default: {
        /* Go's murmur3 New64 is the first half of the 128-bit hash. */
        uint64_t h[2];
        lmmh_x64_128(data, (unsigned)len, 0, h);
        n = put_hex_be(out, h[0], 8);
        break;
    }
    }
    out[n] = '\0';
    return n;
}

size_t tk_hash_str(const char *token, size_t len, char *out)
{
    return tk_hash_hex(tk_token_hash_algo(token, len), token, len, out);
}

int tk_hash_key(const char *token, size_t len, bool hash_keys, char *out, size_t outcap)
{
    char hex[TK_HASH_HEX_MAX];
    const char *src = token;
    size_t n = len;

    if (hash_keys) {
        n = tk_hash_str(token, len, hex);
        src = hex;
    }
    if (outcap < n + 1) {
        if (outcap > 0)
            out[0] = '\0';
        return TK_ERROR;
    }
    memcpy(out, src, n);
    out[n] = '\0';
    return TK_OK;
}

char *tk_hmac_secret_generate(void)
{
    char uuid[33];
    tk_uuid_hex(uuid);
    return tk_b64_encode(uuid, 32, false, true, NULL);
}

void tk_notification_sign(const char *command, const char *payload, const char *secret,
                          char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, command, strlen(command));
    EVP_DigestUpdate(ctx, payload, strlen(payload));
    EVP_DigestUpdate(ctx, secret, strlen(secret));
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (unsigned int i = 0; i < mdlen && i < 32; i++)
        snprintf(out + i * 2, 3, "%02x", md[i]);
    out[64] = '\0';
}
