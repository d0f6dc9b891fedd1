/* SPDX-License-Identifier: Apache-2.0 */
/* "influx": records as InfluxDB 1.x points, in Tyk Pump's influx pump's form.
 *
 * One point per record in measurement "analytics". Tags are the names in meta.tags, each value
 * written as Tyk does it (the value's JSON form with the surrounding quotes trimmed); fields are
 * the names in meta.fields (default: Tyk's documented 14: method, path, response_code, api_key,
 * time_stamp, api_version, api_name, api_id, org_id, oauth_id, raw_request, request_time,
 * raw_response, ip_address): integers as integer fields (response_code, request_time), the rest
 * as strings, time_stamp as Go's time.Time.String() text. The whole batch goes in one
 * POST /write?db=<database_name>&precision=ns; the database is created (CREATE DATABASE via
 * /query, a no-op when it exists) before the first write and again if a write finds it gone.
 *
 * Point time: the record's own timestamp (Tyk uses the time of writing). A retried batch thus
 * rewrites the same points (same series, same time) instead of adding new ones. */
#include "tk_curl.h"
#include "pump_sink.h"
#include "sink_fields.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The names Tyk's influx pump maps; any other name in fields/tags is skipped. */
static bool influx_name_ok(const char *name)
{
    for (size_t i = 0; i < sink_default_fields_len; i++)
        if (strcmp(sink_default_fields[i], name) == 0)
            return true;
    return false;
}

typedef struct influx {
    char *base; /* address with a scheme, no trailing '/' */
    char *db;
    char *user, *pass;
    char **fields, **tags; /* sorted, unique, known names only */
    double timeout_s;
    bool db_ready;
    tk_curl_client_t *http;
} influx_t;

static void influx_destroy(void *state)
{
    influx_t *s = state;
    if (!s)
        return;
    free(s->base);
    free(s->db);
    free(s->user);
    free(s->pass);
    sink_strings_free(s->fields);
    sink_strings_free(s->tags);
    tk_curl_free(s->http);
    free(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keeps known names, sorted (InfluxDB's canonical order) and without repeats. */
static char **clean_names(const char *const *in)
{
    size_t n = 0;
    for (const char *const *p = in; p && *p; p++)
        n++;
    char **out = tk_xcalloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (influx_name_ok(in[i]))
            out[k++] = tk_xstrdup(in[i]);
    qsort(out, k, sizeof(char *), cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u > 0 && strcmp(out[u - 1], out[i]) == 0)
            free(out[i]);
        else
            out[u++] = out[i];
    }
    out[u] = NULL;
    return out;
}

static int influx_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    const json_t *m = conf->meta;
    *state = NULL;
    const char *addr = sink_meta_str(m, "address");
    const char *db = sink_meta_str(m, "database_name");
    if (!addr || !db) {
        snprintf(err, errlen, "influx: meta.address and meta.database_name are required");
        return -1;
    }
    influx_t *s = tk_xcalloc(1, sizeof(*s));
    size_t al = strlen(addr) + 8;
    s->base = tk_xmalloc(al + 1);
    snprintf(s->base, al + 1, "%s%s", strstr(addr, "://") ? "" : "http://", addr);
    for (size_t l = strlen(s->base); l > 0 && s->base[l - 1] == '/'; l--)
        s->base[l - 1] = '\0';
    s->db = tk_xstrdup(db);
    const char *u = sink_meta_str(m, "username");
    if (u) {
        s->user = tk_xstrdup(u);
        const char *p = sink_meta_str(m, "password");
        s->pass = tk_xstrdup(p ? p : "");
    }
    char **fields = NULL, **tags = NULL;
    if (sink_meta_strings(m, "fields", &fields, err, errlen) ||
        sink_meta_strings(m, "tags", &tags, err, errlen)) {
        sink_strings_free(fields);
        influx_destroy(s);
        return -1;
    }
    if (!fields) { /* Tyk documents these 14 as the default */
        const char *dflt[32] = {0};
        for (size_t i = 0; i < sink_default_fields_len && i < 31; i++)
            dflt[i] = sink_default_fields[i];
        s->fields = clean_names(dflt);
    } else {
        s->fields = clean_names((const char *const *)fields);
    }
    s->tags = clean_names((const char *const *)tags);
    sink_strings_free(fields);
    sink_strings_free(tags);
    if (!s->fields[0]) {
        snprintf(err, errlen, "influx: meta.fields names no known field (%s, ...)",
                 sink_default_fields[0]);
        influx_destroy(s);
        return -1;
    }
    s->timeout_s = tk_curl_timeout(conf->timeout_s);
    *state = s;
    return 0;
}

/* A growable text buffer for one batch of line protocol. */
typedef struct lbuf {
    char *p;
    size_t len, cap;
} lbuf_t;

static void lb_put(lbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = tk_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void lb_str(lbuf_t *b, const char *s)
{
    lb_put(b, s, strlen(s));
}

static void lb_char(lbuf_t *b, char c)
{
    lb_put(b, &c, 1);
}

/* Tyk's tag value: Go's JSON encoding of the value with the surrounding quotes trimmed (all
 * leading and trailing '"', as strings.Trim does). */
static void tag_text(const tk_analytics_record_t *r, const char *name, lbuf_t *out)
{
    json_t *v = sink_field_value(r, name);
    if (json_is_integer(v)) {
        char n[32];
        snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(v));
        lb_str(out, n);
    } else if (json_is_string(v)) {
        const unsigned char *s = (const unsigned char *)json_string_value(v);
        size_t n = json_string_length(v);
        lbuf_t enc = {0};
        lb_char(&enc, '"');
        for (size_t i = 0; i < n; i++) {
            unsigned char c = s[i];
            char esc[8];
            if (c == '"' || c == '\\') {
                lb_char(&enc, '\\');
                lb_char(&enc, (char)c);
            } else if (c == '\n') {
                lb_str(&enc, "\\n");
            } else if (c == '\r') {
                lb_str(&enc, "\\r");
            } else if (c == '\t') {
                lb_str(&enc, "\\t");
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                snprintf(esc, sizeof(esc), "\\u%04x", c); /* Go's HTML-safe escaping */
                lb_str(&enc, esc);
            } else if (c == 0xE2 && i + 2 < n && s[i + 1] == 0x80 &&
                       (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
                lb_str(&enc, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
                i += 2;
            } else {
                lb_char(&enc, (char)c);
            }
        }
        lb_char(&enc, '"');
        size_t a = 0, z = enc.len;
        while (a < z && enc.p[a] == '"')
            a++;
        while (z > a && enc.p[z - 1] == '"')
            z--;
        lb_put(out, enc.p + a, z - a);
        free(enc.p);
    }
    json_decref(v);
}

/* Line protocol escaping for tag values: ',', '=' and ' ' get a backslash; a line break cannot
 * be written at all, so it becomes a space. */
static void put_tag_escaped(lbuf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n' || c == '\r')
            c = ' ';
        if (c == ',' || c == '=' || c == ' ')
            lb_char(b, '\\');
        lb_char(b, c);
    }
}

/* A string field value: quoted, with '"' and '\' escaped. */
static void put_string_field(lbuf_t *b, const char *s, size_t n)
{
    lb_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            lb_char(b, '\\');
        lb_char(b, s[i]);
    }
    lb_char(b, '"');
}

static void put_field(lbuf_t *b, const tk_analytics_record_t *r, const char *name)
{
    if (strcmp(name, "time_stamp") == 0) {
        char ts[80];
        sink_time_go_string(r->timestamp, ts, sizeof(ts));
        put_string_field(b, ts, strlen(ts));
        return;
    }
    json_t *v = sink_field_value(r, name);
    if (json_is_integer(v)) {
        char n[32];
        snprintf(n, sizeof(n), "%lldi", (long long)json_integer_value(v));
        lb_str(b, n);
    } else {
        put_string_field(b, json_string_value(v) ? json_string_value(v) : "",
                         json_string_length(v));
    }
    json_decref(v);
}

/* Nanoseconds since the epoch of the record, or now when InfluxDB could not store that time
 * (a zero or absurd timestamp: influx accepts 1677..2262). */
static long long point_time(const tk_analytics_record_t *r)
{
    const int64_t lim = 9223372035LL;
    if (r->timestamp.sec <= 0 || r->timestamp.sec > lim)
        return (long long)tk_wall_ns();
    return (long long)(r->timestamp.sec * 1000000000LL + r->timestamp.nsec);
}

static void put_point(lbuf_t *b, const influx_t *s, const tk_analytics_record_t *r)
{
    lb_str(b, "analytics");
    for (char **t = s->tags; *t; t++) {
        lbuf_t v = {0};
        tag_text(r, *t, &v);
        if (v.len) { /* line protocol has no empty tag values; Tyk's client drops them too */
            lb_char(b, ',');
            lb_str(b, *t);
            lb_char(b, '=');
            put_tag_escaped(b, v.p, v.len);
        }
        free(v.p);
    }
    lb_char(b, ' ');
    for (char **f = s->fields; *f; f++) {
        if (f != s->fields)
            lb_char(b, ',');
        lb_str(b, *f);
        lb_char(b, '=');
        put_field(b, r, *f);
    }
    char ts[32];
    snprintf(ts, sizeof(ts), " %lld\n", point_time(r));
    lb_str(b, ts);
}

static int ensure_db(influx_t *s, char *err, size_t errlen)
{
    /* CREATE DATABASE "<name>" with '"' and '\' escaped, sent form-encoded. */
    lbuf_t q = {0};
    lb_str(&q, "CREATE DATABASE \"");
    for (const char *p = s->db; *p; p++) {
        if (*p == '"' || *p == '\\')
            lb_char(&q, '\\');
        lb_char(&q, *p);
    }
    lb_char(&q, '"');
    char *enc = curl_easy_escape(NULL, q.p, (int)q.len);
    free(q.p);
    size_t bl = strlen(enc) + 4;
    char *body = tk_xmalloc(bl);
    snprintf(body, bl, "q=%s", enc);
    curl_free(enc);
    size_t ul = strlen(s->base) + 16;
    char *url = tk_xmalloc(ul);
    snprintf(url, ul, "%s/query", s->base);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    tk_curl_request_t req = {.method = "POST",
                             .url = url,
                             .headers = headers,
                             .body = body,
                             .body_len = strlen(body),
                             .username = s->user,
                             .password = s->pass,
                             .timeout_s = s->timeout_s};
    tk_curl_response_t resp;
    int rc = tk_curl_do(s->http, &req, &resp);
    free(url);
    free(body);
    if (rc) {
        snprintf(err, errlen, "influx: %s", resp.error);
    } else if (resp.status != 200) {
        snprintf(err, errlen, "influx: HTTP %ld creating database %s: %.200s", resp.status, s->db,
                 resp.body);
        rc = -1;
    } else {
        json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
        json_t *e = json_object_get(json_array_get(json_object_get(j, "results"), 0), "error");
        if (json_is_string(e) || json_is_string(json_object_get(j, "error"))) {
            snprintf(err, errlen, "influx: creating database %s: %s", s->db,
                     json_is_string(e) ? json_string_value(e)
                                       : json_string_value(json_object_get(j, "error")));
            rc = -1;
        } else {
            s->db_ready = true;
        }
        json_decref(j);
    }
    tk_curl_response_free(&resp);
    return rc;
}

static int post_points(influx_t *s, const lbuf_t *lines, long *status, char *err, size_t errlen)
{
    char *dbq = curl_easy_escape(NULL, s->db, 0);
    size_t ul = strlen(s->base) + strlen(dbq) + 48;
    char *url = tk_xmalloc(ul);
    snprintf(url, ul, "%s/write?db=%s&precision=ns", s->base, dbq);
    curl_free(dbq);
    const char *headers[] = {"Content-Type: text/plain; charset=utf-8", NULL};
    tk_curl_request_t req = {.method = "POST",
                             .url = url,
                             .headers = headers,
                             .body = lines->p,
                             .body_len = lines->len,
                             .username = s->user,
                             .password = s->pass,
                             .timeout_s = s->timeout_s};
    tk_curl_response_t resp;
    int rc = tk_curl_do(s->http, &req, &resp);
    free(url);
    *status = resp.status;
    if (rc) {
        snprintf(err, errlen, "influx: %s", resp.error);
    } else if (resp.status != 204 && resp.status != 200) {
        snprintf(err, errlen, "influx: HTTP %ld writing to %s: %.200s", resp.status, s->db,
                 resp.body);
        /* 400 is influx's answer to a point it cannot parse or store (bad line, field type
         * conflict, "partial write"): the same lines would be refused again. */
        rc = tk_curl_status_permanent(resp.status) ? -2 : -1;
    }
    tk_curl_response_free(&resp);
    return rc;
}

static int influx_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    influx_t *s = state;
    if (batch->n == 0)
        return 0;
    if (!s->http && !(s->http = tk_curl_new())) {
        snprintf(err, errlen, "influx: cannot create an HTTP client");
        return -1;
    }
    if (!s->db_ready && ensure_db(s, err, errlen))
        return -1;
    lbuf_t lines = {0};
    for (size_t i = 0; i < batch->n; i++)
        put_point(&lines, s, batch->items[i].rec);
    long status = 0;
    int rc = post_points(s, &lines, &status, err, errlen);
    if (rc && status == 404) { /* database dropped behind our back: create it and try again */
        s->db_ready = false;
        if (ensure_db(s, err, errlen) == 0)
            rc = post_points(s, &lines, &status, err, errlen);
        else
            rc = -1; /* the database is the problem, not these points */
    }
    free(lines.p);
    return rc;
}

const pump_sink_ops_t pump_sink_influx = {
    .type = "influx",
    .create = influx_create,
    .write = influx_write,
    .destroy = influx_destroy,
};
