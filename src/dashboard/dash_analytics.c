/* SPDX-License-Identifier: Apache-2.0 */
/* Date ranges and grouped counters over the pump's tyk_aggregated table (see dash_analytics.h). */
#include "dash_analytics.h"

#include "tk_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AGG_TABLE "tyk_aggregated"
#define MAX_RANGE_DAYS 366

/* ---- dates ----------------------------------------------------------------------------------- */

/* A path segment of 1..@maxlen digits; -1 otherwise. */
static int parse_digits(const char *s, size_t maxlen)
{
    size_t n = strlen(s);
    if (n == 0 || n > maxlen)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int month, int year)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Reads dd/mm/yyyy from params @first.. into @tm (midnight); stages 400 on bad input. */
static bool parse_date(dash_req_t *req, size_t first, const char *which, struct tm *tm)
{
    const char *ds = dash_param(req, first), *ms = dash_param(req, first + 1),
               *ys = dash_param(req, first + 2);
    int d = parse_digits(ds, 2), m = parse_digits(ms, 2), y = parse_digits(ys, 4);
    char msg[200];
    if (d < 0 || m < 0 || y < 0) {
        snprintf(msg, sizeof(msg), "Invalid %s date %.20s/%.20s/%.20s: expected numbers dd/mm/yyyy",
                 which, ds, ms, ys);
        dash_reply_error(req, 400, msg);
        return false;
    }
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(m, y)) {
        snprintf(msg, sizeof(msg), "Invalid %s date %02d/%02d/%04d: no such day", which, d, m, y);
        dash_reply_error(req, 400, msg);
        return false;
    }
    memset(tm, 0, sizeof(*tm));
    tm->tm_mday = d;
    tm->tm_mon = m - 1;
    tm->tm_year = y - 1900;
    tm->tm_isdst = -1;
    return true;
}

bool dash_an_range_parse(dash_req_t *req, size_t first, dash_an_range_t *out)
{
    struct tm start, end;
    if (!parse_date(req, first, "start", &start) || !parse_date(req, first + 3, "end", &end))
        return false;
    /* whole days between the two dates, free of time zones and DST */
    struct tm s_utc = start, e_utc = end;
    int64_t days = ((int64_t)timegm(&e_utc) - (int64_t)timegm(&s_utc)) / 86400;
    if (days < 0) {
        dash_reply_error(req, 400, "The end date is before the start date");
        return false;
    }
    if (days + 1 > MAX_RANGE_DAYS) {
        dash_reply_error(req, 400, "The date range is longer than a year (366 days at most)");
        return false;
    }
    end.tm_mday += 1; /* the end day is included */
    out->from = (int64_t)mktime(&start);
    out->to = (int64_t)mktime(&end);
    return true;
}

/* ---- SQL helpers ----------------------------------------------------------------------------- */

/* YYYYMMDD of @t in local time (the pump names its day tables in its local time). */
static int64_t local_ymd(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    return (int64_t)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* @name is @base, or @base_YYYYMMDD with a date in [@lo, @hi]. */
static bool table_wanted(const char *name, const char *base, int64_t lo, int64_t hi)
{
    size_t bl = strlen(base);
    if (strncmp(name, base, bl) != 0)
        return false;
    if (name[bl] == '\0')
        return true;
    if (name[bl] != '_' || strlen(name + bl + 1) != 8)
        return false;
    int64_t ymd = 0;
    for (const char *c = name + bl + 1; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        ymd = ymd * 10 + (*c - '0');
    }
    return ymd >= lo && ymd <= hi;
}

typedef struct table_scan {
    const char *base;
    int64_t lo, hi;
    dash_an_tables_t *out;
} table_scan_t;

static int add_table(void *ud, size_t ncols, const char *const *v, const size_t *lens)
{
    (void)lens;
    table_scan_t *s = ud;
    if (ncols < 1 || !v[0] || !table_wanted(v[0], s->base, s->lo, s->hi) ||
        !tk_sqldb_ident_ok(v[0]))
        return 0;
    s->out->names = tk_xrealloc(s->out->names, (s->out->n + 1) * sizeof(char *));
    s->out->names[s->out->n++] = tk_xstrdup(v[0]);
    return 0;
}

int dash_an_tables(tk_sqldb_t *db, const char *base, const dash_an_range_t *r,
                   dash_an_tables_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char ph[16], sql[300];
    if (tk_sqldb_kind(db) == TK_SQLDB_POSTGRES)
        snprintf(sql, sizeof(sql),
                 "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = "
                 "ANY(current_schemas(false)) AND substr(tablename, 1, %zu) = %s "
                 "ORDER BY tablename",
                 strlen(base), tk_sqldb_param(db, 1, ph));
    else
        snprintf(sql, sizeof(sql),
                 "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                 "substr(name, 1, %zu) = %s ORDER BY name",
                 strlen(base), tk_sqldb_param(db, 1, ph));
    tk_sqlval_t p = TK_SQLV_TEXT(((tk_str_t){base, strlen(base)}));
    /* a day of slack on each side: the pump's time zone may not be ours */
    table_scan_t scan = {base, local_ymd(r->from - 86400), local_ymd(r->to + 86400), out};
    if (tk_sqldb_query_rows(db, sql, &p, 1, add_table, &scan, err, errlen) != 0) {
        dash_an_tables_free(out);
        return -1;
    }
    return 0;
}

void dash_an_tables_free(dash_an_tables_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    memset(t, 0, sizeof(*t));
}

void dash_an_epoch_ms_sql(const tk_sqldb_t *db, const char *col, char *out, size_t cap)
{
    if (tk_sqldb_kind(db) == TK_SQLDB_POSTGRES)
        snprintf(out, cap, "CAST(FLOOR(EXTRACT(EPOCH FROM %s) * 1000) AS BIGINT)", col);
    else /* strftime('%f') is "SS.SSS": its last three digits are the milliseconds */
        snprintf(out, cap,
                 "(CAST(strftime('%%s', %s) AS INTEGER) * 1000 + "
                 "CAST(substr(strftime('%%f', %s), 4) AS INTEGER))",
                 col, col);
}

json_t *dash_an_time_json(int64_t ms)
{
    if (ms <= 0)
        return json_string("0001-01-01T00:00:00Z"); /* Go's zero time */
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[96]; /* room for every int the compiler can imagine */
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
}

void dash_an_db_error(dash_req_t *req, const char *err)
{
    tk_log_warn("dashboard: reading analytics failed: %s", err);
    dash_reply_error(req, 503, "Analytics data is not available right now");
}

/* ---- grouping -------------------------------------------------------------------------------- */

typedef struct an_group {
    char *value, *human;
    int64_t bucket; /* DASH_AN_BY_TIME: start of the day or hour */
    struct tm when;
    int64_t hits, success, error;
    double total_rt, total_lat, total_up;
    int64_t max_lat, min_lat, max_up, min_up;
    bool have_min;
    int64_t last_ms;
    double sort_key;
} an_group_t;

typedef struct an_acc {
    enum dash_an_group group;
    bool hourly;
    an_group_t *g;
    size_t n, cap;
    json_t *index; /* group key -> position in g */
} an_acc_t;

static int64_t to_i64(const char *s)
{
    return s ? strtoll(s, NULL, 10) : 0;
}

static double to_d(const char *s)
{
    return s ? strtod(s, NULL) : 0;
}

static an_group_t *group_for(an_acc_t *acc, int64_t stamp, const char *value)
{
    char key[48];
    struct tm tm = {0};
    int64_t bucket = 0;
    if (acc->group == DASH_AN_BY_TIME) {
        time_t t = (time_t)stamp;
        localtime_r(&t, &tm);
        if (acc->hourly) {
            bucket = stamp - tm.tm_min * 60 - tm.tm_sec;
        } else {
            struct tm day = tm;
            day.tm_hour = day.tm_min = day.tm_sec = 0;
            day.tm_isdst = -1;
            bucket = (int64_t)mktime(&day);
            tm.tm_hour = 0;
        }
        snprintf(key, sizeof(key), "%" PRId64, bucket);
    }
    const char *k = acc->group == DASH_AN_BY_TIME ? key : value;
    json_t *pos = json_object_get(acc->index, k);
    if (pos)
        return &acc->g[json_integer_value(pos)];
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->g = tk_xrealloc(acc->g, acc->cap * sizeof(*acc->g));
    }
    an_group_t *g = &acc->g[acc->n];
    memset(g, 0, sizeof(*g));
    g->value = tk_xstrdup(value);
    g->bucket = bucket;
    g->when = tm;
    json_object_set_new(acc->index, k, json_integer((json_int_t)acc->n));
    acc->n++;
    return g;
}

/* Columns, in the order the SELECT below names them. */
enum {
    COL_TS,
    COL_VALUE,
    COL_HITS,
    COL_SUCCESS,
    COL_ERROR,
    COL_TOTAL_RT,
    COL_TOTAL_LAT,
    COL_TOTAL_UP,
    COL_MAX_LAT,
    COL_MIN_LAT,
    COL_MAX_UP,
    COL_MIN_UP,
    COL_LAST,
    COL_HUMAN,
    NCOLS
};

static int add_row(void *ud, size_t ncols, const char *const *v, const size_t *lens)
{
    (void)lens;
    an_acc_t *acc = ud;
    if (ncols < NCOLS)
        return 0;
    an_group_t *g = group_for(acc, to_i64(v[COL_TS]), v[COL_VALUE] ? v[COL_VALUE] : "");
    int64_t success = to_i64(v[COL_SUCCESS]);
    g->hits += to_i64(v[COL_HITS]);
    g->success += success;
    g->error += to_i64(v[COL_ERROR]);
    g->total_rt += to_d(v[COL_TOTAL_RT]);
    g->total_lat += to_d(v[COL_TOTAL_LAT]);
    g->total_up += to_d(v[COL_TOTAL_UP]);
    int64_t x;
    if ((x = to_i64(v[COL_MAX_LAT])) > g->max_lat)
        g->max_lat = x;
    if ((x = to_i64(v[COL_MAX_UP])) > g->max_up)
        g->max_up = x;
    /* minimums only move on successful records (Tyk's rule): rows without one carry none */
    if (success > 0) {
        int64_t ml = to_i64(v[COL_MIN_LAT]), mu = to_i64(v[COL_MIN_UP]);
        if (!g->have_min || ml < g->min_lat)
            g->min_lat = ml;
        if (!g->have_min || mu < g->min_up)
            g->min_up = mu;
        g->have_min = true;
    }
    if ((x = to_i64(v[COL_LAST])) > g->last_ms)
        g->last_ms = x;
    if (v[COL_HUMAN] && *v[COL_HUMAN]) {
        free(g->human);
        g->human = tk_xstrdup(v[COL_HUMAN]);
    }
    return 0;
}

static void acc_free(an_acc_t *acc)
{
    for (size_t i = 0; i < acc->n; i++) {
        free(acc->g[i].value);
        free(acc->g[i].human);
    }
    free(acc->g);
    json_decref(acc->index);
}

static double avg(double total, int64_t hits)
{
    return hits > 0 ? total / (double)hits : 0;
}

static json_t *item_json(const an_acc_t *acc, const an_group_t *g, dash_an_id_fn fill_id)
{
    json_t *id = json_object();
    if (acc->group == DASH_AN_BY_TIME) {
        json_object_set_new(id, "day", json_integer(g->when.tm_mday));
        json_object_set_new(id, "month", json_integer(g->when.tm_mon + 1));
        json_object_set_new(id, "year", json_integer(g->when.tm_year + 1900));
        json_object_set_new(id, "hour", json_integer(g->when.tm_hour));
    } else if (fill_id) {
        fill_id(id, g->value, g->human ? g->human : "");
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", id);
    json_object_set_new(o, "hits", json_integer(g->hits));
    json_object_set_new(o, "success", json_integer(g->success));
    json_object_set_new(o, "error", json_integer(g->error));
    json_object_set_new(o, "last_hit", dash_an_time_json(g->last_ms));
    json_object_set_new(o, "request_time", json_real(avg(g->total_rt, g->hits)));
    json_object_set_new(o, "latency", json_real(avg(g->total_lat, g->hits)));
    json_object_set_new(o, "upstream_latency", json_real(avg(g->total_up, g->hits)));
    json_object_set_new(o, "max_upstream_latency", json_integer(g->max_up));
    json_object_set_new(o, "min_upstream_latency", json_integer(g->min_up));
    json_object_set_new(o, "max_latency", json_integer(g->max_lat));
    json_object_set_new(o, "min_latency", json_integer(g->min_lat));
    return o;
}

static int cmp_groups(const void *a, const void *b)
{
    const an_group_t *x = a, *y = b;
    if (x->sort_key != y->sort_key)
        return x->sort_key < y->sort_key ? -1 : 1;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return strcmp(x->value, y->value);
}

/* ?by=: the counter BY_VALUE items are ordered by; NULL for an unknown name. */
static const char *sort_field(const char *by)
{
    static const char *const names[][2] = {
        {"hits", "hits"},
        {"success", "success"},
        {"error", "error"},
        {"errors", "error"},
        {"latency", "latency"},
        {"request_time", "request_time"},
        {"requesttime", "request_time"},
        {"last_hit", "last_hit"},
        {"lasttime", "last_hit"},
    };
    if (!by || !*by)
        return "hits";
    for (size_t i = 0; i < TK_ARRAY_LEN(names); i++)
        if (strcasecmp(by, names[i][0]) == 0)
            return names[i][1];
    return NULL;
}

static double metric(const an_group_t *g, const char *field)
{
    if (strcmp(field, "success") == 0)
        return (double)g->success;
    if (strcmp(field, "error") == 0)
        return (double)g->error;
    if (strcmp(field, "latency") == 0)
        return avg(g->total_lat, g->hits);
    if (strcmp(field, "request_time") == 0)
        return avg(g->total_rt, g->hits);
    if (strcmp(field, "last_hit") == 0)
        return (double)g->last_ms;
    return (double)g->hits;
}

/* Reads ?res, ?by and ?sort; stages 400 and returns false on unknown values. */
static bool read_options(dash_req_t *req, bool *hourly, const char **field, bool *ascending)
{
    const char *res = dash_query(req, "res");
    if (res && *res && strcmp(res, "day") != 0 && strcmp(res, "hour") != 0) {
        dash_reply_error(req, 400, "Invalid res: use \"day\" or \"hour\"");
        return false;
    }
    *hourly = res && strcmp(res, "hour") == 0;
    *field = sort_field(dash_query(req, "by"));
    if (!*field) {
        dash_reply_error(req, 400,
                         "Invalid by: use hits, success, error, latency, request_time or last_hit");
        return false;
    }
    const char *sort = dash_query(req, "sort");
    if (sort && *sort && strcmp(sort, "1") != 0 && strcmp(sort, "-1") != 0) {
        dash_reply_error(req, 400, "Invalid sort: use 1 (ascending) or -1 (descending)");
        return false;
    }
    *ascending = sort && strcmp(sort, "1") == 0;
    return true;
}

static void reply_items(dash_req_t *req, json_t *items)
{
    int64_t page = dash_page(req), size = req->conf->page_size > 0 ? req->conf->page_size : 10;
    int64_t n = (int64_t)json_array_size(items), pages = 1;
    json_t *data = items;
    if (page > 0) {
        pages = n > 0 ? (n + size - 1) / size : 1;
        data = json_array();
        for (int64_t i = (page - 1) * size; i < n && i < page * size; i++)
            json_array_append(data, json_array_get(items, (size_t)i));
        json_decref(items);
    }
    json_t *o = json_object();
    json_object_set_new(o, "data", data);
    json_object_set_new(o, "pages", json_integer(pages));
    dash_reply_json(req, 200, o);
}

void dash_an_reply(dash_req_t *req, const dash_an_query_t *q, size_t first)
{
    dash_an_range_t range;
    bool hourly, ascending;
    const char *field;
    if (!dash_an_range_parse(req, first, &range) || !read_options(req, &hourly, &field, &ascending))
        return;
    tk_sqldb_t *db = dash_analytics_db(req);
    char err[512] = "";
    dash_an_tables_t tables;
    if (dash_an_tables(db, AGG_TABLE, &range, &tables, err, sizeof(err)) != 0) {
        dash_an_db_error(req, err);
        return;
    }
    if (tables.n == 0) { /* the pump has not written anything yet */
        reply_items(req, json_array());
        return;
    }

    enum { MAXP = 4 + 100 };
    TK_ASSERT(q->n_values <= 100);
    tk_sqlval_t params[MAXP];
    size_t np = 0;
    char ph[16], last[200];
    dash_an_epoch_ms_sql(db, "counter_last_time", last, sizeof(last));
    char head[1024], line[256];
    snprintf(head, sizeof(head),
             "SELECT \"timestamp\", dimension_value, counter_hits, counter_success, counter_error, "
             "counter_total_request_time, counter_total_latency, counter_total_upstream_latency, "
             "counter_max_latency, counter_min_latency, counter_max_upstream_latency, "
             "counter_min_upstream_latency, %s, counter_human_identifier FROM ",
             last);
    tk_buf_t sql = {0}; /* the WHERE clause, the same for every table */
#define SQL(s) tk_buf_append(&sql, s, strlen(s))
    SQL(" WHERE org_id = ");
#define PARAM(v)                                                                                   \
    do {                                                                                           \
        params[np++] = (v);                                                                        \
        const char *p_ = tk_sqldb_param(db, (int)np, ph);                                          \
        tk_buf_append(&sql, p_, strlen(p_));                                                       \
    } while (0)
    const char *org = req->org_id ? req->org_id : "";
    PARAM(TK_SQLV_TEXT(((tk_str_t){org, strlen(org)})));
    SQL(" AND dimension = ");
    PARAM(TK_SQLV_TEXT(((tk_str_t){q->dimension, strlen(q->dimension)})));
    SQL(" AND \"timestamp\" >= ");
    PARAM(TK_SQLV_INT(range.from));
    SQL(" AND \"timestamp\" < ");
    PARAM(TK_SQLV_INT(range.to));
    if (q->values) {
        SQL(" AND dimension_value IN (");
        for (size_t i = 0; i < q->n_values; i++) {
            if (i)
                SQL(", ");
            PARAM(TK_SQLV_TEXT(((tk_str_t){q->values[i], strlen(q->values[i])})));
        }
        if (q->n_values == 0)
            SQL("NULL");
        SQL(")");
    }
    if (q->value_prefix) {
        /* substr, not LIKE: the prefix is user input and may hold % or _ */
        snprintf(line, sizeof(line),
                 " AND substr(dimension_value, 1, %zu) = ", strlen(q->value_prefix));
        SQL(line);
        PARAM(TK_SQLV_TEXT(((tk_str_t){q->value_prefix, strlen(q->value_prefix)})));
    }
#undef PARAM
#undef SQL
    tk_buf_append(&sql, "", 1);

    /* rows of every table add up into the same groups */
    an_acc_t acc = {.group = q->group, .hourly = hourly, .index = json_object()};
    int rc = 0;
    for (size_t t = 0; t < tables.n && rc == 0; t++) {
        tk_buf_t full = {0};
        tk_buf_append(&full, head, strlen(head));
        tk_buf_append(&full, tables.names[t], strlen(tables.names[t]));
        tk_buf_append(&full, sql.data, sql.len);
        rc = tk_sqldb_query_rows(db, full.data, params, np, add_row, &acc, err, sizeof(err));
        tk_buf_free(&full);
    }
    tk_buf_free(&sql);
    dash_an_tables_free(&tables);
    if (rc != 0) {
        acc_free(&acc);
        dash_an_db_error(req, err);
        return;
    }
    for (size_t i = 0; i < acc.n; i++) {
        an_group_t *g = &acc.g[i];
        if (q->group == DASH_AN_BY_TIME)
            g->sort_key = 0; /* by bucket, oldest first */
        else
            g->sort_key = ascending ? metric(g, field) : -metric(g, field);
    }
    if (acc.n > 1)
        qsort(acc.g, acc.n, sizeof(*acc.g), cmp_groups);
    json_t *items = json_array();
    for (size_t i = 0; i < acc.n; i++)
        json_array_append_new(items, item_json(&acc, &acc.g[i], q->fill_id));
    acc_free(&acc);
    reply_items(req, items);
}
