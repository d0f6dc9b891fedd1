/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's tyk.conf table, its loader with Tyk's derived defaults, and its reference docs. */
#include "gw_conf.h"
#include "tk_json.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFF(f) offsetof(gw_conf_t, f)

/*
 * Environment names are "TYK_GW_" + the Go field names of Tyk's config structs upper-cased,
 * nested structs joined with "_" (kelseyhightower/envconfig). They do not always follow the JSON
 * key: max_idle_connections is MAXIDLECONNS, proxy_ssl_ciphers is PROXYSSLCIPHERSUITES.
 */
static const tk_conf_entry_t gw_table[] = {
    /* Core / listener */
    {"hostname", "HOSTNAME", TK_CONF_STRING, OFF(hostname), NULL, 0, 0, 0,
     "If set, API routes are only served for this Host header."},
    {"listen_address", "LISTENADDRESS", TK_CONF_STRING, OFF(listen_address), NULL, 0, 0, 0,
     "Address to bind the proxy listener to; empty means all interfaces."},
    {"listen_port", "LISTENPORT", TK_CONF_INT, OFF(listen_port), "8080", 1, 65535, 0,
     "TCP port of the proxy listener."},
    {"control_api_hostname", "CONTROLAPIHOSTNAME", TK_CONF_STRING, OFF(control_api_hostname), NULL,
     0, 0, 0, "If set, the control API (/tyk/...) is only served for this Host header."},
    {"control_api_port", "CONTROLAPIPORT", TK_CONF_INT, OFF(control_api_port), "0", 0, 65535, 0,
     "Separate port for the control API; 0 serves it on listen_port."},
    {"secret", "SECRET", TK_CONF_STRING, OFF(secret), "352d20ee67be67f6340b4c0605b044b7", 0, 0,
     TK_CONF_SECRET, "Value expected in X-Tyk-Authorization on control API calls. Change it."},
    {"node_secret", "NODESECRET", TK_CONF_STRING, OFF(node_secret), NULL, 0, 0, TK_CONF_SECRET,
     "Shared secret with the Dashboard; also signs pub/sub notifications."},
    {"pid_file_location", "PIDFILELOCATION", TK_CONF_STRING, OFF(pid_file_location),
     "/var/run/tyk/tyk-gateway.pid", 0, 0, 0, "Where the PID file is written."},
    {"allow_insecure_configs", "ALLOWINSECURECONFIGS", TK_CONF_BOOL, OFF(allow_insecure_configs),
     NULL, 0, 0, 0, "Accept unsigned Dashboard notifications."},
    {"public_key_path", "PUBLICKEYPATH", TK_CONF_STRING, OFF(public_key_path), NULL, 0, 0, 0,
     "RSA public key used to verify signed Dashboard notifications."},
    {"allow_remote_config", "ALLOWREMOTECONFIG", TK_CONF_BOOL, OFF(allow_remote_config), NULL, 0, 0,
     0, "Allow the Dashboard to change this node's configuration."},
    {"enable_config_inspection", "ENABLECONFIGINSPECTION", TK_CONF_BOOL,
     OFF(enable_config_inspection), NULL, 0, 0, 0, "Expose /config and /env on the control API."},
    {"template_path", "TEMPLATEPATH", TK_CONF_STRING, OFF(template_path), "templates", 0, 0, 0,
     "Directory of error and webhook templates."},
    {"app_path", "APPPATH", TK_CONF_STRING, OFF(app_path), "apps/", 0, 0, 0,
     "Directory scanned for API definition *.json files."},
    {"middleware_path", "MIDDLEWAREPATH", TK_CONF_STRING, OFF(middleware_path), "middleware", 0, 0,
     0, "Base directory of JavaScript middleware and plugin bundles."},
    {"tyk_js_path", "TYKJSPATH", TK_CONF_STRING, OFF(tyk_js_path), NULL, 0, 0, 0,
     "JavaScript file preloaded into the JSVM."},
    {"health_check_endpoint_name", "HEALTHCHECKENDPOINTNAME", TK_CONF_STRING,
     OFF(health_check_endpoint_name), "hello", 0, 0, 0, "Path of the liveness endpoint."},
    {"readiness_check_endpoint_name", "READINESSCHECKENDPOINTNAME", TK_CONF_STRING,
     OFF(readiness_check_endpoint_name), "ready", 0, 0, 0, "Path of the readiness endpoint."},
    {"graceful_shutdown_timeout_duration", "GRACEFULSHUTDOWNTIMEOUTDURATION", TK_CONF_INT,
     OFF(graceful_shutdown_timeout_duration), "30", 0, 86400, 0,
     "Seconds to let in-flight requests finish on shutdown (0 means 30)."},
    {"hide_generator_header", "HIDEGENERATORHEADER", TK_CONF_BOOL, OFF(hide_generator_header), NULL,
     0, 0, 0, "Do not send X-Generator and mascot headers."},
    {"close_connections", "CLOSECONNECTIONS", TK_CONF_BOOL, OFF(close_connections), NULL, 0, 0, 0,
     "Disable client keep-alive (send Connection: close)."},
    {"enable_custom_domains", "ENABLECUSTOMDOMAINS", TK_CONF_BOOL, OFF(enable_custom_domains), NULL,
     0, 0, 0, "Honour the domain field of API definitions."},
    {"version_header", "VERSIONHEADER", TK_CONF_STRING, OFF(version_header), NULL, 0, 0, 0,
     "Response header that exposes the API version (versioned APIs only)."},
    {"suppress_redis_signal_reload", "SUPPRESSREDISSIGNALRELOAD", TK_CONF_BOOL,
     OFF(suppress_redis_signal_reload), NULL, 0, 0, 0,
     "Ignore reload signals sent over Redis pub/sub."},
    {"reload_interval", "RELOADINTERVAL", TK_CONF_INT, OFF(reload_interval), "1", 0, 86400, 0,
     "Seconds between drains of the reload queue (values below 1 mean 1)."},
    {"log_level", "LOGLEVEL", TK_CONF_STRING, OFF(log_level), "info", 0, 0, 0,
     "debug, info, warn or error."},
    {"log_format", "LOGFORMAT", TK_CONF_STRING, OFF(log_format), "text", 0, 0, 0,
     "text (Tyk calls it standard) or json."},
    {"track_404_logs", "TRACK404LOGS", TK_CONF_BOOL, OFF(track_404_logs), NULL, 0, 0, 0,
     "Log requests that match no API."},
    {"enable_key_logging", "ENABLEKEYLOGGING", TK_CONF_BOOL, OFF(enable_key_logging), NULL, 0, 0, 0,
     "Log API keys in clear instead of obfuscated."},
    {"ssl_force_common_name_check", "SSLFORCECOMMONNAMECHECK", TK_CONF_BOOL,
     OFF(ssl_force_common_name_check), NULL, 0, 0, 0,
     "Check the upstream certificate name even when verification is off."},
    {"ignore_endpoint_case", "IGNOREENDPOINTCASE", TK_CONF_BOOL, OFF(ignore_endpoint_case), NULL, 0,
     0, 0, "Match endpoint paths case-insensitively."},
    {"ignore_canonical_mime_header_key", "IGNORECANONICALMIMEHEADERKEY", TK_CONF_BOOL,
     OFF(ignore_canonical_mime_header_key), NULL, 0, 0, 0,
     "Keep configured header names as written instead of canonicalising them."},
    {"management_node", "MANAGEMENTNODE", TK_CONF_BOOL, OFF(management_node), NULL, 0, 0, 0,
     "Exclude this node from the distributed rate limiter."},
    {"cloud", "CLOUD", TK_CONF_BOOL, OFF(cloud), NULL, 0, 0, 0, "The node runs in Tyk Cloud."},
    {"jwt_ssl_insecure_skip_verify", "JWTSSLINSECURESKIPVERIFY", TK_CONF_BOOL,
     OFF(jwt_ssl_insecure_skip_verify), NULL, 0, 0, 0, "Skip TLS verification when fetching JWKS."},
    {"disable_dashboard_zeroconf", "DISABLEDASHBOARDZEROCONF", TK_CONF_BOOL,
     OFF(disable_dashboard_zeroconf), NULL, 0, 0, 0,
     "Do not discover the Dashboard through Redis heartbeats."},

    /* Upstream proxy */
    {"proxy_default_timeout", "PROXYDEFAULTTIMEOUT", TK_CONF_FLOAT, OFF(proxy_default_timeout),
     "30", 0, 86400, 0, "Seconds to wait for an upstream response (0 means 30)."},
    {"proxy_ssl_insecure_skip_verify", "PROXYSSLINSECURESKIPVERIFY", TK_CONF_BOOL,
     OFF(proxy_ssl_insecure_skip_verify), NULL, 0, 0, 0, "Skip TLS verification of upstreams."},
    {"proxy_enable_http2", "PROXYENABLEHTTP2", TK_CONF_BOOL, OFF(proxy_enable_http2), NULL, 0, 0, 0,
     "Use HTTP/2 to upstreams."},
    {"proxy_ssl_min_version", "PROXYSSLMINVERSION", TK_CONF_INT, OFF(proxy_ssl_min_version), "0", 0,
     65535, 0, "Minimum upstream TLS version code (771 = TLS 1.2, 772 = TLS 1.3)."},
    {"proxy_ssl_max_version", "PROXYSSLMAXVERSION", TK_CONF_INT, OFF(proxy_ssl_max_version), "0", 0,
     65535, 0, "Maximum upstream TLS version code (0 means 771, raised to the minimum if lower)."},
    {"proxy_ssl_ciphers", "PROXYSSLCIPHERSUITES", TK_CONF_STRLIST, OFF(proxy_ssl_ciphers), NULL, 0,
     0, 0, "Allowed upstream cipher suites."},
    {"proxy_ssl_disable_renegotiation", "PROXYSSLDISABLERENEGOTIATION", TK_CONF_BOOL,
     OFF(proxy_ssl_disable_renegotiation), NULL, 0, 0, 0,
     "Refuse TLS renegotiation with upstreams."},
    {"proxy_close_connections", "PROXYCLOSECONNECTIONS", TK_CONF_BOOL, OFF(proxy_close_connections),
     NULL, 0, 0, 0, "Do not keep upstream connections alive."},
    {"max_idle_connections", "MAXIDLECONNS", TK_CONF_INT, OFF(max_idle_connections), "0", 0,
     1000000000, 0, "Idle upstream connections kept in total (0 = no limit)."},
    {"max_idle_connections_per_host", "MAXIDLECONNSPERHOST", TK_CONF_INT,
     OFF(max_idle_connections_per_host), "0", 0, 1000000000, 0,
     "Idle upstream connections kept per host (0 = 2, Go's default)."},
    {"max_conn_time", "MAXCONNTIME", TK_CONF_INT, OFF(max_conn_time), "0", 0, 1000000000, 0,
     "Seconds after which an upstream connection is replaced (0 = never)."},

    /* Keys and sessions */
    {"hash_keys", "HASHKEYS", TK_CONF_BOOL, OFF(hash_keys), NULL, 0, 0, 0,
     "Store keys hashed in Redis."},
    {"hash_key_function", "HASHKEYFUNCTION", TK_CONF_STRING, OFF(hash_key_function), NULL, 0, 0, 0,
     "murmur32, murmur64, murmur128 or sha256."},
    {"hash_key_function_fallback", "HASHKEYFUNCTIONFALLBACK", TK_CONF_STRLIST,
     OFF(hash_key_function_fallback), NULL, 0, 0, 0,
     "Other hash algorithms tried when looking keys up."},
    {"basic_auth_hash_key_function", "BASICAUTHHASHKEYFUNCTION", TK_CONF_STRING,
     OFF(basic_auth_hash_key_function), "bcrypt", 0, 0, 0,
     "Password hash for basic-auth keys (empty means bcrypt)."},
    {"enable_hashed_keys_listing", "ENABLEHASHEDKEYSLISTING", TK_CONF_BOOL,
     OFF(enable_hashed_keys_listing), NULL, 0, 0, 0,
     "Allow listing hashed keys on the control API."},
    {"disable_key_actions_by_username", "DISABLEKEYACTIONSBYUSERNAME", TK_CONF_BOOL,
     OFF(disable_key_actions_by_username), NULL, 0, 0, 0,
     "Disable key look-up by basic-auth username."},
    {"min_token_length", "MINTOKENLENGTH", TK_CONF_INT, OFF(min_token_length), "3", 0, 1000000, 0,
     "Shorter keys are rejected (0 means 3)."},
    {"allow_master_keys", "ALLOWMASTERKEYS", TK_CONF_BOOL, OFF(allow_master_keys), NULL, 0, 0, 0,
     "Keys without access rights may call every API."},
    {"enforce_org_quotas", "ENFORCEORGQUOTAS", TK_CONF_BOOL, OFF(enforce_org_quotas), NULL, 0, 0, 0,
     "Enforce organisation quotas."},
    {"enforce_org_data_age", "ENFORCEORGDATAAGE", TK_CONF_BOOL, OFF(enforce_org_data_age), NULL, 0,
     0, 0, "Expire analytics according to the organisation session."},
    {"enforce_org_data_detail_logging", "ENFORCEORGDATADETAILLOGGING", TK_CONF_BOOL,
     OFF(enforce_org_data_detail_logging), NULL, 0, 0, 0,
     "Detailed analytics switched per organisation."},
    {"experimental_process_org_off_thread", "EXPERIMENTALPROCESSORGOFFTHREAD", TK_CONF_BOOL,
     OFF(experimental_process_org_off_thread), NULL, 0, 0, 0,
     "Check organisation quotas asynchronously."},
    {"global_session_lifetime", "GLOBALSESSIONLIFETIME", TK_CONF_INT, OFF(global_session_lifetime),
     "0", 0, 1000000000000000, 0,
     "Redis TTL of keys in seconds when force_global_session_lifetime is set."},
    {"force_global_session_lifetime", "FORCEGLOBALSESSIONLIFETIME", TK_CONF_BOOL,
     OFF(force_global_session_lifetime), NULL, 0, 0, 0,
     "Use global_session_lifetime for every key."},
    {"session_lifetime_respects_key_expiration", "SESSIONLIFETIMERESPECTSKEYEXPIRATION",
     TK_CONF_BOOL, OFF(session_lifetime_respects_key_expiration), NULL, 0, 0, 0,
     "Never expire a key in Redis before its own expiry."},
    {"legacy_enable_allowance_countdown", "LEGACYENABLEALLOWANCECOUNTDOWN", TK_CONF_BOOL,
     OFF(legacy_enable_allowance_countdown), NULL, 0, 0, 0,
     "Decrement the session allowance on every request."},
    {"suppress_default_org_store", "SUPRESSDEFAULTORGSTORE", TK_CONF_BOOL,
     OFF(suppress_default_org_store), NULL, 0, 0, 0,
     "Do not create the default organisation store."},
    {"oauth_token_expire", "OAUTHTOKENEXPIRE", TK_CONF_INT, OFF(oauth_token_expire), "3600", 0,
     2147483647, 0, "OAuth access token lifetime in seconds (0 means 3600)."},
    {"oauth_refresh_token_expire", "OAUTHREFRESHEXPIRE", TK_CONF_INT,
     OFF(oauth_refresh_token_expire), "1209600", 0, 1000000000000000, 0,
     "OAuth refresh token lifetime in seconds (0 means 14 days)."},
    {"oauth_token_expired_retain_period", "OAUTHTOKENEXPIREDRETAINPERIOD", TK_CONF_INT,
     OFF(oauth_token_expired_retain_period), "0", 0, 2147483647, 0,
     "Seconds expired tokens stay listed for their client."},
    {"oauth_redirect_uri_separator", "OAUTHREDIRECTURISEPARATOR", TK_CONF_STRING,
     OFF(oauth_redirect_uri_separator), NULL, 0, 0, 0,
     "Separator between several redirect URIs of a client."},
    {"oauth_error_status_code", "OAUTHERRORSTATUSCODE", TK_CONF_INT, OFF(oauth_error_status_code),
     "403", 0, 599, 0, "HTTP status of OAuth errors (0 means 403)."},
    {"override_messages", "OVERRIDEMESSAGES", TK_CONF_JSON, OFF(override_messages), NULL, 0, 0, 0,
     "Map of error id to {\"code\", \"message\"} replacing built-in auth errors."},
    {"error_overrides", "ERROROVERRIDES", TK_CONF_JSON, OFF(error_overrides), NULL, 0, 0, 0,
     "Gateway-wide error response overrides."},
    {"event_handlers", "EVENTHANDLERS", TK_CONF_JSON, OFF(event_handlers), NULL, 0, 0, 0,
     "Global event handlers: {\"events\": {\"<Event>\": [{\"handler_name\", \"handler_meta\"}]}}."},
    {"secrets", "SECRETS", TK_CONF_JSON, OFF(secrets), NULL, 0, 0, 0,
     "Values for secrets://KEY references; from the environment as key:value,key2:value2."},
    {"kv", "KV", TK_CONF_JSON, OFF(kv), NULL, 0, 0, 0,
     "Consul and Vault settings (not used by Turnpike)."},

    /* Rate limiting (top-level keys) */
    {"enable_fixed_window_rate_limiter", "ENABLEFIXEDWINDOWRATELIMITER", TK_CONF_BOOL,
     OFF(enable_fixed_window_rate_limiter), NULL, 0, 0, 0, "Use the fixed-window rate limiter."},
    {"enable_redis_rolling_limiter", "ENABLEREDISROLLINGLIMITER", TK_CONF_BOOL,
     OFF(enable_redis_rolling_limiter), NULL, 0, 0, 0, "Use the Redis sliding-log rate limiter."},
    {"enable_sentinel_rate_limiter", "ENABLESENTINELRATELIMITER", TK_CONF_BOOL,
     OFF(enable_sentinel_rate_limiter), NULL, 0, 0, 0,
     "Use the sentinel (off-thread) rate limiter."},
    {"enable_rate_limit_smoothing", "ENABLERATELIMITSMOOTHING", TK_CONF_BOOL,
     OFF(enable_rate_limit_smoothing), NULL, 0, 0, 0,
     "Allow rate limit smoothing on the sliding-log limiters."},
    {"enable_non_transactional_rate_limiter", "ENABLENONTRANSACTIONALRATELIMITER", TK_CONF_BOOL,
     OFF(enable_non_transactional_rate_limiter), NULL, 0, 0, 0,
     "Pipeline Redis rate limit commands instead of MULTI."},
    {"drl_notification_frequency", "DRLNOTIFICATIONFREQUENCY", TK_CONF_INT,
     OFF(drl_notification_frequency), "2", 0, 86400, 0,
     "Seconds between distributed rate limiter updates (0 means 2)."},
    {"drl_threshold", "DRLTHRESHOLD", TK_CONF_FLOAT, OFF(drl_threshold), "5", 0, 1000000000, 0,
     "Per-gateway rate below which the Redis limiter is used instead of the DRL (0 means 5)."},
    {"drl_enable_sentinel_rate_limiter", "DRLENABLESENTINELRATELIMITER", TK_CONF_BOOL,
     OFF(drl_enable_sentinel_rate_limiter), NULL, 0, 0, 0,
     "Fallback limiter of the DRL is the sentinel one."},
    {"rate_limit_response_headers", "RATELIMITRESPONSEHEADERS", TK_CONF_STRING,
     OFF(rate_limit_response_headers), "quotas", 0, 0, 0,
     "Source of X-RateLimit-* headers: quotas or rate_limits (env name assumed)."},

    /* policies */
    {"policies.policy_source", "POLICIES_POLICYSOURCE", TK_CONF_STRING, OFF(policies_policy_source),
     NULL, 0, 0, 0, "service (Dashboard), rpc (MDCB) or file."},
    {"policies.policy_connection_string", "POLICIES_POLICYCONNECTIONSTRING", TK_CONF_STRING,
     OFF(policies_policy_connection_string), NULL, 0, 0, TK_CONF_SECRET,
     "Dashboard base URL for policy_source service."},
    {"policies.policy_record_name", "POLICIES_POLICYRECORDNAME", TK_CONF_STRING,
     OFF(policies_policy_record_name), NULL, 0, 0, 0,
     "Single JSON file of policies (used when policy_path is empty)."},
    {"policies.allow_explicit_policy_id", "POLICIES_ALLOWEXPLICITPOLICYID", TK_CONF_BOOL,
     OFF(policies_allow_explicit_policy_id), NULL, 0, 0, 0, "Use the id field of stored policies."},
    {"policies.policy_path", "POLICIES_POLICYPATH", TK_CONF_STRING, OFF(policies_policy_path), NULL,
     0, 0, 0, "Directory of policy *.json files; enables /tyk/policies."},
    {"ports_whitelist", "PORTWHITELIST", TK_CONF_JSON, OFF(ports_whitelist), NULL, 0, 0, 0,
     "Map of protocol to {\"ports\": [...], \"ranges\": [{\"from\", \"to\"}]}."},
    {"disable_ports_whitelist", "DISABLEPORTWHITELIST", TK_CONF_BOOL, OFF(disable_ports_whitelist),
     NULL, 0, 0, 0, "Allow APIs to listen on any port."},

    /* Dashboard / MDCB */
    {"use_db_app_configs", "USEDBAPPCONFIGS", TK_CONF_BOOL, OFF(use_db_app_configs), NULL, 0, 0, 0,
     "Load API definitions and policies from the Dashboard."},
    {"db_app_conf_options", "DBAPPCONFOPTIONS", TK_CONF_JSON, OFF(db_app_conf_options), NULL, 0, 0,
     0, "Whole db_app_conf_options object."},
    {"db_app_conf_options.connection_string", "DBAPPCONFOPTIONS_CONNECTIONSTRING", TK_CONF_STRING,
     OFF(db_app_conf_options_connection_string), NULL, 0, 0, TK_CONF_SECRET, "Dashboard base URL."},
    {"db_app_conf_options.connection_timeout", "DBAPPCONFOPTIONS_CONNECTIONTIMEOUT", TK_CONF_INT,
     OFF(db_app_conf_options_connection_timeout), "30", 0, 86400, 0,
     "Dashboard request timeout in seconds."},
    {"db_app_conf_options.node_is_segmented", "DBAPPCONFOPTIONS_NODEISSEGMENTED", TK_CONF_BOOL,
     OFF(db_app_conf_options_node_is_segmented), NULL, 0, 0, 0,
     "Load only APIs carrying one of tags."},
    {"db_app_conf_options.tags", "DBAPPCONFOPTIONS_TAGS", TK_CONF_STRLIST,
     OFF(db_app_conf_options_tags), NULL, 0, 0, 0, "Segment tags of this node."},
    {"slave_options", "SLAVEOPTIONS", TK_CONF_JSON, OFF(slave_options), NULL, 0, 0, 0,
     "Whole slave_options object (MDCB worker settings)."},
    {"slave_options.use_rpc", "SLAVEOPTIONS_USERPC", TK_CONF_BOOL, OFF(slave_options_use_rpc), NULL,
     0, 0, 0, "Connect to MDCB."},
    {"slave_options.use_ssl", "SLAVEOPTIONS_USESSL", TK_CONF_BOOL, OFF(slave_options_use_ssl), NULL,
     0, 0, 0, "TLS to MDCB."},
    {"slave_options.ssl_insecure_skip_verify", "SLAVEOPTIONS_SSLINSECURESKIPVERIFY", TK_CONF_BOOL,
     OFF(slave_options_ssl_insecure_skip_verify), NULL, 0, 0, 0,
     "Skip MDCB certificate verification."},
    {"slave_options.connection_string", "SLAVEOPTIONS_CONNECTIONSTRING", TK_CONF_STRING,
     OFF(slave_options_connection_string), NULL, 0, 0, 0, "MDCB host:port."},
    {"slave_options.rpc_key", "SLAVEOPTIONS_RPCKEY", TK_CONF_STRING, OFF(slave_options_rpc_key),
     NULL, 0, 0, 0, "Organisation id."},
    {"slave_options.api_key", "SLAVEOPTIONS_APIKEY", TK_CONF_STRING, OFF(slave_options_api_key),
     NULL, 0, 0, 0, "Dashboard user API key."},
    {"slave_options.enable_rpc_cache", "SLAVEOPTIONS_ENABLERPCCACHE", TK_CONF_BOOL,
     OFF(slave_options_enable_rpc_cache), NULL, 0, 0, 0, "Cache keys fetched over RPC."},
    {"slave_options.bind_to_slugs", "SLAVEOPTIONS_BINDTOSLUGSINSTEADOFLISTENPATHS", TK_CONF_BOOL,
     OFF(slave_options_bind_to_slugs), NULL, 0, 0, 0, "Legacy cloud routing by slug."},
    {"slave_options.disable_keyspace_sync", "SLAVEOPTIONS_DISABLEKEYSPACESYNC", TK_CONF_BOOL,
     OFF(slave_options_disable_keyspace_sync), NULL, 0, 0, 0, "Do not sync key changes from MDCB."},
    {"slave_options.group_id", "SLAVEOPTIONS_GROUPID", TK_CONF_STRING, OFF(slave_options_group_id),
     NULL, 0, 0, 0, "Cluster zone id."},
    {"slave_options.call_timeout", "SLAVEOPTIONS_CALLTIMEOUT", TK_CONF_INT,
     OFF(slave_options_call_timeout), "30", 0, 86400, 0,
     "RPC call timeout in seconds (0 means 30)."},
    {"slave_options.ping_timeout", "SLAVEOPTIONS_PINGTIMEOUT", TK_CONF_INT,
     OFF(slave_options_ping_timeout), "60", 0, 86400, 0,
     "RPC ping timeout in seconds (0 means 60)."},
    {"slave_options.rpc_pool_size", "SLAVEOPTIONS_RPCPOOLSIZE", TK_CONF_INT,
     OFF(slave_options_rpc_pool_size), "0", 0, 10000, 0, "RPC connections in the pool."},
    {"slave_options.key_space_sync_interval", "SLAVEOPTIONS_KEYSPACESYNCINTERVAL", TK_CONF_FLOAT,
     OFF(slave_options_key_space_sync_interval), "10", 0, 86400, 0,
     "Seconds between key-space sync checks (0 means 10)."},
    {"slave_options.rpc_cert_cache_expiration", "SLAVEOPTIONS_RPCCERTCACHEEXPIRATION",
     TK_CONF_FLOAT, OFF(slave_options_rpc_cert_cache_expiration), "3600", 0, 1000000000, 0,
     "Seconds certificates fetched over RPC are cached (0 means 3600)."},
    {"slave_options.rpc_global_cache_expiration", "SLAVEOPTIONS_RPCGLOBALCACHEEXPIRATION",
     TK_CONF_FLOAT, OFF(slave_options_rpc_global_cache_expiration), "30", 0, 1000000000, 0,
     "Seconds keys fetched over RPC are cached (0 means 30)."},
    {"slave_options.synchroniser_enabled", "SLAVEOPTIONS_SYNCHRONISERENABLED", TK_CONF_BOOL,
     OFF(slave_options_synchroniser_enabled), NULL, 0, 0, 0, "Follow MDCB synchroniser signals."},
    {"slave_options.sync_used_certs_only", "SLAVEOPTIONS_SYNCUSEDCERTSONLY", TK_CONF_BOOL,
     OFF(slave_options_sync_used_certs_only), NULL, 0, 0, 0,
     "Only sync certificates used by loaded APIs."},
    {"auth_override", "AUTHOVERRIDE", TK_CONF_JSON, OFF(auth_override), NULL, 0, 0, 0,
     "RPC/hybrid auth provider overrides."},

    /* storage */
    {"storage.type", "STORAGE_TYPE", TK_CONF_STRING, OFF(storage_type), "redis", 0, 0, 0,
     "Storage backend; only redis is supported."},
    {"storage.host", "STORAGE_HOST", TK_CONF_STRING, OFF(storage_host), "localhost", 0, 0, 0,
     "Redis host."},
    {"storage.port", "STORAGE_PORT", TK_CONF_INT, OFF(storage_port), "6379", 0, 65535, 0,
     "Redis port."},
    {"storage.hosts", "STORAGE_HOSTS", TK_CONF_JSON, OFF(storage_hosts), NULL, 0, 0, 0,
     "Deprecated map form of addrs."},
    {"storage.addrs", "STORAGE_ADDRS", TK_CONF_STRLIST, OFF(storage_addrs), NULL, 0, 0, 0,
     "host:port list; preferred over host and port (cluster or sentinel)."},
    {"storage.master_name", "STORAGE_MASTERNAME", TK_CONF_STRING, OFF(storage_master_name), NULL, 0,
     0, 0, "Sentinel master name; enables Sentinel mode."},
    {"storage.sentinel_password", "STORAGE_SENTINELPASSWORD", TK_CONF_STRING,
     OFF(storage_sentinel_password), NULL, 0, 0, 0, "Sentinel password."},
    {"storage.username", "STORAGE_USERNAME", TK_CONF_STRING, OFF(storage_username), NULL, 0, 0, 0,
     "Redis ACL user."},
    {"storage.password", "STORAGE_PASSWORD", TK_CONF_STRING, OFF(storage_password), NULL, 0, 0,
     TK_CONF_SECRET, "Redis password."},
    {"storage.database", "STORAGE_DATABASE", TK_CONF_INT, OFF(storage_database), "0", 0, 1000000000,
     0, "Redis database number (ignored in cluster mode)."},
    {"storage.optimisation_max_idle", "STORAGE_MAXIDLE", TK_CONF_INT, OFF(storage_max_idle), "100",
     0, 1000000000, 0, "Idle connections kept in the pool."},
    {"storage.optimisation_max_active", "STORAGE_MAXACTIVE", TK_CONF_INT, OFF(storage_max_active),
     "0", 0, 1000000000, 0, "Maximum connections (0 = 500)."},
    {"storage.timeout", "STORAGE_TIMEOUT", TK_CONF_INT, OFF(storage_timeout), "0", 0, 1000000000, 0,
     "Redis operation timeout in seconds (0 = 5)."},
    {"storage.enable_cluster", "STORAGE_ENABLECLUSTER", TK_CONF_BOOL, OFF(storage_enable_cluster),
     NULL, 0, 0, 0, "Redis Cluster mode."},
    {"storage.use_ssl", "STORAGE_USESSL", TK_CONF_BOOL, OFF(storage_use_ssl), NULL, 0, 0, 0,
     "TLS to Redis."},
    {"storage.ssl_insecure_skip_verify", "STORAGE_SSLINSECURESKIPVERIFY", TK_CONF_BOOL,
     OFF(storage_ssl_insecure_skip_verify), NULL, 0, 0, 0, "Skip Redis certificate verification."},
    {"storage.ca_file", "STORAGE_CAFILE", TK_CONF_STRING, OFF(storage_ca_file), NULL, 0, 0, 0,
     "CA bundle for Redis TLS."},
    {"storage.cert_file", "STORAGE_CERTFILE", TK_CONF_STRING, OFF(storage_cert_file), NULL, 0, 0, 0,
     "Client certificate for Redis TLS."},
    {"storage.key_file", "STORAGE_KEYFILE", TK_CONF_STRING, OFF(storage_key_file), NULL, 0, 0, 0,
     "Client key for Redis TLS."},
    {"storage.tls_min_version", "STORAGE_TLSMINVERSION", TK_CONF_STRING,
     OFF(storage_tls_min_version), NULL, 0, 0, 0,
     "Minimum Redis TLS version (\"1.2\"; empty = 1.2)."},
    {"storage.tls_max_version", "STORAGE_TLSMAXVERSION", TK_CONF_STRING,
     OFF(storage_tls_max_version), NULL, 0, 0, 0,
     "Maximum Redis TLS version (\"1.3\"; empty = 1.3)."},
    {"storage.compress_api_definitions", "STORAGE_COMPRESSAPIDEFINITIONS", TK_CONF_BOOL,
     OFF(storage_compress_api_definitions), NULL, 0, 0, 0,
     "Zstd-compress API definition backups in Redis."},
    {"enable_separate_cache_store", "ENABLESEPERATECACHESTORE", TK_CONF_BOOL,
     OFF(enable_separate_cache_store), NULL, 0, 0, 0, "Use cache_storage for the response cache."},
    {"cache_storage.type", "CACHESTORAGE_TYPE", TK_CONF_STRING, OFF(cache_storage_type), "redis", 0,
     0, 0, "Cache store: Storage backend; only redis is supported."},
    {"cache_storage.host", "CACHESTORAGE_HOST", TK_CONF_STRING, OFF(cache_storage_host),
     "localhost", 0, 0, 0, "Cache store: Redis host."},
    {"cache_storage.port", "CACHESTORAGE_PORT", TK_CONF_INT, OFF(cache_storage_port), "6379", 0,
     65535, 0, "Cache store: Redis port."},
    {"cache_storage.hosts", "CACHESTORAGE_HOSTS", TK_CONF_JSON, OFF(cache_storage_hosts), NULL, 0,
     0, 0, "Cache store: Deprecated map form of addrs."},
    {"cache_storage.addrs", "CACHESTORAGE_ADDRS", TK_CONF_STRLIST, OFF(cache_storage_addrs), NULL,
     0, 0, 0, "Cache store: host:port list; preferred over host and port (cluster or sentinel)."},
    {"cache_storage.master_name", "CACHESTORAGE_MASTERNAME", TK_CONF_STRING,
     OFF(cache_storage_master_name), NULL, 0, 0, 0,
     "Cache store: Sentinel master name; enables Sentinel mode."},
    {"cache_storage.sentinel_password", "CACHESTORAGE_SENTINELPASSWORD", TK_CONF_STRING,
     OFF(cache_storage_sentinel_password), NULL, 0, 0, 0, "Cache store: Sentinel password."},
    {"cache_storage.username", "CACHESTORAGE_USERNAME", TK_CONF_STRING, OFF(cache_storage_username),
     NULL, 0, 0, 0, "Cache store: Redis ACL user."},
    {"cache_storage.password", "CACHESTORAGE_PASSWORD", TK_CONF_STRING, OFF(cache_storage_password),
     NULL, 0, 0, TK_CONF_SECRET, "Cache store: Redis password."},
    {"cache_storage.database", "CACHESTORAGE_DATABASE", TK_CONF_INT, OFF(cache_storage_database),
     "0", 0, 1000000000, 0, "Cache store: Redis database number (ignored in cluster mode)."},
    {"cache_storage.optimisation_max_idle", "CACHESTORAGE_MAXIDLE", TK_CONF_INT,
     OFF(cache_storage_max_idle), "100", 0, 1000000000, 0,
     "Cache store: Idle connections kept in the pool."},
    {"cache_storage.optimisation_max_active", "CACHESTORAGE_MAXACTIVE", TK_CONF_INT,
     OFF(cache_storage_max_active), "0", 0, 1000000000, 0,
     "Cache store: Maximum connections (0 = 500)."},
    {"cache_storage.timeout", "CACHESTORAGE_TIMEOUT", TK_CONF_INT, OFF(cache_storage_timeout), "0",
     0, 1000000000, 0, "Cache store: Redis operation timeout in seconds (0 = 5)."},
    {"cache_storage.enable_cluster", "CACHESTORAGE_ENABLECLUSTER", TK_CONF_BOOL,
     OFF(cache_storage_enable_cluster), NULL, 0, 0, 0, "Cache store: Redis Cluster mode."},
    {"cache_storage.use_ssl", "CACHESTORAGE_USESSL", TK_CONF_BOOL, OFF(cache_storage_use_ssl), NULL,
     0, 0, 0, "Cache store: TLS to Redis."},
    {"cache_storage.ssl_insecure_skip_verify", "CACHESTORAGE_SSLINSECURESKIPVERIFY", TK_CONF_BOOL,
     OFF(cache_storage_ssl_insecure_skip_verify), NULL, 0, 0, 0,
     "Cache store: Skip Redis certificate verification."},
    {"cache_storage.ca_file", "CACHESTORAGE_CAFILE", TK_CONF_STRING, OFF(cache_storage_ca_file),
     NULL, 0, 0, 0, "Cache store: CA bundle for Redis TLS."},
    {"cache_storage.cert_file", "CACHESTORAGE_CERTFILE", TK_CONF_STRING,
     OFF(cache_storage_cert_file), NULL, 0, 0, 0, "Cache store: Client certificate for Redis TLS."},
    {"cache_storage.key_file", "CACHESTORAGE_KEYFILE", TK_CONF_STRING, OFF(cache_storage_key_file),
     NULL, 0, 0, 0, "Cache store: Client key for Redis TLS."},
    {"cache_storage.tls_min_version", "CACHESTORAGE_TLSMINVERSION", TK_CONF_STRING,
     OFF(cache_storage_tls_min_version), NULL, 0, 0, 0,
     "Cache store: Minimum Redis TLS version (\"1.2\"; empty = 1.2)."},
    {"cache_storage.tls_max_version", "CACHESTORAGE_TLSMAXVERSION", TK_CONF_STRING,
     OFF(cache_storage_tls_max_version), NULL, 0, 0, 0,
     "Cache store: Maximum Redis TLS version (\"1.3\"; empty = 1.3)."},
    {"cache_storage.compress_api_definitions", "CACHESTORAGE_COMPRESSAPIDEFINITIONS", TK_CONF_BOOL,
     OFF(cache_storage_compress_api_definitions), NULL, 0, 0, 0,
     "Cache store: Zstd-compress API definition backups in Redis."},
    {"enable_separate_analytics_store", "ENABLESEPERATEANALYTICSSTORE", TK_CONF_BOOL,
     OFF(enable_separate_analytics_store), NULL, 0, 0, 0,
     "Use analytics_storage for analytics records."},
    {"analytics_storage.type", "ANALYTICSSTORAGE_TYPE", TK_CONF_STRING, OFF(analytics_storage_type),
     "redis", 0, 0, 0, "Analytics store: Storage backend; only redis is supported."},
    {"analytics_storage.host", "ANALYTICSSTORAGE_HOST", TK_CONF_STRING, OFF(analytics_storage_host),
     "localhost", 0, 0, 0, "Analytics store: Redis host."},
    {"analytics_storage.port", "ANALYTICSSTORAGE_PORT", TK_CONF_INT, OFF(analytics_storage_port),
     "6379", 0, 65535, 0, "Analytics store: Redis port."},
    {"analytics_storage.hosts", "ANALYTICSSTORAGE_HOSTS", TK_CONF_JSON,
     OFF(analytics_storage_hosts), NULL, 0, 0, 0, "Analytics store: Deprecated map form of addrs."},
    {"analytics_storage.addrs", "ANALYTICSSTORAGE_ADDRS", TK_CONF_STRLIST,
     OFF(analytics_storage_addrs), NULL, 0, 0, 0,
     "Analytics store: host:port list; preferred over host and port (cluster or sentinel)."},
    {"analytics_storage.master_name", "ANALYTICSSTORAGE_MASTERNAME", TK_CONF_STRING,
     OFF(analytics_storage_master_name), NULL, 0, 0, 0,
     "Analytics store: Sentinel master name; enables Sentinel mode."},
    {"analytics_storage.sentinel_password", "ANALYTICSSTORAGE_SENTINELPASSWORD", TK_CONF_STRING,
     OFF(analytics_storage_sentinel_password), NULL, 0, 0, 0,
     "Analytics store: Sentinel password."},
    {"analytics_storage.username", "ANALYTICSSTORAGE_USERNAME", TK_CONF_STRING,
     OFF(analytics_storage_username), NULL, 0, 0, 0, "Analytics store: Redis ACL user."},
    {"analytics_storage.password", "ANALYTICSSTORAGE_PASSWORD", TK_CONF_STRING,
     OFF(analytics_storage_password), NULL, 0, 0, 0, "Analytics store: Redis password."},
    {"analytics_storage.database", "ANALYTICSSTORAGE_DATABASE", TK_CONF_INT,
     OFF(analytics_storage_database), "0", 0, 1000000000, 0,
     "Analytics store: Redis database number (ignored in cluster mode)."},
    {"analytics_storage.optimisation_max_idle", "ANALYTICSSTORAGE_MAXIDLE", TK_CONF_INT,
     OFF(analytics_storage_max_idle), "100", 0, 1000000000, 0,
     "Analytics store: Idle connections kept in the pool."},
    {"analytics_storage.optimisation_max_active", "ANALYTICSSTORAGE_MAXACTIVE", TK_CONF_INT,
     OFF(analytics_storage_max_active), "0", 0, 1000000000, 0,
     "Analytics store: Maximum connections (0 = 500)."},
    {"analytics_storage.timeout", "ANALYTICSSTORAGE_TIMEOUT", TK_CONF_INT,
     OFF(analytics_storage_timeout), "0", 0, 1000000000, 0,
     "Analytics store: Redis operation timeout in seconds (0 = 5)."},
    {"analytics_storage.enable_cluster", "ANALYTICSSTORAGE_ENABLECLUSTER", TK_CONF_BOOL,
     OFF(analytics_storage_enable_cluster), NULL, 0, 0, 0, "Analytics store: Redis Cluster mode."},
    {"analytics_storage.use_ssl", "ANALYTICSSTORAGE_USESSL", TK_CONF_BOOL,
     OFF(analytics_storage_use_ssl), NULL, 0, 0, 0, "Analytics store: TLS to Redis."},
    {"analytics_storage.ssl_insecure_skip_verify", "ANALYTICSSTORAGE_SSLINSECURESKIPVERIFY",
     TK_CONF_BOOL, OFF(analytics_storage_ssl_insecure_skip_verify), NULL, 0, 0, 0,
     "Analytics store: Skip Redis certificate verification."},
    {"analytics_storage.ca_file", "ANALYTICSSTORAGE_CAFILE", TK_CONF_STRING,
     OFF(analytics_storage_ca_file), NULL, 0, 0, 0, "Analytics store: CA bundle for Redis TLS."},
    {"analytics_storage.cert_file", "ANALYTICSSTORAGE_CERTFILE", TK_CONF_STRING,
     OFF(analytics_storage_cert_file), NULL, 0, 0, 0,
     "Analytics store: Client certificate for Redis TLS."},
    {"analytics_storage.key_file", "ANALYTICSSTORAGE_KEYFILE", TK_CONF_STRING,
     OFF(analytics_storage_key_file), NULL, 0, 0, 0, "Analytics store: Client key for Redis TLS."},
    {"analytics_storage.tls_min_version", "ANALYTICSSTORAGE_TLSMINVERSION", TK_CONF_STRING,
     OFF(analytics_storage_tls_min_version), NULL, 0, 0, 0,
     "Analytics store: Minimum Redis TLS version (\"1.2\"; empty = 1.2)."},
    {"analytics_storage.tls_max_version", "ANALYTICSSTORAGE_TLSMAXVERSION", TK_CONF_STRING,
     OFF(analytics_storage_tls_max_version), NULL, 0, 0, 0,
     "Analytics store: Maximum Redis TLS version (\"1.3\"; empty = 1.3)."},
    {"analytics_storage.compress_api_definitions", "ANALYTICSSTORAGE_COMPRESSAPIDEFINITIONS",
     TK_CONF_BOOL, OFF(analytics_storage_compress_api_definitions), NULL, 0, 0, 0,
     "Analytics store: Zstd-compress API definition backups in Redis."},

    /* http_server_options */
    {"http_server_options.read_timeout", "HTTPSERVEROPTIONS_READTIMEOUT", TK_CONF_INT,
     OFF(hso_read_timeout), "120", 0, 86400, 0, "Client read timeout in seconds (0 means 120)."},
    {"http_server_options.write_timeout", "HTTPSERVEROPTIONS_WRITETIMEOUT", TK_CONF_INT,
     OFF(hso_write_timeout), "120", 0, 86400, 0, "Client write timeout in seconds (0 means 120)."},
    {"http_server_options.use_ssl", "HTTPSERVEROPTIONS_USESSL", TK_CONF_BOOL, OFF(hso_use_ssl),
     NULL, 0, 0, 0, "Serve HTTPS."},
    {"http_server_options.enable_http2", "HTTPSERVEROPTIONS_ENABLEHTTP2", TK_CONF_BOOL,
     OFF(hso_enable_http2), NULL, 0, 0, 0, "Offer HTTP/2 to clients."},
    {"http_server_options.enable_strict_routes", "HTTPSERVEROPTIONS_ENABLESTRICTROUTES",
     TK_CONF_BOOL, OFF(hso_enable_strict_routes), NULL, 0, 0, 0, "/app no longer matches /apple."},
    {"http_server_options.enable_path_prefix_matching",
     "HTTPSERVEROPTIONS_ENABLEPATHPREFIXMATCHING", TK_CONF_BOOL,
     OFF(hso_enable_path_prefix_matching), NULL, 0, 0, 0, "Endpoint patterns match as prefixes."},
    {"http_server_options.enable_path_suffix_matching",
     "HTTPSERVEROPTIONS_ENABLEPATHSUFFIXMATCHING", TK_CONF_BOOL,
     OFF(hso_enable_path_suffix_matching), NULL, 0, 0, 0, "Endpoint patterns match as suffixes."},
    {"http_server_options.ssl_insecure_skip_verify", "HTTPSERVEROPTIONS_SSLINSECURESKIPVERIFY",
     TK_CONF_BOOL, OFF(hso_ssl_insecure_skip_verify), NULL, 0, 0, 0,
     "Skip verification of client certificates."},
    {"http_server_options.enable_websockets", "HTTPSERVEROPTIONS_ENABLEWEBSOCKETS", TK_CONF_BOOL,
     OFF(hso_enable_websockets), NULL, 0, 0, 0, "Proxy WebSocket upgrades."},
    {"http_server_options.certificates", "HTTPSERVEROPTIONS_CERTIFICATES", TK_CONF_JSON,
     OFF(hso_certificates), NULL, 0, 0, 0,
     "[{\"domain_name\", \"cert_file\", \"key_file\"}] (deprecated; JSON in the environment)."},
    {"http_server_options.ssl_certificates", "HTTPSERVEROPTIONS_SSLCERTIFICATES", TK_CONF_STRLIST,
     OFF(hso_ssl_certificates), NULL, 0, 0, 0,
     "Certificate ids or PEM paths served by the listener."},
    {"http_server_options.server_name", "HTTPSERVEROPTIONS_SERVERNAME", TK_CONF_STRING,
     OFF(hso_server_name), NULL, 0, 0, 0, "Server name of the listener."},
    {"http_server_options.min_version", "HTTPSERVEROPTIONS_MINVERSION", TK_CONF_INT,
     OFF(hso_min_version), "0", 0, 65535, 0, "Minimum client TLS version code."},
    {"http_server_options.max_version", "HTTPSERVEROPTIONS_MAXVERSION", TK_CONF_INT,
     OFF(hso_max_version), "0", 0, 65535, 0,
     "Maximum client TLS version code (0 means 771, raised to the minimum if lower)."},
    {"http_server_options.skip_client_ca_announcement",
     "HTTPSERVEROPTIONS_SKIPCLIENTCAANNOUNCEMENT", TK_CONF_BOOL,
     OFF(hso_skip_client_ca_announcement), NULL, 0, 0, 0,
     "Do not list client CAs in the TLS handshake."},
    {"http_server_options.flush_interval", "HTTPSERVEROPTIONS_FLUSHINTERVAL", TK_CONF_INT,
     OFF(hso_flush_interval), "0", 0, 1000000000, 0,
     "Flush interval for streamed upstream responses, in milliseconds."},
    {"http_server_options.skip_url_cleaning", "HTTPSERVEROPTIONS_SKIPURLCLEANING", TK_CONF_BOOL,
     OFF(hso_skip_url_cleaning), NULL, 0, 0, 0, "Keep double slashes in request paths."},
    {"http_server_options.skip_target_path_escaping", "HTTPSERVEROPTIONS_SKIPTARGETPATHESCAPING",
     TK_CONF_BOOL, OFF(hso_skip_target_path_escaping), NULL, 0, 0, 0,
     "Forward the path without re-escaping."},
    {"http_server_options.ssl_ciphers", "HTTPSERVEROPTIONS_CIPHERS", TK_CONF_STRLIST,
     OFF(hso_ssl_ciphers), NULL, 0, 0, 0, "Allowed client cipher suites."},
    {"http_server_options.max_request_body_size", "HTTPSERVEROPTIONS_MAXREQUESTBODYSIZE",
     TK_CONF_INT, OFF(hso_max_request_body_size), "0", 0, 1000000000000000, 0,
     "Largest accepted request body in bytes (0 = no limit)."},
    {"http_server_options.max_response_body_size", "HTTPSERVEROPTIONS_MAXRESPONSEBODYSIZE",
     TK_CONF_INT, OFF(hso_max_response_body_size), "0", 0, 1000000000000000, 0,
     "Largest response body in bytes for body transforms (0 = no limit)."},
    {"http_server_options.xff_depth", "HTTPSERVEROPTIONS_XFFDEPTH", TK_CONF_INT, OFF(hso_xff_depth),
     "0", 0, 1000, 0, "X-Forwarded-For position from the right used as client IP (0 = first)."},

    /* security */
    {"security", "SECURITY", TK_CONF_JSON, OFF(security), NULL, 0, 0, 0, "Whole security object."},
    {"security.private_certificate_encoding_secret", "SECURITY_PRIVATECERTIFICATEENCODINGSECRET",
     TK_CONF_STRING, OFF(security_private_certificate_encoding_secret), NULL, 0, 0, TK_CONF_SECRET,
     "AES key for stored certificate private keys."},
    {"security.control_api_use_mutual_tls", "SECURITY_CONTROLAPIUSEMUTUALTLS", TK_CONF_BOOL,
     OFF(security_control_api_use_mutual_tls), NULL, 0, 0, 0,
     "Require client certificates on the control API."},
    {"security.allow_unsafe_dynamic_mtls_token", "SECURITY_ALLOWUNSAFEDYNAMICMTLSTOKEN",
     TK_CONF_BOOL, OFF(security_allow_unsafe_dynamic_mtls_token), NULL, 0, 0, 0,
     "Dynamic mTLS accepts a token without a certificate."},
    {"security.pinned_public_keys", "SECURITY_PINNEDPUBLICKEYS", TK_CONF_JSON,
     OFF(security_pinned_public_keys), NULL, 0, 0, 0, "Map of host to pinned public key ids."},
    {"security.certificates.apis", "SECURITY_CERTIFICATES_API", TK_CONF_STRLIST,
     OFF(security_certificates_apis), NULL, 0, 0, 0, "Server certificates for APIs."},
    {"security.certificates.upstream", "SECURITY_CERTIFICATES_UPSTREAM", TK_CONF_JSON,
     OFF(security_certificates_upstream), NULL, 0, 0, 0,
     "Map of upstream host to client certificate."},
    {"security.certificates.control_api", "SECURITY_CERTIFICATES_CONTROLAPI", TK_CONF_STRLIST,
     OFF(security_certificates_control_api), NULL, 0, 0, 0, "Certificates for control API mTLS."},
    {"security.certificates.dashboard_api", "SECURITY_CERTIFICATES_DASHBOARD", TK_CONF_STRLIST,
     OFF(security_certificates_dashboard_api), NULL, 0, 0, 0,
     "Client certificates for the Dashboard."},
    {"security.certificates.mdcb_api", "SECURITY_CERTIFICATES_MDCB", TK_CONF_STRLIST,
     OFF(security_certificates_mdcb_api), NULL, 0, 0, 0, "Client certificates for MDCB."},
    {"security.certificate_expiry_monitor.warning_threshold_days",
     "SECURITY_CERTIFICATEEXPIRYMONITOR_WARNINGTHRESHOLDDAYS", TK_CONF_INT,
     OFF(security_cert_expiry_warning_threshold_days), "30", 0, 36500, 0,
     "Days before expiry that CertificateExpiringSoon fires."},
    {"security.certificate_expiry_monitor.check_cooldown_seconds",
     "SECURITY_CERTIFICATEEXPIRYMONITOR_CHECKCOOLDOWNSECONDS", TK_CONF_INT,
     OFF(security_cert_expiry_check_cooldown_seconds), "3600", 0, 1000000000, 0,
     "Seconds between expiry checks of one certificate."},
    {"security.certificate_expiry_monitor.event_cooldown_seconds",
     "SECURITY_CERTIFICATEEXPIRYMONITOR_EVENTCOOLDOWNSECONDS", TK_CONF_INT,
     OFF(security_cert_expiry_event_cooldown_seconds), "86400", 0, 1000000000, 0,
     "Seconds between repeated expiry events."},
    {"external_services", "EXTERNALSERVICES", TK_CONF_JSON, OFF(external_services), NULL, 0, 0, 0,
     "Proxy and mTLS settings for outbound services."},

    /* Analytics and monitoring */
    {"enable_analytics", "ENABLEANALYTICS", TK_CONF_BOOL, OFF(enable_analytics), NULL, 0, 0, 0,
     "Record analytics to Redis."},
    {"analytics_config", "ANALYTICSCONFIG", TK_CONF_JSON, OFF(analytics_config), NULL, 0, 0, 0,
     "Whole analytics_config object."},
    {"analytics_config.type", "ANALYTICSCONFIG_TYPE", TK_CONF_STRING, OFF(analytics_config_type),
     NULL, 0, 0, 0, "Empty or rpc."},
    {"analytics_config.ignored_ips", "ANALYTICSCONFIG_IGNOREDIPS", TK_CONF_STRLIST,
     OFF(analytics_config_ignored_ips), NULL, 0, 0, 0, "Client IPs never recorded."},
    {"analytics_config.enable_detailed_recording", "ANALYTICSCONFIG_ENABLEDETAILEDRECORDING",
     TK_CONF_BOOL, OFF(analytics_config_enable_detailed_recording), NULL, 0, 0, 0,
     "Store raw request and response."},
    {"analytics_config.enable_geo_ip", "ANALYTICSCONFIG_ENABLEGEOIP", TK_CONF_BOOL,
     OFF(analytics_config_enable_geo_ip), NULL, 0, 0, 0, "Add GeoIP data."},
    {"analytics_config.geo_ip_db_path", "ANALYTICSCONFIG_GEOIPDBLOCATION", TK_CONF_STRING,
     OFF(analytics_config_geo_ip_db_path), NULL, 0, 0, 0, "MaxMind database path."},
    {"analytics_config.normalise_urls.enabled", "ANALYTICSCONFIG_NORMALISEURLS_ENABLED",
     TK_CONF_BOOL, OFF(analytics_config_normalise_urls_enabled), NULL, 0, 0, 0,
     "Normalise recorded paths."},
    {"analytics_config.normalise_urls.normalise_uuids",
     "ANALYTICSCONFIG_NORMALISEURLS_NORMALISEUUIDS", TK_CONF_BOOL,
     OFF(analytics_config_normalise_urls_normalise_uuids), NULL, 0, 0, 0,
     "Replace UUIDs with {uuid}."},
    {"analytics_config.normalise_urls.normalise_ulids",
     "ANALYTICSCONFIG_NORMALISEURLS_NORMALISEULIDS", TK_CONF_BOOL,
     OFF(analytics_config_normalise_urls_normalise_ulids), NULL, 0, 0, 0,
     "Replace ULIDs with {ulid}."},
    {"analytics_config.normalise_urls.normalise_numbers",
     "ANALYTICSCONFIG_NORMALISEURLS_NORMALISENUMBERS", TK_CONF_BOOL,
     OFF(analytics_config_normalise_urls_normalise_numbers), NULL, 0, 0, 0,
     "Replace numeric segments with {id}."},
    {"analytics_config.normalise_urls.custom_patterns", "ANALYTICSCONFIG_NORMALISEURLS_CUSTOM",
     TK_CONF_STRLIST, OFF(analytics_config_normalise_urls_custom_patterns), NULL, 0, 0, 0,
     "Extra regular expressions replaced with {var}."},
    {"analytics_config.pool_size", "ANALYTICSCONFIG_POOLSIZE", TK_CONF_INT,
     OFF(analytics_config_pool_size), "0", 0, 100000, 0, "Analytics workers (0 = one per CPU)."},
    {"analytics_config.records_buffer_size", "ANALYTICSCONFIG_RECORDSBUFFERSIZE", TK_CONF_INT,
     OFF(analytics_config_records_buffer_size), "1000", 0, 1000000000000, 0,
     "Queued records per worker (0 means 1000)."},
    {"analytics_config.storage_expiration_time", "ANALYTICSCONFIG_STORAGEEXPIRATIONTIME",
     TK_CONF_INT, OFF(analytics_config_storage_expiration_time), "60", -1, 1000000000000, 0,
     "TTL in seconds of unprocessed analytics (0 means 60, -1 = none)."},
    {"analytics_config.enable_multiple_analytics_keys",
     "ANALYTICSCONFIG_ENABLEMULTIPLEANALYTICSKEYS", TK_CONF_BOOL,
     OFF(analytics_config_enable_multiple_analytics_keys), NULL, 0, 0, 0,
     "Spread records over several Redis keys."},
    {"analytics_config.purge_interval", "ANALYTICSCONFIG_PURGEINTERVAL", TK_CONF_FLOAT,
     OFF(analytics_config_purge_interval), "10", 0, 86400, 0,
     "Seconds between analytics flushes (0 means 10)."},
    {"analytics_config.serializer_type", "ANALYTICSCONFIG_SERIALIZERTYPE", TK_CONF_STRING,
     OFF(analytics_config_serializer_type), NULL, 0, 0, 0, "msgpack (default) or protobuf."},
    {"monitor", "MONITOR", TK_CONF_JSON, OFF(monitor), NULL, 0, 0, 0,
     "Whole monitor object (quota trigger webhooks)."},
    {"monitor.enable_trigger_monitors", "MONITOR_ENABLETRIGGERMONITORS", TK_CONF_BOOL,
     OFF(monitor_enable_trigger_monitors), NULL, 0, 0, 0, "Fire quota trigger events."},
    {"monitor.configuration.method", "MONITOR_CONFIG_METHOD", TK_CONF_STRING,
     OFF(monitor_configuration_method), NULL, 0, 0, 0, "Webhook method."},
    {"monitor.configuration.target_path", "MONITOR_CONFIG_TARGETPATH", TK_CONF_STRING,
     OFF(monitor_configuration_target_path), NULL, 0, 0, 0, "Webhook URL."},
    {"monitor.configuration.template_path", "MONITOR_CONFIG_TEMPLATEPATH", TK_CONF_STRING,
     OFF(monitor_configuration_template_path), NULL, 0, 0, 0, "Webhook body template."},
    {"monitor.configuration.header_map", "MONITOR_CONFIG_HEADERLIST", TK_CONF_JSON,
     OFF(monitor_configuration_header_map), NULL, 0, 0, 0, "Webhook headers."},
    {"monitor.configuration.event_timeout", "MONITOR_CONFIG_EVENTTIMEOUT", TK_CONF_INT,
     OFF(monitor_configuration_event_timeout), "0", 0, 1000000000, 0,
     "Seconds before the same event fires again."},
    {"monitor.global_trigger_limit", "MONITOR_GLOBALTRIGGERLIMIT", TK_CONF_FLOAT,
     OFF(monitor_global_trigger_limit), "0", 0, 100, 0, "Quota percentage that fires the trigger."},
    {"monitor.monitor_user_keys", "MONITOR_MONITORUSERKEYS", TK_CONF_BOOL,
     OFF(monitor_monitor_user_keys), NULL, 0, 0, 0, "Monitor user keys."},
    {"monitor.monitor_org_keys", "MONITOR_MONITORORGKEYS", TK_CONF_BOOL,
     OFF(monitor_monitor_org_keys), NULL, 0, 0, 0, "Monitor organisation keys."},
    {"uptime_tests", "UPTIMETESTS", TK_CONF_JSON, OFF(uptime_tests), NULL, 0, 0, 0,
     "Whole uptime_tests object."},
    {"uptime_tests.disable", "UPTIMETESTS_DISABLE", TK_CONF_BOOL, OFF(uptime_tests_disable), NULL,
     0, 0, 0, "Disable uptime tests on this node."},
    {"uptime_tests.poller_group", "UPTIMETESTS_POLLERGROUP", TK_CONF_STRING,
     OFF(uptime_tests_poller_group), NULL, 0, 0, 0, "Poller group shared by one cluster."},
    {"uptime_tests.config.failure_trigger_sample_size",
     "UPTIMETESTS_CONFIG_FAILURETRIGGERSAMPLESIZE", TK_CONF_INT,
     OFF(uptime_tests_config_failure_trigger_sample_size), "3", 0, 1000000, 0,
     "Failures before HostDown (0 means 3)."},
    {"uptime_tests.config.time_wait", "UPTIMETESTS_CONFIG_TIMEWAIT", TK_CONF_INT,
     OFF(uptime_tests_config_time_wait), "0", 0, 1000000000, 0, "Seconds between test rounds."},
    {"uptime_tests.config.checker_pool_size", "UPTIMETESTS_CONFIG_CHECKERPOOLSIZE", TK_CONF_INT,
     OFF(uptime_tests_config_checker_pool_size), "0", 0, 1000000, 0,
     "Concurrent checkers (0 = one per CPU)."},
    {"uptime_tests.config.enable_uptime_analytics", "UPTIMETESTS_CONFIG_ENABLEUPTIMEANALYTICS",
     TK_CONF_BOOL, OFF(uptime_tests_config_enable_uptime_analytics), NULL, 0, 0, 0,
     "Record uptime analytics."},
    {"health_check.enable_health_checks", "HEALTHCHECK_ENABLEHEALTHCHECKS", TK_CONF_BOOL,
     OFF(health_check_enable_health_checks), NULL, 0, 0, 0, "Deprecated health sampling."},
    {"health_check.health_check_value_timeouts", "HEALTHCHECK_HEALTHCHECKVALUETIMEOUT", TK_CONF_INT,
     OFF(health_check_health_check_value_timeouts), "0", 0, 1000000000, 0,
     "Health sample window in seconds."},
    {"liveness_check.check_duration", "LIVENESSCHECK_CHECKDURATION", TK_CONF_INT,
     OFF(liveness_check_check_duration), "10000000000", 0, 1000000000000000, TK_CONF_DURATION,
     "Interval of Redis/Dashboard/RPC health probes in nanoseconds (environment also takes "
     "\"10s\")."},
    {"service_discovery.default_cache_timeout", "SERVICEDISCOVERY_DEFAULTCACHETIMEOUT", TK_CONF_INT,
     OFF(service_discovery_default_cache_timeout), "0", 0, 1000000000, 0,
     "Service discovery cache seconds."},
    {"dns_cache", "DNSCACHE", TK_CONF_JSON, OFF(dns_cache), NULL, 0, 0, 0,
     "Whole dns_cache object."},
    {"dns_cache.enabled", "DNSCACHE_ENABLED", TK_CONF_BOOL, OFF(dns_cache_enabled), NULL, 0, 0, 0,
     "Cache upstream DNS answers."},
    {"dns_cache.ttl", "DNSCACHE_TTL", TK_CONF_INT, OFF(dns_cache_ttl), "3600", -1, 1000000000, 0,
     "Seconds an answer is cached (-1 = forever)."},
    {"dns_cache.multiple_ips_handle_strategy", "DNSCACHE_MULTIPLEIPSHANDLESTRATEGY", TK_CONF_STRING,
     OFF(dns_cache_multiple_ips_handle_strategy), "no_cache", 0, 0, 0,
     "pick_first, random or no_cache."},
    {"disable_regexp_cache", "DISABLEREGEXPCACHE", TK_CONF_BOOL, OFF(disable_regexp_cache), NULL, 0,
     0, 0, "Do not cache compiled regular expressions."},
    {"regexp_cache_expire", "REGEXPCACHEEXPIRE", TK_CONF_INT, OFF(regexp_cache_expire), "60", 0,
     2147483647, 0, "Seconds compiled expressions stay cached (0 means 60)."},
    {"local_session_cache", "LOCALSESSIONCACHE", TK_CONF_JSON, OFF(local_session_cache), NULL, 0, 0,
     0, "Whole local_session_cache object."},
    {"local_session_cache.disable_cached_session_state",
     "LOCALSESSIONCACHE_DISABLECACHESESSIONSTATE", TK_CONF_BOOL,
     OFF(local_session_cache_disable_cached_session_state), NULL, 0, 0, 0,
     "Do not cache sessions in process."},
    {"local_session_cache.cached_session_timeout", "LOCALSESSIONCACHE_CACHEDSESSIONTIMEOUT",
     TK_CONF_INT, OFF(local_session_cache_cached_session_timeout), "0", 0, 1000000000, 0,
     "Seconds a cached session is used."},
    {"local_session_cache.cached_session_eviction", "LOCALSESSIONCACHE_CACHESESSIONEVICTION",
     TK_CONF_INT, OFF(local_session_cache_cached_session_eviction), "0", 0, 1000000000, 0,
     "Seconds between cache evictions."},
    {"access_logs.enabled", "ACCESSLOGS_ENABLED", TK_CONF_BOOL, OFF(access_logs_enabled), NULL, 0,
     0, 0, "Write one access log line per request."},
    {"access_logs.template", "ACCESSLOGS_TEMPLATE", TK_CONF_STRLIST, OFF(access_logs_template),
     NULL, 0, 0, 0, "Fields included in access log lines (empty = all)."},
    {"tracing", "TRACER", TK_CONF_JSON, OFF(tracing), NULL, 0, 0, 0,
     "OpenTracing settings (not used by Turnpike)."},
    {"opentelemetry", "OPENTELEMETRY", TK_CONF_JSON, OFF(opentelemetry), NULL, 0, 0, 0,
     "OpenTelemetry settings."},
    {"newrelic", "NEWRELIC", TK_CONF_JSON, OFF(newrelic), NULL, 0, 0, 0,
     "New Relic settings (not used by Turnpike)."},
    {"enable_http_profiler", "HTTPPROFILE", TK_CONF_BOOL, OFF(enable_http_profiler), NULL, 0, 0, 0,
     "Expose profiling endpoints."},
    {"use_redis_log", "USEREDISLOG", TK_CONF_BOOL, OFF(use_redis_log), NULL, 0, 0, 0,
     "Send logs to Redis for the Dashboard."},
    {"use_sentry", "USESENTRY", TK_CONF_BOOL, OFF(use_sentry), NULL, 0, 0, 0,
     "Send errors to Sentry."},
    {"sentry_code", "SENTRYCODE", TK_CONF_STRING, OFF(sentry_code), NULL, 0, 0, 0, "Sentry DSN."},
    {"sentry_log_level", "SENTRYLOGLEVEL", TK_CONF_STRING, OFF(sentry_log_level), NULL, 0, 0, 0,
     "Sentry level: empty or panic."},
    {"use_syslog", "USESYSLOG", TK_CONF_BOOL, OFF(use_syslog), NULL, 0, 0, 0, "Log to syslog."},
    {"syslog_transport", "SYSLOGTRANSPORT", TK_CONF_STRING, OFF(syslog_transport), NULL, 0, 0, 0,
     "tcp or udp."},
    {"syslog_network_addr", "SYSLOGNETWORKADDR", TK_CONF_STRING, OFF(syslog_network_addr), NULL, 0,
     0, 0, "Syslog server address."},
    {"use_graylog", "USEGRAYLOG", TK_CONF_BOOL, OFF(use_graylog), NULL, 0, 0, 0, "Log to Graylog."},
    {"graylog_network_addr", "GRAYLOGNETWORKADDR", TK_CONF_STRING, OFF(graylog_network_addr), NULL,
     0, 0, 0, "Graylog server address."},
    {"use_logstash", "USELOGSTASH", TK_CONF_BOOL, OFF(use_logstash), NULL, 0, 0, 0,
     "Log to Logstash."},
    {"logstash_transport", "LOGSTASHTRANSPORT", TK_CONF_STRING, OFF(logstash_transport), NULL, 0, 0,
     0, "tcp or udp."},
    {"logstash_network_addr", "LOGSTASHNETWORKADDR", TK_CONF_STRING, OFF(logstash_network_addr),
     NULL, 0, 0, 0, "Logstash server address."},
    {"statsd_connection_string", "STATSDCONNECTIONSTRING", TK_CONF_STRING,
     OFF(statsd_connection_string), NULL, 0, 0, 0, "StatsD address; enables StatsD."},
    {"statsd_prefix", "STATSDPREFIX", TK_CONF_STRING, OFF(statsd_prefix), NULL, 0, 0, 0,
     "StatsD metric prefix."},

    /* Plugins */
    {"enable_jsvm", "ENABLEJSVM", TK_CONF_BOOL, OFF(enable_jsvm), NULL, 0, 0, 0,
     "Enable JavaScript middleware and virtual endpoints."},
    {"jsvm_timeout", "JSVMTIMEOUT", TK_CONF_INT, OFF(jsvm_timeout), "5", 0, 86400, 0,
     "JSVM execution timeout in seconds (0 means 5)."},
    {"disable_virtual_path_blobs", "DISABLEVIRTUALPATHBLOBS", TK_CONF_BOOL,
     OFF(disable_virtual_path_blobs), NULL, 0, 0, 0, "Do not load virtual endpoint code."},
    {"enable_bundle_downloader", "ENABLEBUNDLEDOWNLOADER", TK_CONF_BOOL,
     OFF(enable_bundle_downloader), NULL, 0, 0, 0, "Download plugin bundles."},
    {"bundle_base_url", "BUNDLEBASEURL", TK_CONF_STRING, OFF(bundle_base_url), NULL, 0, 0, 0,
     "Base URL of plugin bundles."},
    {"bundle_insecure_skip_verify", "BUNDLEINSECURESKIPVERIFY", TK_CONF_BOOL,
     OFF(bundle_insecure_skip_verify), NULL, 0, 0, 0,
     "Skip TLS verification for bundle downloads."},
    {"skip_verify_existing_plugin_bundle", "SKIPVERIFYEXISTINGPLUGINBUNDLE", TK_CONF_BOOL,
     OFF(skip_verify_existing_plugin_bundle), NULL, 0, 0, 0,
     "Do not re-check bundles already on disk."},
    {"coprocess_options", "COPROCESSOPTIONS", TK_CONF_JSON, OFF(coprocess_options), NULL, 0, 0, 0,
     "Whole coprocess_options object."},
    {"coprocess_options.enable_coprocess", "COPROCESSOPTIONS_ENABLECOPROCESS", TK_CONF_BOOL,
     OFF(coprocess_options_enable_coprocess), NULL, 0, 0, 0, "Enable gRPC/Python plugins."},
    {"coprocess_options.coprocess_grpc_server", "COPROCESSOPTIONS_COPROCESSGRPCSERVER",
     TK_CONF_STRING, OFF(coprocess_options_coprocess_grpc_server), NULL, 0, 0, 0,
     "gRPC plugin server address."},
    {"coprocess_options.grpc_recv_max_size", "COPROCESSOPTIONS_GRPCRECVMAXSIZE", TK_CONF_INT,
     OFF(coprocess_options_grpc_recv_max_size), "0", 0, 2147483647, 0,
     "Largest gRPC message received."},
    {"coprocess_options.grpc_send_max_size", "COPROCESSOPTIONS_GRPCSENDMAXSIZE", TK_CONF_INT,
     OFF(coprocess_options_grpc_send_max_size), "0", 0, 2147483647, 0,
     "Largest gRPC message sent."},
    {"coprocess_options.grpc_authority", "COPROCESSOPTIONS_GRPCAUTHORITY", TK_CONF_STRING,
     OFF(coprocess_options_grpc_authority), NULL, 0, 0, 0, ":authority for gRPC calls."},
    {"coprocess_options.grpc_round_robin_load_balancing",
     "COPROCESSOPTIONS_GRPCROUNDROBINLOADBALANCING", TK_CONF_BOOL,
     OFF(coprocess_options_grpc_round_robin_load_balancing), NULL, 0, 0, 0,
     "Round-robin over gRPC servers."},
    {"coprocess_options.python_path_prefix", "COPROCESSOPTIONS_PYTHONPATHPREFIX", TK_CONF_STRING,
     OFF(coprocess_options_python_path_prefix), NULL, 0, 0, 0, "Python module path prefix."},
    {"coprocess_options.python_version", "COPROCESSOPTIONS_PYTHONVERSION", TK_CONF_STRING,
     OFF(coprocess_options_python_version), NULL, 0, 0, 0, "Python version."},
    {"resource_sync.retry_attempts", "RESOURCESYNC_RETRYATTEMPTS", TK_CONF_INT,
     OFF(resource_sync_retry_attempts), "0", 0, 1000000, 0, "Retries of a failed API/policy sync."},
    {"resource_sync.interval", "RESOURCESYNC_INTERVAL", TK_CONF_INT, OFF(resource_sync_interval),
     "0", 0, 86400, 0, "Seconds between sync retries."},
    {"jwks.cache.timeout", "JWKS_CACHE_TIMEOUT", TK_CONF_INT, OFF(jwks_cache_timeout), "240", 0,
     1000000000000000, 0, "Seconds a JWKS stays cached (0 means 240)."},
    {"oas_config", "OAS", TK_CONF_JSON, OFF(oas_config), NULL, 0, 0, 0,
     "OpenAPI validation options."},
    {"streaming", "STREAMING", TK_CONF_JSON, OFF(streaming), NULL, 0, 0, 0,
     "Tyk Streams settings (not used by Turnpike)."},
    {"labs", "LABS", TK_CONF_JSON, OFF(labs), NULL, 0, 0, 0, "Experimental settings."},

    /* Turnpike extensions */
    {"turnpike_workers", "TURNPIKEWORKERS", TK_CONF_INT, OFF(turnpike_workers), "0", 0, 4096, 0,
     "Worker threads (0 = one per CPU the process may run on)."},
    {"turnpike_jsvm_threads", "TURNPIKEJSVMTHREADS", TK_CONF_INT, OFF(turnpike_jsvm_threads), "0",
     0, 4096, 0,
     "Threads that run JavaScript plugins and virtual endpoints, off the workers (0 = as many "
     "as workers)."},
    {"turnpike_cpu_affinity", "TURNPIKECPUAFFINITY", TK_CONF_BOOL, OFF(turnpike_cpu_affinity),
     "true", 0, 0, 0, "Pin each worker thread to one CPU."},
    {"turnpike_max_header_size", "TURNPIKEMAXHEADERSIZE", TK_CONF_INT,
     OFF(turnpike_max_header_size), "32768", 1024, 16777216, 0,
     "Largest accepted request head in bytes."},
    {"turnpike_header_timeout", "TURNPIKEHEADERTIMEOUT", TK_CONF_INT, OFF(turnpike_header_timeout),
     "10", 1, 3600, 0, "Seconds to receive a complete request head."},
    {"turnpike_idle_timeout", "TURNPIKEIDLETIMEOUT", TK_CONF_INT, OFF(turnpike_idle_timeout), "120",
     0, 86400, 0, "Seconds an idle client keep-alive connection is kept."},
    {"turnpike_skip_bad_templates", "TURNPIKESKIPBADTEMPLATES", TK_CONF_BOOL,
     OFF(turnpike_skip_bad_templates), "false", 0, 0, 0,
     "Tyk's way with a body-transform template or error_overrides rule that does not compile: "
     "log it and skip that entry. Off: the API is rejected at load, naming the field."},
    {"turnpike_tunnel_idle_timeout", "TURNPIKETUNNELIDLETIMEOUT", TK_CONF_INT,
     OFF(turnpike_tunnel_idle_timeout), "0", 0, 604800, 0,
     "Seconds a WebSocket or TCP-proxy tunnel may carry nothing either way before it is closed "
     "(0 = never, as Tyk)."},
    {"turnpike_dns_nameservers", "TURNPIKEDNSNAMESERVERS", TK_CONF_STRLIST,
     OFF(turnpike_dns_nameservers), NULL, 0, 0, 0,
     "DNS servers for upstream resolution (empty = /etc/resolv.conf)."},
    {"turnpike_max_request_memory", "TURNPIKEMAXREQUESTMEMORY", TK_CONF_INT,
     OFF(turnpike_max_request_memory), "1048576", 65536, 1073741824, 0,
     "Per-request memory arena cap in bytes."},
    {"turnpike_upstream_idle_timeout", "TURNPIKEUPSTREAMIDLETIMEOUT", TK_CONF_INT,
     OFF(turnpike_upstream_idle_timeout), "90", 0, 86400, 0,
     "Seconds an idle pooled upstream connection is kept."},
    {"turnpike_analytics_spool_dir", "TURNPIKEANALYTICSSPOOLDIR", TK_CONF_STRING,
     OFF(turnpike_analytics_spool_dir), "/var/lib/turnpike/analytics-spool", 0, 0, 0,
     "Where analytics records wait on disk while Redis is unreachable."},
    {"turnpike_analytics_spool_max_bytes", "TURNPIKEANALYTICSSPOOLMAXBYTES", TK_CONF_INT,
     OFF(turnpike_analytics_spool_max_bytes), "268435456", 0, 1099511627776, 0,
     "Largest analytics spool in bytes; records beyond it are dropped and counted."},
};

const tk_conf_entry_t *gw_conf_table(size_t *n)
{
    *n = TK_ARRAY_LEN(gw_table);
    return gw_table;
}

static void set_str(char **slot, const char *v)
{
    char *copy = tk_xstrdup(v);
    free(*slot);
    *slot = copy;
}

static void lower_in_place(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/*
 * Tyk fills many zero values after loading (gateway/server.go afterConfSetup and
 * initialiseSystem) instead of in its defaults, so an explicit 0 in tyk.conf also means "default".
 * The same rules apply here.
 */
static void apply_derived(gw_conf_t *c, tk_conf_errors_t *errs)
{
    if (c->proxy_default_timeout <= 0)
        c->proxy_default_timeout = 30;
    if (c->min_token_length == 0)
        c->min_token_length = 3;
    if (c->reload_interval < 1)
        c->reload_interval = 1;
    if (c->graceful_shutdown_timeout_duration == 0)
        c->graceful_shutdown_timeout_duration = 30;
    if (c->hso_read_timeout == 0)
        c->hso_read_timeout = 120;
    if (c->hso_write_timeout == 0)
        c->hso_write_timeout = 120;

    if (c->proxy_ssl_max_version == 0)
        c->proxy_ssl_max_version = GW_TLS12;
    if (c->proxy_ssl_min_version > c->proxy_ssl_max_version)
        c->proxy_ssl_max_version = c->proxy_ssl_min_version;
    if (c->hso_max_version == 0)
        c->hso_max_version = GW_TLS12;
    if (c->hso_min_version > c->hso_max_version)
        c->hso_max_version = c->hso_min_version;

    if (!*c->health_check_endpoint_name)
        set_str(&c->health_check_endpoint_name, "hello");
    if (!*c->readiness_check_endpoint_name)
        set_str(&c->readiness_check_endpoint_name, "ready");
    if (!*c->pid_file_location)
        set_str(&c->pid_file_location, "/var/run/tyk/tyk-gateway.pid");

    if (c->slave_options_call_timeout == 0)
        c->slave_options_call_timeout = 30;
    if (c->slave_options_ping_timeout == 0)
        c->slave_options_ping_timeout = 60;
    if (c->slave_options_key_space_sync_interval == 0)
        c->slave_options_key_space_sync_interval = 10;
    if (c->slave_options_rpc_cert_cache_expiration == 0)
        c->slave_options_rpc_cert_cache_expiration = 3600;
    if (c->slave_options_rpc_global_cache_expiration == 0)
        c->slave_options_rpc_global_cache_expiration = 30;

    if (c->analytics_config_purge_interval == 0)
        c->analytics_config_purge_interval = 10;
    if (c->analytics_config_storage_expiration_time == 0)
        c->analytics_config_storage_expiration_time = 60;
    if (c->analytics_config_records_buffer_size == 0)
        c->analytics_config_records_buffer_size = 1000;

    if (c->oauth_token_expire == 0)
        c->oauth_token_expire = 3600;
    if (c->oauth_refresh_token_expire == 0)
        c->oauth_refresh_token_expire = 1209600;
    if (c->oauth_error_status_code == 0)
        c->oauth_error_status_code = 403;
    if (c->drl_notification_frequency == 0)
        c->drl_notification_frequency = 2;
    if (c->drl_threshold == 0)
        c->drl_threshold = 5;
    if (c->jsvm_timeout == 0)
        c->jsvm_timeout = 5;
    if (c->uptime_tests_config_failure_trigger_sample_size == 0)
        c->uptime_tests_config_failure_trigger_sample_size = 3;
    if (c->regexp_cache_expire == 0)
        c->regexp_cache_expire = 60;
    if (c->jwks_cache_timeout == 0)
        c->jwks_cache_timeout = 240;
    if (!*c->basic_auth_hash_key_function)
        set_str(&c->basic_auth_hash_key_function, "bcrypt");
    if (!*c->rate_limit_response_headers)
        set_str(&c->rate_limit_response_headers, "quotas");

    /* Dashboard mode always takes policies from the Dashboard. */
    if (c->use_db_app_configs && strcmp(c->policies_policy_source, "service") != 0) {
        set_str(&c->policies_policy_source, "service");
        set_str(&c->policies_policy_connection_string, c->db_app_conf_options_connection_string);
        if (!*c->policies_policy_record_name)
            set_str(&c->policies_policy_record_name, "tyk_policies");
    }

    lower_in_place(c->log_level);
    if (!*c->log_level)
        set_str(&c->log_level, "info");
    if (strcmp(c->log_level, "debug") && strcmp(c->log_level, "info") &&
        strcmp(c->log_level, "warn") && strcmp(c->log_level, "error"))
        tk_conf_errors_add(errs, "log_level: \"%s\" is not one of debug, info, warn, error",
                           c->log_level);
    /* Tyk knows "json" and treats everything else as its standard text format. */
    lower_in_place(c->log_format);
    if (strcmp(c->log_format, "json") != 0)
        set_str(&c->log_format, "text");

    if (strcmp(c->storage_type, "redis") != 0)
        tk_conf_errors_add(errs, "storage.type: \"%s\" is not supported, only \"redis\"",
                           c->storage_type);
}

int gw_conf_load(gw_conf_t *c, const char *path, tk_conf_errors_t *errs)
{
    size_t before = errs->n;
    memset(c, 0, sizeof(*c));
    json_t *root = tk_conf_read_file(path, "TYK_GW_OMITCONFIGFILE", errs);
    /* Even when the file failed, load the rest so environment errors are reported too. */
    tk_conf_load(gw_table, TK_ARRAY_LEN(gw_table), c, "TYK_GW_", root, errs);
    json_decref(root);
    apply_derived(c, errs);
    tk_conf_sync_json(gw_table, TK_ARRAY_LEN(gw_table), c);
    return errs->n == before ? TK_OK : TK_ERROR;
}

void gw_conf_free(gw_conf_t *c)
{
    tk_conf_free(gw_table, TK_ARRAY_LEN(gw_table), c);
    memset(c, 0, sizeof(*c));
}

void gw_conf_write_docs(FILE *out)
{
    fputs("<!-- SPDX-License-Identifier: Apache-2.0 -->\n"
          "# Gateway configuration reference\n\n"
          "Generated from the table in `src/gateway/gw_conf.c`; do not edit by hand. Regenerate "
          "with\n`turnpike-gateway --print-config-docs > docs/configuration.md`.\n\n"
          "Turnpike reads Tyk's `tyk.conf`. Values are applied in this order:\n\n"
          "1. the defaults in the table below;\n"
          "2. the JSON file (unknown keys are ignored, `null` keeps the default);\n"
          "3. environment variables named `TYK_GW_` + the name in the table. Booleans take "
          "`1 t T TRUE true True 0 f F FALSE false False`; lists are comma-separated; JSON-typed "
          "keys take JSON text or `key:value,key2:value2`; `TYK_GW_OMITCONFIGFILE=true` skips the "
          "file (Turnpike keeps the table defaults, where Tyk starts from zero values);\n"
          "4. secret references in the keys marked *secret ref*: `env://NAME` reads "
          "`TYK_SECRET_NAME` (name upper-cased, as Tyk does) and falls back to `NAME`; unset "
          "gives an empty string. `file:///path` reads the file without its final newline; "
          "`secrets://KEY` reads `KEY` from the top-level `secrets` object;\n"
          "5. derived defaults, as Tyk applies after loading: a zero `proxy_default_timeout` "
          "becomes 30, `min_token_length` 3, `reload_interval` 1, "
          "`graceful_shutdown_timeout_duration` 30, `http_server_options.read_timeout` and "
          "`write_timeout` 120, `proxy_ssl_max_version` and `http_server_options.max_version` "
          "771 (TLS 1.2, raised to the minimum when that is higher), the `slave_options` "
          "timeouts 30/60/10/3600/30, `analytics_config.purge_interval` 10, "
          "`storage_expiration_time` 60, `records_buffer_size` 1000, OAuth expiries 3600 and "
          "1209600, `oauth_error_status_code` 403, `drl_notification_frequency` 2, "
          "`drl_threshold` 5, `jsvm_timeout` 5, `uptime_tests.config.failure_trigger_sample_size` "
          "3, `regexp_cache_expire` 60, `jwks.cache.timeout` 240. With `use_db_app_configs`, "
          "`policies.policy_source` becomes `service` and takes the Dashboard connection "
          "string.\n\n"
          "All type, range and reference errors are reported together before the gateway "
          "refuses to start. Objects marked JSON whose members also have rows of their own "
          "(`slave_options`, `analytics_config`, ...) carry the effective member values.\n\n",
          out);
    tk_conf_write_docs(gw_table, TK_ARRAY_LEN(gw_table), "TYK_GW_", out);
}
