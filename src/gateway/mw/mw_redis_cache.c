/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RedisCache (Tyk §9.1 step 28) and its response side: a cacheable request is answered from
 * Redis when an entry exists (x-tyk-cached-response: 1, upstream not called); otherwise a
 * response filter stores the upstream's answer when its code (or the upstream's cache-control
 * header) allows, without delaying the client. Redis away means no caching, never an error.
 *
 * Which requests: cache_options.cache_all_safe_requests (GET/HEAD/OPTIONS), else a legacy
 * extended_paths.cache path (safe methods), else an advance_cache_config entry (its method).
 * Key, as Tyk builds it: "cache-" + api_id + api_id + (auth token, else client IP) +
 * md5hex(METHOD "-" URL ["-" name "-" value ... for cache_by_headers] ["-" murmur128hex(body,
 * or the cache_key_regex match) for POST/PUT/PATCH]). Value: base64(HTTP/1.1 response) "|"
 * unix expiry, SET with EX = the TTL.
 */
#include "gw_cache.h"
#include "gw_endpoints.h"
#include "gw_mw_common.h"
#include "gw_req_body.h"
#include "gw_resp_filter.h"

#include "tk_base64.h"
#include "tk_hash.h"
#include "tk_log.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DEFAULT_TTL_HEADER "x-tyk-cache-action-set-ttl"
#define UPSTREAM_SET_HEADER "x-tyk-cache-action-set"
#define CACHED_HEADER "X-Tyk-Cached-Response: 1\r\n"
#define MAX_STORED_HEADERS 256

/* Per-API settings (cache_options). */
struct cache_cfg {
    const gw_api_t *api; /* its versions hold the advance entries' state */
    bool all_safe;
    bool upstream_control;
    int *codes; /* cache_response_codes; none = every code */
    size_t ncodes;
    int64_t timeout;
    char *ttl_header;
    char **by_headers;
    size_t nby;
};

/* Per advance_cache_config entry (ep->state). */
struct adv {
    pcre2_code *key_re; /* cache_key_regex, or NULL */
    int *codes;
    size_t ncodes;
    int64_t timeout;
};

/* What the response filter needs (request arena). */
struct pending {
    const struct cache_cfg *cfg;
    const char *key;
    const int *codes;
    size_t ncodes;
    int64_t timeout;
};

/* ---- load ---- */

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    json_t *co = json_object_get(api->def, "cache_options");
    if (!json_is_true(json_object_get(co, "enable_cache")))
        return false;
    /* Nothing can ever be cached without one of these: keep the step off the chain. */
    return json_is_true(json_object_get(co, "cache_all_safe_requests")) ||
           gw_api_has_eps(api, GW_EP_CACHE) || gw_api_has_eps(api, GW_EP_ADVANCE_CACHE);
}

static int parse_codes(json_t *arr, int **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return TK_OK;
    *out = tk_xcalloc(json_array_size(arr), sizeof(int));
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_integer(v))
            return TK_ERROR;
        (*out)[(*n)++] = (int)json_integer_value(v);
    }
    return TK_OK;
}

static void adv_free(struct adv *a)
{
    if (!a)
        return;
    pcre2_code_free(a->key_re);
    free(a->codes);
    free(a);
}

static void dispose_eps(const gw_api_t *api);

/* Runs before the API's versions are freed (gw_mw_chain_free). */
static void dispose(gw_mw_t *mw)
{
    struct cache_cfg *c = mw->state;
    if (!c)
        return;
    dispose_eps(c->api);
    free(c->codes);
    free(c->ttl_header);
    for (size_t i = 0; i < c->nby; i++)
        free(c->by_headers[i]);
    free(c->by_headers);
    free(c);
    mw->state = NULL;
}

static void dispose_eps(const gw_api_t *api)
{
    for (size_t v = 0; v < api->versions->n; v++) {
        gw_version_t *ver = &api->versions->v[v];
        for (size_t j = 0; j < ver->n_eps[GW_EP_ADVANCE_CACHE]; j++) {
            adv_free(ver->eps[GW_EP_ADVANCE_CACHE][j].state);
            ver->eps[GW_EP_ADVANCE_CACHE][j].state = NULL;
        }
    }
}

static int init_adv(const gw_api_t *api, tk_conf_errors_t *errs)
{
    int rc = TK_OK;
    for (size_t v = 0; v < api->versions->n; v++) {
        gw_version_t *ver = &api->versions->v[v];
        for (size_t j = 0; j < ver->n_eps[GW_EP_ADVANCE_CACHE]; j++) {
            gw_ep_t *ep = &ver->eps[GW_EP_ADVANCE_CACHE][j];
            struct adv *a = tk_xcalloc(1, sizeof(*a));
            ep->state = a;
            if (parse_codes(json_object_get(ep->entry, "cache_response_codes"), &a->codes,
                            &a->ncodes) != TK_OK) {
                tk_conf_errors_add(errs,
                                   "%s: API %s: version %s: advance_cache_config %s: "
                                   "cache_response_codes must be a list of integers",
                                   api->file, api->api_id, ver->name, ep->path);
                rc = TK_ERROR;
            }
            json_t *t = json_object_get(ep->entry, "timeout");
            a->timeout = json_is_integer(t) ? json_integer_value(t) : 0;
            const char *re = json_string_value(json_object_get(ep->entry, "cache_key_regex"));
            if (re && *re) {
                int err;
                PCRE2_SIZE off;
                a->key_re =
                    pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
                if (!a->key_re) {
                    PCRE2_UCHAR msg[160];
                    pcre2_get_error_message(err, msg, sizeof(msg));
                    tk_conf_errors_add(errs,
                                       "%s: API %s: version %s: advance_cache_config %s: "
                                       "cache_key_regex: %s at offset %zu",
                                       api->file, api->api_id, ver->name, ep->path,
                                       (const char *)msg, (size_t)off);
                    rc = TK_ERROR;
                }
            }
        }
    }
    return rc;
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    json_t *co = json_object_get(api->def, "cache_options");
    struct cache_cfg *c = tk_xcalloc(1, sizeof(*c));
    mw->state = c;
    c->api = api;
    c->all_safe = json_is_true(json_object_get(co, "cache_all_safe_requests"));
    c->upstream_control = json_is_true(json_object_get(co, "enable_upstream_cache_control"));
    json_t *t = json_object_get(co, "cache_timeout");
    c->timeout = json_is_integer(t) ? json_integer_value(t) : 0;
    const char *th = json_string_value(json_object_get(co, "cache_control_ttl_header"));
    c->ttl_header = tk_xstrdup(th && *th ? th : DEFAULT_TTL_HEADER);
    int rc = TK_OK;
    if (parse_codes(json_object_get(co, "cache_response_codes"), &c->codes, &c->ncodes) != TK_OK) {
        tk_conf_errors_add(errs,
                           "%s: API %s: cache_options.cache_response_codes must be a list of "
                           "integers",
                           api->file, api->api_id);
        rc = TK_ERROR;
    }
    json_t *by = json_object_get(co, "cache_by_headers");
    if (json_is_array(by) && json_array_size(by)) {
        c->by_headers = tk_xcalloc(json_array_size(by), sizeof(char *));
        size_t i;
        json_t *v;
        json_array_foreach(by, i, v)
        {
            if (json_is_string(v))
                c->by_headers[c->nby++] = tk_xstrdup(json_string_value(v));
        }
    }
    if (init_adv(api, errs) != TK_OK)
        rc = TK_ERROR;
    if (rc != TK_OK)
        dispose(mw);
    return rc;
}

/* ---- the key ---- */

static bool is_safe(const gw_req_t *req)
{
    const char *m = req->head->method;
    size_t n = req->head->method_len;
    return tk_str_ieq(m, n, "GET") || tk_str_ieq(m, n, "HEAD") || tk_str_ieq(m, n, "OPTIONS");
}

static bool wants_body_hash(const gw_req_t *req)
{
    const char *m = req->head->method;
    size_t n = req->head->method_len;
    return tk_str_ieq(m, n, "POST") || tk_str_ieq(m, n, "PUT") || tk_str_ieq(m, n, "PATCH");
}

static tk_str_t header_value(const gw_req_t *req, const char *name)
{
    const tk_http_hdr_t *h = gw_req_header(req, name);
    return h ? (tk_str_t){h->value, h->value_len} : (tk_str_t){"", 0};
}

static void md5_add(EVP_MD_CTX *ctx, const void *p, size_t n)
{
    EVP_DigestUpdate(ctx, p, n);
}

/* Adds "-" + murmur128hex(body or its first cache_key_regex match), as Tyk's addBodyHash. */
static void add_body_hash(EVP_MD_CTX *ctx, gw_req_t *req, const struct adv *a)
{
    size_t n = req->body ? evbuffer_get_length(req->body) : 0;
    const char *p = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    if (a && a->key_re) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(a->key_re, NULL);
        int rc = md ? pcre2_match(a->key_re, (PCRE2_SPTR)p, n, 0, 0, md, NULL) : -1;
        if (rc < 0) {
            pcre2_match_data_free(md);
            return; /* no match: nothing of the body goes into the key */
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        p += ov[0];
        n = ov[1] - ov[0];
        pcre2_match_data_free(md);
    }
    char hex[TK_HASH_HEX_MAX];
    size_t hl = tk_hash_hex(TK_HASH_MURMUR128, p, n, hex);
    md5_add(ctx, "-", 1);
    md5_add(ctx, hex, hl);
}

static char *cache_key(gw_req_t *req, const struct cache_cfg *c, const struct adv *a)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    /* METHOD-URL, the URL as Go prints a request's (path, then "?" + query when present). */
    md5_add(ctx, req->head->method, req->head->method_len);
    md5_add(ctx, "-", 1);
    md5_add(ctx, req->path, req->path_len);
    if (req->query) {
        md5_add(ctx, "?", 1);
        md5_add(ctx, req->query, strlen(req->query));
    }
    if (c->nby) {
        md5_add(ctx, "-", 1);
        for (size_t i = 0; i < c->nby; i++) {
            tk_str_t v = header_value(req, c->by_headers[i]);
            md5_add(ctx, c->by_headers[i], strlen(c->by_headers[i]));
            md5_add(ctx, "-", 1);
            md5_add(ctx, v.p, v.len);
        }
    }
    if (wants_body_hash(req))
        add_body_hash(ctx, req, a);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    tk_str_t who = req->token && *req->token ? (tk_str_t){req->token, strlen(req->token)}
                                             : gw_req_real_ip(req);
    const char *id = req->api->api_id;
    return tk_arena_printf(req->arena, "cache-%s%s%.*s%s", id, id, (int)who.len, who.p, hex);
}

/* ---- storing (response filter) ---- */

static bool code_listed(const int *codes, size_t n, int status)
{
    if (n == 0)
        return true; /* no list: every code, as Tyk */
    for (size_t i = 0; i < n; i++)
        if (codes[i] == status)
            return true;
    return false;
}

/* Go's strconv.Atoi: optional sign, decimal digits only. */
static bool parse_int(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || s[0] == ' ' || s[0] == '\t')
        return false;
    *out = v;
    return true;
}

static int store_on_body(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs,
                         struct evbuffer *body)
{
    struct pending *p = arg;
    const struct cache_cfg *c = p->cfg;
    bool cache = code_listed(p->codes, p->ncodes, *status);
    int64_t ttl = p->timeout;
    if (c->upstream_control) {
        const char *set = gw_hdrs_get(req, hdrs, UPSTREAM_SET_HEADER);
        if (set && *set)
            cache = true;
        int64_t v;
        if (parse_int(gw_hdrs_get(req, hdrs, c->ttl_header), &v))
            ttl = v;
    }
    /* Without a positive TTL an entry could never be served (Tyk's expiry is now + TTL). */
    if (!cache || ttl <= 0)
        return TK_OK;
    size_t blen = evbuffer_get_length(body);
    size_t hlen = evbuffer_get_length(hdrs);
    struct evbuffer *raw = evbuffer_new();
    if (!raw)
        return TK_OK;
    evbuffer_add_printf(raw, "HTTP/1.1 %d %s\r\n", *status, tk_http_reason(*status));
    if (hlen)
        evbuffer_add(raw, evbuffer_pullup(hdrs, -1), hlen);
    evbuffer_add_printf(raw, "Content-Length: %zu\r\n\r\n", blen);
    if (blen)
        evbuffer_add(raw, evbuffer_pullup(body, -1), blen);
    size_t rlen = evbuffer_get_length(raw);
    size_t elen = 0;
    char *enc = tk_b64_encode(evbuffer_pullup(raw, -1), rlen, false, true, &elen);
    evbuffer_free(raw);
    char tail[48];
    int tl = snprintf(tail, sizeof(tail), "|%lld", (long long)time(NULL) + (long long)ttl);
    char *value = tk_xmalloc(elen + (size_t)tl + 1);
    memcpy(value, enc, elen);
    memcpy(value + elen, tail, (size_t)tl + 1);
    free(enc);
    char ttl_s[24];
    snprintf(ttl_s, sizeof(ttl_s), "%lld", (long long)ttl);
    const char *argv[] = {"SET", p->key, value, "EX", ttl_s};
    const size_t lens[] = {3, strlen(p->key), elen + (size_t)tl, 2, strlen(ttl_s)};
    /* Fire and forget: the client's answer never waits for Redis. */
    if (tk_redis_cmd_argv(gw_cache_redis(req->conn->w), NULL, NULL, 5, argv, lens) != TK_OK)
        tk_log_debug("api=%s: cache store unavailable, response not cached", req->api->api_id);
    free(value);
    return TK_OK;
}

static const gw_resp_filter_def_t store_filter = {
    .name = "ResponseCacheMiddleware",
    .on_body = store_on_body,
};

/* ---- serving a hit ---- */

struct parsed {
    int status;
    struct evbuffer *hdrs;
    struct evbuffer *body;
    const char *etag; /* arena */
    gw_req_t *req;
    bool done;
};

static bool hop_or_framing(const char *n, size_t l)
{
    return gw_http_hop_by_hop(n, l) || tk_str_ieq(n, l, "content-length") ||
           tk_str_ieq(n, l, "date") || tk_str_ieq(n, l, "x-tyk-cached-response");
}

static int p_on_head(void *ud, tk_http_head_t *head)
{
    struct parsed *ps = ud;
    ps->status = head->status;
    for (uint32_t i = 0; i < head->nhdrs && i < MAX_STORED_HEADERS; i++) {
        const tk_http_hdr_t *x = &head->hdrs[i];
        if (tk_str_ieq(x->name, x->name_len, "etag") && !ps->etag)
            ps->etag = tk_arena_strndup(ps->req->arena, x->value, x->value_len);
        if (hop_or_framing(x->name, x->name_len))
            continue;
        evbuffer_add(ps->hdrs, x->name, x->name_len);
        evbuffer_add(ps->hdrs, ": ", 2);
        evbuffer_add(ps->hdrs, x->value, x->value_len);
        evbuffer_add(ps->hdrs, "\r\n", 2);
    }
    return TK_H1_CONTINUE;
}

static int p_on_body(void *ud, const char *p, size_t n)
{
    struct parsed *ps = ud;
    evbuffer_add(ps->body, p, n);
    return TK_H1_CONTINUE;
}

static int p_on_done(void *ud)
{
    struct parsed *ps = ud;
    ps->done = true;
    return TK_H1_CONTINUE;
}

/* Parses a stored raw response (Tyk writes Content-Length or chunked bodies). */
static bool parse_response(gw_req_t *req, const char *raw, size_t len, struct parsed *ps)
{
    static const tk_h1_callbacks_t cb = {p_on_head, p_on_body, p_on_done};
    tk_h1_parser_t *hp = tk_h1_parser_new(false, 1u << 20, &cb, ps);
    if (!hp)
        return false;
    if (tk_str_ieq(req->head->method, req->head->method_len, "HEAD"))
        tk_h1_parser_expect_no_body(hp, true);
    size_t at = 0;
    bool ok = true;
    while (!ps->done) {
        size_t used = 0;
        int st = tk_h1_parser_feed(hp, raw + at, len - at, &used);
        at += used;
        if (st == TK_H1_PAUSED_HEAD) {
            tk_h1_parser_resume(hp);
            continue;
        }
        if (st == TK_H1_PAUSED_DONE)
            break;
        if (st != TK_H1_OK) {
            ok = false;
            break;
        }
        if (at >= len) {
            /* End of the entry: completes a body read until close, or fails a short one. */
            ok = tk_h1_parser_finish(hp) == TK_H1_PAUSED_DONE || ps->done;
            break;
        }
    }
    tk_h1_parser_free(hp);
    return ok && ps->status >= 100;
}

static void delete_entry(gw_req_t *req, const char *key)
{
    const char *argv[] = {"DEL", key};
    tk_redis_cmd_argv(gw_cache_redis(req->conn->w), NULL, NULL, 2, argv, NULL);
}

/* Tyk's decodePayload + expiry check: true with the raw response when the entry is usable. */
static unsigned char *decode_entry(const char *v, size_t len, size_t *out_len)
{
    const char *bar = memchr(v, '|', len);
    if (!bar || memchr(bar + 1, '|', len - (size_t)(bar + 1 - v)))
        return NULL; /* no expiry (or too many parts): Tyk treats it as expired / broken */
    char ts[32];
    size_t tl = len - (size_t)(bar + 1 - v);
    if (tl == 0 || tl >= sizeof(ts))
        return NULL;
    memcpy(ts, bar + 1, tl);
    ts[tl] = '\0';
    int64_t exp;
    if (!parse_int(ts, &exp) || exp < (int64_t)time(NULL))
        return NULL;
    unsigned char *raw = tk_b64_decode(v, (size_t)(bar - v), false, true, out_len);
    if (raw && *out_len == 0) {
        free(raw);
        return NULL;
    }
    return raw;
}

/* Answers @req from the entry; false when it cannot be used (then it is deleted). */
static bool serve_hit(gw_req_t *req, const char *key, const char *v, size_t len)
{
    size_t rlen = 0;
    unsigned char *raw = decode_entry(v, len, &rlen);
    if (!raw) {
        delete_entry(req, key);
        return false;
    }
    struct parsed ps = {.hdrs = evbuffer_new(), .body = evbuffer_new(), .req = req};
    bool ok = ps.hdrs && ps.body && parse_response(req, (const char *)raw, rlen, &ps);
    free(raw);
    if (!ok) {
        tk_log_warn("api=%s: unreadable cache entry removed", req->api->api_id);
        delete_entry(req, key);
        if (ps.hdrs)
            evbuffer_free(ps.hdrs);
        if (ps.body)
            evbuffer_free(ps.body);
        return false;
    }
    int status = ps.status;
    const tk_http_hdr_t *inm = gw_req_header(req, "if-none-match");
    if (inm && inm->value_len && ps.etag && *ps.etag &&
        memmem(inm->value, inm->value_len, ps.etag, strlen(ps.etag)))
        status = 304;
    evbuffer_add(ps.hdrs, CACHED_HEADER, strlen(CACHED_HEADER));
    evbuffer_add(ps.hdrs, "", 1); /* NUL for gw_respond's extra headers */
    size_t blen = status == 304 ? 0 : evbuffer_get_length(ps.body);
    gw_respond(req, status, NULL, blen ? evbuffer_pullup(ps.body, -1) : (const void *)"", blen,
               (const char *)evbuffer_pullup(ps.hdrs, -1));
    evbuffer_free(ps.hdrs);
    evbuffer_free(ps.body);
    return true;
}

struct lookup {
    gw_wait_t *wait;
    char *key;
};

static void on_get(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    struct lookup *l = arg;
    gw_req_t *req = gw_wait_end(l->wait);
    if (req) {
        if (reply && reply->type == REDIS_REPLY_STRING &&
            serve_hit(req, l->key, reply->str, reply->len)) {
            /* answered: the chain stops here */
        } else {
            gw_pipeline_resume(req, TK_OK); /* miss, Redis error or bad entry: go upstream */
        }
    }
    free(l->key);
    free(l);
}

/* ---- the step ---- */

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    const struct cache_cfg *c = mw->state;
    const struct adv *a = NULL;
    bool cached = c->all_safe && is_safe(req);
    if (!cached) {
        const gw_ep_t *ep = gw_ep_match(req, GW_EP_CACHE);
        cached = ep && is_safe(req);
    }
    if (!cached) {
        const gw_ep_t *ep = gw_ep_match(req, GW_EP_ADVANCE_CACHE);
        /* Tyk compares the entry's method exactly: an entry without one never matches. */
        if (ep && ep->method[0]) {
            cached = true;
            a = ep->state;
        }
    }
    if (!cached)
        return TK_OK;
    if (wants_body_hash(req)) {
        int rc = gw_req_body_collect(req); /* the body is part of the key */
        if (rc != TK_OK)
            return rc;
    }
    const char *key = cache_key(req, c, a);
    if (!key)
        return TK_OK;
    struct pending *p = tk_arena_alloc(req->arena, sizeof(*p));
    if (!p)
        return TK_OK;
    *p = (struct pending){
        .cfg = c, .key = key, .codes = c->codes, .ncodes = c->ncodes, .timeout = c->timeout};
    if (a) { /* an endpoint's own codes and timeout win when set */
        if (a->ncodes) {
            p->codes = a->codes;
            p->ncodes = a->ncodes;
        }
        if (a->timeout > 0)
            p->timeout = a->timeout;
    }
    if (gw_resp_filter_add(req, &store_filter, p) != TK_OK)
        tk_log_warn("api=%s: too many response filters, response not cached", req->api->api_id);
    struct lookup *l = tk_xcalloc(1, sizeof(*l));
    l->key = tk_xstrdup(key);
    l->wait = gw_wait_begin(req);
    const char *argv[] = {"GET", l->key};
    if (tk_redis_cmd_argv(gw_cache_redis(req->conn->w), on_get, l, 2, argv, NULL) != TK_OK) {
        /* Redis away: no cached answer, the request goes upstream as usual. */
        gw_wait_end(l->wait);
        free(l->key);
        free(l);
        return TK_OK;
    }
    return TK_AGAIN;
}

const gw_mw_def_t gw_mw_redis_cache = {
    .name = "RedisCacheMiddleware",
    .phase = GW_PHASE_CONTENT,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
