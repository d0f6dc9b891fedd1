/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Analytics: one Tyk analytics record per API request, batched per worker and pushed into the
 * Redis list Tyk's pump reads (`analytics-tyk-system-analytics`, or `_0`..`_9` with
 * enable_multiple_analytics_keys). Records that Redis does not take go to a bounded on-disk
 * spool and are pushed again once Redis answers; only a full spool drops records, and every
 * drop is counted and logged.
 */
#ifndef GW_ANALYTICS_H
#define GW_ANALYTICS_H

#include "gw_conf.h"
#include "tk_common.h"

#include <jansson.h>
#include <stdatomic.h>

struct gw_req;
struct gw_worker;
struct gw_server;

/** The per-API analytics settings of a definition. */
typedef struct gw_api_analytics {
    bool do_not_track;
    bool detailed;        /* enable_detailed_recording */
    int64_t expire_after; /* expire_analytics_after, seconds; 0 = 100 years as Tyk does */
    char **tag_headers;   /* lower-cased header names */
    size_t n_tag_headers;
    char **tags; /* the API's own "tags" */
    size_t n_tags;
} gw_api_analytics_t;

gw_api_analytics_t *gw_api_analytics_from_json(const json_t *def);
void gw_api_analytics_free(gw_api_analytics_t *a);

/** Process-wide counters (all workers). */
typedef struct gw_analytics_stats {
    _Atomic uint64_t recorded; /* records built */
    _Atomic uint64_t pushed;   /* acknowledged by Redis (replays included) */
    _Atomic uint64_t spooled;  /* written to the on-disk spool */
    _Atomic uint64_t replayed; /* taken back from the spool into Redis */
    _Atomic uint64_t dropped;  /* lost: spool full or unwritable (logged) */
    _Atomic uint64_t spool_bytes;
} gw_analytics_stats_t;

typedef struct gw_analytics gw_analytics_t;

/**
 * Before the workers start: makes the spool directory and renames spool files left by an
 * earlier run so the first worker pushes them once Redis answers.
 */
void gw_analytics_prepare(struct gw_server *srv);
/** A worker's writer, or NULL when enable_analytics is off. */
gw_analytics_t *gw_analytics_new(struct gw_worker *w);
/** Largest RawRequest/RawResponse kept before base64 (bytes beyond it are left out). */
#define GW_ANALYTICS_MAX_RAW (4u << 20)

/** True when this request's record carries RawRequest/RawResponse (detailed recording). */
bool gw_analytics_wants_detail(const struct gw_req *req);
/** Called once per finished API request (success or error). */
void gw_analytics_record(struct gw_req *req);
/** On the worker's thread after its loop ended: pushes what is buffered, waits a bounded time
 *  for Redis to acknowledge, spools the rest. */
void gw_analytics_shutdown(gw_analytics_t *a);
void gw_analytics_free(gw_analytics_t *a);
/** After the workers are freed: closes what gw_analytics_prepare opened (GeoIP database). */
void gw_analytics_release(struct gw_server *srv);

/** The counters as a JSON object (for the control API). New reference. */
json_t *gw_analytics_stats_json(const struct gw_server *srv);

#endif
