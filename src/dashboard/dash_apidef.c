/* SPDX-License-Identifier: Apache-2.0 */
/* Shape and sense checks of classic and Tyk OAS API definitions (see dash_apidef.h). */
#include "dash_apidef.h"

#include "tk_json.h"

#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BAD_SHAPE 400
#define UNUSABLE 422

static int fail(int status, char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int status, char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return status;
}

/* ---- field types ----------------------------------------------------------------------------- */

enum want { W_BOOL, W_STRING, W_OBJECT, W_ARRAY, W_INT, W_NUMBER };

static const char *want_name(enum want w)
{
    static const char *const names[] = {"a boolean", "a string",   "an object",
                                        "an array",  "an integer", "a number"};
    return names[w];
}

static bool is_a(const json_t *v, enum want w)
{
    switch (w) {
    case W_BOOL:
        return json_is_boolean(v);
    case W_STRING:
        return json_is_string(v);
    case W_OBJECT:
        return json_is_object(v);
    case W_ARRAY:
        return json_is_array(v);
    case W_INT:
        return json_is_integer(v);
    case W_NUMBER:
        return json_is_number(v);
    }
    return false;
}

typedef struct field_type {
    const char *name;
    enum want want;
} field_type_t;

/* Checks the types of @fields present (null counts as absent, as Go's decoder treats it) in
 * @obj, whose path in messages is @where. */
static int check_types(const json_t *obj, const char *where, const field_type_t *fields, size_t n,
                       char *msg, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(obj, fields[i].name);
        if (v && !json_is_null(v) && !is_a(v, fields[i].want))
            return fail(BAD_SHAPE, msg, cap, "%s.%s must be %s, not %s", where, fields[i].name,
                        want_name(fields[i].want), tk_json_type_name(v));
    }
    return 0;
}

/* ---- path patterns --------------------------------------------------------------------------- */

/* Compiles @path the way a gateway will: {name} segments match one path segment, the rest is a
 * regular expression. */
int dash_apidef_check_pattern(const char *path, const char *where, char *msg, size_t cap)
{
    size_t len = strlen(path), o = 0;
    char *re = tk_xmalloc(len * 7 + 1);
    for (size_t i = 0; i < len;) {
        const char *close = path[i] == '{' ? strchr(path + i, '}') : NULL;
        if (close && close > path + i + 1 &&
            !memchr(path + i + 1, '/', (size_t)(close - path - i))) {
            memcpy(re + o, "([^/]+)", 7);
            o += 7;
            i = (size_t)(close - path) + 1;
            continue;
        }
        re[o++] = path[i++];
    }
    re[o] = '\0';
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, o, 0, &err, &off, NULL);
    free(re);
    if (code) {
        pcre2_code_free(code);
        return 0;
    }
    PCRE2_UCHAR why[128];
    pcre2_get_error_message(err, why, sizeof(why));
    return fail(UNUSABLE, msg, cap, "%s: \"%s\" is not a valid path pattern: %s", where, path,
                (const char *)why);
}

/* Every entry of one extended_paths list: objects with "path" (and url_rewrites' match_pattern),
 * or plain strings in the older list form. */
static int check_ep_list(const json_t *list, const char *where, char *msg, size_t cap)
{
    if (!json_is_array(list))
        return json_is_null(list) ? 0
                                  : fail(BAD_SHAPE, msg, cap, "%s must be an array, not %s", where,
                                         tk_json_type_name(list));
    size_t i;
    const json_t *e;
    char at[512];
    json_array_foreach(list, i, e)
    {
        snprintf(at, sizeof(at), "%s[%zu]", where, i);
        if (json_is_string(e)) {
            int rc = dash_apidef_check_pattern(json_string_value(e), at, msg, cap);
            if (rc)
                return rc;
            continue;
        }
        if (!json_is_object(e))
            return fail(BAD_SHAPE, msg, cap, "%s must be an object, not %s", at,
                        tk_json_type_name(e));
        static const char *const keys[] = {"path", "match_pattern"};
        for (size_t k = 0; k < TK_ARRAY_LEN(keys); k++) {
            const json_t *p = json_object_get(e, keys[k]);
            if (!p || json_is_null(p))
                continue;
            char fat[600];
            snprintf(fat, sizeof(fat), "%s.%s", at, keys[k]);
            if (!json_is_string(p))
                return fail(BAD_SHAPE, msg, cap, "%s must be a string, not %s", fat,
                            tk_json_type_name(p));
            int rc = dash_apidef_check_pattern(json_string_value(p), fat, msg, cap);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int check_versions(const json_t *vd, char *msg, size_t cap)
{
    static const field_type_t vd_fields[] = {
        {"not_versioned", W_BOOL}, {"versions", W_OBJECT}, {"default_version", W_STRING}};
    int rc = check_types(vd, "api_definition.version_data", vd_fields, TK_ARRAY_LEN(vd_fields), msg,
                         cap);
    if (rc)
        return rc;
    const char *name;
    const json_t *ver;
    json_object_foreach((json_t *)json_object_get(vd, "versions"), name, ver)
    {
        char where[300];
        snprintf(where, sizeof(where), "api_definition.version_data.versions.%s", name);
        if (!json_is_object(ver))
            return fail(BAD_SHAPE, msg, cap, "%s must be an object, not %s", where,
                        tk_json_type_name(ver));
        static const field_type_t v_fields[] = {{"name", W_STRING},
                                                {"use_extended_paths", W_BOOL},
                                                {"extended_paths", W_OBJECT},
                                                {"paths", W_OBJECT},
                                                {"global_headers", W_OBJECT}};
        if ((rc = check_types(ver, where, v_fields, TK_ARRAY_LEN(v_fields), msg, cap)))
            return rc;
        static const char *const groups[] = {"extended_paths", "paths"};
        for (size_t g = 0; g < TK_ARRAY_LEN(groups); g++) {
            const char *kind;
            const json_t *list;
            json_object_foreach((json_t *)json_object_get(ver, groups[g]), kind, list)
            {
                char at[400];
                snprintf(at, sizeof(at), "%s.%s.%s", where, groups[g], kind);
                if ((rc = check_ep_list(list, at, msg, cap)))
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- URLs and listen paths ------------------------------------------------------------------- */

static bool valid_target(const char *url)
{
    static const char *const schemes[] = {"http://", "https://", "h2c://", "ws://",
                                          "wss://",  "tcp://",   "tls://", "tyk://"};
    for (size_t i = 0; i < TK_ARRAY_LEN(schemes); i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(url, schemes[i], n) == 0) {
            const char *host = url + n;
            return *host && *host != '/' && !strpbrk(host, " \t\r\n");
        }
    }
    return false;
}

static int check_listen_path(const json_t *lp, const char *where, char *msg, size_t cap)
{
    if (!json_is_string(lp))
        return fail(BAD_SHAPE, msg, cap, "%s must be a string, not %s", where,
                    tk_json_type_name(lp));
    const char *s = json_string_value(lp);
    if (s[0] != '/')
        return fail(UNUSABLE, msg, cap, "%s must start with \"/\" (got \"%s\")", where, s);
    if (strpbrk(s, " \t\r\n?#"))
        return fail(UNUSABLE, msg, cap, "%s must not contain spaces, '?' or '#' (got \"%s\")",
                    where, s);
    return 0;
}

/* ---- classic definitions --------------------------------------------------------------------- */

static const field_type_t def_fields[] = {
    {"name", W_STRING},
    {"api_id", W_STRING},
    {"org_id", W_STRING},
    {"slug", W_STRING},
    {"domain", W_STRING},
    {"active", W_BOOL},
    {"internal", W_BOOL},
    {"use_keyless", W_BOOL},
    {"use_oauth2", W_BOOL},
    {"use_openid", W_BOOL},
    {"use_basic_auth", W_BOOL},
    {"use_mutual_tls_auth", W_BOOL},
    {"use_standard_auth", W_BOOL},
    {"use_go_plugin_auth", W_BOOL},
    {"enable_jwt", W_BOOL},
    {"enable_coprocess_auth", W_BOOL},
    {"enable_signature_checking", W_BOOL},
    {"enable_ip_whitelisting", W_BOOL},
    {"enable_ip_blacklisting", W_BOOL},
    {"enable_batch_request_support", W_BOOL},
    {"enable_context_vars", W_BOOL},
    {"strip_auth_data", W_BOOL},
    {"dont_set_quota_on_create", W_BOOL},
    {"do_not_track", W_BOOL},
    {"tags_disabled", W_BOOL},
    {"is_oas", W_BOOL},
    {"proxy", W_OBJECT},
    {"version_data", W_OBJECT},
    {"auth", W_OBJECT},
    {"auth_configs", W_OBJECT},
    {"definition", W_OBJECT},
    {"custom_middleware", W_OBJECT},
    {"event_handlers", W_OBJECT},
    {"CORS", W_OBJECT},
    {"cache_options", W_OBJECT},
    {"tags", W_ARRAY},
    {"allowed_ips", W_ARRAY},
    {"blacklisted_ips", W_ARRAY},
    {"global_rate_limit", W_OBJECT},
    {"session_lifetime", W_INT},
    {"expire_analytics_after", W_INT},
};

static int check_string_array(const json_t *arr, const char *where, char *msg, size_t cap)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) if (!json_is_string(e)) return fail(
        BAD_SHAPE, msg, cap, "%s[%zu] must be a string, not %s", where, i, tk_json_type_name(e));
    return 0;
}

int dash_apidef_check(const json_t *def, char *msg, size_t cap)
{
    if (!json_is_object(def))
        return fail(BAD_SHAPE, msg, cap, "api_definition must be an object, not %s",
                    def ? tk_json_type_name(def) : "missing");
    int rc = check_types(def, "api_definition", def_fields, TK_ARRAY_LEN(def_fields), msg, cap);
    if (rc)
        return rc;
    const char *name = json_string_value(json_object_get(def, "name"));
    if (!name || !*name)
        return fail(BAD_SHAPE, msg, cap, "api_definition.name is required");
    static const char *const str_arrays[] = {"tags", "allowed_ips", "blacklisted_ips"};
    for (size_t i = 0; i < TK_ARRAY_LEN(str_arrays); i++) {
        char where[64];
        snprintf(where, sizeof(where), "api_definition.%s", str_arrays[i]);
        const json_t *a = json_object_get(def, str_arrays[i]);
        if (json_is_array(a) && (rc = check_string_array(a, where, msg, cap)))
            return rc;
    }
    const json_t *proxy = json_object_get(def, "proxy");
    if (!json_is_object(proxy))
        return fail(BAD_SHAPE, msg, cap, "api_definition.proxy is required");
    static const field_type_t proxy_fields[] = {
        {"listen_path", W_STRING},       {"target_url", W_STRING},
        {"strip_listen_path", W_BOOL},   {"preserve_host_header", W_BOOL},
        {"disable_strip_slash", W_BOOL}, {"enable_load_balancing", W_BOOL},
        {"service_discovery", W_OBJECT}, {"transport", W_OBJECT},
        {"target_list", W_ARRAY}};
    if ((rc = check_types(proxy, "api_definition.proxy", proxy_fields, TK_ARRAY_LEN(proxy_fields),
                          msg, cap)))
        return rc;
    /* a missing or empty listen path is defaulted by the caller ("/<api_id>/", as Tyk does) */
    const json_t *lp = json_object_get(proxy, "listen_path");
    if (lp && !json_is_null(lp) && !(json_is_string(lp) && !json_string_length(lp)) &&
        (rc = check_listen_path(lp, "api_definition.proxy.listen_path", msg, cap)))
        return rc;
    bool discovery =
        json_is_true(tk_json_get_path(proxy, "service_discovery.use_discovery_service"));
    bool internal = json_is_true(json_object_get(def, "internal"));
    const char *target = json_string_value(json_object_get(proxy, "target_url"));
    if (!discovery && !internal && (!target || !valid_target(target)))
        return fail(UNUSABLE, msg, cap,
                    "api_definition.proxy.target_url must be an http(s), h2c, ws(s), tcp, tls "
                    "or tyk URL with a host (got \"%s\")",
                    target ? target : "");
    const json_t *vd = json_object_get(def, "version_data");
    if (json_is_object(vd) && (rc = check_versions(vd, msg, cap)))
        return rc;
    return 0;
}

/* What Tyk's ApiDefinitionWrapper has besides api_definition. */
static const field_type_t wrapper_fields[] = {
    {"api_definition", W_OBJECT}, {"api_model", W_OBJECT},        {"categories", W_ARRAY},
    {"created_at", W_STRING},     {"updated_at", W_STRING},       {"hook_references", W_ARRAY},
    {"is_site", W_BOOL},          {"is_streams", W_BOOL},         {"oas", W_OBJECT},
    {"sort_by", W_INT},           {"user_group_owners", W_ARRAY}, {"user_owners", W_ARRAY},
};

int dash_apidef_check_wrapper(const json_t *wrapper, char *msg, size_t cap)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)wrapper, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < TK_ARRAY_LEN(wrapper_fields) && !known; i++)
            known = strcmp(key, wrapper_fields[i].name) == 0;
        if (!known)
            return fail(BAD_SHAPE, msg, cap,
                        "unknown field \"%s\": the body must be Tyk's API definition wrapper "
                        "{\"api_definition\": {...}, \"hook_references\": [], ...}",
                        key);
    }
    int rc = check_types(wrapper, "body", wrapper_fields, TK_ARRAY_LEN(wrapper_fields), msg, cap);
    if (rc)
        return rc;
    static const char *const owners[] = {"user_owners", "user_group_owners", "categories"};
    for (size_t i = 0; i < TK_ARRAY_LEN(owners); i++) {
        const json_t *a = json_object_get(wrapper, owners[i]);
        if (json_is_array(a) && (rc = check_string_array(a, owners[i], msg, cap)))
            return rc;
    }
    return dash_apidef_check(json_object_get(wrapper, "api_definition"), msg, cap);
}

/* ---- Tyk OAS --------------------------------------------------------------------------------- */

int dash_apidef_check_oas(const json_t *oas, char *msg, size_t cap)
{
    const json_t *ver = json_object_get(oas, "openapi");
    if (!json_is_string(ver) || strncmp(json_string_value(ver), "3.", 2) != 0)
        return fail(BAD_SHAPE, msg, cap,
                    "openapi must be the OpenAPI version string (3.0.x or 3.1.x)");
    const json_t *info = json_object_get(oas, "info");
    if (!json_is_object(info) || !json_is_string(json_object_get(info, "title")) ||
        !json_is_string(json_object_get(info, "version")))
        return fail(BAD_SHAPE, msg, cap, "info must be an object with a title and a version");
    const json_t *paths = json_object_get(oas, "paths");
    if (paths && !json_is_object(paths))
        return fail(BAD_SHAPE, msg, cap, "paths must be an object, not %s",
                    tk_json_type_name(paths));
    const json_t *x = json_object_get(oas, "x-tyk-api-gateway");
    if (!json_is_object(x))
        return fail(BAD_SHAPE, msg, cap, "x-tyk-api-gateway is required (an object)");
    const json_t *name = tk_json_get_path(x, "info.name");
    if (!json_is_string(name) || !json_string_length(name))
        return fail(BAD_SHAPE, msg, cap, "x-tyk-api-gateway.info.name is required");
    const json_t *active = tk_json_get_path(x, "info.state.active");
    if (active && !json_is_boolean(active))
        return fail(BAD_SHAPE, msg, cap, "x-tyk-api-gateway.info.state.active must be a boolean");
    const json_t *lp = tk_json_get_path(x, "server.listenPath.value");
    if (!lp)
        return fail(BAD_SHAPE, msg, cap, "x-tyk-api-gateway.server.listenPath.value is required");
    int rc = check_listen_path(lp, "x-tyk-api-gateway.server.listenPath.value", msg, cap);
    if (rc)
        return rc;
    const json_t *strip = tk_json_get_path(x, "server.listenPath.strip");
    if (strip && !json_is_boolean(strip))
        return fail(BAD_SHAPE, msg, cap,
                    "x-tyk-api-gateway.server.listenPath.strip must be a boolean");
    const char *url = json_string_value(tk_json_get_path(x, "upstream.url"));
    if (!url || !valid_target(url))
        return fail(UNUSABLE, msg, cap,
                    "x-tyk-api-gateway.upstream.url must be an http(s), h2c, ws(s), tcp, tls or "
                    "tyk URL with a host (got \"%s\")",
                    url ? url : "");
    return 0;
}

json_t *dash_apidef_from_oas(const json_t *oas)
{
    const json_t *x = json_object_get(oas, "x-tyk-api-gateway");
    const json_t *active = tk_json_get_path(x, "info.state.active");
    const json_t *strip = tk_json_get_path(x, "server.listenPath.strip");
    /* an OAS API without enabled authentication is open, as on Tyk's gateway */
    bool auth = json_is_true(tk_json_get_path(x, "server.authentication.enabled"));
    return json_pack("{s:O, s:b, s:b, s:b, s:{s:O, s:O, s:b}, s:{s:b, s:{s:{s:s}}}}", "name",
                     tk_json_get_path(x, "info.name"), "active",
                     active ? json_is_true(active) : true, "is_oas", true, "use_keyless", !auth,
                     "proxy", "listen_path", tk_json_get_path(x, "server.listenPath.value"),
                     "target_url", tk_json_get_path(x, "upstream.url"), "strip_listen_path",
                     strip ? json_is_true(strip) : false, "version_data", "not_versioned", true,
                     "versions", "Default", "name", "Default");
}

/* ---- listen path uniqueness ------------------------------------------------------------------ */

int dash_apidef_check_listen_path_free(dash_store_t *st, const char *org, const char *listen_path,
                                       const char *domain, const char *self_id, char *msg,
                                       size_t cap)
{
    /* "/a" and "/a/" route the same requests: look both up (the column is indexed) */
    size_t n = strlen(listen_path);
    char *other = tk_xmalloc(n + 2);
    memcpy(other, listen_path, n + 1);
    if (n > 1 && listen_path[n - 1] == '/')
        other[n - 1] = '\0';
    else if (n > 0 && listen_path[n - 1] != '/')
        memcpy(other + n, "/", 2);
    const char *variants[2] = {listen_path, other};
    int rc = 0;
    for (size_t i = 0; i < 2 && !rc; i++) {
        if (i == 1 && strcmp(other, listen_path) == 0)
            break;
        dash_list_query_t q = {.org = org, .col = 1, .value = variants[i]};
        json_t *found = NULL;
        if (dash_store_list(st, DASH_API, &q, &found, NULL) != DASH_STORE_OK) {
            rc = fail(500, msg, cap, "could not check the listen path");
            break;
        }
        size_t j;
        const json_t *w;
        json_array_foreach(found, j, w)
        {
            const json_t *def = json_object_get(w, "api_definition");
            const char *id = json_string_value(json_object_get(def, "id"));
            if (self_id && id && strcmp(id, self_id) == 0)
                continue;
            const char *dom = json_string_value(json_object_get(def, "domain"));
            if (domain && *domain && dom && *dom && strcasecmp(domain, dom) != 0)
                continue; /* different hosts: no clash */
            rc = fail(409, msg, cap,
                      "The listen path \"%s\" is already used by the API \"%s\"; choose another "
                      "listen path (or set enable_duplicate_slugs)",
                      listen_path, json_string_value(json_object_get(def, "name")));
            break;
        }
        json_decref(found);
    }
    free(other);
    return rc;
}
