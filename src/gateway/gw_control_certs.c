/* SPDX-License-Identifier: Apache-2.0 */
/* The /tyk/certs control API: Tyk's certificate store ("cert-raw-<id>" PEM, "cert-<org>-index"). */
#include "gw_handlers.h"
#include "gw_pipeline.h"
#include "tk_log.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REDIS_DOWN "Redis connection not available"
#define NOT_FOUND "Certificate with given SHA256 fingerprint not found"
#define SHA_HEX 64

/* ---- responses ------------------------------------------------------------------------- */

/* Sends @v and drops the reference. */
/* Tyk: security.private_certificate_encoding_secret, else the gateway secret. */
static const char *c_secret(const gw_req_t *req)
{
    const gw_conf_t *conf = req->conn->w->srv->conf;
    const char *s = conf->security_private_certificate_encoding_secret;
    if (s && *s)
        return s;
    return conf->secret ? conf->secret : "";
}

/* ---- PEM and X.509 helpers -------------------------------------------------------------- */

static void hex_sha256(const unsigned char *der, size_t n, char out[SHA_HEX + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    static const char hx[] = "0123456789abcdef";
    if (!EVP_Digest(der, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[SHA_HEX] = '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Appends a PEM block (optional @header lines, each ending in '\n') to @out. */
static bool pem_append(BIO *out, const char *type, const char *header, const unsigned char *data,
                       long len)
{
    return PEM_write_bio(out, type, header ? header : "", data, len) > 0;
}

static char *bio_text(BIO *b, size_t *len)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *s = tk_xmalloc((size_t)(n > 0 ? n : 0) + 1);
    if (n > 0)
        memcpy(s, p, (size_t)n);
    s[n > 0 ? n : 0] = '\0';
    if (len)
        *len = (size_t)(n > 0 ? n : 0);
    return s;
}

/* Legacy OpenSSL PEM encryption as Go's x509.EncryptPEMBlock/DecryptPEMBlock do it: the key is
 * EVP_BytesToKey(MD5, salt = first 8 IV bytes, one round), CBC with PKCS#7 padding. */
static bool pem_crypt(bool enc, const EVP_CIPHER *ciph, const unsigned char *iv, const char *pass,
                      const unsigned char *in, int inlen, unsigned char **out, int *outlen)
{
    unsigned char key[EVP_MAX_KEY_LENGTH];
    if (!EVP_BytesToKey(ciph, EVP_md5(), iv, (const unsigned char *)pass, (int)strlen(pass), 1, key,
                        NULL))
        return false;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    unsigned char *buf = tk_xmalloc((size_t)inlen + EVP_MAX_BLOCK_LENGTH);
    int n1 = 0, n2 = 0;
    bool ok = ctx && EVP_CipherInit_ex(ctx, ciph, NULL, key, iv, enc ? 1 : 0) &&
              EVP_CipherUpdate(ctx, buf, &n1, in, inlen) && EVP_CipherFinal_ex(ctx, buf + n1, &n2);
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    if (!ok) {
        free(buf);
        ERR_clear_error();
        return false;
    }
    *out = buf;
    *outlen = n1 + n2;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decrypts an encrypted PEM block in place (DEK-Info header). False on any failure. */
static bool pem_decrypt(const char *header, const char *pass, unsigned char **data, long *len)
{
    const char *d = strstr(header, "DEK-Info:");
    if (!d)
        return false;
    d += strlen("DEK-Info:");
    while (*d == ' ')
        d++;
    const char *comma = strchr(d, ',');
    if (!comma || comma - d >= 64)
        return false;
    char name[64];
    memcpy(name, d, (size_t)(comma - d));
    name[comma - d] = '\0';
    const EVP_CIPHER *ciph = EVP_get_cipherbyname(name);
    if (!ciph)
        return false;
    int ivlen = EVP_CIPHER_get_iv_length(ciph);
    unsigned char iv[EVP_MAX_IV_LENGTH];
    const char *h = comma + 1;
    for (int i = 0; i < ivlen; i++) {
        int a = hexval(h[2 * i]), b = a < 0 ? -1 : hexval(h[2 * i + 1]);
        if (a < 0 || b < 0)
            return false;
        iv[i] = (unsigned char)(a * 16 + b);
    }
    if (ivlen < 8 || *len <= 0 || *len > 1 << 24)
        return false;
    unsigned char *plain = NULL;
    int plen = 0;
    if (!pem_crypt(false, ciph, iv, pass, *data, (int)*len, &plain, &plen))
        return false;
    OPENSSL_free(*data);
    *data = OPENSSL_malloc(plen > 0 ? (size_t)plen : 1);
    if (!*data) {
        free(plain);
        return false;
    }
    memcpy(*data, plain, (size_t)plen);
    OPENSSL_cleanse(plain, (size_t)plen);
    free(plain);
    *len = plen;
    return true;
}

static EVP_PKEY *parse_key(const unsigned char *der, long len)
{
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, len);
    if (!k)
        ERR_clear_error();
    return k;
}

/* Tyk's GetCertIDAndChainPEM: validates the upload and builds the stored text. On failure
 * returns NULL and sets *err (static text or an arena string). */
static char *build_stored(const char *pem, size_t n, const char *secret, char id[SHA_HEX + 1],
                          const char **err)
{
    BIO *in = BIO_new_mem_buf(pem, (int)n);
    BIO *chain = BIO_new(BIO_s_mem());
    BIO *pub = NULL;
    unsigned char *key_der = NULL, *pub_der = NULL;
    long key_len = 0, pub_len = 0;
    X509 *first = NULL;
    char *stored = NULL;
    size_t ncerts = 0;
    *err = NULL;
    if (!in || !chain) {
        *err = "Failed to decode certificate. It should be PEM encoded.";
        goto out;
    }
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        if (!PEM_read_bio(in, &name, &header, &data, &len))
            break;
        if (ends_with(name, "PRIVATE KEY")) {
            if (key_der) {
                *err = "Found multiple private keys";
            } else {
                key_der = data;
                key_len = len;
                data = NULL;
            }
        } else if (strcmp(name, "CERTIFICATE") == 0) {
            const unsigned char *p = data;
            X509 *x = d2i_X509(NULL, &p, len);
            if (!x) {
                *err = "x509: malformed certificate";
            } else if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
                *err = "certificate is expired";
            } else {
                if (ncerts++ > 0)
                    BIO_write(chain, "\n", 1);
                pem_append(chain, "CERTIFICATE", header, data, len);
                if (!first) {
                    first = x;
                    x = NULL;
                }
            }
            X509_free(x);
        } else if (strcmp(name, "PUBLIC KEY") == 0) {
            OPENSSL_free(pub_der);
            pub_der = data;
            pub_len = len;
            data = NULL;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        if (*err)
            goto out;
    }
    ERR_clear_error();
    if (ncerts == 0) {
        if (!pub_der) {
            *err = "Failed to decode certificate. It should be PEM encoded.";
            goto out;
        }
        pub = BIO_new(BIO_s_mem());
        if (!pub || !pem_append(pub, "PUBLIC KEY", NULL, pub_der, pub_len)) {
            *err = "Failed to decode certificate. It should be PEM encoded.";
            goto out;
        }
    } else if (pub_der) {
        *err = "Public keys can't be combined with certificates";
        goto out;
    }
    if (key_der) {
        if (!first) {
            *err = "tls: failed to find any PEM data in certificate input";
            goto out;
        }
        EVP_PKEY *k = parse_key(key_der, key_len);
        if (!k) {
            *err = "tls: failed to parse private key";
            goto out;
        }
        int match = X509_check_private_key(first, k);
        EVP_PKEY_free(k);
        ERR_clear_error();
        if (match != 1) {
            *err = "tls: private key does not match public key";
            goto out;
        }
        unsigned char iv[16];
        unsigned char *enc = NULL;
        int enclen = 0;
        if (RAND_bytes(iv, sizeof(iv)) != 1 || key_len > 1 << 24 ||
            !pem_crypt(true, EVP_aes_256_cbc(), iv, secret, key_der, (int)key_len, &enc, &enclen)) {
            *err = "Failed to encrypt the private key";
            goto out;
        }
        char hdr[128];
        int off = snprintf(hdr, sizeof(hdr), "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,");
        for (size_t i = 0; i < sizeof(iv) && off > 0 && (size_t)off + 3 < sizeof(hdr); i++)
            off += snprintf(hdr + off, sizeof(hdr) - (size_t)off, "%02x", iv[i]);
        snprintf(hdr + off, sizeof(hdr) - (size_t)off, "\n");
        BIO_write(chain, "\n", 1);
        bool ok = pem_append(chain, "ENCRYPTED PRIVATE KEY", hdr, enc, enclen);
        free(enc);
        if (!ok) {
            *err = "Failed to encrypt the private key";
            goto out;
        }
    }
    if (pub) {
        hex_sha256(pub_der, (size_t)pub_len, id);
        stored = bio_text(pub, NULL);
    } else {
        unsigned char *der = NULL;
        int dl = i2d_X509(first, &der);
        if (dl <= 0) {
            *err = "Error while parsing certificate";
            goto out;
        }
        hex_sha256(der, (size_t)dl, id);
        OPENSSL_free(der);
        stored = bio_text(chain, NULL);
    }
out:
    if (*err && !stored)
        tk_log_info("control API: certificate refused: %s", *err);
    if (key_der)
        OPENSSL_clear_free(key_der, (size_t)key_len);
    OPENSSL_free(pub_der);
    X509_free(first);
    BIO_free(in);
    BIO_free(chain);
    BIO_free(pub);
    ERR_clear_error();
    return stored;
}

/* A stored entry parsed as Tyk's ParsePEMCertificate does. */
typedef struct parsed {
    X509 *leaf;               /* first certificate, NULL for a public key */
    char pub_fp[SHA_HEX + 1]; /* public key entries: the key's hash */
    bool is_pub;
    bool has_private;
    char fingerprint[SHA_HEX + 1]; /* hash of the last CERTIFICATE block */
} parsed_t;

static void parsed_free(parsed_t *p)
{
    X509_free(p->leaf);
    memset(p, 0, sizeof(*p));
}

static bool parse_stored(const char *text, size_t n, const char *secret, parsed_t *out)
{
    memset(out, 0, sizeof(*out));
    BIO *in = BIO_new_mem_buf(text, (int)n);
    bool ok = in != NULL, any = false;
    while (ok) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        if (!PEM_read_bio(in, &name, &header, &data, &len))
            break;
        const char *type = name;
        if (header && strstr(header, "DEK-Info:")) {
            if (!pem_decrypt(header, secret, &data, &len))
                ok = false;
            if (strncmp(type, "ENCRYPTED ", 10) == 0)
                type += 10;
        }
        if (!ok) {
            /* fall through to cleanup */
        } else if (strcmp(type, "CERTIFICATE") == 0) {
            hex_sha256(data, (size_t)len, out->fingerprint);
            if (!any && !out->is_pub) {
                const unsigned char *p = data;
                out->leaf = d2i_X509(NULL, &p, len);
                if (!out->leaf)
                    ok = false;
            }
            any = true;
        } else if (ends_with(type, "PRIVATE KEY")) {
            EVP_PKEY *k = parse_key(data, len);
            if (!k)
                ok = false;
            out->has_private = k != NULL;
            EVP_PKEY_free(k);
        } else if (strcmp(type, "PUBLIC KEY") == 0) {
            if (!any) {
                out->is_pub = true;
                hex_sha256(data, (size_t)len, out->pub_fp);
            }
            any = true;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        if (data)
            OPENSSL_clear_free(data, (size_t)len);
    }
    ERR_clear_error();
    BIO_free(in);
    if (!ok || !any) {
        parsed_free(out);
        return false;
    }
    return true;
}

/* ---- JSON views (certs.CertificateBasics / CertificateMeta) ----------------------------- */

static json_t *asn1_str(const ASN1_STRING *s)
{
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, s);
    if (n < 0) {
        ERR_clear_error();
        return json_string("");
    }
    json_t *v = json_stringn((const char *)u, (size_t)n);
    OPENSSL_free(u);
    return v ? v : json_string("");
}

static json_t *time_json(const ASN1_TIME *t)
{
    struct tm tm;
    char buf[40];
    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        ERR_clear_error();
        return json_string("0001-01-01T00:00:00Z");
    }
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* The last common name of @name ("" if none), as Go's pkix.Name.CommonName. */
static json_t *name_cn(const X509_NAME *name)
{
    json_t *cn = NULL;
    for (int i = 0; name && i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_commonName) {
            json_decref(cn);
            cn = asn1_str(X509_NAME_ENTRY_get_data(e));
        }
    }
    return cn ? cn : json_string("");
}

static json_t *oid_ints(const ASN1_OBJECT *o)
{
    char buf[128];
    json_t *a = json_array();
    int n = OBJ_obj2txt(buf, sizeof(buf), o, 1);
    if (n <= 0 || (size_t)n >= sizeof(buf))
        return a;
    for (char *p = buf; *p;) {
        long v = strtol(p, &p, 10);
        json_array_append_new(a, json_integer(v));
        if (*p == '.')
            p++;
        else
            break;
    }
    return a;
}

/* Go's pkix.Name as encoding/json writes it (exported field names, nil slices as null). */
static json_t *pkix_name(const X509_NAME *name)
{
    static const struct {
        int nid;
        const char *field;
    } map[] = {
        {NID_countryName, "Country"},
        {NID_organizationName, "Organization"},
        {NID_organizationalUnitName, "OrganizationalUnit"},
        {NID_localityName, "Locality"},
        {NID_stateOrProvinceName, "Province"},
        {NID_streetAddress, "StreetAddress"},
        {NID_postalCode, "PostalCode"},
    };
    json_t *o = json_object();
    for (size_t m = 0; m < sizeof(map) / sizeof(map[0]); m++)
        json_object_set_new(o, map[m].field, json_null());
    json_object_set_new(o, "SerialNumber", json_string(""));
    json_object_set_new(o, "CommonName", json_string(""));
    json_t *names = json_array();
    for (int i = 0; name && i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
        json_t *val = asn1_str(X509_NAME_ENTRY_get_data(e));
        json_array_append_new(names, json_pack("{s:o,s:O}", "Type", oid_ints(obj), "Value", val));
        int nid = OBJ_obj2nid(obj);
        if (nid == NID_commonName) {
            json_object_set(o, "CommonName", val);
        } else if (nid == NID_serialNumber) {
            json_object_set(o, "SerialNumber", val);
        } else {
            for (size_t m = 0; m < sizeof(map) / sizeof(map[0]); m++) {
                if (map[m].nid != nid)
                    continue;
                json_t *arr = json_object_get(o, map[m].field);
                if (!json_is_array(arr)) {
                    arr = json_array();
                    json_object_set_new(o, map[m].field, arr);
                }
                json_array_append(arr, val);
            }
        }
        json_decref(val);
    }
    json_object_set_new(o, "Names",
                        json_array_size(names) ? names : (json_decref(names), json_null()));
    json_object_set_new(o, "ExtraNames", json_null());
    return o;
}

static json_t *dns_names(const X509 *x)
{
    json_t *a = json_array();
    GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            json_array_append_new(a, asn1_str(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
    return a;
}

static bool is_ca(X509 *x)
{
    if (!x)
        return false;
    uint32_t f = X509_get_extension_flags(x);
    return (f & EXFLAG_BCONS) && (f & EXFLAG_CA);
}

static json_t *pub_subject(const parsed_t *p)
{
    char buf[96];
    snprintf(buf, sizeof(buf), "Public Key: %s", p->pub_fp);
    return json_string(buf);
}

static json_t *cert_basics(const parsed_t *p, const char *id)
{
    json_t *dns = dns_names(p->leaf);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "issuer_cn",
                        p->leaf ? name_cn(X509_get_issuer_name(p->leaf)) : json_string(""));
    json_object_set_new(o, "subject_cn",
                        p->leaf ? name_cn(X509_get_subject_name(p->leaf)) : pub_subject(p));
    json_object_set_new(o, "dns_names",
                        json_array_size(dns) ? dns : (json_decref(dns), json_null()));
    json_object_set_new(o, "has_private", json_boolean(p->has_private));
    json_object_set_new(o, "not_before", time_json(p->leaf ? X509_get0_notBefore(p->leaf) : NULL));
    json_object_set_new(o, "not_after", time_json(p->leaf ? X509_get0_notAfter(p->leaf) : NULL));
    json_object_set_new(o, "is_ca", json_boolean(is_ca(p->leaf)));
    return o;
}

static json_t *cert_meta(const parsed_t *p, const char *id)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "fingerprint", json_string(p->fingerprint));
    json_object_set_new(o, "has_private", json_boolean(p->has_private));
    json_object_set_new(o, "issuer", pkix_name(p->leaf ? X509_get_issuer_name(p->leaf) : NULL));
    json_t *subj = pkix_name(p->leaf ? X509_get_subject_name(p->leaf) : NULL);
    if (!p->leaf)
        json_object_set_new(subj, "CommonName", pub_subject(p));
    json_object_set_new(o, "subject", subj);
    json_object_set_new(o, "not_before", time_json(p->leaf ? X509_get0_notBefore(p->leaf) : NULL));
    json_object_set_new(o, "not_after", time_json(p->leaf ? X509_get0_notAfter(p->leaf) : NULL));
    json_t *dns = dns_names(p->leaf);
    if (json_array_size(dns))
        json_object_set_new(o, "dns_names", dns);
    else
        json_decref(dns);
    json_object_set_new(o, "is_ca", json_boolean(is_ca(p->leaf)));
    return o;
}

/* ---- the operation context -------------------------------------------------------------- */

typedef struct cctx {
    gw_wait_t *t;
    char *org;
    char *id;
    char *text;
    char *secret;
    char *pattern;
    char cursor[32];
    bool detailed;
    char **ids;
    size_t n, cap;
} cctx_t;

static cctx_t *ctx_new(const char *org, const char *secret)
{
    cctx_t *c = tk_xcalloc(1, sizeof(*c));
    c->org = tk_xstrdup(org ? org : "");
    c->secret = tk_xstrdup(secret ? secret : "");
    snprintf(c->cursor, sizeof(c->cursor), "0");
    return c;
}

static void ctx_push(cctx_t *c, const char *id, size_t n)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->ids = tk_xrealloc(c->ids, c->cap * sizeof(char *));
    }
    char *s = tk_xmalloc(n + 1);
    memcpy(s, id, n);
    s[n] = '\0';
    c->ids[c->n++] = s;
}

static void ctx_free(cctx_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->ids[i]);
    free(c->ids);
    free(c->org);
    free(c->id);
    if (c->text)
        OPENSSL_cleanse(c->text, strlen(c->text));
    free(c->text);
    if (c->secret)
        OPENSSL_cleanse(c->secret, strlen(c->secret));
    free(c->secret);
    free(c->pattern);
    free(c);
}

static void ctx_free_any(void *c)
{
    ctx_free(c);
}

/* Sends a command with @c as the pending step; false (503 sent, ctx freed) when Redis is down. */
static bool c_send(gw_req_t *req, cctx_t *c, tk_redis_cb cb, int argc, const char **argv)
{
    return gw_ctl_redis_send(req, &c->t, c, ctx_free_any, cb, argc, argv);
}

/* Fire-and-forget write (Tyk ignores these results too). */
static void c_fire(gw_req_t *req, int argc, const char **argv)
{
    tk_redis_cmd_argv(req->conn->w->redis, NULL, NULL, argc, argv, NULL);
}

static gw_req_t *c_resume(cctx_t *c)
{
    gw_req_t *req = gw_wait_end(c->t);
    c->t = NULL;
    if (!req)
        ctx_free(c);
    return req;
}

/* ---- POST ------------------------------------------------------------------------------- */

static void add_done(gw_req_t *req, cctx_t *c)
{
    json_t *o =
        json_pack("{s:s,s:s,s:s}", "id", c->id, "status", "ok", "message", "Certificate added");
    ctx_free(c);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static void on_indexed(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    TK_UNUSED(reply);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (req)
        add_done(req, c);
}

static void on_stored(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    if (!*c->org) {
        add_done(req, c);
        return;
    }
    const char *argv[3] = {"RPUSH", tk_arena_printf(req->arena, "cert-%s-index", c->org),
                           tk_arena_printf(req->arena, "raw-%s", c->id)};
    c_send(req, c, on_indexed, 3, argv);
}

static void on_exists(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    if (reply->integer > 0) {
        char *msg = tk_arena_printf(req->arena, "Certificate with %s id already exists", c->id);
        ctx_free(c);
        gw_ctl_error(req, 403, msg ? msg : "Certificate already exists");
        return;
    }
    const char *argv[3] = {"SET", tk_arena_printf(req->arena, "cert-raw-%s", c->id), c->text};
    c_send(req, c, on_stored, 3, argv);
}

static void certs_add(gw_req_t *req)
{
    const char *org = gw_req_query(req, "org_id");
    if (!org)
        org = "";
    size_t n = evbuffer_get_length(req->body);
    const char *p = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    const char *secret = c_secret(req);
    char hex[SHA_HEX + 1] = {0};
    const char *err = NULL;
    char *stored = build_stored(p, n, secret, hex, &err);
    if (!stored) {
        gw_ctl_error(req, 403,
                     err ? err : "Failed to decode certificate. It should be PEM encoded.");
        return;
    }
    cctx_t *c = ctx_new(org, secret);
    c->text = stored;
    size_t il = strlen(org) + SHA_HEX + 1;
    c->id = tk_xmalloc(il);
    snprintf(c->id, il, "%s%s", org, hex);
    const char *argv[2] = {"EXISTS", tk_arena_printf(req->arena, "cert-raw-%s", c->id)};
    c_send(req, c, on_exists, 2, argv);
}

/* ---- GET (one or several) and the detailed list: MGET of the raw entries ---------------- */

static void on_fetched_list(tk_redis_t *r, redisReply *reply, void *arg);

static void on_fetched(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != c->n) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    json_t *out = c->n == 1 ? NULL : json_array();
    for (size_t i = 0; i < c->n; i++) {
        redisReply *e = reply->element[i];
        parsed_t pc;
        if (e->type == REDIS_REPLY_STRING && parse_stored(e->str, e->len, c->secret, &pc)) {
            json_t *m = cert_meta(&pc, c->ids[i]);
            parsed_free(&pc);
            if (out)
                json_array_append_new(out, m);
            else
                out = m;
        } else {
            if (e->type == REDIS_REPLY_STRING)
                tk_log_warn("control API: stored certificate %s does not parse", c->ids[i]);
            if (c->n == 1) {
                ctx_free(c);
                gw_ctl_error(req, 404, NOT_FOUND);
                return;
            }
            json_array_append_new(out, json_null());
        }
    }
    ctx_free(c);
    gw_ctl_json(req, 200, out);
    json_decref(out);
}

static void send_mget(gw_req_t *req, cctx_t *c, tk_redis_cb cb)
{
    const char **argv = tk_arena_alloc(req->arena, (c->n + 1) * sizeof(char *));
    if (!argv) {
        ctx_free(c);
        gw_ctl_error(req, 500, "Out of memory");
        return;
    }
    argv[0] = "MGET";
    for (size_t i = 0; i < c->n; i++)
        argv[i + 1] = tk_arena_printf(req->arena, "cert-raw-%s", c->ids[i]);
    c_send(req, c, cb, (int)c->n + 1, argv);
}

static void certs_get(gw_req_t *req, const char *ids)
{
    cctx_t *c = ctx_new("", c_secret(req));
    for (const char *p = ids;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        ctx_push(c, p, n);
        if (!comma)
            break;
        p = comma + 1;
    }
    send_mget(req, c, on_fetched);
}

/* ---- GET list (Tyk's ListAllIds, with its one-off migration of the org index) ----------- */

static void list_finish(gw_req_t *req, cctx_t *c)
{
    if (!c->detailed) {
        json_t *ids = NULL;
        if (c->n) {
            ids = json_array();
            for (size_t i = 0; i < c->n; i++)
                json_array_append_new(ids, json_string(c->ids[i]));
        }
        json_t *o = json_pack("{s:o}", "certs", ids ? ids : json_null());
        ctx_free(c);
        gw_ctl_json(req, 200, o);
        json_decref(o);
        return;
    }
    if (c->n == 0) {
        ctx_free(c);
        json_t *empty = json_pack("{s:[]}", "certs");
        gw_ctl_json(req, 200, empty);
        json_decref(empty);
        return;
    }
    send_mget(req, c, on_fetched_list);
}

static void on_fetched_list(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != c->n) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < c->n; i++) {
        redisReply *e = reply->element[i];
        parsed_t pc;
        if (e->type == REDIS_REPLY_STRING && parse_stored(e->str, e->len, c->secret, &pc)) {
            json_array_append_new(out, cert_basics(&pc, c->ids[i]));
            parsed_free(&pc);
        } else {
            json_array_append_new(out, json_null());
        }
    }
    ctx_free(c);
    json_t *o = json_pack("{s:o}", "certs", out);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static void mark_migrated(gw_req_t *req, const cctx_t *c)
{
    const char *argv[3] = {"SET", tk_arena_printf(req->arena, "cert-%s-index-migrated", c->org),
                           "1"};
    if (argv[1])
        c_fire(req, 3, argv);
}

static void on_range(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        const char *s = e->str;
        size_t n = e->len;
        if (n >= 4 && memcmp(s, "raw-", 4) == 0) {
            s += 4;
            n -= 4;
        }
        ctx_push(c, s, n);
    }
    mark_migrated(req, c);
    list_finish(req, c);
}

static void scan_step(gw_req_t *req, cctx_t *c);

static void on_scan(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    if (!gw_redis_is_scan_reply(reply)) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    snprintf(c->cursor, sizeof(c->cursor), "%s", reply->element[0]->str);
    redisReply *keys = reply->element[1];
    const size_t pl = strlen("cert-raw-");
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len < pl)
            continue;
        ctx_push(c, k->str + pl, k->len - pl);
        if (*c->org) {
            const char *argv[3] = {"RPUSH", tk_arena_printf(req->arena, "cert-%s-index", c->org),
                                   tk_arena_printf(req->arena, "raw-%s", c->ids[c->n - 1])};
            if (argv[1] && argv[2])
                c_fire(req, 3, argv);
        }
    }
    if (strcmp(c->cursor, "0") == 0) {
        mark_migrated(req, c);
        list_finish(req, c);
        return;
    }
    scan_step(req, c);
}

static void scan_step(gw_req_t *req, cctx_t *c)
{
    const char *argv[6] = {"SCAN", c->cursor, "MATCH", c->pattern, "COUNT", "1000"};
    c_send(req, c, on_scan, 6, argv);
}

static void on_migrated(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING) { /* migrated already: the list is just empty */
        list_finish(req, c);
        return;
    }
    size_t n = strlen(c->org);
    char *e = tk_xmalloc(n * 2 + sizeof("cert-raw-") + 2), *p = e;
    memcpy(p, "cert-raw-", 9);
    p += 9;
    for (const char *f = c->org; *f; f++) {
        if (*f == '*' || *f == '?' || *f == '[' || *f == ']' || *f == '\\')
            *p++ = '\\';
        *p++ = *f;
    }
    *p++ = '*';
    *p = '\0';
    c->pattern = e;
    scan_step(req, c);
}

static void migrated_check(gw_req_t *req, cctx_t *c)
{
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, "cert-%s-index-migrated", c->org)};
    c_send(req, c, on_migrated, 2, argv);
}

static void on_index_exists(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    if (reply->integer > 0) {
        const char *argv[4] = {"LRANGE", tk_arena_printf(req->arena, "cert-%s-index", c->org), "0",
                               "-1"};
        c_send(req, c, on_range, 4, argv);
        return;
    }
    migrated_check(req, c);
}

static void certs_list(gw_req_t *req)
{
    const char *org = gw_req_query(req, "org_id");
    const char *mode = gw_req_query(req, "mode");
    cctx_t *c = ctx_new(org, c_secret(req));
    c->detailed = mode && strcmp(mode, "detailed") == 0;
    if (*c->org) {
        const char *argv[2] = {"EXISTS", tk_arena_printf(req->arena, "cert-%s-index", c->org)};
        c_send(req, c, on_index_exists, 2, argv);
        return;
    }
    migrated_check(req, c);
}

/* ---- DELETE ----------------------------------------------------------------------------- */

static void on_deleted(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    cctx_t *c = arg;
    gw_req_t *req = c_resume(c);
    if (!req)
        return;
    ctx_free(c);
    if (!reply) {
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    gw_ctl_status(req, 200, "ok", "removed");
}

static void certs_delete(gw_req_t *req, const char *id)
{
    const char *q = gw_req_query(req, "org_id");
    char *org;
    if (q && *q)
        org = tk_arena_strdup(req->arena, q);
    else if (strlen(id) >= SHA_HEX)
        org = tk_arena_printf(req->arena, "%.*s", (int)(strlen(id) - SHA_HEX), id);
    else
        org = tk_arena_strdup(req->arena, "");
    cctx_t *c = ctx_new(org, "");
    if (org && *org) {
        const char *argv[4] = {"LREM", tk_arena_printf(req->arena, "cert-%s-index", org), "0",
                               tk_arena_printf(req->arena, "raw-%s", id)};
        if (argv[1] && argv[3])
            c_fire(req, 4, argv);
    }
    const char *argv[2] = {"DEL", tk_arena_printf(req->arena, "cert-raw-%s", id)};
    c_send(req, c, on_deleted, 2, argv);
}

/* ---- routing ---------------------------------------------------------------------------- */

void gw_control_certs(gw_req_t *req, const char *rest)
{
    if (!*rest || strcmp(rest, "/") == 0) {
        if (gw_ctl_method(req, "GET"))
            certs_list(req);
        else if (gw_ctl_method(req, "POST"))
            certs_add(req);
        else
            gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    const char *id = rest + 1;
    if (strchr(id, '/')) {
        gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
        return;
    }
    if (gw_ctl_method(req, "GET"))
        certs_get(req, id);
    else if (gw_ctl_method(req, "DELETE"))
        certs_delete(req, id);
    else
        gw_ctl_error(req, 405, "Method not supported");
}
