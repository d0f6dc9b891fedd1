/* SPDX-License-Identifier: Apache-2.0 */
/* Loads Tyk policies from disk and merges them into sessions with Tyk's Apply algorithm. */
#include "gw_policy.h"
#include "tk_json.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(char **err, const char *fmt, ...)
{
    if (!err)
        return;
    free(*err);
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    *err = tk_xstrdup(small);
}

static const char *S(const char *s)
{
    return s ? s : "";
}

static char *xdup(const char *s)
{
    return s ? tk_xstrdup(s) : NULL;
}

/* ---- parsing ---- */

static const struct gw_field policy_fields[] = {
    {"id", GW_F_STR, offsetof(gw_policy_t, id), GW_E_ALWAYS},
    {"name", GW_F_STR, offsetof(gw_policy_t, name), GW_E_ALWAYS},
    {"org_id", GW_F_STR, offsetof(gw_policy_t, org_id), GW_E_ALWAYS},
    {"rate", GW_F_DBL, offsetof(gw_policy_t, rate), GW_E_ALWAYS},
    {"per", GW_F_DBL, offsetof(gw_policy_t, per), GW_E_ALWAYS},
    {"quota_max", GW_F_INT, offsetof(gw_policy_t, quota_max), GW_E_ALWAYS},
    {"quota_renewal_rate", GW_F_INT, offsetof(gw_policy_t, quota_renewal_rate), GW_E_ALWAYS},
    {"throttle_interval", GW_F_DBL, offsetof(gw_policy_t, throttle_interval), GW_E_ALWAYS},
    {"throttle_retry_limit", GW_F_INT, offsetof(gw_policy_t, throttle_retry_limit), GW_E_ALWAYS},
    {"max_query_depth", GW_F_INT, offsetof(gw_policy_t, max_query_depth), GW_E_ALWAYS},
    {"hmac_enabled", GW_F_BOOL, offsetof(gw_policy_t, hmac_enabled), GW_E_ALWAYS},
    {"enable_http_signature_validation", GW_F_BOOL,
     offsetof(gw_policy_t, enable_http_signature_validation), GW_E_ALWAYS},
    {"active", GW_F_BOOL, offsetof(gw_policy_t, active), GW_E_ALWAYS},
    {"is_inactive", GW_F_BOOL, offsetof(gw_policy_t, is_inactive), GW_E_ALWAYS},
    {"tags", GW_F_STRV, offsetof(gw_policy_t, tags), GW_E_ALWAYS},
    {"key_expires_in", GW_F_INT, offsetof(gw_policy_t, key_expires_in), GW_E_ALWAYS},
    {"post_expiry_action", GW_F_STR, offsetof(gw_policy_t, post_expiry_action), GW_E_ALWAYS},
    {"post_expiry_grace_period", GW_F_INT, offsetof(gw_policy_t, post_expiry_grace_period),
     GW_E_ALWAYS},
    {"last_updated", GW_F_STR, offsetof(gw_policy_t, last_updated), GW_E_ALWAYS},
};

static const struct gw_field partition_fields[] = {
    {"quota", GW_F_BOOL, offsetof(gw_partitions_t, quota), GW_E_ALWAYS},
    {"rate_limit", GW_F_BOOL, offsetof(gw_partitions_t, rate_limit), GW_E_ALWAYS},
    {"complexity", GW_F_BOOL, offsetof(gw_partitions_t, complexity), GW_E_ALWAYS},
    {"acl", GW_F_BOOL, offsetof(gw_partitions_t, acl), GW_E_ALWAYS},
    {"per_api", GW_F_BOOL, offsetof(gw_partitions_t, per_api), GW_E_ALWAYS},
};

void gw_policy_free(gw_policy_t *p)
{
    if (!p)
        return;
    free(p->id);
    free(p->mid);
    free(p->name);
    free(p->org_id);
    gw_smoothing_free(&p->smoothing);
    for (size_t i = 0; i < p->n_access; i++)
        gw_access_free(&p->access[i]);
    free(p->access);
    gw_strv_free(&p->tags);
    free(p->post_expiry_action);
    free(p->last_updated);
    if (p->meta_data)
        json_decref(p->meta_data);
    if (p->raw)
        json_decref(p->raw);
    memset(p, 0, sizeof(*p));
}

static int parse_policy(const json_t *obj, gw_policy_t *p, char **err)
{
    if (gw_parse_fields(obj, policy_fields, TK_ARRAY_LEN(policy_fields), p, "", err) != TK_OK)
        return TK_ERROR;
    json_t *v = json_object_get(obj, "_id");
    if (json_is_string(v))
        p->mid = tk_xstrdup(json_string_value(v));
    v = json_object_get(obj, "partitions");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            set_err(err, "partitions: cannot decode %s as object", tk_json_type_name(v));
            return TK_ERROR;
        }
        if (gw_parse_fields(v, partition_fields, TK_ARRAY_LEN(partition_fields), &p->partitions,
                            "partitions.", err) != TK_OK)
            return TK_ERROR;
    }
    v = json_object_get(obj, "meta_data");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            set_err(err, "meta_data: cannot decode %s as object", tk_json_type_name(v));
            return TK_ERROR;
        }
        p->meta_data = json_deep_copy(v);
    }
    if (gw_parse_smoothing(json_object_get(obj, "smoothing"), &p->smoothing, "", err) != TK_OK)
        return TK_ERROR;
    v = json_object_get(obj, "access_rights");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            set_err(err, "access_rights: cannot decode %s as object", tk_json_type_name(v));
            return TK_ERROR;
        }
        size_t n = json_object_size(v);
        p->access = n ? tk_xcalloc(n, sizeof(*p->access)) : NULL;
        const char *k;
        json_t *ad;
        json_object_foreach(v, k, ad)
        {
            if (gw_access_from_json(k, ad, &p->access[p->n_access], err) != TK_OK)
                return TK_ERROR;
            p->n_access++;
        }
    }
    return TK_OK;
}

int gw_policy_from_json(const json_t *obj, gw_policy_t *p, char **err)
{
    memset(p, 0, sizeof(*p));
    if (!json_is_object(obj)) {
        set_err(err, "policy: cannot decode %s as object", tk_json_type_name(obj));
        return TK_ERROR;
    }
    if (parse_policy(obj, p, err) != TK_OK) {
        gw_policy_free(p);
        return TK_ERROR;
    }
    p->raw = json_deep_copy(obj);
    return TK_OK;
}

/* ---- the set ---- */

void gw_policies_add(gw_policies_t *set, gw_policy_t *p)
{
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(S(set->v[i].id), S(p->id)) == 0) {
            gw_policy_free(&set->v[i]);
            set->v[i] = *p;
            memset(p, 0, sizeof(*p));
            return;
        }
    }
    set->v = tk_xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
    set->v[set->n++] = *p;
    memset(p, 0, sizeof(*p));
}

int gw_policies_remove(gw_policies_t *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(S(set->v[i].id), S(id)) == 0) {
            gw_policy_free(&set->v[i]);
            memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) * sizeof(*set->v));
            set->n--;
            return TK_OK;
        }
    }
    return TK_DECLINED;
}

const gw_policy_t *gw_policies_get(const gw_policies_t *set, const char *id)
{
    if (!set)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(S(set->v[i].id), S(id)) == 0)
            return &set->v[i];
    return NULL;
}

const gw_policy_t *gw_policies_find(const gw_policies_t *set, const char *id, const char *org)
{
    const gw_policy_t *p = gw_policies_get(set, id);
    if (p && org && strcmp(S(p->org_id), org) != 0)
        return NULL;
    return p;
}

void gw_policies_free(gw_policies_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        gw_policy_free(&set->v[i]);
    free(set->v);
    set->v = NULL;
    set->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_json_suffix(const char *name)
{
    size_t l = strlen(name);
    return l >= 5 && strcmp(name + l - 5, ".json") == 0;
}

int gw_policies_load_dir(gw_policies_t *set, const char *dir, tk_conf_errors_t *errs)
{
    DIR *d = opendir(dir);
    if (!d) {
        tk_conf_errors_add(errs, "policy_path %s: cannot read directory", dir);
        return TK_ERROR;
    }
    gw_strv_t names = {0};
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (has_json_suffix(de->d_name))
            gw_strv_push(&names, de->d_name);
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof(*names.v), cmp_str);

    for (size_t i = 0; i < names.n; i++) {
        size_t len = strlen(dir) + strlen(names.v[i]) + 2;
        char *path = tk_xmalloc(len);
        snprintf(path, len, "%s/%s", dir, names.v[i]);
        char jerr[512];
        json_t *obj = tk_json_load_file(path, jerr, sizeof(jerr));
        if (!obj) {
            tk_conf_errors_add(errs, "%s", jerr);
            free(path);
            continue;
        }
        gw_policy_t p;
        char *perr = NULL;
        if (gw_policy_from_json(obj, &p, &perr) != TK_OK) {
            tk_conf_errors_add(errs, "%s: %s", path, perr);
            free(perr);
        } else if (!p.id || !*p.id) {
            /* Tyk files such a policy under "" where no session can name it. */
            tk_conf_errors_add(errs, "%s: policy has no \"id\"", path);
            gw_policy_free(&p);
        } else {
            if (gw_policies_get(set, p.id))
                tk_conf_errors_add(errs, "%s: duplicate policy id \"%s\" replaces an earlier one",
                                   path, p.id);
            gw_policies_add(set, &p);
        }
        json_decref(obj);
        free(path);
    }
    gw_strv_free(&names);
    return TK_OK;
}

int gw_policies_load_file(gw_policies_t *set, const char *path, tk_conf_errors_t *errs)
{
    char jerr[512];
    json_t *root = tk_json_load_file(path, jerr, sizeof(jerr));
    if (!root) {
        tk_conf_errors_add(errs, "%s", jerr);
        return TK_ERROR;
    }
    if (!json_is_object(root)) {
        tk_conf_errors_add(errs, "%s: cannot decode %s as a map of policies", path,
                           tk_json_type_name(root));
        json_decref(root);
        return TK_ERROR;
    }
    const char *key;
    json_t *obj;
    json_object_foreach(root, key, obj)
    {
        gw_policy_t p;
        char *perr = NULL;
        if (gw_policy_from_json(obj, &p, &perr) != TK_OK) {
            tk_conf_errors_add(errs, "%s: %s: %s", path, key, perr);
            free(perr);
            continue;
        }
        /* The map key wins over the policy's own "id" (Tyk: CoalesceOrEmpty(key, pol.ID)). */
        if (*key) {
            free(p.id);
            p.id = tk_xstrdup(key);
        }
        gw_policies_add(set, &p);
    }
    json_decref(root);
    return TK_OK;
}

int gw_policies_load(gw_policies_t *set, const char *policy_path, const char *record_name,
                     tk_conf_errors_t *errs)
{
    if (policy_path && *policy_path)
        return gw_policies_load_dir(set, policy_path, errs);
    if (record_name && *record_name)
        return gw_policies_load_file(set, record_name, errs);
    return TK_OK;
}

/* ---- merge helpers ---- */

/* Tyk's greaterThanInt64: -1 means unlimited and beats every other value. */
static bool gt64(int64_t first, int64_t second)
{
    if (first == -1)
        return true;
    if (second == -1)
        return false;
    return first > second;
}

static bool partitions_enabled(const gw_partitions_t *p)
{
    return p->quota || p->rate_limit || p->acl || p->complexity;
}

static void set_smoothing(gw_smoothing_t *dst, const gw_smoothing_t *src)
{
    if (dst == src)
        return;
    gw_smoothing_free(dst);
    gw_smoothing_copy(dst, src);
}

static void set_str(char **dst, const char *src)
{
    char *n = xdup(src);
    free(*dst);
    *dst = n;
}

/* user.Policy.APILimit(): the policy's own limits as a per-API limit (smoothing deep-copied). */
static void policy_limit(const gw_policy_t *p, gw_api_limit_t *l)
{
    memset(l, 0, sizeof(*l));
    l->rate = p->rate;
    l->per = p->per;
    gw_smoothing_copy(&l->smoothing, &p->smoothing);
    l->quota_max = p->quota_max;
    l->quota_renewal_rate = p->quota_renewal_rate;
    l->throttle_interval = p->throttle_interval;
    l->throttle_retry_limit = p->throttle_retry_limit;
    l->max_query_depth = p->max_query_depth;
}

/* One flattened endpoint limit: Tyk's EndpointsMap entry "METHOD:path". */
struct epm {
    const char *method;
    const char *path;
    gw_rate_limit_t rl; /* smoothing borrowed from the source list */
};

struct epmap {
    struct epm *v;
    size_t n;
};

static struct epm *epmap_find(struct epmap *m, const char *method, const char *path)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].method, method) == 0 && strcmp(m->v[i].path, path) == 0)
            return &m->v[i];
    return NULL;
}

static void epmap_put(struct epmap *m, const char *method, const char *path,
                      const gw_rate_limit_t *rl)
{
    struct epm *e = epmap_find(m, method, path);
    if (!e) {
        m->v = tk_xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
        e = &m->v[m->n++];
        e->method = method;
        e->path = path;
    }
    e->rl = *rl; /* later duplicates overwrite, as in a Go map */
}

static void epmap_from(struct epmap *m, const gw_endpoint_t *eps, size_t n)
{
    m->v = NULL;
    m->n = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < eps[i].n_methods; j++)
            epmap_put(m, S(eps[i].methods[j].name), S(eps[i].path), &eps[i].methods[j].limit);
}

static int cmp_epm(const void *a, const void *b)
{
    const struct epm *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : strcasecmp(x->method, y->method);
}

/* EndpointsMap.Endpoints(): grouped by path, paths sorted, methods sorted case-insensitively. */
static void epmap_to_endpoints(struct epmap *m, gw_endpoint_t **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (m->n == 0)
        return;
    qsort(m->v, m->n, sizeof(*m->v), cmp_epm);
    gw_endpoint_t *eps = tk_xcalloc(m->n, sizeof(*eps));
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (n == 0 || strcmp(eps[n - 1].path, m->v[i].path) != 0)
            eps[n++].path = tk_xstrdup(m->v[i].path);
        gw_endpoint_t *ep = &eps[n - 1];
        ep->methods = tk_xrealloc(ep->methods, (ep->n_methods + 1) * sizeof(*ep->methods));
        gw_endpoint_method_t *em = &ep->methods[ep->n_methods++];
        em->name = tk_xstrdup(m->v[i].method);
        em->limit = m->v[i].rl;
        gw_smoothing_copy(&em->limit.smoothing, &m->v[i].rl.smoothing);
    }
    *out = eps;
    *nout = n;
}

/* ApplyEndpointLevelLimits: per METHOD:path the faster limit wins; missing ones are merged. */
static void merge_endpoints(const gw_endpoint_t *pol, size_t npol, const gw_endpoint_t *cur,
                            size_t ncur, gw_endpoint_t **out, size_t *nout)
{
    struct epmap cm, rm;
    epmap_from(&cm, cur, ncur);
    if (cm.n == 0) {
        gw_endpoints_copy(out, nout, pol, npol);
        free(cm.v);
        return;
    }
    epmap_from(&rm, pol, npol);
    if (rm.n == 0) {
        epmap_to_endpoints(&cm, out, nout);
        free(cm.v);
        free(rm.v);
        return;
    }
    for (size_t i = 0; i < cm.n; i++) {
        struct epm *r = epmap_find(&rm, cm.v[i].method, cm.v[i].path);
        if (!r) {
            epmap_put(&rm, cm.v[i].method, cm.v[i].path, &cm.v[i].rl);
            continue;
        }
        double pd = gw_rate_duration(r->rl.rate, r->rl.per);
        double cd = gw_rate_duration(cm.v[i].rl.rate, cm.v[i].rl.per);
        /* Equal durations (10/60 vs 5/30): the higher rate wins. */
        if (pd > cd || (pd == cd && cm.v[i].rl.rate > r->rl.rate))
            r->rl = cm.v[i].rl;
    }
    epmap_to_endpoints(&rm, out, nout);
    free(cm.v);
    free(rm.v);
}

static void replace_endpoints(gw_access_t *ad, gw_endpoint_t *eps, size_t n)
{
    gw_endpoints_free(ad->endpoints, ad->n_endpoints);
    ad->endpoints = eps;
    ad->n_endpoints = n;
}

/* The merge key of an allowed URL: the URL plus its conditions (canonical JSON). */
static char *url_key(const gw_access_spec_t *a)
{
    if (!a->conditions)
        return tk_xstrdup(S(a->url));
    char *c = json_dumps(a->conditions, JSON_COMPACT | JSON_SORT_KEYS);
    size_t len = strlen(S(a->url)) + strlen(S(c)) + 2;
    char *k = tk_xmalloc(len);
    snprintf(k, len, "%s\x01%s", S(a->url), S(c));
    free(c);
    return k;
}

/* MergeAllowedURLs: union per URL (and conditions), methods unioned, first-seen order kept. */
static void merge_allowed_urls(gw_access_t *ar, const gw_access_t *v)
{
    size_t cap = ar->n_allowed_urls + v->n_allowed_urls;
    if (cap == 0)
        return;
    gw_access_spec_t *out = tk_xcalloc(cap, sizeof(*out));
    char **keys = tk_xcalloc(cap, sizeof(*keys));
    size_t n = 0;
    const gw_access_spec_t *srcs[2] = {ar->allowed_urls, v->allowed_urls};
    size_t ns[2] = {ar->n_allowed_urls, v->n_allowed_urls};
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < ns[s]; i++) {
            char *k = url_key(&srcs[s][i]);
            size_t j;
            for (j = 0; j < n; j++)
                if (strcmp(keys[j], k) == 0)
                    break;
            if (j < n) {
                gw_strv_append_missing(&out[j].methods, &srcs[s][i].methods);
                free(k);
                continue;
            }
            keys[n] = k;
            out[n].url = xdup(srcs[s][i].url);
            gw_strv_copy(&out[n].methods, &srcs[s][i].methods);
            out[n].conditions =
                srcs[s][i].conditions ? json_deep_copy(srcs[s][i].conditions) : NULL;
            n++;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    for (size_t i = 0; i < ar->n_allowed_urls; i++) {
        free(ar->allowed_urls[i].url);
        gw_strv_free(&ar->allowed_urls[i].methods);
        if (ar->allowed_urls[i].conditions)
            json_decref(ar->allowed_urls[i].conditions);
    }
    free(ar->allowed_urls);
    ar->allowed_urls = out;
    ar->n_allowed_urls = n;
}

static json_t *extra_get(const gw_access_t *ad, const char *key)
{
    return ad->extra ? json_object_get(ad->extra, key) : NULL;
}

static void extra_set(gw_access_t *ad, const char *key, json_t *v)
{
    if (!ad->extra)
        ad->extra = json_object();
    json_object_set_new(ad->extra, key, v);
}

static void json_strs_append_missing(json_t *dst, const json_t *src)
{
    size_t i, j;
    json_t *e, *d;
    json_array_foreach(src, i, e)
    {
        bool found = false;
        json_array_foreach(dst, j, d)
        {
            if (json_equal(d, e)) {
                found = true;
                break;
            }
        }
        if (!found)
            json_array_append_new(dst, json_deep_copy(e));
    }
}

/* GraphQL restricted_types / allowed_types: fields unioned per type name, new types added. */
static void merge_types(gw_access_t *ar, const gw_access_t *v, const char *key)
{
    json_t *src = extra_get(v, key);
    json_t *dst = extra_get(ar, key);
    if (!json_is_array(dst) || json_array_size(dst) == 0) {
        if (json_is_array(src))
            extra_set(ar, key, json_deep_copy(src));
        return;
    }
    if (!json_is_array(src))
        return;
    size_t i, j;
    json_t *t, *rt;
    json_array_foreach(src, i, t)
    {
        const char *name = tk_json_str(t, "name", "");
        bool found = false;
        json_array_foreach(dst, j, rt)
        {
            if (strcmp(tk_json_str(rt, "name", ""), name) != 0)
                continue;
            json_t *f = tk_json_arr(rt, "fields");
            if (!f) {
                f = json_array();
                json_object_set_new(rt, "fields", f);
            }
            json_t *tf = tk_json_arr(t, "fields");
            if (tf)
                json_strs_append_missing(f, tf);
            found = true;
            break;
        }
        if (!found)
            json_array_append_new(dst, json_deep_copy(t));
    }
}

/* field_access_rights: same type+field keeps the greater depth (-1 = unlimited). */
static void merge_field_access(gw_access_t *ar, const gw_access_t *v)
{
    const char *key = "field_access_rights";
    json_t *src = extra_get(v, key);
    json_t *dst = extra_get(ar, key);
    if (!json_is_array(dst) || json_array_size(dst) == 0) {
        if (json_is_array(src))
            extra_set(ar, key, json_deep_copy(src));
        return;
    }
    if (!json_is_array(src))
        return;
    size_t i, j;
    json_t *far, *rfar;
    json_array_foreach(src, i, far)
    {
        bool exists = false;
        json_array_foreach(dst, j, rfar)
        {
            if (strcmp(tk_json_str(far, "type_name", ""), tk_json_str(rfar, "type_name", "")) ||
                strcmp(tk_json_str(far, "field_name", ""), tk_json_str(rfar, "field_name", "")))
                continue;
            exists = true;
            int64_t nd = tk_json_int(tk_json_obj(far, "limits"), "max_query_depth", 0);
            int64_t rd = tk_json_int(tk_json_obj(rfar, "limits"), "max_query_depth", 0);
            if (gt64(nd, rd)) {
                json_t *lim = tk_json_obj(rfar, "limits");
                if (!lim) {
                    lim = json_object();
                    json_object_set_new(rfar, "limits", lim);
                }
                json_object_set_new(lim, "max_query_depth", json_integer(nd));
            }
        }
        if (!exists)
            json_array_append_new(dst, json_deep_copy(far));
    }
}

/* ---- Apply ---- */

/* One API in the working set: Go's `rights` map entry plus its applied-partition marks. */
struct work {
    gw_access_t ad;
    char *set_by; /* APILimit.SetBy: the policy (or API) that set the limit */
    bool in_rights;
    bool acl, rate, quota, complexity;
};

struct run {
    gw_session_t *s;
    struct work *w;
    size_t n;
    bool did_per_api;
    bool did_partition;
    gw_strv_t tags;
};

static struct work *run_find(struct run *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(S(r->w[i].ad.key), S(key)) == 0)
            return &r->w[i];
    return NULL;
}

static struct work *run_get(struct run *r, const char *key)
{
    struct work *w = run_find(r, key);
    if (w)
        return w;
    r->w = tk_xrealloc(r->w, (r->n + 1) * sizeof(*r->w));
    w = &r->w[r->n++];
    memset(w, 0, sizeof(*w));
    w->ad.key = tk_xstrdup(S(key));
    return w;
}

static void run_free(struct run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        gw_access_free(&r->w[i].ad);
        free(r->w[i].set_by);
    }
    free(r->w);
    gw_strv_free(&r->tags);
}

static const char *const mixed_err =
    "cannot apply multiple policies when some have per_api set and some are partitioned";

/* applyAPILevelLimits: two per-API policies on one API, the more permissive limit wins. */
static void api_level_limits(gw_access_t *pad, char **pset_by, const gw_access_t *cur,
                             const char *cur_set_by)
{
    bool updated = false;
    gw_api_limit_t *pl = &pad->limit;
    const gw_api_limit_t *cl = &cur->limit;
    if (gw_rate_duration(pl->rate, pl->per) > gw_rate_duration(cl->rate, cl->per)) {
        pl->rate = cl->rate;
        pl->per = cl->per;
        set_smoothing(&pl->smoothing, &cl->smoothing);
        updated = true;
    }
    if (cl->quota_max != pl->quota_max && gt64(cl->quota_max, pl->quota_max)) {
        pl->quota_max = cl->quota_max;
        updated = true;
    }
    if (gt64(cl->quota_renewal_rate, pl->quota_renewal_rate))
        pl->quota_renewal_rate = cl->quota_renewal_rate;
    if (pl->quota_max == -1)
        pl->quota_renewal_rate = 0;
    if (updated) {
        set_str(pset_by, cur_set_by);
        set_str(&pad->allowance_scope, cur->allowance_scope);
    }
    gw_endpoint_t *eps;
    size_t neps;
    merge_endpoints(pad->endpoints, pad->n_endpoints, cur->endpoints, cur->n_endpoints, &eps,
                    &neps);
    replace_endpoints(pad, eps, neps);
}

static int apply_per_api(struct run *r, const gw_policy_t *p, char **err)
{
    if (r->did_partition) {
        set_err(err, "%s", mixed_err);
        return TK_ERROR;
    }
    for (size_t i = 0; i < p->n_access; i++) {
        const gw_access_t *pad = &p->access[i];
        gw_access_t ad;
        gw_access_copy(&ad, pad);
        const char *scope = pad->key;
        if (gw_api_limit_is_empty(&ad.limit)) {
            /* No API-level limit in the policy: the policy's own limits, scoped to the policy. */
            scope = p->id;
            gw_smoothing_free(&ad.limit.smoothing);
            policy_limit(p, &ad.limit);
        }
        set_str(&ad.allowance_scope, scope);
        char *set_by = xdup(S(scope));

        const gw_access_t *sad = gw_session_access(r->s, pad->key);
        if (sad && !gw_api_limit_is_empty(&sad->limit))
            ad.limit.quota_renews = sad->limit.quota_renews;
        if (sad && sad->disable_introspection)
            ad.disable_introspection = true;

        struct work *w = run_get(r, pad->key);
        if (w->in_rights)
            api_level_limits(&ad, &set_by, &w->ad, w->set_by);
        gw_access_free(&w->ad);
        free(w->set_by);
        w->ad = ad;
        w->set_by = set_by;
        w->in_rights = true;
        w->acl = w->quota = w->rate = w->complexity = true;
    }
    if (p->n_access > 0)
        r->did_per_api = true;
    return TK_OK;
}

/* ApplyRateLimits: the policy's rate replaces a limit that is empty or slower. */
static void apply_rate_limits(gw_session_t *s, const gw_policy_t *p, gw_api_limit_t *api)
{
    if (p->rate == 0 || p->per == 0)
        return;
    double pd = gw_rate_duration(p->rate, p->per);
    if (api->rate == 0 || api->per == 0 || gw_rate_duration(api->rate, api->per) > pd) {
        api->rate = p->rate;
        api->per = p->per;
        set_smoothing(&api->smoothing, &p->smoothing);
    }
    if (s->rate == 0 || s->per == 0 || gw_rate_duration(s->rate, s->per) > pd) {
        s->rate = p->rate;
        s->per = p->per;
        set_smoothing(&s->smoothing, &p->smoothing);
    }
}

static void merge_acl(gw_access_t *ar, const gw_access_t *v)
{
    if (v->disable_introspection)
        ar->disable_introspection = true;
    gw_strv_append_missing(&ar->versions, &v->versions);
    merge_allowed_urls(ar, v);
    merge_types(ar, v, "restricted_types");
    merge_types(ar, v, "allowed_types");
    merge_field_access(ar, v);
    /* MCP / JSON-RPC members: carried over when not yet present (Tyk unions their rules). */
    const char *k;
    json_t *val;
    json_object_foreach(v->extra, k, val)
    {
        if (!extra_get(ar, k))
            extra_set(ar, k, json_deep_copy(val));
    }
}

static int apply_partitions(struct run *r, const gw_policy_t *p, char **err)
{
    gw_session_t *s = r->s;
    bool use = partitions_enabled(&p->partitions);
    if (use && r->did_per_api) {
        set_err(err, "%s", mixed_err);
        return TK_ERROR;
    }
    /* Every API of the policy gets a (possibly empty) entry first, so ACLs from a later
     * policy are honoured whatever the order. */
    for (size_t i = 0; i < p->n_access; i++) {
        struct work *w = run_get(r, p->access[i].key);
        w->in_rights = true;
    }
    for (size_t i = 0; i < p->n_access; i++) {
        const gw_access_t *v = &p->access[i];
        struct work *w = run_find(r, v->key);
        /* Work on the entry in place: Tyk's copy is written back unconditionally. */
        gw_access_t *ar = &w->ad;

        if (!use || p->partitions.acl) {
            w->acl = true;
            merge_acl(ar, v);
            set_str(&w->set_by, S(p->id));
        }
        if (!use || p->partitions.quota) {
            w->quota = true;
            if (gt64(p->quota_max, ar->limit.quota_max)) {
                ar->limit.quota_max = p->quota_max;
                if (gt64(p->quota_max, s->quota_max))
                    s->quota_max = p->quota_max;
            }
            if (p->quota_renewal_rate > ar->limit.quota_renewal_rate) {
                ar->limit.quota_renewal_rate = p->quota_renewal_rate;
                if (p->quota_renewal_rate > s->quota_renewal_rate)
                    s->quota_renewal_rate = p->quota_renewal_rate;
            }
        }
        if (!use || p->partitions.rate_limit) {
            w->rate = true;
            apply_rate_limits(s, p, &ar->limit);
            gw_endpoint_t *eps;
            size_t neps;
            merge_endpoints(v->endpoints, v->n_endpoints, ar->endpoints, ar->n_endpoints, &eps,
                            &neps);
            replace_endpoints(ar, eps, neps);
            if (p->throttle_retry_limit > ar->limit.throttle_retry_limit) {
                ar->limit.throttle_retry_limit = p->throttle_retry_limit;
                if (p->throttle_retry_limit > s->throttle_retry_limit)
                    s->throttle_retry_limit = p->throttle_retry_limit;
            }
            if (p->throttle_interval > ar->limit.throttle_interval) {
                ar->limit.throttle_interval = p->throttle_interval;
                if (p->throttle_interval > s->throttle_interval)
                    s->throttle_interval = p->throttle_interval;
            }
        }
        if (!use || p->partitions.complexity) {
            w->complexity = true;
            if (gt64(p->max_query_depth, ar->limit.max_query_depth)) {
                ar->limit.max_query_depth = p->max_query_depth;
                if (gt64(p->max_query_depth, s->max_query_depth))
                    s->max_query_depth = p->max_query_depth;
            }
        }
        /* Keep the quota renewal time the key already counts towards. */
        const gw_access_t *sad = gw_session_access(s, v->key);
        if (sad && !gw_api_limit_is_empty(&sad->limit))
            ar->limit.quota_renews = sad->limit.quota_renews;
    }

    if (p->n_access == 0) {
        /* A policy without access rights sets the key's root limits. */
        if (!use || p->partitions.rate_limit) {
            s->rate = p->rate;
            s->per = p->per;
            set_smoothing(&s->smoothing, &p->smoothing);
            s->throttle_interval = p->throttle_interval;
            s->throttle_retry_limit = p->throttle_retry_limit;
        }
        if (!use || p->partitions.complexity)
            s->max_query_depth = p->max_query_depth;
        if (!use || p->partitions.quota) {
            s->quota_max = p->quota_max;
            s->quota_renewal_rate = p->quota_renewal_rate;
        }
    }
    if (!s->hmac_enabled)
        s->hmac_enabled = p->hmac_enabled;
    if (!s->enable_http_signature_validation)
        s->enable_http_signature_validation = p->enable_http_signature_validation;
    r->did_partition = use;
    return TK_OK;
}

static void merge_policy_meta(struct run *r, const gw_policy_t *p)
{
    gw_session_t *s = r->s;
    gw_strv_append_missing(&r->tags, &p->tags);
    const char *k;
    json_t *v;
    json_object_foreach(p->meta_data, k, v)
    {
        json_object_set_new(s->meta_data, k, json_deep_copy(v));
    }
    if (strcmp(S(p->last_updated), S(s->last_updated)) > 0)
        set_str(&s->last_updated, p->last_updated);
    if (p->post_expiry_action && *p->post_expiry_action)
        set_str(&s->post_expiry_action, p->post_expiry_action);
    if (p->post_expiry_grace_period != 0)
        s->post_expiry_grace_period = p->post_expiry_grace_period;
}

/* For an API no policy granted ACL on: push computed limits into the key's own entry. */
static void update_existing_limits(struct run *r, const struct work *w)
{
    gw_access_t *ex = gw_session_access(r->s, w->ad.key);
    if (!ex)
        return;
    const gw_api_limit_t *c = &w->ad.limit;
    if (w->rate) {
        ex->limit.rate = c->rate;
        ex->limit.per = c->per;
        set_smoothing(&ex->limit.smoothing, &c->smoothing);
        ex->limit.throttle_interval = c->throttle_interval;
        ex->limit.throttle_retry_limit = c->throttle_retry_limit;
        gw_endpoint_t *eps;
        size_t n;
        gw_endpoints_copy(&eps, &n, w->ad.endpoints, w->ad.n_endpoints);
        replace_endpoints(ex, eps, n);
    }
    if (w->quota) {
        ex->limit.quota_max = c->quota_max;
        ex->limit.quota_renewal_rate = c->quota_renewal_rate;
        ex->limit.quota_renews = c->quota_renews;
    }
    if (w->complexity)
        ex->limit.max_query_depth = c->max_query_depth;
}

/* Partitions no policy applied to this API come from the session root values. */
static void inherit_from_root(struct run *r, struct work *w, bool multiple_acl)
{
    gw_session_t *s = r->s;
    gw_access_t *ar = &w->ad;
    if (!w->rate) {
        ar->limit.rate = s->rate;
        ar->limit.per = s->per;
        set_smoothing(&ar->limit.smoothing, &s->smoothing);
        ar->limit.throttle_interval = s->throttle_interval;
        ar->limit.throttle_retry_limit = s->throttle_retry_limit;
        replace_endpoints(ar, NULL, 0);
    }
    if (!w->complexity)
        ar->limit.max_query_depth = s->max_query_depth;
    if (!w->quota) {
        ar->limit.quota_max = s->quota_max;
        ar->limit.quota_renewal_rate = s->quota_renewal_rate;
        ar->limit.quota_renews = s->quota_renews;
    }
    /* Several policies set ACLs: each keeps its own counters, scoped by the policy ID. */
    if (multiple_acl && (!ar->allowance_scope || !*ar->allowance_scope) && w->set_by && *w->set_by)
        set_str(&ar->allowance_scope, w->set_by);
}

static void finalise_rights(struct run *r)
{
    gw_session_t *s = r->s;
    const char *first = NULL;
    bool multiple_acl = false;
    for (size_t i = 0; i < r->n && !multiple_acl; i++) {
        const char *sb = r->w[i].in_rights ? r->w[i].set_by : NULL;
        if (!sb || !*sb)
            continue;
        if (!first)
            first = sb;
        else if (strcmp(first, sb) != 0)
            multiple_acl = true;
    }

    size_t c_acl = 0, c_rate = 0, c_quota = 0, c_cx = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct work *w = &r->w[i];
        c_acl += w->acl;
        c_rate += w->rate;
        c_quota += w->quota;
        c_cx += w->complexity;
        if (!w->in_rights)
            continue;
        if (!w->acl) {
            update_existing_limits(r, w);
            w->in_rights = false;
            continue;
        }
        inherit_from_root(r, w, multiple_acl);
    }

    /* Exactly one API got all three limit partitions: the root mirrors it (legacy). */
    if (c_quota == 1 && c_rate == 1 && c_cx == 1) {
        for (size_t i = 0; i < r->n; i++) {
            const gw_api_limit_t *l = &r->w[i].ad.limit;
            if (!r->w[i].in_rights)
                continue;
            s->rate = l->rate;
            s->per = l->per;
            set_smoothing(&s->smoothing, &l->smoothing);
            s->quota_max = l->quota_max;
            s->quota_renews = l->quota_renews;
            s->quota_renewal_rate = l->quota_renewal_rate;
            s->max_query_depth = l->max_query_depth;
        }
    }

    if (c_acl > 0) {
        gw_session_clear_access(s);
        s->access = tk_xcalloc(r->n ? r->n : 1, sizeof(*s->access));
        for (size_t i = 0; i < r->n; i++) {
            if (!r->w[i].in_rights)
                continue;
            s->access[s->n_access++] = r->w[i].ad; /* moved */
            memset(&r->w[i].ad, 0, sizeof(r->w[i].ad));
        }
    }
}

static void clear_session(gw_session_t *s, const gw_policies_t *set, const gw_strv_t *ids)
{
    for (size_t i = 0; i < ids->n; i++) {
        const gw_policy_t *p = gw_policies_get(set, ids->v[i]);
        if (!p)
            return; /* Tyk stops clearing at the first unknown policy */
        bool all = !partitions_enabled(&p->partitions);
        if (p->partitions.quota || all) {
            s->quota_max = 0;
            s->quota_remaining = 0;
        }
        if (p->partitions.rate_limit || all) {
            s->rate = 0;
            s->per = 0;
            gw_smoothing_free(&s->smoothing);
            s->throttle_retry_limit = 0;
            s->throttle_interval = 0;
        }
        if (p->partitions.complexity || all)
            s->max_query_depth = 0;
    }
}

int gw_policy_apply(gw_session_t *s, const gw_policies_t *set, const char *api_org, char **err)
{
    int rc = TK_ERROR;
    struct run r = {.s = s};
    gw_strv_t ids = {0};
    const char *const *pids;
    size_t nids = gw_session_policy_ids(s, &pids);
    for (size_t i = 0; i < nids; i++)
        gw_strv_push(&ids, pids[i]);

    if (!s->meta_data)
        s->meta_data = json_object();
    clear_session(s, set, &ids);

    /* Only the policies decide whether a key with policies is active. */
    bool inactive = nids > 0 ? false : s->is_inactive;
    size_t applied = 0;
    for (size_t i = 0; i < ids.n; i++) {
        const gw_policy_t *p = gw_policies_get(set, ids.v[i]);
        if (!p) {
            if (ids.n > 1)
                continue;
            set_err(err, "policy not found: \"%s\"", ids.v[i]);
            goto out;
        }
        applied++;
        if (api_org && strcmp(S(p->org_id), api_org) != 0) {
            set_err(err, "attempting to apply policy from different organisation to key, "
                         "skipping");
            goto out;
        }
        if (p->partitions.per_api && partitions_enabled(&p->partitions)) {
            set_err(err, "cannot apply policy %s which has per_api and any of partitions set",
                    S(p->id));
            goto out;
        }
        if ((p->partitions.per_api ? apply_per_api(&r, p, err) : apply_partitions(&r, p, err)) !=
            TK_OK)
            goto out;
        inactive = inactive || p->is_inactive;
        merge_policy_meta(&r, p);
    }
    s->is_inactive = inactive;

    gw_strv_append_missing(&r.tags, &s->tags);
    gw_strv_free(&s->tags);
    s->tags = r.tags;
    memset(&r.tags, 0, sizeof(r.tags));

    if (nids == 0) {
        /* No policies: an API with its own limit counts against its own scope. */
        for (size_t i = 0; i < s->n_access; i++)
            if (!gw_api_limit_is_empty(&s->access[i].limit))
                set_str(&s->access[i].allowance_scope, s->access[i].key);
    }
    finalise_rights(&r);

    if (applied == 0 && nids > 0) {
        set_err(err, "key has no valid policies to be applied");
        goto out;
    }
    rc = TK_OK;
out:
    run_free(&r);
    gw_strv_free(&ids);
    return rc;
}
