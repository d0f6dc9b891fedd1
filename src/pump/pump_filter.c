/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk Pump's per-pump filters and record shaping, applied in each sink's thread. */
#include "pump_filter.h"

#include "tk_base64.h"

#include <stdlib.h>

static bool has_str(const tk_strlist_t *l, tk_str_t s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == s.len && memcmp(l->v[i], s.p, s.len) == 0)
            return true;
    return false;
}

static bool has_code(const int64_t *v, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == code)
            return true;
    return false;
}

bool pump_filter_match(const pump_filters_t *f, const tk_analytics_record_t *r)
{
    if (f->skip_api_ids.n && has_str(&f->skip_api_ids, r->api_id))
        return false;
    if (f->skip_org_ids.n && has_str(&f->skip_org_ids, r->org_id))
        return false;
    if (f->n_skip_response_codes &&
        has_code(f->skip_response_codes, f->n_skip_response_codes, r->response_code))
        return false;
    if (f->api_ids.n && !has_str(&f->api_ids, r->api_id))
        return false;
    if (f->org_ids.n && !has_str(&f->org_ids, r->org_id))
        return false;
    if (f->n_response_codes && !has_code(f->response_codes, f->n_response_codes, r->response_code))
        return false;
    return true;
}

void pump_shape_init(pump_shape_t *sh, const pump_conf_t *g, const pump_sink_cfg_t *s)
{
    sh->omit_detailed = s->omit_detailed_recording || g->omit_detailed_recording;
    sh->max_size = s->max_record_size ? s->max_record_size : g->max_record_size;
    sh->request_decoded = s->raw_request_decoded || g->raw_request_decoded;
    sh->response_decoded = s->raw_response_decoded || g->raw_response_decoded;
    sh->ignore_fields = &s->ignore_fields;
}

void pump_scratch_free(pump_scratch_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static void scratch_keep(pump_scratch_t *s, void *p)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = tk_xrealloc(s->v, s->cap * sizeof(void *));
    }
    s->v[s->n++] = p;
}

/* Base64 text replaced by the bytes it encodes; left alone when it is not valid base64. */
static void decode_field(tk_str_t *f, pump_scratch_t *scratch)
{
    if (!f->len)
        return;
    size_t n = 0;
    unsigned char *d = tk_b64_decode(f->p, f->len, false, true, &n);
    if (!d)
        return;
    scratch_keep(scratch, d);
    *f = (tk_str_t){(const char *)d, n};
}

static const tk_str_t empty = {"", 0};

/* Zeroes the field whose JSON name is @name (as Tyk's RemoveIgnoredFields does). */
static bool zero_field(tk_analytics_record_t *r, const char *name)
{
#define STR(jn, f)                                                                                 \
    if (strcmp(name, jn) == 0) {                                                                   \
        r->f = empty;                                                                              \
        return true;                                                                               \
    }
#define NUM(jn, f)                                                                                 \
    if (strcmp(name, jn) == 0) {                                                                   \
        r->f = 0;                                                                                  \
        return true;                                                                               \
    }
    STR("method", method)
    STR("host", host)
    STR("path", path)
    STR("raw_path", raw_path)
    NUM("content_length", content_length)
    STR("user_agent", user_agent)
    NUM("day", day)
    NUM("month", month)
    NUM("year", year)
    NUM("hour", hour)
    NUM("response_code", response_code)
    STR("api_key", api_key)
    STR("api_version", api_version)
    STR("api_name", api_name)
    STR("api_id", api_id)
    STR("org_id", org_id)
    STR("oauth_id", oauth_id)
    NUM("request_time", request_time)
    STR("raw_request", raw_request)
    STR("raw_response", raw_response)
    STR("ip_address", ip_address)
    STR("alias", alias)
    NUM("track_path", track_path)
    STR("api_schema", api_schema)
#undef STR
#undef NUM
    if (strcmp(name, "timestamp") == 0) {
        r->timestamp = (tk_an_time_t){0, 0};
        return true;
    }
    if (strcmp(name, "expireAt") == 0) {
        r->expire_at = (tk_an_time_t){0, 0};
        return true;
    }
    if (strcmp(name, "geo") == 0) {
        memset(&r->geo, 0, sizeof(r->geo));
        return true;
    }
    if (strcmp(name, "network") == 0) {
        memset(&r->network, 0, sizeof(r->network));
        return true;
    }
    if (strcmp(name, "latency") == 0) {
        memset(&r->latency, 0, sizeof(r->latency));
        return true;
    }
    if (strcmp(name, "tags") == 0) {
        r->tags = NULL;
        r->n_tags = 0;
        return true;
    }
    return false;
}

bool pump_filter_known_field(const char *name)
{
    tk_analytics_record_t r;
    memset(&r, 0, sizeof(r));
    return zero_field(&r, name);
}

void pump_shape_apply(const pump_shape_t *sh, tk_analytics_record_t *r, pump_scratch_t *scratch)
{
    if (sh->omit_detailed) {
        r->raw_request = empty;
        r->raw_response = empty;
    }
    if (sh->request_decoded)
        decode_field(&r->raw_request, scratch);
    if (sh->response_decoded)
        decode_field(&r->raw_response, scratch);
    if (sh->max_size > 0) {
        if (r->raw_request.len > (uint64_t)sh->max_size)
            r->raw_request.len = (size_t)sh->max_size;
        if (r->raw_response.len > (uint64_t)sh->max_size)
            r->raw_response.len = (size_t)sh->max_size;
    }
    for (size_t i = 0; sh->ignore_fields && i < sh->ignore_fields->n; i++)
        zero_field(r, sh->ignore_fields->v[i]);
}
