/* SPDX-License-Identifier: Apache-2.0 */
/* <listen path>/oauth/token: Tyk's OAuth 2.0 token endpoint (gw_oauth_token.h). */
#include "gw_oauth_token.h"

#include "gw_oauth_notify.h"
#include "gw_oauth_store.h"
#include "gw_pipeline.h"
#include "gw_policy.h"
#include "gw_session.h"

#include "tk_base64.h"
#include "tk_hash.h"
#include "tk_log.h"
#include "tk_offload.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Go's ParseForm refuses url-encoded bodies above 10 MiB. */
#define MAX_FORM_BODY (10u << 20)

/* osin's error texts (RFC 6749 §5.2 codes). */
#define E_INVALID_REQUEST "invalid_request"
#define E_UNAUTHORIZED_CLIENT "unauthorized_client"
#define E_SERVER_ERROR "server_error"
#define E_UNSUPPORTED_GRANT_TYPE "unsupported_grant_type"
#define E_INVALID_GRANT "invalid_grant"
#define E_ACCESS_DENIED "access_denied"
#define E_INVALID_CLIENT "invalid_client"
#define E_UNSUPPORTED_RESPONSE_TYPE "unsupported_response_type"

const char *gw_oauth_error_description(const char *code)
{
    if (strcmp(code, E_INVALID_REQUEST) == 0)
        return "The request is missing a required parameter, includes an invalid parameter "
               "value, includes a parameter more than once, or is otherwise malformed.";
    if (strcmp(code, E_UNAUTHORIZED_CLIENT) == 0)
        return "The client is not authorized to request a token using this method.";
    if (strcmp(code, E_INVALID_GRANT) == 0)
        return "The provided authorization grant (e.g., authorization code, resource owner "
               "credentials) or refresh token is invalid, expired, revoked, does not match the "
               "redirection URI used in the authorization request, or was issued to another "
               "client.";
    if (strcmp(code, E_ACCESS_DENIED) == 0)
        return "The resource owner or authorization server denied the request.";
    if (strcmp(code, E_INVALID_CLIENT) == 0)
        return "Client authentication failed (e.g., unknown client, no client authentication "
               "included, or unsupported authentication method).";
    if (strcmp(code, E_UNSUPPORTED_RESPONSE_TYPE) == 0)
        return "The authorization server does not support obtaining an authorization code using "
               "this method.";
    if (strcmp(code, E_UNSUPPORTED_GRANT_TYPE) == 0)
        return "The authorization grant type is not supported by the authorization server.";
    return "The authorization server encountered an unexpected condition that prevented it "
           "from fulfilling the request.";
}

/* Tyk wraps the token route in addSecureAndCacheHeaders. */
#define SECURE_HEADERS                                                                             \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "X-XSS-Protection: 1; mode=block\r\n"                                                          \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n"                           \
    "Cache-Control: no-cache, no-store, must-revalidate\r\n"                                       \
    "Pragma: no-cache\r\n"                                                                         \
    "Expires: 0\r\n"

void gw_oauth_respond(gw_req_t *req, int status, json_t *body)
{
    /* Go's map encoding: keys sorted; a trailing newline. */
    char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    char *text = s ? tk_arena_printf(req->arena, "%s\n", s) : NULL;
    free(s);
    if (!text) {
        gw_req_abort(req);
        return;
    }
    gw_respond(req, status, "application/json", text, strlen(text), SECURE_HEADERS);
}

static void oauth_error(gw_req_t *req, const char *code)
{
    int status = (int)req->conn->w->srv->conf->oauth_error_status_code;
    json_t *o = json_pack("{s:s,s:s}", "error", code, "error_description",
                          gw_oauth_error_description(code));
    gw_oauth_respond(req, status > 0 ? status : 403, o);
    json_decref(o);
}

bool gw_oauth_token_wanted(const gw_req_t *req)
{
    /* Tyk's route is "/oauth/token{_:/?}" */
    return gw_req_is_api_route(req, "oauth/token", true) &&
           json_is_true(json_object_get(req->api->def, "use_oauth2"));
}

/* ---- the request form ------------------------------------------------------------------------ */

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

/* Go's QueryUnescape: '+' is a space; a bad escape makes the pair invalid (NULL). */
static char *unescape(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int h = i + 2 < n ? hexval(s[i + 1]) : -1, l = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Adds the pairs of @s to @form, keeping a key's first value (Go's Form.Get). Pairs Go's
 * ParseQuery rejects (bad escapes, ';' in the key) are skipped, as ParseForm's caller here
 * ignores the error. */
static void parse_pairs(json_t *form, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t len = amp ? (size_t)(amp - (s + i)) : n - i;
        const char *p = s + i;
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        if (len && !memchr(p, ';', kl)) {
            char *k = unescape(p, kl);
            char *v = eq ? unescape(eq + 1, len - kl - 1) : strdup("");
            if (k && v && !json_object_get(form, k))
                json_object_set_new(form, k, json_string(v));
            free(k);
            free(v);
        }
        i += len + 1;
    }
}

static bool header_is(const gw_req_t *req, const char *name, const char *value)
{
    const tk_http_hdr_t *h = gw_req_header(req, name);
    return h && h->value_len == strlen(value) && memcmp(h->value, value, h->value_len) == 0;
}

/*
 * Tyk's form: url-encoded body values, then the query string (r.ParseForm), then, for a body
 * sent as exactly "application/json", its string members override (JSONToFormValues; a body
 * that is not an object of strings adds nothing). A body Go refuses (too big) makes this NULL,
 * or, with @skip_big_body, is left out as Go's ParseForm leaves it out of r.Form.
 */
static json_t *form_of(gw_req_t *req, bool body_only, bool skip_big_body)
{
    size_t n = req->body ? evbuffer_get_length(req->body) : 0;
    const char *body = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    const tk_http_hdr_t *ct = gw_req_header(req, "content-type");
    bool urlenc = false;
    if (ct) {
        size_t l = ct->value_len;
        const char *semi = memchr(ct->value, ';', l);
        if (semi)
            l = (size_t)(semi - ct->value);
        while (l && (ct->value[l - 1] == ' ' || ct->value[l - 1] == '\t'))
            l--;
        static const char form_type[] = "application/x-www-form-urlencoded";
        urlenc = l == sizeof(form_type) - 1 && strncasecmp(ct->value, form_type, l) == 0;
    }
    bool post = req->head->method_len == 4 && memcmp(req->head->method, "POST", 4) == 0;
    if (body_only) /* Go's PostForm: the body of a POST, PUT or PATCH */
        post = post || (req->head->method_len == 3 && memcmp(req->head->method, "PUT", 3) == 0) ||
               (req->head->method_len == 5 && memcmp(req->head->method, "PATCH", 5) == 0);
    bool too_big = post && urlenc && n > MAX_FORM_BODY;
    if (too_big && !skip_big_body)
        return NULL;
    json_t *form = json_object();
    if (post && urlenc && !too_big)
        parse_pairs(form, body, n);
    if (body_only)
        return form;
    if (req->query)
        parse_pairs(form, req->query, strlen(req->query));
    if (header_is(req, "content-type", "application/json")) {
        json_t *j = json_loadb(body, n, 0, NULL);
        bool strings = json_is_object(j);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) strings = strings && json_is_string(v);
        if (strings)
            json_object_foreach(j, k, v) json_object_set(form, k, v);
        json_decref(j);
    }
    return form;
}

json_t *gw_oauth_read_form(gw_req_t *req)
{
    return form_of(req, false, false);
}

json_t *gw_oauth_post_form(gw_req_t *req)
{
    return form_of(req, true, false);
}

static const char *form_get(json_t *form, const char *k)
{
    const char *v = json_string_value(json_object_get(form, k));
    return v ? v : "";
}

/* ---- the access request ---------------------------------------------------------------------- */

typedef struct tctx {
    gw_wait_t *t;
    gw_oauth_client_t client;
    char *password; /* from Basic auth */
    char *scope;
    char *api_id;
    char *token;
    char *hash;
    int64_t expires_in;
    /* password grant */
    bool password_grant;
    char *username;
    char *user_password;
    gw_session_t user; /* the basic-auth user's session */
    char *refresh;
    char *old_hash; /* the user's previous token for this client (hashed), revoked */
    /* refresh_token / authorization_code grants */
    bool refresh_grant, code_grant;
    char *grant_in;     /* the refresh token or authorization code presented */
    char *redirect_in;  /* authorization_code: the redirect_uri presented */
    json_t *prev;       /* the stored refresh (AccessData) or code (AuthorizeData) record */
    char *user_data;    /* osin UserData: the token's session as JSON text, or NULL */
    char *redirect_uri; /* the RedirectUri the new access record keeps */
    /* implicit grant (authorize-client with response_type=token): who gets the outcome */
    gw_oauth_implicit_done_fn implicit_done;
    void *implicit_arg;
} tctx_t;

static void tctx_free(tctx_t *c)
{
    gw_oauth_client_free(&c->client);
    free(c->password);
    free(c->scope);
    free(c->api_id);
    free(c->token);
    free(c->hash);
    free(c->username);
    if (c->user_password)
        OPENSSL_cleanse(c->user_password, strlen(c->user_password));
    free(c->user_password);
    gw_session_free(&c->user);
    free(c->refresh);
    free(c->old_hash);
    free(c->grant_in);
    free(c->redirect_in);
    json_decref(c->prev);
    free(c->user_data);
    free(c->redirect_uri);
    free(c);
}

static gw_req_t *resume(tctx_t *c)
{
    gw_req_t *req = gw_wait_end(c->t);
    c->t = NULL;
    if (!req) {
        if (c->implicit_done) /* the caller releases its own state */
            c->implicit_done(NULL, c->implicit_arg, NULL, 0, NULL);
        tctx_free(c);
    }
    return req;
}

static void fail(gw_req_t *req, tctx_t *c, const char *code)
{
    gw_oauth_implicit_done_fn done = c->implicit_done;
    void *arg = c->implicit_arg;
    tctx_free(c);
    if (done)
        done(req, arg, NULL, 0, code);
    else
        oauth_error(req, code);
}

static bool allowed(const gw_api_t *api, const char *grant)
{
    json_t *types =
        json_object_get(json_object_get(api->def, "oauth_meta"), "allowed_access_types");
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v) if (json_is_string(v) &&
                                        strcmp(json_string_value(v), grant) == 0) return true;
    return false;
}

/* osin's CheckBasicAuth: no header is "none sent" (false, *user NULL); a malformed one fails. */
static bool basic_auth(gw_req_t *req, char **user, char **pass)
{
    *user = *pass = NULL;
    const tk_http_hdr_t *h = gw_req_header(req, "authorization");
    if (!h || h->value_len == 0)
        return false;
    if (h->value_len < 6 || memcmp(h->value, "Basic ", 6) != 0)
        return false;
    size_t dl = 0;
    unsigned char *d = tk_b64_decode(h->value + 6, h->value_len - 6, false, true, &dl);
    if (!d)
        return false;
    char *colon = memchr(d, ':', dl);
    if (colon) {
        *user = strndup((char *)d, (size_t)(colon - (char *)d));
        *pass = strndup(colon + 1, dl - (size_t)(colon + 1 - (char *)d));
    }
    free(d);
    return *user != NULL;
}

/* The first redirect URI of the client (oauth_redirect_uri_separator splits several). */
char *gw_oauth_first_uri(gw_req_t *req, const char *uris)
{
    const char *sep = req->conn->w->srv->conf->oauth_redirect_uri_separator;
    const char *cut = sep && *sep ? strstr(uris, sep) : NULL;
    return tk_arena_strndup(req->arena, uris, cut ? (size_t)(cut - uris) : strlen(uris));
}

/* A removed session leaves every gateway's session cache, as Tyk's RemoveSession does
 * (clearCacheForKey: local caches and a KeySpaceUpdateNotification to the cluster). */
void gw_oauth_forget_session(gw_req_t *req, const char *hash)
{
    gw_server_t *srv = req->conn->w->srv;
    gw_sessions_evict(srv, hash);
    char sig[65];
    gw_notification_sign("KeySpaceUpdateNotification", hash, srv->conf->node_secret, sig);
    json_t *m = json_pack("{s:s,s:s,s:s,s:i}", "command", "KeySpaceUpdateNotification", "payload",
                          hash, "signature", sig, "algorithm", 5);
    char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (text)
        gw_server_publish(srv, "tyk.cluster.notifications", text);
    free(text);
}

static void on_saved(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    tctx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        fail(req, c, E_SERVER_ERROR);
        return;
    }
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        fail(req, c, E_INVALID_GRANT); /* the code or refresh token was used meanwhile */
        return;
    }
    if (c->old_hash)
        gw_oauth_forget_session(req, c->old_hash);
    if (c->implicit_done) {
        gw_oauth_implicit_done_fn done = c->implicit_done;
        void *done_arg = c->implicit_arg;
        char *tok = c->token;
        int64_t exp = c->expires_in;
        c->token = NULL;
        tctx_free(c);
        done(req, done_arg, tok, exp, NULL);
        free(tok);
        return;
    }
    gw_oauth_notify(req, c->code_grant ? c->grant_in : "", c->token, c->refresh ? c->refresh : "",
                    c->refresh_grant ? c->grant_in : "");
    json_t *o = json_pack("{s:s,s:s,s:I}", "access_token", c->token, "token_type", "bearer",
                          "expires_in", (json_int_t)c->expires_in);
    if (c->refresh)
        json_object_set_new(o, "refresh_token", json_string(c->refresh));
    if (c->scope && *c->scope)
        json_object_set_new(o, "scope", json_string(c->scope));
    tctx_free(c);
    gw_oauth_respond(req, 200, o);
    json_decref(o);
}

/* The session a client_credentials token gets: Tyk's generateSessionFromPolicy. */
static bool session_from_policy(gw_req_t *req, tctx_t *c, gw_session_t *s)
{
    const gw_policies_t *pols = &req->gref->gen->policies;
    const gw_policy_t *pol = gw_policies_get(pols, c->client.policy_id);
    if (!pol) {
        tk_log_warn("oauth: client %s has no usable policy (\"%s\")", c->client.id,
                    c->client.policy_id);
        return false;
    }
    s->org_id = tk_xstrdup(pol->org_id ? pol->org_id : "");
    gw_strv_push(&s->apply_policies, pol->id);
    char *err = NULL;
    if (gw_policy_apply(s, pols, NULL, &err) != TK_OK) {
        tk_log_warn("oauth: policy %s cannot make a token: %s", pol->id, err ? err : "?");
        free(err);
        return false;
    }
    return true;
}

static const char save_lua[] =
    /* First the single-use grant (authorization code or old refresh token) is consumed; a grant
     * already gone means a concurrent request used it (0). Then session, access record, client
     * token list; the refresh record, the previous token (password: the user's token for this
     * client; refresh: the refreshed token, its access record and its token list entry, as osin's
     * RemoveAccess), and the user record. */
    "if ARGV[14] ~= '' and redis.call('DEL', ARGV[14]) == 0 then return 0 end\n"
    "if ARGV[15] ~= '' then\n"
    "  redis.call('DEL', ARGV[15])\n"
    "  redis.call('ZREM', ARGV[6], ARGV[16])\n"
    "end\n"
    "redis.call('SET', ARGV[1], ARGV[2], 'EX', ARGV[3])\n"
    "redis.call('SET', ARGV[4], ARGV[5], 'EX', ARGV[3])\n"
    "redis.call('ZADD', ARGV[6], ARGV[7], ARGV[8])\n"
    "if ARGV[9] ~= '' then redis.call('SET', ARGV[9], ARGV[5], 'EX', ARGV[10]) end\n"
    "if ARGV[11] ~= '' then redis.call('DEL', ARGV[11]) end\n"
    "if ARGV[12] ~= '' then redis.call('SET', ARGV[12], ARGV[13], 'KEEPTTL') end\n"
    "return 1\n";

/* HashKey(@token) into the arena. */
static char *hash_key(gw_req_t *req, const char *token)
{
    const gw_conf_t *conf = req->conn->w->srv->conf;
    char hb[TK_HASH_HEX_MAX + 512];
    if (tk_hash_key(token, strlen(token), conf->hash_keys, hb, sizeof(hb)) != TK_OK)
        return NULL;
    return tk_arena_strdup(req->arena, hb);
}

/* Tyk's generateSessionFromPolicy / password-grant UserData + SaveAccess: the token's session
 * and its records. */
static void issue_token(gw_req_t *req, tctx_t *c)
{
    const gw_conf_t *conf = req->conn->w->srv->conf;
    gw_session_t s = {0};
    if (c->password_grant) {
        /* The user's own session, without its password (Tyk's UserData). */
        gw_session_copy(&s, &c->user);
        free(s.basic_auth_password);
        free(s.basic_auth_hash_type);
        s.basic_auth_password = s.basic_auth_hash_type = NULL;
        json_decref(s.raw);
        s.raw = NULL;
    } else {
        /* osin UserData (key_rules, or the refreshed token's session) wins; text that is not a
         * session falls back to the client's policy, as Tyk's SaveAccess does. */
        char *err = NULL;
        bool from_user_data =
            c->user_data &&
            gw_session_from_text(c->user_data, strlen(c->user_data), &s, &err) == TK_OK;
        free(err);
        if (!from_user_data) {
            gw_session_free(&s);
            memset(&s, 0, sizeof(s));
            if (!session_from_policy(req, c, &s)) {
                gw_session_free(&s);
                fail(req, c, E_SERVER_ERROR);
                return;
            }
        }
    }
    if (c->password_grant && !c->user_data) {
        c->user_data = gw_session_dumps(&s); /* Tyk keeps it as the record's UserData */
    }
    int64_t now = (int64_t)time(NULL);
    c->expires_in = conf->oauth_token_expire > 0 ? conf->oauth_token_expire : 3600;
    s.expires = now + c->expires_in;
    free(s.oauth_client_id); /* a copied or decoded session has one already */
    s.oauth_client_id = tk_xstrdup(c->client.id);
    if (json_is_object(c->client.meta_data)) {
        if (!s.meta_data)
            s.meta_data = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(c->client.meta_data, k, v) if (!json_object_get(s.meta_data, k))
            json_object_set(s.meta_data, k, v);
    }
    enum tk_hash_algo h =
        tk_hash_algo_parse(conf->hash_key_function, strlen(conf->hash_key_function), NULL);
    c->token = tk_token_generate(s.org_id, NULL, h);
    char *hk = hash_key(req, c->token);
    if (!hk) {
        gw_session_free(&s);
        fail(req, c, E_SERVER_ERROR);
        return;
    }
    c->hash = tk_xstrdup(hk);
    if (c->password_grant || c->refresh_grant || c->code_grant) {
        char u[37];
        tk_uuid_str(u);
        c->refresh = tk_b64_encode(u, strlen(u), false, true, NULL);
    }
    char *sess = gw_session_dumps(&s);
    gw_session_free(&s);

    /* osin's AccessData as Tyk stores it at oauth-access.<hash>. */
    char created[32];
    tk_fmt_rfc3339(now, created);
    char *client_json = gw_oauth_client_dumps(&c->client);
    json_t *cj = client_json ? json_loads(client_json, 0, NULL) : NULL;
    free(client_json);
    /* The record nests the code's AuthorizeData or the refreshed AccessData, as osin's does;
     * the refreshed one loses its own nested AccessData so a chain of refreshes stays small. */
    json_t *prev = c->prev ? json_deep_copy(c->prev) : NULL;
    if (prev && c->refresh_grant)
        json_object_set_new(prev, "AccessData", json_null());
    json_t *ad = json_pack(
        "{s:o,s:o,s:o,s:s,s:s,s:I,s:s,s:s,s:s,s:o}", "Client", cj ? cj : json_object(),
        "AuthorizeData", c->code_grant && prev ? prev : json_null(), "AccessData",
        c->refresh_grant && prev ? prev : json_null(), "AccessToken", c->token, "RefreshToken",
        c->refresh ? c->refresh : "", "ExpiresIn", (json_int_t)c->expires_in, "Scope",
        c->scope ? c->scope : "", "RedirectUri",
        c->redirect_uri ? c->redirect_uri : gw_oauth_first_uri(req, c->client.redirect_uri),
        "CreatedAt", created, "UserData", c->user_data ? json_string(c->user_data) : json_null());
    if (prev && !(c->code_grant || c->refresh_grant))
        json_decref(prev);
    char *ad_text = ad ? json_dumps(ad, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ad);
    if (!sess || !ad_text) {
        free(sess);
        free(ad_text);
        fail(req, c, E_SERVER_ERROR);
        return;
    }
    /* Password grant: the user's previous token for this client is revoked, and the user
     * record remembers the new one (oauth_keys) and takes the client's meta_data. */
    const char *refresh_key = "", *old_key = "", *user_key = "", *user_text = "";
    char *prefix = gw_oauth_key(c->api_id, "");
    const char *consumed = "", *old_access = "";
    if (c->code_grant)
        consumed = tk_arena_printf(req->arena, "%soauth-authorize.%s", prefix, c->grant_in);
    if (c->refresh)
        refresh_key = tk_arena_printf(req->arena, "%soauth-refresh.%s", prefix, c->refresh);
    if (c->refresh_grant) {
        /* osin (RetainTokenAfterRefresh off): the old refresh token and access token go */
        consumed = tk_arena_printf(req->arena, "%soauth-refresh.%s", prefix, c->grant_in);
        const char *old = json_string_value(json_object_get(c->prev, "AccessToken"));
        const char *oh = old && *old ? hash_key(req, old) : NULL;
        if (oh) {
            old_key = tk_arena_printf(req->arena, "apikey-%s", oh);
            old_access = tk_arena_printf(req->arena, "%soauth-access.%s", prefix, oh);
            c->old_hash = tk_xstrdup(oh);
        }
    }
    if (c->password_grant) {
        const char *old = json_string_value(json_object_get(c->user.oauth_keys, c->client.id));
        const char *oh = old ? hash_key(req, old) : NULL;
        if (oh) {
            old_key = tk_arena_printf(req->arena, "apikey-%s", oh);
            c->old_hash = tk_xstrdup(oh);
        }
        if (!json_is_object(c->user.oauth_keys)) {
            json_decref(c->user.oauth_keys);
            c->user.oauth_keys = json_object();
        }
        json_object_set_new(c->user.oauth_keys, c->client.id, json_string(c->token));
        if (json_is_object(c->client.meta_data)) {
            json_decref(c->user.meta_data);
            c->user.meta_data = json_deep_copy(c->client.meta_data);
            const char *email =
                json_string_value(json_object_get(c->user.meta_data, "tyk_developer_email"));
            if (email) {
                free(c->user.alias);
                c->user.alias = tk_xstrdup(email);
                json_object_del(c->user.meta_data, "tyk_developer_email");
            }
        }
        char *name = tk_token_generate(req->api->org_id, c->username, h);
        const char *uh = hash_key(req, name);
        free(name);
        char *ut = gw_session_dumps(&c->user);
        if (uh && ut) {
            user_key = tk_arena_printf(req->arena, "apikey-%s", uh);
            user_text = tk_arena_strdup(req->arena, ut);
        }
        free(ut);
    }
    const char *argv[19] = {
        "EVAL",
        save_lua,
        "0",
        tk_arena_printf(req->arena, "apikey-%s", c->hash),
        tk_arena_strdup(req->arena, sess),
        tk_arena_printf(req->arena, "%lld", (long long)c->expires_in),
        tk_arena_printf(req->arena, "%soauth-access.%s", prefix, c->hash),
        tk_arena_strdup(req->arena, ad_text),
        tk_arena_printf(req->arena, "%soauth-client-tokens.%s", prefix, c->client.id),
        tk_arena_printf(req->arena, "%lld", (long long)(now + c->expires_in)),
        c->hash,
        refresh_key,
        tk_arena_printf(req->arena, "%lld", (long long)conf->oauth_refresh_token_expire),
        old_key,
        user_key,
        user_text,
        consumed,
        old_access,
        c->old_hash ? c->old_hash : "",
    };
    free(prefix);
    free(sess);
    free(ad_text);
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_saved, c, 19, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        fail(req, c, E_SERVER_ERROR);
    }
}

void gw_oauth_issue_implicit(gw_req_t *req, const gw_oauth_client_t *client,
                             const char *redirect_uri, const char *scope, const char *user_data,
                             gw_oauth_implicit_done_fn done, void *arg)
{
    tctx_t *c = tk_xcalloc(1, sizeof(*c));
    c->implicit_done = done;
    c->implicit_arg = arg;
    char *text = gw_oauth_client_dumps(client);
    bool ok = text && gw_oauth_client_loads(text, strlen(text), &c->client);
    free(text);
    if (!ok) {
        fail(req, c, E_SERVER_ERROR);
        return;
    }
    c->api_id = tk_xstrdup(req->api->api_id);
    c->scope = tk_xstrdup(scope);
    c->redirect_uri = tk_xstrdup(redirect_uri);
    c->user_data = tk_xstrdup(user_data); /* "" is not a session: the client's policy applies */
    issue_token(req, c);
}

/* ---- password grant: the resource owner is a basic-auth user of the API ---- */

struct pw_job {
    gw_wait_t *wait;
    tctx_t *c;
    bool ok;
};

static void pw_work(void *arg)
{
    struct pw_job *j = arg;
    j->ok = tk_bcrypt_check(j->c->user.basic_auth_password, j->c->user_password);
}

static void pw_done(void *arg, int status)
{
    struct pw_job *j = arg;
    tctx_t *c = j->c;
    gw_req_t *req = gw_wait_end(j->wait);
    bool ok = status == TK_OK && j->ok;
    free(j);
    if (!req) {
        tctx_free(c);
        return;
    }
    if (!ok)
        fail(req, c, E_ACCESS_DENIED);
    else
        issue_token(req, c);
}

/* Tyk checks bcrypt and plain-text passwords only; any other hash type never matches. */
static void check_password(gw_req_t *req, tctx_t *c)
{
    const char *type = c->user.basic_auth_hash_type ? c->user.basic_auth_hash_type : "";
    const char *have = c->user.basic_auth_password ? c->user.basic_auth_password : "";
    if (!*type) {
        size_t a = strlen(have), b = strlen(c->user_password);
        if (a == b && CRYPTO_memcmp(have, c->user_password, a) == 0)
            issue_token(req, c);
        else
            fail(req, c, E_ACCESS_DENIED);
        return;
    }
    if (strcmp(type, "bcrypt") != 0) {
        fail(req, c, E_ACCESS_DENIED);
        return;
    }
    gw_server_t *srv = req->conn->w->srv;
    if (!srv->offload) {
        bool ok = tk_bcrypt_check(have, c->user_password);
        if (ok)
            issue_token(req, c);
        else
            fail(req, c, E_ACCESS_DENIED);
        return;
    }
    struct pw_job *j = tk_xcalloc(1, sizeof(*j));
    j->c = c;
    j->wait = gw_wait_begin(req);
    tk_offload_port_t *port = tk_offload_thread_port(req->conn->w->base);
    if (tk_offload_submit(srv->offload, port, pw_work, pw_done, j) != TK_OK) {
        gw_wait_end(j->wait);
        free(j);
        fail(req, c, E_SERVER_ERROR);
    }
}

static void on_user(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    tctx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    char *err = NULL;
    if (!reply || reply->type != REDIS_REPLY_STRING ||
        gw_session_from_text(reply->str, reply->len, &c->user, &err) != TK_OK) {
        free(err);
        fail(req, c, E_ACCESS_DENIED); /* no such user: the request is not authorised */
        return;
    }
    check_password(req, c);
}

/* Tyk looks the user up as "apikey-" + HashKey(api org + username). */
static void load_user(gw_req_t *req, tctx_t *c)
{
    char *name =
        tk_arena_printf(req->arena, "%s%s", req->api->org_id ? req->api->org_id : "", c->username);
    char *h = hash_key(req, name);
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, "apikey-%s", h ? h : "")};
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_user, c, 2, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        fail(req, c, E_SERVER_ERROR);
    }
}

/* ---- refresh_token and authorization_code: the stored grant ---- */

/* osin's ValidateUri for one registered URI: same scheme and host, and the path under the
 * registered one. */
static bool uri_under(const char *base, const char *uri)
{
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    if (strncmp(base, uri, bl) != 0 || strchr(uri, '#'))
        return false;
    char next = uri[bl];
    return next == '\0' || next == '/' || next == '?';
}

bool gw_oauth_uri_allowed(gw_req_t *req, const char *uris, const char *uri)
{
    const char *sep = req->conn->w->srv->conf->oauth_redirect_uri_separator;
    size_t sl = sep ? strlen(sep) : 0;
    const char *p = uris;
    for (;;) {
        const char *cut = sl ? strstr(p, sep) : NULL;
        char *one = tk_arena_strndup(req->arena, p, cut ? (size_t)(cut - p) : strlen(p));
        if (*one && uri_under(one, uri))
            return true;
        if (!cut)
            return false;
        p = cut + sl;
    }
}

/* True when every scope of @want is in @have (osin's extraScopes, inverted). */
static bool scopes_within(const char *have, const char *want)
{
    char *w = tk_xstrdup(want), *save = NULL;
    bool ok = true;
    for (char *t = strtok_r(w, " ", &save); t && ok; t = strtok_r(NULL, " ", &save)) {
        size_t tl = strlen(t);
        const char *h = have;
        bool found = false;
        while (*h && !found) {
            const char *e = strchr(h, ' ');
            size_t hl = e ? (size_t)(e - h) : strlen(h);
            found = hl == tl && memcmp(h, t, tl) == 0;
            h += hl + (e ? 1 : 0);
        }
        ok = found;
    }
    free(w);
    return ok;
}

/* "CreatedAt" (RFC 3339 as Go writes it: optional fraction, then Z or +hh:mm) as Unix time; 0
 * when unreadable. */
static int64_t created_at(json_t *rec)
{
    const char *t = json_string_value(json_object_get(rec, "CreatedAt"));
    struct tm tm = {0};
    const char *end = t ? strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end)
        return 0;
    int64_t at = (int64_t)timegm(&tm);
    if (*end == '.')
        for (end++; *end >= '0' && *end <= '9'; end++)
            ;
    int hh = 0, mm = 0;
    if ((*end == '+' || *end == '-') && sscanf(end + 1, "%2d:%2d", &hh, &mm) == 2)
        at -= (*end == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
    return at;
}

static void on_grant(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    tctx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    json_t *rec = reply && reply->type == REDIS_REPLY_STRING
                      ? json_loadb(reply->str, reply->len, 0, NULL)
                      : NULL;
    if (!json_is_object(rec)) {
        json_decref(rec);
        fail(req, c, E_INVALID_GRANT); /* unknown, expired or already used */
        return;
    }
    c->prev = rec;
    json_t *cl = json_object_get(rec, "Client");
    const char *cid = json_string_value(json_object_get(cl, "id"));
    const char *curi = json_string_value(json_object_get(cl, "redirecturi"));
    if (!json_is_object(cl) || !curi || !*curi) {
        fail(req, c, E_UNAUTHORIZED_CLIENT);
        return;
    }
    const char *rec_scope = json_string_value(json_object_get(rec, "Scope"));
    const char *rec_uri = json_string_value(json_object_get(rec, "RedirectUri"));
    rec_scope = rec_scope ? rec_scope : "";
    rec_uri = rec_uri ? rec_uri : "";
    if (c->code_grant) {
        int64_t exp = json_integer_value(json_object_get(rec, "ExpiresIn"));
        if (created_at(rec) + exp < (int64_t)time(NULL) || !cid || strcmp(cid, c->client.id) != 0) {
            fail(req, c, E_INVALID_GRANT);
            return;
        }
        const char *uri =
            *c->redirect_in ? c->redirect_in : gw_oauth_first_uri(req, c->client.redirect_uri);
        if (!gw_oauth_uri_allowed(req, c->client.redirect_uri, uri) || strcmp(rec_uri, uri) != 0) {
            fail(req, c, E_INVALID_REQUEST);
            return;
        }
        c->redirect_uri = tk_xstrdup(uri);
        free(c->scope);
        c->scope = tk_xstrdup(rec_scope);
    } else {
        if (!cid || strcmp(cid, c->client.id) != 0) {
            fail(req, c, E_INVALID_CLIENT);
            return;
        }
        c->redirect_uri = tk_xstrdup(rec_uri);
        if (!*c->scope) {
            free(c->scope);
            c->scope = tk_xstrdup(rec_scope);
        }
        if (!scopes_within(rec_scope, c->scope)) {
            fail(req, c, E_ACCESS_DENIED);
            return;
        }
    }
    const char *ud = json_string_value(json_object_get(rec, "UserData"));
    if (ud)
        c->user_data = tk_xstrdup(ud);
    issue_token(req, c);
}

static void load_grant(gw_req_t *req, tctx_t *c)
{
    char *prefix = gw_oauth_key(c->api_id, "");
    const char *argv[2] = {"GET",
                           tk_arena_printf(req->arena, "%soauth-%s.%s", prefix,
                                           c->code_grant ? "authorize" : "refresh", c->grant_in)};
    free(prefix);
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_grant, c, 2, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        fail(req, c, E_SERVER_ERROR);
    }
}

/* osin's getClient: a lookup failure is a server error (Tyk's storage reports a missing client
 * as an error, not osin's ErrNotFound); a wrong secret or no redirect URI is unauthorized. */
static void on_client(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    tctx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    char *want = c->password;
    c->password = NULL;
    gw_oauth_client_t *cl = &c->client;
    bool found = reply && reply->type == REDIS_REPLY_STRING &&
                 gw_oauth_client_loads(reply->str, reply->len, cl);
    if (!found) {
        free(want);
        fail(req, c, E_SERVER_ERROR);
        return;
    }
    size_t sl = strlen(cl->secret), wl = strlen(want);
    bool ok = sl == wl && CRYPTO_memcmp(cl->secret, want, sl) == 0;
    free(want);
    if (!ok || !*cl->redirect_uri) {
        fail(req, c, E_UNAUTHORIZED_CLIENT);
        return;
    }
    if (c->password_grant)
        load_user(req, c);
    else if (c->refresh_grant || c->code_grant)
        load_grant(req, c);
    else
        issue_token(req, c);
}

enum grant { G_CLIENT, G_PASSWORD, G_REFRESH, G_CODE };

static void access_request(gw_req_t *req, json_t *form, enum grant g)
{
    bool password = g == G_PASSWORD;
    const char *grant_in = form_get(form, g == G_CODE ? "code" : "refresh_token");
    char *user, *pass;
    if (!basic_auth(req, &user, &pass)) {
        free(user);
        free(pass);
        oauth_error(req, E_INVALID_REQUEST); /* "Client authentication not sent" */
        return;
    }
    if (password && (!*form_get(form, "username") || !*form_get(form, "password"))) {
        free(user);
        free(pass);
        oauth_error(req, E_INVALID_GRANT);
        return;
    }
    if ((g == G_REFRESH || g == G_CODE) && !*grant_in) {
        free(user);
        free(pass);
        oauth_error(req, E_INVALID_GRANT);
        return;
    }
    tctx_t *c = tk_xcalloc(1, sizeof(*c));
    c->refresh_grant = g == G_REFRESH;
    c->code_grant = g == G_CODE;
    c->grant_in = tk_xstrdup(grant_in);
    c->redirect_in = tk_xstrdup(form_get(form, "redirect_uri"));
    c->password = pass;
    c->password_grant = password;
    if (password) {
        c->username = tk_xstrdup(form_get(form, "username"));
        c->user_password = tk_xstrdup(form_get(form, "password"));
    }
    c->scope = tk_xstrdup(form_get(form, "scope"));
    c->api_id = tk_xstrdup(req->api->api_id);
    char *prefix = gw_oauth_key(req->api->api_id, GW_OAUTH_CLIENT_PREFIX);
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, "%s%s", prefix, user)};
    free(prefix);
    free(user);
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_client, c, 2, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        fail(req, c, E_SERVER_ERROR);
    }
}

void gw_oauth_token_handle(gw_req_t *req)
{
    bool get = req->head->method_len == 3 && memcmp(req->head->method, "GET", 3) == 0;
    bool post = req->head->method_len == 4 && memcmp(req->head->method, "POST", 4) == 0;
    if (!get && !post) {
        gw_respond_json(req, 405, "{\"status\":\"error\",\"message\":\"Method not supported\"}");
        return;
    }
    if (get) { /* osin: AllowGetAccessRequest is off in Tyk */
        oauth_error(req, E_INVALID_REQUEST);
        return;
    }
    /* Tyk parses the form once before osin does and ignores that error; osin's own ParseForm
     * then finds the form parsed and succeeds. So a body over Go's limit is not refused: it is
     * simply not part of the form (and its grant_type is missing). */
    json_t *form = form_of(req, false, true);
    const char *grant = form_get(form, "grant_type");
    if (!*grant || !allowed(req->api, grant)) {
        json_decref(form);
        oauth_error(req, E_UNSUPPORTED_GRANT_TYPE);
        return;
    }
    if (strcmp(grant, "client_credentials") == 0)
        access_request(req, form, G_CLIENT);
    else if (strcmp(grant, "password") == 0)
        access_request(req, form, G_PASSWORD);
    else if (strcmp(grant, "refresh_token") == 0)
        access_request(req, form, G_REFRESH);
    else if (strcmp(grant, "authorization_code") == 0)
        access_request(req, form, G_CODE);
    else
        oauth_error(req, E_UNSUPPORTED_GRANT_TYPE);
    json_decref(form);
}
