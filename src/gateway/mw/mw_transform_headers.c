/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TransformHeaders (Tyk §9.1 step 26): the version's global_headers_remove then global_headers,
 * then the first matching extended_paths.transform_headers entry's delete_headers then
 * add_headers, on the request that goes upstream. Values go through Tyk's variable
 * replacement ($tyk_context.* — "" unless enable_context_vars —, $tyk_meta.*, $secret_*)
 * without URL escaping. Names are canonicalised (X-Foo) and replace earlier values, as Go's
 * Header.Set does, unless ignore_canonical_mime_header_key keeps them as written.
 */
#include "gw_ctxvars.h"
#include "gw_endpoints.h"
#include "gw_mw_common.h"
#include "gw_req_hdrs.h"

#include <strings.h>

static bool has_globals(const gw_version_t *v)
{
    return v->global_headers || v->n_global_headers_remove;
}

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    for (size_t i = 0; api->versions && i < api->versions->n; i++)
        if (has_globals(&api->versions->v[i]))
            return true;
    return gw_api_has_eps(api, GW_EP_TRANSFORM_HEADERS);
}

static void set_header(gw_req_t *req, const char *name, const char *value)
{
    if (gw_req_conf(req)->ignore_canonical_mime_header_key) {
        gw_req_hdr_set(req, name, value);
        return;
    }
    char *canon = gw_canonical_header(req->arena, name, strlen(name));
    gw_req_hdr_set(req, canon ? canon : name, value);
}

/* A removed X-Forwarded-For stays removed: the proxy does not write its own either. */
static void del_header(gw_req_t *req, const char *name)
{
    gw_req_hdr_del(req, name);
    if (strcasecmp(name, "x-forwarded-for") == 0)
        req->up_no_xff = true;
}

static void add_all(gw_req_t *req, const json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        const char *s = json_string_value(v);
        if (s)
            set_header(req, k, gw_ctx_expand(req, s));
    }
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_version_t *v = gw_req_version(req);
    if (!v)
        return TK_OK;
    for (size_t i = 0; i < v->n_global_headers_remove; i++)
        del_header(req, v->global_headers_remove[i]);
    if (v->global_headers)
        add_all(req, v->global_headers);
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_TRANSFORM_HEADERS);
    if (!ep)
        return TK_OK;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(ep->entry, "delete_headers"), i, d)
    {
        if (json_is_string(d))
            del_header(req, json_string_value(d));
    }
    add_all(req, json_object_get(ep->entry, "add_headers"));
    return TK_OK;
}

const gw_mw_def_t gw_mw_transform_headers = {
    .name = "TransformHeaders",
    .phase = GW_PHASE_TRANSFORM,
    .enabled = enabled,
    .on_req = on_req,
};
