/* SPDX-License-Identifier: Apache-2.0 */
/* The pump's pump.conf table, the "pumps" map with TYK_PMP_PUMPS_* overrides, and checks. */
#include "pump_conf.h"

#include "tk_json.h"
#include "tk_log.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OFF(f) offsetof(pump_conf_t, f)

extern char **environ;

/* Environment names are "TYK_PMP_" + Tyk Pump's Go field names upper-cased (envconfig). */
static const tk_conf_entry_t pump_table[] = {
    {"analytics_storage_type", "ANALYTICSSTORAGETYPE", TK_CONF_STRING, OFF(analytics_storage_type),
     "redis", 0, 0, 0, "Where the gateway leaves analytics; only redis is supported."},
    {"analytics_storage_config", "ANALYTICSSTORAGECONFIG", TK_CONF_JSON,
     OFF(analytics_storage_config), NULL, 0, 0, 0, "Redis connection (members below)."},
    {"analytics_storage_config.type", "ANALYTICSSTORAGECONFIG_TYPE", TK_CONF_STRING,
     OFF(redis_type), "redis", 0, 0, 0, "redis (or empty)."},
    {"analytics_storage_config.host", "ANALYTICSSTORAGECONFIG_HOST", TK_CONF_STRING,
     OFF(redis_host), "localhost", 0, 0, 0, "Redis host."},
    {"analytics_storage_config.port", "ANALYTICSSTORAGECONFIG_PORT", TK_CONF_INT, OFF(redis_port),
     "6379", 1, 65535, 0, "Redis port."},
    {"analytics_storage_config.addrs", "ANALYTICSSTORAGECONFIG_ADDRS", TK_CONF_STRLIST,
     OFF(redis_addrs), NULL, 0, 0, 0, "host:port list; the first is used when host is empty."},
    {"analytics_storage_config.hosts", "ANALYTICSSTORAGECONFIG_HOSTS", TK_CONF_JSON,
     OFF(redis_hosts), NULL, 0, 0, 0, "Legacy {host: port} map; the first is used."},
    {"analytics_storage_config.username", "ANALYTICSSTORAGECONFIG_USERNAME", TK_CONF_STRING,
     OFF(redis_username), NULL, 0, 0, 0, "Redis ACL user."},
    {"analytics_storage_config.password", "ANALYTICSSTORAGECONFIG_PASSWORD", TK_CONF_STRING,
     OFF(redis_password), NULL, 0, 0, TK_CONF_SECRET, "Redis password."},
    {"analytics_storage_config.database", "ANALYTICSSTORAGECONFIG_DATABASE", TK_CONF_INT,
     OFF(redis_database), "0", 0, 1000, 0, "Redis database number."},
    {"analytics_storage_config.timeout", "ANALYTICSSTORAGECONFIG_TIMEOUT", TK_CONF_INT,
     OFF(redis_timeout), "5", 0, 3600, 0, "Seconds before a Redis connect or command fails."},
    {"analytics_storage_config.key_prefix", "ANALYTICSSTORAGECONFIG_KEYPREFIX", TK_CONF_STRING,
     OFF(redis_key_prefix), NULL, 0, 0, 0, "Prefix of the analytics lists (analytics-)."},
    {"analytics_storage_config.redis_key_prefix", "ANALYTICSSTORAGECONFIG_REDISKEYPREFIX",
     TK_CONF_STRING, OFF(redis_redis_key_prefix), NULL, 0, 0, 0,
     "Older name of key_prefix (used when key_prefix is empty)."},
    {"analytics_storage_config.use_ssl", "ANALYTICSSTORAGECONFIG_USESSL", TK_CONF_BOOL,
     OFF(redis_use_ssl), NULL, 0, 0, 0, "TLS to Redis (not supported yet)."},
    {"analytics_storage_config.redis_use_ssl", "ANALYTICSSTORAGECONFIG_REDISUSESSL", TK_CONF_BOOL,
     OFF(redis_redis_use_ssl), NULL, 0, 0, 0, "Older name of use_ssl."},
    {"analytics_storage_config.enable_cluster", "ANALYTICSSTORAGECONFIG_ENABLECLUSTER",
     TK_CONF_BOOL, OFF(redis_enable_cluster), NULL, 0, 0, 0, "Redis Cluster (not supported yet)."},
    {"analytics_storage_config.master_name", "ANALYTICSSTORAGECONFIG_MASTERNAME", TK_CONF_STRING,
     OFF(redis_master_name), NULL, 0, 0, 0, "Redis Sentinel master (not supported yet)."},
    {"purge_delay", "PURGEDELAY", TK_CONF_INT, OFF(purge_delay), "10", 0, 86400, 0,
     "Seconds between purges of the analytics lists (0 means 10)."},
    {"purge_chunk", "PURGECHUNK", TK_CONF_INT, OFF(purge_chunk), "0", 0, 100000000, 0,
     "Most records taken from one list at a time; 0 takes the whole list."},
    {"storage_expiration_time", "STORAGEEXPIRATIONTIME", TK_CONF_INT, OFF(storage_expiration_time),
     "60", 0, 100000000, 0, "TTL (s) set on a list after a chunked take (0 means 60)."},
    {"dont_purge_uptime_data", "DONTPURGEUPTIMEDATA", TK_CONF_BOOL, OFF(dont_purge_uptime_data),
     NULL, 0, 0, 0, "Leave host-checker:tyk-uptime-analytics alone."},
    {"uptime_pump_config", "UPTIMEPUMPCONFIG", TK_CONF_JSON, OFF(uptime_pump_config), NULL, 0, 0, 0,
     "Where uptime records go; uptime_type sql (mongo is not supported)."},
    {"pumps", "PUMPS", TK_CONF_JSON, OFF(pumps), NULL, 0, 0, 0,
     "Sinks by name; TYK_PMP_PUMPS_<NAME>_<FIELD> and _META_<KEY> override them."},
    {"max_record_size", "MAXRECORDSIZE", TK_CONF_INT, OFF(max_record_size), "0", 0, 1e12, 0,
     "Trim raw_request/raw_response to this many bytes (0 = keep)."},
    {"omit_detailed_recording", "OMITDETAILEDRECORDING", TK_CONF_BOOL, OFF(omit_detailed_recording),
     NULL, 0, 0, 0, "Drop raw_request/raw_response for every sink."},
    {"raw_request_decoded", "RAWREQUESTDECODED", TK_CONF_BOOL, OFF(raw_request_decoded), NULL, 0, 0,
     0, "Base64-decode raw_request before writing."},
    {"raw_response_decoded", "RAWRESPONSEDECODED", TK_CONF_BOOL, OFF(raw_response_decoded), NULL, 0,
     0, 0, "Base64-decode raw_response before writing."},
    {"health_check_endpoint_name", "HEALTHCHECKENDPOINTNAME", TK_CONF_STRING,
     OFF(health_check_endpoint_name), "health", 0, 0, 0, "Path of the health endpoint."},
    {"health_check_endpoint_port", "HEALTHCHECKENDPOINTPORT", TK_CONF_INT,
     OFF(health_check_endpoint_port), "8083", 0, 65535, 0,
     "Port of the health and stats endpoints (0 means 8083)."},
    {"log_level", "LOGLEVEL", TK_CONF_STRING, OFF(log_level), "info", 0, 0, 0,
     "debug, info, warn or error."},
    {"log_format", "LOGFORMAT", TK_CONF_STRING, OFF(log_format), "text", 0, 0, 0, "text or json."},
    {"pump_id", "PUMPID", TK_CONF_STRING, OFF(pump_id), NULL, 0, 0, 0,
     "Names this pump's in-flight keys in Redis (default: the host name)."},
    {"journal_dir", "JOURNALDIR", TK_CONF_STRING, OFF(journal_dir),
     "/var/lib/turnpike-pump/journal", 0, 0, 0,
     "Directory of the local journal and the sinks' cursors."},
    {"journal_segment_bytes", "JOURNALSEGMENTBYTES", TK_CONF_INT, OFF(journal_segment_bytes),
     "67108864", 4096, 1e12, 0, "Size at which a journal segment file is rotated."},
    {"journal_max_bytes", "JOURNALMAXBYTES", TK_CONF_INT, OFF(journal_max_bytes), "1073741824", 0,
     1e15, 0, "Journal size at which taking from Redis pauses (0 = no limit)."},
    {"batch_size", "BATCHSIZE", TK_CONF_INT, OFF(batch_size), "5000", 1, 100000, 0,
     "Most records handed to a sink in one write."},
    {"stats_endpoint_name", "STATSENDPOINTNAME", TK_CONF_STRING, OFF(stats_endpoint_name), "stats",
     0, 0, 0, "Path of the JSON counters endpoint on health_check_endpoint_port."},
};

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = tk_xstrdup(v);
}

/* TYK_PMP_REDIS_* (deprecated) and TYK_PMP_TEMPORAL_STORAGE_* also configure Redis in Tyk. */
static void apply_redis_aliases(pump_conf_t *c, tk_conf_errors_t *errs)
{
    static const char *prefixes[] = {"TYK_PMP_REDIS_", "TYK_PMP_TEMPORAL_STORAGE_"};
    for (size_t i = 0; i < TK_ARRAY_LEN(prefixes); i++) {
        char name[96];
        const char *v;
#define ALIAS(suffix) (snprintf(name, sizeof(name), "%s%s", prefixes[i], suffix), getenv(name))
        if ((v = ALIAS("HOST")))
            set_str(&c->redis_host, v);
        if ((v = ALIAS("PASSWORD")))
            set_str(&c->redis_password, v);
        if ((v = ALIAS("USERNAME")))
            set_str(&c->redis_username, v);
        if ((v = ALIAS("KEYPREFIX")))
            set_str(&c->redis_key_prefix, v);
        if ((v = ALIAS("PORT"))) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p < 1 || p > 65535)
                tk_conf_errors_add(errs, "%s: \"%s\" is not a port number", name, v);
            else
                c->redis_port = p;
        }
        if ((v = ALIAS("DATABASE"))) {
            char *end;
            long d = strtol(v, &end, 10);
            if (*end || d < 0)
                tk_conf_errors_add(errs, "%s: \"%s\" is not a database number", name, v);
            else
                c->redis_database = d;
        }
#undef ALIAS
    }
}

/* ---- "pumps" ---- */

static const char *pump_fields[] = {"TYPE",
                                    "NAME",
                                    "TIMEOUT",
                                    "IGNOREFIELDS",
                                    "MAXRECORDSIZE",
                                    "OMITDETAILEDRECORDING",
                                    "RAWREQUESTDECODED",
                                    "RAWRESPONSEDECODED"};

/* Splits "<NAME>_<FIELD...>" of a TYK_PMP_PUMPS_ variable. Known pump names win; otherwise the
 * name ends before the first field marker. Returns the field part or NULL. */
static const char *split_pump_env(const json_t *pumps, const char *rest, char *name, size_t namelen)
{
    size_t best = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)pumps, key, v)
    {
        size_t kl = strlen(key);
        if (kl > best && strncasecmp(rest, key, kl) == 0 && rest[kl] == '_')
            best = kl;
    }
    if (!best) {
        for (size_t i = 1; rest[i] && !best; i++) {
            if (rest[i] != '_')
                continue;
            const char *f = rest + i + 1;
            if (strncmp(f, "META_", 5) == 0 || strncmp(f, "FILTERS_", 8) == 0)
                best = i;
            for (size_t k = 0; k < TK_ARRAY_LEN(pump_fields) && !best; k++)
                if (strcmp(f, pump_fields[k]) == 0)
                    best = i;
        }
    }
    if (!best || best >= namelen)
        return NULL;
    memcpy(name, rest, best);
    name[best] = 0;
    upper(name);
    return rest + best + 1;
}

/* The member of @obj whose name, without '_' and case-insensitively, is @envkey. */
static const char *match_key(const json_t *obj, const char *envkey)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        char flat[256];
        size_t n = 0;
        for (const char *p = key; *p && n + 1 < sizeof(flat); p++)
            if (*p != '_')
                flat[n++] = (char)toupper((unsigned char)*p);
        flat[n] = 0;
        if (strcmp(flat, envkey) == 0)
            return key;
    }
    return NULL;
}

/* An environment value typed like the value it replaces; JSON-looking text when new. */
static json_t *env_value(const json_t *old, const char *s)
{
    if (old && json_is_string(old))
        return json_string(s);
    if (old && json_is_boolean(old)) {
        bool b;
        return tk_conf_parse_bool(s, &b) ? json_boolean(b) : json_string(s);
    }
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
    if (v && (json_is_number(v) || json_is_boolean(v) || json_is_array(v) || json_is_object(v)))
        return v;
    json_decref(v);
    if (old && json_is_array(old)) {
        json_t *a = json_array();
        const char *p = s;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            json_array_append_new(a, json_stringn(p, len));
            p = comma ? comma + 1 : p + len;
        }
        return a;
    }
    return json_string(s);
}

static json_t *obj_member(json_t *obj, const char *key)
{
    json_t *o = json_object_get(obj, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(obj, key, o);
    }
    return o;
}

static void apply_pump_env(json_t *pumps, const char *rest, const char *val)
{
    char name[128];
    const char *field = split_pump_env(pumps, rest, name, sizeof(name));
    if (!field)
        return;
    json_t *p = obj_member(pumps, name);
    static const struct {
        const char *env, *key;
    } plain[] = {
        {"TYPE", "type"},
        {"NAME", "name"},
        {"TIMEOUT", "timeout"},
        {"IGNOREFIELDS", "ignore_fields"},
        {"MAXRECORDSIZE", "max_record_size"},
        {"OMITDETAILEDRECORDING", "omit_detailed_recording"},
        {"RAWREQUESTDECODED", "raw_request_decoded"},
        {"RAWRESPONSEDECODED", "raw_response_decoded"},
    };
    for (size_t i = 0; i < TK_ARRAY_LEN(plain); i++) {
        if (strcmp(field, plain[i].env) != 0)
            continue;
        json_t *old = json_object_get(p, plain[i].key);
        if (!old && strcmp(plain[i].env, "IGNOREFIELDS") == 0) {
            json_t *tmp = json_array();
            json_object_set_new(p, plain[i].key, env_value(tmp, val));
            json_decref(tmp);
        } else {
            json_object_set_new(p, plain[i].key, env_value(old, val));
        }
        return;
    }
    if (strncmp(field, "META_", 5) == 0 && field[5]) {
        json_t *meta = obj_member(p, "meta");
        const char *k = match_key(meta, field + 5);
        char lk[256];
        if (!k) {
            snprintf(lk, sizeof(lk), "%s", field + 5);
            lower(lk);
            k = lk;
        }
        json_object_set_new(meta, k, env_value(json_object_get(meta, k), val));
        return;
    }
    if (strncmp(field, "FILTERS_", 8) == 0) {
        static const struct {
            const char *env, *key;
        } fl[] = {
            {"ORGIDS", "org_ids"},
            {"ORGSIDS", "org_ids"},
            {"APIIDS", "api_ids"},
            {"RESPONSECODES", "response_codes"},
            {"SKIPORGIDS", "skip_org_ids"},
            {"SKIPPEDORGSIDS", "skip_org_ids"},
            {"SKIPAPIIDS", "skip_api_ids"},
            {"SKIPPEDAPIIDS", "skip_api_ids"},
            {"SKIPRESPONSECODES", "skip_response_codes"},
            {"SKIPPEDRESPONSECODES", "skip_response_codes"},
        };
        for (size_t i = 0; i < TK_ARRAY_LEN(fl); i++) {
            if (strcmp(field + 8, fl[i].env) != 0)
                continue;
            json_t *f = obj_member(p, "filters");
            json_t *arr = json_array();
            for (const char *q = val; *q;) {
                const char *comma = strchr(q, ',');
                size_t len = comma ? (size_t)(comma - q) : strlen(q);
                char item[256];
                snprintf(item, sizeof(item), "%.*s", (int)len, q);
                char *end;
                long code = strtol(item, &end, 10);
                bool is_code = strstr(fl[i].key, "codes") != NULL;
                json_array_append_new(arr, is_code && *item && !*end ? json_integer(code)
                                                                     : json_string(item));
                q = comma ? comma + 1 : q + len;
            }
            json_object_set_new(f, fl[i].key, arr);
            return;
        }
    }
}

static bool read_strlist(const json_t *obj, const char *key, tk_strlist_t *out, const char *where,
                         tk_conf_errors_t *errs)
{
    json_t *a = json_object_get(obj, key);
    if (!a || json_is_null(a))
        return true;
    if (!json_is_array(a)) {
        tk_conf_errors_add(errs, "%s.%s: must be an array of strings", where, key);
        return false;
    }
    out->v = tk_xcalloc(json_array_size(a) + 1, sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v)) {
            tk_conf_errors_add(errs, "%s.%s[%zu]: must be a string", where, key, i);
            continue;
        }
        out->v[out->n++] = tk_xstrdup(json_string_value(v));
    }
    return true;
}

static void read_codes(const json_t *obj, const char *key, int64_t **out, size_t *n,
                       const char *where, tk_conf_errors_t *errs)
{
    json_t *a = json_object_get(obj, key);
    if (!a || json_is_null(a))
        return;
    if (!json_is_array(a)) {
        tk_conf_errors_add(errs, "%s.%s: must be an array of status codes", where, key);
        return;
    }
    *out = tk_xcalloc(json_array_size(a) + 1, sizeof(int64_t));
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_integer(v)) {
            tk_conf_errors_add(errs, "%s.%s[%zu]: must be an integer status code", where, key, i);
            continue;
        }
        (*out)[(*n)++] = json_integer_value(v);
    }
}

static bool read_bool(const json_t *obj, const char *key, bool *out, const char *where,
                      tk_conf_errors_t *errs)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_boolean(v)) {
        tk_conf_errors_add(errs, "%s.%s: must be true or false", where, key);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

static void sink_cfg_parse(pump_sink_cfg_t *s, const char *key, json_t *p, const char *where,
                           tk_conf_errors_t *errs)
{
    s->name = tk_xstrdup(key);
    upper(s->name);
    s->pump = json_incref(p);
    json_t *t = json_object_get(p, "type");
    if (t && !json_is_null(t) && !json_is_string(t))
        tk_conf_errors_add(errs, "%s.type: must be a string", where);
    s->type = tk_xstrdup(json_is_string(t) && *json_string_value(t) ? json_string_value(t) : key);
    lower(s->type);

    json_t *meta = json_object_get(p, "meta");
    if (meta && !json_is_null(meta) && !json_is_object(meta)) {
        tk_conf_errors_add(errs, "%s.meta: must be an object", where);
        meta = NULL;
    }
    s->meta = json_is_object(meta) ? json_incref(meta) : json_object();

    json_t *to = json_object_get(p, "timeout");
    if (to && !json_is_null(to)) {
        if (!json_is_number(to) || json_number_value(to) < 0)
            tk_conf_errors_add(errs, "%s.timeout: must be a number of seconds >= 0", where);
        else
            s->timeout_s = json_number_value(to);
    }
    json_t *mrs = json_object_get(p, "max_record_size");
    if (mrs && !json_is_null(mrs)) {
        if (!json_is_integer(mrs) || json_integer_value(mrs) < 0)
            tk_conf_errors_add(errs, "%s.max_record_size: must be an integer >= 0", where);
        else
            s->max_record_size = json_integer_value(mrs);
    }
    read_bool(p, "omit_detailed_recording", &s->omit_detailed_recording, where, errs);
    read_bool(p, "raw_request_decoded", &s->raw_request_decoded, where, errs);
    read_bool(p, "raw_response_decoded", &s->raw_response_decoded, where, errs);
    read_strlist(p, "ignore_fields", &s->ignore_fields, where, errs);

    json_t *f = json_object_get(p, "filters");
    if (f && !json_is_null(f) && !json_is_object(f)) {
        tk_conf_errors_add(errs, "%s.filters: must be an object", where);
    } else if (json_is_object(f)) {
        char fw[300];
        snprintf(fw, sizeof(fw), "%s.filters", where);
        read_strlist(f, "org_ids", &s->filters.org_ids, fw, errs);
        read_strlist(f, "api_ids", &s->filters.api_ids, fw, errs);
        read_strlist(f, "skip_org_ids", &s->filters.skip_org_ids, fw, errs);
        read_strlist(f, "skip_api_ids", &s->filters.skip_api_ids, fw, errs);
        read_codes(f, "response_codes", &s->filters.response_codes, &s->filters.n_response_codes,
                   fw, errs);
        read_codes(f, "skip_response_codes", &s->filters.skip_response_codes,
                   &s->filters.n_skip_response_codes, fw, errs);
    }
}

static void strlist_free(tk_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void sink_cfg_free(pump_sink_cfg_t *s)
{
    free(s->name);
    free(s->type);
    json_decref(s->pump);
    json_decref(s->meta);
    strlist_free(&s->filters.org_ids);
    strlist_free(&s->filters.api_ids);
    strlist_free(&s->filters.skip_org_ids);
    strlist_free(&s->filters.skip_api_ids);
    free(s->filters.response_codes);
    free(s->filters.skip_response_codes);
    strlist_free(&s->ignore_fields);
}

static void load_pumps(pump_conf_t *c, tk_conf_errors_t *errs)
{
    json_t *pumps = json_object();
    if (c->pumps && !json_is_object(c->pumps)) {
        tk_conf_errors_add(errs, "pumps: must be an object of name -> pump configuration");
    } else if (c->pumps) {
        const char *key;
        json_t *v;
        json_object_foreach(c->pumps, key, v)
        {
            char name[256];
            snprintf(name, sizeof(name), "%s", key);
            upper(name);
            json_object_set_new(pumps, name, json_deep_copy(v));
        }
    }
    static const char pfx[] = "TYK_PMP_PUMPS_";
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, pfx, sizeof(pfx) - 1) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char rest[512];
        snprintf(rest, sizeof(rest), "%.*s", (int)(eq - *e - (sizeof(pfx) - 1)),
                 *e + sizeof(pfx) - 1);
        apply_pump_env(pumps, rest, eq + 1);
    }
    size_t n = json_object_size(pumps);
    c->sinks = tk_xcalloc(n ? n : 1, sizeof(*c->sinks));
    const char *key;
    json_t *v;
    json_object_foreach(pumps, key, v)
    {
        char where[300];
        snprintf(where, sizeof(where), "pumps.%s", key);
        if (!json_is_object(v)) {
            tk_conf_errors_add(errs, "%s: must be an object", where);
            continue;
        }
        sink_cfg_parse(&c->sinks[c->nsinks++], key, v, where, errs);
    }
    json_decref(pumps);
}

static void load_uptime(pump_conf_t *c, tk_conf_errors_t *errs)
{
    if (c->dont_purge_uptime_data)
        return;
    json_t *u = c->uptime_pump_config;
    if (u && !json_is_object(u)) {
        tk_conf_errors_add(errs, "uptime_pump_config: must be an object");
        return;
    }
    const char *ut = tk_json_str(u, "uptime_type", "");
    if (strcasecmp(ut, "sql") == 0) {
        c->uptime_sink = tk_xcalloc(1, sizeof(*c->uptime_sink));
        json_t *p = json_pack("{s:s, s:O}", "type", "sql", "meta", u);
        sink_cfg_parse(c->uptime_sink, "uptime", p, "uptime_pump_config", errs);
        json_decref(p);
        c->uptime_sink->uptime = true;
        return;
    }
    if (!*ut && !*tk_json_str(u, "mongo_url", "") && !*tk_json_str(u, "connection_string", "")) {
        tk_log_warn("no uptime_pump_config: uptime records stay in Redis (set "
                    "dont_purge_uptime_data to true to silence this)");
        return;
    }
    tk_conf_errors_add(errs,
                       "uptime_pump_config.uptime_type: \"%s\" is not supported; turnpike-pump "
                       "stores uptime data with \"uptime_type\": \"sql\" (or set "
                       "dont_purge_uptime_data)",
                       *ut ? ut : "mongo");
}

static void apply_derived(pump_conf_t *c, tk_conf_errors_t *errs)
{
    if (*c->analytics_storage_type && strcasecmp(c->analytics_storage_type, "redis") != 0)
        tk_conf_errors_add(errs, "analytics_storage_type: \"%s\" is not supported, only \"redis\"",
                           c->analytics_storage_type);
    if (*c->redis_type && strcasecmp(c->redis_type, "redis") != 0)
        tk_conf_errors_add(errs,
                           "analytics_storage_config.type: \"%s\" is not supported, only \"redis\"",
                           c->redis_type);
    if (c->redis_use_ssl || c->redis_redis_use_ssl)
        tk_conf_errors_add(errs, "analytics_storage_config.use_ssl: TLS to Redis is not supported "
                                 "by turnpike-pump yet");
    if (c->redis_enable_cluster)
        tk_conf_errors_add(errs, "analytics_storage_config.enable_cluster: Redis Cluster is not "
                                 "supported by turnpike-pump yet");
    if (*c->redis_master_name)
        tk_conf_errors_add(errs, "analytics_storage_config.master_name: Redis Sentinel is not "
                                 "supported by turnpike-pump yet");
    /* Tyk uses addrs (or the hosts map) when they are given. */
    if (c->redis_addrs.n > 0) {
        const char *a = c->redis_addrs.v[0];
        const char *colon = strrchr(a, ':');
        if (colon) {
            char host[256];
            snprintf(host, sizeof(host), "%.*s", (int)(colon - a), a);
            set_str(&c->redis_host, host);
            c->redis_port = strtol(colon + 1, NULL, 10);
        } else {
            set_str(&c->redis_host, a);
        }
    } else if (json_is_object(c->redis_hosts) && json_object_size(c->redis_hosts) > 0) {
        void *it = json_object_iter(c->redis_hosts);
        set_str(&c->redis_host, json_object_iter_key(it));
        json_t *port = json_object_iter_value(it);
        if (json_is_string(port))
            c->redis_port = strtol(json_string_value(port), NULL, 10);
        else if (json_is_integer(port))
            c->redis_port = json_integer_value(port);
    }
    const char *prefix = *c->redis_key_prefix         ? c->redis_key_prefix
                         : *c->redis_redis_key_prefix ? c->redis_redis_key_prefix
                                                      : "analytics-";
    c->key_prefix = tk_xstrdup(prefix);
    if (c->purge_delay == 0)
        c->purge_delay = 10;
    if (c->storage_expiration_time == 0)
        c->storage_expiration_time = 60;
    if (c->health_check_endpoint_port == 0)
        c->health_check_endpoint_port = 8083;
    if (!*c->health_check_endpoint_name)
        set_str(&c->health_check_endpoint_name, "health");
    if (!*c->pump_id) {
        char host[256] = "";
        if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
            snprintf(host, sizeof(host), "pump");
        set_str(&c->pump_id, host);
    }
    if (!*c->journal_dir)
        tk_conf_errors_add(errs, "journal_dir: must not be empty");
    if (strcasecmp(c->log_format, "json") != 0 && strcasecmp(c->log_format, "text") != 0 &&
        *c->log_format)
        tk_conf_errors_add(errs, "log_format: \"%s\" is not text or json", c->log_format);
    load_pumps(c, errs);
    load_uptime(c, errs);
}

int pump_conf_load(pump_conf_t *c, const char *path, tk_conf_errors_t *errs)
{
    size_t before = errs->n;
    memset(c, 0, sizeof(*c));
    json_t *root = tk_conf_read_file(path, "TYK_PMP_OMITCONFIGFILE", errs);
    tk_conf_load(pump_table, TK_ARRAY_LEN(pump_table), c, "TYK_PMP_", root, errs);
    json_decref(root);
    apply_redis_aliases(c, errs);
    apply_derived(c, errs);
    return errs->n == before ? TK_OK : TK_ERROR;
}

void pump_conf_free(pump_conf_t *c)
{
    for (size_t i = 0; i < c->nsinks; i++)
        sink_cfg_free(&c->sinks[i]);
    free(c->sinks);
    if (c->uptime_sink) {
        sink_cfg_free(c->uptime_sink);
        free(c->uptime_sink);
    }
    free(c->key_prefix);
    tk_conf_free(pump_table, TK_ARRAY_LEN(pump_table), c);
    memset(c, 0, sizeof(*c));
}

void pump_conf_write_docs(FILE *out)
{
    fputs("<!-- SPDX-License-Identifier: Apache-2.0 -->\n"
          "# Pump configuration reference\n\n"
          "Generated from the table in `src/pump/pump_conf.c`. turnpike-pump reads Tyk Pump's "
          "`pump.conf`; environment variables `TYK_PMP_` + the name below override it, "
          "`TYK_PMP_PUMPS_<NAME>_<FIELD>` and `TYK_PMP_PUMPS_<NAME>_META_<KEY>` override (or "
          "define) sinks.\n\n",
          out);
    tk_conf_write_docs(pump_table, TK_ARRAY_LEN(pump_table), "TYK_PMP_", out);
}
