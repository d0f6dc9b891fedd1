/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VersionCheck (Tyk §9.1 step 2): picks the request's version (header, query parameter or URL
 * segment; default version; fallback_to_default), refuses expired versions, and applies the
 * version's ignored / black_list / white_list / internal endpoints (with legacy method_actions
 * replies). Only in the chain when the API is versioned or has any of those.
 */
#include "gw_endpoints.h"
#include "gw_mw_common.h"

#include <stdio.h>
#include <strings.h>
#include <time.h>

#define FORBIDDEN "Requested endpoint is forbidden"

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    const gw_versions_t *vs = api->versions;
    if (!vs)
        return false;
    return !vs->not_versioned || !vs->fixed || vs->any_expires || vs->any_eps[GW_EP_WHITE_LIST] ||
           vs->any_eps[GW_EP_BLACK_LIST] || vs->any_eps[GW_EP_IGNORED] ||
           vs->any_eps[GW_EP_INTERNAL];
}

static int deny(gw_req_t *req, int status, const char *msg)
{
    gw_event_version_failure(req, msg);
    req->err_status = status;
    req->err_msg = msg;
    return TK_ERROR;
}

static const gw_version_t *by_name(const gw_versions_t *vs, const char *name, size_t len)
{
    for (size_t i = 0; i < vs->n; i++)
        if (strlen(vs->v[i].name) == len && memcmp(vs->v[i].name, name, len) == 0)
            return &vs->v[i];
    return NULL;
}

/* The version name the request asks for ("" when none); for URL versioning also the length of
 * the segment in the path after the listen path. */
static const char *requested(gw_req_t *req, const gw_versions_t *vs, size_t *len, size_t *seg)
{
    *seg = 0;
    switch (vs->location) {
    case GW_VLOC_HEADER: {
        const tk_http_hdr_t *h = gw_req_header(req, vs->key);
        *len = h ? h->value_len : 0;
        return h ? h->value : "";
    }
    case GW_VLOC_URL_PARAM: {
        const char *q = gw_req_query(req, vs->key);
        *len = q ? strlen(q) : 0;
        return q ? q : "";
    }
    case GW_VLOC_URL: {
        const char *rest = req->path + (req->matched <= req->path_len ? req->matched : 0);
        while (*rest == '/')
            rest++;
        const char *end = strchr(rest, '/');
        size_t n = end ? (size_t)(end - rest) : strlen(rest);
        if (vs->url_pattern) {
            pcre2_match_data *md = pcre2_match_data_create(4, NULL);
            int rc = pcre2_match(vs->url_pattern, (PCRE2_SPTR)rest, n, 0, 0, md, NULL);
            pcre2_match_data_free(md);
            if (rc < 0) {
                *len = 0;
                return "";
            }
        }
        *len = n;
        *seg = n;
        return rest;
    }
    }
    *len = 0;
    return "";
}

/* Go's time.RFC1123 in UTC: "Mon, 02 Jan 2006 15:04:05 UTC". */
static void expires_header(gw_req_t *req, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char buf[64];
    strftime(buf, sizeof(buf), "x-tyk-api-expires: %a, %d %b %Y %H:%M:%S UTC\r\n", &tm);
    gw_req_add_resp_headers(req, buf);
}

/* A legacy method_actions "reply": answer with its code, body and headers. */
static int reply(gw_req_t *req, const gw_ep_t *ep)
{
    char *hdrs = NULL;
    if (ep->reply_headers) {
        const char *k;
        json_t *v;
        json_object_foreach(ep->reply_headers, k, v)
        {
            const char *s = json_string_value(v);
            if (!s)
                continue;
            hdrs = tk_arena_printf(req->arena, "%s%s: %s\r\n", hdrs ? hdrs : "", k, s);
        }
    }
    gw_respond(req, ep->reply_code, NULL, ep->reply_body, strlen(ep->reply_body), hdrs);
    return TK_DONE;
}

/* Tyk's URLAllowedAndIgnored: ignored, then black_list, then white_list entries; with a
 * white list, anything it does not name is forbidden. */
static int endpoint_status(gw_req_t *req, const gw_version_t *v)
{
    const gw_ep_t *ep;
    if ((ep = gw_ep_match(req, GW_EP_IGNORED))) {
        if (ep->reply)
            return reply(req, ep);
        req->ep_ignored = true;
        return TK_OK;
    }
    if ((ep = gw_ep_match(req, GW_EP_BLACK_LIST)))
        return deny(req, 403, FORBIDDEN);
    if ((ep = gw_ep_match(req, GW_EP_WHITE_LIST)))
        return ep->reply ? reply(req, ep) : TK_OK;
    /* internal endpoints only answer looped (tyk://) requests */
    bool internal = gw_ep_match(req, GW_EP_INTERNAL) != NULL;
    if (v->has_white_list && !(internal && req->loop_level))
        return deny(req, 403, FORBIDDEN);
    if (internal && !req->loop_level)
        return deny(req, 403, FORBIDDEN);
    return TK_OK;
}

/* A CORS pre-flight the gateway answers itself skips the endpoint checks (as Tyk). */
static bool cors_preflight(const gw_req_t *req)
{
    if (req->head->method_len != 7 || memcmp(req->head->method, "OPTIONS", 7) != 0)
        return false;
    json_t *cors = json_object_get(req->api->def, "CORS");
    if (!json_is_true(json_object_get(cors, "enable")) ||
        json_is_true(json_object_get(cors, "options_passthrough")))
        return false;
    return gw_req_header(req, "origin") && gw_req_header(req, "access-control-request-method");
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_versions_t *vs = req->api->versions;
    const gw_version_t *v = vs->fixed;
    bool keep = req->loop_level && req->version; /* tyk://self keeps the resolved version */
    if (keep) {
        v = req->version;
    } else if (!vs->not_versioned) {
        size_t len, seg;
        const char *name = requested(req, vs, &len, &seg);
        if (len == 0) {
            name = vs->default_version;
            len = strlen(name);
            seg = 0;
            if (len == 0)
                return deny(req, 403, "Version information not found");
        }
        v = by_name(vs, name, len);
        if (!v && vs->fallback_to_default && *vs->default_version) {
            v = by_name(vs, vs->default_version, strlen(vs->default_version));
            seg = 0;
        }
        if (!v)
            return deny(req, 403, "This API version does not seem to exist");
        if (seg) {
            req->version_segment_len = seg + 1; /* "/v1" */
            if (vs->strip_versioning_data) {
                /* The upstream path loses "v1/" (Tyk replaces part+"/" once). */
                size_t at = req->matched;
                while (at < req->path_len && req->path[at] == '/')
                    at++;
                size_t cut = seg + (at + seg < req->path_len ? 1 : 0);
                req->matched = at + cut;
                req->version_segment_len = 0;
                req->ep_npaths = 0;
            }
        }
    } else if (!v) {
        return deny(req, 403, vs->fixed_error ? vs->fixed_error : "Version information not found");
    }
    req->version = v;
    if (v->expires) {
        if ((int64_t)time(NULL) > v->expires)
            return deny(req, 403,
                        "Api Version has expired, please check documentation or contact "
                        "administrator");
        if (!keep) /* one header, not one per hop */
            expires_header(req, v->expires);
    }
    if (cors_preflight(req))
        return TK_OK;
    return endpoint_status(req, v);
}

const gw_mw_def_t gw_mw_version_check = {
    .name = "VersionCheck",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .on_req = on_req,
};
