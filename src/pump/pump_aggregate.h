/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk's analytics aggregation (tyk-pump analytics/aggregate.go and uptime_data.go), in memory.
 *
 * Records are folded into one aggregate per organisation per time bucket (an hour by default),
 * each holding a Counter per dimension value: apiid, errors (status >= 400), versions, apikeys,
 * oauthids, geo, tags, endpoints, keyendpoints, oauthendpoints, apiendpoints, plus the total.
 * The counters follow Tyk's arithmetic exactly, quirks included (min latencies only move on
 * success, a dimension's last_time is the time of its first record, network-only records with
 * response code -1 only add bytes and connections). Pure computation: no I/O, no globals.
 *
 * One difference from Tyk: Tyk puts all of one org's records of a batch into the bucket of the
 * first record; here each record goes to its own bucket, so the result does not depend on how
 * records happen to be split into batches. */
#ifndef PUMP_AGGREGATE_H
#define PUMP_AGGREGATE_H

#include "tk_analytics.h"

/** Dimensions, in the order Tyk emits them (Dimensions()); TOTAL is always last. */
enum pump_agg_dim {
    PUMP_AGG_APIID = 0,
    PUMP_AGG_ERRORS,
    PUMP_AGG_VERSIONS,
    PUMP_AGG_APIKEYS,
    PUMP_AGG_OAUTHIDS,
    PUMP_AGG_GEO,
    PUMP_AGG_TAGS,
    PUMP_AGG_ENDPOINTS,
    PUMP_AGG_KEYENDPOINTS,
    PUMP_AGG_OAUTHENDPOINTS,
    PUMP_AGG_APIENDPOINTS,
    PUMP_AGG_URL, /* uptime only */
    PUMP_AGG_TOTAL,
    PUMP_AGG_NDIMS
};

/** The SQL `dimension` value: "apiid", "errors", ..., "url"; "" for the total. */
const char *pump_agg_dim_name(enum pump_agg_dim d);

/** Parses an ignore_aggregations entry ("APIID"/"apiid", "KeyEndpoint"/"keyendpoints", ...). */
bool pump_agg_dim_parse(const char *name, enum pump_agg_dim *d);

typedef struct pump_agg_errcount {
    int code;
    int64_t count;
} pump_agg_errcount_t;

/** Tyk's Counter. Averages (request_time, latency, upstream_latency) are kept up to date. */
typedef struct pump_agg_counter {
    int64_t hits, success, error_total;
    double request_time, total_request_time;
    char *identifier, *human_identifier; /* NULL = "" */
    tk_an_time_t last_time;
    int64_t open_connections, closed_connections, bytes_in, bytes_out;
    int64_t max_upstream_latency, min_upstream_latency, total_upstream_latency;
    double upstream_latency;
    int64_t max_latency, min_latency, total_latency;
    double latency;
    pump_agg_errcount_t *errors; /* ErrorMap: status code -> count, in first-seen order */
    size_t n_errors, cap_errors;
} pump_agg_counter_t;

typedef struct pump_agg_entry {
    enum pump_agg_dim dim;
    char *value; /* the dimension value; "total" for the total */
    pump_agg_counter_t c;
} pump_agg_entry_t;

/** One org's aggregate for one bucket. */
typedef struct pump_agg {
    char *org_id;
    int64_t bucket;             /* bucket start, unix seconds */
    int year, month, day, hour; /* TimeID, from the first record (local time) */
    tk_an_time_t expire_at;     /* of the first record */
    tk_an_time_t last_time;     /* of the last record */
    pump_agg_entry_t total;     /* dim TOTAL, value "total" */
    pump_agg_entry_t *entries;  /* every other dimension, in first-seen order */
    size_t n_entries, cap_entries;
    uint32_t *index; /* open-addressing hash of entries (index + 1; 0 = empty) */
    size_t index_cap;
} pump_agg_t;

typedef struct pump_agg_opts {
    bool track_all_paths;           /* every record counts as TrackPath */
    const char *const *ignore_tags; /* tag prefixes never aggregated ("key-" always is) */
    size_t n_ignore_tags;
    int aggregation_minutes; /* 60 (or 0) = hourly, 1 = per minute, N = N-minute windows */
    unsigned ignore_dims;    /* bit (1u << dim) for each ignore_aggregations entry */
} pump_agg_opts_t;

typedef struct pump_agg_set {
    pump_agg_opts_t opts;
    pump_agg_t **aggs;
    size_t n, cap;
} pump_agg_set_t;

/** Starts an empty set. @opts is copied (its arrays are referenced, not copied); NULL = defaults.
 */
void pump_agg_set_init(pump_agg_set_t *s, const pump_agg_opts_t *opts);
void pump_agg_set_free(pump_agg_set_t *s);

/** Folds one analytics record in. Returns false for records Tyk does not aggregate (no org,
 * GraphQL records tagged "tyk-graph-analytics"). */
bool pump_agg_add(pump_agg_set_t *s, const tk_analytics_record_t *rec);

/** Folds one uptime check in (Tyk's AggregateUptimeData: dimensions url and errors, hourly;
 * 2xx codes are counted in the error map too, so the code_2xx columns fill). */
bool pump_agg_add_uptime(pump_agg_set_t *s, const tk_uptime_record_t *rec);

/** The start of @t's bucket for @minutes (60 = the hour, 1 = the minute, N = aligned N-minute
 * window inside the hour), in the process's local time zone like Tyk. */
int64_t pump_agg_bucket(tk_an_time_t t, int minutes);

/** Calls @fn for every dimension of @a in Tyk's order, total last. */
void pump_agg_foreach(const pump_agg_t *a,
                      void (*fn)(const pump_agg_t *a, const pump_agg_entry_t *e, void *arg),
                      void *arg);

/** The count for @code in @c's error map (0 if absent). */
int64_t pump_agg_error_count(const pump_agg_counter_t *c, int code);

/** Status-code columns of Tyk's SQL aggregate rows, in table order. */
#define PUMP_AGG_NCODES 21
extern const char *const pump_agg_code_names[PUMP_AGG_NCODES]; /* "1x", "200", ..., "5x" */

/** Tyk's Code.ProcessStatusCodes: each error-map entry goes to its own column when there is one
 * (200, 201, 301-304, 400, 401, 403, 404, 429, 500-504), else is added to its class (1x..5x). */
void pump_agg_codes(const pump_agg_counter_t *c, int64_t out[PUMP_AGG_NCODES]);

/** base64 (standard alphabet, '=' padding removed) of @s, as Tyk's doHash. Malloc'd. */
char *pump_agg_dohash(const char *s, size_t n);

#endif
