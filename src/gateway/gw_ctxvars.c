/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request context variables. ContextVars (mw_context_vars.c) takes a snapshot of the request
 * when it runs (Tyk's MiddlewareContextVars: headers, cookies, form and query values, path,
 * client address, a fresh v4 UUID); later changes to the request do not show through, as in
 * Tyk where the values sit in a map built at that step. "token" is the credential the auth
 * step accepted. Values are turned into text with Tyk's rules (valToStr): strings as they are,
 * numbers with float32 precision, lists joined with ",", form values as "k:v1,v2;k2:v".
 */
#include "gw_ctxvars.h"
#include "gw_conf.h"
#include "gw_req_hdrs.h"
#include "gw_session.h"

#include "tk_hash.h"
#include "tk_url.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct gw_kv {
    const char *k, *v;
} gw_kv_t;

struct gw_ctx_data {
    bool captured; /* ContextVars ran (enable_context_vars) */
    tk_http_hdr_t *hdrs;
    uint32_t nhdrs;
    const char *host, *path, *path_parts, *remote_addr, *request_id, *request_data;
    gw_kv_t *form; /* body values first, then query values (Go's r.Form) */
    size_t nform;
    gw_kv_t *extra; /* set later (URL rewrite triggers) */
    size_t nextra, cap_extra;
};

static const gw_conf_t *conf_of(const gw_req_t *req)
{
    return req->conn->w->srv->conf;
}

/* ---- decoding ---- */

/* Go's url.ParseQuery: pairs split on '&'; a pair with ';' or a bad escape is skipped. */
static void parse_pairs(tk_arena_t *a, const char *p, size_t n, gw_kv_t **arr, size_t *cnt)
{
    size_t pos = 0;
    while (pos < n) {
        const char *amp = memchr(p + pos, '&', n - pos);
        size_t len = amp ? (size_t)(amp - (p + pos)) : n - pos;
        const char *s = p + pos;
        pos += len + 1;
        if (len == 0 || memchr(s, ';', len))
            continue;
        const char *eq = memchr(s, '=', len);
        size_t kl = eq ? (size_t)(eq - s) : len;
        char *k = tk_url_unescape(a, s, kl, true, true);
        char *v =
            eq ? tk_url_unescape(a, eq + 1, len - kl - 1, true, true) : tk_arena_strdup(a, "");
        if (!k || !v)
            continue;
        gw_kv_t *na = tk_arena_alloc(a, (*cnt + 1) * sizeof(*na));
        if (!na)
            return;
        if (*cnt)
            memcpy(na, *arr, *cnt * sizeof(*na));
        na[*cnt] = (gw_kv_t){k, v};
        *arr = na;
        (*cnt)++;
    }
}

/* ---- Tyk's value-to-text rules ---- */

/* strconv.FormatFloat(x, 'f', -1, 32): the shortest digits that read back as the same
 * float32, written without an exponent. */
static char *fmt_float32(tk_arena_t *a, double x)
{
    float f = (float)x;
    if (isnan(f))
        return tk_arena_strdup(a, "NaN");
    if (isinf(f))
        return tk_arena_strdup(a, f > 0 ? "+Inf" : "-Inf");
    char e[48];
    for (int prec = 0; prec < 9; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, (double)f);
        if (strtof(e, NULL) == f)
            break;
    }
    /* e = [-]d[.ddd]e±XX → digits and decimal exponent */
    bool neg = e[0] == '-';
    const char *p = e + (neg ? 1 : 0);
    char digits[16];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p) && nd < sizeof(digits))
            digits[nd++] = *p;
    int exp10 = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    char out[96];
    size_t o = 0;
    if (neg && !(nd == 1 && digits[0] == '0'))
        out[o++] = '-';
    int point = exp10 + 1; /* digits before the decimal point */
    if (point <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -point && o < 80; i++)
            out[o++] = '0';
        for (size_t i = 0; i < nd && o < 94; i++)
            out[o++] = digits[i];
    } else {
        for (int i = 0; i < point && o < 94; i++)
            out[o++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)point < nd) {
            out[o++] = '.';
            for (size_t i = (size_t)point; i < nd && o < 94; i++)
                out[o++] = digits[i];
        }
    }
    out[o] = '\0';
    return tk_arena_strdup(a, out);
}

/* url.QueryEscape */
static char *query_escape(tk_arena_t *a, const char *s)
{
    size_t n = strlen(s);
    char *out = tk_arena_alloc(a, n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            out[o++] = (char)c;
        else if (c == ' ')
            out[o++] = '+';
        else
            o += (size_t)snprintf(out + o, 4, "%%%02X", c);
    }
    out[o] = '\0';
    return out;
}

/* valToStr for a JSON value (session meta_data): unsupported types give "". */
static const char *json_text(tk_arena_t *a, const json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_number(v))
        return fmt_float32(a, json_number_value(v));
    if (json_is_array(v)) {
        char *acc = NULL;
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x)
        {
            const char *s = json_text(a, x);
            if (!s || !*s)
                continue;
            char *e = query_escape(a, s);
            acc = acc ? tk_arena_printf(a, "%s,%s", acc, e) : e;
        }
        return acc ? acc : "";
    }
    return "";
}

/* ---- the snapshot ---- */

static struct gw_ctx_data *data_of(gw_req_t *req)
{
    if (!req->ctx_data)
        req->ctx_data = tk_arena_zalloc(req->arena, sizeof(*req->ctx_data));
    return req->ctx_data;
}

/* request.RealIP (gw_req_real_ip), as an arena string. */
static const char *real_ip(gw_req_t *req)
{
    tk_str_t ip = gw_req_real_ip(req);
    return tk_arena_strndup(req->arena, ip.p, ip.len);
}

/* "k:v1,v2;k2:v" over the form values, keys in order of first appearance. */
static const char *form_text(tk_arena_t *a, const gw_kv_t *f, size_t n)
{
    char *acc = tk_arena_strdup(a, "");
    for (size_t i = 0; i < n && acc; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(f[j].k, f[i].k) == 0;
        if (seen)
            continue;
        char *vals = NULL;
        for (size_t j = i; j < n; j++)
            if (strcmp(f[j].k, f[i].k) == 0)
                vals = vals ? tk_arena_printf(a, "%s,%s", vals, f[j].v) : (char *)f[j].v;
        acc = tk_arena_printf(a, "%s%s%s:%s", acc, *acc ? ";" : "", f[i].k, vals ? vals : "");
    }
    return acc ? acc : "";
}

int gw_ctx_capture(gw_req_t *req, const char *form_body, size_t form_len)
{
    struct gw_ctx_data *d = data_of(req);
    if (!d)
        return TK_ERROR;
    tk_arena_t *a = req->arena;
    const tk_http_head_t *h = req->head;
    d->captured = true;
    d->nhdrs = h->nhdrs;
    d->hdrs = tk_arena_alloc(a, (h->nhdrs ? h->nhdrs : 1) * sizeof(*d->hdrs));
    if (!d->hdrs)
        return TK_ERROR;
    if (h->nhdrs)
        memcpy(d->hdrs, h->hdrs, h->nhdrs * sizeof(*d->hdrs));
    const tk_http_hdr_t *host = tk_http_head_find(h, "host");
    d->host = host ? tk_arena_strndup(a, host->value, host->value_len) : "";
    char *path = tk_url_unescape(a, req->path, req->path_len, false, true);
    d->path = path ? path : tk_arena_strndup(a, req->path, req->path_len);
    /* strings.Split(path, "/") joined with "," minus a leading "," */
    char *parts = tk_arena_strdup(a, d->path);
    for (char *p = parts; p && *p; p++)
        if (*p == '/')
            *p = ',';
    d->path_parts = parts && parts[0] == ',' ? parts + 1 : parts;
    d->remote_addr = real_ip(req);
    char id[37];
    tk_uuid_str(id);
    d->request_id = tk_arena_strdup(a, id);
    if (form_body && form_len)
        parse_pairs(a, form_body, form_len, &d->form, &d->nform);
    if (req->query)
        parse_pairs(a, req->query, strlen(req->query), &d->form, &d->nform);
    d->request_data = form_text(a, d->form, d->nform);
    return TK_OK;
}

void gw_ctx_set(gw_req_t *req, const char *name, const char *value)
{
    struct gw_ctx_data *d = data_of(req);
    if (!d)
        return;
    for (size_t i = 0; i < d->nextra; i++) {
        if (strcmp(d->extra[i].k, name) == 0) {
            d->extra[i].v = tk_arena_strdup(req->arena, value);
            return;
        }
    }
    if (d->nextra == d->cap_extra) {
        size_t cap = d->cap_extra ? d->cap_extra * 2 : 8;
        gw_kv_t *na = tk_arena_alloc(req->arena, cap * sizeof(*na));
        if (!na)
            return;
        if (d->nextra)
            memcpy(na, d->extra, d->nextra * sizeof(*na));
        d->extra = na;
        d->cap_extra = cap;
    }
    d->extra[d->nextra++] =
        (gw_kv_t){tk_arena_strdup(req->arena, name), tk_arena_strdup(req->arena, value)};
}

void gw_ctx_set_jwt_claims(gw_req_t *req, const json_t *header, const json_t *claims)
{
    if (!req->ctx_data || !req->ctx_data->captured)
        return; /* Tyk: only with enable_context_vars, into the context ContextVars made */
    const json_t *sets[2] = {header, claims};
    for (size_t i = 0; i < 2; i++) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)sets[i], k, v)
        {
            char *name = tk_arena_printf(req->arena, "jwt_claims_%s", k);
            const char *s = json_text(req->arena, v);
            if (name && s)
                gw_ctx_set(req, name, s);
        }
    }
}

/* Does @name (a header / cookie / form key) turned into a variable suffix ('-' → '_') equal
 * the @len bytes at @want? */
static bool suffix_eq(const char *name, size_t nlen, const char *want, size_t len)
{
    if (nlen != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((name[i] == '-' ? '_' : name[i]) != want[i])
            return false;
    return true;
}

static bool has_prefix(const char *name, size_t len, const char *pfx, size_t *plen)
{
    *plen = strlen(pfx);
    return len > *plen && memcmp(name, pfx, *plen) == 0;
}

static const char *cookie_var(gw_req_t *req, const struct gw_ctx_data *d, const char *want,
                              size_t len)
{
    const char *found = NULL;
    for (uint32_t i = 0; i < d->nhdrs; i++) {
        const tk_http_hdr_t *h = &d->hdrs[i];
        if (!tk_str_ieq(h->name, h->name_len, "cookie"))
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            while (p < e && *p == ' ')
                p++;
            const char *eq = memchr(p, '=', (size_t)(e - p));
            if (eq && eq > p && suffix_eq(p, (size_t)(eq - p), want, len)) {
                const char *v = eq + 1;
                size_t vl = (size_t)(e - v);
                while (vl && v[vl - 1] == ' ')
                    vl--;
                if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                    v++;
                    vl -= 2;
                }
                found = tk_arena_strndup(req->arena, v, vl); /* the last one wins, as in Tyk */
            }
            p = semi ? semi + 1 : end;
        }
    }
    return found;
}

const char *gw_ctx_var(gw_req_t *req, const char *name, size_t len)
{
    const struct gw_ctx_data *d = req->ctx_data;
    if (!d)
        return NULL;
    for (size_t i = 0; i < d->nextra; i++)
        if (strlen(d->extra[i].k) == len && memcmp(d->extra[i].k, name, len) == 0)
            return d->extra[i].v;
    if (!d->captured)
        return NULL;
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
    if (IS("request_data"))
        return d->request_data;
    if (IS("path"))
        return d->path;
    if (IS("path_parts"))
        return d->path_parts;
    if (IS("remote_addr"))
        return d->remote_addr;
    if (IS("request_id"))
        return d->request_id;
    if (IS("headers_Host"))
        return d->host;
    if (IS("headers"))
        return ""; /* a map: Tyk cannot render it as text */
    if (IS("token"))
        return req->token;
#undef IS
    size_t pl;
    if (has_prefix(name, len, "headers_", &pl)) {
        for (uint32_t i = 0; i < d->nhdrs; i++) {
            const tk_http_hdr_t *h = &d->hdrs[i];
            char *canon = gw_canonical_header(req->arena, h->name, h->name_len);
            if (canon && suffix_eq(canon, h->name_len, name + pl, len - pl))
                return tk_arena_strndup(req->arena, h->value, h->value_len);
        }
        return NULL;
    }
    if (has_prefix(name, len, "cookies_", &pl))
        return cookie_var(req, d, name + pl, len - pl);
    if (has_prefix(name, len, "request_data_", &pl)) {
        for (size_t i = 0; i < d->nform; i++)
            if (suffix_eq(d->form[i].k, strlen(d->form[i].k), name + pl, len - pl))
                return d->form[i].v;
        return NULL;
    }
    return NULL;
}

const char *gw_meta_var(gw_req_t *req, const char *name, size_t len)
{
    if (!req->session || !req->session->s || !req->session->s->meta_data)
        return NULL;
    char *key = tk_arena_strndup(req->arena, name, len);
    json_t *v = key ? json_object_get(req->session->s->meta_data, key) : NULL;
    return v ? json_text(req->arena, v) : NULL;
}

/* ---- expansion ---- */

enum var_kind { V_SECRET_CONF, V_SECRET_ENV, V_VAULT, V_CONSUL, V_CONTEXT, V_META };

static const struct {
    const char *label;
    enum var_kind kind;
    bool slash; /* '/' may appear in the name */
} labels[] = {
    {"$secret_conf.", V_SECRET_CONF, false}, {"$secret_env.", V_SECRET_ENV, false},
    {"$secret_vault.", V_VAULT, true},       {"$secret_consul.", V_CONSUL, true},
    {"$tyk_context.", V_CONTEXT, false},     {"$tyk_meta.", V_META, false},
};

static bool name_char(char c, bool slash)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || (slash && c == '/');
}

static const char *lookup(gw_req_t *req, enum var_kind kind, const char *name, size_t len,
                          bool url_escape)
{
    const char *v = NULL;
    switch (kind) {
    case V_SECRET_CONF: {
        char *k = tk_arena_strndup(req->arena, name, len);
        const json_t *secrets = conf_of(req)->secrets;
        v = k && secrets ? json_string_value(json_object_get(secrets, k)) : NULL;
        return v ? v : "";
    }
    case V_SECRET_ENV: {
        char *env = tk_arena_printf(req->arena, "TYK_SECRET_%.*s", (int)len, name);
        for (char *p = env ? env + 11 : NULL; p && *p; p++)
            *p = (char)toupper((unsigned char)*p);
        v = env ? getenv(env) : NULL;
        return v ? v : "";
    }
    case V_VAULT:
    case V_CONSUL:
        return ""; /* no Vault / Consul store configured: Tyk writes "" */
    case V_CONTEXT:
        v = gw_ctx_var(req, name, len);
        break;
    case V_META:
        v = gw_meta_var(req, name, len);
        break;
    }
    if (!v)
        return "";
    if (url_escape && strncmp(v, "http", 4) != 0)
        v = query_escape(req->arena, v);
    return v ? v : "";
}

static char *expand_label(gw_req_t *req, const char *text, size_t li, bool url_escape)
{
    const char *label = labels[li].label;
    size_t ll = strlen(label);
    if (!strstr(text, label))
        return (char *)text;
    struct evbuffer *out = evbuffer_new();
    if (!out)
        return (char *)text;
    const char *p = text;
    for (;;) {
        const char *hit = strstr(p, label);
        if (!hit) {
            evbuffer_add(out, p, strlen(p));
            break;
        }
        const char *n = hit + ll;
        size_t nl = 0;
        while (name_char(n[nl], labels[li].slash))
            nl++;
        evbuffer_add(out, p, (size_t)(hit - p));
        if (nl == 0) { /* "$tyk_context." with no name stays as written */
            evbuffer_add(out, hit, ll);
        } else {
            const char *v = lookup(req, labels[li].kind, n, nl, url_escape);
            evbuffer_add(out, v, strlen(v));
        }
        p = n + nl;
    }
    size_t len = evbuffer_get_length(out);
    char *s = tk_arena_alloc(req->arena, len + 1);
    if (s) {
        evbuffer_remove(out, s, len);
        s[len] = '\0';
    }
    evbuffer_free(out);
    return s ? s : (char *)text;
}

char *gw_ctx_expand_ex(gw_req_t *req, const char *text, bool url_escape)
{
    char *s = tk_arena_strdup(req->arena, text ? text : "");
    if (!s || !strchr(s, '$'))
        return s;
    for (size_t i = 0; i < TK_ARRAY_LEN(labels); i++)
        s = expand_label(req, s, i, url_escape);
    return s;
}

char *gw_ctx_expand(gw_req_t *req, const char *text)
{
    return gw_ctx_expand_ex(req, text, false);
}

/* cookies_<name> for every cookie (the last of a name wins, as in Tyk's loop). */
static void add_cookies_json(gw_req_t *req, const struct gw_ctx_data *d, json_t *o)
{
    for (uint32_t i = 0; i < d->nhdrs; i++) {
        const tk_http_hdr_t *h = &d->hdrs[i];
        if (!tk_str_ieq(h->name, h->name_len, "cookie"))
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            while (p < e && *p == ' ')
                p++;
            const char *eq = memchr(p, '=', (size_t)(e - p));
            if (eq && eq > p) {
                char *vn = tk_arena_printf(req->arena, "cookies_%.*s", (int)(eq - p), p);
                for (char *q = vn ? vn + 8 : NULL; q && *q; q++)
                    if (*q == '-')
                        *q = '_';
                const char *v = vn ? cookie_var(req, d, vn + 8, strlen(vn + 8)) : NULL;
                if (v)
                    json_object_set_new(o, vn, json_string(v));
            }
            p = semi ? semi + 1 : end;
        }
    }
}

json_t *gw_ctx_vars_json(gw_req_t *req)
{
    json_t *o = json_object();
    const struct gw_ctx_data *d = req->ctx_data;
    if (!o || !d)
        return o;
    if (d->captured) {
        json_t *rd = json_object();
        for (size_t i = 0; i < d->nform; i++) {
            json_t *arr = json_object_get(rd, d->form[i].k);
            if (!arr) {
                arr = json_array();
                json_object_set_new(rd, d->form[i].k, arr);
            }
            json_array_append_new(arr, json_string(d->form[i].v));
        }
        json_object_set_new(o, "request_data", rd);
        json_t *hm = json_object();
        for (uint32_t i = 0; i < d->nhdrs; i++) {
            const tk_http_hdr_t *h = &d->hdrs[i];
            if (tk_str_ieq(h->name, h->name_len, "host"))
                continue; /* Go keeps Host out of the header map */
            char *canon = gw_canonical_header(req->arena, h->name, h->name_len);
            char *val = tk_arena_strndup(req->arena, h->value, h->value_len);
            if (!canon || !val)
                continue;
            json_t *arr = json_object_get(hm, canon);
            if (!arr) {
                arr = json_array();
                json_object_set_new(hm, canon, arr);
                char *vn = tk_arena_printf(req->arena, "headers_%s", canon);
                for (char *p = vn ? vn + 8 : NULL; p && *p; p++)
                    if (*p == '-')
                        *p = '_';
                if (vn)
                    json_object_set_new(o, vn, json_string(val));
            }
            json_array_append_new(arr, json_string(val));
        }
        json_object_set_new(o, "headers", hm);
        json_object_set_new(o, "headers_Host", json_string(d->host));
        json_t *pp = json_array();
        const char *p = d->path;
        for (;;) {
            const char *sl = strchr(p, '/');
            json_array_append_new(pp, json_stringn(p, sl ? (size_t)(sl - p) : strlen(p)));
            if (!sl)
                break;
            p = sl + 1;
        }
        json_object_set_new(o, "path_parts", pp);
        json_object_set_new(o, "path", json_string(d->path));
        json_object_set_new(o, "remote_addr", json_string(d->remote_addr));
        json_object_set_new(o, "request_id", json_string(d->request_id));
        for (size_t i = 0; i < d->nform; i++) {
            char *vn = tk_arena_printf(req->arena, "request_data_%s", d->form[i].k);
            for (char *q = vn ? vn + 13 : NULL; q && *q; q++)
                if (*q == '-')
                    *q = '_';
            if (vn && !json_object_get(o, vn))
                json_object_set_new(o, vn, json_string(d->form[i].v));
        }
        add_cookies_json(req, d, o);
        if (req->token)
            json_object_set_new(o, "token", json_string(req->token));
    }
    for (size_t i = 0; i < d->nextra; i++)
        json_object_set_new(o, d->extra[i].k, json_string(d->extra[i].v));
    return o;
}
