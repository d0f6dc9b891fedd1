/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /api/logs?start=<unix>&end=<unix>&p=&api=&key=&status=: the log browser over the raw
 * records the pump's sql sink writes to tyk_analytics, newest first, a page (page_size) at a
 * time: {"data":[record...],"pages":N}. Records are shown with Tyk's AnalyticsRecord JSON
 * names; with the pump's table_sharding the day tables tyk_analytics_YYYYMMDD are read too. The raw
 * table has no id column, so there is no /api/logs/{id}.
 */
#include "dash_analytics.h"
#include "dash_routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAW_TABLE "tyk_analytics"

/* Columns read, in this order (timestamps are replaced by epoch-millisecond expressions). */
enum {
    L_METHOD,
    L_HOST,
    L_PATH,
    L_RAWPATH,
    L_CONTENTLENGTH,
    L_USERAGENT,
    L_RESPONSECODE,
    L_APIKEY,
    L_TIMESTAMP,
    L_APIVERSION,
    L_APIID,
    L_ORGID,
    L_OAUTHID,
    L_REQUESTTIME,
    L_RAWREQUEST,
    L_RAWRESPONSE,
    L_IPADDRESS,
    L_ISO,
    L_GEONAME,
    L_CITYNAMES,
    L_LAT,
    L_LON,
    L_TZ,
    L_OPEN,
    L_CLOSED,
    L_BYTESIN,
    L_BYTESOUT,
    L_LATTOTAL,
    L_LATUP,
    L_TAGS,
    L_ALIAS,
    L_TRACKPATH,
    L_EXPIRE,
    L_NCOLS
};

static json_t *str(const char *v)
{
    json_t *s = json_string(v ? v : "");
    return s ? s : json_string(""); /* not UTF-8: shown empty rather than dropped */
}

static json_t *num(const char *v)
{
    return json_integer(v ? strtoll(v, NULL, 10) : 0);
}

static json_t *real(const char *v)
{
    return json_real(v ? strtod(v, NULL) : 0);
}

/* A JSON text column (tags, city names), or @fallback when empty or malformed. */
static json_t *embedded(const char *v, json_t *fallback)
{
    json_t *j = v && *v ? json_loads(v, 0, NULL) : NULL;
    if (!j)
        return fallback;
    json_decref(fallback);
    return j;
}

static int add_record(void *ud, size_t ncols, const char *const *v, const size_t *lens)
{
    (void)lens;
    if (ncols < L_NCOLS)
        return 0;
    bool track = v[L_TRACKPATH] && (v[L_TRACKPATH][0] == 't' || v[L_TRACKPATH][0] == '1');
    json_t *geo = json_pack("{s:{s:o},s:{s:o,s:o},s:{s:o,s:o,s:o}}", "country", "iso_code",
                            str(v[L_ISO]), "city", "geoname_id", num(v[L_GEONAME]), "names",
                            embedded(v[L_CITYNAMES], json_object()), "location", "latitude",
                            real(v[L_LAT]), "longitude", real(v[L_LON]), "time_zone", str(v[L_TZ]));
    json_t *r = json_object();
    json_object_set_new(r, "method", str(v[L_METHOD]));
    json_object_set_new(r, "host", str(v[L_HOST]));
    json_object_set_new(r, "path", str(v[L_PATH]));
    json_object_set_new(r, "raw_path", str(v[L_RAWPATH]));
    json_object_set_new(r, "content_length", num(v[L_CONTENTLENGTH]));
    json_object_set_new(r, "user_agent", str(v[L_USERAGENT]));
    json_object_set_new(r, "response_code", num(v[L_RESPONSECODE]));
    json_object_set_new(r, "api_key", str(v[L_APIKEY]));
    json_object_set_new(r, "timestamp",
                        dash_an_time_json(v[L_TIMESTAMP] ? strtoll(v[L_TIMESTAMP], NULL, 10) : 0));
    json_object_set_new(r, "api_version", str(v[L_APIVERSION]));
    json_object_set_new(r, "api_name", json_string(""));
    json_object_set_new(r, "api_id", str(v[L_APIID]));
    json_object_set_new(r, "org_id", str(v[L_ORGID]));
    json_object_set_new(r, "oauth_id", str(v[L_OAUTHID]));
    json_object_set_new(r, "request_time", num(v[L_REQUESTTIME]));
    json_object_set_new(r, "raw_request", str(v[L_RAWREQUEST]));
    json_object_set_new(r, "raw_response", str(v[L_RAWRESPONSE]));
    json_object_set_new(r, "ip_address", str(v[L_IPADDRESS]));
    json_object_set_new(r, "geo", geo);
    json_object_set_new(r, "network",
                        json_pack("{s:o,s:o,s:o,s:o}", "open_connections", num(v[L_OPEN]),
                                  "closed_connections", num(v[L_CLOSED]), "bytes_in",
                                  num(v[L_BYTESIN]), "bytes_out", num(v[L_BYTESOUT])));
    json_object_set_new(
        r, "latency",
        json_pack("{s:o,s:o}", "total", num(v[L_LATTOTAL]), "upstream", num(v[L_LATUP])));
    json_object_set_new(r, "tags", embedded(v[L_TAGS], json_array()));
    json_object_set_new(r, "alias", str(v[L_ALIAS]));
    json_object_set_new(r, "track_path", json_boolean(track));
    json_object_set_new(r, "expireAt",
                        dash_an_time_json(v[L_EXPIRE] ? strtoll(v[L_EXPIRE], NULL, 10) : 0));
    json_array_append_new(ud, r);
    return 0;
}

/* ?name= as unix seconds; stages 400 unless it is an integer. */
static bool unix_param(dash_req_t *req, const char *name, int64_t *out)
{
    const char *s = dash_query(req, name);
    char msg[160];
    char *end = NULL;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || v < 0 || v > 253402300799LL) {
        snprintf(msg, sizeof(msg), "%s is required: a time in unix seconds", name);
        dash_reply_error(req, 400, msg);
        return false;
    }
    *out = v;
    return true;
}

static tk_str_t cs(const char *s)
{
    return (tk_str_t){s, strlen(s)};
}

static void logs(dash_req_t *req)
{
    int64_t start, end;
    if (!unix_param(req, "start", &start) || !unix_param(req, "end", &end))
        return;
    if (end < start) {
        dash_reply_error(req, 400, "end is before start");
        return;
    }
    const char *api = dash_query(req, "api"), *key = dash_query(req, "key"),
               *status = dash_query(req, "status");
    long status_code = 0;
    if (status && *status) {
        char *e = NULL;
        status_code = strtol(status, &e, 10);
        if (*e || status_code < 100 || status_code > 599) {
            dash_reply_error(req, 400, "status must be an HTTP status code (100-599)");
            return;
        }
    }
    tk_sqldb_t *db = dash_analytics_db(req);
    char err[512] = "";
    dash_an_range_t range = {start, end + 1};
    dash_an_tables_t tables;
    if (dash_an_tables(db, RAW_TABLE, &range, &tables, err, sizeof(err)) != 0) {
        dash_an_db_error(req, err);
        return;
    }
    int64_t page = dash_page(req), size = req->conf->page_size > 0 ? req->conf->page_size : 10;
    if (page < 1)
        page = 1;
    if (tables.n == 0) {
        dash_reply_json(req, 200, json_pack("{s:[],s:i}", "data", "pages", 1));
        return;
    }

    /* WHERE clause shared by the count and the page */
    tk_sqlval_t params[6];
    size_t np = 0;
    char where[512], ph[16];
    const char *org = req->org_id ? req->org_id : "";
    size_t wl = 0;
#define COND(fmt, val)                                                                             \
    do {                                                                                           \
        params[np++] = (val);                                                                      \
        wl += (size_t)snprintf(where + wl, sizeof(where) - wl, fmt,                                \
                               tk_sqldb_param(db, (int)np, ph));                                   \
    } while (0)
    COND(" WHERE orgid = %s", TK_SQLV_TEXT(cs(org)));
    COND(" AND \"timestamp\" >= %s", TK_SQLV_TIME(((tk_an_time_t){.sec = start})));
    /* end is inclusive to the second */
    COND(" AND \"timestamp\" < %s", TK_SQLV_TIME(((tk_an_time_t){.sec = end + 1})));
    if (api && *api)
        COND(" AND apiid = %s", TK_SQLV_TEXT(cs(api)));
    if (key && *key)
        COND(" AND apikey = %s", TK_SQLV_TEXT(cs(key)));
    if (status && *status)
        COND(" AND responsecode = %s", TK_SQLV_INT(status_code));
#undef COND

    /* the count, then the page over every table (one, or the day tables of table_sharding) */
    int64_t total = 0;
    tk_buf_t sql = {0};
    char line[1024];
    int rc = 0;
    for (size_t t = 0; t < tables.n && rc == 0; t++) {
        int64_t n = 0;
        snprintf(line, sizeof(line), "SELECT count(*) FROM %s%s", tables.names[t], where);
        rc = tk_sqldb_query_int(db, line, params, np, &n, NULL, err, sizeof(err));
        total += n;
    }
    char ts[160], exp[160];
    dash_an_epoch_ms_sql(db, "\"timestamp\"", ts, sizeof(ts));
    dash_an_epoch_ms_sql(db, "\"expireAt\"", exp, sizeof(exp));
    tk_buf_append(&sql, "SELECT * FROM (", 15);
    for (size_t t = 0; t < tables.n; t++) {
        snprintf(line, sizeof(line),
                 "%sSELECT method, host, path, rawpath, contentlength, useragent, responsecode, "
                 "apikey, %s AS ts_ms, apiversion, apiid, orgid, oauthid, requesttime, rawrequest, "
                 "rawresponse, ipaddress, geo_country_iso_code, geo_city_geoname_id, "
                 "geo_city_names, geo_location_latitude, geo_location_longitude, "
                 "geo_location_time_zone, network_open_connections, network_closed_connections, "
                 "network_bytes_in, network_bytes_out, latency_total, latency_upstream, tags, "
                 "alias, trackpath, %s AS expire_ms FROM %s",
                 t ? " UNION ALL " : "", ts, exp, tables.names[t]);
        tk_buf_append(&sql, line, strlen(line));
        tk_buf_append(&sql, where, strlen(where));
    }
    snprintf(line, sizeof(line), ") u ORDER BY ts_ms DESC LIMIT %" PRId64 " OFFSET %" PRId64, size,
             (page - 1) * size);
    tk_buf_append(&sql, line, strlen(line) + 1);
    dash_an_tables_free(&tables);
    json_t *data = json_array();
    if (rc == 0)
        rc = tk_sqldb_query_rows(db, sql.data, params, np, add_record, data, err, sizeof(err));
    tk_buf_free(&sql);
    if (rc != 0) {
        json_decref(data);
        dash_an_db_error(req, err);
        return;
    }
    int64_t pages = total > 0 ? (total + size - 1) / size : 1;
    json_t *o = json_object();
    json_object_set_new(o, "data", data);
    json_object_set_new(o, "pages", json_integer(pages));
    dash_reply_json(req, 200, o);
}

const dash_route_t dash_routes_logs[] = {
    {"GET", "/api/logs", DASH_AUTH_USER, "analytics", logs},
    {NULL, NULL, 0, NULL, NULL},
};
