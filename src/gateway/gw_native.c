/* SPDX-License-Identifier: Apache-2.0 */
/* Native plugins: loading at API load, the tp_host functions, running hooks (gw_native.h). */
#include "gw_native.h"

#include "gw_mw_common.h"
#include "gw_policy.h"
#include "gw_gen.h"
#include "gw_req_body.h"
#include "gw_req_hdrs.h"
#include "gw_resp_filter.h"

#include "tk_hash.h"
#include "tk_log.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* ---- which hooks an API has --------------------------------------------------------------- */

static json_t *cm_of(const gw_api_t *api)
{
    return json_object_get(api->def, "custom_middleware");
}

static const char *driver_of(const gw_api_t *api)
{
    const char *d = json_string_value(json_object_get(cm_of(api), "driver"));
    return d ? d : "";
}

bool gw_native_driver(const gw_api_t *api)
{
    return strcmp(driver_of(api), "native") == 0;
}

static const char *list_name(int kind)
{
    switch (kind) {
    case TP_HOOK_PRE:
        return "pre";
    case TP_HOOK_POST:
        return "post";
    case TP_HOOK_POST_KEY_AUTH:
        return "post_key_auth";
    case TP_HOOK_RESPONSE:
        return "response";
    default:
        return "auth_check";
    }
}

static bool entry_on(json_t *e)
{
    const char *name = json_string_value(json_object_get(e, "name"));
    return json_is_object(e) && name && *name && !json_is_true(json_object_get(e, "disabled"));
}

static bool custom_auth_on(const gw_api_t *api)
{
    static const char *const flags[] = {"custom_plugin_auth_enabled", "enable_coprocess_auth",
                                        "use_go_plugin_auth"};
    for (size_t i = 0; i < TK_ARRAY_LEN(flags); i++)
        if (json_is_true(json_object_get(api->def, flags[i])))
            return true;
    return false;
}

/* The entries of @kind, as an array (the auth_check object alone for the auth hook). */
static size_t entries(const gw_api_t *api, int kind, json_t **out, size_t cap)
{
    json_t *cm = cm_of(api);
    size_t n = 0;
    if (kind == TP_HOOK_AUTH) {
        json_t *e = json_object_get(cm, "auth_check");
        if (entry_on(e) && !api->use_keyless && custom_auth_on(api) && cap)
            out[n++] = e;
        return n;
    }
    if (kind == TP_HOOK_POST_KEY_AUTH && api->use_keyless)
        return 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(cm, list_name(kind)), i, e) if (entry_on(e) && n < cap)
        out[n++] = e;
    return n;
}

bool gw_native_has(const gw_api_t *api, int kind)
{
    json_t *e[1];
    return gw_native_driver(api) && entries(api, kind, e, 1) > 0;
}

static bool goplugin_used(const gw_api_t *api)
{
    if (strcmp(driver_of(api), "goplugin") != 0)
        return false;
    json_t *e[1];
    for (int k = TP_HOOK_PRE; k <= TP_HOOK_RESPONSE; k++)
        if (entries(api, k, e, 1))
            return true;
    return false;
}

/* ---- loading ------------------------------------------------------------------------------- */

void gw_native_free(gw_native_set_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        if (set->h[i].dl)
            dlclose(set->h[i].dl);
        free(set->h[i].name);
    }
    free(set->h);
    free(set);
}

/* Opens @path and checks its ABI; NULL with the reason in @why. */
static void *open_plugin(const char *path, char *why, size_t cap)
{
    char buf[4096];
    /* a bare file name is relative to the working directory, not the library search path */
    snprintf(buf, sizeof(buf), "%s%s", strchr(path, '/') ? "" : "./", path);
    dlerror();
    void *dl = dlopen(buf, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(why, cap, "cannot load %s: %s", path, e ? e : "dlopen failed");
        return NULL;
    }
    uint32_t (*abi)(void) = NULL;
    *(void **)&abi = dlsym(dl, "turnpike_plugin_abi_version");
    if (!abi) {
        snprintf(why, cap,
                 "%s does not export turnpike_plugin_abi_version (not a Turnpike native plugin?)",
                 path);
        dlclose(dl);
        return NULL;
    }
    uint32_t v = abi();
    if (v != TURNPIKE_PLUGIN_ABI_VERSION) {
        snprintf(why, cap, "%s was built for plugin ABI version %u, this gateway has version %u",
                 path, v, TURNPIKE_PLUGIN_ABI_VERSION);
        dlclose(dl);
        return NULL;
    }
    return dl;
}

gw_native_set_t *gw_native_load(const gw_api_t *api, int kind, tk_conf_errors_t *errs)
{
    json_t *e[64];
    size_t n = entries(api, kind, e, TK_ARRAY_LEN(e));
    gw_native_set_t *set = tk_xcalloc(1, sizeof(*set));
    set->kind = kind;
    set->h = tk_xcalloc(n ? n : 1, sizeof(*set->h));
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(e[i], "name"));
        const char *path = json_string_value(json_object_get(e[i], "path"));
        char where[160], why[1024];
        if (kind == TP_HOOK_AUTH)
            snprintf(where, sizeof(where), "custom_middleware.auth_check");
        else
            snprintf(where, sizeof(where), "custom_middleware.%s[%zu]", list_name(kind), i);
        if (!path || !*path) {
            tk_conf_errors_add(errs, "%s: API %s: %s \"%s\": no plugin path", api->file,
                               api->api_id, where, name);
            gw_native_free(set);
            return NULL;
        }
        void *dl = open_plugin(path, why, sizeof(why));
        if (!dl) {
            tk_conf_errors_add(errs, "%s: API %s: %s \"%s\": %s", api->file, api->api_id, where,
                               name, why);
            gw_native_free(set);
            return NULL;
        }
        gw_native_hook_t *h = &set->h[set->n++];
        h->dl = dl;
        h->name = tk_xstrdup(name);
        *(void **)&h->fn = dlsym(dl, name);
        if (!h->fn) {
            tk_conf_errors_add(errs, "%s: API %s: %s: symbol \"%s\" not found in %s", api->file,
                               api->api_id, where, name, path);
            gw_native_free(set);
            return NULL;
        }
    }
    return set;
}

/* ---- the tp_host functions ------------------------------------------------------------------ */

typedef struct ctx {
    tp_req pub; /* first: the plugin's handle */
    gw_req_t *req;
    int kind;
    /* tp_respond */
    bool responded;
    int status;
    const char *hdrs;
    const char *body;
    size_t len;
    /* tp_error */
    int err_status;
    const char *err_msg;
    bool session_set;
    /* response hooks */
    int *resp_status;
    struct evbuffer *resp_hdrs;
} ctx_t;

#define CTX(r) ((ctx_t *)(void *)(r))
#define A(r) (CTX(r)->req->arena)

static bool is_request_hook(const ctx_t *c)
{
    return c->kind != TP_HOOK_RESPONSE;
}

static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static bool name_ok(const char *s)
{
    return s && *s && !has_crlf(s) && !strchr(s, ':');
}

static int h_kind(tp_req *r)
{
    return CTX(r)->kind;
}

static const char *h_api_id(tp_req *r)
{
    return CTX(r)->req->api->api_id;
}

static const char *h_config_data(tp_req *r)
{
    const gw_api_t *api = CTX(r)->req->api;
    json_t *cd = json_object_get(api->def, "config_data");
    if (!json_is_object(cd) || json_object_size(cd) == 0 ||
        json_is_true(json_object_get(api->def, "config_data_disabled")))
        return "{}";
    char *s = json_dumps(cd, JSON_COMPACT);
    const char *out = s ? tk_arena_strdup(A(r), s) : "{}";
    free(s);
    return out;
}

static const char *h_method(tp_req *r)
{
    const tk_http_head_t *h = CTX(r)->req->head;
    return tk_arena_strndup(A(r), h->method, h->method_len);
}

static const char *h_path(tp_req *r)
{
    const gw_req_t *req = CTX(r)->req;
    return tk_arena_strndup(A(r), req->path, req->path_len);
}

static const char *h_query(tp_req *r)
{
    const char *q = CTX(r)->req->query;
    return q ? q : "";
}

static const char *h_query_get(tp_req *r, const char *name)
{
    return name ? gw_req_query(CTX(r)->req, name) : NULL;
}

static const char *h_header_get(tp_req *r, const char *name)
{
    if (!name)
        return NULL;
    const tk_http_hdr_t *h = gw_req_header(CTX(r)->req, name);
    return h ? tk_arena_strndup(A(r), h->value, h->value_len) : NULL;
}

static int h_header_set(tp_req *r, const char *name, const char *value)
{
    if (!is_request_hook(CTX(r)) || !name_ok(name) || !value || has_crlf(value))
        return -1;
    gw_req_hdr_set(CTX(r)->req, name, value);
    return 0;
}

static int h_header_del(tp_req *r, const char *name)
{
    if (!is_request_hook(CTX(r)) || !name_ok(name))
        return -1;
    gw_req_hdr_del(CTX(r)->req, name);
    return 0;
}

static int h_body(tp_req *r, const char **data, size_t *len)
{
    gw_req_t *req = CTX(r)->req;
    if (!is_request_hook(CTX(r)) || !data || !len)
        return -1;
    *len = req->body ? evbuffer_get_length(req->body) : 0;
    *data = *len ? (const char *)evbuffer_pullup(req->body, -1) : "";
    return 0;
}

static int h_body_set(tp_req *r, const void *data, size_t len)
{
    gw_req_t *req = CTX(r)->req;
    if (!is_request_hook(CTX(r)) || !req->body || (len && !data))
        return -1;
    evbuffer_drain(req->body, evbuffer_get_length(req->body));
    if (len)
        evbuffer_add(req->body, data, len);
    return 0;
}

static const char *h_meta_get(tp_req *r, const char *key)
{
    gw_req_t *req = CTX(r)->req;
    if (!key || !req->session || !req->session->s)
        return NULL;
    const char *v = json_string_value(json_object_get(req->session->s->meta_data, key));
    return v ? tk_arena_strdup(A(r), v) : NULL;
}

static int h_meta_set(tp_req *r, const char *key, const char *value)
{
    gw_req_t *req = CTX(r)->req;
    if (!key || !value || !req->session || !req->session->s)
        return -1;
    if (req->session->refs > 1) {
        /* shared with the worker's session cache: this request gets its own copy */
        gw_sref_t *mine = gw_sref_new();
        gw_session_free(mine->s);
        gw_session_copy(mine->s, req->session->s);
        gw_sref_put(req->session);
        req->session = mine;
    }
    gw_session_t *s = req->session->s;
    if (!json_is_object(s->meta_data)) {
        json_decref(s->meta_data);
        s->meta_data = json_object();
    }
    return json_object_set_new(s->meta_data, key, json_string(value)) == 0 ? 0 : -1;
}

/* Header lines as given, normalised to "Name: value\r\n" (NULL when one is unusable). */
static char *norm_headers(tk_arena_t *a, const char *in)
{
    char *out = tk_arena_strdup(a, "");
    for (const char *p = in; p && *p;) {
        size_t l = strcspn(p, "\n");
        size_t e = l;
        while (e && (p[e - 1] == '\r'))
            e--;
        if (e) {
            const char *colon = memchr(p, ':', e);
            if (!colon || colon == p || memchr(p, '\r', e))
                return NULL;
            out = tk_arena_printf(a, "%s%.*s\r\n", out, (int)e, p);
        }
        p += l + (p[l] ? 1 : 0);
    }
    return out;
}

static int h_respond(tp_req *r, int status, const char *headers, const void *body, size_t len)
{
    ctx_t *c = CTX(r);
    if (!is_request_hook(c) || status < 100 || status > 599 || (len && !body))
        return -1;
    const char *h = headers ? norm_headers(A(r), headers) : "";
    char *b = len ? tk_arena_alloc(A(r), len) : NULL;
    if (!h || (len && !b))
        return -1;
    if (len)
        memcpy(b, body, len);
    c->responded = true;
    c->status = status;
    c->hdrs = *h ? h : NULL;
    c->body = b ? b : "";
    c->len = len;
    return 0;
}

static int h_error(tp_req *r, int status, const char *message)
{
    ctx_t *c = CTX(r);
    if (status < 100 || status > 599)
        return -1;
    c->err_status = status;
    c->err_msg = tk_arena_strdup(A(r), message ? message : "");
    return 0;
}

static int h_auth_set_session(tp_req *r, const char *key, const char *session_json)
{
    ctx_t *c = CTX(r);
    gw_req_t *req = c->req;
    if (c->kind != TP_HOOK_AUTH || !key || !*key || !session_json)
        return -1;
    gw_sref_t *sr = gw_sref_new();
    gw_session_free(sr->s);
    char *err = NULL;
    if (gw_session_from_text(session_json, strlen(session_json), sr->s, &err) != TK_OK ||
        gw_policy_apply(sr->s, &req->gref->gen->policies, req->api->org_id, &err) != TK_OK) {
        tk_log_warn("api=%s native auth: session rejected: %s", req->api->api_id, err ? err : "?");
        free(err);
        gw_sref_put(sr);
        return -1;
    }
    if (!sr->s->org_id)
        sr->s->org_id = tk_xstrdup(req->api->org_id ? req->api->org_id : "");
    char hash[TK_HASH_HEX_MAX + 8];
    if (tk_hash_key(key, strlen(key), gw_req_conf(req)->hash_keys, hash, sizeof(hash)) != TK_OK) {
        gw_sref_put(sr);
        return -1;
    }
    if (req->session)
        gw_sref_put(req->session);
    req->session = sr;
    req->token = tk_arena_strdup(req->arena, key);
    req->session_hash = tk_arena_strdup(req->arena, hash);
    c->session_set = true;
    return 0;
}

static int h_resp_status(tp_req *r)
{
    ctx_t *c = CTX(r);
    return c->resp_status ? *c->resp_status : -1;
}

static int h_resp_set_status(tp_req *r, int status)
{
    ctx_t *c = CTX(r);
    if (!c->resp_status || status < 100 || status > 599)
        return -1;
    *c->resp_status = status;
    return 0;
}

static const char *h_resp_header_get(tp_req *r, const char *name)
{
    ctx_t *c = CTX(r);
    return c->resp_hdrs && name ? gw_hdrs_get(c->req, c->resp_hdrs, name) : NULL;
}

static int h_resp_header_set(tp_req *r, const char *name, const char *value)
{
    ctx_t *c = CTX(r);
    if (!c->resp_hdrs || !name_ok(name) || !value || has_crlf(value))
        return -1;
    gw_hdrs_remove(c->resp_hdrs, name);
    gw_hdrs_add(c->resp_hdrs, name, value);
    return 0;
}

static int h_resp_header_del(tp_req *r, const char *name)
{
    ctx_t *c = CTX(r);
    if (!c->resp_hdrs || !name_ok(name))
        return -1;
    gw_hdrs_remove(c->resp_hdrs, name);
    return 0;
}

static void h_log(tp_req *r, int level, const char *message)
{
    enum tk_log_level l = level >= TP_LOG_ERROR  ? TK_LOG_ERROR
                          : level == TP_LOG_WARN ? TK_LOG_WARN
                          : level == TP_LOG_INFO ? TK_LOG_INFO
                                                 : TK_LOG_DEBUG;
    tk_log(l, "api=%s plugin: %s", CTX(r)->req->api->api_id, message ? message : "");
}

static const tp_host host = {
    .abi_version = TURNPIKE_PLUGIN_ABI_VERSION,
    .size = sizeof(tp_host),
    .hook_kind = h_kind,
    .api_id = h_api_id,
    .config_data = h_config_data,
    .method = h_method,
    .path = h_path,
    .query = h_query,
    .query_get = h_query_get,
    .header_get = h_header_get,
    .header_set = h_header_set,
    .header_del = h_header_del,
    .body = h_body,
    .body_set = h_body_set,
    .meta_get = h_meta_get,
    .meta_set = h_meta_set,
    .respond = h_respond,
    .error = h_error,
    .auth_set_session = h_auth_set_session,
    .resp_status = h_resp_status,
    .resp_set_status = h_resp_set_status,
    .resp_header_get = h_resp_header_get,
    .resp_header_set = h_resp_header_set,
    .resp_header_del = h_resp_header_del,
    .log = h_log,
};

/* ---- running -------------------------------------------------------------------------------- */

int gw_native_run(const gw_native_set_t *set, gw_req_t *req)
{
    /* Hooks may read and replace the body: have all of it first (reruns this step). */
    int rc = gw_req_body_collect(req);
    if (rc != TK_OK)
        return rc;
    for (size_t i = 0; i < set->n; i++) {
        ctx_t c = {.pub = {.host = &host}, .req = req, .kind = set->kind};
        tp_result res = set->h[i].fn(&c.pub);
        if (res == TP_RESPOND && c.responded) {
            gw_respond(req, c.status, NULL, c.body, c.len, c.hdrs);
            return TK_DONE;
        }
        if (res == TP_ERROR || res == TP_RESPOND) {
            req->err_status = c.err_status ? c.err_status : 500;
            req->err_msg = c.err_status ? c.err_msg : "There was a problem proxying the request";
            if (res == TP_RESPOND)
                tk_log_warn("api=%s plugin %s returned TP_RESPOND without tp_respond()",
                            req->api->api_id, set->h[i].name);
            return TK_ERROR;
        }
        if (res != TP_CONTINUE) {
            tk_log_warn("api=%s plugin %s returned %d", req->api->api_id, set->h[i].name, (int)res);
            req->err_status = 500;
            req->err_msg = "There was a problem proxying the request";
            return TK_ERROR;
        }
        if (set->kind == TP_HOOK_AUTH && !c.session_set) {
            req->err_status = 403;
            req->err_msg = "Access to this API has been disallowed";
            return TK_ERROR;
        }
    }
    return TK_OK;
}

static void resp_on_head(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs)
{
    const gw_native_set_t *set = arg;
    for (size_t i = 0; i < set->n; i++) {
        ctx_t c = {.pub = {.host = &host},
                   .req = req,
                   .kind = TP_HOOK_RESPONSE,
                   .resp_status = status,
                   .resp_hdrs = hdrs};
        tp_result res = set->h[i].fn(&c.pub);
        if (res != TP_CONTINUE)
            tk_log_warn("api=%s response plugin %s returned %d (only TP_CONTINUE applies to "
                        "responses)",
                        req->api->api_id, set->h[i].name, (int)res);
    }
}

static const gw_resp_filter_def_t native_filter = {
    .name = "native response plugins",
    .on_head = resp_on_head,
};

int gw_native_add_response(const gw_native_set_t *set, gw_req_t *req)
{
    if (gw_resp_filter_add(req, &native_filter, (void *)set) != TK_OK) {
        req->err_status = 500;
        req->err_msg = "There was a problem proxying the request";
        return TK_ERROR;
    }
    return TK_OK;
}

/* ---- shared middleware glue ----------------------------------------------------------------- */

bool gw_native_mw_enabled(const gw_api_t *api, int kind)
{
    if (kind == TP_HOOK_PRE && goplugin_used(api))
        return true; /* refused in init, with a message */
    return gw_native_has(api, kind);
}

int gw_native_mw_init(gw_mw_t *mw, const gw_api_t *api, int kind, tk_conf_errors_t *errs)
{
    if (kind == TP_HOOK_PRE && goplugin_used(api)) {
        tk_conf_errors_add(errs,
                           "%s: API %s: custom_middleware.driver \"goplugin\": Go plugins cannot "
                           "be loaded by Turnpike (a C gateway); rebuild the plugin against "
                           "include/turnpike/plugin.h and use driver \"native\"",
                           api->file, api->api_id);
        return TK_ERROR;
    }
    gw_native_set_t *set = gw_native_load(api, kind, errs);
    if (!set)
        return TK_ERROR;
    mw->state = set;
    return TK_OK;
}

void gw_native_mw_dispose(gw_mw_t *mw)
{
    gw_native_free(mw->state);
    mw->state = NULL;
}
