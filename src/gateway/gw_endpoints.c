/* SPDX-License-Identifier: Apache-2.0 */
/* version_data and extended_paths compiled at load; per-request endpoint matching (gw_endpoints.h).
 */
#include "gw_endpoints.h"
#include "gw_http.h"

#include "tk_log.h"
#include "tk_regex.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

static const char *const kind_names[GW_EP__COUNT] = {
    [GW_EP_WHITE_LIST] = "white_list",
    [GW_EP_BLACK_LIST] = "black_list",
    [GW_EP_IGNORED] = "ignored",
    [GW_EP_INTERNAL] = "internal",
    [GW_EP_MOCK_RESPONSE] = "mock_response",
    [GW_EP_CACHE] = "cache",
    [GW_EP_ADVANCE_CACHE] = "advance_cache_config",
    [GW_EP_TRANSFORM] = "transform",
    [GW_EP_TRANSFORM_RESPONSE] = "transform_response",
    [GW_EP_TRANSFORM_HEADERS] = "transform_headers",
    [GW_EP_TRANSFORM_RESPONSE_HEADERS] = "transform_response_headers",
    [GW_EP_HARD_TIMEOUTS] = "hard_timeouts",
    [GW_EP_CIRCUIT_BREAKERS] = "circuit_breakers",
    [GW_EP_URL_REWRITES] = "url_rewrites",
    [GW_EP_VIRTUAL] = "virtual",
    [GW_EP_SIZE_LIMITS] = "size_limits",
    [GW_EP_METHOD_TRANSFORMS] = "method_transforms",
    [GW_EP_TRACK_ENDPOINTS] = "track_endpoints",
    [GW_EP_DO_NOT_TRACK_ENDPOINTS] = "do_not_track_endpoints",
    [GW_EP_VALIDATE_JSON] = "validate_json",
    [GW_EP_RATE_LIMIT] = "rate_limit",
    [GW_EP_TRANSFORM_JQ] = "transform_jq",
    [GW_EP_TRANSFORM_JQ_RESPONSE] = "transform_jq_response",
    [GW_EP_GO_PLUGIN] = "go_plugin",
};

const char *gw_ep_kind_name(enum gw_ep_kind kind)
{
    return kind < GW_EP__COUNT ? kind_names[kind] : "?";
}

/* ---- Tyk's PreparePathRegexp ---- */

static void sb_add(char **s, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *s = tk_xrealloc(*s, *cap);
    }
    memcpy(*s + *len, p, n);
    *len += n;
    (*s)[*len] = 0;
}

char *gw_ep_path_regex(const char *path, bool prefix, bool suffix, bool ignore_case)
{
    TK_UNUSED(ignore_case); /* applied as PCRE2_CASELESS by the caller */
    size_t len = 0, cap = strlen(path) * 2 + 16;
    char *s = tk_xmalloc(cap);
    s[0] = 0;
    if (prefix && path[0] == '/')
        sb_add(&s, &len, &cap, "^", 1);
    for (const char *p = path; *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (close) {
                sb_add(&s, &len, &cap, "([^/]+)", 7);
                p = close + 1;
                continue;
            }
        }
        if (p[0] == '/' && p[1] == '*') {
            if (p[2] == '/') {
                sb_add(&s, &len, &cap, "/[^/]+", 6);
                p += 2;
            } else {
                sb_add(&s, &len, &cap, "/.*", 3);
                p += 2;
            }
            continue;
        }
        sb_add(&s, &len, &cap, p, 1);
        p++;
    }
    if (suffix && (len == 0 || s[len - 1] != '$'))
        sb_add(&s, &len, &cap, "$", 1);
    return s;
}

/* ---- building ---- */

typedef struct build {
    const char *file, *api_id, *version;
    const gw_conf_t *conf;
    tk_conf_errors_t *errs;
    bool ignore_case; /* version-level ignore_endpoint_case or the global one */
    bool failed;
} build_t;

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

static bool compile_ep(build_t *b, gw_ep_t *ep, bool ignore_case, size_t index)
{
    bool icase = ignore_case || b->ignore_case;
    char *rx = gw_ep_path_regex(ep->path, b->conf->hso_enable_path_prefix_matching,
                                b->conf->hso_enable_path_suffix_matching, icase);
    int err = 0;
    PCRE2_SIZE off = 0;
    ep->re = pcre2_compile((PCRE2_SPTR)rx, PCRE2_ZERO_TERMINATED, icase ? PCRE2_CASELESS : 0, &err,
                           &off, NULL);
    if (!ep->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof(msg));
        tk_conf_errors_add(b->errs,
                           "%s: API %s: version %s: extended_paths.%s[%zu].path \"%s\": invalid "
                           "regular expression at offset %zu: %s",
                           b->file, b->api_id, b->version, gw_ep_kind_name(ep->kind), index,
                           ep->path, (size_t)off, (const char *)msg);
        free(rx);
        b->failed = true;
        return false;
    }
    pcre2_jit_compile(ep->re, PCRE2_JIT_COMPLETE);
    free(rx);
    return true;
}

static gw_ep_t *push_ep(gw_version_t *v, enum gw_ep_kind kind, size_t *cap)
{
    if (v->n_eps[kind] == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        v->eps[kind] = tk_xrealloc(v->eps[kind], *cap * sizeof(gw_ep_t));
    }
    gw_ep_t *ep = &v->eps[kind][v->n_eps[kind]++];
    memset(ep, 0, sizeof(*ep));
    ep->kind = kind;
    return ep;
}

static void set_reply(gw_ep_t *ep, json_t *action)
{
    const char *a = json_string_value(json_object_get(action, "action"));
    if (!a || strcmp(a, "reply") != 0)
        return;
    ep->reply = true;
    json_t *code = json_object_get(action, "code");
    ep->reply_code = json_is_integer(code) ? (int)json_integer_value(code) : 200;
    const char *data = json_string_value(json_object_get(action, "data"));
    ep->reply_body = tk_xstrdup(data ? data : "");
    json_t *h = json_object_get(action, "headers");
    ep->reply_headers = json_is_object(h) ? h : NULL;
}

/* One extended_paths list. Entries are objects with "path"/"method" (or the legacy
 * method_actions map, one entry per method); "cache" may also hold plain path strings. */
static void build_kind(build_t *b, gw_version_t *v, enum gw_ep_kind kind, json_t *list)
{
    size_t cap = 0, i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (json_is_string(e)) {
            gw_ep_t *ep = push_ep(v, kind, &cap);
            ep->path = tk_xstrdup(json_string_value(e));
            ep->method = tk_xstrdup("");
            ep->entry = e;
            compile_ep(b, ep, false, i);
            continue;
        }
        if (!json_is_object(e))
            continue;
        if (json_is_true(json_object_get(e, "disabled")))
            continue;
        const char *path = json_string_value(json_object_get(e, "path"));
        if (!path)
            continue;
        bool icase = json_is_true(json_object_get(e, "ignore_case"));
        const char *method = json_string_value(json_object_get(e, "method"));
        json_t *actions = json_object_get(e, "method_actions");
        if ((!method || !*method) && json_is_object(actions) && json_object_size(actions) > 0) {
            const char *m;
            json_t *act;
            json_object_foreach(actions, m, act)
            {
                gw_ep_t *ep = push_ep(v, kind, &cap);
                ep->path = tk_xstrdup(path);
                ep->method = tk_xstrdup(m);
                upper(ep->method);
                ep->entry = e;
                set_reply(ep, act);
                compile_ep(b, ep, icase, i);
            }
            continue;
        }
        gw_ep_t *ep = push_ep(v, kind, &cap);
        ep->path = tk_xstrdup(path);
        ep->method = tk_xstrdup(method ? method : "");
        upper(ep->method);
        ep->entry = e;
        compile_ep(b, ep, icase, i);
    }
}

/* Legacy version "paths": {ignored:[], white_list:[], black_list:[]} of plain path strings. */
static void build_legacy(build_t *b, gw_version_t *v, json_t *paths)
{
    static const struct {
        const char *key;
        enum gw_ep_kind kind;
    } map[] = {{"ignored", GW_EP_IGNORED},
               {"white_list", GW_EP_WHITE_LIST},
               {"black_list", GW_EP_BLACK_LIST}};
    for (size_t k = 0; k < TK_ARRAY_LEN(map); k++) {
        json_t *list = json_object_get(paths, map[k].key);
        if (json_is_array(list))
            build_kind(b, v, map[k].kind, list);
    }
}

static char **lower_list(json_t *arr, size_t *n)
{
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return NULL;
    char **out = tk_xcalloc(json_array_size(arr), sizeof(*out));
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *s = json_string_value(it);
        if (!s)
            continue;
        char *c = tk_xstrdup(s);
        for (char *p = c; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        out[(*n)++] = c;
    }
    return out;
}

/* Tyk's expiry format "2006-01-02 15:04" (UTC); "" and "-1" mean never. */
static bool parse_expires(const char *s, int64_t *out)
{
    *out = 0;
    if (!s || !*s || strcmp(s, "-1") == 0)
        return true;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%d %H:%M", &tm);
    if (!end || *end)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

static void build_version(build_t *b, gw_version_t *v, const char *name, json_t *info)
{
    v->name = tk_xstrdup(name);
    v->info = info;
    b->version = name;
    b->ignore_case = b->conf->ignore_endpoint_case ||
                     json_is_true(json_object_get(info, "ignore_endpoint_case"));
    const char *exp = json_string_value(json_object_get(info, "expires"));
    v->expires_text = tk_xstrdup(exp ? exp : "");
    if (!parse_expires(exp, &v->expires)) {
        tk_conf_errors_add(b->errs,
                           "%s: API %s: version %s: expires \"%s\" is not a date in the form "
                           "2006-01-02 15:04",
                           b->file, b->api_id, name, exp);
        b->failed = true;
    }
    json_t *ext = json_object_get(info, "extended_paths");
    bool use_ext = json_is_true(json_object_get(info, "use_extended_paths"));
    if (use_ext && json_is_object(ext)) {
        for (int k = 0; k < GW_EP__COUNT; k++) {
            json_t *list = json_object_get(ext, kind_names[k]);
            if (json_is_array(list))
                build_kind(b, v, (enum gw_ep_kind)k, list);
        }
    } else {
        json_t *paths = json_object_get(info, "paths");
        if (json_is_object(paths))
            build_legacy(b, v, paths);
    }
    v->has_white_list = v->n_eps[GW_EP_WHITE_LIST] > 0;
    if (!json_is_true(json_object_get(info, "global_headers_disabled"))) {
        json_t *gh = json_object_get(info, "global_headers");
        v->global_headers = json_is_object(gh) && json_object_size(gh) ? gh : NULL;
        v->global_headers_remove =
            lower_list(json_object_get(info, "global_headers_remove"), &v->n_global_headers_remove);
    }
    if (!json_is_true(json_object_get(info, "global_response_headers_disabled"))) {
        json_t *gh = json_object_get(info, "global_response_headers");
        v->global_response_headers = json_is_object(gh) && json_object_size(gh) ? gh : NULL;
        v->global_response_headers_remove =
            lower_list(json_object_get(info, "global_response_headers_remove"),
                       &v->n_global_response_headers_remove);
    }
    if (!json_is_true(json_object_get(info, "global_size_limit_disabled"))) {
        json_t *gl = json_object_get(info, "global_size_limit");
        v->global_size_limit = json_is_integer(gl) ? json_integer_value(gl) : 0;
    }
    const char *ot = json_string_value(json_object_get(info, "override_target"));
    if (ot && *ot) {
        const char *why = NULL;
        if (gw_target_parse(&v->override_target, ot, &why) != TK_OK) {
            tk_conf_errors_add(b->errs, "%s: API %s: version %s: override_target \"%s\": %s",
                               b->file, b->api_id, name, ot, why ? why : "invalid URL");
            b->failed = true;
        } else {
            v->has_override_target = true;
        }
    }
}

gw_versions_t *gw_versions_build(const json_t *def, const char *file, const char *api_id,
                                 const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    gw_versions_t *vs = tk_xcalloc(1, sizeof(*vs));
    build_t b = {.file = file, .api_id = api_id, .conf = conf, .errs = errs};
    json_t *vd = json_object_get(def, "version_data");
    json_t *defn = json_object_get(def, "definition");
    vs->not_versioned = !json_is_object(vd) || json_is_true(json_object_get(vd, "not_versioned"));
    const char *dv = json_string_value(json_object_get(vd, "default_version"));
    const char *ddef = json_string_value(json_object_get(defn, "default"));
    vs->default_version = tk_xstrdup(dv && *dv ? dv : (ddef ? ddef : ""));
    const char *loc = json_string_value(json_object_get(defn, "location"));
    vs->location = loc && strcmp(loc, "url-param") == 0 ? GW_VLOC_URL_PARAM
                   : loc && strcmp(loc, "url") == 0     ? GW_VLOC_URL
                                                        : GW_VLOC_HEADER;
    const char *key = json_string_value(json_object_get(defn, "key"));
    vs->key = tk_xstrdup(key && *key ? key : "x-api-version");
    vs->strip_versioning_data = json_is_true(json_object_get(defn, "strip_versioning_data")) ||
                                json_is_true(json_object_get(defn, "strip_path"));
    vs->fallback_to_default = json_is_true(json_object_get(defn, "fallback_to_default"));
    const char *pat = json_string_value(json_object_get(defn, "url_versioning_pattern"));
    if (pat && *pat) {
        int err = 0;
        PCRE2_SIZE off = 0;
        vs->url_pattern =
            pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
        if (!vs->url_pattern) {
            tk_conf_errors_add(errs, "%s: API %s: definition.url_versioning_pattern: invalid regex",
                               file, api_id);
            b.failed = true;
        }
    }
    json_t *versions = json_object_get(vd, "versions");
    if (json_is_object(versions) && json_object_size(versions)) {
        vs->v = tk_xcalloc(json_object_size(versions), sizeof(*vs->v));
        const char *name;
        json_t *info;
        json_object_foreach(versions, name, info)
        {
            if (!json_is_object(info))
                continue;
            const char *n2 = json_string_value(json_object_get(info, "name"));
            build_version(&b, &vs->v[vs->n++], n2 && *n2 ? n2 : name, info);
        }
    }
    for (size_t i = 0; i < vs->n; i++) {
        for (int k = 0; k < GW_EP__COUNT; k++)
            if (vs->v[i].n_eps[k])
                vs->any_eps[k] = true;
        if (vs->v[i].expires)
            vs->any_expires = true;
    }
    /* The version of a non-versioned API (or the default one), decided once. */
    if (vs->not_versioned) {
        if (vs->n == 1) {
            vs->fixed = &vs->v[0];
        } else {
            for (size_t i = 0; i < vs->n; i++)
                if (strcmp(vs->v[i].name, vs->default_version) == 0)
                    vs->fixed = &vs->v[i];
            if (!vs->fixed)
                vs->fixed_error = vs->n ? "Ambiguous default API version for this non-versioned "
                                          "API found"
                                        : "No default API version for this non-versioned API "
                                          "found";
        }
    }
    if (b.failed) {
        gw_versions_free(vs);
        return NULL;
    }
    return vs;
}

void gw_versions_free(gw_versions_t *vs)
{
    if (!vs)
        return;
    for (size_t i = 0; i < vs->n; i++) {
        gw_version_t *v = &vs->v[i];
        for (int k = 0; k < GW_EP__COUNT; k++) {
            for (size_t j = 0; j < v->n_eps[k]; j++) {
                gw_ep_t *ep = &v->eps[k][j];
                free(ep->path);
                free(ep->method);
                free(ep->reply_body);
                pcre2_code_free(ep->re);
            }
            free(v->eps[k]);
        }
        for (size_t j = 0; j < v->n_global_headers_remove; j++)
            free(v->global_headers_remove[j]);
        free(v->global_headers_remove);
        for (size_t j = 0; j < v->n_global_response_headers_remove; j++)
            free(v->global_response_headers_remove[j]);
        free(v->global_response_headers_remove);
        if (v->has_override_target)
            gw_target_clear(&v->override_target);
        free(v->name);
        free(v->expires_text);
    }
    free(vs->v);
    free(vs->default_version);
    free(vs->key);
    pcre2_code_free(vs->url_pattern);
    free(vs);
}

/* ---- matching ---- */

static bool re_match(const pcre2_code *re, const char *s, size_t n)
{
    return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, tk_re_match_data(), NULL) >= 0;
}

const gw_ep_t *gw_ep_match_in(const gw_version_t *v, enum gw_ep_kind kind, const char *method,
                              size_t method_len, const char *const *paths, const size_t *lens,
                              size_t npaths)
{
    if (!v || kind >= GW_EP__COUNT || v->n_eps[kind] == 0)
        return NULL;
    for (size_t p = 0; p < npaths; p++) {
        for (size_t i = 0; i < v->n_eps[kind]; i++) {
            const gw_ep_t *ep = &v->eps[kind][i];
            if (ep->method[0] &&
                (strlen(ep->method) != method_len || strncasecmp(ep->method, method, method_len)))
                continue;
            if (re_match(ep->re, paths[p], lens[p]))
                return ep;
        }
    }
    return NULL;
}

const gw_version_t *gw_req_version(const gw_req_t *req)
{
    if (req->version)
        return req->version;
    const gw_versions_t *vs = req->api ? req->api->versions : NULL;
    return vs ? vs->fixed : NULL;
}

/* The paths Tyk tries, in order: listen path and version segment stripped, listen path
 * stripped, the full path. Computed once per request. */
static void ep_paths(gw_req_t *req)
{
    if (req->ep_npaths)
        return;
    const char *full = req->path;
    size_t flen = req->path_len;
    size_t m = req->matched <= flen ? req->matched : 0;
    const char *rest = full + m;
    size_t rlen = flen - m;
    const char *stripped = rest;
    if (rlen == 0 || rest[0] != '/') {
        char *s = tk_arena_alloc(req->arena, rlen + 2);
        if (s) {
            s[0] = '/';
            memcpy(s + 1, rest, rlen);
            s[rlen + 1] = 0;
            stripped = s;
            rlen++;
        }
    }
    size_t n = 0;
    if (req->version_segment_len && rlen > req->version_segment_len) {
        /* "/v1/users" → "/users" */
        req->ep_paths[n] = stripped + req->version_segment_len;
        req->ep_lens[n++] = rlen - req->version_segment_len;
    }
    req->ep_paths[n] = stripped;
    req->ep_lens[n++] = rlen;
    if (m) {
        req->ep_paths[n] = full;
        req->ep_lens[n++] = flen;
    }
    req->ep_npaths = (uint8_t)n;
}

const gw_ep_t *gw_ep_match(gw_req_t *req, enum gw_ep_kind kind)
{
    const gw_version_t *v = gw_req_version(req);
    if (!v || v->n_eps[kind] == 0)
        return NULL;
    ep_paths(req);
    return gw_ep_match_in(v, kind, req->head->method, req->head->method_len, req->ep_paths,
                          req->ep_lens, req->ep_npaths);
}

bool gw_api_has_eps(const gw_api_t *api, enum gw_ep_kind kind)
{
    return api->versions && kind < GW_EP__COUNT && api->versions->any_eps[kind];
}
