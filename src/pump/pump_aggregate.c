/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk's per-org, per-bucket analytics aggregation: counters per dimension, Tyk's arithmetic. */
#include "pump_aggregate.h"

#include "tk_base64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const dim_names[PUMP_AGG_NDIMS] = {
    [PUMP_AGG_APIID] = "apiid",
    [PUMP_AGG_ERRORS] = "errors",
    [PUMP_AGG_VERSIONS] = "versions",
    [PUMP_AGG_APIKEYS] = "apikeys",
    [PUMP_AGG_OAUTHIDS] = "oauthids",
    [PUMP_AGG_GEO] = "geo",
    [PUMP_AGG_TAGS] = "tags",
    [PUMP_AGG_ENDPOINTS] = "endpoints",
    [PUMP_AGG_KEYENDPOINTS] = "keyendpoints",
    [PUMP_AGG_OAUTHENDPOINTS] = "oauthendpoints",
    [PUMP_AGG_APIENDPOINTS] = "apiendpoints",
    [PUMP_AGG_URL] = "url",
    [PUMP_AGG_TOTAL] = "",
};

const char *const pump_agg_code_names[PUMP_AGG_NCODES] = {
    "1x",  "200", "201", "2x", "301", "302", "303", "304", "3x",  "400", "401",
    "403", "404", "429", "4x", "500", "501", "502", "503", "504", "5x",
};

const char *pump_agg_dim_name(enum pump_agg_dim d)
{
    return d < PUMP_AGG_NDIMS ? dim_names[d] : "";
}

bool pump_agg_dim_parse(const char *name, enum pump_agg_dim *d)
{
    /* Tyk's DiscardAggregations accepts the Go field name or the dimension name */
    static const struct {
        const char *go, *sql;
        enum pump_agg_dim dim;
    } names[] = {
        {"APIID", "apiid", PUMP_AGG_APIID},
        {"Errors", "errors", PUMP_AGG_ERRORS},
        {"Versions", "versions", PUMP_AGG_VERSIONS},
        {"APIKeys", "apikeys", PUMP_AGG_APIKEYS},
        {"OauthIDs", "oauthids", PUMP_AGG_OAUTHIDS},
        {"Geo", "geo", PUMP_AGG_GEO},
        {"Tags", "tags", PUMP_AGG_TAGS},
        {"Endpoints", "endpoints", PUMP_AGG_ENDPOINTS},
        {"KeyEndpoint", "keyendpoints", PUMP_AGG_KEYENDPOINTS},
        {"OauthEndpoint", "oauthendpoints", PUMP_AGG_OAUTHENDPOINTS},
        {"ApiEndpoint", "apiendpoints", PUMP_AGG_APIENDPOINTS},
    };
    for (size_t i = 0; name && i < TK_ARRAY_LEN(names); i++) {
        if (strcmp(name, names[i].go) == 0 || strcmp(name, names[i].sql) == 0) {
            *d = names[i].dim;
            return true;
        }
    }
    return false;
}

char *pump_agg_dohash(const char *s, size_t n)
{
    return tk_b64_encode(s, n, false, false, NULL);
}

/* ---- counters -------------------------------------------------------------------------------- */

static void counter_free(pump_agg_counter_t *c)
{
    free(c->identifier);
    free(c->human_identifier);
    free(c->errors);
    memset(c, 0, sizeof(*c));
}

static void set_str(char **dst, const char *p, size_t n)
{
    free(*dst);
    *dst = tk_xstrndup(p ? p : "", n);
}

static void errmap_add(pump_agg_counter_t *c, int code, int64_t n)
{
    for (size_t i = 0; i < c->n_errors; i++) {
        if (c->errors[i].code == code) {
            c->errors[i].count += n;
            return;
        }
    }
    if (c->n_errors == c->cap_errors) {
        c->cap_errors = c->cap_errors ? c->cap_errors * 2 : 4;
        c->errors = tk_xrealloc(c->errors, c->cap_errors * sizeof(*c->errors));
    }
    c->errors[c->n_errors++] = (pump_agg_errcount_t){code, n};
}

int64_t pump_agg_error_count(const pump_agg_counter_t *c, int code)
{
    for (size_t i = 0; i < c->n_errors; i++)
        if (c->errors[i].code == code)
            return c->errors[i].count;
    return 0;
}

/* A fresh counter equal to @base (deep copy of the error map; identifiers are set by caller). */
static void counter_copy(pump_agg_counter_t *dst, const pump_agg_counter_t *base)
{
    *dst = *base;
    dst->identifier = NULL;
    dst->human_identifier = NULL;
    dst->errors = NULL;
    dst->n_errors = dst->cap_errors = 0;
    for (size_t i = 0; i < base->n_errors; i++)
        errmap_add(dst, base->errors[i].code, base->errors[i].count);
}

/* Tyk's incrementOrSetUnit for an existing counter: last_time deliberately stays that of the
 * first record, and min latencies only move for records without an error. */
static void counter_increment(pump_agg_counter_t *c, const pump_agg_counter_t *base, bool uptime)
{
    c->hits += base->hits;
    c->success += base->success;
    c->error_total += base->error_total;
    for (size_t i = 0; i < base->n_errors; i++)
        errmap_add(c, base->errors[i].code, base->errors[i].count);
    c->total_request_time += base->total_request_time;
    if (c->hits > 0)
        c->request_time = c->total_request_time / (double)c->hits;
    if (uptime)
        return;
    if (c->max_latency < base->max_latency)
        c->max_latency = base->max_latency;
    if (c->min_latency > base->min_latency && base->error_total == 0)
        c->min_latency = base->min_latency;
    if (c->max_upstream_latency < base->max_upstream_latency)
        c->max_upstream_latency = base->max_upstream_latency;
    if (c->min_upstream_latency > base->min_upstream_latency && base->error_total == 0)
        c->min_upstream_latency = base->min_upstream_latency;
    c->total_latency += base->total_latency;
    c->total_upstream_latency += base->total_upstream_latency;
}

/* Tyk's fnLatencySetter, applied when dimensions are read out. */
static void counter_latency_avg(pump_agg_counter_t *c)
{
    if (c->hits > 0) {
        c->latency = (double)c->total_latency / (double)c->hits;
        c->upstream_latency = (double)c->total_upstream_latency / (double)c->hits;
    }
}

/* ---- aggregates and their entry index -------------------------------------------------------- */

static uint32_t entry_hash(enum pump_agg_dim dim, const char *v, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t)dim;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)v[i];
        h *= 16777619u;
    }
    return h;
}

static void index_rebuild(pump_agg_t *a, size_t cap)
{
    free(a->index);
    a->index_cap = cap;
    a->index = tk_xcalloc(cap, sizeof(uint32_t));
    for (size_t i = 0; i < a->n_entries; i++) {
        const pump_agg_entry_t *e = &a->entries[i];
        size_t slot = entry_hash(e->dim, e->value, strlen(e->value)) & (cap - 1);
        while (a->index[slot])
            slot = (slot + 1) & (cap - 1);
        a->index[slot] = (uint32_t)i + 1;
    }
}

static pump_agg_entry_t *entry_find(pump_agg_t *a, enum pump_agg_dim dim, const char *v, size_t n)
{
    if (!a->index_cap)
        return NULL;
    size_t slot = entry_hash(dim, v, n) & (a->index_cap - 1);
    while (a->index[slot]) {
        pump_agg_entry_t *e = &a->entries[a->index[slot] - 1];
        if (e->dim == dim && strlen(e->value) == n && memcmp(e->value, v, n) == 0)
            return e;
        slot = (slot + 1) & (a->index_cap - 1);
    }
    return NULL;
}

static pump_agg_entry_t *entry_add(pump_agg_t *a, enum pump_agg_dim dim, const char *v, size_t n,
                                   const pump_agg_counter_t *base)
{
    if (a->n_entries == a->cap_entries) {
        a->cap_entries = a->cap_entries ? a->cap_entries * 2 : 16;
        a->entries = tk_xrealloc(a->entries, a->cap_entries * sizeof(*a->entries));
    }
    pump_agg_entry_t *e = &a->entries[a->n_entries++];
    memset(e, 0, sizeof(*e));
    e->dim = dim;
    e->value = tk_xstrndup(v ? v : "", n);
    counter_copy(&e->c, base);
    if ((a->n_entries + 1) * 2 > a->index_cap)
        index_rebuild(a, a->index_cap ? a->index_cap * 2 : 32);
    else {
        size_t slot = entry_hash(dim, e->value, n) & (a->index_cap - 1);
        while (a->index[slot])
            slot = (slot + 1) & (a->index_cap - 1);
        a->index[slot] = (uint32_t)a->n_entries;
    }
    return e;
}

/* incrementOrSetUnit on dimension (@dim, @v): the existing counter grows, or a copy of @base is
 * created. Returns the counter. */
static pump_agg_counter_t *bump(pump_agg_t *a, enum pump_agg_dim dim, const char *v, size_t n,
                                const pump_agg_counter_t *base, bool uptime)
{
    pump_agg_entry_t *e = entry_find(a, dim, v, n);
    if (e) {
        counter_increment(&e->c, base, uptime);
        return &e->c;
    }
    return &entry_add(a, dim, v, n, base)->c;
}

static void agg_free(pump_agg_t *a)
{
    for (size_t i = 0; i < a->n_entries; i++) {
        free(a->entries[i].value);
        counter_free(&a->entries[i].c);
    }
    free(a->entries);
    free(a->index);
    free(a->total.value);
    counter_free(&a->total.c);
    free(a->org_id);
    free(a);
}

void pump_agg_set_init(pump_agg_set_t *s, const pump_agg_opts_t *opts)
{
    memset(s, 0, sizeof(*s));
    if (opts)
        s->opts = *opts;
    if (s->opts.aggregation_minutes <= 0 || s->opts.aggregation_minutes > 60)
        s->opts.aggregation_minutes = 60;
}

void pump_agg_set_free(pump_agg_set_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        agg_free(s->aggs[i]);
    free(s->aggs);
    s->aggs = NULL;
    s->n = s->cap = 0;
}

int64_t pump_agg_bucket(tk_an_time_t t, int minutes)
{
    time_t tt = (time_t)t.sec;
    struct tm tm;
    localtime_r(&tt, &tm);
    /* Step back from the instant itself rather than mktime() the fields: this keeps the record's
     * own UTC offset (no DST guessing) and works for zones with half-hour offsets. */
    int64_t into = tm.tm_sec;
    if (minutes <= 0 || minutes >= 60)
        into += (int64_t)tm.tm_min * 60;
    else
        into += (int64_t)(tm.tm_min % minutes) * 60;
    return (int64_t)t.sec - into;
}

static pump_agg_t *agg_get(pump_agg_set_t *s, const tk_str_t *org, tk_an_time_t ts, int minutes)
{
    int64_t bucket = pump_agg_bucket(ts, minutes);
    for (size_t i = s->n; i-- > 0;) {
        pump_agg_t *a = s->aggs[i];
        if (a->bucket == bucket && strlen(a->org_id) == org->len &&
            memcmp(a->org_id, org->p, org->len) == 0)
            return a;
    }
    pump_agg_t *a = tk_xcalloc(1, sizeof(*a));
    a->org_id = tk_xstrndup(org->p, org->len);
    a->bucket = bucket;
    time_t tt = (time_t)ts.sec;
    struct tm tm;
    localtime_r(&tt, &tm);
    a->year = tm.tm_year + 1900;
    a->month = tm.tm_mon + 1;
    a->day = tm.tm_mday;
    a->hour = tm.tm_hour;
    a->last_time = ts;
    a->total.dim = PUMP_AGG_TOTAL;
    a->total.value = tk_xstrdup("total");
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->aggs = tk_xrealloc(s->aggs, s->cap * sizeof(*s->aggs));
    }
    s->aggs[s->n++] = a;
    return a;
}

static bool str_eq(tk_str_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static bool has_prefix(const char *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(p, prefix, k) == 0;
}

static bool dim_on(const pump_agg_set_t *s, enum pump_agg_dim d)
{
    return !(s->opts.ignore_dims & (1u << d));
}

/* Tyk's TrimTag: surrounding white space trimmed, every '.' removed. */
static char *trim_tag(tk_str_t tag, size_t *outlen)
{
    const char *p = tag.p;
    size_t n = tag.len;
    while (n && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r' ||
                 p[n - 1] == '\v' || p[n - 1] == '\f'))
        n--;
    char *out = tk_xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] != '.')
            out[k++] = p[i];
    out[k] = '\0';
    *outlen = k;
    return out;
}

/* Tyk's replaceUnsupportedChars: '.' becomes the six characters "\u2e". */
static char *endpoint_key(tk_str_t path, size_t *outlen)
{
    size_t dots = 0;
    for (size_t i = 0; i < path.len; i++)
        dots += path.p[i] == '.';
    char *out = tk_xmalloc(path.len + dots * 3 + 1);
    size_t k = 0;
    for (size_t i = 0; i < path.len; i++) {
        if (path.p[i] == '.') {
            memcpy(out + k, "\\u2e", 4);
            k += 4;
        } else {
            out[k++] = path.p[i];
        }
    }
    out[k] = '\0';
    *outlen = k;
    return out;
}

static char *join3(tk_str_t a, const char *sep, tk_str_t b, size_t *outlen)
{
    size_t sl = strlen(sep);
    char *out = tk_xmalloc(a.len + sl + b.len + 1);
    memcpy(out, a.p ? a.p : "", a.len);
    memcpy(out + a.len, sep, sl);
    memcpy(out + a.len + sl, b.p ? b.p : "", b.len);
    out[a.len + sl + b.len] = '\0';
    *outlen = a.len + sl + b.len;
    return out;
}

static char *hex_of(const char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    char *out = tk_xmalloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[(unsigned char)p[i] >> 4];
        out[2 * i + 1] = hx[(unsigned char)p[i] & 15];
    }
    out[n * 2] = '\0';
    return out;
}

static bool is_graph_record(const tk_analytics_record_t *r)
{
    for (size_t i = 0; i < r->n_tags; i++)
        if (str_eq(r->tags[i], "tyk-graph-analytics"))
            return true;
    return false;
}

/* Network-only record (ResponseCode -1): bytes and connections into the total, bytes into the
 * API's counter, nothing else. */
static void add_network_only(pump_agg_set_t *s, pump_agg_t *a, const tk_analytics_record_t *r)
{
    pump_agg_counter_t *t = &a->total.c;
    t->open_connections += r->network.open_connections;
    t->closed_connections += r->network.closed_connections;
    t->bytes_in += r->network.bytes_in;
    t->bytes_out += r->network.bytes_out;
    if (r->api_id.len && dim_on(s, PUMP_AGG_APIID)) {
        pump_agg_entry_t *e = entry_find(a, PUMP_AGG_APIID, r->api_id.p, r->api_id.len);
        if (!e) {
            pump_agg_counter_t zero = {0};
            e = entry_add(a, PUMP_AGG_APIID, r->api_id.p, r->api_id.len, &zero);
            set_str(&e->c.identifier, r->api_id.p, r->api_id.len);
            set_str(&e->c.human_identifier, r->api_name.p, r->api_name.len);
        }
        e->c.bytes_in += r->network.bytes_in;
        e->c.bytes_out += r->network.bytes_out;
    }
}

static void add_total(pump_agg_t *a, const tk_analytics_record_t *r)
{
    pump_agg_counter_t *t = &a->total.c;
    bool ok2xx = r->response_code >= 200 && r->response_code < 300;
    t->hits++;
    t->total_request_time += (double)r->request_time;
    t->request_time = t->total_request_time / (double)t->hits;
    if (r->response_code >= 400) {
        t->error_total++;
        errmap_add(t, r->response_code, 1);
    }
    if (ok2xx)
        t->success++;
    t->total_latency += r->latency.total;
    t->total_upstream_latency += r->latency.upstream;
    if (t->max_latency < r->latency.total)
        t->max_latency = r->latency.total;
    if (t->max_upstream_latency < r->latency.upstream)
        t->max_upstream_latency = r->latency.upstream;
    if (t->hits == 1) {
        t->min_latency = r->latency.total;
        t->min_upstream_latency = r->latency.upstream;
    } else {
        if (t->min_latency > r->latency.total && ok2xx)
            t->min_latency = r->latency.total;
        if (t->min_upstream_latency > r->latency.upstream && ok2xx)
            t->min_upstream_latency = r->latency.upstream;
    }
}

bool pump_agg_add(pump_agg_set_t *s, const tk_analytics_record_t *r)
{
    if (r->org_id.len == 0 || is_graph_record(r))
        return false;
    pump_agg_t *a = agg_get(s, &r->org_id, r->timestamp, s->opts.aggregation_minutes);
    if (a->total.c.hits == 0 && a->n_entries == 0 && a->expire_at.sec == 0)
        a->expire_at = r->expire_at;
    a->last_time = r->timestamp;
    a->total.c.last_time = r->timestamp;
    if (r->response_code == -1) {
        add_network_only(s, a, r);
        return true;
    }

    pump_agg_counter_t base = {0};
    base.hits = 1;
    base.request_time = base.total_request_time = (double)r->request_time;
    base.last_time = r->timestamp;
    base.max_upstream_latency = base.min_upstream_latency = base.total_upstream_latency =
        r->latency.upstream;
    base.max_latency = base.min_latency = base.total_latency = r->latency.total;
    if (r->response_code >= 400) {
        base.error_total = 1;
        errmap_add(&base, r->response_code, 1);
    }
    if (r->response_code >= 200 && r->response_code < 300)
        base.success = 1;
    add_total(a, r);

    bool track = r->track_path || s->opts.track_all_paths;
    pump_agg_counter_t *c;
    size_t n;
    char *k;

    if (r->api_id.len && dim_on(s, PUMP_AGG_APIID)) {
        c = bump(a, PUMP_AGG_APIID, r->api_id.p, r->api_id.len, &base, false);
        set_str(&c->identifier, r->api_id.p, r->api_id.len);
        set_str(&c->human_identifier, r->api_name.p, r->api_name.len);
    }
    if (base.error_total > 0 && dim_on(s, PUMP_AGG_ERRORS)) {
        char code[16];
        int cl = snprintf(code, sizeof(code), "%d", r->response_code);
        c = bump(a, PUMP_AGG_ERRORS, code, (size_t)cl, &base, false);
        set_str(&c->identifier, code, (size_t)cl);
    }
    if (r->api_version.len && dim_on(s, PUMP_AGG_VERSIONS)) {
        char *joined = join3(r->api_id, ":", r->api_version, &n);
        k = pump_agg_dohash(joined, n);
        free(joined);
        c = bump(a, PUMP_AGG_VERSIONS, k, strlen(k), &base, false);
        set_str(&c->identifier, r->api_version.p, r->api_version.len);
        set_str(&c->human_identifier, r->api_version.p, r->api_version.len);
        free(k);
    }
    if (r->api_key.len) {
        if (dim_on(s, PUMP_AGG_APIKEYS)) {
            c = bump(a, PUMP_AGG_APIKEYS, r->api_key.p, r->api_key.len, &base, false);
            set_str(&c->identifier, r->api_key.p, r->api_key.len);
            set_str(&c->human_identifier, r->alias.p, r->alias.len);
        }
        if (track && dim_on(s, PUMP_AGG_KEYENDPOINTS)) {
            char *joined = join3(r->api_id, ":", r->path, &n);
            char *h = pump_agg_dohash(joined, n);
            free(joined);
            k = join3(r->api_key, ".", (tk_str_t){h, strlen(h)}, &n);
            c = bump(a, PUMP_AGG_KEYENDPOINTS, k, n, &base, false);
            set_str(&c->identifier, h, strlen(h));
            set_str(&c->human_identifier, h, strlen(h));
            free(h);
            free(k);
        }
    }
    if (r->oauth_id.len) {
        if (dim_on(s, PUMP_AGG_OAUTHIDS)) {
            c = bump(a, PUMP_AGG_OAUTHIDS, r->oauth_id.p, r->oauth_id.len, &base, false);
            set_str(&c->identifier, r->oauth_id.p, r->oauth_id.len);
        }
        if (track && dim_on(s, PUMP_AGG_OAUTHENDPOINTS)) {
            char *joined = join3(r->api_id, ":", r->path, &n);
            char *h = pump_agg_dohash(joined, n);
            free(joined);
            k = join3(r->oauth_id, ".", (tk_str_t){h, strlen(h)}, &n);
            c = bump(a, PUMP_AGG_OAUTHENDPOINTS, k, n, &base, false);
            set_str(&c->identifier, h, strlen(h));
            set_str(&c->human_identifier, h, strlen(h));
            free(h);
            free(k);
        }
    }
    if (r->geo.country_iso_code.len && dim_on(s, PUMP_AGG_GEO)) {
        tk_str_t iso = r->geo.country_iso_code;
        c = bump(a, PUMP_AGG_GEO, iso.p, iso.len, &base, false);
        set_str(&c->identifier, iso.p, iso.len);
        set_str(&c->human_identifier, iso.p, iso.len);
    }
    for (size_t i = 0; i < r->n_tags && dim_on(s, PUMP_AGG_TAGS); i++) {
        tk_str_t tag = r->tags[i];
        bool ignored = has_prefix(tag.p, tag.len, "key-");
        for (size_t j = 0; !ignored && j < s->opts.n_ignore_tags; j++)
            ignored = has_prefix(tag.p, tag.len, s->opts.ignore_tags[j]);
        char *t = trim_tag(tag, &n);
        if (n && !ignored) {
            c = bump(a, PUMP_AGG_TAGS, t, n, &base, false);
            set_str(&c->identifier, t, n);
            set_str(&c->human_identifier, t, n);
        }
        free(t);
    }
    if (track) {
        if (dim_on(s, PUMP_AGG_ENDPOINTS)) {
            k = endpoint_key(r->path, &n);
            c = bump(a, PUMP_AGG_ENDPOINTS, k, n, &base, false);
            set_str(&c->identifier, r->path.p, r->path.len);
            set_str(&c->human_identifier, r->path.p, r->path.len);
            free(k);
        }
        if (dim_on(s, PUMP_AGG_APIENDPOINTS)) {
            char *j1 = join3(r->api_id, ":", r->api_version, &n);
            char *j2 = join3((tk_str_t){j1, n}, ":", r->path, &n);
            k = hex_of(j2, n);
            c = bump(a, PUMP_AGG_APIENDPOINTS, k, strlen(k), &base, false);
            set_str(&c->identifier, k, strlen(k));
            set_str(&c->human_identifier, r->path.p, r->path.len);
            free(j1);
            free(j2);
            free(k);
        }
    }
    counter_free(&base);
    return true;
}

bool pump_agg_add_uptime(pump_agg_set_t *s, const tk_uptime_record_t *r)
{
    if (r->org_id.len == 0)
        return false;
    pump_agg_t *a = agg_get(s, &r->org_id, r->timestamp, 60);
    if (a->total.c.hits == 0 && a->n_entries == 0 && a->expire_at.sec == 0)
        a->expire_at = r->expire_at;
    a->last_time = r->timestamp;
    if (r->response_code == -1) {
        if (r->url.len && !entry_find(a, PUMP_AGG_URL, r->url.p, r->url.len)) {
            pump_agg_counter_t zero = {0};
            pump_agg_entry_t *e = entry_add(a, PUMP_AGG_URL, r->url.p, r->url.len, &zero);
            set_str(&e->c.identifier, r->url.p, r->url.len);
        }
        return true;
    }
    pump_agg_counter_t base = {0};
    pump_agg_counter_t *t = &a->total.c;
    base.hits = 1;
    base.request_time = base.total_request_time = (double)r->request_time;
    base.last_time = r->timestamp;
    t->hits++;
    t->total_request_time += (double)r->request_time;
    t->request_time = t->total_request_time / (double)t->hits;
    if (r->response_code >= 400) {
        base.error_total = 1;
        errmap_add(&base, r->response_code, 1);
        t->error_total++;
        errmap_add(t, r->response_code, 1);
    }
    if (r->response_code >= 200 && r->response_code < 300) {
        /* Tyk uses the error map as a response-code map for uptime, so 2xx land in it too */
        base.success = 1;
        errmap_add(&base, r->response_code, 1);
        t->success++;
        errmap_add(t, r->response_code, 1);
    }
    pump_agg_counter_t *c;
    if (r->url.len) {
        c = bump(a, PUMP_AGG_URL, r->url.p, r->url.len, &base, true);
        set_str(&c->identifier, r->url.p, r->url.len);
    }
    if (base.error_total > 0) {
        char code[16];
        int cl = snprintf(code, sizeof(code), "%d", r->response_code);
        c = bump(a, PUMP_AGG_ERRORS, code, (size_t)cl, &base, true);
        set_str(&c->identifier, code, (size_t)cl);
    }
    counter_free(&base);
    return true;
}

void pump_agg_foreach(const pump_agg_t *a,
                      void (*fn)(const pump_agg_t *a, const pump_agg_entry_t *e, void *arg),
                      void *arg)
{
    for (int d = 0; d < PUMP_AGG_TOTAL; d++) {
        for (size_t i = 0; i < a->n_entries; i++) {
            if (a->entries[i].dim != (enum pump_agg_dim)d)
                continue;
            counter_latency_avg(&((pump_agg_t *)a)->entries[i].c);
            fn(a, &a->entries[i], arg);
        }
    }
    counter_latency_avg(&((pump_agg_t *)a)->total.c);
    fn(a, &a->total, arg);
}

void pump_agg_codes(const pump_agg_counter_t *c, int64_t out[PUMP_AGG_NCODES])
{
    memset(out, 0, sizeof(int64_t) * PUMP_AGG_NCODES);
    for (size_t i = 0; i < c->n_errors; i++) {
        char code[16];
        snprintf(code, sizeof(code), "%d", c->errors[i].code);
        int exact = -1, klass = -1;
        for (int k = 0; k < PUMP_AGG_NCODES; k++) {
            if (strcmp(pump_agg_code_names[k], code) == 0)
                exact = k;
            if (pump_agg_code_names[k][1] == 'x' && pump_agg_code_names[k][0] == code[0])
                klass = k;
        }
        if (exact >= 0)
            out[exact] = c->errors[i].count;
        else if (klass >= 0)
            out[klass] += c->errors[i].count;
    }
}
