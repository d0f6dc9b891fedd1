/* SPDX-License-Identifier: Apache-2.0 */
/* Classic API definition loading: validation, target parsing, listen-path compilation. */
#include "gw_api.h"
#include "tk_regex.h"
#include "gw_analytics.h"

#include "gw_certstore.h"
#include "gw_events.h"
#include "gw_mw.h"

#include <stdlib.h>
#include <strings.h>

static const char *jstr(json_t *o, const char *k, const char *def)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : def;
}

static bool jbool(json_t *o, const char *k, bool def)
{
    json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

void gw_target_clear(gw_target_t *t)
{
    free(t->url);
    free(t->scheme);
    free(t->host);
    free(t->hostport);
    free(t->path);
    free(t->query);
    gw_upcert_free(t->upcert);
    memset(t, 0, sizeof(*t));
}

int gw_target_parse(gw_target_t *t, const char *url, const char **why)
{
    memset(t, 0, sizeof(*t));
    const char *sep = strstr(url, "://");
    if (!sep) {
        *why = "target URL has no scheme";
        return TK_ERROR;
    }
    size_t slen = (size_t)(sep - url);
    /* h2c: cleartext HTTP/2 with prior knowledge (gw_proxy_h2.c), as Tyk's h2c:// targets */
    bool h2c = slen == 3 && strncasecmp(url, "h2c", 3) == 0;
    /* ws/wss go out as http/https (Tyk's director maps them); tcp/tls: TCP proxy APIs */
    bool ws = slen == 2 && strncasecmp(url, "ws", 2) == 0;
    bool wss = slen == 3 && strncasecmp(url, "wss", 3) == 0;
    bool raw_tcp = slen == 3 && strncasecmp(url, "tcp", 3) == 0;
    bool raw_tls = slen == 3 && strncasecmp(url, "tls", 3) == 0;
    bool tls;
    if ((slen == 4 && strncasecmp(url, "http", 4) == 0) || h2c || ws || raw_tcp)
        tls = false;
    else if ((slen == 5 && strncasecmp(url, "https", 5) == 0) || wss || raw_tls)
        tls = true;
    else {
        *why = "unsupported target URL scheme";
        return TK_ERROR;
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0) {
        *why = "target URL has no host";
        return TK_ERROR;
    }
    const char *at = memchr(auth, '@', alen); /* drop userinfo */
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    const char *host = auth;
    size_t hlen;
    const char *portp = NULL;
    if (auth[0] == '[') {
        const char *rb = memchr(auth, ']', alen);
        if (!rb) {
            *why = "bad IPv6 address in target URL";
            return TK_ERROR;
        }
        host = auth + 1;
        hlen = (size_t)(rb - host);
        if ((size_t)(rb + 1 - auth) < alen && rb[1] == ':')
            portp = rb + 2;
    } else {
        const char *colon = memchr(auth, ':', alen);
        hlen = colon ? (size_t)(colon - auth) : alen;
        if (colon)
            portp = colon + 1;
    }
    int port = tls ? 443 : 80;
    if (portp) {
        size_t plen = alen - (size_t)(portp - auth);
        if (plen > 0) {
            char buf[8];
            if (plen >= sizeof(buf)) {
                *why = "bad port in target URL";
                return TK_ERROR;
            }
            memcpy(buf, portp, plen);
            buf[plen] = '\0';
            char *end;
            long v = strtol(buf, &end, 10);
            if (*end || v <= 0 || v > 65535) {
                *why = "bad port in target URL";
                return TK_ERROR;
            }
            port = (int)v;
        }
    }
    if (hlen == 0) {
        *why = "target URL has no host";
        return TK_ERROR;
    }
    const char *rest = auth + alen;
    size_t plen = strcspn(rest, "?#");
    t->url = tk_xstrdup(url);
    const char *scheme = h2c ? "h2c" : tls ? "https" : "http";
    t->scheme = tk_xstrdup(raw_tcp ? "tcp" : raw_tls ? "tls" : scheme);
    t->tls = tls;
    t->host = tk_xstrndup(host, hlen);
    t->hostport = tk_xstrndup(auth, alen);
    t->port = port;
    t->path = tk_xstrndup(rest, plen);
    if (rest[plen] == '?') {
        const char *q = rest + plen + 1;
        t->query = tk_xstrndup(q, strcspn(q, "#"));
    }
    return TK_OK;
}

/* Compiles a listen path holding {name} / {name:regex} segments into an anchored regex. */
static pcre2_code *compile_listen(const char *lp, const char **why)
{
    size_t n = strlen(lp);
    char *re = tk_xmalloc(n * 4 + 16);
    size_t o = 0;
    re[o++] = '^';
    for (size_t i = 0; i < n;) {
        if (lp[i] == '{') {
            const char *close = strchr(lp + i, '}');
            if (!close) {
                free(re);
                *why = "unbalanced braces in listen_path";
                return NULL;
            }
            const char *colon = memchr(lp + i, ':', (size_t)(close - (lp + i)));
            if (colon) {
                size_t rl = (size_t)(close - colon - 1);
                memcpy(re + o, "(?:", 3);
                o += 3;
                memcpy(re + o, colon + 1, rl);
                o += rl;
                re[o++] = ')';
            } else {
                memcpy(re + o, "[^/]+", 5);
                o += 5;
            }
            i = (size_t)(close - lp) + 1;
            continue;
        }
        if (strchr("\\^$.|?*+()[]{}", lp[i]))
            re[o++] = '\\';
        re[o++] = lp[i++];
    }
    re[o] = '\0';
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, o, 0, &err, &off, NULL);
    free(re);
    if (!code) {
        *why = "invalid regular expression in listen_path";
        return NULL;
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return code;
}

static size_t literal_len(const char *lp)
{
    size_t n = 0;
    for (const char *p = lp; *p;) {
        if (*p == '{') {
            const char *c = strchr(p, '}');
            if (!c)
                break;
            p = c + 1;
            continue;
        }
        n++;
        p++;
    }
    return n;
}

/* A string field with its secret reference resolved; NULL (and an error) when that fails. */
static char *field(json_t *o, const char *k, json_t *secrets, const char *file,
                   tk_conf_errors_t *errs)
{
    const char *v = jstr(o, k, "");
    char *path = tk_xmalloc(strlen(file) + strlen(k) + 4);
    memcpy(path, file, strlen(file));
    memcpy(path + strlen(file), ": ", 2);
    memcpy(path + strlen(file) + 2, k, strlen(k) + 1);
    char *r = tk_conf_resolve_secret(v, secrets, errs, path);
    free(path);
    return r;
}

gw_api_t *gw_api_from_json(json_t *def, const char *file, json_t *secrets, tk_conf_errors_t *errs)
{
    if (!json_is_object(def)) {
        tk_conf_errors_add(errs, "%s: API definition must be a JSON object", file);
        return NULL;
    }
    json_t *proxy = json_object_get(def, "proxy");
    if (!json_is_object(proxy)) {
        tk_conf_errors_add(errs, "%s: missing \"proxy\" object", file);
        return NULL;
    }
    const char *api_id = jstr(def, "api_id", "");
    if (!*api_id) {
        tk_conf_errors_add(errs, "%s: missing \"api_id\"", file);
        return NULL;
    }
    char *lp = field(proxy, "listen_path", secrets, file, errs);
    if (!lp)
        return NULL;
    const char *proto = jstr(def, "protocol", "");
    bool tcp_proto = strcmp(proto, "tcp") == 0 || strcmp(proto, "tls") == 0;
    if (!tcp_proto && (!*lp || strchr(lp, ' '))) { /* Tyk checks this for HTTP APIs only */
        tk_conf_errors_add(errs,
                           *lp ? "%s: API %s: listen_path contains a space"
                               : "%s: API %s has an empty proxy.listen_path",
                           file, api_id);
        free(lp);
        return NULL;
    }
    gw_api_t *api = tk_xcalloc(1, sizeof(*api));
    api->def = json_incref(def);
    api->tcp_proto = tcp_proto;
    api->file = tk_xstrdup(file);
    api->name = tk_xstrdup(jstr(def, "name", ""));
    api->api_id = tk_xstrdup(api_id);
    api->org_id = tk_xstrdup(jstr(def, "org_id", ""));
    api->slug = tk_xstrdup(jstr(def, "slug", ""));
    api->active = jbool(def, "active", true);
    api->internal = jbool(def, "internal", false);
    api->use_keyless = jbool(def, "use_keyless", false);
    api->domain = tk_xstrdup(jbool(def, "domain_disabled", false) ? "" : jstr(def, "domain", ""));
    api->listen_path = lp;
    api->listen_len = literal_len(lp);
    api->strip_listen_path = jbool(proxy, "strip_listen_path", false);
    api->disable_strip_slash = jbool(proxy, "disable_strip_slash", false);
    api->preserve_host_header = jbool(proxy, "preserve_host_header", false);
    api->analytics = gw_api_analytics_from_json(def);
    json_t *transport = json_object_get(proxy, "transport");
    api->ssl_insecure_skip_verify = jbool(transport, "ssl_insecure_skip_verify", false);
    json_t *minv = json_object_get(transport, "ssl_min_version");
    api->ssl_min_version = json_is_integer(minv) ? json_integer_value(minv) : 0;

    const char *why = NULL;
    char *target_owned = NULL;
    if (strchr(lp, '{') && !(api->listen_re = compile_listen(lp, &why)))
        goto fail;
    target_owned = field(proxy, "target_url", secrets, file, errs);
    if (!target_owned) {
        gw_api_free(api);
        return NULL;
    }
    const char *target = target_owned;
    api->load_balancing = jbool(proxy, "enable_load_balancing", false);
    api->check_host_against_uptime_tests = jbool(proxy, "check_host_against_uptime_tests", false);
    json_t *list = json_object_get(proxy, "target_list");
    if (api->load_balancing && json_array_size(list) > 0) {
        api->nlb = json_array_size(list);
        api->lb = tk_xcalloc(api->nlb, sizeof(*api->lb));
        for (size_t i = 0; i < api->nlb; i++) {
            const char *u = json_string_value(json_array_get(list, i));
            char *ru = u ? tk_conf_resolve_secret(u, secrets, errs, file) : NULL;
            int prc = ru ? gw_target_parse(&api->lb[i], ru, &why) : TK_ERROR;
            free(ru);
            if (prc != TK_OK) {
                if (!u)
                    why = "target_list entries must be strings";
                else if (!ru)
                    why = "unresolvable secret in target_list";
                goto fail;
            }
        }
        if (!*target)
            target = api->lb[0].url;
    } else {
        api->load_balancing = false;
    }
    if (gw_target_parse(&api->target, target, &why) != TK_OK)
        goto fail;
    free(target_owned);
    return api;
fail:
    tk_conf_errors_add(errs, "%s: API %s: %s", file, api_id, why);
    free(target_owned);
    gw_api_free(api);
    return NULL;
}

void gw_api_free(gw_api_t *api)
{
    if (!api)
        return;
    gw_mw_chain_free(api);
    gw_api_analytics_free(api->analytics);
    gw_events_unref(api->events);
    json_decref(api->def);
    free(api->file);
    free(api->name);
    free(api->api_id);
    free(api->org_id);
    free(api->slug);
    free(api->domain);
    free(api->listen_path);
    if (api->listen_re)
        pcre2_code_free(api->listen_re);
    gw_target_clear(&api->target);
    for (size_t i = 0; i < api->nlb; i++)
        gw_target_clear(&api->lb[i]);
    free(api->lb);
    free(api);
}

ssize_t gw_api_match_listen(const gw_api_t *api, const char *path, size_t len, bool strict)
{
    size_t m;
    if (api->listen_re) {
        pcre2_match_data *match_data = tk_re_match_data();
        int rc = pcre2_match(api->listen_re, (PCRE2_SPTR)path, len, 0, 0, match_data, NULL);
        if (rc < 0)
            return -1;
        m = (size_t)pcre2_get_ovector_pointer(match_data)[1];
    } else {
        size_t ll = strlen(api->listen_path);
        if (len >= ll && memcmp(path, api->listen_path, ll) == 0) {
            m = ll;
        } else if (ll > 1 && api->listen_path[ll - 1] == '/' && len == ll - 1 &&
                   memcmp(path, api->listen_path, ll - 1) == 0) {
            return (ssize_t)len; /* "/foo" reaches the API listening on "/foo/" */
        } else {
            return -1;
        }
    }
    if (strict && m < len && m > 0 && path[m - 1] != '/' && path[m] != '/')
        return -1;
    return (ssize_t)m;
}
