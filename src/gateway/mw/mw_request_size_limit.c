/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RequestSizeLimitMiddleware (Tyk §9.1 step 10): the version's global_size_limit, then the
 * first matching extended_paths.size_limits entry, checked against the stated Content-Length
 * before any body is read. As Tyk does:
 * - GET, DELETE, TRACE, OPTIONS and HEAD are never checked;
 * - no Content-Length (a chunked body included) → 411 "Content length is required for this
 *   request";
 * - a Content-Length Go's strconv.ParseInt(s, 0, 64) rejects (e.g. "08", read as octal) →
 *   400 "content length is not a valid Integer";
 * - a length above the limit → 400 "Request is too large".
 */
#include "gw_endpoints.h"
#include "gw_mw_common.h"

#include "tk_log.h"

#include <ctype.h>

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    for (size_t i = 0; api->versions && i < api->versions->n; i++)
        if (api->versions->v[i].global_size_limit > 0)
            return true;
    return gw_api_has_eps(api, GW_EP_SIZE_LIMITS);
}

/* strconv.ParseInt(s, 0, 64): optional sign; "0x", "0o", "0b" prefixes (with at least one
 * digit after) or a leading 0 for octal; decimal otherwise. False when Go fails. (Go also
 * takes '_' between digits here; such a Content-Length never gets past the HTTP parser.) */
static bool go_parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i >= n)
        return false;
    int base = 10;
    if (s[i] == '0') {
        char c = n - i >= 3 ? (char)tolower((unsigned char)s[i + 1]) : 0;
        base = c == 'x' ? 16 : c == 'b' ? 2 : 8;
        i += (c == 'x' || c == 'b' || c == 'o') ? 2 : 1;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        int d = tk_hexval((unsigned char)s[i]);
        if (d < 0 || d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static int check(gw_req_t *req, int64_t limit)
{
    const tk_http_hdr_t *cl = gw_req_header(req, "content-length");
    if (!cl || cl->value_len == 0) {
        req->err_status = 411;
        req->err_msg = "Content length is required for this request";
        return TK_ERROR;
    }
    int64_t size;
    if (!go_parse_int(cl->value, cl->value_len, &size)) {
        tk_log_error("api=%s String conversion for content length failed", req->api->api_id);
        req->err_status = 400;
        req->err_msg = "content length is not a valid Integer";
        return TK_ERROR;
    }
    if (req->head->content_length > size)
        size = req->head->content_length;
    if (size > limit) {
        tk_log_info(
            "api=%s Attempted access with large request size, blocked. size=%lld limit=%lld",
            req->api->api_id, (long long)size, (long long)limit);
        req->err_status = 400;
        req->err_msg = "Request is too large";
        return TK_ERROR;
    }
    return TK_OK;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    static const char *const skipped[] = {"GET", "DELETE", "TRACE", "OPTIONS", "HEAD"};
    for (size_t i = 0; i < TK_ARRAY_LEN(skipped); i++)
        if (req->head->method_len == strlen(skipped[i]) &&
            memcmp(req->head->method, skipped[i], req->head->method_len) == 0)
            return TK_OK;
    const gw_version_t *v = gw_req_version(req);
    if (!v)
        return TK_OK;
    if (v->global_size_limit > 0 && check(req, v->global_size_limit) != TK_OK)
        return TK_ERROR;
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_SIZE_LIMITS);
    if (!ep)
        return TK_OK;
    json_t *lim = json_object_get(ep->entry, "size_limit");
    return check(req, json_is_integer(lim) ? json_integer_value(lim) : 0);
}

const gw_mw_def_t gw_mw_request_size_limit = {
    .name = "RequestSizeLimitMiddleware",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .on_req = on_req,
};
