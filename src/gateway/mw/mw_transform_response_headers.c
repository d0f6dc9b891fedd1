/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Response header injection (Tyk's HeaderInjector response handler): on the upstream's
 * response, the first matching extended_paths.transform_response_headers entry's
 * delete_headers then add_headers, then the version's global_response_headers_remove and
 * global_response_headers, then a response_processors "header_injector" entry's
 * remove_headers / add_headers. Values get the same variable replacement as request headers.
 * Error replies, mocks and other answers the gateway makes itself are not touched (Tyk runs
 * response handlers only on proxied responses).
 */
#include "gw_ctxvars.h"
#include "gw_endpoints.h"
#include "gw_mw_common.h"
#include "gw_req_hdrs.h"
#include "gw_resp_filter.h"

typedef struct rh_state {
    const json_t *injector; /* response_processors header_injector options, or NULL */
} rh_state_t;

typedef struct rh_req {
    const rh_state_t *st;
    const gw_ep_t *ep;
} rh_req_t;

static const json_t *find_injector(const gw_api_t *api)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(api->def, "response_processors"), i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, "header_injector") == 0 && json_is_object(json_object_get(p, "options")))
            return json_object_get(p, "options");
    }
    return NULL;
}

static bool has_globals(const gw_version_t *v)
{
    return v->global_response_headers || v->n_global_response_headers_remove;
}

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    for (size_t i = 0; api->versions && i < api->versions->n; i++)
        if (has_globals(&api->versions->v[i]))
            return true;
    return find_injector(api) || gw_api_has_eps(api, GW_EP_TRANSFORM_RESPONSE_HEADERS);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    rh_state_t *st = tk_xcalloc(1, sizeof(*st));
    st->injector = find_injector(api);
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    free(mw->state);
    mw->state = NULL;
}

static void set_header(gw_req_t *req, struct evbuffer *hdrs, const char *name, const char *value)
{
    const char *n = name;
    if (!gw_req_conf(req)->ignore_canonical_mime_header_key) {
        char *canon = gw_canonical_header(req->arena, name, strlen(name));
        n = canon ? canon : name;
    }
    gw_hdrs_remove(hdrs, n);
    gw_hdrs_add(hdrs, n, value);
}

static void remove_list(struct evbuffer *hdrs, const json_t *arr)
{
    size_t i;
    json_t *d;
    json_array_foreach((json_t *)arr, i, d)
    {
        if (json_is_string(d))
            gw_hdrs_remove(hdrs, json_string_value(d));
    }
}

static void add_all(gw_req_t *req, struct evbuffer *hdrs, const json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        const char *s = json_string_value(v);
        if (s)
            set_header(req, hdrs, k, gw_ctx_expand(req, s));
    }
}

static void on_head(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs)
{
    TK_UNUSED(status);
    const rh_req_t *r = arg;
    if (r->ep) {
        remove_list(hdrs, json_object_get(r->ep->entry, "delete_headers"));
        add_all(req, hdrs, json_object_get(r->ep->entry, "add_headers"));
    }
    const gw_version_t *v = gw_req_version(req);
    if (v) {
        for (size_t i = 0; i < v->n_global_response_headers_remove; i++)
            gw_hdrs_remove(hdrs, v->global_response_headers_remove[i]);
        if (v->global_response_headers)
            add_all(req, hdrs, v->global_response_headers);
    }
    if (r->st->injector) {
        remove_list(hdrs, json_object_get(r->st->injector, "remove_headers"));
        add_all(req, hdrs, json_object_get(r->st->injector, "add_headers"));
    }
}

static const gw_resp_filter_def_t filter = {.name = "HeaderInjector", .on_head = on_head};

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    const gw_version_t *v = gw_req_version(req);
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_TRANSFORM_RESPONSE_HEADERS);
    const rh_state_t *st = mw->state;
    if (!ep && !st->injector && !(v && has_globals(v)))
        return TK_OK;
    rh_req_t *r = tk_arena_alloc(req->arena, sizeof(*r));
    if (!r)
        return TK_OK;
    r->st = st;
    r->ep = ep;
    if (gw_resp_filter_add(req, &filter, r) != TK_OK) {
        req->err_status = 500;
        req->err_msg = "There was a problem proxying the request";
        return TK_ERROR;
    }
    return TK_OK;
}

const gw_mw_def_t gw_mw_transform_response_headers = {
    .name = "HeaderInjector",
    .phase = GW_PHASE_CONTENT,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
