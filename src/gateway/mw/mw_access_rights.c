/* SPDX-License-Identifier: Apache-2.0 */
/* AccessRightsCheck: the key must grant this API (and this version), as Tyk checks it. */
#include "gw_mw_common.h"

#include <stdlib.h>

/* The version a request runs on. Versioning proper comes with the endpoint middleware issue;
 * until then it is version_data.default_version, or the only version defined, or "Default". */
struct state {
    char *version;
};

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return !api->use_keyless;
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    struct state *st = tk_xcalloc(1, sizeof(*st));
    json_t *vd = json_object_get(api->def, "version_data");
    const char *def = json_string_value(json_object_get(vd, "default_version"));
    json_t *versions = json_object_get(vd, "versions");
    if ((!def || !*def) && json_object_size(versions) == 1)
        def = json_object_iter_key(json_object_iter(versions));
    st->version = tk_xstrdup(def && *def ? def : "Default");
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    struct state *st = mw->state;
    free(st->version);
    free(st);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    const gw_session_t *s = req->session->s;
    if (s->n_access == 0) {
        if (gw_req_conf(req)->allow_master_keys)
            return TK_OK;
        req->err_status = 403;
        req->err_msg = "Access to this API has been disallowed";
        return TK_ERROR;
    }
    const gw_access_t *ad = gw_session_access(s, req->api->api_id);
    if (!ad || (ad->versions.n > 0 && !gw_strv_contains(&ad->versions, st->version))) {
        req->err_status = 403;
        req->err_msg = "Access to this API has been disallowed";
        return TK_ERROR;
    }
    return TK_OK;
}

const gw_mw_def_t gw_mw_access_rights = {
    .name = "AccessRightsCheck",
    .phase = GW_PHASE_POST_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
