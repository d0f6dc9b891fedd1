/* SPDX-License-Identifier: Apache-2.0 */
/* Go-compatible JSON values of analytics record fields, and meta readers, for the HTTP sinks. */
#include "sink_fields.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *const sink_default_fields[] = {
    "method",      "path",         "response_code", "api_key",    "time_stamp",
    "api_version", "api_name",     "api_id",        "org_id",     "oauth_id",
    "raw_request", "request_time", "raw_response",  "ip_address",
};
const size_t sink_default_fields_len = TK_ARRAY_LEN(sink_default_fields);

/* Length of the valid UTF-8 sequence at @p (at most @n bytes), or 0 when it is not valid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0xFFu >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

json_t *sink_json_strn(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        size_t l = utf8_seq(s + i, n - i);
        if (!l)
            break;
        i += l;
    }
    if (i == n)
        return json_stringn(n ? p : "", n);
    /* Rare: rebuild with each bad byte replaced by U+FFFD (EF BF BD), as Go does. */
    char *out = tk_xmalloc(n * 3 + 1);
    size_t o = 0;
    for (i = 0; i < n;) {
        size_t l = utf8_seq(s + i, n - i);
        if (l) {
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

json_t *sink_json_str(tk_str_t s)
{
    return sink_json_strn(s.p, s.len);
}

static void local_tm(tk_an_time_t t, struct tm *tm)
{
    time_t sec = (time_t)t.sec;
    localtime_r(&sec, tm);
}

/* ".123456789" with trailing zeros cut, or "" for a whole second (Go's .999999999 layout). */
static void frac9(int64_t nsec, char *out, size_t n)
{
    if (nsec <= 0 || nsec >= 1000000000) {
        out[0] = '\0';
        return;
    }
    char digits[16];
    snprintf(digits, sizeof(digits), "%09lld", (long long)nsec);
    size_t len = 9;
    while (len > 0 && digits[len - 1] == '0')
        len--;
    if (n < len + 2) {
        out[0] = '\0';
        return;
    }
    out[0] = '.';
    memcpy(out + 1, digits, len);
    out[len + 1] = '\0';
}

void sink_time_rfc3339nano(tk_an_time_t t, char *out, size_t n)
{
    struct tm tm;
    local_tm(t, &tm);
    char frac[16], zone[48];
    frac9(t.nsec, frac, sizeof(frac));
    long off = tm.tm_gmtoff;
    int oh = (int)(labs(off) / 3600 % 100), om = (int)(labs(off) % 3600 / 60);
    if (off == 0)
        snprintf(zone, sizeof(zone), "Z");
    else
        snprintf(zone, sizeof(zone), "%c%02d:%02d", off < 0 ? '-' : '+', oh, om);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, zone);
}

void sink_time_go_string(tk_an_time_t t, char *out, size_t n)
{
    struct tm tm;
    local_tm(t, &tm);
    char frac[16];
    frac9(t.nsec, frac, sizeof(frac));
    long off = tm.tm_gmtoff;
    const char *abbr = tm.tm_zone && *tm.tm_zone ? tm.tm_zone : "";
    int oh = (int)(labs(off) / 3600 % 100), om = (int)(labs(off) % 3600 / 60);
    snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d%s %c%02d%02d %s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, off < 0 ? '-' : '+',
             oh, om, abbr);
}

json_t *sink_tags_json(const tk_analytics_record_t *r)
{
    if (r->n_tags == 0)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_tags; i++)
        json_array_append_new(a, sink_json_str(r->tags[i]));
    return a;
}

static json_t *geo_json(const tk_an_geo_t *g)
{
    json_t *names = json_null();
    if (g->n_city_names) {
        names = json_object();
        for (size_t i = 0; i < g->n_city_names; i++) {
            char *k = tk_xstrndup(g->city_names[i].key.p ? g->city_names[i].key.p : "",
                                  g->city_names[i].key.len);
            json_object_set_new(names, k, sink_json_str(g->city_names[i].value));
            free(k);
        }
    }
    return json_pack("{s:{s:o},s:{s:I,s:o},s:{s:f,s:f,s:o}}", "country", "iso_code",
                     sink_json_str(g->country_iso_code), "city", "geoname_id",
                     (json_int_t)g->city_geoname_id, "names", names, "location", "latitude",
                     g->latitude, "longitude", g->longitude, "time_zone",
                     sink_json_str(g->time_zone));
}

enum field_id {
    F_METHOD,
    F_HOST,
    F_PATH,
    F_RAW_PATH,
    F_CONTENT_LENGTH,
    F_USER_AGENT,
    F_RESPONSE_CODE,
    F_API_KEY,
    F_TIME_STAMP,
    F_API_VERSION,
    F_API_NAME,
    F_API_ID,
    F_ORG_ID,
    F_OAUTH_ID,
    F_RAW_REQUEST,
    F_REQUEST_TIME,
    F_RAW_RESPONSE,
    F_IP_ADDRESS,
    F_GEO,
    F_NETWORK,
    F_LATENCY,
    F_TAGS,
    F_ALIAS,
    F_TRACK_PATH,
};

static const char *const field_names[] = {
    "method",        "host",     "path",        "raw_path",     "content_length", "user_agent",
    "response_code", "api_key",  "time_stamp",  "api_version",  "api_name",       "api_id",
    "org_id",        "oauth_id", "raw_request", "request_time", "raw_response",   "ip_address",
    "geo",           "network",  "latency",     "tags",         "alias",          "track_path",
};

static int field_lookup(const char *name)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(field_names); i++)
        if (strcmp(field_names[i], name) == 0)
            return (int)i;
    return -1;
}

bool sink_field_known(const char *name)
{
    return field_lookup(name) >= 0;
}

json_t *sink_field_value(const tk_analytics_record_t *r, const char *name)
{
    char ts[64];
    switch (field_lookup(name)) {
    case F_METHOD:
        return sink_json_str(r->method);
    case F_HOST:
        return sink_json_str(r->host);
    case F_PATH:
        return sink_json_str(r->path);
    case F_RAW_PATH:
        return sink_json_str(r->raw_path);
    case F_CONTENT_LENGTH:
        return json_integer(r->content_length);
    case F_USER_AGENT:
        return sink_json_str(r->user_agent);
    case F_RESPONSE_CODE:
        return json_integer(r->response_code);
    case F_API_KEY:
        return sink_json_str(r->api_key);
    case F_TIME_STAMP:
        sink_time_rfc3339nano(r->timestamp, ts, sizeof(ts));
        return json_string(ts);
    case F_API_VERSION:
        return sink_json_str(r->api_version);
    case F_API_NAME:
        return sink_json_str(r->api_name);
    case F_API_ID:
        return sink_json_str(r->api_id);
    case F_ORG_ID:
        return sink_json_str(r->org_id);
    case F_OAUTH_ID:
        return sink_json_str(r->oauth_id);
    case F_RAW_REQUEST:
        return sink_json_str(r->raw_request);
    case F_REQUEST_TIME:
        return json_integer(r->request_time);
    case F_RAW_RESPONSE:
        return sink_json_str(r->raw_response);
    case F_IP_ADDRESS:
        return sink_json_str(r->ip_address);
    case F_GEO:
        return geo_json(&r->geo);
    case F_NETWORK:
        return json_pack(
            "{s:I,s:I,s:I,s:I}", "open_connections", (json_int_t)r->network.open_connections,
            "closed_connections", (json_int_t)r->network.closed_connections, "bytes_in",
            (json_int_t)r->network.bytes_in, "bytes_out", (json_int_t)r->network.bytes_out);
    case F_LATENCY:
        return json_pack("{s:I,s:I,s:I}", "total", (json_int_t)r->latency.total, "upstream",
                         (json_int_t)r->latency.upstream, "gateway",
                         (json_int_t)r->latency.gateway);
    case F_TAGS:
        return sink_tags_json(r);
    case F_ALIAS:
        return sink_json_str(r->alias);
    case F_TRACK_PATH:
        return json_boolean(r->track_path);
    default:
        return NULL;
    }
}

int sink_meta_strings(const json_t *meta, const char *key, char ***out, char *err, size_t errlen)
{
    *out = NULL;
    json_t *v = json_object_get(meta, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        /* Env overrides arrive as one string: Tyk splits lists on commas. */
        const char *s = json_string_value(v);
        if (!*s)
            return 0;
        size_t n = 1;
        for (const char *p = s; *p; p++)
            n += *p == ',';
        char **list = tk_xcalloc(n + 1, sizeof(char *));
        size_t k = 0;
        for (const char *p = s;;) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            while (len && *p == ' ') {
                p++;
                len--;
            }
            while (len && p[len - 1] == ' ')
                len--;
            if (len)
                list[k++] = tk_xstrndup(p, len);
            if (!c)
                break;
            p = c + 1;
        }
        *out = list;
        return 0;
    }
    if (!json_is_array(v)) {
        snprintf(err, errlen, "meta.%s must be a list of strings", key);
        return -1;
    }
    size_t n = json_array_size(v);
    if (n == 0)
        return 0;
    char **list = tk_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e)) {
            snprintf(err, errlen, "meta.%s[%zu] must be a string", key, i);
            sink_strings_free(list);
            return -1;
        }
        list[i] = tk_xstrdup(json_string_value(e));
    }
    *out = list;
    return 0;
}

void sink_strings_free(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

const char *sink_meta_str(const json_t *meta, const char *key)
{
    const char *s = json_string_value(json_object_get(meta, key));
    return s && *s ? s : NULL;
}

bool sink_meta_bool(const json_t *meta, const char *key)
{
    json_t *v = json_object_get(meta, key);
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_string(v))
        return strcasecmp(json_string_value(v), "true") == 0 ||
               strcmp(json_string_value(v), "1") == 0;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    return false;
}

int sink_meta_int(const json_t *meta, const char *key, long long dflt, long long *out, char *err,
                  size_t errlen)
{
    json_t *v = json_object_get(meta, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v)) {
        *out = (long long)json_real_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (*s && end && *end == '\0' && errno == 0) {
            *out = x;
            return 0;
        }
    }
    snprintf(err, errlen, "meta.%s must be an integer", key);
    return -1;
}
