/* SPDX-License-Identifier: Apache-2.0 */
/* Loads certificates with private keys from Tyk's store or files, for upstreams and listeners. */
#include "gw_certstore.h"

#include "gw_tls.h"
#include "tk_log.h"

#include <ctype.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FETCH_TIMEOUT_MS 3000
#define MAX_FILE (1 << 20)

const char *gw_cert_secret(const gw_conf_t *conf)
{
    const char *s = conf->security_private_certificate_encoding_secret;
    if (s && *s)
        return s;
    return conf->secret ? conf->secret : "";
}

void gw_keypair_free(gw_keypair_t *kp)
{
    if (!kp)
        return;
    free(kp->id);
    X509_free(kp->leaf);
    sk_X509_pop_free(kp->chain, X509_free);
    EVP_PKEY_free(kp->key);
    for (size_t i = 0; i < kp->nnames; i++)
        free(kp->names[i]);
    free(kp->names);
    free(kp);
}

void gw_keypairs_free(gw_keypair_t **kps, size_t n)
{
    if (!kps)
        return;
    for (size_t i = 0; i < n; i++)
        gw_keypair_free(kps[i]);
    free(kps);
}

static void add_name(gw_keypair_t *kp, const char *name, size_t len)
{
    kp->names = tk_xrealloc(kp->names, (kp->nnames + 1) * sizeof(*kp->names));
    char *s = tk_xstrndup(name, len);
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    kp->names[kp->nnames++] = s;
}

/* Go's BuildNameToCertificate: the DNS SANs, or the subject CN when there are none. */
static void collect_names(gw_keypair_t *kp)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(kp->leaf, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
        if (gn->type != GEN_DNS)
            continue;
        const ASN1_IA5STRING *d = gn->d.dNSName;
        add_name(kp, (const char *)ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d));
    }
    GENERAL_NAMES_free(sans);
    if (kp->nnames)
        return;
    char cn[256];
    int n =
        X509_NAME_get_text_by_NID(X509_get_subject_name(kp->leaf), NID_commonName, cn, sizeof(cn));
    if (n > 0)
        add_name(kp, cn, (size_t)n);
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    TK_UNUSED(rwflag);
    size_t n = strlen(u);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, u, n);
    return (int)n;
}

/* One private key block: legacy PEM encryption (what the store writes) is undone with the
 * secret, the same EVP_BytesToKey(MD5) scheme as Go's x509.DecryptPEMBlock. */
static EVP_PKEY *read_key(const char *header, unsigned char *data, long len, const char *secret)
{
    if (header && strstr(header, "DEK-Info:")) {
        EVP_CIPHER_INFO ci;
        if (!PEM_get_EVP_CIPHER_INFO((char *)header, &ci) ||
            !PEM_do_header(&ci, data, &len, pass_cb, (void *)secret))
            return NULL;
    }
    const unsigned char *p = data;
    return d2i_AutoPrivateKey(NULL, &p, len);
}

gw_keypair_t *gw_keypair_parse(const char *id, const char *text, size_t len, const char *secret)
{
    if (len > INT32_MAX)
        return NULL;
    BIO *in = BIO_new_mem_buf(text, (int)len);
    if (!in)
        return NULL;
    gw_keypair_t *kp = tk_xcalloc(1, sizeof(*kp));
    kp->id = tk_xstrdup(id);
    bool ok = true;
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        if (!PEM_read_bio(in, &name, &header, &data, &dlen))
            break;
        size_t nl = strlen(name);
        if (strcmp(name, "CERTIFICATE") == 0) {
            const unsigned char *p = data;
            X509 *x = d2i_X509(NULL, &p, dlen);
            if (!x) {
                ok = false;
            } else if (!kp->leaf) {
                kp->leaf = x;
            } else {
                if (!kp->chain)
                    kp->chain = sk_X509_new_null();
                sk_X509_push(kp->chain, x);
            }
        } else if (nl >= 11 && strcmp(name + nl - 11, "PRIVATE KEY") == 0 && !kp->key) {
            kp->key = read_key(header, data, dlen, secret);
            if (!kp->key)
                ok = false;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        if (data)
            OPENSSL_clear_free(data, (size_t)dlen);
    }
    BIO_free(in);
    if (ok && kp->leaf && kp->key && X509_check_private_key(kp->leaf, kp->key) == 1) {
        ERR_clear_error();
        collect_names(kp);
        return kp;
    }
    ERR_clear_error();
    gw_keypair_free(kp);
    return NULL;
}

/* ---- a blocking MGET on a private event loop ------------------------------------------- */

struct fetch {
    struct event_base *base;
    const char *const *keys;
    size_t n;
    char **texts;
    size_t *lens;
    bool sent;
    bool done;
};

static void on_mget(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    struct fetch *f = arg;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == f->n) {
        for (size_t i = 0; i < f->n; i++) {
            const redisReply *e = reply->element[i];
            if (e->type == REDIS_REPLY_STRING) {
                f->texts[i] = tk_xstrndup(e->str, e->len);
                f->lens[i] = e->len;
            }
        }
    }
    f->done = true;
    event_base_loopbreak(f->base);
}

static void on_state(tk_redis_t *r, bool up, void *arg)
{
    struct fetch *f = arg;
    if (!up || f->sent)
        return;
    const char **argv = tk_xcalloc(f->n + 1, sizeof(*argv));
    argv[0] = "MGET";
    for (size_t i = 0; i < f->n; i++)
        argv[i + 1] = f->keys[i];
    f->sent = tk_redis_cmd_argv(r, on_mget, f, (int)f->n + 1, argv, NULL) == TK_OK;
    free(argv);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    event_base_loopbreak(((struct fetch *)arg)->base);
}

/* GETs @n keys; texts[i] stays NULL for a missing key or when Redis does not answer in time. */
static void fetch_keys(const gw_conf_t *conf, const char *const *keys, size_t n, char **texts,
                       size_t *lens)
{
    struct fetch f = {.keys = keys, .n = n, .texts = texts, .lens = lens};
    f.base = event_base_new();
    if (!f.base)
        return;
    tk_redis_opts_t ro;
    gw_redis_opts(conf, &ro);
    ro.connect_timeout_ms = FETCH_TIMEOUT_MS;
    ro.command_timeout_ms = FETCH_TIMEOUT_MS;
    tk_redis_t *r = tk_redis_new(f.base, &ro, on_state, &f);
    struct event *t = evtimer_new(f.base, on_timeout, &f);
    struct timeval tv = {.tv_sec = FETCH_TIMEOUT_MS / 1000,
                         .tv_usec = (FETCH_TIMEOUT_MS % 1000) * 1000};
    evtimer_add(t, &tv);
    event_base_dispatch(f.base);
    if (!f.done)
        tk_log_error("certificates: Redis did not answer within %d ms", FETCH_TIMEOUT_MS);
    event_free(t);
    tk_redis_free(r);
    event_base_free(f.base);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = tk_xmalloc(MAX_FILE + 1);
    size_t n = fread(buf, 1, MAX_FILE, fp);
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

gw_keypair_t **gw_certstore_load(const gw_conf_t *conf, const char *const *ids, size_t n)
{
    gw_keypair_t **out = tk_xcalloc(n ? n : 1, sizeof(*out));
    char **texts = tk_xcalloc(n ? n : 1, sizeof(*texts));
    size_t *lens = tk_xcalloc(n ? n : 1, sizeof(*lens));
    const char **keys = tk_xcalloc(n ? n : 1, sizeof(*keys));
    size_t *slot = tk_xcalloc(n ? n : 1, sizeof(*slot));
    char **owned = tk_xcalloc(n ? n : 1, sizeof(*owned));
    size_t nkeys = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_file(ids[i])) {
            texts[i] = read_file(ids[i], &lens[i]);
            continue;
        }
        size_t kl = strlen(ids[i]) + sizeof("cert-raw-");
        owned[nkeys] = tk_xmalloc(kl);
        snprintf(owned[nkeys], kl, "cert-raw-%s", ids[i]);
        keys[nkeys] = owned[nkeys];
        slot[nkeys++] = i;
    }
    if (nkeys) {
        char **ft = tk_xcalloc(nkeys, sizeof(*ft));
        size_t *fl = tk_xcalloc(nkeys, sizeof(*fl));
        fetch_keys(conf, keys, nkeys, ft, fl);
        for (size_t k = 0; k < nkeys; k++) {
            texts[slot[k]] = ft[k];
            lens[slot[k]] = fl[k];
            free(owned[k]);
        }
        free(ft);
        free(fl);
    }
    const char *secret = gw_cert_secret(conf);
    for (size_t i = 0; i < n; i++) {
        if (texts[i])
            out[i] = gw_keypair_parse(ids[i], texts[i], lens[i], secret);
        if (!out[i])
            tk_log_error("certificate %s: %s", ids[i],
                         texts[i] ? "no usable certificate with a matching private key"
                                  : "not found in the certificate store");
        if (texts[i])
            OPENSSL_cleanse(texts[i], lens[i]);
        free(texts[i]);
    }
    free(texts);
    free(lens);
    free(keys);
    free(slot);
    free(owned);
    return out;
}

/* ---- upstream certificates -------------------------------------------------------------- */

void gw_upcert_free(gw_upcert_t *uc)
{
    if (!uc)
        return;
    free(uc->id);
    SSL_CTX_free(uc->verify);
    SSL_CTX_free(uc->noverify);
    free(uc);
}

static const char *map_get(const json_t *m, const char *k)
{
    return json_string_value(json_object_get(m, k));
}

const char *gw_upstream_cert_id(const char *hostport, const json_t *global_map,
                                const json_t *api_map)
{
    const json_t *maps[2] = {global_map, api_map};
    const char *id = NULL;
    /* The host without its port (net.SplitHostPort; brackets of an IPv6 literal dropped). */
    char host[512];
    snprintf(host, sizeof(host), "%s", hostport);
    char *colon = strrchr(host, ':');
    if (host[0] == '[') {
        char *end = strchr(host, ']');
        if (end && end[1] == ':') {
            *end = '\0';
            memmove(host, host + 1, strlen(host));
        }
    } else if (colon && strchr(host, ':') == colon) {
        *colon = '\0';
    }
    for (size_t m = 0; m < 2; m++) {
        if (!json_is_object(maps[m]) || json_object_size(maps[m]) == 0)
            continue;
        const char *v;
        if ((v = map_get(maps[m], "*")))
            id = v;
        const char *dot = strchr(host, '.');
        if (dot) {
            char pat[600];
            snprintf(pat, sizeof(pat), "*%s", dot);
            if ((v = map_get(maps[m], pat)))
                id = v;
            const char *dot2 = strchr(hostport, '.');
            snprintf(pat, sizeof(pat), "*%s", dot2 ? dot2 : dot);
            if ((v = map_get(maps[m], pat)))
                id = v;
        }
        if ((v = map_get(maps[m], host)))
            id = v;
        if ((v = map_get(maps[m], hostport)))
            id = v;
    }
    return id && *id ? id : NULL;
}

static const json_t *api_upstream_map(const gw_api_t *api)
{
    if (json_is_true(json_object_get(api->def, "upstream_certificates_disabled")))
        return NULL;
    return json_object_get(api->def, "upstream_certificates");
}

/* The cert IDs (or paths) every generation asks for, collected once so one MGET serves all. */
struct idset {
    const char **v;
    size_t n;
};

static size_t idset_add(struct idset *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], id) == 0)
            return i;
    s->v = tk_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
    s->v[s->n] = id;
    return s->n++;
}

static void attach_target(gw_target_t *t, const gw_api_t *api, const gw_conf_t *conf,
                          struct idset *ids, gw_keypair_t **kps)
{
    if (!t->tls || !t->hostport)
        return;
    const char *id = gw_upstream_cert_id(t->hostport, conf->security_certificates_upstream,
                                         api_upstream_map(api));
    if (!id)
        return;
    gw_keypair_t *kp = kps ? kps[idset_add(ids, id)] : NULL;
    if (!kps) {
        idset_add(ids, id);
        return;
    }
    if (!kp)
        return; /* logged by the loader; the upstream then sees no client certificate, as Tyk */
    gw_upcert_t *uc = tk_xcalloc(1, sizeof(*uc));
    uc->id = tk_xstrdup(id);
    uc->verify = gw_tls_client_ctx(conf, true, kp);
    uc->noverify = gw_tls_client_ctx(conf, false, kp);
    gw_upcert_free(t->upcert);
    t->upcert = uc;
}

static void walk_targets(gw_gen_t *g, const gw_conf_t *conf, struct idset *ids, gw_keypair_t **kps)
{
    for (size_t i = 0; i < g->napis; i++) {
        gw_api_t *api = g->apis[i];
        attach_target(&api->target, api, conf, ids, kps);
        for (size_t j = 0; j < api->nlb; j++)
            attach_target(&api->lb[j], api, conf, ids, kps);
    }
}

/* The APIs' own listener certificates ("certificates"; none when domain_disabled). */
static void collect_api_certs(const gw_gen_t *g, struct idset *ids, struct idset *want)
{
    for (size_t i = 0; i < g->napis; i++) {
        const gw_api_t *api = g->apis[i];
        if (json_is_true(json_object_get(api->def, "domain_disabled")))
            continue;
        const json_t *certs = json_object_get(api->def, "certificates");
        size_t k;
        const json_t *c;
        json_array_foreach(certs, k, c)
        {
            const char *id = json_string_value(c);
            if (!id || !*id)
                continue;
            size_t at = idset_add(ids, id); /* may move ids->v */
            idset_add(want, ids->v[at]);
        }
    }
}

void gw_certstore_attach(gw_gen_t *g, const gw_conf_t *conf)
{
    struct idset ids = {0}, api_certs = {0};
    walk_targets(g, conf, &ids, NULL);
    if (conf->hso_use_ssl)
        collect_api_certs(g, &ids, &api_certs);
    gw_keypair_t **kps = ids.n ? gw_certstore_load(conf, ids.v, ids.n) : NULL;
    if (kps)
        walk_targets(g, conf, &ids, kps);
    /* The listener takes its own references to the API certificates. */
    gw_keypair_t **listen = tk_xcalloc(api_certs.n ? api_certs.n : 1, sizeof(*listen));
    size_t nlisten = 0;
    for (size_t i = 0; i < api_certs.n; i++) {
        gw_keypair_t *kp = kps[idset_add(&ids, api_certs.v[i])];
        if (kp)
            listen[nlisten++] = kp;
    }
    gw_tls_set_api_certs(conf, listen, nlisten);
    free(listen);
    gw_keypairs_free(kps, ids.n);
    free(ids.v);
    free(api_certs.v);
}
