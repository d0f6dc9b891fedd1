/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Basic authentication (Tyk's BasicAuthKeyIsValid, spec §11.2): the Authorization header's
 * user names a session stored under generateToken(api org, user); a second step checks the
 * password against the session's basic_auth_data by hash type. bcrypt runs on the offload
 * pool, never on the worker's loop; its successes are cached per worker for cache_ttl.
 * With basic_auth.extract_from_body, credentials the header does not give are read from the
 * request body by regular expression (the body is collected first, then proxied as is).
 */
#include "gw_basic_body.h"
#include "gw_mw_common.h"
#include "gw_req_body.h"

#include "tk_base64.h"
#include "tk_hash.h"
#include "tk_log.h"
#include "tk_offload.h"

#include <openssl/crypto.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MISSING "Authorization field missing"
#define NOT_AUTHORISED "User not authorised"
#define BAD_FORMAT "Attempted access with malformed header, header not in basic auth format"
#define BAD_ENCODING "Attempted access with malformed header, auth data not encoded correctly"
#define BAD_VALUES "Attempted access with malformed header, values not in basic auth format"

#define CACHE_MAX 100000
#define DEFAULT_CACHE_TTL_S 60

struct state {
    gw_auth_source_t src;
    char *challenge; /* "WWW-Authenticate: Basic realm=\"<api name>\"\r\n" */
    bool disable_caching;
    int64_t cache_ttl_ms;
    bool from_body;     /* basic_auth.extract_from_body */
    gw_basic_body_t bb; /* its body_user_regexp / body_password_regexp */
};

/* Tyk's EnabledForSpec: extract_from_body with an empty or invalid regexp drops basic auth
 * from the chain altogether (and logs why). */
static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    if (!json_is_true(json_object_get(api->def, "use_basic_auth")))
        return false;
    json_t *ba = json_object_get(api->def, "basic_auth");
    if (!json_is_true(json_object_get(ba, "extract_from_body")))
        return true;
    gw_basic_body_t bb;
    const char *why = NULL;
    if (gw_basic_body_compile(&bb, json_string_value(json_object_get(ba, "body_user_regexp")),
                              json_string_value(json_object_get(ba, "body_password_regexp")),
                              &why) != TK_OK) {
        tk_log_error("api=%s: %s; basic auth is off for this API", api->api_id, why);
        return false;
    }
    gw_basic_body_free(&bb);
    return true;
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    struct state *st = tk_xcalloc(1, sizeof(*st));
    gw_auth_source_load(&st->src, api->def, "basic");
    /* The realm is the API name; control characters are dropped so it stays one header line. */
    const char *name = api->name ? api->name : "";
    size_t n = strlen(name), o = 0;
    char *realm = tk_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] >= 0x20 && name[i] != 0x7f)
            realm[o++] = name[i];
    realm[o] = '\0';
    static const char pre[] = "WWW-Authenticate: Basic realm=\"";
    size_t len = sizeof(pre) - 1 + o + 4;
    st->challenge = tk_xmalloc(len);
    snprintf(st->challenge, len, "%s%s\"\r\n", pre, realm);
    free(realm);
    json_t *ba = json_object_get(api->def, "basic_auth");
    st->disable_caching = json_is_true(json_object_get(ba, "disable_caching"));
    json_t *ttl = json_object_get(ba, "cache_ttl");
    int64_t s = json_is_integer(ttl) ? json_integer_value(ttl) : 0;
    st->cache_ttl_ms = (s > 0 ? s : DEFAULT_CACHE_TTL_S) * 1000;
    if (json_is_true(json_object_get(ba, "extract_from_body"))) {
        const char *why = NULL;
        /* enabled() already compiled these once, so this cannot fail here. */
        st->from_body =
            gw_basic_body_compile(
                &st->bb, json_string_value(json_object_get(ba, "body_user_regexp")),
                json_string_value(json_object_get(ba, "body_password_regexp")), &why) == TK_OK;
    }
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    struct state *st = mw->state;
    gw_auth_source_free(&st->src);
    gw_basic_body_free(&st->bb);
    free(st->challenge);
    free(st);
}

/* Adds the challenge to the response headers (kept until the password is accepted). */
static void challenge(gw_req_t *req, const struct state *st)
{
    const char *prev = req->resp_headers;
    if (prev && strstr(prev, st->challenge))
        return;
    req->resp_headers =
        prev ? tk_arena_printf(req->arena, "%s%s", prev, st->challenge) : st->challenge;
}

static void unchallenge(gw_req_t *req, const struct state *st)
{
    const char *prev = req->resp_headers;
    const char *at = prev ? strstr(prev, st->challenge) : NULL;
    if (!at)
        return;
    size_t cl = strlen(st->challenge);
    req->resp_headers = at == prev && !at[cl] ? NULL
                                              : tk_arena_printf(req->arena, "%.*s%s",
                                                                (int)(at - prev), prev, at + cl);
}

/* Tyk reports the raw Authorization header as AuthFailure's key, not the user name. */
static const char *raw_authorization(gw_req_t *req)
{
    if (!req->auth_event_key) {
        const tk_http_hdr_t *h = gw_req_header(req, "Authorization");
        req->auth_event_key =
            h ? tk_arena_printf(req->arena, "%.*s", (int)h->value_len, h->value) : "";
    }
    return req->auth_event_key ? req->auth_event_key : "";
}

static int deny(gw_req_t *req, const struct state *st, int status, const char *msg)
{
    if (status == 401)
        challenge(req, st);
    if (strcmp(msg, NOT_AUTHORISED) == 0)
        gw_event_req(req, GW_EV_AUTH_FAILURE, raw_authorization(req));
    req->err_status = status;
    req->err_msg = msg;
    return TK_ERROR;
}

/* Tyk's basicAuthHeaderCredentials; TK_OK with arena strings, or TK_ERROR with the error. */
static int header_credentials(gw_req_t *req, const struct state *st, char **user, char **pass)
{
    char *tok = gw_auth_token_get(req, &st->src, false);
    if (!tok)
        return deny(req, st, 401, MISSING);
    /* strings.Split(token, " ") must give exactly two parts; the scheme is not checked. */
    char *sp = strchr(tok, ' ');
    if (!sp || strchr(sp + 1, ' '))
        return deny(req, st, 400, BAD_FORMAT);
    size_t dlen = 0;
    unsigned char *dec = tk_b64_decode(sp + 1, strlen(sp + 1), false, true, &dlen);
    if (!dec)
        return deny(req, st, 400, BAD_ENCODING);
    char *vals = tk_arena_strndup(req->arena, (const char *)dec, dlen);
    OPENSSL_cleanse(dec, dlen);
    free(dec);
    char *colon = memchr(vals, ':', dlen);
    if (!colon || memchr(colon + 1, ':', dlen - (size_t)(colon + 1 - vals)))
        return deny(req, st, 400, BAD_VALUES);
    *colon = '\0';
    *user = vals;
    *pass = colon + 1;
    return TK_OK;
}

/* The header's credentials; failing those, with extract_from_body, the body's (whatever the
 * header's problem was, as Tyk). TK_AGAIN while the body is read: the step then runs again. */
static int credentials(gw_req_t *req, const struct state *st, char **user, char **pass)
{
    int rc = header_credentials(req, st, user, pass);
    if (rc == TK_OK || !st->from_body)
        return rc;
    unchallenge(req, st); /* Tyk drops WWW-Authenticate before trying the body */
    req->err_status = 0;
    req->err_msg = NULL;
    rc = gw_req_body_collect(req);
    if (rc != TK_OK)
        return rc;
    size_t n = evbuffer_get_length(req->body);
    const char *p = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    const char *err = gw_basic_body_extract(&st->bb, p, n, req->arena, user, pass);
    return err ? deny(req, st, 400, err) : TK_OK;
}

/* Step 1: the credentials, then the user's session (cache or Redis). */
static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    char *user, *pass;
    int rc = credentials(req, st, &user, &pass);
    if (rc != TK_OK)
        return rc; /* TK_AGAIN: reading the body; this step runs again afterwards */
    const gw_conf_t *conf = gw_req_conf(req);
    enum tk_hash_algo h =
        tk_hash_algo_parse(conf->hash_key_function, strlen(conf->hash_key_function), NULL);
    char *key = tk_token_generate(req->api->org_id, user, h);
    char *akey = tk_arena_strdup(req->arena, key);
    free(key);
    challenge(req, st); /* an unknown user is a 401 with the challenge */
    raw_authorization(req);
    return gw_session_lookup_as(req, akey, 401, NOT_AUTHORISED);
}

/* ---- the per-worker bcrypt cache: (user, bcrypt hash) → murmur64(password) ---- */

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_dtor(void *m)
{
    tk_ttlmap_free(m);
}

static void cache_init(void)
{
    TK_ASSERT(pthread_key_create(&cache_key, cache_dtor) == 0);
}

/* This worker thread's cache (freed when the thread exits). */
static tk_ttlmap_t *worker_cache(void)
{
    pthread_once(&cache_once, cache_init);
    tk_ttlmap_t *m = pthread_getspecific(cache_key);
    if (!m) {
        m = tk_ttlmap_new(CACHE_MAX, free);
        pthread_setspecific(cache_key, m);
    }
    return m;
}

static char *cache_name(gw_req_t *req, const char *hash)
{
    return tk_arena_printf(req->arena, "%s\n%s", req->session_hash ? req->session_hash : "", hash);
}

static bool str_eq(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* A bcrypt check on the offload pool. */
struct bjob {
    gw_wait_t *wait;
    const struct state *st; /* valid while the request holds its generation */
    char *hash, *password, *cache_name;
    char pw_m64[TK_HASH_HEX_MAX];
    bool ok;
};

static void bjob_free(struct bjob *j)
{
    free(j->hash);
    OPENSSL_cleanse(j->password, strlen(j->password));
    free(j->password);
    free(j->cache_name);
    free(j);
}

static void bjob_work(void *arg)
{
    struct bjob *j = arg;
    j->ok = tk_bcrypt_check(j->hash, j->password);
}

static void bjob_done(void *arg, int status)
{
    struct bjob *j = arg;
    if (status != TK_OK) {
        /* The pool or the worker's loop is gone: the request never resumes; only free. */
        bjob_free(j);
        return;
    }
    gw_req_t *req = gw_wait_end(j->wait);
    if (j->ok && j->cache_name) {
        tk_ttlmap_put(worker_cache(), j->cache_name, tk_xstrdup(j->pw_m64),
                      tk_now_ms() + (uint64_t)j->st->cache_ttl_ms);
    }
    if (req) {
        if (j->ok) {
            unchallenge(req, j->st);
            gw_pipeline_resume(req, TK_OK);
        } else {
            deny(req, j->st, 401, NOT_AUTHORISED);
            gw_pipeline_resume(req, TK_ERROR);
        }
    }
    bjob_free(j);
}

static int check_bcrypt(gw_req_t *req, const struct state *st, const char *hash, const char *pass)
{
    char m64[TK_HASH_HEX_MAX];
    tk_hash_hex(TK_HASH_MURMUR64, pass, strlen(pass), m64);
    const char *cname = st->disable_caching ? NULL : cache_name(req, hash);
    if (cname) {
        const char *cached = tk_ttlmap_get(worker_cache(), cname, tk_now_ms());
        if (cached && str_eq(cached, m64))
            return TK_OK;
    }
    gw_server_t *srv = req->conn->w->srv;
    if (!srv->offload) {
        bool ok = tk_bcrypt_check(hash, pass); /* no pool (tools, tests): inline */
        return ok ? TK_OK : deny(req, st, 401, NOT_AUTHORISED);
    }
    struct bjob *j = tk_xcalloc(1, sizeof(*j));
    j->st = st;
    j->hash = tk_xstrdup(hash);
    j->password = tk_xstrdup(pass);
    j->cache_name = cname ? tk_xstrdup(cname) : NULL;
    memcpy(j->pw_m64, m64, sizeof(m64));
    j->wait = gw_wait_begin(req);
    tk_offload_port_t *port = tk_offload_thread_port(req->conn->w->base);
    if (tk_offload_submit(srv->offload, port, bjob_work, bjob_done, j) != TK_OK) {
        gw_wait_end(j->wait);
        bjob_free(j);
        req->err_status = 503;
        req->err_msg = "Service temporarily unavailable.";
        return TK_ERROR;
    }
    return TK_AGAIN;
}

/* Step 2: the password against the session's basic_auth_data. */
static int on_verify(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    char *user, *pass;
    if (credentials(req, st, &user, &pass) != TK_OK)
        return TK_ERROR;
    if (!req->session)
        return deny(req, st, 401, NOT_AUTHORISED);
    const gw_session_t *s = req->session->s;
    const char *stored = s->basic_auth_password ? s->basic_auth_password : "";
    const char *type = s->basic_auth_hash_type ? s->basic_auth_hash_type : "";
    bool ok;
    if (!*type) {
        ok = str_eq(stored, pass);
    } else if (strcmp(type, "bcrypt") == 0) {
        int rc = check_bcrypt(req, st, stored, pass);
        if (rc == TK_OK)
            unchallenge(req, st);
        return rc;
    } else {
        bool known = false;
        enum tk_hash_algo a = tk_hash_algo_parse(type, strlen(type), &known);
        if (!known) {
            tk_log_warn("api=%s: basic auth user with unknown hash_type \"%s\"", req->api->api_id,
                        type);
            return deny(req, st, 401, NOT_AUTHORISED);
        }
        char hex[TK_HASH_HEX_MAX];
        tk_hash_hex(a, pass, strlen(pass), hex);
        ok = str_eq(stored, hex);
    }
    if (!ok)
        return deny(req, st, 401, NOT_AUTHORISED);
    unchallenge(req, st);
    return TK_OK;
}

const gw_mw_def_t gw_mw_auth_basic = {
    .name = "BasicAuthKeyIsValid",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};

/* Registered right after gw_mw_auth_basic: runs once the user's session is loaded. */
const gw_mw_def_t gw_mw_auth_basic_verify = {
    .name = "BasicAuthKeyIsValid(verify)",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_verify,
    .dispose = dispose,
};
