/* SPDX-License-Identifier: Apache-2.0 */
/* GranularAccess: a key's allowed_urls (regexes with methods) limit what it may call. */
#include "gw_mw_common.h"

#include <strings.h>

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return !api->use_keyless;
}

/* Go's regexp.MatchString: an unanchored search. */
static bool matches(const char *re, const char *subject)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    if (!code)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int rc = pcre2_match(code, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    return rc >= 0;
}

static bool method_allowed(const gw_access_spec_t *spec, const gw_req_t *req)
{
    if (spec->methods.n == 0)
        return true;
    for (size_t i = 0; i < spec->methods.n; i++)
        if (tk_str_ieq(req->head->method, req->head->method_len, spec->methods.v[i]))
            return true;
    return false;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_access_t *ad = gw_session_access(req->session->s, req->api->api_id);
    if (!ad || ad->n_allowed_urls == 0)
        return TK_OK;
    const char *stripped = req->path + req->matched;
    char *with_slash = NULL;
    if (*stripped != '/')
        stripped = with_slash = tk_arena_printf(req->arena, "/%s", stripped);
    for (size_t i = 0; i < ad->n_allowed_urls; i++) {
        const gw_access_spec_t *spec = &ad->allowed_urls[i];
        if ((matches(spec->url, req->path) || (stripped && matches(spec->url, stripped))) &&
            method_allowed(spec, req))
            return TK_OK;
    }
    req->err_status = 403;
    req->err_msg = "Access to this resource has been disallowed";
    return TK_ERROR;
}

const gw_mw_def_t gw_mw_granular_access = {
    .name = "GranularAccess",
    .phase = GW_PHASE_POST_AUTH,
    .enabled = enabled,
    .on_req = on_req,
};
