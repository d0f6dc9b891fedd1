/* SPDX-License-Identifier: Apache-2.0 */
/* Loading and feeding body templates (gw_body_tmpl.h). */
#include "gw_body_tmpl.h"

#include "gw_ctxvars.h"
#include "gw_server.h"
#include "gw_session.h"
#include "tk_base64.h"
#include "tk_json.h"
#include "tk_log.h"
#include "tk_xml2json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A template file larger than this is refused (templates are small; this catches mistakes). */
#define TEMPLATE_FILE_MAX (4u * 1024 * 1024)

/* template_mode "file": the path as written, relative to the working directory (Go's
 * template.ParseFiles). Returns a malloc'd buffer or NULL with @why. */
static char *read_template_file(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = tk_xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= TEMPLATE_FILE_MAX) {
                snprintf(why, whylen, "%s: larger than %u bytes", path, TEMPLATE_FILE_MAX);
                free(buf);
                fclose(f);
                return NULL;
            }
            cap *= 2;
            buf = tk_xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(why, whylen, "read %s: I/O error", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The entry's template source text per template_mode, or NULL with @why. */
static char *template_source(const json_t *td, size_t *len, char *why, size_t whylen)
{
    const char *mode = json_string_value(json_object_get(td, "template_mode"));
    const char *src = json_string_value(json_object_get(td, "template_source"));
    if (!src)
        src = "";
    if (mode && strcmp(mode, "blob") == 0) {
        char *raw = (char *)tk_b64_decode(src, strlen(src), false, true, len);
        if (!raw)
            snprintf(why, whylen,
                     "template_source is not valid base64 (standard alphabet, padded)");
        return raw;
    }
    if (mode && strcmp(mode, "file") == 0)
        return read_template_file(src, len, why, whylen);
    snprintf(why, whylen,
             "No valid template mode defined, must be either 'file' or 'blob' (found \"%s\")",
             mode ? mode : "");
    return NULL;
}

static gw_body_tmpl_t *load_one(const json_t *entry, bool ctx_vars, char *why, size_t whylen)
{
    const json_t *td = json_object_get(entry, "template_data");
    size_t len = 0;
    char *src = template_source(td, &len, why, whylen);
    if (!src)
        return NULL;
    char err[512];
    tk_tmpl_t *tmpl = tk_tmpl_compile(src, len, err, sizeof(err));
    free(src);
    if (!tmpl) {
        snprintf(why, whylen, "template: %s", err);
        return NULL;
    }
    gw_body_tmpl_t *t = tk_xcalloc(1, sizeof(*t));
    t->tmpl = tmpl;
    const char *in = json_string_value(json_object_get(td, "input_type"));
    t->input_name = tk_xstrdup(in ? in : "");
    t->input = !in                       ? GW_BODY_IN_OTHER
               : strcmp(in, "json") == 0 ? GW_BODY_IN_JSON
               : strcmp(in, "xml") == 0  ? GW_BODY_IN_XML
                                         : GW_BODY_IN_OTHER;
    t->enable_session = json_is_true(json_object_get(td, "enable_session"));
    t->context_vars = ctx_vars;
    return t;
}

/* The entry's position in the definition's array (disabled entries are not in v->eps). */
static size_t def_index(const gw_version_t *v, enum gw_ep_kind kind, const gw_ep_t *ep, size_t j)
{
    const json_t *arr =
        json_object_get(json_object_get(v->info, "extended_paths"), gw_ep_kind_name(kind));
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (json_array_get(arr, i) == ep->entry)
            return i;
    return j;
}

static gw_body_tmpls_t *load_all(const gw_api_t *api, enum gw_ep_kind kind, tk_conf_errors_t *errs)
{
    gw_body_tmpls_t *ts = tk_xcalloc(1, sizeof(*ts));
    bool ctx_vars = json_is_true(json_object_get(api->def, "enable_context_vars"));
    for (size_t i = 0; api->versions && i < api->versions->n; i++) {
        gw_version_t *v = &api->versions->v[i];
        for (size_t j = 0; j < v->n_eps[kind]; j++) {
            gw_ep_t *ep = &v->eps[kind][j];
            char why[700] = "";
            gw_body_tmpl_t *t = load_one(ep->entry, ctx_vars, why, sizeof(why));
            ep->state = t;
            if (!t && errs) {
                tk_conf_errors_add(errs,
                                   "%s: API %s: version %s: %s[%zu] (%s %s): invalid template: %s",
                                   api->file, api->api_id, v->name, gw_ep_kind_name(kind),
                                   def_index(v, kind, ep, j),
                                   ep->method[0] ? ep->method : "any method", ep->path, why);
                gw_body_tmpls_free(ts);
                return NULL;
            }
            if (!t) {
                tk_log_error("%s: API %s: version %s: %s[%zu] (%s %s): Template load failure! "
                             "Skipping transformation: %s",
                             api->file, api->api_id, v->name, gw_ep_kind_name(kind),
                             def_index(v, kind, ep, j), ep->method[0] ? ep->method : "any method",
                             ep->path, why);
                continue;
            }
            ts->all = tk_xrealloc(ts->all, (ts->n + 1) * sizeof(*ts->all));
            ts->all[ts->n++] = t;
        }
    }
    return ts;
}

gw_body_tmpls_t *gw_body_tmpls_load(const gw_api_t *api, enum gw_ep_kind kind)
{
    return load_all(api, kind, NULL);
}

gw_body_tmpls_t *gw_body_tmpls_load_strict(const gw_api_t *api, enum gw_ep_kind kind,
                                           tk_conf_errors_t *errs)
{
    return load_all(api, kind, errs);
}

void gw_body_tmpls_free(gw_body_tmpls_t *ts)
{
    for (size_t i = 0; ts && i < ts->n; i++) {
        tk_tmpl_free(ts->all[i]->tmpl);
        free(ts->all[i]->input_name);
        free(ts->all[i]);
    }
    if (ts)
        free(ts->all);
    free(ts);
}

const gw_ep_t *gw_body_tmpl_match(gw_req_t *req, enum gw_ep_kind kind)
{
    const gw_ep_t *ep = gw_ep_match(req, kind);
    if (!ep || ep->state)
        return ep;
    /* The first match was skipped at load: Tyk never compiled it, so the next loaded entry
     * that matches (same path order) wins. gw_ep_match computed req->ep_paths. */
    const gw_version_t *v = gw_req_version(req);
    gw_version_t one = *v;
    one.n_eps[kind] = 1;
    for (size_t p = 0; p < req->ep_npaths; p++) {
        for (size_t i = 0; i < v->n_eps[kind]; i++) {
            if (!v->eps[kind][i].state)
                continue;
            one.eps[kind] = &v->eps[kind][i];
            const gw_ep_t *hit =
                gw_ep_match_in(&one, kind, req->head->method, req->head->method_len,
                               &req->ep_paths[p], &req->ep_lens[p], 1);
            if (hit)
                return hit;
        }
    }
    return NULL;
}

/* Go's encoding/json decodes every number as float64; session data may hold integers. */
static json_t *int_as_real(json_t *v)
{
    return json_is_integer(v) ? json_real((double)json_integer_value(v)) : json_incref(v);
}

json_t *gw_body_tmpl_data(enum gw_body_input input, const char *body, size_t len, char *err,
                          size_t errlen)
{
    if (input == GW_BODY_IN_XML) {
        if (len == 0) {
            body = "<_/>";
            len = 4;
        }
        return tk_xml2json(body, len, err, errlen);
    }
    if (len == 0) {
        body = "{}";
        len = 2;
    }
    json_error_t jerr;
    json_t *v =
        json_loadb(body, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
    if (!v) {
        snprintf(err, errlen, "%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (json_is_object(v))
        return v;
    json_t *data = json_object();
    if (json_is_array(v))
        json_object_set(data, "array", v);
    json_decref(v);
    return data;
}

bool gw_body_tmpl_add_vars(gw_req_t *req, const gw_body_tmpl_t *t, json_t *data)
{
    bool ok = true;
    if (t->enable_session) {
        if (req->session && req->session->s) {
            json_t *meta = req->session->s->meta_data;
            json_object_set_new(data, "_tyk_meta",
                                meta ? tk_json_map_leaves(meta, int_as_real) : json_object());
        } else {
            ok = false;
        }
    }
    if (t->context_vars)
        json_object_set_new(data, "_tyk_context", gw_ctx_vars_json(req));
    return ok;
}
