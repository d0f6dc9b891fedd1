/* SPDX-License-Identifier: Apache-2.0 */
/* Applying URL rewrites and method transforms when the chain ends; tyk:// looping (gw_rewrite.h).
 */
#include "gw_rewrite.h"

#include "gw_endpoints.h"
#include "gw_gen.h"
#include "gw_mw.h"
#include "gw_mw_common.h"

#include "tk_log.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

char *gw_query_escape(tk_arena_t *a, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = tk_arena_alloc(a, n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else if (c == ' ') {
            out[o++] = '+';
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = 0;
    return out;
}

static int answer(gw_req_t *req, int status, const char *msg)
{
    gw_respond_error(req, status, msg);
    return TK_DONE;
}

/* The first value of @name in query text @q (raw), or NULL. */
static const char *query_value(tk_arena_t *a, const char *q, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= nl && memcmp(p, name, nl) == 0 && (len == nl || p[nl] == '='))
            return len == nl ? "" : tk_arena_strndup(a, p + nl + 1, len - nl - 1);
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* The part of @path the API's listen path covers (stripped before proxying), 0 if none. */
static size_t listen_prefix(const gw_api_t *api, const char *path)
{
    ssize_t m = gw_api_match_listen(api, path, strlen(path), false);
    return m > 0 ? (size_t)m : 0;
}

static void set_path(gw_req_t *req, const char *path, size_t len)
{
    req->path = len ? tk_arena_strndup(req->arena, path, len) : "/";
    req->path_len = strlen(req->path);
    req->matched = listen_prefix(req->api, req->path);
    req->version_segment_len = 0;
    req->ep_npaths = 0;
}

/* Tyk's APILoopingName: categories ("name #cat") cut (with the character before the '#'),
 * then runs of other characters than letters and digits turned into "-". */
static bool looping_name_is(const char *name, const char *host)
{
    size_t n = strlen(name);
    const char *hash = strchr(name, '#');
    if (hash)
        n = hash > name ? (size_t)(hash - name) - 1 : 0;
    char buf[512];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < sizeof(buf);) {
        if (isalnum((unsigned char)name[i])) {
            buf[o++] = name[i++];
            continue;
        }
        buf[o++] = '-';
        while (i < n && !isalnum((unsigned char)name[i]))
            i++;
    }
    buf[o] = 0;
    return strcasecmp(buf, host) == 0;
}

static const gw_api_t *find_loop_target(const gw_req_t *req, const char *host)
{
    if (strcmp(host, "self") == 0)
        return req->api;
    const gw_gen_t *g = req->gref->gen;
    for (size_t i = 0; i < g->napis; i++) {
        const gw_api_t *a = g->apis[i];
        const char *id = json_string_value(json_object_get(a->def, "id"));
        if (strcmp(a->api_id, host) == 0 || (id && *id && strcmp(id, host) == 0) ||
            looping_name_is(a->name, host))
            return a;
    }
    return NULL;
}

/* tyk://<target>/<path>?<options>: the request runs through the target API's whole chain. */
static int loop(gw_req_t *req, const char *url)
{
    int limit = req->loop_limit ? req->loop_limit : GW_LOOP_DEFAULT_LIMIT;
    if (req->loop_level > limit)
        return answer(req, 500,
                      tk_arena_printf(req->arena,
                                      "Loop level too deep. Found more than %d loops in single "
                                      "request",
                                      limit));
    const char *host = url + 6;
    size_t hl = strcspn(host, "/?#");
    const char *rest = host + hl;
    size_t pl = strcspn(rest, "?#");
    const char *opts =
        rest[pl] == '?' ? tk_arena_strndup(req->arena, rest + pl + 1, strcspn(rest + pl + 1, "#"))
                        : NULL;
    char *hname = tk_arena_strndup(req->arena, host, hl);
    const gw_api_t *target = hname ? find_loop_target(req, hname) : NULL;
    if (!target)
        return answer(req, 500, "Can't detect loop target");
    const char *m = opts ? query_value(req->arena, opts, "method") : NULL;
    if (m && *m) {
        req->head->method = m;
        req->head->method_len = (uint32_t)strlen(m);
    }
    const char *ll = opts ? query_value(req->arena, opts, "loop_limit") : NULL;
    long lim = ll ? strtol(ll, NULL, 10) : 0;
    if (!req->loop_limit && lim > 0)
        req->loop_limit = (uint8_t)(lim > 255 ? 255 : lim); /* set once per request */
    const char *cl = opts ? query_value(req->arena, opts, "check_limits") : NULL;
    req->loop_check_limits = cl && strcmp(cl, "true") == 0;
    req->loop_level++;

    /* The query stays the one the client sent (Tyk restores the original request's). */
    bool self = target == req->api;
    if (!self) {
        req->version = NULL; /* resolved again by the target */
        /* the target authenticates again; a keyless target keeps the caller's session */
        if (!target->use_keyless && req->session) {
            gw_sref_put(req->session);
            req->session = NULL;
        }
    }
    req->api = target;
    set_path(req, rest, pl);
    req->ep_ignored = false;
    req->mw_index = 0;
    req->err_status = 0;
    req->err_msg = NULL;
    req->n_resp_filters = 0; /* the looping API's response middleware never runs */
    tk_log_debug("api=%s loop %u to %s", req->api->api_id, req->loop_level, url);
    gw_pipeline_run(req);
    return TK_DONE;
}

/* http(s)://host/path?query: that host instead of the API's target, the path as written. */
static int full_url(gw_req_t *req, const char *url)
{
    gw_target_t t;
    const char *why = NULL;
    if (gw_target_parse(&t, url, &why) != TK_OK) {
        tk_log_warn("api=%s URL rewrite to %s: %s", req->api->api_id, url, why ? why : "invalid");
        return answer(req, 500, "There was a problem proxying the request");
    }
    gw_target_t *o = tk_arena_zalloc(req->arena, sizeof(*o));
    if (o) {
        o->url = tk_arena_strdup(req->arena, url);
        o->scheme = tk_arena_strdup(req->arena, t.scheme);
        o->host = tk_arena_strdup(req->arena, t.host);
        o->hostport = tk_arena_strdup(req->arena, t.hostport);
        o->port = t.port;
        o->tls = t.tls;
        o->path = "";
        o->query = req->api->target.query; /* Tyk still adds the API target's query */
    }
    const char *path = t.path && *t.path ? tk_arena_strdup(req->arena, t.path) : "/";
    const char *query = t.query ? tk_arena_strdup(req->arena, t.query) : NULL;
    gw_target_clear(&t);
    if (!o || !o->scheme || !o->host || !o->hostport || !path)
        return answer(req, 500, "There was a problem proxying the request");
    req->target_override = o;
    set_path(req, path, strlen(path));
    req->query = query;
    return TK_OK;
}

static bool has_scheme(const char *s, size_t *len)
{
    size_t i = 0;
    if (!isalpha((unsigned char)s[0]))
        return false;
    while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    *len = i;
    return s[i] == ':';
}

int gw_rewrite_apply(gw_req_t *req)
{
    const char *url = req->rewrite_to;
    req->rewrite_to = NULL;
    if (req->method_to) {
        /* the upstream (and the analytics record) get the new method, as Tyk's r.Method */
        req->head->method = req->method_to;
        req->head->method_len = (uint32_t)strlen(req->method_to);
        req->method_to = NULL;
    }
    if (!url)
        return TK_OK;
    size_t sl;
    if (has_scheme(url, &sl)) {
        if (sl == 3 && strncasecmp(url, "tyk", 3) == 0 && strncmp(url + 3, "://", 3) == 0)
            return loop(req, url);
        if (strncmp(url + sl, "://", 3) == 0)
            return full_url(req, url);
        tk_log_warn("api=%s URL rewrite to %s: unsupported URL", req->api->api_id, url);
        return answer(req, 500, "There was a problem proxying the request");
    }
    /* A path (and query): the API's target stays; a query only if the rewrite has one. */
    size_t pl = strcspn(url, "?#");
    set_path(req, url, pl);
    req->query = url[pl] == '?'
                     ? tk_arena_strndup(req->arena, url + pl + 1, strcspn(url + pl + 1, "#"))
                     : NULL;
    return TK_OK;
}
