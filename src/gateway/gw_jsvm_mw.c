/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tyk's DynamicMiddleware for the JS driver: the request is handed to
 * <name>.DoProcessRequest(request, session, config) as Tyk's MiniRequestObject, and what the
 * script returns is applied — headers, body, URL and query changes, session meta_data, a direct
 * or error answer (ReturnOverrides), or for auth_check the session the request runs under.
 * The script runs on a JS thread (srv->jsvm_pool): the worker copies what the script sees into a
 * job, waits (TK_AGAIN, holding a ticket), and applies the result when the job comes back.
 * Used by mw/mw_js_{pre,auth,post_key_auth,post}.c and mw/mw_virtual_endpoint.c.
 */
#include "gw_jsvm_mw.h"

#include "gw_mw_common.h"
#include "gw_policy.h"
#include "gw_req_body.h"
#include "gw_req_hdrs.h"
#include "tk_base64.h"
#include "tk_hash.h"
#include "tk_log.h"
#include "tk_url.h"
#include "gw_pipeline.h"
#include "gw_jsvm_pool.h"
#include "tk_redis.h"

#include <duktape.h>
#include <pthread.h>
#include <string.h>

#define JS_FAILED "Internal Server Error"

struct jsmw {
    gw_jsvm_t *vm; /* NULL when enable_jsvm is off: every request gets Tyk's 500 */
    enum gw_jsmw_kind kind;
    char **names;
    bool *use_session;
    size_t n;
};

static json_t *cm_of(const gw_api_t *api)
{
    return json_object_get(api->def, "custom_middleware");
}

static const char *const list_key[] = {"pre", "auth_check", "post_key_auth", "post"};

bool gw_jsmw_enabled(const gw_api_t *api, enum gw_jsmw_kind kind)
{
    if (!gw_jsvm_driver_is_js(api))
        return false;
    json_t *cm = cm_of(api);
    if (kind == GW_JSMW_AUTH) {
        json_t *d = api->def;
        json_t *ac = json_object_get(cm, "auth_check");
        const char *name = json_string_value(json_object_get(ac, "name"));
        return !api->use_keyless && name && *name &&
               !json_is_true(json_object_get(ac, "disabled")) &&
               (json_is_true(json_object_get(d, "custom_plugin_auth_enabled")) ||
                json_is_true(json_object_get(d, "enable_coprocess_auth")) ||
                json_is_true(json_object_get(d, "use_go_plugin_auth")));
    }
    if (kind == GW_JSMW_POST_KEY_AUTH && api->use_keyless)
        return false;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cm, list_key[kind]), i, m)
    {
        if (!json_is_true(json_object_get(m, "disabled")))
            return true;
    }
    return false;
}

int gw_jsmw_init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs,
                 enum gw_jsmw_kind kind)
{
    struct jsmw *st = tk_xcalloc(1, sizeof(*st));
    st->kind = kind;
    mw->state = st;
    json_t *cm = cm_of(api);
    if (kind == GW_JSMW_AUTH) {
        st->names = tk_xcalloc(1, sizeof(char *));
        st->use_session = tk_xcalloc(1, sizeof(bool));
        st->names[0] = tk_xstrdup(
            json_string_value(json_object_get(json_object_get(cm, "auth_check"), "name")));
        st->n = 1;
    } else {
        json_t *arr = json_object_get(cm, list_key[kind]);
        st->names = tk_xcalloc(json_array_size(arr) + 1, sizeof(char *));
        st->use_session = tk_xcalloc(json_array_size(arr) + 1, sizeof(bool));
        size_t i;
        json_t *m;
        json_array_foreach(arr, i, m)
        {
            if (json_is_true(json_object_get(m, "disabled")))
                continue;
            const char *name = json_string_value(json_object_get(m, "name"));
            if (!name || !*name) {
                tk_conf_errors_add(errs, "%s: API %s: custom_middleware.%s[%zu].name is empty",
                                   api->file, api->api_id, list_key[kind], i);
                gw_jsmw_dispose(mw); /* a failed init is not disposed by the chain */
                return TK_ERROR;
            }
            st->names[st->n] = tk_xstrdup(name);
            /* post_key_auth always sees the session; pre never does (Tyk). */
            st->use_session[st->n] =
                kind == GW_JSMW_POST_KEY_AUTH ||
                (kind == GW_JSMW_POST && json_is_true(json_object_get(m, "require_session")));
            st->n++;
        }
    }
    if (!conf->enable_jsvm) {
        tk_log_error("%s: API %s: custom_middleware needs enable_jsvm; its requests will fail",
                     api->file, api->api_id);
        return TK_OK;
    }
    st->vm = gw_jsvm_acquire(api, conf, errs);
    if (!st->vm) {
        gw_jsmw_dispose(mw);
        return TK_ERROR;
    }
    return TK_OK;
}

void gw_jsmw_dispose(gw_mw_t *mw)
{
    struct jsmw *st = mw->state;
    if (!st)
        return;
    gw_jsvm_release(st->vm);
    for (size_t i = 0; i < st->n; i++)
        free(st->names[i]);
    free(st->names);
    free(st->use_session);
    free(st);
    mw->state = NULL;
}

/* ---- building the request object ------------------------------------------------------ */

/* Go's url.ParseQuery into {k: [v...]} (added to @into). */
static void parse_query(tk_arena_t *a, const char *q, size_t len, json_t *into)
{
    const char *p = q, *end = q + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if (e > p) {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            const char *ke = eq ? eq : e;
            char *k = tk_url_unescape(a, p, (size_t)(ke - p), true, false);
            char *v = eq ? tk_url_unescape(a, eq + 1, (size_t)(e - eq - 1), true, false) : "";
            json_t *arr = json_object_get(into, k);
            if (!arr) {
                arr = json_array();
                json_object_set_new(into, k, arr);
            }
            json_array_append_new(arr, json_string_nocheck(v));
        }
        p = e + 1;
    }
}

static json_t *headers_json(gw_req_t *req)
{
    json_t *h = json_object();
    for (uint32_t i = 0; i < req->head->nhdrs; i++) {
        const tk_http_hdr_t *x = &req->head->hdrs[i];
        char *name = gw_canonical_header(req->arena, x->name, x->name_len);
        json_t *arr = json_object_get(h, name);
        if (!arr) {
            arr = json_array();
            json_object_set_new(h, name, arr);
        }
        json_array_append_new(arr, json_stringn_nocheck(x->value, x->value_len));
    }
    return h;
}

static const char *req_url(gw_req_t *req)
{
    return req->query
               ? tk_arena_printf(req->arena, "%.*s?%s", (int)req->path_len, req->path, req->query)
               : tk_arena_printf(req->arena, "%.*s", (int)req->path_len, req->path);
}

static const char *req_scheme(gw_req_t *req)
{
    return tk_stream_ssl(req->conn->st) ? "https" : "http";
}

json_t *gw_jsmw_params(gw_req_t *req, bool with_form_body)
{
    json_t *p = json_object();
    if (req->query)
        parse_query(req->arena, req->query, strlen(req->query), p);
    const tk_http_hdr_t *ct = gw_req_header(req, "Content-Type");
    if (with_form_body && req->body && ct && ct->value_len >= 33 &&
        strncasecmp(ct->value, "application/x-www-form-urlencoded", 33) == 0) {
        size_t n = evbuffer_get_length(req->body);
        parse_query(req->arena, (const char *)evbuffer_pullup(req->body, -1), n, p);
    }
    return p;
}

json_t *gw_jsmw_headers(gw_req_t *req)
{
    return headers_json(req);
}

const char *gw_jsmw_url(gw_req_t *req)
{
    return req_url(req);
}

const char *gw_jsmw_scheme(gw_req_t *req)
{
    return req_scheme(req);
}

char *gw_jsmw_session_json(gw_req_t *req, bool use_session)
{
    if (use_session && req->session && req->session->s)
        return gw_session_dumps(req->session->s);
    gw_session_t empty;
    memset(&empty, 0, sizeof(empty));
    return gw_session_dumps(&empty);
}

/* The request object is built directly on the duktape stack (no JSON round trip). */
static void push_str_array_put(duk_context *ctx, duk_idx_t obj, const char *key, const char *v,
                               size_t n)
{
    if (!duk_get_prop_string(ctx, obj, key)) {
        duk_pop(ctx);
        duk_push_array(ctx);
        duk_dup_top(ctx);
        duk_put_prop_string(ctx, obj, key);
    }
    duk_push_lstring(ctx, v, n);
    duk_put_prop_index(ctx, -2, (duk_uarridx_t)duk_get_length(ctx, -2));
    duk_pop(ctx);
}

/* One header of the request, copied for the JS thread. */
struct jhdr {
    const char *name; /* canonical */
    const char *value;
    size_t value_len;
};

/* A call of one middleware object: what the script sees (copied from the request, so the JS
 * thread never touches it) and what it returned, all in the job's own arena. */
struct mwcall {
    gw_wait_t *wait;
    struct jsmw *st; /* the worker's side only, and only while the request lives */
    gw_jsvm_t *vm;   /* held (gw_jsvm_job_hold) */
    gw_server_t *srv;
    tk_arena_t *a;
    size_t idx; /* which of st->names */
    char *name;
    bool pre, use_session;
    /* the request */
    struct jhdr *hdrs;
    size_t nhdrs;
    const char *body_in, *url_in, *query, *method, *request_uri, *scheme, *session_in;
    size_t body_in_len, method_len, request_uri_len;
    /* the outcome */
    enum gw_jsvm_rc rc;
    char *err;
    bool ok;
    const char *body; /* NULL: no Body */
    size_t blen;
    bool ignore_body;
    const char *url, *set_headers, *delete_headers, *add_params, *delete_params, *ext_params;
    const char *overrides, *session_meta, *session, *auth_value;
};

static void push_headers(duk_context *ctx, struct mwcall *c)
{
    duk_idx_t o = duk_push_object(ctx);
    for (size_t i = 0; i < c->nhdrs; i++)
        push_str_array_put(ctx, o, c->hdrs[i].name, c->hdrs[i].value, c->hdrs[i].value_len);
}

static void push_params(duk_context *ctx, struct mwcall *c)
{
    duk_idx_t o = duk_push_object(ctx);
    const char *p = c->query, *end = p ? p + strlen(p) : NULL;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if (e > p) {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            const char *ke = eq ? eq : e;
            char *k = tk_url_unescape(c->a, p, (size_t)(ke - p), true, false);
            char *v = eq ? tk_url_unescape(c->a, eq + 1, (size_t)(e - eq - 1), true, false) : "";
            push_str_array_put(ctx, o, k, v, strlen(v));
        }
        p = e + 1;
    }
}

static pthread_once_t empty_once = PTHREAD_ONCE_INIT;
static char *empty_session;

static void make_empty_session(void)
{
    gw_session_t empty;
    memset(&empty, 0, sizeof(empty));
    empty_session = gw_session_dumps(&empty);
}

static void push_args(duk_context *ctx, void *arg)
{
    struct mwcall *c = arg;
    duk_idx_t o = duk_push_object(ctx);
    push_headers(ctx, c);
    duk_put_prop_string(ctx, o, "Headers");
    duk_push_object(ctx);
    duk_put_prop_string(ctx, o, "SetHeaders");
    duk_push_array(ctx);
    duk_put_prop_string(ctx, o, "DeleteHeaders");
    duk_push_lstring(ctx, c->body_in, c->body_in_len);
    duk_put_prop_string(ctx, o, "Body");
    duk_push_string(ctx, c->url_in);
    duk_put_prop_string(ctx, o, "URL");
    push_params(ctx, c);
    duk_put_prop_string(ctx, o, "Params");
    duk_push_object(ctx);
    duk_put_prop_string(ctx, o, "AddParams");
    duk_push_object(ctx);
    duk_put_prop_string(ctx, o, "ExtendedParams");
    duk_push_array(ctx);
    duk_put_prop_string(ctx, o, "DeleteParams");
    duk_idx_t ro = duk_push_object(ctx);
    duk_push_int(ctx, 0);
    duk_put_prop_string(ctx, ro, "ResponseCode");
    duk_push_string(ctx, "");
    duk_put_prop_string(ctx, ro, "ResponseError");
    duk_push_string(ctx, "");
    duk_put_prop_string(ctx, ro, "ResponseBody");
    duk_push_object(ctx);
    duk_put_prop_string(ctx, ro, "ResponseHeaders");
    duk_push_false(ctx);
    duk_put_prop_string(ctx, ro, "OverrideError");
    duk_put_prop_string(ctx, o, "ReturnOverrides");
    duk_push_false(ctx);
    duk_put_prop_string(ctx, o, "IgnoreBody");
    duk_push_lstring(ctx, c->method, c->method_len);
    duk_put_prop_string(ctx, o, "Method");
    duk_push_lstring(ctx, c->request_uri, c->request_uri_len);
    duk_put_prop_string(ctx, o, "RequestURI");
    duk_push_string(ctx, c->scheme);
    duk_put_prop_string(ctx, o, "Scheme");
    /* session: the empty one is shared text; a real one was copied to the job's arena */
    const char *sess = c->session_in;
    if (!sess) {
        pthread_once(&empty_once, make_empty_session);
        sess = empty_session ? empty_session : "{}";
    }
    duk_push_string(ctx, sess);
    duk_json_decode(ctx, -1);
    duk_push_string(ctx, gw_jsvm_spec_json(c->vm));
    duk_json_decode(ctx, -1);
}

/* The JSON text of @obj.@key in the arena, or NULL when it is undefined. */
static const char *prop_json(duk_context *ctx, duk_idx_t obj, const char *key, tk_arena_t *a)
{
    const char *out = NULL;
    if (duk_get_prop_string(ctx, obj, key) && !duk_is_undefined(ctx, -1)) {
        const char *j = duk_json_encode(ctx, -1);
        out = j ? tk_arena_strdup(a, j) : NULL;
    }
    duk_pop(ctx);
    return out;
}

static int read_result(duk_context *ctx, void *arg, char **err)
{
    struct mwcall *c = arg;
    tk_arena_t *a = c->a;
    if (!duk_is_object(ctx, -1)) {
        *err = tk_xstrdup("middleware did not return ReturnData(...)");
        return TK_ERROR;
    }
    duk_idx_t ret = duk_get_top_index(ctx);
    c->session_meta = prop_json(ctx, ret, "SessionMeta", a);
    c->session = prop_json(ctx, ret, "Session", a);
    if (duk_get_prop_string(ctx, ret, "AuthValue") && duk_is_string(ctx, -1))
        c->auth_value = tk_arena_strdup(a, duk_get_string(ctx, -1));
    duk_pop(ctx);
    if (duk_get_prop_string(ctx, ret, "Request") && duk_is_object(ctx, -1)) {
        duk_idx_t r = duk_get_top_index(ctx);
        if (duk_get_prop_string(ctx, r, "Body") && !duk_is_undefined(ctx, -1)) {
            duk_size_t n = 0;
            const char *b = duk_safe_to_lstring(ctx, -1, &n);
            char *copy = tk_arena_alloc(a, n + 1);
            memcpy(copy, b, n);
            copy[n] = '\0';
            c->body = copy;
            c->blen = n;
        }
        duk_pop(ctx);
        duk_get_prop_string(ctx, r, "IgnoreBody");
        c->ignore_body = duk_to_boolean(ctx, -1);
        duk_pop(ctx);
        if (duk_get_prop_string(ctx, r, "URL") && duk_is_string(ctx, -1))
            c->url = tk_arena_strdup(a, duk_get_string(ctx, -1));
        duk_pop(ctx);
        c->set_headers = prop_json(ctx, r, "SetHeaders", a);
        c->delete_headers = prop_json(ctx, r, "DeleteHeaders", a);
        c->add_params = prop_json(ctx, r, "AddParams", a);
        c->delete_params = prop_json(ctx, r, "DeleteParams", a);
        c->ext_params = prop_json(ctx, r, "ExtendedParams", a);
        c->overrides = prop_json(ctx, r, "ReturnOverrides", a);
    }
    duk_pop(ctx);
    c->ok = true;
    return TK_OK;
}

/* ---- applying the result ------------------------------------------------------------------ */

static void noop_reply(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    TK_UNUSED(reply);
    TK_UNUSED(arg);
}

void gw_jsmw_save_session(gw_req_t *req)
{
    if (!req->session || !req->session->s || !req->session_hash)
        return;
    char *json = gw_session_dumps(req->session->s);
    if (!json)
        return;
    const char *argv[4] = {"SET", tk_arena_printf(req->arena, "apikey-%s", req->session_hash), json,
                           "KEEPTTL"};
    if (tk_redis_cmd_argv(req->conn->w->redis, noop_reply, NULL, 4, argv, NULL) != TK_OK)
        tk_log_error("jsvm: cannot save the session of %s", req->session_hash);
    free(json);
    gw_sessions_evict(req->conn->w->srv, req->session_hash);
}

bool gw_jsmw_update_meta(gw_req_t *req, json_t *meta)
{
    if (!req->session || !req->session->s)
        return false;
    gw_session_t *s = req->session->s;
    json_t *empty = json_object();
    bool same = json_equal(s->meta_data ? s->meta_data : empty, meta ? meta : empty);
    json_decref(empty);
    if (same)
        return false;
    json_decref(s->meta_data);
    s->meta_data = meta ? json_deep_copy(meta) : json_object();
    if (s->raw)
        json_object_set(s->raw, "meta_data", s->meta_data);
    gw_jsmw_save_session(req);
    return true;
}

/* "Name: value\r\n" lines of an object of strings (arena). */
const char *gw_jsmw_header_lines(gw_req_t *req, json_t *obj, bool server_tyk)
{
    const char *lines = server_tyk ? "Server: tyk\r\n" : "";
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        const char *s = json_string_value(v);
        if (s && !strchr(k, '\n') && !strchr(s, '\n'))
            lines = tk_arena_printf(req->arena, "%s%s: %s\r\n", lines, k, s);
    }
    return lines;
}

static int url_encode_into(tk_arena_t *a, const char *s, const char **out)
{
    size_t n = strlen(s);
    char *o = tk_arena_alloc(a, n * 3 + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            o[j++] = (char)c;
        else if (c == ' ')
            o[j++] = '+';
        else {
            o[j++] = '%';
            o[j++] = "0123456789ABCDEF"[c >> 4];
            o[j++] = "0123456789ABCDEF"[c & 15];
        }
    }
    o[j] = '\0';
    *out = o;
    return TK_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* DeleteParams, AddParams (set), ExtendedParams (add), then Go's sorted Encode(). */
static void apply_params(gw_req_t *req, json_t *r)
{
    json_t *del = json_object_get(r, "DeleteParams"), *add = json_object_get(r, "AddParams"),
           *ext = json_object_get(r, "ExtendedParams");
    if (!json_array_size(del) && !json_object_size(add) && !json_object_size(ext))
        return;
    json_t *q = gw_jsmw_params(req, false);
    size_t i;
    json_t *v;
    json_array_foreach(del, i, v)
    {
        if (json_is_string(v))
            json_object_del(q, json_string_value(v));
    }
    const char *k;
    json_object_foreach(add, k, v)
    {
        json_object_set_new(q, k, json_pack("[O]", v));
    }
    json_object_foreach(ext, k, v)
    {
        json_t *arr = json_object_get(q, k);
        if (!arr) {
            arr = json_array();
            json_object_set_new(q, k, arr);
        }
        json_array_extend(arr, v);
    }
    size_t n = json_object_size(q);
    const char **keys = tk_arena_alloc(req->arena, (n + 1) * sizeof(*keys));
    size_t nk = 0;
    json_object_foreach(q, k, v) keys[nk++] = tk_arena_strdup(req->arena, k);
    qsort(keys, nk, sizeof(*keys), cmp_str);
    const char *out = "";
    for (i = 0; i < nk; i++) {
        size_t j;
        json_t *val;
        json_array_foreach(json_object_get(q, keys[i]), j, val)
        {
            const char *ek, *ev;
            url_encode_into(req->arena, keys[i], &ek);
            url_encode_into(req->arena, json_string_value(val) ? json_string_value(val) : "", &ev);
            out = tk_arena_printf(req->arena, "%s%s%s=%s", out, *out ? "&" : "", ek, ev);
        }
    }
    req->query = *out ? out : NULL;
    json_decref(q);
}

static void apply_url(gw_req_t *req, const char *url)
{
    if (!url || strcmp(url, req_url(req)) == 0)
        return;
    const char *qm = strchr(url, '?');
    size_t plen = qm ? (size_t)(qm - url) : strlen(url);
    req->path = tk_arena_printf(req->arena, "%.*s", (int)plen, url);
    req->path_len = plen;
    req->query = qm ? tk_arena_strdup(req->arena, qm + 1) : NULL;
    req->ep_npaths = 0;
}

static void apply_body(gw_req_t *req, const struct mwcall *c)
{
    if (c->ignore_body)
        return;
    const char *body = c->body ? c->body : "";
    size_t n = c->body ? c->blen : 0;
    size_t old = evbuffer_get_length(req->body);
    if (old == n && (n == 0 || memcmp(evbuffer_pullup(req->body, -1), body, n) == 0))
        return;
    evbuffer_drain(req->body, old);
    if (n)
        evbuffer_add(req->body, body, n);
}

static json_t *parse(const char *text)
{
    return text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
}

/* The auth_check result: the session this request runs under, keyed by AuthValue. */
static int apply_auth(gw_req_t *req, json_t *ret)
{
    const char *auth = json_string_value(json_object_get(ret, "AuthValue"));
    json_t *sj = json_object_get(ret, "Session");
    gw_sref_t *ref = gw_sref_new();
    char *why = NULL;
    json_t *none = json_object();
    int prc = gw_session_from_json(json_is_object(sj) ? sj : none, ref->s, &why);
    json_decref(none);
    if (prc == TK_OK)
        prc = gw_policy_apply(ref->s, &req->gref->gen->policies, req->api->org_id, &why);
    if (prc != TK_OK) {
        tk_log_error("jsvm: auth plugin returned an unusable session: %s", why ? why : "");
        free(why);
        gw_sref_put(ref);
        req->err_status = 500;
        req->err_msg = JS_FAILED;
        return TK_ERROR;
    }
    char hashed[600];
    const char *token = auth ? auth : "";
    if (tk_hash_key(token, strlen(token), gw_req_conf(req)->hash_keys, hashed, sizeof(hashed)) !=
        TK_OK)
        hashed[0] = '\0';
    if (req->session)
        gw_sref_put(req->session);
    req->session = ref;
    req->token = tk_arena_strdup(req->arena, token);
    req->session_hash = tk_arena_strdup(req->arena, hashed);
    if (*token)
        gw_jsmw_save_session(req);
    return TK_OK;
}

/* ---- the job: built on the worker, run on a JS thread, applied on the worker ------------- */

static struct mwcall *job_new(struct jsmw *st, gw_req_t *req, size_t idx)
{
    struct mwcall *c = tk_xcalloc(1, sizeof(*c));
    tk_arena_t *a = c->a = tk_arena_new(4096, 0);
    c->st = st;
    c->vm = gw_jsvm_job_hold(st->vm);
    c->srv = req->conn->w->srv;
    c->idx = idx;
    c->name = tk_xstrdup(st->names[idx]);
    c->use_session = st->use_session[idx];
    c->pre = st->kind == GW_JSMW_PRE || st->kind == GW_JSMW_AUTH;
    c->nhdrs = req->head->nhdrs;
    c->hdrs = tk_arena_alloc(a, (c->nhdrs + 1) * sizeof(*c->hdrs));
    for (size_t i = 0; i < c->nhdrs; i++) {
        const tk_http_hdr_t *x = &req->head->hdrs[i];
        c->hdrs[i].name = gw_canonical_header(a, x->name, x->name_len);
        c->hdrs[i].value = tk_arena_strndup(a, x->value, x->value_len);
        c->hdrs[i].value_len = x->value_len;
    }
    size_t blen = req->body ? evbuffer_get_length(req->body) : 0;
    c->body_in =
        blen ? tk_arena_strndup(a, (const char *)evbuffer_pullup(req->body, -1), blen) : "";
    c->body_in_len = blen;
    c->url_in = tk_arena_strdup(a, req_url(req));
    c->query = req->query ? tk_arena_strdup(a, req->query) : NULL;
    c->method = tk_arena_strndup(a, req->head->method, req->head->method_len);
    c->method_len = req->head->method_len;
    c->request_uri = tk_arena_strndup(a, req->head->url, req->head->url_len);
    c->request_uri_len = req->head->url_len;
    c->scheme = req_scheme(req);
    if (!c->pre && c->use_session && req->session && req->session->s) {
        char *t = gw_session_dumps(req->session->s);
        c->session_in = t ? tk_arena_strdup(a, t) : NULL;
        free(t);
    }
    return c;
}

static void job_free(struct mwcall *c)
{
    gw_jsvm_job_drop(c->vm);
    tk_arena_free(c->a);
    free(c->name);
    free(c->err);
    free(c);
}

/* On a JS thread (or inline when there is no pool). */
static void job_work(void *arg)
{
    struct mwcall *c = arg;
    c->rc = gw_jsvm_invoke(c->vm, c->srv, c->name, "ProcessRequest", 3, push_args, read_result, c,
                           &c->err);
}

/* On the worker: applies the outcome of middleware c->idx; TK_OK continues with the next. */
static int finish(gw_req_t *req, struct mwcall *cp)
{
    const struct mwcall c = *cp; /* a shallow copy: the strings stay in the job's arena */
    struct jsmw *st = c.st;
    bool use_session = c.use_session;
    if (c.rc != GW_JSVM_OK || !c.ok) {
        tk_log_error("%s: API %s: JS middleware %s failed: %s", req->api->file, req->api->api_id,
                     c.name, c.err ? c.err : "no result");
        req->err_status = 500;
        req->err_msg = JS_FAILED;
        return TK_ERROR;
    }
    /* Assemble what apply_* and apply_auth read (small parts only: never the body). */
    json_t *r = json_object();
    json_t *ret = json_pack("{s:o}", "Request", r);
    json_object_set_new(r, "DeleteHeaders", parse(c.delete_headers));
    json_object_set_new(r, "SetHeaders", parse(c.set_headers));
    json_object_set_new(r, "AddParams", parse(c.add_params));
    json_object_set_new(r, "DeleteParams", parse(c.delete_params));
    json_object_set_new(r, "ExtendedParams", parse(c.ext_params));
    json_object_set_new(r, "ReturnOverrides", parse(c.overrides));
    if (c.session_meta)
        json_object_set_new(ret, "SessionMeta", parse(c.session_meta));
    if (c.session)
        json_object_set_new(ret, "Session", parse(c.session));
    if (c.auth_value)
        json_object_set_new(ret, "AuthValue", json_string(c.auth_value));
    apply_body(req, &c);
    apply_url(req, c.url);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "DeleteHeaders"), i, v)
    {
        if (json_is_string(v))
            gw_req_hdr_del(req, json_string_value(v));
    }
    const char *k;
    json_object_foreach(json_object_get(r, "SetHeaders"), k, v)
    {
        if (json_is_string(v))
            gw_req_hdr_set(req, tk_arena_strdup(req->arena, k),
                           tk_arena_strdup(req->arena, json_string_value(v)));
    }
    apply_params(req, r);
    if (!c.pre && use_session)
        gw_jsmw_update_meta(req, json_object_get(ret, "SessionMeta"));
    json_t *ro = json_object_get(r, "ReturnOverrides");
    json_int_t code = json_integer_value(json_object_get(ro, "ResponseCode"));
    if (!code && json_is_real(json_object_get(ro, "ResponseCode")))
        code = (json_int_t)json_real_value(json_object_get(ro, "ResponseCode"));
    const char *rerr = json_string_value(json_object_get(ro, "ResponseError"));
    const char *rbody = json_string_value(json_object_get(ro, "ResponseBody"));
    if (rerr && *rerr)
        rbody = rerr;
    if (!rbody)
        rbody = "";
    json_t *rh = json_object_get(ro, "ResponseHeaders");
    int res = TK_OK;
    if (code >= 400 && !json_is_true(json_object_get(ro, "OverrideError"))) {
        const char *lines = gw_jsmw_header_lines(req, rh, false);
        if (*lines)
            gw_req_add_resp_headers(req, lines);
        req->err_status = (int)code;
        req->err_msg = tk_arena_strdup(req->arena, rbody);
        res = TK_ERROR;
    } else if (code != 0) {
        gw_respond(req, (int)code, NULL, rbody, strlen(rbody), gw_jsmw_header_lines(req, rh, true));
        res = TK_DONE;
    } else if (st->kind == GW_JSMW_AUTH) {
        res = apply_auth(req, ret);
    }
    json_decref(ret);
    return res;
}

int gw_jsmw_submit(gw_req_t *req, gw_wait_t **wait, tk_offload_work_fn work,
                   tk_offload_done_fn done, void *arg)
{
    gw_jsvm_pool_t *pool = req->conn->w->srv->jsvm_pool;
    if (!pool)
        return TK_OK;
    *wait = gw_wait_begin(req);
    if (gw_jsvm_pool_submit(pool, req->conn->w->id, req->conn->w->base, work, done, arg) != TK_OK) {
        gw_wait_end(*wait);
        *wait = NULL;
        req->err_status = 503;
        req->err_msg = "Service temporarily unavailable.";
        return TK_ERROR;
    }
    return TK_AGAIN;
}

static void job_done(void *arg, int status);

/* Runs middlewares @idx.. of @st: TK_AGAIN while one is out on a JS thread. */
static int run_from(struct jsmw *st, gw_req_t *req, size_t idx)
{
    for (; idx < st->n; idx++) {
        struct mwcall *c = job_new(st, req, idx);
        int rc = gw_jsmw_submit(req, &c->wait, job_work, job_done, c);
        if (rc == TK_OK) { /* no pool (tools, tests): inline */
            job_work(c);
            rc = finish(req, c);
        } else if (rc == TK_AGAIN) {
            return TK_AGAIN;
        }
        job_free(c);
        if (rc != TK_OK)
            return rc;
    }
    return TK_OK;
}

static void job_done(void *arg, int status)
{
    struct mwcall *c = arg;
    if (status != TK_OK) {
        /* The pool or the worker's loop is gone: the request never resumes; only free. */
        job_free(c);
        return;
    }
    gw_req_t *req = gw_wait_end(c->wait);
    if (!req) { /* the client went away meanwhile */
        job_free(c);
        return;
    }
    int rc = finish(req, c);
    struct jsmw *st = c->st;
    size_t next = c->idx + 1;
    job_free(c);
    if (rc == TK_OK)
        rc = run_from(st, req, next);
    if (rc != TK_AGAIN)
        gw_pipeline_resume(req, rc);
}

int gw_jsmw_on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct jsmw *st = mw->state;
    if (!st->vm) {
        req->err_status = 500;
        req->err_msg = "Middleware error";
        return TK_ERROR;
    }
    int rc = gw_req_body_collect(req);
    if (rc != TK_OK)
        return rc;
    return run_from(st, req, 0);
}
