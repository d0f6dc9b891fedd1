/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk's error_overrides: compiling the rules, matching errors, writing the override. */
#include "gw_error_overrides.h"

#include "gw_conf.h"
#include "gw_errors.h"
#include "gw_gen.h"
#include "gw_mw.h"
#include "gw_resp_filter.h"

#include "tk_log.h"
#include "tk_regex.h"
#include "tk_template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* Tyk matches at most this much of an error body (maxBodySizeForMatching). */
#define MATCH_BODY_MAX 4096

struct eo_rule {
    /* match */
    bool has_match;
    char *flag;
    pcre2_code *re;
    char *body_field, *body_value;
    /* response */
    int code; /* 0 = keep the error's status */
    char *body;
    tk_tmpl_t *body_tmpl; /* body with "{{." */
    char *message;
    char *template_name;
    tk_tmpl_t *file_json, *file_xml; /* the template files, when they exist */
    char *headers;                   /* "Name: value\r\n" lines */
    char **hdr_names;
    size_t nhdrs;
};

struct eo_set {
    struct eo_rule *rules;
    size_t n;
};

struct gw_eo {
    int exact_codes[64];
    struct eo_set exact[64];
    size_t nexact;
    struct eo_set klass[10]; /* "4xx" → klass[4] */
};

extern const gw_mw_def_t gw_mw_error_overrides;

/* ---- compiling ---- */

static void rule_free(struct eo_rule *r)
{
    free(r->flag);
    if (r->re)
        pcre2_code_free(r->re);
    free(r->body_field);
    free(r->body_value);
    free(r->body);
    tk_tmpl_free(r->body_tmpl);
    free(r->message);
    free(r->template_name);
    tk_tmpl_free(r->file_json);
    tk_tmpl_free(r->file_xml);
    free(r->headers);
    for (size_t i = 0; i < r->nhdrs; i++)
        free(r->hdr_names[i]);
    free(r->hdr_names);
}

static void set_free(struct eo_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        rule_free(&s->rules[i]);
    free(s->rules);
}

void gw_eo_free(gw_eo_t *eo)
{
    if (!eo)
        return;
    for (size_t i = 0; i < eo->nexact; i++)
        set_free(&eo->exact[i]);
    for (size_t i = 0; i < 10; i++)
        set_free(&eo->klass[i]);
    free(eo);
}

bool gw_eo_configured(const json_t *map)
{
    return json_is_object(map) && json_object_size(map) > 0;
}

static char *dup_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? tk_xstrdup(s) : NULL;
}

static bool header_text_ok(const char *s, bool name)
{
    if (!*s && name)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r' || c == '\n' || (name && (c <= ' ' || c == ':' || c >= 0x7f)))
            return false;
    }
    return true;
}

/* A template file from template_path, compiled; NULL when it does not exist or is bad. */
static tk_tmpl_t *load_template_file(const char *dir, const char *name, const char *ext,
                                     const char *where)
{
    if (!dir || !*dir)
        return NULL;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = tk_xmalloc(65537);
    size_t n = fread(buf, 1, 65536, f);
    fclose(f);
    char err[256];
    tk_tmpl_t *t = tk_tmpl_compile(buf, n, err, sizeof(err));
    if (!t)
        tk_log_warn("%s: error override template %s: %s", where, path, err);
    free(buf);
    return t;
}

/* Compiles one rule; returns false (with @why) for a rule Tyk would skip. */
static bool rule_compile(struct eo_rule *r, const json_t *j, const char *dir, const char *where,
                         char *why, size_t whylen)
{
    const json_t *m = json_object_get(j, "match");
    if (json_is_object(m)) {
        r->has_match = true;
        r->flag = dup_str(m, "flag");
        r->body_field = dup_str(m, "body_field");
        r->body_value = dup_str(m, "body_value");
        const char *pat = json_string_value(json_object_get(m, "message_pattern"));
        if (pat && *pat) {
            int e;
            PCRE2_SIZE off;
            r->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &e, &off, NULL);
            if (!r->re) {
                char msg[128];
                pcre2_get_error_message(e, (PCRE2_UCHAR *)msg, sizeof(msg));
                snprintf(why, whylen, "invalid match pattern: invalid regex pattern \"%s\": %s",
                         pat, msg);
                return false;
            }
        }
    }
    const json_t *resp = json_object_get(j, "response");
    json_t *code = json_object_get(resp, "status_code");
    if (!json_is_integer(code))
        code = json_object_get(resp, "code"); /* the field's name in older Tyk releases */
    if (json_is_integer(code)) {
        json_int_t c = json_integer_value(code);
        if (c != 0 && (c < 100 || c > 999)) {
            snprintf(why, whylen, "response.status_code %lld is not an HTTP status", (long long)c);
            return false;
        }
        r->code = (int)c;
    }
    r->body = dup_str(resp, "body");
    r->message = dup_str(resp, "message");
    r->template_name = dup_str(resp, "template");
    if (r->body && strstr(r->body, "{{.")) {
        char err[256];
        r->body_tmpl = tk_tmpl_compile(r->body, strlen(r->body), err, sizeof(err));
        if (!r->body_tmpl) {
            snprintf(why, whylen, "invalid body template: invalid template syntax: %s", err);
            return false;
        }
    }
    if (r->template_name && !r->body) {
        r->file_json = load_template_file(dir, r->template_name, ".json", where);
        r->file_xml = load_template_file(dir, r->template_name, ".xml", where);
        if (!r->file_json)
            r->file_json = load_template_file(dir, r->template_name, "", where);
    }
    const char *k;
    json_t *v;
    size_t cap = json_object_size(json_object_get(resp, "headers"));
    r->hdr_names = cap ? tk_xcalloc(cap, sizeof(char *)) : NULL;
    char *lines = NULL;
    size_t llen = 0;
    json_object_foreach(json_object_get(resp, "headers"), k, v)
    {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        if (!header_text_ok(k, true) || !header_text_ok(s, false)) {
            free(lines);
            snprintf(why, whylen, "response.headers: invalid header \"%s\"", k);
            return false;
        }
        size_t add = strlen(k) + strlen(s) + 4;
        lines = tk_xrealloc(lines, llen + add + 1);
        llen += (size_t)snprintf(lines + llen, add + 1, "%s: %s\r\n", k, s);
        r->hdr_names[r->nhdrs++] = tk_xstrdup(k);
    }
    r->headers = lines;
    return true;
}

/* "500" → exact 500; "4xx" → class 4; anything else is not a status key (Tyk skips it). */
static int parse_key(const char *key, bool *klass)
{
    size_t n = strlen(key);
    *klass = false;
    if (n == 3 && isdigit((unsigned char)key[0]) && (key[1] == 'x' || key[1] == 'X') &&
        (key[2] == 'x' || key[2] == 'X')) {
        *klass = true;
        return key[0] - '0';
    }
    if (n == 0 || n > 3)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)key[i]))
            return -1;
        v = v * 10 + (key[i] - '0');
    }
    return v;
}

gw_eo_t *gw_eo_compile(const json_t *map, const char *template_dir, const char *where,
                       tk_conf_errors_t *errs, bool *failed)
{
    if (!gw_eo_configured(map))
        return NULL;
    gw_eo_t *eo = tk_xcalloc(1, sizeof(*eo));
    bool any = false;
    const char *key;
    json_t *rules;
    json_object_foreach((json_t *)map, key, rules)
    {
        bool klass;
        int k = parse_key(key, &klass);
        if (k < 0 && errs) {
            tk_conf_errors_add(errs, "%s: error_overrides: unrecognized status code format \"%s\"",
                               where, key);
            *failed = true;
            continue;
        }
        if (k < 0) {
            tk_log_warn("%s: error_overrides: unrecognized status code format \"%s\", skipping",
                        where, key);
            continue;
        }
        if (!json_is_array(rules) || json_array_size(rules) == 0)
            continue;
        struct eo_set set = {tk_xcalloc(json_array_size(rules), sizeof(struct eo_rule)), 0};
        size_t i;
        json_t *j;
        json_array_foreach(rules, i, j)
        {
            char why[512];
            struct eo_rule *r = &set.rules[set.n];
            if (json_is_object(j) && rule_compile(r, j, template_dir, where, why, sizeof(why))) {
                set.n++;
                continue;
            }
            if (!json_is_object(j))
                snprintf(why, sizeof(why), "not an object");
            if (errs) {
                tk_conf_errors_add(errs, "%s: error_overrides[\"%s\"][%zu]: %s", where, key, i,
                                   why);
                *failed = true;
            } else {
                tk_log_warn("%s: error_overrides[\"%s\"][%zu]: %s; rule skipped", where, key, i,
                            why);
            }
            rule_free(r);
            memset(r, 0, sizeof(*r));
        }
        if (set.n == 0) {
            free(set.rules);
            continue;
        }
        if (klass) {
            set_free(&eo->klass[k]);
            eo->klass[k] = set;
        } else if (eo->nexact < TK_ARRAY_LEN(eo->exact)) {
            eo->exact_codes[eo->nexact] = k;
            eo->exact[eo->nexact++] = set;
        } else {
            set_free(&set);
            continue;
        }
        any = true;
    }
    if (!any) {
        gw_eo_free(eo);
        return NULL;
    }
    return eo;
}

/* ---- matching ---- */

/* Tyk's error classification flag for a gateway error, from its status and message. */
static const char *classify(int status, const char *msg)
{
    static const struct {
        int status; /* 0 = any */
        const char *prefix;
        const char *flag;
    } table[] = {
        {0, "Authorization field missing", "AMF"},
        {0, "Access to this API has been disallowed", "AKI"},
        {0, "Key not authorised", "AKI"},
        {0, "Key not authorized: token has expired", "TKE"},
        {0, "Key not authorized: token used before issued", "TCV"},
        {0, "Key not authorized: token is not valid yet", "TCV"},
        {0, "Key not authorized", "TKI"},
        {0, "Certificate has expired", "TKE"},
        {0, "Client certificate required", "CRQ"},
        {429, "", "RLT"},
        {0, "Quota exceeded", "QEX"},
        {0, "This organisation quota has been exceeded", "QEX"},
        {0, "Request is too large", "BTL"},
        {0, "Request body too large", "BTL"},
        {411, "", "CLM"},
        {503, "Service temporarily unavailable.", "CBO"},
        {503, "all hosts are down", "NHU"},
        {504, "", "URT"},
        {0, "Upstream host lookup failed", "DNS"},
        {499, "", "CDC"},
        {500, "There was a problem proxying the request", "UCF"},
    };
    for (size_t i = 0; i < TK_ARRAY_LEN(table); i++) {
        if (table[i].status && table[i].status != status)
            continue;
        size_t n = strlen(table[i].prefix);
        if (strncmp(msg, table[i].prefix, n) == 0)
            return table[i].flag;
    }
    return NULL;
}

static bool re_match(const pcre2_code *re, const char *s, size_t n)
{
    if (n > MATCH_BODY_MAX)
        n = MATCH_BODY_MAX;
    return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, tk_re_match_data(), NULL) >= 0;
}

/* gjson's Result.String() for a value found at a dotted path ("error.code", "items.0.id"). */
static bool body_field_equals(const char *body, size_t n, const char *path, const char *want)
{
    if (n > MATCH_BODY_MAX)
        return false; /* truncated JSON does not parse: gjson finds nothing either */
    json_t *root = json_loadb(body, n, JSON_DECODE_ANY, NULL);
    if (!root)
        return false;
    json_t *cur = root;
    char *p = tk_xstrdup(path), *save = NULL;
    for (char *seg = strtok_r(p, ".", &save); seg && cur; seg = strtok_r(NULL, ".", &save)) {
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur)) {
            char *end;
            long idx = strtol(seg, &end, 10);
            cur = (*end || idx < 0) ? NULL : json_array_get(cur, (size_t)idx);
        } else {
            cur = NULL;
        }
    }
    free(p);
    bool eq = false;
    if (cur) {
        char num[64];
        const char *s = NULL;
        char *dumped = NULL;
        if (json_is_string(cur))
            s = json_string_value(cur);
        else if (json_is_integer(cur))
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(cur)), s = num;
        else if (json_is_real(cur))
            snprintf(num, sizeof(num), "%.17g", json_real_value(cur)), s = num;
        else if (json_is_true(cur))
            s = "true";
        else if (json_is_false(cur))
            s = "false";
        else if (json_is_null(cur))
            s = "";
        else
            s = dumped = json_dumps(cur, JSON_COMPACT);
        eq = s && strcmp(s, want) == 0;
        free(dumped);
    }
    json_decref(root);
    return eq;
}

/* A gateway error: flag first, then message_pattern over the message (Tyk's
 * matchesAdditionalCriteria; body_field is not consulted for gateway errors). */
static bool gateway_matches(const struct eo_rule *r, const char *flag, const char *msg)
{
    if (!r->has_match)
        return true;
    if (r->flag && flag && strcmp(r->flag, flag) == 0)
        return true;
    if (r->re)
        return re_match(r->re, msg, strlen(msg));
    return !r->flag;
}

/* An upstream response (Tyk's matchesUpstreamCriteria). */
static bool upstream_matches(const struct eo_rule *r, int status, const char *body, size_t n)
{
    if (!r->has_match)
        return true;
    if (r->flag && strcmp(r->flag, "URS") == 0)
        return status >= 500 && status <= 599;
    if (r->flag)
        return false; /* gateway-only flags */
    if (r->body_field && r->body_value && body_field_equals(body, n, r->body_field, r->body_value))
        return true;
    if (r->re)
        return re_match(r->re, body, n);
    return !(r->body_field && r->body_value);
}

static const struct eo_set *sets_for(const gw_eo_t *eo, int status, const struct eo_set **klass)
{
    *klass = status >= 0 && status / 100 < 10 ? &eo->klass[status / 100] : NULL;
    for (size_t i = 0; i < eo->nexact; i++)
        if (eo->exact_codes[i] == status)
            return &eo->exact[i];
    return NULL;
}

struct match_in {
    bool upstream;
    int status;
    const char *flag, *msg; /* gateway */
    const char *body;       /* upstream */
    size_t body_len;
};

static const struct eo_rule *find_in(const gw_eo_t *eo, const struct match_in *in)
{
    if (!eo)
        return NULL;
    const struct eo_set *klass;
    const struct eo_set *sets[2] = {sets_for(eo, in->status, &klass), NULL};
    sets[1] = klass;
    for (size_t s = 0; s < 2; s++) {
        for (size_t i = 0; sets[s] && i < sets[s]->n; i++) {
            const struct eo_rule *r = &sets[s]->rules[i];
            bool ok = in->upstream ? upstream_matches(r, in->status, in->body, in->body_len)
                                   : gateway_matches(r, in->flag, in->msg);
            if (ok)
                return r;
        }
    }
    return NULL;
}

static const gw_eo_t *api_rules(const gw_api_t *api)
{
    for (size_t i = 0; api && i < api->nchain; i++)
        if (api->chain[i].def == &gw_mw_error_overrides)
            return api->chain[i].state;
    return NULL;
}

static const gw_eo_t *gateway_rules(const gw_req_t *req)
{
    return req->gref && req->gref->gen ? req->gref->gen->error_overrides : NULL;
}

static const struct eo_rule *find(const gw_req_t *req, const gw_eo_t *api_eo,
                                  const struct match_in *in)
{
    const struct eo_rule *r = find_in(api_eo, in);
    return r ? r : find_in(gateway_rules(req), in);
}

/* ---- writing ---- */

/* Tyk's error-body content type: application/xml or text/xml by the request, else JSON. */
static const char *error_ctype(gw_req_t *req, bool *xml)
{
    const tk_http_hdr_t *ct = gw_req_header(req, "content-type");
    *xml = false;
    if (!ct)
        return "application/json";
    size_t n = ct->value_len;
    const char *semi = memchr(ct->value, ';', n);
    if (semi)
        n = (size_t)(semi - ct->value);
    if (tk_str_ieq(ct->value, n, "application/xml")) {
        *xml = true;
        return "application/xml";
    }
    if (tk_str_ieq(ct->value, n, "text/xml")) {
        *xml = true;
        return "text/xml";
    }
    return "application/json";
}

/* {{.Message}} as Tyk hands it to templates: JS-escaped for JSON, HTML-escaped for XML. */
static char *escape_message(tk_arena_t *a, const char *s, bool xml)
{
    size_t cap = strlen(s) * 6 + 1;
    char *out = tk_arena_alloc(a, cap);
    if (!out)
        return NULL;
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *rep = NULL;
        char u[8];
        if (xml) {
            rep = c == '<'    ? "&lt;"
                  : c == '>'  ? "&gt;"
                  : c == '&'  ? "&amp;"
                  : c == '\'' ? "&#39;"
                  : c == '"'  ? "&#34;"
                              : NULL;
        } else if (c == '\\' || c == '\'' || c == '"') {
            u[0] = '\\';
            u[1] = (char)c;
            u[2] = '\0';
            rep = u;
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '=') {
            snprintf(u, sizeof(u), "\\u%04X", c);
            rep = u;
        }
        if (rep) {
            size_t l = strlen(rep);
            memcpy(out + o, rep, l);
            o += l;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

/* The override body for @r, or NULL to keep the original (no body settings, or a template
 * that failed). @msg is the message templates get; *@len its length. */
static char *render_body(gw_req_t *req, const struct eo_rule *r, int status, const char *msg,
                         bool xml, size_t *len)
{
    const tk_tmpl_t *t = r->body_tmpl;
    if (!t && !r->body && r->template_name)
        t = xml && r->file_xml ? r->file_xml : r->file_json;
    if (t) {
        json_t *data = json_object();
        json_object_set_new(data, "StatusCode", json_integer(status));
        const char *esc = escape_message(req->arena, msg ? msg : "", xml);
        json_object_set_new(data, "Message", json_string(esc ? esc : ""));
        char *out = NULL, err[256];
        size_t n = 0;
        int rc = tk_tmpl_exec(t, data, NULL, &out, &n, err, sizeof(err));
        json_decref(data);
        char *copy = NULL;
        if (rc == TK_OK && (copy = tk_arena_alloc(req->arena, n + 1))) {
            memcpy(copy, out, n);
            copy[n] = '\0';
            *len = n;
        } else if (rc != TK_OK) {
            tk_log_warn("api=%s error override template failed: %s", req->api->api_id, err);
        }
        free(out);
        return copy;
    }
    if (r->body) {
        *len = strlen(r->body);
        return r->body;
    }
    if (r->message) {
        struct evbuffer *b = evbuffer_new();
        gw_error_render(req->gref ? req->gref->gen->templates : NULL, status, r->message, xml, b);
        *len = evbuffer_get_length(b);
        char *copy = tk_arena_alloc(req->arena, *len + 1);
        if (copy) {
            evbuffer_remove(b, copy, *len);
            copy[*len] = '\0';
        }
        evbuffer_free(b);
        return copy;
    }
    return NULL;
}

static bool rule_sets_header(const struct eo_rule *r, const char *name)
{
    for (size_t i = 0; i < r->nhdrs; i++)
        if (strcasecmp(r->hdr_names[i], name) == 0)
            return true;
    return false;
}

bool gw_eo_respond_error(gw_req_t *req, int status, const char *msg)
{
    if (!req->api)
        return false;
    const gw_eo_t *api_eo = api_rules(req->api);
    if (!api_eo && !gateway_rules(req))
        return false;
    if (!msg)
        msg = "";
    struct match_in in = {.status = status, .flag = classify(status, msg), .msg = msg};
    const struct eo_rule *r = find(req, api_eo, &in);
    if (!r)
        return false;
    int code = r->code ? r->code : status;
    bool xml;
    const char *ctype = error_ctype(req, &xml);
    size_t len = 0;
    /* Templates get the rule's message, or the error's own when the rule has none. */
    char *body = render_body(req, r, code, r->message ? r->message : msg, xml, &len);
    if (!body) {
        struct evbuffer *b = evbuffer_new();
        gw_error_render(req->gref ? req->gref->gen->templates : NULL, code, msg, xml, b);
        len = evbuffer_get_length(b);
        body = tk_arena_alloc(req->arena, len + 1);
        if (body)
            evbuffer_remove(b, body, len);
        evbuffer_free(b);
        if (!body)
            return false;
    }
    const gw_conf_t *conf = req->conn->w->srv->conf;
    char *hdrs = tk_arena_printf(req->arena, "%s%s%s",
                                 rule_sets_header(r, "Content-Type")
                                     ? ""
                                     : tk_arena_printf(req->arena, "Content-Type: %s\r\n", ctype),
                                 conf->hide_generator_header ? "" : "X-Generator: tyk.io\r\n",
                                 r->headers ? r->headers : "");
    if (conf->close_connections)
        req->conn->close_after = true;
    gw_respond(req, code, NULL, body, len, hdrs);
    return true;
}

/* ---- upstream responses ---- */

struct watch {
    const gw_eo_t *api_eo;
};

static int on_body(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs,
                   struct evbuffer *body)
{
    const struct watch *w = arg;
    size_t n = evbuffer_get_length(body);
    size_t look = n < MATCH_BODY_MAX ? n : MATCH_BODY_MAX;
    const char *p = look ? (const char *)evbuffer_pullup(body, (ssize_t)look) : "";
    struct match_in in = {.upstream = true, .status = *status, .body = p, .body_len = look};
    const struct eo_rule *r = find(req, w->api_eo, &in);
    if (!r)
        return TK_OK;
    if (r->code)
        *status = r->code;
    bool xml;
    const char *ctype = error_ctype(req, &xml);
    size_t len = 0;
    char *nb = (r->body || r->template_name || r->message)
                   ? render_body(req, r, *status, r->message ? r->message : "", xml, &len)
                   : NULL;
    if (nb) {
        evbuffer_drain(body, n);
        evbuffer_add(body, nb, len);
        gw_hdrs_remove(hdrs, "Content-Type");
        gw_hdrs_add(hdrs, "Content-Type", ctype);
    }
    for (size_t i = 0; i < r->nhdrs; i++)
        gw_hdrs_remove(hdrs, r->hdr_names[i]);
    if (r->headers)
        evbuffer_add(hdrs, r->headers, strlen(r->headers));
    return TK_OK;
}

static const gw_resp_filter_def_t body_def = {.name = "ErrorOverrides", .on_body = on_body};

/* Only error responses that some rule could match are held; the rest stream untouched. The
 * filter takes its body-holding form by swapping its own slot (the proxy decides to hold after
 * every on_head ran). */
static void on_head(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs)
{
    TK_UNUSED(hdrs);
    const struct watch *w = arg;
    if (*status < 400)
        return;
    const gw_eo_t *sets[2] = {w->api_eo, gateway_rules(req)};
    bool candidates = false;
    for (size_t i = 0; i < 2 && !candidates; i++) {
        if (!sets[i])
            continue;
        const struct eo_set *klass;
        const struct eo_set *exact = sets_for(sets[i], *status, &klass);
        candidates = (exact && exact->n) || (klass && klass->n);
    }
    if (!candidates)
        return;
    for (uint8_t i = 0; i < req->n_resp_filters; i++)
        if (req->resp_filter_args[i] == arg && req->resp_filters[i]->on_head == on_head)
            req->resp_filters[i] = &body_def;
}

static const gw_resp_filter_def_t head_def = {.name = "ErrorOverrides", .on_head = on_head};

void gw_eo_watch_response(gw_req_t *req, const gw_eo_t *api_eo)
{
    struct watch *w = tk_arena_alloc(req->arena, sizeof(*w));
    if (!w)
        return;
    w->api_eo = api_eo;
    if (gw_resp_filter_add(req, &head_def, w) != TK_OK)
        tk_log_warn("api=%s error overrides: too many response filters; upstream errors are not "
                    "overridden",
                    req->api->api_id);
}
