/* SPDX-License-Identifier: Apache-2.0 */
/* pump.conf: Tyk Pump's keys (and TYK_PMP_* environment overrides) plus Turnpike's journal. */
#ifndef PUMP_CONF_H
#define PUMP_CONF_H

#include "tk_conf.h"

#include <jansson.h>
#include <stdio.h>

/** PumpConfig.filters. */
typedef struct pump_filters {
    tk_strlist_t org_ids, api_ids, skip_org_ids, skip_api_ids;
    int64_t *response_codes, *skip_response_codes;
    size_t n_response_codes, n_skip_response_codes;
} pump_filters_t;

/** One entry of "pumps" (or the uptime pump), resolved. */
typedef struct pump_sink_cfg {
    char *name;   /* map key upper-cased, as Tyk Pump does */
    char *type;   /* "type", or the name lower-cased */
    json_t *pump; /* the whole PumpConfig object, environment merged in */
    json_t *meta; /* its "meta" object (never NULL) */
    double timeout_s;
    pump_filters_t filters;
    bool omit_detailed_recording;
    int64_t max_record_size;
    tk_strlist_t ignore_fields;
    bool raw_request_decoded, raw_response_decoded;
    bool uptime;
} pump_sink_cfg_t;

typedef struct pump_conf {
    /* table-driven */
    char *analytics_storage_type;
    char *redis_type;
    char *redis_host;
    int64_t redis_port;
    tk_strlist_t redis_addrs;
    json_t *redis_hosts;
    char *redis_username;
    char *redis_password;
    int64_t redis_database;
    int64_t redis_timeout;
    char *redis_key_prefix;
    char *redis_redis_key_prefix;
    bool redis_use_ssl, redis_redis_use_ssl, redis_enable_cluster;
    char *redis_master_name;
    json_t *analytics_storage_config;
    int64_t purge_delay;
    int64_t purge_chunk;
    int64_t storage_expiration_time;
    bool dont_purge_uptime_data;
    json_t *uptime_pump_config;
    json_t *pumps;
    int64_t max_record_size;
    bool omit_detailed_recording;
    bool raw_request_decoded, raw_response_decoded;
    char *health_check_endpoint_name;
    int64_t health_check_endpoint_port;
    char *log_level;
    char *log_format;
    /* Turnpike's own */
    char *pump_id;
    char *journal_dir;
    int64_t journal_segment_bytes;
    int64_t journal_max_bytes;
    int64_t batch_size;
    char *stats_endpoint_name;

    /* derived */
    char *key_prefix; /* effective analytics key prefix */
    pump_sink_cfg_t *sinks;
    size_t nsinks;
    pump_sink_cfg_t *uptime_sink; /* NULL: uptime records stay in Redis */
} pump_conf_t;

/**
 * Loads @path (ignored when TYK_PMP_OMITCONFIGFILE is true) and the TYK_PMP_* environment into
 * @c. Every problem is appended to @errs; returns TK_OK when there was none. Free with
 * pump_conf_free() in both cases.
 */
int pump_conf_load(pump_conf_t *c, const char *path, tk_conf_errors_t *errs);
void pump_conf_free(pump_conf_t *c);
void pump_conf_write_docs(FILE *out);

#endif
