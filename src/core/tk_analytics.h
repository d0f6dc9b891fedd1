/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk's analytics and uptime records, and their msgpack form on the wire.
 *
 * The gateway encodes one record per request into the Redis list `analytics-tyk-system-analytics`;
 * the pump decodes them. The encoding is byte-for-byte what Tyk's gateway writes (msgpack v2 of the
 * Go struct: a map keyed by Go field names, integers in their smallest form, time.Time as
 * [seconds, nanoseconds]), so a Tyk Pump can read ours and ours can read a Tyk gateway's.
 * Decoding accepts any key order, skips unknown keys and never reads past the input. */
#ifndef TK_ANALYTICS_H
#define TK_ANALYTICS_H

#include "tk_common.h"

#include <jansson.h>

/** A wall-clock instant as Go's time.Time is encoded: seconds since the epoch and nanoseconds. */
typedef struct tk_an_time {
    int64_t sec;
    int64_t nsec;
} tk_an_time_t;

typedef struct tk_an_name {
    tk_str_t key;
    tk_str_t value;
} tk_an_name_t;

/** Geo (Geo.Country.ISOCode, Geo.City.{GeoNameID,Names}, Geo.Location.*). */
typedef struct tk_an_geo {
    tk_str_t country_iso_code;
    uint64_t city_geoname_id;
    const tk_an_name_t *city_names;
    size_t n_city_names;
    double latitude;
    double longitude;
    tk_str_t time_zone;
} tk_an_geo_t;

/** One request, every field Tyk's AnalyticsRecord has. Strings are views: when encoding they
 * point at the caller's data; after tk_analytics_decode they point into the decoded buffer. */
typedef struct tk_analytics_record {
    tk_str_t method;
    tk_str_t host;
    tk_str_t path;
    tk_str_t raw_path;
    int64_t content_length;
    tk_str_t user_agent;
    int day, month, year, hour; /* local time parts; month 1..12 */
    int response_code;
    tk_str_t api_key;
    tk_an_time_t timestamp;
    tk_str_t api_version;
    tk_str_t api_name;
    tk_str_t api_id;
    tk_str_t org_id;
    tk_str_t oauth_id;
    int64_t request_time;  /* ms */
    tk_str_t raw_request;  /* base64 of the wire request, or empty */
    tk_str_t raw_response; /* base64 of the wire response, or empty */
    tk_str_t ip_address;
    tk_an_geo_t geo;
    struct {
        int64_t open_connections, closed_connections, bytes_in, bytes_out;
    } network;
    struct {
        int64_t total, upstream, gateway; /* ms */
    } latency;
    const tk_str_t *tags;
    size_t n_tags;
    tk_str_t alias;
    bool track_path;
    tk_an_time_t expire_at;
    tk_str_t api_schema;
    tk_str_t collection_name;
    tk_str_t original_path;
    tk_str_t listen_path;
    /* GraphQLStats / MCPStats: the raw msgpack value as decoded (empty = write Tyk's zero value).
     */
    tk_str_t graphql_stats_raw;
    tk_str_t mcp_stats_raw;

    void *owned_; /* arrays allocated by tk_analytics_decode; freed by tk_analytics_record_free */
} tk_analytics_record_t;

/** Uptime check result (Tyk's UptimeReportData), list `host-checker:tyk-uptime-analytics`. */
typedef struct tk_uptime_record {
    tk_str_t url;
    int64_t request_time; /* ms */
    int response_code;
    bool tcp_error;
    bool server_error;
    int day, month, year, hour, minute;
    tk_an_time_t timestamp;
    tk_an_time_t expire_at;
    tk_str_t api_id;
    tk_str_t org_id;
} tk_uptime_record_t;

/** A growable byte buffer the encoders append to. */
typedef struct tk_buf {
    char *data;
    size_t len;
    size_t cap;
} tk_buf_t;

void tk_buf_reserve(tk_buf_t *b, size_t extra);
void tk_buf_append(tk_buf_t *b, const void *p, size_t n);
void tk_buf_free(tk_buf_t *b);

/** Appends @rec in Tyk's msgpack form to @out. */
void tk_analytics_encode(const tk_analytics_record_t *rec, tk_buf_t *out);

/** Decodes one msgpack record from @buf. Strings in @rec point into @buf, which must outlive it.
 * Returns 0, or -1 with a reason in @err (truncated, not a map, wrong type for a known field).
 * Unknown keys are skipped. Call tk_analytics_record_free on success. */
int tk_analytics_decode(const void *buf, size_t len, tk_analytics_record_t *rec, char *err,
                        size_t errlen);
void tk_analytics_record_free(tk_analytics_record_t *rec);

/** The record as Tyk's JSON form (json tags: method, host, ..., expireAt). New reference. */
json_t *tk_analytics_to_json(const tk_analytics_record_t *rec);

void tk_uptime_encode(const tk_uptime_record_t *rec, tk_buf_t *out);
int tk_uptime_decode(const void *buf, size_t len, tk_uptime_record_t *rec, char *err,
                     size_t errlen);
json_t *tk_uptime_to_json(const tk_uptime_record_t *rec);

/** Fills day/month/year/hour from @t in the process's local time zone (as Tyk does). */
void tk_analytics_set_time_parts(tk_analytics_record_t *rec, tk_an_time_t t);

#endif
