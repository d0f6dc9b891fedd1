/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the analytics writer (gw_analytics.c) and the record builder. */
#ifndef GW_ANALYTICS_INT_H
#define GW_ANALYTICS_INT_H

#include "gw_analytics.h"
#include "gw_server.h"
#include "tk_analytics.h"
#include "tk_arena.h"

struct batch;

struct gw_analytics {
    gw_worker_t *w;
    const gw_conf_t *conf;
    tk_redis_t *redis; /* this worker's analytics connection */
    struct event *timer;
    struct batch *cur;   /* records not sent yet */
    struct batch *spare; /* a sent batch kept for reuse (buffers allocated) */
    tk_buf_t resp;       /* the RPUSH command being built (reused) */
    size_t batch_limit;
    size_t inflight; /* batches sent and not yet acknowledged */
    uint64_t rng;
    /* spool */
    int spool_fd;
    uint64_t spool_file_bytes;
    uint64_t spool_seq;
    bool replaying;
    bool spool_logged;
    uint64_t drop_logged_ms;
    /* local time parts of the current second (localtime_r once per second, not per request) */
    int64_t tsec;
    int day, month, year, hour;
};

/** GeoIP (gw_analytics_geo.c): the database or NULL; lookups fill @geo with arena strings. */
void *gw_geoip_open(const gw_conf_t *conf);
void gw_geoip_close(void *geoip);
void gw_geoip_fill(void *geoip, const char *ip, tk_arena_t *arena, tk_an_geo_t *geo);

/** Encodes @rec into the current batch; pushes the batch when it is full. */
void gw_analytics_push_encoded(gw_analytics_t *a, const tk_analytics_record_t *rec);

#endif
