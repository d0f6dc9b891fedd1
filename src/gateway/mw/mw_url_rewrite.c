/* SPDX-License-Identifier: Apache-2.0 */
/*
 * URLRewrite (Tyk §9.1 step 26): an extended_paths.url_rewrites entry matching the request
 * rewrites its URL (path and query as received, listen path included) with match_pattern /
 * rewrite_to ($N = capture N of the first match). Triggers, in order, may pick another
 * rewrite_to: "any" takes the first option group that matches, anything else needs every group;
 * the groups are checked in Tyk's order (headers, query values, path parts, session meta data,
 * request context, payload) and their matches become $tyk_context.trigger-<n>-<name>[-<i>][-<g>]
 * variables. $tyk_context.*, $tyk_meta.*, $secret_env.* and $secret_conf.* are then expanded
 * (values query-escaped unless they start with "http"). The result is applied when the chain
 * ends (gw_rewrite.c); rewrite errors answer 500. Regexes are compiled at load: a bad one
 * rejects the API.
 */
#include "gw_ctxvars.h"
#include "tk_regex.h"
#include "gw_endpoints.h"
#include "gw_mw_common.h"
#include "gw_req_body.h"
#include "gw_rewrite.h"

#include "tk_log.h"
#include "tk_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

typedef struct rx {
    char *name; /* header names canonical (X-Test), others as written */
    pcre2_code *re;
    bool reverse;
} rx_t;

enum { OPT_HEADER = 0, OPT_QUERY, OPT_PATH_PART, OPT_SESSION_META, OPT_CONTEXT, OPT__MAPS };

static const char *const opt_keys[OPT__MAPS] = {
    "header_matches",       "query_val_matches",       "path_part_matches",
    "session_meta_matches", "request_context_matches",
};

typedef struct trigger {
    bool any;
    rx_t *opts[OPT__MAPS];
    size_t n_opts[OPT__MAPS];
    rx_t payload; /* re == NULL: none */
    char *rewrite_to;
} trigger_t;

typedef struct rewrite {
    pcre2_code *re;
    char *rewrite_to;
    trigger_t *triggers;
    size_t n_triggers;
    bool needs_body; /* some trigger matches the payload */
} rewrite_t;

typedef struct state {
    const gw_api_t *api; /* whose endpoint states are ours to free */
    bool ctx_vars;       /* enable_context_vars: $tyk_context.* beyond the trigger values */
} state_t;

/* ---- load ---- */

typedef struct loadctx {
    const gw_api_t *api;
    tk_conf_errors_t *errs;
    const char *version;
    size_t index;
    bool failed;
} loadctx_t;

static pcre2_code *compile(loadctx_t *lc, const char *rx, const char *field)
{
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)rx, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof(msg));
        tk_conf_errors_add(lc->errs,
                           "%s: API %s: version %s: extended_paths.url_rewrites[%zu].%s \"%s\": "
                           "invalid regular expression at offset %zu: %s",
                           lc->api->file, lc->api->api_id, lc->version, lc->index, field, rx,
                           (size_t)off, (const char *)msg);
        lc->failed = true;
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

/* Go's textproto.CanonicalMIMEHeaderKey (names with other bytes stay as they are). */
static char *canonical_header(const char *name)
{
    char *c = tk_xstrdup(name);
    for (const char *p = c; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return c;
    bool up = true;
    for (char *p = c; *p; p++) {
        *p = (char)(up ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        up = *p == '-';
    }
    return c;
}

static bool load_rx(loadctx_t *lc, rx_t *out, const char *name, json_t *m, const char *field)
{
    const char *pat = json_string_value(json_object_get(m, "match_rx"));
    out->name = tk_xstrdup(name);
    out->reverse = json_is_true(json_object_get(m, "reverse"));
    out->re = compile(lc, pat ? pat : "", field);
    return out->re != NULL;
}

static void load_trigger(loadctx_t *lc, trigger_t *t, json_t *j, size_t ti)
{
    const char *on = json_string_value(json_object_get(j, "on"));
    t->any = on && strcmp(on, "any") == 0;
    const char *to = json_string_value(json_object_get(j, "rewrite_to"));
    t->rewrite_to = tk_xstrdup(to ? to : "");
    json_t *opts = json_object_get(j, "options");
    for (int k = 0; k < OPT__MAPS; k++) {
        json_t *map = json_object_get(opts, opt_keys[k]);
        if (!json_is_object(map) || json_object_size(map) == 0)
            continue;
        t->opts[k] = tk_xcalloc(json_object_size(map), sizeof(rx_t));
        const char *name;
        json_t *m;
        json_object_foreach(map, name, m)
        {
            char field[160];
            snprintf(field, sizeof(field), "triggers[%zu].options.%s.%s.match_rx", ti, opt_keys[k],
                     name);
            char *cname = k == OPT_HEADER ? canonical_header(name) : NULL;
            load_rx(lc, &t->opts[k][t->n_opts[k]++], cname ? cname : name, m, field);
            free(cname);
        }
    }
    json_t *pm = json_object_get(opts, "payload_matches");
    const char *ppat = json_string_value(json_object_get(pm, "match_rx"));
    if (ppat && *ppat) {
        char field[64];
        snprintf(field, sizeof(field), "triggers[%zu].options.payload_matches.match_rx", ti);
        load_rx(lc, &t->payload, "payload", pm, field);
    }
}

static void free_rx(rx_t *r)
{
    free(r->name);
    pcre2_code_free(r->re);
}

static void free_rewrite(rewrite_t *rw)
{
    if (!rw)
        return;
    pcre2_code_free(rw->re);
    free(rw->rewrite_to);
    for (size_t i = 0; i < rw->n_triggers; i++) {
        trigger_t *t = &rw->triggers[i];
        for (int k = 0; k < OPT__MAPS; k++) {
            for (size_t j = 0; j < t->n_opts[k]; j++)
                free_rx(&t->opts[k][j]);
            free(t->opts[k]);
        }
        free_rx(&t->payload);
        free(t->rewrite_to);
    }
    free(rw->triggers);
    free(rw);
}

static rewrite_t *load_rewrite(loadctx_t *lc, json_t *e)
{
    rewrite_t *rw = tk_xcalloc(1, sizeof(*rw));
    const char *pat = json_string_value(json_object_get(e, "match_pattern"));
    const char *to = json_string_value(json_object_get(e, "rewrite_to"));
    rw->re = compile(lc, pat ? pat : "", "match_pattern");
    rw->rewrite_to = tk_xstrdup(to ? to : "");
    json_t *tr = json_object_get(e, "triggers");
    if (json_is_array(tr) && json_array_size(tr)) {
        rw->triggers = tk_xcalloc(json_array_size(tr), sizeof(trigger_t));
        size_t i;
        json_t *t;
        json_array_foreach(tr, i, t)
        {
            trigger_t *dst = &rw->triggers[rw->n_triggers++];
            load_trigger(lc, dst, t, i);
            if (dst->payload.re)
                rw->needs_body = true;
        }
    }
    return rw;
}

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_has_eps(api, GW_EP_URL_REWRITES);
}

static void free_states(const gw_api_t *api)
{
    const gw_versions_t *vs = api->versions;
    for (size_t v = 0; vs && v < vs->n; v++)
        for (size_t i = 0; i < vs->v[v].n_eps[GW_EP_URL_REWRITES]; i++) {
            gw_ep_t *ep = &vs->v[v].eps[GW_EP_URL_REWRITES][i];
            free_rewrite(ep->state);
            ep->state = NULL;
        }
}

/* Runs before the API's versions are freed (gw_mw_chain_free), so the entries are there. */
static void dispose(gw_mw_t *mw)
{
    state_t *st = mw->state;
    if (st)
        free_states(st->api);
    free(st);
    mw->state = NULL;
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    state_t *st = tk_xcalloc(1, sizeof(*st));
    st->api = api;
    st->ctx_vars = json_is_true(json_object_get(api->def, "enable_context_vars"));
    mw->state = st;
    loadctx_t lc = {.api = api, .errs = errs};
    const gw_versions_t *vs = api->versions;
    for (size_t v = 0; v < vs->n; v++) {
        lc.version = vs->v[v].name;
        for (size_t i = 0; i < vs->v[v].n_eps[GW_EP_URL_REWRITES]; i++) {
            gw_ep_t *ep = &vs->v[v].eps[GW_EP_URL_REWRITES][i];
            lc.index = i;
            ep->state = load_rewrite(&lc, ep->entry);
        }
    }
    if (lc.failed) {
        dispose(mw); /* a failed init is never disposed by the chain */
        return TK_ERROR;
    }
    return TK_OK;
}

/* ---- per request ---- */

typedef struct var {
    const char *key, *val;
} var_t;

typedef struct run {
    gw_req_t *req;
    const state_t *st;
    var_t *vars; /* trigger values, in the order set (a later one wins) */
    size_t nvars, capvars;
    pcre2_match_data *md;
} run_t;

static void set_var(run_t *r, const char *key, const char *val)
{
    if (!key || !val)
        return;
    if (r->nvars == r->capvars) {
        size_t cap = r->capvars ? r->capvars * 2 : 16;
        var_t *v = tk_arena_alloc(r->req->arena, cap * sizeof(*v));
        if (!v)
            return;
        if (r->nvars)
            memcpy(v, r->vars, r->nvars * sizeof(*v));
        r->vars = v;
        r->capvars = cap;
    }
    r->vars[r->nvars++] = (var_t){key, val};
    gw_ctx_set(r->req, key, val); /* later $tyk_context users see them too, as in Tyk */
}

static const char *get_var(const run_t *r, const char *key, size_t len)
{
    for (size_t i = r->nvars; i-- > 0;)
        if (strlen(r->vars[i].key) == len && memcmp(r->vars[i].key, key, len) == 0)
            return r->vars[i].val;
    if (r->st->ctx_vars)
        return gw_ctx_var(r->req, key, len);
    return NULL;
}

/* Go's FindStringSubmatch with StringRegexMap's reverse flag: *n gets the number of groups
 * (0 when nothing matched). */
static bool rx_find(run_t *r, const rx_t *x, const char *s, size_t len, int *n)
{
    int rc = pcre2_match(x->re, (PCRE2_SPTR)s, len, 0, 0, r->md, NULL);
    *n = rc > 0 ? rc : (rc == 0 ? (int)pcre2_get_ovector_count(r->md) : 0);
    return x->reverse ? *n == 0 : *n > 0;
}

static const char *group(run_t *r, const char *s, int g)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
    if (ov[2 * g] == PCRE2_UNSET)
        return "";
    return tk_arena_strndup(r->req->arena, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
}

/* Tyk's addMatchToContextData: the whole match under the key, groups under key-<g>. */
static void add_match(run_t *r, const char *s, int n, const char *key)
{
    if (n <= 0 || !key)
        return;
    set_var(r, key, group(r, s, 0));
    for (int g = 1; g < n; g++)
        set_var(r, tk_arena_printf(r->req->arena, "%s-%d", key, g - 1), group(r, s, g));
}

/* The checks of one option group end the same way in Tyk: any → one hit is enough, all →
 * at least as many hits as options. */
static bool group_result(bool any, size_t nopts, size_t hits)
{
    return hits > 0 && (any || nopts <= hits);
}

static bool check_headers(run_t *r, const trigger_t *t, size_t tn)
{
    const tk_http_head_t *h = r->req->head;
    size_t hits = 0;
    for (size_t k = 0; k < t->n_opts[OPT_HEADER]; k++) {
        const rx_t *x = &t->opts[OPT_HEADER][k];
        int idx = 0;
        for (uint32_t i = 0; i < h->nhdrs; i++) {
            if (!tk_str_ieq(h->hdrs[i].name, h->hdrs[i].name_len, x->name))
                continue;
            const char *v = tk_arena_strndup(r->req->arena, h->hdrs[i].value, h->hdrs[i].value_len);
            int n;
            if (v && rx_find(r, x, v, strlen(v), &n)) {
                add_match(r, v, n,
                          tk_arena_printf(r->req->arena, "trigger-%zu-%s-%d", tn, x->name, idx));
                hits++;
            }
            idx++;
        }
    }
    return group_result(t->any, t->n_opts[OPT_HEADER], hits);
}

static bool check_query(run_t *r, const trigger_t *t, size_t tn)
{
    const char *q = r->req->query;
    size_t hits = 0;
    for (size_t k = 0; q && k < t->n_opts[OPT_QUERY]; k++) {
        const rx_t *x = &t->opts[OPT_QUERY][k];
        int idx = 0;
        for (const char *p = q; *p;) {
            const char *end = strchr(p, '&');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            char *key = tk_url_unescape(r->req->arena, p, kl, true, true);
            char *val = eq ? tk_url_unescape(r->req->arena, eq + 1, len - kl - 1, true, true)
                           : tk_arena_strdup(r->req->arena, "");
            if (key && val && strcmp(key, x->name) == 0 && !memchr(p, ';', len)) {
                int n;
                if (rx_find(r, x, val, strlen(val), &n)) {
                    add_match(
                        r, val, n,
                        tk_arena_printf(r->req->arena, "trigger-%zu-%s-%d", tn, x->name, idx));
                    hits++;
                }
                idx++;
            }
            p += len;
            if (*p == '&')
                p++;
        }
    }
    return group_result(t->any, t->n_opts[OPT_QUERY], hits);
}

static bool check_path_parts(run_t *r, const trigger_t *t, size_t tn)
{
    const char *path = tk_url_unescape(r->req->arena, r->req->path, r->req->path_len, false, true);
    if (!path)
        path = r->req->path;
    size_t hits = 0;
    for (size_t k = 0; k < t->n_opts[OPT_PATH_PART]; k++) {
        const rx_t *x = &t->opts[OPT_PATH_PART][k];
        for (const char *p = path;;) {
            const char *end = strchr(p, '/');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *part = tk_arena_strndup(r->req->arena, p, len);
            int n;
            if (part && rx_find(r, x, part, len, &n)) {
                /* the index is the running count of hits, as Tyk numbers them */
                add_match(r, part, n,
                          tk_arena_printf(r->req->arena, "trigger-%zu-%s-%zu", tn, x->name, hits));
                hits++;
            }
            if (!end)
                break;
            p = end + 1;
        }
    }
    return group_result(t->any, t->n_opts[OPT_PATH_PART], hits);
}

static bool check_session_meta(run_t *r, const trigger_t *t, size_t tn)
{
    const gw_session_t *s = r->req->session ? r->req->session->s : NULL;
    size_t hits = 0;
    for (size_t k = 0; s && k < t->n_opts[OPT_SESSION_META]; k++) {
        const rx_t *x = &t->opts[OPT_SESSION_META][k];
        const char *v = json_string_value(json_object_get(s->meta_data, x->name));
        int n;
        if (v && rx_find(r, x, v, strlen(v), &n)) {
            add_match(r, v, n, tk_arena_printf(r->req->arena, "trigger-%zu-%s", tn, x->name));
            hits++;
        }
    }
    return group_result(t->any, t->n_opts[OPT_SESSION_META], hits);
}

static bool check_context(run_t *r, const trigger_t *t, size_t tn)
{
    size_t hits = 0;
    for (size_t k = 0; k < t->n_opts[OPT_CONTEXT]; k++) {
        const rx_t *x = &t->opts[OPT_CONTEXT][k];
        const char *v = get_var(r, x->name, strlen(x->name));
        int n;
        if (v && rx_find(r, x, v, strlen(v), &n)) {
            add_match(r, v, n, tk_arena_printf(r->req->arena, "trigger-%zu-%s", tn, x->name));
            hits++;
        }
    }
    return group_result(t->any, t->n_opts[OPT_CONTEXT], hits);
}

/* Go's FindAllStringSubmatch over the body: every non-overlapping match. */
static bool check_payload(run_t *r, const trigger_t *t, size_t tn)
{
    struct evbuffer *b = r->req->body;
    size_t len = b ? evbuffer_get_length(b) : 0;
    const char *body = len ? (const char *)evbuffer_pullup(b, -1) : "";
    const char *kn = tk_arena_printf(r->req->arena, "trigger-%zu-payload", tn);
    size_t count = 0, pos = 0;
    uint32_t flags = 0;
    while (pos <= len) {
        int rc = pcre2_match(t->payload.re, (PCRE2_SPTR)body, len, pos, flags, r->md, NULL);
        if (rc < 0)
            break;
        int n = rc > 0 ? rc : (int)pcre2_get_ovector_count(r->md);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        size_t s0 = ov[0], e0 = ov[1];
        if (!t->payload.reverse) { /* a reversed match that hits fails: nothing to keep */
            if (count == 0)
                set_var(r, kn, group(r, body, 0));
            add_match(r, body, n, tk_arena_printf(r->req->arena, "%s-%zu", kn, count));
        }
        count++;
        /* an empty match moves on by one; an empty match right after a match is skipped */
        flags = e0 > s0 ? PCRE2_NOTEMPTY_ATSTART : 0;
        pos = e0 > s0 ? e0 : e0 + 1;
    }
    return t->payload.reverse ? count == 0 : count > 0;
}

typedef bool (*check_fn)(run_t *, const trigger_t *, size_t);

/* Which rewrite_to applies: the first trigger that fires, else the entry's own. */
static const char *pick_rewrite(run_t *r, const rewrite_t *rw)
{
    static const check_fn checks[OPT__MAPS] = {check_headers, check_query, check_path_parts,
                                               check_session_meta, check_context};
    for (size_t tn = 0; tn < rw->n_triggers; tn++) {
        const trigger_t *t = &rw->triggers[tn];
        size_t total = 0, set = 0;
        for (int k = 0; k < OPT__MAPS; k++) {
            if (!t->n_opts[k])
                continue;
            total++;
            /* session meta data is only looked at when there is a session (it still counts
             * for "all") */
            if (k == OPT_SESSION_META && !r->req->session)
                continue;
            if (checks[k](r, t, tn)) {
                set++;
                if (t->any)
                    return t->rewrite_to;
            }
        }
        if (t->payload.re) {
            total++;
            if (check_payload(r, t, tn)) {
                set++;
                if (t->any)
                    return t->rewrite_to;
            }
        }
        if (!t->any && total == set)
            return t->rewrite_to;
    }
    return rw->rewrite_to;
}

/* ---- building the new URL ---- */

/* @s with every @from replaced by @to (Go's strings.Replace(s, from, to, -1)). */
static char *replace_all(tk_arena_t *a, const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    if (!fl)
        return (char *)s;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        n++;
    if (!n)
        return (char *)s;
    char *out = tk_arena_alloc(a, strlen(s) + n * tl + 1);
    if (!out)
        return (char *)s;
    char *o = out;
    for (const char *p = s;;) {
        const char *m = strstr(p, from);
        if (!m) {
            memcpy(o, p, strlen(p) + 1);
            break;
        }
        memcpy(o, p, (size_t)(m - p));
        o += m - p;
        memcpy(o, to, tl);
        o += tl;
        p = m + fl;
    }
    return out;
}

/* $N tokens replaced one after the other, each everywhere, as Tyk does (so "$1" also hits the
 * start of "$12"); a group the match does not have becomes "". */
static char *replace_groups(run_t *r, const char *to, const char *subject, int n)
{
    char *out = (char *)to;
    for (const char *p = strchr(to, '$'); p; p = strchr(p + 1, '$')) {
        size_t d = 0;
        while (isdigit((unsigned char)p[1 + d]))
            d++;
        if (!d)
            continue;
        char tok[24];
        if (d + 2 > sizeof(tok))
            continue;
        memcpy(tok, p, d + 1);
        tok[d + 1] = 0;
        long g = strtol(tok + 1, NULL, 10);
        const char *val = g < n ? group(r, subject, (int)g) : "";
        out = replace_all(r->req->arena, out, tok, val ? val : "");
    }
    return out;
}

static bool var_char(char c, const char *extra)
{
    return isalnum((unsigned char)c) || (c && strchr(extra, c));
}

/* Go's strconv.FormatFloat(x, 'f', -1, 64): the shortest digits that read back the same. */
static char *format_float(tk_arena_t *a, double x)
{
    char buf[400];
    for (int prec = 0; prec <= 340; prec++) {
        snprintf(buf, sizeof(buf), "%.*f", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return tk_arena_strdup(a, buf);
}

/* Tyk's valToStr for session meta data values (JSON numbers are floats in Go). */
static const char *meta_str(tk_arena_t *a, const json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_number(v))
        return format_float(a, json_number_value(v));
    if (json_is_array(v)) {
        const char *out = "";
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
        {
            const char *s = meta_str(a, it);
            if (!s || !*s)
                continue;
            const char *e = gw_query_escape(a, s, strlen(s));
            out = *out ? tk_arena_printf(a, "%s,%s", out, e) : e;
        }
        return out;
    }
    return ""; /* Tyk: "Context variable type is not supported" */
}

enum var_kind { VAR_CONF, VAR_ENV, VAR_VAULT, VAR_CONSUL, VAR_CONTEXT, VAR_META };

static const char *resolve(run_t *r, enum var_kind kind, const char *key, bool *escape)
{
    tk_arena_t *a = r->req->arena;
    *escape = false;
    switch (kind) {
    case VAR_CONF:
        return json_string_value(json_object_get(gw_req_conf(r->req)->secrets, key));
    case VAR_ENV: {
        char *name = tk_arena_printf(a, "TYK_SECRET_%s", key);
        for (char *p = name; p && *p; p++)
            *p = (char)toupper((unsigned char)*p);
        return name ? getenv(name) : NULL;
    }
    case VAR_VAULT:
    case VAR_CONSUL:
        return NULL; /* no KV store configured: Tyk leaves "" */
    case VAR_CONTEXT:
        *escape = true;
        return get_var(r, key, strlen(key));
    case VAR_META: {
        *escape = true;
        const gw_session_t *s = r->req->session ? r->req->session->s : NULL;
        json_t *v = s ? json_object_get(s->meta_data, key) : NULL;
        return v ? meta_str(a, v) : NULL;
    }
    }
    return NULL;
}

/* Every "<label><name>" in @in replaced by its value, found left to right and each replaced
 * everywhere (Tyk's replaceVariables); unknown → "". Context and meta values are
 * query-escaped unless they start with "http". */
static char *expand_label(run_t *r, char *in, const char *label, const char *extra,
                          enum var_kind kind)
{
    size_t ll = strlen(label);
    if (!strstr(in, label))
        return in;
    /* collect the tokens first: replacing changes the string */
    const char *toks[64];
    size_t nt = 0;
    for (const char *p = strstr(in, label); p && nt < TK_ARRAY_LEN(toks); p = strstr(p, label)) {
        size_t n = 0;
        while (var_char(p[ll + n], extra))
            n++;
        if (!n) {
            p += ll;
            continue;
        }
        toks[nt++] = tk_arena_strndup(r->req->arena, p, ll + n);
        p += ll + n;
    }
    for (size_t i = 0; i < nt; i++) {
        if (!toks[i])
            continue;
        bool esc;
        const char *v = resolve(r, kind, toks[i] + ll, &esc);
        if (!v)
            v = "";
        if (esc && strncmp(v, "http", 4) != 0)
            v = gw_query_escape(r->req->arena, v, strlen(v));
        in = replace_all(r->req->arena, in, toks[i], v ? v : "");
    }
    return in;
}

static char *expand_vars(run_t *r, char *in)
{
    in = expand_label(r, in, "$secret_conf.", "[.-_", VAR_CONF);
    in = expand_label(r, in, "$secret_env.", "_-.", VAR_ENV);
    in = expand_label(r, in, "$secret_vault.", "/-.", VAR_VAULT);
    in = expand_label(r, in, "$secret_consul.", "/-.", VAR_CONSUL);
    in = expand_label(r, in, "$tyk_context.", "_-.", VAR_CONTEXT);
    in = expand_label(r, in, "$tyk_meta.", "_-.", VAR_META);
    return in;
}

/* tyk://<host>: the host with every run of other characters than letters and digits turned
 * into "-" (Tyk's LoopingUrl), so API names can be written as they are. */
static char *loop_host(tk_arena_t *a, char *p)
{
    if (strncmp(p, "tyk://", 6) != 0)
        return p;
    const char *h = p + 6, *end = strchr(h, '/');
    size_t hl = end ? (size_t)(end - h) : strlen(h);
    if (!hl)
        return p;
    char *host = tk_arena_alloc(a, hl + 1);
    if (!host)
        return p;
    size_t o = 0;
    for (size_t i = 0; i < hl;) {
        if (isalnum((unsigned char)h[i])) {
            host[o++] = h[i++];
            continue;
        }
        host[o++] = '-';
        while (i < hl && !isalnum((unsigned char)h[i]))
            i++;
    }
    host[o] = 0;
    return tk_arena_printf(a, "tyk://%s%s", host, end ? end : "");
}

/* What url.Parse refuses in practice: control characters and spaces, a scheme with a bad host. */
static bool url_ok(const char *p)
{
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return false;
    const char *s = strstr(p, "://");
    if (s && s > p) {
        const char *h = s + 3;
        size_t hl = strcspn(h, "/?#");
        if (memchr(h, ' ', hl))
            return false;
    }
    return true;
}

static pcre2_match_data *match_data(void)
{
    return tk_re_match_data(); /* per thread, freed when the worker exits */
}

static int fail(gw_req_t *req, const char *msg)
{
    req->err_status = 500;
    req->err_msg = msg;
    return TK_ERROR;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_URL_REWRITES);
    if (!ep || !ep->state)
        return TK_OK;
    const rewrite_t *rw = ep->state;
    if (rw->needs_body) {
        int rc = gw_req_body_collect(req); /* the step runs again once the body is in */
        if (rc != TK_OK)
            return rc;
    }
    run_t r = {.req = req, .st = mw->state, .md = match_data()};
    if (!r.md)
        return fail(req, "There was a problem proxying the request");
    const char *to = pick_rewrite(&r, rw);

    /* The URL as Tyk's r.URL.String() gives it: path and query as received. */
    const char *url =
        req->query ? tk_arena_printf(req->arena, "%s?%s", req->path, req->query) : req->path;
    if (!url)
        return fail(req, "There was a problem proxying the request");
    const char *subject = url;
    int rc = pcre2_match(rw->re, (PCRE2_SPTR)url, strlen(url), 0, 0, r.md, NULL);
    if (rc < 0 && strchr(url, '%')) {
        const char *plain = tk_url_unescape(req->arena, url, strlen(url), false, true);
        if (!plain)
            return fail(req, tk_arena_printf(req->arena, "failed to decode URL path: %s", url));
        subject = plain;
        rc = pcre2_match(rw->re, (PCRE2_SPTR)plain, strlen(plain), 0, 0, r.md, NULL);
    }
    char *out;
    if (rc >= 0) {
        int n = rc > 0 ? rc : (int)pcre2_get_ovector_count(r.md);
        out = replace_groups(&r, to, subject, n);
    } else {
        out = (char *)url;
    }
    out = expand_vars(&r, out);
    out = loop_host(req->arena, out);
    if (!out)
        return fail(req, "There was a problem proxying the request");
    if (!url_ok(out)) {
        tk_log_error("api=%s URL Rewrite failed, could not parse: %s", req->api->api_id, out);
        return TK_OK;
    }
    if (strcmp(out, url) != 0)
        req->rewrite_to = out;
    return TK_OK;
}

const gw_mw_def_t gw_mw_url_rewrite = {
    .name = "URLRewriteMiddleware",
    .phase = GW_PHASE_TRANSFORM,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
