/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CORS (Tyk §9.1 step 3): the API's `CORS` object with the semantics of the rs/cors release
 * Tyk links (v1.11):
 * - a pre-flight (OPTIONS with Access-Control-Request-Method) is answered 204 by the gateway:
 *   always "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers", and,
 *   when origin, method and requested headers are allowed, Access-Control-Allow-Origin ("*"
 *   when every origin is allowed, else the Origin as sent), -Allow-Methods (the requested
 *   method as sent), -Allow-Headers (the requested list as sent), -Allow-Credentials,
 *   -Max-Age;
 * - any other request gets "Vary: Origin" and, for an allowed origin and method,
 *   Access-Control-Allow-Origin / -Expose-Headers / -Allow-Credentials on whatever answers it
 *   (proxied, error or mock); the upstream's own copies of those headers are dropped;
 * - a plain OPTIONS (no Access-Control-Request-Method) is answered 200 with an empty body;
 * - with options_passthrough every middleware is skipped for OPTIONS requests (even with CORS
 *   disabled) and the upstream answers them: see gw_mw_options_passthrough.
 * Origins match case-insensitively, with at most one "*" per pattern; methods match
 * case-sensitively (default GET, POST, HEAD); requested headers must be lower-case, sorted,
 * unique members of allowed_headers (default accept, content-type, x-requested-with).
 */
#include "gw_mw_common.h"
#include "gw_resp_filter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

typedef struct wildcard {
    char *prefix, *suffix;
} wildcard_t;

struct cors {
    bool origins_all;
    char **origins; /* lower-case */
    size_t norigins;
    wildcard_t *wild;
    size_t nwild;
    bool headers_all;
    char **headers; /* lower-case, sorted, unique */
    size_t nheaders;
    char **methods; /* as configured */
    size_t nmethods;
    char *exposed; /* "A, B" canonicalised, or NULL */
    bool credentials;
    char *max_age; /* NULL when not sent */
};

static bool is_options(const gw_req_t *req)
{
    return req->head->method_len == 7 && memcmp(req->head->method, "OPTIONS", 7) == 0;
}

/* ---- options_passthrough: OPTIONS requests skip every middleware ---- */

static bool passthrough_enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return json_is_true(json_object_get(json_object_get(api->def, "CORS"), "options_passthrough"));
}

static int passthrough_on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    if (is_options(req))
        req->mw_index = req->api->nchain - 1; /* the pipeline steps past the end: the proxy */
    return TK_OK;
}

/* ---- configuration ---- */

static char *lower_dup(const char *s)
{
    char *d = tk_xstrdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Go's http.CanonicalHeaderKey: "x-rate-limit" → "X-Rate-Limit"; names with bytes that are
 * not header-token characters are left as they are. */
static char *canonical_dup(const char *s)
{
    char *d = tk_xstrdup(s);
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *p))
            return d;
    bool up = true;
    for (char *p = d; *p; p++) {
        *p = (char)(up ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        up = *p == '-';
    }
    return d;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The strings of a JSON array; a non-string member is an error naming its index. */
static int strings_of(const gw_api_t *api, const char *field, const char ***out, size_t *n,
                      tk_conf_errors_t *errs)
{
    json_t *arr = json_object_get(json_object_get(api->def, "CORS"), field);
    *out = NULL;
    *n = 0;
    if (!arr || json_is_null(arr))
        return TK_OK;
    if (!json_is_array(arr)) {
        tk_conf_errors_add(errs, "%s: API %s: CORS.%s: must be a list of strings", api->file,
                           api->api_id, field);
        return TK_ERROR;
    }
    *out = tk_xcalloc(json_array_size(arr) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s) {
            tk_conf_errors_add(errs, "%s: API %s: CORS.%s[%zu]: must be a string", api->file,
                               api->api_id, field, i);
            free(*out);
            *out = NULL;
            return TK_ERROR;
        }
        (*out)[(*n)++] = s;
    }
    return TK_OK;
}

static void cors_free(struct cors *c)
{
    for (size_t i = 0; i < c->norigins; i++)
        free(c->origins[i]);
    free(c->origins);
    for (size_t i = 0; i < c->nwild; i++) {
        free(c->wild[i].prefix);
        free(c->wild[i].suffix);
    }
    free(c->wild);
    for (size_t i = 0; i < c->nheaders; i++)
        free(c->headers[i]);
    free(c->headers);
    for (size_t i = 0; i < c->nmethods; i++)
        free(c->methods[i]);
    free(c->methods);
    free(c->exposed);
    free(c->max_age);
    free(c);
}

static void build_origins(struct cors *c, const char **list, size_t n)
{
    if (n == 0) {
        c->origins_all = true;
        return;
    }
    c->origins = tk_xcalloc(n, sizeof(char *));
    c->wild = tk_xcalloc(n, sizeof(wildcard_t));
    for (size_t i = 0; i < n && !c->origins_all; i++) {
        char *o = lower_dup(list[i]);
        char *star = strchr(o, '*');
        if (strcmp(o, "*") == 0) {
            c->origins_all = true; /* "*" anywhere in the list allows every origin */
            free(o);
        } else if (star) {
            c->wild[c->nwild].prefix = tk_xstrndup(o, (size_t)(star - o));
            c->wild[c->nwild].suffix = tk_xstrdup(star + 1);
            c->nwild++;
            free(o);
        } else {
            c->origins[c->norigins++] = o;
        }
    }
}

static void build_headers(struct cors *c, const char **list, size_t n)
{
    static const char *const defaults[] = {"accept", "content-type", "x-requested-with"};
    if (n == 0) {
        list = (const char **)defaults;
        n = TK_ARRAY_LEN(defaults);
    }
    c->headers = tk_xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], "*") == 0)
            c->headers_all = true;
        c->headers[c->nheaders++] = lower_dup(list[i]);
    }
    qsort(c->headers, c->nheaders, sizeof(char *), cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < c->nheaders; i++) {
        if (w && strcmp(c->headers[w - 1], c->headers[i]) == 0)
            free(c->headers[i]);
        else
            c->headers[w++] = c->headers[i];
    }
    c->nheaders = w;
}

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return json_is_true(json_object_get(json_object_get(api->def, "CORS"), "enable"));
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    json_t *cfg = json_object_get(api->def, "CORS");
    const char **origins, **headers, **methods, **exposed;
    size_t no, nh, nm, ne;
    int rc = strings_of(api, "allowed_origins", &origins, &no, errs);
    rc |= strings_of(api, "allowed_headers", &headers, &nh, errs);
    rc |= strings_of(api, "allowed_methods", &methods, &nm, errs);
    rc |= strings_of(api, "exposed_headers", &exposed, &ne, errs);
    json_t *max_age = json_object_get(cfg, "max_age");
    if (max_age && !json_is_null(max_age) && !json_is_integer(max_age)) {
        tk_conf_errors_add(errs, "%s: API %s: CORS.max_age: must be an integer", api->file,
                           api->api_id);
        rc = TK_ERROR;
    }
    struct cors *c = tk_xcalloc(1, sizeof(*c));
    if (rc == TK_OK) {
        build_origins(c, origins, no);
        build_headers(c, headers, nh);
        static const char *const default_methods[] = {"GET", "POST", "HEAD"};
        const char *const *ml = nm ? methods : default_methods;
        size_t mn = nm ? nm : TK_ARRAY_LEN(default_methods);
        c->methods = tk_xcalloc(mn, sizeof(char *));
        for (size_t i = 0; i < mn; i++)
            c->methods[c->nmethods++] = tk_xstrdup(ml[i]);
        if (ne) {
            size_t len = 1;
            char **canon = tk_xcalloc(ne, sizeof(char *));
            for (size_t i = 0; i < ne; i++) {
                canon[i] = canonical_dup(exposed[i]);
                len += strlen(canon[i]) + 2;
            }
            c->exposed = tk_xcalloc(1, len);
            for (size_t i = 0; i < ne; i++) {
                if (i)
                    strncat(c->exposed, ", ", len - strlen(c->exposed) - 1);
                strncat(c->exposed, canon[i], len - strlen(c->exposed) - 1);
                free(canon[i]);
            }
            free(canon);
        }
        c->credentials = json_is_true(json_object_get(cfg, "allow_credentials"));
        json_int_t age = json_integer_value(max_age);
        if (age != 0) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%lld", age > 0 ? (long long)age : 0LL);
            c->max_age = tk_xstrdup(buf);
        }
    }
    free(origins);
    free(headers);
    free(methods);
    free(exposed);
    if (rc != TK_OK) {
        cors_free(c); /* a failed init is not disposed: the middleware never joins the chain */
        return TK_ERROR;
    }
    mw->state = c;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    if (mw->state)
        cors_free(mw->state);
}

/* ---- per request ---- */

static bool origin_allowed(const struct cors *c, const char *o, size_t len)
{
    if (c->origins_all)
        return true;
    for (size_t i = 0; i < c->norigins; i++)
        if (strlen(c->origins[i]) == len && strncasecmp(c->origins[i], o, len) == 0)
            return true;
    for (size_t i = 0; i < c->nwild; i++) {
        size_t pl = strlen(c->wild[i].prefix), sl = strlen(c->wild[i].suffix);
        if (len >= pl + sl && strncasecmp(o, c->wild[i].prefix, pl) == 0 &&
            strncasecmp(o + len - sl, c->wild[i].suffix, sl) == 0)
            return true;
    }
    return false;
}

static bool method_allowed(const struct cors *c, const char *m, size_t len)
{
    if (len == 7 && memcmp(m, "OPTIONS", 7) == 0)
        return true; /* pre-flights are always allowed */
    for (size_t i = 0; i < c->nmethods; i++)
        if (strlen(c->methods[i]) == len && memcmp(c->methods[i], m, len) == 0)
            return true;
    return false;
}

/* Position of @name in the sorted allowed set, or -1. */
static long header_pos(const struct cors *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->nheaders; i++)
        if (strlen(c->headers[i]) == len && memcmp(c->headers[i], name, len) == 0)
            return (long)i;
    return -1;
}

/* Every Access-Control-Request-Headers line: comma-separated names, at most one byte of
 * optional whitespace around each, a few empty elements tolerated, each name an allowed
 * header in strictly increasing (sorted, unique) order. */
static bool headers_allowed(const struct cors *c, const gw_req_t *req)
{
    long last = -1;
    int empty = 0;
    const tk_http_head_t *h = req->head;
    for (uint32_t i = 0; i < h->nhdrs; i++) {
        if (!tk_str_ieq(h->hdrs[i].name, h->hdrs[i].name_len, "access-control-request-headers"))
            continue;
        const char *p = h->hdrs[i].value, *end = p + h->hdrs[i].value_len;
        for (;;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end, *s = p;
            if (s < e && (*s == ' ' || *s == '\t'))
                s++;
            if (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (s < e && (*s == ' ' || *s == '\t' || e[-1] == ' ' || e[-1] == '\t'))
                return false; /* more whitespace than tolerated */
            if (s == e) {
                if (++empty > 16)
                    return false;
            } else {
                long pos = header_pos(c, s, (size_t)(e - s));
                if (pos <= last)
                    return false;
                last = pos;
            }
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return true;
}

static void add_line(struct evbuffer *b, const char *name, const char *v, size_t len)
{
    evbuffer_add_printf(b, "%s: %.*s\r\n", name, (int)len, v);
}

static void respond_preflight(const struct cors *c, gw_req_t *req)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "Vary: Origin, Access-Control-Request-Method, "
                           "Access-Control-Request-Headers\r\n");
    const tk_http_hdr_t *origin = gw_req_header(req, "origin");
    const tk_http_hdr_t *method = gw_req_header(req, "access-control-request-method");
    if (origin && origin->value_len && origin_allowed(c, origin->value, origin->value_len) &&
        method_allowed(c, method->value, method->value_len) &&
        (c->headers_all || headers_allowed(c, req))) {
        if (c->origins_all)
            add_line(b, "Access-Control-Allow-Origin", "*", 1);
        else
            add_line(b, "Access-Control-Allow-Origin", origin->value, origin->value_len);
        add_line(b, "Access-Control-Allow-Methods", method->value, method->value_len);
        const tk_http_head_t *h = req->head;
        bool first = true;
        for (uint32_t i = 0; i < h->nhdrs; i++) {
            if (!tk_str_ieq(h->hdrs[i].name, h->hdrs[i].name_len, "access-control-request-headers"))
                continue;
            /* rs/cors echoes the lines as sent, unless the first one is empty */
            if (first && h->hdrs[i].value_len == 0)
                break;
            first = false;
            add_line(b, "Access-Control-Allow-Headers", h->hdrs[i].value, h->hdrs[i].value_len);
        }
        if (c->credentials)
            add_line(b, "Access-Control-Allow-Credentials", "true", 4);
        if (c->max_age)
            add_line(b, "Access-Control-Max-Age", c->max_age, strlen(c->max_age));
    }
    if (!req->body_done)
        req->conn->close_after = true;
    /* 204: no Content-Length, no body (as Go writes it) */
    gw_req_write_head(req, 204, b, -1, false);
    evbuffer_free(b);
    gw_req_finish(req);
}

/* The upstream's own copies of the CORS headers the gateway set are dropped (Tyk's proxy does
 * the same); its Vary values are kept next to ours. */
static void drop_upstream_cors(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs)
{
    TK_UNUSED(req);
    TK_UNUSED(status);
    const struct cors *c = arg;
    gw_hdrs_remove(hdrs, "Access-Control-Allow-Origin");
    if (c->exposed)
        gw_hdrs_remove(hdrs, "Access-Control-Expose-Headers");
    if (c->credentials)
        gw_hdrs_remove(hdrs, "Access-Control-Allow-Credentials");
}

static const gw_resp_filter_def_t drop_filter = {.name = "CORS", .on_head = drop_upstream_cors};

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    const struct cors *c = mw->state;
    bool options = is_options(req);
    const tk_http_hdr_t *acrm = gw_req_header(req, "access-control-request-method");
    if (options && acrm && acrm->value_len) {
        respond_preflight(c, req);
        return TK_DONE;
    }
    const tk_http_hdr_t *origin = gw_req_header(req, "origin");
    bool allowed = origin && origin->value_len &&
                   origin_allowed(c, origin->value, origin->value_len) &&
                   method_allowed(c, req->head->method, req->head->method_len);
    if (!allowed) {
        gw_req_add_resp_headers(req, "Vary: Origin\r\n");
    } else {
        const char *lines = tk_arena_printf(
            req->arena, "Vary: Origin\r\nAccess-Control-Allow-Origin: %.*s\r\n%s%s%s%s",
            c->origins_all ? 1 : (int)origin->value_len, c->origins_all ? "*" : origin->value,
            c->exposed ? "Access-Control-Expose-Headers: " : "", c->exposed ? c->exposed : "",
            c->exposed ? "\r\n" : "",
            c->credentials ? "Access-Control-Allow-Credentials: true\r\n" : "");
        if (!lines) {
            req->err_status = 500;
            return TK_ERROR;
        }
        gw_req_add_resp_headers(req, lines);
        if (!options)
            gw_resp_filter_add(req, &drop_filter, (void *)c);
    }
    if (options) {
        /* Tyk stops every OPTIONS request here; nothing is written, so Go answers 200. */
        gw_respond(req, 200, NULL, "", 0, NULL);
        return TK_DONE;
    }
    return TK_OK;
}

const gw_mw_def_t gw_mw_options_passthrough = {
    .name = "CORSOptionsPassthrough",
    .phase = GW_PHASE_PRE,
    .enabled = passthrough_enabled,
    .on_req = passthrough_on_req,
};

const gw_mw_def_t gw_mw_cors = {
    .name = "CORSMiddleware",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
