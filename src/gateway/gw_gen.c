/* SPDX-License-Identifier: Apache-2.0 */
/* Builds config generations from app_path and routes requests by host and listen path. */
#include "gw_gen.h"

#include "gw_dashboard.h"
#include "gw_error_overrides.h"
#include "gw_events.h"
#include "gw_mw.h"

#include "tk_log.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Longest listen path first; with custom domains, domain-bound APIs first (as Tyk sorts). */
static bool domains_first;
static int cmp_route(const void *a, const void *b)
{
    const gw_route_t *x = a, *y = b;
    if (domains_first) {
        bool dx = x->api->domain[0] != 0, dy = y->api->domain[0] != 0;
        if (dx != dy)
            return dx ? -1 : 1;
    }
    size_t lx = x->by_id ? strlen(x->prefix) : x->api->listen_len;
    size_t ly = y->by_id ? strlen(y->prefix) : y->api->listen_len;
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return 0;
}

/* Compiles one classic definition (@where names it in messages) into @g (room is reserved). */
static void add_api(gw_gen_t *g, const gw_conf_t *conf, json_t *def, const char *where,
                    tk_conf_errors_t *errs)
{
    gw_api_t *api = gw_api_from_json(def, where, conf->secrets, errs);
    if (!api)
        return;
    if (gw_mw_chain_build(api, conf, errs) != TK_OK) {
        gw_api_free(api);
        return;
    }
    api->events = gw_events_from_json(json_object_get(api->def, "event_handlers"),
                                      conf->template_path, api->api_id);
    if (gw_gen_find_api(g, api->api_id)) {
        tk_conf_errors_add(errs, "%s: duplicate api_id %s skipped", where, api->api_id);
        gw_api_free(api);
        return;
    }
    g->apis[g->napis++] = api;
}

static void load_dir(gw_gen_t *g, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    const char *dir = conf->app_path;
    DIR *d = opendir(dir);
    if (!d) {
        tk_conf_errors_add(errs, "app_path %s: cannot open directory", dir);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        if ((l > 9 && strcmp(de->d_name + l - 9, "-oas.json") == 0) ||
            (l > 9 && strcmp(de->d_name + l - 9, "-mcp.json") == 0))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = tk_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = tk_xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_name);
    g->apis = tk_xcalloc(n ? n : 1, sizeof(*g->apis));
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        free(names[i]);
        json_error_t jerr;
        json_t *def = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!def) {
            tk_conf_errors_add(errs, "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column,
                               jerr.text);
            continue;
        }
        add_api(g, conf, def, path, errs);
        json_decref(def);
    }
    free(names);
}

/* Dashboard mode: the definitions come from GET /system/apis (gw_dashboard.h). */
static void load_dashboard(gw_gen_t *g, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    json_t *defs = gw_dashboard_apis();
    g->apis = tk_xcalloc(json_array_size(defs) ? json_array_size(defs) : 1, sizeof(*g->apis));
    size_t i;
    json_t *def;
    json_array_foreach(defs, i, def)
    {
        char where[160];
        const char *id = json_string_value(json_object_get(def, "api_id"));
        snprintf(where, sizeof(where), "dashboard API %s", id ? id : "(no api_id)");
        add_api(g, conf, def, where, errs);
    }
    json_decref(defs);
}

static bool route_taken(const gw_gen_t *g, size_t upto, const gw_api_t *api, const char *lp,
                        bool by_domain)
{
    for (size_t j = 0; j < upto; j++) {
        const gw_api_t *o = g->apis[j];
        if (o->internal || !o->active || o->tcp_proto)
            continue;
        if (by_domain && strcasecmp(o->domain, api->domain) != 0)
            continue;
        if (strcmp(o->listen_path, lp) == 0)
            return true;
    }
    return false;
}

/* A later API on an already-used domain + listen path gets "-<api_id>" appended (then "_"),
 * as Tyk does, and the clash is logged. */
static void dedupe_listen_paths(gw_gen_t *g, bool by_domain)
{
    for (size_t i = 1; i < g->napis; i++) {
        gw_api_t *api = g->apis[i];
        if (api->internal || !api->active || api->listen_re || api->tcp_proto ||
            !route_taken(g, i, api, api->listen_path, by_domain))
            continue;
        size_t n = strlen(api->listen_path);
        bool slash = n > 1 && api->listen_path[n - 1] == '/';
        size_t cap = n + strlen(api->api_id) + 64;
        char *lp = tk_xmalloc(cap);
        snprintf(lp, cap, "%.*s-%s%s", (int)(slash ? n - 1 : n), api->listen_path, api->api_id,
                 slash ? "/" : "");
        while (route_taken(g, i, api, lp, by_domain) && strlen(lp) + 2 < cap) {
            size_t l = strlen(lp);
            if (slash) {
                lp[l - 1] = '_';
                lp[l] = '/';
                lp[l + 1] = '\0';
            } else {
                lp[l] = '_';
                lp[l + 1] = '\0';
            }
        }
        tk_log_error("API %s: listen path %s is already in use; serving it on %s", api->api_id,
                     api->listen_path, lp);
        free(api->listen_path);
        api->listen_path = lp;
        api->listen_len = strlen(lp);
    }
}

gw_gen_t *gw_gen_build(const gw_conf_t *conf, uint64_t seq, tk_conf_errors_t *errs)
{
    gw_gen_t *g = tk_xcalloc(1, sizeof(*g));
    g->refs = 1;
    g->seq = seq;
    if (gw_dashboard_serves_apis(conf))
        load_dashboard(g, conf, errs);
    else
        load_dir(g, conf, errs);
    g->templates = gw_templates_load(conf->template_path, errs);
    g->error_overrides =
        gw_eo_compile(conf->error_overrides, conf->template_path, "tyk.conf", NULL, NULL);
    if (gw_dashboard_serves_policies(conf))
        gw_dashboard_load_policies(&g->policies, errs);
    else if ((conf->policies_policy_path && *conf->policies_policy_path) ||
             (conf->policies_policy_record_name && *conf->policies_policy_record_name))
        gw_policies_load(&g->policies, conf->policies_policy_path,
                         conf->policies_policy_record_name, errs);
    dedupe_listen_paths(g, conf->enable_custom_domains);

    g->routes = tk_xcalloc(g->napis * 2 + 1, sizeof(*g->routes));
    for (size_t i = 0; i < g->napis; i++) {
        gw_api_t *api = g->apis[i];
        if (api->internal || api->tcp_proto)
            continue; /* reachable only by looping; tcp/tls: their own port (gw_tcp.h) */
        g->routes[g->nroutes++] = (gw_route_t){api, api->listen_path, false};
    }
    /* Every API is also mounted on /<api_id>/, after the listen paths of equal length. */
    for (size_t i = 0; i < g->napis; i++) {
        gw_api_t *api = g->apis[i];
        if (api->internal || api->tcp_proto)
            continue;
        char *p = tk_xmalloc(strlen(api->api_id) + 3);
        snprintf(p, strlen(api->api_id) + 3, "/%s/", api->api_id);
        g->routes[g->nroutes++] = (gw_route_t){api, p, true};
    }
    domains_first = conf->enable_custom_domains;
    /* qsort is not stable; insertion sort keeps equal keys in file order, as Tyk does. */
    for (size_t i = 1; i < g->nroutes; i++) {
        gw_route_t r = g->routes[i];
        size_t j = i;
        while (j > 0 && cmp_route(&g->routes[j - 1], &r) > 0) {
            g->routes[j] = g->routes[j - 1];
            j--;
        }
        g->routes[j] = r;
    }
    return g;
}

void gw_gen_ref(gw_gen_t *g)
{
    atomic_fetch_add_explicit((_Atomic int *)&g->refs, 1, memory_order_relaxed);
}

void gw_gen_unref(gw_gen_t *g)
{
    if (!g || atomic_fetch_sub_explicit((_Atomic int *)&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < g->nroutes; i++)
        if (g->routes[i].by_id)
            free((char *)g->routes[i].prefix);
    free(g->routes);
    for (size_t i = 0; i < g->napis; i++)
        gw_api_free(g->apis[i]);
    free(g->apis);
    gw_templates_free(g->templates);
    gw_eo_free(g->error_overrides);
    gw_policies_free(&g->policies);
    free(g);
}

gw_api_t *gw_gen_find_api(const gw_gen_t *g, const char *api_id)
{
    for (size_t i = 0; i < g->napis; i++)
        if (strcmp(g->apis[i]->api_id, api_id) == 0)
            return g->apis[i];
    return NULL;
}

static bool host_matches(const char *domain, const char *host, size_t hlen)
{
    const char *colon = memchr(host, ':', hlen);
    if (colon && host[0] != '[')
        hlen = (size_t)(colon - host);
    return strlen(domain) == hlen && strncasecmp(domain, host, hlen) == 0;
}

const gw_route_t *gw_gen_route(const gw_gen_t *g, const gw_conf_t *conf, const char *host,
                               size_t hlen, const char *path, size_t plen, size_t *matched)
{
    bool strict = conf->hso_enable_strict_routes;
    if (conf->hostname[0] && !host_matches(conf->hostname, host, hlen))
        return NULL;
    for (size_t i = 0; i < g->nroutes; i++) {
        const gw_route_t *r = &g->routes[i];
        if (conf->enable_custom_domains && r->api->domain[0] &&
            !host_matches(r->api->domain, host, hlen))
            continue;
        ssize_t m;
        if (r->by_id) {
            size_t l = strlen(r->prefix);
            if (plen >= l && memcmp(path, r->prefix, l) == 0)
                m = (ssize_t)l;
            else
                continue;
        } else if ((m = gw_api_match_listen(r->api, path, plen, strict)) < 0) {
            continue;
        }
        *matched = (size_t)m;
        return r;
    }
    return NULL;
}
