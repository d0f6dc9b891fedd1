/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ValidateJSON (Tyk §9.1 step 24): a request matching an extended_paths.validate_json entry has
 * its body checked against the entry's JSON Schema (draft 4). Failures answer with the entry's
 * error_response_code (default 422) and gojsonschema's messages joined by "; "; a body that is
 * not JSON answers 400 "JSON parsing error: ...". Schemas are compiled when the API loads, and
 * an API whose schema is invalid is refused with a message naming the entry and the keyword.
 */
#include "gw_endpoints.h"
#include "gw_mw_common.h"
#include "gw_req_body.h"

#include "tk_base64.h"
#include "tk_jsonschema.h"

#include <event2/buffer.h>
#include <stdlib.h>

#define DRAFT4_URI "http://json-schema.org/draft-04/schema#"

/* Tyk's answers for entries it cannot validate with (checked per request, as Tyk does). */
#define NO_SCHEMA "no schemas to validate against"
#define UNSUPPORTED "unsupported schema, unable to validate"

struct vj_entry {
    tk_jsonschema_t *schema; /* NULL: no schema given */
    int code;                /* error_response_code */
    bool unsupported;        /* $schema names something other than draft 4 */
};

struct vj_state {
    struct vj_entry **all;
    size_t n;
};

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_has_eps(api, GW_EP_VALIDATE_JSON);
}

static void free_state(struct vj_state *st)
{
    for (size_t i = 0; st && i < st->n; i++) {
        tk_jsonschema_free(st->all[i]->schema);
        free(st->all[i]);
    }
    if (st)
        free(st->all);
    free(st);
}

/* The entry's schema: schema_b64 (standard base64 of the JSON) wins over schema, as in Tyk.
 * Returns a new reference, NULL when neither is given; sets *bad on an undecodable value. */
static json_t *entry_schema(const json_t *entry, char *why, size_t whylen, bool *bad)
{
    const char *b64 = json_string_value(json_object_get(entry, "schema_b64"));
    if (b64 && *b64) {
        size_t len = 0;
        unsigned char *raw = tk_b64_decode(b64, strlen(b64), false, true, &len);
        if (!raw)
            raw = tk_b64_decode(b64, strlen(b64), false, false, &len);
        if (!raw) {
            snprintf(why, whylen, "schema_b64 is not valid base64");
            *bad = true;
            return NULL;
        }
        json_error_t jerr;
        json_t *v = json_loadb((const char *)raw, len, 0, &jerr);
        free(raw);
        if (!v) {
            snprintf(why, whylen, "schema_b64 does not hold a JSON object: %s", jerr.text);
            *bad = true;
        }
        return v;
    }
    json_t *s = json_object_get(entry, "schema");
    if (!s || json_is_null(s))
        return NULL;
    if (!json_is_object(s)) {
        snprintf(why, whylen, "schema must be a JSON object");
        *bad = true;
        return NULL;
    }
    return json_incref(s);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    struct vj_state *st = tk_xcalloc(1, sizeof(*st));
    int rc = TK_OK;
    for (size_t i = 0; i < api->versions->n; i++) {
        gw_version_t *v = &api->versions->v[i];
        for (size_t j = 0; j < v->n_eps[GW_EP_VALIDATE_JSON]; j++) {
            gw_ep_t *ep = &v->eps[GW_EP_VALIDATE_JSON][j];
            char why[600] = "";
            bool bad = false;
            json_t *schema = entry_schema(ep->entry, why, sizeof(why), &bad);
            struct vj_entry *e = tk_xcalloc(1, sizeof(*e));
            json_t *code = json_object_get(ep->entry, "error_response_code");
            e->code = json_is_integer(code) ? (int)json_integer_value(code) : 0;
            if (e->code == 0)
                e->code = 422;
            if (e->code < 100 || e->code > 599) {
                snprintf(why, sizeof(why), "error_response_code %d is not an HTTP status", e->code);
                bad = true;
            }
            json_t *ver = schema ? json_object_get(schema, "$schema") : NULL;
            /* Tyk loads such an entry and refuses each request; it is not compiled here */
            e->unsupported =
                ver && !(json_is_string(ver) && strcmp(json_string_value(ver), DRAFT4_URI) == 0);
            if (schema && !bad && !e->unsupported) {
                char err[512];
                e->schema = tk_jsonschema_compile(schema, err, sizeof(err));
                if (!e->schema) {
                    snprintf(why, sizeof(why), "invalid schema: %s", err);
                    bad = true;
                }
            }
            json_decref(schema);
            st->all = tk_xrealloc(st->all, (st->n + 1) * sizeof(*st->all));
            st->all[st->n++] = e;
            if (bad) {
                tk_conf_errors_add(errs, "%s: API %s: version %s: validate_json[%zu] (%s %s): %s",
                                   api->file, api->api_id, v->name, j,
                                   ep->method[0] ? ep->method : "any method", ep->path, why);
                rc = TK_ERROR;
            }
            ep->state = e;
        }
    }
    if (rc != TK_OK) {
        /* the API is refused; nothing may keep pointing at freed entries */
        for (size_t i = 0; i < api->versions->n; i++)
            for (size_t j = 0; j < api->versions->v[i].n_eps[GW_EP_VALIDATE_JSON]; j++)
                api->versions->v[i].eps[GW_EP_VALIDATE_JSON][j].state = NULL;
        free_state(st);
        return TK_ERROR;
    }
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    free_state(mw->state);
    mw->state = NULL;
}

static int fail(gw_req_t *req, int status, const char *msg)
{
    req->err_status = status;
    req->err_msg = msg;
    return TK_ERROR;
}

/* Parses the body as gojsonschema reads it: the first JSON value (trailing bytes ignored), an
 * empty body being Go's "EOF". Returns a new reference or NULL with the message in @err. */
static json_t *parse_body(gw_req_t *req, const char **err)
{
    size_t n = evbuffer_get_length(req->body);
    const char *p = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == n) {
        *err = "JSON parsing error: EOF";
        return NULL;
    }
    size_t flags = JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL;
    json_error_t jerr;
    json_t *doc = json_loadb(p, n, flags, &jerr);
    if (!doc && json_error_code(&jerr) == json_error_numeric_overflow) {
        /* Go keeps big integers as numbers; so do we, as reals */
        doc = json_loadb(p, n, flags | JSON_DECODE_INT_AS_REAL, &jerr);
    }
    if (!doc)
        *err = tk_arena_printf(req->arena, "JSON parsing error: %s", jerr.text);
    return doc;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_VALIDATE_JSON);
    if (!ep || !ep->state)
        return TK_OK;
    const struct vj_entry *e = ep->state;
    if (e->unsupported)
        return fail(req, 500, UNSUPPORTED);
    if (!e->schema)
        return fail(req, 500, NO_SCHEMA);
    int rc = gw_req_body_collect(req);
    if (rc != TK_OK)
        return rc; /* TK_AGAIN: this step runs again once the body is in */
    const char *err = NULL;
    json_t *doc = parse_body(req, &err);
    if (!doc)
        return fail(req, 400, err);
    tk_jsonschema_result_t res = {0};
    bool ok = tk_jsonschema_validate(e->schema, doc, &res);
    json_decref(doc);
    if (ok)
        return TK_OK;
    char *msg = tk_jsonschema_result_join(&res, "; ");
    tk_jsonschema_result_clear(&res);
    const char *amsg = tk_arena_strdup(req->arena, msg);
    free(msg);
    return fail(req, e->code, amsg);
}

const gw_mw_def_t gw_mw_validate_json = {
    .name = "ValidateJSON",
    .phase = GW_PHASE_TRANSFORM,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
