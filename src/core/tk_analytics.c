/* SPDX-License-Identifier: Apache-2.0 */
/* Analytics and uptime records in Tyk's msgpack form (what vmihailenco/msgpack v2 writes for the
 * Go structs) and in Tyk's JSON form.
 *
 * The encoder runs once per proxied request, so it sizes the output once, reserves it, and then
 * writes without further checks; a final assertion proves the size bound held. The decoder is
 * table-driven, zero-copy and defensive: every read is bounds-checked, unknown keys are skipped
 * with a depth limit, and arrays are only allocated after their element count has been checked
 * against the bytes that remain. */
#include "tk_analytics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- tk_buf ---------------------------------------------------------------------------------- */

void tk_buf_reserve(tk_buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    TK_ASSERT(extra <= SIZE_MAX / 2 - b->len);
    size_t want = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    b->data = tk_xrealloc(b->data, cap);
    b->cap = cap;
}

void tk_buf_append(tk_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    tk_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void tk_buf_free(tk_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- msgpack writing (into space already reserved) --------------------------------------------
 * Integer forms follow msgpack v2's EncodeInt64/EncodeUint64: non-negative values take the
 * smallest of positive fixint, uint8, uint16, uint32, uint64; negative values the smallest of
 * negative fixint, int8 ... int64. */

static inline uint8_t *put_be(uint8_t *w, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *w++ = (uint8_t)(v >> (8 * i));
    return w;
}

static inline uint8_t *put_uint(uint8_t *w, uint64_t v)
{
    if (v <= 0x7f) {
        *w++ = (uint8_t)v;
    } else if (v <= 0xff) {
        *w++ = 0xcc;
        *w++ = (uint8_t)v;
    } else if (v <= 0xffff) {
        *w++ = 0xcd;
        w = put_be(w, v, 2);
    } else if (v <= 0xffffffffu) {
        *w++ = 0xce;
        w = put_be(w, v, 4);
    } else {
        *w++ = 0xcf;
        w = put_be(w, v, 8);
    }
    return w;
}

static inline uint8_t *put_int(uint8_t *w, int64_t v)
{
    if (v >= 0)
        return put_uint(w, (uint64_t)v);
    if (v >= -32) {
        *w++ = (uint8_t)v;
    } else if (v >= INT8_MIN) {
        *w++ = 0xd0;
        *w++ = (uint8_t)v;
    } else if (v >= INT16_MIN) {
        *w++ = 0xd1;
        w = put_be(w, (uint64_t)v, 2);
    } else if (v >= INT32_MIN) {
        *w++ = 0xd2;
        w = put_be(w, (uint64_t)v, 4);
    } else {
        *w++ = 0xd3;
        w = put_be(w, (uint64_t)v, 8);
    }
    return w;
}

static inline uint8_t *put_str_hdr(uint8_t *w, size_t n)
{
    TK_ASSERT(n <= UINT32_MAX);
    if (n < 32) {
        *w++ = (uint8_t)(0xa0 | n);
    } else if (n <= 0xff) {
        *w++ = 0xd9;
        *w++ = (uint8_t)n;
    } else if (n <= 0xffff) {
        *w++ = 0xda;
        w = put_be(w, n, 2);
    } else {
        *w++ = 0xdb;
        w = put_be(w, n, 4);
    }
    return w;
}

static inline uint8_t *put_str(uint8_t *w, tk_str_t s)
{
    w = put_str_hdr(w, s.len);
    if (s.len > 0)
        memcpy(w, s.p, s.len);
    return w + s.len;
}

/* A key: a string literal shorter than 32 bytes (a fixstr), so the header and the copy are
 * compile-time constants and compile to a few stores. */
#define PUT_KEY(w, lit)                                                                            \
    do {                                                                                           \
        _Static_assert(sizeof(lit) - 1 < 32, "keys are fixstr");                                   \
        *(w)++ = (uint8_t)(0xa0 | (sizeof(lit) - 1));                                              \
        memcpy((w), (lit), sizeof(lit) - 1);                                                       \
        (w) += sizeof(lit) - 1;                                                                    \
    } while (0)

static inline uint8_t *put_count(uint8_t *w, size_t n, uint8_t fix, uint8_t c16)
{
    TK_ASSERT(n <= UINT32_MAX);
    if (n < 16) {
        *w++ = (uint8_t)(fix | n);
    } else if (n <= 0xffff) {
        *w++ = c16;
        w = put_be(w, n, 2);
    } else {
        *w++ = (uint8_t)(c16 + 1);
        w = put_be(w, n, 4);
    }
    return w;
}

static inline uint8_t *put_map(uint8_t *w, size_t n)
{
    return put_count(w, n, 0x80, 0xde);
}

static inline uint8_t *put_array(uint8_t *w, size_t n)
{
    return put_count(w, n, 0x90, 0xdc);
}

static inline uint8_t *put_bool(uint8_t *w, bool v)
{
    *w++ = v ? 0xc3 : 0xc2;
    return w;
}

static inline uint8_t *put_f64(uint8_t *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    *w++ = 0xcb;
    return put_be(w, bits, 8);
}

/* time.Time in msgpack v2: fixarray(2) [Unix() seconds, Nanosecond()]. */
static inline uint8_t *put_time(uint8_t *w, tk_an_time_t t)
{
    *w++ = 0x92;
    w = put_int(w, t.sec);
    return put_int(w, t.nsec);
}

/* Room a string takes at most: the longest header (5 bytes) plus its bytes. */
#define STR_ROOM(s) ((s).len + 5)

/* Every key, every map header and every fixed-width value of a record fits in this many bytes
 * (about 860 are used with all integers at their widest); strings are counted separately. */
#define RECORD_FIXED_ROOM 1536

/* Tyk's zero GraphQLStats {IsGraphQL false, Types nil map, RootFields nil slice, HasErrors false,
 * Errors nil slice, OperationType 0, Variables ""}. */
static uint8_t *put_zero_graphql_stats(uint8_t *w)
{
    w = put_map(w, 7);
    PUT_KEY(w, "IsGraphQL");
    w = put_bool(w, false);
    PUT_KEY(w, "Types");
    *w++ = 0xc0;
    PUT_KEY(w, "RootFields");
    *w++ = 0xc0;
    PUT_KEY(w, "HasErrors");
    w = put_bool(w, false);
    PUT_KEY(w, "Errors");
    *w++ = 0xc0;
    PUT_KEY(w, "OperationType");
    *w++ = 0x00;
    PUT_KEY(w, "Variables");
    *w++ = 0xa0;
    return w;
}

/* Tyk's zero MCPStats {IsMCP false, JSONRPCMethod "", PrimitiveType "", PrimitiveName ""}. */
static uint8_t *put_zero_mcp_stats(uint8_t *w)
{
    w = put_map(w, 4);
    PUT_KEY(w, "IsMCP");
    w = put_bool(w, false);
    PUT_KEY(w, "JSONRPCMethod");
    *w++ = 0xa0;
    PUT_KEY(w, "PrimitiveType");
    *w++ = 0xa0;
    PUT_KEY(w, "PrimitiveName");
    *w++ = 0xa0;
    return w;
}

static size_t record_room(const tk_analytics_record_t *r)
{
    const tk_str_t *strs[] = {
        &r->method,          &r->host,          &r->path,
        &r->raw_path,        &r->user_agent,    &r->api_key,
        &r->api_version,     &r->api_name,      &r->api_id,
        &r->org_id,          &r->oauth_id,      &r->raw_request,
        &r->raw_response,    &r->ip_address,    &r->geo.country_iso_code,
        &r->geo.time_zone,   &r->alias,         &r->api_schema,
        &r->collection_name, &r->original_path, &r->listen_path,
    };
    size_t room = RECORD_FIXED_ROOM + r->graphql_stats_raw.len + r->mcp_stats_raw.len;
    for (size_t i = 0; i < TK_ARRAY_LEN(strs); i++)
        room += STR_ROOM(*strs[i]);
    for (size_t i = 0; i < r->n_tags; i++)
        room += STR_ROOM(r->tags[i]);
    for (size_t i = 0; i < r->geo.n_city_names; i++)
        room += STR_ROOM(r->geo.city_names[i].key) + STR_ROOM(r->geo.city_names[i].value);
    return room;
}

/* Key order is the Go struct's field order, which is what msgpack v2 writes. */
void tk_analytics_encode(const tk_analytics_record_t *r, tk_buf_t *out)
{
    size_t room = record_room(r);
    tk_buf_reserve(out, room);
    uint8_t *start = (uint8_t *)out->data + out->len, *w = start;

    w = put_map(w, 35);
    PUT_KEY(w, "Method");
    w = put_str(w, r->method);
    PUT_KEY(w, "Host");
    w = put_str(w, r->host);
    PUT_KEY(w, "Path");
    w = put_str(w, r->path);
    PUT_KEY(w, "RawPath");
    w = put_str(w, r->raw_path);
    PUT_KEY(w, "ContentLength");
    w = put_int(w, r->content_length);
    PUT_KEY(w, "UserAgent");
    w = put_str(w, r->user_agent);
    PUT_KEY(w, "Day");
    w = put_int(w, r->day);
    PUT_KEY(w, "Month");
    w = put_int(w, r->month);
    PUT_KEY(w, "Year");
    w = put_int(w, r->year);
    PUT_KEY(w, "Hour");
    w = put_int(w, r->hour);
    PUT_KEY(w, "ResponseCode");
    w = put_int(w, r->response_code);
    PUT_KEY(w, "APIKey");
    w = put_str(w, r->api_key);
    PUT_KEY(w, "TimeStamp");
    w = put_time(w, r->timestamp);
    PUT_KEY(w, "APIVersion");
    w = put_str(w, r->api_version);
    PUT_KEY(w, "APIName");
    w = put_str(w, r->api_name);
    PUT_KEY(w, "APIID");
    w = put_str(w, r->api_id);
    PUT_KEY(w, "OrgID");
    w = put_str(w, r->org_id);
    PUT_KEY(w, "OauthID");
    w = put_str(w, r->oauth_id);
    PUT_KEY(w, "RequestTime");
    w = put_int(w, r->request_time);
    PUT_KEY(w, "RawRequest");
    w = put_str(w, r->raw_request);
    PUT_KEY(w, "RawResponse");
    w = put_str(w, r->raw_response);
    PUT_KEY(w, "IPAddress");
    w = put_str(w, r->ip_address);

    PUT_KEY(w, "Geo");
    w = put_map(w, 3);
    PUT_KEY(w, "Country");
    w = put_map(w, 1);
    PUT_KEY(w, "ISOCode");
    w = put_str(w, r->geo.country_iso_code);
    PUT_KEY(w, "City");
    w = put_map(w, 2);
    PUT_KEY(w, "GeoNameID");
    w = put_uint(w, r->geo.city_geoname_id);
    PUT_KEY(w, "Names");
    if (r->geo.n_city_names == 0) {
        *w++ = 0xc0; /* a nil Go map */
    } else {
        w = put_map(w, r->geo.n_city_names);
        for (size_t i = 0; i < r->geo.n_city_names; i++) {
            w = put_str(w, r->geo.city_names[i].key);
            w = put_str(w, r->geo.city_names[i].value);
        }
    }
    PUT_KEY(w, "Location");
    w = put_map(w, 3);
    PUT_KEY(w, "Latitude");
    w = put_f64(w, r->geo.latitude);
    PUT_KEY(w, "Longitude");
    w = put_f64(w, r->geo.longitude);
    PUT_KEY(w, "TimeZone");
    w = put_str(w, r->geo.time_zone);

    PUT_KEY(w, "Network");
    w = put_map(w, 4);
    PUT_KEY(w, "OpenConnections");
    w = put_int(w, r->network.open_connections);
    PUT_KEY(w, "ClosedConnection");
    w = put_int(w, r->network.closed_connections);
    PUT_KEY(w, "BytesIn");
    w = put_int(w, r->network.bytes_in);
    PUT_KEY(w, "BytesOut");
    w = put_int(w, r->network.bytes_out);

    PUT_KEY(w, "Latency");
    w = put_map(w, 3);
    PUT_KEY(w, "Total");
    w = put_int(w, r->latency.total);
    PUT_KEY(w, "Upstream");
    w = put_int(w, r->latency.upstream);
    PUT_KEY(w, "Gateway");
    w = put_int(w, r->latency.gateway);

    PUT_KEY(w, "Tags"); /* always an array, never nil */
    w = put_array(w, r->n_tags);
    for (size_t i = 0; i < r->n_tags; i++)
        w = put_str(w, r->tags[i]);
    PUT_KEY(w, "Alias");
    w = put_str(w, r->alias);
    PUT_KEY(w, "TrackPath");
    w = put_bool(w, r->track_path);
    PUT_KEY(w, "ExpireAt");
    w = put_time(w, r->expire_at);
    PUT_KEY(w, "ApiSchema");
    w = put_str(w, r->api_schema);
    PUT_KEY(w, "GraphQLStats");
    if (r->graphql_stats_raw.len > 0) {
        memcpy(w, r->graphql_stats_raw.p, r->graphql_stats_raw.len);
        w += r->graphql_stats_raw.len;
    } else {
        w = put_zero_graphql_stats(w);
    }
    PUT_KEY(w, "CollectionName");
    w = put_str(w, r->collection_name);
    PUT_KEY(w, "OriginalPath");
    w = put_str(w, r->original_path);
    PUT_KEY(w, "ListenPath");
    w = put_str(w, r->listen_path);
    PUT_KEY(w, "MCPStats");
    if (r->mcp_stats_raw.len > 0) {
        memcpy(w, r->mcp_stats_raw.p, r->mcp_stats_raw.len);
        w += r->mcp_stats_raw.len;
    } else {
        w = put_zero_mcp_stats(w);
    }

    TK_ASSERT((size_t)(w - start) <= room);
    out->len += (size_t)(w - start);
}

void tk_uptime_encode(const tk_uptime_record_t *r, tk_buf_t *out)
{
    size_t room = 512 + STR_ROOM(r->url) + STR_ROOM(r->api_id) + STR_ROOM(r->org_id);
    tk_buf_reserve(out, room);
    uint8_t *start = (uint8_t *)out->data + out->len, *w = start;

    w = put_map(w, 14);
    PUT_KEY(w, "URL");
    w = put_str(w, r->url);
    PUT_KEY(w, "RequestTime");
    w = put_int(w, r->request_time);
    PUT_KEY(w, "ResponseCode");
    w = put_int(w, r->response_code);
    PUT_KEY(w, "TCPError");
    w = put_bool(w, r->tcp_error);
    PUT_KEY(w, "ServerError");
    w = put_bool(w, r->server_error);
    PUT_KEY(w, "Day");
    w = put_int(w, r->day);
    PUT_KEY(w, "Month");
    w = put_int(w, r->month);
    PUT_KEY(w, "Year");
    w = put_int(w, r->year);
    PUT_KEY(w, "Hour");
    w = put_int(w, r->hour);
    PUT_KEY(w, "Minute");
    w = put_int(w, r->minute);
    PUT_KEY(w, "TimeStamp");
    w = put_time(w, r->timestamp);
    PUT_KEY(w, "ExpireAt");
    w = put_time(w, r->expire_at);
    PUT_KEY(w, "APIID");
    w = put_str(w, r->api_id);
    PUT_KEY(w, "OrgID");
    w = put_str(w, r->org_id);

    TK_ASSERT((size_t)(w - start) <= room);
    out->len += (size_t)(w - start);
}

/* ---- msgpack reading ------------------------------------------------------------------------- */

#define MAX_DEPTH 32

typedef struct rd {
    const uint8_t *p, *end;
    char *err;
    size_t errlen;
    const char *field; /* the key being decoded, for error messages */
    bool failed;
} rd_t;

__attribute__((format(printf, 2, 3))) static int fail(rd_t *r, const char *fmt, ...)
{
    if (!r->failed && r->err != NULL && r->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    r->failed = true;
    return -1;
}

static const char *fname(const rd_t *r)
{
    return r->field ? r->field : "record";
}

static int truncated(rd_t *r)
{
    return fail(r, "truncated input%s%s", r->field ? " in " : "", r->field ? r->field : "");
}

static int wrong_type(rd_t *r, const char *want, uint8_t got)
{
    return fail(r, "%s: expected %s, found msgpack type 0x%02x", fname(r), want, got);
}

static inline bool have(const rd_t *r, size_t n)
{
    return (size_t)(r->end - r->p) >= n;
}

static inline uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads a big-endian unsigned length or value of @bytes bytes. */
static int take_be(rd_t *r, int bytes, uint64_t *v)
{
    *v = 0; /* defined on every path (and for -O3's flow analysis) */
    if (!have(r, (size_t)bytes))
        return truncated(r);
    *v = get_be(r->p, bytes);
    r->p += bytes;
    return 0;
}

/* Any integer form, checked to fit in int64_t. nil reads as 0, as Go leaves the zero value. */
static int read_i64(rd_t *r, int64_t *out)
{
    if (!have(r, 1))
        return truncated(r);
    uint8_t c = *r->p++;
    uint64_t u;
    if (c <= 0x7f || c >= 0xe0) {
        *out = (int8_t)c;
        return 0;
    }
    switch (c) {
    case 0xc0:
        *out = 0;
        return 0;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        if (take_be(r, 1 << (c - 0xcc), &u) < 0)
            return -1;
        if (u > INT64_MAX)
            return fail(r, "%s: integer out of range", fname(r));
        *out = (int64_t)u;
        return 0;
    case 0xd0:
        if (take_be(r, 1, &u) < 0)
            return -1;
        *out = (int8_t)u;
        return 0;
    case 0xd1:
        if (take_be(r, 2, &u) < 0)
            return -1;
        *out = (int16_t)u;
        return 0;
    case 0xd2:
        if (take_be(r, 4, &u) < 0)
            return -1;
        *out = (int32_t)u;
        return 0;
    case 0xd3:
        if (take_be(r, 8, &u) < 0)
            return -1;
        *out = (int64_t)u;
        return 0;
    default:
        return wrong_type(r, "an integer", c);
    }
}

static int read_int(rd_t *r, int *out)
{
    int64_t v;
    if (read_i64(r, &v) < 0)
        return -1;
    if (v < INT32_MIN || v > INT32_MAX)
        return fail(r, "%s: integer out of range", fname(r));
    *out = (int)v;
    return 0;
}

static int read_u64(rd_t *r, uint64_t *out)
{
    if (have(r, 1) && *r->p == 0xcf) { /* the one form above INT64_MAX */
        r->p++;
        return take_be(r, 8, out);
    }
    int64_t v;
    if (read_i64(r, &v) < 0)
        return -1;
    if (v < 0)
        return fail(r, "%s: negative value for an unsigned field", fname(r));
    *out = (uint64_t)v;
    return 0;
}

static int read_f64(rd_t *r, double *out)
{
    if (!have(r, 1))
        return truncated(r);
    uint64_t u;
    if (*r->p == 0xcb) {
        r->p++;
        if (take_be(r, 8, &u) < 0)
            return -1;
        memcpy(out, &u, sizeof *out);
        return 0;
    }
    if (*r->p == 0xca) {
        r->p++;
        if (take_be(r, 4, &u) < 0)
            return -1;
        uint32_t bits = (uint32_t)u;
        float f;
        memcpy(&f, &bits, sizeof f);
        *out = f;
        return 0;
    }
    int64_t v; /* an integer where a float was expected is still a number */
    if (read_i64(r, &v) < 0)
        return -1;
    *out = (double)v;
    return 0;
}

static int read_bool(rd_t *r, bool *out)
{
    if (!have(r, 1))
        return truncated(r);
    uint8_t c = *r->p++;
    if (c == 0xc2 || c == 0xc0)
        *out = false;
    else if (c == 0xc3)
        *out = true;
    else
        return wrong_type(r, "a boolean", c);
    return 0;
}

/* A string (any str or bin form) as a view into the input; nil is the empty string. */
static int read_str(rd_t *r, tk_str_t *out)
{
    if (!have(r, 1))
        return truncated(r);
    uint8_t c = *r->p++;
    uint64_t n;
    if ((c & 0xe0) == 0xa0) {
        n = c & 0x1f;
    } else if (c == 0xc0) {
        *out = (tk_str_t){"", 0};
        return 0;
    } else if (c == 0xd9 || c == 0xc4) {
        if (take_be(r, 1, &n) < 0)
            return -1;
    } else if (c == 0xda || c == 0xc5) {
        if (take_be(r, 2, &n) < 0)
            return -1;
    } else if (c == 0xdb || c == 0xc6) {
        if (take_be(r, 4, &n) < 0)
            return -1;
    } else {
        return wrong_type(r, "a string", c);
    }
    if (!have(r, n))
        return truncated(r);
    *out = (tk_str_t){(const char *)r->p, (size_t)n};
    r->p += n;
    return 0;
}

/* The element count of a map (@map) or array; nil counts as 0. */
static int read_count(rd_t *r, bool map, uint32_t *n)
{
    if (!have(r, 1))
        return truncated(r);
    uint8_t c = *r->p++;
    uint8_t fix = map ? 0x80 : 0x90, c16 = map ? 0xde : 0xdc;
    uint64_t v;
    if ((c & 0xf0) == fix) {
        *n = c & 0x0f;
    } else if (c == 0xc0) {
        *n = 0;
    } else if (c == c16 || c == c16 + 1) {
        if (take_be(r, c == c16 ? 2 : 4, &v) < 0)
            return -1;
        *n = (uint32_t)v;
    } else {
        return wrong_type(r, map ? "a map" : "an array", c);
    }
    /* Every element takes at least one byte: a count beyond the input is a lie. */
    if ((uint64_t)*n * (map ? 2 : 1) > (uint64_t)(r->end - r->p))
        return truncated(r);
    return 0;
}

/* time.Time: v2's [sec, nsec] array, or the timestamp extension (type -1) newer encoders write. */
static int read_time(rd_t *r, tk_an_time_t *t)
{
    if (!have(r, 1))
        return truncated(r);
    uint8_t c = *r->p;
    uint64_t a, b;
    if (c == 0xc0) {
        r->p++;
        *t = (tk_an_time_t){0, 0};
        return 0;
    }
    if ((c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd) {
        uint32_t n;
        if (read_count(r, false, &n) < 0)
            return -1;
        if (n != 2)
            return fail(r, "%s: time array has %u elements, expected 2", fname(r), n);
        if (read_i64(r, &t->sec) < 0 || read_i64(r, &t->nsec) < 0)
            return -1;
        return 0;
    }
    if (c == 0xd6 || c == 0xd7 || c == 0xc7) {
        r->p++;
        if (c == 0xc7) {
            if (take_be(r, 1, &a) < 0)
                return -1;
            if (a != 12)
                return fail(r, "%s: timestamp extension of %u bytes", fname(r), (unsigned)a);
        }
        if (!have(r, 1))
            return truncated(r);
        if (*r->p++ != 0xff)
            return fail(r, "%s: extension type %d is not a timestamp", fname(r),
                        (int)(int8_t)r->p[-1]);
        if (c == 0xd6) {
            if (take_be(r, 4, &a) < 0)
                return -1;
            *t = (tk_an_time_t){(int64_t)a, 0};
        } else if (c == 0xd7) {
            if (take_be(r, 8, &a) < 0)
                return -1;
            *t = (tk_an_time_t){(int64_t)(a & 0x3ffffffffull), (int64_t)(a >> 34)};
        } else {
            if (take_be(r, 4, &a) < 0 || take_be(r, 8, &b) < 0)
                return -1;
            *t = (tk_an_time_t){(int64_t)b, (int64_t)a};
        }
        return 0;
    }
    return wrong_type(r, "a time", c);
}

/* Skips one value of any type, nested at most MAX_DEPTH deep. */
static int skip(rd_t *r, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(r, "%s: nesting deeper than %d", fname(r), MAX_DEPTH);
    if (!have(r, 1))
        return truncated(r);
    uint8_t c = *r->p;
    uint64_t n = 0;
    uint32_t count;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        r->p++;
        return 0;
    }
    if ((c & 0xe0) == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb || c == 0xc4 || c == 0xc5 ||
        c == 0xc6) {
        tk_str_t s;
        return read_str(r, &s);
    }
    if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf || (c & 0xf0) == 0x90 || c == 0xdc ||
        c == 0xdd) {
        bool map = (c & 0xf0) == 0x80 || c == 0xde || c == 0xdf;
        if (read_count(r, map, &count) < 0)
            return -1;
        for (uint64_t i = 0; i < (uint64_t)count * (map ? 2 : 1); i++)
            if (skip(r, depth + 1) < 0)
                return -1;
        return 0;
    }
    r->p++;
    switch (c) {
    case 0xcc:
    case 0xd0:
        n = 1;
        break;
    case 0xcd:
    case 0xd1:
        n = 2;
        break;
    case 0xca:
    case 0xce:
    case 0xd2:
        n = 4;
        break;
    case 0xcb:
    case 0xcf:
    case 0xd3:
        n = 8;
        break;
    case 0xd4: /* fixext 1, 2, 4, 8, 16: type byte + data */
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        n = 1 + (1u << (c - 0xd4));
        break;
    case 0xc7:
    case 0xc8:
    case 0xc9:
        if (take_be(r, 1 << (c - 0xc7), &n) < 0)
            return -1;
        n += 1; /* the type byte */
        break;
    default: /* 0xc1 is never used */
        return wrong_type(r, "a msgpack value", c);
    }
    if (!have(r, n))
        return truncated(r);
    r->p += n;
    return 0;
}

/* ---- table-driven struct decoding ------------------------------------------------------------ */

enum ftype {
    F_STR,
    F_I64,
    F_INT,
    F_U64,
    F_F64,
    F_BOOL,
    F_TIME,
    F_MAP,   /* nested struct: decoded with the field's sub-table */
    F_TAGS,  /* []string, gathered after the first pass */
    F_NAMES, /* map[string]string, gathered after the first pass */
    F_RAW,   /* any value, kept as a view of its bytes */
};

typedef struct fieldset fieldset_t;

typedef struct field {
    const char *name;
    uint8_t len;
    uint8_t type;
    uint16_t off;
    const fieldset_t *sub;
} field_t;

struct fieldset {
    const field_t *f;
    size_t n;
};

#define FLD(name, type, st, member)                                                                \
    {                                                                                              \
        name, sizeof(name) - 1, type, offsetof(st, member), NULL                                   \
    }
#define SUB(name, set)                                                                             \
    {                                                                                              \
        name, sizeof(name) - 1, F_MAP, 0, &set                                                     \
    }
#define SET(arr)                                                                                   \
    {                                                                                              \
        arr, TK_ARRAY_LEN(arr)                                                                     \
    }

typedef tk_analytics_record_t ar_t;

static const field_t country_fields[] = {FLD("ISOCode", F_STR, ar_t, geo.country_iso_code)};
static const field_t city_fields[] = {FLD("GeoNameID", F_U64, ar_t, geo.city_geoname_id),
                                      FLD("Names", F_NAMES, ar_t, geo.city_names)};
static const field_t location_fields[] = {FLD("Latitude", F_F64, ar_t, geo.latitude),
                                          FLD("Longitude", F_F64, ar_t, geo.longitude),
                                          FLD("TimeZone", F_STR, ar_t, geo.time_zone)};
static const fieldset_t country_set = SET(country_fields), city_set = SET(city_fields),
                        location_set = SET(location_fields);
static const field_t geo_fields[] = {SUB("Country", country_set), SUB("City", city_set),
                                     SUB("Location", location_set)};
static const field_t network_fields[] = {
    FLD("OpenConnections", F_I64, ar_t, network.open_connections),
    FLD("ClosedConnection", F_I64, ar_t, network.closed_connections),
    FLD("BytesIn", F_I64, ar_t, network.bytes_in), FLD("BytesOut", F_I64, ar_t, network.bytes_out)};
static const field_t latency_fields[] = {FLD("Total", F_I64, ar_t, latency.total),
                                         FLD("Upstream", F_I64, ar_t, latency.upstream),
                                         FLD("Gateway", F_I64, ar_t, latency.gateway)};
static const fieldset_t geo_set = SET(geo_fields), network_set = SET(network_fields),
                        latency_set = SET(latency_fields);

static const field_t record_fields[] = {
    FLD("Method", F_STR, ar_t, method),
    FLD("Host", F_STR, ar_t, host),
    FLD("Path", F_STR, ar_t, path),
    FLD("RawPath", F_STR, ar_t, raw_path),
    FLD("ContentLength", F_I64, ar_t, content_length),
    FLD("UserAgent", F_STR, ar_t, user_agent),
    FLD("Day", F_INT, ar_t, day),
    FLD("Month", F_INT, ar_t, month),
    FLD("Year", F_INT, ar_t, year),
    FLD("Hour", F_INT, ar_t, hour),
    FLD("ResponseCode", F_INT, ar_t, response_code),
    FLD("APIKey", F_STR, ar_t, api_key),
    FLD("TimeStamp", F_TIME, ar_t, timestamp),
    FLD("APIVersion", F_STR, ar_t, api_version),
    FLD("APIName", F_STR, ar_t, api_name),
    FLD("APIID", F_STR, ar_t, api_id),
    FLD("OrgID", F_STR, ar_t, org_id),
    FLD("OauthID", F_STR, ar_t, oauth_id),
    FLD("RequestTime", F_I64, ar_t, request_time),
    FLD("RawRequest", F_STR, ar_t, raw_request),
    FLD("RawResponse", F_STR, ar_t, raw_response),
    FLD("IPAddress", F_STR, ar_t, ip_address),
    SUB("Geo", geo_set),
    SUB("Network", network_set),
    SUB("Latency", latency_set),
    FLD("Tags", F_TAGS, ar_t, tags),
    FLD("Alias", F_STR, ar_t, alias),
    FLD("TrackPath", F_BOOL, ar_t, track_path),
    FLD("ExpireAt", F_TIME, ar_t, expire_at),
    FLD("ApiSchema", F_STR, ar_t, api_schema),
    FLD("GraphQLStats", F_RAW, ar_t, graphql_stats_raw),
    FLD("CollectionName", F_STR, ar_t, collection_name),
    FLD("OriginalPath", F_STR, ar_t, original_path),
    FLD("ListenPath", F_STR, ar_t, listen_path),
    FLD("MCPStats", F_RAW, ar_t, mcp_stats_raw),
};
static const fieldset_t record_set = SET(record_fields);

typedef tk_uptime_record_t ut_t;
static const field_t uptime_fields[] = {
    FLD("URL", F_STR, ut_t, url),
    FLD("RequestTime", F_I64, ut_t, request_time),
    FLD("ResponseCode", F_INT, ut_t, response_code),
    FLD("TCPError", F_BOOL, ut_t, tcp_error),
    FLD("ServerError", F_BOOL, ut_t, server_error),
    FLD("Day", F_INT, ut_t, day),
    FLD("Month", F_INT, ut_t, month),
    FLD("Year", F_INT, ut_t, year),
    FLD("Hour", F_INT, ut_t, hour),
    FLD("Minute", F_INT, ut_t, minute),
    FLD("TimeStamp", F_TIME, ut_t, timestamp),
    FLD("ExpireAt", F_TIME, ut_t, expire_at),
    FLD("APIID", F_STR, ut_t, api_id),
    FLD("OrgID", F_STR, ut_t, org_id),
};
static const fieldset_t uptime_set = SET(uptime_fields);

typedef struct dec {
    rd_t r;
    const uint8_t *tags_at, *names_at; /* where the Tags array / City.Names map start */
} dec_t;

/* Looks @key up starting at *@hint: keys usually arrive in struct order (every Go encoder writes
 * them so), which makes the expected key the first one tried. */
static const field_t *find_field(const fieldset_t *set, tk_str_t key, size_t *hint)
{
    for (size_t k = 0; k < set->n; k++) {
        size_t i = (*hint + k) % set->n;
        const field_t *f = &set->f[i];
        if (f->len == key.len && f->name[0] == key.p[0] && memcmp(f->name, key.p, key.len) == 0) {
            *hint = i + 1;
            return f;
        }
    }
    return NULL;
}

static int decode_struct(dec_t *d, const fieldset_t *set, char *base, int depth)
{
    rd_t *r = &d->r;
    uint32_t n;
    size_t hint = 0;
    if (depth > MAX_DEPTH)
        return fail(r, "nesting deeper than %d", MAX_DEPTH);
    if (read_count(r, true, &n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        tk_str_t key;
        const field_t *f = NULL;
        if (have(r, 1) &&
            ((*r->p & 0xe0) == 0xa0 || *r->p == 0xd9 || *r->p == 0xda || *r->p == 0xdb)) {
            if (read_str(r, &key) < 0)
                return -1;
            f = find_field(set, key, &hint);
        } else if (skip(r, depth + 1) < 0) { /* a non-string key matches no field */
            return -1;
        }
        if (f == NULL) {
            if (skip(r, depth + 1) < 0)
                return -1;
            continue;
        }
        r->field = f->name;
        void *dst = base + f->off;
        int rc = 0;
        const uint8_t *at = r->p;
        switch ((enum ftype)f->type) {
        case F_STR:
            rc = read_str(r, dst);
            break;
        case F_I64:
            rc = read_i64(r, dst);
            break;
        case F_INT:
            rc = read_int(r, dst);
            break;
        case F_U64:
            rc = read_u64(r, dst);
            break;
        case F_F64:
            rc = read_f64(r, dst);
            break;
        case F_BOOL:
            rc = read_bool(r, dst);
            break;
        case F_TIME:
            rc = read_time(r, dst);
            break;
        case F_MAP:
            rc = decode_struct(d, f->sub, base, depth + 1);
            break;
        case F_TAGS:
        case F_NAMES:
            rc = skip(r, depth + 1);
            if (f->type == F_TAGS)
                d->tags_at = at;
            else
                d->names_at = at;
            break;
        case F_RAW:
            rc = skip(r, depth + 1);
            *(tk_str_t *)dst = (tk_str_t){(const char *)at, (size_t)(r->p - at)};
            break;
        }
        if (rc < 0)
            return -1;
        r->field = NULL;
    }
    return 0;
}

static int read_tags(dec_t *d, tk_str_t *tags, size_t n)
{
    uint32_t count;
    d->r.field = "Tags";
    if (read_count(&d->r, false, &count) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (read_str(&d->r, &tags[i]) < 0)
            return -1;
    return 0;
}

static int read_names(dec_t *d, tk_an_name_t *names, size_t n)
{
    uint32_t count;
    d->r.field = "Geo.City.Names";
    if (read_count(&d->r, true, &count) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (read_str(&d->r, &names[i].key) < 0 || read_str(&d->r, &names[i].value) < 0)
            return -1;
    return 0;
}

/* Counts the elements at @at without consuming anything (the first pass checked the form). */
static uint32_t count_at(const dec_t *d, const uint8_t *at, bool map)
{
    rd_t tmp = {.p = at, .end = d->r.end};
    uint32_t n = 0;
    if (at == NULL || read_count(&tmp, map, &n) < 0)
        return 0;
    return n;
}

int tk_analytics_decode(const void *buf, size_t len, tk_analytics_record_t *rec, char *err,
                        size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    dec_t d = {.r = {.p = buf, .end = (const uint8_t *)buf + len, .err = err, .errlen = errlen}};
    if (len == 0 || buf == NULL) {
        fail(&d.r, "empty input");
        return -1;
    }
    if (!((*d.r.p & 0xf0) == 0x80 || *d.r.p == 0xde || *d.r.p == 0xdf)) {
        wrong_type(&d.r, "a map", *d.r.p);
        return -1;
    }
    if (decode_struct(&d, &record_set, (char *)rec, 0) < 0)
        goto bad;

    /* Tags and city names share one allocation, sized now that both counts are known. */
    size_t n_tags = count_at(&d, d.tags_at, false), n_names = count_at(&d, d.names_at, true);
    if (n_tags + n_names > 0) {
        size_t tags_bytes = n_tags * sizeof(tk_str_t);
        char *block = tk_xmalloc(tags_bytes + n_names * sizeof(tk_an_name_t));
        rec->owned_ = block;
        tk_str_t *tags = (tk_str_t *)block;
        tk_an_name_t *names = (tk_an_name_t *)(block + tags_bytes);
        d.r.p = d.tags_at;
        if (n_tags > 0 && read_tags(&d, tags, n_tags) < 0)
            goto bad;
        d.r.p = d.names_at;
        if (n_names > 0 && read_names(&d, names, n_names) < 0)
            goto bad;
        rec->tags = n_tags ? tags : NULL;
        rec->n_tags = n_tags;
        rec->geo.city_names = n_names ? names : NULL;
        rec->geo.n_city_names = n_names;
    }
    return 0;
bad:
    tk_analytics_record_free(rec);
    memset(rec, 0, sizeof *rec);
    return -1;
}

void tk_analytics_record_free(tk_analytics_record_t *rec)
{
    if (rec == NULL)
        return;
    free(rec->owned_);
    rec->owned_ = NULL;
    rec->tags = NULL;
    rec->n_tags = 0;
    rec->geo.city_names = NULL;
    rec->geo.n_city_names = 0;
}

int tk_uptime_decode(const void *buf, size_t len, tk_uptime_record_t *rec, char *err, size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    dec_t d = {.r = {.p = buf, .end = (const uint8_t *)buf + len, .err = err, .errlen = errlen}};
    if (len == 0 || buf == NULL) {
        fail(&d.r, "empty input");
        return -1;
    }
    if (!((*d.r.p & 0xf0) == 0x80 || *d.r.p == 0xde || *d.r.p == 0xdf)) {
        wrong_type(&d.r, "a map", *d.r.p);
        return -1;
    }
    if (decode_struct(&d, &uptime_set, (char *)rec, 0) < 0) {
        memset(rec, 0, sizeof *rec);
        return -1;
    }
    return 0;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at @p (at most @n bytes), or 0 if it is not valid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* A JSON string; invalid UTF-8 bytes become U+FFFD, as Go's encoding/json does. */
static json_t *jstr(tk_str_t s)
{
    json_t *j = json_stringn(s.len ? s.p : "", s.len);
    if (j != NULL)
        return j;
    char *fixed = tk_xmalloc(s.len * 3 + 1);
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s.p;
    for (size_t i = 0; i < s.len;) {
        size_t n = utf8_seq(p + i, s.len - i);
        if (n == 0) {
            memcpy(fixed + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(fixed + o, p + i, n);
            o += n;
            i += n;
        }
    }
    j = json_stringn(fixed, o);
    free(fixed);
    return j ? j : json_string("");
}

static json_t *jreal(double d)
{
    json_t *j = isfinite(d) ? json_real(d) : NULL;
    return j ? j : json_null();
}

/* time.Time's JSON form: RFC 3339 with nanoseconds, trailing zeros dropped, in UTC ("Z"). */
static json_t *jtime(tk_an_time_t t)
{
    int64_t sec = t.sec, nsec = t.nsec;
    if (sec > INT64_MAX / 2 || sec < INT64_MIN / 2)
        return json_null();
    if (nsec < 0 || nsec >= 1000000000) { /* normalise what a foreign encoder may send */
        sec += nsec / 1000000000;
        nsec %= 1000000000;
        if (nsec < 0) {
            nsec += 1000000000;
            sec--;
        }
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if ((int64_t)tt != sec || gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 < 0 ||
        tm.tm_year + 1900 > 9999)
        return json_null(); /* Go refuses to marshal years outside 0..9999 */
    char out[40];
    int n = snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (nsec > 0) {
        char frac[11];
        snprintf(frac, sizeof frac, ".%09d", (int)nsec);
        size_t fl = 10;
        while (frac[fl - 1] == '0')
            fl--;
        memcpy(out + n, frac, fl);
        n += (int)fl;
    }
    out[n++] = 'Z';
    return json_stringn(out, (size_t)n);
}

static void set(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v);
}

json_t *tk_analytics_to_json(const tk_analytics_record_t *r)
{
    json_t *o = json_object();
    set(o, "method", jstr(r->method));
    set(o, "host", jstr(r->host));
    set(o, "path", jstr(r->path));
    set(o, "raw_path", jstr(r->raw_path));
    set(o, "content_length", json_integer(r->content_length));
    set(o, "user_agent", jstr(r->user_agent));
    set(o, "day", json_integer(r->day));
    set(o, "month", json_integer(r->month));
    set(o, "year", json_integer(r->year));
    set(o, "hour", json_integer(r->hour));
    set(o, "response_code", json_integer(r->response_code));
    set(o, "api_key", jstr(r->api_key));
    set(o, "timestamp", jtime(r->timestamp));
    set(o, "api_version", jstr(r->api_version));
    set(o, "api_name", jstr(r->api_name));
    set(o, "api_id", jstr(r->api_id));
    set(o, "org_id", jstr(r->org_id));
    set(o, "oauth_id", jstr(r->oauth_id));
    set(o, "request_time", json_integer(r->request_time));
    set(o, "raw_request", jstr(r->raw_request));
    set(o, "raw_response", jstr(r->raw_response));
    set(o, "ip_address", jstr(r->ip_address));

    json_t *names = NULL;
    if (r->geo.n_city_names > 0) {
        names = json_object();
        for (size_t i = 0; i < r->geo.n_city_names; i++) {
            json_t *k = jstr(r->geo.city_names[i].key);
            json_object_setn_new(names, json_string_value(k), json_string_length(k),
                                 jstr(r->geo.city_names[i].value));
            json_decref(k);
        }
    }
    uint64_t gid = r->geo.city_geoname_id;
    set(o, "geo",
        json_pack("{s:{s:o}, s:{s:I, s:o}, s:{s:o, s:o, s:o}}", "country", "iso_code",
                  jstr(r->geo.country_iso_code), "city", "geoname_id",
                  (json_int_t)(gid > INT64_MAX ? INT64_MAX : gid), "names",
                  names ? names : json_null(), "location", "latitude", jreal(r->geo.latitude),
                  "longitude", jreal(r->geo.longitude), "time_zone", jstr(r->geo.time_zone)));
    set(o, "network",
        json_pack("{s:I, s:I, s:I, s:I}", "open_connections",
                  (json_int_t)r->network.open_connections, "closed_connections",
                  (json_int_t)r->network.closed_connections, "bytes_in",
                  (json_int_t)r->network.bytes_in, "bytes_out", (json_int_t)r->network.bytes_out));
    set(o, "latency",
        json_pack("{s:I, s:I, s:I}", "total", (json_int_t)r->latency.total, "upstream",
                  (json_int_t)r->latency.upstream, "gateway", (json_int_t)r->latency.gateway));
    json_t *tags = json_array();
    for (size_t i = 0; i < r->n_tags; i++)
        json_array_append_new(tags, jstr(r->tags[i]));
    set(o, "tags", tags);
    set(o, "alias", jstr(r->alias));
    set(o, "track_path", json_boolean(r->track_path));
    set(o, "expireAt", jtime(r->expire_at));
    set(o, "api_schema", jstr(r->api_schema));
    set(o, "original_path", jstr(r->original_path));
    set(o, "listen_path", jstr(r->listen_path));
    return o;
}

json_t *tk_uptime_to_json(const tk_uptime_record_t *r)
{
    json_t *o = json_object();
    set(o, "url", jstr(r->url));
    set(o, "request_time", json_integer(r->request_time));
    set(o, "response_code", json_integer(r->response_code));
    set(o, "tcp_error", json_boolean(r->tcp_error));
    set(o, "server_error", json_boolean(r->server_error));
    set(o, "day", json_integer(r->day));
    set(o, "month", json_integer(r->month));
    set(o, "year", json_integer(r->year));
    set(o, "hour", json_integer(r->hour));
    set(o, "minute", json_integer(r->minute));
    set(o, "timestamp", jtime(r->timestamp));
    set(o, "ExpireAt", jtime(r->expire_at)); /* the Go field has no json tag */
    set(o, "api_id", jstr(r->api_id));
    set(o, "org_id", jstr(r->org_id));
    return o;
}

void tk_analytics_set_time_parts(tk_analytics_record_t *rec, tk_an_time_t t)
{
    time_t tt = (time_t)t.sec;
    struct tm tm;
    if (localtime_r(&tt, &tm) == NULL)
        return;
    rec->day = tm.tm_mday;
    rec->month = tm.tm_mon + 1;
    rec->year = tm.tm_year + 1900;
    rec->hour = tm.tm_hour;
}
