/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The /tyk/oauth/clients control API: create, list, read, update, rotate and delete OAuth
 * clients, with Tyk's status codes, error strings and reply bodies (spec §6.5). Records are
 * kept in Tyk's layout (gw_oauth_store.h). Every Redis step is asynchronous: the operation
 * context outlives the request until Redis answers, and is freed if the client goes away.
 *
 * Also routed here: /tyk/oauth/refresh/{token} (gw_oauth_revoke.h), /tyk/oauth/tokens
 * (gw_oauth_purge.h) and /tyk/oauth/clients/apis/{appID} (gw_oauth_apps.h).
 * Not here yet: the control API's /tyk/oauth/revoke and /tyk/oauth/revoke_all.
 */
#include "gw_handlers.h"
#include "gw_oauth_apps.h"
#include "gw_oauth_purge.h"
#include "gw_oauth_revoke.h"
#include "gw_oauth_store.h"
#include "gw_pipeline.h"
#include "gw_policy.h"

#include "tk_hash.h"
#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOT_FOUND "OAuth Client ID not found"
#define API_MISSING "API doesn't exist"
#define NOT_OAUTH "API is not OAuth2"
#define POLICY_MISSING "Policy doesn't exist"
#define UNMARSHAL "Unmarshalling failed"

enum op { OP_CREATE, OP_LIST, OP_GET, OP_UPDATE, OP_ROTATE, OP_DELETE };

typedef struct octx {
    gw_wait_t *t;
    enum op op;
    char *client_id;
    gw_oauth_client_t client;   /* the client being written (create/update/rotate) */
    gw_oauth_client_t old;      /* the stored one (update/rotate) */
    gw_oauth_client_t incoming; /* the request body (update) */
    char *prefix;               /* "oauth-data.<api>." of the API being worked on */
    char *org;                  /* that API's org */
    char **targets;             /* create: the APIs the client goes to */
    char **target_orgs;
    size_t ntargets, target_i;
    bool hash_keys;
} octx_t;

static void ctx_free(octx_t *c)
{
    if (!c)
        return;
    free(c->client_id);
    gw_oauth_client_free(&c->client);
    gw_oauth_client_free(&c->old);
    gw_oauth_client_free(&c->incoming);
    free(c->prefix);
    free(c->org);
    for (size_t i = 0; i < c->ntargets; i++) {
        free(c->targets[i]);
        free(c->target_orgs[i]);
    }
    free(c->targets);
    free(c->target_orgs);
    free(c);
}

static void ctx_free_any(void *c)
{
    ctx_free(c);
}

static bool o_send(gw_req_t *req, octx_t *c, tk_redis_cb cb, int argc, const char **argv)
{
    return gw_ctl_redis_send(req, &c->t, c, ctx_free_any, cb, argc, argv);
}

/* In a reply callback: the request, or NULL (ctx freed) when the client went away. */
static gw_req_t *resume(octx_t *c)
{
    gw_req_t *req = gw_wait_end(c->t);
    c->t = NULL;
    if (!req)
        ctx_free(c);
    return req;
}

static void fail(gw_req_t *req, octx_t *c, int code, const char *msg)
{
    ctx_free(c);
    gw_ctl_error(req, code, msg);
}

static bool api_flag(const gw_api_t *api, const char *name)
{
    return json_is_true(json_object_get(api->def, name));
}

static void set_api(octx_t *c, const gw_api_t *api)
{
    free(c->prefix);
    free(c->org);
    c->prefix = gw_oauth_key(api->api_id, "");
    c->org = tk_xstrdup(api->org_id ? api->org_id : "");
}

/*
 * Decodes a NewClientRequest body as Go's json.Decoder does: null is an empty request; any other
 * non-object, bad JSON, or a member of the wrong type is an error. @api_id may be NULL.
 */
static bool decode_request(gw_req_t *req, gw_oauth_client_t *out, char **api_id)
{
    size_t n = evbuffer_get_length(req->body);
    const char *p = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    json_t *v = json_loadb(p, n, JSON_DECODE_ANY, NULL);
    if (!v)
        return false;
    if (json_is_null(v)) {
        json_decref(v);
        v = json_object();
    }
    bool ok = json_is_object(v);
    static const char *const names[] = {"client_id", "redirect_uri", "api_id",
                                        "policy_id", "secret",       "description"};
    const char *vals[6] = {0};
    for (size_t i = 0; ok && i < 6; i++) {
        json_t *m = json_object_get(v, names[i]);
        if (m && !json_is_null(m) && !json_is_string(m))
            ok = false;
        else
            vals[i] = m ? json_string_value(m) : NULL;
    }
    if (ok) {
        memset(out, 0, sizeof(*out));
        out->id = tk_xstrdup(vals[0] ? vals[0] : "");
        out->redirect_uri = tk_xstrdup(vals[1] ? vals[1] : "");
        out->policy_id = tk_xstrdup(vals[3] ? vals[3] : "");
        out->secret = tk_xstrdup(vals[4] ? vals[4] : "");
        out->description = tk_xstrdup(vals[5] ? vals[5] : "");
        json_t *m = json_object_get(v, "meta_data");
        out->meta_data = m && !json_is_null(m) ? json_incref(m) : NULL;
        if (api_id)
            *api_id = tk_arena_strdup(req->arena, vals[2] ? vals[2] : "");
    }
    json_decref(v);
    return ok;
}

static const gw_policy_t *find_policy(gw_req_t *req, const char *id)
{
    return gw_policies_get(&req->gref->gen->policies, id);
}

/* ---- writing a client (Tyk's SetClient) ---------------------------------------------------- */

static void store_client(gw_req_t *req, octx_t *c, tk_redis_cb cb)
{
    char *json = gw_oauth_client_dumps(&c->client);
    const char *argv[8] = {"EVAL",
                           gw_oauth_lua_set_client,
                           "0",
                           c->prefix,
                           tk_arena_printf(req->arena, GW_OAUTH_CLIENT_PREFIX "%s", c->client.id),
                           tk_arena_strdup(req->arena, json ? json : "{}"),
                           c->org,
                           c->client.id};
    free(json);
    o_send(req, c, cb, 8, argv);
}

static void reply_client(gw_req_t *req, octx_t *c)
{
    json_t *o = gw_oauth_client_reply(&c->client);
    ctx_free(c);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static void create_next(gw_req_t *req, octx_t *c);

static void on_created(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (reply)
            tk_log_error("oauth: storing client failed: %s", reply->str);
        fail(req, c, 500, "Failure in storing client data.");
        return;
    }
    c->target_i++;
    create_next(req, c);
}

static void create_next(gw_req_t *req, octx_t *c)
{
    if (c->target_i >= c->ntargets) {
        reply_client(req, c);
        return;
    }
    free(c->prefix);
    free(c->org);
    c->prefix = gw_oauth_key(c->targets[c->target_i], "");
    c->org = tk_xstrdup(c->target_orgs[c->target_i]);
    store_client(req, c, on_created);
}

static void add_target(octx_t *c, const gw_api_t *api)
{
    c->targets = realloc(c->targets, (c->ntargets + 1) * sizeof(*c->targets));
    c->target_orgs = realloc(c->target_orgs, (c->ntargets + 1) * sizeof(*c->target_orgs));
    if (!c->targets || !c->target_orgs)
        abort();
    c->targets[c->ntargets] = tk_xstrdup(api->api_id);
    c->target_orgs[c->ntargets] = tk_xstrdup(api->org_id ? api->org_id : "");
    c->ntargets++;
}

/*
 * POST /tyk/oauth/clients/create. With api_id the client goes to that API; without, to every
 * API of its policy's access rights that uses OAuth2 (or JWT, as in Tyk). Unlike Tyk, every
 * target is checked before anything is written, so a refused request leaves nothing behind.
 */
static void oauth_create(gw_req_t *req)
{
    octx_t *c = tk_xcalloc(1, sizeof(*c));
    c->op = OP_CREATE;
    char *api_id = NULL;
    if (!decode_request(req, &c->client, &api_id)) {
        fail(req, c, 500, UNMARSHAL);
        return;
    }
    if (!*c->client.id) {
        char hex[33];
        tk_uuid_hex(hex);
        free(c->client.id);
        c->client.id = tk_xstrdup(hex);
    }
    if (!*c->client.secret) {
        free(c->client.secret);
        c->client.secret = gw_oauth_secret_new();
    }
    const gw_gen_t *g = req->gref->gen;
    if (*api_id) {
        gw_api_t *api = gw_gen_find_api(g, api_id);
        if (!api) {
            fail(req, c, 400, API_MISSING);
            return;
        }
        if (!api_flag(api, "use_oauth2")) {
            fail(req, c, 400, NOT_OAUTH);
            return;
        }
        add_target(c, api);
    } else {
        const gw_policy_t *pol = find_policy(req, c->client.policy_id);
        if (!pol) {
            fail(req, c, 400, POLICY_MISSING);
            return;
        }
        for (size_t i = 0; i < pol->n_access; i++) {
            const char *id = pol->access[i].key ? pol->access[i].key : pol->access[i].api_id;
            gw_api_t *api = id ? gw_gen_find_api(g, id) : NULL;
            if (!api) {
                fail(req, c, 400, API_MISSING);
                return;
            }
            if (api_flag(api, "use_oauth2") || api_flag(api, "enable_jwt"))
                add_target(c, api);
        }
        if (c->ntargets == 0) {
            fail(req, c, 400, NOT_OAUTH);
            return;
        }
    }
    create_next(req, c);
}

/* ---- listing ------------------------------------------------------------------------------- */

static void on_listed(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        /* Tyk answers a failed listing with 404 and a null body. */
        ctx_free(c);
        gw_respond_json(req, 404, "null");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < reply->elements; i++) {
        redisReply *e = reply->element[i];
        gw_oauth_client_t cl;
        if (e->type != REDIS_REPLY_STRING || e->len == 0 ||
            !gw_oauth_client_loads(e->str, e->len, &cl))
            continue;
        json_array_append_new(arr, gw_oauth_client_reply(&cl));
        gw_oauth_client_free(&cl);
    }
    ctx_free(c);
    gw_ctl_json(req, 200, arr);
    json_decref(arr);
}

static void oauth_list(gw_req_t *req, const char *api_id)
{
    gw_api_t *api = gw_gen_find_api(req->gref->gen, api_id);
    if (!api) {
        gw_respond_json(req, 404, "null"); /* Tyk's getOauthClients: a nil list */
        return;
    }
    if (!api_flag(api, "use_oauth2")) {
        gw_respond_json(req, 200, "[]");
        return;
    }
    octx_t *c = tk_xcalloc(1, sizeof(*c));
    c->op = OP_LIST;
    set_api(c, api);
    const char *argv[5] = {"EVAL", gw_oauth_lua_list_clients, "0", c->prefix, c->org};
    o_send(req, c, on_listed, 5, argv);
}

/* ---- one client: get, update, rotate -------------------------------------------------------- */

static void on_rewritten(tk_redis_t *r, redisReply *reply, void *arg);

static void on_loaded(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        fail(req, c, 503, "Redis connection not available");
        return;
    }
    if (reply->type != REDIS_REPLY_STRING ||
        !gw_oauth_client_loads(reply->str, reply->len, &c->old)) {
        fail(req, c, 404, NOT_FOUND);
        return;
    }
    if (c->op == OP_GET) {
        json_t *o = gw_oauth_client_reply(&c->old);
        ctx_free(c);
        gw_ctl_json(req, 200, o);
        json_decref(o);
        return;
    }
    /* Update keeps id and secret and replaces the rest (even with empty values, as Tyk);
     * rotate keeps everything but the secret. */
    gw_oauth_client_t *n = &c->client;
    n->id = tk_xstrdup(c->old.id);
    if (c->op == OP_ROTATE) {
        n->secret = gw_oauth_secret_new();
        n->redirect_uri = tk_xstrdup(c->old.redirect_uri);
        n->policy_id = tk_xstrdup(c->old.policy_id);
        n->description = tk_xstrdup(c->old.description);
        n->meta_data = c->old.meta_data ? json_incref(c->old.meta_data) : NULL;
    } else {
        n->secret = tk_xstrdup(c->old.secret);
        n->redirect_uri = tk_xstrdup(c->incoming.redirect_uri);
        n->policy_id = tk_xstrdup(c->incoming.policy_id);
        n->description = tk_xstrdup(c->incoming.description);
        n->meta_data = c->incoming.meta_data ? json_incref(c->incoming.meta_data) : NULL;
    }
    store_client(req, c, on_rewritten);
}

static void on_tokens_dropped(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        tk_log_warn("oauth: could not remove tokens of client %s: %s", c->client.id, reply->str);
    reply_client(req, c);
}

static void on_rewritten(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        fail(req, c, 500, "Failure in storing client data");
        return;
    }
    /* Tyk's invalidateTokens: a client moved to another policy loses its tokens. */
    if (*c->old.policy_id && strcmp(c->old.policy_id, c->client.policy_id) != 0) {
        const char *argv[7] = {"EVAL",
                               gw_oauth_lua_drop_tokens,
                               "0",
                               c->prefix,
                               c->client.id,
                               tk_arena_printf(req->arena, "%lld", (long long)time(NULL)),
                               c->hash_keys ? "1" : "0"};
        o_send(req, c, on_tokens_dropped, 7, argv);
        return;
    }
    reply_client(req, c);
}

static void load_client(gw_req_t *req, octx_t *c, const gw_api_t *api)
{
    set_api(c, api);
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, "%s" GW_OAUTH_CLIENT_PREFIX "%s",
                                                  c->prefix, c->client_id)};
    o_send(req, c, on_loaded, 2, argv);
}

static octx_t *new_ctx(gw_req_t *req, enum op op, const char *client_id)
{
    octx_t *c = tk_xcalloc(1, sizeof(*c));
    c->op = op;
    c->client_id = tk_xstrdup(client_id);
    c->hash_keys = req->conn->w->srv->conf->hash_keys;
    return c;
}

static void oauth_get(gw_req_t *req, const char *api_id, const char *client_id)
{
    gw_api_t *api = gw_gen_find_api(req->gref->gen, api_id);
    if (!api) {
        gw_ctl_error(req, 404, NOT_FOUND);
        return;
    }
    load_client(req, new_ctx(req, OP_GET, client_id), api);
}

static void oauth_update(gw_req_t *req, const char *api_id, const char *client_id)
{
    octx_t *c = new_ctx(req, OP_UPDATE, client_id);
    if (!decode_request(req, &c->incoming, NULL)) {
        fail(req, c, 500, UNMARSHAL);
        return;
    }
    gw_api_t *api = gw_gen_find_api(req->gref->gen, api_id);
    if (!api) {
        fail(req, c, 404, API_MISSING);
        return;
    }
    if (*c->incoming.policy_id) {
        const gw_policy_t *pol = find_policy(req, c->incoming.policy_id);
        if (!pol) {
            fail(req, c, 404, POLICY_MISSING);
            return;
        }
        bool covers = false;
        for (size_t i = 0; i < pol->n_access && !covers; i++) {
            const char *id = pol->access[i].key ? pol->access[i].key : pol->access[i].api_id;
            covers = id && strcmp(id, api_id) == 0;
        }
        if (!covers) {
            fail(req, c, 400,
                 "Policy access rights doesn't contain API this OAuth client belongs to");
            return;
        }
    }
    load_client(req, c, api);
}

static void oauth_rotate(gw_req_t *req, const char *api_id, const char *client_id)
{
    gw_api_t *api = gw_gen_find_api(req->gref->gen, api_id);
    if (!api) {
        gw_ctl_error(req, 404, API_MISSING);
        return;
    }
    load_client(req, new_ctx(req, OP_ROTATE, client_id), api);
}

/* ---- delete --------------------------------------------------------------------------------- */

static void on_deleted(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        fail(req, c, 500, "Delete failed");
        return;
    }
    json_t *o =
        json_pack("{s:s,s:s,s:s}", "key", c->client_id, "status", "ok", "action", "deleted");
    ctx_free(c);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

/* Tyk deletes without looking first: an unknown client on an OAuth API is still "deleted". */
static void oauth_delete(gw_req_t *req, const char *api_id, const char *client_id)
{
    gw_api_t *api = gw_gen_find_api(req->gref->gen, api_id);
    if (!api || !api_flag(api, "use_oauth2")) {
        gw_ctl_error(req, 404, NOT_FOUND);
        return;
    }
    octx_t *c = new_ctx(req, OP_DELETE, client_id);
    set_api(c, api);
    const char *argv[6] = {"EVAL",
                           gw_oauth_lua_delete_client,
                           "0",
                           c->prefix,
                           tk_arena_printf(req->arena, GW_OAUTH_CLIENT_PREFIX "%s", client_id),
                           c->org};
    o_send(req, c, on_deleted, 6, argv);
}

/* ---- a client's live tokens ------------------------------------------------------------------ */

#define TOKENS_PAGE 100

typedef struct tokctx {
    gw_wait_t *t;
    long page; /* 0: not paginated */
} tokctx_t;

static void tokctx_free(void *c)
{
    free(c);
}

/* [{"code":<hashed token>,"expires":<unix>}], or with ?page Tyk's paginated object. */
static void on_tokens(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    tokctx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    long page = c->page;
    free(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2) {
        gw_ctl_error(req, 500, "Get client tokens failed");
        return;
    }
    size_t n = reply->elements / 2, from = 0, to = n;
    if (page) {
        from = (size_t)(page - 1) * TOKENS_PAGE;
        if (from > n)
            from = n;
        to = from + TOKENS_PAGE < n ? from + TOKENS_PAGE : n;
    }
    json_t *arr = json_array();
    for (size_t i = from; i < to; i++) {
        redisReply *m = reply->element[2 * i], *sc = reply->element[2 * i + 1];
        if (m->type != REDIS_REPLY_STRING || sc->type != REDIS_REPLY_STRING)
            continue;
        json_array_append_new(arr, json_pack("{s:s,s:I}", "code", m->str, "expires",
                                             (json_int_t)strtod(sc->str, NULL)));
    }
    json_t *out = arr;
    if (page) {
        out = json_pack("{s:{s:i,s:i,s:i},s:o}", "Pagination", "page_num", (int)page, "page_total",
                        (int)((n + TOKENS_PAGE - 1) / TOKENS_PAGE), "page_size", TOKENS_PAGE,
                        "Tokens", arr);
    }
    gw_ctl_json(req, 200, out);
    json_decref(out);
}

static void oauth_tokens(gw_req_t *req, const char *api_id, const char *client_id)
{
    gw_api_t *api = gw_gen_find_api(req->gref->gen, api_id);
    if (!api) {
        gw_ctl_error(req, 404, NOT_FOUND);
        return;
    }
    tokctx_t *c = tk_xcalloc(1, sizeof(*c));
    const char *p = gw_req_query(req, "page");
    if (p && *p) {
        char *end;
        long v = strtol(p, &end, 10);
        c->page = *end || v <= 0 ? 1 : v; /* Tyk: unparsable or < 1 is page 1 */
    }
    /* Live tokens only; with a retain period the client's lapsed entries go (Tyk's
     * GetClientTokens). */
    char *prefix = gw_oauth_key(api->api_id, "oauth-client-tokens.");
    const char *argv[6] = {
        "EVAL",
        gw_oauth_lua_live_tokens,
        "0",
        tk_arena_printf(req->arena, "%s%s", prefix, client_id),
        tk_arena_printf(req->arena, "%lld", (long long)time(NULL)),
        tk_arena_printf(req->arena, "%lld",
                        (long long)req->conn->w->srv->conf->oauth_token_expired_retain_period)};
    free(prefix);
    gw_ctl_redis_send(req, &c->t, c, tokctx_free, on_tokens, 6, argv);
}

/* ---- routing -------------------------------------------------------------------------------- */

static void not_supported(gw_req_t *req)
{
    gw_ctl_error(req, 405, "Method not supported");
}

void gw_control_oauth(gw_req_t *req, const char *rest)
{
    if (strncmp(rest, "/refresh/", 9) == 0 && rest[9] && !strchr(rest + 9, '/')) {
        gw_control_oauth_refresh(req, rest + 9);
        return;
    }
    if (strcmp(rest, "/tokens") == 0) {
        gw_control_oauth_tokens(req);
        return;
    }
    if (strncmp(rest, "/clients/apis/", 14) == 0 && rest[14] && !strchr(rest + 14, '/') &&
        gw_ctl_method(req, "GET")) {
        gw_control_oauth_apps(req, rest + 14);
        return;
    }
    if (strncmp(rest, "/clients/", 9) != 0) {
        gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
        return;
    }
    const char *p = rest + 9;
    if (strcmp(p, "create") == 0) {
        if (gw_ctl_method(req, "POST"))
            oauth_create(req);
        else
            not_supported(req);
        return;
    }
    /* {apiID}[/{clientID}[/rotate]] */
    const char *s1 = strchr(p, '/');
    char *api_id = tk_arena_strndup(req->arena, p, s1 ? (size_t)(s1 - p) : strlen(p));
    if (!api_id || !*api_id) {
        gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
        return;
    }
    if (!s1) {
        if (gw_ctl_method(req, "GET"))
            oauth_list(req, api_id);
        else if (gw_ctl_method(req, "DELETE"))
            oauth_delete(req, api_id, "");
        else
            not_supported(req);
        return;
    }
    const char *cid = s1 + 1;
    const char *s2 = strchr(cid, '/');
    char *client_id = tk_arena_strndup(req->arena, cid, s2 ? (size_t)(s2 - cid) : strlen(cid));
    if (!client_id) {
        gw_req_abort(req);
        return;
    }
    if (s2 && strcmp(s2, "/tokens") == 0) {
        if (gw_ctl_method(req, "GET"))
            oauth_tokens(req, api_id, client_id);
        else
            not_supported(req);
        return;
    }
    if (s2) {
        if (strcmp(s2, "/rotate") != 0) {
            gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
            return;
        }
        if (gw_ctl_method(req, "PUT"))
            oauth_rotate(req, api_id, client_id);
        else
            not_supported(req);
        return;
    }
    if (gw_ctl_method(req, "GET"))
        oauth_get(req, api_id, client_id);
    else if (gw_ctl_method(req, "PUT"))
        oauth_update(req, api_id, client_id);
    else if (gw_ctl_method(req, "DELETE"))
        oauth_delete(req, api_id, client_id);
    else
        not_supported(req);
}
