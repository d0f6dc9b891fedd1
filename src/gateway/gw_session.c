/* SPDX-License-Identifier: Apache-2.0 */
/* Reads and writes Tyk's session JSON (full legacy and sparse omitzero forms) and its lifetime. */
#include "gw_session.h"
#include "tk_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- errors ---- */

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(char **err, const char *fmt, ...)
{
    if (!err)
        return;
    free(*err);
    *err = NULL;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    *err = tk_xstrdup(small);
}

/* Builds an error-path prefix; truncation only shortens error messages. */
static void pfx_fmt(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pfx_fmt(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

/* ---- string lists ---- */

bool gw_strv_contains(const gw_strv_t *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}

void gw_strv_push(gw_strv_t *sv, const char *s)
{
    sv->v = tk_xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
    sv->v[sv->n++] = tk_xstrdup(s ? s : "");
}

void gw_strv_append_missing(gw_strv_t *sv, const gw_strv_t *in)
{
    for (size_t i = 0; i < in->n; i++)
        if (!gw_strv_contains(sv, in->v[i]))
            gw_strv_push(sv, in->v[i]);
}

void gw_strv_free(gw_strv_t *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

void gw_strv_copy(gw_strv_t *dst, const gw_strv_t *src)
{
    dst->v = NULL;
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++)
        gw_strv_push(dst, src->v[i]);
}

static char *xdup(const char *s)
{
    return s ? tk_xstrdup(s) : NULL;
}

static const char *S(const char *s)
{
    return s ? s : "";
}

static json_t *xcopy(const json_t *v)
{
    return v ? json_deep_copy(v) : NULL;
}

/* ---- generic typed members ---- */

/* Go's decoder puts a JSON number into an int field only when it is integral. */
static bool json_to_i64(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) {
            *out = (int64_t)d;
            return true;
        }
    }
    return false;
}

static const char *type_go(enum gw_ftype t)
{
    switch (t) {
    case GW_F_DBL:
        return "float64";
    case GW_F_INT:
        return "int64";
    case GW_F_BOOL:
        return "bool";
    case GW_F_STR:
        return "string";
    default:
        return "[]string";
    }
}

static int parse_strv(const json_t *v, gw_strv_t *out, const char *pfx, const char *key, char **err)
{
    if (!v || json_is_null(v))
        return TK_OK;
    if (!json_is_array(v)) {
        set_err(err, "%s%s: cannot decode %s as []string", pfx, key, tk_json_type_name(v));
        return TK_ERROR;
    }
    gw_strv_free(out);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (json_is_null(e)) {
            gw_strv_push(out, ""); /* Go decodes a null element as "" */
            continue;
        }
        if (!json_is_string(e)) {
            set_err(err, "%s%s[%zu]: cannot decode %s as string", pfx, key, i,
                    tk_json_type_name(e));
            return TK_ERROR;
        }
        gw_strv_push(out, json_string_value(e));
    }
    return TK_OK;
}

int gw_parse_fields(const json_t *obj, const struct gw_field *f, size_t n, void *base,
                    const char *pfx, char **err)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, f[i].key);
        if (!v || json_is_null(v))
            continue;
        char *p = (char *)base + f[i].off;
        bool ok = true;
        switch (f[i].type) {
        case GW_F_DBL:
            ok = json_is_number(v);
            if (ok)
                *(double *)(void *)p = json_number_value(v);
            break;
        case GW_F_INT:
            ok = json_to_i64(v, (int64_t *)(void *)p);
            break;
        case GW_F_BOOL:
            ok = json_is_boolean(v);
            if (ok)
                *(bool *)(void *)p = json_is_true(v);
            break;
        case GW_F_STR:
            ok = json_is_string(v);
            if (ok) {
                free(*(char **)(void *)p);
                *(char **)(void *)p = tk_xstrdup(json_string_value(v));
            }
            break;
        case GW_F_STRV:
            if (parse_strv(v, (gw_strv_t *)(void *)p, pfx, f[i].key, err) != TK_OK)
                return TK_ERROR;
            break;
        }
        if (!ok) {
            set_err(err, "%s%s: cannot decode %s as %s", pfx, f[i].key, tk_json_type_name(v),
                    type_go(f[i].type));
            return TK_ERROR;
        }
    }
    return TK_OK;
}

/* Go writes integral float64 values without a fraction ("rate":1000); keep that shape. */
static json_t *num_json(double d)
{
    if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
        return json_integer((json_int_t)d);
    return json_real(isfinite(d) ? d : 0);
}

static json_t *strv_json(const gw_strv_t *sv)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sv->n; i++)
        json_array_append_new(a, json_string(sv->v[i]));
    return a;
}

/*
 * Writes the members of @f. An always-written empty list is null unless @raw had an array
 * there: Go keeps the difference between a nil and an empty slice across a round trip.
 */
static void emit_fields(json_t *out, const struct gw_field *f, size_t n, const void *base,
                        const json_t *raw)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)base + f[i].off;
        bool omit = f[i].emit == GW_E_OMIT;
        json_t *v = NULL;
        switch (f[i].type) {
        case GW_F_DBL: {
            double d = *(const double *)(const void *)p;
            if (!(omit && d == 0))
                v = num_json(d);
            break;
        }
        case GW_F_INT: {
            int64_t x = *(const int64_t *)(const void *)p;
            if (!(omit && x == 0))
                v = json_integer((json_int_t)x);
            break;
        }
        case GW_F_BOOL: {
            bool b = *(const bool *)(const void *)p;
            if (!(omit && !b))
                v = json_boolean(b);
            break;
        }
        case GW_F_STR: {
            const char *s = *(char *const *)(const void *)p;
            if (!(omit && (!s || !*s)))
                v = json_string(S(s));
            break;
        }
        case GW_F_STRV: {
            const gw_strv_t *sv = (const gw_strv_t *)(const void *)p;
            if (sv->n > 0)
                v = strv_json(sv);
            else if (!omit)
                v = json_is_array(json_object_get(raw, f[i].key)) ? json_array() : json_null();
            break;
        }
        }
        if (v)
            json_object_set_new(out, f[i].key, v);
    }
}

/* ---- smoothing ---- */

static const struct gw_field smoothing_fields[] = {
    {"enabled", GW_F_BOOL, offsetof(gw_smoothing_t, enabled), GW_E_ALWAYS},
    {"threshold", GW_F_INT, offsetof(gw_smoothing_t, threshold), GW_E_ALWAYS},
    {"trigger", GW_F_DBL, offsetof(gw_smoothing_t, trigger), GW_E_ALWAYS},
    {"step", GW_F_INT, offsetof(gw_smoothing_t, step), GW_E_ALWAYS},
    {"delay", GW_F_INT, offsetof(gw_smoothing_t, delay), GW_E_ALWAYS},
};

void gw_smoothing_free(gw_smoothing_t *sm)
{
    if (sm->raw)
        json_decref(sm->raw);
    memset(sm, 0, sizeof(*sm));
}

void gw_smoothing_copy(gw_smoothing_t *dst, const gw_smoothing_t *src)
{
    *dst = *src;
    dst->raw = xcopy(src->raw);
}

int gw_parse_smoothing(const json_t *v, gw_smoothing_t *sm, const char *pfx, char **err)
{
    if (!v || json_is_null(v))
        return TK_OK;
    if (!json_is_object(v)) {
        set_err(err, "%ssmoothing: cannot decode %s as object", pfx, tk_json_type_name(v));
        return TK_ERROR;
    }
    char sub[256];
    pfx_fmt(sub, sizeof(sub), "%ssmoothing.", pfx);
    if (gw_parse_fields(v, smoothing_fields, TK_ARRAY_LEN(smoothing_fields), sm, sub, err) != TK_OK)
        return TK_ERROR;
    sm->set = true;
    sm->raw = json_deep_copy(v);
    return TK_OK;
}

static json_t *smoothing_json(const gw_smoothing_t *sm)
{
    json_t *o = json_object();
    emit_fields(o, smoothing_fields, TK_ARRAY_LEN(smoothing_fields), sm, NULL);
    const char *k;
    json_t *v;
    json_object_foreach(sm->raw, k, v)
    {
        if (!json_object_get(o, k))
            json_object_set_new(o, k, json_deep_copy(v));
    }
    return o;
}

/* ---- APILimit / RateLimit ---- */

static const struct gw_field limit_fields[] = {
    {"rate", GW_F_DBL, offsetof(gw_api_limit_t, rate), GW_E_OMIT},
    {"per", GW_F_DBL, offsetof(gw_api_limit_t, per), GW_E_OMIT},
    {"throttle_interval", GW_F_DBL, offsetof(gw_api_limit_t, throttle_interval), GW_E_OMIT},
    {"throttle_retry_limit", GW_F_INT, offsetof(gw_api_limit_t, throttle_retry_limit), GW_E_OMIT},
    {"max_query_depth", GW_F_INT, offsetof(gw_api_limit_t, max_query_depth), GW_E_OMIT},
    {"quota_max", GW_F_INT, offsetof(gw_api_limit_t, quota_max), GW_E_OMIT},
    {"quota_renews", GW_F_INT, offsetof(gw_api_limit_t, quota_renews), GW_E_OMIT},
    {"quota_remaining", GW_F_INT, offsetof(gw_api_limit_t, quota_remaining), GW_E_OMIT},
    {"quota_renewal_rate", GW_F_INT, offsetof(gw_api_limit_t, quota_renewal_rate), GW_E_OMIT},
};

static const struct gw_field rate_fields[] = {
    {"rate", GW_F_DBL, offsetof(gw_rate_limit_t, rate), GW_E_OMIT},
    {"per", GW_F_DBL, offsetof(gw_rate_limit_t, per), GW_E_OMIT},
};

bool gw_api_limit_is_empty(const gw_api_limit_t *l)
{
    return l->rate == 0 && l->per == 0 && l->throttle_interval == 0 &&
           l->throttle_retry_limit == 0 && l->max_query_depth == 0 && l->quota_max == 0 &&
           l->quota_renews == 0 && l->quota_remaining == 0 && l->quota_renewal_rate == 0;
}

double gw_rate_duration(double rate, double per)
{
    if (per <= 0 || rate <= 0)
        return 0;
    return per / rate;
}

static int parse_object_with(const json_t *v, const char *pfx, const char *key, char **err)
{
    if (json_is_object(v))
        return TK_OK;
    set_err(err, "%s%s: cannot decode %s as object", pfx, key, tk_json_type_name(v));
    return TK_ERROR;
}

static int parse_limit(const json_t *v, gw_api_limit_t *l, const char *pfx, char **err)
{
    if (parse_object_with(v, pfx, "limit", err) != TK_OK)
        return TK_ERROR;
    char sub[256];
    pfx_fmt(sub, sizeof(sub), "%slimit.", pfx);
    if (gw_parse_fields(v, limit_fields, TK_ARRAY_LEN(limit_fields), l, sub, err) != TK_OK)
        return TK_ERROR;
    return gw_parse_smoothing(json_object_get(v, "smoothing"), &l->smoothing, sub, err);
}

static json_t *limit_json(const gw_api_limit_t *l)
{
    json_t *o = json_object();
    emit_fields(o, limit_fields, TK_ARRAY_LEN(limit_fields), l, NULL);
    if (l->smoothing.set)
        json_object_set_new(o, "smoothing", smoothing_json(&l->smoothing));
    return o;
}

static json_t *rate_json(const gw_rate_limit_t *r)
{
    json_t *o = json_object();
    emit_fields(o, rate_fields, TK_ARRAY_LEN(rate_fields), r, NULL);
    if (r->smoothing.set)
        json_object_set_new(o, "smoothing", smoothing_json(&r->smoothing));
    return o;
}

/* ---- endpoints ---- */

void gw_endpoints_free(gw_endpoint_t *eps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(eps[i].path);
        for (size_t j = 0; j < eps[i].n_methods; j++) {
            free(eps[i].methods[j].name);
            gw_smoothing_free(&eps[i].methods[j].limit.smoothing);
        }
        free(eps[i].methods);
    }
    free(eps);
}

void gw_endpoints_copy(gw_endpoint_t **dst, size_t *ndst, const gw_endpoint_t *src, size_t n)
{
    *dst = n ? tk_xcalloc(n, sizeof(**dst)) : NULL;
    *ndst = n;
    for (size_t i = 0; i < n; i++) {
        gw_endpoint_t *d = &(*dst)[i];
        d->path = xdup(src[i].path);
        d->n_methods = src[i].n_methods;
        d->methods = d->n_methods ? tk_xcalloc(d->n_methods, sizeof(*d->methods)) : NULL;
        for (size_t j = 0; j < d->n_methods; j++) {
            d->methods[j] = src[i].methods[j];
            d->methods[j].name = xdup(src[i].methods[j].name);
            gw_smoothing_copy(&d->methods[j].limit.smoothing, &src[i].methods[j].limit.smoothing);
        }
    }
}

static int parse_endpoints(const json_t *v, gw_access_t *ad, const char *pfx, char **err)
{
    if (!v || json_is_null(v))
        return TK_OK;
    if (!json_is_array(v)) {
        set_err(err, "%sendpoints: cannot decode %s as array", pfx, tk_json_type_name(v));
        return TK_ERROR;
    }
    size_t n = json_array_size(v);
    ad->endpoints = n ? tk_xcalloc(n, sizeof(*ad->endpoints)) : NULL;
    ad->n_endpoints = n;
    char sub[256];
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        gw_endpoint_t *ep = &ad->endpoints[i];
        pfx_fmt(sub, sizeof(sub), "%sendpoints[%zu]", pfx, i);
        if (json_is_null(e))
            continue;
        if (parse_object_with(e, sub, "", err) != TK_OK)
            return TK_ERROR;
        json_t *path = json_object_get(e, "path");
        if (json_is_string(path))
            ep->path = tk_xstrdup(json_string_value(path));
        json_t *ms = json_object_get(e, "methods");
        if (!json_is_array(ms))
            continue;
        ep->n_methods = json_array_size(ms);
        ep->methods = ep->n_methods ? tk_xcalloc(ep->n_methods, sizeof(*ep->methods)) : NULL;
        for (size_t j = 0; j < ep->n_methods; j++) {
            json_t *m = json_array_get(ms, j);
            if (!json_is_object(m))
                continue;
            json_t *name = json_object_get(m, "name");
            if (json_is_string(name))
                ep->methods[j].name = tk_xstrdup(json_string_value(name));
            json_t *lim = json_object_get(m, "limit");
            if (!json_is_object(lim))
                continue;
            char msub[300];
            pfx_fmt(msub, sizeof(msub), "%s.methods[%zu].limit.", sub, j);
            if (gw_parse_fields(lim, rate_fields, TK_ARRAY_LEN(rate_fields), &ep->methods[j].limit,
                                msub, err) != TK_OK)
                return TK_ERROR;
            if (gw_parse_smoothing(json_object_get(lim, "smoothing"),
                                   &ep->methods[j].limit.smoothing, msub, err) != TK_OK)
                return TK_ERROR;
        }
    }
    return TK_OK;
}

static json_t *endpoints_json(const gw_endpoint_t *eps, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        if (eps[i].path && *eps[i].path)
            json_object_set_new(o, "path", json_string(eps[i].path));
        if (eps[i].n_methods) {
            json_t *ms = json_array();
            for (size_t j = 0; j < eps[i].n_methods; j++) {
                json_t *m = json_object();
                if (eps[i].methods[j].name && *eps[i].methods[j].name)
                    json_object_set_new(m, "name", json_string(eps[i].methods[j].name));
                /* RateLimit is a struct: Go's omitempty never drops it. */
                json_object_set_new(m, "limit", rate_json(&eps[i].methods[j].limit));
                json_array_append_new(ms, m);
            }
            json_object_set_new(o, "methods", ms);
        }
        json_array_append_new(a, o);
    }
    return a;
}

/* ---- access definitions ---- */

static const struct gw_field access_fields[] = {
    {"api_name", GW_F_STR, offsetof(gw_access_t, api_name), GW_E_OMIT},
    {"api_id", GW_F_STR, offsetof(gw_access_t, api_id), GW_E_OMIT},
    {"versions", GW_F_STRV, offsetof(gw_access_t, versions), GW_E_OMIT},
    {"disable_introspection", GW_F_BOOL, offsetof(gw_access_t, disable_introspection), GW_E_OMIT},
    {"allowance_scope", GW_F_STR, offsetof(gw_access_t, allowance_scope), GW_E_OMIT},
};

static bool access_known(const char *k)
{
    static const char *const special[] = {"allowed_urls", "limit", "endpoints"};
    for (size_t i = 0; i < TK_ARRAY_LEN(access_fields); i++)
        if (strcmp(k, access_fields[i].key) == 0)
            return true;
    for (size_t i = 0; i < TK_ARRAY_LEN(special); i++)
        if (strcmp(k, special[i]) == 0)
            return true;
    return false;
}

void gw_access_free(gw_access_t *ad)
{
    free(ad->key);
    free(ad->api_name);
    free(ad->api_id);
    gw_strv_free(&ad->versions);
    for (size_t i = 0; i < ad->n_allowed_urls; i++) {
        free(ad->allowed_urls[i].url);
        gw_strv_free(&ad->allowed_urls[i].methods);
        if (ad->allowed_urls[i].conditions)
            json_decref(ad->allowed_urls[i].conditions);
    }
    free(ad->allowed_urls);
    gw_smoothing_free(&ad->limit.smoothing);
    free(ad->allowance_scope);
    gw_endpoints_free(ad->endpoints, ad->n_endpoints);
    if (ad->extra)
        json_decref(ad->extra);
    memset(ad, 0, sizeof(*ad));
}

void gw_access_copy(gw_access_t *dst, const gw_access_t *src)
{
    *dst = *src;
    dst->key = xdup(src->key);
    dst->api_name = xdup(src->api_name);
    dst->api_id = xdup(src->api_id);
    gw_strv_copy(&dst->versions, &src->versions);
    dst->allowed_urls =
        src->n_allowed_urls ? tk_xcalloc(src->n_allowed_urls, sizeof(*dst->allowed_urls)) : NULL;
    for (size_t i = 0; i < src->n_allowed_urls; i++) {
        dst->allowed_urls[i].url = xdup(src->allowed_urls[i].url);
        gw_strv_copy(&dst->allowed_urls[i].methods, &src->allowed_urls[i].methods);
        dst->allowed_urls[i].conditions = xcopy(src->allowed_urls[i].conditions);
    }
    gw_smoothing_copy(&dst->limit.smoothing, &src->limit.smoothing);
    dst->allowance_scope = xdup(src->allowance_scope);
    gw_endpoints_copy(&dst->endpoints, &dst->n_endpoints, src->endpoints, src->n_endpoints);
    dst->extra = xcopy(src->extra);
}

static int parse_allowed_urls(const json_t *v, gw_access_t *ad, const char *pfx, char **err)
{
    if (!v || json_is_null(v))
        return TK_OK;
    if (!json_is_array(v)) {
        set_err(err, "%sallowed_urls: cannot decode %s as array", pfx, tk_json_type_name(v));
        return TK_ERROR;
    }
    size_t n = json_array_size(v);
    ad->allowed_urls = n ? tk_xcalloc(n, sizeof(*ad->allowed_urls)) : NULL;
    ad->n_allowed_urls = n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        char sub[256];
        pfx_fmt(sub, sizeof(sub), "%sallowed_urls[%zu].", pfx, i);
        if (json_is_null(e))
            continue;
        if (!json_is_object(e)) {
            set_err(err, "%s: cannot decode %s as object", sub, tk_json_type_name(e));
            return TK_ERROR;
        }
        json_t *url = json_object_get(e, "url");
        if (url && !json_is_null(url) && !json_is_string(url)) {
            set_err(err, "%surl: cannot decode %s as string", sub, tk_json_type_name(url));
            return TK_ERROR;
        }
        ad->allowed_urls[i].url = xdup(json_string_value(url));
        if (parse_strv(json_object_get(e, "methods"), &ad->allowed_urls[i].methods, sub, "methods",
                       err) != TK_OK)
            return TK_ERROR;
        json_t *cond = json_object_get(e, "conditions");
        if (cond && !json_is_null(cond))
            ad->allowed_urls[i].conditions = json_deep_copy(cond);
    }
    return TK_OK;
}

int gw_access_from_json(const char *key, const json_t *obj, gw_access_t *ad, char **err)
{
    memset(ad, 0, sizeof(*ad));
    ad->key = tk_xstrdup(S(key));
    if (!obj || json_is_null(obj))
        return TK_OK; /* a null map value decodes as the zero AccessDefinition */
    char pfx[256];
    pfx_fmt(pfx, sizeof(pfx), "access_rights.%s.", S(key));
    if (!json_is_object(obj)) {
        set_err(err, "access_rights.%s: cannot decode %s as object", S(key),
                tk_json_type_name(obj));
        goto fail;
    }
    if (gw_parse_fields(obj, access_fields, TK_ARRAY_LEN(access_fields), ad, pfx, err) != TK_OK)
        goto fail;
    if (parse_allowed_urls(json_object_get(obj, "allowed_urls"), ad, pfx, err) != TK_OK)
        goto fail;
    json_t *lim = json_object_get(obj, "limit");
    if (lim && !json_is_null(lim)) {
        ad->limit_present = true;
        if (parse_limit(lim, &ad->limit, pfx, err) != TK_OK)
            goto fail;
    }
    if (parse_endpoints(json_object_get(obj, "endpoints"), ad, pfx, err) != TK_OK)
        goto fail;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (access_known(k))
            continue;
        if (!ad->extra)
            ad->extra = json_object();
        json_object_set_new(ad->extra, k, json_deep_copy(v));
    }
    return TK_OK;
fail:
    gw_access_free(ad);
    return TK_ERROR;
}

json_t *gw_access_to_json(const gw_access_t *ad)
{
    json_t *o = json_object();
    emit_fields(o, access_fields, 2, ad, NULL); /* api_name, api_id */
    if (ad->versions.n)
        json_object_set_new(o, "versions", strv_json(&ad->versions));
    if (ad->n_allowed_urls) {
        json_t *a = json_array();
        for (size_t i = 0; i < ad->n_allowed_urls; i++) {
            json_t *u = json_object();
            json_object_set_new(u, "url", json_string(S(ad->allowed_urls[i].url)));
            json_object_set_new(u, "methods", strv_json(&ad->allowed_urls[i].methods));
            if (ad->allowed_urls[i].conditions)
                json_object_set_new(u, "conditions",
                                    json_deep_copy(ad->allowed_urls[i].conditions));
            json_array_append_new(a, u);
        }
        json_object_set_new(o, "allowed_urls", a);
    }
    const char *k;
    json_t *v;
    json_object_foreach(ad->extra, k, v)
    {
        /* Go's omitempty drops empty GraphQL lists; keep the written form identical. */
        if (json_is_array(v) && json_array_size(v) == 0)
            continue;
        json_object_set_new(o, k, json_deep_copy(v));
    }
    if (!gw_api_limit_is_empty(&ad->limit))
        json_object_set_new(o, "limit", limit_json(&ad->limit));
    emit_fields(o, access_fields + 3, 2, ad, NULL); /* disable_introspection, allowance_scope */
    if (ad->n_endpoints)
        json_object_set_new(o, "endpoints", endpoints_json(ad->endpoints, ad->n_endpoints));
    return o;
}

/* ---- RFC 3339 ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

int gw_parse_rfc3339(const char *t, int64_t *unix_sec)
{
    int Y, M, D, h, m, s;
    if (!t || strlen(t) < 20)
        return TK_ERROR;
    if (!digits(t, 4, &Y) || t[4] != '-' || !digits(t + 5, 2, &M) || t[7] != '-' ||
        !digits(t + 8, 2, &D) || (t[10] != 'T' && t[10] != 't') || !digits(t + 11, 2, &h) ||
        t[13] != ':' || !digits(t + 14, 2, &m) || t[16] != ':' || !digits(t + 17, 2, &s))
        return TK_ERROR;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60)
        return TK_ERROR;
    const char *p = t + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return TK_ERROR;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return TK_ERROR;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return TK_ERROR;
    }
    if (*p)
        return TK_ERROR;
    *unix_sec = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + s - off;
    return TK_OK;
}

void gw_session_set_date_created(gw_session_t *s, int64_t unix_ns)
{
    int64_t sec = unix_ns / 1000000000;
    int64_t ns = unix_ns % 1000000000;
    if (ns < 0) {
        ns += 1000000000;
        sec--;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char buf[64], frac[16] = "";
    if (ns) {
        /* Go's RFC3339Nano: up to nine digits, trailing zeros dropped. */
        snprintf(frac, sizeof(frac), ".%09lld", (long long)ns);
        size_t l = strlen(frac);
        while (l > 1 && frac[l - 1] == '0')
            frac[--l] = '\0';
    }
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    free(s->date_created);
    s->date_created = tk_xstrdup(buf);
}

/* ---- session ---- */

static const struct gw_field session_fields[] = {
    {"last_check", GW_F_INT, offsetof(gw_session_t, last_check), GW_E_ALWAYS},
    {"allowance", GW_F_DBL, offsetof(gw_session_t, allowance), GW_E_ALWAYS},
    {"rate", GW_F_DBL, offsetof(gw_session_t, rate), GW_E_ALWAYS},
    {"per", GW_F_DBL, offsetof(gw_session_t, per), GW_E_ALWAYS},
    {"throttle_interval", GW_F_DBL, offsetof(gw_session_t, throttle_interval), GW_E_ALWAYS},
    {"throttle_retry_limit", GW_F_INT, offsetof(gw_session_t, throttle_retry_limit), GW_E_ALWAYS},
    {"max_query_depth", GW_F_INT, offsetof(gw_session_t, max_query_depth), GW_E_ALWAYS},
    {"expires", GW_F_INT, offsetof(gw_session_t, expires), GW_E_ALWAYS},
    {"quota_max", GW_F_INT, offsetof(gw_session_t, quota_max), GW_E_ALWAYS},
    {"quota_renews", GW_F_INT, offsetof(gw_session_t, quota_renews), GW_E_ALWAYS},
    {"quota_remaining", GW_F_INT, offsetof(gw_session_t, quota_remaining), GW_E_ALWAYS},
    {"quota_renewal_rate", GW_F_INT, offsetof(gw_session_t, quota_renewal_rate), GW_E_ALWAYS},
    {"org_id", GW_F_STR, offsetof(gw_session_t, org_id), GW_E_ALWAYS},
    {"oauth_client_id", GW_F_STR, offsetof(gw_session_t, oauth_client_id), GW_E_ALWAYS},
    {"certificate", GW_F_STR, offsetof(gw_session_t, certificate), GW_E_ALWAYS},
    {"mtls_static_certificate_bindings", GW_F_STRV,
     offsetof(gw_session_t, mtls_static_certificate_bindings), GW_E_ALWAYS},
    {"hmac_enabled", GW_F_BOOL, offsetof(gw_session_t, hmac_enabled), GW_E_ALWAYS},
    {"enable_http_signature_validation", GW_F_BOOL,
     offsetof(gw_session_t, enable_http_signature_validation), GW_E_ALWAYS},
    {"hmac_string", GW_F_STR, offsetof(gw_session_t, hmac_string), GW_E_ALWAYS},
    {"rsa_certificate_id", GW_F_STR, offsetof(gw_session_t, rsa_certificate_id), GW_E_ALWAYS},
    {"is_inactive", GW_F_BOOL, offsetof(gw_session_t, is_inactive), GW_E_ALWAYS},
    {"apply_policy_id", GW_F_STR, offsetof(gw_session_t, apply_policy_id), GW_E_ALWAYS},
    {"apply_policies", GW_F_STRV, offsetof(gw_session_t, apply_policies), GW_E_ALWAYS},
    {"data_expires", GW_F_INT, offsetof(gw_session_t, data_expires), GW_E_ALWAYS},
    /* From here on today's Tyk tags the members omitzero / omitempty. */
    {"enable_detail_recording", GW_F_BOOL, offsetof(gw_session_t, enable_detail_recording),
     GW_E_OMIT},
    {"enable_detailed_recording", GW_F_BOOL, offsetof(gw_session_t, enable_detailed_recording),
     GW_E_OMIT},
    {"tags", GW_F_STRV, offsetof(gw_session_t, tags), GW_E_OMIT},
    {"alias", GW_F_STR, offsetof(gw_session_t, alias), GW_E_OMIT},
    {"last_updated", GW_F_STR, offsetof(gw_session_t, last_updated), GW_E_OMIT},
    {"id_extractor_deadline", GW_F_INT, offsetof(gw_session_t, id_extractor_deadline), GW_E_OMIT},
    {"session_lifetime", GW_F_INT, offsetof(gw_session_t, session_lifetime), GW_E_OMIT},
    {"post_expiry_action", GW_F_STR, offsetof(gw_session_t, post_expiry_action), GW_E_OMIT},
    {"post_expiry_grace_period", GW_F_INT, offsetof(gw_session_t, post_expiry_grace_period),
     GW_E_OMIT},
};

static const char *const session_special[] = {
    "date_created", "access_rights", "oauth_keys", "basic_auth_data",
    "jwt_data",     "monitor",       "meta_data",  "smoothing",
};

static bool session_known(const char *k)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(session_fields); i++)
        if (strcmp(k, session_fields[i].key) == 0)
            return true;
    for (size_t i = 0; i < TK_ARRAY_LEN(session_special); i++)
        if (strcmp(k, session_special[i]) == 0)
            return true;
    return false;
}

void gw_session_free(gw_session_t *s)
{
    if (!s)
        return;
    free(s->date_created);
    for (size_t i = 0; i < s->n_access; i++)
        gw_access_free(&s->access[i]);
    free(s->access);
    free(s->org_id);
    free(s->oauth_client_id);
    if (s->oauth_keys)
        json_decref(s->oauth_keys);
    free(s->certificate);
    gw_strv_free(&s->mtls_static_certificate_bindings);
    free(s->basic_auth_password);
    free(s->basic_auth_hash_type);
    free(s->jwt_secret);
    free(s->hmac_string);
    free(s->rsa_certificate_id);
    free(s->apply_policy_id);
    gw_strv_free(&s->apply_policies);
    free(s->monitor_trigger_limits);
    if (s->meta_data)
        json_decref(s->meta_data);
    gw_strv_free(&s->tags);
    free(s->alias);
    free(s->last_updated);
    gw_smoothing_free(&s->smoothing);
    free(s->post_expiry_action);
    if (s->raw)
        json_decref(s->raw);
    memset(s, 0, sizeof(*s));
}

void gw_session_copy(gw_session_t *d, const gw_session_t *s)
{
    *d = *s;
    d->date_created = xdup(s->date_created);
    d->access = s->n_access ? tk_xcalloc(s->n_access, sizeof(*d->access)) : NULL;
    for (size_t i = 0; i < s->n_access; i++)
        gw_access_copy(&d->access[i], &s->access[i]);
    d->org_id = xdup(s->org_id);
    d->oauth_client_id = xdup(s->oauth_client_id);
    d->oauth_keys = xcopy(s->oauth_keys);
    d->certificate = xdup(s->certificate);
    gw_strv_copy(&d->mtls_static_certificate_bindings, &s->mtls_static_certificate_bindings);
    d->basic_auth_password = xdup(s->basic_auth_password);
    d->basic_auth_hash_type = xdup(s->basic_auth_hash_type);
    d->jwt_secret = xdup(s->jwt_secret);
    d->hmac_string = xdup(s->hmac_string);
    d->rsa_certificate_id = xdup(s->rsa_certificate_id);
    d->apply_policy_id = xdup(s->apply_policy_id);
    gw_strv_copy(&d->apply_policies, &s->apply_policies);
    if (s->n_monitor_trigger_limits) {
        size_t sz = s->n_monitor_trigger_limits * sizeof(double);
        d->monitor_trigger_limits = tk_xmalloc(sz);
        memcpy(d->monitor_trigger_limits, s->monitor_trigger_limits, sz);
    }
    d->meta_data = xcopy(s->meta_data);
    gw_strv_copy(&d->tags, &s->tags);
    d->alias = xdup(s->alias);
    d->last_updated = xdup(s->last_updated);
    gw_smoothing_copy(&d->smoothing, &s->smoothing);
    d->post_expiry_action = xdup(s->post_expiry_action);
    d->raw = xcopy(s->raw);
}

static int parse_sub_str(const json_t *obj, const char *okey, const char *key, char **out,
                         char **err)
{
    json_t *o = json_object_get(obj, okey);
    if (!o || json_is_null(o))
        return TK_OK;
    if (!json_is_object(o)) {
        set_err(err, "%s: cannot decode %s as object", okey, tk_json_type_name(o));
        return TK_ERROR;
    }
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return TK_OK;
    if (!json_is_string(v)) {
        set_err(err, "%s.%s: cannot decode %s as string", okey, key, tk_json_type_name(v));
        return TK_ERROR;
    }
    *out = tk_xstrdup(json_string_value(v));
    return TK_OK;
}

static int parse_session(const json_t *obj, gw_session_t *s, char **err)
{
    if (gw_parse_fields(obj, session_fields, TK_ARRAY_LEN(session_fields), s, "", err) != TK_OK)
        return TK_ERROR;

    json_t *v = json_object_get(obj, "date_created");
    if (v && !json_is_null(v)) {
        int64_t sec;
        if (!json_is_string(v) || gw_parse_rfc3339(json_string_value(v), &sec) != TK_OK) {
            set_err(err, "date_created: not an RFC 3339 time");
            return TK_ERROR;
        }
        s->date_created = tk_xstrdup(json_string_value(v));
    }

    v = json_object_get(obj, "access_rights");
    if (v && !json_is_null(v)) {
        if (parse_object_with(v, "", "access_rights", err) != TK_OK)
            return TK_ERROR;
        size_t n = json_object_size(v);
        s->access = n ? tk_xcalloc(n, sizeof(*s->access)) : NULL;
        const char *k;
        json_t *ad;
        json_object_foreach(v, k, ad)
        {
            if (gw_access_from_json(k, ad, &s->access[s->n_access], err) != TK_OK)
                return TK_ERROR;
            s->n_access++;
        }
    }

    v = json_object_get(obj, "oauth_keys");
    if (v && !json_is_null(v)) {
        if (parse_object_with(v, "", "oauth_keys", err) != TK_OK)
            return TK_ERROR;
        s->oauth_keys = json_deep_copy(v);
    }
    if (parse_sub_str(obj, "basic_auth_data", "password", &s->basic_auth_password, err) ||
        parse_sub_str(obj, "basic_auth_data", "hash_type", &s->basic_auth_hash_type, err) ||
        parse_sub_str(obj, "jwt_data", "secret", &s->jwt_secret, err))
        return TK_ERROR;

    v = json_object_get(obj, "monitor");
    if (v && !json_is_null(v)) {
        if (parse_object_with(v, "", "monitor", err) != TK_OK)
            return TK_ERROR;
        json_t *tl = json_object_get(v, "trigger_limits");
        if (tl && !json_is_null(tl)) {
            if (!json_is_array(tl)) {
                set_err(err, "monitor.trigger_limits: cannot decode %s as []float64",
                        tk_json_type_name(tl));
                return TK_ERROR;
            }
            size_t n = json_array_size(tl);
            s->monitor_trigger_limits = n ? tk_xcalloc(n, sizeof(double)) : NULL;
            for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(tl, i);
                if (!json_is_number(e) && !json_is_null(e)) {
                    set_err(err, "monitor.trigger_limits[%zu]: cannot decode %s as float64", i,
                            tk_json_type_name(e));
                    return TK_ERROR;
                }
                s->monitor_trigger_limits[i] = json_is_number(e) ? json_number_value(e) : 0;
            }
            s->n_monitor_trigger_limits = n;
        }
    }

    v = json_object_get(obj, "meta_data");
    if (v && !json_is_null(v)) {
        if (parse_object_with(v, "", "meta_data", err) != TK_OK)
            return TK_ERROR;
        s->meta_data = json_deep_copy(v);
    }
    return gw_parse_smoothing(json_object_get(obj, "smoothing"), &s->smoothing, "", err);
}

int gw_session_from_json(const json_t *obj, gw_session_t *s, char **err)
{
    memset(s, 0, sizeof(*s));
    if (!json_is_object(obj)) {
        set_err(err, "session: cannot decode %s as object", tk_json_type_name(obj));
        return TK_ERROR;
    }
    if (parse_session(obj, s, err) != TK_OK) {
        gw_session_free(s);
        return TK_ERROR;
    }
    s->raw = json_deep_copy(obj);
    return TK_OK;
}

int gw_session_from_text(const char *text, size_t len, gw_session_t *s, char **err)
{
    char buf[256];
    json_t *v = tk_json_load_buf(text, len, "session", buf, sizeof(buf));
    if (!v) {
        memset(s, 0, sizeof(*s));
        set_err(err, "%s", buf);
        return TK_ERROR;
    }
    int rc = gw_session_from_json(v, s, err);
    json_decref(v);
    return rc;
}

static int cmp_access_key(const void *a, const void *b)
{
    const gw_access_t *const *x = a, *const *y = b;
    return strcmp(S((*x)->key), S((*y)->key));
}

json_t *gw_session_to_json(const gw_session_t *s)
{
    json_t *o = json_object();
    /* Root members that carry no omit tag in user/session.go: always written. */
    emit_fields(o, session_fields, 7, s, s->raw);
    json_object_set_new(o, "date_created",
                        json_string(s->date_created ? s->date_created : "0001-01-01T00:00:00Z"));
    emit_fields(o, session_fields + 7, 7, s, s->raw); /* expires .. oauth_client_id */

    /* A Go map: keys written sorted; a nil map is null. */
    json_t *ar = json_object_get(s->raw, "access_rights");
    if (s->n_access == 0 && !json_is_object(ar)) {
        json_object_set_new(o, "access_rights", json_null());
    } else {
        json_t *m = json_object();
        const gw_access_t **sorted = tk_xcalloc(s->n_access ? s->n_access : 1, sizeof(*sorted));
        for (size_t i = 0; i < s->n_access; i++)
            sorted[i] = &s->access[i];
        qsort(sorted, s->n_access, sizeof(*sorted), cmp_access_key);
        for (size_t i = 0; i < s->n_access; i++)
            json_object_set_new(m, S(sorted[i]->key), gw_access_to_json(sorted[i]));
        free(sorted);
        json_object_set_new(o, "access_rights", m);
    }
    json_object_set_new(o, "oauth_keys",
                        s->oauth_keys ? json_deep_copy(s->oauth_keys) : json_null());
    emit_fields(o, session_fields + 14, 2, s, s->raw); /* certificate, mtls bindings */

    json_t *ba = json_object();
    if (s->basic_auth_password && *s->basic_auth_password)
        json_object_set_new(ba, "password", json_string(s->basic_auth_password));
    if (s->basic_auth_hash_type && *s->basic_auth_hash_type)
        json_object_set_new(ba, "hash_type", json_string(s->basic_auth_hash_type));
    json_object_set_new(o, "basic_auth_data", ba);
    json_t *jd = json_object();
    if (s->jwt_secret && *s->jwt_secret)
        json_object_set_new(jd, "secret", json_string(s->jwt_secret));
    json_object_set_new(o, "jwt_data", jd);

    emit_fields(o, session_fields + 16, 8, s, s->raw); /* hmac_enabled .. data_expires */
    json_t *mon = json_object();
    if (s->n_monitor_trigger_limits) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->n_monitor_trigger_limits; i++)
            json_array_append_new(a, num_json(s->monitor_trigger_limits[i]));
        json_object_set_new(mon, "trigger_limits", a);
    }
    json_object_set_new(o, "monitor", mon);

    emit_fields(o, session_fields + 24, TK_ARRAY_LEN(session_fields) - 24, s, s->raw);
    if (s->meta_data && json_object_size(s->meta_data))
        json_object_set_new(o, "meta_data", json_deep_copy(s->meta_data));
    if (s->smoothing.set)
        json_object_set_new(o, "smoothing", smoothing_json(&s->smoothing));

    /* Members this module does not model (GraphQL, MCP, newer Tyk fields) survive. */
    const char *k;
    json_t *v;
    json_object_foreach(s->raw, k, v)
    {
        if (!session_known(k) && !json_object_get(o, k))
            json_object_set_new(o, k, json_deep_copy(v));
    }
    return o;
}

char *gw_session_dumps(const gw_session_t *s)
{
    json_t *o = gw_session_to_json(s);
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return txt;
}

/* ---- accessors ---- */

gw_access_t *gw_session_access(const gw_session_t *s, const char *api_id)
{
    for (size_t i = 0; i < s->n_access; i++)
        if (strcmp(S(s->access[i].key), S(api_id)) == 0)
            return &s->access[i];
    return NULL;
}

gw_access_t *gw_session_add_access(gw_session_t *s, const char *api_id)
{
    s->access = tk_xrealloc(s->access, (s->n_access + 1) * sizeof(*s->access));
    gw_access_t *ad = &s->access[s->n_access++];
    memset(ad, 0, sizeof(*ad));
    ad->key = tk_xstrdup(S(api_id));
    ad->api_id = tk_xstrdup(S(api_id));
    return ad;
}

void gw_session_clear_access(gw_session_t *s)
{
    for (size_t i = 0; i < s->n_access; i++)
        gw_access_free(&s->access[i]);
    free(s->access);
    s->access = NULL;
    s->n_access = 0;
}

size_t gw_session_policy_ids(const gw_session_t *s, const char *const **ids)
{
    if (s->apply_policies.n > 0) {
        *ids = (const char *const *)s->apply_policies.v;
        return s->apply_policies.n;
    }
    if (s->apply_policy_id && *s->apply_policy_id) {
        *ids = (const char *const *)&s->apply_policy_id;
        return 1;
    }
    *ids = NULL;
    return 0;
}

bool gw_session_is_expired(const gw_session_t *s, int64_t now)
{
    return s->expires >= 1 && now > s->expires;
}

static int64_t calc_lifetime(bool respect, int64_t expires, int64_t lifetime, int64_t now)
{
    if (!respect || lifetime <= 0)
        return lifetime;
    if (expires <= 0)
        return expires; /* Tyk returns the expiry itself here: 0 (no TTL) or -1 */
    if (expires > now + lifetime)
        return expires - now;
    return lifetime;
}

int64_t gw_session_lifetime(const gw_session_t *s, int64_t api_session_lifetime,
                            bool respects_key_expiration, int64_t global_lifetime,
                            bool force_global, int64_t now)
{
    if (force_global)
        return global_lifetime;
    if (s->session_lifetime > 0)
        return calc_lifetime(respects_key_expiration, s->expires, s->session_lifetime, now);
    if (api_session_lifetime > 0)
        return calc_lifetime(respects_key_expiration, s->expires, api_session_lifetime, now);
    return 0;
}

void gw_session_effective_limit(const gw_session_t *s, const gw_access_t *ad, gw_api_limit_t *out)
{
    if (ad && !gw_api_limit_is_empty(&ad->limit)) {
        *out = ad->limit;
        return;
    }
    memset(out, 0, sizeof(*out));
    out->rate = s->rate;
    out->per = s->per;
    out->smoothing = s->smoothing;
    out->throttle_interval = s->throttle_interval;
    out->throttle_retry_limit = s->throttle_retry_limit;
    out->max_query_depth = s->max_query_depth;
    out->quota_max = s->quota_max;
    out->quota_renews = s->quota_renews;
    out->quota_remaining = s->quota_remaining;
    out->quota_renewal_rate = s->quota_renewal_rate;
}
