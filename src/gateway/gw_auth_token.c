/* SPDX-License-Identifier: Apache-2.0 */
/* Credential extraction from headers, query parameters and cookies, as Tyk's getAuthToken. */
#include "gw_auth_token.h"

#include <stdlib.h>
#include <strings.h>

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void gw_auth_source_load(gw_auth_source_t *src, json_t *def, const char *kind)
{
    memset(src, 0, sizeof(*src));
    json_t *cfg = json_object_get(json_object_get(def, "auth_configs"), kind);
    if (!json_is_object(cfg))
        cfg = json_object_get(def, "auth");
    const char *h = jstr(cfg, "auth_header_name");
    src->header = tk_xstrdup(h && *h ? h : "Authorization");
    src->disable_header = json_is_true(json_object_get(cfg, "disable_header"));
    src->use_param = json_is_true(json_object_get(cfg, "use_param"));
    const char *p = jstr(cfg, "param_name");
    src->param_name = tk_xstrdup(p && *p ? p : src->header);
    src->use_cookie = json_is_true(json_object_get(cfg, "use_cookie"));
    const char *c = jstr(cfg, "cookie_name");
    src->cookie_name = tk_xstrdup(c && *c ? c : src->header);
}

void gw_auth_source_free(gw_auth_source_t *src)
{
    free(src->header);
    free(src->param_name);
    free(src->cookie_name);
    memset(src, 0, sizeof(*src));
}

static char *cookie(gw_req_t *req, const char *name)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < req->head->nhdrs; i++) {
        const tk_http_hdr_t *h = &req->head->hdrs[i];
        if (!tk_str_ieq(h->name, h->name_len, "cookie"))
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';'))
                p++;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *stop = semi ? semi : end;
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            if (eq && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
                const char *v = eq + 1;
                size_t vl = (size_t)(stop - v);
                if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                    v++;
                    vl -= 2;
                }
                return tk_arena_strndup(req->arena, v, vl);
            }
            p = stop;
        }
    }
    return NULL;
}

char *gw_auth_token_get(gw_req_t *req, const gw_auth_source_t *src, bool strip_bearer)
{
    char *tok = NULL;
    if (!src->disable_header) {
        const tk_http_hdr_t *h = gw_req_header(req, src->header);
        if (h && h->value_len)
            tok = tk_arena_strndup(req->arena, h->value, h->value_len);
    }
    if (src->use_param) {
        const char *p = gw_req_query(req, src->param_name);
        if (p && *p)
            tok = (char *)p;
    }
    if (src->use_cookie) {
        char *c = cookie(req, src->cookie_name);
        if (c && *c)
            tok = c;
    }
    if (tok && strip_bearer && strncasecmp(tok, "bearer ", 7) == 0)
        tok += 7;
    return tok && *tok ? tok : NULL;
}
