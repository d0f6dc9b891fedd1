/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway configuration: every tyk.conf key as a typed field, its table and its loader. */
#ifndef GW_CONF_H
#define GW_CONF_H

#include "tk_conf.h"
#include "tk_json.h"

#include <jansson.h>
#include <stdio.h>

/*
 * One field per tyk.conf key, named after its JSON path with "." as "_" (http_server_options.*
 * is shortened to hso_*; other renames carry a comment). Strings are never NULL after a load (""
 * when unset); json_t fields are owned references or NULL. Objects with a json_t field
 * (slave_options, analytics_config, ...) also have scalar fields for their members; the object is
 * kept in step with those fields, so either view gives the effective values.
 */
typedef struct gw_conf {
    /* Core / listener */
    char *hostname;
    char *listen_address;
    int64_t listen_port;
    char *control_api_hostname;
    int64_t control_api_port;
    char *secret;
    char *node_secret;
    char *pid_file_location;
    bool allow_insecure_configs;
    char *public_key_path;
    bool allow_remote_config;
    bool enable_config_inspection;
    char *template_path;
    char *app_path;
    char *middleware_path;
    char *tyk_js_path;
    char *health_check_endpoint_name;
    char *readiness_check_endpoint_name;
    int64_t graceful_shutdown_timeout_duration;
    bool hide_generator_header;
    bool close_connections;
    bool enable_custom_domains;
    char *version_header;
    bool suppress_redis_signal_reload;
    int64_t reload_interval;
    char *log_level;
    char *log_format;
    bool track_404_logs;
    bool enable_key_logging;
    bool ssl_force_common_name_check;
    bool ignore_endpoint_case;
    bool ignore_canonical_mime_header_key;
    bool management_node;
    bool cloud;
    bool jwt_ssl_insecure_skip_verify;
    bool disable_dashboard_zeroconf;

    /* Upstream proxy */
    double proxy_default_timeout;
    bool proxy_ssl_insecure_skip_verify;
    bool proxy_enable_http2;
    int64_t proxy_ssl_min_version;
    int64_t proxy_ssl_max_version;
    tk_strlist_t proxy_ssl_ciphers;
    bool proxy_ssl_disable_renegotiation;
    bool proxy_close_connections;
    int64_t max_idle_connections;
    int64_t max_idle_connections_per_host;
    int64_t max_conn_time;

    /* Keys and sessions */
    bool hash_keys;
    char *hash_key_function;
    tk_strlist_t hash_key_function_fallback;
    char *basic_auth_hash_key_function;
    bool enable_hashed_keys_listing;
    bool disable_key_actions_by_username;
    int64_t min_token_length;
    bool allow_master_keys;
    bool enforce_org_quotas;
    bool enforce_org_data_age;
    bool enforce_org_data_detail_logging;
    bool experimental_process_org_off_thread;
    int64_t global_session_lifetime;
    bool force_global_session_lifetime;
    bool session_lifetime_respects_key_expiration;
    bool legacy_enable_allowance_countdown;
    bool suppress_default_org_store;
    int64_t oauth_token_expire;
    int64_t oauth_refresh_token_expire;
    int64_t oauth_token_expired_retain_period;
    char *oauth_redirect_uri_separator;
    int64_t oauth_error_status_code;
    json_t *override_messages;
    json_t *error_overrides;
    json_t *event_handlers;
    json_t *secrets;
    json_t *kv;

    /* Rate limiting (top-level keys) */
    bool enable_fixed_window_rate_limiter;
    bool enable_redis_rolling_limiter;
    bool enable_sentinel_rate_limiter;
    bool enable_rate_limit_smoothing;
    bool enable_non_transactional_rate_limiter;
    int64_t drl_notification_frequency;
    double drl_threshold;
    bool drl_enable_sentinel_rate_limiter;
    char *rate_limit_response_headers;

    /* policies */
    char *policies_policy_source;
    char *policies_policy_connection_string;
    char *policies_policy_record_name;
    bool policies_allow_explicit_policy_id;
    char *policies_policy_path;
    json_t *ports_whitelist;
    bool disable_ports_whitelist;

    /* Dashboard / MDCB */
    bool use_db_app_configs;
    json_t *db_app_conf_options;
    char *db_app_conf_options_connection_string;
    int64_t db_app_conf_options_connection_timeout;
    bool db_app_conf_options_node_is_segmented;
    tk_strlist_t db_app_conf_options_tags;
    json_t *slave_options;
    bool slave_options_use_rpc;
    bool slave_options_use_ssl;
    bool slave_options_ssl_insecure_skip_verify;
    char *slave_options_connection_string;
    char *slave_options_rpc_key;
    char *slave_options_api_key;
    bool slave_options_enable_rpc_cache;
    bool slave_options_bind_to_slugs;
    bool slave_options_disable_keyspace_sync;
    char *slave_options_group_id;
    int64_t slave_options_call_timeout;
    int64_t slave_options_ping_timeout;
    int64_t slave_options_rpc_pool_size;
    double slave_options_key_space_sync_interval;
    double slave_options_rpc_cert_cache_expiration;
    double slave_options_rpc_global_cache_expiration;
    bool slave_options_synchroniser_enabled;
    bool slave_options_sync_used_certs_only;
    json_t *auth_override;

    /* storage */
    char *storage_type;
    char *storage_host;
    int64_t storage_port;
    json_t *storage_hosts;
    tk_strlist_t storage_addrs;
    char *storage_master_name;
    char *storage_sentinel_password;
    char *storage_username;
    char *storage_password;
    int64_t storage_database;
    /* storage.optimisation_max_idle */
    int64_t storage_max_idle;
    /* storage.optimisation_max_active */
    int64_t storage_max_active;
    int64_t storage_timeout;
    bool storage_enable_cluster;
    bool storage_use_ssl;
    bool storage_ssl_insecure_skip_verify;
    char *storage_ca_file;
    char *storage_cert_file;
    char *storage_key_file;
    char *storage_tls_min_version;
    char *storage_tls_max_version;
    bool storage_compress_api_definitions;
    bool enable_separate_cache_store;
    char *cache_storage_type;
    char *cache_storage_host;
    int64_t cache_storage_port;
    json_t *cache_storage_hosts;
    tk_strlist_t cache_storage_addrs;
    char *cache_storage_master_name;
    char *cache_storage_sentinel_password;
    char *cache_storage_username;
    char *cache_storage_password;
    int64_t cache_storage_database;
    /* cache_storage.optimisation_max_idle */
    int64_t cache_storage_max_idle;
    /* cache_storage.optimisation_max_active */
    int64_t cache_storage_max_active;
    int64_t cache_storage_timeout;
    bool cache_storage_enable_cluster;
    bool cache_storage_use_ssl;
    bool cache_storage_ssl_insecure_skip_verify;
    char *cache_storage_ca_file;
    char *cache_storage_cert_file;
    char *cache_storage_key_file;
    char *cache_storage_tls_min_version;
    char *cache_storage_tls_max_version;
    bool cache_storage_compress_api_definitions;
    bool enable_separate_analytics_store;
    char *analytics_storage_type;
    char *analytics_storage_host;
    int64_t analytics_storage_port;
    json_t *analytics_storage_hosts;
    tk_strlist_t analytics_storage_addrs;
    char *analytics_storage_master_name;
    char *analytics_storage_sentinel_password;
    char *analytics_storage_username;
    char *analytics_storage_password;
    int64_t analytics_storage_database;
    /* analytics_storage.optimisation_max_idle */
    int64_t analytics_storage_max_idle;
    /* analytics_storage.optimisation_max_active */
    int64_t analytics_storage_max_active;
    int64_t analytics_storage_timeout;
    bool analytics_storage_enable_cluster;
    bool analytics_storage_use_ssl;
    bool analytics_storage_ssl_insecure_skip_verify;
    char *analytics_storage_ca_file;
    char *analytics_storage_cert_file;
    char *analytics_storage_key_file;
    char *analytics_storage_tls_min_version;
    char *analytics_storage_tls_max_version;
    bool analytics_storage_compress_api_definitions;

    /* http_server_options */
    int64_t hso_read_timeout;
    int64_t hso_write_timeout;
    bool hso_use_ssl;
    bool hso_enable_http2;
    bool hso_enable_strict_routes;
    bool hso_enable_path_prefix_matching;
    bool hso_enable_path_suffix_matching;
    bool hso_ssl_insecure_skip_verify;
    bool hso_enable_websockets;
    json_t *hso_certificates;
    tk_strlist_t hso_ssl_certificates;
    char *hso_server_name;
    int64_t hso_min_version;
    int64_t hso_max_version;
    bool hso_skip_client_ca_announcement;
    int64_t hso_flush_interval;
    bool hso_skip_url_cleaning;
    bool hso_skip_target_path_escaping;
    tk_strlist_t hso_ssl_ciphers;
    int64_t hso_max_request_body_size;
    int64_t hso_max_response_body_size;
    int64_t hso_xff_depth;

    /* security */
    json_t *security;
    char *security_private_certificate_encoding_secret;
    bool security_control_api_use_mutual_tls;
    bool security_allow_unsafe_dynamic_mtls_token;
    json_t *security_pinned_public_keys;
    tk_strlist_t security_certificates_apis;
    json_t *security_certificates_upstream;
    tk_strlist_t security_certificates_control_api;
    tk_strlist_t security_certificates_dashboard_api;
    tk_strlist_t security_certificates_mdcb_api;
    /* security.certificate_expiry_monitor.warning_threshold_days */
    int64_t security_cert_expiry_warning_threshold_days;
    /* security.certificate_expiry_monitor.check_cooldown_seconds */
    int64_t security_cert_expiry_check_cooldown_seconds;
    /* security.certificate_expiry_monitor.event_cooldown_seconds */
    int64_t security_cert_expiry_event_cooldown_seconds;
    json_t *external_services;

    /* Analytics and monitoring */
    bool enable_analytics;
    json_t *analytics_config;
    char *analytics_config_type;
    tk_strlist_t analytics_config_ignored_ips;
    bool analytics_config_enable_detailed_recording;
    bool analytics_config_enable_geo_ip;
    char *analytics_config_geo_ip_db_path;
    bool analytics_config_normalise_urls_enabled;
    bool analytics_config_normalise_urls_normalise_uuids;
    bool analytics_config_normalise_urls_normalise_ulids;
    bool analytics_config_normalise_urls_normalise_numbers;
    tk_strlist_t analytics_config_normalise_urls_custom_patterns;
    int64_t analytics_config_pool_size;
    int64_t analytics_config_records_buffer_size;
    int64_t analytics_config_storage_expiration_time;
    bool analytics_config_enable_multiple_analytics_keys;
    double analytics_config_purge_interval;
    char *analytics_config_serializer_type;
    json_t *monitor;
    bool monitor_enable_trigger_monitors;
    char *monitor_configuration_method;
    char *monitor_configuration_target_path;
    char *monitor_configuration_template_path;
    json_t *monitor_configuration_header_map;
    int64_t monitor_configuration_event_timeout;
    double monitor_global_trigger_limit;
    bool monitor_monitor_user_keys;
    bool monitor_monitor_org_keys;
    json_t *uptime_tests;
    bool uptime_tests_disable;
    char *uptime_tests_poller_group;
    int64_t uptime_tests_config_failure_trigger_sample_size;
    int64_t uptime_tests_config_time_wait;
    int64_t uptime_tests_config_checker_pool_size;
    bool uptime_tests_config_enable_uptime_analytics;
    bool health_check_enable_health_checks;
    int64_t health_check_health_check_value_timeouts;
    int64_t liveness_check_check_duration;
    int64_t service_discovery_default_cache_timeout;
    json_t *dns_cache;
    bool dns_cache_enabled;
    int64_t dns_cache_ttl;
    char *dns_cache_multiple_ips_handle_strategy;
    bool disable_regexp_cache;
    int64_t regexp_cache_expire;
    json_t *local_session_cache;
    bool local_session_cache_disable_cached_session_state;
    int64_t local_session_cache_cached_session_timeout;
    int64_t local_session_cache_cached_session_eviction;
    bool access_logs_enabled;
    tk_strlist_t access_logs_template;
    json_t *tracing;
    json_t *opentelemetry;
    json_t *newrelic;
    bool enable_http_profiler;
    bool use_redis_log;
    bool use_sentry;
    char *sentry_code;
    char *sentry_log_level;
    bool use_syslog;
    char *syslog_transport;
    char *syslog_network_addr;
    bool use_graylog;
    char *graylog_network_addr;
    bool use_logstash;
    char *logstash_transport;
    char *logstash_network_addr;
    char *statsd_connection_string;
    char *statsd_prefix;

    /* Plugins */
    bool enable_jsvm;
    int64_t jsvm_timeout;
    bool disable_virtual_path_blobs;
    bool enable_bundle_downloader;
    char *bundle_base_url;
    bool bundle_insecure_skip_verify;
    bool skip_verify_existing_plugin_bundle;
    json_t *coprocess_options;
    bool coprocess_options_enable_coprocess;
    char *coprocess_options_coprocess_grpc_server;
    int64_t coprocess_options_grpc_recv_max_size;
    int64_t coprocess_options_grpc_send_max_size;
    char *coprocess_options_grpc_authority;
    bool coprocess_options_grpc_round_robin_load_balancing;
    char *coprocess_options_python_path_prefix;
    char *coprocess_options_python_version;
    int64_t resource_sync_retry_attempts;
    int64_t resource_sync_interval;
    int64_t jwks_cache_timeout;
    json_t *oas_config;
    json_t *streaming;
    json_t *labs;

    /* Turnpike extensions */
    int64_t turnpike_workers;
    int64_t turnpike_jsvm_threads;
    bool turnpike_cpu_affinity;
    int64_t turnpike_max_header_size;
    int64_t turnpike_header_timeout;
    int64_t turnpike_idle_timeout;
    int64_t turnpike_tunnel_idle_timeout;
    bool turnpike_skip_bad_templates;
    tk_strlist_t turnpike_dns_nameservers;
    int64_t turnpike_max_request_memory;
    int64_t turnpike_upstream_idle_timeout;
    char *turnpike_analytics_spool_dir;
    int64_t turnpike_analytics_spool_max_bytes;
} gw_conf_t;

/** TLS 1.2 version code, the default upper bound of proxy_ssl_max_version and hso_max_version. */
#define GW_TLS12 771

/**
 * Loads @path (tyk.conf) into @c: table defaults, then the JSON file, then TYK_GW_* environment
 * overrides, then secret references (env://, file://, secrets://), then Tyk's derived defaults
 * (a zero proxy_default_timeout becomes 30, min_token_length 3, reload_interval 1, ...).
 * A missing or unparsable file is an error unless TYK_GW_OMITCONFIGFILE=true, in which case the
 * file is not read at all. @c is overwritten without freeing: start from a zeroed struct or call
 * gw_conf_free() first. Every problem is appended to @errs. Returns TK_OK when none was found;
 * on TK_ERROR @c is still fully populated (with defaults where values were bad) and must be freed.
 */
int gw_conf_load(gw_conf_t *c, const char *path, tk_conf_errors_t *errs);

/** Frees every string, list and JSON reference in @c and leaves it zeroed. */
void gw_conf_free(gw_conf_t *c);

/** The gateway's config table and its length, for inspection endpoints and tools. */
const tk_conf_entry_t *gw_conf_table(size_t *n);

/** Writes docs/configuration.md (Markdown: intro, derived defaults and the full key table). */
void gw_conf_write_docs(FILE *out);

#endif
