/* SPDX-License-Identifier: Apache-2.0 */
/* tyk_analytics.conf: Tyk Dashboard's keys (and TYK_DB_* environment overrides) that Turnpike's
 * dashboard uses, plus a few of its own (prefixed turnpike_). */
#ifndef DASH_CONF_H
#define DASH_CONF_H

#include "tk_conf.h"
#include "tk_sqldb.h"

#include <stdio.h>

typedef struct dash_storage_layer {
    char *type;              /* "sqlite" | "postgres" (also "postgresql", "sqlite3") */
    char *connection_string; /* file path (SQLite) or libpq string / URL */
    enum tk_sqldb_kind kind; /* resolved from type */
} dash_storage_layer_t;

typedef struct dash_conf {
    int64_t listen_port;
    char *listen_address; /* turnpike: interface to bind ("" = all) */
    char *tyk_api_host;   /* tyk_api_config.Host: the gateway whose control API keys go through */
    char *tyk_api_port;   /* tyk_api_config.Port (a string in Tyk) */
    char *tyk_api_secret; /* tyk_api_config.Secret: that gateway's "secret" */
    char *admin_secret;
    char *shared_node_secret;
    char *mongo_url;
    int64_t page_size;
    dash_storage_layer_t main_store, analytics_store;
    char *redis_host;
    int64_t redis_port;
    char *redis_username, *redis_password;
    int64_t redis_database;
    int64_t redis_timeout;
    bool notify_on_change;
    bool hash_keys;
    bool enable_delete_key_by_hash, enable_update_key_by_hash, enable_hashed_keys_listing;
    bool enable_master_keys;
    bool enable_duplicate_slugs;
    bool allow_explicit_policy_id;
    bool enable_multi_org_users;
    bool enable_ownership;
    bool allow_admin_reset_password;
    char *override_hostname;
    char *private_key_path;
    char *log_level;
    char *log_format;
    bool audit_enabled;
    char *audit_path;
    json_t *sso_permission_defaults; /* user_permissions of users SSO creates (NULL: none) */
    char *sso_default_group_id;      /* or the group they join */
    int64_t session_lifetime;        /* dashboard_session_lifetime: seconds a /tap login lasts */
    int64_t workers;       /* turnpike_workers: request threads (0 = one per core, at least 2) */
    int64_t max_body_size; /* turnpike_max_body_size: bytes a request body may have */
    int64_t sql_timeout;   /* turnpike_sql_timeout: seconds for connecting / waiting on locks */
    /* turnpike_gateway_timeout: seconds per call to the gateway control API */
    int64_t gateway_timeout;
} dash_conf_t;

/** Loads @path (or only the environment when TYK_DB_OMITCONFIGFILE is true). Problems are
 *  appended to @errs; returns TK_OK when there were none. */
int dash_conf_load(dash_conf_t *c, const char *path, tk_conf_errors_t *errs);
void dash_conf_free(dash_conf_t *c);
void dash_conf_write_docs(FILE *out);

#endif
