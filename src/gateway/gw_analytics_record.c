/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds the analytics record of a finished API request the way Tyk's success and error
 * handlers do (spec/gateway.md §8): the path with the listen path stripped only for proxied
 * responses, the real client IP, session and header tags followed by key-/org-/api- tags, the
 * key hashed when hash_keys is on, and latencies in milliseconds (zero on error records).
 * Everything temporary lives in the request arena; the encoded bytes go to the worker's batch.
 */
#include "gw_analytics_int.h"
#include "gw_http.h"
#include "gw_mw_common.h"
#include "gw_session.h"

#include "tk_base64.h"
#include "tk_hash.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define HUNDRED_YEARS_S (100LL * 365 * 24 * 3600)

/* ---- per-API settings ---- */

static char **strings_of(const json_t *arr, size_t *n, bool lower)
{
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return NULL;
    char **v = tk_xcalloc(json_array_size(arr), sizeof(*v));
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *s = json_string_value(it);
        if (!s || !*s)
            continue;
        char *c = tk_xstrdup(s);
        if (lower)
            for (char *p = c; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        v[(*n)++] = c;
    }
    return v;
}

gw_api_analytics_t *gw_api_analytics_from_json(const json_t *def)
{
    gw_api_analytics_t *a = tk_xcalloc(1, sizeof(*a));
    a->do_not_track = json_is_true(json_object_get(def, "do_not_track"));
    a->detailed = json_is_true(json_object_get(def, "enable_detailed_recording"));
    json_t *exp = json_object_get(def, "expire_analytics_after");
    a->expire_after = json_is_integer(exp) ? json_integer_value(exp) : 0;
    a->tag_headers = strings_of(json_object_get(def, "tag_headers"), &a->n_tag_headers, true);
    a->tags = strings_of(json_object_get(def, "tags"), &a->n_tags, false);
    return a;
}

void gw_api_analytics_free(gw_api_analytics_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_tag_headers; i++)
        free(a->tag_headers[i]);
    for (size_t i = 0; i < a->n_tags; i++)
        free(a->tags[i]);
    free(a->tag_headers);
    free(a->tags);
    free(a);
}

/* ---- helpers ---- */

static tk_str_t sv(const char *s)
{
    return s ? (tk_str_t){s, strlen(s)} : (tk_str_t){"", 0};
}

static tk_str_t header_value(const gw_req_t *req, const char *name)
{
    const tk_http_hdr_t *h = gw_req_header(req, name);
    return h ? (tk_str_t){h->value, h->value_len} : (tk_str_t){"", 0};
}

static bool ip_ignored(const gw_conf_t *conf, tk_str_t ip)
{
    for (size_t i = 0; i < conf->analytics_config_ignored_ips.n; i++) {
        const char *s = conf->analytics_config_ignored_ips.v[i];
        if (strlen(s) == ip.len && memcmp(s, ip.p, ip.len) == 0)
            return true;
    }
    return false;
}

typedef struct tags {
    tk_str_t *v;
    size_t n, cap;
    tk_arena_t *arena;
} tags_t;

/* @prefix followed by @s, in the arena (tags are built per request: no printf here). */
static const char *cat(tk_arena_t *arena, const char *prefix, const char *s)
{
    size_t pl = strlen(prefix), sl = strlen(s);
    char *out = tk_arena_alloc(arena, pl + sl + 1);
    if (!out)
        return NULL;
    memcpy(out, prefix, pl);
    memcpy(out + pl, s, sl + 1);
    return out;
}

static void tag_add(tags_t *t, const char *s)
{
    if (!s)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        tk_str_t *v = tk_arena_alloc(t->arena, cap * sizeof(*v));
        if (!v)
            return;
        if (t->n)
            memcpy(v, t->v, t->n * sizeof(*v));
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = sv(s);
}

/* Wire form of the request head (Tyk base64-encodes r.Write()); the body is not kept. */
static tk_str_t raw_request(gw_req_t *req)
{
    const tk_http_head_t *h = req->head;
    size_t n = h->method_len + h->url_len + 16;
    for (uint32_t i = 0; i < h->nhdrs; i++)
        n += h->hdrs[i].name_len + h->hdrs[i].value_len + 4;
    char *wire = tk_arena_alloc(req->arena, n);
    if (!wire)
        return (tk_str_t){"", 0};
    size_t o = 0;
    memcpy(wire + o, h->method, h->method_len);
    o += h->method_len;
    wire[o++] = ' ';
    memcpy(wire + o, h->url, h->url_len);
    o += h->url_len;
    memcpy(wire + o, " HTTP/1.1\r\n", 11);
    o += 11;
    for (uint32_t i = 0; i < h->nhdrs; i++) {
        memcpy(wire + o, h->hdrs[i].name, h->hdrs[i].name_len);
        o += h->hdrs[i].name_len;
        wire[o++] = ':';
        wire[o++] = ' ';
        memcpy(wire + o, h->hdrs[i].value, h->hdrs[i].value_len);
        o += h->hdrs[i].value_len;
        wire[o++] = '\r';
        wire[o++] = '\n';
    }
    wire[o++] = '\r';
    wire[o++] = '\n';
    size_t bl = 0;
    char *b64 = tk_b64_encode(wire, o, false, true, &bl);
    char *copy = tk_arena_strndup(req->arena, b64, bl);
    free(b64);
    return copy ? (tk_str_t){copy, bl} : (tk_str_t){"", 0};
}

bool gw_analytics_wants_detail(const gw_req_t *req)
{
    if (!req->conn->w->analytics || !req->api)
        return false;
    const gw_conf_t *conf = gw_req_conf(req);
    const gw_api_analytics_t *aa = req->api->analytics;
    if (aa && aa->detailed)
        return true;
    const gw_session_t *s = req->session ? req->session->s : NULL;
    if (s && (s->enable_detailed_recording || s->enable_detail_recording))
        return true;
    return conf->analytics_config_enable_detailed_recording;
}

static void time_parts(gw_analytics_t *a, int64_t sec, tk_analytics_record_t *r)
{
    if (sec != a->tsec) {
        time_t t = (time_t)sec;
        struct tm tm;
        localtime_r(&t, &tm);
        a->tsec = sec;
        a->day = tm.tm_mday;
        a->month = tm.tm_mon + 1;
        a->year = tm.tm_year + 1900;
        a->hour = tm.tm_hour;
    }
    r->day = a->day;
    r->month = a->month;
    r->year = a->year;
    r->hour = a->hour;
}

void gw_analytics_record(gw_req_t *req)
{
    gw_analytics_t *a = req->conn->w->analytics;
    const gw_api_t *api = req->api;
    if (!a || !api || req->kind != GW_REQ_PROXY)
        return;
    const gw_api_analytics_t *aa = api->analytics;
    if ((aa && aa->do_not_track) || req->do_not_track) /* do_not_track_endpoints too */
        return;
    const gw_conf_t *conf = gw_req_conf(req);
    tk_str_t ip = gw_req_real_ip(req);
    if (ip_ignored(conf, ip))
        return;

    tk_analytics_record_t r;
    memset(&r, 0, sizeof(r));
    const tk_http_head_t *h = req->head;
    uint64_t now_ns = tk_wall_ns();
    r.timestamp.sec = (int64_t)(now_ns / 1000000000u);
    r.timestamp.nsec = (int64_t)(now_ns % 1000000000u);
    time_parts(a, r.timestamp.sec, &r);
    int64_t expire = aa && aa->expire_after > 0 ? aa->expire_after : HUNDRED_YEARS_S;
    r.expire_at.sec = r.timestamp.sec + expire;
    r.expire_at.nsec = r.timestamp.nsec;

    bool proxied = req->t_up_head != 0;
    r.method = (tk_str_t){h->method, h->method_len};
    const gw_target_t *target = req->target ? req->target : &api->target;
    r.host = sv(target->hostport);
    /* Tyk strips the listen path before proxying, so only proxied records carry the short
     * path; the writer then makes sure it starts with '/'. */
    const char *path = req->path;
    if (proxied && api->strip_listen_path && req->matched <= req->path_len)
        path = req->path + req->matched;
    if (*path != '/')
        path = cat(req->arena, "/", path);
    r.path = r.raw_path = sv(path);
    if (req->track_path) { /* track_endpoints: the endpoint as configured (mw_track_endpoint.c) */
        r.path = sv(req->track_path);
        r.track_path = true;
    }
    r.original_path = sv(req->path);
    r.listen_path = sv(api->listen_path);
    r.content_length = h->content_length >= 0 ? h->content_length : (h->has_body ? -1 : 0);
    r.user_agent = header_value(req, "user-agent");
    r.response_code = req->status;
    if (req->token && *req->token) {
        char hashed[256];
        if (tk_hash_key(req->token, strlen(req->token), conf->hash_keys, hashed, sizeof(hashed)) ==
            TK_OK)
            r.api_key = sv(tk_arena_strdup(req->arena, hashed));
    }
    r.api_version = TK_STR("Non Versioned");
    r.api_name = sv(api->name);
    r.api_id = sv(api->api_id);
    r.org_id = sv(api->org_id);
    r.ip_address = ip;
    if (req->conn->w->srv->geoip)
        gw_geoip_fill(req->conn->w->srv->geoip, tk_arena_strndup(req->arena, ip.p, ip.len),
                      req->arena, &r.geo);
    if (proxied) {
        uint64_t total_ms = (tk_now_ns() - req->t_start) / 1000000u;
        uint64_t up_ms = req->t_up_sent && req->t_up_head >= req->t_up_sent
                             ? (req->t_up_head - req->t_up_sent) / 1000000u
                             : 0;
        r.request_time = (int64_t)total_ms;
        r.latency.total = (int64_t)total_ms;
        r.latency.upstream = (int64_t)up_ms;
        r.latency.gateway = (int64_t)(total_ms > up_ms ? total_ms - up_ms : 0);
    }
    if (gw_analytics_wants_detail(req)) {
        r.raw_request = raw_request(req);
        if (req->an_resp) {
            size_t n = evbuffer_get_length(req->an_resp), bl = 0;
            char *b64 = tk_b64_encode(evbuffer_pullup(req->an_resp, -1), n, false, true, &bl);
            char *copy = tk_arena_strndup(req->arena, b64, bl);
            free(b64);
            if (copy)
                r.raw_response = (tk_str_t){copy, bl};
        }
    }

    tags_t tags = {.arena = req->arena};
    const gw_session_t *s = req->session ? req->session->s : NULL;
    if (s) {
        r.oauth_id = sv(s->oauth_client_id);
        r.alias = sv(s->alias);
        for (size_t i = 0; i < s->apply_policies.n; i++)
            tag_add(&tags, cat(req->arena, "pol-", s->apply_policies.v[i]));
        const char *dev = json_string_value(json_object_get(s->meta_data, "tyk_developer_id"));
        if (dev)
            tag_add(&tags, cat(req->arena, "dev-", dev));
        for (size_t i = 0; i < s->tags.n; i++)
            tag_add(&tags, s->tags.v[i]);
    }
    if (aa) {
        for (size_t k = 0; k < aa->n_tag_headers; k++)
            for (uint32_t i = 0; i < h->nhdrs; i++)
                if (tk_str_ieq(h->hdrs[i].name, h->hdrs[i].name_len, aa->tag_headers[k]))
                    tag_add(&tags, tk_arena_printf(req->arena, "%s-%.*s", aa->tag_headers[k],
                                                   (int)h->hdrs[i].value_len, h->hdrs[i].value));
        for (size_t i = 0; i < aa->n_tags; i++)
            tag_add(&tags, aa->tags[i]);
    }
    if (conf->slave_options_use_rpc)
        tag_add(&tags, "tyk-hybrid-rpc");
    if (conf->db_app_conf_options_node_is_segmented)
        for (size_t i = 0; i < conf->db_app_conf_options_tags.n; i++)
            tag_add(&tags, conf->db_app_conf_options_tags.v[i]);
    if (r.api_key.len)
        tag_add(&tags, cat(req->arena, "key-", r.api_key.p));
    if (r.org_id.len)
        tag_add(&tags, cat(req->arena, "org-", api->org_id));
    tag_add(&tags, cat(req->arena, "api-", api->api_id));
    r.tags = tags.v;
    r.n_tags = tags.n;
    gw_analytics_push_encoded(a, &r);
}
