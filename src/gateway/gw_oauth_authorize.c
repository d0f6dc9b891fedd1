/* SPDX-License-Identifier: Apache-2.0 */
/* <listen path>/oauth/authorize and /tyk/oauth/authorize-client (gw_oauth_authorize.h). */
#include "gw_oauth_authorize.h"

#include "gw_oauth_store.h"
#include "gw_oauth_token.h"
#include "gw_pipeline.h"

#include "tk_base64.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* osin's AuthorizationExpiration default (NewServerConfig), which Tyk keeps. */
#define CODE_TTL 250

typedef struct actx {
    gw_wait_t *t;
    bool complete; /* authorize-client (issue a code) rather than the passthrough */
    char *state, *scope, *redirect, *key_rules, *api_id, *response_type;
    gw_oauth_client_t client;
    char *code;
} actx_t;

static void actx_free(actx_t *c)
{
    free(c->state);
    free(c->scope);
    free(c->redirect);
    free(c->key_rules);
    free(c->response_type);
    free(c->api_id);
    gw_oauth_client_free(&c->client);
    free(c->code);
    free(c);
}

static bool is_method(const gw_req_t *req, const char *m)
{
    return req->head->method_len == strlen(m) && memcmp(req->head->method, m, strlen(m)) == 0;
}

static int error_status(const gw_req_t *req)
{
    int s = (int)req->conn->w->srv->conf->oauth_error_status_code;
    return s > 0 ? s : 403;
}

/* Go's url.QueryEscape of @s appended to @out. */
static void query_escape(tk_arena_t *a, char **out, const char *s)
{
    size_t n = strlen(s), o = strlen(*out);
    char *buf = tk_arena_alloc(a, o + n * 3 + 1);
    memcpy(buf, *out, o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            buf[o++] = (char)*p;
        else if (*p == ' ')
            buf[o++] = '+';
        else
            o += (size_t)snprintf(buf + o, 4, "%%%02X", *p);
    }
    buf[o] = '\0';
    *out = buf;
}

/* osin's GetRedirectUrl: @uri with the (sorted) members of @out added to its query. */
static char *redirect_to(gw_req_t *req, const char *uri, json_t *out)
{
    char *s = tk_arena_printf(req->arena, "%s%c", uri, strchr(uri, '?') ? '&' : '?');
    const char *k;
    json_t *v;
    bool first = true;
    void *it;
    /* json objects keep insertion order; callers insert in sorted key order */
    json_object_foreach_safe(out, it, k, v)
    {
        if (!first)
            s = tk_arena_printf(req->arena, "%s&", s);
        first = false;
        query_escape(req->arena, &s, k);
        s = tk_arena_printf(req->arena, "%s=", s);
        query_escape(req->arena, &s, json_string_value(v));
    }
    return s;
}

/* An osin error: the passthrough answers Tyk's {"status":"error","message"}; authorize-client
 * answers osin's output, with redirect_to once the redirect URI was accepted. */
static void auth_error(gw_req_t *req, actx_t *c, const char *code, bool redirect_known)
{
    const char *desc = gw_oauth_error_description(code);
    if (!c->complete) {
        json_t *o = json_pack("{s:s,s:s}", "status", "error", "message", desc);
        char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        gw_respond_json(req, error_status(req), t ? t : "{}");
        free(t);
        actx_free(c);
        return;
    }
    json_t *out = json_pack("{s:s,s:s}", "error", code, "error_description", desc);
    if (*c->state)
        json_object_set_new(out, "state", json_string(c->state));
    json_t *body = json_deep_copy(out);
    if (redirect_known)
        json_object_set_new(body, "redirect_to", json_string(redirect_to(req, c->redirect, out)));
    json_decref(out);
    char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    char *text = tk_arena_printf(req->arena, "%s\n", s ? s : "{}");
    free(s);
    gw_respond(req, error_status(req), "text/plain; charset=utf-8", text, strlen(text), NULL);
    actx_free(c);
}

static bool allowed_type(const gw_api_t *api, const char *type)
{
    json_t *types =
        json_object_get(json_object_get(api->def, "oauth_meta"), "allowed_authorize_types");
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v) if (json_is_string(v) &&
                                        strcmp(json_string_value(v), type) == 0) return true;
    return false;
}

static void on_code_saved(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    actx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    if (!req) {
        actx_free(c);
        return;
    }
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        auth_error(req, c, "server_error", true);
        return;
    }
    json_t *out = json_pack("{s:s}", "code", c->code);
    if (*c->state)
        json_object_set_new(out, "state", json_string(c->state));
    json_t *body = json_deep_copy(out);
    json_object_set_new(body, "redirect_to", json_string(redirect_to(req, c->redirect, out)));
    json_decref(out);
    char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    char *text = tk_arena_printf(req->arena, "%s\n", s ? s : "{}");
    free(s);
    actx_free(c);
    gw_respond(req, 200, "text/plain; charset=utf-8", text, strlen(text), NULL);
}

/* Go's url.Values.Encode of the (sorted) members of @out; numbers as fmt.Sprint writes them. */
static char *form_encode(gw_req_t *req, json_t *out)
{
    char *s = "";
    const char *k;
    json_t *v;
    void *it;
    /* json objects keep insertion order; callers insert in sorted key order */
    json_object_foreach_safe(out, it, k, v)
    {
        if (*s)
            s = tk_arena_printf(req->arena, "%s&", s);
        query_escape(req->arena, &s, k);
        s = tk_arena_printf(req->arena, "%s=", s);
        query_escape(req->arena, &s,
                     json_is_integer(v)
                         ? tk_arena_printf(req->arena, "%lld", (long long)json_integer_value(v))
                         : json_string_value(v));
    }
    return s;
}

/* The implicit grant's answer: osin's output (access_token, expires_in, scope?, state?,
 * token_type) and redirect_to, the redirect URI with that output in its fragment (RFC 6749
 * §4.2.2). No refresh token, and no key-change notification (Tyk sends none from here). */
static void on_implicit(gw_req_t *req, void *arg, const char *token, int64_t expires_in,
                        const char *err)
{
    actx_t *c = arg;
    if (!req) {
        actx_free(c);
        return;
    }
    if (err) {
        auth_error(req, c, err, true);
        return;
    }
    json_t *out =
        json_pack("{s:s,s:I}", "access_token", token, "expires_in", (json_int_t)expires_in);
    if (*c->scope)
        json_object_set_new(out, "scope", json_string(c->scope));
    if (*c->state)
        json_object_set_new(out, "state", json_string(c->state));
    json_object_set_new(out, "token_type", json_string("bearer"));
    json_t *body = json_deep_copy(out);
    json_object_set_new(
        body, "redirect_to",
        json_string(tk_arena_printf(req->arena, "%s#%s", c->redirect, form_encode(req, out))));
    json_decref(out);
    char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    char *text = tk_arena_printf(req->arena, "%s\n", s ? s : "{}");
    free(s);
    actx_free(c);
    gw_respond(req, 200, "text/plain; charset=utf-8", text, strlen(text), NULL);
}

/* osin's FinishAuthorizeRequest for response_type=code: a new code and its AuthorizeData. */
static void issue_code(gw_req_t *req, actx_t *c)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        auth_error(req, c, "server_error", true);
        return;
    }
    c->code = tk_b64_encode(raw, sizeof(raw), true, false, NULL);
    char created[32];
    tk_fmt_rfc3339(time(NULL), created);
    char *cj = gw_oauth_client_dumps(&c->client);
    json_t *client = cj ? json_loads(cj, 0, NULL) : NULL;
    free(cj);
    json_t *ad =
        json_pack("{s:o,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Client",
                  client ? client : json_object(), "Code", c->code, "ExpiresIn", CODE_TTL, "Scope",
                  c->scope, "RedirectUri", c->redirect, "State", c->state, "CreatedAt", created,
                  "UserData", c->key_rules, "CodeChallenge", "", "CodeChallengeMethod", "");
    char *text = ad ? json_dumps(ad, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ad);
    char *prefix = gw_oauth_key(c->api_id, "");
    const char *argv[5] = {"SET",
                           tk_arena_printf(req->arena, "%soauth-authorize.%s", prefix, c->code),
                           text ? tk_arena_strdup(req->arena, text) : "", "EX",
                           tk_arena_printf(req->arena, "%d", CODE_TTL)};
    free(prefix);
    free(text);
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_code_saved, c, 5, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        auth_error(req, c, "server_error", true);
    }
}

/* osin's HandleAuthorizeRequest checks, then the passthrough or the code. */
static void on_client(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    actx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    if (!req) {
        actx_free(c);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_STRING ||
        !gw_oauth_client_loads(reply->str, reply->len, &c->client)) {
        auth_error(req, c, "server_error", false); /* Tyk's storage: not osin's ErrNotFound */
        return;
    }
    if (!*c->client.redirect_uri) {
        auth_error(req, c, "unauthorized_client", false);
        return;
    }
    const char *first = gw_oauth_first_uri(req, c->client.redirect_uri);
    if (!*c->redirect && strcmp(first, c->client.redirect_uri) == 0) {
        free(c->redirect);
        c->redirect = tk_xstrdup(first);
    }
    if (!gw_oauth_uri_allowed(req, c->client.redirect_uri, c->redirect)) {
        auth_error(req, c, "invalid_request", false);
        return;
    }
    bool code = strcmp(c->response_type, "code") == 0;
    bool implicit = strcmp(c->response_type, "token") == 0;
    if (!(code || implicit) || !allowed_type(req->api, c->response_type)) {
        auth_error(req, c, "unsupported_response_type", true);
        return;
    }
    if (c->complete && implicit) {
        gw_oauth_issue_implicit(req, &c->client, c->redirect, c->scope, c->key_rules, on_implicit,
                                c);
        return;
    }
    if (c->complete) {
        issue_code(req, c);
        return;
    }
    /* Tyk's passthrough: on to the login page, with the request's query for a GET */
    const char *login = json_string_value(
        json_object_get(json_object_get(req->api->def, "oauth_meta"), "auth_login_redirect"));
    login = login ? login : "";
    const char *loc = is_method(req, "GET") && req->query
                          ? tk_arena_printf(req->arena, "%s?%s", login, req->query)
                          : login;
    const char *hdr = tk_arena_printf(req->arena, "Location: %s\r\n", loc);
    actx_free(c);
    gw_respond(req, 307, NULL, "", 0, hdr);
}

static void handle(gw_req_t *req, bool complete)
{
    if (complete) {
        const char *secret = req->conn->w->srv->conf->secret;
        const tk_http_hdr_t *h = gw_req_header(req, "x-tyk-authorization");
        size_t n = strlen(secret);
        if (!(n > 0 && h && h->value_len == n && CRYPTO_memcmp(h->value, secret, n) == 0)) {
            gw_respond_json(req, 403,
                            "{\"status\":\"error\",\"message\":\"Attempted administrative "
                            "access with invalid or missing key!\"}");
            return;
        }
    }
    if (!is_method(req, "POST") && (complete || !is_method(req, "GET"))) {
        gw_respond_json(req, 405, "{\"status\":\"error\",\"message\":\"Method not supported\"}");
        return;
    }
    json_t *form = gw_oauth_read_form(req);
    if (!form) /* osin ignores ParseForm's error: an unreadable body is an empty form */
        form = json_object();
    const char *v;
    actx_t *c = tk_xcalloc(1, sizeof(*c));
    c->complete = complete;
#define FIELD(name) ((v = json_string_value(json_object_get(form, name))) ? v : "")
    c->state = tk_xstrdup(FIELD("state"));
    c->scope = tk_xstrdup(FIELD("scope"));
    c->redirect = tk_xstrdup(FIELD("redirect_uri"));
    c->key_rules = tk_xstrdup(FIELD("key_rules"));
    c->response_type = tk_xstrdup(FIELD("response_type"));
    const char *client_id = FIELD("client_id");
#undef FIELD
    c->api_id = tk_xstrdup(req->api->api_id);
    char *prefix = gw_oauth_key(req->api->api_id, GW_OAUTH_CLIENT_PREFIX);
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, "%s%s", prefix, client_id)};
    free(prefix);
    json_decref(form);
    c->t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_client, c, 2, argv, NULL) != TK_OK) {
        gw_wait_end(c->t);
        auth_error(req, c, "server_error", false);
    }
}

static void handle_passthrough(gw_req_t *req)
{
    handle(req, false);
}

static void handle_authorize_client(gw_req_t *req)
{
    handle(req, true);
}

/* True when @req's path is the API's listen path + @suffix, with an optional trailing '/'. */
void (*gw_oauth_authorize_route(const gw_req_t *req))(gw_req_t *)
{
    void (*route)(gw_req_t *) =
        gw_req_is_api_route(req, "oauth/authorize", true)              ? handle_passthrough
        : gw_req_is_api_route(req, "tyk/oauth/authorize-client", true) ? handle_authorize_client
                                                                       : NULL;
    /* The path first: other requests pay no definition lookup. */
    return route && json_is_true(json_object_get(req->api->def, "use_oauth2")) ? route : NULL;
}
