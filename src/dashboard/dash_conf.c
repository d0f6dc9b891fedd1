/* SPDX-License-Identifier: Apache-2.0 */
/* The dashboard's tyk_analytics.conf table and the checks that need more than one key. */
#include "dash_conf.h"

#include "tk_json.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFF(f) offsetof(dash_conf_t, f)

/* Environment names are "TYK_DB_" + the path with sections joined by "_" and the underscores
 * inside a key dropped, as Tyk Dashboard's envconfig names them. */
static const tk_conf_entry_t dash_table[] = {
    {"listen_port", "LISTENPORT", TK_CONF_INT, OFF(listen_port), "3000", 1, 65535, 0,
     "Port of the Dashboard API, Admin API and gateway sync endpoints."},
    {"turnpike_listen_address", "TURNPIKELISTENADDRESS", TK_CONF_STRING, OFF(listen_address), "", 0,
     0, 0, "Interface to listen on (an IP literal); empty listens on all."},
    {"tyk_api_config.Host", "TYKAPI_HOST", TK_CONF_STRING, OFF(tyk_api_host), "http://localhost", 0,
     0, 0, "Scheme and host of the gateway whose control API manages keys."},
    {"tyk_api_config.Port", "TYKAPI_PORT", TK_CONF_STRING, OFF(tyk_api_port), "8080", 0, 0, 0,
     "Its port (a string, as in Tyk)."},
    {"tyk_api_config.Secret", "TYKAPI_SECRET", TK_CONF_STRING, OFF(tyk_api_secret), "", 0, 0,
     TK_CONF_SECRET, "That gateway's `secret`."},
    {"admin_secret", "ADMINSECRET", TK_CONF_STRING, OFF(admin_secret), "", 0, 0, TK_CONF_SECRET,
     "Value of the admin-auth header for the Admin API; empty disables the Admin API."},
    {"shared_node_secret", "NODESECRET", TK_CONF_STRING, OFF(shared_node_secret), "", 0, 0,
     TK_CONF_SECRET,
     "Gateways' node_secret: authenticates /register and /system calls and signs notifications."},
    {"mongo_url", "MONGOURL", TK_CONF_STRING, OFF(mongo_url), "", 0, 0, TK_CONF_SECRET,
     "MongoDB is not supported yet: use storage.main (sqlite or postgres)."},
    {"page_size", "PAGESIZE", TK_CONF_INT, OFF(page_size), "10", 1, 10000, 0,
     "Items per page of list endpoints."},
    {"storage.main.type", "STORAGE_MAIN_TYPE", TK_CONF_STRING, OFF(main_store.type), "sqlite", 0, 0,
     0, "Database of APIs, policies, orgs and users: sqlite (embedded) or postgres."},
    {"storage.main.connection_string", "STORAGE_MAIN_CONNECTIONSTRING", TK_CONF_STRING,
     OFF(main_store.connection_string), "tyk_analytics.db", 0, 0, TK_CONF_SECRET,
     "SQLite file path, or a PostgreSQL connection string or URL."},
    {"storage.analytics.type", "STORAGE_ANALYTICS_TYPE", TK_CONF_STRING, OFF(analytics_store.type),
     "", 0, 0, 0, "Database the pump's sql_aggregate and sql sinks write (empty: storage.main)."},
    {"storage.analytics.connection_string", "STORAGE_ANALYTICS_CONNECTIONSTRING", TK_CONF_STRING,
     OFF(analytics_store.connection_string), "", 0, 0, TK_CONF_SECRET,
     "Its connection string (empty: storage.main's)."},
    {"redis_host", "REDISHOST", TK_CONF_STRING, OFF(redis_host), "localhost", 0, 0, 0,
     "Redis shared with the gateways (nonces, sessions, notifications)."},
    {"redis_port", "REDISPORT", TK_CONF_INT, OFF(redis_port), "6379", 1, 65535, 0, "Redis port."},
    {"redis_username", "REDISUSERNAME", TK_CONF_STRING, OFF(redis_username), "", 0, 0, 0,
     "Redis ACL user."},
    {"redis_password", "REDISPASSWORD", TK_CONF_STRING, OFF(redis_password), "", 0, 0,
     TK_CONF_SECRET, "Redis password."},
    {"redis_database", "REDISDATABASE", TK_CONF_INT, OFF(redis_database), "0", 0, 1000, 0,
     "Redis database number."},
    {"redis_timeout", "REDISTIMEOUT", TK_CONF_INT, OFF(redis_timeout), "5", 1, 3600, 0,
     "Seconds before a Redis connect or command fails."},
    {"notify_on_change", "NOTIFYONCHANGE", TK_CONF_BOOL, OFF(notify_on_change), "true", 0, 0, 0,
     "Tell gateways to reload (Redis tyk.cluster.notifications) when APIs or policies change."},
    {"hash_keys", "HASHKEYS", TK_CONF_BOOL, OFF(hash_keys), "true", 0, 0, 0,
     "Must match the gateways' hash_keys."},
    {"enable_delete_key_by_hash", "ENABLEDELETEKEYBYHASH", TK_CONF_BOOL,
     OFF(enable_delete_key_by_hash), NULL, 0, 0, 0, "Allow ?hashed=true deletes."},
    {"enable_update_key_by_hash", "ENABLEUPDATEKEYBYHASH", TK_CONF_BOOL,
     OFF(enable_update_key_by_hash), NULL, 0, 0, 0, "Allow ?hashed=true updates."},
    {"enable_hashed_keys_listing", "ENABLEHASHEDKEYSLISTING", TK_CONF_BOOL,
     OFF(enable_hashed_keys_listing), NULL, 0, 0, 0, "Allow listing keys by hash."},
    {"enable_master_keys", "ENABLEMASTERKEYS", TK_CONF_BOOL, OFF(enable_master_keys), NULL, 0, 0, 0,
     "Allow keys with empty access_rights (access to every API)."},
    {"enable_duplicate_slugs", "ENABLEDUPLICATESLUGS", TK_CONF_BOOL, OFF(enable_duplicate_slugs),
     NULL, 0, 0, 0, "Skip the listen-path uniqueness check on APIs."},
    {"allow_explicit_policy_id", "ALLOWEXPLICITPOLICYID", TK_CONF_BOOL,
     OFF(allow_explicit_policy_id), NULL, 0, 0, 0, "Let clients choose a policy's id."},
    {"enable_multi_org_users", "ENABLEMULTIORGUSERS", TK_CONF_BOOL, OFF(enable_multi_org_users),
     NULL, 0, 0, 0, "Allow one email address in several organisations."},
    {"enable_ownership", "ENABLEOWNERSHIP", TK_CONF_BOOL, OFF(enable_ownership), NULL, 0, 0, 0,
     "Non-admin users see only the APIs they (or their group) own."},
    {"security.allow_admin_reset_password", "SECURITY_ALLOWADMINRESETPASSWORD", TK_CONF_BOOL,
     OFF(allow_admin_reset_password), NULL, 0, 0, 0, "Let admin users set other users' passwords."},
    {"host_config.override_hostname", "HOSTCONFIG_OVERRIDEHOSTNAME", TK_CONF_STRING,
     OFF(override_hostname), "", 0, 0, 0, "Gateway host shown in API URLs."},
    {"private_key_path", "PRIVATEKEYPATH", TK_CONF_STRING, OFF(private_key_path), "", 0, 0, 0,
     "RSA key that signs notifications to gateways; empty signs with shared_node_secret."},
    {"log_level", "LOGLEVEL", TK_CONF_STRING, OFF(log_level), "info", 0, 0, 0,
     "debug, info, warn or error."},
    {"log_format", "LOGFORMAT", TK_CONF_STRING, OFF(log_format), "standard", 0, 0, 0,
     "standard or json."},
    {"audit.enabled", "AUDIT_ENABLED", TK_CONF_BOOL, OFF(audit_enabled), NULL, 0, 0, 0,
     "Record every change made through the APIs (also readable at /api/audit-logs)."},
    {"audit.path", "AUDIT_PATH", TK_CONF_STRING, OFF(audit_path), "", 0, 0, 0,
     "Also append audit records to this file."},
    {"sso_permission_defaults", "SSOPERMISSIONDEFAULTS", TK_CONF_JSON, OFF(sso_permission_defaults),
     NULL, 0, 0, 0, "user_permissions given to users that single sign-on (/tap) creates."},
    {"sso_default_group_id", "SSODEFAULTGROUPID", TK_CONF_STRING, OFF(sso_default_group_id), "", 0,
     0, 0, "User group that users created by single sign-on join (wins over the defaults)."},
    {"dashboard_session_lifetime", "DASHBOARDSESSIONLIFETIME", TK_CONF_INT, OFF(session_lifetime),
     "3600", 60, 31536000, 0, "Seconds a dashboard login session (cookie) lasts."},
    {"turnpike_workers", "TURNPIKEWORKERS", TK_CONF_INT, OFF(workers), "0", 0, 256, 0,
     "Request threads, each with its own database and Redis connection (0: one per core, at "
     "least 2)."},
    {"turnpike_max_body_size", "TURNPIKEMAXBODYSIZE", TK_CONF_INT, OFF(max_body_size), "10485760",
     1024, 1e10, 0, "Largest request body accepted; larger ones get 413."},
    {"turnpike_sql_timeout", "TURNPIKESQLTIMEOUT", TK_CONF_INT, OFF(sql_timeout), "10", 1, 600, 0,
     "Seconds to wait for the database (connect, locks) before a request fails with 503."},
    {"turnpike_gateway_timeout", "TURNPIKEGATEWAYTIMEOUT", TK_CONF_INT, OFF(gateway_timeout), "10",
     1, 600, 0,
     "Seconds one call to the gateway's control API (tyk_api_config) may take before the "
     "request fails with 502."},
};

static void resolve_layer(dash_storage_layer_t *l, const dash_storage_layer_t *fallback,
                          const char *name, tk_conf_errors_t *errs)
{
    if (fallback && !*l->type && !*l->connection_string) {
        free(l->type);
        free(l->connection_string);
        l->type = tk_xstrdup(fallback->type);
        l->connection_string = tk_xstrdup(fallback->connection_string);
    }
    if (strcasecmp(l->type, "mongo") == 0) {
        tk_conf_errors_add(errs,
                           "storage.%s.type: mongo is not supported yet: use sqlite (embedded) or "
                           "postgres",
                           name);
        return;
    }
    char err[256];
    if (tk_sqldb_kind_parse(l->type, &l->kind, err, sizeof(err)) != 0)
        tk_conf_errors_add(errs, "storage.%s.type: \"%s\" is not supported: use sqlite or postgres",
                           name, l->type);
    else if (!*l->connection_string)
        tk_conf_errors_add(errs, "storage.%s.connection_string: empty", name);
}

int dash_conf_load(dash_conf_t *c, const char *path, tk_conf_errors_t *errs)
{
    size_t before = errs->n;
    memset(c, 0, sizeof(*c));
    json_t *root = tk_conf_read_file(path, "TYK_DB_OMITCONFIGFILE", errs);
    tk_conf_load(dash_table, TK_ARRAY_LEN(dash_table), c, "TYK_DB_", root, errs);
    json_decref(root);
    if (*c->mongo_url && !getenv("TYK_DB_STORAGE_MAIN_TYPE") && errs->n == before) {
        /* a Tyk config that still points at MongoDB: say so rather than quietly using SQLite */
        bool has_storage = false;
        json_t *again = tk_conf_read_file(path, "TYK_DB_OMITCONFIGFILE", errs);
        has_storage = tk_json_get_path(again, "storage.main.type") != NULL;
        json_decref(again);
        if (!has_storage)
            tk_conf_errors_add(errs, "mongo_url: MongoDB is not supported yet; set "
                                     "storage.main.type to sqlite or postgres");
    }
    resolve_layer(&c->main_store, NULL, "main", errs);
    resolve_layer(&c->analytics_store, &c->main_store, "analytics", errs);
    return errs->n == before ? TK_OK : TK_ERROR;
}

void dash_conf_free(dash_conf_t *c)
{
    tk_conf_free(dash_table, TK_ARRAY_LEN(dash_table), c);
    memset(c, 0, sizeof(*c));
}

void dash_conf_write_docs(FILE *out)
{
    fputs("<!-- SPDX-License-Identifier: Apache-2.0 -->\n"
          "# Dashboard configuration reference\n\n"
          "Generated from the table in `src/dashboard/dash_conf.c`. turnpike-dashboard reads Tyk "
          "Dashboard's `tyk_analytics.conf`; environment variables `TYK_DB_` + the name below "
          "override it. Keys not listed are accepted and ignored.\n\n",
          out);
    tk_conf_write_docs(dash_table, TK_ARRAY_LEN(dash_table), "TYK_DB_", out);
}
